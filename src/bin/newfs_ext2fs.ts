#!/usr/bin/env node
/**
 * newfs_ext2fs: construct a new ext2 file system in an image file.
 *
 *   newfs_ext2fs [-FNqZ] [-b block-size] [-D|-I inode-size] [-i bytes-per-inode | -n inodes]
 *                [-L|-v label] [-U uuid] [-r 0|1] [-O features] [-m reserved%]
 *                [-g blocks-per-group] [-V level] [-s size] IMAGE
 *
 * Flags as NetBSD's newfs_ext2fs(8), with mke2fs(8)'s names accepted too (-I for -D, -L for -v,
 * -r for the revision, -O with a feature list). `-O 0` / `-O 1` is NetBSD's revision switch; any
 * other -O value is a mke2fs feature list applied to the defaults (sparse_super, large_file,
 * filetype; dir_index is off unless asked). `-s` takes 512-byte sectors as NetBSD does, or bytes
 * with a b/k/m/g/t suffix; without -s an existing image keeps its size. -N prints the layout
 * without writing. The image is created if missing and (re)made sparse at the size.
 *
 * Exit status: 0 done, 1 error (message names it), 2 usage.
 */

import * as fs from 'node:fs';
import { KernelError } from '../kern/errno.js';
import { newfs, prepare } from '../fs/ext2fs/tools/newfs.js';
import { featureNames } from '../fs/ext2fs/tools/features.js';
import type { ImageIO } from '../fs/ext2fs/tools/io.js';
import type { Layout } from '../fs/ext2fs/tools/layout.js';
import { errorText, getopt, openImage, parseIntArg, parseSize, parseUuid, randomUuid } from './ext2tools/nodeio.js';

const PROG = 'newfs_ext2fs';
const USAGE = `usage: ${PROG} [-FNqZ] [-b block-size] [-D|-I inode-size] [-i bytes-per-inode | -n inodes]
                    [-L|-v label] [-U uuid] [-r 0|1] [-O features] [-m reserved%]
                    [-g blocks-per-group] [-V level] [-s size] IMAGE`;

/** A -s value: sectors by default (NetBSD), bytes with b/k/m/g/t, sectors with s. */
function parseFsSize(s: string): number {
  const t = s.trim();
  if (/^\d+s?$/i.test(t)) return parseIntArg(t.replace(/s$/i, ''), 'size') * 512;
  return parseSize(t, 'size');
}

/** An image of `size` bytes that is never read or written (planning only). */
function sizeOnly(size: number): ImageIO {
  const no = (): never => { throw new KernelError('EIO', 'planning image is not for I/O'); };
  return { size, read: async () => no(), write: async () => no() };
}

function describe(image: string, l: Layout, features: string[], quiet: boolean): string {
  if (quiet) return '';
  const mb = (l.blocksCount * l.blockSize) / (1024 * 1024);
  const groupMb = (l.blocksPerGroup * l.blockSize) / (1024 * 1024);
  const backups = l.groups.filter((g) => g.hasSuper && g.index > 0).map((g) => g.first);
  const lines = [
    `${image}: ${mb.toFixed(1)}MB (${(l.blocksCount * l.blockSize) / 512} sectors) block size ${l.blockSize}, inode size ${l.inodeSize}`,
    `\tusing ${l.groupCount} block group${l.groupCount === 1 ? '' : 's'} of ${groupMb.toFixed(1)}MB, ${l.blocksPerGroup} blks, ${l.inodesPerGroup} inodes.`,
    `\tfeatures: ${features.length > 0 ? features.join(' ') : '(none: revision 0)'}`,
  ];
  if (backups.length > 0) lines.push('super-block backups (for fsck_ext2fs -b #) at:', ` ${backups.join(', ')}`);
  return lines.join('\n') + '\n';
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let parsed;
  try {
    parsed = getopt(argv, 'FNqZb:D:I:i:n:L:v:U:r:O:m:g:V:s:S:f:');
  } catch (e) {
    process.stderr.write(`${PROG}: ${errorText(e)}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.args.length !== 1) {
    process.stderr.write(`${PROG}: ${parsed.args.length === 0 ? 'no image given' : `one image only (got ${parsed.args.join(' ')})`}\n${USAGE}\n`);
    return 2;
  }
  const image = parsed.args[0]!;
  let dryRun = false, quiet = false;
  let size: number | undefined;
  const o: Parameters<typeof newfs>[1] = { uuid: new Uint8Array(16), now: Math.floor(Date.now() / 1000) };
  let uuid: Uint8Array | undefined;
  let fragSize: number | undefined;
  try {
    for (const [f, v] of parsed.flags) {
      switch (f) {
        case 'F': case 'Z': case 'V': case 'S': break; // image mode is the only mode; we always zero; verbosity and sector size accepted
        case 'f': fragSize = parseSize(v, 'fragment size'); break;
        case 'N': dryRun = true; break;
        case 'q': quiet = true; break;
        case 'b': o.blockSize = parseSize(v, 'block size'); break;
        case 'D': case 'I': o.inodeSize = parseIntArg(v, 'inode size'); break;
        case 'i': o.inodeRatio = parseSize(v, 'bytes per inode'); break;
        case 'n': o.inodesCount = parseIntArg(v, 'inode count'); break;
        case 'L': case 'v': o.label = v; break;
        case 'U': uuid = parseUuid(v); break;
        case 'r': o.revision = parseIntArg(v, 'revision'); break;
        case 'O':
          if (v === '0' || v === '1') o.revision = Number(v);
          else o.features = o.features === undefined ? v : `${o.features},${v}`;
          break;
        case 'm': {
          const p = Number(v);
          if (!Number.isFinite(p)) throw new KernelError('EINVAL', `reserved percentage '${v}' is not a number`);
          o.reservedPercent = p;
          break;
        }
        case 'g': o.blocksPerGroup = parseIntArg(v, 'blocks per group'); break;
        case 's': size = parseFsSize(v); break;
      }
    }
    if (fragSize !== undefined && fragSize !== o.blockSize) throw new KernelError('EINVAL', `fragment size ${fragSize} must equal the block size (ext2 has no fragments)`);
  } catch (e) {
    process.stderr.write(`${PROG}: ${errorText(e)}\n${USAGE}\n`);
    return 2;
  }
  if (size === undefined) {
    try {
      const st = fs.statSync(image);
      if (st.isFile() && st.size > 0) size = st.size;
    } catch { /* missing: needs -s */ }
    if (size === undefined) {
      process.stderr.write(`${PROG}: ${image}: the image does not exist or is empty: give its size with -s\n${USAGE}\n`);
      return 2;
    }
  }
  o.uuid = uuid ?? randomUuid();
  o.hashSeed = randomUuid();
  o.size = size;
  try {
    if (dryRun) {
      const { layout, build } = prepare(sizeOnly(size), { ...o, size });
      process.stdout.write(describe(image, layout, featureNames(build.features), false));
      return 0;
    }
    // validate before touching the image
    prepare(sizeOnly(size), { ...o, size });
    const img = openImage(image, { create: size });
    try {
      o.zeroed = img.zeroed;
      const r = await newfs(img, o);
      process.stdout.write(describe(image, r.layout, r.features, quiet));
    } finally {
      img.close();
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
