/**
 * fsu_ln: make links in an image, as ln(1): `fsu_ln IMAGE [-fsv] target [link]` or
 * `... target... directory`. -s makes symbolic links (the target is stored as given), -f removes
 * an existing link name first, -h/-n do not follow a link name that is a symlink to a directory.
 */

import { baseName, joinImagePath, type ToolRun, type ToolSpec } from './common.js';

export const ln: ToolSpec = {
  name: 'ln',
  synopsis: '[-fhnsv] target [link] | target ... directory',
  description: 'make hard or symbolic links in a file system image',
  options: 'fhnsvFiLP',
  writes: true,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const args = [...t.args];
    let dir: string | null = null;
    let linkName: string | null = null;
    if (args.length === 1) dir = '.';
    else {
      const last = args[args.length - 1]!;
      let isDir = false;
      try {
        const st = f.has('h') || f.has('n') ? await t.fs.lstat(last) : await t.fs.stat(last);
        isDir = st.isDirectory();
      } catch {
        isDir = false;
      }
      if (isDir) dir = last;
      else if (args.length === 2) linkName = last;
      else {
        t.warnx(`${last}: not a directory`);
        return 1;
      }
      args.pop();
    }
    for (const target of args) {
      const name = linkName ?? joinImagePath(dir!, baseName(target));
      try {
        if (f.has('f')) {
          await t.fs.unlink(name).catch((e: { code?: string }) => {
            if (e.code !== 'ENOENT') throw e;
          });
        }
        if (f.has('s')) await t.fs.symlink(target, name);
        else await t.fs.link(target, name);
        if (f.has('v')) t.out(`${name} -> ${target}\n`);
      } catch (e) {
        t.warn(name, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};
