/**
 * Block group descriptors (struct ext4_group_desc): 32 bytes, or `s_desc_size` (64 and up) with
 * the 64bit feature, whose second half holds the high words of every field.
 *
 *   const gd = parseGroupDesc(bytes, off, descSize);
 *   groupDescLocation(gd)   // block and inode bitmaps and the inode table as whole block numbers
 *
 * Where the descriptor blocks are: right after the superblock's block (groups 0..), or with
 * meta_bg in the first blocks of each meta group; `descriptorBlock` computes it. Pure module.
 */

import { KernelError } from '../../kern/errno.js';
import { corrupt, decode, encode, need, type Field } from './codec.js';
import { INCOMPAT_META_BG, groupHasSuper, type Geometry, type Superblock } from './superblock.js';

// bg_flags
export const EXT2_BG_INODE_UNINIT = 0x0001, EXT2_BG_BLOCK_UNINIT = 0x0002, EXT2_BG_INODE_ZEROED = 0x0004;

export interface GroupDesc {
  bg_block_bitmap: number;
  bg_inode_bitmap: number;
  bg_inode_table: number;
  bg_free_blocks_count: number;
  bg_free_inodes_count: number;
  bg_used_dirs_count: number;
  bg_flags: number;
  bg_exclude_bitmap_lo: number;
  bg_block_bitmap_csum_lo: number;
  bg_inode_bitmap_csum_lo: number;
  bg_itable_unused: number;
  bg_checksum: number;
  // 64-byte descriptors only (zero otherwise)
  bg_block_bitmap_hi: number;
  bg_inode_bitmap_hi: number;
  bg_inode_table_hi: number;
  bg_free_blocks_count_hi: number;
  bg_free_inodes_count_hi: number;
  bg_used_dirs_count_hi: number;
  bg_itable_unused_hi: number;
  bg_exclude_bitmap_hi: number;
  bg_block_bitmap_csum_hi: number;
  bg_inode_bitmap_csum_hi: number;
  bg_reserved: number;
  /** Descriptor size this was parsed with (32 or s_desc_size). */
  size: number;
  /** The descriptor's bytes (emit starts from these). */
  raw: Uint8Array;
}

export const GROUP_DESC_FIELDS: readonly Field[] = [
  ['bg_block_bitmap', 0x00, 'u32'],
  ['bg_inode_bitmap', 0x04, 'u32'],
  ['bg_inode_table', 0x08, 'u32'],
  ['bg_free_blocks_count', 0x0c, 'u16'],
  ['bg_free_inodes_count', 0x0e, 'u16'],
  ['bg_used_dirs_count', 0x10, 'u16'],
  ['bg_flags', 0x12, 'u16'],
  ['bg_exclude_bitmap_lo', 0x14, 'u32'],
  ['bg_block_bitmap_csum_lo', 0x18, 'u16'],
  ['bg_inode_bitmap_csum_lo', 0x1a, 'u16'],
  ['bg_itable_unused', 0x1c, 'u16'],
  ['bg_checksum', 0x1e, 'u16'],
  ['bg_block_bitmap_hi', 0x20, 'u32'],
  ['bg_inode_bitmap_hi', 0x24, 'u32'],
  ['bg_inode_table_hi', 0x28, 'u32'],
  ['bg_free_blocks_count_hi', 0x2c, 'u16'],
  ['bg_free_inodes_count_hi', 0x2e, 'u16'],
  ['bg_used_dirs_count_hi', 0x30, 'u16'],
  ['bg_itable_unused_hi', 0x32, 'u16'],
  ['bg_exclude_bitmap_hi', 0x34, 'u32'],
  ['bg_block_bitmap_csum_hi', 0x38, 'u16'],
  ['bg_inode_bitmap_csum_hi', 0x3a, 'u16'],
  ['bg_reserved', 0x3c, 'u32'],
];

function checkSize(size: number): void {
  if (size !== 32 && !(size >= 64 && size <= 1024 && (size & (size - 1)) === 0)) {
    corrupt(`group descriptor size ${size} is neither 32 nor a power of two from 64 to 1024`);
  }
}

/** Parse the descriptor of `size` bytes at `off` of `b`. The high halves are read only when size >= 64. */
export function parseGroupDesc(b: Uint8Array, off: number, size: number): GroupDesc {
  checkSize(size);
  need(b, off, size, 'ext2 group descriptor');
  const raw = b.slice(off, off + size);
  const gd = decode<GroupDesc>(raw, 0, GROUP_DESC_FIELDS, size);
  gd.size = size;
  gd.raw = raw;
  return gd;
}

/** The descriptor as `gd.size` bytes (unknown bytes kept). */
export function emitGroupDesc(gd: GroupDesc): Uint8Array {
  checkSize(gd.size);
  const out = gd.raw.length === gd.size ? gd.raw.slice() : new Uint8Array(gd.size);
  encode(out, 0, GROUP_DESC_FIELDS, gd, gd.size, 'ext2 group descriptor');
  return out;
}

/** Whole values of the split fields. */
export interface GroupInfo {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
  flags: number;
}

export function groupInfo(gd: GroupDesc): GroupInfo {
  const hi = (x: number): number => x * 0x1_0000_0000;
  return {
    blockBitmap: hi(gd.bg_block_bitmap_hi) + gd.bg_block_bitmap,
    inodeBitmap: hi(gd.bg_inode_bitmap_hi) + gd.bg_inode_bitmap,
    inodeTable: hi(gd.bg_inode_table_hi) + gd.bg_inode_table,
    freeBlocks: gd.bg_free_blocks_count_hi * 0x10000 + gd.bg_free_blocks_count,
    freeInodes: gd.bg_free_inodes_count_hi * 0x10000 + gd.bg_free_inodes_count,
    usedDirs: gd.bg_used_dirs_count_hi * 0x10000 + gd.bg_used_dirs_count,
    itableUnused: gd.bg_itable_unused_hi * 0x10000 + gd.bg_itable_unused,
    flags: gd.bg_flags,
  };
}

/**
 * Check group `g`'s descriptor against the geometry: bitmaps and inode table inside the file
 * system, counts within a group. EFTYPE naming the group and field.
 */
export function checkGroupInfo(gi: GroupInfo, g: number, geo: Geometry): void {
  const what = `group ${g} descriptor`;
  const inRange = (blk: number, n: number): boolean => blk >= geo.firstDataBlock && blk + n <= geo.blocksCount && blk !== 0;
  if (!inRange(gi.blockBitmap, 1)) corrupt(`${what}: block bitmap at block ${gi.blockBitmap} is outside the file system (${geo.blocksCount} blocks)`);
  if (!inRange(gi.inodeBitmap, 1)) corrupt(`${what}: inode bitmap at block ${gi.inodeBitmap} is outside the file system (${geo.blocksCount} blocks)`);
  if (!inRange(gi.inodeTable, geo.inodeTableBlocks)) {
    corrupt(`${what}: inode table at block ${gi.inodeTable} (${geo.inodeTableBlocks} blocks) is outside the file system (${geo.blocksCount} blocks)`);
  }
  if (gi.freeInodes > geo.inodesPerGroup) corrupt(`${what}: ${gi.freeInodes} free inodes is more than the ${geo.inodesPerGroup} per group`);
}

/**
 * The block holding descriptor block `i` (e2fsprogs' ext2fs_descriptor_block_loc2 for the
 * primary copy): consecutive after the superblock, or with meta_bg, from s_first_meta_bg on, the
 * first block of each meta group (after its superblock backup, if it has one).
 */
export function descriptorBlock(sb: Superblock, geo: Geometry, i: number): number {
  const groupZeroAdjust = geo.blockSize === 1024 && geo.clusterRatio > 1 && i === 0 ? 1 : 0;
  if ((geo.incompat & INCOMPAT_META_BG) === 0 || i < sb.s_first_meta_bg) return geo.firstDataBlock + i + 1 + groupZeroAdjust;
  const bg = geo.descPerBlock * i;
  const first = geo.firstDataBlock + bg * geo.blocksPerGroup;
  return first + (groupHasSuper(sb, geo, bg) ? 1 : 0) + groupZeroAdjust;
}

/**
 * Write whole values back into a descriptor (the inverse of groupInfo): low halves always, high
 * halves only for descriptors of 64 bytes or more. EINVAL if a value does not fit the descriptor.
 */
export function setGroupInfo(gd: GroupDesc, gi: GroupInfo): void {
  const wide = gd.size >= 64;
  const split = (v: number, bits: 16 | 32, what: string): [number, number] => {
    const unit = bits === 16 ? 0x10000 : 0x1_0000_0000;
    const lim = wide ? unit * (bits === 16 ? 0x10000 : 0x1_0000_0000) : unit;
    if (!Number.isSafeInteger(v) || v < 0 || v >= lim) throw new KernelError('EINVAL', `group descriptor: ${what} ${v} does not fit`);
    return [v % unit, Math.floor(v / unit)];
  };
  [gd.bg_block_bitmap, gd.bg_block_bitmap_hi] = split(gi.blockBitmap, 32, 'block bitmap');
  [gd.bg_inode_bitmap, gd.bg_inode_bitmap_hi] = split(gi.inodeBitmap, 32, 'inode bitmap');
  [gd.bg_inode_table, gd.bg_inode_table_hi] = split(gi.inodeTable, 32, 'inode table');
  [gd.bg_free_blocks_count, gd.bg_free_blocks_count_hi] = split(gi.freeBlocks, 16, 'free blocks count');
  [gd.bg_free_inodes_count, gd.bg_free_inodes_count_hi] = split(gi.freeInodes, 16, 'free inodes count');
  [gd.bg_used_dirs_count, gd.bg_used_dirs_count_hi] = split(gi.usedDirs, 16, 'used directories count');
  [gd.bg_itable_unused, gd.bg_itable_unused_hi] = split(gi.itableUnused, 16, 'unused inode table count');
  gd.bg_flags = gi.flags & 0xffff;
}
