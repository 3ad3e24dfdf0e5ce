/**
 * chdir(2), fchdir(2), getcwd(3): relative paths resolve from the process's current directory,
 * which is per process; getcwd names it, also across mount points and after renames.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_WRONLY } from '../../src/kern/types.js';
import { type Backend, test, rejects, OTHER } from './harness.js';

export function cwdTests(b: Backend): void {
  describe('current directory', () => {
    test(b, 'relative paths resolve from the directory set by chdir', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.chdir(c.l, c.p('d'));
      await c.mkfile('rel', 'relative');
      assert.equal(await c.readText(c.p('d/rel')), 'relative');
      assert.equal(await c.readText('./rel'), 'relative');
      assert.equal((await c.sys.stat(c.l, '..')).ino, (await c.stat(c.dir)).ino);
      await c.sys.mkdir(c.l, 'sub', 0o755);
      await c.sys.chdir(c.l, 'sub');
      assert.equal(await c.readText('../rel'), 'relative');
    });

    test(b, 'getcwd names the current directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('a/b'), 0o755);
      await c.sys.chdir(c.l, c.p('a/b'));
      assert.equal(await c.sys.getcwd(c.l), c.p('a/b'));
      await c.sys.chdir(c.l, '..');
      assert.equal(await c.sys.getcwd(c.l), c.p('a'));
      await c.sys.chdir(c.l, '/');
      assert.equal(await c.sys.getcwd(c.l), '/');
    });

    test(b, 'getcwd follows a rename of the current directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('old'), 0o755);
      await c.sys.chdir(c.l, c.p('old'));
      await c.sys.rename(c.l, c.p('old'), c.p('new'));
      assert.equal(await c.sys.getcwd(c.l), c.p('new'));
    });

    test(b, 'getcwd crosses into a mounted file system', async (c) => {
      if (!c.canMount()) return;
      await c.sys.mkdir(c.l, c.p('m'), 0o755);
      await c.sys.mount(c.l, 'tmpfs', c.p('m'), 0, {});
      const p = c.user(0, 0);
      try {
        await c.sys.mkdir(c.l, c.p('m/in'), 0o755);
        await c.sys.chdir(p, c.p('m/in'));
        assert.equal(await c.sys.getcwd(p), c.p('m/in'));
        await c.sys.chdir(p, '../..');
        assert.equal(await c.sys.getcwd(p), c.dir);
      } finally {
        await c.sys.unmount(c.l, c.p('m'), 0);
      }
    });

    test(b, 'a symbolic link in the chdir path is resolved away in getcwd', { needs: ['symlinks'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('real'), 0o755);
      await c.sys.symlink(c.l, 'real', c.p('alias'));
      await c.sys.chdir(c.l, c.p('alias'));
      assert.equal(await c.sys.getcwd(c.l), c.p('real'));
    });

    test(b, 'fchdir changes to the directory of a descriptor', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'), 'via fchdir');
      const fd = await c.sys.open(c.l, c.p('d'), O_RDONLY, 0);
      await c.sys.fchdir(c.l, fd);
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText('f'), 'via fchdir');
      assert.equal(await c.sys.getcwd(c.l), c.p('d'));
    });

    test(b, 'chdir and fchdir to a regular file fail with ENOTDIR', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.chdir(c.l, c.p('f')), 'ENOTDIR', 'chdir');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.fchdir(c.l, fd), 'ENOTDIR', 'fchdir');
      await c.sys.close(c.l, fd);
    });

    test(b, 'chdir to a missing directory fails with ENOENT and keeps the old one', async (c) => {
      await c.sys.chdir(c.l, c.dir);
      await rejects(c.sys.chdir(c.l, c.p('nope')), 'ENOENT');
      assert.equal(await c.sys.getcwd(c.l), c.dir);
    });

    test(b, 'chdir needs search permission', { needs: ['permissions'] }, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o750);
      await rejects(c.sys.chdir(c.user(OTHER), c.p('d')), 'EACCES');
    });

    test(b, 'each process has its own current directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('b'), 0o755);
      const p1 = c.user(0, 0), p2 = c.user(0, 0);
      await c.sys.chdir(p1, c.p('a'));
      await c.sys.chdir(p2, c.p('b'));
      await c.sys.close(p1, await c.sys.open(p1, 'x', O_CREAT | O_WRONLY, 0o644));
      assert.deepEqual(await c.names(c.p('a')), ['x']);
      assert.deepEqual(await c.names(c.p('b')), []);
      assert.equal(await c.sys.getcwd(p2), c.p('b'));
    });

    test(b, 'a child process starts in its parent\'s current directory', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const parent = c.user(0, 0);
      await c.sys.chdir(parent, c.p('d'));
      const child = c.k.newProc({ parent: parent.proc });
      assert.equal(await c.sys.getcwd(child), c.p('d'));
    });

    test(b, 'a removed current directory accepts no new entries', async (c) => {
      await c.sys.mkdir(c.l, c.p('gone'), 0o755);
      const p = c.user(0, 0);
      await c.sys.chdir(p, c.p('gone'));
      await c.sys.rmdir(c.l, c.p('gone'));
      await rejects(c.sys.open(p, 'f', O_CREAT | O_WRONLY, 0o644), 'ENOENT');
    });
  });
}
