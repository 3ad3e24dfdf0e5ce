/**
 * The VFS faction's per-kernel state: file system types, the mount list and root, the vnode and
 * name caches, the device switch, and the per-process cwd/root bookkeeping.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Proc } from '../kern/proc.js';
import { DevSwitch } from './devsw.js';
import type { FileSystemType, Mount } from './mount.js';
import { VnodeCache } from './vcache.js';
import { unmountMount } from './vfs_mount.js';
import type { Vnode } from './vnode.js';

export class Vfs {
  readonly fstypes = new Map<string, FileSystemType>();
  /** Mounted file systems, in mount order (root first). */
  readonly mounts: Mount[] = [];
  readonly vcache: VnodeCache;
  readonly devsw: DevSwitch;
  /** Root directory vnode of the kernel (referenced). */
  rootvnode!: Vnode;
  private nextFsid = 1;

  constructor(readonly kernel: Kernel, maxvnodes: number) {
    this.vcache = new VnodeCache(kernel, maxvnodes);
    this.devsw = new DevSwitch(kernel);
  }

  /** vfs_attach: make a file system type mountable. */
  registerFsType(t: FileSystemType): void {
    if (this.fstypes.has(t.name)) throw new KernelError('EEXIST', `file system type '${t.name}' registered twice`);
    this.fstypes.set(t.name, t);
  }

  allocFsid(): number {
    return this.nextFsid++;
  }

  /** vref */
  ref(vp: Vnode): Vnode {
    return this.vcache.ref(vp);
  }

  /** vrele */
  rele(vp: Vnode): void {
    this.vcache.rele(vp);
  }

  /** A new process starts in the root (or its parent's cwd and root). */
  procInit(p: Proc, parent: Proc | null): void {
    const cwd = parent?.cwd ?? this.rootvnode;
    const rdir = parent?.rdir ?? null;
    p.cwd = this.ref(cwd);
    p.rdir = rdir === null ? null : this.ref(rdir);
  }

  procExit(p: Proc): void {
    if (p.cwd !== null) this.rele(p.cwd);
    if (p.rdir !== null) this.rele(p.rdir);
    p.cwd = null;
    p.rdir = null;
  }

  /** Sync every writable file system (sync(2), halt). */
  async syncAll(wait: boolean): Promise<void> {
    await this.vcache.drain();
    for (const mp of this.mounts) if (!mp.rdonly) await mp.fs.sync(wait);
    // delayed writes made through block device files
    await this.devsw.bufcache.bsync();
  }

  /** Unmount everything, innermost first (halt). */
  async unmountAll(force: boolean): Promise<void> {
    for (const mp of [...this.mounts].reverse()) await unmountMount(this.kernel, mp, force, true);
  }
}
