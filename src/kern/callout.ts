/**
 * callouts (timers) and softints, the kernel's deferred-work facilities.
 *
 * Both sit on host hypercalls (`timer`, `schedule`) and are tracked per kernel instance so that
 * halt can stop every one of them: a halted kernel leaves nothing running in the host.
 */

import type { HostTimer, RumpUser } from '../rumpuser/rumpuser.js';

export class Callout {
  private timer: HostTimer | null = null;
  private fn: (() => void) | null = null;

  constructor(private readonly owner: CalloutSet) {}

  /** callout_reset: (re)arm to run `fn` after `ms` milliseconds. */
  reset(ms: number, fn: () => void): void {
    this.stop();
    this.fn = fn;
    this.owner.active.add(this);
    this.timer = this.owner.host.timer(Math.max(0, ms), () => {
      this.timer = null;
      this.owner.active.delete(this);
      const f = this.fn;
      this.fn = null;
      if (f !== null) this.owner.run(f);
    });
  }

  /** callout_stop: disarm; true if it was pending. */
  stop(): boolean {
    if (this.timer === null) return false;
    this.timer.cancel();
    this.timer = null;
    this.fn = null;
    this.owner.active.delete(this);
    return true;
  }

  get pending(): boolean { return this.timer !== null; }
}

/** All callouts and softints of one kernel. */
export class CalloutSet {
  readonly active = new Set<Callout>();
  private halted = false;
  private pendingSoft = 0;

  constructor(readonly host: RumpUser, private readonly onError: (e: unknown) => void) {}

  create(): Callout {
    return new Callout(this);
  }

  /** One-shot timer; returns its cancel function (for condvar timed waits). */
  after(ms: number, fn: () => void): () => void {
    const c = this.create();
    c.reset(ms, fn);
    return () => { c.stop(); };
  }

  /** softint_schedule: run `fn` soon, outside the current call chain. */
  softint(fn: () => void): void {
    if (this.halted) return;
    this.pendingSoft++;
    this.host.schedule(() => {
      this.pendingSoft--;
      if (!this.halted) this.run(fn);
    });
  }

  run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onError(e);
    }
  }

  /** Stop everything (halt). */
  haltAll(): void {
    this.halted = true;
    for (const c of [...this.active]) c.stop();
  }

  get count(): number { return this.active.size + this.pendingSoft; }
}
