/**
 * namei: path name translation.
 *
 * Walks a path from the process root or cwd (or a directory descriptor for the *at calls),
 * component by component: checks search permission on each directory, consults the name cache
 * before VOP_LOOKUP (a fully cached walk never awaits), crosses mount points down (covered vnode
 * to mounted root) and up ('..' at a mount root), expands symbolic links (ELOOP after
 * MAXSYMLINKS), and enforces NAME_MAX/PATH_MAX and trailing-slash rules.
 *
 * Results are referenced vnodes; the caller releases them (k.vfs.rele).
 */

import { KernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import { AT_FDCWD, MAXSYMLINKS, NAME_MAX, PATH_MAX } from '../kern/types.js';
import type { Vfs } from './vfs.js';
import { VEXEC, canAccess, vaccess, fdVnode } from './vfs_subr.js';
import { VDIR, VLNK, type Vnode } from './vnode.js';

export interface NameiOptions {
  /** Follow a symbolic link in the last component. */
  follow: boolean;
  /** Directory descriptor for relative paths (AT_FDCWD: the cwd). */
  dirfd?: number;
}

export interface NameiParent {
  /** The directory that holds (or will hold) the last component; referenced. */
  dvp: Vnode;
  /** The last component ('.' or '..' possible; '' when the path is '/'). */
  name: string;
  /** The object the last component names, if it exists; referenced. Not followed, not crossed. */
  vp: Vnode | null;
  /** The path ended in one or more slashes. */
  trailingSlash: boolean;
}

function vfsOf(l: Lwp): Vfs {
  const v = l.kernel.vfs;
  if (v === null) throw new KernelError('ENOSYS', 'no vfs component in this kernel');
  return v;
}

function startDir(l: Lwp, vfs: Vfs, path: string, dirfd: number | undefined): Vnode {
  if (path.charCodeAt(0) === 47 /* / */) return l.proc.rdir ?? vfs.rootvnode;
  if (dirfd === undefined || dirfd === AT_FDCWD) return l.proc.cwd ?? vfs.rootvnode;
  const { vp } = fdVnode(l, dirfd);
  if (vp.type !== VDIR) throw new KernelError('ENOTDIR', `descriptor ${dirfd} is not a directory`);
  return vp;
}

function checkPath(path: string): void {
  if (typeof path !== 'string') throw new KernelError('EFAULT', 'path is not a string');
  if (path.length === 0) throw new KernelError('ENOENT', 'empty path');
  if (path.length >= PATH_MAX) throw new KernelError('ENAMETOOLONG', `path of ${path.length} bytes exceeds PATH_MAX (${PATH_MAX})`);
  if (path.indexOf('\0') >= 0) throw new KernelError('EINVAL', 'path contains a NUL byte');
}

/** Look `name` up in directory `dvp` (no permission check): cache, then VOP_LOOKUP. Unreferenced. */
export async function lookupName(vfs: Vfs, dvp: Vnode, name: string): Promise<Vnode | null> {
  if (name === '.') return dvp;
  const c = vfs.vcache.lookup(dvp, name);
  if (c !== undefined && !c.reclaimed) return c;
  if (dvp.reclaimed) throw new KernelError('ENOENT', 'directory was removed');
  const vp = await dvp.lookup(name);
  if (vp !== null && name !== '..') vfs.vcache.enter(dvp, name, vp);
  return vp;
}

/**
 * The core walk. With `parent`, stops before the last component and returns the parent
 * directory plus that component's name; otherwise returns the final vnode.
 */
async function walk(l: Lwp, path: string, opts: NameiOptions, parent: boolean): Promise<NameiParent> {
  checkPath(path);
  const vfs = vfsOf(l);
  const cred = l.cred;
  const root = l.proc.rdir ?? vfs.rootvnode;
  let dvp = vfs.ref(startDir(l, vfs, path, opts.dirfd));
  let rest = path;
  let links = 0;
  try {
    for (;;) {
      // strip leading slashes (absolute paths and link targets already start at the root)
      let i = 0;
      while (i < rest.length && rest.charCodeAt(i) === 47) i++;
      rest = rest.slice(i);
      if (rest === '') {
        // the path was "/" (or "dir/" after a symlink to a directory): the result is dvp itself
        if (parent) {
          const vp = vfs.ref(dvp);
          return { dvp, name: '', vp, trailingSlash: i > 0 };
        }
        return { dvp: null as unknown as Vnode, name: '', vp: dvp, trailingSlash: i > 0 };
      }
      let j = rest.indexOf('/');
      if (j < 0) j = rest.length;
      const cn = rest.slice(0, j);
      let k = j;
      while (k < rest.length && rest.charCodeAt(k) === 47) k++;
      const isLast = k === rest.length;
      const trailingSlash = isLast && j < rest.length;
      const next = rest.slice(k);
      if (cn.length > NAME_MAX) throw new KernelError('ENAMETOOLONG', `component '${cn.slice(0, 32)}...' of ${cn.length} bytes exceeds NAME_MAX (${NAME_MAX})`);
      if (dvp.type !== VDIR) throw new KernelError('ENOTDIR', `'${cn}' is looked up in something that is not a directory`);
      vaccess(dvp, VEXEC, cred, 'a directory in the path');

      if (isLast && parent) {
        const vp = await lookupDotDot(vfs, root, dvp, cn);
        return { dvp, name: cn, vp: vp === null ? null : vfs.ref(vp), trailingSlash };
      }

      let vp: Vnode | null;
      if (cn === '..') {
        // at a mount root, step to the covered vnode first
        while (dvp !== root && dvp.mount.covered !== null && dvp === dvp.mount.root) {
          const c = vfs.ref(dvp.mount.covered);
          vfs.rele(dvp);
          dvp = c;
        }
        vp = dvp === root ? dvp : await lookupName(vfs, dvp, '..');
      } else {
        vp = await lookupName(vfs, dvp, cn);
      }
      if (vp === null) throw new KernelError('ENOENT', `'${cn}' does not exist`);
      vfs.ref(vp);
      // cross mount points downwards
      while (vp.mountedHere !== null) {
        const r = vfs.ref(vp.mountedHere.root);
        vfs.rele(vp);
        vp = r;
      }
      if (vp.type === VLNK && (!isLast || opts.follow || trailingSlash)) {
        if (++links > MAXSYMLINKS) {
          vfs.rele(vp);
          throw new KernelError('ELOOP', `more than ${MAXSYMLINKS} symbolic links in '${path}'`);
        }
        let target: string;
        try {
          target = await vp.readlink();
        } finally {
          vfs.rele(vp);
        }
        if (target.length === 0) throw new KernelError('ENOENT', `symbolic link '${cn}' is empty`);
        const nrest = isLast ? (trailingSlash ? `${target}/` : target) : `${target}/${next}`;
        if (nrest.length >= PATH_MAX) throw new KernelError('ENAMETOOLONG', `path after expanding link '${cn}' exceeds PATH_MAX`);
        if (target.charCodeAt(0) === 47) {
          vfs.rele(dvp);
          dvp = vfs.ref(root);
        }
        rest = nrest;
        continue;
      }
      if (isLast) {
        if (trailingSlash && vp.type !== VDIR) {
          vfs.rele(vp);
          throw new KernelError('ENOTDIR', `'${cn}/' names something that is not a directory`);
        }
        vfs.rele(dvp);
        return { dvp: null as unknown as Vnode, name: cn, vp, trailingSlash };
      }
      vfs.rele(dvp);
      dvp = vp;
      rest = next;
    }
  } catch (e) {
    vfs.rele(dvp);
    throw e;
  }
}

/** Last-component lookup for the parent form: '..' at the root stays; '..' at a mount root is the fs's own. */
async function lookupDotDot(vfs: Vfs, root: Vnode, dvp: Vnode, cn: string): Promise<Vnode | null> {
  if (cn === '..') {
    let d = dvp;
    while (d !== root && d.mount.covered !== null && d === d.mount.root) d = d.mount.covered;
    return d === root ? d : lookupName(vfs, d, '..');
  }
  return lookupName(vfs, dvp, cn);
}

/**
 * The synchronous fast path: resolve `path` entirely from the name cache, or give up (undefined)
 * at the first miss, '..', symlink to follow, or permission problem, leaving those (and their
 * errors) to the full walk.
 */
export function nameiCached(l: Lwp, path: string, opts: NameiOptions): Vnode | undefined {
  const vfs = l.kernel.vfs;
  const n = path.length;
  if (vfs === null || n === 0 || n >= PATH_MAX) return undefined;
  const p = l.proc;
  let vp: Vnode;
  if (path.charCodeAt(0) === 47) vp = p.rdir ?? vfs.rootvnode;
  else if (opts.dirfd === undefined || opts.dirfd === AT_FDCWD) vp = p.cwd ?? vfs.rootvnode;
  else return undefined;
  const cred = l.cred;
  let i = 0;
  let hits = 0;
  for (;;) {
    while (i < n && path.charCodeAt(i) === 47) i++;
    if (i >= n) break;
    let j = path.indexOf('/', i);
    if (j < 0) j = n;
    if (j - i > NAME_MAX || vp.type !== VDIR) return undefined;
    if (cred.euid !== 0 && !searchable(vp, cred)) return undefined;
    const cn = path.slice(i, j);
    i = j;
    if (cn === '.') continue;
    if (cn === '..') return undefined;
    let c = vp.ncChildren?.get(cn);
    if (c === undefined || c.reclaimed) return undefined;
    hits++;
    while (c.mountedHere !== null) c = c.mountedHere.root;
    if (c.type === VLNK && (j < n || opts.follow)) return undefined;
    vp = c;
  }
  if (path.charCodeAt(n - 1) === 47 && vp.type !== VDIR) return undefined;
  vfs.vcache.ncHits += hits;
  return vfs.ref(vp);
}

function searchable(vp: Vnode, cred: Lwp['cred']): boolean {
  return canAccess(vp.getattr(), VEXEC, cred);
}

/** namei(LOOKUP): the vnode a path names (referenced). */
export async function namei(l: Lwp, path: string, opts: NameiOptions): Promise<Vnode> {
  const fast = nameiCached(l, path, opts);
  if (fast !== undefined) return fast;
  const r = await walk(l, path, opts, false);
  return r.vp!;
}

/**
 * namei for CREATE/DELETE/RENAME: the parent directory (referenced) and the last component,
 * with the object it names if present (referenced, neither followed nor crossed).
 */
export async function nameiParent(l: Lwp, path: string, opts: Omit<NameiOptions, 'follow'> = {}): Promise<NameiParent> {
  return walk(l, path, { ...opts, follow: false }, true);
}

/** Release what nameiParent returned. */
export function releaseParent(vfs: Vfs, r: NameiParent): void {
  if (r.vp !== null) vfs.rele(r.vp);
  vfs.rele(r.dvp);
}
