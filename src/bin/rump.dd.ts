#!/usr/bin/env node
/**
 * rump.dd: convert and copy a file, with the files in the rump kernel server named by
 * RUMP_SERVER, like dd(1) (NetBSD's rump.dd).
 *
 *   rump.dd [operand ...]
 *     if=file     input file in the kernel (default: the host's standard input)
 *     of=file     output file in the kernel (default: the host's standard output); created with
 *                 mode 0666 less the umask and truncated unless seek= or conv=notrunc
 *     bs=n        block size for input and output (each input block is written as read)
 *     ibs=n, obs=n  input and output block sizes (default 512; output then goes in obs blocks)
 *     count=n     copy n input blocks
 *     skip=n      skip n input blocks first (iseek= is the same)
 *     seek=n      skip n output blocks first (oseek= is the same); the output is then cut at
 *                 that point, unless conv=notrunc
 *     conv=list   notrunc (do not truncate the output), sync (pad short input blocks with
 *                 zeros), noerror (accepted)
 *     msgfmt=quiet|posix|human  the summary: none, or the usual three lines
 *   Numbers may end in b (512), k, m, g, w (2), and be products: 2x512k.
 *
 * The summary goes to stderr, as dd's:
 *   2+0 records in
 *   2+0 records out
 *   1048576 bytes transferred in 0.003 secs (349525333 bytes/sec)
 */

import type { RumpClient } from '../client/client.js';
import { connectOrExit, errText, parseSize, runMain, UsageError, writeOut } from '../client/cli.js';
import { O_CREAT, O_RDONLY, O_TRUNC, O_WRONLY, SEEK_SET } from '../kern/types.js';

const PROG = 'rump.dd';
const USAGE = 'usage: rump.dd [if=file] [of=file] [bs=n | ibs=n obs=n] [count=n] [skip=n] [seek=n] [conv=notrunc,sync,noerror] [msgfmt=quiet|posix|human]';

interface Opts {
  in: string | null; out: string | null; ibs: number; obs: number; bs: boolean;
  count: number | null; skip: number; seek: number; notrunc: boolean; sync: boolean; msgfmt: string;
}

function parseArgs(argv: readonly string[]): Opts {
  const o: Opts = { in: null, out: null, ibs: 512, obs: 512, bs: false, count: null, skip: 0, seek: 0, notrunc: false, sync: false, msgfmt: 'posix' };
  const num = (k: string, v: string, min: number): number => {
    const n = parseSize(v);
    if (n === null || n < min) throw new UsageError(`${k}: illegal numeric value '${v}'`);
    return n;
  };
  for (const a of argv) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new UsageError(`unknown operand ${a}`);
    const k = a.slice(0, eq), v = a.slice(eq + 1);
    switch (k) {
      case 'if': o.in = v; break;
      case 'of': o.out = v; break;
      case 'bs': o.ibs = o.obs = num(k, v, 1); o.bs = true; break;
      case 'ibs': o.ibs = num(k, v, 1); break;
      case 'obs': o.obs = num(k, v, 1); break;
      case 'count': o.count = num(k, v, 0); break;
      case 'skip': case 'iseek': o.skip = num(k, v, 0); break;
      case 'seek': case 'oseek': o.seek = num(k, v, 0); break;
      case 'msgfmt':
        if (!['quiet', 'posix', 'human'].includes(v)) throw new UsageError(`msgfmt: unknown format '${v}'`);
        o.msgfmt = v;
        break;
      case 'conv':
        for (const cv of v.split(',')) {
          if (cv === 'notrunc') o.notrunc = true;
          else if (cv === 'sync') o.sync = true;
          else if (cv !== 'noerror' && cv !== '') throw new UsageError(`unknown conversion ${cv}`);
        }
        break;
      default: throw new UsageError(`unknown operand ${k}`);
    }
  }
  if (Math.max(o.ibs, o.obs) > 256 * 1024 * 1024) throw new UsageError('block size too large (at most 256m)');
  return o;
}

/** Blocks from the host's standard input: `size` bytes each, the last one possibly short. */
async function* stdinBlocks(size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let have = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending.push(chunk);
    have += chunk.byteLength;
    while (have >= size) {
      const all = Buffer.concat(pending, have);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      have -= size;
    }
  }
  if (have > 0) yield Buffer.concat(pending, have);
}

async function* kernelBlocks(c: RumpClient, fd: number, size: number): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = new Uint8Array(size);
    const n = await c.sys.read(fd, buf);
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}

runMain(PROG, USAGE, async (argv) => {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = parseArgs(argv);
  const c = o.in !== null || o.out !== null ? await connectOrExit(PROG) : null;
  const st = { inFull: 0, inPart: 0, outFull: 0, outPart: 0, bytes: 0 };
  const t0 = process.hrtime.bigint();
  let status = 0;
  let inFd = -1, outFd = -1;
  try {
    // open and position the files
    let blocks: AsyncGenerator<Uint8Array>;
    if (o.in !== null) {
      try {
        inFd = await c!.sys.open(o.in, O_RDONLY, 0);
      } catch (e) {
        process.stderr.write(`${PROG}: ${o.in}: ${errText(e)}\n`);
        return 1;
      }
      let skipped = false;
      if (o.skip > 0) {
        try {
          await c!.sys.lseek(inFd, o.skip * o.ibs, SEEK_SET);
          skipped = true;
        } catch {
          // not seekable: read past the blocks below
        }
      }
      blocks = kernelBlocks(c!, inFd, o.ibs);
      if (o.skip > 0 && !skipped) for (let i = 0; i < o.skip && !(await blocks.next()).done; i++);
    } else {
      blocks = stdinBlocks(o.ibs);
      for (let i = 0; i < o.skip && !(await blocks.next()).done; i++);
    }
    if (o.out !== null) {
      try {
        outFd = await c!.sys.open(o.out, O_WRONLY | O_CREAT | (o.notrunc || o.seek > 0 ? 0 : O_TRUNC), 0o666);
        if (o.seek > 0) {
          await c!.sys.lseek(outFd, o.seek * o.obs, SEEK_SET);
          if (!o.notrunc) await c!.sys.ftruncate(outFd, o.seek * o.obs).catch(() => undefined);
        }
      } catch (e) {
        process.stderr.write(`${PROG}: ${o.out}: ${errText(e)}\n`);
        return 1;
      }
    }
    const put = async (b: Uint8Array): Promise<void> => {
      if (outFd >= 0) {
        let off = 0;
        while (off < b.byteLength) off += await c!.sys.write(outFd, b.subarray(off));
      } else {
        await writeOut(b);
      }
      if (b.byteLength === o.obs) st.outFull++;
      else st.outPart++;
      st.bytes += b.byteLength;
    };
    // with bs= each block goes out as it came in; otherwise output is reblocked to obs
    let acc: Uint8Array[] = [];
    let accLen = 0;
    try {
      for (let n = 0; o.count === null || n < o.count; n++) {
        const r = await blocks.next();
        if (r.done) break;
        let b = r.value;
        if (b.byteLength === o.ibs) st.inFull++;
        else {
          st.inPart++;
          if (o.sync) {
            const padded = new Uint8Array(o.ibs);
            padded.set(b);
            b = padded;
          }
        }
        if (o.bs) {
          await put(b);
          continue;
        }
        acc.push(b);
        accLen += b.byteLength;
        while (accLen >= o.obs) {
          const all = Buffer.concat(acc, accLen);
          await put(all.subarray(0, o.obs));
          acc = [all.subarray(o.obs)];
          accLen -= o.obs;
        }
      }
      if (accLen > 0) await put(Buffer.concat(acc, accLen));
    } catch (e) {
      process.stderr.write(`${PROG}: ${outFd >= 0 || o.in === null ? (o.out ?? 'stdout') : o.in}: ${errText(e)}\n`);
      status = 1;
    }
  } finally {
    if (c !== null) {
      if (inFd >= 0) await c.sys.close(inFd).catch(() => undefined);
      if (outFd >= 0) await c.sys.close(outFd).catch(() => undefined);
      await c.close();
    }
  }
  if (o.msgfmt !== 'quiet') {
    const ns = Number(process.hrtime.bigint() - t0);
    const secs = ns / 1e9;
    const rate = secs > 0 ? Math.floor(st.bytes / secs) : 0;
    const ms = Math.floor(ns / 1e6);
    process.stderr.write(`${st.inFull}+${st.inPart} records in\n${st.outFull}+${st.outPart} records out\n`
      + `${st.bytes} bytes transferred in ${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')} secs (${rate} bytes/sec)\n`);
  }
  return status;
});
