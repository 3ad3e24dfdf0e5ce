/**
 * Clocks, timers and soft scheduling for the memory host, on what browsers also have:
 * performance.now(), Date.now(), setTimeout, queueMicrotask (plus setImmediate or
 * MessageChannel for a prompt macrotask where they exist).
 *
 * Two clocks:
 *  - RealClock: MONOTONIC from performance.now(), REALTIME from Date.now() refined by it,
 *    timers on setTimeout (not unref()'d, see the Node host).
 *  - ManualClock: time stands still at 0 (REALTIME at a fixed epoch) and moves only by
 *    `advance(ms)`, which fires due timers in (due time, creation) order, letting everything the
 *    kernel does in response — promise continuations and scheduled softints — finish between
 *    one timer and the next. Deterministic: what happens depends on advance calls only.
 *
 * SoftQueue implements `schedule` with setImmediate-like ordering: FIFO, after the current job
 * and the promise continuations it made ready (a microtask-based schedule would let a softint
 * that reschedules itself starve everything else).
 */

import { Clock, HostError } from '../rumpuser.js';
import type { HostTimer } from '../rumpuser.js';
import { WallClock, delayMs, longTimer } from '../common.js';

/* ------------------------------------------------------------------------------------------ */
/* Macrotasks                                                                                  */

interface MacrotaskGlobals {
  setImmediate?: (cb: () => void) => unknown;
  MessageChannel?: new () => {
    port1: { onmessage: ((ev: unknown) => void) | null; close(): void };
    port2: { postMessage(msg: unknown): void; close(): void };
  };
}

/**
 * Run `cb` in a new macrotask, i.e. after every pending microtask. setImmediate where it exists
 * (Node), else a MessageChannel message (browsers; unlike setTimeout(0) not clamped to 4 ms),
 * else setTimeout(0).
 */
export function macrotask(cb: () => void): void {
  const g = globalThis as unknown as MacrotaskGlobals;
  if (typeof g.setImmediate === 'function') {
    g.setImmediate(cb);
  } else if (typeof g.MessageChannel === 'function') {
    const ch = new g.MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      ch.port2.close();
      cb();
    };
    ch.port2.postMessage(null);
  } else {
    setTimeout(cb, 0);
  }
}

/** A promise that resolves once all microtasks pending now (and those they queue) have run. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => macrotask(resolve));
}

/* ------------------------------------------------------------------------------------------ */
/* schedule()                                                                                  */

export class SoftQueue {
  private readonly queue: (() => void)[] = [];
  private pumpPending = false;

  schedule(fn: () => void): void {
    this.queue.push(fn);
    this.requestPump();
  }

  /** Work is queued and has not run yet. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /**
   * Wait until the host is quiescent: no microtask and no scheduled function left to run.
   * Gives up after `maxRounds` rounds (a softint that reschedules itself forever).
   */
  async settle(maxRounds = 10000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) {
      await nextMacrotask();
      if (this.queue.length === 0) return;
      // the pump may not have had its turn yet (e.g. setTimeout fallback); run the batch here
      this.pump();
    }
  }

  private requestPump(): void {
    if (this.pumpPending) return;
    this.pumpPending = true;
    macrotask(() => this.pump());
  }

  /**
   * Runs the functions queued before this pump started (later ones wait for the next pump, as
   * with setImmediate). An exception is not swallowed: the rest of the batch is re-pumped and
   * the exception escapes (an uncaught error, like a panic).
   */
  private pump(): void {
    this.pumpPending = false;
    let n = this.queue.length;
    try {
      while (n-- > 0) {
        const fn = this.queue.shift();
        fn?.();
      }
    } finally {
      if (this.queue.length > 0) this.requestPump();
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Clocks                                                                                      */

export interface MemoryClock {
  gettime(clock: Clock): bigint;
  ms(clock: Clock): number;
  timer(ms: number, fn: () => void): HostTimer;
}

function badClock(clock: Clock): never {
  throw new HostError('EINVAL', `unknown clock ${String(clock)}`);
}

interface PerformanceLike {
  now(): number;
}

function monotonicSource(): () => number {
  const perf = (globalThis as { performance?: PerformanceLike }).performance;
  if (perf !== undefined && typeof perf.now === 'function') return () => perf.now();
  // No performance.now(): Date.now(), clamped so that it never goes backwards.
  const start = Date.now();
  let last = 0;
  return () => {
    last = Math.max(last, Date.now() - start);
    return last;
  };
}

export class RealClock implements MemoryClock {
  private readonly mono = monotonicSource();
  private readonly wall = new WallClock(this.mono);

  gettime(clock: Clock): bigint {
    const monoNs = BigInt(Math.round(this.mono() * 1e6));
    switch (clock) {
      case Clock.MONOTONIC:
        return monoNs;
      case Clock.REALTIME:
        return this.wall.ns(monoNs);
      default:
        return badClock(clock);
    }
  }

  ms(clock: Clock): number {
    switch (clock) {
      case Clock.MONOTONIC:
        return this.mono();
      case Clock.REALTIME:
        return this.wall.ms();
      default:
        return badClock(clock);
    }
  }

  timer(ms: number, fn: () => void): HostTimer {
    return longTimer(ms, fn, (cb, t) => setTimeout(cb, t), (h) => clearTimeout(h));
  }
}

interface ManualTimer {
  readonly due: bigint;
  readonly seq: number;
  readonly fn: () => void;
}

function msToNs(ms: number): bigint {
  if (ms === Infinity) return BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
  return BigInt(Math.round(delayMs(ms) * 1e6));
}

export class ManualClock implements MemoryClock {
  private nowNs = 0n;
  private seq = 0;
  /** Pending timers, sorted by (due, seq). */
  private readonly timers: ManualTimer[] = [];
  /** advance() calls run one after another. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly epochMs: number) {}

  gettime(clock: Clock): bigint {
    switch (clock) {
      case Clock.MONOTONIC:
        return this.nowNs;
      case Clock.REALTIME:
        return BigInt(Math.round(this.epochMs * 1e6)) + this.nowNs;
      default:
        return badClock(clock);
    }
  }

  ms(clock: Clock): number {
    const mono = Number(this.nowNs) / 1e6;
    switch (clock) {
      case Clock.MONOTONIC:
        return mono;
      case Clock.REALTIME:
        return this.epochMs + mono;
      default:
        return badClock(clock);
    }
  }

  timer(ms: number, fn: () => void): HostTimer {
    const t: ManualTimer = { due: this.nowNs + msToNs(ms), seq: this.seq++, fn };
    // binary search for the first timer that sorts after t
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.timers[mid];
      if (m !== undefined && (m.due < t.due || (m.due === t.due && m.seq < t.seq))) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, t);
    return {
      cancel: () => {
        const i = this.timers.indexOf(t);
        if (i >= 0) this.timers.splice(i, 1);
      },
    };
  }

  /** Milliseconds from now until the earliest pending timer, or undefined if none is pending. */
  nextTimerMs(): number | undefined {
    const t = this.timers[0];
    return t === undefined ? undefined : Number(t.due - this.nowNs) / 1e6;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /**
   * Move time forward by `ms`, firing due timers in order. `settle` is awaited before the first,
   * between consecutive and after the last timer, so callbacks see the effects of earlier ones
   * finished. If a timer callback throws, advancing stops there (time stays at that timer's due
   * time) and the returned promise rejects with the exception.
   */
  advance(ms: number, settle: () => Promise<void>): Promise<void> {
    if (!(ms >= 0)) return Promise.reject(new HostError('EINVAL', `cannot advance the clock by ${String(ms)} ms`));
    const run = this.chain.then(() => this.run(msToNs(ms), settle));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run(deltaNs: bigint, settle: () => Promise<void>): Promise<void> {
    const target = this.nowNs + deltaNs;
    await settle();
    for (;;) {
      const t = this.timers[0];
      if (t === undefined || t.due > target) break;
      this.timers.shift();
      if (t.due > this.nowNs) this.nowNs = t.due;
      t.fn();
      await settle();
    }
    this.nowNs = target;
    await settle();
  }
}
