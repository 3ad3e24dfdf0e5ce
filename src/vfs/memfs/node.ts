/**
 * Memory file system nodes (inodes): the objects rumpfs and tmpfs keep in memory.
 *
 * One class per kind of object: directories (entries and a parent pointer), regular files (a
 * page store, or an external backing), symbolic links (the target string) and special files
 * (block and character devices with their rdev, fifos, sockets). Attributes live on the base
 * class; times are seconds + nanoseconds.
 *
 * Link counts: a non-directory has one link per directory entry naming it. A directory has
 * 2 + its subdirectories (its entry in the parent, its own '.', and each child's '..'); the root
 * has 2 + subdirectories as well (its '..' is itself). A node with no links left lives on while
 * a vnode references it (an open, unlinked file) and is freed when that vnode is reclaimed.
 */

import type { Timespec } from '../../kern/types.js';
import { VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, type VType, type Vnode } from '../vnode.js';
import { DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN } from '../../kern/types.js';
import type { MemfsBacking } from './backing.js';
import { PageStore, type PageAllocator } from './data.js';
import { MemDir } from './dir.js';

export abstract class MemNode {
  nlink = 0;
  /** chflags(2) flags. */
  flags = 0;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  birthtime: Timespec;
  /** The vnode of this node while it has one (one vnode per node). */
  vnode: Vnode | null = null;
  /** Storage released; the node is gone. */
  freed = false;

  constructor(
    /** Inode number (the vnode cache key); never reused within a mount. */
    readonly ino: number,
    readonly gen: number,
    readonly type: VType,
    /** Permission bits (07777). */
    public mode: number,
    public uid: number,
    public gid: number,
    now: Timespec,
  ) {
    this.atime = this.mtime = this.ctime = this.birthtime = now;
  }

  /** st_size */
  abstract get size(): number;
  /** Bytes of storage held (st_blocks * 512). */
  abstract get bytes(): number;
  get rdev(): number { return 0; }
}

export class MemDirNode extends MemNode {
  readonly dir = new MemDir();
  /** The directory holding this one ('..'); the root is its own parent. */
  parent: MemDirNode;

  constructor(ino: number, gen: number, mode: number, uid: number, gid: number, now: Timespec, parent: MemDirNode | null) {
    super(ino, gen, VDIR, mode, uid, gid, now);
    this.parent = parent ?? this;
  }

  /** NetBSD tmpfs reports a directory's size from its entries; we count 32 bytes each. */
  get size(): number { return (this.dir.count + 2) * DIRENT_SIZE; }
  get bytes(): number { return this.size; }
}

/** Nominal size of a directory entry, for a directory's st_size. */
export const DIRENT_SIZE = 32;

export class MemRegNode extends MemNode {
  readonly data: PageStore;
  /** External storage used instead of pages (etfs). */
  backing: MemfsBacking | null;
  /** Last known size of the backing (kept for synchronous getattr). */
  backingSize = 0;

  constructor(ino: number, gen: number, mode: number, uid: number, gid: number, now: Timespec, pages: PageAllocator, backing: MemfsBacking | null) {
    super(ino, gen, VREG, mode, uid, gid, now);
    this.data = new PageStore(pages);
    this.backing = backing;
  }

  get size(): number {
    if (this.backing === null) return this.data.size;
    const s = this.backing.size();
    if (typeof s === 'number') this.backingSize = s;
    else s.then((v) => { this.backingSize = v; }, () => { /* keep the cached size */ });
    return this.backingSize;
  }

  get bytes(): number {
    return this.backing === null ? this.data.bytes : Math.ceil(this.backingSize / 512) * 512;
  }
}

export class MemLinkNode extends MemNode {
  constructor(ino: number, gen: number, mode: number, uid: number, gid: number, now: Timespec, readonly target: string, readonly targetBytes: number) {
    super(ino, gen, VLNK, mode, uid, gid, now);
  }

  get size(): number { return this.targetBytes; }
  get bytes(): number { return this.targetBytes; }
}

/** Block and character devices, fifos and sockets: attributes only. */
export class MemSpecNode extends MemNode {
  constructor(ino: number, gen: number, type: VType, mode: number, uid: number, gid: number, now: Timespec, private readonly dev: number) {
    super(ino, gen, type, mode, uid, gid, now);
  }

  get size(): number { return 0; }
  get bytes(): number { return 0; }
  override get rdev(): number { return this.type === VBLK || this.type === VCHR ? this.dev : 0; }
}

/** DT_* for a vnode type. */
export function vtypeToDt(t: VType): number {
  switch (t) {
    case VREG: return DT_REG;
    case VDIR: return DT_DIR;
    case VLNK: return DT_LNK;
    case VBLK: return DT_BLK;
    case VCHR: return DT_CHR;
    case VFIFO: return DT_FIFO;
    case VSOCK: return DT_SOCK;
    default: return DT_UNKNOWN;
  }
}

/** A timestamp from the kernel clock (ms, fractional) split into seconds and nanoseconds. */
export function timespecFromMs(ms: number): Timespec {
  let sec = Math.floor(ms / 1000);
  let nsec = Math.round((ms - sec * 1000) * 1e6);
  if (nsec >= 1e9) { sec++; nsec -= 1e9; }
  return { sec, nsec };
}
