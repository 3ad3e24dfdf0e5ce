/**
 * fsu_chmod: change file modes in an image, as chmod(1): `fsu_chmod IMAGE [-R] [-h] [-v] mode
 * file...`, modes octal or symbolic (modes.ts; `-w` style modes work as operands). -R walks
 * directory trees without following symbolic links; -h changes a symbolic link itself.
 */

import { parseModeArg } from './modes.js';
import { forEachChild, UsageError, type ToolRun, type ToolSpec } from './common.js';

export const chmod: ToolSpec = {
  name: 'chmod',
  synopsis: '[-R [-H | -L | -P]] [-fhv] mode file ...',
  description: 'change file modes in a file system image',
  options: 'RHLPfhv',
  stopAtUnknown: true,
  writes: true,
  minArgs: 2,
  async run(t: ToolRun): Promise<number> {
    const [modeArg, ...files] = t.args;
    const change = parseModeArg(modeArg!);
    if (change === null) throw new UsageError(`invalid file mode: ${modeArg}`);
    const quiet = t.flags.has('f');
    const apply = async (p: string, top: boolean): Promise<void> => {
      let st;
      try {
        st = top && !t.flags.has('h') ? await t.fs.stat(p) : await t.fs.lstat(p);
      } catch (e) {
        if (!quiet) t.warn(p, e);
        return;
      }
      const isLink = st.isSymbolicLink();
      if (!isLink || t.flags.has('h')) {
        const mode = change(st.mode, st.isDirectory());
        try {
          if (isLink) await t.fs.lchmod(p, mode);
          else await t.fs.chmod(p, mode);
          if (t.flags.has('v')) t.out(`${p}\n`);
        } catch (e) {
          if (!quiet) t.warn(p, e);
        }
      }
      if (t.flags.has('R') && st.isDirectory()) await forEachChild(t, p, (c) => apply(c, false));
    };
    for (const p of files) await apply(p, true);
    return t.failed ? 1 : 0;
  },
};
