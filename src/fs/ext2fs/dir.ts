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
 */

import { KernelError } from '../../kern/errno.js';
import { DT_UNKNOWN } from '../../kern/types.js';
import type { ReaddirEntry, ReaddirResult } from '../../vfs/vnode.js';
import { asIoError } from './codec.js';
import { findDirEntry, forEachDirEntry, ftToDt, type DirBlockContext } from './dir_entry.js';
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
}

/** The blocks of a directory (its size rounded up). */
export function dirBlocks(fs: Ext2Fs, inode: Inode): number {
  return Math.ceil(inodeSize(inode, fs.inodeFeatures) / fs.blockSize);
}

/** Run `fn` on logical block `lblk` of the directory in place; null for a hole. */
async function withDirBlock<T>(d: DirNode, lblk: number, fn: (b: Uint8Array) => T): Promise<T | null> {
  const run = await d.mapRun(lblk, 1);
  if (run.pblk === 0) return null;
  return d.fs.withBlock(run.pblk, `directory inode ${d.ino} block ${lblk}`, fn);
}

function blockContext(d: DirNode, lblk: number): DirBlockContext {
  return { filetype: d.fs.filetype, maxIno: d.fs.geo.inodesCount, dirIno: d.ino, lblk };
}

/** A directory block's checks failing are the file system's I/O errors. */
function checked<T>(d: DirNode, fn: () => T): T {
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
async function forEachDirBlock(d: DirNode, from: number, fn: (lblk: number, b: Uint8Array) => boolean): Promise<void> {
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

/** The inode number `name` names in directory `d`, or null. */
export async function dirLookup(d: DirNode, name: string): Promise<number | null> {
  const fs = d.fs;
  const nb = utf8enc.encode(name);
  if (nb.length === 0 || nb.length > 255) return null;
  const nblocks = dirBlocks(fs, d.inode);
  if (fs.dirIndex && (d.inode.i_flags & EXT2_INDEX_FL) !== 0 && name !== '.' && name !== '..' && nblocks > 1) {
    const r = await htreeLookup(d, nb, nblocks);
    if (r !== undefined) {
      fs.stats.htreeLookups++;
      return r;
    }
    fs.stats.htreeFallbacks++;
  }
  fs.stats.linearLookups++;
  let found: number | null = null;
  await forEachDirBlock(d, 0, (lblk, b) => (found = findDirEntry(b, blockContext(d, lblk), nb)) !== null);
  return found;
}

/**
 * Lookup through the index: the inode number, null if the name is not there, or undefined when
 * the index cannot be used (unsupported hash, corrupt index) and the caller must scan.
 */
async function htreeLookup(d: DirNode, name: Uint8Array, nblocks: number): Promise<number | null | undefined> {
  const fs = d.fs;
  const ctx: DxContext = { what: `directory inode ${d.ino}`, dirBlocks: nblocks, largeDir: fs.inodeFeatures.largeDir };
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
  for (const leaf of leaves) {
    const found = await withDirBlock(d, leaf, (b) => checked(d, () => findDirEntry(b, blockContext(d, leaf), name)));
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
