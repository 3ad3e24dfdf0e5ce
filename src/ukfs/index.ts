/**
 * ukfs: open a file system image in-process with a `node:fs/promises`-shaped API (NetBSD's
 * libukfs). Import as 'rumpkernel/ukfs'.
 *
 *   import { ukfs } from 'rumpkernel/ukfs';
 *   const fs = await ukfs.mount('ext2fs', 'disk.img', { readonly: true });
 *   for (const d of await fs.readdir('/', { withFileTypes: true })) console.log(d.name, d.isDirectory());
 *   await fs.unmount();
 *
 * See ukfs.ts for the model (a private kernel per mount, chrooted paths, Node-style errors),
 * registry.ts for the file system types, detect.ts for type and partition detection.
 */

import { ukfsMount, ukfsOpenMemory, type UkfsMountOptions, type Ukfs } from './ukfs.js';
import { detectFsType, locateFs, listPartitions } from './detect.js';

export { Ukfs, ukfsMount, ukfsOpenMemory, constants, UKFS_DEVICE, UKFS_MOUNTPOINT } from './ukfs.js';
export type { UkfsMountOptions, CpOptions } from './ukfs.js';
export { FileHandle } from './filehandle.js';
export { Dir } from './dir.js';
export { Stats, BigIntStats, Dirent, StatFs } from './stats.js';
export { FS_REGISTRY, findFs, lookupFs, linuxFsMagic } from './registry.js';
export type { FsRegistryEntry } from './registry.js';
export { detectFsType, locateFs, listPartitions } from './detect.js';
export type { Probe, Partition, Located, LocateOptions } from './detect.js';
export type { UkfsError, PathLike } from './errors.js';
export type { ReadStreamOptions, WriteStreamOptions } from './stream.js';

/** The calling convention: `ukfs.mount(fstype, image, options)`. */
export const ukfs = {
  /** Mount `image` as `fstype` (null or undefined: detect it). */
  mount(fstype: string | null | undefined, image: string, options: Omit<UkfsMountOptions, 'fstype' | 'image'> = {}): Promise<Ukfs> {
    return ukfsMount({ ...options, image, ...(fstype !== null && fstype !== undefined ? { fstype } : {}) });
  },
  /** A tmpfs with no image. */
  openMemory: ukfsOpenMemory,
  detect: detectFsType,
  locate: locateFs,
  partitions: listPartitions,
};
