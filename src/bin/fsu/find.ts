/**
 * fsu_find: walk file hierarchies in an image, as find(1):
 *   fsu_find IMAGE [path ...] [expression]
 * Primaries: -name / -iname / -path / -ipath PATTERN (shell globs), -type [bcdflps], -size
 * [+-]N[ckMG], -links [+-]N, -uid / -gid [+-]N, -user / -group NAME (the image's /etc/passwd and
 * /etc/group), -perm [-]MODE, -mtime / -mmin [+-]N, -newer FILE, -empty, -maxdepth N, -mindepth N,
 * -prune, -true, -false; actions -print, -print0, -ls. Operators: ( ), ! / -not, -a / -and
 * (implied between primaries), -o / -or. Without an action, matches are printed. Directories are
 * read in name order. The walk never follows symbolic links; nothing in the image is changed.
 */

import type { Stats } from '../../ukfs/stats.js';
import { joinImagePath, loadIdNames, lsTime, modeString, UsageError, type ToolRun, type ToolSpec } from './common.js';

interface Node { path: string; name: string; st: Stats; depth: number }
interface Ctx { prune: boolean; out(s: string): void; now: number; users: Map<number, string>; groups: Map<number, string> }
type Pred = (n: Node, c: Ctx) => boolean;

/** A shell glob as a RegExp; `slash` lets * and ? match '/' (for -path). */
export function globToRegExp(glob: string, icase: boolean, slash: boolean): RegExp {
  let re = '';
  const any = slash ? '.' : '[^/]';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += `${any}*`;
    else if (c === '?') re += any;
    else if (c === '\\' && i + 1 < glob.length) re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith('!') || cls.startsWith('^')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, icase ? 'is' : 's');
}

function numTest(arg: string, what: string): (v: number) => boolean {
  const m = /^([+-]?)([0-9]+)$/.exec(arg);
  if (m === null) throw new UsageError(`${what}: ${arg}: not a number`);
  const n = Number(m[2]);
  return m[1] === '+' ? (v) => v > n : m[1] === '-' ? (v) => v < n : (v) => v === n;
}

const TYPES: Record<string, number> = { b: 0o060000, c: 0o020000, d: 0o040000, f: 0o100000, l: 0o120000, p: 0o010000, s: 0o140000 };

class Parser {
  i = 0;
  hasAction = false;
  maxDepth = Infinity;
  minDepth = 0;
  newerRefs: string[] = [];
  /** -empty is used: directories are read even at the depth limit. */
  needsEmpty = false;
  constructor(readonly a: readonly string[], readonly ids: { uidOf: Map<string, number>; gidOf: Map<string, number> }, readonly newer: Map<string, number>) {}

  peek(): string | undefined { return this.a[this.i]; }
  arg(p: string): string {
    const v = this.a[++this.i];
    if (v === undefined) throw new UsageError(`${p}: requires additional arguments`);
    return v;
  }

  expr(): Pred {
    let left = this.and();
    while (this.peek() === '-o' || this.peek() === '-or') {
      this.i++;
      const l = left, r = this.and();
      left = (n, c) => l(n, c) || r(n, c);
    }
    return left;
  }

  and(): Pred {
    let left = this.not();
    for (;;) {
      const t = this.peek();
      if (t === undefined || t === ')' || t === '-o' || t === '-or') return left;
      if (t === '-a' || t === '-and') this.i++;
      const l = left, r = this.not();
      left = (n, c) => l(n, c) && r(n, c);
    }
  }

  not(): Pred {
    const t = this.peek();
    if (t === '!' || t === '-not') {
      this.i++;
      const p = this.not();
      return (n, c) => !p(n, c);
    }
    return this.primary();
  }

  primary(): Pred {
    const t = this.peek();
    if (t === undefined) throw new UsageError('expression expected');
    if (t === '(') {
      this.i++;
      const e = this.expr();
      if (this.peek() !== ')') throw new UsageError("missing ')'");
      this.i++;
      return e;
    }
    let p: Pred;
    switch (t) {
      case '-name': case '-iname': { const re = globToRegExp(this.arg(t), t === '-iname', false); p = (n) => re.test(n.name); break; }
      case '-path': case '-ipath': case '-wholename': { const re = globToRegExp(this.arg(t), t === '-ipath', true); p = (n) => re.test(n.path); break; }
      case '-type': {
        const v = this.arg(t);
        const fmts = v.split(',').map((x) => {
          const f = TYPES[x];
          if (f === undefined) throw new UsageError(`-type: ${x}: unknown type`);
          return f;
        });
        p = (n) => fmts.includes(n.st.mode & 0o170000);
        break;
      }
      case '-size': {
        const m = /^([+-]?[0-9]+)([ckMG]?)$/.exec(this.arg(t));
        if (m === null) throw new UsageError(`-size: ${this.a[this.i]}: illegal size`);
        const unit = { '': 512, c: 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as '' | 'c' | 'k' | 'M' | 'G'];
        const test = numTest(m[1]!, '-size');
        p = (n) => test(Math.ceil(n.st.size / unit));
        break;
      }
      case '-links': { const test = numTest(this.arg(t), t); p = (n) => test(n.st.nlink); break; }
      case '-uid': { const test = numTest(this.arg(t), t); p = (n) => test(n.st.uid); break; }
      case '-gid': { const test = numTest(this.arg(t), t); p = (n) => test(n.st.gid); break; }
      case '-user': case '-group': {
        const v = this.arg(t);
        const id = /^[0-9]+$/.test(v) ? Number(v) : (t === '-user' ? this.ids.uidOf : this.ids.gidOf).get(v);
        if (id === undefined) throw new UsageError(`${t}: ${v}: no such ${t.slice(1)} in the image`);
        p = t === '-user' ? (n) => n.st.uid === id : (n) => n.st.gid === id;
        break;
      }
      case '-perm': {
        const v = this.arg(t);
        const all = v.startsWith('-');
        const mode = parseInt(all ? v.slice(1) : v, 8);
        if (!/^-?[0-7]+$/.test(v)) throw new UsageError(`-perm: ${v}: only octal modes are supported`);
        p = all ? (n) => (n.st.mode & mode) === mode : (n) => (n.st.mode & 0o7777) === mode;
        break;
      }
      case '-mtime': { const test = numTest(this.arg(t), t); p = (n, c) => test(Math.floor((c.now - n.st.mtimeMs) / 86400_000)); break; }
      case '-mmin': { const test = numTest(this.arg(t), t); p = (n, c) => test(Math.ceil((c.now - n.st.mtimeMs) / 60_000)); break; }
      case '-newer': {
        const ref = this.arg(t);
        this.newerRefs.push(ref);
        p = (n) => n.st.mtimeMs > (this.newer.get(ref) ?? Infinity);
        break;
      }
      case '-empty': this.needsEmpty = true; p = (n) => (n.st.isDirectory() ? (n as Node & { empty?: boolean }).empty === true : n.st.isFile() && n.st.size === 0); break;
      case '-maxdepth': case '-mindepth': {
        const v = this.arg(t);
        if (!/^[0-9]+$/.test(v)) throw new UsageError(`${t}: ${v}: not a depth`);
        if (t === '-maxdepth') this.maxDepth = Number(v);
        else this.minDepth = Number(v);
        p = () => true;
        break;
      }
      case '-prune': p = (_n, c) => { c.prune = true; return true; }; break;
      case '-true': p = () => true; break;
      case '-false': p = () => false; break;
      case '-print': this.hasAction = true; p = (n, c) => { c.out(n.path + '\n'); return true; }; break;
      case '-print0': this.hasAction = true; p = (n, c) => { c.out(n.path + '\0'); return true; }; break;
      case '-ls': {
        this.hasAction = true;
        p = (n, c) => {
          const st = n.st;
          c.out(`${String(st.ino).padStart(7)} ${String(Math.ceil(st.blocks / 2)).padStart(6)} ${modeString(st.mode)} ${String(st.nlink).padStart(3)} `
            + `${(c.users.get(st.uid) ?? String(st.uid)).padEnd(8)} ${(c.groups.get(st.gid) ?? String(st.gid)).padEnd(8)} ${String(st.size).padStart(8)} `
            + `${lsTime(st.mtimeMs, c.now)} ${n.path}\n`);
          return true;
        };
        break;
      }
      default:
        throw new UsageError(t.startsWith('-') ? `${t}: unknown primary or operator` : `${t}: paths must precede the expression`);
    }
    this.i++;
    return p;
  }
}

export const find: ToolSpec = {
  name: 'find',
  synopsis: '[path ...] [expression]',
  description: 'walk file hierarchies in a file system image',
  options: '',
  raw: true,
  writes: false,
  async run(t: ToolRun): Promise<number> {
    const args = t.args;
    let k = 0;
    const paths: string[] = [];
    while (k < args.length && !args[k]!.startsWith('-') && args[k] !== '!' && args[k] !== '(') paths.push(args[k++]!);
    if (paths.length === 0) paths.push('.');
    const ids = await loadIdNames(t.fs);
    const newer = new Map<string, number>();
    const parser = new Parser(args.slice(k), ids, newer);
    let pred: Pred = () => true;
    if (parser.a.length > 0) {
      pred = parser.expr();
      if (parser.i < parser.a.length) throw new UsageError(`${parser.a[parser.i]}: unexpected`);
    }
    for (const ref of parser.newerRefs) {
      try {
        newer.set(ref, (await t.fs.stat(ref)).mtimeMs);
      } catch (e) {
        t.warn(ref, e);
        return 1;
      }
    }
    const ctx: Ctx = { prune: false, out: t.out, now: Date.now(), users: ids.users, groups: ids.groups };
    const visit = async (path: string, name: string, depth: number): Promise<void> => {
      let st: Stats;
      try {
        st = await t.fs.lstat(path);
      } catch (e) {
        t.warn(path, e);
        return;
      }
      const node: Node & { empty?: boolean } = { path, name, st, depth };
      let names: string[] | null = null;
      if (st.isDirectory() && (depth < parser.maxDepth || parser.needsEmpty)) {
        try {
          names = (await t.fs.readdir(path)).sort();
        } catch (e) {
          t.warn(path, e);
        }
        node.empty = names !== null && names.length === 0;
      }
      ctx.prune = false;
      if (depth >= parser.minDepth && depth <= parser.maxDepth) {
        const hit = pred(node, ctx);
        if (hit && !parser.hasAction) t.out(path + '\n');
      }
      if (ctx.prune || names === null || depth >= parser.maxDepth) return;
      for (const n of names) await visit(joinImagePath(path, n), n, depth + 1);
    };
    for (const p of paths) await visit(p, p.replace(/\/+$/, '').split('/').pop() || p, 0);
    return t.failed ? 1 : 0;
  },
};
