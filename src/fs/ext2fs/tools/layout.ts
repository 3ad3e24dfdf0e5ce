/**
 * The layout of a new ext2 file system: how many groups, inodes per group, and where each
 * group's metadata goes. The arithmetic is mke2fs's (e2fsprogs ext2fs_initialize), so that for the
 * same parameters our images have the same geometry as the host's mke2fs makes:
 *
 *   - blocks per group 8 x block size; the first data block is 1 with 1 KiB blocks, else 0;
 *   - inodes = blocks x block size / bytes-per-inode (or as asked), spread over the groups,
 *     rounded up to fill whole inode table blocks, then down to a multiple of 8;
 *   - a last group too small for its own metadata plus 50 blocks is dropped;
 *   - superblock backups in every group, or with sparse_super in groups 0, 1 and powers of 3, 5
 *     and 7; each copy followed by the descriptor table; then block bitmap, inode bitmap and
 *     inode table in every group (no flex_bg, no meta_bg, no reserved GDT blocks).
 *
 * Pure: errors are KernelErrors (EINVAL for impossible parameters, ENOSPC for a device too small).
 */

import { KernelError } from '../../../kern/errno.js';
import { isPow2 } from '../codec.js';
import { EXT2_GOOD_OLD_FIRST_INO } from '../superblock.js';

export const EXT2_MIN_BLOCK_SIZE = 1024;
export const EXT2_MAX_BLOCK_SIZE = 65536;
export const EXT2_DESC_SIZE = 32;
/** Largest block count without the 64bit feature. */
export const EXT2_MAX_BLOCKS_32 = 0xffffffff;

export interface LayoutParams {
  /** Blocks of the file system (device size / block size, rounded down). */
  blocksCount: number;
  blockSize: number;
  inodeSize: number;
  /** Inodes wanted (at least this many are made); overrides `inodeRatio`. */
  inodesCount?: number;
  /** Bytes of file system per inode (mke2fs -i, newfs_ext2fs -i). */
  inodeRatio?: number;
  /** Blocks per group (default 8 x block size, the most a one-block bitmap covers). */
  blocksPerGroup?: number;
  /** Superblock backups only in groups 0, 1 and powers of 3, 5, 7. */
  sparseSuper: boolean;
  /** First non-reserved inode (11 for revision 0 and by default). */
  firstIno?: number;
}

export interface GroupLayout {
  index: number;
  /** First block of the group and number of blocks in it (the last group may be short). */
  first: number;
  blocks: number;
  /** Holds a superblock backup and a copy of the descriptor table. */
  hasSuper: boolean;
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  /** First block after the group's metadata. */
  dataStart: number;
  /** Blocks used by the group's own metadata (superblock copy, descriptors, bitmaps, inode table). */
  overhead: number;
}

export interface Layout {
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  groupCount: number;
  inodesPerGroup: number;
  inodesCount: number;
  inodeSize: number;
  inodeTableBlocks: number;
  /** Blocks of one copy of the group descriptor table. */
  descBlocks: number;
  firstIno: number;
  groups: GroupLayout[];
}

/** Does group `g` carry a superblock backup? */
export function groupHasSuperBackup(g: number, sparseSuper: boolean): boolean {
  if (g <= 1 || !sparseSuper) return true;
  if ((g & 1) === 0) return false;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < g) p *= base;
    if (p === g) return true;
  }
  return false;
}

function bad(detail: string): never {
  throw new KernelError('EINVAL', detail);
}

/** The default bytes-per-inode for a file system of `bytes` (mke2fs.conf's floppy/small/default types). */
export function defaultInodeRatio(bytes: number): number {
  if (bytes < 3 * 1024 * 1024) return 8192;
  if (bytes < 512 * 1024 * 1024) return 4096;
  return 16384;
}

/** The default block size for a file system of `bytes` (newfs_ext2fs(8): 1 KiB up to 512 MiB, else 4 KiB). */
export function defaultBlockSize(bytes: number): number {
  return bytes <= 512 * 1024 * 1024 ? 1024 : 4096;
}

/** Plan the file system. EINVAL for impossible parameters, ENOSPC if the blocks do not hold it. */
export function planLayout(p: LayoutParams): Layout {
  const bs = p.blockSize;
  if (!isPow2(bs) || bs < EXT2_MIN_BLOCK_SIZE || bs > EXT2_MAX_BLOCK_SIZE) bad(`block size ${bs} must be a power of two from 1024 to 65536`);
  if (!isPow2(p.inodeSize) || p.inodeSize < 128 || p.inodeSize > bs) bad(`inode size ${p.inodeSize} must be a power of two from 128 to the block size ${bs}`);
  if (!Number.isSafeInteger(p.blocksCount) || p.blocksCount < 0) bad(`block count ${p.blocksCount} is not a count`);
  if (p.blocksCount > EXT2_MAX_BLOCKS_32) bad(`${p.blocksCount} blocks of ${bs} bytes is too large for ext2 without the 64bit feature (at most ${EXT2_MAX_BLOCKS_32})`);
  const firstIno = p.firstIno ?? EXT2_GOOD_OLD_FIRST_INO;
  const firstDataBlock = bs === 1024 ? 1 : 0;
  let bpg = p.blocksPerGroup ?? 8 * bs;
  if (bpg < 256 || bpg > 8 * bs || bpg % 8 !== 0) bad(`blocks per group ${bpg} must be a multiple of 8 from 256 to ${8 * bs}`);
  const descPerBlock = bs / EXT2_DESC_SIZE;
  const inodesPerBlock = bs / p.inodeSize;
  const maxIpg = Math.min(8 * bs, 65536 - inodesPerBlock);
  let blocksCount = p.blocksCount;
  const tooSmall = (): never => {
    throw new KernelError('ENOSPC', `${p.blocksCount} blocks of ${bs} bytes are too few for an ext2 file system`);
  };
  if (blocksCount <= firstDataBlock + 8) tooSmall();

  for (;;) {
    const groupCount = Math.ceil((blocksCount - firstDataBlock) / bpg);
    const descBlocks = Math.ceil(groupCount / descPerBlock);
    // like mke2fs, the inode count comes from the size asked for, not from a trimmed one
    let wanted = p.inodesCount ?? Math.floor((p.blocksCount * bs) / (p.inodeRatio ?? defaultInodeRatio(p.blocksCount * bs)));
    wanted = Math.max(wanted, firstIno + 1);
    let ipg = Math.ceil(wanted / groupCount);
    if (ipg > 8 * bs) {
      if (p.blocksPerGroup === undefined && bpg >= 256 + 8) {
        bpg -= 8;
        blocksCount = p.blocksCount;
        continue;
      }
      throw new KernelError('EINVAL', `${wanted} inodes do not fit ${groupCount} groups (at most ${8 * bs} per group)`);
    }
    ipg = Math.min(ipg, maxIpg);
    // fill whole inode table blocks, then a multiple of 8
    let itb = Math.ceil((ipg * p.inodeSize) / bs);
    ipg = Math.floor((itb * bs) / p.inodeSize);
    ipg = Math.max(8, ipg & ~7);
    itb = Math.ceil((ipg * p.inodeSize) / bs);
    if (ipg * groupCount > 0xffffffff) bad(`${ipg * groupCount} inodes is more than ext2 can count`);

    const fullOverhead = 3 + itb + descBlocks;
    if (fullOverhead > bpg) throw new KernelError('EINVAL', `${ipg} inodes per group need ${itb} inode table blocks, more than a group of ${bpg} blocks holds`);
    // is the last group big enough for its metadata (and 50 blocks more)?
    const last = groupCount - 1;
    const lastOverhead = 2 + itb + (groupHasSuperBackup(last, p.sparseSuper) ? 1 + descBlocks : 0);
    const rem = (blocksCount - firstDataBlock) % bpg;
    if (groupCount === 1 && rem !== 0 && rem < lastOverhead) tooSmall();
    if (rem !== 0 && rem < lastOverhead + 50) {
      if (groupCount === 1) tooSmall();
      blocksCount -= rem;
      continue;
    }

    const groups: GroupLayout[] = [];
    for (let g = 0; g < groupCount; g++) {
      const first = firstDataBlock + g * bpg;
      const blocks = Math.min(bpg, blocksCount - first);
      const hasSuper = groupHasSuperBackup(g, p.sparseSuper);
      const meta = hasSuper ? 1 + descBlocks : 0;
      const blockBitmap = first + meta;
      groups.push({
        index: g, first, blocks, hasSuper, blockBitmap, inodeBitmap: blockBitmap + 1, inodeTable: blockBitmap + 2,
        dataStart: blockBitmap + 2 + itb, overhead: meta + 2 + itb,
      });
    }
    return {
      blockSize: bs, blocksCount, firstDataBlock, blocksPerGroup: bpg, groupCount, inodesPerGroup: ipg,
      inodesCount: ipg * groupCount, inodeSize: p.inodeSize, inodeTableBlocks: itb, descBlocks, firstIno, groups,
    };
  }
}

/** Blocks left for data (everything but the groups' metadata). */
export function dataBlocks(l: Layout): number {
  let n = 0;
  for (const g of l.groups) n += g.blocks - g.overhead;
  return n;
}
