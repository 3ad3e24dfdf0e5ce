/**
 * The protocol switch (NetBSD's sys/protosw.h, `struct pr_usrreqs`): the contract between the
 * socket layer (socket.ts) and every protocol that implements sockets — AF_LOCAL now, UDP, TCP
 * and raw IP later. Written once here, in the spirit of gVisor's stack/registration.go.
 *
 * A domain (domain.ts) holds one Protosw per (type, protocol) pair. `socreate` picks the entry and
 * calls `attach`; from then on the socket layer drives the protocol only through these usrreqs,
 * and the protocol drives the socket only through the socket layer's state functions
 * (soisconnecting, soisconnected, soisdisconnecting, soisdisconnected, socantsendmore,
 * socantrcvmore, sonewconn, sorwakeup, sowwakeup, sohasoutofband) and the sockbufs' append
 * methods. Protocols never touch a socket's condvars, SelInfo or queues directly.
 *
 * Concurrency and awaits. A kernel is one event loop: code between two awaits runs atomically,
 * which is what NetBSD's solock() provides, so there is no socket lock to take. A usrreq either
 * finishes synchronously (returns undefined / its value) or returns a promise; the socket layer
 * awaits only promises, so hot paths (send, rcvd) stay synchronous. A protocol that awaits in a
 * usrreq (AF_LOCAL's bind and connect walk the file system) must assume the socket changed
 * meanwhile and re-check its state afterwards (NetBSD's UNP_BUSY pattern: refuse a second bind
 * or connect with EALREADY while one is in flight). The socket layer holds the sockbuf's
 * `sblock` (a KMutex) for the whole of a sosend or soreceive, so sends on one socket never
 * interleave their records and receives never split one another's; protocols must not take
 * sblocks themselves.
 *
 * Errors: a usrreq throws KernelError with the errno the call reports (EADDRINUSE, ECONNREFUSED,
 * ...). Asynchronous errors (a connection reset, a refused connect seen later) go into
 * `so.error` followed by a wakeup; the next call on the socket reports them (SO_ERROR reads them).
 *
 * Buffer ownership:
 *  - `send(so, data, ...)`: `data` is a fresh copy the socket layer made of the caller's bytes;
 *    the protocol owns it from then on and may queue it without copying (append it to a sockbuf,
 *    keep it for retransmission). It must not hand it back to the caller.
 *  - Bytes a protocol appends to `so.rcv` (sbappend*) are owned by the sockbuf from then on; the
 *    protocol must not modify them afterwards. soreceive copies them out to the caller and drops
 *    them (uncharging kernel memory).
 *  - `addr` arguments are the caller's validated copy; protocols may keep them.
 *  - Control: `send` receives the caller's ancillary data (`Cmsg[]`, validated and copied); a
 *    protocol that supports it converts it to kernel form (`Control`, e.g. SCM_RIGHTS fds turned
 *    into referenced files by the domain's internalize) before queuing. Whatever the protocol
 *    does not queue it must release (domain `dispose`). Control queued in a receive buffer is
 *    released by the socket layer when the record is read (externalize) or discarded (dispose).
 *
 * Lwps: usrreqs get the calling lwp where there is one (credentials for bind/connect permission
 * checks, the descriptor table for SCM_RIGHTS); `null` when the kernel acts on its own (close at
 * process exit, halt, a connection set up by input processing).
 */

import type { KFile } from '../kern/file.js';
import type { Lwp } from '../kern/proc.js';
import type { Cmsg, Sockaddr, Stat } from '../kern/types.js';
import type { Domain } from './domain.js';
import type { Socket } from './socket.js';

// pr_flags (sys/protosw.h)
/** Exchange atomic messages only (datagrams, seqpacket records). */
export const PR_ATOMIC = 0x01;
/** Addresses are given with messages (recvfrom reports the sender). */
export const PR_ADDR = 0x02;
/** A connection is required before data can be sent. */
export const PR_CONNREQUIRED = 0x04;
/** The protocol wants `rcvd` calls after data is taken from the receive buffer. */
export const PR_WANTRCVD = 0x08;
/** Passes access rights (SCM_RIGHTS). */
export const PR_RIGHTS = 0x10;
/** Supports listen/accept. */
export const PR_LISTEN = 0x20;
export const PR_LASTHDR = 0x40;
/** Abort on accept of a disconnected connection. */
export const PR_ABRTACPTDIS = 0x80;
export const PR_PURGEIF = 0x100;

// ctloutput ops
export const PRCO_GETOPT = 0;
export const PRCO_SETOPT = 1;

/**
 * Ancillary data in kernel form, as queued in a receive buffer: bytes (`data`), or referenced
 * open files (`files`, for SCM_RIGHTS) that the domain's externalize turns into descriptors of
 * the receiving process or its dispose closes.
 */
export interface Control {
  level: number;
  type: number;
  data: Uint8Array | null;
  files: KFile[] | null;
}

/** The usrreqs (NetBSD's struct pr_usrreqs). Optional ones fail with EOPNOTSUPP when absent. */
export interface Usrreqs {
  /**
   * Create the protocol control block (so.pcb) and reserve buffer space (soreserve, unless the
   * buffers are already sized, as for sockets made by sonewconn). Must finish synchronously
   * when `l` is null: sonewconn calls it from connection setup, which cannot wait.
   */
  attach(so: Socket, proto: number, l: Lwp | null): void | Promise<void>;
  /** Free the control block; the socket is going away (already disconnected). */
  detach(so: Socket): void;
  /** Bind to a local address (checked for the domain's family). */
  bind?(so: Socket, nam: Sockaddr, l: Lwp): void | Promise<void>;
  /** Start listening (the socket layer sets SO_ACCEPTCONN and the queue limit). */
  listen?(so: Socket, l: Lwp | null): void | Promise<void>;
  /**
   * Connect to `nam`. Either completes (soisconnected) or starts (soisconnecting) and completes
   * later through soisconnected, or records an error in so.error and soisdisconnected.
   */
  connect?(so: Socket, nam: Sockaddr, l: Lwp): void | Promise<void>;
  /** Connect two sockets of this protocol directly (socketpair). */
  connect2?(so: Socket, so2: Socket): void;
  /** Start disconnecting a connected socket (close, or connect of a datagram socket elsewhere). */
  disconnect?(so: Socket): void | Promise<void>;
  /** No more sends (shutdown SHUT_WR): tell the peer (socantsendmore is done by the caller). */
  shutdown(so: Socket): void | Promise<void>;
  /**
   * Drop an embryonic or unaccepted connection (its listening socket is closing, or the kernel
   * halts): fail the peer, record ECONNABORTED. The socket layer calls detach right after.
   */
  abort(so: Socket): void;
  /** A connection is being accepted: the peer's address, or null when it has none. */
  accept?(so: Socket): Sockaddr | null;
  /** Data was taken from so.rcv (PR_WANTRCVD): open the window, wake the peer's sender. */
  rcvd?(so: Socket, flags: number, l: Lwp | null): void;
  /**
   * Transmit `data` (owned by the protocol from now on). `nam` is the destination for
   * unconnected datagram sockets (null otherwise); `control` the caller's ancillary data or
   * null; `flags` the MSG_* flags of the call (MSG_EOR ends a record).
   */
  send(so: Socket, data: Uint8Array, nam: Sockaddr | null, control: readonly Cmsg[] | null, l: Lwp | null, flags: number): void | Promise<void>;
  /** Out-of-band send/receive (TCP urgent data). */
  sendoob?(so: Socket, data: Uint8Array, control: readonly Cmsg[] | null): void | Promise<void>;
  recvoob?(so: Socket, buf: Uint8Array, flags: number): number;
  /** The local address (getsockname). */
  sockaddr(so: Socket): Sockaddr;
  /** The peer's address (getpeername; the socket layer checks it is connected). */
  peeraddr(so: Socket): Sockaddr;
  /** Protocol ioctls (PRU_CONTROL: interface configuration on inet sockets, ...). */
  ioctl?(so: Socket, cmd: number, data: unknown, l: Lwp): Promise<unknown>;
  /** Fill protocol-specific fields of fstat (blksize, ino, times). */
  stat?(so: Socket, st: Stat): void;
  /**
   * Bytes a sender may queue now (sbspace of the send buffer by default). AF_LOCAL, which
   * queues straight into the peer's receive buffer, answers from the peer's occupancy.
   */
  sendspace?(so: Socket): number;
  /** Extra poll bits (POLLPRI for urgent data, ...), ORed into the generic answer. */
  poll?(so: Socket, events: number): number;
}

/** One protocol of a domain (struct protosw). */
export interface Protosw {
  /** SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW */
  readonly type: number;
  /** IPPROTO_* (0 for the domain's default protocol of the type). */
  readonly protocol: number;
  /** PR_* */
  readonly flags: number;
  /** Short name for messages and sockstat: 'local stream', 'tcp', 'udp'. */
  readonly name: string;
  readonly usrreqs: Usrreqs;
  /** The domain, set when the domain is added to a kernel's registry. */
  domain?: Domain;
  /**
   * Socket options at a level other than SOL_SOCKET (PRCO_GETOPT returns the value), and
   * SOL_SOCKET options after the socket layer applied them (PRCO_SETOPT only; errors ignored).
   * ENOPROTOOPT for options the protocol does not know.
   */
  ctloutput?(op: number, so: Socket, level: number, name: number, value: unknown): unknown;
}
