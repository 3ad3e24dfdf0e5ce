/**
 * fsu_mkdir: make directories in an image, as mkdir(1): -p makes parents and accepts existing
 * directories, -m sets the mode (octal or symbolic, relative to a=rwx), -v names each one made.
 */

import { parseModeArg } from './modes.js';
import { UsageError, type ToolRun, type ToolSpec } from './common.js';

export const mkdir: ToolSpec = {
  name: 'mkdir',
  synopsis: '[-pv] [-m mode] directory ...',
  description: 'make directories in a file system image',
  options: 'pm:v',
  writes: true,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const m = t.flags.get('m');
    let mode = 0o777;
    let explicit = false;
    if (m !== undefined) {
      const fn = parseModeArg(m);
      if (fn === null) throw new UsageError(`invalid file mode: ${m}`);
      mode = fn(0o777, true);
      explicit = true;
    }
    for (const p of t.args) {
      try {
        if (t.flags.has('p')) {
          const first = await t.fs.mkdir(p, { recursive: true, mode: 0o777 });
          if (first !== undefined && t.flags.has('v')) t.out(`${first}\n`);
          if (explicit) await t.fs.chmod(p, mode);
        } else {
          await t.fs.mkdir(p, { mode: explicit ? mode : 0o777 });
          if (explicit) await t.fs.chmod(p, mode); // the umask does not apply to -m
          if (t.flags.has('v')) t.out(`${p}\n`);
        }
      } catch (e) {
        t.warn(p, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};
