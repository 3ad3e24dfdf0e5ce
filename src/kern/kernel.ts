/**
 * The kernel instance: what `rump_init` builds. Any number may live in one process; each owns all
 * of its state (no module-level mutable state anywhere in the kernel).
 *
 *   const k = await Kernel.boot({ host: nodeHost(), components: [vfs, tmpfs] });
 *   const fd = await k.sys.open(k.initLwp, '/tmp/x', O_CREAT | O_RDWR, 0o644);
 *   await k.halt();
 */

import { RUMPUSER_VERSION, RUMP_MEMLIMIT, RUMPUSER_PARAM_NCPU, RUMPUSER_PARAM_HOSTNAME, RUMP_VERBOSE, Clock, type RumpUser } from '../rumpuser/rumpuser.js';
import { CalloutSet } from './callout.js';
import { orderComponents, type Component } from './component.js';
import { KernelError, errnoFromName } from './errno.js';
import { Kmem, parseMemSize } from './kmem.js';
import { Cred, Proc, type Lwp, type ProcOptions } from './proc.js';
import { Sysctl } from './sysctl.js';
import { Sysent, makeSysApi, type SysApi } from './sys.js';
import { closeFile } from './file.js';
import { kernSyscalls } from './kern_syscalls.js';
import { descripSyscalls } from './sys_descrip.js';
import { pipeSyscalls } from './sys_pipe.js';
import type { Vfs } from '../vfs/vfs.js';
import type { Net } from '../net/domain.js';
import { RB_NOSYNC } from './types.js';

export const OSTYPE = 'NetBSD';
export const OSRELEASE = '10.1';
export const OSVERSION = 'rumpkernel (TypeScript)';
export const MACHINE = 'rump';

export interface BootOptions {
  host: RumpUser;
  /** Exactly the components this kernel has (the kern core is always present). */
  components?: readonly Component[];
  /** Memory limit in bytes or with a suffix ("64m"); default: host RUMP_MEMLIMIT, else unlimited. */
  memlimit?: number | string;
  hostname?: string;
  ncpu?: number;
  /** Per-process descriptor limit (RLIMIT_NOFILE). */
  openMax?: number;
  /** Console messages at boot and halt. */
  verbose?: boolean;
}

export interface HaltOptions {
  /** reboot(2) howto flags: RB_NOSYNC skips the sync. */
  howto?: number;
}

export class Kernel {
  readonly host: RumpUser;
  readonly kmem: Kmem;
  readonly sysctl = new Sysctl();
  readonly callouts: CalloutSet;
  readonly sysent = new Sysent();
  /** Typed in-process syscall API (derived from the syscall table). */
  readonly sys: SysApi;
  readonly procs = new Map<number, Proc>();
  /** The kernel's own process (pid 0). */
  readonly proc0: Proc;
  /** An lwp of process 1 ("init", root credentials) for in-process callers. */
  readonly initLwp: Lwp;
  readonly components: Component[] = [];
  readonly ncpu: number;
  readonly openMax: number;
  readonly verbose: boolean;
  /** Realtime at boot, ms. */
  readonly boottime: number;
  hostname: string;
  /** The VFS faction, once booted with it. */
  vfs: Vfs | null = null;
  /** The socket layer (net faction), once booted with it. */
  net: Net | null = null;
  halted = false;
  /** Open files in the whole kernel (kern.maxfiles bounds it). */
  nfiles = 0;
  maxFiles = 65536;
  /** Inode numbers for pipes (pipefs). */
  nextPipeIno = 1;
  private nextPid = 2;
  private readonly haltHooks: (() => void | Promise<void>)[] = [];
  private haltPromise: Promise<void> | null = null;

  private constructor(opts: BootOptions) {
    this.host = opts.host;
    const h = opts.host;
    const memlimitParam = opts.memlimit ?? h.getparam(RUMP_MEMLIMIT);
    const memlimit = memlimitParam === undefined ? Number.MAX_SAFE_INTEGER
      : typeof memlimitParam === 'number' ? memlimitParam : parseMemSize(memlimitParam);
    if (!(memlimit > 0)) throw new KernelError('EINVAL', `memory limit ${String(memlimitParam)} must be positive`);
    this.kmem = new Kmem(h, memlimit);
    this.ncpu = opts.ncpu ?? (Number(h.getparam(RUMPUSER_PARAM_NCPU)) || 1);
    this.hostname = opts.hostname ?? h.getparam(RUMPUSER_PARAM_HOSTNAME) ?? 'rump';
    this.openMax = opts.openMax ?? 1024;
    const v = h.getparam(RUMP_VERBOSE);
    this.verbose = opts.verbose ?? (v !== undefined && v !== '' && v !== '0');
    this.boottime = h.clockMs(Clock.REALTIME);
    this.callouts = new CalloutSet(h, (e) => this.printf(`callout failed: ${String(e)}\n`));
    this.sys = makeSysApi(this);
    this.proc0 = this.newProcInternal(0, 0, Cred.root(), 'system');
    this.initLwp = this.newProcInternal(1, 0, Cred.root(), 'init').newLwp();
  }

  /** rump_init: boot a kernel with exactly the given components. */
  static async boot(opts: BootOptions): Promise<Kernel> {
    try {
      opts.host.init(RUMPUSER_VERSION, {});
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'EPROGMISMATCH';
      throw new KernelError(errnoFromName(code) === 5 ? 'EPROGMISMATCH' : (code as 'EPROGMISMATCH'), `host '${opts.host.name}' refused rumpuser version ${RUMPUSER_VERSION}: ${(e as Error).message}`);
    }
    const ordered = orderComponents(opts.components ?? []);
    const k = new Kernel(opts);
    k.initKern();
    for (const c of ordered) {
      await c.init(k);
      k.components.push(c);
    }
    if (k.verbose) k.printf(`rump kernel booted: ${k.components.map((c) => c.name).join(' ') || '(kern only)'}\n`);
    return k;
  }

  private initKern(): void {
    this.sysent.register(kernSyscalls);
    this.sysent.register(descripSyscalls);
    this.sysent.register(pipeSyscalls);
    const s = this.sysctl;
    s.create('kern.ostype', { type: 'string', value: OSTYPE, desc: 'Operating system type' });
    s.create('kern.osrelease', { type: 'string', value: OSRELEASE, desc: 'Operating system release' });
    s.create('kern.version', { type: 'string', value: `${OSTYPE} ${OSRELEASE} (${OSVERSION})`, desc: 'Kernel version' });
    s.create('kern.hostname', {
      type: 'string', writable: true, desc: 'System hostname',
      get: () => this.hostname, set: (v) => { this.hostname = v as string; },
    });
    s.create('kern.boottime', { type: 'struct', get: () => ({ sec: Math.floor(this.boottime / 1000), usec: Math.floor((this.boottime % 1000) * 1000) }) });
    s.create('kern.maxfiles', {
      type: 'int', writable: true, min: 1, desc: 'Maximum number of open files',
      get: () => this.maxFiles, set: (v) => { this.maxFiles = v as number; },
    });
    s.create('kern.nfiles', { type: 'int', get: () => this.nfiles });
    s.create('kern.nprocs', { type: 'int', get: () => this.procs.size });
    s.create('hw.machine', { type: 'string', value: MACHINE });
    s.create('hw.machine_arch', { type: 'string', value: MACHINE });
    s.create('hw.ncpu', { type: 'int', value: this.ncpu, desc: 'Number of CPUs configured' });
    s.create('hw.ncpuonline', { type: 'int', value: this.ncpu });
    s.create('hw.physmem', { type: 'quad', get: () => Math.min(this.kmem.limit, Number.MAX_SAFE_INTEGER), desc: 'Bytes of physical memory' });
    s.create('hw.usermem', { type: 'quad', get: () => Math.max(0, Math.min(this.kmem.limit, Number.MAX_SAFE_INTEGER) - this.kmem.used) });
    s.create('hw.pagesize', { type: 'int', value: 4096 });
    s.create('vm.kmem.used', { type: 'quad', get: () => this.kmem.used, desc: 'Kernel memory charged now' });
    s.create('vm.kmem.limit', {
      type: 'quad', writable: true, min: 1, get: () => this.kmem.limit, set: (v) => { this.kmem.limit = v as number; },
    });
  }

  private newProcInternal(pid: number, ppid: number, cred: Cred, comm: string): Proc {
    const p = new Proc(this, pid, ppid, cred, comm);
    this.procs.set(pid, p);
    return p;
  }

  /**
   * Create a process (rump_lwproc_rfork): its own pid, descriptor table, cwd and credentials.
   * With `parent`, the descriptor table, cwd and umask are inherited (fork semantics).
   */
  newProc(opts: ProcOptions = {}): Lwp {
    if (this.halted) throw new KernelError('ENXIO', 'the kernel has been halted');
    const parent = opts.parent;
    const cred = opts.uid !== undefined || opts.gid !== undefined || parent === undefined
      ? new Cred(opts.uid ?? 0, opts.gid ?? 0, opts.uid ?? 0, opts.gid ?? 0, opts.groups ?? [])
      : parent.cred.clone();
    const p = new Proc(this, this.nextPid++, parent?.pid ?? 1, cred, opts.comm ?? parent?.comm ?? 'rump');
    this.procs.set(p.pid, p);
    if (parent !== undefined) {
      p.umask = parent.umask;
      for (const [fd, fp] of parent.fd.entries()) p.fd.install(fd, fp, parent.fd.getCloexec(fd));
    }
    this.vfs?.procInit(p, parent ?? null);
    return p.newLwp();
  }

  /** Exit a process: close its descriptors and release its vnodes. */
  async procExit(p: Proc): Promise<void> {
    if (p.exited) return;
    p.exited = true;
    const l = p.lwps.values().next().value ?? null;
    for (const [fd] of [...p.fd.entries()]) {
      const fp = p.fd.remove(fd);
      try {
        await closeFile(fp, l);
      } catch (e) {
        this.printf(`close of descriptor ${fd} at exit of pid ${p.pid} failed: ${String(e)}\n`);
      }
    }
    this.vfs?.procExit(p);
    p.lwps.clear();
    this.procs.delete(p.pid);
  }

  /** Register work to run at halt, after file systems are synced (in reverse order). */
  onHalt(fn: () => void | Promise<void>): void {
    this.haltHooks.push(fn);
  }

  /**
   * Halt: sync and unmount file systems (unless RB_NOSYNC), detach components in reverse order,
   * stop every callout. Idempotent; concurrent callers share one halt.
   */
  halt(opts: HaltOptions = {}): Promise<void> {
    this.haltPromise ??= this.doHalt(opts.howto ?? 0);
    return this.haltPromise;
  }

  private async doHalt(howto: number): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (what: string, fn: () => void | Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
        this.printf(`halt: ${what} failed: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    };
    for (const p of [...this.procs.values()].reverse()) await attempt(`exit of pid ${p.pid}`, () => this.procExit(p));
    if (this.vfs !== null) {
      const vfs = this.vfs;
      if ((howto & RB_NOSYNC) === 0) await attempt('sync', () => vfs.syncAll(true));
      await attempt('unmount', () => vfs.unmountAll((howto & RB_NOSYNC) !== 0));
    }
    for (const h of this.haltHooks.reverse()) await attempt('halt hook', h);
    for (const c of [...this.components].reverse()) if (c.fini !== undefined) await attempt(`fini of ${c.name}`, () => c.fini!(this));
    this.callouts.haltAll();
    this.halted = true;
    if (this.verbose) this.printf('rump kernel halted\n');
    if (errors.length > 0 && this.verbose) this.printf(`halt finished with ${errors.length} error(s)\n`);
  }

  /** Kernel console output (printf). */
  printf(s: string): void {
    this.host.consoleWrite(s);
  }

  /** Milliseconds on the realtime clock (for timestamps). */
  now(): number {
    return this.host.clockMs(Clock.REALTIME);
  }

  /** Has a component of this name (or alias)? */
  hasComponent(name: string): boolean {
    return this.components.some((c) => c.name === name || (c.aliases?.includes(name) ?? false));
  }

  /** uname(3), read from the sysctl tree. */
  uname(): { sysname: string; nodename: string; release: string; version: string; machine: string } {
    return {
      sysname: this.sysctl.get('kern.ostype') as string,
      nodename: this.hostname,
      release: this.sysctl.get('kern.osrelease') as string,
      version: this.sysctl.get('kern.version') as string,
      machine: this.sysctl.get('hw.machine') as string,
    };
  }
}
