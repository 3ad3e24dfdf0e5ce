/**
 * Big-endian field access on Uint8Array, shared by the codecs (network byte order).
 *
 * Callers have checked the length first (a view's `check()`), so the non-null assertions hold.
 * Stores rely on Uint8Array's modulo-256 conversion to drop the high bits.
 */

export function get16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function get32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** 48-bit value (a MAC address) as a number; exact, since 2^48 < 2^53. */
export function get48(b: Uint8Array, o: number): number {
  return get16(b, o) * 0x1_0000_0000 + get32(b, o + 2);
}

export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

export function set48(b: Uint8Array, o: number, v: number): void {
  set16(b, o, Math.floor(v / 0x1_0000_0000));
  set32(b, o + 2, v >>> 0);
}

/** Round up to a multiple of 4 (option padding). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

export function hex4(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}
