/**
 * File system syscalls (vfs_syscalls.c): everything that takes a path, plus the descriptor
 * calls that only make sense on vnodes (fchmod, fsync, getdents, ...).
 *
 * The VFS does the checks common to every file system here (credentials, sticky directories,
 * read-only mounts, name rules, types) so file systems implement only their own semantics.
 */

import { KernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import type { SysImpls } from '../kern/sys.js';
import { falloc } from '../kern/sys_descrip.js';
import {
  AT_EACCESS, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, F_OK, R_OK, W_OK, X_OK,
  MAXSYMLINKS, O_ACCMODE, O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_REGULAR, O_TRUNC, O_RDONLY, O_CLOEXEC,
  O_NONBLOCK, O_SYNC, O_DSYNC, O_RSYNC, O_DIRECT, O_NOCTTY, O_NOSIGPIPE, O_SEARCH, O_ASYNC, O_SHLOCK, O_EXLOCK,
  S_IFMT, S_IFIFO, S_IFCHR, S_IFBLK, S_IFREG, S_IFSOCK, S_ISGID, S_ISUID, S_ISVTX, UTIME_NOW, UTIME_OMIT,
  _PC_LINK_MAX, _PC_NAME_MAX, _PC_PATH_MAX, _PC_PIPE_BUF, _PC_CHOWN_RESTRICTED, _PC_NO_TRUNC, _PC_SYNC_IO,
  _PC_FILESIZEBITS, _PC_SYMLINK_MAX, _PC_MAX_CANON, _PC_MAX_INPUT, _PC_VDISABLE,
  LINK_MAX, NAME_MAX, PATH_MAX, PIPE_BUF, NGROUPS_MAX,
  type Dirent, type Stat, type Statvfs, type Timespec,
} from '../kern/types.js';
import { namei, nameiCached, nameiParent, releaseParent, lookupName, type NameiParent } from './namei.js';
import { doMount, doUnmount, vnodePath } from './vfs_mount.js';
import { VEXEC, VREAD, VWRITE, canAccess, checkWritable, fdVnode, ifmtToVtype, msToTimespec, vaccess, vnStat, vtypeToDt } from './vfs_subr.js';
import { fifoOpen, vnodeOps } from './vfs_vnops.js';
import type { Vfs } from './vfs.js';
import { VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, type NewVattr, type VattrChange, type Vnode } from './vnode.js';
import type { Mount } from './mount.js';

void NGROUPS_MAX;

const OPEN_FLAGS = O_ACCMODE | O_NONBLOCK | O_APPEND | O_SHLOCK | O_EXLOCK | O_ASYNC | O_SYNC | O_NOFOLLOW | O_CREAT |
  O_TRUNC | O_EXCL | O_NOCTTY | O_DSYNC | O_RSYNC | O_DIRECT | O_DIRECTORY | O_CLOEXEC | O_SEARCH | O_NOSIGPIPE | O_REGULAR;

function vfsOf(l: Lwp): Vfs {
  return l.kernel.vfs!;
}

/** Attributes for a new object: the umask applies, the owner is the caller, the group the directory's (BSD). */
function newAttrs(l: Lwp, dvp: Vnode, type: number, mode: number, rdev = 0): NewVattr {
  return { type, mode: mode & 0o7777 & ~l.proc.umask, uid: l.cred.euid, gid: dvp.getattr().gid, rdev };
}

/** Before adding or removing an entry in `dvp`: writable mount, write+search permission. */
function checkDirWrite(l: Lwp, dvp: Vnode, what: string): void {
  if (dvp.reclaimed) throw new KernelError('ENOENT', `${what}: the directory was removed`);
  checkWritable(dvp, what);
  vaccess(dvp, VWRITE | VEXEC, l.cred, 'the directory');
}

/** A removed directory (nlink 0) accepts no new entries. */
function checkDirAlive(dvp: Vnode, what: string): void {
  if (dvp.getattr().nlink === 0) throw new KernelError('ENOENT', `${what}: the directory has been removed`);
}

/** Sticky directories: only the owner of the entry, of the directory, or root may remove/rename it. */
function checkSticky(l: Lwp, dvp: Vnode, vp: Vnode, name: string): void {
  const c = l.cred;
  if (c.euid === 0) return;
  const dva = dvp.getattr();
  if ((dva.mode & S_ISVTX) === 0) return;
  if (c.euid === dva.uid || c.euid === vp.getattr().uid) return;
  throw new KernelError('EPERM', `'${name}' is in a sticky directory and belongs to someone else`);
}

function validName(name: string, what: string): void {
  if (name === '' ) throw new KernelError('ENOENT', `${what}: empty name`);
}

// ---------------------------------------------------------------------------------------------
// open

async function openat(l: Lwp, dirfd: number, path: string, flags: number, mode: number): Promise<number> {
  const vfs = vfsOf(l);
  if ((flags & ~OPEN_FLAGS) !== 0) throw new KernelError('EINVAL', `open flags 0x${(flags >>> 0).toString(16)} have unknown bits`);
  const acc = flags & O_ACCMODE;
  if (acc === O_ACCMODE) throw new KernelError('EINVAL', 'open with O_ACCMODE (both read-only and write-only)');
  const writing = acc !== O_RDONLY;
  let vp: Vnode;
  let created = false;
  if ((flags & O_CREAT) !== 0) {
    const r = await openCreate(l, dirfd, path, flags, mode);
    vp = r.vp;
    created = r.created;
  } else {
    vp = await namei(l, path, { follow: (flags & O_NOFOLLOW) === 0, dirfd });
  }
  let owned = true;
  try {
    if (vp.type === VLNK) throw new KernelError('EFTYPE', `'${path}' is a symbolic link and O_NOFOLLOW was given`);
    if ((flags & O_DIRECTORY) !== 0 && vp.type !== VDIR) throw new KernelError('ENOTDIR', `'${path}' is not a directory (O_DIRECTORY)`);
    if ((flags & O_REGULAR) !== 0 && vp.type !== VREG) throw new KernelError('EFTYPE', `'${path}' is not a regular file (O_REGULAR)`);
    if (vp.type === VSOCK) throw new KernelError('EOPNOTSUPP', `'${path}' is a socket`);
    if (vp.type === VDIR && (writing || (flags & O_TRUNC) !== 0)) throw new KernelError('EISDIR', `'${path}' is a directory`);
    if (!created) {
      let accbits = 0;
      if (acc !== 1 /* O_WRONLY */) accbits |= VREAD;
      if (writing || (flags & O_TRUNC) !== 0) accbits |= VWRITE;
      if (accbits !== 0) vaccess(vp, accbits, l.cred, `'${path}'`);
      if ((writing || (flags & O_TRUNC) !== 0) && (vp.type === VREG || vp.type === VDIR || vp.type === VLNK)) {
        checkWritable(vp, 'open for writing');
      }
    }
    let ops = vnodeOps;
    let data: unknown = vp;
    if (vp.type === VCHR || vp.type === VBLK) {
      if ((vp.mount.flags & 0x10 /* MNT_NODEV */) !== 0) throw new KernelError('ENXIO', `devices are disabled on ${vp.mount.onName} (nodev)`);
      const r = await vfs.devsw.openFile(l, vp, flags);
      ops = r.ops;
      data = r.data;
    } else if (vp.type === VFIFO) {
      const r = await fifoOpen(l, vp, flags);
      ops = r.ops;
      data = r.data;
    } else if ((flags & O_TRUNC) !== 0 && vp.type === VREG && !created) {
      await vp.setattr({ size: 0 }, l.cred);
    }
    const { fd } = falloc(l, ops, flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_DIRECTORY | O_REGULAR | O_NOCTTY), data);
    owned = false; // the open file holds the reference now
    return fd;
  } finally {
    if (owned) vfs.rele(vp);
  }
}

async function openCreate(l: Lwp, dirfd: number, path: string, flags: number, mode: number): Promise<{ vp: Vnode; created: boolean }> {
  const vfs = vfsOf(l);
  let p = path;
  let fd = dirfd;
  for (let links = 0; ; links++) {
    const r = await nameiParent(l, p, { dirfd: fd });
    try {
      if (r.vp === null) {
        if (r.trailingSlash) throw new KernelError('EISDIR', `'${path}' ends in a slash but names no directory`);
        validName(r.name, 'open');
        checkDirWrite(l, r.dvp, 'create');
        checkDirAlive(r.dvp, 'create');
        const vp = await r.dvp.create(r.name, newAttrs(l, r.dvp, VREG, mode));
        vfs.vcache.enter(r.dvp, r.name, vp);
        return { vp: vfs.ref(vp), created: true };
      }
      if ((flags & O_EXCL) !== 0) throw new KernelError('EEXIST', `'${path}' exists (O_CREAT|O_EXCL)`);
      let vp = r.vp;
      if (vp.type === VLNK && (flags & O_NOFOLLOW) === 0) {
        if (links >= MAXSYMLINKS) throw new KernelError('ELOOP', `too many symbolic links in '${path}'`);
        const target = await vp.readlink();
        if (target === '') throw new KernelError('ENOENT', 'empty symbolic link');
        // resolve the target relative to the link's directory: keep the directory open via a path
        const dirPath = await vnodePath(l, r.dvp);
        p = target.startsWith('/') ? target : `${dirPath === '/' ? '' : dirPath}/${target}`;
        fd = AT_FDCWD;
        continue;
      }
      if (r.trailingSlash && vp.type !== VDIR) throw new KernelError('ENOTDIR', `'${path}' is not a directory`);
      r.vp = null;
      while (vp.mountedHere !== null) {
        const root = vfs.ref(vp.mountedHere.root);
        vfs.rele(vp);
        vp = root;
      }
      return { vp, created: false };
    } finally {
      releaseParent(vfs, r);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// attributes

function atFollow(flags: number, allowed: number, what: string): boolean {
  if ((flags & ~allowed) !== 0) throw new KernelError('EINVAL', `${what}: flags 0x${flags.toString(16)} have unknown bits`);
  return (flags & AT_SYMLINK_NOFOLLOW) === 0;
}

async function withVnode<T>(l: Lwp, dirfd: number, path: string, follow: boolean, fn: (vp: Vnode) => Promise<T> | T): Promise<T> {
  const vp = await namei(l, path, { follow, dirfd });
  try {
    return await fn(vp);
  } finally {
    vfsOf(l).rele(vp);
  }
}

async function statAt(l: Lwp, dirfd: number, path: string, follow: boolean): Promise<Stat> {
  const vfs = vfsOf(l);
  const opts = { follow, dirfd };
  const vp = nameiCached(l, path, opts) ?? await namei(l, path, opts);
  const st = vnStat(vp);
  vfs.rele(vp);
  return st;
}

async function accessAt(l: Lwp, dirfd: number, path: string, mode: number, flags: number): Promise<void> {
  if ((mode & ~(R_OK | W_OK | X_OK)) !== 0) throw new KernelError('EINVAL', `access mode 0${mode.toString(8)} has unknown bits`);
  const follow = atFollow(flags, AT_EACCESS | AT_SYMLINK_NOFOLLOW, 'faccessat');
  await withVnode(l, dirfd, path, follow, (vp) => {
    if (mode === F_OK) return;
    // access(2) checks with the real ids unless AT_EACCESS
    const c = l.cred;
    const cred = (flags & AT_EACCESS) !== 0 ? c : Object.assign(c.clone(), { euid: c.uid, egid: c.gid });
    let acc = 0;
    if (mode & R_OK) acc |= VREAD;
    if (mode & W_OK) acc |= VWRITE;
    if (mode & X_OK) acc |= VEXEC;
    if ((mode & W_OK) !== 0 && vp.mount.rdonly && (vp.type === VREG || vp.type === VDIR || vp.type === VLNK)) {
      throw new KernelError('EROFS', `${vp.mount.onName} is mounted read-only`);
    }
    if (!canAccess(vp.getattr(), acc, cred)) throw new KernelError('EACCES', `access 0${mode.toString(8)} denied`);
  });
}

async function setMode(l: Lwp, vp: Vnode, mode: number): Promise<void> {
  checkWritable(vp, 'chmod');
  const va = vp.getattr();
  const c = l.cred;
  if (c.euid !== 0 && c.euid !== va.uid) throw new KernelError('EPERM', `chmod by uid ${c.euid} of a file owned by ${va.uid}`);
  let m = mode & 0o7777;
  if (c.euid !== 0) {
    // non-root may not set the sticky bit on files, nor setgid for a group it is not in
    if (vp.type !== VDIR && (m & S_ISVTX) !== 0) throw new KernelError('EFTYPE', 'only the superuser may set the sticky bit on a file');
    if ((m & S_ISGID) !== 0 && !c.groupmember(va.gid)) throw new KernelError('EPERM', `setgid for group ${va.gid}, which the caller is not in`);
  }
  await vp.setattr({ mode: m }, c);
}

async function setOwner(l: Lwp, vp: Vnode, uid: number, gid: number): Promise<void> {
  checkWritable(vp, 'chown');
  const va = vp.getattr();
  const c = l.cred;
  const nuid = uid === -1 || uid === 0xffffffff ? va.uid : uid;
  const ngid = gid === -1 || gid === 0xffffffff ? va.gid : gid;
  if (c.euid !== 0) {
    if (c.euid !== va.uid || nuid !== va.uid || (ngid !== va.gid && !c.groupmember(ngid))) {
      throw new KernelError('EPERM', `chown to ${nuid}:${ngid} by uid ${c.euid} of a file owned by ${va.uid}:${va.gid}`);
    }
  }
  const ch: VattrChange = { uid: nuid, gid: ngid };
  // a change of owner by non-root clears setuid/setgid (NetBSD clears them for everyone but root)
  if ((nuid !== va.uid || ngid !== va.gid) && c.euid !== 0 && (va.mode & (S_ISUID | S_ISGID)) !== 0) {
    ch.mode = va.mode & ~(S_ISUID | S_ISGID);
  }
  if (nuid === va.uid && ngid === va.gid && ch.mode === undefined) {
    await vp.setattr({}, c);
    return;
  }
  await vp.setattr(ch, c);
}

function checkTimespec(t: Timespec): void {
  if (!Number.isInteger(t.sec) || !Number.isInteger(t.nsec)) throw new KernelError('EINVAL', 'time is not an integer');
  if (t.nsec !== UTIME_NOW && t.nsec !== UTIME_OMIT && (t.nsec < 0 || t.nsec >= 1e9)) {
    throw new KernelError('EINVAL', `nanoseconds ${t.nsec} outside 0..999999999`);
  }
}

async function setTimes(l: Lwp, vp: Vnode, times: readonly [Timespec, Timespec] | null): Promise<void> {
  checkWritable(vp, 'utimes');
  const va = vp.getattr();
  const c = l.cred;
  const now = msToTimespec(l.kernel.now());
  let at: Timespec | undefined = now, mt: Timespec | undefined = now;
  let explicit = false;
  if (times !== null) {
    if (!Array.isArray(times) || times.length !== 2) throw new KernelError('EINVAL', 'times must be [atime, mtime] or null');
    checkTimespec(times[0]);
    checkTimespec(times[1]);
    at = times[0].nsec === UTIME_OMIT ? undefined : times[0].nsec === UTIME_NOW ? now : times[0];
    mt = times[1].nsec === UTIME_OMIT ? undefined : times[1].nsec === UTIME_NOW ? now : times[1];
    explicit = (times[0].nsec !== UTIME_NOW && times[0].nsec !== UTIME_OMIT) || (times[1].nsec !== UTIME_NOW && times[1].nsec !== UTIME_OMIT);
    if (at === undefined && mt === undefined) return;
  }
  if (c.euid !== 0 && c.euid !== va.uid) {
    if (explicit) throw new KernelError('EPERM', `setting explicit times on a file owned by ${va.uid}`);
    if (!canAccess(va, VWRITE, c)) throw new KernelError('EACCES', 'setting times to now needs write permission');
  }
  const ch: VattrChange = {};
  if (at !== undefined) ch.atime = at;
  if (mt !== undefined) ch.mtime = mt;
  await vp.setattr(ch, c);
}

async function truncateVnode(l: Lwp, vp: Vnode, length: number, checkAccess: boolean): Promise<void> {
  if (!Number.isSafeInteger(length) || length < 0) throw new KernelError('EINVAL', `length ${length} is negative or not an integer`);
  if (vp.type === VDIR) throw new KernelError('EISDIR', 'truncate of a directory');
  if (vp.type !== VREG) throw new KernelError('EINVAL', 'truncate of something that is not a regular file');
  checkWritable(vp, 'truncate');
  if (checkAccess) vaccess(vp, VWRITE, l.cred, 'the file');
  await vp.setattr({ size: length }, l.cred);
}

// ---------------------------------------------------------------------------------------------
// namespace changes

async function mkdirAt(l: Lwp, dirfd: number, path: string, mode: number): Promise<void> {
  const vfs = vfsOf(l);
  const r = await nameiParent(l, path, { dirfd });
  try {
    if (r.vp !== null) throw new KernelError('EEXIST', `'${path}' exists`);
    validName(r.name, 'mkdir');
    checkDirWrite(l, r.dvp, 'mkdir');
    checkDirAlive(r.dvp, 'mkdir');
    if (r.dvp.getattr().nlink >= LINK_MAX) throw new KernelError('EMLINK', 'the parent directory has too many links');
    const vp = await r.dvp.mkdir(r.name, newAttrs(l, r.dvp, VDIR, mode & 0o777)); // NetBSD: mode & ACCESSPERMS
    vfs.vcache.enter(r.dvp, r.name, vp);
  } finally {
    releaseParent(vfs, r);
  }
}

async function makeNode(l: Lwp, dirfd: number, path: string, mode: number, dev: number, what: string): Promise<void> {
  const vfs = vfsOf(l);
  const fmt = mode & S_IFMT;
  const type = ifmtToVtype(fmt === 0 ? S_IFREG : fmt);
  if (type !== VFIFO && type !== VCHR && type !== VBLK && type !== VREG && type !== VSOCK) {
    throw new KernelError('EINVAL', `${what}: file type 0${(fmt >>> 12).toString(8)} cannot be made with mknod`);
  }
  if (type !== VFIFO && l.cred.euid !== 0) throw new KernelError('EPERM', `${what} of a ${type === VCHR ? 'character' : type === VBLK ? 'block' : 'non-FIFO'} node needs the superuser`);
  const r = await nameiParent(l, path, { dirfd });
  try {
    if (r.vp !== null) throw new KernelError('EEXIST', `'${path}' exists`);
    if (r.trailingSlash) throw new KernelError('ENOENT', `'${path}' ends in a slash`);
    validName(r.name, what);
    checkDirWrite(l, r.dvp, what);
    checkDirAlive(r.dvp, what);
    const vp = await r.dvp.create(r.name, newAttrs(l, r.dvp, type, mode, type === VCHR || type === VBLK ? dev >>> 0 : 0));
    vfs.vcache.enter(r.dvp, r.name, vp);
  } finally {
    releaseParent(vfs, r);
  }
}

async function symlinkAt(l: Lwp, target: string, dirfd: number, path: string): Promise<void> {
  const vfs = vfsOf(l);
  if (typeof target !== 'string') throw new KernelError('EFAULT', 'symlink target is not a string');
  if (target.length >= PATH_MAX) throw new KernelError('ENAMETOOLONG', `symlink target of ${target.length} bytes exceeds PATH_MAX`);
  const r = await nameiParent(l, path, { dirfd });
  try {
    if (r.vp !== null) throw new KernelError('EEXIST', `'${path}' exists`);
    validName(r.name, 'symlink');
    checkDirWrite(l, r.dvp, 'symlink');
    checkDirAlive(r.dvp, 'symlink');
    const vp = await r.dvp.symlink(r.name, newAttrs(l, r.dvp, VLNK, 0o777), target);
    vfs.vcache.enter(r.dvp, r.name, vp);
  } finally {
    releaseParent(vfs, r);
  }
}

async function linkAt(l: Lwp, fd1: number, path: string, fd2: number, link: string, flags: number): Promise<void> {
  const vfs = vfsOf(l);
  if ((flags & ~AT_SYMLINK_FOLLOW) !== 0) throw new KernelError('EINVAL', `linkat flags 0x${flags.toString(16)}`);
  const vp = await namei(l, path, { follow: (flags & AT_SYMLINK_FOLLOW) !== 0, dirfd: fd1 });
  try {
    if (vp.type === VDIR) throw new KernelError('EPERM', `'${path}' is a directory`);
    const r = await nameiParent(l, link, { dirfd: fd2 });
    try {
      if (r.vp !== null) throw new KernelError('EEXIST', `'${link}' exists`);
      if (r.trailingSlash) throw new KernelError('ENOENT', `'${link}' ends in a slash`);
      validName(r.name, 'link');
      if (r.dvp.mount !== vp.mount) throw new KernelError('EXDEV', `'${path}' and '${link}' are on different file systems`);
      checkDirWrite(l, r.dvp, 'link');
      checkDirAlive(r.dvp, 'link');
      const va = vp.getattr();
      if (va.nlink === 0) throw new KernelError('ENOENT', `'${path}' has been removed`);
      if (va.nlink >= LINK_MAX) throw new KernelError('EMLINK', `'${path}' has ${va.nlink} links`);
      await r.dvp.link(r.name, vp);
      vfs.vcache.enter(r.dvp, r.name, vp);
    } finally {
      releaseParent(vfs, r);
    }
  } finally {
    vfs.rele(vp);
  }
}

async function removeAt(l: Lwp, dirfd: number, path: string, dir: boolean): Promise<void> {
  const vfs = vfsOf(l);
  const r = await nameiParent(l, path, { dirfd });
  try {
    const what = dir ? 'rmdir' : 'unlink';
    if (r.name === '' || r.vp === r.dvp && r.name === '') throw new KernelError('EBUSY', 'the root directory cannot be removed');
    if (r.name === '.') throw new KernelError('EINVAL', `${what} of '.'`);
    if (r.name === '..') throw new KernelError(dir ? 'ENOTEMPTY' : 'EINVAL', `${what} of '..'`);
    const vp = r.vp;
    if (vp === null) throw new KernelError('ENOENT', `'${path}' does not exist`);
    if (dir) {
      if (vp.type !== VDIR) throw new KernelError('ENOTDIR', `'${path}' is not a directory`);
      if (vp.mountedHere !== null || vp === vp.mount.root) throw new KernelError('EBUSY', `'${path}' is a mount point`);
      if (l.proc.rdir === vp || vfs.rootvnode === vp) throw new KernelError('EBUSY', `'${path}' is a root directory`);
    } else {
      if (vp.type === VDIR) throw new KernelError('EPERM', `'${path}' is a directory`);
      if (r.trailingSlash) throw new KernelError('ENOTDIR', `'${path}' is not a directory`);
    }
    checkDirWrite(l, r.dvp, what);
    checkSticky(l, r.dvp, vp, r.name);
    if (dir) await r.dvp.rmdir(r.name, vp);
    else await r.dvp.remove(r.name, vp);
    vfs.vcache.remove(r.dvp, r.name);
    if (dir) vfs.vcache.purge(vp);
  } finally {
    releaseParent(vfs, r);
  }
}

/** Is `dvp` equal to `vp` or below it (walking '..' within the mount)? */
async function isBelow(vfs: Vfs, dvp: Vnode, vp: Vnode): Promise<boolean> {
  let d = dvp;
  for (let i = 0; i < 65536; i++) {
    if (d === vp) return true;
    if (d === d.mount.root) return false;
    const p = await lookupName(vfs, d, '..');
    if (p === null || p === d) return false;
    d = p;
  }
  throw new KernelError('ELOOP', 'directory tree too deep during rename');
}

async function renameAt(l: Lwp, fromfd: number, from: string, tofd: number, to: string): Promise<void> {
  const vfs = vfsOf(l);
  const f = await nameiParent(l, from, { dirfd: fromfd });
  let t: NameiParent | null = null;
  let mp: Mount | null = null;
  try {
    if (f.name === '' ) throw new KernelError('EBUSY', 'rename of the root directory');
    if (f.name === '.' || f.name === '..') throw new KernelError('EINVAL', `rename of '${f.name}'`);
    if (f.vp === null) throw new KernelError('ENOENT', `'${from}' does not exist`);
    t = await nameiParent(l, to, { dirfd: tofd });
    if (t.name === '' || t.name === '.' || t.name === '..') throw new KernelError('EINVAL', `rename to '${t.name || '/'}'`);
    const fvp = f.vp;
    let tvp = t.vp;
    if (fvp.type !== VDIR && (f.trailingSlash || t.trailingSlash)) throw new KernelError('ENOTDIR', `'${f.trailingSlash ? from : to}' ends in a slash but is not a directory`);
    if (fvp.mountedHere !== null || fvp === fvp.mount.root) throw new KernelError('EBUSY', `'${from}' is a mount point`);
    if (tvp !== null && (tvp.mountedHere !== null || tvp === tvp.mount.root)) throw new KernelError('EBUSY', `'${to}' is a mount point`);
    if (f.dvp.mount !== t.dvp.mount || (tvp !== null && tvp.mount !== fvp.mount)) {
      throw new KernelError('EXDEV', `'${from}' and '${to}' are on different file systems`);
    }
    if (fvp === tvp) return; // the same file (or hard links to it): nothing to do
    if (tvp !== null) {
      if (fvp.type === VDIR && tvp.type !== VDIR) throw new KernelError('ENOTDIR', `'${to}' is not a directory`);
      if (fvp.type !== VDIR && tvp.type === VDIR) throw new KernelError('EISDIR', `'${to}' is a directory`);
    }
    checkDirWrite(l, f.dvp, 'rename');
    checkDirWrite(l, t.dvp, 'rename');
    checkDirAlive(t.dvp, 'rename');
    checkSticky(l, f.dvp, fvp, f.name);
    if (tvp !== null) checkSticky(l, t.dvp, tvp, t.name);
    mp = fvp.mount;
    if (!mp.renameLock.tryEnter()) await mp.renameLock.enter();
    if (fvp.type === VDIR) {
      // moving a directory to another parent needs write access to it (its '..' changes)
      if (f.dvp !== t.dvp) vaccess(fvp, VWRITE, l.cred, `'${from}'`);
      if (await isBelow(vfs, t.dvp, fvp)) throw new KernelError('EINVAL', `'${to}' is inside '${from}'`);
    }
    // re-check the target after waiting for the lock
    const cur = await lookupName(vfs, t.dvp, t.name);
    if (cur !== tvp) {
      if (tvp !== null) vfs.rele(tvp);
      tvp = cur === null ? null : vfs.ref(cur);
      t.vp = tvp;
      if (tvp !== null && fvp.type === VDIR && tvp.type !== VDIR) throw new KernelError('ENOTDIR', `'${to}' is not a directory`);
      if (tvp !== null && fvp.type !== VDIR && tvp.type === VDIR) throw new KernelError('EISDIR', `'${to}' is a directory`);
      if (fvp === tvp) return;
    }
    if (tvp !== null && fvp.type !== VDIR && tvp.type !== VDIR && fvp.getattr().fileid === tvp.getattr().fileid) return;
    await f.dvp.rename(f.name, fvp, t.dvp, t.name, tvp);
    vfs.vcache.remove(f.dvp, f.name);
    vfs.vcache.remove(t.dvp, t.name);
    if (tvp !== null && tvp.type === VDIR) vfs.vcache.purge(tvp);
    vfs.vcache.enter(t.dvp, t.name, fvp);
  } finally {
    mp?.renameLock.held && mp.renameLock.exit();
    if (t !== null) releaseParent(vfs, t);
    releaseParent(vfs, f);
  }
}

// ---------------------------------------------------------------------------------------------
// directories

async function getdents(l: Lwp, fd: number, count: number): Promise<Dirent[]> {
  const { fp, vp } = fdVnode(l, fd);
  if (!fp.readable) throw new KernelError('EBADF', `descriptor ${fd} is not open for reading`);
  if (vp.type !== VDIR) throw new KernelError('EINVAL', `descriptor ${fd} is not a directory`);
  if (!Number.isInteger(count) || count <= 0) throw new KernelError('EINVAL', `entry count ${count} must be positive`);
  const r = await vp.readdir(fp.offset, Math.min(count, 4096));
  const out: Dirent[] = [];
  for (const e of r.entries) {
    out.push({ ino: e.fileid, name: e.name, type: e.type });
    fp.offset = e.cookie;
  }
  return out;
}

async function changeDir(l: Lwp, vp: Vnode, what: string): Promise<void> {
  const vfs = vfsOf(l);
  if (vp.type !== VDIR) throw new KernelError('ENOTDIR', `${what} is not a directory`);
  vaccess(vp, VEXEC, l.cred, what);
  const old = l.proc.cwd;
  l.proc.cwd = vfs.ref(vp);
  if (old !== null) vfs.rele(old);
}

// ---------------------------------------------------------------------------------------------
// statvfs

function statvfsOf(mp: Mount): Statvfs {
  const s = mp.fs.statvfs();
  return {
    flag: mp.flags, bsize: s.bsize, frsize: s.frsize, iosize: s.iosize,
    blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, bresvd: s.bresvd ?? 0,
    files: s.files, ffree: s.ffree, favail: s.favail, fresvd: s.fresvd ?? 0,
    fsid: mp.fsid, namemax: s.namemax, owner: 0,
    fstypename: mp.fstype, mntonname: mp.onName, mntfromname: mp.fs.from,
  };
}

function pathconfOf(vp: Vnode, name: number): number {
  const v = vp.pathconf(name);
  if (v !== undefined) return v;
  switch (name) {
    case _PC_LINK_MAX: return LINK_MAX;
    case _PC_NAME_MAX: return NAME_MAX;
    case _PC_PATH_MAX: return PATH_MAX;
    case _PC_PIPE_BUF: return PIPE_BUF;
    case _PC_CHOWN_RESTRICTED: return 1;
    case _PC_NO_TRUNC: return 1;
    case _PC_SYNC_IO: return 1;
    case _PC_FILESIZEBITS: return 64;
    case _PC_SYMLINK_MAX: return PATH_MAX - 1;
    case _PC_MAX_CANON: case _PC_MAX_INPUT: case _PC_VDISABLE:
      throw new KernelError('EINVAL', 'terminal pathconf names apply to terminals only');
    default: throw new KernelError('EINVAL', `pathconf name ${name} is unknown`);
  }
}

// ---------------------------------------------------------------------------------------------

export const vfsSyscalls: Partial<SysImpls> = {
  open: (l, path, flags, mode) => openat(l, AT_FDCWD, path, flags, mode),
  openat: (l, dirfd, path, flags, mode) => openat(l, dirfd, path, flags, mode),

  stat: (l, path) => statAt(l, AT_FDCWD, path, true),
  lstat: (l, path) => statAt(l, AT_FDCWD, path, false),
  fstatat: (l, dirfd, path, flags) => statAt(l, dirfd, path, atFollow(flags, AT_SYMLINK_NOFOLLOW, 'fstatat')),
  access: (l, path, mode) => accessAt(l, AT_FDCWD, path, mode, 0),
  faccessat: (l, dirfd, path, mode, flags) => accessAt(l, dirfd, path, mode, flags),

  mkdir: (l, path, mode) => mkdirAt(l, AT_FDCWD, path, mode),
  mkdirat: (l, dirfd, path, mode) => mkdirAt(l, dirfd, path, mode),
  rmdir: (l, path) => removeAt(l, AT_FDCWD, path, true),
  unlink: (l, path) => removeAt(l, AT_FDCWD, path, false),
  async unlinkat(l, dirfd, path, flags) {
    if ((flags & ~AT_REMOVEDIR) !== 0) throw new KernelError('EINVAL', `unlinkat flags 0x${flags.toString(16)}`);
    return removeAt(l, dirfd, path, (flags & AT_REMOVEDIR) !== 0);
  },
  rename: (l, from, to) => renameAt(l, AT_FDCWD, from, AT_FDCWD, to),
  renameat: (l, fromfd, from, tofd, to) => renameAt(l, fromfd, from, tofd, to),
  link: (l, path, link) => linkAt(l, AT_FDCWD, path, AT_FDCWD, link, AT_SYMLINK_FOLLOW),
  linkat: (l, fd1, path, fd2, link, flags) => linkAt(l, fd1, path, fd2, link, flags),
  symlink: (l, target, link) => symlinkAt(l, target, AT_FDCWD, link),
  symlinkat: (l, target, dirfd, link) => symlinkAt(l, target, dirfd, link),
  readlink: (l, path) => withVnode(l, AT_FDCWD, path, false, (vp) => {
    if (vp.type !== VLNK) throw new KernelError('EINVAL', `'${path}' is not a symbolic link`);
    return vp.readlink();
  }),
  readlinkat: (l, dirfd, path) => withVnode(l, dirfd, path, false, (vp) => {
    if (vp.type !== VLNK) throw new KernelError('EINVAL', `'${path}' is not a symbolic link`);
    return vp.readlink();
  }),

  chmod: (l, path, mode) => withVnode(l, AT_FDCWD, path, true, (vp) => setMode(l, vp, mode)),
  lchmod: (l, path, mode) => withVnode(l, AT_FDCWD, path, false, (vp) => setMode(l, vp, mode)),
  fchmod: (l, fd, mode) => setMode(l, fdVnode(l, fd).vp, mode),
  fchmodat: (l, dirfd, path, mode, flags) => withVnode(l, dirfd, path, atFollow(flags, AT_SYMLINK_NOFOLLOW, 'fchmodat'), (vp) => setMode(l, vp, mode)),
  chown: (l, path, uid, gid) => withVnode(l, AT_FDCWD, path, true, (vp) => setOwner(l, vp, uid, gid)),
  lchown: (l, path, uid, gid) => withVnode(l, AT_FDCWD, path, false, (vp) => setOwner(l, vp, uid, gid)),
  fchown: (l, fd, uid, gid) => setOwner(l, fdVnode(l, fd).vp, uid, gid),
  fchownat: (l, dirfd, path, uid, gid, flags) => withVnode(l, dirfd, path, atFollow(flags, AT_SYMLINK_NOFOLLOW, 'fchownat'), (vp) => setOwner(l, vp, uid, gid)),
  utimes: (l, path, times) => withVnode(l, AT_FDCWD, path, true, (vp) => setTimes(l, vp, times)),
  lutimes: (l, path, times) => withVnode(l, AT_FDCWD, path, false, (vp) => setTimes(l, vp, times)),
  futimes: (l, fd, times) => setTimes(l, fdVnode(l, fd).vp, times),
  futimens: (l, fd, times) => setTimes(l, fdVnode(l, fd).vp, times),
  utimensat: (l, dirfd, path, times, flags) => withVnode(l, dirfd, path, atFollow(flags, AT_SYMLINK_NOFOLLOW, 'utimensat'), (vp) => setTimes(l, vp, times)),

  truncate: (l, path, length) => withVnode(l, AT_FDCWD, path, true, (vp) => truncateVnode(l, vp, length, true)),
  async ftruncate(l, fd, length) {
    const { fp, vp } = fdVnode(l, fd);
    if (!fp.writable) throw new KernelError('EINVAL', `descriptor ${fd} is not open for writing`);
    await truncateVnode(l, vp, length, false);
  },
  async fsync(l, fd) {
    const { fp, vp } = fdVnode(l, fd);
    if (fp.ops.fsync !== undefined) await fp.ops.fsync(fp, l, false);
    else await vp.fsync(false);
  },
  async fdatasync(l, fd) {
    const { fp, vp } = fdVnode(l, fd);
    if (!fp.writable) throw new KernelError('EBADF', `descriptor ${fd} is not open for writing`);
    if (fp.ops.fsync !== undefined) await fp.ops.fsync(fp, l, true);
    else await vp.fsync(true);
  },

  getdents: (l, fd, count) => getdents(l, fd, count),
  chdir: (l, path) => withVnode(l, AT_FDCWD, path, true, (vp) => changeDir(l, vp, `'${path}'`)),
  fchdir: (l, fd) => changeDir(l, fdVnode(l, fd).vp, `descriptor ${fd}`),
  async chroot(l, path) {
    if (l.cred.euid !== 0) throw new KernelError('EPERM', 'chroot needs the superuser');
    const vfs = vfsOf(l);
    await withVnode(l, AT_FDCWD, path, true, (vp) => {
      if (vp.type !== VDIR) throw new KernelError('ENOTDIR', `'${path}' is not a directory`);
      vaccess(vp, VEXEC, l.cred, `'${path}'`);
      const old = l.proc.rdir;
      l.proc.rdir = vfs.ref(vp);
      if (old !== null) vfs.rele(old);
    });
  },
  async getcwd(l) {
    const vfs = vfsOf(l);
    const cwd = l.proc.cwd ?? vfs.rootvnode;
    return vnodePath(l, cwd);
  },

  mknod: (l, path, mode, dev) => makeNode(l, AT_FDCWD, path, mode, dev, 'mknod'),
  mknodat: (l, dirfd, path, mode, dev) => makeNode(l, dirfd, path, mode, dev, 'mknod'),
  mkfifo: (l, path, mode) => makeNode(l, AT_FDCWD, path, (mode & 0o7777) | S_IFIFO, 0, 'mkfifo'),

  mount: (l, type, path, flags, data) => doMount(l, type, path, flags, data),
  unmount: (l, path, flags) => doUnmount(l, path, flags),
  statvfs: (l, path) => withVnode(l, AT_FDCWD, path, true, (vp) => statvfsOf(vp.mount)),
  async fstatvfs(l, fd) {
    return statvfsOf(fdVnode(l, fd).vp.mount);
  },
  async getvfsstat(l) {
    return vfsOf(l).mounts.map(statvfsOf);
  },
  async sync(l) {
    await vfsOf(l).syncAll(false);
  },
  pathconf: (l, path, name) => withVnode(l, AT_FDCWD, path, true, (vp) => pathconfOf(vp, name)),
  async fpathconf(l, fd, name) {
    return pathconfOf(fdVnode(l, fd).vp, name);
  },
};

export { vtypeToDt, S_IFCHR, S_IFBLK };
