/**
 * rumpclient: a process in a remote rump kernel, reached over one connection (transport-agnostic;
 * connect.ts opens the socket).
 *
 *   const c = await rumpclientInit();                 // RUMP_SERVER=unix:///tmp/s
 *   const fd = await c.sys.open('/tmp/f', O_CREAT | O_RDWR, 0o644);
 *   await c.sys.write(fd, bytes);
 *   await c.close();
 *
 * `c.sys` has the shape of the in-process `kernel.sys` without the lwp argument: one method per
 * syscall of the table, arguments and results typed from it, errors thrown as the same
 * `KernelError` (code, errno, message, syscall, path) the kernel threw. Calls are pipelined: any
 * number may be outstanding on the connection, and each completes when the kernel is done with
 * it (a blocked read does not hold up the others). Output buffers (`read`'s) are filled in when
 * the call resolves, like the in-process API.
 *
 * When the connection is lost, outstanding and later calls fail with ENOTCONN (or the error the
 * server gave for closing it). `fork()` makes a child process (prefork cookie + a new
 * connection): it shares the open files and cwd as fork(2) would.
 */

import { KernelError } from '../kern/errno.js';
import { SYSCALLS, type SyscallName, type SysArgs, type SysResult, type SyscallSpec } from '../kern/syscalltable.js';
import {
  BannerReader, CLASS_ERROR, CLASS_REQ, CLASS_RESP, COOKIE_RE, FrameDecoder, HANDSHAKE_FORK, HANDSHAKE_GUEST,
  HDR_SIZE, PROTOCOL_VERSION, TYPE_HANDSHAKE, TYPE_PREFORK, TYPE_RAISE, TYPE_SYSCALL, beginFrame, decodeError,
  decodeHandshakeResponse, decodeResult, encodeArgs, encodeFrame, encodeHandshake, endFrame, parseBanner,
  typeName, type BannerInfo, type HandshakeResponse, type MarshalLimits, type PartsFrame,
} from './wire/index.js';
import { fromUtf8 } from './wire/buf.js';

/** The remote syscall API: `client.sys.open(path, flags, mode)`. */
export type ClientSys = { [K in SyscallName]: (...args: SysArgs<K>) => Promise<SysResult<K>> };

/** What a client needs from a connection (a net.Socket fits). */
export interface ClientTransport {
  write(data: Uint8Array): unknown;
  end(): unknown;
  destroy(): unknown;
}

export interface ClientOptions {
  /** Credentials to ask for (default root, as NetBSD's clients; a server may pin its own). */
  uid?: number;
  gid?: number;
  groups?: readonly number[];
  /** Process name in the kernel (default: the script's base name). */
  comm?: string;
  /** Connect as the child a prefork cookie names (`client.prefork()` in the parent). */
  cookie?: string;
  /** Signals the server raises on this process (reserved: the kernel sends none yet). */
  onSignal?: (signo: number) => void;
}

interface Pending {
  readonly kind: 'syscall' | 'handshake' | 'prefork';
  readonly name: string;
  readonly spec: SyscallSpec | null;
  readonly args: readonly unknown[];
  readonly pathIdx: number;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

const PRE_HANDSHAKE_MAX_FRAME = 64 * 1024;
/** Index of each syscall's path argument (-1: none), for error annotation. */
const PATH_IDX: ReadonlyMap<SyscallName, number> = new Map(
  (Object.entries(SYSCALLS) as [SyscallName, SyscallSpec][]).map(([n, spec]) => [n, spec.args.findIndex((a) => a[1] === 'path')]),
);

/** The pieces of a (small) body in one buffer. */
function join(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

class ClientSysBase {
  constructor(readonly client: RumpClient) {}
}

for (const [name, spec] of Object.entries(SYSCALLS) as [SyscallName, SyscallSpec][]) {
  const pathIdx = spec.args.findIndex((a) => a[1] === 'path');
  Object.defineProperty(ClientSysBase.prototype, name, {
    value: function (this: ClientSysBase, ...args: unknown[]): Promise<unknown> {
      return this.client.call(name, spec, pathIdx, args);
    },
    enumerable: false,
  });
}

export class RumpClient {
  readonly sys: ClientSys;
  /** The server's banner (after the handshake). */
  banner: BannerInfo | null = null;
  private hs: HandshakeResponse | null = null;
  private limits: MarshalLimits & { maxFrame: number } = {
    maxFrame: PRE_HANDSHAKE_MAX_FRAME, maxIo: 0, maxIov: 0, maxData: 0,
  };
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  private bannerReader: BannerReader | null = new BannerReader();
  private readonly decoder = new FrameDecoder(PRE_HANDSHAKE_MAX_FRAME);
  /** Why the connection is unusable (code and detail; a fresh error is made per call). */
  private dead: { code: KernelError['code']; detail: string } | null = null;
  private closedResolve!: () => void;
  /** Resolves when the connection has closed. */
  readonly closed: Promise<void>;

  /**
   * Not for direct use: `rumpclientInit` connects, constructs and handshakes. `reconnect` opens
   * another connection to the same server (for fork).
   */
  constructor(
    private readonly transport: ClientTransport,
    readonly url: string,
    private readonly opts: ClientOptions,
    private readonly reconnect: (opts: ClientOptions) => Promise<RumpClient>,
  ) {
    this.sys = new ClientSysBase(this) as unknown as ClientSys;
    this.closed = new Promise((resolve) => { this.closedResolve = resolve; });
  }

  /** Process id in the kernel. */
  get pid(): number { return this.need().pid; }
  get ppid(): number { return this.need().ppid; }
  /** Effective uid and gid the server granted (a pinning server may have overridden ours). */
  get uid(): number { return this.need().uid; }
  get gid(): number { return this.need().gid; }
  /** Most bytes one call moves (larger reads and writes are short). */
  get maxIo(): number { return this.limits.maxIo; }
  /** Calls sent and not answered yet. */
  get outstanding(): number { return this.pending.size; }

  private need(): HandshakeResponse {
    if (this.hs === null) throw new KernelError('ENOTCONN', 'the client has not completed its handshake');
    return this.hs;
  }

  private deadError(): KernelError {
    const d = this.dead!;
    return new KernelError(d.code, d.detail);
  }

  /** Send the handshake (without waiting for the banner: it is checked when it arrives). */
  async handshake(): Promise<void> {
    const o = this.opts;
    const kind = o.cookie !== undefined ? HANDSHAKE_FORK : HANDSHAKE_GUEST;
    if (o.cookie !== undefined && !COOKIE_RE.test(o.cookie)) throw new KernelError('EINVAL', 'a prefork cookie is 32 hex digits');
    const req: Record<string, unknown> = { version: PROTOCOL_VERSION };
    if (o.cookie !== undefined) req['cookie'] = o.cookie;
    if (o.uid !== undefined) req['uid'] = o.uid;
    if (o.gid !== undefined) req['gid'] = o.gid;
    if (o.groups !== undefined) req['groups'] = [...o.groups];
    if (o.comm !== undefined) req['comm'] = o.comm;
    const body = encodeHandshake(req as { version: number });
    await new Promise<unknown>((resolve, reject) => {
      this.pending.set(0, { kind: 'handshake', name: 'handshake', spec: null, args: [], pathIdx: -1, resolve, reject });
      this.transport.write(encodeFrame(0, CLASS_REQ, TYPE_HANDSHAKE, kind, body));
    });
  }

  /** A syscall (what `sys.NAME(...)` calls). */
  call(name: SyscallName, spec: SyscallSpec, pathIdx: number, args: readonly unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => { this.start(name, spec, pathIdx, args, resolve, reject); });
  }

  /**
   * A syscall whose outcome goes to `done` (error first) as soon as its response is dispatched:
   * synchronously, inside `onData`. A transport that waits for the response itself (the
   * hijack's synchronous calls) sees the result before it returns; `call` is the promise form.
   */
  callWith(name: SyscallName, args: readonly unknown[], done: (err: unknown, result?: unknown) => void): void {
    const spec: SyscallSpec = SYSCALLS[name];
    this.start(name, spec, PATH_IDX.get(name) ?? -1, args, (v) => { done(null, v); }, (e) => { done(e); });
  }

  private start(name: SyscallName, spec: SyscallSpec, pathIdx: number, args: readonly unknown[], resolve: (v: unknown) => void, reject: (e: unknown) => void): void {
    const annotate = (e: KernelError): KernelError => e.annotate(name, pathIdx >= 0 && typeof args[pathIdx] === 'string' ? args[pathIdx] as string : undefined);
    if (this.dead !== null) {
      reject(annotate(this.deadError()));
      return;
    }
    const reqno = this.nextReq++;
    let frame: Uint8Array;
    try {
      // the request carries input buffers; output buffers travel back in the response only
      let est = HDR_SIZE + 16 * args.length;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a instanceof Uint8Array) {
          if (spec.args[i]?.[1] === 'bufin') est += a.byteLength;
        } else if (typeof a === 'string') est += a.length * 3;
      }
      const w = beginFrame(reqno, CLASS_REQ, TYPE_SYSCALL, spec.num, est);
      encodeArgs(w, name, spec, args, this.limits);
      frame = endFrame(w);
      if (frame.byteLength > this.limits.maxFrame) {
        throw new KernelError('EMSGSIZE', `request of ${frame.byteLength} bytes exceeds the server's frame limit of ${this.limits.maxFrame}`);
      }
    } catch (e) {
      reject(e instanceof KernelError ? annotate(e) : e);
      return;
    }
    this.pending.set(reqno, { kind: 'syscall', name, spec, args, pathIdx, resolve, reject });
    this.transport.write(frame);
  }

  /**
   * Ask the server for a child of this process (a snapshot now: descriptors, cwd, credentials).
   * The cookie lets one new connection (`rumpclientInit(url, { cookie })`, from any host
   * process) become that child; unclaimed, it expires.
   */
  prefork(): Promise<string> {
    if (this.dead !== null) return Promise.reject(this.deadError());
    const reqno = this.nextReq++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(reqno, { kind: 'prefork', name: 'prefork', spec: null, args: [], pathIdx: -1, resolve, reject });
      this.transport.write(encodeFrame(reqno, CLASS_REQ, TYPE_PREFORK, 0));
    }) as Promise<string>;
  }

  /** fork(2): a new client whose process is a child of this one. */
  async fork(): Promise<RumpClient> {
    const cookie = await this.prefork();
    const o: ClientOptions = { cookie };
    if (this.opts.comm !== undefined) o.comm = this.opts.comm;
    if (this.opts.onSignal !== undefined) o.onSignal = this.opts.onSignal;
    return this.reconnect(o);
  }

  /** Close the connection; the server exits the process (its descriptors close). */
  async close(): Promise<void> {
    if (this.dead === null) this.abort('ENOTCONN', 'the client was closed');
    this.transport.end();
    await this.closed;
  }

  // -------------------------------------------------------------------------------------------
  // input

  /** Bytes from the server. */
  onData(chunk: Uint8Array): void {
    if (this.dead !== null && this.pending.size === 0) return;
    try {
      if (this.bannerReader !== null) {
        const r = this.bannerReader.push(chunk);
        if (r === null) return;
        this.bannerReader = null;
        const b = parseBanner(r.line);
        if (b.version !== PROTOCOL_VERSION) {
          throw new KernelError('EPROGMISMATCH', `the server speaks rumpclient protocol version ${b.version}, this client speaks version ${PROTOCOL_VERSION}`);
        }
        this.banner = b;
        chunk = r.rest;
      }
      this.decoder.push(chunk);
      for (let f = this.decoder.nextParts(); f !== null; f = this.decoder.nextParts()) this.dispatch(f);
    } catch (e) {
      const ke = e instanceof KernelError ? e : new KernelError('EPROTO', String(e));
      this.abort(ke.code, `${ke.detail ?? ke.message} (from ${this.url})`);
      this.transport.destroy();
    }
  }

  private dispatch(f: PartsFrame): void {
    if (f.cls === CLASS_REQ) {
      if (f.type === TYPE_RAISE) {
        this.opts.onSignal?.(f.word);
        return;
      }
      throw new KernelError('EPROTO', `unexpected ${typeName(f.type)} request from the server`);
    }
    const p = this.pending.get(f.reqno);
    if (p === undefined) {
      // The server ending the connection with a reason (a protocol error, a refusal).
      if (f.cls === CLASS_ERROR && f.type === TYPE_HANDSHAKE) {
        const e = decodeError(f.word, join(f.parts));
        throw new KernelError(e.code, `the server closed the connection: ${e.detail ?? e.message}`);
      }
      throw new KernelError('EPROTO', `response to request ${f.reqno}, which is not outstanding`);
    }
    this.pending.delete(f.reqno);
    if (f.cls === CLASS_ERROR) {
      const e = decodeError(f.word, join(f.parts));
      p.reject(p.kind === 'syscall' && e.syscall === undefined
        ? e.annotate(p.name, p.pathIdx >= 0 ? p.args[p.pathIdx] as string : undefined) : e);
      if (p.kind === 'handshake') this.abort(e.code, e.detail ?? e.message);
      return;
    }
    switch (p.kind) {
      case 'syscall': {
        if (f.type !== TYPE_SYSCALL || f.word !== p.spec!.num) {
          p.reject(new KernelError('EPROTO', `mismatched response to ${p.name}`));
          throw new KernelError('EPROTO', `response to ${p.name} (request ${f.reqno}) has type ${typeName(f.type)} word ${f.word}`);
        }
        let result: unknown;
        try {
          // copyout goes from the received pieces straight into the caller's buffers
          result = decodeResult(f.parts, p.name, p.spec!, p.args, this.limits);
        } catch (e) {
          p.reject(new KernelError('EPROTO', `malformed response: ${(e as KernelError).detail ?? String(e)}`).annotate(p.name));
          throw e;
        }
        p.resolve(result);
        return;
      }
      case 'handshake': {
        const hs = decodeHandshakeResponse(join(f.parts));
        this.hs = hs;
        this.limits = { maxFrame: hs.maxFrame, maxIo: hs.maxIo, maxIov: hs.maxIov, maxData: hs.maxData };
        this.decoder.maxFrame = hs.maxFrame;
        p.resolve(undefined);
        return;
      }
      case 'prefork': {
        const cookie = fromUtf8(join(f.parts), 'prefork cookie');
        if (!COOKIE_RE.test(cookie)) throw new KernelError('EPROTO', 'malformed prefork cookie from the server');
        p.resolve(cookie);
        return;
      }
    }
  }

  /** The connection closed. */
  onClose(): void {
    if (this.dead === null) this.abort('ENOTCONN', `the connection to the rump kernel server at ${this.url} was closed`);
    else this.failPending();
    this.closedResolve();
  }

  /** Make the client unusable; outstanding calls fail with this error. */
  private abort(code: KernelError['code'], detail: string): void {
    if (this.dead === null) this.dead = { code, detail };
    this.failPending();
  }

  private failPending(): void {
    const ps = [...this.pending.values()];
    this.pending.clear();
    for (const p of ps) {
      const e = this.deadError();
      p.reject(p.kind === 'syscall' ? e.annotate(p.name, p.pathIdx >= 0 ? p.args[p.pathIdx] as string : undefined) : e);
    }
  }
}
