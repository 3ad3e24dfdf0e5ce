/**
 * syscall: in-process syscalls of a kernel against tmpfs, side by side with Node's own `fs` on
 * the host's tmpfs (/dev/shm; os.tmpdir() when there is none, and the run says so).
 *
 * Ours are async (`await k.sys.stat(l, path)`) and measured in a tight loop with await; the
 * main peer is Node's synchronous `fs` (the fastest a user can get), a second peer is
 * `fs.promises` (the same async shape as ours). Paths have the same depth on both sides.
 * getpid has no file system peer: the honest host counterpart is a trivial real syscall through
 * Node's binding, `process.getuid()` (getuid(2); glibc does not cache it). `process.pid` would be
 * a property read, not a syscall.
 */

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchContext, Figure } from './lib/bench.js';
import { compare, compareOptions } from './lib/measure.js';
import { Kernel } from '../src/kern/kernel.js';
import { O_CREAT, O_RDONLY, O_RDWR } from '../src/kern/types.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';

export const name = 'syscall';
export const description = 'in-process syscalls on tmpfs vs Node fs on the host tmpfs (ns/op, lower is better)';

const FILE_SIZE = 64 * 1024;
const IO = 4096;

/** A scratch directory on the host's tmpfs if there is one. */
function hostScratch(ctx: BenchContext): string {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    return fs.mkdtempSync('/dev/shm/rumpkernel-bench-');
  } catch {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rumpkernel-bench-'));
    ctx.note(`no writable /dev/shm: the host peer runs in ${dir}, which may not be a tmpfs`);
    return dir;
  }
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const content = new Uint8Array(FILE_SIZE);
  for (let i = 0; i < content.length; i++) content[i] = (i * 31 + 7) & 0xff;

  // ours: /tmp is a tmpfs; the file is /tmp/bench/dir/file
  const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
  const l = k.initLwp;
  const scratch = hostScratch(ctx);
  try {
    await k.sys.mkdir(l, '/tmp', 0o755);
    await k.sys.mount(l, 'tmpfs', '/tmp', 0, {});
    await k.sys.mkdir(l, '/tmp/bench', 0o755);
    await k.sys.mkdir(l, '/tmp/bench/dir', 0o755);
    const ourPath = '/tmp/bench/dir/file';
    const wfd = await k.sys.open(l, ourPath, O_CREAT | O_RDWR, 0o644);
    if ((await k.sys.write(l, wfd, content)) !== FILE_SIZE) throw new Error('short write to the kernel test file');
    await k.sys.close(l, wfd);

    // host: <scratch>/dir/file
    fs.mkdirSync(path.join(scratch, 'dir'));
    const hostPath = path.join(scratch, 'dir', 'file');
    fs.writeFileSync(hostPath, content);

    const opts = compareOptions(ctx.quick);
    const figures: Figure[] = [];
    const buf = new Uint8Array(IO);
    const ourFd = await k.sys.open(l, ourPath, O_RDONLY, 0);
    const hostFd = fs.openSync(hostPath, 'r');
    const hostFh = await fsp.open(hostPath, 'r');
    try {
      const r = await compare({
        getpid: async (n) => { for (let i = 0; i < n; i++) await k.sys.getpid(l); },
        getuidHost: (n) => { for (let i = 0; i < n; i++) process.getuid?.(); },

        stat: async (n) => { for (let i = 0; i < n; i++) await k.sys.stat(l, ourPath); },
        statSync: (n) => { for (let i = 0; i < n; i++) fs.statSync(hostPath); },
        statAsync: async (n) => { for (let i = 0; i < n; i++) await fsp.stat(hostPath); },

        openClose: async (n) => { for (let i = 0; i < n; i++) await k.sys.close(l, await k.sys.open(l, ourPath, O_RDONLY, 0)); },
        openCloseSync: (n) => { for (let i = 0; i < n; i++) fs.closeSync(fs.openSync(hostPath, 'r')); },
        openCloseAsync: async (n) => { for (let i = 0; i < n; i++) await (await fsp.open(hostPath, 'r')).close(); },

        pread: async (n) => {
          for (let i = 0; i < n; i++) if ((await k.sys.pread(l, ourFd, buf, (i & 15) * IO)) !== IO) throw new Error('short pread');
        },
        preadSync: (n) => {
          for (let i = 0; i < n; i++) if (fs.readSync(hostFd, buf, 0, IO, (i & 15) * IO) !== IO) throw new Error('short read');
        },
        preadAsync: async (n) => {
          for (let i = 0; i < n; i++) if ((await hostFh.read(buf, 0, IO, (i & 15) * IO)).bytesRead !== IO) throw new Error('short read');
        },
      }, opts);

      const within2x = (ours: number, peer: number): { text: string; met: boolean } => ({ text: 'ratio >= 0.5', met: peer / ours >= 0.5 });
      const row = (metric: string, ours: number, peer: number | null, peerName: string | null, target?: { text: string; met: boolean }): Figure =>
        target === undefined
          ? { metric, unit: 'ns/op', kind: 'time', ours, peer, peerName }
          : { metric, unit: 'ns/op', kind: 'time', ours, peer, peerName, target };
      figures.push(
        { ...row('getpid', r.getpid, r.getuidHost, 'process.getuid()'), note: 'peer is a trivial host syscall (getuid(2)) through Node, not a file system call' },
        row('stat (cached path)', r.stat, r.statSync, 'fs.statSync', within2x(r.stat, r.statSync)),
        row('stat (cached path)', r.stat, r.statAsync, 'fs.promises.stat'),
        row('open+close', r.openClose, r.openCloseSync, 'fs.openSync+closeSync', within2x(r.openClose, r.openCloseSync)),
        row('open+close', r.openClose, r.openCloseAsync, 'fs.promises.open+close'),
        row('pread 4 KiB', r.pread, r.preadSync, 'fs.readSync'),
        row('pread 4 KiB', r.pread, r.preadAsync, 'FileHandle.read'),
      );
    } finally {
      fs.closeSync(hostFd);
      await hostFh.close();
      await k.sys.close(l, ourFd);
    }
    return figures;
  } finally {
    await k.halt();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
