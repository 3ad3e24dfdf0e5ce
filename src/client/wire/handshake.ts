/**
 * Bodies of the rare frames: handshake, prefork and errors. They are small JSON objects (bounded
 * by JSON_BODY_MAX), checked field by field on receipt; the hot path (syscalls) is binary.
 *
 * Handshake request (class request, type handshake, word = kind):
 *   kind HANDSHAKE_GUEST (0): a new process   {"version":1,"uid":0,"gid":0,"groups":[],"comm":"rump.ls"}
 *   kind HANDSHAKE_FORK (2):  a forked child  {"version":1,"cookie":"<32 hex digits>","comm":"..."}
 * (HANDSHAKE_AUTH 1 and HANDSHAKE_EXEC 3 are NetBSD's numbers, reserved.) uid/gid/groups are the
 * credentials the client asks for; a server that pins credentials ignores them. A fork child
 * inherits its parent's credentials, descriptors and cwd.
 * Handshake response: {"pid":5,"ppid":1,"uid":0,"gid":0,"maxFrame":N,"maxIo":N,"maxIov":N,"maxData":N}
 *
 * Prefork request (type prefork): empty body; response body: the cookie, 32 hex digits (ASCII).
 *
 * Error (class error, word = NetBSD errno): {"code":"ENOENT","detail":"...","syscall":"open","path":"/x"}
 * (detail, syscall and path optional). The client rebuilds the same `KernelError`: same code,
 * errno, message, syscall and path.
 */

import { KernelError, errnoName, type ErrnoName } from '../../kern/errno.js';
import { NGROUPS_MAX } from '../../kern/types.js';
import { fromUtf8, utf8 } from './buf.js';

export const HANDSHAKE_GUEST = 0;
export const HANDSHAKE_AUTH = 1;
export const HANDSHAKE_FORK = 2;
export const HANDSHAKE_EXEC = 3;

export const JSON_BODY_MAX = 4096;
export const COOKIE_RE = /^[0-9a-f]{32}$/;
const COMM_MAX = 64;
const ID_MAX = 0xfffffffe;

export interface HandshakeRequest {
  readonly version: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly groups?: readonly number[];
  /** Command name for the process (ps/sockstat style listings). */
  readonly comm?: string;
  /** Prefork cookie (fork handshakes only). */
  readonly cookie?: string;
}

export interface HandshakeResponse {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly gid: number;
  readonly maxFrame: number;
  readonly maxIo: number;
  readonly maxIov: number;
  readonly maxData: number;
}

function parseObject(body: Uint8Array, what: string): Record<string, unknown> {
  if (body.byteLength > JSON_BODY_MAX) throw new KernelError('EPROTO', `${what} of ${body.byteLength} bytes exceeds ${JSON_BODY_MAX}`);
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(body, what));
  } catch (e) {
    if (e instanceof KernelError) throw new KernelError('EPROTO', e.detail ?? e.message);
    throw new KernelError('EPROTO', `${what} is not valid JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new KernelError('EPROTO', `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= ID_MAX;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

export function encodeHandshake(req: HandshakeRequest): Uint8Array {
  return utf8(JSON.stringify(req));
}

/** Server side: parse and check a handshake request (EPROTO for anything malformed). */
export function decodeHandshake(body: Uint8Array): HandshakeRequest {
  const o = parseObject(body, 'handshake');
  const version = o['version'];
  if (typeof version !== 'number' || !Number.isInteger(version)) throw new KernelError('EPROTO', 'handshake without an integer protocol version');
  const out: { -readonly [K in keyof HandshakeRequest]: HandshakeRequest[K] } = { version };
  if (o['uid'] !== undefined) {
    if (!isId(o['uid'])) throw new KernelError('EINVAL', `handshake uid ${JSON.stringify(o['uid'])} is not a user id`);
    out.uid = o['uid'];
  }
  if (o['gid'] !== undefined) {
    if (!isId(o['gid'])) throw new KernelError('EINVAL', `handshake gid ${JSON.stringify(o['gid'])} is not a group id`);
    out.gid = o['gid'];
  }
  if (o['groups'] !== undefined) {
    const g = o['groups'];
    if (!Array.isArray(g) || g.length > NGROUPS_MAX || !g.every(isId)) {
      throw new KernelError('EINVAL', `handshake groups must be at most ${NGROUPS_MAX} group ids`);
    }
    out.groups = g as number[];
  }
  if (o['comm'] !== undefined) {
    if (typeof o['comm'] !== 'string') throw new KernelError('EINVAL', 'handshake comm is not a string');
    out.comm = o['comm'].slice(0, COMM_MAX);
  }
  if (o['cookie'] !== undefined) {
    if (typeof o['cookie'] !== 'string' || !COOKIE_RE.test(o['cookie'])) throw new KernelError('EINVAL', 'handshake cookie is not 32 hex digits');
    out.cookie = o['cookie'];
  }
  return out;
}

export function encodeHandshakeResponse(r: HandshakeResponse): Uint8Array {
  return utf8(JSON.stringify(r));
}

/** Client side: parse the server's handshake response. */
export function decodeHandshakeResponse(body: Uint8Array): HandshakeResponse {
  const o = parseObject(body, 'handshake response');
  const num = (k: string, check: (v: unknown) => boolean): number => {
    const v = o[k];
    if (!check(v)) throw new KernelError('EPROTO', `handshake response field '${k}' is missing or invalid`);
    return v as number;
  };
  return {
    pid: num('pid', isId), ppid: num('ppid', isId), uid: num('uid', isId), gid: num('gid', isId),
    maxFrame: num('maxFrame', isCount), maxIo: num('maxIo', isCount), maxIov: num('maxIov', isCount), maxData: num('maxData', isCount),
  };
}

// ---------------------------------------------------------------------------------------------
// errors

export interface EncodedError {
  readonly errno: number;
  readonly body: Uint8Array;
}

export function encodeError(e: KernelError): EncodedError {
  const o: Record<string, string> = { code: e.code };
  if (e.detail !== undefined) o['detail'] = e.detail.length > 1024 ? `${e.detail.slice(0, 1024)}...` : e.detail;
  if (e.syscall !== undefined) o['syscall'] = e.syscall;
  if (e.path !== undefined) o['path'] = e.path.length > 1024 ? `${e.path.slice(0, 1024)}...` : e.path;
  return { errno: e.errno, body: utf8(JSON.stringify(o)) };
}

/** Rebuild the `KernelError` an error frame carries. A malformed body still yields an error. */
export function decodeError(errno: number, body: Uint8Array): KernelError {
  let o: Record<string, unknown>;
  try {
    o = parseObject(body, 'error body');
  } catch {
    o = {};
  }
  const byNum = errnoName(errno);
  const code: ErrnoName = byNum ?? 'EIO';
  const detail = typeof o['detail'] === 'string' ? o['detail'] : byNum === undefined ? `the server sent unknown errno ${errno}` : undefined;
  const e = new KernelError(code, detail);
  if (typeof o['syscall'] === 'string') e.annotate(o['syscall'], typeof o['path'] === 'string' ? o['path'] : undefined);
  return e;
}
