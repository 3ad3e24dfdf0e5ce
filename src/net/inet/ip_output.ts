/**
 * IPv4 output and forwarding (NetBSD's netinet/ip_output.c and ip_forward in ip_input.c).
 *
 * ipOutput (what transports call through IpTransportEnv.output): route the destination (longest
 * prefix match; SO_DONTROUTE: only a directly connected network; 255.255.255.255: the
 * interface of the source address, else the default route's, else the first broadcast one),
 * pick the source address (the route's) when the transport left it zero, prepend the header,
 * and transmit: fragment when the datagram exceeds the path MTU and DF is clear (EMSGSIZE when
 * set, or for broadcast), hand it to the interface, which resolves the next hop. A broadcast also
 * loops back to this host (the interface is simplex), as BSD does.
 *
 * Errors (returned, never thrown): ENETUNREACH without a route (EHOSTUNREACH for a reject route),
 * EACCES for broadcast without SO_BROADCAST, EADDRNOTAVAIL without a source address, EMSGSIZE,
 * ENETDOWN, EHOSTDOWN (EHOSTUNREACH through a gateway) when ARP gave up, ENOBUFS.
 *
 * ipForward: a packet for another host on a router (net.inet.ip.forwarding=1): TTL expiry
 * answers ICMP time exceeded, no route ICMP host unreachable, too big with DF "fragmentation
 * needed" with the next-hop MTU; the TTL is decremented with an incremental checksum update.
 */

import { KernelError } from '../../kern/errno.js';
import { IFF_BROADCAST, IFF_SIMPLEX, type Ifnet } from '../if.js';
import { M_BCAST, M_MCAST, type Mbuf } from '../mbuf.js';
import { RTF_BLACKHOLE, RTF_GATEWAY, RTF_REJECT, type Rtentry } from '../route.js';
import { get16, get32, set16 } from '../wire/bytes.js';
import { checksumUpdate16, internetChecksum } from '../wire/checksum.js';
import { ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, ICMP_UNREACH, ICMP_UNREACH_HOST, ICMP_UNREACH_NEEDFRAG } from '../wire/icmpv4.js';
import { formatIpv4, IP_DF, IPV4_HDR_LEN, IPV4_MAX_LEN, ipv4IsMulticast } from '../wire/ipv4.js';
import { inFirstAddr } from './in.js';
import { ipFragment } from './ip_frag.js';
import type { Inet, InInputInfo } from './ip_var.js';
import type { IpOutputOptions } from './transport.js';

/** Where a datagram goes: the interface, the next hop, the route (if any), broadcast or not. */
export interface IpRoute {
  ifp: Ifnet;
  nexthop: number;
  rt: Rtentry | null;
  bcast: boolean;
  /** The source address to use when the sender gave none. */
  src: number;
}

/** Route `dst` (from `src`, when given) for output. 'blackhole' when a route discards it. */
export function ipRoute(inet: Inet, src: number, dst: number, dontroute: boolean): IpRoute | KernelError | 'blackhole' {
  let ifp: Ifnet | null = null;
  let rt: Rtentry | null = null;
  let nexthop = dst;
  let bcast = false;
  if (dst === 0xffffffff) {
    bcast = true;
    const ia = src !== 0 ? inet.addrs.get(src) : undefined;
    if (ia !== undefined) ifp = ia.ifp;
    else {
      rt = inet.routes.lookup(dst);
      if (rt !== null) ifp = rt.ifp;
      else {
        for (const i of inet.addrs.values()) if ((i.ifp.flags & IFF_BROADCAST) !== 0 && i.ifp.up) { ifp = i.ifp; break; }
      }
    }
    if (ifp === null) {
      inet.ipstat.noroute++;
      return new KernelError('ENETUNREACH', 'no interface to send a broadcast on');
    }
  } else if (dontroute) {
    const ia = inet.ifaOnNet(dst);
    if (ia === null || !ia.ifp.up) {
      inet.ipstat.noroute++;
      return new KernelError('ENETUNREACH', `${formatIpv4(dst)} is not on a directly connected network (SO_DONTROUTE)`);
    }
    ifp = ia.ifp;
    bcast = inet.inBroadcast(dst, ifp);
  } else {
    rt = inet.routes.lookup(dst);
    if (rt === null) {
      inet.ipstat.noroute++;
      return new KernelError('ENETUNREACH', `no route to ${formatIpv4(dst)}`);
    }
    if ((rt.flags & RTF_BLACKHOLE) !== 0) return 'blackhole';
    if ((rt.flags & RTF_REJECT) !== 0) {
      inet.ipstat.noroute++;
      return new KernelError('EHOSTUNREACH', `the route to ${formatIpv4(dst)} rejects traffic`);
    }
    ifp = rt.ifp;
    if ((rt.flags & RTF_GATEWAY) !== 0) nexthop = rt.gateway;
    else bcast = inet.inBroadcast(dst, ifp);
  }
  const s = rt?.ifa?.addr ?? (bcast && src === 0 ? inFirstAddr(ifp)?.addr : undefined) ?? inFirstAddr(ifp)?.addr ?? 0;
  return { ifp, nexthop, rt, bcast, src: s };
}

/**
 * ip_output for transports: `m` holds the transport header and payload (ownership passes
 * here). Returns null when sent (or queued for address resolution), else the errno.
 */
export function ipOutput(inet: Inet, m: Mbuf, src: number, dst: number, proto: number, opts: IpOutputOptions): KernelError | null {
  const st = inet.ipstat;
  const r = ipRoute(inet, src, dst, opts.dontroute === true);
  if (r === 'blackhole') return null;
  if (r instanceof KernelError) return r;
  if (r.bcast) {
    if ((r.ifp.flags & IFF_BROADCAST) === 0 && dst !== 0xffffffff) return new KernelError('EADDRNOTAVAIL', `${r.ifp.name} cannot broadcast`);
    if (opts.broadcast !== true) return new KernelError('EACCES', `sending to the broadcast address ${formatIpv4(dst)} needs SO_BROADCAST`);
    m.flags |= M_BCAST;
  } else if (ipv4IsMulticast(dst)) {
    m.flags |= M_MCAST;
  }
  const from = src !== 0 ? src : r.src;
  if (from === 0) return new KernelError('EADDRNOTAVAIL', `${r.ifp.name} has no IPv4 address to send from`);
  const total = IPV4_HDR_LEN + m.length;
  if (total > IPV4_MAX_LEN) {
    st.toolong++;
    return new KernelError('EMSGSIZE', `a datagram of ${total} bytes exceeds 65535`);
  }
  const h = m.prepend(IPV4_HDR_LEN);
  h[0] = 0x45;
  h[1] = opts.tos ?? 0;
  set16(h, 2, total);
  set16(h, 4, inet.newId());
  set16(h, 6, opts.df === true ? IP_DF : 0);
  h[8] = opts.ttl ?? (ipv4IsMulticast(dst) ? 1 : inet.tun.ttl);
  h[9] = proto;
  set16(h, 10, 0);
  h[12] = from >>> 24; h[13] = from >>> 16; h[14] = from >>> 8; h[15] = from;
  h[16] = dst >>> 24; h[17] = dst >>> 16; h[18] = dst >>> 8; h[19] = dst;
  set16(h, 10, internetChecksum(h, 0, IPV4_HDR_LEN));
  st.localout++;
  if (r.rt !== null) r.rt.use++;
  return ipTransmit(inet, m, IPV4_HDR_LEN, r, opts.df === true);
}

/**
 * ip_output for a raw socket with IP_HDRINCL: the caller built the header. The total length
 * is set to the packet's, a zero identification and source are filled in, the checksum is
 * recomputed. EINVAL for a header that is not IPv4 or does not fit.
 */
export function ipOutputRaw(inet: Inet, m: Mbuf, opts: IpOutputOptions): KernelError | null {
  const st = inet.ipstat;
  const h0 = m.pullup(Math.min(m.length, IPV4_HDR_LEN));
  if (h0 === null || m.length < IPV4_HDR_LEN || h0[0]! >>> 4 !== 4) return new KernelError('EINVAL', 'IP_HDRINCL: the data does not start with an IPv4 header');
  const hlen = (h0[0]! & 0x0f) * 4;
  if (hlen < IPV4_HDR_LEN || hlen > m.length) return new KernelError('EINVAL', `IP_HDRINCL: header length ${hlen} does not fit ${m.length} bytes`);
  if (m.length > IPV4_MAX_LEN) return new KernelError('EMSGSIZE', `a datagram of ${m.length} bytes exceeds 65535`);
  const h = m.makeWritable(hlen)!;
  const src = get32(h, 12), dst = get32(h, 16);
  const r = ipRoute(inet, src, dst, opts.dontroute === true);
  if (r === 'blackhole') return null;
  if (r instanceof KernelError) return r;
  if (r.bcast) {
    if (opts.broadcast !== true) return new KernelError('EACCES', `sending to the broadcast address ${formatIpv4(dst)} needs SO_BROADCAST`);
    m.flags |= M_BCAST;
  } else if (ipv4IsMulticast(dst)) {
    m.flags |= M_MCAST;
  }
  set16(h, 2, m.length);
  if (get16(h, 4) === 0) set16(h, 4, inet.newId());
  if (src === 0) {
    if (r.src === 0) return new KernelError('EADDRNOTAVAIL', `${r.ifp.name} has no IPv4 address to send from`);
    h[12] = r.src >>> 24; h[13] = r.src >>> 16; h[14] = r.src >>> 8; h[15] = r.src;
  }
  set16(h, 10, 0);
  set16(h, 10, internetChecksum(h, 0, hlen));
  st.rawout++;
  st.localout++;
  return ipTransmit(inet, m, hlen, r, (get16(h, 6) & IP_DF) !== 0);
}

/** Hand a datagram with its header to the interface, fragmenting when needed. */
function ipTransmit(inet: Inet, m: Mbuf, hlen: number, r: IpRoute, df: boolean): KernelError | null {
  const st = inet.ipstat;
  const ifp = r.ifp;
  const mtu = r.rt !== null && r.rt.mtu !== 0 ? Math.min(r.rt.mtu, ifp.mtu) : ifp.mtu;
  if (r.bcast && (ifp.flags & IFF_SIMPLEX) !== 0) {
    // a simplex interface does not hear itself: loop a copy back (ip_mloopback)
    const c = m.copy();
    c.flags = m.flags;
    ifp.loopInput(c, ETHERTYPE_IPV4);
  }
  if (m.length <= mtu) return linkOut(inet, ifp, m, r);
  if (df || r.bcast) {
    st.cantfrag++;
    return new KernelError('EMSGSIZE', `a datagram of ${m.length} bytes exceeds the MTU ${mtu} of ${ifp.name}${df ? ' and DF is set' : ' (broadcasts are not fragmented)'}`);
  }
  if (mtu - hlen < 8) {
    st.cantfrag++;
    return new KernelError('EMSGSIZE', `MTU ${mtu} of ${ifp.name} leaves no room for fragments`);
  }
  let err: KernelError | null = null;
  for (const f of ipFragment(inet, m, hlen, mtu)) {
    f.flags |= m.flags & (M_BCAST | M_MCAST);
    const e: KernelError | null = err === null ? linkOut(inet, ifp, f, r) : null;
    if (e !== null) err = e;
  }
  return err;
}

function linkOut(inet: Inet, ifp: Ifnet, m: Mbuf, r: IpRoute): KernelError | null {
  const e = ifp.output(ifp, m, ETHERTYPE_IPV4, r.nexthop);
  if (e === null) return null;
  inet.ipstat.odropped++;
  if (e.code === 'EHOSTDOWN' && r.rt !== null && (r.rt.flags & RTF_GATEWAY) !== 0) {
    return new KernelError('EHOSTUNREACH', `gateway ${formatIpv4(r.nexthop)} did not answer ARP`);
  }
  return e;
}

/** The InInputInfo of a packet, from its header, for ICMP errors about it. */
export function infoFromHeader(hdr: Uint8Array, ifindex: number, bcast: boolean, mcast: boolean, length: number): InInputInfo {
  return {
    src: get32(hdr, 12), dst: get32(hdr, 16), ttl: hdr[8]!, tos: hdr[1]!, ifindex, broadcast: bcast, multicast: mcast, length,
    proto: hdr[9]!, hdr,
  };
}

/**
 * ip_forward: `m` is a whole datagram (header of `hlen` bytes) that arrived on `rcvif` for
 * another host. Forwarded, or dropped with the ICMP error RFC 1812 asks for.
 */
export function ipForward(inet: Inet, m: Mbuf, hlen: number, rcvif: Ifnet): void {
  const st = inet.ipstat;
  const hdr = m.pullup(hlen)!.slice();
  const dst = get32(hdr, 16);
  const src = get32(hdr, 12);
  const linkGroup = (m.flags & (M_BCAST | M_MCAST)) !== 0;
  if (linkGroup || ipv4IsMulticast(dst) || src === 0 || ipv4IsMulticast(src) || inet.isBroadcast(src)) {
    st.cantforward++;
    return;
  }
  const info = (): InInputInfo => infoFromHeader(hdr, rcvif.index, false, false, m.length - hlen);
  const ttl = hdr[8]!;
  if (ttl <= 1) {
    st.cantforward++;
    inet.icmpError(ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, info(), m.copy(hlen));
    return;
  }
  const rt = inet.routes.lookup(dst);
  if (rt === null || (rt.flags & RTF_REJECT) !== 0) {
    st.noroute++;
    st.cantforward++;
    inet.icmpError(ICMP_UNREACH, ICMP_UNREACH_HOST, info(), m.copy(hlen));
    return;
  }
  if ((rt.flags & RTF_BLACKHOLE) !== 0) {
    st.cantforward++;
    return;
  }
  const ifp = rt.ifp;
  if ((rt.flags & RTF_GATEWAY) === 0 && inet.inBroadcast(dst, ifp)) {
    // directed broadcasts are not forwarded
    st.cantforward++;
    return;
  }
  // decrement the TTL, updating the checksum incrementally (RFC 1624)
  const h = m.makeWritable(hlen)!;
  const oldWord = (h[8]! << 8) | h[9]!;
  h[8] = ttl - 1;
  const newWord = (h[8]! << 8) | h[9]!;
  set16(h, 10, checksumUpdate16(get16(h, 10), oldWord, newWord));
  const r: IpRoute = { ifp, nexthop: (rt.flags & RTF_GATEWAY) !== 0 ? rt.gateway : dst, rt, bcast: false, src: 0 };
  const mtu = rt.mtu !== 0 ? Math.min(rt.mtu, ifp.mtu) : ifp.mtu;
  const df = (get16(hdr, 6) & IP_DF) !== 0;
  if (m.length > mtu && df) {
    st.cantfrag++;
    st.cantforward++;
    inet.icmpError(ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, info(), m.copy(hlen), mtu);
    return;
  }
  rt.use++;
  const offending = m.copy(hlen, Math.min(m.length - hlen, 64));
  const e = ipTransmit(inet, m, hlen, r, df);
  if (e === null) {
    st.forward++;
    return;
  }
  st.cantforward++;
  if (e.code === 'EHOSTDOWN' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'ENETDOWN') {
    inet.icmpError(ICMP_UNREACH, ICMP_UNREACH_HOST, info(), offending);
  }
}
