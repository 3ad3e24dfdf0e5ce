/**
 * TCP option negotiation: MSS (RFC 9293, RFC 6691), window scaling and timestamps with PAWS
 * (RFC 7323), SACK-permitted (RFC 2018).
 *
 * A connection asks for what the tunables allow in its SYN (TF_REQ_*); an option is in use
 * only when the peer's SYN carried it too (TF_RCVD_*). Window scaling applies to both
 * directions or neither; the shift we offer is the smallest that lets the largest receive
 * buffer a socket may have (kern.sbmax) be advertised. The effective MSS is the smallest of the peer's option (536 without one), ours
 * (route MTU - 40), the user's TCP_MAXSEG and a learned path MTU.
 */

import { seqLt } from '../../wire/seq.js';
import type { TcpRepr } from '../../wire/tcp.js';
import { TCP_MAX_WINSHIFT } from '../../wire/tcp.js';
import {
  TCP_DEFAULT_MSS, TCP_MAXWIN, TCP_PAWS_IDLE, TF_RCVD_SACK, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE,
  TF_REQ_TSTMP, TCPIP_HDR_LEN,
} from './constants.js';
import { mssForRoute } from './output.js';
import type { Tcb } from './tcb.js';

/** The smallest MSS a peer may make us use. */
const PEER_MIN_MSS = 64;

/** The window shift needed to advertise a buffer of `space` bytes. */
export function requestScale(space: number): number {
  let s = 0;
  while (s < TCP_MAX_WINSHIFT && (TCP_MAXWIN << s) < space) s++;
  return s;
}

/** Set what our SYN asks for (an active open, or the SYN,ACK of a passive one). */
export function requestOptions(tp: Tcb): void {
  const t = tp.tcp.tunables;
  if (t.winscale) {
    tp.flags |= TF_REQ_SCALE;
    // as NetBSD: room for the largest buffer a socket may get (kern.sbmax)
    tp.request_r_scale = requestScale(Math.max(tp.so?.rcv.hiwat ?? 0, tp.tcp.kernel.net?.sbmax ?? t.recvspace));
  }
  if (t.timestamps) tp.flags |= TF_REQ_TSTMP;
  if (t.sack) tp.flags |= TF_REQ_SACK;
  tp.ourMss = mssForRoute(tp.tcp, tp.faddr, tp.pmtu);
  if (tp.umaxseg > 0) tp.ourMss = Math.min(tp.ourMss, tp.umaxseg);
}

/** The effective MSS for a peer's MSS option (null: none sent). */
export function effectiveMss(tp: Tcb, peerMss: number | null): number {
  let mss = peerMss === null ? TCP_DEFAULT_MSS : Math.max(peerMss, PEER_MIN_MSS);
  mss = Math.min(mss, tp.ourMss);
  if (tp.umaxseg > 0) mss = Math.min(mss, tp.umaxseg);
  if (tp.pmtu > 0) mss = Math.min(mss, tp.pmtu - TCPIP_HDR_LEN);
  return Math.max(mss, PEER_MIN_MSS);
}

/** Apply the options of the peer's SYN (or SYN,ACK) to `tp`. */
export function applySynOptions(tp: Tcb, th: TcpRepr, now: number): void {
  if (th.windowScale !== null && (tp.flags & TF_REQ_SCALE) !== 0) {
    tp.flags |= TF_RCVD_SCALE;
    tp.snd_scale = Math.min(th.windowScale, TCP_MAX_WINSHIFT);
    tp.rcv_scale = tp.request_r_scale;
  } else {
    tp.snd_scale = 0;
    tp.rcv_scale = 0;
  }
  if (th.timestamp !== null && (tp.flags & TF_REQ_TSTMP) !== 0) {
    tp.flags |= TF_RCVD_TSTMP;
    tp.ts_recent = th.timestamp.tsval;
    tp.ts_recent_age = now;
  }
  if (th.sackPermitted && (tp.flags & TF_REQ_SACK) !== 0) tp.flags |= TF_RCVD_SACK;
  tp.t_maxseg = effectiveMss(tp, th.mss);
}

/**
 * PAWS (RFC 7323 5.3): is this segment's timestamp older than ts_recent? A ts_recent not
 * refreshed for 24 days is no longer trusted (and is refreshed from the segment).
 */
export function pawsReject(tp: Tcb, tsval: number, now: number): boolean {
  if (!seqLt(tsval, tp.ts_recent)) return false;
  if (now - tp.ts_recent_age > TCP_PAWS_IDLE) {
    tp.ts_recent = tsval;
    tp.ts_recent_age = now;
    return false;
  }
  return true;
}
