/**
 * The local domain, AF_LOCAL (AF_UNIX): NetBSD's uipc_usrreq.c. Stream, datagram and seqpacket
 * sockets between processes of one kernel, named by socket nodes in the file system.
 *
 * Semantics (NetBSD's):
 *  - bind creates a socket node (mode 0777 & ~umask) and fails with EADDRINUSE when the name
 *    exists (the node outlives the socket until unlinked); a socket binds once (EINVAL).
 *    Addresses are paths of at most 253 bytes (a sockaddr_un fits in 255 bytes; EINVAL beyond).
 *  - connect looks the node up: ENOENT, ENOTSOCK for another file type, EACCES without write
 *    permission, ECONNREFUSED when no socket is bound there, the socket is not listening or its
 *    queue is full (3/2 of the backlog), EPROTOTYPE for a socket of another type.
 *  - A stream or seqpacket connect completes at once (the server socket waits on the listen
 *    queue), unless either side set LOCAL_CONNWAIT: then the connecting socket stays in
 *    ISCONNECTING until accept (EINPROGRESS when non-blocking).
 *  - Data goes straight into the peer's receive buffer; a sender may queue up to its SO_SNDBUF
 *    bytes there (back-pressure: it sleeps until the reader takes some). Datagrams larger than
 *    SO_SNDBUF fail with EMSGSIZE; a datagram that does not fit the receiver's SO_RCVBUF fails
 *    with ENOBUFS (it is not queued, the sender does not sleep).
 *  - Closing one end disconnects the other (reads see end of file, writes EPIPE); closing a
 *    datagram receiver resets connected senders (ECONNRESET once, then EDESTADDRREQ).
 *  - Sending to a peer that shut its receive side (SHUT_RD) fails with EPIPE (as Linux; NetBSD
 *    would queue bytes no one can read).
 *  - SCM_RIGHTS passes open files (rights.ts); LOCAL_PEEREID reports the peer's pid and ids
 *    captured at connect (the server's at bind for the client); LOCAL_CONNWAIT as above.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { AF_LOCAL, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, SO_ACCEPTCONN, type Cmsg, type Sockaddr, type Stat } from '../../kern/types.js';
import type { Vnode } from '../../vfs/vnode.js';
import { utf8Length, type Domain } from '../domain.js';
import {
  PR_ADDR, PR_ATOMIC, PR_CONNREQUIRED, PR_LISTEN, PR_RIGHTS, PR_WANTRCVD, PRCO_GETOPT, PRCO_SETOPT,
  type Control, type Protosw, type Usrreqs,
} from '../protosw.js';
import {
  SS_CANTRCVMORE, SS_ISCONNECTED, SS_ISCONNECTING, Socket, optInt, soisconnected, soisconnecting, soisdisconnected, sonewconn, soreserve,
  socantrcvmore, sorwakeup, sowwakeup,
} from '../socket.js';
import { Rights } from './rights.js';
import { vsockCreate, vsockLookup } from './vsock.js';

/** SOL_LOCAL and its options (sys/un.h). */
export const SOL_LOCAL = 0;
export const LOCAL_CREDS = 0x0001, LOCAL_CONNWAIT = 0x0002, LOCAL_PEEREID = 0x0003;

/** The longest path in an AF_LOCAL address: sa_len is a byte, 2 bytes go to length and family. */
export const LOCAL_PATH_MAX = 253;

const UNP_WANTCRED = 0x01, UNP_CONNWAIT = 0x02, UNP_EIDSVALID = 0x04, UNP_EIDSBIND = 0x08, UNP_BUSY = 0x10;

/** What LOCAL_PEEREID reports (struct unpcbid). */
export interface UnpcbId { pid: number; euid: number; egid: number }

/** The protocol control block of an AF_LOCAL socket (struct unpcb). */
export class Unpcb {
  /** The socket node this socket is bound to (referenced), or null. */
  vnode: Vnode | null = null;
  /** Bound address. */
  addr: Sockaddr | null = null;
  /** The peer: for streams both ways, for datagrams the socket sends go to. */
  conn: Unpcb | null = null;
  /** Datagram sockets connected to this one. */
  readonly refs = new Set<Unpcb>();
  flags = 0;
  connid: UnpcbId | null = null;

  constructor(readonly so: Socket) {}
}

/** The unnamed address (sun_noname): getsockname of an unbound socket, sender of an unbound one. */
function noname(): Sockaddr {
  return { family: AF_LOCAL, path: '' };
}

function unpOf(so: Socket): Unpcb {
  const u = so.pcb;
  if (!(u instanceof Unpcb)) throw new KernelError('EINVAL', 'the socket has no AF_LOCAL control block');
  return u;
}

/** Tunables (sysctl net.local.*). */
export interface LocalSpaces {
  streamSend: number;
  streamRecv: number;
  dgramSend: number;
  dgramRecv: number;
}

/** PIPSIZ: NetBSD's stream buffer size for AF_LOCAL. */
export const PIPSIZ = 8192;

export class LocalDomain implements Domain {
  readonly family = AF_LOCAL;
  readonly name = 'local';
  readonly protosw: Protosw[];
  /** Socket nodes and the sockets bound to them (v_socket). */
  readonly bound = new Map<Vnode, Socket>();
  /** Every AF_LOCAL socket with a control block. */
  readonly pcbs = new Set<Unpcb>();
  readonly rights: Rights;
  readonly spaces: LocalSpaces = { streamSend: PIPSIZ, streamRecv: PIPSIZ, dgramSend: 2 * 1024, dgramRecv: 16 * 1024 };

  constructor(readonly kernel: Kernel) {
    this.rights = new Rights(kernel);
    const u = new LocalUsrreqs(this);
    this.protosw = [
      { type: SOCK_STREAM, protocol: 0, flags: PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS | PR_LISTEN, name: 'local stream', usrreqs: u, ctloutput: (op, so, level, name, value) => this.ctloutput(op, so, level, name, value) },
      { type: SOCK_DGRAM, protocol: 0, flags: PR_ATOMIC | PR_ADDR | PR_RIGHTS, name: 'local dgram', usrreqs: u, ctloutput: (op, so, level, name, value) => this.ctloutput(op, so, level, name, value) },
      { type: SOCK_SEQPACKET, protocol: 0, flags: PR_ATOMIC | PR_CONNREQUIRED | PR_WANTRCVD | PR_RIGHTS | PR_LISTEN, name: 'local seqpacket', usrreqs: u, ctloutput: (op, so, level, name, value) => this.ctloutput(op, so, level, name, value) },
    ];
  }

  checkAddr(sa: Sockaddr): Sockaddr {
    const path = sa.path;
    if (typeof path !== 'string') throw new KernelError('EINVAL', 'an AF_LOCAL address needs a path');
    if (utf8Length(path) > LOCAL_PATH_MAX) {
      throw new KernelError('EINVAL', `AF_LOCAL path of ${utf8Length(path)} bytes does not fit a sockaddr_un (at most ${LOCAL_PATH_MAX})`);
    }
    if (path.indexOf('\0') >= 0) throw new KernelError('EINVAL', 'AF_LOCAL path contains a NUL byte');
    return { family: AF_LOCAL, path };
  }

  addrLen(sa: Sockaddr): number {
    return 2 + utf8Length(sa.path ?? '');
  }

  externalize(l: Lwp, c: Control, cloexec: boolean): Cmsg {
    if (c.files === null) return { level: c.level, type: c.type, data: c.data ?? new Uint8Array(0) };
    return this.rights.externalize(l, c, cloexec);
  }

  dispose(c: Control): void {
    this.rights.dispose(c);
  }

  sofree(_so: Socket): void {
    if (this.rights.total > 0) this.gc();
  }

  gc(): void {
    const pcbs = this.pcbs;
    this.rights.gc(function* () { for (const u of pcbs) yield u.so; });
  }

  stats(): Record<string, number> {
    return { sockets: this.pcbs.size, bound: this.bound.size, inflight: this.rights.total, collected: this.rights.collected };
  }

  /** SOL_LOCAL options. */
  ctloutput(op: number, so: Socket, level: number, name: number, value: unknown): unknown {
    const unp = unpOf(so);
    if (level !== SOL_LOCAL) throw new KernelError('ENOPROTOOPT', `level ${level} option ${name} on an AF_LOCAL socket`);
    if (op === PRCO_SETOPT) {
      switch (name) {
        case LOCAL_CONNWAIT:
        case LOCAL_CREDS: {
          const bit = name === LOCAL_CONNWAIT ? UNP_CONNWAIT : UNP_WANTCRED;
          if (optInt(value, name === LOCAL_CONNWAIT ? 'LOCAL_CONNWAIT' : 'LOCAL_CREDS') !== 0) unp.flags |= bit;
          else unp.flags &= ~bit;
          return undefined;
        }
        default:
          throw new KernelError('ENOPROTOOPT', `AF_LOCAL option ${name} cannot be set`);
      }
    }
    if (op === PRCO_GETOPT) {
      switch (name) {
        case LOCAL_PEEREID:
          if ((unp.flags & UNP_EIDSVALID) === 0 || unp.connid === null) throw new KernelError('EINVAL', 'the peer\'s ids are not known (not connected)');
          return { ...unp.connid } satisfies UnpcbId;
        case LOCAL_CREDS:
          return (unp.flags & UNP_WANTCRED) !== 0 ? 1 : 0;
        case LOCAL_CONNWAIT:
          return (unp.flags & UNP_CONNWAIT) !== 0 ? 1 : 0;
        default:
          throw new KernelError('ENOPROTOOPT', `AF_LOCAL option ${name} is not known`);
      }
    }
    throw new KernelError('EINVAL', `ctloutput op ${op}`);
  }

  // -------------------------------------------------------------------------------------------
  // connections

  /** unp_connect2: join `so` to `so2` (stream: both ways; datagram: `so` sends to `so2`). */
  connect2(so: Socket, so2: Socket, connect: boolean): void {
    if (so.type !== so2.type) throw new KernelError('EPROTOTYPE', 'the sockets are of different types');
    const unp = unpOf(so);
    const unp2 = unpOf(so2);
    unp.conn = unp2;
    if (so.type === SOCK_DGRAM) {
      unp2.refs.add(unp);
      soisconnected(so);
      return;
    }
    unp2.conn = unp;
    if (connect && ((unp.flags | unp2.flags) & UNP_CONNWAIT) !== 0) soisconnecting(so);
    else soisconnected(so);
    soisconnected(so2);
  }

  /** unp_disconnect */
  disconnect(unp: Unpcb): void {
    const unp2 = unp.conn;
    if (unp2 === null) return;
    unp.conn = null;
    const so = unp.so;
    if (so.type === SOCK_DGRAM) {
      unp2.refs.delete(unp);
      so.state &= ~SS_ISCONNECTED;
      return;
    }
    soisdisconnected(so);
    unp2.conn = null;
    soisdisconnected(unp2.so);
  }

  /** unp_drop: fail a connection with `e`. */
  drop(unp: Unpcb, e: 'ECONNRESET' | 'ECONNABORTED'): void {
    unp.so.error = e;
    this.disconnect(unp);
    sorwakeup(unp.so);
    sowwakeup(unp.so);
  }

  /** unp_connect: connect `so` to the socket bound at `nam`. */
  async connect(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
    const unp = unpOf(so);
    if ((unp.flags & UNP_BUSY) !== 0) throw new KernelError('EALREADY', 'a bind or connect is already in progress on the socket');
    unp.flags |= UNP_BUSY;
    const vfs = l.kernel.vfs;
    try {
      const vp = await vsockLookup(l, nam.path!);
      try {
        if (so.closing || so.pcb !== unp) throw new KernelError('EBADF', 'the socket was closed during connect');
        const so2 = this.bound.get(vp);
        if (so2 === undefined || so2.closing) throw new KernelError('ECONNREFUSED', `no socket is bound to '${nam.path!}'`);
        if (so.type !== so2.type) throw new KernelError('EPROTOTYPE', `'${nam.path!}' is a socket of another type`);
        let target = so2;
        if ((so.proto.flags & PR_CONNREQUIRED) !== 0) {
          if ((so2.options & SO_ACCEPTCONN) === 0) throw new KernelError('ECONNREFUSED', `the socket at '${nam.path!}' is not listening`);
          const so3 = sonewconn(so2, false);
          if (so3 === null) throw new KernelError('ECONNREFUSED', `the listen queue of '${nam.path!}' is full`);
          const unp2 = unpOf(so2);
          const unp3 = unpOf(so3);
          if (unp2.addr !== null) unp3.addr = { ...unp2.addr };
          unp3.flags = unp2.flags & (UNP_WANTCRED | UNP_CONNWAIT);
          unp3.connid = { pid: l.proc.pid, euid: l.cred.euid, egid: l.cred.egid };
          unp3.flags |= UNP_EIDSVALID;
          if ((unp2.flags & UNP_EIDSBIND) !== 0 && unp2.connid !== null) {
            unp.connid = { ...unp2.connid };
            unp.flags |= UNP_EIDSVALID;
          }
          target = so3;
        }
        this.connect2(so, target, true);
      } finally {
        vfs?.rele(vp);
      }
    } finally {
      unp.flags &= ~UNP_BUSY;
    }
  }

  /** unp_bind */
  async bind(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
    const unp = unpOf(so);
    if (unp.vnode !== null) throw new KernelError('EINVAL', `the socket is already bound to '${unp.addr?.path ?? ''}'`);
    if ((unp.flags & UNP_BUSY) !== 0) throw new KernelError('EALREADY', 'a bind or connect is already in progress on the socket');
    unp.flags |= UNP_BUSY;
    try {
      const vp = await vsockCreate(l, nam.path!, 0o777);
      if (so.closing || so.pcb !== unp) {
        l.kernel.vfs?.rele(vp);
        throw new KernelError('EBADF', 'the socket was closed during bind');
      }
      this.bound.set(vp, so);
      unp.vnode = vp;
      unp.addr = { family: AF_LOCAL, path: nam.path! };
      unp.connid = { pid: l.proc.pid, euid: l.cred.euid, egid: l.cred.egid };
      unp.flags |= UNP_EIDSBIND;
    } finally {
      unp.flags &= ~UNP_BUSY;
    }
  }

  /** unp_detach */
  detach(so: Socket): void {
    const unp = unpOf(so);
    const vp = unp.vnode;
    if (vp !== null) {
      unp.vnode = null;
      if (this.bound.get(vp) === so) this.bound.delete(vp);
      so.net.kernel.vfs?.rele(vp);
    }
    if (unp.conn !== null) this.disconnect(unp);
    for (const ref of [...unp.refs]) this.drop(ref, 'ECONNRESET');
    soisdisconnected(so);
    so.pcb = null;
    this.pcbs.delete(unp);
  }

  /**
   * unp_send: queue `data` on the peer (synchronous unless a datagram goes to a path, which is
   * looked up first).
   */
  send(so: Socket, data: Uint8Array, nam: Sockaddr | null, cmsgs: readonly Cmsg[] | null, l: Lwp | null): void | Promise<void> {
    let control: Control[] | null = null;
    let clen = 0;
    if (cmsgs !== null && cmsgs.length > 0) {
      if (l === null) throw new KernelError('EINVAL', 'passing descriptors needs a calling process');
      const r = this.rights.internalize(l, cmsgs);
      control = r.control;
      clen = r.len;
    }
    if (so.type === SOCK_DGRAM && nam !== null) return this.sendto(so, data, nam, control, clen, l);
    try {
      this.output(so, data, control, clen);
      control = null;
    } finally {
      if (control !== null) for (const c of control) this.rights.dispose(c);
    }
  }

  /** A datagram to a path: connect for the one message, as NetBSD does. */
  private async sendto(so: Socket, data: Uint8Array, nam: Sockaddr, control: Control[] | null, clen: number, l: Lwp | null): Promise<void> {
    const unp = unpOf(so);
    try {
      if ((so.state & SS_ISCONNECTED) !== 0) throw new KernelError('EISCONN', 'sendto with an address on a connected socket');
      if (l === null) throw new KernelError('EINVAL', 'sendto a path needs a calling process');
      await this.connect(so, nam, l);
      try {
        this.output(so, data, control, clen);
        control = null;
      } finally {
        this.disconnect(unp);
      }
    } finally {
      if (control !== null) for (const c of control) this.rights.dispose(c);
    }
  }

  /** Append to the connected peer's receive buffer; the control is queued or the call throws. */
  private output(so: Socket, data: Uint8Array, control: Control[] | null, clen: number): void {
    const unp = unpOf(so);
    const peer = unp.conn;
    if (so.type === SOCK_DGRAM) {
      if ((so.state & SS_ISCONNECTED) === 0 || peer === null) throw new KernelError('ENOTCONN', 'the socket is not connected');
      const so2 = peer.so;
      const from = unp.addr ?? noname();
      if (!so2.rcv.appendAddr(from, this.addrLen(from), data, control, clen)) {
        throw new KernelError('ENOBUFS', `the receiving socket's buffer is full (${so2.rcv.cc} of ${so2.rcv.hiwat} bytes)`);
      }
      sorwakeup(so2);
      return;
    }
    if (peer === null) throw new KernelError('ENOTCONN', 'the socket is not connected');
    const so2 = peer.so;
    if ((so2.state & SS_CANTRCVMORE) !== 0) throw new KernelError('EPIPE', 'the peer shut down its receiving side');
    const ok = so.type === SOCK_SEQPACKET
      ? so2.rcv.appendRecord(data, control, clen, true, false)
      : control !== null ? so2.rcv.appendRecord(data, control, clen, false, true) : so2.rcv.appendStream(data);
    if (!ok) throw new KernelError('ENOBUFS', 'kernel memory for the socket buffer is exhausted');
    sorwakeup(so2);
  }
}

/** The usrreqs of all three AF_LOCAL protocols (they differ by socket type only). */
class LocalUsrreqs implements Usrreqs {
  constructor(private readonly dom: LocalDomain) {}

  attach(so: Socket): void {
    if (so.pcb !== null) throw new KernelError('EISCONN', 'the socket is already attached');
    const sp = this.dom.spaces;
    if (so.snd.hiwat === 0 || so.rcv.hiwat === 0) {
      if (so.type === SOCK_DGRAM) soreserve(so, sp.dgramSend, sp.dgramRecv);
      else soreserve(so, sp.streamSend, sp.streamRecv);
    }
    const unp = new Unpcb(so);
    so.pcb = unp;
    this.dom.pcbs.add(unp);
  }

  detach(so: Socket): void {
    this.dom.detach(so);
  }

  bind(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
    return this.dom.bind(so, nam, l);
  }

  listen(so: Socket): void {
    if (unpOf(so).vnode === null) throw new KernelError('EINVAL', 'listen on an AF_LOCAL socket that is not bound');
  }

  connect(so: Socket, nam: Sockaddr, l: Lwp): Promise<void> {
    return this.dom.connect(so, nam, l);
  }

  connect2(so: Socket, so2: Socket): void {
    this.dom.connect2(so, so2, false);
    // a socketpair knows both ends' ids
    const unp = unpOf(so), unp2 = unpOf(so2);
    const id = { pid: so.pid, euid: so.cred.euid, egid: so.cred.egid };
    unp.connid = { ...id };
    unp.flags |= UNP_EIDSVALID;
    if (so.type !== SOCK_DGRAM) {
      unp2.connid = { ...id };
      unp2.flags |= UNP_EIDSVALID;
    }
  }

  disconnect(so: Socket): void {
    this.dom.disconnect(unpOf(so));
  }

  shutdown(so: Socket): void {
    const unp = unpOf(so);
    if (so.type !== SOCK_DGRAM && unp.conn !== null) socantrcvmore(unp.conn.so);
  }

  abort(so: Socket): void {
    this.dom.drop(unpOf(so), 'ECONNABORTED');
  }

  accept(so: Socket): Sockaddr | null {
    const unp = unpOf(so);
    const peer = unp.conn;
    if (peer === null) return noname();
    // LOCAL_CONNWAIT: the connecting side becomes connected only now
    if ((peer.so.state & SS_ISCONNECTING) !== 0) soisconnected(peer.so);
    return peer.addr !== null ? { ...peer.addr } : noname();
  }

  rcvd(so: Socket): void {
    const peer = unpOf(so).conn;
    if (peer !== null) sowwakeup(peer.so);
  }

  send(so: Socket, data: Uint8Array, nam: Sockaddr | null, control: readonly Cmsg[] | null, l: Lwp | null): void | Promise<void> {
    return this.dom.send(so, data, nam, control, l);
  }

  sockaddr(so: Socket): Sockaddr {
    const a = unpOf(so).addr;
    return a !== null ? { ...a } : noname();
  }

  peeraddr(so: Socket): Sockaddr {
    const a = unpOf(so).conn?.addr ?? null;
    return a !== null ? { ...a } : noname();
  }

  sendspace(so: Socket): number {
    const unp = so.pcb;
    if (!(unp instanceof Unpcb) || so.type === SOCK_DGRAM || unp.conn === null) return so.snd.space();
    // the bytes this socket has queued in the peer's receive buffer count against its SO_SNDBUF
    return so.snd.hiwat - unp.conn.so.rcv.cc;
  }

  stat(so: Socket, st: Stat): void {
    const unp = unpOf(so);
    st.blksize = so.snd.hiwat;
    if (so.type === SOCK_STREAM && unp.conn !== null) st.blksize += unp.conn.so.rcv.cc;
  }
}
