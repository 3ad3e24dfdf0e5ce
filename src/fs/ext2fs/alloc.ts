/**
 * Block and inode allocation for a read-write ext2 mount (Linux's balloc.c and ialloc.c, in
 * spirit): bitmaps read and changed through the buffer cache, free counts kept exact in the group
 * descriptors (in memory, written at sync) and in the totals the superblock gets.
 *
 * Locality:
 * - Blocks are goal-based: the search starts at the goal (the block after the file's previous
 *   block, or the start of its inode's group) and runs forward through the groups, wrapping
 *   around; a request for several blocks gets the free run at the first free block found, so a
 *   file written sequentially lands contiguously.
 * - Inodes of directories are spread Orlov-style: a directory made in the root (or one marked
 *   TOPDIR) goes to the group with the fewest directories among those with at least the average
 *   free inodes and blocks; other directories stay near their parent unless its group is
 *   crowded. Inodes of files go to their directory's group, then a quadratic probe, then any
 *   group with a free inode (find_group_other).
 *
 * Safety: every change happens under one per-mount mutex (`lock`), and bitmap changes and the
 * matching count changes happen in the same synchronous step (no await between them), so the
 * counts always agree with the bitmaps at every await point. The bitmaps are the truth; a count
 * that disagrees with its bitmap (a corrupt image) is clamped, never driven negative. A block the
 * bitmap calls free but that holds metadata (superblock, descriptors, bitmaps, inode tables) is
 * never handed out, and freeing such a block, a block outside the file system or an already
 * free block is refused with a console message naming it: a hostile block pointer cannot make
 * the allocator destroy metadata.
 */

import { KernelError } from '../../kern/errno.js';
import { KMutex } from '../../kern/sync.js';
import type { GroupDesc, GroupInfo } from './group_desc.js';
import { INCOMPAT_META_BG, groupHasSuper, type Geometry, type Superblock } from './superblock.js';

/** A group as the read-write mount keeps it. */
export interface GroupState {
  gd: GroupDesc;
  gi: GroupInfo;
  /** Changed since its descriptor was last written. */
  dirty: boolean;
  /** First block of the group. */
  start: number;
  /** Blocks in the group (the last group may be short). */
  nblocks: number;
}

/** What the allocator needs from its file system. */
export interface AllocFs {
  readonly from: string;
  readonly geo: Geometry;
  readonly sb: Superblock;
  readonly groupStates: GroupState[];
  /** Read block `pblk`, let `fn` change it in place, write it back (delayed) if `fn` returns true. */
  editBlock(pblk: number, what: string, fn: (b: Uint8Array) => boolean): Promise<void>;
  warn(msg: string): void;
  random32(): number;
}

/** Blocks holding file system metadata: sorted, disjoint [start, end) intervals. */
export class SystemZone {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(ranges: [number, number][]) {
    const r = ranges.filter(([, n]) => n > 0).map(([s, n]) => [s, s + n] as [number, number]).sort((a, b) => a[0] - b[0]);
    for (const [s, e] of r) {
      const last = this.ends.length - 1;
      if (last >= 0 && s <= this.ends[last]!) this.ends[last] = Math.max(this.ends[last]!, e);
      else {
        this.starts.push(s);
        this.ends.push(e);
      }
    }
  }

  /** Index of the last interval starting at or before `blk`, or -1. */
  private find(blk: number): number {
    let lo = 0, hi = this.starts.length - 1, ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= blk) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  has(blk: number): boolean {
    const i = this.find(blk);
    return i >= 0 && blk < this.ends[i]!;
  }

  /** The first metadata block at or after `blk` (Infinity if none). */
  next(blk: number): number {
    const i = this.find(blk);
    if (i >= 0 && blk < this.ends[i]!) return blk;
    return this.starts[i + 1] ?? Infinity;
  }

  /** Does [start, start + count) touch metadata? */
  overlaps(start: number, count: number): boolean {
    return this.next(start) < start + count;
  }
}

/** The metadata blocks of a file system, from its geometry and group descriptors. */
export function systemZone(sb: Superblock, geo: Geometry, groups: readonly GroupState[]): SystemZone {
  const ranges: [number, number][] = [[0, geo.firstDataBlock + 1]];
  const metaBg = (geo.incompat & INCOMPAT_META_BG) !== 0;
  const firstMetaGroup = metaBg ? sb.s_first_meta_bg * geo.descPerBlock : Infinity;
  for (let g = 0; g < groups.length; g++) {
    const gs = groups[g]!;
    const hasSuper = groupHasSuper(sb, geo, g);
    let n = hasSuper ? 1 : 0;
    if (g < firstMetaGroup || !metaBg) {
      if (hasSuper) n += metaBg ? sb.s_first_meta_bg : geo.gdtBlocks + sb.s_reserved_gdt_blocks;
    } else {
      const i = g % geo.descPerBlock;
      if (i === 0 || i === 1 || i === geo.descPerBlock - 1) n += 1;
    }
    ranges.push([gs.start, n]);
    ranges.push([gs.gi.blockBitmap, 1], [gs.gi.inodeBitmap, 1], [gs.gi.inodeTable, geo.inodeTableBlocks]);
  }
  return new SystemZone(ranges);
}

/** First zero bit in [from, to) of bitmap `b`, or -1. */
export function findZeroBit(b: Uint8Array, from: number, to: number): number {
  let i = from;
  while (i < to && (i & 7) !== 0) {
    if ((b[i >>> 3]! & (1 << (i & 7))) === 0) return i;
    i++;
  }
  while (i + 8 <= to) {
    const byte = b[i >>> 3]!;
    if (byte !== 0xff) {
      for (let k = 0; k < 8; k++) if ((byte & (1 << k)) === 0) return i + k;
    }
    i += 8;
  }
  while (i < to) {
    if ((b[i >>> 3]! & (1 << (i & 7))) === 0) return i;
    i++;
  }
  return -1;
}

export function testBit(b: Uint8Array, i: number): boolean {
  return (b[i >>> 3]! & (1 << (i & 7))) !== 0;
}

function setBit(b: Uint8Array, i: number): void {
  b[i >>> 3] = b[i >>> 3]! | (1 << (i & 7));
}

function clearBit(b: Uint8Array, i: number): void {
  b[i >>> 3] = b[i >>> 3]! & ~(1 << (i & 7));
}

/** A run of blocks. */
export interface BlockRun { start: number; count: number }

export class Allocator {
  /** Serialises every bitmap and count change of the mount. */
  readonly lock = new KMutex();
  freeBlocks: number;
  freeInodes: number;
  private readonly zone: SystemZone;
  private warned = new Set<string>();

  constructor(private readonly fs: AllocFs) {
    let fb = 0, fi = 0;
    for (const gs of fs.groupStates) {
      fb += gs.gi.freeBlocks;
      fi += gs.gi.freeInodes;
    }
    this.freeBlocks = fb;
    this.freeInodes = fi;
    this.zone = systemZone(fs.sb, fs.geo, fs.groupStates);
  }

  private once(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.fs.warn(msg);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.lock.tryEnter()) await this.lock.enter();
    try {
      return await fn();
    } finally {
      this.lock.exit();
    }
  }

  /** The group holding block `blk`. */
  groupOfBlock(blk: number): number {
    return Math.floor((blk - this.fs.geo.firstDataBlock) / this.fs.geo.blocksPerGroup);
  }

  /** Is `blk` a block a file may own (inside the file system, not metadata)? */
  isDataBlock(blk: number): boolean {
    const geo = this.fs.geo;
    return Number.isSafeInteger(blk) && blk >= geo.firstDataBlock && blk < geo.blocksCount && !this.zone.has(blk);
  }

  /**
   * Allocate up to `want` contiguous blocks, searching from `goal`. Returns the run (at least one
   * block); ENOSPC when no block is free.
   */
  allocBlocks(goal: number, want: number): Promise<BlockRun> {
    return this.locked(async () => {
      const fs = this.fs;
      const groups = fs.groupStates;
      const ng = groups.length;
      if (this.freeBlocks <= 0) throw new KernelError('ENOSPC', `${fs.from}: no free blocks`);
      const g0 = goal >= fs.geo.firstDataBlock && goal < fs.geo.blocksCount ? this.groupOfBlock(goal) : 0;
      for (let i = 0; i <= ng; i++) {
        const g = (g0 + i) % ng;
        const gs = groups[g]!;
        if (gs.gi.freeBlocks === 0) continue;
        // the goal's group first from the goal on; at the end, its part before the goal
        const from = i === 0 ? Math.min(gs.nblocks, Math.max(0, goal - gs.start)) : 0;
        const to = i === ng ? Math.min(gs.nblocks, Math.max(0, goal - gs.start)) : gs.nblocks;
        if (from >= to) continue;
        let got: BlockRun | null = null;
        await fs.editBlock(gs.gi.blockBitmap, `group ${g} block bitmap`, (bm) => {
          got = this.takeRun(bm, gs, g, from, to, want);
          return got !== null;
        });
        if (got !== null) return got;
      }
      throw new KernelError('ENOSPC', `${fs.from}: no free blocks`);
    });
  }

  /** Find and mark a free run in group `g`'s bitmap between bits `from` and `to`; counts updated. */
  private takeRun(bm: Uint8Array, gs: GroupState, g: number, from: number, to: number, want: number): BlockRun | null {
    let bit = from;
    for (;;) {
      bit = findZeroBit(bm, bit, to);
      if (bit < 0) return null;
      const blk = gs.start + bit;
      if (this.zone.has(blk)) {
        this.once(`sys${blk}`, `${this.fs.from}: group ${g} block bitmap marks metadata block ${blk} free; not using it (run fsck)`);
        bit++;
        continue;
      }
      const limit = Math.min(to - bit, want, this.zone.next(blk) - blk);
      let n = 1;
      while (n < limit && !testBit(bm, bit + n)) n++;
      for (let k = 0; k < n; k++) setBit(bm, bit + k);
      this.countBlocks(gs, g, -n);
      return { start: blk, count: n };
    }
  }

  private countBlocks(gs: GroupState, g: number, delta: number): void {
    const nf = gs.gi.freeBlocks + delta;
    if (nf < 0 || nf > gs.nblocks) {
      this.once(`bc${g}`, `${this.fs.from}: group ${g} free blocks count disagrees with its bitmap (run fsck)`);
    }
    gs.gi.freeBlocks = Math.min(gs.nblocks, Math.max(0, nf));
    gs.dirty = true;
    this.freeBlocks = Math.max(0, this.freeBlocks + delta);
  }

  /**
   * Free blocks (any order, duplicates allowed). Blocks outside the file system, metadata blocks
   * and blocks already free are skipped with a console message; the rest are freed exactly once.
   */
  freeBlocksList(blocks: readonly number[]): Promise<void> {
    if (blocks.length === 0) return Promise.resolve();
    return this.locked(async () => {
      const fs = this.fs;
      const sorted = Float64Array.from(blocks).sort();
      let i = 0;
      while (i < sorted.length) {
        const blk = sorted[i]!;
        if (!this.isDataBlock(blk)) {
          this.once(`free${blk}`, `${fs.from}: not freeing block ${blk}: it is ${blk >= fs.geo.blocksCount || blk < fs.geo.firstDataBlock ? 'outside the file system' : 'file system metadata'} (run fsck)`);
          i++;
          continue;
        }
        const g = this.groupOfBlock(blk);
        const gs = fs.groupStates[g]!;
        const batch: number[] = [];
        while (i < sorted.length && sorted[i]! < gs.start + gs.nblocks) {
          const b = sorted[i++]!;
          if (this.isDataBlock(b)) batch.push(b);
          else this.once(`free${b}`, `${fs.from}: not freeing block ${b}: it is file system metadata (run fsck)`);
        }
        await fs.editBlock(gs.gi.blockBitmap, `group ${g} block bitmap`, (bm) => {
          let n = 0;
          for (const b of batch) {
            const bit = b - gs.start;
            if (!testBit(bm, bit)) {
              this.once(`dbl${b}`, `${fs.from}: block ${b} freed twice or already free (run fsck)`);
              continue;
            }
            clearBit(bm, bit);
            n++;
          }
          if (n > 0) this.countBlocks(gs, g, n);
          return n > 0;
        });
      }
    });
  }

  /* ---- inodes -------------------------------------------------------------------------------- */

  /** A new inode number for a child of directory `parentIno`. ENOSPC when none is free. */
  allocInode(parentIno: number, isDir: boolean, topDir: boolean): Promise<number> {
    return this.locked(async () => {
      const fs = this.fs;
      const geo = fs.geo;
      const groups = fs.groupStates;
      if (this.freeInodes <= 0) throw new KernelError('ENOSPC', `${fs.from}: no free inodes`);
      const parentGroup = Math.min(groups.length - 1, Math.max(0, Math.floor((parentIno - 1) / geo.inodesPerGroup)));
      const order = isDir ? this.dirGroups(parentGroup, topDir) : this.fileGroups(parentGroup, parentIno);
      const tried = new Set<number>();
      for (const g of order) {
        if (tried.has(g)) continue;
        tried.add(g);
        const gs = groups[g]!;
        if (gs.gi.freeInodes === 0) continue;
        const base = g * geo.inodesPerGroup;
        const from = Math.max(0, geo.firstIno - 1 - base);
        if (from >= geo.inodesPerGroup) continue;
        let ino = 0;
        await fs.editBlock(gs.gi.inodeBitmap, `group ${g} inode bitmap`, (bm) => {
          const bit = findZeroBit(bm, from, geo.inodesPerGroup);
          if (bit < 0) return false;
          setBit(bm, bit);
          this.countInodes(gs, g, -1, isDir ? 1 : 0);
          ino = base + bit + 1;
          return true;
        });
        if (ino !== 0) return ino;
      }
      throw new KernelError('ENOSPC', `${fs.from}: no free inodes`);
    });
  }

  private countInodes(gs: GroupState, g: number, delta: number, dirs: number): void {
    const ipg = this.fs.geo.inodesPerGroup;
    const nf = gs.gi.freeInodes + delta;
    if (nf < 0 || nf > ipg) this.once(`ic${g}`, `${this.fs.from}: group ${g} free inodes count disagrees with its bitmap (run fsck)`);
    gs.gi.freeInodes = Math.min(ipg, Math.max(0, nf));
    gs.gi.usedDirs = Math.min(ipg, Math.max(0, gs.gi.usedDirs + dirs));
    gs.dirty = true;
    this.freeInodes = Math.max(0, this.freeInodes + delta);
  }

  /** Groups to try for a directory, best first (Orlov), then every group from the parent's on. */
  private *dirGroups(parentGroup: number, topDir: boolean): Generator<number> {
    yield* this.dirChoice(parentGroup, topDir);
    const ng = this.fs.groupStates.length;
    for (let i = 0; i < ng; i++) yield (parentGroup + i) % ng;
  }

  private dirChoice(parentGroup: number, topDir: boolean): number[] {
    const groups = this.fs.groupStates;
    const ng = groups.length;
    const geo = this.fs.geo;
    const avgI = this.freeInodes / ng;
    const avgB = this.freeBlocks / ng;
    if (topDir) {
      // spread: the least crowded group with at least average free inodes and blocks
      let best = -1, bestDirs = Infinity;
      const start = this.fs.random32() % ng;
      for (let i = 0; i < ng; i++) {
        const g = (start + i) % ng;
        const gi = groups[g]!.gi;
        if (gi.freeInodes === 0 || gi.freeInodes < avgI || gi.freeBlocks < avgB) continue;
        if (gi.usedDirs < bestDirs) {
          best = g;
          bestDirs = gi.usedDirs;
        }
      }
      return best >= 0 ? [best] : this.mostFree();
    }
    let ndirs = 0;
    for (const gs of groups) ndirs += gs.gi.usedDirs;
    const maxDirs = ndirs / ng + geo.inodesPerGroup / 16;
    const minI = avgI - geo.inodesPerGroup / 4;
    const minB = avgB - geo.blocksPerGroup / 4;
    for (let i = 0; i < ng; i++) {
      const g = (parentGroup + i) % ng;
      const gi = groups[g]!.gi;
      if (gi.freeInodes === 0 || gi.usedDirs >= maxDirs || gi.freeInodes < minI || gi.freeBlocks < minB) continue;
      return [g];
    }
    const out: number[] = [];
    for (let i = 0; i < ng; i++) {
      const g = (parentGroup + i) % ng;
      if (groups[g]!.gi.freeInodes >= avgI) out.push(g);
    }
    return out;
  }

  /** Groups by free inodes, most first. */
  private mostFree(): number[] {
    return [...this.fs.groupStates.keys()].sort((a, b) => this.fs.groupStates[b]!.gi.freeInodes - this.fs.groupStates[a]!.gi.freeInodes);
  }

  /** Groups to try for a file: the directory's, a quadratic probe, then the rest in order. */
  private *fileGroups(parentGroup: number, parentIno: number): Generator<number> {
    const groups = this.fs.groupStates;
    const ng = groups.length;
    const ok = (g: number): boolean => groups[g]!.gi.freeInodes > 0 && groups[g]!.gi.freeBlocks > 0;
    if (ok(parentGroup)) yield parentGroup;
    let g = (parentGroup + parentIno) % ng;
    for (let i = 1; i < ng; i <<= 1) {
      g = (g + i) % ng;
      if (ok(g)) yield g;
    }
    for (let i = 0; i < ng; i++) yield (parentGroup + i) % ng;
  }

  /** Free inode `ino` in its bitmap (a directory also leaves its group's directory count). */
  freeInode(ino: number, isDir: boolean): Promise<void> {
    return this.locked(async () => {
      const fs = this.fs;
      const geo = fs.geo;
      if (ino < geo.firstIno || ino > geo.inodesCount) {
        this.once(`fi${ino}`, `${fs.from}: not freeing reserved or out-of-range inode ${ino}`);
        return;
      }
      const g = Math.floor((ino - 1) / geo.inodesPerGroup);
      const gs = fs.groupStates[g]!;
      const bit = (ino - 1) % geo.inodesPerGroup;
      await fs.editBlock(gs.gi.inodeBitmap, `group ${g} inode bitmap`, (bm) => {
        if (!testBit(bm, bit)) {
          this.once(`dfi${ino}`, `${fs.from}: inode ${ino} freed twice or already free (run fsck)`);
          return false;
        }
        clearBit(bm, bit);
        this.countInodes(gs, g, 1, isDir ? -1 : 0);
        return true;
      });
    });
  }
}
