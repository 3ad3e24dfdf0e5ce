/**
 * IPv6, its extension headers, ICMPv6 and Neighbor Discovery (src/net/wire/ipv6.ts,
 * icmpv6.ts), and IPv6 address text per RFC 5952. Captured frames are Linux's, on loopback and
 * on a veth pair between fe80::205b:e1ff:fe0b:a8a (22:5b:e1:0b:0a:8a) and
 * fe80::b8a5:f5ff:fe20:7def (ba:a5:f5:20:7d:ef), November 2026.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WireError, EthernetFrame, formatMac, parseIpv4,
  Ipv6Packet, Ipv6Repr, Ipv6FragmentRepr, formatIpv6, parseIpv6, parseIpv6Cidr, formatIpv6Cidr, ipv6Equal, ipv6InPrefix, ipv6Mask,
  ipv6CommonPrefixLen, ipv6IsLinkLocal, ipv6IsLoopback, ipv6IsMulticast, ipv6IsUnspecified, ipv6IsV4Mapped, ipv6Key, ipv6LinkLocalFromMac,
  ipv6MulticastMac, ipv6SolicitedNode, ipv6V4Mapped, ipv6AllNodes, ipv6AllRouters, ipv6Loopback, ipv6MulticastScope,
  walkIpv6Headers, parseIpv6Options, IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_AH, IPPROTO_NONE,
  IPPROTO_ICMPV6, IPPROTO_UDP, IPPROTO_TCP,
  Icmpv6Packet, Icmpv6Repr, emptyNdpOptions, ICMP6_DST_UNREACH_NOPORT, ICMP6_PARAMPROB_NEXTHEADER, UdpDatagram, UdpRepr,
} from '../src/net/wire/index.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function ok<T>(x: T | WireError): T {
  if (x instanceof WireError) assert.fail(`unexpected WireError: ${x.message}`);
  return x;
}

function err(x: unknown, kind: string, field: string, message?: RegExp): WireError {
  assert.ok(x instanceof WireError, `expected a WireError, got ${JSON.stringify(x)}`);
  assert.equal(x.kind, kind, x.message);
  assert.equal(x.field, field, x.message);
  if (message !== undefined) assert.match(x.message, message);
  return x;
}

const a6 = (s: string): Uint8Array => {
  const a = parseIpv6(s);
  assert.ok(a !== null, s);
  return a;
};

const LOOP = '00000000000000000000000000000001';
const LO_UDP6 = hex(`000000000000000000000000 86dd 600e1ddc000d1140 ${LOOP} ${LOOP} d1d1b26f000d0020 68656c6c6f`);
const LO_UNREACH6 = hex(`000000000000000000000000 86dd 60063280003d3a40 ${LOOP} ${LOOP} 0104a70800000000`
  + ` 600e1ddc000d1140 ${LOOP} ${LOOP} d1d1b26f000d002068656c6c6f`);
const NS = hex('3333ff207def225be10b0a8a86dd6000000000203afffe80000000000000205be1fffe0b0a8aff0200000000000000000001ff207def'
  + '8700baf500000000fe80000000000000b8a5f5fffe207def0101225be10b0a8a');
const NA = hex('225be10b0a8abaa5f5207def86dd6000000000203afffe80000000000000b8a5f5fffe207deffe80000000000000205be1fffe0b0a8a'
  + '88008c0d60000000fe80000000000000b8a5f5fffe207def0201baa5f5207def');
const RS = hex('333300000002225be10b0a8a86dd6000000000103afffe80000000000000205be1fffe0b0a8aff020000000000000000000000000002'
  + '8500634c000000000101225be10b0a8a');
const UNREACH6 = hex('225be10b0a8abaa5f5207def86dd600833bb003d3a40fe80000000000000b8a5f5fffe207deffe80000000000000205be1fffe0b0a8a'
  + '010454ce00000000600b162b000d1140fe80000000000000205be1fffe0b0a8afe80000000000000b8a5f5fffe207def93cab26f000d32c768656c6c6f');
// MLDv2 report: a hop-by-hop header with a router alert option in front of ICMPv6 type 143.
const MLD2 = hex('333300000016baa5f5207def86dd6000000000240001fe80000000000000b8a5f5fffe207defff020000000000000000000000000016'
  + '3a00050200000100 8f00c8430000000104000000ff0200000000000000000001ff207def');

const ip6 = (frame: Uint8Array): Ipv6Packet => ok(Ipv6Packet.check(frame.subarray(14)));

describe('IPv6 address text (RFC 4291, RFC 5952)', () => {
  it('formats the RFC 5952 examples canonically', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'], // 4.1, 4.2.1
      ['2001:db8::0:1', '2001:db8::1'], // 4.2.1: shorten as much as possible
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2: not for one zero group
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3: the longest run
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3: the first of equal runs
      ['2001:DB8::AAAA:1', '2001:db8::aaaa:1'], // 4.3: lower case
      ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1'],
      ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'], // 5: IPv4-mapped in mixed notation
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:0:0:0:0:0:0:0', '1::'],
      ['1:0:0:0:0:0:0:1', '1::1'],
      ['0:1:0:0:0:0:0:0', '0:1::'],
      ['fe80:0:0:0:b8a5:f5ff:fe20:7def', 'fe80::b8a5:f5ff:fe20:7def'],
      ['ff02::1:ff20:7def', 'ff02::1:ff20:7def'],
      ['::1.2.3.4', '::102:304'],
    ];
    for (const [input, want] of cases) assert.equal(formatIpv6(a6(input)), want, input);
  });

  it('agrees with the WHATWG URL serializer on random addresses', () => {
    let x = 7;
    const rnd = (): number => { x = (x * 1103515245 + 12345) >>> 0; return x >>> 16; };
    for (let n = 0; n < 2000; n++) {
      const a = new Uint8Array(16);
      for (let i = 0; i < 16; i += 2) {
        if (rnd() % 3 !== 0) continue; // mostly zero groups, to exercise the runs
        a[i] = rnd() % 4 === 0 ? rnd() & 0xff : 0;
        a[i + 1] = rnd() & 0xff;
      }
      if (ipv6IsV4Mapped(a)) continue; // URL prints those in hex
      const text = formatIpv6(a);
      assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1), text);
      assert.deepEqual(parseIpv6(text), a, text);
    }
  });

  it('parses every RFC 4291 form and nothing else', () => {
    assert.equal(formatIpv6(a6('1:2:3:4:5:6:1.2.3.4')), '1:2:3:4:5:6:102:304');
    assert.equal(formatIpv6(a6('::ffff:10.0.0.1')), '::ffff:10.0.0.1');
    assert.equal(formatIpv6(a6('::1:2:3:4:5:6:7')), '0:1:2:3:4:5:6:7');
    assert.equal(formatIpv6(a6('1:2:3:4:5:6:7::')), '1:2:3:4:5:6:7:0');
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '12345::', 'g::',
      '1.2.3.4::', '::1.2.3', '::1.2.3.04', ':1::2', '1::2:', 'fe80::1%eth0', '::ffff:1.2.3.4:5']) {
      assert.equal(parseIpv6(bad), null, bad);
    }
  });

  it('handles prefixes, masks and address classes', () => {
    assert.equal(formatIpv6(ipv6Mask(64)), 'ffff:ffff:ffff:ffff::');
    assert.equal(formatIpv6(ipv6Mask(33)), 'ffff:ffff:8000::');
    assert.equal(formatIpv6(ipv6Mask(0)), '::');
    assert.equal(ipv6InPrefix(a6('2001:db8:1::5'), a6('2001:db8::'), 32), true);
    assert.equal(ipv6InPrefix(a6('2001:db9::5'), a6('2001:db8::'), 32), false);
    assert.equal(ipv6InPrefix(a6('2001:db8:8000::'), a6('2001:db8::'), 33), false);
    assert.equal(ipv6InPrefix(a6('2001:db8:7fff::'), a6('2001:db8::'), 33), true);
    assert.equal(ipv6CommonPrefixLen(a6('2001:db8::1'), a6('2001:db8::3')), 126);
    assert.equal(ipv6CommonPrefixLen(a6('::1'), a6('::1')), 128);
    const c = parseIpv6Cidr('2001:db8::/32');
    assert.ok(c !== null);
    assert.equal(formatIpv6Cidr(c), '2001:db8::/32');
    assert.equal(parseIpv6Cidr('::/129'), null);
    assert.equal(parseIpv6Cidr('::1')?.prefixLen, 128);
    assert.equal(ipv6IsUnspecified(a6('::')), true);
    assert.equal(ipv6IsLoopback(ipv6Loopback()), true);
    assert.equal(ipv6IsMulticast(ipv6AllNodes()), true);
    assert.equal(formatIpv6(ipv6AllRouters()), 'ff02::2');
    assert.equal(ipv6MulticastScope(ipv6AllNodes()), 2);
    assert.equal(ipv6IsLinkLocal(a6('febf::1')), true);
    assert.equal(ipv6IsLinkLocal(a6('fec0::1')), false);
    assert.equal(formatIpv6(ipv6V4Mapped(parseIpv4('192.0.2.1')!)), '::ffff:192.0.2.1');
    assert.equal(ipv6Key(a6('2001:db8::1')), ipv6Key(a6('2001:0db8:0:0::1')));
    assert.notEqual(ipv6Key(a6('2001:db8::1')), ipv6Key(a6('2001:db8::2')));
  });

  it('derives the link-local address, solicited-node group and multicast MAC Linux used', () => {
    const f = ok(EthernetFrame.check(NS));
    const p = ip6(NS);
    assert.ok(ipv6Equal(ipv6LinkLocalFromMac(f.src), p.src), 'EUI-64 from 22:5b:e1:0b:0a:8a');
    const target = a6('fe80::b8a5:f5ff:fe20:7def');
    assert.ok(ipv6Equal(ipv6SolicitedNode(target), p.dst));
    assert.equal(formatMac(ipv6MulticastMac(p.dst)), formatMac(f.dst));
  });
});

describe('ipv6 header', () => {
  it('parses captured headers and round-trips them', () => {
    for (const frame of [LO_UDP6, LO_UNREACH6, NS, NA, RS, UNREACH6, MLD2]) {
      const p = ip6(frame);
      const r = ok(Ipv6Repr.parse(p));
      const out = new Uint8Array(Ipv6Repr.bufferLen(r));
      Ipv6Repr.emit(r, out);
      assert.deepEqual(out, frame.subarray(14, 54));
    }
    const r = ok(Ipv6Repr.parse(ip6(LO_UDP6)));
    assert.equal(r.flowLabel, 0xe1ddc);
    assert.equal(r.trafficClass, 0);
    assert.equal(r.hopLimit, 64);
    assert.equal(r.nextHeader, IPPROTO_UDP);
    assert.equal(r.payloadLen, 13);
    assert.equal(formatIpv6(r.src), '::1');
  });

  it('keeps traffic class and flow label apart', () => {
    const r: Ipv6Repr = { src: a6('::1'), dst: a6('::2'), nextHeader: IPPROTO_NONE, payloadLen: 0, hopLimit: 1, trafficClass: 0xb8, flowLabel: 0xfedcb };
    const b = new Uint8Array(40);
    Ipv6Repr.emit(r, b);
    assert.deepEqual(b.subarray(0, 4), hex('6b8fedcb'));
    const p = ok(Ipv6Packet.check(b));
    assert.equal(p.trafficClass, 0xb8);
    assert.equal(p.flowLabel, 0xfedcb);
    p.trafficClass = 0x01;
    p.flowLabel = 0x12345;
    assert.deepEqual(b.subarray(0, 4), hex('60112345'));
  });

  it('rejects short packets, bad versions and jumbograms', () => {
    err(Ipv6Packet.check(new Uint8Array(39)), 'truncated', 'header', /^ipv6: packet: 39 bytes < 40$/);
    err(Ipv6Packet.check(LO_UDP6.subarray(14, 60)), 'truncated', 'payloadLength', /payload length 13 > 6 bytes received/);
    const v = LO_UDP6.slice(14); v[0] = 0x40;
    err(Ipv6Repr.parse(ok(Ipv6Packet.check(v))), 'malformed', 'version', /version 4 != 6/);
    const j = LO_UDP6.slice(14); j[4] = 0; j[5] = 0; j[6] = IPPROTO_HOPOPTS;
    err(Ipv6Repr.parse(ok(Ipv6Packet.check(j))), 'unsupported', 'payloadLength', /jumbogram/);
  });
});

describe('ipv6 extension headers', () => {
  /** A packet with the given chain: [nextHeader, header bytes][] then the upper layer. */
  function chain(first: number, headers: Uint8Array[], upper: Uint8Array): Uint8Array {
    const body = new Uint8Array([...headers.flatMap((h) => [...h]), ...upper]);
    const r: Ipv6Repr = { src: a6('2001:db8::1'), dst: a6('2001:db8::2'), nextHeader: first, payloadLen: body.length, hopLimit: 64, trafficClass: 0, flowLabel: 0 };
    const b = new Uint8Array(40 + body.length);
    Ipv6Repr.emit(r, b);
    b.set(body, 40);
    return b;
  }

  it('walks the hop-by-hop header Linux put in front of an MLDv2 report', () => {
    const p = ip6(MLD2);
    const w = ok(walkIpv6Headers(p));
    assert.deepEqual(w, { protocol: IPPROTO_ICMPV6, offset: 48, nextHeaderOffset: 40, count: 1, fragment: null });
    const opts = parseIpv6Options(p.payload);
    assert.ok(!(opts instanceof WireError));
    assert.deepEqual(opts, [{ type: 5, data: hex('0000') }], 'a router alert; the PadN is not reported');
    const icmp = ok(Icmpv6Packet.check(p.bytes.subarray(w.offset)));
    assert.equal(icmp.verifyChecksum(p.src, p.dst), true);
    err(Icmpv6Repr.parse(icmp, p.src, p.dst), 'unsupported', 'type', /type 143/);
  });

  it('stops at a fragment header and reports it', () => {
    const hbh = hex('3c00 0104 00000000'); // next: dstopts; PadN of 4
    const dst = hex('2b00 010400000000'); // next: routing
    const rt = hex('2c00 0000 00000000'); // next: fragment; routing type 0, segments left 0
    const frag = hex('1100 05a9 deadbeef'); // next: udp; offset 181*8 = 1448, M set
    const p = ok(Ipv6Packet.check(chain(IPPROTO_HOPOPTS, [hbh, dst, rt, frag], new Uint8Array(16))));
    const w = ok(walkIpv6Headers(p));
    assert.equal(w.protocol, IPPROTO_UDP);
    assert.equal(w.count, 4);
    assert.equal(w.offset, 40 + 32);
    assert.deepEqual(w.fragment, { nextHeader: IPPROTO_UDP, offset: 1448, moreFrags: true, ident: 0xdeadbeef, headerOffset: 64 });
    const out = new Uint8Array(8);
    Ipv6FragmentRepr.emit({ nextHeader: IPPROTO_UDP, offset: 1448, moreFrags: true, ident: 0xdeadbeef }, out);
    assert.deepEqual(out, frag);
  });

  it('sizes authentication headers in 4-byte units', () => {
    const ah = hex('0604 0000 00000001 00000002 0102030405060708090a0b0c'); // payload len 4 -> (4+2)*4 = 24 bytes, next: tcp
    const w = ok(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_AH, [ah], new Uint8Array(20))))));
    assert.equal(w.protocol, IPPROTO_TCP);
    assert.equal(w.offset, 64);
  });

  it('stops at no-next-header and at unknown protocols', () => {
    const w = ok(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_DSTOPTS, [hex('3b00 0104 00000000')], new Uint8Array(0))))));
    assert.equal(w.protocol, IPPROTO_NONE);
    const u = ok(walkIpv6Headers(ok(Ipv6Packet.check(chain(153, [], new Uint8Array(4)))))); // unassigned
    assert.equal(u.protocol, 153);
    assert.equal(u.count, 0);
  });

  it('rejects a hop-by-hop header that is not first', () => {
    const e = err(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_DSTOPTS, [hex('0000 0104 00000000'), hex('1100 0104 00000000')], new Uint8Array(8))))),
      'malformed', 'nextHeader', /hop-by-hop options header after 1 other header/);
    assert.equal(e.offset, 40, 'points at the Next Header field that named it');
  });

  it('rejects headers running past the payload and bad option TLVs', () => {
    err(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_DSTOPTS, [hex('1101 0104 00000000')], new Uint8Array(0))))),
      'truncated', 'extensionHeader', /16 bytes at offset 40 runs past the payload/);
    err(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_FRAGMENT, [hex('1100 0000')], new Uint8Array(0))))),
      'truncated', 'fragmentHeader');
    err(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_DSTOPTS, [hex('1100 0105 00000000')], new Uint8Array(8))))),
      'malformed', 'options', /option 1 length 5 runs past its header/);
  });

  it('gives up on long chains within the limits', () => {
    const many = Array.from({ length: 9 }, () => hex('3c00 0104 00000000'));
    many[8]![0] = IPPROTO_UDP;
    const p = ok(Ipv6Packet.check(chain(IPPROTO_DSTOPTS, many, new Uint8Array(8))));
    err(walkIpv6Headers(p), 'unsupported', 'extensionHeader', /more than 8 extension headers/);
    assert.equal(ok(walkIpv6Headers(p, { maxHeaders: 9 })).count, 9);
    err(walkIpv6Headers(p, { maxHeaders: 20, maxLength: 32 }), 'unsupported', 'extensionHeader', /longer than 32 bytes/);
    const routing = ok(walkIpv6Headers(ok(Ipv6Packet.check(chain(IPPROTO_ROUTING, [hex('0600 0000 00000000')], new Uint8Array(20))))));
    assert.equal(routing.protocol, IPPROTO_TCP);
  });
});

describe('icmpv6', () => {
  it('parses and round-trips the port unreachables Linux sent', () => {
    for (const frame of [LO_UNREACH6, UNREACH6]) {
      const p = ip6(frame);
      const msg = p.payload;
      const r = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.check(msg)), p.src, p.dst));
      assert.equal(r.kind, 'destUnreachable');
      if (r.kind !== 'destUnreachable') return;
      assert.equal(r.code, ICMP6_DST_UNREACH_NOPORT);
      assert.equal(r.header.nextHeader, IPPROTO_UDP);
      assert.ok(ipv6Equal(r.header.src, p.dst));
      assert.equal(ok(UdpDatagram.check(r.data)).dstPort, 45679);
      const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
      Icmpv6Repr.emit(r, out, p.src, p.dst);
      assert.deepEqual(out, msg);
    }
  });

  it('verifies the UDP over IPv6 Linux sent once the offloaded checksum is filled', () => {
    const p = ip6(LO_UDP6);
    const d = ok(UdpDatagram.check(p.payload.slice()));
    err(UdpRepr.parse(d, p.src, p.dst), 'checksum', 'checksum');
    d.fillChecksum(p.src, p.dst);
    assert.deepEqual(ok(UdpRepr.parse(d, p.src, p.dst)), { srcPort: 53713, dstPort: 45679, payloadLen: 5 });
  });

  it('parses a captured neighbor solicitation and advertisement', () => {
    const ns = ip6(NS);
    const r = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.check(ns.payload)), ns.src, ns.dst));
    assert.equal(r.kind, 'neighborSolicitation');
    if (r.kind !== 'neighborSolicitation') return;
    assert.equal(formatIpv6(r.target), 'fe80::b8a5:f5ff:fe20:7def');
    assert.equal(formatMac(r.options.sourceLinkAddr!), '22:5b:e1:0b:0a:8a');
    assert.equal(ns.hopLimit, 255);
    const na = ip6(NA);
    const a = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.check(na.payload)), na.src, na.dst));
    assert.equal(a.kind, 'neighborAdvertisement');
    if (a.kind !== 'neighborAdvertisement') return;
    assert.deepEqual([a.router, a.solicited, a.override], [false, true, true]);
    assert.equal(formatMac(a.options.targetLinkAddr!), 'ba:a5:f5:20:7d:ef');
  });

  it('round-trips captured neighbor discovery messages to identical bytes', () => {
    for (const frame of [NS, NA, RS]) {
      const p = ip6(frame);
      const r = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.check(p.payload)), p.src, p.dst));
      const out = new Uint8Array(Icmpv6Repr.bufferLen(r));
      Icmpv6Repr.emit(r, out, p.src, p.dst);
      assert.deepEqual(out, p.payload, r.kind);
    }
  });

  it('builds a router advertisement with prefix, MTU and source link-layer options', () => {
    const src = a6('fe80::1');
    const dst = ipv6AllNodes();
    const r: Icmpv6Repr = {
      kind: 'routerAdvertisement', curHopLimit: 64, managed: true, other: true, routerLifetime: 1800, reachableTime: 0, retransTimer: 0,
      options: {
        ...emptyNdpOptions(), sourceLinkAddr: 0x0200_0000_0001, mtu: 1500,
        prefixes: [{ prefixLen: 64, onLink: true, autonomous: true, validLifetime: 2592000, preferredLifetime: 604800, prefix: a6('2001:db8:1::') }],
      },
    };
    const b = new Uint8Array(Icmpv6Repr.bufferLen(r));
    Icmpv6Repr.emit(r, b, src, dst);
    assert.equal(b.length, 16 + 8 + 8 + 32);
    assert.deepEqual(b.subarray(4, 16), hex('40c00708 00000000 00000000'));
    assert.deepEqual(b.subarray(16), hex('0101020000000001 0501 0000 000005dc'
      + '0304 40c0 00278d00 00093a80 00000000 20010db8000100000000000000000000'));
    const p = ok(Icmpv6Packet.check(b));
    assert.equal(p.verifyChecksum(src, dst), true);
    assert.deepEqual(ok(Icmpv6Repr.parse(p, src, dst)), r);
  });

  it('emits echo, packet too big and parameter problem messages that parse back', () => {
    const src = a6('2001:db8::1');
    const dst = a6('2001:db8::2');
    const header = ok(Ipv6Repr.parse(ip6(LO_UDP6)));
    const msgs: Icmpv6Repr[] = [
      { kind: 'echoRequest', ident: 7, seq: 9, data: hex('00010203') },
      { kind: 'echoReply', ident: 7, seq: 9, data: new Uint8Array(0) },
      { kind: 'packetTooBig', mtu: 1280, header, data: LO_UDP6.subarray(54) },
      { kind: 'paramProblem', code: ICMP6_PARAMPROB_NEXTHEADER, pointer: 6, header, data: LO_UDP6.subarray(54) },
      { kind: 'timeExceeded', code: 0, header, data: LO_UDP6.subarray(54, 58) },
      { kind: 'redirect', target: a6('fe80::1'), destination: dst, options: { ...emptyNdpOptions(), targetLinkAddr: 0x0200_0000_0002, redirectedHeader: hex('0102') } },
    ];
    for (const m of msgs) {
      const b = new Uint8Array(Icmpv6Repr.bufferLen(m));
      Icmpv6Repr.emit(m, b, src, dst);
      const back = ok(Icmpv6Repr.parse(ok(Icmpv6Packet.check(b)), src, dst));
      if (m.kind === 'redirect' && back.kind === 'redirect') {
        assert.deepEqual(back.options.redirectedHeader, hex('0102000000000000'), 'padded to 8 bytes');
      } else {
        assert.deepEqual(back, m, m.kind);
      }
    }
  });

  it('rejects bad neighbor discovery messages as RFC 4861 requires', () => {
    const ns = ip6(NS);
    const fix = (b: Uint8Array): Icmpv6Packet => {
      const p = Icmpv6Packet.unchecked(b);
      p.fillChecksum(ns.src, ns.dst);
      return ok(Icmpv6Packet.check(b));
    };
    const parse = (b: Uint8Array) => Icmpv6Repr.parse(fix(b), ns.src, ns.dst);
    const a = ns.payload.slice(); a[1] = 1;
    err(parse(a), 'malformed', 'code', /neighbor discovery type 135 code 1 != 0/);
    const b = ns.payload.slice(); b[25] = 0;
    err(parse(b), 'malformed', 'options', /option 1 at offset 24 has length 0/);
    const c = ns.payload.slice(); c[25] = 2;
    err(parse(c), 'truncated', 'options', /runs past the message/);
    const d = ns.payload.slice(); d[8] = 0xff;
    err(parse(d), 'malformed', 'target', /multicast/);
    err(parse(ns.payload.slice(0, 20)), 'truncated', 'length', /20 bytes < 24/);
    const e = ns.payload.slice(); e[24] = 3; // a prefix option of length 1
    err(parse(e), 'malformed', 'options', /prefix information option length 1 != 4/);
    const f = ns.payload.slice(); f[24] = 99;
    const unknown = ok(parse(f));
    assert.equal(unknown.kind === 'neighborSolicitation' && unknown.options.unknown?.[0]?.type, 99, 'unknown options are kept');
    const g = ns.payload.slice(); g[10] = g[10]! ^ 1;
    err(Icmpv6Repr.parse(ok(Icmpv6Packet.check(g)), ns.src, ns.dst), 'checksum', 'checksum');
  });

  it('rejects an error message whose quote is not an IPv6 header', () => {
    const p = ip6(UNREACH6);
    const msg = p.payload.slice(0, 30);
    Icmpv6Packet.unchecked(msg).fillChecksum(p.src, p.dst);
    err(Icmpv6Repr.parse(ok(Icmpv6Packet.check(msg)), p.src, p.dst), 'truncated', 'quotedHeader', /destination unreachable quotes a bad IPv6 header/);
  });
});
