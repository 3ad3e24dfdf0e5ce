/**
 * A mounted ext2 file system: the superblock and geometry, group descriptors, inode reads and
 * writes, metadata blocks through the buffer cache, and the vnode factory.
 *
 * Mounting reads the superblock at byte 1024 of the device, checks it against the device size
 * (superblock.ts), and refuses incompatible features it cannot read (EFTYPE naming them;
 * needs_recovery with its own explanation). ro_compat features never stop a read-only mount.
 *
 * Read-write mounts (no MNT_RDONLY): allowed when every feature of the image is one we keep
 * consistent on write (WRITE_* below: plain ext2, ext3 with a clean journal, 64bit, flex_bg,
 * meta_bg, huge_file, dir_nlink, large_file). Anything else (extents, uninit_bg/metadata_csum
 * checksums, bigalloc, quotas, ...) mounts read-only instead, with a console message naming the
 * feature. ext3 is written as ext2 (NetBSD does the same): the journal is never written, and a
 * read-write mount requires it to be empty (needs_recovery clear, journal s_start 0), so it stays
 * clean. On a read-write mount every group descriptor is loaded and checked, the superblock's
 * state loses EXT2_VALID_FS (EXT2_ERROR_FS is kept), s_mnt_count and s_mtime are updated and
 * written at once; sync writes dirty inodes, descriptors and the superblock (free counts, s_wtime;
 * backups untouched) through the buffer cache and flushes the device; unmount restores the
 * state the file system had when mounted (clean if it was clean).
 *
 * Corruption found after mount (an inode, directory block, block pointer or extent that makes no
 * sense) fails the operation with EIO naming the structure, never anything worse. Memory: every
 * allocation is a block, an inode, or the caller's own buffer; sizes read from disk are checked
 * against the file system before anything is allocated by them.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { MNT_RDONLY, O_EXCL, O_RDONLY, O_RDWR } from '../../kern/types.js';
import { openBlockDevice, parseDiskMountArgs, DEV_BSIZE, type BlockDevice, type DiskMountArgs } from '../../vfs/blockdev.js';
import type { BufCache } from '../../vfs/bufcache.js';
import type { FileSystem, FsStat, Mount, MountArgs } from '../../vfs/mount.js';
import { VDIR, type Vnode } from '../../vfs/vnode.js';
import { Allocator, type GroupState } from './alloc.js';
import { asIoError, view } from './codec.js';
import { bmapRun, type BmapFs, type MapRun } from './bmap.js';
import {
  checkGroupInfo, descriptorBlock, emitGroupDesc, groupInfo, parseGroupDesc, setGroupInfo, EXT2_BG_INODE_UNINIT, type GroupInfo,
} from './group_desc.js';
import { emitInode, parseInode, type Inode, type InodeFeatures, type InodeTime } from './inode.js';
import {
  COMPAT_DIR_INDEX, COMPAT_HAS_JOURNAL, EXT2_FLAGS_UNSIGNED_HASH, EXT2_ERROR_FS, EXT2_ROOT_INO, EXT2_VALID_FS,
  INCOMPAT_64BIT, INCOMPAT_CSUM_SEED, INCOMPAT_EA_INODE, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE, INCOMPAT_FLEX_BG,
  INCOMPAT_JOURNAL_DEV, INCOMPAT_LARGEDIR, INCOMPAT_META_BG, INCOMPAT_MMP, INCOMPAT_RECOVER,
  RO_COMPAT_BTREE_DIR, RO_COMPAT_DIR_NLINK, RO_COMPAT_EXTRA_ISIZE, RO_COMPAT_GDT_CSUM, RO_COMPAT_HUGE_FILE, RO_COMPAT_LARGE_FILE,
  RO_COMPAT_METADATA_CSUM, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, COMPAT_SPARSE_SUPER2, RO_COMPAT_SPARSE_SUPER,
  emitSuperblock, hashSeed, incompatNames, parseSuperblock, roCompatNames, setSuperblockFreeBlocks, splitSbTime, superblockGeometry,
  upgradeToDynamicRev, type Geometry, type Superblock,
} from './superblock.js';
import { makeVnode, type Ext2Vnode } from './vnode.js';

/** Incompatible features a read-only mount can handle. */
export const INCOMPAT_READ_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG | INCOMPAT_EXTENTS | INCOMPAT_64BIT
  | INCOMPAT_FLEX_BG | INCOMPAT_MMP | INCOMPAT_EA_INODE | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR;

/** Incompatible features a read-write mount keeps consistent. */
export const INCOMPAT_WRITE_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG | INCOMPAT_64BIT | INCOMPAT_FLEX_BG;

/** Read-only-compatible features a read-write mount keeps consistent. */
export const RO_COMPAT_WRITE_SUPP = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR | RO_COMPAT_HUGE_FILE
  | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE;

/** The journal superblock's magic (big-endian, JBD2). */
const JBD2_MAGIC = 0xc03b3998;

export type Ext2Args = DiskMountArgs;

/** Check ext2fs mount data; EINVAL naming what is wrong. */
export function parseExt2Args(data: unknown): Ext2Args {
  return parseDiskMountArgs('ext2fs', data);
}

export interface Ext2Stats {
  /** Lookups answered through the hash tree index. */
  htreeLookups: number;
  /** Lookups done by scanning the whole directory. */
  linearLookups: number;
  /** Indexed directories whose index could not be used (unsupported hash or corrupt index). */
  htreeFallbacks: number;
  /** Lookups answered by a directory's in-memory name index. */
  indexedLookups: number;
  /** Indexed directories whose hash index was dropped (INDEX_FL cleared) on a change. */
  htreeCleared: number;
}

/** Linux's ext2_max_size: the largest file the indirect block map (and 32-bit i_blocks) allows. */
export function indirectMaxFileSize(blockSize: number, hugeFile: boolean): number {
  const bits = Math.log2(blockSize);
  const ppb = blockSize / 4;
  let res = 12 + ppb + ppb ** 2 + ppb ** 3;
  let upper = Math.floor((2 ** 32 - 1) / 2 ** (bits - 9));
  if (hugeFile) upper = Math.floor((2 ** 48 - 1) / 2 ** (bits - 9));
  if (res >= upper) {
    res = upper;
    upper -= 12;
    let meta = 1;
    upper -= ppb;
    if (upper < ppb * ppb) {
      meta += 1 + Math.ceil(upper / ppb);
    } else {
      meta += 1 + ppb;
      upper -= ppb * ppb;
      meta += 1 + Math.ceil(upper / ppb) + Math.ceil(upper / (ppb * ppb));
    }
    res -= meta;
  }
  return Math.min(res * blockSize, Number.MAX_SAFE_INTEGER);
}

export class Ext2Fs implements FileSystem, BmapFs {
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly firstDataBlock: number;
  readonly inodeFeatures: InodeFeatures;
  /** Directory entries carry file types. */
  readonly filetype: boolean;
  /** Hash-tree indexes may be used for lookups. */
  readonly dirIndex: boolean;
  readonly unsignedHash: boolean;
  readonly seed: [number, number, number, number];
  readonly dirNlink: boolean;
  /** Largest file size the block map allows. */
  readonly maxFileSize: number;
  /** Inode table tails may be unused per group (uninit_bg / metadata_csum). */
  private readonly itableUnusedValid: boolean;
  readonly stats: Ext2Stats = { htreeLookups: 0, linearLookups: 0, htreeFallbacks: 0, indexedLookups: 0, htreeCleared: 0 };
  private readonly sectorsPerBlock: number;
  private readonly groups = new Map<number, GroupInfo>();
  private readonly bc: BufCache;
  private closed = false;

  /** Mounted read-write (writes allowed). */
  writable = false;
  /** The allocator (read-write mounts). */
  alloc: Allocator | null = null;
  /** Every group, loaded at a read-write mount. */
  groupStates: GroupState[] = [];
  /** s_state when mounted (restored at unmount). */
  private mountState = 0;
  /** Vnodes whose inode has unwritten changes (atime). */
  readonly dirtyVnodes = new Set<Ext2Vnode>();
  /** Inodes being written back by a reclaim (readInode serves these, not the older disk copy). */
  private readonly pendingInodes = new Map<number, Inode>();
  private rng = 0;

  constructor(
    readonly kernel: Kernel,
    readonly mp: Mount,
    readonly dev: BlockDevice,
    readonly from: string,
    readonly sb: Superblock,
    readonly geo: Geometry,
  ) {
    this.blockSize = geo.blockSize;
    this.blocksCount = geo.blocksCount;
    this.firstDataBlock = geo.firstDataBlock;
    this.sectorsPerBlock = geo.blockSize / DEV_BSIZE;
    this.filetype = (geo.incompat & INCOMPAT_FILETYPE) !== 0;
    this.dirIndex = (geo.compat & COMPAT_DIR_INDEX) !== 0;
    this.unsignedHash = (sb.s_flags & EXT2_FLAGS_UNSIGNED_HASH) !== 0;
    this.seed = hashSeed(sb);
    this.dirNlink = (geo.roCompat & RO_COMPAT_DIR_NLINK) !== 0;
    this.itableUnusedValid = (geo.roCompat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM)) !== 0;
    this.inodeFeatures = {
      hugeFile: (geo.roCompat & RO_COMPAT_HUGE_FILE) !== 0,
      largeDir: (geo.incompat & INCOMPAT_LARGEDIR) !== 0,
      is64bit: (geo.incompat & INCOMPAT_64BIT) !== 0,
      blockSize: geo.blockSize,
    };
    this.maxFileSize = indirectMaxFileSize(geo.blockSize, this.inodeFeatures.hugeFile);
    this.bc = kernel.vfs!.devsw.bufcache;
  }

  /** Mount: open the device, read and check the superblock, check the root directory. */
  static async mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<Ext2Fs> {
    const a = parseExt2Args(args.data);
    const rw = (args.flags & MNT_RDONLY) === 0;
    const dev = await openBlockDevice(k, l, a.fspec, (rw ? O_RDWR : O_RDONLY) | O_EXCL);
    try {
      const fs = await Ext2Fs.open(k, mp, dev, a.fspec, rw);
      const root = await fs.vget(EXT2_ROOT_INO).catch((e: unknown) => { throw asIoError(e, `ext2fs: ${a.fspec}: root directory`); });
      if (root.type !== VDIR) throw new KernelError('EFTYPE', `ext2fs: ${a.fspec}: the root inode (2) is not a directory`);
      if (rw) {
        const why = await fs.whyNotWritable();
        if (why !== null) {
          k.printf(`ext2fs: ${a.fspec}: ${why}; mounted read-only\n`);
          mp.flags |= MNT_RDONLY;
        } else {
          await fs.startWriting();
        }
      }
      return fs;
    } catch (e) {
      await dev.close().catch(() => undefined);
      throw e;
    }
  }

  /** Read and check the superblock of `dev`; EFTYPE naming the field or feature that prevents mounting. */
  static async open(k: Kernel, mp: Mount, dev: BlockDevice, name: string, rw = false): Promise<Ext2Fs> {
    const sbBytes = new Uint8Array(SUPERBLOCK_SIZE);
    const got = dev.size >= SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE ? await dev.read(sbBytes, SUPERBLOCK_OFFSET) : 0;
    if (got < SUPERBLOCK_SIZE) throw new KernelError('EFTYPE', `ext2fs: ${name}: the device (${dev.size} bytes) is too small to hold an ext2 superblock`);
    let sb: Superblock;
    let geo: Geometry;
    try {
      sb = parseSuperblock(sbBytes);
      geo = superblockGeometry(sb, dev.size);
    } catch (e) {
      if (e instanceof KernelError) throw new KernelError(e.code, `ext2fs: ${name}: ${e.detail ?? e.message}`);
      throw e;
    }
    if ((geo.incompat & INCOMPAT_JOURNAL_DEV) !== 0) {
      throw new KernelError('EFTYPE', `ext2fs: ${name}: this is an external ext3/ext4 journal device (feature journal_dev), not a file system`);
    }
    if ((geo.incompat & INCOMPAT_RECOVER) !== 0) {
      throw new KernelError('EFTYPE', `ext2fs: ${name}: the journal needs recovery (feature needs_recovery): the file system was not cleanly unmounted; replay the journal with e2fsck or by mounting it in Linux first`);
    }
    const unsupported = geo.incompat & ~INCOMPAT_READ_SUPP;
    if (unsupported !== 0) {
      throw new KernelError('EFTYPE', `ext2fs: ${name}: unsupported incompatible feature(s): ${incompatNames(unsupported).join(', ')}`);
    }
    if ((sb.s_state & EXT2_VALID_FS) === 0 || (sb.s_state & EXT2_ERROR_FS) !== 0) {
      k.printf(`ext2fs: ${name}: file system ${(sb.s_state & EXT2_ERROR_FS) !== 0 ? 'has errors' : 'was not cleanly unmounted'}; run fsck${rw ? '' : ' (mounted read-only)'}\n`);
    }
    return new Ext2Fs(k, mp, dev, name, sb, geo);
  }

  /* ---- read-write state --------------------------------------------------------------------- */

  /** Why this image cannot be mounted read-write (a sentence naming the feature), or null. */
  async whyNotWritable(): Promise<string | null> {
    const g = this.geo;
    const bad = [...incompatNames(g.incompat & ~INCOMPAT_WRITE_SUPP), ...roCompatNames(g.roCompat & ~RO_COMPAT_WRITE_SUPP)];
    if (bad.length > 0) return `feature${bad.length > 1 ? 's' : ''} ${bad.join(', ')} cannot be written by ext2fs`;
    if (this.sb.s_last_orphan !== 0) return `the orphan inode list is not empty (inode ${this.sb.s_last_orphan}); run fsck`;
    if ((this.dev.unit ?? this.dev).readonly === true) return 'the device is read-only';
    if ((g.compat & COMPAT_HAS_JOURNAL) !== 0 && this.sb.s_journal_inum !== 0) {
      const why = await this.journalNotClean().catch((e: unknown) => `the journal cannot be checked (${e instanceof Error ? e.message : String(e)})`);
      if (why !== null) return why;
    }
    return null;
  }

  /** Null when the internal journal is empty (s_start 0); else why not. */
  private async journalNotClean(): Promise<string | null> {
    const ino = this.sb.s_journal_inum;
    const inode = await this.readInode(ino);
    const run = await this.bmap(ino, inode, 0, 1);
    if (run.pblk === 0) return `the journal (inode ${ino}) has no superblock`;
    return this.withBlock(run.pblk, `journal inode ${ino} superblock`, (b) => {
      const dv = view(b);
      if (dv.getUint32(0, false) !== JBD2_MAGIC) return `the journal (inode ${ino}) has a bad magic number`;
      const start = dv.getUint32(0x1c, false);
      return start === 0 ? null : `the journal (inode ${ino}) is not empty (s_start ${start}); replay it with e2fsck or Linux first`;
    });
  }

  /** Go read-write: load every group, start the allocator, mark the superblock not clean. */
  private async startWriting(): Promise<void> {
    const geo = this.geo;
    const states: GroupState[] = [];
    for (let b = 0; b * geo.descPerBlock < geo.groupCount; b++) {
      const dblk = descriptorBlock(this.sb, geo, b);
      await this.withBlock(dblk, `group descriptor block ${b}`, (blk) => {
        for (let i = 0; i < geo.descPerBlock; i++) {
          const g = b * geo.descPerBlock + i;
          if (g >= geo.groupCount) break;
          const gd = parseGroupDesc(blk, i * geo.descSize, geo.descSize);
          const gi = groupInfo(gd);
          try {
            checkGroupInfo(gi, g, geo);
          } catch (e) {
            throw asIoError(e, this.from);
          }
          const start = geo.firstDataBlock + g * geo.blocksPerGroup;
          states.push({ gd, gi, dirty: false, start, nblocks: Math.min(geo.blocksPerGroup, geo.blocksCount - start) });
        }
      });
    }
    this.groupStates = states;
    for (let g = 0; g < states.length; g++) this.groups.set(g, states[g]!.gi);
    this.alloc = new Allocator(this);
    const seed = new Uint8Array(4);
    this.kernel.host.getrandom(seed);
    this.rng = view(seed).getUint32(0, true) | 1;
    this.mountState = this.sb.s_state;
    this.writable = true;
    const sb = this.sb;
    sb.s_state = (sb.s_state & ~EXT2_VALID_FS) & 0xffff;
    sb.s_mnt_count = (sb.s_mnt_count + 1) & 0xffff;
    [sb.s_mtime, sb.s_mtime_hi] = splitSbTime(this.now().sec);
    if (sb.s_max_mnt_count !== 0 && sb.s_max_mnt_count < 0x8000 && sb.s_mnt_count >= sb.s_max_mnt_count) {
      this.kernel.printf(`ext2fs: ${this.from}: maximal mount count reached, running fsck is recommended\n`);
    }
    await this.writeSuper(true);
  }

  /** Stop writing (unmount or a read-only update): write everything, with the state as at mount. */
  private async stopWriting(): Promise<void> {
    await this.sync(true, true);
    this.writable = false;
    this.alloc = null;
  }

  /** A console message about this file system. */
  warn(msg: string): void {
    this.kernel.printf(`ext2fs: ${msg}\n`);
  }

  /** A pseudo-random 32-bit number (xorshift; for generation numbers and Orlov's starting group). */
  random32(): number {
    let x = this.rng || 0x9e3779b9;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.rng = x;
    return x;
  }

  /** The current time for inode timestamps. */
  now(): InodeTime {
    const ms = this.kernel.now();
    let sec = Math.floor(ms / 1000);
    let nsec = Math.round((ms - sec * 1000) * 1e6);
    if (nsec >= 1e9) {
      sec++;
      nsec -= 1e9;
    }
    return { sec, nsec };
  }

  /** EROFS unless writable. */
  checkWritable(what: string): void {
    if (!this.writable || this.mp.rdonly) throw new KernelError('EROFS', `${what}: ${this.mp.onName} (ext2fs on ${this.from}) is read-only`);
  }

  /**
   * A file is about to exceed 2 GiB: set large_file (upgrading a revision 0 superblock to
   * revision 1 first, as Linux does). Written with the superblock at the next sync.
   */
  noteLargeFile(): void {
    if ((this.sb.s_feature_ro_compat & RO_COMPAT_LARGE_FILE) !== 0 && this.sb.s_rev_level !== 0) return;
    upgradeToDynamicRev(this.sb);
    this.sb.s_feature_ro_compat |= RO_COMPAT_LARGE_FILE;
  }

  /* ---- FileSystem --------------------------------------------------------------------------- */

  root(): Promise<Vnode> {
    return this.vget(EXT2_ROOT_INO);
  }

  statvfs(): FsStat {
    const g = this.geo;
    const overhead = this.overheadBlocks();
    const blocks = Math.max(0, g.blocksCount - overhead);
    const bfree = Math.min(blocks, this.alloc?.freeBlocks ?? g.freeBlocks);
    const ffree = this.alloc?.freeInodes ?? this.sb.s_free_inodes_count;
    return {
      bsize: g.blockSize,
      frsize: g.blockSize,
      iosize: g.blockSize,
      blocks,
      bfree,
      bavail: Math.max(0, bfree - g.reservedBlocks),
      bresvd: g.reservedBlocks,
      files: g.inodesCount,
      ffree,
      favail: ffree,
      fresvd: 0,
      namemax: 255,
    };
  }

  /** Blocks used by the file system's own structures (NetBSD's ext2fs_statvfs overhead, or s_overhead_clusters). */
  private overheadBlocks(): number {
    const g = this.geo;
    if (this.sb.s_overhead_clusters !== 0) return this.sb.s_overhead_clusters * g.clusterRatio;
    const withSuper = groupsWithSuper(this.sb, g);
    const gdt = (g.incompat & INCOMPAT_META_BG) !== 0 ? 0 : g.gdtBlocks + this.sb.s_reserved_gdt_blocks;
    return g.firstDataBlock + withSuper * (1 + gdt) + g.groupCount * (2 + g.inodeTableBlocks);
  }

  /**
   * VFS_SYNC: write unwritten inode changes, the group descriptors and the superblock (free
   * counts, s_wtime; `final`: the state as at mount) through the buffer cache, then write back
   * every dirty buffer of the device and flush it.
   */
  async sync(_wait: boolean, final = false): Promise<void> {
    if (!this.writable) return;
    for (const vp of [...this.dirtyVnodes]) await vp.flushInode();
    const alloc = this.alloc!;
    if (!alloc.lock.tryEnter()) await alloc.lock.enter();
    try {
      await this.writeGroupDescs();
      const sb = this.sb;
      setSuperblockFreeBlocks(sb, alloc.freeBlocks, this.inodeFeatures.is64bit);
      sb.s_free_inodes_count = alloc.freeInodes;
      [sb.s_wtime, sb.s_wtime_hi] = splitSbTime(this.now().sec);
      if (final) sb.s_state = this.mountState | (sb.s_state & EXT2_ERROR_FS);
      await this.writeSuper(false);
    } finally {
      alloc.lock.exit();
    }
    await this.bc.bflush(this.dev);
  }

  async update(flags: number, _data: unknown): Promise<void> {
    const rdonly = (flags & MNT_RDONLY) !== 0;
    if (rdonly && this.writable) {
      await this.stopWriting();
    } else if (!rdonly && !this.writable) {
      const why = await this.whyNotWritable();
      if (why !== null) throw new KernelError('EROFS', `ext2fs: ${this.from}: ${why}`);
      await this.startWriting();
    }
  }

  async unmount(_force: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.writable) await this.stopWriting();
    } catch (e) {
      this.kernel.printf(`ext2fs: ${this.from}: writing the file system state at unmount failed: ${e instanceof Error ? e.message : String(e)}\n`);
    } finally {
      this.groups.clear();
      await this.dev.close();
    }
  }

  /** Write the primary superblock (backups are left alone); `now` writes it through at once. */
  private async writeSuper(now: boolean): Promise<void> {
    const bs = this.blockSize;
    const blk = Math.floor(SUPERBLOCK_OFFSET / bs);
    const off = SUPERBLOCK_OFFSET % bs;
    const bytes = emitSuperblock(this.sb);
    const bp = await this.bc.bread(this.dev, blk * this.sectorsPerBlock, bs);
    bp.data.set(bytes, off);
    if (now) await this.bc.bwrite(bp);
    else this.bc.bdwrite(bp);
  }

  /** Write the changed group descriptors into their descriptor blocks. */
  private async writeGroupDescs(): Promise<void> {
    const geo = this.geo;
    const byBlock = new Map<number, number[]>();
    this.groupStates.forEach((gs, g) => {
      if (!gs.dirty) return;
      const b = Math.floor(g / geo.descPerBlock);
      const list = byBlock.get(b);
      if (list === undefined) byBlock.set(b, [g]);
      else list.push(g);
    });
    for (const [b, list] of byBlock) {
      await this.editBlock(descriptorBlock(this.sb, geo, b), `group descriptor block ${b}`, (blk) => {
        for (const g of list) {
          const gs = this.groupStates[g]!;
          setGroupInfo(gs.gd, gs.gi);
          blk.set(emitGroupDesc(gs.gd), (g % geo.descPerBlock) * geo.descSize);
          gs.dirty = false;
        }
        return true;
      });
    }
  }

  /* ---- blocks ------------------------------------------------------------------------------- */

  /** EIO unless `pblk` is a block of the file system. */
  checkBlock(pblk: number, what: string): void {
    if (!Number.isSafeInteger(pblk) || pblk < this.firstDataBlock || pblk >= this.blocksCount || pblk === 0) {
      throw new KernelError('EIO', `${this.from}: ${what}: block ${pblk} is outside the file system (${this.blocksCount} blocks)`);
    }
  }

  /** Run `fn` on block `pblk` held in the buffer cache (the bytes are valid only during `fn`). */
  async withBlock<T>(pblk: number, what: string, fn: (b: Uint8Array) => T): Promise<T> {
    this.checkBlock(pblk, what);
    const bp = await this.bc.bread(this.dev, pblk * this.sectorsPerBlock, this.blockSize);
    try {
      return fn(bp.data);
    } finally {
      this.bc.brelse(bp);
    }
  }

  /**
   * Read block `pblk`, let `fn` change it in place, and write it back later (bdwrite) if `fn`
   * returns true (else release it unchanged). `fn` must not keep the bytes.
   */
  async editBlock(pblk: number, what: string, fn: (b: Uint8Array) => boolean): Promise<void> {
    this.checkBlock(pblk, what);
    const bp = await this.bc.bread(this.dev, pblk * this.sectorsPerBlock, this.blockSize);
    let changed = false;
    try {
      changed = fn(bp.data);
    } finally {
      if (changed) this.bc.bdwrite(bp);
      else this.bc.brelse(bp);
    }
  }

  /** Fill block `pblk` without reading it: `fn` gets a zeroed buffer; written back later. */
  async fillBlock(pblk: number, what: string, fn: (b: Uint8Array) => void): Promise<void> {
    this.checkBlock(pblk, what);
    const bp = await this.bc.getblk(this.dev, pblk * this.sectorsPerBlock, this.blockSize);
    try {
      bp.data.fill(0);
      fn(bp.data);
    } catch (e) {
      this.bc.binvalBuf(bp);
      throw e;
    }
    this.bc.bdwrite(bp);
  }

  /** Replace block `pblk` by `src` (a whole block) without reading it; written back later. */
  async overwriteBlock(pblk: number, what: string, src: Uint8Array): Promise<void> {
    this.checkBlock(pblk, what);
    const bp = await this.bc.getblk(this.dev, pblk * this.sectorsPerBlock, this.blockSize);
    bp.data.set(src);
    this.bc.bdwrite(bp);
  }

  /**
   * Write whole blocks `src` at block `pblk` straight to the device (bypassing the cache), then
   * bring any buffer the cache holds for them up to date and dirty, so that no older copy (a
   * read-ahead in flight, a dirty buffer of a freed block) can be read or reach the device later.
   */
  async writeDirect(pblk: number, src: Uint8Array, what: string): Promise<void> {
    const bs = this.blockSize;
    const n = Math.ceil(src.length / bs);
    this.checkBlock(pblk, what);
    this.checkBlock(pblk + n - 1, what);
    const unit = this.dev.unit ?? this.dev;
    const done = await unit.write(src, pblk * bs);
    if (done < src.length) throw new KernelError('EIO', `${this.from}: ${what}: short write of ${src.length} bytes at block ${pblk}`);
    for (let i = 0; i < n; i++) {
      const blkno = (pblk + i) * this.sectorsPerBlock;
      if (!this.bc.holds(this.dev, blkno)) continue;
      const bp = await this.bc.getblk(this.dev, blkno, bs);
      bp.data.set(src.subarray(i * bs, (i + 1) * bs));
      this.bc.bdwrite(bp);
    }
  }

  /** A copy of metadata block `pblk`. */
  readMeta(pblk: number, what: string): Promise<Uint8Array> {
    return this.withBlock(pblk, what, (b) => b.slice());
  }

  /**
   * Read `dst.length` bytes (whole blocks) at block `pblk` straight from the device, bypassing
   * the cache, except for blocks the cache holds (possibly newer than the device) on a
   * read-write mount, which are copied from it.
   */
  async readDirect(dst: Uint8Array, pblk: number, what: string): Promise<void> {
    const bs = this.blockSize;
    const nblk = Math.ceil(dst.length / bs);
    this.checkBlock(pblk, what);
    this.checkBlock(pblk + nblk - 1, what);
    let i = 0;
    while (i < nblk) {
      let j = i;
      if (this.writable) while (j < nblk && !this.bc.incore(this.dev, (pblk + j) * this.sectorsPerBlock)) j++;
      else j = nblk;
      if (j > i) {
        const part = dst.subarray(i * bs, Math.min(dst.length, j * bs));
        const n = await this.dev.read(part, (pblk + i) * bs);
        if (n < part.length) throw new KernelError('EIO', `${this.from}: ${what}: short read of ${part.length} bytes at block ${pblk + i}`);
        i = j;
        continue;
      }
      const at = i * bs;
      await this.withBlock(pblk + i, what, (b) => dst.set(b.subarray(0, Math.min(bs, dst.length - at)), at));
      i++;
    }
  }

  bmap(ino: number, inode: Inode, lblk: number, max: number): Promise<MapRun> {
    return bmapRun(this, ino, inode, lblk, max);
  }

  /* ---- groups and inodes -------------------------------------------------------------------- */

  async group(g: number): Promise<GroupInfo> {
    const cached = this.groups.get(g);
    if (cached !== undefined) return cached;
    const geo = this.geo;
    const dblk = descriptorBlock(this.sb, geo, Math.floor(g / geo.descPerBlock));
    const off = (g % geo.descPerBlock) * geo.descSize;
    const gi = await this.withBlock(dblk, `group ${g} descriptor`, (b) => groupInfo(parseGroupDesc(b, off, geo.descSize)));
    try {
      checkGroupInfo(gi, g, geo);
    } catch (e) {
      throw asIoError(e, this.from);
    }
    this.groups.set(g, gi);
    return gi;
  }

  /** Where inode `ino` lives: its inode table block and byte offset there. */
  private async inodeLocation(ino: number): Promise<{ blk: number; off: number; g: number }> {
    const geo = this.geo;
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > geo.inodesCount) {
      throw new KernelError('EIO', `${this.from}: inode ${ino} is out of range (1..${geo.inodesCount})`);
    }
    const g = Math.floor((ino - 1) / geo.inodesPerGroup);
    const index = (ino - 1) % geo.inodesPerGroup;
    const gi = await this.group(g);
    if (this.itableUnusedValid && ((gi.flags & EXT2_BG_INODE_UNINIT) !== 0 || index >= geo.inodesPerGroup - gi.itableUnused)) {
      throw new KernelError('EIO', `${this.from}: inode ${ino} is in the unused part of group ${g}'s inode table`);
    }
    const byteOff = index * geo.inodeSize;
    const tblk = Math.floor(byteOff / geo.blockSize);
    // inodes are mostly visited in order (ls -l, new files): start reading the next table blocks
    for (let i = 1; i <= 2 && tblk + i < geo.inodeTableBlocks; i++) {
      const next = (gi.inodeTable + tblk + i) * this.sectorsPerBlock;
      if (!this.bc.holds(this.dev, next)) this.bc.prefetch(this.dev, next, geo.blockSize);
    }
    return { blk: gi.inodeTable + tblk, off: byteOff % geo.blockSize, g };
  }

  /** Read inode `ino` (EIO if it is out of range, unused or impossible). */
  async readInode(ino: number): Promise<Inode> {
    const pending = this.pendingInodes.get(ino);
    if (pending !== undefined) return parseInode(emitInode(pending), 0, this.geo.inodeSize);
    const { blk, off } = await this.inodeLocation(ino);
    try {
      return await this.withBlock(blk, `inode ${ino}`, (b) => parseInode(b, off, this.geo.inodeSize));
    } catch (e) {
      throw asIoError(e, `${this.from}: inode ${ino}`);
    }
  }

  /**
   * Does the on-disk inode `ino` look in use (links, a mode and no deletion time)? For the
   * allocator's sanity check of a number its bitmap calls free; false if it cannot be read.
   */
  async inodeLooksUsed(ino: number): Promise<boolean> {
    if (this.pendingInodes.has(ino)) return true;
    try {
      const { blk, off } = await this.inodeLocation(ino);
      return await this.withBlock(blk, `inode ${ino}`, (b) => {
        const dv = view(b);
        return dv.getUint16(off + 0x1a, true) !== 0 && dv.getUint16(off, true) !== 0 && dv.getUint32(off + 0x14, true) === 0;
      });
    } catch {
      return false;
    }
  }

  /**
   * Write inode `ino` into its inode table block (delayed write). The bytes are taken from
   * `inode` when the block is in hand, so of two writes in flight the later state wins.
   */
  async writeInode(ino: number, inode: Inode): Promise<void> {
    const { blk, off } = await this.inodeLocation(ino);
    await this.editBlock(blk, `inode ${ino}`, (b) => {
      b.set(emitInode(inode), off);
      return true;
    });
  }

  /**
   * Write back an inode whose vnode is leaving the cache; until the write is done, readInode
   * answers from `inode` (a new vnode for it must not read the older disk copy).
   */
  async writeInodeReclaimed(ino: number, inode: Inode): Promise<void> {
    this.pendingInodes.set(ino, inode);
    try {
      await this.writeInode(ino, inode);
    } finally {
      if (this.pendingInodes.get(ino) === inode) this.pendingInodes.delete(ino);
    }
  }

  /** The vnode of inode `ino` (from the vnode cache, or read now). */
  async vget(ino: number): Promise<Ext2Vnode> {
    const vc = this.kernel.vfs!.vcache;
    const cached = vc.get(this.mp, ino);
    if (cached !== undefined) return cached as Ext2Vnode;
    const inode = await this.readInode(ino);
    const again = vc.get(this.mp, ino);
    if (again !== undefined) return again as Ext2Vnode;
    const vp = makeVnode(this, ino, inode);
    return vc.insert(vp) as Ext2Vnode;
  }

  /** Put a vnode made for a new inode into the vnode cache. */
  insertVnode(vp: Ext2Vnode): Ext2Vnode {
    return this.kernel.vfs!.vcache.insert(vp) as Ext2Vnode;
  }
}

/** How many groups hold a superblock backup (group 0 included), without visiting every group. */
export function groupsWithSuper(sb: Superblock, g: Geometry): number {
  if ((g.compat & COMPAT_SPARSE_SUPER2) !== 0) {
    const set = new Set([0, sb.s_backup_bgs0, sb.s_backup_bgs1].filter((x) => x < g.groupCount));
    return set.size;
  }
  if ((g.roCompat & RO_COMPAT_SPARSE_SUPER) === 0) return g.groupCount;
  let n = Math.min(g.groupCount, 2); // groups 0 and 1
  for (const base of [3, 5, 7]) for (let p = base; p < g.groupCount; p *= base) n++;
  return n;
}
