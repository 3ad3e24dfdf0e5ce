/**
 * Node's argument shapes for read and write, shared by the patched `fs.read`/`fs.write` (and
 * their Sync and vectored forms) and the hijack's FileHandle, checked as Node checks them.
 */

import { argError, parsePosition } from '../ukfs/errors.js';
import { bytesOf } from '../ukfs/data.js';

const DEFAULT_READ_BUFFER = 16384;

export interface ReadArgs {
  /** What the caller gets back as `buffer`. */
  readonly buffer: ArrayBufferView;
  /** The bytes to fill. */
  readonly view: Uint8Array;
  readonly position: number | null;
}

export interface WriteArgs {
  /** What the caller gets back as `buffer` (the string, for string writes). */
  readonly buffer: ArrayBufferView | string;
  readonly bytes: Uint8Array;
  readonly position: number | null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof v} (${String(v)})`;
}

function rangeCheck(buffer: ArrayBufferView, offset: number, length: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > buffer.byteLength) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "offset" is out of range. It must be >= 0 && <= ${buffer.byteLength}. Received ${offset}`);
  }
  if (!Number.isInteger(length) || length < 0 || offset + length > buffer.byteLength) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be >= 0 && <= ${buffer.byteLength - offset}. Received ${length}`);
  }
}

function checkBuffer(b: unknown): ArrayBufferView {
  if (!ArrayBuffer.isView(b)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. Received ${describe(b)}`);
  }
  return b;
}

/**
 * read(buffer, offset, length, position), read(buffer, { offset, length, position }),
 * read({ buffer, offset, length, position }) or read() (a new 16 KiB buffer).
 */
export function readArgs(a: unknown, b: unknown, c: unknown, d: unknown): ReadArgs {
  let buffer: ArrayBufferView;
  let offset: unknown, length: unknown, position: unknown;
  if (a === undefined || a === null || !ArrayBuffer.isView(a)) {
    if (a !== undefined && a !== null && typeof a !== 'object') checkBuffer(a);
    const o = (a ?? {}) as { buffer?: unknown; offset?: unknown; length?: unknown; position?: unknown };
    buffer = o.buffer === undefined ? Buffer.alloc(DEFAULT_READ_BUFFER) : checkBuffer(o.buffer);
    ({ offset, length, position } = o);
  } else {
    buffer = a;
    if (b !== null && typeof b === 'object') ({ offset, length, position } = b as { offset?: unknown; length?: unknown; position?: unknown });
    else {
      offset = b;
      length = c;
      position = d;
    }
  }
  const off = offset === undefined || offset === null ? 0 : offset;
  if (typeof off !== 'number') throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "offset" argument must be of type number. Received ${describe(off)}`);
  const len = length === undefined || length === null ? buffer.byteLength - off : length;
  if (typeof len !== 'number') throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "length" argument must be of type number. Received ${describe(len)}`);
  rangeCheck(buffer, off, len);
  return { buffer, view: bytesOf(buffer).subarray(off, off + len), position: parsePosition(position) };
}

/**
 * write(buffer, offset, length, position), write(buffer, { offset, length, position }) or
 * write(string, position, encoding).
 */
export function writeArgs(data: unknown, a: unknown, b: unknown, c: unknown): WriteArgs {
  if (typeof data === 'string') {
    const enc = typeof b === 'string' ? (b as BufferEncoding) : 'utf8';
    const pos = typeof a === 'object' && a !== null ? undefined : a;
    return { buffer: data, bytes: Buffer.from(data, enc), position: parsePosition(pos) };
  }
  const buffer = checkBuffer(data);
  let offset: unknown, length: unknown, position: unknown;
  if (a !== null && typeof a === 'object') ({ offset, length, position } = a as { offset?: unknown; length?: unknown; position?: unknown });
  else {
    offset = a;
    length = b;
    position = c;
  }
  const off = offset === undefined || offset === null ? 0 : offset;
  if (typeof off !== 'number') throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "offset" argument must be of type number. Received ${describe(off)}`);
  const len = length === undefined || length === null ? buffer.byteLength - off : length;
  if (typeof len !== 'number') throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "length" argument must be of type number. Received ${describe(len)}`);
  rangeCheck(buffer, off, len);
  return { buffer, bytes: bytesOf(buffer).subarray(off, off + len), position: parsePosition(position) };
}

/** A list of views for readv/writev. */
export function iovArgs(buffers: unknown): Uint8Array[] {
  if (!Array.isArray(buffers) || !buffers.every((x) => ArrayBuffer.isView(x))) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "buffers" argument must be an instance of ArrayBufferView[]. Received ${describe(buffers)}`);
  }
  return (buffers as ArrayBufferView[]).map(bytesOf);
}
