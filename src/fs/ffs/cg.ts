/**
 * The cylinder group block (struct cg): a group's counts and its maps, at fragment `fs_cblkno`
 * of the group, `fs_cgsize` bytes.
 *
 *   const cg = parseCg(bytes, le);     // EFTYPE naming cg_magic if it is not a cg block
 *   checkCg(cg, geo, c);               // EFTYPE naming the field that does not fit the file system
 *   cgInosUsed(cg, geo) / cgBlksFree(cg, geo) / cgClusterFree(cg, geo) / cgClusterSum(cg, geo)
 *   emitCg(cg)                         // the same bytes back
 *
 * The maps are reached through byte offsets in the header (cg_iusedoff: one bit per inode, set =
 * in use; cg_freeoff: one bit per fragment, set = free; cg_clusteroff: one bit per block, set =
 * free; cg_clustersumoff: counts of free clusters by length, indexed 1..fs_contigsumsize, so the
 * offset points one int32 before the first used count). UFS1 groups also carry the old
 * rotational tables (cg_old_btotoff, cg_old_boff), kept as bytes. `checkCg` guarantees every map
 * lies inside the block, so the accessors cannot read past it. Pure module.
 */

import { corrupt, decode, encode, howmany, need, view, type Field } from './codec.js';
import { CG_MIN_SIZE, MAXFRAG, type Csum, type Geometry } from './superblock.js';

export const CG_MAGIC = 0x090255;

export interface Cg {
  cg_firstfield: number;
  cg_magic: number;
  cg_old_time: number;
  cg_cgx: number;
  cg_old_ncyl: number;
  cg_old_niblk: number;
  cg_ndblk: number;
  cg_cs: Csum;
  cg_rotor: number;
  cg_frotor: number;
  cg_irotor: number;
  /** Counts of free fragment runs by length (index 1..frag-1 used). */
  cg_frsum: number[];
  cg_old_btotoff: number;
  cg_old_boff: number;
  cg_iusedoff: number;
  cg_freeoff: number;
  cg_nextfreeoff: number;
  cg_clustersumoff: number;
  cg_clusteroff: number;
  cg_nclusterblks: number;
  cg_niblk: number;
  cg_initediblk: number;
  cg_sparecon32: Uint8Array;
  cg_time: bigint;
  cg_sparecon64: Uint8Array;
  le: boolean;
  /** The whole block it was parsed from (maps included); emit writes over a copy. */
  raw: Uint8Array;
}

type CgHeader = Omit<Cg, 'cg_cs' | 'cg_frsum' | 'le' | 'raw'> & {
  cs_ndir: number; cs_nbfree: number; cs_nifree: number; cs_nffree: number;
} & Record<`frsum${number}`, number>;

const FIELDS: readonly Field[] = [
  ['cg_firstfield', 0, 'i32'], ['cg_magic', 4, 'i32'], ['cg_old_time', 8, 'i32'], ['cg_cgx', 12, 'u32'],
  ['cg_old_ncyl', 16, 'i16'], ['cg_old_niblk', 18, 'i16'], ['cg_ndblk', 20, 'u32'],
  ['cs_ndir', 24, 'i32'], ['cs_nbfree', 28, 'i32'], ['cs_nifree', 32, 'i32'], ['cs_nffree', 36, 'i32'],
  ['cg_rotor', 40, 'u32'], ['cg_frotor', 44, 'u32'], ['cg_irotor', 48, 'u32'],
  ...Array.from({ length: MAXFRAG }, (_, i): Field => [`frsum${i}`, 52 + 4 * i, 'u32']),
  ['cg_old_btotoff', 84, 'i32'], ['cg_old_boff', 88, 'i32'], ['cg_iusedoff', 92, 'u32'], ['cg_freeoff', 96, 'u32'],
  ['cg_nextfreeoff', 100, 'u32'], ['cg_clustersumoff', 104, 'u32'], ['cg_clusteroff', 108, 'u32'],
  ['cg_nclusterblks', 112, 'u32'], ['cg_niblk', 116, 'u32'], ['cg_initediblk', 120, 'u32'],
  ['cg_sparecon32', 124, { bytes: 12 }], ['cg_time', 136, 'i64'], ['cg_sparecon64', 144, { bytes: 24 }],
];

/** Decode a cg block (at least the 168-byte header); EFTYPE naming cg_magic if it is not one. */
export function parseCg(b: Uint8Array, le: boolean, what = 'cylinder group'): Cg {
  need(b, 0, CG_MIN_SIZE, what);
  const h = decode<CgHeader>(b, 0, FIELDS, le);
  if (h.cg_magic !== CG_MAGIC) corrupt(`${what}: cg_magic 0x${(h.cg_magic >>> 0).toString(16)} is not 0x${CG_MAGIC.toString(16)}`);
  const { cs_ndir, cs_nbfree, cs_nifree, cs_nffree, ...rest } = h;
  const cg = rest as unknown as Cg;
  for (let i = 0; i < MAXFRAG; i++) delete (cg as unknown as Record<string, unknown>)[`frsum${i}`];
  cg.cg_cs = { cs_ndir, cs_nbfree, cs_nifree, cs_nffree };
  cg.cg_frsum = Array.from({ length: MAXFRAG }, (_, i) => h[`frsum${i}`] ?? 0);
  cg.le = le;
  cg.raw = b.slice();
  return cg;
}

/** The cg block's bytes: `raw` with the header written back. */
export function emitCg(cg: Cg): Uint8Array {
  const out = cg.raw.slice();
  need(out, 0, CG_MIN_SIZE, 'cylinder group');
  if (cg.cg_frsum.length !== MAXFRAG) throw new RangeError(`cylinder group: cg_frsum must have ${MAXFRAG} counts`);
  const rec: Record<string, unknown> = { ...cg, ...cg.cg_cs };
  cg.cg_frsum.forEach((v, i) => { rec[`frsum${i}`] = v; });
  encode(out, 0, FIELDS, rec, cg.le, 'cylinder group');
  return out;
}

/** Inode blocks of group `c` (UFS1 keeps them in cg_old_niblk). */
export function cgNiblk(cg: Cg, g: Geometry): number {
  return g.ufs === 1 ? cg.cg_old_niblk : cg.cg_niblk;
}

/**
 * Check group `c`'s cg block against the file system: its index, counts, and every map inside
 * the block. EFTYPE naming the group and the field.
 */
export function checkCg(cg: Cg, g: Geometry, c: number): void {
  const what = `cylinder group ${c}`;
  const fail = (field: string, v: number, why: string): never => corrupt(`${what}: ${field} ${v} ${why}`);
  if (cg.cg_cgx !== c) fail('cg_cgx', cg.cg_cgx, `is not the group's index ${c}`);
  if (cg.cg_ndblk > g.fpg) fail('cg_ndblk', cg.cg_ndblk, `is more than fs_fpg ${g.fpg}`);
  const size = cg.raw.length;
  const map = (field: keyof Cg, off: number, bytes: number): void => {
    if (off + bytes > size) fail(field, off, `puts ${bytes} bytes of map outside the ${size}-byte block`);
  };
  map('cg_iusedoff', cg.cg_iusedoff, howmany(g.ipg, 8));
  map('cg_freeoff', cg.cg_freeoff, howmany(g.fpg, 8));
  if (g.contigsumsize > 0) {
    map('cg_clustersumoff', cg.cg_clustersumoff, 4 * (g.contigsumsize + 1));
    map('cg_clusteroff', cg.cg_clusteroff, howmany(g.fpg / g.frag, 8));
  }
  if (cg.cg_nextfreeoff > size) fail('cg_nextfreeoff', cg.cg_nextfreeoff, `is past the ${size}-byte block`);
  const cs = cg.cg_cs;
  const count = (f: keyof Csum, max: number): void => {
    if (cs[f] < 0 || cs[f] > max) fail(`cg_cs.${f}`, cs[f], `is not between 0 and ${max}`);
  };
  count('cs_ndir', g.ipg);
  count('cs_nifree', g.ipg);
  count('cs_nbfree', g.fpg / g.frag);
  count('cs_nffree', g.fpg);
  if (g.ufs === 2 && cg.cg_initediblk > g.ipg) fail('cg_initediblk', cg.cg_initediblk, `is more than fs_ipg ${g.ipg}`);
}

/** The inode-in-use map (one bit per inode of the group). Valid after checkCg. */
export function cgInosUsed(cg: Cg, g: Geometry): Uint8Array {
  return cg.raw.subarray(cg.cg_iusedoff, cg.cg_iusedoff + howmany(g.ipg, 8));
}

/** The free-fragment map (one bit per fragment of the group). */
export function cgBlksFree(cg: Cg, g: Geometry): Uint8Array {
  return cg.raw.subarray(cg.cg_freeoff, cg.cg_freeoff + howmany(g.fpg, 8));
}

/** The free-cluster map (one bit per block), or an empty array without cluster maps. */
export function cgClusterFree(cg: Cg, g: Geometry): Uint8Array {
  if (g.contigsumsize <= 0) return new Uint8Array(0);
  return cg.raw.subarray(cg.cg_clusteroff, cg.cg_clusteroff + howmany(g.fpg / g.frag, 8));
}

/** Free cluster counts by length: index 1..fs_contigsumsize (index 0 is not part of the array). */
export function cgClusterSum(cg: Cg, g: Geometry): number[] {
  const out = [0];
  if (g.contigsumsize <= 0) return out;
  const dv = view(cg.raw);
  for (let i = 1; i <= g.contigsumsize; i++) out.push(dv.getInt32(cg.cg_clustersumoff + 4 * i, cg.le));
  return out;
}

export function isset(map: Uint8Array, i: number): boolean {
  return ((map[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

export function setbit(map: Uint8Array, i: number): void {
  map[i >> 3] = (map[i >> 3] ?? 0) | (1 << (i & 7));
}

export function clrbit(map: Uint8Array, i: number): void {
  map[i >> 3] = (map[i >> 3] ?? 0) & ~(1 << (i & 7));
}

/** ffs_isblock: are all `frag` fragments of block `h` (in blocks) free in the fragment map? */
export function isblock(frag: number, map: Uint8Array, h: number): boolean {
  for (let i = 0; i < frag; i++) if (!isset(map, h * frag + i)) return false;
  return true;
}
