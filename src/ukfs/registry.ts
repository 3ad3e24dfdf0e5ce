/**
 * The file system components ukfs (and the fsu_* tools) can mount, by type name: the one list to
 * edit when a file system component lands.
 *
 * Components come from the build's one list (src/components.ts); a format whose component is not
 * written yet is an entry with `available: false` (ENODEV naming it when asked for). Detection (detect.ts) may
 * recognise formats whose component is not here yet; mounting one then says so.
 *
 * `linuxMagic` is the `f_type` Linux's statfs(2) reports for the format, which Node's
 * `fs.statfs` passes on as `type`; ukfs's statfs reports the same so code that branches on it
 * works unchanged.
 */

import type { Component } from '../kern/component.js';
import { KernelError } from '../kern/errno.js';
import { findComponent } from '../components.js';

export interface FsRegistryEntry {
  /** The kernel's file system type name (what mount(2) takes): 'ext2fs', 'tmpfs'. */
  readonly fstype: string;
  /** Other names users type: 'ext2', 'ext3', 'ext4', 'ufs', 'fat', 'iso9660'. */
  readonly aliases: readonly string[];
  /** Mounted from a block device (an image); false for memory file systems. */
  readonly needsImage: boolean;
  /** Is the component in this build? (false: detection knows the format, mounting gives ENODEV) */
  readonly available: boolean;
  /** Linux statfs f_type for the format (Node's StatFs.type). */
  readonly linuxMagic: number;
  /** The component (loaded on first call). ENODEV when it is not in this build. */
  load(): Promise<Component>;
}

/** The build's component for `fstype` (src/components.ts). */
function component(fstype: string): () => Promise<Component> {
  return async () => {
    const c = findComponent(fstype);
    if (c === undefined) throw new KernelError('ENODEV', `this build has no ${fstype} component`);
    return c;
  };
}

function unavailable(fstype: string): () => Promise<Component> {
  return () => Promise.reject(new KernelError('ENODEV', `this build has no ${fstype} component yet`));
}

/** Known file system types: those with a component, then formats detection knows but no component mounts yet. */
export const FS_REGISTRY: readonly FsRegistryEntry[] = [
  {
    fstype: 'tmpfs', aliases: ['rumpfs_tmpfs'], needsImage: false, available: true, linuxMagic: 0x01021994,
    load: component('tmpfs'),
  },
  {
    fstype: 'ext2fs', aliases: ['ext2', 'ext3', 'ext4', 'rumpfs_ext2fs'], needsImage: true, available: true, linuxMagic: 0xef53,
    load: component('ext2fs'),
  },
  {
    fstype: 'ffs', aliases: ['ufs', 'ufs1', 'ufs2', 'rumpfs_ffs'], needsImage: true, available: true, linuxMagic: 0x00011954,
    load: component('ffs'),
  },
  {
    fstype: 'msdos', aliases: ['msdosfs', 'fat', 'vfat', 'fat12', 'fat16', 'fat32', 'rumpfs_msdos'], needsImage: true, available: false, linuxMagic: 0x4d44,
    load: unavailable('msdos'),
  },
  {
    fstype: 'cd9660', aliases: ['iso9660', 'isofs', 'rumpfs_cd9660'], needsImage: true, available: false, linuxMagic: 0x9660,
    load: unavailable('cd9660'),
  },
];

/** The entry for a type name or alias (case-insensitive), or undefined. */
export function findFs(name: string): FsRegistryEntry | undefined {
  const n = name.toLowerCase();
  return FS_REGISTRY.find((e) => e.fstype === n || e.aliases.includes(n));
}

/** Like findFs, but ENODEV naming the known types. */
export function lookupFs(name: string): FsRegistryEntry {
  const e = findFs(name);
  if (e === undefined) {
    throw new KernelError('ENODEV', `unknown file system type '${name}' (known: ${FS_REGISTRY.map((x) => x.fstype).join(', ')})`);
  }
  return e;
}

/** Linux statfs f_type for a kernel type name (0 when unknown, e.g. rumpfs). */
export function linuxFsMagic(fstype: string): number {
  return findFs(fstype)?.linuxMagic ?? 0;
}
