/**
 * Feature sets for the ext2 image tools: the defaults, which features the tools can create, and
 * mke2fs-style `-O` lists ("dir_index,^large_file", "none").
 *
 * Default (revision 1): sparse_super, large_file and filetype, as NetBSD's newfs_ext2fs makes.
 * dir_index is off by default: NetBSD's file system does not maintain hashed directories, and a
 * file system without it is what every ext2 implementation writes correctly; ask with
 * `-O dir_index` (directories are then still written linear, which is valid: only directories
 * with the INDEX flag are hashed). Pure module.
 */

import { KernelError } from '../../../kern/errno.js';
import {
  COMPAT_DIR_INDEX, COMPAT_EXT_ATTR, COMPAT_NAMES, INCOMPAT_FILETYPE, INCOMPAT_NAMES, RO_COMPAT_DIR_NLINK,
  RO_COMPAT_HUGE_FILE, RO_COMPAT_LARGE_FILE, RO_COMPAT_NAMES, RO_COMPAT_SPARSE_SUPER, compatNames, incompatNames, roCompatNames,
} from '../superblock.js';
import type { Features } from './builder.js';

export const DEFAULT_FEATURES: Features = {
  compat: 0,
  incompat: INCOMPAT_FILETYPE,
  roCompat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE,
};

/** What the tools can create: features whose on-disk effect they produce (or that have none in a new file system). */
export const CREATABLE: Features = {
  compat: COMPAT_DIR_INDEX | COMPAT_EXT_ATTR,
  incompat: INCOMPAT_FILETYPE,
  roCompat: RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK,
};

function lookup(name: string): { kind: keyof Features; bit: number } | null {
  for (const [kind, names] of [['compat', COMPAT_NAMES], ['incompat', INCOMPAT_NAMES], ['roCompat', RO_COMPAT_NAMES]] as const) {
    for (const [bit, n] of Object.entries(names)) if (n === name) return { kind, bit: Number(bit) };
  }
  if (name === 'extents') return { kind: 'incompat', bit: 0x40 };
  return null;
}

/**
 * Apply a comma-separated feature list to `base`: `name` sets, `^name` clears, `none` clears
 * all. EINVAL naming an unknown feature or one the tools cannot create.
 */
export function parseFeatures(spec: string, base: Features = DEFAULT_FEATURES): Features {
  const out = { ...base };
  for (const raw of spec.split(/[,\s]+/)) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === 'none') {
      out.compat = 0;
      out.incompat = 0;
      out.roCompat = 0;
      continue;
    }
    const clear = item.startsWith('^') || item.startsWith('-');
    const set = item.startsWith('+');
    const name = clear || set ? item.slice(1) : item;
    const f = lookup(name);
    if (f === null) throw new KernelError('EINVAL', `unknown file system feature '${name}'`);
    if (clear) {
      out[f.kind] &= ~f.bit;
    } else {
      if ((CREATABLE[f.kind] & f.bit) === 0) throw new KernelError('EINVAL', `feature '${name}' is not supported by the ext2 image tools (they make: ${featureNames(CREATABLE).join(', ')})`);
      out[f.kind] |= f.bit;
    }
  }
  return out;
}

/** The features' names in dumpe2fs order (compat, incompat, ro_compat). */
export function featureNames(f: Features): string[] {
  return [...compatNames(f.compat), ...incompatNames(f.incompat), ...roCompatNames(f.roCompat)];
}
