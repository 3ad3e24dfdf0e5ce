/**
 * The buffer cache (vfs_bio): device blocks in kernel memory, shared by every user of a device.
 *
 *   const bc = bufcacheOf(k);                       // the kernel's cache (k.vfs.devsw.bufcache)
 *   const bp = await bc.bread(dev, blkno, 4096);   // busy (locked) buffer with valid data
 *   bp.data[0] = 1;
 *   bc.bdwrite(bp);                                 // dirty, released; written back later
 *   ...
 *   await bc.bflush(dev);                           // write back dirty buffers, in block order
 *
 * Block numbers are in DEV_BSIZE (512-byte) units, as NetBSD's: the byte offset of a buffer is
 * `blkno * 512` whatever its size. A buffer is identified by (device, blkno); users must not
 * cache overlapping ranges under different block numbers (each file system uses one block size
 * per block). A second request for the same blkno with another size writes back and drops the
 * cached buffer first.
 *
 * Invariants:
 * - A buffer returned by bread/getblk is *busy*: nobody else gets it until it is released by
 *   brelse, bwrite, bdwrite or bawrite. A concurrent bread of a busy block waits (so two
 *   concurrent reads of one block do one I/O). Taking the same buffer twice without releasing
 *   it in between waits forever, as in NetBSD.
 * - Nothing is silently lost: a failed write leaves the buffer dirty (a later flush retries it and
 *   reports the error); a failed read caches nothing and throws (EIO from the device).
 * - Memory is bounded by `max` bytes (sysctl vfs.bufcache.max) and charged to k.kmem. Clean
 *   unbusy buffers are evicted oldest first; dirty ones are written back before eviction. Busy
 *   buffers cannot be evicted, so the bound is exceeded only while more than `max` bytes are
 *   busy at once. Freed buffer memory is kept in a small pool (at most 2 MiB) for reuse.
 * - `bp.data` belongs to the cache again once the buffer is released: a caller must not keep
 *   it (or views of it) across brelse/bwrite/bdwrite/bawrite.
 * - Sequential reads of a device are detected and read ahead: a miss in a sequential run reads
 *   the following blocks in the same I/O (window doubling up to vfs.bufcache.readahead bytes).
 *   Dirty neighbours are written back in clusters of up to `maxCluster` bytes.
 * - Dirty buffers are also written back by a syncer `syncDelay` ms after they first become
 *   dirty (sysctl vfs.bufcache.syncdelay, 0 = only on sync), when the cache has a kernel's
 *   callouts to run it on.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Kmem } from '../kern/kmem.js';
import type { Sysctl } from '../kern/sysctl.js';
import type { CalloutSet, Callout } from '../kern/callout.js';
import { KCondvar } from '../kern/sync.js';
import { Clock } from '../rumpuser/rumpuser.js';
import { DEV_BSIZE, type BlockDevice } from './blockdev.js';

/** What the cache needs from its kernel (a Kernel fits). */
export interface BufCacheEnv {
  readonly kmem: Kmem;
  printf(s: string): void;
  readonly sysctl?: Sysctl;
  readonly callouts?: CalloutSet;
}

export interface BufCacheOptions {
  /** Byte budget; default a quarter of the kernel memory limit, at most 32 MiB. */
  max?: number;
  /** Largest read-ahead, bytes (0 disables). Default 128 KiB. */
  readahead?: number;
  /** Largest single write-back I/O, bytes. Default 128 KiB. */
  maxCluster?: number;
  /** Write back dirty buffers this many ms after they become dirty (0: only on sync). Default 30 s. */
  syncDelay?: number;
}

export const DEFAULT_BUFCACHE_MAX = 32 * 1024 * 1024;
const MIN_BUFCACHE_MAX = 64 * 1024;

/** A cached device block. `data` is valid while the buffer is busy and held by the caller. */
export class Buf {
  /** Device contents (length `size`). */
  data: Uint8Array;
  /** Locked by a user (or by the cache during I/O). */
  busy = true;
  /** Modified in memory, not yet written (B_DELWRI). */
  dirty = false;
  /** `data` holds the device's contents or a complete new version (B_DONE). */
  valid = false;
  /** Removed from the cache (B_INVAL); a waiter looks the block up again. */
  gone = false;
  /** An asynchronous write in progress. */
  writing: Promise<void> | null = null;
  /** When it first became dirty (ms, the cache's clock). */
  dirtySince = 0;
  /** @internal waiters for the buffer to become unbusy. */
  cv: KCondvar | null = null;
  /** @internal free queue links (an unbusy buffer is on exactly one queue). */
  q: BufQueue | null = null;
  qprev: Buf | null = null;
  qnext: Buf | null = null;

  constructor(
    /** The device (its shared unit) the buffer belongs to. */
    readonly dev: BlockDevice,
    /** Block number in DEV_BSIZE units. */
    readonly blkno: number,
    readonly size: number,
  ) {
    this.data = EMPTY;
  }

  /** Byte offset on the device. */
  get offset(): number { return this.blkno * DEV_BSIZE; }
}

const EMPTY = new Uint8Array(0);
/** Buffers smaller than this are carved from slabs of this size. */
const SLAB_SIZE = 64 * 1024;
/** Most free memory kept for reuse (uncharged: it holds no data). */
const POOL_MAX = 2 * 1024 * 1024;

/**
 * A free queue: least recently used first, intrusive links on the buffers so every operation is
 * O(1) (a JavaScript Set used as an LRU degrades badly when its size sits near its capacity).
 */
class BufQueue {
  head: Buf | null = null;
  tail: Buf | null = null;
  size = 0;

  /** Append at the most recently used end. */
  push(bp: Buf): void {
    bp.q = this;
    bp.qprev = this.tail;
    bp.qnext = null;
    if (this.tail === null) this.head = bp;
    else this.tail.qnext = bp;
    this.tail = bp;
    this.size++;
  }

  remove(bp: Buf): void {
    if (bp.q !== this) return;
    if (bp.qprev === null) this.head = bp.qnext;
    else bp.qprev.qnext = bp.qnext;
    if (bp.qnext === null) this.tail = bp.qprev;
    else bp.qnext.qprev = bp.qprev;
    bp.q = bp.qprev = bp.qnext = null;
    this.size--;
  }

  /** The buffers, oldest first (a copy: safe to change the queue while using it). */
  toArray(): Buf[] {
    const out: Buf[] = [];
    for (let b = this.head; b !== null; b = b.qnext) out.push(b);
    return out;
  }
}

class DevState {
  readonly bufs = new Map<number, Buf>();
  /** Block number a sequential reader would ask for next. */
  nextSeq = -1;
  /** Current read-ahead window, in blocks. */
  raBlocks = 0;
  ndirty = 0;
  constructor(readonly unit: BlockDevice) {}
}

export interface BufCacheStats {
  hits: number;
  misses: number;
  /** Device read I/Os issued. */
  reads: number;
  /** Device write I/Os issued. */
  writes: number;
  /** Blocks brought in by read-ahead. */
  readahead: number;
  /** Read-ahead blocks that were later asked for. */
  readaheadHits: number;
  /** Buffers dropped to make room. */
  evictions: number;
  /** Failed device writes (the buffers stayed dirty). */
  writeErrors: number;
}

function unitOf(dev: BlockDevice): BlockDevice {
  return dev.unit ?? dev;
}

function checkBlock(dev: BlockDevice, blkno: number, size: number): void {
  if (!Number.isSafeInteger(blkno) || blkno < 0) throw new KernelError('EINVAL', `${dev.name}: block number ${String(blkno)} is not a non-negative integer`);
  if (!Number.isSafeInteger(size) || size <= 0 || size > 64 * 1024 * 1024) throw new KernelError('EINVAL', `${dev.name}: buffer size ${String(size)} out of range`);
  if (size % DEV_BSIZE !== 0) throw new KernelError('EINVAL', `${dev.name}: buffer size ${size} is not a multiple of ${DEV_BSIZE}`);
  if (!Number.isSafeInteger(blkno * DEV_BSIZE)) throw new KernelError('EINVAL', `${dev.name}: block ${blkno} out of range`);
}

/** The kernel's buffer cache (ENXIO without a VFS). */
export function bufcacheOf(k: Kernel): BufCache {
  const vfs = k.vfs;
  if (vfs === null) throw new KernelError('ENXIO', 'the buffer cache needs a kernel with the vfs component');
  return vfs.devsw.bufcache;
}

export class BufCache {
  /** Byte budget. */
  max: number;
  readaheadMax: number;
  maxCluster: number;
  syncDelay: number;
  /** Bytes of buffer memory held (charged to kmem). */
  used = 0;
  count = 0;
  ndirty = 0;
  readonly stats: BufCacheStats = { hits: 0, misses: 0, reads: 0, writes: 0, readahead: 0, readaheadHits: 0, evictions: 0, writeErrors: 0 };

  private readonly devs = new Map<BlockDevice, DevState>();
  /** Unbusy clean buffers, least recently used first. */
  private readonly cleanq = new BufQueue();
  /** Unbusy dirty buffers, least recently used first. */
  private readonly dirtyq = new BufQueue();
  /** Read-ahead buffers not yet asked for (for the readaheadHits statistic). */
  private readonly raPending = new WeakSet<Buf>();
  /** Free memory for reuse, by size. */
  private readonly pool = new Map<number, Uint8Array[]>();
  private poolBytes = 0;
  private syncer: Callout | null = null;
  private syncing: Promise<void> | null = null;

  constructor(private readonly env: BufCacheEnv, opts: BufCacheOptions = {}) {
    const lim = env.kmem.limit;
    this.max = opts.max ?? Math.max(MIN_BUFCACHE_MAX, Math.min(DEFAULT_BUFCACHE_MAX, Math.floor(lim / 4)));
    this.readaheadMax = opts.readahead ?? 128 * 1024;
    this.maxCluster = opts.maxCluster ?? 128 * 1024;
    this.syncDelay = opts.syncDelay ?? 30_000;
  }

  /** Create the vfs.bufcache sysctl nodes (once per kernel). */
  attachSysctl(s: Sysctl): void {
    s.create('vfs.bufcache.max', {
      type: 'quad', writable: true, min: MIN_BUFCACHE_MAX, desc: 'Buffer cache memory budget, bytes',
      get: () => this.max, set: (v) => { this.max = v as number; this.trimClean(0); },
    });
    s.create('vfs.bufcache.used', { type: 'quad', get: () => this.used, desc: 'Buffer cache memory in use, bytes' });
    s.create('vfs.bufcache.buffers', { type: 'int', get: () => this.count, desc: 'Buffers cached' });
    s.create('vfs.bufcache.dirty', { type: 'int', get: () => this.ndirty, desc: 'Buffers waiting to be written' });
    s.create('vfs.bufcache.hits', { type: 'quad', get: () => this.stats.hits });
    s.create('vfs.bufcache.misses', { type: 'quad', get: () => this.stats.misses });
    s.create('vfs.bufcache.reads', { type: 'quad', get: () => this.stats.reads, desc: 'Device reads issued' });
    s.create('vfs.bufcache.writes', { type: 'quad', get: () => this.stats.writes, desc: 'Device writes issued' });
    s.create('vfs.bufcache.evictions', { type: 'quad', get: () => this.stats.evictions });
    s.create('vfs.bufcache.readahead', {
      type: 'int', writable: true, min: 0, max: 16 * 1024 * 1024, desc: 'Largest read-ahead, bytes (0 disables)',
      get: () => this.readaheadMax, set: (v) => { this.readaheadMax = v as number; },
    });
    s.create('vfs.bufcache.syncdelay', {
      type: 'int', writable: true, min: 0, desc: 'Delayed writes go out after this many ms (0: only on sync)',
      get: () => this.syncDelay, set: (v) => { this.syncDelay = v as number; },
    });
  }

  /* ---- lookup and locking ------------------------------------------------------------------ */

  private state(unit: BlockDevice): DevState {
    let ds = this.devs.get(unit);
    if (ds === undefined) {
      ds = new DevState(unit);
      this.devs.set(unit, ds);
    }
    return ds;
  }

  /** Take an unbusy buffer. */
  private take(bp: Buf): void {
    bp.busy = true;
    bp.q?.remove(bp);
  }

  /** Release a busy buffer to the free queues (most recently used end) and wake its waiters. */
  private release(bp: Buf): void {
    bp.busy = false;
    if (!bp.gone) (bp.dirty ? this.dirtyq : this.cleanq).push(bp);
    if (bp.cv !== null) bp.cv.broadcast();
  }

  private async waitUnbusy(bp: Buf): Promise<void> {
    bp.cv ??= new KCondvar();
    await bp.cv.waitUnlocked();
  }

  /** Remove a buffer from the cache and free its memory. */
  private destroy(bp: Buf): void {
    if (bp.gone) return;
    bp.gone = true;
    const ds = this.devs.get(bp.dev);
    if (ds !== undefined && ds.bufs.get(bp.blkno) === bp) ds.bufs.delete(bp.blkno);
    bp.q?.remove(bp);
    if (bp.dirty) this.setClean(bp);
    if (bp.data.length > 0) {
      this.env.kmem.uncharge(bp.data.length);
      this.used -= bp.data.length;
      this.freeMem(bp.data);
    }
    bp.data = EMPTY;
    this.count--;
    if (ds !== undefined && ds.bufs.size === 0 && ds.ndirty === 0) this.devs.delete(bp.dev);
    if (bp.cv !== null) bp.cv.broadcast();
  }

  private setDirty(bp: Buf): void {
    if (bp.dirty) return;
    bp.dirty = true;
    bp.dirtySince = this.now();
    this.ndirty++;
    const ds = this.devs.get(bp.dev);
    if (ds !== undefined) ds.ndirty++;
    this.armSyncer();
  }

  private setClean(bp: Buf): void {
    if (!bp.dirty) return;
    bp.dirty = false;
    this.ndirty--;
    const ds = this.devs.get(bp.dev);
    if (ds !== undefined) ds.ndirty--;
  }

  private now(): number {
    return this.env.callouts?.host.clockMs(Clock.MONOTONIC) ?? 0;
  }

  /* ---- memory ------------------------------------------------------------------------------ */

  /** Drop clean unbusy buffers, oldest first, until `need` more bytes fit the budget. */
  private trimClean(need: number): void {
    while (this.used + need > this.max && this.cleanq.head !== null) {
      this.destroy(this.cleanq.head);
      this.stats.evictions++;
    }
  }

  /**
   * Make room for `need` bytes: evict clean buffers, then write back and evict dirty ones.
   * Gives up (the budget is soft) when everything left is busy or cannot be written.
   */
  private async makeRoom(need: number): Promise<void> {
    this.trimClean(need);
    let tries = this.dirtyq.size;
    while (this.used + need > this.max && tries-- > 0) {
      const first = this.dirtyq.head;
      if (first === null) break;
      await this.writeBack(this.gatherCluster(first));
      this.trimClean(need);
    }
  }

  /**
   * Uncharged memory of `size` bytes (zeroed if asked): from the free pool, or carved from a new
   * slab (allocating many small ArrayBuffers is slow in V8 and stresses its GC).
   */
  private getMem(size: number, zero: boolean): Uint8Array {
    const list = this.pool.get(size);
    const v = list?.pop();
    if (v !== undefined) {
      this.poolBytes -= size;
      if (zero) v.fill(0);
      return v;
    }
    if (size >= SLAB_SIZE) return new Uint8Array(size);
    const n = Math.floor(SLAB_SIZE / size);
    const slab = new ArrayBuffer(n * size);
    const l = list ?? [];
    for (let i = n - 1; i >= 1; i--) l.push(new Uint8Array(slab, i * size, size));
    this.poolBytes += (n - 1) * size;
    this.pool.set(size, l);
    return new Uint8Array(slab, 0, size);
  }

  /** Give memory back to the pool (dropped when the pool is full). */
  private freeMem(v: Uint8Array): void {
    if (this.poolBytes + v.length > POOL_MAX) return;
    let l = this.pool.get(v.length);
    if (l === undefined) {
      l = [];
      this.pool.set(v.length, l);
    }
    l.push(v);
    this.poolBytes += v.length;
  }

  /** Memory for a buffer's data, charged to kmem; evicts clean buffers if kmem is short. */
  private allocData(size: number, zero = false): Uint8Array {
    const kmem = this.env.kmem;
    if (!kmem.fits(size)) {
      while (!kmem.fits(size) && this.cleanq.head !== null) {
        this.destroy(this.cleanq.head);
        this.stats.evictions++;
      }
    }
    kmem.charge(size, 'buffer cache'); // ENOMEM if still short
    this.used += size;
    return this.getMem(size, zero);
  }

  /* ---- reading ----------------------------------------------------------------------------- */

  /**
   * bread: the block `blkno` (DEV_BSIZE units) of `size` bytes, busy, with its contents. Reads
   * the device on a miss (with read-ahead when the device is being read sequentially). EINVAL
   * if the block starts past the end of the device; the part of a block past the end reads as
   * zeros. Device errors are thrown and nothing is cached.
   */
  async bread(dev: BlockDevice, blkno: number, size: number): Promise<Buf> {
    const unit = unitOf(dev);
    checkBlock(unit, blkno, size);
    // Fast path: a cached, unbusy block of the right size (no waiting, no allocation).
    const cds = this.devs.get(unit);
    const cached = cds?.bufs.get(blkno);
    if (cds !== undefined && cached !== undefined && !cached.busy && cached.valid && cached.size === size) {
      this.take(cached);
      cds.nextSeq = blkno + size / DEV_BSIZE;
      this.stats.hits++;
      if (this.raPending.has(cached)) {
        this.raPending.delete(cached);
        this.stats.readaheadHits++;
      }
      return cached;
    }
    for (;;) {
      const bp = await this.getBuf(unit, blkno, size);
      const ds = this.state(unit);
      const sequential = ds.nextSeq === blkno;
      ds.nextSeq = blkno + size / DEV_BSIZE;
      if (bp.valid) {
        this.stats.hits++;
        if (this.raPending.has(bp)) {
          this.raPending.delete(bp);
          this.stats.readaheadHits++;
        }
        return bp;
      }
      this.stats.misses++;
      ds.raBlocks = sequential ? Math.min(Math.floor(this.readaheadMax / size), Math.max(2, ds.raBlocks * 2)) : 0;
      try {
        await this.fill(ds, bp);
      } catch (e) {
        this.destroy(bp);
        throw e;
      }
      if (bp.gone) continue; // invalidated while reading (device revoked)
      return bp;
    }
  }

  /**
   * Start reading a block into the cache without waiting for it or holding it (breada): for a
   * file system that knows which block it will want next. Does nothing if the block is cached or
   * past the end of the device; a failure caches nothing and is not reported (the later bread
   * reads again and reports it).
   */
  prefetch(dev: BlockDevice, blkno: number, size: number): void {
    const unit = unitOf(dev);
    try {
      checkBlock(unit, blkno, size);
    } catch {
      return;
    }
    if (blkno * DEV_BSIZE >= unit.size || this.devs.get(unit)?.bufs.has(blkno) === true) return;
    const ds = this.state(unit);
    const bp = new Buf(unit, blkno, size);
    ds.bufs.set(blkno, bp);
    this.count++;
    void (async () => {
      try {
        await this.makeRoom(size);
        if (bp.gone) return;
        bp.data = this.allocData(size);
        await this.devRead(unit, bp.data, bp.offset);
        bp.valid = true;
        this.stats.readahead++;
        this.raPending.add(bp);
        this.release(bp);
      } catch {
        this.destroy(bp);
      }
    })();
  }

  /**
   * getblk: the buffer for a block, busy, without reading it: for a block about to be
   * overwritten completely. A cached buffer keeps its contents; a new one is zeroed and
   * `valid` false. The caller fills it and writes it (bwrite/bdwrite/bawrite) or releases it.
   */
  async getblk(dev: BlockDevice, blkno: number, size: number): Promise<Buf> {
    const unit = unitOf(dev);
    checkBlock(unit, blkno, size);
    if (blkno * DEV_BSIZE >= unit.size) throw new KernelError('EINVAL', `${unit.name}: block ${blkno} starts past the end of the device (${unit.size} bytes)`);
    const bp = await this.getBuf(unit, blkno, size);
    if (bp.data.length === 0) {
      try {
        await this.makeRoom(size);
        bp.data = this.allocData(size, true);
      } catch (e) {
        this.destroy(bp);
        throw e;
      }
    }
    return bp;
  }

  /** Find or create the buffer and make it busy; a new one has no data yet and is not valid. */
  private async getBuf(unit: BlockDevice, blkno: number, size: number): Promise<Buf> {
    for (;;) {
      const ds = this.state(unit);
      const bp = ds.bufs.get(blkno);
      if (bp === undefined) {
        const nb = new Buf(unit, blkno, size);
        ds.bufs.set(blkno, nb);
        this.count++;
        return nb;
      }
      if (bp.busy) {
        await this.waitUnbusy(bp);
        continue;
      }
      this.take(bp);
      if (bp.size === size) return bp;
      // Same block number, another size: write back what it holds and drop it.
      if (bp.dirty) {
        await this.writeCluster([bp]);
        if (bp.dirty) {
          this.release(bp);
          throw new KernelError('EIO', `${unit.name}: cannot resize block ${blkno} from ${bp.size} to ${size} bytes: its write-back failed`);
        }
      }
      this.destroy(bp);
    }
  }

  /** Read `bp` (busy, new) from the device, with the read-ahead window of `ds`. */
  private async fill(ds: DevState, bp: Buf): Promise<void> {
    const unit = ds.unit;
    const off = bp.offset;
    if (off >= unit.size) throw new KernelError('EINVAL', `${unit.name}: block ${bp.blkno} starts past the end of the device (${unit.size} bytes)`);
    // Room for this buffer (may write back dirty buffers), then for read-ahead from clean ones only.
    await this.makeRoom(bp.size);
    if (bp.gone) return;
    if (bp.data.length === 0) bp.data = this.allocData(bp.size);
    const ahead: Buf[] = [];
    const step = bp.size / DEV_BSIZE;
    for (let i = 1; i <= ds.raBlocks; i++) {
      const blk = bp.blkno + i * step;
      if (blk * DEV_BSIZE >= unit.size || ds.bufs.has(blk)) break;
      this.trimClean(bp.size);
      if (this.used + bp.size > this.max) break;
      let data: Uint8Array;
      try {
        data = this.allocData(bp.size);
      } catch {
        break;
      }
      const rb = new Buf(unit, blk, bp.size);
      rb.data = data;
      ds.bufs.set(blk, rb);
      this.count++;
      ahead.push(rb);
    }
    try {
      if (ahead.length === 0) {
        await this.devRead(unit, bp.data, off);
      } else {
        const total = bp.size * (1 + ahead.length);
        const big = this.getMem(total, false);
        try {
          await this.devRead(unit, big, off);
          bp.data.set(big.subarray(0, bp.size));
          for (let i = 0; i < ahead.length; i++) ahead[i]!.data.set(big.subarray((i + 1) * bp.size, (i + 2) * bp.size));
        } finally {
          this.freeMem(big);
        }
      }
    } catch (e) {
      for (const rb of ahead) this.destroy(rb);
      if (ahead.length === 0 || bp.gone) throw e;
      // The read-ahead part may be what failed: read the asked-for block alone.
      ds.raBlocks = 0;
      await this.devRead(unit, bp.data, off);
    }
    bp.valid = true;
    for (const rb of ahead) {
      if (rb.gone) continue;
      rb.valid = true;
      this.stats.readahead++;
      this.raPending.add(rb);
      this.release(rb);
    }
  }

  /** One device read into `buf` at `off`; the part past the end of the device is zeroed. */
  private async devRead(unit: BlockDevice, buf: Uint8Array, off: number): Promise<void> {
    const n = Math.min(buf.length, unit.size - off);
    this.stats.reads++;
    const got = await unit.read(n === buf.length ? buf : buf.subarray(0, n), off);
    if (got < buf.length) buf.fill(0, Math.max(0, got));
  }

  /* ---- releasing and writing --------------------------------------------------------------- */

  private checkBusy(bp: Buf, op: string): void {
    if (!bp.busy || bp.gone) throw new Error(`${op}: buffer for block ${bp.blkno} of ${bp.dev.name} is not held`);
  }

  /** brelse: release a buffer unchanged (a buffer never filled is dropped). */
  brelse(bp: Buf): void {
    this.checkBusy(bp, 'brelse');
    if (!bp.valid && !bp.dirty) {
      this.destroy(bp);
      return;
    }
    this.release(bp);
    if (this.used > this.max) this.trimClean(0);
  }

  /** Drop a buffer's contents (brelse with B_INVAL): the next bread reads the device. */
  binvalBuf(bp: Buf): void {
    this.checkBusy(bp, 'binvalBuf');
    this.destroy(bp);
  }

  private checkWritable(bp: Buf): void {
    if (bp.dev.readonly === true) {
      this.destroy(bp);
      throw new KernelError('EROFS', `${bp.dev.name}: device is read-only (block ${bp.blkno} not written)`);
    }
  }

  /**
   * bwrite: write the buffer now and release it. On failure the buffer stays cached dirty (a
   * later flush retries) and the error is thrown.
   */
  async bwrite(bp: Buf): Promise<void> {
    this.checkBusy(bp, 'bwrite');
    this.checkWritable(bp);
    bp.valid = true;
    this.setDirty(bp);
    const err = await this.writeCluster([bp]);
    this.release(bp);
    if (err !== null) throw err;
  }

  /** bdwrite: mark the buffer dirty and release it; it is written back later (flush, eviction, syncer). */
  bdwrite(bp: Buf): void {
    this.checkBusy(bp, 'bdwrite');
    this.checkWritable(bp);
    bp.valid = true;
    this.setDirty(bp);
    this.release(bp);
    if (this.used > this.max) this.trimClean(0);
  }

  /**
   * bawrite: start writing the buffer; it stays busy until the write is done, then is released.
   * The returned promise never rejects: a failure leaves the buffer dirty for a later flush,
   * which reports it.
   */
  bawrite(bp: Buf): Promise<void> {
    this.checkBusy(bp, 'bawrite');
    this.checkWritable(bp);
    bp.valid = true;
    this.setDirty(bp);
    const p = this.writeCluster([bp]).then(() => {
      bp.writing = null;
      this.release(bp);
    });
    bp.writing = p;
    return p;
  }

  /**
   * Dirty unbusy neighbours of `bp` (same device and size, contiguous) forming one write of at
   * most maxCluster bytes, in block order. Includes `bp`.
   */
  private gatherCluster(bp: Buf): Buf[] {
    const ds = this.devs.get(bp.dev);
    if (ds === undefined) return [bp];
    const step = bp.size / DEV_BSIZE;
    const maxn = Math.max(1, Math.floor(this.maxCluster / bp.size));
    const ok = (b: Buf | undefined): b is Buf => b !== undefined && !b.busy && b.dirty && !b.gone && b.size === bp.size;
    const out = [bp];
    for (let blk = bp.blkno - step; out.length < maxn && blk >= 0; blk -= step) {
      const b = ds.bufs.get(blk);
      if (!ok(b)) break;
      out.unshift(b);
    }
    for (let blk = bp.blkno + step; out.length < maxn; blk += step) {
      const b = ds.bufs.get(blk);
      if (!ok(b)) break;
      out.push(b);
    }
    return out;
  }

  /**
   * Write back unbusy dirty buffers (a cluster) on the cache's own behalf: they are busy, with
   * `writing` set so that a flush waits for them, until the write is done.
   */
  private async writeBack(cluster: Buf[]): Promise<KernelError | null> {
    for (const b of cluster) this.take(b);
    const p = this.writeCluster(cluster);
    const w = p.then(() => undefined);
    for (const b of cluster) b.writing = w;
    const err = await p;
    for (const b of cluster) {
      b.writing = null;
      this.release(b);
    }
    return err;
  }

  /**
   * Write contiguous busy buffers of one device in one I/O (falling back to one I/O per buffer
   * if that fails, so one bad block does not keep its neighbours dirty). Buffers written are
   * marked clean; failed ones stay dirty. Returns the first error, or null.
   */
  private async writeCluster(bufs: Buf[]): Promise<KernelError | null> {
    const first = bufs[0]!;
    const unit = first.dev;
    if (bufs.length > 1) {
      const total = bufs.reduce((n, b) => n + b.size, 0);
      const big = this.getMem(total, false);
      let at = 0;
      for (const b of bufs) {
        big.set(b.data, at);
        at += b.size;
      }
      try {
        await this.devWrite(unit, big, first.offset);
        for (const b of bufs) this.setClean(b);
        return null;
      } catch {
        /* retry one by one below */
      } finally {
        this.freeMem(big);
      }
    }
    let firstErr: KernelError | null = null;
    for (const b of bufs) {
      if (b.gone) continue;
      try {
        await this.devWrite(unit, b.data, b.offset);
        this.setClean(b);
      } catch (e) {
        this.stats.writeErrors++;
        const err = e instanceof KernelError ? e : new KernelError('EIO', `${unit.name}: write of block ${b.blkno} failed: ${String(e)}`);
        firstErr ??= err;
      }
    }
    return firstErr;
  }

  private async devWrite(unit: BlockDevice, buf: Uint8Array, off: number): Promise<void> {
    const n = Math.min(buf.length, unit.size - off);
    if (n <= 0) return; // wholly past the end (the device shrank): nothing to keep
    this.stats.writes++;
    const done = await unit.write(n === buf.length ? buf : buf.subarray(0, n), off);
    if (done < n) throw new KernelError('EIO', `${unit.name}: short write (${done} of ${n} bytes at ${off})`);
  }

  /* ---- flushing and invalidation ----------------------------------------------------------- */

  /**
   * bflush (vflushbuf): write back every dirty buffer of `dev` in block order, in clusters, then
   * flush the device. Buffers held busy by a user are skipped (they are written when released
   * dirty); asynchronous writes in progress are waited for. Throws the first error after trying
   * every buffer (the failed buffers stay dirty).
   */
  async bflush(dev: BlockDevice, opts: { flushDevice?: boolean } = {}): Promise<void> {
    const unit = unitOf(dev);
    let firstErr: KernelError | null = null;
    const ds = this.devs.get(unit);
    if (ds !== undefined) {
      for (const bp of [...ds.bufs.values()]) if (bp.writing !== null) await bp.writing;
      const dirty = [...ds.bufs.values()].filter((b) => b.dirty && !b.busy).sort((a, b) => a.blkno - b.blkno);
      const done = new Set<Buf>();
      for (const bp of dirty) {
        if (done.has(bp) || bp.busy || !bp.dirty || bp.gone) continue;
        const cluster = this.gatherForward(ds, bp);
        for (const b of cluster) done.add(b);
        firstErr ??= await this.writeBack(cluster);
      }
    }
    if (opts.flushDevice !== false) {
      try {
        await unit.flush();
      } catch (e) {
        firstErr ??= e instanceof KernelError ? e : new KernelError('EIO', `${unit.name}: flush failed: ${String(e)}`);
      }
    }
    if (firstErr !== null) throw firstErr;
  }

  /** Dirty unbusy blocks from `bp` onwards, contiguous and of its size (for in-order flushing). */
  private gatherForward(ds: DevState, bp: Buf): Buf[] {
    const step = bp.size / DEV_BSIZE;
    const maxn = Math.max(1, Math.floor(this.maxCluster / bp.size));
    const out = [bp];
    for (let blk = bp.blkno + step; out.length < maxn; blk += step) {
      const b = ds.bufs.get(blk);
      if (b === undefined || b.busy || !b.dirty || b.gone || b.size !== bp.size) break;
      out.push(b);
    }
    return out;
  }

  /** bsync: bflush every device with dirty buffers. Throws the first error after trying all. */
  async bsync(): Promise<void> {
    let firstErr: unknown = null;
    for (const ds of [...this.devs.values()]) {
      if (ds.ndirty === 0) continue;
      try {
        await this.bflush(ds.unit);
      } catch (e) {
        firstErr ??= e;
      }
    }
    if (firstErr !== null) throw firstErr;
  }

  /**
   * binval (vinvalbuf): drop every buffer of `dev`, waiting for busy ones. With `save` (the
   * default), dirty buffers are written back first, and if that fails they are still dropped
   * (the device is going away) and the error is thrown, naming how many blocks were lost.
   */
  async binval(dev: BlockDevice, opts: { save?: boolean } = {}): Promise<void> {
    const unit = unitOf(dev);
    let err: unknown = null;
    if (opts.save !== false) {
      try {
        await this.bflush(unit, { flushDevice: true });
      } catch (e) {
        err = e;
      }
    }
    const ds = this.devs.get(unit);
    let lost = 0;
    if (ds !== undefined) {
      for (;;) {
        const busy = [...ds.bufs.values()].find((b) => b.busy);
        if (busy === undefined) break;
        await this.waitUnbusy(busy);
      }
      for (const bp of [...ds.bufs.values()]) {
        if (bp.dirty && opts.save !== false) lost++;
        this.destroy(bp);
      }
      this.devs.delete(unit);
    }
    if (err !== null) {
      if (err instanceof KernelError && lost > 0) {
        throw new KernelError(err.code, `${unit.name}: ${lost} dirty block(s) could not be written back and were dropped: ${err.detail ?? err.message}`);
      }
      throw err;
    }
  }

  /** Buffers cached for a device (for tests and statistics). */
  cached(dev: BlockDevice): number {
    return this.devs.get(unitOf(dev))?.bufs.size ?? 0;
  }

  /** Is block `blkno` of `dev` cached (valid)? */
  incore(dev: BlockDevice, blkno: number): boolean {
    const bp = this.devs.get(unitOf(dev))?.bufs.get(blkno);
    return bp !== undefined && bp.valid && !bp.gone;
  }

  /**
   * Does the cache hold any buffer for block `blkno` of `dev`, valid or still being read or
   * written? (A file system that writes a block straight to the device updates such a buffer
   * afterwards, so no older copy survives in the cache.)
   */
  holds(dev: BlockDevice, blkno: number): boolean {
    const bp = this.devs.get(unitOf(dev))?.bufs.get(blkno);
    return bp !== undefined && !bp.gone;
  }

  /* ---- the syncer -------------------------------------------------------------------------- */

  private armSyncer(): void {
    const co = this.env.callouts;
    if (co === undefined || this.syncDelay <= 0) return;
    this.syncer ??= co.create();
    if (this.syncer.pending) return;
    this.syncer.reset(this.syncDelay, () => this.runSyncer());
  }

  private runSyncer(): void {
    if (this.syncing !== null) return;
    const cutoff = this.now() - this.syncDelay;
    this.syncing = this.syncOld(cutoff)
      .catch((e: unknown) => this.env.printf(`bufcache: delayed write-back failed: ${e instanceof Error ? e.message : String(e)}\n`))
      .finally(() => {
        this.syncing = null;
        if (this.ndirty > 0) this.armSyncer();
      });
  }

  /** Write back the dirty buffers that became dirty at or before `cutoff` (with their clusters). */
  private async syncOld(cutoff: number): Promise<void> {
    let firstErr: unknown = null;
    for (const bp of this.dirtyq.toArray()) {
      if (bp.busy || !bp.dirty || bp.gone || bp.dirtySince > cutoff) continue;
      firstErr ??= await this.writeBack(this.gatherCluster(bp));
    }
    if (firstErr !== null) throw firstErr;
  }

  /** Stop the syncer (halt). */
  stopSyncer(): void {
    this.syncer?.stop();
  }
}
