/**
 * The rump kernel server's core (NetBSD's rumpuser_sp server side), transport-agnostic: the set
 * of client sessions, the prefork cookies, credential pinning, limits, and the tie to the
 * kernel's life. `serve()` (listen.ts) puts it on a unix or TCP socket.
 *
 * Halting: a successful `reboot` syscall from a client (rump.halt) or any `kernel.halt()` stops
 * the server: it refuses new connections and new syscalls at once, the kernel exits every
 * process, syncs and unmounts, and when the halt is complete the remaining connections are
 * closed and `done` resolves. `close()` stops serving without halting the kernel (the caller
 * owns it): listeners close, every client's process exits, `done` resolves.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { OSRELEASE, OSTYPE, MACHINE } from '../kern/kernel.js';
import type { HostTimer } from '../rumpuser/rumpuser.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_FRAME, PROTOCOL_VERSION, encodeBanner, type MarshalLimits } from '../client/wire/index.js';
import { Session, type Transport } from './session.js';

export interface PinnedCred {
  readonly uid: number;
  readonly gid: number;
  readonly groups?: readonly number[];
}

export interface ServerOptions {
  /** Listen on a non-loopback TCP address (anyone who reaches it gets the kernel). */
  allowRemote?: boolean;
  /** Every client gets these credentials, whatever it asks for (rump_server -u/-g). */
  cred?: PinnedCred;
  /** Most simultaneous clients (NetBSD: 256). */
  maxClients?: number;
  /** Largest frame accepted or sent, bytes (default 16 MiB). */
  maxFrame?: number;
  /** Most bytes one request reads or writes (default 8 MiB; larger reads are served short). */
  maxIo?: number;
  /** Most bytes of a string or JSON argument (default 1 MiB). */
  maxData?: number;
  /** Most requests of one client in the kernel at once (default 256). */
  maxOutstanding?: number;
  /** Most bytes buffered for one client: requests in the kernel and unsent responses (default 32 MiB, at least 64 KiB). */
  maxClientBytes?: number;
  /** A client must handshake within this time (default 10 s). */
  handshakeTimeoutMs?: number;
  /** An unclaimed prefork cookie expires after this time and its process exits (default 60 s). */
  preforkTimeoutMs?: number;
  /** Most pending prefork cookies per client (default 16). */
  maxPreforks?: number;
  /** Server log lines (connects, exits, refusals). Default: the kernel console when verbose. */
  log?: (line: string) => void;
}

interface PendingFork {
  readonly lwp: Lwp;
  readonly owner: Session;
  readonly timer: HostTimer;
}

export interface ServerStats {
  /** Connections accepted (handshaken or not). */
  accepted: number;
  /** Connections refused (server full or halting). */
  refused: number;
  /** Sessions ended for breaking the protocol. */
  protocolErrors: number;
  /** Highest number of one client's requests in the kernel at once. */
  maxOutstandingSeen: number;
  /** Times a session stopped reading because it hit a bound. */
  pauses: number;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const x = v ?? dflt;
  if (!Number.isSafeInteger(x) || x <= 0) throw new KernelError('EINVAL', `server option ${name} must be a positive integer, got ${String(v)}`);
  return x;
}

export class RumpServer {
  readonly banner: string;
  readonly limits: MarshalLimits & { readonly maxFrame: number };
  readonly cred: PinnedCred | null;
  readonly maxClients: number;
  readonly maxOutstanding: number;
  readonly maxClientBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly preforkTimeoutMs: number;
  readonly maxPreforks: number;
  readonly sessions = new Set<Session>();
  readonly stats: ServerStats = { accepted: 0, refused: 0, protocolErrors: 0, maxOutstandingSeen: 0, pauses: 0 };
  /** Sessions whose transport has not closed yet (live, ending, or refused). */
  private readonly transports = new Set<Session>();
  private transportsEmpty: (() => void) | null = null;
  /** Set once a halt began: no new connections or syscalls. */
  halting = false;
  /** The howto flags of the reboot syscall that stopped the server, or null. */
  rebootHowto: number | null = null;
  /** The URL clients connect to (set by the listener; with the bound port for tcp://...:0). */
  url = '';
  /** Resolves when the server has stopped (after a halt, or close()). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private stopped = false;
  private nextId = 1;
  private readonly preforks = new Map<string, PendingFork>();
  private readonly listeners: (() => Promise<void>)[] = [];
  private readonly logFn: (line: string) => void;

  constructor(readonly kernel: Kernel, opts: ServerOptions = {}) {
    const maxFrame = positive('maxFrame', opts.maxFrame, DEFAULT_MAX_FRAME);
    const maxIo = positive('maxIo', opts.maxIo, Math.min(DEFAULT_LIMITS.maxIo, Math.floor(maxFrame / 2)));
    const maxData = positive('maxData', opts.maxData, Math.min(DEFAULT_LIMITS.maxData, Math.floor(maxFrame / 8)));
    if (maxIo + maxData * 3 + 4096 > maxFrame) {
      throw new KernelError('EINVAL', `server option maxFrame ${maxFrame} is too small for maxIo ${maxIo} and maxData ${maxData}`);
    }
    this.limits = { maxFrame, maxIo, maxData, maxIov: DEFAULT_LIMITS.maxIov };
    this.maxClients = positive('maxClients', opts.maxClients, 256);
    this.maxOutstanding = positive('maxOutstanding', opts.maxOutstanding, 256);
    this.maxClientBytes = positive('maxClientBytes', opts.maxClientBytes, 32 << 20);
    // A session paused on unsent output resumes on the socket's 'drain', which only comes once
    // writes were refused at the socket's high-water mark (16 KiB): stay well above it.
    if (this.maxClientBytes < 64 * 1024) throw new KernelError('EINVAL', `server option maxClientBytes ${this.maxClientBytes} is below the minimum of 65536`);
    this.handshakeTimeoutMs = positive('handshakeTimeoutMs', opts.handshakeTimeoutMs, 10_000);
    this.preforkTimeoutMs = positive('preforkTimeoutMs', opts.preforkTimeoutMs, 60_000);
    this.maxPreforks = positive('maxPreforks', opts.maxPreforks, 16);
    if (opts.cred !== undefined) {
      const c = opts.cred;
      const id = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xfffffffe;
      if (!id(c.uid) || !id(c.gid) || !(c.groups ?? []).every(id)) throw new KernelError('EINVAL', `pinned credentials ${JSON.stringify(c)} are not valid ids`);
    }
    this.cred = opts.cred ?? null;
    this.logFn = opts.log ?? ((line) => { if (kernel.verbose) kernel.printf(`rump_server: ${line}\n`); });
    this.banner = encodeBanner({ version: PROTOCOL_VERSION, ostype: OSTYPE, osrelease: OSRELEASE, machine: MACHINE });
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
    if (kernel.halted) throw new KernelError('ENXIO', 'cannot serve a halted kernel');
    kernel.onHalt(() => this.onKernelHalt());
  }

  log(line: string): void {
    this.logFn(line);
  }

  /** Number of connected clients (handshaken or not). */
  get clients(): number { return this.sessions.size; }

  /** A listener registers how to stop it. */
  addListener(stop: () => Promise<void>): void {
    this.listeners.push(stop);
  }

  /** A new connection: a session, or a refusal (after the banner, with an error frame). */
  attach(t: Transport): Session {
    const s = new Session(this, t, this.nextId++);
    this.transports.add(s);
    if (this.stopped || this.halting) {
      this.stats.refused++;
      s.refuse(new KernelError('ENXIO', 'the server is shutting down'));
    } else if (this.sessions.size >= this.maxClients) {
      this.stats.refused++;
      this.log(`refused a connection: ${this.maxClients} clients already`);
      s.refuse(new KernelError('EAGAIN', `the server already has ${this.maxClients} clients`));
    } else {
      this.stats.accepted++;
      this.sessions.add(s);
      s.start();
    }
    return s;
  }

  /** Called by a session when it ends. */
  sessionGone(s: Session): void {
    this.sessions.delete(s);
  }

  /** Called by a session when its transport has closed. */
  transportGone(s: Session): void {
    this.transports.delete(s);
    if (this.transports.size === 0 && this.transportsEmpty !== null) this.transportsEmpty();
  }

  /** Hand out a cookie for a child of `s`'s process (fork semantics: a snapshot now). */
  prefork(s: Session): string {
    if (this.halting) throw new KernelError('ENXIO', 'the kernel is halting');
    if (s.cookies.size >= this.maxPreforks) throw new KernelError('EAGAIN', `${this.maxPreforks} forks of this process are already pending`);
    const parent = s.lwp!.proc;
    const lwp = this.kernel.newProc({ parent });
    const raw = new Uint8Array(16);
    this.kernel.host.getrandom(raw);
    let cookie = '';
    for (const b of raw) cookie += b.toString(16).padStart(2, '0');
    const timer = this.kernel.host.timer(this.preforkTimeoutMs, () => {
      if (this.preforks.delete(cookie)) {
        s.cookies.delete(cookie);
        this.log(`fork cookie of pid ${parent.pid} expired; pid ${lwp.proc.pid} exits`);
        void this.kernel.procExit(lwp.proc);
      }
    });
    this.preforks.set(cookie, { lwp, owner: s, timer });
    s.cookies.add(cookie);
    return cookie;
  }

  /** The child process a cookie names (once). ESRCH for an unknown or expired cookie. */
  claimPrefork(cookie: string): Lwp {
    const f = this.preforks.get(cookie);
    if (f === undefined) throw new KernelError('ESRCH', 'no pending fork has this cookie (expired, already used, or from another server)');
    this.preforks.delete(cookie);
    f.owner.cookies.delete(cookie);
    f.timer.cancel();
    return f.lwp;
  }

  /** A client's reboot succeeded: refuse new work; the kernel's halt follows. */
  beginHalt(howto: number): void {
    if (this.halting) return;
    this.rebootHowto = howto;
    this.halting = true;
    this.log('halting (reboot syscall)');
    void this.stopListening();
  }

  private onKernelHalt(): void {
    this.halting = true;
    // This runs inside the kernel's halt; finish once the whole halt is complete.
    void this.kernel.halt().then(() => this.finish(), () => this.finish());
  }

  private stopListening(): Promise<void> {
    const ls = this.listeners.splice(0);
    return Promise.all(ls.map((stop) => stop().catch(() => undefined))).then(() => undefined);
  }

  private async finish(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopListening();
    for (const s of [...this.sessions]) s.shutdown('server stopped', true);
    for (const [cookie, f] of this.preforks) {
      f.timer.cancel();
      this.preforks.delete(cookie);
      if (!this.kernel.halted) await this.kernel.procExit(f.lwp.proc).catch(() => undefined);
    }
    // connections ended with a flush get a moment to send their last frame and close
    if (this.transports.size > 0) {
      await new Promise<void>((resolve) => {
        const t = this.kernel.host.timer(1000, resolve);
        this.transportsEmpty = () => { t.cancel(); resolve(); };
      });
      this.transportsEmpty = null;
      for (const s of [...this.transports]) s.kill();
      this.transports.clear();
    }
    this.resolveDone();
  }

  /** Stop serving (listeners close, clients' processes exit); the kernel stays up. */
  async close(): Promise<void> {
    await this.finish();
    await this.done;
  }
}
