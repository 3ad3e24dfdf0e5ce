/**
 * Errors of the socket calls: creation (EAFNOSUPPORT, EPROTOTYPE, EPROTONOSUPPORT), addresses
 * (EADDRINUSE, ECONNREFUSED, EAFNOSUPPORT), state (ENOTCONN, EISCONN, EINVAL, EOPNOTSUPP, EPIPE)
 * and descriptors (EBADF, ENOTSOCK).
 */

import { describe } from 'node:test';
import { SHUT_RDWR, SHUT_WR, SOCK_STREAM } from '../../src/kern/types.js';
import { type Transport, test, rejects, enc } from './harness.js';

export function errorTests(t: Transport): void {
  describe('errors', () => {
    test(t, 'socket() fails with EAFNOSUPPORT, EPROTOTYPE and EPROTONOSUPPORT for what the kernel lacks', async (c) => {
      await rejects(c.sys(c.c).socket(c.c, 99, SOCK_STREAM, 0), 'EAFNOSUPPORT', 'family 99');
      await rejects(c.sys(c.c).socket(c.c, t.domain, 42, 0), 'EPROTOTYPE', 'type 42');
      await rejects(c.sys(c.c).socket(c.c, t.domain, SOCK_STREAM, 250), 'EPROTONOSUPPORT', 'protocol 250');
    });

    test(t, 'binding an address in use fails with EADDRINUSE', async (c) => {
      const a = await c.socket(c.s, 'stream');
      const addr = c.addr();
      await c.sys(c.s).bind(c.s, a, addr);
      await c.sys(c.s).listen(c.s, a, 1);
      const b = await c.socket(c.s, 'stream');
      await rejects(c.sys(c.s).bind(c.s, b, await c.sys(c.s).getsockname(c.s, a)), 'EADDRINUSE', 'second bind');
    });

    test(t, 'binding an address of another family fails with EAFNOSUPPORT', async (c) => {
      const a = await c.socket(c.s, 'stream');
      await rejects(c.sys(c.s).bind(c.s, a, { family: 99, path: '/x', addr: '1.2.3.4', port: 1 }), 'EAFNOSUPPORT', 'bind');
      await rejects(c.sys(c.s).connect(c.s, a, { family: 99, path: '/x', addr: '1.2.3.4', port: 1 }), 'EAFNOSUPPORT', 'connect');
    });

    test(t, 'connecting where a socket is bound but not listening fails with ECONNREFUSED', async (c) => {
      const a = await c.socket(c.s, 'stream');
      await c.sys(c.s).bind(c.s, a, c.addr());
      const addr = await c.sys(c.s).getsockname(c.s, a);
      const b = await c.socket(c.c, 'stream');
      await rejects(c.sys(c.c).connect(c.c, b, addr), 'ECONNREFUSED', 'connect');
    });

    test(t, 'connecting to the address of a closed listener fails with ECONNREFUSED', async (c) => {
      const { fd, addr } = await c.listener();
      await c.sys(c.s).close(c.s, fd);
      await c.settle();
      const b = await c.socket(c.c, 'stream');
      await rejects(c.sys(c.c).connect(c.c, b, addr), 'ECONNREFUSED', 'connect');
    });

    test(t, 'calls on an unconnected stream socket fail with ENOTCONN', async (c) => {
      const fd = await c.socket(c.c, 'stream');
      await rejects(c.sys(c.c).write(c.c, fd, enc('x')), 'ENOTCONN', 'write');
      await rejects(c.sys(c.c).read(c.c, fd, new Uint8Array(4)), 'ENOTCONN', 'read');
      await rejects(c.sys(c.c).getpeername(c.c, fd), 'ENOTCONN', 'getpeername');
      await rejects(c.sys(c.c).shutdown(c.c, fd, SHUT_WR), 'ENOTCONN', 'shutdown');
    });

    test(t, 'connecting a connected stream socket fails with EISCONN, and listening on it with EINVAL', async (c) => {
      const { cfd, addr } = await c.pair();
      await rejects(c.sys(c.c).connect(c.c, cfd, addr), 'EISCONN', 'connect');
      await rejects(c.sys(c.c).listen(c.c, cfd, 1), 'EINVAL', 'listen');
    });

    test(t, 'accept on a socket that does not listen fails with EINVAL; connect on one that does with EOPNOTSUPP', async (c) => {
      const fd = await c.socket(c.s, 'stream');
      await rejects(c.sys(c.s).accept(c.s, fd), 'EINVAL', 'accept');
      const { fd: lfd, addr } = await c.listener();
      await rejects(c.sys(c.s).connect(c.s, lfd, addr), 'EOPNOTSUPP', 'connect a listening socket');
    });

    test(t, 'listen and accept on a datagram socket fail with EOPNOTSUPP', async (c) => {
      const fd = await c.socket(c.s, 'dgram');
      await c.sys(c.s).bind(c.s, fd, c.addr());
      await rejects(c.sys(c.s).listen(c.s, fd, 1), 'EOPNOTSUPP', 'listen');
      await rejects(c.sys(c.s).accept(c.s, fd), 'EOPNOTSUPP', 'accept');
    }, ['dgram']);

    test(t, 'shutdown with a bad "how" fails with EINVAL, and writing after SHUT_RDWR with EPIPE', async (c) => {
      const { cfd } = await c.pair();
      await rejects(c.sys(c.c).shutdown(c.c, cfd, 7), 'EINVAL', 'shutdown 7');
      await c.sys(c.c).shutdown(c.c, cfd, SHUT_RDWR);
      await rejects(c.sys(c.c).write(c.c, cfd, enc('x')), 'EPIPE', 'write');
      // after SHUT_RD reads see end of file
      await c.sys(c.c).read(c.c, cfd, new Uint8Array(4)).then((n) => { if (n !== 0) throw new Error(`read ${n} bytes after SHUT_RD`); });
    });

    test(t, 'socket calls on other descriptors fail with ENOTSOCK, on closed ones with EBADF', async (c) => {
      const [r] = await c.sys(c.c).pipe(c.c);
      await rejects(c.sys(c.c).bind(c.c, r, c.addr()), 'ENOTSOCK', 'bind on a pipe');
      await rejects(c.sys(c.c).listen(c.c, r, 1), 'ENOTSOCK', 'listen on a pipe');
      await rejects(c.sys(c.c).accept(c.c, r), 'ENOTSOCK', 'accept on a pipe');
      await rejects(c.sys(c.c).getsockname(c.c, r), 'ENOTSOCK', 'getsockname on a pipe');
      await rejects(c.sys(c.c).getsockopt(c.c, r, 0xffff, 0x1008), 'ENOTSOCK', 'getsockopt on a pipe');
      await rejects(c.sys(c.c).recvfrom(c.c, r, new Uint8Array(1), 0), 'ENOTSOCK', 'recvfrom on a pipe');
      await rejects(c.sys(c.c).shutdown(c.c, r, SHUT_WR), 'ENOTSOCK', 'shutdown on a pipe');
      await rejects(c.sys(c.c).connect(c.c, 500, c.addr()), 'EBADF', 'connect on a closed descriptor');
      await rejects(c.sys(c.c).sendto(c.c, 500, enc('x'), 0, null), 'EBADF', 'sendto on a closed descriptor');
    });
  });
}
