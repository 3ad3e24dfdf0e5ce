/**
 * ICMP errors about segments we sent (NetBSD's tcp_ctlinput / tcp_notify, RFC 5927's checks).
 *
 * The quoted TCP header names the connection (our address and port are the quoted source);
 * its sequence number must lie in [snd_una, snd_max) or the message is ignored (a blind
 * attacker cannot guess it). Then:
 *  - port or protocol unreachable while connecting: the connect fails with ECONNREFUSED;
 *    on an established connection it is only a soft error;
 *  - net/host unreachable, time exceeded, parameter problem: soft errors, reported if the
 *    connection later times out (ETIMEDOUT becomes EHOSTUNREACH), or at once when a connect
 *    has already retransmitted its SYN several times;
 *  - fragmentation needed (msgsize): lower the path MTU and resend at the new size;
 *  - source quench: ignored (RFC 6633).
 * An unreachable for a SYN,ACK drops the SYN cache entry.
 */

import type { ErrnoName } from '../../../kern/errno.js';
import { get16, get32 } from '../../wire/bytes.js';
import { seqInRange } from '../../wire/seq.js';
import type { CtlKind } from '../transport.js';
import { TCPIP_HDR_LEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCP_MIN_MSS, haveEstablished } from './constants.js';
import { tcpOutput } from './output.js';
import type { TcpProtocol } from './proto.js';
import { tcpDrop } from './subr.js';

/** ICMP unreachable codes (RFC 792, RFC 1812). */
const UNREACH_NET = 0, UNREACH_PROTOCOL = 2, UNREACH_PORT = 3, UNREACH_NEEDFRAG = 4;
const UNREACH_NET_UNKNOWN = 6, UNREACH_NET_PROHIB = 9, UNREACH_TOSNET = 11;

export function tcpCtlinput(tcp: TcpProtocol, kind: CtlKind, code: number, src: number, dst: number, quoted: Uint8Array, mtu?: number): void {
  const st = tcp.stats;
  if (quoted.byteLength < 8 || kind === 'srcquench') {
    st.icmpignored++;
    return;
  }
  const sport = get16(quoted, 0);
  const dport = get16(quoted, 2);
  const seq = get32(quoted, 4);
  const tp = tcp.pcbs.lookup(src, sport, dst, dport);
  if (tp === null) {
    const e = tcp.syncache.lookup(src, sport, dst, dport);
    if (e !== null && kind === 'unreach' && seq === e.iss) {
      tcp.syncache.remove(e);
      st.sc_unreach++;
    } else {
      st.icmpignored++;
    }
    return;
  }
  if (!seqInRange(seq, tp.snd_una, tp.snd_max)) {
    st.icmpignored++;
    return;
  }
  if (kind === 'msgsize' || (kind === 'unreach' && code === UNREACH_NEEDFRAG)) {
    if (mtu === undefined || mtu <= TCPIP_HDR_LEN) {
      st.icmpignored++;
      return;
    }
    st.icmpmsgsize++;
    const mss = Math.max(mtu - TCPIP_HDR_LEN, TCP_MIN_MSS);
    if (mss < tp.t_maxseg) {
      tp.pmtu = mss + TCPIP_HDR_LEN;
      tp.t_maxseg = mss;
      // resend what is outstanding at the new size
      tp.snd_nxt = tp.snd_una;
      tcpOutput(tp);
    }
    return;
  }
  let err: ErrnoName;
  if (kind === 'unreach') {
    st.icmpunreach++;
    if (code === UNREACH_PROTOCOL || code === UNREACH_PORT) {
      if (tp.state === TCPS_SYN_SENT || tp.state === TCPS_SYN_RECEIVED) {
        tcpDrop(tp, 'ECONNREFUSED');
      } else {
        tp.softerror = 'ECONNREFUSED';
      }
      return;
    }
    err = code === UNREACH_NET || code === UNREACH_NET_UNKNOWN || code === UNREACH_NET_PROHIB || code === UNREACH_TOSNET
      ? 'ENETUNREACH' : 'EHOSTUNREACH';
  } else if (kind === 'timex') {
    err = 'EHOSTUNREACH';
  } else {
    err = 'ENOPROTOOPT';
  }
  if (!haveEstablished(tp.state) && tp.rtt.rxtshift > 3 && tp.softerror !== null) {
    tcpDrop(tp, err);
    return;
  }
  tp.softerror = err;
}
