/**
 * open(2): creation flags, access modes, and path name resolution errors (missing components,
 * non-directories in the middle, over-long names and paths, trailing slashes, empty paths).
 *
 * NetBSD specifics asserted here:
 *  - O_NOFOLLOW on a symbolic link fails with EFTYPE, not POSIX's ELOOP: man.netbsd.org open(2)
 *    "[EFTYPE] O_NOFOLLOW was specified, but the last path component is a symlink. Note:
 *    IEEE Std 1003.1-2008 specifies returning [ELOOP] for this case." (quoted in WASI's NetBSD
 *    test skip list), and sys/kern/vfs_vnops.c vn_open: `if (vp->v_type == VLNK) error = EFTYPE`.
 *  - O_TRUNC truncates even with O_RDONLY (vn_open checks `fmode & (FWRITE | O_TRUNC)` for
 *    write access and then sets the size to 0).
 *  - a new file's group is its directory's group (BSD semantics).
 *  - PATH_MAX (1024) counts the terminating NUL: a 1023-byte path is accepted, 1024 is not.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
  S_IFMT, S_IFREG, SEEK_SET, SEEK_CUR,
} from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec, OWNER, GROUP, OTHER } from './harness.js';

export function openTests(b: Backend): void {
  describe('open', () => {
    test(b, 'O_CREAT creates an empty regular file with the given mode minus the umask', async (c) => {
      await c.sys.umask(c.l, 0o022);
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o666);
      await c.sys.close(c.l, fd);
      const st = await c.stat(c.p('f'));
      assert.equal(st.mode & S_IFMT, S_IFREG);
      assert.equal(st.mode & 0o7777, 0o644);
      assert.equal(st.size, 0);
      assert.equal(st.nlink, 1);
    });

    test(b, 'O_CREAT on an existing file opens it without truncating or changing its mode', async (c) => {
      await c.mkfile(c.p('f'), 'keep', 0o600);
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o777);
      await c.sys.close(c.l, fd);
      const st = await c.stat(c.p('f'));
      assert.equal(st.mode & 0o7777, 0o600);
      assert.equal(await c.readText(c.p('f')), 'keep');
    });

    test(b, 'O_CREAT|O_EXCL on an existing file fails with EEXIST', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await rejects(c.sys.open(c.l, c.p('f'), O_CREAT | O_EXCL | O_RDWR, 0o644), 'EEXIST');
      assert.equal(await c.readText(c.p('f')), 'x');
    });

    test(b, 'O_CREAT|O_EXCL on an existing directory fails with EEXIST', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.open(c.l, c.p('d'), O_CREAT | O_EXCL | O_RDWR, 0o644), 'EEXIST');
    });

    test(b, 'O_CREAT|O_EXCL on a dangling symbolic link fails with EEXIST and creates nothing', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'target', c.p('link'));
      await rejects(c.sys.open(c.l, c.p('link'), O_CREAT | O_EXCL | O_WRONLY, 0o644), 'EEXIST');
      assert.equal(await c.exists(c.p('target')), false);
    });

    test(b, 'O_CREAT through a dangling symbolic link creates the link target', { needs: ['symlinks'] }, async (c) => {
      await c.sys.symlink(c.l, 'target', c.p('link'));
      const fd = await c.sys.open(c.l, c.p('link'), O_CREAT | O_WRONLY, 0o644);
      await c.sys.write(c.l, fd, enc('via link'));
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('target')), 'via link');
    });

    test(b, 'the creating open returns a writable descriptor even for mode 0', { needs: ['permissions'] }, async (c) => {
      const u = c.user(OWNER, GROUP);
      await c.sys.chown(c.l, c.dir, OWNER, GROUP);
      const fd = await c.sys.open(u, c.p('f'), O_CREAT | O_RDWR, 0);
      assert.equal(await c.sys.write(u, fd, enc('abc')), 3);
      await c.sys.close(u, fd);
      assert.equal((await c.stat(c.p('f'))).mode & 0o777, 0);
      await rejects(c.sys.open(u, c.p('f'), O_RDONLY, 0), 'EACCES', 'reopen of a mode-0 file');
    });

    test(b, 'a new file is owned by the effective uid and by the group of its directory', { needs: ['permissions'] }, async (c) => {
      await c.sys.chown(c.l, c.dir, 0, 77);
      await c.sys.chmod(c.l, c.dir, 0o777);
      const u = c.user(OTHER, OTHER);
      const fd = await c.sys.open(u, c.p('f'), O_CREAT | O_WRONLY, 0o644);
      await c.sys.close(u, fd);
      const st = await c.stat(c.p('f'));
      assert.equal(st.uid, OTHER);
      assert.equal(st.gid, 77);
    });

    test(b, 'O_TRUNC empties an existing file', async (c) => {
      await c.mkfile(c.p('f'), 'some data');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY | O_TRUNC, 0);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 0);
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 0);
    });

    test(b, 'O_TRUNC with O_RDONLY still truncates (NetBSD vn_open)', async (c) => {
      await c.mkfile(c.p('f'), 'some data');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY | O_TRUNC, 0);
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 0);
    });

    test(b, 'O_APPEND writes at the end even after seeking to the start', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR | O_APPEND, 0);
      await c.sys.lseek(c.l, fd, 0, SEEK_SET);
      await c.sys.write(c.l, fd, enc('de'));
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 5, 'offset after an appending write is the new end');
      await c.sys.lseek(c.l, fd, 1, SEEK_SET);
      await c.sys.write(c.l, fd, enc('f'));
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'abcdef');
    });

    test(b, 'O_APPEND appends between two writers on separate descriptors', async (c) => {
      await c.mkfile(c.p('f'), '');
      const a = await c.sys.open(c.l, c.p('f'), O_WRONLY | O_APPEND, 0);
      const bfd = await c.sys.open(c.l, c.p('f'), O_WRONLY | O_APPEND, 0);
      await c.sys.write(c.l, a, enc('1'));
      await c.sys.write(c.l, bfd, enc('2'));
      await c.sys.write(c.l, a, enc('3'));
      await c.sys.close(c.l, a);
      await c.sys.close(c.l, bfd);
      assert.equal(await c.readText(c.p('f')), '123');
    });

    test(b, 'O_DIRECTORY on a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.open(c.l, c.p('f'), O_RDONLY | O_DIRECTORY, 0), 'ENOTDIR');
    });

    test(b, 'O_DIRECTORY on a directory opens it', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const fd = await c.sys.open(c.l, c.p('d'), O_RDONLY | O_DIRECTORY, 0);
      assert.equal((await c.sys.fstat(c.l, fd)).ino, (await c.stat(c.p('d'))).ino);
      await c.sys.close(c.l, fd);
    });

    test(b, 'O_NOFOLLOW on a symbolic link fails with EFTYPE (NetBSD)', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await c.sys.symlink(c.l, 'f', c.p('link'));
      await rejects(c.sys.open(c.l, c.p('link'), O_RDONLY | O_NOFOLLOW, 0), 'EFTYPE', 'O_RDONLY');
      await rejects(c.sys.open(c.l, c.p('link'), O_RDWR | O_NOFOLLOW, 0), 'EFTYPE', 'O_RDWR');
      await rejects(c.sys.open(c.l, c.p('link'), O_RDWR | O_CREAT | O_NOFOLLOW, 0o644), 'EFTYPE', 'O_CREAT');
    });

    test(b, 'O_NOFOLLOW still follows symbolic links in the middle of the path', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'), 'inner');
      await c.sys.symlink(c.l, 'd', c.p('dl'));
      const fd = await c.sys.open(c.l, c.p('dl/f'), O_RDONLY | O_NOFOLLOW, 0);
      assert.equal(dec(await c.readAll(fd)), 'inner');
      await c.sys.close(c.l, fd);
    });

    test(b, 'O_NOFOLLOW on a regular file opens it', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY | O_NOFOLLOW, 0);
      await c.sys.close(c.l, fd);
    });

    test(b, 'writing to an O_RDONLY descriptor fails with EBADF', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.write(c.l, fd, enc('y')), 'EBADF', 'write');
      await rejects(c.sys.pwrite(c.l, fd, enc('y'), 0), 'EBADF', 'pwrite');
      await rejects(c.sys.writev(c.l, fd, [enc('y')]), 'EBADF', 'writev');
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'x');
    });

    test(b, 'reading from an O_WRONLY descriptor fails with EBADF', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      await rejects(c.sys.read(c.l, fd, new Uint8Array(4)), 'EBADF', 'read');
      await rejects(c.sys.pread(c.l, fd, new Uint8Array(4), 0), 'EBADF', 'pread');
      await c.sys.close(c.l, fd);
    });

    test(b, 'opening a directory for writing fails with EISDIR', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await rejects(c.sys.open(c.l, c.p('d'), O_WRONLY, 0), 'EISDIR', 'O_WRONLY');
      await rejects(c.sys.open(c.l, c.p('d'), O_RDWR, 0), 'EISDIR', 'O_RDWR');
      await rejects(c.sys.open(c.l, c.p('d'), O_RDONLY | O_TRUNC, 0), 'EISDIR', 'O_RDONLY|O_TRUNC');
    });

    test(b, 'opening a directory read-only succeeds', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const fd = await c.sys.open(c.l, c.p('d'), O_RDONLY, 0);
      await c.sys.close(c.l, fd);
    });

    test(b, 'opening a missing file without O_CREAT fails with ENOENT', async (c) => {
      await rejects(c.sys.open(c.l, c.p('nope'), O_RDONLY, 0), 'ENOENT');
    });

    test(b, 'a missing directory in the middle of the path fails with ENOENT, also with O_CREAT', async (c) => {
      await rejects(c.sys.open(c.l, c.p('nodir/f'), O_RDONLY, 0), 'ENOENT', 'lookup');
      await rejects(c.sys.open(c.l, c.p('nodir/f'), O_CREAT | O_WRONLY, 0o644), 'ENOENT', 'create');
    });

    test(b, 'a regular file in the middle of the path fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.open(c.l, c.p('f/x'), O_RDONLY, 0), 'ENOTDIR', 'lookup');
      await rejects(c.sys.open(c.l, c.p('f/x'), O_CREAT | O_WRONLY, 0o644), 'ENOTDIR', 'create');
      await rejects(c.stat(c.p('f/x')), 'ENOTDIR', 'stat');
    });

    test(b, 'a trailing slash on a regular file fails with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.open(c.l, c.p('f/'), O_RDONLY, 0), 'ENOTDIR', 'open');
      await rejects(c.stat(c.p('f/')), 'ENOTDIR', 'stat');
    });

    test(b, 'a trailing slash on a directory resolves to the directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const fd = await c.sys.open(c.l, c.p('d/'), O_RDONLY, 0);
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('d//'))).ino, (await c.stat(c.p('d'))).ino);
    });

    test(b, 'the empty path fails with ENOENT', async (c) => {
      await rejects(c.sys.open(c.l, '', O_RDONLY, 0), 'ENOENT', 'open');
      await rejects(c.sys.open(c.l, '', O_CREAT | O_WRONLY, 0o644), 'ENOENT', 'open O_CREAT');
      await rejects(c.sys.stat(c.l, ''), 'ENOENT', 'stat');
    });

    test(b, 'a 255-byte name can be created, looked up and listed', async (c) => {
      const name = 'n'.repeat(255);
      await c.mkfile(c.p(name), 'long');
      assert.equal(await c.readText(c.p(name)), 'long');
      assert.deepEqual(await c.names(c.dir), [name]);
    });

    test(b, 'a 256-byte name fails with ENAMETOOLONG, for lookup and for creation', async (c) => {
      const name = 'n'.repeat(256);
      await rejects(c.sys.open(c.l, c.p(name), O_CREAT | O_WRONLY, 0o644), 'ENAMETOOLONG', 'create');
      await rejects(c.sys.open(c.l, c.p(name), O_RDONLY, 0), 'ENAMETOOLONG', 'lookup');
      await rejects(c.sys.mkdir(c.l, c.p(name), 0o755), 'ENAMETOOLONG', 'mkdir');
      await rejects(c.sys.stat(c.l, c.p(`${name}/x`)), 'ENAMETOOLONG', 'middle component');
      assert.deepEqual(await c.names(c.dir), []);
    });

    test(b, 'a path of PATH_MAX (1024) bytes fails with ENAMETOOLONG, one byte less is looked up', async (c) => {
      const build = (len: number): string => {
        let s = c.dir;
        while (s.length < len) s += `/${'d'.repeat(Math.min(200, len - s.length - 1))}`;
        return s;
      };
      const tooLong = build(1024);
      assert.equal(tooLong.length, 1024);
      await rejects(c.sys.open(c.l, tooLong, O_RDONLY, 0), 'ENAMETOOLONG', '1024 bytes');
      await rejects(c.sys.stat(c.l, build(5000)), 'ENAMETOOLONG', '5000 bytes');
      const fits = build(1023);
      assert.equal(fits.length, 1023);
      await rejects(c.sys.open(c.l, fits, O_RDONLY, 0), 'ENOENT', '1023 bytes');
    });

    test(b, '"." and ".." components resolve within the path', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('a/b'), 0o755);
      await c.mkfile(c.p('f'), 'top');
      assert.equal(await c.readText(c.p('a/./b/../../f')), 'top');
      assert.equal(await c.readText(`${c.dir}/./a/../f`), 'top');
      assert.equal((await c.stat(c.p('a/b/..'))).ino, (await c.stat(c.p('a'))).ino);
    });

    test(b, 'repeated slashes are ignored', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.mkfile(c.p('a/f'), 'x');
      assert.equal(await c.readText(`${c.dir}//a///f`), 'x');
    });

    test(b, 'names differing only in case are different files', { unless: ['caseInsensitive'] }, async (c) => {
      await c.mkfile(c.p('name'), 'lower');
      await c.mkfile(c.p('NAME'), 'upper');
      assert.equal(await c.readText(c.p('name')), 'lower');
      assert.equal(await c.readText(c.p('NAME')), 'upper');
      assert.deepEqual(await c.names(c.dir), ['NAME', 'name']);
    });

    test(b, 'names differing only in case are the same file on a case-insensitive file system', { needs: ['caseInsensitive'] }, async (c) => {
      await c.mkfile(c.p('Name'), 'x');
      assert.equal(await c.readText(c.p('NAME')), 'x');
      await rejects(c.sys.open(c.l, c.p('name'), O_CREAT | O_EXCL | O_WRONLY, 0o644), 'EEXIST');
    });

    test(b, 'closing a descriptor twice fails with EBADF the second time', async (c) => {
      await c.mkfile(c.p('f'));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.close(c.l, fd);
      await rejects(c.sys.close(c.l, fd), 'EBADF');
      await rejects(c.sys.read(c.l, fd, new Uint8Array(1)), 'EBADF', 'read after close');
    });

    test(b, 'open returns the lowest free descriptor', async (c) => {
      await c.mkfile(c.p('f'));
      const a = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const bb = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const cc = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      assert.ok(a < bb && bb < cc);
      await c.sys.close(c.l, bb);
      assert.equal(await c.sys.open(c.l, c.p('f'), O_RDONLY, 0), bb);
    });
  });
}
