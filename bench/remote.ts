/**
 * remote: syscalls to a rump kernel server in another process over a unix socket (rump_server +
 * rumpclient, the deployment users run), beside what they would otherwise do.
 *
 * The floor is a bare round trip between two Node processes over a unix socket: a 24-byte echo
 * (the size of a getpid request and its response header) to a child process that writes back
 * what it reads. The null syscall (getpid) is held to within 1.3x of that floor. stat and 4 KiB
 * pread round trips are printed beside Node's own `fs.promises` on the host's tmpfs (what a user
 * would otherwise call) and the same syscalls in-process. Pipelining: 64 getpid calls outstanding
 * on one connection versus one at a time (target 20x the calls per second). Sequential 1 MiB
 * reads (target 500 MB/s) beside a bare 1 MiB request/response between the same two kinds of
 * process (the floor for moving 1 MiB) and `FileHandle.read` of 1 MiB on the host.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Figure } from './lib/bench.js';
import { compare, compareOptions } from './lib/measure.js';
import { Kernel } from '../src/kern/kernel.js';
import { O_CREAT, O_RDONLY, O_RDWR } from '../src/kern/types.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { rumpclientInit, type RumpClient } from '../src/client/index.js';

export const name = 'remote';
export const description = 'syscalls to rump_server over a unix socket vs a bare echo, Node fs and in-process (ns/op)';

const FILE_SIZE = 64 * 1024;
const IO = 4096;
const BIG = 1 << 20;
const BIG_FILE = 16 * BIG;
const PIPELINE = 64;
const ECHO_SIZE = 24;

const serverBin = fileURLToPath(new URL('../src/bin/rump_server.js', import.meta.url));

/** Child process: an echo on argv[1]; on argv[2], 1 MiB back for every 24 bytes received. */
const ECHO_SERVER = `
const net = require('net');
let n = 0;
const ready = () => { if (++n === 2) process.stdout.write('ready\\n'); };
net.createServer((s) => { s.on('data', (d) => s.write(d)); }).listen(process.argv[1], ready);
net.createServer((s) => {
  let got = 0;
  s.on('data', (d) => { got += d.length; while (got >= ${24}) { got -= ${24}; s.write(new Uint8Array(${1 << 20})); } });
}).listen(process.argv[2], ready);
`;

function waitForLine(p: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = re.exec(out);
      if (m !== null) resolve(m);
    });
    p.once('exit', (code) => reject(new Error(`child exited with ${String(code)} before printing ${String(re)}`)));
  });
}

/**
 * A client of the echo child: one round trip per call, `reply` bytes expected back for each
 * 24-byte message; what arrives is copied into a buffer, as a client would.
 */
class Echo {
  private pending: (() => void) | null = null;
  private got = 0;
  private readonly msg = new Uint8Array(ECHO_SIZE).fill(7);
  private readonly dst: Uint8Array;

  private constructor(private readonly sock: net.Socket, private readonly reply: number) {
    this.dst = new Uint8Array(reply);
    sock.on('data', (d: Buffer) => {
      const at = this.got % this.reply;
      this.dst.set(d.subarray(0, Math.min(d.byteLength, this.reply - at)), at);
      this.got += d.byteLength;
      if (this.got >= this.reply && this.pending !== null) {
        this.got -= this.reply;
        const p = this.pending;
        this.pending = null;
        p();
      }
    });
  }

  static connect(p: string, reply: number): Promise<Echo> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path: p });
      s.once('error', reject);
      s.once('connect', () => resolve(new Echo(s, reply)));
    });
  }

  roundTrip(): Promise<void> {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.sock.write(this.msg);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

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

async function writeFile(c: RumpClient, p: string, data: Uint8Array): Promise<void> {
  const fd = await c.sys.open(p, O_CREAT | O_RDWR, 0o644);
  let off = 0;
  while (off < data.byteLength) off += await c.sys.pwrite(fd, data.subarray(off, off + BIG), off);
  await c.sys.close(fd);
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rumpkernel-remote-'));
  const scratch = hostScratch(ctx);
  const rumpSock = path.join(sockDir, 'rump');
  const echoSock = path.join(sockDir, 'echo');
  const bigSock = path.join(sockDir, 'big');
  const server = spawn(process.execPath, [serverBin, '-l', 'tmpfs', `unix://${rumpSock}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const echo = spawn(process.execPath, ['-e', ECHO_SERVER, echoSock, bigSock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
  const l = k.initLwp;
  let c: RumpClient | null = null;
  let e: Echo | null = null;
  let eb: Echo | null = null;
  try {
    const [m] = await Promise.all([waitForLine(server, /listening on (\S+)/), waitForLine(echo, /ready/)]);
    c = await rumpclientInit(m[1]!, { comm: 'bench' });
    e = await Echo.connect(echoSock, ECHO_SIZE);
    eb = await Echo.connect(bigSock, BIG);
    const content = new Uint8Array(FILE_SIZE);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + 7) & 0xff;
    const big = new Uint8Array(BIG_FILE);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;

    // remote: /tmp is a tmpfs in the server's kernel; in-process: the same layout here
    for (const [mk, mount, write] of [
      [(p: string) => c!.sys.mkdir(p, 0o755), () => c!.sys.mount('tmpfs', '/tmp', 0, {}), (p: string, d: Uint8Array) => writeFile(c!, p, d)],
      [(p: string) => k.sys.mkdir(l, p, 0o755), () => k.sys.mount(l, 'tmpfs', '/tmp', 0, {}), async (p: string, d: Uint8Array) => {
        const fd = await k.sys.open(l, p, O_CREAT | O_RDWR, 0o644);
        await k.sys.write(l, fd, d);
        await k.sys.close(l, fd);
      }],
    ] as const) {
      await mk('/tmp');
      await mount();
      await mk('/tmp/bench');
      await mk('/tmp/bench/dir');
      await write('/tmp/bench/dir/file', content);
      await write('/tmp/bench/big', big);
    }
    fs.mkdirSync(path.join(scratch, 'dir'));
    const hostPath = path.join(scratch, 'dir', 'file');
    fs.writeFileSync(hostPath, content);
    const hostBig = path.join(scratch, 'big');
    fs.writeFileSync(hostBig, big);

    const ourPath = '/tmp/bench/dir/file';
    const rfd = await c.sys.open(ourPath, O_RDONLY, 0);
    const rbig = await c.sys.open('/tmp/bench/big', O_RDONLY, 0);
    const lfd = await k.sys.open(l, ourPath, O_RDONLY, 0);
    const hostFh = await fsp.open(hostPath, 'r');
    const hostBigFh = await fsp.open(hostBig, 'r');
    const buf = new Uint8Array(IO);
    const bigBuf = new Uint8Array(BIG);
    const rc = c, re = e, reb = eb;
    let bigOff = 0, hostBigOff = 0;
    try {
      const r = await compare({
        echo: async (n) => { for (let i = 0; i < n; i++) await re.roundTrip(); },
        getpid: async (n) => { for (let i = 0; i < n; i++) await rc.sys.getpid(); },
        getpidLocal: async (n) => { for (let i = 0; i < n; i++) await k.sys.getpid(l); },
        getpid64: async (n) => {
          for (let i = 0; i < n; i += PIPELINE) {
            const ps: Promise<number>[] = [];
            for (let j = 0; j < PIPELINE; j++) ps.push(rc.sys.getpid());
            await Promise.all(ps);
          }
        },
        stat: async (n) => { for (let i = 0; i < n; i++) await rc.sys.stat(ourPath); },
        statLocal: async (n) => { for (let i = 0; i < n; i++) await k.sys.stat(l, ourPath); },
        statHost: async (n) => { for (let i = 0; i < n; i++) await fsp.stat(hostPath); },
        pread: async (n) => {
          for (let i = 0; i < n; i++) if ((await rc.sys.pread(rfd, buf, (i & 15) * IO)) !== IO) throw new Error('short pread');
        },
        preadLocal: async (n) => {
          for (let i = 0; i < n; i++) if ((await k.sys.pread(l, lfd, buf, (i & 15) * IO)) !== IO) throw new Error('short pread');
        },
        preadHost: async (n) => {
          for (let i = 0; i < n; i++) if ((await hostFh.read(buf, 0, IO, (i & 15) * IO)).bytesRead !== IO) throw new Error('short read');
        },
        read1m: async (n) => {
          for (let i = 0; i < n; i++) {
            if ((await rc.sys.pread(rbig, bigBuf, bigOff)) !== BIG) throw new Error('short 1 MiB pread');
            bigOff = (bigOff + BIG) % BIG_FILE;
          }
        },
        big1m: async (n) => { for (let i = 0; i < n; i++) await reb.roundTrip(); },
        read1mHost: async (n) => {
          for (let i = 0; i < n; i++) {
            if ((await hostBigFh.read(bigBuf, 0, BIG, hostBigOff)).bytesRead !== BIG) throw new Error('short 1 MiB read');
            hostBigOff = (hostBigOff + BIG) % BIG_FILE;
          }
        },
      }, compareOptions(ctx.quick));

      const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`;
      const mbps = (ns: number): number => BIG / (ns / 1e9) / 1e6;
      const speedup = r.getpid / r.getpid64;
      const figures: Figure[] = [
        {
          metric: 'null syscall (getpid) round trip', unit: 'ns/op', kind: 'time', ours: r.getpid, peer: r.echo,
          peerName: `bare ${ECHO_SIZE}-byte echo, unix socket`, target: { text: 'within 1.3x of the echo', met: r.getpid <= 1.3 * r.echo },
          note: `floor: a bare echo between two Node processes takes ${us(r.echo)}; getpid in-process takes ${us(r.getpidLocal)}`,
        },
        { metric: 'getpid', unit: 'ns/op', kind: 'time', ours: r.getpid, peer: r.getpidLocal, peerName: 'same kernel in-process' },
        { metric: 'stat', unit: 'ns/op', kind: 'time', ours: r.stat, peer: r.statHost, peerName: 'fs.promises.stat (host)' },
        { metric: 'stat', unit: 'ns/op', kind: 'time', ours: r.stat, peer: r.statLocal, peerName: 'same kernel in-process' },
        { metric: 'pread 4 KiB', unit: 'ns/op', kind: 'time', ours: r.pread, peer: r.preadHost, peerName: 'FileHandle.read (host)' },
        { metric: 'pread 4 KiB', unit: 'ns/op', kind: 'time', ours: r.pread, peer: r.preadLocal, peerName: 'same kernel in-process' },
        {
          metric: `getpid, ${PIPELINE} outstanding`, unit: 'calls/s', kind: 'throughput', ours: 1e9 / r.getpid64, peer: 1e9 / r.getpid,
          peerName: 'one call at a time', target: { text: '>= 20x', met: speedup >= 20 },
        },
        {
          metric: 'sequential 1 MiB preads', unit: 'MB/s', kind: 'throughput', ours: mbps(r.read1m), peer: mbps(r.big1m),
          peerName: 'bare 1 MiB request/response, unix socket', target: { text: '>= 500 MB/s', met: mbps(r.read1m) >= 500 },
          note: `floor: moving 1 MiB between two Node processes over a unix socket runs at ${mbps(r.big1m).toFixed(0)} MB/s here`,
        },
        { metric: 'sequential 1 MiB preads', unit: 'MB/s', kind: 'throughput', ours: mbps(r.read1m), peer: mbps(r.read1mHost), peerName: 'FileHandle.read 1 MiB (host)' },
      ];
      return figures;
    } finally {
      await hostFh.close();
      await hostBigFh.close();
    }
  } finally {
    e?.close();
    eb?.close();
    if (c !== null) {
      await c.sys.reboot(0, '').catch(() => undefined);
      await c.close().catch(() => undefined);
    }
    echo.kill();
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) resolve();
      else server.once('exit', () => resolve());
      setTimeout(() => { server.kill('SIGKILL'); resolve(); }, 5000).unref();
    });
    await k.halt();
    fs.rmSync(sockDir, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
