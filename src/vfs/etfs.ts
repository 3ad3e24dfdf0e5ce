/**
 * etfs, the "extra-terrestrial file system": host files mapped into the kernel namespace under a
 * key path (rump_pub_etfs_register / rump_pub_etfs_register_withsize / rump_pub_etfs_remove).
 *
 *   await etfsRegister(k, '/dev/harddisk', '/tmp/ext2.img', 'blk');
 *   await k.sys.mount(l, 'ext2fs', '/mnt', 0, { fspec: '/dev/harddisk' });
 *
 * Types:
 * - 'blk': a block device node (rumpblk, major 197) over the host file, mountable; 'chr' the raw
 *   (character) side of the same, for unbuffered sector I/O.
 * - 'reg': a regular file whose reads and writes go to the host file.
 * Keys are hidden: lookup finds them, directory listings do not show them (NetBSD's etfs keys
 * are matched at the root and never listed). Directories on the way to a key that do not exist
 * are made hidden too.
 *
 * Windows: `offset` starts the mapping inside the host file; `size` fixes its length (default:
 * to the end of the host file; a 'reg' mapping without a size grows with writes). The window
 * must lie inside the host file (EINVAL). A 'reg' write past a fixed window fails with EFBIG
 * (after the part that fits), a block device write past its end with ENOSPC.
 *
 * Host files that cannot be opened for writing are registered read-only: writes fail with EROFS,
 * and the node has no write permission bits. The host file stays open until `etfsRemove` (or
 * halt). Host directories ('dir') are not supported yet: EOPNOTSUPP.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import { makedev } from '../kern/types.js';
import {
  HostError, RUMPUSER_OPEN_BIO, RUMPUSER_OPEN_RDONLY, RUMPUSER_OPEN_RDWR,
  type HostFile, type HostFileInfo,
} from '../rumpuser/rumpuser.js';
import { hostError } from './blockdev.js';
import type { MemfsBacking } from './memfs/backing.js';
import { RUMPBLK_MAJOR } from './rumpblk.js';
import { rumpfsAddNode, rumpfsRemoveNode } from './rumpfs.js';
import { VBLK, VCHR, VREG } from './vnode.js';

export type EtfsType = 'reg' | 'blk' | 'chr' | 'dir';

export interface EtfsOptions {
  /** Start of the mapping in the host file, bytes. Default 0. */
  offset?: number;
  /** Length of the mapping, bytes. Default: to the end of the host file. */
  size?: number;
  /** Register read-only even if the host file is writable. */
  readonly?: boolean;
  /** Permission bits of the node. Default 0755 (NetBSD's RUMPFS_DEFAULTMODE), without write bits when read-only. */
  mode?: number;
}

/** A registration, as etfsList reports it. */
export interface EtfsInfo {
  readonly key: string;
  readonly hostpath: string;
  readonly type: EtfsType;
  readonly offset: number;
  /** Current size of the mapping. */
  readonly size: number;
  readonly readonly: boolean;
  /** Device number of a 'blk' or 'chr' key. */
  readonly rdev: number | null;
}

interface EtfsEntry {
  readonly key: string;
  readonly hostpath: string;
  readonly type: EtfsType;
  readonly offset: number;
  readonly: boolean;
  file: HostFile | null;
  minor: number | null;
  backing: EtfsRegBacking | null;
  size: number;
  /** Being registered or removed: the key is reserved. */
  busy: boolean;
}

/** Per-kernel etfs registrations (held by the device switch). */
export class EtfsTable {
  /** @internal */
  readonly entries = new Map<string, EtfsEntry>();

  list(): EtfsInfo[] {
    return [...this.entries.values()].filter((e) => !e.busy).map((e) => ({
      key: e.key, hostpath: e.hostpath, type: e.type, offset: e.offset,
      size: e.backing !== null ? e.backing.currentSize : e.size,
      readonly: e.readonly,
      rdev: e.minor === null ? null : makedev(RUMPBLK_MAJOR, e.minor),
    }));
  }

  /** Close every host file (halt). The keys stay in the namespace, their I/O fails with EBADF. */
  async closeAll(k: Kernel): Promise<void> {
    let err: unknown = null;
    for (const e of [...this.entries.values()]) {
      this.entries.delete(e.key);
      if (e.minor !== null) k.vfs?.devsw.rumpblk.deregister(e.minor);
      try {
        await e.file?.close();
      } catch (x) {
        err ??= hostError(x, `etfs: closing ${e.hostpath} (key ${e.key})`);
      }
      e.file = null;
    }
    if (err !== null) throw err;
  }
}

/**
 * A 'reg' key's storage: the host file from `start`, either a fixed window of `window` bytes or
 * growing to the host file's end. Sizes are kept here (getattr needs them synchronously).
 */
class EtfsRegBacking implements MemfsBacking {
  currentSize: number;

  constructor(
    private readonly entry: EtfsEntry,
    private readonly start: number,
    private readonly window: number | undefined,
    initialSize: number,
  ) {
    this.currentSize = initialSize;
  }

  private file(): HostFile {
    const f = this.entry.file;
    if (f === null) throw new KernelError('EBADF', `etfs key ${this.entry.key} has been removed`);
    return f;
  }

  private what(op: string, n: number, off: number): string {
    return `etfs ${this.entry.key} (${this.entry.hostpath}): ${op} of ${n} bytes at ${off}`;
  }

  async sync(): Promise<void> {
    const f = this.file();
    try {
      await f.sync();
    } catch (e) {
      throw hostError(e, `etfs ${this.entry.key} (${this.entry.hostpath}): sync`);
    }
  }

  async read(buf: Uint8Array, offset: number): Promise<number> {
    const f = this.file();
    if (offset >= this.currentSize) return 0;
    const n = Math.min(buf.length, this.currentSize - offset);
    try {
      return await f.read(n === buf.length ? buf : buf.subarray(0, n), this.start + offset);
    } catch (e) {
      throw hostError(e, this.what('read', n, offset));
    }
  }

  async write(buf: Uint8Array, offset: number): Promise<number> {
    const f = this.file();
    if (this.entry.readonly) throw new KernelError('EROFS', `etfs ${this.entry.key}: ${this.entry.hostpath} is mapped read-only`);
    let n = buf.length;
    if (this.window !== undefined) {
      if (offset >= this.window) throw new KernelError('EFBIG', `etfs ${this.entry.key}: write at ${offset} is past the end of its ${this.window}-byte window of ${this.entry.hostpath}`);
      n = Math.min(n, this.window - offset);
    }
    let done: number;
    try {
      done = await f.write(n === buf.length ? buf : buf.subarray(0, n), this.start + offset);
    } catch (e) {
      throw hostError(e, this.what('write', n, offset));
    }
    if (this.window === undefined && offset + done > this.currentSize) this.currentSize = offset + done;
    return done;
  }

  size(): number {
    return this.currentSize;
  }

  async truncate(size: number): Promise<void> {
    const f = this.file();
    if (this.entry.readonly) throw new KernelError('EROFS', `etfs ${this.entry.key}: ${this.entry.hostpath} is mapped read-only`);
    if (this.window !== undefined) {
      if (size === this.window) return;
      throw new KernelError('EINVAL', `etfs ${this.entry.key}: its window of ${this.entry.hostpath} has a fixed size of ${this.window} bytes`);
    }
    try {
      await f.truncate(this.start + size);
    } catch (e) {
      throw hostError(e, `etfs ${this.entry.key} (${this.entry.hostpath}): truncate to ${size}`);
    }
    this.currentSize = size;
  }
}

/** Validate and normalise a key: absolute, no '.' or '..', no empty components. */
function normKey(key: string): string {
  if (typeof key !== 'string' || !key.startsWith('/')) throw new KernelError('EINVAL', `etfs key '${String(key)}' must be an absolute path`);
  const parts = key.split('/').filter((c) => c !== '');
  if (parts.length === 0) throw new KernelError('EINVAL', 'etfs key \'/\' would replace the root directory');
  if (parts.some((c) => c === '.' || c === '..')) throw new KernelError('EINVAL', `etfs key '${key}' has a '.' or '..' component`);
  return '/' + parts.join('/');
}

function checkBytes(what: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new KernelError('EINVAL', `etfs ${what} ${String(v)} is not a non-negative integer`);
}

const READONLY_CODES = new Set(['EACCES', 'EROFS', 'EPERM', 'ETXTBSY']);

function tableOf(k: Kernel): EtfsTable {
  const vfs = k.vfs;
  if (vfs === null) throw new KernelError('ENXIO', 'etfs needs a kernel with the vfs component');
  return vfs.devsw.etfs;
}

/**
 * rump_pub_etfs_register(_withsize): map `hostpath` (or a window of it) at `key`.
 * ENOENT if the host file does not exist, EEXIST if the key (or a node at its path) exists,
 * EINVAL for a window outside the host file, EISDIR for a host directory as a file.
 */
export async function etfsRegister(k: Kernel, key: string, hostpath: string, type: EtfsType, opts: EtfsOptions = {}): Promise<void> {
  const table = tableOf(k);
  const nkey = normKey(key);
  if (type !== 'reg' && type !== 'blk' && type !== 'chr' && type !== 'dir') throw new KernelError('EINVAL', `etfs type '${String(type)}' is not reg, blk, chr or dir`);
  if (typeof hostpath !== 'string' || hostpath === '') throw new KernelError('EINVAL', `etfs key ${nkey}: host path is empty`);
  checkBytes('offset', opts.offset);
  checkBytes('size', opts.size);
  if (opts.mode !== undefined && (!Number.isInteger(opts.mode) || opts.mode < 0 || opts.mode > 0o7777)) throw new KernelError('EINVAL', `etfs mode ${String(opts.mode)} is not a permission mode`);
  if (table.entries.has(nkey)) throw new KernelError('EEXIST', `etfs key ${nkey} is already registered (to ${table.entries.get(nkey)!.hostpath})`);

  const offset = opts.offset ?? 0;
  // Reserve the key before the first await, so a concurrent registration of it fails.
  const entry: EtfsEntry = {
    key: nkey, hostpath, type, offset, readonly: opts.readonly ?? false,
    file: null, minor: null, backing: null, size: 0, busy: true,
  };
  table.entries.set(nkey, entry);
  try {
    await registerEntry(k, entry, opts);
    entry.busy = false;
  } catch (e) {
    table.entries.delete(nkey);
    if (entry.minor !== null) k.vfs?.devsw.rumpblk.deregister(entry.minor);
    if (entry.file !== null) await entry.file.close().catch(() => { /* already failing */ });
    throw e;
  }
}

async function registerEntry(k: Kernel, entry: EtfsEntry, opts: EtfsOptions): Promise<void> {
  const { key, hostpath, type, offset } = entry;
  let info: HostFileInfo;
  try {
    info = await k.host.getfileinfo(hostpath);
  } catch (e) {
    throw hostError(e, `etfs key ${key}: host file ${hostpath}`);
  }
  if (type === 'dir') {
    throw new KernelError('EOPNOTSUPP', `etfs key ${key}: mapping host directories (${hostpath}) is not supported yet`);
  }
  if (info.type === 'dir') throw new KernelError('EISDIR', `etfs key ${key}: host path ${hostpath} is a directory, not a file`);
  if (offset > info.size) throw new KernelError('EINVAL', `etfs key ${key}: offset ${offset} is past the end of ${hostpath} (${info.size} bytes)`);
  if (opts.size !== undefined && offset + opts.size > info.size) {
    throw new KernelError('EINVAL', `etfs key ${key}: window ${offset}+${opts.size} reaches past the end of ${hostpath} (${info.size} bytes)`);
  }
  const size = opts.size ?? info.size - offset;
  const bio = type === 'reg' ? 0 : RUMPUSER_OPEN_BIO;
  let readonly = entry.readonly;
  let file: HostFile | null = null;
  if (!readonly) {
    try {
      file = await k.host.open(hostpath, RUMPUSER_OPEN_RDWR | bio);
    } catch (e) {
      if (!(e instanceof HostError && READONLY_CODES.has(e.code))) throw hostError(e, `etfs key ${key}: opening ${hostpath}`);
      readonly = true;
    }
  }
  if (file === null) {
    try {
      file = await k.host.open(hostpath, RUMPUSER_OPEN_RDONLY | bio);
    } catch (e) {
      throw hostError(e, `etfs key ${key}: opening ${hostpath}`);
    }
  }
  entry.readonly = readonly;
  entry.file = file;
  entry.size = size;
  const mode = opts.mode ?? (readonly ? 0o555 : 0o755);
  const sw = k.vfs!.devsw;
  if (type === 'blk' || type === 'chr') {
    const unit = sw.rumpblk.register(hostpath, file, offset, size, readonly);
    entry.minor = unit.minor;
    await rumpfsAddNode(k, key, { type: type === 'blk' ? VBLK : VCHR, mode, rdev: makedev(RUMPBLK_MAJOR, unit.minor), hidden: true });
    if (k.verbose) k.printf(`${key}: hostpath ${hostpath} (${size} bytes${readonly ? ', read-only' : ''})\n`);
  } else {
    const backing = new EtfsRegBacking(entry, offset, opts.size, size);
    entry.backing = backing;
    await rumpfsAddNode(k, key, { type: VREG, mode, backing, hidden: true });
  }
}

/**
 * rump_pub_etfs_remove: unmap `key` and close its host file. ENOENT if not registered, EBUSY if
 * its block device is open (mounted). Open files of a 'reg' key fail with EBADF afterwards.
 */
export async function etfsRemove(k: Kernel, key: string): Promise<void> {
  const table = tableOf(k);
  const nkey = normKey(key);
  const e = table.entries.get(nkey);
  if (e === undefined || e.busy) throw new KernelError('ENOENT', `etfs key ${nkey} is not registered`);
  const sw = k.vfs!.devsw;
  if (e.minor !== null && sw.isOpen(makedev(RUMPBLK_MAJOR, e.minor))) {
    throw new KernelError('EBUSY', `etfs key ${nkey}: its device is open (mounted?)`);
  }
  e.busy = true;
  try {
    await rumpfsRemoveNode(k, nkey);
  } catch (x) {
    // Already unlinked by a user: the mapping still goes.
    if (!(x instanceof KernelError && x.code === 'ENOENT')) {
      e.busy = false;
      throw x;
    }
  }
  table.entries.delete(nkey);
  if (e.minor !== null) sw.rumpblk.deregister(e.minor);
  const f = e.file;
  e.file = null;
  if (f !== null) {
    try {
      await f.close();
    } catch (x) {
      throw hostError(x, `etfs key ${nkey}: closing ${e.hostpath}`);
    }
  }
}

/** The current registrations. */
export function etfsList(k: Kernel): EtfsInfo[] {
  return tableOf(k).list();
}
