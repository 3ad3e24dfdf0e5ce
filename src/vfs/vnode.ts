/**
 * vnodes: the VFS's handle on a file system object, and the operations a file system provides.
 *
 * A file system subclasses `Vnode` and implements the operations its objects support; the rest
 * fail with the errno NetBSD's genfs would give. The VFS layer (namei, vfs_syscalls) does path
 * walking, permission checks (credentials, sticky directories), name validation, the name cache
 * and reference counting; file systems do not repeat those checks. They do enforce what only
 * they know: ENOTEMPTY, ENOSPC, EMLINK, EFBIG, and their on-disk consistency.
 *
 * Reference counting (vref/vrele in vcache.ts): every vnode the VFS holds (cwd, an open file,
 * a mount's root or covered vnode, namei results in flight) counts in `usecount`. When it drops
 * to zero `inactive` runs; unreferenced vnodes stay cached (LRU) until the cache is over its
 * bound, when `reclaim` detaches them from their file system.
 *
 * Concurrency: operations may be called concurrently (they interleave at awaits). A file system
 * that awaits in the middle of a multi-step update must serialise with its own locks (the VFS
 * holds the mount's rename lock around rename, and a directory's `lock` around entry changes).
 */

import { KernelError } from '../kern/errno.js';
import { KRWLock } from '../kern/sync.js';
import type { Cred } from '../kern/proc.js';
import type { Timespec } from '../kern/types.js';
import type { Mount } from './mount.js';

/** Vnode types (enum vtype). */
export const VNON = 0, VREG = 1, VDIR = 2, VBLK = 3, VCHR = 4, VLNK = 5, VSOCK = 6, VFIFO = 7, VBAD = 8;
export type VType = number;

/** ioflag bits for VOP_WRITE (sys/vnode.h): IO_APPEND writes at the end of file as the fs sees it under its own lock. */
export const IO_APPEND = 0x0002;

/** Vnode attributes (struct vattr): what getattr reports. `mode` holds permission bits only (07777). */
export interface Vattr {
  type: VType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  fileid: number;
  size: number;
  /** Bytes actually allocated (st_blocks * 512). */
  bytes: number;
  blocksize: number;
  rdev: number;
  flags: number;
  gen: number;
  atimeSec: number; atimeNsec: number;
  mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number;
  birthtimeSec: number; birthtimeNsec: number;
}

/** Attribute changes for setattr; absent fields are left alone. The fs updates ctime itself. */
export interface VattrChange {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: Timespec;
  mtime?: Timespec;
  birthtime?: Timespec;
  flags?: number;
}

/** Attributes of a new object (create, mkdir, symlink, mknod). `mode` has the umask applied. */
export interface NewVattr {
  type: VType;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
}

export interface ReaddirEntry {
  name: string;
  fileid: number;
  /** DT_* */
  type: number;
  /** Cookie to resume reading after this entry. */
  cookie: number;
}

export interface ReaddirResult {
  entries: ReaddirEntry[];
  eof: boolean;
}

function notsupp(op: string, vp: Vnode): never {
  const e = vp.type === VDIR ? (op === 'read' || op === 'write' ? 'EISDIR' : 'EOPNOTSUPP')
    : op === 'lookup' || op === 'create' || op === 'mkdir' || op === 'readdir' || op === 'remove' || op === 'rmdir' || op === 'rename' || op === 'link' || op === 'symlink' ? 'ENOTDIR'
    : op === 'readlink' ? 'EINVAL' : 'EOPNOTSUPP';
  throw new KernelError(e, `${op} on a ${vtypeName(vp.type)} of ${vp.mount.fstype}`);
}

export function vtypeName(t: VType): string {
  return ['non', 'regular file', 'directory', 'block device', 'character device', 'symbolic link', 'socket', 'fifo', 'bad'][t] ?? 'bad';
}

export abstract class Vnode {
  /** References held by the VFS (cwd, files, namei). */
  usecount = 0;
  /** A file system mounted on this vnode (v_mountedhere). */
  mountedHere: Mount | null = null;
  /** Name cache: children of this directory by name (no references held). */
  ncChildren: Map<string, Vnode> | null = null;
  /** Name cache: entries naming this vnode, for purging. */
  ncParents: { dvp: Vnode; name: string }[] | null = null;
  /** Detached from its file system; operations fail with EBADF (revoked) or ENOENT. */
  reclaimed = false;
  /** For a device vnode: the special device it refers to (set by specfs). */
  specinfo: unknown = null;
  /** For a fifo vnode: the kernel pipe behind it (set by fifofs). */
  fifoinfo: unknown = null;
  private lockp: KRWLock | null = null;

  constructor(
    readonly mount: Mount,
    public type: VType,
    /** File system key (inode number), unique within the mount while the object exists. */
    readonly key: number,
  ) {}

  /** The vnode lock (lazily made). The VFS takes it exclusively around directory entry changes. */
  get lock(): KRWLock {
    return (this.lockp ??= new KRWLock());
  }

  /** VOP_GETATTR: current attributes (synchronous: attributes are in memory once the vnode exists). */
  abstract getattr(): Vattr;

  /** VOP_SETATTR: apply changes (permission checks done by the VFS). Size changes truncate or extend. */
  abstract setattr(ch: VattrChange, cred: Cred): Promise<void>;

  /** VOP_LOOKUP: the child named `name` ('.' and '..' handled by the VFS except '..' at fs level), or null. */
  lookup(_name: string): Promise<Vnode | null> { notsupp('lookup', this); }
  /** VOP_CREATE / VOP_MKNOD: a new non-directory object. */
  create(_name: string, _va: NewVattr): Promise<Vnode> { notsupp('create', this); }
  /** VOP_MKDIR */
  mkdir(_name: string, _va: NewVattr): Promise<Vnode> { notsupp('mkdir', this); }
  /** VOP_SYMLINK */
  symlink(_name: string, _va: NewVattr, _target: string): Promise<Vnode> { notsupp('symlink', this); }
  /** VOP_LINK: a new name for `vp` (not a directory; same mount). EMLINK when full. */
  link(_name: string, _vp: Vnode): Promise<void> { notsupp('link', this); }
  /** VOP_REMOVE: remove the entry `name` naming non-directory `vp`. */
  remove(_name: string, _vp: Vnode): Promise<void> { notsupp('remove', this); }
  /** VOP_RMDIR: remove directory `vp` named `name`; ENOTEMPTY unless empty. */
  rmdir(_name: string, _vp: Vnode): Promise<void> { notsupp('rmdir', this); }
  /**
   * VOP_RENAME, called on the source directory: move `fvp` (named `fname` here) to `tname` in
   * `tdvp`, replacing `tvp` if not null (the VFS has checked types and emptiness rules apart from
   * ENOTEMPTY, and that `tdvp` is not below `fvp`).
   */
  rename(_fname: string, _fvp: Vnode, _tdvp: Vnode, _tname: string, _tvp: Vnode | null): Promise<void> { notsupp('rename', this); }
  /** VOP_READDIR: entries from `cookie` (0 = start), at most `count`; includes '.' and '..'. */
  readdir(_cookie: number, _count: number): Promise<ReaddirResult> { notsupp('readdir', this); }
  /** VOP_READLINK */
  readlink(): Promise<string> { notsupp('readlink', this); }
  /** VOP_READ: read at `offset` into `buf`; short only at end of file. */
  read(_buf: Uint8Array, _offset: number): Promise<number> { notsupp('read', this); }
  /**
   * VOP_WRITE: write `buf` at `offset`, extending the file as needed. With IO_APPEND in `ioflag`
   * the write goes at the end of file as the fs sees it once it holds its locks (`offset` is then
   * only the VFS's guess), so concurrent O_APPEND writers never overwrite one another.
   */
  write(_buf: Uint8Array, _offset: number, _ioflag?: number): Promise<number> { notsupp('write', this); }
  /** VOP_FSYNC: push this file's dirty data and metadata to stable storage. */
  fsync(_dataOnly: boolean): Promise<void> { return Promise.resolve(); }
  /**
   * VOP_INACTIVE: the last VFS reference went away. Return true to have the vnode reclaimed now
   * (e.g. the object was unlinked and its storage freed).
   */
  inactive(): boolean | Promise<boolean> { return false; }
  /** VOP_RECLAIM: the vnode is leaving the cache; write back anything pending and detach. */
  reclaim(): void | Promise<void> { /* nothing */ }
  /** VOP_PATHCONF: limits of this object; undefined for names the fs does not know. */
  pathconf(_name: number): number | undefined { return undefined; }
}
