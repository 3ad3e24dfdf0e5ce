#!/usr/bin/env node
/**
 * rump.cp: copy files inside the rump kernel server named by RUMP_SERVER, like cp(1).
 *
 *   rump.cp [-R [-H | -L | -P]] [-f | -i] [-pv] source target
 *   rump.cp [-R [-H | -L | -P]] [-f | -i] [-pv] source ... directory
 *     -R  copy directory trees; symbolic links are copied as links (-P), or followed when named
 *         on the command line (-H) or everywhere (-L); FIFOs and devices are made anew
 *     -f  replace a target that cannot be opened for writing (unlink and create)
 *     -i  accepted for compatibility (there is no terminal to ask)
 *     -p  keep modes (set-id bits included), owners and times
 *     -v  print "source -> target" for each file
 *
 * Without -R, symbolic links are followed and a directory operand is an error ("is a directory
 * (not copied)"). Copying a file onto itself is refused ("are identical (not copied)"). Errors
 * name the file and the walk goes on; the exit status is then 1.
 */

import type { RumpClient } from '../client/client.js';
import {
  connectOrExit, copyFd, getopt, helpRequested, pathBase, pathJoin, readdirNames, runMain, statOrNull, UsageError, warn,
} from '../client/cli.js';
import { KernelError, isKernelError } from '../kern/errno.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, S_IFMT, S_ISDIR, S_ISLNK, S_ISREG, type Stat } from '../kern/types.js';

const PROG = 'rump.cp';
const USAGE = 'usage: rump.cp [-R [-H | -L | -P]] [-f | -i] [-pv] source target\n       rump.cp [-R [-H | -L | -P]] [-f | -i] [-pv] source ... directory';

interface Opts { recursive: boolean; follow: 'H' | 'L' | 'P'; force: boolean; preserve: boolean; verbose: boolean }

class Copier {
  status = 0;
  constructor(private readonly c: RumpClient, private readonly o: Opts) {}

  private fail(what: string, e: unknown): void {
    warn(PROG, what, e);
    this.status = 1;
  }

  private async preserve(dst: string, st: Stat, isLink: boolean): Promise<void> {
    const s = this.c.sys;
    const times = [{ sec: st.atimeSec, nsec: st.atimeNsec }, { sec: st.mtimeSec, nsec: st.mtimeNsec }] as const;
    try {
      if (isLink) {
        await s.lchown(dst, st.uid, st.gid).catch(() => undefined);
        await s.lutimes(dst, times);
        return;
      }
      await s.chown(dst, st.uid, st.gid).catch((e: unknown) => { if (!isKernelError(e, 'EPERM')) throw e; });
      await s.chmod(dst, st.mode & 0o7777);
      await s.utimes(dst, times);
    } catch (e) {
      this.fail(dst, e);
    }
  }

  async copy(src: string, dst: string, top: boolean): Promise<void> {
    const s = this.c.sys;
    const follow = this.o.follow === 'L' || (this.o.follow === 'H' && top) || !this.o.recursive;
    let st: Stat;
    try {
      st = follow ? await s.stat(src) : await s.lstat(src);
    } catch (e) {
      this.fail(src, e);
      return;
    }
    let dst0: Stat | null;
    try {
      dst0 = await statOrNull(this.c, dst, true);
    } catch (e) {
      this.fail(dst, e);
      return;
    }
    if (dst0 !== null && dst0.dev === st.dev && dst0.ino === st.ino) {
      process.stderr.write(`${PROG}: ${src} and ${dst} are identical (not copied).\n`);
      this.status = 1;
      return;
    }
    if (S_ISDIR(st.mode)) {
      if (!this.o.recursive) {
        process.stderr.write(`${PROG}: ${src} is a directory (not copied).\n`);
        this.status = 1;
        return;
      }
      if (dst0 !== null && !S_ISDIR(dst0.mode)) {
        this.fail(dst, new KernelError('ENOTDIR'));
        return;
      }
      if (dst0 === null) {
        try {
          await s.mkdir(dst, (st.mode & 0o777) | 0o700);
        } catch (e) {
          this.fail(dst, e);
          return;
        }
      }
      if (this.o.verbose) process.stdout.write(`${src} -> ${dst}\n`);
      let names: string[];
      try {
        names = await readdirNames(this.c, src);
      } catch (e) {
        this.fail(src, e);
        return;
      }
      for (const n of names) await this.copy(pathJoin(src, n), pathJoin(dst, n), false);
      if (this.o.preserve) await this.preserve(dst, st, false);
      else if (dst0 === null && (st.mode & 0o700) !== 0o700) await s.chmod(dst, st.mode & 0o777 & ~0o022).catch((e: unknown) => this.fail(dst, e));
      return;
    }
    if (S_ISLNK(st.mode)) {
      try {
        const target = await s.readlink(src);
        if (dst0 !== null || (await statOrNull(this.c, dst)) !== null) await s.unlink(dst);
        await s.symlink(target, dst);
        if (this.o.verbose) process.stdout.write(`${src} -> ${dst}\n`);
        if (this.o.preserve) await this.preserve(dst, st, true);
      } catch (e) {
        this.fail(dst, e);
      }
      return;
    }
    if (!S_ISREG(st.mode) && this.o.recursive) {
      // FIFOs, devices and sockets are made anew under -R, as cp -R does
      try {
        if (dst0 !== null) await s.unlink(dst);
        await s.mknod(dst, st.mode & (S_IFMT | 0o7777), st.rdev);
        if (this.o.verbose) process.stdout.write(`${src} -> ${dst}\n`);
        if (this.o.preserve) await this.preserve(dst, st, false);
      } catch (e) {
        this.fail(dst, e);
      }
      return;
    }
    await this.copyFile(src, dst, st, dst0 !== null);
  }

  private async copyFile(src: string, dst: string, st: Stat, exists: boolean): Promise<void> {
    const s = this.c.sys;
    let from: number;
    try {
      from = await s.open(src, O_RDONLY, 0);
    } catch (e) {
      this.fail(src, e);
      return;
    }
    try {
      const mode = st.mode & 0o777;
      let to: number;
      try {
        to = await s.open(dst, O_WRONLY | O_TRUNC | O_CREAT, mode);
      } catch (e) {
        if (!(this.o.force && exists)) throw Object.assign(e as object, { where: dst });
        await s.unlink(dst);
        to = await s.open(dst, O_WRONLY | O_TRUNC | O_CREAT, mode);
      }
      try {
        await copyFd(this.c, from, to);
      } catch (e) {
        throw Object.assign(e as object, { where: dst });
      } finally {
        await s.close(to).catch(() => undefined);
      }
      if (this.o.verbose) process.stdout.write(`${src} -> ${dst}\n`);
      if (this.o.preserve) await this.preserve(dst, st, false);
    } catch (e) {
      this.fail((e as { where?: string }).where ?? dst, e);
    } finally {
      await s.close(from).catch(() => undefined);
    }
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'RrHLPfipvaN', ['help']);
  const o: Opts = { recursive: false, follow: 'P', force: false, preserve: false, verbose: false };
  for (const [f] of opts) {
    if (f === 'R' || f === 'r') o.recursive = true;
    else if (f === 'H' || f === 'L' || f === 'P') o.follow = f;
    else if (f === 'f') o.force = true;
    else if (f === 'i') o.force = false;
    else if (f === 'p') o.preserve = true;
    else if (f === 'v') o.verbose = true;
    else if (f === 'a') {
      o.recursive = true;
      o.preserve = true;
      o.follow = 'P';
    }
  }
  if (operands.length < 2) throw new UsageError('a source and a target are needed');
  const c = await connectOrExit(PROG);
  try {
    const cp = new Copier(c, o);
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
    for (const src of sources) await cp.copy(src, toDir ? pathJoin(target, pathBase(src)) : target, true);
    return cp.status;
  } finally {
    await c.close();
  }
});
