/**
 * getdents(2): every entry exactly once, across many small calls, with '.' and '..'; types and
 * inode numbers that agree with stat; rewinding; entries removed during a scan.
 *
 * NetBSD: getdents on a descriptor that is not a directory is EINVAL (sys/kern/vfs_vnops.c
 * vn_readdir: `if (vp->v_type != VDIR) return (EINVAL)`). POSIX leaves it unspecified whether a
 * name added or removed during a scan is returned; every other name must come exactly once.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { DT_DIR, DT_REG, O_RDONLY, O_DIRECTORY, SEEK_SET } from '../../src/kern/types.js';
import type { Dirent } from '../../src/kern/types.js';
import { type Backend, type Ctx, test, rejects } from './harness.js';

/** Read a directory with many small getdents calls; also returns how many calls were made. */
async function scan(c: Ctx, path: string, count: number): Promise<{ ents: Dirent[]; calls: number }> {
  const fd = await c.sys.open(c.l, path, O_RDONLY | O_DIRECTORY, 0);
  const ents: Dirent[] = [];
  let calls = 0;
  try {
    for (;;) {
      calls++;
      assert.ok(calls < 100000, 'getdents never reached the end');
      const batch = await c.sys.getdents(c.l, fd, count);
      if (batch.length === 0) break;
      ents.push(...batch);
    }
  } finally {
    await c.sys.close(c.l, fd);
  }
  return { ents, calls };
}

function counts(ents: Dirent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of ents) m.set(e.name, (m.get(e.name) ?? 0) + 1);
  return m;
}

function assertOnce(ents: Dirent[], expected: string[]): void {
  const m = counts(ents);
  const dups = [...m].filter(([, n]) => n > 1).map(([k]) => k);
  assert.deepEqual(dups, [], 'names returned more than once');
  assert.deepEqual([...m.keys()].sort(), [...expected].sort());
}

export function getdentsTests(b: Backend): void {
  describe('getdents', () => {
    test(b, 'an empty directory lists exactly "." and ".."', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const ents = await c.readdir(c.p('d'));
      assertOnce(ents, ['.', '..']);
    });

    test(b, '"." carries the directory\'s inode number and ".." its parent\'s', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const ents = await c.readdir(c.p('d'));
      assert.equal(ents.find((e) => e.name === '.')?.ino, (await c.stat(c.p('d'))).ino);
      assert.equal(ents.find((e) => e.name === '..')?.ino, (await c.stat(c.dir)).ino);
    });

    test(b, 'each entry comes exactly once across many small getdents calls', async (c) => {
      const names = Array.from({ length: 40 }, (_, i) => `entry-${i}-${'x'.repeat(i % 7)}`);
      for (const n of names) await c.mkfile(c.p(n));
      // count is the most entries one call returns (this project's getdents contract)
      for (const count of [1, 2, 3, 7, 16]) {
        const { ents, calls } = await scan(c, c.dir, count);
        assertOnce(ents, ['.', '..', ...names]);
        assert.ok(calls - 1 >= Math.ceil(42 / count), `getdents(count=${count}) returned 42 entries in ${calls - 1} call(s)`);
      }
    });

    test(b, 'entry types and inode numbers agree with lstat', { needs: ['direntTypes'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const ents = await c.readdir(c.dir);
      const f = ents.find((e) => e.name === 'f');
      const d = ents.find((e) => e.name === 'd');
      assert.equal(f?.type, DT_REG);
      assert.equal(d?.type, DT_DIR);
      assert.equal(f?.ino, (await c.lstat(c.p('f'))).ino);
      assert.equal(d?.ino, (await c.lstat(c.p('d'))).ino);
      assert.equal(ents.find((e) => e.name === '.')?.type, DT_DIR);
    });

    test(b, 'a removed name disappears and a created one appears in a new scan', async (c) => {
      await c.mkfile(c.p('a'));
      await c.mkfile(c.p('b'));
      await c.sys.unlink(c.l, c.p('a'));
      assert.deepEqual(await c.names(c.dir), ['b']);
      await c.mkfile(c.p('c'));
      assert.deepEqual(await c.names(c.dir), ['b', 'c']);
      await c.sys.rename(c.l, c.p('b'), c.p('z'));
      assert.deepEqual(await c.names(c.dir), ['c', 'z']);
    });

    test(b, 'a directory of 1000 entries lists each exactly once', { timeout: 120000 }, async (c) => {
      const names: string[] = [];
      for (let i = 0; i < 1000; i++) {
        const n = `file${String(i).padStart(4, '0')}`;
        names.push(n);
        await c.mkfile(c.p(n));
      }
      const { ents } = await scan(c, c.dir, 512);
      assertOnce(ents, ['.', '..', ...names]);
      const ino = new Set(ents.filter((e) => e.name !== '.' && e.name !== '..').map((e) => e.ino));
      assert.equal(ino.size, 1000, 'inode numbers are not unique');
    });

    test(b, 'removing already-listed entries during a scan skips and repeats nothing', async (c) => {
      const names = Array.from({ length: 100 }, (_, i) => `n${i}`);
      for (const n of names) await c.mkfile(c.p(n));
      const fd = await c.sys.open(c.l, c.dir, O_RDONLY, 0);
      const seen: Dirent[] = [];
      for (;;) {
        const batch = await c.sys.getdents(c.l, fd, 16);
        if (batch.length === 0) break;
        seen.push(...batch);
        for (const e of batch) if (e.name !== '.' && e.name !== '..') await c.sys.unlink(c.l, c.p(e.name));
        assert.ok(seen.length < 1000, 'scan does not end');
      }
      await c.sys.close(c.l, fd);
      assertOnce(seen, ['.', '..', ...names]);
      assert.deepEqual(await c.names(c.dir), []);
    });

    test(b, 'entries added during a scan never make another entry repeat or vanish', async (c) => {
      const names = Array.from({ length: 60 }, (_, i) => `old${i}`);
      for (const n of names) await c.mkfile(c.p(n));
      const fd = await c.sys.open(c.l, c.dir, O_RDONLY, 0);
      const seen: Dirent[] = [];
      let k = 0;
      for (;;) {
        const batch = await c.sys.getdents(c.l, fd, 16);
        if (batch.length === 0) break;
        seen.push(...batch);
        if (k < 3) await c.mkfile(c.p(`new${k++}`));
        assert.ok(seen.length < 1000, 'scan does not end');
      }
      await c.sys.close(c.l, fd);
      const old = seen.filter((e) => !e.name.startsWith('new'));
      assertOnce(old, ['.', '..', ...names]);
      const fresh = seen.filter((e) => e.name.startsWith('new')).map((e) => e.name);
      assert.equal(new Set(fresh).size, fresh.length, 'a new entry was returned twice');
    });

    test(b, 'seeking a directory descriptor back to 0 restarts the listing', async (c) => {
      for (let i = 0; i < 5; i++) await c.mkfile(c.p(`f${i}`));
      const fd = await c.sys.open(c.l, c.dir, O_RDONLY, 0);
      const first = await c.readdirFd(fd, 64);
      assert.deepEqual(await c.sys.getdents(c.l, fd, 4096), [], 'more entries after the end');
      await c.sys.lseek(c.l, fd, 0, SEEK_SET);
      const again = await c.readdirFd(fd, 64);
      assert.deepEqual(again.map((e) => e.name).sort(), first.map((e) => e.name).sort());
      await c.sys.close(c.l, fd);
    });

    test(b, 'getdents on a regular file fails with EINVAL (NetBSD)', async (c) => {
      await c.mkfile(c.p('f'), 'not a directory');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.getdents(c.l, fd, 4096), 'EINVAL');
      await c.sys.close(c.l, fd);
    });

    test(b, 'getdents on a descriptor that is not open fails with EBADF', async (c) => {
      await rejects(c.sys.getdents(c.l, 55, 4096), 'EBADF');
    });

    test(b, 'long and unusual names come back unchanged', async (c) => {
      const names = ['n'.repeat(255), 'with space', 'üñïçødé', 'a.b.c', '-dash', '...', 'x'.repeat(100)];
      for (const n of names) await c.mkfile(c.p(n));
      assert.deepEqual(await c.names(c.dir), [...names].sort());
    });
  });
}
