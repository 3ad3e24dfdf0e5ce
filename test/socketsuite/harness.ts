/**
 * The socket suite's harness: what a transport provides (kernels, a client and a server
 * process, fresh addresses), the behaviour switches where protocols legitimately differ
 * (AF_LOCAL refuses a connection to a full queue at once, TCP leaves it pending), and helpers
 * every case file shares.
 *
 *   runSocketSuite({
 *     name: 'local', domain: AF_LOCAL, types: { stream: true, dgram: true, seqpacket: true },
 *     setup: async () => ({ server, client, addr: () => ({ family: AF_LOCAL, path: `/tmp/s${n++}` }), teardown }),
 *   });
 *
 * Invariants: every case gets a fresh setup (its own kernels) and tears it down even when it
 * fails; errors are checked by exact NetBSD errno names.
 */

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Lwp } from '../../src/kern/proc.js';
import type { ErrnoName } from '../../src/kern/errno.js';
import { POLLIN } from '../../src/kern/file.js';
import { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, type RecvResult, type Sockaddr } from '../../src/kern/types.js';

/** Behaviour that differs between transports; defaults are AF_LOCAL's. */
export interface SocketFeatures {
  /** A stream connect completes at once (no handshake to wait for). */
  connectImmediate: boolean;
  /** Connecting to a full listen queue fails at once with ECONNREFUSED (else it stays pending). */
  backlogRefuses: boolean;
  /** POLLHUP as soon as the peer closes (else only once both directions are shut). */
  hupOnPeerClose: boolean;
  /** Closing with unread data resets the connection (the peer sees ECONNRESET). */
  closeUnreadResets: boolean;
  /** A datagram that does not fit the receiver's buffer fails with ENOBUFS (else it is dropped). */
  dgramFullFails: boolean;
  /** The largest datagram is bounded by SO_SNDBUF (EMSGSIZE above it). */
  dgramSizeBySndbuf: boolean;
  /** Datagram receivers learn the sender's address. */
  dgramSenderAddr: boolean;
  /**
   * A read of a few KiB makes room for a blocked writer at once. TCP's receiver announces a
   * larger window only once half its buffer (or a segment) is free (silly window avoidance,
   * RFC 1122 4.2.3.3), so a writer waits until the reader has taken that much.
   */
  smallReadFreesSpace: boolean;
}

export interface TransportInstance {
  /** A process in the kernel that accepts (server side). */
  server: Lwp;
  /** A process that connects; may live in another kernel. */
  client: Lwp;
  /** A fresh address the server side can bind (nothing bound there yet). */
  addr(): Sockaddr;
  /** A fresh address the client side can bind, for datagram senders; default: addr(). */
  clientAddr?(): Sockaddr;
  /** Let `ms` pass on the kernels' clocks (a manual clock); absent: real time passes. */
  advance?(ms: number): Promise<void>;
  /** Let queued work (packets in flight, softints) settle; absent: a few event-loop turns. */
  settle?(): Promise<void>;
  teardown(): Promise<void>;
}

export interface Transport {
  /** 'local', 'inet tcp', ... */
  name: string;
  /** AF_* of the sockets under test. */
  domain: number;
  /** The protocol argument to socket(2) per type (default 0). */
  protocol?: number;
  types: { stream: boolean; dgram: boolean; seqpacket: boolean };
  features?: Partial<SocketFeatures>;
  setup(): Promise<TransportInstance>;
}

const DEFAULT_FEATURES: SocketFeatures = {
  connectImmediate: true, backlogRefuses: true, hupOnPeerClose: true, closeUnreadResets: false, dgramFullFails: true,
  dgramSizeBySndbuf: true, dgramSenderAddr: true, smallReadFreesSpace: true,
};

export type SockType = 'stream' | 'dgram' | 'seqpacket';
export const SOCK_OF: Record<SockType, number> = { stream: SOCK_STREAM, dgram: SOCK_DGRAM, seqpacket: SOCK_SEQPACKET };

export function enc(s: string): Uint8Array { return new TextEncoder().encode(s); }
export function dec(b: Uint8Array): string { return new TextDecoder().decode(b); }

/** Deterministic test bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Assert that `p` rejects with the NetBSD errno `code`. */
export async function rejects(p: Promise<unknown>, code: ErrnoName, what?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const c = (e as { code?: string }).code;
    assert.equal(c, code, `${what ?? 'call'}: expected ${code}, got ${c ?? String(e)}`);
    return true;
  });
}

/** Everything a case needs: the transport, its instance and socket helpers. */
export class Ctx {
  readonly s: Lwp;
  readonly c: Lwp;
  readonly feat: SocketFeatures;

  constructor(readonly t: Transport, readonly inst: TransportInstance) {
    this.s = inst.server;
    this.c = inst.client;
    this.feat = { ...DEFAULT_FEATURES, ...t.features };
  }

  sys(l: Lwp): Kernel['sys'] { return l.kernel.sys; }

  addr(): Sockaddr { return this.inst.addr(); }
  clientAddr(): Sockaddr { return this.inst.clientAddr?.() ?? this.inst.addr(); }

  socket(l: Lwp, type: SockType | number, flags = 0): Promise<number> {
    const t = typeof type === 'number' ? type : SOCK_OF[type];
    return this.sys(l).socket(l, this.t.domain, t | flags, this.t.protocol ?? 0);
  }

  /** A listening socket on a fresh address. */
  async listener(type: SockType = 'stream', backlog = 16, l: Lwp = this.s): Promise<{ fd: number; addr: Sockaddr }> {
    const fd = await this.socket(l, type);
    const addr = this.addr();
    await this.sys(l).bind(l, fd, addr);
    await this.sys(l).listen(l, fd, backlog);
    // the bound address as the kernel reports it (a port chosen by the kernel, ...)
    return { fd, addr: await this.sys(l).getsockname(l, fd) };
  }

  /** A connected pair: client fd (in the client process) and accepted server fd. */
  async pair(type: SockType = 'stream'): Promise<{ cfd: number; sfd: number; lfd: number; addr: Sockaddr }> {
    const { fd: lfd, addr } = await this.listener(type);
    const cfd = await this.socket(this.c, type);
    await this.sys(this.c).connect(this.c, cfd, addr);
    const { fd: sfd } = await this.sys(this.s).accept(this.s, lfd);
    return { cfd, sfd, lfd, addr };
  }

  /** Write all of `data` (looping over short writes). */
  async writeAll(l: Lwp, fd: number, data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.byteLength) off += await this.sys(l).write(l, fd, data.subarray(off));
  }

  /** Read exactly `n` bytes (fails at an early end of file). */
  async readN(l: Lwp, fd: number, n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const r = await this.sys(l).read(l, fd, out.subarray(off));
      if (r === 0) assert.fail(`end of file after ${off} of ${n} bytes`);
      off += r;
    }
    return out;
  }

  /** Read until end of file. */
  async readToEof(l: Lwp, fd: number, chunk = 65536): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const b = new Uint8Array(chunk);
      const n = await this.sys(l).read(l, fd, b);
      if (n === 0) break;
      parts.push(b.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.byteLength; }
    return out;
  }

  async recv(l: Lwp, fd: number, size: number, flags = 0): Promise<RecvResult & { data: Uint8Array }> {
    const b = new Uint8Array(size);
    const r = await this.sys(l).recvfrom(l, fd, b, flags);
    return { ...r, data: b.subarray(0, r.n) };
  }

  /** poll one descriptor; revents. */
  async poll(l: Lwp, fd: number, events: number, timeout = 0): Promise<number> {
    const r = await this.sys(l).poll(l, [{ fd, events }], timeout);
    return r[0]!;
  }

  /** Wait (on the kernel's clock) until fd is readable, failing after `ms`. */
  async waitReadable(l: Lwp, fd: number, ms = 5000): Promise<number> {
    const p = this.sys(l).poll(l, [{ fd, events: POLLIN }], ms);
    if (this.inst.advance !== undefined) await this.inst.advance(ms);
    const r = (await p)[0]!;
    return r;
  }

  /** Let `ms` pass (manual clock or real time). */
  async sleep(ms: number): Promise<void> {
    if (this.inst.advance !== undefined) await this.inst.advance(ms);
    else await new Promise((r) => setTimeout(r, ms));
  }

  /** Let in-flight work settle. */
  async settle(): Promise<void> {
    if (this.inst.settle !== undefined) return this.inst.settle();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }
}

/** A case run against a fresh instance; skipped when the transport lacks `needs`. */
export function test(t: Transport, name: string, fn: (c: Ctx) => Promise<void>, needs: SockType[] = ['stream']): void {
  const missing = needs.filter((x) => !t.types[x]);
  it(name, { skip: missing.length > 0 ? `${t.name} has no ${missing.join('/')} sockets` : false }, async () => {
    const inst = await t.setup();
    try {
      await fn(new Ctx(t, inst));
    } finally {
      await inst.teardown();
    }
  });
}
