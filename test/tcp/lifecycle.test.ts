/**
 * TCP connection life cycle between two kernels: simultaneous open and close, abortive close
 * (SO_LINGER 0, unread data), keepalive, the listen backlog and the SYN cache, window scaling
 * with large buffers, SO_REUSEADDR over TIME_WAIT, sysctl and netstat-style counters.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHUT_WR, SOCK_NONBLOCK, SOL_SOCKET, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF } from '../../src/kern/types.js';
import { POLLOUT } from '../../src/kern/file.js';
import { TH_SYN } from '../../src/net/wire/tcp.js';
import { IPPROTO_TCP } from '../../src/net/inet/transport.js';
import {
  TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_TIME_WAIT, TCP_INFO, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, type TcpInfo,
} from '../../src/net/inet/tcp/index.js';
import { TestNet, bytesEqual, pattern, readAll, rejectsWith, writeAll, type Host } from './harness.js';

async function two(latencyMs = 1): Promise<{ net: TestNet; a: Host; b: Host }> {
  const net = await TestNet.create({ latencyMs });
  return { net, a: net.hosts[0]!, b: net.hosts[1]! };
}

async function pair(net: TestNet, a: Host, b: Host, port = 80): Promise<{ cfd: number; sfd: number; lfd: number }> {
  const lfd = await b.listen(port);
  const cfd = await a.socket();
  await net.run(a.sys.connect(a.l, cfd, b.sa(port)));
  const { fd: sfd } = await net.run(b.sys.accept(b.l, lfd));
  return { cfd, sfd, lfd };
}

describe('tcp: connection life cycle', () => {
  it('simultaneous open: two connects that cross become one connection', async () => {
    const { net, a, b } = await two(5);
    net.capture = true;
    const fa = await a.socket();
    const fb = await b.socket();
    await a.sys.bind(a.l, fa, a.sa(5000));
    await b.sys.bind(b.l, fb, b.sa(6000));
    const pa = a.sys.connect(a.l, fa, b.sa(6000));
    const pb = b.sys.connect(b.l, fb, a.sa(5000));
    await net.run(Promise.all([pa, pb]));
    assert.deepEqual(net.trace.slice(0, 4).map((s) => s.flags), ['SYN', 'SYN', 'SYN,ACK', 'SYN,ACK']);
    assert.equal(a.conn().state, TCPS_ESTABLISHED);
    assert.equal(b.conn().state, TCPS_ESTABLISHED);
    await net.run(writeAll(a, fa, pattern(5000)));
    const got = new Uint8Array(5000);
    let off = 0;
    while (off < 5000) off += await net.run(b.sys.read(b.l, fb, got.subarray(off)));
    assert.ok(bytesEqual(got, pattern(5000)));
    await net.halt();
  });

  it('simultaneous close: FINs that cross take both ends through CLOSING to TIME_WAIT', async () => {
    const { net, a, b } = await two(5);
    const { cfd, sfd } = await pair(net, a, b);
    await net.advance(20);
    await a.sys.shutdown(a.l, cfd, SHUT_WR);
    await b.sys.shutdown(b.l, sfd, SHUT_WR);
    const ta = a.conn();
    const tb = b.conn();
    await net.advance(5);
    assert.equal(ta.state, TCPS_CLOSING);
    assert.equal(tb.state, TCPS_CLOSING);
    await net.advance(5);
    assert.equal(ta.state, TCPS_TIME_WAIT);
    assert.equal(tb.state, TCPS_TIME_WAIT);
    assert.equal(await a.sys.read(a.l, cfd, new Uint8Array(4)), 0);
    await net.halt();
  });

  it('SO_LINGER with a zero time closes abortively: a RST, no TIME_WAIT, the peer reads ECONNRESET', async () => {
    const { net, a, b } = await two();
    const { cfd, sfd } = await pair(net, a, b);
    await a.sys.setsockopt(a.l, cfd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    const rsts = a.tcp.stats.sndrst;
    await a.sys.close(a.l, cfd);
    assert.equal(a.tcp.stats.sndrst, rsts + 1);
    assert.equal(a.tcp.tcbs.size, 0, 'the connection is gone at once: nothing in TIME_WAIT');
    await rejectsWith(net.run(b.sys.read(b.l, sfd, new Uint8Array(4))), 'ECONNRESET');
    await net.halt();
  });

  it('closing with unread data resets the connection (RFC 1122) instead of a FIN', async () => {
    const { net, a, b } = await two();
    const { cfd, sfd } = await pair(net, a, b);
    await net.run(writeAll(a, cfd, pattern(100)));
    await net.advance(10);
    await b.sys.close(b.l, sfd);
    await net.advance(10);
    await rejectsWith(a.sys.read(a.l, cfd, new Uint8Array(4)), 'ECONNRESET');
    await net.halt();
  });

  it('a closed socket\'s connection drains its queued data and FIN on its own (an orphan)', async () => {
    const { net, a, b } = await two(3);
    const { cfd, sfd } = await pair(net, a, b);
    const data = pattern(300_000, 4);
    // queue more than the send buffer holds, close at once: the rest goes out after close
    const w = writeAll(a, cfd, data);
    const got = readAll(b, sfd);
    await net.run(w);
    await a.sys.close(a.l, cfd);
    assert.ok(bytesEqual(await net.run(got), data));
    await net.halt();
  });

  it('an orphan in FIN_WAIT_2 (the peer never closes) is reclaimed after the FIN_WAIT_2 timeout', async () => {
    const { net, a, b } = await two();
    const { cfd } = await pair(net, a, b);
    await a.sys.close(a.l, cfd);
    await net.advance(10);
    assert.equal(a.conn().stateName, 'FIN_WAIT_2');
    await net.advance(a.tcp.tunables.finWait2Timeout - 100);
    assert.equal(a.tcp.tcbs.size, 1);
    await net.advance(200);
    assert.equal(a.tcp.tcbs.size, 0);
    await net.halt();
  });

  it('keepalive probes an idle connection and drops it when the peer is gone', async () => {
    const { net, a, b } = await two();
    const { cfd, sfd } = await pair(net, a, b);
    await a.sys.setsockopt(a.l, cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
    await a.sys.setsockopt(a.l, cfd, IPPROTO_TCP, TCP_KEEPIDLE, 10);
    await a.sys.setsockopt(a.l, cfd, IPPROTO_TCP, TCP_KEEPINTVL, 2);
    await a.sys.setsockopt(a.l, cfd, IPPROTO_TCP, TCP_KEEPCNT, 3);
    assert.equal(await a.sys.getsockopt(a.l, cfd, IPPROTO_TCP, TCP_KEEPIDLE), 10);
    // a live peer answers the probes
    await net.advance(25_000);
    assert.ok(a.tcp.stats.keepprobe >= 2, `probes sent: ${a.tcp.stats.keepprobe}`);
    assert.equal(a.conn().state, TCPS_ESTABLISHED);
    // the peer disappears (the link drops everything): probes every 2 s after 10 s idle, and
    // after 3 unanswered ones the connection is dropped
    net.filter = () => false;
    const lastHeard = a.conn().rcvtime;
    const probes = a.tcp.stats.keepprobe;
    let err: unknown;
    a.sys.read(a.l, cfd, new Uint8Array(4)).catch((e: unknown) => { err = e; });
    while (err === undefined && net.now() - lastHeard < 60_000) await net.advance(100);
    assert.equal((err as { code?: string } | undefined)?.code, 'ETIMEDOUT');
    const idle = net.now() - lastHeard;
    assert.ok(idle >= 16_000 && idle < 16_100, `dropped after ${idle} ms idle (10 s + 3 x 2 s)`);
    assert.equal(a.tcp.stats.keepprobe - probes, 3);
    assert.equal(a.tcp.stats.keepdrops, 1);
    void sfd;
    await net.halt();
  });

  it('a full listen queue drops further SYNs until a connection is accepted', async () => {
    const { net, a, b } = await two();
    const lfd = await b.listen(80, 1);
    const fds: number[] = [];
    let connected = 0;
    for (let i = 0; i < 4; i++) {
      const fd = await a.socket(a.l, SOCK_NONBLOCK);
      fds.push(fd);
      await rejectsWith(a.sys.connect(a.l, fd, b.sa(80)), 'EINPROGRESS');
      await net.advance(10);
      if (((await a.sys.poll(a.l, [{ fd, events: POLLOUT }], 0))[0]! & POLLOUT) !== 0) connected++;
    }
    assert.equal(connected, 2, 'backlog 1 takes 3/2 of it, rounded down, plus one');
    assert.ok(b.tcp.stats.listendrop >= 2);
    await b.sys.accept(b.l, lfd);
    // the waiting clients retransmit their SYN and one gets in
    await net.advance(1100);
    let now = 0;
    for (const fd of fds) if (((await a.sys.poll(a.l, [{ fd, events: POLLOUT }], 0))[0]! & POLLOUT) !== 0) now++;
    assert.equal(now, 3);
    await net.halt();
  });

  it('the SYN cache is bounded per listener: a SYN flood evicts the oldest entries and real clients still connect', async () => {
    const net = await TestNet.create({ hosts: ['10.0.0.1', '10.0.0.2'], peers: ['10.0.0.66'], latencyMs: 1 });
    const [a, b] = net.hosts as [Host, Host];
    const flood = net.peers[0]!;
    b.tcp.tunables.syncacheBucketLimit = 8;
    await b.listen(80, 128);
    for (let i = 0; i < 50; i++) flood.send(b, { sport: 20000 + i, dport: 80, seq: 1000 * i, flags: TH_SYN, mss: 1460 });
    assert.equal(b.tcp.syncache.size, 8);
    assert.equal(b.tcp.stats.sc_bucketoverflow, 42);
    const fd = await a.socket();
    await net.run(a.sys.connect(a.l, fd, b.sa(80)));
    await net.advance(5);
    assert.equal(b.tcp.stats.sc_completed, 1);
    // unanswered entries are retransmitted, then time out
    await net.advance(20_000);
    assert.equal(b.tcp.syncache.size, 0);
    assert.ok(b.tcp.stats.sc_retransmitted >= 3 * 7);
    assert.equal(b.tcp.stats.sc_timed_out, 7);
    await net.halt();
  });

  it('window scaling lets large buffers keep more than 64 KiB in flight', async () => {
    const { net, a, b } = await two(20);
    for (const h of [a, b]) h.k.net!.sbmax = 4 << 20;
    const lfd = await b.socket();
    await b.sys.setsockopt(b.l, lfd, SOL_SOCKET, SO_RCVBUF, 1 << 20);
    await b.sys.bind(b.l, lfd, b.sa(80));
    await b.sys.listen(b.l, lfd, 4);
    const cfd = await a.socket();
    await a.sys.setsockopt(a.l, cfd, SOL_SOCKET, SO_SNDBUF, 1 << 20);
    net.capture = true;
    await net.run(a.sys.connect(a.l, cfd, b.sa(80)));
    const { fd: sfd } = await net.run(b.sys.accept(b.l, lfd));
    const syn = net.trace[0]!;
    assert.equal(syn.repr.windowScale, 7, 'the shift for kern.sbmax = 4 MiB');
    let maxFlight = 0;
    const tp = a.conn();
    net.filter = () => { maxFlight = Math.max(maxFlight, tp.flight); return true; };
    const data = pattern(2 << 20, 2);
    const w = (async () => { await writeAll(a, cfd, data); await a.sys.close(a.l, cfd); })();
    const got = await net.run(readAll(b, sfd, b.l, 1 << 20));
    await net.run(w);
    assert.ok(bytesEqual(got, data));
    assert.ok(maxFlight > 256 * 1024, `at most ${maxFlight} bytes were in flight`);
    await net.halt();
  });

  it('SO_REUSEADDR lets a new socket bind the port of a connection in TIME_WAIT; without it EADDRINUSE', async () => {
    const { net, a, b } = await two();
    const fd = await a.socket();
    await a.sys.bind(a.l, fd, a.sa(7000));
    const lfd = await b.listen(80);
    await net.run(a.sys.connect(a.l, fd, b.sa(80)));
    const { fd: sfd } = await net.run(b.sys.accept(b.l, lfd));
    await a.sys.close(a.l, fd);
    await net.advance(10);
    await b.sys.close(b.l, sfd);
    await net.advance(10);
    assert.equal(a.conn().state, TCPS_TIME_WAIT);
    const fd2 = await a.socket();
    await rejectsWith(a.sys.bind(a.l, fd2, a.sa(7000)), 'EADDRINUSE');
    await a.sys.setsockopt(a.l, fd2, SOL_SOCKET, SO_REUSEADDR, 1);
    await a.sys.bind(a.l, fd2, a.sa(7000));
    // the same 4-tuple again: the TIME_WAIT connection gives way
    await net.run(a.sys.connect(a.l, fd2, b.sa(80)));
    assert.equal(a.conn().state, TCPS_ESTABLISHED);
    await net.halt();
  });

  it('TCP_INFO, sysctl net.inet.tcp and the netstat-style counters describe the connection', async () => {
    const { net, a, b } = await two();
    const { cfd } = await pair(net, a, b);
    await net.run(writeAll(a, cfd, pattern(20_000)));
    await net.advance(250);
    const info = await a.sys.getsockopt(a.l, cfd, IPPROTO_TCP, TCP_INFO) as TcpInfo;
    assert.equal(info.stateName, 'ESTABLISHED');
    assert.ok(info.options.sack && info.options.timestamps);
    assert.equal(info.sndMss, 1448);
    assert.ok(info.sndCwnd > 0);
    assert.equal(a.k.sysctl.find('net.inet.tcp.sack.enable')?.leaf?.get?.(), 1);
    const stats = a.k.sysctl.find('net.inet.tcp.stats')?.leaf?.get?.() as { sndpack: number };
    assert.ok(stats.sndpack >= 14, `${stats.sndpack} data packets`);
    const text = a.tcp.statsText();
    assert.match(text, /\d+ packets sent/);
    assert.match(text, /\d+ data packets/);
    assert.equal(a.tcp.connections().filter((c) => c.state === 'ESTABLISHED').length, 1);
    await net.halt();
  });

  it('malformed segments are dropped and counted; the kernel stays up', async () => {
    const net = await TestNet.create({ hosts: ['10.0.0.1'], peers: ['10.0.0.9'] });
    const a = net.hosts[0]!;
    await a.listen(80);
    const info = { src: 0x0a000009, dst: a.addr, ttl: 64, tos: 0, ifindex: 1, broadcast: false, multicast: false, length: 0 };
    const { Mbuf } = await import('../../src/net/mbuf.js');
    const { buildSeg, fixChecksum } = await import('./harness.js');
    a.tcp.input(Mbuf.from(new Uint8Array(10)), { ...info, length: 10 });
    assert.equal(a.tcp.stats.rcvshort, 1);
    const badoff = buildSeg(info.src, a.addr, { sport: 1, dport: 80, seq: 1, flags: TH_SYN });
    badoff[12] = 0xf0;
    fixChecksum(badoff, info.src, a.addr);
    a.tcp.input(Mbuf.from(badoff), { ...info, length: badoff.length });
    assert.equal(a.tcp.stats.rcvbadoff, 1);
    const badsum = buildSeg(info.src, a.addr, { sport: 1, dport: 80, seq: 1, flags: TH_SYN });
    badsum[16]! ^= 0xff;
    a.tcp.input(Mbuf.from(badsum), { ...info, length: badsum.length });
    assert.equal(a.tcp.stats.rcvbadsum, 1);
    const badopt = buildSeg(info.src, a.addr, { sport: 1, dport: 80, seq: 1, flags: TH_SYN, mss: 1460 });
    badopt[21] = 9; // MSS option length 9
    fixChecksum(badopt, info.src, a.addr);
    a.tcp.input(Mbuf.from(badopt), { ...info, length: badopt.length });
    assert.equal(a.tcp.stats.rcvbadopt, 1);
    a.tcp.input(Mbuf.from(buildSeg(info.src, a.addr, { sport: 1, dport: 80, seq: 1, flags: TH_SYN })), { ...info, broadcast: true });
    assert.equal(a.tcp.stats.rcvbcast, 1);
    assert.equal(a.tcp.syncache.size, 0, 'no bad segment made a SYN cache entry');
    await net.halt();
  });
});
