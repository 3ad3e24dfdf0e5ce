/**
 * ext2fs read-only mounts against images made by the host's mke2fs (the oracle): every file,
 * directory, symbolic link, mode, owner, time and device number of a source tree reads back
 * exactly, across block sizes 1/2/4 KiB, inode sizes 128/256, revisions 0 and 1, with and without
 * hash-tree directories (three hash versions), ext3 with a clean journal, and ext4 with extents.
 * Skipped (with a message) when e2fsprogs is not installed.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readlinkSync, readSync, rmSync, truncateSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KernelError } from '../src/kern/errno.js';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_UNKNOWN, MNT_RDONLY, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_WRONLY,
  SEEK_SET, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, makedev,
} from '../src/kern/types.js';
import type { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { namei } from '../src/vfs/namei.js';
import { etfsRemove } from '../src/vfs/etfs.js';
import { Ext2Vnode } from '../src/fs/ext2fs/index.js';
import {
  bigDirNames, bootWithImage, pattern, debugfsRead, debugfsStats, debugfsWrite, dumpe2fsHeader, makeImage, makeSourceTree, mountImage, requireTools,
  SLOW_TARGET, TARGET_60, type DebugfsStat, type E2fsprogs, type ImageOptions,
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

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ext2fs-test-'));
  src = join(work, 'src');
  makeSourceTree(src);
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

const NSEC = 123456789;

/** debugfs edits applied to every image: owners (with high halves), times, device nodes. */
function edits(inode256: boolean): string[] {
  const cmds = [
    'sif /mode0600 uid 1234', 'sif /mode0600 gid 5678',
    'sif /mode0755 uid 100000', 'sif /mode0755 gid 70000',
    'sif /one mtime @1234567890', 'sif /one atime @1000000000',
    'mknod cdev c 8 1', 'mknod bdev b 259 65000',
  ];
  if (inode256) {
    cmds.push(`sif /one mtime_extra ${NSEC << 2}`);
    cmds.push('sif /f4097 mtime @4000000000'); // past 2038: debugfs sets the epoch bit
  }
  return cmds;
}

/** What the edits changed, by path relative to the image root. */
function expectedOverrides(inode256: boolean): Map<string, Partial<{ uid: number; gid: number; mtimeSec: number; mtimeNsec: number; atimeSec: number }>> {
  const m = new Map<string, Partial<{ uid: number; gid: number; mtimeSec: number; mtimeNsec: number; atimeSec: number }>>();
  m.set('mode0600', { uid: 1234, gid: 5678 });
  m.set('mode0755', { uid: 100000, gid: 70000 });
  m.set('one', { mtimeSec: 1234567890, mtimeNsec: inode256 ? NSEC : 0, atimeSec: 1000000000 });
  if (inode256) m.set('f4097', { mtimeSec: 4000000000 });
  return m;
}

interface Variant {
  label: string;
  o: ImageOptions;
  /** debugfs commands run before the edits (e.g. hash settings, applied by e2fsck -D). */
  pre?: string[];
  inode256: boolean;
  htree: boolean;
  filetype: boolean;
}

const VARIANTS: Variant[] = [
  { label: 'ext2 with 1 KiB blocks and 128-byte inodes', o: { type: 'ext2', blockSize: 1024, inodeSize: 128 }, inode256: false, htree: true, filetype: true },
  { label: 'ext2 revision 0 with 1 KiB blocks', o: { type: 'ext2', blockSize: 1024, revision: 0 }, inode256: false, htree: false, filetype: false },
  { label: 'ext2 with 2 KiB blocks and 256-byte inodes', o: { type: 'ext2', blockSize: 2048, inodeSize: 256 }, inode256: true, htree: true, filetype: true },
  { label: 'ext2 with 4 KiB blocks and no dir_index', o: { type: 'ext2', blockSize: 4096, inodeSize: 256, features: ['^dir_index'] }, inode256: true, htree: false, filetype: true },
  {
    label: 'ext2 with 4 KiB blocks and the unsigned tea hash', o: { type: 'ext2', blockSize: 4096, inodeSize: 256 },
    pre: ['ssv flags 2', 'ssv def_hash_version tea'], inode256: true, htree: true, filetype: true,
  },
  {
    label: 'ext2 with 1 KiB blocks and the legacy hash', o: { type: 'ext2', blockSize: 1024, inodeSize: 256 },
    pre: ['ssv def_hash_version legacy'], inode256: true, htree: true, filetype: true,
  },
  { label: 'ext3 with a clean journal and 4 KiB blocks', o: { type: 'ext3', blockSize: 4096 }, inode256: true, htree: true, filetype: true },
  { label: 'ext4 with 4 KiB blocks (extents, 64bit, flex_bg, metadata_csum)', o: { type: 'ext4', blockSize: 4096 }, inode256: true, htree: true, filetype: true },
  { label: 'ext4 with 1 KiB blocks (deeper extent trees)', o: { type: 'ext4', blockSize: 1024 }, inode256: true, htree: true, filetype: true },
  {
    label: 'ext4 with 64 KiB blocks', o: { type: 'ext4', blockSize: 65536, sizeMiB: 256, features: ['^has_journal'] },
    inode256: true, htree: true, filetype: true,
  },
];

/** A fresh image of variant `v` (for tests that change it). */
function buildImage(tools: E2fsprogs, v: Variant, name: string): string {
  const img = join(work, `${name}.img`);
  makeImage(tools, src, img, v.o, [...(v.pre ?? []), ...edits(v.inode256)]);
  return img;
}

const shared = new Map<Variant, string>();

/** The image of variant `v` shared by tests that only read it. */
function sharedImage(tools: E2fsprogs, v: Variant): string {
  let img = shared.get(v);
  if (img === undefined) {
    img = buildImage(tools, v, `shared-${VARIANTS.indexOf(v)}`);
    shared.set(v, img);
  }
  return img;
}

/** All bytes of a kernel file through read(2), in chunks of varying size. */
async function compareContents(k: Kernel, l: Lwp, kpath: string, hpath: string, size: number): Promise<void> {
  const fd = await k.sys.open(l, kpath, O_RDONLY, 0);
  const hfd = openSync(hpath, 'r');
  try {
    const chunks = [1 << 20, 4097, 200_000, 512];
    let pos = 0;
    for (let i = 0; ; i++) {
      const want = chunks[i % chunks.length]!;
      const kb = new Uint8Array(want);
      const n = await k.sys.read(l, fd, kb);
      const hb = new Uint8Array(want);
      const hn = readSync(hfd, hb, 0, want, pos);
      assert.equal(n, hn, `${kpath}: read at ${pos} returned ${n} bytes, the host file has ${hn}`);
      if (n === 0) break;
      if (Buffer.compare(kb.subarray(0, n), hb.subarray(0, n)) !== 0) {
        const at = kb.findIndex((b, j) => b !== hb[j]);
        assert.fail(`${kpath}: contents differ at byte ${pos + at}`);
      }
      pos += n;
    }
    assert.equal(pos, size, `${kpath}: read ${pos} bytes in all, size is ${size}`);
  } finally {
    closeSync(hfd);
    await k.sys.close(l, fd);
  }
}

/** Every entry of a kernel directory via getdents in batches of `batch`. */
async function listDir(k: Kernel, l: Lwp, path: string, batch = 64): Promise<{ name: string; ino: number; type: number }[]> {
  const fd = await k.sys.open(l, path, O_RDONLY | O_DIRECTORY, 0);
  const out: { name: string; ino: number; type: number }[] = [];
  try {
    for (;;) {
      const ents = await k.sys.getdents(l, fd, batch);
      if (ents.length === 0) break;
      out.push(...ents);
    }
  } finally {
    await k.sys.close(l, fd);
  }
  return out;
}

const DT_OF: Record<number, number> = { [S_IFREG]: DT_REG, [S_IFDIR]: DT_DIR, [S_IFLNK]: DT_LNK, [S_IFIFO]: DT_FIFO, [S_IFCHR]: DT_CHR, [S_IFBLK]: DT_BLK };

/** Walk the source tree and check every object against the mounted image. Returns how many were checked. */
async function compareTree(k: Kernel, l: Lwp, v: Variant, tools: E2fsprogs, img: string): Promise<number> {
  const over = expectedOverrides(v.inode256);
  let checked = 0;
  const crossCheck: string[] = ['/'];
  const walk = async (rel: string): Promise<void> => {
    const hdir = join(src, rel);
    const kdir = rel === '' ? '/mnt' : `/mnt/${rel}`;
    const hostNames = readdirSync(hdir).sort();
    const listed = await listDir(k, l, kdir, rel === 'big' ? 7 : 64);
    const names = listed.map((e) => e.name).filter((n) => n !== '.' && n !== '..');
    const extra = rel === '' ? ['bdev', 'cdev', 'lost+found'] : [];
    assert.deepEqual(names.sort(), [...hostNames, ...extra].sort(), `listing of ${kdir}`);
    assert.equal(listed.filter((e) => e.name === '.').length, 1, `${kdir} lists '.' once`);
    assert.equal(listed.filter((e) => e.name === '..').length, 1, `${kdir} lists '..' once`);
    let subdirs = 0;
    for (const name of hostNames) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const hp = join(src, r);
      const kp = `/mnt/${r}`;
      const hs = lstatSync(hp);
      const ks = await k.sys.lstat(l, kp);
      const o = over.get(r) ?? {};
      const fmt = hs.mode & S_IFMT;
      if (!r.startsWith('big/')) crossCheck.push(`/${r}`);
      assert.equal(ks.mode & S_IFMT, fmt, `${kp}: file type`);
      assert.equal(ks.mode & 0o7777, hs.mode & 0o7777, `${kp}: permission bits`);
      assert.equal(ks.uid, o.uid ?? hs.uid, `${kp}: owner`);
      assert.equal(ks.gid, o.gid ?? hs.gid, `${kp}: group`);
      assert.equal(ks.mtimeSec, o.mtimeSec ?? Math.floor(hs.mtimeMs / 1000), `${kp}: mtime seconds`);
      assert.equal(ks.mtimeNsec, o.mtimeNsec ?? 0, `${kp}: mtime nanoseconds (mke2fs -d stores whole seconds)`);
      if (o.atimeSec !== undefined) assert.equal(ks.atimeSec, o.atimeSec, `${kp}: atime`);
      const ent = listed.find((e) => e.name === name)!;
      assert.equal(ent.ino, ks.ino, `${kp}: getdents and stat agree on the inode number`);
      assert.equal(ent.type, v.filetype ? DT_OF[fmt] : DT_UNKNOWN, `${kp}: dirent type`);
      if (fmt === S_IFDIR) {
        subdirs++;
        await walk(r);
      } else {
        assert.equal(ks.nlink, hs.nlink, `${kp}: link count`);
        if (fmt === S_IFREG) {
          assert.equal(ks.size, hs.size, `${kp}: size`);
          await compareContents(k, l, kp, hp, hs.size);
        } else if (fmt === S_IFLNK) {
          assert.equal(ks.size, hs.size, `${kp}: symlink length`);
          assert.equal(await k.sys.readlink(l, kp), readlinkSync(hp), `${kp}: symlink target`);
        }
      }
      checked++;
    }
    const ds = await k.sys.lstat(l, kdir);
    assert.equal(ds.nlink, 2 + subdirs + (rel === '' ? 1 : 0), `${kdir}: directory link count (2 + subdirectories)`);
  };
  await walk('');
  // what debugfs reads from the same inodes: numbers, sizes, links, blocks, all four times
  const dbg = debugfsStats(tools, img, [...crossCheck, '/cdev', '/bdev', '/lost+found']);
  assert.equal(dbg.size, crossCheck.length + 3, 'debugfs answered for every path');
  for (const [p, d] of dbg) {
    const kp = p === '/' ? '/mnt' : `/mnt${p}`;
    const ks = await k.sys.lstat(l, kp);
    assert.equal(ks.ino, d.ino, `${kp}: inode number`);
    assert.equal(ks.mode & 0o7777, d.mode, `${kp}: mode`);
    assert.equal(ks.uid, d.uid, `${kp}: uid`);
    assert.equal(ks.gid, d.gid, `${kp}: gid`);
    assert.equal(ks.size, d.size, `${kp}: size`);
    assert.equal(ks.nlink, d.links, `${kp}: links`);
    assert.equal(ks.blocks, d.blockcount, `${kp}: blocks`);
    assert.equal(ks.gen, d.generation, `${kp}: generation`);
    assert.deepEqual([ks.atimeSec, ks.atimeNsec], [d.atime.sec, d.atime.nsec], `${kp}: atime`);
    assert.deepEqual([ks.mtimeSec, ks.mtimeNsec], [d.mtime.sec, d.mtime.nsec], `${kp}: mtime`);
    assert.deepEqual([ks.ctimeSec, ks.ctimeNsec], [d.ctime.sec, d.ctime.nsec], `${kp}: ctime`);
    const birth = d.crtime ?? { sec: 0, nsec: 0 };
    assert.deepEqual([ks.birthtimeSec, ks.birthtimeNsec], [birth.sec, birth.nsec], `${kp}: birth time`);
  }
  return checked;
}

describe('ext2fs reads images made by mke2fs exactly as the source tree', () => {
  for (const v of VARIANTS) {
    it(`${v.label}: every file, directory, link, mode, owner and time reads back as the source`, async (t) => {
      const tools = requireTools(t);
      if (tools === null) return;
      const img = sharedImage(tools, v);
      if (v.htree && v.o.blockSize === 1024) {
        assert.match(debugfsRead(tools, img, 'htree /big'), /Indirect levels: 1/, 'the 1 KiB fixture has a two-level index');
      }
      const m = await mountImage(img);
      try {
        const { k, l, fs } = m;
        const n = await compareTree(k, l, v, tools, img);
        assert.ok(n > 2000, `checked ${n} objects`);
        // device nodes made by debugfs mknod: old and new encodings
        const c = await k.sys.stat(l, '/mnt/cdev');
        assert.equal(c.mode & S_IFMT, S_IFCHR);
        assert.equal(c.rdev, makedev(8, 1));
        const b = await k.sys.stat(l, '/mnt/bdev');
        assert.equal(b.mode & S_IFMT, S_IFBLK);
        assert.equal(b.rdev, makedev(259, 65000));
        // lookups in the 2000-entry directory used the index when there is one
        if (v.htree) {
          assert.ok(fs.stats.htreeLookups >= 2000, `${fs.stats.htreeLookups} lookups went through the hash tree`);
          assert.equal(fs.stats.htreeFallbacks, 0, 'no index had to be abandoned');
        } else {
          assert.equal(fs.stats.htreeLookups, 0);
        }
        await assert.rejects(k.sys.stat(l, '/mnt/big/not-there'), errno('ENOENT'));
        await assert.rejects(k.sys.stat(l, '/mnt/big/file-00000'), errno('ENOENT'));
        // symbolic links resolve through the file system
        assert.equal((await k.sys.stat(l, '/mnt/slowlink')).size, 10);
        assert.equal((await k.sys.stat(l, '/mnt/fastlink')).size, 4095);
        assert.equal((await k.sys.stat(l, '/mnt/link60')).size, 10);
        assert.equal(TARGET_60.length, 60);
        assert.equal((await k.sys.lstat(l, '/mnt/link60')).size, 60, 'a 60-byte target is a slow link');
        assert.ok(SLOW_TARGET.length > 60);
        await assert.rejects(k.sys.stat(l, '/mnt/loop1'), errno('ELOOP'));
        await assert.rejects(k.sys.stat(l, '/mnt/dangling'), errno('ENOENT'));
      } finally {
        await m.halt();
      }
    });
  }
});

describe('ext2fs reading details', () => {
  it('reads at arbitrary offsets across direct, indirect, double and triple indirect boundaries', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[0]!);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const bs = 1024, a = bs / 4;
      const edges = [12, 12 + a, 12 + a + a * a].map((blk) => blk * bs);
      for (const [file, size] of [['big13m', 13 * 1024 * 1024 + 123], ['sparse', 80 * 1024 * 1024]] as const) {
        const hfd = openSync(join(src, file), 'r');
        const fd = await k.sys.open(l, `/mnt/${file}`, O_RDONLY, 0);
        try {
          const offsets = [0, 1, size - 1, size - 4097, 1024 * 1024 - 3, 75 * 1024 * 1024 + 90];
          for (const e of edges) offsets.push(e - 1, e, e - 700, e + 1);
          for (let i = 0; i < 20; i++) offsets.push(Math.floor(((i * 2654435761) % 1000) / 1000 * size));
          for (const off of offsets) {
            if (off < 0 || off >= size) continue;
            for (const len of [1, 1500, 9000, 70_000]) {
              const kb = new Uint8Array(len);
              const hb = new Uint8Array(len);
              const n = await k.sys.pread(l, fd, kb, off);
              const hn = readSync(hfd, hb, 0, len, off);
              assert.equal(n, hn, `${file}: pread of ${len} at ${off}`);
              assert.ok(Buffer.compare(kb.subarray(0, n), hb.subarray(0, n)) === 0, `${file}: contents of ${len} bytes at ${off}`);
            }
          }
          assert.equal(await k.sys.pread(l, fd, new Uint8Array(10), size), 0, 'reading at the end gives 0');
          assert.equal(await k.sys.pread(l, fd, new Uint8Array(10), size + 12345), 0, 'reading past the end gives 0');
        } finally {
          closeSync(hfd);
          await k.sys.close(l, fd);
        }
      }
    } finally {
      await m.halt();
    }
  });

  it('readdir resumes from every cookie, in batches of one, and from an offset that is not an entry', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[0]!);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const all = await listDir(k, l, '/mnt/big', 4096);
      const ones = await listDir(k, l, '/mnt/big', 1);
      assert.deepEqual(ones, all);
      assert.equal(new Set(all.map((e) => e.name)).size, all.length, 'no entry twice');
      assert.deepEqual(all.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort(), bigDirNames().sort());
      // seek to a position inside an entry: the listing resumes at the next entry of that block
      const fd = await k.sys.open(l, '/mnt/big', O_RDONLY | O_DIRECTORY, 0);
      try {
        await k.sys.getdents(l, fd, 3);
        const pos = await k.sys.lseek(l, fd, 0, 1);
        await k.sys.lseek(l, fd, pos + 1, SEEK_SET);
        const rest = await k.sys.getdents(l, fd, 10);
        assert.ok(rest.length > 0);
        const idx = all.findIndex((e) => e.name === rest[0]!.name);
        assert.ok(idx >= 4, `resumed at entry ${idx} after skipping part of entry 3`);
      } finally {
        await k.sys.close(l, fd);
      }
    } finally {
      await m.halt();
    }
  });

  it('lists extended attributes set by debugfs, in the inode and in an attribute block', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const blob = join(work, 'xattr-value');
    writeFileSync(blob, Buffer.from(Array.from({ length: 600 }, (_, i) => i & 0xff)));
    for (const v of [VARIANTS[0]!, VARIANTS[7]!]) {
      const img = buildImage(tools, v, `xattr-${v.o.type}-${v.o.blockSize}`);
      debugfsWrite(tools, img, ['ea_set /one user.comment hello', `ea_set -f ${blob} /f4096 user.big`, 'ea_set /f4096 trusted.t x']);
      const m = await mountImage(img);
      try {
        for (const [path, want] of [['/mnt/one', { 'user.comment': 'hello' }], ['/mnt/f4096', { 'user.big': null, 'trusted.t': 'x' }]] as const) {
          const vp = await namei(m.l, path, { follow: false });
          try {
            assert.ok(vp instanceof Ext2Vnode);
            const got = await vp.listExtattr();
            assert.deepEqual(got.map((x) => x.name).sort(), Object.keys(want).sort(), `${v.label} ${path}`);
            for (const x of got) {
              const w = (want as Record<string, string | null>)[x.name];
              if (w === null) assert.deepEqual([...x.value!], Array.from({ length: 600 }, (_, i) => i & 0xff));
              else assert.equal(new TextDecoder().decode(x.value!), w);
            }
          } finally {
            m.k.vfs!.rele(vp);
          }
        }
      } finally {
        await m.halt();
      }
    }
  });

  it('reports the block and inode counts dumpe2fs reports through statvfs', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[7]!);
    const h = dumpe2fsHeader(tools, img);
    const m = await mountImage(img);
    try {
      const s = await m.k.sys.statvfs(m.l, '/mnt');
      assert.equal(s.fstypename, 'ext2fs');
      assert.equal(s.bsize, Number(h.get('Block size')));
      assert.equal(s.bfree, Number(h.get('Free blocks')));
      assert.equal(s.ffree, Number(h.get('Free inodes')));
      assert.equal(s.files, Number(h.get('Inode count')));
      assert.ok(s.blocks < Number(h.get('Block count')) && s.blocks > s.bfree, `${s.blocks} data blocks`);
      assert.equal(s.bavail, s.bfree - Number(h.get('Reserved block count')));
      assert.equal(s.namemax, 255);
    } finally {
      await m.halt();
    }
  });

  it('reads many files concurrently with the right contents', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[8]!);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      const files = ['f4095', 'f4096', 'f4097', 'f70000', 'islands', 'setuid', 'hard1', 'dir/sub/deeper/file.txt', 'big13m'];
      await Promise.all([
        ...files.map(async (f) => {
          const st = lstatSync(join(src, f));
          await compareContents(k, l, `/mnt/${f}`, join(src, f), st.size);
        }),
        listDir(k, l, '/mnt/big', 13).then((es) => assert.equal(es.length, 2002)),
        Promise.all(bigDirNames().slice(0, 300).map((n) => k.sys.stat(l, `/mnt/big/${n}`))),
      ]);
    } finally {
      await m.halt();
    }
  });
});

describe('ext2fs large files', () => {
  it('reads a 5 GiB sparse file: its size from i_size_high, data at the end, zeros in the holes', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const hsrc = join(work, 'huge-src');
    mkdirSync(hsrc);
    const size = 5 * 2 ** 30;
    const marks = [[2 ** 32 - 3000, pattern(6000, 21)], [size - 4196, pattern(4196, 22)], [12345, pattern(100, 23)]] as const;
    writeFileSync(join(hsrc, 'huge'), '');
    truncateSync(join(hsrc, 'huge'), size);
    const fd = openSync(join(hsrc, 'huge'), 'r+');
    for (const [at, data] of marks) writeSync(fd, data, 0, data.length, at);
    closeSync(fd);
    for (const o of [{ type: 'ext2', blockSize: 1024, sizeMiB: 8 }, { type: 'ext4', blockSize: 4096, sizeMiB: 16 }] as const) {
      const img = join(work, `huge-${o.type}.img`);
      makeImage(tools, hsrc, img, o);
      const dbg: DebugfsStat = debugfsStats(tools, img, ['/huge']).get('/huge')!;
      const m = await mountImage(img);
      try {
        const { k, l } = m;
        const st = await k.sys.stat(l, '/mnt/huge');
        assert.equal(st.size, size, `${o.type}: size`);
        assert.equal(st.blocks, dbg.blockcount, `${o.type}: blocks`);
        const kfd = await k.sys.open(l, '/mnt/huge', O_RDONLY, 0);
        try {
          for (const [at, data] of marks) {
            const buf = new Uint8Array(data.length + 200);
            assert.equal(await k.sys.pread(l, kfd, buf, at - 100), Math.min(buf.length, size - (at - 100)));
            assert.deepEqual(buf.subarray(100, 100 + data.length), data, `${o.type}: data at ${at}`);
            assert.ok(buf.subarray(0, 100).every((b) => b === 0), `${o.type}: zeros before ${at}`);
          }
          const hole = new Uint8Array(1 << 20).fill(0xff);
          assert.equal(await k.sys.pread(l, kfd, hole, 3 * 2 ** 30), hole.length);
          assert.ok(hole.every((b) => b === 0), `${o.type}: a hole reads as zeros`);
          assert.equal(await k.sys.pread(l, kfd, new Uint8Array(8), size), 0);
        } finally {
          await k.sys.close(l, kfd);
        }
      } finally {
        await m.halt();
      }
    }
  });
});

describe('ext2fs read-only mounts refuse writes and hold their device', () => {
  it('writes to a read-only mount fail with EROFS (read-write mounts: ext2fs_rw.test.ts)', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[0]!);
    const { k, l } = await bootWithImage(img);
    try {
      await k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' });
      await assert.rejects(k.sys.open(l, '/mnt/one', O_WRONLY, 0), errno('EROFS'));
      await assert.rejects(k.sys.open(l, '/mnt/new', O_CREAT | O_RDWR, 0o644), errno('EROFS'));
      await assert.rejects(k.sys.mkdir(l, '/mnt/d', 0o755), errno('EROFS'));
      await assert.rejects(k.sys.unlink(l, '/mnt/one'), errno('EROFS'));
      await assert.rejects(k.sys.chmod(l, '/mnt/one', 0o600), errno('EROFS'));
      await assert.rejects(k.sys.rename(l, '/mnt/one', '/mnt/two'), errno('EROFS'));
      assert.equal((await k.sys.stat(l, '/mnt/one')).size, 1, 'nothing changed');
    } finally {
      await k.halt();
    }
  });

  it('rejects bad mount data with EINVAL naming the option', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[0]!);
    const { k, l } = await bootWithImage(img);
    try {
      await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, {}), errno('EINVAL', 'fspec'));
      await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/img', size: 3 }), errno('EINVAL', "'size'"));
      await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/null' }), errno('ENOTBLK'));
    } finally {
      await k.halt();
    }
  });

  it('claims the device while mounted (a second mount is EBUSY) and releases it at unmount', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = sharedImage(tools, VARIANTS[0]!);
    const m = await mountImage(img);
    try {
      const { k, l } = m;
      await k.sys.mkdir(l, '/mnt2', 0o755);
      await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt2', MNT_RDONLY, { fspec: '/dev/img' }), errno('EBUSY'));
      await assert.rejects(etfsRemove(k, '/dev/img'), errno('EBUSY'));
      await k.sys.unmount(l, '/mnt', 0);
      await k.sys.mount(l, 'ext2fs', '/mnt2', MNT_RDONLY, { fspec: '/dev/img' });
      assert.equal((await k.sys.stat(l, '/mnt2/f4096')).size, 4096);
      await k.sys.unmount(l, '/mnt2', 0);
      await etfsRemove(k, '/dev/img');
    } finally {
      await m.halt();
    }
  });

  it('mounts an ext3 image whose journal needs recovery only after refusing it with a message naming needs_recovery', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = buildImage(tools, VARIANTS[6]!, 'recover');
    debugfsWrite(tools, img, ['feature needs_recovery']);
    const { k, l } = await bootWithImage(img);
    try {
      await assert.rejects(k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' }), errno('EFTYPE', 'needs_recovery', 'journal'));
      // the failed mount released the device: fix the image and mount again
      debugfsWrite(tools, img, ['feature -needs_recovery']);
      await k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' });
      assert.equal((await k.sys.stat(l, '/mnt/f4097')).size, 4097);
    } finally {
      await k.halt();
    }
  });

  it('warns on the console when mounting a file system that was not cleanly unmounted', async (t) => {
    const tools = requireTools(t);
    if (tools === null) return;
    const img = buildImage(tools, VARIANTS[0]!, 'unclean');
    debugfsWrite(tools, img, ['ssv state 0']);
    const messages: string[] = [];
    const m = await mountImage(img, { messages });
    try {
      assert.ok(messages.some((s) => s.includes('not cleanly unmounted')), messages.join(''));
      assert.equal((await m.k.sys.stat(m.l, '/mnt/one')).size, 1);
    } finally {
      await m.halt();
    }
  });
});
