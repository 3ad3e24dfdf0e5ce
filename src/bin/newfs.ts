#!/usr/bin/env node
/**
 * newfs: construct a new FFS (UFS1 or UFS2) file system in an image file (NetBSD newfs(8)).
 *
 *   newfs [-N] [-O 1|2] [-B be|le] [-b block-size] [-f frag-size] [-i bytes-per-inode]
 *         [-m free-space%] [-o time|space] [-a maxcontig] [-e maxbpg] [-g avgfilesize]
 *         [-h avgfpdir] [-S sector-size] [-V volname] [-T newfs|makefs] [-s size] IMAGE
 *
 * -O 1 makes UFS1, -O 2 (default) UFS2. -s takes 512-byte sectors, as NetBSD's does, or bytes
 * with a b/k/m/g/t suffix; without -s an existing image keeps its size. The image is created if
 * missing and grown to the size. -N prints the layout without writing. -T makefs lays the file
 * system out as NetBSD's makefs does (every superblock at 8 KiB, as few groups as fit), so the
 * result matches a `makefs -t ffs` image of an empty tree. Byte order: -B (default little-endian).
 *
 * Exit status: 0 done, 1 error (message names it), 2 usage.
 */

import * as fs from 'node:fs';
import { randomInt } from 'node:crypto';
import { KernelError } from '../kern/errno.js';
import { newfs, planLayout, type NewfsOptions, type Plan } from '../fs/ffs/tools/newfs.js';
import type { ImageIO } from '../fs/ffs/tools/io.js';
import { cgsblock } from '../fs/ffs/superblock.js';

const PROG = 'newfs';
const USAGE = `usage: ${PROG} [-N] [-O 1|2] [-B be|le] [-b block-size] [-f frag-size] [-i bytes-per-inode]
             [-m free-space%] [-o time|space] [-a maxcontig] [-e maxbpg] [-g avgfilesize]
             [-h avgfpdir] [-S sector-size] [-V volname] [-T newfs|makefs] [-s size] IMAGE`;

class UsageError extends Error {}

/** Options with a value (letter -> true) and flags (letter -> false). */
const SPEC: Record<string, boolean> = {
  N: false, O: true, B: true, b: true, f: true, i: true, m: true, o: true, a: true, e: true, g: true, h: true, S: true, V: true, T: true, s: true,
};

function getopt(argv: readonly string[]): { opts: Map<string, string>; args: string[] } {
  const opts = new Map<string, string>();
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const takes = SPEC[c];
      if (takes === undefined) throw new UsageError(`unknown option -${c}`);
      if (!takes) {
        opts.set(c, '');
        continue;
      }
      const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`option -${c} needs a value`);
      opts.set(c, v);
      break;
    }
  }
  return { opts, args };
}

function int(s: string, what: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${what} '${s}' is not a number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} '${s}' is too large`);
  return n;
}

/** A -s value: 512-byte sectors by default, bytes with a b/k/m/g/t suffix (b: 512-byte blocks). */
function parseFsSize(s: string): number {
  const m = /^(\d+)([bkmgt]?)$/i.exec(s.trim());
  if (m === null) throw new UsageError(`size '${s}' is not a number of sectors or a size with a b/k/m/g/t suffix`);
  const n = int(m[1]!, 'size');
  const mult: Record<string, number> = { '': 512, b: 512, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  const v = n * mult[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(v)) throw new UsageError(`size '${s}' is too large`);
  return v;
}

function describe(image: string, p: Plan): string {
  const g = p.geo;
  const spf = g.fsize / 512;
  const mb = (n: number): string => (n / (1024 * 1024)).toFixed(1);
  const lines = [
    ...p.notes,
    `${image}: ${mb(g.size * g.fsize)}MB (${g.size * spf} sectors) block size ${g.bsize}, fragment size ${g.fsize}`,
    `\tusing ${g.ncg} cylinder group${g.ncg === 1 ? '' : 's'} of ${((g.fpg * g.fsize) / (1024 * 1024)).toFixed(2)}MB, ${g.fpg / g.frag} blks, ${g.ipg} inodes.`,
    'super-block backups (for fsck_ffs -b #) at:',
  ];
  const nums = Array.from({ length: g.ncg }, (_, c) => String(cgsblock(g, c) * spf));
  const width = Math.max(...nums.map((n) => n.length));
  const perLine = Math.max(1, Math.floor(76 / (width + 2)));
  for (let i = 0; i < nums.length; i += perLine) lines.push(nums.slice(i, i + perLine).map((n) => ` ${n.padStart(width)},`).join(''));
  return lines.join('\n') + '\n';
}

/** The image file as ImageIO (created or grown to `size` bytes). */
async function openImage(path: string, size: number): Promise<ImageIO & { close(): Promise<void> }> {
  const fh = await fs.promises.open(path, fs.existsSync(path) ? 'r+' : 'w+');
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isBlockDevice()) throw new KernelError('EFTYPE', `${path} is neither a file nor a block device`);
    if (st.isFile() && st.size < size) await fh.truncate(size);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const b = new Uint8Array(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      if (bytesRead < length) throw new KernelError('EIO', `${path}: short read at ${offset}`);
      return b;
    },
    async write(offset: number, data: Uint8Array): Promise<void> {
      if (offset + data.length > size) throw new KernelError('EIO', `${path}: write of ${data.length} bytes at ${offset} is past the file system's end`);
      const { bytesWritten } = await fh.write(data, 0, data.length, offset);
      if (bytesWritten < data.length) throw new KernelError('EIO', `${path}: short write at ${offset}`);
    },
    flush: () => fh.sync(),
    close: () => fh.close(),
  };
}

function errorText(e: unknown): string {
  if (e instanceof KernelError) return (e.detail ?? e.message).replace(/^newfs: /, '');
  if (e instanceof Error) return e.message;
  return String(e);
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let o: NewfsOptions;
  let image: string;
  let dryRun: boolean;
  try {
    const { opts, args } = getopt(argv);
    if (args.length !== 1) throw new UsageError(args.length === 0 ? 'no image given' : `one image only (got ${args.join(' ')})`);
    image = args[0]!;
    dryRun = opts.has('N');
    const version = opts.get('O') ?? '2';
    if (version !== '1' && version !== '2') throw new UsageError(`-O ${version}: the format must be 1 (UFS1) or 2 (UFS2)`);
    let size: number;
    const s = opts.get('s');
    if (s !== undefined) size = parseFsSize(s);
    else if (fs.existsSync(image)) size = fs.statSync(image).size;
    else throw new UsageError(`${image} does not exist: give its size with -s`);
    const order = opts.get('B') ?? 'le';
    if (!['be', 'le', 'big', 'little', '4321', '1234'].includes(order)) throw new UsageError(`-B ${order}: the byte order must be be or le`);
    const optim = opts.get('o');
    if (optim !== undefined && optim !== 'time' && optim !== 'space') throw new UsageError(`-o ${optim}: optimization must be time or space`);
    const style = opts.get('T');
    if (style !== undefined && style !== 'newfs' && style !== 'makefs') throw new UsageError(`-T ${style}: the layout must be newfs or makefs`);
    o = {
      version: version === '1' ? 1 : 2,
      size,
      littleEndian: !['be', 'big', '4321'].includes(order),
      now: Math.floor(Date.now() / 1000),
      random: () => randomInt(0, 2 ** 32),
    };
    const num = (k: string, what: string): number | undefined => (opts.has(k) ? int(opts.get(k)!, what) : undefined);
    const set = <K extends keyof NewfsOptions>(key: K, v: NewfsOptions[K] | undefined): void => { if (v !== undefined) o[key] = v; };
    set('bsize', num('b', 'block size'));
    set('fsize', num('f', 'fragment size'));
    set('density', num('i', 'bytes per inode'));
    set('minfree', num('m', 'free space'));
    set('maxcontig', num('a', 'maxcontig'));
    set('maxbpg', num('e', 'maxbpg'));
    set('avgfilesize', num('g', 'average file size'));
    set('avgfpdir', num('h', 'files per directory'));
    set('sectorSize', num('S', 'sector size'));
    set('volname', opts.get('V'));
    set('optimization', optim as 'time' | 'space' | undefined);
    set('style', style as 'newfs' | 'makefs' | undefined);
    if (o.size % (o.sectorSize ?? 512) !== 0) o.size -= o.size % (o.sectorSize ?? 512);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${PROG}: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  try {
    const plan = planLayout(o); // bad parameters fail here, before the image is touched
    if (dryRun) {
      process.stdout.write(describe(image, plan));
      return 0;
    }
    const io = await openImage(image, o.size);
    try {
      process.stdout.write(describe(image, await newfs(io, o)));
    } finally {
      await io.close();
    }
    return 0;
  } catch (e) {
    process.stderr.write(`${PROG}: ${image}: ${errorText(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`${PROG}: ${errorText(e)}\n`);
  process.exitCode = 1;
});
