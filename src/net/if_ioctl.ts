/**
 * Interface ioctls (NetBSD's ifioctl in net/if.c): what `ifconfig` does, on any socket.
 *
 * The socket layer hands every ioctl of group 'i' here (`net.ifioctl`, installed by ifnetOf).
 * Generic requests are answered here: SIOCGIFCONF, SIOCGIFFLAGS/SIOCSIFFLAGS, SIOCGIFMTU/
 * SIOCSIFMTU, SIOCGIFMETRIC/SIOCSIFMETRIC, SIOCGIFINDEX, SIOCGIFDATA (counters), SIOCIFCREATE/
 * SIOCIFDESTROY/SIOCIFGCLONERS. Address requests (SIOCAIFADDR, SIOCDIFADDR, SIOCGIFADDR,
 * SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFDSTADDR) belong to the socket's protocol family and go
 * to its `usrreqs.ioctl` (PRU_CONTROL: in_control for AF_INET sockets); other families answer
 * EOPNOTSUPP.
 *
 * Data is JSON-shaped (it crosses the rumpclient wire as JSON), so the C structures become
 * objects: `IfReq` for struct ifreq, `IfAliasReq` for struct ifaliasreq; Sockaddrs are the
 * flattened kind (AF_INET: `{ family, addr: '10.0.0.1', port }`; AF_LINK: `{ family, addr:
 * '02:..:..' }`). "Get" requests return the filled-in request. Changing anything needs the
 * superuser (EPERM); an unknown interface is ENXIO. Command numbers are NetBSD's (LP64).
 */

import { KernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import { AF_LINK, type Sockaddr } from '../kern/types.js';
import { IFF_CANTCHANGE, IFF_UP, type Interfaces, type IfStats } from './if.js';
import type { Socket } from './socket.js';
import { formatMac } from './wire/ethernet.js';

const IOC_OUT = 0x40000000;
const IOC_IN = 0x80000000;
const IOC_INOUT = IOC_IN | IOC_OUT;

/** _IOC(inout, group, num, len) as NetBSD's sys/ioccom.h builds it. */
export function ioc(inout: number, group: string, num: number, len: number): number {
  return (inout | ((len & 0x1fff) << 16) | (group.charCodeAt(0) << 8) | num) >>> 0;
}
export const _IOW = (g: string, n: number, len: number): number => ioc(IOC_IN, g, n, len);
export const _IOR = (g: string, n: number, len: number): number => ioc(IOC_OUT, g, n, len);
export const _IOWR = (g: string, n: number, len: number): number => ioc(IOC_INOUT, g, n, len);

/** sizeof(struct ifreq), sizeof(struct ifaliasreq), sizeof(struct ifconf) on NetBSD LP64. */
const IFREQ = 144, IFALIASREQ = 64, IFCONF = 16, IFCLONEREQ = 16, IFDATAREQ = 16 + 160;

export const SIOCSIFFLAGS = _IOW('i', 16, IFREQ);
export const SIOCGIFFLAGS = _IOWR('i', 17, IFREQ);
export const SIOCGIFMETRIC = _IOWR('i', 23, IFREQ);
export const SIOCSIFMETRIC = _IOW('i', 24, IFREQ);
export const SIOCDIFADDR = _IOW('i', 25, IFREQ);
export const SIOCAIFADDR = _IOW('i', 26, IFALIASREQ);
/** Given an address in an IfAliasReq, its netmask, broadcast and peer (NetBSD's SIOCGIFALIAS). */
export const SIOCGIFALIAS = _IOWR('i', 27, IFALIASREQ);
export const SIOCGIFADDR = _IOWR('i', 33, IFREQ);
export const SIOCGIFDSTADDR = _IOWR('i', 34, IFREQ);
export const SIOCGIFBRDADDR = _IOWR('i', 35, IFREQ);
export const SIOCGIFNETMASK = _IOWR('i', 37, IFREQ);
export const SIOCGIFCONF = _IOWR('i', 38, IFCONF);
export const SIOCIFGCLONERS = _IOWR('i', 120, IFCLONEREQ);
export const SIOCIFDESTROY = _IOW('i', 121, IFREQ);
export const SIOCIFCREATE = _IOW('i', 122, IFREQ);
export const SIOCGIFMTU = _IOWR('i', 126, IFREQ);
export const SIOCSIFMTU = _IOW('i', 127, IFREQ);
export const SIOCGIFDATA = _IOWR('i', 133, IFDATAREQ);
export const SIOCGIFINDEX = _IOWR('i', 140, IFREQ);

/** Address requests: answered by the socket's protocol family (PRU_CONTROL). */
export const ADDRESS_IOCTLS: readonly number[] = [SIOCAIFADDR, SIOCGIFALIAS, SIOCDIFADDR, SIOCGIFADDR, SIOCGIFDSTADDR, SIOCGIFBRDADDR, SIOCGIFNETMASK];

/** struct ifreq: the name and one of the union's members. */
export interface IfReq {
  name: string;
  addr?: Sockaddr;
  dstaddr?: Sockaddr;
  broadaddr?: Sockaddr;
  flags?: number;
  metric?: number;
  mtu?: number;
  index?: number;
}

/** struct ifaliasreq (SIOCAIFADDR): address, netmask and broadcast (or point-to-point peer). */
export interface IfAliasReq {
  name: string;
  addr: Sockaddr;
  mask?: Sockaddr;
  broadaddr?: Sockaddr;
  dstaddr?: Sockaddr;
}

/** One SIOCGIFCONF entry: an interface and one of its addresses (AF_LINK first). */
export interface IfConfEntry {
  name: string;
  addr: Sockaddr;
}

/** What SIOCGIFDATA returns (struct ifdatareq). */
export interface IfDataReq {
  name: string;
  data: IfStats & { type: number; mtu: number; metric: number; linkState: number; hdrlen: number; lastChange: number };
}

/** Largest MTU SIOCSIFMTU accepts (an IPv4 datagram's largest size), and the smallest (RFC 791). */
export const IF_MAXMTU = 65535;
export const IF_MINMTU = 68;

/** The interface name of a request (EINVAL when it has none). */
export function reqName(data: unknown): string {
  if (typeof data !== 'object' || data === null) throw new KernelError('EINVAL', 'interface request must be an object with a name');
  const name = (data as { name?: unknown }).name;
  if (typeof name !== 'string') throw new KernelError('EINVAL', 'interface request has no name');
  return name;
}

function reqInt(data: unknown, field: string): number {
  const v = (data as Record<string, unknown>)[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new KernelError('EINVAL', `interface request needs an integer ${field}`);
  return v;
}

function needRoot(l: Lwp, what: string): void {
  if (l.cred.euid !== 0) throw new KernelError('EPERM', `${what} needs the superuser`);
}

/** The link-level address of an interface as SIOCGIFCONF lists it. */
export function linkSockaddr(mac: number | null): Sockaddr {
  return { family: AF_LINK, addr: mac === null ? '' : formatMac(mac) };
}

/** ifioctl: the generic interface requests, and the dispatch of address requests to the socket's family. */
export async function ifioctl(ifs: Interfaces, so: Socket, cmd: number, data: unknown, l: Lwp): Promise<unknown> {
  const c = cmd >>> 0;
  switch (c) {
    case SIOCGIFCONF: {
      const out: IfConfEntry[] = [];
      for (const ifp of ifs.list()) {
        out.push({ name: ifp.name, addr: linkSockaddr(ifp.lladdr) });
        for (const a of ifp.addrs) {
          const sa = (a as { sockaddr?: () => Sockaddr }).sockaddr?.();
          if (sa !== undefined) out.push({ name: ifp.name, addr: sa });
        }
      }
      return out;
    }
    case SIOCIFGCLONERS:
      return [...ifs.cloners.keys()].sort();
    case SIOCIFCREATE: {
      needRoot(l, 'creating an interface');
      const ifp = ifs.create(reqName(data));
      return { name: ifp.name } satisfies IfReq;
    }
    case SIOCIFDESTROY:
      needRoot(l, 'destroying an interface');
      ifs.destroy(reqName(data));
      return 0;
    default:
      break;
  }
  if (ADDRESS_IOCTLS.includes(c)) {
    const f = so.proto.usrreqs.ioctl;
    if (f === undefined) throw new KernelError('EOPNOTSUPP', `address ioctl 0x${c.toString(16)} on a ${so.domain.name} socket (use a socket of the address's family)`);
    return f.call(so.proto.usrreqs, so, c, data, l);
  }
  const name = reqName(data);
  const ifp = ifs.lookup(name);
  switch (c) {
    case SIOCGIFFLAGS:
      return { name, flags: ifp.flags } satisfies IfReq;
    case SIOCSIFFLAGS: {
      needRoot(l, 'setting interface flags');
      const want = reqInt(data, 'flags');
      const up = (want & IFF_UP) !== 0;
      ifp.flags = (ifp.flags & IFF_CANTCHANGE) | (want & ~IFF_CANTCHANGE & ~IFF_UP) | (ifp.flags & IFF_UP);
      ifp.setUp(up);
      return { name, flags: ifp.flags } satisfies IfReq;
    }
    case SIOCGIFMTU:
      return { name, mtu: ifp.mtu } satisfies IfReq;
    case SIOCSIFMTU: {
      needRoot(l, 'setting the MTU');
      const mtu = reqInt(data, 'mtu');
      if (mtu < IF_MINMTU || mtu > IF_MAXMTU) throw new KernelError('EINVAL', `MTU ${mtu} outside ${IF_MINMTU}..${IF_MAXMTU}`);
      ifp.mtu = mtu;
      return { name, mtu } satisfies IfReq;
    }
    case SIOCGIFMETRIC:
      return { name, metric: ifp.metric } satisfies IfReq;
    case SIOCSIFMETRIC:
      needRoot(l, 'setting the metric');
      ifp.metric = reqInt(data, 'metric');
      return { name, metric: ifp.metric } satisfies IfReq;
    case SIOCGIFINDEX:
      return { name, index: ifp.index } satisfies IfReq;
    case SIOCGIFDATA:
      return {
        name,
        data: {
          ...ifp.stats, type: ifp.type, mtu: ifp.mtu, metric: ifp.metric, linkState: ifp.linkState, hdrlen: ifp.hdrlen, lastChange: ifp.lastChange,
        },
      } satisfies IfDataReq;
    default: {
      const f = so.proto.usrreqs.ioctl;
      if (f === undefined) throw new KernelError('ENOTTY', `interface ioctl 0x${c.toString(16)} is not known`);
      return f.call(so.proto.usrreqs, so, c, data, l);
    }
  }
}
