#!/usr/bin/env node
/**
 * rump.cat: write files of the rump kernel server named by RUMP_SERVER to standard output, like
 * cat(1). An operand '-' (or none) copies the host's standard input.
 *
 *   rump.cat [file ...]
 *
 * Reads are 256 KiB at a time, with read(2) so FIFOs and devices work too. A file that cannot
 * be read is named on stderr and the others are still written; the exit status is then 1.
 */

import { connectOrExit, errText, getopt, runMain, writeOut } from '../client/cli.js';
import { O_RDONLY } from '../kern/types.js';

const PROG = 'rump.cat';
const USAGE = 'usage: rump.cat [file ...]   (the server is named by RUMP_SERVER)';
const CHUNK = 256 * 1024;

async function copyStdin(): Promise<void> {
  for await (const chunk of process.stdin) await writeOut(chunk as Buffer);
}

runMain(PROG, USAGE, async (argv) => {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { operands } = getopt(argv, '', ['help']);
  const files = operands.length === 0 ? ['-'] : operands;
  if (files.every((f) => f === '-')) {
    await copyStdin();
    return 0;
  }
  const c = await connectOrExit(PROG);
  let status = 0;
  try {
    for (const file of files) {
      if (file === '-') {
        await copyStdin();
        continue;
      }
      let fd: number;
      try {
        fd = await c.sys.open(file, O_RDONLY, 0);
      } catch (e) {
        process.stderr.write(`${PROG}: ${file}: ${errText(e)}\n`);
        status = 1;
        continue;
      }
      try {
        // read(2), not pread: FIFOs and devices have no offsets
        const buf = new Uint8Array(CHUNK);
        for (let n = await c.sys.read(fd, buf); n > 0; n = await c.sys.read(fd, buf)) await writeOut(buf.slice(0, n));
      } catch (e) {
        process.stderr.write(`${PROG}: ${file}: ${errText(e)}\n`);
        status = 1;
      } finally {
        await c.sys.close(fd).catch(() => undefined);
      }
    }
  } finally {
    await c.close();
  }
  return status;
});
