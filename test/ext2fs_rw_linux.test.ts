/**
 * ext2fs read-write against the Linux kernel through loop mounts (needs root and a kernel with
 * loop devices and ext2; skipped loudly otherwise):
 *  - an image we wrote (the tree workload of fixtures/ext2fs_rw.ts), mounted read-only by Linux,
 *    shows exactly what we wrote through node:fs (types, modes, owners, link counts, sizes,
 *    contents, link targets, device numbers, modification times);
 *  - files Linux wrote on a loop-mounted image read back exactly through our mount; we change
 *    them, e2fsck agrees, and Linux sees our changes.
 * Every loop mount is unmounted (and its loop device detached) in a finally.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { O_APPEND, S_IFMT, makedev } from '../src/kern/types.js';
import { pattern, requireTools, type E2fsprogs } from './fixtures/ext2fs_images.js';
import {
  KIND_FMT, buildTree, equalBytes, fsckClean, initScratch, mkfs, mountRw, names, readFile, removeScratch, scratchPath, writeFile,
  type Expect,
} from './fixtures/ext2fs_rw.js';

before(initScratch);
after(removeScratch);

let loopReason: string | null | undefined;

/** Why Linux loop mounts cannot be used here, or null when they can (probed once). */
function loopUnavailable(tools: E2fsprogs): string | null {
  if (loopReason !== undefined) return loopReason;
  if (process.platform !== 'linux') return (loopReason = 'not running on Linux');
  if (process.getuid?.() !== 0) return (loopReason = 'not running as root (id -u is not 0)');
  const img = mkfs(tools, ['-b', '1024'], '1M');
  const dir = mkdtempSync(scratchPath('probe-'));
  const r = spawnSync('mount', ['-o', 'loop,ro', '-t', 'ext2', img, dir], { encoding: 'utf8' });
  if (r.status !== 0) return (loopReason = `mount -o loop failed: ${(r.stderr || String(r.error)).trim()}`);
  spawnSync('umount', ['-d', dir]);
  return (loopReason = null);
}

function requireLoop(t: { skip(msg?: string): void }): E2fsprogs | null {
  const tools = requireTools(t);
  if (tools === null) return null;
  const why = loopUnavailable(tools);
  if (why !== null) {
    console.log(`SKIP: Linux loop-mount interop tests did not run: ${why}`);
    t.skip(why);
    return null;
  }
  return tools;
}

/** Loop-mount `img` at a new directory, run `fn` on it, always unmount and detach. */
async function withLoopMount<T>(img: string, ro: boolean, fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(scratchPath('loop-'));
  const r = spawnSync('mount', ['-o', ro ? 'loop,ro' : 'loop', '-t', 'ext2', img, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount -o loop ${img}: ${r.stderr}`);
  try {
    return await fn(dir);
  } finally {
    const u = spawnSync('umount', ['-d', dir], { encoding: 'utf8' });
    if (u.status !== 0) spawnSync('umount', ['-l', '-d', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Linux's dev_t from node's Stats.rdev -> [major, minor]. */
function linuxDev(rdev: number): [number, number] {
  const d = BigInt(rdev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
  const minor = Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
  return [major, minor];
}

/** Check `exp` against what Linux shows under `root`. */
function checkThroughLinux(root: string, exp: Map<string, Expect>): void {
  for (const [p, e] of exp) {
    const full = join(root, p);
    const st = lstatSync(full, { bigint: true });
    assert.equal(Number(st.mode) & S_IFMT, KIND_FMT[e.kind], `${p}: type (Linux)`);
    assert.equal(Number(st.mode) & 0o7777, e.perm, `${p}: mode (Linux)`);
    if (e.nlink !== undefined) assert.equal(Number(st.nlink), e.nlink, `${p}: nlink (Linux)`);
    if (e.uid !== undefined) assert.equal(Number(st.uid), e.uid, `${p}: uid (Linux)`);
    if (e.gid !== undefined) assert.equal(Number(st.gid), e.gid, `${p}: gid (Linux)`);
    if (e.data !== undefined) equalBytes(new Uint8Array(readFileSync(full)), e.data, `${p} (Linux)`);
    if (e.size !== undefined) assert.equal(Number(st.size), e.size, `${p}: size (Linux)`);
    if (e.target !== undefined) assert.equal(readlinkSync(full), e.target, `${p}: target (Linux)`);
    if (e.rdev !== undefined) assert.deepEqual(linuxDev(Number(st.rdev)), e.rdev, `${p}: device (Linux)`);
    if (e.mtime !== undefined) {
      const ns = st.mtimeNs;
      const want = BigInt(e.mtime.sec) * 1_000_000_000n + BigInt(e.mtime.nsec);
      assert.equal(ns, want, `${p}: mtime (Linux)`);
    }
  }
  // nothing more than expected in each directory
  const dirs = new Set<string>(['']);
  for (const [p, e] of exp) if (e.kind === 'dir') dirs.add(p);
  for (const d of dirs) {
    const want = [...exp.keys()].filter((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '') === d).map((p) => p.slice(p.lastIndexOf('/') + 1));
    const got = readdirSync(join(root, d)).filter((n) => n !== 'lost+found');
    assert.deepEqual(got.sort(), want.sort(), `Linux lists /${d}`);
  }
}

describe('ext2fs read-write with Linux', () => {
  for (const [label, args, bs, inode256] of [
    ['1 KiB blocks, 128-byte inodes', ['-b', '1024', '-I', '128'], 1024, false],
    ['4 KiB blocks, 256-byte inodes', ['-b', '4096', '-I', '256'], 4096, true],
  ] as const) {
    it(`shows Linux exactly the tree we wrote (${label})`, async (t) => {
      const tools = requireLoop(t);
      if (tools === null) return;
      const img = mkfs(tools, [...args], '24M');
      const m = await mountRw(img);
      let exp: Map<string, Expect>;
      try {
        exp = await buildTree(m.k, m.l, bs, inode256);
      } finally {
        await m.done();
      }
      fsckClean(tools, img, label);
      await withLoopMount(img, true, (dir) => checkThroughLinux(dir, exp));
    });
  }

  it('reads back exactly what Linux wrote, changes it, and Linux sees the changes', async (t) => {
    const tools = requireLoop(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024', '-I', '256'], '16M');
    const exp = new Map<string, Expect>();
    const big = pattern(300_000, 42);
    await withLoopMount(img, false, (dir) => {
      const at = (p: string): string => join(dir, p);
      mkdirSync(at('ldir/sub'), { recursive: true });
      writeFileSync(at('ldir/big'), big);
      writeFileSync(at('small'), 'written by Linux\n');
      chmodSync(at('small'), 0o640);
      chownSync(at('small'), 1234, 5678);
      utimesSync(at('small'), 1_500_000_000.25, 1_600_000_000.5);
      symlinkSync('small', at('fast'));
      symlinkSync('ldir/'.repeat(20) + 'x', at('slow'));
      linkSync(at('small'), at('ldir/hard'));
      for (let i = 0; i < 300; i++) writeFileSync(at(`ldir/sub/n${i}`), `${i}`);
      assert.equal(spawnSync('mknod', [at('cdev'), 'c', '4', '64']).status, 0);
      assert.equal(spawnSync('mkfifo', [at('fifo')]).status, 0);
      exp.set('small', { kind: 'file', perm: 0o640, uid: 1234, gid: 5678, nlink: 2, data: new TextEncoder().encode('written by Linux\n'), mtime: { sec: 1_600_000_000, nsec: 500_000_000 } });
      exp.set('ldir/hard', { kind: 'file', perm: 0o640, nlink: 2 });
      exp.set('ldir/big', { kind: 'file', perm: Number(lstatSync(at('ldir/big')).mode) & 0o7777, data: big, nlink: 1 });
      exp.set('fast', { kind: 'link', perm: 0o777, target: 'small' });
      exp.set('slow', { kind: 'link', perm: 0o777, target: 'ldir/'.repeat(20) + 'x' });
      exp.set('cdev', { kind: 'chr', perm: Number(lstatSync(at('cdev')).mode) & 0o7777, rdev: [4, 64] });
      exp.set('fifo', { kind: 'fifo', perm: Number(lstatSync(at('fifo')).mode) & 0o7777 });
    });
    fsckClean(tools, img, 'written by Linux');
    const m = await mountRw(img);
    try {
      const { k, l } = m;
      for (const [p, e] of exp) {
        const st = await k.sys.lstat(l, `/mnt/${p}`);
        assert.equal(st.mode & S_IFMT, KIND_FMT[e.kind], `${p}: type`);
        assert.equal(st.mode & 0o7777, e.perm, `${p}: mode`);
        if (e.nlink !== undefined) assert.equal(st.nlink, e.nlink, `${p}: nlink`);
        if (e.uid !== undefined) assert.deepEqual([st.uid, st.gid], [e.uid, e.gid], `${p}: owner`);
        if (e.data !== undefined) equalBytes(await readFile(k, l, `/mnt/${p}`), e.data, p);
        if (e.target !== undefined) assert.equal(await k.sys.readlink(l, `/mnt/${p}`), e.target);
        if (e.rdev !== undefined) assert.equal(st.rdev, makedev(e.rdev[0], e.rdev[1]));
        if (e.mtime !== undefined) assert.deepEqual([st.mtimeSec, st.mtimeNsec], [e.mtime.sec, e.mtime.nsec], `${p}: mtime`);
      }
      assert.equal((await names(k, l, '/mnt/ldir/sub')).length, 300);
      // our changes
      await writeFile(k, l, '/mnt/small', ' and appended by rumpkernel\n', 0o644, O_APPEND);
      await k.sys.rename(l, '/mnt/ldir/big', '/mnt/big-moved');
      for (let i = 0; i < 300; i += 2) await k.sys.unlink(l, `/mnt/ldir/sub/n${i}`);
      await k.sys.rename(l, '/mnt/ldir/sub', '/mnt/sub-moved');
      await k.sys.mkdir(l, '/mnt/ours', 0o700);
      await writeFile(k, l, '/mnt/ours/file', pattern(5000, 7));
      await k.sys.unlink(l, '/mnt/fifo');
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'changed by us');
    await withLoopMount(img, true, (dir) => {
      assert.equal(readFileSync(join(dir, 'small'), 'utf8'), 'written by Linux\n and appended by rumpkernel\n');
      assert.equal(readFileSync(join(dir, 'ldir/hard'), 'utf8'), 'written by Linux\n and appended by rumpkernel\n');
      equalBytes(new Uint8Array(readFileSync(join(dir, 'big-moved'))), big, 'big-moved (Linux)');
      assert.equal(readdirSync(join(dir, 'sub-moved')).length, 150);
      assert.equal(readFileSync(join(dir, 'sub-moved/n151'), 'utf8'), '151');
      assert.equal(lstatSync(join(dir, 'ldir')).nlink, 2);
      assert.equal(lstatSync(join(dir, 'ours')).mode & 0o7777, 0o700);
      equalBytes(new Uint8Array(readFileSync(join(dir, 'ours/file'))), pattern(5000, 7), 'ours/file (Linux)');
      assert.deepEqual(readdirSync(dir).sort(), ['big-moved', 'cdev', 'fast', 'ldir', 'lost+found', 'ours', 'slow', 'small', 'sub-moved']);
    });
  });
});
