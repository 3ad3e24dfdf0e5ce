#!/usr/bin/env node
/**
 * rump.mkdir: make directories in the rump kernel server named by RUMP_SERVER, like mkdir(1).
 *
 *   rump.mkdir [-p] [-m mode] directory ...
 *     -p       make missing parents too; an existing directory is not an error
 *     -m mode  permissions (octal) of the new directories (default 0777, less the umask)
 */

import { isKernelError } from '../kern/errno.js';
import { S_ISDIR } from '../kern/types.js';
import type { RumpClient } from '../client/client.js';
import { connectOrExit, errText, getopt, runMain, UsageError } from '../client/cli.js';

const PROG = 'rump.mkdir';
const USAGE = 'usage: rump.mkdir [-p] [-m mode] directory ...';

/** mkdir -p: make each missing component; true if the last one was made here. */
async function mkdirP(c: RumpClient, path: string, mode: number): Promise<boolean> {
  const parts = path.split('/').filter((p) => p !== '');
  let cur = path.startsWith('/') ? '' : '.';
  let made = false;
  for (const [i, p] of parts.entries()) {
    cur = `${cur}/${p}`;
    try {
      await c.sys.mkdir(cur, i === parts.length - 1 ? mode : 0o777);
      made = true;
    } catch (e) {
      if (!isKernelError(e, 'EEXIST') || !S_ISDIR((await c.sys.stat(cur)).mode)) throw e;
      made = false;
    }
  }
  return made;
}

runMain(PROG, USAGE, async (argv) => {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { opts, operands } = getopt(argv, 'pm:', ['help']);
  let parents = false;
  let mode = 0o777;
  for (const [o, v] of opts) {
    if (o === 'p') parents = true;
    else if (o === 'm') {
      if (!/^[0-7]{1,4}$/.test(v!)) throw new UsageError(`-m: '${v!}' is not an octal mode`);
      mode = parseInt(v!, 8);
    }
  }
  if (operands.length === 0) throw new UsageError('no directory given');
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    for (const d of operands) {
      try {
        let made = true;
        if (parents) made = await mkdirP(c, d, mode);
        else await c.sys.mkdir(d, mode);
        // mkdir(2) applies the umask; -m sets the mode exactly, as mkdir(1) does
        if (made && opts.some(([o]) => o === 'm')) await c.sys.chmod(d, mode);
      } catch (e) {
        process.stderr.write(`${PROG}: ${d}: ${errText(e)}\n`);
        status = 1;
      }
    }
  } finally {
    await c.close();
  }
  return status;
});
