#!/usr/bin/env node
/**
 * rump.sysctl: read and set kernel variables of the rump kernel server named by RUMP_SERVER,
 * like sysctl(8).
 *
 *   rump.sysctl [-nq] name ...                 "kern.hostname = rump"; a node lists its leaves
 *   rump.sysctl [-nq] [-w] name=value ...      "kern.hostname: rump -> other"
 *   rump.sysctl [-n] -a                        every variable
 *     -n  values only, without names;  -q  quiet when setting;  -w  accepted (name=value sets)
 *
 * Booleans print as 0 and 1 and structured values as JSON, one line each. An unknown name is
 * "top level name 'x' in 'x.y' is invalid" (or second level, ...), as sysctl says.
 */

import type { RumpClient } from '../client/client.js';
import { connectOrExit, errText, flagSet, getopt, helpRequested, runMain, UsageError } from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';

const PROG = 'rump.sysctl';
const USAGE = 'usage: rump.sysctl [-nq] [-w] name[=value] ...\n       rump.sysctl [-n] -a';
const LEVELS = ['top', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];

interface Leaf { name: string; type: string; value: unknown }

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3): "Mon Dec  4 10:00:00 2023", as sysctl prints kern.boottime. */
function ctime(sec: number): string {
  const d = new Date(sec * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

function show(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v !== null && typeof v === 'object' && typeof (v as { sec?: unknown }).sec === 'number' && typeof (v as { usec?: unknown }).usec === 'number') {
    return ctime((v as { sec: number }).sec);
  }
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

async function list(c: RumpClient, prefix: string): Promise<Leaf[]> {
  const v = await c.sys.__sysctl(prefix === '' ? '*' : `${prefix}.*`, null);
  return Array.isArray(v) ? (v as Leaf[]) : [];
}

/** sysctl's words for a name that does not exist: which level of it is unknown. */
async function invalidName(c: RumpClient, name: string): Promise<string> {
  const parts = name.split('.');
  let i = 0;
  for (; i < parts.length; i++) {
    try {
      await list(c, parts.slice(0, i + 1).join('.'));
    } catch {
      break;
    }
  }
  const level = LEVELS[Math.min(i, LEVELS.length - 1)]!;
  return `${level} level name '${parts[Math.min(i, parts.length - 1)]!}' in '${name}' is invalid`;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'AadeMnqrw', ['help']);
  const f = flagSet(opts);
  const all = f.has('a') || f.has('A');
  if (!all && operands.length === 0) throw new UsageError('no variable given');
  const c = await connectOrExit(PROG);
  let status = 0;
  const out: string[] = [];
  const print = (name: string, v: unknown): void => { out.push(f.has('n') ? show(v) : `${name} = ${show(v)}`); };
  try {
    if (all) for (const leaf of await list(c, '')) print(leaf.name, leaf.value);
    for (const arg of operands) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg : arg.slice(0, eq);
      try {
        if (eq >= 0) {
          const value = arg.slice(eq + 1);
          const old = await c.sys.__sysctl(name, value);
          const now = await c.sys.__sysctl(name, null);
          if (!f.has('q')) out.push(`${f.has('n') ? '' : `${name}: `}${show(old)} -> ${show(now)}`);
          continue;
        }
        try {
          print(name, await c.sys.__sysctl(name, null));
        } catch (e) {
          if (!isKernelError(e, 'EISDIR')) throw e;
          for (const leaf of await list(c, name)) print(leaf.name, leaf.value);
        }
      } catch (e) {
        const why = isKernelError(e, 'ENOENT') ? await invalidName(c, name) : `${name}: ${errText(e)}`;
        process.stderr.write(`${PROG}: ${why}\n`);
        status = 1;
      }
    }
  } finally {
    await c.close();
  }
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
  return status;
});
