/**
 * IPv4 input (NetBSD's netinet/ip_input.c), the interface layer's handler for ETHERTYPE_IPV4:
 * validate the header, decide whether the packet is for this host, reassemble, and deliver.
 *
 * Checks, each drop counted once in ipstat: a header (toosmall), version 4 (badvers), header
 * length (badhlen), header checksum (badsum), total length against the header (badlen) and the
 * packet (tooshort; link padding beyond it is trimmed), options well formed (badoptions, with an
 * ICMP parameter problem), a sane source (badaddr: multicast, broadcast or, from outside, a
 * loopback address).
 *
 * For this host (weak host model: any of our addresses on any interface, a broadcast address,
 * INADDR_ANY): fragments go to reassembly, then the datagram goes to its protocol — ICMP here,
 * the transports (UDP, TCP) through TransportProtocol.input with the header stripped — and ICMP
 * and protocols without a transport go to the raw sockets, with the header. A protocol nobody
 * takes gets an ICMP protocol unreachable (noproto). Multicast is not joined yet (notmember).
 * Anything else is forwarded when net.inet.ip.forwarding=1, else dropped (cantforward).
 */

import { IFF_LOOPBACK, type Ifnet } from '../if.js';
import { M_BCAST, M_LOOP, M_MCAST, type Mbuf } from '../mbuf.js';
import { get16, get32 } from '../wire/bytes.js';
import { fold16 } from '../wire/checksum.js';
import { ICMP_PARAMPROB, ICMP_PARAMPROB_ERRATPTR, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL } from '../wire/icmpv4.js';
import { IP_MF, IP_OFFMASK, IPV4_HDR_LEN, ipv4IsLoopback, ipv4IsMulticast, parseIpv4Options } from '../wire/ipv4.js';
import { WireError } from '../wire/error.js';
import { icmpError, icmpInput } from './ip_icmp.js';
import { infoFromHeader, ipForward } from './ip_output.js';
import type { Inet, InInputInfo } from './ip_var.js';
import { IPPROTO_ICMP } from './transport.js';

/** ip_input: `m` starts at the IPv4 header; it arrived on `ifp`. */
export function ipInput(inet: Inet, ifp: Ifnet, m: Mbuf): void {
  const st = inet.ipstat;
  st.total++;
  if (m.length < IPV4_HDR_LEN) {
    st.toosmall++;
    return;
  }
  let h = m.pullup(IPV4_HDR_LEN)!;
  if (h[0]! >>> 4 !== 4) {
    st.badvers++;
    return;
  }
  const hlen = (h[0]! & 0x0f) * 4;
  if (hlen < IPV4_HDR_LEN || hlen > m.length) {
    st.badhlen++;
    return;
  }
  if (hlen > IPV4_HDR_LEN) h = m.pullup(hlen)!;
  if (fold16(m.sum(0, hlen)) !== 0xffff) {
    st.badsum++;
    return;
  }
  const total = get16(h, 2);
  if (total < hlen) {
    st.badlen++;
    return;
  }
  if (total > m.length) {
    st.tooshort++;
    return;
  }
  if (m.length > total) m.adj(total - m.length);
  const src = get32(h, 12);
  const dst = get32(h, 16);
  const fromLoop = (m.flags & M_LOOP) !== 0 || (ifp.flags & IFF_LOOPBACK) !== 0;
  if (ipv4IsMulticast(src) || src === 0xffffffff || inet.isBroadcast(src) || (!fromLoop && (ipv4IsLoopback(src) || ipv4IsLoopback(dst)))) {
    st.badaddr++;
    return;
  }
  const hdr = h.slice(0, hlen);
  const linkBcast = (m.flags & M_BCAST) !== 0;
  const linkMcast = (m.flags & M_MCAST) !== 0;
  if (hlen > IPV4_HDR_LEN) {
    const opts = parseIpv4Options(hdr.subarray(IPV4_HDR_LEN));
    if (opts instanceof WireError) {
      st.badoptions++;
      icmpError(inet, ICMP_PARAMPROB, ICMP_PARAMPROB_ERRATPTR, infoFromHeader(hdr, ifp.index, linkBcast, linkMcast, total - hlen), m.copy(hlen), 0, Math.max(opts.offset, 0));
      return;
    }
  }

  // for us?
  const mcast = ipv4IsMulticast(dst);
  let bcast = false;
  let ours = inet.isLocalAddress(dst);
  if (!ours) {
    if (dst === 0 || inet.inBroadcast(dst, ifp) || inet.isBroadcast(dst)) {
      ours = true;
      bcast = true;
    } else if (mcast) {
      st.notmember++;
      return;
    }
  }
  if (!ours) {
    if (inet.tun.forwarding === 0 || fromLoop) {
      st.cantforward++;
      return;
    }
    ipForward(inet, m, hlen, ifp);
    return;
  }

  // reassemble
  const fw = get16(hdr, 6);
  if ((fw & (IP_MF | IP_OFFMASK)) !== 0) {
    const whole = inet.reass.input(m, hlen, hdr);
    if (whole === null) return;
    m = whole;
    h = m.pullup(hlen)!;
    hdr.set(h.subarray(0, hlen));
  }
  ipDeliver(inet, m, hlen, hdr, ifp, bcast || linkBcast, mcast || linkMcast);
}

/** Hand a complete datagram for this host to its protocol and the raw sockets. */
function ipDeliver(inet: Inet, m: Mbuf, hlen: number, hdr: Uint8Array, ifp: Ifnet, bcast: boolean, mcast: boolean): void {
  const st = inet.ipstat;
  const proto = hdr[9]!;
  const length = m.length - hlen;
  const info: InInputInfo = {
    src: get32(hdr, 12), dst: get32(hdr, 16), ttl: hdr[8]!, tos: hdr[1]!, ifindex: ifp.index, broadcast: bcast, multicast: mcast,
    length, proto, hdr,
  };
  const raw = inet.raw;
  const t = inet.transports.get(proto);
  if (t !== undefined) {
    st.delivered++;
    m.adj(hlen);
    t.input(m, info);
    return;
  }
  if (proto === IPPROTO_ICMP) {
    st.delivered++;
    const whole = raw !== null && raw.wants(proto) ? m.copy() : null;
    m.adj(hlen);
    if (icmpInput(inet, m, info) && whole !== null) raw!.input(whole, info);
    return;
  }
  if (raw !== null && raw.input(m, info)) {
    st.delivered++;
    return;
  }
  st.noproto++;
  if (!bcast && !mcast) icmpError(inet, ICMP_UNREACH, ICMP_UNREACH_PROTOCOL, info, m.copy(hlen));
}
