/**
 * tcpstat: TCP's counters (NetBSD's tcp_stat.h), one set per kernel, and their `netstat -s`
 * rendering. Every segment dropped on input is counted under the reason it was dropped.
 */

export interface TcpStats {
  // connections
  connattempt: number;
  accepts: number;
  connects: number;
  drops: number;
  conndrops: number;
  closed: number;
  timeoutdrop: number;
  keepdrops: number;
  rcvrstclosed: number;
  // timers
  segstimed: number;
  rttupdated: number;
  delack: number;
  rexmttimeo: number;
  persisttimeo: number;
  keeptimeo: number;
  keepprobe: number;
  // output
  sndtotal: number;
  sndpack: number;
  sndbyte: number;
  sndrexmitpack: number;
  sndrexmitbyte: number;
  sndrexmitfast: number;
  sndacks: number;
  sndprobe: number;
  sndwinup: number;
  sndctrl: number;
  sndrst: number;
  snderrors: number;
  rstratelimited: number;
  // input
  rcvtotal: number;
  rcvpack: number;
  rcvbyte: number;
  rcvbadsum: number;
  rcvbadoff: number;
  rcvshort: number;
  rcvbadopt: number;
  rcvbcast: number;
  rcvduppack: number;
  rcvdupbyte: number;
  rcvpartduppack: number;
  rcvpartdupbyte: number;
  rcvoopack: number;
  rcvoobyte: number;
  rcvpackafterwin: number;
  rcvbyteafterwin: number;
  rcvafterclose: number;
  rcvwinprobe: number;
  rcvdupack: number;
  rcvacktoomuch: number;
  rcvackpack: number;
  rcvackbyte: number;
  rcvwinupd: number;
  rcvmemdrop: number;
  rcvrst: number;
  rcvbadrst: number;
  rcvbadsyn: number;
  rcvshutdrop: number;
  pawsdrop: number;
  noport: number;
  listendrop: number;
  badack: number;
  challengeacks: number;
  twreuse: number;
  // congestion control and loss recovery
  fastrecovery: number;
  partialacks: number;
  sackrecovery: number;
  sackrexmitpack: number;
  sackrexmitbyte: number;
  sackblocksrcvd: number;
  sackblockssent: number;
  // ICMP
  icmpunreach: number;
  icmpmsgsize: number;
  icmpignored: number;
  // SYN cache
  sc_added: number;
  sc_completed: number;
  sc_timed_out: number;
  sc_overflowed: number;
  sc_bucketoverflow: number;
  sc_reset: number;
  sc_unreach: number;
  sc_dupesyn: number;
  sc_retransmitted: number;
  sc_aborted: number;
  sc_dropped: number;
}

export function newTcpStats(): TcpStats {
  return {
    connattempt: 0, accepts: 0, connects: 0, drops: 0, conndrops: 0, closed: 0, timeoutdrop: 0, keepdrops: 0, rcvrstclosed: 0,
    segstimed: 0, rttupdated: 0, delack: 0, rexmttimeo: 0, persisttimeo: 0, keeptimeo: 0, keepprobe: 0,
    sndtotal: 0, sndpack: 0, sndbyte: 0, sndrexmitpack: 0, sndrexmitbyte: 0, sndrexmitfast: 0, sndacks: 0, sndprobe: 0,
    sndwinup: 0, sndctrl: 0, sndrst: 0, snderrors: 0, rstratelimited: 0,
    rcvtotal: 0, rcvpack: 0, rcvbyte: 0, rcvbadsum: 0, rcvbadoff: 0, rcvshort: 0, rcvbadopt: 0, rcvbcast: 0, rcvduppack: 0,
    rcvdupbyte: 0, rcvpartduppack: 0, rcvpartdupbyte: 0, rcvoopack: 0, rcvoobyte: 0, rcvpackafterwin: 0, rcvbyteafterwin: 0,
    rcvafterclose: 0, rcvwinprobe: 0, rcvdupack: 0, rcvacktoomuch: 0, rcvackpack: 0, rcvackbyte: 0, rcvwinupd: 0,
    rcvmemdrop: 0, rcvrst: 0, rcvbadrst: 0, rcvbadsyn: 0, rcvshutdrop: 0, pawsdrop: 0, noport: 0, listendrop: 0, badack: 0,
    challengeacks: 0, twreuse: 0,
    fastrecovery: 0, partialacks: 0, sackrecovery: 0, sackrexmitpack: 0, sackrexmitbyte: 0, sackblocksrcvd: 0, sackblockssent: 0,
    icmpunreach: 0, icmpmsgsize: 0, icmpignored: 0,
    sc_added: 0, sc_completed: 0, sc_timed_out: 0, sc_overflowed: 0, sc_bucketoverflow: 0, sc_reset: 0, sc_unreach: 0,
    sc_dupesyn: 0, sc_retransmitted: 0, sc_aborted: 0, sc_dropped: 0,
  };
}

/** `netstat -s -p tcp` lines: [counter, text] with the counter's value substituted for N. */
const LINES: [keyof TcpStats, string][] = [
  ['sndtotal', 'N packets sent'],
  ['sndpack', '\tN data packets'],
  ['sndbyte', '\t\tN data bytes'],
  ['sndrexmitpack', '\tN data packets retransmitted'],
  ['sndrexmitbyte', '\t\tN data bytes retransmitted'],
  ['sndrexmitfast', '\tN fast retransmits'],
  ['sndacks', '\tN ack-only packets'],
  ['delack', '\t\tN delayed'],
  ['sndprobe', '\tN window probe packets'],
  ['sndwinup', '\tN window update packets'],
  ['sndctrl', '\tN control packets'],
  ['sndrst', '\t\tN resets'],
  ['snderrors', '\tN send errors reported by IP'],
  ['rstratelimited', '\tN resets not sent (rate limit)'],
  ['rcvtotal', 'N packets received'],
  ['rcvackpack', '\tN acks'],
  ['rcvackbyte', '\t\tfor N bytes'],
  ['rcvdupack', '\tN duplicate acks'],
  ['rcvacktoomuch', '\tN acks for unsent data'],
  ['rcvpack', '\tN packets received in-sequence'],
  ['rcvbyte', '\t\tN bytes'],
  ['rcvduppack', '\tN completely duplicate packets'],
  ['rcvdupbyte', '\t\tN bytes'],
  ['pawsdrop', '\tN old duplicate packets (PAWS)'],
  ['rcvpartduppack', '\tN packets with some duplicate data'],
  ['rcvpartdupbyte', '\t\tN bytes duplicated'],
  ['rcvoopack', '\tN out-of-order packets'],
  ['rcvoobyte', '\t\tN bytes'],
  ['rcvpackafterwin', '\tN packets of data after window'],
  ['rcvbyteafterwin', '\t\tN bytes'],
  ['rcvwinprobe', '\tN window probes'],
  ['rcvwinupd', '\tN window update packets'],
  ['rcvafterclose', '\tN packets received after close'],
  ['rcvshutdrop', '\tN data bytes discarded after shutdown(SHUT_RD)'],
  ['rcvbadsum', '\tN discarded for bad checksums'],
  ['rcvbadoff', '\tN discarded for bad header offset fields'],
  ['rcvshort', '\tN discarded because packet too short'],
  ['rcvbadopt', '\tN discarded for malformed options'],
  ['rcvbcast', '\tN discarded for a broadcast or multicast destination'],
  ['rcvmemdrop', '\tN discarded for a full reassembly queue'],
  ['rcvrst', '\tN resets received'],
  ['rcvbadrst', '\tN resets ignored (out of window)'],
  ['rcvbadsyn', '\tN SYNs in a synchronized state (challenge ACK)'],
  ['challengeacks', '\tN challenge ACKs sent'],
  ['badack', '\tN segments with an unacceptable ACK reset'],
  ['noport', '\tN segments for no connection (reset)'],
  ['listendrop', '\tN SYNs dropped for a full listen queue'],
  ['connattempt', 'N connection requests'],
  ['accepts', 'N connection accepts'],
  ['connects', 'N connections established (including accepts)'],
  ['closed', 'N connections closed'],
  ['drops', '\tN dropped (reset or timed out)'],
  ['conndrops', 'N embryonic connections dropped'],
  ['twreuse', 'N TIME_WAIT connections reused by a new SYN'],
  ['rttupdated', 'N segments updated rtt'],
  ['segstimed', '\tof N attempts'],
  ['rexmttimeo', 'N retransmit timeouts'],
  ['timeoutdrop', '\tN connections dropped by rexmit timeout'],
  ['persisttimeo', 'N persist timeouts'],
  ['keeptimeo', 'N keepalive timeouts'],
  ['keepprobe', '\tN keepalive probes sent'],
  ['keepdrops', '\tN connections dropped by keepalive'],
  ['fastrecovery', 'N fast recovery episodes (NewReno)'],
  ['partialacks', '\tN partial acks'],
  ['sackrecovery', 'N SACK recovery episodes'],
  ['sackrexmitpack', '\tN segments retransmitted by SACK recovery'],
  ['sackrexmitbyte', '\t\tN bytes'],
  ['sackblocksrcvd', 'N SACK blocks received'],
  ['sackblockssent', 'N SACK blocks sent'],
  ['icmpunreach', 'N ICMP unreachables reported to connections'],
  ['icmpmsgsize', 'N ICMP needfrag messages (path MTU lowered)'],
  ['icmpignored', 'N ICMP errors ignored (no connection or sequence out of window)'],
  ['sc_added', 'N SYN cache entries added'],
  ['sc_completed', '\tN completed'],
  ['sc_timed_out', '\tN timed out'],
  ['sc_overflowed', '\tN dropped for overflow'],
  ['sc_bucketoverflow', '\tN dropped for a full listener bucket'],
  ['sc_reset', '\tN dropped by a RST'],
  ['sc_unreach', '\tN dropped by ICMP unreachable'],
  ['sc_aborted', '\tN aborted (no socket could be made)'],
  ['sc_dropped', '\tN dropped with their listener'],
  ['sc_dupesyn', '\tN duplicate SYNs received'],
  ['sc_retransmitted', '\tN SYN,ACKs retransmitted'],
];

/** `netstat -s`-style text: one line per non-zero counter (all with `all`). */
export function formatTcpStats(s: TcpStats, all = false): string {
  const out = ['tcp:'];
  for (const [k, text] of LINES) {
    const v = s[k];
    if (v !== 0 || all) out.push(`\t${text.replace('N', String(v))}`);
  }
  return out.join('\n') + '\n';
}
