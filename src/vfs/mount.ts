/**
 * Mounts and file system types (struct mount, struct vfsops).
 *
 * A file system component registers a `FileSystemType` with the VFS at init. mount(2) creates a
 * `Mount` and asks the type to produce a `FileSystem` for it; the VFS then holds the root vnode,
 * links the mount onto the covered vnode, and keeps the mount's vnodes in its cache.
 */

import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { KMutex } from '../kern/sync.js';
import { MNT_RDONLY } from '../kern/types.js';
import type { Vnode } from './vnode.js';

/** What mount(2) hands a file system type. */
export interface MountArgs {
  /** MNT_* flags. */
  flags: number;
  /** File system specific arguments (e.g. `{ fspec: '/dev/xxx' }`, `{ size: 1 << 20 }`). */
  data: unknown;
}

/** Sizes a file system reports for statvfs. */
export interface FsStat {
  bsize: number;
  frsize: number;
  iosize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  bresvd?: number;
  files: number;
  ffree: number;
  favail: number;
  fresvd?: number;
  namemax: number;
}

/** A mounted instance of a file system. */
export interface FileSystem {
  /** Where it was mounted from (mntfromname): a device path, or the type name. */
  readonly from: string;
  /** VFS_ROOT: the root directory (the VFS takes the reference). */
  root(): Vnode | Promise<Vnode>;
  /** VFS_STATVFS */
  statvfs(): FsStat;
  /** VFS_SYNC: write back everything dirty; `wait` waits for the I/O. */
  sync(wait: boolean): Promise<void>;
  /**
   * VFS_UNMOUNT: called after the VFS has synced and reclaimed every vnode of the mount (or, with
   * `force`, after revoking busy ones). Write back final state (clean flag), release devices.
   */
  unmount(force: boolean): Promise<void>;
  /** MNT_UPDATE: change flags (e.g. read-only to read-write); absent means EOPNOTSUPP. */
  update?(flags: number, data: unknown): Promise<void>;
}

export interface FileSystemType {
  /** 'tmpfs', 'ext2fs', 'ffs', 'msdos', 'cd9660'. */
  readonly name: string;
  mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<FileSystem>;
}

export class Mount {
  /** The mounted file system, once mount succeeded. */
  fs!: FileSystem;
  /** Root vnode (referenced by the mount). */
  root!: Vnode;
  /** Vnodes of this mount by key (the per-mount part of the vnode cache). */
  readonly vnodes = new Map<number, Vnode>();
  /** Serialises renames within this mount (cycle checks). */
  readonly renameLock = new KMutex();
  /** Being unmounted: new lookups into it fail with EBUSY... */
  unmounting = false;

  constructor(
    readonly kernel: Kernel,
    readonly fstype: string,
    public flags: number,
    /** The vnode this mount covers (null for the root file system); referenced. */
    readonly covered: Vnode | null,
    /** Path it is mounted on (mntonname). */
    readonly onName: string,
    /** File system id (st_dev of its objects). */
    readonly fsid: number,
  ) {}

  get rdonly(): boolean { return (this.flags & MNT_RDONLY) !== 0; }
}
