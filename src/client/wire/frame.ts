/**
 * Framing of the rumpclient wire protocol ("RUMPSP-TS"), modelled on NetBSD's sysproxy
 * (sp_common.c): a text banner from the server, then frames with a fixed 24-byte header.
 *
 * Banner (server -> client, once, on connect): ASCII, at most BANNER_MAX bytes with the newline:
 *
 *     RUMPSP-TS/<version> <ostype> <osrelease> <machine>\n        e.g. "RUMPSP-TS/1 NetBSD 10.1 rump\n"
 *
 * Frame header (little-endian, the layout of NetBSD's struct rsp_hdr):
 *
 *     offset size
 *          0    8  len     total frame length in bytes, header included (24 <= len <= max frame)
 *          8    8  reqno   request number chosen by the requester, echoed in the reply (< 2^53)
 *         16    2  class   0 request, 1 response, 2 error
 *         18    2  type    0 handshake, 1 syscall, 7 prefork, 8 raise (2-6 reserved, see below)
 *         20    4  word    handshake kind / syscall number / errno (error class) / signal number
 *         24       body    len - 24 bytes, layout by type (marshal.ts, handshake.ts)
 *
 * Type numbers are NetBSD's (RUMPSP_HANDSHAKE ... RUMPSP_RAISE). NetBSD's server asks the client
 * for memory with COPYIN/COPYINSTR/COPYOUT/COPYOUTSTR/ANONMMAP frames during a syscall; this
 * protocol marshals eagerly instead (copyin data travels in the request, copyout data in the
 * response, both described by the syscall table), so one syscall is one round trip. Those type
 * numbers are reserved; receiving one is a protocol error.
 *
 * The receiver checks each header as soon as its 24 bytes are in: a length below 24 or above the
 * limit, an unknown class or type is a protocol error (`KernelError` EPROTO or EMSGSIZE), and the
 * peer is disconnected; a frame body is only buffered as far as the peer actually sent it.
 */

import { KernelError } from '../../kern/errno.js';
import { Writer } from './buf.js';

/** The protocol version in the banner and the handshake. */
export const PROTOCOL_VERSION = 1;
export const BANNER_PREFIX = 'RUMPSP-TS/';
export const BANNER_MAX = 128;

export const HDR_SIZE = 24;
/** Default largest frame either side accepts: 16 MiB. */
export const DEFAULT_MAX_FRAME = 16 << 20;

export const CLASS_REQ = 0;
export const CLASS_RESP = 1;
export const CLASS_ERROR = 2;

export const TYPE_HANDSHAKE = 0;
export const TYPE_SYSCALL = 1;
export const TYPE_COPYIN = 2;
export const TYPE_COPYINSTR = 3;
export const TYPE_COPYOUT = 4;
export const TYPE_COPYOUTSTR = 5;
export const TYPE_ANONMMAP = 6;
export const TYPE_PREFORK = 7;
export const TYPE_RAISE = 8;

const TYPE_NAMES = ['handshake', 'syscall', 'copyin', 'copyinstr', 'copyout', 'copyoutstr', 'anonmmap', 'prefork', 'raise'] as const;

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}

interface FrameHeader {
  /** Total length, header included. */
  readonly len: number;
  readonly reqno: number;
  readonly cls: number;
  readonly type: number;
  readonly word: number;
}

export interface Frame extends FrameHeader {
  readonly body: Uint8Array;
}

/** A frame whose body is left in the pieces it arrived in. */
export interface PartsFrame extends FrameHeader {
  readonly parts: readonly Uint8Array[];
}

// ---------------------------------------------------------------------------------------------
// banner

export interface BannerInfo {
  readonly version: number;
  readonly ostype: string;
  readonly osrelease: string;
  readonly machine: string;
}

export function encodeBanner(info: BannerInfo): string {
  const clean = (s: string): string => s.replace(/[^\x21-\x7e]/g, '_').slice(0, 32);
  return `${BANNER_PREFIX}${info.version} ${clean(info.ostype)} ${clean(info.osrelease)} ${clean(info.machine)}\n`;
}

/**
 * Parse a banner line (without the newline). A banner of another protocol version parses (the
 * caller compares versions and says so); anything not a RUMPSP-TS banner is EPROTO, naming what
 * it looks like.
 */
export function parseBanner(line: string): BannerInfo {
  const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}...` : line);
  if (!line.startsWith(BANNER_PREFIX)) {
    if (line.startsWith('RUMPSP-')) {
      throw new KernelError('EPROTO', `the server is a NetBSD (C) rump_server, whose sysproxy protocol this client does not speak (banner ${shown})`);
    }
    throw new KernelError('EPROTO', `not a rump kernel server: expected a banner starting with '${BANNER_PREFIX}', got ${shown}`);
  }
  const [v, ostype = '', osrelease = '', machine = ''] = line.slice(BANNER_PREFIX.length).split(' ');
  if (v === undefined || !/^[0-9]{1,9}$/.test(v)) throw new KernelError('EPROTO', `malformed protocol version in the server's banner ${shown}`);
  return { version: Number(v), ostype, osrelease, machine };
}

/** Collects the banner line from the first bytes a client receives. */
export class BannerReader {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  /**
   * Feed bytes; returns null until the newline has arrived, then the line and the bytes after it
   * (the start of the first frame). EPROTO if no newline comes within BANNER_MAX bytes.
   */
  push(chunk: Uint8Array): { line: string; rest: Uint8Array } | null {
    const nl = chunk.indexOf(0x0a);
    if (nl < 0) {
      this.parts.push(chunk);
      this.size += chunk.byteLength;
      if (this.size > BANNER_MAX) throw new KernelError('EPROTO', `no banner line within ${BANNER_MAX} bytes: not a rump kernel server`);
      return null;
    }
    if (this.size + nl + 1 > BANNER_MAX) throw new KernelError('EPROTO', `banner longer than ${BANNER_MAX} bytes: not a rump kernel server`);
    this.parts.push(chunk.subarray(0, nl));
    const all = new Uint8Array(this.size + nl);
    let o = 0;
    for (const p of this.parts) {
      all.set(p, o);
      o += p.byteLength;
    }
    let line = '';
    for (const b of all) line += String.fromCharCode(b);
    return { line, rest: chunk.subarray(nl + 1) };
  }
}

// ---------------------------------------------------------------------------------------------
// encoding

/** Start a frame in a fresh writer: the header with the length left to `endFrame`. */
export function beginFrame(reqno: number, cls: number, type: number, word: number, capacity = 64): Writer {
  const w = new Writer(Math.max(capacity, HDR_SIZE));
  w.u64(0);
  w.u64(reqno);
  w.u16(cls);
  w.u16(type);
  w.u32(word >>> 0);
  return w;
}

/** Fill in the length and return the frame's bytes. */
export function endFrame(w: Writer): Uint8Array {
  w.patchU64(0, w.pos);
  return w.finish();
}

/** A whole frame with the given body. */
export function encodeFrame(reqno: number, cls: number, type: number, word: number, body?: Uint8Array): Uint8Array {
  const w = beginFrame(reqno, cls, type, word, HDR_SIZE + (body?.byteLength ?? 0));
  if (body !== undefined) w.bytes(body);
  return endFrame(w);
}

// ---------------------------------------------------------------------------------------------
// decoding

/**
 * Splits a byte stream into frames. `push` stores what arrived; `next` returns the next complete
 * frame or null, and throws (EPROTO, EMSGSIZE) on a header that breaks the rules. A frame lying
 * within one received chunk is returned as a view of it (no copy); one spread over chunks is
 * copied once, when complete — or, with `nextParts`, not at all.
 */
export class FrameDecoder {
  private readonly queue: Uint8Array[] = [];
  /** Bytes in the queue. */
  private avail = 0;
  private readonly hdr = new Uint8Array(HDR_SIZE);
  /** The header of the frame being received, once checked. */
  private cur: { len: number; reqno: number; cls: number; type: number; word: number } | null = null;

  /** Largest frame accepted; may be changed (a client learns the server's limit at handshake). */
  constructor(public maxFrame: number = DEFAULT_MAX_FRAME) {}

  /** Bytes received and not yet returned as frames. */
  get buffered(): number { return this.avail; }

  /** Drop everything buffered (the connection is gone). */
  clear(): void {
    this.queue.length = 0;
    this.avail = 0;
    this.cur = null;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.queue.push(chunk);
    this.avail += chunk.byteLength;
  }

  /** Copy the first `n` queued bytes into `dst` without consuming them. */
  private peek(dst: Uint8Array, n: number): void {
    let o = 0;
    for (const c of this.queue) {
      const take = Math.min(n - o, c.byteLength);
      dst.set(c.subarray(0, take), o);
      o += take;
      if (o === n) return;
    }
  }

  /** Remove `n` bytes from the front of the queue, as views of the received chunks. */
  private takeParts(n: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.avail -= n;
    while (n > 0) {
      const c = this.queue[0]!;
      if (c.byteLength <= n) {
        out.push(c);
        this.queue.shift();
        n -= c.byteLength;
      } else {
        out.push(c.subarray(0, n));
        this.queue[0] = c.subarray(n);
        n = 0;
      }
    }
    return out;
  }

  /** The next complete frame, its body in one piece (a view when it arrived in one chunk). */
  next(): Frame | null {
    const h = this.header();
    if (h === null) return null;
    const parts = this.takeParts(h.len);
    let bytes: Uint8Array;
    if (parts.length === 1) {
      bytes = parts[0]!;
    } else {
      bytes = new Uint8Array(h.len);
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.byteLength;
      }
    }
    return { len: h.len, reqno: h.reqno, cls: h.cls, type: h.type, word: h.word, body: bytes.subarray(HDR_SIZE) };
  }

  /** The next complete frame, its body as the received pieces (never copied). */
  nextParts(): PartsFrame | null {
    const h = this.header();
    if (h === null) return null;
    this.takeParts(HDR_SIZE);
    const parts = this.takeParts(h.len - HDR_SIZE);
    return { len: h.len, reqno: h.reqno, cls: h.cls, type: h.type, word: h.word, parts };
  }

  /** The checked header of the next frame once the whole frame is in, else null. */
  private header(): { len: number; reqno: number; cls: number; type: number; word: number } | null {
    if (this.cur === null) {
      if (this.avail < HDR_SIZE) return null;
      let b = this.queue[0]!;
      if (b.byteLength < HDR_SIZE) {
        this.peek(this.hdr, HDR_SIZE);
        b = this.hdr;
      }
      const u32 = (o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
      const lenLo = u32(0), lenHi = u32(4), rLo = u32(8), rHi = u32(12);
      const cls = b[16]! | (b[17]! << 8), type = b[18]! | (b[19]! << 8), word = u32(20);
      if (lenHi !== 0 || lenLo > this.maxFrame) {
        const len = lenHi * 4294967296 + lenLo;
        throw new KernelError('EMSGSIZE', `frame of ${len} bytes exceeds the limit of ${this.maxFrame}`);
      }
      if (lenLo < HDR_SIZE) throw new KernelError('EPROTO', `frame length ${lenLo} is shorter than the ${HDR_SIZE}-byte header`);
      if (rHi >= 0x200000) throw new KernelError('EPROTO', 'request number of 2^53 or more');
      if (cls > CLASS_ERROR) throw new KernelError('EPROTO', `unknown frame class ${cls}`);
      if (type > TYPE_RAISE) throw new KernelError('EPROTO', `unknown frame type ${type}`);
      this.cur = { len: lenLo, reqno: rHi * 4294967296 + rLo, cls, type, word };
    }
    const h = this.cur;
    if (this.avail < h.len) return null;
    this.cur = null;
    return h;
  }
}
