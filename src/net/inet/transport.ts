/**
 * The contract between IPv4 (ip_input/ip_output, owned by netinet) and the transport protocols
 * above it (UDP, TCP, raw IP), in the spirit of gVisor's stack/registration.go.
 *
 * Addresses are IPv4 addresses as uint32 numbers (network order value: 10.0.0.1 = 0x0a000001),
 * as the wire codecs use them. Packets are Mbufs (src/net/mbuf.ts).
 *
 * Inbound: ip_input validates the IP header, reassembles fragments, and hands the transport
 * payload (IP header already stripped: `m` starts at the transport header) to
 * `TransportProtocol.input` with the header facts in `IpInputInfo`. Ownership of `m` passes to
 * the transport. `input` is synchronous (the per-packet hot path never awaits).
 *
 * Outbound: a transport builds its header and payload in an Mbuf (leaving headroom; mbuf
 * `prepend` grows it when needed) and calls `IpTransportEnv.output`; IP prepends its header,
 * routes, fragments if allowed, and hands the frame to the interface. Ownership of `m` passes to
 * IP. `output` is synchronous and returns null, or the errno the send reports
 * (ENETUNREACH / EHOSTUNREACH without a route, EMSGSIZE when DF is set and the path MTU is
 * smaller, ENOBUFS when an interface queue is full, EACCES for broadcast without permission).
 * The transport computes its own checksum over the pseudo-header (wire/checksum.ts helpers).
 *
 * ICMP errors: when ICMP receives an error quoting a datagram of protocol P, it calls P's
 * `ctlinput` with the quoted bytes (the quoted IP header stripped), so TCP/UDP can find the
 * connection and report the error to the socket (ECONNREFUSED for port unreachable on a
 * connected UDP socket, EHOSTUNREACH, EMSGSIZE for path MTU discovery).
 *
 * Registration: the netinet component creates the AF_INET domain and the IP layer, then attaches
 * each transport: `attach(k, env)` returns the TransportProtocol whose protosw entries are added
 * to the AF_INET domain and whose `input` IP dispatches to by protocol number.
 */

import type { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Mbuf } from '../mbuf.js';
import type { Protosw } from '../protosw.js';

export const IPPROTO_IP = 0, IPPROTO_ICMP = 1, IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_RAW = 255;
export const IPPROTO_IPV6 = 41, IPPROTO_ICMPV6 = 58;

export const INADDR_ANY = 0x00000000;
export const INADDR_BROADCAST = 0xffffffff;
export const INADDR_LOOPBACK = 0x7f000001;

/** What ip_input learned from the IP header of an inbound packet. */
export interface IpInputInfo {
  src: number;
  dst: number;
  ttl: number;
  tos: number;
  /** Index of the receiving interface. */
  ifindex: number;
  /** The destination was a broadcast or multicast address (UDP delivers to all matching). */
  broadcast: boolean;
  multicast: boolean;
  /** Total length of the transport payload (== m.length). */
  length: number;
}

/** Per-send options a transport may ask IP for. */
export interface IpOutputOptions {
  ttl?: number;
  tos?: number;
  /** Set the Don't Fragment bit (TCP does, for path MTU discovery). */
  df?: boolean;
  /** Allow sending to a broadcast address (SO_BROADCAST). */
  broadcast?: boolean;
  /** Bypass routing: send on the interface of a directly connected destination (SO_DONTROUTE). */
  dontroute?: boolean;
}

/** What IP offers the transports of one kernel. */
export interface IpTransportEnv {
  readonly kernel: Kernel;
  /** Send `m` (transport header + payload) from `src` to `dst` as protocol `proto`. */
  output(m: Mbuf, src: number, dst: number, proto: number, opts?: IpOutputOptions): KernelError | null;
  /** in_selectsrc: the local address to send from towards `dst`, or null without a route. */
  selectSource(dst: number): number | null;
  /** MTU of the route towards `dst` (for TCP's MSS), or null without a route. */
  routeMtu(dst: number): number | null;
  /** Is `addr` one of this kernel's addresses (INADDR_ANY excluded)? */
  isLocalAddress(addr: number): boolean;
  /** Is `addr` a broadcast address of some interface (or 255.255.255.255)? */
  isBroadcast(addr: number): boolean;
  /** Send an ICMP error about `offending` (an inbound packet starting at its transport header). */
  icmpError(type: number, code: number, info: IpInputInfo, offending: Mbuf): void;
}

/** ICMP errors reported to transports. */
export type CtlKind = 'unreach' | 'timex' | 'paramprob' | 'msgsize' | 'srcquench';

export interface TransportProtocol {
  readonly name: string;
  readonly proto: number;
  /** Socket entries to add to the AF_INET domain (one per socket type the protocol serves). */
  readonly protosw: readonly Protosw[];
  /** ip_input's upcall: `m` starts at the transport header; ownership passes to the transport. */
  input(m: Mbuf, info: IpInputInfo): void;
  /**
   * An ICMP error quoted a datagram this protocol sent: `quoted` is the quoted transport header
   * (at least 8 bytes), `src`/`dst` the quoted datagram's addresses, `mtu` the next-hop MTU for
   * 'msgsize'.
   */
  ctlinput?(kind: CtlKind, code: number, src: number, dst: number, quoted: Uint8Array, mtu?: number): void;
  /** Halt: drop all connections and timers. */
  fini?(): void;
}

/** How a transport module plugs in: `export const attach: TransportAttach`. */
export type TransportAttach = (k: Kernel, env: IpTransportEnv) => TransportProtocol;
