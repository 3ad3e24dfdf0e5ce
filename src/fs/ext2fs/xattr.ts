/**
 * Extended attributes, read side: the attribute block named by i_file_acl and the in-inode area
 * after i_extra_isize of large inodes.
 *
 * Block: a 32-byte header (h_magic 0xea020000, h_refcount, h_blocks = 1, h_hash, h_checksum,
 * reserved), then entries from byte 32. In-inode: a u32 magic right after 128 + i_extra_isize,
 * then entries. An entry is e_name_len u8, e_name_index u8, e_value_offs u16, e_value_inum u32,
 * e_value_size u32, e_hash u32 and the name, padded to 4 bytes; the list ends with four zero
 * bytes. Values sit at e_value_offs from the block start (block) or from the first entry
 * (in-inode), unless e_value_inum names an inode holding the value (ea_inode).
 *
 * Parsing checks that every entry and value lies inside its area and values do not overlap the
 * entry table; EFTYPE naming the inode and entry otherwise. Pure module.
 */

import { corrupt, need, view } from './codec.js';

export const EXT2_EXT_ATTR_MAGIC = 0xea020000;
/** The original magic, still accepted by e2fsprogs. */
export const EXT2_EXT_ATTR_MAGIC_v1 = 0xea010000;
export const XATTR_HEADER_SIZE = 32;
export const XATTR_ENTRY_HEADER = 16;

/** e_name_index -> name prefix. */
export const XATTR_PREFIXES: Readonly<Record<number, string>> = {
  1: 'user.',
  2: 'system.posix_acl_access',
  3: 'system.posix_acl_default',
  4: 'trusted.',
  6: 'security.',
  7: 'system.',
  8: 'system.richacl',
};

export interface XattrEntry {
  /** Offset of the entry in its area. */
  offset: number;
  e_name_len: number;
  e_name_index: number;
  e_value_offs: number;
  e_value_inum: number;
  e_value_size: number;
  e_hash: number;
  /** The stored name suffix (without the index's prefix). */
  name: Uint8Array;
  /** The value, or null when it lives in inode e_value_inum. */
  value: Uint8Array | null;
}

export interface XattrHeader {
  h_magic: number;
  h_refcount: number;
  h_blocks: number;
  h_hash: number;
  h_checksum: number;
}

export interface XattrBlock {
  header: XattrHeader;
  entries: XattrEntry[];
  raw: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The full attribute name: prefix of the index plus the stored suffix ("user.comment"). */
export function xattrName(e: Pick<XattrEntry, 'e_name_index' | 'name'>): string {
  const prefix = XATTR_PREFIXES[e.e_name_index] ?? `unknown${e.e_name_index}.`;
  return prefix + utf8.decode(e.name);
}

/**
 * The entries of an area: `area` holds entries from `entriesAt`; values are at offsets from
 * `valueBase` within `area`.
 */
function parseEntries(area: Uint8Array, entriesAt: number, valueBase: number, what: string): XattrEntry[] {
  const dv = view(area);
  const out: XattrEntry[] = [];
  let off = entriesAt;
  for (;;) {
    if (off + 4 > area.length) corrupt(`${what}: attribute list at offset ${off} runs past the end without a terminator`);
    if (dv.getUint32(off, true) === 0) break;
    if (off + XATTR_ENTRY_HEADER > area.length) corrupt(`${what}: attribute entry at offset ${off} crosses the end of its area`);
    const e: XattrEntry = {
      offset: off,
      e_name_len: dv.getUint8(off),
      e_name_index: dv.getUint8(off + 1),
      e_value_offs: dv.getUint16(off + 2, true),
      e_value_inum: dv.getUint32(off + 4, true),
      e_value_size: dv.getUint32(off + 8, true),
      e_hash: dv.getUint32(off + 12, true),
      name: new Uint8Array(0),
      value: null,
    };
    const next = off + ((XATTR_ENTRY_HEADER + e.e_name_len + 3) & ~3);
    if (next > area.length) corrupt(`${what}: attribute entry at offset ${off} with a ${e.e_name_len}-byte name crosses the end of its area`);
    e.name = area.slice(off + XATTR_ENTRY_HEADER, off + XATTR_ENTRY_HEADER + e.e_name_len);
    out.push(e);
    off = next;
  }
  const tableEnd = off + 4;
  for (const e of out) {
    if (e.e_value_inum !== 0) continue;
    const start = valueBase + e.e_value_offs;
    const end = start + e.e_value_size;
    if (e.e_value_size > 0 && (start < tableEnd || end > area.length)) {
      corrupt(`${what}: value of attribute '${xattrName(e)}' (offset ${e.e_value_offs}, ${e.e_value_size} bytes) is outside the value area`);
    }
    e.value = area.slice(start, e.e_value_size > 0 ? end : start);
  }
  return out;
}

/** Parse an attribute block. `what` names it for messages ("inode 12, attribute block 345"). */
export function parseXattrBlock(b: Uint8Array, what: string): XattrBlock {
  need(b, 0, XATTR_HEADER_SIZE, 'ext2 attribute block');
  const dv = view(b);
  const header: XattrHeader = {
    h_magic: dv.getUint32(0, true),
    h_refcount: dv.getUint32(4, true),
    h_blocks: dv.getUint32(8, true),
    h_hash: dv.getUint32(12, true),
    h_checksum: dv.getUint32(16, true),
  };
  if (header.h_magic !== EXT2_EXT_ATTR_MAGIC && header.h_magic !== EXT2_EXT_ATTR_MAGIC_v1) {
    corrupt(`${what}: h_magic 0x${header.h_magic.toString(16)} is not 0xea020000`);
  }
  if (header.h_blocks !== 1) corrupt(`${what}: h_blocks ${header.h_blocks} is not 1`);
  return { header, entries: parseEntries(b, XATTR_HEADER_SIZE, 0, what), raw: b };
}

/**
 * The in-inode attributes of a large inode (`raw` is the whole inode, `extraIsize` its
 * i_extra_isize): [] when there is no room or no magic.
 */
export function parseInodeXattrs(raw: Uint8Array, extraIsize: number, what: string): XattrEntry[] {
  const start = 128 + extraIsize;
  if (raw.length <= 128 || start + 4 > raw.length) return [];
  if (view(raw).getUint32(start, true) !== EXT2_EXT_ATTR_MAGIC) return [];
  const area = raw.subarray(start + 4);
  return parseEntries(area, 0, 0, `${what}, in-inode attributes`);
}

/** The block's bytes with the header and entry headers written over `raw` (values and names kept). */
export function emitXattrBlock(x: XattrBlock): Uint8Array {
  const out = x.raw.slice();
  const dv = view(out);
  dv.setUint32(0, x.header.h_magic, true);
  dv.setUint32(4, x.header.h_refcount, true);
  dv.setUint32(8, x.header.h_blocks, true);
  dv.setUint32(12, x.header.h_hash, true);
  dv.setUint32(16, x.header.h_checksum, true);
  for (const e of x.entries) {
    need(out, e.offset, XATTR_ENTRY_HEADER + e.e_name_len, 'ext2 attribute entry');
    dv.setUint8(e.offset, e.e_name_len);
    dv.setUint8(e.offset + 1, e.e_name_index);
    dv.setUint16(e.offset + 2, e.e_value_offs, true);
    dv.setUint32(e.offset + 4, e.e_value_inum, true);
    dv.setUint32(e.offset + 8, e.e_value_size, true);
    dv.setUint32(e.offset + 12, e.e_hash, true);
    out.set(e.name, e.offset + XATTR_ENTRY_HEADER);
  }
  return out;
}
