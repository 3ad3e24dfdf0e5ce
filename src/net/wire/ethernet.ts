/**
 * Ethernet II frames (IEEE 802.3 with an EtherType), optionally 802.1Q-tagged, and MAC addresses.
 *
 * MAC addresses are 48-bit numbers (exact in a double): cheap to compare, usable as Map keys.
 * The frame check sequence is not part of the frames we handle (buses and taps carry none).
 *
 * View: `EthernetFrame.check(bytes)` validates the lengths (14 bytes, 18 when tagged); after
 * that every accessor is safe. Repr: `EthernetRepr.parse/emit/bufferLen`.
 */

import { get16, get48, hex4, set16, set48 } from './bytes.js';
import { WireError, truncated } from './error.js';

export type MacAddr = number;

export const ETHER_ADDR_LEN = 6;
export const ETHER_HDR_LEN = 14;
export const ETHER_VLAN_ENCAP_LEN = 4;
/** Shortest frame on the wire without the FCS; shorter ones are padded. */
export const ETHER_MIN_LEN = 60;
export const ETHERMTU = 1500;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Values below this are IEEE 802.3 length fields, not EtherTypes. */
export const ETHERTYPE_MIN = 0x0600;

export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;
export const MAC_ZERO: MacAddr = 0;

// ---- MAC address helpers --------------------------------------------------------------------

/** "aa:bb:cc:dd:ee:ff" (also '-' separated, any case) -> number, or null. */
export function parseMac(s: string): MacAddr | null {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return null;
    v = v * 256 + parseInt(p, 16);
  }
  return v;
}

/** Lower-case, colon separated, two digits per byte. */
export function formatMac(m: MacAddr): string {
  const out: string[] = [];
  for (let i = 5; i >= 0; i--) out.push(Math.floor(m / 2 ** (8 * i) % 256).toString(16).padStart(2, '0'));
  return out.join(':');
}

export function macFromBytes(b: Uint8Array, off = 0): MacAddr {
  return get48(b, off);
}

export function macToBytes(m: MacAddr, out: Uint8Array = new Uint8Array(6), off = 0): Uint8Array {
  set48(out, off, m);
  return out;
}

function firstOctet(m: MacAddr): number {
  return Math.floor(m / 0x100_0000_0000);
}

/** Group bit (I/G) set: multicast or broadcast. */
export function macIsMulticast(m: MacAddr): boolean {
  return (firstOctet(m) & 1) === 1;
}

export function macIsBroadcast(m: MacAddr): boolean {
  return m === MAC_BROADCAST;
}

export function macIsUnicast(m: MacAddr): boolean {
  return (firstOctet(m) & 1) === 0;
}

/** Locally administered (U/L bit set), as our random interface addresses are. */
export function macIsLocal(m: MacAddr): boolean {
  return (firstOctet(m) & 2) === 2;
}

/** A random locally administered unicast address from 6 random bytes (the caller's entropy). */
export function macFromRandom(rnd: Uint8Array): MacAddr {
  const first = (rnd[0]! & 0xfc) | 0x02;
  return first * 0x100_0000_0000 + (get48(rnd, 0) % 0x100_0000_0000);
}

// ---- view -----------------------------------------------------------------------------------

export class EthernetFrame {
  private constructor(readonly bytes: Uint8Array) {}

  /** Validate lengths: 14 bytes, or 18 when the frame carries an 802.1Q tag. */
  static check(bytes: Uint8Array): EthernetFrame | WireError {
    if (bytes.length < ETHER_HDR_LEN) return truncated('ethernet', 'header', bytes.length, ETHER_HDR_LEN, 'frame');
    if (get16(bytes, 12) === ETHERTYPE_VLAN && bytes.length < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN) {
      return truncated('ethernet', 'vlanTag', bytes.length, ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN, '802.1Q tagged frame');
    }
    return new EthernetFrame(bytes);
  }

  /** For emitting into a buffer the caller sized with `EthernetRepr.bufferLen`. */
  static unchecked(bytes: Uint8Array): EthernetFrame {
    return new EthernetFrame(bytes);
  }

  get dst(): MacAddr { return get48(this.bytes, 0); }
  set dst(m: MacAddr) { set48(this.bytes, 0, m); }
  get src(): MacAddr { return get48(this.bytes, 6); }
  set src(m: MacAddr) { set48(this.bytes, 6, m); }
  /** The EtherType field after the source address (ETHERTYPE_VLAN for tagged frames). */
  get outerType(): number { return get16(this.bytes, 12); }
  set outerType(t: number) { set16(this.bytes, 12, t); }
  get tagged(): boolean { return get16(this.bytes, 12) === ETHERTYPE_VLAN; }
  /** Tag control information (PCP 3 bits, DEI 1 bit, VID 12 bits); 0 when untagged. */
  get tci(): number { return this.tagged ? get16(this.bytes, 14) : 0; }
  set tci(v: number) { set16(this.bytes, 14, v); }
  get vlanId(): number { return this.tci & 0x0fff; }
  get pcp(): number { return this.tci >>> 13; }
  get dei(): boolean { return (this.tci & 0x1000) !== 0; }
  /** The EtherType of the payload (after the tag, if any). */
  get ethertype(): number { return get16(this.bytes, this.tagged ? 16 : 12); }
  set ethertype(t: number) { set16(this.bytes, this.tagged ? 16 : 12, t); }
  get headerLen(): number { return this.tagged ? ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN : ETHER_HDR_LEN; }
  /** Everything after the header (may include padding up to ETHER_MIN_LEN). */
  get payload(): Uint8Array { return this.bytes.subarray(this.headerLen); }
}

// ---- repr -----------------------------------------------------------------------------------

export interface VlanTag {
  /** Priority code point, 0..7 */
  pcp: number;
  /** Drop eligible indicator */
  dei: boolean;
  /** VLAN identifier, 0..4095 */
  vid: number;
}

export interface EthernetRepr {
  dst: MacAddr;
  src: MacAddr;
  /** Payload EtherType (ETHERTYPE_IPV4, ...). */
  ethertype: number;
  vlan: VlanTag | null;
}

export const EthernetRepr = {
  parse(f: EthernetFrame): EthernetRepr | WireError {
    const ethertype = f.ethertype;
    if (ethertype < ETHERTYPE_MIN) {
      return new WireError('ethernet', 'unsupported', 'ethertype',
        `type field ${hex4(ethertype)} is an 802.3 length (LLC frames unsupported)`, f.headerLen - 2);
    }
    const tci = f.tci;
    return {
      dst: f.dst,
      src: f.src,
      ethertype,
      vlan: f.tagged ? { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff } : null,
    };
  },

  bufferLen(r: EthernetRepr): number {
    return r.vlan === null ? ETHER_HDR_LEN : ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN;
  },

  /** Write the header into buf[0, bufferLen(r)). */
  emit(r: EthernetRepr, buf: Uint8Array): void {
    set48(buf, 0, r.dst);
    set48(buf, 6, r.src);
    if (r.vlan === null) {
      set16(buf, 12, r.ethertype);
    } else {
      set16(buf, 12, ETHERTYPE_VLAN);
      set16(buf, 14, ((r.vlan.pcp & 7) << 13) | (r.vlan.dei ? 0x1000 : 0) | (r.vlan.vid & 0x0fff));
      set16(buf, 16, r.ethertype);
    }
  },
};
