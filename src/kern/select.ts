/**
 * poll(2) support (sys_select / selinfo): objects that can become ready keep a `SelInfo`; a poll
 * that finds nothing ready records a `PollWait` with every object it looked at and sleeps until
 * one of them notifies (or the timeout callout fires). State changes call `SelInfo.notify()`.
 */

import { KernelError } from './errno.js';
import { POLLNVAL } from './file.js';
import type { Lwp } from './proc.js';
import type { PollFd } from './types.js';

export class PollWait {
  private readonly cleanups: (() => void)[] = [];
  private wakeFn: (() => void) | null = null;
  woken = false;

  /** Called by SelInfo.notify. */
  wake(): void {
    this.woken = true;
    const w = this.wakeFn;
    this.wakeFn = null;
    w?.();
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Sleep until woken; resolves immediately if already woken. */
  sleep(arm: (fire: () => void) => () => void): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = arm(() => this.wake());
      this.wakeFn = () => { cancel(); resolve(); };
    });
  }

  /** Forget every registration. */
  clear(): void {
    for (const c of this.cleanups) c();
    this.cleanups.length = 0;
  }
}

export class SelInfo {
  private readonly waiters = new Set<PollWait>();

  /** selrecord: wake `pw` at the next state change. */
  record(pw: PollWait | null): void {
    if (pw === null || this.waiters.has(pw)) return;
    this.waiters.add(pw);
    pw.onCleanup(() => this.waiters.delete(pw));
  }

  /** selnotify: the object's readiness may have changed. */
  notify(): void {
    if (this.waiters.size === 0) return;
    for (const pw of [...this.waiters]) pw.wake();
  }
}

/** Upper bound on descriptors in one poll (as NetBSD's limit by open files). */
const POLL_MAX_FDS = 65536;

export async function sysPoll(l: Lwp, fds: readonly PollFd[], timeout: number): Promise<number[]> {
  if (!Array.isArray(fds)) throw new KernelError('EINVAL', 'poll takes an array of { fd, events }');
  if (fds.length > POLL_MAX_FDS) throw new KernelError('EINVAL', `poll of ${fds.length} descriptors exceeds ${POLL_MAX_FDS}`);
  if (!Number.isInteger(timeout) || timeout < -1) throw new KernelError('EINVAL', `poll timeout ${timeout} must be -1 or a non-negative number of milliseconds`);
  const k = l.kernel;
  const revents = new Array<number>(fds.length).fill(0);
  const deadline = timeout > 0 ? k.host.clockMs(1 /* MONOTONIC */) + timeout : 0;
  for (;;) {
    const pw = timeout === 0 ? null : new PollWait();
    let ready = 0;
    for (let i = 0; i < fds.length; i++) {
      const { fd, events } = fds[i]!;
      if (fd < 0) { revents[i] = 0; continue; }
      const fp = l.proc.fd.has(fd) ? l.proc.fd.get(fd) : null;
      const r = fp === null ? POLLNVAL : fp.ops.poll(fp, events | 0, pw);
      revents[i] = r;
      if (r !== 0) ready++;
    }
    if (ready > 0 || timeout === 0 || pw === null) {
      pw?.clear();
      return revents;
    }
    let timedOut = false;
    const remaining = timeout < 0 ? -1 : deadline - k.host.clockMs(1);
    if (timeout > 0 && remaining <= 0) {
      pw.clear();
      return revents;
    }
    await pw.sleep((fire) => remaining < 0 ? () => {} : k.callouts.after(remaining, () => { timedOut = true; fire(); }));
    pw.clear();
    if (timedOut) {
      // one last look, as NetBSD does after the sleep
      return sysPoll(l, fds, 0);
    }
    if (k.halted) throw new KernelError('EINTR', 'the kernel halted during poll');
  }
}
