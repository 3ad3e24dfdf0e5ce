#!/usr/bin/env node
/**
 * rump.umount: unmount file systems in the rump kernel server named by RUMP_SERVER, like
 * umount(8).
 *
 *   rump.umount [-fv] special | node ...
 *     -f  force: files still open on the file system are revoked
 *     -v  print "SPECIAL: unmount from NODE"
 *
 * An operand may name the mount point or the mounted special. One that is not a mount point is
 * "not currently mounted", as umount says.
 */

import { connectOrExit, errText, getopt, helpRequested, mountList, runMain, UsageError } from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';
import { MNT_FORCE } from '../kern/types.js';

const PROG = 'rump.umount';
const USAGE = 'usage: rump.umount [-fv] special | node ...';

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'fvRt:', ['help']);
  const force = opts.some(([o]) => o === 'f');
  const verbose = opts.some(([o]) => o === 'v');
  if (operands.length === 0) throw new UsageError('no file system given');
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    for (const arg of operands) {
      const mounts = await mountList(c);
      const norm = arg.length > 1 ? arg.replace(/\/+$/, '') : arg;
      const m = mounts.find((vs) => vs.mntonname === norm) ?? [...mounts].reverse().find((vs) => vs.mntfromname === arg);
      const node = m?.mntonname ?? arg;
      try {
        await c.sys.unmount(node, force ? MNT_FORCE : 0);
        if (verbose) process.stdout.write(`${m?.mntfromname ?? arg}: unmount from ${node}\n`);
      } catch (e) {
        const why = isKernelError(e, 'EINVAL') && m === undefined ? 'not currently mounted' : errText(e);
        process.stderr.write(`${PROG}: ${arg}: ${why}\n`);
        status = 1;
      }
    }
  } finally {
    await c.close();
  }
  return status;
});
