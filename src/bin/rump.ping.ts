#!/usr/bin/env node
/**
 * rump.ping: send ICMP echo requests from the rump kernel server named by RUMP_SERVER, like
 * ping(8), over a raw ICMP socket (so the client must be the superuser in the kernel, as the
 * default client credentials are).
 *
 *   rump.ping [-nq] [-c count] [-i interval] [-s size] [-W waittime] [-w deadline] host
 *     -c  stop after count requests (default: until interrupted)
 *     -i  seconds between requests (default 1; fractions allowed)
 *     -s  data bytes per request (default 56: 64-byte ICMP messages)
 *     -W  seconds to wait for replies after the last request (default 10; stops early once
 *         every request is answered)
 *     -w  stop after this many seconds whatever happened
 *     -q  only the summary;  -n  numeric output (always: the kernel has no resolver)
 *
 * Output as NetBSD's ping: "64 bytes from 127.0.0.1: icmp_seq=0 ttl=255 time=0.312 ms", then the
 * "----HOST PING Statistics----" summary. Exit status 0 when any reply came, 2 when none did,
 * 1 on errors.
 */

import type { RumpClient } from '../client/client.js';
import { errText, flagSet, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { POLLIN } from '../kern/file.js';
import { AF_INET, SOCK_RAW } from '../kern/types.js';
import { internetChecksum } from '../net/wire/checksum.js';
import { ICMP_ECHO, ICMP_ECHOREPLY } from '../net/wire/icmpv4.js';
import { parseIpv4 } from '../net/wire/ipv4.js';

const PROG = 'rump.ping';
const USAGE = 'usage: rump.ping [-nq] [-c count] [-i interval] [-s packetsize] [-W waittime] [-w deadline] host';
const IPPROTO_ICMP = 1;
const ICMP_UNREACH = 3, ICMP_TIMXCEED = 11;

function num(v: string | undefined, what: string, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`bad ${what} '${String(v)}'`);
  return n;
}

interface Options { count: number; interval: number; size: number; wait: number; deadline: number; quiet: boolean }

async function ping(c: RumpClient, host: string, o: Options): Promise<number> {
  const fd = await c.sys.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  const ident = (process.pid ^ c.pid) & 0xffff;
  const sent = new Map<number, number>();
  const rtts: number[] = [];
  let transmitted = 0, received = 0, dups = 0;
  const seen = new Set<number>();
  const out = (s: string): void => { if (!o.quiet) process.stdout.write(s); };
  const start = performance.now();
  const stopAt = o.deadline > 0 ? start + o.deadline * 1000 : Infinity;
  let interrupted = false;
  const onInt = (): void => { interrupted = true; };
  process.once('SIGINT', onInt);

  const send = async (seq: number): Promise<void> => {
    const pkt = new Uint8Array(8 + o.size);
    pkt[0] = ICMP_ECHO;
    pkt[4] = ident >> 8; pkt[5] = ident & 0xff;
    pkt[6] = (seq >> 8) & 0xff; pkt[7] = seq & 0xff;
    for (let i = 8; i < pkt.length; i++) pkt[i] = i & 0xff;
    const ck = internetChecksum(pkt);
    pkt[2] = ck >> 8; pkt[3] = ck & 0xff;
    sent.set(seq & 0xffff, performance.now());
    transmitted++;
    try {
      await c.sys.sendto(fd, pkt, 0, { family: AF_INET, addr: host, port: 0 });
    } catch (e) {
      process.stderr.write(`${PROG}: sendto: ${errText(e)}\n`);
    }
  };

  const buf = new Uint8Array(65536);
  const receiveUntil = async (until: number, stopWhenAll: boolean): Promise<void> => {
    for (;;) {
      if (interrupted) return;
      if (stopWhenAll && received >= transmitted) return;
      const left = Math.min(until, stopAt) - performance.now();
      if (left <= 0) return;
      const [rev] = await c.sys.poll([{ fd, events: POLLIN }], Math.max(1, Math.min(Math.ceil(left), 250)));
      if (((rev ?? 0) & POLLIN) === 0) continue;
      const r = await c.sys.recvfrom(fd, buf, 0);
      const t = performance.now();
      if (r.n < 20) continue;
      const hlen = (buf[0]! & 0x0f) * 4;
      if (r.n < hlen + 8) continue;
      const ttl = buf[8]!;
      const icmp = buf.subarray(hlen, r.n);
      const type = icmp[0]!;
      const from = typeof r.addr?.addr === 'string' ? r.addr.addr : '?';
      if (type === ICMP_ECHOREPLY) {
        if (((icmp[4]! << 8) | icmp[5]!) !== ident) continue;
        const seq = (icmp[6]! << 8) | icmp[7]!;
        const t0 = sent.get(seq);
        if (t0 === undefined) continue;
        const dup = seen.has(seq);
        if (dup) dups++;
        else {
          seen.add(seq);
          received++;
          rtts.push(t - t0);
        }
        out(`${icmp.length} bytes from ${from}: icmp_seq=${seq} ttl=${ttl} time=${(t - t0).toFixed(3)} ms${dup ? ' (DUP!)' : ''}\n`);
      } else if (type === ICMP_UNREACH || type === ICMP_TIMXCEED) {
        // the quoted request must be ours
        const q = icmp.subarray(8);
        const qh = q.length > 0 ? (q[0]! & 0x0f) * 4 : 0;
        if (q.length < qh + 8 || q[qh] !== ICMP_ECHO || ((q[qh + 4]! << 8) | q[qh + 5]!) !== ident) continue;
        const seq = (q[qh + 6]! << 8) | q[qh + 7]!;
        out(`${icmp.length} bytes from ${from}: ${type === ICMP_UNREACH ? 'Destination Unreachable' : 'Time to live exceeded'} (icmp_seq=${seq})\n`);
      }
    }
  };

  try {
    process.stdout.write(`PING ${host} (${host}): ${o.size} data bytes\n`);
    for (let seq = 0; o.count === 0 || seq < o.count; seq++) {
      if (interrupted || performance.now() >= stopAt) break;
      const t = performance.now();
      await send(seq);
      const last = o.count !== 0 && seq === o.count - 1;
      if (!last) await receiveUntil(t + o.interval * 1000, false);
    }
    if (!interrupted) await receiveUntil(performance.now() + o.wait * 1000, true);
  } finally {
    process.removeListener('SIGINT', onInt);
    await c.sys.close(fd).catch(() => undefined);
  }
  const loss = transmitted === 0 ? 0 : ((transmitted - received) * 100) / transmitted;
  let summary = `\n----${host} PING Statistics----\n${transmitted} packets transmitted, ${received} packets received, `;
  if (dups > 0) summary += `+${dups} duplicates, `;
  summary += `${loss.toFixed(1)}% packet loss\n`;
  if (rtts.length > 0) {
    const min = Math.min(...rtts), max = Math.max(...rtts);
    const avg = rtts.reduce((a, b) => a + b, 0) / rtts.length;
    const sd = Math.sqrt(rtts.reduce((a, b) => a + (b - avg) ** 2, 0) / rtts.length);
    summary += `round-trip min/avg/max/stddev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${sd.toFixed(3)} ms\n`;
  }
  process.stdout.write(summary);
  return received > 0 ? 0 : 2;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'c:i:nqs:W:w:', ['help']);
  const o: Options = { count: 0, interval: 1, size: 56, wait: 10, deadline: 0, quiet: flagSet(opts).has('q') };
  for (const [k, v] of opts) {
    if (k === 'c') o.count = num(v, 'number of packets to send', 1, 2 ** 31);
    else if (k === 'i') o.interval = num(v, 'timing interval', 0.001, 3600);
    else if (k === 's') o.size = num(v, 'packet size', 0, 65507);
    else if (k === 'W') o.wait = num(v, 'wait time', 0, 3600);
    else if (k === 'w') o.deadline = num(v, 'deadline', 0, 2 ** 31);
  }
  if (!Number.isInteger(o.count) || !Number.isInteger(o.size)) throw new UsageError('count and size are integers');
  if (operands.length !== 1) throw new UsageError('one host, please');
  const host = operands[0]!;
  if (parseIpv4(host) === null) {
    process.stderr.write(`${PROG}: Cannot resolve "${host}" (Unknown host)\n`);
    return 1;
  }
  return withClient(PROG, async (c) => {
    try {
      return await ping(c, host, o);
    } catch (e) {
      process.stderr.write(`${PROG}: ${errText(e)}\n`);
      return 1;
    }
  });
});
