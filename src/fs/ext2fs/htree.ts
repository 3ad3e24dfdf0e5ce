/**
 * Hash-tree (dir_index) directories: the name hashes and the index blocks, for lookups.
 *
 * An indexed directory (EXT2_INDEX_FL) keeps ordinary directory blocks as leaves, plus index
 * blocks that look empty to a linear reader. Block 0 is the dx_root: fake '.' (rec_len 12) and
 * '..' (rec_len to the block end) entries, then dx_root_info (reserved u32, hash_version u8,
 * info_length u8 = 8, indirect_levels u8, unused_flags u8) and the dx entries. Interior dx_node
 * blocks start with one fake empty entry spanning the block (8 bytes), then their dx entries.
 * The first dx entry's hash slot holds (limit u16, count u16); every entry is (hash u32, logical
 * block u32), entry i covering hashes from hash[i] up to hash[i+1] (entry 0 from 0). A hash with
 * the low bit set in a next entry means the previous leaf's hash range continues there.
 *
 * Hashes (ext4 wiki "Hash Tree Directories", Linux fs/ext4/hash.c): legacy (dx_hack_hash),
 * half-MD4 and TEA, each in a signed-char and an unsigned-char variant (the superblock's
 * EXT2_FLAGS_UNSIGNED_HASH picks the unsigned ones), seeded by s_hash_seed. SipHash (casefolded
 * encrypted directories) is not implemented: `dirhash` returns null, callers scan linearly.
 * Pure module; errors are EFTYPE naming the directory and block.
 */

import { corrupt, view } from './codec.js';
import { EXT2_DIR_ENTRY_HEADER, recLenFromDisk } from './dir_entry.js';

export const DX_HASH_LEGACY = 0, DX_HASH_HALF_MD4 = 1, DX_HASH_TEA = 2;
export const DX_HASH_LEGACY_UNSIGNED = 3, DX_HASH_HALF_MD4_UNSIGNED = 4, DX_HASH_TEA_UNSIGNED = 5, DX_HASH_SIPHASH = 6;
export const DX_HASH_NAMES: readonly string[] = ['legacy', 'half_md4', 'tea', 'legacy_unsigned', 'half_md4_unsigned', 'tea_unsigned', 'siphash'];
/** Hash values end below this (the "end of directory" hash for 32-bit cookies, shifted). */
const EXT4_HTREE_EOF_32BIT = 0x7fffffff;

export interface DirHash { hash: number; minor: number }

function dxHackHash(name: Uint8Array, signed: boolean): number {
  let hash0 = 0x12a3fe2d, hash1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    const c = signed ? (name[i]! << 24) >> 24 : name[i]!;
    let hash = (hash1 + ((hash0 ^ Math.imul(c, 7152373)) >>> 0)) >>> 0;
    if ((hash & 0x80000000) !== 0) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

/** str2hashbuf: pack up to num*4 name bytes into `num` words, padded with the length. */
function str2hashbuf(msg: Uint8Array, start: number, len: number, num: number, signed: boolean): number[] {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const out: number[] = [];
  const n = Math.min(len, num * 4);
  for (let i = 0; i < n; i++) {
    const b = msg[start + i]!;
    const c = signed ? (b << 24) >> 24 : b;
    val = (c + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out.push(val);
      val = pad;
    }
  }
  if (out.length < num) out.push(val);
  while (out.length < num) out.push(pad);
  return out;
}

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

const K2 = 0x5a827999, K3 = 0x6ed9eba1;

function halfMd4Transform(buf: number[], inp: readonly number[]): void {
  let a = buf[0]!, b = buf[1]!, c = buf[2]!, d = buf[3]!;
  const F = (x: number, y: number, z: number): number => (z ^ (x & (y ^ z))) >>> 0;
  const G = (x: number, y: number, z: number): number => (((x & y) >>> 0) + (((x ^ y) & z) >>> 0)) >>> 0;
  const H = (x: number, y: number, z: number): number => (x ^ y ^ z) >>> 0;
  const x = (i: number): number => inp[i]!;
  const R = (f: (x: number, y: number, z: number) => number, p: number, q: number, r: number, s: number, v: number, sh: number): number =>
    rol32((p + f(q, r, s) + v) >>> 0, sh);
  // round 1
  a = R(F, a, b, c, d, x(0), 3); d = R(F, d, a, b, c, x(1), 7); c = R(F, c, d, a, b, x(2), 11); b = R(F, b, c, d, a, x(3), 19);
  a = R(F, a, b, c, d, x(4), 3); d = R(F, d, a, b, c, x(5), 7); c = R(F, c, d, a, b, x(6), 11); b = R(F, b, c, d, a, x(7), 19);
  // round 2
  a = R(G, a, b, c, d, (x(1) + K2) >>> 0, 3); d = R(G, d, a, b, c, (x(3) + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (x(5) + K2) >>> 0, 9); b = R(G, b, c, d, a, (x(7) + K2) >>> 0, 13);
  a = R(G, a, b, c, d, (x(0) + K2) >>> 0, 3); d = R(G, d, a, b, c, (x(2) + K2) >>> 0, 5);
  c = R(G, c, d, a, b, (x(4) + K2) >>> 0, 9); b = R(G, b, c, d, a, (x(6) + K2) >>> 0, 13);
  // round 3
  a = R(H, a, b, c, d, (x(3) + K3) >>> 0, 3); d = R(H, d, a, b, c, (x(7) + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (x(2) + K3) >>> 0, 11); b = R(H, b, c, d, a, (x(6) + K3) >>> 0, 15);
  a = R(H, a, b, c, d, (x(1) + K3) >>> 0, 3); d = R(H, d, a, b, c, (x(5) + K3) >>> 0, 9);
  c = R(H, c, d, a, b, (x(0) + K3) >>> 0, 11); b = R(H, b, c, d, a, (x(4) + K3) >>> 0, 15);
  buf[0] = (buf[0]! + a) >>> 0;
  buf[1] = (buf[1]! + b) >>> 0;
  buf[2] = (buf[2]! + c) >>> 0;
  buf[3] = (buf[3]! + d) >>> 0;
}

const DELTA = 0x9e3779b9;

function teaTransform(buf: number[], inp: readonly number[]): void {
  let sum = 0;
  let b0 = buf[0]!, b1 = buf[1]!;
  const a = inp[0]!, b = inp[1]!, c = inp[2]!, d = inp[3]!;
  for (let n = 0; n < 16; n++) {
    sum = (sum + DELTA) >>> 0;
    b0 = (b0 + ((((b1 << 4) >>> 0) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b))) >>> 0;
    b1 = (b1 + ((((b0 << 4) >>> 0) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d))) >>> 0;
  }
  buf[0] = (buf[0]! + b0) >>> 0;
  buf[1] = (buf[1]! + b1) >>> 0;
}

/**
 * The directory hash of `name` for hash `version` (DX_HASH_*), seeded by `seed` (four words; all
 * zero or absent: the default seed). null for versions not implemented (siphash, unknown).
 */
export function dirhash(name: Uint8Array, version: number, seed?: readonly number[]): DirHash | null {
  const buf = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  if (seed !== undefined && seed.some((w) => w !== 0)) for (let i = 0; i < 4; i++) buf[i] = seed[i]! >>> 0;
  let hash: number;
  let minor = 0;
  switch (version) {
    case DX_HASH_LEGACY:
    case DX_HASH_LEGACY_UNSIGNED:
      hash = dxHackHash(name, version === DX_HASH_LEGACY);
      break;
    case DX_HASH_HALF_MD4:
    case DX_HASH_HALF_MD4_UNSIGNED: {
      const signed = version === DX_HASH_HALF_MD4;
      for (let p = 0, len = name.length; len > 0; p += 32, len -= 32) halfMd4Transform(buf, str2hashbuf(name, p, len, 8, signed));
      minor = buf[2]!;
      hash = buf[1]!;
      break;
    }
    case DX_HASH_TEA:
    case DX_HASH_TEA_UNSIGNED: {
      const signed = version === DX_HASH_TEA;
      for (let p = 0, len = name.length; len > 0; p += 16, len -= 16) teaTransform(buf, str2hashbuf(name, p, len, 4, signed));
      hash = buf[0]!;
      minor = buf[1]!;
      break;
    }
    default:
      return null;
  }
  hash = (hash & ~1) >>> 0;
  if (hash === ((EXT4_HTREE_EOF_32BIT << 1) >>> 0)) hash = ((EXT4_HTREE_EOF_32BIT - 1) << 1) >>> 0;
  return { hash, minor };
}

/** The hash version a directory uses: its dx_root's, moved to the unsigned variant when the superblock says so. */
export function effectiveHashVersion(rootVersion: number, unsignedHash: boolean): number {
  return rootVersion <= DX_HASH_TEA && unsignedHash ? rootVersion + 3 : rootVersion;
}

export interface DxEntry { hash: number; block: number }

export interface DxRoot {
  dotInode: number;
  dotdotInode: number;
  reservedZero: number;
  hashVersion: number;
  infoLength: number;
  indirectLevels: number;
  unusedFlags: number;
  limit: number;
  count: number;
  /** entries[0].hash is 0 (its slot holds limit and count). */
  entries: DxEntry[];
}

export interface DxNode {
  limit: number;
  count: number;
  entries: DxEntry[];
}

export interface DxContext {
  /** For messages: "directory inode 12". */
  what: string;
  /** Blocks in the directory: child block numbers must be below. */
  dirBlocks: number;
  /** large_dir: three levels of index allowed instead of two. */
  largeDir: boolean;
}

function parseEntries(b: Uint8Array, at: number, ctx: DxContext, where: string): { limit: number; count: number; entries: DxEntry[] } {
  const dv = view(b);
  if (at + 8 > b.length) corrupt(`${ctx.what}, ${where}: no room for dx entries`);
  const limit = dv.getUint16(at, true);
  const count = dv.getUint16(at + 2, true);
  const room = Math.floor((b.length - at) / 8);
  if (limit === 0 || limit > room) corrupt(`${ctx.what}, ${where}: dx limit ${limit} does not fit the block (room for ${room})`);
  if (count === 0 || count > limit) corrupt(`${ctx.what}, ${where}: dx count ${count} is 0 or exceeds limit ${limit}`);
  const entries: DxEntry[] = [];
  for (let i = 0; i < count; i++) {
    const p = at + i * 8;
    const hash = i === 0 ? 0 : dv.getUint32(p, true);
    const block = dv.getUint32(p + 4, true);
    if (block >= ctx.dirBlocks) corrupt(`${ctx.what}, ${where}: dx entry ${i} points at block ${block}, past the directory's ${ctx.dirBlocks} blocks`);
    if (i > 0 && hash < entries[i - 1]!.hash) corrupt(`${ctx.what}, ${where}: dx entry ${i} hash 0x${hash.toString(16)} is below the previous one`);
    entries.push({ hash, block });
  }
  return { limit, count, entries };
}

/** Parse block 0 of an indexed directory. */
export function parseDxRoot(b: Uint8Array, ctx: DxContext): DxRoot {
  const dv = view(b);
  const where = 'dx_root';
  if (b.length < 0x28) corrupt(`${ctx.what}, ${where}: block too small`);
  const dotRec = recLenFromDisk(dv.getUint16(4, true), b.length);
  if (dotRec !== 12 || dv.getUint8(6) !== 1 || dv.getUint8(8) !== 0x2e) corrupt(`${ctx.what}, ${where}: the first entry is not a 12-byte '.'`);
  const ddRec = recLenFromDisk(dv.getUint16(16, true), b.length);
  if (ddRec !== b.length - 12 || dv.getUint8(18) !== 2 || dv.getUint8(20) !== 0x2e || dv.getUint8(21) !== 0x2e) {
    corrupt(`${ctx.what}, ${where}: the second entry is not '..' spanning the block`);
  }
  const infoLength = dv.getUint8(0x1d);
  if (infoLength !== 8) corrupt(`${ctx.what}, ${where}: info_length ${infoLength} is not 8`);
  const indirectLevels = dv.getUint8(0x1e);
  const maxLevels = ctx.largeDir ? 3 : 2;
  if (indirectLevels >= maxLevels) corrupt(`${ctx.what}, ${where}: indirect_levels ${indirectLevels} is not below ${maxLevels}`);
  const unusedFlags = dv.getUint8(0x1f);
  const e = parseEntries(b, 0x18 + infoLength, ctx, where);
  return {
    dotInode: dv.getUint32(0, true),
    dotdotInode: dv.getUint32(12, true),
    reservedZero: dv.getUint32(0x18, true),
    hashVersion: dv.getUint8(0x1c),
    infoLength, indirectLevels, unusedFlags, ...e,
  };
}

/** Parse an interior index block. */
export function parseDxNode(b: Uint8Array, lblk: number, ctx: DxContext): DxNode {
  const dv = view(b);
  const where = `dx_node at block ${lblk}`;
  if (b.length < 16) corrupt(`${ctx.what}, ${where}: block too small`);
  const rec = recLenFromDisk(dv.getUint16(4, true), b.length);
  if (dv.getUint32(0, true) !== 0 || rec !== b.length) corrupt(`${ctx.what}, ${where}: does not start with an empty entry spanning the block`);
  return parseEntries(b, EXT2_DIR_ENTRY_HEADER, ctx, where);
}

/** Index of the last entry with hash <= h (entry 0 always qualifies). */
function probe(entries: readonly DxEntry[], h: number): number {
  let lo = 1, hi = entries.length - 1, ans = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.hash <= h) {
      ans = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return ans;
}

/**
 * The leaf blocks that may hold a name of hash `hash`, in order (dx_probe, then
 * ext4_htree_next_block while the following leaves start with the same hash). `node(lblk)` gives
 * the parsed dx_node at a directory block (parseDxNode; the caller may cache them). Yields at
 * most `ctx.dirBlocks` leaves (more means a corrupt index).
 */
export async function* dxLeaves(root: DxRoot, hash: number, ctx: DxContext, node: (lblk: number) => Promise<DxNode>): AsyncGenerator<number> {
  interface Frame { entries: DxEntry[]; at: number }
  const path: Frame[] = [{ entries: root.entries, at: probe(root.entries, hash) }];
  // first descent: probe at every level
  while (path.length <= root.indirectLevels) {
    const f = path[path.length - 1]!;
    const n = await node(f.entries[f.at]!.block);
    path.push({ entries: n.entries, at: probe(n.entries, hash) });
  }
  let yielded = 0;
  for (;;) {
    const leaf = path[path.length - 1]!;
    if (++yielded > ctx.dirBlocks) corrupt(`${ctx.what}: hash tree visits more leaves than the directory has blocks`);
    yield leaf.entries[leaf.at]!.block;
    // ext4_htree_next_block: climb to a level with a next entry
    let lvl = path.length - 1;
    while (lvl >= 0 && path[lvl]!.at + 1 >= path[lvl]!.entries.length) lvl--;
    if (lvl < 0) return;
    const f = path[lvl]!;
    f.at++;
    const bhash = f.entries[f.at]!.hash;
    if (((bhash & ~1) >>> 0) !== hash) return;
    path.length = lvl + 1;
    while (path.length <= root.indirectLevels) {
      const p = path[path.length - 1]!;
      const n = await node(p.entries[p.at]!.block);
      path.push({ entries: n.entries, at: 0 });
    }
  }
}
