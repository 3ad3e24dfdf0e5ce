/**
 * VFS helpers shared by the syscalls: permission checks (vaccess), attributes to struct stat,
 * descriptor-to-vnode, and time conversion.
 */

import { KernelError } from '../kern/errno.js';
import type { KFile } from '../kern/file.js';
import type { Cred, Lwp } from '../kern/proc.js';
import {
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN,
  type Stat, type Timespec,
} from '../kern/types.js';
import { Vnode, VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, type Vattr, type VType } from './vnode.js';

/** Access bits for vaccess (VREAD/VWRITE/VEXEC as in sys/vnode.h). */
export const VEXEC = 0o100, VWRITE = 0o200, VREAD = 0o400;

const IFMT_OF: readonly number[] = [0, S_IFREG, S_IFDIR, S_IFBLK, S_IFCHR, S_IFLNK, S_IFSOCK, S_IFIFO, 0];
const DT_OF: readonly number[] = [DT_UNKNOWN, DT_REG, DT_DIR, DT_BLK, DT_CHR, DT_LNK, DT_SOCK, DT_FIFO, DT_UNKNOWN];

export function vtypeToIfmt(t: VType): number { return IFMT_OF[t] ?? 0; }
export function vtypeToDt(t: VType): number { return DT_OF[t] ?? DT_UNKNOWN; }
export function ifmtToVtype(mode: number): VType {
  switch (mode & 0o170000) {
    case S_IFREG: return VREG;
    case S_IFDIR: return VDIR;
    case S_IFBLK: return VBLK;
    case S_IFCHR: return VCHR;
    case S_IFLNK: return VLNK;
    case S_IFSOCK: return VSOCK;
    case S_IFIFO: return VFIFO;
    default: return 0;
  }
}

/**
 * genfs_can_access: may `cred` access an object with attributes `va` for `acc` (VREAD|VWRITE|VEXEC)?
 * The superuser may do anything except execute a non-directory with no execute bit at all.
 */
export function canAccess(va: Vattr, acc: number, cred: Cred): boolean {
  if (cred.euid === 0) {
    if ((acc & VEXEC) !== 0 && va.type !== VDIR && (va.mode & 0o111) === 0) return false;
    return true;
  }
  let mask: number;
  if (cred.euid === va.uid) mask = (va.mode & 0o700);
  else if (cred.groupmember(va.gid)) mask = (va.mode & 0o070) << 3;
  else mask = (va.mode & 0o007) << 6;
  return (mask & acc) === acc;
}

export function vaccess(vp: Vnode, acc: number, cred: Cred, what: string): void {
  if (cred.euid === 0 && ((acc & VEXEC) === 0 || vp.type === VDIR)) return;
  const va = vp.getattr();
  if (!canAccess(va, acc, cred)) {
    const kind = acc & VWRITE ? 'write' : acc & VREAD ? 'read' : vp.type === VDIR ? 'search' : 'execute';
    throw new KernelError('EACCES', `${kind} permission denied on ${what} (mode ${(va.mode & 0o7777).toString(8)}, owner ${va.uid}:${va.gid}, caller ${cred.euid})`);
  }
}

export function vattrToStat(va: Vattr, fsid: number): Stat {
  return {
    dev: fsid,
    ino: va.fileid,
    mode: vtypeToIfmt(va.type) | (va.mode & 0o7777),
    nlink: va.nlink,
    uid: va.uid,
    gid: va.gid,
    rdev: va.rdev,
    size: va.size,
    blocks: Math.ceil(va.bytes / 512),
    blksize: va.blocksize,
    flags: va.flags,
    gen: va.gen,
    atimeSec: va.atimeSec, atimeNsec: va.atimeNsec,
    mtimeSec: va.mtimeSec, mtimeNsec: va.mtimeNsec,
    ctimeSec: va.ctimeSec, ctimeNsec: va.ctimeNsec,
    birthtimeSec: va.birthtimeSec, birthtimeNsec: va.birthtimeNsec,
  };
}

export function vnStat(vp: Vnode): Stat {
  return vattrToStat(vp.getattr(), vp.mount.fsid);
}

/** A realtime clock reading in ms as a Timespec. */
export function msToTimespec(ms: number): Timespec {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/**
 * The vnode behind a descriptor (getvnode): EBADF if not open, EINVAL if not a vnode. Files of
 * type 'vnode' hold either the vnode itself or an object with a `vp` field (FIFOs, devices).
 */
export function fdVnode(l: Lwp, fd: number): { fp: KFile; vp: Vnode } {
  const fp = l.proc.fd.get(fd);
  if (fp.ops.type !== 'vnode') throw new KernelError('EINVAL', `descriptor ${fd} is a ${fp.ops.type}, not a file`);
  const d = fp.data;
  return { fp, vp: d instanceof Vnode ? d : (d as { vp: Vnode }).vp };
}

/** Check a mount is writable for a change to `vp`. */
export function checkWritable(vp: Vnode, what: string): void {
  if (vp.mount.rdonly) throw new KernelError('EROFS', `${what}: ${vp.mount.onName} is mounted read-only`);
}
