/**
 * ukfs, the "user kernel file system" (NetBSD's libukfs): open a file system image directly in
 * this process, through a private rump kernel, with an API shaped like `node:fs/promises`.
 *
 *   const fs = await ukfsMount({ image: 'disk.img', readonly: true });   // type detected
 *   console.log(await fs.readdir('/etc'), (await fs.stat('/etc/motd')).size);
 *   await fs.unmount();
 *
 *   const mem = await ukfsOpenMemory();         // a tmpfs, no image: the same API
 *
 * How: `ukfsMount` boots a kernel with the vfs component and the file system's component (from
 * registry.ts), maps the image into it with etfs as a block device (`/dev/ukfs`, optionally a
 * window of the file: an offset, or a partition of a whole-disk image), mounts it on an internal
 * directory, and makes a process whose root directory (chroot) and working directory are the
 * file system's root. Every call is a system call of that process, so:
 * - paths are the image's: '/etc/motd' and 'etc/motd' both name the file inside the image, '..'
 *   stops at the image root, and absolute symbolic links resolve inside the image;
 * - permissions are checked against the process credentials (`uid`/`gid` options, default root);
 * - errors are Node's (errors.ts): `code`, negative `errno`, `syscall`, `path`, `dest`.
 *
 * `unmount()` closes what is open, syncs, unmounts, and halts the kernel; nothing written is
 * guaranteed to be in the image before `sync()` or `unmount()`. `kernel` and `lwp` give raw
 * access (`fs.kernel.sys.open(fs.lwp, ...)`) for anything the fs-shaped API lacks.
 */

import type { Component } from '../kern/component.js';
import { KernelError } from '../kern/errno.js';
import { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import {
  MNT_RDONLY, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_WRONLY,
  S_IFDIR, S_IFLNK, S_IFMT, type Stat, type Statvfs,
} from '../kern/types.js';
import type { RumpUser } from '../rumpuser/rumpuser.js';
import { vfs } from '../vfs/index.js';
import { etfsRegister, etfsRemove } from '../vfs/etfs.js';
import { locateFs } from './detect.js';
import {
  LINUX_O, argError, linuxCode, makeError, nodeError, parseFlags, parseId, parseMode, systemError, toPath, toTimespec,
  type PathLike,
} from './errors.js';
import { FileHandle, checkAborted, readRest, writeAll, type HandleOwner } from './filehandle.js';
import {
  decode, decodeName, dirnamePath, encodingOf, isSubpath, joinPath, optionsOf, resolvePath, type Encoding,
} from './data.js';
import { lookupFs, linuxFsMagic } from './registry.js';
import { BigIntStats, Dirent, StatFs, Stats, dtToIfmt } from './stats.js';
import { Dir } from './dir.js';
import { createReadStream, createWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './stream.js';
import type { Readable, Writable } from 'node:stream';

/** The etfs key the image is registered under, and where the file system is mounted. */
export const UKFS_DEVICE = '/dev/ukfs';
export const UKFS_MOUNTPOINT = '/ukfs';
const MAXSYMLINKS = 32;
const DIRENT_BATCH = 1024;

export interface UkfsMountOptions {
  /** File system type ('ext2fs', 'tmpfs', or an alias like 'ext4'); detected from the image when absent. */
  fstype?: string;
  /** Host path of the image (a file or block device). Not used by tmpfs. */
  image?: string;
  /** File system specific mount data (tmpfs: size, nodes, mode...). */
  options?: Record<string, unknown>;
  /** Mount read-only (and map the image read-only). */
  readonly?: boolean;
  /** The hypercall host; default the Node host. */
  host?: RumpUser;
  /** Extra components to boot with (vfs and the file system's are added). */
  components?: readonly Component[];
  /**
   * A file system component that is not in the registry (its type name goes in `fstype`); it
   * mounts the image as a block device when `image` is given, else with the options alone.
   */
  component?: Component;
  /** Credentials of the calling process; default root (0). */
  uid?: number;
  gid?: number;
  groups?: readonly number[];
  /** File creation mask of the process; default 022. */
  umask?: number;
  /** Byte offset of the file system in the image. */
  offset?: number;
  /** Bytes of the file system (default: to the end of the image or partition). */
  size?: number;
  /** 1-based MBR/GPT partition of a whole-disk image. */
  partition?: number;
  /** Kernel memory limit (bytes or '64m'). */
  memlimit?: number | string;
}

type StatOptions = { bigint?: boolean } | undefined;
type ReaddirOptions = { encoding?: Encoding; withFileTypes?: boolean; recursive?: boolean } | BufferEncoding | 'buffer' | null | undefined;

/** Node's fs.constants as they are on Linux (what numeric arguments to ukfs mean). */
export const constants = Object.freeze({
  ...LINUX_O,
  F_OK: 0, R_OK: 4, W_OK: 2, X_OK: 1,
  COPYFILE_EXCL: 1, COPYFILE_FICLONE: 2, COPYFILE_FICLONE_FORCE: 4,
  S_IFMT: 0o170000, S_IFREG: 0o100000, S_IFDIR: 0o040000, S_IFCHR: 0o020000, S_IFBLK: 0o060000,
  S_IFIFO: 0o010000, S_IFLNK: 0o120000, S_IFSOCK: 0o140000,
  S_IRWXU: 0o700, S_IRUSR: 0o400, S_IWUSR: 0o200, S_IXUSR: 0o100,
  S_IRWXG: 0o70, S_IRGRP: 0o40, S_IWGRP: 0o20, S_IXGRP: 0o10,
  S_IRWXO: 0o7, S_IROTH: 0o4, S_IWOTH: 0o2, S_IXOTH: 0o1,
  UV_FS_O_FILEMAP: 0,
});

function toNodeMountError(e: unknown, image: string | undefined): unknown {
  return nodeError(e, 'mount', image);
}

/**
 * Open a file system: boot a private kernel, map the image, mount it. The type comes from
 * `fstype` or, for images, from the image's signature (detect.ts). Errors are Node-style with
 * syscall 'mount' and the image path; the kernel's explanation is in `detail`.
 */
export async function ukfsMount(opts: UkfsMountOptions): Promise<Ukfs> {
  const image = opts.image;
  let host = opts.host;
  try {
    if (host === undefined) {
      const m = await import('../rumpuser/node/index.js');
      host = m.nodeHost();
    }
    let fstype = opts.fstype;
    let offset = opts.offset;
    let size = opts.size;
    if (opts.component !== undefined) {
      if (fstype === undefined) throw new KernelError('EINVAL', `a custom component ('${opts.component.name}') needs its file system type name in fstype`);
    } else if (fstype !== undefined && !lookupFs(fstype).needsImage) {
      if (image !== undefined) throw new KernelError('EINVAL', `${lookupFs(fstype).fstype} is a memory file system and takes no image`);
    } else {
      if (image === undefined || image === '') throw new KernelError('EINVAL', 'an image path is needed (or fstype: \'tmpfs\')');
      if (fstype === undefined || opts.partition !== undefined) {
        const lo: Parameters<typeof locateFs>[2] = {};
        if (opts.offset !== undefined) lo.offset = opts.offset;
        if (opts.size !== undefined) lo.size = opts.size;
        if (opts.partition !== undefined) lo.partition = opts.partition;
        if (fstype !== undefined) lo.fstype = fstype;
        const found = await locateFs(host, image, lo);
        if (found.fstype === null) throw new KernelError('EFTYPE', `no known file system in ${image}: ${found.what}; give the type`);
        fstype = found.fstype;
        offset = found.offset;
        size = found.size;
      }
    }
    return await Ukfs.boot({ ...opts, fstype, host, ...(offset !== undefined ? { offset } : {}), ...(size !== undefined ? { size } : {}) });
  } catch (e) {
    throw toNodeMountError(e, image);
  }
}

/** A tmpfs in a private kernel (memory host by default): the ukfs API with no image. */
export async function ukfsOpenMemory(opts: Omit<UkfsMountOptions, 'fstype' | 'image'> & { fstype?: 'tmpfs' } = {}): Promise<Ukfs> {
  let host = opts.host;
  if (host === undefined) {
    const m = await import('../rumpuser/memory/index.js');
    host = m.memoryHost();
  }
  return ukfsMount({ ...opts, host, fstype: 'tmpfs' });
}

/** An open file system. See the module comment. */
export class Ukfs implements HandleOwner {
  readonly kernel: Kernel;
  /** The calling lwp (its process is chrooted to the file system root). */
  readonly lwp: Lwp;
  /** Kernel file system type name ('ext2fs', 'tmpfs'). */
  readonly fstype: string;
  /** Host path of the image (null for tmpfs). */
  readonly image: string | null;
  readonly readonly: boolean;
  readonly constants = constants;
  #handles = new Set<FileHandle>();
  #cwd = '/';
  #closing: Promise<void> | null = null;

  private constructor(kernel: Kernel, lwp: Lwp, fstype: string, image: string | null, ro: boolean) {
    this.kernel = kernel;
    this.lwp = lwp;
    this.fstype = fstype;
    this.image = image;
    this.readonly = ro;
  }

  /** @internal ukfsMount's second half: the type is known, the window located. */
  static async boot(o: UkfsMountOptions & { fstype: string; host: RumpUser }): Promise<Ukfs> {
    const custom = o.component;
    const entry = custom === undefined ? lookupFs(o.fstype)
      : { fstype: o.fstype, needsImage: o.image !== undefined, load: () => Promise.resolve(custom) };
    const fsComp = await entry.load();
    const comps: Component[] = [vfs, fsComp];
    for (const c of o.components ?? []) if (!comps.some((x) => x.name === c.name)) comps.push(c);
    const bootOpts: Parameters<typeof Kernel.boot>[0] = { host: o.host, components: comps };
    if (o.memlimit !== undefined) bootOpts.memlimit = o.memlimit;
    const k = await Kernel.boot(bootOpts);
    try {
      const l0 = k.initLwp;
      const ro = o.readonly ?? false;
      let data: Record<string, unknown> = { ...o.options };
      if (entry.needsImage) {
        const eo: Parameters<typeof etfsRegister>[4] = { readonly: ro };
        if (o.offset !== undefined) eo.offset = o.offset;
        if (o.size !== undefined) eo.size = o.size;
        await etfsRegister(k, UKFS_DEVICE, o.image!, 'blk', eo);
        data = { ...data, fspec: UKFS_DEVICE };
      }
      await k.sys.mkdir(l0, UKFS_MOUNTPOINT, 0o755);
      await k.sys.mount(l0, entry.fstype, UKFS_MOUNTPOINT, ro ? MNT_RDONLY : 0, data);
      const l = k.newProc({ comm: 'ukfs' });
      await k.sys.chroot(l, UKFS_MOUNTPOINT);
      await k.sys.chdir(l, '/');
      await k.sys.umask(l, o.umask ?? 0o022);
      if (o.groups !== undefined) await k.sys.setgroups(l, [...o.groups]);
      if (o.gid !== undefined) await k.sys.setgid(l, o.gid);
      if (o.uid !== undefined) await k.sys.setuid(l, o.uid);
      return new Ukfs(k, l, entry.fstype, entry.needsImage ? o.image! : null, ro);
    } catch (e) {
      await k.halt().catch(() => undefined);
      throw e;
    }
  }

  /** @internal HandleOwner */
  forget(fh: FileHandle): void {
    this.#handles.delete(fh);
  }

  // -------------------------------------------------------------------------------------------
  // lifecycle

  /** Write back everything dirty to the image (and flush the host file). */
  async sync(): Promise<void> {
    try {
      if (this.kernel.halted) throw new KernelError('ENXIO', 'the file system has been unmounted');
      await this.kernel.vfs!.syncAll(true);
    } catch (e) {
      throw nodeError(e, 'sync');
    }
  }

  /** Close open handles, sync, unmount and halt the kernel. Idempotent. */
  unmount(): Promise<void> {
    this.#closing ??= this.#doUnmount();
    return this.#closing;
  }

  async #doUnmount(): Promise<void> {
    const k = this.kernel;
    let first: unknown = null;
    const step = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        first ??= e;
      }
    };
    for (const fh of [...this.#handles]) await step(() => fh.close());
    await step(() => k.procExit(this.lwp.proc));
    if (!this.readonly) await step(() => k.vfs!.syncAll(true));
    await step(() => k.sys.unmount(k.initLwp, UKFS_MOUNTPOINT, 0));
    if (this.image !== null) await step(() => etfsRemove(k, UKFS_DEVICE));
    await step(() => k.halt());
    if (first !== null) throw nodeError(first, 'unmount', this.image ?? undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unmount();
  }

  /** Change the working directory inside the image (relative paths start there). */
  async chdir(path: PathLike): Promise<void> {
    const p = toPath(path);
    await this.#sys('chdir', p, undefined, () => this.kernel.sys.chdir(this.lwp, p));
    this.#cwd = resolvePath(this.#cwd, p);
    try {
      this.#cwd = await this.kernel.sys.getcwd(this.lwp);
    } catch {
      // keep the lexical answer
    }
  }

  /** The working directory inside the image ('/' at first). */
  cwd(): string {
    return this.#cwd;
  }

  // -------------------------------------------------------------------------------------------
  // helpers

  async #sys<T>(syscall: string, path: string | undefined, dest: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw nodeError(e, syscall, path, dest);
    }
  }

  async #openFd(p: string, flags: number, mode: number, syscall: string, dest?: string): Promise<number> {
    try {
      return await this.kernel.sys.open(this.lwp, p, flags, mode);
    } catch (e) {
      if (e instanceof KernelError && (flags & O_NOFOLLOW) !== 0) throw nodeError(linuxCode('open', e, 'nofollow'), syscall, p, dest);
      throw nodeError(e, syscall, p, dest);
    }
  }

  #closeFd(fd: number): Promise<void> {
    return this.kernel.sys.close(this.lwp, fd).catch(() => undefined);
  }

  /** Every entry of an open directory ('.' and '..' left out). */
  async #entries(fd: number, syscall: string, path: string): Promise<{ name: string; ino: number; type: number }[]> {
    const out: { name: string; ino: number; type: number }[] = [];
    const { sys } = this.kernel;
    for (;;) {
      let batch;
      try {
        batch = await sys.getdents(this.lwp, fd, DIRENT_BATCH);
      } catch (e) {
        throw nodeError(e, syscall, path);
      }
      if (batch.length === 0) return out;
      for (const d of batch) if (d.name !== '.' && d.name !== '..') out.push(d);
    }
  }

  /** The S_IF* type of a directory entry, asking lstat when the file system did not say. */
  async #entryType(dir: string, d: { name: string; type: number }): Promise<number> {
    const t = dtToIfmt(d.type);
    if (t !== 0) return t;
    try {
      return (await this.kernel.sys.lstat(this.lwp, joinPath(dir, d.name))).mode & S_IFMT;
    } catch {
      return 0;
    }
  }

  // -------------------------------------------------------------------------------------------
  // files

  /** Open a file: flags as Node's ('r', 'w+', ... or Linux O_* numbers), mode default 0o666. */
  async open(path: PathLike, flags?: string | number, mode?: number | string): Promise<FileHandle> {
    const p = toPath(path);
    const fd = await this.#openFd(p, parseFlags(flags, 'r'), parseMode(mode, 0o666), 'open');
    const fh = new FileHandle(this, fd);
    this.#handles.add(fh);
    return fh;
  }

  readFile(path: PathLike | FileHandle, options?: { encoding?: null; flag?: string | number; signal?: AbortSignal } | null): Promise<Buffer>;
  readFile(path: PathLike | FileHandle, options: { encoding: BufferEncoding; flag?: string | number; signal?: AbortSignal } | BufferEncoding): Promise<string>;
  readFile(path: PathLike | FileHandle, options?: { encoding?: BufferEncoding | null; flag?: string | number; signal?: AbortSignal } | BufferEncoding | null): Promise<Buffer | string>;
  /** The whole file: a Buffer, or a string with an encoding. */
  async readFile(path: PathLike | FileHandle, options?: { encoding?: BufferEncoding | null; flag?: string | number; signal?: AbortSignal } | BufferEncoding | null): Promise<Buffer | string> {
    if (path instanceof FileHandle) return path.readFile(options as BufferEncoding);
    const encoding = encodingOf(options, null);
    const o = optionsOf<{ flag: string | number; signal: AbortSignal }>(options);
    const p = toPath(path);
    checkAborted(o.signal);
    const fd = await this.#openFd(p, parseFlags(o.flag, 'r'), 0o666, 'open');
    try {
      return decode(await readRest(this, fd, o.signal, true), encoding);
    } finally {
      await this.#closeFd(fd);
    }
  }

  /** Replace (or, with flag 'a', append to) a file's contents; mode default 0o666 (less the umask). */
  async writeFile(path: PathLike | FileHandle, data: unknown, options?: { encoding?: BufferEncoding | null; mode?: number | string; flag?: string | number; signal?: AbortSignal; flush?: boolean } | BufferEncoding | null): Promise<void> {
    if (path instanceof FileHandle) return path.writeFile(data, options as BufferEncoding);
    return this.#write(path, data, options, 'w');
  }

  async appendFile(path: PathLike | FileHandle, data: unknown, options?: { encoding?: BufferEncoding | null; mode?: number | string; flag?: string | number; signal?: AbortSignal; flush?: boolean } | BufferEncoding | null): Promise<void> {
    if (path instanceof FileHandle) return path.appendFile(data, options as BufferEncoding);
    return this.#write(path, data, options, 'a');
  }

  async #write(path: PathLike, data: unknown, options: unknown, defFlag: string): Promise<void> {
    const encoding = encodingOf(options, 'utf8');
    const o = optionsOf<{ mode: number | string; flag: string | number; signal: AbortSignal; flush: boolean }>(options);
    const p = toPath(path);
    checkAborted(o.signal);
    const fd = await this.#openFd(p, parseFlags(o.flag, defFlag), parseMode(o.mode, 0o666), 'open');
    try {
      await writeAll(this, fd, data, encoding, o.signal);
      if (o.flush === true) await this.#sys('fsync', undefined, undefined, () => this.kernel.sys.fsync(this.lwp, fd));
    } finally {
      await this.#closeFd(fd);
    }
  }

  /** Truncate (or extend with zeros) to `len` bytes, default 0. */
  async truncate(path: PathLike, len = 0): Promise<void> {
    const p = toPath(path);
    const fd = await this.#openFd(p, O_RDWR, 0, 'open');
    try {
      await this.#sys('ftruncate', undefined, undefined, () => this.kernel.sys.ftruncate(this.lwp, fd, Math.max(0, len)));
    } finally {
      await this.#closeFd(fd);
    }
  }

  /**
   * Copy a file's contents (and mode) to `dest`, replacing it unless COPYFILE_EXCL (1) is set.
   * Errors name syscall 'copyfile' with both paths, as Node's.
   */
  async copyFile(src: PathLike, dest: PathLike, mode = 0): Promise<void> {
    const s = toPath(src, 'src'), d = toPath(dest, 'dest');
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be an integer >= 0 && <= 7. Received ${mode}`);
    }
    const { sys } = this.kernel;
    const l = this.lwp;
    const fail = (e: unknown): unknown => nodeError(e, 'copyfile', s, d);
    if ((mode & constants.COPYFILE_FICLONE_FORCE) !== 0) throw fail(new KernelError('ENOTSUP', 'copy-on-write clones are not supported'));
    const from = await sys.open(l, s, O_RDONLY, 0).catch((e: unknown) => { throw fail(e); });
    let to = -1;
    try {
      const st = await sys.fstat(l, from).catch((e: unknown) => { throw fail(e); });
      if ((st.mode & S_IFMT) === S_IFDIR) throw fail(new KernelError('EISDIR', `'${s}' is a directory`));
      const flags = O_WRONLY | O_CREAT | ((mode & constants.COPYFILE_EXCL) !== 0 ? O_EXCL : 0);
      to = await sys.open(l, d, flags, st.mode & 0o7777).catch((e: unknown) => { throw fail(e); });
      try {
        const dst = await sys.fstat(l, to);
        if (dst.dev === st.dev && dst.ino === st.ino) return; // the same file
        await sys.fchmod(l, to, st.mode & 0o7777).catch((e: unknown) => {
          if (!(e instanceof KernelError && e.code === 'EPERM')) throw e;
        });
        await sys.ftruncate(l, to, 0);
        const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size, 4096), 1 << 20));
        let off = 0;
        for (;;) {
          const n = await sys.pread(l, from, buf, off);
          if (n === 0) break;
          let w = 0;
          while (w < n) w += await sys.pwrite(l, to, buf.subarray(w, n), off + w);
          off += n;
        }
      } catch (e) {
        throw fail(e);
      }
    } finally {
      await this.#closeFd(from);
      if (to >= 0) await this.#closeFd(to);
    }
  }

  // -------------------------------------------------------------------------------------------
  // attributes

  stat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
  stat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
  stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats>;
  async stat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    const p = toPath(path);
    const st = await this.#sys('stat', p, undefined, () => this.kernel.sys.stat(this.lwp, p));
    return options?.bigint === true ? new BigIntStats(st) : new Stats(st);
  }

  lstat(path: PathLike, options: { bigint: true }): Promise<BigIntStats>;
  lstat(path: PathLike, options?: { bigint?: false }): Promise<Stats>;
  lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats>;
  async lstat(path: PathLike, options?: StatOptions): Promise<Stats | BigIntStats> {
    const p = toPath(path);
    const st = await this.#sys('lstat', p, undefined, () => this.kernel.sys.lstat(this.lwp, p));
    return options?.bigint === true ? new BigIntStats(st) : new Stats(st);
  }

  /** The kernel's own struct stat (NetBSD fields, exact second/nanosecond times). */
  async rawStat(path: PathLike, follow = true): Promise<Stat> {
    const p = toPath(path);
    return this.#sys(follow ? 'stat' : 'lstat', p, undefined, () => (follow ? this.kernel.sys.stat(this.lwp, p) : this.kernel.sys.lstat(this.lwp, p)));
  }

  /** access(2) with F_OK (default), R_OK, W_OK, X_OK. */
  async access(path: PathLike, mode: number = constants.F_OK): Promise<void> {
    const p = toPath(path);
    if (!Number.isInteger(mode) || mode < 0 || mode > 7) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be an integer >= 0 && <= 7. Received ${mode}`);
    }
    await this.#sys('access', p, undefined, () => this.kernel.sys.access(this.lwp, p, mode));
  }

  async chmod(path: PathLike, mode: number | string): Promise<void> {
    const p = toPath(path), m = parseMode(mode, 0);
    await this.#sys('chmod', p, undefined, () => this.kernel.sys.chmod(this.lwp, p, m));
  }

  /** chmod of a symbolic link itself. */
  async lchmod(path: PathLike, mode: number | string): Promise<void> {
    const p = toPath(path), m = parseMode(mode, 0);
    await this.#sys('lchmod', p, undefined, () => this.kernel.sys.lchmod(this.lwp, p, m));
  }

  async chown(path: PathLike, uid: number, gid: number): Promise<void> {
    const p = toPath(path), u = parseId(uid, 'uid'), g = parseId(gid, 'gid');
    await this.#sys('chown', p, undefined, () => this.kernel.sys.chown(this.lwp, p, u, g));
  }

  async lchown(path: PathLike, uid: number, gid: number): Promise<void> {
    const p = toPath(path), u = parseId(uid, 'uid'), g = parseId(gid, 'gid');
    await this.#sys('lchown', p, undefined, () => this.kernel.sys.lchown(this.lwp, p, u, g));
  }

  /** Set access and modification times (seconds, numeric strings or Dates). */
  async utimes(path: PathLike, atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    const p = toPath(path);
    const times = [toTimespec(atime, 'atime'), toTimespec(mtime, 'mtime')] as const;
    await this.#sys('utime', p, undefined, () => this.kernel.sys.utimes(this.lwp, p, times));
  }

  async lutimes(path: PathLike, atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    const p = toPath(path);
    const times = [toTimespec(atime, 'atime'), toTimespec(mtime, 'mtime')] as const;
    await this.#sys('lutime', p, undefined, () => this.kernel.sys.lutimes(this.lwp, p, times));
  }

  // -------------------------------------------------------------------------------------------
  // names

  async unlink(path: PathLike): Promise<void> {
    const p = toPath(path);
    try {
      await this.kernel.sys.unlink(this.lwp, p);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'EPERM') {
        const isDir = await this.kernel.sys.lstat(this.lwp, p).then((st) => (st.mode & S_IFMT) === S_IFDIR, () => false);
        if (isDir) throw nodeError(linuxCode('unlink', e, 'dir'), 'unlink', p);
      }
      throw nodeError(e, 'unlink', p);
    }
  }

  async rename(oldPath: PathLike, newPath: PathLike): Promise<void> {
    const a = toPath(oldPath, 'oldPath'), b = toPath(newPath, 'newPath');
    await this.#sys('rename', a, b, () => this.kernel.sys.rename(this.lwp, a, b));
  }

  /** A hard link `newPath` to `existingPath`. */
  async link(existingPath: PathLike, newPath: PathLike): Promise<void> {
    const a = toPath(existingPath, 'existingPath'), b = toPath(newPath, 'newPath');
    await this.#sys('link', a, b, () => this.kernel.sys.link(this.lwp, a, b));
  }

  /** A symbolic link at `path` pointing to `target` (`type` is accepted and ignored, as on POSIX). */
  async symlink(target: PathLike, path: PathLike, _type?: string | null): Promise<void> {
    const t = toPath(target, 'target'), p = toPath(path);
    await this.#sys('symlink', t, p, () => this.kernel.sys.symlink(this.lwp, t, p));
  }

  async readlink(path: PathLike, options?: { encoding?: Encoding } | BufferEncoding | 'buffer' | null): Promise<string | Buffer> {
    const p = toPath(path);
    const enc = encodingOf(options, 'utf8');
    const s = await this.#sys('readlink', p, undefined, () => this.kernel.sys.readlink(this.lwp, p));
    return decodeName(s, enc);
  }

  /** mkfifo(2): not in node:fs/promises, offered for image tools. */
  async mkfifo(path: PathLike, mode: number | string = 0o666): Promise<void> {
    const p = toPath(path), m = parseMode(mode, 0o666);
    await this.#sys('mkfifo', p, undefined, () => this.kernel.sys.mkfifo(this.lwp, p, m));
  }

  /** mknod(2) with NetBSD's mode (S_IF* type bits) and device number: for image tools. */
  async mknod(path: PathLike, mode: number, dev = 0): Promise<void> {
    const p = toPath(path);
    await this.#sys('mknod', p, undefined, () => this.kernel.sys.mknod(this.lwp, p, mode, dev));
  }

  /**
   * Canonical path inside the image ('/'-rooted), symbolic links resolved. Errors name syscall
   * 'realpath' and the path given.
   */
  async realpath(path: PathLike, options?: { encoding?: Encoding } | BufferEncoding | 'buffer' | null): Promise<string | Buffer> {
    const p = toPath(path);
    const enc = encodingOf(options, 'utf8');
    const { sys } = this.kernel;
    const l = this.lwp;
    const stack: string[] = [];
    let queue = (p.startsWith('/') ? p : `${this.#cwd}/${p}`).split('/');
    if (p === '') throw makeError('ENOENT', 'realpath', p);
    let links = 0;
    try {
      while (queue.length > 0) {
        const c = queue.shift()!;
        if (c === '' || c === '.') continue;
        if (c === '..') { stack.pop(); continue; }
        const cand = '/' + [...stack, c].join('/');
        const st = await sys.lstat(l, cand);
        if ((st.mode & S_IFMT) === S_IFLNK) {
          if (++links > MAXSYMLINKS) throw new KernelError('ELOOP', `more than ${MAXSYMLINKS} symbolic links`);
          const t = await sys.readlink(l, cand);
          if (t.startsWith('/')) stack.length = 0;
          queue = [...t.split('/'), ...queue];
          continue;
        }
        if ((st.mode & S_IFMT) !== S_IFDIR && queue.some((x) => x !== '' && x !== '.')) {
          throw new KernelError('ENOTDIR', `'${cand}' is not a directory`);
        }
        if ((st.mode & S_IFMT) !== S_IFDIR && queue.length > 0) {
          throw new KernelError('ENOTDIR', `'${cand}' is not a directory`); // a trailing slash after a file
        }
        stack.push(c);
      }
    } catch (e) {
      throw nodeError(e, 'realpath', p);
    }
    return decodeName('/' + stack.join('/'), enc);
  }

  // -------------------------------------------------------------------------------------------
  // directories

  /**
   * Make a directory (mode default 0o777 less the umask). With `recursive`, parents too, and
   * the result is the first directory made (undefined if none), as Node computes it.
   */
  async mkdir(path: PathLike, options?: { recursive?: boolean; mode?: number | string } | number | string | null): Promise<string | undefined> {
    const p = toPath(path);
    const o = typeof options === 'number' || typeof options === 'string' ? { mode: options } : (options ?? {});
    const mode = parseMode(o.mode, 0o777);
    if (o.recursive !== true) {
      await this.#sys('mkdir', p, undefined, () => this.kernel.sys.mkdir(this.lwp, p, mode));
      return undefined;
    }
    return this.#mkdirp(p, mode);
  }

  /** Node's MKDirp: the same walk, so the same first path and the same errors. */
  async #mkdirp(path: string, mode: number): Promise<string | undefined> {
    const { sys } = this.kernel;
    const l = this.lwp;
    const stack = [path];
    let first: string | undefined;
    while (stack.length > 0) {
      const next = stack.pop()!;
      try {
        await sys.mkdir(l, next, mode);
        first ??= next;
        continue;
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        const code = e.code;
        if (code === 'EACCES' || code === 'ENOSPC' || code === 'ENOTDIR' || code === 'EPERM' || code === 'EROFS') throw nodeError(e, 'mkdir', path);
        if (code === 'ENOENT') {
          const cut = next.lastIndexOf('/');
          const dirname = cut < 0 ? next : next.slice(0, cut);
          if (dirname !== next && dirname !== '') {
            stack.push(next, dirname);
            continue;
          }
          if (stack.length === 0) throw nodeError(e, 'mkdir', path);
          continue;
        }
        // EEXIST and the like: fine if it is a directory
        let st: Stat;
        try {
          st = await sys.stat(l, next);
        } catch (e2) {
          throw nodeError(e2, 'mkdir', path);
        }
        if ((st.mode & S_IFMT) !== S_IFDIR) throw nodeError(new KernelError(code === 'EEXIST' && stack.length > 0 ? 'ENOTDIR' : 'EEXIST'), 'mkdir', path);
      }
    }
    return first;
  }

  /** A new directory named `prefix` + six random characters; its path. */
  async mkdtemp(prefix: string, options?: { encoding?: Encoding } | BufferEncoding | null): Promise<string | Buffer> {
    const p = toPath(prefix, 'prefix');
    const enc = encodingOf(options, 'utf8');
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const rnd = new Uint8Array(6);
    for (let attempt = 0; ; attempt++) {
      this.kernel.host.getrandom(rnd);
      const name = p + [...rnd].map((b) => chars[b % chars.length]).join('');
      try {
        await this.kernel.sys.mkdir(this.lwp, name, 0o700);
        return decodeName(name, enc);
      } catch (e) {
        if (!(e instanceof KernelError && e.code === 'EEXIST') || attempt >= 100) throw nodeError(e, 'mkdtemp', `${p}XXXXXX`);
      }
    }
  }

  async rmdir(path: PathLike, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void> {
    const p = toPath(path);
    if (options?.recursive === true) {
      await this.#removeTree(p);
      return;
    }
    await this.#sys('rmdir', p, undefined, () => this.kernel.sys.rmdir(this.lwp, p));
  }

  /**
   * rm -r/-f: ENOENT ignored with `force`, directories need `recursive` (else Node's
   * ERR_FS_EISDIR). Symbolic links are removed, not followed.
   */
  async rm(path: PathLike, options?: { force?: boolean; recursive?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void> {
    const p = toPath(path);
    let st: Stat;
    try {
      st = await this.kernel.sys.lstat(this.lwp, p);
    } catch (e) {
      if (options?.force === true && e instanceof KernelError && e.code === 'ENOENT') return;
      throw nodeError(e, 'lstat', p);
    }
    if ((st.mode & S_IFMT) === S_IFDIR) {
      if (options?.recursive !== true) throw systemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'is a directory', 'rm', p);
      await this.#removeTree(p);
      return;
    }
    await this.unlink(p);
  }

  async #removeTree(p: string): Promise<void> {
    const { sys } = this.kernel;
    const l = this.lwp;
    const ignoreMissing = (e: unknown): void => {
      if (!(e instanceof KernelError && e.code === 'ENOENT')) throw e;
    };
    let fd: number;
    try {
      fd = await sys.open(l, p, O_RDONLY | O_DIRECTORY, 0);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'ENOENT') return;
      if (e instanceof KernelError && e.code === 'ENOTDIR') {
        await sys.unlink(l, p).catch(ignoreMissing);
        return;
      }
      throw nodeError(e, 'rmdir', p);
    }
    let entries;
    try {
      entries = await this.#entries(fd, 'rmdir', p);
    } finally {
      await this.#closeFd(fd);
    }
    for (const d of entries) {
      const child = joinPath(p, d.name);
      const t = await this.#entryType(p, d);
      if (t === S_IFDIR) await this.#removeTree(child);
      else {
        try {
          await sys.unlink(l, child);
        } catch (e) {
          if (e instanceof KernelError && e.code === 'ENOENT') continue;
          throw nodeError(e, 'unlink', child);
        }
      }
    }
    try {
      await sys.rmdir(l, p);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'ENOENT') return;
      throw nodeError(e, 'rmdir', p);
    }
  }

  readdir(path: PathLike, options: { encoding?: BufferEncoding | null; withFileTypes: true; recursive?: boolean }): Promise<Dirent[]>;
  readdir(path: PathLike, options: { encoding: 'buffer'; withFileTypes: true; recursive?: boolean }): Promise<Dirent<Buffer>[]>;
  readdir(path: PathLike, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): Promise<Buffer[]>;
  readdir(path: PathLike, options?: { encoding?: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null): Promise<string[]>;
  readdir(path: PathLike, options?: ReaddirOptions): Promise<(string | Buffer | Dirent | Dirent<Buffer>)[]>;
  /** Names in a directory ('.' and '..' left out); `withFileTypes` gives Dirents, `recursive` the whole tree. */
  async readdir(path: PathLike, options?: ReaddirOptions): Promise<(string | Buffer | Dirent | Dirent<Buffer>)[]> {
    const p = toPath(path);
    const enc = encodingOf(options, 'utf8');
    const o = optionsOf<{ withFileTypes: boolean; recursive: boolean }>(options);
    const withTypes = o.withFileTypes === true;
    const out: (string | Buffer | Dirent | Dirent<Buffer>)[] = [];
    const queue: { dir: string; rel: string }[] = [{ dir: p, rel: '' }];
    while (queue.length > 0) {
      const { dir, rel } = queue.shift()!;
      const fd = await this.#openFd(dir, O_RDONLY | O_DIRECTORY, 0, 'scandir');
      let entries;
      try {
        entries = await this.#entries(fd, 'scandir', dir);
      } finally {
        await this.#closeFd(fd);
      }
      for (const d of entries) {
        const needType = withTypes || o.recursive === true;
        const t = needType ? await this.#entryType(dir, d) : 0;
        if (withTypes) out.push(new Dirent(decodeName(d.name, enc), dir, t) as Dirent | Dirent<Buffer>);
        else out.push(decodeName(rel === '' ? d.name : `${rel}/${d.name}`, enc));
        if (o.recursive === true && t === S_IFDIR) queue.push({ dir: joinPath(dir, d.name), rel: rel === '' ? d.name : `${rel}/${d.name}` });
      }
    }
    return out;
  }

  /** An open directory to iterate (`for await (const d of await fs.opendir('/'))`). */
  async opendir(path: PathLike, options?: { encoding?: Encoding; bufferSize?: number; recursive?: boolean }): Promise<Dir> {
    const p = toPath(path);
    const enc = encodingOf(options, 'utf8');
    const bufferSize = options?.bufferSize ?? 32;
    if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > 4096) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.bufferSize" is out of range. It must be >= 1 && <= 4096. Received ${bufferSize}`);
    }
    const fd = await this.#openFd(p, O_RDONLY | O_DIRECTORY, 0, 'opendir');
    return new Dir(this, fd, p, enc, bufferSize, options?.recursive === true, (dir, d) => this.#entryType(dir, d));
  }

  // -------------------------------------------------------------------------------------------
  // copies

  /**
   * Copy a file or (with `recursive`) a tree, as Node's fs.cp: `force` (default true) replaces
   * existing files, `errorOnExist` makes that an error when not forcing, `filter(src, dest)`
   * skips, `preserveTimestamps`, `dereference` follows symbolic links in src, and
   * `verbatimSymlinks` keeps link targets as they are (else relative ones are made absolute).
   */
  async cp(src: PathLike, dest: PathLike, options?: CpOptions): Promise<void> {
    const s = toPath(src, 'src'), d = toPath(dest, 'dest');
    const o: Required<Omit<CpOptions, 'filter'>> & Pick<CpOptions, 'filter'> = {
      recursive: false, force: true, errorOnExist: false, preserveTimestamps: false, dereference: false,
      verbatimSymlinks: false, mode: 0, ...options,
    };
    const rs = resolvePath(this.#cwd, s), rd = resolvePath(this.#cwd, d);
    if (rs === rd) throw systemError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'src and dest cannot be the same', 'cp', d);
    const sst = await this.#statForCp(s, o.dereference);
    if (sst === null) throw nodeError(new KernelError('ENOENT'), o.dereference ? 'stat' : 'lstat', s);
    if ((sst.mode & S_IFMT) === S_IFDIR && isSubpath(rs, rd)) {
      throw systemError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', `cannot copy ${s} to a subdirectory of self ${d}`, 'cp', d);
    }
    if (o.filter !== undefined && !(await o.filter(s, d))) return;
    const parent = dirnamePath(d);
    if (parent !== d) await this.mkdir(parent, { recursive: true });
    await this.#cpOne(s, d, sst, o);
  }

  async #statForCp(p: string, follow: boolean): Promise<Stat | null> {
    try {
      return follow ? await this.kernel.sys.stat(this.lwp, p) : await this.kernel.sys.lstat(this.lwp, p);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'ENOENT') return null;
      throw nodeError(e, follow ? 'stat' : 'lstat', p);
    }
  }

  async #cpOne(s: string, d: string, sst: Stat, o: Required<Omit<CpOptions, 'filter'>> & Pick<CpOptions, 'filter'>): Promise<void> {
    const dst = await this.#statForCp(d, o.dereference);
    const sfmt = sst.mode & S_IFMT;
    if (dst !== null && dst.dev === sst.dev && dst.ino === sst.ino) {
      throw systemError('ERR_FS_CP_EINVAL', 'Invalid src or dest', 'EINVAL', 'src and dest cannot be the same', 'cp', d);
    }
    if (dst !== null) {
      const dfmt = dst.mode & S_IFMT;
      if (sfmt === S_IFDIR && dfmt !== S_IFDIR) {
        throw systemError('ERR_FS_CP_DIR_TO_NON_DIR', 'Cannot overwrite non-directory with directory', 'EISDIR', `cannot overwrite non-directory ${d} with directory ${s}`, 'cp', d);
      }
      if (sfmt !== S_IFDIR && dfmt === S_IFDIR) {
        throw systemError('ERR_FS_CP_NON_DIR_TO_DIR', 'Cannot overwrite directory with non-directory', 'ENOTDIR', `cannot overwrite directory ${s} with non-directory ${d}`, 'cp', d);
      }
    }
    switch (sfmt) {
      case S_IFDIR: {
        if (!o.recursive) throw systemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', `${s} is a directory (not copied)`, 'cp', s);
        if (dst === null) await this.#sys('mkdir', d, undefined, () => this.kernel.sys.mkdir(this.lwp, d, sst.mode & 0o7777));
        const fd = await this.#openFd(s, O_RDONLY | O_DIRECTORY, 0, 'opendir');
        let entries;
        try {
          entries = await this.#entries(fd, 'opendir', s);
        } finally {
          await this.#closeFd(fd);
        }
        for (const e of entries) {
          const cs = joinPath(s, e.name), cd = joinPath(d, e.name);
          if (o.filter !== undefined && !(await o.filter(cs, cd))) continue;
          const cst = await this.#statForCp(cs, o.dereference);
          if (cst === null) continue;
          await this.#cpOne(cs, cd, cst, o);
        }
        if (dst === null) await this.chmod(d, sst.mode & 0o7777);
        break;
      }
      case S_IFLNK: {
        let target = await this.#sys('readlink', s, undefined, () => this.kernel.sys.readlink(this.lwp, s));
        if (!o.verbatimSymlinks && !target.startsWith('/')) target = resolvePath(this.#cwd, joinPath(dirnamePath(s), target));
        if (dst !== null) await this.unlink(d);
        await this.symlink(target, d);
        break;
      }
      case 0o010000: // FIFO
        throw systemError('ERR_FS_CP_FIFO_PIPE', 'Cannot copy a FIFO pipe', 'EINVAL', `cannot copy a FIFO pipe: ${d}`, 'cp', d);
      case 0o140000: // socket
        throw systemError('ERR_FS_CP_SOCKET', 'Cannot copy a socket file', 'EINVAL', `cannot copy a socket file: ${d}`, 'cp', d);
      default: {
        if (dst !== null) {
          if (!o.force) {
            if (o.errorOnExist) throw systemError('ERR_FS_CP_EEXIST', 'Target already exists', 'EEXIST', `${d} already exists`, 'cp', d);
            return;
          }
          await this.unlink(d);
        }
        await this.copyFile(s, d, o.mode);
        break;
      }
    }
    if (o.preserveTimestamps && sfmt !== S_IFLNK) {
      // as Node: through the Stats Dates, so at (rounded) millisecond precision
      const st = new Stats(sst);
      await this.utimes(d, st.atime, st.mtime);
    }
  }

  // -------------------------------------------------------------------------------------------
  // file system

  /** Node's statfs: sizes in blocks of `bsize`, `type` the Linux magic of the format. */
  async statfs(path: PathLike, options?: { bigint?: boolean }): Promise<StatFs<number> | StatFs<bigint>> {
    const p = toPath(path);
    const vs = await this.#sys('statfs', p, undefined, () => this.kernel.sys.statvfs(this.lwp, p));
    const magic = linuxFsMagic(vs.fstypename);
    return options?.bigint === true ? new StatFs<bigint>(vs, magic, true) : new StatFs<number>(vs, magic, false);
  }

  /** NetBSD's statvfs of the file system holding `path` (default its root), names as the user sees them. */
  async statvfs(path: PathLike = '/'): Promise<Statvfs> {
    const p = toPath(path);
    const vs = await this.#sys('statvfs', p, undefined, () => this.kernel.sys.statvfs(this.lwp, p));
    return { ...vs, mntonname: '/', mntfromname: this.image ?? vs.mntfromname };
  }

  // -------------------------------------------------------------------------------------------
  // streams (node:stream)

  createReadStream(path: PathLike | FileHandle, options?: ReadStreamOptions | BufferEncoding): Readable {
    return createReadStream(this, path, options);
  }

  createWriteStream(path: PathLike | FileHandle, options?: WriteStreamOptions | BufferEncoding): Writable {
    return createWriteStream(this, path, options);
  }
}

export interface CpOptions {
  recursive?: boolean;
  force?: boolean;
  errorOnExist?: boolean;
  preserveTimestamps?: boolean;
  dereference?: boolean;
  verbatimSymlinks?: boolean;
  /** copyFile mode for files (COPYFILE_EXCL...). */
  mode?: number;
  filter?: (src: string, dest: string) => boolean | Promise<boolean>;
}

export { FileHandle };
