/**
 * The send queue of a connection: the bytes from snd_una on (sent-unacknowledged first, then
 * unsent), held as the chunks the socket layer handed to `send` (no copy). Byte 0 of the queue
 * is at sequence number snd_una.
 *
 * The queue belongs to the control block, not the socket: after close the connection keeps
 * delivering (and retransmitting) what was queued while the socket is already freed. While a
 * socket is attached, its send sockbuf mirrors the queue's length for accounting (memory
 * charge, SO_SNDBUF back-pressure, poll); see Tcb.append/Tcb.dropAcked.
 *
 * Chunks are shared read-only with outgoing packets (Mbuf.appendBytes of a view): nobody writes
 * them after `send`.
 */

import type { Mbuf } from '../../mbuf.js';

export class SendQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  /** Bytes of chunks[head] already dropped. */
  private off = 0;
  /** Bytes queued. */
  length = 0;

  append(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    this.chunks.push(data);
    this.length += data.byteLength;
  }

  /** Drop n bytes from the front (acknowledged). */
  drop(n: number): void {
    if (n > this.length) n = this.length;
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[this.head]!;
      const have = c.byteLength - this.off;
      if (have > n) {
        this.off += n;
        return;
      }
      n -= have;
      this.chunks[this.head] = undefined as unknown as Uint8Array;
      this.head++;
      this.off = 0;
    }
    if (this.head >= this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Append bytes [off, off+len) of the queue to `m` without copying. */
  appendTo(m: Mbuf, off: number, len: number): void {
    let i = this.head;
    let skip = off + this.off;
    while (len > 0 && i < this.chunks.length) {
      const c = this.chunks[i]!;
      if (skip >= c.byteLength) {
        skip -= c.byteLength;
        i++;
        continue;
      }
      const take = Math.min(len, c.byteLength - skip);
      m.appendBytes(c, skip, take);
      len -= take;
      skip = 0;
      i++;
    }
  }

  /** A copy of bytes [off, off+len) (tests, diagnostics). */
  copy(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let i = this.head;
    let skip = off + this.off;
    let o = 0;
    while (o < len && i < this.chunks.length) {
      const c = this.chunks[i]!;
      if (skip >= c.byteLength) { skip -= c.byteLength; i++; continue; }
      const take = Math.min(len - o, c.byteLength - skip);
      out.set(c.subarray(skip, skip + take), o);
      o += take;
      skip = 0;
      i++;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.off = 0;
    this.length = 0;
  }
}
