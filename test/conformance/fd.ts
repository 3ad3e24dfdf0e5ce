/**
 * Descriptors over vnodes: dup/dup2/dup3/fcntl share the open file (offset and status flags),
 * close-on-exec is per descriptor, and separate opens are independent.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, FD_CLOEXEC, O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT,
  O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, SEEK_SET,
} from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec } from './harness.js';

export function fdTests(b: Backend): void {
  describe('descriptors', () => {
    test(b, 'dup shares the file offset', async (c) => {
      await c.mkfile(c.p('f'), '0123456789');
      const a = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      const d = await c.sys.dup(c.l, a);
      assert.notEqual(d, a);
      await c.sys.lseek(c.l, a, 4, SEEK_SET);
      assert.equal(await c.sys.lseek(c.l, d, 0, SEEK_CUR), 4);
      const buf = new Uint8Array(2);
      await c.sys.read(c.l, d, buf);
      assert.equal(dec(buf), '45');
      assert.equal(await c.sys.lseek(c.l, a, 0, SEEK_CUR), 6);
      await c.sys.write(c.l, a, enc('X'));
      assert.equal(await c.sys.lseek(c.l, d, 0, SEEK_CUR), 7);
      await c.sys.close(c.l, a);
      assert.equal(dec(await c.readAll(d)), '789');
      await c.sys.close(c.l, d);
      assert.equal(await c.readText(c.p('f')), '012345X789');
    });

    test(b, 'dup returns the lowest free descriptor', async (c) => {
      await c.mkfile(c.p('f'));
      const a = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const b1 = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const b2 = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.close(c.l, b1);
      assert.equal(await c.sys.dup(c.l, b2), b1);
      await c.sys.close(c.l, a);
    });

    test(b, 'dup2 puts the file at the requested number, closing what was there', async (c) => {
      await c.mkfile(c.p('one'), 'one');
      await c.mkfile(c.p('two'), 'two');
      const a = await c.sys.open(c.l, c.p('one'), O_RDONLY, 0);
      const bb = await c.sys.open(c.l, c.p('two'), O_RDONLY, 0);
      assert.equal(await c.sys.dup2(c.l, a, bb), bb);
      assert.equal(dec(await c.readAll(bb)), 'one');
      assert.equal(await c.sys.dup2(c.l, a, 40), 40);
      assert.equal((await c.sys.fstat(c.l, 40)).ino, (await c.stat(c.p('one'))).ino);
      assert.equal(await c.sys.dup2(c.l, a, a), a, 'dup2 onto itself');
    });

    test(b, 'dup and dup2 of a descriptor that is not open fail with EBADF', async (c) => {
      await rejects(c.sys.dup(c.l, 77), 'EBADF', 'dup');
      await rejects(c.sys.dup2(c.l, 77, 3), 'EBADF', 'dup2');
    });

    test(b, 'F_GETFL reports the access mode and O_APPEND; F_SETFL turns O_APPEND on', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      let fl = await c.sys.fcntl(c.l, fd, F_GETFL, 0);
      assert.equal(fl & O_ACCMODE, O_WRONLY);
      assert.equal(fl & O_APPEND, 0);
      await c.sys.fcntl(c.l, fd, F_SETFL, O_APPEND);
      fl = await c.sys.fcntl(c.l, fd, F_GETFL, 0);
      assert.equal(fl & O_APPEND, O_APPEND);
      assert.equal(fl & O_ACCMODE, O_WRONLY, 'F_SETFL must not change the access mode');
      await c.sys.write(c.l, fd, enc('d'));
      await c.sys.fcntl(c.l, fd, F_SETFL, 0);
      await c.sys.lseek(c.l, fd, 0, SEEK_SET);
      await c.sys.write(c.l, fd, enc('A'));
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'Abcd');
    });

    test(b, 'F_SETFL cannot turn a read-only descriptor into a writable one', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.fcntl(c.l, fd, F_SETFL, O_RDWR);
      assert.equal((await c.sys.fcntl(c.l, fd, F_GETFL, 0)) & O_ACCMODE, O_RDONLY);
      await rejects(c.sys.write(c.l, fd, enc('x')), 'EBADF');
      await c.sys.close(c.l, fd);
    });

    test(b, 'status flags are shared by dup\'ed descriptors', async (c) => {
      await c.mkfile(c.p('f'), '');
      const a = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      const d = await c.sys.dup(c.l, a);
      await c.sys.fcntl(c.l, a, F_SETFL, O_APPEND);
      assert.equal((await c.sys.fcntl(c.l, d, F_GETFL, 0)) & O_APPEND, O_APPEND);
    });

    test(b, 'FD_CLOEXEC is per descriptor: set by O_CLOEXEC and F_SETFD, cleared on dup', async (c) => {
      await c.mkfile(c.p('f'));
      const a = await c.sys.open(c.l, c.p('f'), O_RDONLY | O_CLOEXEC, 0);
      assert.equal(await c.sys.fcntl(c.l, a, F_GETFD, 0), FD_CLOEXEC);
      const d = await c.sys.dup(c.l, a);
      assert.equal(await c.sys.fcntl(c.l, d, F_GETFD, 0), 0);
      await c.sys.fcntl(c.l, d, F_SETFD, FD_CLOEXEC);
      assert.equal(await c.sys.fcntl(c.l, d, F_GETFD, 0), FD_CLOEXEC);
      await c.sys.fcntl(c.l, a, F_SETFD, 0);
      assert.equal(await c.sys.fcntl(c.l, a, F_GETFD, 0), 0);
      assert.equal(await c.sys.fcntl(c.l, d, F_GETFD, 0), FD_CLOEXEC);
      const e = await c.sys.fcntl(c.l, a, F_DUPFD_CLOEXEC, 10);
      assert.ok(e >= 10);
      assert.equal(await c.sys.fcntl(c.l, e, F_GETFD, 0), FD_CLOEXEC);
    });

    test(b, 'F_DUPFD returns the lowest free descriptor at or above the argument', async (c) => {
      await c.mkfile(c.p('f'));
      const a = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      assert.equal(await c.sys.fcntl(c.l, a, F_DUPFD, 20), 20);
      assert.equal(await c.sys.fcntl(c.l, a, F_DUPFD, 20), 21);
      assert.equal(await c.sys.fcntl(c.l, 20, F_GETFD, 0), 0);
    });

    test(b, 'separate opens of one file have separate offsets', async (c) => {
      await c.mkfile(c.p('f'), 'abcdef');
      const a = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const bb = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.lseek(c.l, a, 3, SEEK_SET);
      assert.equal(await c.sys.lseek(c.l, bb, 0, SEEK_CUR), 0);
      assert.equal(dec(await c.readAll(bb)), 'abcdef');
      assert.equal(dec(await c.readAll(a)), 'def');
    });

    test(b, 'a child process shares its parent\'s open files and offsets', async (c) => {
      await c.mkfile(c.p('f'), 'abcdef');
      const parent = c.user(0, 0);
      const fd = await c.sys.open(parent, c.p('f'), O_RDONLY, 0);
      const child = c.k.newProc({ parent: parent.proc });
      const buf = new Uint8Array(2);
      await c.sys.read(child, fd, buf);
      assert.equal(dec(buf), 'ab');
      assert.equal(await c.sys.lseek(parent, fd, 0, SEEK_CUR), 2);
      await c.sys.close(child, fd);
      assert.equal(dec(await c.readAll(fd, parent)), 'cdef', 'the parent\'s descriptor survives the child\'s close');
    });

    test(b, 'many descriptors on one file can be opened and closed', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fds: number[] = [];
      for (let i = 0; i < 200; i++) fds.push(await c.sys.open(c.l, c.p('f'), O_RDONLY, 0));
      assert.equal(new Set(fds).size, 200);
      for (const fd of fds) await c.sys.close(c.l, fd);
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDONLY, 0o644);
      assert.ok(fd <= Math.min(...fds));
    });
  });
}
