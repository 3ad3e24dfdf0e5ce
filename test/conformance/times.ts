/**
 * Timestamps: which calls mark atime, mtime and ctime, and utimes/utimensat/futimens.
 *
 * Sources: POSIX.1-2017 (each function's "shall mark for update" clauses); NetBSD
 * sys/kern/vfs_syscalls.c do_sys_utimensat (UTIME_NOW, UTIME_OMIT, VA_UTIMES_NULL) and NetBSD
 * utimes(2): "If times is NULL ... The caller must be the owner of the file, have permission to
 * write the file, or be the super-user. If times is non-NULL ... The caller must be the owner of
 * the file or be the super-user"; genfs_can_chtimes returns EPERM for explicit times and EACCES
 * for "now" without write permission. "In either case, the inode-change-time of the file is set
 * to the current time."
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, UTIME_NOW, UTIME_OMIT,
} from '../../src/kern/types.js';
import type { Stat } from '../../src/kern/types.js';
import { type Backend, type Ctx, test, rejects, enc, ts, tsAfter, OWNER, GROUP, GROUPMATE, OTHER, OTHERGROUP } from './harness.js';

type Which = 'atime' | 'mtime' | 'ctime';

function same(a: Stat, b: Stat, which: Which): boolean {
  const x = ts(a, which), y = ts(b, which);
  return x.sec === y.sec && x.nsec === y.nsec;
}

/** Assert which of atime/mtime/ctime moved forward from `before` to `after`. */
function moved(before: Stat, after: Stat, expect: Partial<Record<Which, boolean>>, what: string): void {
  for (const w of ['atime', 'mtime', 'ctime'] as const) {
    const e = expect[w];
    if (e === undefined) continue;
    if (e) assert.ok(tsAfter(ts(after, w), ts(before, w)), `${what}: ${w} did not advance (${JSON.stringify(ts(before, w))} -> ${JSON.stringify(ts(after, w))})`);
    else assert.ok(same(before, after, w), `${what}: ${w} changed (${JSON.stringify(ts(before, w))} -> ${JSON.stringify(ts(after, w))})`);
  }
}

/** Time `fn` and check the given path's timestamps moved as expected. */
async function check(c: Ctx, path: string, expect: Partial<Record<Which, boolean>>, what: string, fn: () => Promise<void>): Promise<void> {
  const before = await c.lstat(path);
  await c.tick();
  await fn();
  moved(before, await c.lstat(path), expect, what);
}

export function timeTests(b: Backend): void {
  describe('timestamps', () => {
    test(b, 'a new file has atime, mtime and ctime equal to the current time', async (c) => {
      await c.tick();
      const t0 = c.now();
      await c.mkfile(c.p('f'));
      const st = await c.stat(c.p('f'));
      for (const w of ['atime', 'mtime', 'ctime'] as const) {
        const t = ts(st, w);
        assert.ok(!tsAfter(t0, t), `${w} ${JSON.stringify(t)} is before the creation time ${JSON.stringify(t0)}`);
        assert.ok(!tsAfter(t, c.now()), `${w} is in the future`);
      }
      assert.deepEqual(ts(st, 'atime'), ts(st, 'mtime'));
      assert.deepEqual(ts(st, 'ctime'), ts(st, 'mtime'));
    });

    test(b, 'creating a file updates its directory\'s mtime and ctime', async (c) => {
      await check(c, c.dir, { mtime: true, ctime: true }, 'create', () => c.mkfile(c.p('f')));
    });

    test(b, 'mkdir and rmdir update the parent\'s mtime and ctime', async (c) => {
      await check(c, c.dir, { mtime: true, ctime: true }, 'mkdir', () => c.sys.mkdir(c.l, c.p('d'), 0o755));
      await check(c, c.dir, { mtime: true, ctime: true }, 'rmdir', () => c.sys.rmdir(c.l, c.p('d')));
    });

    test(b, 'unlink updates the directory\'s mtime and ctime and the file\'s ctime', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.link(c.l, c.p('f'), c.p('g'));
      const fileBefore = await c.stat(c.p('g'));
      await check(c, c.dir, { mtime: true, ctime: true }, 'unlink (directory)', () => c.sys.unlink(c.l, c.p('f')));
      moved(fileBefore, await c.stat(c.p('g')), { ctime: true, mtime: false }, 'unlink (remaining link)');
    });

    test(b, 'writing updates mtime and ctime but not atime', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      await check(c, c.p('f'), { mtime: true, ctime: true, atime: false }, 'write', async () => { await c.sys.write(c.l, fd, enc('x')); });
      await check(c, c.p('f'), { mtime: true, ctime: true, atime: false }, 'pwrite', async () => { await c.sys.pwrite(c.l, fd, enc('y'), 10); });
      await c.sys.close(c.l, fd);
    });

    test(b, 'reading updates atime only', { needs: ['atime'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await check(c, c.p('f'), { atime: true, mtime: false, ctime: false }, 'read', async () => { await c.sys.read(c.l, fd, new Uint8Array(3)); });
      await c.sys.close(c.l, fd);
    });

    test(b, 'chmod updates ctime but not mtime', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await check(c, c.p('f'), { ctime: true, mtime: false, atime: false }, 'chmod', () => c.sys.chmod(c.l, c.p('f'), 0o600));
    });

    test(b, 'chown updates ctime but not mtime', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await check(c, c.p('f'), { ctime: true, mtime: false }, 'chown', () => c.sys.chown(c.l, c.p('f'), 5, 5));
    });

    test(b, 'truncate that changes the size updates mtime and ctime', async (c) => {
      await c.mkfile(c.p('f'), 'abcdef');
      await check(c, c.p('f'), { mtime: true, ctime: true }, 'truncate', () => c.sys.truncate(c.l, c.p('f'), 2));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await check(c, c.p('f'), { mtime: true, ctime: true }, 'ftruncate', () => c.sys.ftruncate(c.l, fd, 100));
      await c.sys.close(c.l, fd);
    });

    test(b, 'opening a non-empty file with O_TRUNC updates mtime and ctime', async (c) => {
      await c.mkfile(c.p('f'), 'abcdef');
      await check(c, c.p('f'), { mtime: true, ctime: true }, 'O_TRUNC', async () => {
        await c.sys.close(c.l, await c.sys.open(c.l, c.p('f'), O_WRONLY | O_TRUNC, 0));
      });
    });

    test(b, 'opening an existing file without O_TRUNC changes no timestamp', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      await check(c, c.p('f'), { mtime: false, ctime: false }, 'open', async () => {
        await c.sys.close(c.l, await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644));
      });
    });

    test(b, 'link updates the file\'s ctime and the directory\'s mtime', { needs: ['hardlinks'] }, async (c) => {
      await c.mkfile(c.p('f'));
      const dirBefore = await c.stat(c.dir);
      await check(c, c.p('f'), { ctime: true, mtime: false }, 'link (file)', () => c.sys.link(c.l, c.p('f'), c.p('g')));
      moved(dirBefore, await c.stat(c.dir), { mtime: true, ctime: true }, 'link (directory)');
    });

    test(b, 'symlink updates the directory\'s mtime', { needs: ['symlinks'] }, async (c) => {
      await check(c, c.dir, { mtime: true, ctime: true }, 'symlink', () => c.sys.symlink(c.l, 'x', c.p('l')));
    });

    test(b, 'rename updates the mtime of both directories', async (c) => {
      await c.sys.mkdir(c.l, c.p('a'), 0o755);
      await c.sys.mkdir(c.l, c.p('b'), 0o755);
      await c.mkfile(c.p('a/f'));
      const bBefore = await c.stat(c.p('b'));
      await check(c, c.p('a'), { mtime: true, ctime: true }, 'rename (source directory)', () => c.sys.rename(c.l, c.p('a/f'), c.p('b/f')));
      moved(bBefore, await c.stat(c.p('b')), { mtime: true, ctime: true }, 'rename (target directory)');
    });

    test(b, 'timestamps keep sub-second precision', { needs: ['timestampsNs'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.utimes(c.l, c.p('f'), [{ sec: 1000000000, nsec: 123456789 }, { sec: 1500000000, nsec: 987654000 }]);
      const st = await c.stat(c.p('f'));
      assert.equal(st.mtimeSec, 1500000000);
      assert.ok(Math.abs(st.mtimeNsec - 987654000) < 1000, `mtime nsec ${st.mtimeNsec}`);
      assert.ok(Math.abs(st.atimeNsec - 123456789) < 1000, `atime nsec ${st.atimeNsec}`);
    });
  });

  describe('utimes', () => {
    const exact = { sec: 1234567890, nsec: 0 };
    const exact2 = { sec: 1234567900, nsec: 0 };

    test(b, 'utimes sets atime and mtime exactly and ctime to now', async (c) => {
      await c.mkfile(c.p('f'));
      await c.tick();
      const before = c.now();
      await c.sys.utimes(c.l, c.p('f'), [exact, exact2]);
      const st = await c.stat(c.p('f'));
      assert.deepEqual(ts(st, 'atime'), exact);
      assert.deepEqual(ts(st, 'mtime'), exact2);
      assert.ok(!tsAfter(before, ts(st, 'ctime')), 'ctime was not set to now');
    });

    test(b, 'utimes with null times sets both to now', async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.utimes(c.l, c.p('f'), [exact, exact]);
      await c.tick();
      const before = c.now();
      await c.sys.utimes(c.l, c.p('f'), null);
      const after = c.now();
      const st = await c.stat(c.p('f'));
      for (const w of ['atime', 'mtime'] as const) {
        assert.ok(!tsAfter(before, ts(st, w)) && !tsAfter(ts(st, w), after), `${w} ${JSON.stringify(ts(st, w))} not in [${JSON.stringify(before)}, ${JSON.stringify(after)}]`);
      }
    });

    test(b, 'utimensat with UTIME_OMIT leaves that time and UTIME_NOW sets it to now', async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.utimes(c.l, c.p('f'), [exact, exact2]);
      await c.tick();
      const before = c.now();
      await c.sys.utimensat(c.l, AT_FDCWD, c.p('f'), [{ sec: 0, nsec: UTIME_OMIT }, { sec: 0, nsec: UTIME_NOW }], 0);
      let st = await c.stat(c.p('f'));
      assert.deepEqual(ts(st, 'atime'), exact);
      assert.ok(!tsAfter(before, ts(st, 'mtime')), 'mtime not set to now');
      const nowMtime = ts(st, 'mtime');
      await c.tick();
      await c.sys.utimensat(c.l, AT_FDCWD, c.p('f'), [{ sec: 5, nsec: 0 }, { sec: 0, nsec: UTIME_OMIT }], 0);
      st = await c.stat(c.p('f'));
      assert.deepEqual(ts(st, 'atime'), { sec: 5, nsec: 0 });
      assert.deepEqual(ts(st, 'mtime'), nowMtime, 'mtime changed under UTIME_OMIT');
    });

    test(b, 'futimens sets the times of an open file', async (c) => {
      await c.mkfile(c.p('f'));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.futimens(c.l, fd, [exact, exact2]);
      await c.sys.close(c.l, fd);
      const st = await c.stat(c.p('f'));
      assert.deepEqual(ts(st, 'atime'), exact);
      assert.deepEqual(ts(st, 'mtime'), exact2);
    });

    test(b, 'utimes follows symbolic links; lutimes and AT_SYMLINK_NOFOLLOW do not', { needs: ['symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.symlink(c.l, 'f', c.p('l'));
      await c.sys.utimes(c.l, c.p('l'), [exact, exact]);
      assert.deepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact);
      assert.notDeepEqual(ts(await c.lstat(c.p('l')), 'mtime'), exact);
      await c.sys.lutimes(c.l, c.p('l'), [exact2, exact2]);
      assert.deepEqual(ts(await c.lstat(c.p('l')), 'mtime'), exact2);
      assert.deepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact);
      await c.sys.utimensat(c.l, AT_FDCWD, c.p('l'), [{ sec: 77, nsec: 0 }, { sec: 77, nsec: 0 }], AT_SYMLINK_NOFOLLOW);
      assert.equal((await c.lstat(c.p('l'))).mtimeSec, 77);
      assert.deepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact);
    });

    test(b, 'explicit times need the owner or root: others get EPERM even with write access', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), '', 0o666);
      await c.sys.chown(c.l, c.p('f'), OWNER, GROUP);
      await c.sys.chmod(c.l, c.p('f'), 0o666);
      await rejects(c.sys.utimes(c.user(OTHER, OTHERGROUP), c.p('f'), [exact, exact]), 'EPERM', 'writer, explicit');
      await c.sys.utimes(c.user(OWNER, GROUP), c.p('f'), [exact, exact]);
      assert.deepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact);
      await c.sys.utimes(c.l, c.p('f'), [exact2, exact2]);
      assert.deepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact2);
    });

    test(b, 'setting the times to now needs ownership or write access, else EACCES', { needs: ['permissions'] }, async (c) => {
      await c.mkfile(c.p('f'), '', 0o644);
      await c.sys.chown(c.l, c.p('f'), OWNER, GROUP);
      await c.sys.chmod(c.l, c.p('f'), 0o646);
      await c.sys.utimes(c.l, c.p('f'), [exact, exact]);
      await c.sys.utimes(c.user(OTHER, OTHERGROUP), c.p('f'), null);
      assert.notDeepEqual(ts(await c.stat(c.p('f')), 'mtime'), exact, 'a writer could not set the times to now');
      await rejects(c.sys.utimes(c.user(GROUPMATE, GROUP), c.p('f'), null), 'EACCES', 'non-writer, now');
      await rejects(c.sys.utimensat(c.user(GROUPMATE, GROUP), AT_FDCWD, c.p('f'),
        [{ sec: 0, nsec: UTIME_NOW }, { sec: 0, nsec: UTIME_NOW }], 0), 'EACCES', 'non-writer, UTIME_NOW');
      await c.sys.chmod(c.l, c.p('f'), 0o000);
      await c.sys.utimes(c.user(OWNER, GROUP), c.p('f'), null);
    });

    test(b, 'an out-of-range nanosecond value fails with EINVAL', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.utimensat(c.l, AT_FDCWD, c.p('f'), [{ sec: 1, nsec: 1_000_000_000 }, { sec: 1, nsec: 0 }], 0), 'EINVAL', 'nsec 1e9');
      await rejects(c.sys.utimensat(c.l, AT_FDCWD, c.p('f'), [{ sec: 1, nsec: 0 }, { sec: 1, nsec: -1 }], 0), 'EINVAL', 'nsec -1');
    });

    test(b, 'utimes of a missing file fails with ENOENT', async (c) => {
      await rejects(c.sys.utimes(c.l, c.p('nope'), null), 'ENOENT');
    });
  });
}
