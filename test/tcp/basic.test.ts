/**
 * TCP between two kernels on the test network: the handshake, data both ways, half-close,
 * graceful close and TIME_WAIT, a large transfer, connection errors.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHUT_WR, SOCK_NONBLOCK, SOL_SOCKET, SO_ERROR } from '../../src/kern/types.js';
import { POLLOUT } from '../../src/kern/file.js';
import { TCPS_ESTABLISHED, TCPS_TIME_WAIT } from '../../src/net/inet/tcp/index.js';
import { TestNet, bytesEqual, pattern, readAll, rejectsWith, writeAll } from './harness.js';

async function pair(net: TestNet, port = 80): Promise<{ cfd: number; sfd: number; lfd: number }> {
  const [a, b] = net.hosts as [typeof net.hosts[0], typeof net.hosts[0]];
  const lfd = await b.listen(port);
  const cfd = await a.socket();
  await net.run(a.sys.connect(a.l, cfd, b.sa(port)));
  const { fd: sfd } = await net.run(b.sys.accept(b.l, lfd));
  return { cfd, sfd, lfd };
}

describe('tcp: connections between two kernels', () => {
  it('a three-way handshake connects, and both ends name each other', async () => {
    const net = await TestNet.create({ latencyMs: 1 });
    net.capture = true;
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const { cfd, sfd } = await pair(net);
    const flags = net.trace.slice(0, 3).map((s) => s.flags);
    assert.deepEqual(flags, ['SYN', 'SYN,ACK', 'ACK']);
    const [syn, synack, ack] = net.trace as [NonNullable<typeof net.trace[0]>, NonNullable<typeof net.trace[0]>, NonNullable<typeof net.trace[0]>];
    assert.equal(synack.repr.ack, (syn.repr.seq + 1) >>> 0);
    assert.equal(ack.repr.seq, (syn.repr.seq + 1) >>> 0);
    assert.equal(ack.repr.ack, (synack.repr.seq + 1) >>> 0);
    assert.equal(syn.repr.mss, 1460);
    assert.ok(syn.repr.sackPermitted && syn.repr.timestamp !== null && syn.repr.windowScale !== null);
    const local = await a.sys.getsockname(a.l, cfd);
    const peer = await b.sys.getpeername(b.l, sfd);
    assert.deepEqual(peer, local);
    assert.ok(local.port! >= 49152, `ephemeral port ${local.port}`);
    assert.deepEqual(await a.sys.getpeername(a.l, cfd), b.sa(80));
    assert.equal(a.conn().state, TCPS_ESTABLISHED);
    assert.equal(a.tcp.stats.connects, 1);
    assert.equal(b.tcp.stats.accepts, 1);
    await net.halt();
  });

  it('data flows both ways and arrives intact', async () => {
    const net = await TestNet.create({ latencyMs: 2 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const { cfd, sfd } = await pair(net);
    const x = pattern(10_000, 7);
    const y = pattern(5_000, 9);
    await net.run(writeAll(a, cfd, x));
    await net.run(writeAll(b, sfd, y));
    const gotX = new Uint8Array(x.length);
    let off = 0;
    while (off < x.length) off += await net.run(b.sys.read(b.l, sfd, gotX.subarray(off)));
    assert.ok(bytesEqual(gotX, x));
    const gotY = new Uint8Array(y.length);
    off = 0;
    while (off < y.length) off += await net.run(a.sys.read(a.l, cfd, gotY.subarray(off)));
    assert.ok(bytesEqual(gotY, y));
    await net.halt();
  });

  it('after shutdown(SHUT_WR) the peer reads end of file and can still send back (half-close)', async () => {
    const net = await TestNet.create({ latencyMs: 1 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const { cfd, sfd } = await pair(net);
    await net.run(writeAll(a, cfd, pattern(3000)));
    await a.sys.shutdown(a.l, cfd, SHUT_WR);
    const got = await net.run(readAll(b, sfd));
    assert.ok(bytesEqual(got, pattern(3000)));
    await net.run(writeAll(b, sfd, pattern(4000, 3)));
    await b.sys.close(b.l, sfd);
    const back = await net.run(readAll(a, cfd));
    assert.ok(bytesEqual(back, pattern(4000, 3)));
    await net.halt();
  });

  it('the side that closes first waits in TIME_WAIT for 2 MSL, then the connection is gone', async () => {
    const net = await TestNet.create({ latencyMs: 1 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const { cfd, sfd } = await pair(net);
    await a.sys.close(a.l, cfd);
    assert.equal(await net.run(b.sys.read(b.l, sfd, new Uint8Array(10))), 0);
    await b.sys.close(b.l, sfd);
    await net.advance(10);
    const tw = a.conn();
    assert.equal(tw.state, TCPS_TIME_WAIT);
    const msl = a.tcp.tunables.msl;
    await net.advance(2 * msl - 100);
    assert.equal(tw.state, TCPS_TIME_WAIT, 'still in TIME_WAIT just before 2 MSL');
    await net.advance(200);
    assert.equal([...a.tcp.tcbs].filter((t) => t.faddr !== 0).length, 0, 'TIME_WAIT ended after 2 MSL');
    assert.equal(b.tcp.pcbs.connCount, 0);
    await net.halt();
  });

  it('4 MiB cross a clean link intact, with nothing retransmitted', async () => {
    const net = await TestNet.create({ latencyMs: 1 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const { cfd, sfd } = await pair(net);
    const data = pattern(4 << 20, 5);
    const w = (async () => { await writeAll(a, cfd, data); await a.sys.close(a.l, cfd); })();
    const got = await net.run(readAll(b, sfd), 600_000, 20);
    await net.run(w);
    assert.equal(got.byteLength, data.byteLength);
    assert.ok(bytesEqual(got, data));
    assert.equal(a.tcp.stats.sndrexmitpack, 0, 'nothing retransmitted on a clean link');
    await net.halt();
  });

  it('connecting to a port nobody listens on fails with ECONNREFUSED (answered by RST)', async () => {
    const net = await TestNet.create({ latencyMs: 1 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    const fd = await a.socket();
    await rejectsWith(net.run(a.sys.connect(a.l, fd, b.sa(81))), 'ECONNREFUSED', 'connect');
    assert.equal(b.tcp.stats.noport, 1);
    assert.equal(b.tcp.stats.sndrst, 1);
    await net.halt();
  });

  it('a non-blocking connect reports EINPROGRESS, then becomes writable with SO_ERROR 0', async () => {
    const net = await TestNet.create({ latencyMs: 5 });
    const [a, b] = net.hosts as [NonNullable<typeof net.hosts[0]>, NonNullable<typeof net.hosts[1]>];
    await b.listen(80);
    const fd = await a.socket(a.l, SOCK_NONBLOCK);
    await rejectsWith(a.sys.connect(a.l, fd, b.sa(80)), 'EINPROGRESS', 'connect');
    await rejectsWith(a.sys.connect(a.l, fd, b.sa(80)), 'EALREADY', 'second connect');
    const r = await net.run(a.sys.poll(a.l, [{ fd, events: POLLOUT }], 5000));
    assert.equal(r[0]! & POLLOUT, POLLOUT);
    assert.equal(await a.sys.getsockopt(a.l, fd, SOL_SOCKET, SO_ERROR), 0);
    await net.halt();
  });

  it('connect to an address without a route fails with ENETUNREACH', async () => {
    const net = await TestNet.create({});
    const [a] = net.hosts as [NonNullable<typeof net.hosts[0]>];
    net.unroutable.add(0x0a090909);
    const fd = await a.socket();
    await rejectsWith(a.sys.connect(a.l, fd, { family: 2, addr: '10.9.9.9', port: 80 }), 'ENETUNREACH');
    await net.halt();
  });

  it('binding a port in use fails with EADDRINUSE, and binding another host\'s address with EADDRNOTAVAIL', async () => {
    const net = await TestNet.create({});
    const [a] = net.hosts as [NonNullable<typeof net.hosts[0]>];
    await a.listen(8080);
    const fd = await a.socket();
    await rejectsWith(a.sys.bind(a.l, fd, a.sa(8080)), 'EADDRINUSE');
    await rejectsWith(a.sys.bind(a.l, fd, { family: 2, addr: '10.0.0.2', port: 8080 }), 'EADDRNOTAVAIL');
    const user = a.k.newProc({ comm: 'user', uid: 100, gid: 100 });
    const ufd = await a.socket(user);
    await rejectsWith(a.sys.bind(user, ufd, a.sa(80)), 'EACCES', 'non-root bind of a reserved port');
    await net.halt();
  });
});
