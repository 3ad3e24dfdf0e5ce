/**
 * errno: NetBSD's error numbering and names, the kernel's error type, and the mapping to the
 * Node-style errors (`code`, `errno`, `syscall`, `path`) that the hijack and ukfs present.
 *
 * Kernel code throws `KernelError` for every expected failure; the numbers are NetBSD's
 * (sys/errno.h). `linux` is the host number Node reports for the same name (Node's `errno`
 * field is its negation, as libuv reports it); names Linux lacks use libuv's own codes.
 */

interface ErrnoEntry { readonly num: number; readonly linux: number; readonly text: string }

/** name -> [NetBSD number, Linux/libuv number, description] */
const TABLE = {
  EPERM: [1, 1, 'operation not permitted'],
  ENOENT: [2, 2, 'no such file or directory'],
  ESRCH: [3, 3, 'no such process'],
  EINTR: [4, 4, 'interrupted system call'],
  EIO: [5, 5, 'i/o error'],
  ENXIO: [6, 6, 'device not configured'],
  E2BIG: [7, 7, 'argument list too long'],
  ENOEXEC: [8, 8, 'exec format error'],
  EBADF: [9, 9, 'bad file descriptor'],
  ECHILD: [10, 10, 'no child processes'],
  EDEADLK: [11, 35, 'resource deadlock avoided'],
  ENOMEM: [12, 12, 'cannot allocate memory'],
  EACCES: [13, 13, 'permission denied'],
  EFAULT: [14, 14, 'bad address'],
  ENOTBLK: [15, 15, 'block device required'],
  EBUSY: [16, 16, 'resource busy'],
  EEXIST: [17, 17, 'file already exists'],
  EXDEV: [18, 18, 'cross-device link not permitted'],
  ENODEV: [19, 19, 'operation not supported by device'],
  ENOTDIR: [20, 20, 'not a directory'],
  EISDIR: [21, 21, 'illegal operation on a directory'],
  EINVAL: [22, 22, 'invalid argument'],
  ENFILE: [23, 23, 'too many open files in system'],
  EMFILE: [24, 24, 'too many open files'],
  ENOTTY: [25, 25, 'inappropriate ioctl for device'],
  ETXTBSY: [26, 26, 'text file busy'],
  EFBIG: [27, 27, 'file too large'],
  ENOSPC: [28, 28, 'no space left on device'],
  ESPIPE: [29, 29, 'invalid seek'],
  EROFS: [30, 30, 'read-only file system'],
  EMLINK: [31, 31, 'too many links'],
  EPIPE: [32, 32, 'broken pipe'],
  EDOM: [33, 33, 'numerical argument out of domain'],
  ERANGE: [34, 34, 'result too large'],
  EAGAIN: [35, 11, 'resource temporarily unavailable'],
  EINPROGRESS: [36, 115, 'operation now in progress'],
  EALREADY: [37, 114, 'operation already in progress'],
  ENOTSOCK: [38, 88, 'socket operation on non-socket'],
  EDESTADDRREQ: [39, 89, 'destination address required'],
  EMSGSIZE: [40, 90, 'message too long'],
  EPROTOTYPE: [41, 91, 'protocol wrong type for socket'],
  ENOPROTOOPT: [42, 92, 'protocol option not available'],
  EPROTONOSUPPORT: [43, 93, 'protocol not supported'],
  ESOCKTNOSUPPORT: [44, 94, 'socket type not supported'],
  EOPNOTSUPP: [45, 95, 'operation not supported'],
  EPFNOSUPPORT: [46, 96, 'protocol family not supported'],
  EAFNOSUPPORT: [47, 97, 'address family not supported by protocol family'],
  EADDRINUSE: [48, 98, 'address already in use'],
  EADDRNOTAVAIL: [49, 99, "can't assign requested address"],
  ENETDOWN: [50, 100, 'network is down'],
  ENETUNREACH: [51, 101, 'network is unreachable'],
  ENETRESET: [52, 102, 'network dropped connection on reset'],
  ECONNABORTED: [53, 103, 'software caused connection abort'],
  ECONNRESET: [54, 104, 'connection reset by peer'],
  ENOBUFS: [55, 105, 'no buffer space available'],
  EISCONN: [56, 106, 'socket is already connected'],
  ENOTCONN: [57, 107, 'socket is not connected'],
  ESHUTDOWN: [58, 108, "can't send after socket shutdown"],
  ETOOMANYREFS: [59, 109, "too many references: can't splice"],
  ETIMEDOUT: [60, 110, 'operation timed out'],
  ECONNREFUSED: [61, 111, 'connection refused'],
  ELOOP: [62, 40, 'too many levels of symbolic links'],
  ENAMETOOLONG: [63, 36, 'file name too long'],
  EHOSTDOWN: [64, 112, 'host is down'],
  EHOSTUNREACH: [65, 113, 'no route to host'],
  ENOTEMPTY: [66, 39, 'directory not empty'],
  EPROCLIM: [67, 4070, 'too many processes'],
  EUSERS: [68, 87, 'too many users'],
  EDQUOT: [69, 122, 'disc quota exceeded'],
  ESTALE: [70, 116, 'stale NFS file handle'],
  EREMOTE: [71, 66, 'too many levels of remote in path'],
  EBADRPC: [72, 4071, 'RPC struct is bad'],
  ERPCMISMATCH: [73, 4072, 'RPC version wrong'],
  EPROGUNAVAIL: [74, 4073, 'RPC prog. not avail'],
  EPROGMISMATCH: [75, 4074, 'program version wrong'],
  EPROCUNAVAIL: [76, 4075, 'bad procedure for program'],
  ENOLCK: [77, 37, 'no locks available'],
  ENOSYS: [78, 38, 'function not implemented'],
  EFTYPE: [79, 4028, 'inappropriate file type or format'],
  EAUTH: [80, 4076, 'authentication error'],
  ENEEDAUTH: [81, 4077, 'need authenticator'],
  EIDRM: [82, 43, 'identifier removed'],
  ENOMSG: [83, 42, 'no message of desired type'],
  EOVERFLOW: [84, 75, 'value too large to be stored in data type'],
  EILSEQ: [85, 84, 'illegal byte sequence'],
  ENOTSUP: [86, 95, 'not supported'],
  ECANCELED: [87, 125, 'operation canceled'],
  EBADMSG: [88, 74, 'bad or corrupt message'],
  ENODATA: [89, 61, 'no message available'],
  ENOSR: [90, 63, 'no STREAM resources'],
  ENOSTR: [91, 60, 'not a STREAM'],
  ETIME: [92, 62, 'STREAM ioctl timeout'],
  ENOATTR: [93, 61, 'attribute not found'],
  EMULTIHOP: [94, 72, 'multihop attempted'],
  ENOLINK: [95, 67, 'link has been severed'],
  EPROTO: [96, 71, 'protocol error'],
  EOWNERDEAD: [97, 130, 'previous owner died'],
  ENOTRECOVERABLE: [98, 131, 'state not recoverable'],
} as const satisfies Record<string, readonly [number, number, string]>;

export type ErrnoName = keyof typeof TABLE;

/** NetBSD errno numbers by name: `errno.ENOENT === 2`. */
export const errno: { readonly [K in ErrnoName]: (typeof TABLE)[K][0] } = Object.freeze(
  Object.fromEntries(Object.entries(TABLE).map(([k, v]) => [k, v[0]])),
) as never;

export const EWOULDBLOCK = errno.EAGAIN;
export const ELAST = 98;

const BY_NAME: ReadonlyMap<string, ErrnoEntry> = new Map(
  Object.entries(TABLE).map(([k, [num, linux, text]]) => [k, { num, linux, text }]),
);
const BY_NUM: readonly (ErrnoName | undefined)[] = (() => {
  const a: (ErrnoName | undefined)[] = [];
  for (const [k, [num]] of Object.entries(TABLE)) if (a[num] === undefined) a[num] = k as ErrnoName;
  return a;
})();

/** Name of a NetBSD errno number (`strerrorname`), or undefined. */
export function errnoName(num: number): ErrnoName | undefined {
  return BY_NUM[num];
}

/** strerror(3) text for a NetBSD errno number. */
export function strerror(num: number): string {
  const n = BY_NUM[num];
  return n === undefined ? `unknown error: ${num}` : TABLE[n][2];
}

/** NetBSD number of an errno name (ENOENT -> 2); EIO for names we do not know. */
export function errnoFromName(name: string): number {
  return BY_NAME.get(name)?.num ?? errno.EIO;
}

/** The (positive) host number Node would report for this errno name; Node's `errno` is its negation. */
export function linuxErrno(name: ErrnoName): number {
  return TABLE[name][1];
}

/**
 * The one error type the kernel throws for expected failures. `errno` is NetBSD's number,
 * `code` its name; `detail` names what was wrong ("directory entry length 0 in inode 12").
 * `syscall` and `path` are filled in by the syscall layer.
 */
export class KernelError extends Error {
  readonly errno: number;
  readonly code: ErrnoName;
  readonly detail: string | undefined;
  syscall: string | undefined;
  path: string | undefined;

  constructor(code: ErrnoName, detail?: string) {
    super(detail === undefined ? `${code}: ${TABLE[code][2]}` : `${code}: ${TABLE[code][2]} (${detail})`);
    this.name = 'KernelError';
    this.code = code;
    this.errno = TABLE[code][0];
    this.detail = detail;
    this.syscall = undefined;
    this.path = undefined;
  }

  /** Fill in the syscall (and path) once, as it travels out of the syscall layer. */
  annotate(syscall: string, path?: string): this {
    if (this.syscall === undefined) {
      this.syscall = syscall;
      if (path !== undefined) this.path = path;
      this.message = `${this.code}: ${TABLE[this.code][2]}, ${syscall}${path !== undefined ? ` '${path}'` : ''}${
        this.detail !== undefined ? ` (${this.detail})` : ''}`;
    }
    return this;
  }
}

/** Shorthand for `throw new KernelError(...)` in expression position. */
export function fail(code: ErrnoName, detail?: string): never {
  throw new KernelError(code, detail);
}

export function isKernelError(e: unknown, code?: ErrnoName): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}

/** A Node-style error (as `node:fs` throws), for the hijack and ukfs: code, errno < 0, syscall, path. */
export interface NodeStyleError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

export function toNodeError(e: KernelError, syscall?: string, path?: string): NodeStyleError {
  const sc = syscall ?? e.syscall ?? 'unknown';
  const p = path ?? e.path;
  const err = new Error(`${e.code}: ${TABLE[e.code][2]}, ${sc}${p !== undefined ? ` '${p}'` : ''}`) as NodeStyleError;
  err.code = e.code;
  err.errno = -TABLE[e.code][1];
  err.syscall = sc;
  if (p !== undefined) err.path = p;
  return err;
}
