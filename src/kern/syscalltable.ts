/**
 * The one declarative syscall table.
 *
 * Every interface to a kernel is derived from this table: the in-process typed API
 * (`kernel.sys.open(l, ...)`), the remote wire protocol and its client stubs, and the hijack.
 * Adding a syscall here (and an implementation in the faction that owns it) adds it everywhere.
 * Numbers are NetBSD's (sys/kern/syscalls.master, current versions of each call), so traces and
 * protocol dumps read like NetBSD's.
 *
 * Argument and result types are tags; `SysArgs`/`SysResult` map them to TypeScript types, and the
 * wire protocol maps them to encodings. Tags:
 *   int      a 32-bit signed integer (fd, flags, mode, uid, cmd)
 *   off      a 64-bit file offset or length, as a JS number (exact below 2^53)
 *   path     a path name (copied in; also names the `path` of an error)
 *   str      any other string
 *   bufin    bytes the caller gives the kernel (write)
 *   bufout   bytes the kernel fills in (read); the result says how many
 *   iovin    a list of byte ranges given (writev)
 *   iovout   a list of byte ranges filled in (readv)
 *   times    [atime, mtime] as Timespec pairs, or null for "now"
 *   data     a structured value (mount arguments, ioctl data, sysctl values); JSON-shaped
 *   sockaddr a socket address (Sockaddr) or null
 *   cmsgs    ancillary data given (Cmsg[]) or null
 *   pollfds  a list of { fd, events }
 * Result tags beyond the obvious: `accept` ({ fd, addr }), `recv` (RecvResult), `revents`
 * (one revents word per pollfd, in order).
 */

import type { Stat, Statvfs, Dirent, Timespec, Sockaddr, Cmsg, RecvResult, PollFd } from './types.js';

export type ArgTag = 'int' | 'off' | 'path' | 'str' | 'bufin' | 'bufout' | 'iovin' | 'iovout' | 'times' | 'data' | 'sockaddr' | 'cmsgs' | 'pollfds';
export type RetTag = 'void' | 'int' | 'off' | 'str' | 'stat' | 'statvfs' | 'dirents' | 'fdpair' | 'data' | 'sockaddr' | 'accept' | 'recv' | 'revents';

export interface SyscallSpec {
  readonly num: number;
  readonly args: readonly (readonly [name: string, tag: ArgTag])[];
  readonly ret: RetTag;
  /** Faction that implements it (for ENOSYS messages and the server's component list). */
  readonly faction: 'kern' | 'vfs' | 'net';
}

type ArgType<T extends ArgTag> =
  T extends 'int' | 'off' ? number :
  T extends 'path' | 'str' ? string :
  T extends 'bufin' | 'bufout' ? Uint8Array :
  T extends 'iovin' | 'iovout' ? readonly Uint8Array[] :
  T extends 'times' ? readonly [Timespec, Timespec] | null :
  T extends 'data' ? unknown :
  T extends 'sockaddr' ? Sockaddr | null :
  T extends 'cmsgs' ? readonly Cmsg[] | null :
  T extends 'pollfds' ? readonly PollFd[] :
  never;

type RetType<T extends RetTag> =
  T extends 'void' ? void :
  T extends 'int' | 'off' ? number :
  T extends 'str' ? string :
  T extends 'stat' ? Stat :
  T extends 'statvfs' ? Statvfs :
  T extends 'dirents' ? Dirent[] :
  T extends 'fdpair' ? [number, number] :
  T extends 'data' ? unknown :
  T extends 'sockaddr' ? Sockaddr :
  T extends 'accept' ? { fd: number; addr: Sockaddr | null } :
  T extends 'recv' ? RecvResult :
  T extends 'revents' ? number[] :
  never;

type MapArgs<A> = { -readonly [I in keyof A]: A[I] extends readonly [string, infer T extends ArgTag] ? ArgType<T> : never };

function def<const A extends readonly (readonly [string, ArgTag])[], const R extends RetTag>(
  num: number, faction: SyscallSpec['faction'], args: A, ret: R,
): { num: number; faction: SyscallSpec['faction']; args: A; ret: R } {
  return { num, faction, args, ret };
}

const I = 'int', O = 'off', P = 'path';

export const SYSCALLS = {
  // process and credentials (kern)
  getpid: def(20, 'kern', [], 'int'),
  getppid: def(39, 'kern', [], 'int'),
  getuid: def(24, 'kern', [], 'int'),
  geteuid: def(25, 'kern', [], 'int'),
  getgid: def(47, 'kern', [], 'int'),
  getegid: def(43, 'kern', [], 'int'),
  setuid: def(23, 'kern', [['uid', I]], 'void'),
  seteuid: def(183, 'kern', [['euid', I]], 'void'),
  setgid: def(181, 'kern', [['gid', I]], 'void'),
  setegid: def(182, 'kern', [['egid', I]], 'void'),
  getgroups: def(79, 'kern', [], 'data'),
  setgroups: def(80, 'kern', [['groups', 'data']], 'void'),
  umask: def(60, 'kern', [['mask', I]], 'int'),
  reboot: def(208, 'kern', [['howto', I], ['bootstr', 'str']], 'void'),
  __sysctl: def(202, 'kern', [['name', 'str'], ['newval', 'data']], 'data'),

  // descriptors (kern): work on any kind of file
  read: def(3, 'kern', [['fd', I], ['buf', 'bufout']], 'int'),
  write: def(4, 'kern', [['fd', I], ['buf', 'bufin']], 'int'),
  readv: def(120, 'kern', [['fd', I], ['iov', 'iovout']], 'int'),
  writev: def(121, 'kern', [['fd', I], ['iov', 'iovin']], 'int'),
  pread: def(173, 'kern', [['fd', I], ['buf', 'bufout'], ['offset', O]], 'int'),
  pwrite: def(174, 'kern', [['fd', I], ['buf', 'bufin'], ['offset', O]], 'int'),
  preadv: def(289, 'kern', [['fd', I], ['iov', 'iovout'], ['offset', O]], 'int'),
  pwritev: def(290, 'kern', [['fd', I], ['iov', 'iovin'], ['offset', O]], 'int'),
  lseek: def(199, 'kern', [['fd', I], ['offset', O], ['whence', I]], 'off'),
  close: def(6, 'kern', [['fd', I]], 'void'),
  dup: def(41, 'kern', [['fd', I]], 'int'),
  dup2: def(90, 'kern', [['from', I], ['to', I]], 'int'),
  dup3: def(454, 'kern', [['from', I], ['to', I], ['flags', I]], 'int'),
  fcntl: def(92, 'kern', [['fd', I], ['cmd', I], ['arg', I]], 'int'),
  ioctl: def(54, 'kern', [['fd', I], ['cmd', I], ['data', 'data']], 'data'),
  fstat: def(440, 'kern', [['fd', I]], 'stat'),
  pipe: def(42, 'kern', [], 'fdpair'),
  pipe2: def(453, 'kern', [['flags', I]], 'fdpair'),
  /** Wait up to `timeout` ms (-1: forever) until a descriptor is ready; revents per pollfd. */
  poll: def(209, 'kern', [['fds', 'pollfds'], ['timeout', I]], 'revents'),

  // file system (vfs)
  open: def(5, 'vfs', [['path', P], ['flags', I], ['mode', I]], 'int'),
  openat: def(468, 'vfs', [['dirfd', I], ['path', P], ['flags', I], ['mode', I]], 'int'),
  stat: def(439, 'vfs', [['path', P]], 'stat'),
  lstat: def(441, 'vfs', [['path', P]], 'stat'),
  fstatat: def(466, 'vfs', [['dirfd', I], ['path', P], ['flags', I]], 'stat'),
  access: def(33, 'vfs', [['path', P], ['mode', I]], 'void'),
  faccessat: def(462, 'vfs', [['dirfd', I], ['path', P], ['mode', I], ['flags', I]], 'void'),
  mkdir: def(136, 'vfs', [['path', P], ['mode', I]], 'void'),
  mkdirat: def(461, 'vfs', [['dirfd', I], ['path', P], ['mode', I]], 'void'),
  rmdir: def(137, 'vfs', [['path', P]], 'void'),
  unlink: def(10, 'vfs', [['path', P]], 'void'),
  unlinkat: def(471, 'vfs', [['dirfd', I], ['path', P], ['flags', I]], 'void'),
  rename: def(128, 'vfs', [['from', P], ['to', P]], 'void'),
  renameat: def(458, 'vfs', [['fromfd', I], ['from', P], ['tofd', I], ['to', P]], 'void'),
  link: def(9, 'vfs', [['path', P], ['link', P]], 'void'),
  linkat: def(457, 'vfs', [['fd1', I], ['path', P], ['fd2', I], ['link', P], ['flags', I]], 'void'),
  symlink: def(57, 'vfs', [['target', 'str'], ['link', P]], 'void'),
  symlinkat: def(470, 'vfs', [['target', 'str'], ['dirfd', I], ['link', P]], 'void'),
  readlink: def(58, 'vfs', [['path', P]], 'str'),
  readlinkat: def(469, 'vfs', [['dirfd', I], ['path', P]], 'str'),
  chmod: def(15, 'vfs', [['path', P], ['mode', I]], 'void'),
  lchmod: def(274, 'vfs', [['path', P], ['mode', I]], 'void'),
  fchmod: def(124, 'vfs', [['fd', I], ['mode', I]], 'void'),
  fchmodat: def(463, 'vfs', [['dirfd', I], ['path', P], ['mode', I], ['flags', I]], 'void'),
  chown: def(16, 'vfs', [['path', P], ['uid', I], ['gid', I]], 'void'),
  lchown: def(275, 'vfs', [['path', P], ['uid', I], ['gid', I]], 'void'),
  fchown: def(123, 'vfs', [['fd', I], ['uid', I], ['gid', I]], 'void'),
  fchownat: def(464, 'vfs', [['dirfd', I], ['path', P], ['uid', I], ['gid', I], ['flags', I]], 'void'),
  utimes: def(420, 'vfs', [['path', P], ['times', 'times']], 'void'),
  lutimes: def(425, 'vfs', [['path', P], ['times', 'times']], 'void'),
  futimes: def(423, 'vfs', [['fd', I], ['times', 'times']], 'void'),
  utimensat: def(467, 'vfs', [['dirfd', I], ['path', P], ['times', 'times'], ['flags', I]], 'void'),
  futimens: def(472, 'vfs', [['fd', I], ['times', 'times']], 'void'),
  truncate: def(200, 'vfs', [['path', P], ['length', O]], 'void'),
  ftruncate: def(201, 'vfs', [['fd', I], ['length', O]], 'void'),
  fsync: def(95, 'vfs', [['fd', I]], 'void'),
  fdatasync: def(241, 'vfs', [['fd', I]], 'void'),
  /** Up to `count` entries from the directory's offset (an entry count, not NetBSD's byte count); [] at the end. */
  getdents: def(390, 'vfs', [['fd', I], ['count', I]], 'dirents'),
  chdir: def(12, 'vfs', [['path', P]], 'void'),
  fchdir: def(13, 'vfs', [['fd', I]], 'void'),
  chroot: def(61, 'vfs', [['path', P]], 'void'),
  getcwd: def(296, 'vfs', [], 'str'),
  mknod: def(450, 'vfs', [['path', P], ['mode', I], ['dev', I]], 'void'),
  mknodat: def(460, 'vfs', [['dirfd', I], ['path', P], ['mode', I], ['dev', I]], 'void'),
  mkfifo: def(132, 'vfs', [['path', P], ['mode', I]], 'void'),
  mount: def(410, 'vfs', [['type', 'str'], ['path', P], ['flags', I], ['data', 'data']], 'void'),
  unmount: def(22, 'vfs', [['path', P], ['flags', I]], 'void'),
  statvfs: def(357, 'vfs', [['path', P]], 'statvfs'),
  fstatvfs: def(358, 'vfs', [['fd', I]], 'statvfs'),
  getvfsstat: def(356, 'vfs', [], 'data'),
  sync: def(36, 'vfs', [], 'void'),
  pathconf: def(191, 'vfs', [['path', P], ['name', I]], 'int'),
  fpathconf: def(192, 'vfs', [['fd', I], ['name', I]], 'int'),

  // sockets (net): implemented by the socket layer when a net component is present
  socket: def(394, 'net', [['domain', I], ['type', I], ['protocol', I]], 'int'),
  socketpair: def(135, 'net', [['domain', I], ['type', I], ['protocol', I]], 'fdpair'),
  bind: def(104, 'net', [['fd', I], ['addr', 'sockaddr']], 'void'),
  connect: def(98, 'net', [['fd', I], ['addr', 'sockaddr']], 'void'),
  listen: def(106, 'net', [['fd', I], ['backlog', I]], 'void'),
  accept: def(30, 'net', [['fd', I]], 'accept'),
  paccept: def(456, 'net', [['fd', I], ['flags', I]], 'accept'),
  getsockname: def(32, 'net', [['fd', I]], 'sockaddr'),
  getpeername: def(31, 'net', [['fd', I]], 'sockaddr'),
  sendto: def(133, 'net', [['fd', I], ['buf', 'bufin'], ['flags', I], ['to', 'sockaddr']], 'int'),
  recvfrom: def(29, 'net', [['fd', I], ['buf', 'bufout'], ['flags', I]], 'recv'),
  sendmsg: def(28, 'net', [['fd', I], ['iov', 'iovin'], ['to', 'sockaddr'], ['control', 'cmsgs'], ['flags', I]], 'int'),
  recvmsg: def(27, 'net', [['fd', I], ['iov', 'iovout'], ['controllen', I], ['flags', I]], 'recv'),
  shutdown: def(134, 'net', [['fd', I], ['how', I]], 'void'),
  setsockopt: def(105, 'net', [['fd', I], ['level', I], ['name', I], ['value', 'data']], 'void'),
  getsockopt: def(118, 'net', [['fd', I], ['level', I], ['name', I]], 'data'),
} as const satisfies Record<string, SyscallSpec>;

export type SyscallName = keyof typeof SYSCALLS;

/** Arguments of a syscall as a TypeScript tuple (without the calling lwp). */
export type SysArgs<K extends SyscallName> = MapArgs<(typeof SYSCALLS)[K]['args']>;
/** Result of a syscall. */
export type SysResult<K extends SyscallName> = RetType<(typeof SYSCALLS)[K]['ret']>;

/** Syscall specs by number (for the wire protocol). */
export const SYSCALLS_BY_NUM: ReadonlyMap<number, { readonly name: SyscallName; readonly spec: SyscallSpec }> = (() => {
  const m = new Map<number, { name: SyscallName; spec: SyscallSpec }>();
  for (const [name, spec] of Object.entries(SYSCALLS) as [SyscallName, SyscallSpec][]) {
    if (m.has(spec.num)) throw new Error(`syscall table: number ${spec.num} used twice (${name})`);
    m.set(spec.num, { name, spec });
  }
  return m;
})();
