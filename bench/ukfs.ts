/**
 * ukfs: the node:fs/promises-shaped API over a tmpfs in a private kernel (ukfsOpenMemory), side
 * by side with node:fs/promises itself on the host's tmpfs (/dev/shm; os.tmpdir() when there is
 * none, and the run says so). The same calls with the same arguments on both sides: readFile and
 * writeFile of a 4 KiB file, readFile of a 1 MiB file, stat, and readdir of a 100-entry
 * directory. This is what a user switching code from the host to an image pays (or saves).
 */

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchContext, Figure } from './lib/bench.js';
import { compare, compareOptions } from './lib/measure.js';
import { ukfsOpenMemory } from '../src/ukfs/index.js';

export const name = 'ukfs';
export const description = 'ukfs on tmpfs vs node:fs/promises on the host tmpfs (µs/op, lower is better)';

const SMALL = 4096;
const LARGE = 1 << 20;
const DIR_ENTRIES = 100;

function hostScratch(ctx: BenchContext): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return fs.mkdtempSync('/dev/shm/rumpkernel-bench-ukfs-');
  } catch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rumpkernel-bench-ukfs-'));
    ctx.note(`no writable /dev/shm: the node:fs peer runs in ${dir}, which may not be a tmpfs`);
    return dir;
  }
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const small = Buffer.alloc(SMALL, 0x61);
  const large = Buffer.alloc(LARGE);
  for (let i = 0; i < large.length; i++) large[i] = (i * 31 + 7) & 0xff;

  const u = await ukfsOpenMemory();
  const scratch = hostScratch(ctx);
  try {
    // the same tree on both sides: /bench/{small,large,dir/e000..e099}
    const ours = (p: string): string => `/bench/${p}`;
    const host = (p: string): string => path.join(scratch, p);
    await u.mkdir('/bench/dir', { recursive: true });
    await fsp.mkdir(host('dir'), { recursive: true });
    for (const [w, p] of [[u.writeFile.bind(u), ours], [fsp.writeFile, host]] as const) {
      await w(p('small'), small);
      await w(p('large'), large);
      for (let i = 0; i < DIR_ENTRIES; i++) await w(p(`dir/e${String(i).padStart(3, '0')}`), 'x');
    }
    const check = (b: Buffer, n: number): void => {
      if (b.length !== n) throw new Error(`readFile returned ${b.length} bytes, expected ${n}`);
    };

    const r = await compare({
      readSmall: async (n) => { for (let i = 0; i < n; i++) check(await u.readFile(ours('small')), SMALL); },
      readSmallHost: async (n) => { for (let i = 0; i < n; i++) check(await fsp.readFile(host('small')), SMALL); },
      writeSmall: async (n) => { for (let i = 0; i < n; i++) await u.writeFile(ours('w'), small); },
      writeSmallHost: async (n) => { for (let i = 0; i < n; i++) await fsp.writeFile(host('w'), small); },
      readLarge: async (n) => { for (let i = 0; i < n; i++) check(await u.readFile(ours('large')), LARGE); },
      readLargeHost: async (n) => { for (let i = 0; i < n; i++) check(await fsp.readFile(host('large')), LARGE); },
      stat: async (n) => { for (let i = 0; i < n; i++) await u.stat(ours('small')); },
      statHost: async (n) => { for (let i = 0; i < n; i++) await fsp.stat(host('small')); },
      readdir: async (n) => {
        for (let i = 0; i < n; i++) if ((await u.readdir(ours('dir'))).length !== DIR_ENTRIES) throw new Error('readdir lost entries');
      },
      readdirHost: async (n) => {
        for (let i = 0; i < n; i++) if ((await fsp.readdir(host('dir'))).length !== DIR_ENTRIES) throw new Error('readdir lost entries');
      },
      readdirTypes: async (n) => { for (let i = 0; i < n; i++) await u.readdir(ours('dir'), { withFileTypes: true }); },
      readdirTypesHost: async (n) => { for (let i = 0; i < n; i++) await fsp.readdir(host('dir'), { withFileTypes: true }); },
    }, compareOptions(ctx.quick));

    const us = (ns: number): number => ns / 1000;
    const row = (metric: string, ours: number, peer: number, peerName: string): Figure =>
      ({ metric, unit: 'µs/op', kind: 'time', ours: us(ours), peer: us(peer), peerName });
    return [
      row('readFile 4 KiB', r.readSmall, r.readSmallHost, 'fsp.readFile'),
      row('writeFile 4 KiB', r.writeSmall, r.writeSmallHost, 'fsp.writeFile'),
      row('readFile 1 MiB', r.readLarge, r.readLargeHost, 'fsp.readFile'),
      row('stat', r.stat, r.statHost, 'fsp.stat'),
      row(`readdir ${DIR_ENTRIES} entries`, r.readdir, r.readdirHost, 'fsp.readdir'),
      row(`readdir ${DIR_ENTRIES} withFileTypes`, r.readdirTypes, r.readdirTypesHost, 'fsp.readdir'),
    ];
  } finally {
    await u.unmount();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
