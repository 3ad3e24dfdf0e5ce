/**
 * The conformance suite's harness: what a backend provides (a fresh kernel and an empty
 * directory on the file system under test), the feature switches a backend turns off when its
 * format lacks something, and the small helpers every case file shares.
 *
 * Invariants: every case runs against a fresh setup (its own kernel), tears it down even when
 * the case fails, and checks errors by their exact NetBSD errno name.
 */

import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Kernel } from '../../src/kern/kernel.js';
import type { Lwp } from '../../src/kern/proc.js';
import type { ErrnoName } from '../../src/kern/errno.js';
import type { Stat, Dirent } from '../../src/kern/types.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, O_DIRECTORY, SEEK_SET } from '../../src/kern/types.js';

/** What a file system supports; every switch defaults to true except `caseInsensitive`. */
export interface Features {
  symlinks: boolean;
  hardlinks: boolean;
  /** Owners, groups and mode bits are stored and enforced. */
  permissions: boolean;
  /** Character and block device nodes (mknod). */
  devices: boolean;
  fifos: boolean;
  /** The sticky bit on directories restricts removal. */
  sticky: boolean;
  /** Timestamps keep (at least) microseconds; off for 2-second FAT times. */
  timestampsNs: boolean;
  /** Access times are kept and updated on read. */
  atime: boolean;
  /** Names differing only in case are the same name. */
  caseInsensitive: boolean;
  /** Directories count their links (2 + subdirectories). */
  dirLinkCount: boolean;
  /** statvfs reports block and inode use that changes as files are written and freed. */
  spaceAccounting: boolean;
  /** getdents reports d_type (not DT_UNKNOWN). */
  direntTypes: boolean;
  /** Files may grow past 4 GiB (sparse). */
  largeFiles: boolean;
}

export type FeatureName = keyof Features;

export interface BackendInstance {
  k: Kernel;
  /** An empty directory on the file system under test (absolute path), owned by root, 0755. */
  dir: string;
  teardown(): Promise<void>;
  /** Let `ms` milliseconds pass on the kernel's clock (a manual clock); absent: real time is used. */
  advance?(ms: number): Promise<void>;
  /** Path of the root of the file system under test when it is a mount point (not the kernel root). */
  mountPoint?: string;
}

export interface Backend {
  /** 'tmpfs', 'rumpfs', 'ext2fs', 'ffs', 'msdosfs' */
  name: string;
  /** statvfs f_fstypename of the file system under test; default `name`. */
  fstypename?: string;
  setup(): Promise<BackendInstance>;
  features?: Partial<Features>;
}

const DEFAULT_FEATURES: Features = {
  symlinks: true, hardlinks: true, permissions: true, devices: true, fifos: true, sticky: true,
  timestampsNs: true, atime: true, caseInsensitive: false, dirLinkCount: true, spaceAccounting: true,
  direntTypes: true, largeFiles: true,
};

export function features(b: Backend): Features {
  return { ...DEFAULT_FEATURES, ...b.features };
}

/** Unprivileged identities the permission cases use. */
export const OWNER = 1000, GROUPMATE = 1001, OTHER = 1002, GROUP = 1000, OTHERGROUP = 1002;

/** Everything a case needs: the kernel, a root lwp, the directory under test and helpers. */
export class Ctx {
  readonly k: Kernel;
  /** Root's lwp (process 1). */
  readonly l: Lwp;
  readonly dir: string;
  readonly feat: Features;
  readonly mountPoint: string | undefined;

  constructor(readonly backend: Backend, private readonly inst: BackendInstance, private readonly t?: { skip(msg?: string): void }) {
    this.k = inst.k;
    this.l = inst.k.initLwp;
    this.dir = inst.dir;
    this.feat = features(backend);
    this.mountPoint = inst.mountPoint;
  }

  get sys(): Kernel['sys'] { return this.k.sys; }

  /** Mark the running case skipped (the caller returns right after). */
  skip(reason: string): void {
    this.t?.skip(reason);
  }

  /** Whether a second file system can be mounted inside the directory (a tmpfs component). */
  canMount(): boolean {
    if (this.k.hasComponent('tmpfs')) return true;
    this.skip('the kernel has no tmpfs component to mount inside the directory under test');
    return false;
  }

  /** Absolute path of `rel` inside the directory under test. */
  p(rel = ''): string {
    return rel === '' ? this.dir : `${this.dir}/${rel}`;
  }

  /** A new process with these credentials (cwd: the kernel root); returns its lwp. */
  user(uid: number, gid: number = uid, groups: readonly number[] = []): Lwp {
    return this.k.newProc({ uid, gid, groups });
  }

  /** Create (or replace) a regular file with `data`. */
  async mkfile(path: string, data: string | Uint8Array = '', mode = 0o644, l: Lwp = this.l): Promise<void> {
    const fd = await this.sys.open(l, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
    try {
      const bytes = typeof data === 'string' ? enc(data) : data;
      if (bytes.length > 0) assert.equal(await this.sys.write(l, fd, bytes), bytes.length, `short write to ${path}`);
    } finally {
      await this.sys.close(l, fd);
    }
  }

  /** The whole contents of a file. */
  async readFile(path: string, l: Lwp = this.l): Promise<Uint8Array> {
    const fd = await this.sys.open(l, path, O_RDONLY, 0);
    try {
      return await this.readAll(fd, l);
    } finally {
      await this.sys.close(l, fd);
    }
  }

  async readText(path: string, l: Lwp = this.l): Promise<string> {
    return dec(await this.readFile(path, l));
  }

  /** Read from `fd` at its offset until end of file. */
  async readAll(fd: number, l: Lwp = this.l): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(65536);
      const n = await this.sys.read(l, fd, buf);
      if (n === 0) break;
      parts.push(buf.subarray(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }

  /** Read exactly what pread returns for `len` bytes at `off`. */
  async pread(fd: number, len: number, off: number, l: Lwp = this.l): Promise<Uint8Array> {
    const buf = new Uint8Array(len);
    const n = await this.sys.pread(l, fd, buf, off);
    return buf.subarray(0, n);
  }

  stat(path: string, l: Lwp = this.l): Promise<Stat> { return this.sys.stat(l, path); }
  lstat(path: string, l: Lwp = this.l): Promise<Stat> { return this.sys.lstat(l, path); }

  /** Whether `path` exists (lstat succeeds); ENOENT means no, anything else is thrown. */
  async exists(path: string, l: Lwp = this.l): Promise<boolean> {
    try {
      await this.sys.lstat(l, path);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return false;
      throw e;
    }
  }

  /** Every entry of a directory (getdents until it returns none), with `count` per call. */
  async readdir(path: string, count = 4096, l: Lwp = this.l): Promise<Dirent[]> {
    const fd = await this.sys.open(l, path, O_RDONLY | O_DIRECTORY, 0);
    try {
      return await this.readdirFd(fd, count, l);
    } finally {
      await this.sys.close(l, fd);
    }
  }

  async readdirFd(fd: number, count = 4096, l: Lwp = this.l): Promise<Dirent[]> {
    const out: Dirent[] = [];
    for (let calls = 0; ; calls++) {
      assert.ok(calls < 100000, 'getdents never reached the end of the directory');
      const batch = await this.sys.getdents(l, fd, count);
      if (batch.length === 0) return out;
      out.push(...batch);
    }
  }

  /** Names in a directory, '.' and '..' left out, sorted. */
  async names(path: string, l: Lwp = this.l): Promise<string[]> {
    return (await this.readdir(path, 4096, l)).map((d) => d.name).filter((n) => n !== '.' && n !== '..').sort();
  }

  /** Let time pass so that later timestamps differ from earlier ones. */
  async tick(ms = 1000): Promise<void> {
    if (this.inst.advance !== undefined) await this.inst.advance(ms);
    else await new Promise((r) => setTimeout(r, this.feat.timestampsNs ? 20 : 2100));
  }

  /** The kernel's current time as a Timespec. */
  now(): { sec: number; nsec: number } {
    return toTimespec(this.k.now());
  }

  /** Rewind a descriptor to the start. */
  async rewind(fd: number, l: Lwp = this.l): Promise<void> {
    await this.sys.lseek(l, fd, 0, SEEK_SET);
  }
}

export function toTimespec(ms: number): { sec: number; nsec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

const te = new TextEncoder();
const td = new TextDecoder();
export function enc(s: string): Uint8Array { return te.encode(s); }
export function dec(b: Uint8Array): string { return td.decode(b); }

/** A deterministic byte pattern (so misplaced blocks are caught). */
export function pattern(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The call fails with exactly this errno. */
export async function rejects(p: Promise<unknown>, code: ErrnoName, what?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const got = (e as { code?: unknown }).code;
    assert.equal(got, code, `${what ?? 'call'}: expected ${code}, got ${String(got)} (${e instanceof Error ? e.message : String(e)})`);
    return true;
  });
}

/** Timespec of a Stat field ('atime', 'mtime', 'ctime', 'birthtime'). */
export function ts(st: Stat, which: 'atime' | 'mtime' | 'ctime' | 'birthtime'): { sec: number; nsec: number } {
  return { sec: st[`${which}Sec`], nsec: st[`${which}Nsec`] };
}

/** a < b for timespecs */
export function tsAfter(a: { sec: number; nsec: number }, b: { sec: number; nsec: number }): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

export interface CaseOptions {
  /** Features the case needs; it is skipped (with the reason) when the backend lacks one. */
  needs?: FeatureName[];
  /** Features that make the case meaningless (e.g. caseInsensitive). */
  unless?: FeatureName[];
  /** Extra per-case timeout in ms. */
  timeout?: number;
}

/**
 * Declare one case: `it(name)` that sets a backend up, runs `fn` and tears it down. Skipped when
 * the backend lacks a needed feature.
 */
export function test(b: Backend, name: string, fn: (c: Ctx) => Promise<void>): void;
export function test(b: Backend, name: string, opts: CaseOptions, fn: (c: Ctx) => Promise<void>): void;
export function test(b: Backend, name: string, a: CaseOptions | ((c: Ctx) => Promise<void>), f?: (c: Ctx) => Promise<void>): void {
  const opts = typeof a === 'function' ? {} : a;
  const fn = typeof a === 'function' ? a : f!;
  const feat = features(b);
  const missing = (opts.needs ?? []).filter((n) => !feat[n]);
  const excluded = (opts.unless ?? []).filter((n) => feat[n]);
  const skip = missing.length > 0 ? `${b.name} lacks ${missing.join(', ')}`
    : excluded.length > 0 ? `${b.name} has ${excluded.join(', ')}` : false;
  it(name, { skip, timeout: opts.timeout ?? 60000 }, async (t) => {
    const inst = await b.setup();
    try {
      await fn(new Ctx(b, inst, t));
    } finally {
      await inst.teardown();
    }
  });
}
