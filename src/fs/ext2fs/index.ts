/**
 * ext2fs: the Second Extended File System (with ext3 and ext4 images readable) as a mountable
 * component (NetBSD's rumpfs_ext2fs).
 *
 *   await etfsRegister(k, '/dev/harddisk', 'disk.img', 'blk');
 *   await k.sys.mount(l, 'ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/harddisk' });
 *
 * Read-only for now: a mount without MNT_RDONLY fails with EROFS. Mount data: `fspec`, the
 * block device. On-disk formats: superblock.ts, group_desc.ts, inode.ts, dir_entry.ts,
 * extents.ts, htree.ts, xattr.ts (pure codecs); the mounted file system: ext2fs.ts, bmap.ts,
 * dir.ts, vnode.ts.
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

export { Ext2Fs, parseExt2Args, INCOMPAT_READ_SUPP } from './ext2fs.js';
export type { Ext2Args, Ext2Stats } from './ext2fs.js';
export { Ext2Vnode } from './vnode.js';
