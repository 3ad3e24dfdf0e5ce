/**
 * Cylinder group summary information (struct csum, 16 bytes): directories, free blocks, free
 * inodes and free fragments of each group. The array of all groups' summaries lives at
 * `fs_csaddr` (`fs_cssize` bytes, fragment-rounded); each group's cg block carries its own copy
 * (cg_cs), and the superblock the totals (fs_cstotal, 64-bit in UFS2-era superblocks, and the
 * 32-bit fs_old_cstotal).
 *
 *   parseCsumArray(bytes, ncg, le)   // one Csum per group
 *   emitCsumArray(list, le, size)    // the same bytes back (padding zero)
 *   checkCsum(cs, geo-like limits)   // EFTYPE naming group and field when a count is impossible
 *
 * Pure module.
 */

import { corrupt, decode, encode, need, type Field } from './codec.js';
import { CSUM_SIZE, type Csum } from './superblock.js';

export type { Csum } from './superblock.js';
export { CSUM_SIZE } from './superblock.js';

const FIELDS: readonly Field[] = [['cs_ndir', 0, 'i32'], ['cs_nbfree', 4, 'i32'], ['cs_nifree', 8, 'i32'], ['cs_nffree', 12, 'i32']];

/** One struct csum at `off`. */
export function parseCsum(b: Uint8Array, off: number, le: boolean): Csum {
  need(b, off, CSUM_SIZE, 'struct csum');
  return decode<Csum>(b, off, FIELDS, le);
}

/** Write one struct csum at `off`. */
export function emitCsum(b: Uint8Array, off: number, cs: Csum, le: boolean): void {
  need(b, off, CSUM_SIZE, 'struct csum');
  encode(b, off, FIELDS, cs, le, 'struct csum');
}

/** The summaries of `ncg` groups from the summary area's bytes. */
export function parseCsumArray(b: Uint8Array, ncg: number, le: boolean): Csum[] {
  need(b, 0, ncg * CSUM_SIZE, `summary area of ${ncg} cylinder groups`);
  const out: Csum[] = [];
  for (let c = 0; c < ncg; c++) out.push(decode<Csum>(b, c * CSUM_SIZE, FIELDS, le));
  return out;
}

/** The summary area: `size` bytes (at least 16 per group), zero after the last group. */
export function emitCsumArray(list: readonly Csum[], le: boolean, size = list.length * CSUM_SIZE): Uint8Array {
  const out = new Uint8Array(size);
  list.forEach((cs, c) => emitCsum(out, c * CSUM_SIZE, cs, le));
  return out;
}

/** What a group can hold, for checking its counts. */
export interface CsumLimits {
  ipg: number;
  fpg: number;
  frag: number;
}

/** EFTYPE naming group `c` and the field if a count is negative or more than a group holds. */
export function checkCsum(cs: Csum, c: number, lim: CsumLimits, where = 'summary'): void {
  const check = (f: keyof Csum, max: number): void => {
    const v = cs[f];
    if (v < 0 || v > max) corrupt(`cylinder group ${c} ${where}: ${f} ${v} is not between 0 and ${max}`);
  };
  check('cs_ndir', lim.ipg);
  check('cs_nifree', lim.ipg);
  check('cs_nbfree', lim.fpg / lim.frag);
  check('cs_nffree', lim.fpg);
}

/** The totals of a list of summaries. */
export function sumCsum(list: readonly Csum[]): Csum {
  const t: Csum = { cs_ndir: 0, cs_nbfree: 0, cs_nifree: 0, cs_nffree: 0 };
  for (const cs of list) {
    t.cs_ndir += cs.cs_ndir;
    t.cs_nbfree += cs.cs_nbfree;
    t.cs_nifree += cs.cs_nifree;
    t.cs_nffree += cs.cs_nffree;
  }
  return t;
}
