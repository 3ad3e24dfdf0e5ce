/**
 * TCP against a scripted peer (gVisor style): the test speaks for the other end, one segment at
 * a time, and checks the kernel's segments field by field — options on the SYN, fast
 * retransmit, the RTO backoff, zero-window probes, delayed ACKs, Nagle, RSTs in every state,
 * PAWS, ICMP errors during connect.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IPPROTO_TCP } from '../../src/net/inet/transport.js';
import { SHUT_WR, SOL_SOCKET, SO_ERROR, SO_RCVBUF } from '../../src/kern/types.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../../src/net/wire/tcp.js';
import {
  TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK,
  TCPS_SYN_RECEIVED, TCPS_TIME_WAIT, TCP_NODELAY, type Tcb,
} from '../../src/net/inet/tcp/index.js';
import {
  PEER_ISS, TestNet, buildSeg, expectSeg, pattern, rejectsWith, sa, scriptedConnect, type Host, type Peer, type ScriptConn,
} from './harness.js';

const MSS = 1460;

async function setup(): Promise<{ net: TestNet; a: Host; peer: Peer }> {
  const net = await TestNet.create({ hosts: ['10.0.0.1'], peers: ['10.0.0.9'] });
  return { net, a: net.hosts[0]!, peer: net.peers[0]! };
}

function ack(peer: Peer, a: Host, c: ScriptConn, ackNo: number, window = 65535, extra: { seq?: number; flags?: number; payload?: Uint8Array } = {}): void {
  peer.send(a, {
    sport: c.pport, dport: c.kport, seq: extra.seq ?? c.pseq, ack: ackNo, flags: extra.flags ?? TH_ACK, window,
    ...(extra.payload !== undefined ? { payload: extra.payload } : {}),
  });
}

describe('tcp: scripted peer', () => {
  it('the SYN carries MSS, window scale, SACK-permitted and timestamps; the ACK echoes the peer\'s timestamp', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = expectSeg(peer.next(), { flags: 'SYN', mss: 1460, wscale: 3, sackPermitted: true, ts: { tsecr: 0 }, window: 32768 }, 'SYN');
    peer.send(a, {
      sport: 80, dport: syn.repr.srcPort, seq: PEER_ISS, ack: syn.repr.seq + 1, flags: TH_SYN | TH_ACK, window: 20000,
      mss: 1000, wscale: 2, sackPermitted: true, ts: { tsval: 777, tsecr: syn.repr.timestamp!.tsval },
    });
    await p;
    expectSeg(peer.next(), { flags: 'ACK', seq: syn.repr.seq + 1, ack: PEER_ISS + 1, window: 32768 >> 3, ts: { tsecr: 777 } }, 'ACK');
    const tp = a.conn();
    assert.equal(tp.snd_scale, 2);
    assert.equal(tp.rcv_scale, 3);
    assert.equal(tp.t_maxseg, 1000);
    assert.equal(tp.segSize, 1000 - 12, 'timestamps take 12 bytes of each segment');
    assert.ok(tp.useSack && tp.useTs);
    // the peer's window is scaled from now on
    ack(peer, a, { fd, kport: syn.repr.srcPort, pport: 80, kseq: 0, pseq: PEER_ISS + 1, syn }, syn.repr.seq + 1, 300);
    assert.equal(tp.snd_wnd, 1200);
    await net.halt();
  });

  it('without options in the SYN,ACK the connection uses none (MSS 536, no scaling)', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = peer.next();
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: PEER_ISS, ack: syn.repr.seq + 1, flags: TH_SYN | TH_ACK, window: 8192 });
    await p;
    expectSeg(peer.next(), { flags: 'ACK', ts: false, sack: null, window: 32768 });
    const tp = a.conn();
    assert.equal(tp.t_maxseg, 536);
    assert.equal(tp.snd_scale + tp.rcv_scale, 0);
    assert.ok(!tp.useTs && !tp.useSack);
    await net.halt();
  });

  it('an unanswered connect retransmits its SYN with backoff and gives up after the establishment timeout', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    let err: unknown;
    a.sys.connect(a.l, fd, sa('10.0.0.9', 80)).catch((e: unknown) => { err = e; });
    await net.settle();
    const syn = peer.next();
    const start = net.now();
    const times: number[] = [];
    while (err === undefined && net.now() - start < 100_000) {
      await net.advance(1000);
      for (const s of peer.take()) {
        expectSeg(s, { flags: 'SYN', seq: syn.repr.seq, mss: 1460 }, 'retransmitted SYN');
        times.push(net.now() - start);
      }
    }
    assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000, 63000]);
    assert.equal((err as { code?: string } | undefined)?.code, 'ETIMEDOUT');
    assert.equal(net.now() - start, 75_000, 'net.inet.tcp.keepinit bounds the attempt');
    assert.equal(a.tcp.pcbs.connCount, 0);
    await net.halt();
  });

  it('SO_RCVBUF sets the window of the SYN; a reader that drains the buffer reopens a closed window at once', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    await a.sys.setsockopt(a.l, fd, SOL_SOCKET, SO_RCVBUF, 10_000);
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = expectSeg(peer.next(), { flags: 'SYN', window: 10_000 });
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: PEER_ISS, ack: syn.repr.seq + 1, flags: TH_SYN | TH_ACK, window: 65535, mss: 1460 });
    await p;
    peer.take();
    const c = { fd, kport: syn.repr.srcPort, pport: 80, kseq: (syn.repr.seq + 1) >>> 0, pseq: (PEER_ISS + 1) >>> 0, syn };
    // fill the window: 7 segments of 1460 = 10220 > 10000; the last 220 bytes are beyond it
    for (let i = 0; i < 7; i++) ack(peer, a, c, c.kseq, 65535, { seq: c.pseq + i * MSS, payload: pattern(MSS, i) });
    await net.advance(100); // the last segment's ACK is a delayed one
    const acks = peer.take();
    expectSeg(acks[acks.length - 1], { ack: c.pseq + 10_000, window: 0 }, 'the window is closed');
    assert.equal(a.tcp.stats.rcvbyteafterwin, 220);
    const buf = new Uint8Array(20_000);
    assert.equal(await a.sys.read(a.l, fd, buf), 10_000);
    expectSeg(peer.next('window update'), { ack: c.pseq + 10_000, window: 10_000 });
    await net.halt();
  });

  it('three duplicate ACKs trigger a fast retransmit of the missing segment, without waiting for the RTO', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    await a.sys.write(a.l, c.fd, pattern(5 * MSS));
    await net.settle();
    const segs = peer.take();
    assert.equal(segs.length, 5);
    segs.forEach((s, i) => expectSeg(s, { seq: c.kseq + i * MSS, len: MSS, flags: i === 4 ? 'PSH,ACK' : 'ACK' }, `segment ${i}`));
    ack(peer, a, c, c.kseq + MSS);
    assert.deepEqual(peer.take(), [], 'nothing to send after the first ACK');
    ack(peer, a, c, c.kseq + MSS);
    ack(peer, a, c, c.kseq + MSS);
    assert.deepEqual(peer.take(), [], 'two duplicates are not enough');
    ack(peer, a, c, c.kseq + MSS);
    expectSeg(peer.next('fast retransmit'), { flags: 'ACK', seq: c.kseq + MSS, len: MSS });
    assert.equal(a.tcp.stats.sndrexmitfast, 1);
    assert.equal(a.tcp.stats.fastrecovery, 1);
    assert.equal(a.tcp.stats.rexmttimeo, 0);
    const tp = a.conn();
    assert.ok(tp.inRecovery);
    // a partial ACK retransmits the next hole at once (NewReno)
    ack(peer, a, c, c.kseq + 3 * MSS);
    expectSeg(peer.next('partial-ACK retransmit'), { seq: c.kseq + 3 * MSS, len: MSS });
    ack(peer, a, c, c.kseq + 5 * MSS);
    assert.ok(!tp.inRecovery, 'the full ACK ends recovery');
    assert.equal(tp.cc.cwnd, tp.cc.ssthresh);
    await net.halt();
  });

  it('the retransmission timer backs off exponentially up to 64 s, then the connection fails with ETIMEDOUT', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    const start = net.now();
    await a.sys.write(a.l, c.fd, pattern(100));
    await net.settle();
    expectSeg(peer.next(), { seq: c.kseq, len: 100 });
    let err: unknown;
    a.sys.read(a.l, c.fd, new Uint8Array(10)).catch((e: unknown) => { err = e; });
    const times: number[] = [];
    let rst = -1;
    while (err === undefined && net.now() - start < 700_000) {
      await net.advance(1000);
      for (const s of peer.take()) {
        if (s.flags.includes('RST')) rst = net.now() - start;
        else {
          expectSeg(s, { seq: c.kseq, len: 100 }, 'retransmission');
          times.push(net.now() - start);
        }
      }
    }
    const gaps = times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]!));
    assert.deepEqual(gaps, [1000, 2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000, 64000, 64000, 64000]);
    assert.equal((err as { code?: string }).code, 'ETIMEDOUT');
    assert.equal(rst, times[times.length - 1]! + 64000, 'the connection is dropped (with a RST) one more RTO later');
    assert.equal(a.tcp.stats.timeoutdrop, 1);
    assert.equal(a.tcp.stats.rexmttimeo, 13);
    await net.halt();
  });

  it('a zero window is probed with backoff until it opens, then the rest of the data flows', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer, 80, { window: 1000 });
    await a.sys.write(a.l, c.fd, pattern(3000));
    await net.settle();
    expectSeg(peer.next(), { seq: c.kseq, len: 1000 });
    assert.deepEqual(peer.take(), []);
    ack(peer, a, c, c.kseq + 1000, 0);
    const probes: number[] = [];
    const start = net.now();
    for (let t = 0; t < 40_000; t += 500) {
      await net.advance(500);
      for (const s of peer.take()) {
        expectSeg(s, { seq: c.kseq + 1000, len: 1 }, 'window probe');
        probes.push(net.now() - start);
        ack(peer, a, c, c.kseq + 1000, 0);
      }
    }
    assert.deepEqual(probes, [5000, 10000, 15000, 23000, 39000]);
    assert.equal(a.tcp.stats.persisttimeo, 5);
    assert.equal(a.tcp.stats.rexmttimeo, 0, 'no retransmission timeouts while probing');
    // the window opens: the 2000 remaining bytes go out from the first unacknowledged byte (the
    // partial last segment after the ACK of the first, Nagle)
    ack(peer, a, c, c.kseq + 1000, 65535);
    expectSeg(peer.next(), { seq: c.kseq + 1000, len: 1460 });
    assert.deepEqual(peer.take(), []);
    ack(peer, a, c, c.kseq + 2460, 65535);
    expectSeg(peer.next(), { seq: c.kseq + 2460, len: 540 });
    await net.halt();
  });

  it('a lone segment is acknowledged after the delayed-ACK time, every second segment at once', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    ack(peer, a, c, c.kseq, 65535, { flags: TH_ACK | TH_PUSH, payload: pattern(100) });
    assert.deepEqual(peer.take(), []);
    await net.advance(99);
    assert.deepEqual(peer.take(), [], 'no ACK before 100 ms');
    await net.advance(1);
    expectSeg(peer.next('delayed ACK'), { flags: 'ACK', ack: c.pseq + 100, len: 0 });
    assert.equal(a.tcp.stats.delack, 1);
    ack(peer, a, c, c.kseq, 65535, { seq: c.pseq + 100, payload: pattern(MSS) });
    assert.deepEqual(peer.take(), []);
    ack(peer, a, c, c.kseq, 65535, { seq: c.pseq + 100 + MSS, payload: pattern(MSS) });
    expectSeg(peer.next('ACK of two segments'), { ack: c.pseq + 100 + 2 * MSS });
    // out of order data is acknowledged at once (a duplicate ACK)
    ack(peer, a, c, c.kseq, 65535, { seq: c.pseq + 100 + 3 * MSS, payload: pattern(10) });
    expectSeg(peer.next('duplicate ACK'), { ack: c.pseq + 100 + 2 * MSS });
    await net.halt();
  });

  it('a pending delayed ACK goes out at once when the reader consumes pushed data', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    ack(peer, a, c, c.kseq, 65535, { flags: TH_ACK | TH_PUSH, payload: pattern(100) });
    assert.deepEqual(peer.take(), []);
    assert.equal(await a.sys.read(a.l, c.fd, new Uint8Array(200)), 100);
    expectSeg(peer.next('ACK on read'), { flags: 'ACK', ack: c.pseq + 100 });
    assert.equal(a.tcp.stats.delack, 0);
    await net.halt();
  });

  it('Nagle holds small writes while data is unacknowledged and coalesces them; TCP_NODELAY sends each at once', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    for (let i = 0; i < 3; i++) {
      await a.sys.write(a.l, c.fd, pattern(100, i + 1));
      await net.settle();
    }
    expectSeg(peer.next('first write'), { seq: c.kseq, len: 100 });
    assert.deepEqual(peer.take(), [], 'the next writes wait for the ACK');
    ack(peer, a, c, c.kseq + 100);
    expectSeg(peer.next('coalesced'), { seq: c.kseq + 100, len: 200 });
    await a.sys.setsockopt(a.l, c.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    assert.equal(await a.sys.getsockopt(a.l, c.fd, IPPROTO_TCP, TCP_NODELAY), 1);
    for (let i = 0; i < 3; i++) {
      await a.sys.write(a.l, c.fd, pattern(10, i + 1));
      await net.settle();
    }
    const segs = peer.take();
    assert.deepEqual(segs.map((s) => [s.repr.seq - c.kseq, s.payload.byteLength]), [[300, 10], [310, 10], [320, 10]]);
    await net.halt();
  });

  it('timestamps: PAWS drops an old duplicate and answers it with an ACK', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer, 80, { tsval: 1000, sackPermitted: true });
    const tp = a.conn();
    assert.ok(tp.useTs);
    const send = (seq: number, tsval: number, n: number): void => peer.send(a, {
      sport: c.pport, dport: c.kport, seq, ack: c.kseq, flags: TH_ACK, window: 65535, ts: { tsval, tsecr: 0 }, payload: pattern(n),
    });
    send(c.pseq, 2000, 100);
    assert.equal(tp.ts_recent, 2000);
    send(c.pseq + 100, 1500, 100);
    assert.equal(a.tcp.stats.pawsdrop, 1);
    expectSeg(peer.next('ACK for the PAWS drop'), { ack: c.pseq + 100, ts: { tsecr: 2000 } });
    assert.equal(a.k.sys !== undefined, true);
    send(c.pseq + 100, 2001, 100);
    assert.equal(a.conn().rcv_nxt, (c.pseq + 200) >>> 0);
    assert.equal(tp.so!.rcv.data, 200);
    await net.halt();
  });

  it('an out-of-order segment is acknowledged with a SACK block, and the hole\'s arrival acknowledges all', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer, 80, { sackPermitted: true });
    const send = (off: number, n: number): void => ack(peer, a, c, c.kseq, 65535, { seq: c.pseq + off, payload: pattern(n) });
    send(1000, 500);
    expectSeg(peer.next(), { ack: c.pseq, sack: [[c.pseq + 1000, c.pseq + 1500]] });
    send(2000, 500);
    expectSeg(peer.next(), { ack: c.pseq, sack: [[c.pseq + 2000, c.pseq + 2500], [c.pseq + 1000, c.pseq + 1500]] });
    send(1500, 500);
    expectSeg(peer.next(), { ack: c.pseq, sack: [[c.pseq + 1000, c.pseq + 2500]] });
    send(0, 1000);
    expectSeg(peer.next(), { ack: c.pseq + 2500, sack: null });
    assert.equal(a.conn().so!.rcv.data, 2500);
    await net.halt();
  });

  it('ICMP port unreachable during connect fails it with ECONNREFUSED; a quote with a wrong sequence number is ignored', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = peer.next();
    const quoted = buildSeg(a.addr, peer.addr, { sport: syn.repr.srcPort, dport: 80, seq: syn.repr.seq, flags: TH_SYN }).subarray(0, 8);
    const wrong = quoted.slice();
    wrong[7]! ^= 0x55;
    a.tcp.ctlinput('unreach', 3, a.addr, peer.addr, wrong);
    assert.equal(a.tcp.stats.icmpignored, 1);
    a.tcp.ctlinput('unreach', 3, a.addr, peer.addr, quoted);
    await rejectsWith(p, 'ECONNREFUSED', 'connect');
    await net.halt();
  });

  it('ICMP host unreachable is a soft error: the connect keeps trying and finally fails with EHOSTUNREACH', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    let err: unknown;
    p.catch((e: unknown) => { err = e; });
    await net.settle();
    const syn = peer.next();
    const quoted = buildSeg(a.addr, peer.addr, { sport: syn.repr.srcPort, dport: 80, seq: syn.repr.seq, flags: TH_SYN }).subarray(0, 8);
    a.tcp.ctlinput('unreach', 1, a.addr, peer.addr, quoted);
    await net.advance(10_000);
    assert.equal(err, undefined, 'still connecting after a host unreachable');
    assert.ok(peer.take().length >= 3, 'the SYN is retransmitted');
    await net.advance(70_000);
    assert.equal((err as unknown as { code?: string }).code, 'EHOSTUNREACH');
    await net.halt();
  });

  it('a path MTU message lowers the MSS and the outstanding data is resent in smaller segments', async () => {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    await a.sys.write(a.l, c.fd, pattern(2 * MSS));
    await net.settle();
    const first = peer.take();
    assert.equal(first.length, 2);
    const quoted = buildSeg(a.addr, peer.addr, { sport: c.kport, dport: c.pport, seq: c.kseq, flags: TH_ACK }).subarray(0, 8);
    a.tcp.ctlinput('msgsize', 4, a.addr, peer.addr, quoted, 1000);
    const again = peer.take();
    assert.deepEqual(again.map((s) => s.payload.byteLength), [960, 960, 960, 2 * MSS - 3 * 960]);
    assert.equal(a.conn().t_maxseg, 960);
    await net.halt();
  });
});

describe('tcp: RST in each state', () => {
  async function established(): Promise<{ net: TestNet; a: Host; peer: Peer; c: ScriptConn; tp: Tcb }> {
    const { net, a, peer } = await setup();
    const c = await scriptedConnect(net, a, peer);
    return { net, a, peer, c, tp: a.conn() };
  }
  const rst = (peer: Peer, a: Host, c: ScriptConn, seq: number): void => peer.send(a, { sport: c.pport, dport: c.kport, seq, flags: TH_RST });
  const soError = async (a: Host, fd: number): Promise<unknown> => a.sys.getsockopt(a.l, fd, SOL_SOCKET, SO_ERROR);

  it('SYN_SENT: a RST acknowledging our SYN refuses the connection; one without ACK is ignored', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = peer.next();
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: 0, flags: TH_RST });
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: 0, ack: syn.repr.seq + 7, flags: TH_RST | TH_ACK });
    assert.equal(a.conn().stateName, 'SYN_SENT', 'RSTs without an acceptable ACK are ignored');
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: 0, ack: syn.repr.seq + 1, flags: TH_RST | TH_ACK });
    await rejectsWith(p, 'ECONNREFUSED');
    await net.halt();
  });

  it('SYN_RECEIVED (simultaneous open): a RST refuses the connection', async () => {
    const { net, a, peer } = await setup();
    const fd = await a.socket();
    const p = a.sys.connect(a.l, fd, sa('10.0.0.9', 80));
    await net.settle();
    const syn = peer.next();
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: PEER_ISS, flags: TH_SYN, mss: 1460 });
    expectSeg(peer.next('SYN,ACK'), { flags: 'SYN,ACK', seq: syn.repr.seq, ack: PEER_ISS + 1 });
    assert.equal(a.conn().state, TCPS_SYN_RECEIVED);
    peer.send(a, { sport: 80, dport: syn.repr.srcPort, seq: PEER_ISS + 1, flags: TH_RST });
    await rejectsWith(p, 'ECONNREFUSED');
    await net.halt();
  });

  it('ESTABLISHED: an exact RST resets (ECONNRESET), an in-window one gets a challenge ACK, others are ignored', async () => {
    const { net, a, peer, c, tp } = await established();
    rst(peer, a, c, c.pseq + 100000);
    assert.deepEqual(peer.take(), []);
    rst(peer, a, c, c.pseq + 10);
    expectSeg(peer.next('challenge ACK'), { flags: 'ACK', ack: c.pseq });
    assert.equal(tp.state, TCPS_ESTABLISHED);
    assert.equal(a.tcp.stats.challengeacks, 1);
    rst(peer, a, c, c.pseq);
    assert.equal(tp.state, TCPS_CLOSED);
    await rejectsWith(a.sys.read(a.l, c.fd, new Uint8Array(4)), 'ECONNRESET');
    await net.halt();
  });

  it('a SYN on an established connection gets a challenge ACK (RFC 5961) and does not reset it', async () => {
    const { net, a, peer, c, tp } = await established();
    peer.send(a, { sport: c.pport, dport: c.kport, seq: c.pseq + 5, flags: TH_SYN });
    expectSeg(peer.next('challenge ACK'), { flags: 'ACK', ack: c.pseq });
    assert.equal(tp.state, TCPS_ESTABLISHED);
    await net.halt();
  });

  it('CLOSE_WAIT: a RST resets the connection', async () => {
    const { net, a, peer, c, tp } = await established();
    ack(peer, a, c, c.kseq, 65535, { flags: TH_FIN | TH_ACK });
    assert.equal(tp.state, TCPS_CLOSE_WAIT);
    rst(peer, a, c, c.pseq + 1);
    assert.equal(tp.state, TCPS_CLOSED);
    assert.equal(await soError(a, c.fd), 54 /* ECONNRESET */);
    await net.halt();
  });

  it('FIN_WAIT_1 and FIN_WAIT_2: a RST resets the connection', async () => {
    for (const acked of [false, true]) {
      const { net, a, peer, c, tp } = await established();
      await a.sys.shutdown(a.l, c.fd, SHUT_WR);
      expectSeg(peer.next('FIN'), { flags: 'FIN,ACK', seq: c.kseq });
      if (acked) ack(peer, a, c, c.kseq + 1);
      assert.equal(tp.state, acked ? TCPS_FIN_WAIT_2 : TCPS_FIN_WAIT_1);
      rst(peer, a, c, c.pseq);
      assert.equal(tp.state, TCPS_CLOSED);
      assert.equal(await soError(a, c.fd), 54);
      await net.halt();
    }
  });

  it('CLOSING, LAST_ACK and TIME_WAIT: a RST closes the connection', async () => {
    // CLOSING: our FIN crosses the peer's
    {
      const { net, a, peer, c, tp } = await established();
      await a.sys.shutdown(a.l, c.fd, SHUT_WR);
      peer.take();
      ack(peer, a, c, c.kseq, 65535, { flags: TH_FIN | TH_ACK });
      assert.equal(tp.state, TCPS_CLOSING);
      rst(peer, a, c, c.pseq + 1);
      assert.equal(tp.state, TCPS_CLOSED);
      await net.halt();
    }
    // LAST_ACK: the peer closed first, then we did
    {
      const { net, a, peer, c, tp } = await established();
      ack(peer, a, c, c.kseq, 65535, { flags: TH_FIN | TH_ACK });
      await a.sys.shutdown(a.l, c.fd, SHUT_WR);
      assert.equal(tp.state, TCPS_LAST_ACK);
      rst(peer, a, c, c.pseq + 1);
      assert.equal(tp.state, TCPS_CLOSED);
      await net.halt();
    }
    // TIME_WAIT
    {
      const { net, a, peer, c, tp } = await established();
      await a.sys.shutdown(a.l, c.fd, SHUT_WR);
      ack(peer, a, c, c.kseq + 1, 65535, { flags: TH_FIN | TH_ACK });
      assert.equal(tp.state, TCPS_TIME_WAIT);
      rst(peer, a, c, c.pseq + 1);
      assert.equal(tp.state, TCPS_CLOSED);
      assert.equal(a.tcp.pcbs.connCount, 0);
      await net.halt();
    }
  });

  it('a new SYN with a higher sequence number reopens a connection in TIME_WAIT (a passive side closing first)', async () => {
    const { net, a, peer } = await setup();
    const lfd = await a.listen(80);
    const { scriptedAccept } = await import('./harness.js');
    const c = await scriptedAccept(net, a, peer, lfd, 80, 40000);
    await a.sys.close(a.l, c.fd);
    expectSeg(peer.next('FIN'), { flags: 'FIN,ACK' });
    ack(peer, a, c, c.kseq + 1, 65535, { flags: TH_FIN | TH_ACK });
    const tw = [...a.tcp.tcbs].find((t) => t.state === TCPS_TIME_WAIT);
    assert.ok(tw !== undefined);
    peer.take();
    peer.send(a, { sport: 40000, dport: 80, seq: c.pseq + 100_000, flags: TH_SYN, mss: 1460 });
    expectSeg(peer.next('SYN,ACK of the new incarnation'), { flags: 'SYN,ACK', ack: c.pseq + 100_001 });
    assert.equal(a.tcp.stats.twreuse, 1);
    await net.halt();
  });

  it('LAST_ACK: the ACK of our FIN closes the connection; a FIN retransmitted in TIME_WAIT is acknowledged again', async () => {
    const { net, a, peer, c, tp } = await established();
    await a.sys.shutdown(a.l, c.fd, SHUT_WR);
    peer.take();
    ack(peer, a, c, c.kseq + 1, 65535, { flags: TH_FIN | TH_ACK });
    expectSeg(peer.next('ACK of the FIN'), { flags: 'ACK', ack: c.pseq + 1 });
    assert.equal(tp.state, TCPS_TIME_WAIT);
    await net.advance(30_000);
    ack(peer, a, c, c.kseq + 1, 65535, { flags: TH_FIN | TH_ACK });
    expectSeg(peer.next('ACK of the retransmitted FIN'), { flags: 'ACK', ack: c.pseq + 1 });
    await net.advance(2 * a.tcp.tunables.msl - 1000);
    assert.equal(tp.state, TCPS_TIME_WAIT, 'the retransmitted FIN restarted the 2 MSL timer');
    await net.advance(1000);
    assert.equal(tp.state, TCPS_CLOSED);
    await net.halt();
  });
});
