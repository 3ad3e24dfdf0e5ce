/**
 * TCP segments (RFC 9293) and their options: MSS, window scale and timestamps (RFC 7323),
 * SACK-permitted and SACK blocks (RFC 2018); unknown options are kept as raw kind + data.
 *
 * View: `TcpSegment.check(bytes)` validates the 20-byte header and the data offset (>= 5 words,
 * within the bytes); the view must span exactly the segment (the IP payload), since the
 * checksum and the payload length are taken from its size. Repr: `TcpRepr.parse` walks and
 * validates the options (length < 2, running past the header, or the wrong length for a known
 * kind are 'malformed') and verifies the pseudo-header checksum unless told not to; values are
 * reported raw (a window scale above 14 is for the state machine to clamp). `emit` lays the
 * options out as Linux does (MSS; SACK-permitted folded into the timestamp word or NOP NOP;
 * NOP + window scale; NOP NOP + SACK blocks), so a Linux segment round-trips byte for byte.
 *
 * Sequence-space arithmetic lives in seq.ts.
 */

import { align4, get16, get32, set16, set32 } from './bytes.js';
import { finish, fold16, IPPROTO_TCP, pseudoSum, sum16, type IpAddr } from './checksum.js';
import { WireError, truncated } from './error.js';

export const TCP_HDR_LEN = 20;
export const TCP_MAX_HDR_LEN = 60;
export const TCP_MAX_OPTIONS_LEN = 40;

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;
/** The low reserved bit of byte 12 (NS in RFC 3540, now AE for accurate ECN). */
export const TH_AE = 0x100;
/** All 12 bits after the data offset (flags and the reserved bits, kept for round trips). */
export const TH_MASK = 0xfff;

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

export const TCPOLEN_MAXSEG = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_SACK_BLOCK = 8;

/** RFC 7323: larger shift counts are treated as 14. */
export const TCP_MAX_WINSHIFT = 14;
/** SACK blocks that fit in 40 option bytes (3 alongside timestamps). */
export const TCP_MAX_SACK = 4;

export class TcpSegment {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): TcpSegment | WireError {
    if (bytes.length < TCP_HDR_LEN) return truncated('tcp', 'header', bytes.length, TCP_HDR_LEN, 'segment');
    const off = bytes[12]! >>> 4;
    if (off < 5) return new WireError('tcp', 'malformed', 'dataOffset', `data offset ${off} words < 5`, 12);
    if (off * 4 > bytes.length) {
      return truncated('tcp', 'dataOffset', bytes.length, off * 4, `segment with a ${off * 4} byte header`);
    }
    return new TcpSegment(bytes);
  }

  static unchecked(bytes: Uint8Array): TcpSegment {
    return new TcpSegment(bytes);
  }

  get srcPort(): number { return get16(this.bytes, 0); }
  set srcPort(v: number) { set16(this.bytes, 0, v); }
  get dstPort(): number { return get16(this.bytes, 2); }
  set dstPort(v: number) { set16(this.bytes, 2, v); }
  get seq(): number { return get32(this.bytes, 4); }
  set seq(v: number) { set32(this.bytes, 4, v); }
  get ack(): number { return get32(this.bytes, 8); }
  set ack(v: number) { set32(this.bytes, 8, v); }
  /** Header length in 32-bit words. */
  get dataOffset(): number { return this.bytes[12]! >>> 4; }
  get headerLen(): number { return (this.bytes[12]! >>> 4) * 4; }
  /** Flags (TH_*) including the reserved bits. */
  get flags(): number { return ((this.bytes[12]! & 0x0f) << 8) | this.bytes[13]!; }
  set flags(v: number) {
    this.bytes[12] = (this.bytes[12]! & 0xf0) | ((v >>> 8) & 0x0f);
    this.bytes[13] = v;
  }
  get fin(): boolean { return (this.bytes[13]! & TH_FIN) !== 0; }
  get syn(): boolean { return (this.bytes[13]! & TH_SYN) !== 0; }
  get rst(): boolean { return (this.bytes[13]! & TH_RST) !== 0; }
  get psh(): boolean { return (this.bytes[13]! & TH_PUSH) !== 0; }
  get ackFlag(): boolean { return (this.bytes[13]! & TH_ACK) !== 0; }
  get urg(): boolean { return (this.bytes[13]! & TH_URG) !== 0; }
  get window(): number { return get16(this.bytes, 14); }
  set window(v: number) { set16(this.bytes, 14, v); }
  get checksum(): number { return get16(this.bytes, 16); }
  set checksum(v: number) { set16(this.bytes, 16, v); }
  get urgent(): number { return get16(this.bytes, 18); }
  set urgent(v: number) { set16(this.bytes, 18, v); }
  get options(): Uint8Array { return this.bytes.subarray(TCP_HDR_LEN, this.headerLen); }
  get payload(): Uint8Array { return this.bytes.subarray(this.headerLen); }
  /** Sequence space the segment occupies: payload plus one each for SYN and FIN. */
  get segLen(): number {
    return this.bytes.length - this.headerLen + (this.syn ? 1 : 0) + (this.fin ? 1 : 0);
  }

  verifyChecksum(src: IpAddr, dst: IpAddr): boolean {
    const len = this.bytes.length;
    return fold16(sum16(this.bytes, 0, len, pseudoSum(src, dst, IPPROTO_TCP, len))) === 0xffff;
  }

  fillChecksum(src: IpAddr, dst: IpAddr): void {
    const len = this.bytes.length;
    set16(this.bytes, 16, 0);
    set16(this.bytes, 16, finish(sum16(this.bytes, 0, len, pseudoSum(src, dst, IPPROTO_TCP, len))));
  }
}

export interface TcpTimestamp {
  tsval: number;
  tsecr: number;
}

/** A SACK block: bytes [left, right) in sequence space have been received. */
export interface TcpSackBlock {
  left: number;
  right: number;
}

export interface TcpUnknownOption {
  kind: number;
  /** Bytes after kind and length (aliasing the segment when parsed). */
  data: Uint8Array;
}

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  /** The acknowledgment field, meaningful when TH_ACK is set. */
  ack: number;
  /** TH_* bits (12 bits: reserved bits kept). */
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  urgent: number;
  mss: number | null;
  /** The shift count as sent (may exceed 14; RFC 7323 says treat as 14). */
  windowScale: number | null;
  sackPermitted: boolean;
  sackBlocks: TcpSackBlock[] | null;
  timestamp: TcpTimestamp | null;
  unknownOptions: TcpUnknownOption[] | null;
}

export interface TcpParseOptions {
  /** Verify the checksum (default true; false when the interface already did). */
  checksum?: boolean;
}

export interface TcpEmitChecksum {
  src: IpAddr;
  dst: IpAddr;
  /** Payload bytes already placed after the header. */
  payloadLen: number;
}

function optErr(detail: string, at: number): WireError {
  return new WireError('tcp', 'malformed', 'options', detail, TCP_HDR_LEN + at);
}

/** Walk the options into `r`; returns the first error, or null. */
function parseOptions(opts: Uint8Array, r: TcpRepr): WireError | null {
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) { i++; continue; }
    if (i + 1 >= opts.length) return optErr(`option ${kind} at offset ${TCP_HDR_LEN + i} has no length byte`, i);
    const len = opts[i + 1]!;
    if (len < 2) return optErr(`option ${kind} length ${len} < 2`, i + 1);
    if (i + len > opts.length) return optErr(`option ${kind} length ${len} runs past the header (${opts.length - i} bytes left)`, i + 1);
    switch (kind) {
      case TCPOPT_MAXSEG:
        if (len !== TCPOLEN_MAXSEG) return optErr(`MSS option length ${len} != 4`, i + 1);
        r.mss = get16(opts, i + 2);
        break;
      case TCPOPT_WINDOW:
        if (len !== TCPOLEN_WINDOW) return optErr(`window scale option length ${len} != 3`, i + 1);
        r.windowScale = opts[i + 2]!;
        break;
      case TCPOPT_SACK_PERMITTED:
        if (len !== TCPOLEN_SACK_PERMITTED) return optErr(`SACK-permitted option length ${len} != 2`, i + 1);
        r.sackPermitted = true;
        break;
      case TCPOPT_SACK: {
        if (len === 2 || (len - 2) % TCPOLEN_SACK_BLOCK !== 0) return optErr(`SACK option length ${len} is not 2 + 8n (n >= 1)`, i + 1);
        const blocks: TcpSackBlock[] = [];
        for (let o = i + 2; o < i + len; o += TCPOLEN_SACK_BLOCK) blocks.push({ left: get32(opts, o), right: get32(opts, o + 4) });
        r.sackBlocks = blocks;
        break;
      }
      case TCPOPT_TIMESTAMP:
        if (len !== TCPOLEN_TIMESTAMP) return optErr(`timestamp option length ${len} != 10`, i + 1);
        r.timestamp = { tsval: get32(opts, i + 2), tsecr: get32(opts, i + 6) };
        break;
      default:
        (r.unknownOptions ??= []).push({ kind, data: opts.subarray(i + 2, i + len) });
    }
    i += len;
  }
  return null;
}

/** Option bytes `emit` writes for r, before padding. */
function rawOptionsLen(r: TcpRepr): number {
  let n = 0;
  if (r.mss !== null) n += 4;
  if (r.timestamp !== null) n += 12;
  else if (r.sackPermitted) n += 4;
  if (r.windowScale !== null) n += 4;
  if (r.sackBlocks !== null && r.sackBlocks.length > 0) n += 4 + TCPOLEN_SACK_BLOCK * r.sackBlocks.length;
  if (r.unknownOptions !== null) for (const o of r.unknownOptions) n += 2 + o.data.length;
  return n;
}

export const TcpRepr = {
  parse(s: TcpSegment, src: IpAddr, dst: IpAddr, opts?: TcpParseOptions): TcpRepr | WireError {
    if (opts?.checksum !== false && !s.verifyChecksum(src, dst)) {
      return new WireError('tcp', 'checksum', 'checksum', `checksum 0x${s.checksum.toString(16).padStart(4, '0')} does not verify`, 16);
    }
    const r: TcpRepr = {
      srcPort: s.srcPort,
      dstPort: s.dstPort,
      seq: s.seq,
      ack: s.ack,
      flags: s.flags,
      window: s.window,
      urgent: s.urgent,
      mss: null,
      windowScale: null,
      sackPermitted: false,
      sackBlocks: null,
      timestamp: null,
      unknownOptions: null,
    };
    if (s.headerLen > TCP_HDR_LEN) {
      const err = parseOptions(s.options, r);
      if (err !== null) return err;
    }
    return r;
  },

  /** Header length with options, padded to 4 bytes. */
  bufferLen(r: TcpRepr): number {
    return TCP_HDR_LEN + align4(rawOptionsLen(r));
  },

  /**
   * Write the header and options into buf[0, bufferLen(r)). With `csum`, fill the checksum over
   * the header and csum.payloadLen bytes after it; without, leave 0 for the caller to fill
   * (`finish(sum)` over a chained payload) or for checksum offload.
   */
  emit(r: TcpRepr, buf: Uint8Array, csum?: TcpEmitChecksum): void {
    const raw = rawOptionsLen(r);
    if (raw > TCP_MAX_OPTIONS_LEN) throw new WireError('tcp', 'malformed', 'options', `options need ${raw} bytes > ${TCP_MAX_OPTIONS_LEN}`);
    const hl = TCP_HDR_LEN + align4(raw);
    set16(buf, 0, r.srcPort);
    set16(buf, 2, r.dstPort);
    set32(buf, 4, r.seq);
    set32(buf, 8, r.ack);
    buf[12] = ((hl >>> 2) << 4) | ((r.flags >>> 8) & 0x0f);
    buf[13] = r.flags;
    set16(buf, 14, r.window);
    set16(buf, 16, 0);
    set16(buf, 18, r.urgent);
    let o = TCP_HDR_LEN;
    if (r.mss !== null) {
      buf[o] = TCPOPT_MAXSEG; buf[o + 1] = TCPOLEN_MAXSEG; set16(buf, o + 2, r.mss);
      o += 4;
    }
    if (r.timestamp !== null) {
      if (r.sackPermitted) { buf[o] = TCPOPT_SACK_PERMITTED; buf[o + 1] = TCPOLEN_SACK_PERMITTED; }
      else { buf[o] = TCPOPT_NOP; buf[o + 1] = TCPOPT_NOP; }
      buf[o + 2] = TCPOPT_TIMESTAMP; buf[o + 3] = TCPOLEN_TIMESTAMP;
      set32(buf, o + 4, r.timestamp.tsval);
      set32(buf, o + 8, r.timestamp.tsecr);
      o += 12;
    } else if (r.sackPermitted) {
      buf[o] = TCPOPT_NOP; buf[o + 1] = TCPOPT_NOP; buf[o + 2] = TCPOPT_SACK_PERMITTED; buf[o + 3] = TCPOLEN_SACK_PERMITTED;
      o += 4;
    }
    if (r.windowScale !== null) {
      buf[o] = TCPOPT_NOP; buf[o + 1] = TCPOPT_WINDOW; buf[o + 2] = TCPOLEN_WINDOW; buf[o + 3] = r.windowScale;
      o += 4;
    }
    if (r.sackBlocks !== null && r.sackBlocks.length > 0) {
      buf[o] = TCPOPT_NOP; buf[o + 1] = TCPOPT_NOP; buf[o + 2] = TCPOPT_SACK; buf[o + 3] = 2 + TCPOLEN_SACK_BLOCK * r.sackBlocks.length;
      o += 4;
      for (const b of r.sackBlocks) {
        set32(buf, o, b.left);
        set32(buf, o + 4, b.right);
        o += 8;
      }
    }
    if (r.unknownOptions !== null) {
      for (const u of r.unknownOptions) {
        buf[o] = u.kind; buf[o + 1] = 2 + u.data.length;
        buf.set(u.data, o + 2);
        o += 2 + u.data.length;
      }
    }
    buf.fill(TCPOPT_EOL, o, hl);
    if (csum !== undefined) {
      const len = hl + csum.payloadLen;
      set16(buf, 16, finish(sum16(buf, 0, len, pseudoSum(csum.src, csum.dst, IPPROTO_TCP, len))));
    }
  },
};

/** Sequence space of a segment: payload bytes plus one each for SYN and FIN. */
export function tcpSegLen(flags: number, payloadLen: number): number {
  return payloadLen + ((flags & TH_SYN) !== 0 ? 1 : 0) + ((flags & TH_FIN) !== 0 ? 1 : 0);
}

/** "SYN,ACK" style rendering of flags, for traces and errors. */
export function formatTcpFlags(flags: number): string {
  const names: [number, string][] = [[TH_FIN, 'FIN'], [TH_SYN, 'SYN'], [TH_RST, 'RST'], [TH_PUSH, 'PSH'], [TH_ACK, 'ACK'],
    [TH_URG, 'URG'], [TH_ECE, 'ECE'], [TH_CWR, 'CWR'], [TH_AE, 'AE']];
  return names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n).join(',');
}
