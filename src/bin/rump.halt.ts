#!/usr/bin/env node
/**
 * rump.halt: halt the rump kernel server named by RUMP_SERVER (NetBSD's rump.halt(1)), through
 * the reboot syscall: the kernel syncs and unmounts its file systems and the server exits.
 *
 *   rump.halt [-dhn]
 *     -d  ask for a core dump (RB_DUMP; the halt happens, no dump is written)
 *     -h  halt, but leave the server process waiting afterwards (RB_HALT)
 *     -n  do not sync file systems first (RB_NOSYNC)
 */

import { RB_DUMP, RB_HALT, RB_NOSYNC } from '../kern/types.js';
import { connectOrExit, errText, getopt, runMain, UsageError } from '../client/cli.js';

const PROG = 'rump.halt';
const USAGE = 'usage: rump.halt [-dhn]   (the server is named by RUMP_SERVER)';

runMain(PROG, USAGE, async (argv) => {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { opts, operands } = getopt(argv, 'dhn', ['help']);
  if (operands.length > 0) throw new UsageError(`unexpected operand '${operands[0]!}'`);
  let howto = 0;
  for (const [o] of opts) {
    if (o === 'd') howto |= RB_DUMP;
    else if (o === 'h') howto |= RB_HALT;
    else if (o === 'n') howto |= RB_NOSYNC;
  }
  const c = await connectOrExit(PROG);
  try {
    await c.sys.reboot(howto, '');
  } catch (e) {
    process.stderr.write(`${PROG}: reboot: ${errText(e)}\n`);
    await c.close();
    return 1;
  }
  // the server closes the connection once the kernel has halted
  await c.closed;
  return 0;
});
