/**
 * A deterministic test network for TCP (smoltcp / gVisor style), independent of the IPv4
 * layer: kernels booted with [net] only, each with TCP attached to a fake IpTransportEnv and a
 * minimal AF_INET domain registered through the kernel's Net, on ONE memory host with a manual
 * clock (so all kernels share time, and time moves only by advance()).
 *
 *  - Packets between kernels are copied to bytes at output (the wire), pass the fault injector
 *    (loss, duplication, reordering, corruption from a seeded PRNG, plus a per-packet `filter`
 *    hook for scripted drops) and are delivered after `latencyMs` (0: on the next softint
 *    turn, still asynchronous, as a real interface queue would be).
 *  - A scripted peer (`net.peer(addr)`) is an address with no kernel behind it: segments sent
 *    to it are parsed into its inbox synchronously; the test answers with `peer.send(...)`,
 *    which hands a checksummed segment straight to the kernel's TCP input. Packet checkers
 *    (`expectSeg`) compare flags, sequence numbers, window and options exactly.
 *
 *   const net = await TestNet.create({ hosts: ['10.0.0.1', '10.0.0.2'], latencyMs: 1 });
 *   const [a, b] = net.hosts;
 *   ...
 *   await net.halt();
 */

import assert from 'node:assert/strict';
import { KernelError } from '../../src/kern/errno.js';
import { Kernel } from '../../src/kern/kernel.js';
import type { Lwp } from '../../src/kern/proc.js';
import { AF_INET, SOCK_STREAM, type Sockaddr } from '../../src/kern/types.js';
import { memoryHost, type MemoryHost } from '../../src/rumpuser/memory/index.js';
import { net as netComponent } from '../../src/net/index.js';
import type { Domain } from '../../src/net/domain.js';
import { Mbuf } from '../../src/net/mbuf.js';
import { finish, pseudoSumV4 } from '../../src/net/wire/checksum.js';
import { TcpRepr, TcpSegment, formatTcpFlags, type TcpSackBlock } from '../../src/net/wire/tcp.js';
import { WireError } from '../../src/net/wire/error.js';
import type { IpInputInfo, IpTransportEnv } from '../../src/net/inet/transport.js';
import { IPPROTO_TCP } from '../../src/net/inet/transport.js';
import { attach, inetAton, inetNtoa, inetSockaddr, type Tcb, type TcpProtocol } from '../../src/net/inet/tcp/index.js';

/** mulberry32: a small seeded PRNG. */
export class Prng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
}

export interface Faults {
  loss?: number;
  dup?: number;
  reorder?: number;
  corrupt?: number;
  /** Extra delay of a reordered packet (default 2 * latency + 1 ms). */
  reorderDelayMs?: number;
}

export interface Packet {
  src: number;
  dst: number;
  proto: number;
  bytes: Uint8Array;
}

/** A parsed TCP segment as a checker sees it. */
export interface Seg {
  src: number;
  dst: number;
  repr: TcpRepr;
  flags: string;
  payload: Uint8Array;
}

export function parseSeg(p: Packet): Seg {
  const s = TcpSegment.check(p.bytes);
  if (s instanceof WireError) throw new Error(`not a TCP segment: ${s.message}`);
  const r = TcpRepr.parse(s, p.src, p.dst);
  if (r instanceof WireError) throw new Error(`bad TCP segment: ${r.message}`);
  return { src: p.src, dst: p.dst, repr: r, flags: formatTcpFlags(r.flags & 0x3f), payload: s.payload.slice() };
}

export interface SegExpect {
  flags?: string;
  seq?: number;
  ack?: number;
  window?: number;
  len?: number;
  mss?: number | null;
  wscale?: number | null;
  sackPermitted?: boolean;
  /** true: a timestamp option present; false: none; object: these values. */
  ts?: boolean | { tsval?: number; tsecr?: number };
  sack?: [number, number][] | null;
}

/** gVisor-style checker: assert the fields given. */
export function expectSeg(s: Seg | undefined, e: SegExpect, what = 'segment'): Seg {
  assert.ok(s !== undefined, `${what}: no segment was sent`);
  const r = s.repr;
  if (e.flags !== undefined) assert.equal(s.flags, e.flags, `${what}: flags`);
  if (e.seq !== undefined) assert.equal(r.seq, e.seq >>> 0, `${what}: seq`);
  if (e.ack !== undefined) assert.equal(r.ack, e.ack >>> 0, `${what}: ack`);
  if (e.window !== undefined) assert.equal(r.window, e.window, `${what}: window`);
  if (e.len !== undefined) assert.equal(s.payload.byteLength, e.len, `${what}: payload length`);
  if (e.mss !== undefined) assert.equal(r.mss, e.mss, `${what}: MSS option`);
  if (e.wscale !== undefined) assert.equal(r.windowScale, e.wscale, `${what}: window scale option`);
  if (e.sackPermitted !== undefined) assert.equal(r.sackPermitted, e.sackPermitted, `${what}: SACK-permitted option`);
  if (e.ts !== undefined) {
    if (e.ts === false) assert.equal(r.timestamp, null, `${what}: no timestamp option`);
    else {
      assert.ok(r.timestamp !== null, `${what}: timestamp option`);
      if (typeof e.ts === 'object') {
        if (e.ts.tsval !== undefined) assert.equal(r.timestamp.tsval, e.ts.tsval >>> 0, `${what}: TSval`);
        if (e.ts.tsecr !== undefined) assert.equal(r.timestamp.tsecr, e.ts.tsecr >>> 0, `${what}: TSecr`);
      }
    }
  }
  if (e.sack !== undefined) {
    const got = r.sackBlocks === null ? null : r.sackBlocks.map((b) => [b.left, b.right]);
    assert.deepEqual(got, e.sack === null ? null : e.sack.map(([l, rr]) => [l >>> 0, rr >>> 0]), `${what}: SACK blocks`);
  }
  return s;
}

/** Fields of a segment to build. */
export interface SegSpec {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  ts?: { tsval: number; tsecr: number };
  sack?: TcpSackBlock[];
  payload?: Uint8Array;
}

/** Build a checksummed TCP segment. */
export function buildSeg(src: number, dst: number, spec: SegSpec): Uint8Array {
  const repr: TcpRepr = {
    srcPort: spec.sport, dstPort: spec.dport, seq: spec.seq >>> 0, ack: (spec.ack ?? 0) >>> 0, flags: spec.flags,
    window: spec.window ?? 65535, urgent: 0, mss: spec.mss ?? null, windowScale: spec.wscale ?? null,
    sackPermitted: spec.sackPermitted ?? false, sackBlocks: spec.sack ?? null, timestamp: spec.ts ?? null, unknownOptions: null,
  };
  const payload = spec.payload ?? new Uint8Array(0);
  const hl = TcpRepr.bufferLen(repr);
  const out = new Uint8Array(hl + payload.byteLength);
  out.set(payload, hl);
  TcpRepr.emit(repr, out, { src, dst, payloadLen: payload.byteLength });
  return out;
}

/** Recompute the checksum of a TCP segment in place. */
export function fixChecksum(b: Uint8Array, src: number, dst: number): void {
  b[16] = 0;
  b[17] = 0;
  const m = Mbuf.wrap(b);
  const c = finish(m.sum(0, b.length, pseudoSumV4(src, dst, IPPROTO_TCP, b.length)));
  b[16] = c >>> 8;
  b[17] = c & 0xff;
}

/** A minimal AF_INET domain holding only TCP (until the netinet component provides one). */
export function inetDomain(tcp: TcpProtocol): Domain {
  return {
    family: AF_INET,
    name: 'inet',
    protosw: [...tcp.protosw],
    checkAddr(sa: Sockaddr): Sockaddr {
      const { addr, port } = inetSockaddr(sa);
      return { family: AF_INET, addr: inetNtoa(addr), port };
    },
    addrLen: () => 16,
  };
}

export function sa(addr: string, port: number): Sockaddr {
  return { family: AF_INET, addr, port };
}

/** One kernel on the test network. */
export class Host {
  readonly addr: number;
  readonly l: Lwp;
  readonly tcp: TcpProtocol;
  /** ICMP errors TCP asked IP to send (TCP never does; kept for completeness). */
  readonly icmpSent: unknown[] = [];

  constructor(readonly net: TestNet, readonly k: Kernel, readonly addrText: string) {
    this.addr = inetAton(addrText)!;
    this.l = k.initLwp;
    const env: IpTransportEnv = {
      kernel: k,
      output: (m, src, dst, proto) => net.output(this, m, src, dst, proto),
      selectSource: (dst) => (net.unroutable.has(dst) ? null : this.addr),
      routeMtu: (dst) => (net.unroutable.has(dst) ? null : net.mtu),
      isLocalAddress: (a) => a === this.addr,
      isBroadcast: (a) => a === 0xffffffff,
      icmpError: (type, code) => { this.icmpSent.push({ type, code }); },
    };
    this.tcp = attach(k, env) as TcpProtocol;
    k.net!.addDomain(inetDomain(this.tcp));
    k.onHalt(() => this.tcp.fini());
  }

  get sys(): Kernel['sys'] { return this.k.sys; }

  sa(port: number): Sockaddr { return sa(this.addrText, port); }

  /** A TCP socket descriptor. */
  socket(l: Lwp = this.l, flags = 0): Promise<number> {
    return this.k.sys.socket(l, AF_INET, SOCK_STREAM | flags, 0);
  }

  /** A listening socket on `port`. */
  async listen(port: number, backlog = 16, l: Lwp = this.l): Promise<number> {
    const fd = await this.socket(l);
    await this.k.sys.bind(l, fd, this.sa(port));
    await this.k.sys.listen(l, fd, backlog);
    return fd;
  }

  /** The only connection's control block (tests with one connection). */
  conn(): Tcb {
    const list = [...this.tcp.tcbs].filter((t) => t.faddr !== 0);
    assert.equal(list.length, 1, `expected one connection on ${this.addrText}, have ${list.length}`);
    return list[0]!;
  }
}

/** A scripted peer: an address the test speaks for. */
export class Peer {
  readonly addr: number;
  readonly inbox: Seg[] = [];

  constructor(readonly net: TestNet, readonly addrText: string) {
    this.addr = inetAton(addrText)!;
  }

  /** Send a segment to `to` (synchronously into its TCP input). */
  send(to: Host, spec: SegSpec): void {
    const bytes = buildSeg(this.addr, to.addr, spec);
    this.net.deliverNow(to, { src: this.addr, dst: to.addr, proto: IPPROTO_TCP, bytes });
  }

  /** Take the segments received so far. */
  take(): Seg[] {
    return this.inbox.splice(0);
  }

  /** The next segment received (fails if none). */
  next(what = 'segment'): Seg {
    const s = this.inbox.shift();
    assert.ok(s !== undefined, `${what}: nothing was sent to ${this.addrText}`);
    return s;
  }
}

export interface TestNetOptions {
  hosts?: string[];
  peers?: string[];
  latencyMs?: number;
  seed?: number;
  mtu?: number;
  memlimit?: number;
}

export class TestNet {
  readonly host: MemoryHost;
  readonly hosts: Host[] = [];
  readonly peers: Peer[] = [];
  /** Addresses without a route (connect fails with ENETUNREACH). */
  readonly unroutable = new Set<number>();
  latencyMs: number;
  mtu: number;
  faults: Faults = {};
  /** Called for every packet between hosts: return false to drop it. */
  filter: ((p: Packet, n: number) => boolean) | null = null;
  /** Every packet put on the wire (when `capture` is set). */
  readonly trace: Seg[] = [];
  capture = false;
  /** Packets put on the wire. */
  sent = 0;
  dropped = 0;
  readonly prng: Prng;
  private halted = false;

  private constructor(opts: TestNetOptions) {
    this.host = memoryHost({ manualClock: true, seed: opts.seed ?? 1 });
    this.latencyMs = opts.latencyMs ?? 0;
    this.mtu = opts.mtu ?? 1500;
    this.prng = new Prng(opts.seed ?? 1);
  }

  static async create(opts: TestNetOptions = {}): Promise<TestNet> {
    const n = new TestNet(opts);
    for (const a of opts.hosts ?? ['10.0.0.1', '10.0.0.2']) {
      const k = await Kernel.boot({ host: n.host, components: [netComponent], ...(opts.memlimit !== undefined ? { memlimit: opts.memlimit } : {}) });
      n.hosts.push(new Host(n, k, a));
    }
    for (const a of opts.peers ?? []) n.peers.push(new Peer(n, a));
    return n;
  }

  /** IP output of a host: the fake wire. */
  output(from: Host, m: Mbuf, src: number, dst: number, proto: number): KernelError | null {
    if (src !== from.addr) return new KernelError('EADDRNOTAVAIL', `source ${inetNtoa(src)} is not ${from.addrText}`);
    if (this.unroutable.has(dst)) return new KernelError('EHOSTUNREACH', `no route to ${inetNtoa(dst)}`);
    if (m.length + 20 > this.mtu) return new KernelError('EMSGSIZE', `${m.length + 20} bytes exceed the MTU ${this.mtu}`);
    const p: Packet = { src, dst, proto, bytes: m.toBytes() };
    this.sent++;
    const n = this.sent;
    if (this.capture) this.trace.push(parseSeg(p));
    const peer = this.peers.find((x) => x.addr === dst);
    if (peer !== undefined) {
      peer.inbox.push(parseSeg(p));
      return null;
    }
    const to = this.hosts.find((h) => h.addr === dst);
    if (to === undefined) return null; // a black hole
    if (this.filter !== null && !this.filter(p, n)) {
      this.dropped++;
      return null;
    }
    const f = this.faults;
    const r = this.prng;
    if (f.loss !== undefined && r.next() < f.loss) {
      this.dropped++;
      return null;
    }
    let delay = this.latencyMs;
    if (f.reorder !== undefined && r.next() < f.reorder) delay += f.reorderDelayMs ?? 2 * this.latencyMs + 1;
    if (f.corrupt !== undefined && r.next() < f.corrupt) {
      const i = r.int(p.bytes.length);
      p.bytes[i]! ^= 1 << r.int(8);
    }
    this.schedule(to, p, delay);
    if (f.dup !== undefined && r.next() < f.dup) this.schedule(to, { ...p, bytes: p.bytes.slice() }, delay);
    return null;
  }

  /** Packets in flight with a delay, by due time; one host timer serves them all. */
  private readonly inflight: { due: number; to: Host; p: Packet }[] = [];
  private armedAt = Infinity;

  private schedule(to: Host, p: Packet, delay: number): void {
    if (delay <= 0) {
      this.host.schedule(() => { if (!this.halted) this.deliverNow(to, p); });
      return;
    }
    const due = this.now() + delay;
    const q = this.inflight;
    let i = q.length;
    while (i > 0 && q[i - 1]!.due > due) i--;
    q.splice(i, 0, { due, to, p });
    if (due < this.armedAt) {
      this.armedAt = due;
      this.host.timer(delay, () => this.fireWire(due));
    }
  }

  private fireWire(at: number): void {
    if (at !== this.armedAt) return; // superseded by an earlier timer
    this.armedAt = Infinity;
    const now = this.now() + 1e-6;
    const q = this.inflight;
    while (q.length > 0 && q[0]!.due <= now) {
      const { to, p } = q.shift()!;
      if (!this.halted) this.deliverNow(to, p);
    }
    const next = q[0];
    if (next !== undefined && !this.halted) {
      this.armedAt = next.due;
      this.host.timer(Math.max(0, next.due - this.now()), () => this.fireWire(next.due));
    }
  }

  /** Hand a packet to a host's TCP input now. */
  deliverNow(to: Host, p: Packet): void {
    if (to.k.halted) return;
    const info: IpInputInfo = { src: p.src, dst: p.dst, ttl: 64, tos: 0, ifindex: 1, broadcast: false, multicast: false, length: p.bytes.length };
    to.tcp.input(Mbuf.wrap(p.bytes.slice()), info);
  }

  /** Let `ms` pass (timers fire in order; everything they cause settles between). */
  advance(ms: number): Promise<void> {
    return this.host.advance(ms);
  }

  settle(): Promise<void> {
    return this.host.settle();
  }

  now(): number {
    return this.host.clockMs(1);
  }

  /**
   * Run time forward until `done()` (checked after every step) or `maxMs` of simulated time
   * pass; steps jump to the next pending timer. Returns the simulated time used.
   */
  async runUntil(done: () => boolean, maxMs: number, stepMs = 50): Promise<number> {
    const start = this.now();
    await this.settle();
    while (!done()) {
      const used = this.now() - start;
      if (used >= maxMs) throw new Error(`not done after ${maxMs} ms of simulated time`);
      const next = this.host.nextTimerMs();
      await this.advance(Math.min(next === undefined ? stepMs : Math.max(next, 0), maxMs - used, stepMs));
    }
    return this.now() - start;
  }

  /** Wait for a promise while running time forward. */
  async run<T>(p: Promise<T>, maxMs = 600_000, stepMs = 50): Promise<T> {
    let settled = false;
    let value: T | undefined;
    let error: unknown = null;
    let failed = false;
    p.then((v) => { settled = true; value = v; }, (e: unknown) => { settled = true; failed = true; error = e; });
    await this.runUntil(() => settled, maxMs, stepMs);
    if (failed) throw error;
    return value as T;
  }

  async halt(): Promise<void> {
    this.halted = true;
    for (const h of this.hosts) await h.k.halt();
  }
}

/** Deterministic bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Write all of `data` on fd. */
export async function writeAll(h: Host, fd: number, data: Uint8Array, l: Lwp = h.l, chunk = 1 << 16): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await h.sys.write(l, fd, data.subarray(off, Math.min(data.byteLength, off + chunk)));
}

/** Read until end of file. */
export async function readAll(h: Host, fd: number, l: Lwp = h.l, chunk = 1 << 16): Promise<Uint8Array> {
  let out = new Uint8Array(chunk);
  let total = 0;
  const b = new Uint8Array(chunk);
  for (;;) {
    const n = await h.sys.read(l, fd, b);
    if (n === 0) break;
    if (total + n > out.byteLength) {
      const bigger = new Uint8Array(Math.max(out.byteLength * 2, total + n));
      bigger.set(out.subarray(0, total));
      out = bigger;
    }
    out.set(b.subarray(0, n), total);
    total += n;
  }
  return out.slice(0, total);
}

/** Assert a promise rejects with a NetBSD errno name. */
export async function rejectsWith(p: Promise<unknown>, code: string, what = 'call'): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal((e as { code?: string }).code, code, `${what}: expected ${code}, got ${String((e as { code?: string }).code ?? e)}`);
    return true;
  });
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Options the scripted peer puts in its SYN or SYN,ACK. */
export interface PeerSynOptions {
  window?: number;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  /** Send timestamps (TSval of the peer's SYN). */
  tsval?: number;
}

/** The state of a scripted connection, from the peer's side. */
export interface ScriptConn {
  /** The kernel's socket. */
  fd: number;
  /** Kernel's and peer's ports. */
  kport: number;
  pport: number;
  /** Next sequence number the peer expects from the kernel (its rcv_nxt). */
  kseq: number;
  /** The peer's next sequence number (the kernel's rcv_nxt). */
  pseq: number;
  syn: Seg;
}

export const PEER_ISS = 0x10000000;

/** The kernel connects to the scripted peer, which answers the handshake. */
export async function scriptedConnect(net: TestNet, h: Host, peer: Peer, port = 80, o: PeerSynOptions = {}): Promise<ScriptConn> {
  const fd = await h.socket();
  const p = h.sys.connect(h.l, fd, sa(peer.addrText, port));
  await net.settle();
  const syn = peer.next('SYN');
  assert.equal(syn.flags, 'SYN');
  peer.send(h, {
    sport: port, dport: syn.repr.srcPort, seq: PEER_ISS, ack: syn.repr.seq + 1, flags: 0x12, window: o.window ?? 65535,
    mss: o.mss ?? 1460,
    ...(o.wscale !== undefined ? { wscale: o.wscale } : {}),
    ...(o.sackPermitted === true ? { sackPermitted: true } : {}),
    ...(o.tsval !== undefined && syn.repr.timestamp !== null ? { ts: { tsval: o.tsval, tsecr: syn.repr.timestamp.tsval } } : {}),
  });
  await p;
  const ack = peer.next('ACK of the SYN,ACK');
  assert.equal(ack.flags, 'ACK');
  return { fd, kport: syn.repr.srcPort, pport: port, kseq: (syn.repr.seq + 1) >>> 0, pseq: (PEER_ISS + 1) >>> 0, syn };
}

/** The scripted peer connects to a listening kernel socket and the kernel accepts. */
export async function scriptedAccept(net: TestNet, h: Host, peer: Peer, lfd: number, port: number, pport = 40000, o: PeerSynOptions = {}): Promise<ScriptConn> {
  peer.send(h, {
    sport: pport, dport: port, seq: PEER_ISS, flags: 0x02, window: o.window ?? 65535, mss: o.mss ?? 1460,
    ...(o.wscale !== undefined ? { wscale: o.wscale } : {}),
    ...(o.sackPermitted === true ? { sackPermitted: true } : {}),
    ...(o.tsval !== undefined ? { ts: { tsval: o.tsval, tsecr: 0 } } : {}),
  });
  const synack = peer.next('SYN,ACK');
  assert.equal(synack.flags, 'SYN,ACK');
  peer.send(h, {
    sport: pport, dport: port, seq: PEER_ISS + 1, ack: synack.repr.seq + 1, flags: 0x10, window: o.window ?? 65535,
    ...(o.tsval !== undefined && synack.repr.timestamp !== null ? { ts: { tsval: o.tsval + 1, tsecr: synack.repr.timestamp.tsval } } : {}),
  });
  const { fd } = await h.sys.accept(h.l, lfd);
  await net.settle();
  return { fd, kport: port, pport, kseq: (synack.repr.seq + 1) >>> 0, pseq: (PEER_ISS + 1) >>> 0, syn: synack };
}
