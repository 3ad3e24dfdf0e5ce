/**
 * Randomness for the memory host: globalThis.crypto.getRandomValues (browsers and Node 20), or,
 * given a seed, a deterministic xorshift128 generator (Marsaglia 2003) for reproducible tests.
 * The seeded generator is NOT cryptographically secure.
 */

import { HostError } from '../rumpuser.js';

/** getRandomValues refuses requests larger than this (QuotaExceededError). */
const MAX_CHUNK = 65536;

export type RandomFill = (buf: Uint8Array) => void;

interface CryptoLike {
  getRandomValues(buf: Uint8Array): Uint8Array;
}

export function cryptoRandom(): RandomFill {
  return (buf) => {
    const c = (globalThis as { crypto?: CryptoLike }).crypto;
    if (c === undefined || typeof c.getRandomValues !== 'function') {
      throw new HostError('ENOSYS', 'no globalThis.crypto.getRandomValues on this host; give the memory host a seed');
    }
    for (let off = 0; off < buf.length; off += MAX_CHUNK) {
      c.getRandomValues(buf.subarray(off, Math.min(buf.length, off + MAX_CHUNK)));
    }
  };
}

/** splitmix32: spreads a small seed over the state words (and never yields an all-zero state). */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export function seededRandom(seed: number): RandomFill {
  const sm = { s: Math.trunc(seed) | 0 };
  let x = splitmix32(sm);
  let y = splitmix32(sm);
  let z = splitmix32(sm);
  let w = splitmix32(sm);
  if ((x | y | z | w) === 0) w = 1;
  let word = 0;
  let left = 0; // bytes of `word` not yet handed out
  const next = (): number => {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w;
  };
  return (buf) => {
    for (let i = 0; i < buf.length; i++) {
      if (left === 0) {
        word = next();
        left = 4;
      }
      buf[i] = word & 0xff;
      word >>>= 8;
      left--;
    }
  };
}
