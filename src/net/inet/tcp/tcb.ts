/**
 * The TCP control block (NetBSD's struct tcpcb + its inpcb): the state of one connection, or
 * of a listening or merely bound socket. The sequence variables follow RFC 9293's names
 * (snd_una, snd_nxt, ...; snd_max is the highest sequence number sent, as in BSD).
 *
 * Ownership: a Tcb is created by the socket's attach and is in the connection table (pcb.ts)
 * from bind/connect until it reaches CLOSED. `so` is null once the socket is gone (closed by
 * the user while the connection still drains, or never had one): such an orphan finishes its
 * FIN exchange and TIME_WAIT alone. Everything here is synchronous; the timers (timers.ts) and
 * segment input drive it.
 */

import type { ErrnoName } from '../../../kern/errno.js';
import type { Socket } from '../../socket.js';
import { seqSub } from '../../wire/seq.js';
import {
  TCPS_CLOSED, TCP_DEFAULT_MSS, TCP_MAXWIN, TCP_STATE_NAMES, TCPOLEN_TSTAMP_APPA, TF_RCVD_TSTMP, TF_REQ_TSTMP,
  TF_RCVD_SACK, TF_REQ_SACK, type TcpStateName,
} from './constants.js';
import { newReno, type NewReno } from './congestion.js';
import { ReassQueue, type SeqBlock } from './reass.js';
import { RttEstimator } from './rtt.js';
import { Scoreboard } from './sack.js';
import { SendQueue } from './sendq.js';
import type { TcpProtocol } from './proto.js';
import { TcbTimers } from './timers.js';

export class Tcb {
  state = TCPS_CLOSED;
  /** TF_* */
  flags = 0;
  /** Socket, or null for an orphaned connection. */
  so: Socket | null;

  // addresses (host-order numbers as the wire codecs use them); 0 = unbound / any
  laddr = 0;
  lport = 0;
  faddr = 0;
  fport = 0;
  /** In the port table (pcb.ts). */
  bound = false;
  /** In the connection table (has a foreign address). */
  connected = false;
  /** In the listener table. */
  listening = false;
  /** Closed while a socket still held it: no reuse (connect/listen fail with EINVAL). */
  dead = false;

  // send sequence space
  iss = 0;
  snd_una = 0;
  snd_nxt = 0;
  snd_max = 0;
  /** Peer's window, scaled (bytes). */
  snd_wnd = 0;
  snd_wl1 = 0;
  snd_wl2 = 0;
  /** Largest window the peer ever offered. */
  max_sndwnd = 0;

  // receive sequence space
  irs = 0;
  rcv_nxt = 0;
  /** Highest sequence number advertised (rcv_nxt + window at the last send). */
  rcv_adv = 0;
  /** Sequence number acknowledged in the last segment sent. */
  last_ack_sent = 0;

  // options
  /** The MSS we advertised. */
  ourMss = TCP_DEFAULT_MSS;
  /** min(peer MSS, our MSS, TCP_MAXSEG): data bytes per segment before options. */
  t_maxseg = TCP_DEFAULT_MSS;
  /** TCP_MAXSEG set by the user (0: none). */
  umaxseg = 0;
  /** Path MTU learned from ICMP (0: the route's). */
  pmtu = 0;
  snd_scale = 0;
  rcv_scale = 0;
  /** The shift we offer in our SYN. */
  request_r_scale = 0;
  ts_recent = 0;
  /** When ts_recent was recorded (ms). */
  ts_recent_age = 0;
  /** Added to our clock for TSval (RFC 7323 recommends a per-connection offset). */
  tsOffset = 0;

  // buffers
  readonly sendq = new SendQueue();
  readonly reass: ReassQueue;
  /** SACK blocks reported last (receiver). */
  readonly sackRecent: SeqBlock[] = [];
  /** SACKed ranges from the peer (sender). */
  readonly scoreboard = new Scoreboard();

  // timing, congestion, loss recovery
  readonly rtt: RttEstimator;
  readonly cc: NewReno;
  readonly timers: TcbTimers;
  /** Consecutive duplicate ACKs. */
  dupacks = 0;
  /** In loss recovery (fast recovery or after a timeout with SACK) until snd_una passes `recover`. */
  inRecovery = false;
  /** The recovery was started by a timeout: everything unSACKed below `recover` is lost. */
  rtoRecovery = false;
  recover = 0;
  /** Highest sequence number retransmitted in this recovery (RFC 6675 HighRxt). */
  highRxt = 0;
  /** Retransmit from here next, whatever the scoreboard says (SACK recovery entry). */
  forceRxt: number | null = null;
  /** Persist timer backoff shift. */
  persistShift = 0;
  /** Last time a segment arrived (ms). */
  rcvtime = 0;
  /** Last time data was sent (ms), for the restart window after idle. */
  sndtime = 0;
  /** Keepalive probes sent without an answer. */
  keepProbes = 0;

  // per-connection tunables (inherited from the kernel's and the listener)
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  keepInit: number;
  ttl = 64;
  tos = 0;

  /** An error seen that is not (yet) fatal: ICMP unreachable, an IP send error. */
  softerror: ErrnoName | null = null;
  /** Retransmitted segments / bytes (TCP_INFO). */
  rexmitPkts = 0;
  rexmitBytes = 0;

  constructor(readonly tcp: TcpProtocol, so: Socket | null) {
    this.so = so;
    const t = tcp.tunables;
    this.reass = new ReassQueue(t.reassMaxSegs);
    this.rtt = new RttEstimator(t);
    this.cc = newReno();
    this.timers = new TcbTimers(this);
    this.keepIdle = t.keepIdle;
    this.keepIntvl = t.keepIntvl;
    this.keepCnt = t.keepCnt;
    this.keepInit = t.keepInit;
  }

  get stateName(): TcpStateName { return TCP_STATE_NAMES[this.state]!; }

  /** Timestamps are in use on this connection. */
  get useTs(): boolean { return (this.flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP); }

  /** SACK is in use on this connection. */
  get useSack(): boolean { return (this.flags & (TF_REQ_SACK | TF_RCVD_SACK)) === (TF_REQ_SACK | TF_RCVD_SACK); }

  /** Data bytes per full-sized segment (MSS less the timestamp option). */
  get segSize(): number {
    return Math.max(1, this.t_maxseg - (this.useTs ? TCPOLEN_TSTAMP_APPA : 0));
  }

  /** Bytes sent and not acknowledged (FIN and SYN included). */
  get flight(): number { return seqSub(this.snd_max, this.snd_una); }

  /** Queue bytes for sending; the socket's send buffer mirrors them for accounting. */
  append(data: Uint8Array): boolean {
    if (this.so !== null && !this.so.snd.appendStream(data)) return false;
    this.sendq.append(data);
    return true;
  }

  /** Drop acknowledged bytes from the queue (and the socket's mirror). */
  dropAcked(n: number): void {
    if (n <= 0) return;
    this.sendq.drop(n);
    const so = this.so;
    if (so !== null) {
      const m = Math.min(n, so.snd.data);
      if (m > 0) so.snd.dropData(m);
      so.snd.dropIfEmpty();
    }
  }

  /** Receive space: room in the socket's receive buffer (0 without a socket). */
  rcvSpace(): number {
    const so = this.so;
    if (so === null) return 0;
    return Math.max(0, so.rcv.space());
  }

  /** The largest window we can advertise with our scale. */
  maxWindow(): number {
    return TCP_MAXWIN << this.rcv_scale;
  }

  /** A short description for messages. */
  toString(): string {
    const a = (x: number): string => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
    return `tcp ${a(this.laddr)}:${this.lport} -> ${a(this.faddr)}:${this.fport} ${this.stateName}`;
  }
}
