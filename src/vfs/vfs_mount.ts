/**
 * mount(2) and unmount(2) machinery: attaching a file system onto a directory vnode, updating
 * flags (MNT_UPDATE), and detaching it again (busy checks, sync, vnode flush, forced revoke).
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { MNT_FORCE, MNT_RDONLY, MNT_UPDATE, MNT_NOATIME, MNT_NOEXEC, MNT_NOSUID, MNT_NODEV, MNT_SYNCHRONOUS, MNT_ASYNC, MNT_UNION, MNT_LOCAL, MNT_RELOAD } from '../kern/types.js';
import { Mount } from './mount.js';
import { namei } from './namei.js';
import type { Vfs } from './vfs.js';
import { VDIR, type Vnode } from './vnode.js';

const MNT_USERFLAGS = MNT_RDONLY | MNT_SYNCHRONOUS | MNT_NOEXEC | MNT_NOSUID | MNT_NODEV | MNT_UNION | MNT_ASYNC | MNT_NOATIME;
const MNT_OPFLAGS = MNT_UPDATE | MNT_RELOAD | MNT_FORCE;

/** Mount the root file system at boot. */
export async function mountRoot(k: Kernel, vfs: Vfs, type: string, data: unknown): Promise<Mount> {
  const t = vfs.fstypes.get(type);
  if (t === undefined) throw new KernelError('ENODEV', `root file system type '${type}' is not in this kernel`);
  const mp = new Mount(k, type, MNT_LOCAL, null, '/', vfs.allocFsid());
  mp.fs = await t.mount(k, mp, { flags: 0, data }, k.initLwp);
  mp.root = vfs.ref(await mp.fs.root());
  vfs.mounts.push(mp);
  vfs.rootvnode = vfs.ref(mp.root);
  return mp;
}

export async function doMount(l: Lwp, type: string, path: string, flags: number, data: unknown): Promise<void> {
  const k = l.kernel;
  const vfs = k.vfs!;
  if (l.cred.euid !== 0) throw new KernelError('EPERM', 'mount needs the superuser');
  if ((flags & ~(MNT_USERFLAGS | MNT_OPFLAGS)) !== 0) throw new KernelError('EINVAL', `mount flags 0x${flags.toString(16)} have unknown bits`);
  const vp = await namei(l, path, { follow: true });
  let handedOver = false;
  try {
    if ((flags & MNT_UPDATE) !== 0) {
      const mp = vp.mount;
      if (vp !== mp.root) throw new KernelError('EINVAL', `'${path}' is not the root of a mounted file system`);
      if (mp.fs.update === undefined) throw new KernelError('EOPNOTSUPP', `${mp.fstype} cannot update its mount flags`);
      const nflags = (mp.flags & ~MNT_USERFLAGS) | (flags & MNT_USERFLAGS);
      if (!mp.rdonly && (nflags & MNT_RDONLY) !== 0) await mp.fs.sync(true);
      await mp.fs.update(nflags, data);
      mp.flags = nflags;
      return;
    }
    const t = vfs.fstypes.get(type);
    if (t === undefined) throw new KernelError('ENODEV', `file system type '${type}' is not in this kernel (have: ${[...vfs.fstypes.keys()].join(', ')})`);
    if (vp.type !== VDIR) throw new KernelError('ENOTDIR', `mount point '${path}' is not a directory`);
    if (vp.mountedHere !== null || vp === vp.mount.root) throw new KernelError('EBUSY', `'${path}' is already a mount point`);
    const onName = await vnodePath(l, vp);
    const mp = new Mount(k, t.name, (flags & MNT_USERFLAGS) | MNT_LOCAL, vp, onName, vfs.allocFsid());
    mp.fs = await t.mount(k, mp, { flags: mp.flags, data }, l);
    try {
      mp.root = vfs.ref(await mp.fs.root());
    } catch (e) {
      await mp.fs.unmount(true);
      throw e;
    }
    if (vp.mountedHere !== null) {
      vfs.rele(mp.root);
      await mp.fs.unmount(true);
      throw new KernelError('EBUSY', `'${path}' was mounted on meanwhile`);
    }
    vp.mountedHere = mp;
    vfs.mounts.push(mp);
    handedOver = true; // the mount keeps namei's reference on the covered vnode
  } finally {
    if (!handedOver) vfs.rele(vp);
  }
}

export async function doUnmount(l: Lwp, path: string, flags: number): Promise<void> {
  const k = l.kernel;
  const vfs = k.vfs!;
  if (l.cred.euid !== 0) throw new KernelError('EPERM', 'unmount needs the superuser');
  if ((flags & ~MNT_FORCE) !== 0) throw new KernelError('EINVAL', `unmount flags 0x${flags.toString(16)} have unknown bits`);
  const vp = await namei(l, path, { follow: true });
  const mp = vp.mount;
  vfs.rele(vp);
  if (vp !== mp.root) throw new KernelError('EINVAL', `'${path}' is not the root of a mounted file system`);
  if (mp.covered === null) throw new KernelError('EBUSY', 'the root file system cannot be unmounted while the kernel runs');
  await unmountMount(k, mp, (flags & MNT_FORCE) !== 0, false);
}

/** Detach `mp`: EBUSY if file systems are mounted below it or (without force) vnodes are in use. */
export async function unmountMount(k: Kernel, mp: Mount, force: boolean, halting: boolean): Promise<void> {
  const vfs = k.vfs!;
  if (mp.unmounting) throw new KernelError('EBUSY', `${mp.onName} is being unmounted`);
  if (vfs.mounts.some((m) => m !== mp && m.covered !== null && m.covered.mount === mp)) {
    throw new KernelError('EBUSY', `file systems are mounted below ${mp.onName}`);
  }
  mp.unmounting = true;
  try {
    if (!mp.rdonly && !force) await mp.fs.sync(true);
    // the mount's own references: root (and the kernel root vnode for the root mount)
    const own = mp.covered === null ? 2 : 1;
    const busy = await vfs.vcache.flushMount(mp, new Set([mp.root]));
    const rootBusy = mp.root.usecount > own;
    if ((busy.length > 0 || rootBusy) && !force && !halting) {
      throw new KernelError('EBUSY', `${mp.onName} has ${busy.length + (rootBusy ? 1 : 0)} vnode(s) in use`);
    }
    // forced: revoke what is still referenced (holders keep their references to a dead vnode)
    for (const vp of [...mp.vnodes.values()]) if (vp !== mp.root) await vfs.vcache.reclaim(vp);
    const root = mp.root;
    root.usecount -= own - 1;
    vfs.rele(root);
    if (!root.reclaimed) await vfs.vcache.reclaim(root);
    await mp.fs.unmount(force || halting);
  } catch (e) {
    mp.unmounting = false;
    throw e;
  }
  const i = vfs.mounts.indexOf(mp);
  if (i >= 0) vfs.mounts.splice(i, 1);
  if (mp.covered !== null) {
    mp.covered.mountedHere = null;
    vfs.rele(mp.covered);
  }
}

/**
 * The path of directory `vp` as seen from the process root (getcwd's algorithm): climb '..',
 * finding each name through the name cache or by reading the parent directory.
 */
export async function vnodePath(l: Lwp, start: Vnode): Promise<string> {
  const vfs = l.kernel.vfs!;
  const root = l.proc.rdir ?? vfs.rootvnode;
  const parts: string[] = [];
  let vp = start;
  for (let depth = 0; depth < 4096; depth++) {
    while (vp !== root && vp.mount.covered !== null && vp === vp.mount.root) vp = vp.mount.covered;
    if (vp === root) return '/' + parts.reverse().join('/');
    if (vp === vp.mount.root) return '/' + parts.reverse().join('/'); // outside the process root
    const parent = await vp.lookup('..');
    if (parent === null) throw new KernelError('ENOENT', 'a directory on the path to the root was removed');
    let name: string | undefined;
    for (const e of vp.ncParents ?? []) if (e.dvp === parent) { name = e.name; break; }
    if (name === undefined) {
      const id = vp.getattr().fileid;
      let cookie = 0;
      search: for (;;) {
        const r = await parent.readdir(cookie, 128);
        for (const e of r.entries) {
          cookie = e.cookie;
          if (e.fileid === id && e.name !== '.' && e.name !== '..') { name = e.name; break search; }
        }
        if (r.eof || r.entries.length === 0) break;
      }
    }
    if (name === undefined) throw new KernelError('ENOENT', 'current directory is no longer linked into the tree');
    parts.push(name);
    vp = parent;
  }
  throw new KernelError('ELOOP', 'directory tree too deep while computing a path');
}
