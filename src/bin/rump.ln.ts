#!/usr/bin/env node
/**
 * rump.ln: make links inside the rump kernel server named by RUMP_SERVER, like ln(1).
 *
 *   rump.ln [-fhnsv] source [target]
 *   rump.ln [-fhnsv] source ... directory
 *     -s      symbolic links (the source is stored as given, not checked)
 *     -f      replace an existing target
 *     -h, -n  a target that is a symbolic link to a directory is replaced, not entered
 *     -v      print "target -> source"
 *
 * Without a target the link is made in the working directory under the source's last name.
 */

import type { RumpClient } from '../client/client.js';
import { connectOrExit, flagSet, getopt, helpRequested, pathBase, pathJoin, runMain, statOrNull, UsageError, warn } from '../client/cli.js';
import { S_ISDIR, S_ISLNK } from '../kern/types.js';

const PROG = 'rump.ln';
const USAGE = 'usage: rump.ln [-fhnsv] source [target]\n       rump.ln [-fhnsv] source ... directory';

interface Opts { symbolic: boolean; force: boolean; noderef: boolean; verbose: boolean }

async function isDir(c: RumpClient, p: string, noderef: boolean): Promise<boolean> {
  const l = await statOrNull(c, p);
  if (l === null) return false;
  if (S_ISLNK(l.mode)) {
    if (noderef) return false;
    const st = await statOrNull(c, p, true);
    return st !== null && S_ISDIR(st.mode);
  }
  return S_ISDIR(l.mode);
}

async function link(c: RumpClient, source: string, target: string, o: Opts): Promise<boolean> {
  if (!o.symbolic) {
    // a hard link to a directory is refused before the kernel is asked, as ln does
    try {
      if (S_ISDIR((await c.sys.stat(source)).mode)) {
        process.stderr.write(`${PROG}: ${source}: Is a directory\n`);
        return false;
      }
    } catch (e) {
      warn(PROG, source, e);
      return false;
    }
  }
  try {
    if (o.force && (await statOrNull(c, target)) !== null) await c.sys.unlink(target);
    if (o.symbolic) await c.sys.symlink(source, target);
    else await c.sys.link(source, target);
  } catch (e) {
    warn(PROG, target, e);
    return false;
  }
  if (o.verbose) process.stdout.write(`${target} -> ${source}\n`);
  return true;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'fhinsvFLP', ['help']);
  const f = flagSet(opts);
  const o: Opts = { symbolic: f.has('s'), force: f.has('f'), noderef: f.has('h') || f.has('n'), verbose: f.has('v') };
  if (operands.length === 0) throw new UsageError('no source given');
  const c = await connectOrExit(PROG);
  try {
    if (operands.length === 1) return (await link(c, operands[0]!, pathBase(operands[0]!), o)) ? 0 : 1;
    const target = operands[operands.length - 1]!;
    const sources = operands.slice(0, -1);
    const toDir = await isDir(c, target, o.noderef);
    if (sources.length > 1 && !toDir) {
      process.stderr.write(`${PROG}: ${target}: Not a directory\n`);
      return 1;
    }
    let status = 0;
    for (const s of sources) {
      if (!(await link(c, s, toDir ? pathJoin(target, pathBase(s)) : target, o))) status = 1;
    }
    return status;
  } finally {
    await c.close();
  }
});
