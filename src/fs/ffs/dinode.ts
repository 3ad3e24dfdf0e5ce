/**
 * On-disk inodes: struct ufs1_dinode (128 bytes) and struct ufs2_dinode (256 bytes), in either
 * byte order.
 *
 *   const d = parseDinode(bytes, off, ufs, le);  // the stored fields (64-bit ones as bigint)
 *   const i = inodeView(d, opts);                // checked numbers the file system works with
 *   emitDinode(d)                                // the same bytes back
 *
 * UFS1: 32-bit times (seconds and nanoseconds), 32-bit block pointers, owners at byte 112 (4.4BSD
 * format) or 16-bit owners at byte 4 (4.2BSD format, fs_old_inodefmt < FS_44INODEFMT). UFS2:
 * 64-bit times with birth time, 64-bit block pointers, extended attribute area (di_extsize,
 * di_extb). Block pointers are fragment addresses. A device node keeps its device number in
 * di_db[0]; a fast symbolic link keeps its target in the bytes of di_db and di_ib. Pure module.
 */

import { corrupt, decode, encode, need, type Field } from './codec.js';

export const UFS1_DINODE_SIZE = 128;
export const UFS2_DINODE_SIZE = 256;
/** Direct and indirect block pointers per inode. */
export const UFS_NDADDR = 12;
export const UFS_NIADDR = 3;
export const UFS_NXADDR = 2;
/** Inode numbers: 0 unused, 1 historically the bad-block inode, 2 the root. */
export const UFS_ROOTINO = 2;
/** Byte offset of di_db in each format (the fast symlink area). */
export const UFS1_DB_OFFSET = 40;
export const UFS2_DB_OFFSET = 112;

export interface Dinode1 {
  di_mode: number;
  di_nlink: number;
  /** 4.2BSD owners (4.4BSD: di_inumber / unused). */
  di_ouid: number;
  di_ogid: number;
  di_size: bigint;
  di_atime: number;
  di_atimensec: number;
  di_mtime: number;
  di_mtimensec: number;
  di_ctime: number;
  di_ctimensec: number;
  di_db: number[];
  di_ib: number[];
  di_flags: number;
  di_blocks: number;
  di_gen: number;
  di_uid: number;
  di_gid: number;
  di_modrev: bigint;
}

export interface Dinode2 {
  di_mode: number;
  di_nlink: number;
  di_uid: number;
  di_gid: number;
  di_blksize: number;
  di_size: bigint;
  di_blocks: bigint;
  di_atime: bigint;
  di_mtime: bigint;
  di_ctime: bigint;
  di_birthtime: bigint;
  di_mtimensec: number;
  di_atimensec: number;
  di_ctimensec: number;
  di_birthnsec: number;
  di_gen: number;
  di_kernflags: number;
  di_flags: number;
  di_extsize: number;
  di_extb: bigint[];
  di_db: bigint[];
  di_ib: bigint[];
  di_modrev: bigint;
  di_spare: Uint8Array;
}

export type Dinode = ({ ufs: 1 } & Dinode1 | { ufs: 2 } & Dinode2) & { le: boolean; raw: Uint8Array };

const ptrs = (name: string, off: number, n: number, kind: 'i32' | 'i64'): Field[] =>
  Array.from({ length: n }, (_, i): Field => [`${name}${i}`, off + i * (kind === 'i32' ? 4 : 8), kind]);

const FIELDS1: readonly Field[] = [
  ['di_mode', 0, 'u16'], ['di_nlink', 2, 'i16'], ['di_ouid', 4, 'u16'], ['di_ogid', 6, 'u16'], ['di_size', 8, 'u64'],
  ['di_atime', 16, 'i32'], ['di_atimensec', 20, 'i32'], ['di_mtime', 24, 'i32'], ['di_mtimensec', 28, 'i32'],
  ['di_ctime', 32, 'i32'], ['di_ctimensec', 36, 'i32'],
  ...ptrs('di_db', 40, UFS_NDADDR, 'i32'), ...ptrs('di_ib', 88, UFS_NIADDR, 'i32'),
  ['di_flags', 100, 'u32'], ['di_blocks', 104, 'u32'], ['di_gen', 108, 'i32'], ['di_uid', 112, 'u32'], ['di_gid', 116, 'u32'],
  ['di_modrev', 120, 'u64'],
];

const FIELDS2: readonly Field[] = [
  ['di_mode', 0, 'u16'], ['di_nlink', 2, 'i16'], ['di_uid', 4, 'u32'], ['di_gid', 8, 'u32'], ['di_blksize', 12, 'u32'],
  ['di_size', 16, 'u64'], ['di_blocks', 24, 'u64'], ['di_atime', 32, 'i64'], ['di_mtime', 40, 'i64'], ['di_ctime', 48, 'i64'],
  ['di_birthtime', 56, 'i64'], ['di_mtimensec', 64, 'i32'], ['di_atimensec', 68, 'i32'], ['di_ctimensec', 72, 'i32'],
  ['di_birthnsec', 76, 'i32'], ['di_gen', 80, 'i32'], ['di_kernflags', 84, 'u32'], ['di_flags', 88, 'u32'],
  ['di_extsize', 92, 'i32'], ...ptrs('di_extb', 96, UFS_NXADDR, 'i64'),
  ...ptrs('di_db', 112, UFS_NDADDR, 'i64'), ...ptrs('di_ib', 208, UFS_NIADDR, 'i64'),
  ['di_modrev', 232, 'u64'], ['di_spare', 240, { bytes: 16 }],
];

const ARRAYS: readonly (readonly [string, number])[] = [['di_db', UFS_NDADDR], ['di_ib', UFS_NIADDR], ['di_extb', UFS_NXADDR]];

/** Decode the inode of format `ufs` at byte `off` of `b`. */
export function parseDinode(b: Uint8Array, off: number, ufs: 1 | 2, le: boolean): Dinode {
  const size = ufs === 1 ? UFS1_DINODE_SIZE : UFS2_DINODE_SIZE;
  need(b, off, size, `ufs${ufs} dinode`);
  const rec = decode<Record<string, unknown>>(b, off, ufs === 1 ? FIELDS1 : FIELDS2, le);
  for (const [name, n] of ARRAYS) {
    if (ufs === 1 && name === 'di_extb') continue;
    const arr: unknown[] = [];
    for (let i = 0; i < n; i++) {
      arr.push(rec[`${name}${i}`]);
      delete rec[`${name}${i}`];
    }
    rec[name] = arr;
  }
  rec['ufs'] = ufs;
  rec['le'] = le;
  rec['raw'] = b.slice(off, off + size);
  return rec as unknown as Dinode;
}

/** The inode's bytes: `raw` with every field written back. */
export function emitDinode(d: Dinode): Uint8Array {
  const out = d.raw.slice();
  const rec: Record<string, unknown> = { ...d };
  for (const [name, n] of ARRAYS) {
    if (d.ufs === 1 && name === 'di_extb') continue;
    const arr = rec[name] as unknown[];
    if (!Array.isArray(arr) || arr.length !== n) throw new RangeError(`ufs${d.ufs} dinode: ${name} must have ${n} entries`);
    arr.forEach((v, i) => { rec[`${name}${i}`] = v; });
  }
  need(out, 0, d.ufs === 1 ? UFS1_DINODE_SIZE : UFS2_DINODE_SIZE, `ufs${d.ufs} dinode`);
  encode(out, 0, d.ufs === 1 ? FIELDS1 : FIELDS2, rec, d.le, `ufs${d.ufs} dinode`);
  return out;
}

/** A blank (all zero) inode record: for newfs and tests. */
export function blankDinode(ufs: 1 | 2, le: boolean): Dinode {
  return parseDinode(new Uint8Array(ufs === 1 ? UFS1_DINODE_SIZE : UFS2_DINODE_SIZE), 0, ufs, le);
}

export interface Timespec { sec: number; nsec: number }

/** The checked view of an inode the file system works with. */
export interface Inode {
  ufs: 1 | 2;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
  /** Allocated 512-byte sectors (st_blocks). */
  blocks: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
  /** UFS2 only; zero on UFS1. */
  birthtime: Timespec;
  flags: number;
  gen: number;
  /** Direct and indirect block pointers (fragment addresses; 0 = hole). Numbers: values past 2^53 lose precision but stay out of range. */
  db: number[];
  ib: number[];
  /** UFS2 extended attribute area size, bytes. */
  extsize: number;
  /** di_db[0] as a device number. */
  rdev: number;
  /** The bytes of di_db and di_ib: a fast symbolic link's target. */
  shortlink: Uint8Array;
}

export interface InodeViewOptions {
  /** 4.2BSD inode format: owners from the 16-bit fields at byte 4. */
  oldFormat?: boolean;
  /** Largest valid size (the block map's reach); EFTYPE above it. */
  maxSize?: number;
}

function ts(sec: number | bigint, nsec: number): Timespec {
  return { sec: Number(sec), nsec: nsec >= 0 && nsec < 1e9 ? nsec : 0 };
}

/** Checked numbers of `d`: EFTYPE naming the field when a size is impossible. */
export function inodeView(d: Dinode, o: InodeViewOptions = {}): Inode {
  if (d.di_size > BigInt(o.maxSize ?? Number.MAX_SAFE_INTEGER)) corrupt(`di_size ${d.di_size} is larger than the file system can address (${o.maxSize ?? Number.MAX_SAFE_INTEGER})`);
  const size = Number(d.di_size);
  const dbOff = d.ufs === 1 ? UFS1_DB_OFFSET : UFS2_DB_OFFSET;
  const shortlink = d.raw.subarray(dbOff, dbOff + (d.ufs === 1 ? 60 : 120));
  if (d.ufs === 1) {
    return {
      ufs: 1, mode: d.di_mode, nlink: d.di_nlink < 0 ? 0 : d.di_nlink,
      uid: o.oldFormat === true ? d.di_ouid : d.di_uid, gid: o.oldFormat === true ? d.di_ogid : d.di_gid,
      size, blocks: d.di_blocks,
      atime: ts(d.di_atime, d.di_atimensec), mtime: ts(d.di_mtime, d.di_mtimensec), ctime: ts(d.di_ctime, d.di_ctimensec),
      birthtime: { sec: 0, nsec: 0 }, flags: d.di_flags, gen: d.di_gen >>> 0,
      db: [...d.di_db], ib: [...d.di_ib], extsize: 0, rdev: (d.di_db[0] ?? 0) >>> 0, shortlink,
    };
  }
  if (d.di_blocks > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(`di_blocks ${d.di_blocks} is impossibly large`);
  return {
    ufs: 2, mode: d.di_mode, nlink: d.di_nlink < 0 ? 0 : d.di_nlink, uid: d.di_uid, gid: d.di_gid,
    size, blocks: Number(d.di_blocks),
    atime: ts(d.di_atime, d.di_atimensec), mtime: ts(d.di_mtime, d.di_mtimensec), ctime: ts(d.di_ctime, d.di_ctimensec),
    birthtime: ts(d.di_birthtime, d.di_birthnsec), flags: d.di_flags, gen: d.di_gen >>> 0,
    db: d.di_db.map(Number), ib: d.di_ib.map(Number), extsize: d.di_extsize < 0 ? 0 : d.di_extsize,
    rdev: Number((d.di_db[0] ?? 0n) & 0xffffffffn), shortlink,
  };
}
