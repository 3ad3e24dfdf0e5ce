/**
 * ffs: the Berkeley Fast File System, UFS1 and UFS2 in either byte order, as a mountable
 * component (NetBSD's rumpfs_ffs).
 *
 *   await etfsRegister(k, '/dev/harddisk', 'disk.img', 'blk');
 *   await k.sys.mount(l, 'ffs', '/mnt', MNT_RDONLY, { fspec: '/dev/harddisk' });
 *
 * Read-only for now: a mount without MNT_RDONLY fails with EROFS. Mount data: `fspec`, the
 * block device. On-disk formats: superblock.ts, cg.ts, csum.ts, dinode.ts, dir.ts (pure codecs,
 * codec.ts their byte-order-aware field tables); the mounted file system: ffs.ts, bmap.ts,
 * lookup.ts, vnode.ts.
 */

import type { Component } from '../../kern/component.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import type { FileSystem, FileSystemType, Mount, MountArgs } from '../../vfs/mount.js';
import { Ffs } from './ffs.js';

export const ffsType: FileSystemType = {
  name: 'ffs',
  mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<FileSystem> {
    return Ffs.mount(k, mp, args, l);
  },
};

export const ffs: Component = {
  name: 'ffs',
  aliases: ['rumpfs_ffs', 'ufs'],
  type: 'fs',
  deps: ['vfs'],
  init(k: Kernel): void {
    k.vfs!.registerFsType(ffsType);
  },
};

export { Ffs, findSuperblock, parseFfsArgs, FS_FLAGS_READ_OK } from './ffs.js';
export type { FfsArgs, FoundSuperblock } from './ffs.js';
export { FfsVnode, FfsDirVnode, FfsLinkVnode, FfsRegVnode } from './vnode.js';
