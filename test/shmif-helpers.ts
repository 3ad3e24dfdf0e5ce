/**
 * Helpers for the shmif tests and their child process: boot a kernel on a shmif bus, ping
 * through a raw socket, a UDP echo server, a TCP bulk transfer with SHA-256 on both ends.
 */

import { createHash } from 'node:crypto';
import { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, type Sockaddr } from '../src/kern/types.js';
import type { RumpUser } from '../src/rumpuser/rumpuser.js';
import { net } from '../src/net/index.js';
import { netinet, inetOf, inConfigure, IPPROTO_ICMP } from '../src/net/inet/index.js';
import type { Ifnet } from '../src/net/if.js';
import { shmif, shmifCreate } from '../src/net/shmif/index.js';
import { Icmpv4Packet, Icmpv4Repr, Ipv4Packet } from '../src/net/wire/index.js';

export interface BusNode {
  k: Kernel;
  l: Lwp;
  ifp: Ifnet;
  addr: string;
}

export const sin = (addr: string, port = 0): Sockaddr => ({ family: AF_INET, addr, port });

/** A kernel with net, netinet and shmif, on `bus` at address `cidr` (interface up). */
export async function bootOnBus(host: RumpUser, bus: string, cidr: string, hostname = 'shmif'): Promise<BusNode> {
  const k = await Kernel.boot({ host, components: [net, netinet, shmif], hostname });
  const ifp = shmifCreate(k, bus);
  inConfigure(inetOf(k), ifp.name, cidr);
  return { k, l: k.initLwp, ifp, addr: cidr.split('/')[0]! };
}

/** Reject after `ms` (naming `what`) unless `p` settles first. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}

/** One ICMP echo from `n` to `dst`; resolves with the reply's payload. */
export async function ping(n: BusNode, dst: string, seq = 1, payload = 'shmif ping'): Promise<string> {
  const fd = await n.k.sys.socket(n.l, AF_INET, SOCK_RAW, IPPROTO_ICMP);
  try {
    const data = new TextEncoder().encode(payload);
    const r = { kind: 'echoRequest' as const, ident: 0x5348, seq, data };
    const b = new Uint8Array(Icmpv4Repr.bufferLen(r));
    Icmpv4Repr.emit(r, b);
    await n.k.sys.sendto(n.l, fd, b, 0, sin(dst));
    for (;;) {
      const buf = new Uint8Array(2048);
      const got = await n.k.sys.recvfrom(n.l, fd, buf, 0);
      const ip = Ipv4Packet.check(buf.subarray(0, got.n));
      if (ip instanceof Error) continue;
      const ic = Icmpv4Packet.check(ip.payload);
      if (ic instanceof Error) continue;
      const icmp = Icmpv4Repr.parse(ic);
      if (icmp instanceof Error || icmp.kind !== 'echoReply' || icmp.seq !== seq) continue;
      return new TextDecoder().decode(icmp.data);
    }
  } finally {
    await n.k.sys.close(n.l, fd);
  }
}

/** A UDP echo server on `port`; returns a stop function. */
export async function udpEchoServer(n: BusNode, port: number): Promise<number> {
  const fd = await n.k.sys.socket(n.l, AF_INET, SOCK_DGRAM, 0);
  await n.k.sys.bind(n.l, fd, sin('0.0.0.0', port));
  void (async () => {
    const buf = new Uint8Array(65536);
    for (;;) {
      let got;
      try { got = await n.k.sys.recvfrom(n.l, fd, buf, 0); } catch { return; }
      if (got.addr === null) continue;
      try { await n.k.sys.sendto(n.l, fd, buf.slice(0, got.n), 0, got.addr); } catch { /* keep serving */ }
    }
  })();
  return fd;
}

/** Send `msg` to dst:port over UDP and wait for the echo. */
export async function udpEcho(n: BusNode, dst: string, port: number, msg: string): Promise<string> {
  const fd = await n.k.sys.socket(n.l, AF_INET, SOCK_DGRAM, 0);
  try {
    await n.k.sys.sendto(n.l, fd, new TextEncoder().encode(msg), 0, sin(dst, port));
    const buf = new Uint8Array(65536);
    const got = await n.k.sys.recvfrom(n.l, fd, buf, 0);
    return new TextDecoder().decode(buf.subarray(0, got.n));
  } finally {
    await n.k.sys.close(n.l, fd);
  }
}

/** Deterministic pseudo-random bytes. */
export function pattern(len: number, seed = 1): Uint8Array {
  const b = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 0xff; }
  return b;
}

/** TCP: `from` sends `data` to `to` (listening on `port`); SHA-256 of what each side saw. */
export async function tcpTransfer(from: BusNode, to: BusNode, port: number, data: Uint8Array): Promise<{ sent: string; received: string; bytes: number }> {
  const lfd = await to.k.sys.socket(to.l, AF_INET, SOCK_STREAM, 0);
  await to.k.sys.bind(to.l, lfd, sin('0.0.0.0', port));
  await to.k.sys.listen(to.l, lfd, 5);
  const server = (async () => {
    const { fd } = await to.k.sys.accept(to.l, lfd);
    const h = createHash('sha256');
    let bytes = 0;
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await to.k.sys.read(to.l, fd, buf);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
    await to.k.sys.close(to.l, fd);
    await to.k.sys.close(to.l, lfd);
    return { hash: h.digest('hex'), bytes };
  })();
  const cfd = await from.k.sys.socket(from.l, AF_INET, SOCK_STREAM, 0);
  await from.k.sys.connect(from.l, cfd, sin(to.addr, port));
  const chunk = 64 * 1024;
  for (let o = 0; o < data.length;) {
    const n = await from.k.sys.write(from.l, cfd, data.subarray(o, Math.min(o + chunk, data.length)));
    o += n;
  }
  await from.k.sys.close(from.l, cfd);
  const r = await server;
  return { sent: createHash('sha256').update(data).digest('hex'), received: r.hash, bytes: r.bytes };
}
