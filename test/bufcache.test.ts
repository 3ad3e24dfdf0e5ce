/**
 * The buffer cache over a fake block device that records and can fail every I/O.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../src/kern/errno.js';
import { Kmem } from '../src/kern/kmem.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { BufCache, type BufCacheOptions } from '../src/vfs/bufcache.js';
import type { BlockDevice } from '../src/vfs/blockdev.js';

interface Io { off: number; len: number }

/** A block device in memory that counts reads, writes and flushes, and fails on demand. */
class FakeDev implements BlockDevice {
  readonly name = 'fake0';
  readonly sectorSize = 512;
  readonly data: Uint8Array;
  readonly reads: Io[] = [];
  readonly writes: Io[] = [];
  flushes = 0;
  /** Fail reads/writes touching these byte ranges with EIO. */
  failRead: ((off: number, len: number) => boolean) | null = null;
  failWrite: ((off: number, len: number) => boolean) | null = null;
  /** Resolve to let a read go on (for concurrency tests). */
  gate: Promise<void> | null = null;

  constructor(readonly size: number, readonly readonly = false) {
    this.data = new Uint8Array(size);
    for (let i = 0; i < size; i++) this.data[i] = (i * 7 + (i >> 9)) & 0xff;
  }

  async read(buf: Uint8Array, off: number): Promise<number> {
    this.reads.push({ off, len: buf.length });
    if (this.gate !== null) await this.gate;
    await Promise.resolve();
    if (this.failRead?.(off, buf.length) === true) throw new KernelError('EIO', `fake read at ${off}`);
    const n = Math.max(0, Math.min(buf.length, this.size - off));
    buf.set(this.data.subarray(off, off + n));
    return n;
  }

  async write(buf: Uint8Array, off: number): Promise<number> {
    this.writes.push({ off, len: buf.length });
    await Promise.resolve();
    if (this.failWrite?.(off, buf.length) === true) throw new KernelError('EIO', `fake write at ${off}`);
    if (off + buf.length > this.size) throw new Error('write past the end reached the device');
    this.data.set(buf, off);
    return buf.length;
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  async close(): Promise<void> { /* nothing */ }
}

const BS = 4096;
const B = BS / 512; // DEV_BSIZE blocks per 4 KiB block

function setup(opts: BufCacheOptions = {}, size = 1 << 20, limit = 64 << 20) {
  const kmem = new Kmem(memoryHost(), limit);
  const bc = new BufCache({ kmem, printf: () => undefined }, { syncDelay: 0, ...opts });
  const dev = new FakeDev(size);
  return { kmem, bc, dev };
}

describe('buffer cache reads', () => {
  it('a first bread misses and reads the device, a second one hits without I/O', async () => {
    const { bc, dev } = setup();
    const a = await bc.bread(dev, 3 * B, BS);
    assert.deepEqual(a.data, dev.data.subarray(3 * BS, 4 * BS));
    bc.brelse(a);
    const b = await bc.bread(dev, 3 * B, BS);
    assert.equal(b, a);
    bc.brelse(b);
    assert.equal(dev.reads.length, 1);
    assert.equal(bc.stats.misses, 1);
    assert.equal(bc.stats.hits, 1);
  });

  it('concurrent breads of one block do one I/O, and the second waits until the first releases', async () => {
    const { bc, dev } = setup();
    let open!: () => void;
    dev.gate = new Promise((r) => { open = r; });
    const order: string[] = [];
    const p1 = bc.bread(dev, 0, BS).then((bp) => { order.push('first'); return bp; });
    const p2 = bc.bread(dev, 0, BS).then((bp) => { order.push('second'); bc.brelse(bp); });
    open();
    const bp1 = await p1;
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['first'], 'the second bread must wait while the buffer is busy');
    bc.brelse(bp1);
    await p2;
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(dev.reads.length, 1);
  });

  it('a read error propagates as EIO and caches nothing; the next bread reads again', async () => {
    const { bc, dev, kmem } = setup();
    dev.failRead = () => true;
    await assert.rejects(bc.bread(dev, 5 * B, BS), { code: 'EIO' });
    assert.equal(bc.cached(dev), 0);
    assert.equal(kmem.used, 0);
    dev.failRead = null;
    const bp = await bc.bread(dev, 5 * B, BS);
    assert.deepEqual(bp.data, dev.data.subarray(5 * BS, 6 * BS));
    bc.brelse(bp);
  });

  it('a block starting past the end of the device is EINVAL, and the part of the last block past it reads as zeros', async () => {
    const { bc, dev } = setup({}, 10_000);
    await assert.rejects(bc.bread(dev, 3 * B, BS), { code: 'EINVAL' });
    const bp = await bc.bread(dev, 2 * B, BS);
    assert.deepEqual(bp.data.subarray(0, 10_000 - 8192), dev.data.subarray(8192));
    assert.ok(bp.data.subarray(10_000 - 8192).every((x) => x === 0));
    bp.data.fill(0xee);
    await bc.bwrite(bp);
    const last = dev.writes.at(-1)!;
    assert.deepEqual(last, { off: 8192, len: 10_000 - 8192 }, 'only the part inside the device is written');
  });

  it('asking for a cached block with another size drops the old buffer and reads it again', async () => {
    const { bc, dev } = setup();
    bc.brelse(await bc.bread(dev, 0, 1024));
    const bp = await bc.bread(dev, 0, BS);
    assert.equal(bp.size, BS);
    assert.deepEqual(bp.data, dev.data.subarray(0, BS));
    bc.brelse(bp);
    assert.equal(dev.reads.length, 2);
    assert.equal(bc.cached(dev), 1);
  });

  it('rejects bad block numbers and sizes with EINVAL', async () => {
    const { bc, dev } = setup();
    await assert.rejects(bc.bread(dev, -1, BS), { code: 'EINVAL' });
    await assert.rejects(bc.bread(dev, 1.5, BS), { code: 'EINVAL' });
    await assert.rejects(bc.bread(dev, 0, 1000), { code: 'EINVAL' });
    await assert.rejects(bc.bread(dev, 0, 0), { code: 'EINVAL' });
  });
});

describe('buffer cache memory', () => {
  it('stays within its byte budget, evicting the least recently used clean buffers', async () => {
    const { bc, dev, kmem } = setup({ max: 8 * BS, readahead: 0 });
    for (let i = 0; i < 20; i++) bc.brelse(await bc.bread(dev, ((i * 7) % 20) * B * 2, BS));
    assert.ok(bc.used <= 8 * BS, `used ${bc.used}`);
    assert.equal(bc.count, 8);
    assert.equal(kmem.used, bc.used, 'buffer memory is charged to kmem');
    // The last 8 blocks read are cached, earlier ones not.
    const order = Array.from({ length: 20 }, (_, i) => ((i * 7) % 20) * B * 2);
    for (const blk of order.slice(12)) assert.ok(bc.incore(dev, blk), `block ${blk} should be cached`);
    for (const blk of order.slice(0, 12)) assert.ok(!bc.incore(dev, blk), `block ${blk} should be evicted`);
    assert.equal(bc.stats.evictions, 12);
  });

  it('a hit moves a buffer to the recently used end', async () => {
    const { bc, dev } = setup({ max: 2 * BS, readahead: 0 });
    bc.brelse(await bc.bread(dev, 0, BS));
    bc.brelse(await bc.bread(dev, 10 * B, BS));
    bc.brelse(await bc.bread(dev, 0, BS)); // touch block 0
    bc.brelse(await bc.bread(dev, 20 * B, BS)); // evicts block 10, not 0
    assert.ok(bc.incore(dev, 0));
    assert.ok(!bc.incore(dev, 10 * B));
  });

  it('writes dirty buffers back before evicting them, so nothing is lost', async () => {
    const { bc, dev } = setup({ max: 4 * BS, readahead: 0 });
    for (let i = 0; i < 10; i++) {
      const bp = await bc.getblk(dev, i * B * 3, BS);
      bp.data.fill(i + 1);
      bc.bdwrite(bp);
    }
    assert.ok(bc.used <= 5 * BS, `used ${bc.used}`);
    assert.ok(dev.writes.length > 0, 'evictions wrote dirty buffers');
    await bc.bsync();
    for (let i = 0; i < 10; i++) assert.ok(dev.data.subarray(i * BS * 3, i * BS * 3 + BS).every((x) => x === i + 1), `block ${i}`);
    assert.equal(bc.ndirty, 0);
  });

  it('gives all memory back to kmem when a device is invalidated', async () => {
    const { bc, dev, kmem } = setup();
    for (let i = 0; i < 5; i++) bc.brelse(await bc.bread(dev, i * B, BS));
    assert.ok(kmem.used > 0);
    await bc.binval(dev);
    assert.equal(kmem.used, 0);
    assert.equal(bc.used, 0);
    assert.equal(bc.cached(dev), 0);
  });

  it('fails with ENOMEM when kernel memory is exhausted and nothing can be evicted', async () => {
    const { bc, dev } = setup({}, 1 << 20, 2 * BS);
    const a = await bc.bread(dev, 0, BS);
    const b = await bc.bread(dev, B, BS);
    await assert.rejects(bc.bread(dev, 2 * B, BS), { code: 'ENOMEM' });
    bc.brelse(a);
    bc.brelse(b);
    bc.brelse(await bc.bread(dev, 2 * B, BS)); // now a clean buffer can be evicted
  });
});

describe('buffer cache writes', () => {
  it('bflush writes dirty buffers in block order, clustering neighbours, then flushes the device', async () => {
    const { bc, dev } = setup();
    for (const blk of [9, 2, 5, 3, 4, 0]) {
      const bp = await bc.getblk(dev, blk * B, BS);
      bp.data.fill(blk + 100);
      bc.bdwrite(bp);
    }
    assert.equal(dev.writes.length, 0, 'delayed writes are not written at once');
    await bc.bflush(dev);
    const offs = dev.writes.map((w) => w.off);
    assert.deepEqual(offs, [...offs].sort((a, b) => a - b), 'ascending block order');
    assert.deepEqual(dev.writes, [
      { off: 0, len: BS },
      { off: 2 * BS, len: 4 * BS },
      { off: 9 * BS, len: BS },
    ]);
    assert.equal(dev.flushes, 1);
    for (const blk of [9, 2, 5, 3, 4, 0]) assert.equal(dev.data[blk * BS], blk + 100);
  });

  it('bwrite writes at once and the buffer stays cached clean', async () => {
    const { bc, dev } = setup();
    const bp = await bc.bread(dev, 7 * B, BS);
    bp.data[0] = 0xab;
    await bc.bwrite(bp);
    assert.equal(dev.writes.length, 1);
    assert.equal(dev.data[7 * BS], 0xab);
    assert.equal(bc.ndirty, 0);
    assert.ok(bc.incore(dev, 7 * B));
  });

  it('a failed bwrite throws EIO and keeps the data dirty; a later flush retries it', async () => {
    const { bc, dev } = setup();
    dev.failWrite = () => true;
    const bp = await bc.getblk(dev, 1 * B, BS);
    bp.data.fill(0x42);
    await assert.rejects(bc.bwrite(bp), { code: 'EIO' });
    assert.equal(bc.ndirty, 1);
    await assert.rejects(bc.bflush(dev), { code: 'EIO' });
    assert.equal(bc.ndirty, 1, 'still dirty after a failed flush');
    dev.failWrite = null;
    await bc.bflush(dev);
    assert.equal(bc.ndirty, 0);
    assert.ok(dev.data.subarray(BS, 2 * BS).every((x) => x === 0x42));
  });

  it('one bad block in a cluster does not keep its neighbours dirty', async () => {
    const { bc, dev } = setup();
    for (let i = 0; i < 4; i++) {
      const bp = await bc.getblk(dev, i * B, BS);
      bp.data.fill(0x10 + i);
      bc.bdwrite(bp);
    }
    dev.failWrite = (off, len) => off <= 2 * BS && 2 * BS < off + len;
    await assert.rejects(bc.bflush(dev), { code: 'EIO' });
    assert.equal(bc.ndirty, 1);
    assert.equal(dev.data[0], 0x10);
    assert.equal(dev.data[3 * BS], 0x13);
    assert.notEqual(dev.data[2 * BS], 0x12);
  });

  it('invalidating a device whose dirty blocks cannot be written throws, naming how many were lost', async () => {
    const { bc, dev, kmem } = setup();
    const bp = await bc.getblk(dev, 0, BS);
    bc.bdwrite(bp);
    dev.failWrite = () => true;
    await assert.rejects(bc.binval(dev), (e: unknown) => e instanceof KernelError && e.code === 'EIO' && /1 dirty block/.test(e.message));
    assert.equal(kmem.used, 0);
  });

  it('bawrite keeps the buffer busy until the write is done, and a flush waits for it', async () => {
    const { bc, dev } = setup();
    const bp = await bc.getblk(dev, 0, BS);
    bp.data.fill(9);
    const done = bc.bawrite(bp);
    assert.equal(bp.busy, true);
    await bc.bflush(dev);
    assert.equal(bp.busy, false);
    assert.equal(dev.data[0], 9);
    await done;
    assert.equal(dev.writes.length, 1);
  });

  it('writes to a read-only device fail with EROFS and the change is dropped', async () => {
    const kmem = new Kmem(memoryHost(), 1 << 30);
    const bc = new BufCache({ kmem, printf: () => undefined }, { syncDelay: 0 });
    const dev = new FakeDev(1 << 16, true);
    const bp = await bc.bread(dev, 0, BS);
    bp.data[0] = bp.data[0]! ^ 0xff;
    assert.throws(() => bc.bdwrite(bp), { code: 'EROFS' });
    const again = await bc.bread(dev, 0, BS);
    assert.equal(again.data[0], dev.data[0]);
    bc.brelse(again);
  });

  it('releasing a buffer that is not held is a programming error', async () => {
    const { bc, dev } = setup();
    const bp = await bc.bread(dev, 0, BS);
    bc.brelse(bp);
    assert.throws(() => bc.brelse(bp), /not held/);
  });
});

describe('buffer cache read-ahead', () => {
  async function readAll(bc: BufCache, dev: FakeDev, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const bp = await bc.bread(dev, i * B, BS);
      assert.deepEqual(bp.data, dev.data.subarray(i * BS, (i + 1) * BS), `block ${i}`);
      bc.brelse(bp);
    }
  }

  it('sequential reads are read ahead in larger I/Os, cutting the number of device reads', async () => {
    const off = setup({ readahead: 0 });
    await readAll(off.bc, off.dev, 64);
    assert.equal(off.dev.reads.length, 64);
    const on = setup({ readahead: 64 * 1024 });
    await readAll(on.bc, on.dev, 64);
    assert.ok(on.dev.reads.length <= 10, `${on.dev.reads.length} reads`);
    assert.ok(on.dev.reads.some((r) => r.len > BS), 'some reads cover several blocks');
    assert.ok(on.dev.reads.every((r) => r.len <= BS + 64 * 1024));
    assert.ok(on.bc.stats.readaheadHits > 40);
  });

  it('random reads are not read ahead', async () => {
    const { bc, dev } = setup({ readahead: 64 * 1024 });
    for (const i of [5, 17, 3, 40, 11, 29]) bc.brelse(await bc.bread(dev, i * B, BS));
    assert.ok(dev.reads.every((r) => r.len === BS));
    assert.equal(bc.stats.readahead, 0);
  });

  it('read-ahead stops at the end of the device', async () => {
    const { bc, dev } = setup({ readahead: 64 * 1024 }, 10 * BS);
    await readAll(bc, dev, 10);
    assert.ok(dev.reads.every((r) => r.off + r.len <= 10 * BS));
  });

  it('when a read with read-ahead fails, the asked-for block is read alone', async () => {
    const { bc, dev } = setup({ readahead: 64 * 1024 });
    dev.failRead = (off, len) => off <= 6 * BS && 6 * BS < off + len && len > BS;
    await readAll(bc, dev, 12);
  });

  it('prefetch reads a block in the background; the later bread is a hit', async () => {
    const { bc, dev } = setup();
    bc.prefetch(dev, 40 * B, BS);
    bc.prefetch(dev, 40 * B, BS); // already on its way: no second read
    const bp = await bc.bread(dev, 40 * B, BS);
    assert.deepEqual(bp.data, dev.data.subarray(40 * BS, 41 * BS));
    bc.brelse(bp);
    assert.equal(dev.reads.length, 1);
    assert.equal(bc.stats.readaheadHits, 1);
  });

  it('a failed prefetch caches nothing, and the later bread reports the error', async () => {
    const { bc, dev } = setup();
    dev.failRead = () => true;
    bc.prefetch(dev, 3 * B, BS);
    await assert.rejects(bc.bread(dev, 3 * B, BS), { code: 'EIO' });
    assert.equal(dev.reads.length, 2);
    assert.equal(bc.cached(dev), 0);
  });
});
