/**
 * Stream sockets: connection setup, echo, bulk transfer under back-pressure, half-close,
 * MSG_PEEK/MSG_WAITALL, close with unread data, listen backlog limits and many clients.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { POLLOUT } from '../../src/kern/file.js';
import { FIONBIO } from '../../src/kern/sys_pipe.js';
import {
  MSG_PEEK, MSG_WAITALL, SHUT_WR, SOCK_NONBLOCK, SOL_SOCKET, SO_LINGER, SO_RCVBUF, SO_SNDBUF,
} from '../../src/kern/types.js';
import { type Transport, type Ctx, test, rejects, enc, dec, pattern } from './harness.js';

/** A pair whose client send buffer and server receive buffer are `size` bytes. */
async function smallPair(c: Ctx, size: number): Promise<{ cfd: number; sfd: number }> {
  const { fd: lfd, addr } = await c.listener();
  await c.sys(c.s).setsockopt(c.s, lfd, SOL_SOCKET, SO_RCVBUF, size);
  const cfd = await c.socket(c.c, 'stream');
  await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_SNDBUF, size);
  await c.sys(c.c).connect(c.c, cfd, addr);
  const { fd: sfd } = await c.sys(c.s).accept(c.s, lfd);
  await c.sys(c.s).setsockopt(c.s, sfd, SOL_SOCKET, SO_RCVBUF, size);
  return { cfd, sfd };
}

export function streamTests(t: Transport): void {
  describe('stream connections', () => {
    test(t, 'a client connects, the server accepts, and bytes are echoed both ways', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.writeAll(c.c, cfd, enc('hello, server'));
      const got = await c.readN(c.s, sfd, 13);
      assert.equal(dec(got), 'hello, server');
      await c.writeAll(c.s, sfd, got);
      assert.equal(dec(await c.readN(c.c, cfd, 13)), 'hello, server');
    });

    test(t, 'accept reports the peer address that getpeername gives, and the two ends name each other', async (c) => {
      const { fd: lfd, addr } = await c.listener();
      const cfd = await c.socket(c.c, 'stream');
      await c.sys(c.c).connect(c.c, cfd, addr);
      const acc = await c.sys(c.s).accept(c.s, lfd);
      assert.deepEqual(acc.addr, await c.sys(c.s).getpeername(c.s, acc.fd));
      assert.deepEqual(await c.sys(c.s).getpeername(c.s, acc.fd), await c.sys(c.c).getsockname(c.c, cfd));
      assert.deepEqual(await c.sys(c.c).getpeername(c.c, cfd), await c.sys(c.s).getsockname(c.s, acc.fd));
      assert.deepEqual(await c.sys(c.c).getpeername(c.c, cfd), addr);
    });

    test(t, 'reads return what is buffered without waiting for the whole request', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.writeAll(c.c, cfd, enc('abc'));
      const b = new Uint8Array(100);
      assert.equal(await c.sys(c.s).read(c.s, sfd, b), 3);
      assert.equal(dec(b.subarray(0, 3)), 'abc');
    });

    test(t, '1 MiB passes through small buffers intact, and the writer blocks until the reader drains', async (c) => {
      const size = 4096;
      const { cfd, sfd } = await smallPair(c, size);
      const data = pattern(1 << 20, 7);
      // back-pressure: a non-blocking writer fills the buffers and then gets EAGAIN
      await c.sys(c.c).ioctl(c.c, cfd, FIONBIO, 1);
      let queued = 0;
      for (;;) {
        try {
          queued += await c.sys(c.c).write(c.c, cfd, data.subarray(queued, queued + 1024));
        } catch (e) {
          assert.equal((e as { code?: string }).code, 'EAGAIN');
          break;
        }
        if (queued >= data.byteLength) break;
        await c.settle();
      }
      assert.ok(queued > 0, 'nothing could be written');
      assert.ok(queued <= 2 * size + 16384, `${queued} bytes were accepted with ${size}-byte buffers and no reader`);
      // a blocking writer sends the rest and waits for the reader
      await c.sys(c.c).ioctl(c.c, cfd, FIONBIO, 0);
      let writerDone = false;
      const writer = (async () => {
        for (let off = queued; off < data.byteLength;) off += await c.sys(c.c).write(c.c, cfd, data.subarray(off, off + 65536));
        writerDone = true;
      })();
      await c.settle();
      assert.equal(writerDone, false, 'the writer finished although nobody read');
      const got = await c.readN(c.s, sfd, data.byteLength);
      await writer;
      assert.equal(writerDone, true);
      assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'the bytes received differ from those sent');
    });

    test(t, 'after shutdown(SHUT_WR) the peer reads end of file and can still send back', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.writeAll(c.c, cfd, enc('ping'));
      await c.sys(c.c).shutdown(c.c, cfd, SHUT_WR);
      assert.equal(dec(await c.readToEof(c.s, sfd)), 'ping');
      assert.equal(await c.sys(c.s).read(c.s, sfd, new Uint8Array(8)), 0, 'end of file is sticky');
      await c.writeAll(c.s, sfd, enc('pong'));
      assert.equal(dec(await c.readN(c.c, cfd, 4)), 'pong');
      await rejects(c.sys(c.c).write(c.c, cfd, enc('late')), 'EPIPE', 'write after SHUT_WR');
      await c.sys(c.s).shutdown(c.s, sfd, SHUT_WR);
      assert.equal((await c.readToEof(c.c, cfd)).byteLength, 0);
    });

    test(t, 'MSG_PEEK returns data without consuming it', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.writeAll(c.c, cfd, enc('peekaboo'));
      await c.waitReadable(c.s, sfd);
      const p = await c.recv(c.s, sfd, 4, MSG_PEEK);
      assert.equal(dec(p.data), 'peek');
      assert.equal(dec(await c.readN(c.s, sfd, 8)), 'peekaboo');
    });

    test(t, 'MSG_WAITALL waits until the whole request has arrived', async (c) => {
      const { cfd, sfd } = await c.pair();
      const p = c.recv(c.s, sfd, 10, MSG_WAITALL);
      let settled = false;
      void p.then(() => { settled = true; }, () => { settled = true; });
      await c.writeAll(c.c, cfd, enc('12345'));
      await c.settle();
      assert.equal(settled, false, 'MSG_WAITALL returned with half the data');
      await c.writeAll(c.c, cfd, enc('67890'));
      const r = await p;
      assert.equal(dec(r.data), '1234567890');
    });

    test(t, 'MSG_WAITALL returns the partial data at end of file', async (c) => {
      const { cfd, sfd } = await c.pair();
      const p = c.recv(c.s, sfd, 10, MSG_WAITALL);
      await c.writeAll(c.c, cfd, enc('123'));
      await c.sys(c.c).shutdown(c.c, cfd, SHUT_WR);
      assert.equal(dec((await p).data), '123');
    });

    test(t, 'closing the peer gives end of file to a blocked reader', async (c) => {
      const { cfd, sfd } = await c.pair();
      const p = c.sys(c.s).read(c.s, sfd, new Uint8Array(16));
      await c.settle();
      await c.sys(c.c).close(c.c, cfd);
      assert.equal(await p, 0);
    });

    test(t, 'close with SO_LINGER returns, and the peer still gets every byte sent before it, then end of file', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.sys(c.c).setsockopt(c.c, cfd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 5 });
      const data = pattern(3000, 3);
      await c.writeAll(c.c, cfd, data);
      const closing = c.sys(c.c).close(c.c, cfd);
      const got = await c.readToEof(c.s, sfd);
      await closing;
      assert.ok(Buffer.from(got).equals(Buffer.from(data)), `received ${got.byteLength} of ${data.byteLength} bytes`);
    });

    test(t, 'closing with unread data ends the connection for the peer', async (c) => {
      const { cfd, sfd } = await c.pair();
      await c.writeAll(c.c, cfd, enc('never read'));
      await c.waitReadable(c.s, sfd);
      await c.sys(c.s).close(c.s, sfd);
      await c.settle();
      if (c.feat.closeUnreadResets) {
        await rejects(c.sys(c.c).read(c.c, cfd, new Uint8Array(8)), 'ECONNRESET', 'read after the peer reset');
      } else {
        assert.equal(await c.sys(c.c).read(c.c, cfd, new Uint8Array(8)), 0);
        await rejects(c.sys(c.c).write(c.c, cfd, enc('x')), 'EPIPE', 'write to a closed peer');
      }
    });

    test(t, 'a full listen queue does not take more connections until one is accepted', async (c) => {
      const { fd: lfd, addr } = await c.listener('stream', 1);
      const fds: number[] = [];
      let refused = -1;
      for (let i = 0; i < 8; i++) {
        const fd = await c.socket(c.c, 'stream', SOCK_NONBLOCK);
        fds.push(fd);
        try {
          await c.sys(c.c).connect(c.c, fd, addr);
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'EINPROGRESS') {
            await c.settle();
            if ((await c.poll(c.c, fd, POLLOUT)) !== 0) continue;
          } else {
            assert.equal(code, 'ECONNREFUSED');
          }
          refused = i;
          break;
        }
      }
      assert.ok(refused >= 1 && refused <= 3, `the queue of backlog 1 took ${refused < 0 ? 'all 8' : refused} connections`);
      if (c.feat.backlogRefuses) {
        await c.sys(c.s).accept(c.s, lfd);
        const fd = await c.socket(c.c, 'stream');
        await c.sys(c.c).connect(c.c, fd, addr);
      }
    });

    test(t, '100 clients in their own processes are served concurrently', async (c) => {
      const n = 100;
      const { fd: lfd, addr } = await c.listener('stream', 128);
      const server = (async () => {
        const handlers: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const { fd } = await c.sys(c.s).accept(c.s, lfd);
          handlers.push((async () => {
            const msg = await c.readN(c.s, fd, 16);
            await c.writeAll(c.s, fd, msg);
            await c.sys(c.s).close(c.s, fd);
          })());
        }
        await Promise.all(handlers);
      })();
      const clients = Array.from({ length: n }, async (_, i) => {
        const l = c.c.kernel.newProc({ comm: `client${i}` });
        const fd = await c.socket(l, 'stream');
        await c.sys(l).connect(l, fd, addr);
        const msg = enc(`client ${String(i).padStart(3, '0')} says hi`.slice(0, 16).padEnd(16, '.'));
        await c.writeAll(l, fd, msg);
        const back = await c.readToEof(l, fd);
        assert.equal(dec(back), dec(msg));
        await c.sys(l).close(l, fd);
        return true;
      });
      const results = await Promise.all(clients);
      await server;
      assert.equal(results.filter(Boolean).length, n);
    });
  });
}
