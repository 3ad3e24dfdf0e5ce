/**
 * Open files and descriptor tables (kern_descrip).
 *
 * A `KFile` is an open file description shared by dup'ed descriptors and across processes;
 * its `ops` (vnode, pipe, socket) implement the I/O. Descriptor tables map small integers to files
 * with a per-descriptor close-on-exec flag. Status flags (O_APPEND, O_NONBLOCK) live on the file.
 */

import { KernelError } from './errno.js';
import type { Kernel } from './kernel.js';
import type { Lwp } from './proc.js';
import type { PollWait } from './select.js';
import type { Stat } from './types.js';
import { O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR } from './types.js';

export type FileType = 'vnode' | 'pipe' | 'socket' | 'kqueue' | 'misc';

/** poll(2) events */
export const POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;
export const POLLRDNORM = 0x40, POLLWRNORM = POLLOUT, POLLRDBAND = 0x80, POLLWRBAND = 0x100;

export interface FileOps {
  readonly type: FileType;
  /**
   * Read into `iov`; with `offset` undefined, at and advancing the file offset (where the object
   * has one). Resolves with the byte count (0 at end of file).
   */
  read(fp: KFile, l: Lwp, iov: readonly Uint8Array[], offset: number | undefined): Promise<number>;
  write(fp: KFile, l: Lwp, iov: readonly Uint8Array[], offset: number | undefined): Promise<number>;
  ioctl(fp: KFile, l: Lwp, cmd: number, data: unknown): Promise<unknown>;
  stat(fp: KFile, l: Lwp): Promise<Stat>;
  /** Called when the last descriptor referring to the file is closed. */
  close(fp: KFile, l: Lwp | null): Promise<void>;
  /**
   * Current readiness for poll(2) (the POLL* bits of `events` that hold, plus POLLHUP/POLLERR);
   * when nothing is ready and `pw` is given, record it with the object's SelInfo for a wakeup.
   */
  poll(fp: KFile, events: number, pw: PollWait | null): number;
  /** lseek; absent for objects without an offset (ESPIPE). */
  seek?(fp: KFile, l: Lwp, offset: number, whence: number): Promise<number>;
  /** fsync/fdatasync of the object (absent: the VFS syncs the vnode). */
  fsync?(fp: KFile, l: Lwp, dataOnly: boolean): Promise<void>;
  /** Status flags changed by F_SETFL (e.g. O_NONBLOCK). */
  setflags?(fp: KFile, flags: number): void;
}

/** The flags F_SETFL may change. */
export const FCNTLFLAGS = 0x4 /*O_NONBLOCK*/ | 0x8 /*O_APPEND*/ | 0x40 /*O_ASYNC*/ | 0x80 /*O_SYNC*/ | 0x80000 /*O_DIRECT*/ | 0x10000 | 0x20000;

export class KFile {
  /** Current offset for seekable objects. */
  offset = 0;
  /** Descriptor references. */
  refs = 0;
  /** Kernel whose open-file count includes this file (set by falloc). */
  kernel: Kernel | null = null;

  constructor(
    public ops: FileOps,
    /** O_* access mode and status flags. */
    public flags: number,
    /** The object: a vnode, pipe end, socket. */
    public data: unknown,
  ) {}

  get readable(): boolean { const a = this.flags & O_ACCMODE; return a === O_RDONLY || a === O_RDWR; }
  get writable(): boolean { const a = this.flags & O_ACCMODE; return a === O_WRONLY || a === O_RDWR; }
}

interface FdEntry { file: KFile; cloexec: boolean }

export class FileDescTable {
  private readonly slots: (FdEntry | undefined)[] = [];
  /** Lowest possibly free slot. */
  private lowest = 0;

  /** The file behind `fd`, or EBADF. */
  get(fd: number): KFile {
    const e = this.slots[fd];
    if (e === undefined) throw new KernelError('EBADF', `descriptor ${fd} is not open`);
    return e.file;
  }

  has(fd: number): boolean { return this.slots[fd] !== undefined; }

  /** Allocate the lowest free descriptor >= min for `fp`. */
  alloc(fp: KFile, cloexec: boolean, min: number, max: number): number {
    let fd = Math.max(min, this.lowest);
    while (this.slots[fd] !== undefined) fd++;
    if (fd >= max) throw new KernelError('EMFILE', `all ${max} descriptors in use`);
    this.slots[fd] = { file: fp, cloexec };
    fp.refs++;
    if (min <= this.lowest) this.lowest = fd + 1;
    return fd;
  }

  /** Put `fp` at exactly `fd` (dup2), returning the file that was there, if any. */
  install(fd: number, fp: KFile, cloexec: boolean): KFile | undefined {
    if (fd < 0) throw new KernelError('EBADF', `descriptor ${fd} is out of range`);
    const old = this.slots[fd];
    this.slots[fd] = { file: fp, cloexec };
    fp.refs++;
    return old?.file;
  }

  /** Remove `fd` and return its file (the caller drops the reference with closeFile). */
  remove(fd: number): KFile {
    const e = this.slots[fd];
    if (e === undefined) throw new KernelError('EBADF', `descriptor ${fd} is not open`);
    this.slots[fd] = undefined;
    if (fd < this.lowest) this.lowest = fd;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
    return e.file;
  }

  getCloexec(fd: number): boolean {
    const e = this.slots[fd];
    if (e === undefined) throw new KernelError('EBADF', `descriptor ${fd} is not open`);
    return e.cloexec;
  }

  setCloexec(fd: number, on: boolean): void {
    const e = this.slots[fd];
    if (e === undefined) throw new KernelError('EBADF', `descriptor ${fd} is not open`);
    e.cloexec = on;
  }

  /** Open descriptors in ascending order. */
  *entries(): IterableIterator<[number, KFile]> {
    for (let i = 0; i < this.slots.length; i++) {
      const e = this.slots[i];
      if (e !== undefined) yield [i, e.file];
    }
  }

  get count(): number {
    let n = 0;
    for (const e of this.slots) if (e !== undefined) n++;
    return n;
  }
}

/** Drop one descriptor reference to `fp`; the last one closes the object. */
export async function closeFile(fp: KFile, l: Lwp | null): Promise<void> {
  if (--fp.refs > 0) return;
  if (fp.kernel !== null) fp.kernel.nfiles--;
  await fp.ops.close(fp, l);
}
