#!/usr/bin/env node
/**
 * rump.route: manipulate the IPv4 routing table of the rump kernel server named by RUMP_SERVER,
 * like route(8).
 *
 *   rump.route [-nq] add [-net | -host] DEST GATEWAY [-netmask M] [-ifp IF] [-iface] [-reject]
 *                    [-blackhole] [-mtu N]
 *   rump.route [-nq] delete [-net | -host] DEST [GATEWAY] [-netmask M]
 *   rump.route [-n] get DEST
 *   rump.route [-n] show                         the table, as netstat -rn prints it
 *   rump.route [-q] flush                        remove every gateway route
 *
 * DEST is `default`, an address, or a network with /prefix (10.1.0.0/16). `-net` without a
 * prefix or netmask takes the address's class (10.0.0.0: /8), widened to cover its nonzero
 * octets. With `-iface` the gateway is an interface name: the route goes straight out of it.
 * Messages as route's: "add net 10.1.0.0/16: gateway 127.0.0.1".
 */

import type { RumpClient } from '../client/client.js';
import { errText, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';
import { SIOCADDRT, SIOCDELRT, SIOCGETRT, type RouteReq } from '../net/inet/in.js';
import { RTF_BLACKHOLE, RTF_GATEWAY, RTF_REJECT, type RouteInfo } from '../net/route.js';
import { formatIpv4, ipv4Mask, parseIpv4 } from '../net/wire/ipv4.js';
import { formatRoutes, inetSocket, parseCidr, parseNetmask, printb, routeDest, RTF_NAMES, sysctlOr } from './rumpnet/common.js';

const PROG = 'rump.route';
const USAGE = `usage: rump.route [-nq] add [-net | -host] destination gateway [-netmask mask] [-ifp ifname] [-iface] [-reject] [-blackhole] [-mtu n]
       rump.route [-nq] delete [-net | -host] destination [gateway] [-netmask mask]
       rump.route [-n] get destination
       rump.route [-n] show
       rump.route [-q] flush`;

/** The class of a network number, widened to cover its nonzero octets (route's inet_makenetandmask). */
function netPrefix(a: number): number {
  let p = a >>> 31 === 0 ? 8 : a >>> 30 === 2 ? 16 : 24;
  while (p < 32 && (a & ~ipv4Mask(p)) >>> 0 !== 0) p += 8;
  return p;
}

interface Parsed { kind: 'net' | 'host'; req: RouteReq; text: string }

function parseRoute(cmd: string, args: readonly string[]): Parsed {
  let kind: 'net' | 'host' | null = null;
  let iface = false;
  let flags = 0;
  const pos: string[] = [];
  const req: RouteReq = { dst: '' };
  let netmask: number | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '-net': kind = 'net'; break;
      case '-host': kind = 'host'; break;
      case '-iface': case '-interface': iface = true; break;
      case '-reject': flags |= RTF_REJECT; break;
      case '-blackhole': flags |= RTF_BLACKHOLE; break;
      case '-static': break;
      case '-netmask': {
        const v = next();
        netmask = parseNetmask(v);
        if (netmask === null) throw new UsageError(`bad netmask '${v}'`);
        break;
      }
      case '-ifp': req.ifname = next(); break;
      case '-mtu': {
        const v = next();
        if (!/^[0-9]+$/.test(v)) throw new UsageError(`bad mtu '${v}'`);
        req.mtu = Number(v);
        break;
      }
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown modifier '${a}'`);
        pos.push(a);
    }
  }
  const dst = pos[0];
  if (dst === undefined) throw new UsageError(`${cmd} needs a destination`);
  const gw = pos[1];
  if (pos.length > 2) throw new UsageError(`unexpected '${pos[2]!}'`);
  if (cmd === 'add' && gw === undefined && (flags & (RTF_REJECT | RTF_BLACKHOLE)) === 0 && req.ifname === undefined) {
    throw new UsageError('add needs a gateway');
  }
  let text: string;
  if (dst === 'default') {
    req.dst = 'default';
    kind = 'net';
    text = 'default';
  } else {
    const c = parseCidr(dst);
    if (c === null) throw new UsageError(`bad destination '${dst}'`);
    const a = parseIpv4(c.addr)!;
    let prefix = c.prefixLen ?? netmask;
    if (prefix === null) prefix = kind === 'net' ? netPrefix(a) : 32;
    kind ??= prefix === 32 ? 'host' : 'net';
    if (kind === 'host') prefix = 32;
    req.dst = `${formatIpv4((a & ipv4Mask(prefix)) >>> 0)}/${prefix}`;
    text = prefix === 32 ? c.addr : req.dst;
  }
  if (gw !== undefined && cmd === 'add') {
    if (iface) req.ifname = gw;
    else if (parseIpv4(gw) === null) throw new UsageError(`bad gateway '${gw}'`);
    else req.gateway = gw;
  }
  if (flags !== 0) req.flags = flags;
  return { kind, req, text };
}

function getText(r: RouteInfo, asked: string): string {
  const gw = r.gateway ?? r.ifname;
  return [
    `   route to: ${asked}`,
    `destination: ${routeDest(r) === 'default' ? 'default' : r.dst}`,
    `       mask: ${formatIpv4(ipv4Mask(r.prefixLen))}`,
    `    gateway: ${gw}`,
    ` local addr: ${r.ifa ?? '-'}`,
    `  interface: ${r.ifname}`,
    `      flags: <${printb(r.flags, RTF_NAMES).replace(/^[0-9a-f]+</, '').replace(/>$/, '')}>`,
    `        mtu: ${r.mtu}`,
    '',
  ].join('\n');
}

async function command(c: RumpClient, fd: number, cmd: string, args: string[], quiet: boolean): Promise<number> {
  switch (cmd) {
    case 'show': {
      const routes = await sysctlOr<RouteInfo[]>(c, 'net.inet.ip.rtable', []);
      process.stdout.write(formatRoutes(routes));
      return 0;
    }
    case 'flush': {
      // route flush: every gateway route (connected and local ones belong to addresses)
      const routes = await sysctlOr<RouteInfo[]>(c, 'net.inet.ip.rtable', []);
      let status = 0;
      for (const r of routes.filter((x) => (x.flags & RTF_GATEWAY) !== 0)) {
        const dst = routeDest(r);
        try {
          await c.sys.ioctl(fd, SIOCDELRT, { dst: dst === 'default' ? 'default' : `${r.dst}/${r.prefixLen}` } satisfies RouteReq);
          if (!quiet) process.stdout.write(`${dst.padEnd(18)} ${(r.gateway ?? '').padEnd(18)} done\n`);
        } catch (e) {
          process.stderr.write(`${PROG}: ${dst}: ${errText(e)}\n`);
          status = 1;
        }
      }
      return status;
    }
    case 'get': {
      const dst = args[0];
      if (dst === undefined || parseIpv4(dst === 'default' ? '0.0.0.0' : dst) === null) throw new UsageError('get needs an address');
      try {
        const r = (await c.sys.ioctl(fd, SIOCGETRT, { dst: dst === 'default' ? '0.0.0.0' : dst })) as RouteInfo;
        process.stdout.write(getText(r, dst));
        return 0;
      } catch (e) {
        process.stderr.write(`${PROG}: route has not been found\n`);
        void e;
        return 1;
      }
    }
    case 'add':
    case 'delete':
    case 'change': {
      const p = parseRoute(cmd, args);
      try {
        if (cmd === 'change') {
          await c.sys.ioctl(fd, SIOCDELRT, p.req);
          await c.sys.ioctl(fd, SIOCADDRT, p.req);
        } else {
          await c.sys.ioctl(fd, cmd === 'add' ? SIOCADDRT : SIOCDELRT, p.req);
        }
        if (!quiet) process.stdout.write(`${cmd} ${p.kind} ${p.text}${p.req.gateway !== undefined ? `: gateway ${p.req.gateway}` : ''}\n`);
        return 0;
      } catch (e) {
        const why = isKernelError(e, 'ESRCH') ? 'not in table' : errText(e);
        process.stderr.write(`${PROG}: ${cmd} ${p.kind} ${p.text}${p.req.gateway !== undefined ? `: gateway ${p.req.gateway}` : ''}: ${why}\n`);
        return 1;
      }
    }
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const cmdAt = argv.findIndex((a) => !a.startsWith('-'));
  const { opts } = getopt(cmdAt < 0 ? argv : argv.slice(0, cmdAt), 'fnqv', ['help']);
  const quiet = opts.some(([o]) => o === 'q');
  const cmd = cmdAt < 0 ? 'show' : argv[cmdAt]!;
  const rest = cmdAt < 0 ? [] : argv.slice(cmdAt + 1);
  return withClient(PROG, async (c) => {
    const fd = await inetSocket(c);
    try {
      return await command(c, fd, cmd, rest, quiet);
    } finally {
      await c.sys.close(fd).catch(() => undefined);
    }
  });
});
