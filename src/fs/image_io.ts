/**
 * Image I/O for the offline file system tools (newfs_ext2fs, makefs, fsck_ext2fs, newfs): they
 * work on an image directly, not through a mounted kernel, and never touch the host themselves;
 * the caller (src/bin/*) passes an `ImageIO` with operations on byte offsets. `memoryImage` is a
 * pure in-memory one (tests, browsers). One shape for every file system's tools, so one host
 * adaptor serves them all.
 */

import { KernelError } from '../kern/errno.js';

/** An image: a byte-addressed device of fixed size. */
export interface ImageIO {
  /** Size in bytes. */
  readonly size: number;
  /** `length` bytes at `offset` (EIO past the end). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Write `data` at `offset` (EIO past the end). */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Make writes durable (optional). */
  flush?(): Promise<void>;
}

/** An image held in memory (all zeros initially, or over `bytes`). */
export function memoryImage(sizeOrBytes: number | Uint8Array): ImageIO & { readonly bytes: Uint8Array } {
  const bytes = typeof sizeOrBytes === 'number' ? new Uint8Array(sizeOrBytes) : sizeOrBytes;
  const check = (off: number, n: number, what: string): void => {
    if (!Number.isSafeInteger(off) || off < 0 || off + n > bytes.length) {
      throw new KernelError('EIO', `memory image: ${what} of ${n} bytes at ${off} is outside the ${bytes.length}-byte image`);
    }
  };
  return {
    bytes,
    size: bytes.length,
    read: async (off, n) => { check(off, n, 'read'); return bytes.slice(off, off + n); },
    write: async (off, data) => { check(off, data.length, 'write'); bytes.set(data, off); },
  };
}
