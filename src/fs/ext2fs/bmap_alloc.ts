/**
 * The write side of the indirect block map: map logical blocks for writing, allocating the data
 * blocks and the single, double and triple indirect blocks they need (Linux's ext2_get_blocks).
 *
 * A request returns one run starting at the asked-for logical block: either blocks already
 * mapped (contiguous on disk), or a run of newly allocated blocks (`fresh`: their contents are
 * undefined, the caller writes or zeroes them) filling a stretch of holes. Holes outside the
 * request stay holes. New indirect blocks are zeroed before they are linked in.
 *
 * Goal (locality): the block after the file's previous allocation when it writes sequentially,
 * else the block after the nearest mapped block before it in the same indirect block, else the
 * block after the indirect block, else the start of the inode's group. Indirect blocks are
 * allocated in the same stream, so they sit just before the data they map.
 *
 * Existing pointers are checked before anything is written through them: a pointer outside the
 * file system or into its metadata (a corrupt or hostile image) is EIO naming the inode, never
 * a write over metadata. The caller holds the inode's lock and writes the inode afterwards.
 */

import { KernelError } from '../../kern/errno.js';
import { view } from './codec.js';
import type { Ext2Fs } from './ext2fs.js';
import { EXT2_NDIR_BLOCKS, EXT4_EXTENTS_FL, inodeBlockPointers, setInodeBlockPointer, type Inode } from './inode.js';

/** What block mapping for writes needs from a file. */
export interface MapWriter {
  readonly fs: Ext2Fs;
  readonly ino: number;
  readonly inode: Inode;
  /** The file's last allocation (logical and physical block): the next sequential goal. */
  lastAlloc: { lblk: number; pblk: number } | null;
  /** i_blocks grew (or shrank) by `n` file system blocks. */
  addBlocks(n: number): void;
  /** The block map changed: drop cached runs. */
  invalidateMap(): void;
}

export interface WriteRun {
  pblk: number;
  count: number;
  /** Newly allocated: contents undefined. */
  fresh: boolean;
}

/** The indirect path to logical block `lblk`: depth (1-3) and the slot at each level, top first. */
export function indirectPath(lblk: number, a: number): { depth: number; slots: number[] } | null {
  let rel = lblk - EXT2_NDIR_BLOCKS;
  let span = a;
  let depth = 1;
  while (rel >= span) {
    rel -= span;
    depth++;
    span *= a;
    if (depth > 3) return null;
  }
  const slots: number[] = [];
  for (let d = depth; d >= 1; d--) slots.push(Math.floor(rel / a ** (d - 1)) % a);
  return { depth, slots };
}

export function noExtents(w: MapWriter): void {
  if ((w.inode.i_flags & EXT4_EXTENTS_FL) !== 0) {
    throw new KernelError('EROFS', `${w.fs.from}: inode ${w.ino} is mapped by extents, which ext2fs does not write`);
  }
}

/** EIO unless `p` is a block a file may own. */
function checkData(w: MapWriter, p: number, lblk: number, what: string): void {
  if (!w.fs.alloc!.isDataBlock(p)) {
    throw new KernelError('EIO', `${w.fs.from}: inode ${w.ino}: ${what} for logical block ${lblk} is block ${p}, outside the file system's data blocks`);
  }
}

/** The default goal: the start of the inode's group. */
function groupGoal(w: MapWriter): number {
  const fs = w.fs;
  const g = Math.floor((w.ino - 1) / fs.geo.inodesPerGroup);
  return fs.groupStates[g]?.start ?? fs.firstDataBlock;
}

/**
 * Map `want` (at least 1) logical blocks from `lblk` for writing, allocating what is missing.
 * EFBIG past triple indirection; ENOSPC when nothing can be allocated (blocks allocated on the
 * way, such as indirect blocks, stay with the file and are counted in i_blocks).
 */
export async function bmapAlloc(w: MapWriter, lblk: number, want: number): Promise<WriteRun> {
  noExtents(w);
  const fs = w.fs;
  const alloc = fs.alloc!;
  const a = fs.blockSize / 4;
  want = Math.max(1, want);
  const ptrs = inodeBlockPointers(w.inode);
  const seq = w.lastAlloc !== null && lblk === w.lastAlloc.lblk + 1 ? w.lastAlloc.pblk + 1 : 0;
  const done = (pblk: number, count: number): WriteRun => {
    w.lastAlloc = { lblk: lblk + count - 1, pblk: pblk + count - 1 };
    w.invalidateMap();
    return { pblk, count, fresh: true };
  };

  if (lblk < EXT2_NDIR_BLOCKS) {
    const first = ptrs[lblk]!;
    if (first !== 0) {
      checkData(w, first, lblk, 'direct block pointer');
      let n = 1;
      while (n < want && lblk + n < EXT2_NDIR_BLOCKS && ptrs[lblk + n] === first + n && alloc.isDataBlock(first + n)) n++;
      return { pblk: first, count: n, fresh: false };
    }
    let k = 1;
    while (k < want && lblk + k < EXT2_NDIR_BLOCKS && ptrs[lblk + k] === 0) k++;
    let goal = seq;
    for (let i = lblk - 1; goal === 0 && i >= 0; i--) if (ptrs[i] !== 0) goal = ptrs[i]! + (lblk - i);
    if (goal === 0) goal = groupGoal(w);
    const run = await alloc.allocBlocks(goal, k);
    for (let i = 0; i < run.count; i++) setInodeBlockPointer(w.inode, lblk + i, run.start + i);
    w.addBlocks(run.count);
    return done(run.start, run.count);
  }

  const path = indirectPath(lblk, a);
  if (path === null) throw new KernelError('EFBIG', `${fs.from}: inode ${w.ino}: logical block ${lblk} is past what triple indirection maps`);
  let goal = seq;
  for (let i = EXT2_NDIR_BLOCKS - 1; goal === 0 && i >= 0; i--) if (ptrs[i] !== 0) goal = ptrs[i]! + 1;
  if (goal === 0) goal = groupGoal(w);
  const newIndirect = async (): Promise<number> => {
    const run = await alloc.allocBlocks(goal, 1);
    const blk = run.start;
    await fs.fillBlock(blk, `inode ${w.ino} indirect block`, () => undefined);
    w.addBlocks(1);
    w.invalidateMap();
    goal = blk + 1;
    return blk;
  };

  const top = EXT2_NDIR_BLOCKS + path.depth - 1;
  let blk = ptrs[top]!;
  if (blk === 0) {
    blk = await newIndirect();
    setInodeBlockPointer(w.inode, top, blk);
  } else {
    checkData(w, blk, lblk, `level-${path.depth} indirect block pointer`);
  }
  for (let i = 0; i < path.depth - 1; i++) {
    const slot = path.slots[i]!;
    const parent = blk;
    let child = await fs.withBlock(parent, `inode ${w.ino} indirect block`, (b) => view(b).getUint32(slot * 4, true));
    if (child === 0) {
      child = await newIndirect();
      const c = child;
      await fs.editBlock(parent, `inode ${w.ino} indirect block`, (b) => {
        view(b).setUint32(slot * 4, c, true);
        return true;
      });
    } else {
      checkData(w, child, lblk, `level-${path.depth - 1 - i} indirect block pointer`);
    }
    blk = child;
  }

  const slot = path.slots[path.depth - 1]!;
  const leaf = blk;
  const info = await fs.withBlock(leaf, `inode ${w.ino} indirect block`, (b) => {
    const dv = view(b);
    const first = dv.getUint32(slot * 4, true);
    if (first !== 0) {
      let n = 1;
      while (n < want && slot + n < a && dv.getUint32((slot + n) * 4, true) === first + n) n++;
      return { first, n, near: 0 };
    }
    let k = 1;
    while (k < want && slot + k < a && dv.getUint32((slot + k) * 4, true) === 0) k++;
    let near = 0;
    for (let i = slot - 1; near === 0 && i >= 0; i--) {
      const p = dv.getUint32(i * 4, true);
      if (p !== 0) near = p + (slot - i);
    }
    return { first: 0, n: k, near };
  });
  if (info.first !== 0) {
    let n = 0;
    while (n < info.n && alloc.isDataBlock(info.first + n)) n++;
    if (n === 0) checkData(w, info.first, lblk, 'data block pointer');
    return { pblk: info.first, count: n, fresh: false };
  }
  if (seq === 0 && info.near !== 0) goal = info.near;
  const run = await alloc.allocBlocks(goal, info.n);
  await fs.editBlock(leaf, `inode ${w.ino} indirect block`, (b) => {
    const dv = view(b);
    for (let i = 0; i < run.count; i++) dv.setUint32((slot + i) * 4, run.start + i, true);
    return true;
  });
  w.addBlocks(run.count);
  return done(run.start, run.count);
}
