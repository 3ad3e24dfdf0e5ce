/**
 * The *at(2) calls: a relative path resolves from the directory descriptor, an absolute one
 * ignores it, AT_FDCWD means the current directory; a descriptor that is not a directory is
 * ENOTDIR, one that is not open EBADF (POSIX openat(2) ERRORS; NetBSD fd_nameiat).
 *
 * NetBSD (do_sys_unlinkat): unlinkat without AT_REMOVEDIR on a directory is EPERM, with
 * AT_REMOVEDIR on a non-directory ENOTDIR.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  AT_EACCESS, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW, O_CREAT, O_DIRECTORY, O_RDONLY, O_WRONLY,
  R_OK, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, W_OK,
} from '../../src/kern/types.js';
import { type Backend, type Ctx, test, rejects, enc, dec } from './harness.js';

async function dirfd(c: Ctx, rel = ''): Promise<number> {
  return c.sys.open(c.l, c.p(rel), O_RDONLY | O_DIRECTORY, 0);
}

export function atTests(b: Backend): void {
  describe('*at calls', () => {
    test(b, 'openat resolves a relative path from the directory descriptor', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const dfd = await dirfd(c, 'd');
      const fd = await c.sys.openat(c.l, dfd, 'f', O_CREAT | O_WRONLY, 0o644);
      await c.sys.write(c.l, fd, enc('at'));
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('d/f')), 'at');
      const fd2 = await c.sys.openat(c.l, dfd, '../d/./f', O_RDONLY, 0);
      assert.equal(dec(await c.readAll(fd2)), 'at');
      await c.sys.close(c.l, fd2);
      await c.sys.close(c.l, dfd);
    });

    // NetBSD's fd_nameiat validates the descriptor even for an absolute path (EBADF for one
    // that is not open), so the descriptor here is a valid but unrelated directory.
    test(b, 'openat with an absolute path ignores the directory descriptor', async (c) => {
      await c.mkfile(c.p('f'), 'abs');
      await c.sys.mkdir(c.l, c.p('elsewhere'), 0o755);
      const dfd = await dirfd(c, 'elsewhere');
      const fd = await c.sys.openat(c.l, dfd, c.p('f'), O_RDONLY, 0);
      assert.equal(dec(await c.readAll(fd)), 'abs');
      await c.sys.close(c.l, fd);
      await c.sys.close(c.l, dfd);
    });

    test(b, 'AT_FDCWD resolves from the current directory', async (c) => {
      await c.mkfile(c.p('f'), 'cwd');
      await c.sys.chdir(c.l, c.dir);
      const fd = await c.sys.openat(c.l, AT_FDCWD, 'f', O_RDONLY, 0);
      assert.equal(dec(await c.readAll(fd)), 'cwd');
      await c.sys.close(c.l, fd);
      assert.equal((await c.sys.fstatat(c.l, AT_FDCWD, 'f', 0)).size, 3);
    });

    test(b, 'a relative path with a regular file as the directory descriptor fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.openat(c.l, fd, 'x', O_RDONLY, 0), 'ENOTDIR', 'openat');
      await rejects(c.sys.fstatat(c.l, fd, 'x', 0), 'ENOTDIR', 'fstatat');
      await rejects(c.sys.mkdirat(c.l, fd, 'x', 0o755), 'ENOTDIR', 'mkdirat');
      await c.sys.close(c.l, fd);
    });

    test(b, 'a relative path with a descriptor that is not open fails with EBADF', async (c) => {
      await rejects(c.sys.openat(c.l, 999, 'x', O_RDONLY, 0), 'EBADF', 'openat');
      await rejects(c.sys.fstatat(c.l, 999, 'x', 0), 'EBADF', 'fstatat');
      await rejects(c.sys.unlinkat(c.l, 999, 'x', 0), 'EBADF', 'unlinkat');
    });

    test(b, 'a directory descriptor keeps naming its directory after the directory is renamed', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const dfd = await dirfd(c, 'd');
      await c.sys.rename(c.l, c.p('d'), c.p('e'));
      await c.sys.close(c.l, await c.sys.openat(c.l, dfd, 'f', O_CREAT | O_WRONLY, 0o644));
      assert.deepEqual(await c.names(c.p('e')), ['f']);
      await c.sys.close(c.l, dfd);
    });

    test(b, 'mkdirat, fstatat and unlinkat with AT_REMOVEDIR work from a directory descriptor', async (c) => {
      const dfd = await dirfd(c);
      await c.sys.mkdirat(c.l, dfd, 'sub', 0o755);
      assert.equal((await c.sys.fstatat(c.l, dfd, 'sub', 0)).mode & S_IFMT, S_IFDIR);
      await rejects(c.sys.unlinkat(c.l, dfd, 'sub', 0), 'EPERM', 'unlinkat of a directory without AT_REMOVEDIR');
      await c.sys.unlinkat(c.l, dfd, 'sub', AT_REMOVEDIR);
      assert.equal(await c.exists(c.p('sub')), false);
      await c.sys.close(c.l, dfd);
    });

    test(b, 'unlinkat removes a file, and with AT_REMOVEDIR refuses it with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      const dfd = await dirfd(c);
      await rejects(c.sys.unlinkat(c.l, dfd, 'f', AT_REMOVEDIR), 'ENOTDIR');
      await c.sys.unlinkat(c.l, dfd, 'f', 0);
      assert.equal(await c.exists(c.p('f')), false);
      await c.sys.close(c.l, dfd);
    });

    test(b, 'unlinkat with AT_REMOVEDIR on a non-empty directory fails with ENOTEMPTY', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'));
      await rejects(c.sys.unlinkat(c.l, AT_FDCWD, c.p('d'), AT_REMOVEDIR), 'ENOTEMPTY');
    });

    test(b, 'renameat moves between two directory descriptors', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('b'), 0o755);
      await c.mkfile(c.p('a/f'), 'moved');
      const fa = await dirfd(c, 'a');
      const fb = await dirfd(c, 'b');
      await c.sys.renameat(c.l, fa, 'f', fb, 'g');
      assert.equal(await c.readText(c.p('b/g')), 'moved');
      assert.deepEqual(await c.names(c.p('a')), []);
      await c.sys.close(c.l, fa);
      await c.sys.close(c.l, fb);
    });

    test(b, 'linkat links between directory descriptors and honours AT_SYMLINK_FOLLOW', { needs: ['hardlinks', 'symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.mkfile(c.p('a/f'), 'x');
      await c.sys.symlink(c.l, 'f', c.p('a/sl'));
      const fa = await dirfd(c, 'a');
      const top = await dirfd(c);
      await c.sys.linkat(c.l, fa, 'f', top, 'hard', 0);
      assert.equal((await c.stat(c.p('hard'))).ino, (await c.stat(c.p('a/f'))).ino);
      await c.sys.linkat(c.l, fa, 'sl', top, 'followed', AT_SYMLINK_FOLLOW);
      assert.equal((await c.lstat(c.p('followed'))).ino, (await c.stat(c.p('a/f'))).ino);
      await c.sys.linkat(c.l, fa, 'sl', top, 'notfollowed', 0);
      assert.equal((await c.lstat(c.p('notfollowed'))).mode & S_IFMT, S_IFLNK);
      await c.sys.close(c.l, fa);
      await c.sys.close(c.l, top);
    });

    test(b, 'symlinkat and readlinkat work from a directory descriptor', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const dfd = await dirfd(c, 'd');
      await c.sys.symlinkat(c.l, 'target', dfd, 'l');
      assert.equal(await c.sys.readlinkat(c.l, dfd, 'l'), 'target');
      assert.equal(await c.sys.readlink(c.l, c.p('d/l')), 'target');
      await c.sys.close(c.l, dfd);
    });

    test(b, 'faccessat, fchmodat and fchownat resolve from a directory descriptor', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x', 0o644);
      const dfd = await dirfd(c);
      await c.sys.faccessat(c.l, dfd, 'f', R_OK | W_OK, 0);
      await c.sys.faccessat(c.l, dfd, 'f', R_OK, AT_EACCESS);
      await c.sys.fchmodat(c.l, dfd, 'f', 0o600, 0);
      assert.equal((await c.stat(c.p('f'))).mode & 0o7777, 0o600);
      await c.sys.fchownat(c.l, dfd, 'f', 7, 8, 0);
      const st = await c.stat(c.p('f'));
      assert.deepEqual([st.uid, st.gid], [7, 8]);
      await rejects(c.sys.faccessat(c.l, dfd, 'missing', R_OK, 0), 'ENOENT');
      await c.sys.close(c.l, dfd);
    });

    test(b, 'fchmodat and fchownat with AT_SYMLINK_NOFOLLOW act on the link', { needs: ['permissions', 'symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x', 0o644);
      await c.sys.symlink(c.l, 'f', c.p('l'));
      await c.sys.fchownat(c.l, AT_FDCWD, c.p('l'), 9, 9, AT_SYMLINK_NOFOLLOW);
      assert.equal((await c.lstat(c.p('l'))).uid, 9);
      assert.equal((await c.stat(c.p('f'))).uid, 0);
      await c.sys.fchmodat(c.l, AT_FDCWD, c.p('l'), 0o700, AT_SYMLINK_NOFOLLOW);
      assert.equal((await c.lstat(c.p('l'))).mode & 0o777, 0o700);
      assert.equal((await c.stat(c.p('f'))).mode & 0o777, 0o644);
    });

    test(b, 'mknodat creates a fifo relative to a directory descriptor', { needs: ['fifos'] }, async (c) => {
      const dfd = await dirfd(c);
      await c.sys.mknodat(c.l, dfd, 'fifo', S_IFIFO | 0o644, 0);
      assert.equal((await c.lstat(c.p('fifo'))).mode & S_IFMT, S_IFIFO);
      await c.sys.close(c.l, dfd);
    });
  });
}
