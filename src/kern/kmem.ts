/**
 * kmem: kernel memory accounting against the instance's limit (RUMP_MEMLIMIT, `-r`).
 *
 * JavaScript memory is garbage collected, so the kernel cannot free in the C sense; instead every
 * component that holds data on behalf of users (file contents, buffers, socket queues) charges
 * its bytes here and uncharges them when released. Allocation over the limit fails with ENOMEM
 * (or the caller's choice, e.g. ENOSPC for tmpfs) and never takes the host down.
 */

import { KernelError, type ErrnoName } from './errno.js';
import type { RumpUser } from '../rumpuser/rumpuser.js';

export class Kmem {
  /** Bytes charged now. */
  used = 0;
  /** High-water mark. */
  peak = 0;
  /** Refused allocations. */
  failures = 0;

  constructor(private readonly host: RumpUser, public limit: number) {}

  /** Would `bytes` more fit under the limit? */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.limit;
  }

  /** Charge `bytes` to the kernel, or throw `err` (ENOMEM) naming `what`. */
  charge(bytes: number, what: string, err: ErrnoName = 'ENOMEM'): void {
    if (this.used + bytes > this.limit) {
      this.failures++;
      throw new KernelError(err, `${what}: ${bytes} bytes over the kernel memory limit (${this.used}/${this.limit} used)`);
    }
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }

  uncharge(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) this.used = 0;
  }

  /** Charge and allocate zeroed host memory (rumpuser_malloc). */
  alloc(bytes: number, what: string, err: ErrnoName = 'ENOMEM'): Uint8Array {
    this.charge(bytes, what, err);
    try {
      return this.host.malloc(bytes);
    } catch {
      this.uncharge(bytes);
      this.failures++;
      throw new KernelError(err, `${what}: host could not allocate ${bytes} bytes`);
    }
  }

  free(buf: Uint8Array): void {
    this.uncharge(buf.byteLength);
  }
}

/** Parse a memory size: plain bytes or with a k/m/g suffix ("64m"), as rump_server -r. */
export function parseMemSize(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(s);
  if (m === null) throw new KernelError('EINVAL', `memory size '${s}' is not a number with an optional k/m/g suffix`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}
