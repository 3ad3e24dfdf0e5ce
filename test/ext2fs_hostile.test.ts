/**
 * ext2fs against corrupt and hostile images: each defect, made with debugfs or by patching bytes
 * of an mke2fs image, gives an errno and a message naming the structure, never a crash or a
 * hang, and the rest of the file system stays readable.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KernelError } from '../src/kern/errno.js';
import { MNT_RDONLY, O_DIRECTORY, O_RDONLY } from '../src/kern/types.js';
import type { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { parseDirBlock } from '../src/fs/ext2fs/dir_entry.js';
import {
  blockSizeOf, bootWithImage, debugfsRead, debugfsWrite, dumpe2fsHeader, fileBlocks, makeImage, mountImage, patchImage, pattern,
  requireTools, type E2fsprogs, type ImageOptions,
} from './fixtures/ext2fs_images.js';

function errno(code: string, ...words: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `message '${e.message}' should mention '${w}'`);
    return true;
  };
}

let work = '';
let src = '';
let serial = 0;

/** A small tree: a file needing an indirect block with 1 KiB blocks, nested dirs, an indexed directory. */
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ext2fs-hostile-'));
  src = join(work, 'src');
  mkdirSync(join(src, 'dir/sub/deeper'), { recursive: true });
  mkdirSync(join(src, 'dir/empty-dir'), { recursive: true });
  mkdirSync(join(src, 'big'));
  writeFileSync(join(src, 'one'), 'x');
  writeFileSync(join(src, 'f4096'), pattern(4096, 1));
  writeFileSync(join(src, 'f300k'), pattern(300_000, 2));
  writeFileSync(join(src, 'dir/sub/deeper/file.txt'), 'deep\n');
  writeFileSync(join(src, 'dir/sub/other'), 'other\n');
  for (let i = 0; i < 400; i++) writeFileSync(join(src, 'big', `name-${'y'.repeat(60)}-${i}`), '');
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

const EXT2: ImageOptions = { type: 'ext2', blockSize: 1024, inodeSize: 128, sizeMiB: 8 };
const EXT4: ImageOptions = { type: 'ext4', blockSize: 4096, sizeMiB: 16 };

/** An image of the small tree (checked by e2fsck), then damaged by `cmds` (debugfs -w). */
function image(tools: E2fsprogs, o: ImageOptions = EXT2, cmds: string[] = []): string {
  const img = join(work, `img${serial++}.img`);
  makeImage(tools, src, img, o);
  if (cmds.length > 0) debugfsWrite(tools, img, cmds);
  return img;
}

/** The entries of the first block of directory `path` in `img`, and where that block is. */
function dirBlockOf(tools: E2fsprogs, img: string, path: string): { at: number; entries: ReturnType<typeof parseDirBlock> } {
  const bs = blockSizeOf(tools, img);
  const [blk] = fileBlocks(tools, img, path);
  const block = new Uint8Array(readFileSync(img).subarray(blk! * bs, (blk! + 1) * bs));
  return { at: blk! * bs, entries: parseDirBlock(block, { filetype: true, maxIno: 1 << 30 }) };
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

function u16(v: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, true);
  return b;
}

const named = (es: ReturnType<typeof parseDirBlock>, n: string) => es.find((e) => new TextDecoder().decode(e.name) === n)!;

/** Mount must fail with `code` naming `words`; the device is released afterwards. */
async function mountFails(img: string, code: string, ...words: string[]): Promise<void> {
  const { k, l } = await bootWithImage(img);
  try {
    await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno(code, ...words));
    assert.equal(k.vfs!.devsw.isOpen((await k.sys.stat(l, '/dev/img')).rdev), false, 'the failed mount closed the device');
  } finally {
    await k.halt();
  }
}

/** Everything the tree has that `broken` does not touch still reads back. */
async function stillReadable(k: Kernel, l: Lwp, skip: string[] = []): Promise<void> {
  for (const [p, size] of [['/mnt/one', 1], ['/mnt/f4096', 4096], ['/mnt/f300k', 300_000], ['/mnt/dir/sub/deeper/file.txt', 5]] as const) {
    if (skip.includes(p)) continue;
    const fd = await k.sys.open(l, p, O_RDONLY, 0);
    const buf = new Uint8Array(size + 10);
    assert.equal(await k.sys.read(l, fd, buf), size, p);
    await k.sys.close(l, fd);
  }
}

async function readAll(k: Kernel, l: Lwp, p: string): Promise<number> {
  const fd = await k.sys.open(l, p, O_RDONLY, 0);
  try {
    let total = 0;
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await k.sys.read(l, fd, buf);
      if (n === 0) return total;
      total += n;
    }
  } finally {
    await k.sys.close(l, fd);
  }
}

async function listAll(k: Kernel, l: Lwp, p: string): Promise<string[]> {
  const fd = await k.sys.open(l, p, O_RDONLY | O_DIRECTORY, 0);
  try {
    const out: string[] = [];
    for (;;) {
      const es = await k.sys.getdents(l, fd, 100);
      if (es.length === 0) return out;
      out.push(...es.map((e) => e.name));
    }
  } finally {
    await k.sys.close(l, fd);
  }
}

describe('ext2fs refuses images it cannot mount, naming why', () => {
  it('a bad superblock magic number is EFTYPE naming s_magic', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    patchImage(img, 1024 + 0x38, new Uint8Array([0x34, 0x12]));
    await mountFails(img, 'EFTYPE', 's_magic', '0x1234');
  });

  it('an image shorter than its block count is EFTYPE naming s_blocks_count and the device size', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    truncateSync(img, statSync(img).size / 2);
    await mountFails(img, 'EFTYPE', 's_blocks_count', 'more than the device holds');
  });

  it('a device too small for a superblock is EFTYPE', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = join(work, 'tiny.img');
    writeFileSync(img, new Uint8Array(1500));
    await mountFails(img, 'EFTYPE', 'too small');
  });

  it('inconsistent counts are EFTYPE naming the field', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    debugfsWrite(tools, img, ['ssv inodes_count 12345']);
    await mountFails(img, 'EFTYPE', 's_inodes_count');
  });

  it('unknown and unsupported incompatible features are EFTYPE naming each one', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['feature FEATURE_I31']);
    await mountFails(img, 'EFTYPE', 'FEATURE_I31');
    const img2 = image(tools, EXT2, ['feature inline_data', 'feature compression']);
    await mountFails(img2, 'EFTYPE', 'inline_data', 'compression');
  });

  it('a group descriptor whose inode table lies outside the file system fails the mount with EIO naming it', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['set_bg 0 inode_table 99999']);
    await mountFails(img, 'EIO', 'group 0', 'inode table', '99999');
  });
});

describe('ext2fs reports corruption found after mounting as EIO naming the structure', () => {
  it('a directory entry with rec_len 0 makes readdir and lookup in that directory EIO naming the inode and offset', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    const bs = blockSizeOf(tools, img);
    const [blk] = fileBlocks(tools, img, '/dir/sub');
    const ino = Number(/Inode: (\d+)/.exec(debugfsRead(tools, img, 'stat /dir/sub'))![1]);
    patchImage(img, blk! * bs + 12 + 4, new Uint8Array([0, 0])); // rec_len of '..'
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      await assert.rejects(listAll(k, l, '/mnt/dir/sub'), errno('EIO', `directory inode ${ino}`, 'offset 12', 'rec_len 0'));
      await assert.rejects(k.sys.stat(l, '/mnt/dir/sub/other'), errno('EIO', 'rec_len 0'));
      assert.deepEqual((await listAll(k, l, '/mnt/dir')).sort(), ['.', '..', 'empty-dir', 'sub']);
      await stillReadable(k, l, ['/mnt/dir/sub/deeper/file.txt']);
    } finally {
      await m.halt();
    }
  });

  it('a directory entry crossing its block or naming an inode past the last one is EIO', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    const d1 = dirBlockOf(tools, img, '/dir/sub');
    const last = d1.entries[d1.entries.length - 1]!;
    patchImage(img, d1.at + last.offset + 4, u16(last.rec_len + 4));
    const img2 = image(tools);
    const d2 = dirBlockOf(tools, img2, '/dir/sub');
    patchImage(img2, d2.at + named(d2.entries, 'other').offset, u32(0x00ffffff));
    for (const [i, words] of [[img, ['crosses the end']], [img2, ['inode 16777215', 'beyond the last inode']]] as const) {
      const m = await mountImage(i);
      try {
        await assert.rejects(listAll(m.k, m.l, '/mnt/dir/sub'), errno('EIO', ...words));
        await stillReadable(m.k, m.l, ['/mnt/dir/sub/deeper/file.txt']);
      } finally {
        await m.halt();
      }
    }
  });

  it('a data block pointer beyond the device makes reads EIO naming the inode and block, while stat still works', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['sif /f4096 block[2] 99999999', 'sif /f300k block[IND] 88888888']);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const ino = (await k.sys.stat(l, '/mnt/f4096')).ino;
      assert.equal((await k.sys.stat(l, '/mnt/f4096')).size, 4096);
      await assert.rejects(readAll(k, l, '/mnt/f4096'), errno('EIO', `inode ${ino}`, 'logical block 2', '99999999', 'beyond the end'));
      // the first two blocks are fine
      const fd = await k.sys.open(l, '/mnt/f4096', O_RDONLY, 0);
      assert.equal(await k.sys.pread(l, fd, new Uint8Array(2048), 0), 2048);
      await k.sys.close(l, fd);
      await assert.rejects(readAll(k, l, '/mnt/f300k'), errno('EIO', '88888888', 'indirect'));
      await stillReadable(k, l, ['/mnt/f4096', '/mnt/f300k']);
    } finally {
      await m.halt();
    }
  });

  it('a corrupt extent header or an extent beyond the device makes reads EIO naming the inode', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    // i_block of an extent inode: header (block[0..2]), then the first extent: block[3] lblk, block[4] len|start_hi, block[5] start_lo
    const img = image(tools, EXT4, ['sif /f4096 block[0] 0', 'sif /f300k block[5] 999999999']);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const ino = (await k.sys.stat(l, '/mnt/f4096')).ino;
      await assert.rejects(readAll(k, l, '/mnt/f4096'), errno('EIO', `inode ${ino}`, 'eh_magic'));
      await assert.rejects(readAll(k, l, '/mnt/f300k'), errno('EIO', 'outside the file system'));
      await stillReadable(k, l, ['/mnt/f4096', '/mnt/f300k']);
    } finally {
      await m.halt();
    }
  });

  it('a directory entry naming a free inode, or an inode of no known type, is EIO', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['sif /one links_count 0', 'sif /f4096 mode 0170644']);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      await assert.rejects(k.sys.stat(l, '/mnt/one'), errno('EIO', 'referenced but free'));
      await assert.rejects(k.sys.stat(l, '/mnt/f4096'), errno('EIO', 'unknown file type'));
      assert.equal(await readAll(k, l, '/mnt/f300k'), 300_000);
    } finally {
      await m.halt();
    }
  });

  it('an entry pointing into the unused part of an inode table (uninit_bg) is EIO', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, { type: 'ext4', blockSize: 1024, sizeMiB: 16 });
    const h = dumpe2fsHeader(tools, img);
    const ipg = Number(h.get('Inodes per group'));
    assert.ok(Number(h.get('Inode count')) > ipg, 'the fixture has more than one group');
    const d = dirBlockOf(tools, img, '/dir/sub');
    patchImage(img, d.at + named(d.entries, 'other').offset, u32(ipg + 5)); // group 1: its inode table is unused
    const m = await mountImage(img);
    try {
      await assert.rejects(m.k.sys.stat(m.l, '/mnt/dir/sub/other'), errno('EIO', `inode ${ipg + 5}`, 'unused part'));
    } finally {
      await m.halt();
    }
  });

  it('a corrupt hash tree root falls back to scanning the directory, and every name is still found', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools);
    assert.match(debugfsRead(tools, img, 'htree /big'), /Indirect levels/, 'the fixture directory is indexed');
    const bs = blockSizeOf(tools, img);
    const [blk] = fileBlocks(tools, img, '/big');
    patchImage(img, blk! * bs + 0x1d, new Uint8Array([12])); // info_length
    const m = await mountImage(img);
    try {
      const { k, l, fs } = m;
      for (let i = 0; i < 400; i += 37) assert.equal((await k.sys.stat(l, `/mnt/big/name-${'y'.repeat(60)}-${i}`)).size, 0);
      await assert.rejects(k.sys.stat(l, '/mnt/big/absent'), errno('ENOENT'));
      assert.ok(fs.stats.htreeFallbacks > 0);
      assert.equal(fs.stats.htreeLookups, 0);
    } finally {
      await m.halt();
    }
  });

  it('a directory claiming a size of 4 GB over holes is listed quickly', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['sif /dir/empty-dir size 4000000000']);
    const m = await mountImage(img);
    try {
      const t0 = Date.now();
      assert.deepEqual((await listAll(m.k, m.l, '/mnt/dir/empty-dir')).sort(), ['.', '..']);
      await assert.rejects(m.k.sys.stat(m.l, '/mnt/dir/empty-dir/x'), errno('ENOENT'));
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    } finally {
      await m.halt();
    }
  });

  it('a hard-linked directory loop can be walked through without hanging', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['link /dir /dir/sub/deeper/up']);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const a = await k.sys.stat(l, '/mnt/dir/sub');
      const b = await k.sys.stat(l, '/mnt/dir/sub/deeper/up/sub/deeper/up/sub');
      assert.equal(b.ino, a.ino);
      assert.deepEqual((await listAll(k, l, '/mnt/dir/sub/deeper/up')).sort(), ['.', '..', 'empty-dir', 'sub']);
    } finally {
      await m.halt();
    }
  });

  it('a slow symbolic link longer than a block is EIO rather than a large allocation', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = image(tools, EXT2, ['symlink /lnk ' + 'z'.repeat(100), 'sif /lnk size 3000000000']);
    const m = await mountImage(img);
    try {
      await assert.rejects(m.k.sys.readlink(m.l, '/mnt/lnk'), errno('EIO', 'longer than a block'));
    } finally {
      await m.halt();
    }
  });
});
