/**
 * Directory entries of an in-memory directory, with stable readdir cookies.
 *
 * Every entry gets a cookie when it is added, from a per-directory counter that only grows, so
 * cookie order is insertion order and a cookie is never reused within the directory. readdir
 * positions: 0 = start, 1 = after '.', 2 = after '..', and an entry's own cookie = after it.
 * Resuming from any cookie returns exactly the surviving entries with larger cookies: entries
 * removed meanwhile are skipped without disturbing the others, entries added meanwhile come
 * last. A rename within the directory keeps the entry's cookie (the name changes in place).
 *
 * Storage: a Map by name for lookup, and an array in cookie order where removed entries leave a
 * hole (null) until the array is compacted; a parallel array of cookies allows binary search.
 */

import type { MemNode } from './node.js';

/** Cookie after '.'. */
export const COOKIE_DOT = 1;
/** Cookie after '..'; entries have larger cookies. */
export const COOKIE_DOTDOT = 2;

export class DirEntry {
  constructor(
    public name: string,
    readonly node: MemNode,
    readonly cookie: number,
    /** Not listed by readdir, but found by lookup (etfs keys). */
    readonly hidden: boolean,
  ) {}
}

export class MemDir {
  private readonly byName = new Map<string, DirEntry>();
  private list: (DirEntry | null)[] = [];
  private cookies: number[] = [];
  private holes = 0;
  private nextCookie = COOKIE_DOTDOT + 1;

  /** Number of entries (hidden ones included; '.' and '..' not). */
  get count(): number {
    return this.byName.size;
  }

  get empty(): boolean {
    return this.byName.size === 0;
  }

  lookup(name: string): DirEntry | undefined {
    return this.byName.get(name);
  }

  /** Add an entry (the caller has checked that `name` is free). */
  add(name: string, node: MemNode, hidden = false): DirEntry {
    const e = new DirEntry(name, node, this.nextCookie++, hidden);
    this.byName.set(name, e);
    this.list.push(e);
    this.cookies.push(e.cookie);
    return e;
  }

  /** Remove the entry `name`; returns it, or undefined if absent. */
  remove(name: string): DirEntry | undefined {
    const e = this.byName.get(name);
    if (e === undefined) return undefined;
    this.byName.delete(name);
    const i = this.indexAfter(e.cookie - 1);
    if (this.list[i] === e) {
      this.list[i] = null;
      this.holes++;
    }
    if (this.holes > 32 && this.holes * 2 > this.list.length) this.compact();
    return e;
  }

  /** Rename entry `e` in place (keeps its cookie); the caller has removed any entry named `to`. */
  rename(e: DirEntry, to: string): void {
    this.byName.delete(e.name);
    e.name = to;
    this.byName.set(to, e);
  }

  /** Entries (hidden included) with cookies greater than `cookie`, in cookie order. */
  *after(cookie: number): Generator<DirEntry, void, undefined> {
    // Re-find the position at each step: the array may be compacted while the caller iterates.
    let last = cookie;
    for (;;) {
      let i = this.indexAfter(last);
      while (i < this.list.length && this.list[i] === null) i++;
      const e = this.list[i];
      if (e === undefined || e === null) return;
      last = e.cookie;
      yield e;
    }
  }

  /** Every entry (hidden included), in no particular order. */
  entries(): IterableIterator<DirEntry> {
    return this.byName.values();
  }

  /** Index of the first slot whose cookie is greater than `cookie`. */
  private indexAfter(cookie: number): number {
    let lo = 0;
    let hi = this.cookies.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cookies[mid]! <= cookie) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(): void {
    const list: DirEntry[] = [];
    for (const e of this.list) if (e !== null) list.push(e);
    this.list = list;
    this.cookies = list.map((e) => e.cookie);
    this.holes = 0;
  }
}

/** Length of `s` in UTF-8 bytes (without encoding it). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n += 4; i++; } else n += 3;
    } else n += 3;
  }
  return n;
}
