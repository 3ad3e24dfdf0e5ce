/**
 * The loopback interface (NetBSD's net/if_loop.c): lo0, and more by cloning (`ifconfig lo1
 * create`). What a kernel sends through it comes back as input on the same interface, through the
 * interface's input queue and softint like any received frame, so a send never re-enters the
 * receiving protocol. lo0 cannot be destroyed (EPERM).
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import { IFF_LOOPBACK, IFF_MULTICAST, IFF_RUNNING, IFF_UP, IFT_LOOP, Ifnet, ifnetOf, type IfCloner, type Interfaces, type LinkDst } from './if.js';
import type { Mbuf } from './mbuf.js';

/** NetBSD's LOMTU. */
export const LOMTU = 32768 + 856;

/** looutput: count and queue the packet as input of the same interface. */
export function looutput(ifp: Ifnet, m: Mbuf, proto: number, _dst: LinkDst): KernelError | null {
  if ((ifp.flags & (IFF_UP | IFF_RUNNING)) !== (IFF_UP | IFF_RUNNING)) {
    return new KernelError('ENETDOWN', `${ifp.name} is down`);
  }
  const len = m.length;
  ifp.countOutput(len, m.flags);
  if (!ifp.loopInput(m, proto)) return new KernelError('ENOBUFS', `${ifp.name}: input queue full`);
  ifp.countInput(len, m.flags);
  return null;
}

function loopCreate(ifs: Interfaces, unit: number): Ifnet {
  const ifp = new Ifnet(ifs, `lo${unit}`, IFT_LOOP, IFF_LOOPBACK | IFF_MULTICAST, LOMTU);
  ifp.output = looutput;
  ifp.linkInput = (i) => { i.stats.ierrors++; };
  ifs.attach(ifp);
  if (unit === 0 && ifs.lo0 === null) ifs.lo0 = ifp;
  return ifp;
}

export const loopCloner: IfCloner = {
  name: 'lo',
  create: loopCreate,
  destroy(ifs, ifp) {
    if (ifp === ifs.lo0) throw new KernelError('EPERM', 'lo0 cannot be destroyed');
    ifs.detach(ifp);
  },
};

/** Register the lo cloner and create lo0 (up); returns lo0. Idempotent. */
export function loopAttach(k: Kernel): Ifnet {
  const ifs = ifnetOf(k);
  if (!ifs.cloners.has('lo')) ifs.addCloner(loopCloner);
  if (ifs.lo0 !== null) return ifs.lo0;
  const lo0 = ifs.create('lo0');
  lo0.setUp(true);
  return lo0;
}
