/**
 * Node-style errors and argument handling for ukfs: what makes code written for
 * `node:fs/promises` work unchanged.
 *
 * - Kernel failures become errors shaped like Node's (`code`, `errno` < 0 with Linux's number,
 *   `syscall` named as Node names it, `path` and `dest` as the caller gave them, and Node's
 *   message `ENOENT: no such file or directory, open 'x'`). The kernel's explanation stays
 *   available as the non-enumerable `detail` property (the fsu_* tools print it).
 * - Node's "SystemError" codes for conditions Node detects itself (ERR_FS_EISDIR from rm and cp,
 *   ERR_FS_CP_*), and TypeErrors/RangeErrors with Node's ERR_INVALID_ARG_* codes for bad
 *   arguments.
 * - Flags: Node's string flags ('r', 'w+', 'ax', ...) and numeric flags with Linux's O_* values
 *   (what `fs.constants` holds on Linux; `constants` below has the same numbers) become NetBSD
 *   open flags.
 *
 * Where NetBSD's errno for a condition differs from Linux's, ukfs reports Linux's (what Node
 * users on Linux see); the list is short and explicit: `LINUX_ERRNO` below.
 */

import { KernelError, errno, linuxErrno, strerror, toNodeError, type ErrnoName, type NodeStyleError } from '../kern/errno.js';
import {
  O_APPEND, O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR,
  O_SYNC, O_TRUNC, O_WRONLY, O_CLOEXEC, type Timespec,
} from '../kern/types.js';

export interface UkfsError extends NodeStyleError {
  dest?: string;
  /** The kernel's explanation ("ext2fs: writing is not supported yet"), when it gave one. */
  readonly detail?: string;
}

/** The Linux errno text Node prints, where it differs from the kernel table's. */
const LINUX_TEXT: Partial<Record<ErrnoName, string>> = {
  ELOOP: 'too many symbolic links encountered',
  ENAMETOOLONG: 'name too long',
  EFTYPE: 'inappropriate file type or format',
};

/**
 * Conditions where NetBSD and Linux answer with different errnos: (syscall, NetBSD code) ->
 * Linux code. unlink(2) of a directory is EPERM on NetBSD, EISDIR on Linux; open(2) with
 * O_NOFOLLOW of a symbolic link is EFTYPE on NetBSD, ELOOP on Linux.
 */
const LINUX_ERRNO: Readonly<Record<string, ErrnoName>> = {
  'unlink:EPERM:dir': 'EISDIR',
  'open:EFTYPE:nofollow': 'ELOOP',
};

/** Translate a NetBSD errno to Linux's for the few conditions where they differ (see LINUX_ERRNO). */
export function linuxCode(syscall: string, e: KernelError, condition: 'dir' | 'nofollow'): KernelError {
  const to = LINUX_ERRNO[`${syscall}:${e.code}:${condition}`];
  return to === undefined ? e : new KernelError(to, e.detail);
}

function nodeMessage(code: ErrnoName, syscall: string, path: string | undefined, dest: string | undefined): string {
  const text = LINUX_TEXT[code] ?? strerror(errno[code]);
  return `${code}: ${text}, ${syscall}${path !== undefined ? ` '${path}'` : ''}${dest !== undefined ? ` -> '${dest}'` : ''}`;
}

/**
 * A Node-style error from whatever a kernel call threw: KernelErrors are converted, anything
 * else (a bug, a TypeError from argument checks) passes through unchanged.
 */
export function nodeError(e: unknown, syscall: string, path?: string, dest?: string): unknown {
  if (!(e instanceof KernelError)) return e;
  const err = toNodeError(e, syscall, path) as UkfsError;
  err.message = nodeMessage(e.code, syscall, path, dest);
  if (dest !== undefined) err.dest = dest;
  if (e.detail !== undefined) Object.defineProperty(err, 'detail', { value: e.detail, enumerable: false, configurable: true });
  Error.captureStackTrace?.(err, nodeError);
  return err;
}

/** A Node-style error for a condition ukfs itself detects (EBADF on a closed handle, ...). */
export function makeError(code: ErrnoName, syscall: string, path?: string, dest?: string, detail?: string): UkfsError {
  return nodeError(new KernelError(code, detail), syscall, path, dest) as UkfsError;
}

/**
 * Node's SystemError for ERR_FS_EISDIR and friends: `code` is the Node code, `errno` the
 * positive Linux number, `info` the underlying condition.
 *   "Path is a directory: rm returned EISDIR (is a directory) dd"
 */
export function systemError(nodeCode: string, prefix: string, errname: ErrnoName, message: string, syscall: string, path: string, dest?: string): Error {
  const errno = linuxErrno(errname);
  const info: Record<string, unknown> = { code: errname, message, path, syscall, errno };
  if (dest !== undefined) info['dest'] = dest;
  const err = new Error(`${prefix}: ${syscall} returned ${errname} (${message}) ${path}${dest !== undefined ? ` => ${dest}` : ''}`) as Error & Record<string, unknown>;
  err.name = 'SystemError';
  Object.defineProperty(err, 'code', { value: nodeCode, enumerable: true, writable: true, configurable: true });
  err['info'] = info;
  err['errno'] = errno;
  err['syscall'] = syscall;
  err['path'] = path;
  if (dest !== undefined) err['dest'] = dest;
  return err;
}

/** A Node ERR_* error of the given class ("TypeError [ERR_INVALID_ARG_TYPE]: ..."). */
export function argError(Cls: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, code: string, message: string): Error {
  const err = new Cls(message) as Error & { code: string };
  err.code = code;
  return err;
}

// ---------------------------------------------------------------------------------------------
// paths

/** What Node accepts as a path. */
export type PathLike = string | Uint8Array | URL;

const utf8 = new TextDecoder();

/** A path argument as a string; Node's TypeErrors for wrong types, NUL bytes and non-file URLs. */
export function toPath(p: unknown, name = 'path'): string {
  let s: string;
  if (typeof p === 'string') s = p;
  else if (p instanceof Uint8Array) s = utf8.decode(p);
  else if (p instanceof URL) {
    if (p.protocol !== 'file:') throw argError(TypeError, 'ERR_INVALID_URL_SCHEME', 'The URL must be of scheme file');
    if (p.hostname !== '' && p.hostname !== 'localhost') throw argError(TypeError, 'ERR_INVALID_FILE_URL_HOST', `File URL host must be "localhost" or empty on linux`);
    if (/%2f/i.test(p.pathname)) throw argError(TypeError, 'ERR_INVALID_FILE_URL_PATH', 'File URL path must not include encoded / characters');
    s = decodeURIComponent(p.pathname);
  } else {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer or URL. Received ${describeValue(p)}`);
  }
  if (s.includes('\u0000')) {
    throw argError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received ${JSON.stringify(s)}`);
  }
  return s;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof v} (${String(v)})`;
}

// ---------------------------------------------------------------------------------------------
// flags, modes, times

/**
 * Open flags with Linux's values: what Node's `fs.constants` holds on Linux. Numeric flags given
 * to ukfs are read with these values.
 */
export const LINUX_O = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_NOCTTY: 0o400, O_TRUNC: 0o1000,
  O_APPEND: 0o2000, O_NONBLOCK: 0o4000, O_DSYNC: 0o10000, O_DIRECT: 0o40000, O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000, O_NOATIME: 0o1000000, O_CLOEXEC: 0o2000000, O_SYNC: 0o4010000,
} as const;

const STRING_FLAGS: Readonly<Record<string, number>> = (() => {
  const m: Record<string, number> = {};
  const add = (names: string[], v: number): void => { for (const n of names) m[n] = v; };
  add(['r'], O_RDONLY);
  add(['rs', 'sr'], O_RDONLY | O_SYNC);
  add(['r+'], O_RDWR);
  add(['rs+', 'sr+'], O_RDWR | O_SYNC);
  add(['w'], O_TRUNC | O_CREAT | O_WRONLY);
  add(['wx', 'xw'], O_TRUNC | O_CREAT | O_WRONLY | O_EXCL);
  add(['w+'], O_TRUNC | O_CREAT | O_RDWR);
  add(['wx+', 'xw+'], O_TRUNC | O_CREAT | O_RDWR | O_EXCL);
  add(['a'], O_APPEND | O_CREAT | O_WRONLY);
  add(['ax', 'xa'], O_APPEND | O_CREAT | O_WRONLY | O_EXCL);
  add(['as', 'sa'], O_APPEND | O_CREAT | O_WRONLY | O_SYNC);
  add(['a+'], O_APPEND | O_CREAT | O_RDWR);
  add(['ax+', 'xa+'], O_APPEND | O_CREAT | O_RDWR | O_EXCL);
  add(['as+', 'sa+'], O_APPEND | O_CREAT | O_RDWR | O_SYNC);
  return m;
})();

/** Node flags (string, or a number with Linux O_* values) as NetBSD open flags. */
export function parseFlags(flags: unknown, def: string): number {
  if (flags === undefined || flags === null) return STRING_FLAGS[def]!;
  if (typeof flags === 'string') {
    const v = STRING_FLAGS[flags];
    if (v === undefined) throw argError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument 'flags' is invalid. Received '${flags}'`);
    return v;
  }
  if (typeof flags === 'number' && Number.isInteger(flags)) return linuxToNetbsdFlags(flags);
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "flags" argument must be of type string or number. Received ${describeValue(flags)}`);
}

/** Linux O_* bits to NetBSD's; unknown bits are refused (EINVAL) rather than silently dropped. */
export function linuxToNetbsdFlags(f: number): number {
  const L = LINUX_O;
  let out = 0;
  let rest = f;
  const map = (lin: number, nb: number): void => {
    if ((rest & lin) === lin) { out |= nb; rest &= ~lin; }
  };
  const acc = f & 3;
  rest &= ~3;
  out |= acc === L.O_WRONLY ? O_WRONLY : acc === L.O_RDWR ? O_RDWR : O_RDONLY;
  if (acc === 3) throw argError(RangeError, 'ERR_OUT_OF_RANGE', 'The value of "flags" has both O_WRONLY and O_RDWR set');
  map(L.O_SYNC, O_SYNC); // before O_DSYNC: it contains the O_DSYNC bit
  map(L.O_CREAT, O_CREAT);
  map(L.O_EXCL, O_EXCL);
  map(L.O_NOCTTY, O_NOCTTY);
  map(L.O_TRUNC, O_TRUNC);
  map(L.O_APPEND, O_APPEND);
  map(L.O_NONBLOCK, O_NONBLOCK);
  map(L.O_DSYNC, O_DSYNC);
  map(L.O_DIRECT, O_DIRECT);
  map(L.O_DIRECTORY, O_DIRECTORY);
  map(L.O_NOFOLLOW, O_NOFOLLOW);
  map(L.O_CLOEXEC, O_CLOEXEC);
  map(L.O_NOATIME, 0); // no NetBSD counterpart; a hint only
  if (rest !== 0) throw new KernelError('EINVAL', `open flags 0${rest.toString(8)} (Linux values) have no NetBSD counterpart`);
  return out;
}

/** A mode argument: a number or an octal string ('755'); Node's errors for anything else. */
export function parseMode(mode: unknown, def: number, name = 'mode'): number {
  if (mode === undefined || mode === null) return def;
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0xffffffff) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be an integer >= 0 && <= 4294967295. Received ${mode}`);
    }
    return mode;
  }
  if (typeof mode === 'string') {
    if (!/^[0-7]+$/.test(mode)) throw argError(TypeError, 'ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a 32-bit unsigned integer or an octal string. Received '${mode}'`);
    return parseInt(mode, 8);
  }
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number. Received ${describeValue(mode)}`);
}

/** A uid/gid argument: an integer from -1 (unchanged) to 2^32-1. */
export function parseId(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number. Received ${describeValue(v)}`);
  }
  if (v < -1 || v > 0xffffffff) throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= -1 && <= 4294967295. Received ${v}`);
  return v;
}

/**
 * Node's time arguments as a Timespec, the way Node 20 and libuv compute it: a numeric string
 * or a finite number of seconds (negative means now), or a Date; then whole seconds truncated
 * toward zero and the fraction truncated to microseconds (libuv's uv__fs_to_timespec), so
 * `utimes(p, d, d)` stores exactly what it stores on Linux.
 */
export function toTimespec(t: unknown, name: string): Timespec {
  let secs: number;
  if (typeof t === 'string' && t.trim() !== '' && Number.isFinite(Number(t))) secs = Number(t);
  else if (typeof t === 'number' && Number.isFinite(t)) secs = t < 0 ? Date.now() / 1000 : t;
  else if (t instanceof Date) secs = t.getTime() / 1000;
  else throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number or an instance of Date. Received ${describeValue(t)}`);
  if (!Number.isFinite(secs)) throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be a valid time. Received ${String(t)}`);
  let sec = Math.trunc(secs);
  let nsec = Math.trunc((secs - sec) * 1e9);
  nsec -= nsec % 1000;
  if (nsec < 0) {
    nsec += 1e9;
    sec -= 1;
  }
  return { sec, nsec };
}

/** A file offset/position argument: null, undefined and -1 mean "the current position". */
export function parsePosition(p: unknown): number | null {
  if (p === null || p === undefined) return null;
  if (typeof p === 'bigint') p = Number(p);
  if (typeof p !== 'number' || !Number.isInteger(p)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "position" argument must be of type number or bigint. Received ${describeValue(p)}`);
  }
  if (p === -1) return null;
  if (p < 0) throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "position" is out of range. It must be >= -1 && <= 9007199254740991. Received ${p}`);
  return p;
}
