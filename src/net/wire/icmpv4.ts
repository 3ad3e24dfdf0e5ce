/**
 * ICMP for IPv4 (RFC 792, with RFC 1191's next-hop MTU and RFC 1812's unreachable codes).
 *
 * View: `Icmpv4Packet.check(bytes)` needs the 8-byte header; the view spans the whole ICMP
 * message (the IPv4 payload), since the checksum covers all of it. Repr: echo request/reply,
 * destination unreachable, time exceeded, parameter problem and redirect; the error messages
 * carry the quoted IPv4 header (parsed leniently: its total length describes the original
 * datagram, not the quote) and the quoted bytes after it (at least the first 8 — the ports).
 * Other types parse as 'unsupported'. Byte arrays in a parsed repr alias the packet.
 */

import { get16, get32, set16, set32 } from './bytes.js';
import { checksumOk, internetChecksum } from './checksum.js';
import { WireError, truncated } from './error.js';
import { Ipv4Packet, Ipv4Repr } from './ipv4.js';

export const ICMP_ECHOREPLY = 0;
export const ICMP_UNREACH = 3;
export const ICMP_SOURCEQUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIMXCEED = 11;
export const ICMP_PARAMPROB = 12;
export const ICMP_TSTAMP = 13;
export const ICMP_TSTAMPREPLY = 14;

export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_NEEDFRAG = 4;
export const ICMP_UNREACH_SRCFAIL = 5;
export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIB = 9;
export const ICMP_UNREACH_HOST_PROHIB = 10;
export const ICMP_UNREACH_TOSNET = 11;
export const ICMP_UNREACH_TOSHOST = 12;
export const ICMP_UNREACH_ADMIN_PROHIBIT = 13;
export const ICMP_UNREACH_HOST_PREC = 14;
export const ICMP_UNREACH_PREC_CUTOFF = 15;

export const ICMP_TIMXCEED_INTRANS = 0;
export const ICMP_TIMXCEED_REASS = 1;

export const ICMP_PARAMPROB_ERRATPTR = 0;
export const ICMP_PARAMPROB_OPTABSENT = 1;
export const ICMP_PARAMPROB_LENGTH = 2;

export const ICMP_REDIRECT_NET = 0;
export const ICMP_REDIRECT_HOST = 1;
export const ICMP_REDIRECT_TOSNET = 2;
export const ICMP_REDIRECT_TOSHOST = 3;

export const ICMP_HDR_LEN = 8;
/** An error quotes the IP header and at least this many bytes of the original payload. */
export const ICMP_QUOTE_MIN = 8;

export class Icmpv4Packet {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): Icmpv4Packet | WireError {
    if (bytes.length < ICMP_HDR_LEN) return truncated('icmpv4', 'header', bytes.length, ICMP_HDR_LEN, 'message');
    return new Icmpv4Packet(bytes);
  }

  static unchecked(bytes: Uint8Array): Icmpv4Packet {
    return new Icmpv4Packet(bytes);
  }

  get type(): number { return this.bytes[0]!; }
  set type(v: number) { this.bytes[0] = v; }
  get code(): number { return this.bytes[1]!; }
  set code(v: number) { this.bytes[1] = v; }
  get checksum(): number { return get16(this.bytes, 2); }
  set checksum(v: number) { set16(this.bytes, 2, v); }
  /** The type-specific second word, whole. */
  get rest(): number { return get32(this.bytes, 4); }
  set rest(v: number) { set32(this.bytes, 4, v); }
  get ident(): number { return get16(this.bytes, 4); }
  set ident(v: number) { set16(this.bytes, 4, v); }
  get seq(): number { return get16(this.bytes, 6); }
  set seq(v: number) { set16(this.bytes, 6, v); }
  /** Parameter problem: offset of the offending octet. */
  get pointer(): number { return this.bytes[4]!; }
  /** Fragmentation needed (RFC 1191): MTU of the next hop, 0 from old routers. */
  get nextHopMtu(): number { return get16(this.bytes, 6); }
  /** Redirect: the better gateway. */
  get gateway(): number { return get32(this.bytes, 4); }
  /** Echo data, or the quoted datagram of an error. */
  get data(): Uint8Array { return this.bytes.subarray(ICMP_HDR_LEN); }

  verifyChecksum(): boolean {
    return checksumOk(this.bytes);
  }

  fillChecksum(): void {
    set16(this.bytes, 2, 0);
    set16(this.bytes, 2, internetChecksum(this.bytes));
  }
}

export interface Icmpv4Quote {
  /** The quoted IPv4 header; its payloadLen is the original datagram's. */
  header: Ipv4Repr;
  /** The quoted bytes after that header (transport header first). */
  data: Uint8Array;
}

export type Icmpv4Repr =
  | { kind: 'echoRequest'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'echoReply'; ident: number; seq: number; data: Uint8Array }
  | ({ kind: 'destUnreachable'; code: number; /** ICMP_UNREACH_NEEDFRAG only, else 0 */ nextHopMtu: number } & Icmpv4Quote)
  | ({ kind: 'timeExceeded'; code: number } & Icmpv4Quote)
  | ({ kind: 'paramProblem'; code: number; pointer: number } & Icmpv4Quote)
  | ({ kind: 'redirect'; code: number; gateway: number } & Icmpv4Quote);

export interface Icmpv4ParseOptions {
  /** Verify the checksum (default true). */
  checksum?: boolean;
}

/** Highest defined code for the types whose codes we check, else -1. */
function maxCode(type: number): number {
  switch (type) {
    case ICMP_UNREACH: return ICMP_UNREACH_PREC_CUTOFF;
    case ICMP_TIMXCEED: return ICMP_TIMXCEED_REASS;
    case ICMP_PARAMPROB: return ICMP_PARAMPROB_LENGTH;
    case ICMP_REDIRECT: return ICMP_REDIRECT_TOSHOST;
    default: return -1;
  }
}

function parseQuote(p: Icmpv4Packet, what: string): Icmpv4Quote | WireError {
  const data = p.data;
  const ip = Ipv4Packet.checkEmbedded(data);
  if (ip instanceof WireError) {
    return new WireError('icmpv4', ip.kind, 'quotedHeader', `${what} quotes a bad IPv4 header (${ip.message})`, ICMP_HDR_LEN + Math.max(ip.offset, 0));
  }
  const header = Ipv4Repr.parse(ip, { checksum: false });
  if (header instanceof WireError) {
    return new WireError('icmpv4', header.kind, 'quotedHeader', `${what} quotes a bad IPv4 header (${header.message})`, ICMP_HDR_LEN + Math.max(header.offset, 0));
  }
  const quoted = ip.payload;
  if (quoted.length < ICMP_QUOTE_MIN && quoted.length < header.payloadLen) {
    return new WireError('icmpv4', 'truncated', 'quotedData', `${what} quotes ${quoted.length} bytes of the original payload < 8`, ICMP_HDR_LEN + ip.headerLen);
  }
  return { header, data: quoted };
}

export const Icmpv4Repr = {
  parse(p: Icmpv4Packet, opts?: Icmpv4ParseOptions): Icmpv4Repr | WireError {
    if (opts?.checksum !== false && !p.verifyChecksum()) {
      return new WireError('icmpv4', 'checksum', 'checksum', `checksum 0x${p.checksum.toString(16).padStart(4, '0')} does not verify`, 2);
    }
    const type = p.type;
    const code = p.code;
    const max = maxCode(type);
    if (max >= 0 && code > max) {
      return new WireError('icmpv4', 'malformed', 'code', `type ${type} code ${code} > ${max}`, 1);
    }
    switch (type) {
      case ICMP_ECHO:
      case ICMP_ECHOREPLY:
        return type === ICMP_ECHO
          ? { kind: 'echoRequest', ident: p.ident, seq: p.seq, data: p.data }
          : { kind: 'echoReply', ident: p.ident, seq: p.seq, data: p.data };
      case ICMP_UNREACH: {
        const q = parseQuote(p, 'destination unreachable');
        if (q instanceof WireError) return q;
        return { kind: 'destUnreachable', code, nextHopMtu: code === ICMP_UNREACH_NEEDFRAG ? p.nextHopMtu : 0, ...q };
      }
      case ICMP_TIMXCEED: {
        const q = parseQuote(p, 'time exceeded');
        if (q instanceof WireError) return q;
        return { kind: 'timeExceeded', code, ...q };
      }
      case ICMP_PARAMPROB: {
        const q = parseQuote(p, 'parameter problem');
        if (q instanceof WireError) return q;
        return { kind: 'paramProblem', code, pointer: p.pointer, ...q };
      }
      case ICMP_REDIRECT: {
        const q = parseQuote(p, 'redirect');
        if (q instanceof WireError) return q;
        return { kind: 'redirect', code, gateway: p.gateway, ...q };
      }
      default:
        return new WireError('icmpv4', 'unsupported', 'type', `type ${type} code ${code} unsupported`, 0);
    }
  },

  bufferLen(r: Icmpv4Repr): number {
    if (r.kind === 'echoRequest' || r.kind === 'echoReply') return ICMP_HDR_LEN + r.data.length;
    return ICMP_HDR_LEN + Ipv4Repr.bufferLen(r.header) + r.data.length;
  },

  /** Write the whole message into buf[0, bufferLen(r)), checksum filled. */
  emit(r: Icmpv4Repr, buf: Uint8Array): void {
    const len = Icmpv4Repr.bufferLen(r);
    const p = Icmpv4Packet.unchecked(buf.subarray(0, len));
    let quote: Icmpv4Quote | null = null;
    switch (r.kind) {
      case 'echoRequest':
      case 'echoReply':
        p.type = r.kind === 'echoRequest' ? ICMP_ECHO : ICMP_ECHOREPLY;
        p.code = 0;
        p.ident = r.ident;
        p.seq = r.seq;
        buf.set(r.data, ICMP_HDR_LEN);
        break;
      case 'destUnreachable':
        p.type = ICMP_UNREACH;
        p.code = r.code;
        p.rest = r.code === ICMP_UNREACH_NEEDFRAG ? r.nextHopMtu & 0xffff : 0;
        quote = r;
        break;
      case 'timeExceeded':
        p.type = ICMP_TIMXCEED;
        p.code = r.code;
        p.rest = 0;
        quote = r;
        break;
      case 'paramProblem':
        p.type = ICMP_PARAMPROB;
        p.code = r.code;
        p.rest = (r.pointer & 0xff) * 0x100_0000;
        quote = r;
        break;
      case 'redirect':
        p.type = ICMP_REDIRECT;
        p.code = r.code;
        p.rest = r.gateway;
        quote = r;
        break;
    }
    if (quote !== null) {
      const inner = buf.subarray(ICMP_HDR_LEN);
      Ipv4Repr.emit(quote.header, inner);
      inner.set(quote.data, Ipv4Repr.bufferLen(quote.header));
    }
    p.fillChecksum();
  },
};

/** Minimum bytes an ICMP error needs from the offending datagram: its header and 8 more. */
export function icmpv4QuoteLen(headerLen: number): number {
  return headerLen + ICMP_QUOTE_MIN;
}
