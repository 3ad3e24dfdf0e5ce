/**
 * fsu_du: disk usage in an image, as BSD du(1): block counts (512-byte blocks, BLOCKSIZE, or -k
 * KiB, -m MiB, -g GiB, -h human-readable) of each directory, -a of every file too, -s only of the
 * operands, -d N to depth N, -c a grand total. Files with several hard links count once.
 */

import { blockSize, humanSize, joinImagePath, type ToolRun, type ToolSpec } from './common.js';

export const du: ToolSpec = {
  name: 'du',
  synopsis: '[-H | -L | -P] [-a | -d depth | -s] [-cghkmn] [file ...]',
  description: 'display disk usage in a file system image',
  options: 'HLPacd:ghkmns',
  writes: false,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    const bsize = blockSize(f, t.order);
    const human = f.has('h');
    const maxDepth = f.has('s') ? 0 : f.has('d') ? Number(f.get('d')) : Infinity;
    if (!Number.isInteger(maxDepth) && maxDepth !== Infinity) {
      t.warnx(`invalid depth: ${f.get('d')}`);
      return 2;
    }
    const seen = new Set<string>();
    const fmt = (bytes: number): string => (human ? humanSize(bytes) : String(Math.ceil(bytes / bsize)));
    const walk = async (p: string, depth: number, top: boolean): Promise<number> => {
      let st;
      try {
        st = f.has('L') || (top && f.has('H')) ? await t.fs.stat(p) : await t.fs.lstat(p);
      } catch (e) {
        t.warn(p, e);
        return 0;
      }
      let bytes = 0;
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && !st.isDirectory()) {
        if (seen.has(key)) return 0;
        seen.add(key);
      }
      bytes += st.blocks * 512;
      if (st.isDirectory()) {
        let names: string[] = [];
        try {
          names = (await t.fs.readdir(p)).sort();
        } catch (e) {
          t.warn(p, e);
        }
        for (const n of names) bytes += await walk(joinImagePath(p, n), depth + 1, false);
        if (depth <= maxDepth) t.out(`${fmt(bytes)}\t${p}\n`);
      } else if ((f.has('a') && depth <= maxDepth) || top) {
        t.out(`${fmt(bytes)}\t${p}\n`);
      }
      return bytes;
    };
    let total = 0;
    for (const p of t.args.length === 0 ? ['.'] : t.args) total += await walk(p, 0, true);
    if (f.has('c')) t.out(`${fmt(total)}\ttotal\n`);
    return t.failed ? 1 : 0;
  },
};
