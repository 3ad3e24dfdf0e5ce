/**
 * Datagram and seqpacket sockets: message boundaries, sender addresses, MSG_PEEK, MSG_TRUNC,
 * connected datagram sockets, EDESTADDRREQ, EMSGSIZE, a full receiver.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  MSG_DONTWAIT, MSG_EOR, MSG_PEEK, MSG_TRUNC, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, type Sockaddr,
} from '../../src/kern/types.js';
import { type Transport, type Ctx, test, rejects, enc, dec, pattern } from './harness.js';

/** A bound receiver (server side) and a bound sender (client side). */
async function dgramPair(c: Ctx): Promise<{ rfd: number; raddr: Sockaddr; sfd: number; saddr: Sockaddr }> {
  const rfd = await c.socket(c.s, 'dgram');
  await c.sys(c.s).bind(c.s, rfd, c.addr());
  const raddr = await c.sys(c.s).getsockname(c.s, rfd);
  const sfd = await c.socket(c.c, 'dgram');
  await c.sys(c.c).bind(c.c, sfd, c.clientAddr());
  const saddr = await c.sys(c.c).getsockname(c.c, sfd);
  return { rfd, raddr, sfd, saddr };
}

export function dgramTests(t: Transport): void {
  const dtest = (name: string, fn: (c: Ctx) => Promise<void>): void => test(t, name, fn, ['dgram']);
  describe('datagram sockets', () => {
    dtest('datagram boundaries are preserved and each carries the sender\'s address', async (c) => {
      const { rfd, raddr, sfd, saddr } = await dgramPair(c);
      const sizes = [1, 100, 1000, 0, 7];
      for (const [i, n] of sizes.entries()) {
        assert.equal(await c.sys(c.c).sendto(c.c, sfd, pattern(n, i + 1), 0, raddr), n);
      }
      for (const [i, n] of sizes.entries()) {
        await c.waitReadable(c.s, rfd);
        const r = await c.recv(c.s, rfd, 2000);
        assert.equal(r.n, n, `datagram ${i}`);
        assert.ok(Buffer.from(r.data).equals(Buffer.from(pattern(n, i + 1))), `datagram ${i} contents`);
        assert.equal(r.flags & MSG_TRUNC, 0);
        if (c.feat.dgramSenderAddr) assert.deepEqual(r.addr, saddr);
      }
      await rejects(c.sys(c.s).recvfrom(c.s, rfd, new Uint8Array(10), MSG_DONTWAIT), 'EAGAIN', 'nothing left');
    });

    dtest('MSG_PEEK leaves the datagram queued', async (c) => {
      const { rfd, raddr, sfd } = await dgramPair(c);
      await c.sys(c.c).sendto(c.c, sfd, enc('first'), 0, raddr);
      await c.sys(c.c).sendto(c.c, sfd, enc('second'), 0, raddr);
      await c.waitReadable(c.s, rfd);
      assert.equal(dec((await c.recv(c.s, rfd, 100, MSG_PEEK)).data), 'first');
      assert.equal(dec((await c.recv(c.s, rfd, 100, MSG_PEEK)).data), 'first');
      assert.equal(dec((await c.recv(c.s, rfd, 100)).data), 'first');
      await c.waitReadable(c.s, rfd);
      assert.equal(dec((await c.recv(c.s, rfd, 100)).data), 'second');
    });

    dtest('a datagram longer than the buffer is truncated with MSG_TRUNC and the rest discarded', async (c) => {
      const { rfd, raddr, sfd } = await dgramPair(c);
      await c.sys(c.c).sendto(c.c, sfd, enc('0123456789abcdef'), 0, raddr);
      await c.sys(c.c).sendto(c.c, sfd, enc('next'), 0, raddr);
      await c.waitReadable(c.s, rfd);
      const r = await c.recv(c.s, rfd, 10);
      assert.equal(r.n, 10);
      assert.equal(dec(r.data), '0123456789');
      assert.equal(r.flags & MSG_TRUNC, MSG_TRUNC);
      await c.waitReadable(c.s, rfd);
      const r2 = await c.recv(c.s, rfd, 100);
      assert.equal(dec(r2.data), 'next');
      assert.equal(r2.flags & MSG_TRUNC, 0);
    });

    dtest('send on an unconnected datagram socket without a destination fails with EDESTADDRREQ', async (c) => {
      const fd = await c.socket(c.c, 'dgram');
      await rejects(c.sys(c.c).write(c.c, fd, enc('lost')), 'EDESTADDRREQ', 'write');
      await rejects(c.sys(c.c).sendto(c.c, fd, enc('lost'), 0, null), 'EDESTADDRREQ', 'sendto without address');
    });

    dtest('a connected datagram socket sends with write and rejects sendto another address with EISCONN', async (c) => {
      const { rfd, raddr } = await dgramPair(c);
      const fd = await c.socket(c.c, 'dgram');
      await c.sys(c.c).connect(c.c, fd, raddr);
      assert.deepEqual(await c.sys(c.c).getpeername(c.c, fd), raddr);
      assert.equal(await c.sys(c.c).write(c.c, fd, enc('via write')), 9);
      await c.waitReadable(c.s, rfd);
      assert.equal(dec((await c.recv(c.s, rfd, 100)).data), 'via write');
      await rejects(c.sys(c.c).sendto(c.c, fd, enc('x'), 0, raddr), 'EISCONN', 'sendto on a connected socket');
    });

    dtest('a datagram larger than SO_SNDBUF fails with EMSGSIZE', async (c) => {
      if (!c.feat.dgramSizeBySndbuf) return;
      const { raddr, sfd } = await dgramPair(c);
      await c.sys(c.c).setsockopt(c.c, sfd, SOL_SOCKET, SO_SNDBUF, 1024);
      await rejects(c.sys(c.c).sendto(c.c, sfd, pattern(2000), 0, raddr), 'EMSGSIZE', 'sendto 2000 bytes');
      assert.equal(await c.sys(c.c).sendto(c.c, sfd, pattern(1000), 0, raddr), 1000);
    });

    dtest('datagrams beyond the receiver\'s SO_RCVBUF are refused or dropped, never merged', async (c) => {
      const { rfd, raddr, sfd } = await dgramPair(c);
      await c.sys(c.s).setsockopt(c.s, rfd, SOL_SOCKET, SO_RCVBUF, 4096);
      let sent = 0;
      for (let i = 0; i < 20; i++) {
        try {
          await c.sys(c.c).sendto(c.c, sfd, pattern(1000, i + 1), 0, raddr);
          sent++;
        } catch (e) {
          assert.ok(c.feat.dgramFullFails, 'a send failed although the transport drops silently');
          assert.equal((e as { code?: string }).code, 'ENOBUFS');
          break;
        }
      }
      assert.ok(sent >= 1 && (sent < 20 || !c.feat.dgramFullFails), `${sent} datagrams of 1000 bytes into a 4096-byte buffer`);
      await c.settle();
      let got = 0;
      for (;;) {
        let r;
        try {
          r = await c.recv(c.s, rfd, 2000, MSG_DONTWAIT);
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'EAGAIN');
          break;
        }
        assert.equal(r.n, 1000);
        assert.ok(Buffer.from(r.data).equals(Buffer.from(pattern(1000, got + 1))), `datagram ${got} intact`);
        got++;
      }
      assert.ok(got >= 1 && got <= sent);
    });
  });

  describe('seqpacket sockets', () => {
    test(t, 'records keep their boundaries, end with MSG_EOR, and a short read truncates one record', async (c) => {
      const { cfd, sfd } = await c.pair('seqpacket');
      await c.writeAll(c.c, cfd, enc('one'));
      await c.writeAll(c.c, cfd, enc('two two'));
      await c.writeAll(c.c, cfd, enc('three three three'));
      await c.waitReadable(c.s, sfd);
      const a = await c.recv(c.s, sfd, 100);
      assert.equal(dec(a.data), 'one');
      assert.equal(a.flags & MSG_EOR, MSG_EOR);
      const b = await c.recv(c.s, sfd, 3);
      assert.equal(dec(b.data), 'two');
      assert.equal(b.flags & MSG_TRUNC, MSG_TRUNC);
      assert.equal(dec((await c.recv(c.s, sfd, 100)).data), 'three three three');
      await c.sys(c.c).close(c.c, cfd);
      assert.equal((await c.recv(c.s, sfd, 100)).n, 0, 'end of file after the peer closed');
    }, ['seqpacket']);

    test(t, 'a record larger than SO_SNDBUF fails with EMSGSIZE', async (c) => {
      const { cfd } = await c.pair('seqpacket');
      await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_SNDBUF, 2048);
      await rejects(c.sys(c.c).write(c.c, cfd, pattern(4096)), 'EMSGSIZE', 'write 4096 bytes');
    }, ['seqpacket']);
  });
}
