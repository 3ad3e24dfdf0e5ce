/**
 * External storage for a regular file node (the hook etfs uses to map a host file, or a window
 * of one, into rumpfs). A node with a backing object keeps no pages: reads, writes, size and
 * truncation go to the backing. The memory file system charges nothing for its contents.
 */

export interface MemfsBacking {
  /** Read into `buf` at `offset`; resolves with the byte count (short only at the end). */
  read(buf: Uint8Array, offset: number): Promise<number>;
  /** Write `buf` at `offset`; resolves with the byte count. */
  write(buf: Uint8Array, offset: number): Promise<number>;
  /** Current size in bytes. A synchronous answer keeps getattr exact. */
  size(): Promise<number> | number;
  /** Set the size (truncate or extend). */
  truncate(size: number): Promise<void>;
  /** Push written data to stable storage (fsync of the node). */
  sync?(): Promise<void>;
}
