/**
 * Socket buffers (NetBSD's struct sockbuf and uipc_socket2.c's sb* functions), and `Uio`, the
 * cursor over a caller's byte ranges that sosend copies in from and soreceive copies out to.
 *
 * A sockbuf is a queue of records. A record is one datagram or seqpacket message (with the
 * sender's address and ancillary data), or, for a stream socket, a run of bytes: stream data is
 * appended to the last record unless new control data starts a new one, so passed descriptors
 * stay attached to the bytes they were sent with. Every byte held is charged to the kernel's
 * memory (k.kmem); an append that cannot be charged fails and the caller reports ENOBUFS (or, on
 * an input path, drops and counts).
 *
 * Accounting (as NetBSD's): `cc` counts data bytes plus the bytes of addresses and control
 * (`ctl`), `hiwat` is the limit senders respect (SO_SNDBUF/SO_RCVBUF), `lowat` the amount a
 * reader waits for or the space a writer waits for (SO_RCVLOWAT/SO_SNDLOWAT). `space()` may be
 * negative when a protocol over-commits (stream appends are never refused for space).
 *
 * `lock` is the sblock: held by sosend/soreceive for a whole call (released while sleeping) so
 * concurrent calls do not interleave. `cv` is where callers sleep for data or space, with
 * `timeo` (SO_RCVTIMEO/SO_SNDTIMEO, ms, 0 = forever) bounding each sleep.
 */

import { KernelError } from '../kern/errno.js';
import type { Kmem } from '../kern/kmem.js';
import { KCondvar, KMutex } from '../kern/sync.js';
import type { Sockaddr } from '../kern/types.js';
import type { Control } from './protosw.js';

/** Bytes control data occupies in a buffer: CMSG_SPACE of its payload (16-byte header, 8-aligned). */
export function controlSpace(dataLen: number): number {
  return 16 + ((dataLen + 7) & ~7);
}

export function controlLength(c: readonly Control[] | null): number {
  if (c === null) return 0;
  let n = 0;
  for (const x of c) n += controlSpace(x.files !== null ? x.files.length * 4 : x.data?.byteLength ?? 0);
  return n;
}

export interface SbRecord {
  /** Sender's address (PR_ADDR protocols), or null. */
  addr: Sockaddr | null;
  /** Ancillary data in kernel form, or null (taken by the first read of the record). */
  control: Control[] | null;
  /** Data; chunks[0] is read from `off`. */
  chunks: Uint8Array[];
  off: number;
  /** Data bytes left in the record. */
  len: number;
  /** Bytes of address and control charged (part of cc and ctl). */
  ctl: number;
  /** End of record (MSG_EOR) for seqpacket. */
  eor: boolean;
  /** A stream record further bytes may be appended to (no address, no control of its own). */
  open: boolean;
}

export class Sockbuf {
  /** Data plus address and control bytes held. */
  cc = 0;
  /** Address and control bytes held. */
  ctl = 0;
  hiwat = 0;
  lowat = 0;
  /** Sleep bound in ms (0: none). */
  timeo = 0;
  /** Records dropped for want of space (sb_overflowed). */
  overflowed = 0;
  readonly cv = new KCondvar();
  /** sblock */
  readonly lock = new KMutex();
  private recs: SbRecord[] = [];
  private head = 0;

  constructor(private readonly kmem: Kmem) {}

  /** Data bytes held (what FIONREAD reports). */
  get data(): number { return this.cc - this.ctl; }

  /** sbspace: room left below the high-water mark (negative when over-committed). */
  space(): number { return this.hiwat - this.cc; }

  get empty(): boolean { return this.head >= this.recs.length; }

  get recordCount(): number { return this.recs.length - this.head; }

  /** The first record, if any. */
  first(): SbRecord | undefined { return this.recs[this.head]; }

  /** The record after the first, if any. */
  second(): SbRecord | undefined { return this.recs[this.head + 1]; }

  *records(): IterableIterator<SbRecord> {
    for (let i = this.head; i < this.recs.length; i++) yield this.recs[i]!;
  }

  /** sbreserve: set the high-water mark (1..max bytes), clamping the low-water mark to it. */
  reserve(cc: number, max: number): void {
    if (!Number.isInteger(cc) || cc <= 0 || cc > max) {
      throw new KernelError('ENOBUFS', `socket buffer size ${cc} is outside 1..${max} (kern.sbmax)`);
    }
    this.hiwat = cc;
    if (this.lowat > this.hiwat) this.lowat = this.hiwat;
  }

  private charge(bytes: number): boolean {
    if (!this.kmem.fits(bytes)) {
      this.kmem.failures++;
      return false;
    }
    this.kmem.charge(bytes, 'socket buffer');
    return true;
  }

  private push(r: SbRecord): void {
    this.recs.push(r);
  }

  /** sbappendstream: add stream bytes (never refused for space; false if memory is short). */
  appendStream(data: Uint8Array): boolean {
    if (data.byteLength === 0) return true;
    if (!this.charge(data.byteLength)) return false;
    const last = this.recs.length > this.head ? this.recs[this.recs.length - 1]! : undefined;
    if (last !== undefined && last.open) {
      last.chunks.push(data);
      last.len += data.byteLength;
    } else {
      this.push({ addr: null, control: null, chunks: [data], off: 0, len: data.byteLength, ctl: 0, eor: false, open: true });
    }
    this.cc += data.byteLength;
    return true;
  }

  /**
   * sbappendrecord/sbappendcontrol: a record of its own (a seqpacket message, or stream bytes
   * carrying control). Not refused for space; false if memory is short.
   */
  appendRecord(data: Uint8Array, control: Control[] | null, ctlLen: number, eor: boolean, stream: boolean): boolean {
    const total = data.byteLength + ctlLen;
    if (!this.charge(total)) return false;
    this.push({
      addr: null, control, chunks: data.byteLength > 0 ? [data] : [], off: 0, len: data.byteLength, ctl: ctlLen, eor,
      open: stream && control === null,
    });
    this.cc += total;
    this.ctl += ctlLen;
    return true;
  }

  /**
   * sbappendaddr: a datagram with the sender's address; false (nothing queued, overflow
   * counted) when it does not fit below the high-water mark or memory is short.
   */
  appendAddr(addr: Sockaddr, addrLen: number, data: Uint8Array, control: Control[] | null, ctlLen: number): boolean {
    const total = addrLen + data.byteLength + ctlLen;
    if (total > this.space() || !this.charge(total)) {
      this.overflowed++;
      return false;
    }
    this.push({
      addr, control, chunks: data.byteLength > 0 ? [data] : [], off: 0, len: data.byteLength, ctl: addrLen + ctlLen,
      eor: false, open: false,
    });
    this.cc += total;
    this.ctl += addrLen + ctlLen;
    return true;
  }

  /** Take the first record's control (and forget its charge). */
  takeControl(r: SbRecord): Control[] | null {
    const c = r.control;
    r.control = null;
    return c;
  }

  /**
   * Copy up to `max` bytes of record `r` (from its read position plus `skip`) into `uio`;
   * returns the count. Does not consume.
   */
  peekRecord(r: SbRecord, uio: Uio, max: number, skip = 0): number {
    let n = 0;
    let off = r.off + skip;
    for (let i = 0; i < r.chunks.length && n < max && uio.resid > 0; i++) {
      const c = r.chunks[i]!;
      if (off >= c.byteLength) { off -= c.byteLength; continue; }
      const part = c.subarray(off, Math.min(c.byteLength, off + (max - n)));
      n += uio.copyout(part);
      off = 0;
    }
    return n;
  }

  /** Consume `n` data bytes from the front of the first record (which must hold them). */
  dropData(n: number): void {
    const r = this.recs[this.head]!;
    let left = n;
    while (left > 0) {
      const c = r.chunks[0]!;
      const avail = c.byteLength - r.off;
      if (avail <= left) {
        r.chunks.shift();
        r.off = 0;
        left -= avail;
      } else {
        r.off += left;
        left = 0;
      }
    }
    r.len -= n;
    this.cc -= n;
    this.kmem.uncharge(n);
  }

  /** Remove the first record with whatever data it has left; returns its unread control. */
  dropRecord(): Control[] | null {
    const r = this.recs[this.head];
    if (r === undefined) return null;
    this.recs[this.head] = undefined as unknown as SbRecord;
    this.head++;
    if (this.head >= this.recs.length) {
      this.recs = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.recs.length) {
      this.recs = this.recs.slice(this.head);
      this.head = 0;
    }
    const bytes = r.len + r.ctl;
    this.cc -= bytes;
    this.ctl -= r.ctl;
    this.kmem.uncharge(bytes);
    return r.control;
  }

  /** Drop the first record if nothing is left in it. */
  dropIfEmpty(): void {
    const r = this.recs[this.head];
    if (r !== undefined && r.len === 0 && r.control === null) this.dropRecord();
  }

  /** sbflush: drop everything; returns the unread control for the domain to dispose. */
  flush(): Control[] {
    const out: Control[] = [];
    while (!this.empty) {
      const c = this.dropRecord();
      if (c !== null) out.push(...c);
    }
    return out;
  }
}

/** A cursor over a caller's byte ranges (struct uio), for copyin and copyout. */
export class Uio {
  private idx = 0;
  private off = 0;
  /** Bytes not yet transferred. */
  resid: number;
  /** Bytes transferred so far. */
  done = 0;

  constructor(private readonly iov: readonly Uint8Array[]) {
    let n = 0;
    for (const b of iov) n += b.byteLength;
    this.resid = n;
  }

  /** Copy as much of `src` as fits into the ranges; returns the count. */
  copyout(src: Uint8Array): number {
    let n = 0;
    while (n < src.byteLength && this.idx < this.iov.length) {
      const dst = this.iov[this.idx]!;
      const take = Math.min(src.byteLength - n, dst.byteLength - this.off);
      dst.set(src.subarray(n, n + take), this.off);
      n += take;
      this.off += take;
      if (this.off >= dst.byteLength) { this.idx++; this.off = 0; }
    }
    this.resid -= n;
    this.done += n;
    return n;
  }

  /** Copy the next `n` bytes of the ranges into a new buffer (copyin). */
  copyin(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n && this.idx < this.iov.length) {
      const src = this.iov[this.idx]!;
      const take = Math.min(n - got, src.byteLength - this.off);
      out.set(src.subarray(this.off, this.off + take), got);
      got += take;
      this.off += take;
      if (this.off >= src.byteLength) { this.idx++; this.off = 0; }
    }
    this.resid -= got;
    this.done += got;
    return got === n ? out : out.subarray(0, got);
  }
}
