/**
 * The IPv4 stack between kernels: two (and three) kernels in one process joined by in-process
 * Ethernet segments (if_pair.ts), sharing one manual-clock memory host so timers (ARP, reassembly)
 * run only when the test advances time. Covers ARP, ICMP echo through a raw socket, UDP both
 * ways, connected UDP and port unreachable, broadcast, fragmentation and reassembly (and its
 * timeout), forwarding through a router kernel, TTL expiry, routes, interface ioctls, loopback,
 * and the drop counters for malformed input.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import {
  AF_INET, AF_LINK, AF_LOCAL, MSG_DONTWAIT, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT, type Sockaddr,
} from '../src/kern/types.js';
import { memoryHost, type MemoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { net, local } from '../src/net/index.js';
import {
  netinet, inetOf, inConfigure, IPPROTO_ICMP, IPPROTO_IP, IP_TTL, IP_HDRINCL, SIOCADDRT, SIOCGETRT, type Inet,
} from '../src/net/inet/index.js';
import { etherIfattach } from '../src/net/if_ether.js';
import { EtherBus, faultInjector, type EtherMiddleware } from '../src/net/if_pair.js';
import {
  SIOCAIFADDR, SIOCDIFADDR, SIOCGIFADDR, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFNETMASK, SIOCIFCREATE, SIOCIFDESTROY,
  SIOCSIFFLAGS, SIOCSIFMTU, SIOCGIFDATA, SIOCIFGCLONERS, type IfConfEntry,
} from '../src/net/if_ioctl.js';
import { IFF_UP, type Ifnet } from '../src/net/if.js';
import {
  EthernetRepr, ETHERTYPE_IPV4, Icmpv4Packet, Icmpv4Repr, Ipv4Packet, Ipv4Repr, UdpRepr, parseIpv4, ICMP_ECHOREPLY, ICMP_TIMXCEED,
  ICMP_TIMXCEED_INTRANS, ICMP_TIMXCEED_REASS, IPPROTO_UDP, internetChecksum, type MacAddr,
} from '../src/net/wire/index.js';

const A = '10.0.0.1', B = '10.0.0.2';

interface Node {
  k: Kernel;
  l: Lwp;
  inet: Inet;
  ifp: Ifnet;
}

async function boot(host: MemoryHost, hostname: string): Promise<{ k: Kernel; l: Lwp; inet: Inet }> {
  const k = await Kernel.boot({ host, components: [net, netinet], hostname });
  return { k, l: k.initLwp, inet: inetOf(k) };
}

async function attach(host: MemoryHost, bus: EtherBus, name: string, cidr: string): Promise<Node> {
  const n = await boot(host, name);
  const ifp = etherIfattach(n.k, bus.port());
  inConfigure(n.inet, ifp.name, cidr);
  return { ...n, ifp };
}

/** Two kernels on one segment: a = 10.0.0.1/24, b = 10.0.0.2/24. */
async function pair(middleware: EtherMiddleware[] = []): Promise<{ host: MemoryHost; bus: EtherBus; a: Node; b: Node; done: () => Promise<void> }> {
  const host = memoryHost({ manualClock: true, seed: 7 });
  const bus = new EtherBus({ middleware });
  const a = await attach(host, bus, 'a', `${A}/24`);
  const b = await attach(host, bus, 'b', `${B}/24`);
  await host.settle();
  return { host, bus, a, b, done: async () => { await a.k.halt(); await b.k.halt(); } };
}

const sin = (addr: string, port = 0): Sockaddr => ({ family: AF_INET, addr, port });

async function udpSocket(n: { k: Kernel; l: Lwp }, bindTo?: Sockaddr): Promise<number> {
  const fd = await n.k.sys.socket(n.l, AF_INET, SOCK_DGRAM, 0);
  if (bindTo !== undefined) await n.k.sys.bind(n.l, fd, bindTo);
  return fd;
}

async function recvNow(n: { k: Kernel; l: Lwp }, fd: number, size = 65536): Promise<{ data: Uint8Array; addr: Sockaddr | null }> {
  const buf = new Uint8Array(size);
  const r = await n.k.sys.recvfrom(n.l, fd, buf, MSG_DONTWAIT);
  return { data: buf.subarray(0, r.n), addr: r.addr };
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, String(e));
    return true;
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function echoRequest(ident: number, seq: number, data: Uint8Array): Uint8Array {
  const r = { kind: 'echoRequest' as const, ident, seq, data };
  const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
  Icmpv4Repr.emit(r, b);
  return b;
}

/** Parse what a raw ICMP socket received: the IP header and the ICMP message. */
function parseRaw(pkt: Uint8Array): { ip: Ipv4Repr; icmp: ReturnType<typeof Icmpv4Repr.parse> } {
  const p = Ipv4Packet.check(pkt);
  assert.ok(!(p instanceof Error), 'raw socket data starts with an IPv4 header');
  const ip = Ipv4Repr.parse(p as Ipv4Packet);
  assert.ok(!(ip instanceof Error));
  const ic = Icmpv4Packet.check((p as Ipv4Packet).payload);
  assert.ok(!(ic instanceof Error));
  return { ip: ip as Ipv4Repr, icmp: Icmpv4Repr.parse(ic as Icmpv4Packet) };
}

describe('two kernels on one Ethernet segment', () => {
  it('resolves with ARP and sends the packet that waited for the answer', async () => {
    const { host, a, b, done } = await pair();
    try {
      const rfd = await udpSocket(b, sin('0.0.0.0', 5000));
      const sfd = await udpSocket(a);
      assert.equal(await a.k.sys.sendto(a.l, sfd, enc('first'), 0, sin(B, 5000)), 5);
      await host.settle();
      const r = await recvNow(b, rfd);
      assert.equal(dec(r.data), 'first');
      assert.equal(r.addr?.addr, A);
      const sa = a.inet.arp.stat, sb = b.inet.arp.stat;
      assert.equal(sa.dfrtotal, 1, 'one packet waited for resolution');
      assert.equal(sa.dfrsent, 1, 'and was sent after it');
      assert.equal(sa.sndrequest, 1);
      assert.equal(sb.sndreply, 1);
      assert.ok(sa.sndannounce >= 1 && sb.sndannounce >= 1, 'addresses were announced');
      const entryA = a.inet.arp.list().find((e) => e.ip === B);
      assert.equal(entryA?.state, 'reachable');
      assert.equal(entryA?.mac, '02:00:00:00:00:02');
      // b learnt a from the request that targeted it: its answer goes without a request
      const back = await udpSocket(b);
      await b.k.sys.sendto(b.l, back, enc('back'), 0, sin(A, 5001));
      assert.equal(sb.sndrequest, 0, 'b needed no request of its own');
    } finally {
      await done();
    }
  });

  it('answers an ICMP echo request sent through a raw socket (ping)', async () => {
    const { host, a, b, done } = await pair();
    try {
      const fd = await a.k.sys.socket(a.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      const payload = enc('ping payload 0123456789');
      await a.k.sys.sendto(a.l, fd, echoRequest(0x1234, 1, payload), 0, sin(B));
      await host.settle();
      const r = await recvNow(a, fd);
      assert.equal(r.addr?.addr, B);
      const { ip, icmp } = parseRaw(r.data);
      assert.equal(ip.src, parseIpv4(B));
      assert.equal(ip.dst, parseIpv4(A));
      assert.equal(ip.protocol, IPPROTO_ICMP);
      assert.ok(!(icmp instanceof Error) && icmp.kind === 'echoReply', 'an echo reply with a valid checksum');
      if (icmp.kind === 'echoReply') {
        assert.equal(icmp.ident, 0x1234);
        assert.equal(icmp.seq, 1);
        assert.equal(dec(icmp.data), 'ping payload 0123456789');
      }
      assert.equal(b.inet.icmpstat.reflect, 1);
      assert.equal(b.inet.icmpstat.outhist[ICMP_ECHOREPLY], 1);
      // only the superuser opens raw sockets
      const user = a.k.newProc({ uid: 100, gid: 100 });
      await rejects(a.k.sys.socket(user, AF_INET, SOCK_RAW, IPPROTO_ICMP), 'EPERM');
    } finally {
      await done();
    }
  });

  it('carries UDP datagrams both ways with the right sender addresses', async () => {
    const { host, a, b, done } = await pair();
    try {
      const fa = await udpSocket(a, sin(A, 4000));
      const fb = await udpSocket(b, sin('0.0.0.0', 4001));
      await a.k.sys.sendto(a.l, fa, enc('hello b'), 0, sin(B, 4001));
      await host.settle();
      const rb = await recvNow(b, fb);
      assert.equal(dec(rb.data), 'hello b');
      assert.deepEqual(rb.addr, sin(A, 4000));
      await b.k.sys.sendto(b.l, fb, enc('hello a'), 0, rb.addr);
      await host.settle();
      const ra = await recvNow(a, fa);
      assert.equal(dec(ra.data), 'hello a');
      assert.deepEqual(ra.addr, sin(B, 4001));
      assert.deepEqual(await a.k.sys.getsockname(a.l, fa), sin(A, 4000));
      // an unbound sender gets an ephemeral port
      const fe = await udpSocket(a);
      await a.k.sys.sendto(a.l, fe, enc('x'), 0, sin(B, 4001));
      const name = await a.k.sys.getsockname(a.l, fe);
      assert.ok(name.port! >= 49152 && name.port! <= 65535, `ephemeral port ${name.port}`);
      await host.settle();
      assert.equal(a.inet.udpstat.opackets, 2);
      assert.equal(b.inet.udpstat.ipackets, 2);
    } finally {
      await done();
    }
  });

  it('fails the next call of a connected UDP socket with ECONNREFUSED after a port unreachable', async () => {
    const { host, a, b, done } = await pair();
    try {
      const fd = await udpSocket(a);
      await a.k.sys.connect(a.l, fd, sin(B, 9999));
      assert.deepEqual(await a.k.sys.getpeername(a.l, fd), sin(B, 9999));
      await a.k.sys.write(a.l, fd, enc('anyone?'));
      await host.settle();
      assert.equal(b.inet.udpstat.noport, 1);
      await rejects(a.k.sys.recvfrom(a.l, fd, new Uint8Array(10), MSG_DONTWAIT), 'ECONNREFUSED');
      // reported once
      await rejects(a.k.sys.recvfrom(a.l, fd, new Uint8Array(10), MSG_DONTWAIT), 'EAGAIN');
      await a.k.sys.write(a.l, fd, enc('again'));
      await host.settle();
      await rejects(a.k.sys.write(a.l, fd, enc('third')), 'ECONNREFUSED');
      // an unconnected socket hears nothing of it
      const u = await udpSocket(a);
      await a.k.sys.sendto(a.l, u, enc('quiet'), 0, sin(B, 9998));
      await host.settle();
      await rejects(a.k.sys.recvfrom(a.l, u, new Uint8Array(10), MSG_DONTWAIT), 'EAGAIN');
      assert.equal(b.inet.icmpstat.outhist[3], 3, 'three port unreachables sent');
    } finally {
      await done();
    }
  });

  it('delivers broadcasts to sockets bound to the port, only with SO_BROADCAST', async () => {
    const { host, a, b, done } = await pair();
    try {
      const rb = await udpSocket(b, sin('0.0.0.0', 6000));
      const ra = await udpSocket(a, sin('0.0.0.0', 6000));
      const s = await udpSocket(a);
      await rejects(a.k.sys.sendto(a.l, s, enc('no'), 0, sin('10.0.0.255', 6000)), 'EACCES');
      await a.k.sys.setsockopt(a.l, s, SOL_SOCKET, SO_BROADCAST, 1);
      await a.k.sys.sendto(a.l, s, enc('subnet'), 0, sin('10.0.0.255', 6000));
      await a.k.sys.sendto(a.l, s, enc('limited'), 0, sin('255.255.255.255', 6000));
      await host.settle();
      assert.equal(dec((await recvNow(b, rb)).data), 'subnet');
      assert.equal(dec((await recvNow(b, rb)).data), 'limited');
      // the sender's own host hears its broadcasts too (BSD's simplex loopback)
      assert.equal(dec((await recvNow(a, ra)).data), 'subnet');
      assert.equal(dec((await recvNow(a, ra)).data), 'limited');
      // nobody on the port: counted, no ICMP error
      await a.k.sys.sendto(a.l, s, enc('void'), 0, sin('10.0.0.255', 6001));
      await host.settle();
      assert.equal(b.inet.udpstat.noportbcast, 1);
      assert.equal(b.inet.icmpstat.outhist[3], 0);
    } finally {
      await done();
    }
  });

  it('fragments a 5000-byte datagram over MTU 1500 and reassembles it', async () => {
    const { host, a, b, done } = await pair();
    try {
      const rb = await udpSocket(b, sin(B, 7000));
      const s = await udpSocket(a);
      const data = new Uint8Array(5000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
      assert.equal(await a.k.sys.sendto(a.l, s, data, 0, sin(B, 7000)), 5000);
      await host.settle();
      const r = await recvNow(b, rb);
      assert.equal(r.data.length, 5000);
      assert.ok(Buffer.from(r.data).equals(Buffer.from(data)), 'the datagram arrives intact');
      assert.equal(a.inet.ipstat.fragmented, 1);
      assert.equal(a.inet.ipstat.ofragments, 4, '5008 bytes of UDP in 1480-byte pieces');
      assert.equal(b.inet.ipstat.fragments, 4);
      assert.equal(b.inet.ipstat.reassembled, 1);
      assert.equal(b.inet.reass.count, 0, 'nothing left in reassembly');
    } finally {
      await done();
    }
  });

  it('reassembles despite duplicated and reordered fragments', async () => {
    const host0 = memoryHost({ manualClock: true, seed: 7 });
    const faults = faultInjector({ duplicate: 1, reorder: 0.5, seed: 3, schedule: (fn) => host0.schedule(fn) });
    const bus = new EtherBus({ middleware: [faults] });
    const a = await attach(host0, bus, 'a', `${A}/24`);
    const b = await attach(host0, bus, 'b', `${B}/24`);
    try {
      const rb = await udpSocket(b, sin(B, 7000));
      const s = await udpSocket(a);
      const data = new Uint8Array(6000).fill(0x5a);
      await a.k.sys.sendto(a.l, s, data, 0, sin(B, 7000));
      await host0.settle();
      const r = await recvNow(b, rb);
      assert.equal(r.data.length, 6000);
      assert.ok(faults.stats.duplicated > 0 && faults.stats.reordered > 0, JSON.stringify(faults.stats));
      assert.ok(b.inet.ipstat.fragdropped >= 1, 'duplicate fragments were dropped');
      assert.equal(b.inet.ipstat.reassembled, 1);
    } finally {
      await a.k.halt();
      await b.k.halt();
    }
  });

  it('drops an incomplete datagram after the reassembly timeout and says so with ICMP', async () => {
    const { host, a, b, done } = await pair();
    try {
      const icmp = await a.k.sys.socket(a.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      const raw = await a.k.sys.socket(a.l, AF_INET, SOCK_RAW, IPPROTO_UDP);
      await a.k.sys.setsockopt(a.l, raw, IPPROTO_IP, IP_HDRINCL, 1);
      // the first fragment of a datagram whose rest never comes
      const udp = new Uint8Array(16);
      UdpRepr.emit({ srcPort: 1, dstPort: 2, payloadLen: 8 }, udp);
      const ipr: Ipv4Repr = {
        src: parseIpv4(A)!, dst: parseIpv4(B)!, protocol: IPPROTO_UDP, payloadLen: 16, ttl: 64, tos: 0, ident: 0x4242,
        dontFrag: false, moreFrags: true, fragOffset: 0, options: null,
      };
      const pkt = new Uint8Array(36);
      Ipv4Repr.emit(ipr, pkt);
      pkt.set(udp, 20);
      await a.k.sys.sendto(a.l, raw, pkt, 0, sin(B));
      await host.settle();
      assert.equal(b.inet.ipstat.fragments, 1);
      assert.equal(b.inet.reass.count, 1);
      await host.advance(29_000);
      assert.equal(b.inet.ipstat.fragtimeout, 0, 'still waiting before net.inet.ip.fragttl');
      await host.advance(2_000);
      assert.equal(b.inet.ipstat.fragtimeout, 1);
      assert.equal(b.inet.reass.count, 0);
      const r = await recvNow(a, icmp);
      const { icmp: m } = parseRaw(r.data);
      assert.ok(!(m instanceof Error) && m.kind === 'timeExceeded' && m.code === ICMP_TIMXCEED_REASS);
    } finally {
      await done();
    }
  });

  it('fails with ENETUNREACH without a route and EHOSTDOWN when the neighbour never answers ARP', async () => {
    const { host, a, done } = await pair();
    try {
      const s = await udpSocket(a);
      await rejects(a.k.sys.sendto(a.l, s, enc('x'), 0, sin('192.168.7.7', 53)), 'ENETUNREACH');
      assert.equal(a.inet.ipstat.noroute, 1);
      // 10.0.0.99 is on the segment but nobody has it
      await a.k.sys.sendto(a.l, s, enc('waits'), 0, sin('10.0.0.99', 53));
      await host.settle();
      await host.advance(10_000);
      const st = a.inet.arp.stat;
      assert.equal(st.sndrequest, 5, 'net.inet.arp.maxtries requests');
      assert.equal(st.timeouts, 1);
      assert.equal(st.dfrdropped, 1);
      await rejects(a.k.sys.sendto(a.l, s, enc('x'), 0, sin('10.0.0.99', 53)), 'EHOSTDOWN');
      // after net.inet.arp.down seconds it may try again
      await host.advance(20_000);
      assert.equal(await a.k.sys.sendto(a.l, s, enc('x'), 0, sin('10.0.0.99', 53)), 1);
    } finally {
      await done();
    }
  });

  it('counts malformed input under its reason and stays up', async () => {
    const { host, bus, a, b, done } = await pair();
    try {
      const macB: MacAddr = b.ifp.lladdr!;
      const frame = (ip: Uint8Array): Uint8Array => {
        const h = new Uint8Array(14 + ip.length);
        EthernetRepr.emit({ dst: macB, src: 0x02_00_00_00_00_09, ethertype: ETHERTYPE_IPV4, vlan: null }, h);
        h.set(ip, 14);
        return h;
      };
      const udpPacket = (dport: number, corruptUdp: boolean): Uint8Array => {
        const ipr: Ipv4Repr = {
          src: parseIpv4('10.0.0.9')!, dst: parseIpv4(B)!, protocol: IPPROTO_UDP, payloadLen: 12, ttl: 64, tos: 0, ident: 1,
          dontFrag: false, moreFrags: false, fragOffset: 0, options: null,
        };
        const p = new Uint8Array(32);
        Ipv4Repr.emit(ipr, p);
        p.set(enc('data'), 28);
        UdpRepr.emit({ srcPort: 1234, dstPort: dport, payloadLen: 4 }, p.subarray(20), { src: ipr.src, dst: ipr.dst });
        if (corruptUdp) p[30] = p[30]! ^ 0xff;
        return p;
      };
      await udpSocket(b, sin(B, 53));
      const good = udpPacket(53, false);
      const badIpSum = good.slice(); badIpSum[10] = badIpSum[10]! ^ 0xff;
      const short = good.slice(0, 12);
      const longTotal = good.slice(); longTotal[3] = 200; longTotal[10] = 0; longTotal[11] = 0;
      longTotal.set([internetChecksum(longTotal, 0, 20) >> 8, internetChecksum(longTotal, 0, 20) & 0xff], 10);
      const v6 = good.slice(); v6[0] = 0x65;
      bus.inject(frame(badIpSum));
      bus.inject(frame(short));
      bus.inject(frame(longTotal));
      bus.inject(frame(v6));
      bus.inject(frame(udpPacket(53, true)));
      bus.inject(frame(udpPacket(54, false)));
      bus.inject(new Uint8Array(8)); // not even an Ethernet header
      await host.settle();
      const ip = b.inet.ipstat, udp = b.inet.udpstat;
      assert.equal(ip.badsum, 1, 'IP header checksum');
      assert.equal(ip.toosmall, 1, 'shorter than a header');
      assert.equal(ip.tooshort, 1, 'total length past the packet');
      assert.equal(ip.badvers, 1);
      assert.equal(udp.badsum, 1, 'UDP checksum');
      assert.equal(udp.noport, 1, 'no socket on the port');
      assert.equal(b.ifp.stats.ierrors, 1, 'a runt frame');
      // still up: a normal exchange works
      const fa = await udpSocket(a);
      const fb = await udpSocket(b, sin(B, 4444));
      await a.k.sys.sendto(a.l, fa, enc('alive'), 0, sin(B, 4444));
      await host.settle();
      assert.equal(dec((await recvNow(b, fb)).data), 'alive');
    } finally {
      await done();
    }
  });

  it('rate limits ICMP errors by net.inet.icmp.errppslimit', async () => {
    const { host, a, b, done } = await pair();
    try {
      b.k.sysctl.set('net.inet.icmp.errppslimit', 3, null);
      const s = await udpSocket(a);
      for (let i = 0; i < 10; i++) await a.k.sys.sendto(a.l, s, enc('x'), 0, sin(B, 20000 + i));
      await host.settle();
      assert.equal(b.inet.udpstat.noport, 10);
      assert.equal(b.inet.icmpstat.outhist[3], 3, 'a burst of three');
      assert.equal(b.inet.icmpstat.ratelimit, 7);
      await host.advance(1000);
      for (let i = 0; i < 2; i++) await a.k.sys.sendto(a.l, s, enc('x'), 0, sin(B, 21000 + i));
      await host.settle();
      assert.equal(b.inet.icmpstat.outhist[3], 5, 'the bucket refilled after a second');
    } finally {
      await done();
    }
  });

  it('binds ports with BSD semantics: EADDRINUSE, SO_REUSEADDR, SO_REUSEPORT, reserved ports', async () => {
    const { a, done } = await pair();
    try {
      const s1 = await udpSocket(a, sin('0.0.0.0', 3000));
      await rejects(udpSocket(a, sin('0.0.0.0', 3000)), 'EADDRINUSE');
      await rejects(udpSocket(a, sin(A, 3000)), 'EADDRINUSE');
      const s2 = await a.k.sys.socket(a.l, AF_INET, SOCK_DGRAM, 0);
      await a.k.sys.setsockopt(a.l, s2, SOL_SOCKET, SO_REUSEADDR, 1);
      await a.k.sys.bind(a.l, s2, sin(A, 3000));
      await rejects(a.k.sys.bind(a.l, s2, sin(A, 3001)), 'EINVAL');
      const p1 = await a.k.sys.socket(a.l, AF_INET, SOCK_DGRAM, 0);
      const p2 = await a.k.sys.socket(a.l, AF_INET, SOCK_DGRAM, 0);
      await a.k.sys.setsockopt(a.l, p1, SOL_SOCKET, SO_REUSEPORT, 1);
      await a.k.sys.setsockopt(a.l, p2, SOL_SOCKET, SO_REUSEPORT, 1);
      await a.k.sys.bind(a.l, p1, sin(A, 3100));
      await a.k.sys.bind(a.l, p2, sin(A, 3100));
      await rejects(udpSocket(a, sin('10.9.9.9', 3200)), 'EADDRNOTAVAIL');
      const user = a.k.newProc({ uid: 100, gid: 100 });
      const us = await a.k.sys.socket(user, AF_INET, SOCK_DGRAM, 0);
      await rejects(a.k.sys.bind(user, us, sin('0.0.0.0', 80)), 'EACCES');
      await a.k.sys.bind(user, us, sin('0.0.0.0', 8080));
      void s1;
    } finally {
      await done();
    }
  });
});

describe('a router kernel between two segments', () => {
  async function three(): Promise<{ host: MemoryHost; a: Node; r: Node & { ifp2: Ifnet }; b: Node; done: () => Promise<void> }> {
    const host = memoryHost({ manualClock: true, seed: 9 });
    const left = new EtherBus({ macBase: 0x02_00_00_00_01_00 });
    const right = new EtherBus({ macBase: 0x02_00_00_00_02_00 });
    const a = await attach(host, left, 'a', '10.0.0.1/24');
    const r0 = await attach(host, left, 'r', '10.0.0.254/24');
    const ifp2 = etherIfattach(r0.k, right.port());
    inConfigure(r0.inet, ifp2.name, '10.0.1.254/24');
    const b = await attach(host, right, 'b', '10.0.1.1/24');
    a.inet.routeAdd({ dst: 'default', gateway: '10.0.0.254' });
    b.inet.routeAdd({ dst: 'default', gateway: '10.0.1.254' });
    r0.k.sysctl.set('net.inet.ip.forwarding', 1, null);
    await host.settle();
    return { host, a, r: { ...r0, ifp2 }, b, done: async () => { await a.k.halt(); await r0.k.halt(); await b.k.halt(); } };
  }

  it('forwards UDP and ICMP between the segments with net.inet.ip.forwarding=1', async () => {
    const { host, a, r, b, done } = await three();
    try {
      const fb = await udpSocket(b, sin('0.0.0.0', 9000));
      const fa = await udpSocket(a);
      await a.k.sys.sendto(a.l, fa, enc('across'), 0, sin('10.0.1.1', 9000));
      await host.settle();
      const got = await recvNow(b, fb);
      assert.equal(dec(got.data), 'across');
      assert.equal(got.addr?.addr, '10.0.0.1');
      await b.k.sys.sendto(b.l, fb, enc('and back'), 0, got.addr);
      await host.settle();
      assert.equal(dec((await recvNow(a, fa)).data), 'and back');
      assert.equal(r.inet.ipstat.forward, 2);
      const ping = await a.k.sys.socket(a.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      await a.k.sys.sendto(a.l, ping, echoRequest(7, 1, enc('hop')), 0, sin('10.0.1.1'));
      await host.settle();
      const { ip, icmp } = parseRaw((await recvNow(a, ping)).data);
      assert.ok(!(icmp instanceof Error) && icmp.kind === 'echoReply');
      assert.equal(ip.ttl, 63, 'the reply crossed one router');
      // forwarding off: dropped and counted
      r.k.sysctl.set('net.inet.ip.forwarding', 0, null);
      await a.k.sys.sendto(a.l, fa, enc('lost'), 0, sin('10.0.1.1', 9000));
      await host.settle();
      assert.equal(r.inet.ipstat.cantforward, 1);
      await rejects(recvNow(b, fb), 'EAGAIN');
    } finally {
      await done();
    }
  });

  it('answers an expired TTL with ICMP time exceeded from the router', async () => {
    const { host, a, r, done } = await three();
    try {
      const ping = await a.k.sys.socket(a.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      const fa = await udpSocket(a);
      await a.k.sys.setsockopt(a.l, fa, IPPROTO_IP, IP_TTL, 1);
      assert.equal(await a.k.sys.getsockopt(a.l, fa, IPPROTO_IP, IP_TTL), 1);
      await a.k.sys.sendto(a.l, fa, enc('short lived'), 0, sin('10.0.1.1', 9000));
      await host.settle();
      const { ip, icmp } = parseRaw((await recvNow(a, ping)).data);
      assert.equal(ip.src, parseIpv4('10.0.0.254'), 'from the router\'s address on our segment');
      assert.ok(!(icmp instanceof Error) && icmp.kind === 'timeExceeded' && icmp.code === ICMP_TIMXCEED_INTRANS);
      if (!(icmp instanceof Error) && icmp.kind === 'timeExceeded') assert.equal(icmp.header.dst, parseIpv4('10.0.1.1'), 'quoting our datagram');
      assert.equal(r.inet.icmpstat.outhist[ICMP_TIMXCEED], 1);
    } finally {
      await done();
    }
  });
});

describe('one kernel', () => {
  it('talks to itself over lo0 (127.0.0.1) and to its own interface address', async () => {
    const host = memoryHost({ manualClock: true });
    const n = await boot(host, 'solo');
    try {
      const lo0 = n.inet.ifs.find('lo0')!;
      assert.ok(lo0.up);
      const rfd = await udpSocket(n, sin('127.0.0.1', 1234));
      const sfd = await udpSocket(n);
      await n.k.sys.sendto(n.l, sfd, enc('loop'), 0, sin('127.0.0.1', 1234));
      await host.settle();
      const r = await recvNow(n, rfd);
      assert.equal(dec(r.data), 'loop');
      assert.equal(r.addr?.addr, '127.0.0.1');
      const ping = await n.k.sys.socket(n.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      await n.k.sys.sendto(n.l, ping, echoRequest(1, 1, enc('me')), 0, sin('127.0.0.1'));
      await host.settle();
      // the raw socket sees its own request and the reply
      const kinds = [parseRaw((await recvNow(n, ping)).data).icmp, parseRaw((await recvNow(n, ping)).data).icmp].map((m) => (m instanceof Error ? 'error' : m.kind));
      assert.deepEqual(kinds, ['echoRequest', 'echoReply']);
      assert.ok(lo0.stats.opackets >= 3 && lo0.stats.ipackets === lo0.stats.opackets);
    } finally {
      await n.k.halt();
    }
  });

  it('routes by longest prefix and through the default gateway', async () => {
    const host = memoryHost({ manualClock: true });
    const bus = new EtherBus();
    const n = await attach(host, bus, 'rt', '10.0.0.1/24');
    try {
      const inet = n.inet;
      inet.routeAdd({ dst: 'default', gateway: '10.0.0.254' });
      inet.routeAdd({ dst: '10.1.0.0/16', gateway: '10.0.0.2' });
      inet.routeAdd({ dst: '10.1.2.0', netmask: '255.255.255.0', gateway: '10.0.0.3' });
      inet.routeAdd({ dst: '10.1.2.3', gateway: '10.0.0.4' });
      assert.equal(inet.routeGet('10.1.2.3').gateway, '10.0.0.4');
      assert.equal(inet.routeGet('10.1.2.4').gateway, '10.0.0.3');
      assert.equal(inet.routeGet('10.1.9.9').gateway, '10.0.0.2');
      assert.equal(inet.routeGet('8.8.8.8').gateway, '10.0.0.254');
      const conn = inet.routeGet('10.0.0.77');
      assert.equal(conn.gateway, null, 'the connected network');
      assert.equal(conn.ifname, 'pair0');
      assert.equal(inet.routeGet('10.0.0.1').ifname, 'lo0', 'our own address is local');
      await rejects(Promise.resolve().then(() => inet.routeAdd({ dst: '10.1.0.0/16', gateway: '10.0.0.9' })), 'EEXIST');
      await rejects(Promise.resolve().then(() => inet.routeAdd({ dst: '172.16.0.0/12', gateway: '192.168.1.1' })), 'ENETUNREACH');
      inet.routeDelete({ dst: '10.1.2.0/24' });
      assert.equal(inet.routeGet('10.1.2.4').gateway, '10.0.0.2');
      await rejects(Promise.resolve().then(() => inet.routeDelete({ dst: '10.1.2.0/24' })), 'ESRCH');
      inet.routeDelete({ dst: 'default' });
      await rejects(Promise.resolve().then(() => inet.routeGet('8.8.8.8')), 'ESRCH');
      // the same through ioctls on a socket
      const fd = await udpSocket(n);
      await n.k.sys.ioctl(n.l, fd, SIOCADDRT, { dst: 'default', gateway: '10.0.0.254' });
      assert.equal(((await n.k.sys.ioctl(n.l, fd, SIOCGETRT, { dst: '1.2.3.4' })) as { gateway: string }).gateway, '10.0.0.254');
      const table = n.k.sysctl.get('net.inet.ip.rtable') as { dst: string; prefixLen: number }[];
      assert.ok(table.some((r) => r.dst === '0.0.0.0' && r.prefixLen === 0));
    } finally {
      await n.k.halt();
    }
  });

  it('configures interfaces with ioctls and lists them with SIOCGIFCONF', async () => {
    const host = memoryHost({ manualClock: true });
    const bus = new EtherBus();
    const n = await boot(host, 'cfg');
    try {
      const ifp = etherIfattach(n.k, bus.port());
      const fd = await udpSocket(n);
      const sys = n.k.sys;
      assert.equal(ifp.up, false, 'a new interface is down');
      await sys.ioctl(n.l, fd, SIOCAIFADDR, { name: 'pair0', addr: sin('192.168.5.1'), mask: { family: AF_INET, addr: '255.255.255.0' } });
      assert.ok(ifp.up, 'an address brings it up');
      assert.deepEqual(await sys.ioctl(n.l, fd, SIOCGIFADDR, { name: 'pair0' }), { name: 'pair0', addr: sin('192.168.5.1') });
      assert.deepEqual(await sys.ioctl(n.l, fd, SIOCGIFNETMASK, { name: 'pair0' }), { name: 'pair0', addr: sin('255.255.255.0') });
      await sys.ioctl(n.l, fd, SIOCAIFADDR, { name: 'pair0', addr: sin('192.168.6.1'), mask: { family: AF_INET, addr: '255.255.0.0' } });
      const conf = await sys.ioctl(n.l, fd, SIOCGIFCONF, null) as IfConfEntry[];
      assert.deepEqual(conf, [
        { name: 'lo0', addr: { family: AF_LINK, addr: '' } },
        { name: 'lo0', addr: sin('127.0.0.1') },
        { name: 'pair0', addr: { family: AF_LINK, addr: '02:00:00:00:00:01' } },
        { name: 'pair0', addr: sin('192.168.5.1') },
        { name: 'pair0', addr: sin('192.168.6.1') },
      ]);
      assert.equal(n.inet.routeGet('192.168.200.1').ifname, 'pair0', 'the connected route of the alias');
      await sys.ioctl(n.l, fd, SIOCDIFADDR, { name: 'pair0', addr: sin('192.168.6.1') });
      await rejects(sys.ioctl(n.l, fd, SIOCDIFADDR, { name: 'pair0', addr: sin('192.168.6.1') }), 'EADDRNOTAVAIL');
      await rejects(Promise.resolve().then(() => n.inet.routeGet('192.168.200.1')), 'ESRCH');
      // flags and MTU
      const flags = ((await sys.ioctl(n.l, fd, SIOCGIFFLAGS, { name: 'pair0' })) as { flags: number }).flags;
      assert.equal(flags & IFF_UP, IFF_UP);
      await sys.ioctl(n.l, fd, SIOCSIFFLAGS, { name: 'pair0', flags: flags & ~IFF_UP });
      assert.equal(ifp.up, false);
      const s2 = await udpSocket(n);
      await rejects(sys.sendto(n.l, s2, enc('x'), 0, sin('192.168.5.7', 9)), 'ENETUNREACH');
      await sys.ioctl(n.l, fd, SIOCSIFFLAGS, { name: 'pair0', flags });
      await sys.ioctl(n.l, fd, SIOCSIFMTU, { name: 'pair0', mtu: 1280 });
      assert.deepEqual(await sys.ioctl(n.l, fd, SIOCGIFMTU, { name: 'pair0' }), { name: 'pair0', mtu: 1280 });
      await rejects(sys.ioctl(n.l, fd, SIOCSIFMTU, { name: 'pair0', mtu: 20 }), 'EINVAL');
      const data = await sys.ioctl(n.l, fd, SIOCGIFDATA, { name: 'lo0' }) as { data: { mtu: number } };
      assert.equal(data.data.mtu, 33624);
      // errors: unknown interface, non-root, address ioctls on a non-inet socket
      await rejects(sys.ioctl(n.l, fd, SIOCGIFFLAGS, { name: 'nope0' }), 'ENXIO');
      const user = n.k.newProc({ uid: 100, gid: 100 });
      const ufd = await sys.socket(user, AF_INET, SOCK_DGRAM, 0);
      await rejects(sys.ioctl(user, ufd, SIOCAIFADDR, { name: 'pair0', addr: sin('192.168.7.1') }), 'EPERM');
      // cloning
      assert.deepEqual(await sys.ioctl(n.l, fd, SIOCIFGCLONERS, null), ['lo']);
      await sys.ioctl(n.l, fd, SIOCIFCREATE, { name: 'lo1' });
      await rejects(sys.ioctl(n.l, fd, SIOCIFCREATE, { name: 'lo1' }), 'EEXIST');
      assert.ok(n.inet.ifs.find('lo1') !== undefined);
      await sys.ioctl(n.l, fd, SIOCIFDESTROY, { name: 'lo1' });
      assert.equal(n.inet.ifs.find('lo1'), undefined);
      await rejects(sys.ioctl(n.l, fd, SIOCIFDESTROY, { name: 'lo0' }), 'EPERM');
      await rejects(sys.ioctl(n.l, fd, SIOCIFCREATE, { name: 'bogus0' }), 'EINVAL');
    } finally {
      await n.k.halt();
    }
  });

  it('sends address ioctls on a non-inet socket to EOPNOTSUPP', async () => {
    const host = memoryHost({ manualClock: true });
    const k = await Kernel.boot({ host, components: [vfs, net, local, netinet] });
    try {
      const l = k.initLwp;
      const fd = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
      await rejects(k.sys.ioctl(l, fd, SIOCGIFADDR, { name: 'lo0' }), 'EOPNOTSUPP');
      const flags = (await k.sys.ioctl(l, fd, SIOCGIFFLAGS, { name: 'lo0' })) as { flags: number };
      assert.equal(flags.flags & IFF_UP, IFF_UP, 'generic interface ioctls work on any socket');
    } finally {
      await k.halt();
    }
  });
});

