/**
 * ukfs's FileHandle: an open file in the image, shaped like Node's `fs.promises.FileHandle`.
 *
 * Position semantics are Node's: `read`/`write` with a position (a number >= 0) use
 * pread/pwrite and leave the file position alone; with `null`, `undefined` or -1 they use and
 * advance it. `readFile`/`writeFile`/`appendFile` work from the current position (as Node
 * documents). A handle closes once; after that every operation fails with EBADF without
 * reaching the kernel (descriptor numbers are reused, a stale handle must not touch a new file).
 * `fd` is the kernel descriptor number, -1 once closed.
 *
 * One difference from Node on Linux: a positioned write to a file opened for appending writes at
 * the position (NetBSD's pwrite), where Linux appends anyway.
 */

import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { S_IFDIR, S_IFMT } from '../kern/types.js';
import { argError, makeError, nodeError, parseId, parseMode, parsePosition, toTimespec } from './errors.js';
import { bytesOf, chunkBytes, dataChunks, decode, encodingOf, optionsOf, type Encoding } from './data.js';
import { BigIntStats, Stats } from './stats.js';

/** Node's kIoMaxLength: the largest file readFile returns in one buffer. */
export const IO_MAX_LENGTH = 2 ** 31 - 1;
const READ_CHUNK = 64 * 1024;
const DEFAULT_READ_BUFFER = 16384;

/** What a handle needs from its ukfs instance. */
export interface HandleOwner {
  readonly kernel: Kernel;
  readonly lwp: Lwp;
  /** A handle closed itself: stop tracking it. */
  forget(fh: FileHandle): void;
}

export interface ReadResult<T extends ArrayBufferView> { bytesRead: number; buffer: T }
export interface WriteResult<T> { bytesWritten: number; buffer: T }

export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

export function checkAborted(signal: unknown): void {
  if (signal instanceof AbortSignal && signal.aborted) throw abortError(signal);
}

function rangeCheck(buffer: ArrayBufferView, offset: number, length: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > buffer.byteLength) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "offset" is out of range. It must be >= 0 && <= ${buffer.byteLength}. Received ${offset}`);
  }
  if (!Number.isInteger(length) || length < 0 || offset + length > buffer.byteLength) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be >= 0 && <= ${buffer.byteLength - offset}. Received ${length}`);
  }
}

export class FileHandle {
  #owner: HandleOwner;
  #fd: number;
  #closing: Promise<void> | null = null;

  /** @internal Made by Ukfs.open. */
  constructor(owner: HandleOwner, fd: number) {
    this.#owner = owner;
    this.#fd = fd;
  }

  /** The kernel descriptor, -1 once closed. */
  get fd(): number {
    return this.#closing === null ? this.#fd : -1;
  }

  /** The descriptor for an operation, EBADF (Node-style, from `syscall`) if closed. */
  #live(syscall: string): number {
    if (this.#closing !== null) {
      const err = makeError('EBADF', syscall, undefined, undefined, 'the file handle is closed');
      err.message = 'file closed'; // Node's words for this case
      throw err;
    }
    return this.#fd;
  }

  async #call<T>(syscall: string, fn: (k: Kernel, l: Lwp, fd: number) => Promise<T>): Promise<T> {
    const fd = this.#live(syscall);
    try {
      return await fn(this.#owner.kernel, this.#owner.lwp, fd);
    } catch (e) {
      throw nodeError(e, syscall);
    }
  }

  /**
   * read(buffer, offset?, length?, position?), read(buffer, { offset, length, position }),
   * read({ buffer, offset, length, position }) or read(): bytes at `position` (or the current
   * position) into `buffer` (default a new 16 KiB Buffer).
   */
  async read<T extends ArrayBufferView = Buffer>(
    bufferOrOptions?: T | { buffer?: T; offset?: number; length?: number; position?: number | bigint | null },
    offsetOrOptions?: number | { offset?: number; length?: number; position?: number | bigint | null } | null,
    length?: number | null,
    position?: number | bigint | null,
  ): Promise<ReadResult<T>> {
    let buffer: T;
    let offset: number;
    let len: number | undefined;
    let pos: unknown;
    if (bufferOrOptions === undefined || bufferOrOptions === null || !ArrayBuffer.isView(bufferOrOptions)) {
      const o = (bufferOrOptions ?? {}) as { buffer?: T; offset?: number; length?: number; position?: unknown };
      buffer = o.buffer ?? (Buffer.alloc(DEFAULT_READ_BUFFER) as unknown as T);
      offset = o.offset ?? 0;
      len = o.length;
      pos = o.position;
    } else {
      buffer = bufferOrOptions;
      if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
        offset = offsetOrOptions.offset ?? 0;
        len = offsetOrOptions.length;
        pos = offsetOrOptions.position;
      } else {
        offset = offsetOrOptions ?? 0;
        len = length ?? undefined;
        pos = position;
      }
    }
    const n = len ?? buffer.byteLength - offset;
    rangeCheck(buffer, offset, n);
    const p = parsePosition(pos);
    if (n === 0) return { bytesRead: 0, buffer };
    const view = bytesOf(buffer).subarray(offset, offset + n);
    const bytesRead = await this.#call('read', (k, l, fd) => (p === null ? k.sys.read(l, fd, view) : k.sys.pread(l, fd, view, p)));
    return { bytesRead, buffer };
  }

  /**
   * write(buffer, offset?, length?, position?), write(buffer, { offset, length, position }) or
   * write(string, position?, encoding?).
   */
  async write<T extends ArrayBufferView | string>(
    data: T,
    offsetOrOptions?: number | { offset?: number; length?: number; position?: number | null } | null,
    lengthOrEncoding?: number | BufferEncoding | null,
    position?: number | null,
  ): Promise<WriteResult<T>> {
    let bytes: Uint8Array;
    let pos: unknown;
    if (typeof data === 'string') {
      pos = offsetOrOptions;
      bytes = chunkBytes(data, (typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8') as Encoding);
    } else if (ArrayBuffer.isView(data)) {
      let offset: number, len: number | undefined;
      if (offsetOrOptions !== null && typeof offsetOrOptions === 'object') {
        offset = offsetOrOptions.offset ?? 0;
        len = offsetOrOptions.length;
        pos = offsetOrOptions.position;
      } else {
        offset = offsetOrOptions ?? 0;
        len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : undefined;
        pos = position;
      }
      const n = len ?? data.byteLength - offset;
      rangeCheck(data, offset, n);
      bytes = bytesOf(data).subarray(offset, offset + n);
    } else {
      throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, or DataView.');
    }
    const p = parsePosition(pos);
    const bytesWritten = bytes.length === 0 ? 0
      : await this.#call('write', (k, l, fd) => (p === null ? k.sys.write(l, fd, bytes) : k.sys.pwrite(l, fd, bytes, p)));
    return { bytesWritten, buffer: data };
  }

  /** Scatter read into `buffers` at `position` (or the current position). */
  async readv<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesRead: number; buffers: T }> {
    const p = parsePosition(position);
    const iov = buffers.map(bytesOf);
    const bytesRead = await this.#call('read', (k, l, fd) => (p === null ? k.sys.readv(l, fd, iov) : k.sys.preadv(l, fd, iov, p)));
    return { bytesRead, buffers };
  }

  /** Gather write of `buffers` at `position` (or the current position). */
  async writev<T extends readonly ArrayBufferView[]>(buffers: T, position?: number | null): Promise<{ bytesWritten: number; buffers: T }> {
    const p = parsePosition(position);
    const iov = buffers.map(bytesOf);
    const bytesWritten = await this.#call('write', (k, l, fd) => (p === null ? k.sys.writev(l, fd, iov) : k.sys.pwritev(l, fd, iov, p)));
    return { bytesWritten, buffers };
  }

  /** The rest of the file from the current position: a Buffer, or a string with an encoding. */
  async readFile(options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<Buffer | string> {
    const encoding = encodingOf(options, null);
    const signal = optionsOf<{ signal: AbortSignal }>(options).signal;
    const data = await readRest(this.#owner, this.#live('read'), signal);
    return decode(data, encoding);
  }

  /** Write `data` (string, view, or an (async) iterable of those) at the current position. */
  async writeFile(data: unknown, options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<void> {
    const encoding = encodingOf(options, 'utf8');
    const signal = optionsOf<{ signal: AbortSignal }>(options).signal;
    await writeAll(this.#owner, this.#live('write'), data, encoding, signal);
  }

  /** As writeFile (the handle should be open for appending). */
  appendFile(data: unknown, options?: BufferEncoding | { encoding?: BufferEncoding | null; signal?: AbortSignal } | null): Promise<void> {
    return this.writeFile(data, options);
  }

  stat(options: { bigint: true }): Promise<BigIntStats>;
  stat(options?: { bigint?: false }): Promise<Stats>;
  stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  async stat(options?: { bigint?: boolean }): Promise<Stats | BigIntStats> {
    const st = await this.#call('fstat', (k, l, fd) => k.sys.fstat(l, fd));
    return options?.bigint === true ? new BigIntStats(st) : new Stats(st);
  }

  /** ftruncate to `len` bytes (default 0; negative counts as 0, as in Node). */
  async truncate(len = 0): Promise<void> {
    const n = Math.max(0, len);
    await this.#call('ftruncate', (k, l, fd) => k.sys.ftruncate(l, fd, n));
  }

  async sync(): Promise<void> {
    await this.#call('fsync', (k, l, fd) => k.sys.fsync(l, fd));
  }

  async datasync(): Promise<void> {
    await this.#call('fdatasync', (k, l, fd) => k.sys.fdatasync(l, fd));
  }

  async chmod(mode: number | string): Promise<void> {
    const m = parseMode(mode, 0);
    await this.#call('fchmod', (k, l, fd) => k.sys.fchmod(l, fd, m));
  }

  async chown(uid: number, gid: number): Promise<void> {
    const u = parseId(uid, 'uid'), g = parseId(gid, 'gid');
    await this.#call('fchown', (k, l, fd) => k.sys.fchown(l, fd, u, g));
  }

  async utimes(atime: number | string | Date, mtime: number | string | Date): Promise<void> {
    const times = [toTimespec(atime, 'atime'), toTimespec(mtime, 'mtime')] as const;
    await this.#call('futime', (k, l, fd) => k.sys.futimes(l, fd, times));
  }

  /** Close the descriptor; closing again is harmless (resolves as the first close did). */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const owner = this.#owner;
    const fd = this.#fd;
    this.#closing = (async () => {
      owner.forget(this);
      try {
        await owner.kernel.sys.close(owner.lwp, fd);
      } catch (e) {
        throw nodeError(e, 'close');
      }
    })();
    return this.#closing;
  }

  /** A web ReadableStream of the file's bytes from the current position. */
  readableWebStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const buf = new Uint8Array(READ_CHUNK);
        const { bytesRead } = await this.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) controller.close();
        else controller.enqueue(buf.subarray(0, bytesRead));
      },
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Everything from the descriptor's position to its end. Regular files are read into one buffer
 * of their size (as Node does: growth during the read is not followed); size-0 files in chunks.
 */
export async function readRest(owner: HandleOwner, fd: number, signal?: AbortSignal, atStart = false): Promise<Uint8Array> {
  const { kernel: k, lwp: l } = owner;
  let st;
  try {
    st = await k.sys.fstat(l, fd);
  } catch (e) {
    throw nodeError(e, 'fstat');
  }
  if ((st.mode & S_IFMT) === S_IFDIR) throw makeError('EISDIR', 'read');
  let pos = 0;
  if (!atStart) {
    try {
      pos = await k.sys.lseek(l, fd, 0, 1 /* SEEK_CUR */);
    } catch {
      pos = 0; // not seekable: read to the end
    }
  }
  const size = Math.max(0, st.size - pos);
  if (size > IO_MAX_LENGTH) {
    throw Object.assign(new RangeError(`File size (${size}) is greater than 2 GiB`), { code: 'ERR_FS_FILE_TOO_LARGE' });
  }
  try {
    if (st.size > 0) {
      const buf = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        checkAborted(signal);
        const n = await k.sys.read(l, fd, buf.subarray(off));
        if (n === 0) break;
        off += n;
      }
      return off < size ? buf.subarray(0, off) : buf;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      checkAborted(signal);
      const b = Buffer.allocUnsafe(READ_CHUNK);
      const n = await k.sys.read(l, fd, b);
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
      total += n;
      if (total > IO_MAX_LENGTH) throw Object.assign(new RangeError('File size is greater than 2 GiB'), { code: 'ERR_FS_FILE_TOO_LARGE' });
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    throw nodeError(e, 'read');
  }
}

/** Write all of `data` at the descriptor's position (short writes continued). */
export async function writeAll(owner: HandleOwner, fd: number, data: unknown, encoding: Encoding, signal?: AbortSignal): Promise<void> {
  const { kernel: k, lwp: l } = owner;
  const chunks = typeof data === 'string' || ArrayBuffer.isView(data) ? [chunkBytes(data, encoding)] : dataChunks(data, encoding);
  for await (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      checkAborted(signal);
      let n: number;
      try {
        n = await k.sys.write(l, fd, off === 0 ? chunk : chunk.subarray(off));
      } catch (e) {
        throw nodeError(e, 'write');
      }
      if (n <= 0) throw makeError('EIO', 'write', undefined, undefined, `the kernel wrote ${n} bytes`);
      off += n;
    }
  }
}
