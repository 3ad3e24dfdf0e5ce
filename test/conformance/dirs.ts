/**
 * mkdir(2) and rmdir(2).
 *
 * NetBSD specifics (sys/kern/vfs_syscalls.c):
 *  - do_sys_mkdirat: `va_mode = (mode & ACCESSPERMS) & ~cmask`, so mkdir drops the set-id and
 *    sticky bits of its argument.
 *  - do_sys_unlinkat (rmdir): the root of a mounted file system and a directory with a file
 *    system mounted on it are EBUSY; `rmdir .` is EINVAL ("No rmdir "." please"). NetBSD 10.1
 *    rmdir(2) (man.netbsd.org): "[EINVAL] The last component of the path is `.'", "[EBUSY] The
 *    directory to be removed is the mount point for a mounted file system", "[ENOTDIR] A
 *    component of the path is not a directory".
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_WRONLY, S_IFDIR, S_IFMT } from '../../src/kern/types.js';
import { type Backend, test, rejects } from './harness.js';

export function dirTests(b: Backend): void {
  describe('mkdir', () => {
    test(b, 'mkdir creates an empty directory with the mode minus the umask', async (c) => {
      await c.sys.umask(c.l, 0o022);
      await c.sys.mkdir(c.l, c.p('d'), 0o777);
      const st = await c.stat(c.p('d'));
      assert.equal(st.mode & S_IFMT, S_IFDIR);
      assert.equal(st.mode & 0o7777, 0o755);
      assert.deepEqual(await c.names(c.p('d')), []);
      await c.sys.umask(c.l, 0o077);
      await c.sys.mkdir(c.l, c.p('e'), 0o777);
      assert.equal((await c.stat(c.p('e'))).mode & 0o7777, 0o700);
    });

    test(b, 'mkdir drops the sticky and set-id bits of its mode argument (NetBSD)', async (c) => {
      await c.sys.umask(c.l, 0);
      await c.sys.mkdir(c.l, c.p('d'), 0o7777);
      assert.equal((await c.stat(c.p('d'))).mode & 0o7777, 0o777);
    });

    test(b, 'a new directory has two links and adds one to its parent', { needs: ['dirLinkCount'] }, async (c) => {
      const before = (await c.stat(c.dir)).nlink;
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      assert.equal((await c.stat(c.p('d'))).nlink, 2);
      assert.equal((await c.stat(c.dir)).nlink, before + 1);
      await c.sys.mkdir(c.l, c.p('d/e'), 0o755);
      assert.equal((await c.stat(c.p('d'))).nlink, 3);
    });

    test(b, 'a new directory is owned by the caller and the group of its parent', { needs: ['permissions'] }, async (c) => {
      await c.sys.chown(c.l, c.dir, 0, 55);
      await c.sys.chmod(c.l, c.dir, 0o777);
      const u = c.user(1234, 4321);
      await c.sys.mkdir(u, c.p('d'), 0o755);
      const st = await c.stat(c.p('d'));
      assert.equal(st.uid, 1234);
      assert.equal(st.gid, 55);
    });

    test(b, 'mkdir of an existing name fails with EEXIST whatever the type', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('f'));
      await rejects(c.sys.mkdir(c.l, c.p('d'), 0o755), 'EEXIST', 'directory');
      await rejects(c.sys.mkdir(c.l, c.p('f'), 0o755), 'EEXIST', 'file');
      await rejects(c.sys.mkdir(c.l, c.dir, 0o755), 'EEXIST', 'the directory itself');
      await rejects(c.sys.mkdir(c.l, c.p('d/..'), 0o755), 'EEXIST', 'dot-dot');
    });

    test(b, 'mkdir over a symbolic link fails with EEXIST, even a dangling one', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'nowhere', c.p('link'));
      await rejects(c.sys.mkdir(c.l, c.p('link'), 0o755), 'EEXIST');
      assert.equal(await c.exists(c.p('nowhere')), false);
    });

    test(b, 'mkdir with a missing parent fails with ENOENT', async (c) => {
      await rejects(c.sys.mkdir(c.l, c.p('a/b'), 0o755), 'ENOENT');
    });

    test(b, 'mkdir below a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.mkdir(c.l, c.p('f/d'), 0o755), 'ENOTDIR');
    });

    test(b, 'mkdir accepts a trailing slash', async (c) => {
      await c.sys.mkdir(c.l, c.p('d/'), 0o755);
      assert.equal((await c.stat(c.p('d'))).mode & S_IFMT, S_IFDIR);
    });

    test(b, 'nested directories can be created and walked 50 levels deep', async (c) => {
      let p = c.dir;
      for (let i = 0; i < 50; i++) {
        p += `/l${i}`;
        await c.sys.mkdir(c.l, p, 0o755);
      }
      await c.mkfile(`${p}/leaf`, 'deep');
      assert.equal(await c.readText(`${p}/leaf`), 'deep');
    });
  });

  describe('rmdir', () => {
    test(b, 'rmdir removes an empty directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.rmdir(c.l, c.p('d'));
      assert.equal(await c.exists(c.p('d')), false);
      assert.deepEqual(await c.names(c.dir), []);
    });

    test(b, 'rmdir drops the parent\'s link count by one', { needs: ['dirLinkCount'] }, async (c) => {
      const before = (await c.stat(c.dir)).nlink;
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.rmdir(c.l, c.p('d'));
      assert.equal((await c.stat(c.dir)).nlink, before);
    });

    test(b, 'rmdir of a directory holding a file fails with ENOTEMPTY', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'));
      await rejects(c.sys.rmdir(c.l, c.p('d')), 'ENOTEMPTY');
      assert.deepEqual(await c.names(c.p('d')), ['f']);
    });

    test(b, 'rmdir of a directory holding a subdirectory fails with ENOTEMPTY', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.mkdir(c.l, c.p('d/e'), 0o755);
      await rejects(c.sys.rmdir(c.l, c.p('d')), 'ENOTEMPTY');
    });

    test(b, 'rmdir succeeds once the last entry is unlinked', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      for (let i = 0; i < 20; i++) await c.mkfile(c.p(`d/f${i}`));
      for (let i = 0; i < 20; i++) await c.sys.unlink(c.l, c.p(`d/f${i}`));
      await c.sys.rmdir(c.l, c.p('d'));
      assert.equal(await c.exists(c.p('d')), false);
    });

    test(b, 'rmdir of "." fails with EINVAL', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.rmdir(c.l, c.p('d/.')), 'EINVAL');
      assert.equal(await c.exists(c.p('d')), true);
    });

    test(b, 'rmdir of a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.rmdir(c.l, c.p('f')), 'ENOTDIR');
      assert.equal(await c.exists(c.p('f')), true);
    });

    test(b, 'rmdir of a missing directory fails with ENOENT', async (c) => {
      await rejects(c.sys.rmdir(c.l, c.p('nope')), 'ENOENT');
    });

    test(b, 'rmdir of a symbolic link to a directory fails with ENOTDIR and removes nothing', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.symlink(c.l, 'd', c.p('link'));
      await rejects(c.sys.rmdir(c.l, c.p('link')), 'ENOTDIR');
      assert.equal(await c.exists(c.p('d')), true);
      assert.equal(await c.exists(c.p('link')), true);
    });

    test(b, 'rmdir accepts a trailing slash', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.rmdir(c.l, c.p('d/'));
      assert.equal(await c.exists(c.p('d')), false);
    });

    test(b, 'rmdir of a directory with a file system mounted on it fails with EBUSY', async (c) => {
      if (!c.canMount()) return;
      await c.sys.mkdir(c.l, c.p('m'), 0o755);
      await c.sys.mount(c.l, 'tmpfs', c.p('m'), 0, {});
      try {
        await rejects(c.sys.rmdir(c.l, c.p('m')), 'EBUSY');
      } finally {
        await c.sys.unmount(c.l, c.p('m'), 0);
      }
      await c.sys.rmdir(c.l, c.p('m'));
    });

    test(b, 'rmdir of the root of the file system under test fails with EBUSY', async (c) => {
      const mp = c.mountPoint;
      if (mp === undefined) return c.skip('the directory under test is on the root file system');
      await rejects(c.sys.rmdir(c.l, mp), 'EBUSY');
    });

    test(b, 'a removed directory that is still open lists nothing and accepts no new entries', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const fd = await c.sys.open(c.l, c.p('d'), O_RDONLY, 0);
      await c.sys.rmdir(c.l, c.p('d'));
      const names = (await c.readdirFd(fd)).map((d) => d.name).filter((n) => n !== '.' && n !== '..');
      assert.deepEqual(names, []);
      await rejects(c.sys.openat(c.l, fd, 'x', O_CREAT | O_WRONLY, 0o644), 'ENOENT', 'create in the removed directory');
      await rejects(c.sys.mkdirat(c.l, fd, 'sub', 0o755), 'ENOENT', 'mkdir in the removed directory');
      await c.sys.close(c.l, fd);
    });
  });
}
