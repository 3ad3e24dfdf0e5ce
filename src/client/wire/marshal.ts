/**
 * Syscall arguments and results on the wire, derived from the syscall table.
 *
 * Every argument tag and result tag of src/kern/syscalltable.ts has exactly one encoder and one
 * decoder here; a syscall's request body is its arguments in table order and its response body
 * is its result followed by the copyout data of its `bufout`/`iovout` arguments. Nothing here
 * names a syscall: adding one to the table adds it to the protocol.
 *
 *   tag      request body                                  response body (after the result)
 *   int      i64, in [-2^31, 2^32)                         -
 *   off      i64, a safe integer                           -
 *   path/str u32 length + UTF-8                            -
 *   bufin    u32 length + bytes                            -
 *   bufout   u32 length of the caller's buffer             u32 n + n bytes (copyout)
 *   iovin    u32 count + count x (u32 length + bytes)      -
 *   iovout   u32 count + count x u32 length                u32 n + n bytes, scattered in order
 *   times    u8 0 (null: now) | u8 1 + 4 x i64 (atime sec, nsec, mtime sec, nsec)
 *   data     u8 0 (undefined) | u8 1 + u32 length + JSON text (bounded)
 *   sockaddr u8 0 (null) | u8 1 + SOCKADDR
 *   cmsgs    u8 0 (null) | u8 1 + u32 count + count x CMSG
 *   pollfds  u32 count + count x (i64 fd, i64 events)
 *
 *   SOCKADDR i64 family, u8 mask of present fields, then those present, in this order:
 *            path (1, string), addr (2, string), port (4, i64), scopeId (8, i64),
 *            flowinfo (16, i64), data (32, u32 length + bytes)
 *   CMSG     i64 level, i64 type, u8 mask, data (1, u32 length + bytes),
 *            fds (2, u32 count + count x i64)
 *
 *   ret      response body
 *   void     -
 *   int/off  i64
 *   str      u32 length + UTF-8
 *   stat     20 x i64, in STAT_FIELDS order
 *   statvfs  15 x i64 (STATVFS_NUMBERS) + 3 strings (STATVFS_STRINGS)
 *   dirents  u32 count + count x (i64 ino, u32 type, u32 length + UTF-8 name)
 *   fdpair   2 x i64
 *   data     as the data argument
 *   sockaddr SOCKADDR
 *   accept   i64 fd, then u8 0 | u8 1 + SOCKADDR
 *   recv     i64 n, u8 0 | u8 1 + SOCKADDR, i64 flags, u8 0 | u8 1 + u32 count + count x CMSG
 *   revents  u32 count + count x i64
 *
 * Copyout length: for a syscall returning a byte count (`int`: read, readv, pread...; `recv`:
 * its `n`), the first `min(count, buffer length)` bytes travel back; otherwise the whole buffer. I/O sizes are
 * bounded by `maxIo`: the server never allocates more than that for the `bufout`/`iovout`
 * buffers of one request (a larger read is served short, as read(2) may be), and the client
 * sends at most that much of a `bufin`/`iovin` for a count-returning syscall (a short write).
 *
 * Decoding is checked (see buf.ts): a malformed body is a `KernelError` EINVAL naming the
 * syscall and the argument, and never reaches the kernel.
 */

import { KernelError } from '../../kern/errno.js';
import type { SyscallSpec } from '../../kern/syscalltable.js';
import type { Cmsg, Dirent, PollFd, RecvResult, Sockaddr, Stat, Statvfs, Timespec } from '../../kern/types.js';
import { Reader, type Writer } from './buf.js';

export interface MarshalLimits {
  /** Most bytes of buffers one request moves in either direction. */
  readonly maxIo: number;
  /** Most iovecs in an iovin/iovout argument (IOV_MAX). */
  readonly maxIov: number;
  /** Most bytes of a string argument or of a JSON data value. */
  readonly maxData: number;
}

export const IOV_MAX = 1024;
export const DEFAULT_LIMITS: MarshalLimits = { maxIo: 8 << 20, maxIov: IOV_MAX, maxData: 1 << 20 };

export const STAT_FIELDS = [
  'dev', 'ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'blksize', 'flags', 'gen',
  'atimeSec', 'atimeNsec', 'mtimeSec', 'mtimeNsec', 'ctimeSec', 'ctimeNsec', 'birthtimeSec', 'birthtimeNsec',
] as const satisfies readonly (keyof Stat)[];

export const STATVFS_NUMBERS = [
  'flag', 'bsize', 'frsize', 'iosize', 'blocks', 'bfree', 'bavail', 'bresvd', 'files', 'ffree', 'favail', 'fresvd',
  'fsid', 'namemax', 'owner',
] as const satisfies readonly (keyof Statvfs)[];

export const STATVFS_STRINGS = ['fstypename', 'mntonname', 'mntfromname'] as const satisfies readonly (keyof Statvfs)[];

// A field added to Stat or Statvfs without a place on the wire fails to compile here.
type Missing<T, L> = Exclude<keyof T, L>;
const statComplete: [Missing<Stat, (typeof STAT_FIELDS)[number]>] extends [never] ? true : false = true;
const statvfsComplete: [Missing<Statvfs, (typeof STATVFS_NUMBERS)[number] | (typeof STATVFS_STRINGS)[number]>] extends [never] ? true : false = true;
void statComplete;
void statvfsComplete;

const INT_MIN = -0x80000000, INT_MAX = 0xffffffff;

function bad(name: string, arg: string, why: string): never {
  throw new KernelError('EINVAL', `argument '${arg}' of ${name} ${why}`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `a string`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `a Uint8Array`;
  return typeof v === 'number' ? String(v) : `a value of type ${typeof v}`;
}

function isUint8Array(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function jsonText(name: string, arg: string, v: unknown, max: number): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch (e) {
    bad(name, arg, `cannot be sent as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (s === undefined) bad(name, arg, `cannot be sent as JSON (${typeof v})`);
  if (s.length > max) bad(name, arg, `is ${s.length} characters of JSON, more than the limit of ${max}`);
  return s;
}

function totalLength(iov: readonly Uint8Array[]): number {
  let n = 0;
  for (const b of iov) n += b.byteLength;
  return n;
}

/** Does the syscall return a byte count (so a short transfer is allowed)? */
function countsBytes(spec: SyscallSpec): boolean {
  return spec.ret === 'int' || spec.ret === 'recv';
}

function unreachable(tag: never, what: string): never {
  throw new KernelError('EINVAL', `no wire encoding for ${what} tag '${String(tag)}'`);
}

// ---------------------------------------------------------------------------------------------
// socket addresses and control messages (shared by arguments and results)

const SA_PATH = 1, SA_ADDR = 2, SA_PORT = 4, SA_SCOPE = 8, SA_FLOW = 16, SA_DATA = 32;
const CM_DATA = 1, CM_FDS = 2;

type Fail = (why: string) => never;

function optInt(o: Record<string, unknown>, k: string, fail: Fail): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`has a ${k} that is not an integer (${describe(v)})`);
  return v;
}

function putSockaddr(w: Writer, v: unknown, fail: Fail): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`must be a socket address object, got ${describe(v)}`);
  const o = v as Record<string, unknown>;
  const family = optInt(o, 'family', fail);
  if (family === undefined) fail('has no family');
  const path = o['path'], addr = o['addr'], data = o['data'];
  if (path !== undefined && typeof path !== 'string') fail('has a path that is not a string');
  if (addr !== undefined && typeof addr !== 'string') fail('has an addr that is not a string');
  if (data !== undefined && !isUint8Array(data)) fail('has data that is not a Uint8Array');
  const port = optInt(o, 'port', fail), scope = optInt(o, 'scopeId', fail), flow = optInt(o, 'flowinfo', fail);
  const mask = (path !== undefined ? SA_PATH : 0) | (addr !== undefined ? SA_ADDR : 0) | (port !== undefined ? SA_PORT : 0)
    | (scope !== undefined ? SA_SCOPE : 0) | (flow !== undefined ? SA_FLOW : 0) | (data !== undefined ? SA_DATA : 0);
  w.i64(family);
  w.u8(mask);
  if (path !== undefined) w.str(path);
  if (addr !== undefined) w.str(addr);
  if (port !== undefined) w.i64(port);
  if (scope !== undefined) w.i64(scope);
  if (flow !== undefined) w.i64(flow);
  if (data !== undefined) w.blob(data);
}

function getSockaddr(r: Reader, field: string, max: number): Sockaddr {
  const sa: Sockaddr = { family: r.i64(field) };
  const mask = r.u8(field);
  if ((mask & ~63) !== 0) r.fail(field, `has unknown field bits 0x${mask.toString(16)}`);
  if ((mask & SA_PATH) !== 0) sa.path = r.str(field, max);
  if ((mask & SA_ADDR) !== 0) sa.addr = r.str(field, max);
  if ((mask & SA_PORT) !== 0) sa.port = r.i64(field);
  if ((mask & SA_SCOPE) !== 0) sa.scopeId = r.i64(field);
  if ((mask & SA_FLOW) !== 0) sa.flowinfo = r.i64(field);
  if ((mask & SA_DATA) !== 0) sa.data = r.blob(field, max).slice();
  return sa;
}

function putOptSockaddr(w: Writer, v: unknown, fail: Fail): void {
  if (v === null) {
    w.u8(0);
  } else {
    w.u8(1);
    putSockaddr(w, v, fail);
  }
}

function getOptSockaddr(r: Reader, field: string, max: number): Sockaddr | null {
  const flag = r.u8(field);
  if (flag === 0) return null;
  if (flag !== 1) r.fail(field, `has presence flag ${flag} (not 0 or 1)`);
  return getSockaddr(r, field, max);
}

function putCmsgs(w: Writer, v: unknown, maxIov: number, fail: Fail): void {
  if (v === null) {
    w.u8(0);
    return;
  }
  if (!Array.isArray(v)) fail(`must be null or an array of control messages, got ${describe(v)}`);
  if (v.length > maxIov) fail(`has ${v.length} control messages, more than ${maxIov}`);
  w.u8(1);
  w.u32(v.length);
  for (const c of v as unknown[]) {
    if (c === null || typeof c !== 'object') fail('holds a control message that is not an object');
    const o = c as Record<string, unknown>;
    const level = optInt(o, 'level', fail), type = optInt(o, 'type', fail);
    if (level === undefined || type === undefined) fail('holds a control message without level and type');
    const data = o['data'], fds = o['fds'];
    if (data !== undefined && !isUint8Array(data)) fail('holds control data that is not a Uint8Array');
    if (fds !== undefined && (!Array.isArray(fds) || fds.length > maxIov || !fds.every((x) => Number.isSafeInteger(x)))) {
      fail(`holds fds that are not a list of at most ${maxIov} integers`);
    }
    w.i64(level);
    w.i64(type);
    w.u8((data !== undefined ? CM_DATA : 0) | (fds !== undefined ? CM_FDS : 0));
    if (data !== undefined) w.blob(data);
    if (fds !== undefined) {
      w.u32((fds as number[]).length);
      for (const fd of fds as number[]) w.i64(fd);
    }
  }
}

function getCmsgs(r: Reader, field: string, limits: MarshalLimits): Cmsg[] | null {
  const flag = r.u8(field);
  if (flag === 0) return null;
  if (flag !== 1) r.fail(field, `has presence flag ${flag} (not 0 or 1)`);
  const count = r.u32(field);
  if (count > limits.maxIov) r.fail(field, `has ${count} control messages, more than ${limits.maxIov}`);
  const out: Cmsg[] = [];
  for (let j = 0; j < count; j++) {
    const c: Cmsg = { level: r.i64(field), type: r.i64(field) };
    const mask = r.u8(field);
    if ((mask & ~3) !== 0) r.fail(field, `has unknown control message bits 0x${mask.toString(16)}`);
    if ((mask & CM_DATA) !== 0) c.data = r.blob(field, limits.maxIo).slice();
    if ((mask & CM_FDS) !== 0) {
      const n = r.u32(field);
      if (n > limits.maxIov) r.fail(field, `carries ${n} descriptors, more than ${limits.maxIov}`);
      const fds: number[] = [];
      for (let k = 0; k < n; k++) fds.push(r.i64(field));
      c.fds = fds;
    }
    out.push(c);
  }
  return out;
}

/** Most pollfds in one poll (each is 16 bytes on the wire, so the frame bounds it first). */
export const POLL_MAX = 65536;

// ---------------------------------------------------------------------------------------------
// requests

/**
 * Client side: write the arguments of `name` (checked against the table: count and type of
 * each). Buffers given to a count-returning syscall are cut to `limits.maxIo` in total.
 */
export function encodeArgs(w: Writer, name: string, spec: SyscallSpec, args: readonly unknown[], limits: MarshalLimits = DEFAULT_LIMITS): void {
  const specArgs = spec.args;
  if (args.length !== specArgs.length) {
    throw new KernelError('EINVAL', `${name} takes ${specArgs.length} argument(s) (${specArgs.map((a) => a[0]).join(', ')}), got ${args.length}`);
  }
  // a count-returning syscall may transfer less than asked; others send everything (the frame
  // limit bounds them)
  let ioLeft = countsBytes(spec) ? limits.maxIo : Infinity;
  for (let i = 0; i < specArgs.length; i++) {
    const [arg, tag] = specArgs[i]!;
    const v = args[i];
    switch (tag) {
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < INT_MIN || v > INT_MAX) bad(name, arg, `must be a 32-bit integer, got ${describe(v)}`);
        w.i64(v);
        break;
      case 'off':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(name, arg, `must be a safe integer, got ${describe(v)}`);
        w.i64(v);
        break;
      case 'path':
      case 'str':
        if (typeof v !== 'string') bad(name, arg, `must be a string, got ${describe(v)}`);
        if (v.length > limits.maxData) bad(name, arg, `is longer than the limit of ${limits.maxData}`);
        w.str(v);
        break;
      case 'bufin': {
        if (!isUint8Array(v)) bad(name, arg, `must be a Uint8Array, got ${describe(v)}`);
        const n = Math.min(v.byteLength, ioLeft);
        ioLeft -= n;
        w.blob(n === v.byteLength ? v : v.subarray(0, n));
        break;
      }
      case 'bufout': {
        if (!isUint8Array(v)) bad(name, arg, `must be a Uint8Array, got ${describe(v)}`);
        const n = Math.min(v.byteLength, limits.maxIo);
        w.u32(n);
        break;
      }
      case 'iovin': {
        if (!Array.isArray(v) || !v.every(isUint8Array)) bad(name, arg, `must be an array of Uint8Array, got ${describe(v)}`);
        if (v.length > limits.maxIov) bad(name, arg, `has ${v.length} iovecs, more than IOV_MAX (${limits.maxIov})`);
        w.u32(v.length);
        for (const b of v as Uint8Array[]) {
          const n = Math.min(b.byteLength, ioLeft);
          ioLeft -= n;
          w.blob(n === b.byteLength ? b : b.subarray(0, n));
        }
        break;
      }
      case 'iovout': {
        if (!Array.isArray(v) || !v.every(isUint8Array)) bad(name, arg, `must be an array of Uint8Array, got ${describe(v)}`);
        if (v.length > limits.maxIov) bad(name, arg, `has ${v.length} iovecs, more than IOV_MAX (${limits.maxIov})`);
        w.u32(v.length);
        let left = limits.maxIo;
        for (const b of v as Uint8Array[]) {
          const n = Math.min(b.byteLength, left);
          left -= n;
          w.u32(n);
        }
        break;
      }
      case 'times': {
        if (v === null) {
          w.u8(0);
          break;
        }
        if (!Array.isArray(v) || v.length !== 2) bad(name, arg, `must be null or [atime, mtime], got ${describe(v)}`);
        w.u8(1);
        for (const t of v as unknown[]) {
          const ts = t as Partial<Timespec> | null;
          if (ts === null || typeof ts !== 'object' || !Number.isSafeInteger(ts.sec) || !Number.isSafeInteger(ts.nsec)) {
            bad(name, arg, 'must hold two { sec, nsec } timespecs with integer fields');
          }
          w.i64(ts.sec!);
          w.i64(ts.nsec!);
        }
        break;
      }
      case 'data':
        if (v === undefined) {
          w.u8(0);
        } else {
          w.u8(1);
          w.str(jsonText(name, arg, v, limits.maxData));
        }
        break;
      case 'sockaddr':
        putOptSockaddr(w, v, (why) => bad(name, arg, why));
        break;
      case 'cmsgs':
        putCmsgs(w, v, limits.maxIov, (why) => bad(name, arg, why));
        break;
      case 'pollfds': {
        if (!Array.isArray(v)) bad(name, arg, `must be an array of { fd, events }, got ${describe(v)}`);
        if (v.length > POLL_MAX) bad(name, arg, `has ${v.length} entries, more than ${POLL_MAX}`);
        w.u32(v.length);
        for (const p of v as unknown[]) {
          const o = p as Partial<PollFd> | null;
          if (o === null || typeof o !== 'object' || !Number.isInteger(o.fd) || !Number.isInteger(o.events)
            || o.fd! < INT_MIN || o.fd! > INT_MAX || o.events! < INT_MIN || o.events! > INT_MAX) {
            bad(name, arg, 'must hold { fd, events } entries with 32-bit integer fields');
          }
          w.i64(o.fd!);
          w.i64(o.events!);
        }
        break;
      }
      default:
        unreachable(tag, 'argument');
    }
  }
}

/** Allocates the buffers of one output argument, given their lengths. */
export type OutAlloc = (lens: readonly number[]) => Uint8Array[];

const newBuffers: OutAlloc = (lens) => lens.map((n) => new Uint8Array(n));

/**
 * Server side: read the arguments of `name` from a request body. Output buffers are allocated
 * here (by `alloc`, default fresh zeroed arrays), together at most `limits.maxIo` bytes. EINVAL
 * on anything malformed, trailing bytes included.
 */
export function decodeArgs(body: Uint8Array, name: string, spec: SyscallSpec, limits: MarshalLimits = DEFAULT_LIMITS, alloc: OutAlloc = newBuffers): unknown[] {
  const r = new Reader(body, `arguments of ${name}`);
  const out: unknown[] = new Array(spec.args.length);
  let ioLeft = limits.maxIo;
  for (let i = 0; i < spec.args.length; i++) {
    const [arg, tag] = spec.args[i]!;
    switch (tag) {
      case 'int': {
        const v = r.i64(arg);
        if (v < INT_MIN || v > INT_MAX) r.fail(arg, `${v} is not a 32-bit integer`);
        out[i] = v;
        break;
      }
      case 'off':
        out[i] = r.i64(arg);
        break;
      case 'path':
      case 'str':
        out[i] = r.str(arg, limits.maxData * 3);
        break;
      case 'bufin':
        out[i] = r.blob(arg, body.byteLength);
        break;
      case 'bufout': {
        const n = Math.min(r.u32(arg), ioLeft);
        ioLeft -= n;
        out[i] = alloc([n])[0];
        break;
      }
      case 'iovin': {
        const count = r.u32(arg);
        if (count > limits.maxIov) r.fail(arg, `has ${count} iovecs, more than IOV_MAX (${limits.maxIov})`);
        const iov: Uint8Array[] = [];
        for (let j = 0; j < count; j++) iov.push(r.blob(arg, body.byteLength));
        out[i] = iov;
        break;
      }
      case 'iovout': {
        const count = r.u32(arg);
        if (count > limits.maxIov) r.fail(arg, `has ${count} iovecs, more than IOV_MAX (${limits.maxIov})`);
        const lens: number[] = [];
        for (let j = 0; j < count; j++) lens.push(r.u32(arg));
        const clamped: number[] = [];
        for (const len of lens) {
          const n = Math.min(len, ioLeft);
          ioLeft -= n;
          clamped.push(n);
        }
        out[i] = alloc(clamped);
        break;
      }
      case 'times': {
        const flag = r.u8(arg);
        if (flag === 0) {
          out[i] = null;
        } else if (flag === 1) {
          const a = { sec: r.i64(arg), nsec: r.i64(arg) };
          const m = { sec: r.i64(arg), nsec: r.i64(arg) };
          out[i] = [a, m];
        } else {
          r.fail(arg, `has presence flag ${flag} (not 0 or 1)`);
        }
        break;
      }
      case 'data':
        out[i] = readData(r, arg, limits.maxData);
        break;
      case 'sockaddr':
        out[i] = getOptSockaddr(r, arg, limits.maxData);
        break;
      case 'cmsgs':
        out[i] = getCmsgs(r, arg, limits);
        break;
      case 'pollfds': {
        const count = r.u32(arg);
        if (count > POLL_MAX) r.fail(arg, `has ${count} entries, more than ${POLL_MAX}`);
        if (count * 16 > r.remaining) r.fail(arg, `count ${count} does not fit in the ${r.remaining} bytes left`);
        const fds: PollFd[] = [];
        for (let j = 0; j < count; j++) {
          const fd = r.i64(arg), events = r.i64(arg);
          if (fd < INT_MIN || fd > INT_MAX || events < INT_MIN || events > INT_MAX) r.fail(arg, 'holds a value that is not a 32-bit integer');
          fds.push({ fd, events });
        }
        out[i] = fds;
        break;
      }
      default:
        unreachable(tag, 'argument');
    }
  }
  r.end();
  return out;
}

function readData(r: Reader, field: string, max: number): unknown {
  const flag = r.u8(field);
  if (flag === 0) return undefined;
  if (flag !== 1) r.fail(field, `has presence flag ${flag} (not 0 or 1)`);
  const text = r.str(field, max * 3);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return r.fail(field, 'is not valid JSON');
  }
}

// ---------------------------------------------------------------------------------------------
// responses

/**
 * Encoded size of a result tag when it does not depend on the value (void, int, off, fdpair,
 * stat), else null. With such a result and one output argument, a response's layout is known
 * before the call: the server lets the kernel fill the response frame in place.
 */
export function fixedResultSize(ret: SyscallSpec['ret']): number | null {
  switch (ret) {
    case 'void': return 0;
    case 'int': case 'off': return 8;
    case 'fdpair': return 16;
    case 'stat': return 8 * STAT_FIELDS.length;
    default: return null;
  }
}

/** Index of the syscall's only output (bufout/iovout) argument; -1 for none, -2 for several. */
export function outputArg(spec: SyscallSpec): number {
  let at = -1;
  for (let i = 0; i < spec.args.length; i++) {
    const tag = spec.args[i]![1];
    if (tag === 'bufout' || tag === 'iovout') at = at === -1 ? i : -2;
  }
  return at;
}

/** Bytes of an output buffer of `len` bytes that travel back, given the result. */
export function copyoutLength(spec: SyscallSpec, result: unknown, len: number): number {
  const n = spec.ret === 'int' ? result : spec.ret === 'recv' ? (result as Partial<RecvResult> | null)?.n : undefined;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return Math.min(n, len);
  return len;
}

function resultError(name: string, why: string): never {
  throw new KernelError('EIO', `${name} returned ${why} (a kernel bug)`);
}

function putNumber(w: Writer, name: string, field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) resultError(name, `a ${field} that is not a safe integer (${String(v)})`);
  w.i64(v);
}

/**
 * Server side: write the result of `name`, then the copyout data of its output buffers (the
 * arrays `decodeArgs` allocated, now filled in by the kernel).
 */
export function encodeResult(w: Writer, name: string, spec: SyscallSpec, args: readonly unknown[], result: unknown, limits: MarshalLimits = DEFAULT_LIMITS): void {
  encodeResultValue(w, name, spec, result, limits);
  encodeCopyouts(w, spec, args, result);
}

/** Server side: the result alone (EIO for a value that does not fit its tag: a kernel bug). */
export function encodeResultValue(w: Writer, name: string, spec: SyscallSpec, result: unknown, limits: MarshalLimits = DEFAULT_LIMITS): void {
  switch (spec.ret) {
    case 'void':
      break;
    case 'int':
    case 'off':
      putNumber(w, name, 'result', result);
      break;
    case 'str':
      if (typeof result !== 'string') resultError(name, 'a non-string');
      w.str(result);
      break;
    case 'stat': {
      const st = result as Record<string, unknown> | null;
      if (st === null || typeof st !== 'object') resultError(name, 'no stat');
      for (const f of STAT_FIELDS) putNumber(w, name, f, st[f]);
      break;
    }
    case 'statvfs': {
      const sv = result as Record<string, unknown> | null;
      if (sv === null || typeof sv !== 'object') resultError(name, 'no statvfs');
      for (const f of STATVFS_NUMBERS) putNumber(w, name, f, sv[f]);
      for (const f of STATVFS_STRINGS) {
        const s = sv[f];
        if (typeof s !== 'string') resultError(name, `a non-string ${f}`);
        w.str(s);
      }
      break;
    }
    case 'dirents': {
      if (!Array.isArray(result)) resultError(name, 'a non-array of dirents');
      w.u32(result.length);
      for (const d of result as Dirent[]) {
        putNumber(w, name, 'ino', d.ino);
        if (!Number.isInteger(d.type) || d.type < 0 || d.type > 0xffffffff) resultError(name, `a dirent type ${String(d.type)}`);
        w.u32(d.type);
        if (typeof d.name !== 'string') resultError(name, 'a dirent without a name');
        w.str(d.name);
      }
      break;
    }
    case 'fdpair': {
      if (!Array.isArray(result) || result.length !== 2) resultError(name, 'a non-pair');
      putNumber(w, name, 'fd', result[0]);
      putNumber(w, name, 'fd', result[1]);
      break;
    }
    case 'data':
      if (result === undefined) {
        w.u8(0);
      } else {
        let s: string | undefined;
        try {
          s = JSON.stringify(result);
        } catch (e) {
          resultError(name, `data that is not JSON (${e instanceof Error ? e.message : String(e)})`);
        }
        if (s === undefined) resultError(name, `data that is not JSON (${typeof result})`);
        if (s.length > limits.maxData) throw new KernelError('EMSGSIZE', `${name} result of ${s.length} characters of JSON exceeds the limit of ${limits.maxData}`);
        w.u8(1);
        w.str(s);
      }
      break;
    case 'sockaddr':
      putSockaddr(w, result, (why) => resultError(name, `an address that ${why}`));
      break;
    case 'accept': {
      const a = result as { fd?: unknown; addr?: unknown } | null;
      if (a === null || typeof a !== 'object') resultError(name, 'no { fd, addr }');
      putNumber(w, name, 'fd', a.fd);
      putOptSockaddr(w, a.addr ?? null, (why) => resultError(name, `an address that ${why}`));
      break;
    }
    case 'recv': {
      const rr = result as Partial<RecvResult> | null;
      if (rr === null || typeof rr !== 'object') resultError(name, 'no receive result');
      putNumber(w, name, 'n', rr.n);
      putOptSockaddr(w, rr.addr ?? null, (why) => resultError(name, `an address that ${why}`));
      putNumber(w, name, 'flags', rr.flags);
      putCmsgs(w, rr.control ?? null, limits.maxIov, (why) => resultError(name, `control data that ${why}`));
      break;
    }
    case 'revents': {
      if (!Array.isArray(result)) resultError(name, 'a non-array of revents');
      w.u32(result.length);
      for (const x of result as unknown[]) putNumber(w, name, 'revents', x);
      break;
    }
    default:
      unreachable(spec.ret, 'result');
  }
}

/** Server side: the copyout data of the output arguments, after the result. */
export function encodeCopyouts(w: Writer, spec: SyscallSpec, args: readonly unknown[], result: unknown): void {
  for (let i = 0; i < spec.args.length; i++) {
    const tag = spec.args[i]![1];
    if (tag === 'bufout') {
      const b = args[i] as Uint8Array;
      const n = copyoutLength(spec, result, b.byteLength);
      w.u32(n);
      w.bytes(n === b.byteLength ? b : b.subarray(0, n));
    } else if (tag === 'iovout') {
      const iov = args[i] as readonly Uint8Array[];
      let n = copyoutLength(spec, result, totalLength(iov));
      w.u32(n);
      for (const b of iov) {
        if (n === 0) break;
        const k = Math.min(n, b.byteLength);
        w.bytes(k === b.byteLength ? b : b.subarray(0, k));
        n -= k;
      }
    }
  }
}

// Literals in STAT_FIELDS / STATVFS_* order (a fixed object shape is much faster than adding
// keys one by one); the table round-trip test checks the order with a distinct value per field.
function readStat(r: Reader): Stat {
  return {
    dev: r.i64('dev'), ino: r.i64('ino'), mode: r.i64('mode'), nlink: r.i64('nlink'), uid: r.i64('uid'), gid: r.i64('gid'),
    rdev: r.i64('rdev'), size: r.i64('size'), blocks: r.i64('blocks'), blksize: r.i64('blksize'), flags: r.i64('flags'),
    gen: r.i64('gen'), atimeSec: r.i64('atimeSec'), atimeNsec: r.i64('atimeNsec'), mtimeSec: r.i64('mtimeSec'),
    mtimeNsec: r.i64('mtimeNsec'), ctimeSec: r.i64('ctimeSec'), ctimeNsec: r.i64('ctimeNsec'),
    birthtimeSec: r.i64('birthtimeSec'), birthtimeNsec: r.i64('birthtimeNsec'),
  };
}

function readStatvfs(r: Reader, max: number): Statvfs {
  return {
    flag: r.i64('flag'), bsize: r.i64('bsize'), frsize: r.i64('frsize'), iosize: r.i64('iosize'), blocks: r.i64('blocks'),
    bfree: r.i64('bfree'), bavail: r.i64('bavail'), bresvd: r.i64('bresvd'), files: r.i64('files'), ffree: r.i64('ffree'),
    favail: r.i64('favail'), fresvd: r.i64('fresvd'), fsid: r.i64('fsid'), namemax: r.i64('namemax'), owner: r.i64('owner'),
    fstypename: r.str('fstypename', max), mntonname: r.str('mntonname', max), mntfromname: r.str('mntfromname', max),
  };
}

/**
 * Client side: read the result of `name` and copy the returned bytes into the caller's output
 * buffers (`args` are the caller's own arguments). EPROTO-worthy input is EINVAL here; the
 * client treats any failure as a broken server.
 */
export function decodeResult(body: Uint8Array | readonly Uint8Array[], name: string, spec: SyscallSpec, args: readonly unknown[], limits: MarshalLimits = DEFAULT_LIMITS): unknown {
  const r = new Reader(body, `result of ${name}`);
  const bodyLength = r.remaining;
  let result: unknown;
  switch (spec.ret) {
    case 'void':
      result = undefined;
      break;
    case 'int':
    case 'off':
      result = r.i64('result');
      break;
    case 'str':
      result = r.str('result', bodyLength);
      break;
    case 'stat':
      result = readStat(r);
      break;
    case 'statvfs':
      result = readStatvfs(r, bodyLength);
      break;
    case 'dirents': {
      const count = r.u32('dirent count');
      // each entry takes at least 16 bytes: a lying count fails before a huge allocation
      if (count * 16 > r.remaining) r.fail('dirent count', `${count} does not fit in the ${r.remaining} bytes left`);
      const ds: Dirent[] = [];
      for (let j = 0; j < count; j++) {
        const ino = r.i64('ino');
        const type = r.u32('type');
        const dname = r.str('name', bodyLength);
        ds.push({ ino, name: dname, type });
      }
      result = ds;
      break;
    }
    case 'fdpair':
      result = [r.i64('fd'), r.i64('fd')];
      break;
    case 'data':
      result = readData(r, 'result', limits.maxData);
      break;
    case 'sockaddr':
      result = getSockaddr(r, 'address', bodyLength);
      break;
    case 'accept': {
      const fd = r.i64('fd');
      result = { fd, addr: getOptSockaddr(r, 'address', bodyLength) };
      break;
    }
    case 'recv': {
      const n = r.i64('n');
      const addr = getOptSockaddr(r, 'address', bodyLength);
      const flags = r.i64('flags');
      const control = getCmsgs(r, 'control', { ...limits, maxIo: bodyLength, maxIov: Math.max(limits.maxIov, IOV_MAX) });
      result = { n, addr, flags, control } satisfies RecvResult;
      break;
    }
    case 'revents': {
      const count = r.u32('revents count');
      if (count * 8 > r.remaining) r.fail('revents count', `${count} does not fit in the ${r.remaining} bytes left`);
      const out: number[] = [];
      for (let j = 0; j < count; j++) out.push(r.i64('revents'));
      result = out;
      break;
    }
    default:
      unreachable(spec.ret, 'result');
  }
  for (let i = 0; i < spec.args.length; i++) {
    const tag = spec.args[i]![1];
    if (tag === 'bufout') {
      const dst = args[i] as Uint8Array;
      const n = r.u32('copyout');
      if (n > dst.byteLength) r.fail('copyout', `of ${n} bytes exceeds the ${dst.byteLength}-byte buffer`);
      r.copyTo(dst, 0, n, 'copyout');
    } else if (tag === 'iovout') {
      const iov = args[i] as readonly Uint8Array[];
      const n = r.u32('copyout');
      if (n > totalLength(iov)) r.fail('copyout', `of ${n} bytes exceeds the ${totalLength(iov)} bytes of the iovecs`);
      let left = n;
      for (const dst of iov) {
        if (left === 0) break;
        const k = Math.min(dst.byteLength, left);
        r.copyTo(dst, 0, k, 'copyout');
        left -= k;
      }
    }
  }
  r.end();
  return result;
}
