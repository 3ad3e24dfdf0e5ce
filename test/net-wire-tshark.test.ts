/**
 * Interoperability: frames built by our emitters, written with our pcap writer, decoded by
 * Wireshark's tshark with checksum validation on. tshark must report no malformed packet and
 * no error-level expert info (bad checksums are errors), and must read back the fields we set.
 *
 * Needs `tshark` on the PATH (Debian package tshark, listed in .ci/apt-packages); without it
 * the tests are skipped with a note saying so.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EthernetRepr, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHER_MIN_LEN, MAC_BROADCAST, parseMac,
  ArpRepr, ARPOP_REPLY, ARPOP_REQUEST,
  WireError, Ipv4Packet, Ipv4Repr, parseIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6,
  Icmpv4Repr, ICMP_UNREACH_PORT,
  UdpRepr, TcpRepr, TH_ACK, TH_PUSH, TH_SYN,
  Ipv6Packet, Ipv6Repr, Ipv6FragmentRepr, parseIpv6, ipv6LinkLocalFromMac, ipv6SolicitedNode, ipv6AllNodes, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT,
  Icmpv6Repr, emptyNdpOptions,
  PcapWriter, type IpAddr, type MacAddr,
} from '../src/net/wire/index.js';

const which = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const TSHARK = which.status === 0;
const SKIP = TSHARK ? false : 'tshark is not installed (apt-get install tshark): frames emitted by src/net/wire are NOT checked against Wireshark';
if (!TSHARK) console.warn(`SKIPPING net-wire-tshark: ${SKIP}`);

const MAC_A = parseMac('02:00:00:00:00:0a')!;
const MAC_B = parseMac('02:00:00:00:00:0b')!;
const A = parseIpv4('10.0.0.1')!;
const B = parseIpv4('10.0.0.2')!;
const A6 = parseIpv6('2001:db8::1')!;
const B6 = parseIpv6('2001:db8::2')!;
const LL_A = ipv6LinkLocalFromMac(MAC_A);
const LL_B = ipv6LinkLocalFromMac(MAC_B);

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function eth(dst: MacAddr, src: MacAddr, ethertype: number, payload: Uint8Array, vid?: number): Uint8Array {
  const r: EthernetRepr = { dst, src, ethertype, vlan: vid === undefined ? null : { pcp: 0, dei: false, vid } };
  const h = new Uint8Array(EthernetRepr.bufferLen(r));
  EthernetRepr.emit(r, h);
  const f = cat(h, payload);
  return f.length >= ETHER_MIN_LEN ? f : cat(f, new Uint8Array(ETHER_MIN_LEN - f.length));
}

let ident = 0x100;
function v4(src: number, dst: number, protocol: number, l4: Uint8Array, over: Partial<Ipv4Repr> = {}): Uint8Array {
  const r: Ipv4Repr = {
    src, dst, protocol, payloadLen: l4.length, ttl: 64, tos: 0, ident: ident++, dontFrag: true, moreFrags: false, fragOffset: 0, options: null, ...over,
  };
  const h = new Uint8Array(Ipv4Repr.bufferLen(r));
  Ipv4Repr.emit(r, h);
  return cat(h, l4);
}

function v6(src: Uint8Array, dst: Uint8Array, nextHeader: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  const r: Ipv6Repr = { src, dst, nextHeader, payloadLen: payload.length, hopLimit, trafficClass: 0, flowLabel: 0x12345 };
  const h = new Uint8Array(40);
  Ipv6Repr.emit(r, h);
  return cat(h, payload);
}

function udp(srcPort: number, dstPort: number, payload: Uint8Array, src: IpAddr, dst: IpAddr): Uint8Array {
  const r: UdpRepr = { srcPort, dstPort, payloadLen: payload.length };
  const b = new Uint8Array(UdpRepr.bufferLen(r));
  b.set(payload, 8);
  UdpRepr.emit(r, b, { src, dst });
  return b;
}

function tcp(r: TcpRepr, payload: Uint8Array, src: IpAddr, dst: IpAddr): Uint8Array {
  const hl = TcpRepr.bufferLen(r);
  const b = new Uint8Array(hl + payload.length);
  b.set(payload, hl);
  TcpRepr.emit(r, b, { src, dst, payloadLen: payload.length });
  return b;
}

function icmp4(r: Icmpv4Repr): Uint8Array {
  const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
  Icmpv4Repr.emit(r, b);
  return b;
}

function icmp6(r: Icmpv6Repr, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const b = new Uint8Array(Icmpv6Repr.bufferLen(r));
  Icmpv6Repr.emit(r, b, src, dst);
  return b;
}

function arp(r: ArpRepr): Uint8Array {
  const b = new Uint8Array(ArpRepr.bufferLen(r));
  ArpRepr.emit(r, b);
  return b;
}

function unwrap<T>(x: T | WireError): T {
  if (x instanceof WireError) throw x;
  return x;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const noOpts = { mss: null, windowScale: null, sackPermitted: false, sackBlocks: null, timestamp: null, unknownOptions: null };

// ---- the frames, each with the tshark fields it must decode to ------------------------------

interface Case { name: string; frame: Uint8Array; expect: Record<string, string> }
const cases: Case[] = [];

{
  const syn: TcpRepr = { ...noOpts, srcPort: 40000, dstPort: 80, seq: 0xfffffff0, ack: 0, flags: TH_SYN, window: 64240, urgent: 0,
    mss: 1460, sackPermitted: true, timestamp: { tsval: 12345, tsecr: 0 }, windowScale: 7 };
  cases.push({ name: 'TCP SYN with options', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_TCP, tcp(syn, new Uint8Array(0), A, B))),
    expect: { 'tcp.flags': '0x0002', 'tcp.seq': '4294967280', 'tcp.options.mss_val': '1460', 'tcp.options.wscale.shift': '7',
      'tcp.options.timestamp.tsval': '12345', 'tcp.window_size_value': '64240', 'tcp.checksum.status': '1', 'ip.checksum.status': '1', 'ip.flags.df': '1' } });
  const synack: TcpRepr = { ...noOpts, srcPort: 80, dstPort: 40000, seq: 5000, ack: 0xfffffff1, flags: TH_SYN | TH_ACK, window: 65160, urgent: 0,
    mss: 1400, sackPermitted: true, timestamp: { tsval: 777, tsecr: 12345 }, windowScale: 9 };
  cases.push({ name: 'TCP SYN-ACK', frame: eth(MAC_A, MAC_B, ETHERTYPE_IPV4, v4(B, A, IPPROTO_TCP, tcp(synack, new Uint8Array(0), B, A))),
    expect: { 'tcp.flags': '0x0012', 'tcp.ack': '4294967281', 'tcp.options.mss_val': '1400', 'tcp.options.timestamp.tsecr': '12345', 'tcp.checksum.status': '1' } });
  const data: TcpRepr = { ...noOpts, srcPort: 40000, dstPort: 80, seq: 0xfffffff1, ack: 5001, flags: TH_PUSH | TH_ACK, window: 502, urgent: 0,
    timestamp: { tsval: 12346, tsecr: 777 }, sackBlocks: [{ left: 6000, right: 7000 }, { left: 8000, right: 9000 }] };
  cases.push({ name: 'TCP data with SACK blocks across the sequence wrap', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_TCP, tcp(data, enc('GET / HTTP/1.0\r\n\r\n'), A, B))),
    expect: { 'tcp.flags': '0x0018', 'tcp.len': '18', 'tcp.options.sack_le': '6000,8000', 'tcp.options.sack_re': '7000,9000', 'tcp.checksum.status': '1' } });
}

const UDP_DGRAM = v4(A, B, IPPROTO_UDP, udp(40001, 40002, enc('hello udp'), A, B));
cases.push({ name: 'UDP, odd length', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, UDP_DGRAM),
  expect: { 'udp.srcport': '40001', 'udp.dstport': '40002', 'udp.length': '17', 'udp.checksum.status': '1', 'ip.checksum.status': '1' } });
cases.push({ name: 'ICMP echo request', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_ICMP,
  icmp4({ kind: 'echoRequest', ident: 0x4242, seq: 7, data: Uint8Array.from({ length: 56 }, (_, i) => i) }))),
expect: { 'icmp.type': '8', 'icmp.ident': '16962', 'icmp.seq': '7', 'icmp.checksum.status': '1' } });
{
  const header = unwrap(Ipv4Repr.parse(unwrap(Ipv4Packet.check(UDP_DGRAM))));
  cases.push({ name: 'ICMP port unreachable quoting the UDP datagram', frame: eth(MAC_A, MAC_B, ETHERTYPE_IPV4, v4(B, A, IPPROTO_ICMP,
    icmp4({ kind: 'destUnreachable', code: ICMP_UNREACH_PORT, nextHopMtu: 0, header, data: UDP_DGRAM.subarray(20) }), { tos: 0xc0, dontFrag: false })),
  expect: { 'icmp.type': '3', 'icmp.code': '3', 'icmp.checksum.status': '1', 'udp.dstport': '40002' } });
}
cases.push({ name: 'ARP request', frame: eth(MAC_BROADCAST, MAC_A, ETHERTYPE_ARP, arp({ operation: ARPOP_REQUEST, senderHw: MAC_A, senderProto: A, targetHw: 0, targetProto: B })),
  expect: { 'arp.opcode': '1', 'arp.src.hw_mac': '02:00:00:00:00:0a', 'arp.dst.proto_ipv4': '10.0.0.2' } });
cases.push({ name: 'ARP reply', frame: eth(MAC_A, MAC_B, ETHERTYPE_ARP, arp({ operation: ARPOP_REPLY, senderHw: MAC_B, senderProto: B, targetHw: MAC_A, targetProto: A })),
  expect: { 'arp.opcode': '2', 'arp.src.hw_mac': '02:00:00:00:00:0b' } });
cases.push({ name: '802.1Q tagged UDP', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_UDP, udp(1, 2, enc('vlan'), A, B)), 42),
  expect: { 'vlan.id': '42', 'udp.checksum.status': '1' } });
{
  // One UDP datagram of 108 bytes in two fragments: 56 bytes at 0 (MF), 52 bytes at 56.
  const whole = udp(7000, 7001, Uint8Array.from({ length: 100 }, (_, i) => 255 - i), A, B);
  const id = 0x7777;
  cases.push({ name: 'IPv4 first fragment', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_UDP, whole.subarray(0, 56), { ident: id, dontFrag: false, moreFrags: true })),
    expect: { 'ip.flags.mf': '1', 'ip.frag_offset': '0', 'ip.checksum.status': '1' } });
  cases.push({ name: 'IPv4 last fragment (reassembled by tshark)', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV4, v4(A, B, IPPROTO_UDP, whole.subarray(56), { ident: id, dontFrag: false, fragOffset: 56 })),
    expect: { 'ip.frag_offset': '7' /* 8-byte units */, 'udp.length': '108', 'udp.checksum.status': '1' } });
}
const UDP6 = v6(A6, B6, IPPROTO_UDP, udp(6000, 6001, enc('over ipv6'), A6, B6));
cases.push({ name: 'UDP over IPv6', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV6, UDP6),
  expect: { 'ipv6.flow': '0x012345', 'ipv6.src': '2001:db8::1', 'udp.checksum.status': '1' } });
cases.push({ name: 'ICMPv6 echo request', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV6, v6(A6, B6, IPPROTO_ICMPV6,
  icmp6({ kind: 'echoRequest', ident: 99, seq: 1, data: enc('ping6') }, A6, B6))),
expect: { 'icmpv6.type': '128', 'icmpv6.checksum.status': '1' } });
{
  const sn = ipv6SolicitedNode(LL_B);
  cases.push({ name: 'neighbor solicitation', frame: eth(0x3333_ff00_000b, MAC_A, ETHERTYPE_IPV6, v6(LL_A, sn, IPPROTO_ICMPV6,
    icmp6({ kind: 'neighborSolicitation', target: LL_B, options: { ...emptyNdpOptions(), sourceLinkAddr: MAC_A } }, LL_A, sn), 255)),
  expect: { 'icmpv6.type': '135', 'icmpv6.nd.ns.target_address': 'fe80::ff:fe00:b', 'icmpv6.opt.linkaddr': '02:00:00:00:00:0a', 'icmpv6.checksum.status': '1' } });
  cases.push({ name: 'neighbor advertisement', frame: eth(MAC_A, MAC_B, ETHERTYPE_IPV6, v6(LL_B, LL_A, IPPROTO_ICMPV6,
    icmp6({ kind: 'neighborAdvertisement', router: false, solicited: true, override: true, target: LL_B, options: { ...emptyNdpOptions(), targetLinkAddr: MAC_B } }, LL_B, LL_A), 255)),
  expect: { 'icmpv6.type': '136', 'icmpv6.nd.na.flag.s': '1', 'icmpv6.opt.linkaddr': '02:00:00:00:00:0b', 'icmpv6.checksum.status': '1' } });
  const all = ipv6AllNodes();
  cases.push({ name: 'router advertisement', frame: eth(0x3333_0000_0001, MAC_B, ETHERTYPE_IPV6, v6(LL_B, all, IPPROTO_ICMPV6,
    icmp6({ kind: 'routerAdvertisement', curHopLimit: 64, managed: false, other: true, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
      options: { ...emptyNdpOptions(), sourceLinkAddr: MAC_B, mtu: 1500,
        prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400, prefix: parseIpv6('2001:db8:1::')! }] } }, LL_B, all), 255)),
  expect: { 'icmpv6.type': '134', 'icmpv6.nd.ra.cur_hop_limit': '64', 'icmpv6.nd.ra.router_lifetime': '1800', 'icmpv6.opt.mtu': '1500',
    'icmpv6.opt.prefix': '2001:db8:1::', 'icmpv6.opt.prefix.length': '64', 'icmpv6.checksum.status': '1' } });
}
{
  const header = unwrap(Ipv6Repr.parse(unwrap(Ipv6Packet.check(UDP6))));
  cases.push({ name: 'ICMPv6 packet too big quoting the IPv6 UDP datagram', frame: eth(MAC_A, MAC_B, ETHERTYPE_IPV6, v6(B6, A6, IPPROTO_ICMPV6,
    icmp6({ kind: 'packetTooBig', mtu: 1280, header, data: UDP6.subarray(40) }, B6, A6))),
  expect: { 'icmpv6.type': '2', 'icmpv6.mtu': '1280', 'icmpv6.checksum.status': '1' } });
}
{
  // Hop-by-hop (PadN) -> destination options (PadN) -> fragment (atomic) -> UDP.
  const dgram = udp(6100, 6101, enc('behind three extension headers'), A6, B6);
  const hbh = Uint8Array.from([IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0]);
  const dst = Uint8Array.from([IPPROTO_FRAGMENT, 0, 1, 4, 0, 0, 0, 0]);
  const frag = new Uint8Array(8);
  Ipv6FragmentRepr.emit({ nextHeader: IPPROTO_UDP, offset: 0, moreFrags: false, ident: 0xabcdef }, frag);
  cases.push({ name: 'IPv6 extension header chain', frame: eth(MAC_B, MAC_A, ETHERTYPE_IPV6, v6(A6, B6, IPPROTO_HOPOPTS, cat(hbh, dst, frag, dgram))),
    expect: { 'ipv6.fraghdr.ident': '0x00abcdef', 'ipv6.hopopts.nxt': '60', 'ipv6.dstopts.nxt': '44', 'udp.dstport': '6101', 'udp.checksum.status': '1' } });
}

// ---- running tshark -------------------------------------------------------------------------

function tshark(file: string, args: string[]): string {
  const r = spawnSync('tshark', ['-n', '-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
    '-o', 'tcp.relative_sequence_numbers:FALSE', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
  return r.stdout;
}

describe('frames we emit, decoded by tshark', () => {
  it('decodes every frame with no malformed packet and no checksum or other error', { skip: SKIP }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rump-wire-'));
    try {
      const file = join(dir, 'emitted.pcap');
      const w = new PcapWriter();
      writeFileSync(file, w.file(cases.map((c, i) => ({ time: { sec: 1_800_000_000 + i, nsec: 0 }, data: c.frame }))));
      // tshark 4.0 rates a bad ICMP checksum a warning, not an error: ask for bad statuses too.
      const bad = tshark(file, ['-Y', '_ws.malformed || _ws.expert.severity >= error || ip.checksum.status == 0 || tcp.checksum.status == 0'
        + ' || udp.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0']);
      assert.equal(bad, '', `tshark flagged frames:\n${bad}`);
      const fields = [...new Set(cases.flatMap((c) => Object.keys(c.expect)))];
      const out = tshark(file, ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])]);
      const rows = out.trimEnd().split('\n').map((l) => l.split('\t'));
      assert.equal(rows.length, cases.length);
      cases.forEach((c, i) => {
        for (const [f, want] of Object.entries(c.expect)) {
          const got = rows[i]![fields.indexOf(f)] ?? '';
          if (f.endsWith('.status')) {
            // Every occurrence must be good (1): inner headers of ICMP errors are checked too.
            assert.ok(got !== '' && got.split(',').every((v) => v === want), `${c.name}: ${f} = '${got}', want all '${want}'`);
          } else {
            // A list ('6000,8000') is compared whole, a single value with the first occurrence.
            assert.equal(want.includes(',') ? got : got.split(',')[0], want, `${c.name}: ${f}`);
          }
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
