/**
 * rumpvfs: the VFS faction as a component. Booting with it gives the kernel a root file system
 * (rumpfs) with /dev, the file system syscalls, the vnode and name caches and the device switch;
 * file system components (tmpfs, ext2fs, ...) register their types with it.
 */

import type { Component } from '../kern/component.js';
import type { Kernel } from '../kern/kernel.js';
import { Vfs } from './vfs.js';
import { vfsSyscalls } from './vfs_syscalls.js';
import { mountRoot } from './vfs_mount.js';
import { rumpfsType } from './rumpfs.js';
import { devInit } from './devsw.js';

export const DEFAULT_MAXVNODES = 4096;

export const vfs: Component = {
  name: 'vfs',
  aliases: ['rumpvfs'],
  type: 'vfs',
  async init(k: Kernel) {
    const v = new Vfs(k, DEFAULT_MAXVNODES);
    k.vfs = v;
    k.sysent.register(vfsSyscalls);
    v.registerFsType(rumpfsType);
    await mountRoot(k, v, 'rumpfs', {});
    for (const p of k.procs.values()) v.procInit(p, null);
    await devInit(k);
    const s = k.sysctl;
    s.create('kern.maxvnodes', {
      type: 'int', writable: true, min: 16, desc: 'Maximum number of vnodes',
      get: () => v.vcache.maxvnodes, set: (x) => { v.vcache.maxvnodes = x as number; },
    });
    s.create('vfs.vnodes', { type: 'int', get: () => v.vcache.count, desc: 'Vnodes in the cache' });
    s.create('vfs.namecache.hits', { type: 'quad', get: () => v.vcache.ncHits });
    s.create('vfs.namecache.misses', { type: 'quad', get: () => v.vcache.ncMisses });
    s.create('vfs.generic.fstypes', { type: 'string', get: () => [...v.fstypes.keys()].join(' ') });
  },
};

export { Vfs } from './vfs.js';
export { Vnode, VNON, VREG, VDIR, VBLK, VCHR, VLNK, VSOCK, VFIFO } from './vnode.js';
export type { Vattr, VattrChange, NewVattr, ReaddirEntry, ReaddirResult, VType } from './vnode.js';
export { Mount } from './mount.js';
export type { FileSystem, FileSystemType, FsStat, MountArgs } from './mount.js';
export { namei, nameiParent } from './namei.js';
export { openBlockDevice, DEV_BSIZE } from './blockdev.js';
export type { BlockDevice } from './blockdev.js';
export { BufCache, Buf, bufcacheOf } from './bufcache.js';
export { DevSwitch, devInit } from './devsw.js';
export type { CharDriver, BlockDriver } from './devsw.js';
export { etfsRegister, etfsRemove, etfsList } from './etfs.js';
export type { EtfsType, EtfsOptions, EtfsInfo } from './etfs.js';
export { RUMPBLK_MAJOR } from './rumpblk.js';
export { rumpfsAddNode, rumpfsRemoveNode } from './rumpfs.js';
