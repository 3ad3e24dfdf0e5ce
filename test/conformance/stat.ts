/**
 * stat(2), lstat(2), fstat(2), fstatat(2): the fields a program relies on (type, permission
 * bits, link count, owner, size, inode number, device, block counts).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_RDONLY, O_RDWR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
} from '../../src/kern/types.js';
import { type Backend, test, rejects, pattern, OWNER, GROUP } from './harness.js';

export function statTests(b: Backend): void {
  describe('stat', () => {
    test(b, 'a regular file reports its type, mode, one link, owner and size', async (c) => {
      await c.mkfile(c.p('f'), 'hello', 0o640);
      const st = await c.stat(c.p('f'));
      assert.equal(st.mode & S_IFMT, S_IFREG);
      assert.equal(st.nlink, 1);
      assert.equal(st.size, 5);
      if (c.feat.permissions) {
        assert.equal(st.mode & 0o7777, 0o640 & ~0o022);
        assert.equal(st.uid, 0);
      }
    });

    test(b, 'a file created by a user is owned by that user', { needs: ['permissions'] }, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o777);
      const u = c.user(OWNER, GROUP);
      await c.mkfile(c.p('f'), 'x', 0o600, u);
      const st = await c.stat(c.p('f'));
      assert.equal(st.uid, OWNER);
      assert.equal(st.gid, (await c.stat(c.dir)).gid);
    });

    test(b, 'a directory reports the directory type', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const st = await c.stat(c.p('d'));
      assert.equal(st.mode & S_IFMT, S_IFDIR);
      if (c.feat.dirLinkCount) assert.equal(st.nlink, 2);
    });

    test(b, 'inode numbers are unique among live files and stable across calls and renames', async (c) => {
      const inos = new Set<number>();
      for (let i = 0; i < 30; i++) {
        await c.mkfile(c.p(`f${i}`), `${i}`);
        inos.add((await c.stat(c.p(`f${i}`))).ino);
      }
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      inos.add((await c.stat(c.p('d'))).ino);
      inos.add((await c.stat(c.dir)).ino);
      assert.equal(inos.size, 32);
      const ino = (await c.stat(c.p('f7'))).ino;
      assert.equal((await c.stat(c.p('f7'))).ino, ino);
      await c.sys.rename(c.l, c.p('f7'), c.p('d/moved'));
      assert.equal((await c.stat(c.p('d/moved'))).ino, ino);
      assert.ok([...inos].every((n) => Number.isSafeInteger(n) && n > 0));
    });

    test(b, 'fstat of a descriptor agrees with stat of its path', async (c) => {
      await c.mkfile(c.p('f'), pattern(5000));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const a = await c.sys.fstat(c.l, fd);
      const s = await c.stat(c.p('f'));
      assert.deepEqual(
        [a.ino, a.dev, a.mode, a.nlink, a.uid, a.gid, a.size, a.mtimeSec, a.mtimeNsec],
        [s.ino, s.dev, s.mode, s.nlink, s.uid, s.gid, s.size, s.mtimeSec, s.mtimeNsec]);
      await c.sys.close(c.l, fd);
    });

    test(b, 'files on one file system share st_dev; a mounted file system has another', async (c) => {
      await c.mkfile(c.p('a'));
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const dev = (await c.stat(c.p('a'))).dev;
      assert.equal((await c.stat(c.p('d'))).dev, dev);
      assert.equal((await c.stat(c.dir)).dev, dev);
      if (!c.canMount()) return;
      await c.sys.mkdir(c.l, c.p('m'), 0o755);
      await c.sys.mount(c.l, 'tmpfs', c.p('m'), 0, {});
      try {
        assert.notEqual((await c.stat(c.p('m'))).dev, dev);
      } finally {
        await c.sys.unmount(c.l, c.p('m'), 0);
      }
      assert.equal((await c.stat(c.p('m'))).dev, dev, 'the covered directory is back after unmount');
    });

    test(b, 'st_blksize is a power of two and st_blocks covers the written data', async (c) => {
      await c.mkfile(c.p('f'), pattern(100000));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.fsync(c.l, fd);
      const st = await c.sys.fstat(c.l, fd);
      await c.sys.close(c.l, fd);
      assert.ok(st.blksize >= 512 && (st.blksize & (st.blksize - 1)) === 0, `blksize ${st.blksize}`);
      assert.ok(st.blocks * 512 >= 100000, `blocks ${st.blocks} cover less than the size`);
      assert.ok(st.blocks * 512 < 100000 + 1024 * 1024, `blocks ${st.blocks} far exceed the size`);
    });

    test(b, 'st_size follows writes past the end and truncation', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 0);
      await c.sys.pwrite(c.l, fd, new Uint8Array(10), 4090);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 4100);
      await c.sys.ftruncate(c.l, fd, 7);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 7);
      await c.sys.close(c.l, fd);
    });

    test(b, 'lstat of a symbolic link reports the link type and the target length as size', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'some/target', c.p('l'));
      const st = await c.lstat(c.p('l'));
      assert.equal(st.mode & S_IFMT, S_IFLNK);
      assert.equal(st.size, 11);
      assert.equal(st.nlink, 1);
    });

    test(b, 'fstatat with AT_SYMLINK_NOFOLLOW reports the link, without it the target', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await c.sys.symlink(c.l, 'f', c.p('l'));
      const dfd = await c.sys.open(c.l, c.dir, O_RDONLY, 0);
      assert.equal((await c.sys.fstatat(c.l, dfd, 'l', AT_SYMLINK_NOFOLLOW)).mode & S_IFMT, S_IFLNK);
      assert.equal((await c.sys.fstatat(c.l, dfd, 'l', 0)).mode & S_IFMT, S_IFREG);
      assert.equal((await c.sys.fstatat(c.l, AT_FDCWD, c.p('l'), 0)).size, 3);
      await c.sys.close(c.l, dfd);
    });

    test(b, 'stat of a missing name fails with ENOENT', async (c) => {
      await rejects(c.stat(c.p('nope')), 'ENOENT', 'stat');
      await rejects(c.lstat(c.p('nope')), 'ENOENT', 'lstat');
      await rejects(c.stat(c.p('nope/deeper')), 'ENOENT', 'missing parent');
    });

    test(b, 'the root directory is its own parent', async (c) => {
      const root = await c.stat('/');
      assert.equal((await c.stat('/..')).ino, root.ino);
      assert.equal((await c.stat('/../..')).ino, root.ino);
      assert.equal((await c.stat('/.')).ino, root.ino);
    });

    test(b, '".." at the root of a mounted file system leads to the covering directory\'s parent', async (c) => {
      if (!c.canMount()) return;
      await c.sys.mkdir(c.l, c.p('m'), 0o755);
      await c.sys.mount(c.l, 'tmpfs', c.p('m'), 0, {});
      try {
        const up = await c.stat(c.p('m/..'));
        const here = await c.stat(c.dir);
        assert.equal(up.ino, here.ino);
        assert.equal(up.dev, here.dev);
      } finally {
        await c.sys.unmount(c.l, c.p('m'), 0);
      }
    });
  });
}
