/**
 * shmif host half for the memory host: a bus is a SharedArrayBuffer named by a path, shared by
 * every kernel of this process (whatever host object each one has: in-process buses are
 * process-wide, as files are) and, through `shmifShareBus`/`shmifAdoptBus`, by worker threads.
 *
 * The lock word (byte 24) is taken with Atomics.compareExchange, exactly as NetBSD's kernels do
 * on their mapping. Wakeups: readers in this thread are called through their own host's
 * `schedule` (so a manual-clock host's settle() sees them); readers in other threads wait with
 * Atomics.waitAsync on the version word, which `wakeup` notifies (NetBSD's dowakeup writes that
 * word too). Nothing polls.
 *
 * Without SharedArrayBuffer (a browser page that is not cross-origin isolated) a plain
 * ArrayBuffer is used: buses then work inside one thread only.
 */

import { HostError } from '../rumpuser.js';
import type { ShmifBusMapping, ShmifHost } from '../shmif.js';

const DEFAULT_SIZE = 1024 * 1024;
const LOCK_INDEX = 24 / 4;
const WAKE_INDEX = 4 / 4;

interface MemBus {
  readonly buf: ArrayBufferLike;
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  /** Watchers in this thread. */
  readonly local: Set<() => void>;
  /** Other threads may watch: wait on the wake word too. */
  shared: boolean;
}

/** In-process buses by name (process-wide on purpose: kernels with different hosts share them). */
const BUSES = new Map<string, MemBus>();

function makeBus(buf: ArrayBufferLike): MemBus {
  return { buf, bytes: new Uint8Array(buf), words: new Int32Array(buf, 0, 8), local: new Set(), shared: false };
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 4096 || size % 4 !== 0 || size > 1 << 30) {
    throw new HostError('EINVAL', `shmif bus size ${String(size)} is not a multiple of 4 between 4 KiB and 1 GiB`);
  }
}

/** The shared memory of bus `path` (created when missing), to post to a worker thread. */
export function shmifShareBus(path: string, size = DEFAULT_SIZE): ArrayBufferLike {
  let b = BUSES.get(path);
  if (b === undefined) {
    checkSize(size);
    b = makeBus(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
    BUSES.set(path, b);
  }
  b.shared = true;
  return b.buf;
}

/** In a worker: make `buf` (from shmifShareBus in another thread) the bus called `path` here. */
export function shmifAdoptBus(path: string, buf: ArrayBufferLike): void {
  const existing = BUSES.get(path);
  if (existing !== undefined && existing.buf !== buf) throw new HostError('EEXIST', `a different in-process bus is already called '${path}'`);
  const b = existing ?? makeBus(buf);
  b.shared = true;
  BUSES.set(path, b);
}

/** Forget an in-process bus (its memory goes when the last mapping closes). */
export function shmifRemoveBus(path: string): boolean {
  return BUSES.delete(path);
}

class MemBusMapping implements ShmifBusMapping {
  private closed = false;
  private readonly cancels = new Set<() => void>();
  constructor(readonly path: string, private readonly bus: MemBus, private readonly schedule: (fn: () => void) => void) {}

  get size(): number { return this.bus.bytes.length; }

  read(off: number, dst: Uint8Array): void {
    dst.set(this.bus.bytes.subarray(off, off + dst.length));
  }

  write(off: number, src: Uint8Array): void {
    this.bus.bytes.set(src, off);
  }

  tryLock(): boolean {
    const w = this.bus.words;
    if (w.buffer instanceof ArrayBuffer) {
      if (w[LOCK_INDEX] !== 0) return false;
      w[LOCK_INDEX] = 1;
      return true;
    }
    return Atomics.compareExchange(w, LOCK_INDEX, 0, 1) === 0;
  }

  unlock(): void {
    const w = this.bus.words;
    if (w.buffer instanceof ArrayBuffer) w[LOCK_INDEX] = 0;
    else Atomics.store(w, LOCK_INDEX, 0);
  }

  wakeup(): void {
    for (const fn of this.bus.local) fn();
    if (this.bus.shared && !(this.bus.words.buffer instanceof ArrayBuffer)) Atomics.notify(this.bus.words, WAKE_INDEX);
  }

  watch(fn: () => void): () => void {
    if (this.closed) throw new HostError('EBADF', `shmif bus '${this.path}' is closed`);
    let pending = false;
    let cancelled = false;
    const fire = (): void => {
      if (pending || cancelled) return;
      pending = true;
      this.schedule(() => {
        pending = false;
        if (!cancelled) fn();
      });
    };
    this.bus.local.add(fire);
    const words = this.bus.words;
    const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number) => { async: boolean; value: unknown } }).waitAsync;
    if (this.bus.shared && !(words.buffer instanceof ArrayBuffer) && typeof waitAsync === 'function') {
      // other threads' writers: wait on the wake word, re-arm after each wakeup
      const arm = (): void => {
        if (cancelled) return;
        const r = waitAsync(words, WAKE_INDEX, Atomics.load(words, WAKE_INDEX));
        if (r.async) void (r.value as Promise<unknown>).then(() => { fire(); arm(); });
        else this.schedule(() => { fire(); arm(); });
      };
      arm();
    }
    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      this.bus.local.delete(fire);
      this.cancels.delete(cancel);
      if (this.bus.shared && !(words.buffer instanceof ArrayBuffer)) Atomics.notify(words, WAKE_INDEX);
    };
    this.cancels.add(cancel);
    return cancel;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.cancels]) c();
  }
}

/** The memory host's shmif: in-process buses; `schedule` runs watcher callbacks. */
export function memoryShmif(schedule: (fn: () => void) => void): ShmifHost {
  return {
    open(path: string, size = DEFAULT_SIZE): ShmifBusMapping {
      if (typeof path !== 'string' || path === '') throw new HostError('EINVAL', 'shmif bus name must be a non-empty string');
      let b = BUSES.get(path);
      if (b === undefined) {
        checkSize(size);
        b = makeBus(typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
        BUSES.set(path, b);
      }
      return new MemBusMapping(path, b, schedule);
    },
  };
}
