/**
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861).
 *
 * View: `Icmpv6Packet.check(bytes)` needs the 4-byte type/code/checksum plus the 4-byte word
 * every message has; the view spans the whole message (the checksum covers it with the IPv6
 * pseudo-header). Repr: echo, the four error messages (quoting the invoking packet: header
 * parsed leniently, the bytes after it kept), and router solicitation/advertisement, neighbor
 * solicitation/advertisement and redirect with their options. NDP messages are validated as
 * RFC 4861 7.1/6.1 ask of the message itself (code 0, minimum length, no zero-length option,
 * no multicast target); the hop limit of 255 belongs to the IPv6 layer. Byte arrays in a parsed
 * repr alias the packet, except addresses, which are copied.
 */

import { get16, get32, get48, set16, set32, set48 } from './bytes.js';
import { finish, fold16, IPPROTO_ICMPV6, pseudoSumV6, sum16 } from './checksum.js';
import { WireError, truncated } from './error.js';
import type { MacAddr } from './ethernet.js';
import { Ipv6Packet, Ipv6Repr, ipv6IsMulticast, type Ipv6Addr } from './ipv6.js';

export const ICMP6_DST_UNREACH = 1;
export const ICMP6_PACKET_TOO_BIG = 2;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_PARAM_PROB = 4;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const ND_REDIRECT = 137;

export const ICMP6_DST_UNREACH_NOROUTE = 0;
export const ICMP6_DST_UNREACH_ADMIN = 1;
export const ICMP6_DST_UNREACH_BEYONDSCOPE = 2;
export const ICMP6_DST_UNREACH_ADDR = 3;
export const ICMP6_DST_UNREACH_NOPORT = 4;
export const ICMP6_DST_UNREACH_POLICY = 5;
export const ICMP6_DST_UNREACH_REJROUTE = 6;

export const ICMP6_TIME_EXCEED_TRANSIT = 0;
export const ICMP6_TIME_EXCEED_REASSEMBLY = 1;

export const ICMP6_PARAMPROB_HEADER = 0;
export const ICMP6_PARAMPROB_NEXTHEADER = 1;
export const ICMP6_PARAMPROB_OPTION = 2;

export const ND_OPT_SOURCE_LINKADDR = 1;
export const ND_OPT_TARGET_LINKADDR = 2;
export const ND_OPT_PREFIX_INFORMATION = 3;
export const ND_OPT_REDIRECTED_HEADER = 4;
export const ND_OPT_MTU = 5;

export const ICMP6_HDR_LEN = 8;
/** An ICMPv6 error must not make the packet exceed the minimum MTU (RFC 4443 2.4(c)). */
export const ICMP6_ERROR_MAX_QUOTE = 1280 - 40 - ICMP6_HDR_LEN;

const ND_RS_LEN = 8;
const ND_RA_LEN = 16;
const ND_NS_LEN = 24;
const ND_NA_LEN = 24;
const ND_REDIRECT_LEN = 40;

export class Icmpv6Packet {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): Icmpv6Packet | WireError {
    if (bytes.length < ICMP6_HDR_LEN) return truncated('icmpv6', 'header', bytes.length, ICMP6_HDR_LEN, 'message');
    return new Icmpv6Packet(bytes);
  }

  static unchecked(bytes: Uint8Array): Icmpv6Packet {
    return new Icmpv6Packet(bytes);
  }

  get type(): number { return this.bytes[0]!; }
  set type(v: number) { this.bytes[0] = v; }
  get code(): number { return this.bytes[1]!; }
  set code(v: number) { this.bytes[1] = v; }
  get checksum(): number { return get16(this.bytes, 2); }
  set checksum(v: number) { set16(this.bytes, 2, v); }
  /** The second 32-bit word: MTU (packet too big), pointer (parameter problem), flags (NA). */
  get word(): number { return get32(this.bytes, 4); }
  set word(v: number) { set32(this.bytes, 4, v); }
  get ident(): number { return get16(this.bytes, 4); }
  get seq(): number { return get16(this.bytes, 6); }
  /** Everything after the first 8 bytes. */
  get body(): Uint8Array { return this.bytes.subarray(ICMP6_HDR_LEN); }

  verifyChecksum(src: Ipv6Addr, dst: Ipv6Addr): boolean {
    const len = this.bytes.length;
    return fold16(sum16(this.bytes, 0, len, pseudoSumV6(src, dst, IPPROTO_ICMPV6, len))) === 0xffff;
  }

  fillChecksum(src: Ipv6Addr, dst: Ipv6Addr): void {
    const len = this.bytes.length;
    set16(this.bytes, 2, 0);
    set16(this.bytes, 2, finish(sum16(this.bytes, 0, len, pseudoSumV6(src, dst, IPPROTO_ICMPV6, len))));
  }
}

// ---- NDP options ----------------------------------------------------------------------------

export interface NdpPrefixInfo {
  prefixLen: number;
  /** L flag */
  onLink: boolean;
  /** A flag: usable for stateless autoconfiguration */
  autonomous: boolean;
  /** Seconds; 0xffffffff is infinity. */
  validLifetime: number;
  preferredLifetime: number;
  prefix: Ipv6Addr;
}

export interface NdpUnknownOption {
  type: number;
  /** The option after its type and length bytes. */
  data: Uint8Array;
}

export interface NdpOptions {
  sourceLinkAddr: MacAddr | null;
  targetLinkAddr: MacAddr | null;
  prefixes: NdpPrefixInfo[] | null;
  mtu: number | null;
  /** Redirect: as much of the redirected packet as fits (after the 8-byte option header). */
  redirectedHeader: Uint8Array | null;
  /** Options we do not interpret, and link-layer address options of another length. */
  unknown: NdpUnknownOption[] | null;
}

export function emptyNdpOptions(): NdpOptions {
  return { sourceLinkAddr: null, targetLinkAddr: null, prefixes: null, mtu: null, redirectedHeader: null, unknown: null };
}

function parseNdpOptions(b: Uint8Array, from: number): NdpOptions | WireError {
  const o = emptyNdpOptions();
  let i = from;
  while (i < b.length) {
    if (i + 2 > b.length) return new WireError('icmpv6', 'truncated', 'options', `option at offset ${i} has no length byte`, i);
    const type = b[i]!;
    const len = b[i + 1]! * 8;
    if (len === 0) return new WireError('icmpv6', 'malformed', 'options', `option ${type} at offset ${i} has length 0`, i + 1);
    if (i + len > b.length) return new WireError('icmpv6', 'truncated', 'options', `option ${type} of ${len} bytes at offset ${i} runs past the message`, i + 1);
    switch (type) {
      case ND_OPT_SOURCE_LINKADDR:
      case ND_OPT_TARGET_LINKADDR:
        if (len === 8) {
          if (type === ND_OPT_SOURCE_LINKADDR) o.sourceLinkAddr = get48(b, i + 2);
          else o.targetLinkAddr = get48(b, i + 2);
        } else {
          (o.unknown ??= []).push({ type, data: b.subarray(i + 2, i + len) });
        }
        break;
      case ND_OPT_PREFIX_INFORMATION: {
        if (len !== 32) return new WireError('icmpv6', 'malformed', 'options', `prefix information option length ${len / 8} != 4`, i + 1);
        const prefixLen = b[i + 2]!;
        if (prefixLen > 128) return new WireError('icmpv6', 'malformed', 'options', `prefix length ${prefixLen} > 128`, i + 2);
        (o.prefixes ??= []).push({
          prefixLen,
          onLink: (b[i + 3]! & 0x80) !== 0,
          autonomous: (b[i + 3]! & 0x40) !== 0,
          validLifetime: get32(b, i + 4),
          preferredLifetime: get32(b, i + 8),
          prefix: b.slice(i + 16, i + 32),
        });
        break;
      }
      case ND_OPT_MTU:
        if (len !== 8) return new WireError('icmpv6', 'malformed', 'options', `MTU option length ${len / 8} != 1`, i + 1);
        o.mtu = get32(b, i + 4);
        break;
      case ND_OPT_REDIRECTED_HEADER:
        o.redirectedHeader = b.subarray(i + 8, i + len);
        break;
      default:
        (o.unknown ??= []).push({ type, data: b.subarray(i + 2, i + len) });
    }
    i += len;
  }
  return o;
}

const pad8 = (n: number): number => (n + 7) & ~7;

function ndpOptionsLen(o: NdpOptions): number {
  let n = 0;
  if (o.sourceLinkAddr !== null) n += 8;
  if (o.targetLinkAddr !== null) n += 8;
  if (o.mtu !== null) n += 8;
  if (o.prefixes !== null) n += 32 * o.prefixes.length;
  if (o.redirectedHeader !== null) n += 8 + pad8(o.redirectedHeader.length);
  if (o.unknown !== null) for (const u of o.unknown) n += pad8(2 + u.data.length);
  return n;
}

function emitNdpOptions(o: NdpOptions, b: Uint8Array, at: number): void {
  let i = at;
  const ll = (type: number, mac: MacAddr): void => {
    b[i] = type; b[i + 1] = 1; set48(b, i + 2, mac);
    i += 8;
  };
  if (o.sourceLinkAddr !== null) ll(ND_OPT_SOURCE_LINKADDR, o.sourceLinkAddr);
  if (o.targetLinkAddr !== null) ll(ND_OPT_TARGET_LINKADDR, o.targetLinkAddr);
  if (o.mtu !== null) {
    b[i] = ND_OPT_MTU; b[i + 1] = 1; set16(b, i + 2, 0); set32(b, i + 4, o.mtu);
    i += 8;
  }
  if (o.prefixes !== null) {
    for (const p of o.prefixes) {
      b[i] = ND_OPT_PREFIX_INFORMATION; b[i + 1] = 4; b[i + 2] = p.prefixLen;
      b[i + 3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
      set32(b, i + 4, p.validLifetime);
      set32(b, i + 8, p.preferredLifetime);
      set32(b, i + 12, 0);
      b.set(p.prefix.subarray(0, 16), i + 16);
      i += 32;
    }
  }
  if (o.redirectedHeader !== null) {
    const len = 8 + pad8(o.redirectedHeader.length);
    b[i] = ND_OPT_REDIRECTED_HEADER; b[i + 1] = len / 8;
    b.fill(0, i + 2, i + len);
    b.set(o.redirectedHeader, i + 8);
    i += len;
  }
  if (o.unknown !== null) {
    for (const u of o.unknown) {
      const len = pad8(2 + u.data.length);
      b[i] = u.type; b[i + 1] = len / 8;
      b.fill(0, i + 2, i + len);
      b.set(u.data, i + 2);
      i += len;
    }
  }
}

// ---- repr -----------------------------------------------------------------------------------

export interface Icmpv6Quote {
  /** The invoking packet's IPv6 header (its payloadLen is the original's). */
  header: Ipv6Repr;
  /** The quoted bytes after that header. */
  data: Uint8Array;
}

export type Icmpv6Repr =
  | { kind: 'echoRequest'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'echoReply'; ident: number; seq: number; data: Uint8Array }
  | ({ kind: 'destUnreachable'; code: number } & Icmpv6Quote)
  | ({ kind: 'packetTooBig'; mtu: number } & Icmpv6Quote)
  | ({ kind: 'timeExceeded'; code: number } & Icmpv6Quote)
  | ({ kind: 'paramProblem'; code: number; pointer: number } & Icmpv6Quote)
  | { kind: 'routerSolicitation'; options: NdpOptions }
  | {
    kind: 'routerAdvertisement'; curHopLimit: number; managed: boolean; other: boolean;
    /** Seconds */ routerLifetime: number; /** ms */ reachableTime: number; /** ms */ retransTimer: number; options: NdpOptions;
  }
  | { kind: 'neighborSolicitation'; target: Ipv6Addr; options: NdpOptions }
  | { kind: 'neighborAdvertisement'; router: boolean; solicited: boolean; override: boolean; target: Ipv6Addr; options: NdpOptions }
  | { kind: 'redirect'; target: Ipv6Addr; destination: Ipv6Addr; options: NdpOptions };

export interface Icmpv6ParseOptions {
  /** Verify the checksum (default true). */
  checksum?: boolean;
}

function parseQuote(p: Icmpv6Packet, what: string): Icmpv6Quote | WireError {
  const ip = Ipv6Packet.checkEmbedded(p.body);
  const header = ip instanceof WireError ? ip : Ipv6Repr.parse(ip);
  if (header instanceof WireError) {
    return new WireError('icmpv6', header.kind, 'quotedHeader', `${what} quotes a bad IPv6 header (${header.message})`, ICMP6_HDR_LEN + Math.max(header.offset, 0));
  }
  return { header, data: (ip as Ipv6Packet).payload };
}

function ndErr(kind: 'truncated' | 'malformed', field: string, detail: string, at: number): WireError {
  return new WireError('icmpv6', kind, field, detail, at);
}

function parseNd(p: Icmpv6Packet): Icmpv6Repr | WireError {
  const b = p.bytes;
  const type = p.type;
  if (p.code !== 0) return ndErr('malformed', 'code', `neighbor discovery type ${type} code ${p.code} != 0`, 1);
  const min = type === ND_ROUTER_SOLICIT ? ND_RS_LEN : type === ND_ROUTER_ADVERT ? ND_RA_LEN
    : type === ND_NEIGHBOR_SOLICIT ? ND_NS_LEN : type === ND_NEIGHBOR_ADVERT ? ND_NA_LEN : ND_REDIRECT_LEN;
  if (b.length < min) return truncated('icmpv6', 'length', b.length, min, `neighbor discovery type ${type} message`);
  const options = parseNdpOptions(b, min);
  if (options instanceof WireError) return options;
  switch (type) {
    case ND_ROUTER_SOLICIT:
      return { kind: 'routerSolicitation', options };
    case ND_ROUTER_ADVERT:
      return {
        kind: 'routerAdvertisement',
        curHopLimit: b[4]!,
        managed: (b[5]! & 0x80) !== 0,
        other: (b[5]! & 0x40) !== 0,
        routerLifetime: get16(b, 6),
        reachableTime: get32(b, 8),
        retransTimer: get32(b, 12),
        options,
      };
    case ND_NEIGHBOR_SOLICIT:
    case ND_NEIGHBOR_ADVERT: {
      const target = b.slice(8, 24);
      if (ipv6IsMulticast(target)) return ndErr('malformed', 'target', 'neighbor discovery target is a multicast address', 8);
      if (type === ND_NEIGHBOR_SOLICIT) return { kind: 'neighborSolicitation', target, options };
      const f = b[4]!;
      return { kind: 'neighborAdvertisement', router: (f & 0x80) !== 0, solicited: (f & 0x40) !== 0, override: (f & 0x20) !== 0, target, options };
    }
    default: {
      const destination = b.slice(24, 40);
      if (ipv6IsMulticast(destination)) return ndErr('malformed', 'destination', 'redirect destination is a multicast address', 24);
      return { kind: 'redirect', target: b.slice(8, 24), destination, options };
    }
  }
}

export const Icmpv6Repr = {
  parse(p: Icmpv6Packet, src: Ipv6Addr, dst: Ipv6Addr, opts?: Icmpv6ParseOptions): Icmpv6Repr | WireError {
    if (opts?.checksum !== false && !p.verifyChecksum(src, dst)) {
      return new WireError('icmpv6', 'checksum', 'checksum', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} does not verify`, 2);
    }
    const type = p.type;
    const code = p.code;
    switch (type) {
      case ICMP6_ECHO_REQUEST:
        return { kind: 'echoRequest', ident: p.ident, seq: p.seq, data: p.body };
      case ICMP6_ECHO_REPLY:
        return { kind: 'echoReply', ident: p.ident, seq: p.seq, data: p.body };
      case ICMP6_DST_UNREACH: {
        const q = parseQuote(p, 'destination unreachable');
        return q instanceof WireError ? q : { kind: 'destUnreachable', code, ...q };
      }
      case ICMP6_PACKET_TOO_BIG: {
        const q = parseQuote(p, 'packet too big');
        return q instanceof WireError ? q : { kind: 'packetTooBig', mtu: p.word, ...q };
      }
      case ICMP6_TIME_EXCEEDED: {
        const q = parseQuote(p, 'time exceeded');
        return q instanceof WireError ? q : { kind: 'timeExceeded', code, ...q };
      }
      case ICMP6_PARAM_PROB: {
        const q = parseQuote(p, 'parameter problem');
        return q instanceof WireError ? q : { kind: 'paramProblem', code, pointer: p.word, ...q };
      }
      case ND_ROUTER_SOLICIT:
      case ND_ROUTER_ADVERT:
      case ND_NEIGHBOR_SOLICIT:
      case ND_NEIGHBOR_ADVERT:
      case ND_REDIRECT:
        return parseNd(p);
      default:
        return new WireError('icmpv6', 'unsupported', 'type', `type ${type} code ${code} unsupported`, 0);
    }
  },

  bufferLen(r: Icmpv6Repr): number {
    switch (r.kind) {
      case 'echoRequest':
      case 'echoReply':
        return ICMP6_HDR_LEN + r.data.length;
      case 'destUnreachable':
      case 'packetTooBig':
      case 'timeExceeded':
      case 'paramProblem':
        return ICMP6_HDR_LEN + Ipv6Repr.bufferLen(r.header) + r.data.length;
      case 'routerSolicitation':
        return ND_RS_LEN + ndpOptionsLen(r.options);
      case 'routerAdvertisement':
        return ND_RA_LEN + ndpOptionsLen(r.options);
      case 'neighborSolicitation':
        return ND_NS_LEN + ndpOptionsLen(r.options);
      case 'neighborAdvertisement':
        return ND_NA_LEN + ndpOptionsLen(r.options);
      case 'redirect':
        return ND_REDIRECT_LEN + ndpOptionsLen(r.options);
    }
  },

  /** Write the whole message into buf[0, bufferLen(r)), checksum filled for src -> dst. */
  emit(r: Icmpv6Repr, buf: Uint8Array, src: Ipv6Addr, dst: Ipv6Addr): void {
    const len = Icmpv6Repr.bufferLen(r);
    const b = buf.subarray(0, len);
    b[1] = 0;
    set32(b, 4, 0);
    let quote: Icmpv6Quote | null = null;
    switch (r.kind) {
      case 'echoRequest':
      case 'echoReply':
        b[0] = r.kind === 'echoRequest' ? ICMP6_ECHO_REQUEST : ICMP6_ECHO_REPLY;
        set16(b, 4, r.ident);
        set16(b, 6, r.seq);
        b.set(r.data, ICMP6_HDR_LEN);
        break;
      case 'destUnreachable':
        b[0] = ICMP6_DST_UNREACH; b[1] = r.code; quote = r;
        break;
      case 'packetTooBig':
        b[0] = ICMP6_PACKET_TOO_BIG; set32(b, 4, r.mtu); quote = r;
        break;
      case 'timeExceeded':
        b[0] = ICMP6_TIME_EXCEEDED; b[1] = r.code; quote = r;
        break;
      case 'paramProblem':
        b[0] = ICMP6_PARAM_PROB; b[1] = r.code; set32(b, 4, r.pointer); quote = r;
        break;
      case 'routerSolicitation':
        b[0] = ND_ROUTER_SOLICIT;
        emitNdpOptions(r.options, b, ND_RS_LEN);
        break;
      case 'routerAdvertisement':
        b[0] = ND_ROUTER_ADVERT;
        b[4] = r.curHopLimit;
        b[5] = (r.managed ? 0x80 : 0) | (r.other ? 0x40 : 0);
        set16(b, 6, r.routerLifetime);
        set32(b, 8, r.reachableTime);
        set32(b, 12, r.retransTimer);
        emitNdpOptions(r.options, b, ND_RA_LEN);
        break;
      case 'neighborSolicitation':
        b[0] = ND_NEIGHBOR_SOLICIT;
        b.set(r.target.subarray(0, 16), 8);
        emitNdpOptions(r.options, b, ND_NS_LEN);
        break;
      case 'neighborAdvertisement':
        b[0] = ND_NEIGHBOR_ADVERT;
        b[4] = (r.router ? 0x80 : 0) | (r.solicited ? 0x40 : 0) | (r.override ? 0x20 : 0);
        b.set(r.target.subarray(0, 16), 8);
        emitNdpOptions(r.options, b, ND_NA_LEN);
        break;
      case 'redirect':
        b[0] = ND_REDIRECT;
        b.set(r.target.subarray(0, 16), 8);
        b.set(r.destination.subarray(0, 16), 24);
        emitNdpOptions(r.options, b, ND_REDIRECT_LEN);
        break;
    }
    if (quote !== null) {
      Ipv6Repr.emit(quote.header, b.subarray(ICMP6_HDR_LEN));
      b.set(quote.data, ICMP6_HDR_LEN + Ipv6Repr.bufferLen(quote.header));
    }
    Icmpv6Packet.unchecked(b).fillChecksum(src, dst);
  },
};
