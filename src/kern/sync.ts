/**
 * The kernel's own synchronisation: mutex, rwlock and condition variable, all async.
 *
 * A rump kernel has no scheduler: concurrent "threads" are async tasks on one event loop that
 * interleave at `await`. These primitives serialise tasks across awaits. Uncontended
 * acquisition is synchronous (`tryEnter`) so hot paths can skip the promise:
 *   if (!m.tryEnter()) await m.enter();
 * Waiters are served in FIFO order (no starvation); a rwlock lets a waiting writer block new readers.
 */

type Waiter = () => void;

export class KMutex {
  private owned = false;
  private readonly waiters: Waiter[] = [];

  /** Take the mutex without waiting; false if it is held. */
  tryEnter(): boolean {
    if (this.owned) return false;
    this.owned = true;
    return true;
  }

  /** Take the mutex, waiting in FIFO order. */
  enter(): Promise<void> {
    if (!this.owned) {
      this.owned = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Release; ownership passes directly to the first waiter. */
  exit(): void {
    if (!this.owned) throw new Error('KMutex.exit: not held');
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.owned = false;
  }

  get held(): boolean { return this.owned; }

  /** Run `fn` holding the mutex. */
  async with<T>(fn: () => Promise<T> | T): Promise<T> {
    if (!this.tryEnter()) await this.enter();
    try {
      return await fn();
    } finally {
      this.exit();
    }
  }
}

export const RW_READER = 0;
export const RW_WRITER = 1;
export type RwOp = typeof RW_READER | typeof RW_WRITER;

export class KRWLock {
  private readers = 0;
  private writer = false;
  private readonly queue: { op: RwOp; wake: Waiter }[] = [];

  tryEnter(op: RwOp): boolean {
    if (op === RW_READER) {
      if (this.writer || this.queue.length > 0) return false;
      this.readers++;
      return true;
    }
    if (this.writer || this.readers > 0) return false;
    this.writer = true;
    return true;
  }

  enter(op: RwOp): Promise<void> {
    if (this.tryEnter(op)) return Promise.resolve();
    return new Promise<void>((wake) => this.queue.push({ op, wake }));
  }

  exit(): void {
    if (this.writer) this.writer = false;
    else if (this.readers > 0) this.readers--;
    else throw new Error('KRWLock.exit: not held');
    this.grant();
  }

  /** Downgrade a write hold to a read hold. */
  downgrade(): void {
    if (!this.writer) throw new Error('KRWLock.downgrade: not write-held');
    this.writer = false;
    this.readers = 1;
    this.grant();
  }

  get writeHeld(): boolean { return this.writer; }
  get readHeld(): boolean { return this.readers > 0; }

  private grant(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.op === RW_WRITER) {
        if (this.writer || this.readers > 0) return;
        this.queue.shift();
        this.writer = true;
        head.wake();
        return;
      }
      if (this.writer) return;
      this.queue.shift();
      this.readers++;
      head.wake();
    }
  }
}

/**
 * Condition variable. `wait(m)` releases the mutex, sleeps until signalled, and re-takes it.
 * `timedwait` resolves false on timeout. Timers come from the caller (the kernel's callout
 * facility) so the primitive itself needs no clock.
 */
export class KCondvar {
  private readonly waiters = new Set<Waiter>();

  async wait(m: KMutex): Promise<void> {
    const p = new Promise<void>((resolve) => this.waiters.add(resolve));
    m.exit();
    await p;
    await m.enter();
  }

  /** Wait without a mutex (single-threaded callers that re-check their predicate). */
  waitUnlocked(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.add(resolve));
  }

  /**
   * Wait until signalled or until `arm(fire)` fires; `arm` starts a timer that calls `fire` and
   * returns a function that cancels it. Resolves true when signalled, false on timeout.
   */
  async timedwait(m: KMutex | null, arm: (fire: () => void) => () => void): Promise<boolean> {
    let signalled = false;
    let waiter: Waiter = () => {};
    const p = new Promise<void>((resolve) => {
      waiter = () => { signalled = true; resolve(); };
      this.waiters.add(waiter);
    });
    const cancel = arm(() => {
      if (this.waiters.delete(waiter)) waiter();
      signalled = false;
    });
    m?.exit();
    await p;
    cancel();
    if (m !== null) await m.enter();
    return signalled;
  }

  signal(): void {
    for (const w of this.waiters) {
      this.waiters.delete(w);
      w();
      return;
    }
  }

  broadcast(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  get hasWaiters(): boolean { return this.waiters.size > 0; }
}
