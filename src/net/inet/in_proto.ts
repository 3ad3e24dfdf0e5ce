/**
 * The AF_INET domain (NetBSD's netinet/in_proto.c: inetdomain and inetsw): the protocol switch
 * entries of UDP, raw IP (and TCP), address checking for the socket layer, and `inetOf(k)`, the
 * way from a kernel to its IPv4 layer.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import { AF_INET, type Sockaddr } from '../../kern/types.js';
import type { Domain } from '../domain.js';
import type { Protosw } from '../protosw.js';
import { sinFrom, sinTo, SOCKADDR_IN_LEN } from './in.js';
import type { Inet } from './ip_var.js';

export class InetDomain implements Domain {
  readonly family = AF_INET;
  readonly name = 'inet';

  constructor(readonly inet: Inet, readonly protosw: readonly Protosw[]) {}

  /** A caller's AF_INET address, normalised to { family, addr, port }. */
  checkAddr(sa: Sockaddr): Sockaddr {
    const sin = sinFrom(sa);
    return sinTo(sin.addr, sin.port);
  }

  addrLen(): number {
    return SOCKADDR_IN_LEN;
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    const i = this.inet;
    for (const [k, v] of Object.entries(i.ipstat)) out[`ip.${k}`] = v;
    for (const [k, v] of Object.entries(i.udpstat)) out[`udp.${k}`] = v;
    for (const [k, v] of Object.entries(i.icmpstat)) if (typeof v === 'number') out[`icmp.${k}`] = v;
    for (const [k, v] of Object.entries(i.arp.stat)) out[`arp.${k}`] = v;
    for (const [k, v] of Object.entries(i.rawstat)) out[`raw.${k}`] = v;
    return out;
  }
}

/** The IPv4 layer of `k` (ENOSYS-like EAFNOSUPPORT when the kernel has no netinet). */
export function inetOf(k: Kernel): Inet {
  const d = k.net?.findDomain(AF_INET);
  if (!(d instanceof InetDomain)) throw new KernelError('EAFNOSUPPORT', 'this kernel has no netinet component (AF_INET)');
  return d.inet;
}
