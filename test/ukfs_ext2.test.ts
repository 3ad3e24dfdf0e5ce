/**
 * ukfs over ext2 images made by the host's mke2fs -d: every object of the source tree reads back
 * through ukfs exactly as node:fs reads it from the source directory (names, types, sizes, modes,
 * link counts, owners, times, contents, link targets), plus type detection and partitions. Write
 * operations are tested when ext2fs can write; until then the read-write mount must fail with
 * EROFS and say why. Skipped, saying so, without mke2fs.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ukfs, ukfsMount, detectFsType, listPartitions, locateFs, type Ukfs } from '../src/ukfs/index.js';
import { nodeHost } from '../src/rumpuser/node/index.js';

const HAVE_MKE2FS = spawnSync('sh', ['-c', 'command -v mke2fs'], { encoding: 'utf8' }).status === 0;

/** Relative paths of everything under `root` (node:fs's view). */
function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(path.join(root, rel)).sort()) {
    const r = rel === '' ? n : `${rel}/${n}`;
    out.push(r);
    if (fs.lstatSync(path.join(root, r)).isDirectory()) out.push(...walk(root, r));
  }
  return out;
}

describe('ukfs over an ext2 image made by mke2fs -d', { skip: HAVE_MKE2FS ? false : 'SKIPPED: mke2fs (e2fsprogs) is not installed' }, () => {
  let dir = '';
  let src = '';
  let img = '';
  let u: Ukfs | null = null;
  let reason = '';

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ukfs-ext2-'));
    src = path.join(dir, 'src');
    img = path.join(dir, 'disk.img');
    fs.mkdirSync(path.join(src, 'a/b/c'), { recursive: true });
    fs.writeFileSync(path.join(src, 'small.txt'), 'small file\n');
    fs.writeFileSync(path.join(src, 'empty'), '');
    const big = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i); // double-indirect blocks at 1 KiB
    fs.writeFileSync(path.join(src, 'a/big.bin'), big);
    fs.writeFileSync(path.join(src, 'a/b/c/deep'), 'deep');
    for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(src, 'a/b', `file-${String(i).padStart(3, '0')}`), `#${i}`);
    fs.chmodSync(path.join(src, 'small.txt'), 0o604);
    fs.chmodSync(path.join(src, 'a/b/c'), 0o711);
    fs.symlinkSync('small.txt', path.join(src, 'fast-link'));
    fs.symlinkSync('a/'.repeat(40) + 'target', path.join(src, 'slow-link')); // > 60 bytes: a block
    fs.linkSync(path.join(src, 'small.txt'), path.join(src, 'a/hard'));
    fs.utimesSync(path.join(src, 'small.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2002-03-04T05:06:07Z'));
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-d', src, img, '16M'], { stdio: 'pipe' });
    try {
      u = await ukfsMount({ image: img, readonly: true });
    } catch (e) {
      reason = `SKIPPED: no fs component mounts the ext2 image yet: ${(e as Error).message}`;
      console.log(reason);
    }
  });

  after(async () => {
    await u?.unmount();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('detects ext2 and mounts it as ext2fs', async (t) => {
    assert.equal(await detectFsType(nodeHost(), img), 'ext2fs');
    if (u === null) return t.skip(reason);
    assert.equal(u.fstype, 'ext2fs');
    assert.equal(u.image, img);
    const vs = await u.statvfs();
    assert.equal(vs.fstypename, 'ext2fs');
    assert.equal(vs.mntfromname, img);
    assert.equal(vs.bsize, 1024);
    const sf = await u.statfs('/');
    assert.equal(sf.type, 0xef53, 'statfs type is the Linux ext2 magic, as Node reports it');
  });

  it('reads every object as node:fs reads the source tree', async (t) => {
    if (u === null) return t.skip(reason);
    const mismatches: string[] = [];
    const same = (what: string, a: unknown, b: unknown): void => {
      try {
        assert.deepStrictEqual(a, b);
      } catch {
        mismatches.push(`${what}: ukfs ${JSON.stringify(a)} node ${JSON.stringify(b)}`);
      }
    };
    const names = walk(src);
    same('tree', (await u.readdir('/', { recursive: true })).filter((n) => !n.startsWith('lost+found')).sort(), names);
    for (const rel of names) {
      const h = fs.lstatSync(path.join(src, rel));
      const o = await u.lstat('/' + rel);
      same(`${rel} type`, [o.isFile(), o.isDirectory(), o.isSymbolicLink()], [h.isFile(), h.isDirectory(), h.isSymbolicLink()]);
      same(`${rel} mode`, o.mode.toString(8), h.mode.toString(8));
      same(`${rel} owner`, [o.uid, o.gid], [h.uid, h.gid]);
      same(`${rel} mtime (s)`, Math.floor(o.mtimeMs / 1000), Math.floor(h.mtimeMs / 1000));
      if (!h.isDirectory()) {
        same(`${rel} size`, o.size, h.size);
        same(`${rel} nlink`, o.nlink, h.nlink);
      }
      if (h.isFile()) {
        const a = await u.readFile('/' + rel), b = fs.readFileSync(path.join(src, rel));
        if (!a.equals(b)) mismatches.push(`${rel}: contents differ (${a.length} vs ${b.length} bytes)`);
      }
      if (h.isSymbolicLink()) same(`${rel} target`, await u.readlink('/' + rel), fs.readlinkSync(path.join(src, rel)));
      if (h.isDirectory()) {
        const ud = (await u.readdir('/' + rel, { withFileTypes: true })).map((d) => `${d.name}:${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}`).sort();
        const hd = (await fsp.readdir(path.join(src, rel), { withFileTypes: true })).map((d) => `${d.name}:${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}`).sort();
        same(`${rel} entries`, ud, hd);
      }
    }
    assert.equal(mismatches.length, 0, mismatches.join('\n'));
  });

  it('reads with positions, streams and hard links like a host file system', async (t) => {
    if (u === null) return t.skip(reason);
    const big = fs.readFileSync(path.join(src, 'a/big.bin'));
    const fh = await u.open('/a/big.bin');
    try {
      const b = Buffer.alloc(10_000);
      const { bytesRead } = await fh.read(b, 0, b.length, 3_000_000);
      assert.equal(bytesRead, 10_000);
      assert.ok(b.equals(big.subarray(3_000_000, 3_010_000)));
      assert.equal((await fh.stat()).size, big.length);
    } finally {
      await fh.close();
    }
    const chunks: Buffer[] = [];
    for await (const c of u.createReadStream('/a/big.bin', { start: 1000, end: 2_000_999 })) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(big.subarray(1000, 2_001_000)));
    assert.equal((await u.stat('/a/hard')).ino, (await u.stat('/small.txt')).ino);
    assert.equal(await u.realpath('/fast-link'), '/small.txt');
    assert.equal((await u.stat('/small.txt')).mtime.toISOString(), '2002-03-04T05:06:07.000Z');
  });

  it('gives Node errors for missing files and refuses writes on the read-only mount', async (t) => {
    if (u === null) return t.skip(reason);
    await assert.rejects(u.readFile('/nope'), { code: 'ENOENT', syscall: 'open', path: '/nope', errno: -2 });
    await assert.rejects(u.readdir('/small.txt'), { code: 'ENOTDIR', syscall: 'scandir' });
    await assert.rejects(u.writeFile('/new', 'x'), { code: 'EROFS', syscall: 'open' });
    await assert.rejects(u.unlink('/small.txt'), { code: 'EROFS', syscall: 'unlink' });
    await assert.rejects(u.access('/small.txt', u.constants.W_OK), { code: 'EROFS', syscall: 'access' });
  });

  it('mounts read-write, or fails with EROFS naming why', async (t) => {
    if (u === null) return t.skip(reason);
    const copy = path.join(dir, 'rw.img');
    fs.copyFileSync(img, copy);
    let w: Ukfs;
    try {
      w = await ukfs.mount('ext2fs', copy);
    } catch (e) {
      const x = e as { code?: string; syscall?: string; detail?: string };
      assert.equal(x.code, 'EROFS');
      assert.equal(x.syscall, 'mount');
      assert.match(x.detail ?? '', /writ/);
      t.skip(`SKIPPED: ext2fs cannot write yet (${x.detail ?? ''})`);
      return;
    }
    try {
      await w.mkdir('/new/dir', { recursive: true });
      await w.writeFile('/new/dir/f', 'written by ukfs');
      await w.rename('/small.txt', '/new/moved.txt');
      await w.rm('/a/b', { recursive: true });
    } finally {
      await w.unmount();
    }
    const fsck = spawnSync('e2fsck', ['-fn', copy], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `e2fsck:\n${fsck.stdout}${fsck.stderr}`);
    const again = await ukfsMount({ image: copy, readonly: true });
    try {
      assert.equal(await again.readFile('/new/dir/f', 'utf8'), 'written by ukfs');
      assert.equal(await again.readFile('/new/moved.txt', 'utf8'), 'small file\n');
      await assert.rejects(again.stat('/a/b'), { code: 'ENOENT' });
    } finally {
      await again.unmount();
    }
  });

  it('finds the file system in a partition of a whole-disk image', async (t) => {
    const disk = path.join(dir, 'disk-mbr.img');
    const fsImg = fs.readFileSync(img);
    const mbr = Buffer.alloc(1 << 20);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(fsImg.length / 512, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    fs.writeFileSync(disk, Buffer.concat([mbr, fsImg]));
    const host = nodeHost();
    assert.deepEqual(await listPartitions(host, disk), [{ index: 1, scheme: 'mbr', offset: 1 << 20, size: fsImg.length, type: '83' }]);
    const found = await locateFs(host, disk);
    assert.equal(found.fstype, 'ext2fs');
    assert.equal(found.offset, 1 << 20);
    assert.equal(found.partition, 1);
    if (u === null) return t.skip(reason);
    const p = await ukfsMount({ image: disk, readonly: true });
    try {
      assert.equal(await p.readFile('/a/b/c/deep', 'utf8'), 'deep');
    } finally {
      await p.unmount();
    }
    const q = await ukfsMount({ image: disk, readonly: true, partition: 1 });
    await q.unmount();
    await assert.rejects(ukfsMount({ image: disk, readonly: true, partition: 2 }), { code: 'ENXIO', syscall: 'mount' });
  });

  it('recognises nothing in a blank image and says so', async () => {
    const blank = path.join(dir, 'blank.img');
    fs.writeFileSync(blank, Buffer.alloc(256 * 1024));
    assert.equal(await detectFsType(nodeHost(), blank), null);
    await assert.rejects(ukfsMount({ image: blank }), (e: { code?: string; syscall?: string; path?: string; detail?: string }) =>
      e.code === 'EFTYPE' && e.syscall === 'mount' && e.path === blank && /no known file system/.test(e.detail ?? ''));
  });
});
