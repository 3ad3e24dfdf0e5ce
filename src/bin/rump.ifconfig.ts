#!/usr/bin/env node
/**
 * rump.ifconfig: configure network interfaces of the rump kernel server named by RUMP_SERVER,
 * like ifconfig(8).
 *
 *   rump.ifconfig -a [-du]                list every interface (-u: only up ones, -d: only down)
 *   rump.ifconfig -l [-du]                interface names on one line
 *   rump.ifconfig -C                      interface cloners
 *   rump.ifconfig IF                      one interface
 *   rump.ifconfig IF create | destroy     clone or destroy an interface (lo1)
 *   rump.ifconfig IF [inet] ADDR[/PREFIX] [netmask M] [broadcast B] [alias | -alias | delete]
 *                    [up | down] [mtu N] [metric N]
 *
 * An address without `alias` replaces the interface's first IPv4 address; `alias` adds one;
 * `-alias` (or `delete`) removes it. Output as NetBSD's:
 *
 *   lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 33624
 *           inet 127.0.0.1/8 flags 0x0
 */

import type { RumpClient } from '../client/client.js';
import { errText, flagSet, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { AF_INET } from '../kern/types.js';
import {
  SIOCAIFADDR, SIOCDIFADDR, SIOCGIFFLAGS, SIOCIFCREATE, SIOCIFDESTROY, SIOCIFGCLONERS, SIOCSIFFLAGS, SIOCSIFMETRIC, SIOCSIFMTU,
} from '../net/if_ioctl.js';
import { formatIpv4, ipv4Mask } from '../net/wire/ipv4.js';
import { IFF_NAMES, inetSocket, interfaces, parseCidr, parseNetmask, printb, type IfInfo } from './rumpnet/common.js';

const PROG = 'rump.ifconfig';
const USAGE = `usage: rump.ifconfig -a [-du] | -l [-du] | -C
       rump.ifconfig interface [create | destroy]
       rump.ifconfig interface [inet] address[/prefix] [netmask mask] [broadcast addr] [alias | -alias | delete] [up | down] [mtu n] [metric n]`;
const IFF_UP = 0x1;

function formatInterface(ifi: IfInfo): string {
  const lines = [`${ifi.name}: flags=${printb(ifi.flags, IFF_NAMES)} mtu ${ifi.mtu}`];
  if (ifi.lladdr !== '') lines.push(`\taddress: ${ifi.lladdr}`);
  for (const a of ifi.inet) {
    let l = `\tinet ${a.addr}${a.dstaddr !== null ? ` -> ${a.dstaddr}` : ''}/${a.prefixLen}`;
    if (a.broadaddr !== null) l += ` broadcast ${a.broadaddr}`;
    lines.push(`${l} flags 0x0`);
  }
  return `${lines.join('\n')}\n`;
}

interface Change {
  create: boolean;
  destroy: boolean;
  addr: string | null;
  prefixLen: number | null;
  broadcast: string | null;
  alias: boolean;
  remove: boolean;
  up: boolean | null;
  mtu: number | null;
  metric: number | null;
}

function parseChange(args: readonly string[]): Change {
  const ch: Change = { create: false, destroy: false, addr: null, prefixLen: null, broadcast: null, alias: false, remove: false, up: null, mtu: null, metric: null };
  const value = (i: number, what: string): string => {
    const v = args[i + 1];
    if (v === undefined) throw new UsageError(`'${what}' needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    switch (a) {
      case 'inet': break;
      case 'create': ch.create = true; break;
      case 'destroy': ch.destroy = true; break;
      case 'up': ch.up = true; break;
      case 'down': ch.up = false; break;
      case 'alias': ch.alias = true; break;
      case '-alias': case 'delete': ch.remove = true; break;
      case 'netmask': {
        const p = parseNetmask(value(i, a));
        if (p === null) throw new UsageError(`bad netmask '${args[i + 1]!}'`);
        ch.prefixLen = p;
        i++;
        break;
      }
      case 'broadcast': {
        const b = parseCidr(value(i, a));
        if (b === null || b.prefixLen !== null) throw new UsageError(`bad broadcast address '${args[i + 1]!}'`);
        ch.broadcast = b.addr;
        i++;
        break;
      }
      case 'mtu': case 'metric': {
        const v = value(i, a);
        if (!/^[0-9]+$/.test(v)) throw new UsageError(`bad ${a} '${v}'`);
        if (a === 'mtu') ch.mtu = Number(v);
        else ch.metric = Number(v);
        i++;
        break;
      }
      default: {
        const c = parseCidr(a);
        if (c === null || ch.addr !== null) throw new UsageError(`unknown argument '${a}'`);
        ch.addr = c.addr;
        if (c.prefixLen !== null) ch.prefixLen = c.prefixLen;
      }
    }
  }
  return ch;
}

async function apply(c: RumpClient, fd: number, name: string, ch: Change): Promise<void> {
  if (ch.create) await c.sys.ioctl(fd, SIOCIFCREATE, { name });
  if (ch.destroy) {
    await c.sys.ioctl(fd, SIOCIFDESTROY, { name });
    return;
  }
  if (ch.addr !== null) {
    const sin = (a: string): { family: number; addr: string } => ({ family: AF_INET, addr: a });
    if (ch.remove) {
      await c.sys.ioctl(fd, SIOCDIFADDR, { name, addr: sin(ch.addr) });
    } else {
      if (!ch.alias) {
        // not an alias: the new address replaces the first one
        const [ifi] = await interfaces(c, fd, name);
        const first = ifi?.inet[0];
        if (first !== undefined && first.addr !== ch.addr) await c.sys.ioctl(fd, SIOCDIFADDR, { name, addr: sin(first.addr) });
      }
      const req: Record<string, unknown> = { name, addr: sin(ch.addr) };
      if (ch.prefixLen !== null) req['mask'] = sin(formatIpv4(ipv4Mask(ch.prefixLen)));
      if (ch.broadcast !== null) req['broadaddr'] = sin(ch.broadcast);
      await c.sys.ioctl(fd, SIOCAIFADDR, req);
    }
  } else if (ch.remove) {
    throw new UsageError('-alias needs an address');
  }
  if (ch.mtu !== null) await c.sys.ioctl(fd, SIOCSIFMTU, { name, mtu: ch.mtu });
  if (ch.metric !== null) await c.sys.ioctl(fd, SIOCSIFMETRIC, { name, metric: ch.metric });
  if (ch.up !== null) {
    const { flags } = (await c.sys.ioctl(fd, SIOCGIFFLAGS, { name })) as { flags: number };
    await c.sys.ioctl(fd, SIOCSIFFLAGS, { name, flags: ch.up ? flags | IFF_UP : flags & ~IFF_UP });
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  // options only before the interface name (ifconfig lo0 -alias ... is an argument)
  const firstOperand = argv.findIndex((a) => !a.startsWith('-'));
  const head = firstOperand < 0 ? argv : argv.slice(0, firstOperand);
  const { opts } = getopt(head, 'aCdlu', ['help']);
  const operands = firstOperand < 0 ? [] : argv.slice(firstOperand);
  const f = flagSet(opts);
  const listing = f.has('a') || f.has('l') || f.has('C');
  if (listing && operands.length > 0) throw new UsageError('-a, -l and -C take no interface');
  if (!listing && operands.length === 0) throw new UsageError('no interface given');
  const change = operands.length > 1 ? parseChange(operands.slice(1)) : null;
  return withClient(PROG, async (c) => {
    const fd = await inetSocket(c);
    try {
      if (f.has('C')) {
        const names = (await c.sys.ioctl(fd, SIOCIFGCLONERS, {})) as string[];
        process.stdout.write(`${names.join(' ')}\n`);
        return 0;
      }
      if (listing) {
        const pick = (i: IfInfo): boolean => (f.has('u') ? (i.flags & IFF_UP) !== 0 : true) && (f.has('d') ? (i.flags & IFF_UP) === 0 : true);
        const all = (await interfaces(c, fd)).filter(pick);
        process.stdout.write(f.has('l') ? `${all.map((i) => i.name).join(' ')}\n` : all.map(formatInterface).join(''));
        return 0;
      }
      const name = operands[0]!;
      try {
        if (change !== null) {
          await apply(c, fd, name, change);
          return 0;
        }
        const [ifi] = await interfaces(c, fd, name);
        if (ifi === undefined) {
          // SIOCGIFFLAGS names the error (ENXIO) for an interface that does not exist
          await c.sys.ioctl(fd, SIOCGIFFLAGS, { name });
          return 1;
        }
        process.stdout.write(formatInterface(ifi));
        return 0;
      } catch (e) {
        if (e instanceof UsageError) throw e;
        process.stderr.write(`${PROG}: ${name}: ${errText(e)}\n`);
        return 1;
      }
    } finally {
      await c.sys.close(fd).catch(() => undefined);
    }
  });
});
