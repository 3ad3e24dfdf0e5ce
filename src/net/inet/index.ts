/**
 * The `netinet` component (NetBSD's rumpnet_netinet): IPv4 with ARP, ICMP, UDP, raw IP (and TCP,
 * src/net/inet/tcp/, attached through the transport contract), on top of the interface layer and
 * the socket layer of `net`.
 *
 * Boot: creates the IPv4 layer (`Inet`, reachable as inetOf(k)), registers IPv4 and ARP input
 * and ARP resolution with the interface layer, creates lo0 with 127.0.0.1/8 (up), attaches the
 * transports, adds the AF_INET domain and the sysctl nodes:
 *   net.inet.ip.{forwarding,ttl,anonportmin,anonportmax,lowportmin,lowportmax,maxfragpackets,
 *                maxfrags,maxfragsperpacket,fragttl,stats,rtable}
 *   net.inet.icmp.{errppslimit,bmcastecho,returndatabytes,stats}
 *   net.inet.udp.{sendspace,recvspace,checksum,stats}
 *   net.inet.raw.{sendspace,recvspace,stats}
 *   net.inet.arp.{keep,down,maxtries,rexmit,maxhold,stats,table}
 *   net.inet.tcp.pcblist (TCP's own nodes are made by tcp/proto.ts)
 * (`*.stats` are netstat -s style structures, `rtable` and `arp.table` listings.)
 *
 *   const k = await Kernel.boot({ host, components: [net, netinet] });
 *   const ifp = etherIfattach(k, bus.port());             // if_ether.ts / if_pair.ts
 *   inConfigure(inetOf(k), ifp.name, '10.0.0.1/24');        // or ioctl SIOCAIFADDR
 *   inetOf(k).routeAdd({ dst: 'default', gateway: '10.0.0.254' });
 *
 * Transports: UDP and TCP (tcp/index.ts `attach`) are built in; `netinetWith([...attach])`
 * builds the component with more (a protocol number may be served once).
 */

import type { Component } from '../../kern/component.js';
import type { Kernel } from '../../kern/kernel.js';
import type { SysctlValue } from '../../kern/sysctl.js';
import { netOf } from '../domain.js';
import { ifnetOf } from '../if.js';
import { loopAttach } from '../if_loop.js';
import { routeInfo } from '../route.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { inAddAddress, inPurgeIf } from './in.js';
import { InetDomain, inetOf } from './in_proto.js';
import { ipInput } from './ip_input.js';
import { Inet, type InetTunables } from './ip_var.js';
import { RawIp } from './raw.js';
import type { TransportAttach, TransportProtocol } from './transport.js';
import { INADDR_LOOPBACK } from './transport.js';
import { udpAttach } from './udp.js';
// TCP (src/net/inet/tcp/, written against transport.ts) plugs in through its `attach`.
import { attach as tcpAttach } from './tcp/index.js';

/** The transports every netinet has. */
const BUILTIN_TRANSPORTS: readonly TransportAttach[] = [udpAttach, tcpAttach];

function tunable(k: Kernel, inet: Inet, path: string, key: keyof InetTunables, min: number, max: number, desc: string): void {
  k.sysctl.create(path, {
    type: 'int', writable: true, min, max, desc,
    get: () => inet.tun[key], set: (v: SysctlValue) => { inet.tun[key] = v as number; },
  });
}

function initNetinet(k: Kernel, extra: readonly TransportAttach[]): void {
  const net = netOf(k);
  const ifs = ifnetOf(k);
  const inet = new Inet(k, ifs);
  ifs.netisr.set(ETHERTYPE_IPV4, (ifp, m) => ipInput(inet, ifp, m));
  ifs.netisr.set(ETHERTYPE_ARP, (ifp, m) => inet.arp.input(ifp, m));
  ifs.resolvers.set(ETHERTYPE_IPV4, (ifp, dst, m) => inet.arp.resolve(ifp, dst, m));
  ifs.detachHooks.push((ifp) => inPurgeIf(inet, ifp));
  ifs.listeners.push({
    upDown: () => inet.routes.invalidate(),
    linkState: () => inet.routes.invalidate(),
  });

  const lo0 = loopAttach(k);
  inAddAddress(inet, lo0, INADDR_LOOPBACK, 8);

  const protosw = [];
  const transports: TransportProtocol[] = [];
  for (const attach of [...BUILTIN_TRANSPORTS, ...extra]) {
    const t = attach(k, inet);
    if (inet.transports.has(t.proto)) throw new Error(`netinet: two transports for IP protocol ${t.proto}`);
    inet.transports.set(t.proto, t);
    transports.push(t);
    protosw.push(...t.protosw);
  }
  const raw = new RawIp(inet);
  inet.raw = raw;
  protosw.push(...raw.protosw);
  net.addDomain(new InetDomain(inet, protosw));

  const s = k.sysctl;
  tunable(k, inet, 'net.inet.ip.forwarding', 'forwarding', 0, 1, 'Forward packets between interfaces');
  tunable(k, inet, 'net.inet.ip.ttl', 'ttl', 1, 255, 'Default TTL');
  tunable(k, inet, 'net.inet.ip.anonportmin', 'anonportmin', 1024, 65535, 'Lowest ephemeral port');
  tunable(k, inet, 'net.inet.ip.anonportmax', 'anonportmax', 1024, 65535, 'Highest ephemeral port');
  tunable(k, inet, 'net.inet.ip.lowportmin', 'lowportmin', 0, 1023, 'Lowest reserved port');
  tunable(k, inet, 'net.inet.ip.lowportmax', 'lowportmax', 0, 1023, 'Highest reserved port (binding needs the superuser)');
  tunable(k, inet, 'net.inet.ip.maxfragpackets', 'maxfragpackets', 0, 1 << 20, 'Datagrams in reassembly at once');
  tunable(k, inet, 'net.inet.ip.maxfrags', 'maxfrags', 0, 1 << 22, 'Fragments held for reassembly in all');
  tunable(k, inet, 'net.inet.ip.maxfragsperpacket', 'maxfragsperpacket', 1, 8192, 'Fragments per datagram');
  tunable(k, inet, 'net.inet.ip.fragttl', 'fragttl', 1, 3600, 'Seconds a datagram may take to reassemble');
  tunable(k, inet, 'net.inet.icmp.errppslimit', 'errppslimit', -1, 1 << 30, 'ICMP errors per second (-1: no limit)');
  tunable(k, inet, 'net.inet.icmp.bmcastecho', 'bmcastecho', 0, 1, 'Answer echo requests to broadcast and multicast addresses');
  tunable(k, inet, 'net.inet.icmp.returndatabytes', 'returndatabytes', 8, 512, 'Bytes of the offending datagram quoted in errors');
  tunable(k, inet, 'net.inet.udp.sendspace', 'udpSendspace', 1, 1 << 24, 'Default UDP send buffer');
  tunable(k, inet, 'net.inet.udp.recvspace', 'udpRecvspace', 1, 1 << 24, 'Default UDP receive buffer');
  tunable(k, inet, 'net.inet.udp.checksum', 'udpChecksum', 0, 1, 'Compute UDP checksums on output');
  tunable(k, inet, 'net.inet.raw.sendspace', 'rawSendspace', 1, 1 << 24, 'Default raw IP send buffer');
  tunable(k, inet, 'net.inet.raw.recvspace', 'rawRecvspace', 1, 1 << 24, 'Default raw IP receive buffer');
  s.create('net.inet.ip.stats', { type: 'struct', get: () => ({ ...inet.ipstat }), desc: 'IP statistics (netstat -s)' });
  s.create('net.inet.icmp.stats', {
    type: 'struct', desc: 'ICMP statistics (netstat -s)',
    get: () => ({ ...inet.icmpstat, outhist: [...inet.icmpstat.outhist], inhist: [...inet.icmpstat.inhist] }),
  });
  s.create('net.inet.udp.stats', { type: 'struct', get: () => ({ ...inet.udpstat }), desc: 'UDP statistics (netstat -s)' });
  s.create('net.inet.raw.stats', { type: 'struct', get: () => ({ ...inet.rawstat }), desc: 'Raw IP statistics' });
  // netstat -an: every TCP control block with an address (TIME_WAIT ones have no socket left)
  const tcp = inet.transports.get(6) as { connections?: () => { laddr: number; lport: number; faddr: number; fport: number; state: string; sendq: number; recvq: number }[] } | undefined;
  if (tcp?.connections !== undefined) {
    const conns = tcp.connections.bind(tcp);
    s.create('net.inet.tcp.pcblist', {
      type: 'struct', desc: 'TCP connections (netstat -a)',
      get: () => conns().map((c) => ({ ...c, laddr: formatIpv4(c.laddr >>> 0), faddr: formatIpv4(c.faddr >>> 0) })),
    });
  }
  s.create('net.inet.ip.rtable', { type: 'struct', get: () => inet.routes.list().map(routeInfo), desc: 'IPv4 routing table (netstat -r)' });
  const arp = inet.arp;
  const arpTun = (name: keyof typeof arp.tun, min: number, max: number, desc: string): void => {
    s.create(`net.inet.arp.${name}`, {
      type: 'int', writable: true, min, max, desc, get: () => arp.tun[name], set: (v: SysctlValue) => { arp.tun[name] = v as number; },
    });
  };
  arpTun('keep', 1, 1 << 24, 'Seconds a learnt ARP entry lives');
  arpTun('down', 1, 1 << 24, 'Seconds an unresolved address stays down');
  arpTun('maxtries', 1, 100, 'ARP requests before giving up');
  arpTun('rexmit', 10, 60000, 'Milliseconds between ARP requests');
  arpTun('maxhold', 1, 1024, 'Packets held per entry while resolving');
  s.create('net.inet.arp.stats', { type: 'struct', get: () => ({ ...arp.stat }), desc: 'ARP statistics (netstat -s)' });
  s.create('net.inet.arp.table', { type: 'struct', get: () => arp.list(), desc: 'ARP cache (arp -a)' });
}

/** The netinet component with these transports besides the built-in ones. */
export function netinetWith(extra: readonly TransportAttach[]): Component {
  return {
    name: 'netinet',
    aliases: ['rumpnet_netinet', 'inet'],
    type: 'net',
    deps: ['net'],
    init: (k: Kernel) => initNetinet(k, extra),
    fini(k: Kernel) {
      let inet: Inet;
      try {
        inet = inetOf(k);
      } catch {
        return;
      }
      inet.arp.fini();
      inet.reass.fini();
      for (const t of inet.transports.values()) t.fini?.();
      // interfaces go with the stack: drivers let go of their buses and taps
      const ifs = inet.ifs;
      for (const ifp of ifs.list().reverse()) ifs.detach(ifp);
      k.sysctl.destroy('net.inet');
    },
  };
}

export const netinet: Component = netinetWith([]);

export { Inet, DEFAULT_TUNABLES } from './ip_var.js';
export type { IpStat, IcmpStat, UdpStat, RawStat, InetTunables, InInputInfo } from './ip_var.js';
export { InetDomain, inetOf } from './in_proto.js';
export {
  InIfaddr, inAddAddress, inDeleteAddress, inConfigure, inAddrs, inFirstAddr, sinFrom, sinTo, inControl, classfulPrefix,
  SIOCADDRT, SIOCDELRT, SIOCGETRT, SIOCSARP, SIOCDARP, SOCKADDR_IN_LEN,
} from './in.js';
export type { RouteReq, SockaddrIn, ArpReq } from './in.js';
export { InPcb, InPcbTable, inCtloutput, IP_HDRINCL, IP_TOS, IP_TTL, IP_OPTIONS, IP_RECVDSTADDR, IP_MULTICAST_TTL } from './in_pcb.js';
export { Arp } from './arp.js';
export type { ArpStat, ArpInfo, ArpTunables } from './arp.js';
export { Udp, udpAttach, UDP_MAX_PAYLOAD } from './udp.js';
export { RawIp } from './raw.js';
export * from './transport.js';
