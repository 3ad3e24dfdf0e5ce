/**
 * Name space changes of a memory file system, on nodes: create, link, unlink, rmdir, rename.
 * The directory VOPs (vnode_dir.ts) and the rumpfs hooks (rumpfs.ts) are thin layers over these.
 *
 * Each operation checks everything that can fail and charges memory before changing anything,
 * so a failure leaves the tree as it was. None of them awaits: they are atomic with respect to
 * other kernel tasks. Permission checks and name validation are the VFS's.
 *
 * Timestamps (POSIX): a new node gets all times now and its directory's mtime and ctime change;
 * link and unlink change the target's ctime and the directory's mtime and ctime; rename changes
 * the moved node's ctime and both directories' mtime and ctime.
 */

import { KernelError } from '../../kern/errno.js';
import { LINK_MAX } from '../../kern/types.js';
import { VDIR, vtypeName } from '../vnode.js';
import { direntCost, type MemFs, type MemNodeSpec } from './memfs.js';
import { MemDirNode, type MemNode } from './node.js';

/** A directory that has been removed accepts no new entries. */
function checkLive(fs: MemFs, dir: MemDirNode): void {
  if (dir.nlink === 0) throw new KernelError('ENOENT', `${fs.fstype}: directory ${dir.ino} has been removed`);
}

function checkFree(fs: MemFs, dir: MemDirNode, name: string): void {
  if (dir.dir.lookup(name) !== undefined) throw new KernelError('EEXIST', `${fs.fstype}: '${name}' already exists in directory ${dir.ino}`);
}

/** Create `name` in `dir` as a new node. */
export function makeNode(fs: MemFs, dir: MemDirNode, name: string, spec: MemNodeSpec, hidden = false): MemNode {
  checkLive(fs, dir);
  checkFree(fs, dir, name);
  const isDir = spec.type === VDIR;
  if (isDir && dir.nlink >= LINK_MAX) throw new KernelError('EMLINK', `${fs.fstype}: directory ${dir.ino} has ${LINK_MAX} links, the most it can have`);
  const n = fs.allocNode(spec, dir);
  try {
    fs.charge(direntCost(name), 'directory entry');
  } catch (e) {
    fs.freeNode(n);
    throw e;
  }
  dir.dir.add(name, n, hidden);
  if (isDir) {
    n.nlink = 2;
    dir.nlink++;
  } else {
    n.nlink = 1;
  }
  dir.mtime = dir.ctime = n.ctime;
  return n;
}

/** A new name `name` in `dir` for the existing non-directory `n`. */
export function linkNode(fs: MemFs, dir: MemDirNode, name: string, n: MemNode): void {
  checkLive(fs, dir);
  if (n.type === VDIR) throw new KernelError('EPERM', `${fs.fstype}: cannot hard-link a directory`);
  if (n.nlink === 0 || n.freed) throw new KernelError('ENOENT', `${fs.fstype}: node ${n.ino} has been removed`);
  checkFree(fs, dir, name);
  if (n.nlink >= LINK_MAX) throw new KernelError('EMLINK', `${fs.fstype}: node ${n.ino} already has ${LINK_MAX} links`);
  fs.charge(direntCost(name), 'directory entry');
  dir.dir.add(name, n);
  n.nlink++;
  const now = fs.now();
  n.ctime = now;
  dir.mtime = dir.ctime = now;
}

function entryOf(fs: MemFs, dir: MemDirNode, name: string, n: MemNode | null) {
  const e = dir.dir.lookup(name);
  if (e === undefined || (n !== null && e.node !== n)) {
    throw new KernelError('ENOENT', `${fs.fstype}: '${name}' is not in directory ${dir.ino}${e === undefined ? '' : ' any more'}`);
  }
  return e;
}

/** Remove the entry `name` (naming non-directory `n`, or whatever it names if null). */
export function unlinkNode(fs: MemFs, dir: MemDirNode, name: string, n: MemNode | null): MemNode {
  const e = entryOf(fs, dir, name, n);
  const node = e.node;
  if (node.type === VDIR) throw new KernelError('EPERM', `${fs.fstype}: '${name}' is a directory (use rmdir)`);
  dir.dir.remove(name);
  fs.uncharge(direntCost(name));
  node.nlink--;
  const now = fs.now();
  node.ctime = now;
  dir.mtime = dir.ctime = now;
  fs.releaseIfOrphan(node);
  return node;
}

/** Remove the empty directory `name` (naming `n`, or whatever it names if null). */
export function rmdirNode(fs: MemFs, dir: MemDirNode, name: string, n: MemNode | null): MemNode {
  const e = entryOf(fs, dir, name, n);
  const node = e.node;
  if (!(node instanceof MemDirNode)) throw new KernelError('ENOTDIR', `${fs.fstype}: '${name}' is a ${vtypeName(node.type)}, not a directory`);
  if (!node.dir.empty) throw new KernelError('ENOTEMPTY', `${fs.fstype}: directory '${name}' is not empty (${node.dir.count} entries)`);
  dir.dir.remove(name);
  fs.uncharge(direntCost(name));
  node.nlink = 0;
  dir.nlink--;
  const now = fs.now();
  node.ctime = now;
  dir.mtime = dir.ctime = now;
  fs.releaseIfOrphan(node);
  return node;
}

/**
 * Move `fnode` (named `fname` in `fdir`) to `tname` in `tdir`, replacing `tnode` (what `tname`
 * names now, or null). Renaming a node onto itself (the same object under either name) does
 * nothing. A directory replaced must be empty (ENOTEMPTY). The VFS has already refused moving a
 * directory below itself.
 */
export function renameNode(fs: MemFs, fdir: MemDirNode, fname: string, fnode: MemNode, tdir: MemDirNode, tname: string, tnode: MemNode | null): void {
  if (fnode === tnode) return;
  const fe = entryOf(fs, fdir, fname, fnode);
  checkLive(fs, tdir);
  const te = tdir.dir.lookup(tname);
  if (tnode === null) {
    if (te !== undefined) throw new KernelError('EEXIST', `${fs.fstype}: '${tname}' appeared in directory ${tdir.ino}`);
  } else if (te === undefined || te.node !== tnode) {
    throw new KernelError('ENOENT', `${fs.fstype}: '${tname}' is not in directory ${tdir.ino} any more`);
  }
  const isDir = fnode instanceof MemDirNode;
  if (tnode !== null) {
    if (tnode instanceof MemDirNode) {
      if (!isDir) throw new KernelError('EISDIR', `${fs.fstype}: cannot replace directory '${tname}' by a ${vtypeName(fnode.type)}`);
      if (!tnode.dir.empty) throw new KernelError('ENOTEMPTY', `${fs.fstype}: directory '${tname}' is not empty (${tnode.dir.count} entries)`);
    } else if (isDir) {
      throw new KernelError('ENOTDIR', `${fs.fstype}: cannot replace ${vtypeName(tnode.type)} '${tname}' by a directory`);
    }
  }
  if (isDir && fdir !== tdir && !(tnode instanceof MemDirNode) && tdir.nlink >= LINK_MAX) {
    throw new KernelError('EMLINK', `${fs.fstype}: directory ${tdir.ino} has ${LINK_MAX} links, the most it can have`);
  }
  fs.charge(direntCost(tname), 'directory entry');

  const now = fs.now();
  if (tnode !== null) {
    tdir.dir.remove(tname);
    fs.uncharge(direntCost(tname));
    if (tnode instanceof MemDirNode) {
      tnode.nlink = 0;
      tdir.nlink--;
    } else {
      tnode.nlink--;
    }
    tnode.ctime = now;
  }
  if (fdir === tdir) {
    fdir.dir.rename(fe, tname);
  } else {
    fdir.dir.remove(fname);
    tdir.dir.add(tname, fnode, fe.hidden);
    if (isDir) {
      fnode.parent = tdir;
      fdir.nlink--;
      tdir.nlink++;
    }
  }
  fs.uncharge(direntCost(fname));
  fnode.ctime = now;
  fdir.mtime = fdir.ctime = now;
  tdir.mtime = tdir.ctime = now;
  if (tnode !== null) fs.releaseIfOrphan(tnode);
}
