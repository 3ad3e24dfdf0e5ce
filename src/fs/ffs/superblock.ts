/**
 * The FFS superblock (struct fs, 1376 bytes): UFS1 and UFS2, in either byte order.
 *
 *   const sb = parseSuperblock(bytes);            // EFTYPE unless a UFS1/UFS2 magic is at byte 1372
 *   const geo = superblockGeometry(sb, devSize, location); // derived numbers, checked (EFTYPE naming the field)
 *   emitSuperblock(sb)                            // the same bytes back, unknown ones untouched
 *
 * The superblock lives at one of SBLOCKSEARCH's byte offsets (64 KiB for UFS2, 8 KiB for UFS1,
 * 0 for floppies, 256 KiB for "piggy" systems), in the byte order of the machine that wrote it:
 * the magic is looked for both ways and `le` records which matched. Backups sit in every
 * cylinder group at `fs_sblkno`.
 *
 * UFS1 file systems from before the UFS2 work (FS_FLAGS_UPDATED clear in fs_old_flags) keep their
 * size, summary address, time, totals and flags only in the 32-bit `fs_old_*` fields;
 * `superblockGeometry` reads those then, as NetBSD's ffs_oldfscompat_read does. Every other
 * superblock records where it belongs (fs_sblockloc), and counts only there. Field names are
 * NetBSD's (sys/ufs/ffs/fs.h). Pure module.
 */

import { corrupt, cstring, decode, encode, howmany, isPow2, log2, need, num64, type Field } from './codec.js';

/** Where superblocks are looked for, in NetBSD's search order (SBLOCKSEARCH). */
export const SBLOCK_UFS2 = 65536, SBLOCK_UFS1 = 8192, SBLOCK_FLOPPY = 0, SBLOCK_PIGGY = 262144;
export const SBLOCKSEARCH: readonly number[] = [SBLOCK_UFS2, SBLOCK_UFS1, SBLOCK_FLOPPY, SBLOCK_PIGGY];
/** Bytes read at a superblock location. */
export const SBLOCKSIZE = 8192;
/** sizeof(struct fs) */
export const SBLOCK_STRUCT_SIZE = 1376;
/** Byte offset of fs_magic. */
export const FS_MAGIC_OFFSET = 1372;

export const FS_UFS1_MAGIC = 0x011954;
export const FS_UFS2_MAGIC = 0x19540119;
/** NetBSD's UFS2 with extended attributes (FFSv2ea): the UFS2 layout. */
export const FS_UFS2EA_MAGIC = 0x19012038;

export const MINBSIZE = 4096;
export const MAXBSIZE = 65536;
export const MAXFRAG = 8;
export const MAXMNTLEN = 468;
export const MAXVOLLEN = 32;
export const FS_MAXCONTIG = 16;
export const DEV_BSIZE = 512;

/** fs_old_inodefmt */
export const FS_42INODEFMT = -1, FS_44INODEFMT = 2;
/** fs_clean */
export const FS_ISCLEAN = 0x01, FS_WASCLEAN = 0x02;
/** fs_optim */
export const FS_OPTTIME = 0, FS_OPTSPACE = 1;

/** fs_flags */
export const FS_UNCLEAN = 0x001;
export const FS_DOSOFTDEP = 0x002;
export const FS_NEEDSFSCK = 0x004;
export const FS_SUJ = 0x008;
export const FS_POSIX1EACLS = 0x010;
export const FS_MULTILABEL = 0x020;
export const FS_GJOURNAL = 0x040;
export const FS_FLAGS_UPDATED = 0x080;
export const FS_DOWAPBL = 0x100;
export const FS_DOQUOTA2 = 0x200;
export const FS_TRIM = 0x400;
export const FS_NFS4ACLS = 0x800;
/** In-core only (NetBSD sets it for swapped file systems); never meaningful on disk. */
export const FS_SWAPPED = 0x80000000;

export const FS_FLAG_NAMES: Readonly<Record<number, string>> = {
  [FS_UNCLEAN]: 'FS_UNCLEAN', [FS_DOSOFTDEP]: 'FS_DOSOFTDEP (soft dependencies)', [FS_NEEDSFSCK]: 'FS_NEEDSFSCK',
  [FS_SUJ]: 'FS_SUJ (journaled soft updates)', [FS_POSIX1EACLS]: 'FS_POSIX1EACLS', [FS_MULTILABEL]: 'FS_MULTILABEL',
  [FS_GJOURNAL]: 'FS_GJOURNAL', [FS_FLAGS_UPDATED]: 'FS_FLAGS_UPDATED', [FS_DOWAPBL]: 'FS_DOWAPBL (WAPBL log)',
  [FS_DOQUOTA2]: 'FS_DOQUOTA2 (in-file-system quotas)', [FS_TRIM]: 'FS_TRIM', [FS_NFS4ACLS]: 'FS_NFS4ACLS',
};

/** Names of the bits of `flags`; unknown bits in hex. */
export function fsFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const m = 2 ** bit;
    if (Math.floor(flags / m) % 2 === 1) out.push(FS_FLAG_NAMES[m] ?? `0x${m.toString(16)}`);
  }
  return out;
}

/** struct csum: per cylinder group counts (also in the superblock as fs_old_cstotal). */
export interface Csum {
  cs_ndir: number;
  cs_nbfree: number;
  cs_nifree: number;
  cs_nffree: number;
}

/** struct fs, as stored. 64-bit fields are bigints; in-core pointer space is raw bytes. */
export interface Superblock {
  fs_firstfield: number;
  fs_unused_1: number;
  fs_sblkno: number;
  fs_cblkno: number;
  fs_iblkno: number;
  fs_dblkno: number;
  fs_old_cgoffset: number;
  fs_old_cgmask: number;
  fs_old_time: number;
  fs_old_size: number;
  fs_old_dsize: number;
  fs_ncg: number;
  fs_bsize: number;
  fs_fsize: number;
  fs_frag: number;
  fs_minfree: number;
  fs_old_rotdelay: number;
  fs_old_rps: number;
  fs_bmask: number;
  fs_fmask: number;
  fs_bshift: number;
  fs_fshift: number;
  fs_maxcontig: number;
  fs_maxbpg: number;
  fs_fragshift: number;
  fs_fsbtodb: number;
  fs_sbsize: number;
  fs_old_csmask: number;
  fs_old_csshift: number;
  fs_nindir: number;
  fs_inopb: number;
  fs_old_nspf: number;
  fs_optim: number;
  fs_old_npsect: number;
  fs_old_interleave: number;
  fs_old_trackskew: number;
  fs_id0: number;
  fs_id1: number;
  fs_old_csaddr: number;
  fs_cssize: number;
  fs_cgsize: number;
  fs_spare2: number;
  fs_old_nsect: number;
  fs_old_spc: number;
  fs_old_ncyl: number;
  fs_old_cpg: number;
  fs_ipg: number;
  fs_fpg: number;
  fs_old_cstotal_ndir: number;
  fs_old_cstotal_nbfree: number;
  fs_old_cstotal_nifree: number;
  fs_old_cstotal_nffree: number;
  fs_fmod: number;
  fs_clean: number;
  fs_ronly: number;
  fs_old_flags: number;
  fs_fsmnt: Uint8Array;
  fs_volname: Uint8Array;
  fs_swuid: bigint;
  fs_pad: number;
  fs_cgrotor: number;
  /** In-core pointers (fs_ocsp, fs_contigdirs, fs_csp, fs_maxcluster, fs_active): meaningless on disk. */
  fs_incore: Uint8Array;
  fs_old_cpc: number;
  fs_maxbsize: number;
  fs_journal_version: number;
  fs_journal_location: number;
  fs_journal_reserved: Uint8Array;
  fs_journal_flags: number;
  fs_journallocs: Uint8Array;
  fs_quota_magic: number;
  fs_quota_flags: number;
  fs_quota_reserved: Uint8Array;
  fs_quotafile: Uint8Array;
  fs_sparecon64: Uint8Array;
  fs_sblockloc: bigint;
  fs_cstotal_ndir: bigint;
  fs_cstotal_nbfree: bigint;
  fs_cstotal_nifree: bigint;
  fs_cstotal_nffree: bigint;
  fs_cstotal_spare: Uint8Array;
  fs_time: bigint;
  fs_size: bigint;
  fs_dsize: bigint;
  fs_csaddr: bigint;
  fs_pendingblocks: bigint;
  fs_pendinginodes: number;
  fs_snapinum: Uint8Array;
  fs_avgfilesize: number;
  fs_avgfpdir: number;
  fs_save_cgsize: number;
  fs_sparecon32: Uint8Array;
  fs_flags: number;
  fs_contigsumsize: number;
  fs_maxsymlinklen: number;
  fs_old_inodefmt: number;
  fs_maxfilesize: bigint;
  fs_qbmask: bigint;
  fs_qfmask: bigint;
  fs_state: number;
  fs_old_postblformat: number;
  fs_old_nrpos: number;
  fs_old_postbloff: number;
  fs_old_rotbloff: number;
  fs_magic: number;
  /** Little-endian image (the magic matched that way). */
  le: boolean;
  /** 1 or 2, from the magic. */
  ufs: 1 | 2;
  /** The bytes it was parsed from (at least sizeof(struct fs)); emit writes over a copy. */
  raw: Uint8Array;
}

const FIELDS: readonly Field[] = [
  ['fs_firstfield', 0, 'i32'], ['fs_unused_1', 4, 'i32'], ['fs_sblkno', 8, 'i32'], ['fs_cblkno', 12, 'i32'],
  ['fs_iblkno', 16, 'i32'], ['fs_dblkno', 20, 'i32'], ['fs_old_cgoffset', 24, 'i32'], ['fs_old_cgmask', 28, 'i32'],
  ['fs_old_time', 32, 'i32'], ['fs_old_size', 36, 'i32'], ['fs_old_dsize', 40, 'i32'], ['fs_ncg', 44, 'u32'],
  ['fs_bsize', 48, 'i32'], ['fs_fsize', 52, 'i32'], ['fs_frag', 56, 'i32'], ['fs_minfree', 60, 'i32'],
  ['fs_old_rotdelay', 64, 'i32'], ['fs_old_rps', 68, 'i32'], ['fs_bmask', 72, 'i32'], ['fs_fmask', 76, 'i32'],
  ['fs_bshift', 80, 'i32'], ['fs_fshift', 84, 'i32'], ['fs_maxcontig', 88, 'i32'], ['fs_maxbpg', 92, 'i32'],
  ['fs_fragshift', 96, 'i32'], ['fs_fsbtodb', 100, 'i32'], ['fs_sbsize', 104, 'i32'], ['fs_old_csmask', 108, 'i32'],
  ['fs_old_csshift', 112, 'i32'], ['fs_nindir', 116, 'i32'], ['fs_inopb', 120, 'u32'], ['fs_old_nspf', 124, 'i32'],
  ['fs_optim', 128, 'i32'], ['fs_old_npsect', 132, 'i32'], ['fs_old_interleave', 136, 'i32'], ['fs_old_trackskew', 140, 'i32'],
  ['fs_id0', 144, 'i32'], ['fs_id1', 148, 'i32'], ['fs_old_csaddr', 152, 'i32'], ['fs_cssize', 156, 'i32'],
  ['fs_cgsize', 160, 'i32'], ['fs_spare2', 164, 'i32'], ['fs_old_nsect', 168, 'i32'], ['fs_old_spc', 172, 'i32'],
  ['fs_old_ncyl', 176, 'i32'], ['fs_old_cpg', 180, 'i32'], ['fs_ipg', 184, 'u32'], ['fs_fpg', 188, 'i32'],
  ['fs_old_cstotal_ndir', 192, 'i32'], ['fs_old_cstotal_nbfree', 196, 'i32'], ['fs_old_cstotal_nifree', 200, 'i32'],
  ['fs_old_cstotal_nffree', 204, 'i32'],
  ['fs_fmod', 208, 'i8'], ['fs_clean', 209, 'u8'], ['fs_ronly', 210, 'i8'], ['fs_old_flags', 211, 'u8'],
  ['fs_fsmnt', 212, { bytes: MAXMNTLEN }], ['fs_volname', 680, { bytes: MAXVOLLEN }], ['fs_swuid', 712, 'u64'],
  ['fs_pad', 720, 'i32'], ['fs_cgrotor', 724, 'i32'], ['fs_incore', 728, { bytes: 128 }],
  ['fs_old_cpc', 856, 'i32'], ['fs_maxbsize', 860, 'i32'],
  ['fs_journal_version', 864, 'u8'], ['fs_journal_location', 865, 'u8'], ['fs_journal_reserved', 866, { bytes: 2 }],
  ['fs_journal_flags', 868, 'u32'], ['fs_journallocs', 872, { bytes: 32 }], ['fs_quota_magic', 904, 'u32'],
  ['fs_quota_flags', 908, 'u8'], ['fs_quota_reserved', 909, { bytes: 3 }], ['fs_quotafile', 912, { bytes: 16 }],
  ['fs_sparecon64', 928, { bytes: 72 }], ['fs_sblockloc', 1000, 'i64'],
  ['fs_cstotal_ndir', 1008, 'i64'], ['fs_cstotal_nbfree', 1016, 'i64'], ['fs_cstotal_nifree', 1024, 'i64'],
  ['fs_cstotal_nffree', 1032, 'i64'], ['fs_cstotal_spare', 1040, { bytes: 32 }],
  ['fs_time', 1072, 'i64'], ['fs_size', 1080, 'i64'], ['fs_dsize', 1088, 'i64'], ['fs_csaddr', 1096, 'i64'],
  ['fs_pendingblocks', 1104, 'i64'], ['fs_pendinginodes', 1112, 'u32'], ['fs_snapinum', 1116, { bytes: 80 }],
  ['fs_avgfilesize', 1196, 'u32'], ['fs_avgfpdir', 1200, 'u32'], ['fs_save_cgsize', 1204, 'i32'],
  ['fs_sparecon32', 1208, { bytes: 104 }], ['fs_flags', 1312, 'u32'], ['fs_contigsumsize', 1316, 'i32'],
  ['fs_maxsymlinklen', 1320, 'i32'], ['fs_old_inodefmt', 1324, 'i32'], ['fs_maxfilesize', 1328, 'u64'],
  ['fs_qbmask', 1336, 'i64'], ['fs_qfmask', 1344, 'i64'], ['fs_state', 1352, 'i32'], ['fs_old_postblformat', 1356, 'i32'],
  ['fs_old_nrpos', 1360, 'i32'], ['fs_old_postbloff', 1364, 'i32'], ['fs_old_rotbloff', 1368, 'i32'],
  ['fs_magic', FS_MAGIC_OFFSET, 'i32'],
];

/** The UFS version and byte order a superblock's magic says, or null if neither byte order matches. */
export function detectMagic(b: Uint8Array, off = 0): { ufs: 1 | 2; le: boolean } | null {
  if (off + SBLOCK_STRUCT_SIZE > b.length) return null;
  const dv = new DataView(b.buffer, b.byteOffset + off, SBLOCK_STRUCT_SIZE);
  for (const le of [true, false]) {
    const m = dv.getUint32(FS_MAGIC_OFFSET, le);
    if (m === FS_UFS1_MAGIC) return { ufs: 1, le };
    if (m === FS_UFS2_MAGIC || m === FS_UFS2EA_MAGIC) return { ufs: 2, le };
  }
  return null;
}

/** Decode struct fs from `b` (at least 1376 bytes); EFTYPE naming fs_magic if it is not FFS. */
export function parseSuperblock(b: Uint8Array): Superblock {
  need(b, 0, SBLOCK_STRUCT_SIZE, 'ffs superblock');
  const m = detectMagic(b);
  if (m === null) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(FS_MAGIC_OFFSET, true);
    corrupt(`ffs superblock: fs_magic 0x${v.toString(16)} is neither UFS1 (0x${FS_UFS1_MAGIC.toString(16)}) nor UFS2 (0x${FS_UFS2_MAGIC.toString(16)}) in either byte order`);
  }
  const sb = decode<Superblock>(b, 0, FIELDS, m.le);
  sb.le = m.le;
  sb.ufs = m.ufs;
  sb.raw = b.slice();
  return sb;
}

/** The superblock's bytes: its `raw` bytes with every field written back in its byte order. */
export function emitSuperblock(sb: Superblock): Uint8Array {
  const out = sb.raw.slice();
  need(out, 0, SBLOCK_STRUCT_SIZE, 'ffs superblock');
  encode(out, 0, FIELDS, sb, sb.le, 'ffs superblock');
  return out;
}

/** A blank superblock record (all zero) of `ufs` and byte order `le`, `size` bytes of raw space: for newfs. */
export function blankSuperblock(ufs: 1 | 2, le: boolean, size = SBLOCK_STRUCT_SIZE): Superblock {
  const raw = new Uint8Array(Math.max(size, SBLOCK_STRUCT_SIZE));
  const sb = decode<Superblock>(raw, 0, FIELDS, le);
  sb.le = le;
  sb.ufs = ufs;
  sb.raw = raw;
  sb.fs_magic = ufs === 1 ? FS_UFS1_MAGIC : FS_UFS2_MAGIC;
  return sb;
}

export function mountedOn(sb: Superblock): string { return cstring(sb.fs_fsmnt); }
export function volumeName(sb: Superblock): string { return cstring(sb.fs_volname); }

/** Derived, checked numbers: what the mounted file system works with. Addresses are in fragments. */
export interface Geometry {
  ufs: 1 | 2;
  le: boolean;
  /** Byte offset of the primary superblock. */
  sblockloc: number;
  bsize: number;
  fsize: number;
  /** Fragments per block. */
  frag: number;
  fragshift: number;
  bshift: number;
  fshift: number;
  /** Fragment offsets within a cylinder group of its superblock copy, cg block, inodes and data. */
  sblkno: number;
  cblkno: number;
  iblkno: number;
  dblkno: number;
  /** UFS1 cylinder group staggering (cgstart = cgbase + cgoffset * (c & ~cgmask)); 0 for UFS2. */
  cgoffset: number;
  cgmask: number;
  ncg: number;
  ipg: number;
  fpg: number;
  cgsize: number;
  sbsize: number;
  /** Summary area: fragment address and size in bytes. */
  csaddr: number;
  cssize: number;
  nindir: number;
  inopb: number;
  /** Bytes per on-disk inode (128 or 256) and per block pointer (4 or 8). */
  dinodeSize: number;
  ptrSize: number;
  /** File system size and data size, in fragments. */
  size: number;
  dsize: number;
  minfree: number;
  maxsymlinklen: number;
  /** fs_flags (from fs_old_flags on pre-UFS2-era UFS1). */
  flags: number;
  clean: number;
  /** 4.2BSD inode format: 16-bit owners in the inode, directories without d_type. */
  oldFormat: boolean;
  maxcontig: number;
  contigsumsize: number;
  cstotal: Csum;
  time: number;
  pendingblocks: number;
  pendinginodes: number;
  /** Highest inode number + 1 (ncg * ipg). */
  maxino: number;
}

function bad(field: string, v: number | bigint, why: string): never {
  corrupt(`ffs superblock: ${field} ${String(v)} ${why}`);
}

/** Inode and pointer sizes of a UFS version. */
export function dinodeSizeOf(ufs: 1 | 2): number { return ufs === 1 ? 128 : 256; }
export function ptrSizeOf(ufs: 1 | 2): number { return ufs === 1 ? 4 : 8; }
/** Bytes of block pointers in an inode: the longest fast symlink (exclusive). */
export function maxSymlinkLenOf(ufs: 1 | 2): number { return ufs === 1 ? 60 : 120; }

/**
 * Check the superblock found at byte `location` of a device of `devSize` bytes and derive its
 * geometry. EFTYPE naming the first field that is impossible, so that nothing computed from the
 * result can address outside the device or allocate more than the file system's own size.
 */
export function superblockGeometry(sb: Superblock, devSize: number, location: number): Geometry {
  const ufs = sb.ufs;
  const updated = ufs === 2 || (sb.fs_old_flags & FS_FLAGS_UPDATED) !== 0;
  const sbsize = sb.fs_sbsize;
  if (sbsize < SBLOCK_STRUCT_SIZE || sbsize > SBLOCKSIZE) bad('fs_sbsize', sbsize, `is not between ${SBLOCK_STRUCT_SIZE} and ${SBLOCKSIZE}`);
  const bsize = sb.fs_bsize;
  if (!isPow2(bsize) || bsize < MINBSIZE || bsize > MAXBSIZE) bad('fs_bsize', bsize, `is not a power of two between ${MINBSIZE} and ${MAXBSIZE}`);
  const fsize = sb.fs_fsize;
  if (!isPow2(fsize) || fsize < DEV_BSIZE || fsize > bsize) bad('fs_fsize', fsize, `is not a power of two between ${DEV_BSIZE} and fs_bsize ${bsize}`);
  const frag = bsize / fsize;
  if (frag > MAXFRAG) bad('fs_fsize', fsize, `gives ${frag} fragments per block (at most ${MAXFRAG})`);
  if (sb.fs_frag !== frag) bad('fs_frag', sb.fs_frag, `disagrees with fs_bsize/fs_fsize ${bsize}/${fsize}`);
  if (sb.fs_fragshift !== log2(frag)) bad('fs_fragshift', sb.fs_fragshift, `disagrees with fs_frag ${frag}`);
  if (sb.fs_bshift !== log2(bsize)) bad('fs_bshift', sb.fs_bshift, `disagrees with fs_bsize ${bsize}`);
  if (sb.fs_fshift !== log2(fsize)) bad('fs_fshift', sb.fs_fshift, `disagrees with fs_fsize ${fsize}`);
  const dinodeSize = dinodeSizeOf(ufs);
  const ptrSize = ptrSizeOf(ufs);
  if (sb.fs_inopb !== bsize / dinodeSize) bad('fs_inopb', sb.fs_inopb, `is not fs_bsize/${dinodeSize} (${bsize / dinodeSize})`);
  if (sb.fs_nindir !== bsize / ptrSize) bad('fs_nindir', sb.fs_nindir, `is not fs_bsize/${ptrSize} (${bsize / ptrSize})`);
  const ncg = sb.fs_ncg;
  if (ncg < 1) bad('fs_ncg', ncg, 'is not positive');
  const fpg = sb.fs_fpg;
  if (fpg < frag || fpg % frag !== 0) bad('fs_fpg', fpg, `is not a positive multiple of fs_frag ${frag}`);
  const ipg = sb.fs_ipg;
  if (ipg < 1 || ipg % sb.fs_inopb !== 0) bad('fs_ipg', ipg, `is not a positive multiple of fs_inopb ${sb.fs_inopb}`);
  if (ipg * ncg > 0xffffffff) bad('fs_ipg', ipg, `times fs_ncg ${ncg} does not fit 32-bit inode numbers`);
  const { fs_sblkno: sblkno, fs_cblkno: cblkno, fs_iblkno: iblkno, fs_dblkno: dblkno } = sb;
  if (sblkno < 0) bad('fs_sblkno', sblkno, 'is negative');
  if (cblkno <= sblkno) bad('fs_cblkno', cblkno, `is not after fs_sblkno ${sblkno}`);
  const cgsize = sb.fs_cgsize;
  if (cgsize < CG_MIN_SIZE || cgsize > bsize) bad('fs_cgsize', cgsize, `is not between ${CG_MIN_SIZE} and fs_bsize ${bsize}`);
  if (iblkno < cblkno + howmany(cgsize, fsize)) bad('fs_iblkno', iblkno, `overlaps the cylinder group block at fs_cblkno ${cblkno}`);
  const inodeFrags = (ipg * dinodeSize) / fsize;
  if (dblkno < iblkno + inodeFrags) bad('fs_dblkno', dblkno, `overlaps the ${inodeFrags} fragments of inodes at fs_iblkno ${iblkno}`);
  if (dblkno >= fpg) bad('fs_dblkno', dblkno, `leaves no data in a cylinder group of fs_fpg ${fpg} fragments`);
  const cgoffset = ufs === 1 ? sb.fs_old_cgoffset : 0;
  const cgmask = ufs === 1 ? sb.fs_old_cgmask : -1;
  if (cgoffset < 0 || cgoffset > fpg) bad('fs_old_cgoffset', cgoffset, `is not between 0 and fs_fpg ${fpg}`);

  let size: number, dsize: number, csaddr: number, time: number, flags: number, sblockloc: number;
  let cstotal: Csum;
  if (updated) {
    size = num64(sb.fs_size, 'ffs superblock: fs_size', 1);
    dsize = num64(sb.fs_dsize, 'ffs superblock: fs_dsize');
    csaddr = num64(sb.fs_csaddr, 'ffs superblock: fs_csaddr');
    time = Number(sb.fs_time);
    flags = sb.fs_flags & ~FS_SWAPPED;
    const loc = sb.fs_sblockloc;
    if (loc !== BigInt(location)) bad('fs_sblockloc', loc, `disagrees with where the superblock was found (byte ${location})`);
    sblockloc = location;
    const c = (v: bigint, f: string): number => num64(v, `ffs superblock: fs_cstotal.${f}`, 0, 0xffffffffff);
    cstotal = { cs_ndir: c(sb.fs_cstotal_ndir, 'cs_ndir'), cs_nbfree: c(sb.fs_cstotal_nbfree, 'cs_nbfree'), cs_nifree: c(sb.fs_cstotal_nifree, 'cs_nifree'), cs_nffree: c(sb.fs_cstotal_nffree, 'cs_nffree') };
  } else {
    size = sb.fs_old_size;
    dsize = sb.fs_old_dsize;
    csaddr = sb.fs_old_csaddr;
    time = sb.fs_old_time;
    flags = sb.fs_old_flags;
    sblockloc = SBLOCK_UFS1;
    cstotal = { cs_ndir: sb.fs_old_cstotal_ndir, cs_nbfree: sb.fs_old_cstotal_nbfree, cs_nifree: sb.fs_old_cstotal_nifree, cs_nffree: sb.fs_old_cstotal_nffree };
  }
  if (size < 1) bad(updated ? 'fs_size' : 'fs_old_size', size, 'is not positive');
  if (size > ncg * fpg || size <= (ncg - 1) * fpg) bad('fs_ncg', ncg, `disagrees with the size (${size} fragments in groups of fs_fpg ${fpg})`);
  if (size * fsize > devSize) {
    corrupt(`ffs superblock: the file system (fs_size ${size} fragments of ${fsize} bytes, ${size * fsize} bytes) is larger than the device (${devSize} bytes)`);
  }
  if (dsize < 0 || dsize > size) bad(updated ? 'fs_dsize' : 'fs_old_dsize', dsize, `is not between 0 and fs_size ${size}`);
  const cssize = sb.fs_cssize;
  if (cssize < ncg * CSUM_SIZE || cssize > ncg * CSUM_SIZE + bsize) bad('fs_cssize', cssize, `does not fit fs_ncg ${ncg} summaries of ${CSUM_SIZE} bytes`);
  if (csaddr < 0 || csaddr + howmany(cssize, fsize) > size) bad(updated ? 'fs_csaddr' : 'fs_old_csaddr', csaddr, `with fs_cssize ${cssize} is outside the file system (${size} fragments)`);
  const maxsym = sb.fs_maxsymlinklen;
  if (maxsym < 0 || maxsym > maxSymlinkLenOf(ufs)) bad('fs_maxsymlinklen', maxsym, `is not between 0 and ${maxSymlinkLenOf(ufs)}`);
  const contig = sb.fs_contigsumsize;
  if (contig < 0 || contig > FS_MAXCONTIG) bad('fs_contigsumsize', contig, `is not between 0 and ${FS_MAXCONTIG}`);
  if (sb.fs_minfree < 0 || sb.fs_minfree > 99) bad('fs_minfree', sb.fs_minfree, 'is not a percentage below 100');
  return {
    ufs, le: sb.le, sblockloc, bsize, fsize, frag, fragshift: sb.fs_fragshift, bshift: sb.fs_bshift, fshift: sb.fs_fshift,
    sblkno, cblkno, iblkno, dblkno, cgoffset, cgmask, ncg, ipg, fpg, cgsize, sbsize, csaddr, cssize,
    nindir: sb.fs_nindir, inopb: sb.fs_inopb, dinodeSize, ptrSize, size, dsize, minfree: sb.fs_minfree,
    maxsymlinklen: ufs === 1 && sb.fs_old_inodefmt < FS_44INODEFMT ? 0 : maxsym,
    flags, clean: sb.fs_clean, oldFormat: ufs === 1 && sb.fs_old_inodefmt < FS_44INODEFMT,
    maxcontig: sb.fs_maxcontig, contigsumsize: contig, cstotal, time,
    // soft updates' in-flight frees (sectors, inodes); absent from pre-UFS2-era superblocks, and ignored when absurd
    pendingblocks: updated && sb.fs_pendingblocks > 0n && sb.fs_pendingblocks <= BigInt(size * (fsize / DEV_BSIZE)) ? Number(sb.fs_pendingblocks) : 0,
    pendinginodes: updated && sb.fs_pendinginodes <= ncg * ipg ? sb.fs_pendinginodes : 0,
    maxino: ncg * ipg,
  };
}

/** sizeof(struct csum) */
export const CSUM_SIZE = 16;
/** sizeof(struct cg) up to its maps. */
export const CG_MIN_SIZE = 168;

/* ---- addresses (the fs.h macros), all in fragments ------------------------------------------ */

/** cgbase: first fragment of cylinder group `c`. */
export function cgbase(g: Geometry, c: number): number { return g.fpg * c; }
/** cgstart: cgbase plus the UFS1 rotational stagger. */
export function cgstart(g: Geometry, c: number): number {
  return g.ufs === 1 ? cgbase(g, c) + g.cgoffset * (c & ~g.cgmask) : cgbase(g, c);
}
/** cgtod: fragment address of cylinder group `c`'s cg block. */
export function cgtod(g: Geometry, c: number): number { return cgstart(g, c) + g.cblkno; }
/** cgsblock: fragment address of cylinder group `c`'s superblock copy. */
export function cgsblock(g: Geometry, c: number): number { return cgstart(g, c) + g.sblkno; }
/** cgimin: first inode block of cylinder group `c`. */
export function cgimin(g: Geometry, c: number): number { return cgstart(g, c) + g.iblkno; }
/** cgdmin: first data fragment of cylinder group `c`. */
export function cgdmin(g: Geometry, c: number): number { return cgstart(g, c) + g.dblkno; }
/** ino_to_cg */
export function inoToCg(g: Geometry, ino: number): number { return Math.floor(ino / g.ipg); }
/** ino_to_fsba: fragment address of the block holding inode `ino`. */
export function inoToFsba(g: Geometry, ino: number): number {
  return cgimin(g, inoToCg(g, ino)) + Math.floor((ino % g.ipg) / g.inopb) * g.frag;
}
/** ino_to_fsbo: index of inode `ino` within its block. */
export function inoToFsbo(g: Geometry, ino: number): number { return (ino % g.ipg) % g.inopb; }
/** dtog: cylinder group of fragment `d`. */
export function dtog(g: Geometry, d: number): number { return Math.floor(d / g.fpg); }
