/**
 * UDP (RFC 768; NetBSD's netinet/udp_usrreq.c): a TransportProtocol (transport.ts) and its
 * socket usrreqs (protosw.ts).
 *
 * Sockets: bind and connect as in_pcb.ts describes; sendto on a connected socket fails with
 * EISCONN; a datagram to a broadcast address needs SO_BROADCAST (EACCES); the largest datagram
 * is bounded by SO_SNDBUF (EMSGSIZE, the socket layer) and by 65507 bytes of payload. Datagrams
 * that do not fit the receiver's buffer are dropped (fullsock), as UDP does; the sender never
 * learns. Checksums are computed on output (net.inet.udp.checksum) and verified on input (a
 * zero checksum means none: nosum).
 *
 * Input: unicast goes to the best-matching socket (exact connected match first); broadcast and
 * multicast to every matching socket, BSD style (delivery stops after a socket without
 * SO_REUSEADDR/SO_REUSEPORT). No socket: an ICMP port unreachable (not for broadcast).
 *
 * Errors: an ICMP port unreachable quoting a datagram of a connected socket fails that socket's
 * next call with ECONNREFUSED (host and network unreachable: EHOSTUNREACH, fragmentation needed:
 * EMSGSIZE). Unconnected sockets do not hear of ICMP errors (BSD).
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { MSG_DONTROUTE, SO_BROADCAST, SO_DONTROUTE, SOCK_DGRAM, SOL_SOCKET, type Cmsg, type Sockaddr } from '../../kern/types.js';
import { Mbuf } from '../mbuf.js';
import { PR_ADDR, PR_ATOMIC, type Protosw, type Usrreqs } from '../protosw.js';
import { SS_ISCONNECTED, soisconnected, soisdisconnected, soreserve, sorwakeup, soseterror, type Socket } from '../socket.js';
import { get16, set16 } from '../wire/bytes.js';
import { fold16, pseudoSumV4 } from '../wire/checksum.js';
import { ICMP_UNREACH, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTOCOL } from '../wire/icmpv4.js';
import { UDP_HDR_LEN, udpChecksumField } from '../wire/udp.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { inControl, sinFrom, sinTo, SOCKADDR_IN_LEN } from './in.js';
import { inCtloutput, InPcb, InPcbTable } from './in_pcb.js';
import type { Inet } from './ip_var.js';
import { IPPROTO_IP, IPPROTO_UDP, type CtlKind, type IpInputInfo, type IpTransportEnv, type TransportProtocol } from './transport.js';
import type { ErrnoName } from '../../kern/errno.js';
import { SO_REUSEADDR, SO_REUSEPORT } from '../../kern/types.js';

/** The largest UDP payload over IPv4: 65535 - 20 - 8. */
export const UDP_MAX_PAYLOAD = 65507;

function pcbOf(so: Socket): InPcb {
  const p = so.pcb;
  if (!(p instanceof InPcb)) throw new KernelError('EINVAL', 'the socket has no UDP control block');
  return p;
}

export class Udp implements TransportProtocol {
  readonly name = 'udp';
  readonly proto = IPPROTO_UDP;
  readonly protosw: readonly Protosw[];
  readonly table: InPcbTable;

  constructor(readonly inet: Inet) {
    this.table = new InPcbTable(inet, 'udp');
    const u = new UdpUsrreqs(this);
    this.protosw = [{
      type: SOCK_DGRAM, protocol: IPPROTO_UDP, flags: PR_ATOMIC | PR_ADDR, name: 'udp', usrreqs: u,
      ctloutput: (op, so, level, name, value) => {
        if (level === SOL_SOCKET) return undefined;
        if (level !== IPPROTO_IP) throw new KernelError('ENOPROTOOPT', `level ${level} option ${name} on a UDP socket`);
        return inCtloutput(pcbOf(so), op, name, value, false);
      },
    }];
  }

  get stat() { return this.inet.udpstat; }

  /** udp_input: `m` starts at the UDP header. */
  input(m: Mbuf, info: IpInputInfo): void {
    const st = this.inet.udpstat;
    st.ipackets++;
    const h = m.pullup(UDP_HDR_LEN);
    if (h === null) {
      st.hdrops++;
      return;
    }
    const sport = get16(h, 0), dport = get16(h, 2), ulen = get16(h, 4), csum = get16(h, 6);
    if (ulen < UDP_HDR_LEN || ulen > m.length) {
      st.badlen++;
      return;
    }
    if (ulen < m.length) m.adj(ulen - m.length);
    if (csum === 0) {
      st.nosum++;
    } else if (fold16(m.sum(0, ulen, pseudoSumV4(info.src, info.dst, IPPROTO_UDP, ulen))) !== 0xffff) {
      st.badsum++;
      return;
    }
    if (info.broadcast || info.multicast) {
      const pcbs = this.table.lookupAll(info.src, sport, info.dst, dport);
      if (pcbs.length === 0) {
        st.noportbcast++;
        return;
      }
      m.adj(UDP_HDR_LEN);
      const data = m.segmentCount <= 1 ? (m.length === 0 ? new Uint8Array(0) : m.segment(0)) : m.toBytes();
      for (const p of pcbs) {
        this.deliver(p, info.src, sport, data);
        if ((p.so.options & (SO_REUSEADDR | SO_REUSEPORT)) === 0) break;
      }
      return;
    }
    const p = this.table.lookup(info.src, sport, info.dst, dport);
    if (p === null) {
      st.noport++;
      this.inet.icmpError(ICMP_UNREACH, ICMP_UNREACH_PORT, info, m);
      return;
    }
    m.adj(UDP_HDR_LEN);
    this.deliver(p, info.src, sport, m.segmentCount <= 1 ? (m.length === 0 ? new Uint8Array(0) : m.segment(0)) : m.toBytes());
  }

  private deliver(p: InPcb, src: number, sport: number, data: Uint8Array): void {
    const so = p.so;
    if (so.closing) return;
    if (!so.rcv.appendAddr(sinTo(src, sport), SOCKADDR_IN_LEN, data, null, 0)) {
      this.inet.udpstat.fullsock++;
      return;
    }
    sorwakeup(so);
  }

  /** udp_ctlinput: report ICMP errors to the connected sockets of the quoted datagram. */
  ctlinput(kind: CtlKind, code: number, src: number, dst: number, quoted: Uint8Array): void {
    if (quoted.length < 4) return;
    let e: ErrnoName | null = null;
    if (kind === 'unreach') e = code === ICMP_UNREACH_PORT || code === ICMP_UNREACH_PROTOCOL ? 'ECONNREFUSED' : 'EHOSTUNREACH';
    else if (kind === 'msgsize') e = 'EMSGSIZE';
    if (e === null) return;
    const sport = get16(quoted, 0), dport = get16(quoted, 2);
    for (const p of this.table.lookupConnected(src, sport, dst, dport)) soseterror(p.so, e);
  }

  /** udp_output: send `data` from the pcb to dst:dport. */
  output(p: InPcb, data: Uint8Array, dst: number, dport: number, flags: number, l: Lwp | null): void {
    const inet = this.inet;
    const so = p.so;
    if (data.byteLength > UDP_MAX_PAYLOAD) throw new KernelError('EMSGSIZE', `a UDP datagram of ${data.byteLength} bytes exceeds ${UDP_MAX_PAYLOAD}`);
    if (p.lport === 0) this.table.bind(p, 0, 0, l?.cred ?? so.cred);
    let to = dst;
    if (to === 0) to = inet.selectSource(0x7f000001) ?? 0x7f000001;
    let src = p.laddr;
    if (src === 0) {
      const s = inet.selectSource(to);
      if (s === null) {
        inet.ipstat.noroute++;
        throw new KernelError('ENETUNREACH', `no route to ${formatIpv4(to)}`);
      }
      src = s;
    }
    const ulen = UDP_HDR_LEN + data.byteLength;
    const m = data.byteLength > 0 ? Mbuf.wrap(data) : Mbuf.empty();
    const h = m.prepend(UDP_HDR_LEN);
    set16(h, 0, p.lport);
    set16(h, 2, dport);
    set16(h, 4, ulen);
    set16(h, 6, 0);
    if (inet.tun.udpChecksum !== 0) set16(h, 6, udpChecksumField(m.sum(0, ulen, pseudoSumV4(src, to, IPPROTO_UDP, ulen))));
    const err = inet.output(m, src, to, IPPROTO_UDP, {
      ...(p.ttl !== null ? { ttl: p.ttl } : {}), tos: p.tos,
      broadcast: (so.options & SO_BROADCAST) !== 0,
      dontroute: (so.options & SO_DONTROUTE) !== 0 || (flags & MSG_DONTROUTE) !== 0,
    });
    if (err !== null) throw err;
    inet.udpstat.opackets++;
  }

  fini(): void {
    // sockets are torn down by the socket layer; nothing of ours is scheduled
  }
}

class UdpUsrreqs implements Usrreqs {
  constructor(private readonly udp: Udp) {}

  attach(so: Socket): void {
    if (so.pcb !== null) throw new KernelError('EISCONN', 'the socket is already attached');
    const tun = this.udp.inet.tun;
    if (so.snd.hiwat === 0 || so.rcv.hiwat === 0) soreserve(so, tun.udpSendspace, tun.udpRecvspace);
    so.pcb = this.udp.table.attach(so);
  }

  detach(so: Socket): void {
    const p = so.pcb;
    if (p instanceof InPcb) this.udp.table.detach(p);
    so.pcb = null;
  }

  bind(so: Socket, nam: Sockaddr, l: Lwp): void {
    const sin = sinFrom(nam, 'bind');
    this.udp.table.bind(pcbOf(so), sin.addr, sin.port, l.cred);
  }

  connect(so: Socket, nam: Sockaddr, l: Lwp): void {
    const sin = sinFrom(nam, 'connect');
    this.udp.table.connect(pcbOf(so), sin.addr, sin.port, l.cred);
    soisconnected(so);
  }

  disconnect(so: Socket): void {
    const p = pcbOf(so);
    if (!p.connected) throw new KernelError('ENOTCONN', 'the socket is not connected');
    this.udp.table.disconnect(p, true);
    so.state &= ~SS_ISCONNECTED;
  }

  shutdown(): void {
    // datagrams need no goodbye
  }

  abort(so: Socket): void {
    soisdisconnected(so);
  }

  send(so: Socket, data: Uint8Array, nam: Sockaddr | null, _control: readonly Cmsg[] | null, l: Lwp | null, flags: number): void {
    const p = pcbOf(so);
    if (nam !== null) {
      if (p.connected) throw new KernelError('EISCONN', 'sendto with an address on a connected socket');
      const sin = sinFrom(nam, 'sendto');
      if (sin.port === 0) throw new KernelError('EADDRNOTAVAIL', 'cannot send to port 0');
      this.udp.output(p, data, sin.addr, sin.port, flags, l);
      return;
    }
    if (!p.connected) throw new KernelError('ENOTCONN', 'the socket is not connected');
    this.udp.output(p, data, p.faddr, p.fport, flags, l);
  }

  sockaddr(so: Socket): Sockaddr {
    const p = pcbOf(so);
    return sinTo(p.laddr, p.lport);
  }

  peeraddr(so: Socket): Sockaddr {
    const p = pcbOf(so);
    return sinTo(p.faddr, p.fport);
  }

  async ioctl(_so: Socket, cmd: number, data: unknown, l: Lwp): Promise<unknown> {
    return inControl(this.udp.inet, cmd, data, l);
  }
}

/** TransportAttach for UDP: the netinet component calls it with the Inet of the kernel. */
export function udpAttach(_k: Kernel, env: IpTransportEnv): Udp {
  return new Udp(env as Inet);
}
