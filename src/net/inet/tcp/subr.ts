/**
 * Connection life-cycle helpers (NetBSD's tcp_subr.c and tcp_usrclosed): reaching
 * ESTABLISHED, the user closing the sending side, TIME_WAIT, closing and dropping a
 * connection, and option negotiation on SYNs (options.ts covers the per-segment rules).
 */

import type { ErrnoName } from '../../../kern/errno.js';
import { SS_CANTRCVMORE, soisconnected, soisdisconnected } from '../../socket.js';
import { TH_ACK, TH_RST } from '../../wire/tcp.js';
import {
  TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK, TCPS_LISTEN,
  TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT, TF_FINPEND, haveRcvdSyn,
} from './constants.js';
import { emit } from './output.js';
import type { Tcb } from './tcb.js';
import { T_2MSL, T_DELACK, T_KEEP, T_PERSIST, T_REXMT, keepaliveReset } from './timers.js';

/** The connection is up (from SYN_SENT, SYN_RECEIVED, or a completed SYN cache entry). */
export function tcpEstablished(tp: Tcb): void {
  const tcp = tp.tcp;
  tcp.stats.connects++;
  tp.state = (tp.flags & TF_FINPEND) !== 0 ? TCPS_FIN_WAIT_1 : TCPS_ESTABLISHED;
  tp.cc.init(tp.segSize, tcp.tunables.initWindow);
  tp.recover = tp.snd_una;
  tp.timers.disarm(T_KEEP);
  keepaliveReset(tp);
  if (tp.so !== null) soisconnected(tp.so);
}

/**
 * tcp_close: the connection is gone. Leaves every table and stops the timers; the socket (if
 * any) becomes disconnected and keeps the closed control block until it is detached.
 */
export function tcpClose(tp: Tcb): void {
  const tcp = tp.tcp;
  const wasListening = tp.state === TCPS_LISTEN;
  tp.timers.stopAll();
  tcp.pcbs.remove(tp);
  if (wasListening) tcp.syncache.dropListener(tp);
  if (tp.state !== TCPS_CLOSED) tcp.stats.closed++;
  tp.state = TCPS_CLOSED;
  tp.reass.clear();
  tp.scoreboard.clear();
  tp.sendq.clear();
  tp.inRecovery = false;
  const so = tp.so;
  if (so !== null) {
    tp.dead = true;
    soisdisconnected(so);
  } else {
    tcp.tcbs.delete(tp);
  }
}

/**
 * tcp_drop: abort the connection with `errno` for the socket (a RST goes to the peer if it
 * knows us). ETIMEDOUT gives way to a more telling soft error (EHOSTUNREACH from ICMP).
 */
export function tcpDrop(tp: Tcb, errno: ErrnoName | null): void {
  const tcp = tp.tcp;
  if (haveRcvdSyn(tp.state)) {
    if (tp.state !== TCPS_TIME_WAIT) emit(tp, tp.snd_max, 0, TH_RST | TH_ACK);
    tcp.stats.drops++;
  } else if (tp.state === TCPS_SYN_SENT) {
    tcp.stats.conndrops++;
  }
  if (errno === 'ETIMEDOUT' && tp.softerror !== null) errno = tp.softerror;
  if (tp.so !== null && errno !== null) tp.so.error = errno;
  tcpClose(tp);
}

/** Enter TIME_WAIT: 2 MSL of answering retransmitted FINs before the 4-tuple is free. */
export function enterTimeWait(tp: Tcb): void {
  tp.state = TCPS_TIME_WAIT;
  tp.timers.disarm(T_REXMT);
  tp.timers.disarm(T_PERSIST);
  tp.timers.disarm(T_KEEP);
  tp.timers.disarm(T_DELACK);
  tp.timers.arm(T_2MSL, 2 * tp.tcp.tunables.msl);
  tp.sendq.clear();
  tp.reass.clear();
  if (tp.so !== null) soisdisconnected(tp.so);
}

/** FIN_WAIT_2 reached: the socket (if closed) is disconnected; an orphan waits a bounded time. */
export function enterFinWait2(tp: Tcb): void {
  tp.state = TCPS_FIN_WAIT_2;
  const so = tp.so;
  if (so === null || (so.state & SS_CANTRCVMORE) !== 0) {
    if (so !== null) soisdisconnected(so);
    tp.timers.arm(T_2MSL, tp.tcp.tunables.finWait2Timeout);
  }
}

/**
 * tcp_usrclosed: the user will send no more. Before the handshake completes the connection is
 * simply closed; after it a FIN is queued behind the data (FIN_WAIT_1 / LAST_ACK).
 */
export function tcpUsrClosed(tp: Tcb): void {
  switch (tp.state) {
    case TCPS_CLOSED:
    case TCPS_LISTEN:
    case TCPS_SYN_SENT:
      tcpClose(tp);
      return;
    case TCPS_SYN_RECEIVED:
      // the FIN follows once the handshake completes
      tp.flags |= TF_FINPEND;
      return;
    case TCPS_ESTABLISHED:
      tp.flags |= TF_FINPEND;
      tp.state = TCPS_FIN_WAIT_1;
      return;
    case TCPS_CLOSE_WAIT:
      tp.flags |= TF_FINPEND;
      tp.state = TCPS_LAST_ACK;
      return;
    case TCPS_FIN_WAIT_2:
      enterFinWait2(tp);
      return;
    default:
      return;
  }
}

/** A RST that arrives for `tp` in a synchronized state. */
export function tcpReset(tp: Tcb): void {
  const tcp = tp.tcp;
  tcp.stats.rcvrst++;
  switch (tp.state) {
    case TCPS_SYN_RECEIVED:
      tcpDropNoRst(tp, 'ECONNREFUSED');
      return;
    case TCPS_ESTABLISHED:
    case TCPS_FIN_WAIT_1:
    case TCPS_FIN_WAIT_2:
    case TCPS_CLOSE_WAIT:
      tcp.stats.drops++;
      tcpDropNoRst(tp, 'ECONNRESET');
      return;
    default:
      tcpClose(tp);
  }
}

function tcpDropNoRst(tp: Tcb, errno: ErrnoName): void {
  if (tp.so !== null) tp.so.error = errno;
  tcpClose(tp);
}
