/**
 * One client connection of a rump kernel server: the protocol state machine, transport-agnostic.
 *
 * Life of a session: the server writes the banner; the client's first frame must be a handshake
 * (within the handshake timeout), which makes the session a kernel process — a new one with the
 * stated (or pinned) credentials, or the child a prefork cookie names. Then every request frame is
 * dispatched at once, concurrently with the others: a syscall that blocks in the kernel (a pipe
 * read) does not hold up the client's other calls. Responses go out in completion order, each
 * echoing its request number. When the connection ends the process exits, which closes its
 * descriptors; a syscall still running then (a blocked read) completes into the void, and
 * whatever it installed in the descriptor table is closed when it settles.
 *
 * Bounds, per session: at most `maxOutstanding` requests in the kernel, and at most
 * `maxClientBytes` of request bodies, output buffers and unsent responses. At either bound the
 * session stops reading from its transport (backpressure: nothing is dropped, the client just
 * waits); the unread bytes stay in the host's socket buffer. Frames are capped at `maxFrame`
 * and a partial frame is only buffered as far as the client sent it. A protocol violation (a bad
 * header, a frame of a reserved type, anything before the handshake but a handshake) gets an
 * error frame saying what was wrong and ends this connection only. A well-framed request that
 * cannot be served (unknown syscall number: ENOSYS; malformed arguments: EINVAL) gets an error
 * response and the connection carries on.
 */

import { KernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import { closeFile } from '../kern/file.js';
import { syscallByNumber } from '../kern/sys.js';
import { SYSCALLS_BY_NUM, type SyscallName, type SyscallSpec } from '../kern/syscalltable.js';
import type { HostTimer } from '../rumpuser/rumpuser.js';
import {
  CLASS_ERROR, CLASS_REQ, CLASS_RESP, FrameDecoder, HANDSHAKE_FORK, HANDSHAKE_GUEST, HDR_SIZE, PROTOCOL_VERSION,
  TYPE_HANDSHAKE, TYPE_PREFORK, TYPE_SYSCALL, beginFrame, copyoutLength, decodeArgs, decodeHandshake, encodeError,
  encodeFrame, encodeHandshakeResponse, encodeResult, encodeResultValue, endFrame, fixedResultSize, outputArg, typeName,
  type Frame, type OutAlloc,
} from '../client/wire/index.js';
import { utf8, Writer } from '../client/wire/buf.js';
import type { RumpServer } from './server.js';

/** What a session needs from a connection (a net.Socket fits). */
export interface Transport {
  write(data: Uint8Array): unknown;
  /** Bytes accepted by `write` and not yet handed to the host. */
  readonly writableLength: number;
  /** Stop delivering data until `resume`. */
  pause(): unknown;
  resume(): unknown;
  /** Close after what was written has been sent. */
  end(): unknown;
  /** Close now. */
  destroy(): unknown;
}

const REBOOT_NUM = 208;

type State = 'handshake' | 'ready' | 'closed';

function outBytes(spec: SyscallSpec, args: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < spec.args.length; i++) {
    const tag = spec.args[i]![1];
    if (tag === 'bufout') n += (args[i] as Uint8Array).byteLength;
    else if (tag === 'iovout') for (const b of args[i] as Uint8Array[]) n += b.byteLength;
  }
  return n;
}

export class Session {
  private state: State = 'handshake';
  private readonly decoder: FrameDecoder;
  /** The session's process (after the handshake). */
  lwp: Lwp | null = null;
  /** Requests in the kernel now. */
  outstanding = 0;
  /** Bytes of request bodies and output buffers of outstanding requests. */
  inflightBytes = 0;
  /** Requests served (responses and error responses sent). */
  served = 0;
  /** Prefork cookies this session handed out that are still pending. */
  readonly cookies = new Set<string>();
  private paused = false;
  private pumping = false;
  private handshakeTimer: HostTimer | null = null;
  private killTimer: HostTimer | null = null;
  private procExited: Promise<void> | null = null;
  /** Why the session ended (for the server's log). */
  closeReason: string | null = null;

  constructor(readonly server: RumpServer, readonly transport: Transport, readonly id: number) {
    this.decoder = new FrameDecoder(server.limits.maxFrame);
  }

  get closed(): boolean { return this.state === 'closed'; }
  get pid(): number | null { return this.lwp?.proc.pid ?? null; }

  /** Send the banner and wait for the handshake. */
  start(): void {
    this.transport.write(utf8(this.server.banner));
    this.handshakeTimer = this.server.kernel.host.timer(this.server.handshakeTimeoutMs, () => {
      this.handshakeTimer = null;
      if (this.state === 'handshake') this.fail(0, new KernelError('ETIMEDOUT', `no handshake within ${this.server.handshakeTimeoutMs} ms`));
    });
  }

  /** Refuse the connection right after the banner (server full, halting). */
  refuse(e: KernelError): void {
    this.transport.write(utf8(this.server.banner));
    this.fail(0, e);
  }

  onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    this.decoder.push(chunk);
    this.pump();
  }

  /** The transport flushed its output: maybe take more requests. */
  onDrain(): void {
    this.pump();
  }

  /** The transport closed (peer went away, or after our own end/destroy). */
  onClose(): void {
    if (this.killTimer !== null) {
      this.killTimer.cancel();
      this.killTimer = null;
    }
    this.shutdown('connection closed by the client');
    this.server.transportGone(this);
  }

  /** Close the transport now (server stopping and the peer did not close in time). */
  kill(): void {
    if (this.killTimer !== null) {
      this.killTimer.cancel();
      this.killTimer = null;
    }
    this.shutdown('server stopped');
    this.transport.destroy();
  }

  private overloaded(): boolean {
    const s = this.server;
    return this.outstanding >= s.maxOutstanding || this.inflightBytes + this.transport.writableLength >= s.maxClientBytes;
  }

  /** Take frames from the decoder while under the bounds. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state !== 'closed') {
        if (this.overloaded()) {
          if (!this.paused) {
            this.paused = true;
            this.server.stats.pauses++;
            this.transport.pause();
          }
          return;
        }
        let f: Frame | null;
        try {
          f = this.decoder.next();
        } catch (e) {
          this.fail(0, e as KernelError);
          return;
        }
        if (f === null) break;
        this.handle(f);
      }
      if (this.paused && this.state !== 'closed') {
        this.paused = false;
        this.transport.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  private handle(f: Frame): void {
    if (f.cls !== CLASS_REQ) {
      this.fail(f.reqno, new KernelError('EPROTO', `unexpected ${f.cls === CLASS_RESP ? 'response' : 'error'} frame from a client`));
      return;
    }
    if (this.state === 'handshake') {
      if (f.type !== TYPE_HANDSHAKE) {
        this.fail(f.reqno, new KernelError('EPROTO', `expected a handshake, got a ${typeName(f.type)} frame`));
        return;
      }
      this.handshake(f);
      return;
    }
    switch (f.type) {
      case TYPE_SYSCALL:
        this.syscall(f);
        return;
      case TYPE_PREFORK:
        this.prefork(f);
        return;
      case TYPE_HANDSHAKE:
        this.fail(f.reqno, new KernelError('EPROTO', 'a second handshake on one connection'));
        return;
      default:
        this.fail(f.reqno, new KernelError('EPROTO', `${typeName(f.type)} frames are not part of this protocol (reserved type ${f.type})`));
    }
  }

  // -------------------------------------------------------------------------------------------
  // handshake and prefork

  private handshake(f: Frame): void {
    if (this.handshakeTimer !== null) {
      this.handshakeTimer.cancel();
      this.handshakeTimer = null;
    }
    const s = this.server;
    try {
      if (f.word !== HANDSHAKE_GUEST && f.word !== HANDSHAKE_FORK) {
        throw new KernelError('EOPNOTSUPP', `handshake kind ${f.word} is not supported (guest 0 and fork 2 are)`);
      }
      const req = decodeHandshake(f.body);
      if (req.version !== PROTOCOL_VERSION) {
        throw new KernelError('EPROGMISMATCH', `client speaks protocol version ${req.version}, this server speaks version ${PROTOCOL_VERSION}`);
      }
      if (s.halting) throw new KernelError('ENXIO', 'the kernel is halting');
      let lwp: Lwp;
      if (f.word === HANDSHAKE_FORK) {
        if (req.cookie === undefined) throw new KernelError('EINVAL', 'fork handshake without a cookie');
        lwp = s.claimPrefork(req.cookie);
        if (req.comm !== undefined) lwp.proc.comm = req.comm;
      } else {
        const pin = s.cred;
        lwp = s.kernel.newProc({
          uid: pin?.uid ?? req.uid ?? 0,
          gid: pin?.gid ?? req.gid ?? 0,
          groups: pin !== null ? (pin.groups ?? []) : (req.groups ?? []),
          comm: req.comm ?? 'rumpclient',
        });
      }
      this.lwp = lwp;
      this.state = 'ready';
      const p = lwp.proc;
      const l = s.limits;
      this.transport.write(encodeFrame(f.reqno, CLASS_RESP, TYPE_HANDSHAKE, 0, encodeHandshakeResponse({
        pid: p.pid, ppid: p.ppid, uid: p.cred.euid, gid: p.cred.egid,
        maxFrame: l.maxFrame, maxIo: l.maxIo, maxIov: l.maxIov, maxData: l.maxData,
      })));
      s.log(`client ${this.id}: pid ${p.pid} (${p.comm}, uid ${p.cred.euid} gid ${p.cred.egid})${f.word === HANDSHAKE_FORK ? `, forked from pid ${p.ppid}` : ''}`);
    } catch (e) {
      this.fail(f.reqno, e instanceof KernelError ? e : new KernelError('EIO', `handshake failed: ${String(e)}`));
    }
  }

  private prefork(f: Frame): void {
    try {
      const cookie = this.server.prefork(this);
      this.transport.write(encodeFrame(f.reqno, CLASS_RESP, TYPE_PREFORK, 0, utf8(cookie)));
    } catch (e) {
      this.sendError(f.reqno, TYPE_PREFORK, e instanceof KernelError ? e : new KernelError('EIO', String(e)));
    }
  }

  // -------------------------------------------------------------------------------------------
  // syscalls

  private syscall(f: Frame): void {
    const num = f.word;
    const ent = SYSCALLS_BY_NUM.get(num);
    if (ent === undefined) {
      this.sendError(f.reqno, TYPE_SYSCALL, new KernelError('ENOSYS', `unknown syscall number ${num}`));
      return;
    }
    const { name, spec } = ent;
    if (this.server.halting) {
      this.sendError(f.reqno, TYPE_SYSCALL, new KernelError('ENXIO', 'the kernel is halting').annotate(name));
      return;
    }
    // With a fixed-size result and one output buffer, the response's layout is known now: the
    // kernel fills the response frame in place (header, result, u32 count, then the data).
    let pre: { frame: Uint8Array; dataOff: number } | null = null;
    let alloc: OutAlloc | undefined;
    const rsize = fixedResultSize(spec.ret);
    if (rsize !== null && outputArg(spec) >= 0) {
      const dataOff = HDR_SIZE + rsize + 4;
      alloc = (lens) => {
        let total = 0;
        for (const n of lens) total += n;
        const frame = new Uint8Array(dataOff + total);
        pre = { frame, dataOff };
        let o = dataOff;
        return lens.map((n) => { const b = frame.subarray(o, o + n); o += n; return b; });
      };
    }
    let args: unknown[];
    try {
      args = decodeArgs(f.body, name, spec, this.server.limits, alloc);
    } catch (e) {
      const ke = e instanceof KernelError ? e : new KernelError('EINVAL', `malformed arguments: ${String(e)}`);
      this.sendError(f.reqno, TYPE_SYSCALL, ke.annotate(name));
      return;
    }
    const cost = f.len + outBytes(spec, args);
    this.outstanding++;
    this.inflightBytes += cost;
    const st = this.server.stats;
    if (this.outstanding > st.maxOutstandingSeen) st.maxOutstandingSeen = this.outstanding;
    const reqno = f.reqno;
    const prepared: { frame: Uint8Array; dataOff: number } | null = pre;
    syscallByNumber(this.server.kernel, this.lwp!, num, args).then(
      (result) => {
        this.settle(cost);
        this.reply(reqno, num, name, spec, args, result, prepared);
      },
      (e: unknown) => {
        this.settle(cost);
        this.replyError(reqno, num, name, e);
      },
    );
  }

  private reply(reqno: number, num: number, name: SyscallName, spec: SyscallSpec, args: unknown[], result: unknown,
    prepared: { frame: Uint8Array; dataOff: number } | null): void {
    if (num === REBOOT_NUM) this.server.beginHalt(args[0] as number);
    if (this.state === 'closed') return;
    let frame: Uint8Array;
    try {
      if (prepared !== null) {
        const { frame: buf, dataOff } = prepared;
        const n = copyoutLength(spec, result, buf.byteLength - dataOff);
        const w = new Writer(0, buf);
        w.u64(dataOff + n);
        w.u64(reqno);
        w.u16(CLASS_RESP);
        w.u16(TYPE_SYSCALL);
        w.u32(num);
        encodeResultValue(w, name, spec, result, this.server.limits);
        if (w.pos !== dataOff - 4) throw new KernelError('EIO', `${name}: result of unexpected size`);
        w.u32(n);
        frame = buf.subarray(0, dataOff + n);
      } else {
        const w = beginFrame(reqno, CLASS_RESP, TYPE_SYSCALL, num, HDR_SIZE + (fixedResultSize(spec.ret) ?? 256) + outBytes(spec, args) + 8);
        encodeResult(w, name, spec, args, result, this.server.limits);
        frame = endFrame(w);
      }
    } catch (e) {
      this.replyError(reqno, num, name, e);
      return;
    }
    this.served++;
    this.transport.write(frame);
    this.pump();
  }

  private replyError(reqno: number, num: number, name: SyscallName, e: unknown): void {
    if (this.state === 'closed') return;
    let ke: KernelError;
    if (e instanceof KernelError) {
      ke = e;
    } else {
      ke = new KernelError('EIO', `internal error in ${name}: ${e instanceof Error ? e.message : String(e)}`).annotate(name);
      this.server.log(`client ${this.id}: ${name} failed with a non-kernel error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    this.sendError(reqno, TYPE_SYSCALL, ke);
    this.pump();
  }

  private settle(cost: number): void {
    this.outstanding--;
    this.inflightBytes -= cost;
    if (this.state === 'closed' && this.outstanding === 0) this.sweep();
  }

  private sendError(reqno: number, type: number, e: KernelError): void {
    if (this.state === 'closed') return;
    const { errno, body } = encodeError(e);
    this.served++;
    this.transport.write(encodeFrame(reqno, CLASS_ERROR, type, errno, body));
  }

  // -------------------------------------------------------------------------------------------
  // ending

  /** A protocol violation: say what was wrong, then end this connection. */
  private fail(reqno: number, e: KernelError): void {
    if (this.state === 'closed') return;
    this.server.stats.protocolErrors++;
    const { errno, body } = encodeError(e);
    this.transport.write(encodeFrame(reqno, CLASS_ERROR, TYPE_HANDSHAKE, errno, body));
    this.shutdown(e.message, true);
  }

  /**
   * End the session: stop reading, exit its process (closing its descriptors). With `flush`,
   * what was written is sent before the connection closes (an error frame explaining why).
   */
  shutdown(reason: string, flush = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.decoder.clear();
    if (this.handshakeTimer !== null) {
      this.handshakeTimer.cancel();
      this.handshakeTimer = null;
    }
    if (flush) {
      this.transport.end();
      // a peer that never reads (or never closes) must not keep the connection open
      this.killTimer = this.server.kernel.host.timer(2000, () => {
        this.killTimer = null;
        this.transport.destroy();
      });
    } else {
      this.transport.destroy();
    }
    this.server.sessionGone(this);
    const l = this.lwp;
    if (l !== null) {
      this.server.log(`client ${this.id}: pid ${l.proc.pid} exits (${reason})`);
      const k = this.server.kernel;
      this.procExited = k.procExit(l.proc).catch((e: unknown) => {
        this.server.log(`client ${this.id}: exit of pid ${l.proc.pid} failed: ${String(e)}`);
      });
      if (this.outstanding === 0) this.sweep();
    }
  }

  /** After exit: close descriptors that syscalls still running at exit installed. */
  private sweep(): void {
    const l = this.lwp;
    if (l === null || this.procExited === null) return;
    const p = l.proc;
    void this.procExited.then(async () => {
      for (const [fd] of [...p.fd.entries()]) {
        const fp = p.fd.remove(fd);
        await closeFile(fp, null).catch(() => undefined);
      }
    });
  }
}
