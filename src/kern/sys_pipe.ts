/**
 * Pipes (sys_pipe): a bounded byte queue between a read end and a write end, with blocking and
 * non-blocking semantics. FIFOs (named pipes) use the same object through fifofs.
 *
 * Semantics (POSIX/NetBSD): reads block while empty and a writer exists, return 0 at EOF (no
 * writers); writes block while full, are atomic up to PIPE_BUF bytes, fail with EPIPE when no
 * reader exists; O_NONBLOCK turns blocking into EAGAIN (or a short write). Buffered bytes are
 * charged to kernel memory.
 */

import { KernelError } from './errno.js';
import { POLLIN, POLLOUT, POLLHUP, POLLERR, POLLRDNORM, POLLWRNORM, type FileOps, type KFile } from './file.js';
import type { Kernel } from './kernel.js';
import type { Lwp } from './proc.js';
import { KCondvar } from './sync.js';
import { SelInfo, type PollWait } from './select.js';
import type { SysImpls } from './sys.js';
import { falloc } from './sys_descrip.js';
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY, O_NOSIGPIPE, PIPE_BUF, S_IFIFO, type Stat } from './types.js';

export const PIPE_SIZE = 16384;

export class Pipe {
  private readonly chunks: Uint8Array[] = [];
  /** Read position in chunks[0]. */
  private head = 0;
  buffered = 0;
  readers = 0;
  writers = 0;
  /** Ever had a writer (a FIFO opened for reading only sees EOF after a writer came and went). */
  readonly readCv = new KCondvar();
  readonly writeCv = new KCondvar();
  /** Wakes openers of a FIFO waiting for the other side. */
  readonly openCv = new KCondvar();
  /** poll(2) waiters (both ends). */
  readonly sel = new SelInfo();
  readonly ino: number;
  readonly ctime: number;
  atime: number;
  mtime: number;

  constructor(private readonly kernel: Kernel, readonly uid: number, readonly gid: number, readonly capacity = PIPE_SIZE) {
    this.ino = kernel.nextPipeIno++;
    this.ctime = this.atime = this.mtime = kernel.now();
  }

  private pull(dst: Uint8Array): number {
    let n = 0;
    while (n < dst.byteLength && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const take = Math.min(dst.byteLength - n, c.byteLength - this.head);
      dst.set(c.subarray(this.head, this.head + take), n);
      n += take;
      this.head += take;
      if (this.head === c.byteLength) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    this.kernel.kmem.uncharge(n);
    return n;
  }

  private push(src: Uint8Array): void {
    this.kernel.kmem.charge(src.byteLength, 'pipe buffer', 'ENOBUFS');
    this.chunks.push(src.slice());
    this.buffered += src.byteLength;
  }

  async read(iov: readonly Uint8Array[], nonblock: boolean): Promise<number> {
    while (this.buffered === 0) {
      if (this.writers === 0) return 0;
      if (nonblock) throw new KernelError('EAGAIN', 'pipe is empty');
      await this.readCv.waitUnlocked();
    }
    let n = 0;
    for (const b of iov) {
      if (this.buffered === 0) break;
      n += this.pull(b);
    }
    this.atime = this.kernel.now();
    this.writeCv.broadcast();
    this.sel.notify();
    return n;
  }

  async write(iov: readonly Uint8Array[], nonblock: boolean): Promise<number> {
    let total = 0;
    for (const b of iov) total += b.byteLength;
    if (this.readers === 0) throw new KernelError('EPIPE', 'pipe has no reader');
    if (total === 0) return 0;
    const atomic = total <= PIPE_BUF;
    let done = 0;
    for (const b of iov) {
      let off = 0;
      while (off < b.byteLength) {
        if (this.readers === 0) {
          if (done > 0) return done;
          throw new KernelError('EPIPE', 'pipe reader went away');
        }
        const space = this.capacity - this.buffered;
        const need = atomic ? total - done : 1;
        if (space < need) {
          if (nonblock) {
            if (done > 0) return done;
            throw new KernelError('EAGAIN', 'pipe is full');
          }
          await this.writeCv.waitUnlocked();
          continue;
        }
        const n = Math.min(space, b.byteLength - off);
        this.push(b.subarray(off, off + n));
        off += n;
        done += n;
        this.mtime = this.kernel.now();
        this.readCv.broadcast();
        this.sel.notify();
      }
    }
    return done;
  }

  poll(events: number, isRead: boolean, pw: PollWait | null = null): number {
    const r = this.readiness(events, isRead);
    if (r === 0) this.sel.record(pw);
    return r;
  }

  private readiness(events: number, isRead: boolean): number {
    let r = 0;
    if (isRead) {
      if (this.buffered > 0) r |= events & (POLLIN | POLLRDNORM);
      if (this.writers === 0) r |= POLLHUP;
    } else {
      if (this.readers === 0) r |= POLLERR;
      else if (this.capacity - this.buffered >= PIPE_BUF) r |= events & (POLLOUT | POLLWRNORM);
    }
    return r;
  }

  closeEnd(isRead: boolean): void {
    if (isRead) {
      this.readers--;
      if (this.readers === 0) {
        // nobody will read what is left: free it
        this.kernel.kmem.uncharge(this.buffered);
        this.chunks.length = 0;
        this.head = 0;
        this.buffered = 0;
      }
    } else {
      this.writers--;
    }
    this.readCv.broadcast();
    this.writeCv.broadcast();
    this.openCv.broadcast();
    this.sel.notify();
  }

  stat(): Stat {
    const t = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
    const [as, an] = t(this.atime), [ms, mn] = t(this.mtime), [cs, cn] = t(this.ctime);
    return {
      dev: 0, ino: this.ino, mode: S_IFIFO | 0o600, nlink: 1, uid: this.uid, gid: this.gid, rdev: 0,
      size: this.buffered, blocks: 0, blksize: PIPE_BUF, flags: 0, gen: 0,
      atimeSec: as, atimeNsec: an, mtimeSec: ms, mtimeNsec: mn, ctimeSec: cs, ctimeNsec: cn,
      birthtimeSec: cs, birthtimeNsec: cn,
    };
  }
}

/** One end of a pipe, the `data` of its open file. */
export interface PipeEnd {
  readonly pipe: Pipe;
  readonly isRead: boolean;
  /** Called after the end is closed (fifofs releases its vnode). */
  onClose?: () => void;
}

export const pipeOps: FileOps = {
  type: 'pipe',
  read(fp: KFile, _l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    const e = fp.data as PipeEnd;
    return e.pipe.read(iov, (fp.flags & O_NONBLOCK) !== 0);
  },
  write(fp: KFile, _l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    const e = fp.data as PipeEnd;
    return e.pipe.write(iov, (fp.flags & O_NONBLOCK) !== 0);
  },
  async ioctl(fp: KFile, _l: Lwp, cmd: number): Promise<unknown> {
    const e = fp.data as PipeEnd;
    if (cmd === FIONREAD) return e.isRead ? e.pipe.buffered : 0;
    if (cmd === FIONBIO) return 0;
    throw new KernelError('ENOTTY', `ioctl 0x${(cmd >>> 0).toString(16)} on a pipe`);
  },
  async stat(fp: KFile): Promise<Stat> {
    return (fp.data as PipeEnd).pipe.stat();
  },
  async close(fp: KFile): Promise<void> {
    const e = fp.data as PipeEnd;
    e.pipe.closeEnd(e.isRead);
    e.onClose?.();
  },
  poll(fp: KFile, events: number, pw: PollWait | null): number {
    const e = fp.data as PipeEnd;
    return e.pipe.poll(events, e.isRead, pw);
  },
};

/** ioctl numbers (sys/filio.h): _IOR('f', 127, int) and _IOW('f', 126, int). */
export const FIONREAD = 0x4004667f;
export const FIONBIO = 0x8004667e;

async function makePipe(l: Lwp, flags: number): Promise<[number, number]> {
  if ((flags & ~(O_CLOEXEC | O_NONBLOCK | O_NOSIGPIPE)) !== 0) throw new KernelError('EINVAL', `pipe2 flags 0x${flags.toString(16)}`);
  const p = new Pipe(l.kernel, l.cred.euid, l.cred.egid);
  const extra = flags & (O_CLOEXEC | O_NONBLOCK | O_NOSIGPIPE);
  p.readers = 1;
  p.writers = 1;
  const r = falloc(l, pipeOps, O_RDONLY | extra, { pipe: p, isRead: true } satisfies PipeEnd);
  try {
    const w = falloc(l, pipeOps, O_WRONLY | extra, { pipe: p, isRead: false } satisfies PipeEnd);
    return [r.fd, w.fd];
  } catch (e) {
    l.proc.fd.remove(r.fd);
    l.kernel.nfiles--;
    throw e;
  }
}

export const pipeSyscalls: Partial<SysImpls> = {
  pipe: (l) => makePipe(l, 0),
  pipe2: (l, flags) => makePipe(l, flags),
};
