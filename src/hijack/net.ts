/**
 * The socket part of the hijack (`socket=` in RUMPHIJACK): TCP and UDP of the program made in
 * the rump kernel instead of the host, as NetBSD's hijack creates the sockets of the selected
 * protocol families in the rump kernel.
 *
 * Node's `net` and `dgram` sit on libuv handles, not on socket(2) calls a preload could
 * redirect, so the hijack gives them a second implementation on the kernel's socket system
 * calls, used for AF_INET when socket= selects inet and the server's kernel has netinet:
 *
 * - `net.connect` / `net.createConnection` (and so http's Agent) return a RumpSocket: a Duplex
 *   with net.Socket's API (connect, write, end, destroy, setNoDelay, setKeepAlive, setTimeout,
 *   address, remoteAddress/Port, localAddress/Port, bytesRead/Written, ref/unref). Host names
 *   are looked up on the host (dns.lookup); the connection is the kernel's.
 * - `net.Server.prototype.listen` on a port (so net.createServer and http.createServer): a
 *   kernel listening socket whose accepted connections are RumpSockets given to 'connection';
 *   address(), close(), getConnections(), ref/unref follow.
 * - `dgram.createSocket('udp4')`: a kernel UDP socket with dgram.Socket's API (bind, send,
 *   'message', address, close, connect, setBroadcast, ref/unref).
 *
 * Paths (unix-domain sockets, IPC) stay on the host: AF_LOCAL is not hijacked (NetBSD's default
 * `socket=all:nolocal` excludes it anyway), nor is IPv6 (udp6, '::' addresses: EAFNOSUPPORT).
 * Each socket keeps one kernel call outstanding (a read, an accept, a recvfrom); the kernel
 * blocks it, not the program, and it keeps the program alive unless the socket is unref'd.
 * Errors are Node's: "connect ECONNREFUSED 127.0.0.1:8080", code, errno, syscall, address, port.
 */

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { lookup } from 'node:dns';
import { KernelError, linuxErrno, strerror } from '../kern/errno.js';
import { AF_INET, AF_INET6, AF_LOCAL, SHUT_WR, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_BROADCAST, SO_KEEPALIVE, SO_REUSEADDR, type Sockaddr } from '../kern/types.js';
import type { SyscallName } from '../kern/syscalltable.js';
import type { HijackContext } from './context.js';
import { sys } from './ops.js';

const require = createRequire(import.meta.url);
const IPPROTO_TCP = 6, TCP_NODELAY = 1;
const READ_SIZE = 64 * 1024;

export interface NetHijackStatus {
  /** PF_* families selected by socket= (of those the hijack knows). */
  readonly selected: readonly number[];
  /** Of those, the ones the server's kernel can make sockets of. */
  readonly available: readonly number[];
  /** Of those, the ones whose Node APIs are hijacked (AF_INET: net and dgram). */
  readonly hijacked: readonly number[];
}

type Obj = Record<string | symbol, unknown>;
type Fn = (...a: unknown[]) => unknown;

/** A Node-style network error (errno < 0 with Linux's number). */
function netError(e: unknown, syscall: string, address?: string, port?: number): Error {
  if (!(e instanceof KernelError)) return e instanceof Error ? e : new Error(String(e));
  const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : '';
  const err = new Error(syscall === 'listen' || syscall === 'bind'
    ? `${syscall} ${e.code}: ${strerror(e.errno)}${where}`
    : `${syscall} ${e.code}${where}`) as Error & Record<string, unknown>;
  err['errno'] = -linuxErrno(e.code);
  err['code'] = e.code;
  err['syscall'] = syscall;
  if (address !== undefined) err['address'] = address;
  if (port !== undefined) err['port'] = port;
  return err;
}

/** The kernel's calls, asynchronously. */
class KCalls {
  constructor(private readonly ctx: HijackContext) {}
  call<K extends SyscallName>(name: K, args: unknown[]): Promise<unknown> {
    return this.ctx.driver.channel.call(name, args, true);
  }

  /**
   * A call that may wait in the kernel indefinitely (read, accept, recvfrom): it keeps the
   * program alive only while `refed()` says so, which may change while it waits.
   */
  wait<K extends SyscallName>(name: K, args: unknown[], w: Waiter): Promise<unknown> {
    w.pending = true;
    w.sync();
    return this.ctx.driver.channel.call(name, args, false).finally(() => {
      w.pending = false;
      w.sync();
    });
  }
}

/** Whether a socket's waiting call holds the program alive (ref/unref while it waits). */
class Waiter {
  pending = false;
  refed = true;
  #held = false;
  constructor(private readonly ctx: HijackContext) {}
  sync(): void {
    const want = this.pending && this.refed;
    if (want === this.#held) return;
    this.#held = want;
    if (want) this.ctx.driver.channel.hold();
    else this.ctx.driver.channel.release();
  }
  set(refed: boolean): void {
    this.refed = refed;
    this.sync();
  }
}

/** Resolve a host name on the host (as Node's net does before connecting). */
function resolve4(host: string): Promise<string> {
  if (isIP(host) === 4) return Promise.resolve(host);
  if (isIP(host) === 6) return Promise.reject(new KernelError('EAFNOSUPPORT', `IPv6 address ${host}: the hijack sends AF_INET only`));
  return new Promise((res, rej) => {
    lookup(host, { family: 4 }, (err, addr) => {
      if (err !== null) rej(err);
      else res(addr);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// TCP connections

interface ConnectOpts { port?: unknown; host?: string; localAddress?: string; localPort?: number; timeout?: number; noDelay?: boolean; keepAlive?: boolean }

export class RumpSocket extends Duplex {
  #k: KCalls;
  #w: Waiter;
  #kfd = -1;
  #reading = false;
  #connected: Promise<void> | null = null;
  #timeoutMs = 0;
  #timer: NodeJS.Timeout | null = null;
  connecting = false;
  pending = true;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead = 0;
  #written = 0;
  /** The server that accepted it (for http), if any. */
  server: unknown = null;
  /** Where a timeout's `setTimeout` callback and the like may look (http sets this). */
  _httpMessage: unknown = null;

  constructor(ctx: HijackContext, opts: { allowHalfOpen?: boolean; kfd?: number } = {}) {
    super({ allowHalfOpen: opts.allowHalfOpen ?? false, emitClose: true, autoDestroy: true, decodeStrings: true });
    this.#k = new KCalls(ctx);
    this.#w = new Waiter(ctx);
    if (opts.kfd !== undefined) {
      this.#kfd = opts.kfd;
      this.pending = false;
      this.#connected = Promise.resolve();
    }
  }

  get bytesWritten(): number { return this.#written; }
  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }
  get bufferSize(): number { return this.writableLength; }

  /** @internal after accept: addresses known. */
  setAddresses(local: Sockaddr | null, remote: Sockaddr | null): void {
    if (local !== null) {
      this.localAddress = local.addr;
      this.localPort = local.port;
    }
    if (remote !== null) {
      this.remoteAddress = remote.addr;
      this.remotePort = remote.port;
      this.remoteFamily = 'IPv4';
    }
  }

  connect(...args: unknown[]): this {
    let o: ConnectOpts;
    let cb: Fn | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as Fn;
    if (args[0] !== null && typeof args[0] === 'object') o = args[0] as ConnectOpts;
    else o = { port: args[0], host: typeof args[1] === 'string' ? args[1] : 'localhost' };
    if (cb !== undefined) this.once('connect', cb);
    const port = Number(o.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      const err = Object.assign(new RangeError(`Port should be >= 0 and < 65536. Received ${String(o.port)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
      throw err;
    }
    const host = o.host ?? 'localhost';
    this.connecting = true;
    if (typeof o.timeout === 'number') this.setTimeout(o.timeout);
    this.#connected = (async () => {
      let addr: string;
      try {
        addr = await resolve4(host);
      } catch (e) {
        throw e instanceof KernelError ? netError(e, 'connect', host, port) : e;
      }
      try {
        const fd = await this.#k.call('socket', [AF_INET, SOCK_STREAM, 0]) as number;
        if (this.destroyed) {
          // destroyed while the socket was being made: nobody else will close it
          await this.#k.call('close', [fd]).catch(() => undefined);
          throw new KernelError('ECANCELED', 'the socket was destroyed while connecting');
        }
        this.#kfd = fd;
        if (o.localAddress !== undefined || o.localPort !== undefined) {
          await this.#k.call('bind', [this.#kfd, { family: AF_INET, addr: o.localAddress ?? '0.0.0.0', port: o.localPort ?? 0 }]);
        }
        await this.#k.call('connect', [this.#kfd, { family: AF_INET, addr, port }]);
      } catch (e) {
        throw netError(e, 'connect', addr, port);
      }
      if (o.noDelay === true) this.setNoDelay(true);
      if (o.keepAlive === true) this.setKeepAlive(true);
      const [local, remote] = await Promise.all([
        this.#k.call('getsockname', [this.#kfd]).catch(() => null),
        this.#k.call('getpeername', [this.#kfd]).catch(() => null),
      ]) as [Sockaddr | null, Sockaddr | null];
      this.setAddresses(local, remote ?? { family: AF_INET, addr, port });
    })();
    this.#connected.then(() => {
      if (this.destroyed) return;
      this.connecting = false;
      this.pending = false;
      this.#touch();
      this.emit('connect');
      this.emit('ready');
      if (this.readableFlowing === true || this.listenerCount('data') > 0) this.read(0);
    }, (e: unknown) => {
      this.connecting = false;
      this.destroy(e instanceof Error ? e : new Error(String(e)));
    });
    return this;
  }

  override _read(): void {
    if (this.#reading) return;
    if (this.#connected === null) return;
    this.#reading = true;
    void this.#connected.then(() => this.#readLoop(), () => { this.#reading = false; });
  }

  async #readLoop(): Promise<void> {
    while (!this.destroyed && this.#kfd >= 0) {
      const buf = Buffer.allocUnsafe(READ_SIZE);
      let n: number;
      try {
        n = await this.#k.wait('read', [this.#kfd, buf], this.#w) as number;
      } catch (e) {
        this.#reading = false;
        if (!this.destroyed) this.destroy(netError(e, 'read'));
        return;
      }
      if (n === 0) {
        this.#reading = false;
        this.push(null);
        return;
      }
      this.bytesRead += n;
      this.#touch();
      if (!this.push(buf.subarray(0, n))) {
        this.#reading = false;
        return;
      }
    }
    this.#reading = false;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    void this.#writeAll(chunk).then(() => { cb(); }, (e: unknown) => { cb(e as Error); });
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    void this.#writeAll(Buffer.concat(chunks.map((c) => c.chunk))).then(() => { cb(); }, (e: unknown) => { cb(e as Error); });
  }

  async #writeAll(b: Buffer): Promise<void> {
    if (this.#connected === null) throw Object.assign(new Error('This socket is closed'), { code: 'EPIPE' });
    await this.#connected;
    let off = 0;
    while (off < b.byteLength) {
      let n: number;
      try {
        n = await this.#k.call('write', [this.#kfd, off === 0 ? b : b.subarray(off)]) as number;
      } catch (e) {
        throw netError(e, 'write');
      }
      off += n;
      this.#written += n;
    }
    this.#touch();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#connected === null) {
      cb();
      return;
    }
    void this.#connected.then(() => this.#k.call('shutdown', [this.#kfd, SHUT_WR])).then(() => { cb(); }, () => { cb(); });
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.#clearTimer();
    const fd = this.#kfd;
    this.#kfd = -1;
    if (fd < 0) {
      cb(err);
      return;
    }
    // closing the descriptor ends the kernel call still waiting on it (EBADF)
    void this.#k.call('close', [fd]).then(() => { cb(err); }, () => { cb(err); });
  }

  /** Abortive close (RST), as net.Socket.resetAndDestroy. */
  resetAndDestroy(): this {
    if (this.#kfd >= 0) void this.#k.call('setsockopt', [this.#kfd, SOL_SOCKET, 0x0080 /* SO_LINGER */, { onoff: 1, linger: 0 }]).catch(() => undefined);
    return this.destroy();
  }

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  setNoDelay(noDelay = true): this {
    const fd = this.#kfd;
    if (fd >= 0) void this.#k.call('setsockopt', [fd, IPPROTO_TCP, TCP_NODELAY, noDelay ? 1 : 0]).catch(() => undefined);
    else void this.#connected?.then(() => this.setNoDelay(noDelay), () => undefined);
    return this;
  }

  setKeepAlive(enable = false): this {
    const fd = this.#kfd;
    if (fd >= 0) void this.#k.call('setsockopt', [fd, SOL_SOCKET, SO_KEEPALIVE, enable ? 1 : 0]).catch(() => undefined);
    return this;
  }

  #touch(): void {
    if (this.#timer !== null) this.#timer.refresh();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.#timeoutMs = ms;
    this.#clearTimer();
    if (cb !== undefined) {
      if (ms === 0) this.off('timeout', cb);
      else this.once('timeout', cb);
    }
    if (ms > 0) {
      this.#timer = setTimeout(() => { this.emit('timeout'); }, ms);
      this.#timer.unref();
    }
    return this;
  }

  get timeout(): number | undefined { return this.#timeoutMs === 0 ? undefined : this.#timeoutMs; }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    return this.localAddress === undefined ? {} : { address: this.localAddress, family: 'IPv4', port: this.localPort ?? 0 };
  }

  ref(): this {
    this.#w.set(true);
    return this;
  }

  unref(): this {
    this.#w.set(false);
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// servers: net.Server.prototype.listen for ports

interface ServerState { kfd: number; address: { address: string; family: string; port: number }; w: Waiter; conns: Set<RumpSocket>; closing: boolean }
const kRump = Symbol('rumpkernel.hijack.server');

function listenArgs(args: unknown[]): { port: number | null; host: string | null; backlog: number; cb: Fn | undefined; path: boolean } {
  let cb: Fn | undefined;
  if (typeof args[args.length - 1] === 'function') cb = args.pop() as Fn;
  const a0 = args[0];
  if (a0 !== null && typeof a0 === 'object' && !Array.isArray(a0)) {
    const o = a0 as { port?: unknown; host?: string; backlog?: number; path?: string; handle?: unknown; fd?: unknown };
    if (Boolean(o.path) || (o.handle !== undefined && o.handle !== null) || (o.fd !== undefined && o.fd !== null)) return { port: null, host: null, backlog: 511, cb, path: true };
    return { port: o.port === undefined ? 0 : Number(o.port), host: o.host ?? null, backlog: o.backlog ?? 511, cb, path: false };
  }
  if (typeof a0 === 'string' && !/^[0-9]+$/.test(a0)) return { port: null, host: null, backlog: 511, cb, path: true };
  const port = a0 === undefined || a0 === null ? 0 : Number(a0);
  const host = typeof args[1] === 'string' ? args[1] : null;
  const backlog = typeof args[1] === 'number' ? args[1] : typeof args[2] === 'number' ? args[2] : 511;
  return { port, host, backlog, cb, path: false };
}

// ---------------------------------------------------------------------------------------------
// UDP: dgram

class RumpDgram extends EventEmitter {
  #k: KCalls;
  #w: Waiter;
  #kfd = -1;
  #bound: Promise<void> | null = null;
  #closed = false;
  #local: { address: string; family: string; port: number } | null = null;
  #remote: { address: string; port: number } | null = null;

  constructor(ctx: HijackContext, listener?: Fn) {
    super();
    this.#k = new KCalls(ctx);
    this.#w = new Waiter(ctx);
    if (listener !== undefined) this.on('message', listener);
  }

  #ensure(port = 0, address = '0.0.0.0'): Promise<void> {
    this.#bound ??= (async () => {
      const addr = await resolve4(address);
      this.#kfd = await this.#k.call('socket', [AF_INET, SOCK_DGRAM, 0]) as number;
      try {
        await this.#k.call('bind', [this.#kfd, { family: AF_INET, addr, port }]);
      } catch (e) {
        throw netError(e, 'bind', addr, port);
      }
      const sa = await this.#k.call('getsockname', [this.#kfd]) as Sockaddr;
      this.#local = { address: sa.addr ?? addr, family: 'IPv4', port: sa.port ?? port };
      void this.#recvLoop();
    })();
    return this.#bound;
  }

  async #recvLoop(): Promise<void> {
    while (!this.#closed) {
      const buf = Buffer.allocUnsafe(READ_SIZE);
      let r: { n: number; addr: Sockaddr | null };
      try {
        r = await this.#k.wait('recvfrom', [this.#kfd, buf, 0], this.#w) as { n: number; addr: Sockaddr | null };
      } catch (e) {
        if (!this.#closed) this.emit('error', netError(e, 'recvmsg'));
        return;
      }
      this.emit('message', buf.subarray(0, r.n), { address: r.addr?.addr ?? '', family: 'IPv4', port: r.addr?.port ?? 0, size: r.n });
    }
  }

  bind(...args: unknown[]): this {
    let cb: Fn | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as Fn;
    let port = 0, address = '0.0.0.0';
    if (args[0] !== null && typeof args[0] === 'object') {
      const o = args[0] as { port?: number; address?: string };
      port = o.port ?? 0;
      address = o.address ?? address;
    } else {
      if (typeof args[0] === 'number') port = args[0];
      if (typeof args[1] === 'string') address = args[1];
    }
    if (cb !== undefined) this.once('listening', cb);
    this.#ensure(port, address).then(() => { this.emit('listening'); }, (e: unknown) => { this.emit('error', e); });
    return this;
  }

  send(msg: unknown, ...rest: unknown[]): void {
    let cb: Fn | undefined;
    if (typeof rest[rest.length - 1] === 'function') cb = rest.pop() as Fn;
    let data: Buffer;
    if (Array.isArray(msg)) data = Buffer.concat(msg.map((m) => (typeof m === 'string' ? Buffer.from(m) : Buffer.from(m as Uint8Array))));
    else data = typeof msg === 'string' ? Buffer.from(msg) : Buffer.from(msg as Uint8Array);
    // send(msg, offset, length, port, address) or send(msg, port, address)
    if (typeof rest[0] === 'number' && typeof rest[1] === 'number' && rest.length >= 3) {
      data = data.subarray(rest[0], rest[0] + rest[1]);
      rest = rest.slice(2);
    }
    const port = typeof rest[0] === 'number' ? rest[0] : this.#remote?.port;
    const host = typeof rest[1] === 'string' ? rest[1] : this.#remote?.address ?? '127.0.0.1';
    const p = (async () => {
      await this.#ensure();
      const addr = await resolve4(host);
      try {
        return await this.#k.call('sendto', [this.#kfd, data, 0, port === undefined ? null : { family: AF_INET, addr, port }]) as number;
      } catch (e) {
        throw netError(e, 'send', addr, port);
      }
    })();
    p.then((n) => { if (cb !== undefined) process.nextTick(cb, null, n); }, (e: unknown) => {
      if (cb !== undefined) process.nextTick(cb, e);
      else this.emit('error', e);
    });
  }

  connect(port: number, ...rest: unknown[]): void {
    let cb: Fn | undefined;
    if (typeof rest[rest.length - 1] === 'function') cb = rest.pop() as Fn;
    const host = typeof rest[0] === 'string' ? rest[0] : '127.0.0.1';
    void (async () => {
      await this.#ensure();
      const addr = await resolve4(host);
      await this.#k.call('connect', [this.#kfd, { family: AF_INET, addr, port }]);
      this.#remote = { address: addr, port };
    })().then(() => { this.emit('connect'); cb?.(); }, (e: unknown) => { this.emit('error', netError(e, 'connect', host, port)); });
  }

  disconnect(): void {
    this.#remote = null;
    if (this.#kfd >= 0) void this.#k.call('connect', [this.#kfd, { family: 0 }]).catch(() => undefined);
  }

  remoteAddress(): { address: string; family: string; port: number } {
    if (this.#remote === null) throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    return { ...this.#remote, family: 'IPv4' };
  }

  address(): { address: string; family: string; port: number } {
    if (this.#local === null) throw Object.assign(new Error('getsockname EBADF'), { code: 'EBADF', syscall: 'getsockname', errno: -9 });
    return this.#local;
  }

  setBroadcast(flag: boolean): void {
    if (this.#kfd >= 0) void this.#k.call('setsockopt', [this.#kfd, SOL_SOCKET, SO_BROADCAST, flag ? 1 : 0]).catch(() => undefined);
  }

  setTTL(ttl: number): number { return ttl; }
  setRecvBufferSize(): void { /* the kernel's default */ }
  setSendBufferSize(): void { /* the kernel's default */ }

  close(cb?: Fn): this {
    if (cb !== undefined) this.once('close', cb);
    if (this.#closed) return this;
    this.#closed = true;
    const done = (): void => { process.nextTick(() => this.emit('close')); };
    if (this.#bound === null) done();
    else void this.#bound.then(() => this.#k.call('close', [this.#kfd])).then(done, done);
    return this;
  }

  ref(): this { this.#w.set(true); return this; }
  unref(): this { this.#w.set(false); return this; }
}

// ---------------------------------------------------------------------------------------------
// installing

/** Probe the server's kernel for each selected family; hijack net and dgram for AF_INET. */
export function installNetHijack(ctx: HijackContext): NetHijackStatus {
  const selected = [...ctx.cfg.socketFamilies].filter((f) => f === AF_INET || f === AF_INET6 || f === AF_LOCAL);
  const available: number[] = [];
  for (const f of selected) {
    try {
      const fd = ctx.driver.runSync(sys('socket', f, SOCK_STREAM, 0));
      ctx.driver.runSync(sys('close', fd));
      available.push(f);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
  }
  const hijacked: number[] = [];
  if (available.includes(AF_INET)) {
    patchNet(ctx);
    hijacked.push(AF_INET);
  }
  return { selected, available, hijacked };
}

function patchNet(ctx: HijackContext): void {
  const net = require('net') as Obj;
  const k = new KCalls(ctx);
  const hostConnect = net['connect'] as Fn;
  const isPathArgs = (args: unknown[]): boolean => {
    const a0 = args[0];
    if (a0 !== null && typeof a0 === 'object') return Boolean((a0 as { path?: unknown }).path); // as net's `!!path`
    return typeof a0 === 'string' && !/^[0-9]+$/.test(a0);
  };
  const connect = function (this: unknown, ...args: unknown[]): unknown {
    if (isPathArgs(args)) return hostConnect.apply(this, args);
    const o = args[0] !== null && typeof args[0] === 'object' ? args[0] as { allowHalfOpen?: boolean; timeout?: number } : {};
    const s = new RumpSocket(ctx, { allowHalfOpen: o.allowHalfOpen ?? false });
    return s.connect(...args);
  };
  net['connect'] = connect;
  net['createConnection'] = connect;
  // http's Agent captured net.createConnection when it loaded
  const http = require('http') as Obj;
  (http['Agent'] as { prototype: Obj }).prototype['createConnection'] = connect;

  const Server = net['Server'] as { prototype: Obj };
  const proto = Server.prototype;
  const hostListen = proto['listen'] as Fn;
  const hostAddress = proto['address'] as Fn;
  const hostClose = proto['close'] as Fn;
  const hostRef = proto['ref'] as Fn;
  const hostUnref = proto['unref'] as Fn;
  const hostGetConnections = proto['getConnections'] as Fn;
  const stateOf = (srv: unknown): ServerState | undefined => (srv as Obj)[kRump] as ServerState | undefined;
  const maybeClosed = (srv: EventEmitter, st: ServerState): void => {
    if (st.closing && st.conns.size === 0 && st.kfd < 0) process.nextTick(() => srv.emit('close'));
  };

  proto['listen'] = function (this: EventEmitter & Obj, ...args: unknown[]): unknown {
    const la = listenArgs([...args]);
    if (la.path || la.port === null) return hostListen.apply(this, args);
    if (!Number.isInteger(la.port) || la.port < 0 || la.port > 65535) {
      throw Object.assign(new RangeError(`options.port should be >= 0 and < 65536. Received ${String(la.port)}.`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    if (la.cb !== undefined) this.once('listening', la.cb);
    const host = la.host === null || la.host === '::' ? '0.0.0.0' : la.host;
    const port = la.port;
    const st: ServerState = { kfd: -1, address: { address: host, family: 'IPv4', port }, w: new Waiter(ctx), conns: new Set(), closing: false };
    this[kRump] = st;
    Object.defineProperty(this, 'listening', { configurable: true, get: () => st.kfd >= 0 && !st.closing });
    void (async () => {
      const addr = await resolve4(host);
      st.kfd = await k.call('socket', [AF_INET, SOCK_STREAM, 0]) as number;
      await k.call('setsockopt', [st.kfd, SOL_SOCKET, SO_REUSEADDR, 1]).catch(() => undefined);
      try {
        await k.call('bind', [st.kfd, { family: AF_INET, addr, port }]);
        await k.call('listen', [st.kfd, la.backlog]);
      } catch (e) {
        const fd = st.kfd;
        st.kfd = -1;
        await k.call('close', [fd]).catch(() => undefined);
        throw netError(e, 'listen', addr, port);
      }
      const sa = await k.call('getsockname', [st.kfd]) as Sockaddr;
      st.address = { address: sa.addr ?? addr, family: 'IPv4', port: sa.port ?? port };
    })().then(() => {
      this.emit('listening');
      void acceptLoop(this, st);
    }, (e: unknown) => { this.emit('error', e); });
    return this;
  };

  const acceptLoop = async (srv: EventEmitter & Obj, st: ServerState): Promise<void> => {
    while (st.kfd >= 0 && !st.closing) {
      let r: { fd: number; addr: Sockaddr | null };
      try {
        r = await k.wait('accept', [st.kfd], st.w) as { fd: number; addr: Sockaddr | null };
      } catch (e) {
        if (st.closing || st.kfd < 0) return;
        if (e instanceof KernelError && (e.code === 'ECONNABORTED' || e.code === 'EINTR')) continue;
        srv.emit('error', netError(e, 'accept'));
        return;
      }
      const max = srv['maxConnections'];
      if (typeof max === 'number' && st.conns.size >= max) {
        void k.call('close', [r.fd]).catch(() => undefined);
        continue;
      }
      const s = new RumpSocket(ctx, { kfd: r.fd, allowHalfOpen: srv['allowHalfOpen'] === true });
      s.server = srv;
      s.setAddresses(null, r.addr);
      void k.call('getsockname', [r.fd]).then((sa) => { s.setAddresses(sa as Sockaddr, null); }, () => undefined);
      st.conns.add(s);
      s.once('close', () => {
        st.conns.delete(s);
        maybeClosed(srv, st);
      });
      if (srv['noDelay'] === true) s.setNoDelay(true);
      srv.emit('connection', s);
    }
  };

  proto['address'] = function (this: Obj): unknown {
    const st = stateOf(this);
    return st === undefined ? hostAddress.call(this) : st.kfd >= 0 ? st.address : null;
  };
  proto['close'] = function (this: EventEmitter & Obj, cb?: Fn): unknown {
    const st = stateOf(this);
    if (st === undefined) return hostClose.call(this, cb);
    if (st.closing || st.kfd < 0) {
      if (cb !== undefined) process.nextTick(cb, Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' }));
      return this;
    }
    if (cb !== undefined) this.once('close', cb);
    st.closing = true;
    const fd = st.kfd;
    void k.call('close', [fd]).catch(() => undefined).then(() => {
      st.kfd = -1;
      maybeClosed(this, st);
    });
    return this;
  };
  proto['getConnections'] = function (this: Obj, cb: Fn): unknown {
    const st = stateOf(this);
    if (st === undefined) return hostGetConnections.call(this, cb);
    process.nextTick(cb, null, st.conns.size);
    return this;
  };
  proto['ref'] = function (this: Obj): unknown {
    const st = stateOf(this);
    if (st === undefined) return hostRef.call(this);
    st.w.set(true);
    return this;
  };
  proto['unref'] = function (this: Obj): unknown {
    const st = stateOf(this);
    if (st === undefined) return hostUnref.call(this);
    st.w.set(false);
    return this;
  };
  // closeAllConnections / closeIdleConnections (http.Server) work on their own lists

  const dgram = require('dgram') as Obj;
  const hostCreateSocket = dgram['createSocket'] as Fn;
  dgram['createSocket'] = function (this: unknown, ...args: unknown[]): unknown {
    const t = args[0];
    const type = typeof t === 'string' ? t : (t as { type?: string } | null)?.type;
    if (type !== 'udp4') return hostCreateSocket.apply(this, args);
    return new RumpDgram(ctx, typeof args[1] === 'function' ? args[1] as Fn : undefined);
  };
}
