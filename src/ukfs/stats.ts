/**
 * The result objects of ukfs, shaped like Node's: `Stats` / `BigIntStats` (fs.stat), `Dirent`
 * (readdir withFileTypes, opendir) and `StatFs` (fs.statfs), built from the kernel's NetBSD
 * structures. File type bits (S_IF*) have the same values on NetBSD and Linux, so `mode` means
 * what Node users expect, and `(mode & 0o777)` is the permission bits.
 *
 * Field names, their order and their arithmetic follow Node 20: `atimeMs` is seconds * 1e3 plus
 * nanoseconds / 1e6 (a float), the Date fields are made from it rounded to whole milliseconds,
 * and `blocks` counts 512-byte units. `instanceof fs.Stats` is false (these are not Node's classes); everything else reads the
 * same.
 */

import {
  S_IFMT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK,
  type Stat, type Statvfs,
} from '../kern/types.js';

/** The is*() predicates shared by Stats, BigIntStats and Dirent. */
abstract class TypeTests {
  protected abstract fmt(): number;
  isFile(): boolean { return this.fmt() === S_IFREG; }
  isDirectory(): boolean { return this.fmt() === S_IFDIR; }
  isSymbolicLink(): boolean { return this.fmt() === S_IFLNK; }
  isBlockDevice(): boolean { return this.fmt() === S_IFBLK; }
  isCharacterDevice(): boolean { return this.fmt() === S_IFCHR; }
  isFIFO(): boolean { return this.fmt() === S_IFIFO; }
  isSocket(): boolean { return this.fmt() === S_IFSOCK; }
}

const msOf = (sec: number, nsec: number): number => sec * 1e3 + nsec / 1e6;
/** Node's dateFromMs: Dates are made from the rounded millisecond count. */
export const dateFromMs = (ms: number | bigint): Date => new Date(Math.round(Number(ms)));

/** fs.Stats: what stat/lstat/fstat resolve with. */
export class Stats extends TypeTests {
  dev: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  blksize: number;
  ino: number;
  size: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(st: Stat) {
    super();
    this.dev = st.dev;
    this.mode = st.mode;
    this.nlink = st.nlink;
    this.uid = st.uid;
    this.gid = st.gid;
    this.rdev = st.rdev;
    this.blksize = st.blksize;
    this.ino = st.ino;
    this.size = st.size;
    this.blocks = st.blocks;
    this.atimeMs = msOf(st.atimeSec, st.atimeNsec);
    this.mtimeMs = msOf(st.mtimeSec, st.mtimeNsec);
    this.ctimeMs = msOf(st.ctimeSec, st.ctimeNsec);
    this.birthtimeMs = msOf(st.birthtimeSec, st.birthtimeNsec);
    this.atime = dateFromMs(this.atimeMs);
    this.mtime = dateFromMs(this.mtimeMs);
    this.ctime = dateFromMs(this.ctimeMs);
    this.birthtime = dateFromMs(this.birthtimeMs);
  }

  protected fmt(): number { return this.mode & S_IFMT; }
}

const NS = 1_000_000_000n;
const nsOf = (sec: number, nsec: number): bigint => BigInt(sec) * NS + BigInt(nsec);

/** fs.BigIntStats: stat with `{ bigint: true }`; nanosecond times in the *Ns fields. */
export class BigIntStats extends TypeTests {
  dev: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  blksize: bigint;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(st: Stat) {
    super();
    this.dev = BigInt(st.dev);
    this.mode = BigInt(st.mode);
    this.nlink = BigInt(st.nlink);
    this.uid = BigInt(st.uid);
    this.gid = BigInt(st.gid);
    this.rdev = BigInt(st.rdev);
    this.blksize = BigInt(st.blksize);
    this.ino = BigInt(st.ino);
    this.size = BigInt(st.size);
    this.blocks = BigInt(st.blocks);
    this.atimeNs = nsOf(st.atimeSec, st.atimeNsec);
    this.mtimeNs = nsOf(st.mtimeSec, st.mtimeNsec);
    this.ctimeNs = nsOf(st.ctimeSec, st.ctimeNsec);
    this.birthtimeNs = nsOf(st.birthtimeSec, st.birthtimeNsec);
    this.atimeMs = this.atimeNs / 1_000_000n;
    this.mtimeMs = this.mtimeNs / 1_000_000n;
    this.ctimeMs = this.ctimeNs / 1_000_000n;
    this.birthtimeMs = this.birthtimeNs / 1_000_000n;
    this.atime = dateFromMs(this.atimeMs);
    this.mtime = dateFromMs(this.mtimeMs);
    this.ctime = dateFromMs(this.ctimeMs);
    this.birthtime = dateFromMs(this.birthtimeMs);
  }

  protected fmt(): number { return Number(this.mode) & S_IFMT; }
}

/** S_IF* file type of a DT_* directory entry type (0 for DT_UNKNOWN and whiteouts). */
export function dtToIfmt(dt: number): number {
  switch (dt) {
    case DT_REG: return S_IFREG;
    case DT_DIR: return S_IFDIR;
    case DT_LNK: return S_IFLNK;
    case DT_BLK: return S_IFBLK;
    case DT_CHR: return S_IFCHR;
    case DT_FIFO: return S_IFIFO;
    case DT_SOCK: return S_IFSOCK;
    default: return 0;
  }
}

/** fs.Dirent: a directory entry with its type; `parentPath` (and the older `path`) is its directory. */
export class Dirent<N extends string | Uint8Array = string> extends TypeTests {
  name: N;
  parentPath: string;
  path: string;
  /** S_IF* type bits (private, as Node keeps its own behind a symbol). */
  readonly #ifmt: number;

  constructor(name: N, parentPath: string, ifmt: number) {
    super();
    this.name = name;
    this.parentPath = parentPath;
    this.path = parentPath;
    this.#ifmt = ifmt;
  }

  protected fmt(): number { return this.#ifmt; }
}

/** fs.StatFs (Node's statfs): `type` is the Linux statfs magic of the format. */
export class StatFs<T extends number | bigint = number> {
  type: T;
  bsize: T;
  blocks: T;
  bfree: T;
  bavail: T;
  files: T;
  ffree: T;

  constructor(vs: Statvfs, magic: number, bigint: boolean) {
    const v = (x: number): T => (bigint ? BigInt(x) : x) as T;
    this.type = v(magic);
    this.bsize = v(vs.frsize || vs.bsize);
    this.blocks = v(vs.blocks);
    this.bfree = v(vs.bfree);
    this.bavail = v(vs.bavail);
    this.files = v(vs.files);
    this.ffree = v(vs.ffree);
  }
}
