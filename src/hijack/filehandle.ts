/**
 * fs.promises.FileHandle for a kernel file (what fs.promises.open returns for a hijacked path).
 * `fd` is the number the program sees (the kernel descriptor plus fdoff), so it also works with
 * the callback and Sync APIs and with Node's streams. Position semantics are Node's: a number
 * means pread/pwrite, null or -1 the file position. After close every operation fails with
 * EBADF ("file closed") without reaching the kernel. Emits 'close' once.
 */

import { EventEmitter } from 'node:events';
import * as nodefs from 'node:fs';
import * as readline from 'node:readline';
import { makeError, nodeError } from '../ukfs/errors.js';
import { dataChunks, encodingOf, optionsOf } from '../ukfs/data.js';
import { iovArgs, readArgs, writeArgs } from './args.js';
import type { HijackContext } from './context.js';
import * as ops from './ops.js';

export class HijackFileHandle extends EventEmitter {
  #ctx: HijackContext;
  #kfd: number;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(ctx: HijackContext, kfd: number) {
    super();
    this.#ctx = ctx;
    this.#kfd = kfd;
    ctx.handles.set(kfd, this);
  }

  get fd(): number {
    return this.#closed ? -1 : this.#ctx.fake(this.#kfd);
  }

  /** @internal */
  markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.handles.delete(this.#kfd);
    this.emit('close');
  }

  #live(syscall: string): number {
    if (this.#closed || this.#closing !== null) {
      const err = makeError('EBADF', syscall, undefined, undefined, 'the file handle is closed');
      err.message = 'file closed';
      throw err;
    }
    return this.#kfd;
  }

  #run<T>(syscall: string, op: (kfd: number) => ops.Op<T>): Promise<T> {
    let fd: number;
    try {
      fd = this.#live(syscall);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#ctx.driver.runAsync(op(fd));
  }

  async read(a?: unknown, b?: unknown, c?: unknown, d?: unknown): Promise<{ bytesRead: number; buffer: ArrayBufferView }> {
    const r = readArgs(a, b, c, d);
    const bytesRead = await this.#run('read', (fd) => ops.readInto(fd, r.view, r.position));
    return { bytesRead, buffer: r.buffer };
  }

  async write(data: unknown, a?: unknown, b?: unknown, c?: unknown): Promise<{ bytesWritten: number; buffer: ArrayBufferView | string }> {
    const w = writeArgs(data, a, b, c);
    const bytesWritten = await this.#run('write', (fd) => ops.writeFrom(fd, w.bytes, w.position));
    return { bytesWritten, buffer: w.buffer };
  }

  async readv(buffers: readonly ArrayBufferView[], position?: number | null): Promise<{ bytesRead: number; buffers: readonly ArrayBufferView[] }> {
    const iov = iovArgs(buffers);
    const pos = ops.parsePosition(position);
    const bytesRead = await this.#run('read', (fd) => ops.readvInto(fd, iov, pos));
    return { bytesRead, buffers };
  }

  async writev(buffers: readonly ArrayBufferView[], position?: number | null): Promise<{ bytesWritten: number; buffers: readonly ArrayBufferView[] }> {
    const iov = iovArgs(buffers);
    const pos = ops.parsePosition(position);
    const bytesWritten = await this.#run('write', (fd) => ops.writevFrom(fd, iov, pos));
    return { bytesWritten, buffers };
  }

  readFile(options?: unknown): Promise<Buffer | string> {
    return this.#run('read', (fd) => ops.readFile(fd, options));
  }

  async writeFile(data: unknown, options?: unknown): Promise<void> {
    const enc = encodingOf(options, 'utf8');
    if (typeof data === 'string' || ArrayBuffer.isView(data)) {
      await this.#run('write', (fd) => ops.writeFile(fd, data as string | Uint8Array, options, 'w'));
      return;
    }
    const signal = optionsOf<{ signal: AbortSignal }>(options).signal;
    for await (const chunk of dataChunks(data, enc)) await this.#run('write', (fd) => ops.writeAll(fd, chunk, null, signal));
  }

  appendFile(data: unknown, options?: unknown): Promise<void> {
    return this.writeFile(data, options);
  }

  stat(options?: { bigint?: boolean }): Promise<nodefs.Stats | nodefs.BigIntStats> {
    return this.#run('fstat', (fd) => ops.fstat(fd, options)) as Promise<nodefs.Stats | nodefs.BigIntStats>;
  }

  truncate(len = 0): Promise<void> {
    return this.#run('ftruncate', (fd) => ops.ftruncate(fd, len));
  }

  sync(): Promise<void> {
    return this.#run('fsync', (fd) => ops.fsync(fd));
  }

  datasync(): Promise<void> {
    return this.#run('fdatasync', (fd) => ops.fsync(fd, true));
  }

  chmod(mode: number | string): Promise<void> {
    return this.#run('fchmod', (fd) => ops.fchmod(fd, mode));
  }

  chown(uid: number, gid: number): Promise<void> {
    return this.#run('fchown', (fd) => ops.fchown(fd, uid, gid));
  }

  utimes(atime: unknown, mtime: unknown): Promise<void> {
    return this.#run('futime', (fd) => ops.futimes(fd, atime, mtime));
  }

  /** Close the descriptor; closing again resolves as the first close did. */
  close(): Promise<void> {
    if (this.#closed && this.#closing === null) return Promise.resolve();
    this.#closing ??= (async () => {
      const fd = this.#kfd;
      try {
        await this.#ctx.driver.runAsync(ops.close(fd));
      } catch (e) {
        throw nodeError(e, 'close');
      } finally {
        this.markClosed();
      }
    })();
    return this.#closing;
  }

  /** A stream over this handle (Node's own ReadStream, on the handle's descriptor). */
  createReadStream(options?: Record<string, unknown>): nodefs.ReadStream {
    return nodefs.createReadStream('', { ...options, fd: this.#live('read') + this.#ctx.cfg.fdoff } as never);
  }

  createWriteStream(options?: Record<string, unknown>): nodefs.WriteStream {
    return nodefs.createWriteStream('', { ...options, fd: this.#live('write') + this.#ctx.cfg.fdoff } as never);
  }

  readLines(options?: Record<string, unknown>): readline.Interface {
    return readline.createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  readableWebStream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const buf = new Uint8Array(64 * 1024);
        const { bytesRead } = await this.read(buf, 0, buf.byteLength, null);
        if (bytesRead === 0) controller.close();
        else controller.enqueue(buf.subarray(0, bytesRead));
      },
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
