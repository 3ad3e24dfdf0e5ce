/**
 * Concurrent calls: the kernel is asynchronous, so calls from several lwps interleave at every
 * await. Name-space operations must stay atomic (POSIX: O_CREAT|O_EXCL, mkdir, link and rename
 * are atomic with respect to each other) and no interleaving may leave a cycle, a lost entry or
 * a duplicate.
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_APPEND, O_CREAT, O_EXCL, O_RDWR, O_WRONLY } from '../../src/kern/types.js';
import { type Backend, type Ctx, test, enc, pattern } from './harness.js';

/** Settle every promise; return the errno codes of the rejected ones (undefined for success). */
async function outcomes(ps: Promise<unknown>[]): Promise<(string | undefined)[]> {
  const r = await Promise.allSettled(ps);
  return r.map((x) => (x.status === 'fulfilled' ? undefined : String((x.reason as { code?: unknown }).code ?? x.reason)));
}

/** Walk the tree under `path` (no symlinks followed) and return every path; fails on a cycle. */
async function walk(c: Ctx, path: string, seen = new Set<number>()): Promise<string[]> {
  const ino = (await c.lstat(path)).ino;
  assert.ok(!seen.has(ino), `directory cycle at ${path}`);
  seen.add(ino);
  const out: string[] = [];
  for (const e of await c.readdir(path)) {
    if (e.name === '.' || e.name === '..') continue;
    const p = `${path}/${e.name}`;
    out.push(p);
    if (e.type === 4 /* DT_DIR */) out.push(...await walk(c, p, seen));
  }
  return out;
}

export function concurrencyTests(b: Backend): void {
  describe('concurrent calls', () => {
    test(b, 'of many concurrent O_CREAT|O_EXCL opens of one name exactly one succeeds', async (c) => {
      const lwps = Array.from({ length: 8 }, () => c.user(0, 0));
      const res = await outcomes(lwps.map((l) => c.sys.open(l, c.p('f'), O_CREAT | O_EXCL | O_WRONLY, 0o644)));
      assert.equal(res.filter((r) => r === undefined).length, 1, JSON.stringify(res));
      assert.ok(res.every((r) => r === undefined || r === 'EEXIST'), JSON.stringify(res));
      assert.deepEqual(await c.names(c.dir), ['f']);
    });

    test(b, 'of many concurrent mkdirs of one name exactly one succeeds', async (c) => {
      const lwps = Array.from({ length: 8 }, () => c.user(0, 0));
      const res = await outcomes(lwps.map((l) => c.sys.mkdir(l, c.p('d'), 0o755)));
      assert.equal(res.filter((r) => r === undefined).length, 1, JSON.stringify(res));
      assert.ok(res.every((r) => r === undefined || r === 'EEXIST'), JSON.stringify(res));
      if (c.feat.dirLinkCount) assert.equal((await c.stat(c.dir)).nlink, 3);
    });

    test(b, 'concurrent creates of different names in one directory all land', async (c) => {
      const names = Array.from({ length: 100 }, (_, i) => `c${i}`);
      await Promise.all(names.map((n, i) => c.mkfile(c.p(n), `${i}`, 0o644, c.user(0, 0))));
      assert.deepEqual(await c.names(c.dir), [...names].sort());
      assert.equal(await c.readText(c.p('c42')), '42');
    });

    test(b, 'concurrent appends from separate descriptors lose no data', async (c) => {
      await c.mkfile(c.p('log'));
      const writers = Array.from({ length: 10 }, async (_, w) => {
        const l = c.user(0, 0);
        const fd = await c.sys.open(l, c.p('log'), O_WRONLY | O_APPEND, 0);
        for (let i = 0; i < 20; i++) await c.sys.write(l, fd, enc(`${String.fromCharCode(65 + w)}${String(i).padStart(2, '0')};`));
        await c.sys.close(l, fd);
      });
      await Promise.all(writers);
      const text = await c.readText(c.p('log'));
      assert.equal(text.length, 10 * 20 * 4);
      const recs = text.split(';').filter((s) => s !== '');
      assert.equal(new Set(recs).size, 200, 'records overwritten or torn');
    });

    test(b, 'concurrent writers to disjoint ranges of one file each keep their data', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      const chunk = 10000;
      await Promise.all(Array.from({ length: 8 }, (_, i) => c.sys.pwrite(c.l, fd, pattern(chunk, i + 1), i * chunk)));
      for (let i = 0; i < 8; i++) {
        const got = await c.pread(fd, chunk, i * chunk);
        assert.ok(Buffer.compare(got, pattern(chunk, i + 1)) === 0, `range ${i} corrupted`);
      }
      await c.sys.close(c.l, fd);
    });

    test(b, 'crossed renames of two directories into each other never make a cycle', async (c) => {
      for (let round = 0; round < 10; round++) {
        const base = c.p(`r${round}`);
        await c.sys.mkdir(c.l, base, 0o755);
        await c.sys.mkdir(c.l, `${base}/a`, 0o755);
        await c.sys.mkdir(c.l, `${base}/b`, 0o755);
        const res = await outcomes([
          c.sys.rename(c.user(0, 0), `${base}/a`, `${base}/b/a`),
          c.sys.rename(c.user(0, 0), `${base}/b`, `${base}/a/b`),
        ]);
        assert.ok(res.filter((r) => r === undefined).length <= 1, `both crossed renames succeeded: ${JSON.stringify(res)}`);
        assert.ok(res.every((r) => r === undefined || r === 'EINVAL' || r === 'ENOENT'), JSON.stringify(res));
        const all = await walk(c, base);
        assert.equal(all.length, 2, `tree after crossed renames: ${JSON.stringify(all)}`);
      }
    });

    test(b, 'concurrent renames of one file to different names leave exactly one name', async (c) => {
      await c.mkfile(c.p('src'), 'payload');
      const res = await outcomes(Array.from({ length: 6 }, (_, i) => c.sys.rename(c.user(0, 0), c.p('src'), c.p(`dst${i}`))));
      assert.ok(res.every((r) => r === undefined || r === 'ENOENT'), JSON.stringify(res));
      const names = await c.names(c.dir);
      assert.equal(names.length, 1, `names after the renames: ${JSON.stringify(names)}`);
      assert.equal(await c.readText(c.p(names[0]!)), 'payload');
    });

    test(b, 'concurrent unlink and link of one file keep the link count right', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x');
      await Promise.all(Array.from({ length: 10 }, (_, i) => c.sys.link(c.user(0, 0), c.p('f'), c.p(`l${i}`))));
      assert.equal((await c.stat(c.p('f'))).nlink, 11);
      await Promise.all(Array.from({ length: 10 }, (_, i) => c.sys.unlink(c.user(0, 0), c.p(`l${i}`))));
      assert.equal((await c.stat(c.p('f'))).nlink, 1);
      assert.deepEqual(await c.names(c.dir), ['f']);
    });

    test(b, 'rmdir racing a create inside the directory leaves a consistent state', async (c) => {
      for (let round = 0; round < 10; round++) {
        const d = c.p(`d${round}`);
        await c.sys.mkdir(c.l, d, 0o755);
        const res = await outcomes([
          c.sys.rmdir(c.user(0, 0), d),
          c.mkfile(`${d}/f`, 'x', 0o644, c.user(0, 0)),
        ]);
        const [rm, cr] = res;
        if (rm === undefined) {
          assert.equal(await c.exists(d), false);
          assert.ok(cr === 'ENOENT', `create after a successful rmdir: ${String(cr)}`);
        } else {
          assert.equal(rm, 'ENOTEMPTY');
          assert.equal(cr, undefined);
          assert.deepEqual(await c.names(d), ['f']);
        }
      }
    });
  });
}
