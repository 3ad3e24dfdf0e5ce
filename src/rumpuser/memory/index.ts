/**
 * The memory host: rumpuser with no host at all underneath — files and block devices are
 * in-memory byte stores, the clock can be driven by hand, randomness can be seeded. It imports
 * nothing from `node:*` and uses only ECMAScript plus globalThis.crypto, performance,
 * setTimeout and queueMicrotask (setImmediate / MessageChannel when present), so it runs in a
 * browser as well as in Node. Import as 'rumpkernel/rumpuser/memory'.
 *
 *   const host = memoryHost({ manualClock: true, seed: 1 });
 *   host.addFile('/disk.img', 64 << 20, { type: 'blk' });
 *   ...
 *   await host.advance(1000); // one second passes; due callouts run
 *
 * One area per file: clock.ts (clocks, timers, manual time, softint scheduling), file.ts (the
 * in-memory tree and byte stores), random.ts.
 */

import { HostError, RUMPUSER_PARAM_HOSTNAME, RUMPUSER_PARAM_NCPU, RUMPUSER_VERSION } from '../rumpuser.js';
import type {
  Clock,
  HostDirent,
  HostFile,
  HostFileInfo,
  HostTask,
  HostTimer,
  RumpUser,
  RumpUserUpcalls,
} from '../rumpuser.js';
import { checkVersion, startTask } from '../common.js';
import { ManualClock, RealClock, SoftQueue } from './clock.js';
import type { MemoryClock } from './clock.js';
import { ByteStore, MemFs } from './file.js';
import type { MemFileType } from './file.js';
import { cryptoRandom, seededRandom } from './random.js';
import type { RandomFill } from './random.js';
import { memoryShmif } from './shmif.js';
import type { ShmifHost } from '../shmif.js';

export { ByteStore, MemHostFile } from './file.js';
export type { MemFileType } from './file.js';

/** The default REALTIME epoch of a manual clock: 2023-11-14T22:13:20Z. */
export const DEFAULT_EPOCH_MS = 1_700_000_000_000;

/** The default largest file the memory host lets grow: 4 GiB. */
export const DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024 * 1024;

export interface MemoryHostOptions {
  /** Parameters answered by getparam (there is no environment). */
  params?: Record<string, string>;
  /** Kernel console output; default: line-buffered to globalThis.console.log. */
  console?: (text: string) => void;
  /** Regular files present at start: path -> contents (copied). */
  files?: Record<string, Uint8Array>;
  /** Time moves only by advance(ms); both clocks start at 0 (REALTIME at epochMs). */
  manualClock?: boolean;
  /** REALTIME at manual time 0, in ms since 1970. Default DEFAULT_EPOCH_MS. */
  epochMs?: number;
  /** Seed for a deterministic (not cryptographic) getrandom. Default: globalThis.crypto. */
  seed?: number;
  /** Largest size a file may grow to, in bytes; beyond it writes fail with EFBIG. Default 4 GiB. */
  maxFileSize?: number;
  /** Called by exit(code); without it exit throws HostError ENOSYS. */
  onExit?: (code: number) => void;
}

export interface AddFileOptions {
  /** 'reg' (default), or 'blk' for a block device image: fixed size, cannot be truncated. */
  type?: MemFileType;
}

/** A console that hands whole lines to globalThis.console.log (kernel output comes in pieces). */
function lineConsole(): (text: string) => void {
  let partial = '';
  return (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) globalThis.console.log(line);
  };
}

export class MemoryHost implements RumpUser {
  readonly name = 'memory';
  readonly version = RUMPUSER_VERSION;
  /** The shmif host half: in-process buses on shared memory (shmif.ts). */
  readonly shmif: ShmifHost = memoryShmif((fn) => this.schedule(fn));

  private readonly params: Readonly<Record<string, string>>;
  private readonly out: (text: string) => void;
  private readonly clock: MemoryClock;
  private readonly manual: ManualClock | undefined;
  private readonly soft = new SoftQueue();
  private readonly random: RandomFill;
  private readonly fs: MemFs;
  private readonly onExit: ((code: number) => void) | undefined;
  private upcalls: RumpUserUpcalls = {};

  constructor(opts: MemoryHostOptions = {}) {
    this.params = { ...opts.params };
    this.out = opts.console ?? lineConsole();
    if (opts.manualClock === true) {
      this.manual = new ManualClock(opts.epochMs ?? DEFAULT_EPOCH_MS);
      this.clock = this.manual;
    } else {
      this.manual = undefined;
      this.clock = new RealClock();
    }
    this.random = opts.seed !== undefined ? seededRandom(opts.seed) : cryptoRandom();
    const max = opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) throw new HostError('EINVAL', `maxFileSize ${String(max)}`);
    this.fs = new MemFs(max);
    this.onExit = opts.onExit;
    for (const [path, bytes] of Object.entries(opts.files ?? {})) this.addFile(path, bytes);
  }

  /* ---- beyond the contract: the host's own file system ---------------------------------- */

  /**
   * Create (or replace) a host file: with the given contents (copied), or `size` zero bytes
   * (sparse: nothing is allocated until written). Parent directories are created as needed.
   */
  addFile(path: string, contents: Uint8Array | ArrayBuffer | number, opts: AddFileOptions = {}): void {
    let store: ByteStore;
    if (typeof contents === 'number') {
      if (!Number.isSafeInteger(contents) || contents < 0) throw new HostError('EINVAL', `file size ${String(contents)}`);
      if (contents > this.fs.maxFileSize) throw new HostError('EFBIG', `${path}: ${contents} bytes exceeds the host's limit`);
      store = new ByteStore();
      store.truncate(contents);
    } else {
      store = ByteStore.from(contents instanceof Uint8Array ? contents : new Uint8Array(contents));
    }
    this.fs.addFile(path, store, opts.type ?? 'reg');
  }

  /** Create a directory, and its parents. */
  addDirectory(path: string): void {
    this.fs.addDirectory(path);
  }

  /** A copy of a file's current contents. HostError ENOENT / EISDIR. */
  getFile(path: string): Uint8Array {
    const node = this.fs.lookup(path);
    if (node.kind === 'dir') throw new HostError('EISDIR', `${path}: is a directory`);
    return node.store.toBytes();
  }

  /** Remove a file or an empty directory; open handles keep working on the removed file. */
  removeFile(path: string): void {
    this.fs.remove(path);
  }

  /* ---- beyond the contract: the manual clock -------------------------------------------- */

  /** Whether time is driven by advance(). */
  get manualClock(): boolean {
    return this.manual !== undefined;
  }

  /**
   * Manual clock only: let `ms` milliseconds pass. Due timers fire in order of due time (then
   * creation); before the first, between two and after the last, all resulting work (promise
   * continuations, scheduled softints) runs to completion. Resolves when that is done; calls
   * made while one is running queue behind it. Rejects with what a timer callback threw, time
   * then stopping at that timer. advance(0) fires what is already due.
   */
  advance(ms: number): Promise<void> {
    if (this.manual === undefined) return Promise.reject(new HostError('EINVAL', 'advance() needs a memory host with manualClock'));
    return this.manual.advance(ms, () => this.soft.settle());
  }

  /** Manual clock only: milliseconds until the earliest pending timer, or undefined if none. */
  nextTimerMs(): number | undefined {
    return this.manual?.nextTimerMs();
  }

  /** Wait until no microtask or scheduled softint is left to run (timers are not waited for). */
  settle(): Promise<void> {
    return this.soft.settle();
  }

  /** The host asks the kernel to stop (the halt upcall given at init), if it gave one. */
  requestHalt(): void {
    this.upcalls.halt?.();
  }

  /* ---- the contract ---------------------------------------------------------------------- */

  init(version: number, upcalls: RumpUserUpcalls): void {
    checkVersion(this.name, version);
    this.upcalls = upcalls;
  }

  /**
   * opts.params, else: _RUMPUSER_NCPU from RUMP_NCPU if given as a number, else "1";
   * _RUMPUSER_HOSTNAME "memory". Anything else is undefined (there is no environment).
   */
  getparam(name: string): string | undefined {
    const own = Object.hasOwn(this.params, name) ? this.params[name] : undefined;
    if (own !== undefined) return own;
    if (name === RUMPUSER_PARAM_NCPU) {
      const want = Object.hasOwn(this.params, 'RUMP_NCPU') ? this.params['RUMP_NCPU'] : undefined;
      return want !== undefined && /^[1-9][0-9]*$/.test(want) ? want : '1';
    }
    if (name === RUMPUSER_PARAM_HOSTNAME) return 'memory';
    return undefined;
  }

  clockGettime(clock: Clock): bigint {
    return this.clock.gettime(clock);
  }

  clockMs(clock: Clock): number {
    return this.clock.ms(clock);
  }

  clockSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.clock.timer(ms, resolve);
    });
  }

  timer(ms: number, fn: () => void): HostTimer {
    return this.clock.timer(ms, fn);
  }

  /** setImmediate-like FIFO after the current job and its promise continuations (clock.ts). */
  schedule(fn: () => void): void {
    this.soft.schedule(fn);
  }

  getrandom(buf: Uint8Array): void {
    this.random(buf);
  }

  consoleWrite(text: string): void {
    this.out(text);
  }

  malloc(size: number): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0) throw new HostError('EINVAL', `malloc size ${String(size)}`);
    try {
      return new Uint8Array(size);
    } catch (err) {
      if (err instanceof RangeError) throw new HostError('ENOMEM', `cannot allocate ${size} bytes`);
      throw err;
    }
  }

  async getfileinfo(path: string): Promise<HostFileInfo> {
    return this.fs.info(path);
  }

  async open(path: string, flags: number): Promise<HostFile> {
    return this.fs.open(path, flags);
  }

  async readdir(path: string): Promise<HostDirent[]> {
    return this.fs.list(path);
  }

  taskCreate(name: string, fn: () => Promise<void>): HostTask {
    return startTask(name, fn, (text) => this.consoleWrite(text));
  }

  /** Calls opts.onExit; without one there is no process to end: HostError ENOSYS. */
  exit(code: number): void {
    if (this.onExit === undefined) throw new HostError('ENOSYS', `exit(${code}): the memory host has no process to end`);
    this.onExit(code);
  }
}

export function memoryHost(opts: MemoryHostOptions = {}): MemoryHost {
  return new MemoryHost(opts);
}
