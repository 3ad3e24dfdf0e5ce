/**
 * Socket nodes in the file system: what bind(2) and connect(2) of AF_LOCAL do with their path.
 *
 * Binding creates a VSOCK node through the VFS exactly as mknod does (namei for CREATE, write and
 * search permission on the directory, a writable mount, the umask), failing with EADDRINUSE when
 * the name exists; connecting looks the path up (following symbolic links), requires a socket
 * node (ENOTSOCK) and write permission on it (EACCES). Both return referenced vnodes; the caller
 * releases them with k.vfs.rele.
 */

import { KernelError } from '../../kern/errno.js';
import type { Lwp } from '../../kern/proc.js';
import { namei, nameiParent, releaseParent } from '../../vfs/namei.js';
import type { Vfs } from '../../vfs/vfs.js';
import { VEXEC, VWRITE, checkWritable, vaccess } from '../../vfs/vfs_subr.js';
import { VSOCK, type Vnode } from '../../vfs/vnode.js';

function vfsOf(l: Lwp): Vfs {
  const v = l.kernel.vfs;
  if (v === null) throw new KernelError('ENOSYS', 'AF_LOCAL addresses need the vfs component');
  return v;
}

/** Create the socket node `path` with permission bits `mode` (before the umask). */
export async function vsockCreate(l: Lwp, path: string, mode: number): Promise<Vnode> {
  const vfs = vfsOf(l);
  const r = await nameiParent(l, path, {});
  try {
    if (r.vp !== null) throw new KernelError('EADDRINUSE', `'${path}' exists`);
    if (r.trailingSlash) throw new KernelError('ENOENT', `'${path}' ends in a slash`);
    const dvp = r.dvp;
    if (dvp.reclaimed || dvp.getattr().nlink === 0) throw new KernelError('ENOENT', `the directory of '${path}' has been removed`);
    checkWritable(dvp, 'bind');
    vaccess(dvp, VWRITE | VEXEC, l.cred, 'the directory');
    const vp = await dvp.create(r.name, {
      type: VSOCK, mode: mode & 0o777 & ~l.proc.umask, uid: l.cred.euid, gid: dvp.getattr().gid, rdev: 0,
    });
    vfs.vcache.enter(dvp, r.name, vp);
    return vfs.ref(vp);
  } finally {
    releaseParent(vfs, r);
  }
}

/** The socket node `path` names, checked for connecting (referenced). */
export async function vsockLookup(l: Lwp, path: string): Promise<Vnode> {
  const vfs = vfsOf(l);
  const vp = await namei(l, path, { follow: true });
  try {
    if (vp.type !== VSOCK) throw new KernelError('ENOTSOCK', `'${path}' is not a socket`);
    vaccess(vp, VWRITE, l.cred, `socket '${path}'`);
    return vp;
  } catch (e) {
    vfs.rele(vp);
    throw e;
  }
}
