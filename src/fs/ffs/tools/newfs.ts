/**
 * newfs for FFS: lay out and write an empty UFS1 or UFS2 file system (NetBSD's sbin/newfs mkfs).
 *
 *   const plan = planLayout({ version: 2, size: 64 << 20, now, random });  // pure: the superblock
 *   await newfs(io, { version: 2, size: 64 << 20, now, random });          // writes the image
 *
 * The layout is mkfs's: the superblock at 8 KiB (UFS1) or 64 KiB (UFS2; 8 KiB in makefs style), each cylinder group
 * holding a superblock copy, its cg block, its inodes and its data; the groups sized so the cg
 * block fits one file system block, grown until there are fewer than MINCYLGRPS groups
 * (makefs style: one) or the maps fill the block, then shrunk until the last group can
 * hold its metadata. The summary area follows group 0's inodes. Inode density is reduced when the
 * maps would not fit a block. The root directory (inode 2, "." and "..", one fragment) is the
 * only file. UFS2 groups initialise their first two blocks of inodes (cg_initediblk), UFS1 groups
 * all of theirs; every inode gets a random generation number.
 *
 * Pure: time and randomness are arguments, I/O goes through `ImageIO`. Bad parameters are EINVAL
 * naming the parameter; a size too small for one group is ENOSPC.
 */

import { KernelError } from '../../../kern/errno.js';
import { DT_DIR } from '../../../kern/types.js';
import { clrbit, emitCg, isset, parseCg, setbit, type Cg } from '../cg.js';
import { howmany, isPow2, log2 } from '../codec.js';
import { emitCsumArray, type Csum } from '../csum.js';
import { blankDinode, emitDinode, UFS_NDADDR, UFS_NIADDR, UFS_ROOTINO } from '../dinode.js';
import { buildDirBlock, DIRBLKSIZ } from '../dir.js';
import {
  CG_MIN_SIZE, CSUM_SIZE, DEV_BSIZE, FS_44INODEFMT, FS_FLAGS_UPDATED, FS_ISCLEAN, FS_MAXCONTIG, FS_OPTSPACE, FS_OPTTIME,
  MAXBSIZE, MAXFRAG, MINBSIZE, SBLOCKSIZE, SBLOCK_STRUCT_SIZE, SBLOCK_UFS1, SBLOCK_UFS2, blankSuperblock, cgbase, cgdmin,
  cgimin, cgsblock, cgtod, dinodeSizeOf, emitSuperblock, maxSymlinkLenOf, parseSuperblock, ptrSizeOf, superblockGeometry,
  type Geometry, type Superblock,
} from '../superblock.js';
import type { ImageIO } from './io.js';

/** Inodes per this many fragments by default (NetBSD's NFPI). */
export const NFPI = 4;
/** newfs stops growing groups when there would be fewer than this many. */
export const MINCYLGRPS = 4;
/** MAXPHYS: the largest transfer, which bounds fs_maxcontig. */
const MAXPHYS = 64 * 1024;
/** sizeof(struct cg) as CGSIZE counts it (the header plus cg_space, padded). */
const CG_STRUCT_SIZE = 176;

export interface NewfsOptions {
  /** 1: UFS1 (FFSv1), 2: UFS2. */
  version: 1 | 2;
  /** File system size in bytes (whole sectors). */
  size: number;
  /** Block size (default 8192, 16384 at 1 GiB and above). */
  bsize?: number;
  /** Fragment size (default bsize / 8). */
  fsize?: number;
  /** Bytes of data per inode (default NFPI fragments). */
  density?: number;
  /** Reserved percentage (default 5). */
  minfree?: number;
  optimization?: 'time' | 'space';
  /** Largest run of contiguous blocks (default MAXPHYS / bsize). */
  maxcontig?: number;
  /** Blocks one file may take from a group (default bsize / 4). */
  maxbpg?: number;
  /** Largest group: compared with fs_fpg, so in fragments, as makefs's maxbpcg is (default: the whole file system). */
  maxbpcg?: number;
  avgfilesize?: number;
  avgfpdir?: number;
  /** Little-endian (default) or big-endian. */
  littleEndian?: boolean;
  /** Sector size (default 512). */
  sectorSize?: number;
  /**
   * Whose layout rules: 'newfs' (default; NetBSD newfs: UFS2's superblock at 64 KiB, groups
   * grown while at least MINCYLGRPS remain) or 'makefs' (NetBSD makefs, for small images: every
   * superblock at 8 KiB, groups grown while one remains), whose images then match makefs's.
   */
  style?: 'newfs' | 'makefs';
  volname?: string;
  /** Time stamp (seconds) of the superblock, groups and root. */
  now: number;
  /** 32-bit random numbers (fs_id, inode generation numbers). */
  random: () => number;
}

/** The planned file system: its superblock (cstotal as after the root is made) and what newfs would print. */
export interface Plan {
  sb: Superblock;
  geo: Geometry;
  /** Notes such as "density reduced from A to B". */
  notes: string[];
}

function inval(what: string): never {
  throw new KernelError('EINVAL', `newfs: ${what}`);
}

/** CGSIZE_IF: bytes of a cg block with `ipg` inodes and `fpg` fragments. */
function cgsizeOf(sb: Superblock, ipg: number, fpg: number): number {
  return CG_STRUCT_SIZE + 4 + sb.fs_old_cpg * 4 + sb.fs_old_cpg * 2 + howmany(ipg, 8) + howmany(fpg, 8)
    + (sb.fs_contigsumsize <= 0 ? 0 : sb.fs_contigsumsize * 4 + howmany(fpg / sb.fs_frag, 8));
}

const roundup = (x: number, y: number): number => Math.ceil(x / y) * y;

/** Lay the file system out (mkfs's arithmetic): the superblock newfs would write. */
export function planLayout(o: NewfsOptions): Plan {
  const v = o.version;
  if (v !== 1 && v !== 2) inval(`-O ${String(v)}: the format must be 1 (UFS1) or 2 (UFS2)`);
  const sector = o.sectorSize ?? DEV_BSIZE;
  if (!isPow2(sector) || sector < DEV_BSIZE) inval(`sector size ${sector} must be a power of two of at least ${DEV_BSIZE}`);
  if (!Number.isSafeInteger(o.size) || o.size <= 0 || o.size % sector !== 0) inval(`size ${o.size} must be a positive multiple of the ${sector}-byte sector`);
  const bsize = o.bsize ?? (o.fsize !== undefined ? Math.min(MAXBSIZE, o.fsize * 8) : o.size >= 2 ** 30 ? 16384 : 8192);
  if (!isPow2(bsize) || bsize < MINBSIZE || bsize > MAXBSIZE) inval(`-b ${bsize}: block size must be a power of two from ${MINBSIZE} to ${MAXBSIZE}`);
  const fsize = o.fsize ?? Math.max(bsize / MAXFRAG, sector);
  if (!isPow2(fsize) || fsize < sector || fsize > bsize || bsize / fsize > MAXFRAG) {
    inval(`-f ${fsize}: fragment size must be a power of two from ${Math.max(sector, bsize / MAXFRAG)} to the block size ${bsize}`);
  }
  const le = o.littleEndian ?? true;
  const sb = blankSuperblock(v, le, SBLOCKSIZE);
  const dinode = dinodeSizeOf(v);
  const frag = bsize / fsize;
  sb.fs_bsize = bsize;
  sb.fs_fsize = fsize;
  sb.fs_frag = frag;
  sb.fs_bmask = ~(bsize - 1);
  sb.fs_fmask = ~(fsize - 1);
  sb.fs_qbmask = BigInt(bsize - 1);
  sb.fs_qfmask = BigInt(fsize - 1);
  sb.fs_bshift = log2(bsize);
  sb.fs_fshift = log2(fsize);
  sb.fs_fragshift = log2(frag);
  sb.fs_fsbtodb = log2(fsize / sector);
  const size = Math.floor(o.size / fsize);
  if (v === 1 && size >= 2 ** 31) inval(`size ${o.size}: UFS1 holds at most 2^31 fragments`);
  sb.fs_nindir = bsize / ptrSizeOf(v);
  sb.fs_inopb = bsize / dinode;
  let maxfilesize = BigInt(bsize * UFS_NDADDR - 1);
  for (let i = 0, sizepb = BigInt(bsize); i < UFS_NIADDR; i++) {
    sizepb *= BigInt(sb.fs_nindir);
    maxfilesize += sizepb;
  }
  sb.fs_maxfilesize = maxfilesize;
  const style = o.style ?? 'newfs';
  if (style !== 'newfs' && style !== 'makefs') inval(`layout style '${String(style)}' must be 'newfs' or 'makefs'`);
  const sblockloc = v === 1 || style === 'makefs' ? SBLOCK_UFS1 : SBLOCK_UFS2;
  sb.fs_sblockloc = BigInt(sblockloc);
  sb.fs_sblkno = roundup(howmany(sblockloc + SBLOCKSIZE, fsize), frag);
  sb.fs_cblkno = sb.fs_sblkno + roundup(howmany(SBLOCKSIZE, fsize), frag);
  sb.fs_iblkno = sb.fs_cblkno + frag;
  sb.fs_maxbsize = bsize;
  const maxcontig = o.maxcontig ?? Math.max(1, Math.floor(Math.min(MAXPHYS, MAXBSIZE) / bsize));
  if (!Number.isSafeInteger(maxcontig) || maxcontig < 1) inval(`maxcontig ${maxcontig} must be at least 1`);
  sb.fs_maxcontig = maxcontig;
  sb.fs_contigsumsize = maxcontig > 1 ? Math.min(maxcontig, FS_MAXCONTIG) : 0;
  sb.fs_minfree = o.minfree ?? 5;
  if (!Number.isInteger(sb.fs_minfree) || sb.fs_minfree < 0 || sb.fs_minfree > 99) inval(`minfree ${sb.fs_minfree} must be a percentage from 0 to 99`);
  sb.fs_optim = o.optimization === 'space' ? FS_OPTSPACE : FS_OPTTIME;
  sb.fs_maxbpg = o.maxbpg ?? bsize / 4;
  sb.fs_avgfilesize = o.avgfilesize ?? 16384;
  sb.fs_avgfpdir = o.avgfpdir ?? 64;
  if (v === 1) {
    sb.fs_old_inodefmt = FS_44INODEFMT;
    sb.fs_old_cgmask = -1;
    sb.fs_old_cgoffset = 0;
    sb.fs_old_rotdelay = 0;
    sb.fs_old_rps = 60;
    sb.fs_old_nspf = fsize / sector;
    sb.fs_old_cpg = 1;
    sb.fs_old_interleave = 1;
    sb.fs_old_trackskew = 0;
    sb.fs_old_cpc = 0;
    sb.fs_old_postblformat = 1;
    sb.fs_old_nrpos = 1;
  } else {
    sb.fs_old_inodefmt = FS_44INODEFMT;
  }
  sb.fs_maxsymlinklen = maxSymlinkLenOf(v);
  if (size * fsize < (sb.fs_iblkno + 2 * frag) * fsize) throw new KernelError('ENOSPC', `newfs: size ${o.size} is too small for a file system (at least ${(sb.fs_iblkno + 2 * frag) * fsize} bytes)`);

  // blocks per cylinder group (mkfs's search)
  const notes: string[] = [];
  const inopf = sb.fs_inopb / frag;
  const origDensity = o.density ?? NFPI * fsize;
  if (!Number.isSafeInteger(origDensity) || origDensity < 1) inval(`density ${origDensity} must be a positive number of bytes per inode`);
  let density = origDensity;
  let fragsperinode = 1;
  let fpg = 0, ipg = 0;
  for (;;) {
    fragsperinode = Math.max(howmany(density, fsize), 1);
    let minfpg = fragsperinode * sb.fs_inopb;
    if (minfpg > size) minfpg = size;
    ipg = sb.fs_inopb;
    fpg = roundup(sb.fs_iblkno + ipg / inopf, frag);
    if (fpg < minfpg) fpg = minfpg;
    ipg = roundup(howmany(fpg, fragsperinode), sb.fs_inopb);
    fpg = roundup(sb.fs_iblkno + ipg / inopf, frag);
    if (fpg < minfpg) fpg = minfpg;
    ipg = roundup(howmany(fpg, fragsperinode), sb.fs_inopb);
    if (cgsizeOf(sb, ipg, fpg) < bsize) break;
    if (density <= fsize) inval(`density ${origDensity}: no inode count fits a cylinder group map in ${bsize}-byte blocks`);
    density -= fsize;
  }
  if (density !== origDensity) notes.push(`density reduced from ${origDensity} to ${density}`);
  let maxblkspercg = o.maxbpcg ?? 0;
  if (maxblkspercg <= 0 || maxblkspercg >= size) maxblkspercg = size - 1;
  const minCg = style === 'makefs' ? 1 : MINCYLGRPS;
  for (; fpg < maxblkspercg; fpg += frag) {
    ipg = roundup(howmany(fpg, fragsperinode), sb.fs_inopb);
    // UFS1 keeps a group's inode count in 16 bits in places (newfs's check; makefs has none)
    if (v === 2 || style === 'makefs' || ipg <= 0x7fff) {
      if (Math.floor(size / fpg) < minCg) break;
      const cgsize = cgsizeOf(sb, ipg, fpg);
      if (cgsize < bsize) continue;
      if (cgsize === bsize) break;
    }
    fpg -= frag;
    ipg = roundup(howmany(fpg, fragsperinode), sb.fs_inopb);
    break;
  }
  // the last group must hold its own metadata
  const optimalfpg = fpg;
  let ncg = 0;
  for (;;) {
    ncg = howmany(size, fpg);
    const lastminfpg = roundup(sb.fs_iblkno + ipg / inopf, frag);
    if (size < lastminfpg) throw new KernelError('ENOSPC', `newfs: file system size ${size} fragments is below the minimum of ${lastminfpg}`);
    if (size % fpg >= lastminfpg || size % fpg === 0) break;
    fpg -= frag;
    ipg = roundup(howmany(fpg, fragsperinode), sb.fs_inopb);
  }
  if (optimalfpg !== fpg) notes.push(`reduced fragments per cylinder group from ${optimalfpg} to ${fpg}`);
  sb.fs_fpg = fpg;
  sb.fs_ipg = ipg;
  sb.fs_ncg = ncg;
  sb.fs_cgsize = roundup(cgsizeOf(sb, ipg, fpg), fsize);
  sb.fs_dblkno = sb.fs_iblkno + ipg / inopf;
  if (v === 1) {
    sb.fs_old_spc = fpg * sb.fs_old_nspf;
    sb.fs_old_nsect = sb.fs_old_spc;
    sb.fs_old_npsect = sb.fs_old_spc;
    sb.fs_old_ncyl = ncg;
  }
  sb.fs_size = BigInt(size);
  sb.fs_cssize = roundup(ncg * CSUM_SIZE, fsize);
  sb.fs_sbsize = Math.min(roundup(SBLOCK_STRUCT_SIZE, fsize), SBLOCKSIZE);
  sb.fs_clean = FS_ISCLEAN;
  sb.fs_old_flags = FS_FLAGS_UPDATED;
  sb.fs_id0 = o.now | 0;
  sb.fs_id1 = o.random() & 0x7fffffff;
  if (o.volname !== undefined) {
    const name = new TextEncoder().encode(o.volname);
    if (name.length >= sb.fs_volname.length) inval(`volume name '${o.volname}' is longer than ${sb.fs_volname.length - 1} bytes`);
    sb.fs_volname = new Uint8Array(sb.fs_volname.length);
    sb.fs_volname.set(name);
  }
  // the summary area starts at group 0's first data fragment (cgdmin(0))
  sb.fs_csaddr = BigInt(sb.fs_dblkno);
  const csfrags = howmany(sb.fs_cssize, fsize);
  let dsize = size - sb.fs_sblkno - ncg * (sb.fs_dblkno - sb.fs_sblkno);
  const nbfree = Math.floor(dsize / frag) - howmany(csfrags, frag);
  const fragnum = (x: number): number => x % frag;
  const nffree = fragnum(size) + (fragnum(csfrags) > 0 ? frag - fragnum(csfrags) : 0);
  dsize -= csfrags;
  sb.fs_dsize = BigInt(dsize);
  sb.fs_cstotal_nbfree = BigInt(nbfree);
  sb.fs_cstotal_nffree = BigInt(nffree);
  sb.fs_cstotal_nifree = BigInt(ncg * ipg - UFS_ROOTINO);
  sb.fs_cstotal_ndir = 0n;
  sb.fs_time = BigInt(o.now);
  if (v === 1) {
    sb.fs_old_size = size;
    sb.fs_old_dsize = dsize;
    sb.fs_old_csaddr = sb.fs_dblkno;
    sb.fs_old_time = o.now | 0;
  }
  syncOldTotals(sb);
  const parsed = parseSuperblock(emitSuperblock(sb));
  const geo = superblockGeometry(parsed, size * fsize, sblockloc);
  return { sb: parsed, geo, notes };
}

/** The 32-bit copy of the totals (UFS1's own; makefs fills it in UFS2 superblocks too). */
function syncOldTotals(sb: Superblock): void {
  sb.fs_old_cstotal_ndir = Number(sb.fs_cstotal_ndir);
  sb.fs_old_cstotal_nbfree = Number(sb.fs_cstotal_nbfree);
  sb.fs_old_cstotal_nifree = Number(sb.fs_cstotal_nifree);
  sb.fs_old_cstotal_nffree = Number(sb.fs_cstotal_nffree);
}

/** setblock: mark block `h` (in blocks) wholly free in the fragment map. */
function setblock(frag: number, map: Uint8Array, h: number): void {
  for (let i = 0; i < frag; i++) setbit(map, h * frag + i);
}

/** A new cylinder group `c` (mkfs's initcg): maps, counts and cluster summary. */
function initcg(sb: Superblock, g: Geometry, c: number, now: number): { cg: Cg; cs: Csum } {
  const frag = g.frag;
  const cbase = cgbase(g, c);
  const dmax = Math.min(cbase + g.fpg, g.size);
  const dlower = cgsblock(g, c) - cbase;
  let dupper = cgdmin(g, c) - cbase;
  if (c === 0) dupper += howmany(g.cssize, g.fsize);
  const raw = new Uint8Array(g.cgsize);
  const dv = new DataView(raw.buffer);
  dv.setInt32(4, 0x090255, g.le);
  const cg = parseCg(raw, g.le);
  cg.cg_cgx = c;
  cg.cg_ndblk = dmax - cbase;
  cg.cg_niblk = g.ipg;
  if (g.contigsumsize > 0) cg.cg_nclusterblks = cg.cg_ndblk / frag | 0;
  const start = CG_MIN_SIZE;
  if (g.ufs === 2) {
    cg.cg_time = BigInt(now);
    cg.cg_initediblk = Math.min(g.ipg, 2 * g.inopb);
    cg.cg_iusedoff = start;
  } else {
    cg.cg_old_ncyl = c === g.ncg - 1 ? howmany(cg.cg_ndblk, g.fpg / sb.fs_old_cpg) : sb.fs_old_cpg;
    cg.cg_old_time = now | 0;
    cg.cg_old_niblk = g.ipg;
    cg.cg_niblk = 0;
    cg.cg_initediblk = 0;
    cg.cg_old_btotoff = start;
    cg.cg_old_boff = cg.cg_old_btotoff + sb.fs_old_cpg * 4;
    cg.cg_iusedoff = cg.cg_old_boff + sb.fs_old_cpg * 2;
  }
  cg.cg_freeoff = cg.cg_iusedoff + howmany(g.ipg, 8);
  if (g.contigsumsize <= 0) {
    cg.cg_nextfreeoff = cg.cg_freeoff + howmany(g.fpg, 8);
  } else {
    cg.cg_clustersumoff = roundup(cg.cg_freeoff + howmany(g.fpg, 8) - 4, 4);
    cg.cg_clusteroff = cg.cg_clustersumoff + (g.contigsumsize + 1) * 4;
    cg.cg_nextfreeoff = cg.cg_clusteroff + howmany(g.fpg / frag, 8);
  }
  if (cg.cg_nextfreeoff > g.cgsize) throw new KernelError('EINVAL', `newfs: cylinder group ${c} maps need ${cg.cg_nextfreeoff} bytes, more than fs_cgsize ${g.cgsize}`);
  const cs = cg.cg_cs;
  cs.cs_nifree += g.ipg;
  const inos = cg.raw.subarray(cg.cg_iusedoff);
  const free = cg.raw.subarray(cg.cg_freeoff);
  const clusters = cg.raw.subarray(cg.cg_clusteroff);
  if (c === 0) {
    for (let i = 0; i < UFS_ROOTINO; i++) {
      setbit(inos, i);
      cs.cs_nifree--;
    }
  }
  if (c > 0) {
    // the space before the superblock copy of groups other than 0 holds data
    for (let d = 0, blkno = 0; d < dlower; d += frag, blkno++) {
      setblock(frag, free, blkno);
      if (g.contigsumsize > 0) setbit(clusters, blkno);
      cs.cs_nbfree++;
    }
  }
  const partial = dupper & (frag - 1);
  if (partial !== 0) {
    cg.cg_frsum[frag - partial]!++;
    for (const d = dupper + frag - partial; dupper < d; dupper++) {
      setbit(free, dupper);
      cs.cs_nffree++;
    }
  }
  let d = dupper;
  for (let blkno = Math.floor(dupper / frag); d + frag <= cg.cg_ndblk; d += frag, blkno++) {
    setblock(frag, free, blkno);
    if (g.contigsumsize > 0) setbit(clusters, blkno);
    cs.cs_nbfree++;
  }
  if (d < cg.cg_ndblk) {
    cg.cg_frsum[cg.cg_ndblk - d]!++;
    for (; d < cg.cg_ndblk; d++) {
      setbit(free, d);
      cs.cs_nffree++;
    }
  }
  clusterSum(cg, g);
  return { cg, cs: { ...cs } };
}

/** Recompute the cluster summary of `cg` from its cluster map. */
function clusterSum(cg: Cg, g: Geometry): void {
  if (g.contigsumsize <= 0) return;
  const dv = new DataView(cg.raw.buffer, cg.raw.byteOffset, cg.raw.byteLength);
  const sum = new Array<number>(g.contigsumsize + 1).fill(0);
  const map = cg.raw.subarray(cg.cg_clusteroff);
  let run = 0;
  for (let i = 0; i < cg.cg_nclusterblks; i++) {
    if (isset(map, i)) {
      run++;
    } else if (run !== 0) {
      sum[Math.min(run, g.contigsumsize)]!++;
      run = 0;
    }
  }
  if (run !== 0) sum[Math.min(run, g.contigsumsize)]!++;
  for (let i = 1; i <= g.contigsumsize; i++) dv.setInt32(cg.cg_clustersumoff + 4 * i, sum[i]!, cg.le);
}

/**
 * Allocate `bytes` (at most a block) for a new object in group 0, as the kernel's ffs_alloccg
 * does: a fragment request takes the start of the smallest free fragment run that fits (cg_frsum
 * says which sizes exist), a whole-block request (or one no run fits) the first wholly free
 * block, whose unused fragments stay free. Returns the fragment address.
 */
function allocFrags(sb: Superblock, g: Geometry, cg: Cg, cs0: Csum, bytes: number, dir: boolean): number {
  const frag = g.frag;
  const free = cg.raw.subarray(cg.cg_freeoff);
  const used = howmany(bytes, g.fsize);
  const count = (n: number): void => {
    cg.cg_cs.cs_nffree += n;
    cs0.cs_nffree += n;
    sb.fs_cstotal_nffree += BigInt(n);
  };
  if (dir) {
    cg.cg_cs.cs_ndir++;
    cs0.cs_ndir++;
    sb.fs_cstotal_ndir++;
  }
  if (used < frag) {
    let allocsiz = used;
    while (allocsiz < frag && (cg.cg_frsum[allocsiz] ?? 0) === 0) allocsiz++;
    if (allocsiz < frag) {
      // the first run of exactly `allocsiz` free fragments inside a block
      for (let b = 0; b * frag < cg.cg_ndblk; b++) {
        let run = 0;
        for (let i = 0; i <= frag; i++) {
          const f = b * frag + i;
          if (i < frag && f < cg.cg_ndblk && isset(free, f)) {
            run++;
            continue;
          }
          if (run === allocsiz) {
            const at = f - run;
            for (let k = 0; k < used; k++) clrbit(free, at + k);
            // ffs_mapsearch leaves the rotor at the map byte where the run was found
            cg.cg_frotor = Math.floor(at / 8) * 8;
            cg.cg_frsum[allocsiz]!--;
            if (allocsiz > used) cg.cg_frsum[allocsiz - used]!++;
            count(-used);
            return at;
          }
          run = 0;
        }
      }
      throw new KernelError('EIO', `newfs: cylinder group 0 counts a free run of ${allocsiz} fragments its map does not have`);
    }
  }
  let d = 0;
  for (; d + frag <= cg.cg_ndblk; d += frag) {
    let all = true;
    for (let i = 0; i < frag; i++) if (!isset(free, d + i)) { all = false; break; }
    if (all) break;
  }
  if (d + frag > cg.cg_ndblk) throw new KernelError('ENOSPC', 'newfs: no free block in cylinder group 0 for the root directory');
  for (let i = 0; i < frag; i++) clrbit(free, d + i);
  // ffs_alloccgblk's rotors: the block taken, and the map byte it was found in
  cg.cg_rotor = d;
  cg.cg_frotor = Math.floor(d / 8) * 8;
  if (g.contigsumsize > 0) clrbit(cg.raw.subarray(cg.cg_clusteroff), d / frag);
  cg.cg_cs.cs_nbfree--;
  cs0.cs_nbfree--;
  sb.fs_cstotal_nbfree--;
  if (used < frag) {
    count(frag - used);
    cg.cg_frsum[frag - used]!++;
    for (let i = used; i < frag; i++) setbit(free, d + i);
  }
  clusterSum(cg, g);
  return d;
}

/**
 * Write a new file system to `io` (which must hold `o.size` bytes): the superblock and its
 * copies, every cylinder group with its inodes, the summary area and the root directory.
 * Returns the plan as written (the superblock with the root counted).
 */
export async function newfs(io: ImageIO, o: NewfsOptions): Promise<Plan> {
  const plan = planLayout(o);
  const { sb, geo: g } = plan;
  if (io.size < g.size * g.fsize) {
    throw new KernelError('ENOSPC', `newfs: the image (${io.size} bytes) is smaller than the file system (${g.size * g.fsize} bytes)`);
  }
  const csums: Csum[] = [];
  const cgs: Cg[] = [];
  for (let c = 0; c < g.ncg; c++) {
    const { cg, cs } = initcg(sb, g, c, o.now);
    cgs.push(cg);
    csums.push(cs);
  }
  // the root directory: one fragment holding "." and ".."
  const cg0 = cgs[0]!;
  const rootFrag = allocFrags(sb, g, cg0, csums[0]!, DIRBLKSIZ, true);
  setbit(cg0.raw.subarray(cg0.cg_iusedoff), UFS_ROOTINO);
  cg0.cg_cs.cs_nifree--;
  csums[0]!.cs_nifree--;
  sb.fs_cstotal_nifree--;
  syncOldTotals(sb);
  const dirBytes = new Uint8Array(howmany(DIRBLKSIZ, g.fsize) * g.fsize);
  dirBytes.set(buildDirBlock([{ ino: UFS_ROOTINO, type: DT_DIR, name: new Uint8Array([0x2e]) }, { ino: UFS_ROOTINO, type: DT_DIR, name: new Uint8Array([0x2e, 0x2e]) }], g.le, DIRBLKSIZ));

  // inodes: UFS1 all of them, UFS2 the first two blocks of each group, each with a generation number
  const inodeBlocks = g.ufs === 1 ? g.ipg / g.inopb : Math.min(g.ipg / g.inopb, 2);
  for (let c = 0; c < g.ncg; c++) {
    const cg = cgs[c]!;
    await io.write(cgtod(g, c) * g.fsize, emitCg(cg));
    const buf = new Uint8Array(inodeBlocks * g.bsize);
    for (let i = 0; i < inodeBlocks * g.inopb; i++) {
      const ino = c * g.ipg + i;
      const d = blankDinode(g.ufs, g.le);
      d.di_gen = o.random() & 0x7fffffff;
      if (ino === UFS_ROOTINO) {
        d.di_mode = 0o040755;
        d.di_nlink = 2;
        d.di_size = BigInt(DIRBLKSIZ);
        if (d.ufs === 1) {
          d.di_db[0] = rootFrag;
          d.di_blocks = dirBytes.length / DEV_BSIZE;
          d.di_atime = d.di_mtime = d.di_ctime = o.now | 0;
        } else {
          d.di_db[0] = BigInt(rootFrag);
          d.di_blocks = BigInt(dirBytes.length / DEV_BSIZE);
          d.di_atime = d.di_mtime = d.di_ctime = d.di_birthtime = BigInt(o.now);
        }
      }
      buf.set(emitDinode(d), i * g.dinodeSize);
    }
    await io.write(cgimin(g, c) * g.fsize, buf);
  }
  await io.write(rootFrag * g.fsize, dirBytes);
  await io.write(g.csaddr * g.fsize, emitCsumArray(csums, g.le, g.cssize));
  const sbBytes = emitSuperblock(sb).subarray(0, g.sbsize);
  for (let c = 0; c < g.ncg; c++) await io.write(cgsblock(g, c) * g.fsize, sbBytes);
  await io.write(g.sblockloc, sbBytes);
  await io.flush?.();
  const final = parseSuperblock(emitSuperblock(sb));
  return { sb: final, geo: superblockGeometry(final, io.size, g.sblockloc), notes: plan.notes };
}

