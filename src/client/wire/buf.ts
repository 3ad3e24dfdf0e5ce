/**
 * Byte readers and writers for the wire protocol (little-endian throughout).
 *
 * `Writer` grows as it is written and hands out the bytes written with `finish()`; one writer
 * makes one frame, so the result may be given to a socket without copying. `Reader` is a checked
 * cursor over received bytes: every accessor checks the remaining length first and throws a
 * `KernelError` (EINVAL, naming what was being read) instead of reading past the end, so a
 * truncated or lying body can never be misread. 64-bit integers travel as two 32-bit halves and
 * are exact JS numbers below 2^53; larger values are refused on read.
 */

import { KernelError } from '../../kern/errno.js';

const TWO32 = 4294967296;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Small frames are carved from shared 64 KiB slabs (as Node's Buffer pool does): one ArrayBuffer
 * per many frames instead of one each, which is most of a small call's cost. A region is never
 * handed out twice, so a frame given to a socket stays valid until the socket is done with it.
 * This pool holds no state anyone can observe (it is not kernel state): only memory not yet
 * handed out.
 */
const SLAB_SIZE = 64 * 1024;
const SLAB_MAX = 4096;
let slab = new Uint8Array(SLAB_SIZE);
let slabTop = 0;

function slabAlloc(n: number): Uint8Array {
  if (slabTop + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabTop = 0;
  }
  const b = slab.subarray(slabTop, slabTop + n);
  slabTop += n;
  return b;
}

/** Give back the unused end of the last slab region (if nothing was carved after it). */
function slabTrim(b: Uint8Array, used: number): void {
  if (b.buffer === slab.buffer && b.byteOffset + b.byteLength === slabTop) slabTop = b.byteOffset + used;
}

/** Short ASCII strings are coded in JS: TextEncoder/TextDecoder calls cost more than the work. */
const ASCII_FAST = 64;

export class Writer {
  private buf: Uint8Array;
  pos = 0;

  /** A fresh buffer of `capacity` bytes, or writing into `over` (which grows into a copy if too small). */
  constructor(capacity = 64, over?: Uint8Array) {
    this.buf = over ?? (capacity <= SLAB_MAX ? slabAlloc(capacity) : new Uint8Array(capacity));
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = Math.max(this.buf.length * 2, 64);
    while (cap < need) cap *= 2;
    const nb = cap <= SLAB_MAX ? slabAlloc(cap) : new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
  }

  private put32(v: number): void {
    const b = this.buf, p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.pos] = v;
    this.buf[this.pos + 1] = v >>> 8;
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.put32(v);
  }

  /** A signed 64-bit integer; `v` must be a safe integer (the caller checks). */
  i64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO32);
    this.put32(v - hi * TWO32);
    this.put32(hi);
  }

  /** An unsigned 64-bit integer below 2^53. */
  u64(v: number): void {
    this.i64(v);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** u32 byte length, then the bytes. */
  blob(b: Uint8Array): void {
    this.u32(b.byteLength);
    this.bytes(b);
  }

  /** u32 byte length, then UTF-8. */
  str(s: string): void {
    const len = s.length;
    if (len <= ASCII_FAST) {
      this.ensure(4 + len);
      const b = this.buf, at = this.pos + 4;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + i] = c;
      }
      if (i === len) {
        this.put32(len);
        this.pos += len;
        return;
      }
    }
    // at most 3 bytes per UTF-16 unit
    this.ensure(4 + len * 3);
    const at = this.pos;
    const { written } = enc.encodeInto(s, this.buf.subarray(at + 4));
    this.put32(written);
    this.pos = at + 4 + written;
  }

  /** Overwrite a u32 written earlier (a length filled in afterwards). */
  patchU32(at: number, v: number): void {
    const p = this.pos;
    this.pos = at;
    this.put32(v);
    this.pos = p;
  }

  /** Overwrite a u64 written earlier. */
  patchU64(at: number, v: number): void {
    const hi = Math.floor(v / TWO32);
    this.patchU32(at, v - hi * TWO32);
    this.patchU32(at + 4, hi);
  }

  /** The bytes written. The writer must not be used afterwards. */
  finish(): Uint8Array {
    slabTrim(this.buf, this.pos);
    return this.pos === this.buf.byteLength ? this.buf : this.buf.subarray(0, this.pos);
  }
}

/** Little-endian u32 at `o` of `b` (which has the bytes). */
function get32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
}

export class Reader {
  private readonly parts: readonly Uint8Array[];
  private idx = 0;
  /** Offset in the current part. */
  private off = 0;
  private cur: Uint8Array;
  private readonly total: number;
  private scratch: Uint8Array | null = null;
  /** Bytes consumed. */
  pos = 0;

  /**
   * `body` is one buffer or the pieces of one (as received, not joined: large copyouts go from
   * the pieces straight to their destination). `what` names the thing being read, for error
   * messages ("arguments of read").
   */
  constructor(body: Uint8Array | readonly Uint8Array[], readonly what: string) {
    if (body instanceof Uint8Array) {
      this.parts = [body];
      this.total = body.byteLength;
    } else {
      this.parts = body;
      let t = 0;
      for (const b of body) t += b.byteLength;
      this.total = t;
    }
    this.cur = this.parts[0] ?? new Uint8Array(0);
    // step over empty pieces
    while (this.cur.byteLength === 0 && this.idx + 1 < this.parts.length) this.cur = this.parts[++this.idx]!;
  }

  get remaining(): number { return this.total - this.pos; }

  private need(n: number, field: string): void {
    if (this.total - this.pos < n) {
      throw new KernelError('EINVAL', `${this.what}: truncated at ${field} (needs ${n} bytes at offset ${this.pos}, ${this.total - this.pos} left)`);
    }
  }

  /** Move past `n` bytes of the current part (which has them). */
  private skip(n: number): void {
    this.off += n;
    this.pos += n;
    while (this.off === this.cur.byteLength && this.idx + 1 < this.parts.length) {
      this.cur = this.parts[++this.idx]!;
      this.off = 0;
    }
  }

  /** Copy the next `n` bytes (which exist) to `dst` at `at`, across parts. */
  private gather(dst: Uint8Array, at: number, n: number): void {
    let done = 0;
    while (done < n) {
      const k = Math.min(n - done, this.cur.byteLength - this.off);
      dst.set(this.cur.subarray(this.off, this.off + k), at + done);
      done += k;
      this.skip(k);
    }
  }

  /** Where the next `n` (<= 8) bytes are: in place when they lie in one part, else in scratch. */
  private small(n: number, field: string): [Uint8Array, number] {
    this.need(n, field);
    if (this.cur.byteLength - this.off >= n) {
      const at = this.off;
      const b = this.cur;
      this.skip(n);
      return [b, at];
    }
    this.scratch ??= new Uint8Array(8);
    this.gather(this.scratch, 0, n);
    return [this.scratch, 0];
  }

  fail(field: string, why: string): never {
    throw new KernelError('EINVAL', `${this.what}: ${field} ${why}`);
  }

  u8(field: string): number {
    const [b, at] = this.small(1, field);
    return b[at]!;
  }

  u32(field: string): number {
    const [b, at] = this.small(4, field);
    return get32(b, at);
  }

  i64(field: string): number {
    const [b, at] = this.small(8, field);
    const lo = get32(b, at);
    const hi = b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24);
    if (hi >= 0x200000 || hi < -0x200000) this.fail(field, 'is outside the range of exact integers (|v| >= 2^53)');
    return hi * TWO32 + lo;
  }

  u64(field: string): number {
    const [b, at] = this.small(8, field);
    const lo = get32(b, at);
    const hi = get32(b, at + 4);
    if (hi >= 0x200000) this.fail(field, 'is 2^53 or more');
    return hi * TWO32 + lo;
  }

  /** `n` bytes: a view into the received buffer when they lie in one part, else a copy. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    if (this.cur.byteLength - this.off >= n) {
      const b = this.cur.subarray(this.off, this.off + n);
      this.skip(n);
      return b;
    }
    const out = new Uint8Array(n);
    this.gather(out, 0, n);
    return out;
  }

  /** Copy the next `n` bytes into `dst` at `at` (no intermediate buffer). */
  copyTo(dst: Uint8Array, at: number, n: number, field: string): void {
    this.need(n, field);
    this.gather(dst, at, n);
  }

  /** u32 length then bytes, the length at most `max`. */
  blob(field: string, max: number): Uint8Array {
    const n = this.u32(field);
    if (n > max) this.fail(field, `of ${n} bytes exceeds the limit of ${max}`);
    return this.bytes(n, field);
  }

  /** u32 length then UTF-8 (malformed UTF-8 is refused). */
  str(field: string, max: number): string {
    const b = this.blob(field, max);
    if (b.byteLength <= ASCII_FAST) {
      let s = '';
      let i = 0;
      for (; i < b.byteLength; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === b.byteLength) return s;
    }
    try {
      return dec.decode(b);
    } catch {
      return this.fail(field, 'is not valid UTF-8');
    }
  }

  /** Every byte must have been consumed. */
  end(): void {
    if (this.pos !== this.total) this.fail('body', `has ${this.total - this.pos} unexpected trailing bytes`);
  }
}

/** UTF-8 helpers for JSON bodies. */
export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

export function fromUtf8(b: Uint8Array, what: string): string {
  try {
    return dec.decode(b);
  } catch {
    throw new KernelError('EINVAL', `${what} is not valid UTF-8`);
  }
}
