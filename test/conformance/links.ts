/**
 * link(2), symlink(2), readlink(2), and symbolic link resolution (stat versus lstat, loops).
 *
 * NetBSD: link(2) on a directory is EPERM ("name1 may not be a directory", link(2) ERRORS
 * "[EPERM] The file named by name1 is a directory"); link() follows a symbolic link named by
 * name1, linkat() without AT_SYMLINK_FOLLOW links the symbolic link itself (NetBSD link(2),
 * man.netbsd.org). readlink of a non-link is EINVAL (do_sys_readlinkat). A symbolic link's mode
 * is ACCESSPERMS minus the umask (sys_symlinkat). Loops end in ELOOP after MAXSYMLINKS (32).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  AT_FDCWD, AT_SYMLINK_FOLLOW, O_CREAT, O_RDONLY, O_WRONLY, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, _PC_LINK_MAX,
} from '../../src/kern/types.js';
import { type Backend, test, rejects, enc } from './harness.js';

export function linkTests(b: Backend): void {
  describe('link', () => {
    test(b, 'link makes a second name for the same file and counts it', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('a'), 'shared');
      await c.sys.link(c.l, c.p('a'), c.p('b'));
      const sa = await c.stat(c.p('a'));
      const sb = await c.stat(c.p('b'));
      assert.equal(sa.ino, sb.ino);
      assert.equal(sa.nlink, 2);
      assert.equal(sb.nlink, 2);
      const fd = await c.sys.open(c.l, c.p('b'), O_WRONLY, 0);
      await c.sys.pwrite(c.l, fd, enc('S'), 0);
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('a')), 'Shared');
    });

    test(b, 'link into another directory and up to many links', { needs: ['hardlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('a'), 'x');
      for (let i = 0; i < 20; i++) await c.sys.link(c.l, c.p('a'), c.p(`d/l${i}`));
      assert.equal((await c.stat(c.p('a'))).nlink, 21);
      for (let i = 0; i < 20; i++) await c.sys.unlink(c.l, c.p(`d/l${i}`));
      assert.equal((await c.stat(c.p('a'))).nlink, 1);
    });

    test(b, 'link to an existing name fails with EEXIST', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('a'));
      await c.mkfile(c.p('b'), 'keep');
      await rejects(c.sys.link(c.l, c.p('a'), c.p('b')), 'EEXIST', 'over a file');
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.link(c.l, c.p('a'), c.p('d')), 'EEXIST', 'over a directory');
      assert.equal(await c.readText(c.p('b')), 'keep');
      assert.equal((await c.stat(c.p('a'))).nlink, 1);
    });

    test(b, 'link of a directory fails with EPERM', { needs: ['hardlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.link(c.l, c.p('d'), c.p('d2')), 'EPERM');
      assert.equal(await c.exists(c.p('d2')), false);
    });

    test(b, 'link of a missing file fails with ENOENT', { needs: ['hardlinks'] }, async (c) => {
      await rejects(c.sys.link(c.l, c.p('nope'), c.p('x')), 'ENOENT');
    });

    test(b, 'link into a missing directory fails with ENOENT', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('a'));
      await rejects(c.sys.link(c.l, c.p('a'), c.p('nodir/x')), 'ENOENT');
      assert.equal((await c.stat(c.p('a'))).nlink, 1);
    });

    test(b, 'link follows a symbolic link given as the source (NetBSD link(2))', { needs: ['hardlinks', 'symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await c.sys.symlink(c.l, 'f', c.p('sl'));
      await c.sys.link(c.l, c.p('sl'), c.p('hard'));
      const st = await c.lstat(c.p('hard'));
      assert.equal(st.mode & S_IFMT, S_IFREG);
      assert.equal(st.ino, (await c.stat(c.p('f'))).ino);
    });

    test(b, 'linkat without AT_SYMLINK_FOLLOW links the symbolic link itself', { needs: ['hardlinks', 'symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await c.sys.symlink(c.l, 'f', c.p('sl'));
      await c.sys.linkat(c.l, AT_FDCWD, c.p('sl'), AT_FDCWD, c.p('sl2'), 0);
      const st = await c.lstat(c.p('sl2'));
      assert.equal(st.mode & S_IFMT, S_IFLNK);
      assert.equal(st.ino, (await c.lstat(c.p('sl'))).ino);
      await c.sys.linkat(c.l, AT_FDCWD, c.p('sl'), AT_FDCWD, c.p('hard'), AT_SYMLINK_FOLLOW);
      assert.equal((await c.lstat(c.p('hard'))).ino, (await c.stat(c.p('f'))).ino);
    });

    test(b, 'link fails with EMLINK once the link count reaches LINK_MAX', { needs: ['hardlinks'], timeout: 300000 }, async (c) => {
      const max = await c.sys.pathconf(c.l, c.dir, _PC_LINK_MAX);
      if (max > 70000) return c.skip(`LINK_MAX ${max} is too large to reach`);
      await c.mkfile(c.p('f'));
      await c.sys.mkdir(c.l, c.p('links'), 0o755);
      for (let i = 1; i < max; i++) await c.sys.link(c.l, c.p('f'), c.p(`links/${i}`));
      assert.equal((await c.stat(c.p('f'))).nlink, max);
      await rejects(c.sys.link(c.l, c.p('f'), c.p('one-too-many')), 'EMLINK');
      assert.equal((await c.stat(c.p('f'))).nlink, max);
    });

    test(b, 'link across file systems fails with EXDEV', { needs: ['hardlinks'] }, async (c) => {
      if (!c.canMount()) return;
      await c.sys.mkdir(c.l, c.p('m'), 0o755);
      await c.sys.mount(c.l, 'tmpfs', c.p('m'), 0, {});
      try {
        await c.mkfile(c.p('f'), 'x');
        await rejects(c.sys.link(c.l, c.p('f'), c.p('m/f')), 'EXDEV');
      } finally {
        await c.sys.unmount(c.l, c.p('m'), 0);
      }
    });
  });

  describe('symlink and readlink', () => {
    test(b, 'a relative symbolic link resolves from the directory holding it', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'), 'in d');
      await c.mkfile(c.p('f'), 'top');
      await c.sys.symlink(c.l, 'f', c.p('d/link'));
      assert.equal(await c.readText(c.p('d/link')), 'in d');
      await c.sys.symlink(c.l, '../f', c.p('d/up'));
      assert.equal(await c.readText(c.p('d/up')), 'top');
    });

    test(b, 'an absolute symbolic link resolves from the root', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abs');
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.symlink(c.l, c.p('f'), c.p('d/link'));
      assert.equal(await c.readText(c.p('d/link')), 'abs');
      assert.equal(await c.sys.readlink(c.l, c.p('d/link')), c.p('f'));
    });

    test(b, 'readlink returns the target exactly as written', { needs: ['symlinks'] }, async (c) => {
      for (const target of ['a', '../x/./y//z', '/abs/path', ' spaced name ', 't'.repeat(1000)]) {
        const name = `l${target.length}`;
        await c.sys.symlink(c.l, target, c.p(name));
        assert.equal(await c.sys.readlink(c.l, c.p(name)), target);
      }
    });

    test(b, 'a dangling symbolic link can be lstat\'ed and read but stat fails with ENOENT', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'missing', c.p('dangling'));
      const st = await c.lstat(c.p('dangling'));
      assert.equal(st.mode & S_IFMT, S_IFLNK);
      assert.equal(st.size, 'missing'.length);
      assert.equal(await c.sys.readlink(c.l, c.p('dangling')), 'missing');
      await rejects(c.stat(c.p('dangling')), 'ENOENT', 'stat');
      await rejects(c.sys.open(c.l, c.p('dangling'), O_RDONLY, 0), 'ENOENT', 'open');
    });

    test(b, 'stat follows a symbolic link and lstat does not', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), '12345');
      await c.sys.symlink(c.l, 'f', c.p('link'));
      const st = await c.stat(c.p('link'));
      const lst = await c.lstat(c.p('link'));
      assert.equal(st.mode & S_IFMT, S_IFREG);
      assert.equal(st.size, 5);
      assert.equal(st.ino, (await c.stat(c.p('f'))).ino);
      assert.equal(lst.mode & S_IFMT, S_IFLNK);
      assert.equal(lst.size, 1);
      assert.notEqual(lst.ino, st.ino);
    });

    test(b, 'a symbolic link to a directory is followed in the middle of a path', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('real'), 0o755);
      await c.sys.symlink(c.l, 'real', c.p('alias'));
      await c.mkfile(c.p('alias/f'), 'through');
      assert.deepEqual(await c.names(c.p('real')), ['f']);
      assert.equal((await c.lstat(c.p('alias/'))).mode & S_IFMT, S_IFDIR, 'a trailing slash follows the link');
    });

    test(b, '".." after a symbolic link to a directory names the target\'s parent', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('a/b'), 0o755);
      await c.sys.symlink(c.l, 'a/b', c.p('l'));
      assert.equal((await c.stat(c.p('l/..'))).ino, (await c.stat(c.p('a'))).ino);
    });

    test(b, 'a symbolic link loop fails with ELOOP', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'b', c.p('a'));
      await c.sys.symlink(c.l, 'a', c.p('b'));
      await c.sys.symlink(c.l, 'self', c.p('self'));
      await rejects(c.stat(c.p('a')), 'ELOOP', 'stat a');
      await rejects(c.sys.open(c.l, c.p('b'), O_RDONLY, 0), 'ELOOP', 'open b');
      await rejects(c.sys.open(c.l, c.p('self'), O_CREAT | O_WRONLY, 0o644), 'ELOOP', 'create through self');
      await rejects(c.stat(c.p('a/x')), 'ELOOP', 'loop in the middle');
      assert.equal((await c.lstat(c.p('a'))).mode & S_IFMT, S_IFLNK);
    });

    test(b, 'a chain of 20 symbolic links resolves and a chain of 40 fails with ELOOP', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('end'), 'end');
      let prev = 'end';
      for (let i = 0; i < 40; i++) {
        await c.sys.symlink(c.l, prev, c.p(`c${i}`));
        prev = `c${i}`;
      }
      assert.equal(await c.readText(c.p('c19')), 'end');
      await rejects(c.stat(c.p('c39')), 'ELOOP');
    });

    test(b, 'readlink of a non-symbolic link fails with EINVAL', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.readlink(c.l, c.p('f')), 'EINVAL', 'file');
      await rejects(c.sys.readlink(c.l, c.p('d')), 'EINVAL', 'directory');
    });

    test(b, 'readlink of a missing name fails with ENOENT', { needs: ['symlinks'] }, async (c) => {
      await rejects(c.sys.readlink(c.l, c.p('nope')), 'ENOENT');
    });

    test(b, 'symlink over an existing name fails with EEXIST', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'keep');
      await c.sys.symlink(c.l, 'x', c.p('l'));
      await rejects(c.sys.symlink(c.l, 'y', c.p('f')), 'EEXIST', 'over a file');
      await rejects(c.sys.symlink(c.l, 'y', c.p('l')), 'EEXIST', 'over a symbolic link');
      await rejects(c.sys.symlink(c.l, 'y', c.dir), 'EEXIST', 'over a directory');
      assert.equal(await c.sys.readlink(c.l, c.p('l')), 'x');
    });

    test(b, 'symlink into a missing directory fails with ENOENT', { needs: ['symlinks'] }, async (c) => {
      await rejects(c.sys.symlink(c.l, 'x', c.p('nodir/l')), 'ENOENT');
    });

    test(b, 'a symbolic link has mode 0777 minus the umask and the caller as owner', { needs: ['symlinks', 'permissions'] }, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o777);
      const u = c.user(1500, 1500);
      await c.sys.umask(u, 0o022);
      await c.sys.symlink(u, 'x', c.p('l'));
      const st = await c.lstat(c.p('l'));
      assert.equal(st.mode & 0o777, 0o755);
      assert.equal(st.uid, 1500);
    });

    test(b, 'a symbolic link shows in getdents with the link type', { needs: ['symlinks', 'direntTypes'] }, async (c) => {
      await c.sys.symlink(c.l, 'x', c.p('l'));
      const e = (await c.readdir(c.dir)).find((d) => d.name === 'l');
      assert.ok(e !== undefined);
      assert.equal(e.type, 10 /* DT_LNK */);
      assert.equal(e.ino, (await c.lstat(c.p('l'))).ino);
    });
  });
}
