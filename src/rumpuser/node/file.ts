/**
 * Host files for the Node host (rumpuser_open, rumpuser_bio, rumpuser_getfileinfo,
 * rumpuser_syncfd, rumpuser_close), on numeric file descriptors and node:fs's positional
 * read/write.
 *
 * Sizes: regular files report fstat's size. Block devices report 0 there, and Node cannot issue
 * the BLKGETSIZE64 / DIOCGMEDIASIZE ioctls, so a block device's size is read from Linux sysfs
 * (/sys/dev/block/MAJOR:MINOR/size, in 512-byte sectors) and, where that is unavailable, found by
 * probing: single-byte reads at doubling offsets until one returns nothing, then a binary search
 * for the first offset that reads nothing (about 2 log2(size) reads). Character devices are
 * never probed (/dev/zero has no end).
 *
 * RUMPUSER_OPEN_BIO is accepted and ignored: Node cannot guarantee the buffer alignment O_DIRECT
 * needs, so block I/O goes through the host's page cache and `sync` is what makes it stable.
 * Opening a directory fails with EISDIR (directories are read with readdir).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  HostError,
  RUMPUSER_OPEN_ACCMODE,
  RUMPUSER_OPEN_BIO,
  RUMPUSER_OPEN_CREATE,
  RUMPUSER_OPEN_EXCL,
  RUMPUSER_OPEN_RDONLY,
  RUMPUSER_OPEN_RDWR,
  RUMPUSER_OPEN_WRONLY,
} from '../rumpuser.js';
import type { HostDirent, HostFile, HostFileInfo, HostFileType } from '../rumpuser.js';
import { hostCall, toHostError } from './error.js';

/** Permissions for files created by open (before the host umask), as NetBSD's rumpuser uses. */
const CREATE_MODE = 0o644;

const KNOWN_FLAGS = RUMPUSER_OPEN_ACCMODE | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL | RUMPUSER_OPEN_BIO;

interface StatLike {
  isFile(): boolean;
  isDirectory(): boolean;
  isBlockDevice(): boolean;
  isCharacterDevice(): boolean;
}

export function fileType(st: StatLike): HostFileType {
  if (st.isFile()) return 'reg';
  if (st.isDirectory()) return 'dir';
  if (st.isBlockDevice()) return 'blk';
  if (st.isCharacterDevice()) return 'chr';
  return 'other';
}

/* Promise forms of the fd calls (fs.promises only offers FileHandle, which we do not want). */

function pread(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function pwrite(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st)));
  });
}

function fdCall(op: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    op(fd, (err) => (err ? reject(err) : resolve()));
  });
}

function openFd(p: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(p, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

/** Linux's dev_t encoding (major 12 + 32 bits, minor 20 bits, interleaved). */
function linuxMajorMinor(rdev: bigint): [bigint, bigint] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [major, minor];
}

/** A block device's size from sysfs, or undefined where that is not available. */
async function sysfsDeviceSize(p: string): Promise<number | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    const st = await fs.promises.stat(p, { bigint: true });
    const [major, minor] = linuxMajorMinor(st.rdev);
    const text = await fs.promises.readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
    const sectors = Number(text.trim());
    const bytes = sectors * 512;
    return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/** A device's size found by reading: the first offset at which a one-byte read returns nothing. */
export async function probeSize(fd: number): Promise<number> {
  const one = new Uint8Array(1);
  const readable = async (pos: number): Promise<boolean> => {
    try {
      return (await pread(fd, one, 0, 1, pos)) === 1;
    } catch {
      return false; // EINVAL / ENXIO / EIO past the end of some devices
    }
  };
  if (!(await readable(0))) return 0;
  let lo = 0; // readable
  let hi = 512; // to be found unreadable
  while (await readable(hi)) {
    lo = hi;
    if (hi > Number.MAX_SAFE_INTEGER / 2) return hi + 1;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await readable(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function deviceSize(p: string, fd: number): Promise<number> {
  return (await sysfsDeviceSize(p)) ?? (await probeSize(fd));
}

function checkRange(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new HostError('EINVAL', `${what} ${String(n)} out of range`);
}

function nodeOpenFlags(flags: number): number {
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new HostError('EINVAL', `unknown open flags 0x${flags.toString(16)}`);
  let f: number;
  switch (flags & RUMPUSER_OPEN_ACCMODE) {
    case RUMPUSER_OPEN_RDONLY:
      f = fs.constants.O_RDONLY;
      break;
    case RUMPUSER_OPEN_WRONLY:
      f = fs.constants.O_WRONLY;
      break;
    case RUMPUSER_OPEN_RDWR:
      f = fs.constants.O_RDWR;
      break;
    default:
      throw new HostError('EINVAL', 'bad access mode in open flags');
  }
  if (flags & RUMPUSER_OPEN_CREATE) f |= fs.constants.O_CREAT;
  if (flags & RUMPUSER_OPEN_EXCL) f |= fs.constants.O_EXCL;
  return f;
}

/** An open host file on a numeric descriptor. */
export class NodeHostFile implements HostFile {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fd: number,
    /** What the descriptor refers to ('reg', 'blk' or 'chr'). */
    readonly type: HostFileType,
  ) {}

  /** The descriptor; throws EBADF once closed (the number may already belong to another file). */
  private live(): number {
    if (this.closed) throw new HostError('EBADF', `${this.path}: file is closed`);
    return this.fd;
  }

  async size(): Promise<number> {
    const fd = this.live();
    return hostCall(async () => {
      const st = await fstat(fd);
      if (st.isBlockDevice() && st.size === 0) return deviceSize(this.path, fd);
      return st.size;
    }, this.path);
  }

  /** Reads until `buf` is full or end of file: short only at EOF. */
  async read(buf: Uint8Array, offset: number): Promise<number> {
    checkRange('offset', offset);
    const fd = this.live();
    let done = 0;
    try {
      while (done < buf.length) {
        const n = await pread(fd, buf, done, buf.length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw toHostError(err, this.path);
    }
    return done;
  }

  /** Writes all of `buf` (retrying short writes); a failure is thrown. */
  async write(buf: Uint8Array, offset: number): Promise<number> {
    checkRange('offset', offset);
    const fd = this.live();
    let done = 0;
    try {
      while (done < buf.length) {
        const n = await pwrite(fd, buf, done, buf.length - done, offset + done);
        if (n === 0) throw new HostError('ENOSPC', `${this.path}: no progress writing at ${offset + done}`);
        done += n;
      }
    } catch (err) {
      throw toHostError(err, this.path);
    }
    return done;
  }

  async truncate(size: number): Promise<void> {
    checkRange('size', size);
    const fd = this.live();
    await hostCall(() => new Promise<void>((resolve, reject) => {
      fs.ftruncate(fd, size, (err) => (err ? reject(err) : resolve()));
    }), this.path);
  }

  async sync(): Promise<void> {
    const fd = this.live();
    await hostCall(() => fdCall(fs.fsync, fd), this.path);
  }

  async close(): Promise<void> {
    const fd = this.live();
    this.closed = true;
    await hostCall(() => fdCall(fs.close, fd), this.path);
  }
}

export async function openFile(p: string, flags: number): Promise<NodeHostFile> {
  const nodeFlags = nodeOpenFlags(flags);
  const fd = await hostCall(() => openFd(p, nodeFlags, CREATE_MODE), p);
  let type: HostFileType;
  try {
    type = fileType(await fstat(fd));
  } catch (err) {
    fs.close(fd, () => {});
    throw toHostError(err, p);
  }
  if (type === 'dir') {
    await fdCall(fs.close, fd).catch(() => {});
    throw new HostError('EISDIR', `${p}: is a directory`);
  }
  return new NodeHostFile(p, fd, type);
}

export async function getFileInfo(p: string): Promise<HostFileInfo> {
  const st = await hostCall(() => fs.promises.stat(p), p);
  const type = fileType(st);
  if (type !== 'blk' || st.size !== 0) return { type, size: st.size };
  const fromSysfs = await sysfsDeviceSize(p);
  if (fromSysfs !== undefined) return { type, size: fromSysfs };
  const f = await openFile(p, RUMPUSER_OPEN_RDONLY);
  try {
    return { type, size: await f.size() };
  } finally {
    await f.close().catch(() => {});
  }
}

/** A host directory's entries (without . and ..); symbolic links are reported as their targets. */
export async function readDir(p: string): Promise<HostDirent[]> {
  const ents = await hostCall(() => fs.promises.readdir(p, { withFileTypes: true }), p);
  return Promise.all(
    ents.map(async (e): Promise<HostDirent> => {
      if (!e.isSymbolicLink()) return { name: e.name, type: fileType(e) };
      try {
        return { name: e.name, type: fileType(await fs.promises.stat(path.join(p, e.name))) };
      } catch {
        return { name: e.name, type: 'other' }; // dangling link
      }
    }),
  );
}
