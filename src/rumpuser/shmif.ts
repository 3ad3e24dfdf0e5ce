/**
 * The host half of shmif (NetBSD's shmif_user.h: rumpcomp_shmif_mmap, _watchsetup, _watchwait),
 * a narrow hypercall interface of its own beside the main contract. A host that can give the
 * kernel a shared bus implements `ShmifHost` and offers it as `host.shmif` (an optional member
 * of `RumpUser`, added here by declaration merging so the main contract stays untouched).
 *
 * A bus is a byte range shared by every kernel attached to it, in this process or another. The
 * kernel half (src/net/shmif) does all the ring work through `read`/`write` at byte offsets; the
 * host half only maps the bus, serialises writers with the bus lock, and wakes readers.
 *
 * Implementations: src/rumpuser/node/shmif.ts (a bus file, shared across processes) and
 * src/rumpuser/memory/shmif.ts (a SharedArrayBuffer, shared by kernels of one process and its
 * worker threads).
 */

/** One attachment to a bus (rumpcomp_shmif_mmap + watchsetup). */
export interface ShmifBusMapping {
  /** What it was opened as (for messages). */
  readonly path: string;
  /** Bytes in the bus, header included. */
  readonly size: number;
  /** Copy dst.length bytes at byte `off` of the bus into dst. */
  read(off: number, dst: Uint8Array): void;
  /** Copy src to byte `off` of the bus. */
  write(off: number, src: Uint8Array): void;
  /**
   * Try to take the bus lock (the lock word at byte 24 set 0 -> 1 by compare-and-swap, or the
   * host's equivalent): true when taken. Never blocks; the kernel backs off and retries.
   */
  tryLock(): boolean;
  /** Release the bus lock. */
  unlock(): void;
  /** Tell every reader of the bus that something changed (dowakeup). */
  wakeup(): void;
  /**
   * Call `fn` (soon, from the host's event loop, never inside `wakeup`) whenever the bus may
   * have changed, until the returned cancel is called. Without busy polling.
   */
  watch(fn: () => void): () => void;
  /** Let go of the bus (watches cancelled). */
  close(): void;
}

export interface ShmifHost {
  /**
   * Open (creating when missing, zero-filled to `size` bytes; default 1 MiB) the bus named
   * `path`. Throws HostError (ENOENT, EACCES, EINVAL for a bus of another size...).
   */
  open(path: string, size?: number): ShmifBusMapping;
}

declare module './rumpuser.js' {
  interface RumpUser {
    /** The shmif host half, when the host has one. */
    readonly shmif?: ShmifHost;
  }
}
