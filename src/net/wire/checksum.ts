/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * The checksum is the 16-bit one's complement of the one's complement sum of the data taken as
 * big-endian 16-bit words (an odd last byte is padded with zero). Sums here are carried
 * *unfolded* as plain numbers (exact below 2^53), so partial sums over several pieces — a
 * pseudo-header, a header, payload segments — simply add; `fold16` reduces one to 16 bits and
 * `finish` complements it. A piece that starts at an odd offset of the checksummed whole
 * contributes its byte-swapped sum (`swap16`), as RFC 1071 section 2(B) allows.
 *
 * Hot path, synchronous: short buffers take a byte-pair loop; long ones sum aligned native
 * 32-bit words and fix up the byte order once at the end (byte-order independence, RFC 1071).
 */

/** An IP address as the pseudo-header needs it: IPv4 as a uint32 number, IPv6 as 16 bytes. */
export type IpAddr = number | Uint8Array;

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes the byte loop beats setting up a Uint32Array. */
const WORD_LOOP_MIN = 128;
/** Words per inner chunk: 16384 * (2 * 0xffff) stays a small integer (< 2^31). */
const CHUNK_WORDS = 16384;

/** Reduce an unfolded sum to 16 bits (end-around carry). 0 stays 0; never returns > 0xffff. */
export function fold16(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for an unfolded sum: ~fold16(sum). */
export function finish(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

export function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >>> 8);
}

/**
 * One's complement sum (unfolded) of b[off, off+len) as big-endian 16-bit words, plus `initial`.
 * The first byte is the high byte of a word; an odd trailing byte is padded with zero.
 */
export function sum16(b: Uint8Array, off = 0, len = b.length - off, initial = 0): number {
  let s = initial;
  let i = off;
  const end = off + len;
  if (len < WORD_LOOP_MIN) {
    for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
    if (i < end) s += b[i]! << 8;
    return s;
  }
  // Bytes before the first 4-aligned address, each in its big-endian position.
  const lead = (4 - ((b.byteOffset + i) & 3)) & 3;
  for (let k = 0; k < lead; k++, i++) s += (k & 1) === 0 ? b[i]! << 8 : b[i]!;
  const words = (end - i) >>> 2;
  const w32 = new Uint32Array(b.buffer, b.byteOffset + i, words);
  let w = 0;
  let j = 0;
  while (j < words) {
    const lim = Math.min(words, j + CHUNK_WORDS);
    let acc = 0;
    for (; j < lim; j++) {
      const v = w32[j]!;
      acc += (v >>> 16) + (v & 0xffff);
    }
    w += acc;
  }
  w = fold16(w);
  // Native words on a little-endian host are byte-swapped big-endian words; an odd lead shifts
  // the aligned run by one byte, which swaps it once more.
  if (LITTLE_ENDIAN_HOST) w = swap16(w);
  if ((lead & 1) === 1) w = swap16(w);
  s += w;
  i += words * 4;
  for (; i < end; i++) s += ((i - off) & 1) === 0 ? b[i]! << 8 : b[i]!;
  return s;
}

/** RFC 1071 checksum of b[off, off+len): the value to store in a checksum field. */
export function internetChecksum(b: Uint8Array, off = 0, len = b.length - off): number {
  return finish(sum16(b, off, len));
}

/**
 * Does the data (checksum field included) plus `initial` (a pseudo-header sum) verify?
 * A correct packet sums to 0xffff (negative zero).
 */
export function checksumOk(b: Uint8Array, off = 0, len = b.length - off, initial = 0): boolean {
  return fold16(sum16(b, off, len, initial)) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum field after a 16-bit word of the covered data changed from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). Unlike RFC 1141's form it never turns a
 * +0 (0x0000) field into -0 (0xffff) when the data still sums to the same value.
 */
export function checksumUpdate16(hc: number, oldWord: number, newWord: number): number {
  return ~fold16((~hc & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an IPv4 address, a sequence number): two 16-bit updates. */
export function checksumUpdate32(hc: number, oldVal: number, newVal: number): number {
  const s = (~hc & 0xffff)
    + (~(oldVal >>> 16) & 0xffff) + (~oldVal & 0xffff)
    + (newVal >>> 16) + (newVal & 0xffff);
  return ~fold16(s) & 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 793/768): src, dst, zero, protocol, length. */
export function pseudoSumV4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Unfolded sum of the IPv6 pseudo-header (RFC 8200 8.1): src, dst, 32-bit length, next header. */
export function pseudoSumV6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  return sum16(src, 0, 16, sum16(dst, 0, 16)) + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/** Pseudo-header sum for either family: IPv4 addresses are numbers, IPv6 ones 16 bytes. */
export function pseudoSum(src: IpAddr, dst: IpAddr, protocol: number, length: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return pseudoSumV4(src, dst, protocol, length);
  if (typeof src !== 'number' && typeof dst !== 'number') return pseudoSumV6(src, dst, protocol, length);
  throw new TypeError('pseudo-header: source and destination are of different address families');
}
