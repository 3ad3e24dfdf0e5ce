/**
 * Codecs in src/net/wire: checksum, sequence arithmetic, Ethernet, ARP, IPv4, ICMPv4, UDP, pcap.
 * Known packets are frames captured from Linux (loopback and a veth pair into a network
 * namespace, November 2026) or examples from the RFCs; TCP and IPv6 have their own files.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WireError, checksumOk, checksumUpdate16, checksumUpdate32, finish, fold16, internetChecksum, pseudoSumV4, sum16, swap16,
  seqAdd, seqGeq, seqGt, seqInRange, seqLeq, seqLt, seqMax, seqMin, seqSub,
  EthernetFrame, EthernetRepr, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, MAC_BROADCAST, formatMac, macFromRandom, macIsBroadcast,
  macIsLocal, macIsMulticast, macIsUnicast, parseMac,
  ArpPacket, ArpRepr, ARPOP_REPLY, ARPOP_REQUEST,
  Ipv4Packet, Ipv4Repr, formatIpv4, ipv4InPrefix, ipv4IsLinkLocal, ipv4IsLoopback, ipv4IsMulticast, ipv4Mask, ipv4MaskLen,
  ipv4MulticastMac, ipv4Network, ipv4SubnetBroadcast, parseIpv4, parseIpv4Cidr, parseIpv4Options, IPOPT_RR,
  Icmpv4Packet, Icmpv4Repr, ICMP_UNREACH_PORT, ICMP_UNREACH_NEEDFRAG, ICMP_TIMXCEED_INTRANS,
  UdpDatagram, UdpRepr, udpChecksumField,
  PcapWriter, readPcap, pcapTimeFromMs, pcapTimeFromNs, LINKTYPE_ETHERNET,
  IPPROTO_UDP, IPPROTO_ICMP,
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

const ip = (s: string): number => parseIpv4(s)!;

// Captured on a veth pair: 10.99.0.1 (22:5b:e1:0b:0a:8a) <-> 10.99.0.2 (ba:a5:f5:20:7d:ef).
const ARP_REQUEST = hex('ffffffffffff225be10b0a8a08060001080006040001225be10b0a8a0a6300010000000000000a630002');
const ARP_REPLY = hex('225be10b0a8abaa5f5207def08060001080006040002baa5f5207def0a630002225be10b0a8a0a630001');
const ECHO_REPLY = hex('225be10b0a8abaa5f5207def08004500004493a800004001d2480a6300020a63000100002ef812340001'
  + '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637');
const PORT_UNREACH = hex('225be10b0a8abaa5f5207def080045c0003d93a900004001d18e0a6300020a6300010303494800000000'
  + '450000213a9940004011eb6a0a6300010a630002a87eb26f000d14e768656c6c6f');
// Linux on loopback: UDP with a CHECKSUM_PARTIAL field (the folded pseudo-header sum).
const LO_UDP = hex('0000000000000000000000000800450000210184400040113b467f0000017f000001de2eb26f000dfe2068656c6c6f');

describe('internet checksum (RFC 1071, RFC 1624)', () => {
  it('sums the RFC 1071 numerical example to ddf2 and checksums it to 220d', () => {
    const b = hex('0001f203f4f5f6f7');
    assert.equal(sum16(b), 0x2ddf0);
    assert.equal(fold16(sum16(b)), 0xddf2);
    assert.equal(internetChecksum(b), 0x220d);
  });

  it('computes the IPv4 header checksums Linux sent', () => {
    for (const frame of [ECHO_REPLY, PORT_UNREACH, LO_UDP]) {
      const h = frame.subarray(14, 34);
      const stored = (h[10]! << 8) | h[11]!;
      const copy = h.slice();
      copy[10] = 0; copy[11] = 0;
      assert.equal(internetChecksum(copy), stored);
      assert.equal(checksumOk(h), true);
    }
  });

  it('gives the same sum on the word path as on the byte path, at every alignment and odd length', () => {
    const big = new Uint8Array(5000);
    let x = 12345;
    for (let i = 0; i < big.length; i++) { x = (x * 1103515245 + 12345) >>> 0; big[i] = x >>> 24; }
    const slow = (b: Uint8Array, off: number, len: number): number => {
      let s = 0;
      for (let i = 0; i < len; i++) s += (i & 1) === 0 ? b[off + i]! << 8 : b[off + i]!;
      return fold16(s);
    };
    for (const off of [0, 1, 2, 3, 5, 7]) {
      for (const len of [0, 1, 2, 127, 128, 129, 1499, 1500, 4093]) {
        assert.equal(fold16(sum16(big, off, len)), slow(big, off, len), `off ${off} len ${len}`);
        const sub = big.subarray(off);
        assert.equal(fold16(sum16(sub, 0, len)), slow(big, off, len), `subarray at ${off} len ${len}`);
      }
    }
  });

  it('adds partial sums of pieces, swapping pieces that start at an odd offset', () => {
    const b = hex('45000073000040004011b861c0a80001c0a800c7');
    const whole = fold16(sum16(b));
    const odd = fold16(sum16(b, 0, 7) + swap16(fold16(sum16(b, 7, 13))));
    assert.equal(odd, whole);
    assert.equal(internetChecksum(b), 0, 'a header with its checksum in place complements to zero');
  });

  it('updates incrementally as RFC 1624 eqn. 3, not producing -0 where eqn. 2 did', () => {
    assert.equal(checksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000);
  });

  it('agrees with a full recomputation after a TTL decrement and an address rewrite', () => {
    const h = ECHO_REPLY.slice(14, 34);
    const before = (h[10]! << 8) | h[11]!;
    const oldWord = (h[8]! << 8) | h[9]!;
    h[8] = h[8]! - 1;
    const inc = checksumUpdate16(before, oldWord, (h[8]! << 8) | h[9]!);
    const oldDst = 0x0a630001;
    h[16] = 192; h[17] = 168; h[18] = 7; h[19] = 9;
    const inc2 = checksumUpdate32(inc, oldDst, 0xc0a80709);
    h[10] = 0; h[11] = 0;
    assert.equal(inc2, internetChecksum(h));
  });

  it('folds large unfolded sums without losing carries', () => {
    assert.equal(fold16(0xffff * 100_000), 0xffff);
    assert.equal(fold16(0x1_0000), 1);
    assert.equal(finish(0), 0xffff);
  });
});

describe('sequence number arithmetic', () => {
  it('orders numbers across the 2^32 wrap', () => {
    assert.equal(seqLt(0xffff_fff0, 0x10), true);
    assert.equal(seqGt(0x10, 0xffff_fff0), true);
    assert.equal(seqLeq(5, 5), true);
    assert.equal(seqGeq(5, 5), true);
    assert.equal(seqLt(5, 5), false);
    assert.equal(seqLt(0, 0x7fff_ffff), true);
    assert.equal(seqLt(0, 0x8000_0001), false, 'more than 2^31 ahead reads as behind');
  });

  it('adds and subtracts modulo 2^32', () => {
    assert.equal(seqAdd(0xffff_ffff, 1), 0);
    assert.equal(seqAdd(0xffff_fff0, 0x20), 0x10);
    assert.equal(seqAdd(5, -10), 0xffff_fffb);
    assert.equal(seqSub(0x10, 0xffff_fff0), 0x20);
    assert.equal(seqSub(0xffff_fff0, 0x10), -0x20);
    assert.equal(seqMax(0xffff_fff0, 0x10), 0x10);
    assert.equal(seqMin(0xffff_fff0, 0x10), 0xffff_fff0);
  });

  it('tests window membership across the wrap', () => {
    assert.equal(seqInRange(2, 0xffff_fffe, 5), true);
    assert.equal(seqInRange(0xffff_fffe, 0xffff_fffe, 5), true);
    assert.equal(seqInRange(5, 0xffff_fffe, 5), false);
    assert.equal(seqInRange(7, 7, 7), false, 'an empty window holds nothing');
  });
});

describe('ethernet', () => {
  it('parses and formats MAC addresses', () => {
    const m = parseMac('22:5B:e1:0b:0a:8a')!;
    assert.equal(m, 0x225be10b0a8a);
    assert.equal(formatMac(m), '22:5b:e1:0b:0a:8a');
    assert.equal(formatMac(MAC_BROADCAST), 'ff:ff:ff:ff:ff:ff');
    assert.equal(parseMac('22-5b-e1-0b-0a-8a'), m);
    for (const bad of ['', '1:2:3:4:5', '1:2:3:4:5:6:7', 'gg:00:00:00:00:00', '100:0:0:0:0:0']) assert.equal(parseMac(bad), null, bad);
  });

  it('classifies MAC addresses', () => {
    assert.equal(macIsBroadcast(MAC_BROADCAST), true);
    assert.equal(macIsMulticast(MAC_BROADCAST), true);
    assert.equal(macIsMulticast(0x01005e000001), true);
    assert.equal(macIsUnicast(0x225be10b0a8a), true);
    assert.equal(macIsLocal(0x225be10b0a8a), true, '0x22 has the U/L bit');
    const r = macFromRandom(Uint8Array.from([0xff, 1, 2, 3, 4, 5]));
    assert.equal(formatMac(r), 'fe:01:02:03:04:05');
    assert.equal(macIsLocal(r) && macIsUnicast(r), true);
  });

  it('reads a captured frame header and round-trips it', () => {
    const f = ok(EthernetFrame.check(ARP_REQUEST));
    const r = ok(EthernetRepr.parse(f));
    assert.deepEqual(r, { dst: MAC_BROADCAST, src: 0x225be10b0a8a, ethertype: ETHERTYPE_ARP, vlan: null });
    assert.equal(f.payload.length, 28);
    const out = new Uint8Array(EthernetRepr.bufferLen(r));
    EthernetRepr.emit(r, out);
    assert.deepEqual(out, ARP_REQUEST.subarray(0, 14));
  });

  it('handles 802.1Q tags', () => {
    const r: EthernetRepr = { dst: 0x0200_0000_0001, src: 0x0200_0000_0002, ethertype: ETHERTYPE_IPV6, vlan: { pcp: 5, dei: true, vid: 100 } };
    const buf = new Uint8Array(EthernetRepr.bufferLen(r) + 2);
    EthernetRepr.emit(r, buf);
    assert.deepEqual(buf.subarray(12, 18), hex('8100b06486dd'));
    const f = ok(EthernetFrame.check(buf));
    assert.equal(f.headerLen, 18);
    assert.equal(f.vlanId, 100);
    assert.equal(f.ethertype, ETHERTYPE_IPV6);
    assert.deepEqual(ok(EthernetRepr.parse(f)), r);
    err(EthernetFrame.check(buf.subarray(0, 16)), 'truncated', 'vlanTag', /^ethernet: 802.1Q tagged frame: 16 bytes < 18$/);
  });

  it('rejects short frames and 802.3 length fields', () => {
    err(EthernetFrame.check(new Uint8Array(13)), 'truncated', 'header', /ethernet: frame: 13 bytes < 14/);
    const llc = ARP_REQUEST.slice();
    llc[12] = 0x00; llc[13] = 0x2e;
    err(EthernetRepr.parse(ok(EthernetFrame.check(llc))), 'unsupported', 'ethertype', /802\.3 length/);
  });
});

describe('arp', () => {
  it('parses a captured request and reply', () => {
    const req = ok(ArpRepr.parse(ok(ArpPacket.check(ARP_REQUEST.subarray(14)))));
    assert.deepEqual(req, { operation: ARPOP_REQUEST, senderHw: 0x225be10b0a8a, senderProto: ip('10.99.0.1'), targetHw: 0, targetProto: ip('10.99.0.2') });
    const rep = ok(ArpRepr.parse(ok(ArpPacket.check(ARP_REPLY.subarray(14)))));
    assert.equal(rep.operation, ARPOP_REPLY);
    assert.equal(formatMac(rep.senderHw), 'ba:a5:f5:20:7d:ef');
    assert.equal(formatIpv4(rep.targetProto), '10.99.0.1');
  });

  it('round-trips to identical bytes', () => {
    for (const frame of [ARP_REQUEST, ARP_REPLY]) {
      const r = ok(ArpRepr.parse(ok(ArpPacket.check(frame.subarray(14)))));
      const out = new Uint8Array(ArpRepr.bufferLen(r));
      ArpRepr.emit(r, out);
      assert.deepEqual(out, frame.subarray(14));
    }
  });

  it('accepts a padded packet and rejects short, foreign and unknown ones', () => {
    const padded = new Uint8Array(46);
    padded.set(ARP_REQUEST.subarray(14));
    ok(ArpRepr.parse(ok(ArpPacket.check(padded))));
    err(ArpPacket.check(ARP_REQUEST.subarray(14, 40)), 'truncated', 'header', /arp: packet: 26 bytes < 28/);
    const p = ARP_REQUEST.slice(14);
    p[1] = 6; // IEEE 802 hardware
    err(ArpRepr.parse(ok(ArpPacket.check(p))), 'unsupported', 'hardwareType');
    const q = ARP_REQUEST.slice(14);
    q[7] = 3; // RARP request
    err(ArpRepr.parse(ok(ArpPacket.check(q))), 'unsupported', 'operation', /operation 3/);
    const r = ARP_REQUEST.slice(14);
    r[4] = 4;
    err(ArpRepr.parse(ok(ArpPacket.check(r))), 'malformed', 'hardwareLen', /hardware address length 4 != 6/);
    const s = ARP_REQUEST.slice(14);
    s[4] = 200;
    err(ArpPacket.check(s), 'truncated', 'addresses');
  });
});

describe('ipv4', () => {
  it('parses and formats dotted quads strictly', () => {
    assert.equal(parseIpv4('10.99.0.1'), 0x0a630001);
    assert.equal(parseIpv4('255.255.255.255'), 0xffff_ffff);
    assert.equal(formatIpv4(0xc0a80001), '192.168.0.1');
    assert.equal(formatIpv4(0), '0.0.0.0');
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '1..3.4', ' 1.2.3.4', '0x1.2.3.4']) {
      assert.equal(parseIpv4(bad), null, bad);
    }
  });

  it('computes masks, prefixes, networks and broadcasts', () => {
    assert.equal(ipv4Mask(0), 0);
    assert.equal(ipv4Mask(24), 0xffffff00);
    assert.equal(ipv4Mask(32), 0xffffffff);
    assert.equal(ipv4Mask(1), 0x80000000);
    for (let n = 0; n <= 32; n++) assert.equal(ipv4MaskLen(ipv4Mask(n)), n);
    assert.equal(ipv4MaskLen(ip('255.0.255.0')), -1);
    assert.equal(ipv4Network(ip('10.1.2.3'), 8), ip('10.0.0.0'));
    assert.equal(ipv4SubnetBroadcast(ip('10.1.2.3'), 16), ip('10.1.255.255'));
    assert.equal(ipv4InPrefix(ip('10.1.2.3'), ip('10.0.0.0'), 8), true);
    assert.equal(ipv4InPrefix(ip('11.1.2.3'), ip('10.0.0.0'), 8), false);
    assert.equal(ipv4InPrefix(ip('11.1.2.3'), 0, 0), true, 'the default route matches everything');
    assert.deepEqual(parseIpv4Cidr('192.168.1.0/24'), { addr: ip('192.168.1.0'), prefixLen: 24 });
    assert.deepEqual(parseIpv4Cidr('10.0.0.1'), { addr: ip('10.0.0.1'), prefixLen: 32 });
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0/8']) assert.equal(parseIpv4Cidr(bad), null, bad);
  });

  it('classifies addresses and maps groups to MAC addresses', () => {
    assert.equal(ipv4IsMulticast(ip('224.0.0.1')), true);
    assert.equal(ipv4IsMulticast(ip('239.255.255.255')), true);
    assert.equal(ipv4IsMulticast(ip('240.0.0.1')), false);
    assert.equal(ipv4IsLoopback(ip('127.3.4.5')), true);
    assert.equal(ipv4IsLinkLocal(ip('169.254.1.1')), true);
    assert.equal(formatMac(ipv4MulticastMac(ip('239.129.1.2'))), '01:00:5e:01:01:02', 'only the low 23 bits map');
  });

  it('parses the header of a captured ICMP error', () => {
    const p = ok(Ipv4Packet.check(PORT_UNREACH.subarray(14)));
    const r = ok(Ipv4Repr.parse(p));
    assert.deepEqual(r, {
      src: ip('10.99.0.2'), dst: ip('10.99.0.1'), protocol: IPPROTO_ICMP, payloadLen: 41, ttl: 64, tos: 0xc0,
      ident: 0x93a9, dontFrag: false, moreFrags: false, fragOffset: 0, options: null,
    });
    assert.equal(p.dscp, 0x30);
    assert.equal(p.payload.length, 41);
  });

  it('round-trips captured headers to identical bytes', () => {
    for (const frame of [ECHO_REPLY, PORT_UNREACH, LO_UDP]) {
      const p = ok(Ipv4Packet.check(frame.subarray(14)));
      const r = ok(Ipv4Repr.parse(p));
      const out = new Uint8Array(Ipv4Repr.bufferLen(r));
      Ipv4Repr.emit(r, out);
      assert.deepEqual(out, frame.subarray(14, 34));
    }
  });

  it('stops the payload at the total length when Ethernet padded the frame', () => {
    const padded = new Uint8Array(46);
    padded.set(LO_UDP.subarray(14));
    const p = ok(Ipv4Packet.check(padded));
    assert.equal(p.payload.length, 13);
  });

  it('carries options and fragment fields through emit and parse', () => {
    const rr = Uint8Array.from([IPOPT_RR, 7, 4, 0, 0, 0, 0]);
    const r: Ipv4Repr = {
      src: ip('10.0.0.1'), dst: ip('10.0.0.2'), protocol: IPPROTO_UDP, payloadLen: 8, ttl: 1, tos: 0,
      ident: 0xbeef, dontFrag: false, moreFrags: true, fragOffset: 1480, options: rr,
    };
    assert.equal(Ipv4Repr.bufferLen(r), 28);
    const buf = new Uint8Array(Ipv4Repr.bufferLen(r) + 8);
    Ipv4Repr.emit(r, buf);
    assert.equal(buf[0], 0x47);
    assert.equal(buf[27], 0, 'padded with EOL');
    const p = ok(Ipv4Packet.check(buf));
    assert.equal(p.fragWord, 0x2000 | 185);
    const back = ok(Ipv4Repr.parse(p));
    assert.equal(back.moreFrags, true);
    assert.equal(back.fragOffset, 1480);
    assert.deepEqual(back.options, Uint8Array.from([...rr, 0]));
    const opts = parseIpv4Options(back.options!);
    assert.ok(!(opts instanceof WireError));
    assert.deepEqual(opts.map((o) => o.type), [IPOPT_RR]);
  });

  it('rejects bad headers with errors naming the field', () => {
    const h = () => LO_UDP.slice(14);
    err(Ipv4Packet.check(h().subarray(0, 19)), 'truncated', 'header', /^ipv4: packet: 19 bytes < 20$/);
    const a = h(); a[0] = 0x44;
    err(Ipv4Packet.check(a), 'malformed', 'headerLength', /^ipv4: header length 4 words < 5$/);
    const b = h(); b[0] = 0x4f;
    err(Ipv4Packet.check(b), 'truncated', 'headerLength', /60 byte header/);
    const c = h(); c[3] = 0x30;
    err(Ipv4Packet.check(c), 'truncated', 'totalLength', /total length 48 > 33 bytes received/);
    const d = h(); d[2] = 0; d[3] = 16;
    err(Ipv4Packet.check(d), 'malformed', 'totalLength', /total length 16 < header length 20/);
    const e = h(); e[0] = 0x65;
    err(Ipv4Repr.parse(ok(Ipv4Packet.check(e))), 'malformed', 'version', /version 6 != 4/);
    const f = h(); f[8] = 63;
    const fe = err(Ipv4Repr.parse(ok(Ipv4Packet.check(f))), 'checksum', 'checksum', /does not verify/);
    assert.equal(fe.offset, 10);
    assert.equal(Ipv4Repr.parse(ok(Ipv4Packet.check(f)), { checksum: false }) instanceof WireError, false, 'offloaded checksums are not rechecked');
    const g = h(); g[6] = 0x1f; g[7] = 0xff; // offset 65528 + 13 bytes
    Ipv4Packet.unchecked(g).fillChecksum();
    err(Ipv4Repr.parse(ok(Ipv4Packet.check(g))), 'malformed', 'fragmentOffset', /65528 \+ payload 13 > 65535/);
  });

  it('rejects malformed options', () => {
    const mk = (opts: number[]): Uint8Array => {
      const b = new Uint8Array(20 + opts.length);
      b.set(LO_UDP.subarray(14, 34));
      b[0] = 0x40 | ((20 + opts.length) / 4);
      b[3] = 20 + opts.length;
      b.set(opts, 20);
      Ipv4Packet.unchecked(b).fillChecksum();
      return b;
    };
    ok(Ipv4Repr.parse(ok(Ipv4Packet.check(mk([1, 1, 1, 0])))));
    err(Ipv4Repr.parse(ok(Ipv4Packet.check(mk([7, 1, 0, 0])))), 'malformed', 'options', /option 7 length 1 < 2/);
    err(Ipv4Repr.parse(ok(Ipv4Packet.check(mk([7, 9, 4, 0])))), 'malformed', 'options', /runs past the header/);
    err(Ipv4Repr.parse(ok(Ipv4Packet.check(mk([1, 1, 1, 7])))), 'malformed', 'options', /no length byte/);
  });

  it('refuses to emit impossible headers', () => {
    const r: Ipv4Repr = {
      src: 1, dst: 2, protocol: 17, payloadLen: 0, ttl: 64, tos: 0, ident: 0, dontFrag: false, moreFrags: false, fragOffset: 3, options: null,
    };
    assert.throws(() => Ipv4Repr.emit(r, new Uint8Array(20)), /not a multiple of 8/);
    assert.throws(() => Ipv4Repr.emit({ ...r, fragOffset: 0, options: new Uint8Array(41) }, new Uint8Array(64)), /options need 44 bytes > 40/);
    assert.throws(() => Ipv4Repr.emit({ ...r, fragOffset: 0, payloadLen: 65516 }, new Uint8Array(20)), /total length 65536/);
  });
});

describe('icmpv4', () => {
  it('parses a captured echo reply', () => {
    const p = ok(Icmpv4Packet.check(ECHO_REPLY.subarray(34)));
    const r = ok(Icmpv4Repr.parse(p));
    assert.equal(r.kind, 'echoReply');
    if (r.kind !== 'echoReply') return;
    assert.equal(r.ident, 0x1234);
    assert.equal(r.seq, 1);
    assert.equal(r.data.length, 40);
    assert.equal(r.data[0], 0x10);
  });

  it('parses a captured port unreachable with its quoted datagram', () => {
    const r = ok(Icmpv4Repr.parse(ok(Icmpv4Packet.check(PORT_UNREACH.subarray(34)))));
    assert.equal(r.kind, 'destUnreachable');
    if (r.kind !== 'destUnreachable') return;
    assert.equal(r.code, ICMP_UNREACH_PORT);
    assert.equal(r.header.protocol, IPPROTO_UDP);
    assert.equal(formatIpv4(r.header.src), '10.99.0.1');
    assert.equal(r.header.payloadLen, 13);
    const udp = ok(UdpDatagram.check(r.data));
    assert.equal(udp.srcPort, 43134);
    assert.equal(udp.dstPort, 45679);
  });

  it('round-trips captured messages to identical bytes', () => {
    for (const frame of [ECHO_REPLY, PORT_UNREACH]) {
      const msg = frame.subarray(34);
      const r = ok(Icmpv4Repr.parse(ok(Icmpv4Packet.check(msg))));
      const out = new Uint8Array(Icmpv4Repr.bufferLen(r));
      Icmpv4Repr.emit(r, out);
      assert.deepEqual(out, msg);
    }
  });

  it('emits time exceeded and fragmentation needed with a verifying checksum', () => {
    const orig = ok(Ipv4Repr.parse(ok(Ipv4Packet.check(LO_UDP.subarray(14)))));
    const te: Icmpv4Repr = { kind: 'timeExceeded', code: ICMP_TIMXCEED_INTRANS, header: orig, data: LO_UDP.subarray(34, 42) };
    const buf = new Uint8Array(Icmpv4Repr.bufferLen(te));
    Icmpv4Repr.emit(te, buf);
    assert.equal(buf.length, 8 + 20 + 8);
    assert.equal(checksumOk(buf), true);
    assert.deepEqual(ok(Icmpv4Repr.parse(ok(Icmpv4Packet.check(buf)))), te);
    const nf: Icmpv4Repr = { kind: 'destUnreachable', code: ICMP_UNREACH_NEEDFRAG, nextHopMtu: 1400, header: orig, data: LO_UDP.subarray(34, 42) };
    const b2 = new Uint8Array(Icmpv4Repr.bufferLen(nf));
    Icmpv4Repr.emit(nf, b2);
    assert.deepEqual(b2.subarray(4, 8), hex('00000578'));
    assert.deepEqual(ok(Icmpv4Repr.parse(ok(Icmpv4Packet.check(b2)))), nf);
  });

  it('reports bad checksums, codes, quotes and types distinctly', () => {
    const m = () => PORT_UNREACH.slice(34);
    const a = m(); a[20] = a[20]! ^ 1;
    err(Icmpv4Repr.parse(ok(Icmpv4Packet.check(a))), 'checksum', 'checksum');
    const b = m(); b[1] = 16;
    Icmpv4Packet.unchecked(b).fillChecksum();
    err(Icmpv4Repr.parse(ok(Icmpv4Packet.check(b))), 'malformed', 'code', /type 3 code 16 > 15/);
    const c = m().subarray(0, 20);
    Icmpv4Packet.unchecked(c).fillChecksum();
    err(Icmpv4Repr.parse(ok(Icmpv4Packet.check(c))), 'truncated', 'quotedHeader', /destination unreachable quotes a bad IPv4 header/);
    const d = m().subarray(0, 32);
    Icmpv4Packet.unchecked(d).fillChecksum();
    err(Icmpv4Repr.parse(ok(Icmpv4Packet.check(d))), 'truncated', 'quotedData', /quotes 4 bytes of the original payload < 8/);
    const e = m(); e[0] = 13; e[1] = 0;
    Icmpv4Packet.unchecked(e).fillChecksum();
    err(Icmpv4Repr.parse(ok(Icmpv4Packet.check(e))), 'unsupported', 'type', /type 13/);
    err(Icmpv4Packet.check(new Uint8Array(7)), 'truncated', 'header');
  });
});

describe('udp', () => {
  const src = ip('127.0.0.1');

  it('reads a captured datagram whose checksum field holds the pseudo-header sum (checksum offload)', () => {
    const d = ok(UdpDatagram.check(LO_UDP.subarray(34)));
    assert.equal(d.srcPort, 56878);
    assert.equal(d.dstPort, 45679);
    assert.equal(d.length, 13);
    assert.equal(new TextDecoder().decode(d.payload), 'hello');
    assert.equal(d.checksum, fold16(pseudoSumV4(src, src, IPPROTO_UDP, 13)), 'Linux left the folded pseudo-header sum for the NIC');
    err(UdpRepr.parse(d, src, src), 'checksum', 'checksum');
    assert.deepEqual(ok(UdpRepr.parse(d, src, src, { checksum: false })), { srcPort: 56878, dstPort: 45679, payloadLen: 5 });
  });

  it('fills and verifies checksums, and round-trips to identical bytes', () => {
    const seg = LO_UDP.slice(34);
    const d = UdpDatagram.unchecked(seg);
    d.fillChecksum(src, src);
    assert.equal(d.verifyChecksum(src, src), true);
    const r = ok(UdpRepr.parse(ok(UdpDatagram.check(seg)), src, src));
    const out = new Uint8Array(UdpRepr.bufferLen(r));
    out.set(seg.subarray(8), 8);
    UdpRepr.emit(r, out, { src, dst: src });
    assert.deepEqual(out, seg);
  });

  it('treats a zero checksum as none over IPv4 and as invalid over IPv6', () => {
    const seg = LO_UDP.slice(34);
    seg[6] = 0; seg[7] = 0;
    ok(UdpRepr.parse(ok(UdpDatagram.check(seg)), src, src));
    const v6 = new Uint8Array(16); v6[15] = 1;
    err(UdpRepr.parse(ok(UdpDatagram.check(seg)), v6, v6), 'checksum', 'checksum', /zero checksum over IPv6/);
  });

  it('sends a computed zero checksum as 0xffff', () => {
    // Choose two payload bytes that make the one's complement sum 0xffff.
    const buf = new Uint8Array(10);
    const r: UdpRepr = { srcPort: 1000, dstPort: 2000, payloadLen: 2 };
    UdpRepr.emit(r, buf);
    const s = fold16(sum16(buf, 0, 10, pseudoSumV4(src, src, IPPROTO_UDP, 10)));
    const w = 0xffff - s;
    buf[8] = w >>> 8; buf[9] = w & 0xff;
    UdpRepr.emit(r, buf, { src, dst: src });
    assert.equal(UdpDatagram.unchecked(buf).checksum, 0xffff);
    assert.equal(UdpDatagram.unchecked(buf).verifyChecksum(src, src), true);
    assert.equal(udpChecksumField(0xffff), 0xffff);
  });

  it('rejects bad length fields', () => {
    const a = LO_UDP.slice(34); a[5] = 7;
    err(UdpDatagram.check(a), 'malformed', 'length', /^udp: length field 7 < 8$/);
    const b = LO_UDP.slice(34); b[5] = 14;
    err(UdpDatagram.check(b), 'truncated', 'length', /length field 14 > 13 bytes received/);
    err(UdpDatagram.check(new Uint8Array(4)), 'truncated', 'header');
  });
});

describe('pcap', () => {
  it('writes a file header and records that read back, cut to the snaplen', () => {
    const w = new PcapWriter({ snaplen: 60 });
    const file = new Uint8Array([...w.header(), ...w.record(pcapTimeFromMs(1_700_000_000_123.456), ECHO_REPLY),
      ...w.record(pcapTimeFromNs(5_000_000_007n), ARP_REQUEST.subarray(0, 10), ARP_REQUEST.subarray(10))]);
    assert.deepEqual(file.subarray(0, 4), hex('d4c3b2a1'), 'little-endian microsecond magic');
    const cap = readPcap(file);
    assert.ok(!(cap instanceof WireError));
    assert.equal(cap.header.linktype, LINKTYPE_ETHERNET);
    assert.equal(cap.header.snaplen, 60);
    assert.equal(cap.records.length, 2);
    assert.deepEqual(cap.records[0]!.time, { sec: 1_700_000_000, nsec: 123_456_000 });
    assert.equal(cap.records[0]!.origLen, ECHO_REPLY.length);
    assert.deepEqual(cap.records[0]!.data, ECHO_REPLY.subarray(0, 60));
    assert.deepEqual(cap.records[1]!.time, { sec: 5, nsec: 0 });
    assert.deepEqual(cap.records[1]!.data, ARP_REQUEST);
  });

  it('reads big-endian and nanosecond files', () => {
    const be = hex('a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000001'
      + '00000002 00000003 00000002 00000004 abcd');
    const cap = readPcap(be);
    assert.ok(!(cap instanceof WireError));
    assert.equal(cap.header.nanoseconds, true);
    assert.equal(cap.header.littleEndian, false);
    assert.deepEqual(cap.records[0], { time: { sec: 2, nsec: 3 }, origLen: 4, data: hex('abcd') });
  });

  it('rejects truncated and foreign files', () => {
    const w = new PcapWriter();
    const file = new Uint8Array([...w.header(), ...w.record({ sec: 0, nsec: 0 }, ARP_REPLY)]);
    err(readPcap(file.subarray(0, file.length - 1)), 'truncated', 'captureLength', /record 1 claims 42 bytes, 41 remain/);
    err(readPcap(file.subarray(0, 30)), 'truncated', 'record');
    err(readPcap(hex('0a0d0d0a' + '00'.repeat(20))), 'malformed', 'magic', /pcapng/);
    err(readPcap(new Uint8Array(10)), 'truncated', 'header');
  });
});
