/**
 * The Node host: rumpuser on Node.js — real files and block devices, real clocks, the platform
 * CSPRNG, stderr as the console. Import as 'rumpkernel/rumpuser/node'.
 *
 *   const host = nodeHost({ params: { RUMP_VERBOSE: '1' } });
 *
 * One area per file, as NetBSD's librumpuser: clock.ts (clocks, timers, softint scheduling),
 * file.ts (host files and block I/O), random.ts, error.ts (Node errors -> HostError).
 */

import * as os from 'node:os';
import { RUMPUSER_PARAM_HOSTNAME, RUMPUSER_PARAM_NCPU, RUMPUSER_VERSION, HostError } from '../rumpuser.js';
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
import { NodeClock } from './clock.js';
import { getFileInfo, openFile, readDir } from './file.js';
import { fillRandom } from './random.js';
import { nodeShmif } from './shmif.js';
import type { ShmifHost } from '../shmif.js';

export { NodeHostFile } from './file.js';

export interface NodeHostOptions {
  /** Parameters answered by getparam before the environment is consulted. */
  params?: Record<string, string>;
  /** Kernel console output; default: process.stderr. */
  console?: (text: string) => void;
}

export class NodeHost implements RumpUser {
  readonly name = 'node';
  readonly version = RUMPUSER_VERSION;
  /** The shmif host half: bus files (shmif.ts). */
  readonly shmif: ShmifHost = nodeShmif();

  private readonly params: Readonly<Record<string, string>>;
  private readonly out: (text: string) => void;
  private readonly clock = new NodeClock();
  private upcalls: RumpUserUpcalls = {};

  constructor(opts: NodeHostOptions = {}) {
    this.params = { ...opts.params };
    this.out = opts.console ?? ((text) => void process.stderr.write(text));
  }

  init(version: number, upcalls: RumpUserUpcalls): void {
    checkVersion(this.name, version);
    this.upcalls = upcalls;
  }

  /**
   * The host asks the kernel to stop (the rumpuser_hyperup halt upcall): what a SIGTERM handler
   * of rump_server calls. Does nothing before init or if the kernel gave no halt upcall.
   */
  requestHalt(): void {
    this.upcalls.halt?.();
  }

  /**
   * Lookup order: opts.params, then process.env, then the host's own answer for
   * _RUMPUSER_NCPU (RUMP_NCPU if set — a number, or "host" — else os.availableParallelism())
   * and _RUMPUSER_HOSTNAME (os.hostname()).
   */
  getparam(name: string): string | undefined {
    const own = Object.hasOwn(this.params, name) ? this.params[name] : undefined;
    if (own !== undefined) return own;
    const env = process.env[name];
    if (env !== undefined) return env;
    if (name === RUMPUSER_PARAM_NCPU) {
      const want = Object.hasOwn(this.params, 'RUMP_NCPU') ? this.params['RUMP_NCPU'] : process.env['RUMP_NCPU'];
      if (want !== undefined && want !== 'host' && /^[1-9][0-9]*$/.test(want)) return want;
      return String(os.availableParallelism());
    }
    if (name === RUMPUSER_PARAM_HOSTNAME) return os.hostname();
    return undefined;
  }

  clockGettime(clock: Clock): bigint {
    return this.clock.gettime(clock);
  }

  clockMs(clock: Clock): number {
    return this.clock.ms(clock);
  }

  clockSleep(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  /** setTimeout, not unref()'d: pending callouts keep the process alive until cancelled. */
  timer(ms: number, fn: () => void): HostTimer {
    return this.clock.timer(ms, fn);
  }

  /** setImmediate ordering (see clock.ts for why not a microtask). */
  schedule(fn: () => void): void {
    this.clock.schedule(fn);
  }

  getrandom(buf: Uint8Array): void {
    fillRandom(buf);
  }

  consoleWrite(text: string): void {
    this.out(text);
  }

  /** Zeroed bytes; ENOMEM when V8 cannot allocate them, EINVAL for a size that is not one. */
  malloc(size: number): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 0) throw new HostError('EINVAL', `malloc size ${String(size)}`);
    try {
      return new Uint8Array(size);
    } catch (err) {
      if (err instanceof RangeError) throw new HostError('ENOMEM', `cannot allocate ${size} bytes`);
      throw err;
    }
  }

  getfileinfo(path: string): Promise<HostFileInfo> {
    return getFileInfo(path);
  }

  open(path: string, flags: number): Promise<HostFile> {
    return openFile(path, flags);
  }

  readdir(path: string): Promise<HostDirent[]> {
    return readDir(path);
  }

  taskCreate(name: string, fn: () => Promise<void>): HostTask {
    return startTask(name, fn, (text) => this.consoleWrite(text));
  }

  exit(code: number): void {
    process.exit(code);
  }
}

export function nodeHost(opts: NodeHostOptions = {}): NodeHost {
  return new NodeHost(opts);
}
