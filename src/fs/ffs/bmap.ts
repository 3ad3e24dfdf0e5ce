/**
 * The block map of an inode (ufs_bmap): logical block -> fragment address, as runs.
 *
 * di_db[0..11] map the first twelve blocks; di_ib[0] a single, [1] a double and [2] a triple
 * indirect block, each a block of fs_nindir pointers (32-bit in UFS1, 64-bit in UFS2), in the file
 * system's byte order. A 0 pointer at any level is a hole covering everything below it. Addresses
 * are fragments: a block at address `p` occupies fragments p..p+frag-1, so consecutive blocks of a
 * run have addresses `frag` apart.
 *
 * Every address is checked against the file system before it is used or returned (EIO naming the
 * inode, the logical block and the bad address), so a hostile image cannot make a read reach
 * outside the file system.
 */

import { KernelError } from '../../kern/errno.js';
import { view } from './codec.js';
import { UFS_NDADDR, type Inode } from './dinode.js';

/** A run of the map: `count` logical blocks from the asked one, at fragment `pblk` on (0: a hole). */
export interface MapRun {
  pblk: number;
  count: number;
}

/** What the block map needs from its file system. */
export interface BmapFs {
  readonly frag: number;
  readonly nindir: number;
  /** Fragments in the file system. */
  readonly nfrags: number;
  readonly le: boolean;
  readonly ufs: 1 | 2;
  /** Run `fn` on the indirect block at fragment `p` (bytes valid only during `fn`). */
  withIndirect<T>(p: number, what: string, fn: (b: Uint8Array) => T): Promise<T>;
}

/** Logical blocks the map can address: 12 direct plus three levels of indirection. */
export function maxMappedBlocks(nindir: number): number {
  return UFS_NDADDR + nindir + nindir ** 2 + nindir ** 3;
}

/**
 * The run of the block map from logical block `lblk` of inode `ino`, at most `max` blocks (a hole
 * past the last mapped block is cut at `max`).
 */
export async function bmapRun(fs: BmapFs, ino: number, inode: Inode, lblk: number, max: number): Promise<MapRun> {
  const frag = fs.frag;
  // the extent of what is read at an address is checked by the reader (a file's last block may be a few fragments)
  const check = (p: number, l: number, what: string): number => {
    if (p !== 0 && (!Number.isSafeInteger(p) || p < 0 || p >= fs.nfrags)) {
      throw new KernelError('EIO', `inode ${ino}: ${what} for logical block ${l} is fragment ${p}, outside the file system (${fs.nfrags} fragments)`);
    }
    return p;
  };
  if (lblk < UFS_NDADDR) {
    const first = check(inode.db[lblk]!, lblk, 'direct block pointer');
    let count = 1;
    while (count < max && lblk + count < UFS_NDADDR) {
      const p = inode.db[lblk + count]!;
      if (first === 0 ? p !== 0 : p !== first + count * frag) break;
      check(p, lblk + count, 'direct block pointer');
      count++;
    }
    return { pblk: first, count };
  }
  const a = fs.nindir;
  let rel = lblk - UFS_NDADDR;
  let span = a;
  for (let depth = 1; depth <= 3; depth++) {
    if (rel < span) {
      const top = check(inode.ib[depth - 1]!, lblk, `level-${depth} indirect block pointer`);
      return walk(fs, ino, lblk, top, depth, rel, max, check);
    }
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
async function walk(fs: BmapFs, ino: number, lblk: number, ptr: number, depth: number, rel: number, max: number,
  check: (p: number, l: number, what: string) => number): Promise<MapRun> {
  const a = fs.nindir;
  const wide = fs.ufs === 2;
  const le = fs.le;
  const get = (dv: DataView, slot: number): number => (wide ? Number(dv.getBigInt64(slot * 8, le)) : dv.getInt32(slot * 4, le));
  for (;;) {
    const span = a ** depth;
    if (ptr === 0) return { pblk: 0, count: Math.max(1, Math.min(max, span - rel)) };
    const per = a ** (depth - 1);
    const slot = Math.floor(rel / per);
    if (depth === 1) {
      return fs.withIndirect(ptr, `inode ${ino} indirect block`, (blk) => {
        const dv = view(blk);
        const first = check(get(dv, slot), lblk, 'data block pointer');
        let count = 1;
        while (count < max && slot + count < a) {
          const p = get(dv, slot + count);
          if (first === 0 ? p !== 0 : p !== first + count * fs.frag) break;
          check(p, lblk + count, 'data block pointer');
          count++;
        }
        return { pblk: first, count };
      });
    }
    const next = await fs.withIndirect(ptr, `inode ${ino} indirect block`, (blk) => get(view(blk), slot));
    ptr = check(next, lblk, `level-${depth - 1} indirect block pointer`);
    rel %= per;
    depth--;
  }
}
