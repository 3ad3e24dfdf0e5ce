/**
 * A mounted ext2 file system (read-only for now): the superblock and geometry, group
 * descriptors, inode reads, metadata blocks through the buffer cache, and the vnode factory.
 *
 * Mounting reads the superblock at byte 1024 of the device, checks it against the device size
 * (superblock.ts), and refuses incompatible features it cannot read (EFTYPE naming them;
 * needs_recovery with its own explanation). ro_compat features never stop a read-only mount.
 *
 * Corruption found after mount (an inode, directory block, block pointer or extent that makes no
 * sense) fails the operation with EIO naming the structure, never anything worse. Memory: every
 * allocation is a block, an inode, or the caller's own buffer; sizes read from disk are checked
 * against the file system before anything is allocated by them.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { MNT_RDONLY, O_EXCL, O_RDONLY } from '../../kern/types.js';
import { openBlockDevice, DEV_BSIZE, type BlockDevice } from '../../vfs/blockdev.js';
import type { BufCache } from '../../vfs/bufcache.js';
import type { FileSystem, FsStat, Mount, MountArgs } from '../../vfs/mount.js';
import { VDIR, type Vnode } from '../../vfs/vnode.js';
import { asIoError } from './codec.js';
import { bmapRun, type BmapFs, type MapRun } from './bmap.js';
import { checkGroupInfo, descriptorBlock, groupInfo, parseGroupDesc, EXT2_BG_INODE_UNINIT, type GroupInfo } from './group_desc.js';
import { parseInode, type Inode, type InodeFeatures } from './inode.js';
import {
  COMPAT_DIR_INDEX, EXT2_FLAGS_UNSIGNED_HASH, EXT2_ERROR_FS, EXT2_ROOT_INO, EXT2_VALID_FS,
  INCOMPAT_64BIT, INCOMPAT_CSUM_SEED, INCOMPAT_EA_INODE, INCOMPAT_EXTENTS, INCOMPAT_FILETYPE, INCOMPAT_FLEX_BG,
  INCOMPAT_JOURNAL_DEV, INCOMPAT_LARGEDIR, INCOMPAT_META_BG, INCOMPAT_MMP, INCOMPAT_RECOVER,
  RO_COMPAT_DIR_NLINK, RO_COMPAT_GDT_CSUM, RO_COMPAT_HUGE_FILE, RO_COMPAT_METADATA_CSUM,
  SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, COMPAT_SPARSE_SUPER2, RO_COMPAT_SPARSE_SUPER, hashSeed, incompatNames, parseSuperblock, superblockGeometry,
  type Geometry, type Superblock,
} from './superblock.js';
import { makeVnode, type Ext2Vnode } from './vnode.js';

/** Incompatible features a read-only mount can handle. */
export const INCOMPAT_READ_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG | INCOMPAT_EXTENTS | INCOMPAT_64BIT
  | INCOMPAT_FLEX_BG | INCOMPAT_MMP | INCOMPAT_EA_INODE | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR;

export interface Ext2Args {
  /** The block device to mount, e.g. '/dev/harddisk'. */
  fspec: string;
}

const KNOWN_ARGS = new Set(['fspec']);

/** Check ext2fs mount data; EINVAL naming what is wrong. */
export function parseExt2Args(data: unknown): Ext2Args {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new KernelError('EINVAL', 'ext2fs mount: mount data must be an object like { fspec: \'/dev/xxx\' }');
  }
  const o = data as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN_ARGS.has(key)) throw new KernelError('EINVAL', `ext2fs mount: unknown option '${key}' (ext2fs takes fspec)`);
  const fspec = o['fspec'];
  if (typeof fspec !== 'string' || fspec === '') throw new KernelError('EINVAL', 'ext2fs mount: fspec must name a block device, e.g. \'/dev/harddisk\'');
  return { fspec };
}

export interface Ext2Stats {
  /** Lookups answered through the hash tree index. */
  htreeLookups: number;
  /** Lookups done by scanning the whole directory. */
  linearLookups: number;
  /** Indexed directories whose index could not be used (unsupported hash or corrupt index). */
  htreeFallbacks: number;
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
  /** Inode tables may have an unused tail per group (uninit_bg / metadata_csum). */
  private readonly itableUnusedValid: boolean;
  readonly stats: Ext2Stats = { htreeLookups: 0, linearLookups: 0, htreeFallbacks: 0 };
  private readonly sectorsPerBlock: number;
  private readonly groups = new Map<number, GroupInfo>();
  private readonly bc: BufCache;
  private closed = false;

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
    this.bc = kernel.vfs!.devsw.bufcache;
  }

  /** Mount: open the device, read and check the superblock, check the root directory. */
  static async mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<Ext2Fs> {
    const a = parseExt2Args(args.data);
    if ((args.flags & MNT_RDONLY) === 0) {
      throw new KernelError('EROFS', `ext2fs: ${a.fspec}: writing is not supported yet; mount it read-only (MNT_RDONLY)`);
    }
    const dev = await openBlockDevice(k, l, a.fspec, O_RDONLY | O_EXCL);
    try {
      const fs = await Ext2Fs.open(k, mp, dev, a.fspec);
      const root = await fs.vget(EXT2_ROOT_INO).catch((e: unknown) => { throw asIoError(e, `ext2fs: ${a.fspec}: root directory`); });
      if (root.type !== VDIR) throw new KernelError('EFTYPE', `ext2fs: ${a.fspec}: the root inode (2) is not a directory`);
      return fs;
    } catch (e) {
      await dev.close().catch(() => undefined);
      throw e;
    }
  }

  /** Read and check the superblock of `dev`; EFTYPE naming the field or feature that prevents mounting. */
  static async open(k: Kernel, mp: Mount, dev: BlockDevice, name: string): Promise<Ext2Fs> {
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
      k.printf(`ext2fs: ${name}: file system ${(sb.s_state & EXT2_ERROR_FS) !== 0 ? 'has errors' : 'was not cleanly unmounted'}; mounted read-only, run fsck\n`);
    }
    return new Ext2Fs(k, mp, dev, name, sb, geo);
  }

  /* ---- FileSystem --------------------------------------------------------------------------- */

  root(): Promise<Vnode> {
    return this.vget(EXT2_ROOT_INO);
  }

  statvfs(): FsStat {
    const g = this.geo;
    const overhead = this.overheadBlocks();
    const blocks = Math.max(0, g.blocksCount - overhead);
    const bfree = Math.min(blocks, g.freeBlocks);
    return {
      bsize: g.blockSize,
      frsize: g.blockSize,
      iosize: g.blockSize,
      blocks,
      bfree,
      bavail: Math.max(0, bfree - g.reservedBlocks),
      bresvd: g.reservedBlocks,
      files: g.inodesCount,
      ffree: this.sb.s_free_inodes_count,
      favail: this.sb.s_free_inodes_count,
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

  async sync(_wait: boolean): Promise<void> {
    // read-only: nothing is ever dirty
  }

  async unmount(_force: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.groups.clear();
    await this.dev.close();
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

  /** A copy of metadata block `pblk`. */
  readMeta(pblk: number, what: string): Promise<Uint8Array> {
    return this.withBlock(pblk, what, (b) => b.slice());
  }

  /** Read `dst.length` bytes (whole blocks) at block `pblk` straight from the device, bypassing the cache. */
  async readDirect(dst: Uint8Array, pblk: number, what: string): Promise<void> {
    const nblk = Math.ceil(dst.length / this.blockSize);
    this.checkBlock(pblk, what);
    this.checkBlock(pblk + nblk - 1, what);
    const n = await this.dev.read(dst, pblk * this.blockSize);
    if (n < dst.length) throw new KernelError('EIO', `${this.from}: ${what}: short read of ${dst.length} bytes at block ${pblk}`);
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

  /** Read inode `ino` (EIO if it is out of range, unused or impossible). */
  async readInode(ino: number): Promise<Inode> {
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
    const blk = gi.inodeTable + Math.floor(byteOff / geo.blockSize);
    try {
      return await this.withBlock(blk, `inode ${ino}`, (b) => parseInode(b, byteOff % geo.blockSize, geo.inodeSize));
    } catch (e) {
      throw asIoError(e, `${this.from}: inode ${ino}`);
    }
  }

  /** The vnode of inode `ino` (from the vnode cache, or read now). */
  async vget(ino: number): Promise<Ext2Vnode> {
    const vc = this.kernel.vfs!.vcache;
    const cached = vc.get(this.mp, ino);
    if (cached !== undefined) return cached as Ext2Vnode;
    const inode = await this.readInode(ino);
    const vp = makeVnode(this, ino, inode);
    return vc.insert(vp) as Ext2Vnode;
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
