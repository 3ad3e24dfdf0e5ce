/**
 * rumpfs: the root file system a rump kernel boots with (NetBSD's rumpfs.c), a memory file
 * system (memfs/) limited only by kernel memory (ENOSPC when that runs out).
 *
 * Besides the VOPs it offers the kernel-side hooks etfs and device drivers use to put objects
 * into the namespace without a process: `rumpfsAddNode` (a node with an optional external
 * backing, optionally hidden from readdir like etfs keys) and `rumpfsRemoveNode`. Both work
 * on the root mount (`k.vfs.mounts[0]`).
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { NAME_MAX } from '../kern/types.js';
import type { FileSystem, FileSystemType, Mount, MountArgs } from './mount.js';
import { VDIR, VLNK, VREG, vtypeName, type VType } from './vnode.js';
import type { MemfsBacking } from './memfs/backing.js';
import { utf8Length } from './memfs/dir.js';
import { MemFs } from './memfs/memfs.js';
import { makeNode, rmdirNode, unlinkNode } from './memfs/namespace.js';
import { MemDirNode, MemRegNode } from './memfs/node.js';

/** NetBSD's RUMPFS_DEFAULTMODE for the root and for directories made on the way to a node. */
const RUMPFS_DIRMODE = 0o755;

export const rumpfsType: FileSystemType = {
  name: 'rumpfs',
  mount(k: Kernel, mp: Mount, _args: MountArgs, _l: Lwp): Promise<FileSystem> {
    return Promise.resolve(new MemFs(k, mp, { fstype: 'rumpfs', from: 'rumpfs', rootMode: RUMPFS_DIRMODE }));
  },
};

export interface RumpfsNodeSpec {
  type: VType;
  /** Permission bits. */
  mode: number;
  /** Device number of a VBLK/VCHR node. */
  rdev?: number;
  /** External storage of a VREG node (etfs): used instead of pages. */
  backing?: MemfsBacking;
  /** Found by lookup but not listed by readdir (etfs keys); directories made on the way inherit it. */
  hidden?: boolean;
}

function rootFs(k: Kernel): MemFs {
  const mp = k.vfs?.mounts[0];
  if (mp === undefined) throw new KernelError('ENXIO', 'the kernel has no root file system (boot with the vfs component)');
  if (mp.fstype !== 'rumpfs' || !(mp.fs instanceof MemFs)) {
    throw new KernelError('EOPNOTSUPP', `the root file system is ${mp.fstype}, not rumpfs`);
  }
  return mp.fs;
}

function components(path: string): string[] {
  const parts = path.split('/').filter((c) => c !== '');
  if (parts.length === 0) throw new KernelError('EINVAL', `rumpfs node path '${path}' names the root directory`);
  for (const c of parts) {
    if (c === '.' || c === '..') throw new KernelError('EINVAL', `rumpfs node path '${path}' has a '${c}' component`);
    if (utf8Length(c) > NAME_MAX) throw new KernelError('ENAMETOOLONG', `rumpfs node path '${path}': component is longer than ${NAME_MAX} bytes`);
  }
  return parts;
}

/** Walk to the directory holding the last component; with `create`, make missing directories. */
function walkParent(fs: MemFs, path: string, parts: readonly string[], create: { hidden: boolean } | null): MemDirNode {
  let dir = fs.rootNode;
  for (const c of parts.slice(0, -1)) {
    const e = dir.dir.lookup(c);
    if (e === undefined) {
      if (create === null) throw new KernelError('ENOENT', `rumpfs: '${c}' in '${path}' does not exist`);
      dir = makeNode(fs, dir, c, { type: VDIR, mode: RUMPFS_DIRMODE, uid: 0, gid: 0 }, create.hidden) as MemDirNode;
    } else if (e.node instanceof MemDirNode) {
      dir = e.node;
    } else {
      throw new KernelError('ENOTDIR', `rumpfs: '${c}' in '${path}' is a ${vtypeName(e.node.type)}, not a directory`);
    }
  }
  return dir;
}

/**
 * Create a node at `path` on the root rumpfs, making missing directories (mode 0755) on the
 * way. EEXIST if something is there already. A `backing` is only for regular files.
 */
export async function rumpfsAddNode(k: Kernel, path: string, spec: RumpfsNodeSpec): Promise<void> {
  const fs = rootFs(k);
  const parts = components(path);
  if (spec.type === VLNK) throw new KernelError('EINVAL', `rumpfs: cannot add a symbolic link node at '${path}'`);
  if (spec.backing !== undefined && spec.type !== VREG) {
    throw new KernelError('EINVAL', `rumpfs: a backing needs a regular file node, '${path}' would be a ${vtypeName(spec.type)}`);
  }
  if (!Number.isInteger(spec.mode) || spec.mode < 0 || spec.mode > 0o7777) {
    throw new KernelError('EINVAL', `rumpfs: mode 0${spec.mode.toString(8)} of '${path}' is not a permission mode`);
  }
  // The only await comes first, so the tree changes below happen in one step.
  const initialSize = spec.backing === undefined ? 0 : await spec.backing.size();
  const hidden = spec.hidden ?? false;
  const dir = walkParent(fs, path, parts, { hidden });
  const name = parts[parts.length - 1]!;
  const n = makeNode(fs, dir, name, {
    type: spec.type, mode: spec.mode, uid: 0, gid: 0, rdev: spec.rdev ?? 0, backing: spec.backing ?? null,
  }, hidden);
  if (n instanceof MemRegNode) n.backingSize = initialSize;
}

/** Remove the node at `path` on the root rumpfs (a directory must be empty: ENOTEMPTY). */
export async function rumpfsRemoveNode(k: Kernel, path: string): Promise<void> {
  const fs = rootFs(k);
  const parts = components(path);
  const dir = walkParent(fs, path, parts, null);
  const name = parts[parts.length - 1]!;
  const e = dir.dir.lookup(name);
  if (e === undefined) throw new KernelError('ENOENT', `rumpfs: '${path}' does not exist`);
  const n = e.node.type === VDIR ? rmdirNode(fs, dir, name, null) : unlinkNode(fs, dir, name, null);
  const vc = k.vfs!.vcache;
  if (dir.vnode !== null) vc.remove(dir.vnode, name);
  const vp = n.vnode;
  if (vp !== null) {
    vc.purge(vp);
    // Unreferenced vnodes are not inactivated again: reclaim now so the node's storage goes.
    if (vp.usecount === 0 && n.nlink === 0) await vc.reclaim(vp);
  }
}
