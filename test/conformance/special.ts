/**
 * Special files: mkfifo(2) and mknod(2) on the file system under test.
 *
 * NetBSD: creating a device node needs privilege (mknod(2): "[EPERM] The process's effective
 * user ID is not super-user"); a FIFO is open-able non-blocking for reading at once, and a
 * non-blocking open for writing with no reader fails with ENXIO (POSIX open(2), fifo(4)).
 * lseek on a FIFO is ESPIPE (sys_lseek: `vp->v_type == VFIFO` -> ESPIPE).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  DT_FIFO, O_NONBLOCK, O_RDONLY, O_WRONLY, S_IFCHR, S_IFBLK, S_IFIFO, S_IFMT, SEEK_SET, makedev, major, minor,
} from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec, OTHER } from './harness.js';

export function specialTests(b: Backend): void {
  describe('special files', () => {
    test(b, 'mkfifo creates a FIFO with the mode minus the umask', { needs: ['fifos'] }, async (c) => {
      await c.sys.umask(c.l, 0o022);
      await c.sys.mkfifo(c.l, c.p('fifo'), 0o666);
      const st = await c.lstat(c.p('fifo'));
      assert.equal(st.mode & S_IFMT, S_IFIFO);
      assert.equal(st.mode & 0o7777, 0o644);
      assert.equal(st.size, 0);
      if (c.feat.direntTypes) assert.equal((await c.readdir(c.dir)).find((e) => e.name === 'fifo')?.type, DT_FIFO);
    });

    test(b, 'mkfifo over an existing name fails with EEXIST', { needs: ['fifos'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.mkfifo(c.l, c.p('f'), 0o644), 'EEXIST');
    });

    test(b, 'mkfifo by an unprivileged user is allowed', { needs: ['fifos', 'permissions'] }, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o777);
      await c.sys.mkfifo(c.user(OTHER), c.p('fifo'), 0o600);
      assert.equal((await c.lstat(c.p('fifo'))).uid, OTHER);
    });

    test(b, 'data written into a FIFO comes out in order', { needs: ['fifos'] }, async (c) => {
      await c.sys.mkfifo(c.l, c.p('fifo'), 0o644);
      const r = await c.sys.open(c.l, c.p('fifo'), O_RDONLY | O_NONBLOCK, 0);
      const w = await c.sys.open(c.l, c.p('fifo'), O_WRONLY | O_NONBLOCK, 0);
      assert.equal(await c.sys.write(c.l, w, enc('through ')), 8);
      assert.equal(await c.sys.write(c.l, w, enc('the fifo')), 8);
      const buf = new Uint8Array(64);
      const n = await c.sys.read(c.l, r, buf);
      assert.equal(dec(buf.subarray(0, n)), 'through the fifo');
      await rejects(c.sys.lseek(c.l, r, 0, SEEK_SET), 'ESPIPE', 'lseek on a FIFO');
      await c.sys.close(c.l, w);
      await c.sys.close(c.l, r);
      assert.equal((await c.lstat(c.p('fifo'))).size, 0, 'FIFO data is not stored in the file system');
    });

    test(b, 'a non-blocking open of a FIFO for writing without a reader fails with ENXIO', { needs: ['fifos'] }, async (c) => {
      await c.sys.mkfifo(c.l, c.p('fifo'), 0o644);
      await rejects(c.sys.open(c.l, c.p('fifo'), O_WRONLY | O_NONBLOCK, 0), 'ENXIO');
    });

    test(b, 'mknod of S_IFIFO creates a FIFO', { needs: ['fifos'] }, async (c) => {
      await c.sys.mknod(c.l, c.p('fifo'), S_IFIFO | 0o600, 0);
      assert.equal((await c.lstat(c.p('fifo'))).mode & S_IFMT, S_IFIFO);
    });

    test(b, 'root creates character and block device nodes that keep their device number', { needs: ['devices'] }, async (c) => {
      const dev = makedev(13, 77);
      await c.sys.mknod(c.l, c.p('chr'), S_IFCHR | 0o640, dev);
      await c.sys.mknod(c.l, c.p('blk'), S_IFBLK | 0o600, makedev(4, 1));
      const st = await c.lstat(c.p('chr'));
      assert.equal(st.mode & S_IFMT, S_IFCHR);
      assert.equal(major(st.rdev), 13);
      assert.equal(minor(st.rdev), 77);
      assert.equal((await c.lstat(c.p('blk'))).mode & S_IFMT, S_IFBLK);
      assert.equal((await c.lstat(c.p('blk'))).rdev, makedev(4, 1));
    });

    test(b, 'mknod of a device by an unprivileged user fails with EPERM', { needs: ['devices', 'permissions'] }, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o777);
      await rejects(c.sys.mknod(c.user(OTHER), c.p('chr'), S_IFCHR | 0o666, makedev(1, 2)), 'EPERM');
      assert.equal(await c.exists(c.p('chr')), false);
    });

    test(b, 'mknod over an existing name fails with EEXIST', { needs: ['devices'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.mknod(c.l, c.p('f'), S_IFCHR | 0o600, makedev(1, 1)), 'EEXIST');
    });

    test(b, 'a device node can be renamed and unlinked like a file', { needs: ['devices'] }, async (c) => {
      await c.sys.mknod(c.l, c.p('chr'), S_IFCHR | 0o600, makedev(9, 9));
      await c.sys.rename(c.l, c.p('chr'), c.p('chr2'));
      assert.equal((await c.lstat(c.p('chr2'))).rdev, makedev(9, 9));
      await c.sys.unlink(c.l, c.p('chr2'));
      assert.deepEqual(await c.names(c.dir), []);
    });
  });
}
