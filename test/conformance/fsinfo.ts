/**
 * File-system-wide information and process state that shapes new files: statvfs(2)/fstatvfs(2),
 * pathconf(2), umask(2).
 *
 * NetBSD: umask stores `newmask & ALLPERMS` and returns the previous mask (sys_umask); the mode
 * of a new file, directory or FIFO is the requested mode minus the mask.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_RDWR, _PC_NAME_MAX, _PC_PATH_MAX, _PC_LINK_MAX } from '../../src/kern/types.js';
import { type Backend, test, rejects, pattern } from './harness.js';

export function fsinfoTests(b: Backend): void {
  describe('statvfs', () => {
    test(b, 'statvfs reports sane sizes, counts and names', async (c) => {
      const sv = await c.sys.statvfs(c.l, c.dir);
      assert.ok(sv.bsize > 0 && (sv.bsize & (sv.bsize - 1)) === 0, `bsize ${sv.bsize}`);
      assert.ok(sv.frsize > 0, `frsize ${sv.frsize}`);
      assert.ok(sv.blocks >= sv.bfree, `blocks ${sv.blocks} < bfree ${sv.bfree}`);
      assert.ok(sv.bfree >= sv.bavail, `bfree ${sv.bfree} < bavail ${sv.bavail}`);
      assert.ok(sv.files >= sv.ffree, `files ${sv.files} < ffree ${sv.ffree}`);
      assert.ok(sv.namemax >= 1 && sv.namemax <= 255, `namemax ${sv.namemax}`);
      assert.equal(sv.fstypename, b.fstypename ?? b.name);
      if (c.mountPoint !== undefined) assert.equal(sv.mntonname, c.mountPoint);
    });

    test(b, 'fstatvfs of a descriptor agrees with statvfs of the path', async (c) => {
      await c.mkfile(c.p('f'));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const a = await c.sys.fstatvfs(c.l, fd);
      const s = await c.sys.statvfs(c.l, c.p('f'));
      assert.deepEqual(
        [a.fsid, a.bsize, a.blocks, a.bfree, a.files, a.ffree, a.fstypename, a.mntonname],
        [s.fsid, s.bsize, s.blocks, s.bfree, s.files, s.ffree, s.fstypename, s.mntonname]);
      await c.sys.close(c.l, fd);
    });

    test(b, 'writing data and creating files consume blocks and inodes', { needs: ['spaceAccounting'] }, async (c) => {
      const before = await c.sys.statvfs(c.l, c.dir);
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      await c.sys.write(c.l, fd, pattern(256 * 1024));
      await c.sys.fsync(c.l, fd);
      await c.sys.close(c.l, fd);
      const after = await c.sys.statvfs(c.l, c.dir);
      const used = (before.bfree - after.bfree) * after.frsize;
      assert.ok(used >= 256 * 1024, `only ${used} bytes accounted for a 256 KiB file`);
      assert.ok(before.ffree > after.ffree || before.files < after.files, 'no inode was accounted for');
    });

    test(b, 'statvfs of a missing path fails with ENOENT', async (c) => {
      await rejects(c.sys.statvfs(c.l, c.p('nope')), 'ENOENT');
    });

    test(b, 'pathconf reports NAME_MAX and PATH_MAX and LINK_MAX', async (c) => {
      assert.equal(await c.sys.pathconf(c.l, c.dir, _PC_NAME_MAX), (await c.sys.statvfs(c.l, c.dir)).namemax);
      assert.equal(await c.sys.pathconf(c.l, c.dir, _PC_PATH_MAX), 1024);
      assert.ok((await c.sys.pathconf(c.l, c.dir, _PC_LINK_MAX)) >= 1);
    });
  });

  describe('umask', () => {
    test(b, 'umask returns the previous mask and applies to new files and directories', { needs: ['permissions'] }, async (c) => {
      assert.equal(await c.sys.umask(c.l, 0o027), 0o022);
      assert.equal(await c.sys.umask(c.l, 0o027), 0o027);
      await c.mkfile(c.p('f'), '', 0o777);
      await c.sys.mkdir(c.l, c.p('d'), 0o777);
      assert.equal((await c.stat(c.p('f'))).mode & 0o777, 0o750);
      assert.equal((await c.stat(c.p('d'))).mode & 0o777, 0o750);
    });

    test(b, 'umask 0 keeps the requested mode and umask 0777 clears it', { needs: ['permissions'] }, async (c) => {
      await c.sys.umask(c.l, 0);
      await c.mkfile(c.p('a'), '', 0o666);
      await c.sys.umask(c.l, 0o777);
      await c.mkfile(c.p('b'), '', 0o666);
      assert.equal((await c.stat(c.p('a'))).mode & 0o777, 0o666);
      assert.equal((await c.stat(c.p('b'))).mode & 0o777, 0);
    });

    test(b, 'umask does not limit chmod', { needs: ['permissions'] }, async (c) => {
      await c.sys.umask(c.l, 0o777);
      await c.mkfile(c.p('f'));
      await c.sys.chmod(c.l, c.p('f'), 0o777);
      assert.equal((await c.stat(c.p('f'))).mode & 0o777, 0o777);
    });

    test(b, 'the umask is per process and inherited by children', async (c) => {
      const p1 = c.user(0, 0), p2 = c.user(0, 0);
      await c.sys.umask(p1, 0o077);
      assert.equal(await c.sys.umask(p2, 0o022), 0o022, 'another process saw the change');
      const child = c.k.newProc({ parent: p1.proc });
      assert.equal(await c.sys.umask(child, 0o022), 0o077);
    });
  });
}
