/**
 * fsu_ls: list directory contents in an image, as BSD ls(1).
 *
 * Flags: -1 one per line, -A all but . and .., -a all, -d directories as plain entries, -F type
 * suffixes (/ @ * | =), -i inode numbers, -l long format, -n numeric ids, -R recursive, -r reverse,
 * -S by size, -s block counts, -t by modification time. Long format and totals count 512-byte
 * blocks (BLOCKSIZE, -k for KiB); owners are named from the image's own /etc/passwd and
 * /etc/group, numbers otherwise. Operands that are files are listed first, then directories
 * (with a heading when there are several or with -R). Output goes one name per line unless
 * stdout is a terminal.
 */

import type { Stats } from '../../ukfs/stats.js';
import { blockSize, joinImagePath, loadIdNames, lsTime, modeString, type ToolRun, type ToolSpec } from './common.js';
import { major, minor } from '../../kern/types.js';

interface Entry {
  name: string;
  path: string;
  st: Stats | null;
  target?: string;
}

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFLNK = 0o120000, S_IFIFO = 0o010000, S_IFSOCK = 0o140000, S_IFCHR = 0o020000, S_IFBLK = 0o060000;

function suffix(st: Stats | null): string {
  if (st === null) return '';
  switch (st.mode & S_IFMT) {
    case S_IFDIR: return '/';
    case S_IFLNK: return '@';
    case S_IFIFO: return '|';
    case S_IFSOCK: return '=';
    default: return (st.mode & 0o111) !== 0 ? '*' : '';
  }
}

export const ls: ToolSpec = {
  name: 'ls',
  synopsis: '[-1AadFiklnRrSst] [file ...]',
  description: 'list directory contents in a file system image',
  options: '1AadFiklnRrSst',
  writes: false,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const long = f.has('l') || f.has('n');
    const numeric = f.has('n');
    const all = f.has('a');
    const almostAll = f.has('A') || all;
    const classify = f.has('F');
    const showIno = f.has('i');
    const showBlocks = f.has('s');
    const bsize = blockSize(f, t.order);
    const onePerLine = f.has('1') || long || !t.stdoutIsTTY;
    const ids = long && !numeric ? await loadIdNames(t.fs) : null;
    const fs = t.fs;
    const blocksOf = (st: Stats): number => Math.ceil((st.blocks * 512) / bsize);

    const sortEntries = (es: Entry[]): Entry[] => {
      const byName = (a: Entry, b: Entry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      let cmp = byName;
      if (f.has('S')) cmp = (a, b) => (b.st?.size ?? 0) - (a.st?.size ?? 0) || byName(a, b);
      else if (f.has('t')) cmp = (a, b) => (b.st?.mtimeMs ?? 0) - (a.st?.mtimeMs ?? 0) || byName(a, b);
      es.sort(cmp);
      if (f.has('r')) es.reverse();
      return es;
    };

    const statEntry = async (path: string, name: string, follow: boolean): Promise<Entry> => {
      const st = follow ? await fs.stat(path) : await fs.lstat(path);
      const e: Entry = { name, path, st };
      if (long && (st.mode & S_IFMT) === S_IFLNK) {
        try {
          e.target = await fs.readlink(path) as string;
        } catch {
          e.target = '?';
        }
      }
      return e;
    };

    const print = (entries: Entry[], withTotal: boolean): void => {
      if (entries.length === 0) {
        if (withTotal && long) t.out('total 0\n');
        return;
      }
      if (withTotal && (long || showBlocks)) {
        t.out(`total ${entries.reduce((s, e) => s + (e.st === null ? 0 : blocksOf(e.st)), 0)}\n`);
      }
      if (long) {
        const rows = entries.map((e) => {
          const st = e.st!;
          const fmt = st.mode & S_IFMT;
          const owner = ids?.users.get(st.uid) ?? String(st.uid);
          const group = ids?.groups.get(st.gid) ?? String(st.gid);
          const size = fmt === S_IFCHR || fmt === S_IFBLK ? `${major(st.rdev)}, ${minor(st.rdev)}` : String(st.size);
          return {
            ino: String(st.ino), blocks: String(blocksOf(st)), mode: modeString(st.mode), nlink: String(st.nlink), owner, group, size,
            time: lsTime(st.mtimeMs),
            name: e.name + (classify ? suffix(st) : '') + (e.target !== undefined ? ` -> ${e.target}` : ''),
          };
        });
        const w = (k: keyof (typeof rows)[number]): number => Math.max(...rows.map((r) => r[k].length));
        const wi = w('ino'), wb = w('blocks'), wl = w('nlink'), wo = w('owner'), wg = w('group'), ws = w('size');
        for (const r of rows) {
          t.out(`${showIno ? `${r.ino.padStart(wi)} ` : ''}${showBlocks ? `${r.blocks.padStart(wb)} ` : ''}`
            + `${r.mode} ${r.nlink.padStart(wl)} ${r.owner.padEnd(wo)}  ${r.group.padEnd(wg)}  ${r.size.padStart(ws)} ${r.time} ${r.name}\n`);
        }
        return;
      }
      const cells = entries.map((e) => `${showIno ? `${e.st?.ino ?? '?'} ` : ''}${showBlocks && e.st !== null ? `${blocksOf(e.st)} ` : ''}${e.name}${classify ? suffix(e.st) : ''}`);
      if (onePerLine) {
        for (const c of cells) t.out(c + '\n');
        return;
      }
      // columns down, as ls does on a terminal
      const width = process.stdout.columns || 80;
      const colw = Math.max(...cells.map((c) => c.length)) + 2;
      const ncols = Math.max(1, Math.floor(width / colw));
      const nrows = Math.ceil(cells.length / ncols);
      for (let r = 0; r < nrows; r++) {
        let line = '';
        for (let c = 0; c < ncols; c++) {
          const i = c * nrows + r;
          if (i >= cells.length) break;
          line += (c + 1 < ncols && i + nrows < cells.length) ? cells[i]!.padEnd(colw) : cells[i]!;
        }
        t.out(line + '\n');
      }
    };

    const listDir = async (dir: string, heading: boolean, first: boolean): Promise<void> => {
      let names: string[];
      try {
        names = await fs.readdir(dir);
      } catch (e) {
        t.warn(dir, e);
        return;
      }
      if (heading) t.out(`${first ? '' : '\n'}${dir}:\n`);
      if (all) names.push('.', '..');
      const visible = names.filter((n) => almostAll || !n.startsWith('.'));
      const needStat = long || showIno || showBlocks || classify || f.has('t') || f.has('S') || f.has('R');
      const entries: Entry[] = [];
      for (const n of visible) {
        const p = joinImagePath(dir, n);
        if (!needStat) {
          entries.push({ name: n, path: p, st: null });
          continue;
        }
        try {
          entries.push(await statEntry(p, n, false));
        } catch (e) {
          t.warn(p, e);
        }
      }
      sortEntries(entries);
      print(entries, true);
      if (f.has('R')) {
        for (const e of entries) {
          if (e.name === '.' || e.name === '..' || e.st === null || (e.st.mode & S_IFMT) !== S_IFDIR) continue;
          await listDir(e.path, true, false);
        }
      }
    };

    const operands = t.args.length === 0 ? ['.'] : [...t.args];
    const files: Entry[] = [];
    const dirs: Entry[] = [];
    const followOperands = !long && !f.has('d') && !classify;
    for (const p of operands) {
      let e: Entry;
      try {
        e = await statEntry(p, p, false);
        if (followOperands && e.st !== null && (e.st.mode & S_IFMT) === S_IFLNK) {
          try {
            e = await statEntry(p, p, true);
          } catch {
            // a dangling link lists as itself
          }
        }
      } catch (err) {
        t.warn(p, err);
        continue;
      }
      if (!f.has('d') && e.st !== null && (e.st.mode & S_IFMT) === S_IFDIR) dirs.push(e);
      else files.push(e);
    }
    sortEntries(files);
    print(files, false);
    sortEntries(dirs);
    const headings = operands.length > 1 || f.has('R');
    let first = files.length === 0;
    for (const d of dirs) {
      await listDir(d.path, headings, first);
      first = false;
    }
    return t.failed ? 1 : 0;
  },
};
