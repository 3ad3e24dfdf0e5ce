/**
 * Inodes (struct ext2_inode / ext2_inode_large): 128 bytes in revision 0, `s_inode_size` bytes
 * (256 by default) in revision 1, where the part after byte 128 is used up to `128 + i_extra_isize`
 * (nanosecond and epoch bits of the times, creation time, checksum high half, ...).
 *
 *   const ino = parseInode(bytes, off, inodeSize);   // EFTYPE naming a bad field
 *   inodeSize(ino, feats)  inodeUid(ino)  inodeTimes(ino)  inodeRdev(ino)  ...
 *   emitInode(ino)                                    // same bytes, unknown ones untouched
 *
 * Fields after byte 128 that `i_extra_isize` does not cover decode as 0 and are never written
 * (those bytes may hold in-inode extended attributes). Field names are e2fsprogs' (osd2 uses the
 * Linux names; the Hurd keeps its uid/gid high halves at the same places). Pure module.
 */

import { KernelError } from '../../kern/errno.js';
import { makedev } from '../../kern/types.js';
import { corrupt, decode, encode, join64, need, view, type Field } from './codec.js';

export const EXT2_NDIR_BLOCKS = 12;
export const EXT2_IND_BLOCK = 12, EXT2_DIND_BLOCK = 13, EXT2_TIND_BLOCK = 14;
export const EXT2_N_BLOCKS = 15;
/** Bytes of i_block (fast symlink targets, extent root, inline data). */
export const EXT2_I_BLOCK_SIZE = 60;

// i_flags
export const EXT2_SECRM_FL = 0x00000001;
export const EXT2_UNRM_FL = 0x00000002;
export const EXT2_COMPR_FL = 0x00000004;
export const EXT2_SYNC_FL = 0x00000008;
export const EXT2_IMMUTABLE_FL = 0x00000010;
export const EXT2_APPEND_FL = 0x00000020;
export const EXT2_NODUMP_FL = 0x00000040;
export const EXT2_NOATIME_FL = 0x00000080;
export const EXT2_DIRTY_FL = 0x00000100;
export const EXT2_COMPRBLK_FL = 0x00000200;
export const EXT2_NOCOMPR_FL = 0x00000400;
export const EXT4_ENCRYPT_FL = 0x00000800;
export const EXT2_INDEX_FL = 0x00001000;
export const EXT2_IMAGIC_FL = 0x00002000;
export const EXT3_JOURNAL_DATA_FL = 0x00004000;
export const EXT2_NOTAIL_FL = 0x00008000;
export const EXT2_DIRSYNC_FL = 0x00010000;
export const EXT2_TOPDIR_FL = 0x00020000;
export const EXT4_HUGE_FILE_FL = 0x00040000;
export const EXT4_EXTENTS_FL = 0x00080000;
export const EXT4_VERITY_FL = 0x00100000;
export const EXT4_EA_INODE_FL = 0x00200000;
export const EXT4_NOCOW_FL = 0x00800000;
export const EXT4_DAX_FL = 0x02000000;
export const EXT4_INLINE_DATA_FL = 0x10000000;
export const EXT4_PROJINHERIT_FL = 0x20000000;
export const EXT4_CASEFOLD_FL = 0x40000000;

export const INODE_FLAG_NAMES: Readonly<Record<number, string>> = {
  [EXT2_SECRM_FL]: 'SECRM', [EXT2_UNRM_FL]: 'UNRM', [EXT2_COMPR_FL]: 'COMPR', [EXT2_SYNC_FL]: 'SYNC',
  [EXT2_IMMUTABLE_FL]: 'IMMUTABLE', [EXT2_APPEND_FL]: 'APPEND', [EXT2_NODUMP_FL]: 'NODUMP', [EXT2_NOATIME_FL]: 'NOATIME',
  [EXT2_DIRTY_FL]: 'DIRTY', [EXT2_COMPRBLK_FL]: 'COMPRBLK', [EXT2_NOCOMPR_FL]: 'NOCOMPR', [EXT4_ENCRYPT_FL]: 'ENCRYPT',
  [EXT2_INDEX_FL]: 'INDEX', [EXT2_IMAGIC_FL]: 'IMAGIC', [EXT3_JOURNAL_DATA_FL]: 'JOURNAL_DATA', [EXT2_NOTAIL_FL]: 'NOTAIL',
  [EXT2_DIRSYNC_FL]: 'DIRSYNC', [EXT2_TOPDIR_FL]: 'TOPDIR', [EXT4_HUGE_FILE_FL]: 'HUGE_FILE', [EXT4_EXTENTS_FL]: 'EXTENTS',
  [EXT4_VERITY_FL]: 'VERITY', [EXT4_EA_INODE_FL]: 'EA_INODE', [EXT4_NOCOW_FL]: 'NOCOW', [EXT4_DAX_FL]: 'DAX',
  [EXT4_INLINE_DATA_FL]: 'INLINE_DATA', [EXT4_PROJINHERIT_FL]: 'PROJINHERIT', [EXT4_CASEFOLD_FL]: 'CASEFOLD',
};

export interface Inode {
  i_mode: number;
  i_uid: number;
  i_size: number;
  i_atime: number;
  i_ctime: number;
  i_mtime: number;
  i_dtime: number;
  i_gid: number;
  i_links_count: number;
  i_blocks: number;
  i_flags: number;
  l_i_version: number;
  /** The 60 bytes of i_block[15]: block pointers, an extent tree root, a symlink target or inline data. */
  i_block: Uint8Array;
  i_generation: number;
  i_file_acl: number;
  /** i_size_high (i_dir_acl for revision 0 directories). */
  i_size_high: number;
  i_faddr: number;
  l_i_blocks_hi: number;
  l_i_file_acl_high: number;
  l_i_uid_high: number;
  l_i_gid_high: number;
  l_i_checksum_lo: number;
  l_i_reserved: number;
  // large inodes: present when 128 + i_extra_isize covers them, else 0
  i_extra_isize: number;
  i_checksum_hi: number;
  i_ctime_extra: number;
  i_mtime_extra: number;
  i_atime_extra: number;
  i_crtime: number;
  i_crtime_extra: number;
  i_version_hi: number;
  i_projid: number;
  /** The inode's bytes as read (inode size long). */
  raw: Uint8Array;
}

export const INODE_FIELDS: readonly Field[] = [
  ['i_mode', 0x00, 'u16'],
  ['i_uid', 0x02, 'u16'],
  ['i_size', 0x04, 'u32'],
  ['i_atime', 0x08, 'u32'],
  ['i_ctime', 0x0c, 'u32'],
  ['i_mtime', 0x10, 'u32'],
  ['i_dtime', 0x14, 'u32'],
  ['i_gid', 0x18, 'u16'],
  ['i_links_count', 0x1a, 'u16'],
  ['i_blocks', 0x1c, 'u32'],
  ['i_flags', 0x20, 'u32'],
  ['l_i_version', 0x24, 'u32'],
  ['i_block', 0x28, { bytes: EXT2_I_BLOCK_SIZE }],
  ['i_generation', 0x64, 'u32'],
  ['i_file_acl', 0x68, 'u32'],
  ['i_size_high', 0x6c, 'u32'],
  ['i_faddr', 0x70, 'u32'],
  ['l_i_blocks_hi', 0x74, 'u16'],
  ['l_i_file_acl_high', 0x76, 'u16'],
  ['l_i_uid_high', 0x78, 'u16'],
  ['l_i_gid_high', 0x7a, 'u16'],
  ['l_i_checksum_lo', 0x7c, 'u16'],
  ['l_i_reserved', 0x7e, 'u16'],
];

/** Fields of the large inode, by offset from the inode start; present while inside 128 + i_extra_isize. */
export const INODE_EXTRA_FIELDS: readonly Field[] = [
  ['i_checksum_hi', 0x82, 'u16'],
  ['i_ctime_extra', 0x84, 'u32'],
  ['i_mtime_extra', 0x88, 'u32'],
  ['i_atime_extra', 0x8c, 'u32'],
  ['i_crtime', 0x90, 'u32'],
  ['i_crtime_extra', 0x94, 'u32'],
  ['i_version_hi', 0x98, 'u32'],
  ['i_projid', 0x9c, 'u32'],
];

export const EXT2_GOOD_OLD_INODE_SIZE = 128;

/** Parse the inode of `inodeSize` bytes at `off` of `b`. EFTYPE if i_extra_isize is impossible. */
export function parseInode(b: Uint8Array, off: number, inodeSize: number): Inode {
  if (inodeSize < EXT2_GOOD_OLD_INODE_SIZE) corrupt(`inode size ${inodeSize} is below 128`);
  need(b, off, inodeSize, 'ext2 inode');
  const raw = b.slice(off, off + inodeSize);
  const ino = decode<Inode>(raw, 0, INODE_FIELDS);
  ino.raw = raw;
  ino.i_extra_isize = 0;
  if (inodeSize > EXT2_GOOD_OLD_INODE_SIZE) {
    const extra = view(raw).getUint16(0x80, true);
    if (EXT2_GOOD_OLD_INODE_SIZE + extra > inodeSize || (extra & 3) !== 0) {
      corrupt(`inode: i_extra_isize ${extra} does not fit a ${inodeSize}-byte inode or is not a multiple of 4`);
    }
    ino.i_extra_isize = extra;
  }
  Object.assign(ino, decode<Partial<Inode>>(raw, 0, INODE_EXTRA_FIELDS, EXT2_GOOD_OLD_INODE_SIZE + ino.i_extra_isize));
  return ino;
}

/** The inode's bytes: `raw` with the known fields written over it (extra fields only where covered). */
export function emitInode(ino: Inode): Uint8Array {
  const out = ino.raw.slice();
  if (out.length < EXT2_GOOD_OLD_INODE_SIZE) corrupt(`inode raw bytes: ${out.length} is below 128`);
  encode(out, 0, INODE_FIELDS, ino, Infinity, 'ext2 inode');
  if (out.length > EXT2_GOOD_OLD_INODE_SIZE) {
    if (EXT2_GOOD_OLD_INODE_SIZE + ino.i_extra_isize > out.length) corrupt(`inode: i_extra_isize ${ino.i_extra_isize} does not fit ${out.length} bytes`);
    view(out).setUint16(0x80, ino.i_extra_isize, true);
    encode(out, 0, INODE_EXTRA_FIELDS, ino, EXT2_GOOD_OLD_INODE_SIZE + ino.i_extra_isize, 'ext2 inode');
  }
  return out;
}

/** Is the large-inode field ending at byte `end` present? */
export function inodeHasExtra(ino: Inode, end: number): boolean {
  return ino.raw.length > EXT2_GOOD_OLD_INODE_SIZE && end <= EXT2_GOOD_OLD_INODE_SIZE + ino.i_extra_isize;
}

/** i_block as fifteen u32 block pointers. */
export function inodeBlockPointers(ino: Inode): number[] {
  const dv = view(ino.i_block);
  const out: number[] = [];
  for (let i = 0; i < EXT2_N_BLOCKS; i++) out.push(dv.getUint32(i * 4, true));
  return out;
}

/** The features the interpretation of inode fields depends on. */
export interface InodeFeatures {
  /** ro_compat huge_file */
  hugeFile: boolean;
  /** incompat large_dir */
  largeDir: boolean;
  /** incompat 64bit */
  is64bit: boolean;
  blockSize: number;
}

/** File size: i_size with i_size_high for regular files (and directories with large_dir). EFTYPE if past 2^53. */
export function inodeSize(ino: Inode, f: Pick<InodeFeatures, 'largeDir'>): number {
  const fmt = ino.i_mode & 0o170000;
  if (fmt === 0o100000 || (fmt === 0o040000 && f.largeDir)) return join64(ino.i_size, ino.i_size_high, 'inode: i_size');
  return ino.i_size;
}

/** Space allocated, in 512-byte units (i_blocks; 48 bits and maybe in fs blocks with huge_file). */
export function inodeBlocks512(ino: Inode, f: Pick<InodeFeatures, 'hugeFile' | 'blockSize'>): number {
  if (!f.hugeFile) return ino.i_blocks;
  const n = ino.l_i_blocks_hi * 0x1_0000_0000 + ino.i_blocks;
  return (ino.i_flags & EXT4_HUGE_FILE_FL) !== 0 ? n * (f.blockSize / 512) : n;
}

/** The extended attribute block (i_file_acl with its high half on 64bit file systems), 0 for none. */
export function inodeFileAcl(ino: Inode, f: Pick<InodeFeatures, 'is64bit'>): number {
  return f.is64bit ? ino.l_i_file_acl_high * 0x1_0000_0000 + ino.i_file_acl : ino.i_file_acl;
}

export function inodeUid(ino: Inode): number {
  return (ino.l_i_uid_high * 0x10000 + ino.i_uid) >>> 0;
}

export function inodeGid(ino: Inode): number {
  return (ino.l_i_gid_high * 0x10000 + ino.i_gid) >>> 0;
}

export interface InodeTime { sec: number; nsec: number }

/**
 * A time from its 32-bit seconds field (signed) and, when present, its `_extra` word: 2 epoch bits
 * added to the seconds as bits 32-33 and 30 bits of nanoseconds (clamped below 10^9).
 */
export function decodeTime(sec32: number, extra: number | undefined): InodeTime {
  let sec = sec32 | 0;
  let nsec = 0;
  if (extra !== undefined) {
    sec += (extra & 3) * 0x1_0000_0000;
    nsec = Math.min(extra >>> 2, 999_999_999);
  }
  return { sec, nsec };
}

/** The inverse of decodeTime: [seconds field, extra word]. */
export function encodeTime(t: InodeTime): [sec32: number, extra: number] {
  const epoch = Math.floor((t.sec + 0x8000_0000) / 0x1_0000_0000);
  const sec32 = (t.sec - epoch * 0x1_0000_0000) >>> 0;
  return [sec32, ((t.nsec << 2) | (epoch & 3)) >>> 0];
}

export interface InodeTimes { atime: InodeTime; mtime: InodeTime; ctime: InodeTime; crtime: InodeTime | null }

export function inodeTimes(ino: Inode): InodeTimes {
  const x = (end: number, v: number): number | undefined => (inodeHasExtra(ino, end) ? v : undefined);
  return {
    ctime: decodeTime(ino.i_ctime, x(0x88, ino.i_ctime_extra)),
    mtime: decodeTime(ino.i_mtime, x(0x8c, ino.i_mtime_extra)),
    atime: decodeTime(ino.i_atime, x(0x90, ino.i_atime_extra)),
    crtime: inodeHasExtra(ino, 0x94) ? decodeTime(ino.i_crtime, x(0x98, ino.i_crtime_extra)) : null,
  };
}

/**
 * A device node's number in NetBSD's encoding: Linux's old 16-bit form in i_block[0] (8-bit
 * major and minor) or, when that is 0, the new 32-bit form in i_block[1] (12-bit major, 20-bit minor).
 */
export function inodeRdev(ino: Inode): number {
  const dv = view(ino.i_block);
  const old = dv.getUint32(0, true);
  if (old !== 0) return makedev((old >>> 8) & 0xff, old & 0xff);
  const nw = dv.getUint32(4, true);
  return makedev((nw & 0xfff00) >>> 8, (nw & 0xff) | ((nw >>> 12) & 0xfff00));
}

/** Linux's encoding of (major, minor) into i_block, as mknod writes it. */
export function encodeRdev(major: number, minor: number): Uint8Array {
  const b = new Uint8Array(EXT2_I_BLOCK_SIZE);
  const dv = view(b);
  if (major < 256 && minor < 256) dv.setUint32(0, (major << 8) | minor, true);
  else dv.setUint32(4, ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0, true);
  return b;
}

/* ---- write side (used by the read-write mount and the image tools) ------------------------- */

/** Extra bytes a new large inode covers (struct ext4_inode through i_projid: 160 - 128). */
export const EXT2_NEW_EXTRA_ISIZE = 32;

/**
 * A fresh, all-zero inode of `inodeSize` bytes. Large inodes get `i_extra_isize` = `extra`
 * (clamped to what fits; 0 for 128-byte inodes), so their nanosecond and creation times exist.
 */
export function newInode(inodeSize: number, extra = EXT2_NEW_EXTRA_ISIZE): Inode {
  const raw = new Uint8Array(inodeSize);
  if (inodeSize > EXT2_GOOD_OLD_INODE_SIZE) {
    const x = Math.min(extra, inodeSize - EXT2_GOOD_OLD_INODE_SIZE) & ~3;
    view(raw).setUint16(0x80, x, true);
  }
  return parseInode(raw, 0, inodeSize);
}

/** Set the file size (i_size, and i_size_high for regular files and large_dir directories). */
export function setInodeSize(ino: Inode, size: number, f: Pick<InodeFeatures, 'largeDir'>): void {
  if (!Number.isSafeInteger(size) || size < 0) corrupt(`inode: size ${size} is not a non-negative integer`);
  const fmt = ino.i_mode & 0o170000;
  const wide = fmt === 0o100000 || (fmt === 0o040000 && f.largeDir);
  if (!wide && size > 0xffffffff) corrupt(`inode: size ${size} does not fit 32 bits`);
  ino.i_size = size % 0x1_0000_0000;
  if (wide) ino.i_size_high = Math.floor(size / 0x1_0000_0000);
}

/** Set the owner (16-bit low half in i_uid, high half in l_i_uid_high). */
export function setInodeUid(ino: Inode, uid: number): void {
  ino.i_uid = uid & 0xffff;
  ino.l_i_uid_high = (uid >>> 16) & 0xffff;
}

export function setInodeGid(ino: Inode, gid: number): void {
  ino.i_gid = gid & 0xffff;
  ino.l_i_gid_high = (gid >>> 16) & 0xffff;
}

/**
 * Set the space allocated, in 512-byte units (the inverse of inodeBlocks512): 32 bits, or 48
 * with huge_file (in file system blocks when the inode has EXT4_HUGE_FILE_FL). EFBIG if it does
 * not fit.
 */
export function setInodeBlocks512(ino: Inode, n: number, f: Pick<InodeFeatures, 'hugeFile' | 'blockSize'>): void {
  let v = n;
  if (f.hugeFile && (ino.i_flags & EXT4_HUGE_FILE_FL) !== 0) v = Math.ceil(n / (f.blockSize / 512));
  const max = f.hugeFile ? 0xffff_ffff_ffff : 0xffffffff;
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new KernelError('EFBIG', `inode: ${n} sectors do not fit i_blocks`);
  ino.i_blocks = v % 0x1_0000_0000;
  if (f.hugeFile) ino.l_i_blocks_hi = Math.floor(v / 0x1_0000_0000);
}

/** Set the extended attribute block (with its high half on 64bit file systems). */
export function setInodeFileAcl(ino: Inode, blk: number, f: Pick<InodeFeatures, 'is64bit'>): void {
  ino.i_file_acl = blk % 0x1_0000_0000;
  if (f.is64bit) ino.l_i_file_acl_high = Math.floor(blk / 0x1_0000_0000) & 0xffff;
}

/** i_block[i] as a block pointer (indirect layout). */
export function setInodeBlockPointer(ino: Inode, i: number, blk: number): void {
  if (i < 0 || i >= EXT2_N_BLOCKS) corrupt(`inode: block pointer index ${i} out of range`);
  view(ino.i_block).setUint32(i * 4, blk >>> 0, true);
}

export type InodeTimeField = 'atime' | 'mtime' | 'ctime' | 'crtime';

const TIME_FIELDS: Record<InodeTimeField, { sec: 'i_atime' | 'i_mtime' | 'i_ctime' | 'i_crtime'; extra: 'i_atime_extra' | 'i_mtime_extra' | 'i_ctime_extra' | 'i_crtime_extra'; end: number }> = {
  ctime: { sec: 'i_ctime', extra: 'i_ctime_extra', end: 0x88 },
  mtime: { sec: 'i_mtime', extra: 'i_mtime_extra', end: 0x8c },
  atime: { sec: 'i_atime', extra: 'i_atime_extra', end: 0x90 },
  crtime: { sec: 'i_crtime', extra: 'i_crtime_extra', end: 0x98 },
};

/** Can this inode store `which` (crtime needs a large inode) and nanoseconds for it? */
export function inodeTimeHasExtra(ino: Inode, which: InodeTimeField): boolean {
  return inodeHasExtra(ino, TIME_FIELDS[which].end);
}

/**
 * Store a time: with its `_extra` word when the inode has one (seconds from 1901 to 2446,
 * nanoseconds kept), else as signed 32-bit seconds (1901 to 2038, nanoseconds dropped). Times
 * outside the range are clamped to it, as Linux does. crtime is ignored where it does not exist.
 */
export function setInodeTime(ino: Inode, which: InodeTimeField, t: InodeTime): void {
  const f = TIME_FIELDS[which];
  const extra = inodeHasExtra(ino, f.end);
  if (which === 'crtime' && !inodeHasExtra(ino, 0x94)) return;
  const min = -0x8000_0000;
  const max = extra ? 0x3_7fff_ffff : 0x7fff_ffff;
  let sec = Math.trunc(t.sec);
  let nsec = Math.trunc(t.nsec);
  if (!Number.isFinite(sec)) sec = 0;
  if (!Number.isFinite(nsec) || nsec < 0 || nsec > 999_999_999) nsec = 0;
  if (sec < min) { sec = min; nsec = 0; }
  if (sec > max) { sec = max; nsec = 999_999_999; }
  if (extra) {
    const [s, x] = encodeTime({ sec, nsec });
    ino[f.sec] = s;
    ino[f.extra] = x;
  } else {
    ino[f.sec] = sec >>> 0;
  }
}
