/**
 * Little-endian struct codecs shared by the ext2 on-disk modules.
 *
 * An on-disk structure is described once as a table of fields (name, byte offset, kind); `decode`
 * turns bytes into a plain record and `encode` writes the record back over a copy of the bytes it
 * came from. Bytes no field covers are therefore carried through untouched: a parse -> emit round
 * trip never destroys what we do not understand. 64-bit fields decode to bigint (a hostile image
 * may hold any value there), byte-array fields to a copied Uint8Array.
 *
 * Pure: no kernel state, no I/O. Errors are KernelErrors: EINVAL for a buffer too short for the
 * structure (a caller's mistake), EFTYPE for contents that are not a valid structure (the image's
 * fault), each naming the field.
 */

import { KernelError } from '../../kern/errno.js';

/** Field kinds: unsigned integers of 1, 2, 4 bytes (number) or 8 bytes (bigint), or raw bytes. */
export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | { readonly bytes: number };

export type Field = readonly [name: string, offset: number, kind: FieldKind];

export function kindSize(k: FieldKind): number {
  return k === 'u8' ? 1 : k === 'u16' ? 2 : k === 'u32' ? 4 : k === 'u64' ? 8 : k.bytes;
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

/**
 * Decode `fields` from `b` at `base`. Fields ending past `limit` bytes from `base` (default: all
 * of them must fit) decode as zero, so optional tails (rev 1 superblock fields, large inode
 * fields) read as absent rather than as garbage.
 */
export function decode<T>(b: Uint8Array, base: number, fields: readonly Field[], limit = Infinity): T {
  const dv = view(b);
  const out: Record<string, number | bigint | Uint8Array> = {};
  for (const [name, off, kind] of fields) {
    const n = kindSize(kind);
    const present = off + n <= limit && base + off + n <= b.length;
    const p = base + off;
    if (kind === 'u8') out[name] = present ? dv.getUint8(p) : 0;
    else if (kind === 'u16') out[name] = present ? dv.getUint16(p, true) : 0;
    else if (kind === 'u32') out[name] = present ? dv.getUint32(p, true) : 0;
    else if (kind === 'u64') out[name] = present ? dv.getBigUint64(p, true) : 0n;
    else out[name] = present ? b.slice(p, p + n) : new Uint8Array(n);
  }
  return out as T;
}

/**
 * Encode `rec`'s `fields` into `b` at `base`, skipping fields that end past `limit`. Values are
 * range-checked (EINVAL naming the field): the caller never writes a truncated number.
 */
export function encode(b: Uint8Array, base: number, fields: readonly Field[], rec: object, limit = Infinity, what = 'struct'): void {
  const dv = view(b);
  const r = rec as Record<string, unknown>;
  for (const [name, off, kind] of fields) {
    const n = kindSize(kind);
    if (off + n > limit || base + off + n > b.length) continue;
    const v = r[name];
    const p = base + off;
    if (typeof kind === 'object') {
      if (!(v instanceof Uint8Array) || v.length !== n) throw new KernelError('EINVAL', `${what}: ${name} must be ${n} bytes`);
      b.set(v, p);
      continue;
    }
    if (kind === 'u64') {
      if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new KernelError('EINVAL', `${what}: ${name} ${String(v)} is not an unsigned 64-bit bigint`);
      dv.setBigUint64(p, v, true);
      continue;
    }
    const max = kind === 'u8' ? 0xff : kind === 'u16' ? 0xffff : 0xffffffff;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw new KernelError('EINVAL', `${what}: ${name} ${String(v)} does not fit ${kind}`);
    }
    if (kind === 'u8') dv.setUint8(p, v);
    else if (kind === 'u16') dv.setUint16(p, v, true);
    else dv.setUint32(p, v, true);
  }
}

/** A 32-bit low half and a high half as one number (EFTYPE if it is not a safe integer). */
export function join64(lo: number, hi: number, what: string): number {
  const v = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(v)) corrupt(`${what} ${hi}:${lo} is too large`);
  return v;
}

export function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated string field (volume name, last mounted): bytes up to the first NUL, as UTF-8. */
export function cstring(b: Uint8Array): string {
  const z = b.indexOf(0);
  return utf8.decode(z < 0 ? b : b.subarray(0, z));
}

/** Fill a fixed-size field with `s` (UTF-8), NUL-padded. EINVAL if it does not fit. */
export function cstringBytes(s: string, size: number, what: string): Uint8Array {
  const e = new TextEncoder().encode(s);
  if (e.length > size) throw new KernelError('EINVAL', `${what} '${s}' is longer than ${size} bytes`);
  const out = new Uint8Array(size);
  out.set(e);
  return out;
}

/** A UUID field as the usual 8-4-4-4-12 hex string. */
export function uuidString(b: Uint8Array): string {
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Names of the bits set in `mask` per `names`; unknown bits as 'FEATURE_<kind><bit>' (e2fsprogs' spelling). */
export function flagNames(mask: number, names: Readonly<Record<number, string>>, unknownPrefix: string): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (((mask >>> bit) & 1) === 0) continue;
    out.push(names[2 ** bit] ?? `${unknownPrefix}${bit}`);
  }
  return out;
}

/** A codec's EFTYPE found during an operation is an I/O error of the file system: EIO, prefixed with `where`. */
export function asIoError(e: unknown, where: string): unknown {
  if (e instanceof KernelError && e.code === 'EFTYPE') return new KernelError('EIO', `${where}: ${e.detail ?? e.message}`);
  return e;
}
