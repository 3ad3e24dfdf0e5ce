/**
 * The FFS on-disk codecs as pure modules: each structure decodes what it encodes in both byte
 * orders, keeps bytes it does not understand, and rejects corrupt input with an errno and a
 * message naming the field. The block map is checked against an in-memory file system reaching
 * triple indirection, with holes at every level.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { KernelError } from '../src/kern/errno.js';
import { DT_DIR, DT_REG, DT_UNKNOWN } from '../src/kern/types.js';
import {
  CSUM_SIZE, FS_FLAGS_UPDATED, FS_UFS1_MAGIC, FS_UFS2_MAGIC, SBLOCK_STRUCT_SIZE, blankSuperblock, cgdmin, cgimin, cgsblock, cgstart, cgtod,
  detectMagic, emitSuperblock, fsFlagNames, inoToCg, inoToFsba, inoToFsbo, parseSuperblock, superblockGeometry, type Superblock,
} from '../src/fs/ffs/superblock.js';
import { CG_MAGIC, cgBlksFree, cgClusterFree, cgClusterSum, cgInosUsed, checkCg, emitCg, isblock, isset, parseCg, setbit } from '../src/fs/ffs/cg.js';
import { checkCsum, emitCsumArray, parseCsumArray, sumCsum } from '../src/fs/ffs/csum.js';
import { blankDinode, emitDinode, inodeView, parseDinode, UFS1_DINODE_SIZE, UFS2_DINODE_SIZE, type Dinode } from '../src/fs/ffs/dinode.js';
import { DIRBLKSIZ, buildDirBlock, direntSize, emitDirEntry, findDirEntry, parseDirBlock, type DirContext } from '../src/fs/ffs/dir.js';
import { bmapRun, maxMappedBlocks, type BmapFs } from '../src/fs/ffs/bmap.js';

function rejects(code: string, ...words: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `message '${e.message}' should mention '${w}'`);
    return true;
  };
}

/** Deterministic bytes (xorshift). */
function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A consistent small superblock: 8 KiB blocks, 1 KiB fragments, `ncg` groups of 2048 fragments,
 * 64 (UFS1) or 32 (UFS2) inodes per group, laid out as newfs does.
 */
function smallSuperblock(ufs: 1 | 2, le: boolean, ncg = 2): Superblock {
  const sb = blankSuperblock(ufs, le, 2048);
  const ipg = ufs === 1 ? 64 : 32;
  const dinode = ufs === 1 ? 128 : 256;
  Object.assign(sb, {
    fs_sblkno: 16, fs_cblkno: 24, fs_iblkno: 32, fs_dblkno: 32 + (ipg * dinode) / 1024,
    fs_ncg: ncg, fs_bsize: 8192, fs_fsize: 1024, fs_frag: 8, fs_minfree: 5, fs_bmask: ~8191, fs_fmask: ~1023,
    fs_bshift: 13, fs_fshift: 10, fs_maxcontig: 8, fs_maxbpg: 2048, fs_fragshift: 3, fs_fsbtodb: 1, fs_sbsize: 2048,
    fs_nindir: 8192 / (ufs === 1 ? 4 : 8), fs_inopb: 8192 / dinode, fs_cssize: 1024, fs_cgsize: 1024,
    fs_ipg: ipg, fs_fpg: 2048, fs_old_cgmask: -1, fs_clean: 1, fs_old_flags: FS_FLAGS_UPDATED,
    fs_sblockloc: 8192n, fs_size: BigInt(2048 * ncg), fs_dsize: BigInt(2000 * ncg), fs_csaddr: 40n,
    fs_cstotal_ndir: 2n, fs_cstotal_nbfree: 400n, fs_cstotal_nifree: 50n, fs_cstotal_nffree: 7n,
    fs_time: 1700000000n, fs_contigsumsize: 8, fs_maxsymlinklen: ufs === 1 ? 60 : 120, fs_old_inodefmt: 2,
    fs_maxfilesize: 0xffffffffffffn, fs_avgfilesize: 16384, fs_avgfpdir: 64, fs_old_size: 2048 * ncg, fs_old_dsize: 2000 * ncg,
    fs_old_csaddr: 40, fs_old_time: 1700000000,
  });
  return parseSuperblock(emitSuperblock(sb));
}

const DEV = 64 << 20;

describe('ffs superblock codec', () => {
  it('round-trips every byte of a superblock full of noise, in both byte orders', () => {
    for (const le of [true, false]) {
      for (const magic of [FS_UFS1_MAGIC, FS_UFS2_MAGIC]) {
        const b = noise(2048, magic + (le ? 1 : 2));
        new DataView(b.buffer).setUint32(1372, magic, le);
        const sb = parseSuperblock(b);
        assert.equal(sb.le, le);
        assert.equal(sb.ufs, magic === FS_UFS1_MAGIC ? 1 : 2);
        assert.deepEqual(emitSuperblock(sb), b, `${le ? 'little' : 'big'}-endian 0x${magic.toString(16)}`);
      }
    }
  });

  it('reads the same fields from a big-endian and a little-endian superblock', () => {
    const le = smallSuperblock(2, true);
    const be = smallSuperblock(2, false);
    assert.notDeepEqual(le.raw.subarray(0, SBLOCK_STRUCT_SIZE), be.raw.subarray(0, SBLOCK_STRUCT_SIZE));
    for (const k of ['fs_bsize', 'fs_fsize', 'fs_ncg', 'fs_ipg', 'fs_fpg', 'fs_size', 'fs_csaddr', 'fs_cstotal_nbfree', 'fs_magic'] as const) {
      assert.equal(le[k], be[k], k);
    }
    assert.deepEqual(detectMagic(be.raw), { ufs: 2, le: false });
    assert.deepEqual(superblockGeometry(le, DEV, 8192), { ...superblockGeometry(be, DEV, 8192), le: true });
  });

  it('writes changed fields at their NetBSD offsets', () => {
    const sb = smallSuperblock(2, true);
    sb.fs_flags = 0x100;
    sb.fs_clean = 0;
    sb.fs_size = 0x123456789an;
    const b = emitSuperblock(sb);
    const dv = new DataView(b.buffer);
    assert.equal(dv.getUint32(1312, true), 0x100, 'fs_flags at 1312');
    assert.equal(b[209], 0, 'fs_clean at 209');
    assert.equal(dv.getBigInt64(1080, true), 0x123456789an, 'fs_size at 1080');
    assert.equal(dv.getInt32(48, true), 8192, 'fs_bsize at 48');
    assert.equal(dv.getInt32(1372, true), FS_UFS2_MAGIC, 'fs_magic at 1372');
  });

  it('derives the geometry and the fs.h address macros', () => {
    const g = superblockGeometry(smallSuperblock(1, true, 3), DEV, 8192);
    assert.equal(g.frag, 8);
    assert.equal(g.maxino, 3 * 64);
    assert.equal(g.dinodeSize, 128);
    assert.equal(g.ptrSize, 4);
    assert.equal(cgstart(g, 2), 4096);
    assert.equal(cgsblock(g, 1), 2048 + 16);
    assert.equal(cgtod(g, 1), 2048 + 24);
    assert.equal(cgimin(g, 2), 4096 + 32);
    assert.equal(cgdmin(g, 0), 40);
    // inode 70: group 1, index 6 of its group, in the first inode block (64 inodes per 8 KiB block)
    assert.equal(inoToCg(g, 70), 1);
    assert.equal(inoToFsba(g, 70), 2048 + 32);
    assert.equal(inoToFsbo(g, 70), 6);
    assert.deepEqual(fsFlagNames(0x102), ['FS_DOSOFTDEP (soft dependencies)', 'FS_DOWAPBL (WAPBL log)']);
  });

  it('reads a pre-UFS2-era UFS1 superblock from its fs_old_* fields', () => {
    const sb = smallSuperblock(1, false);
    sb.fs_old_flags = 0x01;
    sb.fs_size = 0n;
    sb.fs_csaddr = 0n;
    sb.fs_old_cstotal_nifree = 42;
    sb.fs_old_inodefmt = -1;
    const g = superblockGeometry(parseSuperblock(emitSuperblock(sb)), DEV, 8192);
    assert.equal(g.size, 4096);
    assert.equal(g.csaddr, 40);
    assert.equal(g.cstotal.cs_nifree, 42);
    assert.equal(g.flags, 0x01);
    assert.equal(g.oldFormat, true);
    assert.equal(g.maxsymlinklen, 0, 'no fast symlinks in the 4.2BSD format');
    // an updated UFS1 superblock, like UFS2's, counts only where it says it belongs
    const moved = smallSuperblock(1, true);
    moved.fs_sblockloc = 65536n;
    assert.throws(() => superblockGeometry(parseSuperblock(emitSuperblock(moved)), DEV, 8192), rejects('EFTYPE', 'fs_sblockloc 65536'));
  });

  it('rejects input that is not a superblock: EFTYPE naming fs_magic, EINVAL for a short buffer', () => {
    assert.throws(() => parseSuperblock(new Uint8Array(2048)), rejects('EFTYPE', 'fs_magic 0x0'));
    assert.throws(() => parseSuperblock(new Uint8Array(100)), rejects('EINVAL', 'ffs superblock'));
    assert.equal(detectMagic(new Uint8Array(2048)), null);
  });

  const CORRUPT: [string, (sb: Superblock) => void, string][] = [
    ['fs_sbsize', (sb) => { sb.fs_sbsize = 100; }, 'fs_sbsize 100'],
    ['fs_bsize', (sb) => { sb.fs_bsize = 3000; }, 'fs_bsize 3000'],
    ['fs_bsize too large', (sb) => { sb.fs_bsize = 1 << 17; }, 'fs_bsize 131072'],
    ['fs_fsize', (sb) => { sb.fs_fsize = 256; }, 'fs_fsize 256'],
    ['fs_frag', (sb) => { sb.fs_frag = 4; }, 'fs_frag 4'],
    ['fs_bshift', (sb) => { sb.fs_bshift = 12; }, 'fs_bshift 12'],
    ['fs_inopb', (sb) => { sb.fs_inopb = 3; }, 'fs_inopb 3'],
    ['fs_nindir', (sb) => { sb.fs_nindir = 7; }, 'fs_nindir 7'],
    ['fs_ncg', (sb) => { sb.fs_ncg = 0; }, 'fs_ncg 0'],
    ['fs_ncg against the size', (sb) => { sb.fs_ncg = 5; }, 'fs_ncg 5'],
    ['fs_fpg', (sb) => { sb.fs_fpg = 13; }, 'fs_fpg 13'],
    ['fs_ipg', (sb) => { sb.fs_ipg = 0; }, 'fs_ipg 0'],
    ['fs_cblkno', (sb) => { sb.fs_cblkno = 16; }, 'fs_cblkno 16'],
    ['fs_iblkno', (sb) => { sb.fs_iblkno = 24; }, 'fs_iblkno 24'],
    ['fs_dblkno', (sb) => { sb.fs_dblkno = 33; }, 'fs_dblkno 33'],
    ['fs_cgsize', (sb) => { sb.fs_cgsize = 100000; }, 'fs_cgsize 100000'],
    ['fs_size past the device', (sb) => { sb.fs_size = BigInt(DEV); sb.fs_ncg = DEV / 2048; }, 'larger than the device'],
    ['fs_size not a safe integer', (sb) => { sb.fs_size = 2n ** 60n; }, 'fs_size'],
    ['fs_dsize', (sb) => { sb.fs_dsize = 5000n; }, 'fs_dsize 5000'],
    ['fs_cssize', (sb) => { sb.fs_cssize = 1 << 30; }, 'fs_cssize'],
    ['fs_csaddr', (sb) => { sb.fs_csaddr = 4096n; }, 'fs_csaddr 4096'],
    ['fs_maxsymlinklen', (sb) => { sb.fs_maxsymlinklen = 121; }, 'fs_maxsymlinklen 121'],
    ['fs_contigsumsize', (sb) => { sb.fs_contigsumsize = 17; }, 'fs_contigsumsize 17'],
    ['fs_sblockloc', (sb) => { sb.fs_sblockloc = 65536n; }, 'fs_sblockloc 65536'],
    ['fs_minfree', (sb) => { sb.fs_minfree = 100; }, 'fs_minfree 100'],
  ];
  for (const [label, damage, words] of CORRUPT) {
    it(`refuses a geometry with a bad ${label} (EFTYPE naming it)`, () => {
      const sb = smallSuperblock(2, true);
      damage(sb);
      const parsed = parseSuperblock(emitSuperblock(sb));
      assert.throws(() => superblockGeometry(parsed, DEV, 8192), rejects('EFTYPE', 'ffs superblock', words));
    });
  }
});

/** A cg block for group `c` of `sbUfs`'s geometry, laid out as newfs does. */
function smallCg(ufs: 1 | 2, le: boolean, c = 1): { bytes: Uint8Array; geo: ReturnType<typeof superblockGeometry> } {
  const geo = superblockGeometry(smallSuperblock(ufs, le), DEV, 8192);
  const b = new Uint8Array(geo.cgsize);
  const dv = new DataView(b.buffer);
  const iusedoff = 168;
  const freeoff = iusedoff + geo.ipg / 8;
  const clustersumoff = Math.ceil((freeoff + geo.fpg / 8) / 4) * 4 - 4;
  const clusteroff = clustersumoff + 4 * (geo.contigsumsize + 1);
  const set = (off: number, v: number): void => dv.setUint32(off, v, le);
  set(4, CG_MAGIC); set(12, c); set(20, 2048);
  set(24, 1); set(28, 200); set(32, 30); set(36, 5);
  set(92, iusedoff); set(96, freeoff); set(100, clusteroff + 256 / 8); set(104, clustersumoff); set(108, clusteroff);
  set(112, 256); set(116, geo.ipg * geo.dinodeSize / geo.bsize); set(120, geo.ipg);
  set(clustersumoff + 4, 3); set(clustersumoff + 4 * 8, 9);
  b[iusedoff] = 0b101;
  b[freeoff + 5] = 0xff;
  b[clusteroff + 2] = 0x80;
  return { bytes: b, geo };
}

describe('ffs cylinder group codec', () => {
  it('round-trips a cg block byte for byte and reads its counts and maps, in both byte orders', () => {
    for (const le of [true, false]) {
      const { bytes, geo } = smallCg(2, le);
      const cg = parseCg(bytes, le);
      assert.deepEqual(emitCg(cg), bytes);
      checkCg(cg, geo, 1);
      assert.deepEqual(cg.cg_cs, { cs_ndir: 1, cs_nbfree: 200, cs_nifree: 30, cs_nffree: 5 });
      assert.equal(cg.cg_initediblk, geo.ipg);
      const inos = cgInosUsed(cg, geo);
      assert.equal(inos.length, geo.ipg / 8);
      assert.deepEqual([0, 1, 2, 3].map((i) => isset(inos, i)), [true, false, true, false]);
      const free = cgBlksFree(cg, geo);
      assert.equal(free.length, geo.fpg / 8);
      assert.ok(isblock(8, free, 5), 'block 5 is wholly free');
      assert.ok(!isblock(8, free, 4));
      assert.ok(isset(cgClusterFree(cg, geo), 23));
      assert.deepEqual(cgClusterSum(cg, geo), [0, 3, 0, 0, 0, 0, 0, 0, 9]);
      // changes come back out
      cg.cg_cs.cs_nifree = 29;
      cg.cg_frsum[3] = 4;
      setbit(cgInosUsed(cg, geo), 1);
      const again = parseCg(emitCg(cg), le);
      assert.equal(again.cg_cs.cs_nifree, 29);
      assert.equal(again.cg_frsum[3], 4);
      assert.ok(isset(cgInosUsed(again, geo), 1));
    }
  });

  it('rejects a bad magic and maps or counts that do not fit, naming the field', () => {
    const { bytes, geo } = smallCg(1, true);
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(4, 0x1234, true);
    assert.throws(() => parseCg(bad, true, 'cylinder group 1'), rejects('EFTYPE', 'cylinder group 1', 'cg_magic 0x1234'));
    assert.throws(() => parseCg(bytes.subarray(0, 100), true), rejects('EINVAL'));
    const cases: [number, number, string][] = [
      [12, 2, 'cg_cgx 2'],
      [20, 5000, 'cg_ndblk 5000'],
      [92, 1020, 'cg_iusedoff 1020'],
      [96, 900, 'cg_freeoff 900'],
      [108, 1010, 'cg_clusteroff 1010'],
      [32, 1000, 'cg_cs.cs_nifree 1000'],
    ];
    for (const [off, v, words] of cases) {
      const b = bytes.slice();
      new DataView(b.buffer).setUint32(off, v, true);
      assert.throws(() => checkCg(parseCg(b, true), geo, 1), rejects('EFTYPE', 'cylinder group 1', words));
    }
  });
});

describe('ffs summary codec', () => {
  it('round-trips the summary area and checks each group', () => {
    for (const le of [true, false]) {
      const list = [{ cs_ndir: 3, cs_nbfree: 100, cs_nifree: 20, cs_nffree: 7 }, { cs_ndir: 0, cs_nbfree: 255, cs_nifree: 32, cs_nffree: 0 }];
      const b = emitCsumArray(list, le, 1024);
      assert.equal(b.length, 1024);
      assert.deepEqual(parseCsumArray(b, 2, le), list);
      assert.deepEqual(emitCsumArray(parseCsumArray(b, 2, le), le, 1024), b);
      assert.deepEqual(sumCsum(list), { cs_ndir: 3, cs_nbfree: 355, cs_nifree: 52, cs_nffree: 7 });
    }
    assert.equal(CSUM_SIZE, 16);
    const lim = { ipg: 32, fpg: 2048, frag: 8 };
    checkCsum({ cs_ndir: 1, cs_nbfree: 256, cs_nifree: 32, cs_nffree: 2048 }, 0, lim);
    assert.throws(() => checkCsum({ cs_ndir: 1, cs_nbfree: 257, cs_nifree: 0, cs_nffree: 0 }, 3, lim), rejects('EFTYPE', 'cylinder group 3', 'cs_nbfree 257'));
    assert.throws(() => checkCsum({ cs_ndir: -1, cs_nbfree: 0, cs_nifree: 0, cs_nffree: 0 }, 0, lim), rejects('EFTYPE', 'cs_ndir -1'));
    assert.throws(() => parseCsumArray(new Uint8Array(20), 2, true), rejects('EINVAL'));
  });
});

describe('ffs dinode codec', () => {
  it('round-trips every byte of UFS1 and UFS2 inodes full of noise, in both byte orders', () => {
    for (const le of [true, false]) {
      for (const ufs of [1, 2] as const) {
        const size = ufs === 1 ? UFS1_DINODE_SIZE : UFS2_DINODE_SIZE;
        const b = noise(size * 3, ufs * 7 + (le ? 1 : 0));
        const d = parseDinode(b, size, ufs, le);
        assert.deepEqual(emitDinode(d), b.subarray(size, 2 * size));
      }
    }
  });

  it('reads UFS1 fields from their offsets: 32-bit times and pointers, owners, fast link bytes', () => {
    const b = new Uint8Array(128);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, 0o100644, false); dv.setInt16(2, 3, false);
    dv.setBigUint64(8, 70000n, false);
    dv.setInt32(16, 1000, false); dv.setInt32(20, 5, false);
    dv.setInt32(24, -86400, false); dv.setInt32(28, 999999999, false);
    dv.setInt32(32, 2000, false); dv.setInt32(36, 2_000_000_000, false);
    for (let i = 0; i < 15; i++) dv.setInt32(40 + 4 * i, 1000 + i, false);
    dv.setUint32(100, 0x20000, false); dv.setUint32(104, 144, false); dv.setInt32(108, -2, false);
    dv.setUint32(112, 100000, false); dv.setUint32(116, 70000, false);
    dv.setUint16(4, 7, false); dv.setUint16(6, 8, false);
    const d = parseDinode(b, 0, 1, false);
    const i = inodeView(d);
    assert.equal(i.mode, 0o100644);
    assert.equal(i.nlink, 3);
    assert.equal(i.size, 70000);
    assert.deepEqual(i.atime, { sec: 1000, nsec: 5 });
    assert.deepEqual(i.mtime, { sec: -86400, nsec: 999999999 }, 'times before 1970');
    assert.deepEqual(i.ctime, { sec: 2000, nsec: 0 }, 'an impossible nanosecond count reads as 0');
    assert.deepEqual(i.birthtime, { sec: 0, nsec: 0 });
    assert.deepEqual(i.db, Array.from({ length: 12 }, (_, k) => 1000 + k));
    assert.deepEqual(i.ib, [1012, 1013, 1014]);
    assert.equal(i.flags, 0x20000);
    assert.equal(i.blocks, 144);
    assert.equal(i.gen, 0xfffffffe);
    assert.equal(i.uid, 100000);
    assert.equal(i.gid, 70000);
    assert.equal(i.rdev, 1000);
    assert.deepEqual(i.shortlink, b.subarray(40, 100));
    const old = inodeView(d, { oldFormat: true });
    assert.deepEqual([old.uid, old.gid], [7, 8], '4.2BSD owners at byte 4');
  });

  it('reads UFS2 fields from their offsets: 64-bit times, birth time, 64-bit pointers, extattr size', () => {
    const b = new Uint8Array(256);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, 0o040755, true); dv.setInt16(2, 5, true);
    dv.setUint32(4, 1234, true); dv.setUint32(8, 5678, true);
    dv.setBigUint64(16, 5n * 2n ** 30n, true); dv.setBigUint64(24, 10485776n, true);
    dv.setBigInt64(32, 1n, true); dv.setBigInt64(40, 4000000000n, true); dv.setBigInt64(48, 3n, true); dv.setBigInt64(56, 1234567890n, true);
    dv.setInt32(64, 123456789, true); dv.setInt32(68, 2, true); dv.setInt32(72, 4, true); dv.setInt32(76, 987654321, true);
    dv.setInt32(80, 77, true); dv.setUint32(88, 0x4, true); dv.setInt32(92, 512, true);
    for (let k = 0; k < 15; k++) dv.setBigInt64(112 + 8 * k, BigInt(2 ** 33 + k), true);
    const i = inodeView(parseDinode(b, 0, 2, true));
    assert.equal(i.size, 5 * 2 ** 30);
    assert.equal(i.blocks, 10485776);
    assert.deepEqual(i.atime, { sec: 1, nsec: 2 });
    assert.deepEqual(i.mtime, { sec: 4000000000, nsec: 123456789 }, 'past 2038');
    assert.deepEqual(i.ctime, { sec: 3, nsec: 4 });
    assert.deepEqual(i.birthtime, { sec: 1234567890, nsec: 987654321 });
    assert.equal(i.gen, 77);
    assert.equal(i.flags, 4);
    assert.equal(i.extsize, 512);
    assert.deepEqual(i.db, Array.from({ length: 12 }, (_, k) => 2 ** 33 + k));
    assert.deepEqual(i.ib, [2 ** 33 + 12, 2 ** 33 + 13, 2 ** 33 + 14]);
    assert.equal(i.shortlink.length, 120);
    assert.deepEqual([i.uid, i.gid], [1234, 5678]);
  });

  it('changes come back out, and sizes beyond the block map are EFTYPE naming di_size', () => {
    const d: Dinode = blankDinode(2, false);
    if (d.ufs !== 2) throw new Error('ufs2');
    d.di_mode = 0o120777;
    d.di_size = 10n;
    d.di_db[0] = 0x6f6f66n;
    const back = parseDinode(emitDinode(d), 0, 2, false);
    assert.equal(back.di_mode, 0o120777);
    assert.equal(back.di_size, 10n);
    assert.deepEqual(inodeView(back).shortlink.subarray(5, 8), new Uint8Array([0x6f, 0x6f, 0x66]));
    d.di_size = 2n ** 62n;
    assert.throws(() => inodeView(d, { maxSize: 2 ** 40 }), rejects('EFTYPE', 'di_size'));
    assert.throws(() => parseDinode(new Uint8Array(200), 0, 2, true), rejects('EINVAL', 'ufs2 dinode'));
  });
});

describe('ffs directory codec', () => {
  const ctx = (le: boolean, oldFormat = false): DirContext => ({ le, oldFormat, maxino: 1000, what: 'directory inode 5', base: 0 });

  it('builds 512-byte directory blocks and parses them back, new and old formats, both byte orders', () => {
    for (const le of [true, false]) {
      for (const oldFormat of [false, true]) {
        const entries = [
          { ino: 5, type: DT_DIR, name: enc('.') }, { ino: 2, type: DT_DIR, name: enc('..') },
          ...Array.from({ length: 40 }, (_, i) => ({ ino: 10 + i, type: DT_REG, name: enc(`file-${i}-${'y'.repeat(i)}`) })),
          { ino: 99, type: DT_REG, name: enc('\u00e9t\u00e9') },
        ];
        const b = buildDirBlock(entries, le, 4096, oldFormat);
        assert.equal(b.length, 4096);
        const got = parseDirBlock(b, ctx(le, oldFormat));
        const live = got.filter((e) => e.ino !== 0);
        assert.deepEqual(live.map((e) => [e.ino, e.type, new TextDecoder().decode(e.name)]),
          entries.map((e) => [e.ino, oldFormat ? DT_UNKNOWN : e.type, new TextDecoder().decode(e.name)]));
        // each chunk is exactly covered, empty chunks hold one free entry
        for (let c = 0; c < 8; c++) {
          const inChunk = got.filter((e) => e.offset >= c * DIRBLKSIZ && e.offset < (c + 1) * DIRBLKSIZ);
          assert.equal(inChunk.reduce((a, e) => a + e.reclen, 0), DIRBLKSIZ, `chunk ${c}`);
        }
        assert.equal(findDirEntry(b, ctx(le, oldFormat), enc('file-39-' + 'y'.repeat(39))), 49);
        assert.equal(findDirEntry(b, ctx(le, oldFormat), enc('file-39')), null);
        assert.equal(findDirEntry(b, ctx(le, oldFormat), enc('\u00e9t\u00e9')), 99);
      }
    }
    assert.equal(direntSize(0), 12);
    assert.equal(direntSize(3), 12);
    assert.equal(direntSize(4), 16);
    assert.equal(direntSize(255), 264);
  });

  it('writes entries at the struct direct offsets', () => {
    const b = new Uint8Array(512);
    emitDirEntry(b, 0, { ino: 0x01020304, reclen: 512, type: DT_REG, name: enc('abc') }, false);
    assert.deepEqual([...b.subarray(0, 12)], [1, 2, 3, 4, 2, 0, DT_REG, 3, 0x61, 0x62, 0x63, 0]);
    emitDirEntry(b, 0, { ino: 7, reclen: 512, type: DT_REG, name: enc('abc') }, true, true);
    assert.deepEqual([...b.subarray(0, 12)], [7, 0, 0, 0, 0, 2, 3, 0, 0x61, 0x62, 0x63, 0], 'old format: 16-bit d_namlen');
  });

  it('rejects bad entries with EFTYPE naming the field and offset; a walk always ends', () => {
    const good = buildDirBlock([{ ino: 5, type: DT_DIR, name: enc('.') }, { ino: 2, type: DT_DIR, name: enc('..') }, { ino: 9, type: DT_REG, name: enc('name') }], true);
    const cases: [string, (b: Uint8Array, dv: DataView) => void, string[]][] = [
      ['zero reclen', (_b, dv) => dv.setUint16(12 + 4, 0, true), ['offset 12', 'd_reclen 0']],
      ['reclen not a multiple of 4', (_b, dv) => dv.setUint16(12 + 4, 14, true), ['d_reclen 14']],
      ['reclen past the chunk', (_b, dv) => dv.setUint16(24 + 4, 600, true), ['d_reclen 600', 'past the end']],
      ['reclen shorter than the name', (_b, dv) => dv.setUint16(12 + 4, 8, true), ['d_reclen 8']],
      ['namlen too long for the record', (b) => { b[12 + 7] = 9; }, ['too short for a 9-byte name']],
      ['d_ino out of range', (_b, dv) => dv.setUint32(24, 5000, true), ['d_ino 5000', 'out of range']],
      ['NUL in the name', (b) => { b[24 + 9] = 0; }, ['NUL byte']],
      ['name not terminated', (b) => { b[24 + 12] = 0x41; }, ['not NUL-terminated']],
    ];
    for (const [label, damage, words] of cases) {
      const b = good.slice();
      damage(b, new DataView(b.buffer));
      assert.throws(() => parseDirBlock(b, ctx(true)), rejects('EFTYPE', 'directory inode 5', ...words), label);
    }
    // a free entry may start a chunk; its name is not checked
    const free = good.slice();
    new DataView(free.buffer).setUint32(0, 0, true);
    assert.equal(parseDirBlock(free, ctx(true))[0]!.ino, 0);
    assert.throws(() => parseDirBlock(new Uint8Array(100), ctx(true)), RangeError);
    assert.throws(() => buildDirBlock(Array.from({ length: 50 }, (_, i) => ({ ino: i + 3, type: DT_REG, name: enc(`n${i}`) })), true, 512), RangeError);
  });
});

describe('ffs block map', () => {
  /** An in-memory file system: indirect blocks by fragment address. */
  function memFs(ufs: 1 | 2, le: boolean, nindir: number): BmapFs & { blocks: Map<number, Uint8Array>; reads: number } {
    const blocks = new Map<number, Uint8Array>();
    const fs = {
      frag: 4, nindir, nfrags: 1 << 30, le, ufs, blocks, reads: 0,
      async withIndirect<T>(p: number, _what: string, fn: (b: Uint8Array) => T): Promise<T> {
        fs.reads++;
        return fn(blocks.get(p) ?? new Uint8Array(nindir * (ufs === 1 ? 4 : 8)));
      },
    };
    return fs;
  }

  function setPtr(fs: ReturnType<typeof memFs>, blk: number, slot: number, v: number): void {
    let b = fs.blocks.get(blk);
    if (b === undefined) fs.blocks.set(blk, b = new Uint8Array(fs.nindir * (fs.ufs === 1 ? 4 : 8)));
    const dv = new DataView(b.buffer);
    if (fs.ufs === 1) dv.setInt32(slot * 4, v, fs.le);
    else dv.setBigInt64(slot * 8, BigInt(v), fs.le);
  }

  function inode(db: number[], ib: number[]): Parameters<typeof bmapRun>[2] {
    return { ufs: 1, mode: 0o100644, nlink: 1, uid: 0, gid: 0, size: 0, blocks: 0, atime: { sec: 0, nsec: 0 }, mtime: { sec: 0, nsec: 0 },
      ctime: { sec: 0, nsec: 0 }, birthtime: { sec: 0, nsec: 0 }, flags: 0, gen: 0, db, ib, extsize: 0, rdev: 0, shortlink: new Uint8Array(0) };
  }

  it('maps direct blocks as runs of addresses a block apart, and holes as runs', async () => {
    const fs = memFs(1, true, 16);
    const ino = inode([100, 104, 108, 200, 0, 0, 0, 300, 304, 308, 312, 316], [0, 0, 0]);
    assert.deepEqual(await bmapRun(fs, 7, ino, 0, 100), { pblk: 100, count: 3 });
    assert.deepEqual(await bmapRun(fs, 7, ino, 1, 100), { pblk: 104, count: 2 });
    assert.deepEqual(await bmapRun(fs, 7, ino, 3, 100), { pblk: 200, count: 1 });
    assert.deepEqual(await bmapRun(fs, 7, ino, 4, 100), { pblk: 0, count: 3 });
    assert.deepEqual(await bmapRun(fs, 7, ino, 7, 2), { pblk: 300, count: 2 }, 'cut at max');
    assert.deepEqual(await bmapRun(fs, 7, ino, 12, 5), { pblk: 0, count: 5 }, 'no single indirect block: a hole');
  });

  for (const [ufs, le] of [[1, true], [2, false]] as const) {
    it(`walks single, double and triple indirect blocks (UFS${ufs}, ${le ? 'little' : 'big'}-endian), holes at every level`, async () => {
      const a = 16;
      const fs = memFs(ufs, le, a);
      const ino = inode(Array(12).fill(0), [1000, 2000, 3000]);
      // single: slots 0..3 contiguous, slot 5 alone
      for (let s = 0; s < 4; s++) setPtr(fs, 1000, s, 5000 + 4 * s);
      setPtr(fs, 1000, 5, 7000);
      assert.deepEqual(await bmapRun(fs, 9, ino, 12, 100), { pblk: 5000, count: 4 });
      assert.deepEqual(await bmapRun(fs, 9, ino, 14, 100), { pblk: 5008, count: 2 });
      assert.deepEqual(await bmapRun(fs, 9, ino, 16, 100), { pblk: 0, count: 1 });
      assert.deepEqual(await bmapRun(fs, 9, ino, 17, 100), { pblk: 7000, count: 1 });
      // double: block 12 + a + 3*a + 2 -> 2000[3] -> 2100[2]
      setPtr(fs, 2000, 3, 2100);
      setPtr(fs, 2100, 2, 8000);
      const dbl = 12 + a + 3 * a + 2;
      assert.deepEqual(await bmapRun(fs, 9, ino, dbl, 1), { pblk: 8000, count: 1 });
      assert.deepEqual(await bmapRun(fs, 9, ino, 12 + a, 1000), { pblk: 0, count: a }, 'a zero slot in the double block is a hole over its whole span');
      // triple: 3000[1] -> 3100[2] -> 3200[3]
      setPtr(fs, 3000, 1, 3100);
      setPtr(fs, 3100, 2, 3200);
      setPtr(fs, 3200, 3, 9000);
      setPtr(fs, 3200, 4, 9004);
      const tri = 12 + a + a * a + 1 * a * a + 2 * a + 3;
      assert.deepEqual(await bmapRun(fs, 9, ino, tri, 10), { pblk: 9000, count: 2 });
      assert.deepEqual(await bmapRun(fs, 9, ino, 12 + a + a * a, 10000), { pblk: 0, count: a * a }, 'hole under a zero triple slot');
      assert.deepEqual(await bmapRun(fs, 9, ino, maxMappedBlocks(a), 7), { pblk: 0, count: 7 }, 'beyond the map: a hole');
      assert.equal(maxMappedBlocks(a), 12 + a + a * a + a * a * a);
    });
  }

  it('refuses pointers outside the file system with EIO naming inode, logical block and level', async () => {
    const fs = memFs(2, true, 16);
    await assert.rejects(bmapRun({ ...fs, nfrags: 500 }, 4, inode([600, ...Array(11).fill(0)], [0, 0, 0]), 0, 1), rejects('EIO', 'inode 4', 'direct block pointer', 'logical block 0', 'fragment 600'));
    await assert.rejects(bmapRun(fs, 4, inode(Array(12).fill(0), [-8, 0, 0]), 12, 1), rejects('EIO', 'level-1 indirect block pointer', 'fragment -8'));
    setPtr(fs, 1000, 0, 2 ** 31);
    const bounded = { ...fs, nfrags: 2 ** 31, withIndirect: fs.withIndirect };
    await assert.rejects(bmapRun(bounded, 4, inode(Array(12).fill(0), [1000, 0, 0]), 12, 1), rejects('EIO', 'data block pointer', `fragment ${2 ** 31}`));
    await assert.rejects(bmapRun(bounded, 4, inode(Array(12).fill(0), [0, 1000, 0]), 12 + 16, 1), rejects('EIO', 'level-1 indirect block pointer', 'logical block 28'));
  });
});
