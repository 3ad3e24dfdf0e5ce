/**
 * fsu_diff: compare two files or directory trees inside an image (NetBSD fs-utils' fsu_diff):
 *   fsu_diff IMAGE path1 path2
 * Reports, as `diff -rq` words them, "Files A and B differ" (contents, link targets, device
 * numbers or types) and "Only in DIR: NAME". Exit status 0 when the same, 1 when different, 2 on
 * trouble. Files are compared in 64 KiB chunks.
 */

import type { Stats } from '../../ukfs/stats.js';
import { joinImagePath, type ToolRun, type ToolSpec } from './common.js';

const CHUNK = 64 * 1024;

export const diff: ToolSpec = {
  name: 'diff',
  synopsis: 'path1 path2',
  description: 'compare files or directory trees in a file system image',
  options: 'rq',
  writes: false,
  minArgs: 2,
  maxArgs: 2,
  async run(t: ToolRun): Promise<number> {
    let different = false;
    let trouble = false;
    const sameContent = async (a: string, b: string): Promise<boolean> => {
      const fa = await t.fs.open(a), fb = await t.fs.open(b);
      try {
        const ba = Buffer.alloc(CHUNK), bb = Buffer.alloc(CHUNK);
        for (let pos = 0; ; pos += CHUNK) {
          const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, pos), fb.read(bb, 0, CHUNK, pos)]);
          if (ra.bytesRead !== rb.bytesRead) return false;
          if (ra.bytesRead === 0) return true;
          if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
        }
      } finally {
        await fa.close();
        await fb.close();
      }
    };
    const compare = async (a: string, b: string): Promise<void> => {
      let sa: Stats, sb: Stats;
      try {
        sa = await t.fs.lstat(a);
        sb = await t.fs.lstat(b);
      } catch (e) {
        trouble = true;
        t.warn((e as { path?: string }).path ?? a, e);
        return;
      }
      if (sa.dev === sb.dev && sa.ino === sb.ino) return;
      const fa = sa.mode & 0o170000, fb = sb.mode & 0o170000;
      if (fa !== fb) {
        different = true;
        t.out(`File ${a} is a ${kind(fa)} while file ${b} is a ${kind(fb)}\n`);
        return;
      }
      try {
        if (sa.isDirectory()) {
          const na = new Set(await t.fs.readdir(a)), nb = new Set(await t.fs.readdir(b));
          for (const n of [...new Set([...na, ...nb])].sort()) {
            if (!nb.has(n)) { different = true; t.out(`Only in ${a}: ${n}\n`); continue; }
            if (!na.has(n)) { different = true; t.out(`Only in ${b}: ${n}\n`); continue; }
            await compare(joinImagePath(a, n), joinImagePath(b, n));
          }
          return;
        }
        let same: boolean;
        if (sa.isSymbolicLink()) same = String(await t.fs.readlink(a)) === String(await t.fs.readlink(b));
        else if (sa.isBlockDevice() || sa.isCharacterDevice()) same = sa.rdev === sb.rdev;
        else if (sa.isFile()) same = sa.size === sb.size && await sameContent(a, b);
        else same = true;
        if (!same) {
          different = true;
          t.out(`Files ${a} and ${b} differ\n`);
        }
      } catch (e) {
        trouble = true;
        t.warn(a, e);
      }
    };
    await compare(t.args[0]!, t.args[1]!);
    return trouble ? 2 : different ? 1 : 0;
  },
};

function kind(fmt: number): string {
  switch (fmt) {
    case 0o040000: return 'directory';
    case 0o120000: return 'symbolic link';
    case 0o100000: return 'regular file';
    case 0o020000: return 'character special file';
    case 0o060000: return 'block special file';
    case 0o010000: return 'fifo';
    default: return 'socket';
  }
}
