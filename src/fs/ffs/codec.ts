/**
 * Struct codecs for the FFS on-disk modules, in either byte order.
 *
 * FFS is written in the byte order of the machine that made it (NetBSD's FS_SWAPPED handles the
 * other one), so every structure is read with the byte order its superblock's magic was found in:
 * `le` is true for little-endian images. A structure is described once as a table of fields
 * (name, byte offset, kind); `decode` turns bytes into a plain record and `encode` writes the
 * record back over a copy of the bytes it came from, so bytes no field covers are carried through
 * untouched and a parse -> emit round trip reproduces its input exactly.
 *
 * 64-bit fields decode to bigint (a hostile image may hold any value there; derived views check
 * them before turning them into numbers). Signed kinds decode as signed numbers.
 *
 * Pure: no kernel state, no I/O. EINVAL for a buffer too short (a caller's mistake), EFTYPE for
 * contents that are not a valid structure (the image's fault), each naming the field.
 */

import { KernelError } from '../../kern/errno.js';

export type FieldKind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | { readonly bytes: number };

export type Field = readonly [name: string, offset: number, kind: FieldKind];

export function kindSize(k: FieldKind): number {
  switch (k) {
    case 'u8': case 'i8': return 1;
    case 'u16': case 'i16': return 2;
    case 'u32': case 'i32': return 4;
    case 'u64': case 'i64': return 8;
    default: return k.bytes;
  }
}

export function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The on-disk structure is corrupt: EFTYPE naming what. */
export function corrupt(detail: string): never {
  throw new KernelError('EFTYPE', detail);
}

/** `b` must hold at least `n` bytes from `off` (EINVAL otherwise). */
export function need(b: Uint8Array, off: number, n: number, what: string): void {
  if (!Number.isSafeInteger(off) || off < 0 || off + n > b.length) {
    throw new KernelError('EINVAL', `${what}: needs ${n} bytes at offset ${off}, buffer has ${b.length}`);
  }
}

/** Decode `fields` from `b` at `base` in byte order `le` (every field must fit: check with `need` first). */
export function decode<T>(b: Uint8Array, base: number, fields: readonly Field[], le: boolean): T {
  const dv = view(b);
  const out: Record<string, number | bigint | Uint8Array> = {};
  for (const [name, off, kind] of fields) {
    const p = base + off;
    switch (kind) {
      case 'u8': out[name] = dv.getUint8(p); break;
      case 'i8': out[name] = dv.getInt8(p); break;
      case 'u16': out[name] = dv.getUint16(p, le); break;
      case 'i16': out[name] = dv.getInt16(p, le); break;
      case 'u32': out[name] = dv.getUint32(p, le); break;
      case 'i32': out[name] = dv.getInt32(p, le); break;
      case 'u64': out[name] = dv.getBigUint64(p, le); break;
      case 'i64': out[name] = dv.getBigInt64(p, le); break;
      default: out[name] = b.slice(p, p + kind.bytes);
    }
  }
  return out as T;
}

const RANGES: Record<string, readonly [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

/**
 * Encode `rec`'s `fields` into `b` at `base` in byte order `le`. Values are range-checked
 * (EINVAL naming the field): the caller never writes a truncated number.
 */
export function encode(b: Uint8Array, base: number, fields: readonly Field[], rec: object, le: boolean, what: string): void {
  const dv = view(b);
  const r = rec as Record<string, unknown>;
  for (const [name, off, kind] of fields) {
    const p = base + off;
    const v = r[name];
    if (typeof kind === 'object') {
      if (!(v instanceof Uint8Array) || v.length !== kind.bytes) throw new KernelError('EINVAL', `${what}: ${name} must be ${kind.bytes} bytes`);
      b.set(v, p);
      continue;
    }
    if (kind === 'u64' || kind === 'i64') {
      const ok = typeof v === 'bigint' && (kind === 'u64' ? v >= 0n && v <= 0xffffffffffffffffn : v >= -(2n ** 63n) && v < 2n ** 63n);
      if (!ok) throw new KernelError('EINVAL', `${what}: ${name} ${String(v)} is not a ${kind === 'u64' ? 'unsigned' : 'signed'} 64-bit bigint`);
      if (kind === 'u64') dv.setBigUint64(p, v as bigint, le);
      else dv.setBigInt64(p, v as bigint, le);
      continue;
    }
    const [lo, hi] = RANGES[kind]!;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new KernelError('EINVAL', `${what}: ${name} ${String(v)} does not fit ${kind}`);
    }
    switch (kind) {
      case 'u8': dv.setUint8(p, v); break;
      case 'i8': dv.setInt8(p, v); break;
      case 'u16': dv.setUint16(p, v, le); break;
      case 'i16': dv.setInt16(p, v, le); break;
      case 'u32': dv.setUint32(p, v, le); break;
      case 'i32': dv.setInt32(p, v, le); break;
    }
  }
}

/** A 64-bit field as a number: EFTYPE naming it unless it is a safe integer in [min, max]. */
export function num64(v: bigint, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v < BigInt(min) || v > BigInt(max)) corrupt(`${what} ${v} is out of range (${min}..${max})`);
  return Number(v);
}

export function isPow2(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function log2(n: number): number {
  return 31 - Math.clz32(n);
}

export function howmany(x: number, y: number): number {
  return Math.floor((x + y - 1) / y);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated string field: bytes up to the first NUL, as UTF-8. */
export function cstring(b: Uint8Array): string {
  const z = b.indexOf(0);
  return utf8.decode(z < 0 ? b : b.subarray(0, z));
}

/** A fixed-size field holding `s` (UTF-8), NUL-padded. EINVAL if it does not fit with its NUL. */
export function cstringBytes(s: string, size: number, what: string): Uint8Array {
  const e = new TextEncoder().encode(s);
  if (e.length >= size) throw new KernelError('EINVAL', `${what} '${s}' is longer than ${size - 1} bytes`);
  const out = new Uint8Array(size);
  out.set(e);
  return out;
}

/** A codec's EFTYPE found during an operation is an I/O error of the file system: EIO, prefixed with `where`. */
export function asIoError(e: unknown, where: string): unknown {
  if (e instanceof KernelError && e.code === 'EFTYPE') return new KernelError('EIO', `${where}: ${e.detail ?? e.message}`);
  return e;
}
