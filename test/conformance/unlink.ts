/**
 * unlink(2), and open files that outlive their last name.
 *
 * NetBSD: unlink of a directory is EPERM (sys/kern/vfs_syscalls.c do_sys_unlinkat: "AT_REMOVEDIR
 * is required to remove a directory ... error = EPERM"; unlink(2): "[EPERM] The named file is a
 * directory"). A file open when its last link goes stays readable and writable through the
 * descriptor and its storage is freed at the last close (unlink(2) DESCRIPTION).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, SEEK_SET } from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec, pattern } from './harness.js';

export function unlinkTests(b: Backend): void {
  describe('unlink', () => {
    test(b, 'unlink removes the name', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await c.sys.unlink(c.l, c.p('f'));
      assert.equal(await c.exists(c.p('f')), false);
      assert.deepEqual(await c.names(c.dir), []);
      await rejects(c.sys.open(c.l, c.p('f'), O_RDONLY, 0), 'ENOENT');
    });

    test(b, 'unlink of a directory fails with EPERM (NetBSD)', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.unlink(c.l, c.p('d')), 'EPERM');
      assert.equal(await c.exists(c.p('d')), true);
    });

    test(b, 'unlink of a missing name fails with ENOENT', async (c) => {
      await rejects(c.sys.unlink(c.l, c.p('nope')), 'ENOENT');
    });

    test(b, 'unlink below a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.unlink(c.l, c.p('f/x')), 'ENOTDIR');
    });

    test(b, 'unlink with a trailing slash on a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.unlink(c.l, c.p('f/')), 'ENOTDIR');
      assert.equal(await c.exists(c.p('f')), true);
    });

    test(b, 'unlink of a symbolic link removes the link, not its target', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'target');
      await c.sys.symlink(c.l, 'f', c.p('link'));
      await c.sys.unlink(c.l, c.p('link'));
      assert.equal(await c.exists(c.p('link')), false);
      assert.equal(await c.readText(c.p('f')), 'target');
    });

    test(b, 'unlink of one hard link leaves the other with the data and one less link', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('a'), 'shared');
      await c.sys.link(c.l, c.p('a'), c.p('b'));
      await c.sys.unlink(c.l, c.p('a'));
      const st = await c.stat(c.p('b'));
      assert.equal(st.nlink, 1);
      assert.equal(await c.readText(c.p('b')), 'shared');
    });

    test(b, 'a name can be reused at once after unlink', async (c) => {
      await c.mkfile(c.p('f'), 'old');
      await c.sys.unlink(c.l, c.p('f'));
      await c.mkfile(c.p('f'), 'new');
      assert.equal(await c.readText(c.p('f')), 'new');
      assert.deepEqual(await c.names(c.dir), ['f']);
    });

    test(b, 'an open file stays readable and writable after its last name is removed', async (c) => {
      await c.mkfile(c.p('f'), 'before');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.unlink(c.l, c.p('f'));
      assert.equal(await c.exists(c.p('f')), false);
      assert.equal(dec(await c.readAll(fd)), 'before');
      await c.sys.write(c.l, fd, enc('+after'));
      await c.sys.lseek(c.l, fd, 0, SEEK_SET);
      assert.equal(dec(await c.readAll(fd)), 'before+after');
      const st = await c.sys.fstat(c.l, fd);
      assert.equal(st.nlink, 0);
      assert.equal(st.size, 12);
      await c.sys.ftruncate(c.l, fd, 3);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 3);
      await c.sys.close(c.l, fd);
    });

    test(b, 'an unlinked file\'s data survives a new file taking its name', async (c) => {
      await c.mkfile(c.p('f'), 'old contents');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.unlink(c.l, c.p('f'));
      await c.mkfile(c.p('f'), 'NEW');
      assert.equal(dec(await c.readAll(fd)), 'old contents');
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'NEW');
    });

    test(b, 'the blocks of an unlinked open file are freed at the last close', { needs: ['spaceAccounting'] }, async (c) => {
      const before = await c.sys.statvfs(c.l, c.dir);
      const fd = await c.sys.open(c.l, c.p('big'), O_CREAT | O_RDWR, 0o644);
      await c.sys.write(c.l, fd, pattern(1 << 20, 5));
      await c.sys.fsync(c.l, fd);
      const written = await c.sys.statvfs(c.l, c.dir);
      assert.ok(written.bfree < before.bfree, `bfree ${written.bfree} did not drop from ${before.bfree} after writing 1 MiB`);
      await c.sys.unlink(c.l, c.p('big'));
      const unlinked = await c.sys.statvfs(c.l, c.dir);
      assert.ok(unlinked.bfree < before.bfree, 'blocks were freed while the file was still open');
      const fd2 = await c.sys.dup(c.l, fd);
      await c.sys.close(c.l, fd);
      assert.ok((await c.sys.statvfs(c.l, c.dir)).bfree < before.bfree, 'blocks were freed while a dup was still open');
      await c.sys.close(c.l, fd2);
      await c.sys.sync(c.l);
      const after = await c.sys.statvfs(c.l, c.dir);
      assert.equal(after.bfree, before.bfree, 'blocks not returned after the last close');
      assert.equal(after.ffree, before.ffree, 'inode not returned after the last close');
    });

    test(b, 'creating and removing many files does not leak inodes or blocks', { needs: ['spaceAccounting'] }, async (c) => {
      await c.mkfile(c.p('warmup'), 'x');
      await c.sys.unlink(c.l, c.p('warmup'));
      await c.sys.sync(c.l);
      const before = await c.sys.statvfs(c.l, c.dir);
      for (let i = 0; i < 200; i++) {
        await c.mkfile(c.p(`f${i}`), pattern(3000, i));
        if (i % 2 === 0) {
          const fd = await c.sys.open(c.l, c.p(`f${i}`), O_WRONLY, 0);
          await c.sys.unlink(c.l, c.p(`f${i}`));
          await c.sys.close(c.l, fd);
        } else {
          await c.sys.unlink(c.l, c.p(`f${i}`));
        }
      }
      await c.sys.sync(c.l);
      const after = await c.sys.statvfs(c.l, c.dir);
      assert.equal(after.bfree, before.bfree, 'blocks leaked');
      assert.equal(after.ffree, before.ffree, 'inodes leaked');
    });
  });
}
