/**
 * Initial sequence numbers (RFC 6528): ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4-microsecond timer, F a keyed pseudo-random function — here HalfSipHash-2-4
 * with a 64-bit key drawn from the host's random source at attach. The same function, with a
 * second key, gives each connection's timestamp offset (RFC 7323 5.4), so timestamps do not
 * reveal the host's uptime and differ per connection.
 */

function rotl(x: number, b: number): number {
  return ((x << b) | (x >>> (32 - b))) >>> 0;
}

/** HalfSipHash-2-4 of 32-bit words (little-endian word order), 32-bit result. */
export function halfSipHash(k0: number, k1: number, words: readonly number[]): number {
  let v0 = k0 >>> 0;
  let v1 = k1 >>> 0;
  let v2 = (0x6c796765 ^ k0) >>> 0;
  let v3 = (0x74656462 ^ k1) >>> 0;
  const round = (): void => {
    v0 = (v0 + v1) >>> 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) >>> 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) >>> 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  };
  for (const w of words) {
    const m = w >>> 0;
    v3 ^= m;
    round(); round();
    v0 ^= m;
  }
  const b = ((words.length * 4) << 24) >>> 0;
  v3 ^= b;
  round(); round();
  v0 ^= b;
  v2 ^= 0xff;
  round(); round(); round(); round();
  return (v1 ^ v3) >>> 0;
}

export class IsnGenerator {
  private readonly key = new Uint32Array(4);

  constructor(getrandom: (buf: Uint8Array) => void) {
    getrandom(new Uint8Array(this.key.buffer));
  }

  /** The ISN for a connection at time `nowMs`. */
  isn(laddr: number, lport: number, faddr: number, fport: number, nowMs: number): number {
    const f = halfSipHash(this.key[0]!, this.key[1]!, [laddr, faddr, ((lport << 16) | fport) >>> 0]);
    return (f + Math.floor(nowMs * 250)) >>> 0;
  }

  /** The timestamp offset for a connection. */
  tsOffset(laddr: number, lport: number, faddr: number, fport: number): number {
    return halfSipHash(this.key[2]!, this.key[3]!, [laddr, faddr, ((lport << 16) | fport) >>> 0]);
  }
}
