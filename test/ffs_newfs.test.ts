/**
 * newfs for FFS: the file systems it makes mount read-only and read back (an empty root), their
 * counts are consistent (every group's maps against its summary, the summaries against the
 * superblock totals), and in makefs style they agree with Debian's makefs field for field: the
 * superblock, every cylinder group header and map, the summary area and the root inode, with only
 * time stamps, ids and generation numbers differing. The CLI (src/bin/newfs.ts) as a user runs it.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { KernelError } from '../src/kern/errno.js';
import { O_DIRECTORY, O_RDONLY } from '../src/kern/types.js';
import { cgBlksFree, cgClusterFree, cgClusterSum, cgInosUsed, checkCg, isblock, isset, parseCg, type Cg } from '../src/fs/ffs/cg.js';
import { parseCsumArray, sumCsum, type Csum } from '../src/fs/ffs/csum.js';
import { inodeView, parseDinode } from '../src/fs/ffs/dinode.js';
import { parseDirBlock } from '../src/fs/ffs/dir.js';
import { cgtod, inoToFsba, inoToFsbo, parseSuperblock, superblockGeometry, SBLOCK_UFS2, type Geometry } from '../src/fs/ffs/superblock.js';
import { memoryImage } from '../src/fs/ffs/tools/io.js';
import { MINCYLGRPS, newfs, planLayout, type NewfsOptions } from '../src/fs/ffs/tools/newfs.js';
import { makeImage, mountImage, requireMakefs } from './fixtures/ffs_images.js';

function rejects(code: string, ...words: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `message '${e.message}' should mention '${w}'`);
    return true;
  };
}

let work = '';
let serial = 0;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ffs-newfs-'));
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** A deterministic random source. */
function rng(seed = 1): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

const NOW = 1_700_000_000;

/** newfs into memory; the bytes and the geometry read back from them. */
async function make(o: Omit<NewfsOptions, 'now' | 'random'>): Promise<{ bytes: Uint8Array; geo: Geometry }> {
  const io = memoryImage(o.size);
  const plan = await newfs(io, { ...o, now: NOW, random: rng() });
  const loc = plan.geo.sblockloc;
  const sb = parseSuperblock(io.bytes.subarray(loc, loc + 8192));
  return { bytes: io.bytes, geo: superblockGeometry(sb, io.bytes.length, loc) };
}

function cgOf(bytes: Uint8Array, g: Geometry, c: number): Cg {
  const off = cgtod(g, c) * g.fsize;
  return parseCg(bytes.slice(off, off + g.cgsize), g.le, `cylinder group ${c}`);
}

/** Count what a group's maps say and check it against its summary; the group's summary. */
function checkGroup(bytes: Uint8Array, g: Geometry, c: number, cs: Csum): void {
  const cg = cgOf(bytes, g, c);
  checkCg(cg, g, c);
  assert.deepEqual(cg.cg_cs, cs, `group ${c}: the cg block's counts and the summary area agree`);
  const inos = cgInosUsed(cg, g);
  let used = 0;
  for (let i = 0; i < g.ipg; i++) if (isset(inos, i)) used++;
  assert.equal(g.ipg - used, cs.cs_nifree, `group ${c}: free inodes by the map`);
  const free = cgBlksFree(cg, g);
  let nbfree = 0, nffree = 0;
  const frsum = new Array<number>(8).fill(0);
  for (let b = 0; b * g.frag < cg.cg_ndblk; b++) {
    if (isblock(g.frag, free, b)) {
      nbfree++;
      continue;
    }
    let run = 0;
    for (let i = 0; i <= g.frag; i++) {
      if (i < g.frag && b * g.frag + i < cg.cg_ndblk && isset(free, b * g.frag + i)) run++;
      else {
        if (run > 0) frsum[run]!++;
        nffree += run;
        run = 0;
      }
    }
  }
  assert.equal(nbfree, cs.cs_nbfree, `group ${c}: free blocks by the map`);
  assert.equal(nffree, cs.cs_nffree, `group ${c}: free fragments by the map`);
  assert.deepEqual(cg.cg_frsum.slice(1, g.frag), frsum.slice(1, g.frag), `group ${c}: free fragment runs`);
  if (g.contigsumsize > 0) {
    const clusters = cgClusterFree(cg, g);
    for (let b = 0; b < cg.cg_nclusterblks; b++) assert.equal(isset(clusters, b), isblock(g.frag, free, b), `group ${c}: cluster map bit ${b}`);
    assert.equal(cgClusterSum(cg, g).length, g.contigsumsize + 1);
  }
}

describe('newfs makes file systems our mount reads', () => {
  const cases: Omit<NewfsOptions, 'now' | 'random'>[] = [
    { version: 1, size: 32 << 20 },
    { version: 2, size: 32 << 20 },
    { version: 2, size: 48 << 20, bsize: 16384, fsize: 2048, littleEndian: false },
    { version: 1, size: 20 << 20, bsize: 4096, fsize: 512, density: 2048 },
    { version: 2, size: 96 << 20, bsize: 65536, fsize: 8192 },
    { version: 1, size: 8 << 20, bsize: 4096, fsize: 4096 },
  ];
  for (const o of cases) {
    it(`UFS${o.version} ${o.bsize ?? 'default'}/${o.fsize ?? 'default'} ${o.littleEndian === false ? 'big' : 'little'}-endian, ${o.size >> 20} MiB: consistent counts, an empty root that mounts`, async () => {
      const { bytes, geo: g } = await make(o);
      assert.equal(g.sblockloc, o.version === 2 ? SBLOCK_UFS2 : 8192, 'NetBSD newfs puts the UFS2 superblock at 64 KiB');
      assert.ok(g.ncg >= MINCYLGRPS || g.ncg === Math.ceil(g.size / g.fpg), `${g.ncg} groups`);
      const csums = parseCsumArray(bytes.subarray(g.csaddr * g.fsize), g.ncg, g.le);
      for (let c = 0; c < g.ncg; c++) checkGroup(bytes, g, c, csums[c]!);
      assert.deepEqual(sumCsum(csums), g.cstotal, 'the summaries add up to the superblock totals');
      assert.equal(g.cstotal.cs_ndir, 1);
      assert.equal(g.cstotal.cs_nifree, g.ncg * g.ipg - 3);
      // the root inode and its directory block
      const off = inoToFsba(g, 2) * g.fsize + inoToFsbo(g, 2) * g.dinodeSize;
      const root = inodeView(parseDinode(bytes, off, g.ufs, g.le));
      assert.equal(root.mode, 0o40755);
      assert.equal(root.nlink, 2);
      assert.equal(root.size, 512);
      assert.equal(root.mtime.sec, NOW);
      const ents = parseDirBlock(bytes.slice(root.db[0]! * g.fsize, root.db[0]! * g.fsize + 512), { le: g.le, oldFormat: false, maxino: g.maxino, what: 'root', base: 0 });
      assert.deepEqual(ents.map((e) => [e.ino, new TextDecoder().decode(e.name)]), [[2, '.'], [2, '..']]);
      // mount it
      const img = join(work, `newfs${serial++}.img`);
      writeFileSync(img, bytes);
      const m = await mountImage(img);
      try {
        const { k, l } = m;
        const fd = await k.sys.open(l, '/mnt', O_RDONLY | O_DIRECTORY, 0);
        const names = (await k.sys.getdents(l, fd, 100)).map((e) => e.name);
        await k.sys.close(l, fd);
        assert.deepEqual(names, ['.', '..']);
        const st = await k.sys.stat(l, '/mnt');
        assert.equal(st.ino, 2);
        assert.equal(st.nlink, 2);
        const sv = await k.sys.statvfs(l, '/mnt');
        assert.equal(sv.bfree, g.cstotal.cs_nbfree * g.frag + g.cstotal.cs_nffree);
        assert.equal(sv.files, g.ncg * g.ipg - 2);
      } finally {
        await m.halt();
      }
    });
  }

  it('is deterministic for the same time and random source', async () => {
    const a = await make({ version: 2, size: 16 << 20 });
    const b = await make({ version: 2, size: 16 << 20 });
    assert.ok(Buffer.compare(a.bytes, b.bytes) === 0);
  });

  it('refuses bad parameters with EINVAL naming them, and sizes too small with ENOSPC', async () => {
    const base = { now: NOW, random: rng(), size: 16 << 20, version: 2 as const };
    assert.throws(() => planLayout({ ...base, bsize: 3000 }), rejects('EINVAL', '-b 3000'));
    assert.throws(() => planLayout({ ...base, bsize: 8192, fsize: 512 }), rejects('EINVAL', '-f 512'));
    assert.throws(() => planLayout({ ...base, bsize: 4096, fsize: 8192 }), rejects('EINVAL', '-f 8192'));
    assert.throws(() => planLayout({ ...base, version: 3 as 2 }), rejects('EINVAL', '-O 3'));
    assert.throws(() => planLayout({ ...base, size: 1000 }), rejects('EINVAL', 'size 1000'));
    assert.throws(() => planLayout({ ...base, minfree: 100 }), rejects('EINVAL', 'minfree 100'));
    assert.throws(() => planLayout({ ...base, size: 64 * 1024 }), rejects('ENOSPC'));
    await assert.rejects(newfs(memoryImage(1 << 20), { ...base, size: 2 << 20 }), rejects('ENOSPC', 'smaller than the file system'));
    assert.deepEqual(planLayout({ ...base, size: 8 << 20 }).notes, []);
    const sparse = planLayout({ ...base, size: 512 << 20, bsize: 4096, fsize: 512, density: 1 << 30 });
    assert.match(sparse.notes.join(), /density reduced from 1073741824 to \d+/, 'a group map that would not fit a block lowers the density');
    assert.ok(sparse.geo.cgsize <= 4096);
  });
});

describe('newfs in makefs style agrees with Debian makefs field for field', () => {
  const CASES: { label: string; o: Omit<NewfsOptions, 'now' | 'random' | 'size'>; sizeMiB: number; density: number }[] = [
    { label: 'UFS1 8 KiB/1 KiB', o: { version: 1 }, sizeMiB: 64, density: 8192 },
    { label: 'UFS2 8 KiB/1 KiB', o: { version: 2 }, sizeMiB: 64, density: 8192 },
    { label: 'UFS2 4 KiB/512, six groups', o: { version: 2, bsize: 4096, fsize: 512 }, sizeMiB: 64, density: 8192 },
    { label: 'UFS1 big-endian 16 KiB/2 KiB', o: { version: 1, bsize: 16384, fsize: 2048, littleEndian: false }, sizeMiB: 100, density: 4096 },
    { label: 'UFS2 64 KiB/8 KiB', o: { version: 2, bsize: 65536, fsize: 8192 }, sizeMiB: 128, density: 16384 },
    { label: 'UFS1 4 KiB/4 KiB (one fragment per block)', o: { version: 1, bsize: 4096, fsize: 4096 }, sizeMiB: 20, density: 2048 },
  ];
  /** Fields that hold times, ids, or in-core pointers makefs leaves in the superblock. */
  const VARYING = new Set(['fs_time', 'fs_old_time', 'fs_id0', 'fs_id1', 'fs_incore', 'raw']);

  for (const c of CASES) {
    it(`${c.label}: superblock, cylinder groups, summaries and root inode`, async (t) => {
      const makefs = requireMakefs(t);
      if (makefs === null) return;
      const empty = join(work, 'empty');
      if (!existsSync(empty)) mkdirSync(empty);
      const img = join(work, `makefs${serial++}.img`);
      makeImage(makefs, empty, img, {
        version: c.o.version, bigEndian: c.o.littleEndian === false, size: c.sizeMiB << 20,
        ...(c.o.bsize !== undefined ? { bsize: c.o.bsize } : {}), ...(c.o.fsize !== undefined ? { fsize: c.o.fsize } : {}),
        density: c.density,
      });
      const theirs = new Uint8Array(readFileSync(img));
      const ours = (await make({ ...c.o, size: theirs.length, density: c.density, style: 'makefs' })).bytes;
      const tsb = parseSuperblock(theirs.subarray(8192, 16384));
      const osb = parseSuperblock(ours.subarray(8192, 16384));
      let compared = 0;
      for (const k of Object.keys(tsb) as (keyof typeof tsb)[]) {
        if (VARYING.has(k)) continue;
        assert.deepEqual(osb[k], tsb[k], `superblock ${k}`);
        compared++;
      }
      assert.ok(compared > 100, `${compared} superblock fields compared`);
      const g = superblockGeometry(tsb, theirs.length, 8192);
      for (let cg = 0; cg < g.ncg; cg++) {
        const a = cgOf(theirs, g, cg), b = cgOf(ours, g, cg);
        for (const k of Object.keys(a) as (keyof Cg)[]) {
          if (k === 'cg_time' || k === 'cg_old_time' || k === 'raw') continue;
          assert.deepEqual(b[k], a[k], `cylinder group ${cg}: ${k}`);
        }
        assert.ok(Buffer.compare(a.raw.subarray(168), b.raw.subarray(168)) === 0, `cylinder group ${cg}: maps byte for byte`);
      }
      assert.deepEqual(parseCsumArray(ours.subarray(g.csaddr * g.fsize), g.ncg, g.le), parseCsumArray(theirs.subarray(g.csaddr * g.fsize), g.ncg, g.le), 'summary area');
      const off = inoToFsba(g, 2) * g.fsize + inoToFsbo(g, 2) * g.dinodeSize;
      const ri = inodeView(parseDinode(ours, off, g.ufs, g.le)), ti = inodeView(parseDinode(theirs, off, g.ufs, g.le));
      for (const k of ['mode', 'nlink', 'uid', 'gid', 'size', 'blocks', 'flags', 'db', 'ib'] as const) assert.deepEqual(ri[k], ti[k], `root inode ${k}`);
      const dir = (b: Uint8Array): Uint8Array => b.subarray(ti.db[0]! * g.fsize, ti.db[0]! * g.fsize + 512);
      assert.ok(Buffer.compare(dir(ours), dir(theirs)) === 0, 'root directory block');
    });
  }
});

describe('the newfs command', () => {
  const bin = fileURLToPath(new URL('../src/bin/newfs.js', import.meta.url));
  const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('makes an image of the asked size and prints the layout as NetBSD newfs does', async () => {
    const img = join(work, 'cli.img');
    const r = run('-O', '2', '-b', '16384', '-f', '2048', '-s', '32m', img);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cli\.img: 32\.0MB \(65536 sectors\) block size 16384, fragment size 2048/);
    assert.match(r.stdout, /using \d+ cylinder groups of [\d.]+MB, \d+ blks, \d+ inodes\./);
    assert.match(r.stdout, /super-block backups \(for fsck_ffs -b #\) at:\n +160,/);
    assert.equal(statSync(img).size, 32 << 20);
    const m = await mountImage(img);
    try {
      assert.equal(m.fs.geo.bsize, 16384);
      assert.equal(m.fs.geo.ufs, 2);
    } finally {
      await m.halt();
    }
  });

  it('-N prints the layout and writes nothing; -s in sectors; UFS1 with -O 1', () => {
    const img = join(work, 'dry.img');
    const r = run('-N', '-O', '1', '-s', '40960', img);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /20\.0MB \(40960 sectors\) block size 8192, fragment size 1024/);
    assert.equal(existsSync(img), false);
  });

  it('refuses bad usage with exit status 2 and bad parameters with 1, naming them', () => {
    const img = join(work, 'bad.img');
    let r = run('-O', '3', '-s', '1m', img);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /-O 3/);
    r = run('-q', img);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option -q/);
    r = run(img);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give its size with -s/);
    r = run('-b', '3000', '-s', '1m', img);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /-b 3000: block size must be a power of two/);
    assert.equal(existsSync(img), false, 'nothing created for bad parameters');
    assert.equal(run('--help').status, 0);
  });
});
