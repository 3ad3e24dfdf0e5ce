/**
 * ffs read-only mounts against images made by Debian's makefs (NetBSD's makefs, the oracle):
 * every file, directory, symbolic link, mode, owner, link count, size, time and device number of a
 * source tree reads back exactly, for UFS1 and UFS2, little- and big-endian, block sizes 4 KiB to
 * 64 KiB with fragments of 512 bytes to 8 KiB; the superblock geometry agrees with what makefs
 * reports. Skipped (with a message) when makefs is not installed.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync, copyFileSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, rmSync, statSync, writeFileSync, writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { KernelError } from '../src/kern/errno.js';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, MNT_RDONLY, O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_WRONLY,
  SEEK_SET, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, _PC_LINK_MAX, _PC_NAME_MAX, makedev,
} from '../src/kern/types.js';
import type { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { etfsRemove } from '../src/vfs/etfs.js';
import { namei } from '../src/vfs/namei.js';
import { FfsDirVnode } from '../src/fs/ffs/index.js';
import { cgimin, cgsblock, cgtod, emitSuperblock, inoToFsba, inoToFsbo } from '../src/fs/ffs/superblock.js';
import { UFS_NDADDR, emitDinode, parseDinode } from '../src/fs/ffs/dinode.js';
import { checkCg, emitCg, parseCg } from '../src/fs/ffs/cg.js';
import { detectFsType, ukfsMount } from '../src/ukfs/index.js';
import { nodeHost } from '../src/rumpuser/node/index.js';
import { findComponent } from '../src/components.js';
import { lookupFs } from '../src/ukfs/registry.js';
import {
  BIG_SIZE, SLOW_TARGET, SPEC_DEVICES, SPEC_OVERRIDES, TARGET_119, TARGET_120, TARGET_59, TARGET_60, bigDirNames, bootWithImage,
  imageSuperblock, makeImage, makeSourceTree, mountImage, parseMakefsReport, requireMakefs, specFile, type ImageOptions, type MakefsReport,
} from './fixtures/ffs_images.js';

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
let spec = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ffs-test-'));
  src = join(work, 'src');
  makeSourceTree(src);
  spec = join(work, 'spec');
  writeFileSync(spec, specFile());
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

interface Variant {
  label: string;
  o: Omit<ImageOptions, 'spec'>;
}

const VARIANTS: Variant[] = [
  { label: 'UFS1 with makefs defaults (8 KiB blocks, 1 KiB fragments)', o: { version: 1 } },
  { label: 'UFS2 with makefs defaults', o: { version: 2 } },
  { label: 'UFS2 big-endian', o: { version: 2, bigEndian: true } },
  { label: 'UFS1 big-endian with 4 KiB blocks and 512-byte fragments', o: { version: 1, bigEndian: true, bsize: 4096, fsize: 512 } },
  { label: 'UFS2 with 4 KiB blocks and 4 KiB fragments', o: { version: 2, bsize: 4096, fsize: 4096 } },
  { label: 'UFS1 with 16 KiB blocks and 2 KiB fragments', o: { version: 1, bsize: 16384, fsize: 2048 } },
  { label: 'UFS2 with 64 KiB blocks and 8 KiB fragments', o: { version: 2, bsize: 65536, fsize: 8192 } },
];

const built = new Map<Variant, { img: string; report: MakefsReport }>();

/** The image of variant `v`, built once (tests only read it). */
function image(makefs: string, v: Variant): { img: string; report: MakefsReport } {
  let b = built.get(v);
  if (b === undefined) {
    const img = join(work, `v${VARIANTS.indexOf(v)}.img`);
    const out = makeImage(makefs, src, img, { ...v.o, spec });
    b = { img, report: parseMakefsReport(out) };
    built.set(v, b);
  }
  return b;
}

/** All bytes of a kernel file through read(2) in chunks of varying size, against the host file. */
async function compareContents(k: Kernel, l: Lwp, kpath: string, hpath: string, size: number): Promise<void> {
  const fd = await k.sys.open(l, kpath, O_RDONLY, 0);
  const hfd = openSync(hpath, 'r');
  try {
    const chunks = [1 << 20, 4097, 200_000, 512, 65536];
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

/** 512-byte sectors a file of `size` bytes occupies as FFS allocates it: blocks, a fragment tail, indirect blocks. */
function expectedSectors(size: number, bsize: number, fsize: number, nindir: number): number {
  const nblk = Math.ceil(size / bsize);
  let bytes: number;
  if (nblk <= UFS_NDADDR) bytes = Math.floor(size / bsize) * bsize + Math.ceil((size % bsize) / fsize) * fsize;
  else bytes = nblk * bsize;
  let rest = nblk - UFS_NDADDR;
  if (rest > 0) {
    bytes += bsize; // single indirect
    rest -= nindir;
  }
  if (rest > 0) bytes += bsize * (1 + Math.ceil(rest / nindir)); // double indirect and its children
  return bytes / 512;
}

/** Walk the source tree and check every object against the mounted image. Returns how many were checked. */
async function compareTree(k: Kernel, l: Lwp, geo: { bsize: number; fsize: number; nindir: number }): Promise<number> {
  let checked = 0;
  const walk = async (rel: string): Promise<void> => {
    const hdir = join(src, rel);
    const kdir = rel === '' ? '/mnt' : `/mnt/${rel}`;
    const hostNames = readdirSync(hdir).sort();
    const listed = await listDir(k, l, kdir, rel === 'bigdir' ? 7 : 64);
    const names = listed.map((e) => e.name).filter((n) => n !== '.' && n !== '..');
    const extra = rel === '' ? SPEC_DEVICES.map((d) => d[0]) : [];
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
      const o = SPEC_OVERRIDES.get(r);
      const fmt = hs.mode & S_IFMT;
      assert.equal(ks.mode & S_IFMT, fmt, `${kp}: file type`);
      assert.equal(ks.mode & 0o7777, o?.mode ?? (hs.mode & 0o7777), `${kp}: permission bits`);
      assert.equal(ks.uid, o?.uid ?? hs.uid, `${kp}: owner`);
      assert.equal(ks.gid, o?.gid ?? hs.gid, `${kp}: group`);
      assert.equal(ks.mtimeSec, o?.mtimeSec ?? Math.floor(hs.mtimeMs / 1000), `${kp}: mtime seconds`);
      // this makefs stores whole seconds; a newer one may keep the nanoseconds
      const hostNsec = Number(lstatSync(hp, { bigint: true }).mtimeNs % 1_000_000_000n);
      assert.ok(ks.mtimeNsec === 0 || ks.mtimeNsec === hostNsec, `${kp}: mtime nanoseconds ${ks.mtimeNsec}`);
      const ent = listed.find((e) => e.name === name)!;
      assert.equal(ent.ino, ks.ino, `${kp}: getdents and stat agree on the inode number`);
      assert.equal(ent.type, DT_OF[fmt], `${kp}: dirent type`);
      if (fmt === S_IFDIR) {
        subdirs++;
        await walk(r);
      } else {
        assert.equal(ks.nlink, hs.nlink, `${kp}: link count`);
        if (fmt === S_IFREG) {
          assert.equal(ks.size, hs.size, `${kp}: size`);
          assert.equal(ks.blocks, expectedSectors(hs.size, geo.bsize, geo.fsize, geo.nindir), `${kp}: 512-byte blocks allocated`);
          assert.equal(ks.blksize, geo.bsize, `${kp}: st_blksize`);
          await compareContents(k, l, kp, hp, hs.size);
        } else if (fmt === S_IFLNK) {
          assert.equal(ks.size, hs.size, `${kp}: symlink length`);
          assert.equal(await k.sys.readlink(l, kp), readlinkSync(hp), `${kp}: symlink target`);
        }
      }
      checked++;
    }
    const ds = await k.sys.lstat(l, kdir);
    assert.equal(ds.nlink, 2 + subdirs, `${kdir}: directory link count (2 + subdirectories)`);
    assert.equal(ds.size % 512, 0, `${kdir}: directory size is whole 512-byte directory blocks`);
  };
  await walk('');
  return checked;
}

describe('ffs reads images made by makefs exactly as the source tree', () => {
  for (const v of VARIANTS) {
    it(`${v.label}: every file, directory, link, mode, owner, size and time reads back as the source`, async (t) => {
      const makefs = requireMakefs(t);
      if (makefs === null) return;
      const { img, report } = image(makefs, v);
      const m = await mountImage(img);
      try {
        const { k, l, fs } = m;
        const g = fs.geo;
        assert.equal(g.ufs, v.o.version, 'UFS version from the magic');
        assert.equal(g.le, v.o.bigEndian !== true, 'byte order from the magic');
        const n = await compareTree(k, l, g);
        assert.ok(n > 1000, `checked ${n} objects`);
        for (const [name, , mode, maj, min] of SPEC_DEVICES) {
          const st = await k.sys.lstat(l, `/mnt/${name}`);
          assert.equal(st.mode & S_IFMT, name === 'cdev' ? S_IFCHR : S_IFBLK, `${name}: type`);
          assert.equal(st.mode & 0o7777, mode, `${name}: mode`);
          assert.equal(st.rdev, makedev(maj, min), `${name}: device number`);
          assert.equal(st.mtimeSec, 1000000000, `${name}: time from the specfile`);
        }
        await assert.rejects(k.sys.stat(l, '/mnt/bigdir/not-there'), errno('ENOENT'));
        await assert.rejects(k.sys.stat(l, '/mnt/bigdir/file-00000'), errno('ENOENT'));
        // symbolic links resolve through the file system
        assert.equal((await k.sys.stat(l, '/mnt/slowlink')).size, 20);
        assert.equal((await k.sys.stat(l, '/mnt/fastlink')).size, 4095);
        assert.equal((await k.sys.stat(l, '/mnt/link120')).size, 20);
        await assert.rejects(k.sys.stat(l, '/mnt/loop1'), errno('ELOOP'));
        await assert.rejects(k.sys.stat(l, '/mnt/dangling'), errno('ENOENT'));
        // '..' from a subdirectory is the parent
        assert.equal((await k.sys.stat(l, '/mnt/dir/sub/..')).ino, (await k.sys.stat(l, '/mnt/dir')).ino);
        // the geometry makefs reported
        assert.equal(g.bsize, report.bsize, 'block size');
        assert.equal(g.fsize, report.fsize, 'fragment size');
        assert.equal(g.ncg, report.ncg, 'cylinder groups');
        assert.equal(g.fpg / g.frag, report.blocksPerGroup, 'blocks per group');
        assert.equal(g.ipg, report.inodesPerGroup, 'inodes per group');
        assert.equal(g.size * (g.fsize / 512), report.sectors, 'size in sectors');
        assert.deepEqual(Array.from({ length: g.ncg }, (_, c) => cgsblock(g, c) * (g.fsize / 512)), report.backups, 'superblock backup locations');
        const sv = await k.sys.statvfs(l, '/mnt');
        assert.equal(sv.fstypename, 'ffs');
        assert.equal(sv.bsize, report.bsize);
        assert.equal(sv.frsize, report.fsize);
        assert.equal(sv.files, report.ncg * report.inodesPerGroup - 2);
        assert.ok(sv.bfree < sv.blocks && sv.blocks <= g.size, `statvfs blocks ${sv.blocks}, free ${sv.bfree}`);
      } finally {
        await m.halt();
      }
    });
  }

  it('fast symbolic links are stored in the inode below fs_maxsymlinklen (60 in UFS1, 120 in UFS2), slow ones in a block', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    assert.deepEqual([TARGET_59.length, TARGET_60.length, TARGET_119.length, TARGET_120.length], [59, 60, 119, 120]);
    for (const v of [VARIANTS[0]!, VARIANTS[1]!]) {
      const m = await mountImage(image(makefs, v).img);
      try {
        const { k, l, fs } = m;
        const max = v.o.version === 1 ? 60 : 120;
        assert.equal(fs.geo.maxsymlinklen, max);
        for (const [name, target] of [['link59', TARGET_59], ['link60', TARGET_60], ['link119', TARGET_119], ['link120', TARGET_120], ['slowlink', SLOW_TARGET]] as const) {
          const st = await k.sys.lstat(l, `/mnt/${name}`);
          const fast = target.length < max;
          assert.equal(st.blocks === 0, fast, `${v.label} ${name} (${target.length} bytes): ${fast ? 'no' : 'a'} data block`);
          assert.equal(await k.sys.readlink(l, `/mnt/${name}`), target);
        }
      } finally {
        await m.halt();
      }
    }
  });
});

describe('ffs reading details', () => {
  it('reads at arbitrary offsets across fragment, direct, indirect and double indirect boundaries', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    for (const v of [VARIANTS[3]!, VARIANTS[4]!]) {
      const m = await mountImage(image(makefs, v).img);
      try {
        const { k, l, fs } = m;
        const bs = fs.bsize, a = fs.nindir;
        assert.ok(BIG_SIZE > (12 + a) * bs, 'the big file reaches double indirection');
        const edges = [12, 12 + a, 12 + a + a].map((blk) => blk * bs).filter((e) => e < BIG_SIZE);
        for (const [file, size] of [['big', BIG_SIZE], ['f70000', 70000], ['f4097', 4097]] as const) {
          const hfd = openSync(join(src, file), 'r');
          const fd = await k.sys.open(l, `/mnt/${file}`, O_RDONLY, 0);
          try {
            const offsets = [0, 1, size - 1, size - 4097, bs - 1, bs, fs.fsize - 1, fs.fsize];
            for (const e of edges) offsets.push(e - 1, e, e - 700, e + 1);
            for (let i = 0; i < 12; i++) offsets.push(Math.floor((((i * 2654435761) % 1000) / 1000) * size));
            for (const off of offsets) {
              if (off < 0 || off >= size) continue;
              for (const len of [1, 1500, 9000, 70_000, 200_000]) {
                const kb = new Uint8Array(len);
                const hb = new Uint8Array(len);
                const n = await k.sys.pread(l, fd, kb, off);
                const hn = readSync(hfd, hb, 0, len, off);
                assert.equal(n, hn, `${file}: pread of ${len} at ${off}`);
                assert.ok(Buffer.compare(kb.subarray(0, n), hb.subarray(0, n)) === 0, `${v.label} ${file}: contents of ${len} bytes at ${off}`);
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
    }
  });

  it('readdir resumes from every cookie, in batches of one, and from an offset that is not an entry', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = await mountImage(image(makefs, VARIANTS[1]!).img);
    try {
      const { k, l } = m;
      const all = await listDir(k, l, '/mnt/bigdir', 4096);
      const ones = await listDir(k, l, '/mnt/bigdir', 1);
      assert.deepEqual(ones, all);
      assert.equal(new Set(all.map((e) => e.name)).size, all.length, 'no entry twice');
      assert.deepEqual(all.map((e) => e.name).filter((n) => n !== '.' && n !== '..').sort(), bigDirNames().sort());
      const fd = await k.sys.open(l, '/mnt/bigdir', O_RDONLY | O_DIRECTORY, 0);
      try {
        await k.sys.getdents(l, fd, 3);
        const pos = await k.sys.lseek(l, fd, 0, 1);
        await k.sys.lseek(l, fd, pos + 1, SEEK_SET);
        const rest = await k.sys.getdents(l, fd, 10);
        assert.ok(rest.length > 0);
        const idx = all.findIndex((e) => e.name === rest[0]!.name);
        assert.ok(idx >= 4, `resumed at entry ${idx} after skipping part of entry 3`);
        // every name looks up to the inode readdir gave
        for (const e of all.slice(0, 300)) assert.equal((await k.sys.lstat(l, `/mnt/bigdir/${e.name}`)).ino, e.ino, e.name);
        // the large directory was hashed by its first lookup; a small one is scanned
        const big = await namei(l, '/mnt/bigdir', { follow: false });
        const small = await namei(l, '/mnt/dir', { follow: false });
        try {
          assert.ok(big instanceof FfsDirVnode && small instanceof FfsDirVnode);
          assert.equal(big.dirhash?.size, all.length, 'every name of /mnt/bigdir is in its hash');
          await k.sys.lstat(l, '/mnt/dir/hard2');
          assert.equal(small.dirhash, null);
        } finally {
          k.vfs!.rele(big);
          k.vfs!.rele(small);
        }
      } finally {
        await k.sys.close(l, fd);
      }
    } finally {
      await m.halt();
    }
  });

  it('reads many files concurrently with the right contents', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = await mountImage(image(makefs, VARIANTS[2]!).img);
    try {
      const { k, l } = m;
      const files = ['f4095', 'f4096', 'f4097', 'f70000', 'f8191', 'setuid', 'hard1', 'dir/sub/deeper/file.txt', 'big'];
      await Promise.all([
        ...files.map((f) => compareContents(k, l, `/mnt/${f}`, join(src, f), statSync(join(src, f)).size)),
        listDir(k, l, '/mnt/bigdir', 13).then((es) => assert.equal(es.length, 1002)),
        Promise.all(bigDirNames().slice(0, 300).map((n) => k.sys.stat(l, `/mnt/bigdir/${n}`))),
      ]);
    } finally {
      await m.halt();
    }
  });

  it('reports the superblock totals through statvfs as NetBSD does (fragments, minfree reserve)', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const { img } = image(makefs, VARIANTS[0]!);
    const { geo } = imageSuperblock(img, statSync(img).size);
    const m = await mountImage(img);
    try {
      const s = await m.k.sys.statvfs(m.l, '/mnt');
      const t2 = geo.cstotal;
      assert.equal(s.blocks, geo.dsize);
      assert.equal(s.bfree, t2.cs_nbfree * geo.frag + t2.cs_nffree);
      assert.equal(s.ffree, t2.cs_nifree);
      assert.equal(s.bavail, Math.max(0, s.bfree - Math.floor((geo.dsize * geo.minfree) / 100)));
      assert.equal(s.namemax, 255);
      // the per-group summaries add up to the totals on an image makefs just wrote
      const sum = m.fs.csums.reduce((a, c) => a + c.cs_nifree, 0);
      assert.equal(sum, t2.cs_nifree);
      assert.equal(m.fs.csums.reduce((a, c) => a + c.cs_ndir, 0), t2.cs_ndir);
      assert.equal(await m.k.sys.pathconf(m.l, '/mnt/f1', _PC_LINK_MAX), 32767);
      assert.equal(await m.k.sys.pathconf(m.l, '/mnt/f1', _PC_NAME_MAX), 255);
    } finally {
      await m.halt();
    }
  });
});

describe('ffs codecs against makefs images', () => {
  it('reproduce every superblock, cylinder group and inode block byte for byte', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    for (const v of VARIANTS) {
      const { img } = image(makefs, v);
      const bytes = new Uint8Array(readFileSync(img));
      const { sb, geo: g, location } = imageSuperblock(img, bytes.length);
      assert.deepEqual(emitSuperblock(sb), bytes.subarray(location, location + 8192), `${v.label}: superblock`);
      for (let c = 0; c < g.ncg; c++) {
        const off = cgtod(g, c) * g.fsize;
        const cgb = bytes.subarray(off, off + g.cgsize);
        const cg = parseCg(cgb, g.le, `cylinder group ${c}`);
        checkCg(cg, g, c);
        assert.deepEqual(emitCg(cg), cgb, `${v.label}: cylinder group ${c}`);
        const ib = cgimin(g, c) * g.fsize;
        for (let i = 0; i < g.inopb; i++) {
          const d = parseDinode(bytes, ib + i * g.dinodeSize, g.ufs, g.le);
          assert.deepEqual(emitDinode(d), bytes.subarray(ib + i * g.dinodeSize, ib + (i + 1) * g.dinodeSize), `${v.label}: inode ${c * g.ipg + i}`);
        }
      }
    }
  });
});

describe('ffs attributes', () => {
  it('reports UFS2 birth times and nanoseconds, and UFS1 nanoseconds, exactly as stored', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    for (const v of [VARIANTS[2]!, VARIANTS[3]!]) {
      const { img: shared } = image(makefs, v);
      const img = join(work, `times-${VARIANTS.indexOf(v)}.img`);
      copyFileSync(shared, img);
      const { geo: g } = imageSuperblock(img, statSync(img).size);
      const m0 = await mountImage(img);
      const ino = (await m0.k.sys.lstat(m0.l, '/mnt/f1')).ino;
      await m0.halt();
      const at = inoToFsba(g, ino) * g.fsize + inoToFsbo(g, ino) * g.dinodeSize;
      const b = new Uint8Array(g.dinodeSize);
      const fd = openSync(img, 'r+');
      try {
        readSync(fd, b, 0, b.length, at);
        const dv = new DataView(b.buffer);
        if (g.ufs === 2) {
          dv.setBigInt64(56, 4_000_000_123n, g.le); // di_birthtime, past 2038
          dv.setInt32(76, 987_654_321, g.le); // di_birthnsec
          dv.setInt32(64, 123_456_789, g.le); // di_mtimensec
          dv.setBigInt64(32, -86_400n, g.le); // di_atime before 1970
        } else {
          dv.setInt32(28, 123_456_789, g.le); // di_mtimensec
          dv.setInt32(16, -86_400, g.le); // di_atime
        }
        writeSync(fd, b, 0, b.length, at);
      } finally {
        closeSync(fd);
      }
      const m = await mountImage(img);
      try {
        const st = await m.k.sys.lstat(m.l, '/mnt/f1');
        assert.equal(st.mtimeNsec, 123_456_789, `${v.label}: mtime nanoseconds`);
        assert.equal(st.atimeSec, -86_400, `${v.label}: atime before 1970`);
        if (g.ufs === 2) assert.deepEqual([st.birthtimeSec, st.birthtimeNsec], [4_000_000_123, 987_654_321], 'birth time');
        else assert.deepEqual([st.birthtimeSec, st.birthtimeNsec], [0, 0], 'UFS1 has no birth time');
      } finally {
        await m.halt();
      }
    }
  });

  it('ukfs opens ffs images by detection and reads them like node:fs reads the source', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const { img } = image(makefs, VARIANTS[1]!);
    assert.equal(await detectFsType(nodeHost(), img), 'ffs');
    const u = await ukfsMount({ image: img, readonly: true });
    try {
      assert.deepEqual((await u.readdir('/dir')).sort(), readdirSync(join(src, 'dir')).sort());
      assert.deepEqual(new Uint8Array(await u.readFile('/f70000')), new Uint8Array(readFileSync(join(src, 'f70000'))));
      assert.equal(await u.readlink('/slowlink'), SLOW_TARGET);
      assert.equal((await u.stat('/bigdir/file-0001')).size, 'file-0001'.length);
    } finally {
      await u.unmount();
    }
  });
});

describe('ffs mounts are read-only and hold their device', () => {
  it('refuses a read-write mount with EROFS, and writes to a read-only mount fail with EROFS', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const { k, l } = await bootWithImage(image(makefs, VARIANTS[0]!).img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', 0, { fspec: '/dev/img' }), errno('EROFS', 'writing is not supported yet'));
      await k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img' });
      await assert.rejects(k.sys.open(l, '/mnt/f1', O_WRONLY, 0), errno('EROFS'));
      await assert.rejects(k.sys.open(l, '/mnt/new', O_CREAT | O_RDWR, 0o644), errno('EROFS'));
      await assert.rejects(k.sys.mkdir(l, '/mnt/d', 0o755), errno('EROFS'));
      await assert.rejects(k.sys.unlink(l, '/mnt/f1'), errno('EROFS'));
      await assert.rejects(k.sys.chmod(l, '/mnt/f1', 0o600), errno('EROFS'));
      await assert.rejects(k.sys.rename(l, '/mnt/f1', '/mnt/f2'), errno('EROFS'));
      assert.equal((await k.sys.stat(l, '/mnt/f1')).size, 1, 'nothing changed');
    } finally {
      await k.halt();
    }
  });

  it('rejects bad mount data with EINVAL naming the option', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const { k, l } = await bootWithImage(image(makefs, VARIANTS[0]!).img);
    try {
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, {}), errno('EINVAL', 'fspec'));
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/img', size: 3 }), errno('EINVAL', "'size'"));
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/null' }), errno('ENOTBLK'));
    } finally {
      await k.halt();
    }
  });

  it('claims the device while mounted (a second mount is EBUSY) and releases it at unmount', async (t) => {
    const makefs = requireMakefs(t);
    if (makefs === null) return;
    const m = await mountImage(image(makefs, VARIANTS[0]!).img);
    try {
      const { k, l } = m;
      await k.sys.mkdir(l, '/mnt2', 0o755);
      await assert.rejects(k.sys.mount(l, 'ffs', '/mnt2', MNT_RDONLY, { fspec: '/dev/img' }), errno('EBUSY'));
      await assert.rejects(etfsRemove(k, '/dev/img'), errno('EBUSY'));
      await k.sys.unmount(l, '/mnt', 0);
      await k.sys.mount(l, 'ffs', '/mnt2', MNT_RDONLY, { fspec: '/dev/img' });
      assert.equal((await k.sys.stat(l, '/mnt2/f4096')).size, 4096);
      await k.sys.unmount(l, '/mnt2', 0);
      await etfsRemove(k, '/dev/img');
    } finally {
      await m.halt();
    }
  });

  it('is the build\'s ffs component under its NetBSD names, and the registry mounts it', async () => {
    assert.equal(findComponent('rumpfs_ffs')?.name, 'ffs');
    assert.equal(findComponent('ufs')?.name, 'ffs');
    const e = lookupFs('ufs2');
    assert.equal(e.available, true);
    assert.equal((await e.load()).name, 'ffs');
  });
});
