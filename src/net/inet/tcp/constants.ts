/**
 * TCP constants: connection states (NetBSD's tcp_fsm.h numbering), control-block flags
 * (tcp_var.h), socket options (netinet/tcp.h), and the tunables with their defaults
 * (net.inet.tcp.* sysctl nodes). Times are milliseconds throughout the TCP code.
 */

// ---------------------------------------------------------------------------------------------
// states (tcp_fsm.h)

export const TCPS_CLOSED = 0;
export const TCPS_LISTEN = 1;
export const TCPS_SYN_SENT = 2;
export const TCPS_SYN_RECEIVED = 3;
export const TCPS_ESTABLISHED = 4;
export const TCPS_CLOSE_WAIT = 5;
export const TCPS_FIN_WAIT_1 = 6;
export const TCPS_CLOSING = 7;
export const TCPS_LAST_ACK = 8;
export const TCPS_FIN_WAIT_2 = 9;
export const TCPS_TIME_WAIT = 10;

export const TCP_STATE_NAMES = [
  'CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECEIVED', 'ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT_1', 'CLOSING', 'LAST_ACK',
  'FIN_WAIT_2', 'TIME_WAIT',
] as const;
export type TcpStateName = typeof TCP_STATE_NAMES[number];

/** We have seen the peer's SYN. */
export function haveRcvdSyn(s: number): boolean { return s >= TCPS_SYN_RECEIVED; }
/** The connection was established at some point. */
export function haveEstablished(s: number): boolean { return s >= TCPS_ESTABLISHED; }
/** The peer's FIN has been received (no more data will come). */
export function haveRcvdFin(s: number): boolean {
  return s === TCPS_CLOSE_WAIT || s === TCPS_CLOSING || s === TCPS_LAST_ACK || s === TCPS_TIME_WAIT;
}

// ---------------------------------------------------------------------------------------------
// control block flags (tcp_var.h t_flags)

/** Send an ACK now. */
export const TF_ACKNOW = 0x0001;
/** An ACK is being delayed (the delayed-ACK timer runs). */
export const TF_DELACK = 0x0002;
/** TCP_NODELAY: no Nagle coalescing. */
export const TF_NODELAY = 0x0004;
/** We asked for window scaling in our SYN. */
export const TF_REQ_SCALE = 0x0020;
/** The peer's SYN carried a window scale. */
export const TF_RCVD_SCALE = 0x0040;
/** We asked for timestamps in our SYN. */
export const TF_REQ_TSTMP = 0x0080;
/** The peer's SYN carried a timestamp. */
export const TF_RCVD_TSTMP = 0x0100;
/** We offered SACK in our SYN. */
export const TF_REQ_SACK = 0x0200;
/** The peer's SYN offered SACK: both sides use it when we offered too. */
export const TF_RCVD_SACK = 0x0400;
/** Our FIN has been sent (it occupies snd_max - 1). */
export const TF_SENTFIN = 0x0800;
/** The user closed the sending side: a FIN follows the queued data. */
export const TF_FINPEND = 0x1000;
/** Force one segment out even into a zero window (persist probe). */
export const TF_FORCE = 0x2000;
/** The data awaiting a delayed ACK ended with PSH (acknowledged at once when the reader drains it). */
export const TF_RCVD_PUSH = 0x4000;

// ---------------------------------------------------------------------------------------------
// socket options (netinet/tcp.h, netinet/in.h)

export const TCP_NODELAY = 0x01;
export const TCP_MAXSEG = 0x02;
export const TCP_KEEPIDLE = 0x03;
export const TCP_KEEPINTVL = 0x05;
export const TCP_KEEPCNT = 0x06;
export const TCP_KEEPINIT = 0x07;
export const TCP_INFO = 0x09;

/** IPPROTO_IP level options TCP keeps per connection. */
export const IP_TOS = 3;
export const IP_TTL = 4;

// ---------------------------------------------------------------------------------------------
// protocol constants

/** Default MSS when the peer sends none (RFC 9293: 536 for IPv4). */
export const TCP_DEFAULT_MSS = 536;
/** Smallest MSS we accept from a peer or ICMP (NetBSD tcp_minmss). */
export const TCP_MIN_MSS = 216;
/** IPv4 + TCP headers without options. */
export const TCPIP_HDR_LEN = 40;
/** Bytes of a timestamp option as emitted (NOP NOP + 10). */
export const TCPOLEN_TSTAMP_APPA = 12;
/** The largest unscaled window. */
export const TCP_MAXWIN = 65535;
/** Retransmissions before a connection is dropped (NetBSD TCP_MAXRXTSHIFT). */
export const TCP_MAXRXTSHIFT = 12;
/** The backoff multiplier never exceeds this (NetBSD's tcp_backoff table tops out at 64). */
export const TCP_MAXBACKOFF = 64;
/** Ephemeral port range (IANA, RFC 6335). */
export const IPPORT_EPHEMERAL_FIRST = 49152;
export const IPPORT_EPHEMERAL_LAST = 65535;
/** Ports below this need privilege. */
export const IPPORT_RESERVED = 1024;
/** PAWS: a ts_recent older than 24 days is no longer trusted (RFC 7323 5.5). */
export const TCP_PAWS_IDLE = 24 * 24 * 60 * 60 * 1000;
/** Duplicate ACKs that trigger fast retransmit (DupThresh). */
export const TCP_DUPTHRESH = 3;
/** SYN-ACK retransmissions before a SYN cache entry is dropped. */
export const SYNCACHE_MAXREXMTS = 3;

// ---------------------------------------------------------------------------------------------
// tunables

/** net.inet.tcp.* tunables of one kernel. */
export interface TcpTunables {
  /** Default send buffer (net.inet.tcp.sendspace). */
  sendspace: number;
  /** Default receive buffer (net.inet.tcp.recvspace). */
  recvspace: number;
  /** MSS assumed without a route MTU (net.inet.tcp.mssdflt). */
  mssdflt: number;
  /** Request window scaling (RFC 7323). */
  winscale: boolean;
  /** Request timestamps (RFC 7323). */
  timestamps: boolean;
  /** Offer SACK (RFC 2018). */
  sack: boolean;
  /** Initial window in segments (RFC 6928: 10). */
  initWindow: number;
  /** RTO bounds and the initial RTO (RFC 6298: 1 s minimum, 1 s initial). */
  rtoMin: number;
  rtoMax: number;
  rtoInitial: number;
  /** Delayed ACK time. */
  delack: number;
  /** Maximum segment lifetime; TIME_WAIT lasts 2 * msl. */
  msl: number;
  /** Keepalive: idle time before probing, probe interval, probes before drop. */
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  /** Connection-establishment timeout (NetBSD tcp_keepinit). */
  keepInit: number;
  /** How long an orphaned connection may sit in FIN_WAIT_2. */
  finWait2Timeout: number;
  /** Persist timer bounds (zero-window probing). */
  persMin: number;
  persMax: number;
  /** SYN cache: total entries, and entries per listening socket. */
  syncacheLimit: number;
  syncacheBucketLimit: number;
  /** RSTs sent per second (0: unlimited; NetBSD tcp_rst_ppslim). */
  rstPpsLimit: number;
  /** Challenge ACKs sent per second (RFC 5961; 0: unlimited). */
  challengeAckLimit: number;
  /** Out-of-order segments held per connection. */
  reassMaxSegs: number;
}

export function defaultTunables(): TcpTunables {
  return {
    sendspace: 32 * 1024,
    recvspace: 32 * 1024,
    mssdflt: TCP_DEFAULT_MSS,
    winscale: true,
    timestamps: true,
    sack: true,
    initWindow: 10,
    rtoMin: 1000,
    rtoMax: 64_000,
    rtoInitial: 1000,
    delack: 100,
    msl: 30_000,
    keepIdle: 7200_000,
    keepIntvl: 75_000,
    keepCnt: 8,
    keepInit: 75_000,
    finWait2Timeout: 60_000,
    persMin: 5000,
    persMax: 60_000,
    syncacheLimit: 10_240,
    syncacheBucketLimit: 512,
    rstPpsLimit: 0,
    challengeAckLimit: 1000,
    reassMaxSegs: 1024,
  };
}
