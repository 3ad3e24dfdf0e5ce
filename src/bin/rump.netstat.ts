#!/usr/bin/env node
/**
 * rump.netstat: network status of the rump kernel server named by RUMP_SERVER, like netstat(1).
 *
 *   rump.netstat [-an]                  active Internet connections (-a: servers too) and local sockets
 *   rump.netstat -r [-n]                routing tables
 *   rump.netstat -i [-n]                interfaces with their packet counters
 *   rump.netstat -s [-s] [-p proto]     protocol statistics (ip, icmp, udp, tcp, arp, raw);
 *                                       -ss leaves out counters that are zero
 *
 * Numbers come from the kernel's sysctl nodes (net.inet.*.stats, net.inet.ip.rtable,
 * net.inet.tcp.pcblist, net.socket.list) and the interface ioctls; output reads like NetBSD's.
 * Names are always numeric (-n is accepted): the kernel has no resolver.
 */

import type { RumpClient } from '../client/client.js';
import { flagSet, getopt, helpRequested, runMain, UsageError, withClient } from '../client/cli.js';
import { AF_INET, AF_LOCAL, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SOCK_SEQPACKET, type Sockaddr } from '../kern/types.js';
import type { SocketListEntry } from '../net/index.js';
import type { ArpStat, IcmpStat, IpStat, RawStat, UdpStat } from '../net/inet/index.js';
import { formatTcpStats, type TcpStats } from '../net/inet/tcp/stats.js';
import type { RouteInfo } from '../net/route.js';
import { ipv4Mask, formatIpv4, parseIpv4 } from '../net/wire/ipv4.js';
import { endpoint, formatRoutes, ifData, inetSocket, interfaces, sysctlOr } from './rumpnet/common.js';

const PROG = 'rump.netstat';
const USAGE = `usage: rump.netstat [-an]
       rump.netstat -r [-n]
       rump.netstat -i [-n]
       rump.netstat -s [-s] [-p protocol]`;

type Lines = readonly (readonly [string, string])[];

const IP_LINES: Lines = [
  ['total', 'N total packets received'], ['badsum', 'N bad header checksums'], ['toosmall', 'N with size smaller than minimum'],
  ['tooshort', 'N with data size < data length'], ['toolong', 'N with length > max ip packet size'], ['badhlen', 'N with header length < data size'],
  ['badlen', 'N with data length < header length'], ['badoptions', 'N with bad options'], ['badvers', 'N with incorrect version number'],
  ['fragments', 'N fragments received'], ['fragdropped', 'N fragments dropped (dup or out of space)'],
  ['rcvmemdrop', 'N fragments dropped (out of ipqent)'], ['badfrags', 'N malformed fragments dropped'],
  ['fragtimeout', 'N fragments dropped after timeout'], ['reassembled', 'N packets reassembled ok'],
  ['delivered', 'N packets for this host'], ['noproto', 'N packets for unknown/unsupported protocol'],
  ['forward', 'N packets forwarded'], ['fastforward', 'N packets fast forwarded'], ['cantforward', 'N packets not forwardable'],
  ['redirectsent', 'N redirects sent'], ['notmember', 'N multicast packets which we don\'t join'],
  ['localout', 'N packets sent from this host'], ['rawout', 'N packets sent with fabricated ip header'],
  ['odropped', 'N output packets dropped due to no bufs, etc.'], ['noroute', 'N output packets discarded due to no route'],
  ['fragmented', 'N output datagrams fragmented'], ['ofragments', 'N fragments created'], ['cantfrag', 'N datagrams that can\'t be fragmented'],
  ['badaddr', 'N datagrams with bad address in header'],
];

const ICMP_NAMES: readonly string[] = [
  'echo reply', '#1', '#2', 'destination unreachable', 'source quench', 'routing redirect', 'alternate host address', '#7',
  'echo', 'router advertisement', 'router solicitation', 'time exceeded', 'parameter problem', 'time stamp', 'time stamp reply',
  'information request', 'information request reply', 'address mask request', 'address mask reply',
];

const UDP_LINES: Lines = [
  ['ipackets', 'N datagrams received'], ['hdrops', 'N with incomplete header'], ['badlen', 'N with bad data length field'],
  ['badsum', 'N with bad checksum'], ['nosum', 'N with no checksum'], ['noport', 'N dropped due to no socket'],
  ['noportbcast', 'N broadcast/multicast datagrams dropped due to no socket'], ['fullsock', 'N dropped due to full socket buffers'],
  ['opackets', 'N datagrams output'],
];

const ARP_LINES: Lines = [
  ['sndtotal', 'N packets sent'], ['sndreply', '\tN reply packets'], ['sndrequest', '\tN request packets'], ['sndannounce', '\tN gratuitous packets'],
  ['rcvtotal', 'N packets received'], ['rcvreply', '\tN reply packets'], ['rcvrequest', '\tN valid request packets'],
  ['rcvmcast', '\tN broadcast/multicast packets'], ['rcvbadproto', '\tN packets with unknown protocol type'],
  ['rcvbadlen', '\tN packets with bad (short) length'], ['rcvzerotpa', '\tN packets with null target IP address'],
  ['rcvzerospa', '\tN packets with null source IP address'], ['rcvnoint', '\tN could not be mapped to an interface'],
  ['rcvlocalsha', '\tN packets sourced from a local hardware address'], ['rcvbcastsha', '\tN packets with a broadcast source hardware address'],
  ['rcvlocalspa', '\tN duplicates for a local IP address'], ['rcvoverperm', '\tN attempts to overwrite a static entry'],
  ['rcvover', '\tN packets changing IP to hardware address mapping'], ['dupips', 'N duplicate IP addresses detected'],
  ['dfrtotal', 'N packets deferred pending ARP resolution'], ['dfrsent', '\tN sent'], ['dfrdropped', '\tN dropped'],
  ['allocfail', 'N failures to allocate llinfo'], ['timeouts', 'N entries timed out'],
];

const RAW_LINES: Lines = [['delivered', 'N datagrams delivered'], ['fullsock', 'N dropped due to full socket buffers'], ['opackets', 'N datagrams output']];

function counters(name: string, s: Record<string, unknown>, lines: Lines, all: boolean): string {
  const out = [`${name}:`];
  for (const [k, text] of lines) {
    const v = typeof s[k] === 'number' ? s[k] : 0;
    if (v !== 0 || all) out.push(`\t${text.replace('N', String(v))}`);
  }
  return `${out.join('\n')}\n`;
}

function icmpText(s: IcmpStat, all: boolean): string {
  const out = ['icmp:'];
  const p = (v: number, text: string): void => { if (v !== 0 || all) out.push(`\t${text.replace('N', String(v))}`); };
  const hist = (title: string, h: readonly number[]): void => {
    if (!h.some((v) => v !== 0)) return;
    out.push(`\t${title} histogram:`);
    h.forEach((v, i) => { if (v !== 0) out.push(`\t\t${ICMP_NAMES[i] ?? `#${i}`}: ${v}`); });
  };
  p(s.error, 'N calls to icmp_error');
  p(s.oldicmp, 'N errors not generated because old message was icmp');
  p(s.oldshort, 'N errors not generated because old message was too short');
  p(s.noerrbcast, 'N errors not generated about broadcast or multicast packets');
  p(s.ratelimit, 'N errors not generated because of rate limitation');
  hist('Output', s.outhist);
  p(s.badcode, 'N messages with bad code fields');
  p(s.tooshort, 'N messages < minimum length');
  p(s.checksum, 'N bad checksums');
  p(s.badlen, 'N messages with bad length');
  p(s.bmcastecho, 'N broadcast/multicast echo requests ignored');
  hist('Input', s.inhist);
  p(s.reflect, 'N message responses generated');
  p(s.pmtuchg, 'N path MTU changes');
  return `${out.join('\n')}\n`;
}

async function stats(c: RumpClient, proto: string | null, all: boolean): Promise<string> {
  const want = (p: string): boolean => proto === null || proto === p;
  let out = '';
  if (want('ip')) {
    const s = await sysctlOr<IpStat | null>(c, 'net.inet.ip.stats', null);
    if (s !== null) out += counters('ip', s as unknown as Record<string, unknown>, IP_LINES, all);
  }
  if (want('icmp')) {
    const s = await sysctlOr<IcmpStat | null>(c, 'net.inet.icmp.stats', null);
    if (s !== null) out += icmpText(s, all);
  }
  if (want('tcp')) {
    const s = await sysctlOr<TcpStats | null>(c, 'net.inet.tcp.stats', null);
    if (s !== null) out += formatTcpStats(s, all);
  }
  if (want('udp')) {
    const s = await sysctlOr<UdpStat | null>(c, 'net.inet.udp.stats', null);
    if (s !== null) out += counters('udp', s as unknown as Record<string, unknown>, UDP_LINES, all);
  }
  if (want('raw')) {
    const s = await sysctlOr<RawStat | null>(c, 'net.inet.raw.stats', null);
    if (s !== null) out += counters('raw', s as unknown as Record<string, unknown>, RAW_LINES, all);
  }
  if (want('arp')) {
    const s = await sysctlOr<ArpStat | null>(c, 'net.inet.arp.stats', null);
    if (s !== null) out += counters('arp', s as unknown as Record<string, unknown>, ARP_LINES, all);
  }
  return out;
}

interface TcpConn { laddr: string; lport: number; faddr: string; fport: number; state: string; sendq: number; recvq: number }

function sa(a: Sockaddr | null): { addr: string | null; port: number } {
  return { addr: a !== null && typeof a.addr === 'string' ? a.addr : null, port: a?.port ?? 0 };
}

async function connections(c: RumpClient, all: boolean): Promise<string> {
  const tcp = await sysctlOr<TcpConn[]>(c, 'net.inet.tcp.pcblist', []);
  const socks = await sysctlOr<SocketListEntry[]>(c, 'net.socket.list', []);
  const rows: string[] = [];
  const row = (proto: string, rq: number, sq: number, l: string, f: string, st: string): void => {
    rows.push(`${proto.padEnd(5)} ${String(rq).padStart(6)} ${String(sq).padStart(6)}  ${l.padEnd(22)} ${f.padEnd(22)} ${st}`.trimEnd());
  };
  for (const t of tcp) {
    if (!all && t.state === 'LISTEN') continue;
    row('tcp', t.recvq, t.sendq, endpoint(t.laddr, t.lport), endpoint(t.faddr, t.fport), t.state);
  }
  const seen = new Set<string>();
  for (const s of socks) {
    if (s.family !== AF_INET || (s.type !== SOCK_DGRAM && s.type !== SOCK_RAW)) continue;
    const l = sa(s.laddr), f = sa(s.faddr);
    const key = `${s.proto}|${l.addr}|${l.port}|${f.addr}|${f.port}|${s.pid}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const connected = f.addr !== null && f.addr !== '0.0.0.0';
    if (!all && !connected) continue;
    row(s.type === SOCK_RAW ? 'raw' : 'udp', s.recvq, s.sendq, endpoint(l.addr, s.type === SOCK_RAW ? 0 : l.port), endpoint(f.addr, s.type === SOCK_RAW ? 0 : f.port), '');
  }
  let out = `Active Internet connections${all ? ' (including servers)' : ''}\n`;
  out += `${'Proto'.padEnd(5)} ${'Recv-Q'.padStart(6)} ${'Send-Q'.padStart(6)}  ${'Local Address'.padEnd(22)} ${'Foreign Address'.padEnd(22)} State\n`;
  out += rows.map((r) => `${r}\n`).join('');
  const local = socks.filter((s) => s.family === AF_LOCAL && (all || s.faddr !== null));
  if (local.length > 0) {
    const typeName = (t: number): string => (t === SOCK_STREAM ? 'stream' : t === SOCK_DGRAM ? 'dgram' : t === SOCK_SEQPACKET ? 'seqpacket' : String(t));
    out += 'Active UNIX domain sockets\nType      Recv-Q Send-Q Addr\n';
    for (const s of local) {
      const path = (s.laddr as { path?: unknown } | null)?.path;
      const peer = (s.faddr as { path?: unknown } | null)?.path;
      const name = typeof path === 'string' && path !== '' ? path : typeof peer === 'string' && peer !== '' ? `-> ${peer}` : '';
      out += `${typeName(s.type).padEnd(9)} ${String(s.recvq).padStart(6)} ${String(s.sendq).padStart(6)} ${name}\n`;
    }
  }
  return out;
}

/** "127/8" as netstat -i prints a network. */
function netName(addr: string, prefixLen: number): string {
  const a = parseIpv4(addr) ?? 0;
  const net = formatIpv4((a & ipv4Mask(prefixLen)) >>> 0);
  return prefixLen === 32 ? net : `${net.replace(/(\.0)+$/, '')}/${prefixLen}`;
}

async function interfaceTable(c: RumpClient): Promise<string> {
  const fd = await inetSocket(c);
  try {
    const ifs = await interfaces(c, fd);
    let out = `${'Name'.padEnd(6)} ${'Mtu'.padStart(5)} ${'Network'.padEnd(13)} ${'Address'.padEnd(17)} ${'Ipkts'.padStart(9)} ${'Ierrs'.padStart(5)} ${'Opkts'.padStart(9)} ${'Oerrs'.padStart(5)} ${'Colls'.padStart(5)}\n`;
    for (const ifi of ifs) {
      const d = await ifData(c, fd, ifi.name);
      const tail = `${String(d.ipackets).padStart(9)} ${String(d.ierrors).padStart(5)} ${String(d.opackets).padStart(9)} ${String(d.oerrors).padStart(5)} ${String(d.collisions).padStart(5)}`;
      const name = (ifi.flags & 1) === 0 ? `${ifi.name}*` : ifi.name;
      out += `${name.padEnd(6)} ${String(ifi.mtu).padStart(5)} ${'<Link>'.padEnd(13)} ${ifi.lladdr.padEnd(17)} ${tail}\n`;
      for (const a of ifi.inet) out += `${name.padEnd(6)} ${String(ifi.mtu).padStart(5)} ${netName(a.addr, a.prefixLen).padEnd(13)} ${a.addr.padEnd(17)} ${tail}\n`;
    }
    return out;
  } finally {
    await c.sys.close(fd).catch(() => undefined);
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'afinp:rsv', ['help']);
  if (operands.length > 0) throw new UsageError(`unexpected '${operands[0]!}'`);
  const f = flagSet(opts);
  const sCount = opts.filter(([o]) => o === 's').length;
  const proto = opts.find(([o]) => o === 'p')?.[1] ?? null;
  if (proto !== null && !['ip', 'icmp', 'tcp', 'udp', 'raw', 'arp'].includes(proto)) {
    process.stderr.write(`${PROG}: ${proto}: unknown or uninstrumented protocol\n`);
    return 1;
  }
  return withClient(PROG, async (c) => {
    let out: string;
    if (f.has('s')) out = await stats(c, proto, sCount <= 1);
    else if (f.has('r')) out = formatRoutes(await sysctlOr<RouteInfo[]>(c, 'net.inet.ip.rtable', []));
    else if (f.has('i')) out = await interfaceTable(c);
    else out = await connections(c, f.has('a'));
    process.stdout.write(out);
    return 0;
  });
});
