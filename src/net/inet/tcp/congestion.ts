/**
 * Congestion control and loss recovery.
 *
 * `NewReno` is the window arithmetic (RFC 5681): slow start with appropriate byte counting
 * (RFC 3465, L = 2 SMSS), congestion avoidance of one SMSS per window, the initial window of
 * RFC 6928 and the restart window after idle. The `cc*` functions run loss recovery on a
 * connection, called from ACK processing and the retransmission timer:
 *
 *  - without SACK, NewReno fast retransmit / fast recovery (RFC 5681 3.2, RFC 6582): the third
 *    duplicate ACK retransmits snd_una, the window inflates per further duplicate, each partial
 *    ACK retransmits the next hole and deflates, the full ACK (past `recover`) ends it;
 *  - with SACK, RFC 6675 recovery: entered on DupThresh duplicates or when the scoreboard
 *    deems snd_una lost, cwnd = ssthresh, and the pipe-limited NextSeg loop in output.ts
 *    retransmits the holes;
 *  - limited transmit (RFC 3042) on the first two duplicates;
 *  - a timeout collapses the window to one segment; with SACK the scoreboard survives the
 *    first two timeouts (recovery continues from it), else everything is resent go-back-N.
 *
 * Without SACK, `recover` guards against a second reduction for the same loss (RFC 6582 step 2).
 */

import { seqGeq, seqGt } from '../../wire/seq.js';
import { TCP_DUPTHRESH } from './constants.js';
import { retransmitSegment, tcpOutput } from './output.js';
import type { Tcb } from './tcb.js';

const CWND_MAX = 0x3fffffff;

/** The congestion window algorithm's interface (NewReno here; a CUBIC would plug in the same). */
export interface CongestionControl {
  readonly name: string;
  cwnd: number;
  ssthresh: number;
  /** The connection is established: the initial window. */
  init(mss: number, iwSegs: number): void;
  /** `acked` new bytes were acknowledged outside loss recovery. */
  onAck(acked: number, mss: number): void;
  /** Loss detected by duplicate ACKs or SACK (`flight`: bytes outstanding). */
  onFastLoss(flight: number, mss: number): void;
  /** A retransmission timeout. */
  onTimeout(flight: number, mss: number): void;
  /** Sending resumes after an idle period longer than the RTO. */
  onIdle(mss: number, iwSegs: number): void;
}

export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd = 0;
  ssthresh = CWND_MAX;
  /** Bytes acknowledged towards the next congestion-avoidance increment. */
  private acc = 0;

  static initialWindow(mss: number, iwSegs: number): number {
    return Math.min(iwSegs * mss, Math.max(2 * mss, 14600));
  }

  init(mss: number, iwSegs: number): void {
    this.cwnd = NewReno.initialWindow(mss, iwSegs);
    this.acc = 0;
  }

  onAck(acked: number, mss: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * mss);
    } else {
      this.acc += acked;
      if (this.acc >= this.cwnd) {
        this.acc -= this.cwnd;
        this.cwnd += mss;
      }
    }
    if (this.cwnd > CWND_MAX) this.cwnd = CWND_MAX;
  }

  onFastLoss(flight: number, mss: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.acc = 0;
  }

  onTimeout(flight: number, mss: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * mss);
    this.cwnd = mss;
    this.acc = 0;
  }

  onIdle(mss: number, iwSegs: number): void {
    this.cwnd = Math.min(this.cwnd, NewReno.initialWindow(mss, iwSegs));
  }
}

export function newReno(): NewReno {
  return new NewReno();
}

/** A duplicate ACK arrived (acks nothing new, no data, same window, data outstanding). */
export function ccDupAck(tp: Tcb): void {
  const tcp = tp.tcp;
  const mss = tp.segSize;
  tp.dupacks++;
  if (tp.inRecovery) {
    if (!tp.useSack && !tp.rtoRecovery) tp.cc.cwnd += mss;
    tcpOutput(tp);
    return;
  }
  const lostBySack = tp.useSack && tp.scoreboard.isLost(tp.snd_una, mss);
  // RFC 6582 step 2: without SACK, duplicates for data sent before the last recovery (or
  // timeout) began may be artefacts of it; SACK tells real losses apart (RFC 6675)
  if ((tp.dupacks >= TCP_DUPTHRESH || lostBySack) && (tp.useSack || seqGt(tp.snd_una, tp.recover))) {
    tcp.stats.sndrexmitfast++;
    tp.cc.onFastLoss(tp.flight, mss);
    tp.inRecovery = true;
    tp.rtoRecovery = false;
    tp.recover = tp.snd_max;
    tp.rtt.rtttime = -1;
    if (tp.useSack) {
      tcp.stats.sackrecovery++;
      tp.cc.cwnd = tp.cc.ssthresh;
      tp.highRxt = tp.snd_una;
      tp.forceRxt = tp.snd_una;
      tcpOutput(tp);
    } else {
      tcp.stats.fastrecovery++;
      retransmitSegment(tp, tp.snd_una);
      tp.cc.cwnd = tp.cc.ssthresh + tp.dupacks * mss;
      tcpOutput(tp);
    }
    return;
  }
  if (tp.dupacks < TCP_DUPTHRESH) {
    // limited transmit: each of the first two duplicates may let one new segment out
    const old = tp.cc.cwnd;
    tp.cc.cwnd = old + tp.dupacks * mss;
    tcpOutput(tp);
    tp.cc.cwnd = old;
  }
}

/** New data was acknowledged (snd_una already advanced by `acked` bytes). */
export function ccNewAck(tp: Tcb, acked: number): void {
  const mss = tp.segSize;
  tp.dupacks = 0;
  if (!tp.inRecovery) {
    tp.cc.onAck(acked, mss);
    return;
  }
  if (seqGeq(tp.snd_una, tp.recover)) {
    // full acknowledgment: recovery ends
    if (!tp.rtoRecovery) {
      tp.cc.cwnd = tp.useSack ? tp.cc.ssthresh : Math.min(tp.cc.ssthresh, Math.max(tp.flight, mss) + mss);
    }
    tp.inRecovery = false;
    tp.rtoRecovery = false;
    tp.forceRxt = null;
    return;
  }
  tp.tcp.stats.partialacks++;
  if (tp.rtoRecovery) {
    tp.cc.onAck(acked, mss);
  } else if (!tp.useSack) {
    retransmitSegment(tp, tp.snd_una);
    tp.cc.cwnd = Math.max(tp.cc.cwnd - acked + (acked >= mss ? mss : 0), mss);
  } else if (tp.scoreboard.empty) {
    tp.forceRxt = tp.snd_una;
  }
}

/** The retransmission timer expired (the backoff is already counted). */
export function ccTimeout(tp: Tcb): void {
  tp.cc.onTimeout(tp.flight, tp.segSize);
  tp.dupacks = 0;
  tp.recover = tp.snd_max;
  tp.forceRxt = null;
  if (tp.useSack && !tp.scoreboard.empty && tp.rtt.rxtshift <= 2) {
    tp.inRecovery = true;
    tp.rtoRecovery = true;
    tp.highRxt = tp.snd_una;
    tp.forceRxt = tp.snd_una;
  } else {
    tp.scoreboard.clear();
    tp.inRecovery = false;
    tp.rtoRecovery = false;
    tp.snd_nxt = tp.snd_una;
  }
}
