/**
 * fsu_mv: rename files within an image, as mv(1): `fsu_mv IMAGE [-fiv] SRC... DST`; with several
 * sources, or when DST is an existing directory, each source moves into it under its own name.
 * -i (ask) is accepted and behaves as -f: there is no terminal to ask on in a pipeline.
 */

import { baseName, joinImagePath, type ToolRun, type ToolSpec } from './common.js';

export const mv: ToolSpec = {
  name: 'mv',
  synopsis: '[-fiv] source ... target',
  description: 'move (rename) files within a file system image',
  options: 'fiv',
  writes: true,
  minArgs: 2,
  async run(t: ToolRun): Promise<number> {
    const args = [...t.args];
    const dest = args.pop()!;
    let destIsDir = false;
    try {
      destIsDir = (await t.fs.stat(dest)).isDirectory();
    } catch {
      destIsDir = false;
    }
    if (args.length > 1 && !destIsDir) {
      t.warnx(`${dest} is not a directory`);
      return 1;
    }
    for (const s of args) {
      const target = destIsDir ? joinImagePath(dest, baseName(s)) : dest;
      try {
        await t.fs.rename(s, target);
        if (t.flags.has('v')) t.out(`${s} -> ${target}\n`);
      } catch (e) {
        t.warn(`rename ${s} to ${target}`, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};
