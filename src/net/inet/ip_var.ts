/**
 * The IPv4 layer of one kernel (NetBSD's netinet/ip_var.h and the globals of ip_input.c, made
 * per-kernel): `Inet` holds the addresses, the routing table, ARP, reassembly, the transports by
 * protocol number, the raw sockets, the tunables (sysctl net.inet.*) and the counters, and it is
 * the `IpTransportEnv` that UDP and TCP are given (transport.ts).
 *
 * Counters are NetBSD's, with NetBSD's names (netstat -s reads like NetBSD's): every packet
 * dropped is counted under exactly one reason.
 */

import type { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Ifnet, Interfaces } from '../if.js';
import { IFF_BROADCAST, IFF_POINTOPOINT } from '../if.js';
import type { Mbuf } from '../mbuf.js';
import { RouteTable, type RouteInfo } from '../route.js';
import type { IpInputInfo, IpOutputOptions, IpTransportEnv, TransportProtocol } from './transport.js';
import { Arp } from './arp.js';
import { inAddrs, inRouteAdd, inRouteDelete, inRouteGet, type InIfaddr, type RouteReq } from './in.js';
import { IpReassembly } from './ip_frag.js';
import { icmpError, IcmpRateLimit } from './ip_icmp.js';
import { ipOutput } from './ip_output.js';
import type { RawIp } from './raw.js';

/** ipstat (netinet/ip_var.h IP_STAT_*). */
export interface IpStat {
  /** Packets received. */
  total: number;
  /** Header checksum bad. */
  badsum: number;
  /** Packet shorter than its total length, or than a header. */
  tooshort: number;
  /** Not enough data for a header (toosmall in NetBSD: m_len < sizeof(ip)). */
  toosmall: number;
  /** Header length field < 5 words or past the packet. */
  badhlen: number;
  /** Total length < header length. */
  badlen: number;
  /** Fragments received. */
  fragments: number;
  /** Fragments dropped (duplicates, out of space, limits). */
  fragdropped: number;
  /** Fragments dropped when their datagram timed out. */
  fragtimeout: number;
  /** Packets forwarded. */
  forward: number;
  fastforward: number;
  /** Packets not for us that we could not (or may not) forward. */
  cantforward: number;
  redirectsent: number;
  /** Unknown or unsupported protocol. */
  noproto: number;
  /** Datagrams delivered to a protocol above. */
  delivered: number;
  /** Packets sent from this host. */
  localout: number;
  /** Packets dropped on output (no buffer, interface queue full, resolution failed). */
  odropped: number;
  /** Datagrams reassembled. */
  reassembled: number;
  /** Datagrams fragmented on output. */
  fragmented: number;
  /** Fragments made on output. */
  ofragments: number;
  /** Datagrams not sent: too big with DF set (or broadcast). */
  cantfrag: number;
  /** Bad IP options. */
  badoptions: number;
  /** Packets dropped for want of a route. */
  noroute: number;
  /** Version not 4. */
  badvers: number;
  /** Packets sent with a header from a raw socket (IP_HDRINCL). */
  rawout: number;
  /** Malformed fragments (bad length, overlaps). */
  badfrags: number;
  /** Fragments dropped for want of kernel memory. */
  rcvmemdrop: number;
  /** Datagrams larger than 65535 bytes (reassembled or to send). */
  toolong: number;
  /** Bad source or destination (martians: multicast or broadcast source, zero destination). */
  badaddr: number;
  /** Multicast to a group this host did not join (no IGMP yet: all of them). */
  notmember: number;
}

export type IcmpHist = number[];
/** Types 0..40 (ICMP_MAXTYPE). */
export const ICMP_MAXTYPE = 40;

/** icmpstat (netinet/icmp_var.h). */
export interface IcmpStat {
  /** Calls to icmp_error. */
  error: number;
  /** No error sent: the offending packet was too short. */
  oldshort: number;
  /** No error sent: the offending packet was an ICMP error. */
  oldicmp: number;
  /** No error sent: rate limited (net.inet.icmp.errppslimit). */
  ratelimit: number;
  /** No error sent: about a broadcast, multicast, non-first fragment or bad source. */
  noerrbcast: number;
  /** Sent, by type. */
  outhist: IcmpHist;
  /** Received with a code out of range. */
  badcode: number;
  /** Received shorter than a header. */
  tooshort: number;
  /** Received with a bad checksum. */
  checksum: number;
  /** Received error quoting too little (or a bad header). */
  badlen: number;
  /** Replies sent (echo). */
  reflect: number;
  /** Received, by type. */
  inhist: IcmpHist;
  /** Path MTU changes learnt by "fragmentation needed" errors. */
  pmtuchg: number;
  /** Echo requests to a broadcast or multicast address ignored (net.inet.icmp.bmcastecho=0). */
  bmcastecho: number;
}

/** udpstat (netinet/udp_var.h). */
export interface UdpStat {
  /** Datagrams received. */
  ipackets: number;
  /** Shorter than a header. */
  hdrops: number;
  /** Bad checksum. */
  badsum: number;
  /** Length field bad (< 8 or past the packet). */
  badlen: number;
  /** No socket on the port (an ICMP port unreachable was sent). */
  noport: number;
  /** Broadcast or multicast with no socket on the port. */
  noportbcast: number;
  /** Received without a checksum. */
  nosum: number;
  /** Not delivered: the socket's buffer was full. */
  fullsock: number;
  /** Datagrams sent. */
  opackets: number;
}

/** Raw IP counters (ours). */
export interface RawStat {
  /** Packets delivered to raw sockets (one per socket). */
  delivered: number;
  /** Not delivered: the socket's buffer was full. */
  fullsock: number;
  /** Sent from raw sockets. */
  opackets: number;
}

function zeroed<T>(keys: readonly (keyof T)[]): T {
  const o: Record<string, number> = {};
  for (const k of keys) o[k as string] = 0;
  return o as T;
}

export const IPSTAT_KEYS: readonly (keyof IpStat)[] = [
  'total', 'badsum', 'tooshort', 'toosmall', 'badhlen', 'badlen', 'fragments', 'fragdropped', 'fragtimeout', 'forward', 'fastforward',
  'cantforward', 'redirectsent', 'noproto', 'delivered', 'localout', 'odropped', 'reassembled', 'fragmented', 'ofragments', 'cantfrag',
  'badoptions', 'noroute', 'badvers', 'rawout', 'badfrags', 'rcvmemdrop', 'toolong', 'badaddr', 'notmember',
];
export const UDPSTAT_KEYS: readonly (keyof UdpStat)[] = ['ipackets', 'hdrops', 'badsum', 'badlen', 'noport', 'noportbcast', 'nosum', 'fullsock', 'opackets'];

/** Tunables (sysctl net.inet.*). */
export interface InetTunables {
  /** net.inet.ip.forwarding */
  forwarding: number;
  /** net.inet.ip.ttl: default TTL. */
  ttl: number;
  /** net.inet.ip.anonportmin / anonportmax: the ephemeral port range. */
  anonportmin: number;
  anonportmax: number;
  /** net.inet.ip.lowportmin / lowportmax: reserved ports only the superuser binds. */
  lowportmin: number;
  lowportmax: number;
  /** net.inet.ip.maxfragpackets: datagrams being reassembled at once. */
  maxfragpackets: number;
  /** net.inet.ip.maxfrags: fragments held in all. */
  maxfrags: number;
  /** net.inet.ip.maxfragsperpacket */
  maxfragsperpacket: number;
  /** net.inet.ip.fragttl: seconds a datagram may take to reassemble. */
  fragttl: number;
  /** net.inet.icmp.errppslimit: ICMP errors per second (negative: no limit). */
  errppslimit: number;
  /** net.inet.icmp.bmcastecho: answer echo requests to broadcast addresses. */
  bmcastecho: number;
  /** net.inet.icmp.returndatabytes: bytes of the offending payload quoted in errors. */
  returndatabytes: number;
  /** net.inet.udp.sendspace / recvspace */
  udpSendspace: number;
  udpRecvspace: number;
  /** net.inet.udp.checksum: compute checksums on output. */
  udpChecksum: number;
  /** net.inet.raw.sendspace / recvspace */
  rawSendspace: number;
  rawRecvspace: number;
}

export const DEFAULT_TUNABLES: InetTunables = {
  forwarding: 0, ttl: 64, anonportmin: 49152, anonportmax: 65535, lowportmin: 600, lowportmax: 1023,
  maxfragpackets: 200, maxfrags: 2000, maxfragsperpacket: 128, fragttl: 30, errppslimit: 100, bmcastecho: 0, returndatabytes: 8,
  udpSendspace: 9216, udpRecvspace: 40 * (1024 + 16), udpChecksum: 1, rawSendspace: 8192, rawRecvspace: 8192,
};

/** What ip_input passes up, beyond the contract: the protocol and the IP header (for ICMP errors). */
export interface InInputInfo extends IpInputInfo {
  proto: number;
  /** A copy of the IP header as received (options included). */
  hdr: Uint8Array;
}

export class Inet implements IpTransportEnv {
  readonly routes = new RouteTable();
  /** Every AF_INET interface address, by address. */
  readonly addrs = new Map<number, InIfaddr>();
  readonly transports = new Map<number, TransportProtocol>();
  readonly ipstat: IpStat = zeroed<IpStat>(IPSTAT_KEYS);
  readonly icmpstat: IcmpStat = {
    error: 0, oldshort: 0, oldicmp: 0, ratelimit: 0, noerrbcast: 0, outhist: new Array<number>(ICMP_MAXTYPE + 1).fill(0), badcode: 0,
    tooshort: 0, checksum: 0, badlen: 0, reflect: 0, inhist: new Array<number>(ICMP_MAXTYPE + 1).fill(0), pmtuchg: 0, bmcastecho: 0,
  };
  readonly udpstat: UdpStat = zeroed<UdpStat>(UDPSTAT_KEYS);
  readonly rawstat: RawStat = { delivered: 0, fullsock: 0, opackets: 0 };
  readonly tun: InetTunables = { ...DEFAULT_TUNABLES };
  readonly arp: Arp;
  readonly reass: IpReassembly;
  readonly icmpLimit: IcmpRateLimit;
  /** Raw IP sockets (set by the netinet component). */
  raw: RawIp | null = null;
  private ipId: number;

  constructor(readonly kernel: Kernel, readonly ifs: Interfaces) {
    const r = new Uint8Array(2);
    kernel.host.getrandom(r);
    this.ipId = (r[0]! << 8) | r[1]!;
    this.arp = new Arp(this);
    this.reass = new IpReassembly(this);
    this.icmpLimit = new IcmpRateLimit(this);
  }

  /** The next IP identification (ip_newid). */
  newId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  // ---- IpTransportEnv ----------------------------------------------------------------------

  output(m: Mbuf, src: number, dst: number, proto: number, opts?: IpOutputOptions): KernelError | null {
    return ipOutput(this, m, src, dst, proto, opts ?? {});
  }

  selectSource(dst: number): number | null {
    if (dst === 0xffffffff || dst === 0) {
      for (const ia of this.addrs.values()) if ((ia.ifp.flags & IFF_BROADCAST) !== 0 && ia.ifp.up) return ia.addr;
    }
    const rt = this.routes.lookup(dst);
    if (rt === null) return null;
    if (rt.ifa !== null) return rt.ifa.addr;
    const first = inAddrs(rt.ifp)[0];
    return first?.addr ?? null;
  }

  routeMtu(dst: number): number | null {
    const rt = this.routes.lookup(dst);
    if (rt === null) return null;
    return rt.mtu !== 0 ? Math.min(rt.mtu, rt.ifp.mtu) : rt.ifp.mtu;
  }

  isLocalAddress(addr: number): boolean {
    return addr !== 0 && this.addrs.has(addr >>> 0);
  }

  isBroadcast(addr: number): boolean {
    if (addr === 0xffffffff) return true;
    for (const ia of this.addrs.values()) if (ia.broadcast === addr && ia.broadcast !== 0) return true;
    return false;
  }

  icmpError(type: number, code: number, info: IpInputInfo, offending: Mbuf, mtu = 0): void {
    icmpError(this, type, code, info, offending, mtu);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** in_broadcast: is `a` a broadcast address on `ifp`? */
  inBroadcast(a: number, ifp: Ifnet): boolean {
    if (a === 0xffffffff || a === 0) return true;
    if ((ifp.flags & IFF_BROADCAST) === 0) return false;
    for (const ia of inAddrs(ifp)) {
      if (a === ia.broadcast) return true;
      // the all-zeros host part (old-style broadcast) of a subnet, except a /31 or /32
      if (ia.prefixLen < 31 && a === ia.net) return true;
    }
    return false;
  }

  /** ifa_ifwithnet: the address whose subnet (or point-to-point peer) holds `a`, or null. */
  ifaOnNet(a: number): InIfaddr | null {
    let best: InIfaddr | null = null;
    for (const ia of this.addrs.values()) {
      if ((ia.ifp.flags & IFF_POINTOPOINT) !== 0 && ia.dstaddr === a) return ia;
      if (ia.contains(a) && ia.prefixLen < 32 && (best === null || ia.prefixLen > best.prefixLen)) best = ia;
    }
    return best;
  }

  // ---- the route API (route(8) by call) -------------------------------------------------------

  routeAdd(req: RouteReq): RouteInfo { return inRouteAdd(this, req); }
  routeDelete(req: RouteReq): RouteInfo { return inRouteDelete(this, req); }
  routeGet(dst: string): RouteInfo { return inRouteGet(this, dst); }
}
