/**
 * Pieces shared by the hosts: the version handshake, tasks, long timers and the wall clock
 * estimator. Plain ECMAScript only (no `node:*`, no DOM): the memory host, which must run in a
 * browser, imports this file. Internal to src/rumpuser; not part of the public contract.
 */

import { HostError, RUMPUSER_VERSION } from './rumpuser.js';
import type { HostTask, HostTimer } from './rumpuser.js';

/** rumpuser_init's handshake: refuse a kernel built against another contract version. */
export function checkVersion(host: string, version: number): void {
  if (version !== RUMPUSER_VERSION) {
    throw new HostError(
      'EPROGMISMATCH',
      `${host} host implements rumpuser version ${RUMPUSER_VERSION}, kernel wants ${String(version)}`,
    );
  }
}

/** A delay in milliseconds as a timer takes it: NaN and negatives mean "now". */
export function delayMs(ms: number): number {
  return ms > 0 ? ms : 0;
}

/** A one-line description of something thrown, for the console. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

/**
 * rumpuser_thread_create. The task's body starts in a microtask, i.e. after the creator's
 * current synchronous job, as a new thread would (the creator never runs into the body of the
 * task it is creating). A failure is reported through `report` and `join` resolves anyway:
 * a kernel thread that dies does not take its joiner down with it.
 */
export function startTask(name: string, fn: () => Promise<void>, report: (text: string) => void): HostTask {
  const done = Promise.resolve()
    .then(fn)
    .then(
      () => undefined,
      (err: unknown) => {
        try {
          report(`rumpuser: task "${name}" failed: ${describeError(err)}\n`);
        } catch {
          /* the console itself failed; nothing more we can do */
        }
      },
    );
  return { name, join: () => done };
}

/** The longest delay setTimeout honours (a longer one fires at once, with a warning). */
export const MAX_TIMEOUT_MS = 0x7fffffff;

/**
 * A cancellable one-shot timer over setTimeout/clearTimeout that also handles delays longer
 * than MAX_TIMEOUT_MS (about 24.8 days) by re-arming in steps.
 */
export function longTimer<H>(
  ms: number,
  fn: () => void,
  set: (cb: () => void, ms: number) => H,
  clear: (handle: H) => void,
): HostTimer {
  let remaining = delayMs(ms);
  let handle: H | undefined;
  let live = true;
  const arm = (): void => {
    const step = Math.min(remaining, MAX_TIMEOUT_MS);
    remaining -= step;
    handle = set(() => {
      if (!live) return;
      if (remaining > 0) {
        arm();
        return;
      }
      live = false;
      handle = undefined;
      fn();
    }, step);
  };
  arm();
  return {
    cancel(): void {
      if (!live) return;
      live = false;
      if (handle !== undefined) clear(handle);
      handle = undefined;
    },
  };
}

/**
 * Wall clock time with sub-millisecond resolution: a monotonic clock plus an offset estimated
 * from Date.now() (which only has millisecond resolution). Every reading is checked against
 * Date.now(); when the two disagree by more than the estimator's error (the host's wall clock
 * was stepped, e.g. by NTP or the user) the offset is re-estimated, so REALTIME follows the
 * host's wall clock like CLOCK_REALTIME does (and, like it, is not monotonic).
 */
export class WallClock {
  /** realtime - monotonic, in whole microseconds (exact as a double until year 287396). */
  private offsetUs: number;

  constructor(
    private readonly monoMs: () => number,
    private readonly dateNow: () => number = () => Date.now(),
  ) {
    this.offsetUs = WallClock.estimate(this.monoMs(), this.dateNow());
  }

  /** Realtime in milliseconds (float). */
  ms(): number {
    const mono = this.monoMs();
    this.check(mono);
    return this.offsetUs / 1000 + mono;
  }

  /** Realtime in nanoseconds, given the monotonic reading in nanoseconds (exact arithmetic). */
  ns(monoNs: bigint): bigint {
    this.check(Number(monoNs) / 1e6);
    return BigInt(this.offsetUs) * 1000n + monoNs;
  }

  private static estimate(mono: number, d: number): number {
    // Date.now() truncates: true wall time lies in [d, d + 1); take the midpoint.
    return Math.round((d + 0.5 - mono) * 1000);
  }

  private check(mono: number): void {
    const d = this.dateNow();
    const r = this.offsetUs / 1000 + mono;
    if (r < d - 1 || r > d + 2) this.offsetUs = WallClock.estimate(mono, d);
  }
}
