/**
 * newfs_ext2fs: create an empty ext2 file system on an image (NetBSD newfs_ext2fs(8), mke2fs(8)).
 *
 *   const r = await newfs(io, { size, uuid, hashSeed, now });   // revision 1, 1 KiB blocks up to 512 MiB
 *
 * The result is what mke2fs makes for the same parameters (same group layout and counts): root
 * directory (inode 2, mode 0755, owned by root or as asked) holding lost+found (inode 11, mode
 * 0700, preallocated to 16 KiB or 2 blocks like mke2fs's, at most 12), inodes 1-10 reserved,
 * inode tables zeroed (skipped when the image already reads as zeros), exact free counts. The UUID,
 * hash seed and time are arguments: this module draws no randomness and reads no clock.
 *
 * Errors: EINVAL for impossible parameters (naming them), ENOSPC for an image too small.
 */

import { KernelError } from '../../../kern/errno.js';
import { EXT2_FT_DIR } from '../dir_entry.js';
import { EXT2_DYNAMIC_REV, EXT2_GOOD_OLD_REV, EXT2_ROOT_INO, INCOMPAT_FILETYPE, type Superblock } from '../superblock.js';
import { Ext2Builder, lostFoundBlocks, packDirectory, type BuildOptions, type Features, type PackEntry, type Time } from './builder.js';
import { DEFAULT_FEATURES, featureNames, parseFeatures } from './features.js';
import type { ImageIO } from './io.js';
import { defaultBlockSize, planLayout, type Layout } from './layout.js';

export const LOST_FOUND_INO = 11;

export interface NewfsOptions {
  /** Bytes of the file system (default: the whole image). */
  size?: number;
  /** Default: 1 KiB up to 512 MiB, else 4 KiB (newfs_ext2fs(8)). */
  blockSize?: number;
  /** 128 (default, as NetBSD) or 256; revision 0 is always 128. */
  inodeSize?: number;
  /** At least this many inodes (overrides inodeRatio). */
  inodesCount?: number;
  /** Bytes per inode (default: mke2fs's 8192 below 3 MiB, 4096 below 512 MiB, else 16384). */
  inodeRatio?: number;
  blocksPerGroup?: number;
  label?: string;
  /** 16 bytes. */
  uuid: Uint8Array;
  /** 16 bytes; default: zeros (the kernel then uses its default seed). */
  hashSeed?: Uint8Array;
  /** 0 or 1 (default 1). */
  revision?: number;
  /** mke2fs -O list applied to the defaults (sparse_super, large_file, filetype). */
  features?: string;
  /** Percent of blocks reserved for the super-user (default 5). */
  reservedPercent?: number;
  /** Seconds since the epoch, for every time stamp. */
  now: number;
  /** The image already reads as zeros: skip zeroing the inode tables. */
  zeroed?: boolean;
  rootUid?: number;
  rootGid?: number;
  /** Root directory permissions (default 0755). */
  rootMode?: number;
}

export interface NewfsResult {
  layout: Layout;
  superblock: Superblock;
  features: string[];
}

/** Check the options and plan the layout and build options (shared with makefs). */
export function prepare(io: ImageIO, o: Omit<NewfsOptions, 'size'> & { size: number }): { layout: Layout; build: BuildOptions } {
  const size = o.size;
  if (!Number.isSafeInteger(size) || size <= 0) throw new KernelError('EINVAL', `file system size ${size} is not a positive byte count`);
  if (size > io.size) throw new KernelError('ENOSPC', `file system size ${size} is larger than the image (${io.size} bytes)`);
  const revision = o.revision ?? EXT2_DYNAMIC_REV;
  if (revision !== EXT2_GOOD_OLD_REV && revision !== EXT2_DYNAMIC_REV) throw new KernelError('EINVAL', `revision ${revision} is neither 0 nor 1`);
  const blockSize = o.blockSize ?? defaultBlockSize(size);
  let inodeSize = o.inodeSize ?? 128;
  let features: Features = o.features === undefined ? { ...DEFAULT_FEATURES } : parseFeatures(o.features);
  if (revision === EXT2_GOOD_OLD_REV) {
    if (o.inodeSize !== undefined && o.inodeSize !== 128) throw new KernelError('EINVAL', `revision 0 has 128-byte inodes, not ${o.inodeSize}`);
    if (o.features !== undefined && featureNames(features).length > 0) {
      throw new KernelError('EINVAL', `revision 0 has no features (asked for ${featureNames(features).join(', ')})`);
    }
    inodeSize = 128;
    features = { compat: 0, incompat: 0, roCompat: 0 };
  }
  if (o.label !== undefined && new TextEncoder().encode(o.label).length > 16) throw new KernelError('EINVAL', `volume label '${o.label}' is longer than 16 bytes`);
  if (o.uuid.length !== 16) throw new KernelError('EINVAL', `a UUID is 16 bytes, not ${o.uuid.length}`);
  const hashSeed = o.hashSeed ?? new Uint8Array(16);
  if (hashSeed.length !== 16) throw new KernelError('EINVAL', `a hash seed is 16 bytes, not ${hashSeed.length}`);
  const reservedPercent = o.reservedPercent ?? 5;
  if (!(reservedPercent >= 0 && reservedPercent <= 50)) throw new KernelError('EINVAL', `reserved blocks percentage ${reservedPercent} is not between 0 and 50`);
  if (o.inodeRatio !== undefined && !(Number.isInteger(o.inodeRatio) && o.inodeRatio >= 1024 && o.inodeRatio <= 64 * 1024 * 1024)) {
    throw new KernelError('EINVAL', `bytes per inode ${o.inodeRatio} must be from 1024 to 67108864`);
  }
  if (o.inodesCount !== undefined && !(Number.isSafeInteger(o.inodesCount) && o.inodesCount > 0)) throw new KernelError('EINVAL', `inode count ${o.inodesCount} is not a positive number`);
  const layout = planLayout({
    blocksCount: Math.floor(size / blockSize), blockSize, inodeSize, sparseSuper: (features.roCompat & 1) !== 0,
    ...(o.inodesCount !== undefined ? { inodesCount: o.inodesCount } : {}),
    ...(o.inodeRatio !== undefined ? { inodeRatio: o.inodeRatio } : {}),
    ...(o.blocksPerGroup !== undefined ? { blocksPerGroup: o.blocksPerGroup } : {}),
  });
  return {
    layout,
    build: { revision, features, reservedPercent, uuid: o.uuid, hashSeed, label: o.label ?? '', now: o.now, zeroed: o.zeroed ?? false },
  };
}

/**
 * Write the root directory (with lost+found and `extra` entries) and lost+found. The caller has
 * marked the inodes of `extra` and counts their subdirectories in `subdirs`.
 */
export async function writeRootAndLostFound(b: Ext2Builder, root: { uid: number; gid: number; mode: number; atime: Time; mtime: Time; ctime: Time },
  extra: readonly PackEntry[], subdirs: number): Promise<void> {
  const ft = b.opts.revision >= EXT2_DYNAMIC_REV && (b.opts.features.incompat & INCOMPAT_FILETYPE) !== 0;
  const t: Time = { sec: b.opts.now, nsec: 0 };
  const dot = new Uint8Array([0x2e]);
  const dotdot = new Uint8Array([0x2e, 0x2e]);
  const lpfName = new TextEncoder().encode('lost+found');
  b.markInode(EXT2_ROOT_INO, true);
  b.markInode(LOST_FOUND_INO, true);
  // lost+found first, so it sits right after the root's block as mke2fs places it
  const rootBlocks = packDirectory([
    { name: dot, inode: EXT2_ROOT_INO, fileType: EXT2_FT_DIR },
    { name: dotdot, inode: EXT2_ROOT_INO, fileType: EXT2_FT_DIR },
    { name: lpfName, inode: LOST_FOUND_INO, fileType: EXT2_FT_DIR },
    ...extra,
  ], b.bs, ft);
  await b.writeDirectory(EXT2_ROOT_INO, rootBlocks, {
    mode: 0o040000 | (root.mode & 0o7777), uid: root.uid, gid: root.gid, links: 3 + subdirs,
    atime: root.atime, mtime: root.mtime, ctime: root.ctime, crtime: t,
  });
  const lpf = packDirectory([
    { name: dot, inode: LOST_FOUND_INO, fileType: EXT2_FT_DIR },
    { name: dotdot, inode: EXT2_ROOT_INO, fileType: EXT2_FT_DIR },
  ], b.bs, ft);
  for (let i = 1; i < lostFoundBlocks(b.bs); i++) lpf.push(packDirectory([], b.bs, ft)[0]!);
  await b.writeDirectory(LOST_FOUND_INO, lpf, { mode: 0o040700, uid: 0, gid: 0, links: 2, atime: t, mtime: t, ctime: t, crtime: t });
}

/** Create the file system. */
export async function newfs(io: ImageIO, o: NewfsOptions): Promise<NewfsResult> {
  const { layout, build } = prepare(io, { ...o, size: o.size ?? io.size });
  const b = new Ext2Builder(io, layout, build);
  const t: Time = { sec: o.now, nsec: 0 };
  await writeRootAndLostFound(b, { uid: o.rootUid ?? 0, gid: o.rootGid ?? 0, mode: o.rootMode ?? 0o755, atime: t, mtime: t, ctime: t }, [], 0);
  await b.finish();
  return { layout, superblock: b.superblock(), features: featureNames(build.features) };
}
