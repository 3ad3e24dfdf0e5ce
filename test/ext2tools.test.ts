/**
 * The offline ext2 image tools: newfs_ext2fs, makefs -t ext2fs and fsck_ext2fs.
 *
 * Oracles are the host's e2fsprogs (e2fsck -fn, dumpe2fs, debugfs, mke2fs) and our own read-only
 * ext2fs through ukfs. Library calls run in-process (fast); each CLI is spawned once or twice for
 * its command line and exit status. Tests needing e2fsprogs are skipped, saying so, without them.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryImage } from '../src/fs/ext2fs/tools/io.js';
import { planLayout, groupHasSuperBackup } from '../src/fs/ext2fs/tools/layout.js';
import { newfs } from '../src/fs/ext2fs/tools/newfs.js';
import { makefs } from '../src/fs/ext2fs/tools/makefs.js';
import { fsck, type FsckResult } from '../src/fs/ext2fs/tools/fsck.js';
import { parseFeatures } from '../src/fs/ext2fs/tools/features.js';
import { openImage } from '../src/bin/ext2tools/nodeio.js';
import { hostTree } from '../src/bin/ext2tools/hosttree.js';
import { ukfsMount } from '../src/ukfs/index.js';
import { major, minor } from '../src/kern/types.js';

const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const E2FS = have('e2fsck') && have('debugfs') && have('dumpe2fs') && have('mke2fs');
const skipE2fs = E2FS ? false : 'SKIPPED: e2fsprogs (e2fsck, debugfs, dumpe2fs, mke2fs) is not installed';
const bin = (name: string): string => fileURLToPath(new URL(`../src/bin/${name}.js`, import.meta.url));
const UUID = new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x80, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]);
const NOW = 1_700_000_000;

function run(cmd: string, args: readonly string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Problem classes named in e2fsck's output (the same names our fsck gives its problems). */
const E2FSCK_CLASSES: readonly [RegExp, string][] = [
  [/Block bitmap differences/, 'BLOCK_BITMAP'], [/Inode bitmap differences/, 'INODE_BITMAP'],
  [/Free blocks count wrong for group/, 'GROUP_FREE_BLOCKS'], [/Free inodes count wrong for group/, 'GROUP_FREE_INODES'],
  [/Free blocks count wrong \(/, 'FREE_BLOCKS'], [/Free inodes count wrong \(/, 'FREE_INODES'], [/Directories count wrong/, 'GROUP_DIRS'],
  [/ref count is/, 'LINK_COUNT'], [/has deleted\/unused inode/, 'UNUSED_INODE_ENTRY'], [/^Unattached inode/, 'UNATTACHED_INODE'],
  [/Unattached zero-length/, 'UNATTACHED_ZERO'], [/Unconnected directory/, 'UNCONNECTED_DIR'], [/'\.\.' in .* is /, 'BAD_DOTDOT'],
  [/has zero dtime/, 'ZERO_DTIME'], [/in use, but has dtime/, 'INUSE_DTIME'], [/has illegal block/, 'ILLEGAL_BLOCK'],
  [/i_blocks is/, 'BAD_I_BLOCKS'], [/i_size is/, 'BAD_I_SIZE'], [/Multiply-claimed/, 'DUP_BLOCK'], [/incorrect filetype/, 'BAD_FILETYPE'],
];

function e2fsckClasses(out: string): string[] {
  const found = new Set<string>();
  for (const line of out.split('\n')) {
    const hit = E2FSCK_CLASSES.find(([re]) => re.test(line));
    if (hit !== undefined) found.add(hit[1]);
  }
  return [...found].sort();
}

const classes = (r: FsckResult): string[] => [...new Set(r.problems.map((p) => p.code))].sort();

async function fsckFile(file: string, repair: boolean): Promise<FsckResult> {
  const img = openImage(file, { readonly: !repair });
  try {
    return await fsck(img, { repair, force: true, now: NOW });
  } finally {
    img.close();
  }
}

describe('layout', () => {
  it('gives the geometry mke2fs gives: 20 MiB, 1 KiB blocks, 256-byte inodes', () => {
    const l = planLayout({ blocksCount: 20480, blockSize: 1024, inodeSize: 256, sparseSuper: true, inodeRatio: 4096 });
    assert.equal(l.groupCount, 3);
    assert.equal(l.inodesPerGroup, 1704);
    assert.equal(l.inodeTableBlocks, 426);
    assert.deepEqual(l.groups.map((g) => [g.first, g.hasSuper, g.blockBitmap, g.inodeTable]), [[1, true, 3, 5], [8193, true, 8195, 8197], [16385, false, 16385, 16387]]);
  });

  it('drops a last group too small for its metadata and 50 blocks, as mke2fs does', () => {
    const l = planLayout({ blocksCount: 8193 + 40, blockSize: 1024, inodeSize: 128, sparseSuper: true });
    assert.equal(l.groupCount, 1);
    assert.equal(l.blocksCount, 8193);
  });

  it('puts superblock backups in groups 0, 1 and powers of 3, 5 and 7 with sparse_super', () => {
    const with_ = Array.from({ length: 50 }, (_, g) => g).filter((g) => groupHasSuperBackup(g, true));
    assert.deepEqual(with_, [0, 1, 3, 5, 7, 9, 25, 27, 49]);
    assert.equal(groupHasSuperBackup(4, false), true);
  });

  it('refuses impossible parameters with EINVAL naming them', () => {
    assert.throws(() => planLayout({ blocksCount: 1000, blockSize: 3000, inodeSize: 128, sparseSuper: true }), { code: 'EINVAL', message: /block size 3000/ });
    assert.throws(() => planLayout({ blocksCount: 1000, blockSize: 1024, inodeSize: 100, sparseSuper: true }), { code: 'EINVAL', message: /inode size 100/ });
    assert.throws(() => planLayout({ blocksCount: 5, blockSize: 1024, inodeSize: 128, sparseSuper: true }), { code: 'ENOSPC' });
    assert.throws(() => parseFeatures('extent'), { code: 'EINVAL', message: /'extent' is not supported/ });
    assert.throws(() => parseFeatures('bogus'), { code: 'EINVAL', message: /unknown file system feature 'bogus'/ });
  });
});

describe('newfs and fsck in memory', () => {
  it('a new file system checks clean, and a flipped bitmap bit is found and repaired', async () => {
    const io = memoryImage(4 << 20);
    const r = await newfs(io, { uuid: UUID, now: NOW, label: 'mem' });
    assert.equal(r.superblock.s_free_inodes_count, r.layout.inodesCount - 11);
    const clean = await fsck(io, { repair: false, force: true, now: NOW });
    assert.equal(clean.exitCode, 0, JSON.stringify(clean.problems));
    assert.deepEqual(clean.problems, []);
    // mark a free data block in use in group 0's bitmap
    const gd = r.layout.groups[0]!;
    const bit = gd.dataStart + 100 - r.layout.firstDataBlock;
    io.bytes[gd.blockBitmap * 1024 + (bit >> 3)]! |= 1 << (bit & 7);
    const bad = await fsck(io, { repair: false, force: true, now: NOW });
    assert.equal(bad.exitCode, 4);
    assert.deepEqual(classes(bad), ['BLOCK_BITMAP', 'FREE_BLOCKS', 'GROUP_FREE_BLOCKS']);
    assert.match(bad.problems[0]!.message, new RegExp(`Block bitmap differences: {2}-${gd.dataStart + 100}$`));
    const fixed = await fsck(io, { repair: true, force: true, now: NOW });
    assert.equal(fixed.exitCode, 1);
    assert.ok(fixed.problems.every((p) => p.fixed));
    assert.equal((await fsck(io, { repair: false, force: true, now: NOW })).exitCode, 0);
  });

  it('skips a clean file system without force, and gives exit 8 for something that is not ext2', async () => {
    const io = memoryImage(2 << 20);
    await newfs(io, { uuid: UUID, now: NOW });
    const r = await fsck(io, { repair: false, force: false, now: NOW });
    assert.equal(r.skipped, true);
    assert.equal(r.exitCode, 0);
    const junk = await fsck(memoryImage(1 << 20), { repair: false, force: true, now: NOW });
    assert.equal(junk.exitCode, 8);
    assert.match(junk.error ?? '', /s_magic 0x0000 is not 0xef53/);
  });

  it('never throws on an inode table full of garbage', async () => {
    const io = memoryImage(2 << 20);
    const r = await newfs(io, { uuid: UUID, now: NOW, inodesCount: 64 });
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    const table = r.layout.groups[0]!.inodeTable * 1024;
    for (let round = 0; round < 5; round++) {
      const copy = memoryImage(io.bytes.slice());
      for (let i = 0; i < 64 * 128; i++) copy.bytes[table + i] = rnd() & 0xff;
      for (const repair of [false, true]) {
        const res = await fsck(copy, { repair, force: true, now: NOW });
        assert.ok([0, 1, 4, 8].includes(res.exitCode), `exit ${res.exitCode}`);
      }
    }
  });
});

describe('newfs_ext2fs', { skip: skipE2fs }, () => {
  let dir = '';
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext2tools-newfs-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes the layout mke2fs makes, which e2fsck passes and dumpe2fs describes as asked', () => {
    const ours = path.join(dir, 'ours.img');
    const ref = path.join(dir, 'ref.img');
    const r = run('node', [bin('newfs_ext2fs'), '-q', '-b', '2048', '-I', '256', '-i', '8192', '-L', 'tools-test', '-U', '12345678-9abc-4def-8011-223344556677', '-m', '3', '-s', '40m', ours]);
    assert.equal(r.status, 0, r.out);
    assert.equal(run('e2fsck', ['-fn', ours]).status, 0);
    const mk = run('mke2fs', ['-q', '-F', '-t', 'ext2', '-O', '^resize_inode,^dir_index,^ext_attr', '-E', 'root_owner=0:0', '-b', '2048', '-I', '256', '-i', '8192', '-m', '3', ref, '40M']);
    assert.equal(mk.status, 0, mk.out);
    const dump = (f: string): string => run('dumpe2fs', [f]).out.split('\n')
      .filter((l) => !/UUID|time:|created|checked|Seed|mount options|volume name|Last write|^dumpe2fs/.test(l)).join('\n');
    assert.equal(dump(ours), dump(ref));
    const h = run('dumpe2fs', ['-h', ours]).out;
    assert.match(h, /Filesystem volume name: +tools-test/);
    assert.match(h, /Filesystem UUID: +12345678-9abc-4def-8011-223344556677/);
    assert.match(h, /Filesystem features: +filetype sparse_super large_file/);
    assert.match(h, /Block size: +2048/);
    assert.match(h, /Inode size:\s+256/);
  });

  it('makes revision 0 and dir_index file systems that e2fsck passes', () => {
    for (const args of [['-r', '0'], ['-O', 'dir_index', '-n', '100']]) {
      const f = path.join(dir, `v${args.join('')}.img`);
      const r = run('node', [bin('newfs_ext2fs'), '-q', ...args, '-s', '3m', f]);
      assert.equal(r.status, 0, r.out);
      assert.equal(run('e2fsck', ['-fn', f]).status, 0, args.join(' '));
    }
    assert.match(run('dumpe2fs', ['-h', path.join(dir, 'v-r0.img')]).out, /Filesystem revision #: +0/);
    assert.match(run('dumpe2fs', ['-h', path.join(dir, 'v-Odir_index-n100.img')]).out, /Filesystem features: +dir_index filetype sparse_super large_file/);
  });

  it('refuses bad flags with exit 2 and a message naming them', () => {
    const r = run('node', [bin('newfs_ext2fs'), '-O', 'extent', '-s', '1m', path.join(dir, 'x.img')]);
    assert.equal(r.status, 1);
    assert.match(r.out, /'extent' is not supported/);
    const u = run('node', [bin('newfs_ext2fs'), path.join(dir, 'missing.img')]);
    assert.equal(u.status, 2);
    assert.match(u.out, /give its size with -s/);
  });
});

describe('makefs -t ext2fs', { skip: skipE2fs }, () => {
  let dir = '', src = '', img = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext2tools-makefs-'));
    src = path.join(dir, 'src');
    img = path.join(dir, 'tree.img');
    fs.mkdirSync(path.join(src, 'a/b/c'), { recursive: true });
    fs.writeFileSync(path.join(src, 'small.txt'), 'small file\n');
    fs.writeFileSync(path.join(src, 'empty'), '');
    const big = Buffer.alloc(3 * 1024 * 1024 + 77);
    for (let i = 0; i + 4 <= big.length; i += 4096) big.writeUInt32LE(i ^ 0x5a5a5a5a, i); // double indirect at 1 KiB
    fs.writeFileSync(path.join(src, 'a/big.bin'), big);
    for (let i = 0; i < 150; i++) fs.writeFileSync(path.join(src, 'a/b', `f${i}`), `#${i}\n`);
    fs.writeFileSync(path.join(src, 'a/b/c/deep'), 'deep');
    fs.symlinkSync('small.txt', path.join(src, 'fast'));
    fs.symlinkSync('x/'.repeat(45) + 'target', path.join(src, 'slow'));
    fs.linkSync(path.join(src, 'small.txt'), path.join(src, 'a/hard'));
    spawnSync('mkfifo', [path.join(src, 'fifo')]);
    const sparse = fs.openSync(path.join(src, 'sparse'), 'w');
    fs.writeSync(sparse, Buffer.from('in the middle'), 0, 13, 20_000_000);
    fs.ftruncateSync(sparse, 40_000_000);
    fs.closeSync(sparse);
    fs.chmodSync(path.join(src, 'a/b/c'), 0o711);
    fs.chmodSync(path.join(src, 'small.txt'), 0o4640);
    fs.utimesSync(path.join(src, 'small.txt'), new Date('2001-02-03T04:05:06.789Z'), new Date('2002-03-04T05:06:07.123Z'));
    if (process.getuid?.() === 0) {
      fs.chownSync(path.join(src, 'small.txt'), 1234, 70000);
      spawnSync('mknod', [path.join(src, 'chr'), 'c', '4', '64']);
      spawnSync('mknod', [path.join(src, 'blk'), 'b', '300', '70000']);
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds an image e2fsck passes, sized from the tree', () => {
    const r = run('node', [bin('makefs'), '-t', 'ext2fs', '-o', 'isize=256,label=tree', img, src]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Calculated size of `.*tree\.img': \d+ bytes/);
    const size = fs.statSync(img).size;
    assert.ok(size < 12 * 1024 * 1024, `image of ${size} bytes for ~3.1 MiB of data and a 40 MB sparse file`);
    const e = run('e2fsck', ['-fn', img]);
    assert.equal(e.status, 0, e.out);
  });

  it('reads back every object through our ext2fs exactly as node:fs reads the source', async () => {
    const u = await ukfsMount({ image: img, readonly: true });
    const bad: string[] = [];
    try {
      const walk = (rel: string): string[] => fs.readdirSync(path.join(src, rel)).sort().flatMap((n) => {
        const r = rel === '' ? n : `${rel}/${n}`;
        return fs.lstatSync(path.join(src, r)).isDirectory() ? [r, ...walk(r)] : [r];
      });
      const names = walk('');
      assert.deepEqual((await u.readdir('/', { recursive: true })).filter((n) => !n.startsWith('lost+found')).sort(), [...names].sort());
      for (const rel of names) {
        const h = fs.lstatSync(path.join(src, rel), { bigint: true });
        const o = await u.lstat('/' + rel, { bigint: true });
        const same = (what: string, a: unknown, b: unknown): void => { if (a !== b) bad.push(`${rel} ${what}: image ${String(a)}, host ${String(b)}`); };
        same('mode', o.mode, h.mode);
        same('uid', o.uid, h.uid);
        same('gid', o.gid, h.gid);
        same('mtime ns', o.mtimeNs, h.mtimeNs); // (atime: makefs reading the files moved the host's)
        if (!h.isDirectory()) {
          same('size', o.size, h.size);
          same('nlink', o.nlink, h.nlink);
        }
        if (h.isFile() && h.size < 10_000_000n && !(await u.readFile('/' + rel)).equals(fs.readFileSync(path.join(src, rel)))) bad.push(`${rel}: contents differ`);
        if (h.isSymbolicLink()) same('target', await u.readlink('/' + rel), fs.readlinkSync(path.join(src, rel)));
        if (h.isCharacterDevice() || h.isBlockDevice()) {
          same('rdev', `${major(Number(o.rdev))}:${minor(Number(o.rdev))}`, `${Number(h.rdev >> 8n & 0xfffn)}:${Number((h.rdev & 0xffn) | ((h.rdev >> 12n) & ~0xffn))}`);
        }
      }
      assert.equal((await u.stat('/a/hard')).ino, (await u.stat('/small.txt')).ino);
      const sp = await u.stat('/sparse');
      assert.ok(sp.blocks <= 8, `the sparse file takes ${sp.blocks} sectors: its holes were not kept`);
      const fh = await u.open('/sparse');
      try {
        const b = Buffer.alloc(20);
        await fh.read(b, 0, 20, 20_000_000 - 3);
        assert.equal(b.toString('latin1'), '\0\0\0in the middle\0\0\0\0');
      } finally {
        await fh.close();
      }
    } finally {
      await u.unmount();
    }
    assert.deepEqual(bad, []);
  });

  it('is read back exactly by the Linux kernel through a loop mount (as root)', (t) => {
    const mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt, { recursive: true });
    if (process.getuid?.() !== 0) return t.skip('SKIPPED: loop mounts need root');
    const m = run('mount', ['-o', 'loop,ro', img, mnt]);
    if (m.status !== 0) return t.skip(`SKIPPED: the loop mount failed: ${m.out.trim()}`);
    try {
      // mode owner size(non-dirs) mtime(ns) link-target links(non-dirs), then contents
      const list = (root: string): string => run('sh', ['-c', `cd '${root}' && find . -path ./lost+found -prune -o \\( -type d -printf '%p %m %U %G %T@\\n' \\) -o \\( ! -type d -printf '%p %m %U %G %s %T@ %l %n\\n' \\) | sort`]).out;
      const want = list(src);
      assert.ok(want.split('\n').length > 150, `the listing of the source is short:\n${want}`);
      assert.equal(list(mnt), want);
      const diff = run('diff', ['-r', '--no-dereference', '-x', 'lost+found', src, mnt]);
      assert.equal(diff.out.split('\n').filter((l) => l !== '' && !/is a (fifo|character special file|block special file) while/.test(l)).join('\n'), '');
    } finally {
      run('umount', [mnt]);
    }
  });

  it('fails with ENOSPC naming what the tree needs when -s is too small', () => {
    const r = run('node', [bin('makefs'), '-s', '1m', path.join(dir, 'small.img'), src]);
    assert.equal(r.status, 1);
    assert.match(r.out, /the tree needs \d+ blocks of 1024 bytes and \d+ inodes; a 1048576-byte image holds/);
  });

  it('leaves the free blocks and inodes asked for, and sets every time with -T', async () => {
    const f = path.join(dir, 'free.img');
    const r = await makefs(async (size) => openImage(f, { create: size }), hostTree(path.join(src, 'a/b')), {
      uuid: UUID, now: NOW, freeBlocks: 500, freeFiles: 40, timestamp: 1_234_567_890, reservedPercent: 0,
    });
    assert.ok(r.superblock.s_free_blocks_count >= 500, `${r.superblock.s_free_blocks_count} free blocks`);
    assert.ok(r.superblock.s_free_inodes_count >= 40, `${r.superblock.s_free_inodes_count} free inodes`);
    assert.equal(run('e2fsck', ['-fn', f]).status, 0);
    assert.match(run('debugfs', ['-R', 'stat /f7', f]).out, /mtime: 0x499602d2/);
    assert.equal((await fsckFile(f, false)).exitCode, 0);
  });
});

describe('fsck_ext2fs against e2fsck', { skip: skipE2fs }, () => {
  let dir = '', src = '', base = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext2tools-fsck-'));
    src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'a/b/c'), { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'a/b', `f${i}`), 'x'.repeat(100 + i * 50));
    fs.writeFileSync(path.join(src, 'a/b/c/deep'), 'deep');
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(300_000, 7));
    fs.writeFileSync(path.join(src, 'small.txt'), 'small');
    fs.linkSync(path.join(src, 'small.txt'), path.join(src, 'a/hard'));
    base = path.join(dir, 'base.img');
    assert.equal(run('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-d', src, base, '4M']).status, 0);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds nothing wrong with clean images made by mke2fs (ext2 defaults, ext3, revision 0)', async () => {
    for (const args of [['-t', 'ext2'], ['-t', 'ext3', '-b', '4096'], ['-t', 'ext2', '-r', '0', '-O', '^dir_index']]) {
      const f = path.join(dir, 'clean.img');
      fs.rmSync(f, { force: true });
      assert.equal(run('mke2fs', ['-q', '-F', ...args, '-d', src, f, '8M']).status, 0);
      const r = await fsckFile(f, false);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.problems.map((p) => p.message).join('\n')}`);
      assert.deepEqual(r.problems, []);
    }
  });

  const cases: readonly string[] = [
    'freeb 600', 'sif /small.txt links_count 5', 'clri /small.txt', 'clri /a/b/c', 'unlink /a/b/c', 'ssv free_blocks_count 100',
    'set_bg 0 free_inodes_count 3', 'sif /a/b/f3 links_count 0', 'sif /a/b/f4 dtime 12345', 'sif /a/b/f5 block[0] 99999999',
    'sif /a/b/f6 blocks 50', 'sif /a/b/c size 5000',
  ];
  for (const c of cases) {
    it(`reports what e2fsck reports after debugfs '${c}', and -y leaves e2fsck nothing to fix`, async () => {
      const f = path.join(dir, 'case.img');
      fs.copyFileSync(base, f);
      const w = run('debugfs', ['-w', '-R', c, f]);
      assert.equal(w.status, 0, w.out);
      const e = run('e2fsck', ['-fn', f]);
      const ours = await fsckFile(f, false);
      assert.deepEqual(classes(ours), e2fsckClasses(e.out), `e2fsck said:\n${e.out}\nwe said:\n${ours.problems.map((p) => p.message).join('\n')}`);
      assert.equal(ours.exitCode, e.status);
      const fixed = await fsckFile(f, true);
      assert.equal(fixed.exitCode, 1, fixed.problems.filter((p) => !p.fixed).map((p) => p.message).join('\n'));
      const after = run('e2fsck', ['-fn', f]);
      assert.equal(after.status, 0, `after our -y, e2fsck said:\n${after.out}`);
    });
  }

  it('reports blocks claimed twice and leaves them (exit 4)', async () => {
    const f = path.join(dir, 'dup.img');
    fs.copyFileSync(base, f);
    // the last block of /big (debugfs 'blocks' lists them; its banner goes to stderr)
    const target = spawnSync('debugfs', ['-R', 'blocks /big', f], { encoding: 'utf8' }).stdout.trim().split(/\s+/).pop() ?? '';
    assert.match(target, /^\d+$/);
    assert.equal(run('debugfs', ['-w', '-R', `sif /a/b/f8 block[0] ${target}`, f]).status, 0);
    const ours = await fsckFile(f, false);
    assert.ok(classes(ours).includes('DUP_BLOCK'));
    assert.match(ours.problems.find((p) => p.code === 'DUP_BLOCK')!.message, new RegExp(`Multiply-claimed block\\(s\\) in inode \\d+: ${target}`));
    assert.equal((await fsckFile(f, true)).exitCode, 4);
  });

  it('the command line: -n by default, exit 4 with problems, 8 for ext4, 16 for usage', () => {
    const f = path.join(dir, 'cli.img');
    fs.copyFileSync(base, f);
    assert.equal(run('debugfs', ['-w', '-R', 'sif /small.txt links_count 9', f]).status, 0);
    const before = fs.readFileSync(f);
    const r = run('node', [bin('fsck_ext2fs'), '-f', f]);
    assert.equal(r.status, 4);
    assert.match(r.out, /Inode \d+ ref count is 9, should be 2\. {2}Fix\? no/);
    assert.match(r.out, /WARNING: Filesystem still has errors/);
    assert.ok(fs.readFileSync(f).equals(before), 'a check without -y changed the image');
    const y = run('node', [bin('fsck_ext2fs'), '-fy', f]);
    assert.equal(y.status, 1, y.out);
    assert.match(y.out, /FILE SYSTEM WAS MODIFIED/);
    assert.equal(run('node', [bin('fsck_ext2fs'), '-f', f]).status, 0);
    const e4 = path.join(dir, 'e4.img');
    assert.equal(run('mke2fs', ['-q', '-F', '-t', 'ext4', e4, '8M']).status, 0);
    const r4 = run('node', [bin('fsck_ext2fs'), e4]);
    assert.equal(r4.status, 8);
    assert.match(r4.out, /extent.* not supported by fsck_ext2fs/);
    assert.equal(run('node', [bin('fsck_ext2fs'), '-n', '-y', f]).status, 16);
  });
});
