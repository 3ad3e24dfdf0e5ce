/**
 * What the patched APIs share: the configuration, the driver (and through it the one
 * connection), the descriptor numbering of kernel files, and the open FileHandles by kernel
 * descriptor (so a stream that closes a handle's descriptor closes the handle too).
 */

import type { HijackConfig } from './config.js';
import type { Driver } from './driver.js';

export interface HandleLike {
  /** The descriptor was closed behind the handle's back (fs.close, a stream's autoClose). */
  markClosed(): void;
}

export class HijackContext {
  readonly handles = new Map<number, HandleLike>();

  constructor(readonly cfg: HijackConfig, readonly driver: Driver) {}

  /** The number the program sees for kernel descriptor `kfd`. */
  fake(kfd: number): number {
    return kfd + this.cfg.fdoff;
  }

  /** The kernel descriptor behind a number the program gave, or -1 if it is the host's. */
  kfd(fd: unknown): number {
    return typeof fd === 'number' && Number.isInteger(fd) && fd >= this.cfg.fdoff ? fd - this.cfg.fdoff : -1;
  }
}
