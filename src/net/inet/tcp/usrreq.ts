/**
 * TCP's socket interface (NetBSD's tcp_usrreq.c): the Protosw for SOCK_STREAM / IPPROTO_TCP
 * and its usrreqs, plus tcp_ctloutput (TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE/KEEPINTVL/
 * KEEPCNT/KEEPINIT, TCP_INFO; IP_TTL and IP_TOS for the connection's packets).
 *
 * Every usrreq is synchronous. connect sends the SYN and leaves the socket ISCONNECTING; the
 * socket layer reports EINPROGRESS to a non-blocking caller or sleeps until input completes
 * the handshake (soisconnected) or fails it (so.error + soisdisconnected). send appends the
 * caller's bytes to the connection's send queue (the socket's send buffer mirrors its size,
 * which is how SO_SNDBUF back-pressure works) and runs output; rcvd runs output so a reader
 * that made room opens the window.
 *
 * Closing (soclose -> disconnect -> detach): with SO_LINGER and a zero time, or with unread
 * data (RFC 1122 4.2.2.13), the connection is reset; otherwise a FIN follows the queued data
 * and the connection finishes on its own after the socket is gone (an orphan).
 */

import { KernelError } from '../../../kern/errno.js';
import type { Lwp } from '../../../kern/proc.js';
import {
  AF_INET, SOCK_STREAM, SOL_SOCKET, SO_KEEPALIVE, SO_LINGER, SO_REUSEADDR, type Cmsg, type Sockaddr,
} from '../../../kern/types.js';
import { PR_ABRTACPTDIS, PR_CONNREQUIRED, PR_LISTEN, PR_WANTRCVD, PRCO_GETOPT, PRCO_SETOPT, type Protosw, type Usrreqs } from '../../protosw.js';
import { type Socket, optInt, soisconnecting, soisdisconnecting, soreserve } from '../../socket.js';
import { INADDR_ANY, INADDR_BROADCAST, INADDR_LOOPBACK, IPPROTO_IP, IPPROTO_TCP } from '../transport.js';
import {
  IPPORT_RESERVED, IP_TOS, IP_TTL, TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_2, TCPS_LISTEN,
  TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT, TCP_INFO, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINIT, TCP_KEEPINTVL,
  TCP_MAXSEG, TCP_NODELAY, TF_ACKNOW, TF_DELACK, TF_FINPEND, TF_NODELAY, TF_RCVD_PUSH, haveEstablished,
} from './constants.js';
import { effectiveMss, requestOptions } from './options.js';
import { tcpOutput } from './output.js';
import type { TcpProtocol } from './proto.js';
import { enterFinWait2, tcpClose, tcpDrop, tcpUsrClosed } from './subr.js';
import { Tcb } from './tcb.js';
import { T_KEEP, keepaliveReset } from './timers.js';

// ---------------------------------------------------------------------------------------------
// addresses

/** Dotted-quad text to a number, or null when malformed. */
export function inetAton(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export function inetNtoa(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** An AF_INET Sockaddr as (address, port); EINVAL when malformed. */
export function inetSockaddr(sa: Sockaddr): { addr: number; port: number } {
  if (sa.family !== AF_INET) throw new KernelError('EAFNOSUPPORT', `address family ${sa.family} on a TCP socket`);
  const port = sa.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KernelError('EINVAL', `port ${String(port)} is not in 0..65535`);
  let addr = INADDR_ANY;
  if (sa.addr !== undefined) {
    const a = inetAton(sa.addr);
    if (a === null) throw new KernelError('EINVAL', `'${sa.addr}' is not an IPv4 address`);
    addr = a;
  }
  return { addr, port };
}

export function inetSa(addr: number, port: number): Sockaddr {
  return { family: AF_INET, addr: inetNtoa(addr), port };
}

function tcbOf(so: Socket): Tcb {
  const tp = so.pcb;
  if (!(tp instanceof Tcb)) throw new KernelError('EINVAL', 'the socket has no TCP control block');
  return tp;
}

function isMulticast(a: number): boolean {
  return (a >>> 28) === 0xe;
}

// ---------------------------------------------------------------------------------------------
// usrreqs

export class TcpUsrreqs implements Usrreqs {
  constructor(private readonly tcp: TcpProtocol) {}

  attach(so: Socket, _proto: number, _l: Lwp | null): void {
    const t = this.tcp.tunables;
    if (this.tcp.halted) throw new KernelError('ENXIO', 'TCP has been shut down (the kernel is halting)');
    if (so.snd.hiwat === 0 || so.rcv.hiwat === 0) soreserve(so, t.sendspace, t.recvspace);
    const tp = new Tcb(this.tcp, so);
    so.pcb = tp;
    this.tcp.tcbs.add(tp);
  }

  detach(so: Socket): void {
    const tp = so.pcb;
    if (!(tp instanceof Tcb)) return;
    so.pcb = null;
    tp.so = null;
    const tcp = this.tcp;
    switch (tp.state) {
      case TCPS_CLOSED:
        tp.timers.stopAll();
        tcp.pcbs.remove(tp);
        tcp.tcbs.delete(tp);
        return;
      case TCPS_LISTEN:
      case TCPS_SYN_SENT:
        tcpClose(tp);
        return;
      case TCPS_SYN_RECEIVED:
      case TCPS_ESTABLISHED:
      case TCPS_CLOSE_WAIT:
        // not disconnected first (should not happen): close it now
        tcpUsrClosed(tp);
        tcpOutput(tp);
        return;
      case TCPS_FIN_WAIT_2:
        enterFinWait2(tp);
        return;
      default:
        // FIN_WAIT_1, CLOSING, LAST_ACK, TIME_WAIT finish on their own
        return;
    }
  }

  bind(so: Socket, nam: Sockaddr, l: Lwp): void {
    const tp = tcbOf(so);
    const tcp = this.tcp;
    if (tp.dead || tp.lport !== 0) throw new KernelError('EINVAL', 'the socket is already bound');
    const { addr, port } = inetSockaddr(nam);
    if (addr !== INADDR_ANY && !tcp.env.isLocalAddress(addr)) {
      throw new KernelError('EADDRNOTAVAIL', `${inetNtoa(addr)} is not an address of this host`);
    }
    if (port !== 0 && port < IPPORT_RESERVED && !l.cred.isRoot) {
      throw new KernelError('EACCES', `port ${port} is reserved for the superuser`);
    }
    let lport = port;
    if (lport === 0) lport = tcp.pcbs.ephemeral();
    else tcp.pcbs.checkBind(tp, addr, lport);
    tp.laddr = addr;
    tp.lport = lport;
    tcp.pcbs.bind(tp);
  }

  listen(so: Socket, _l: Lwp | null): void {
    const tp = tcbOf(so);
    const tcp = this.tcp;
    if (tp.dead || (tp.state !== TCPS_CLOSED && tp.state !== TCPS_LISTEN)) {
      throw new KernelError('EINVAL', `listen on a TCP socket in state ${tp.stateName}`);
    }
    if (tp.lport === 0) {
      tp.lport = tcp.pcbs.ephemeral();
      tcp.pcbs.bind(tp);
    } else if (tp.state !== TCPS_LISTEN) {
      const other = tcp.pcbs.lookupListener(tp.laddr, tp.lport);
      if (other !== null && other !== tp && (other.laddr === tp.laddr || other.laddr === INADDR_ANY || tp.laddr === INADDR_ANY)) {
        throw new KernelError('EADDRINUSE', `another socket listens on port ${tp.lport}`);
      }
    }
    tp.state = TCPS_LISTEN;
    tcp.pcbs.listen(tp);
  }

  connect(so: Socket, nam: Sockaddr, _l: Lwp): void {
    const tp = tcbOf(so);
    const tcp = this.tcp;
    const env = tcp.env;
    if (tp.dead) throw new KernelError('EINVAL', 'the connection of this socket is finished; use a new socket');
    if (tp.state === TCPS_LISTEN) throw new KernelError('EOPNOTSUPP', 'connect on a listening socket');
    if (tp.state !== TCPS_CLOSED) throw new KernelError('EISCONN', 'the socket is already connected');
    const { addr, port: fport } = inetSockaddr(nam);
    if (fport === 0) throw new KernelError('EADDRNOTAVAIL', 'connect to port 0');
    const faddr = addr === INADDR_ANY ? INADDR_LOOPBACK : addr;
    if (faddr === INADDR_BROADCAST || isMulticast(faddr) || env.isBroadcast(faddr)) {
      throw new KernelError('ENETUNREACH', `TCP cannot connect to the broadcast or multicast address ${inetNtoa(faddr)}`);
    }
    const src = env.selectSource(faddr);
    if (src === null) throw new KernelError('ENETUNREACH', `no route to ${inetNtoa(faddr)}`);
    const laddr = tp.laddr === INADDR_ANY ? src : tp.laddr;
    let lport = tp.lport;
    if (lport === 0) {
      lport = tcp.pcbs.ephemeral();
    } else {
      const other = tcp.pcbs.lookup(laddr, lport, faddr, fport);
      if (other !== null) {
        if (other.state === TCPS_TIME_WAIT && (so.options & SO_REUSEADDR) !== 0) {
          tcpClose(other);
        } else {
          throw new KernelError('EADDRINUSE', `the connection ${inetNtoa(laddr)}:${lport} -> ${inetNtoa(faddr)}:${fport} exists`);
        }
      }
    }
    if (tp.bound) tcp.pcbs.remove(tp);
    tp.laddr = laddr;
    tp.lport = lport;
    tp.faddr = faddr;
    tp.fport = fport;
    tcp.pcbs.bind(tp);
    tcp.pcbs.connect(tp);
    requestOptions(tp);
    tp.t_maxseg = effectiveMss(tp, tp.ourMss);
    const now = tcp.now();
    tp.iss = tcp.isn.isn(laddr, lport, faddr, fport, now);
    tp.tsOffset = tcp.isn.tsOffset(laddr, lport, faddr, fport);
    tp.snd_una = tp.snd_nxt = tp.snd_max = tp.iss;
    tp.recover = tp.iss;
    tp.state = TCPS_SYN_SENT;
    tcp.stats.connattempt++;
    soisconnecting(so);
    tp.timers.arm(T_KEEP, tp.keepInit);
    tcpOutput(tp);
  }

  disconnect(so: Socket): void {
    const tp = tcbOf(so);
    if (tp.state < TCPS_ESTABLISHED) {
      tcpClose(tp);
      return;
    }
    if (((so.options & SO_LINGER) !== 0 && so.linger === 0) || so.rcv.data > 0) {
      // abortive close (SO_LINGER 0), or unread data is lost: the peer must know (RFC 1122)
      tcpDrop(tp, null);
      return;
    }
    soisdisconnecting(so);
    tcpUsrClosed(tp);
    if (tp.state !== TCPS_CLOSED) tcpOutput(tp);
  }

  shutdown(so: Socket): void {
    const tp = tcbOf(so);
    tcpUsrClosed(tp);
    if (tp.state !== TCPS_CLOSED) tcpOutput(tp);
  }

  abort(so: Socket): void {
    const tp = so.pcb;
    if (!(tp instanceof Tcb)) return;
    tcpDrop(tp, 'ECONNABORTED');
  }

  accept(so: Socket): Sockaddr | null {
    const tp = tcbOf(so);
    if (tp.faddr === 0) return null;
    return inetSa(tp.faddr, tp.fport);
  }

  rcvd(so: Socket, _flags: number, _l: Lwp | null): void {
    const tp = so.pcb;
    if (!(tp instanceof Tcb)) return;
    // the reader consumed pushed data: a delayed ACK has nothing more to wait for (and carries
    // the reopened window), as Linux acknowledges pushed data once it is read (ACK_PUSHED)
    if ((tp.flags & (TF_DELACK | TF_RCVD_PUSH)) === (TF_DELACK | TF_RCVD_PUSH) && so.rcv.data === 0) tp.flags |= TF_ACKNOW;
    tcpOutput(tp);
  }

  send(so: Socket, data: Uint8Array, _nam: Sockaddr | null, control: readonly Cmsg[] | null, _l: Lwp | null, _flags: number): void {
    const tp = tcbOf(so);
    if (control !== null && control.length > 0) throw new KernelError('EINVAL', 'TCP sockets carry no control messages');
    if (tp.state === TCPS_CLOSED || (tp.flags & TF_FINPEND) !== 0) {
      throw new KernelError('EPIPE', 'the connection cannot send any more');
    }
    if (!tp.append(data)) throw new KernelError('ENOBUFS', `no kernel memory for ${data.byteLength} bytes of send buffer`);
    tcpOutput(tp);
  }

  sockaddr(so: Socket): Sockaddr {
    const tp = tcbOf(so);
    return inetSa(tp.laddr, tp.lport);
  }

  peeraddr(so: Socket): Sockaddr {
    const tp = tcbOf(so);
    return inetSa(tp.faddr, tp.fport);
  }
}

// ---------------------------------------------------------------------------------------------
// socket options

/** What TCP_INFO reports (a subset of struct tcp_info, times in ms). */
export interface TcpInfo {
  state: number;
  stateName: string;
  options: { timestamps: boolean; sack: boolean; wscale: boolean; sndScale: number; rcvScale: number };
  rto: number;
  rtt: number;
  rttvar: number;
  sndMss: number;
  rcvMss: number;
  sndCwnd: number;
  sndSsthresh: number;
  sndWnd: number;
  rcvWnd: number;
  unacked: number;
  sndQueued: number;
  rexmitPkts: number;
  rexmitBytes: number;
  backoff: number;
  inRecovery: boolean;
}

function tcpInfo(tp: Tcb): TcpInfo {
  return {
    state: tp.state,
    stateName: tp.stateName,
    options: { timestamps: tp.useTs, sack: tp.useSack, wscale: tp.snd_scale > 0 || tp.rcv_scale > 0, sndScale: tp.snd_scale, rcvScale: tp.rcv_scale },
    rto: tp.rtt.current(),
    rtt: tp.rtt.srtt,
    rttvar: tp.rtt.rttvar,
    sndMss: tp.segSize,
    rcvMss: tp.ourMss,
    sndCwnd: tp.cc.cwnd,
    sndSsthresh: tp.cc.ssthresh,
    sndWnd: tp.snd_wnd,
    rcvWnd: (tp.rcv_adv - tp.rcv_nxt) | 0,
    unacked: tp.flight,
    sndQueued: tp.sendq.length,
    rexmitPkts: tp.rexmitPkts,
    rexmitBytes: tp.rexmitBytes,
    backoff: tp.rtt.rxtshift,
    inRecovery: tp.inRecovery,
  };
}

function seconds(value: unknown, name: string): number {
  const v = optInt(value, name);
  if (v < 1 || v > 0x7fffffff / 1000) throw new KernelError('EINVAL', `${name} ${v} s is out of range (1..${Math.floor(0x7fffffff / 1000)})`);
  return v * 1000;
}

/** tcp_ctloutput */
export function tcpCtloutput(op: number, so: Socket, level: number, name: number, value: unknown): unknown {
  const tp = tcbOf(so);
  if (level === SOL_SOCKET) {
    if (op === PRCO_SETOPT && name === SO_KEEPALIVE && haveEstablished(tp.state)) keepaliveReset(tp);
    return undefined;
  }
  if (level === IPPROTO_TCP) {
    if (op === PRCO_SETOPT) {
      switch (name) {
        case TCP_NODELAY:
          if (optInt(value, 'TCP_NODELAY') !== 0) {
            tp.flags |= TF_NODELAY;
            if (haveEstablished(tp.state)) tcpOutput(tp);
          } else {
            tp.flags &= ~TF_NODELAY;
          }
          return undefined;
        case TCP_MAXSEG: {
          const v = optInt(value, 'TCP_MAXSEG');
          if (v < 64 || v > 65535) throw new KernelError('EINVAL', `TCP_MAXSEG ${v} is out of range (64..65535)`);
          tp.umaxseg = v;
          if (haveEstablished(tp.state)) tp.t_maxseg = Math.min(tp.t_maxseg, v);
          return undefined;
        }
        case TCP_KEEPIDLE:
          tp.keepIdle = seconds(value, 'TCP_KEEPIDLE');
          if (haveEstablished(tp.state)) keepaliveReset(tp);
          return undefined;
        case TCP_KEEPINTVL:
          tp.keepIntvl = seconds(value, 'TCP_KEEPINTVL');
          return undefined;
        case TCP_KEEPINIT:
          tp.keepInit = seconds(value, 'TCP_KEEPINIT');
          if (tp.state === TCPS_SYN_SENT || tp.state === TCPS_SYN_RECEIVED) tp.timers.arm(T_KEEP, tp.keepInit);
          return undefined;
        case TCP_KEEPCNT: {
          const v = optInt(value, 'TCP_KEEPCNT');
          if (v < 1 || v > 0x7fffffff) throw new KernelError('EINVAL', `TCP_KEEPCNT ${v} is out of range`);
          tp.keepCnt = v;
          return undefined;
        }
        case TCP_INFO:
          throw new KernelError('EINVAL', 'TCP_INFO is read-only');
        default:
          throw new KernelError('ENOPROTOOPT', `TCP option ${name} is not known`);
      }
    }
    if (op === PRCO_GETOPT) {
      switch (name) {
        case TCP_NODELAY: return (tp.flags & TF_NODELAY) !== 0 ? 1 : 0;
        case TCP_MAXSEG: return haveEstablished(tp.state) ? tp.t_maxseg : (tp.umaxseg > 0 ? tp.umaxseg : tp.tcp.tunables.mssdflt);
        case TCP_KEEPIDLE: return Math.floor(tp.keepIdle / 1000);
        case TCP_KEEPINTVL: return Math.floor(tp.keepIntvl / 1000);
        case TCP_KEEPINIT: return Math.floor(tp.keepInit / 1000);
        case TCP_KEEPCNT: return tp.keepCnt;
        case TCP_INFO: return tcpInfo(tp);
        default:
          throw new KernelError('ENOPROTOOPT', `TCP option ${name} is not known`);
      }
    }
    throw new KernelError('EINVAL', `ctloutput op ${op}`);
  }
  if (level === IPPROTO_IP) {
    if (name !== IP_TTL && name !== IP_TOS) throw new KernelError('ENOPROTOOPT', `IP option ${name} is not supported on TCP sockets`);
    if (op === PRCO_GETOPT) return name === IP_TTL ? tp.ttl : tp.tos;
    const v = optInt(value, name === IP_TTL ? 'IP_TTL' : 'IP_TOS');
    if (v < 0 || v > 255 || (name === IP_TTL && v === 0)) throw new KernelError('EINVAL', `${name === IP_TTL ? 'IP_TTL' : 'IP_TOS'} ${v} is out of range`);
    if (name === IP_TTL) tp.ttl = v;
    else tp.tos = v;
    return undefined;
  }
  throw new KernelError('ENOPROTOOPT', `level ${level} option ${name} on a TCP socket`);
}

/** The protocol switch entry TCP adds to the AF_INET domain. */
export function tcpProtosw(tcp: TcpProtocol): Protosw {
  return {
    type: SOCK_STREAM,
    protocol: IPPROTO_TCP,
    flags: PR_CONNREQUIRED | PR_WANTRCVD | PR_LISTEN | PR_ABRTACPTDIS,
    name: 'tcp',
    usrreqs: new TcpUsrreqs(tcp),
    ctloutput: tcpCtloutput,
  };
}
