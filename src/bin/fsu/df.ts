/**
 * fsu_df: free space of the image's file system, as df(1): one line for the image mounted on '/',
 * in 512-byte blocks (BLOCKSIZE, -k KiB, -m MiB, -g GiB, -h human-readable), -i with inode counts,
 * -T with the type. Capacity is used / (used + available), rounded up, as BSD's.
 */

import { blockSize, humanSize, type ToolRun, type ToolSpec } from './common.js';

export const df: ToolSpec = {
  name: 'df',
  synopsis: '[-aghiklmnPT]',
  description: 'display free disk space of a file system image',
  options: 'aghiklmnPT',
  writes: false,
  maxArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const f = t.flags;
    let vs;
    try {
      vs = await t.fs.statvfs(t.args[0] ?? '/');
    } catch (e) {
      t.warn(t.args[0] ?? '/', e);
      return 1;
    }
    const bsize = blockSize(f, t.order);
    const unit = vs.frsize || vs.bsize;
    const used = (vs.blocks - vs.bfree) * unit;
    const avail = vs.bavail * unit;
    const size = vs.blocks * unit;
    const n = (bytes: number): string => (f.has('h') ? humanSize(bytes) : String(Math.floor(bytes / bsize)));
    const cap = used + avail === 0 ? 100 : Math.ceil((used * 100) / (used + avail));
    const head = ['Filesystem', ...(f.has('T') ? ['Type'] : []), f.has('h') ? 'Size' : `${bsize === 512 ? '512' : bsize === 1024 ? '1K' : `${bsize / 1024}K`}-blocks`,
      'Used', 'Avail', f.has('P') ? 'Capacity' : '%Cap', ...(f.has('i') ? ['iUsed', 'iAvail', '%iCap'] : []), 'Mounted on'];
    const iused = vs.files - vs.ffree;
    const row = [t.image, ...(f.has('T') ? [vs.fstypename] : []), n(size), n(used), n(avail), `${cap}%`,
      ...(f.has('i') ? [String(iused), String(vs.favail), `${vs.files === 0 ? 0 : Math.ceil((iused * 100) / vs.files)}%`] : []), vs.mntonname];
    const widths = head.map((h, i) => Math.max(h.length, row[i]!.length));
    const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === cells.length - 1 || (f.has('T') && i === 1) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ').trimEnd();
    t.out(`${line(head)}\n${line(row)}\n`);
    return 0;
  },
};
