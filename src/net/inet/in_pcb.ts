/**
 * Internet protocol control blocks (NetBSD's netinet/in_pcb.c): the local and foreign address
 * and port of a UDP, raw (or TCP) socket, one table per protocol, port allocation, and the
 * lookups input uses.
 *
 * Binding (in_pcbbind):
 *  - the address must be INADDR_ANY, one of this host's, one of its broadcast addresses (the
 *    socket then hears only broadcasts) or a multicast group (EADDRNOTAVAIL);
 *  - a socket binds once (EINVAL);
 *  - port 0 picks an ephemeral port in net.inet.ip.anonportmin..anonportmax, starting at a random
 *    point (RFC 6056), EAGAIN when all are taken; ports up to net.inet.ip.lowportmax (1023) need
 *    the superuser (EACCES);
 *  - a port in use fails with EADDRINUSE unless both sockets set SO_REUSEPORT, or the new socket
 *    set SO_REUSEADDR and the two addresses differ (one of them the wildcard). For a multicast
 *    address SO_REUSEADDR means SO_REUSEPORT (BSD).
 * Connecting (in_pcbconnect) fixes the foreign address and port, and the local address (the
 * route's source) and port (ephemeral) when not bound; a second socket with the same four-tuple
 * fails with EADDRINUSE.
 *
 * Lookup for input prefers an exact (connected) match, then a socket bound to the destination
 * address, then one bound to INADDR_ANY (the fewest wildcards win).
 *
 * The table is protocol-neutral so TCP can use it too.
 */

import { KernelError } from '../../kern/errno.js';
import type { Cred } from '../../kern/proc.js';
import { SO_REUSEADDR, SO_REUSEPORT } from '../../kern/types.js';
import type { Socket } from '../socket.js';
import { formatIpv4, ipv4IsMulticast } from '../wire/ipv4.js';
import type { Inet } from './ip_var.js';

export class InPcb {
  laddr = 0;
  lport = 0;
  faddr = 0;
  fport = 0;
  /** IP_TTL (null: the default), IP_TOS. */
  ttl: number | null = null;
  tos = 0;
  /** Raw sockets: the protocol served (0: all) and IP_HDRINCL. */
  proto = 0;
  hdrincl = false;
  /** IP_RECVDSTADDR, IP_RECVIF, IP_RECVTTL ... (reserved; not reported yet). */
  flags = 0;

  constructor(readonly so: Socket, readonly table: InPcbTable) {}

  get connected(): boolean { return this.faddr !== 0; }
}

export class InPcbTable {
  readonly pcbs = new Set<InPcb>();
  private readonly byPort = new Map<number, Set<InPcb>>();

  constructor(readonly inet: Inet, readonly name: string) {}

  attach(so: Socket): InPcb {
    const p = new InPcb(so, this);
    this.pcbs.add(p);
    return p;
  }

  detach(p: InPcb): void {
    this.unhash(p);
    this.pcbs.delete(p);
  }

  private hash(p: InPcb): void {
    let s = this.byPort.get(p.lport);
    if (s === undefined) {
      s = new Set();
      this.byPort.set(p.lport, s);
    }
    s.add(p);
  }

  private unhash(p: InPcb): void {
    const s = this.byPort.get(p.lport);
    if (s === undefined) return;
    s.delete(p);
    if (s.size === 0) this.byPort.delete(p.lport);
  }

  /** The sockets on local port `port`. */
  onPort(port: number): ReadonlySet<InPcb> | undefined {
    return this.byPort.get(port);
  }

  /** Would binding (laddr, lport) with `options` (SO_*) conflict? The conflicting pcb, or null. */
  private conflict(self: InPcb, laddr: number, lport: number, options: number): InPcb | null {
    const s = this.byPort.get(lport);
    if (s === undefined) return null;
    let reuseport = options & SO_REUSEPORT;
    if (ipv4IsMulticast(laddr) && (options & SO_REUSEADDR) !== 0) reuseport = SO_REUSEADDR | SO_REUSEPORT;
    const wildOk = (options & SO_REUSEADDR) !== 0;
    for (const t of s) {
      if (t === self) continue;
      const exact = t.laddr === laddr;
      const wild = !exact && (t.laddr === 0 || laddr === 0);
      if (!exact && !wild) continue;
      if (wild && wildOk) continue;
      if ((reuseport & t.so.options) !== 0) continue;
      return t;
    }
    return null;
  }

  /** An ephemeral port for `laddr` (in_pcbsetport). EAGAIN when the range is exhausted. */
  private anonPort(p: InPcb, laddr: number): number {
    const tun = this.inet.tun;
    const lo = Math.min(tun.anonportmin, tun.anonportmax);
    const hi = Math.max(tun.anonportmin, tun.anonportmax);
    const n = hi - lo + 1;
    const r = new Uint8Array(2);
    this.inet.kernel.host.getrandom(r);
    const start = ((r[0]! << 8) | r[1]!) % n;
    for (let i = 0; i < n; i++) {
      const port = lo + ((start + i) % n);
      if (this.conflict(p, laddr, port, p.so.options) === null) return port;
    }
    throw new KernelError('EAGAIN', `no ephemeral ${this.name} port free in ${lo}..${hi}`);
  }

  /** in_pcbbind */
  bind(p: InPcb, laddr: number, lport: number, cred: Cred): void {
    if (p.lport !== 0 || p.laddr !== 0) throw new KernelError('EINVAL', `the socket is already bound to ${formatIpv4(p.laddr)}:${p.lport}`);
    if (laddr !== 0 && !ipv4IsMulticast(laddr) && !this.inet.isLocalAddress(laddr) && !this.inet.isBroadcast(laddr)) {
      throw new KernelError('EADDRNOTAVAIL', `${formatIpv4(laddr)} is not an address of this host`);
    }
    let port = lport;
    if (port === 0) {
      port = this.anonPort(p, laddr);
    } else {
      const tun = this.inet.tun;
      if (port <= tun.lowportmax && port > 0 && cred.euid !== 0) {
        throw new KernelError('EACCES', `port ${port} is reserved for the superuser (net.inet.ip.lowportmax ${tun.lowportmax})`);
      }
      const t = this.conflict(p, laddr, port, p.so.options);
      if (t !== null) throw new KernelError('EADDRINUSE', `${this.name} ${formatIpv4(laddr)}:${port} is in use (by ${formatIpv4(t.laddr)}:${port})`);
    }
    p.laddr = laddr;
    p.lport = port;
    this.hash(p);
  }

  /**
   * in_pcbconnect: fix the foreign end; choose the local address (the route's source) and port
   * when unbound. EADDRNOTAVAIL for port 0, ENETUNREACH without a route, EADDRINUSE for a taken
   * four-tuple.
   */
  connect(p: InPcb, faddr: number, fport: number, cred: Cred): void {
    if (fport === 0) throw new KernelError('EADDRNOTAVAIL', 'cannot connect to port 0');
    let dst = faddr;
    // connecting to INADDR_ANY means this host (BSD)
    if (dst === 0) {
      const first = [...this.inet.addrs.keys()].find((a) => a >>> 24 !== 127) ?? 0x7f000001;
      dst = first;
    }
    let laddr = p.laddr;
    if (laddr === 0) {
      const s = this.inet.selectSource(dst);
      if (s === null) throw new KernelError('ENETUNREACH', `no route to ${formatIpv4(dst)}`);
      laddr = s;
    }
    for (const t of this.byPort.get(p.lport) ?? []) {
      if (t !== p && p.lport !== 0 && t.laddr === laddr && t.faddr === dst && t.fport === fport) {
        throw new KernelError('EADDRINUSE', `${this.name} ${formatIpv4(laddr)}:${p.lport} -> ${formatIpv4(dst)}:${fport} exists`);
      }
    }
    if (p.lport === 0) this.bind(p, p.laddr, 0, cred);
    p.laddr = laddr;
    p.faddr = dst;
    p.fport = fport;
  }

  /** in_pcbdisconnect (UDP also forgets the local address connect chose). */
  disconnect(p: InPcb, keepLaddr: boolean): void {
    p.faddr = 0;
    p.fport = 0;
    if (!keepLaddr) p.laddr = 0;
  }

  /**
   * in_pcblookup for input: the best socket for a datagram src:sport -> dst:dport, or null.
   * Exact connected matches first, then the fewest wildcards.
   */
  lookup(src: number, sport: number, dst: number, dport: number): InPcb | null {
    const s = this.byPort.get(dport);
    if (s === undefined) return null;
    let best: InPcb | null = null;
    let bestWild = 3;
    for (const p of s) {
      let wild = 0;
      if (p.faddr !== 0) {
        if (p.faddr !== src || p.fport !== sport) continue;
      } else wild++;
      if (p.laddr !== 0) {
        if (p.laddr !== dst) continue;
      } else wild++;
      if (wild < bestWild) {
        best = p;
        bestWild = wild;
        if (wild === 0) break;
      }
    }
    return best;
  }

  /** Every socket matching a broadcast or multicast datagram src:sport -> dst:dport. */
  lookupAll(src: number, sport: number, dst: number, dport: number): InPcb[] {
    const s = this.byPort.get(dport);
    const out: InPcb[] = [];
    if (s === undefined) return out;
    for (const p of s) {
      if (p.laddr !== 0 && p.laddr !== dst) continue;
      if (p.faddr !== 0 && (p.faddr !== src || p.fport !== sport)) continue;
      out.push(p);
    }
    return out;
  }

  /** The connected sockets of a four-tuple (ICMP errors about a datagram we sent). */
  lookupConnected(laddr: number, lport: number, faddr: number, fport: number): InPcb[] {
    const s = this.byPort.get(lport);
    const out: InPcb[] = [];
    if (s === undefined) return out;
    for (const p of s) {
      if (p.faddr === faddr && p.fport === fport && (p.laddr === 0 || p.laddr === laddr)) out.push(p);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// IPPROTO_IP socket options (ip_ctloutput)

/** Socket option level IPPROTO_IP and its options (netinet/in.h). */
export const IP_OPTIONS = 1, IP_HDRINCL = 2, IP_TOS = 3, IP_TTL = 4, IP_RECVOPTS = 5, IP_RECVRETOPTS = 6, IP_RECVDSTADDR = 7;
export const IP_MULTICAST_IF = 9, IP_MULTICAST_TTL = 10, IP_MULTICAST_LOOP = 11, IP_ADD_MEMBERSHIP = 12, IP_DROP_MEMBERSHIP = 13;
export const IP_PORTRANGE = 19, IP_RECVIF = 20, IP_ERRORMTU = 21, IP_RECVTTL = 23, IP_MINTTL = 24, IP_PKTINFO = 25, IP_RECVPKTINFO = 26;

function intOpt(value: unknown, name: string): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new KernelError('EINVAL', `${name} takes an int`);
  return value;
}

/**
 * ip_ctloutput for a pcb: IP_TTL (1..255, -1 for the default), IP_TOS (0..255), IP_HDRINCL
 * (raw sockets only). ENOPROTOOPT for other options.
 */
export function inCtloutput(p: InPcb, op: number, name: number, value: unknown, raw: boolean): unknown {
  const set = op === 1 /* PRCO_SETOPT */;
  switch (name) {
    case IP_TTL:
      if (!set) return p.ttl ?? p.table.inet.tun.ttl;
      {
        const v = intOpt(value, 'IP_TTL');
        if (v === -1) { p.ttl = null; return undefined; }
        if (v < 1 || v > 255) throw new KernelError('EINVAL', `IP_TTL ${v} outside 1..255`);
        p.ttl = v;
      }
      return undefined;
    case IP_TOS:
      if (!set) return p.tos;
      {
        const v = intOpt(value, 'IP_TOS');
        if (v < 0 || v > 255) throw new KernelError('EINVAL', `IP_TOS ${v} outside 0..255`);
        p.tos = v;
      }
      return undefined;
    case IP_HDRINCL:
      if (!raw) throw new KernelError('ENOPROTOOPT', 'IP_HDRINCL is for raw sockets');
      if (!set) return p.hdrincl ? 1 : 0;
      p.hdrincl = intOpt(value, 'IP_HDRINCL') !== 0;
      return undefined;
    default:
      throw new KernelError('ENOPROTOOPT', `IPPROTO_IP option ${name} is not supported`);
  }
}
