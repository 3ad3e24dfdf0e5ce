#!/usr/bin/env node
/**
 * rump.chown: change file owners and groups in the rump kernel server named by RUMP_SERVER, like
 * chown(8).
 *
 *   rump.chown [-R [-H | -L | -P]] [-fhv] owner[:group] file ...
 *   rump.chown [-R [-H | -L | -P]] [-fhv] :group file ...
 *     owner and group are numbers (the kernel keeps no user database; 'root' and 'wheel' are 0);
 *     'owner.group' is accepted too
 *     -R  change whole trees (symbolic links inside are changed themselves, not followed)
 *     -h  change a symbolic link itself (lchown)
 *     -f  do not report files that could not be changed
 *     -v  print each file changed
 */

import { connectOrExit, flagSet, getopt, helpRequested, runMain, UsageError, walkTree, warn } from '../client/cli.js';

const PROG = 'rump.chown';
const USAGE = 'usage: rump.chown [-R [-H | -L | -P]] [-fhv] owner[:group] file ...\n       rump.chown [-R [-H | -L | -P]] [-fhv] :group file ...';

function id(s: string, names: Record<string, number>, what: string): number {
  if (/^[0-9]+$/.test(s) && Number(s) <= 0xffffffff) return Number(s);
  const n = names[s];
  if (n === undefined) throw new UsageError(`${s}: illegal ${what} name`);
  return n;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'RHLPfhv', ['help']);
  const f = flagSet(opts);
  if (operands.length < 2) throw new UsageError('an owner and at least one file are needed');
  const spec = operands[0]!;
  const sep = spec.includes(':') ? spec.indexOf(':') : spec.indexOf('.');
  const owner = sep < 0 ? spec : spec.slice(0, sep);
  const group = sep < 0 ? '' : spec.slice(sep + 1);
  let uid = -1, gid = -1;
  try {
    if (owner !== '') uid = id(owner, { root: 0 }, 'user');
    if (group !== '') gid = id(group, { wheel: 0, root: 0 }, 'group');
  } catch (e) {
    process.stderr.write(`${PROG}: ${(e as Error).message}\n`);
    return 1;
  }
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    for (const file of operands.slice(1)) {
      await walkTree(c, file, f.has('R'), async (p, _st, isLink, top) => {
        const follow = !f.has('h') && (!isLink || f.has('L') || (top && f.has('H')));
        if (follow) await c.sys.chown(p, uid, gid);
        else await c.sys.lchown(p, uid, gid);
        if (f.has('v')) process.stdout.write(`${p}\n`);
      }, (p, e) => {
        if (!f.has('f')) warn(PROG, p, e);
        status = 1;
      });
    }
  } finally {
    await c.close();
  }
  return status;
});
