/**
 * The hijack's one connection to the rump kernel server, usable both asynchronously (callback
 * and promise APIs) and synchronously (the *Sync APIs), so every call of the program lands in
 * the same kernel process: one descriptor table, one working directory.
 *
 * A RumpClient runs in this thread (wire encoding, matching responses, errors); what differs is
 * how bytes reach the server. Two transports:
 *
 * - 'worker' (as the issue describes): a worker thread owns the socket. Requests go to it over
 *   a MessagePort; everything the server sends comes back over the same port, in order, and the
 *   worker bumps a counter in a SharedArrayBuffer with Atomics.notify. Asynchronous calls are
 *   answered through the port's 'message' event; a synchronous call sleeps in Atomics.wait on
 *   the counter and pulls messages with receiveMessageOnPort until its response is in (any
 *   asynchronous responses that arrive meanwhile are dispatched too).
 *
 * - 'direct' (the default; fewer wake-ups, see bench/hijack.ts): this thread owns the socket.
 *   Asynchronous responses come through libuv as usual. A synchronous call switches the socket
 *   to blocking mode, writes its request and reads with read(2) until its response has been
 *   dispatched, then switches back; the event loop cannot run meanwhile, so nothing else reads
 *   the socket. Every request is written with write(2) directly, so bytes never queue in libuv
 *   behind a synchronous request.
 *
 * Either way, the connection does not keep the program alive: it is referenced only while an
 * asynchronous call is outstanding.
 */

import * as net from 'node:net';
import * as fs from 'node:fs';
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { RumpClient, type ClientOptions } from '../client/client.js';
import { parseRumpUrl } from '../client/url.js';
import { KernelError, type ErrnoName } from '../kern/errno.js';
import type { SyscallName } from '../kern/syscalltable.js';

export type TransportKind = 'direct' | 'worker';

export interface SyncCall { readonly name: SyscallName; readonly args: readonly unknown[] }
/** What a call came to: `err` null and the result, or the error. */
export interface Outcome { err: unknown; res: unknown }

export interface Channel {
  readonly client: RumpClient;
  readonly kind: TransportKind;
  /** An asynchronous call; with `ref` false it does not keep the program alive (an unref'd socket's read). */
  call(name: SyscallName, args: readonly unknown[], ref?: boolean): Promise<unknown>;
  callSync(name: SyscallName, args: readonly unknown[]): unknown;
  /** Several calls sent together (pipelined), waited for together: one round trip. */
  callSyncMany(calls: readonly SyncCall[]): Outcome[];
  /** Keep the program alive (a ref'd socket waiting in the kernel) until `release`. */
  hold(): void;
  release(): void;
  /** Send a call and do not wait for it (its outcome is dropped). */
  post(name: SyscallName, args: readonly unknown[]): void;
  /** Drop the connection (the server ends the kernel process). */
  close(): void;
}

/** Host functions captured before anything is patched. */
const readSync = fs.readSync;
const writeSync = fs.writeSync;

function connectError(e: unknown, url: string): KernelError {
  const code = (e as { code?: unknown }).code;
  const detail = `cannot connect to the rump kernel server at ${url}: ${e instanceof Error ? e.message : String(e)}`;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    try {
      return new KernelError(code as ErrnoName, detail);
    } catch {
      // a host code NetBSD has no name for
    }
  }
  return new KernelError('EIO', detail);
}

function connectSocket(url: string): Promise<net.Socket> {
  const u = parseRumpUrl(url);
  const sock = u.kind === 'unix' ? net.connect({ path: u.path }) : net.connect({ host: u.host, port: u.port });
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { reject(connectError(e, url)); };
    sock.once('error', onErr);
    sock.once('connect', () => {
      sock.off('error', onErr);
      if (u.kind === 'tcp') sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

/** Shared by both transports: counting outstanding asynchronous calls for ref/unref. */
abstract class ChannelBase implements Channel {
  abstract readonly kind: TransportKind;
  client!: RumpClient;
  private asyncOutstanding = 0;

  protected abstract setRef(on: boolean): void;
  /** Read and dispatch what the server sends until `done()` holds; false if the connection died. */
  protected abstract pumpUntil(done: () => boolean, send: () => void): boolean;
  abstract close(): void;

  hold(): void {
    if (this.asyncOutstanding++ === 0) this.setRef(true);
  }

  release(): void {
    if (--this.asyncOutstanding === 0) this.setRef(false);
  }

  callSyncMany(calls: readonly SyncCall[]): Outcome[] {
    const out: Outcome[] = calls.map(() => ({ err: null, res: undefined }));
    let left = calls.length;
    const ok = this.pumpUntil(() => left === 0, () => {
      calls.forEach((c, i) => {
        this.client.callWith(c.name, c.args, (e, r) => {
          out[i]!.err = e;
          out[i]!.res = r;
          left--;
        });
      });
    });
    if (!ok || left > 0) {
      for (const [i, o] of out.entries()) {
        if (o.err === null && o.res === undefined) o.err = new KernelError('ENOTCONN', 'the connection to the rump kernel server was lost').annotate(calls[i]!.name);
      }
    }
    return out;
  }

  callSync(name: SyscallName, args: readonly unknown[]): unknown {
    const [o] = this.callSyncMany([{ name, args }]);
    if (o!.err !== null) throw o!.err;
    return o!.res;
  }

  post(name: SyscallName, args: readonly unknown[]): void {
    this.client.callWith(name, args, () => undefined);
  }

  call(name: SyscallName, args: readonly unknown[], ref = true): Promise<unknown> {
    if (ref && this.asyncOutstanding++ === 0) this.setRef(true);
    return new Promise((resolve, reject) => {
      this.client.callWith(name, args, (err, res) => {
        if (ref && --this.asyncOutstanding === 0) this.setRef(false);
        if (err !== null) reject(err);
        else resolve(res);
      });
    });
  }

  /** The handshake, asynchronously (it runs once, before the program starts). */
  protected async handshake(): Promise<void> {
    this.setRef(true);
    try {
      await this.client.handshake();
    } finally {
      this.setRef(false);
    }
  }
}

interface StreamHandle { fd?: number; setBlocking?(on: boolean): number }

class DirectChannel extends ChannelBase {
  readonly kind = 'direct';
  private readonly fd: number;
  private readonly handle: StreamHandle;
  private readonly rbuf = Buffer.allocUnsafe(256 * 1024);
  private blocking = false;

  constructor(private readonly sock: net.Socket) {
    super();
    this.handle = (sock as unknown as { _handle: StreamHandle })._handle;
    if (typeof this.handle.fd !== 'number' || this.handle.fd < 0 || typeof this.handle.setBlocking !== 'function') {
      throw new KernelError('EOPNOTSUPP', 'the direct transport needs a socket descriptor (use RUMPHIJACK_TRANSPORT=worker)');
    }
    this.fd = this.handle.fd;
  }

  static async open(url: string, opts: ClientOptions): Promise<DirectChannel> {
    const sock = await connectSocket(url);
    const ch = new DirectChannel(sock);
    ch.client = new RumpClient({
      write: (data) => ch.writeAll(data),
      end: () => sock.end(),
      destroy: () => sock.destroy(),
    }, url, opts, () => Promise.reject(new KernelError('EOPNOTSUPP', 'the hijack does not fork its connection')));
    sock.on('data', (chunk: Buffer) => { ch.client.onData(chunk); });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => { ch.client.onClose(); });
    await ch.handshake();
    return ch;
  }

  protected setRef(on: boolean): void {
    if (on) this.sock.ref();
    else this.sock.unref();
  }

  private setBlocking(on: boolean): void {
    if (this.blocking !== on) {
      this.handle.setBlocking!(on);
      this.blocking = on;
    }
  }

  /**
   * Blocking mode until the current tick ends: libuv reads the socket only from the event
   * loop, which runs after the nextTick queue, so back-to-back synchronous calls switch once.
   */
  private blockUntilTickEnds(): void {
    if (this.blocking) return;
    this.setBlocking(true);
    process.nextTick(() => { this.setBlocking(false); });
  }

  /** write(2) all of `data`; the socket is blocking for the duration. */
  private writeAll(data: Uint8Array): void {
    if (this.sock.destroyed) return;
    this.blockUntilTickEnds();
    try {
      let off = 0;
      while (off < data.byteLength) off += writeSync(this.fd, data, off, data.byteLength - off);
    } catch {
      this.sock.destroy();
    }
  }

  protected pumpUntil(done: () => boolean, send: () => void): boolean {
    // whatever libuv has read and not yet delivered comes first
    while (this.sock.readableLength > 0) {
      const ch = this.sock.read() as Buffer | null;
      if (ch === null) break;
      this.client.onData(ch);
    }
    this.blockUntilTickEnds();
    send();
    while (!done()) {
      let n: number;
      try {
        n = readSync(this.fd, this.rbuf, 0, this.rbuf.byteLength, null);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'EAGAIN' || code === 'EINTR') continue;
        n = 0;
      }
      if (n === 0) {
        this.client.onClose();
        return false;
      }
      // a copy: the decoder keeps views of what it is given until frames are complete
      this.client.onData(Uint8Array.prototype.slice.call(this.rbuf, 0, n));
    }
    return true;
  }

  close(): void {
    this.sock.destroy();
  }
}

class WorkerChannel extends ChannelBase {
  readonly kind = 'worker';
  private readonly seq: Int32Array;

  private constructor(private readonly worker: Worker, private readonly port: MessagePort, sab: SharedArrayBuffer) {
    super();
    this.seq = new Int32Array(sab);
  }

  static async open(url: string, opts: ClientOptions): Promise<WorkerChannel> {
    const sab = new SharedArrayBuffer(4);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { url, sab, port: port2 }, transferList: [port2], execArgv: [], env: process.env, stdout: false, stderr: false,
    });
    worker.unref();
    const ch = new WorkerChannel(worker, port1, sab);
    // one listener from the start: the worker's first message says whether it connected, and
    // whatever follows (the banner) must not slip past between two listeners
    let first: ((m: unknown) => void) | null = null;
    const firstMsg = new Promise<unknown>((resolve, reject) => {
      first = resolve;
      worker.once('error', reject);
      worker.once('exit', (code) => { reject(new KernelError('EIO', `the hijack's worker exited with status ${code}`)); });
    });
    port1.on('message', (m: unknown) => {
      if (first !== null) {
        const f = first;
        first = null;
        f(m);
      } else {
        ch.deliver(m);
      }
    });
    const f = (await firstMsg) as { error?: { code: string; message: string } };
    if (f.error !== undefined) {
      await worker.terminate();
      throw connectError(Object.assign(new Error(f.error.message), { code: f.error.code }), url);
    }
    ch.client = new RumpClient({
      write: (data) => {
        const copy = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
        port1.postMessage(copy, [copy.buffer as ArrayBuffer]);
      },
      end: () => port1.postMessage('end'),
      destroy: () => port1.postMessage('end'),
    }, url, opts, () => Promise.reject(new KernelError('EOPNOTSUPP', 'the hijack does not fork its connection')));
    const early = ch.early!;
    ch.early = null;
    for (const m of early) ch.deliver(m);
    port1.unref();
    await ch.handshake();
    return ch;
  }

  private early: unknown[] | null = [];

  private deliver(m: unknown): void {
    if (this.early !== null) {
      this.early.push(m);
      return;
    }
    if (m instanceof Uint8Array) this.client.onData(m);
    else if (m === 'closed') this.client.onClose();
  }

  protected setRef(on: boolean): void {
    if (on) this.port.ref();
    else this.port.unref();
  }

  protected pumpUntil(done: () => boolean, send: () => void): boolean {
    send();
    while (!done()) {
      const seen = Atomics.load(this.seq, 0);
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        this.deliver(m.message);
        if (m.message === 'closed') return false;
      }
      if (done()) break;
      Atomics.wait(this.seq, 0, seen);
    }
    return true;
  }

  close(): void {
    this.port.postMessage('end');
    void this.worker.terminate();
  }
}

/** Connect (RUMP_SERVER's URL) and handshake. */
export async function openChannel(url: string, kind: TransportKind, opts: ClientOptions = {}): Promise<Channel> {
  return kind === 'worker' ? WorkerChannel.open(url, opts) : DirectChannel.open(url, opts);
}
