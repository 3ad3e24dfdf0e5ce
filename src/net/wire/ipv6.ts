/**
 * IPv6 (RFC 8200): the fixed header, a bounded walk over extension headers, the fragment
 * header, and address helpers with RFC 5952 text formatting.
 *
 * Addresses are 16-byte Uint8Arrays; views hand out subarrays (aliasing the packet), reprs own
 * copies. View: `Ipv6Packet.check(bytes)` validates the 40-byte header and that the payload
 * length fits; `checkEmbedded` accepts the truncated quote inside an ICMPv6 error. Repr: the
 * fixed header; jumbograms (RFC 2675) parse as 'unsupported'. `walkIpv6Headers` follows the
 * Next Header chain to the upper layer under limits, so a hostile chain costs bounded work.
 */

import { get16, get32, set16, set32 } from './bytes.js';
import { WireError, truncated } from './error.js';
import type { MacAddr } from './ethernet.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';

export type Ipv6Addr = Uint8Array;

export const IPV6_HDR_LEN = 40;
/** Every IPv6 link carries at least this (RFC 8200 5). */
export const IPV6_MIN_MTU = 1280;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MH = 135;
export const IPPROTO_HIP = 139;
export const IPPROTO_SHIM6 = 140;

export const IP6OPT_PAD1 = 0;
export const IP6OPT_PADN = 1;

export const IPV6_FRAG_HDR_LEN = 8;

// ---- address helpers ------------------------------------------------------------------------

function words(a: Ipv6Addr): number[] {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(get16(a, i));
  return w;
}

/**
 * Any RFC 4291 text form: 1-4 hex digits per group, at most one "::" standing for one or more
 * zero groups, an optional dotted quad in the last 32 bits. Zone suffixes ("%eth0") are not
 * accepted. Returns null when malformed.
 */
export function parseIpv6(s: string): Ipv6Addr | null {
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return null;
  const split = (t: string): string[] => (t === '' ? [] : t.split(':'));
  const head = dbl < 0 ? s.split(':') : split(s.slice(0, dbl));
  const tail = dbl < 0 ? [] : split(s.slice(dbl + 2));
  // A dotted quad may only end the address: the last group of the tail, or of the head when
  // there is no "::".
  const hg = parseGroups(head, dbl < 0);
  const tg = parseGroups(tail, true);
  if (hg === null || tg === null) return null;
  let groups: number[];
  if (dbl < 0) {
    if (hg.length !== 8) return null;
    groups = hg;
  } else {
    if (hg.length + tg.length > 7) return null;
    groups = [...hg, ...new Array<number>(8 - hg.length - tg.length).fill(0), ...tg];
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) set16(out, 2 * i, groups[i]!);
  return out;
}

function parseGroups(parts: string[], dottedLast: boolean): number[] | null {
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (dottedLast && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (v4 === null) return null;
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      groups.push(parseInt(p, 16));
    }
  }
  return groups;
}

/**
 * RFC 5952 canonical text: lower-case hex, no leading zeros, "::" for the longest run of two or
 * more zero groups (the first of equal runs), and IPv4-mapped addresses as ::ffff:a.b.c.d.
 */
export function formatIpv6(a: Ipv6Addr): string {
  const w = words(a);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${formatIpv4(get32(a, 12))}`;
  }
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = (from: number, to: number): string => w.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}

export function ipv6Equal(a: Ipv6Addr, b: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A compact string key (8 UTF-16 units) for Maps and Sets. */
export function ipv6Key(a: Ipv6Addr): string {
  return String.fromCharCode(get16(a, 0), get16(a, 2), get16(a, 4), get16(a, 6), get16(a, 8), get16(a, 10), get16(a, 12), get16(a, 14));
}

export function ipv6Copy(a: Ipv6Addr): Ipv6Addr {
  return a.slice(0, 16);
}

export function ipv6Unspecified(): Ipv6Addr { return new Uint8Array(16); }
export function ipv6Loopback(): Ipv6Addr { const a = new Uint8Array(16); a[15] = 1; return a; }
/** ff02::1 */
export function ipv6AllNodes(): Ipv6Addr { const a = new Uint8Array(16); a[0] = 0xff; a[1] = 0x02; a[15] = 1; return a; }
/** ff02::2 */
export function ipv6AllRouters(): Ipv6Addr { const a = ipv6AllNodes(); a[15] = 2; return a; }

export function ipv6IsUnspecified(a: Ipv6Addr): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

export function ipv6IsLoopback(a: Ipv6Addr): boolean {
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/** ff00::/8 */
export function ipv6IsMulticast(a: Ipv6Addr): boolean { return a[0] === 0xff; }
/** fe80::/10 */
export function ipv6IsLinkLocal(a: Ipv6Addr): boolean { return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80; }
/** ::ffff:0:0/96 */
export function ipv6IsV4Mapped(a: Ipv6Addr): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
/** Scope field of a multicast address (2 = link-local, 5 = site, 0xe = global). */
export function ipv6MulticastScope(a: Ipv6Addr): number { return a[1]! & 0x0f; }

/** ::ffff:a.b.c.d for an IPv4 address. */
export function ipv6V4Mapped(v4: number): Ipv6Addr {
  const a = new Uint8Array(16);
  a[10] = 0xff; a[11] = 0xff;
  set32(a, 12, v4);
  return a;
}

/** Solicited-node multicast group ff02::1:ffXX:XXXX for an address (RFC 4291 2.7.1). */
export function ipv6SolicitedNode(a: Ipv6Addr): Ipv6Addr {
  const m = new Uint8Array(16);
  m[0] = 0xff; m[1] = 0x02; m[11] = 0x01; m[12] = 0xff;
  m[13] = a[13]!; m[14] = a[14]!; m[15] = a[15]!;
  return m;
}

/** Ethernet address of an IPv6 multicast group: 33:33 and the low 32 bits (RFC 2464 7). */
export function ipv6MulticastMac(group: Ipv6Addr): MacAddr {
  return 0x3333_0000_0000 + get32(group, 12);
}

/** fe80::/64 with the modified EUI-64 interface identifier of a MAC (RFC 4291 appendix A). */
export function ipv6LinkLocalFromMac(mac: MacAddr): Ipv6Addr {
  const a = new Uint8Array(16);
  a[0] = 0xfe; a[1] = 0x80;
  const b = (i: number): number => Math.floor(mac / 2 ** (8 * (5 - i))) % 256;
  a[8] = b(0) ^ 0x02; a[9] = b(1); a[10] = b(2); a[11] = 0xff; a[12] = 0xfe; a[13] = b(3); a[14] = b(4); a[15] = b(5);
  return a;
}

export function ipv6Mask(prefixLen: number): Ipv6Addr {
  const m = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - 8 * i));
    m[i] = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return m;
}

/** Do a and net agree in their first prefixLen bits? */
export function ipv6InPrefix(a: Ipv6Addr, net: Ipv6Addr, prefixLen: number): boolean {
  const full = prefixLen >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== net[i]) return false;
  const rest = prefixLen & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (net[full]! & mask);
}

/** Length of the common leading bits (longest-prefix match, source address selection). */
export function ipv6CommonPrefixLen(a: Ipv6Addr, b: Ipv6Addr): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

export interface Ipv6Cidr {
  addr: Ipv6Addr;
  prefixLen: number;
}

/** "2001:db8::/32" -> { addr, prefixLen }; a bare address gets /128. Null when malformed. */
export function parseIpv6Cidr(s: string): Ipv6Cidr | null {
  const slash = s.indexOf('/');
  const addr = parseIpv6(slash < 0 ? s : s.slice(0, slash));
  if (addr === null) return null;
  if (slash < 0) return { addr, prefixLen: 128 };
  const p = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 128) return null;
  return { addr, prefixLen: Number(p) };
}

export function formatIpv6Cidr(c: Ipv6Cidr): string {
  return `${formatIpv6(c.addr)}/${c.prefixLen}`;
}

// ---- view -----------------------------------------------------------------------------------

export class Ipv6Packet {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): Ipv6Packet | WireError {
    if (bytes.length < IPV6_HDR_LEN) return truncated('ipv6', 'header', bytes.length, IPV6_HDR_LEN, 'packet');
    const plen = get16(bytes, 4);
    if (IPV6_HDR_LEN + plen > bytes.length) {
      return new WireError('ipv6', 'truncated', 'payloadLength', `payload length ${plen} > ${bytes.length - IPV6_HDR_LEN} bytes received`, 4);
    }
    return new Ipv6Packet(bytes);
  }

  /** For the header quoted inside an ICMPv6 error: payload length not enforced. */
  static checkEmbedded(bytes: Uint8Array): Ipv6Packet | WireError {
    if (bytes.length < IPV6_HDR_LEN) return truncated('ipv6', 'header', bytes.length, IPV6_HDR_LEN, 'quoted packet');
    return new Ipv6Packet(bytes);
  }

  static unchecked(bytes: Uint8Array): Ipv6Packet {
    return new Ipv6Packet(bytes);
  }

  get version(): number { return this.bytes[0]! >>> 4; }
  get trafficClass(): number { return ((this.bytes[0]! & 0x0f) << 4) | (this.bytes[1]! >>> 4); }
  set trafficClass(v: number) {
    this.bytes[0] = (this.bytes[0]! & 0xf0) | ((v >>> 4) & 0x0f);
    this.bytes[1] = (this.bytes[1]! & 0x0f) | ((v & 0x0f) << 4);
  }
  get flowLabel(): number { return ((this.bytes[1]! & 0x0f) << 16) | get16(this.bytes, 2); }
  set flowLabel(v: number) {
    this.bytes[1] = (this.bytes[1]! & 0xf0) | ((v >>> 16) & 0x0f);
    set16(this.bytes, 2, v & 0xffff);
  }
  get payloadLen(): number { return get16(this.bytes, 4); }
  set payloadLen(v: number) { set16(this.bytes, 4, v); }
  get nextHeader(): number { return this.bytes[6]!; }
  set nextHeader(v: number) { this.bytes[6] = v; }
  get hopLimit(): number { return this.bytes[7]!; }
  set hopLimit(v: number) { this.bytes[7] = v; }
  /** Aliases the packet. */
  get src(): Ipv6Addr { return this.bytes.subarray(8, 24); }
  set src(a: Ipv6Addr) { this.bytes.set(a.subarray(0, 16), 8); }
  /** Aliases the packet. */
  get dst(): Ipv6Addr { return this.bytes.subarray(24, 40); }
  set dst(a: Ipv6Addr) { this.bytes.set(a.subarray(0, 16), 24); }
  /** Bytes after the fixed header up to the payload length (or the end, for a quote). */
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HDR_LEN, Math.min(IPV6_HDR_LEN + this.payloadLen, this.bytes.length));
  }
}

// ---- repr -----------------------------------------------------------------------------------

export interface Ipv6Repr {
  src: Ipv6Addr;
  dst: Ipv6Addr;
  /** The fixed header's Next Header (the first extension header, or the upper layer). */
  nextHeader: number;
  payloadLen: number;
  hopLimit: number;
  trafficClass: number;
  flowLabel: number;
}

export const Ipv6Repr = {
  parse(p: Ipv6Packet): Ipv6Repr | WireError {
    if (p.version !== 6) return new WireError('ipv6', 'malformed', 'version', `version ${p.version} != 6`, 0);
    if (p.payloadLen === 0 && p.nextHeader === IPPROTO_HOPOPTS) {
      return new WireError('ipv6', 'unsupported', 'payloadLength', 'jumbogram (payload length 0 with hop-by-hop options)', 4);
    }
    return {
      src: p.src.slice(),
      dst: p.dst.slice(),
      nextHeader: p.nextHeader,
      payloadLen: p.payloadLen,
      hopLimit: p.hopLimit,
      trafficClass: p.trafficClass,
      flowLabel: p.flowLabel,
    };
  },

  bufferLen(_r: Ipv6Repr): number {
    return IPV6_HDR_LEN;
  },

  /** Write the fixed header into buf[0, 40); extension headers and payload follow it. */
  emit(r: Ipv6Repr, buf: Uint8Array): void {
    if (r.payloadLen > 0xffff) throw new WireError('ipv6', 'malformed', 'payloadLength', `payload length ${r.payloadLen} > 65535 (jumbograms unsupported)`);
    buf[0] = 0x60 | ((r.trafficClass >>> 4) & 0x0f);
    buf[1] = ((r.trafficClass & 0x0f) << 4) | ((r.flowLabel >>> 16) & 0x0f);
    set16(buf, 2, r.flowLabel & 0xffff);
    set16(buf, 4, r.payloadLen);
    buf[6] = r.nextHeader;
    buf[7] = r.hopLimit;
    buf.set(r.src.subarray(0, 16), 8);
    buf.set(r.dst.subarray(0, 16), 24);
  },
};

// ---- extension headers ----------------------------------------------------------------------

export interface Ipv6FragmentRepr {
  /** Next Header inside the fragment header (the fragmented payload's protocol). */
  nextHeader: number;
  /** Offset of this fragment's data in the original payload, in bytes (multiple of 8). */
  offset: number;
  moreFrags: boolean;
  ident: number;
}

export const Ipv6FragmentRepr = {
  bufferLen(_r: Ipv6FragmentRepr): number {
    return IPV6_FRAG_HDR_LEN;
  },

  emit(r: Ipv6FragmentRepr, buf: Uint8Array): void {
    if (r.offset % 8 !== 0) throw new WireError('ipv6', 'malformed', 'fragmentOffset', `fragment offset ${r.offset} is not a multiple of 8`);
    buf[0] = r.nextHeader;
    buf[1] = 0;
    set16(buf, 2, ((r.offset / 8) << 3) | (r.moreFrags ? 1 : 0));
    set32(buf, 4, r.ident);
  },
};

export interface Ipv6HeaderChain {
  /**
   * Where the walk stopped: the upper-layer protocol, IPPROTO_NONE, IPPROTO_ESP (opaque), or —
   * when `fragment` is set — the fragment header's Next Header.
   */
  protocol: number;
  /** Offset from the start of the IPv6 header of what `protocol` describes. */
  offset: number;
  /** Offset (from the IPv6 header) of the Next Header field that named `protocol`. */
  nextHeaderOffset: number;
  /** Extension headers walked. */
  count: number;
  /** The walk stops at a fragment header: what follows is fragment data. */
  fragment: (Ipv6FragmentRepr & { /** offset of the fragment header */ headerOffset: number }) | null;
}

export interface Ipv6WalkLimits {
  /** Extension headers to follow before giving up (default 8). */
  maxHeaders?: number;
  /** Bytes of extension headers to follow before giving up (default 1024). */
  maxLength?: number;
}

function extErr(kind: 'truncated' | 'malformed' | 'unsupported', field: string, detail: string, at: number): WireError {
  return new WireError('ipv6', kind, field, detail, at);
}

/** Check the TLV options of a hop-by-hop or destination options header at b[from, to). */
function checkOptions(b: Uint8Array, from: number, to: number): WireError | null {
  let i = from;
  while (i < to) {
    const t = b[i]!;
    if (t === IP6OPT_PAD1) { i++; continue; }
    if (i + 1 >= to) return extErr('malformed', 'options', `option ${t} at offset ${i} has no length byte`, i);
    const len = b[i + 1]!;
    if (i + 2 + len > to) return extErr('malformed', 'options', `option ${t} length ${len} runs past its header (${to - i - 2} bytes left)`, i + 1);
    i += 2 + len;
  }
  return null;
}

/**
 * Follow the extension header chain of a checked packet to the upper-layer header, checking
 * every header fits in the payload, hop-by-hop options come only first, and option TLVs are
 * well formed. Stops at a fragment header, ESP, No Next Header or any non-extension protocol.
 * Error offsets point at the offending byte (for ICMPv6 parameter problems).
 */
export function walkIpv6Headers(p: Ipv6Packet, limits?: Ipv6WalkLimits): Ipv6HeaderChain | WireError {
  const maxHeaders = limits?.maxHeaders ?? 8;
  const maxLength = limits?.maxLength ?? 1024;
  const b = p.bytes;
  const end = IPV6_HDR_LEN + p.payloadLen;
  let nh = p.nextHeader;
  let nhOff = 6;
  let off = IPV6_HDR_LEN;
  let count = 0;
  for (;;) {
    let len: number;
    if (nh === IPPROTO_HOPOPTS && count > 0) {
      return extErr('malformed', 'nextHeader', `hop-by-hop options header after ${count} other header(s); it must come first`, nhOff);
    }
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_DSTOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_MH:
      case IPPROTO_HIP:
      case IPPROTO_SHIM6:
      case 253:
      case 254:
        if (off + 2 > end) return extErr('truncated', 'extensionHeader', `extension header ${nh} at offset ${off} runs past the payload`, nhOff);
        len = (b[off + 1]! + 1) * 8;
        if (off + len > end) return extErr('truncated', 'extensionHeader', `extension header ${nh} of ${len} bytes at offset ${off} runs past the payload`, off + 1);
        if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_DSTOPTS) {
          const err = checkOptions(b, off + 2, off + len);
          if (err !== null) return err;
        }
        break;
      case IPPROTO_AH:
        if (off + 2 > end) return extErr('truncated', 'extensionHeader', `authentication header at offset ${off} runs past the payload`, nhOff);
        len = (b[off + 1]! + 2) * 4;
        if (off + len > end) return extErr('truncated', 'extensionHeader', `authentication header of ${len} bytes at offset ${off} runs past the payload`, off + 1);
        break;
      case IPPROTO_FRAGMENT: {
        if (off + IPV6_FRAG_HDR_LEN > end) return extErr('truncated', 'fragmentHeader', `fragment header at offset ${off} runs past the payload`, nhOff);
        const w = get16(b, off + 2);
        return {
          protocol: b[off]!,
          offset: off + IPV6_FRAG_HDR_LEN,
          nextHeaderOffset: off,
          count: count + 1,
          fragment: { nextHeader: b[off]!, offset: (w >>> 3) * 8, moreFrags: (w & 1) === 1, ident: get32(b, off + 4), headerOffset: off },
        };
      }
      default:
        return { protocol: nh, offset: off, nextHeaderOffset: nhOff, count, fragment: null };
    }
    count++;
    if (count > maxHeaders) return extErr('unsupported', 'extensionHeader', `more than ${maxHeaders} extension headers`, nhOff);
    if (off + len - IPV6_HDR_LEN > maxLength) return extErr('unsupported', 'extensionHeader', `extension headers longer than ${maxLength} bytes`, nhOff);
    nh = b[off]!;
    nhOff = off;
    off += len;
  }
}

export interface Ipv6Option {
  type: number;
  data: Uint8Array;
}

/**
 * The TLV options of a hop-by-hop or destination options header (`hdr` is the whole extension
 * header), without padding. The high two bits of `type` say what to do with an unknown one
 * (RFC 8200 4.2): 00 skip, 01 discard, 10 discard and send a parameter problem, 11 the same
 * unless the destination was multicast.
 */
export function parseIpv6Options(hdr: Uint8Array): Ipv6Option[] | WireError {
  if (hdr.length < 2) return truncated('ipv6', 'options', hdr.length, 2, 'options header');
  const end = Math.min(hdr.length, (hdr[1]! + 1) * 8);
  const err = checkOptions(hdr, 2, end);
  if (err !== null) return err;
  const out: Ipv6Option[] = [];
  for (let i = 2; i < end;) {
    const t = hdr[i]!;
    if (t === IP6OPT_PAD1) { i++; continue; }
    const len = hdr[i + 1]!;
    if (t !== IP6OPT_PADN) out.push({ type: t, data: hdr.subarray(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return out;
}
