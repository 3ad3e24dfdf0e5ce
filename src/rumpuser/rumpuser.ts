/**
 * rumpuser: the hypercall contract, the one door from a kernel instance to its host.
 *
 * Kernel code (src/kern, src/vfs, src/fs, src/net, src/dev) never imports `node:*`; everything it
 * needs from the outside world it asks of a `RumpUser` object given to it at boot. Two hosts
 * implement this contract: `node` (real files, real clocks, real randomness) and `memory`
 * (no host files, block devices backed by ArrayBuffers, optional manual clock; runs in a browser).
 *
 * Modelled on NetBSD's rumpuser.h (version 17): versioned, errors are returned (here: thrown as
 * `HostError` carrying an errno name) rather than set in a global, block I/O is asynchronous with a
 * completion (here: a promise), and host objects (files, timers, tasks) are opaque handles.
 */

/** The contract version a kernel is built against; a host refuses any other in `init`. */
export const RUMPUSER_VERSION = 17;

/** Parameters a host can be asked for, as `rumpuser_getparam`. */
export const RUMPUSER_PARAM_NCPU = '_RUMPUSER_NCPU';
export const RUMPUSER_PARAM_HOSTNAME = '_RUMPUSER_HOSTNAME';
export const RUMP_MEMLIMIT = 'RUMP_MEMLIMIT';
export const RUMP_VERBOSE = 'RUMP_VERBOSE';

export const enum Clock {
  /** Wall clock time (CLOCK_REALTIME). */
  REALTIME = 0,
  /** Monotonic time since an arbitrary origin (CLOCK_MONOTONIC). */
  MONOTONIC = 1,
}

/** What a host path is, as `rumpuser_getfileinfo` reports it. */
export type HostFileType = 'reg' | 'blk' | 'chr' | 'dir' | 'other';

export interface HostFileInfo {
  readonly size: number;
  readonly type: HostFileType;
}

/** Open flags for `open`, as RUMPUSER_OPEN_*. */
export const RUMPUSER_OPEN_RDONLY = 0x0000;
export const RUMPUSER_OPEN_WRONLY = 0x0001;
export const RUMPUSER_OPEN_RDWR = 0x0002;
export const RUMPUSER_OPEN_ACCMODE = 0x0003;
export const RUMPUSER_OPEN_CREATE = 0x0004;
export const RUMPUSER_OPEN_EXCL = 0x0008;
/** Open for block I/O (the host may bypass its own cache where it can). */
export const RUMPUSER_OPEN_BIO = 0x0010;

/** An open host file. Opaque to the kernel beyond these operations. */
export interface HostFile {
  /** The path it was opened with (for messages only). */
  readonly path: string;
  /** Current size in bytes. */
  size(): Promise<number>;
  /**
   * Asynchronous block I/O (rumpuser_bio): read into or write from `buf` at byte `offset`.
   * Resolves with the byte count transferred, which is short only at end of file on read.
   */
  read(buf: Uint8Array, offset: number): Promise<number>;
  write(buf: Uint8Array, offset: number): Promise<number>;
  /** Change the file size (used by etfs regular files and image tools). */
  truncate(size: number): Promise<void>;
  /** Flush to stable storage (rumpuser_syncfd). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** A host directory listing entry, for etfs directory mappings. */
export interface HostDirent {
  readonly name: string;
  readonly type: HostFileType;
}

/** A cancellable host timer. */
export interface HostTimer {
  cancel(): void;
}

/** A concurrently running task (rumpuser_thread_create); `join` waits for it. */
export interface HostTask {
  readonly name: string;
  join(): Promise<void>;
}

/**
 * Errors thrown by a host carry an errno *name* (ENOENT, EACCES, ...); the kernel turns it into
 * its own numbering. Hosts never throw anything else for an expected failure.
 */
export class HostError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'HostError';
    this.code = code;
  }
}

/** Upcalls the kernel gives its host at init (rumpuser_hyperup). */
export interface RumpUserUpcalls {
  /** Called when the host wants the kernel to stop (e.g. SIGTERM); the kernel halts cleanly. */
  halt?(): void;
}

/** The hypercall interface. */
export interface RumpUser {
  /** Host implementation name: 'node', 'memory', ... */
  readonly name: string;
  /** Contract version implemented by the host. */
  readonly version: number;

  /** rumpuser_init: refuses (throws HostError EPROGMISMATCH) a kernel built for another version. */
  init(version: number, upcalls: RumpUserUpcalls): void;

  /** rumpuser_getparam: string value of a host parameter, or undefined when not set. */
  getparam(name: string): string | undefined;

  /** rumpuser_clock_gettime: nanoseconds as a bigint. */
  clockGettime(clock: Clock): bigint;
  /** Milliseconds (float) on the given clock: the cheap form for timers and timestamps. */
  clockMs(clock: Clock): number;
  /** rumpuser_clock_sleep: resolves after `ms` milliseconds of the monotonic clock. */
  clockSleep(ms: number): Promise<void>;
  /** Run `fn` once after `ms` milliseconds (callouts are built on this). */
  timer(ms: number, fn: () => void): HostTimer;
  /** Run `fn` soon, after the current job (softints are built on this). */
  schedule(fn: () => void): void;

  /** rumpuser_getrandom: fill `buf` with random bytes. */
  getrandom(buf: Uint8Array): void;

  /** rumpuser_putchar / rumpuser_dprintf: kernel console output. */
  consoleWrite(text: string): void;

  /**
   * rumpuser_malloc: allocate `size` zeroed bytes of host memory. The kernel accounts allocations
   * against its own limit before calling this; a host may additionally refuse (HostError ENOMEM).
   */
  malloc(size: number): Uint8Array;

  /** rumpuser_getfileinfo: what a host path is and how large. HostError ENOENT etc. */
  getfileinfo(path: string): Promise<HostFileInfo>;
  /** rumpuser_open: open a host file. */
  open(path: string, flags: number): Promise<HostFile>;
  /** List a host directory (etfs directory mappings). */
  readdir(path: string): Promise<HostDirent[]>;

  /** rumpuser_thread_create: start a concurrent task; errors in it are reported to the console. */
  taskCreate(name: string, fn: () => Promise<void>): HostTask;

  /** rumpuser_exit: the kernel asks the host process to end (only rump_server uses this). */
  exit(code: number): void;
}
