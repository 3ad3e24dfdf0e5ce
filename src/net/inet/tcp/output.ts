/**
 * What TCP sends (NetBSD's tcp_output.c and tcp_respond).
 *
 * `tcpOutput` decides, from the connection's state, whether a segment should go out now and
 * sends as many as it may: data within min(peer window, cwnd), subject to Nagle (a partial
 * segment waits while data is unacknowledged, unless TCP_NODELAY) and sender-side silly window
 * avoidance; window updates when the reader opened the window by two segments or half the
 * buffer; ACKs asked for (TF_ACKNOW); the FIN after the last byte once the user shut the
 * sending side; the SYN or SYN,ACK while connecting. With nothing to send but data queued into
 * a closed window it starts the persist timer. During SACK loss recovery it runs RFC 6675's
 * pipe-limited NextSeg loop instead.
 *
 * `emit` builds one segment (options: MSS, window scale, SACK-permitted on SYNs; timestamps
 * and SACK blocks when negotiated), fills the checksum over the pseudo-header, hands it to IP
 * and does the sequence bookkeeping (snd_max, RTT timing, the retransmission timer, rcv_adv).
 * Payload bytes are chained from the send queue without copying.
 *
 * `tcpRespond` sends a bare segment for which there is no connection (RST to a closed port,
 * ACK/RST for a SYN cache entry).
 */

import { KernelError } from '../../../kern/errno.js';
import { Mbuf } from '../../mbuf.js';
import { finish, pseudoSumV4 } from '../../wire/checksum.js';
import { seqAdd, seqGeq, seqGt, seqLt, seqMax, seqSub } from '../../wire/seq.js';
import { TcpRepr, TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../../wire/tcp.js';
import { IPPROTO_TCP, type IpOutputOptions } from '../transport.js';
import {
  TCPS_CLOSED, TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCP_MAXWIN, TF_ACKNOW, TF_DELACK, TF_FINPEND, TF_FORCE,
  TF_NODELAY, TF_RCVD_PUSH, TF_RCVD_SACK, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SENTFIN,
  TCPIP_HDR_LEN, TCP_MIN_MSS, haveRcvdFin,
} from './constants.js';
import type { TcpProtocol } from './proto.js';
import { sackBlocksToSend } from './sack.js';
import type { SendQueue } from './sendq.js';
import type { Tcb } from './tcb.js';
import { T_DELACK, T_PERSIST, T_REXMT, armRexmt, setPersist } from './timers.js';

/** A TcpRepr with nothing set. */
export function blankRepr(sport: number, dport: number, seq: number, ack: number, flags: number, window: number): TcpRepr {
  return {
    srcPort: sport, dstPort: dport, seq, ack, flags, window, urgent: 0, mss: null, windowScale: null, sackPermitted: false,
    sackBlocks: null, timestamp: null, unknownOptions: null,
  };
}

/**
 * Build a segment from `repr` and `len` bytes of `q` at `off`, checksum it and hand it to IP.
 * Returns IP's error, or null.
 */
export function sendRaw(
  tcp: TcpProtocol, laddr: number, faddr: number, repr: TcpRepr, q: SendQueue | null, off: number, len: number, ttl: number, tos: number,
): KernelError | null {
  const hlen = TcpRepr.bufferLen(repr);
  const m = Mbuf.alloc(hlen);
  const hdr = m.makeWritable(hlen)!;
  TcpRepr.emit(repr, hdr);
  if (q !== null && len > 0) q.appendTo(m, off, len);
  const total = m.length;
  const c = finish(m.sum(0, total, pseudoSumV4(laddr, faddr, IPPROTO_TCP, total)));
  hdr[16] = c >>> 8;
  hdr[17] = c & 0xff;
  tcp.stats.sndtotal++;
  const opts: IpOutputOptions = { df: true, ttl, tos };
  try {
    return tcp.env.output(m, laddr, faddr, IPPROTO_TCP, opts);
  } catch (e) {
    if (e instanceof KernelError) return e;
    throw e;
  }
}

/** The timestamp clock (ms) with the connection's offset, as TSval carries it. */
export function tsNow(tp: Tcb): number {
  return (Math.floor(tp.tcp.now()) + tp.tsOffset) >>> 0;
}

/**
 * The receive window to advertise (bytes, before scaling): the receive buffer's room, zero
 * below a quarter buffer and one segment (receiver silly window avoidance), never less than
 * what was already promised (the window does not shrink).
 */
export function rcvWindow(tp: Tcb): number {
  const so = tp.so;
  let win = 0;
  if (so !== null) {
    win = Math.max(0, so.rcv.space());
    if (win < so.rcv.hiwat / 4 && win < tp.t_maxseg) win = 0;
  }
  win = Math.min(win, tp.maxWindow());
  const promised = seqSub(tp.rcv_adv, tp.rcv_nxt);
  if (win < promised) win = promised;
  return win;
}

/** The MSS for a connection to `faddr` from the route's (or the learned path's) MTU. */
export function mssForRoute(tcp: TcpProtocol, faddr: number, pmtu = 0): number {
  const mtu = pmtu > 0 ? pmtu : tcp.env.routeMtu(faddr);
  if (mtu === null) return tcp.tunables.mssdflt;
  return Math.max(mtu - TCPIP_HDR_LEN, TCP_MIN_MSS);
}

/** React to an error IP reported for a segment we sent. */
function outputError(tp: Tcb, err: KernelError): void {
  const tcp = tp.tcp;
  tcp.stats.snderrors++;
  switch (err.code) {
    case 'ENOBUFS':
      // a local queue is full: behave as after a source quench
      tp.cc.cwnd = tp.segSize;
      break;
    case 'EMSGSIZE': {
      const mtu = tcp.env.routeMtu(tp.faddr);
      if (mtu !== null) {
        tp.pmtu = mtu;
        tp.t_maxseg = Math.min(tp.t_maxseg, Math.max(mtu - TCPIP_HDR_LEN, TCP_MIN_MSS));
      }
      break;
    }
    default:
      tp.softerror = err.code;
  }
}

export interface EmitOpts {
  /** A window probe forced into a zero window: do not touch the retransmission timer. */
  probe?: boolean;
  /** Counted as a window update. */
  winup?: boolean;
}

/**
 * Send one segment of the connection: `len` data bytes at `seq` (from the send queue) with
 * `thflags`. Returns the sequence space the segment occupies (data + SYN + FIN); data may be
 * cut when SACK blocks need the room.
 */
export function emit(tp: Tcb, seq: number, len: number, thflags: number, o: EmitOpts = {}): number {
  const tcp = tp.tcp;
  if (tcp.halted) return 0;
  const syn = (thflags & TH_SYN) !== 0;
  const repr = blankRepr(tp.lport, tp.fport, seq, 0, thflags, 0);
  let optlen = 0;
  if (syn) {
    const synack = (thflags & TH_ACK) !== 0;
    repr.mss = tp.ourMss;
    if ((tp.flags & TF_REQ_SCALE) !== 0 && (!synack || (tp.flags & TF_RCVD_SCALE) !== 0)) repr.windowScale = tp.request_r_scale;
    if ((tp.flags & TF_REQ_SACK) !== 0 && (!synack || (tp.flags & TF_RCVD_SACK) !== 0)) repr.sackPermitted = true;
    if ((tp.flags & TF_REQ_TSTMP) !== 0 && (!synack || (tp.flags & TF_RCVD_TSTMP) !== 0)) {
      repr.timestamp = { tsval: tsNow(tp), tsecr: synack ? tp.ts_recent : 0 };
    }
  } else {
    if (tp.useTs) {
      repr.timestamp = { tsval: tsNow(tp), tsecr: tp.ts_recent };
      optlen += 12;
    }
    if (tp.useSack && !tp.reass.empty && (thflags & TH_RST) === 0) {
      const blocks = sackBlocksToSend(tp.reass, tp.sackRecent, tp.useTs ? 3 : 4);
      if (blocks.length > 0) {
        repr.sackBlocks = blocks;
        optlen += 4 + 8 * blocks.length;
        tcp.stats.sackblockssent += blocks.length;
      }
    }
    // data plus options stay within the MSS
    if (len > 0 && len + optlen > tp.t_maxseg) {
      len = Math.max(1, tp.t_maxseg - optlen);
      thflags &= ~(TH_FIN | TH_PUSH);
      repr.flags = thflags;
    }
  }
  const fin = (thflags & TH_FIN) !== 0;
  const ack = (thflags & TH_ACK) !== 0;
  let field = 0;
  if ((thflags & TH_RST) === 0) {
    if (syn) {
      field = Math.min(tp.so === null ? 0 : Math.max(0, tp.so.rcv.space()), TCP_MAXWIN);
    } else {
      field = Math.min(rcvWindow(tp) >>> tp.rcv_scale, TCP_MAXWIN);
    }
  }
  repr.window = field;
  if (ack) repr.ack = tp.rcv_nxt;
  const off = seqSub(seq, tp.snd_una);
  const err = sendRaw(tcp, tp.laddr, tp.faddr, repr, tp.sendq, off, len, tp.ttl, tp.tos);

  // bookkeeping
  const now = tcp.now();
  const space = len + (syn ? 1 : 0) + (fin ? 1 : 0);
  const rexmit = seqLt(seq, tp.snd_max) && space > 0;
  if (len > 0) {
    if (rexmit) {
      tcp.stats.sndrexmitpack++;
      tcp.stats.sndrexmitbyte += len;
      tp.rexmitPkts++;
      tp.rexmitBytes += len;
    } else {
      tcp.stats.sndpack++;
      tcp.stats.sndbyte += len;
    }
  } else if (syn || fin || (thflags & TH_RST) !== 0) {
    tcp.stats.sndctrl++;
    if ((thflags & TH_RST) !== 0) tcp.stats.sndrst++;
  } else if (o.probe === true) {
    tcp.stats.sndprobe++;
  } else if (o.winup === true) {
    tcp.stats.sndwinup++;
  } else {
    tcp.stats.sndacks++;
  }
  if (o.probe === true && len > 0) tcp.stats.sndprobe++;
  if (space > 0) {
    if (rexmit) tp.rtt.rtttime = -1;
    const end = seqAdd(seq, space);
    if (fin) tp.flags |= TF_SENTFIN;
    if (seqGt(end, tp.snd_max)) {
      if (!tp.useTs && !rexmit && tp.rtt.startTiming(now, seq)) tcp.stats.segstimed++;
      tp.snd_max = end;
    }
    if (o.probe !== true) {
      if (!tp.timers.armed(T_REXMT) && tp.snd_max !== tp.snd_una) {
        armRexmt(tp);
        if (tp.timers.armed(T_PERSIST)) {
          tp.timers.disarm(T_PERSIST);
          tp.persistShift = 0;
        }
      }
    }
    tp.sndtime = now;
  }
  if (ack) {
    const adv = seqAdd(tp.rcv_nxt, syn ? field : field << tp.rcv_scale);
    if (seqGt(adv, tp.rcv_adv)) tp.rcv_adv = adv;
    tp.last_ack_sent = tp.rcv_nxt;
    tp.flags &= ~(TF_ACKNOW | TF_DELACK | TF_RCVD_PUSH);
    tp.timers.disarm(T_DELACK);
  }
  if (err !== null) outputError(tp, err);
  return space;
}

/**
 * Retransmit from `seq` (at most one segment, at most `maxLen` bytes), with the FIN if the
 * segment reaches a FIN already sent. Returns the sequence space sent.
 */
export function retransmitSegment(tp: Tcb, seq: number, maxLen = tp.segSize): number {
  const dataEnd = seqAdd(tp.snd_una, tp.sendq.length);
  let len = Math.min(maxLen, tp.segSize, seqSub(dataEnd, seq));
  if (len < 0) len = 0;
  const fin = (tp.flags & TF_SENTFIN) !== 0 && seqAdd(seq, len) === dataEnd && seqLt(dataEnd, tp.snd_max);
  if (len === 0 && !fin) return 0;
  let flags = TH_ACK;
  if (fin) flags |= TH_FIN;
  if (len > 0 && seqAdd(seq, len) === dataEnd) flags |= TH_PUSH;
  return emit(tp, seq, len, flags);
}

/** A keepalive probe: an old sequence number the peer must answer with an ACK. */
export function sendKeepalive(tp: Tcb): void {
  emit(tp, seqAdd(tp.snd_una, -1), 0, TH_ACK);
}

/** New data (or the FIN) at snd_max during recovery; false when nothing may be sent. */
function sendNew(tp: Tcb): boolean {
  const qlen = tp.sendq.length;
  const dataEnd = seqAdd(tp.snd_una, qlen);
  const off = seqSub(tp.snd_max, tp.snd_una);
  let len = Math.min(qlen, tp.snd_wnd) - off;
  if (len > tp.segSize) len = tp.segSize;
  if (len < 0) len = 0;
  const fin = (tp.flags & TF_FINPEND) !== 0 && (tp.flags & TF_SENTFIN) === 0 && seqAdd(tp.snd_max, len) === dataEnd;
  if (len === 0 && !fin) return false;
  let flags = TH_ACK;
  if (fin) flags |= TH_FIN;
  if (len > 0 && seqAdd(tp.snd_max, len) === dataEnd) flags |= TH_PUSH;
  const n = emit(tp, tp.snd_max, len, flags);
  tp.snd_nxt = tp.snd_max;
  return n > 0;
}

/** RFC 6675 NextSeg and send it; false when there is nothing to send. */
function nextSeg(tp: Tcb): boolean {
  const sb = tp.scoreboard;
  const mss = tp.segSize;
  const tcp = tp.tcp;
  const rxmit = (left: number, right: number): boolean => {
    const n = retransmitSegment(tp, left, seqSub(right, left));
    if (n === 0) return false;
    tcp.stats.sackrexmitpack++;
    tcp.stats.sackrexmitbyte += n;
    tp.highRxt = seqMax(tp.highRxt, seqAdd(left, n));
    return true;
  };
  if (tp.forceRxt !== null) {
    const from = tp.forceRxt;
    tp.forceRxt = null;
    if (seqGeq(from, tp.snd_una) && seqLt(from, tp.snd_max)) {
      const h = sb.nextHole(from, tp.snd_max);
      if (h !== null && rxmit(h.left, h.right)) return true;
    }
  }
  const limit = tp.rtoRecovery ? tp.recover : (sb.highest() ?? tp.snd_una);
  const h = sb.nextHole(seqMax(tp.highRxt, tp.snd_una), limit);
  if (h !== null && (tp.rtoRecovery || sb.isLost(h.left, mss)) && rxmit(h.left, h.right)) return true;
  if (sendNew(tp)) return true;
  if (h !== null && rxmit(h.left, h.right)) return true;
  return false;
}

/** SACK loss recovery: send while the pipe is below cwnd. */
function recoveryOutput(tp: Tcb): void {
  const mss = tp.segSize;
  for (let guard = 0; guard < 4096; guard++) {
    const pipe = tp.scoreboard.pipe(tp.snd_una, tp.snd_max, tp.highRxt, mss, tp.rtoRecovery, tp.recover);
    if (tp.cc.cwnd - pipe < mss) break;
    if (!nextSeg(tp)) break;
    if (tp.tcp.halted || tp.state === TCPS_CLOSED) return;
  }
  if ((tp.flags & TF_ACKNOW) !== 0) emit(tp, tp.snd_max, 0, TH_ACK);
}

/** tcp_output: send what the connection's state calls for. */
export function tcpOutput(tp: Tcb): void {
  const tcp = tp.tcp;
  if (tcp.halted) return;
  const st = tp.state;
  if (st === TCPS_CLOSED || st === TCPS_LISTEN) return;
  if (st === TCPS_SYN_SENT || (st === TCPS_SYN_RECEIVED && tp.snd_una === tp.iss)) {
    if (tp.snd_nxt === tp.iss) {
      emit(tp, tp.iss, 0, st === TCPS_SYN_SENT ? TH_SYN : TH_SYN | TH_ACK);
      tp.snd_nxt = seqAdd(tp.iss, 1);
    } else if (st === TCPS_SYN_RECEIVED && (tp.flags & TF_ACKNOW) !== 0) {
      emit(tp, tp.snd_nxt, 0, TH_ACK);
    }
    return;
  }
  if (tp.inRecovery && tp.useSack) {
    recoveryOutput(tp);
    return;
  }
  const now = tcp.now();
  if (tp.snd_max === tp.snd_una && tp.sndtime > 0 && now - tp.sndtime >= tp.rtt.current()) {
    tp.cc.onIdle(tp.segSize, tcp.tunables.initWindow);
  }
  for (let guard = 0; guard < 100_000; guard++) {
    const mss = tp.segSize;
    const qlen = tp.sendq.length;
    const off = seqSub(tp.snd_nxt, tp.snd_una);
    const force = (tp.flags & TF_FORCE) !== 0;
    let win = Math.min(tp.snd_wnd, tp.cc.cwnd);
    if (!force && tp.snd_wnd > 0 && tp.timers.armed(T_PERSIST)) {
      // the window opened while probing (only a probe byte can be outstanding): resend from
      // the first unacknowledged byte, which the peer may have refused
      tp.timers.disarm(T_PERSIST);
      tp.persistShift = 0;
      tp.snd_nxt = tp.snd_una;
      continue;
    }
    if (force) {
      if (win === 0) {
        win = 1;
      } else {
        tp.timers.disarm(T_PERSIST);
        tp.persistShift = 0;
      }
    }
    let len = Math.min(qlen, win) - off;
    if (len < 0) {
      len = 0;
      if (win === 0) {
        // the window closed under data sent into it: pull back and probe
        tp.timers.disarm(T_REXMT);
        tp.rtt.rxtshift = 0;
        tp.snd_nxt = tp.snd_una;
        if (!tp.timers.armed(T_PERSIST)) setPersist(tp);
      }
    }
    if (len > mss) len = mss;
    const dataEnd = seqAdd(tp.snd_una, qlen);
    let fin = (tp.flags & TF_FINPEND) !== 0 && seqAdd(tp.snd_nxt, len) === dataEnd;
    if (fin && force && tp.snd_wnd === 0 && off < qlen) fin = false;

    let send = false;
    let winup = false;
    if (len > 0) {
      const idle = tp.snd_max === tp.snd_una;
      if (len === mss) send = true;
      else if ((idle || (tp.flags & TF_NODELAY) !== 0) && off + len >= qlen) send = true;
      else if (force) send = true;
      else if (tp.max_sndwnd > 0 && len >= tp.max_sndwnd / 2) send = true;
      else if (seqLt(tp.snd_nxt, tp.snd_max)) send = true;
    }
    if (!send && tp.so !== null && !haveRcvdFin(tp.state)) {
      const adv = rcvWindow(tp) - seqSub(tp.rcv_adv, tp.rcv_nxt);
      if (adv >= 2 * tp.t_maxseg || 2 * adv >= tp.so.rcv.hiwat) {
        send = true;
        winup = true;
      }
    }
    if ((tp.flags & TF_ACKNOW) !== 0) send = true;
    if (fin) send = true;
    if (!send) {
      if (qlen > 0 && !tp.timers.armed(T_REXMT) && !tp.timers.armed(T_PERSIST)) {
        tp.rtt.rxtshift = 0;
        tp.persistShift = 0;
        setPersist(tp);
      }
      return;
    }
    const seq = len > 0 || fin || tp.timers.armed(T_PERSIST) ? tp.snd_nxt : tp.snd_max;
    let flags = TH_ACK;
    if (fin) flags |= TH_FIN;
    if (len > 0 && off + len >= qlen) flags |= TH_PUSH;
    const n = emit(tp, seq, len, flags, { probe: force && tp.snd_wnd === 0, winup: winup && len === 0 });
    if (n > 0) tp.snd_nxt = seqAdd(seq, n);
    if (force || len < mss || n === 0) return;
    if (tcp.halted || tp.state === TCPS_CLOSED) return;
  }
}

/**
 * tcp_respond without a connection: a bare segment (RST, or ACK) from laddr:lport to
 * faddr:fport. RSTs are rate limited (net.inet.tcp.rstppslimit).
 */
export function tcpRespond(tcp: TcpProtocol, laddr: number, lport: number, faddr: number, fport: number, seq: number, ack: number, flags: number): void {
  if (tcp.halted) return;
  if ((flags & TH_RST) !== 0) {
    if (!tcp.rstLimiter.allow(tcp.now())) {
      tcp.stats.rstratelimited++;
      return;
    }
    tcp.stats.sndrst++;
  }
  tcp.stats.sndctrl++;
  const repr = blankRepr(lport, fport, seq >>> 0, ack >>> 0, flags, 0);
  const err = sendRaw(tcp, laddr, faddr, repr, null, 0, 0, 64, 0);
  if (err !== null) tcp.stats.snderrors++;
}
