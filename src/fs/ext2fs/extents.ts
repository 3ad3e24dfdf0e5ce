/**
 * ext4 extent trees: the block map of inodes with EXT4_EXTENTS_FL.
 *
 * A node is a 12-byte header (magic 0xf30a, entries, max, depth, generation) followed by `max`
 * slots of 12 bytes: index entries (first logical block, child node block) when depth > 0,
 * extents (first logical block, length, first physical block) at depth 0. The root lives in the
 * inode's 60-byte i_block (4 slots); other nodes fill a block (a checksum tail may follow the slots).
 * Lengths above 32768 mark unwritten (preallocated) extents, which read as zeros.
 *
 * `parseExtentNode` checks one node: magic, entries <= max <= what fits, depth <= 5, logical
 * blocks ascending and not overlapping, physical blocks inside the file system. `extentMap` walks
 * from the root to the run holding a logical block, requiring each child to be exactly one level
 * below its parent, so a hostile tree can neither loop nor go deeper than 5 levels. Errors are
 * EFTYPE naming the inode and node. Pure module: the caller supplies block reads.
 */

import { corrupt, need, view } from './codec.js';

export const EXT4_EXT_MAGIC = 0xf30a;
export const EXT4_MAX_EXTENT_DEPTH = 5;
export const EXT4_EXT_HEADER_SIZE = 12;
export const EXT4_EXT_ENTRY_SIZE = 12;
/** Longest initialized extent; longer ee_len values are unwritten extents of ee_len - 32768. */
export const EXT_INIT_MAX_LEN = 32768;
/** Logical block numbers are 32 bits: the map ends here. */
export const EXT_MAX_LBLK = 0x1_0000_0000;

export interface ExtentHeader {
  eh_magic: number;
  eh_entries: number;
  eh_max: number;
  eh_depth: number;
  eh_generation: number;
}

export interface ExtentIndex {
  ei_block: number;
  /** ei_leaf_lo + ei_leaf_hi << 32 */
  ei_leaf: number;
  ei_unused: number;
}

export interface Extent {
  ee_block: number;
  /** As stored (> 32768: unwritten). */
  ee_len: number;
  /** ee_start_lo + ee_start_hi << 32 */
  ee_start: number;
}

export interface ExtentNode {
  header: ExtentHeader;
  /** depth > 0 */
  indexes: ExtentIndex[];
  /** depth 0 */
  extents: Extent[];
  /** The node's bytes (60 for the root, a block otherwise). */
  raw: Uint8Array;
}

/** Blocks an extent maps and whether it is unwritten. */
export function extentLength(e: Extent): { len: number; unwritten: boolean } {
  return e.ee_len > EXT_INIT_MAX_LEN ? { len: e.ee_len - EXT_INIT_MAX_LEN, unwritten: true } : { len: e.ee_len, unwritten: false };
}

export interface ExtentContext {
  /** For messages, e.g. "inode 12". */
  what: string;
  /** Physical blocks must lie in [firstBlock, blocksCount). */
  firstBlock: number;
  blocksCount: number;
}

/** Parse and check one node held in `b` (the whole of `b`: 60 bytes for the root, a block otherwise). */
export function parseExtentNode(b: Uint8Array, ctx: ExtentContext, nodeName = 'extent root'): ExtentNode {
  need(b, 0, EXT4_EXT_HEADER_SIZE, 'extent node');
  const dv = view(b);
  const w = `${ctx.what}, ${nodeName}`;
  const header: ExtentHeader = {
    eh_magic: dv.getUint16(0, true),
    eh_entries: dv.getUint16(2, true),
    eh_max: dv.getUint16(4, true),
    eh_depth: dv.getUint16(6, true),
    eh_generation: dv.getUint32(8, true),
  };
  if (header.eh_magic !== EXT4_EXT_MAGIC) corrupt(`${w}: eh_magic 0x${header.eh_magic.toString(16)} is not 0xf30a`);
  const fit = Math.floor((b.length - EXT4_EXT_HEADER_SIZE) / EXT4_EXT_ENTRY_SIZE);
  if (header.eh_max > fit) corrupt(`${w}: eh_max ${header.eh_max} exceeds the ${fit} entries that fit`);
  if (header.eh_entries > header.eh_max) corrupt(`${w}: eh_entries ${header.eh_entries} exceeds eh_max ${header.eh_max}`);
  if (header.eh_depth > EXT4_MAX_EXTENT_DEPTH) corrupt(`${w}: eh_depth ${header.eh_depth} exceeds ${EXT4_MAX_EXTENT_DEPTH}`);
  const indexes: ExtentIndex[] = [];
  const extents: Extent[] = [];
  let prevEnd = -1;
  for (let i = 0; i < header.eh_entries; i++) {
    const p = EXT4_EXT_HEADER_SIZE + i * EXT4_EXT_ENTRY_SIZE;
    const lblk = dv.getUint32(p, true);
    if (header.eh_depth > 0) {
      const ix: ExtentIndex = {
        ei_block: lblk,
        ei_leaf: dv.getUint16(p + 8, true) * 0x1_0000_0000 + dv.getUint32(p + 4, true),
        ei_unused: dv.getUint16(p + 10, true),
      };
      if (i > 0 && lblk <= indexes[i - 1]!.ei_block) corrupt(`${w}: index ${i} starts at logical block ${lblk}, not after index ${i - 1}`);
      if (ix.ei_leaf < ctx.firstBlock || ix.ei_leaf >= ctx.blocksCount) {
        corrupt(`${w}: index ${i} points at block ${ix.ei_leaf}, outside the file system (${ctx.blocksCount} blocks)`);
      }
      indexes.push(ix);
    } else {
      const e: Extent = {
        ee_block: lblk,
        ee_len: dv.getUint16(p + 4, true),
        ee_start: dv.getUint16(p + 6, true) * 0x1_0000_0000 + dv.getUint32(p + 8, true),
      };
      const { len } = extentLength(e);
      if (len === 0) corrupt(`${w}: extent ${i} has length 0`);
      if (lblk < prevEnd) corrupt(`${w}: extent ${i} at logical block ${lblk} overlaps the previous extent (ending at ${prevEnd})`);
      if (lblk + len > EXT_MAX_LBLK) corrupt(`${w}: extent ${i} runs past logical block 2^32`);
      if (e.ee_start < ctx.firstBlock || e.ee_start + len > ctx.blocksCount) {
        corrupt(`${w}: extent ${i} maps blocks ${e.ee_start}..${e.ee_start + len - 1}, outside the file system (${ctx.blocksCount} blocks)`);
      }
      prevEnd = lblk + len;
      extents.push(e);
    }
  }
  return { header, indexes, extents, raw: b };
}

/** The node's bytes: `raw` with the header and the parsed entries written over it. */
export function emitExtentNode(n: ExtentNode): Uint8Array {
  const out = n.raw.slice();
  const dv = view(out);
  const entries = n.header.eh_depth > 0 ? n.indexes.length : n.extents.length;
  if (EXT4_EXT_HEADER_SIZE + entries * EXT4_EXT_ENTRY_SIZE > out.length) corrupt(`extent node: ${entries} entries do not fit ${out.length} bytes`);
  dv.setUint16(0, n.header.eh_magic, true);
  dv.setUint16(2, n.header.eh_entries, true);
  dv.setUint16(4, n.header.eh_max, true);
  dv.setUint16(6, n.header.eh_depth, true);
  dv.setUint32(8, n.header.eh_generation, true);
  const hi = (v: number): number => Math.floor(v / 0x1_0000_0000);
  const lo = (v: number): number => v % 0x1_0000_0000;
  if (n.header.eh_depth > 0) {
    n.indexes.forEach((ix, i) => {
      const p = EXT4_EXT_HEADER_SIZE + i * EXT4_EXT_ENTRY_SIZE;
      dv.setUint32(p, ix.ei_block, true);
      dv.setUint32(p + 4, lo(ix.ei_leaf), true);
      dv.setUint16(p + 8, hi(ix.ei_leaf), true);
      dv.setUint16(p + 10, ix.ei_unused, true);
    });
  } else {
    n.extents.forEach((e, i) => {
      const p = EXT4_EXT_HEADER_SIZE + i * EXT4_EXT_ENTRY_SIZE;
      dv.setUint32(p, e.ee_block, true);
      dv.setUint16(p + 4, e.ee_len, true);
      dv.setUint16(p + 6, hi(e.ee_start), true);
      dv.setUint32(p + 8, lo(e.ee_start), true);
    });
  }
  return out;
}

/** A run of the block map: `count` logical blocks from the asked one, at `pblk` (0: a hole, reads as zeros). */
export interface MapRun {
  pblk: number;
  count: number;
}

/** Index of the last entry whose first block is <= lblk, or -1. */
function lastAtOrBefore(starts: (i: number) => number, n: number, lblk: number): number {
  let lo = 0, hi = n - 1, ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts(mid) <= lblk) {
      ans = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return ans;
}

/**
 * Map logical block `lblk` through the tree rooted in `root` (i_block): the run starting there,
 * cut at the end of its extent or hole. `withNode(pblk, fn)` runs `fn` on the bytes of a tree block.
 */
export async function extentMap(root: Uint8Array, lblk: number, ctx: ExtentContext,
  withNode: <T>(pblk: number, fn: (b: Uint8Array) => T) => Promise<T>): Promise<MapRun> {
  let node = parseExtentNode(root, ctx);
  /** First logical block past what this node covers. */
  let end = EXT_MAX_LBLK;
  if (lblk >= EXT_MAX_LBLK) return { pblk: 0, count: Number.MAX_SAFE_INTEGER - lblk };
  for (let level = 0; ; level++) {
    const depth = node.header.eh_depth;
    if (depth === 0) break;
    const ix = node.indexes;
    const i = lastAtOrBefore((k) => ix[k]!.ei_block, ix.length, lblk);
    if (i < 0) {
      // before the first index (or an empty index node): a hole up to the first child
      return { pblk: 0, count: (ix.length > 0 ? Math.min(end, ix[0]!.ei_block) : end) - lblk };
    }
    if (i + 1 < ix.length) end = Math.min(end, ix[i + 1]!.ei_block);
    const child = ix[i]!.ei_leaf;
    const next = await withNode(child, (b) => parseExtentNode(b, ctx, `extent node at block ${child} (level ${level + 1})`));
    if (next.header.eh_depth !== depth - 1) {
      corrupt(`${ctx.what}, extent node at block ${child}: eh_depth ${next.header.eh_depth} should be ${depth - 1} below its parent`);
    }
    node = next;
  }
  const ex = node.extents;
  const i = lastAtOrBefore((k) => ex[k]!.ee_block, ex.length, lblk);
  if (i >= 0) {
    const e = ex[i]!;
    const { len, unwritten } = extentLength(e);
    if (lblk < e.ee_block + len) {
      const count = Math.min(e.ee_block + len, end) - lblk;
      return { pblk: unwritten ? 0 : e.ee_start + (lblk - e.ee_block), count: Math.max(1, count) };
    }
  }
  const nextStart = i + 1 < ex.length ? ex[i + 1]!.ee_block : end;
  return { pblk: 0, count: Math.max(1, Math.min(nextStart, end) - lblk) };
}
