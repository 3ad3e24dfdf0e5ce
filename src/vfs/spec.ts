/**
 * specfs: open files on device vnodes.
 *
 * - Character devices call their driver's entry points (mm, rnd, ...).
 * - Block devices read and write through the buffer cache in SPEC_BSIZE blocks, so any offset
 *   and length work (dd with bs=1). Writes are delayed (bdwrite) unless the file is O_SYNC or
 *   O_DSYNC; they reach the device on eviction, fsync (ioctl DIOCCACHESYNC), or the last close
 *   of the device, whose errors close reports.
 * - Raw disks (the character side of a disk, e.g. an etfs 'chr' key) do unbuffered I/O straight
 *   to the device; offsets and lengths must be multiples of the sector size (EINVAL).
 *
 * The open file's object has a `vp` field (what fdVnode looks for) and holds the opener's
 * vnode reference, released at close. lseek's SEEK_END is the device size for disks.
 */

import { KernelError } from '../kern/errno.js';
import type { FileOps, KFile } from '../kern/file.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../kern/file.js';
import type { Lwp } from '../kern/proc.js';
import { FIONBIO, FIONREAD } from '../kern/sys_pipe.js';
import { O_DSYNC, O_SYNC, SEEK_CUR, SEEK_END, SEEK_SET, major, minor, type Stat } from '../kern/types.js';
import { DEV_BSIZE, type BlockDevice } from './blockdev.js';
import type { BufCache } from './bufcache.js';
import type { CharDriver, DevSwitch } from './devsw.js';
import { vnStat } from './vfs_subr.js';
import { VCHR, type Vnode } from './vnode.js';

/** Block size of buffered I/O on block device files. */
export const SPEC_BSIZE = 4096;

/** NetBSD disk ioctls (sys/dkio.h). */
export const DIOCCACHESYNC = 0x80046476; // _IOW('d', 118, int)
export const DIOCGMEDIASIZE = 0x40086484; // _IOR('d', 132, off_t)
export const DIOCGSECTORSIZE = 0x40046485; // _IOR('d', 133, u_int)

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

interface SpecChar {
  readonly kind: 'char';
  readonly vp: Vnode;
  readonly drv: CharDriver;
  readonly minor: number;
}

interface SpecDisk {
  readonly kind: 'block' | 'raw';
  readonly vp: Vnode;
  readonly dev: BlockDevice;
  readonly bc: BufCache;
}

type Spec = SpecChar | SpecDisk;

/** Open a device vnode (called through DevSwitch.openFile). */
export async function specOpen(sw: DevSwitch, l: Lwp, vp: Vnode, flags: number): Promise<{ ops: FileOps; data: unknown }> {
  const rdev = vp.getattr().rdev;
  const what = `device ${major(rdev)},${minor(rdev)}`;
  if (vp.type === VCHR) {
    const bdev = sw.rawToBlock(rdev);
    if (bdev !== undefined) {
      const dev = await sw.openBlock(bdev, l, flags, `raw disk ${major(rdev)},${minor(rdev)}`);
      return { ops: diskOps, data: { kind: 'raw', vp, dev, bc: sw.bufcache } satisfies SpecDisk };
    }
    const drv = sw.cdevsw.get(major(rdev));
    if (drv === undefined) throw new KernelError('ENXIO', `${what}: no character driver at major ${major(rdev)}`);
    await drv.open?.(minor(rdev), l, flags);
    return { ops: charOps, data: { kind: 'char', vp, drv, minor: minor(rdev) } satisfies SpecChar };
  }
  const dev = await sw.openBlock(rdev, l, flags, `block ${what}`);
  return { ops: diskOps, data: { kind: 'block', vp, dev, bc: sw.bufcache } satisfies SpecDisk };
}

function release(s: Spec): void {
  s.vp.mount.kernel.vfs?.rele(s.vp);
}

function seekTo(fp: KFile, offset: number, whence: number, end: number): number {
  if (!Number.isSafeInteger(offset)) throw new KernelError('EINVAL', `offset ${offset} is not an integer`);
  let base: number;
  switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = fp.offset; break;
    case SEEK_END: base = end; break;
    default: throw new KernelError('EINVAL', `whence ${whence} is not SEEK_SET, SEEK_CUR or SEEK_END`);
  }
  const n = base + offset;
  if (n < 0) throw new KernelError('EINVAL', `resulting offset ${n} is negative`);
  if (n > MAX_OFFSET) throw new KernelError('EOVERFLOW', `resulting offset ${n} is too large`);
  fp.offset = n;
  return n;
}

/**
 * Run `io` over each buffer of `iov` at consecutive offsets, stopping at a short transfer; a
 * write that fails with ENOSPC/EFBIG after some bytes went through reports those bytes.
 */
async function iovLoop(iov: readonly Uint8Array[], start: number, writing: boolean,
  io: (buf: Uint8Array, off: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (const buf of iov) {
    if (buf.byteLength === 0) continue;
    if (start + total + buf.byteLength > MAX_OFFSET) throw new KernelError('EINVAL', 'transfer beyond the largest offset');
    let n: number;
    try {
      n = await io(buf, start + total);
    } catch (e) {
      if (writing && total > 0 && e instanceof KernelError && (e.code === 'ENOSPC' || e.code === 'EFBIG')) return total;
      throw e;
    }
    total += n;
    if (n < buf.byteLength) break;
  }
  return total;
}

/* ---- character devices ------------------------------------------------------------------- */

const charOps: FileOps = {
  type: 'vnode',
  async read(fp, l, iov, offset) {
    const s = fp.data as SpecChar;
    const n = await iovLoop(iov, offset ?? fp.offset, false, (b, off) => s.drv.read(s.minor, l, b, off, fp.flags));
    if (offset === undefined) fp.offset += n;
    return n;
  },
  async write(fp, l, iov, offset) {
    const s = fp.data as SpecChar;
    const n = await iovLoop(iov, offset ?? fp.offset, true, (b, off) => s.drv.write(s.minor, l, b, off, fp.flags));
    if (offset === undefined) fp.offset += n;
    return n;
  },
  async ioctl(fp, l, cmd, data) {
    const s = fp.data as SpecChar;
    if (s.drv.ioctl === undefined) {
      if (cmd === FIONBIO) return 0;
      throw new KernelError('ENOTTY', `${s.drv.name}: ioctl 0x${(cmd >>> 0).toString(16)} is not supported`);
    }
    try {
      return await s.drv.ioctl(s.minor, l, cmd, data);
    } catch (e) {
      if (cmd === FIONBIO && e instanceof KernelError && e.code === 'ENOTTY') return 0;
      throw e;
    }
  },
  async stat(fp): Promise<Stat> {
    return vnStat((fp.data as SpecChar).vp);
  },
  async close(fp, l) {
    const s = fp.data as SpecChar;
    try {
      await s.drv.close?.(s.minor, l, fp.flags);
    } finally {
      release(s);
    }
  },
  poll(fp, events) {
    const s = fp.data as SpecChar;
    if (s.drv.poll !== undefined) return s.drv.poll(s.minor, events);
    return events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
  },
  async seek(fp, _l, offset, whence) {
    return seekTo(fp, offset, whence, (fp.data as SpecChar).vp.getattr().size);
  },
};

/* ---- block devices and raw disks --------------------------------------------------------- */

/** Buffered read of `buf` at byte `off` of a block device. */
async function blockRead(s: SpecDisk, buf: Uint8Array, off: number): Promise<number> {
  const dev = s.dev;
  if (off >= dev.size) return 0;
  const len = Math.min(buf.length, dev.size - off);
  const bsize = Math.max(SPEC_BSIZE, dev.sectorSize);
  let done = 0;
  while (done < len) {
    const pos = off + done;
    const blk = Math.floor(pos / bsize);
    const within = pos - blk * bsize;
    const n = Math.min(bsize - within, len - done);
    const bp = await s.bc.bread(dev, (blk * bsize) / DEV_BSIZE, bsize);
    buf.set(bp.data.subarray(within, within + n), done);
    s.bc.brelse(bp);
    done += n;
  }
  return len;
}

/** Buffered write of `buf` at byte `off` of a block device. */
async function blockWrite(s: SpecDisk, buf: Uint8Array, off: number, sync: boolean): Promise<number> {
  const dev = s.dev;
  if (dev.readonly === true) throw new KernelError('EROFS', `${dev.name} is read-only`);
  if (off >= dev.size) throw new KernelError('ENOSPC', `${dev.name}: write at ${off} is at or past the end of the device (${dev.size} bytes)`);
  const len = Math.min(buf.length, dev.size - off);
  const bsize = Math.max(SPEC_BSIZE, dev.sectorSize);
  let done = 0;
  while (done < len) {
    const pos = off + done;
    const blk = Math.floor(pos / bsize);
    const within = pos - blk * bsize;
    const n = Math.min(bsize - within, len - done);
    const blkno = (blk * bsize) / DEV_BSIZE;
    const whole = within === 0 && (n === bsize || blk * bsize + n >= dev.size);
    const bp = whole ? await s.bc.getblk(dev, blkno, bsize) : await s.bc.bread(dev, blkno, bsize);
    bp.data.set(buf.subarray(done, done + n), within);
    if (sync) await s.bc.bwrite(bp);
    else s.bc.bdwrite(bp);
    done += n;
  }
  return len;
}

function checkAligned(s: SpecDisk, buf: Uint8Array, off: number): void {
  const ss = s.dev.sectorSize;
  if (off % ss !== 0 || buf.length % ss !== 0) {
    throw new KernelError('EINVAL', `${s.dev.name}: raw I/O of ${buf.length} bytes at ${off} is not in whole ${ss}-byte sectors`);
  }
}

const diskOps: FileOps = {
  type: 'vnode',
  async read(fp, _l, iov, offset) {
    const s = fp.data as SpecDisk;
    const n = await iovLoop(iov, offset ?? fp.offset, false, (b, off) => {
      if (s.kind === 'block') return blockRead(s, b, off);
      checkAligned(s, b, off);
      return s.dev.read(b, off);
    });
    if (offset === undefined) fp.offset += n;
    return n;
  },
  async write(fp, _l, iov, offset) {
    const s = fp.data as SpecDisk;
    const sync = (fp.flags & (O_SYNC | O_DSYNC)) !== 0;
    const n = await iovLoop(iov, offset ?? fp.offset, true, (b, off) => {
      if (s.kind === 'block') return blockWrite(s, b, off, sync);
      checkAligned(s, b, off);
      return s.dev.write(b, off);
    });
    if (offset === undefined) fp.offset += n;
    return n;
  },
  async ioctl(fp, _l, cmd) {
    const s = fp.data as SpecDisk;
    switch (cmd >>> 0) {
      case DIOCGMEDIASIZE: return s.dev.size;
      case DIOCGSECTORSIZE: return s.dev.sectorSize;
      case DIOCCACHESYNC:
        if (s.kind === 'block') await s.bc.bflush(s.dev);
        else await s.dev.flush();
        return 0;
      case FIONBIO: return 0;
      case FIONREAD: return Math.max(0, s.dev.size - fp.offset);
      default: throw new KernelError('ENOTTY', `${s.dev.name}: ioctl 0x${(cmd >>> 0).toString(16)} is not supported`);
    }
  },
  async stat(fp): Promise<Stat> {
    return vnStat((fp.data as SpecDisk).vp);
  },
  async fsync(fp) {
    const s = fp.data as SpecDisk;
    if (s.kind === 'block') await s.bc.bflush(s.dev);
    await s.dev.flush();
  },
  async close(fp) {
    const s = fp.data as SpecDisk;
    try {
      await s.dev.close();
    } finally {
      release(s);
    }
  },
  poll(_fp, events) {
    return events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
  },
  async seek(fp, _l, offset, whence) {
    return seekTo(fp, offset, whence, (fp.data as SpecDisk).dev.size);
  },
};
