/**
 * mbuf (src/net/mbuf.ts): the packet buffer. Zero-copy operations are checked by watching the
 * storage (a header prepended into headroom lands in the same bytes); sharing is checked by
 * writing through one packet and reading the other; a seeded random run compares every
 * operation with a plain byte-array model.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Mbuf, MbufQueue, MBUF_HEADROOM, M_BCAST, M_CSUM_TCPv4 } from '../src/net/mbuf.js';
import { fold16, internetChecksum, sum16 } from '../src/net/wire/checksum.js';
import { KernelError } from '../src/kern/errno.js';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const range = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** A packet made of the given pieces, chained without copying. */
function chain(...pieces: Uint8Array[]): Mbuf {
  const m = Mbuf.empty(0, 0);
  for (const p of pieces) m.appendBytes(p);
  return m;
}

describe('mbuf construction and headroom', () => {
  it('allocates with headroom and prepends headers into it without a new segment', () => {
    const m = Mbuf.alloc(100);
    assert.equal(m.length, 100);
    assert.equal(m.leadingSpace(), MBUF_HEADROOM);
    const tcp = m.prepend(20);
    const ip = m.prepend(20);
    const eth = m.prepend(14);
    assert.equal(m.length, 154);
    assert.equal(m.segmentCount, 1);
    assert.equal(m.leadingSpace(), MBUF_HEADROOM - 54);
    assert.equal(eth.buffer, tcp.buffer, 'all headers share the packet storage');
    assert.equal(ip.byteOffset + 20, tcp.byteOffset);
    eth[0] = 0xaa;
    assert.equal(m.toBytes()[0], 0xaa);
  });

  it('chains a new segment when the headroom is used up', () => {
    const m = Mbuf.wrap(range(10));
    assert.equal(m.leadingSpace(), 0);
    const h = m.prepend(4);
    h.set([1, 2, 3, 4]);
    assert.equal(m.segmentCount, 2);
    assert.deepEqual(m.toBytes(), new Uint8Array([1, 2, 3, 4, ...range(10)]));
    assert.ok(m.leadingSpace() > 0, 'the new segment brings headroom for the next header');
  });

  it('wraps received storage without copying', () => {
    const frame = range(60);
    const m = Mbuf.wrap(frame, 0, 42);
    assert.equal(m.length, 42);
    assert.equal(m.trailingSpace(), 18);
    const v = m.pullup(14)!;
    assert.equal(v.buffer, frame.buffer);
    v[0] = 0xee;
    assert.equal(frame[0], 0xee);
    assert.throws(() => Mbuf.wrap(frame, 50, 20), (e: KernelError) => e.code === 'EINVAL' && /wrap window \[50, 70\) outside 60 bytes/.test(e.message));
  });

  it('turns stripped headers back into headroom, so a reply reuses the storage', () => {
    const frame = range(64);
    const m = Mbuf.wrap(frame);
    m.adj(14);
    assert.equal(m.leadingSpace(), 14);
    const h = m.prepend(14);
    assert.equal(h.buffer, frame.buffer);
    assert.equal(h.byteOffset, 0);
    assert.equal(m.segmentCount, 1);
  });

  it('copies from bytes and duplicates deeply', () => {
    const src = range(30);
    const m = Mbuf.from(src);
    src[0] = 99;
    assert.equal(m.toBytes()[0], 0);
    m.rcvif = 3; m.flags = M_BCAST; m.csumFlags = M_CSUM_TCPv4;
    const d = m.dup();
    m.copyback(0, bytes(7));
    assert.equal(d.toBytes()[0], 0);
    assert.deepEqual([d.rcvif, d.flags, d.csumFlags], [3, M_BCAST, M_CSUM_TCPv4]);
    assert.equal(d.leadingSpace(), MBUF_HEADROOM);
  });
});

describe('mbuf trimming, pullup and copying out', () => {
  it('trims front and back across segments (m_adj)', () => {
    const m = chain(range(5), range(5, 5), range(5, 10));
    m.adj(7);
    assert.deepEqual(m.toBytes(), range(8, 7));
    assert.equal(m.segmentCount, 2);
    m.adj(-6);
    assert.deepEqual(m.toBytes(), range(2, 7));
    assert.equal(m.segmentCount, 1);
    m.adj(100);
    assert.equal(m.length, 0);
    m.adj(-5);
    assert.equal(m.length, 0);
  });

  it('makes the first bytes contiguous across segments, copying only what it must', () => {
    const a = range(3);
    const m = chain(a, range(5, 3), range(10, 8));
    assert.equal(m.pullup(3)!.buffer, a.buffer, 'already contiguous: no copy');
    const v = m.pullup(12)!;
    assert.deepEqual(v, range(12));
    assert.equal(m.length, 18);
    assert.deepEqual(m.toBytes(), range(18));
    assert.equal(m.segmentCount, 2);
    assert.equal(m.pullup(19), null, 'a short packet cannot be pulled up');
    assert.deepEqual(m.pullup(18), range(18));
    assert.equal(m.segmentCount, 1);
  });

  it('gathers into the first segment in place when it has room', () => {
    const n = Mbuf.empty(32);
    n.appendCopy(range(4));
    n.appendBytes(range(6, 4));
    assert.equal(n.segmentCount, 2);
    const storage = n.pullup(4)!.buffer;
    const v = n.pullup(10)!;
    assert.equal(v.buffer, storage, 'gathered into the existing storage');
    assert.deepEqual(v, range(10));
    assert.equal(n.segmentCount, 1);
    assert.equal(n.leadingSpace(), MBUF_HEADROOM, 'and kept its headroom');
  });

  it('copies data out of any range and rejects ranges outside the packet', () => {
    const m = chain(range(4), range(4, 4), range(4, 8));
    const dst = new Uint8Array(8);
    m.copydata(3, 6, dst, 1);
    assert.deepEqual(dst, bytes(0, 3, 4, 5, 6, 7, 8, 0));
    assert.throws(() => m.copydata(10, 3, new Uint8Array(3)), (e: KernelError) => e.code === 'EINVAL' && /copydata \[10, 13\) outside a packet of 12 bytes/.test(e.message));
    assert.throws(() => m.copydata(0, 4, new Uint8Array(3)), /into 3 bytes of room/);
  });

  it('iterates its segments', () => {
    const m = chain(range(2), range(3, 2));
    assert.deepEqual([...m].map((s) => s.length), [2, 3]);
    const seen: number[] = [];
    m.forEachSegment((buf, off, len) => { seen.push(buf[off]!, len); });
    assert.deepEqual(seen, [0, 2, 2, 3]);
    assert.deepEqual(m.segment(1), range(3, 2));
    assert.throws(() => m.segment(2), /segment 2 of 2/);
  });
});

describe('mbuf split, append and sharing', () => {
  it('splits at any offset into two packets with the same bytes and header', () => {
    for (let at = 0; at <= 15; at++) {
      const m = chain(range(5), range(5, 5), range(5, 10));
      m.rcvif = 2;
      const t = m.split(at);
      assert.equal(m.length, at);
      assert.equal(t.length, 15 - at);
      assert.deepEqual(new Uint8Array([...m.toBytes(), ...t.toBytes()]), range(15), `split at ${at}`);
      assert.equal(t.rcvif, 2);
    }
    assert.throws(() => Mbuf.alloc(3).split(4), /split at 4 outside a packet of 3 bytes/);
  });

  it('keeps the halves of a split from writing into each other', () => {
    const storage = range(20);
    const m = Mbuf.wrap(storage, 4, 12);
    const t = m.split(6);
    m.appendCopy(bytes(0xaa, 0xbb));
    t.prepend(2).set([0xcc, 0xdd]);
    assert.deepEqual(t.toBytes(), new Uint8Array([0xcc, 0xdd, ...range(6, 10)]));
    assert.deepEqual(m.toBytes(), new Uint8Array([...range(6, 4), 0xaa, 0xbb]));
    assert.deepEqual(storage.subarray(4, 16), range(12, 4), 'the shared storage is untouched');
  });

  it('appends packets and bytes without copying, and copies into tailroom when asked', () => {
    const a = Mbuf.from(range(3));
    const b = chain(range(4, 3));
    a.append(b);
    assert.equal(b.length, 0);
    assert.deepEqual(a.toBytes(), range(7));
    const tail = range(2, 7);
    a.appendBytes(tail);
    assert.equal([...a].at(-1)!.buffer, tail.buffer);
    a.appendCopy(range(300, 9));
    assert.deepEqual(a.toBytes(), range(309));
    const n = Mbuf.empty(8);
    n.appendCopy(range(5));
    n.appendCopy(range(3, 5));
    assert.equal(n.segmentCount, 1, 'both fit in the tailroom');
    assert.equal(n.trailingSpace(), 0);
    assert.throws(() => a.append(a), /to itself/);
  });

  it('shares bytes with copies and keeps writes private (m_copym)', () => {
    const m = Mbuf.from(range(40));
    const c = m.copy(10, 20);
    assert.deepEqual(c.toBytes(), range(20, 10));
    assert.equal(c.leadingSpace(), 0, 'a copy has no headroom over shared bytes');
    const h = c.prepend(4);
    h.fill(0xff);
    assert.deepEqual(m.toBytes(), range(40), 'prepending to the copy leaves the original alone');
    m.copyback(15, bytes(1, 2, 3));
    assert.deepEqual(c.toBytes().subarray(4), range(20, 10), 'writing the original leaves the copy alone');
    const w = c.makeWritable(8)!;
    w.fill(0x11);
    const want = range(40);
    want.set([1, 2, 3], 15);
    assert.deepEqual(m.toBytes(), want, 'writing the copy leaves the original alone');
    assert.deepEqual(c.toBytes(), new Uint8Array([...new Uint8Array(8).fill(0x11), ...range(16, 14)]));
  });

  it('sums any segmentation to the checksum of the flat bytes', () => {
    let x = 99;
    const rnd = (n: number): number => { x = (x * 1103515245 + 12345) >>> 0; return (x >>> 8) % n; };
    for (let round = 0; round < 200; round++) {
      const total = 1 + rnd(400);
      const flat = Uint8Array.from({ length: total }, () => rnd(256));
      const m = Mbuf.empty(0, 0);
      for (let at = 0; at < total;) {
        const n = Math.min(total - at, 1 + rnd(40));
        m.appendBytes(flat.slice(at, at + n));
        at += n;
      }
      const off = rnd(total);
      const len = rnd(total - off + 1);
      assert.equal(fold16(m.sum(off, len, 7)), fold16(sum16(flat, off, len, 7)), `round ${round}`);
    }
    const m = chain(range(7), range(13, 7));
    assert.equal(~fold16(m.sum(0, 20)) & 0xffff, internetChecksum(range(20)));
  });
});

describe('mbuf against a byte-array model', () => {
  it('agrees with the model over a long random run of operations', () => {
    let x = 4242;
    const rnd = (n: number): number => { x = (x * 1103515245 + 12345) >>> 0; return (x >>> 8) % n; };
    let model: Uint8Array = new Uint8Array(0);
    let m = Mbuf.alloc(0);
    let tag = 1;
    const fresh = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (tag++) & 0xff);
    const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => new Uint8Array([...a, ...b]);
    const others: { m: Mbuf; model: Uint8Array }[] = [];
    for (let step = 0; step < 3000; step++) {
      const op = rnd(9);
      if (op === 0) {
        const n = rnd(60);
        const h = fresh(n);
        m.prepend(n).set(h);
        model = cat(h, model);
      } else if (op === 1) {
        const n = rnd(model.length + 5) - 2;
        m.adj(n);
        model = n >= 0 ? model.slice(Math.min(n, model.length)) : model.slice(0, Math.max(0, model.length + n));
      } else if (op === 2) {
        const b = fresh(rnd(50));
        m.appendCopy(b);
        model = cat(model, b);
      } else if (op === 3) {
        const b = fresh(rnd(50));
        m.appendBytes(b.slice());
        model = cat(model, b);
      } else if (op === 4) {
        const n = rnd(model.length + 2);
        const v = m.pullup(n);
        if (n > model.length) assert.equal(v, null);
        else assert.deepEqual(v, model.subarray(0, n));
      } else if (op === 5) {
        const at = rnd(model.length + 1);
        const t = m.split(at);
        if (rnd(2) === 0) m.append(t);
        else { others.push({ m: t, model: model.slice(at) }); model = model.slice(0, at); }
      } else if (op === 6 && model.length > 0) {
        const off = rnd(model.length);
        const len = rnd(model.length - off + 1);
        others.push({ m: m.copy(off, len), model: model.slice(off, off + len) });
      } else if (op === 7 && model.length > 0) {
        const off = rnd(model.length);
        const b = fresh(rnd(model.length - off + 1));
        m.copyback(off, b);
        model.set(b, off);
      } else if (op === 8 && model.length > 0) {
        const n = 1 + rnd(Math.min(model.length, 64));
        const w = m.makeWritable(n)!;
        const b = fresh(n);
        w.set(b);
        model.set(b, 0);
      }
      assert.equal(m.length, model.length, `length after step ${step} (op ${op})`);
      if (step % 25 === 0) {
        assert.deepEqual(m.toBytes(), model, `bytes after step ${step}`);
        for (const o of others) assert.deepEqual(o.m.toBytes(), o.model, `a split-off or copied packet changed by step ${step}`);
      }
      if (model.length > 4000) { m = Mbuf.alloc(0); model = new Uint8Array(0); }
    }
    assert.deepEqual(m.toBytes(), model);
    for (const o of others) assert.deepEqual(o.m.toBytes(), o.model);
  });
});

describe('mbuf queues', () => {
  it('keeps order, counts bytes and drops when full', () => {
    const q = new MbufQueue(2);
    const a = Mbuf.alloc(10);
    const b = Mbuf.alloc(20);
    const c = Mbuf.alloc(30);
    assert.equal(q.enqueue(a), true);
    assert.equal(q.enqueue(b), true);
    assert.equal(q.full, true);
    assert.equal(q.enqueue(c), false);
    assert.deepEqual([q.count, q.bytes, q.drops], [2, 30, 1]);
    assert.equal(q.dequeue(), a);
    q.requeue(a);
    assert.equal(q.peek(), a);
    assert.deepEqual(q.drain(), [a, b]);
    assert.equal(q.dequeue(), null);
    assert.deepEqual([q.count, q.bytes], [0, 0]);
    assert.equal(a.nextPkt, null);
  });
});
