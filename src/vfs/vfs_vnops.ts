/**
 * Open files backed by vnodes (vn_read, vn_write, vn_stat, vn_close, vn_seek) and fifofs.
 */

import { KernelError } from '../kern/errno.js';
import type { FileOps, KFile } from '../kern/file.js';
import type { PollWait } from '../kern/select.js';
import { POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM } from '../kern/file.js';
import type { Lwp } from '../kern/proc.js';
import { Pipe, FIONREAD, FIONBIO } from '../kern/sys_pipe.js';
import { S_ISUID, S_ISGID, O_APPEND, O_NONBLOCK, O_ACCMODE, O_RDONLY, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET, type Stat } from '../kern/types.js';
import { vnStat } from './vfs_subr.js';
import { IO_APPEND, VDIR, VREG, type Vnode } from './vnode.js';

const MAX_FILE_OFFSET = Number.MAX_SAFE_INTEGER;

async function vnRead(vp: Vnode, iov: readonly Uint8Array[], offset: number): Promise<number> {
  if (vp.type === VDIR) throw new KernelError('EISDIR', 'read of a directory');
  if (vp.reclaimed) throw new KernelError('EBADF', 'file was revoked');
  let total = 0;
  for (const buf of iov) {
    if (buf.byteLength === 0) continue;
    const n = await vp.read(buf, offset + total);
    total += n;
    if (n < buf.byteLength) break;
  }
  return total;
}

async function vnWrite(vp: Vnode, iov: readonly Uint8Array[], offset: number, ioflag = 0): Promise<number> {
  if (vp.type === VDIR) throw new KernelError('EISDIR', 'write to a directory');
  if (vp.reclaimed) throw new KernelError('EBADF', 'file was revoked');
  let total = 0;
  for (const buf of iov) {
    if (buf.byteLength === 0) continue;
    if (offset + total + buf.byteLength > MAX_FILE_OFFSET) throw new KernelError('EFBIG', 'write beyond the largest file offset');
    try {
      total += await vp.write(buf, offset + total, ioflag);
    } catch (e) {
      // a partial write succeeded: report it (the next write gets the error)
      if (total > 0 && e instanceof KernelError && (e.code === 'ENOSPC' || e.code === 'EFBIG' || e.code === 'EDQUOT')) return total;
      throw e;
    }
  }
  return total;
}

export const vnodeOps: FileOps = {
  type: 'vnode',
  async read(fp: KFile, _l: Lwp, iov: readonly Uint8Array[], offset: number | undefined): Promise<number> {
    const vp = fp.data as Vnode;
    if (offset !== undefined) return vnRead(vp, iov, offset);
    const n = await vnRead(vp, iov, fp.offset);
    fp.offset += n;
    return n;
  },
  async write(fp: KFile, l: Lwp, iov: readonly Uint8Array[], offset: number | undefined): Promise<number> {
    const vp = fp.data as Vnode;
    let n: number;
    if (offset !== undefined) {
      n = await vnWrite(vp, iov, offset);
    } else {
      if ((fp.flags & O_APPEND) !== 0 && vp.type === VREG) {
        n = await vnWrite(vp, iov, vp.getattr().size, IO_APPEND);
        fp.offset = vp.getattr().size;
      } else {
        n = await vnWrite(vp, iov, fp.offset);
        fp.offset += n;
      }
    }
    // a write by anyone but the superuser clears set-user-id and set-group-id (as ufs_write does)
    if (n > 0 && l.cred.euid !== 0 && vp.type === VREG) {
      const mode = vp.getattr().mode;
      if ((mode & (S_ISUID | S_ISGID)) !== 0) await vp.setattr({ mode: mode & ~(S_ISUID | S_ISGID) }, l.cred);
    }
    return n;
  },
  async ioctl(fp: KFile, _l: Lwp, cmd: number): Promise<unknown> {
    const vp = fp.data as Vnode;
    if (cmd === FIONREAD && vp.type === VREG) return Math.max(0, vp.getattr().size - fp.offset);
    if (cmd === FIONBIO) return 0;
    throw new KernelError('ENOTTY', `ioctl 0x${(cmd >>> 0).toString(16)} on a ${vp.type === VDIR ? 'directory' : 'file'}`);
  },
  async stat(fp: KFile): Promise<Stat> {
    return vnStat(fp.data as Vnode);
  },
  async close(fp: KFile, l: Lwp | null): Promise<void> {
    const vp = fp.data as Vnode;
    const vfs = vp.mount.kernel.vfs!;
    void l;
    vfs.rele(vp);
  },
  poll(_fp: KFile, events: number): number {
    return events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
  },
  async seek(fp: KFile, _l: Lwp, offset: number, whence: number): Promise<number> {
    const vp = fp.data as Vnode;
    if (!Number.isSafeInteger(offset)) throw new KernelError('EINVAL', `offset ${offset} is not an integer`);
    let base: number;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = fp.offset; break;
      case SEEK_END: base = vp.getattr().size; break;
      default: throw new KernelError('EINVAL', `whence ${whence} is not SEEK_SET, SEEK_CUR or SEEK_END`);
    }
    const n = base + offset;
    if (n < 0) throw new KernelError('EINVAL', `resulting offset ${n} is negative`);
    if (n > MAX_FILE_OFFSET) throw new KernelError('EOVERFLOW', `resulting offset ${n} is too large`);
    fp.offset = n;
    return n;
  },
};

/**
 * fifofs: opening a FIFO vnode attaches to the vnode's pipe. A blocking open for reading waits
 * for a writer and vice versa; a non-blocking read-only open succeeds at once, a non-blocking
 * write-only open without a reader fails with ENXIO. O_RDWR holds both ends (as NetBSD allows).
 * The open file holds the caller's reference on the vnode.
 */
interface FifoEnd {
  readonly pipe: Pipe;
  readonly vp: Vnode;
  readonly reading: boolean;
  readonly writing: boolean;
}

export async function fifoOpen(l: Lwp, vp: Vnode, flags: number): Promise<{ ops: FileOps; data: unknown }> {
  const acc = flags & O_ACCMODE;
  let p = vp.fifoinfo as Pipe | null;
  if (p === null) {
    const va = vp.getattr();
    p = new Pipe(l.kernel, va.uid, va.gid);
    vp.fifoinfo = p;
  }
  const nonblock = (flags & O_NONBLOCK) !== 0;
  const reading = acc !== O_WRONLY;
  const writing = acc !== O_RDONLY;
  if (writing && !reading && nonblock && p.readers === 0) throw new KernelError('ENXIO', 'FIFO has no reader');
  if (reading) p.readers++;
  if (writing) p.writers++;
  p.openCv.broadcast();
  p.readCv.broadcast();
  const end: FifoEnd = { pipe: p, vp, reading, writing };
  if (!nonblock) {
    try {
      while (reading && !writing && p.writers === 0) await p.openCv.waitUnlocked();
      while (writing && !reading && p.readers === 0) await p.openCv.waitUnlocked();
    } catch (e) {
      closeFifoEnd(end);
      throw e;
    }
  }
  return { ops: fifoOps, data: end };
}

function closeFifoEnd(e: FifoEnd): void {
  if (e.reading) e.pipe.closeEnd(true);
  if (e.writing) e.pipe.closeEnd(false);
  if (e.pipe.readers === 0 && e.pipe.writers === 0 && e.vp.fifoinfo === e.pipe) e.vp.fifoinfo = null;
}

const fifoOps: FileOps = {
  type: 'vnode',
  read(fp: KFile, _l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    return (fp.data as FifoEnd).pipe.read(iov, (fp.flags & O_NONBLOCK) !== 0);
  },
  write(fp: KFile, _l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    return (fp.data as FifoEnd).pipe.write(iov, (fp.flags & O_NONBLOCK) !== 0);
  },
  async ioctl(fp: KFile, _l: Lwp, cmd: number): Promise<unknown> {
    const e = fp.data as FifoEnd;
    if (cmd === FIONREAD) return e.reading ? e.pipe.buffered : 0;
    if (cmd === FIONBIO) return 0;
    throw new KernelError('ENOTTY', `ioctl 0x${(cmd >>> 0).toString(16)} on a FIFO`);
  },
  async stat(fp: KFile): Promise<Stat> {
    return vnStat((fp.data as FifoEnd).vp);
  },
  async close(fp: KFile): Promise<void> {
    const e = fp.data as FifoEnd;
    closeFifoEnd(e);
    e.vp.mount.kernel.vfs!.rele(e.vp);
  },
  poll(fp: KFile, events: number, pw: PollWait | null): number {
    const e = fp.data as FifoEnd;
    const r = (e.reading ? e.pipe.poll(events, true, null) : 0) | (e.writing ? e.pipe.poll(events, false, null) : 0);
    if (r === 0) e.pipe.sel.record(pw);
    return r;
  },
};

