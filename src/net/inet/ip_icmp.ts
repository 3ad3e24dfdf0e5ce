/**
 * ICMP for IPv4 (RFC 792, RFC 1122 3.2.2, RFC 1812 4.3; NetBSD's netinet/ip_icmp.c).
 *
 * Input: echo requests are answered (not when sent to a broadcast or multicast address, unless
 * net.inet.icmp.bmcastecho=1); errors (destination unreachable, time exceeded, parameter
 * problem, source quench) are checked and passed to the `ctlinput` of the protocol whose
 * datagram they quote, so UDP can fail a connected socket with ECONNREFUSED; "fragmentation
 * needed" also lowers the path MTU (a dynamic host route). Every message then goes to the raw
 * ICMP sockets (ip_input does that).
 *
 * Errors we send (icmp_error) quote the offending datagram's IP header and the first
 * net.inet.icmp.returndatabytes (8) bytes after it, and are never sent about an ICMP error, a
 * broadcast or multicast datagram, a fragment other than the first, or a datagram from an
 * address that cannot be answered (zero, broadcast, multicast). They are rate limited by a token
 * bucket per kernel: net.inet.icmp.errppslimit per second (negative: unlimited, 0: none at all).
 */

import type { Ifnet } from '../if.js';
import type { Mbuf } from '../mbuf.js';
import { RTF_DYNAMIC, RTF_GATEWAY, RTF_HOST } from '../route.js';
import { get16, get32, set16, set32 } from '../wire/bytes.js';
import { fold16, internetChecksum } from '../wire/checksum.js';
import {
  ICMP_ECHO, ICMP_ECHOREPLY, ICMP_HDR_LEN, ICMP_PARAMPROB, ICMP_PARAMPROB_LENGTH, ICMP_REDIRECT, ICMP_SOURCEQUENCH, ICMP_TIMXCEED,
  ICMP_TIMXCEED_REASS, ICMP_TSTAMP, ICMP_TSTAMPREPLY, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, ICMP_UNREACH_PREC_CUTOFF,
} from '../wire/icmpv4.js';
import { IP_OFFMASK, IPV4_HDR_LEN } from '../wire/ipv4.js';
import { Mbuf as MbufClass } from '../mbuf.js';
import { inFirstAddr } from './in.js';
import { ipOutput } from './ip_output.js';
import { ICMP_MAXTYPE, type Inet, type InInputInfo } from './ip_var.js';
import { IPPROTO_ICMP, type CtlKind, type IpInputInfo } from './transport.js';

/** ICMP_INFOTYPE: the query types (not errors) that an error may be sent about. */
function isInfoType(t: number): boolean {
  return t === ICMP_ECHO || t === ICMP_ECHOREPLY || t === ICMP_TSTAMP || t === ICMP_TSTAMPREPLY || (t >= 9 && t <= 10) || (t >= 15 && t <= 18);
}

/** The token bucket behind net.inet.icmp.errppslimit. */
export class IcmpRateLimit {
  private tokens = -1;
  private last = 0;

  constructor(private readonly inet: Inet) {}

  /** May one more error go out now? */
  take(): boolean {
    const limit = this.inet.tun.errppslimit;
    if (limit < 0) return true;
    if (limit === 0) return false;
    const now = this.inet.kernel.host.clockMs(1 /* MONOTONIC */);
    if (this.tokens < 0) {
      this.tokens = limit;
    } else {
      this.tokens = Math.min(limit, this.tokens + ((now - this.last) * limit) / 1000);
    }
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function badSource(inet: Inet, a: number): boolean {
  return a === 0 || a === 0xffffffff || a >>> 28 === 0xe || a >>> 28 === 0xf || inet.isBroadcast(a);
}

/** An IP header for `info` when the caller kept none (a transport that is not ours). */
function rebuildHeader(info: IpInputInfo, proto: number, paylen: number): Uint8Array {
  const h = new Uint8Array(IPV4_HDR_LEN);
  h[0] = 0x45;
  h[1] = info.tos;
  set16(h, 2, IPV4_HDR_LEN + paylen);
  h[8] = info.ttl;
  h[9] = proto;
  set32(h, 12, info.src);
  set32(h, 16, info.dst);
  set16(h, 10, internetChecksum(h));
  return h;
}

/** The address an ICMP message about a packet that arrived with `info` should come from. */
function replySource(inet: Inet, info: IpInputInfo): number | null {
  if (inet.isLocalAddress(info.dst)) return info.dst;
  const ifp: Ifnet | undefined = inet.ifs.get(info.ifindex);
  if (ifp !== undefined) {
    const ia = inFirstAddr(ifp);
    if (ia !== null) return ia.addr;
  }
  return inet.selectSource(info.src);
}

/**
 * icmp_error: send an error of `type`/`code` about an inbound packet (`offending` starts at its
 * transport header; `info` describes its IP header). `mtu` is the next-hop MTU for
 * "fragmentation needed", `pointer` the offending octet for a parameter problem.
 */
export function icmpError(inet: Inet, type: number, code: number, info: IpInputInfo, offending: Mbuf, mtu = 0, pointer = 0): void {
  const st = inet.icmpstat;
  st.error++;
  const ext = info as Partial<InInputInfo>;
  const proto = ext.proto ?? 0;
  const hdr = ext.hdr ?? rebuildHeader(info, proto, offending.length);
  if ((get16(hdr, 6) & IP_OFFMASK) !== 0 || info.broadcast || info.multicast || badSource(inet, info.src)) {
    st.noerrbcast++;
    return;
  }
  if (hdr[9] === IPPROTO_ICMP) {
    if (offending.length < 1) { st.oldshort++; return; }
    const t = offending.pullup(1)![0]!;
    if (!isInfoType(t)) { st.oldicmp++; return; }
  }
  if (!inet.icmpLimit.take()) {
    st.ratelimit++;
    return;
  }
  const src = replySource(inet, info);
  if (src === null) return;
  const quote = Math.min(offending.length, Math.max(0, inet.tun.returndatabytes));
  const hl = hdr.length;
  const m = MbufClass.alloc(ICMP_HDR_LEN + hl + quote);
  const b = m.makeWritable(m.length)!;
  b[0] = type;
  b[1] = code;
  if (type === ICMP_UNREACH && code === ICMP_UNREACH_NEEDFRAG) set16(b, 6, mtu & 0xffff);
  else if (type === ICMP_PARAMPROB) b[4] = pointer & 0xff;
  b.set(hdr, ICMP_HDR_LEN);
  if (quote > 0) offending.copydata(0, quote, b, ICMP_HDR_LEN + hl);
  set16(b, 2, internetChecksum(b));
  if (type <= ICMP_MAXTYPE) st.outhist[type]!++;
  ipOutput(inet, m, src, info.src, IPPROTO_ICMP, {});
}

/** The ctlinput kind of an ICMP error, or null for types transports do not hear about. */
function ctlKind(type: number, code: number): CtlKind | null {
  switch (type) {
    case ICMP_UNREACH: return code === ICMP_UNREACH_NEEDFRAG ? 'msgsize' : 'unreach';
    case ICMP_TIMXCEED: return 'timex';
    case ICMP_PARAMPROB: return 'paramprob';
    case ICMP_SOURCEQUENCH: return 'srcquench';
    default: return null;
  }
}

function maxCode(type: number): number {
  switch (type) {
    case ICMP_UNREACH: return ICMP_UNREACH_PREC_CUTOFF;
    case ICMP_TIMXCEED: return ICMP_TIMXCEED_REASS;
    case ICMP_PARAMPROB: return ICMP_PARAMPROB_LENGTH;
    case ICMP_REDIRECT: return 3;
    default: return 255;
  }
}

/**
 * icmp_input: `m` starts at the ICMP header. Returns false when the message was dropped as bad
 * (the raw sockets do not see it), true otherwise.
 */
export function icmpInput(inet: Inet, m: Mbuf, info: InInputInfo): boolean {
  const st = inet.icmpstat;
  const len = m.length;
  if (len < ICMP_HDR_LEN) {
    st.tooshort++;
    return false;
  }
  if (fold16(m.sum(0, len)) !== 0xffff) {
    st.checksum++;
    return false;
  }
  const h = m.pullup(ICMP_HDR_LEN)!;
  const type = h[0]!;
  const code = h[1]!;
  if (type <= ICMP_MAXTYPE) st.inhist[type]!++;
  if (code > maxCode(type)) {
    st.badcode++;
    return false;
  }
  switch (type) {
    case ICMP_ECHO: {
      if (info.broadcast || info.multicast) {
        if (inet.tun.bmcastecho === 0) {
          st.bmcastecho++;
          return true;
        }
      }
      const src = info.broadcast || info.multicast || !inet.isLocalAddress(info.dst) ? replySource(inet, info) : info.dst;
      if (src === null || badSource(inet, info.src)) return true;
      const r = MbufClass.alloc(len);
      const b = r.makeWritable(len)!;
      m.copydata(0, len, b);
      b[0] = ICMP_ECHOREPLY;
      set16(b, 2, 0);
      set16(b, 2, internetChecksum(b));
      st.reflect++;
      st.outhist[ICMP_ECHOREPLY]!++;
      ipOutput(inet, r, src, info.src, IPPROTO_ICMP, {});
      return true;
    }
    case ICMP_UNREACH:
    case ICMP_TIMXCEED:
    case ICMP_PARAMPROB:
    case ICMP_SOURCEQUENCH: {
      // the quoted datagram: an IP header and at least 8 bytes of its payload
      const avail = Math.min(len, ICMP_HDR_LEN + 60 + 8);
      const b = m.pullup(avail)!;
      if (avail < ICMP_HDR_LEN + IPV4_HDR_LEN + 8 || b[ICMP_HDR_LEN]! >>> 4 !== 4) {
        st.badlen++;
        return false;
      }
      const qhl = (b[ICMP_HDR_LEN]! & 0x0f) * 4;
      if (qhl < IPV4_HDR_LEN || avail < ICMP_HDR_LEN + qhl + 8) {
        st.badlen++;
        return false;
      }
      const q = ICMP_HDR_LEN;
      const qproto = b[q + 9]!;
      const qsrc = get32(b, q + 12);
      const qdst = get32(b, q + 16);
      const quoted = b.slice(q + qhl, avail);
      const kind = ctlKind(type, code)!;
      let mtu: number | undefined;
      if (kind === 'msgsize') {
        mtu = get16(b, 6);
        pmtuUpdate(inet, qdst, mtu);
      }
      inet.transports.get(qproto)?.ctlinput?.(kind, code, qsrc, qdst, quoted, mtu);
      return true;
    }
    default:
      return true;
  }
}

/** "Fragmentation needed": remember the smaller MTU towards `dst` in a dynamic host route. */
function pmtuUpdate(inet: Inet, dst: number, mtu: number): void {
  const rt = inet.routes.lookup(dst);
  if (rt === null || mtu < 68) return;
  const cur = rt.mtu !== 0 ? rt.mtu : rt.ifp.mtu;
  if (mtu >= cur) return;
  inet.icmpstat.pmtuchg++;
  if (rt.prefixLen === 32) {
    rt.mtu = mtu;
    inet.routes.invalidate();
    return;
  }
  inet.routes.add({
    dst, prefixLen: 32, ...((rt.flags & RTF_GATEWAY) !== 0 ? { gateway: rt.gateway } : {}), ifp: rt.ifp, ifa: rt.ifa,
    flags: RTF_DYNAMIC | RTF_HOST | (rt.flags & RTF_GATEWAY), mtu,
  });
}
