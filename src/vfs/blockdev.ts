/**
 * Block devices: the contract between file systems and whatever stores their blocks (a host file
 * through rumpblk/etfs, a memory disk, later partitions, vnd, cgd, raid).
 *
 * A file system gets one with `openBlockDevice(k, l, '/dev/xxx', flags)` (its mount argument
 * `fspec`), reads and writes it through the buffer cache (bufcache.ts), and closes it at unmount.
 * Every open goes through the device switch, so the device's driver sees opens and closes, and
 * the last close of a device writes back and drops its cached buffers.
 *
 * I/O contract: `read`/`write` transfer `buf.length` bytes at byte `offset`. Offsets and lengths
 * should be multiples of `sectorSize`; a driver may refuse others with EINVAL (host-backed
 * devices accept any). A read is short only at the end of the device (0 at or past it); a write
 * that starts at or past the end fails with ENOSPC, one that crosses the end writes what fits and
 * returns that count. A read-only device refuses writes with EROFS. Failures are KernelErrors
 * (EIO for media errors), never anything else.
 */

import { KernelError, errnoFromName, errnoName } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { MNT_NODEV, O_ACCMODE, O_RDONLY, O_RDWR, O_WRONLY } from '../kern/types.js';
import { HostError, type HostFile } from '../rumpuser/rumpuser.js';
import { VBLK, vtypeName } from './vnode.js';
import { namei } from './namei.js';

/** NetBSD's DEV_BSIZE: the unit of buffer cache block numbers. */
export const DEV_BSIZE = 512;
export const DEV_BSHIFT = 9;

export interface BlockDevice {
  /** For messages: '/dev/harddisk', 'rumpblk0', 'md0'. */
  readonly name: string;
  /** Bytes per sector (512 unless the medium says otherwise). */
  readonly sectorSize: number;
  /** Size in bytes. */
  readonly size: number;
  /** Writes fail with EROFS. */
  readonly readonly?: boolean;
  /** The device number, when the device is known to the device switch. */
  readonly dev?: number;
  /**
   * The shared device behind this open handle, when there is one: the buffer cache keys its
   * buffers by it and does its I/O on it, so every open of one device sees the same buffers.
   */
  readonly unit?: BlockDevice;
  read(buf: Uint8Array, offset: number): Promise<number>;
  write(buf: Uint8Array, offset: number): Promise<number>;
  /** Push anything the device or its host caches to stable storage. */
  flush(): Promise<void>;
  /** End this open; further I/O fails with EBADF. */
  close(): Promise<void>;
}

/** The errno a host failure means to the kernel, with the host's message kept as the detail. */
export function hostError(e: unknown, what: string): KernelError {
  if (e instanceof KernelError) return e;
  if (e instanceof HostError) {
    const name = errnoName(errnoFromName(e.code)) ?? 'EIO';
    return new KernelError(name, `${what}: ${e.message}`);
  }
  return new KernelError('EIO', `${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/** Check a transfer's arguments; the byte count that lies inside a device of `size` bytes. */
export function clipTransfer(name: string, size: number, buf: Uint8Array, offset: number, writing: boolean): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `${name}: offset ${String(offset)} is not a non-negative integer`);
  if (offset >= size) {
    if (writing && buf.length > 0) throw new KernelError('ENOSPC', `${name}: write at ${offset} is at or past the end of the device (${size} bytes)`);
    return 0;
  }
  return Math.min(buf.length, size - offset);
}

/**
 * A block device over a window of an open host file (what rumpblk and etfs use). It does not own
 * the host file: the registration that opened it closes it.
 */
export class HostBlockDevice implements BlockDevice {
  readonly sectorSize = DEV_BSIZE;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly file: HostFile,
    /** Window start in the host file. */
    readonly start: number,
    readonly size: number,
    readonly readonly: boolean,
    readonly dev: number,
  ) {}

  private live(): void {
    if (this.closed) throw new KernelError('EBADF', `${this.name}: device is closed`);
  }

  async read(buf: Uint8Array, offset: number): Promise<number> {
    this.live();
    const n = clipTransfer(this.name, this.size, buf, offset, false);
    if (n === 0) return 0;
    let got: number;
    try {
      got = await this.file.read(n === buf.length ? buf : buf.subarray(0, n), this.start + offset);
    } catch (e) {
      throw hostError(e, `${this.name}: read of ${n} bytes at ${offset}`);
    }
    // A host file that shrank under us reads short: the rest of the window reads as zeros.
    if (got < n) buf.fill(0, got, n);
    return n;
  }

  async write(buf: Uint8Array, offset: number): Promise<number> {
    this.live();
    if (this.readonly) throw new KernelError('EROFS', `${this.name}: device is read-only`);
    const n = clipTransfer(this.name, this.size, buf, offset, true);
    if (n === 0) return 0;
    try {
      const done = await this.file.write(n === buf.length ? buf : buf.subarray(0, n), this.start + offset);
      if (done !== n) throw new KernelError('EIO', `${this.name}: host wrote ${done} of ${n} bytes at ${offset}`);
    } catch (e) {
      throw hostError(e, `${this.name}: write of ${n} bytes at ${offset}`);
    }
    return n;
  }

  async flush(): Promise<void> {
    this.live();
    if (this.readonly) return;
    try {
      await this.file.sync();
    } catch (e) {
      throw hostError(e, `${this.name}: sync`);
    }
  }

  async close(): Promise<void> {
    this.live();
    this.closed = true;
  }
}

/** Can `l` open `vp`-like attributes for `flags` (owner/group/other bits; root always can)? */
function checkAccess(l: Lwp, attr: { mode: number; uid: number; gid: number }, flags: number, path: string): void {
  const cred = l.cred;
  if (cred.euid === 0) return;
  const acc = flags & O_ACCMODE;
  const want = (acc === O_RDONLY || acc === O_RDWR ? 4 : 0) | (acc === O_WRONLY || acc === O_RDWR ? 2 : 0);
  const bits = cred.euid === attr.uid ? (attr.mode >> 6) & 7 : cred.groupmember(attr.gid) ? (attr.mode >> 3) & 7 : attr.mode & 7;
  if ((bits & want) !== want) throw new KernelError('EACCES', `${path}: no ${want & 2 ? 'write' : 'read'} permission on the device`);
}

/**
 * Open the block device named by `path` in the kernel namespace, for a file system to mount.
 * ENOTBLK if it is not a block device, ENXIO if no driver serves it, EROFS when asked for
 * writing on a read-only device.
 */
export async function openBlockDevice(k: Kernel, l: Lwp, path: string, flags: number): Promise<BlockDevice> {
  const vfs = k.vfs;
  if (vfs === null) throw new KernelError('ENXIO', `cannot open ${path}: this kernel has no VFS`);
  if (typeof path !== 'string' || path === '') throw new KernelError('EINVAL', 'block device path is empty');
  const vp = await namei(l, path, { follow: true });
  try {
    const va = vp.getattr();
    if (vp.type !== VBLK) throw new KernelError('ENOTBLK', `${path} is a ${vtypeName(vp.type)}, not a block device`);
    if ((vp.mount.flags & MNT_NODEV) !== 0) throw new KernelError('ENXIO', `${path} is on a file system mounted nodev`);
    checkAccess(l, va, flags, path);
    return await vfs.devsw.openBlock(va.rdev, l, flags, path);
  } finally {
    vfs.rele(vp);
  }
}

/** Mount data of a disk file system (ufs_args): the block device to mount from. */
export interface DiskMountArgs {
  /** The block device to mount, e.g. '/dev/harddisk'. */
  fspec: string;
}

/** Check a disk file system's mount data `{ fspec }`; EINVAL naming what is wrong. */
export function parseDiskMountArgs(fstype: string, data: unknown): DiskMountArgs {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new KernelError('EINVAL', `${fstype} mount: mount data must be an object like { fspec: '/dev/xxx' }`);
  }
  const o = data as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'fspec') throw new KernelError('EINVAL', `${fstype} mount: unknown option '${key}' (${fstype} takes fspec)`);
  const fspec = o['fspec'];
  if (typeof fspec !== 'string' || fspec === '') throw new KernelError('EINVAL', `${fstype} mount: fspec must name a block device, e.g. '/dev/harddisk'`);
  return { fspec };
}
