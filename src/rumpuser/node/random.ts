/** rumpuser_getrandom for the Node host: the platform CSPRNG (WebCrypto's getRandomValues). */

import { webcrypto } from 'node:crypto';

/** getRandomValues refuses requests larger than this (QuotaExceededError). */
const MAX_CHUNK = 65536;

export function fillRandom(buf: Uint8Array): void {
  for (let off = 0; off < buf.length; off += MAX_CHUNK) {
    webcrypto.getRandomValues(buf.subarray(off, Math.min(buf.length, off + MAX_CHUNK)));
  }
}
