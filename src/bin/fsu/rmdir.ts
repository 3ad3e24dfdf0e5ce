/** fsu_rmdir: remove empty directories in an image, as rmdir(1); -p removes empty parents too. */

import { dirName, type ToolRun, type ToolSpec } from './common.js';

export const rmdir: ToolSpec = {
  name: 'rmdir',
  synopsis: '[-p] directory ...',
  description: 'remove empty directories in a file system image',
  options: 'p',
  writes: true,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    for (const p of t.args) {
      try {
        await t.fs.rmdir(p);
      } catch (e) {
        t.warn(p, e);
        continue;
      }
      if (t.flags.has('p')) {
        for (let d = dirName(p); d !== '.' && d !== '/'; d = dirName(d)) {
          try {
            await t.fs.rmdir(d);
          } catch (e) {
            t.warn(d, e);
            break;
          }
        }
      }
    }
    return t.failed ? 1 : 0;
  },
};
