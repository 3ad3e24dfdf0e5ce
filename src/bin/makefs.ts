#!/usr/bin/env node
/**
 * makefs: create a file system image from a directory tree (NetBSD makefs(8)); ext2fs only.
 *
 *   makefs [-q] [-t ext2fs] [-s image-size] [-M minimum-size] [-m maximum-size]
 *          [-b free-blocks[%]] [-f free-files[%]] [-T timestamp] [-o fs-options] image-file directory
 *
 * Without -s the image is sized from the tree: data, directory and indirect blocks, metadata and
 * the free space asked for (default 10% free blocks and 10% free inodes; -b 0 -f 0 for the
 * smallest image). -T sets every time stamp (seconds since the epoch, or a file whose mtime is
 * used). -o takes a comma list of ext2 options:
 *   bsize=N        block size (default 1024; 4096 when the image passes 512 MiB)
 *   isize=N        inode size, 128 (default) or 256 (alias: inodesize)
 *   density=N      bytes per inode (with -s; default: the inodes the tree needs plus -f)
 *   inodes=N       inode count
 *   label=NAME     volume label (alias: volname)
 *   minfree=N      percent of blocks reserved for root (default 0)
 *   revision=0|1   file system revision (default 1)
 *   features=LIST  mke2fs -O style list (dir_index,^large_file)
 *   uuid=UUID      file system UUID (default random)
 *   uid=N, gid=N   own every file by this user / group instead of the host's
 * Owners, modes, times (nanoseconds with 256-byte inodes), symbolic links, hard links, device
 * nodes, fifos and sockets are copied; holes of sparse files stay holes. A progress bar is drawn
 * on stderr while copying when stdout is a terminal.
 *
 * Exit status: 0 done, 1 error (message names it), 2 usage.
 */

import * as fs from 'node:fs';
import { KernelError } from '../kern/errno.js';
import { makefs, type MakefsOptions } from '../fs/ext2fs/tools/makefs.js';
import { Progress, errorText, getopt, openImage, parseIntArg, parseSize, parseUuid, randomUuid } from './ext2tools/nodeio.js';
import { hostTree } from './ext2tools/hosttree.js';

const PROG = 'makefs';
const USAGE = `usage: ${PROG} [-q] [-t ext2fs] [-s image-size] [-M minimum-size] [-m maximum-size]
              [-b free-blocks[%]] [-f free-files[%]] [-T timestamp] [-o fs-options] image-file directory`;

function parseFree(v: string, what: string): { count?: number; percent?: number } {
  if (v.endsWith('%')) {
    const p = Number(v.slice(0, -1));
    if (!Number.isFinite(p) || p < 0 || p > 99) throw new KernelError('EINVAL', `${what} '${v}' is not a percentage below 100`);
    return { percent: p };
  }
  return { count: parseSize(v, what) };
}

function applyOption(o: MakefsOptions, key: string, value: string): void {
  switch (key) {
    case 'bsize': o.blockSize = parseSize(value, 'bsize'); break;
    case 'isize': case 'inodesize': o.inodeSize = parseIntArg(value, key); break;
    case 'density': o.inodeRatio = parseSize(value, 'density'); break;
    case 'inodes': o.inodesCount = parseIntArg(value, 'inodes'); break;
    case 'label': case 'volname': o.label = value; break;
    case 'minfree': o.reservedPercent = parseIntArg(value, 'minfree'); break;
    case 'revision': case 'version': o.revision = parseIntArg(value, key); break;
    case 'features': o.features = value.replace(/:/g, ','); break;
    case 'uuid': o.uuid = parseUuid(value); break;
    case 'uid': o.uid = parseIntArg(value, 'uid'); break;
    case 'gid': o.gid = parseIntArg(value, 'gid'); break;
    default: throw new KernelError('EINVAL', `unknown ext2fs option '${key}' (known: bsize, isize, density, inodes, label, minfree, revision, features, uuid, uid, gid)`);
  }
}

/** Split -o: commas separate options, but a features= value keeps its own commas up to the next key=. */
function splitOptions(spec: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of spec.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0 && out.length > 0 && out[out.length - 1]![0] === 'features') {
      out[out.length - 1]![1] += `,${part}`;
      continue;
    }
    if (eq < 0) throw new KernelError('EINVAL', `ext2fs option '${part}' needs a value (key=value)`);
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o: MakefsOptions = { uuid: new Uint8Array(0), now: Math.floor(Date.now() / 1000), reservedPercent: 0 };
  let quiet = false;
  let args: string[];
  try {
    const p = getopt(argv, 'qxZt:s:M:m:b:f:T:o:S:B:d:F:N:O:');
    args = p.args;
    for (const [f, v] of p.flags) {
      switch (f) {
        case 'q': quiet = true; break;
        case 'x': case 'Z': break;
        case 't':
          if (v !== 'ext2fs' && v !== 'ext2') throw new KernelError('EINVAL', `file system type '${v}' is not supported (ext2fs only)`);
          break;
        case 's': o.size = parseSize(v, 'image size'); break;
        case 'M': o.minSize = parseSize(v, 'minimum size'); break;
        case 'm': o.maxSize = parseSize(v, 'maximum size'); break;
        case 'b': {
          const r = parseFree(v, 'free blocks');
          if (r.count !== undefined) o.freeBlocks = r.count;
          if (r.percent !== undefined) o.freeBlocksPercent = r.percent;
          break;
        }
        case 'f': {
          const r = parseFree(v, 'free files');
          if (r.count !== undefined) o.freeFiles = r.count;
          if (r.percent !== undefined) o.freeFilesPercent = r.percent;
          break;
        }
        case 'T':
          o.timestamp = /^\d+$/.test(v) ? Number(v) : Math.floor(fs.statSync(v).mtimeMs / 1000);
          break;
        case 'o':
          for (const [k, val] of splitOptions(v)) applyOption(o, k, val);
          break;
        case 'S': if (v !== '512') throw new KernelError('EINVAL', `sector size ${v} is not supported (512 only)`); break;
        case 'B': if (!/^(le|little|1234)$/.test(v)) throw new KernelError('EINVAL', 'ext2 is little-endian only'); break;
        default: throw new KernelError('EINVAL', `option -${f} is not supported for ext2fs`);
      }
    }
  } catch (e) {
    process.stderr.write(`${PROG}: ${errorText(e)}\n${USAGE}\n`);
    return 2;
  }
  if (args.length !== 2) {
    process.stderr.write(`${PROG}: ${args.length < 2 ? 'an image file and a directory are needed' : `too many operands: ${args.join(' ')}`}\n${USAGE}\n`);
    return 2;
  }
  const [image, dir] = args as [string, string];
  if (o.uuid.length === 0) o.uuid = randomUuid();
  o.hashSeed = randomUuid();
  const progress = new Progress(`${PROG}: copying`, process.stdout.isTTY === true && !quiet);
  o.onProgress = (done, total) => progress.update(done, total);
  let img: ReturnType<typeof openImage> | null = null;
  try {
    const r = await makefs(async (size) => {
      if (!quiet) process.stdout.write(`Calculated size of \`${image}': ${size} bytes\n`);
      img = openImage(image, { create: size });
      return img;
    }, hostTree(dir), o);
    progress.done();
    if (!quiet) {
      const l = r.layout;
      process.stdout.write(`Populated \`${image}': ${r.files} files, ${r.directories} directories, ${r.bytes} bytes of data\n`);
      process.stdout.write(`\t${l.blocksCount} blocks of ${l.blockSize} bytes (${r.superblock.s_free_blocks_count} free), ${l.inodesCount} inodes (${r.superblock.s_free_inodes_count} free), ${l.groupCount} group${l.groupCount === 1 ? '' : 's'}\n`);
      process.stdout.write(`Image \`${image}' complete\n`);
    }
    return 0;
  } catch (e) {
    progress.done();
    process.stderr.write(`${PROG}: ${errorText(e)}\n`);
    return 1;
  } finally {
    (img as ReturnType<typeof openImage> | null)?.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`${PROG}: ${errorText(e)}\n`);
  process.exitCode = 1;
});
