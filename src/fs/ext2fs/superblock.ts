/**
 * The ext2/3/4 superblock (struct ext2_super_block): 1024 bytes at byte offset 1024 of the device,
 * with backups at the start of some block groups.
 *
 *   const sb = parseSuperblock(bytes);          // EFTYPE naming the field if it is not ext2
 *   const geo = superblockGeometry(sb, devSize); // derived sizes, checked against the device
 *   emitSuperblock(sb)                           // the same 1024 bytes, unknown ones untouched
 *
 * Revision 0 superblocks end at s_def_resgid; their remaining bytes are carried in `raw` but the
 * revision 1 fields read as the revision 0 defaults through `superblockGeometry` (inode size 128,
 * first inode 11, no features). Field names are e2fsprogs'. Pure module.
 */

import { corrupt, cstring, decode, encode, flagNames, isPow2, join64, need, uuidString, type Field } from './codec.js';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT2_SUPER_MAGIC = 0xef53;

export const EXT2_GOOD_OLD_REV = 0;
export const EXT2_DYNAMIC_REV = 1;
export const EXT2_GOOD_OLD_INODE_SIZE = 128;
export const EXT2_GOOD_OLD_FIRST_INO = 11;
export const EXT2_ROOT_INO = 2;
export const EXT2_MIN_BLOCK_LOG_SIZE = 10;
export const EXT2_MAX_BLOCK_LOG_SIZE = 16;
export const EXT2_MIN_DESC_SIZE = 32;
export const EXT2_MIN_DESC_SIZE_64BIT = 64;
export const EXT2_MAX_DESC_SIZE = 1024;

// s_state
export const EXT2_VALID_FS = 0x0001, EXT2_ERROR_FS = 0x0002, EXT3_ORPHAN_FS = 0x0004, EXT4_FC_REPLAY = 0x0020;
// s_errors
export const EXT2_ERRORS_CONTINUE = 1, EXT2_ERRORS_RO = 2, EXT2_ERRORS_PANIC = 3;
// s_creator_os
export const EXT2_OS_LINUX = 0, EXT2_OS_HURD = 1, EXT2_OS_MASIX = 2, EXT2_OS_FREEBSD = 3, EXT2_OS_LITES = 4;
// s_flags
export const EXT2_FLAGS_SIGNED_HASH = 0x0001, EXT2_FLAGS_UNSIGNED_HASH = 0x0002, EXT2_FLAGS_TEST_FILESYS = 0x0004;

// compatible features: an implementation that does not know them may read and write
export const COMPAT_DIR_PREALLOC = 0x0001;
export const COMPAT_IMAGIC_INODES = 0x0002;
export const COMPAT_HAS_JOURNAL = 0x0004;
export const COMPAT_EXT_ATTR = 0x0008;
export const COMPAT_RESIZE_INODE = 0x0010;
export const COMPAT_DIR_INDEX = 0x0020;
export const COMPAT_LAZY_BG = 0x0040;
export const COMPAT_EXCLUDE_BITMAP = 0x0100;
export const COMPAT_SPARSE_SUPER2 = 0x0200;
export const COMPAT_FAST_COMMIT = 0x0400;
export const COMPAT_STABLE_INODES = 0x0800;
export const COMPAT_ORPHAN_FILE = 0x1000;

// read-only compatible features: an implementation that does not know them may only read
export const RO_COMPAT_SPARSE_SUPER = 0x0001;
export const RO_COMPAT_LARGE_FILE = 0x0002;
export const RO_COMPAT_BTREE_DIR = 0x0004;
export const RO_COMPAT_HUGE_FILE = 0x0008;
export const RO_COMPAT_GDT_CSUM = 0x0010;
export const RO_COMPAT_DIR_NLINK = 0x0020;
export const RO_COMPAT_EXTRA_ISIZE = 0x0040;
export const RO_COMPAT_HAS_SNAPSHOT = 0x0080;
export const RO_COMPAT_QUOTA = 0x0100;
export const RO_COMPAT_BIGALLOC = 0x0200;
export const RO_COMPAT_METADATA_CSUM = 0x0400;
export const RO_COMPAT_REPLICA = 0x0800;
export const RO_COMPAT_READONLY = 0x1000;
export const RO_COMPAT_PROJECT = 0x2000;
export const RO_COMPAT_SHARED_BLOCKS = 0x4000;
export const RO_COMPAT_VERITY = 0x8000;
export const RO_COMPAT_ORPHAN_PRESENT = 0x10000;

// incompatible features: an implementation that does not know them must not mount
export const INCOMPAT_COMPRESSION = 0x0001;
export const INCOMPAT_FILETYPE = 0x0002;
export const INCOMPAT_RECOVER = 0x0004;
export const INCOMPAT_JOURNAL_DEV = 0x0008;
export const INCOMPAT_META_BG = 0x0010;
export const INCOMPAT_EXTENTS = 0x0040;
export const INCOMPAT_64BIT = 0x0080;
export const INCOMPAT_MMP = 0x0100;
export const INCOMPAT_FLEX_BG = 0x0200;
export const INCOMPAT_EA_INODE = 0x0400;
export const INCOMPAT_DIRDATA = 0x1000;
export const INCOMPAT_CSUM_SEED = 0x2000;
export const INCOMPAT_LARGEDIR = 0x4000;
export const INCOMPAT_INLINE_DATA = 0x8000;
export const INCOMPAT_ENCRYPT = 0x10000;
export const INCOMPAT_CASEFOLD = 0x20000;

/** Feature names as e2fsprogs (mke2fs -O, dumpe2fs) spells them. */
export const COMPAT_NAMES: Readonly<Record<number, string>> = {
  [COMPAT_DIR_PREALLOC]: 'dir_prealloc', [COMPAT_IMAGIC_INODES]: 'imagic_inodes', [COMPAT_HAS_JOURNAL]: 'has_journal',
  [COMPAT_EXT_ATTR]: 'ext_attr', [COMPAT_RESIZE_INODE]: 'resize_inode', [COMPAT_DIR_INDEX]: 'dir_index',
  [COMPAT_LAZY_BG]: 'lazy_bg', [COMPAT_EXCLUDE_BITMAP]: 'exclude_bitmap', [COMPAT_SPARSE_SUPER2]: 'sparse_super2',
  [COMPAT_FAST_COMMIT]: 'fast_commit', [COMPAT_STABLE_INODES]: 'stable_inodes', [COMPAT_ORPHAN_FILE]: 'orphan_file',
};
export const RO_COMPAT_NAMES: Readonly<Record<number, string>> = {
  [RO_COMPAT_SPARSE_SUPER]: 'sparse_super', [RO_COMPAT_LARGE_FILE]: 'large_file', [RO_COMPAT_BTREE_DIR]: 'btree_dir',
  [RO_COMPAT_HUGE_FILE]: 'huge_file', [RO_COMPAT_GDT_CSUM]: 'uninit_bg', [RO_COMPAT_DIR_NLINK]: 'dir_nlink',
  [RO_COMPAT_EXTRA_ISIZE]: 'extra_isize', [RO_COMPAT_HAS_SNAPSHOT]: 'snapshot_bitmap', [RO_COMPAT_QUOTA]: 'quota',
  [RO_COMPAT_BIGALLOC]: 'bigalloc', [RO_COMPAT_METADATA_CSUM]: 'metadata_csum', [RO_COMPAT_REPLICA]: 'replica',
  [RO_COMPAT_READONLY]: 'read-only', [RO_COMPAT_PROJECT]: 'project', [RO_COMPAT_SHARED_BLOCKS]: 'shared_blocks',
  [RO_COMPAT_VERITY]: 'verity', [RO_COMPAT_ORPHAN_PRESENT]: 'orphan_present',
};
export const INCOMPAT_NAMES: Readonly<Record<number, string>> = {
  [INCOMPAT_COMPRESSION]: 'compression', [INCOMPAT_FILETYPE]: 'filetype', [INCOMPAT_RECOVER]: 'needs_recovery',
  [INCOMPAT_JOURNAL_DEV]: 'journal_dev', [INCOMPAT_META_BG]: 'meta_bg', [INCOMPAT_EXTENTS]: 'extent',
  [INCOMPAT_64BIT]: '64bit', [INCOMPAT_MMP]: 'mmp', [INCOMPAT_FLEX_BG]: 'flex_bg', [INCOMPAT_EA_INODE]: 'ea_inode',
  [INCOMPAT_DIRDATA]: 'dirdata', [INCOMPAT_CSUM_SEED]: 'metadata_csum_seed', [INCOMPAT_LARGEDIR]: 'large_dir',
  [INCOMPAT_INLINE_DATA]: 'inline_data', [INCOMPAT_ENCRYPT]: 'encrypt', [INCOMPAT_CASEFOLD]: 'casefold',
};

export function compatNames(mask: number): string[] { return flagNames(mask, COMPAT_NAMES, 'FEATURE_C'); }
export function roCompatNames(mask: number): string[] { return flagNames(mask, RO_COMPAT_NAMES, 'FEATURE_R'); }
export function incompatNames(mask: number): string[] { return flagNames(mask, INCOMPAT_NAMES, 'FEATURE_I'); }

/** struct ext2_super_block, every field through s_checksum. */
export interface Superblock {
  s_inodes_count: number;
  s_blocks_count: number;
  s_r_blocks_count: number;
  s_free_blocks_count: number;
  s_free_inodes_count: number;
  s_first_data_block: number;
  s_log_block_size: number;
  s_log_cluster_size: number;
  s_blocks_per_group: number;
  s_clusters_per_group: number;
  s_inodes_per_group: number;
  s_mtime: number;
  s_wtime: number;
  s_mnt_count: number;
  /** Signed on disk (-1: no limit); decoded as the unsigned 16-bit value. */
  s_max_mnt_count: number;
  s_magic: number;
  s_state: number;
  s_errors: number;
  s_minor_rev_level: number;
  s_lastcheck: number;
  s_checkinterval: number;
  s_creator_os: number;
  s_rev_level: number;
  s_def_resuid: number;
  s_def_resgid: number;
  // EXT2_DYNAMIC_REV
  s_first_ino: number;
  s_inode_size: number;
  s_block_group_nr: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: Uint8Array;
  s_volume_name: Uint8Array;
  s_last_mounted: Uint8Array;
  s_algorithm_usage_bitmap: number;
  s_prealloc_blocks: number;
  s_prealloc_dir_blocks: number;
  s_reserved_gdt_blocks: number;
  s_journal_uuid: Uint8Array;
  s_journal_inum: number;
  s_journal_dev: number;
  s_last_orphan: number;
  /** s_hash_seed[4] as bytes (four little-endian u32 words; see hashSeed()). */
  s_hash_seed: Uint8Array;
  s_def_hash_version: number;
  s_jnl_backup_type: number;
  s_desc_size: number;
  s_default_mount_opts: number;
  s_first_meta_bg: number;
  s_mkfs_time: number;
  s_jnl_blocks: Uint8Array;
  s_blocks_count_hi: number;
  s_r_blocks_count_hi: number;
  s_free_blocks_hi: number;
  s_min_extra_isize: number;
  s_want_extra_isize: number;
  s_flags: number;
  s_raid_stride: number;
  s_mmp_update_interval: number;
  s_mmp_block: bigint;
  s_raid_stripe_width: number;
  s_log_groups_per_flex: number;
  s_checksum_type: number;
  s_encryption_level: number;
  s_reserved_pad: number;
  s_kbytes_written: bigint;
  s_snapshot_inum: number;
  s_snapshot_id: number;
  s_snapshot_r_blocks_count: bigint;
  s_snapshot_list: number;
  s_error_count: number;
  s_first_error_time: number;
  s_first_error_ino: number;
  s_first_error_block: bigint;
  s_first_error_func: Uint8Array;
  s_first_error_line: number;
  s_last_error_time: number;
  s_last_error_ino: number;
  s_last_error_line: number;
  s_last_error_block: bigint;
  s_last_error_func: Uint8Array;
  s_mount_opts: Uint8Array;
  s_usr_quota_inum: number;
  s_grp_quota_inum: number;
  s_overhead_clusters: number;
  s_backup_bgs0: number;
  s_backup_bgs1: number;
  s_encrypt_algos: Uint8Array;
  s_encrypt_pw_salt: Uint8Array;
  s_lpf_ino: number;
  s_prj_quota_inum: number;
  s_checksum_seed: number;
  s_wtime_hi: number;
  s_mtime_hi: number;
  s_mkfs_time_hi: number;
  s_lastcheck_hi: number;
  s_first_error_time_hi: number;
  s_last_error_time_hi: number;
  s_first_error_errcode: number;
  s_last_error_errcode: number;
  s_encoding: number;
  s_encoding_flags: number;
  s_orphan_file_inum: number;
  s_checksum: number;
  /** The 1024 bytes this was parsed from (emit starts from these). */
  raw: Uint8Array;
}

export const SUPERBLOCK_FIELDS: readonly Field[] = [
  ['s_inodes_count', 0x00, 'u32'],
  ['s_blocks_count', 0x04, 'u32'],
  ['s_r_blocks_count', 0x08, 'u32'],
  ['s_free_blocks_count', 0x0c, 'u32'],
  ['s_free_inodes_count', 0x10, 'u32'],
  ['s_first_data_block', 0x14, 'u32'],
  ['s_log_block_size', 0x18, 'u32'],
  ['s_log_cluster_size', 0x1c, 'u32'],
  ['s_blocks_per_group', 0x20, 'u32'],
  ['s_clusters_per_group', 0x24, 'u32'],
  ['s_inodes_per_group', 0x28, 'u32'],
  ['s_mtime', 0x2c, 'u32'],
  ['s_wtime', 0x30, 'u32'],
  ['s_mnt_count', 0x34, 'u16'],
  ['s_max_mnt_count', 0x36, 'u16'],
  ['s_magic', 0x38, 'u16'],
  ['s_state', 0x3a, 'u16'],
  ['s_errors', 0x3c, 'u16'],
  ['s_minor_rev_level', 0x3e, 'u16'],
  ['s_lastcheck', 0x40, 'u32'],
  ['s_checkinterval', 0x44, 'u32'],
  ['s_creator_os', 0x48, 'u32'],
  ['s_rev_level', 0x4c, 'u32'],
  ['s_def_resuid', 0x50, 'u16'],
  ['s_def_resgid', 0x52, 'u16'],
  ['s_first_ino', 0x54, 'u32'],
  ['s_inode_size', 0x58, 'u16'],
  ['s_block_group_nr', 0x5a, 'u16'],
  ['s_feature_compat', 0x5c, 'u32'],
  ['s_feature_incompat', 0x60, 'u32'],
  ['s_feature_ro_compat', 0x64, 'u32'],
  ['s_uuid', 0x68, { bytes: 16 }],
  ['s_volume_name', 0x78, { bytes: 16 }],
  ['s_last_mounted', 0x88, { bytes: 64 }],
  ['s_algorithm_usage_bitmap', 0xc8, 'u32'],
  ['s_prealloc_blocks', 0xcc, 'u8'],
  ['s_prealloc_dir_blocks', 0xcd, 'u8'],
  ['s_reserved_gdt_blocks', 0xce, 'u16'],
  ['s_journal_uuid', 0xd0, { bytes: 16 }],
  ['s_journal_inum', 0xe0, 'u32'],
  ['s_journal_dev', 0xe4, 'u32'],
  ['s_last_orphan', 0xe8, 'u32'],
  ['s_hash_seed', 0xec, { bytes: 16 }],
  ['s_def_hash_version', 0xfc, 'u8'],
  ['s_jnl_backup_type', 0xfd, 'u8'],
  ['s_desc_size', 0xfe, 'u16'],
  ['s_default_mount_opts', 0x100, 'u32'],
  ['s_first_meta_bg', 0x104, 'u32'],
  ['s_mkfs_time', 0x108, 'u32'],
  ['s_jnl_blocks', 0x10c, { bytes: 68 }],
  ['s_blocks_count_hi', 0x150, 'u32'],
  ['s_r_blocks_count_hi', 0x154, 'u32'],
  ['s_free_blocks_hi', 0x158, 'u32'],
  ['s_min_extra_isize', 0x15c, 'u16'],
  ['s_want_extra_isize', 0x15e, 'u16'],
  ['s_flags', 0x160, 'u32'],
  ['s_raid_stride', 0x164, 'u16'],
  ['s_mmp_update_interval', 0x166, 'u16'],
  ['s_mmp_block', 0x168, 'u64'],
  ['s_raid_stripe_width', 0x170, 'u32'],
  ['s_log_groups_per_flex', 0x174, 'u8'],
  ['s_checksum_type', 0x175, 'u8'],
  ['s_encryption_level', 0x176, 'u8'],
  ['s_reserved_pad', 0x177, 'u8'],
  ['s_kbytes_written', 0x178, 'u64'],
  ['s_snapshot_inum', 0x180, 'u32'],
  ['s_snapshot_id', 0x184, 'u32'],
  ['s_snapshot_r_blocks_count', 0x188, 'u64'],
  ['s_snapshot_list', 0x190, 'u32'],
  ['s_error_count', 0x194, 'u32'],
  ['s_first_error_time', 0x198, 'u32'],
  ['s_first_error_ino', 0x19c, 'u32'],
  ['s_first_error_block', 0x1a0, 'u64'],
  ['s_first_error_func', 0x1a8, { bytes: 32 }],
  ['s_first_error_line', 0x1c8, 'u32'],
  ['s_last_error_time', 0x1cc, 'u32'],
  ['s_last_error_ino', 0x1d0, 'u32'],
  ['s_last_error_line', 0x1d4, 'u32'],
  ['s_last_error_block', 0x1d8, 'u64'],
  ['s_last_error_func', 0x1e0, { bytes: 32 }],
  ['s_mount_opts', 0x200, { bytes: 64 }],
  ['s_usr_quota_inum', 0x240, 'u32'],
  ['s_grp_quota_inum', 0x244, 'u32'],
  ['s_overhead_clusters', 0x248, 'u32'],
  ['s_backup_bgs0', 0x24c, 'u32'],
  ['s_backup_bgs1', 0x250, 'u32'],
  ['s_encrypt_algos', 0x254, { bytes: 4 }],
  ['s_encrypt_pw_salt', 0x258, { bytes: 16 }],
  ['s_lpf_ino', 0x268, 'u32'],
  ['s_prj_quota_inum', 0x26c, 'u32'],
  ['s_checksum_seed', 0x270, 'u32'],
  ['s_wtime_hi', 0x274, 'u8'],
  ['s_mtime_hi', 0x275, 'u8'],
  ['s_mkfs_time_hi', 0x276, 'u8'],
  ['s_lastcheck_hi', 0x277, 'u8'],
  ['s_first_error_time_hi', 0x278, 'u8'],
  ['s_last_error_time_hi', 0x279, 'u8'],
  ['s_first_error_errcode', 0x27a, 'u8'],
  ['s_last_error_errcode', 0x27b, 'u8'],
  ['s_encoding', 0x27c, 'u16'],
  ['s_encoding_flags', 0x27e, 'u16'],
  ['s_orphan_file_inum', 0x280, 'u32'],
  ['s_checksum', 0x3fc, 'u32'],
];

/**
 * Parse a superblock from `b` (at least 1024 bytes, starting at the superblock). Checks only what
 * makes it an ext2 superblock at all (magic, revision, block size); `superblockGeometry` checks
 * the rest. EFTYPE naming the field.
 */
export function parseSuperblock(b: Uint8Array): Superblock {
  need(b, 0, SUPERBLOCK_SIZE, 'ext2 superblock');
  const raw = b.slice(0, SUPERBLOCK_SIZE);
  const sb = decode<Superblock>(raw, 0, SUPERBLOCK_FIELDS);
  sb.raw = raw;
  if (sb.s_magic !== EXT2_SUPER_MAGIC) {
    corrupt(`ext2 superblock: s_magic 0x${sb.s_magic.toString(16).padStart(4, '0')} is not 0xef53 (not an ext2/3/4 file system)`);
  }
  if (sb.s_rev_level > EXT2_DYNAMIC_REV) corrupt(`ext2 superblock: s_rev_level ${sb.s_rev_level} is unknown (0 and 1 exist)`);
  if (sb.s_log_block_size > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE) {
    corrupt(`ext2 superblock: s_log_block_size ${sb.s_log_block_size} gives a block size over 64 KiB`);
  }
  return sb;
}

/** The superblock as 1024 bytes: `raw` with every known field written over it. EINVAL for a field that does not fit. */
export function emitSuperblock(sb: Superblock): Uint8Array {
  const out = sb.raw.length === SUPERBLOCK_SIZE ? sb.raw.slice() : new Uint8Array(SUPERBLOCK_SIZE);
  encode(out, 0, SUPERBLOCK_FIELDS, sb, Infinity, 'ext2 superblock');
  return out;
}

/** The volume label (s_volume_name up to its NUL). */
export function volumeName(sb: Superblock): string {
  return cstring(sb.s_volume_name);
}

/** The directory it was last mounted on (s_last_mounted). */
export function lastMounted(sb: Superblock): string {
  return cstring(sb.s_last_mounted);
}

/** The file system UUID as 8-4-4-4-12 hex. */
export function fsUuid(sb: Superblock): string {
  return uuidString(sb.s_uuid);
}

/** s_hash_seed as four u32 words (all zero means "use the default seed"). */
export function hashSeed(sb: Superblock): [number, number, number, number] {
  const dv = new DataView(sb.s_hash_seed.buffer, sb.s_hash_seed.byteOffset, 16);
  return [dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)];
}

/** A superblock time field with its 8-bit high part (ext4 extends times past 2038 this way). */
export function sbTime(lo: number, hi: number): number {
  return hi * 0x1_0000_0000 + lo;
}

/** Derived sizes of a file system, checked for consistency. */
export interface Geometry {
  revision: number;
  blockSize: number;
  /** log2(blockSize) */
  blockShift: number;
  /** Blocks per allocation cluster (bigalloc), else 1. */
  clusterRatio: number;
  blocksCount: number;
  reservedBlocks: number;
  freeBlocks: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodesCount: number;
  inodeSize: number;
  firstIno: number;
  groupCount: number;
  descSize: number;
  descPerBlock: number;
  /** Blocks of the (non-meta_bg) group descriptor table. */
  gdtBlocks: number;
  inodeTableBlocks: number;
  /** Effective features (zero for revision 0). */
  compat: number;
  incompat: number;
  roCompat: number;
  is64bit: boolean;
}

/**
 * Check a superblock's numbers against each other and against a device of `devSize` bytes
 * (omitted: no device check), and derive the geometry. EFTYPE naming the inconsistent field.
 */
export function superblockGeometry(sb: Superblock, devSize?: number): Geometry {
  const what = 'ext2 superblock';
  const blockShift = EXT2_MIN_BLOCK_LOG_SIZE + sb.s_log_block_size;
  if (blockShift > EXT2_MAX_BLOCK_LOG_SIZE) corrupt(`${what}: s_log_block_size ${sb.s_log_block_size} gives a block size over 64 KiB`);
  const blockSize = 2 ** blockShift;
  const rev0 = sb.s_rev_level === EXT2_GOOD_OLD_REV;
  const compat = rev0 ? 0 : sb.s_feature_compat;
  const incompat = rev0 ? 0 : sb.s_feature_incompat;
  const roCompat = rev0 ? 0 : sb.s_feature_ro_compat;
  const is64bit = (incompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = is64bit ? join64(sb.s_blocks_count, sb.s_blocks_count_hi, `${what}: s_blocks_count`) : sb.s_blocks_count;
  const reservedBlocks = is64bit ? join64(sb.s_r_blocks_count, sb.s_r_blocks_count_hi, `${what}: s_r_blocks_count`) : sb.s_r_blocks_count;
  const freeBlocks = is64bit ? join64(sb.s_free_blocks_count, sb.s_free_blocks_hi, `${what}: s_free_blocks_count`) : sb.s_free_blocks_count;

  let clusterRatio = 1;
  if ((roCompat & RO_COMPAT_BIGALLOC) !== 0) {
    if (sb.s_log_cluster_size < sb.s_log_block_size || sb.s_log_cluster_size - sb.s_log_block_size > 16) {
      corrupt(`${what}: s_log_cluster_size ${sb.s_log_cluster_size} does not fit s_log_block_size ${sb.s_log_block_size}`);
    }
    clusterRatio = 2 ** (sb.s_log_cluster_size - sb.s_log_block_size);
  }

  const inodeSize = rev0 ? EXT2_GOOD_OLD_INODE_SIZE : sb.s_inode_size;
  if (!isPow2(inodeSize) || inodeSize < EXT2_GOOD_OLD_INODE_SIZE || inodeSize > blockSize) {
    corrupt(`${what}: s_inode_size ${inodeSize} must be a power of two between 128 and the block size ${blockSize}`);
  }
  const firstIno = rev0 ? EXT2_GOOD_OLD_FIRST_INO : sb.s_first_ino;
  if (firstIno < EXT2_GOOD_OLD_FIRST_INO) corrupt(`${what}: s_first_ino ${firstIno} is below 11`);

  let descSize = EXT2_MIN_DESC_SIZE;
  if (is64bit) {
    descSize = sb.s_desc_size;
    if (!isPow2(descSize) || descSize < EXT2_MIN_DESC_SIZE_64BIT || descSize > EXT2_MAX_DESC_SIZE) {
      corrupt(`${what}: s_desc_size ${descSize} must be a power of two between 64 and 1024 with the 64bit feature`);
    }
  }

  const blocksPerGroup = sb.s_blocks_per_group;
  const maxPerGroup = 8 * blockSize;
  if (blocksPerGroup === 0 || blocksPerGroup / clusterRatio > maxPerGroup) {
    corrupt(`${what}: s_blocks_per_group ${blocksPerGroup} must be between 1 and ${maxPerGroup * clusterRatio}`);
  }
  if (clusterRatio > 1 && sb.s_clusters_per_group * clusterRatio !== blocksPerGroup) {
    corrupt(`${what}: s_clusters_per_group ${sb.s_clusters_per_group} does not match s_blocks_per_group ${blocksPerGroup}`);
  }
  const inodesPerGroup = sb.s_inodes_per_group;
  if (inodesPerGroup === 0 || inodesPerGroup > maxPerGroup) {
    corrupt(`${what}: s_inodes_per_group ${inodesPerGroup} must be between 1 and ${maxPerGroup}`);
  }
  const firstDataBlock = sb.s_first_data_block;
  if (firstDataBlock > 1 || (blockSize > 1024 && firstDataBlock !== 0)) {
    corrupt(`${what}: s_first_data_block ${firstDataBlock} is impossible with ${blockSize}-byte blocks`);
  }
  if (blocksCount <= firstDataBlock) corrupt(`${what}: s_blocks_count ${blocksCount} leaves no blocks after s_first_data_block ${firstDataBlock}`);
  if (reservedBlocks > blocksCount) corrupt(`${what}: s_r_blocks_count ${reservedBlocks} exceeds s_blocks_count ${blocksCount}`);
  if (freeBlocks > blocksCount) corrupt(`${what}: s_free_blocks_count ${freeBlocks} exceeds s_blocks_count ${blocksCount}`);
  if (devSize !== undefined && blocksCount * blockSize > devSize) {
    corrupt(`${what}: s_blocks_count ${blocksCount} blocks of ${blockSize} bytes is more than the device holds (${devSize} bytes)`);
  }
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (groupCount * inodesPerGroup !== sb.s_inodes_count) {
    corrupt(`${what}: s_inodes_count ${sb.s_inodes_count} is not ${groupCount} groups x s_inodes_per_group ${inodesPerGroup}`);
  }
  if (sb.s_free_inodes_count > sb.s_inodes_count) {
    corrupt(`${what}: s_free_inodes_count ${sb.s_free_inodes_count} exceeds s_inodes_count ${sb.s_inodes_count}`);
  }
  if (firstIno >= sb.s_inodes_count) corrupt(`${what}: s_first_ino ${firstIno} is not below s_inodes_count ${sb.s_inodes_count}`);
  const descPerBlock = blockSize / descSize;
  const gdtBlocks = Math.ceil(groupCount / descPerBlock);
  const inodeTableBlocks = Math.ceil((inodesPerGroup * inodeSize) / blockSize);
  if (gdtBlocks + firstDataBlock >= blocksCount) {
    corrupt(`${what}: ${groupCount} groups need ${gdtBlocks} descriptor blocks, more than s_blocks_count ${blocksCount}`);
  }
  return {
    revision: sb.s_rev_level, blockSize, blockShift, clusterRatio, blocksCount, reservedBlocks, freeBlocks,
    firstDataBlock, blocksPerGroup, inodesPerGroup, inodesCount: sb.s_inodes_count, inodeSize, firstIno,
    groupCount, descSize, descPerBlock, gdtBlocks, inodeTableBlocks, compat, incompat, roCompat, is64bit,
  };
}

/** Does group `g` hold a superblock backup (sparse_super: 0, 1 and powers of 3, 5, 7; sparse_super2: the two listed)? */
export function groupHasSuper(sb: Superblock, geo: Geometry, g: number): boolean {
  if (g === 0) return true;
  if ((geo.compat & COMPAT_SPARSE_SUPER2) !== 0) return g === sb.s_backup_bgs0 || g === sb.s_backup_bgs1;
  if (g <= 1 || (geo.roCompat & RO_COMPAT_SPARSE_SUPER) === 0) return true;
  if ((g & 1) === 0) return false;
  for (const base of [3, 5, 7]) {
    let p = base;
    while (p < g) p *= base;
    if (p === g) return true;
  }
  return false;
}

/** Set s_free_blocks_count (with s_free_blocks_hi on 64bit file systems). */
export function setSuperblockFreeBlocks(sb: Superblock, n: number, is64bit: boolean): void {
  sb.s_free_blocks_count = n % 0x1_0000_0000;
  if (is64bit) sb.s_free_blocks_hi = Math.floor(n / 0x1_0000_0000);
}

/** A superblock time field and its 8-bit high part (the inverse of sbTime): [low, high]. */
export function splitSbTime(sec: number): [number, number] {
  const s = Math.max(0, Math.floor(sec));
  return [s % 0x1_0000_0000, Math.floor(s / 0x1_0000_0000) & 0xff];
}

/**
 * Turn a revision 0 superblock into revision 1 with the revision 0 defaults made explicit
 * (first inode 11, 128-byte inodes, no features), as Linux's ext2_update_dynamic_rev does before
 * setting a feature. A revision 1 superblock is left alone.
 */
export function upgradeToDynamicRev(sb: Superblock): void {
  if (sb.s_rev_level !== EXT2_GOOD_OLD_REV) return;
  sb.s_rev_level = EXT2_DYNAMIC_REV;
  sb.s_first_ino = EXT2_GOOD_OLD_FIRST_INO;
  sb.s_inode_size = EXT2_GOOD_OLD_INODE_SIZE;
  sb.s_feature_compat = 0;
  sb.s_feature_incompat = 0;
  sb.s_feature_ro_compat = 0;
}
