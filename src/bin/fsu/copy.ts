/**
 * The copy engine behind fsu_cp (image to image), fsu_get (image to host), fsu_put (host to
 * image) and fsu_ecp (either way): one algorithm over two `node:fs/promises`-shaped sides, the
 * host's own module and a Ukfs, which is the point of ukfs's API.
 *
 * cp(1) semantics: a directory needs -R; with several sources, or when the destination is an
 * existing directory, each source lands inside it under its own name; without -R symbolic links
 * are followed, with -R they are copied as links (-L follows them). File data is copied in 1 MiB
 * chunks (bounded memory whatever the file size). New files get the source's permission bits
 * (less the umask); with `preserve` (-p, -a) mode, owner and times are set as the source's (an
 * owner that cannot be set is skipped silently, as BSD cp does). With `hardlinks`, files with
 * several links inside one copied tree stay hard links. FIFOs and device nodes are recreated
 * where the destination side can make them (the image), otherwise reported and skipped.
 */

import { baseName, errText, joinImagePath } from './common.js';

/** What the engine reads of a stat result (Node's Stats and ukfs's both fit). */
export interface StatLike {
  dev: number; ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number; size: number;
  atimeMs: number; mtimeMs: number;
  isDirectory(): boolean;
}
type Stats = StatLike;

/** The fs/promises subset a side offers; mkfifo/mknod only where nodes can be made (ukfs). */
export interface CopySide {
  readonly label: string;
  /** File creation mask new objects get on this side. */
  readonly umask: number;
  readonly fs: {
    lstat(p: string): Promise<Stats>;
    stat(p: string): Promise<Stats>;
    readdir(p: string): Promise<string[]>;
    mkdir(p: string, opts?: { mode?: number }): Promise<string | undefined>;
    readlink(p: string): Promise<string | Buffer>;
    symlink(target: string, p: string): Promise<void>;
    link(a: string, b: string): Promise<void>;
    unlink(p: string): Promise<void>;
    open(p: string, flags?: string | number, mode?: number): Promise<{
      read(b: Uint8Array, off: number, len: number, pos: number | null): Promise<{ bytesRead: number }>;
      write(b: Uint8Array, off: number, len: number, pos: number | null): Promise<{ bytesWritten: number }>;
      close(): Promise<void>;
    }>;
    chmod(p: string, mode: number): Promise<void>;
    chown(p: string, uid: number, gid: number): Promise<void>;
    lchown(p: string, uid: number, gid: number): Promise<void>;
    utimes(p: string, a: number, m: number): Promise<void>;
    lutimes?(p: string, a: number, m: number): Promise<void>;
    mkfifo?(p: string, mode: number): Promise<void>;
    mknod?(p: string, mode: number, dev: number): Promise<void>;
  };
}

export interface CopyOptions {
  recursive: boolean;
  /** Follow symbolic links in the source (-L); without -R they are always followed. */
  follow: boolean;
  /** Keep mode, owner and times (-p, -a). */
  preserve: boolean;
  /** Keep hard links within a copied tree. */
  hardlinks: boolean;
  /** Replace destination files that cannot be opened for writing (-f). */
  force: boolean;
  /** Print 'src -> dst' per file. */
  verbose: boolean;
}

export interface CopyReport {
  out(s: string): void;
  warn(what: string, e: unknown): void;
  warnx(msg: string): void;
  progress?(files: number, bytes: number): void;
}

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000, S_IFREG = 0o100000, S_IFIFO = 0o010000;
const CHUNK = 1 << 20;

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
}

export class Copier {
  files = 0;
  bytes = 0;
  #links = new Map<string, string>();
  #buf = new Uint8Array(CHUNK);

  constructor(readonly src: CopySide, readonly dst: CopySide, readonly opts: CopyOptions, readonly report: CopyReport) {}

  /** cp SRC... DST: returns false if anything failed. */
  async copyOperands(sources: readonly string[], dest: string): Promise<boolean> {
    let ok = true;
    let destIsDir = false;
    try {
      destIsDir = (await this.dst.fs.stat(dest)).isDirectory();
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') {
        this.report.warn(dest, e);
        return false;
      }
    }
    if (sources.length > 1 && !destIsDir) {
      this.report.warnx(`${dest} is not a directory`);
      return false;
    }
    for (const s of sources) {
      const target = destIsDir ? joinImagePath(dest, baseName(s)) : dest;
      ok = (await this.copyOne(s, target, true)) && ok;
    }
    return ok;
  }

  async copyOne(s: string, d: string, top: boolean): Promise<boolean> {
    let st: Stats;
    try {
      st = this.opts.follow || (top && !this.opts.recursive) ? await this.src.fs.stat(s) : await this.src.fs.lstat(s);
    } catch (e) {
      this.report.warn(s, e);
      return false;
    }
    const fmt = st.mode & S_IFMT;
    if (fmt === S_IFDIR) {
      if (!this.opts.recursive) {
        this.report.warnx(`${s} is a directory (not copied)`);
        return false;
      }
      return this.copyDir(s, d, st);
    }
    if (this.opts.verbose) this.report.out(`${s} -> ${d}\n`);
    if (this.opts.hardlinks && fmt !== S_IFDIR && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.#links.get(key);
      if (first !== undefined) {
        try {
          await this.#removeExisting(d);
          await this.dst.fs.link(first, d);
          return true;
        } catch (e) {
          this.report.warn(d, e);
          return false;
        }
      }
      this.#links.set(key, d);
    }
    try {
      if (fmt === S_IFREG) await this.#copyFile(s, d, st);
      else if (fmt === S_IFLNK) await this.#copyLink(s, d);
      else if (!(await this.#copySpecial(s, d, st))) return false;
    } catch (e) {
      this.report.warn(codeOf(e) !== undefined && (e as { path?: string }).path === s ? s : d, e);
      return false;
    }
    await this.#preserve(d, st);
    return true;
  }

  async copyDir(s: string, d: string, st: Stats): Promise<boolean> {
    let made = false;
    try {
      const dst = await this.dst.fs.lstat(d).catch((e: unknown) => {
        if (codeOf(e) === 'ENOENT') return null;
        throw e;
      });
      if (dst === null) {
        await this.dst.fs.mkdir(d, { mode: (st.mode & 0o7777) | 0o700 });
        made = true;
      } else if (!dst.isDirectory()) {
        this.report.warnx(`${d}: not a directory`);
        return false;
      }
    } catch (e) {
      this.report.warn(d, e);
      return false;
    }
    if (this.opts.verbose) this.report.out(`${s} -> ${d}\n`);
    let names: string[];
    try {
      names = (await this.src.fs.readdir(s)).sort();
    } catch (e) {
      this.report.warn(s, e);
      return false;
    }
    let ok = true;
    for (const n of names) ok = (await this.copyOne(joinImagePath(s, n), joinImagePath(d, n), false)) && ok;
    if (this.opts.preserve) await this.#preserve(d, st);
    else if (made) await this.dst.fs.chmod(d, st.mode & 0o777 & ~this.dst.umask).catch(() => undefined);
    return ok;
  }

  async #removeExisting(d: string): Promise<void> {
    try {
      const st = await this.dst.fs.lstat(d);
      if (!st.isDirectory()) await this.dst.fs.unlink(d);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
    }
  }

  async #copyFile(s: string, d: string, st: Stats): Promise<void> {
    const from = await this.src.fs.open(s, 'r');
    try {
      let to;
      try {
        to = await this.dst.fs.open(d, 'w', st.mode & 0o7777);
      } catch (e) {
        if (!this.opts.force || (codeOf(e) !== 'EACCES' && codeOf(e) !== 'EPERM')) throw e;
        await this.dst.fs.unlink(d);
        to = await this.dst.fs.open(d, 'w', st.mode & 0o7777);
      }
      try {
        let pos = 0;
        for (;;) {
          const { bytesRead } = await from.read(this.#buf, 0, CHUNK, pos);
          if (bytesRead === 0) break;
          let w = 0;
          while (w < bytesRead) w += (await to.write(this.#buf, w, bytesRead - w, pos + w)).bytesWritten;
          pos += bytesRead;
          this.bytes += bytesRead;
          this.report.progress?.(this.files, this.bytes);
        }
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
    this.files++;
    this.report.progress?.(this.files, this.bytes);
  }

  async #copyLink(s: string, d: string): Promise<void> {
    const target = String(await this.src.fs.readlink(s));
    await this.#removeExisting(d);
    await this.dst.fs.symlink(target, d);
    this.files++;
  }

  async #copySpecial(s: string, d: string, st: Stats): Promise<boolean> {
    const fmt = st.mode & S_IFMT;
    const fs = this.dst.fs;
    if (fmt === S_IFIFO && fs.mkfifo !== undefined) {
      await this.#removeExisting(d);
      await fs.mkfifo(d, st.mode & 0o7777);
      this.files++;
      return true;
    }
    if ((fmt === 0o020000 || fmt === 0o060000) && fs.mknod !== undefined) {
      await this.#removeExisting(d);
      await fs.mknod(d, st.mode, st.rdev);
      this.files++;
      return true;
    }
    this.report.warnx(`${s}: ${fmt === S_IFIFO ? 'FIFO' : fmt === 0o140000 ? 'socket' : 'device node'} not copied: ${this.dst.label} cannot make one`);
    return false;
  }

  async #preserve(d: string, st: Stats): Promise<void> {
    if (!this.opts.preserve) return;
    const fs = this.dst.fs;
    const isLink = (st.mode & S_IFMT) === S_IFLNK;
    try {
      if (isLink) await fs.lchown(d, st.uid, st.gid);
      else await fs.chown(d, st.uid, st.gid);
    } catch {
      // BSD cp -p: an owner that cannot be kept is not an error
    }
    try {
      if (!isLink) await fs.chmod(d, st.mode & 0o7777);
      if (isLink) {
        if (fs.lutimes !== undefined) await fs.lutimes(d, st.atimeMs / 1000, st.mtimeMs / 1000);
      } else {
        await fs.utimes(d, st.atimeMs / 1000, st.mtimeMs / 1000);
      }
    } catch (e) {
      this.report.warn(d, e);
    }
  }
}

let umaskCache: number | undefined;
/** The process umask (read once; setting it back is the only way Node offers to read it). */
export function currentUmask(): number {
  if (umaskCache === undefined) {
    const m = process.umask(0o022);
    process.umask(m);
    umaskCache = m;
  }
  return umaskCache;
}

/** A progress line on stderr when it is a terminal (long recursive copies). */
export function progressReporter(prog: string): ((files: number, bytes: number) => void) | undefined {
  if (process.stderr.isTTY !== true) return undefined;
  let last = 0;
  return (files, bytes) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    process.stderr.write(`\r${prog}: ${files} files, ${(bytes / 1048576).toFixed(1)} MiB\x1b[K`);
  };
}

export function endProgress(p: ((files: number, bytes: number) => void) | undefined): void {
  if (p !== undefined) process.stderr.write('\r\x1b[K');
}

export { errText };
