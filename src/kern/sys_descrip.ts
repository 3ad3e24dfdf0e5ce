/**
 * Descriptor syscalls that work on any kind of open file: read/write and their vectored and
 * positioned forms, lseek, close, dup/dup2/dup3, fcntl, ioctl, fstat.
 */

import { KernelError } from './errno.js';
import { KFile, closeFile, FCNTLFLAGS, type FileOps } from './file.js';
import type { Lwp } from './proc.js';
import type { SysImpls } from './sys.js';
import {
  F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_CLOSEM, F_MAXFD, F_GETOWN, F_SETOWN,
  FD_CLOEXEC, O_CLOEXEC, O_ACCMODE, O_NONBLOCK,
} from './types.js';

/** Allocate an open file and a descriptor for it (falloc + fd_affix). */
export function falloc(l: Lwp, ops: FileOps, flags: number, data: unknown): { fd: number; fp: KFile } {
  const k = l.kernel;
  if (k.nfiles >= k.maxFiles) throw new KernelError('ENFILE', `kern.maxfiles (${k.maxFiles}) open files in the kernel`);
  const fp = new KFile(ops, flags & ~O_CLOEXEC, data);
  const fd = l.proc.fd.alloc(fp, (flags & O_CLOEXEC) !== 0, 0, l.kernel.openMax);
  fp.kernel = k;
  k.nfiles++;
  return { fd, fp };
}

function iovLength(iov: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of iov) n += b.byteLength;
  return n;
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `offset ${offset} is negative or not an integer`);
}

async function doRead(l: Lwp, fd: number, iov: readonly Uint8Array[], offset: number | undefined): Promise<number> {
  const fp = l.proc.fd.get(fd);
  if (!fp.readable) throw new KernelError('EBADF', `descriptor ${fd} is not open for reading`);
  if (offset !== undefined) {
    if (fp.ops.seek === undefined) throw new KernelError('ESPIPE', `descriptor ${fd} is not seekable`);
    checkOffset(offset);
  }
  if (iovLength(iov) === 0) return 0;
  return fp.ops.read(fp, l, iov, offset);
}

async function doWrite(l: Lwp, fd: number, iov: readonly Uint8Array[], offset: number | undefined): Promise<number> {
  const fp = l.proc.fd.get(fd);
  if (!fp.writable) throw new KernelError('EBADF', `descriptor ${fd} is not open for writing`);
  if (offset !== undefined) {
    if (fp.ops.seek === undefined) throw new KernelError('ESPIPE', `descriptor ${fd} is not seekable`);
    checkOffset(offset);
  }
  return fp.ops.write(fp, l, iov, offset);
}

async function doClose(l: Lwp, fd: number): Promise<void> {
  const fp = l.proc.fd.remove(fd);
  await closeFile(fp, l);
}

/** dup2/dup3: place `from`'s file at `to`, closing what was there. */
async function dupTo(l: Lwp, from: number, to: number, cloexec: boolean): Promise<number> {
  const fdt = l.proc.fd;
  const fp = fdt.get(from);
  if (to < 0 || to >= l.kernel.openMax) throw new KernelError('EBADF', `descriptor ${to} is out of range`);
  if (from === to) return to;
  const old = fdt.install(to, fp, cloexec);
  if (old !== undefined) await closeFile(old, l);
  return to;
}

export const descripSyscalls: Partial<SysImpls> = {
  read: (l, fd, buf) => doRead(l, fd, [buf], undefined),
  readv: (l, fd, iov) => doRead(l, fd, iov, undefined),
  pread: (l, fd, buf, off) => doRead(l, fd, [buf], off),
  preadv: (l, fd, iov, off) => doRead(l, fd, iov, off),
  write: (l, fd, buf) => doWrite(l, fd, [buf], undefined),
  writev: (l, fd, iov) => doWrite(l, fd, iov, undefined),
  pwrite: (l, fd, buf, off) => doWrite(l, fd, [buf], off),
  pwritev: (l, fd, iov, off) => doWrite(l, fd, iov, off),

  async lseek(l, fd, offset, whence) {
    const fp = l.proc.fd.get(fd);
    if (fp.ops.seek === undefined) throw new KernelError('ESPIPE', `descriptor ${fd} (${fp.ops.type}) is not seekable`);
    return fp.ops.seek(fp, l, offset, whence);
  },

  close: (l, fd) => doClose(l, fd),

  async dup(l, fd) {
    const fp = l.proc.fd.get(fd);
    return l.proc.fd.alloc(fp, false, 0, l.kernel.openMax);
  },
  dup2: (l, from, to) => dupTo(l, from, to, false),
  async dup3(l, from, to, flags) {
    if ((flags & ~O_CLOEXEC) !== 0) throw new KernelError('EINVAL', `dup3 flags 0x${flags.toString(16)} other than O_CLOEXEC`);
    if (from === to) throw new KernelError('EINVAL', 'dup3 with equal descriptors');
    return dupTo(l, from, to, (flags & O_CLOEXEC) !== 0);
  },

  async fcntl(l, fd, cmd, arg) {
    const fdt = l.proc.fd;
    switch (cmd) {
      case F_DUPFD:
      case F_DUPFD_CLOEXEC: {
        const fp = fdt.get(fd);
        if (arg < 0 || arg >= l.kernel.openMax) throw new KernelError('EINVAL', `F_DUPFD minimum ${arg} out of range`);
        return fdt.alloc(fp, cmd === F_DUPFD_CLOEXEC, arg, l.kernel.openMax);
      }
      case F_GETFD:
        return fdt.getCloexec(fd) ? FD_CLOEXEC : 0;
      case F_SETFD:
        fdt.setCloexec(fd, (arg & FD_CLOEXEC) !== 0);
        return 0;
      case F_GETFL:
        return fdt.get(fd).flags;
      case F_SETFL: {
        const fp = fdt.get(fd);
        const nflags = (fp.flags & ~FCNTLFLAGS) | (arg & FCNTLFLAGS);
        fp.ops.setflags?.(fp, nflags);
        fp.flags = nflags;
        return 0;
      }
      case F_CLOSEM: {
        for (const [i] of [...fdt.entries()]) if (i >= fd) await doClose(l, i);
        return 0;
      }
      case F_MAXFD: {
        let max = -1;
        for (const [i] of fdt.entries()) max = i;
        return max;
      }
      case F_GETOWN:
      case F_SETOWN:
        fdt.get(fd);
        return 0;
      default:
        fdt.get(fd);
        throw new KernelError('EINVAL', `fcntl command ${cmd} is not supported`);
    }
  },

  async ioctl(l, fd, cmd, data) {
    const fp = l.proc.fd.get(fd);
    return fp.ops.ioctl(fp, l, cmd, data);
  },

  async fstat(l, fd) {
    const fp = l.proc.fd.get(fd);
    return fp.ops.stat(fp, l);
  },
};

/** Is the descriptor open non-blocking? */
export function isNonblock(fp: KFile): boolean {
  return (fp.flags & O_NONBLOCK) !== 0;
}

export { O_ACCMODE };
