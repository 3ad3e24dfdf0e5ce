/**
 * ext2fs read-write mounts against the host's e2fsprogs (the oracle): on images made by
 * `mke2fs -t ext2` (1, 2 and 4 KiB blocks, 128- and 256-byte inodes, revision 0), a tree written
 * through the kernel (files of every mapping depth, appends, truncates, holes, renames of files
 * and directories, unlinks, rmdir trees, fast and slow symbolic links, hard links, device nodes,
 * fifos, sockets, owners, modes, times) passes `e2fsck -fn` after unmount, and `debugfs` and
 * `dumpe2fs` show exactly what was written. Also: 10,000 files in one directory, a 1 GiB sparse
 * file, ENOSPC with nothing leaked, large_file, EFBIG, superblock state, features that force a
 * read-only mount, ext3, hash-indexed directories, concurrency, and a hostile block pointer.
 * Skipped, saying so, without e2fsprogs. The Linux loop-mount tests are in ext2fs_rw_linux.test.ts.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

import { KernelError } from '../src/kern/errno.js';
import { Kernel } from '../src/kern/kernel.js';
import { MNT_RDONLY, MNT_UPDATE, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, S_IFMT } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import type { Lwp } from '../src/kern/proc.js';
import {
  debugfsRead, debugfsStats, debugfsWrite, dumpe2fsHeader, fileBlocks, makeImage, pattern, requireTools,
} from './fixtures/ext2fs_images.js';
import {
  buildTree, checkListings, checkThroughKernel, checkWithDebugfs, equalBytes, errno, fsckClean, initScratch, mkfs, mountRw, names, pwrite,
  readFile, removeScratch, scratch, scratchPath, writeFile, type Expect,
} from './fixtures/ext2fs_rw.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

before(initScratch);
after(removeScratch);

interface Variant { label: string; args: string[]; bs: number; inode256: boolean }

const VARIANTS: Variant[] = [
  { label: '1 KiB blocks, 128-byte inodes', args: ['-b', '1024', '-I', '128'], bs: 1024, inode256: false },
  { label: '1 KiB blocks, 256-byte inodes', args: ['-b', '1024', '-I', '256'], bs: 1024, inode256: true },
  { label: '2 KiB blocks, 256-byte inodes, no reserved blocks', args: ['-b', '2048', '-I', '256', '-m', '0'], bs: 2048, inode256: true },
  { label: '4 KiB blocks, 256-byte inodes', args: ['-b', '4096', '-I', '256'], bs: 4096, inode256: true },
  { label: '4 KiB blocks, revision 0', args: ['-b', '4096', '-r', '0'], bs: 4096, inode256: false },
];

describe('ext2fs read-write: a tree written through the kernel', () => {
  for (const v of VARIANTS) {
    it(`on ${v.label} passes e2fsck -fn, and debugfs and dumpe2fs show exactly what was written`, async (t) => {
      const tools = requireTools(t);
      if (tools === null) return;
      const img = mkfs(tools, v.args, '24M');
      const before = dumpe2fsHeader(tools, img);
      const m = await mountRw(img);
      let exp: Map<string, Expect>;
      let free: { b: number; i: number };
      try {
        assert.equal(m.k.vfs!.mounts.find((x) => x.onName === '/mnt')!.rdonly, false, `mounted read-write (${m.messages.join('')})`);
        exp = await buildTree(m.k, m.l, v.bs, v.inode256);
        await checkThroughKernel(m.k, m.l, exp);
        const vs = await m.k.sys.statvfs(m.l, '/mnt');
        free = { b: vs.bfree, i: vs.ffree };
      } finally {
        await m.done();
      }
      fsckClean(tools, img, v.label);
      const h = dumpe2fsHeader(tools, img);
      assert.equal(h.get('Filesystem state'), 'clean');
      assert.equal(Number(h.get('Mount count')), Number(before.get('Mount count')) + 1);
      assert.equal(Number(h.get('Free blocks')), free.b, 'dumpe2fs free blocks = statvfs before unmount');
      assert.equal(Number(h.get('Free inodes')), free.i, 'dumpe2fs free inodes = statvfs before unmount');
      if (v.args.includes('-r')) {
        assert.equal(h.get('Filesystem revision #'), '1 (dynamic)', 'a file past 2 GiB upgraded revision 0');
        assert.match(h.get('Filesystem features') ?? '', /large_file/);
      }
      checkWithDebugfs(tools, img, exp);
      checkListings(tools, img, exp);

      // mount again: everything reads back; then remove it all and get every block back
      const m2 = await mountRw(img);
      try {
        await checkThroughKernel(m2.k, m2.l, exp);
        const rmTree = async (dir: string): Promise<void> => {
          for (const n of await names(m2.k, m2.l, dir)) {
            const p = `${dir}/${n}`;
            if (p === '/mnt/lost+found') continue;
            if (((await m2.k.sys.lstat(m2.l, p)).mode & S_IFMT) === 0o040000) {
              await rmTree(p);
              await m2.k.sys.rmdir(m2.l, p);
            } else {
              await m2.k.sys.unlink(m2.l, p);
            }
          }
        };
        await rmTree('/mnt');
      } finally {
        await m2.done();
      }
      fsckClean(tools, img, `${v.label}, emptied`);
      const h2 = dumpe2fsHeader(tools, img);
      assert.equal(h2.get('Free blocks'), before.get('Free blocks'), 'every block came back');
      assert.equal(h2.get('Free inodes'), before.get('Free inodes'), 'every inode came back');
    });
  }
});

describe('ext2fs read-write: scale', () => {
  it('keeps 10,000 files in one directory, finds each by name, lists each once, and e2fsck agrees', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024', '-N', '10240'], '16M');
    const N = 10_000;
    const name = (i: number): string => `file-${i}-${'q'.repeat(i % 13)}`;
    const m = await mountRw(img);
    try {
      await m.k.sys.mkdir(m.l, '/mnt/big', 0o755);
      for (let i = 0; i < N; i++) {
        const fd = await m.k.sys.open(m.l, `/mnt/big/${name(i)}`, O_CREAT | O_WRONLY, 0o644);
        if (i % 1000 === 0) await m.k.sys.write(m.l, fd, enc.encode(String(i)));
        await m.k.sys.close(m.l, fd);
      }
      await assert.rejects(m.k.sys.open(m.l, `/mnt/big/${name(77)}`, O_CREAT | O_EXCL | O_WRONLY, 0o644), errno('EEXIST'));
    } finally {
      await m.done();
    }
    fsckClean(tools, img, '10,000 files');
    const ls = debugfsRead(tools, img, 'ls -p /big').split('\n').filter((x) => x.startsWith('/'));
    assert.equal(ls.length, N + 2);
    const m2 = await mountRw(img, MNT_RDONLY);
    try {
      const got = await names(m2.k, m2.l, '/mnt/big');
      assert.equal(got.length, N);
      assert.equal(new Set(got).size, N);
      for (let i = 0; i < N; i += 997) assert.equal((await m2.k.sys.stat(m2.l, `/mnt/big/${name(i)}`)).size, i % 1000 === 0 ? String(i).length : 0);
      assert.equal(dec.decode(await readFile(m2.k, m2.l, `/mnt/big/${name(5000)}`)), '5000');
    } finally {
      await m2.done();
    }
  });

  it('writes a 1 GiB sparse file with a few blocks, reads holes as zeros, and frees it all on truncate', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '4096'], '8M');
    const before = dumpe2fsHeader(tools, img);
    const GiB = 1024 * 1024 * 1024;
    const m = await mountRw(img);
    try {
      await pwrite(m.k, m.l, '/mnt/sparse', 'start', 0);
      await pwrite(m.k, m.l, '/mnt/sparse', pattern(10_000, 3), 300 * 1024 * 1024 + 100);
      await pwrite(m.k, m.l, '/mnt/sparse', 'end!', GiB - 4);
      const st = await m.k.sys.stat(m.l, '/mnt/sparse');
      assert.equal(st.size, GiB);
      assert.ok(st.blocks * 512 < 64 * 1024, `${st.blocks} sectors allocated for a sparse file`);
      const fd = await m.k.sys.open(m.l, '/mnt/sparse', O_RDONLY, 0);
      const hole = new Uint8Array(70_000);
      assert.equal(await m.k.sys.pread(m.l, fd, hole, 500 * 1024 * 1024), hole.length);
      assert.ok(hole.every((x) => x === 0), 'a hole reads as zeros');
      const mid = new Uint8Array(10_000);
      await m.k.sys.pread(m.l, fd, mid, 300 * 1024 * 1024 + 100);
      equalBytes(mid, pattern(10_000, 3), 'data in the middle');
      await m.k.sys.close(m.l, fd);
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'sparse');
    const s = debugfsStats(tools, img, ['/sparse']).get('/sparse')!;
    assert.equal(s.size, GiB);
    const m2 = await mountRw(img);
    try {
      const fd = await m2.k.sys.open(m2.l, '/mnt/sparse', O_RDONLY, 0);
      const tail = new Uint8Array(10);
      assert.equal(await m2.k.sys.pread(m2.l, fd, tail, GiB - 6), 6);
      assert.deepEqual([...tail.subarray(0, 6)], [0, 0, ...enc.encode('end!')]);
      await m2.k.sys.close(m2.l, fd);
      await m2.k.sys.truncate(m2.l, '/mnt/sparse', 0);
      assert.equal((await m2.k.sys.stat(m2.l, '/mnt/sparse')).blocks, 0);
      await m2.k.sys.unlink(m2.l, '/mnt/sparse');
    } finally {
      await m2.done();
    }
    fsckClean(tools, img, 'sparse truncated');
    assert.equal(dumpe2fsHeader(tools, img).get('Free blocks'), before.get('Free blocks'));
  });
});


describe('ext2fs read-write: limits', () => {
  it('fails with ENOSPC on a full image after a clean short write, leaks nothing, and gets all space back on unlink', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024', '-N', '64', '-m', '0'], '1M');
    const before = dumpe2fsHeader(tools, img);
    const freeBytes = Number(before.get('Free blocks')) * 1024;
    const m = await mountRw(img);
    try {
      const fd = await m.k.sys.open(m.l, '/mnt/fill', O_CREAT | O_WRONLY, 0o644);
      const chunk = pattern(64 * 1024, 1);
      let total = 0;
      let err: unknown = null;
      for (;;) {
        try {
          const n = await m.k.sys.write(m.l, fd, chunk);
          total += n;
          if (n < chunk.length) continue; // short: the next one fails
        } catch (e) {
          err = e;
          break;
        }
      }
      assert.ok(err instanceof KernelError && err.code === 'ENOSPC', `ENOSPC, got ${String(err)}`);
      assert.ok(total > freeBytes * 0.9 && total < freeBytes, `${total} bytes written of ${freeBytes} free`);
      assert.equal((await m.k.sys.fstat(m.l, fd)).size, total);
      assert.equal((await m.k.sys.statvfs(m.l, '/mnt')).bfree, 0);
      await m.k.sys.close(m.l, fd);
      await assert.rejects(m.k.sys.mkdir(m.l, '/mnt/nodir', 0o755), errno('ENOSPC'));
      await assert.rejects(m.k.sys.symlink(m.l, 'x'.repeat(100), '/mnt/noslow'), errno('ENOSPC'));
      await m.k.sys.symlink(m.l, 'fast links need no block', '/mnt/fast');
      // inodes run out too
      let made = 0;
      for (;;) {
        try {
          const f = await m.k.sys.open(m.l, `/mnt/i${made}`, O_CREAT | O_WRONLY, 0o644);
          await m.k.sys.close(m.l, f);
          made++;
        } catch (e) {
          assert.ok(e instanceof KernelError && e.code === 'ENOSPC', String(e));
          break;
        }
      }
      assert.equal((await m.k.sys.statvfs(m.l, '/mnt')).ffree, 0);
      assert.equal(dec.decode((await readFile(m.k, m.l, '/mnt/fill')).subarray(0, 10)), dec.decode(chunk.subarray(0, 10)));
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'full');
    const m2 = await mountRw(img);
    try {
      for (const n of await names(m2.k, m2.l, '/mnt')) if (n !== 'lost+found') await m2.k.sys.unlink(m2.l, `/mnt/${n}`);
    } finally {
      await m2.done();
    }
    fsckClean(tools, img, 'emptied');
    const h = dumpe2fsHeader(tools, img);
    assert.equal(h.get('Free blocks'), before.get('Free blocks'));
    assert.equal(h.get('Free inodes'), before.get('Free inodes'));
  });

  it('sets large_file when a file passes 2 GiB, and refuses to write past the largest file with EFBIG', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024', '-O', '^large_file'], '4M');
    assert.doesNotMatch(dumpe2fsHeader(tools, img).get('Filesystem features') ?? '', /large_file/);
    const m = await mountRw(img);
    try {
      await pwrite(m.k, m.l, '/mnt/big', 'x', 3 * 1024 * 1024 * 1024);
      const max = m.fs.maxFileSize;
      assert.ok(max > 16 * 1024 ** 3 && max < 17 * 1024 ** 3, `ext2 with 1 KiB blocks maps about 16 GiB (${max})`);
      const fd = await m.k.sys.open(m.l, '/mnt/big', O_WRONLY, 0);
      await assert.rejects(m.k.sys.pwrite(m.l, fd, enc.encode('y'), max), errno('EFBIG'));
      assert.equal(await m.k.sys.pwrite(m.l, fd, enc.encode('abcd'), max - 2), 2, 'a write crossing the limit is short');
      await assert.rejects(m.k.sys.ftruncate(m.l, fd, max + 1), errno('EFBIG'));
      await m.k.sys.close(m.l, fd);
      assert.equal((await m.k.sys.stat(m.l, '/mnt/big')).size, max);
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'large_file');
    assert.match(dumpe2fsHeader(tools, img).get('Filesystem features') ?? '', /large_file/);
    assert.equal(debugfsStats(tools, img, ['/big']).get('/big')!.size, m.fs.maxFileSize);
  });
});

describe('ext2fs read-write: superblock and features', () => {
  it('marks the file system not clean while mounted, counts the mount, and leaves it clean at unmount', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '4096'], '4M');
    const before = dumpe2fsHeader(tools, img);
    const m = await mountRw(img);
    try {
      const h = dumpe2fsHeader(tools, img);
      assert.equal(h.get('Filesystem state'), 'not clean');
      assert.equal(Number(h.get('Mount count')), Number(before.get('Mount count')) + 1);
      assert.notEqual(h.get('Last mount time'), 'n/a');
      await writeFile(m.k, m.l, '/mnt/f', 'synced');
      await m.k.sys.sync(m.l);
      assert.equal(debugfsRead(tools, img, 'cat /f'), 'synced', 'sync wrote everything');
    } finally {
      await m.done();
    }
    const h = dumpe2fsHeader(tools, img);
    assert.equal(h.get('Filesystem state'), 'clean');
    assert.notEqual(h.get('Last write time'), 'n/a');
    fsckClean(tools, img);
  });

  it('switches between read-only and read-write with MNT_UPDATE, leaving the image clean when read-only', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024'], '2M');
    const m = await mountRw(img, MNT_RDONLY);
    try {
      await assert.rejects(writeFile(m.k, m.l, '/mnt/f', 'x'), errno('EROFS'));
      await m.k.sys.mount(m.l, 'ext2fs', '/mnt', MNT_UPDATE, { fspec: '/dev/img' });
      assert.equal(dumpe2fsHeader(tools, img).get('Filesystem state'), 'not clean');
      await writeFile(m.k, m.l, '/mnt/f', 'written after the update');
      await m.k.sys.mount(m.l, 'ext2fs', '/mnt', MNT_UPDATE | MNT_RDONLY, { fspec: '/dev/img' });
      assert.equal(dumpe2fsHeader(tools, img).get('Filesystem state'), 'clean');
      fsckClean(tools, img, 'while mounted read-only');
      assert.equal(debugfsRead(tools, img, 'cat /f'), 'written after the update');
      await assert.rejects(writeFile(m.k, m.l, '/mnt/g', 'x'), errno('EROFS'));
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'after unmount');
  });

  it('keeps a file system with errors marked as having errors', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024'], '2M');
    debugfsWrite(tools, img, ['ssv state 3']);
    const m = await mountRw(img);
    try {
      assert.ok(m.messages.join('').includes('has errors'), m.messages.join(''));
      await writeFile(m.k, m.l, '/mnt/f', 'x');
    } finally {
      await m.done();
    }
    assert.match(dumpe2fsHeader(tools, img).get('Filesystem state') ?? '', /clean with errors/);
  });

  it('mounts ext4 read-only with a console message naming the features it cannot write', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '4096'], '8M', 'ext4');
    const sum = readFileSync(img);
    const m = await mountRw(img);
    try {
      assert.equal(m.k.vfs!.mounts.find((x) => x.onName === '/mnt')!.rdonly, true);
      const msg = m.messages.join('');
      assert.match(msg, /extent/);
      assert.match(msg, /metadata_csum/);
      assert.match(msg, /read-only/);
      await assert.rejects(writeFile(m.k, m.l, '/mnt/f', 'x'), errno('EROFS'));
    } finally {
      await m.done();
    }
    assert.ok(readFileSync(img).equals(sum), 'the image is untouched');
  });

  it('writes ext3 with a clean journal as ext2 and leaves the journal clean; a journal with transactions forces read-only', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024'], '8M', 'ext3');
    const journalBefore = debugfsRead(tools, img, 'logdump');
    const m = await mountRw(img);
    try {
      assert.equal(m.k.vfs!.mounts.find((x) => x.onName === '/mnt')!.rdonly, false, m.messages.join(''));
      await k3work(m.k, m.l);
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'ext3');
    assert.match(dumpe2fsHeader(tools, img).get('Filesystem features') ?? '', /has_journal/);
    assert.doesNotMatch(dumpe2fsHeader(tools, img).get('Filesystem features') ?? '', /needs_recovery/);
    assert.equal(debugfsRead(tools, img, 'logdump'), journalBefore, 'the journal is untouched');
    // a journal whose s_start is not 0 holds transactions: read-only
    const jblk = fileBlocks(tools, img, '<8>')[0]!;
    const bytes = readFileSync(img);
    bytes.writeUInt32BE(1, jblk * 1024 + 0x1c);
    writeFileSync(img, bytes);
    const m2 = await mountRw(img);
    try {
      assert.equal(m2.k.vfs!.mounts.find((x) => x.onName === '/mnt')!.rdonly, true);
      assert.match(m2.messages.join(''), /journal .*not empty/);
    } finally {
      await m2.done();
    }
  });
});

/** A seeded pseudo-random generator (xorshift32). */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

/** Everything under `dir` as "path type size nlink [target|hash]" lines, sorted. */
async function snapshot(k: Kernel, l: Lwp, dir: string, out: string[] = [], rel = ''): Promise<string[]> {
  for (const n of await names(k, l, dir)) {
    if (rel === '' && n === 'lost+found') continue;
    const p = `${dir}/${n}`;
    const st = await k.sys.lstat(l, p);
    const fmt = st.mode & S_IFMT;
    let extra = '';
    if (fmt === 0o100000) {
      // whole small files; windows of large (sparse) ones
      const windows: [number, number][] = st.size <= 1 << 20 ? [[0, st.size]]
        : [[0, 512 * 1024], [st.size - 512 * 1024, st.size], [70 * 1024 * 1024 - 65536, 70 * 1024 * 1024 + 270 * 1024]];
      let h = 0;
      const fd = await k.sys.open(l, p, O_RDONLY, 0);
      try {
        for (const [from, to] of windows) {
          const b = new Uint8Array(Math.max(0, Math.min(to, st.size) - from));
          const n = b.length === 0 ? 0 : await k.sys.pread(l, fd, b, from);
          for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + b[i]!) >>> 0;
        }
      } finally {
        await k.sys.close(l, fd);
      }
      extra = `#${h.toString(16)}`;
    } else if (fmt === 0o120000) {
      extra = `-> ${await k.sys.readlink(l, p)}`;
    }
    out.push(`${rel}${n} ${(fmt >>> 12).toString(8)} ${fmt === 0o040000 ? '-' : st.size} ${st.nlink} ${(st.mode & 0o7777).toString(8)} ${extra}`);
    if (fmt === 0o040000) await snapshot(k, l, p, out, `${rel}${n}/`);
  }
  return out.sort();
}

describe('ext2fs read-write: differential', () => {
  it('a seeded random sequence of operations gives the same results and tree as tmpfs, and e2fsck agrees', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    // EXT2FS_RW_SEED=n (and EXT2FS_RW_BS=4096) replay another sequence, for hunting bugs
    const seed = Number(process.env['EXT2FS_RW_SEED'] ?? 20261124);
    const img = mkfs(tools, ['-b', process.env['EXT2FS_RW_BS'] ?? '1024', '-N', '4096'], '48M');
    const e = await mountRw(img);
    const tk = await Kernel.boot({ host: memoryHost({ seed: 3 }), components: [vfs, tmpfs] });
    const tl = tk.initLwp;
    await tk.sys.mkdir(tl, '/mnt', 0o755);
    await tk.sys.mount(tl, 'tmpfs', '/mnt', 0, {});
    const r = rng(seed);
    const dirs = ['', 'a', 'b', 'a/c'];
    const names0 = ['f', 'g', 'h', 'long-name-'.repeat(10), 'x', 'y'];
    const pick = <T>(xs: readonly T[]): T => xs[r(xs.length)]!;
    const path = (): string => `/mnt/${[pick(dirs), pick(names0)].filter((x) => x !== '').join('/')}`;
    const outcome = async (k: Kernel, l: Lwp, op: (k: Kernel, l: Lwp) => Promise<unknown>): Promise<string> => {
      try {
        const v = await op(k, l);
        return `ok ${typeof v === 'number' ? v : ''}`;
      } catch (err) {
        if (err instanceof KernelError) return err.code;
        throw err;
      }
    };
    try {
      for (const d of dirs.slice(1)) {
        await e.k.sys.mkdir(e.l, `/mnt/${d}`, 0o755);
        await tk.sys.mkdir(tl, `/mnt/${d}`, 0o755);
      }
      for (let step = 0; step < 1200; step++) {
        const kind = r(12);
        let op: (k: Kernel, l: Lwp) => Promise<unknown>;
        const p1 = path(), p2 = path();
        if (kind <= 2) {
          const off = pick([0, 0, 100, 1023, 1024, 5000, 13 * 1024, 300 * 1024, 70 * 1024 * 1024 + 7]);
          const len = pick([1, 100, 1024, 3000, 70 * 1024, 200 * 1024 + 3]);
          const data = pattern(len, step);
          op = async (k, l) => {
            const fd = await k.sys.open(l, p1, O_CREAT | O_WRONLY, 0o644);
            try {
              return await k.sys.pwrite(l, fd, data, off);
            } finally {
              await k.sys.close(l, fd);
            }
          };
        } else if (kind === 3) {
          const size = pick([0, 1, 1000, 1024, 12 * 1024, 12 * 1024 + 5, 270 * 1024, 5 * 1024 * 1024]);
          op = (k, l) => k.sys.truncate(l, p1, size);
        } else if (kind === 4) {
          op = (k, l) => k.sys.unlink(l, p1);
        } else if (kind === 5) {
          op = (k, l) => k.sys.rename(l, p1, p2);
        } else if (kind === 6) {
          op = (k, l) => k.sys.mkdir(l, p1, 0o750);
        } else if (kind === 7) {
          op = (k, l) => k.sys.rmdir(l, p1);
        } else if (kind === 8) {
          op = (k, l) => k.sys.link(l, p1, p2);
        } else if (kind === 9) {
          const target = pick(['f', '../x', 'a/'.repeat(35) + 'z']);
          op = (k, l) => k.sys.symlink(l, target, p1);
        } else if (kind === 10) {
          const mode = pick([0o600, 0o755, 0o4711]);
          op = (k, l) => k.sys.chmod(l, p1, mode);
        } else {
          const off = pick([0, 1000, 12 * 1024, 70 * 1024 * 1024]);
          op = async (k, l) => {
            const fd = await k.sys.open(l, p1, O_RDONLY, 0);
            try {
              const b = new Uint8Array(80 * 1024);
              const n = await k.sys.pread(l, fd, b, off);
              let h = 0;
              for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + b[i]!) >>> 0;
              return n * 1e6 + (h % 1e6);
            } finally {
              await k.sys.close(l, fd);
            }
          };
        }
        const a = await outcome(e.k, e.l, op);
        const b = await outcome(tk, tl, op);
        assert.equal(a, b, `step ${step}: kind ${kind} on ${p1} ${p2}: ext2fs ${a}, tmpfs ${b}`);
        if (step % 300 === 299) assert.deepEqual(await snapshot(e.k, e.l, '/mnt'), await snapshot(tk, tl, '/mnt'), `trees after step ${step}`);
      }
      assert.deepEqual(await snapshot(e.k, e.l, '/mnt'), await snapshot(tk, tl, '/mnt'), 'final trees');
    } finally {
      await e.done();
      await tk.halt();
    }
    fsckClean(tools, img, 'random operations');
  });
});

describe('ext2fs read-write: inode flags', () => {
  it('honours immutable and append-only files and directories set by chattr (debugfs)', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024'], '2M');
    const m0 = await mountRw(img);
    try {
      for (const f of ['imm', 'app']) await writeFile(m0.k, m0.l, `/mnt/${f}`, 'start');
      await m0.k.sys.mkdir(m0.l, '/mnt/immdir', 0o755);
      await writeFile(m0.k, m0.l, '/mnt/immdir/inside', 'x');
    } finally {
      await m0.done();
    }
    debugfsWrite(tools, img, ['sif /imm flags 0x10', 'sif /app flags 0x20', 'sif /immdir flags 0x10']);
    const m = await mountRw(img);
    const { k, l } = m;
    try {
      await assert.rejects(pwrite(k, l, '/mnt/imm', 'x', 0), errno('EPERM', 'immutable'));
      await assert.rejects(k.sys.unlink(l, '/mnt/imm'), errno('EPERM'));
      await assert.rejects(k.sys.rename(l, '/mnt/imm', '/mnt/imm2'), errno('EPERM'));
      await assert.rejects(k.sys.chmod(l, '/mnt/imm', 0o600), errno('EPERM'));
      await assert.rejects(k.sys.truncate(l, '/mnt/imm', 0), errno('EPERM'));
      await assert.rejects(k.sys.link(l, '/mnt/imm', '/mnt/imm-link'), errno('EPERM'));
      await assert.rejects(pwrite(k, l, '/mnt/app', 'X', 0), errno('EPERM', 'append-only'));
      await pwrite(k, l, '/mnt/app', '+more', 5);
      await assert.rejects(k.sys.unlink(l, '/mnt/app'), errno('EPERM'));
      await assert.rejects(writeFile(k, l, '/mnt/immdir/new', 'x'), errno('EPERM'));
      await assert.rejects(k.sys.unlink(l, '/mnt/immdir/inside'), errno('EPERM'));
      assert.equal(dec.decode(await readFile(k, l, '/mnt/app')), 'start+more');
      assert.equal(dec.decode(await readFile(k, l, '/mnt/imm')), 'start');
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'flags');
  });
});

async function k3work(k: Kernel, l: Lwp): Promise<void> {
  await k.sys.mkdir(l, '/mnt/dir', 0o755);
  await writeFile(k, l, '/mnt/dir/file', pattern(100_000, 9));
  await k.sys.rename(l, '/mnt/dir/file', '/mnt/file');
  await k.sys.rmdir(l, '/mnt/dir');
}

describe('ext2fs read-write: hash-indexed directories', () => {
  it('adds to and removes from a directory with a hash index made by e2fsck -D, and e2fsck agrees', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const src = scratchPath(`htree-src${scratch.n++}`);
    mkdirSync(`${src}/big`, { recursive: true });
    for (let i = 0; i < 1500; i++) writeFileSync(`${src}/big/entry-${'w'.repeat(30)}-${i}`, '');
    const img = scratchPath(`htree${scratch.n++}.img`);
    makeImage(tools, src, img, { type: 'ext2', blockSize: 1024, inodeSize: 256, sizeMiB: 16 });
    assert.match(debugfsRead(tools, img, 'stat /big'), /Flags: 0x1000/, 'the directory is indexed');
    const m = await mountRw(img);
    try {
      for (let i = 0; i < 40; i++) await writeFile(m.k, m.l, `/mnt/big/new-${i}`, `${i}`);
      for (let i = 0; i < 1500; i += 3) await m.k.sys.unlink(m.l, `/mnt/big/entry-${'w'.repeat(30)}-${i}`);
      for (let i = 0; i < 40; i++) assert.equal(dec.decode(await readFile(m.k, m.l, `/mnt/big/new-${i}`)), `${i}`);
      for (let i = 1; i < 1500; i += 3) await m.k.sys.stat(m.l, `/mnt/big/entry-${'w'.repeat(30)}-${i}`);
      await assert.rejects(m.k.sys.stat(m.l, `/mnt/big/entry-${'w'.repeat(30)}-0`), errno('ENOENT'));
      // many more names: leaves fill up and the directory becomes linear
      for (let i = 0; i < 2000; i++) await writeFile(m.k, m.l, `/mnt/big/more-${'v'.repeat(40)}-${i}`, '');
      assert.equal((await names(m.k, m.l, '/mnt/big')).length, 1000 + 40 + 2000);
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'htree');
    const m2 = await mountRw(img, MNT_RDONLY);
    try {
      assert.equal((await names(m2.k, m2.l, '/mnt/big')).length, 3040);
      assert.equal(dec.decode(await readFile(m2.k, m2.l, '/mnt/big/new-7')), '7');
      await m2.k.sys.stat(m2.l, `/mnt/big/more-${'v'.repeat(40)}-1999`);
    } finally {
      await m2.done();
    }
  });
});

describe('ext2fs read-write: concurrency and hostile images', () => {
  it('runs creates, writes, renames and removes concurrently without losing anything', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024'], '16M');
    const m = await mountRw(img);
    const { k } = m;
    try {
      await k.sys.mkdir(m.l, '/mnt/a', 0o755);
      await k.sys.mkdir(m.l, '/mnt/b', 0o755);
      const jobs: Promise<void>[] = [];
      for (let w = 0; w < 8; w++) {
        jobs.push((async () => {
          const l = k.newProc({ uid: 0, gid: 0 });
          for (let i = 0; i < 40; i++) {
            const p = `/mnt/a/w${w}-${i}`;
            await writeFile(k, l, p, pattern(1000 * (i % 7) + w, w * 100 + i));
            if (i % 3 === 0) await k.sys.rename(l, p, `/mnt/b/w${w}-${i}`);
            if (i % 5 === 0) await k.sys.unlink(l, i % 3 === 0 ? `/mnt/b/w${w}-${i}` : p);
            if (i % 10 === 0) await k.sys.mkdir(l, `/mnt/b/dir${w}-${i}`, 0o755);
          }
        })());
      }
      await Promise.all(jobs);
      let count = 0;
      for (let w = 0; w < 8; w++) {
        for (let i = 0; i < 40; i++) {
          if (i % 5 === 0) continue;
          const p = i % 3 === 0 ? `/mnt/b/w${w}-${i}` : `/mnt/a/w${w}-${i}`;
          equalBytes(await readFile(k, m.l, p), pattern(1000 * (i % 7) + w, w * 100 + i), p);
          count++;
        }
      }
      assert.equal((await names(k, m.l, '/mnt/a')).length + (await names(k, m.l, '/mnt/b')).length, count + 32);
      assert.equal((await k.sys.stat(m.l, '/mnt/b')).nlink, 2 + 32);
    } finally {
      await m.done();
    }
    fsckClean(tools, img, 'concurrent');
  });

  it('refuses to write through a block pointer into the inode table (EIO) and leaves the metadata alone', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = mkfs(tools, ['-b', '1024', '-I', '128'], '2M');
    const m = await mountRw(img);
    try {
      await writeFile(m.k, m.l, '/mnt/victim', pattern(2048, 1));
    } finally {
      await m.done();
    }
    const itable = Number(/Inode table at (\d+)/.exec(spawnSync(tools.dumpe2fs, [img], { encoding: 'utf8' }).stdout)![1]);
    debugfsWrite(tools, img, [`sif /victim block[1] ${itable}`]);
    const tableBefore = readFileSync(img).subarray(itable * 1024, (itable + 1) * 1024);
    const m2 = await mountRw(img);
    try {
      await assert.rejects(pwrite(m2.k, m2.l, '/mnt/victim', 'overwrite', 1024), errno('EIO', 'inode', 'data block'));
      await m2.k.sys.unlink(m2.l, '/mnt/victim');
      assert.match(m2.messages.join(''), new RegExp(`not freeing block ${itable}`));
    } finally {
      await m2.done();
    }
    const tableAfter = readFileSync(img).subarray(itable * 1024, (itable + 1) * 1024);
    // inodes 1 to 8 live there: only the root directory's (2) changed (the unlink's times)
    assert.ok(tableAfter.subarray(0, 128).equals(tableBefore.subarray(0, 128)), 'inode 1 untouched');
    assert.ok(tableAfter.subarray(256).equals(tableBefore.subarray(256)), 'inodes 3 to 8 untouched');
  });
});
