/**
 * ext2: our ext2 tools and file system side by side with e2fsprogs and the host.
 *
 * Figures here (others add theirs as further parts of `run`):
 *  - makefs of a 10,000-small-file tree (10 directories, 100 B to 5 KiB files) vs `mke2fs -d`
 *    on the same tree with the same geometry (1 KiB blocks, 128-byte inodes, the inode count
 *    and size our makefs chose, no resize_inode/dir_index/ext_attr). Both as a user runs them: a
 *    process writing an image file (Node's startup included on our side). Target: within 1.5x.
 *  - fsck of that image: `fsck_ext2fs -fn` vs `e2fsck -fn` (processes), and our check called
 *    in-process (no startup) for scale.
 * Work happens on the host's tmpfs (/dev/shm) when there is one, so the disk does not blur the
 * comparison; the run says so when it falls back to os.tmpdir(). A figure whose peer tool is not
 * installed is reported without a peer, with a note saying which tool is missing.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Figure } from './lib/bench.js';
import { median } from './lib/measure.js';
import { fsck } from '../src/fs/ext2fs/tools/fsck.js';
import { openImage } from '../src/bin/ext2tools/nodeio.js';

export const name = 'ext2';
export const description = 'ext2 image tools vs e2fsprogs: makefs vs mke2fs -d, fsck_ext2fs vs e2fsck (ms, lower is better)';

const bin = (n: string): string => fileURLToPath(new URL(`../src/bin/${n}.js`, import.meta.url));

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function scratch(ctx: BenchContext): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return fs.mkdtempSync('/dev/shm/rumpkernel-bench-ext2-');
  } catch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rumpkernel-bench-ext2-'));
    ctx.note(`no writable /dev/shm: the ext2 figures run in ${dir}, which may be on a disk`);
    return dir;
  }
}

/** Wall time of one run of a process, ms; throws with its output if it fails. */
function timeProcess(cmd: string, args: readonly string[], okStatus: readonly number[] = [0]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status === null || !okStatus.includes(r.status)) throw new Error(`${cmd} ${args.join(' ')} exited ${String(r.status)}: ${r.stdout}${r.stderr}`);
  return ms;
}

/** A tree of `files` small files spread over 10 directories. */
function makeTree(root: string, files: number): void {
  for (let d = 0; d < 10; d++) fs.mkdirSync(path.join(root, `d${d}`), { recursive: true });
  for (let i = 0; i < files; i++) {
    const line = `line ${i}\n`;
    fs.writeFileSync(path.join(root, `d${i % 10}`, `file-${String(i).padStart(5, '0')}.txt`), line.repeat(1 + ((i * 7) % 500)).slice(0, 100 + ((i * 37) % 5000)));
  }
}

async function makefsAndFsck(ctx: BenchContext, dir: string): Promise<Figure[]> {
  const files = ctx.quick ? 1000 : 10_000;
  const runs = ctx.quick ? 1 : 5;
  const tree = path.join(dir, 'tree');
  makeTree(tree, files);
  const ours = path.join(dir, 'ours.img');
  const peer = path.join(dir, 'peer.img');
  const figures: Figure[] = [];
  const haveMke2fs = have('mke2fs');
  const haveE2fsck = have('e2fsck');

  // makefs: alternate ours and mke2fs so drift in the machine's speed hits both alike
  const oursMs: number[] = [];
  const peerMs: number[] = [];
  const makefsArgs = ['-q', '-t', 'ext2fs', '-o', 'bsize=1024,isize=128', ours, tree];
  for (let i = 0; i < runs + 1; i++) {
    fs.rmSync(ours, { force: true });
    const t = timeProcess(process.execPath, [bin('makefs'), ...makefsArgs]);
    if (i > 0) oursMs.push(t); // the first run warms the page cache for both
    if (haveMke2fs) {
      const size = fs.statSync(ours).size;
      const inodes = readInodeCount(ours);
      fs.rmSync(peer, { force: true });
      const tp = timeProcess('mke2fs', ['-q', '-F', '-t', 'ext2', '-b', '1024', '-I', '128', '-N', String(inodes), '-m', '0',
        '-O', '^resize_inode,^dir_index,^ext_attr', '-E', 'root_owner=0:0', '-d', tree, peer, `${size / 1024}K`]);
      if (i > 0) peerMs.push(tp);
    }
  }
  figures.push({
    metric: `makefs, ${files.toLocaleString('en-US')} small files`, unit: 'ms', kind: 'time', ours: median(oursMs),
    peer: haveMke2fs ? median(peerMs) : null, peerName: haveMke2fs ? 'mke2fs -d' : null,
    ...(haveMke2fs ? { target: { text: 'ratio >= 0.67 (within 1.5x)', met: median(peerMs) / median(oursMs) >= 1 / 1.5 } } : {}),
    note: haveMke2fs ? `both processes write a ${(fs.statSync(ours).size / 1048576).toFixed(1)} MiB image with the same geometry; median of ${runs}` : 'mke2fs (e2fsprogs) is not installed: no peer',
  });

  // fsck of our image
  const fOurs: number[] = [];
  const fPeer: number[] = [];
  const fIn: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = timeProcess(process.execPath, [bin('fsck_ext2fs'), '-fn', ours]);
    if (i > 0) fOurs.push(t);
    if (haveE2fsck) {
      const tp = timeProcess('e2fsck', ['-fn', ours]);
      if (i > 0) fPeer.push(tp);
    }
    const img = openImage(ours, { readonly: true });
    try {
      const t0 = process.hrtime.bigint();
      const r = await fsck(img, { repair: false, force: true, now: Math.floor(Date.now() / 1000) });
      if (r.exitCode !== 0) throw new Error(`fsck_ext2fs found problems in makefs's image: ${r.problems.map((p) => p.message).join('; ')}`);
      if (i > 0) fIn.push(Number(process.hrtime.bigint() - t0) / 1e6);
    } finally {
      img.close();
    }
  }
  figures.push({
    metric: `fsck -fn, ${files.toLocaleString('en-US')} files`, unit: 'ms', kind: 'time', ours: median(fOurs),
    peer: haveE2fsck ? median(fPeer) : null, peerName: haveE2fsck ? 'e2fsck -fn' : null,
    note: haveE2fsck ? `processes, Node's startup included; median of ${runs}` : 'e2fsck (e2fsprogs) is not installed: no peer',
  });
  figures.push({
    metric: `fsck in-process, ${files.toLocaleString('en-US')} files`, unit: 'ms', kind: 'time', ours: median(fIn),
    peer: haveE2fsck ? median(fPeer) : null, peerName: haveE2fsck ? 'e2fsck -fn' : null,
    note: 'our check called as a library (no process start), against the e2fsck process',
  });
  return figures;
}

/** s_inodes_count of an image (the superblock at byte 1024). */
function readInodeCount(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 1024);
    return b.readUInt32LE(0);
  } finally {
    fs.closeSync(fd);
  }
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const dir = scratch(ctx);
  try {
    return [...(await makefsAndFsck(ctx, dir))];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
