/**
 * Directory reading: lookup (through the hash-tree index when the directory has one and its
 * hash is implemented, otherwise a linear scan) and readdir with cookies that are byte offsets
 * in the directory.
 *
 * A readdir cookie is the offset of the next entry to return. A cookie that does not fall on an
 * entry (lseek to an arbitrary offset) resumes at the first entry at or after it in its block.
 * Holes in a directory (unusual, but seen) are skipped a whole map run at a time. A corrupt index
 * falls back to the linear scan (Linux does the same); a corrupt directory block is EIO naming
 * the inode, block and offset.
 *
 * Blocks are parsed in place in the buffer cache (inside `withBlock`), so a lookup allocates
 * nothing per block; names are copied out only for readdir.
 *
 * Large directories without a usable hash index (linear directories, including every directory
 * the read-write mount has changed) get an in-memory name index (DirIndex) on first use: every
 * name with where its entry is, and per block the room left for a new entry. It is built by one
 * scan and kept exact by dirops.ts, which makes every change of the directory while the vnode
 * lives (entries never move, so the locations stay valid). Its memory is proportional to the
 * entries the directory really holds.
 */

import { KernelError } from '../../kern/errno.js';
import { DT_UNKNOWN } from '../../kern/types.js';
import type { ReaddirEntry, ReaddirResult } from '../../vfs/vnode.js';
import { asIoError } from './codec.js';
import { dirRecLen, forEachDirEntry, ftToDt, type DirBlockContext } from './dir_entry.js';
import type { Ext2Fs } from './ext2fs.js';
import type { MapRun } from './extents.js';
import { dirhash, dxLeaves, effectiveHashVersion, parseDxNode, parseDxRoot, type DxContext, type DxNode, type DxRoot } from './htree.js';
import { EXT2_INDEX_FL, inodeSize, type Inode } from './inode.js';

const utf8dec = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

/** What directory reading needs from a directory vnode. */
export interface DirNode {
  readonly fs: Ext2Fs;
  readonly ino: number;
  readonly inode: Inode;
  /** The block map run at `lblk` (cached by the vnode). */
  mapRun(lblk: number, want: number): Promise<MapRun>;
  /** Parsed index blocks by logical block (valid while the directory does not change). */
  readonly dxCache: Map<number, DxRoot | DxNode>;
  /** The in-memory name index, once built. */
  index: DirIndex | null;
}

/** Where a directory entry is. */
export interface DirEntryLoc {
  ino: number;
  lblk: number;
  /** Byte offset of the entry in its block. */
  off: number;
  fileType: number;
}

/** Directories up to this many blocks are scanned; larger ones get a DirIndex. */
export const LINEAR_MAX_BLOCKS = 4;

/** A directory's names and free room, in memory (see the module comment). */
export class DirIndex {
  /** nameKey(name) -> location (every used entry but '.' and '..'). */
  readonly names = new Map<string, DirEntryLoc>();
  /** Logical block -> the longest entry that fits in it now (bytes); holes are absent. */
  readonly room = new Map<number, number>();
}

/** A name's bytes as a map key (one char per byte: distinct byte strings stay distinct). */
export function nameKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The longest entry (rec_len) a new name could get in directory block `b`. */
export function blockRoom(b: Uint8Array, ctx: DirBlockContext): number {
  let best = 0;
  forEachDirEntry(b, ctx, (_off, inode, recLen, nameLen) => {
    const free = inode === 0 ? recLen : recLen - dirRecLen(nameLen);
    if (free > best) best = free;
    return false;
  });
  return best;
}

/** The blocks of a directory (its size rounded up). */
export function dirBlocks(fs: Ext2Fs, inode: Inode): number {
  return Math.ceil(inodeSize(inode, fs.inodeFeatures) / fs.blockSize);
}

/** Run `fn` on logical block `lblk` of the directory in place; null for a hole. */
export async function withDirBlock<T>(d: DirNode, lblk: number, fn: (b: Uint8Array) => T): Promise<T | null> {
  const run = await d.mapRun(lblk, 1);
  if (run.pblk === 0) return null;
  return d.fs.withBlock(run.pblk, `directory inode ${d.ino} block ${lblk}`, fn);
}

export function blockContext(d: DirNode, lblk: number): DirBlockContext {
  return { filetype: d.fs.filetype, maxIno: d.fs.geo.inodesCount, dirIno: d.ino, lblk };
}

/** A directory block's checks failing are the file system's I/O errors. */
export function checked<T>(d: DirNode, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asIoError(e, d.fs.from);
  }
}

/**
 * Call `fn` on every block from `from` on, in place, in order, until it returns true. Holes are
 * skipped a run at a time (a hostile size over holes costs one map lookup per run, not one per
 * block).
 */
export async function forEachDirBlock(d: DirNode, from: number, fn: (lblk: number, b: Uint8Array) => boolean): Promise<void> {
  const nblocks = dirBlocks(d.fs, d.inode);
  let lblk = from;
  while (lblk < nblocks) {
    const run = await d.mapRun(lblk, nblocks - lblk);
    if (run.pblk === 0) {
      lblk += run.count;
      continue;
    }
    for (let i = 0; i < run.count && lblk < nblocks; i++, lblk++) {
      const at = lblk;
      const stop = await d.fs.withBlock(run.pblk + i, `directory inode ${d.ino} block ${at}`, (b) => checked(d, () => fn(at, b)));
      if (stop) return;
    }
  }
}

/** Find the entry named `nb` in directory block `b` (checked on the way). */
function findInBlock(b: Uint8Array, ctx: DirBlockContext, lblk: number, nb: Uint8Array): DirEntryLoc | null {
  let found: DirEntryLoc | null = null;
  const n = nb.length;
  forEachDirEntry(b, ctx, (off, inode, _recLen, nameLen, fileType) => {
    if (inode === 0 || nameLen !== n) return false;
    const at = off + 8;
    for (let i = 0; i < n; i++) if (b[at + i] !== nb[i]) return false;
    found = { ino: inode, lblk, off, fileType };
    return true;
  });
  return found;
}

/** The inode number `name` names in directory `d`, or null. */
export async function dirLookup(d: DirNode, name: string): Promise<number | null> {
  const nb = utf8enc.encode(name);
  if (nb.length === 0 || nb.length > 255) return null;
  return (await dirFind(d, nb))?.ino ?? null;
}

/** Does directory `d` use its hash-tree index for lookups? */
export function dirIsIndexed(d: DirNode): boolean {
  return d.fs.dirIndex && (d.inode.i_flags & EXT2_INDEX_FL) !== 0 && dirBlocks(d.fs, d.inode) > 1;
}

/** The entry named `nb` in directory `d` and where it is, or null. */
export async function dirFind(d: DirNode, nb: Uint8Array): Promise<DirEntryLoc | null> {
  const fs = d.fs;
  const dots = (nb.length === 1 && nb[0] === 0x2e) || (nb.length === 2 && nb[0] === 0x2e && nb[1] === 0x2e);
  if (!dots) {
    if (d.index === null && dirIsIndexed(d)) {
      const r = await htreeFind(d, nb);
      if (r !== undefined) {
        fs.stats.htreeLookups++;
        return r;
      }
      fs.stats.htreeFallbacks++;
    }
    if (d.index === null && dirBlocks(fs, d.inode) > LINEAR_MAX_BLOCKS) d.index = await buildDirIndex(d);
    if (d.index !== null) {
      fs.stats.indexedLookups++;
      return d.index.names.get(nameKey(nb)) ?? null;
    }
  }
  fs.stats.linearLookups++;
  let found: DirEntryLoc | null = null;
  await forEachDirBlock(d, 0, (lblk, b) => (found = findInBlock(b, blockContext(d, lblk), lblk, nb)) !== null);
  return found;
}

/** Scan the whole directory once into a DirIndex. */
export async function buildDirIndex(d: DirNode): Promise<DirIndex> {
  const idx = new DirIndex();
  await forEachDirBlock(d, 0, (lblk, b) => {
    const ctx = blockContext(d, lblk);
    idx.room.set(lblk, blockRoom(b, ctx));
    forEachDirEntry(b, ctx, (off, inode, _recLen, nameLen, fileType) => {
      if (inode === 0) return false;
      if ((nameLen === 1 && b[off + 8] === 0x2e) || (nameLen === 2 && b[off + 8] === 0x2e && b[off + 9] === 0x2e)) return false;
      idx.names.set(nameKey(b.subarray(off + 8, off + 8 + nameLen)), { ino: inode, lblk, off, fileType });
      return false;
    });
    return false;
  });
  return idx;
}

/** The hash-tree context of directory `d`. */
export function dxContext(d: DirNode): DxContext {
  return { what: `directory inode ${d.ino}`, dirBlocks: dirBlocks(d.fs, d.inode), largeDir: d.fs.inodeFeatures.largeDir };
}

/**
 * The leaf blocks that may hold `name` by the index, or undefined when the index cannot be used
 * (unsupported hash, corrupt index).
 */
export async function htreeLeaves(d: DirNode, name: Uint8Array): Promise<number[] | undefined> {
  const fs = d.fs;
  const ctx = dxContext(d);
  /** An index block, parsed once and then kept (a lookup then allocates nothing for the index). */
  const index = async <T extends DxRoot | DxNode>(lblk: number, parse: (b: Uint8Array) => T): Promise<T> => {
    const cached = d.dxCache.get(lblk);
    if (cached !== undefined) return cached as T;
    const r = await withDirBlock(d, lblk, (b) => ({ v: parse(b) }));
    if (r === null) throw new KernelError('EFTYPE', `${ctx.what}: the index points at block ${lblk}, which is a hole`);
    d.dxCache.set(lblk, r.v);
    return r.v;
  };
  const leaves: number[] = [];
  try {
    const root = await index(0, (b) => parseDxRoot(b, ctx));
    if ((root.unusedFlags & 1) !== 0) return undefined;
    const h = dirhash(name, effectiveHashVersion(root.hashVersion, fs.unsignedHash), fs.seed);
    if (h === null) return undefined;
    for await (const leaf of dxLeaves(root, h.hash, ctx, (lblk) => index(lblk, (b) => parseDxNode(b, lblk, ctx)))) leaves.push(leaf);
  } catch (e) {
    if (e instanceof KernelError && e.code === 'EFTYPE') return undefined;
    throw e;
  }
  return leaves;
}

/**
 * Lookup through the index: the entry, null if the name is not there, or undefined when the
 * index cannot be used and the caller must scan.
 */
async function htreeFind(d: DirNode, name: Uint8Array): Promise<DirEntryLoc | null | undefined> {
  const leaves = await htreeLeaves(d, name);
  if (leaves === undefined) return undefined;
  for (const leaf of leaves) {
    const found = await withDirBlock(d, leaf, (b) => checked(d, () => findInBlock(b, blockContext(d, leaf), leaf, name)));
    if (found !== null) return found;
  }
  return null;
}

/** VOP_READDIR over directory `d`: entries from byte offset `cookie`, at most `count`. */
export async function dirReaddir(d: DirNode, cookie: number, count: number): Promise<ReaddirResult> {
  const fs = d.fs;
  const size = inodeSize(d.inode, fs.inodeFeatures);
  const bs = fs.blockSize;
  const out: ReaddirEntry[] = [];
  if (!Number.isSafeInteger(cookie) || cookie < 0) throw new KernelError('EINVAL', `directory offset ${cookie} is not valid`);
  let pos = cookie;
  if (pos < size) {
    await forEachDirBlock(d, Math.floor(pos / bs), (lblk, b) => {
      const base = lblk * bs;
      pos = Math.max(pos, base);
      let next = base + bs;
      forEachDirEntry(b, blockContext(d, lblk), (offset, inode, recLen, nameLen, fileType) => {
        if (base + offset < pos) return false;
        if (out.length >= count) {
          next = base + offset;
          return true;
        }
        if (inode !== 0) {
          out.push({
            name: utf8dec.decode(b.subarray(offset + 8, offset + 8 + nameLen)),
            fileid: inode,
            type: fs.filetype ? ftToDt(fileType) : DT_UNKNOWN,
            cookie: base + offset + recLen,
          });
        }
        return false;
      });
      pos = next;
      return out.length >= count;
    });
  }
  if (out.length < count) pos = Math.max(pos, size);
  return { entries: out, eof: pos >= size };
}
