/**
 * Shared plumbing of the command-line tools (rump_server and the rump.* utilities): POSIX-style
 * option parsing, connecting to RUMP_SERVER, and error text in the NetBSD tools' style
 * ("rump.ls: /x: No such file or directory").
 */

import { KernelError, isKernelError, strerror } from '../kern/errno.js';
import { O_DIRECTORY, O_RDONLY, S_ISDIR, type Stat, type Statvfs } from '../kern/types.js';
import { rumpclientInit, RUMP_SERVER_ENV } from './connect.js';
import type { RumpClient } from './client.js';

export class UsageError extends Error {}

export interface Parsed {
  /** Options in order: [letter or long name, value]. */
  readonly opts: [string, string | undefined][];
  readonly operands: string[];
}

/**
 * getopt(3): `optstring` letters, a colon after those taking a value ("svl:d:"); values attached
 * ("-lrumpvfs") or separate ("-l rumpvfs"), flags grouped ("-sv"); "--" ends options. Long
 * options are named in `long` ("allow-remote", "help"), without values.
 */
export function getopt(argv: readonly string[], optstring: string, long: readonly string[] = []): Parsed {
  const opts: [string, string | undefined][] = [];
  const operands: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (!long.includes(name)) throw new UsageError(`unknown option '${a}'`);
      opts.push([name, undefined]);
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') throw new UsageError(`unknown option '-${c}'`);
      if (optstring[at + 1] === ':') {
        let v = a.slice(j + 1);
        if (v === '') {
          i++;
          if (i >= argv.length) throw new UsageError(`option '-${c}' needs a value`);
          v = argv[i]!;
        }
        opts.push([c, v]);
        break;
      }
      opts.push([c, undefined]);
    }
  }
  for (; i < argv.length; i++) operands.push(argv[i]!);
  return { opts, operands };
}

/** strerror text with a capital, as NetBSD's tools print it. */
export function errText(e: unknown): string {
  if (e instanceof KernelError) {
    const t = strerror(e.errno);
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  return e instanceof Error ? e.message : String(e);
}

/** A longer message for failures to reach the server (connection errors say where and why). */
export function connectText(e: unknown): string {
  if (e instanceof KernelError) return e.detail ?? e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Connect to $RUMP_SERVER, or print why not and exit 1. */
export async function connectOrExit(prog: string): Promise<RumpClient> {
  try {
    return await rumpclientInit(process.env[RUMP_SERVER_ENV], { comm: prog });
  } catch (e) {
    process.stderr.write(`${prog}: ${connectText(e)}\n`);
    process.exit(1);
  }
}

/** Write to stdout, waiting when the pipe is full. */
export function writeOut(b: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(b, (err) => { if (err) reject(err); });
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Run a tool's main, mapping usage errors to status 2 and anything unexpected to 1. */
export function runMain(prog: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${prog}: ${e.message}\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${prog}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// shared by the file tools (rump.cp, rump.rm, rump.mv, rump.ln, rump.chmod, rump.chown, ...)

/** Connect, run `fn`, close: the body of a tool that talks to the server. */
export async function withClient(prog: string, fn: (c: RumpClient) => Promise<number>): Promise<number> {
  const c = await connectOrExit(prog);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** "prog: what: Reason" on stderr, as BSD's warn(3). */
export function warn(prog: string, what: string, e: unknown): void {
  process.stderr.write(`${prog}: ${what}: ${errText(e)}\n`);
}

/** The letters given among `opts` (the last of a mutually exclusive pair wins where it matters). */
export function flagSet(opts: Parsed['opts']): Set<string> {
  return new Set(opts.map(([o]) => o));
}

/** `--help` anywhere: print the usage and stop with status 0. */
export function helpRequested(argv: readonly string[], usage: string): boolean {
  if (!argv.includes('--help')) return false;
  process.stdout.write(`${usage}\n`);
  return true;
}

/** lstat (or stat), null for a name that does not exist. */
export async function statOrNull(c: RumpClient, path: string, follow = false): Promise<Stat | null> {
  try {
    return follow ? await c.sys.stat(path) : await c.sys.lstat(path);
  } catch (e) {
    if (isKernelError(e, 'ENOENT')) return null;
    throw e;
  }
}

/** Names in a directory, '.' and '..' left out, in the file system's order. */
export async function readdirNames(c: RumpClient, path: string): Promise<string[]> {
  const fd = await c.sys.open(path, O_RDONLY | O_DIRECTORY, 0);
  const names: string[] = [];
  try {
    for (let ents = await c.sys.getdents(fd, 512); ents.length > 0; ents = await c.sys.getdents(fd, 512)) {
      for (const d of ents) if (d.name !== '.' && d.name !== '..') names.push(d.name);
    }
  } finally {
    await c.sys.close(fd).catch(() => undefined);
  }
  return names;
}

/** 'a' + 'b' with one slash. */
export function pathJoin(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** The last component of a path ('/a/b/' -> 'b'). */
export function pathBase(p: string): string {
  const s = p.replace(/\/+$/, '');
  return s === '' ? '/' : s.slice(s.lastIndexOf('/') + 1);
}

/** Copy the rest of `from` to `to` with read/write (so FIFOs and devices work); bytes copied. */
export async function copyFd(c: RumpClient, from: number, to: number, chunk = 256 * 1024): Promise<number> {
  const buf = new Uint8Array(Math.min(chunk, c.maxIo > 0 ? c.maxIo : chunk));
  let total = 0;
  for (let n = await c.sys.read(from, buf); n > 0; n = await c.sys.read(from, buf)) {
    let off = 0;
    while (off < n) off += await c.sys.write(to, buf.subarray(off, n));
    total += n;
  }
  return total;
}

/**
 * Remove a tree depth first (rm -r). `onError(path, e)` reports a failure and the walk goes on
 * (a directory whose contents could not all be removed is then left); true if everything went.
 */
export async function removeTree(c: RumpClient, path: string, onError: (path: string, e: unknown) => void, onRemoved?: (path: string) => void): Promise<boolean> {
  let st: Stat;
  try {
    st = await c.sys.lstat(path);
  } catch (e) {
    onError(path, e);
    return false;
  }
  if (!S_ISDIR(st.mode)) {
    try {
      await c.sys.unlink(path);
      onRemoved?.(path);
      return true;
    } catch (e) {
      onError(path, e);
      return false;
    }
  }
  let ok = true;
  let names: string[];
  try {
    names = await readdirNames(c, path);
  } catch (e) {
    onError(path, e);
    return false;
  }
  for (const n of names) ok = (await removeTree(c, pathJoin(path, n), onError, onRemoved)) && ok;
  if (!ok) return false;
  try {
    await c.sys.rmdir(path);
    onRemoved?.(path);
    return true;
  } catch (e) {
    onError(path, e);
    return false;
  }
}

/**
 * BSD humanize_number(3) as df -h uses it (HN_AUTOSCALE | HN_B | HN_NOSPACE | HN_DECIMAL, a
 * 5-character field): '512B', '1.0K', '9.6G', '15G'.
 */
export function humanize(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
  let i = 0;
  let v = bytes;
  while (i < units.length - 1 && Math.round(v) >= 1000) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${bytes}B`;
  return v < 9.95 ? `${v.toFixed(1)}${units[i]}` : `${Math.round(v)}${units[i]}`;
}

/**
 * A byte count as dd(1) and mount options take it: a number with an optional multiplier suffix
 * (b 512, k 1024, m, g, t, w 2), and products joined by 'x' ("2x512k"). Null if malformed.
 */
export function parseSize(s: string): number | null {
  let total = 1;
  for (const part of s.split('x')) {
    const m = /^([0-9]+)([bkmgtw]?)$/i.exec(part);
    if (m === null) return null;
    const mult: Record<string, number> = { '': 1, b: 512, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, w: 2 };
    total *= Number(m[1]) * mult[m[2]!.toLowerCase()]!;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/**
 * Apply `fn` to `path` and, with `recursive`, to everything below it (preorder, as fts(3)
 * gives chmod -R and chown -R). Symbolic links met below the top are passed with `isLink` and
 * never followed. Errors go to `onError` and the walk goes on.
 */
export async function walkTree(
  c: RumpClient, path: string, recursive: boolean,
  fn: (path: string, st: Stat | null, isLink: boolean, top: boolean) => Promise<void>,
  onError: (path: string, e: unknown) => void,
): Promise<void> {
  const visit = async (p: string, top: boolean): Promise<void> => {
    let st: Stat | null = null;
    if (recursive || !top) {
      try {
        st = await c.sys.lstat(p);
      } catch (e) {
        onError(p, e);
        return;
      }
    }
    const isLink = st !== null && (st.mode & 0o170000) === 0o120000;
    try {
      await fn(p, st, isLink, top);
    } catch (e) {
      onError(p, e);
    }
    if (!recursive || st === null || !S_ISDIR(st.mode)) return;
    let names: string[];
    try {
      names = await readdirNames(c, p);
    } catch (e) {
      onError(p, e);
      return;
    }
    for (const n of names) await visit(pathJoin(p, n), false);
  };
  await visit(path, true);
}

/** NetBSD's mount flag names in the order mount(8) prints them (sys/fstypes.h __MNT_FLAGS). */
export const MNT_FLAG_NAMES: readonly (readonly [number, string])[] = [
  [0x40, 'asynchronous'], [0x04000000, 'noatime'], [0x10, 'nodev'], [0x4, 'noexec'], [0x8, 'nosuid'],
  [0x1, 'read-only'], [0x2, 'synchronous'], [0x20, 'union'], [0x1000, 'local'],
];

/** The mounted file systems (getvfsstat(2)), in mount order. */
export async function mountList(c: RumpClient): Promise<Statvfs[]> {
  const v = await c.sys.getvfsstat();
  return Array.isArray(v) ? (v as Statvfs[]) : [];
}
