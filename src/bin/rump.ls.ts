#!/usr/bin/env node
/**
 * rump.ls: list directory contents in the rump kernel server named by RUMP_SERVER, like ls(1).
 *
 *   rump.ls [-1AadFil] [file ...]
 *     -1  one entry per line (always the case: no column output)
 *     -a  include entries starting with '.' (and '.' and '..');  -A  the same without '.' and '..'
 *     -d  list directories themselves, not their contents
 *     -F  mark directories '/', executables '*', symlinks '@', FIFOs '|', sockets '='
 *     -i  print inode numbers
 *     -l  long format (owners and groups numeric: the kernel has no user database)
 *
 * Operands that are not directories are listed first, then each directory (with a "name:"
 * header when there are several operands). Errors name the operand; the exit status is 1 if
 * any operand failed.
 */

import type { RumpClient } from '../client/client.js';
import { connectOrExit, errText, getopt, runMain, writeOut } from '../client/cli.js';
import { O_DIRECTORY, O_RDONLY, S_IFMT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFSOCK, S_ISDIR, S_ISLNK, type Stat } from '../kern/types.js';

const PROG = 'rump.ls';
const USAGE = 'usage: rump.ls [-1AadFil] [file ...]';

interface Flags { all: boolean; almost: boolean; dir: boolean; classify: boolean; inode: boolean; long: boolean }
interface Entry { name: string; path: string; st: Stat; target?: string }

function typeChar(mode: number): string {
  switch (mode & S_IFMT) {
    case S_IFDIR: return 'd';
    case S_IFLNK: return 'l';
    case S_IFCHR: return 'c';
    case S_IFBLK: return 'b';
    case S_IFIFO: return 'p';
    case S_IFSOCK: return 's';
    default: return '-';
  }
}

/** strmode(3). */
function modeString(mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string): string =>
    ((bits & 4) !== 0 ? 'r' : '-') + ((bits & 2) !== 0 ? 'w' : '-')
    + (special ? ((bits & 1) !== 0 ? ch : ch.toUpperCase()) : ((bits & 1) !== 0 ? 'x' : '-'));
  return typeChar(mode) + rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's')
    + rwx(mode, (mode & 0o1000) !== 0, 't');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function dateString(sec: number, now: number): string {
  const d = new Date(sec * 1000);
  const day = String(d.getDate()).padStart(2, ' ');
  const sixMonths = 182 * 24 * 3600;
  if (Math.abs(now - sec) < sixMonths) {
    return `${MONTHS[d.getMonth()]} ${day} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }
  return `${MONTHS[d.getMonth()]} ${day}  ${d.getFullYear()}`;
}

function suffix(st: Stat): string {
  switch (st.mode & S_IFMT) {
    case S_IFDIR: return '/';
    case S_IFLNK: return '@';
    case S_IFIFO: return '|';
    case S_IFSOCK: return '=';
    default: return (st.mode & 0o111) !== 0 ? '*' : '';
  }
}

function format(entries: Entry[], f: Flags, withTotal: boolean): string {
  const now = Date.now() / 1000;
  const lines: string[] = [];
  if (f.long) {
    if (withTotal) lines.push(`total ${entries.reduce((n, e) => n + e.st.blocks, 0)}`);
    const w = (k: (e: Entry) => string): number => Math.max(0, ...entries.map((e) => k(e).length));
    const wi = w((e) => String(e.st.ino)), wl = w((e) => String(e.st.nlink)), wu = w((e) => String(e.st.uid));
    const wg = w((e) => String(e.st.gid));
    const sizeOf = (e: Entry): string => {
      const t = e.st.mode & S_IFMT;
      return t === S_IFCHR || t === S_IFBLK ? `${(e.st.rdev >>> 8) & 0xfff}, ${((e.st.rdev >>> 12) & 0xfff00) | (e.st.rdev & 0xff)}` : String(e.st.size);
    };
    const ws = w(sizeOf);
    for (const e of entries) {
      let line = f.inode ? `${String(e.st.ino).padStart(wi)} ` : '';
      line += `${modeString(e.st.mode)}  ${String(e.st.nlink).padStart(wl)} ${String(e.st.uid).padEnd(wu)}  ${String(e.st.gid).padEnd(wg)}  `;
      line += `${sizeOf(e).padStart(ws)} ${dateString(e.st.mtimeSec, now)} ${e.name}`;
      if (f.classify) line += suffix(e.st);
      if (e.target !== undefined) line += ` -> ${e.target}`;
      lines.push(line);
    }
  } else {
    const wi = Math.max(0, ...entries.map((e) => String(e.st.ino).length));
    for (const e of entries) lines.push(`${f.inode ? `${String(e.st.ino).padStart(wi)} ` : ''}${e.name}${f.classify ? suffix(e.st) : ''}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

async function entry(c: RumpClient, name: string, path: string, long: boolean): Promise<Entry> {
  const st = await c.sys.lstat(path);
  const e: Entry = { name, path, st };
  if (long && S_ISLNK(st.mode)) e.target = await c.sys.readlink(path).catch(() => '?');
  return e;
}

async function readDir(c: RumpClient, path: string, f: Flags): Promise<Entry[]> {
  const fd = await c.sys.open(path, O_RDONLY | O_DIRECTORY, 0);
  const names: string[] = [];
  try {
    for (let ents = await c.sys.getdents(fd, 512); ents.length > 0; ents = await c.sys.getdents(fd, 512)) {
      for (const d of ents) {
        if (d.name.startsWith('.')) {
          if (!f.all && !f.almost) continue;
          if (f.almost && !f.all && (d.name === '.' || d.name === '..')) continue;
        }
        names.push(d.name);
      }
    }
  } finally {
    await c.sys.close(fd);
  }
  names.sort();
  const base = path.endsWith('/') ? path : `${path}/`;
  // pipelined: every lstat is in flight at once
  return Promise.all(names.map((n) => entry(c, n, base + n, f.long)));
}

runMain(PROG, USAGE, async (argv) => {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { opts, operands } = getopt(argv, '1AadFil', ['help']);
  const f: Flags = { all: false, almost: false, dir: false, classify: false, inode: false, long: false };
  for (const [o] of opts) {
    if (o === 'a') f.all = true;
    else if (o === 'A') f.almost = true;
    else if (o === 'd') f.dir = true;
    else if (o === 'F') f.classify = true;
    else if (o === 'i') f.inode = true;
    else if (o === 'l') f.long = true;
  }
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    const targets = operands.length === 0 ? ['.'] : operands;
    const files: Entry[] = [];
    const dirs: string[] = [];
    for (const t of targets) {
      try {
        // follow a symlink operand to a directory unless -d or -l (as ls does)
        const st = f.dir || f.long ? await c.sys.lstat(t) : await c.sys.stat(t);
        if (S_ISDIR(st.mode) && !f.dir) dirs.push(t);
        else files.push(await entry(c, t, t, f.long));
      } catch (e) {
        process.stderr.write(`${PROG}: ${t}: ${errText(e)}\n`);
        status = 1;
      }
    }
    files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let out = format(files, f, false);
    dirs.sort();
    for (const d of dirs) {
      try {
        const ents = await readDir(c, d, f);
        if (targets.length > 1) out += `${out === '' ? '' : '\n'}${d}:\n`;
        out += format(ents, f, true);
      } catch (e) {
        process.stderr.write(`${PROG}: ${d}: ${errText(e)}\n`);
        status = 1;
      }
    }
    await writeOut(out);
  } finally {
    await c.close();
  }
  return status;
});
