/**
 * Kernel ABI types and constants, with NetBSD's values (sys/stat.h, sys/fcntl.h, sys/dirent.h,
 * sys/mount.h, sys/reboot.h, unistd.h). Shared by every faction and by clients.
 */

export interface Timespec { readonly sec: number; readonly nsec: number }

/** struct stat. Times are split into seconds and nanoseconds (exact, unlike a float). */
export interface Stat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blocks: number;
  blksize: number;
  flags: number;
  gen: number;
  atimeSec: number; atimeNsec: number;
  mtimeSec: number; mtimeNsec: number;
  ctimeSec: number; ctimeNsec: number;
  birthtimeSec: number; birthtimeNsec: number;
}

/** struct statvfs (the fields a user reads). */
export interface Statvfs {
  flag: number;
  bsize: number;
  frsize: number;
  iosize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  bresvd: number;
  files: number;
  ffree: number;
  favail: number;
  fresvd: number;
  fsid: number;
  namemax: number;
  owner: number;
  fstypename: string;
  mntonname: string;
  mntfromname: string;
}

export interface Dirent {
  ino: number;
  name: string;
  /** DT_* */
  type: number;
}

/**
 * A socket address (struct sockaddr and its family variants), flattened: AF_LOCAL uses `path`,
 * AF_INET/AF_INET6 use `addr` (text form) and `port` (plus `scopeId`/`flowinfo` for IPv6),
 * other families (AF_LINK, ...) carry their raw bytes in `data`.
 */
export interface Sockaddr {
  family: number;
  path?: string;
  addr?: string;
  port?: number;
  scopeId?: number;
  flowinfo?: number;
  data?: Uint8Array;
}

/** Ancillary data (struct cmsghdr): SCM_RIGHTS carries descriptors in `fds`. */
export interface Cmsg {
  level: number;
  type: number;
  data?: Uint8Array;
  fds?: number[];
}

/** What recvfrom/recvmsg return. */
export interface RecvResult {
  /** Bytes received. */
  n: number;
  /** Sender address (datagram sockets), or null. */
  addr: Sockaddr | null;
  /** MSG_* flags of the received message (MSG_TRUNC, MSG_CTRUNC, MSG_EOR, ...). */
  flags: number;
  /** Ancillary data received (recvmsg), or null. */
  control: Cmsg[] | null;
}

export interface PollFd {
  fd: number;
  events: number;
}

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
}

// open(2) flags
export const O_RDONLY = 0x0, O_WRONLY = 0x1, O_RDWR = 0x2, O_ACCMODE = 0x3;
export const O_NONBLOCK = 0x4, O_APPEND = 0x8, O_SHLOCK = 0x10, O_EXLOCK = 0x20, O_ASYNC = 0x40;
export const O_SYNC = 0x80, O_NOFOLLOW = 0x100, O_CREAT = 0x200, O_TRUNC = 0x400, O_EXCL = 0x800;
export const O_NOCTTY = 0x8000, O_DSYNC = 0x10000, O_RSYNC = 0x20000, O_DIRECT = 0x80000;
export const O_DIRECTORY = 0x200000, O_CLOEXEC = 0x400000, O_SEARCH = 0x800000;
export const O_NOSIGPIPE = 0x1000000, O_REGULAR = 0x2000000;

// fcntl(2)
export const F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4;
export const F_GETOWN = 5, F_SETOWN = 6, F_GETLK = 7, F_SETLK = 8, F_SETLKW = 9;
export const F_CLOSEM = 10, F_MAXFD = 11, F_DUPFD_CLOEXEC = 12;
export const FD_CLOEXEC = 1;

// *at(2)
export const AT_FDCWD = -100;
export const AT_EACCESS = 0x100, AT_SYMLINK_NOFOLLOW = 0x200, AT_SYMLINK_FOLLOW = 0x400, AT_REMOVEDIR = 0x800;

// file modes
export const S_IFMT = 0o170000, S_IFIFO = 0o010000, S_IFCHR = 0o020000, S_IFDIR = 0o040000;
export const S_IFBLK = 0o060000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFSOCK = 0o140000, S_IFWHT = 0o160000;
export const S_ISUID = 0o4000, S_ISGID = 0o2000, S_ISVTX = 0o1000;
export const ALLPERMS = 0o7777, ACCESSPERMS = 0o777;
export const S_ISDIR = (m: number): boolean => (m & S_IFMT) === S_IFDIR;
export const S_ISREG = (m: number): boolean => (m & S_IFMT) === S_IFREG;
export const S_ISLNK = (m: number): boolean => (m & S_IFMT) === S_IFLNK;
export const S_ISBLK = (m: number): boolean => (m & S_IFMT) === S_IFBLK;
export const S_ISCHR = (m: number): boolean => (m & S_IFMT) === S_IFCHR;
export const S_ISFIFO = (m: number): boolean => (m & S_IFMT) === S_IFIFO;
export const S_ISSOCK = (m: number): boolean => (m & S_IFMT) === S_IFSOCK;

// directory entry types
export const DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10, DT_SOCK = 12, DT_WHT = 14;

// lseek(2)
export const SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;

// access(2)
export const F_OK = 0, X_OK = 1, W_OK = 2, R_OK = 4;

// utimensat(2)
export const UTIME_NOW = (1 << 30) - 1, UTIME_OMIT = (1 << 30) - 2;

// mount(2) / unmount(2) flags
export const MNT_RDONLY = 0x1, MNT_SYNCHRONOUS = 0x2, MNT_NOEXEC = 0x4, MNT_NOSUID = 0x8, MNT_NODEV = 0x10;
export const MNT_UNION = 0x20, MNT_ASYNC = 0x40, MNT_LOCAL = 0x1000, MNT_NOATIME = 0x04000000;
export const MNT_UPDATE = 0x10000, MNT_RELOAD = 0x40000, MNT_FORCE = 0x80000;
export const MNT_WAIT = 1, MNT_NOWAIT = 2;

// reboot(2)
export const RB_AUTOBOOT = 0, RB_ASKNAME = 0x1, RB_SINGLE = 0x2, RB_NOSYNC = 0x4, RB_HALT = 0x8;
export const RB_DUMP = 0x100, RB_POWERDOWN = 0x808;

// pathconf(2)
export const _PC_LINK_MAX = 1, _PC_MAX_CANON = 2, _PC_MAX_INPUT = 3, _PC_NAME_MAX = 4, _PC_PATH_MAX = 5;
export const _PC_PIPE_BUF = 6, _PC_CHOWN_RESTRICTED = 7, _PC_NO_TRUNC = 8, _PC_VDISABLE = 9;
export const _PC_SYNC_IO = 10, _PC_FILESIZEBITS = 11, _PC_SYMLINK_MAX = 12;

// limits
export const PATH_MAX = 1024, NAME_MAX = 255, MAXSYMLINKS = 32, LINK_MAX = 32767, PIPE_BUF = 512;
export const NGROUPS_MAX = 16;

/** Device numbers as NetBSD's makedev/major/minor (32-bit dev_t). */
export function makedev(major: number, minor: number): number {
  return (((major << 8) & 0x000fff00) | ((minor << 12) & 0xfff00000) | (minor & 0x000000ff)) >>> 0;
}
export function major(dev: number): number { return (dev & 0x000fff00) >>> 8; }
export function minor(dev: number): number { return ((dev & 0xfff00000) >>> 12) | (dev & 0x000000ff); }

// sockets (sys/socket.h)
export const AF_UNSPEC = 0, AF_LOCAL = 1, AF_UNIX = 1, AF_INET = 2, AF_LINK = 18, AF_ROUTE = 34, AF_INET6 = 24;
export const PF_UNSPEC = AF_UNSPEC, PF_LOCAL = AF_LOCAL, PF_INET = AF_INET, PF_ROUTE = AF_ROUTE, PF_INET6 = AF_INET6;
export const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_RDM = 4, SOCK_SEQPACKET = 5;
export const SOCK_CLOEXEC = 0x10000000, SOCK_NONBLOCK = 0x20000000, SOCK_NOSIGPIPE = 0x40000000;
export const SOL_SOCKET = 0xffff;
export const SO_DEBUG = 0x0001, SO_ACCEPTCONN = 0x0002, SO_REUSEADDR = 0x0004, SO_KEEPALIVE = 0x0008;
export const SO_DONTROUTE = 0x0010, SO_BROADCAST = 0x0020, SO_USELOOPBACK = 0x0040, SO_LINGER = 0x0080;
export const SO_OOBINLINE = 0x0100, SO_REUSEPORT = 0x0200, SO_NOSIGPIPE = 0x0800, SO_TIMESTAMP = 0x2000;
export const SO_SNDBUF = 0x1001, SO_RCVBUF = 0x1002, SO_SNDLOWAT = 0x1003, SO_RCVLOWAT = 0x1004;
export const SO_ERROR = 0x1007, SO_TYPE = 0x1008, SO_SNDTIMEO = 0x100b, SO_RCVTIMEO = 0x100c;
export const MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_DONTROUTE = 0x4, MSG_EOR = 0x8, MSG_TRUNC = 0x10;
export const MSG_CTRUNC = 0x20, MSG_WAITALL = 0x40, MSG_DONTWAIT = 0x80, MSG_NOSIGNAL = 0x400;
export const SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;
export const SCM_RIGHTS = 0x01;
