#!/usr/bin/env node
/**
 * rump.df: free space of the file systems mounted in the rump kernel server named by
 * RUMP_SERVER, like df(1).
 *
 *   rump.df [-aGhiklmnP] [-t type] [file ...]
 *     -h       sizes human-readable ("9.6G"); -k, -m, -g: 1024-byte, MiB, GiB blocks (default 512,
 *              or BLOCKSIZE from the environment)
 *     -i       inode counts too (iUsed, iAvail, %iCap)
 *     -P       POSIX output ("Capacity" heading)
 *     -t type  only these types (comma-separated; "no" before the list excludes them)
 *     -a, -l, -n  accepted (every file system here is local and listed)
 *
 * With files, the file systems holding them; otherwise every mounted file system. %Cap is
 * used / (used + available), rounded up, as BSD's df.
 */

import { connectOrExit, errText, getopt, helpRequested, humanize, mountList, parseSize, runMain, UsageError } from '../client/cli.js';
import type { Statvfs } from '../kern/types.js';

const PROG = 'rump.df';
const USAGE = 'usage: rump.df [-aGhiklmnP] [-t type] [file ...]';

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'aGghiklmnPt:', ['help']);
  let bsize = 512;
  const env = process.env['BLOCKSIZE'];
  if (env !== undefined) {
    const b = parseSize(env.toLowerCase());
    if (b !== null && b >= 512 && b <= 1024 ** 3) bsize = b;
  }
  let human = false, inodes = false, posix = false;
  let types: { exclude: boolean; names: Set<string> } | null = null;
  for (const [o, v] of opts) {
    if (o === 'h') human = true;
    else if (o === 'k') bsize = 1024;
    else if (o === 'm') bsize = 1024 ** 2;
    else if (o === 'g') bsize = 1024 ** 3;
    else if (o === 'i') inodes = true;
    else if (o === 'P') posix = true;
    else if (o === 't') {
      if (types !== null) throw new UsageError('only one -t option may be given');
      const exclude = v!.startsWith('no');
      types = { exclude, names: new Set((exclude ? v!.slice(2) : v!).split(',')) };
    }
  }
  const c = await connectOrExit(PROG);
  let status = 0;
  const rows: Statvfs[] = [];
  try {
    if (operands.length === 0) rows.push(...await mountList(c));
    for (const f of operands) {
      try {
        rows.push(await c.sys.statvfs(f));
      } catch (e) {
        process.stderr.write(`${PROG}: ${f}: ${errText(e)}\n`);
        status = 1;
      }
    }
  } finally {
    await c.close();
  }
  const shown = rows.filter((vs) => types === null || types.names.has(vs.fstypename) !== types.exclude);
  const unitName = human ? 'Size' : bsize === 512 ? '512-blocks' : bsize === 1024 ? '1K-blocks' : bsize % (1024 ** 3) === 0 ? `${bsize / 1024 ** 3}G-blocks` : bsize % (1024 ** 2) === 0 ? `${bsize / 1024 ** 2}M-blocks` : `${bsize / 1024}K-blocks`;
  const head = ['Filesystem', unitName, 'Used', 'Avail', posix ? 'Capacity' : '%Cap', ...(inodes ? ['iUsed', 'iAvail', '%iCap'] : []), 'Mounted on'];
  const table = shown.map((vs) => {
    const unit = vs.frsize || vs.bsize;
    const used = (vs.blocks - vs.bfree) * unit;
    const avail = vs.bavail * unit;
    const n = (bytes: number): string => (human ? humanize(bytes) : String(Math.floor(bytes / bsize)));
    const cap = used + avail === 0 ? 100 : Math.ceil((used * 100) / (used + avail));
    const iused = vs.files - vs.ffree;
    return [vs.mntfromname, n(vs.blocks * unit), n(used), n(avail), `${cap}%`,
      ...(inodes ? [String(iused), String(vs.favail), `${vs.files === 0 ? 0 : Math.ceil((iused * 100) / vs.files)}%`] : []), vs.mntonname];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const last = head.length - 1;
  const line = (cells: readonly string[]): string =>
    cells.map((x, i) => (i === 0 || i === last ? x.padEnd(i === last ? 0 : widths[i]!) : x.padStart(widths[i]!))).join(' ');
  process.stdout.write([head, ...table].map(line).join('\n') + '\n');
  return status;
});
