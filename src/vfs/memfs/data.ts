/**
 * File contents of an in-memory regular file: a sparse array of fixed-size pages.
 *
 * Invariants:
 *  - a page index absent from the map is a hole and reads as zeros; holes cost no memory;
 *  - every byte of a present page at or past `size` is zero (truncation zeroes the tail of the
 *    last page), so extending the file never exposes old data;
 *  - every present page was obtained from the `PageAllocator` (which charges kernel memory and
 *    the mount's size limit) and is given back to it when dropped.
 *
 * Everything here is synchronous: memory file systems never block on their data.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** Where pages come from: charges on allocation (throws ENOSPC when full), uncharges on free. */
export interface PageAllocator {
  allocPage(): Uint8Array;
  freePage(page: Uint8Array): void;
}

export class PageStore {
  private readonly pages = new Map<number, Uint8Array>();
  /** File size in bytes (may exceed the pages present: the rest is holes). */
  size = 0;

  constructor(private readonly allocator: PageAllocator) {}

  /** Pages present (allocated). */
  get pageCount(): number {
    return this.pages.size;
  }

  /** Bytes allocated. */
  get bytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  /** Is page `index` allocated? (For tests and SEEK_HOLE style queries.) */
  hasPage(index: number): boolean {
    return this.pages.has(index);
  }

  /** Read up to `buf.length` bytes at `offset`; short only at end of file. */
  read(buf: Uint8Array, offset: number): number {
    if (offset >= this.size || buf.length === 0) return 0;
    const n = Math.min(buf.length, this.size - offset);
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const idx = Math.floor(pos / PAGE_SIZE);
      const inPage = pos - idx * PAGE_SIZE;
      const chunk = Math.min(PAGE_SIZE - inPage, n - done);
      const page = this.pages.get(idx);
      if (page === undefined) buf.fill(0, done, done + chunk);
      else buf.set(page.subarray(inPage, inPage + chunk), done);
      done += chunk;
    }
    return n;
  }

  /**
   * Write `buf` at `offset`, allocating pages as needed and extending `size`. When the allocator
   * refuses a page part way, the bytes written so far count (a short write); if none could be
   * written the allocator's error is thrown.
   */
  write(buf: Uint8Array, offset: number): number {
    const n = buf.length;
    let done = 0;
    try {
      while (done < n) {
        const pos = offset + done;
        const idx = Math.floor(pos / PAGE_SIZE);
        const inPage = pos - idx * PAGE_SIZE;
        const chunk = Math.min(PAGE_SIZE - inPage, n - done);
        let page = this.pages.get(idx);
        if (page === undefined) {
          page = this.allocator.allocPage();
          this.pages.set(idx, page);
        }
        page.set(buf.subarray(done, done + chunk), inPage);
        done += chunk;
      }
    } catch (e) {
      if (done === 0) throw e;
    }
    if (offset + done > this.size) this.size = offset + done;
    return done;
  }

  /** Set the size: shrinking frees whole pages past the end and zeroes the tail; growing is sparse. */
  truncate(newSize: number): void {
    if (newSize < this.size) {
      const keep = Math.ceil(newSize / PAGE_SIZE);
      const oldPages = Math.ceil(this.size / PAGE_SIZE);
      if (oldPages - keep < this.pages.size) {
        for (let i = keep; i < oldPages; i++) this.drop(i);
      } else {
        for (const i of [...this.pages.keys()]) if (i >= keep) this.drop(i);
      }
      const lastIdx = Math.floor(newSize / PAGE_SIZE);
      const inPage = newSize - lastIdx * PAGE_SIZE;
      if (inPage !== 0) this.pages.get(lastIdx)?.fill(0, inPage);
    }
    this.size = newSize;
  }

  /** Drop every page (the file is going away). */
  clear(): void {
    for (const page of this.pages.values()) this.allocator.freePage(page);
    this.pages.clear();
    this.size = 0;
  }

  private drop(idx: number): void {
    const page = this.pages.get(idx);
    if (page === undefined) return;
    this.pages.delete(idx);
    this.allocator.freePage(page);
  }
}
