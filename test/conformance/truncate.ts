/**
 * truncate(2) and ftruncate(2): growing fills with zeros, shrinking discards, and the errors.
 *
 * NetBSD (sys/kern/vfs_syscalls.c sys_truncate/sys_ftruncate, and the NetBSD truncate(2) man
 * page, netbsd.gw.com NetBSD-8.0): a negative length is EINVAL, a directory is EISDIR, and
 * ftruncate on a descriptor not open for writing is EINVAL ("The fd references a socket, not a
 * file, or the fd is not open for writing"), not POSIX's EBADF.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR } from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec, OTHER, pattern } from './harness.js';

export function truncateTests(b: Backend): void {
  describe('truncate', () => {
    test(b, 'truncate grows a file with zeros', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await c.sys.truncate(c.l, c.p('f'), 10000);
      const data = await c.readFile(c.p('f'));
      assert.equal(data.length, 10000);
      assert.equal(dec(data.subarray(0, 3)), 'abc');
      assert.ok(data.subarray(3).every((x) => x === 0));
    });

    test(b, 'truncate shrinks a file and discards the tail', async (c) => {
      await c.mkfile(c.p('f'), 'abcdefgh');
      await c.sys.truncate(c.l, c.p('f'), 3);
      assert.equal(await c.readText(c.p('f')), 'abc');
      assert.equal((await c.stat(c.p('f'))).size, 3);
    });

    test(b, 'data past a shrink does not come back when the file grows again', async (c) => {
      await c.mkfile(c.p('f'), pattern(20000, 3));
      await c.sys.truncate(c.l, c.p('f'), 5);
      await c.sys.truncate(c.l, c.p('f'), 20000);
      const data = await c.readFile(c.p('f'));
      assert.ok(data.subarray(5).every((x) => x === 0), 'stale data reappeared after regrowing');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.ftruncate(c.l, fd, 1);
      await c.sys.pwrite(c.l, fd, enc('Z'), 8000);
      const mid = await c.pread(fd, 7999, 1);
      assert.ok(mid.every((x) => x === 0), 'stale data reappeared after writing past the end');
      await c.sys.close(c.l, fd);
    });

    test(b, 'truncate to zero and to the same size', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await c.sys.truncate(c.l, c.p('f'), 3);
      assert.equal(await c.readText(c.p('f')), 'abc');
      await c.sys.truncate(c.l, c.p('f'), 0);
      assert.equal((await c.stat(c.p('f'))).size, 0);
    });

    test(b, 'ftruncate changes the size without moving the file offset', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      await c.sys.write(c.l, fd, enc('0123456789'));
      await c.sys.ftruncate(c.l, fd, 4);
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 10);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 4);
      await c.sys.write(c.l, fd, enc('X'));
      await c.sys.close(c.l, fd);
      const data = await c.readFile(c.p('f'));
      assert.equal(data.length, 11);
      assert.equal(dec(data.subarray(0, 4)), '0123');
      assert.ok(data.subarray(4, 10).every((x) => x === 0));
    });

    test(b, 'truncate and ftruncate of a negative length fail with EINVAL', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await rejects(c.sys.truncate(c.l, c.p('f'), -1), 'EINVAL', 'truncate');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      await rejects(c.sys.ftruncate(c.l, fd, -1), 'EINVAL', 'ftruncate');
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 3);
    });

    test(b, 'truncate of a directory fails with EISDIR', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.truncate(c.l, c.p('d'), 0), 'EISDIR');
    });

    test(b, 'ftruncate on a read-only descriptor fails with EINVAL (NetBSD)', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.ftruncate(c.l, fd, 0), 'EINVAL');
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 3);
    });

    test(b, 'ftruncate on a descriptor that is not open fails with EBADF', async (c) => {
      await rejects(c.sys.ftruncate(c.l, 77, 0), 'EBADF');
    });

    test(b, 'truncate of a missing file fails with ENOENT', async (c) => {
      await rejects(c.sys.truncate(c.l, c.p('nope'), 0), 'ENOENT');
    });

    test(b, 'truncate without write permission fails with EACCES', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abc', 0o644);
      await rejects(c.sys.truncate(c.user(OTHER), c.p('f'), 0), 'EACCES');
      assert.equal((await c.stat(c.p('f'))).size, 3);
    });

    test(b, 'truncate follows symbolic links', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abcdef');
      await c.sys.symlink(c.l, 'f', c.p('link'));
      await c.sys.truncate(c.l, c.p('link'), 2);
      assert.equal(await c.readText(c.p('f')), 'ab');
    });
  });
}
