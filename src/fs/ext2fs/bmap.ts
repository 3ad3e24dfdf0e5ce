/**
 * The block map of an inode: logical block -> physical block, as runs, for both layouts.
 *
 * - Indirect (ext2/ext3): i_block[0..11] direct, [12] single, [13] double, [14] triple indirect;
 *   a 0 pointer at any level is a hole covering everything below it.
 * - Extents (EXT4_EXTENTS_FL): extents.ts walks the tree.
 *
 * Every physical block number is checked against the file system before it is used or returned
 * (EIO naming the inode, logical block and the bad number), so a hostile image cannot make a read
 * reach outside the file system. Runs let a reader coalesce contiguous blocks into one I/O and
 * skip holes without visiting each block.
 */

import { KernelError } from '../../kern/errno.js';
import { view } from './codec.js';
import { extentMap, type MapRun } from './extents.js';
import { EXT2_NDIR_BLOCKS, EXT4_EXTENTS_FL, inodeBlockPointers, type Inode } from './inode.js';

export type { MapRun } from './extents.js';

/** What the block map needs from its file system. */
export interface BmapFs {
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly firstDataBlock: number;
  /** Run `fn` on a metadata block's bytes (valid only during `fn`). */
  withBlock<T>(pblk: number, what: string, fn: (b: Uint8Array) => T): Promise<T>;
}

function outOfRange(ino: number, lblk: number, pblk: number, fs: BmapFs, what: string): never {
  throw new KernelError('EIO', `inode ${ino}: ${what} for logical block ${lblk} is block ${pblk}, beyond the end of the file system (${fs.blocksCount} blocks)`);
}

/**
 * The run of the block map starting at logical block `lblk` of inode `ino`, at most `max` blocks
 * long (a hole run past the last mapped block is cut at `max`).
 */
export async function bmapRun(fs: BmapFs, ino: number, inode: Inode, lblk: number, max: number): Promise<MapRun> {
  if ((inode.i_flags & EXT4_EXTENTS_FL) !== 0) {
    let run: MapRun;
    try {
      run = await extentMap(inode.i_block, lblk, { what: `inode ${ino}`, firstBlock: Math.max(1, fs.firstDataBlock), blocksCount: fs.blocksCount },
        (pblk, fn) => fs.withBlock(pblk, `inode ${ino} extent tree block`, fn));
    } catch (e) {
      if (e instanceof KernelError && e.code === 'EFTYPE') throw new KernelError('EIO', e.detail);
      throw e;
    }
    return { pblk: run.pblk, count: Math.max(1, Math.min(run.count, max)) };
  }
  return indirectRun(fs, ino, inode, lblk, max);
}

async function indirectRun(fs: BmapFs, ino: number, inode: Inode, lblk: number, max: number): Promise<MapRun> {
  const ptrs = inodeBlockPointers(inode);
  const a = fs.blockSize / 4;
  const check = (p: number, l: number, what: string): number => {
    if (p !== 0 && (p >= fs.blocksCount || p < fs.firstDataBlock)) outOfRange(ino, l, p, fs, what);
    return p;
  };
  if (lblk < EXT2_NDIR_BLOCKS) {
    const first = check(ptrs[lblk]!, lblk, 'direct block pointer');
    let count = 1;
    while (count < max && lblk + count < EXT2_NDIR_BLOCKS) {
      const p = ptrs[lblk + count]!;
      if (first === 0 ? p !== 0 : p !== first + count) break;
      check(p, lblk + count, 'direct block pointer');
      count++;
    }
    return { pblk: first, count };
  }
  let rel = lblk - EXT2_NDIR_BLOCKS;
  let span = a;
  for (let depth = 1; depth <= 3; depth++) {
    if (rel < span) return walk(fs, ino, lblk, check(ptrs[EXT2_NDIR_BLOCKS + depth - 1]!, lblk, `level-${depth} indirect block pointer`), depth, rel, a, max, check);
    rel -= span;
    span *= a;
  }
  // beyond what triple indirection can map: a hole
  return { pblk: 0, count: max };
}

/**
 * Resolve offset `rel` below an indirect block `ptr` of `depth` levels (1: it holds data block
 * pointers). A zero pointer is a hole covering the rest of its span.
 */
async function walk(fs: BmapFs, ino: number, lblk: number, ptr: number, depth: number, rel: number, a: number,
  max: number, check: (p: number, l: number, what: string) => number): Promise<MapRun> {
  for (;;) {
    const span = a ** depth;
    if (ptr === 0) return { pblk: 0, count: Math.max(1, Math.min(max, span - rel)) };
    const per = a ** (depth - 1);
    const slot = Math.floor(rel / per);
    if (depth === 1) {
      return fs.withBlock(ptr, `inode ${ino} indirect block`, (blk) => {
        const dv = view(blk);
        const first = check(dv.getUint32(slot * 4, true), lblk, 'data block pointer');
        let count = 1;
        while (count < max && slot + count < a) {
          const p = dv.getUint32((slot + count) * 4, true);
          if (first === 0 ? p !== 0 : p !== first + count) break;
          check(p, lblk + count, 'data block pointer');
          count++;
        }
        return { pblk: first, count };
      });
    }
    const next = await fs.withBlock(ptr, `inode ${ino} indirect block`, (blk) => view(blk).getUint32(slot * 4, true));
    ptr = check(next, lblk, `level-${depth - 1} indirect block pointer`);
    rel %= per;
    depth--;
  }
}
