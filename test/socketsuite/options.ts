/**
 * Socket options (SOL_SOCKET), fstat and ioctl on sockets.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { FIONREAD } from '../../src/kern/sys_pipe.js';
import {
  S_IFMT, S_IFSOCK, SOL_SOCKET, SO_ACCEPTCONN, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR,
  SO_SNDBUF, SO_SNDLOWAT, SO_TYPE, SOCK_DGRAM, SOCK_STREAM,
} from '../../src/kern/types.js';
import { type Transport, test, rejects, enc } from './harness.js';

export function optionTests(t: Transport): void {
  describe('socket options', () => {
    test(t, 'SO_TYPE reports the socket type and SO_ACCEPTCONN whether it listens', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
      await c.sys(c.s).bind(c.s, fd, c.addr());
      await c.sys(c.s).listen(c.s, fd, 5);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
      if (t.types.dgram) {
        const d = await c.socket(c.s, 'dgram');
        assert.equal(await c.sys(c.s).getsockopt(c.s, d, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
      }
    });

    test(t, 'SO_ERROR of a healthy socket is 0', async (c) => {
      const { cfd } = await c.pair();
      assert.equal(await c.sys(c.c).getsockopt(c.c, cfd, SOL_SOCKET, SO_ERROR), 0);
    });

    test(t, 'buffer sizes can be set and read back; zero is EINVAL and a huge size ENOBUFS', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_SNDBUF, 12345);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_SNDBUF), 12345);
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_RCVBUF, 23456);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_RCVBUF), 23456);
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_SNDBUF, 0), 'EINVAL', 'SO_SNDBUF 0');
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_RCVBUF, 1 << 30), 'ENOBUFS', 'SO_RCVBUF 1 GiB');
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_SNDBUF, 1024);
      assert.ok((await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_SNDLOWAT) as number) <= 1024, 'the low-water mark follows a smaller buffer');
    });

    test(t, 'boolean options read back as 0 or 1', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE), 0);
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE, 7);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE), 1);
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_REUSEADDR, true);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_REUSEADDR), 1);
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE, 0);
      assert.equal(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE), 0);
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_KEEPALIVE, 'yes'), 'EINVAL', 'a string value');
    });

    test(t, 'SO_LINGER and SO_RCVTIMEO take and give structures; bad values fail', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      assert.deepEqual(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_LINGER), { onoff: 0, linger: 0 });
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 5 });
      assert.deepEqual(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_LINGER), { onoff: 1, linger: 5 });
      assert.deepEqual(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_RCVTIMEO), { sec: 0, usec: 0 });
      await c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 1, usec: 500000 });
      assert.deepEqual(await c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, SO_RCVTIMEO), { sec: 1, usec: 500000 });
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_RCVTIMEO, { sec: 0, usec: 1000000 }), 'EDOM', 'usec out of range');
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: -1 }), 'EDOM', 'negative linger');
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_RCVTIMEO, 5), 'EINVAL', 'a number for a timeval');
    });

    test(t, 'unknown and read-only options fail with ENOPROTOOPT', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      await rejects(c.sys(c.s).getsockopt(c.s, fd, SOL_SOCKET, 0x7777), 'ENOPROTOOPT', 'getsockopt unknown');
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, 0x7777, 1), 'ENOPROTOOPT', 'setsockopt unknown');
      await rejects(c.sys(c.s).setsockopt(c.s, fd, SOL_SOCKET, SO_TYPE, 1), 'ENOPROTOOPT', 'setsockopt SO_TYPE');
      await rejects(c.sys(c.s).getsockopt(c.s, fd, 0x4242, 1), 'ENOPROTOOPT', 'an unknown level');
    });

    test(t, 'fstat reports a socket and FIONREAD the bytes waiting', async (c) => {
      const { cfd, sfd } = await c.pair();
      const st = await c.sys(c.s).fstat(c.s, sfd);
      assert.equal(st.mode & S_IFMT, S_IFSOCK);
      assert.equal(await c.sys(c.s).ioctl(c.s, sfd, FIONREAD, null), 0);
      await c.writeAll(c.c, cfd, enc('seven b'));
      await c.waitReadable(c.s, sfd);
      assert.equal(await c.sys(c.s).ioctl(c.s, sfd, FIONREAD, null), 7);
      await c.readN(c.s, sfd, 3);
      assert.equal(await c.sys(c.s).ioctl(c.s, sfd, FIONREAD, null), 4);
    });
  });
}
