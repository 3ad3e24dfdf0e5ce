/**
 * fs.Dir for a kernel directory (fs.opendir / opendirSync / fs.promises.opendir): entries read
 * in batches with getdents, '.' and '..' left out, as Node's Dirents. `read()` (promise or
 * callback) and `readSync()` return null at the end; `for await` closes the directory when done;
 * with `recursive`, subdirectories follow their parent.
 */

import type * as nodefs from 'node:fs';
import { O_DIRECTORY, O_RDONLY, S_IFDIR } from '../kern/types.js';
import { nodeError } from '../ukfs/errors.js';
import { decodeName, type Encoding } from '../ukfs/data.js';
import type { Driver } from './driver.js';
import { closeQuietly, entryType, makeDirent, sys, type Op } from './ops.js';

function dirClosed(): Error {
  return Object.assign(new Error('Directory handle was closed'), { code: 'ERR_DIR_CLOSED' });
}

export class HijackDir {
  /** The path as the program gave it. */
  readonly path: string;
  #d: Driver;
  #fd: number;
  #curK: string;
  #curU: string;
  #enc: Encoding;
  #batch: number;
  #recursive: boolean;
  #buffered: nodefs.Dirent[] = [];
  #pending: { k: string; u: string }[] = [];
  #closed = false;

  constructor(d: Driver, kfd: number, k: string, u: string, enc: Encoding, batch: number, recursive: boolean) {
    this.#d = d;
    this.#fd = kfd;
    this.path = u;
    this.#curK = k;
    this.#curU = u;
    this.#enc = enc;
    this.#batch = batch;
    this.#recursive = recursive;
  }

  *#next(): Op<nodefs.Dirent | null> {
    if (this.#closed) throw dirClosed();
    while (this.#buffered.length === 0) {
      let batch;
      try {
        batch = yield* sys('getdents', this.#fd, this.#batch);
      } catch (e) {
        throw nodeError(e, 'scandir', this.#curU);
      }
      if (batch.length === 0) {
        const next = this.#pending.shift();
        if (next === undefined) return null;
        yield* closeQuietly(this.#fd);
        try {
          this.#fd = yield* sys('open', next.k, O_RDONLY | O_DIRECTORY, 0);
        } catch (e) {
          throw nodeError(e, 'opendir', next.u);
        }
        this.#curK = next.k;
        this.#curU = next.u;
        continue;
      }
      for (const ent of batch) {
        if (ent.name === '.' || ent.name === '..') continue;
        const t = yield* entryType(this.#curK, ent);
        this.#buffered.push(makeDirent(decodeName(ent.name, this.#enc), t, this.#curU));
        if (this.#recursive && t === S_IFDIR) {
          const j = (a: string): string => (a.endsWith('/') ? a + ent.name : `${a}/${ent.name}`);
          this.#pending.push({ k: j(this.#curK), u: j(this.#curU) });
        }
      }
    }
    return this.#buffered.shift()!;
  }

  *#close(): Op<void> {
    if (this.#closed) throw dirClosed();
    this.#closed = true;
    yield* closeQuietly(this.#fd);
  }

  read(): Promise<nodefs.Dirent | null>;
  read(cb: (err: Error | null, d?: nodefs.Dirent | null) => void): void;
  read(cb?: (err: Error | null, d?: nodefs.Dirent | null) => void): Promise<nodefs.Dirent | null> | void {
    const p = this.#d.runAsync(this.#next());
    if (cb === undefined) return p;
    p.then((d) => { process.nextTick(cb, null, d); }, (e: Error) => { process.nextTick(cb, e); });
  }

  readSync(): nodefs.Dirent | null {
    return this.#d.runSync(this.#next());
  }

  close(): Promise<void>;
  close(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): Promise<void> | void {
    const p = this.#d.runAsync(this.#close());
    if (cb === undefined) return p;
    p.then(() => { process.nextTick(cb, null); }, (e: Error) => { process.nextTick(cb, e); });
  }

  closeSync(): void {
    this.#d.runSync(this.#close());
  }

  async *entries(): AsyncGenerator<nodefs.Dirent> {
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

  [Symbol.asyncIterator](): AsyncGenerator<nodefs.Dirent> {
    return this.entries();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) await this.close();
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.closeSync();
  }
}
