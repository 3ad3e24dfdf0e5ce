/**
 * UDP (RFC 768) with its pseudo-header checksum over IPv4 or IPv6 (RFC 8200 8.1).
 *
 * View: `UdpDatagram.check(bytes)` validates the 8-byte header and the length field (>= 8,
 * <= the bytes given); `payload` stops at the length field. Checksums: a zero field over IPv4
 * means "none"; over IPv6 a zero field is invalid. A computed zero is sent as 0xffff.
 * Repr: ports and payload length; `emit` writes the header and, given the addresses, fills the
 * checksum over the payload the caller already placed after it.
 */

import { get16, set16 } from './bytes.js';
import { finish, fold16, IPPROTO_UDP, pseudoSum, sum16, type IpAddr } from './checksum.js';
import { WireError, truncated } from './error.js';

export const UDP_HDR_LEN = 8;

/** The checksum field for a full unfolded sum (pseudo-header + datagram with a zero field). */
export function udpChecksumField(sum: number): number {
  const c = finish(sum);
  return c === 0 ? 0xffff : c;
}

export class UdpDatagram {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): UdpDatagram | WireError {
    if (bytes.length < UDP_HDR_LEN) return truncated('udp', 'header', bytes.length, UDP_HDR_LEN, 'datagram');
    const len = get16(bytes, 4);
    if (len < UDP_HDR_LEN) return new WireError('udp', 'malformed', 'length', `length field ${len} < 8`, 4);
    if (len > bytes.length) return new WireError('udp', 'truncated', 'length', `length field ${len} > ${bytes.length} bytes received`, 4);
    return new UdpDatagram(bytes);
  }

  static unchecked(bytes: Uint8Array): UdpDatagram {
    return new UdpDatagram(bytes);
  }

  get srcPort(): number { return get16(this.bytes, 0); }
  set srcPort(v: number) { set16(this.bytes, 0, v); }
  get dstPort(): number { return get16(this.bytes, 2); }
  set dstPort(v: number) { set16(this.bytes, 2, v); }
  get length(): number { return get16(this.bytes, 4); }
  set length(v: number) { set16(this.bytes, 4, v); }
  get checksum(): number { return get16(this.bytes, 6); }
  set checksum(v: number) { set16(this.bytes, 6, v); }
  get payload(): Uint8Array { return this.bytes.subarray(UDP_HDR_LEN, this.length); }

  /** Over IPv4 a zero checksum field means none and verifies; over IPv6 it never does. */
  verifyChecksum(src: IpAddr, dst: IpAddr): boolean {
    const c = this.checksum;
    if (c === 0) return typeof src === 'number';
    const len = this.length;
    return fold16(sum16(this.bytes, 0, len, pseudoSum(src, dst, IPPROTO_UDP, len))) === 0xffff;
  }

  fillChecksum(src: IpAddr, dst: IpAddr): void {
    const len = this.length;
    set16(this.bytes, 6, 0);
    set16(this.bytes, 6, udpChecksumField(sum16(this.bytes, 0, len, pseudoSum(src, dst, IPPROTO_UDP, len))));
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLen: number;
}

export interface UdpParseOptions {
  /** Verify the checksum (default true; false when the interface already did). */
  checksum?: boolean;
}

export interface UdpEmitChecksum {
  src: IpAddr;
  dst: IpAddr;
}

export const UdpRepr = {
  parse(d: UdpDatagram, src: IpAddr, dst: IpAddr, opts?: UdpParseOptions): UdpRepr | WireError {
    if (opts?.checksum !== false && !d.verifyChecksum(src, dst)) {
      const c = d.checksum;
      return new WireError('udp', 'checksum', 'checksum',
        c === 0 ? 'zero checksum over IPv6' : `checksum 0x${c.toString(16).padStart(4, '0')} does not verify`, 6);
    }
    return { srcPort: d.srcPort, dstPort: d.dstPort, payloadLen: d.length - UDP_HDR_LEN };
  },

  bufferLen(r: UdpRepr): number {
    return UDP_HDR_LEN + r.payloadLen;
  },

  /**
   * Write the header into buf[0, 8). With `csum`, fill the checksum over the header and the
   * payloadLen bytes after it (already in place); without, leave 0 (no checksum over IPv4, or
   * the caller sums a chained payload and stores `udpChecksumField(sum)`).
   */
  emit(r: UdpRepr, buf: Uint8Array, csum?: UdpEmitChecksum): void {
    const len = UDP_HDR_LEN + r.payloadLen;
    if (len > 0xffff) throw new WireError('udp', 'malformed', 'length', `length ${len} > 65535`);
    set16(buf, 0, r.srcPort);
    set16(buf, 2, r.dstPort);
    set16(buf, 4, len);
    set16(buf, 6, 0);
    if (csum !== undefined) set16(buf, 6, udpChecksumField(sum16(buf, 0, len, pseudoSum(csum.src, csum.dst, IPPROTO_UDP, len))));
  },
};
