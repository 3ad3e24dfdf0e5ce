/**
 * TCP codec (src/net/wire/tcp.ts): header, flags, options, pseudo-header checksum. The
 * captured segments are one Linux connection over loopback (November 2026); loopback leaves the
 * checksum field holding the folded pseudo-header sum for offload, which is itself a test of
 * our pseudo-header.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WireError, fold16, pseudoSumV4, parseIpv4, parseIpv6, IPPROTO_TCP, Ipv4Packet,
  TcpSegment, TcpRepr, TH_ACK, TH_AE, TH_FIN, TH_PUSH, TH_SYN, TH_CWR, TH_ECE, formatTcpFlags, tcpSegLen, seqAdd,
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

const LO = parseIpv4('127.0.0.1')!;
const ETH = '000000000000000000000000 0800';
// 127.0.0.1:52450 -> 127.0.0.1:45678, then back; SYN, SYN-ACK, ACK, data "hi", ACK, FIN-ACK.
const FRAMES = [
  `${ETH} 4500003c55bb40004006e6fe7f0000017f000001 cce2b26e943a347d00000000a002ffd7fe3000000204ffd70402080a8ce6fbb5000000000103030a`,
  `${ETH} 4500003c0000400040063cba7f0000017f000001 b26ecce20280feac943a347ea012ffcbfe3000000204ffd70402080aa5400b7a8ce6fbb50103030a`,
  `${ETH} 4500003455bc40004006e7057f0000017f000001 cce2b26e943a347e0280fead80100040fe2800000101080a8ce6fbb5a5400b7a`,
  `${ETH} 450000362cda400040060fe67f0000017f000001 b26ecce20280fead943a347e80180040fe2a00000101080aa5400b7c8ce6fbb56869`,
  `${ETH} 4500003455bd40004006e7047f0000017f000001 cce2b26e943a347e0280feaf80100040fe2800000101080a8ce6fbb7a5400b7c`,
  `${ETH} 450000342cdb400040060fe77f0000017f000001 b26ecce20280feaf943a347e80110040fe2800000101080aa5400b7d8ce6fbb7`,
].map(hex);

/** The TCP segment of a captured frame (a copy). */
const seg = (i: number): Uint8Array => FRAMES[i]!.slice(34);

/** The same with a full, correct checksum. */
function fixed(i: number): Uint8Array {
  const s = seg(i);
  TcpSegment.unchecked(s).fillChecksum(LO, LO);
  return s;
}

function base(over: Partial<TcpRepr> = {}): TcpRepr {
  return {
    srcPort: 1234, dstPort: 80, seq: 1000, ack: 2000, flags: TH_ACK, window: 512, urgent: 0,
    mss: null, windowScale: null, sackPermitted: false, sackBlocks: null, timestamp: null, unknownOptions: null, ...over,
  };
}

function emitted(r: TcpRepr): Uint8Array {
  const b = new Uint8Array(TcpRepr.bufferLen(r));
  TcpRepr.emit(r, b);
  return b;
}

/** Build a segment with the given option bytes and a valid checksum. */
function withOptions(opts: number[], payload: number[] = []): Uint8Array {
  const hl = 20 + opts.length;
  const b = new Uint8Array(hl + payload.length);
  b.set(seg(2).subarray(0, 20));
  b[12] = (hl / 4) << 4;
  b.set(opts, 20);
  b.set(payload, hl);
  TcpSegment.unchecked(b).fillChecksum(LO, LO);
  return b;
}

describe('tcp segments captured from Linux', () => {
  it('parses the SYN: flags, window, MSS, SACK-permitted, timestamps, window scale', () => {
    const r = ok(TcpRepr.parse(ok(TcpSegment.check(fixed(0))), LO, LO));
    assert.deepEqual(r, {
      srcPort: 52450, dstPort: 45678, seq: 0x943a347d, ack: 0, flags: TH_SYN, window: 65495, urgent: 0,
      mss: 65495, windowScale: 10, sackPermitted: true, sackBlocks: null, timestamp: { tsval: 0x8ce6fbb5, tsecr: 0 }, unknownOptions: null,
    });
  });

  it('reads the handshake and data segments in sequence space', () => {
    const syn = ok(TcpSegment.check(seg(0)));
    const synack = ok(TcpSegment.check(seg(1)));
    const data = ok(TcpSegment.check(seg(3)));
    const fin = ok(TcpSegment.check(seg(5)));
    assert.equal(synack.flags, TH_SYN | TH_ACK);
    assert.equal(synack.ack, seqAdd(syn.seq, syn.segLen));
    assert.equal(syn.segLen, 1);
    assert.equal(data.flags, TH_PUSH | TH_ACK);
    assert.equal(new TextDecoder().decode(data.payload), 'hi');
    assert.equal(data.segLen, 2);
    assert.equal(fin.fin && fin.ackFlag, true);
    assert.equal(fin.segLen, 1);
    assert.equal(fin.seq, seqAdd(data.seq, data.segLen));
    assert.equal(data.headerLen, 32);
    assert.equal(data.dataOffset, 8);
  });

  it('computes the pseudo-header sum Linux left in the checksum field for offload', () => {
    for (let i = 0; i < FRAMES.length; i++) {
      const s = ok(TcpSegment.check(seg(i)));
      const iplen = ok(Ipv4Packet.check(FRAMES[i]!.subarray(14))).payload.length;
      assert.equal(s.checksum, fold16(pseudoSumV4(LO, LO, IPPROTO_TCP, iplen)), `segment ${i}`);
    }
  });

  it('reports the unfinished checksum as a checksum error, and accepts it when told the hardware verified', () => {
    const s = ok(TcpSegment.check(seg(0)));
    const e = err(TcpRepr.parse(s, LO, LO), 'checksum', 'checksum', /^tcp: checksum 0xfe30 does not verify$/);
    assert.equal(e.offset, 16);
    ok(TcpRepr.parse(s, LO, LO, { checksum: false }));
  });

  it('round-trips every captured segment to identical bytes', () => {
    for (let i = 0; i < FRAMES.length; i++) {
      const orig = fixed(i);
      const s = ok(TcpSegment.check(orig));
      const r = ok(TcpRepr.parse(s, LO, LO));
      const out = new Uint8Array(orig.length);
      out.set(s.payload, s.headerLen);
      assert.equal(TcpRepr.bufferLen(r), s.headerLen);
      TcpRepr.emit(r, out, { src: LO, dst: LO, payloadLen: s.payload.length });
      assert.deepEqual(out, orig, `segment ${i}`);
    }
  });
});

describe('tcp options', () => {
  it('lays out a SYN as Linux does', () => {
    const r = base({ flags: TH_SYN, mss: 1460, sackPermitted: true, timestamp: { tsval: 1, tsecr: 0 }, windowScale: 7 });
    assert.deepEqual(emitted(r).subarray(20), hex('020405b4 0402080a 00000001 00000000 01030307'));
    const noTs = base({ flags: TH_SYN, mss: 1460, sackPermitted: true, windowScale: 7 });
    assert.deepEqual(emitted(noTs).subarray(20), hex('020405b4 01010402 01030307'));
  });

  it('carries SACK blocks after the timestamp and round-trips them', () => {
    const r = base({ timestamp: { tsval: 0xdeadbeef, tsecr: 7 }, sackBlocks: [{ left: 0xfffffff0, right: 0x10 }, { left: 100, right: 200 }] });
    const b = emitted(r);
    assert.equal(b.length, 52);
    assert.deepEqual(b.subarray(20), hex('0101080a deadbeef 00000007 01010512 fffffff0 00000010 00000064 000000c8'));
    const s = ok(TcpSegment.check(b));
    assert.deepEqual(ok(TcpRepr.parse(s, LO, LO, { checksum: false })), r);
  });

  it('keeps unknown options (a fast open cookie) and round-trips them', () => {
    const cookie = hex('0102030405060708');
    const r = base({ flags: TH_SYN, mss: 1460, sackPermitted: true, timestamp: { tsval: 5, tsecr: 0 }, windowScale: 7, unknownOptions: [{ kind: 34, data: cookie }] });
    const b = emitted(r);
    assert.equal(b.length, 52, '30 option bytes padded to 32');
    assert.deepEqual(b.subarray(40, 52), hex('220a0102030405060708 0000'));
    const back = ok(TcpRepr.parse(ok(TcpSegment.check(b)), LO, LO, { checksum: false }));
    assert.deepEqual(back, r);
    assert.deepEqual(emitted(back), b);
  });

  it('stops at end-of-options and skips NOPs', () => {
    const s = withOptions([1, 1, 2, 4, 5, 0xb4, 0, 3, 3, 7, 0, 0]);
    const r = ok(TcpRepr.parse(ok(TcpSegment.check(s)), LO, LO));
    assert.equal(r.mss, 1460);
    assert.equal(r.windowScale, null, 'nothing after EOL counts');
  });

  it('reports a window scale above 14 as sent, for the state machine to clamp', () => {
    const r = ok(TcpRepr.parse(ok(TcpSegment.check(withOptions([1, 3, 3, 15]))), LO, LO));
    assert.equal(r.windowScale, 15);
  });

  it('rejects malformed options, naming them', () => {
    const cases: [number[], RegExp][] = [
      [[2, 0, 0, 0], /option 2 length 0 < 2/],
      [[30, 1, 0, 0], /option 30 length 1 < 2/],
      [[1, 1, 8, 10], /option 8 length 10 runs past the header \(2 bytes left\)/],
      [[2, 3, 5, 0], /MSS option length 3 != 4/],
      [[3, 4, 7, 0], /window scale option length 4 != 3/],
      [[4, 3, 0, 0], /SACK-permitted option length 3 != 2/],
      [[5, 2, 0, 0], /SACK option length 2 is not 2 \+ 8n/],
      [[5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], /SACK option length 9/],
      [[8, 8, 0, 0, 0, 0, 0, 0], /timestamp option length 8 != 10/],
      [[1, 1, 1, 2], /option 2 at offset 23 has no length byte/],
    ];
    for (const [opts, re] of cases) {
      const e = err(TcpRepr.parse(ok(TcpSegment.check(withOptions(opts))), LO, LO), 'malformed', 'options', re);
      assert.ok(e.offset >= 20 && e.offset < 20 + opts.length, `offset ${e.offset} inside the options`);
    }
  });

  it('refuses to emit more than 40 option bytes', () => {
    const blocks = [1, 2, 3, 4].map((i) => ({ left: i * 100, right: i * 100 + 50 }));
    assert.equal(TcpRepr.bufferLen(base({ sackBlocks: blocks })), 56, 'four blocks fit without timestamps');
    assert.throws(() => emitted(base({ sackBlocks: blocks, timestamp: { tsval: 1, tsecr: 1 } })), /tcp: options need 48 bytes > 40/);
  });
});

describe('tcp header', () => {
  it('rejects short headers and bad data offsets', () => {
    err(TcpSegment.check(new Uint8Array(19)), 'truncated', 'header', /^tcp: segment: 19 bytes < 20$/);
    const a = seg(2); a[12] = 0x40;
    err(TcpSegment.check(a), 'malformed', 'dataOffset', /^tcp: data offset 4 words < 5$/);
    const b = seg(2); b[12] = 0xf0;
    err(TcpSegment.check(b), 'truncated', 'dataOffset', /60 byte header/);
  });

  it('keeps ECN and reserved flag bits through a round trip', () => {
    const r = base({ flags: TH_ACK | TH_ECE | TH_CWR | TH_AE });
    const b = emitted(r);
    assert.equal(b[12], 0x51);
    assert.equal(b[13], 0xd0);
    assert.equal(ok(TcpRepr.parse(ok(TcpSegment.check(b)), LO, LO, { checksum: false })).flags, r.flags);
    assert.equal(formatTcpFlags(r.flags), 'ACK,ECE,CWR,AE');
    assert.equal(formatTcpFlags(TH_SYN | TH_ACK), 'SYN,ACK');
  });

  it('counts SYN and FIN in sequence space', () => {
    assert.equal(tcpSegLen(TH_SYN, 0), 1);
    assert.equal(tcpSegLen(TH_FIN | TH_ACK, 10), 11);
    assert.equal(tcpSegLen(TH_SYN | TH_FIN, 0), 2);
    assert.equal(tcpSegLen(TH_ACK, 0), 0);
  });

  it('checksums over the IPv6 pseudo-header too', () => {
    const a = parseIpv6('2001:db8::1')!;
    const b = parseIpv6('2001:db8::2')!;
    const r = base({ flags: TH_PUSH | TH_ACK, timestamp: { tsval: 1, tsecr: 2 } });
    const payload = new TextEncoder().encode('hello, world');
    const buf = new Uint8Array(TcpRepr.bufferLen(r) + payload.length);
    buf.set(payload, TcpRepr.bufferLen(r));
    TcpRepr.emit(r, buf, { src: a, dst: b, payloadLen: payload.length });
    const s = ok(TcpSegment.check(buf));
    assert.equal(s.verifyChecksum(a, b), true);
    assert.equal(s.verifyChecksum(b, a), true, 'the sum does not depend on the order of the addresses');
    assert.equal(s.verifyChecksum(a, a), false);
    assert.throws(() => s.verifyChecksum(LO, b), /different address families/);
  });
});
