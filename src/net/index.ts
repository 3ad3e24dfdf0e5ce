/**
 * rumpnet: the socket layer as components.
 *
 *  - `net` (NetBSD's rumpnet): the socket layer itself — the per-kernel domain registry (k.net),
 *    the socket syscalls, kern.somaxconn and kern.sbmax, net.socket.* (net.socket.list: the
 *    sockets processes hold, for sockstat). A kernel without it answers the socket
 *    syscalls with ENOSYS.
 *  - `local` (rumpnet_local): AF_LOCAL sockets (needs `net` and `vfs`).
 *
 *   const k = await Kernel.boot({ host, components: [vfs, net, local] });
 *   const fd = await k.sys.socket(k.initLwp, AF_LOCAL, SOCK_STREAM, 0);
 */

import type { Component } from '../kern/component.js';
import type { Kernel } from '../kern/kernel.js';
import { Net } from './domain.js';
import { SO_ACCEPTCONN, type Sockaddr } from '../kern/types.js';
import { Socket, soabort } from './socket.js';
import { socketSyscalls } from './sys_socket.js';

/** A socket as sockstat and netstat -a list it: one row per descriptor of a process that holds it. */
export interface SocketListEntry {
  pid: number;
  comm: string;
  uid: number;
  fd: number;
  family: number;
  type: number;
  protocol: number;
  /** The protocol's name ('udp', 'tcp', 'local stream', ...). */
  proto: string;
  laddr: Sockaddr | null;
  faddr: Sockaddr | null;
  /** TCP state name, else null. */
  state: string | null;
  listening: boolean;
  recvq: number;
  sendq: number;
}

function socketList(k: Kernel): SocketListEntry[] {
  const out: SocketListEntry[] = [];
  const addr = (f: () => Sockaddr): Sockaddr | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  for (const p of [...k.procs.values()].sort((a, b) => a.pid - b.pid)) {
    for (const [fd, fp] of p.fd.entries()) {
      const so = fp.data;
      if (!(so instanceof Socket)) continue;
      const u = so.proto.usrreqs;
      const st = (so.pcb as { stateName?: unknown } | null)?.stateName;
      out.push({
        pid: p.pid, comm: p.comm, uid: p.cred.euid, fd, family: so.domain.family, type: so.type, protocol: so.proto.protocol,
        proto: so.proto.name, laddr: addr(() => u.sockaddr(so)), faddr: addr(() => u.peeraddr(so)),
        state: typeof st === 'string' ? st : null, listening: (so.options & SO_ACCEPTCONN) !== 0, recvq: so.rcv.data, sendq: so.snd.data,
      });
    }
  }
  return out;
}

export const net: Component = {
  name: 'net',
  aliases: ['rumpnet'],
  type: 'net',
  deps: [],
  init(k: Kernel) {
    const n = new Net(k);
    k.net = n;
    k.sysent.register(socketSyscalls);
    const s = k.sysctl;
    s.create('kern.somaxconn', {
      type: 'int', writable: true, min: 0, max: 0xffff, desc: 'Maximum listen queue length',
      get: () => n.somaxconn, set: (v) => { n.somaxconn = v as number; },
    });
    s.create('kern.sbmax', {
      type: 'int', writable: true, min: 4096, max: 0x7fffffff, desc: 'Maximum socket buffer size',
      get: () => n.sbmax, set: (v) => { n.sbmax = v as number; },
    });
    s.create('net.socket.created', { type: 'quad', get: () => n.stats.created });
    s.create('net.socket.freed', { type: 'quad', get: () => n.stats.freed });
    s.create('net.socket.open', { type: 'int', get: () => n.sockets.size });
    s.create('net.socket.listen_overflows', { type: 'quad', get: () => n.stats.listenQueueOverflows, desc: 'Connections refused for a full listen queue' });
    s.create('net.socket.list', { type: 'struct', get: () => socketList(k), desc: 'Sockets held by processes (sockstat)' });
    s.create('net.socket.nobufs', { type: 'quad', get: () => n.stats.nobufs, desc: 'Sends refused for want of buffer memory' });
  },
  async fini(k: Kernel) {
    const n = k.net;
    if (n === null) return;
    // sockets no process holds any more (in flight, queued, kernel-owned): tear them down
    for (const so of [...n.sockets]) await soabort(so);
  },
};

export { local, LocalDomain, Unpcb, SOL_LOCAL, LOCAL_CREDS, LOCAL_CONNWAIT, LOCAL_PEEREID, LOCAL_PATH_MAX, PIPSIZ } from './local/index.js';
export type { UnpcbId, LocalSpaces } from './local/index.js';
export { Net, netOf, SOMAXCONN, SB_MAX } from './domain.js';
export type { Domain, SocketStats } from './domain.js';
export * from './protosw.js';
export {
  Socket, socreate, sobind, solisten, soconnect, soconnect2, soconnectWait, soacceptWait, sodequeue, sodisconnect,
  soshutdown, soclose, soabort, sosend, soreceive, sosetopt, sogetopt, sopoll, sosockaddr, sopeeraddr, soreserve,
  sonewconn, soqremque, soisconnecting, soisconnected, soisdisconnecting, soisdisconnected, socantsendmore,
  socantrcvmore, soseterror, sorwakeup, sowwakeup, sorflush, sodispose, sosendspace,
  SS_NOFDREF, SS_ISCONNECTED, SS_ISCONNECTING, SS_ISDISCONNECTING, SS_CANTSENDMORE, SS_CANTRCVMORE, SS_RCVATMARK,
  SS_ISABORTING, SS_POLLRDBAND, SS_MORETOCOME, SS_ISDISCONNECTED, SS_NBIO, MSG_CMSG_CLOEXEC, MSG_NBIO, MCLBYTES,
} from './socket.js';
export type { Linger, Timeval, ReceiveResult } from './socket.js';
export { Sockbuf, Uio, controlSpace } from './sockbuf.js';
export type { SbRecord } from './sockbuf.js';
export { socketOps, socketSyscalls, getsock, FIOASYNC, FIONWRITE, FIONSPACE } from './sys_socket.js';
