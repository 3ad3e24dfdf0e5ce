/**
 * Clocks, timers and soft scheduling for the Node host (rumpuser_clock_gettime,
 * rumpuser_clock_sleep, and the callout/softint substrate).
 *
 * MONOTONIC is process.hrtime.bigint() (nanoseconds), shifted to share its origin with
 * performance.now() — in Node both read libuv's uv_hrtime — so that `clockMs(MONOTONIC)` and
 * `clockGettime(MONOTONIC) / 1e6` agree. REALTIME is the monotonic clock plus an offset estimated
 * from Date.now() and re-estimated whenever the host's wall clock is stepped (see WallClock).
 *
 * Timers are not unref()'d: a kernel with pending callouts keeps the process alive until it is
 * halted (and its callouts cancelled), as a rump kernel's clock thread would.
 *
 * `schedule` uses setImmediate, not queueMicrotask: softints then run after the current job
 * *and* after the promise continuations it made ready, in FIFO order, and a softint that keeps
 * rescheduling itself cannot starve host I/O (microtasks would run before any I/O callback).
 * An exception thrown by a timer or softint callback is not caught: it is a kernel bug and
 * surfaces as an uncaught exception, like a panic.
 */

import { Clock, HostError } from '../rumpuser.js';
import type { HostTimer } from '../rumpuser.js';
import { WallClock, longTimer } from '../common.js';

/**
 * The hrtime reading at which performance.now() was 0, shared by all hosts in the process.
 * Measured by bracketing a performance.now() call between two hrtime readings, keeping the
 * tightest of a few tries (the first use of `performance` is slow: it loads perf_hooks).
 */
const ORIGIN_NS = ((): bigint => {
  performance.now();
  let best: bigint | undefined;
  let width: bigint | undefined;
  for (let i = 0; i < 5; i++) {
    const before = process.hrtime.bigint();
    const perfNs = BigInt(Math.round(performance.now() * 1e6));
    const after = process.hrtime.bigint();
    if (width === undefined || after - before < width) {
      width = after - before;
      best = (before + after) / 2n - perfNs;
    }
  }
  return best ?? 0n;
})();

function monoNs(): bigint {
  return process.hrtime.bigint() - ORIGIN_NS;
}

function monoMs(): number {
  return performance.now();
}

export class NodeClock {
  private readonly wall = new WallClock(monoMs);

  gettime(clock: Clock): bigint {
    switch (clock) {
      case Clock.MONOTONIC:
        return monoNs();
      case Clock.REALTIME:
        return this.wall.ns(monoNs());
      default:
        throw new HostError('EINVAL', `unknown clock ${String(clock)}`);
    }
  }

  ms(clock: Clock): number {
    switch (clock) {
      case Clock.MONOTONIC:
        return monoMs();
      case Clock.REALTIME:
        return this.wall.ms();
      default:
        throw new HostError('EINVAL', `unknown clock ${String(clock)}`);
    }
  }

  timer(ms: number, fn: () => void): HostTimer {
    return longTimer(ms, fn, (cb, t) => setTimeout(cb, t), (h) => clearTimeout(h));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timer(ms, resolve);
    });
  }

  schedule(fn: () => void): void {
    setImmediate(fn);
  }
}
