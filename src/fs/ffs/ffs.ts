/**
 * A mounted FFS (UFS1 or UFS2, either byte order), read-only for now: superblock search and
 * checks, the summary area, cylinder group headers, inode reads, metadata through the buffer
 * cache, and the vnode factory.
 *
 * Mounting looks for a superblock at each of SBLOCKSEARCH's offsets (64 KiB, 8 KiB, 0, 256 KiB),
 * takes the first that passes every geometry check against the device size (superblock.ts),
 * reads and checks the cylinder group summaries, and checks that inode 2 is a directory. It
 * refuses a file system whose WAPBL log may hold transactions (not clean), and warns about one
 * not cleanly unmounted or carrying flags it does not know. A mount without MNT_RDONLY fails with
 * EROFS: writing is not there yet.
 *
 * Corruption found after mount (an inode, cylinder group, directory block or block pointer that
 * makes no sense) fails the operation with EIO naming the structure. Memory: every allocation is
 * a block, an inode, the summary area (bounded by the superblock checks), or the caller's buffer.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { MNT_RDONLY, O_EXCL, O_RDONLY } from '../../kern/types.js';
import { openBlockDevice, parseDiskMountArgs, DEV_BSIZE, type BlockDevice, type DiskMountArgs } from '../../vfs/blockdev.js';
import type { BufCache } from '../../vfs/bufcache.js';
import type { FileSystem, FsStat, Mount, MountArgs } from '../../vfs/mount.js';
import { VDIR, type Vnode } from '../../vfs/vnode.js';
import { bmapRun, maxMappedBlocks, type BmapFs, type MapRun } from './bmap.js';
import { checkCg, parseCg } from './cg.js';
import { asIoError, howmany } from './codec.js';
import { checkCsum, parseCsumArray, type Csum } from './csum.js';
import { inodeView, parseDinode, UFS_NDADDR, UFS_ROOTINO, type Inode } from './dinode.js';
import {
  FS_DOSOFTDEP, FS_DOWAPBL, FS_FLAGS_UPDATED, FS_ISCLEAN, FS_MULTILABEL, FS_NEEDSFSCK, FS_NFS4ACLS, FS_POSIX1EACLS,
  FS_DOQUOTA2, FS_SUJ, FS_TRIM, FS_UNCLEAN, SBLOCKSEARCH, SBLOCKSIZE, SBLOCK_STRUCT_SIZE, SBLOCK_UFS2, cgtod,
  detectMagic, fsFlagNames, inoToCg, inoToFsba, inoToFsbo, parseSuperblock, superblockGeometry, type Geometry, type Superblock,
} from './superblock.js';
import { makeVnode, type FfsVnode } from './vnode.js';

export type FfsArgs = DiskMountArgs;

/** fs_flags a read-only mount reads without remark. */
export const FS_FLAGS_READ_OK = FS_DOSOFTDEP | FS_DOWAPBL | FS_DOQUOTA2 | FS_POSIX1EACLS | FS_NFS4ACLS | FS_MULTILABEL
  | FS_TRIM | FS_FLAGS_UPDATED | FS_UNCLEAN | FS_NEEDSFSCK | FS_SUJ;

/** Check ffs mount data; EINVAL naming what is wrong. */
export function parseFfsArgs(data: unknown): FfsArgs {
  return parseDiskMountArgs('ffs', data);
}

/** A superblock found on a device, with its checked geometry. */
export interface FoundSuperblock {
  sb: Superblock;
  geo: Geometry;
  /** Byte offset it was found at. */
  location: number;
}

/**
 * Look for the superblock at SBLOCKSEARCH's offsets, as NetBSD's ffs_mountfs does: the first
 * candidate whose geometry checks out wins. A superblock counts only where its fs_sblockloc says
 * it belongs (otherwise it is a copy, or an image stored in a file), and an old UFS1 one, which
 * has no fs_sblockloc, not at 64 KiB (there it is the first group's copy in a file system of 64
 * KiB blocks). EFTYPE naming what was wrong with the candidates when none is usable.
 */
export async function findSuperblock(dev: BlockDevice, name: string): Promise<FoundSuperblock> {
  const problems: string[] = [];
  for (const loc of SBLOCKSEARCH) {
    if (loc + SBLOCK_STRUCT_SIZE > dev.size) continue;
    const bytes = new Uint8Array(Math.min(SBLOCKSIZE, dev.size - loc));
    const got = await dev.read(bytes, loc);
    if (got < SBLOCK_STRUCT_SIZE || detectMagic(bytes) === null) continue;
    let sb: Superblock;
    let geo: Geometry;
    try {
      sb = parseSuperblock(bytes.subarray(0, got));
      const updated = sb.ufs === 2 || (sb.fs_old_flags & FS_FLAGS_UPDATED) !== 0;
      // an old UFS1 superblock at 64 KiB is the first group's copy in a file system of 64 KiB blocks
      if (!updated && loc === SBLOCK_UFS2) continue;
      if (updated && sb.fs_sblockloc !== BigInt(loc)) {
        problems.push(`a UFS${sb.ufs} superblock at byte ${loc} says it belongs at byte ${sb.fs_sblockloc} (a copy?)`);
        continue;
      }
      geo = superblockGeometry(sb, dev.size, loc);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'EFTYPE') {
        problems.push(`at byte ${loc}: ${e.detail ?? e.message}`);
        continue;
      }
      throw e;
    }
    if (got < geo.sbsize) {
      problems.push(`at byte ${loc}: fs_sbsize ${geo.sbsize} runs past the end of the device`);
      continue;
    }
    return { sb, geo, location: loc };
  }
  if (problems.length === 0) {
    throw new KernelError('EFTYPE', `ffs: ${name}: no FFS superblock (UFS1 magic 0x011954 or UFS2 magic 0x19540119) at byte ${SBLOCKSEARCH.join(', ')}`);
  }
  throw new KernelError('EFTYPE', `ffs: ${name}: no usable superblock: ${problems.join('; ')}`);
}

/** What is known of a cylinder group once its header was read and checked. */
interface CgState {
  /** UFS2: inodes of the group that were ever initialised (cg_initediblk); UFS1: fs_ipg. */
  initedInodes: number;
}

export class Ffs implements FileSystem, BmapFs {
  readonly bsize: number;
  readonly fsize: number;
  readonly frag: number;
  readonly nindir: number;
  readonly nfrags: number;
  readonly le: boolean;
  readonly ufs: 1 | 2;
  /** Largest file size the block map can address. */
  readonly maxFileSize: number;
  /** The per-group summaries read at mount. */
  readonly csums: readonly Csum[];
  private readonly sectorsPerFrag: number;
  private readonly cgs = new Map<number, CgState>();
  private readonly bc: BufCache;
  private closed = false;

  constructor(
    readonly kernel: Kernel,
    readonly mp: Mount,
    readonly dev: BlockDevice,
    readonly from: string,
    readonly sb: Superblock,
    readonly geo: Geometry,
    csums: Csum[],
  ) {
    this.bsize = geo.bsize;
    this.fsize = geo.fsize;
    this.frag = geo.frag;
    this.nindir = geo.nindir;
    this.nfrags = geo.size;
    this.le = geo.le;
    this.ufs = geo.ufs;
    this.maxFileSize = Math.min(Number.MAX_SAFE_INTEGER, maxMappedBlocks(geo.nindir) * geo.bsize);
    this.csums = csums;
    this.sectorsPerFrag = geo.fsize / DEV_BSIZE;
    this.bc = kernel.vfs!.devsw.bufcache;
  }

  /** Mount: open the device, find and check the superblock, read the summaries, check the root. */
  static async mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<Ffs> {
    const a = parseFfsArgs(args.data);
    if ((args.flags & MNT_RDONLY) === 0) {
      throw new KernelError('EROFS', `ffs: ${a.fspec}: writing is not supported yet; mount it read-only (MNT_RDONLY)`);
    }
    const dev = await openBlockDevice(k, l, a.fspec, O_RDONLY | O_EXCL);
    try {
      const fs = await Ffs.open(k, mp, dev, a.fspec);
      const root = await fs.vget(UFS_ROOTINO).catch((e: unknown) => { throw asIoError(e, `ffs: ${a.fspec}: root directory`); });
      if (root.type !== VDIR) throw new KernelError('EFTYPE', `ffs: ${a.fspec}: the root inode (2) is not a directory`);
      return fs;
    } catch (e) {
      await dev.close().catch(() => undefined);
      throw e;
    }
  }

  /** Find and check the superblock and summaries of `dev`; EFTYPE naming what prevents mounting. */
  static async open(k: Kernel, mp: Mount, dev: BlockDevice, name: string): Promise<Ffs> {
    const { sb, geo } = await findSuperblock(dev, name);
    const clean = (geo.clean & FS_ISCLEAN) !== 0;
    if ((geo.flags & FS_DOWAPBL) !== 0 && !clean) {
      throw new KernelError('EFTYPE', `ffs: ${name}: the file system has a WAPBL log (FS_DOWAPBL) and was not cleanly unmounted (fs_clean 0x${geo.clean.toString(16)}): the log may need replay, which is not supported; replay it by mounting it on NetBSD or run fsck_ffs`);
    }
    const unknown = geo.flags & ~FS_FLAGS_READ_OK;
    if (unknown !== 0) k.printf(`ffs: ${name}: unknown fs_flags ${fsFlagNames(unknown).join(', ')}; mounted read-only\n`);
    if (!clean) {
      const sd = (geo.flags & (FS_DOSOFTDEP | FS_SUJ)) !== 0 ? ' (soft dependency state may be pending)' : '';
      k.printf(`ffs: ${name}: file system was not cleanly unmounted${sd}; mounted read-only, run fsck_ffs\n`);
    }
    // the summary area (bounded: fs_cssize <= fs_ncg * 16 + fs_bsize, checked against the device)
    const csBytes = new Uint8Array(howmany(geo.cssize, geo.fsize) * geo.fsize);
    const got = await dev.read(csBytes, geo.csaddr * geo.fsize);
    if (got < geo.cssize) throw new KernelError('EFTYPE', `ffs: ${name}: short read of the cylinder group summary area at fragment ${geo.csaddr}`);
    let csums: Csum[];
    try {
      csums = parseCsumArray(csBytes, geo.ncg, geo.le);
      csums.forEach((cs, c) => checkCsum(cs, c, geo));
    } catch (e) {
      if (e instanceof KernelError) throw new KernelError(e.code, `ffs: ${name}: ${e.detail ?? e.message}`);
      throw e;
    }
    return new Ffs(k, mp, dev, name, sb, geo, csums);
  }

  /* ---- FileSystem --------------------------------------------------------------------------- */

  root(): Promise<Vnode> {
    return this.vget(UFS_ROOTINO);
  }

  /** NetBSD's ffs_statvfs: sizes in fragments, free space from the superblock totals. */
  statvfs(): FsStat {
    const g = this.geo;
    const t = g.cstotal;
    const blocks = g.dsize;
    const bfree = Math.min(blocks, t.cs_nbfree * g.frag + t.cs_nffree + Math.floor(g.pendingblocks / this.sectorsPerFrag));
    const bresvd = Math.floor((g.dsize * g.minfree) / 100);
    const files = Math.max(0, g.maxino - UFS_ROOTINO);
    const ffree = Math.min(files, t.cs_nifree + g.pendinginodes);
    return {
      bsize: g.bsize,
      frsize: g.fsize,
      iosize: g.bsize,
      blocks,
      bfree,
      bavail: Math.max(0, bfree - bresvd),
      bresvd,
      files,
      ffree,
      favail: ffree,
      fresvd: 0,
      namemax: 255,
    };
  }

  async sync(_wait: boolean): Promise<void> {
    // read-only: nothing is ever dirty
  }

  async unmount(_force: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cgs.clear();
    await this.dev.close();
  }

  /* ---- fragments and blocks ----------------------------------------------------------------- */

  /** EIO unless fragments `p`..`p + n - 1` are inside the file system. */
  checkExtent(p: number, n: number, what: string): void {
    if (!Number.isSafeInteger(p) || p < 0 || p + n > this.nfrags) {
      throw new KernelError('EIO', `${this.from}: ${what}: fragments ${p}..${p + n - 1} are outside the file system (${this.nfrags} fragments)`);
    }
  }

  /**
   * Run `fn` on `bytes` bytes (a multiple of the fragment size, at most a block) from fragment
   * `p`, held in the buffer cache (valid only during `fn`).
   */
  async withFrags<T>(p: number, bytes: number, what: string, fn: (b: Uint8Array) => T): Promise<T> {
    this.checkExtent(p, bytes / this.fsize, what);
    const bp = await this.bc.bread(this.dev, p * this.sectorsPerFrag, bytes);
    try {
      return fn(bp.data);
    } finally {
      this.bc.brelse(bp);
    }
  }

  withIndirect<T>(p: number, what: string, fn: (b: Uint8Array) => T): Promise<T> {
    return this.withFrags(p, this.bsize, what, fn);
  }

  /** Read `dst.length` bytes (whole fragments) from fragment `p` straight from the device, bypassing the cache. */
  async readDirect(dst: Uint8Array, p: number, what: string): Promise<void> {
    this.checkExtent(p, howmany(dst.length, this.fsize), what);
    const n = await this.dev.read(dst, p * this.fsize);
    if (n < dst.length) throw new KernelError('EIO', `${this.from}: ${what}: short read of ${dst.length} bytes at fragment ${p}`);
  }

  /** blksize(): bytes allocated to logical block `lblk` of a file of `size` bytes (its last direct block may be fragments). */
  blksize(size: number, lblk: number): number {
    if (lblk >= UFS_NDADDR || size >= (lblk + 1) * this.bsize) return this.bsize;
    return howmany(size - lblk * this.bsize, this.fsize) * this.fsize;
  }

  bmap(ino: number, inode: Inode, lblk: number, max: number): Promise<MapRun> {
    return bmapRun(this, ino, inode, lblk, max);
  }

  /* ---- cylinder groups and inodes ----------------------------------------------------------- */

  /** Group `c`'s header, read and checked once (EIO naming the group if it is corrupt). */
  async cg(c: number): Promise<CgState> {
    const cached = this.cgs.get(c);
    if (cached !== undefined) return cached;
    const g = this.geo;
    const bytes = howmany(g.cgsize, g.fsize) * g.fsize;
    const st = await this.withFrags(cgtod(g, c), bytes, `cylinder group ${c}`, (b) => {
      const cg = parseCg(b.subarray(0, g.cgsize), g.le, `cylinder group ${c}`);
      checkCg(cg, g, c);
      return { initedInodes: g.ufs === 2 ? cg.cg_initediblk : g.ipg };
    }).catch((e: unknown) => { throw asIoError(e, this.from); });
    this.cgs.set(c, st);
    return st;
  }

  /** Read inode `ino` (EIO if it is out of range, in a corrupt group, or never initialised). */
  async readInode(ino: number): Promise<Inode> {
    const g = this.geo;
    if (!Number.isSafeInteger(ino) || ino < UFS_ROOTINO || ino >= g.maxino) {
      throw new KernelError('EIO', `${this.from}: inode ${ino} is out of range (${UFS_ROOTINO}..${g.maxino - 1})`);
    }
    const c = inoToCg(g, ino);
    const st = await this.cg(c);
    if (ino % g.ipg >= st.initedInodes) {
      throw new KernelError('EIO', `${this.from}: inode ${ino} was never initialised (cylinder group ${c} has ${st.initedInodes} initialised inodes)`);
    }
    const off = inoToFsbo(g, ino) * g.dinodeSize;
    try {
      return await this.withFrags(inoToFsba(g, ino), g.bsize, `inode ${ino}`, (b) =>
        inodeView(parseDinode(b, off, g.ufs, g.le), { oldFormat: g.oldFormat, maxSize: this.maxFileSize }));
    } catch (e) {
      throw asIoError(e, `${this.from}: inode ${ino}`);
    }
  }

  /** The vnode of inode `ino` (from the vnode cache, or read now). */
  async vget(ino: number): Promise<FfsVnode> {
    const vc = this.kernel.vfs!.vcache;
    const cached = vc.get(this.mp, ino);
    if (cached !== undefined) return cached as FfsVnode;
    const inode = await this.readInode(ino);
    const vp = makeVnode(this, ino, inode);
    return vc.insert(vp) as FfsVnode;
  }
}
