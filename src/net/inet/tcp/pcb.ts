/**
 * The TCP connection table (NetBSD's inpcbtable for TCP): connections by 4-tuple, listening
 * sockets by local port and address, every port held by a socket, and port allocation.
 *
 * Lookups are by the pair of ports first (a number key), then by address, so the per-segment
 * lookup allocates nothing. A connection is found by its exact 4-tuple; a segment for no
 * connection goes to the listener bound to its destination address and port, else to the one
 * bound to INADDR_ANY on that port.
 *
 * Binding rules (in_pcbbind, BSD style): a port may be bound twice only on different specific
 * addresses, or with SO_REUSEPORT on both sockets; SO_REUSEADDR on the new socket lets it share
 * the port with anything that is not listening (connections left by an earlier server, TIME_WAIT,
 * orphans still closing). Ephemeral ports come from 49152-65535, starting at a random point.
 */

import { KernelError } from '../../../kern/errno.js';
import { SO_REUSEADDR, SO_REUSEPORT } from '../../../kern/types.js';
import { INADDR_ANY } from '../transport.js';
import { IPPORT_EPHEMERAL_FIRST, IPPORT_EPHEMERAL_LAST, TCPS_LISTEN, TCPS_TIME_WAIT } from './constants.js';
import type { Tcb } from './tcb.js';

function portsKey(lport: number, fport: number): number {
  return lport * 65536 + fport;
}

export class PcbTable {
  /** Connections (foreign address set), by (lport, fport). */
  private readonly conns = new Map<number, Tcb[]>();
  /** Listening sockets by local port. */
  private readonly listeners = new Map<number, Tcb[]>();
  /** Every control block holding a local port. */
  private readonly ports = new Map<number, Set<Tcb>>();
  /** Where the next ephemeral search starts. */
  private nextEphemeral: number;
  /** Connections in the table. */
  connCount = 0;

  constructor(random: () => number) {
    const span = IPPORT_EPHEMERAL_LAST - IPPORT_EPHEMERAL_FIRST + 1;
    this.nextEphemeral = IPPORT_EPHEMERAL_FIRST + (random() % span);
  }

  /** The connection with this exact 4-tuple. */
  lookup(laddr: number, lport: number, faddr: number, fport: number): Tcb | null {
    const list = this.conns.get(portsKey(lport, fport));
    if (list === undefined) return null;
    for (const tp of list) if (tp.faddr === faddr && tp.laddr === laddr) return tp;
    return null;
  }

  /** The listener for (laddr, lport): exact address first, then the wildcard. */
  lookupListener(laddr: number, lport: number): Tcb | null {
    const list = this.listeners.get(lport);
    if (list === undefined) return null;
    let wild: Tcb | null = null;
    for (const tp of list) {
      if (tp.laddr === laddr) return tp;
      if (tp.laddr === INADDR_ANY) wild = tp;
    }
    return wild;
  }

  /** Holders of a local port. */
  portUsers(lport: number): ReadonlySet<Tcb> | undefined {
    return this.ports.get(lport);
  }

  /** Enter tp (laddr/lport set) in the port table. */
  bind(tp: Tcb): void {
    let set = this.ports.get(tp.lport);
    if (set === undefined) {
      set = new Set();
      this.ports.set(tp.lport, set);
    }
    set.add(tp);
    tp.bound = true;
  }

  /** Enter tp (4-tuple set) in the connection table. */
  connect(tp: Tcb): void {
    const k = portsKey(tp.lport, tp.fport);
    let list = this.conns.get(k);
    if (list === undefined) {
      list = [];
      this.conns.set(k, list);
    }
    list.push(tp);
    tp.connected = true;
    this.connCount++;
  }

  listen(tp: Tcb): void {
    if (tp.listening) return;
    let list = this.listeners.get(tp.lport);
    if (list === undefined) {
      list = [];
      this.listeners.set(tp.lport, list);
    }
    list.push(tp);
    tp.listening = true;
  }

  /** Remove tp from every table. */
  remove(tp: Tcb): void {
    if (tp.connected) {
      const k = portsKey(tp.lport, tp.fport);
      const list = this.conns.get(k);
      if (list !== undefined) {
        const i = list.indexOf(tp);
        if (i >= 0) {
          list.splice(i, 1);
          this.connCount--;
        }
        if (list.length === 0) this.conns.delete(k);
      }
      tp.connected = false;
    }
    if (tp.listening) {
      const list = this.listeners.get(tp.lport);
      if (list !== undefined) {
        const i = list.indexOf(tp);
        if (i >= 0) list.splice(i, 1);
        if (list.length === 0) this.listeners.delete(tp.lport);
      }
      tp.listening = false;
    }
    if (tp.bound) {
      const set = this.ports.get(tp.lport);
      if (set !== undefined) {
        set.delete(tp);
        if (set.size === 0) this.ports.delete(tp.lport);
      }
      tp.bound = false;
    }
  }

  /** in_pcbbind's conflict check: EADDRINUSE when (laddr, lport) may not be bound by tp. */
  checkBind(tp: Tcb, laddr: number, lport: number): void {
    const users = this.ports.get(lport);
    if (users === undefined) return;
    const opts = tp.so?.options ?? 0;
    for (const other of users) {
      if (other === tp) continue;
      if (other.laddr !== laddr && other.laddr !== INADDR_ANY && laddr !== INADDR_ANY) continue;
      const oopts = other.so?.options ?? 0;
      if ((opts & oopts & SO_REUSEPORT) !== 0) continue;
      if ((opts & SO_REUSEADDR) !== 0 && (other.state === TCPS_TIME_WAIT || other.so === null || other.state !== TCPS_LISTEN)) continue;
      throw new KernelError('EADDRINUSE', `port ${lport} is in use (${other.toString()})`);
    }
  }

  /**
   * An unused ephemeral port (for a bind to port 0, a listen or connect without bind);
   * EADDRNOTAVAIL when all are taken.
   */
  ephemeral(): number {
    const span = IPPORT_EPHEMERAL_LAST - IPPORT_EPHEMERAL_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p >= IPPORT_EPHEMERAL_LAST ? IPPORT_EPHEMERAL_FIRST : p + 1;
      if (!this.ports.has(p)) return p;
    }
    throw new KernelError('EADDRNOTAVAIL', `all ${span} ephemeral ports (${IPPORT_EPHEMERAL_FIRST}-${IPPORT_EPHEMERAL_LAST}) are in use`);
  }

  /** Every connection (netstat, halt). */
  *all(): IterableIterator<Tcb> {
    for (const list of this.conns.values()) yield* list;
    for (const list of this.listeners.values()) yield* list;
  }
}
