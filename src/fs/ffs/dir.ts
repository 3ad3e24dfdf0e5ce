/**
 * Directory entries (struct direct) in 512-byte directory blocks (DIRBLKSIZ).
 *
 *   d_ino u32 | d_reclen u16 | d_type u8 | d_namlen u8 | d_name[namlen] NUL, padded to 4 bytes
 *
 * Old-format directories (4.2BSD inode format) have no d_type: bytes 6-7 hold a 16-bit
 * d_namlen in the file system's byte order. Entries never cross a DIRBLKSIZ boundary: each chunk
 * is covered exactly by its entries' d_reclen, the last entry's record running to the chunk's end.
 * An entry with d_ino 0 is free space (only the first of a chunk can be one).
 *
 * Every entry is checked before use, as NetBSD's ufs_dirbadentry does: d_reclen a multiple of 4,
 * at least DIRSIZ(namlen), not past the chunk; d_namlen at most 255; the name without NUL and
 * NUL-terminated; d_ino below the file system's inode count. A bad entry is EFTYPE naming the
 * directory, offset and field; since every record is at least 12 bytes, a walk always ends.
 * Pure module.
 */

import { DT_UNKNOWN } from '../../kern/types.js';
import { corrupt, need, view } from './codec.js';

export const DIRBLKSIZ = 512;
export const UFS_MAXNAMLEN = 255;

/** DIRSIZ: bytes an entry with a name of `namlen` bytes needs. */
export function direntSize(namlen: number): number {
  return 8 + ((namlen + 1 + 3) & ~3);
}

/** How to read a directory chunk. */
export interface DirContext {
  /** Byte order of the file system. */
  le: boolean;
  /** Old (4.2BSD) format: no d_type, 16-bit d_namlen. */
  oldFormat: boolean;
  /** Inode numbers must be below this (fs_ncg * fs_ipg). */
  maxino: number;
  /** For messages: 'directory inode 5'. */
  what: string;
  /** Byte offset of `b[0]` in the directory, for messages. */
  base: number;
}

export interface DirEntry {
  ino: number;
  reclen: number;
  /** DT_* (DT_UNKNOWN in old-format directories). */
  type: number;
  name: Uint8Array;
  /** Offset of the entry in the buffer it was parsed from. */
  offset: number;
}

/**
 * Walk the entries of the DIRBLKSIZ-aligned chunks of `b` (its length a multiple of DIRBLKSIZ),
 * calling `fn(offset, ino, reclen, type, namlen)` for each (free ones included) until it returns
 * true. The name is at `offset + 8`. EFTYPE for a bad entry.
 */
export function forEachDirEntry(b: Uint8Array, ctx: DirContext,
  fn: (offset: number, ino: number, reclen: number, type: number, namlen: number) => boolean): boolean {
  if (b.length % DIRBLKSIZ !== 0) throw new RangeError(`directory block of ${b.length} bytes is not a multiple of ${DIRBLKSIZ}`);
  const dv = view(b);
  const le = ctx.le;
  for (let chunk = 0; chunk < b.length; chunk += DIRBLKSIZ) {
    const end = chunk + DIRBLKSIZ;
    let off = chunk;
    while (off < end) {
      const where = (): string => `${ctx.what}: entry at offset ${ctx.base + off}`;
      if (end - off < 8) corrupt(`${where()}: only ${end - off} bytes left in the ${DIRBLKSIZ}-byte directory block`);
      const ino = dv.getUint32(off, le);
      const reclen = dv.getUint16(off + 4, le);
      let type: number, namlen: number;
      if (ctx.oldFormat) {
        type = DT_UNKNOWN;
        namlen = dv.getUint16(off + 6, le);
      } else {
        type = b[off + 6]!;
        namlen = b[off + 7]!;
      }
      if (reclen === 0 || (reclen & 3) !== 0) corrupt(`${where()}: d_reclen ${reclen} is not a positive multiple of 4`);
      if (reclen > end - off) corrupt(`${where()}: d_reclen ${reclen} runs past the end of its ${DIRBLKSIZ}-byte directory block`);
      if (namlen > UFS_MAXNAMLEN) corrupt(`${where()}: d_namlen ${namlen} is longer than ${UFS_MAXNAMLEN}`);
      if (reclen < direntSize(namlen)) corrupt(`${where()}: d_reclen ${reclen} is too short for a ${namlen}-byte name (needs ${direntSize(namlen)})`);
      if (ino !== 0) {
        if (ino >= ctx.maxino) corrupt(`${where()}: d_ino ${ino} is out of range (the file system has ${ctx.maxino} inodes)`);
        if (namlen === 0) corrupt(`${where()}: d_namlen is 0 for inode ${ino}`);
        const name = b.subarray(off + 8, off + 8 + namlen);
        if (name.includes(0)) corrupt(`${where()}: the name holds a NUL byte`);
        if (b[off + 8 + namlen] !== 0) corrupt(`${where()}: the name is not NUL-terminated`);
      }
      if (fn(off, ino, reclen, type, namlen)) return true;
      off += reclen;
    }
  }
  return false;
}

/** Every entry of the chunks of `b` (free ones included). */
export function parseDirBlock(b: Uint8Array, ctx: DirContext): DirEntry[] {
  const out: DirEntry[] = [];
  forEachDirEntry(b, ctx, (offset, ino, reclen, type, namlen) => {
    out.push({ ino, reclen, type, name: b.slice(offset + 8, offset + 8 + namlen), offset });
    return false;
  });
  return out;
}

/** The inode number of entry `name` in the chunks of `b`, or null. Allocates nothing. */
export function findDirEntry(b: Uint8Array, ctx: DirContext, name: Uint8Array): number | null {
  let found: number | null = null;
  forEachDirEntry(b, ctx, (offset, ino, _reclen, _type, namlen) => {
    if (ino === 0 || namlen !== name.length) return false;
    for (let i = 0; i < namlen; i++) if (b[offset + 8 + i] !== name[i]) return false;
    found = ino;
    return true;
  });
  return found;
}

/** Write one entry at `off` of `b` (name NUL-padded to its DIRSIZ; the rest of the record untouched). */
export function emitDirEntry(b: Uint8Array, off: number, e: { ino: number; reclen: number; type: number; name: Uint8Array }, le: boolean, oldFormat = false): void {
  if (e.name.length > UFS_MAXNAMLEN) throw new RangeError(`directory entry name of ${e.name.length} bytes is longer than ${UFS_MAXNAMLEN}`);
  if (e.reclen < direntSize(e.name.length) || (e.reclen & 3) !== 0) throw new RangeError(`d_reclen ${e.reclen} does not fit a ${e.name.length}-byte name`);
  need(b, off, e.reclen, 'directory entry');
  const dv = view(b);
  dv.setUint32(off, e.ino, le);
  dv.setUint16(off + 4, e.reclen, le);
  if (oldFormat) dv.setUint16(off + 6, e.name.length, le);
  else {
    b[off + 6] = e.type;
    b[off + 7] = e.name.length;
  }
  b.set(e.name, off + 8);
  b.fill(0, off + 8 + e.name.length, off + direntSize(e.name.length));
}

/**
 * Directory chunks holding `entries` in order, `size` bytes (a multiple of DIRBLKSIZ, default
 * just enough): each entry takes its DIRSIZ, the last of each chunk runs to the chunk's end, and
 * chunks left empty hold one free entry. RangeError if they do not fit.
 */
export function buildDirBlock(entries: readonly { ino: number; type: number; name: Uint8Array }[], le: boolean, size?: number, oldFormat = false): Uint8Array {
  const chunks: { ino: number; type: number; name: Uint8Array }[][] = [[]];
  let used = 0;
  for (const e of entries) {
    const need = direntSize(e.name.length);
    if (used + need > DIRBLKSIZ) {
      chunks.push([]);
      used = 0;
    }
    chunks[chunks.length - 1]!.push(e);
    used += need;
  }
  const total = size ?? chunks.length * DIRBLKSIZ;
  if (total % DIRBLKSIZ !== 0 || total < chunks.length * DIRBLKSIZ) throw new RangeError(`${entries.length} entries do not fit ${total} bytes of directory`);
  const out = new Uint8Array(total);
  for (let c = 0; c < total / DIRBLKSIZ; c++) {
    const list = chunks[c] ?? [];
    let off = c * DIRBLKSIZ;
    if (list.length === 0) {
      emitDirEntry(out, off, { ino: 0, reclen: DIRBLKSIZ, type: 0, name: new Uint8Array(0) }, le, oldFormat);
      continue;
    }
    list.forEach((e, i) => {
      const reclen = i === list.length - 1 ? c * DIRBLKSIZ + DIRBLKSIZ - off : direntSize(e.name.length);
      emitDirEntry(out, off, { ...e, reclen }, le, oldFormat);
      off += reclen;
    });
  }
  return out;
}
