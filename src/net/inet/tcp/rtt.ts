/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298), with Karn's algorithm
 * (no samples from retransmitted segments unless timestamps tell them apart, RFC 7323) and
 * exponential backoff: the timer in use is rto * 2^rxtshift (the multiplier capped at 64),
 * bounded by [rtoMin, rtoMax].
 */

import { TCP_MAXBACKOFF, TCP_MAXRXTSHIFT, type TcpTunables } from './constants.js';

export class RttEstimator {
  /** Smoothed RTT (ms); 0 until the first sample. */
  srtt = 0;
  rttvar = 0;
  /** The base RTO (before backoff). */
  rto: number;
  /** Time the timed segment was sent (ms), or -1 when nothing is being timed. */
  rtttime = -1;
  /** Sequence number of the timed segment. */
  rtseq = 0;
  /** Consecutive retransmission timeouts (the backoff shift). */
  rxtshift = 0;
  /** Samples taken. */
  samples = 0;

  constructor(private readonly tun: TcpTunables) {
    this.rto = tun.rtoInitial;
  }

  /** Take an RTT measurement of `r` ms (RFC 6298 2.2/2.3). */
  sample(r: number): void {
    if (r < 0) r = 0;
    if (this.samples === 0 || this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.samples++;
    this.rto = this.clamp(this.srtt + Math.max(1, 4 * this.rttvar));
  }

  private clamp(v: number): number {
    return Math.min(Math.max(v, this.tun.rtoMin), this.tun.rtoMax);
  }

  /** The retransmission timer to arm now (with backoff). */
  current(): number {
    const mult = Math.min(2 ** this.rxtshift, TCP_MAXBACKOFF);
    return this.clamp(this.rto * mult);
  }

  /**
   * A retransmission timeout happened: back off. Returns false when the connection has
   * retransmitted too often and must be dropped. After several timeouts the smoothed estimate
   * is folded into the variance (RFC 6298 5.7, as NetBSD does), so a path whose RTT grew gets a
   * fresh estimate.
   */
  backoff(): boolean {
    this.rxtshift++;
    if (this.rxtshift > TCP_MAXRXTSHIFT) return false;
    if (this.rxtshift > TCP_MAXRXTSHIFT / 4 && this.srtt !== 0) {
      this.rttvar += this.srtt / 4;
      this.srtt = 0;
    }
    this.rtttime = -1;
    return true;
  }

  /** Start timing a segment unless one is already timed. */
  startTiming(now: number, seq: number): boolean {
    if (this.rtttime >= 0) return false;
    this.rtttime = now;
    this.rtseq = seq;
    return true;
  }
}
