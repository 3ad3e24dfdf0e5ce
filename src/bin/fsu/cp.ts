/**
 * fsu_cp: copy files within an image, as cp(1): `fsu_cp IMAGE [-R] [-p|-a] [-fLPv] SRC... DST`.
 * -R copies directories (symbolic links as links unless -L), -p keeps mode, owner and times,
 * -a is -RpP and keeps hard links, -f replaces files that cannot be opened for writing, -v lists
 * what is copied. Copying between the host and an image is fsu_get / fsu_put (fsu_ecp).
 */

import { Copier, endProgress, progressReporter, type CopySide } from './copy.js';
import type { ToolRun, ToolSpec } from './common.js';

export const cp: ToolSpec = {
  name: 'cp',
  synopsis: '[-R [-L | -P]] [-afpv] source ... target',
  description: 'copy files within a file system image',
  options: 'RrafpvLPH',
  writes: true,
  minArgs: 2,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const archive = f.has('a');
    const recursive = archive || f.has('R') || f.has('r');
    const follow = t.flags.last('LPH', t.order) === 'L' && !archive;
    const side: CopySide = { label: 'the image', umask: 0o022, fs: t.fs as unknown as CopySide['fs'] };
    const progress = recursive ? progressReporter(t.prog) : undefined;
    const c = new Copier(side, side, {
      recursive, follow, preserve: archive || f.has('p'), hardlinks: archive, force: f.has('f'), verbose: f.has('v'),
    }, { out: t.out, warn: t.warn, warnx: t.warnx, ...(progress !== undefined ? { progress } : {}) });
    const args = [...t.args];
    const dest = args.pop()!;
    const ok = await c.copyOperands(args, dest);
    endProgress(progress);
    return ok && !t.failed ? 0 : 1;
  },
};
