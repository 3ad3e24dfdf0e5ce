/**
 * Vnodes of memory file system nodes: the VOPs every kind of node shares (attributes, inactive,
 * reclaim, pathconf), plus the small vnodes of symbolic links and special files. Directories
 * and regular files have their own files (vnode_dir.ts, vnode_reg.ts).
 *
 * A vnode and its node point at each other while the vnode is in the cache; reclaim only breaks
 * that link (and frees the node if it has no links left). A reclaimed vnode answers EBADF.
 */

import { KernelError } from '../../kern/errno.js';
import type { Cred } from '../../kern/proc.js';
import { MNT_NOATIME, MNT_RDONLY, UTIME_NOW, UTIME_OMIT, type Timespec, _PC_FILESIZEBITS } from '../../kern/types.js';
import { VDIR, VREG, Vnode, type Vattr, type VattrChange } from '../vnode.js';
import { PAGE_SIZE } from './data.js';
import type { MemFs } from './memfs.js';
import type { MemLinkNode, MemNode } from './node.js';

export class MemVnode extends Vnode {
  /** The node, until the vnode is reclaimed. */
  node: MemNode | null;

  constructor(readonly fs: MemFs, node: MemNode) {
    super(fs.mp, node.type, node.ino);
    this.node = node;
  }

  /** The node, or EBADF if this vnode was reclaimed (revoked or unmounted). */
  protected live(): MemNode {
    const n = this.node;
    if (n === null) throw new KernelError('EBADF', `${this.fs.fstype} vnode ${this.key} has been reclaimed`);
    return n;
  }

  getattr(): Vattr {
    const n = this.live();
    return {
      type: n.type,
      mode: n.mode,
      nlink: n.nlink,
      uid: n.uid,
      gid: n.gid,
      fileid: n.ino,
      size: n.size,
      bytes: n.bytes,
      blocksize: PAGE_SIZE,
      rdev: n.rdev,
      flags: n.flags,
      gen: n.gen,
      atimeSec: n.atime.sec, atimeNsec: n.atime.nsec,
      mtimeSec: n.mtime.sec, mtimeNsec: n.mtime.nsec,
      ctimeSec: n.ctime.sec, ctimeNsec: n.ctime.nsec,
      birthtimeSec: n.birthtime.sec, birthtimeNsec: n.birthtime.nsec,
    };
  }

  async setattr(ch: VattrChange, _cred: Cred): Promise<void> {
    const n = this.live();
    let resized = false;
    if (ch.size !== undefined) {
      if (!Number.isSafeInteger(ch.size) || ch.size < 0) throw new KernelError('EINVAL', `file size ${ch.size} is not a non-negative integer`);
      if (n.type === VDIR) throw new KernelError('EISDIR', `cannot set the size of a directory of ${this.fs.fstype}`);
      if (n.type === VREG) {
        if (ch.size > this.fs.maxFileSize) throw new KernelError('EFBIG', `file size ${ch.size} exceeds the ${this.fs.fstype} maximum ${this.fs.maxFileSize}`);
        const r = this.resize(ch.size);
        if (r !== undefined) await r;
        resized = true;
      }
      // Special files and symbolic links ignore size changes (O_TRUNC on a fifo or device).
    }
    const now = this.fs.now();
    if (resized) n.mtime = now;
    if (ch.mode !== undefined) n.mode = ch.mode & 0o7777;
    if (ch.uid !== undefined) n.uid = ch.uid;
    if (ch.gid !== undefined) n.gid = ch.gid;
    if (ch.flags !== undefined) n.flags = ch.flags;
    if (ch.atime !== undefined) n.atime = resolveTime(ch.atime, now, n.atime);
    if (ch.mtime !== undefined) n.mtime = resolveTime(ch.mtime, now, n.mtime);
    if (ch.birthtime !== undefined) n.birthtime = resolveTime(ch.birthtime, now, n.birthtime);
    n.ctime = now;
  }

  /** Change a regular file's size (vnode_reg.ts). */
  protected resize(_size: number): Promise<void> | undefined {
    return undefined;
  }

  override inactive(): boolean {
    return this.node === null || this.node.nlink === 0;
  }

  override reclaim(): void {
    const n = this.node;
    this.node = null;
    if (n === null || n.vnode !== this) return;
    n.vnode = null;
    this.fs.releaseIfOrphan(n);
  }

  /** Only what differs from the VFS defaults (vfs_syscalls pathconfOf): the file size bits. */
  override pathconf(name: number): number | undefined {
    return name === _PC_FILESIZEBITS ? Math.ceil(Math.log2(this.fs.maxFileSize + 1)) + 1 : undefined;
  }

  /** Mark the node accessed, unless the mount says not to. */
  protected touchAtime(n: MemNode): void {
    if ((this.mount.flags & (MNT_NOATIME | MNT_RDONLY)) === 0) n.atime = this.fs.now();
  }
}

export class MemLinkVnode extends MemVnode {
  override async readlink(): Promise<string> {
    const n = this.live() as MemLinkNode;
    this.touchAtime(n);
    return n.target;
  }
}

/** Devices, fifos and sockets: the VFS (specfs, fifofs, sockets) does their I/O. */
export class MemSpecVnode extends MemVnode {}

function resolveTime(t: Timespec, now: Timespec, old: Timespec): Timespec {
  if (t.nsec === UTIME_NOW) return now;
  if (t.nsec === UTIME_OMIT) return old;
  return t;
}
