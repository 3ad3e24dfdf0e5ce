/**
 * IPv4 (RFC 791): the header with options, fragmentation fields and header checksum, and
 * address/prefix helpers.
 *
 * Addresses are uint32 numbers (network order read as a big-endian integer: 10.0.0.1 is
 * 0x0a000001). View: `Ipv4Packet.check(bytes)` validates header length (>= 5 words, within the
 * buffer) and total length (>= header, <= buffer); the buffer may run past the total length
 * (Ethernet padding) and `payload` stops at the total length. `checkEmbedded` accepts the
 * truncated copy of a header quoted in ICMP errors, whose total length exceeds what was quoted.
 * Repr: `Ipv4Repr.parse` also checks version, checksum (unless told the hardware did) and
 * options; `emit` writes the header and fills the checksum.
 */

import { get16, get32, set16, set32, align4 } from './bytes.js';
import { checksumOk, internetChecksum } from './checksum.js';
import { WireError, truncated } from './error.js';
import type { MacAddr } from './ethernet.js';

export type Ipv4Addr = number;

export const IPV4_HDR_LEN = 20;
export const IPV4_MAX_HDR_LEN = 60;
export const IPV4_MAX_LEN = 65535;

export const IP_RF = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;

export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TS = 68;
export const IPOPT_LSRR = 131;
export const IPOPT_SSRR = 137;
export const IPOPT_RA = 148;

export const INADDR_ANY: Ipv4Addr = 0;
export const INADDR_BROADCAST: Ipv4Addr = 0xffff_ffff;
export const INADDR_LOOPBACK: Ipv4Addr = 0x7f00_0001;

// ---- address helpers ------------------------------------------------------------------------

/** Strict dotted quad ("10.0.0.1"): four decimal parts 0..255, no leading zeros; else null. */
export function parseIpv4(s: string): Ipv4Addr | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4(a: Ipv4Addr): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv4FromBytes(b: Uint8Array, off = 0): Ipv4Addr {
  return get32(b, off);
}

export function ipv4ToBytes(a: Ipv4Addr, out: Uint8Array = new Uint8Array(4), off = 0): Uint8Array {
  set32(out, off, a);
  return out;
}

/** Netmask for a prefix length 0..32 (/24 -> 0xffffff00). */
export function ipv4Mask(prefixLen: number): number {
  if (prefixLen <= 0) return 0;
  if (prefixLen >= 32) return 0xffff_ffff;
  return (0xffff_ffff << (32 - prefixLen)) >>> 0;
}

/** Prefix length of a contiguous netmask, or -1 if the mask has holes (255.0.255.0). */
export function ipv4MaskLen(mask: number): number {
  const host = ~mask >>> 0;
  // The host part must be 2^k - 1 (k low bits set); the prefix is then its leading zeros.
  if ((host & (host + 1)) !== 0) return -1;
  return Math.clz32(host);
}

export function ipv4Network(a: Ipv4Addr, prefixLen: number): Ipv4Addr {
  return (a & ipv4Mask(prefixLen)) >>> 0;
}

/** Directed broadcast of the subnet (all host bits set). */
export function ipv4SubnetBroadcast(a: Ipv4Addr, prefixLen: number): Ipv4Addr {
  return (a | ~ipv4Mask(prefixLen)) >>> 0;
}

/** Is `a` inside net/prefixLen? */
export function ipv4InPrefix(a: Ipv4Addr, net: Ipv4Addr, prefixLen: number): boolean {
  const m = ipv4Mask(prefixLen);
  return ((a & m) >>> 0) === ((net & m) >>> 0);
}

export interface Ipv4Cidr {
  addr: Ipv4Addr;
  prefixLen: number;
}

/** "10.1.2.3/8" -> { addr, prefixLen }; a bare address gets /32. Null when malformed. */
export function parseIpv4Cidr(s: string): Ipv4Cidr | null {
  const slash = s.indexOf('/');
  const addr = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (addr === null) return null;
  if (slash < 0) return { addr, prefixLen: 32 };
  const p = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]?)$/.test(p) || Number(p) > 32) return null;
  return { addr, prefixLen: Number(p) };
}

export function formatIpv4Cidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.addr)}/${c.prefixLen}`;
}

export function ipv4IsUnspecified(a: Ipv4Addr): boolean { return a === 0; }
export function ipv4IsBroadcast(a: Ipv4Addr): boolean { return a === INADDR_BROADCAST; }
/** 224.0.0.0/4 */
export function ipv4IsMulticast(a: Ipv4Addr): boolean { return a >>> 28 === 0xe; }
/** 127.0.0.0/8 */
export function ipv4IsLoopback(a: Ipv4Addr): boolean { return a >>> 24 === 127; }
/** 169.254.0.0/16 */
export function ipv4IsLinkLocal(a: Ipv4Addr): boolean { return a >>> 16 === 0xa9fe; }
/** 240.0.0.0/4 (reserved, "class E"), excluding the limited broadcast address. */
export function ipv4IsReserved(a: Ipv4Addr): boolean { return a >>> 28 === 0xf && a !== INADDR_BROADCAST; }

/** RFC 1112: 01:00:5e plus the low 23 bits of the group address. */
export function ipv4MulticastMac(group: Ipv4Addr): MacAddr {
  return 0x01005e00_0000 + (group & 0x7f_ffff);
}

// ---- options --------------------------------------------------------------------------------

export interface Ipv4Option {
  type: number;
  /** The option's bytes after type and length (empty for NOP). */
  data: Uint8Array;
}

/**
 * Walk the options area: EOL ends it, NOP is one byte, every other option has a length >= 2
 * that must fit. Returns the options (not NOP/EOL) or the first error; offsets in errors are
 * from the start of the IPv4 header.
 */
export function parseIpv4Options(opts: Uint8Array): Ipv4Option[] | WireError {
  const out: Ipv4Option[] = [];
  const err = walkIpv4Options(opts, out);
  return err ?? out;
}

function walkIpv4Options(opts: Uint8Array, out: Ipv4Option[] | null): WireError | null {
  let i = 0;
  while (i < opts.length) {
    const type = opts[i]!;
    if (type === IPOPT_EOL) break;
    if (type === IPOPT_NOP) { i++; continue; }
    if (i + 1 >= opts.length) {
      return new WireError('ipv4', 'malformed', 'options', `option ${type} at offset ${IPV4_HDR_LEN + i} has no length byte`, IPV4_HDR_LEN + i);
    }
    const len = opts[i + 1]!;
    if (len < 2) {
      return new WireError('ipv4', 'malformed', 'options', `option ${type} length ${len} < 2`, IPV4_HDR_LEN + i + 1);
    }
    if (i + len > opts.length) {
      return new WireError('ipv4', 'malformed', 'options',
        `option ${type} length ${len} runs past the header (${opts.length - i} bytes left)`, IPV4_HDR_LEN + i + 1);
    }
    if (out !== null) out.push({ type, data: opts.subarray(i + 2, i + len) });
    i += len;
  }
  return null;
}

// ---- view -----------------------------------------------------------------------------------

export class Ipv4Packet {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): Ipv4Packet | WireError {
    return check(bytes, false);
  }

  /** For the header quoted inside an ICMP error: complete header, total length not enforced. */
  static checkEmbedded(bytes: Uint8Array): Ipv4Packet | WireError {
    return check(bytes, true);
  }

  /** For emitting into a buffer the caller sized with `Ipv4Repr.bufferLen`. */
  static unchecked(bytes: Uint8Array): Ipv4Packet {
    return new Ipv4Packet(bytes);
  }

  get version(): number { return this.bytes[0]! >>> 4; }
  /** Header length in 32-bit words (IHL). */
  get ihl(): number { return this.bytes[0]! & 0x0f; }
  get headerLen(): number { return (this.bytes[0]! & 0x0f) * 4; }
  set headerLen(n: number) { this.bytes[0] = 0x40 | (n >>> 2); }
  get tos(): number { return this.bytes[1]!; }
  set tos(v: number) { this.bytes[1] = v; }
  get dscp(): number { return this.bytes[1]! >>> 2; }
  get ecn(): number { return this.bytes[1]! & 3; }
  get totalLen(): number { return get16(this.bytes, 2); }
  set totalLen(v: number) { set16(this.bytes, 2, v); }
  get ident(): number { return get16(this.bytes, 4); }
  set ident(v: number) { set16(this.bytes, 4, v); }
  /** The 16-bit flags + fragment offset word. */
  get fragWord(): number { return get16(this.bytes, 6); }
  set fragWord(v: number) { set16(this.bytes, 6, v); }
  get dontFrag(): boolean { return (this.bytes[6]! & 0x40) !== 0; }
  get moreFrags(): boolean { return (this.bytes[6]! & 0x20) !== 0; }
  /** Fragment offset in bytes (the field counts 8-byte units). */
  get fragOffset(): number { return (get16(this.bytes, 6) & IP_OFFMASK) * 8; }
  get ttl(): number { return this.bytes[8]!; }
  set ttl(v: number) { this.bytes[8] = v; }
  get protocol(): number { return this.bytes[9]!; }
  set protocol(v: number) { this.bytes[9] = v; }
  get checksum(): number { return get16(this.bytes, 10); }
  set checksum(v: number) { set16(this.bytes, 10, v); }
  get src(): Ipv4Addr { return get32(this.bytes, 12); }
  set src(a: Ipv4Addr) { set32(this.bytes, 12, a); }
  get dst(): Ipv4Addr { return get32(this.bytes, 16); }
  set dst(a: Ipv4Addr) { set32(this.bytes, 16, a); }
  get options(): Uint8Array { return this.bytes.subarray(IPV4_HDR_LEN, this.headerLen); }
  /** Bytes after the header up to the total length (or to the end, for an embedded header). */
  get payload(): Uint8Array { return this.bytes.subarray(this.headerLen, Math.min(this.totalLen, this.bytes.length)); }

  verifyChecksum(): boolean {
    return checksumOk(this.bytes, 0, this.headerLen);
  }

  fillChecksum(): void {
    set16(this.bytes, 10, 0);
    set16(this.bytes, 10, internetChecksum(this.bytes, 0, this.headerLen));
  }
}

function check(bytes: Uint8Array, embedded: boolean): Ipv4Packet | WireError {
  if (bytes.length < IPV4_HDR_LEN) return truncated('ipv4', 'header', bytes.length, IPV4_HDR_LEN, 'packet');
  const ihl = bytes[0]! & 0x0f;
  if (ihl < 5) return new WireError('ipv4', 'malformed', 'headerLength', `header length ${ihl} words < 5`, 0);
  const hl = ihl * 4;
  if (bytes.length < hl) return truncated('ipv4', 'headerLength', bytes.length, hl, `packet with a ${hl} byte header`);
  const total = get16(bytes, 2);
  if (total < hl) return new WireError('ipv4', 'malformed', 'totalLength', `total length ${total} < header length ${hl}`, 2);
  if (!embedded && total > bytes.length) {
    return new WireError('ipv4', 'truncated', 'totalLength', `total length ${total} > ${bytes.length} bytes received`, 2);
  }
  return Ipv4Packet.unchecked(bytes);
}

// ---- repr -----------------------------------------------------------------------------------

export interface Ipv4Repr {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  protocol: number;
  /** Bytes after the header (total length - header length). */
  payloadLen: number;
  ttl: number;
  /** The whole TOS/traffic class byte: DSCP << 2 | ECN. */
  tos: number;
  ident: number;
  dontFrag: boolean;
  moreFrags: boolean;
  /** Fragment offset in bytes, a multiple of 8. */
  fragOffset: number;
  /** Raw options (aliasing the packet when parsed); emit pads them to 4 bytes with EOL. */
  options: Uint8Array | null;
}

export interface Ipv4ParseOptions {
  /** Verify the header checksum (default true; false when the interface already did). */
  checksum?: boolean;
}

export const Ipv4Repr = {
  parse(p: Ipv4Packet, opts?: Ipv4ParseOptions): Ipv4Repr | WireError {
    if (p.version !== 4) return new WireError('ipv4', 'malformed', 'version', `version ${p.version} != 4`, 0);
    if (opts?.checksum !== false && !p.verifyChecksum()) {
      return new WireError('ipv4', 'checksum', 'checksum', `header checksum 0x${p.checksum.toString(16).padStart(4, '0')} does not verify`, 10);
    }
    const hl = p.headerLen;
    const payloadLen = p.totalLen - hl;
    const fragOffset = p.fragOffset;
    if (fragOffset + payloadLen > IPV4_MAX_LEN) {
      return new WireError('ipv4', 'malformed', 'fragmentOffset',
        `fragment offset ${fragOffset} + payload ${payloadLen} > ${IPV4_MAX_LEN}`, 6);
    }
    let options: Uint8Array | null = null;
    if (hl > IPV4_HDR_LEN) {
      options = p.options;
      const err = walkIpv4Options(options, null);
      if (err !== null) return err;
    }
    return {
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      payloadLen,
      ttl: p.ttl,
      tos: p.tos,
      ident: p.ident,
      dontFrag: p.dontFrag,
      moreFrags: p.moreFrags,
      fragOffset,
      options,
    };
  },

  bufferLen(r: Ipv4Repr): number {
    return IPV4_HDR_LEN + (r.options === null ? 0 : align4(r.options.length));
  },

  /** Write the header (checksum filled) into buf[0, bufferLen(r)); the payload follows it. */
  emit(r: Ipv4Repr, buf: Uint8Array): void {
    const hl = Ipv4Repr.bufferLen(r);
    if (hl > IPV4_MAX_HDR_LEN) {
      throw new WireError('ipv4', 'malformed', 'options', `options need ${hl - IPV4_HDR_LEN} bytes > 40`);
    }
    if (r.fragOffset % 8 !== 0) {
      throw new WireError('ipv4', 'malformed', 'fragmentOffset', `fragment offset ${r.fragOffset} is not a multiple of 8`);
    }
    if (hl + r.payloadLen > IPV4_MAX_LEN) {
      throw new WireError('ipv4', 'malformed', 'totalLength', `total length ${hl + r.payloadLen} > ${IPV4_MAX_LEN}`);
    }
    buf[0] = 0x40 | (hl >>> 2);
    buf[1] = r.tos;
    set16(buf, 2, hl + r.payloadLen);
    set16(buf, 4, r.ident);
    set16(buf, 6, (r.dontFrag ? IP_DF : 0) | (r.moreFrags ? IP_MF : 0) | (r.fragOffset / 8));
    buf[8] = r.ttl;
    buf[9] = r.protocol;
    set16(buf, 10, 0);
    set32(buf, 12, r.src);
    set32(buf, 16, r.dst);
    if (r.options !== null) {
      buf.set(r.options, IPV4_HDR_LEN);
      buf.fill(IPOPT_EOL, IPV4_HDR_LEN + r.options.length, hl);
    }
    set16(buf, 10, internetChecksum(buf, 0, hl));
  },
};
