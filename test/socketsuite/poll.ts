/**
 * poll(2) readiness of sockets: POLLIN on a listening socket with a pending connection and on
 * a socket with data, POLLOUT when there is room, SO_RCVLOWAT, wakeups of a blocked poll, and
 * POLLHUP when the peer is gone.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { POLLHUP, POLLIN, POLLOUT } from '../../src/kern/file.js';
import { SHUT_WR, SOL_SOCKET, SO_RCVLOWAT } from '../../src/kern/types.js';
import { type Transport, test, enc } from './harness.js';

export function pollTests(t: Transport): void {
  describe('poll', () => {
    test(t, 'a listening socket polls readable once a connection is waiting', async (c) => {
      const { fd: lfd, addr } = await c.listener();
      assert.equal(await c.poll(c.s, lfd, POLLIN | POLLOUT), 0, 'an idle listening socket is not ready');
      const fd = await c.socket(c.c, 'stream');
      await c.sys(c.c).connect(c.c, fd, addr);
      assert.equal((await c.waitReadable(c.s, lfd)) & POLLIN, POLLIN);
      await c.sys(c.s).accept(c.s, lfd);
      assert.equal(await c.poll(c.s, lfd, POLLIN), 0, 'not readable once the queue is empty');
    });

    test(t, 'a connected socket polls writable, and readable when data arrives', async (c) => {
      const { cfd, sfd } = await c.pair();
      assert.equal(await c.poll(c.c, cfd, POLLOUT), POLLOUT);
      assert.equal(await c.poll(c.s, sfd, POLLIN), 0);
      await c.writeAll(c.c, cfd, enc('data'));
      assert.equal((await c.waitReadable(c.s, sfd)) & POLLIN, POLLIN);
    });

    test(t, 'a blocked poll wakes when data arrives', async (c) => {
      const { cfd, sfd } = await c.pair();
      const p = c.sys(c.s).poll(c.s, [{ fd: sfd, events: POLLIN }], -1);
      let woke = false;
      void p.then(() => { woke = true; });
      await c.settle();
      assert.equal(woke, false);
      await c.writeAll(c.c, cfd, enc('wake'));
      assert.equal((await p)[0]! & POLLIN, POLLIN);
    });

    test(t, 'SO_RCVLOWAT holds back POLLIN until that many bytes are buffered', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.sys(c.s).setsockopt(c.s, sfd, SOL_SOCKET, SO_RCVLOWAT, 10);
      assert.equal(await c.sys(c.s).getsockopt(c.s, sfd, SOL_SOCKET, SO_RCVLOWAT), 10);
      await c.writeAll(c.c, cfd, enc('12345'));
      await c.settle();
      assert.equal(await c.poll(c.s, sfd, POLLIN), 0, 'readable below the low-water mark');
      await c.writeAll(c.c, cfd, enc('67890'));
      assert.equal((await c.waitReadable(c.s, sfd)) & POLLIN, POLLIN);
    });

    test(t, 'when the peer closes, the socket polls readable (end of file) and POLLHUP once both directions are shut', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.sys(c.c).close(c.c, cfd);
      const r = await c.waitReadable(c.s, sfd);
      assert.equal(r & POLLIN, POLLIN);
      if (c.feat.hupOnPeerClose) {
        assert.equal(r & POLLHUP, POLLHUP, 'POLLHUP after the peer closed');
        assert.equal((await c.poll(c.s, sfd, POLLOUT)) & POLLOUT, 0, 'POLLOUT and POLLHUP are exclusive');
      } else {
        await c.sys(c.s).shutdown(c.s, sfd, SHUT_WR);
        await c.settle();
        assert.equal((await c.poll(c.s, sfd, POLLIN)) & POLLHUP, POLLHUP);
      }
      assert.equal(await c.sys(c.s).read(c.s, sfd, new Uint8Array(4)), 0);
    });
  });
}
