/**
 * Non-blocking operation: connect (EINPROGRESS, EALREADY, EISCONN, SO_ERROR), accept, read and
 * write (EAGAIN), MSG_DONTWAIT, FIONBIO and O_NONBLOCK, SOCK_NONBLOCK/SOCK_CLOEXEC, paccept;
 * and timeouts (SO_RCVTIMEO/SO_SNDTIMEO fail with EAGAIN, NetBSD's EWOULDBLOCK).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { POLLOUT } from '../../src/kern/file.js';
import { FIONBIO } from '../../src/kern/sys_pipe.js';
import {
  F_GETFD, F_GETFL, F_SETFL, FD_CLOEXEC, MSG_DONTWAIT, O_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK, SOL_SOCKET,
  SO_ERROR, SO_RCVTIMEO, SO_SNDBUF, SO_SNDTIMEO,
} from '../../src/kern/types.js';
import { type Transport, type Ctx, test, rejects, enc, pattern } from './harness.js';

/** Fill the send side of a non-blocking `fd` until EAGAIN; returns the bytes queued. */
async function fill(c: Ctx, fd: number): Promise<number> {
  const chunk = pattern(1024);
  let n = 0;
  for (let i = 0; i < 100000; i++) {
    try {
      n += await c.sys(c.c).write(c.c, fd, chunk);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'EAGAIN');
      return n;
    }
    if (i % 16 === 15) await c.settle();
  }
  assert.fail('the send buffer never filled');
}

export function nonblockTests(t: Transport): void {
  describe('non-blocking sockets', () => {
    test(t, 'a non-blocking connect completes (or reports EINPROGRESS, then EALREADY) and SO_ERROR reads 0', async (c) => {
      const { fd: lfd, addr } = await c.listener();
      const fd = await c.socket(c.c, 'stream', SOCK_NONBLOCK);
      let inProgress = false;
      try {
        await c.sys(c.c).connect(c.c, fd, addr);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'EINPROGRESS');
        inProgress = true;
      }
      if (c.feat.connectImmediate) assert.equal(inProgress, false, 'connect did not complete at once');
      if (inProgress) {
        await rejects(c.sys(c.c).connect(c.c, fd, addr), 'EALREADY', 'second connect while in progress');
        const p = c.sys(c.c).poll(c.c, [{ fd, events: POLLOUT }], 5000);
        if (c.inst.advance !== undefined) await c.inst.advance(5000);
        assert.equal((await p)[0]! & POLLOUT, POLLOUT);
      }
      assert.equal(await c.sys(c.c).getsockopt(c.c, fd, SOL_SOCKET, SO_ERROR), 0);
      await rejects(c.sys(c.c).connect(c.c, fd, addr), 'EISCONN', 'connect of a connected socket');
      const acc = await c.sys(c.s).accept(c.s, lfd);
      await c.writeAll(c.s, acc.fd, enc('ok'));
      await c.waitReadable(c.c, fd);
      assert.equal(await c.sys(c.c).read(c.c, fd, new Uint8Array(4)), 2);
    });

    test(t, 'accept on a non-blocking listening socket with no connection fails with EAGAIN', async (c) => {
      const { fd: lfd } = await c.listener();
      await c.sys(c.s).fcntl(c.s, lfd, F_SETFL, O_NONBLOCK);
      await rejects(c.sys(c.s).accept(c.s, lfd), 'EAGAIN', 'accept');
    });

    test(t, 'read with nothing buffered fails with EAGAIN on a non-blocking socket and with MSG_DONTWAIT', async (c) => {
      const { cfd, sfd } = await c.pair();
      await rejects(c.sys(c.s).recvfrom(c.s, sfd, new Uint8Array(8), MSG_DONTWAIT), 'EAGAIN', 'recv MSG_DONTWAIT');
      await c.sys(c.s).ioctl(c.s, sfd, FIONBIO, 1);
      await rejects(c.sys(c.s).read(c.s, sfd, new Uint8Array(8)), 'EAGAIN', 'read FIONBIO');
      assert.equal((await c.sys(c.s).fcntl(c.s, sfd, F_GETFL, 0)) & O_NONBLOCK, O_NONBLOCK, 'FIONBIO shows in F_GETFL');
      await c.writeAll(c.c, cfd, enc('x'));
      await c.waitReadable(c.s, sfd);
      assert.equal(await c.sys(c.s).read(c.s, sfd, new Uint8Array(8)), 1);
    });

    test(t, 'a non-blocking writer gets EAGAIN when the buffers are full, and a short count when partly full', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_SNDBUF, 4096);
      await c.sys(c.c).fcntl(c.c, cfd, F_SETFL, O_NONBLOCK);
      const queued = await fill(c, cfd);
      assert.ok(queued > 0);
      // (a TCP receiver opens its window only after half its buffer is read: take all of it)
      await c.readN(c.s, sfd, !c.feat.smallReadFreesSpace || 3000 > queued ? queued : 3000);
      await c.settle();
      const n = await c.sys(c.c).write(c.c, cfd, pattern(65536));
      assert.ok(n > 0 && n < 65536, `a write into a partly free buffer moved ${n} bytes`);
    });

    test(t, 'socket(SOCK_NONBLOCK | SOCK_CLOEXEC) sets O_NONBLOCK and close-on-exec', async (c) => {
      const fd = await c.socket(c.c, 'stream', SOCK_NONBLOCK | SOCK_CLOEXEC);
      assert.equal((await c.sys(c.c).fcntl(c.c, fd, F_GETFL, 0)) & O_NONBLOCK, O_NONBLOCK);
      assert.equal(await c.sys(c.c).fcntl(c.c, fd, F_GETFD, 0), FD_CLOEXEC);
      const plain = await c.socket(c.c, 'stream');
      assert.equal((await c.sys(c.c).fcntl(c.c, plain, F_GETFL, 0)) & O_NONBLOCK, 0);
      assert.equal(await c.sys(c.c).fcntl(c.c, plain, F_GETFD, 0), 0);
    });

    test(t, 'accept inherits O_NONBLOCK from the listening socket; paccept takes its flags instead', async (c) => {
      const { fd: lfd, addr } = await c.listener();
      await c.sys(c.s).fcntl(c.s, lfd, F_SETFL, O_NONBLOCK);
      for (let i = 0; i < 3; i++) {
        const fd = await c.socket(c.c, 'stream');
        await c.sys(c.c).connect(c.c, fd, addr);
      }
      await c.settle();
      await c.waitReadable(c.s, lfd);
      const a = await c.sys(c.s).accept(c.s, lfd);
      assert.equal((await c.sys(c.s).fcntl(c.s, a.fd, F_GETFL, 0)) & O_NONBLOCK, O_NONBLOCK, 'accept inherits');
      await c.waitReadable(c.s, lfd);
      const b = await c.sys(c.s).paccept(c.s, lfd, 0);
      assert.equal((await c.sys(c.s).fcntl(c.s, b.fd, F_GETFL, 0)) & O_NONBLOCK, 0, 'paccept(0) is blocking');
      assert.equal(await c.sys(c.s).fcntl(c.s, b.fd, F_GETFD, 0), 0);
      await c.waitReadable(c.s, lfd);
      const d = await c.sys(c.s).paccept(c.s, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC);
      assert.equal((await c.sys(c.s).fcntl(c.s, d.fd, F_GETFL, 0)) & O_NONBLOCK, O_NONBLOCK);
      assert.equal(await c.sys(c.s).fcntl(c.s, d.fd, F_GETFD, 0), FD_CLOEXEC);
      await rejects(c.sys(c.s).paccept(c.s, lfd, 0x40), 'EINVAL', 'paccept with unknown flags');
    });
  });

  describe('timeouts', () => {
    test(t, 'a read with SO_RCVTIMEO fails with EAGAIN when nothing arrives in time', async (c) => {
      const { sfd } = await c.pair();
      await c.sys(c.s).setsockopt(c.s, sfd, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 50000 });
      const start = Date.now();
      const p = c.sys(c.s).read(c.s, sfd, new Uint8Array(8)).then(() => null, (e: unknown) => e);
      await c.sleep(60);
      const e = await p;
      assert.equal((e as { code?: string } | null)?.code, 'EAGAIN');
      if (c.inst.advance === undefined) assert.ok(Date.now() - start >= 45, 'the timeout fired early');
    });

    test(t, 'a read with SO_RCVTIMEO returns data that arrives before the timeout', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.sys(c.s).setsockopt(c.s, sfd, SOL_SOCKET, SO_RCVTIMEO, { sec: 5, usec: 0 });
      const p = c.sys(c.s).read(c.s, sfd, new Uint8Array(8));
      await c.writeAll(c.c, cfd, enc('in time'));
      assert.equal(await p, 7);
    });

    test(t, 'a write with SO_SNDTIMEO fails with EAGAIN when the buffer stays full', async (c) => {
      const { cfd } = await c.pair();
      await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_SNDBUF, 4096);
      await c.sys(c.c).fcntl(c.c, cfd, F_SETFL, O_NONBLOCK);
      await fill(c, cfd);
      await c.sys(c.c).fcntl(c.c, cfd, F_SETFL, 0);
      await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_SNDTIMEO, { sec: 0, usec: 40000 });
      const p = c.sys(c.c).write(c.c, cfd, pattern(1024)).then(() => null, (e: unknown) => e);
      await c.sleep(60);
      assert.equal(((await p) as { code?: string } | null)?.code, 'EAGAIN');
    });
  });
}
