#!/usr/bin/env node
/**
 * rump.chmod: change file modes in the rump kernel server named by RUMP_SERVER, like chmod(1).
 *
 *   rump.chmod [-R [-H | -L | -P]] [-fhv] mode file ...
 *     mode  octal (755) or symbolic clauses [ugoa]*[+-=][rwxXst]*, comma-separated (u+x,go-w)
 *     -R    change whole trees (symbolic links inside are left alone)
 *     -h    change a symbolic link itself (lchmod), not what it points to
 *     -f    do not report files that could not be changed
 *     -v    print each file changed
 */

import { connectOrExit, flagSet, getopt, helpRequested, runMain, UsageError, walkTree, warn } from '../client/cli.js';
import { parseModeArg } from './fsu/modes.js';
import { S_ISDIR } from '../kern/types.js';

const PROG = 'rump.chmod';
const USAGE = 'usage: rump.chmod [-R [-H | -L | -P]] [-fhv] mode file ...';

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  // a symbolic mode may start with '-' ("-w"): it ends the options, as chmod(1) allows
  const at = argv.findIndex((a) => /^-[rwxXst]+$/.test(a) && !/^-[RHLPfhv]+$/.test(a));
  const args = at >= 0 ? [...argv.slice(0, at), '--', ...argv.slice(at)] : argv;
  const { opts, operands } = getopt(args, 'RHLPfhv', ['help']);
  const f = flagSet(opts);
  if (operands.length < 2) throw new UsageError('a mode and at least one file are needed');
  if (parseModeArg(operands[0]!) === null) {
    process.stderr.write(`${PROG}: Invalid file mode: ${operands[0]!}\n`);
    return 1;
  }
  if (f.has('R') && f.has('h')) throw new UsageError('the -R and -h options may not be specified together');
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    // clauses without who ("+x") are limited by the umask: the server process's
    const umask = await c.sys.umask(0o022);
    await c.sys.umask(umask);
    const change = parseModeArg(operands[0]!, umask)!;
    for (const file of operands.slice(1)) {
      await walkTree(c, file, f.has('R'), async (p, lst, isLink, top) => {
        let follow = !f.has('h');
        if (isLink) {
          follow = f.has('L') || (top && f.has('H'));
          if (!follow && !f.has('h')) return; // a physical walk leaves links alone
        }
        const st = follow ? await c.sys.stat(p) : (lst ?? await c.sys.lstat(p));
        const mode = change(st.mode, S_ISDIR(st.mode));
        if (follow) await c.sys.chmod(p, mode);
        else await c.sys.lchmod(p, mode);
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
