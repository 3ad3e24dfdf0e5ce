/**
 * ext2fs: the Second Extended File System as a mountable component (NetBSD's rumpfs_ext2fs):
 * ext2 read and written, ext3 written as ext2 (its clean journal left alone), ext4 read.
 *
 *   await etfsRegister(k, '/dev/harddisk', 'disk.img', 'blk');
 *   await k.sys.mount(l, 'ext2fs', '/mnt', 0, { fspec: '/dev/harddisk' });   // or MNT_RDONLY
 *
 * Read-write unless mounted with MNT_RDONLY (or the image has a feature ext2fs cannot keep
 * consistent on write, e.g. ext4's extents: then read-only, with a console message naming it).
 * Mount data: `fspec`, the block device. On-disk formats: superblock.ts, group_desc.ts, inode.ts,
 * dir_entry.ts, extents.ts, htree.ts, xattr.ts (pure codecs); the mounted file system: ext2fs.ts
 * (mount, superblock state, inode I/O, sync), alloc.ts (block and inode allocators), bmap.ts and
 * bmap_alloc.ts (block maps for reading and writing), truncate.ts, dir.ts and dirops.ts
 * (directory reading and changes), vnode.ts (the VOPs).
 */

import type { Component } from '../../kern/component.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import type { FileSystem, FileSystemType, Mount, MountArgs } from '../../vfs/mount.js';
import { Ext2Fs } from './ext2fs.js';

export const ext2fsType: FileSystemType = {
  name: 'ext2fs',
  mount(k: Kernel, mp: Mount, args: MountArgs, l: Lwp): Promise<FileSystem> {
    return Ext2Fs.mount(k, mp, args, l);
  },
};

export const ext2fs: Component = {
  name: 'ext2fs',
  aliases: ['rumpfs_ext2fs'],
  type: 'fs',
  deps: ['vfs'],
  init(k: Kernel): void {
    k.vfs!.registerFsType(ext2fsType);
  },
};

export { Ext2Fs, parseExt2Args, INCOMPAT_READ_SUPP, INCOMPAT_WRITE_SUPP, RO_COMPAT_WRITE_SUPP } from './ext2fs.js';
export type { Ext2Args, Ext2Stats } from './ext2fs.js';
export { Ext2Vnode } from './vnode.js';
