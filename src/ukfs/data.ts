/**
 * Bytes, strings and paths for ukfs: Node's encodings (through Buffer, as ukfs is a Node
 * library), the data shapes writeFile accepts, and the few POSIX path operations ukfs needs
 * (its paths are the image's, always '/'-separated, whatever the host).
 */

import { argError } from './errors.js';

export type Encoding = BufferEncoding | 'buffer' | null;

/** The encoding of an options argument that may be the encoding itself. */
export function encodingOf(options: unknown, def: Encoding): Encoding {
  if (options === undefined || options === null) return def;
  if (typeof options === 'string') return checkEncoding(options);
  if (typeof options === 'object') {
    const e = (options as { encoding?: unknown }).encoding;
    return e === undefined ? def : e === null ? null : checkEncoding(e);
  }
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options" argument must be of type string or an instance of Object. Received type ${typeof options}`);
}

function checkEncoding(e: unknown): Encoding {
  if (e === 'buffer') return 'buffer';
  if (typeof e === 'string' && Buffer.isEncoding(e)) return e;
  throw argError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'encoding' is invalid encoding. Received '${String(e)}'`);
}

/** The options object of an argument that may be an encoding string. */
export function optionsOf<T extends object>(options: unknown): Partial<T> {
  if (options === undefined || options === null || typeof options === 'string') return {};
  if (typeof options !== 'object') {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object. Received type ${typeof options}`);
  }
  return options as Partial<T>;
}

/** Bytes as Node returns them: a Buffer, or a string in `encoding`. */
export function decode(b: Uint8Array, encoding: Encoding): Buffer | string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return encoding === null || encoding === 'buffer' ? buf : buf.toString(encoding);
}

/** A name (file name, link target) as Node returns it: a string, or a Buffer for 'buffer'. */
export function decodeName(s: string, encoding: Encoding): string | Buffer {
  if (encoding === 'buffer') return Buffer.from(s, 'utf8');
  if (encoding === null || encoding === 'utf8' || encoding === 'utf-8') return s;
  return Buffer.from(s, 'utf8').toString(encoding);
}

/** A view of any ArrayBufferView's bytes (no copy). */
export function bytesOf(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** One chunk of writeFile data: a string (in `encoding`) or an ArrayBufferView. */
export function chunkBytes(chunk: unknown, encoding: Encoding): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding === null || encoding === 'buffer' ? 'utf8' : encoding);
  if (ArrayBuffer.isView(chunk)) return bytesOf(chunk);
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${chunk === null ? 'null' : typeof chunk}`);
}

/** writeFile's data: a string, a view, or an (async) iterable of those, as byte chunks. */
export async function* dataChunks(data: unknown, encoding: Encoding): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string' || ArrayBuffer.isView(data)) {
    yield chunkBytes(data, encoding);
    return;
  }
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    for await (const c of data as AsyncIterable<unknown>) yield chunkBytes(c, encoding);
    return;
  }
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `The "data" argument must be of type string or an instance of Buffer, TypedArray, DataView, or an iterable. Received ${data === null ? 'null' : typeof data}`);
}

// ---------------------------------------------------------------------------------------------
// POSIX paths (image side)

/** Join path pieces with single slashes ('' pieces skipped). */
export function joinPath(a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  return a.endsWith('/') ? a + b : `${a}/${b}`;
}

/** The directory part ('/a/b' -> '/a', 'b' -> '.', '/' -> '/'). */
export function dirnamePath(p: string): string {
  const s = p.replace(/\/+$/, '');
  if (s === '') return p.startsWith('/') ? '/' : '.';
  const i = s.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return s.slice(0, i).replace(/\/+$/, '') || '/';
}

/** The last component ('/a/b/' -> 'b'). */
export function basenamePath(p: string): string {
  const s = p.replace(/\/+$/, '');
  return s.slice(s.lastIndexOf('/') + 1);
}

/** '/'-rooted normal form of `p` resolved against `cwd` (no symlinks followed). */
export function resolvePath(cwd: string, p: string): string {
  const parts: string[] = [];
  for (const c of (p.startsWith('/') ? p : `${cwd}/${p}`).split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}

/** Is `child` (normalised) equal to or below `parent` (normalised)? */
export function isSubpath(parent: string, child: string): boolean {
  if (parent === '/') return true;
  return child === parent || child.startsWith(parent + '/');
}
