#!/usr/bin/env node
/**
 * rump.sockstat: the sockets the processes of the rump kernel server named by RUMP_SERVER hold,
 * like sockstat(1) (from the kernel's net.socket.list sysctl: one row per descriptor).
 *
 *   rump.sockstat [-46clnu] [-p ports]
 *     -4  Internet sockets only;  -u  local (AF_LOCAL) sockets only
 *     -c  connected sockets only;  -l  listening (and unconnected datagram) sockets only
 *     -p  only sockets with one of these ports (comma list, ranges "1000-2000")
 *     -n  numeric (always: no user database or resolver in the kernel; uid 0 prints as root)
 *
 *   USER     COMMAND    PID   FD PROTO  LOCAL ADDRESS         FOREIGN ADDRESS
 *   root     server       2    3 udp4   127.0.0.1.5353        *.*
 */

import { flagSet, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { AF_INET, AF_INET6, AF_LOCAL, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM, type Sockaddr } from '../kern/types.js';
import type { SocketListEntry } from '../net/index.js';
import { endpoint, sysctlOr } from './rumpnet/common.js';

const PROG = 'rump.sockstat';
const USAGE = 'usage: rump.sockstat [-46clnu] [-p ports]';

function parsePorts(s: string): (p: number) => boolean {
  const ranges: [number, number][] = [];
  for (const part of s.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (m === null) throw new UsageError(`bad port list '${s}'`);
    ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return (p) => ranges.some(([a, b]) => p >= a && p <= b);
}

function protoName(s: SocketListEntry): string {
  if (s.family === AF_LOCAL) return s.type === SOCK_STREAM ? 'stream' : s.type === SOCK_DGRAM ? 'dgram' : s.type === SOCK_SEQPACKET ? 'seqpac' : '?';
  const v = s.family === AF_INET6 ? '6' : '4';
  if (s.type === SOCK_RAW) return `raw${v}`;
  return `${s.proto.split(' ')[0]!}${v}`;
}

function inetText(a: Sockaddr | null, raw: boolean): string {
  const addr = a !== null && typeof a.addr === 'string' ? a.addr : null;
  return endpoint(addr, raw ? 0 : a?.port ?? 0);
}

function isConnected(s: SocketListEntry): boolean {
  if (s.family === AF_LOCAL) return s.faddr !== null && (s.faddr as { path?: unknown }).path !== undefined;
  if (s.state !== null) return s.state !== 'LISTEN' && s.state !== 'CLOSED';
  const f = s.faddr;
  return f !== null && typeof f.addr === 'string' && f.addr !== '0.0.0.0';
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, '46clnp:u', ['help']);
  if (operands.length > 0) throw new UsageError(`unexpected '${operands[0]!}'`);
  const f = flagSet(opts);
  const pv = opts.find(([o]) => o === 'p')?.[1];
  const portOk = pv === undefined ? null : parsePorts(pv);
  return withClient(PROG, async (c) => {
    const list = await sysctlOr<SocketListEntry[] | null>(c, 'net.socket.list', null);
    if (list === null) {
      process.stderr.write(`${PROG}: the kernel has no net.socket.list (no networking)\n`);
      return 1;
    }
    const families = new Set<number>();
    if (f.has('4')) families.add(AF_INET);
    if (f.has('6')) families.add(AF_INET6);
    if (f.has('u')) families.add(AF_LOCAL);
    const rows = list.filter((s) => {
      if (families.size > 0 && !families.has(s.family)) return false;
      const conn = isConnected(s);
      if (f.has('c') && !f.has('l') && !conn) return false;
      if (f.has('l') && !f.has('c') && conn) return false;
      if (portOk !== null) {
        if (s.family === AF_LOCAL) return false;
        if (!portOk(s.laddr?.port ?? 0) && !portOk(s.faddr?.port ?? 0)) return false;
      }
      return true;
    });
    let out = `${'USER'.padEnd(8)} ${'COMMAND'.padEnd(10)} ${'PID'.padStart(5)} ${'FD'.padStart(4)} ${'PROTO'.padEnd(6)} ${'LOCAL ADDRESS'.padEnd(21)} FOREIGN ADDRESS\n`;
    for (const s of rows) {
      let local: string, foreign: string;
      if (s.family === AF_LOCAL) {
        const lp = (s.laddr as { path?: unknown } | null)?.path;
        const fp = (s.faddr as { path?: unknown } | null)?.path;
        local = typeof lp === 'string' && lp !== '' ? lp : '-';
        foreign = typeof fp === 'string' && fp !== '' ? `-> ${fp}` : '-';
      } else {
        local = inetText(s.laddr, s.type === SOCK_RAW);
        foreign = inetText(s.faddr, s.type === SOCK_RAW);
      }
      const user = s.uid === 0 ? 'root' : String(s.uid);
      out += `${user.padEnd(8)} ${s.comm.slice(0, 10).padEnd(10)} ${String(s.pid).padStart(5)} ${String(s.fd).padStart(4)} ${protoName(s).padEnd(6)} ${local.padEnd(21)} ${foreign}\n`;
    }
    process.stdout.write(out);
    return 0;
  });
});
