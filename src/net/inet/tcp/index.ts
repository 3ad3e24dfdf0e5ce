/**
 * TCP (RFC 9293) for the AF_INET domain, split by concern in the manner of gVisor's netstack:
 *
 *   proto.ts       the per-kernel TransportProtocol (tables, counters, tunables, sysctl)
 *   usrreq.ts      the socket interface (Protosw for SOCK_STREAM/IPPROTO_TCP, socket options)
 *   input.ts       segment arrival and the state machine
 *   output.ts      what to send and when; building segments
 *   timers.ts      retransmit, persist, keepalive, 2MSL, delayed ACK
 *   rtt.ts         RTT estimation and the RTO (RFC 6298)
 *   congestion.ts  NewReno, fast retransmit / fast recovery (RFC 5681, 6582), limited transmit
 *   sack.ts        SACK blocks (RFC 2018) and SACK loss recovery (RFC 6675)
 *   reass.ts       the out-of-order queue
 *   options.ts     MSS, window scaling, timestamps and PAWS (RFC 7323), SACK-permitted
 *   syncache.ts    half-open passive connections (the listen backlog's SYN cache)
 *   pcb.ts         the connection table and port allocation
 *   ctlinput.ts    ICMP errors
 *   isn.ts         initial sequence numbers (RFC 6528)
 *   subr.ts        connection life cycle (established, close, drop, TIME_WAIT)
 *   tcb.ts         the control block; sendq.ts its send queue
 *   stats.ts       counters and their netstat -s text
 *
 * IP wires it in with `attach(k, env)` (transport.ts) and adds `protosw` to the AF_INET domain.
 */

import type { TransportAttach } from '../transport.js';
import { TcpProtocol } from './proto.js';

export const attach: TransportAttach = (k, env) => new TcpProtocol(k, env);

export { TcpProtocol, RateLimiter } from './proto.js';
export { Tcb } from './tcb.js';
export { inetAton, inetNtoa, inetSa, inetSockaddr, tcpCtloutput, tcpProtosw } from './usrreq.js';
export type { TcpInfo } from './usrreq.js';
export { formatTcpStats, newTcpStats } from './stats.js';
export type { TcpStats } from './stats.js';
export * from './constants.js';
