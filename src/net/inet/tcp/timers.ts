/**
 * TCP timers (NetBSD's tcp_timer.c): retransmission, persist (zero-window probes), keepalive
 * (which also bounds connection establishment), 2MSL (TIME_WAIT, and FIN_WAIT_2 of an orphan)
 * and the delayed ACK.
 *
 * Each connection keeps a deadline per timer and ONE kernel callout armed at the earliest.
 * Moving a deadline later (the common case: every ACK pushes the retransmission timer) only
 * writes a number; the callout is re-armed when a deadline moves earlier than the armed time,
 * and when it fires it runs what is due and re-arms for the next. Time is the kernel's
 * monotonic clock (manual in tests), never the host's timers directly.
 */

import { Clock } from '../../../rumpuser/rumpuser.js';
import type { Callout } from '../../../kern/callout.js';
import { seqSub } from '../../wire/seq.js';
import {
  TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_2, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT, TCP_MAXBACKOFF,
  TF_ACKNOW, TF_DELACK, TF_FORCE,
} from './constants.js';
import { SO_KEEPALIVE } from '../../../kern/types.js';
import { ccTimeout } from './congestion.js';
import { sendKeepalive, tcpOutput } from './output.js';
import { tcpClose, tcpDrop } from './subr.js';
import type { Tcb } from './tcb.js';

export const T_REXMT = 0;
export const T_PERSIST = 1;
export const T_KEEP = 2;
export const T_2MSL = 3;
export const T_DELACK = 4;
const NTIMERS = 5;
export const TIMER_NAMES = ['rexmt', 'persist', 'keep', '2msl', 'delack'] as const;

/** Slack for float rounding between a deadline and the clock reading when it fires. */
const EPSILON = 1e-6;

export class TcbTimers {
  /** Deadlines (ms on the monotonic clock); Infinity = disarmed. */
  readonly due = new Float64Array(NTIMERS).fill(Infinity);
  private armedAt = Infinity;
  private callout: Callout | null = null;

  constructor(private readonly tp: Tcb) {}

  private now(): number {
    return this.tp.tcp.kernel.host.clockMs(Clock.MONOTONIC);
  }

  arm(t: number, ms: number): void {
    const d = this.now() + ms;
    this.due[t] = d;
    if (d < this.armedAt) this.schedule(d);
  }

  disarm(t: number): void {
    this.due[t] = Infinity;
  }

  armed(t: number): boolean {
    return this.due[t] !== Infinity;
  }

  /** Milliseconds until timer t fires (Infinity if disarmed). */
  remaining(t: number): number {
    return this.due[t]! - this.now();
  }

  stopAll(): void {
    this.due.fill(Infinity);
    this.armedAt = Infinity;
    this.callout?.stop();
  }

  private schedule(at: number): void {
    if (this.tp.tcp.halted) return;
    this.armedAt = at;
    this.callout ??= this.tp.tcp.kernel.callouts.create();
    this.callout.reset(Math.max(0, at - this.now()), () => this.fire());
  }

  private fire(): void {
    this.armedAt = Infinity;
    const tp = this.tp;
    for (let t = 0; t < NTIMERS; t++) {
      if (this.due[t]! <= this.now() + EPSILON) {
        this.due[t] = Infinity;
        runTimer(tp, t);
        if (tp.tcp.halted) return;
      }
    }
    let next = Infinity;
    for (let t = 0; t < NTIMERS; t++) next = Math.min(next, this.due[t]!);
    if (next !== Infinity && next < this.armedAt) this.schedule(next);
  }
}

function runTimer(tp: Tcb, t: number): void {
  switch (t) {
    case T_REXMT: rexmtTimeout(tp); break;
    case T_PERSIST: persistTimeout(tp); break;
    case T_KEEP: keepTimeout(tp); break;
    case T_2MSL: twoMslTimeout(tp); break;
    case T_DELACK: delackTimeout(tp); break;
    default: break;
  }
}

/** Arm the retransmission timer with the current (backed-off) RTO. */
export function armRexmt(tp: Tcb): void {
  tp.timers.arm(T_REXMT, tp.rtt.current());
}

/** tcp_setpersist: arm the persist timer, backing off between persMin and persMax. */
export function setPersist(tp: Tcb): void {
  const tun = tp.tcp.tunables;
  const base = tp.rtt.srtt === 0 ? tun.rtoInitial : tp.rtt.srtt + 4 * tp.rtt.rttvar;
  const mult = Math.min(2 ** tp.persistShift, TCP_MAXBACKOFF);
  const v = Math.min(Math.max(base * mult, tun.persMin), tun.persMax);
  tp.timers.arm(T_PERSIST, v);
  if (tp.persistShift < 16) tp.persistShift++;
}

function rexmtTimeout(tp: Tcb): void {
  const tcp = tp.tcp;
  const st = tp.state;
  if (tp.snd_una === tp.snd_max && st !== TCPS_SYN_SENT && st !== TCPS_SYN_RECEIVED) return;
  tcp.stats.rexmttimeo++;
  if (!tp.rtt.backoff()) {
    tcp.stats.timeoutdrop++;
    tcpDrop(tp, tp.softerror ?? 'ETIMEDOUT');
    return;
  }
  armRexmt(tp);
  if (st === TCPS_SYN_SENT || (st === TCPS_SYN_RECEIVED && seqSub(tp.snd_una, tp.iss) <= 0)) {
    tp.snd_nxt = tp.iss;
    tcpOutput(tp);
    return;
  }
  ccTimeout(tp);
  tcpOutput(tp);
}

function persistTimeout(tp: Tcb): void {
  const tcp = tp.tcp;
  tcp.stats.persisttimeo++;
  setPersist(tp);
  // probe with the first unacknowledged byte (again, if an earlier probe was not taken)
  if (tp.snd_wnd === 0) tp.snd_nxt = tp.snd_una;
  tp.flags |= TF_FORCE;
  try {
    tcpOutput(tp);
  } finally {
    tp.flags &= ~TF_FORCE;
  }
}

function keepTimeout(tp: Tcb): void {
  const tcp = tp.tcp;
  tcp.stats.keeptimeo++;
  if (tp.state < TCPS_ESTABLISHED) {
    // connection establishment took too long
    tcp.stats.conndrops++;
    tcpDrop(tp, tp.softerror ?? 'ETIMEDOUT');
    return;
  }
  const so = tp.so;
  if (so !== null && (so.options & SO_KEEPALIVE) !== 0 && tp.state <= TCPS_CLOSE_WAIT) {
    const idle = tcp.now() - tp.rcvtime;
    if (idle >= tp.keepIdle + tp.keepCnt * tp.keepIntvl - EPSILON) {
      tcp.stats.keepdrops++;
      tcpDrop(tp, 'ETIMEDOUT');
      return;
    }
    tcp.stats.keepprobe++;
    tp.keepProbes++;
    sendKeepalive(tp);
    tp.timers.arm(T_KEEP, tp.keepIntvl);
  } else {
    tp.timers.arm(T_KEEP, tp.keepIdle);
  }
}

function twoMslTimeout(tp: Tcb): void {
  if (tp.state === TCPS_TIME_WAIT || (tp.state === TCPS_FIN_WAIT_2 && tp.so === null)) {
    tcpClose(tp);
    return;
  }
  if (tp.state === TCPS_FIN_WAIT_2) tp.timers.arm(T_2MSL, tp.tcp.tunables.finWait2Timeout);
}

function delackTimeout(tp: Tcb): void {
  if ((tp.flags & TF_DELACK) === 0) return;
  tp.tcp.stats.delack++;
  tp.flags = (tp.flags & ~TF_DELACK) | TF_ACKNOW;
  tcpOutput(tp);
}

/** Connection (re)established or a segment arrived: restart the keepalive idle timer. */
export function keepaliveReset(tp: Tcb): void {
  if (tp.state >= TCPS_ESTABLISHED) tp.timers.arm(T_KEEP, tp.keepIdle);
  tp.keepProbes = 0;
}
