/**
 * ARP (RFC 826) for IPv4 over Ethernet.
 *
 * View: `ArpPacket.check(bytes)` requires the 28 bytes of an Ethernet/IPv4 packet (every ARP
 * over Ethernet has at least that, frames being padded to 60 bytes) and that the declared
 * address lengths fit. Repr: only hardware type 1, protocol 0x0800, request or reply; anything
 * else parses as 'unsupported'.
 */

import { get16, get32, get48, set16, set32, set48 } from './bytes.js';
import { WireError, truncated } from './error.js';
import { ETHERTYPE_IPV4, type MacAddr } from './ethernet.js';

export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
export const ARP_ETHER_IPV4_LEN = 28;

export class ArpPacket {
  private constructor(readonly bytes: Uint8Array) {}

  static check(bytes: Uint8Array): ArpPacket | WireError {
    if (bytes.length < ARP_ETHER_IPV4_LEN) return truncated('arp', 'header', bytes.length, ARP_ETHER_IPV4_LEN, 'packet');
    const need = 8 + 2 * (bytes[4]! + bytes[5]!);
    if (bytes.length < need) return truncated('arp', 'addresses', bytes.length, need, 'packet with its declared address lengths');
    return new ArpPacket(bytes);
  }

  static unchecked(bytes: Uint8Array): ArpPacket {
    return new ArpPacket(bytes);
  }

  get hardwareType(): number { return get16(this.bytes, 0); }
  set hardwareType(v: number) { set16(this.bytes, 0, v); }
  get protocolType(): number { return get16(this.bytes, 2); }
  set protocolType(v: number) { set16(this.bytes, 2, v); }
  get hardwareLen(): number { return this.bytes[4]!; }
  set hardwareLen(v: number) { this.bytes[4] = v; }
  get protocolLen(): number { return this.bytes[5]!; }
  set protocolLen(v: number) { this.bytes[5] = v; }
  get operation(): number { return get16(this.bytes, 6); }
  set operation(v: number) { set16(this.bytes, 6, v); }
  // Ethernet/IPv4 layout; meaningful when the lengths above are 6 and 4.
  get senderHw(): MacAddr { return get48(this.bytes, 8); }
  set senderHw(m: MacAddr) { set48(this.bytes, 8, m); }
  get senderProto(): number { return get32(this.bytes, 14); }
  set senderProto(a: number) { set32(this.bytes, 14, a); }
  get targetHw(): MacAddr { return get48(this.bytes, 18); }
  set targetHw(m: MacAddr) { set48(this.bytes, 18, m); }
  get targetProto(): number { return get32(this.bytes, 24); }
  set targetProto(a: number) { set32(this.bytes, 24, a); }
}

export interface ArpRepr {
  /** ARPOP_REQUEST or ARPOP_REPLY */
  operation: number;
  senderHw: MacAddr;
  senderProto: number;
  targetHw: MacAddr;
  targetProto: number;
}

export const ArpRepr = {
  parse(p: ArpPacket): ArpRepr | WireError {
    if (p.hardwareType !== ARPHRD_ETHER) {
      return new WireError('arp', 'unsupported', 'hardwareType', `hardware type ${p.hardwareType} (only Ethernet, 1)`, 0);
    }
    if (p.protocolType !== ETHERTYPE_IPV4) {
      return new WireError('arp', 'unsupported', 'protocolType', `protocol type 0x${p.protocolType.toString(16)} (only IPv4, 0x0800)`, 2);
    }
    if (p.hardwareLen !== 6) return new WireError('arp', 'malformed', 'hardwareLen', `hardware address length ${p.hardwareLen} != 6 for Ethernet`, 4);
    if (p.protocolLen !== 4) return new WireError('arp', 'malformed', 'protocolLen', `protocol address length ${p.protocolLen} != 4 for IPv4`, 5);
    const op = p.operation;
    if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) {
      return new WireError('arp', 'unsupported', 'operation', `operation ${op} (only request 1 and reply 2)`, 6);
    }
    return { operation: op, senderHw: p.senderHw, senderProto: p.senderProto, targetHw: p.targetHw, targetProto: p.targetProto };
  },

  bufferLen(_r: ArpRepr): number {
    return ARP_ETHER_IPV4_LEN;
  },

  emit(r: ArpRepr, buf: Uint8Array): void {
    const p = ArpPacket.unchecked(buf);
    p.hardwareType = ARPHRD_ETHER;
    p.protocolType = ETHERTYPE_IPV4;
    p.hardwareLen = 6;
    p.protocolLen = 4;
    p.operation = r.operation;
    p.senderHw = r.senderHw;
    p.senderProto = r.senderProto;
    p.targetHw = r.targetHw;
    p.targetProto = r.targetProto;
  },
};
