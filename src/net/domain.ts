/**
 * Communication domains and the per-kernel socket registry (NetBSD's uipc_domain.c).
 *
 * A domain is an address family (AF_LOCAL, AF_INET, ...) with its protocols (protosw.ts) and the
 * family-specific helpers the socket layer needs: checking a socket address, and turning
 * ancillary data into and out of kernel form. Domains are added to a kernel's `Net` by their
 * components at boot (`local` adds AF_LOCAL, `netinet` adds AF_INET); `Net` itself is created by
 * the `net` component and hangs off the kernel as `k.net`. Nothing here is module state: every
 * kernel has its own registry, sockets, counters and tunables.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import type { Cmsg, Sockaddr } from '../kern/types.js';
import { SOCK_RAW } from '../kern/types.js';
import type { Interfaces } from './if.js';
import type { Control, Protosw } from './protosw.js';
import type { Socket } from './socket.js';

export interface Domain {
  /** AF_* */
  readonly family: number;
  /** 'local', 'inet', 'inet6', 'route' */
  readonly name: string;
  readonly protosw: readonly Protosw[];
  /**
   * Check a socket address given by a caller for this family (EINVAL for a malformed one) and
   * return the copy the protocol will see. The family has already been compared.
   */
  checkAddr(sa: Sockaddr): Sockaddr;
  /** Encoded length of an address (sa_len), for buffer accounting. */
  addrLen(sa: Sockaddr): number;
  /**
   * dom_externalize: kernel-form control from a receive buffer to what the receiving process
   * sees (SCM_RIGHTS files become descriptors in its table). Consumes the control.
   */
  externalize?(l: Lwp, control: Control, cloexec: boolean): Cmsg;
  /** dom_dispose: release kernel-form control that will never be received (close passed files). */
  dispose?(control: Control): void;
  /** Called when a socket of this domain is freed (the domain may run its garbage collector). */
  sofree?(so: Socket): void | Promise<void>;
  /** Counters and state for `netstat`-style listings; free-form. */
  stats?(): Record<string, number>;
}

/** Counters kept by the socket layer (netstat -s style, per kernel). */
export interface SocketStats {
  /** Sockets created. */
  created: number;
  /** Sockets freed. */
  freed: number;
  /** Connections refused because a listen queue was full. */
  listenQueueOverflows: number;
  /** Sends refused because a kernel memory charge failed (ENOBUFS). */
  nobufs: number;
  /** Control messages (with passed files) discarded unread. */
  controlDisposed: number;
}

/** kern.somaxconn: the largest listen queue (SOMAXCONN). */
export const SOMAXCONN = 128;
/** kern.sbmax: the largest socket buffer (SB_MAX). */
export const SB_MAX = 256 * 1024;

/** The socket layer of one kernel: domains, live sockets, tunables, counters. */
export class Net {
  readonly domains = new Map<number, Domain>();
  /** Every socket not yet freed (sockstat walks it; halt aborts what is left). */
  readonly sockets = new Set<Socket>();
  readonly stats: SocketStats = { created: 0, freed: 0, listenQueueOverflows: 0, nobufs: 0, controlDisposed: 0 };
  somaxconn = SOMAXCONN;
  sbmax = SB_MAX;
  /** Interface ioctls on any socket (SIOC* of group 'i'), installed by the interface layer. */
  ifioctl: ((so: Socket, cmd: number, data: unknown, l: Lwp) => Promise<unknown>) | null = null;
  /** The interface layer (if.ts: interfaces, cloners, link dispatch), created on first use by ifnetOf. */
  ifnet: Interfaces | null = null;
  /** Fake inode numbers for fstat of sockets. */
  private nextIno = 1;

  constructor(readonly kernel: Kernel) {}

  /** Add a domain (its component's init). EEXIST for a family registered twice. */
  addDomain(d: Domain): void {
    if (this.domains.has(d.family)) throw new KernelError('EEXIST', `address family ${d.family} (${d.name}) registered twice`);
    for (const pr of d.protosw) pr.domain = d;
    this.domains.set(d.family, d);
  }

  removeDomain(family: number): void {
    this.domains.delete(family);
  }

  findDomain(family: number): Domain | undefined {
    return this.domains.get(family);
  }

  /**
   * pffindproto/pffindtype as socreate uses them: the protocol for (family, type, protocol), or
   * the errno NetBSD reports: EAFNOSUPPORT for an unknown family, EPROTOTYPE for a type the
   * family lacks (protocol 0), EPROTONOSUPPORT for a (protocol, type) pair it lacks.
   */
  findProto(family: number, type: number, protocol: number): Protosw {
    const d = this.domains.get(family);
    if (d === undefined) {
      throw new KernelError('EAFNOSUPPORT', `address family ${family} is not supported by this kernel (have: ${
        [...this.domains.values()].map((x) => x.name).join(', ') || 'none'})`);
    }
    let pr: Protosw | undefined;
    if (protocol !== 0) {
      pr = d.protosw.find((p) => p.protocol === protocol && p.type === type);
      // a raw socket of any protocol falls back to the domain's wildcard raw protocol
      if (pr === undefined && type === SOCK_RAW) pr = d.protosw.find((p) => p.type === SOCK_RAW && p.protocol === 0);
      if (pr === undefined) throw new KernelError('EPROTONOSUPPORT', `protocol ${protocol} with socket type ${type} is not supported in the ${d.name} domain`);
    } else {
      pr = d.protosw.find((p) => p.type === type);
      if (pr === undefined) throw new KernelError('EPROTOTYPE', `socket type ${type} is not supported in the ${d.name} domain`);
    }
    return pr;
  }

  allocIno(): number {
    return this.nextIno++;
  }
}

/** The socket layer of `k`, or ENOSYS when the kernel has no net component. */
export function netOf(k: Kernel): Net {
  const n = k.net;
  if (n === null) throw new KernelError('ENOSYS', 'no net component in this kernel');
  return n;
}

/** Bytes of a string in UTF-8 (path lengths are byte counts in the ABI). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}
