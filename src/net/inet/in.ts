/**
 * Internet addresses (NetBSD's netinet/in.c): sockaddr_in <-> (uint32, port), the interface
 * addresses of AF_INET (`InIfaddr`), adding and removing them with their routes (in_ifinit,
 * in_purgeaddr), and `inControl`, the AF_INET half of the interface ioctls (SIOCAIFADDR,
 * SIOCGIFALIAS, SIOCDIFADDR, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR) plus the 4.3BSD
 * route ioctls SIOCADDRT/SIOCDELRT, which reach it through the `ioctl` usrreq of UDP and raw
 * sockets.
 *
 * Adding an address to an interface: brings the interface up (as ifconfig does), installs the
 * connected route for its subnet (none for a /32) and a local host route through lo0, and
 * announces it with a gratuitous ARP on Ethernet. Removing it takes those routes away. An address
 * lives on one interface at a time (EEXIST elsewhere).
 */

import { KernelError } from '../../kern/errno.js';
import type { Lwp } from '../../kern/proc.js';
import { AF_INET, type Sockaddr } from '../../kern/types.js';
import { IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT, type IfAddr, type Ifnet } from '../if.js';
import { reqName, SIOCAIFADDR, SIOCGIFALIAS, SIOCDIFADDR, SIOCGIFADDR, SIOCGIFBRDADDR, SIOCGIFDSTADDR, SIOCGIFNETMASK, _IOW, _IOWR, type IfAliasReq, type IfReq } from '../if_ioctl.js';
import { RTF_CONNECTED, RTF_GATEWAY, RTF_HOST, RTF_LOCAL, RTF_STATIC, RTF_BLACKHOLE, RTF_REJECT, routeInfo, type RouteInfo } from '../route.js';
import { parseMac } from '../wire/ethernet.js';
import { formatIpv4, ipv4Mask, ipv4MaskLen, parseIpv4, parseIpv4Cidr } from '../wire/ipv4.js';
import type { Inet } from './ip_var.js';

/** sizeof(struct sockaddr_in): what an AF_INET address costs in a socket buffer. */
export const SOCKADDR_IN_LEN = 16;

/** A checked AF_INET socket address. */
export interface SockaddrIn {
  addr: number;
  port: number;
}

/**
 * sockaddr_in from a caller's Sockaddr: `addr` a dotted quad (missing: INADDR_ANY), `port`
 * 0..65535 (missing: 0). EINVAL names what is wrong; EAFNOSUPPORT for another family.
 */
export function sinFrom(sa: Sockaddr, what = 'address'): SockaddrIn {
  if (typeof sa !== 'object' || sa === null) throw new KernelError('EINVAL', `${what} is not a socket address`);
  if (sa.family !== AF_INET) throw new KernelError('EAFNOSUPPORT', `${what}: family ${String(sa.family)} is not AF_INET (${AF_INET})`);
  let addr = 0;
  if (sa.addr !== undefined) {
    if (typeof sa.addr !== 'string') throw new KernelError('EINVAL', `${what}: addr must be a dotted-quad string`);
    const a = parseIpv4(sa.addr);
    if (a === null) throw new KernelError('EINVAL', `${what}: '${sa.addr}' is not a dotted-quad IPv4 address`);
    addr = a;
  }
  const port = sa.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new KernelError('EINVAL', `${what}: port ${String(port)} outside 0..65535`);
  }
  return { addr, port };
}

/** The Sockaddr of (addr, port). */
export function sinTo(addr: number, port: number): Sockaddr {
  return { family: AF_INET, addr: formatIpv4(addr >>> 0), port };
}

/** A netmask Sockaddr (any family accepted, as ifconfig sends them) to a prefix length. */
function maskFrom(sa: Sockaddr, what: string): number {
  if (typeof sa !== 'object' || sa === null || typeof sa.addr !== 'string') throw new KernelError('EINVAL', `${what}: netmask needs a dotted-quad addr`);
  const m = parseIpv4(sa.addr);
  if (m === null) throw new KernelError('EINVAL', `${what}: netmask '${sa.addr}' is not a dotted quad`);
  const len = ipv4MaskLen(m);
  if (len < 0) throw new KernelError('EINVAL', `${what}: netmask ${sa.addr} is not contiguous`);
  return len;
}

/** The classful default prefix (in_ifinit without a mask): A /8, B /16, C /24, else /32. */
export function classfulPrefix(a: number): number {
  if (a >>> 31 === 0) return 8;
  if (a >>> 30 === 2) return 16;
  if (a >>> 29 === 6) return 24;
  return 32;
}

/** An IPv4 address of an interface (struct in_ifaddr). */
export class InIfaddr implements IfAddr {
  readonly family = AF_INET;
  prefixLen: number;
  mask: number;
  /** Subnet broadcast (IFF_BROADCAST interfaces), else 0. */
  broadcast: number;
  /** The peer of a point-to-point interface, else 0. */
  dstaddr = 0;

  constructor(readonly ifp: Ifnet, readonly addr: number, prefixLen: number, broadcast: number) {
    this.prefixLen = prefixLen;
    this.mask = ipv4Mask(prefixLen);
    this.broadcast = broadcast;
  }

  /** The subnet (ia_subnet). */
  get net(): number { return (this.addr & this.mask) >>> 0; }

  /** Is `a` on this address's subnet? */
  contains(a: number): boolean { return ((a & this.mask) >>> 0) === this.net; }

  sockaddr(): Sockaddr { return sinTo(this.addr, 0); }
}

/** The AF_INET addresses of an interface. */
export function inAddrs(ifp: Ifnet): InIfaddr[] {
  const out: InIfaddr[] = [];
  for (const a of ifp.addrs) if (a instanceof InIfaddr) out.push(a);
  return out;
}

/** The first AF_INET address of an interface (IFP_TO_IA), or null. */
export function inFirstAddr(ifp: Ifnet): InIfaddr | null {
  for (const a of ifp.addrs) if (a instanceof InIfaddr) return a;
  return null;
}

/** Install the connected and local routes of `ia` (in_addprefix / in_addlocal). */
function installRoutes(inet: Inet, ia: InIfaddr): void {
  const ifp = ia.ifp;
  const rt = inet.routes;
  if ((ifp.flags & IFF_POINTOPOINT) !== 0 && ia.dstaddr !== 0) {
    if (rt.get(ia.dstaddr, 32) === undefined) rt.add({ dst: ia.dstaddr, prefixLen: 32, ifp, ifa: ia, flags: RTF_CONNECTED | RTF_HOST });
  } else if (ia.prefixLen < 32 && rt.get(ia.addr, ia.prefixLen) === undefined) {
    rt.add({ dst: ia.net, prefixLen: ia.prefixLen, ifp, ifa: ia, flags: RTF_CONNECTED });
  }
  const lo0 = inet.ifs.lo0;
  if (rt.get(ia.addr, 32) === undefined) {
    rt.add({ dst: ia.addr, prefixLen: 32, ifp: lo0 ?? ifp, ifa: ia, flags: RTF_LOCAL | RTF_HOST });
  }
}

/** Remove the routes that `ia` made (and any other route that sends from it). */
function removeRoutes(inet: Inet, ia: InIfaddr): void {
  inet.routes.purge((r) => r.ifa === ia && (r.flags & (RTF_CONNECTED | RTF_LOCAL)) !== 0);
  // another address of the same subnet takes the connected route over
  for (const other of inAddrs(ia.ifp)) {
    if (other !== ia && other.prefixLen === ia.prefixLen && other.net === ia.net) {
      installRoutes(inet, other);
      break;
    }
  }
}

/**
 * in_ifinit: add `addr`/`prefixLen` to `ifp` (or change the mask and broadcast of an address
 * it has). EEXIST when another interface has the address.
 */
export function inAddAddress(inet: Inet, ifp: Ifnet, addr: number, prefixLen: number, broadcast?: number, dstaddr?: number): InIfaddr {
  if (addr === 0 || addr === 0xffffffff || addr >>> 28 === 0xe) {
    throw new KernelError('EINVAL', `${formatIpv4(addr)} cannot be an interface address`);
  }
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) throw new KernelError('EINVAL', `prefix length ${prefixLen} outside 0..32`);
  const existing = inet.addrs.get(addr);
  if (existing !== undefined && existing.ifp !== ifp) {
    throw new KernelError('EEXIST', `${formatIpv4(addr)} is already an address of ${existing.ifp.name}`);
  }
  const bcast = (ifp.flags & IFF_BROADCAST) !== 0 ? broadcast ?? ((addr | ~ipv4Mask(prefixLen)) >>> 0) : 0;
  let ia: InIfaddr;
  if (existing !== undefined) {
    removeRoutes(inet, existing);
    existing.prefixLen = prefixLen;
    existing.mask = ipv4Mask(prefixLen);
    existing.broadcast = bcast;
    ia = existing;
  } else {
    ia = new InIfaddr(ifp, addr, prefixLen, bcast);
    ifp.addrs.push(ia);
    inet.addrs.set(addr, ia);
  }
  if (dstaddr !== undefined) ia.dstaddr = dstaddr;
  installRoutes(inet, ia);
  // ifconfig brings the interface up with its first address (SIOCINITIFADDR)
  if (!ifp.up) ifp.setUp(true);
  inet.routes.invalidate();
  if ((ifp.flags & IFF_LOOPBACK) === 0) inet.arp.announce(ia);
  return ia;
}

/** in_purgeaddr: remove `ia` and its routes. */
export function inDeleteAddress(inet: Inet, ia: InIfaddr): void {
  const ifp = ia.ifp;
  const i = ifp.addrs.indexOf(ia);
  if (i >= 0) ifp.addrs.splice(i, 1);
  if (inet.addrs.get(ia.addr) === ia) inet.addrs.delete(ia.addr);
  removeRoutes(inet, ia);
  inet.arp.purgeAddr(ia);
}

/** Every AF_INET address and route of an interface that is going away. */
export function inPurgeIf(inet: Inet, ifp: Ifnet): void {
  for (const ia of inAddrs(ifp)) inDeleteAddress(inet, ia);
  inet.routes.purge((r) => r.ifp === ifp);
  inet.arp.purgeIf(ifp);
}

/** `ifconfig IF inet CIDR`: convenience over inAddAddress ('10.0.0.1/24'; no prefix: classful). */
export function inConfigure(inet: Inet, ifname: string, cidr: string): InIfaddr {
  const ifp = inet.ifs.lookup(ifname);
  const c = parseIpv4Cidr(cidr);
  if (c === null) throw new KernelError('EINVAL', `'${cidr}' is not an IPv4 address with an optional /prefix`);
  return inAddAddress(inet, ifp, c.addr, cidr.includes('/') ? c.prefixLen : classfulPrefix(c.addr));
}

// ---------------------------------------------------------------------------------------------
// routes by hand

/** 4.3BSD's route ioctls (NetBSD dropped them for the routing socket); taken on AF_INET sockets. */
export const SIOCADDRT = _IOW('r', 10, 48);
export const SIOCDELRT = _IOW('r', 11, 48);
/** Ours: RTM_GET by ioctl — the route `dst` would take. */
export const SIOCGETRT = _IOWR('r', 12, 48);

/** Ours (4.3BSD had them in group 'i'): arp -s and arp -d by ioctl, data an `ArpReq`. */
export const SIOCSARP = _IOW('r', 13, 48);
export const SIOCDARP = _IOW('r', 14, 48);

/** An ARP request as arp(8) gives it: the IPv4 address, the MAC (for -s), the interface (optional: found from the address). */
export interface ArpReq {
  ip: string;
  mac?: string;
  ifname?: string;
}

/** SIOCSARP / SIOCDARP: add a static entry, or forget one (ESRCH when there is none). */
function inArpControl(inet: Inet, set: boolean, data: unknown): unknown {
  const req = (typeof data === 'object' && data !== null ? data : {}) as Partial<ArpReq>;
  const ip = typeof req.ip === 'string' ? parseIpv4(req.ip) : null;
  if (ip === null) throw new KernelError('EINVAL', `ARP request address '${String(req.ip)}' is not a dotted quad`);
  let ifp: Ifnet | undefined;
  if (req.ifname !== undefined) ifp = inet.ifs.lookup(req.ifname);
  else if (!set) ifp = inet.arp.list().filter((e) => e.ip === req.ip).map((e) => inet.ifs.find(e.ifname)).find((i) => i !== undefined);
  ifp ??= inet.ifaOnNet(ip)?.ifp;
  if (ifp === undefined) throw new KernelError(set ? 'ENETUNREACH' : 'ESRCH', `${req.ip} is not on a directly connected network`);
  if (!set) {
    inet.arp.delete(ifp, ip);
    return 0;
  }
  const mac = typeof req.mac === 'string' ? parseMac(req.mac) : null;
  if (mac === null) throw new KernelError('EINVAL', `'${String(req.mac)}' is not a MAC address (xx:xx:xx:xx:xx:xx)`);
  inet.arp.addStatic(ifp, ip, mac);
  return 0;
}

/** A route request as route(8) gives it; addresses as dotted quads, `dst` may carry a /prefix. */
export interface RouteReq {
  /** '10.1.0.0/16', 'default', or an address with `prefixLen`/`netmask`. */
  dst: string;
  prefixLen?: number;
  netmask?: string;
  gateway?: string;
  /** Send straight out of this interface (no gateway). */
  ifname?: string;
  /** RTF_REJECT, RTF_BLACKHOLE, RTF_STATIC (added by default) ... */
  flags?: number;
  mtu?: number;
}

/** dst/prefixLen of a route request. */
export function routeDst(req: RouteReq): { dst: number; prefixLen: number } {
  if (typeof req !== 'object' || req === null || typeof req.dst !== 'string') throw new KernelError('EINVAL', 'a route request needs a dst string');
  if (req.dst === 'default') return { dst: 0, prefixLen: 0 };
  const c = parseIpv4Cidr(req.dst);
  if (c === null) throw new KernelError('EINVAL', `route destination '${req.dst}' is not an IPv4 address or prefix`);
  let prefixLen = req.dst.includes('/') ? c.prefixLen : 32;
  if (req.prefixLen !== undefined) {
    if (!Number.isInteger(req.prefixLen) || req.prefixLen < 0 || req.prefixLen > 32) throw new KernelError('EINVAL', `prefix length ${String(req.prefixLen)} outside 0..32`);
    prefixLen = req.prefixLen;
  }
  if (req.netmask !== undefined) prefixLen = maskFrom({ family: AF_INET, addr: req.netmask }, 'route');
  return { dst: (c.addr & ipv4Mask(prefixLen)) >>> 0, prefixLen };
}

/** route add: ENETUNREACH when the gateway is not on a connected network, EEXIST when taken. */
export function inRouteAdd(inet: Inet, req: RouteReq): RouteInfo {
  const { dst, prefixLen } = routeDst(req);
  const extra = req.flags ?? 0;
  if (!Number.isInteger(extra)) throw new KernelError('EINVAL', 'route flags must be an integer');
  const mtu = req.mtu ?? 0;
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > 65535) throw new KernelError('EINVAL', `route MTU ${String(mtu)} outside 0..65535`);
  let ifp: Ifnet;
  let gateway = 0;
  let ifa: InIfaddr | null;
  if (req.gateway !== undefined) {
    const g = typeof req.gateway === 'string' ? parseIpv4(req.gateway) : null;
    if (g === null) throw new KernelError('EINVAL', `gateway '${String(req.gateway)}' is not a dotted-quad address`);
    gateway = g;
    const gwIa = inet.ifaOnNet(g);
    if (gwIa === null) throw new KernelError('ENETUNREACH', `gateway ${req.gateway} is not on a directly connected network`);
    ifp = req.ifname !== undefined ? inet.ifs.lookup(req.ifname) : gwIa.ifp;
    ifa = ifp === gwIa.ifp ? gwIa : inFirstAddr(ifp);
  } else if (req.ifname !== undefined) {
    ifp = inet.ifs.lookup(req.ifname);
    ifa = inFirstAddr(ifp);
  } else if ((extra & (RTF_REJECT | RTF_BLACKHOLE)) !== 0) {
    const lo0 = inet.ifs.lo0;
    if (lo0 === null) throw new KernelError('ENETUNREACH', 'reject routes need lo0');
    ifp = lo0;
    ifa = inFirstAddr(lo0);
  } else {
    throw new KernelError('EINVAL', 'a route needs a gateway or an interface');
  }
  const rt = inet.routes.add({
    dst, prefixLen, ...(gateway !== 0 ? { gateway } : {}), ifp, ifa, flags: (extra | RTF_STATIC | (gateway !== 0 ? RTF_GATEWAY : 0)) & ~RTF_LOCAL, mtu,
  });
  return routeInfo(rt);
}

/** route delete: ESRCH when there is no such route. */
export function inRouteDelete(inet: Inet, req: RouteReq): RouteInfo {
  const { dst, prefixLen } = routeDst(req);
  return routeInfo(inet.routes.delete(dst, prefixLen));
}

/** route get: the route a packet to `dst` takes (ESRCH without one). */
export function inRouteGet(inet: Inet, dst: string): RouteInfo {
  const a = typeof dst === 'string' ? parseIpv4(dst) : null;
  if (a === null) throw new KernelError('EINVAL', `'${String(dst)}' is not a dotted-quad address`);
  const rt = inet.routes.lookup(a);
  if (rt === null) throw new KernelError('ESRCH', `no route to ${dst}`);
  return routeInfo(rt);
}

// ---------------------------------------------------------------------------------------------
// in_control

function needRoot(l: Lwp, what: string): void {
  if (l.cred.euid !== 0) throw new KernelError('EPERM', `${what} needs the superuser`);
}

function optSin(v: unknown, what: string): SockaddrIn | null {
  if (v === undefined || v === null) return null;
  return sinFrom(v as Sockaddr, what);
}

/**
 * in_control: AF_INET interface address and route requests. Data shapes are if_ioctl.ts's
 * (IfReq, IfAliasReq) and RouteReq.
 */
export function inControl(inet: Inet, cmd: number, data: unknown, l: Lwp): unknown {
  const c = cmd >>> 0;
  switch (c) {
    case SIOCADDRT:
      needRoot(l, 'adding a route');
      return inRouteAdd(inet, data as RouteReq);
    case SIOCDELRT:
      needRoot(l, 'deleting a route');
      return inRouteDelete(inet, data as RouteReq);
    case SIOCGETRT:
      return inRouteGet(inet, (data as { dst?: unknown } | null)?.dst as string);
    case SIOCSARP:
    case SIOCDARP:
      needRoot(l, c === SIOCSARP ? 'adding an ARP entry' : 'deleting an ARP entry');
      return inArpControl(inet, c === SIOCSARP, data);
    default:
      break;
  }
  const name = reqName(data);
  const ifp = inet.ifs.lookup(name);
  const req = data as Record<string, unknown>;
  switch (c) {
    case SIOCAIFADDR: {
      needRoot(l, 'adding an interface address');
      const a = optSin(req['addr'], 'SIOCAIFADDR address');
      if (a === null) throw new KernelError('EINVAL', 'SIOCAIFADDR needs an address');
      const prefixLen = req['mask'] !== undefined && req['mask'] !== null ? maskFrom(req['mask'] as Sockaddr, 'SIOCAIFADDR') : inet.addrs.get(a.addr)?.prefixLen ?? classfulPrefix(a.addr);
      const b = optSin(req['broadaddr'], 'SIOCAIFADDR broadcast address');
      const d = optSin(req['dstaddr'], 'SIOCAIFADDR destination address');
      const ia = inAddAddress(inet, ifp, a.addr, prefixLen, b !== null && b.addr !== 0 ? b.addr : undefined, d !== null && d.addr !== 0 ? d.addr : undefined);
      return { name, addr: ia.sockaddr() } satisfies IfReq;
    }
    case SIOCGIFALIAS: {
      const a = optSin(req['addr'], 'SIOCGIFALIAS address');
      const ia = a === null ? undefined : inet.addrs.get(a.addr);
      if (ia === undefined || ia.ifp !== ifp) throw new KernelError('EADDRNOTAVAIL', `${name} has no address ${a === null ? '' : formatIpv4(a.addr)}`.trimEnd());
      return {
        name, addr: ia.sockaddr(), mask: sinTo(ia.mask, 0),
        ...(ia.broadcast !== 0 ? { broadaddr: sinTo(ia.broadcast, 0) } : {}),
        ...(ia.dstaddr !== 0 ? { dstaddr: sinTo(ia.dstaddr, 0) } : {}),
      } satisfies IfAliasReq;
    }
    case SIOCDIFADDR: {
      needRoot(l, 'deleting an interface address');
      const a = optSin(req['addr'], 'SIOCDIFADDR address');
      let ia: InIfaddr | null | undefined;
      if (a === null || a.addr === 0) ia = inFirstAddr(ifp);
      else {
        ia = inet.addrs.get(a.addr);
        if (ia !== undefined && ia.ifp !== ifp) ia = undefined;
      }
      if (ia === null || ia === undefined) throw new KernelError('EADDRNOTAVAIL', `${name} has no address ${a === null ? '' : formatIpv4(a.addr)}`.trimEnd());
      inDeleteAddress(inet, ia);
      return { name, addr: ia.sockaddr() } satisfies IfReq;
    }
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFDSTADDR: {
      const ia = inFirstAddr(ifp);
      if (ia === null) throw new KernelError('EADDRNOTAVAIL', `${name} has no IPv4 address`);
      if (c === SIOCGIFADDR) return { name, addr: ia.sockaddr() } satisfies IfReq;
      if (c === SIOCGIFNETMASK) return { name, addr: sinTo(ia.mask, 0) } satisfies IfReq;
      if (c === SIOCGIFBRDADDR) {
        if ((ifp.flags & IFF_BROADCAST) === 0) throw new KernelError('EINVAL', `${name} is not a broadcast interface`);
        return { name, broadaddr: sinTo(ia.broadcast, 0) } satisfies IfReq;
      }
      if ((ifp.flags & IFF_POINTOPOINT) === 0) throw new KernelError('EINVAL', `${name} is not a point-to-point interface`);
      return { name, dstaddr: sinTo(ia.dstaddr, 0) } satisfies IfReq;
    }
    default:
      throw new KernelError('ENOTTY', `AF_INET ioctl 0x${c.toString(16)} is not known`);
  }
}
