/**
 * The SYN cache (NetBSD's tcp_syn_cache): half-open passive connections are kept as small
 * entries, not sockets, until the handshake completes. A SYN to a listening socket makes an
 * entry and a SYN,ACK; the ACK that completes it makes the socket (sonewconn) in ESTABLISHED
 * and puts it on the listen queue for accept.
 *
 * Bounded: `syncacheLimit` entries in all and `syncacheBucketLimit` per listening socket; when
 * full, the oldest entry goes (counted), so a SYN flood cannot grow memory and new SYNs still
 * get through. SYN,ACKs are retransmitted with exponential backoff from the initial RTO; after
 * SYNCACHE_MAXREXMTS the entry is dropped. One callout serves the whole cache.
 */

import type { Callout } from '../../../kern/callout.js';
import { seqAdd } from '../../wire/seq.js';
import { TH_ACK, TH_SYN, type TcpRepr } from '../../wire/tcp.js';
import { SYNCACHE_MAXREXMTS, TCP_MAXWIN } from './constants.js';
import { blankRepr, mssForRoute, sendRaw } from './output.js';
import type { TcpProtocol } from './proto.js';
import type { Tcb } from './tcb.js';

export interface SynEntry {
  listener: Tcb;
  laddr: number;
  lport: number;
  faddr: number;
  fport: number;
  iss: number;
  irs: number;
  /** Peer's options. */
  peerMss: number | null;
  peerWscale: number | null;
  sackOk: boolean;
  /** Peer's TSval, when it sent timestamps and we use them. */
  tsRecent: number | null;
  tsOffset: number;
  /** Our window shift (when the peer offered scaling). */
  requestScale: number;
  ourMss: number;
  /** The (unscaled) window in our SYN,ACK. */
  win: number;
  rexmits: number;
  /** When the SYN,ACK is retransmitted next (ms). */
  due: number;
  created: number;
}

function portsKey(lport: number, fport: number): number {
  return lport * 65536 + fport;
}

export class SynCache {
  /** Entries by (lport, fport), then address. */
  private readonly byPorts = new Map<number, SynEntry[]>();
  /** All entries, oldest first. */
  private readonly order = new Set<SynEntry>();
  /** Entries per listening socket. */
  private readonly perListener = new Map<Tcb, number>();
  private callout: Callout | null = null;
  private armedAt = Infinity;

  constructor(private readonly tcp: TcpProtocol) {}

  get size(): number { return this.order.size; }

  countFor(listener: Tcb): number {
    return this.perListener.get(listener) ?? 0;
  }

  lookup(laddr: number, lport: number, faddr: number, fport: number): SynEntry | null {
    const list = this.byPorts.get(portsKey(lport, fport));
    if (list === undefined) return null;
    for (const e of list) if (e.laddr === laddr && e.faddr === faddr) return e;
    return null;
  }

  /** Make an entry for a SYN and answer it. */
  add(listener: Tcb, laddr: number, lport: number, faddr: number, fport: number, th: TcpRepr): SynEntry {
    const tcp = this.tcp;
    const t = tcp.tunables;
    const st = tcp.stats;
    // make room
    if (this.countFor(listener) >= t.syncacheBucketLimit) {
      for (const e of this.order) {
        if (e.listener === listener) {
          this.remove(e);
          st.sc_bucketoverflow++;
          break;
        }
      }
    }
    if (this.order.size >= t.syncacheLimit) {
      const oldest = this.order.values().next().value;
      if (oldest !== undefined) {
        this.remove(oldest);
        st.sc_overflowed++;
      }
    }
    const now = tcp.now();
    const so = listener.so;
    const hiwat = so?.rcv.hiwat ?? t.recvspace;
    let ourMss = mssForRoute(tcp, faddr);
    if (listener.umaxseg > 0) ourMss = Math.min(ourMss, listener.umaxseg);
    let requestScale = 0;
    if (t.winscale && th.windowScale !== null) {
      const max = Math.max(hiwat, tcp.kernel.net?.sbmax ?? hiwat);
      while (requestScale < 14 && (TCP_MAXWIN << requestScale) < max) requestScale++;
    }
    const e: SynEntry = {
      listener, laddr, lport, faddr, fport,
      iss: tcp.isn.isn(laddr, lport, faddr, fport, now),
      irs: th.seq,
      peerMss: th.mss,
      peerWscale: t.winscale ? th.windowScale : null,
      sackOk: t.sack && th.sackPermitted,
      tsRecent: t.timestamps && th.timestamp !== null ? th.timestamp.tsval : null,
      tsOffset: tcp.isn.tsOffset(laddr, lport, faddr, fport),
      requestScale,
      ourMss,
      win: Math.min(Math.max(0, so?.rcv.space() ?? hiwat), TCP_MAXWIN),
      rexmits: 0,
      due: now + t.rtoInitial,
      created: now,
    };
    const k = portsKey(lport, fport);
    let list = this.byPorts.get(k);
    if (list === undefined) {
      list = [];
      this.byPorts.set(k, list);
    }
    list.push(e);
    this.order.add(e);
    this.perListener.set(listener, this.countFor(listener) + 1);
    st.sc_added++;
    this.sendSynAck(e);
    this.arm(e.due);
    return e;
  }

  remove(e: SynEntry): void {
    if (!this.order.delete(e)) return;
    const k = portsKey(e.lport, e.fport);
    const list = this.byPorts.get(k);
    if (list !== undefined) {
      const i = list.indexOf(e);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.byPorts.delete(k);
    }
    const n = this.countFor(e.listener) - 1;
    if (n > 0) this.perListener.set(e.listener, n);
    else this.perListener.delete(e.listener);
  }

  /** The listening socket is closing: forget its half-open connections. */
  dropListener(listener: Tcb): void {
    if (this.countFor(listener) === 0) return;
    for (const e of [...this.order]) {
      if (e.listener === listener) {
        this.remove(e);
        this.tcp.stats.sc_dropped++;
      }
    }
  }

  clear(): void {
    this.byPorts.clear();
    this.order.clear();
    this.perListener.clear();
    this.callout?.stop();
    this.armedAt = Infinity;
  }

  /** (Re)send the SYN,ACK of an entry. */
  sendSynAck(e: SynEntry): void {
    const tcp = this.tcp;
    const repr = blankRepr(e.lport, e.fport, e.iss, seqAdd(e.irs, 1), TH_SYN | TH_ACK, e.win);
    repr.mss = e.ourMss;
    if (e.peerWscale !== null) repr.windowScale = e.requestScale;
    repr.sackPermitted = e.sackOk;
    if (e.tsRecent !== null) repr.timestamp = { tsval: (Math.floor(tcp.now()) + e.tsOffset) >>> 0, tsecr: e.tsRecent };
    tcp.stats.sndctrl++;
    const l = e.listener;
    const err = sendRaw(tcp, e.laddr, e.faddr, repr, null, 0, 0, l.ttl, l.tos);
    if (err !== null) tcp.stats.snderrors++;
  }

  private arm(at: number): void {
    if (this.tcp.halted || at >= this.armedAt) return;
    this.armedAt = at;
    this.callout ??= this.tcp.kernel.callouts.create();
    this.callout.reset(Math.max(0, at - this.tcp.now()), () => this.fire());
  }

  private fire(): void {
    this.armedAt = Infinity;
    const tcp = this.tcp;
    const now = tcp.now();
    let next = Infinity;
    for (const e of [...this.order]) {
      if (e.due <= now + 1e-6) {
        if (e.rexmits >= SYNCACHE_MAXREXMTS) {
          this.remove(e);
          tcp.stats.sc_timed_out++;
          continue;
        }
        e.rexmits++;
        tcp.stats.sc_retransmitted++;
        this.sendSynAck(e);
        e.due = now + Math.min(tcp.tunables.rtoInitial * 2 ** e.rexmits, tcp.tunables.rtoMax);
      }
      next = Math.min(next, e.due);
    }
    if (next !== Infinity) this.arm(next);
  }
}
