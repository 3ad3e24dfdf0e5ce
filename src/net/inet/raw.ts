/**
 * Raw IP sockets (NetBSD's netinet/raw_ip.c): SOCK_RAW with a protocol number — IPPROTO_ICMP
 * for ping, any other for protocols without a transport here, 0 for all of them.
 *
 * Only the superuser opens one (EPERM). Received packets come whole, IP header first, exactly as
 * they arrived, for every raw socket whose protocol (or 0), bound address (or INADDR_ANY) and
 * connected address (or none) match: ICMP messages after ICMP processed them, and packets of
 * protocols no transport took. Sends get an IP header with the socket's protocol, unless
 * IP_HDRINCL is set (or the protocol is IPPROTO_RAW): then the data is the whole datagram and the
 * kernel only fills in the length, a zero identification and source, and the header checksum.
 */

import { KernelError } from '../../kern/errno.js';
import type { Lwp } from '../../kern/proc.js';
import { MSG_DONTROUTE, SO_BROADCAST, SO_DONTROUTE, SOCK_RAW, SOL_SOCKET, type Cmsg, type Sockaddr } from '../../kern/types.js';
import { Mbuf } from '../mbuf.js';
import { PR_ADDR, PR_ATOMIC, type Protosw, type Usrreqs } from '../protosw.js';
import { SS_ISCONNECTED, soisconnected, soisdisconnected, soreserve, sorwakeup, type Socket } from '../socket.js';
import { inControl, sinFrom, sinTo, SOCKADDR_IN_LEN } from './in.js';
import { inCtloutput, InPcb, InPcbTable } from './in_pcb.js';
import { ipOutputRaw } from './ip_output.js';
import type { Inet, InInputInfo } from './ip_var.js';
import { IPPROTO_ICMP, IPPROTO_IP, IPPROTO_RAW } from './transport.js';

function pcbOf(so: Socket): InPcb {
  const p = so.pcb;
  if (!(p instanceof InPcb)) throw new KernelError('EINVAL', 'the socket has no raw IP control block');
  return p;
}

export class RawIp {
  readonly table: InPcbTable;
  readonly protosw: readonly Protosw[];

  constructor(readonly inet: Inet) {
    this.table = new InPcbTable(inet, 'raw');
    const u = new RawUsrreqs(this);
    const ctloutput = (op: number, so: Socket, level: number, name: number, value: unknown): unknown => {
      if (level === SOL_SOCKET) return undefined;
      if (level !== IPPROTO_IP) throw new KernelError('ENOPROTOOPT', `level ${level} option ${name} on a raw IP socket`);
      return inCtloutput(pcbOf(so), op, name, value, true);
    };
    this.protosw = [
      { type: SOCK_RAW, protocol: IPPROTO_ICMP, flags: PR_ATOMIC | PR_ADDR, name: 'icmp', usrreqs: u, ctloutput },
      { type: SOCK_RAW, protocol: 0, flags: PR_ATOMIC | PR_ADDR, name: 'raw ip', usrreqs: u, ctloutput },
    ];
  }

  /** Does any raw socket take protocol `proto`? */
  wants(proto: number): boolean {
    for (const p of this.table.pcbs) if (p.proto === 0 || p.proto === proto) return true;
    return false;
  }

  /**
   * rip_input: `m` is the whole datagram (IP header first). True when at least one socket took
   * it (a full buffer counts as taken: the datagram was for it).
   */
  input(m: Mbuf, info: InInputInfo): boolean {
    let data: Uint8Array | null = null;
    let matched = false;
    for (const p of this.table.pcbs) {
      if (p.proto !== 0 && p.proto !== info.proto) continue;
      if (p.laddr !== 0 && p.laddr !== info.dst) continue;
      if (p.faddr !== 0 && p.faddr !== info.src) continue;
      matched = true;
      const so = p.so;
      if (so.closing) continue;
      data ??= m.toBytes();
      if (!so.rcv.appendAddr(sinTo(info.src, 0), SOCKADDR_IN_LEN, data, null, 0)) {
        this.inet.rawstat.fullsock++;
        continue;
      }
      this.inet.rawstat.delivered++;
      sorwakeup(so);
    }
    return matched;
  }

  /** rip_output */
  output(p: InPcb, data: Uint8Array, dst: number, flags: number): void {
    const so = p.so;
    const inet = this.inet;
    const opts = {
      ...(p.ttl !== null ? { ttl: p.ttl } : {}), tos: p.tos,
      broadcast: (so.options & SO_BROADCAST) !== 0,
      dontroute: (so.options & SO_DONTROUTE) !== 0 || (flags & MSG_DONTROUTE) !== 0,
    };
    let err: KernelError | null;
    if (p.hdrincl || p.proto === IPPROTO_RAW) {
      err = ipOutputRaw(inet, Mbuf.wrap(data), opts);
    } else {
      if (data.byteLength > 65535 - 20) throw new KernelError('EMSGSIZE', `a raw datagram of ${data.byteLength} bytes exceeds 65515`);
      err = inet.output(data.byteLength > 0 ? Mbuf.wrap(data) : Mbuf.empty(), p.laddr, dst, p.proto, opts);
    }
    if (err !== null) throw err;
    inet.rawstat.opackets++;
  }
}

class RawUsrreqs implements Usrreqs {
  constructor(private readonly raw: RawIp) {}

  attach(so: Socket, proto: number, l: Lwp | null): void {
    if (so.pcb !== null) throw new KernelError('EISCONN', 'the socket is already attached');
    if (l !== null && l.cred.euid !== 0) throw new KernelError('EPERM', 'raw IP sockets need the superuser');
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new KernelError('EPROTONOSUPPORT', `IP protocol ${proto} outside 0..255`);
    const tun = this.raw.inet.tun;
    if (so.snd.hiwat === 0 || so.rcv.hiwat === 0) soreserve(so, tun.rawSendspace, tun.rawRecvspace);
    const p = this.raw.table.attach(so);
    p.proto = proto;
    p.hdrincl = proto === IPPROTO_RAW;
    so.pcb = p;
  }

  detach(so: Socket): void {
    const p = so.pcb;
    if (p instanceof InPcb) this.raw.table.detach(p);
    so.pcb = null;
  }

  bind(so: Socket, nam: Sockaddr): void {
    const sin = sinFrom(nam, 'bind');
    const inet = this.raw.inet;
    if (sin.addr !== 0 && !inet.isLocalAddress(sin.addr)) throw new KernelError('EADDRNOTAVAIL', `${nam.addr ?? ''} is not an address of this host`);
    pcbOf(so).laddr = sin.addr;
  }

  connect(so: Socket, nam: Sockaddr): void {
    const sin = sinFrom(nam, 'connect');
    pcbOf(so).faddr = sin.addr;
    soisconnected(so);
  }

  disconnect(so: Socket): void {
    pcbOf(so).faddr = 0;
    so.state &= ~SS_ISCONNECTED;
  }

  shutdown(): void {
    // nothing to tell anyone
  }

  abort(so: Socket): void {
    soisdisconnected(so);
  }

  send(so: Socket, data: Uint8Array, nam: Sockaddr | null, _control: readonly Cmsg[] | null, _l: Lwp | null, flags: number): void {
    const p = pcbOf(so);
    let dst: number;
    if (nam !== null) {
      if ((so.state & SS_ISCONNECTED) !== 0) throw new KernelError('EISCONN', 'sendto with an address on a connected socket');
      dst = sinFrom(nam, 'sendto').addr;
    } else {
      if ((so.state & SS_ISCONNECTED) === 0) throw new KernelError('ENOTCONN', 'the socket is not connected');
      dst = p.faddr;
    }
    this.raw.output(p, data, dst, flags);
  }

  sockaddr(so: Socket): Sockaddr {
    return sinTo(pcbOf(so).laddr, 0);
  }

  peeraddr(so: Socket): Sockaddr {
    return sinTo(pcbOf(so).faddr, 0);
  }

  async ioctl(_so: Socket, cmd: number, data: unknown, l: Lwp): Promise<unknown> {
    return inControl(this.raw.inet, cmd, data, l);
  }
}
