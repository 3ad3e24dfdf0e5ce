/**
 * ffs against corrupt and hostile images: each defect, made by patching bytes of a makefs image,
 * gives an errno and a message naming the structure, never a crash or a hang, and the rest of the
 * file system stays readable. Also the mount-time refusals and warnings (WAPBL log, unclean file
 * system, unknown flags) and zeroed block pointers reading as holes.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KernelError } from '../src/kern/errno.js';
import { MNT_RDONLY, O_DIRECTORY, O_RDONLY } from '../src/kern/types.js';
import type { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { UFS1_DB_OFFSET, UFS2_DB_OFFSET } from '../src/fs/ffs/dinode.js';
import { parseDirBlock } from '../src/fs/ffs/dir.js';
import { FS_DOWAPBL, FS_MAGIC_OFFSET, cgtod, inoToCg, inoToFsba, inoToFsbo, type Geometry } from '../src/fs/ffs/superblock.js';
import { bootWithImage, imageSuperblock, makeImage, mountImage, patchImage, pattern, readImage, requireMakefs } from './fixtures/ffs_images.js';

function errno(code: string, ...words: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `message '${e.message}' should mention '${w}'`);
    return true;
  };
}

/** Every object of the small tree. */
const ALL_PATHS = ['.', 'a', 'a/sub', 'a/file', 'b', 'b/sub', 'b/file', 'c', 'c/sub', 'c/file', 'd', 'd/sub', 'd/file', 'one', 'f300k', 'f20k', 'slowlink'];

let work = '';
let src = '';
let serial = 0;

/** A small tree: directories (spread over cylinder groups by makefs), a file needing an indirect block, a slow symlink. */
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ffs-hostile-'));
  src = join(work, 'src');
  for (const d of ['a', 'b', 'c', 'd']) {
    mkdirSync(join(src, d, 'sub'), { recursive: true });
    writeFileSync(join(src, d, 'file'), `file in ${d}\n`);
  }
  writeFileSync(join(src, 'one'), 'x');
  writeFileSync(join(src, 'f300k'), pattern(300_000, 2));
  writeFileSync(join(src, 'f20k'), pattern(20_000, 3));
  symlinkSync(`${'x/'.repeat(100)}target`, join(src, 'slowlink'));
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** A fresh image of the small tree: 4 KiB blocks, 512-byte fragments, several cylinder groups. */
function image(makefs: string, version: 1 | 2 = 2, bigEndian = false): string {
  const img = join(work, `img${serial++}.img`);
  makeImage(makefs, src, img, { version, bigEndian, bsize: 4096, fsize: 512, size: 32 << 20 });
  return img;
}

interface Img {
  img: string;
  geo: Geometry;
  location: number;
}

function open(img: string): Img {
  const { geo, location } = imageSuperblock(img, statSync(img).size);
  return { img, geo, location };
}

/** Byte offset of inode `ino` in the image. */
function inodeOffset(g: Geometry, ino: number): number {
  return inoToFsba(g, ino) * g.fsize + inoToFsbo(g, ino) * g.dinodeSize;
}

function u32(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, le);
  return b;
}

function u16(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, le);
  return b;
}

/** A block pointer of the image's width. */
function ptr(g: Geometry, v: number): Uint8Array {
  if (g.ufs === 1) return u32(v, g.le);
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(v), g.le);
  return b;
}

/** Read a block pointer of inode `ino`: di_db[i] (i < 12) or di_ib[i - 12]. */
function readPtr(m: Img, ino: number, i: number): number {
  const g = m.geo;
  const at = inodeOffset(g, ino) + (g.ufs === 1 ? UFS1_DB_OFFSET : UFS2_DB_OFFSET) + i * g.ptrSize;
  const b = readImage(m.img, at, g.ptrSize);
  const dv = new DataView(b.buffer, b.byteOffset);
  return g.ufs === 1 ? dv.getInt32(0, g.le) : Number(dv.getBigInt64(0, g.le));
}

function writePtr(m: Img, ino: number, i: number, v: number): void {
  const g = m.geo;
  patchImage(m.img, inodeOffset(g, ino) + (g.ufs === 1 ? UFS1_DB_OFFSET : UFS2_DB_OFFSET) + i * g.ptrSize, ptr(g, v));
}

/** Inode numbers of paths, read through a mount of the undamaged image. */
async function inodes(img: string, paths: string[]): Promise<Map<string, number>> {
  const m = await mountImage(img);
  try {
    const out = new Map<string, number>();
    for (const p of paths) out.set(p, (await m.k.sys.lstat(m.l, `/mnt/${p}`)).ino);
    return out;
  } finally {
    await m.halt();
  }
}

async function readAll(k: Kernel, l: Lwp, path: string): Promise<Uint8Array> {
  const st = await k.sys.stat(l, path);
  const fd = await k.sys.open(l, path, O_RDONLY, 0);
  try {
    const b = new Uint8Array(Math.min(st.size, 1 << 20));
    const n = await k.sys.read(l, fd, b);
    return b.subarray(0, n);
  } finally {
    await k.sys.close(l, fd);
  }
}

async function readdirAll(k: Kernel, l: Lwp, path: string): Promise<string[]> {
  const fd = await k.sys.open(l, path, O_RDONLY | O_DIRECTORY, 0);
  try {
    const names: string[] = [];
    for (;;) {
      const e = await k.sys.getdents(l, fd, 100);
      if (e.length === 0) return names;
      names.push(...e.map((x) => x.name));
    }
  } finally {
    await k.sys.close(l, fd);
  }
}

/** The rest of the image still reads. */
async function stillReadable(k: Kernel, l: Lwp): Promise<void> {
  assert.deepEqual([...await readAll(k, l, '/mnt/f20k')], [...pattern(20_000, 3)], 'f20k still reads');
  assert.equal((await k.sys.stat(l, '/mnt/one')).size, 1);
}

describe('ffs refuses corrupt superblocks with EFTYPE naming the field', () => {
  it('an image without any superblock magic', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs));
    patchImage(m.img, m.location + FS_MAGIC_OFFSET, new Uint8Array(4));
    const { k, l } = await bootWithImage(m.img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'no FFS superblock', '65536, 8192, 0, 262144'));
    } finally {
      await k.halt();
    }
  });

  for (const [field, off, value, words] of [
    ['fs_bsize', 48, 3000, ['fs_bsize 3000', 'power of two']],
    ['fs_frag', 56, 3, ['fs_frag 3']],
    ['fs_ncg', 44, 0, ['fs_ncg 0']],
    ['fs_ipg', 184, 7, ['fs_ipg 7']],
    ['fs_dblkno', 20, 1, ['fs_dblkno 1']],
    ['fs_cssize', 156, 0x7fffffff, ['fs_cssize']],
    ['fs_maxsymlinklen', 1320, 500, ['fs_maxsymlinklen 500']],
  ] as const) {
    it(`a superblock whose ${field} is impossible`, async (t) => {
      const makefs = requireMakefs(t);
      if (makefs === null) return;
      const m = open(image(makefs));
      patchImage(m.img, m.location + off, u32(value, m.geo.le));
      const { k, l } = await bootWithImage(m.img);
      try {
        await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'ffs: /dev/img', ...words));
      } finally {
        await k.halt();
      }
    });
  }

  it('a device shorter than the file system', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 1));
    truncateSync(m.img, 20 << 20);
    const { k, l } = await bootWithImage(m.img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'larger than the device', `${20 << 20} bytes`));
    } finally {
      await k.halt();
    }
  });

  it('a UFS2 superblock not where its fs_sblockloc says (a backup) is not taken for the primary', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 2));
    const loc = new Uint8Array(8);
    new DataView(loc.buffer).setBigInt64(0, 65536n, m.geo.le);
    patchImage(m.img, m.location + 1000, loc);
    const { k, l } = await bootWithImage(m.img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'UFS2 superblock at byte 8192 says it belongs at byte 65536'));
    } finally {
      await k.halt();
    }
  });

  it('finds a big-endian UFS1 superblock and reads the image', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = await mountImage(image(makefs, 1, true));
    try {
      assert.equal(m.fs.geo.le, false);
      await stillReadable(m.k, m.l);
    } finally {
      await m.halt();
    }
  });
});

describe('ffs mount-time checks of the log, the clean flag and fs_flags', () => {
  it('refuses a WAPBL file system that was not cleanly unmounted (the log may need replay) and mounts a clean one', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs));
    const flagsOff = m.location + 1312;
    const cleanOff = m.location + 209;
    const flags = new DataView(readImage(m.img, flagsOff, 4).buffer).getUint32(0, m.geo.le);
    patchImage(m.img, flagsOff, u32(flags | FS_DOWAPBL, m.geo.le));
    patchImage(m.img, cleanOff, new Uint8Array([0]));
    const { k, l } = await bootWithImage(m.img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'WAPBL', 'replay'));
      patchImage(m.img, cleanOff, new Uint8Array([1]));
      await k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' });
      await stillReadable(k, l);
    } finally {
      await k.halt();
    }
  });

  it('warns on the console about a file system not cleanly unmounted, and about unknown flags', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs));
    patchImage(m.img, m.location + 209, new Uint8Array([0]));
    const flags = new DataView(readImage(m.img, m.location + 1312, 4).buffer).getUint32(0, m.geo.le);
    patchImage(m.img, m.location + 1312, u32(flags | 0x10000, m.geo.le));
    const messages: string[] = [];
    const mm = await mountImage(m.img, { messages });
    try {
      const text = messages.join('');
      assert.match(text, /not cleanly unmounted.*fsck_ffs/);
      assert.match(text, /unknown fs_flags 0x10000/);
      await stillReadable(mm.k, mm.l);
    } finally {
      await mm.halt();
    }
  });
});

describe('ffs corruption found after mount is EIO naming the structure', () => {
  it('a cylinder group with a bad magic number: its inodes fail, the others read', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs));
    assert.ok(m.geo.ncg > 1, `the image has ${m.geo.ncg} cylinder groups`);
    const inos = await inodes(m.img, ALL_PATHS);
    const victim = [...inos].find(([, ino]) => inoToCg(m.geo, ino) !== 0);
    assert.ok(victim !== undefined, 'makefs put an inode outside group 0');
    const c = inoToCg(m.geo, victim[1]);
    patchImage(m.img, cgtod(m.geo, c) * m.geo.fsize + 4, u32(0x12345, m.geo.le));
    const mm = await mountImage(m.img);
    try {
      await assert.rejects(mm.k.sys.lstat(mm.l, `/mnt/${victim[0]}`), errno('EIO', `cylinder group ${c}`, 'cg_magic'));
      const others = [...inos].filter(([, ino]) => inoToCg(m.geo, ino) !== c);
      assert.ok(others.length > 5);
      for (const [p, ino] of others) assert.equal((await mm.k.sys.lstat(mm.l, `/mnt/${p}`)).ino, ino, `${p} in another group still reads`);
    } finally {
      await mm.halt();
    }
  });

  it('a direct block pointer beyond the device: reads fail naming inode and block, stat still works', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 1));
    const ino = (await inodes(m.img, ['f300k'])).get('f300k')!;
    writePtr(m, ino, 3, 0x7fffff00);
    const mm = await mountImage(m.img);
    try {
      const { k, l } = mm;
      assert.equal((await k.sys.stat(l, '/mnt/f300k')).size, 300_000);
      const fd = await k.sys.open(l, '/mnt/f300k', O_RDONLY, 0);
      try {
        const b = new Uint8Array(4096);
        assert.equal(await k.sys.pread(l, fd, b, 0), 4096, 'block 0 reads');
        await assert.rejects(k.sys.pread(l, fd, b, 3 * 4096), errno('EIO', `inode ${ino}`, 'logical block 3', `fragment ${0x7fffff00}`));
      } finally {
        await k.sys.close(l, fd);
      }
      await stillReadable(k, l);
    } finally {
      await mm.halt();
    }
  });

  it('an indirect block pointer beyond the device (UFS2, 64-bit): EIO naming the indirect pointer', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 2, true));
    const ino = (await inodes(m.img, ['f300k'])).get('f300k')!;
    assert.notEqual(readPtr(m, ino, 12), 0, 'the file has a single indirect block');
    writePtr(m, ino, 12, 2 ** 40);
    const mm = await mountImage(m.img);
    try {
      await assert.rejects(readAll(mm.k, mm.l, '/mnt/f300k'), errno('EIO', `inode ${ino}`, 'level-1 indirect block pointer', 'logical block 12'));
      await stillReadable(mm.k, mm.l);
    } finally {
      await mm.halt();
    }
  });

  it('a zeroed block pointer is a hole: that block reads as zeros, the rest as written', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    for (const version of [1, 2] as const) {
      const m = open(image(makefs, version));
      const ino = (await inodes(m.img, ['f300k'])).get('f300k')!;
      writePtr(m, ino, 2, 0);
      // a hole in the indirect map too: block 12 + 5
      const ind = readPtr(m, ino, 12);
      patchImage(m.img, ind * m.geo.fsize + 5 * m.geo.ptrSize, ptr(m.geo, 0));
      const mm = await mountImage(m.img);
      try {
        const got = await readAll(mm.k, mm.l, '/mnt/f300k');
        const want = pattern(300_000, 2);
        want.fill(0, 2 * 4096, 3 * 4096);
        want.fill(0, 17 * 4096, 18 * 4096);
        assert.equal(got.length, want.length);
        assert.ok(Buffer.compare(got, want) === 0, `UFS${version}: holes read as zeros, everything else as written`);
      } finally {
        await mm.halt();
      }
    }
  });

  /** The byte offset of directory `path`'s first block and its entries' offsets there. */
  async function dirBlock(m: Img, path: string): Promise<number> {
    const ino = (await inodes(m.img, [path])).get(path)!;
    return readPtr(m, ino, 0) * m.geo.fsize;
  }

  /** The byte offset in the image of entry `name` of directory `dir` (in its first block). */
  async function entryOffset(m: Img, dir: string, name: string): Promise<number> {
    const at = await dirBlock(m, dir);
    const ents = parseDirBlock(readImage(m.img, at, 512), { le: m.geo.le, oldFormat: false, maxino: m.geo.maxino, what: dir, base: 0 });
    const e = ents.find((x) => new TextDecoder().decode(x.name) === name);
    assert.ok(e !== undefined, `${dir} has an entry ${name}`);
    return at + e.offset;
  }

  for (const [label, patch, words] of [
    ['a zero d_reclen', (at: number, le: boolean): [number, Uint8Array] => [at + 12 + 4, u16(0, le)], ['d_reclen 0']],
    ['a d_reclen running past its 512-byte block', (at: number, le: boolean): [number, Uint8Array] => [at + 12 + 4, u16(1024, le)], ['d_reclen 1024', 'past the end']],
    ['a d_ino out of range', (at: number, le: boolean): [number, Uint8Array] => [at + 24, u32(0x7ffffff0, le)], ['d_ino', 'out of range']],
    ['a d_namlen longer than its record', (at: number): [number, Uint8Array] => [at + 24 + 7, new Uint8Array([200])], ['too short']],
  ] as const) {
    it(`a directory entry with ${label}: lookup and readdir fail with EIO, other directories read`, async (t) => {
      const makefs = requireMakefs(t);
      if (makefs === null) return;
      const m = open(image(makefs));
      const at = await dirBlock(m, 'a');
      const [off, bytes] = patch(at, m.geo.le);
      patchImage(m.img, off, bytes);
      const mm = await mountImage(m.img);
      try {
        const { k, l } = mm;
        await assert.rejects(readdirAll(k, l, '/mnt/a'), errno('EIO', 'directory inode', ...words));
        await assert.rejects(k.sys.stat(l, '/mnt/a/file'), errno('EIO', ...words));
        assert.deepEqual((await readdirAll(k, l, '/mnt/b')).sort(), ['.', '..', 'file', 'sub']);
        await stillReadable(k, l);
      } finally {
        await mm.halt();
      }
    });
  }

  it('a directory entry naming an unused inode: EIO naming the inode', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    for (const version of [1, 2] as const) {
      const m = open(image(makefs, version));
      const used = new Set((await inodes(m.img, ALL_PATHS)).values());
      let victim = 3;
      while (used.has(victim)) victim++;
      const e = await entryOffset(m, 'a', 'file');
      patchImage(m.img, e, u32(victim, m.geo.le));
      const mm = await mountImage(m.img);
      try {
        await assert.rejects(mm.k.sys.stat(mm.l, '/mnt/a/file'), errno('EIO', `inode ${victim}`));
        await stillReadable(mm.k, mm.l);
      } finally {
        await mm.halt();
      }
    }
  });

  it('a directory cycle (an entry naming the root) resolves finitely', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs));
    patchImage(m.img, await entryOffset(m, 'a', 'sub'), u32(2, m.geo.le));
    const mm = await mountImage(m.img);
    try {
      const { k, l } = mm;
      const root = await k.sys.stat(l, '/mnt');
      assert.equal((await k.sys.stat(l, '/mnt/a/sub')).ino, root.ino, 'a/sub is now the root');
      assert.equal((await k.sys.stat(l, `/mnt${'/a/sub'.repeat(30)}/one`)).size, 1);
      assert.ok((await readdirAll(k, l, '/mnt/a/sub')).includes('f300k'));
      await stillReadable(k, l);
    } finally {
      await mm.halt();
    }
  });

  it('a symbolic link whose size is longer than MAXPATHLEN: readlink fails with EIO', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 1));
    const ino = (await inodes(m.img, ['slowlink'])).get('slowlink')!;
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, 5000n, m.geo.le);
    patchImage(m.img, inodeOffset(m.geo, ino) + 8, size);
    const mm = await mountImage(m.img);
    try {
      await assert.rejects(mm.k.sys.readlink(mm.l, '/mnt/slowlink'), errno('EIO', `inode ${ino}`, 'MAXPATHLEN'));
      await stillReadable(mm.k, mm.l);
    } finally {
      await mm.halt();
    }
  });

  it('an inode with an impossible size (past what the block map can address): EIO naming di_size', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 2));
    const ino = (await inodes(m.img, ['one'])).get('one')!;
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, 2n ** 62n, m.geo.le);
    patchImage(m.img, inodeOffset(m.geo, ino) + 16, size);
    const mm = await mountImage(m.img);
    try {
      await assert.rejects(mm.k.sys.stat(mm.l, '/mnt/one'), errno('EIO', `inode ${ino}`, 'di_size'));
      assert.equal((await mm.k.sys.stat(mm.l, '/mnt/f20k')).size, 20_000);
    } finally {
      await mm.halt();
    }
  });

  it('a free inode (mode 0) named by a directory entry: EIO saying it is free', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = open(image(makefs, 1));
    const ino = (await inodes(m.img, ['one'])).get('one')!;
    patchImage(m.img, inodeOffset(m.geo, ino), u16(0, m.geo.le));
    const mm = await mountImage(m.img);
    try {
      await assert.rejects(mm.k.sys.stat(mm.l, '/mnt/one'), errno('EIO', `inode ${ino}`, 'free'));
      assert.equal((await mm.k.sys.stat(mm.l, '/mnt/f20k')).size, 20_000);
    } finally {
      await mm.halt();
    }
  });

  it('survives random damage to the metadata area: every operation ends with data or an errno', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const base = open(image(makefs, 2));
    for (let seed = 1; seed <= 6; seed++) {
      const img = join(work, `fuzz${seed}.img`);
      copyFileSync(base.img, img);
      // scribble over the inode blocks and cylinder group of group 0 (not the superblock)
      const g = base.geo;
      const from = (g.cblkno) * g.fsize;
      const to = (g.dblkno) * g.fsize;
      const noise = pattern(to - from, seed);
      for (let i = 0; i < noise.length; i += 1 + (noise[i]! % 61)) patchImage(img, from + i, noise.subarray(i, i + 1));
      const { k, l } = await bootWithImage(img);
      try {
        try {
          await k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' });
        } catch (e) {
          assert.ok(e instanceof KernelError, `seed ${seed}: mount failed with ${String(e)}`);
          continue;
        }
        for (const p of ['/mnt', '/mnt/a', '/mnt/b/sub', '/mnt/f300k', '/mnt/slowlink', '/mnt/one']) {
          for (const op of [() => k.sys.stat(l, p), () => readdirAll(k, l, p), () => readAll(k, l, p), () => k.sys.readlink(l, p)]) {
            try {
              await op();
            } catch (e) {
              assert.ok(e instanceof KernelError, `seed ${seed}: ${p}: ${String(e)}`);
            }
          }
        }
      } finally {
        await k.halt();
      }
    }
  });
});
