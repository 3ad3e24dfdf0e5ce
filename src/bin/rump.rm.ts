#!/usr/bin/env node
/**
 * rump.rm: remove directory entries in the rump kernel server named by RUMP_SERVER, like rm(1).
 *
 *   rump.rm [-f | -i] [-dRrv] file ...
 *     -f      no error for names that do not exist (the exit status stays 0)
 *     -i      accepted for compatibility; there is no terminal to ask, nothing is skipped
 *     -d      remove directories as well as other files (empty ones; rmdir)
 *     -R, -r  remove directory trees
 *     -v      print each name as it is removed
 *
 * Symbolic links are removed, never followed. "." and ".." may not be removed. A directory
 * without -r or -d is an error ("is a directory"); the other operands are still processed.
 */

import { connectOrExit, flagSet, getopt, helpRequested, pathBase, removeTree, runMain, UsageError, warn } from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';
import { S_ISDIR } from '../kern/types.js';

const PROG = 'rump.rm';
const USAGE = 'usage: rump.rm [-f | -i] [-dRrv] file ...';

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'fidRrvPW', ['help']);
  const f = flagSet(opts);
  const force = f.has('f') && opts.map(([o]) => o).lastIndexOf('f') > opts.map(([o]) => o).lastIndexOf('i');
  const recursive = f.has('r') || f.has('R');
  const verbose = f.has('v');
  if (operands.length === 0) {
    if (force) return 0;
    throw new UsageError('no file given');
  }
  const c = await connectOrExit(PROG);
  let status = 0;
  const fail = (what: string, e: unknown): void => {
    if (force && isKernelError(e, 'ENOENT')) return;
    warn(PROG, what, e);
    status = 1;
  };
  try {
    for (const file of operands) {
      const base = pathBase(file);
      if (base === '.' || base === '..') {
        process.stderr.write(`${PROG}: "." and ".." may not be removed\n`);
        status = 1;
        continue;
      }
      let st;
      try {
        st = await c.sys.lstat(file);
      } catch (e) {
        fail(file, e);
        continue;
      }
      if (S_ISDIR(st.mode)) {
        if (recursive) {
          await removeTree(c, file, fail, verbose ? (p) => { process.stdout.write(`${p}\n`); } : undefined);
          continue;
        }
        if (!f.has('d')) {
          process.stderr.write(`${PROG}: ${file}: is a directory\n`);
          status = 1;
          continue;
        }
        try {
          await c.sys.rmdir(file);
          if (verbose) process.stdout.write(`${file}\n`);
        } catch (e) {
          fail(file, e);
        }
        continue;
      }
      try {
        await c.sys.unlink(file);
        if (verbose) process.stdout.write(`${file}\n`);
      } catch (e) {
        fail(file, e);
      }
    }
  } finally {
    await c.close();
  }
  return status;
});
