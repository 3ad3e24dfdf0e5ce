/**
 * Directory changes on a read-write mount: add, remove and retarget entries, '..' updates, the
 * emptiness check, and the first block of a new directory (Linux's ext2/dir.c).
 *
 * - Add: the first entry with room is used: an unused entry long enough, or the slack after a
 *   used entry's name, which is split off (rec_len shortened, the new entry takes the rest).
 *   When no block has room the directory grows by one block holding just the new entry.
 * - Remove: the entry is merged into the previous entry of its block (rec_len grows over it);
 *   the first entry of a block is marked unused (inode 0) instead.
 * - Hash-tree directories (EXT2_INDEX_FL): a new entry goes into the leaf the index names for
 *   its hash when that leaf has room, which keeps the index valid; when it has none the
 *   directory becomes linear (INDEX_FL cleared, which e2fsck and Linux accept; the index blocks
 *   read as empty entries). Removals and retargets never invalidate the index.
 *
 * Entries never move, so readdir cookies (byte offsets) and the in-memory DirIndex locations
 * stay valid; every change updates the DirIndex when there is one. The caller holds the
 * directory's vnode lock exclusively and has checked the name (EEXIST/ENOENT races included).
 */

import { KernelError } from '../../kern/errno.js';
import { view } from './codec.js';
import {
  blockContext, blockRoom, buildDirIndex, checked, dirBlocks, dirFind, dirIsIndexed, forEachDirBlock, htreeLeaves, nameKey,
  LINEAR_MAX_BLOCKS, type DirEntryLoc, type DirNode,
} from './dir.js';
import { buildDirBlock, dirRecLen, emitDirEntry, forEachDirEntry, recLenFromDisk, recLenToDisk, EXT2_FT_DIR } from './dir_entry.js';
import { EXT2_INDEX_FL } from './inode.js';

const DOT = new Uint8Array([0x2e]);
const DOTDOT = new Uint8Array([0x2e, 0x2e]);

/** What the write side needs from a directory vnode besides reading. */
export interface DirWriter extends DirNode {
  /** Allocate (if needed) logical block `lblk` of the directory for writing; its physical block. */
  growBlock(lblk: number): Promise<number>;
  /** The directory's size changed or its flags did: note it (written with the inode later). */
  setDirSize(size: number): void;
  clearIndexFlag(): void;
}

/** The physical block of directory block `lblk`, or 0 for a hole. */
async function physical(d: DirNode, lblk: number): Promise<number> {
  return (await d.mapRun(lblk, 1)).pblk;
}

/**
 * Try to put the entry into directory block `lblk` (physical `pblk`). Returns the entry's
 * offset, or -1 if the block has no room.
 */
async function insertInBlock(d: DirNode, lblk: number, pblk: number, name: Uint8Array, ino: number, ft: number): Promise<number> {
  const fs = d.fs;
  const need = dirRecLen(name.length);
  let at = -1;
  await fs.editBlock(pblk, `directory inode ${d.ino} block ${lblk}`, (b) => checked(d, () => {
    const ctx = blockContext(d, lblk);
    let slot: { off: number; inode: number; recLen: number; nameLen: number } | null = null;
    forEachDirEntry(b, ctx, (off, inode, recLen, nameLen) => {
      const free = inode === 0 ? recLen : recLen - dirRecLen(nameLen);
      if (free >= need) {
        slot = { off, inode, recLen, nameLen };
        return true;
      }
      return false;
    });
    if (slot === null) return false;
    const s: { off: number; inode: number; recLen: number; nameLen: number } = slot;
    let off = s.off;
    let recLen = s.recLen;
    if (s.inode !== 0) {
      const keep = dirRecLen(s.nameLen);
      view(b).setUint16(s.off + 4, recLenToDisk(keep, b.length), true); // the existing entry keeps just its own length
      off = s.off + keep;
      recLen = s.recLen - keep;
    }
    emitDirEntry(b, { offset: off, inode: ino, rec_len: recLen, name_len: name.length, file_type: fs.filetype ? ft : 0, name }, fs.filetype);
    at = off;
    d.index?.room.set(lblk, blockRoom(b, ctx));
    return true;
  }));
  return at;
}

/** Add the entry `name` -> `ino` (file type `ft`) to directory `d`. ENOSPC/EFBIG when it cannot grow. */
export async function dirAddEntry(d: DirWriter, name: Uint8Array, ino: number, ft: number): Promise<void> {
  const fs = d.fs;
  const need = dirRecLen(name.length);
  const note = (lblk: number, off: number): void => {
    d.index?.names.set(nameKey(name), { ino, lblk, off, fileType: fs.filetype ? ft : 0 });
  };
  if ((d.inode.i_flags & EXT2_INDEX_FL) !== 0) {
    // keep the index valid by using the leaf it names for this hash, if that has room
    const leaves = dirIsIndexed(d) ? await htreeLeaves(d, name) : undefined;
    const leaf = leaves?.[0];
    if (leaf !== undefined) {
      const pblk = await physical(d, leaf);
      if (pblk !== 0) {
        const off = await insertInBlock(d, leaf, pblk, name, ino, ft);
        if (off >= 0) {
          note(leaf, off);
          return;
        }
      }
    }
    d.clearIndexFlag();
  }
  const nblocks = dirBlocks(fs, d.inode);
  if (d.index === null && nblocks > LINEAR_MAX_BLOCKS) d.index = await buildDirIndex(d);
  if (d.index !== null) {
    const room = d.index.room;
    for (const [lblk, free] of room) {
      if (free < need) continue;
      const pblk = await physical(d, lblk);
      if (pblk === 0) {
        room.delete(lblk);
        continue;
      }
      const off = await insertInBlock(d, lblk, pblk, name, ino, ft);
      if (off >= 0) {
        note(lblk, off);
        return;
      }
    }
  } else {
    let done = false;
    const candidates: number[] = [];
    await forEachDirBlock(d, 0, (lblk, b) => {
      if (blockRoom(b, blockContext(d, lblk)) >= need) candidates.push(lblk);
      return candidates.length > 0;
    });
    for (const lblk of candidates) {
      const pblk = await physical(d, lblk);
      if (pblk === 0) continue;
      const off = await insertInBlock(d, lblk, pblk, name, ino, ft);
      if (off >= 0) {
        done = true;
        break;
      }
    }
    if (done) return;
  }
  // grow by a block holding only the new entry
  const lblk = nblocks;
  const newSize = (lblk + 1) * fs.blockSize;
  if (newSize > 0xffffffff && !fs.inodeFeatures.largeDir) throw new KernelError('EFBIG', `${fs.from}: directory inode ${d.ino} cannot grow past 4 GiB`);
  const pblk = await d.growBlock(lblk);
  await fs.fillBlock(pblk, `directory inode ${d.ino} block ${lblk}`, (b) => {
    b.set(buildDirBlock([{ name, inode: ino, fileType: ft }], fs.blockSize, fs.filetype));
  });
  d.setDirSize(newSize);
  if (d.index !== null) {
    d.index.room.set(lblk, fs.blockSize - need);
  }
  note(lblk, 0);
}

/** The entry `name` of `d`, which must name `expect` (when given): ENOENT otherwise. */
async function entryOf(d: DirNode, name: Uint8Array, expect: number | null): Promise<DirEntryLoc> {
  const loc = await dirFind(d, name);
  const what = new TextDecoder().decode(name);
  if (loc === null) throw new KernelError('ENOENT', `'${what}' is not in directory inode ${d.ino}`);
  if (expect !== null && loc.ino !== expect) throw new KernelError('ENOENT', `'${what}' in directory inode ${d.ino} names inode ${loc.ino} now, not ${expect}`);
  return loc;
}

/** Remove the entry `name` (naming inode `expect`, when given) from `d`; returns the inode it named. */
export async function dirRemoveEntry(d: DirNode, name: Uint8Array, expect: number | null): Promise<number> {
  const loc = await entryOf(d, name, expect);
  const pblk = await physical(d, loc.lblk);
  if (pblk === 0) throw new KernelError('EIO', `${d.fs.from}: directory inode ${d.ino} block ${loc.lblk} disappeared`);
  let removed = false;
  await d.fs.editBlock(pblk, `directory inode ${d.ino} block ${loc.lblk}`, (b) => checked(d, () => {
    const ctx = blockContext(d, loc.lblk);
    let prev = -1;
    forEachDirEntry(b, ctx, (off, inode, recLen) => {
      if (off !== loc.off) {
        prev = off;
        return false;
      }
      if (inode !== loc.ino) return true;
      const dv = view(b);
      if (prev >= 0) {
        const prevLen = recLenFromDisk(dv.getUint16(prev + 4, true), b.length);
        dv.setUint16(prev + 4, recLenToDisk(prevLen + recLen, b.length), true);
      }
      dv.setUint32(off, 0, true);
      removed = true;
      return true;
    });
    if (removed) d.index?.room.set(loc.lblk, blockRoom(b, ctx));
    return removed;
  }));
  if (!removed) throw new KernelError('EIO', `${d.fs.from}: directory inode ${d.ino}: the entry at block ${loc.lblk} offset ${loc.off} changed under us`);
  d.index?.names.delete(nameKey(name));
  return loc.ino;
}

/** Point the existing entry `name` (naming `expect`) of `d` at inode `ino` with file type `ft`. */
export async function dirSetEntry(d: DirNode, name: Uint8Array, expect: number, ino: number, ft: number): Promise<void> {
  const loc = await entryOf(d, name, expect);
  await setEntryAt(d, loc, ino, ft);
  d.index?.names.set(nameKey(name), { ...loc, ino, fileType: d.fs.filetype ? ft : 0 });
}

async function setEntryAt(d: DirNode, loc: DirEntryLoc, ino: number, ft: number): Promise<void> {
  const pblk = await physical(d, loc.lblk);
  if (pblk === 0) throw new KernelError('EIO', `${d.fs.from}: directory inode ${d.ino} block ${loc.lblk} disappeared`);
  await d.fs.editBlock(pblk, `directory inode ${d.ino} block ${loc.lblk}`, (b) => {
    const dv = view(b);
    dv.setUint32(loc.off, ino, true);
    if (d.fs.filetype) dv.setUint8(loc.off + 7, ft);
    return true;
  });
}

/** Point '..' of directory `d` at `parent`. EIO if the directory has no '..' entry. */
export async function dirSetDotDot(d: DirNode, parent: number): Promise<void> {
  const loc = await dirFind(d, DOTDOT);
  if (loc === null) throw new KernelError('EIO', `${d.fs.from}: directory inode ${d.ino} has no '..' entry`);
  await setEntryAt(d, loc, parent, EXT2_FT_DIR);
}

/** Does directory `d` hold nothing but '.' and '..'? */
export async function dirIsEmpty(d: DirNode): Promise<boolean> {
  if (d.index !== null) return d.index.names.size === 0;
  let empty = true;
  await forEachDirBlock(d, 0, (lblk, b) => {
    forEachDirEntry(b, blockContext(d, lblk), (off, inode, _recLen, nameLen) => {
      if (inode === 0) return false;
      const dot = nameLen === 1 && b[off + 8] === 0x2e;
      const dotdot = nameLen === 2 && b[off + 8] === 0x2e && b[off + 9] === 0x2e;
      if (dot || dotdot) return false;
      empty = false;
      return true;
    });
    return !empty;
  });
  return empty;
}

/** The first block of a new directory: '.' (itself) and '..' (its parent). */
export function dirTemplate(blockSize: number, filetype: boolean, ino: number, parent: number): Uint8Array {
  return buildDirBlock([
    { name: DOT, inode: ino, fileType: EXT2_FT_DIR },
    { name: DOTDOT, inode: parent, fileType: EXT2_FT_DIR },
  ], blockSize, filetype);
}

