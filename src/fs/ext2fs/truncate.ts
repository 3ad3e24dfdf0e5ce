/**
 * Freeing a file's blocks (Linux's ext2_truncate_blocks) and its extended attribute block.
 *
 * `freeBlocksFrom(w, keep)` frees every data block from logical block `keep` on, and every
 * indirect block whose whole range lies at or past `keep`; indirect blocks that still map kept
 * blocks are rewritten with the freed slots zeroed. i_block and i_blocks are updated in memory
 * (the caller sets the size and writes the inode). The walk is bounded by the three levels of
 * indirection, and a pointer outside the file system or into metadata is dropped without being
 * freed (the allocator says so on the console), so a hostile map cannot free metadata.
 *
 * `zeroTail(w, size)` zeroes the bytes of the block holding `size` that lie past it, so a later
 * extension reads zeros there (ext2 files keep that part of their last block zero).
 *
 * `releaseXattrBlock` drops the inode's reference to its attribute block, freeing it when it was
 * the last (h_refcount).
 */

import { KernelError } from '../../kern/errno.js';
import { view } from './codec.js';
import type { Ext2Fs } from './ext2fs.js';
import { noExtents, type MapWriter } from './bmap_alloc.js';
import { EXT2_NDIR_BLOCKS, inodeBlockPointers, inodeFileAcl, setInodeBlockPointer, setInodeFileAcl, type Inode } from './inode.js';
import { EXT2_EXT_ATTR_MAGIC, EXT2_EXT_ATTR_MAGIC_v1 } from './xattr.js';

/** Free the blocks of `w` from logical block `keep` on. */
export async function freeBlocksFrom(w: MapWriter, keep: number): Promise<void> {
  noExtents(w);
  const fs = w.fs;
  const a = fs.blockSize / 4;
  const out: number[] = [];
  const ptrs = inodeBlockPointers(w.inode);
  for (let i = Math.max(0, keep); i < EXT2_NDIR_BLOCKS; i++) {
    if (ptrs[i] === 0) continue;
    out.push(ptrs[i]!);
    setInodeBlockPointer(w.inode, i, 0);
  }
  let base = EXT2_NDIR_BLOCKS;
  let span = a;
  for (let depth = 1; depth <= 3; depth++) {
    const p = ptrs[EXT2_NDIR_BLOCKS + depth - 1]!;
    if (p !== 0 && base + span > keep) {
      if (await freeTree(fs, w.ino, p, depth, base, keep, out)) setInodeBlockPointer(w.inode, EXT2_NDIR_BLOCKS + depth - 1, 0);
    }
    base += span;
    span *= a;
  }
  w.lastAlloc = null;
  w.invalidateMap();
  if (out.length === 0) return;
  w.addBlocks(-out.length);
  await fs.alloc!.freeBlocksList(out);
}

/**
 * Free what indirect block `blk` (of `depth` levels, mapping from logical block `base`) maps at
 * or past `keep`; true if the block itself went too (its pointer must be cleared).
 */
async function freeTree(fs: Ext2Fs, ino: number, blk: number, depth: number, base: number, keep: number, out: number[]): Promise<boolean> {
  const a = fs.blockSize / 4;
  if (!fs.alloc!.isDataBlock(blk)) {
    fs.warn(`${fs.from}: inode ${ino}: dropping indirect block pointer ${blk}, which is outside the file system's data blocks`);
    return true;
  }
  const per = a ** (depth - 1);
  const ptrs = await fs.withBlock(blk, `inode ${ino} indirect block`, (b) => {
    const dv = view(b);
    const p = new Array<number>(a);
    for (let i = 0; i < a; i++) p[i] = dv.getUint32(i * 4, true);
    return p;
  });
  const whole = base >= keep;
  const cleared: number[] = [];
  for (let i = 0; i < a; i++) {
    const p = ptrs[i]!;
    if (p === 0) continue;
    const cb = base + i * per;
    if (cb + per <= keep) continue;
    if (depth === 1) {
      out.push(p);
      cleared.push(i);
    } else if (await freeTree(fs, ino, p, depth - 1, cb, keep, out)) {
      cleared.push(i);
    }
  }
  if (whole) {
    out.push(blk);
    return true;
  }
  if (cleared.length > 0) {
    await fs.editBlock(blk, `inode ${ino} indirect block`, (b) => {
      const dv = view(b);
      for (const i of cleared) dv.setUint32(i * 4, 0, true);
      return true;
    });
  }
  return false;
}

/** Zero the part of the block holding byte `size` that lies past it (nothing if aligned or a hole). */
export async function zeroTail(w: MapWriter & { mapRun(lblk: number, want: number): Promise<{ pblk: number }> }, size: number): Promise<void> {
  const fs = w.fs;
  const off = size % fs.blockSize;
  if (off === 0) return;
  const run = await w.mapRun(Math.floor(size / fs.blockSize), 1);
  if (run.pblk === 0 || !fs.alloc!.isDataBlock(run.pblk)) return;
  await fs.editBlock(run.pblk, `inode ${w.ino} last block`, (b) => {
    for (let i = off; i < b.length; i++) {
      if (b[i] !== 0) {
        b.fill(0, off);
        return true;
      }
    }
    return false;
  });
}

/** Drop the inode's attribute block reference (freeing the block with its last reference). */
export async function releaseXattrBlock(fs: Ext2Fs, ino: number, inode: Inode): Promise<number> {
  const blk = inodeFileAcl(inode, fs.inodeFeatures);
  if (blk === 0) return 0;
  setInodeFileAcl(inode, 0, fs.inodeFeatures);
  if (!fs.alloc!.isDataBlock(blk)) {
    fs.warn(`${fs.from}: inode ${ino}: not freeing attribute block ${blk}, which is outside the file system's data blocks`);
    return 0;
  }
  let free = false;
  await fs.editBlock(blk, `inode ${ino} attribute block`, (b) => {
    const dv = view(b);
    const magic = dv.getUint32(0, true);
    if (magic !== EXT2_EXT_ATTR_MAGIC && magic !== EXT2_EXT_ATTR_MAGIC_v1) {
      throw new KernelError('EIO', `${fs.from}: inode ${ino}: attribute block ${blk} has a bad magic number 0x${magic.toString(16)}`);
    }
    const refs = dv.getUint32(4, true);
    if (refs > 1) {
      dv.setUint32(4, refs - 1, true);
      return true;
    }
    free = true;
    return false;
  });
  if (free) await fs.alloc!.freeBlocksList([blk]);
  return 1;
}
