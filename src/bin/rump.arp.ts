#!/usr/bin/env node
/**
 * rump.arp: the ARP cache of the rump kernel server named by RUMP_SERVER, like arp(8).
 *
 *   rump.arp [-n] -a            every entry: "? (10.0.0.2) at 02:00:00:00:00:02 on shmif0"
 *   rump.arp [-n] host          one entry ("host (ip) -- no entry" without one)
 *   rump.arp -d host | -d -a    forget an entry, or every entry
 *   rump.arp -s host mac [-i ifname]   a static ("permanent") entry
 *
 * Hosts are dotted quads (-n is accepted: the kernel has no resolver). Entries come from the
 * net.inet.arp.table sysctl; -s and -d use the SIOCSARP/SIOCDARP ioctls of src/net/inet/in.ts.
 */

import type { RumpClient } from '../client/client.js';
import { errText, flagSet, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';
import type { ArpInfo } from '../net/inet/arp.js';
import { SIOCDARP, SIOCSARP, type ArpReq } from '../net/inet/in.js';
import { parseMac } from '../net/wire/ethernet.js';
import { parseIpv4 } from '../net/wire/ipv4.js';
import { inetSocket, sysctlOr } from './rumpnet/common.js';

const PROG = 'rump.arp';
const USAGE = `usage: rump.arp [-n] hostname
       rump.arp [-n] -a
       rump.arp -d hostname | -d -a
       rump.arp -s hostname ether_addr [-i ifname]`;

function entryText(e: ArpInfo): string {
  const at = e.mac === null || e.state === 'incomplete' || e.state === 'down' ? '(incomplete)' : e.mac;
  return `? (${e.ip}) at ${at} on ${e.ifname}${e.state === 'static' ? ' permanent' : ''}\n`;
}

function host(s: string | undefined): string {
  if (s === undefined) throw new UsageError('no host given');
  if (parseIpv4(s) === null) throw new UsageError(`${s}: not a dotted-quad address (no resolver)`);
  return s;
}

async function withSocket<T>(c: RumpClient, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = await inetSocket(c);
  try {
    return await fn(fd);
  } finally {
    await c.sys.close(fd).catch(() => undefined);
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'adi:nsv', ['help']);
  const f = flagSet(opts);
  const ifname = opts.find(([o]) => o === 'i')?.[1];
  return withClient(PROG, async (c) => {
    const table = (): Promise<ArpInfo[]> => sysctlOr<ArpInfo[]>(c, 'net.inet.arp.table', []);
    if (f.has('s')) {
      const ip = host(operands[0]);
      const mac = operands[1];
      if (mac === undefined || parseMac(mac) === null) throw new UsageError(`invalid Ethernet address '${String(mac)}'`);
      const req: ArpReq = { ip, mac, ...(ifname !== undefined ? { ifname } : {}) };
      try {
        await withSocket(c, (fd) => c.sys.ioctl(fd, SIOCSARP, req));
        return 0;
      } catch (e) {
        process.stderr.write(`${PROG}: ${ip}: ${errText(e)}\n`);
        return 1;
      }
    }
    if (f.has('d')) {
      const targets = f.has('a') ? (await table()).map((e) => ({ ip: e.ip, ifname: e.ifname })) : [{ ip: host(operands[0]), ifname }];
      let status = 0;
      await withSocket(c, async (fd) => {
        for (const t of targets) {
          try {
            await c.sys.ioctl(fd, SIOCDARP, { ip: t.ip, ...(t.ifname !== undefined ? { ifname: t.ifname } : {}) } satisfies ArpReq);
            if (f.has('v')) process.stdout.write(`${t.ip} (${t.ip}) deleted\n`);
          } catch (e) {
            process.stderr.write(isKernelError(e, 'ESRCH') ? `${PROG}: ${t.ip}: no entry\n` : `${PROG}: ${t.ip}: ${errText(e)}\n`);
            status = 1;
          }
        }
      });
      return status;
    }
    if (f.has('a')) {
      process.stdout.write((await table()).map(entryText).join(''));
      return 0;
    }
    const ip = host(operands[0]);
    const hits = (await table()).filter((e) => e.ip === ip);
    if (hits.length === 0) {
      process.stdout.write(`${ip} (${ip}) -- no entry\n`);
      return 1;
    }
    process.stdout.write(hits.map(entryText).join(''));
    return 0;
  });
});
