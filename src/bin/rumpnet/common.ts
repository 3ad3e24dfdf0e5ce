/**
 * Shared by the network rump.* tools (ifconfig, route, ping, netstat, sockstat, arp): an AF_INET
 * datagram socket to send interface and route ioctls on, the interface list from SIOCGIFCONF,
 * sysctl reads, and the text forms NetBSD's tools use (printb(3) flag lists, "127.0.0.1.80"
 * endpoints, netstat -rn route lines).
 *
 * ioctl data crosses the wire as JSON: requests and replies are the objects of
 * src/net/if_ioctl.ts (IfReq, IfAliasReq, IfConfEntry, IfDataReq) and src/net/inet/in.ts
 * (RouteReq, ArpReq).
 */

import type { RumpClient } from '../../client/client.js';
import { AF_INET, AF_LINK, SOCK_DGRAM, type Sockaddr } from '../../kern/types.js';
import { SIOCGIFALIAS, SIOCGIFCONF, SIOCGIFDATA, SIOCGIFFLAGS, SIOCGIFMTU, type IfAliasReq, type IfConfEntry, type IfDataReq } from '../../net/if_ioctl.js';
import {
  RTF_BLACKHOLE, RTF_CLONED, RTF_CONNECTED, RTF_DYNAMIC, RTF_GATEWAY, RTF_HOST, RTF_LOCAL, RTF_MODIFIED, RTF_REJECT, RTF_STATIC, RTF_UP,
  RTF_BROADCAST, RTF_DONE, RTF_LLDATA, RTF_PROTO1, RTF_PROTO2, RTF_ANNOUNCE, RTF_SRC, RTF_MASK, type RouteInfo,
} from '../../net/route.js';
import { ipv4MaskLen, parseIpv4 } from '../../net/wire/ipv4.js';

/** ifconfig's flag names (net/if.h IFFBITS). */
export const IFF_NAMES: readonly (readonly [number, string])[] = [
  [0x1, 'UP'], [0x2, 'BROADCAST'], [0x4, 'DEBUG'], [0x8, 'LOOPBACK'], [0x10, 'POINTOPOINT'], [0x20, 'NOTRAILERS'],
  [0x40, 'RUNNING'], [0x80, 'NOARP'], [0x100, 'PROMISC'], [0x200, 'ALLMULTI'], [0x400, 'OACTIVE'], [0x800, 'SIMPLEX'],
  [0x1000, 'LINK0'], [0x2000, 'LINK1'], [0x4000, 'LINK2'], [0x8000, 'MULTICAST'],
];

/** route get's flag names (net/route.h RTFBITS). */
export const RTF_NAMES: readonly (readonly [number, string])[] = [
  [RTF_UP, 'UP'], [RTF_GATEWAY, 'GATEWAY'], [RTF_HOST, 'HOST'], [RTF_REJECT, 'REJECT'], [RTF_DYNAMIC, 'DYNAMIC'],
  [RTF_MODIFIED, 'MODIFIED'], [RTF_DONE, 'DONE'], [RTF_MASK, 'MASK'], [RTF_CONNECTED, 'CONNECTED'], [RTF_LLDATA, 'LLINFO'],
  [RTF_STATIC, 'STATIC'], [RTF_BLACKHOLE, 'BLACKHOLE'], [RTF_CLONED, 'CLONED'], [RTF_PROTO2, 'PROTO2'], [RTF_PROTO1, 'PROTO1'],
  [RTF_SRC, 'SRC'], [RTF_ANNOUNCE, 'ANNOUNCE'], [RTF_LOCAL, 'LOCAL'], [RTF_BROADCAST, 'BROADCAST'],
];

/** netstat -r's one-letter flags (netstat/route.c bits[]). */
const RTF_LETTERS: readonly (readonly [number, string])[] = [
  [RTF_UP, 'U'], [RTF_GATEWAY, 'G'], [RTF_HOST, 'H'], [RTF_REJECT, 'R'], [RTF_DYNAMIC, 'D'], [RTF_MODIFIED, 'M'],
  [RTF_DONE, 'd'], [RTF_MASK, 'm'], [RTF_CONNECTED, 'C'], [RTF_LLDATA, 'L'], [RTF_STATIC, 'S'], [RTF_BLACKHOLE, 'B'],
  [RTF_CLONED, 'c'], [RTF_PROTO2, '2'], [RTF_PROTO1, '1'], [RTF_SRC, 's'], [RTF_ANNOUNCE, 'p'], [RTF_LOCAL, 'l'], [RTF_BROADCAST, 'b'],
];

/** printb(3) as ifconfig prints flags: "8049<UP,LOOPBACK,RUNNING,MULTICAST>". */
export function printb(v: number, names: readonly (readonly [number, string])[], hex = true): string {
  const set = names.filter(([bit]) => (v & bit) !== 0).map(([, n]) => n);
  return `${hex ? (v >>> 0).toString(16) : String(v)}<${set.join(',')}>`;
}

/** netstat -r's flag letters ("UGS"). */
export function routeFlagLetters(flags: number): string {
  return RTF_LETTERS.filter(([bit]) => (flags & bit) !== 0).map(([, c]) => c).join('');
}

/** An AF_INET datagram socket for interface and route ioctls (closed by the caller). */
export function inetSocket(c: RumpClient): Promise<number> {
  return c.sys.socket(AF_INET, SOCK_DGRAM, 0);
}

/** A sysctl value, or `fallback` when the node does not exist (a kernel without that component). */
export async function sysctlOr<T>(c: RumpClient, name: string, fallback: T): Promise<T> {
  try {
    return (await c.sys.__sysctl(name, null)) as T;
  } catch {
    return fallback;
  }
}

/** An interface with its addresses (SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFALIAS), in index order. */
export interface IfInfo {
  name: string;
  flags: number;
  mtu: number;
  /** AF_LINK address (MAC) or '' for none. */
  lladdr: string;
  /** AF_INET addresses. */
  inet: { addr: string; prefixLen: number; broadaddr: string | null; dstaddr: string | null }[];
}

/** The interfaces of the kernel (all, or just `only`). */
export async function interfaces(c: RumpClient, fd: number, only?: string): Promise<IfInfo[]> {
  const conf = (await c.sys.ioctl(fd, SIOCGIFCONF, {})) as IfConfEntry[];
  const byName = new Map<string, IfInfo>();
  for (const e of conf) {
    if (only !== undefined && e.name !== only) continue;
    let ifi = byName.get(e.name);
    if (ifi === undefined) {
      ifi = { name: e.name, flags: 0, mtu: 0, lladdr: '', inet: [] };
      byName.set(e.name, ifi);
    }
    if (e.addr.family === AF_LINK) ifi.lladdr = typeof e.addr.addr === 'string' ? e.addr.addr : '';
    else if (e.addr.family === AF_INET && typeof e.addr.addr === 'string') ifi.inet.push({ addr: e.addr.addr, prefixLen: 32, broadaddr: null, dstaddr: null });
  }
  const out = [...byName.values()];
  await Promise.all(out.map(async (ifi) => {
    const [f, m] = await Promise.all([c.sys.ioctl(fd, SIOCGIFFLAGS, { name: ifi.name }), c.sys.ioctl(fd, SIOCGIFMTU, { name: ifi.name })]);
    ifi.flags = (f as { flags: number }).flags;
    ifi.mtu = (m as { mtu: number }).mtu;
    // netmask, broadcast and peer of each address (SIOCGIFALIAS)
    await Promise.all(ifi.inet.map(async (a) => {
      const r = (await c.sys.ioctl(fd, SIOCGIFALIAS, { name: ifi.name, addr: { family: AF_INET, addr: a.addr } })) as IfAliasReq;
      const mask = r.mask !== undefined && typeof r.mask.addr === 'string' ? parseIpv4(r.mask.addr) : null;
      if (mask !== null) a.prefixLen = Math.max(0, ipv4MaskLen(mask));
      a.broadaddr = sockaddrText(r.broadaddr);
      a.dstaddr = sockaddrText(r.dstaddr);
    }));
  }));
  return out;
}

/** Counters of an interface (SIOCGIFDATA). */
export async function ifData(c: RumpClient, fd: number, name: string): Promise<IfDataReq['data']> {
  return ((await c.sys.ioctl(fd, SIOCGIFDATA, { name })) as IfDataReq).data;
}

function sockaddrText(sa: Sockaddr | undefined): string | null {
  return sa !== undefined && typeof sa.addr === 'string' ? sa.addr : null;
}

/** "a.b.c.d.port" with '*' for the wildcard address and port, as BSD netstat prints endpoints. */
export function endpoint(addr: string | null | undefined, port: number | null | undefined): string {
  const a = addr === null || addr === undefined || addr === '' || addr === '0.0.0.0' ? '*' : addr;
  const p = port === null || port === undefined || port === 0 ? '*' : String(port);
  return `${a}.${p}`;
}

/** A route's destination as netstat -rn prints it: 'default', a host, or net/prefix. */
export function routeDest(r: RouteInfo): string {
  if (r.prefixLen === 0 && r.dst === '0.0.0.0') return 'default';
  if (r.prefixLen === 32) return r.dst;
  return `${r.dst}/${r.prefixLen}`;
}

/** The routing table as netstat -rn and route show print it. */
export function formatRoutes(routes: readonly RouteInfo[]): string {
  const lines = ['Routing tables', '', 'Internet:', `${'Destination'.padEnd(18)} ${'Gateway'.padEnd(18)} ${'Flags'.padEnd(8)} ${'Refs'.padStart(4)} ${'Use'.padStart(8)} ${'Mtu'.padStart(6)} Interface`];
  const sorted = [...routes].sort((a, b) => {
    const x = (parseIpv4(a.dst) ?? 0) - (parseIpv4(b.dst) ?? 0);
    return x !== 0 ? x : a.prefixLen - b.prefixLen;
  });
  for (const r of sorted) {
    const gw = r.gateway ?? ((r.flags & RTF_LOCAL) !== 0 ? r.ifname : r.ifa ?? r.ifname);
    lines.push(`${routeDest(r).padEnd(18)} ${gw.padEnd(18)} ${routeFlagLetters(r.flags).padEnd(8)} ${'-'.padStart(4)} ${String(r.use).padStart(8)} ${(r.mtu === 0 ? '-' : String(r.mtu)).padStart(6)} ${r.ifname}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Parse 'ADDR', 'ADDR/PREFIX' (null for malformed). */
export function parseCidr(s: string): { addr: string; prefixLen: number | null } | null {
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash);
  if (parseIpv4(a) === null) return null;
  if (slash < 0) return { addr: a, prefixLen: null };
  const p = s.slice(slash + 1);
  if (!/^[0-9]{1,2}$/.test(p) || Number(p) > 32) return null;
  return { addr: a, prefixLen: Number(p) };
}

/** A netmask as ifconfig takes it: dotted quad or 0xffffff00; the prefix length, null if malformed. */
export function parseNetmask(s: string): number | null {
  let m: number | null;
  if (/^0x[0-9a-f]{1,8}$/i.test(s)) m = Number.parseInt(s.slice(2), 16) >>> 0;
  else m = parseIpv4(s);
  if (m === null) return null;
  const len = ipv4MaskLen(m);
  return len < 0 ? null : len;
}
