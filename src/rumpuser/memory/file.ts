/**
 * Host files for the memory host: an in-memory tree of directories and files, each file a
 * growable, sparse byte store made of 64 KiB ArrayBuffer-backed chunks (a 4 GiB block device
 * image costs only the chunks that were ever written).
 *
 * Paths are POSIX-like and absolute after normalisation: "disk.img", "/disk.img" and
 * "//x/../disk.img" all name the same file. Files opened stay usable after they are removed
 * (as on POSIX, the store lives while a handle refers to it). Block device files ('blk') have a
 * fixed size: writing past the end fails with ENOSPC, truncating with EINVAL.
 */

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
import type { HostDirent, HostFile, HostFileInfo } from '../rumpuser.js';

/* ------------------------------------------------------------------------------------------ */
/* Byte store                                                                                  */

const CHUNK_SHIFT = 16;
const CHUNK = 1 << CHUNK_SHIFT; // 64 KiB

/**
 * A sparse byte array. Chunks never written read as zeros. Invariant: bytes of a chunk at or
 * beyond `size` are zero, so growing the size exposes zeros.
 */
export class ByteStore {
  private readonly chunks = new Map<number, Uint8Array>();
  private length = 0;

  get size(): number {
    return this.length;
  }

  static from(bytes: Uint8Array): ByteStore {
    const s = new ByteStore();
    s.write(bytes, 0);
    return s;
  }

  /** Copy up to dst.length bytes from `offset`; returns the count (short only at the end). */
  read(dst: Uint8Array, offset: number): number {
    const n = Math.max(0, Math.min(dst.length, this.length - offset));
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const len = Math.min(CHUNK - within, n - done);
      const chunk = this.chunks.get(idx);
      if (chunk === undefined) dst.fill(0, done, done + len);
      else dst.set(chunk.subarray(within, within + len), done);
      done += len;
    }
    return n;
  }

  /** Copy all of `src` to `offset`, growing the store as needed. */
  write(src: Uint8Array, offset: number): void {
    let done = 0;
    while (done < src.length) {
      const pos = offset + done;
      const idx = Math.floor(pos / CHUNK);
      const within = pos - idx * CHUNK;
      const len = Math.min(CHUNK - within, src.length - done);
      let chunk = this.chunks.get(idx);
      if (chunk === undefined) {
        chunk = new Uint8Array(CHUNK);
        this.chunks.set(idx, chunk);
      }
      chunk.set(src.subarray(done, done + len), within);
      done += len;
    }
    if (src.length > 0) this.length = Math.max(this.length, offset + src.length);
  }

  truncate(size: number): void {
    if (size < this.length) {
      const keep = Math.ceil(size / CHUNK); // chunks [0, keep) survive
      for (const idx of [...this.chunks.keys()]) if (idx >= keep) this.chunks.delete(idx);
      const within = size % CHUNK;
      if (within !== 0) this.chunks.get(keep - 1)?.fill(0, within);
    }
    this.length = size;
  }

  /** A contiguous copy of the contents. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    this.read(out, 0);
    return out;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Tree                                                                                        */

export type MemFileType = 'reg' | 'blk';

export class MemRegular {
  readonly kind = 'file';
  constructor(
    readonly type: MemFileType,
    readonly store: ByteStore,
  ) {}
}

export class MemDir {
  readonly kind = 'dir';
  readonly entries = new Map<string, MemNode>();
}

export type MemNode = MemRegular | MemDir;

/** Path components after normalisation ('.' and empty parts dropped, '..' resolved). */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

function checkRange(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new HostError('EINVAL', `${what} ${String(n)} out of range`);
}

const KNOWN_FLAGS = RUMPUSER_OPEN_ACCMODE | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL | RUMPUSER_OPEN_BIO;

export class MemFs {
  readonly root = new MemDir();

  constructor(readonly maxFileSize: number) {}

  /** The node at `path`: ENOENT if missing, ENOTDIR if a non-final component is a file. */
  lookup(path: string): MemNode {
    let node: MemNode = this.root;
    for (const part of splitPath(path)) {
      if (node.kind !== 'dir') throw new HostError('ENOTDIR', `${path}: not a directory`);
      const next: MemNode | undefined = node.entries.get(part);
      if (next === undefined) throw new HostError('ENOENT', `${path}: no such file or directory`);
      node = next;
    }
    return node;
  }

  /** The directory that holds `path` and the final name; `create` makes missing directories. */
  private parent(path: string, create: boolean): [MemDir, string] {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new HostError('EISDIR', `${path}: is the root directory`);
    let dir = this.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (next === undefined) {
        if (!create) throw new HostError('ENOENT', `${path}: no such file or directory`);
        next = new MemDir();
        dir.entries.set(part, next);
      }
      if (next.kind !== 'dir') throw new HostError('ENOTDIR', `${path}: not a directory`);
      dir = next;
    }
    return [dir, name];
  }

  /** Create or replace a file, making parent directories. */
  addFile(path: string, store: ByteStore, type: MemFileType): void {
    if (store.size > this.maxFileSize) throw new HostError('EFBIG', `${path}: ${store.size} bytes exceeds the host's limit`);
    const [dir, name] = this.parent(path, true);
    if (dir.entries.get(name)?.kind === 'dir') throw new HostError('EISDIR', `${path}: is a directory`);
    dir.entries.set(name, new MemRegular(type, store));
  }

  /** Create a directory and its parents (like mkdir -p); an existing directory is fine. */
  addDirectory(path: string): void {
    let dir = this.root;
    for (const part of splitPath(path)) {
      let next = dir.entries.get(part);
      if (next === undefined) {
        next = new MemDir();
        dir.entries.set(part, next);
      }
      if (next.kind !== 'dir') throw new HostError('ENOTDIR', `${path}: not a directory`);
      dir = next;
    }
  }

  /** Remove a file or an empty directory. */
  remove(path: string): void {
    this.lookup(path); // ENOENT / ENOTDIR
    const [dir, name] = this.parent(path, false);
    const node = dir.entries.get(name);
    if (node?.kind === 'dir' && node.entries.size > 0) throw new HostError('ENOTEMPTY', `${path}: directory not empty`);
    dir.entries.delete(name);
  }

  info(path: string): HostFileInfo {
    const node = this.lookup(path);
    if (node.kind === 'dir') return { type: 'dir', size: 0 };
    return { type: node.type, size: node.store.size };
  }

  list(path: string): HostDirent[] {
    const node = this.lookup(path);
    if (node.kind !== 'dir') throw new HostError('ENOTDIR', `${path}: not a directory`);
    return [...node.entries]
      .map(([name, n]): HostDirent => ({ name, type: n.kind === 'dir' ? 'dir' : n.type }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  open(path: string, flags: number): MemHostFile {
    if ((flags & ~KNOWN_FLAGS) !== 0) throw new HostError('EINVAL', `unknown open flags 0x${flags.toString(16)}`);
    const mode = flags & RUMPUSER_OPEN_ACCMODE;
    if (mode !== RUMPUSER_OPEN_RDONLY && mode !== RUMPUSER_OPEN_WRONLY && mode !== RUMPUSER_OPEN_RDWR) {
      throw new HostError('EINVAL', 'bad access mode in open flags');
    }
    let node: MemNode;
    if (flags & RUMPUSER_OPEN_CREATE) {
      const [dir, name] = this.parent(path, false);
      const found = dir.entries.get(name);
      if (found !== undefined && flags & RUMPUSER_OPEN_EXCL) throw new HostError('EEXIST', `${path}: file exists`);
      if (found === undefined) {
        node = new MemRegular('reg', new ByteStore());
        dir.entries.set(name, node);
      } else {
        node = found;
      }
    } else {
      node = this.lookup(path);
    }
    if (node.kind === 'dir') throw new HostError('EISDIR', `${path}: is a directory`);
    return new MemHostFile(path, node, mode !== RUMPUSER_OPEN_WRONLY, mode !== RUMPUSER_OPEN_RDONLY, this.maxFileSize);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Open files                                                                                  */

export class MemHostFile implements HostFile {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly node: MemRegular,
    private readonly readable: boolean,
    private readonly writable: boolean,
    private readonly maxFileSize: number,
  ) {}

  /** 'reg' or 'blk'. */
  get type(): MemFileType {
    return this.node.type;
  }

  private live(): ByteStore {
    if (this.closed) throw new HostError('EBADF', `${this.path}: file is closed`);
    return this.node.store;
  }

  async size(): Promise<number> {
    return this.live().size;
  }

  async read(buf: Uint8Array, offset: number): Promise<number> {
    checkRange('offset', offset);
    const store = this.live();
    if (!this.readable) throw new HostError('EBADF', `${this.path}: not open for reading`);
    return store.read(buf, offset);
  }

  async write(buf: Uint8Array, offset: number): Promise<number> {
    checkRange('offset', offset);
    const store = this.live();
    if (!this.writable) throw new HostError('EBADF', `${this.path}: not open for writing`);
    const end = offset + buf.length;
    if (this.node.type === 'blk' && end > store.size) {
      throw new HostError('ENOSPC', `${this.path}: write at ${offset} past the end of the device (${store.size} bytes)`);
    }
    if (end > this.maxFileSize) throw new HostError('EFBIG', `${this.path}: file would exceed ${this.maxFileSize} bytes`);
    store.write(buf, offset);
    return buf.length;
  }

  async truncate(size: number): Promise<void> {
    checkRange('size', size);
    const store = this.live();
    if (!this.writable) throw new HostError('EINVAL', `${this.path}: not open for writing`);
    if (this.node.type === 'blk') throw new HostError('EINVAL', `${this.path}: cannot truncate a block device`);
    if (size > this.maxFileSize) throw new HostError('EFBIG', `${this.path}: file would exceed ${this.maxFileSize} bytes`);
    store.truncate(size);
  }

  async sync(): Promise<void> {
    this.live();
  }

  async close(): Promise<void> {
    this.live();
    this.closed = true;
  }
}
