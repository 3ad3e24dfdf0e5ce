/**
 * mbuf: the packet buffer. One `Mbuf` is one packet (NetBSD's m_pkthdr chain): a list of
 * segments, each a window [off, end) on a byte array, plus packet metadata (receiving interface,
 * broadcast/multicast flags, checksum-offload flags, the next packet in a queue).
 *
 * Zero copy: headers are prepended into headroom reserved in front of the first segment
 * (`prepend`), stripped by moving a window (`adj`), payload from elsewhere is chained without
 * copying (`appendBytes`, `append`), packets are cut (`split`) and shared (`copy`, NetBSD's
 * m_copym) by making new windows on the same storage. Only `pullup` (make the first n bytes
 * contiguous), `makeWritable`, `dup` and `toBytes` copy.
 *
 * Invariants:
 *  - `length` is the sum of the segment windows.
 *  - Each segment may write only inside [lo, hi) of its storage: lo..off is headroom, end..hi
 *    tailroom. A segment whose bytes another packet can also see is `shared` (after `copy`):
 *    its window is read-only — writes go through `makeWritable`/`copyback`, which copy first —
 *    and its room never extends over shared bytes.
 *  - Storage handed to `wrap`/`appendBytes` belongs to the packet from then on.
 *
 * Synchronous and kernel-free: no awaits, no memory charging (the layers that queue packets
 * charge kmem), nothing module-level that changes.
 */

import { KernelError } from '../kern/errno.js';
import { fold16, sum16, swap16 } from './wire/checksum.js';

/** Room reserved in front of new packets: link (18) + IPv6 (40) + fragment (8) + TCP (60). */
export const MBUF_HEADROOM = 128;
/** Smallest storage `appendCopy` allocates, so runs of small appends coalesce. */
export const MBUF_MINALLOC = 256;

/** Link-level broadcast. */
export const M_BCAST = 0x0100;
/** Link-level multicast. */
export const M_MCAST = 0x0200;
/** Looped back by this host. */
export const M_LOOP = 0x0400;

/** Output: compute the checksum (the interface offloads it); input: the interface verified it. */
export const M_CSUM_TCPv4 = 0x0001;
export const M_CSUM_UDPv4 = 0x0002;
/** Input: the interface found the TCP/UDP checksum bad. */
export const M_CSUM_TCP_UDP_BAD = 0x0004;
/** Input: csumData holds the interface's partial sum of the payload. */
export const M_CSUM_DATA = 0x0008;
export const M_CSUM_TCPv6 = 0x0010;
export const M_CSUM_UDPv6 = 0x0020;
export const M_CSUM_IPv4 = 0x0040;
/** Input: the interface found the IPv4 header checksum bad. */
export const M_CSUM_IPv4_BAD = 0x0080;
export const M_CSUM_TSOv4 = 0x0100;
export const M_CSUM_TSOv6 = 0x0200;

interface Seg {
  buf: Uint8Array;
  lo: number;
  off: number;
  end: number;
  hi: number;
  shared: boolean;
}

function seg(buf: Uint8Array, lo: number, off: number, end: number, hi: number, shared: boolean): Seg {
  return { buf, lo, off, end, hi, shared };
}

function einval(detail: string): KernelError {
  return new KernelError('EINVAL', `mbuf: ${detail}`);
}

export class Mbuf {
  private segs: Seg[];
  private len: number;
  /** Index of the receiving interface (0: none, locally generated). NetBSD's rcvif_index. */
  rcvif = 0;
  /** M_BCAST, M_MCAST, M_LOOP */
  flags = 0;
  /** M_CSUM_* */
  csumFlags = 0;
  /** Offload data: a partial sum (M_CSUM_DATA in), or where to store the checksum (out). */
  csumData = 0;
  /** Link to the next packet in a queue (m_nextpkt). */
  nextPkt: Mbuf | null = null;

  private constructor(segs: Seg[], len: number) {
    this.segs = segs;
    this.len = len;
  }

  /** A packet of `len` zero bytes with `headroom` bytes free in front. */
  static alloc(len: number, headroom = MBUF_HEADROOM): Mbuf {
    const buf = new Uint8Array(headroom + len);
    return new Mbuf([seg(buf, 0, headroom, headroom + len, headroom + len, false)], len);
  }

  /** An empty packet with room for headers in front and `tailroom` bytes of appends. */
  static empty(tailroom = 0, headroom = MBUF_HEADROOM): Mbuf {
    const buf = new Uint8Array(headroom + tailroom);
    return new Mbuf([seg(buf, 0, headroom, headroom, headroom + tailroom, false)], 0);
  }

  /**
   * Zero copy: the packet is storage[off, off+len); the bytes before and after are its head- and
   * tailroom. The packet owns `storage` from now on.
   */
  static wrap(storage: Uint8Array, off = 0, len = storage.length - off): Mbuf {
    if (off < 0 || len < 0 || off + len > storage.length) throw einval(`wrap window [${off}, ${off + len}) outside ${storage.length} bytes`);
    return new Mbuf([seg(storage, 0, off, off + len, storage.length, false)], len);
  }

  /** A copy of `bytes` with headroom in front. */
  static from(bytes: Uint8Array, headroom = MBUF_HEADROOM): Mbuf {
    const m = Mbuf.alloc(bytes.length, headroom);
    m.segs[0]!.buf.set(bytes, headroom);
    return m;
  }

  get length(): number {
    return this.len;
  }

  /** Non-empty segments. */
  get segmentCount(): number {
    let n = 0;
    for (const s of this.segs) if (s.end > s.off) n++;
    return n;
  }

  /** Bytes free in front of the data (M_LEADINGSPACE). */
  leadingSpace(): number {
    const s = this.segs[0];
    return s === undefined ? 0 : s.off - s.lo;
  }

  /** Bytes free after the data (M_TRAILINGSPACE). */
  trailingSpace(): number {
    const s = this.segs[this.segs.length - 1];
    return s === undefined ? 0 : s.hi - s.end;
  }

  /** Copy the packet header (interface, flags, offload state) from another packet. */
  copyPktHdr(from: Mbuf): void {
    this.rcvif = from.rcvif;
    this.flags = from.flags;
    this.csumFlags = from.csumFlags;
    this.csumData = from.csumData;
  }

  /**
   * Grow the packet by n bytes at the front (M_PREPEND) and return them, contiguous and
   * writable, for a header. Uses headroom when there is enough, else chains a new segment.
   */
  prepend(n: number): Uint8Array {
    if (n < 0) throw einval(`prepend of ${n} bytes`);
    const s = this.segs[0];
    this.len += n;
    if (s !== undefined && s.off - s.lo >= n) {
      s.off -= n;
      return s.buf.subarray(s.off, s.off + n);
    }
    const buf = new Uint8Array(MBUF_HEADROOM + n);
    this.segs.unshift(seg(buf, 0, MBUF_HEADROOM, MBUF_HEADROOM + n, MBUF_HEADROOM + n, false));
    return buf.subarray(MBUF_HEADROOM, MBUF_HEADROOM + n);
  }

  /** m_adj: n > 0 trims n bytes from the front, n < 0 trims -n from the back (all, at most). */
  adj(n: number): void {
    if (n >= 0) this.trimFront(Math.min(n, this.len));
    else this.trimBack(Math.min(-n, this.len));
  }

  private trimFront(k: number): void {
    this.len -= k;
    const segs = this.segs;
    while (k > 0) {
      const s = segs[0]!;
      const have = s.end - s.off;
      if (have > k || segs.length === 1) {
        s.off += Math.min(k, have);
        if (s.shared) s.lo = s.off;
        return;
      }
      k -= have;
      segs.shift();
    }
  }

  private trimBack(k: number): void {
    this.len -= k;
    const segs = this.segs;
    while (k > 0) {
      const s = segs[segs.length - 1]!;
      const have = s.end - s.off;
      if (have > k || segs.length === 1) {
        s.end -= Math.min(k, have);
        if (s.shared) s.hi = s.end;
        return;
      }
      k -= have;
      segs.pop();
    }
  }

  /** Before chaining after it: drop a last segment with no bytes and no room to offer. */
  private dropUselessTail(): void {
    const t = this.segs[this.segs.length - 1];
    if (t !== undefined && t.end === t.off && t.off === t.lo && t.hi === t.end) this.segs.pop();
  }

  /**
   * m_pullup: make the first n bytes contiguous and return them (a view into the packet,
   * read-only if `shared` — use makeWritable to write). Null when the packet is shorter than n:
   * the caller drops it as truncated. Copies only when n spans segments.
   */
  pullup(n: number): Uint8Array | null {
    if (n > this.len || n < 0) return null;
    const segs = this.segs;
    if (n === 0) return new Uint8Array(0);
    // An empty leading segment (an `empty()` packet's room) holds nothing to pull up.
    while (segs.length > 1 && segs[0]!.end === segs[0]!.off) segs.shift();
    let s = segs[0]!;
    if (s.end - s.off >= n) return s.buf.subarray(s.off, s.off + n);
    if (s.shared || s.hi - s.off < n) {
      // Not enough room in place: move the first segment's bytes to new storage.
      const buf = new Uint8Array(MBUF_HEADROOM + n);
      const have = s.end - s.off;
      buf.set(s.buf.subarray(s.off, s.end), MBUF_HEADROOM);
      s = seg(buf, 0, MBUF_HEADROOM, MBUF_HEADROOM + have, MBUF_HEADROOM + n, false);
      segs[0] = s;
    }
    this.gatherInto(s, n - (s.end - s.off));
    return s.buf.subarray(s.off, s.off + n);
  }

  /** Move k bytes from the segments after `s` (= segs[0]) into its tailroom. */
  private gatherInto(s: Seg, k: number): void {
    const segs = this.segs;
    while (k > 0) {
      const t = segs[1]!;
      const take = Math.min(k, t.end - t.off);
      s.buf.set(t.buf.subarray(t.off, t.off + take), s.end);
      s.end += take;
      t.off += take;
      if (t.shared) t.lo = t.off;
      k -= take;
      if (t.off === t.end) segs.splice(1, 1);
    }
  }

  /**
   * Like pullup, and the returned bytes may be written: a shared first segment is copied to
   * private storage first (m_makewritable).
   */
  makeWritable(n: number): Uint8Array | null {
    const v = this.pullup(n);
    if (v === null) return null;
    if (this.segs.length > 0 && this.segs[0]!.shared) this.privatize(0);
    const s = this.segs[0];
    return s === undefined ? v : s.buf.subarray(s.off, s.off + n);
  }

  /** Give segment i private storage holding the same bytes (with its own headroom if first). */
  private privatize(i: number): void {
    const s = this.segs[i]!;
    const have = s.end - s.off;
    const head = i === 0 ? MBUF_HEADROOM : 0;
    const buf = new Uint8Array(head + have);
    buf.set(s.buf.subarray(s.off, s.end), head);
    this.segs[i] = seg(buf, 0, head, head + have, head + have, false);
  }

  /** m_copydata: copy packet bytes [off, off+len) to dst[dstOff, ...). */
  copydata(off: number, len: number, dst: Uint8Array, dstOff = 0): void {
    if (off < 0 || len < 0 || off + len > this.len) throw einval(`copydata [${off}, ${off + len}) outside a packet of ${this.len} bytes`);
    if (dstOff + len > dst.length) throw einval(`copydata of ${len} bytes into ${dst.length - dstOff} bytes of room`);
    for (const s of this.segs) {
      if (len === 0) break;
      const have = s.end - s.off;
      if (off >= have) { off -= have; continue; }
      const take = Math.min(len, have - off);
      dst.set(s.buf.subarray(s.off + off, s.off + off + take), dstOff);
      dstOff += take;
      len -= take;
      off = 0;
    }
  }

  /** m_copyback: overwrite packet bytes from `off` with src (inside the packet; shared bytes are copied first). */
  copyback(off: number, src: Uint8Array): void {
    let len = src.length;
    if (off < 0 || off + len > this.len) throw einval(`copyback [${off}, ${off + len}) outside a packet of ${this.len} bytes`);
    let from = 0;
    for (let i = 0; i < this.segs.length && len > 0; i++) {
      let s = this.segs[i]!;
      const have = s.end - s.off;
      if (off >= have) { off -= have; continue; }
      if (s.shared) { this.privatize(i); s = this.segs[i]!; }
      const take = Math.min(len, have - off);
      s.buf.set(src.subarray(from, from + take), s.off + off);
      from += take;
      len -= take;
      off = 0;
    }
  }

  /** m_split: keep [0, off) here and return [off, length) as a new packet (same header). */
  split(off: number): Mbuf {
    if (off < 0 || off > this.len) throw einval(`split at ${off} outside a packet of ${this.len} bytes`);
    const segs = this.segs;
    let i = 0;
    let rest = off;
    while (i < segs.length && rest >= segs[i]!.end - segs[i]!.off) {
      rest -= segs[i]!.end - segs[i]!.off;
      i++;
    }
    let tailSegs: Seg[];
    if (rest === 0) {
      tailSegs = segs.splice(i);
    } else {
      const s = segs[i]!;
      const cut = s.off + rest;
      tailSegs = [seg(s.buf, cut, cut, s.end, s.hi, s.shared), ...segs.slice(i + 1)];
      segs.length = i + 1;
      s.end = cut;
      s.hi = cut;
    }
    const tail = new Mbuf(tailSegs, this.len - off);
    tail.copyPktHdr(this);
    this.len = off;
    return tail;
  }

  /** m_cat: move all of `m`'s bytes to the end of this packet; m is left empty. */
  append(m: Mbuf): void {
    if (m === this) throw einval('append of a packet to itself');
    if (m.len > 0) this.dropUselessTail();
    for (const s of m.segs) if (s.end > s.off) this.segs.push(s);
    this.len += m.len;
    m.segs = [];
    m.len = 0;
  }

  /** Chain bytes[off, off+len) without copying; the packet owns them from now on. */
  appendBytes(bytes: Uint8Array, off = 0, len = bytes.length - off): void {
    if (off < 0 || len < 0 || off + len > bytes.length) throw einval(`appendBytes window [${off}, ${off + len}) outside ${bytes.length} bytes`);
    if (len === 0) return;
    this.dropUselessTail();
    this.segs.push(seg(bytes, off, off, off + len, off + len, false));
    this.len += len;
  }

  /** Copy bytes to the end: into the tailroom first, then into new storage. */
  appendCopy(bytes: Uint8Array): void {
    let from = 0;
    const last = this.segs[this.segs.length - 1];
    if (last !== undefined && !last.shared && last.hi > last.end) {
      const take = Math.min(bytes.length, last.hi - last.end);
      last.buf.set(take === bytes.length ? bytes : bytes.subarray(0, take), last.end);
      last.end += take;
      from = take;
    }
    const rest = bytes.length - from;
    if (rest > 0) {
      const buf = new Uint8Array(Math.max(rest, MBUF_MINALLOC));
      buf.set(from === 0 ? bytes : bytes.subarray(from), 0);
      this.segs.push(seg(buf, 0, 0, rest, buf.length, false));
    }
    this.len += bytes.length;
  }

  /**
   * m_copym: a new packet sharing bytes [off, off+len) with this one (no copy). Both sides see
   * those bytes as shared (read-only); headers prepended to the copy go into new storage.
   */
  copy(off = 0, len = this.len - off): Mbuf {
    if (off < 0 || len < 0 || off + len > this.len) throw einval(`copy [${off}, ${off + len}) outside a packet of ${this.len} bytes`);
    const out: Seg[] = [];
    let want = len;
    for (const s of this.segs) {
      if (want === 0) break;
      const have = s.end - s.off;
      if (off >= have) { off -= have; continue; }
      const a = s.off + off;
      const take = Math.min(want, have - off);
      s.shared = true;
      out.push(seg(s.buf, a, a, a + take, a + take, true));
      want -= take;
      off = 0;
    }
    const m = new Mbuf(out, len);
    m.copyPktHdr(this);
    return m;
  }

  /** m_dup: a deep copy in one contiguous segment with fresh headroom. */
  dup(headroom = MBUF_HEADROOM): Mbuf {
    const m = Mbuf.alloc(this.len, headroom);
    this.copydata(0, this.len, m.segs[0]!.buf, headroom);
    m.copyPktHdr(this);
    return m;
  }

  /** A fresh array with all the packet's bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    this.copydata(0, this.len, out);
    return out;
  }

  /** The i-th non-empty segment's bytes (a view; i < segmentCount). */
  segment(i: number): Uint8Array {
    let k = i;
    for (const s of this.segs) {
      if (s.end === s.off) continue;
      if (k === 0) return s.buf.subarray(s.off, s.end);
      k--;
    }
    throw einval(`segment ${i} of ${this.segmentCount}`);
  }

  /** Call fn for every non-empty segment with its storage and window, allocating nothing. */
  forEachSegment(fn: (buf: Uint8Array, off: number, len: number) => void): void {
    for (const s of this.segs) if (s.end > s.off) fn(s.buf, s.off, s.end - s.off);
  }

  *[Symbol.iterator](): IterableIterator<Uint8Array> {
    for (const s of this.segs) if (s.end > s.off) yield s.buf.subarray(s.off, s.end);
  }

  /**
   * Internet checksum partial sum (unfolded, see wire/checksum.ts) of packet bytes
   * [off, off+len), plus `initial`; pieces starting at an odd offset are byte-swapped.
   */
  sum(off: number, len: number, initial = 0): number {
    if (off < 0 || len < 0 || off + len > this.len) throw einval(`sum [${off}, ${off + len}) outside a packet of ${this.len} bytes`);
    let total = initial;
    let pos = 0;
    for (const s of this.segs) {
      if (len === 0) break;
      const have = s.end - s.off;
      if (off >= have) { off -= have; continue; }
      const take = Math.min(len, have - off);
      const part = sum16(s.buf, s.off + off, take);
      total += (pos & 1) === 1 ? swap16(fold16(part)) : part;
      pos += take;
      len -= take;
      off = 0;
    }
    return total;
  }
}

/**
 * A FIFO of packets linked through `nextPkt` (NetBSD's ifqueue): bounded, counting drops,
 * allocation-free. Memory charging is the owner's business.
 */
export class MbufQueue {
  private head: Mbuf | null = null;
  private tail: Mbuf | null = null;
  /** Packets queued. */
  count = 0;
  /** Bytes queued. */
  bytes = 0;
  /** Packets refused because the queue was full. */
  drops = 0;

  constructor(public maxlen = 256) {}

  get full(): boolean {
    return this.count >= this.maxlen;
  }

  /** Append m; false (and a counted drop) when full — the caller frees/uncharges m. */
  enqueue(m: Mbuf): boolean {
    if (this.count >= this.maxlen) {
      this.drops++;
      return false;
    }
    m.nextPkt = null;
    if (this.tail === null) this.head = m;
    else this.tail.nextPkt = m;
    this.tail = m;
    this.count++;
    this.bytes += m.length;
    return true;
  }

  /** Put m back at the head (IF_PREPEND), even when full. */
  requeue(m: Mbuf): void {
    m.nextPkt = this.head;
    this.head = m;
    if (this.tail === null) this.tail = m;
    this.count++;
    this.bytes += m.length;
  }

  dequeue(): Mbuf | null {
    const m = this.head;
    if (m === null) return null;
    this.head = m.nextPkt;
    if (this.head === null) this.tail = null;
    m.nextPkt = null;
    this.count--;
    this.bytes -= m.length;
    return m;
  }

  peek(): Mbuf | null {
    return this.head;
  }

  /** Remove and return every packet, oldest first. */
  drain(): Mbuf[] {
    const out: Mbuf[] = [];
    for (let m = this.dequeue(); m !== null; m = this.dequeue()) out.push(m);
    return out;
  }
}
