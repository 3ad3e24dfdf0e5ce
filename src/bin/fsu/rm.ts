/**
 * fsu_rm: remove files in an image, as rm(1): -r/-R removes directory trees, -d empty
 * directories, -f ignores missing files (and never fails for them), -v names what is removed.
 * A directory without -r or -d is reported as "is a directory".
 */

import { joinImagePath, type ToolRun, type ToolSpec } from './common.js';

export const rm: ToolSpec = {
  name: 'rm',
  synopsis: '[-dfiRrv] file ...',
  description: 'remove files and directory trees in a file system image',
  options: 'dfiPRrvW',
  writes: true,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const force = f.has('f');
    const recursive = f.has('r') || f.has('R');
    if (t.args.length === 0 && !force) {
      t.warnx('missing operand');
      return 2;
    }
    const removeTree = async (p: string): Promise<void> => {
      let names: string[];
      try {
        names = await t.fs.readdir(p);
      } catch (e) {
        t.warn(p, e);
        return;
      }
      for (const n of names) {
        const c = joinImagePath(p, n);
        let isDir = false;
        try {
          isDir = (await t.fs.lstat(c)).isDirectory();
        } catch (e) {
          if (!(force && (e as { code?: string }).code === 'ENOENT')) t.warn(c, e);
          continue;
        }
        if (isDir) await removeTree(c);
        else {
          try {
            await t.fs.unlink(c);
            if (f.has('v')) t.out(`${c}\n`);
          } catch (e) {
            t.warn(c, e);
          }
        }
      }
      try {
        await t.fs.rmdir(p);
        if (f.has('v')) t.out(`${p}\n`);
      } catch (e) {
        t.warn(p, e);
      }
    };
    for (const p of t.args) {
      let isDir: boolean;
      try {
        isDir = (await t.fs.lstat(p)).isDirectory();
      } catch (e) {
        if (!(force && (e as { code?: string }).code === 'ENOENT')) t.warn(p, e);
        continue;
      }
      if (isDir) {
        if (recursive) await removeTree(p);
        else if (f.has('d')) {
          try {
            await t.fs.rmdir(p);
            if (f.has('v')) t.out(`${p}\n`);
          } catch (e) {
            t.warn(p, e);
          }
        } else t.warnx(`${p}: is a directory`);
        continue;
      }
      try {
        await t.fs.unlink(p);
        if (f.has('v')) t.out(`${p}\n`);
      } catch (e) {
        t.warn(p, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};
