/**
 * Directory entries (struct ext2_dir_entry / ext2_dir_entry_2) and directory blocks.
 *
 * A directory block is a chain of entries covering it exactly: inode (u32, 0 = unused), rec_len
 * (u16, distance to the next entry), name_len (u16 in revision 0 layouts; with the filetype
 * feature a u8 followed by a u8 file type), then the name, not NUL-terminated. `parseDirBlock`
 * walks a block and checks every entry: rec_len at least 8 and a multiple of 4, the name fits
 * inside rec_len, no entry crosses the block end, inode numbers within the file system. Errors
 * are EFTYPE naming the directory inode, logical block and byte offset.
 *
 * 64 KiB blocks encode rec_len 65536 as 65535 or 0 (e2fsprogs' ext2fs_get_rec_len). Padding after
 * a name is never touched by emitDirEntry, so parse -> emit preserves every byte. Pure module.
 */

import { DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_UNKNOWN } from '../../kern/types.js';
import { corrupt, need, view } from './codec.js';

export const EXT2_DIR_ENTRY_HEADER = 8;
export const EXT2_NAME_LEN = 255;
export const EXT4_MAX_REC_LEN = 65535;

// file_type
export const EXT2_FT_UNKNOWN = 0, EXT2_FT_REG_FILE = 1, EXT2_FT_DIR = 2, EXT2_FT_CHRDEV = 3, EXT2_FT_BLKDEV = 4;
export const EXT2_FT_FIFO = 5, EXT2_FT_SOCK = 6, EXT2_FT_SYMLINK = 7;
/** file_type of the metadata_csum tail entry that ends a leaf block. */
export const EXT2_FT_DIR_CSUM = 0xde;

const FT_TO_DT = [DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK];

/** DT_* for an ext2 file type (DT_UNKNOWN for none or unknown). */
export function ftToDt(ft: number): number {
  return FT_TO_DT[ft] ?? DT_UNKNOWN;
}

/** ext2 file type for a mode's S_IFMT bits. */
export function modeToFt(mode: number): number {
  switch (mode & 0o170000) {
    case 0o100000: return EXT2_FT_REG_FILE;
    case 0o040000: return EXT2_FT_DIR;
    case 0o020000: return EXT2_FT_CHRDEV;
    case 0o060000: return EXT2_FT_BLKDEV;
    case 0o010000: return EXT2_FT_FIFO;
    case 0o140000: return EXT2_FT_SOCK;
    case 0o120000: return EXT2_FT_SYMLINK;
    default: return EXT2_FT_UNKNOWN;
  }
}

/** EXT2_DIR_REC_LEN: the smallest rec_len for a name of `nameLen` bytes. */
export function dirRecLen(nameLen: number): number {
  return (nameLen + EXT2_DIR_ENTRY_HEADER + 3) & ~3;
}

/** rec_len as stored -> bytes (65536-byte blocks store their full length as 65535 or 0). */
export function recLenFromDisk(v: number, blockSize: number): number {
  if (blockSize < 65536) return v;
  if (v === EXT4_MAX_REC_LEN || v === 0) return blockSize;
  return (v & 65532) | ((v & 3) << 16);
}

export function recLenToDisk(len: number, blockSize: number): number {
  if (blockSize < 65536 || len < 65536) return len;
  if (len === blockSize) return blockSize === 65536 ? EXT4_MAX_REC_LEN : 0;
  return (len & 65532) | ((len >>> 16) & 3);
}

export interface DirEntry {
  /** Byte offset of the entry in its block. */
  offset: number;
  inode: number;
  /** Bytes to the next entry (decoded). */
  rec_len: number;
  name_len: number;
  /** EXT2_FT_* with the filetype feature, else 0 (the high byte of a 16-bit name_len). */
  file_type: number;
  /** The name's bytes (a view into the block). */
  name: Uint8Array;
}

export interface DirBlockContext {
  /** Directory entries carry a file type (incompat filetype). */
  filetype: boolean;
  /** Largest valid inode number (s_inodes_count); entries beyond it are corrupt. */
  maxIno: number;
  /** For messages: the directory's inode number and the logical block. */
  dirIno?: number;
  lblk?: number;
}

function where(ctx: DirBlockContext, off: number): string {
  return `directory inode ${ctx.dirIno ?? '?'}, block ${ctx.lblk ?? '?'}, offset ${off}`;
}

/**
 * Walk the entries of a directory block in place, checking each, and call `fn` with its fields
 * (the name is at `offset + 8`, `name_len` bytes) until it returns true. Returns whether `fn`
 * stopped the walk. The block length is the file system block size.
 */
export function forEachDirEntry(block: Uint8Array, ctx: DirBlockContext,
  fn: (offset: number, inode: number, recLen: number, nameLen: number, fileType: number) => boolean): boolean {
  const size = block.length;
  const dv = view(block);
  let off = 0;
  while (off < size) {
    if (size - off < EXT2_DIR_ENTRY_HEADER) corrupt(`${where(ctx, off)}: ${size - off} bytes left, too few for an entry`);
    const inode = dv.getUint32(off, true);
    const recLen = recLenFromDisk(dv.getUint16(off + 4, true), size);
    let nameLen: number;
    let fileType: number;
    if (ctx.filetype) {
      nameLen = dv.getUint8(off + 6);
      fileType = dv.getUint8(off + 7);
    } else {
      nameLen = dv.getUint16(off + 6, true);
      fileType = 0;
    }
    if (recLen < EXT2_DIR_ENTRY_HEADER) corrupt(`${where(ctx, off)}: rec_len ${recLen} is less than 8`);
    if ((recLen & 3) !== 0) corrupt(`${where(ctx, off)}: rec_len ${recLen} is not a multiple of 4`);
    if (off + recLen > size) corrupt(`${where(ctx, off)}: rec_len ${recLen} crosses the end of the ${size}-byte block`);
    if (nameLen > EXT2_NAME_LEN) corrupt(`${where(ctx, off)}: name_len ${nameLen} exceeds 255`);
    if (EXT2_DIR_ENTRY_HEADER + nameLen > recLen) corrupt(`${where(ctx, off)}: name_len ${nameLen} does not fit rec_len ${recLen}`);
    if (inode > ctx.maxIno) corrupt(`${where(ctx, off)}: inode ${inode} is beyond the last inode ${ctx.maxIno}`);
    if (inode !== 0 && nameLen === 0) corrupt(`${where(ctx, off)}: entry for inode ${inode} has an empty name`);
    if (fn(off, inode, recLen, nameLen, fileType)) return true;
    off += recLen;
  }
  return false;
}

/** Every entry of a directory block (unused ones included, inode 0), checked; names are views into the block. */
export function parseDirBlock(block: Uint8Array, ctx: DirBlockContext): DirEntry[] {
  const out: DirEntry[] = [];
  forEachDirEntry(block, ctx, (offset, inode, recLen, nameLen, fileType) => {
    out.push({
      offset, inode, rec_len: recLen, name_len: nameLen, file_type: fileType,
      name: block.subarray(offset + EXT2_DIR_ENTRY_HEADER, offset + EXT2_DIR_ENTRY_HEADER + nameLen),
    });
    return false;
  });
  return out;
}

/** The inode of the used entry named `name` in a directory block (checked on the way), or null. */
export function findDirEntry(block: Uint8Array, ctx: DirBlockContext, name: Uint8Array): number | null {
  let found: number | null = null;
  const n = name.length;
  forEachDirEntry(block, ctx, (offset, inode, _recLen, nameLen) => {
    if (inode === 0 || nameLen !== n) return false;
    const at = offset + EXT2_DIR_ENTRY_HEADER;
    for (let i = 0; i < n; i++) if (block[at + i] !== name[i]) return false;
    found = inode;
    return true;
  });
  return found;
}

/** Write entry `e` at `e.offset` of `block` (header and name only; bytes after the name are kept). */
export function emitDirEntry(block: Uint8Array, e: DirEntry, filetype: boolean): void {
  need(block, e.offset, e.rec_len, 'ext2 directory entry');
  if (e.name.length !== e.name_len) corrupt(`directory entry: name_len ${e.name_len} but the name has ${e.name.length} bytes`);
  if (EXT2_DIR_ENTRY_HEADER + e.name_len > e.rec_len || (e.rec_len & 3) !== 0 || e.rec_len < EXT2_DIR_ENTRY_HEADER) {
    corrupt(`directory entry: rec_len ${e.rec_len} does not hold name_len ${e.name_len} or is not a multiple of 4`);
  }
  const dv = view(block);
  dv.setUint32(e.offset, e.inode, true);
  dv.setUint16(e.offset + 4, recLenToDisk(e.rec_len, block.length), true);
  if (filetype) {
    dv.setUint8(e.offset + 6, e.name_len);
    dv.setUint8(e.offset + 7, e.file_type);
  } else {
    dv.setUint16(e.offset + 6, e.name_len, true);
  }
  block.set(e.name, e.offset + EXT2_DIR_ENTRY_HEADER);
}

/**
 * A directory block of `blockSize` bytes holding `entries` (name, inode, file type) packed in
 * order, the last one stretched to the block end. EINVAL-like EFTYPE if they do not fit.
 */
export function buildDirBlock(entries: readonly { name: Uint8Array; inode: number; fileType: number }[], blockSize: number, filetype: boolean): Uint8Array {
  const block = new Uint8Array(blockSize);
  let off = 0;
  entries.forEach((x, i) => {
    const last = i === entries.length - 1;
    const len = last ? blockSize - off : dirRecLen(x.name.length);
    if (off + dirRecLen(x.name.length) > blockSize) corrupt(`directory block: ${entries.length} entries do not fit ${blockSize} bytes`);
    emitDirEntry(block, { offset: off, inode: x.inode, rec_len: len, name_len: x.name.length, file_type: filetype ? x.fileType : 0, name: x.name }, filetype);
    off += len;
  });
  if (entries.length === 0) {
    emitDirEntry(block, { offset: 0, inode: 0, rec_len: blockSize, name_len: 0, file_type: 0, name: new Uint8Array(0) }, filetype);
  }
  return block;
}

/** Do the name bytes equal `name`? */
export function nameEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
