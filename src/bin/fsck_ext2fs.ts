#!/usr/bin/env node
/**
 * fsck_ext2fs: check an ext2 file system image, and repair it with -y.
 *
 *   fsck_ext2fs [-fnpqy] IMAGE
 *
 *   -n   check only, open the image read-only (the default)
 *   -y   repair what can be repaired (-p: the same)
 *   -f   check even when the superblock says the file system is clean
 *   -q   print only the problems and the summary
 *
 * The passes and messages follow e2fsck's (see src/fs/ext2fs/tools/fsck.ts for what is checked
 * and what -y repairs). Exit status as fsck(8): 0 clean, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error (not ext2, unsupported feature, I/O), 16 usage.
 */

import { fsck } from '../fs/ext2fs/tools/fsck.js';
import { Progress, errorText, getopt, openImage } from './ext2tools/nodeio.js';

const PROG = 'fsck_ext2fs';
const USAGE = `usage: ${PROG} [-fnpqy] IMAGE`;
const PASSES = ['', 'Checking inodes, blocks, and sizes', 'Checking directory structure', 'Checking directory connectivity',
  'Checking reference counts', 'Checking group summary information'];

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let repair = false, force = false, quiet = false, sawN = false;
  let args: string[];
  try {
    const p = getopt(argv, 'fnpqyd');
    args = p.args;
    for (const [f] of p.flags) {
      if (f === 'y' || f === 'p') repair = true;
      else if (f === 'n') sawN = true;
      else if (f === 'f') force = true;
      else if (f === 'q') quiet = true;
    }
  } catch (e) {
    process.stderr.write(`${PROG}: ${errorText(e)}\n${USAGE}\n`);
    return 16;
  }
  if (repair && sawN) {
    process.stderr.write(`${PROG}: -n and -y are mutually exclusive\n${USAGE}\n`);
    return 16;
  }
  if (args.length !== 1) {
    process.stderr.write(`${PROG}: ${args.length === 0 ? 'no image given' : `one image only (got ${args.join(' ')})`}\n${USAGE}\n`);
    return 16;
  }
  const image = args[0]!;
  let img;
  try {
    img = openImage(image, { readonly: !repair });
  } catch (e) {
    process.stderr.write(`${PROG}: ${errorText(e)}\n`);
    return 8;
  }
  const progress = new Progress(`${PROG}: pass`, process.stdout.isTTY === true && !quiet);
  const out: string[] = [];
  try {
    const r = await fsck(img, {
      repair, force, now: Math.floor(Date.now() / 1000),
      onProgress: (pass, done, total) => progress.update(((pass - 1) + (total > 0 ? done / total : 1)) / 5 * 100, 100),
    });
    progress.done();
    if (r.exitCode === 8) {
      process.stderr.write(`${PROG}: ${image}: ${r.error ?? 'operational error'}\n`);
      return 8;
    }
    if (r.skipped) {
      out.push(`${r.label || image}: clean, ${r.filesUsed}/${r.filesTotal} files, ${r.blocksUsed}/${r.blocksTotal} blocks`);
    } else {
      if (!quiet) out.push(`** ${image}${repair ? '' : ' (NO WRITE)'}`);
      for (let pass = 1; pass <= 5; pass++) {
        if (!quiet) out.push(`Pass ${pass}: ${PASSES[pass]}`);
        for (const p of r.problems.filter((x) => x.pass === pass)) out.push(`${p.message}  ${p.fixed ? 'Fixed.' : 'Fix? no'}`, '');
      }
      const errors = r.problems.filter((p) => !p.minor || p.fixed);
      if (errors.some((p) => p.fixed)) out.push(`\n${image}: ***** FILE SYSTEM WAS MODIFIED *****`);
      if (r.exitCode === 4) out.push(`\n${image}: ********** WARNING: Filesystem still has errors **********\n`);
      out.push(`${r.label || image}: ${r.filesUsed}/${r.filesTotal} files, ${r.blocksUsed}/${r.blocksTotal} blocks`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return r.exitCode;
  } catch (e) {
    progress.done();
    process.stderr.write(`${PROG}: ${image}: ${errorText(e)}\n`);
    return 8;
  } finally {
    img.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`${PROG}: ${errorText(e)}\n`);
  process.exitCode = 8;
});
