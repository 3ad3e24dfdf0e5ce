/**
 * The IPv4 routing table (NetBSD's net/route.c without the radix tree): longest-prefix match
 * over one map per prefix length, with a small lookup cache that every change invalidates.
 *
 * An entry sends traffic for dst/prefixLen out of `ifp`, to `gateway` when RTF_GATEWAY is set
 * (else straight to the destination: a connected network), using `ifa` (the address to send
 * from) as the source. Entries the kernel makes itself: a connected route per interface address
 * (RTF_CONNECTED) and a local route per address through lo0 (RTF_LOCAL | RTF_HOST). Routes added
 * by hand are RTF_STATIC. RTF_REJECT routes fail sends with EHOSTUNREACH, RTF_BLACKHOLE routes
 * swallow them. Entries whose interface is down are skipped by lookups.
 *
 * Addresses are uint32 numbers (10.0.0.1 = 0x0a000001).
 */

import { KernelError } from '../kern/errno.js';
import type { Ifnet } from './if.js';
import { formatIpv4, ipv4Mask } from './wire/ipv4.js';

// rt_flags (net/route.h)
export const RTF_UP = 0x1;
export const RTF_GATEWAY = 0x2;
export const RTF_HOST = 0x4;
export const RTF_REJECT = 0x8;
export const RTF_DYNAMIC = 0x10;
export const RTF_MODIFIED = 0x20;
export const RTF_DONE = 0x40;
export const RTF_MASK = 0x80;
export const RTF_CONNECTED = 0x100;
export const RTF_LLDATA = 0x400;
export const RTF_STATIC = 0x800;
export const RTF_BLACKHOLE = 0x1000;
export const RTF_CLONED = 0x2000;
export const RTF_PROTO2 = 0x4000;
export const RTF_PROTO1 = 0x8000;
export const RTF_SRC = 0x10000;
export const RTF_ANNOUNCE = 0x20000;
export const RTF_LOCAL = 0x40000;
export const RTF_BROADCAST = 0x80000;

/** The source address a route carries (an interface address of some family). */
export interface RtIfa {
  readonly addr: number;
  readonly ifp: Ifnet;
}

export interface Rtentry {
  readonly dst: number;
  readonly prefixLen: number;
  readonly mask: number;
  /** Next hop when RTF_GATEWAY; else 0. */
  gateway: number;
  ifp: Ifnet;
  /** Address to send from (rt_ifa). */
  ifa: RtIfa | null;
  flags: number;
  /** Path MTU (0: the interface's). */
  mtu: number;
  /** Packets sent through the route (rt_use). */
  use: number;
}

/** A route as listings (sysctl, `route show`) report it: JSON-shaped. */
export interface RouteInfo {
  dst: string;
  prefixLen: number;
  gateway: string | null;
  ifname: string;
  ifa: string | null;
  flags: number;
  mtu: number;
  use: number;
}

export interface RouteSpec {
  dst: number;
  prefixLen: number;
  gateway?: number;
  ifp: Ifnet;
  ifa: RtIfa | null;
  flags: number;
  mtu?: number;
}

const CACHE_MAX = 4096;

export class RouteTable {
  /** byLen[p]: masked destination -> entry, for prefix length p. */
  private readonly byLen: Map<number, Rtentry>[] = Array.from({ length: 33 }, () => new Map<number, Rtentry>());
  /** Prefix lengths in use, longest first. */
  private lens: number[] = [];
  private readonly cache = new Map<number, Rtentry | null>();
  /** Bumped at every change (holders of a cached route re-look it up). */
  generation = 0;
  count = 0;

  private changed(): void {
    this.generation++;
    this.cache.clear();
    this.lens = [];
    for (let p = 32; p >= 0; p--) if (this.byLen[p]!.size > 0) this.lens.push(p);
  }

  /** rtrequest(RTM_ADD). EEXIST when dst/prefixLen is taken, EINVAL for a bad prefix. */
  add(spec: RouteSpec): Rtentry {
    const { prefixLen } = spec;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new KernelError('EINVAL', `prefix length ${prefixLen} outside 0..32`);
    const mask = ipv4Mask(prefixLen);
    const dst = (spec.dst & mask) >>> 0;
    const tbl = this.byLen[prefixLen]!;
    if (tbl.has(dst)) throw new KernelError('EEXIST', `a route to ${formatIpv4(dst)}/${prefixLen} exists`);
    const flags = (spec.flags | RTF_UP | (prefixLen === 32 ? RTF_HOST : 0) | (spec.gateway !== undefined && spec.gateway !== 0 ? RTF_GATEWAY : 0)) >>> 0;
    const rt: Rtentry = {
      dst, prefixLen, mask, gateway: (flags & RTF_GATEWAY) !== 0 ? spec.gateway! >>> 0 : 0, ifp: spec.ifp, ifa: spec.ifa, flags, mtu: spec.mtu ?? 0, use: 0,
    };
    tbl.set(dst, rt);
    this.count++;
    this.changed();
    return rt;
  }

  /** rtrequest(RTM_DELETE). ESRCH when there is no such route. */
  delete(dst: number, prefixLen: number): Rtentry {
    const rt = this.get(dst, prefixLen);
    if (rt === undefined) throw new KernelError('ESRCH', `no route to ${formatIpv4((dst & ipv4Mask(prefixLen)) >>> 0)}/${prefixLen}`);
    this.byLen[prefixLen]!.delete(rt.dst);
    this.count--;
    this.changed();
    return rt;
  }

  /** The exact entry for dst/prefixLen (RTM_GET with a mask). */
  get(dst: number, prefixLen: number): Rtentry | undefined {
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) return undefined;
    return this.byLen[prefixLen]!.get((dst & ipv4Mask(prefixLen)) >>> 0);
  }

  /** rtalloc: the longest-prefix match for `dst` among usable routes (interface up), or null. */
  lookup(dst: number): Rtentry | null {
    const c = this.cache.get(dst);
    if (c !== undefined) {
      if (c === null || c.ifp.up) return c;
    }
    let found: Rtentry | null = null;
    for (const p of this.lens) {
      const rt = this.byLen[p]!.get((dst & ipv4Mask(p)) >>> 0);
      if (rt !== undefined && (rt.flags & RTF_UP) !== 0 && rt.ifp.up && !rt.ifp.detached) {
        found = rt;
        break;
      }
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(dst, found);
    return found;
  }

  /** Note that interface state changed (lookups skip down interfaces). */
  invalidate(): void {
    this.generation++;
    this.cache.clear();
  }

  /** Every entry, most specific first then by destination. */
  list(): Rtentry[] {
    const out: Rtentry[] = [];
    for (let p = 32; p >= 0; p--) {
      const part = [...this.byLen[p]!.values()].sort((a, b) => a.dst - b.dst);
      out.push(...part);
    }
    return out;
  }

  /** Remove entries matching `pred` (an interface going away, an address removed). */
  purge(pred: (rt: Rtentry) => boolean): number {
    let n = 0;
    for (const tbl of this.byLen) {
      for (const [k, rt] of tbl) {
        if (pred(rt)) { tbl.delete(k); n++; }
      }
    }
    if (n > 0) {
      this.count -= n;
      this.changed();
    }
    return n;
  }
}

export function routeInfo(rt: Rtentry): RouteInfo {
  return {
    dst: formatIpv4(rt.dst),
    prefixLen: rt.prefixLen,
    gateway: (rt.flags & RTF_GATEWAY) !== 0 ? formatIpv4(rt.gateway) : null,
    ifname: rt.ifp.name,
    ifa: rt.ifa === null ? null : formatIpv4(rt.ifa.addr),
    flags: rt.flags,
    mtu: rt.mtu,
    use: rt.use,
  };
}
