/**
 * Permission checks by credential: owner/group/other bits (the first matching class decides),
 * supplementary groups, search permission on directories, root's override, chmod/chown rules,
 * access(2), and the sticky directory.
 *
 * NetBSD sources:
 *  - genfs_can_access: root may read and write anything, but execute a non-directory only when
 *    some x bit is set.
 *  - genfs_can_chmod (sys/miscfs/genfs/genfs_vnops.c): only the owner or root; a non-root owner
 *    setting the sticky bit on a non-directory gets EFTYPE, setting S_ISGID on a file whose
 *    group it is not a member of gets EPERM (chmod(2): "[EPERM] The mode includes the setgid bit
 *    but the file's group is neither the effective group ID nor is it in the group access list").
 *  - genfs_can_chown: a non-root owner may only change the group, to one it belongs to; anything
 *    else is EPERM. change_owner (vfs_syscalls.c) clears S_ISGID when the group changes.
 *  - genfs_can_sticky: in a sticky directory only the file's owner or the directory's owner may
 *    remove or rename (EPERM); unlink(2)/rename(2)/rmdir(2) ERRORS.
 *  - do_sys_accessat: a mode with bits beyond R_OK|W_OK|X_OK is EINVAL; without AT_EACCESS the
 *    real ids are used.
 *  - chmod(2): "writing to a file turns off the set-user-id and set-group-id bits unless the user
 *    is the super-user".
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  AT_EACCESS, AT_FDCWD, F_OK, O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, R_OK, S_ISGID, S_ISVTX, W_OK, X_OK,
} from '../../src/kern/types.js';
import type { Lwp } from '../../src/kern/proc.js';
import { type Backend, type Ctx, test, rejects, enc, OWNER, GROUPMATE, OTHER, GROUP, OTHERGROUP } from './harness.js';

/** A world-searchable directory under test with a file `f` owned by OWNER:GROUP with `mode`. */
async function ownedFile(c: Ctx, mode: number, data = 'secret'): Promise<string> {
  const f = c.p('f');
  await c.mkfile(f, data, 0o644);
  await c.sys.chown(c.l, f, OWNER, GROUP);
  await c.sys.chmod(c.l, f, mode);
  return f;
}

/** open succeeds (and the descriptor is closed) */
async function opens(c: Ctx, l: Lwp, path: string, flags: number): Promise<void> {
  const fd = await c.sys.open(l, path, flags, 0);
  await c.sys.close(l, fd);
}

export function permTests(b: Backend): void {
  const P = { needs: ['permissions' as const] };

  describe('permission checks', () => {
    test(b, 'the owner class decides for the owner even when group or other would allow', P, async (c) => {
      const f = await ownedFile(c, 0o077);
      const owner = c.user(OWNER, GROUP);
      await rejects(c.sys.open(owner, f, O_RDONLY, 0), 'EACCES', 'read');
      await rejects(c.sys.open(owner, f, O_WRONLY, 0), 'EACCES', 'write');
    });

    test(b, 'the group class decides for group members even when other would allow', P, async (c) => {
      const f = await ownedFile(c, 0o707);
      const mate = c.user(GROUPMATE, GROUP);
      await rejects(c.sys.open(mate, f, O_RDONLY, 0), 'EACCES');
      await opens(c, c.user(OTHER, OTHERGROUP), f, O_RDWR);
    });

    test(b, 'owner, group and other read bits are checked separately', P, async (c) => {
      const f = await ownedFile(c, 0o440);
      await opens(c, c.user(OWNER, GROUP), f, O_RDONLY);
      await opens(c, c.user(GROUPMATE, GROUP), f, O_RDONLY);
      await rejects(c.sys.open(c.user(OTHER, OTHERGROUP), f, O_RDONLY, 0), 'EACCES', 'other read');
      await rejects(c.sys.open(c.user(OWNER, GROUP), f, O_WRONLY, 0), 'EACCES', 'owner write');
      await rejects(c.sys.open(c.user(GROUPMATE, GROUP), f, O_RDWR, 0), 'EACCES', 'group read-write');
    });

    test(b, 'write permission is needed for O_WRONLY, O_RDWR and O_TRUNC', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      const other = c.user(OTHER, OTHERGROUP);
      await opens(c, other, f, O_RDONLY);
      await rejects(c.sys.open(other, f, O_WRONLY, 0), 'EACCES', 'O_WRONLY');
      await rejects(c.sys.open(other, f, O_RDWR, 0), 'EACCES', 'O_RDWR');
      await rejects(c.sys.open(other, f, O_RDONLY | O_TRUNC, 0), 'EACCES', 'O_TRUNC');
      assert.equal(await c.readText(f), 'secret');
    });

    test(b, 'a supplementary group grants the group class', P, async (c) => {
      const f = await ownedFile(c, 0o040);
      await opens(c, c.user(OTHER, OTHERGROUP, [5, GROUP]), f, O_RDONLY);
      await rejects(c.sys.open(c.user(OTHER, OTHERGROUP, [5]), f, O_RDONLY, 0), 'EACCES');
    });

    test(b, 'a directory without search permission blocks lookups through it', P, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'), 'x', 0o644);
      await c.sys.chmod(c.l, c.p('d'), 0o644);
      const other = c.user(OTHER, OTHERGROUP);
      await rejects(c.sys.open(other, c.p('d/f'), O_RDONLY, 0), 'EACCES', 'open');
      await rejects(c.sys.stat(other, c.p('d/f')), 'EACCES', 'stat');
      await rejects(c.sys.chdir(other, c.p('d')), 'EACCES', 'chdir');
      await opens(c, other, c.p('d'), O_RDONLY);
    });

    test(b, 'a directory with search but no read permission allows lookups but not listing', P, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.mkfile(c.p('d/f'), 'x', 0o644);
      await c.sys.chmod(c.l, c.p('d'), 0o711);
      const other = c.user(OTHER, OTHERGROUP);
      assert.equal(await c.readText(c.p('d/f'), other), 'x');
      await rejects(c.sys.open(other, c.p('d'), O_RDONLY, 0), 'EACCES');
    });

    test(b, 'creating, removing and renaming need write permission on the directory', P, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o755);
      await c.mkfile(c.p('f'), 'x');
      await c.sys.chmod(c.l, c.p('f'), 0o666);
      await c.sys.mkdir(c.l, c.p('sub'), 0o777);
      const other = c.user(OTHER, OTHERGROUP);
      await rejects(c.sys.open(other, c.p('new'), O_CREAT | O_WRONLY, 0o644), 'EACCES', 'create');
      await rejects(c.sys.mkdir(other, c.p('newdir'), 0o755), 'EACCES', 'mkdir');
      await rejects(c.sys.unlink(other, c.p('f')), 'EACCES', 'unlink');
      await rejects(c.sys.rename(other, c.p('f'), c.p('sub/f')), 'EACCES', 'rename out of it');
      await rejects(c.sys.rmdir(other, c.p('sub')), 'EACCES', 'rmdir');
      if (c.feat.symlinks) await rejects(c.sys.symlink(other, 'x', c.p('l')), 'EACCES', 'symlink');
      if (c.feat.hardlinks) await rejects(c.sys.link(other, c.p('f'), c.p('f2')), 'EACCES', 'link');
      await opens(c, other, c.p('f'), O_RDWR);
      assert.deepEqual(await c.names(c.dir), ['f', 'sub']);
    });

    test(b, 'moving a directory to a new parent needs write permission on the directory itself', P, async (c) => {
      // NetBSD genfs_ufslike_rename_check_permitted: its ".." entry changes.
      await c.sys.chmod(c.l, c.dir, 0o777);
      const u = c.user(OWNER, GROUP);
      await c.sys.mkdir(u, c.p('p1'), 0o755);
      await c.sys.mkdir(u, c.p('p2'), 0o755);
      await c.sys.mkdir(c.l, c.p('p1/sub'), 0o755);
      await rejects(c.sys.rename(u, c.p('p1/sub'), c.p('p2/sub')), 'EACCES', 'to a new parent');
      await c.sys.rename(u, c.p('p1/sub'), c.p('p1/renamed'));
      assert.deepEqual(await c.names(c.p('p1')), ['renamed']);
    });

    test(b, 'in a writable directory that is not sticky anyone may remove anyone\'s file', P, async (c) => {
      await c.sys.chmod(c.l, c.dir, 0o777);
      await c.mkfile(c.p('f'), 'x', 0o600, c.user(OWNER, GROUP));
      await c.sys.unlink(c.user(OTHER, OTHERGROUP), c.p('f'));
      assert.equal(await c.exists(c.p('f')), false);
    });

    test(b, 'permission is checked at open: a descriptor keeps working after chmod 000', P, async (c) => {
      const f = await ownedFile(c, 0o666);
      const owner = c.user(OWNER, GROUP);
      const fd = await c.sys.open(owner, f, O_RDWR, 0);
      await c.sys.chmod(owner, f, 0);
      assert.equal(await c.sys.write(owner, fd, enc('still')), 5);
      await c.sys.close(owner, fd);
      await rejects(c.sys.open(owner, f, O_RDONLY, 0), 'EACCES');
    });

    test(b, 'a directory with write but no search permission refuses entry changes', P, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.chmod(c.l, c.p('d'), 0o666);
      await rejects(c.sys.open(c.user(OTHER, OTHERGROUP), c.p('d/new'), O_CREAT | O_WRONLY, 0o644), 'EACCES');
    });

    test(b, 'root reads and writes files whatever their mode', P, async (c) => {
      const f = await ownedFile(c, 0o000);
      await opens(c, c.l, f, O_RDWR);
      await c.sys.mkdir(c.l, c.p('d'), 0o000);
      await c.mkfile(c.p('d/inside'), 'root writes here');
      assert.equal(await c.readText(c.p('d/inside')), 'root writes here');
    });

    test(b, 'root may execute a file only when some execute bit is set', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      await rejects(c.sys.access(c.l, f, X_OK), 'EACCES', 'no x bit');
      await c.sys.chmod(c.l, f, 0o001);
      await c.sys.access(c.l, f, X_OK);
      await c.sys.mkdir(c.l, c.p('d'), 0o000);
      await c.sys.access(c.l, c.p('d'), X_OK);
    });

    test(b, 'a non-root process writing a set-id file clears its set-id bits', P, async (c) => {
      const f = await ownedFile(c, 0o6777);
      const other = c.user(OTHER, OTHERGROUP);
      const fd = await c.sys.open(other, f, O_WRONLY, 0);
      await c.sys.write(other, fd, enc('x'));
      await c.sys.close(other, fd);
      assert.equal((await c.stat(f)).mode & 0o7777, 0o777);
    });
  });

  describe('chmod', () => {
    test(b, 'chmod sets all twelve mode bits for root and the owner', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      for (const m of [0o000, 0o777, 0o4755, 0o2755, 0o1755, 0o7777, 0o123]) {
        await c.sys.chmod(c.l, f, m);
        assert.equal((await c.stat(f)).mode & 0o7777, m, `root chmod ${m.toString(8)}`);
      }
      const owner = c.user(OWNER, GROUP);
      await c.sys.chmod(owner, f, 0o600);
      assert.equal((await c.stat(f)).mode & 0o7777, 0o600);
      await c.sys.chmod(owner, f, 0o4700);
      assert.equal((await c.stat(f)).mode & 0o7777, 0o4700);
    });

    test(b, 'chmod keeps the file type bits', P, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.chmod(c.l, c.p('d'), 0o700);
      assert.equal((await c.stat(c.p('d'))).mode, 0o040700);
    });

    test(b, 'chmod by someone other than the owner fails with EPERM', P, async (c) => {
      const f = await ownedFile(c, 0o666);
      await rejects(c.sys.chmod(c.user(OTHER, OTHERGROUP), f, 0o777), 'EPERM', 'other');
      await rejects(c.sys.chmod(c.user(GROUPMATE, GROUP), f, 0o777), 'EPERM', 'group member');
      assert.equal((await c.stat(f)).mode & 0o7777, 0o666);
    });

    test(b, 'chmod of a missing file fails with ENOENT', P, async (c) => {
      await rejects(c.sys.chmod(c.l, c.p('nope'), 0o644), 'ENOENT');
    });

    test(b, 'setting the set-group-id bit on a file of a foreign group fails with EPERM', P, async (c) => {
      const f = await ownedFile(c, 0o755);
      await c.sys.chown(c.l, f, OWNER, OTHERGROUP);
      await rejects(c.sys.chmod(c.user(OWNER, GROUP), f, 0o2755), 'EPERM');
      await c.sys.chmod(c.user(OWNER, GROUP, [OTHERGROUP]), f, 0o2755);
      assert.equal((await c.stat(f)).mode & 0o7777, 0o2755);
    });

    test(b, 'a non-root owner setting the sticky bit on a file gets EFTYPE (NetBSD)', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      await rejects(c.sys.chmod(c.user(OWNER, GROUP), f, 0o1644), 'EFTYPE');
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      await c.sys.chown(c.l, c.p('d'), OWNER, GROUP);
      await c.sys.chmod(c.user(OWNER, GROUP), c.p('d'), 0o1777);
      assert.equal((await c.stat(c.p('d'))).mode & 0o7777, 0o1777);
    });

    test(b, 'fchmod changes the mode of an open file, even an unlinked one', P, async (c) => {
      await c.mkfile(c.p('f'), 'x', 0o644);
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.fchmod(c.l, fd, 0o600);
      assert.equal((await c.stat(c.p('f'))).mode & 0o7777, 0o600);
      await c.sys.unlink(c.l, c.p('f'));
      await c.sys.fchmod(c.l, fd, 0o640);
      assert.equal((await c.sys.fstat(c.l, fd)).mode & 0o7777, 0o640);
      await c.sys.close(c.l, fd);
    });

    test(b, 'chmod follows symbolic links and lchmod does not', { needs: ['permissions', 'symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'), 'x', 0o644);
      await c.sys.symlink(c.l, 'f', c.p('l'));
      const linkMode = (await c.lstat(c.p('l'))).mode;
      await c.sys.chmod(c.l, c.p('l'), 0o600);
      assert.equal((await c.stat(c.p('f'))).mode & 0o7777, 0o600);
      assert.equal((await c.lstat(c.p('l'))).mode, linkMode);
      await c.sys.lchmod(c.l, c.p('l'), 0o700);
      assert.equal((await c.lstat(c.p('l'))).mode & 0o7777, 0o700);
      assert.equal((await c.stat(c.p('f'))).mode & 0o7777, 0o600);
    });
  });

  describe('chown', () => {
    test(b, 'root changes owner and group; -1 leaves either alone', P, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.chown(c.l, c.p('f'), 123, 456);
      let st = await c.stat(c.p('f'));
      assert.deepEqual([st.uid, st.gid], [123, 456]);
      await c.sys.chown(c.l, c.p('f'), -1, 789);
      st = await c.stat(c.p('f'));
      assert.deepEqual([st.uid, st.gid], [123, 789]);
      await c.sys.chown(c.l, c.p('f'), 321, -1);
      st = await c.stat(c.p('f'));
      assert.deepEqual([st.uid, st.gid], [321, 789]);
    });

    test(b, 'a non-root owner giving a file to another user fails with EPERM', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      await rejects(c.sys.chown(c.user(OWNER, GROUP), f, OTHER, -1), 'EPERM');
      assert.equal((await c.stat(f)).uid, OWNER);
    });

    test(b, 'a non-root owner may change the group only to one it belongs to', P, async (c) => {
      const f = await ownedFile(c, 0o644);
      const owner = c.user(OWNER, GROUP, [OTHERGROUP]);
      await c.sys.chown(owner, f, -1, OTHERGROUP);
      assert.equal((await c.stat(f)).gid, OTHERGROUP);
      await c.sys.chown(owner, f, OWNER, GROUP);
      assert.equal((await c.stat(f)).gid, GROUP);
      await rejects(c.sys.chown(owner, f, -1, 4242), 'EPERM', 'foreign group');
      assert.equal((await c.stat(f)).gid, GROUP);
    });

    test(b, 'chown by someone other than the owner fails with EPERM, even as a no-op', P, async (c) => {
      const f = await ownedFile(c, 0o666);
      const other = c.user(OTHER, GROUP);
      await rejects(c.sys.chown(other, f, OTHER, -1), 'EPERM', 'take ownership');
      await rejects(c.sys.chown(other, f, -1, GROUP), 'EPERM', 'same group');
    });

    test(b, 'changing the group of a set-group-id file clears the set-group-id bit', P, async (c) => {
      const f = await ownedFile(c, 0o2755);
      await c.sys.chown(c.user(OWNER, GROUP, [OTHERGROUP]), f, -1, OTHERGROUP);
      const st = await c.stat(f);
      assert.equal(st.gid, OTHERGROUP);
      assert.equal(st.mode & S_ISGID, 0);
    });

    test(b, 'chown follows symbolic links and lchown does not', { needs: ['permissions', 'symlinks'] }, async (c) => {
      await c.mkfile(c.p('f'));
      await c.sys.symlink(c.l, 'f', c.p('l'));
      await c.sys.chown(c.l, c.p('l'), 11, 12);
      assert.equal((await c.stat(c.p('f'))).uid, 11);
      assert.equal((await c.lstat(c.p('l'))).uid, 0);
      await c.sys.lchown(c.l, c.p('l'), 21, 22);
      assert.equal((await c.lstat(c.p('l'))).uid, 21);
      assert.equal((await c.stat(c.p('f'))).uid, 11);
    });

    test(b, 'fchown changes the owner of an open file', P, async (c) => {
      await c.mkfile(c.p('f'));
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.fchown(c.l, fd, 31, 32);
      const st = await c.stat(c.p('f'));
      assert.deepEqual([st.uid, st.gid], [31, 32]);
      await c.sys.close(c.l, fd);
    });
  });

  describe('access', () => {
    test(b, 'access reports R_OK, W_OK and X_OK from the mode bits of the caller\'s class', P, async (c) => {
      const f = await ownedFile(c, 0o754);
      const owner = c.user(OWNER, GROUP), mate = c.user(GROUPMATE, GROUP), other = c.user(OTHER, OTHERGROUP);
      await c.sys.access(owner, f, R_OK | W_OK | X_OK);
      await c.sys.access(mate, f, R_OK | X_OK);
      await rejects(c.sys.access(mate, f, W_OK), 'EACCES', 'group write');
      await c.sys.access(other, f, R_OK);
      await rejects(c.sys.access(other, f, X_OK), 'EACCES', 'other exec');
      await rejects(c.sys.access(other, f, R_OK | W_OK), 'EACCES', 'other read-write');
      await c.sys.access(other, f, F_OK);
    });

    test(b, 'access of a missing file fails with ENOENT, even for F_OK', async (c) => {
      await rejects(c.sys.access(c.l, c.p('nope'), F_OK), 'ENOENT');
    });

    test(b, 'access with an unknown mode bit fails with EINVAL', async (c) => {
      await c.mkfile(c.p('f'));
      await rejects(c.sys.access(c.l, c.p('f'), 0x80), 'EINVAL');
    });

    test(b, 'root passes R_OK and W_OK on a mode 0 file', P, async (c) => {
      const f = await ownedFile(c, 0);
      await c.sys.access(c.l, f, R_OK | W_OK);
    });

    test(b, 'access needs search permission on the path', P, async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o700);
      await c.mkfile(c.p('d/f'), 'x', 0o644);
      await rejects(c.sys.access(c.user(OTHER, OTHERGROUP), c.p('d/f'), F_OK), 'EACCES');
    });

    test(b, 'access checks the real ids, faccessat with AT_EACCESS the effective ones', P, async (c) => {
      const f = await ownedFile(c, 0o000);
      const p = c.user(0, 0);
      await c.sys.seteuid(p, OTHER);
      assert.equal(await c.sys.geteuid(p), OTHER);
      await c.sys.access(p, f, R_OK | W_OK);
      await rejects(c.sys.faccessat(p, AT_FDCWD, f, R_OK, AT_EACCESS), 'EACCES');
      await c.sys.faccessat(p, AT_FDCWD, f, R_OK, 0);
    });
  });

  describe('sticky directories', () => {
    const S = { needs: ['permissions' as const, 'sticky' as const] };

    async function sticky(c: Ctx): Promise<void> {
      await c.sys.mkdir(c.l, c.p('tmp'), 0o777);
      await c.sys.chmod(c.l, c.p('tmp'), 0o1777);
      const owner = c.user(OWNER, GROUP);
      await c.mkfile(c.p('tmp/mine'), 'x', 0o666, owner);
    }

    test(b, 'in a sticky directory another user cannot unlink or rename a file (EPERM)', S, async (c) => {
      await sticky(c);
      const other = c.user(OTHER, OTHERGROUP);
      await rejects(c.sys.unlink(other, c.p('tmp/mine')), 'EPERM', 'unlink');
      await rejects(c.sys.rename(other, c.p('tmp/mine'), c.p('tmp/theirs')), 'EPERM', 'rename');
      await c.mkfile(c.p('tmp/other'), 'y', 0o644, other);
      await rejects(c.sys.rename(other, c.p('tmp/other'), c.p('tmp/mine')), 'EPERM', 'rename over it');
      assert.equal(await c.readText(c.p('tmp/mine')), 'x');
    });

    test(b, 'in a sticky directory the file owner, the directory owner and root may remove', S, async (c) => {
      await sticky(c);
      await c.sys.unlink(c.user(OWNER, GROUP), c.p('tmp/mine'));
      await c.mkfile(c.p('tmp/mine'), 'x', 0o666, c.user(OWNER, GROUP));
      await c.sys.chown(c.l, c.p('tmp'), OTHER, OTHERGROUP);
      await c.sys.unlink(c.user(OTHER, OTHERGROUP), c.p('tmp/mine'));
      await c.mkfile(c.p('tmp/mine'), 'x', 0o666, c.user(OWNER, GROUP));
      await c.sys.unlink(c.l, c.p('tmp/mine'));
      assert.deepEqual(await c.names(c.p('tmp')), []);
    });

    test(b, 'in a sticky directory another user cannot remove a foreign subdirectory (EPERM)', S, async (c) => {
      await sticky(c);
      await c.sys.mkdir(c.user(OWNER, GROUP), c.p('tmp/sub'), 0o777);
      await rejects(c.sys.rmdir(c.user(OTHER, OTHERGROUP), c.p('tmp/sub')), 'EPERM');
    });

    test(b, 'a sticky directory still lets anyone create files', S, async (c) => {
      await sticky(c);
      await c.mkfile(c.p('tmp/new'), 'z', 0o644, c.user(OTHER, OTHERGROUP));
      assert.deepEqual(await c.names(c.p('tmp')), ['mine', 'new']);
      assert.equal((await c.stat(c.p('tmp'))).mode & S_ISVTX, S_ISVTX);
    });
  });
}
