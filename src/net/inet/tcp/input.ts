/**
 * Segment arrival (NetBSD's tcp_input.c), synchronous from ip_input's upcall: validation
 * (length, data offset, checksum, options), demultiplexing (connection by 4-tuple, then SYN
 * cache entry, then listener, else a RST), and the RFC 9293 3.10.7 state machine:
 *
 *  - SYN_SENT: ACK acceptability, RST -> ECONNREFUSED, SYN,ACK -> ESTABLISHED, a bare SYN ->
 *    SYN_RECEIVED (simultaneous open);
 *  - synchronized states: PAWS (RFC 7323), RST validation with challenge ACKs (RFC 5961),
 *    trimming to the receive window (duplicates, window probes, data after the window),
 *    SYN -> challenge ACK, ACK processing (new data acknowledged, duplicate ACKs and loss
 *    recovery, RTT samples, our FIN acknowledged and the closing states), window updates,
 *    in-order data to the socket with delayed ACKs, out-of-order data to the reassembly queue
 *    (with SACK blocks in the immediate ACK), the FIN and the closing transitions, TIME_WAIT.
 *
 * Every segment dropped is counted under its reason (stats.ts).
 */

import { Mbuf, M_CSUM_TCP_UDP_BAD, M_CSUM_TCPv4 } from '../../mbuf.js';
import { SS_CANTRCVMORE, socantrcvmore, sonewconn, sorwakeup, sowwakeup } from '../../socket.js';
import { fold16, pseudoSumV4 } from '../../wire/checksum.js';
import { WireError } from '../../wire/error.js';
import { seqAdd, seqGt, seqInRange, seqLeq, seqLt, seqSub } from '../../wire/seq.js';
import { TcpRepr, TcpSegment, TCP_HDR_LEN, TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from '../../wire/tcp.js';
import type { IpInputInfo } from '../transport.js';
import {
  TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_CLOSING, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK,
  TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT, TF_ACKNOW, TF_DELACK, TF_FINPEND, TF_NODELAY, TF_RCVD_PUSH, TF_RCVD_SACK,
  TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SENTFIN, haveEstablished, haveRcvdFin,
} from './constants.js';
import { ccDupAck, ccNewAck } from './congestion.js';
import { applySynOptions, effectiveMss, pawsReject } from './options.js';
import { tcpOutput, tcpRespond, tsNow } from './output.js';
import type { TcpProtocol } from './proto.js';
import { enterFinWait2, enterTimeWait, tcpClose, tcpEstablished, tcpReset } from './subr.js';
import type { SynEntry } from './syncache.js';
import { Tcb } from './tcb.js';
import { T_DELACK, T_2MSL, T_REXMT, armRexmt, keepaliveReset } from './timers.js';

/** A validated inbound segment. */
interface Seg {
  th: TcpRepr;
  data: Uint8Array;
  src: number;
  dst: number;
}

const FLAG_MASK = TH_FIN | TH_SYN | TH_RST | TH_PUSH | TH_ACK | 0x20;

/** ip_input's upcall: `m` starts at the TCP header; we own it. */
export function tcpInput(tcp: TcpProtocol, m: Mbuf, info: IpInputInfo): void {
  const st = tcp.stats;
  st.rcvtotal++;
  if (tcp.halted) return;
  if (info.broadcast || info.multicast || tcp.env.isBroadcast(info.dst) || tcp.env.isBroadcast(info.src) || info.src === 0
    || (info.src >>> 28) === 0xe) {
    st.rcvbcast++;
    return;
  }
  const len = m.length;
  if (len < TCP_HDR_LEN) {
    st.rcvshort++;
    return;
  }
  const first = m.pullup(TCP_HDR_LEN)!;
  const off = (first[12]! >>> 4) * 4;
  if (off < TCP_HDR_LEN || off > len) {
    st.rcvbadoff++;
    return;
  }
  if ((m.csumFlags & M_CSUM_TCP_UDP_BAD) !== 0) {
    st.rcvbadsum++;
    return;
  }
  if ((m.csumFlags & M_CSUM_TCPv4) === 0 && fold16(m.sum(0, len, pseudoSumV4(info.src, info.dst, 6, len))) !== 0xffff) {
    st.rcvbadsum++;
    return;
  }
  const hdr = m.pullup(off)!;
  const th = TcpRepr.parse(TcpSegment.unchecked(hdr), info.src, info.dst, { checksum: false });
  if (th instanceof WireError) {
    st.rcvbadopt++;
    return;
  }
  if (th.srcPort === 0 || th.dstPort === 0) {
    st.rcvbadoff++;
    return;
  }
  m.adj(off);
  const data = m.length === 0 ? new Uint8Array(0) : m.segmentCount === 1 ? m.segment(0) : m.toBytes();
  segmentArrived(tcp, { th, data, src: info.src, dst: info.dst });
}

/** Demultiplex a validated segment. */
function segmentArrived(tcp: TcpProtocol, s: Seg): void {
  const th = s.th;
  const tp = tcp.pcbs.lookup(s.dst, th.dstPort, s.src, th.srcPort);
  if (tp !== null) {
    connInput(tp, s);
    return;
  }
  const e = tcp.syncache.lookup(s.dst, th.dstPort, s.src, th.srcPort);
  if (e !== null) {
    syncacheInput(tcp, e, s);
    return;
  }
  const l = tcp.pcbs.lookupListener(s.dst, th.dstPort);
  if (l !== null) {
    listenInput(tcp, l, s);
    return;
  }
  tcp.stats.noport++;
  dropWithReset(tcp, s);
}

/** Answer a segment nobody wants with a RST (never a RST for a RST). */
function dropWithReset(tcp: TcpProtocol, s: Seg): void {
  const th = s.th;
  if ((th.flags & TH_RST) !== 0) return;
  if ((th.flags & TH_ACK) !== 0) {
    tcpRespond(tcp, s.dst, th.dstPort, s.src, th.srcPort, th.ack, 0, TH_RST);
  } else {
    const seglen = s.data.byteLength + ((th.flags & TH_SYN) !== 0 ? 1 : 0) + ((th.flags & TH_FIN) !== 0 ? 1 : 0);
    tcpRespond(tcp, s.dst, th.dstPort, s.src, th.srcPort, 0, seqAdd(th.seq, seglen), TH_RST | TH_ACK);
  }
}

// ---------------------------------------------------------------------------------------------
// listening sockets and the SYN cache

function listenInput(tcp: TcpProtocol, l: Tcb, s: Seg): void {
  const th = s.th;
  const flags = th.flags;
  if ((flags & TH_RST) !== 0) return;
  if ((flags & TH_ACK) !== 0) {
    // an ACK for no half-open connection
    tcp.stats.badack++;
    dropWithReset(tcp, s);
    return;
  }
  if ((flags & TH_SYN) === 0) return;
  const so = l.so;
  if (so === null) return;
  if (s.src === s.dst && th.srcPort === th.dstPort) return; // a land attack
  const limit = Math.floor((3 * so.qlimit) / 2);
  if (so.q.size + so.q0.size + tcp.syncache.countFor(l) > limit) {
    tcp.stats.listendrop++;
    so.net.stats.listenQueueOverflows++;
    return;
  }
  tcp.syncache.add(l, s.dst, th.dstPort, s.src, th.srcPort, th);
}

function syncacheInput(tcp: TcpProtocol, e: SynEntry, s: Seg): void {
  const th = s.th;
  const flags = th.flags;
  const st = tcp.stats;
  if ((flags & TH_RST) !== 0) {
    if (seqInRange(th.seq, seqAdd(e.irs, 1), seqAdd(e.irs, 1 + Math.max(e.win, 1)))) {
      tcp.syncache.remove(e);
      st.sc_reset++;
    } else {
      st.rcvbadrst++;
    }
    return;
  }
  if ((flags & TH_SYN) !== 0 && (flags & TH_ACK) === 0) {
    if (th.seq === e.irs) {
      st.sc_dupesyn++;
      tcp.syncache.sendSynAck(e);
      return;
    }
    // a new incarnation from the peer: start over
    tcp.syncache.remove(e);
    const l = tcp.pcbs.lookupListener(s.dst, th.dstPort);
    if (l !== null) listenInput(tcp, l, s);
    return;
  }
  if ((flags & TH_ACK) === 0) return;
  if (th.ack !== seqAdd(e.iss, 1) || (flags & TH_SYN) !== 0) {
    st.badack++;
    dropWithReset(tcp, s);
    return;
  }
  if (!seqInRange(th.seq, seqAdd(e.irs, 1), seqAdd(e.irs, 2 + e.win))) {
    tcpRespond(tcp, s.dst, th.dstPort, s.src, th.srcPort, seqAdd(e.iss, 1), seqAdd(e.irs, 1), TH_ACK);
    return;
  }
  // the handshake is complete: make the socket
  const head = e.listener.so;
  if (head === null) {
    tcp.syncache.remove(e);
    return;
  }
  const so = sonewconn(head, false);
  if (so === null) {
    // the listen queue is full: let the peer retransmit (the entry stays)
    st.listendrop++;
    return;
  }
  tcp.syncache.remove(e);
  st.sc_completed++;
  st.accepts++;
  const tp = so.pcb as Tcb;
  const l = e.listener;
  tp.laddr = e.laddr;
  tp.lport = e.lport;
  tp.faddr = e.faddr;
  tp.fport = e.fport;
  tcp.pcbs.bind(tp);
  tcp.pcbs.connect(tp);
  // inherit the listener's per-connection settings
  tp.flags |= l.flags & TF_NODELAY;
  tp.keepIdle = l.keepIdle;
  tp.keepIntvl = l.keepIntvl;
  tp.keepCnt = l.keepCnt;
  tp.keepInit = l.keepInit;
  tp.umaxseg = l.umaxseg;
  tp.ttl = l.ttl;
  tp.tos = l.tos;
  // negotiated options
  tp.ourMss = e.ourMss;
  if (e.peerWscale !== null) {
    tp.flags |= TF_REQ_SCALE | TF_RCVD_SCALE;
    tp.request_r_scale = e.requestScale;
    tp.rcv_scale = e.requestScale;
    tp.snd_scale = Math.min(e.peerWscale, 14);
  }
  if (e.tsRecent !== null) {
    tp.flags |= TF_REQ_TSTMP | TF_RCVD_TSTMP;
    tp.ts_recent = th.timestamp?.tsval ?? e.tsRecent;
    tp.ts_recent_age = tcp.now();
    tp.tsOffset = e.tsOffset;
  }
  if (e.sackOk) tp.flags |= TF_REQ_SACK | TF_RCVD_SACK;
  tp.t_maxseg = effectiveMss(tp, e.peerMss);
  // sequence space
  tp.iss = e.iss;
  tp.irs = e.irs;
  tp.snd_una = tp.snd_nxt = tp.snd_max = seqAdd(e.iss, 1);
  tp.rcv_nxt = seqAdd(e.irs, 1);
  tp.rcv_adv = seqAdd(tp.rcv_nxt, e.win);
  tp.last_ack_sent = tp.rcv_nxt;
  tp.snd_wnd = th.window << tp.snd_scale;
  tp.max_sndwnd = tp.snd_wnd;
  tp.snd_wl1 = seqAdd(th.seq, -1);
  tp.snd_wl2 = th.ack;
  if (tp.useTs && th.timestamp !== null && th.timestamp.tsecr !== 0) {
    tp.rtt.sample(seqSub(tsNow(tp), th.timestamp.tsecr));
    st.rttupdated++;
  }
  tp.rcvtime = tcp.now();
  tcpEstablished(tp);
  // the rest of the segment (data, FIN) as for any established connection
  connInput(tp, s);
}

// ---------------------------------------------------------------------------------------------
// connections

function syncSentInput(tp: Tcb, s: Seg): void {
  const tcp = tp.tcp;
  const th = s.th;
  const flags = th.flags;
  if ((flags & TH_ACK) !== 0 && (seqLeq(th.ack, tp.iss) || seqGt(th.ack, tp.snd_max))) {
    tcp.stats.badack++;
    if ((flags & TH_RST) === 0) tcpRespond(tcp, tp.laddr, tp.lport, tp.faddr, tp.fport, th.ack, 0, TH_RST);
    return;
  }
  if ((flags & TH_RST) !== 0) {
    if ((flags & TH_ACK) !== 0) {
      tcp.stats.rcvrst++;
      tcp.stats.conndrops++;
      if (tp.so !== null) tp.so.error = 'ECONNREFUSED';
      tcpClose(tp);
    }
    return;
  }
  if ((flags & TH_SYN) === 0) return;
  const now = tcp.now();
  applySynOptions(tp, th, now);
  tp.irs = th.seq;
  tp.rcv_nxt = seqAdd(th.seq, 1);
  tp.rcv_adv = tp.rcv_nxt;
  tp.last_ack_sent = tp.rcv_nxt;
  tp.rcvtime = now;
  if ((flags & TH_ACK) !== 0) {
    tp.snd_una = th.ack;
    if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
    tp.timers.disarm(T_REXMT);
    if (tp.useTs && th.timestamp !== null && th.timestamp.tsecr !== 0) {
      tp.rtt.sample(seqSub(tsNow(tp), th.timestamp.tsecr));
      tcp.stats.rttupdated++;
    } else if (tp.rtt.rtttime >= 0 && seqGt(th.ack, tp.rtt.rtseq)) {
      tp.rtt.sample(now - tp.rtt.rtttime);
      tp.rtt.rtttime = -1;
      tcp.stats.rttupdated++;
    }
    tp.rtt.rxtshift = 0;
    tp.snd_wnd = th.window; // a SYN's window is never scaled
    tp.max_sndwnd = tp.snd_wnd;
    tp.snd_wl1 = th.seq;
    tp.snd_wl2 = th.ack;
    tcpEstablished(tp);
    tp.flags |= TF_ACKNOW;
    // data or FIN that came with the SYN,ACK
    const rest: Seg = { th: { ...th, seq: seqAdd(th.seq, 1), flags: flags & ~TH_SYN }, data: s.data, src: s.src, dst: s.dst };
    if (rest.data.byteLength > 0 || (flags & TH_FIN) !== 0) {
      connInput(tp, rest);
    } else {
      tcpOutput(tp);
    }
    return;
  }
  // simultaneous open: answer with SYN,ACK from our ISS
  tp.state = TCPS_SYN_RECEIVED;
  tp.snd_wnd = th.window;
  tp.max_sndwnd = tp.snd_wnd;
  tp.snd_wl1 = seqAdd(th.seq, -1);
  tp.snd_nxt = tp.iss;
  tcpOutput(tp);
}

/** The state machine for a segment of an existing connection (any state but LISTEN). */
function connInput(tp: Tcb, s: Seg): void {
  const tcp = tp.tcp;
  const st = tcp.stats;
  const th = s.th;
  let flags = th.flags & FLAG_MASK;
  if (tp.state === TCPS_CLOSED) {
    dropWithReset(tcp, s);
    return;
  }
  if (tp.state === TCPS_SYN_SENT) {
    syncSentInput(tp, s);
    return;
  }
  const now = tcp.now();
  const startState = tp.state;
  let seq = th.seq;
  let data = s.data;
  let tlen = data.byteLength;

  // a SYN for a connection in TIME_WAIT starts a new incarnation when it is newer
  if (tp.state === TCPS_TIME_WAIT && (flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN
    && (seqGt(seq, tp.rcv_nxt) || (tp.useTs && th.timestamp !== null && seqGt(th.timestamp.tsval, tp.ts_recent)))) {
    st.twreuse++;
    tcpClose(tp);
    segmentArrived(tcp, s);
    return;
  }

  tp.rcvtime = now;
  if (haveEstablished(tp.state)) keepaliveReset(tp);

  // PAWS
  if (tp.useTs && th.timestamp !== null && (flags & TH_RST) === 0 && pawsReject(tp, th.timestamp.tsval, now)) {
    st.pawsdrop++;
    st.rcvduppack++;
    st.rcvdupbyte += tlen;
    dropAfterAck(tp);
    return;
  }

  const so = tp.so;
  const space = so !== null ? Math.max(0, so.rcv.space()) : 0;
  const rcvWnd = Math.max(space, seqSub(tp.rcv_adv, tp.rcv_nxt));

  // RST (RFC 5961 3.2): exact match resets, in-window gets a challenge ACK
  if ((flags & TH_RST) !== 0) {
    if (seq === tp.rcv_nxt) {
      tcpReset(tp);
    } else if (seqInRange(seq, tp.rcv_nxt, seqAdd(tp.rcv_nxt, Math.max(rcvWnd, 1)))) {
      st.rcvbadrst++;
      challengeAck(tp);
    } else {
      st.rcvbadrst++;
    }
    return;
  }

  // trim what we already have
  let todrop = seqSub(tp.rcv_nxt, seq);
  if (todrop > 0) {
    if ((flags & TH_SYN) !== 0) {
      flags &= ~TH_SYN;
      seq = seqAdd(seq, 1);
      todrop--;
    }
    if (todrop > tlen || (todrop === tlen && (flags & TH_FIN) === 0)) {
      // wholly duplicate: make sure the peer learns where we are
      flags &= ~TH_FIN;
      tp.flags |= TF_ACKNOW;
      st.rcvduppack++;
      st.rcvdupbyte += tlen;
      todrop = tlen;
    } else {
      st.rcvpartduppack++;
      st.rcvpartdupbyte += todrop;
    }
    data = data.subarray(todrop);
    seq = seqAdd(seq, todrop);
    tlen -= todrop;
  }

  // data for a socket that is gone: the peer must learn it was lost
  if (so === null && tp.state > TCPS_CLOSE_WAIT && tlen > 0) {
    st.rcvafterclose++;
    tcpClose(tp);
    dropWithReset(tcp, s);
    return;
  }

  // trim what is beyond the window
  todrop = seqSub(seqAdd(seq, tlen), seqAdd(tp.rcv_nxt, rcvWnd));
  if (todrop > 0) {
    st.rcvpackafterwin++;
    if (todrop >= tlen) {
      st.rcvbyteafterwin += tlen;
      if (rcvWnd === 0 && seq === tp.rcv_nxt) {
        // a window probe
        tp.flags |= TF_ACKNOW;
        st.rcvwinprobe++;
      } else {
        dropAfterAck(tp);
        return;
      }
    } else {
      st.rcvbyteafterwin += todrop;
    }
    const keep = Math.max(0, tlen - todrop);
    data = data.subarray(0, keep);
    tlen = keep;
    flags &= ~(TH_PUSH | TH_FIN);
  }

  // remember the peer's timestamp for echoing (RFC 7323 4.3)
  if (tp.useTs && th.timestamp !== null && seqLeq(seq, tp.last_ack_sent)) {
    tp.ts_recent = th.timestamp.tsval;
    tp.ts_recent_age = now;
  }

  // a SYN in a synchronized state (RFC 5961 4)
  if ((flags & TH_SYN) !== 0) {
    st.rcvbadsyn++;
    challengeAck(tp);
    return;
  }

  if ((flags & TH_ACK) === 0) {
    if ((tp.flags & TF_ACKNOW) !== 0) tcpOutput(tp);
    return;
  }

  // ---- ACK processing
  const ack = th.ack;
  if (tp.state === TCPS_SYN_RECEIVED) {
    if (seqGt(ack, tp.snd_una) && seqLeq(ack, tp.snd_max)) {
      tp.snd_una = seqAdd(tp.iss, 1);
      tp.timers.disarm(T_REXMT);
      tp.rtt.rxtshift = 0;
      tp.snd_wl1 = seqAdd(seq, -1);
      tcpEstablished(tp);
    } else {
      st.badack++;
      tcpRespond(tcp, tp.laddr, tp.lport, tp.faddr, tp.fport, ack, 0, TH_RST);
      return;
    }
  }
  const tiwin = th.window << tp.snd_scale;
  let needOutput = false;
  if (seqGt(ack, tp.snd_max)) {
    st.rcvacktoomuch++;
    dropAfterAck(tp);
    return;
  }
  if (th.sackBlocks !== null && tp.useSack) {
    st.sackblocksrcvd += th.sackBlocks.length;
    tp.scoreboard.update(th.sackBlocks, tp.snd_una, tp.snd_max);
  }
  if (seqLeq(ack, tp.snd_una)) {
    // a duplicate ACK: nothing new acknowledged, no data, data outstanding, and the same window
    // (RFC 5681) -- or, with SACK, any window, since a reader draining its buffer changes the
    // window of the duplicates it sends (as FreeBSD counts them)
    if (ack === tp.snd_una && tlen === 0 && (flags & TH_FIN) === 0 && tp.snd_max !== tp.snd_una
      && (tiwin === tp.snd_wnd || tp.useSack)) {
      st.rcvdupack++;
      if (tiwin !== tp.snd_wnd) updateWindow(tp, seq, ack, tiwin, tlen);
      if (!tp.timers.armed(T_REXMT)) {
        tp.dupacks = 0;
      } else {
        ccDupAck(tp);
        if (tp.state === TCPS_CLOSED) return;
      }
      if ((tp.flags & TF_ACKNOW) !== 0) tcpOutput(tp);
      return;
    }
    if (ack === tp.snd_una) tp.dupacks = 0;
  } else {
    // new data acknowledged
    let acked = seqSub(ack, tp.snd_una);
    st.rcvackpack++;
    st.rcvackbyte += acked;
    if (tp.useTs && th.timestamp !== null && th.timestamp.tsecr !== 0) {
      tp.rtt.sample(seqSub(tsNow(tp), th.timestamp.tsecr));
      st.rttupdated++;
    } else if (tp.rtt.rtttime >= 0 && seqGt(ack, tp.rtt.rtseq)) {
      tp.rtt.sample(now - tp.rtt.rtttime);
      tp.rtt.rtttime = -1;
      st.rttupdated++;
    }
    tp.rtt.rxtshift = 0;
    let ourFinAcked = false;
    if ((tp.flags & TF_SENTFIN) !== 0 && acked > tp.sendq.length) {
      ourFinAcked = true;
      acked = tp.sendq.length;
    }
    tp.dropAcked(acked);
    tp.snd_una = ack;
    if (seqLt(tp.snd_nxt, tp.snd_una)) tp.snd_nxt = tp.snd_una;
    tp.scoreboard.advance(ack);
    if (tp.snd_una === tp.snd_max) tp.timers.disarm(T_REXMT);
    else armRexmt(tp);
    ccNewAck(tp, acked);
    if (so !== null) sowwakeup(so);
    needOutput = true;
    if (ourFinAcked) {
      tp.flags &= ~TF_FINPEND;
      switch (tp.state) {
        case TCPS_FIN_WAIT_1:
          enterFinWait2(tp);
          break;
        case TCPS_CLOSING:
          enterTimeWait(tp);
          break;
        case TCPS_LAST_ACK:
          tcpClose(tp);
          return;
        default:
          break;
      }
    }
  }
  if (startState === TCPS_TIME_WAIT) {
    // only a retransmitted FIN can arrive here: acknowledge it again
    tp.timers.arm(T_2MSL, 2 * tcp.tunables.msl);
    dropAfterAck(tp);
    return;
  }

  // ---- window update (RFC 9293 3.10.7.4 fifth, "If SND.UNA =< SEG.ACK =< SND.NXT")
  if (updateWindow(tp, seq, ack, tiwin, tlen)) needOutput = true;

  // ---- data and FIN
  let finReached = false;
  if ((tlen > 0 || (flags & TH_FIN) !== 0) && !haveRcvdFin(tp.state)) {
    const fin = (flags & TH_FIN) !== 0;
    if (seq === tp.rcv_nxt && tp.reass.empty) {
      if (tlen > 0) {
        if (!deliver(tp, data)) {
          st.rcvmemdrop++;
          return;
        }
        tp.rcv_nxt = seqAdd(tp.rcv_nxt, tlen);
        st.rcvpack++;
        st.rcvbyte += tlen;
        if ((tp.flags & TF_DELACK) !== 0) {
          tp.flags |= TF_ACKNOW;
        } else {
          tp.flags |= TF_DELACK;
          tp.timers.arm(T_DELACK, tcp.tunables.delack);
        }
        if ((flags & TH_PUSH) !== 0) tp.flags |= TF_RCVD_PUSH;
      }
      finReached = fin;
    } else {
      const n = tp.reass.insert(seq, data, fin);
      if (n < 0) {
        st.rcvmemdrop++;
      } else if (seq !== tp.rcv_nxt) {
        st.rcvoopack++;
        st.rcvoobyte += tlen;
      }
      for (const p of tp.reass.takeFrom(tp.rcv_nxt)) {
        if (p.data.byteLength > 0) {
          if (!deliver(tp, p.data)) {
            st.rcvmemdrop++;
            tp.reass.clear();
            break;
          }
          tp.rcv_nxt = seqAdd(tp.rcv_nxt, p.data.byteLength);
          st.rcvpack++;
          st.rcvbyte += p.data.byteLength;
        }
        if (p.fin) finReached = true;
      }
      tp.flags |= TF_ACKNOW;
    }
  }
  if (finReached) {
    tp.rcv_nxt = seqAdd(tp.rcv_nxt, 1);
    if (so !== null) socantrcvmore(so);
    tp.flags |= TF_ACKNOW;
    switch (tp.state) {
      case TCPS_SYN_RECEIVED:
      case TCPS_ESTABLISHED:
        tp.state = TCPS_CLOSE_WAIT;
        break;
      case TCPS_FIN_WAIT_1:
        tp.state = TCPS_CLOSING;
        break;
      case TCPS_FIN_WAIT_2:
        enterTimeWait(tp);
        break;
      default:
        break;
    }
  }
  if (needOutput || (tp.flags & TF_ACKNOW) !== 0) tcpOutput(tp);
}

/** Take the peer's window from a segment newer than the last one that set it. */
function updateWindow(tp: Tcb, seq: number, ack: number, tiwin: number, tlen: number): boolean {
  if (seqLt(tp.snd_wl1, seq) || (tp.snd_wl1 === seq && (seqLt(tp.snd_wl2, ack) || (tp.snd_wl2 === ack && tiwin > tp.snd_wnd)))) {
    if (tlen === 0 && tp.snd_wl2 === ack && tiwin > tp.snd_wnd) tp.tcp.stats.rcvwinupd++;
    tp.snd_wnd = tiwin;
    tp.snd_wl1 = seq;
    tp.snd_wl2 = ack;
    if (tiwin > tp.max_sndwnd) tp.max_sndwnd = tiwin;
    return true;
  }
  return false;
}

/** Append in-order data to the socket (dropped after SHUT_RD). False if memory is short. */
function deliver(tp: Tcb, data: Uint8Array): boolean {
  const so = tp.so;
  if (so === null) return true;
  if ((so.state & SS_CANTRCVMORE) !== 0) {
    tp.tcp.stats.rcvshutdrop += data.byteLength;
    return true;
  }
  if (!so.rcv.appendStream(data)) return false;
  sorwakeup(so);
  return true;
}

function dropAfterAck(tp: Tcb): void {
  tp.flags |= TF_ACKNOW;
  tcpOutput(tp);
}

/** RFC 5961's challenge ACK, rate limited. */
function challengeAck(tp: Tcb): void {
  const tcp = tp.tcp;
  if (!tcp.challengeLimiter.allow(tcp.now())) return;
  tcp.stats.challengeacks++;
  tp.flags |= TF_ACKNOW;
  tcpOutput(tp);
}
