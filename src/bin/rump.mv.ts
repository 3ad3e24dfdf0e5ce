#!/usr/bin/env node
/**
 * rump.mv: move (rename) files inside the rump kernel server named by RUMP_SERVER, like mv(1).
 *
 *   rump.mv [-fiv] source target
 *   rump.mv [-fiv] source ... directory
 *     -f, -i  accepted for compatibility (there is no terminal to ask; targets are replaced)
 *     -v      print "source -> target"
 *
 * A rename(2) where it can be; between file systems (EXDEV) the file or tree is copied with
 * modes, owners and times kept, then the source is removed, as mv does. Errors read as mv's:
 * "rename a to b: No such file or directory".
 */

import type { RumpClient } from '../client/client.js';
import {
  connectOrExit, copyFd, errText, getopt, helpRequested, pathBase, pathJoin, readdirNames, removeTree, runMain, statOrNull, UsageError,
} from '../client/cli.js';
import { isKernelError } from '../kern/errno.js';
import { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, S_IFMT, S_ISDIR, S_ISLNK, S_ISREG, type Stat } from '../kern/types.js';

const PROG = 'rump.mv';
const USAGE = 'usage: rump.mv [-fiv] source target\n       rump.mv [-fiv] source ... directory';

/** Copy `src` (not following links) to the new name `dst`, keeping modes, owners and times. */
async function copyTree(c: RumpClient, src: string, dst: string): Promise<void> {
  const s = c.sys;
  const st = await s.lstat(src);
  const times = [{ sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec }] as const;
  if (S_ISDIR(st.mode)) {
    await s.mkdir(dst, 0o700);
    for (const n of await readdirNames(c, src)) await copyTree(c, pathJoin(src, n), pathJoin(dst, n));
  } else if (S_ISLNK(st.mode)) {
    await s.symlink(await s.readlink(src), dst);
    await s.lchown(dst, st.uid, st.gid).catch(() => undefined);
    await s.lutimes(dst, times).catch(() => undefined);
    return;
  } else if (S_ISREG(st.mode)) {
    const from = await s.open(src, O_RDONLY, 0);
    try {
      const to = await s.open(dst, O_WRONLY | O_CREAT | O_EXCL, 0o600);
      try {
        await copyFd(c, from, to);
      } finally {
        await s.close(to);
      }
    } finally {
      await s.close(from).catch(() => undefined);
    }
  } else {
    await s.mknod(dst, st.mode & (S_IFMT | 0o7777), st.rdev);
  }
  await s.chown(dst, st.uid, st.gid).catch(() => undefined);
  await s.chmod(dst, st.mode & 0o7777);
  await s.utimes(dst, times);
}

async function move(c: RumpClient, from: string, to: string, verbose: boolean): Promise<boolean> {
  try {
    await c.sys.rename(from, to);
  } catch (e) {
    if (!isKernelError(e, 'EXDEV')) {
      process.stderr.write(`${PROG}: rename ${from} to ${to}: ${errText(e)}\n`);
      return false;
    }
    // another file system: copy, then remove the original
    try {
      const old = await statOrNull(c, to);
      if (old !== null) {
        if (S_ISDIR(old.mode)) await c.sys.rmdir(to);
        else await c.sys.unlink(to);
      }
      await copyTree(c, from, to);
    } catch (e2) {
      process.stderr.write(`${PROG}: ${to}: ${errText(e2)}\n`);
      return false;
    }
    let ok = true;
    await removeTree(c, from, (p, e3) => {
      process.stderr.write(`${PROG}: ${p}: ${errText(e3)}\n`);
      ok = false;
    });
    if (!ok) return false;
  }
  if (verbose) process.stdout.write(`${from} -> ${to}\n`);
  return true;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'fiv', ['help']);
  const verbose = opts.some(([o]) => o === 'v');
  if (operands.length < 2) throw new UsageError('a source and a target are needed');
  const c = await connectOrExit(PROG);
  try {
    const target = operands[operands.length - 1]!;
    const sources = operands.slice(0, -1);
    let tst: Stat | null = null;
    try {
      tst = await statOrNull(c, target, true);
    } catch {
      tst = null;
    }
    const toDir = tst !== null && S_ISDIR(tst.mode);
    if (sources.length > 1 && !toDir) {
      process.stderr.write(`${PROG}: ${target} is not a directory\n${USAGE}\n`);
      return 1;
    }
    let status = 0;
    for (const src of sources) {
      if (!(await move(c, src, toDir ? pathJoin(target, pathBase(src)) : target, verbose))) status = 1;
    }
    return status;
  } finally {
    await c.close();
  }
});
