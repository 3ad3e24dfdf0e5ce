/**
 * rumpnet: the socket layer as components.
 *
 *  - `net` (NetBSD's rumpnet): the socket layer itself — the per-kernel domain registry (k.net),
 *    the socket syscalls, kern.somaxconn and kern.sbmax. A kernel without it answers the socket
 *    syscalls with ENOSYS.
 *  - `local` (rumpnet_local): AF_LOCAL sockets (needs `net` and `vfs`).
 *
 *   const k = await Kernel.boot({ host, components: [vfs, net, local] });
 *   const fd = await k.sys.socket(k.initLwp, AF_LOCAL, SOCK_STREAM, 0);
 */

import type { Component } from '../kern/component.js';
import type { Kernel } from '../kern/kernel.js';
import { Net } from './domain.js';
import { soabort } from './socket.js';
import { socketSyscalls } from './sys_socket.js';

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
