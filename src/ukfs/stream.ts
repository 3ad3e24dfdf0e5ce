/**
 * Node streams over ukfs files: what `fs.createReadStream` / `fs.createWriteStream` give, so
 * `pipeline(fs.createReadStream('/big'), hostStream)` copies in bounded memory.
 *
 * Options as Node's: `start`/`end` (inclusive) byte range, `highWaterMark` (64 KiB reads),
 * `encoding`, `flags` ('r' / 'w'), `mode`, `autoClose` (default true: the file is closed at the
 * end or on error), `fd` (an open FileHandle instead of a path). The streams carry `path`,
 * `bytesRead` / `bytesWritten` and emit 'open' and 'ready' once the file is open.
 */

import { Readable, Writable } from 'node:stream';
import type { Ukfs } from './ukfs.js';
import { FileHandle } from './filehandle.js';
import { argError, toPath, type PathLike } from './errors.js';

export interface ReadStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding | null;
  fd?: FileHandle;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  end?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
}

export interface WriteStreamOptions {
  flags?: string | number;
  encoding?: BufferEncoding | null;
  fd?: FileHandle;
  mode?: number;
  autoClose?: boolean;
  emitClose?: boolean;
  start?: number;
  highWaterMark?: number;
  signal?: AbortSignal;
  flush?: boolean;
}

function checkRange(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0 && <= ${Number.MAX_SAFE_INTEGER}. Received ${v}`);
  }
}

export function createReadStream(u: Ukfs, path: PathLike | FileHandle, options?: ReadStreamOptions | BufferEncoding): Readable {
  const o: ReadStreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
  const given = path instanceof FileHandle ? path : o.fd;
  const p = given === undefined ? toPath(path as PathLike) : undefined;
  checkRange('start', o.start);
  checkRange('end', o.end);
  if (o.start !== undefined && o.end !== undefined && o.start > o.end) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "start" is out of range. It must be <= "end" (here: ${o.end}). Received ${o.start}`);
  }
  // with a range, reads are positioned (pread) and the handle's own position is left alone
  let pos: number | null = o.start ?? (o.end !== undefined ? 0 : null);
  let remaining = o.end !== undefined ? o.end - (o.start ?? 0) + 1 : Infinity;
  let fh: FileHandle | null = given ?? null;
  const autoClose = o.autoClose ?? true;
  const hwm = o.highWaterMark ?? 64 * 1024;
  let done = 0;
  const stream: Readable = new Readable({
    highWaterMark: hwm,
    ...(o.encoding !== undefined && o.encoding !== null ? { encoding: o.encoding } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    emitClose: o.emitClose ?? true,
    construct(cb) {
      if (fh !== null) {
        cb();
        return;
      }
      u.open(p!, o.flags ?? 'r', o.mode ?? 0o666).then((h) => {
        fh = h;
        stream.emit('open', h.fd);
        stream.emit('ready');
        cb();
      }, (e: unknown) => cb(e as Error));
    },
    read(n) {
      const want = Math.min(n > 0 ? n : hwm, remaining);
      if (want <= 0) {
        stream.push(null);
        return;
      }
      const buf = Buffer.allocUnsafe(want);
      fh!.read(buf, 0, want, pos).then(({ bytesRead }) => {
        if (bytesRead === 0) {
          stream.push(null);
          return;
        }
        if (pos !== null) pos += bytesRead;
        remaining -= bytesRead;
        done += bytesRead;
        (stream as Readable & { bytesRead: number }).bytesRead = done;
        stream.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      }, (e: unknown) => stream.destroy(e as Error));
    },
    destroy(err, cb) {
      if (autoClose && fh !== null) fh.close().then(() => cb(err), (e: unknown) => cb(err ?? (e as Error)));
      else cb(err);
    },
  });
  Object.assign(stream, { path: p ?? null, bytesRead: 0 });
  return stream;
}

export function createWriteStream(u: Ukfs, path: PathLike | FileHandle, options?: WriteStreamOptions | BufferEncoding): Writable {
  const o: WriteStreamOptions = typeof options === 'string' ? { encoding: options } : (options ?? {});
  const given = path instanceof FileHandle ? path : o.fd;
  const p = given === undefined ? toPath(path as PathLike) : undefined;
  checkRange('start', o.start);
  let pos: number | null = o.start ?? null;
  let fh: FileHandle | null = given ?? null;
  const autoClose = o.autoClose ?? true;
  let written = 0;
  const writeChunk = async (chunk: Buffer): Promise<void> => {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await fh!.write(chunk, off, chunk.length - off, pos);
      off += bytesWritten;
      if (pos !== null) pos += bytesWritten;
      written += bytesWritten;
      (stream as Writable & { bytesWritten: number }).bytesWritten = written;
    }
  };
  const stream: Writable = new Writable({
    ...(o.highWaterMark !== undefined ? { highWaterMark: o.highWaterMark } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.encoding !== undefined && o.encoding !== null ? { defaultEncoding: o.encoding } : {}),
    decodeStrings: true,
    emitClose: o.emitClose ?? true,
    construct(cb) {
      if (fh !== null) {
        cb();
        return;
      }
      u.open(p!, o.flags ?? 'w', o.mode ?? 0o666).then((h) => {
        fh = h;
        stream.emit('open', h.fd);
        stream.emit('ready');
        cb();
      }, (e: unknown) => cb(e as Error));
    },
    write(chunk: Buffer, _enc, cb) {
      writeChunk(chunk).then(() => cb(), (e: unknown) => cb(e as Error));
    },
    writev(chunks, cb) {
      (async () => { for (const c of chunks) await writeChunk(c.chunk as Buffer); })().then(() => cb(), (e: unknown) => cb(e as Error));
    },
    final(cb) {
      if (o.flush === true && fh !== null) fh.sync().then(() => cb(), (e: unknown) => cb(e as Error));
      else cb();
    },
    destroy(err, cb) {
      if (autoClose && fh !== null) fh.close().then(() => cb(err), (e: unknown) => cb(err ?? (e as Error)));
      else cb(err);
    },
  });
  Object.assign(stream, { path: p ?? null, bytesWritten: 0 });
  return stream;
}
