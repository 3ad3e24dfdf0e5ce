/**
 * What every fs-utils tool shares (NetBSD's fs-utils: fsu_ls, fsu_cat, ... over ukfs): the
 * command line, mounting the image, output, error messages and exit status.
 *
 *   fsu_TOOL [-t fstype] [-o options] IMAGE [tool flags] [operands]
 *   fsu_TOOL IMAGE [-t fstype] [-o options] [tool flags] [operands]
 *
 * -t names the file system type (ext2fs, ext2/3/4, tmpfs, ffs, msdos, cd9660); without it the type
 * is detected from the image's signature. After IMAGE, `-t` is taken as the type only when its
 * value is a type name (so `fsu_ls img -t /dir` still means ls -t). -o takes a comma list:
 *   ro / rw       mount read-only / read-write (tools that only read mount read-only anyway)
 *   offset=N      the file system starts N bytes into the image (k/m/g suffixes allowed)
 *   size=N        and is N bytes long
 *   partition=N   the Nth MBR/GPT partition of a whole-disk image
 *   uid=N, gid=N  act as this user/group inside the image (default root)
 *   anything else is passed to the file system as mount data (key=value, numbers as numbers)
 * `--help` prints the tool's usage. Tool flags follow POSIX getopt (clusters like -lR, -m 755 or
 * -m755, `--` ends them).
 *
 * Errors print as `fsu_ls: /x: No such file or directory` (the kernel's explanation added in
 * parentheses where it says more than the errno, e.g. which feature makes a file system
 * read-only); a tool continues with its other operands and exits 1. Usage errors exit 2.
 * Output is buffered and flushed before exit; the image is always unmounted (and so synced).
 */

import { errno as ERRNO, strerror, type ErrnoName } from '../../kern/errno.js';
import { findFs } from '../../ukfs/registry.js';
import { ukfsMount, type Ukfs, type UkfsMountOptions } from '../../ukfs/ukfs.js';

export interface ToolSpec {
  /** 'ls' (the program is fsu_ls). */
  readonly name: string;
  /** Flags and operands after the image: '[-1AadFilnRrSst] [file ...]'. */
  readonly synopsis: string;
  /** One line for --help. */
  readonly description: string;
  /** getopt option letters; a letter followed by ':' takes a value. Ignored when `raw`. */
  readonly options: string;
  /** The tool parses its own arguments (find's expressions, chmod's '-w' modes). */
  readonly raw?: boolean;
  /** getopt stops (instead of failing) at an unknown option, leaving it as the first operand. */
  readonly stopAtUnknown?: boolean;
  /** Needs a writable mount (may depend on the flags: fsu_ecp -g only reads the image). */
  readonly writes: boolean | ((flags: Flags, order: readonly string[]) => boolean);
  /** Fewest and most operands (usage error outside). */
  readonly minArgs?: number;
  readonly maxArgs?: number;
  /** More lines for --help. */
  readonly help?: string;
  run(t: ToolRun): Promise<number>;
}

/** Parsed flags: each letter with its values in order ('' for flags without a value). */
export class Flags {
  readonly #m = new Map<string, string[]>();
  add(letter: string, value: string): void {
    const v = this.#m.get(letter);
    if (v === undefined) this.#m.set(letter, [value]);
    else v.push(value);
  }
  has(letter: string): boolean { return this.#m.has(letter); }
  /** The last value given for the letter. */
  get(letter: string): string | undefined { const v = this.#m.get(letter); return v?.[v.length - 1]; }
  all(letter: string): readonly string[] { return this.#m.get(letter) ?? []; }
  /** Which of the letters was given last (for -L/-P style pairs). */
  last(letters: string, order: readonly string[]): string | undefined {
    let found: string | undefined;
    for (const l of order) if (letters.includes(l)) found = l;
    return found;
  }
}

/** What a tool gets to run with. */
export interface ToolRun {
  /** 'fsu_ls' */
  readonly prog: string;
  readonly fs: Ukfs;
  readonly image: string;
  readonly flags: Flags;
  /** The letters in the order given (for flags where the last one wins). */
  readonly order: readonly string[];
  readonly args: readonly string[];
  /** Buffered stdout. */
  out(s: string): void;
  /** Write bytes to stdout (cat), with back-pressure. */
  outBytes(b: Uint8Array): Promise<void>;
  /** `prog: what: message` on stderr; the exit status becomes 1. */
  warn(what: string, e: unknown): void;
  /** `prog: message` on stderr; the exit status becomes 1. */
  warnx(msg: string): void;
  /** The exit status becomes 1, nothing printed (stat -q). */
  fail(): void;
  /** Did a warning happen? */
  readonly failed: boolean;
  readonly stdoutIsTTY: boolean;
  /** Standard input (fsu_write). */
  readonly stdin: AsyncIterable<Uint8Array>;
}

/** Where a tool's input and output go; the process's by default, captured in tests. */
export interface ToolIO {
  /** Resolves when the data is written (or the stream is gone). */
  stdout(data: string | Uint8Array): Promise<void>;
  stderr(text: string): void;
  stdin: AsyncIterable<Uint8Array>;
  stdoutIsTTY: boolean;
  /** How to open the image (tests open a tmpfs instead)... */
  mount(opts: UkfsMountOptions): Promise<Ukfs>;
  /** ...and to let go of it (unmount: sync, unmount, halt). */
  release(fs: Ukfs): Promise<void>;
}

export function processIO(): ToolIO {
  return {
    stdout: writeStdout,
    stderr: (text) => void process.stderr.write(text),
    stdin: process.stdin,
    stdoutIsTTY: process.stdout.isTTY === true,
    mount: ukfsMount,
    release: (fs) => fs.unmount(),
  };
}

export class UsageError extends Error {}

/** strerror text as a C library prints it ("No such file or directory"). */
export function errText(e: unknown): string {
  const x = e as { code?: unknown; message?: unknown; detail?: unknown };
  if (typeof x?.code === 'string' && x.code in ERRNO) {
    const base = strerror(ERRNO[x.code as ErrnoName]);
    const text = base.charAt(0).toUpperCase() + base.slice(1);
    return typeof x.detail === 'string' && SHOW_DETAIL.has(x.code) ? `${text} (${x.detail})` : text;
  }
  if (typeof x?.code === 'string' && x.code.startsWith('ERR_FS_') && typeof (x as { info?: { message?: string } }).info?.message === 'string') {
    return (x as { info: { message: string } }).info.message;
  }
  return typeof x?.message === 'string' ? x.message : String(e);
}

/** Codes whose kernel explanation is worth showing (the errno alone does not say what is wrong). */
const SHOW_DETAIL = new Set(['EIO', 'EFTYPE', 'EROFS', 'EINVAL', 'ENODEV', 'ENXIO', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSPC', 'ENOMEM', 'EFBIG', 'EPROGMISMATCH', 'EBUSY']);

/** POSIX getopt: flags until the first operand or '--'. */
export function getopt(args: readonly string[], optstring: string, stopAtUnknown = false): { flags: Flags; order: string[]; rest: string[] } {
  const flags = new Flags();
  const order: string[] = [];
  let i = 0;
  outer: for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { i++; break; }
    if (a === '-' || !a.startsWith('-')) break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') {
        if (stopAtUnknown && j === 1) break outer;
        throw new UsageError(`unknown option -- ${c}`);
      }
      if (optstring[at + 1] === ':') {
        let v = a.slice(j + 1);
        if (v === '') {
          if (i + 1 >= args.length) throw new UsageError(`option requires an argument -- ${c}`);
          v = args[++i]!;
        }
        flags.add(c, v);
        order.push(c);
        continue outer;
      }
      flags.add(c, '');
      order.push(c);
    }
  }
  return { flags, order, rest: args.slice(i) };
}

/** A byte count with an optional k/m/g/t suffix (binary). */
export function parseBytes(s: string, what: string): number {
  const m = /^([0-9]+)([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (m === null) throw new UsageError(`${what} '${s}' is not a byte count`);
  const mul = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const v = Number(m[1]) * mul;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what} '${s}' is too large`);
  return v;
}

interface CommonArgs {
  fstype: string | undefined;
  o: string[];
  image: string;
  rest: string[];
  help: boolean;
}

function parseCommon(argv: readonly string[], tool: ToolSpec): CommonArgs {
  let fstype: string | undefined;
  const o: string[] = [];
  let i = 0;
  let help = false;
  const value = (flag: string): string => {
    const a = argv[i]!;
    if (a.length > 2) return a.slice(2);
    if (i + 1 >= argv.length) throw new UsageError(`option requires an argument -- ${flag}`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-?') { help = true; continue; }
    if (a === '--') { i++; break; }
    if (a.startsWith('-t')) { fstype = value('t'); continue; }
    if (a.startsWith('-o')) { o.push(value('o')); continue; }
    if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a} before the image (only -t and -o go there)`);
    break;
  }
  if (help) return { fstype, o, image: '', rest: [], help };
  const image = argv[i++];
  if (image === undefined) throw new UsageError('no image given');
  // -t TYPE and -o OPTS right after the image
  for (;;) {
    const a = argv[i];
    if (a === '--help') { help = true; i++; continue; }
    if (a === '-t' && argv[i + 1] !== undefined && findFs(argv[i + 1]!) !== undefined) { fstype = argv[i + 1]; i += 2; continue; }
    if (a !== undefined && a.startsWith('-t') && a.length > 2 && findFs(a.slice(2)) !== undefined) { fstype = a.slice(2); i++; continue; }
    if (a === '-o' && !tool.options.includes('o') && !tool.raw && argv[i + 1] !== undefined) { o.push(argv[i + 1]!); i += 2; continue; }
    break;
  }
  return { fstype, o, image, rest: argv.slice(i), help };
}

/** -o values as ukfs options. */
export function mountOptions(list: readonly string[]): Partial<UkfsMountOptions> & { rw?: boolean } {
  const out: Partial<UkfsMountOptions> & { rw?: boolean } = {};
  const data: Record<string, unknown> = {};
  for (const item of list.flatMap((s) => s.split(','))) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const val = eq < 0 ? undefined : item.slice(eq + 1);
    const num = (): number => {
      if (val === undefined) throw new UsageError(`-o ${key} needs a value (${key}=N)`);
      return parseBytes(val, `-o ${key}`);
    };
    switch (key) {
      case 'ro': case 'rdonly': out.readonly = true; break;
      case 'rw': out.rw = true; break;
      case 'offset': out.offset = num(); break;
      case 'size': out.size = num(); break;
      case 'partition': out.partition = num(); break;
      case 'uid': out.uid = num(); break;
      case 'gid': out.gid = num(); break;
      default:
        data[key] = val === undefined ? true : /^[0-9]+$/.test(val) ? Number(val) : val;
    }
  }
  if (Object.keys(data).length > 0) out.options = data;
  return out;
}

function usageLine(prog: string, tool: ToolSpec): string {
  return `usage: ${prog} [-t fstype] [-o options] image ${tool.synopsis}`.trimEnd();
}

function helpText(prog: string, tool: ToolSpec): string {
  return [
    usageLine(prog, tool),
    '',
    `${prog}: ${tool.description}`,
    ...(tool.help !== undefined ? ['', tool.help] : []),
    '',
    'Common options (before or right after the image):',
    '  -t fstype    file system type (ext2fs, tmpfs, ...); detected from the image when absent',
    '  -o options   comma list: ro, rw, offset=N, size=N, partition=N, uid=N, gid=N, or fs mount data',
    '  --help       this text',
  ].join('\n') + '\n';
}

class Output {
  #buf: string[] = [];
  #size = 0;
  constructor(private readonly sink: (data: string) => Promise<void>) {}
  write(s: string): void {
    this.#buf.push(s);
    this.#size += s.length;
    if (this.#size >= 64 * 1024) void this.flushNow();
  }
  flushNow(): Promise<void> {
    if (this.#buf.length === 0) return Promise.resolve();
    const s = this.#buf.join('');
    this.#buf = [];
    this.#size = 0;
    return this.sink(s);
  }
}

function writeStdout(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const ok = process.stdout.write(data, (err) => {
      if (err !== null && err !== undefined) resolve();
    });
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/**
 * Run tool `tool` as program `prog` with `argv` (the arguments after the program name); returns
 * the exit status (0 fine, 1 something failed, 2 usage).
 */
export async function runTool(tool: ToolSpec, argv: readonly string[], prog = `fsu_${tool.name}`, io: ToolIO = processIO()): Promise<number> {
  let common: CommonArgs;
  let parsed: { flags: Flags; order: string[]; rest: string[] };
  try {
    common = parseCommon(argv, tool);
    if (common.help) {
      await io.stdout(helpText(prog, tool));
      return 0;
    }
    parsed = tool.raw === true ? { flags: new Flags(), order: [], rest: common.rest } : getopt(common.rest, tool.options, tool.stopAtUnknown);
    if (tool.minArgs !== undefined && parsed.rest.length < tool.minArgs) throw new UsageError(parsed.rest.length === 0 ? 'missing operand' : 'too few operands');
    if (tool.maxArgs !== undefined && parsed.rest.length > tool.maxArgs) throw new UsageError(`too many operands (at most ${tool.maxArgs})`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${prog}: ${e.message}\n${usageLine(prog, tool)}\n`);
      return 2;
    }
    throw e;
  }
  let mo: ReturnType<typeof mountOptions>;
  try {
    mo = mountOptions(common.o);
  } catch (e) {
    io.stderr(`${prog}: ${(e as Error).message}\n${usageLine(prog, tool)}\n`);
    return 2;
  }
  const { rw, ...ukOpts } = mo;
  const writes = typeof tool.writes === 'function' ? tool.writes(parsed.flags, parsed.order) : tool.writes;
  const readonly = ukOpts.readonly === true || (!writes && rw !== true);
  let fs: Ukfs;
  try {
    fs = await io.mount({ ...ukOpts, image: common.image, readonly, ...(common.fstype !== undefined ? { fstype: common.fstype } : {}) });
  } catch (e) {
    io.stderr(`${prog}: ${common.image}: ${errText(e)}\n`);
    return 1;
  }
  const out = new Output(io.stdout);
  let failed = false;
  const t: ToolRun = {
    prog,
    fs,
    image: common.image,
    flags: parsed.flags,
    order: parsed.order,
    args: parsed.rest,
    out: (s) => out.write(s),
    outBytes: async (b) => {
      await out.flushNow();
      await io.stdout(b);
    },
    warn: (what, e) => {
      failed = true;
      io.stderr(`${prog}: ${what}: ${errText(e)}\n`);
    },
    warnx: (msg) => {
      failed = true;
      io.stderr(`${prog}: ${msg}\n`);
    },
    fail: () => { failed = true; },
    get failed() { return failed; },
    stdoutIsTTY: io.stdoutIsTTY,
    stdin: io.stdin,
  };
  let status: number;
  try {
    status = await tool.run(t);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`${prog}: ${e.message}\n${usageLine(prog, tool)}\n`);
      status = 2;
    } else {
      io.stderr(`${prog}: ${errText(e)}\n`);
      status = 1;
    }
  }
  await out.flushNow();
  try {
    await io.release(fs);
  } catch (e) {
    io.stderr(`${prog}: ${common.image}: unmount: ${errText(e)}\n`);
    status = status === 0 ? 1 : status;
  }
  return status !== 0 ? status : failed ? 1 : 0;
}

/** The entry point of a bin: load the tool, run it, set the exit status. */
export async function main(name: string): Promise<void> {
  const { loadTool } = await import('./tools.js');
  const tool = await loadTool(name);
  process.stdout.on('error', (e: { code?: string }) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // a closed pipe (| head) ends us quietly
  });
  process.exitCode = await runTool(tool, process.argv.slice(2));
}

// ---------------------------------------------------------------------------------------------
// helpers shared by tools

/** '/a/b/' + 'c' with one slash. */
/** Call `fn` for each entry of directory `dir` (as a path); a readdir failure is warned about. */
export async function forEachChild(t: ToolRun, dir: string, fn: (path: string) => Promise<void>): Promise<void> {
  let names: string[];
  try {
    names = await t.fs.readdir(dir);
  } catch (e) {
    t.warn(dir, e);
    return;
  }
  for (const n of names) await fn(joinImagePath(dir, n));
}

export function joinImagePath(dir: string, name: string): string {
  if (dir === '') return name;
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Last component of a path ('a/b/' -> 'b'). */
export function baseName(p: string): string {
  const s = p.replace(/\/+$/, '');
  return s === '' ? '/' : s.slice(s.lastIndexOf('/') + 1);
}

/** Directory of a path ('a/b' -> 'a', 'b' -> '.'). */
export function dirName(p: string): string {
  const s = p.replace(/\/+$/, '');
  const i = s.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : s.slice(0, i);
}

/** ls-style mode string: '-rw-r--r--'. */
export function modeString(mode: number): string {
  const t = mode & 0o170000;
  const type = t === 0o040000 ? 'd' : t === 0o120000 ? 'l' : t === 0o020000 ? 'c' : t === 0o060000 ? 'b'
    : t === 0o010000 ? 'p' : t === 0o140000 ? 's' : t === 0o160000 ? 'w' : '-';
  const rwx = (bits: number, special: boolean, ch: string): string =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return type
    + rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's')
    + rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's')
    + rwx(mode & 7, (mode & 0o1000) !== 0, 't');
}

/** User and group names from the image's own /etc/passwd and /etc/group (empty maps if absent). */
export async function loadIdNames(fs: Ukfs): Promise<{ users: Map<number, string>; groups: Map<number, string>; uidOf: Map<string, number>; gidOf: Map<string, number> }> {
  const users = new Map<number, string>(), groups = new Map<number, string>();
  const uidOf = new Map<string, number>(), gidOf = new Map<string, number>();
  const read = async (p: string, m: Map<number, string>, r: Map<string, number>): Promise<void> => {
    let text: string;
    try {
      const st = await fs.stat(p);
      if (!st.isFile() || st.size > 4 << 20) return;
      text = await fs.readFile(p, 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length < 3 || f[0] === '' || line.startsWith('#')) continue;
      const id = Number(f[2]);
      if (!Number.isInteger(id)) continue;
      if (!m.has(id)) m.set(id, f[0]!);
      if (!r.has(f[0]!)) r.set(f[0]!, id);
    }
  };
  await read('/etc/passwd', users, uidOf);
  await read('/etc/group', groups, gidOf);
  return { users, groups, uidOf, gidOf };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ls -l time: 'Mar  5 14:03' within six months, else 'Mar  5  2019' (local time). */
export function lsTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const mon = MONTHS[d.getMonth()]!;
  const day = String(d.getDate()).padStart(2, ' ');
  const recent = ms <= now + 60_000 && now - ms < 182.5 * 86400_000;
  return recent
    ? `${mon} ${day} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
    : `${mon} ${day}  ${d.getFullYear()}`;
}

/** stat(1)'s default time format: 'Mar  5 14:03:07 2019' (local time). */
export function statTime(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** Human-readable size as BSD's humanize_number: '1.5K', '23M'. */
export function humanSize(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${bytes}B`;
  return v < 10 ? `${(Math.round(v * 10) / 10).toFixed(1)}${units[i]}` : `${Math.round(v)}${units[i]}`;
}

/** The block size for block counts: BLOCKSIZE from the environment, else 512 (BSD). */
export function blockSize(flags: Flags, order: readonly string[]): number {
  const unit = [...order].reverse().find((c) => c === 'k' || c === 'm' || c === 'g');
  if (unit === 'k') return 1024;
  if (unit === 'm') return 1024 * 1024;
  if (unit === 'g') return 1024 ** 3;
  void flags;
  const env = process.env['BLOCKSIZE'];
  if (env !== undefined) {
    try {
      const b = parseBytes(env, 'BLOCKSIZE');
      if (b >= 512 && b <= 1024 ** 3) return b;
    } catch {
      // BSD ignores a bad BLOCKSIZE with a warning; we just ignore it
    }
  }
  return 512;
}
