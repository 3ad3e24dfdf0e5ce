/**
 * Sockets (NetBSD's uipc_socket.c and uipc_socket2.c): creation, the connection state machine,
 * listen queues, the generic send and receive paths, socket options, poll readiness, close.
 *
 * A Socket belongs to one kernel's `Net` and to one protocol (protosw.ts), which keeps its
 * control block in `pcb`. The socket layer owns the state bits (SS_*), the two sockbufs, the
 * listen queues, the error slot and every sleep and wakeup; protocols move the state only
 * through the so* functions below. See protosw.ts for the contract and its await rules.
 *
 * Blocking: callers sleep on a sockbuf's condvar (data, space) or on the socket's `cv`
 * (connect completion, accept, linger), bounded by SO_RCVTIMEO/SO_SNDTIMEO through the kernel's
 * callouts. A non-blocking socket (SS_NBIO, mirrored from O_NONBLOCK) or MSG_DONTWAIT fails with
 * EAGAIN (EWOULDBLOCK) instead, as does a timed-out sleep; a call that moved some bytes before
 * that returns the count. A socket closed while a call sleeps on it fails that call with EBADF.
 *
 * Invariants: a socket with SO_ACCEPTCONN has no peer and queues new connections on `q0`
 * (incomplete) and `q` (complete, ready for accept), bounded by 3/2 of the backlog as NetBSD
 * does; a queued socket has `head` set and no file (SS_NOFDREF) until accept. A freed socket has
 * no pcb, empty buffers (passed files released) and is out of `net.sockets`.
 */

import { KernelError, errnoFromName, type ErrnoName } from '../kern/errno.js';
import { POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM, POLLRDBAND, POLLHUP, type KFile } from '../kern/file.js';
import type { Cred, Lwp } from '../kern/proc.js';
import { SelInfo, type PollWait } from '../kern/select.js';
import { KCondvar } from '../kern/sync.js';
import {
  AF_UNSPEC, MSG_DONTWAIT, MSG_EOR, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SOL_SOCKET,
  SO_ACCEPTCONN, SO_BROADCAST, SO_DEBUG, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_NOSIGPIPE, SO_OOBINLINE,
  SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDLOWAT, SO_SNDTIMEO, SO_TIMESTAMP,
  SO_TYPE, SO_USELOOPBACK,
  type Cmsg, type Sockaddr,
} from '../kern/types.js';
import type { Domain, Net } from './domain.js';
import {
  PR_ABRTACPTDIS, PR_ADDR, PR_ATOMIC, PR_CONNREQUIRED, PR_LISTEN, PR_WANTRCVD, PRCO_GETOPT, PRCO_SETOPT,
  type Control, type Protosw,
} from './protosw.js';
import { Sockbuf, Uio, controlSpace } from './sockbuf.js';

// so_state (sys/socketvar.h)
export const SS_NOFDREF = 0x001, SS_ISCONNECTED = 0x002, SS_ISCONNECTING = 0x004, SS_ISDISCONNECTING = 0x008;
export const SS_CANTSENDMORE = 0x010, SS_CANTRCVMORE = 0x020, SS_RCVATMARK = 0x040, SS_ISABORTING = 0x080;
export const SS_POLLRDBAND = 0x200, SS_MORETOCOME = 0x400, SS_ISDISCONNECTED = 0x800, SS_NBIO = 0x2000;

/** recvmsg: received descriptors are close-on-exec. */
export const MSG_CMSG_CLOEXEC = 0x800;
/** Non-blocking for this call only (kernel callers). */
export const MSG_NBIO = 0x1000;

/** MCLBYTES and MSIZE, which scale NetBSD's buffer limits. */
export const MCLBYTES = 2048;
const MSIZE = 256;

/** struct linger, as SO_LINGER takes and gives it (seconds). */
export interface Linger { onoff: number; linger: number }
/** struct timeval, as SO_RCVTIMEO/SO_SNDTIMEO take and give it. */
export interface Timeval { sec: number; usec: number }

/** What soreceive hands back. `control` is kernel form: the caller externalizes or disposes it. */
export interface ReceiveResult {
  n: number;
  addr: Sockaddr | null;
  flags: number;
  control: Control[] | null;
}

export class Socket {
  /** SO_* option bits (SO_DEBUG ... SO_NOSIGPIPE, SO_ACCEPTCONN). */
  options = 0;
  /** SS_* */
  state = 0;
  /** SO_LINGER time, seconds. */
  linger = 0;
  /** Pending asynchronous error (so_error): reported once by the next call or SO_ERROR. */
  error: ErrnoName | null = null;
  /** The protocol's control block. */
  pcb: unknown = null;
  readonly snd: Sockbuf;
  readonly rcv: Sockbuf;
  /** The listening socket this one is queued on, until accepted. */
  head: Socket | null = null;
  /** Incomplete connections (listening sockets). */
  readonly q0 = new Set<Socket>();
  /** Complete connections waiting for accept, oldest first. */
  readonly q = new Set<Socket>();
  /** Listen backlog (so_qlimit). */
  qlimit = 0;
  /** Sleeps for connect completion, accept and linger (so_cv). */
  readonly cv = new KCondvar();
  /** poll(2) waiters. */
  readonly sel = new SelInfo();
  /** The open file for this socket (null while queued for accept, and after close). */
  file: KFile | null = null;
  /** Kernel consumers (servers, sockin) may watch for readiness without polling. */
  upcall: ((so: Socket) => void) | null = null;
  /** Set once soclose or an abort started; sleepers give up with EBADF. */
  closing = false;
  readonly ino: number;
  /** Creation time, realtime ms. */
  readonly ctime: number;

  constructor(
    readonly net: Net,
    readonly proto: Protosw,
    /** SOCK_* */
    readonly type: number,
    /** Credentials of the creator (owner in fstat, peer ids). */
    readonly cred: Cred,
    /** Process that created it (sockstat). */
    readonly pid: number,
  ) {
    this.snd = new Sockbuf(net.kernel.kmem);
    this.rcv = new Sockbuf(net.kernel.kmem);
    this.ino = net.allocIno();
    this.ctime = net.kernel.now();
  }

  get domain(): Domain { return this.proto.domain!; }

  get nbio(): boolean { return (this.state & SS_NBIO) !== 0; }
}

function notsupp(so: Socket, what: string): never {
  throw new KernelError('EOPNOTSUPP', `${what} is not supported by ${so.proto.name} sockets`);
}

/** The largest reservation sbreserve allows (sb_max scaled by cluster overhead). */
export function sbmaxAdj(net: Net): number {
  return Math.floor(net.sbmax * MCLBYTES / (MSIZE + MCLBYTES));
}

/** soreserve: size both buffers (protocols call it from attach) and default the low-water marks. */
export function soreserve(so: Socket, sndcc: number, rcvcc: number): void {
  const max = sbmaxAdj(so.net);
  so.snd.reserve(sndcc, max);
  so.rcv.reserve(rcvcc, max);
  if (so.rcv.lowat === 0) so.rcv.lowat = 1;
  if (so.snd.lowat === 0) so.snd.lowat = MCLBYTES;
  if (so.snd.lowat > so.snd.hiwat) so.snd.lowat = so.snd.hiwat;
}

// ---------------------------------------------------------------------------------------------
// wakeups and state transitions (called by protocols)

export function sorwakeup(so: Socket): void {
  so.rcv.cv.broadcast();
  so.sel.notify();
  so.upcall?.(so);
}

export function sowwakeup(so: Socket): void {
  so.snd.cv.broadcast();
  so.sel.notify();
  so.upcall?.(so);
}

function sowakeupAll(so: Socket): void {
  so.cv.broadcast();
  so.rcv.cv.broadcast();
  so.snd.cv.broadcast();
  so.sel.notify();
  so.upcall?.(so);
}

export function soisconnecting(so: Socket): void {
  so.state &= ~(SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.state |= SS_ISCONNECTING;
}

/**
 * The connection is up. A socket still on its listening socket's incomplete queue moves to the
 * complete queue, waking accept; any other socket wakes its connect and its readers and writers.
 */
export function soisconnected(so: Socket): void {
  so.state &= ~(SS_ISCONNECTING | SS_ISDISCONNECTING | SS_ISDISCONNECTED);
  so.state |= SS_ISCONNECTED;
  const head = so.head;
  if (head !== null && head.q0.has(so)) {
    head.q0.delete(so);
    head.q.add(so);
    sorwakeup(head);
    head.cv.broadcast();
  } else {
    sowakeupAll(so);
  }
}

export function soisdisconnecting(so: Socket): void {
  so.state &= ~SS_ISCONNECTING;
  so.state |= SS_ISDISCONNECTING | SS_CANTRCVMORE | SS_CANTSENDMORE;
  sowakeupAll(so);
}

export function soisdisconnected(so: Socket): void {
  so.state &= ~(SS_ISCONNECTING | SS_ISCONNECTED | SS_ISDISCONNECTING);
  so.state |= SS_CANTRCVMORE | SS_CANTSENDMORE | SS_ISDISCONNECTED;
  sowakeupAll(so);
}

export function socantsendmore(so: Socket): void {
  so.state |= SS_CANTSENDMORE;
  sowwakeup(so);
}

export function socantrcvmore(so: Socket): void {
  so.state |= SS_CANTRCVMORE;
  sorwakeup(so);
}

/** Record an asynchronous error and wake everyone (a protocol's soerror + wakeups). */
export function soseterror(so: Socket, e: ErrnoName): void {
  so.error = e;
  sowakeupAll(so);
}

/**
 * sonewconn: a new socket for a connection arriving at listening socket `head`, on the complete
 * queue when `connected` (accept is woken), else on the incomplete queue until the protocol
 * calls soisconnected. Null when the queue is over 3/2 of the backlog (the caller refuses or
 * drops the connection). The protocol's attach must be synchronous here.
 */
export function sonewconn(head: Socket, connected: boolean): Socket | null {
  const net = head.net;
  if (head.q.size + head.q0.size > Math.floor((3 * head.qlimit) / 2)) {
    net.stats.listenQueueOverflows++;
    return null;
  }
  if (head.closing) return null;
  const so = new Socket(net, head.proto, head.type, head.cred, head.pid);
  so.options = head.options & ~SO_ACCEPTCONN;
  so.linger = head.linger;
  so.state = (head.state & SS_NBIO) | SS_NOFDREF;
  so.snd.lowat = head.snd.lowat;
  so.rcv.lowat = head.rcv.lowat;
  so.snd.timeo = head.snd.timeo;
  so.rcv.timeo = head.rcv.timeo;
  try {
    soreserve(so, head.snd.hiwat, head.rcv.hiwat);
    const r = head.proto.usrreqs.attach(so, head.proto.protocol, null);
    if (r instanceof Promise) throw new Error(`${head.proto.name}: attach must be synchronous for sonewconn`);
  } catch (e) {
    if (e instanceof KernelError) return null;
    throw e;
  }
  net.sockets.add(so);
  net.stats.created++;
  so.head = head;
  if (connected) {
    head.q.add(so);
    sorwakeup(head);
    head.cv.broadcast();
  } else {
    head.q0.add(so);
  }
  return so;
}

/** Take `so` off its listening socket's queues. */
export function soqremque(so: Socket): void {
  const head = so.head;
  if (head === null) return;
  head.q0.delete(so);
  head.q.delete(so);
  so.head = null;
}

// ---------------------------------------------------------------------------------------------
// sleeping

function checkAlive(so: Socket): void {
  if (so.closing) throw new KernelError('EBADF', 'the socket was closed while the call waited');
  if (so.net.kernel.halted) throw new KernelError('EINTR', 'the kernel halted while the call waited');
}

/** sbwait: sleep until the sockbuf changes; EAGAIN when its timeout passes first. */
async function sbwait(so: Socket, sb: Sockbuf): Promise<void> {
  if (sb.timeo > 0) {
    const k = so.net.kernel;
    const ok = await sb.cv.timedwait(null, (fire) => k.callouts.after(sb.timeo, fire));
    if (!ok) {
      checkAlive(so);
      throw new KernelError('EAGAIN', `timed out after ${sb.timeo} ms (SO_${sb === so.rcv ? 'RCV' : 'SND'}TIMEO)`);
    }
  } else {
    await sb.cv.waitUnlocked();
  }
  checkAlive(so);
}

/**
 * sblock/sbunlock: serialise sends (or receives) on a socket for a whole call, released while
 * the call sleeps. EAGAIN instead of waiting for it when `nbio`.
 */
class SbLock {
  private locked = false;
  constructor(private readonly so: Socket, private readonly sb: Sockbuf) {}

  async take(nbio: boolean): Promise<void> {
    if (!this.sb.lock.tryEnter()) {
      if (nbio) throw new KernelError('EAGAIN', 'another call is using the socket buffer');
      await this.sb.lock.enter();
    }
    this.locked = true;
    if (this.so.closing) {
      this.release();
      checkAlive(this.so);
    }
  }

  release(): void {
    if (!this.locked) return;
    this.locked = false;
    this.sb.lock.exit();
  }

  /** Sleep on the sockbuf without the lock, and take it back. */
  async sleep(): Promise<void> {
    this.release();
    try {
      await sbwait(this.so, this.sb);
    } finally {
      await this.take(false);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// creation, binding, listening, connecting

/** socreate: a new socket of (family, type, protocol), attached to its protocol. */
export async function socreate(net: Net, family: number, type: number, protocol: number, l: Lwp | null): Promise<Socket> {
  const pr = net.findProto(family, type, protocol);
  const cred = l?.cred.clone() ?? net.kernel.proc0.cred.clone();
  const so = new Socket(net, pr, type, cred, l?.proc.pid ?? 0);
  net.sockets.add(so);
  net.stats.created++;
  try {
    await pr.usrreqs.attach(so, protocol, l);
  } catch (e) {
    so.closing = true;
    await sofree(so);
    throw e;
  }
  return so;
}

/** Check a caller's address for this socket's family and return the protocol's copy. */
export function sockaddrIn(so: Socket, nam: Sockaddr | null, what: string): Sockaddr {
  if (nam === null || nam === undefined) throw new KernelError('EFAULT', `${what} needs an address`);
  if (typeof nam !== 'object' || !Number.isInteger(nam.family)) throw new KernelError('EINVAL', `${what}: the address has no integer family`);
  const d = so.domain;
  if (nam.family !== d.family) {
    throw new KernelError('EAFNOSUPPORT', `${what}: address family ${nam.family} on a ${d.name} socket (family ${d.family})`);
  }
  return d.checkAddr(nam);
}

export async function sobind(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
  const a = sockaddrIn(so, nam, 'bind');
  const bind = so.proto.usrreqs.bind;
  if (bind === undefined) notsupp(so, 'bind');
  await bind.call(so.proto.usrreqs, so, a, l);
}

export async function solisten(so: Socket, backlog: number, l: Lwp | null): Promise<void> {
  const listen = so.proto.usrreqs.listen;
  if ((so.proto.flags & PR_LISTEN) === 0 || listen === undefined) notsupp(so, 'listen');
  if ((so.state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) !== 0) {
    throw new KernelError('EINVAL', 'listen on a socket that is connected or connecting');
  }
  if (!Number.isInteger(backlog)) throw new KernelError('EINVAL', `backlog ${String(backlog)} is not an integer`);
  await listen.call(so.proto.usrreqs, so, l);
  if (so.q.size === 0) so.options |= SO_ACCEPTCONN;
  so.qlimit = Math.min(Math.max(backlog, 0), so.net.somaxconn);
}

/**
 * soconnect: start a connection (the caller waits for completion). A connected datagram socket
 * is disconnected first; AF_UNSPEC on a datagram socket only disconnects it.
 */
export async function soconnect(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
  if ((so.options & SO_ACCEPTCONN) !== 0) throw new KernelError('EOPNOTSUPP', 'connect on a listening socket');
  const connreq = (so.proto.flags & PR_CONNREQUIRED) !== 0;
  if ((so.state & (SS_ISCONNECTED | SS_ISCONNECTING)) !== 0) {
    if (connreq) throw new KernelError('EISCONN', 'the socket is already connected');
    await sodisconnect(so);
  }
  if (nam !== null && typeof nam === 'object' && nam.family === AF_UNSPEC && !connreq) return;
  const a = sockaddrIn(so, nam, 'connect');
  const connect = so.proto.usrreqs.connect;
  if (connect === undefined) notsupp(so, 'connect');
  await connect.call(so.proto.usrreqs, so, a, l);
}

export function soconnect2(so1: Socket, so2: Socket): void {
  const c2 = so1.proto.usrreqs.connect2;
  if (c2 === undefined) notsupp(so1, 'socketpair');
  c2.call(so1.proto.usrreqs, so1, so2);
}

export async function sodisconnect(so: Socket): Promise<void> {
  if ((so.state & SS_ISCONNECTED) === 0) throw new KernelError('ENOTCONN', 'the socket is not connected');
  if ((so.state & SS_ISDISCONNECTING) !== 0) throw new KernelError('EALREADY', 'the socket is already disconnecting');
  const d = so.proto.usrreqs.disconnect;
  if (d === undefined) notsupp(so, 'disconnect');
  await d.call(so.proto.usrreqs, so);
}

/**
 * Wait for a connect in progress to finish (the blocking half of connect(2)); reports the
 * result from so.error. The caller has checked for a non-blocking socket.
 */
export async function soconnectWait(so: Socket): Promise<void> {
  try {
    while ((so.state & SS_ISCONNECTING) !== 0 && so.error === null) {
      await so.cv.waitUnlocked();
      checkAlive(so);
    }
    if (so.error !== null) {
      const e = so.error;
      so.error = null;
      throw new KernelError(e, 'connect failed');
    }
  } finally {
    so.state &= ~SS_ISCONNECTING;
  }
}

/**
 * Wait for a connection to accept on listening socket `so` (EAGAIN when non-blocking, EINVAL
 * when not listening, ECONNABORTED after shutdown of the listening socket).
 */
export async function soacceptWait(so: Socket): Promise<void> {
  if ((so.proto.flags & PR_LISTEN) === 0) notsupp(so, 'accept');
  if ((so.options & SO_ACCEPTCONN) === 0) throw new KernelError('EINVAL', 'accept on a socket that is not listening');
  while (so.q.size === 0 && so.error === null) {
    if ((so.state & SS_CANTRCVMORE) !== 0) {
      so.error = 'ECONNABORTED';
      break;
    }
    if (so.nbio) throw new KernelError('EAGAIN', 'no connection is waiting to be accepted');
    await so.cv.waitUnlocked();
    checkAlive(so);
  }
  if (so.error !== null) {
    const e = so.error;
    so.error = null;
    throw new KernelError(e, 'accept');
  }
}

/**
 * Take the oldest complete connection off `so`'s queue (soqremque + soaccept); the caller has
 * an open file ready for it. Returns the new socket and its peer's address.
 */
export function sodequeue(so: Socket): { so: Socket; addr: Sockaddr | null } {
  const so2 = so.q.values().next().value;
  if (so2 === undefined) throw new KernelError('EAGAIN', 'no connection is waiting to be accepted');
  soqremque(so2);
  so2.state &= ~SS_NOFDREF;
  let addr: Sockaddr | null = null;
  if ((so2.state & SS_ISDISCONNECTED) !== 0 && (so2.proto.flags & PR_ABRTACPTDIS) !== 0) {
    so.sel.notify();
    return { so: so2, addr: null };
  }
  const acc = so2.proto.usrreqs.accept;
  if (acc !== undefined) addr = acc.call(so2.proto.usrreqs, so2);
  so.sel.notify();
  return { so: so2, addr };
}

/** shutdown(2). ENOTCONN for a socket that is neither connected nor listening. */
export async function soshutdown(so: Socket, how: number): Promise<void> {
  if (how !== SHUT_RD && how !== SHUT_WR && how !== SHUT_RDWR) throw new KernelError('EINVAL', `shutdown how ${how} is not SHUT_RD, SHUT_WR or SHUT_RDWR`);
  if ((so.state & (SS_ISCONNECTED | SS_ISCONNECTING | SS_ISDISCONNECTING)) === 0 && (so.options & SO_ACCEPTCONN) === 0) {
    throw new KernelError('ENOTCONN', 'shutdown of a socket that is not connected');
  }
  if (how === SHUT_RD || how === SHUT_RDWR) sorflush(so);
  if (how === SHUT_WR || how === SHUT_RDWR) {
    socantsendmore(so);
    if (so.pcb !== null) await so.proto.usrreqs.shutdown(so);
  }
}

/** Release control that will never be received. */
export function sodispose(so: Socket, control: readonly Control[] | null): void {
  if (control === null) return;
  const d = so.domain;
  for (const c of control) {
    if (c.files !== null && c.files.length > 0) so.net.stats.controlDisposed++;
    d.dispose?.(c);
  }
}

/** sorflush: no more receiving; drop what is buffered (passed files are released). */
export function sorflush(so: Socket): void {
  socantrcvmore(so);
  sodispose(so, so.rcv.flush());
}

// ---------------------------------------------------------------------------------------------
// close and free

/**
 * soabort: drop a connection that was never accepted (its listening socket is closing) or
 * that the kernel tears down at halt.
 */
export async function soabort(so: Socket): Promise<void> {
  so.closing = true;
  if (so.pcb !== null) {
    so.proto.usrreqs.abort(so);
    if (so.pcb !== null) so.proto.usrreqs.detach(so);
  }
  await sofree(so);
}

/**
 * soclose: the last descriptor went away. Aborts queued connections of a listening socket,
 * disconnects (waiting up to SO_LINGER seconds for the disconnect to finish on a blocking
 * socket), detaches from the protocol and frees.
 */
export async function soclose(so: Socket): Promise<void> {
  if (so.closing) return;
  so.closing = true;
  so.file = null;
  sowakeupAll(so);
  if ((so.options & SO_ACCEPTCONN) !== 0) {
    for (const s of [...so.q0, ...so.q]) {
      soqremque(s);
      await soabort(s);
    }
  }
  try {
    if (so.pcb !== null && (so.state & SS_ISCONNECTED) !== 0) {
      if ((so.state & SS_ISDISCONNECTING) === 0) {
        try {
          await sodisconnect(so);
        } catch (e) {
          if (!(e instanceof KernelError)) throw e;
        }
      }
      if ((so.options & SO_LINGER) !== 0 && so.linger > 0 && !so.nbio) {
        const k = so.net.kernel;
        const deadline = k.host.clockMs(1 /* MONOTONIC */) + so.linger * 1000;
        while ((so.state & SS_ISCONNECTED) !== 0 && !k.halted) {
          const left = deadline - k.host.clockMs(1);
          if (left <= 0) break;
          const woke = await so.cv.timedwait(null, (fire) => k.callouts.after(left, fire));
          if (!woke) break;
        }
      }
    }
  } finally {
    if (so.pcb !== null) so.proto.usrreqs.detach(so);
    await sofree(so);
  }
}

/** sofree: release buffers (disposing passed files), leave the registry, wake every sleeper. */
export async function sofree(so: Socket): Promise<void> {
  if (!so.net.sockets.has(so)) return;
  so.state |= SS_NOFDREF | SS_CANTRCVMORE | SS_CANTSENDMORE;
  so.closing = true;
  soqremque(so);
  so.net.sockets.delete(so);
  so.net.stats.freed++;
  sodispose(so, so.rcv.flush());
  sodispose(so, so.snd.flush());
  sowakeupAll(so);
  await so.domain.sofree?.(so);
}

// ---------------------------------------------------------------------------------------------
// send

function cmsgSpace(c: readonly Cmsg[] | null): number {
  if (c === null) return 0;
  let n = 0;
  for (const x of c) n += controlSpace(x.fds !== undefined ? x.fds.length * 4 : x.data?.byteLength ?? 0);
  return n;
}

/** Bytes a sender may queue now. */
export function sosendspace(so: Socket): number {
  const f = so.proto.usrreqs.sendspace;
  return f !== undefined ? f.call(so.proto.usrreqs, so) : so.snd.space();
}

function isTransient(e: unknown): boolean {
  return e instanceof KernelError && (e.code === 'EAGAIN' || e.code === 'EINTR');
}

/**
 * sosend: send the caller's bytes (copied in here) with an optional destination and control.
 * Atomic protocols send one record (EMSGSIZE above SO_SNDBUF) and wait for room for all of it;
 * stream protocols send as room allows. Returns the bytes sent.
 */
export async function sosend(
  so: Socket, l: Lwp | null, iov: readonly Uint8Array[], addr: Sockaddr | null, control: readonly Cmsg[] | null, flags: number,
): Promise<number> {
  const pr = so.proto;
  const atomic = (pr.flags & PR_ATOMIC) !== 0;
  const uio = new Uio(iov);
  let clen = cmsgSpace(control);
  let ctl = control;
  const nbio = so.nbio || (flags & (MSG_DONTWAIT | MSG_NBIO)) !== 0;
  const dst = addr === null ? null : sockaddrIn(so, addr, 'send');
  if ((flags & MSG_OOB) !== 0 && pr.usrreqs.sendoob === undefined) notsupp(so, 'out-of-band data');
  let sent = 0;
  const lock = new SbLock(so, so.snd);
  await lock.take(nbio);
  try {
    for (;;) {
      if ((so.state & SS_CANTSENDMORE) !== 0) throw new KernelError('EPIPE', 'the socket cannot send any more (shut down or disconnected)');
      if (so.error !== null) {
        const e = so.error;
        so.error = null;
        throw new KernelError(e, 'an earlier error on the socket');
      }
      if ((so.state & SS_ISCONNECTED) === 0) {
        if ((pr.flags & PR_CONNREQUIRED) !== 0) {
          if (uio.resid > 0 || clen === 0) throw new KernelError('ENOTCONN', 'the socket is not connected');
        } else if (dst === null) {
          throw new KernelError('EDESTADDRREQ', 'the socket is not connected and no destination was given');
        }
      }
      if ((atomic && uio.resid > so.snd.hiwat) || clen > so.snd.hiwat) {
        throw new KernelError('EMSGSIZE', `a message of ${uio.resid + clen} bytes exceeds the send buffer (SO_SNDBUF ${so.snd.hiwat})`);
      }
      if (!atomic && uio.resid === 0 && clen === 0) return 0;
      let space = sosendspace(so);
      if ((flags & MSG_OOB) !== 0) space += 1024;
      if (space < uio.resid + clen && (atomic || space < so.snd.lowat || space < clen)) {
        if (nbio) throw new KernelError('EAGAIN', 'the send buffer is full');
        await lock.sleep();
        continue;
      }
      space -= clen;
      do {
        const len = atomic ? uio.resid : Math.min(uio.resid, Math.max(space, 0));
        const data = uio.copyin(len);
        space -= len;
        if ((so.state & SS_CANTSENDMORE) !== 0) throw new KernelError('EPIPE', 'the socket cannot send any more');
        const eor = (flags & MSG_EOR) !== 0 && uio.resid === 0 ? MSG_EOR : 0;
        const r = (flags & MSG_OOB) !== 0
          ? pr.usrreqs.sendoob!(so, data, ctl)
          : pr.usrreqs.send(so, data, dst, ctl, l, (flags & ~MSG_EOR) | eor);
        if (r instanceof Promise) await r;
        sent += len;
        ctl = null;
        clen = 0;
      } while (uio.resid > 0 && space > 0);
      if (uio.resid === 0) return sent;
    }
  } catch (e) {
    if (sent > 0 && isTransient(e)) return sent;
    if (e instanceof KernelError && e.code === 'ENOBUFS') so.net.stats.nobufs++;
    throw e;
  } finally {
    lock.release();
  }
}

// ---------------------------------------------------------------------------------------------
// receive

/** Bytes a stream reader can take now without crossing into a record that carries control. */
function streamAvail(sb: Sockbuf): number {
  let n = 0;
  let first = true;
  for (const r of sb.records()) {
    if (!first && (r.control !== null || r.addr !== null)) break;
    n += r.len;
    first = false;
  }
  return n;
}

/**
 * soreceive: copy received data into the caller's ranges. Datagram and seqpacket sockets return
 * one record (MSG_TRUNC when it did not fit; the rest is discarded), with the sender's address
 * for PR_ADDR protocols; stream sockets return what is there (at least SO_RCVLOWAT bytes, or all
 * that was asked with MSG_WAITALL), 0 at end of file. MSG_PEEK leaves the data queued (and any
 * passed descriptors unreceived). Control comes back in kernel form for the caller.
 */
export async function soreceive(so: Socket, l: Lwp | null, iov: readonly Uint8Array[], flags: number): Promise<ReceiveResult> {
  const pr = so.proto;
  const uio = new Uio(iov);
  if ((flags & MSG_OOB) !== 0) {
    const oob = pr.usrreqs.recvoob;
    if (oob === undefined) notsupp(so, 'out-of-band data');
    const buf = new Uint8Array(uio.resid);
    const n = oob.call(pr.usrreqs, so, buf, flags);
    uio.copyout(buf.subarray(0, n));
    return { n, addr: null, flags: MSG_OOB, control: null };
  }
  const atomic = (pr.flags & PR_ATOMIC) !== 0;
  const peek = (flags & MSG_PEEK) !== 0;
  const nbio = so.nbio || (flags & (MSG_DONTWAIT | MSG_NBIO)) !== 0;
  const sb = so.rcv;
  const out: ReceiveResult = { n: 0, addr: null, flags: 0, control: null };
  const lock = new SbLock(so, sb);
  await lock.take(nbio);
  try {
    // wait until there is something to return
    for (;;) {
      const rec = sb.first();
      let wait = rec === undefined;
      if (!wait && !atomic) {
        const avail = streamAvail(sb);
        const boundary = sb.second() !== undefined || (rec !== undefined && rec.control !== null);
        wait = !boundary && avail < uio.resid && (avail < sb.lowat || ((flags & MSG_WAITALL) !== 0 && uio.resid <= sb.hiwat));
      }
      if (!wait) break;
      if (so.error !== null) {
        if (rec !== undefined) break;
        const e = so.error;
        if (!peek) so.error = null;
        throw new KernelError(e, 'an earlier error on the socket');
      }
      if ((so.state & SS_CANTRCVMORE) !== 0) {
        if (rec !== undefined) break;
        return out;
      }
      if ((so.state & (SS_ISCONNECTED | SS_ISCONNECTING)) === 0 && (pr.flags & PR_CONNREQUIRED) !== 0) {
        throw new KernelError('ENOTCONN', 'the socket is not connected');
      }
      if (uio.resid === 0) return out;
      if (nbio) throw new KernelError('EAGAIN', 'no data is waiting');
      await lock.sleep();
    }

    if (atomic) {
      const rec = sb.first()!;
      if ((pr.flags & PR_ADDR) !== 0) out.addr = rec.addr;
      if (!peek) out.control = sb.takeControl(rec);
      const n = sb.peekRecord(rec, uio, rec.len);
      out.n = n;
      if (n < rec.len) out.flags |= MSG_TRUNC;
      if (rec.eor) out.flags |= MSG_EOR;
      if (!peek) sb.dropRecord();
    } else {
      // stream: deliver the first record's control with its bytes, then bytes up to the next
      // record that carries control; with MSG_WAITALL keep going until the request is filled
      for (;;) {
        if (peek) {
          let first = true;
          for (const r of sb.records()) {
            if (uio.resid === 0 || (!first && (r.control !== null || r.addr !== null))) break;
            first = false;
            out.n += sb.peekRecord(r, uio, r.len);
          }
          break;
        }
        let rec = sb.first();
        if (rec !== undefined && rec.control !== null && out.n === 0 && out.control === null) out.control = sb.takeControl(rec);
        let first = true;
        while ((rec = sb.first()) !== undefined && uio.resid > 0) {
          if ((!first || out.n > 0) && (rec.control !== null || rec.addr !== null)) break;
          first = false;
          const n = sb.peekRecord(rec, uio, rec.len);
          out.n += n;
          sb.dropData(n);
          if (rec.len === 0) sodispose(so, sb.dropRecord());
        }
        // an emptied control-only record
        if ((rec = sb.first()) !== undefined && rec.len === 0 && rec.control === null && !rec.open) sb.dropRecord();
        if (out.n > 0 && (pr.flags & PR_WANTRCVD) !== 0 && so.pcb !== null) pr.usrreqs.rcvd?.(so, flags, l);
        if ((flags & MSG_WAITALL) === 0 || uio.resid === 0) break;
        const next = sb.first();
        if (next !== undefined) {
          if (next.control !== null || next.addr !== null) break;
          continue;
        }
        if (so.error !== null || (so.state & SS_CANTRCVMORE) !== 0 || nbio) break;
        await lock.sleep();
      }
    }
    if (!peek && atomic && (pr.flags & PR_WANTRCVD) !== 0 && so.pcb !== null) pr.usrreqs.rcvd?.(so, flags, l);
    return out;
  } catch (e) {
    if (out.n > 0 && e instanceof KernelError) return out;
    sodispose(so, out.control);
    throw e;
  } finally {
    lock.release();
  }
}

// ---------------------------------------------------------------------------------------------
// poll

function soreadable(so: Socket): boolean {
  const sb = so.rcv;
  if (!sb.empty) {
    if ((so.proto.flags & PR_ATOMIC) !== 0 || sb.data >= sb.lowat || sb.second() !== undefined || sb.first()!.control !== null) return true;
  }
  return (so.state & SS_CANTRCVMORE) !== 0 || so.q.size > 0 || so.error !== null;
}

function sowritable(so: Socket): boolean {
  return (sosendspace(so) >= so.snd.lowat && ((so.state & SS_ISCONNECTED) !== 0 || (so.proto.flags & PR_CONNREQUIRED) === 0))
    || (so.state & SS_CANTSENDMORE) !== 0 || so.error !== null;
}

/**
 * sopoll: readiness for poll(2). POLLIN: data at the low-water mark, end of file, a pending
 * error or a connection to accept; POLLOUT: room at the low-water mark on a connected (or
 * connectionless) socket, or an error to report. POLLHUP when both directions are shut (the
 * peer is gone), as FreeBSD and Linux report (NetBSD reports only POLLIN/POLLOUT); POLLOUT is
 * then cleared as POSIX requires.
 */
export function sopoll(so: Socket, events: number, pw: PollWait | null): number {
  let r = 0;
  if ((events & (POLLIN | POLLRDNORM)) !== 0 && soreadable(so)) r |= events & (POLLIN | POLLRDNORM);
  if ((events & (POLLOUT | POLLWRNORM)) !== 0 && sowritable(so)) r |= events & (POLLOUT | POLLWRNORM);
  if ((events & (POLLPRI | POLLRDBAND)) !== 0 && (so.state & SS_POLLRDBAND) !== 0) r |= events & (POLLPRI | POLLRDBAND);
  const extra = so.proto.usrreqs.poll;
  if (extra !== undefined) r |= extra.call(so.proto.usrreqs, so, events);
  if ((so.state & SS_CANTRCVMORE) !== 0 && (so.state & SS_CANTSENDMORE) !== 0 && (so.options & SO_ACCEPTCONN) === 0) {
    r = (r | POLLHUP) & ~(POLLOUT | POLLWRNORM);
  }
  if (r === 0) so.sel.record(pw);
  return r;
}

// ---------------------------------------------------------------------------------------------
// socket options

const BOOL_OPTS = SO_DEBUG | SO_KEEPALIVE | SO_DONTROUTE | SO_USELOOPBACK | SO_BROADCAST | SO_REUSEADDR | SO_REUSEPORT
  | SO_OOBINLINE | SO_TIMESTAMP | SO_NOSIGPIPE;
const BOOL_OPT_LIST = [SO_DEBUG, SO_KEEPALIVE, SO_DONTROUTE, SO_USELOOPBACK, SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT, SO_OOBINLINE, SO_TIMESTAMP, SO_NOSIGPIPE];

/** An int option value: a number or a boolean (EINVAL otherwise). */
export function optInt(value: unknown, name: string): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) return value;
  throw new KernelError('EINVAL', `option ${name} takes an int, not ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
}

function optName(name: number): string {
  return `0x${name.toString(16)}`;
}

function timevalToMs(v: unknown, name: string): number {
  if (typeof v !== 'object' || v === null) throw new KernelError('EINVAL', `option ${name} takes { sec, usec }`);
  const { sec, usec } = v as Partial<Timeval>;
  if (typeof sec !== 'number' || typeof usec !== 'number' || !Number.isInteger(sec) || !Number.isInteger(usec)) {
    throw new KernelError('EINVAL', `option ${name} takes integer { sec, usec }`);
  }
  if (sec < 0 || usec < 0 || usec >= 1000000) throw new KernelError('EDOM', `timeout ${sec} s ${usec} us is out of range`);
  const ms = sec * 1000 + Math.ceil(usec / 1000);
  if (ms > 0x7fffffff) throw new KernelError('EDOM', `timeout of ${sec} s is too long`);
  return ms;
}

function msToTimeval(ms: number): Timeval {
  return { sec: Math.floor(ms / 1000), usec: (ms % 1000) * 1000 };
}

/** setsockopt(2). SOL_SOCKET options are the socket layer's; other levels go to the protocol. */
export async function sosetopt(so: Socket, level: number, name: number, value: unknown): Promise<void> {
  const pr = so.proto;
  if (level !== SOL_SOCKET) {
    if (pr.ctloutput === undefined) throw new KernelError('ENOPROTOOPT', `level ${level} option ${optName(name)} on a ${pr.name} socket`);
    await pr.ctloutput(PRCO_SETOPT, so, level, name, value);
    return;
  }
  if ((BOOL_OPTS & name) !== 0 && BOOL_OPT_LIST.includes(name)) {
    if (optInt(value, optName(name)) !== 0) so.options |= name;
    else so.options &= ~name;
  } else {
    switch (name) {
      case SO_LINGER: {
        if (typeof value !== 'object' || value === null) throw new KernelError('EINVAL', 'SO_LINGER takes { onoff, linger }');
        const { onoff, linger } = value as Partial<Linger>;
        const on = optInt(onoff ?? 0, 'SO_LINGER onoff');
        const secs = optInt(linger ?? 0, 'SO_LINGER linger');
        if (secs < 0 || secs > 0xffff) throw new KernelError('EDOM', `linger time ${secs} s is out of range`);
        so.linger = secs;
        if (on !== 0) so.options |= SO_LINGER;
        else so.options &= ~SO_LINGER;
        break;
      }
      case SO_SNDBUF:
      case SO_RCVBUF: {
        const v = optInt(value, name === SO_SNDBUF ? 'SO_SNDBUF' : 'SO_RCVBUF');
        if (v < 1) throw new KernelError('EINVAL', `buffer size ${v} must be positive`);
        (name === SO_SNDBUF ? so.snd : so.rcv).reserve(v, sbmaxAdj(so.net));
        sowakeupAll(so);
        break;
      }
      case SO_SNDLOWAT:
      case SO_RCVLOWAT: {
        const v = optInt(value, name === SO_SNDLOWAT ? 'SO_SNDLOWAT' : 'SO_RCVLOWAT');
        if (v < 1) throw new KernelError('EINVAL', `low-water mark ${v} must be positive`);
        const sb = name === SO_SNDLOWAT ? so.snd : so.rcv;
        sb.lowat = Math.min(v, sb.hiwat);
        sowakeupAll(so);
        break;
      }
      case SO_SNDTIMEO:
      case SO_RCVTIMEO: {
        const ms = timevalToMs(value, name === SO_SNDTIMEO ? 'SO_SNDTIMEO' : 'SO_RCVTIMEO');
        (name === SO_SNDTIMEO ? so.snd : so.rcv).timeo = ms;
        break;
      }
      default:
        throw new KernelError('ENOPROTOOPT', `socket option ${optName(name)} cannot be set`);
    }
  }
  // the protocol sees SOL_SOCKET changes too (keepalive, buffer sizes); its answer is advisory
  if (pr.ctloutput !== undefined) {
    try {
      await pr.ctloutput(PRCO_SETOPT, so, level, name, value);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
  }
}

/** getsockopt(2). SO_ERROR reads and clears the pending error. */
export async function sogetopt(so: Socket, level: number, name: number): Promise<unknown> {
  const pr = so.proto;
  if (level !== SOL_SOCKET) {
    if (pr.ctloutput === undefined) throw new KernelError('ENOPROTOOPT', `level ${level} option ${optName(name)} on a ${pr.name} socket`);
    return pr.ctloutput(PRCO_GETOPT, so, level, name, null);
  }
  if (name === SO_ACCEPTCONN || BOOL_OPT_LIST.includes(name)) return (so.options & name) !== 0 ? 1 : 0;
  switch (name) {
    case SO_LINGER: return { onoff: (so.options & SO_LINGER) !== 0 ? 1 : 0, linger: so.linger } satisfies Linger;
    case SO_TYPE: return so.type;
    case SO_ERROR: {
      const e = so.error;
      so.error = null;
      return e === null ? 0 : errnoFromName(e);
    }
    case SO_SNDBUF: return so.snd.hiwat;
    case SO_RCVBUF: return so.rcv.hiwat;
    case SO_SNDLOWAT: return so.snd.lowat;
    case SO_RCVLOWAT: return so.rcv.lowat;
    case SO_SNDTIMEO: return msToTimeval(so.snd.timeo);
    case SO_RCVTIMEO: return msToTimeval(so.rcv.timeo);
    default:
      throw new KernelError('ENOPROTOOPT', `socket option ${optName(name)} is not known`);
  }
}

/** getsockname */
export function sosockaddr(so: Socket): Sockaddr {
  return so.proto.usrreqs.sockaddr(so);
}

/** getpeername: ENOTCONN unless connected. */
export function sopeeraddr(so: Socket): Sockaddr {
  if ((so.state & SS_ISCONNECTED) === 0) throw new KernelError('ENOTCONN', 'the socket is not connected');
  return so.proto.usrreqs.peeraddr(so);
}
