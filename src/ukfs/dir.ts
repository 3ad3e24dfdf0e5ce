/**
 * ukfs's Dir (Node's fs.Dir, from opendir): an open directory read in batches of `bufferSize`
 * entries with getdents, '.' and '..' left out, as Dirents. `for await` closes it at the end;
 * `read()` returns null at the end; with `recursive`, subdirectories are read after their parent
 * (entries' `parentPath` says where each one lives).
 */

import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { O_DIRECTORY, O_RDONLY, S_IFDIR } from '../kern/types.js';
import { makeError, nodeError } from './errors.js';
import { decodeName, joinPath, type Encoding } from './data.js';
import { Dirent } from './stats.js';

interface DirOwner { readonly kernel: Kernel; readonly lwp: Lwp }
type TypeOf = (dir: string, d: { name: string; type: number }) => Promise<number>;

export class Dir implements AsyncIterable<Dirent | Dirent<Buffer>> {
  readonly path: string;
  #owner: DirOwner;
  #fd: number;
  #cur: string;
  #enc: Encoding;
  #batch: number;
  #recursive: boolean;
  #typeOf: TypeOf;
  #buffered: (Dirent | Dirent<Buffer>)[] = [];
  #pending: string[] = [];
  #closed = false;

  /** @internal Made by Ukfs.opendir. */
  constructor(owner: DirOwner, fd: number, path: string, enc: Encoding, batch: number, recursive: boolean, typeOf: TypeOf) {
    this.#owner = owner;
    this.#fd = fd;
    this.path = path;
    this.#cur = path;
    this.#enc = enc;
    this.#batch = batch;
    this.#recursive = recursive;
    this.#typeOf = typeOf;
  }

  /** The next entry, or null at the end. */
  async read(): Promise<Dirent | Dirent<Buffer> | null> {
    if (this.#closed) throw Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
    const { kernel: k, lwp: l } = this.#owner;
    while (this.#buffered.length === 0) {
      let batch;
      try {
        batch = await k.sys.getdents(l, this.#fd, this.#batch);
      } catch (e) {
        throw nodeError(e, 'scandir', this.#cur);
      }
      if (batch.length === 0) {
        const next = this.#pending.shift();
        if (next === undefined) return null;
        await k.sys.close(l, this.#fd).catch(() => undefined);
        try {
          this.#fd = await k.sys.open(l, next, O_RDONLY | O_DIRECTORY, 0);
        } catch (e) {
          throw nodeError(e, 'opendir', next);
        }
        this.#cur = next;
        continue;
      }
      for (const d of batch) {
        if (d.name === '.' || d.name === '..') continue;
        const t = await this.#typeOf(this.#cur, d);
        this.#buffered.push(new Dirent(decodeName(d.name, this.#enc), this.#cur, t) as Dirent | Dirent<Buffer>);
        if (this.#recursive && t === S_IFDIR) this.#pending.push(joinPath(this.#cur, d.name));
      }
    }
    return this.#buffered.shift()!;
  }

  async close(): Promise<void> {
    if (this.#closed) throw makeError('EBADF', 'closedir', undefined, undefined, 'the directory is already closed');
    this.#closed = true;
    await this.#owner.kernel.sys.close(this.#owner.lwp, this.#fd).catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Dirent | Dirent<Buffer>> {
    try {
      for (;;) {
        const d = await this.read();
        if (d === null) return;
        yield d;
      }
    } finally {
      if (!this.#closed) await this.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close();
  }
}
