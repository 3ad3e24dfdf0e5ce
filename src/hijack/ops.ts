/**
 * The hijack's file operations on the rump kernel, written once as generators and run either
 * synchronously (the *Sync APIs) or asynchronously (callbacks, promises) by driver.ts.
 *
 * An operation yields the system calls it needs (`yield* sys('stat', path)`) and gets their
 * results back; a failed call is thrown into it at the yield. The same code therefore serves
 * `fs.statSync`, `fs.stat` and `fs.promises.stat`, with identical semantics and errors. A
 * `host` step runs host code (the other side of a copy between the host and the kernel).
 *
 * Results and errors are Node's: Stats and Dirents of Node's own classes (made from the
 * kernel's NetBSD structures by ukfs's Stats), Node-style errors from ukfs's errors.ts naming
 * the path as the program gave it ('/rump/etc/x', not the kernel's '/etc/x'), and Linux's
 * numbers for open flags and errno.
 */

import { randomBytes } from 'node:crypto';
import * as nodefs from 'node:fs';
import { KernelError } from '../kern/errno.js';
import type { SysArgs, SysResult, SyscallName } from '../kern/syscalltable.js';
import {
  O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY, SEEK_CUR,
  S_IFDIR, S_IFLNK, S_IFMT, type Stat, type Statvfs,
} from '../kern/types.js';
import { argError, linuxCode, makeError, nodeError, parseFlags, parseId, parseMode, parsePosition, systemError, toTimespec } from '../ukfs/errors.js';
import { chunkBytes, decode, decodeName, encodingOf, optionsOf, type Encoding } from '../ukfs/data.js';
import { BigIntStats, StatFs, Stats, dtToIfmt } from '../ukfs/stats.js';
import { IO_MAX_LENGTH, checkAborted } from '../ukfs/filehandle.js';
import { linuxFsMagic } from '../ukfs/registry.js';

// ---------------------------------------------------------------------------------------------
// the protocol between operations and drivers

export interface SysCall { readonly kind: 'sys'; readonly name: SyscallName; readonly args: readonly unknown[] }
export interface HostCall { readonly kind: 'host'; sync(): unknown; async(): Promise<unknown> }
/** Several system calls sent at once (pipelined); their outcomes, in order. */
export interface BatchCall { readonly kind: 'batch'; readonly calls: readonly { name: SyscallName; args: readonly unknown[] }[] }
/** A system call sent without waiting for it. */
export interface PostCall { readonly kind: 'post'; readonly name: SyscallName; readonly args: readonly unknown[] }
export type Call = SysCall | HostCall | BatchCall | PostCall;
export interface Outcome { err: unknown; res: unknown }
export type Op<T> = Generator<Call, T, unknown>;

/** One system call of the kernel process. */
export function* sys<K extends SyscallName>(name: K, ...args: SysArgs<K>): Generator<Call, SysResult<K>, unknown> {
  return (yield { kind: 'sys', name, args }) as SysResult<K>;
}

/** Two system calls in one round trip (both only need what is known already). */
export function* sys2<A extends SyscallName, B extends SyscallName>(
  a: A, aArgs: SysArgs<A>, b: B, bArgs: SysArgs<B>,
): Generator<Call, [Outcome, Outcome], unknown> {
  return (yield { kind: 'batch', calls: [{ name: a, args: aArgs }, { name: b, args: bArgs }] }) as [Outcome, Outcome];
}

/** Send a system call without waiting (closing a descriptor nobody else has). */
export function* post<K extends SyscallName>(name: K, ...args: SysArgs<K>): Generator<Call, void, unknown> {
  yield { kind: 'post', name, args };
}

/** Host code, in its synchronous or asynchronous form depending on the driver. */
export function* host<T>(sync: () => T, async: () => Promise<T>): Generator<Call, T, unknown> {
  return (yield { kind: 'host', sync, async }) as T;
}

/** Run `g`, turning kernel errors into Node's (syscall, path and dest as the program named them). */
function* named<T>(syscall: string, path: string | undefined, dest: string | undefined, g: Generator<Call, T, unknown>): Generator<Call, T, unknown> {
  try {
    return yield* g;
  } catch (e) {
    throw nodeError(e, syscall, path, dest);
  }
}

// ---------------------------------------------------------------------------------------------
// result objects of Node's own classes

const STATS_PROTO: object = Object.getPrototypeOf(nodefs.statSync('/')) as object;
const BIGINT_STATS_PROTO: object = Object.getPrototypeOf(nodefs.statSync('/', { bigint: true })) as object;

/** fs.Stats (or BigIntStats) from the kernel's struct stat, `instanceof fs.Stats` as Node's. */
export function makeStats(st: Stat, bigint: boolean): Stats | BigIntStats {
  const s = bigint ? new BigIntStats(st) : new Stats(st);
  Object.setPrototypeOf(s, bigint ? BIGINT_STATS_PROTO : STATS_PROTO);
  return s;
}

const UV_DIRENT: Readonly<Record<number, number>> = (() => {
  const c = nodefs.constants as unknown as Record<string, number>;
  return {
    0o100000: c['UV_DIRENT_FILE'] ?? 1, 0o040000: c['UV_DIRENT_DIR'] ?? 2, 0o120000: c['UV_DIRENT_LINK'] ?? 3,
    0o010000: c['UV_DIRENT_FIFO'] ?? 4, 0o140000: c['UV_DIRENT_SOCKET'] ?? 5, 0o020000: c['UV_DIRENT_CHAR'] ?? 6,
    0o060000: c['UV_DIRENT_BLOCK'] ?? 7,
  };
})();

/** An fs.Dirent (Node's class) for an entry of type `ifmt` (S_IF*, 0 unknown) in `parent`. */
export function makeDirent(name: string | Buffer, ifmt: number, parent: string): nodefs.Dirent {
  const D = nodefs.Dirent as unknown as new (name: string | Buffer, type: number, path: string) => nodefs.Dirent;
  return new D(name, UV_DIRENT[ifmt] ?? 0, parent);
}

// ---------------------------------------------------------------------------------------------
// paths

/** A kernel path and the path the program gave for it (for messages and results). */
export interface KPath { readonly k: string; readonly u: string }

function kjoin(a: string, b: string): string {
  return a.endsWith('/') ? a + b : `${a}/${b}`;
}

/** The program's name for a kernel path below `base` (which the program calls base.u). */
function ujoin(base: KPath, rest: string): string {
  return rest === '' ? base.u : kjoin(base.u, rest);
}

/** The program's view of kernel path `k`, which has `base.k` as a prefix. */
function uview(base: KPath, k: string): string {
  return base.u.slice(0, base.u.length - base.k.length) + k;
}

// ---------------------------------------------------------------------------------------------
// attributes

type StatOpts = { bigint?: boolean; throwIfNoEntry?: boolean } | undefined;

export function* stat(p: KPath, opts: StatOpts, follow = true): Op<Stats | BigIntStats | undefined> {
  try {
    const st = follow ? yield* sys('stat', p.k) : yield* sys('lstat', p.k);
    return makeStats(st, opts?.bigint === true);
  } catch (e) {
    if (opts?.throwIfNoEntry === false && e instanceof KernelError && e.code === 'ENOENT') return undefined;
    throw nodeError(e, follow ? 'stat' : 'lstat', p.u);
  }
}

export function* fstat(kfd: number, opts: StatOpts): Op<Stats | BigIntStats> {
  const st = yield* named('fstat', undefined, undefined, sys('fstat', kfd));
  return makeStats(st, opts?.bigint === true);
}

export function* access(p: KPath, mode: unknown): Op<void> {
  const m = mode === undefined || mode === null ? 0 : mode;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 7) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be an integer >= 0 && <= 7. Received ${String(m)}`);
  }
  yield* named('access', p.u, undefined, sys('access', p.k, m));
}

export function* exists(p: KPath): Op<boolean> {
  try {
    yield* sys('access', p.k, 0);
    return true;
  } catch {
    return false;
  }
}

export function* chmod(p: KPath, mode: unknown, follow = true): Op<void> {
  const m = parseMode(mode, 0);
  yield* named(follow ? 'chmod' : 'lchmod', p.u, undefined, follow ? sys('chmod', p.k, m) : sys('lchmod', p.k, m));
}

export function* fchmod(kfd: number, mode: unknown): Op<void> {
  const m = parseMode(mode, 0);
  yield* named('fchmod', undefined, undefined, sys('fchmod', kfd, m));
}

export function* chown(p: KPath, uid: unknown, gid: unknown, follow = true): Op<void> {
  const u = parseId(uid, 'uid'), g = parseId(gid, 'gid');
  yield* named(follow ? 'chown' : 'lchown', p.u, undefined, follow ? sys('chown', p.k, u, g) : sys('lchown', p.k, u, g));
}

export function* fchown(kfd: number, uid: unknown, gid: unknown): Op<void> {
  const u = parseId(uid, 'uid'), g = parseId(gid, 'gid');
  yield* named('fchown', undefined, undefined, sys('fchown', kfd, u, g));
}

export function* utimes(p: KPath, atime: unknown, mtime: unknown, follow = true): Op<void> {
  const t = [toTimespec(atime, 'atime'), toTimespec(mtime, 'mtime')] as const;
  yield* named(follow ? 'utime' : 'lutime', p.u, undefined, follow ? sys('utimes', p.k, t) : sys('lutimes', p.k, t));
}

export function* futimes(kfd: number, atime: unknown, mtime: unknown): Op<void> {
  const t = [toTimespec(atime, 'atime'), toTimespec(mtime, 'mtime')] as const;
  yield* named('futime', undefined, undefined, sys('futimes', kfd, t));
}

export function* truncate(p: KPath, len: unknown): Op<void> {
  const n = typeof len === 'number' && Number.isFinite(len) ? Math.max(0, Math.trunc(len)) : 0;
  const fd = yield* open(p, 'r+', undefined);
  try {
    yield* named('ftruncate', undefined, undefined, sys('ftruncate', fd, n));
  } finally {
    yield* closeQuietly(fd);
  }
}

export function* ftruncate(kfd: number, len: unknown): Op<void> {
  const n = typeof len === 'number' && Number.isFinite(len) ? Math.max(0, Math.trunc(len)) : 0;
  yield* named('ftruncate', undefined, undefined, sys('ftruncate', kfd, n));
}

export function* fsync(kfd: number, data = false): Op<void> {
  yield* named(data ? 'fdatasync' : 'fsync', undefined, undefined, data ? sys('fdatasync', kfd) : sys('fsync', kfd));
}

export function* statfs(p: KPath, opts: { bigint?: boolean } | undefined): Op<StatFs<number> | StatFs<bigint>> {
  const vs: Statvfs = yield* named('statfs', p.u, undefined, sys('statvfs', p.k));
  const magic = linuxFsMagic(vs.fstypename);
  return opts?.bigint === true ? new StatFs<bigint>(vs, magic, true) : new StatFs<number>(vs, magic, false);
}

// ---------------------------------------------------------------------------------------------
// names

export function* unlink(p: KPath): Op<void> {
  try {
    yield* sys('unlink', p.k);
  } catch (e) {
    if (e instanceof KernelError && e.code === 'EPERM') {
      // NetBSD says EPERM for a directory, Linux EISDIR
      const st = yield* lstatOrNull(p.k);
      if (st !== null && (st.mode & S_IFMT) === S_IFDIR) throw nodeError(linuxCode('unlink', e, 'dir'), 'unlink', p.u);
    }
    throw nodeError(e, 'unlink', p.u);
  }
}

function* lstatOrNull(k: string): Op<Stat | null> {
  try {
    return yield* sys('lstat', k);
  } catch {
    return null;
  }
}

export function* rename(from: KPath, to: KPath): Op<void> {
  yield* named('rename', from.u, to.u, sys('rename', from.k, to.k));
}

export function* link(from: KPath, to: KPath): Op<void> {
  yield* named('link', from.u, to.u, sys('link', from.k, to.k));
}

export function* symlink(target: string, p: KPath): Op<void> {
  yield* named('symlink', target, p.u, sys('symlink', target, p.k));
}

export function* readlink(p: KPath, options: unknown): Op<string | Buffer> {
  const enc = encodingOf(options, 'utf8');
  const t = yield* named('readlink', p.u, undefined, sys('readlink', p.k));
  return decodeName(t, enc);
}

/**
 * realpath: the canonical kernel path, component by component (lstat, readlink), shown in the
 * program's terms (`view` re-adds the path= prefix).
 */
export function* realpath(p: KPath, options: unknown, view: (k: string) => string): Op<string | Buffer> {
  const enc = encodingOf(options, 'utf8');
  let rest = p.k.split('/').filter((c) => c !== '');
  let out: string[] = [];
  if (!p.k.startsWith('/')) {
    const cwd = yield* named('realpath', p.u, undefined, sys('getcwd'));
    out = cwd.split('/').filter((c) => c !== '');
  }
  let links = 0;
  while (rest.length > 0) {
    const c = rest.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      out.pop();
      continue;
    }
    const cur = `/${[...out, c].join('/')}`;
    const st = yield* named('lstat', p.u, undefined, sys('lstat', cur));
    if ((st.mode & S_IFMT) === S_IFLNK) {
      if (++links > 40) throw makeError('ELOOP', 'realpath', p.u);
      const t = yield* named('readlink', p.u, undefined, sys('readlink', cur));
      rest = [...t.split('/').filter((x) => x !== ''), ...rest];
      if (t.startsWith('/')) out = [];
      continue;
    }
    if (rest.length > 0 && (st.mode & S_IFMT) !== S_IFDIR) throw makeError('ENOTDIR', 'lstat', p.u);
    out.push(c);
  }
  return decodeName(view(`/${out.join('/')}`), enc);
}

// ---------------------------------------------------------------------------------------------
// directories

export function* mkdir(p: KPath, options: unknown): Op<string | undefined> {
  const o = typeof options === 'number' || typeof options === 'string' ? { mode: options } : optionsOf<{ mode: number | string; recursive: boolean }>(options);
  const mode = parseMode(o.mode, 0o777);
  if (o.recursive !== true) {
    yield* named('mkdir', p.u, undefined, sys('mkdir', p.k, mode));
    return undefined;
  }
  // Node's MKDirp walk: the first directory made is returned
  const stack = [p.k];
  let first: string | undefined;
  while (stack.length > 0) {
    const next = stack.pop()!;
    try {
      yield* sys('mkdir', next, mode);
      first ??= next;
      continue;
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      if (['EACCES', 'ENOSPC', 'ENOTDIR', 'EPERM', 'EROFS'].includes(e.code)) throw nodeError(e, 'mkdir', p.u);
      if (e.code === 'ENOENT') {
        const cut = next.lastIndexOf('/');
        const parent = cut <= 0 ? next : next.slice(0, cut);
        if (parent !== next && parent !== '') {
          stack.push(next, parent);
          continue;
        }
        throw nodeError(e, 'mkdir', p.u);
      }
      let st: Stat;
      try {
        st = yield* sys('stat', next);
      } catch (e2) {
        throw nodeError(e2, 'mkdir', p.u);
      }
      if ((st.mode & S_IFMT) !== S_IFDIR) throw nodeError(new KernelError(stack.length > 0 ? 'ENOTDIR' : 'EEXIST'), 'mkdir', p.u);
    }
  }
  return first === undefined ? undefined : uview(p, first);
}

export function* mkdtemp(prefix: KPath, options: unknown): Op<string | Buffer> {
  const enc = encodingOf(options, 'utf8');
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let attempt = 0; ; attempt++) {
    const suffix = [...randomBytes(6)].map((b) => chars[b % chars.length]).join('');
    try {
      yield* sys('mkdir', prefix.k + suffix, 0o700);
      return decodeName(prefix.u + suffix, enc);
    } catch (e) {
      if (!(e instanceof KernelError && e.code === 'EEXIST') || attempt >= 100) throw nodeError(e, 'mkdtemp', `${prefix.u}XXXXXX`);
    }
  }
}

/** Every entry of an open directory ('.' and '..' left out). */
export function* dirEntries(kfd: number, syscall: string, u: string, batch = 1024): Op<{ name: string; type: number }[]> {
  const out: { name: string; type: number }[] = [];
  for (;;) {
    const got = yield* named(syscall, u, undefined, sys('getdents', kfd, batch));
    if (got.length === 0) return out;
    for (const d of got) if (d.name !== '.' && d.name !== '..') out.push(d);
  }
}

/** The S_IF* type of an entry, asking lstat when the file system did not say. */
export function* entryType(dirK: string, d: { name: string; type: number }): Op<number> {
  const t = dtToIfmt(d.type);
  if (t !== 0) return t;
  const st = yield* lstatOrNull(kjoin(dirK, d.name));
  return st === null ? 0 : st.mode & S_IFMT;
}

export function* readdir(p: KPath, options: unknown): Op<(string | Buffer | nodefs.Dirent)[]> {
  const enc = encodingOf(options, 'utf8');
  const o = optionsOf<{ withFileTypes: boolean; recursive: boolean }>(options);
  const withTypes = o.withFileTypes === true;
  const out: (string | Buffer | nodefs.Dirent)[] = [];
  const queue: { k: string; rel: string }[] = [{ k: p.k, rel: '' }];
  while (queue.length > 0) {
    const { k, rel } = queue.shift()!;
    const dirU = ujoin(p, rel);
    const fd = yield* named('scandir', dirU, undefined, sys('open', k, O_RDONLY | O_DIRECTORY, 0));
    let ents;
    try {
      ents = yield* dirEntries(fd, 'scandir', dirU);
    } finally {
      yield* closeQuietly(fd);
    }
    for (const d of ents) {
      const t = withTypes || o.recursive === true ? yield* entryType(k, d) : 0;
      const relName = rel === '' ? d.name : `${rel}/${d.name}`;
      if (withTypes) out.push(makeDirent(decodeName(d.name, enc), t, dirU));
      else out.push(decodeName(relName, enc));
      if (o.recursive === true && t === S_IFDIR) queue.push({ k: kjoin(k, d.name), rel: relName });
    }
  }
  return out;
}

export function* rmdir(p: KPath, options: unknown): Op<void> {
  if (optionsOf<{ recursive: boolean }>(options).recursive === true) {
    yield* removeTree(p.k, p.u);
    return;
  }
  yield* named('rmdir', p.u, undefined, sys('rmdir', p.k));
}

/** rm: `force` ignores a missing path; directories need `recursive` (else ERR_FS_EISDIR). */
export function* rm(p: KPath, options: unknown): Op<void> {
  const o = optionsOf<{ force: boolean; recursive: boolean }>(options);
  let st: Stat;
  try {
    st = yield* sys('lstat', p.k);
  } catch (e) {
    if (o.force === true && e instanceof KernelError && e.code === 'ENOENT') return;
    throw nodeError(e, 'lstat', p.u);
  }
  if ((st.mode & S_IFMT) === S_IFDIR) {
    if (o.recursive !== true) throw systemError('ERR_FS_EISDIR', 'Path is a directory', 'EISDIR', 'is a directory', 'rm', p.u);
    yield* removeTree(p.k, p.u);
    return;
  }
  yield* named('rm', p.u, undefined, sys('unlink', p.k));
}

function* removeTree(k: string, u: string): Op<void> {
  let fd: number;
  try {
    fd = yield* sys('open', k, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  } catch (e) {
    if (e instanceof KernelError && e.code === 'ENOENT') return;
    if (e instanceof KernelError && (e.code === 'ENOTDIR' || e.code === 'EFTYPE' || e.code === 'ELOOP')) {
      try {
        yield* sys('unlink', k);
      } catch (e2) {
        if (!(e2 instanceof KernelError && e2.code === 'ENOENT')) throw nodeError(e2, 'rm', u);
      }
      return;
    }
    throw nodeError(e, 'rm', u);
  }
  let ents;
  try {
    ents = yield* dirEntries(fd, 'rm', u);
  } finally {
    yield* closeQuietly(fd);
  }
  for (const d of ents) {
    const ck = kjoin(k, d.name), cu = kjoin(u, d.name);
    const t = yield* entryType(k, d);
    if (t === S_IFDIR) yield* removeTree(ck, cu);
    else {
      try {
        yield* sys('unlink', ck);
      } catch (e) {
        if (!(e instanceof KernelError && e.code === 'ENOENT')) throw nodeError(e, 'rm', cu);
      }
    }
  }
  try {
    yield* sys('rmdir', k);
  } catch (e) {
    if (!(e instanceof KernelError && e.code === 'ENOENT')) throw nodeError(e, 'rm', u);
  }
}

// ---------------------------------------------------------------------------------------------
// descriptors

export function* open(p: KPath, flags: unknown, mode: unknown): Op<number> {
  const f = parseFlags(flags, 'r');
  const m = parseMode(mode, 0o666);
  try {
    return yield* sys('open', p.k, f, m);
  } catch (e) {
    if (e instanceof KernelError && (f & O_NOFOLLOW) !== 0) throw nodeError(linuxCode('open', e, 'nofollow'), 'open', p.u);
    throw nodeError(e, 'open', p.u);
  }
}

export function* close(kfd: number): Op<void> {
  yield* named('close', undefined, undefined, sys('close', kfd));
}

export function* closeQuietly(kfd: number): Op<void> {
  try {
    yield* sys('close', kfd);
  } catch {
    // already reported, or nothing to say
  }
}

/** read(2) or pread(2) into `view` (position null: the file position). */
export function* readInto(kfd: number, view: Uint8Array, position: number | null): Op<number> {
  if (view.byteLength === 0) return 0;
  return yield* named('read', undefined, undefined, position === null ? sys('read', kfd, view) : sys('pread', kfd, view, position));
}

export function* writeFrom(kfd: number, bytes: Uint8Array, position: number | null): Op<number> {
  if (bytes.byteLength === 0) return 0;
  return yield* named('write', undefined, undefined, position === null ? sys('write', kfd, bytes) : sys('pwrite', kfd, bytes, position));
}

export function* readvInto(kfd: number, iov: readonly Uint8Array[], position: number | null): Op<number> {
  return yield* named('read', undefined, undefined, position === null ? sys('readv', kfd, iov) : sys('preadv', kfd, iov, position));
}

export function* writevFrom(kfd: number, iov: readonly Uint8Array[], position: number | null): Op<number> {
  return yield* named('write', undefined, undefined, position === null ? sys('writev', kfd, iov) : sys('pwritev', kfd, iov, position));
}

/** All of `bytes` at the file position (or from `position` on), short writes continued. */
export function* writeAll(kfd: number, bytes: Uint8Array, position: number | null = null, signal?: unknown): Op<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    checkAborted(signal);
    const chunk = off === 0 ? bytes : bytes.subarray(off);
    const n = yield* writeFrom(kfd, chunk, position === null ? null : position + off);
    if (n <= 0) throw makeError('EIO', 'write', undefined, undefined, `the kernel wrote ${n} bytes`);
    off += n;
  }
}

const READ_CHUNK = 64 * 1024;
/** readFile's first read, sent with the fstat: most files fit, and a small read costs the server less. */
const READ_FIRST = 16 * 1024;

/** Everything from the descriptor's position on (readFile). */
export function* readRest(kfd: number, signal: unknown, atStart: boolean, toEof = false): Op<Buffer> {
  const st = toEof ? { mode: 0, size: 0 } : yield* named('fstat', undefined, undefined, sys('fstat', kfd));
  if ((st.mode & S_IFMT) === S_IFDIR) throw makeError('EISDIR', 'read');
  let pos = 0;
  if (!atStart) {
    try {
      pos = yield* sys('lseek', kfd, 0, SEEK_CUR);
    } catch {
      pos = 0;
    }
  }
  const size = Math.max(0, st.size - pos);
  if (size > IO_MAX_LENGTH) throw Object.assign(new RangeError(`File size (${size}) is greater than 2 GiB`), { code: 'ERR_FS_FILE_TOO_LARGE' });
  if (st.size > 0) {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      checkAborted(signal);
      const n = yield* readInto(kfd, buf.subarray(off), null);
      if (n === 0) break;
      off += n;
    }
    return off < size ? buf.subarray(0, off) : buf;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    checkAborted(signal);
    const b = Buffer.allocUnsafe(READ_CHUNK);
    const n = yield* readInto(kfd, b, null);
    if (n === 0) break;
    chunks.push(b.subarray(0, n));
    total += n;
    if (total > IO_MAX_LENGTH) throw Object.assign(new RangeError('File size is greater than 2 GiB'), { code: 'ERR_FS_FILE_TOO_LARGE' });
  }
  return Buffer.concat(chunks, total);
}

type FileOpts = { encoding?: BufferEncoding | null; flag?: string | number; mode?: number | string; signal?: AbortSignal; flush?: boolean };

/** readFile of a path, or of an open kernel descriptor (`kfd`, read from its position). */
export function* readFile(target: KPath | number, options: unknown): Op<Buffer | string> {
  const encoding = encodingOf(options, null);
  const o = optionsOf<FileOpts>(options);
  checkAborted(o.signal);
  if (typeof target === 'number') return decode(yield* readRest(target, o.signal, false), encoding);
  const fd = yield* open(target, o.flag ?? 'r', 0o666);
  try {
    return decode(yield* readWhole(fd, o.signal), encoding);
  } finally {
    // the descriptor is ours alone: its close need not be waited for
    yield* post('close', fd);
  }
}

/**
 * A freshly opened file, whole: fstat and the first read go together (one round trip), so a
 * small file costs open + one exchange; a bigger one is read on to its size, a FIFO or device
 * (size 0) to its end.
 */
function* readWhole(fd: number, signal: unknown): Op<Buffer> {
  const first = Buffer.allocUnsafe(READ_FIRST);
  const [st, rd] = yield* sys2('fstat', [fd], 'read', [fd, first]);
  if (st.err !== null) throw nodeError(st.err, 'fstat');
  const s = st.res as Stat;
  if ((s.mode & S_IFMT) === S_IFDIR) throw makeError('EISDIR', 'read');
  if (rd.err !== null) throw nodeError(rd.err, 'read');
  const n = rd.res as number;
  if (s.size > IO_MAX_LENGTH) throw Object.assign(new RangeError(`File size (${s.size}) is greater than 2 GiB`), { code: 'ERR_FS_FILE_TOO_LARGE' });
  if (n === 0 || (s.size > 0 && n >= s.size)) return first.subarray(0, n);
  if (s.size > 0) {
    const buf = Buffer.allocUnsafe(s.size);
    first.copy(buf, 0, 0, n);
    let off = n;
    while (off < s.size) {
      checkAborted(signal);
      const m = yield* readInto(fd, buf.subarray(off), null);
      if (m === 0) break;
      off += m;
    }
    return off < s.size ? buf.subarray(0, off) : buf;
  }
  const rest = yield* readRest(fd, signal, true, true);
  return Buffer.concat([first.subarray(0, n), rest]);
}

/** writeFile / appendFile: string or view data (iterables are turned into bytes by the caller). */
export function* writeFile(target: KPath | number, data: Uint8Array | string, options: unknown, defFlag: 'w' | 'a'): Op<void> {
  const encoding = encodingOf(options, 'utf8');
  const o = optionsOf<FileOpts>(options);
  checkAborted(o.signal);
  const bytes = chunkBytes(data, encoding);
  if (typeof target === 'number') {
    yield* writeAll(target, bytes, null, o.signal);
    return;
  }
  const fd = yield* open(target, o.flag ?? defFlag, o.mode ?? 0o666);
  try {
    yield* writeAll(fd, bytes, null, o.signal);
    if (o.flush === true) yield* fsync(fd);
  } finally {
    yield* closeQuietly(fd);
  }
}

/** Flags of a copy's destination. */
function destFlags(mode: number): number {
  return O_WRONLY | O_CREAT | O_TRUNC | ((mode & 1) !== 0 ? O_EXCL : 0);
}

/** copyFile within the kernel (mode: COPYFILE_EXCL 1, FICLONE 2, FICLONE_FORCE 4). */
export function* copyFile(src: KPath, dst: KPath, mode: unknown): Op<void> {
  const m = mode === undefined ? 0 : mode;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 7) {
    throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "mode" is out of range. It must be an integer >= 0 && <= 7. Received ${String(m)}`);
  }
  const fail = (e: unknown): unknown => nodeError(e, 'copyfile', src.u, dst.u);
  if ((m & 4) !== 0) throw fail(new KernelError('ENOTSUP', 'copy-on-write clones are not supported'));
  let from: number;
  try {
    from = yield* sys('open', src.k, O_RDONLY, 0);
  } catch (e) {
    throw fail(e);
  }
  try {
    const st = yield* named('copyfile', src.u, dst.u, sys('fstat', from));
    if ((st.mode & S_IFMT) === S_IFDIR) throw fail(new KernelError('EISDIR', `'${src.u}' is a directory`));
    let to: number;
    try {
      to = yield* sys('open', dst.k, destFlags(m), st.mode & 0o7777);
    } catch (e) {
      throw fail(e);
    }
    try {
      const dstSt = yield* named('copyfile', src.u, dst.u, sys('fstat', to));
      if (dstSt.dev === st.dev && dstSt.ino === st.ino) return;
      const buf = Buffer.allocUnsafe(Math.min(Math.max(st.size, 4096), 1 << 20));
      let off = 0;
      for (;;) {
        const n = yield* named('copyfile', src.u, dst.u, sys('pread', from, buf, off));
        if (n === 0) break;
        let w = 0;
        while (w < n) w += yield* named('copyfile', src.u, dst.u, sys('pwrite', to, buf.subarray(w, n), off + w));
        off += n;
      }
    } finally {
      yield* closeQuietly(to);
    }
  } finally {
    yield* closeQuietly(from);
  }
}

/**
 * copyFile between the host and the kernel: one side is a host path (read or written with the
 * host's own functions, captured before patching), the other a kernel path.
 */
export function* copyFileCross(
  src: KPath | string, dst: KPath | string, mode: unknown,
  hostRead: { sync(p: string): Buffer; async(p: string): Promise<Buffer> },
  hostWrite: { sync(p: string, d: Uint8Array, flag: string): void; async(p: string, d: Uint8Array, flag: string): Promise<void> },
): Op<void> {
  const m = typeof mode === 'number' ? mode : 0;
  const su = typeof src === 'string' ? src : src.u, du = typeof dst === 'string' ? dst : dst.u;
  let data: Buffer;
  if (typeof src === 'string') data = yield* host(() => hostRead.sync(src), () => hostRead.async(src));
  else {
    try {
      data = (yield* readFile(src, null)) as Buffer;
    } catch (e) {
      throw Object.assign(e as object, { syscall: 'copyfile', dest: du });
    }
  }
  if (typeof dst === 'string') {
    yield* host(() => hostWrite.sync(dst, data, (m & 1) !== 0 ? 'wx' : 'w'), () => hostWrite.async(dst, data, (m & 1) !== 0 ? 'wx' : 'w'));
    return;
  }
  let to: number;
  try {
    to = yield* sys('open', dst.k, destFlags(m), 0o644);
  } catch (e) {
    throw nodeError(e, 'copyfile', su, du);
  }
  try {
    yield* writeAll(to, data);
  } finally {
    yield* closeQuietly(to);
  }
}

export { O_APPEND, parsePosition };
