/**
 * hijack: synchronous fs calls of a hijacked Node program (fs.statSync, fs.readFileSync of a
 * 100-byte file under /rump) against rump_server over a unix socket, beside the floors.
 *
 * The floor is a bare SharedArrayBuffer+Atomics round trip to a worker thread (both
 * sides blocked in Atomics.wait), with the target "within 1.5x". A synchronous hijacked call
 * also needs one round trip to the server process, so the second floor printed is a bare
 * synchronous 24-byte echo over a unix socket to a Node process (the main thread blocked in
 * read(2)): no design that keeps the kernel in another process can beat that. Both transports
 * of the hijack are measured ('direct', the default: the main thread blocks on the socket;
 * 'worker': a worker thread owns the socket and the main thread waits in Atomics.wait), and
 * Node's own statSync/readFileSync on the host for what a user would otherwise get.
 *
 * The timing runs in a child process started with `node --import .../hijack/index.js` (the way
 * a user runs a program under the hijack); it prints its medians as JSON.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, Figure } from './lib/bench.js';
import { rumpclientInit } from '../src/client/index.js';
import { O_CREAT, O_WRONLY } from '../src/kern/types.js';

export const name = 'hijack';
export const description = 'hijacked fs.statSync/readFileSync beside a bare Atomics round trip to a worker and a bare synchronous socket echo (ns/op)';

const serverBin = fileURLToPath(new URL('../src/bin/rump_server.js', import.meta.url));
const hijackModule = fileURLToPath(new URL('../src/hijack/index.js', import.meta.url));
const measureModule = new URL('./lib/measure.js', import.meta.url).href;
const SMALL = 100;

const ECHO_SERVER = `
require('net').createServer((s) => { s.on('data', (d) => s.write(d)); }).listen(process.argv[1], () => process.stdout.write('ready\\n'));
`;

/** The measuring program (ESM, run under the hijack). argv: echo socket, host file, quick. */
const MEASURE = `
import fs from 'node:fs';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { compare, compareOptions } from ${JSON.stringify(measureModule)};
const [echoPath, hostFile, quick] = process.argv.slice(1);
// the Atomics floor: a worker blocked in Atomics.wait, woken, waking us back
const sab = new SharedArrayBuffer(8);
const cell = new Int32Array(sab);
const w = new Worker('const { workerData } = require("worker_threads"); const c = new Int32Array(workerData);' +
  'for (;;) { Atomics.wait(c, 0, 0); Atomics.store(c, 0, 0); Atomics.store(c, 1, 1); Atomics.notify(c, 1); }', { eval: true, workerData: sab, execArgv: [] });
await new Promise((r) => w.once('online', r));
w.unref();
const atomicsRoundTrip = () => { Atomics.store(cell, 1, 0); Atomics.store(cell, 0, 1); Atomics.notify(cell, 0); Atomics.wait(cell, 1, 0); };
// the socket floor: a synchronous 24-byte echo, this thread blocked in read(2)
const sock = net.connect(echoPath);
await new Promise((r) => sock.once('connect', r));
sock.pause();
const fd = sock._handle.fd;
const msg = Buffer.alloc(24, 7), rbuf = Buffer.alloc(4096);
const echo = () => {
  sock._handle.setBlocking(true);
  fs.writeSync(fd, msg);
  let got = 0;
  while (got < 24) got += fs.readSync(fd, rbuf, got, 4096 - got, null);
  sock._handle.setBlocking(false);
};
// warm up both ends (this process's and the server's JIT) before timing
const warm = quick === '1' ? 200 : 4000;
for (let i = 0; i < warm; i++) { fs.statSync('/rump/tmp/small'); fs.readFileSync('/rump/tmp/small'); echo(); atomicsRoundTrip(); }
const r = await compare({
  atomics: (n) => { for (let i = 0; i < n; i++) atomicsRoundTrip(); },
  echo: (n) => { for (let i = 0; i < n; i++) echo(); },
  stat: (n) => { for (let i = 0; i < n; i++) fs.statSync('/rump/tmp/small'); },
  readFile: (n) => { for (let i = 0; i < n; i++) if (fs.readFileSync('/rump/tmp/small').length !== ${SMALL}) throw new Error('short'); },
  statHost: (n) => { for (let i = 0; i < n; i++) fs.statSync(hostFile); },
  readFileHost: (n) => { for (let i = 0; i < n; i++) fs.readFileSync(hostFile); },
}, compareOptions(quick === '1'));
sock.destroy();
console.log(JSON.stringify(r));
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

type Medians = Record<'atomics' | 'echo' | 'stat' | 'readFile' | 'statHost' | 'readFileHost', number>;

function measure(url: string, transport: string, echoPath: string, hostFile: string, quick: boolean): Promise<Medians> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', hijackModule, '--input-type=module', '-e', MEASURE, echoPath, hostFile, quick ? '1' : '0'], {
      env: { ...process.env, RUMP_SERVER: url, RUMPHIJACK: 'path=/rump', RUMPHIJACK_TRANSPORT: transport },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '', err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`the measuring program (${transport}) exited with ${String(code)}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as Medians);
    });
  });
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rumpkernel-hijack-'));
  const rumpSock = path.join(dir, 'rump');
  const echoSock = path.join(dir, 'echo');
  let hostDir = dir;
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK);
    hostDir = fs.mkdtempSync('/dev/shm/rumpkernel-hijack-');
  } catch {
    ctx.note(`no writable /dev/shm: the host peer's file is in ${dir}, which may not be a tmpfs`);
  }
  const hostFile = path.join(hostDir, 'small');
  fs.writeFileSync(hostFile, new Uint8Array(SMALL).fill(1));
  const server = spawn(process.execPath, [serverBin, '-l', 'tmpfs', `unix://${rumpSock}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const echo = spawn(process.execPath, ['-e', ECHO_SERVER, echoSock], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [m] = await Promise.all([waitForLine(server, /listening on (\S+)/), waitForLine(echo, /ready/)]);
    const url = m[1]!;
    const c = await rumpclientInit(url, { comm: 'bench' });
    await c.sys.mkdir('/tmp', 0o755);
    await c.sys.mount('tmpfs', '/tmp', 0, {});
    const fd = await c.sys.open('/tmp/small', O_CREAT | O_WRONLY, 0o644);
    await c.sys.write(fd, new Uint8Array(SMALL).fill(1));
    await c.sys.close(fd);
    const direct = await measure(url, 'direct', echoSock, hostFile, ctx.quick);
    const worker = await measure(url, 'worker', echoSock, hostFile, ctx.quick);
    await c.sys.reboot(0, '').catch(() => undefined);
    await c.close().catch(() => undefined);

    const us = (ns: number): string => `${(ns / 1000).toFixed(1)} µs`;
    const floorNote = `floors here: Atomics round trip to a worker ${us(direct.atomics)}, synchronous 24-byte socket echo to a Node process ${us(direct.echo)}`;
    const within = (x: number, floor: number): { text: string; met: boolean } => ({ text: 'within 1.5x of the floor', met: x <= 1.5 * floor });
    return [
      {
        metric: 'hijacked fs.statSync (direct)', unit: 'ns/op', kind: 'time', ours: direct.stat, peer: direct.atomics,
        peerName: 'bare SAB+Atomics round trip to a worker', target: within(direct.stat, direct.atomics), note: floorNote,
      },
      {
        metric: 'hijacked fs.readFileSync 100 B (direct)', unit: 'ns/op', kind: 'time', ours: direct.readFile, peer: direct.atomics,
        peerName: 'bare SAB+Atomics round trip to a worker', target: within(direct.readFile, direct.atomics),
        note: 'readFileSync is two round trips (open; fstat and read pipelined), the close is not waited for',
      },
      {
        metric: 'hijacked fs.statSync (direct)', unit: 'ns/op', kind: 'time', ours: direct.stat, peer: direct.echo,
        peerName: 'bare synchronous 24-byte echo, unix socket', target: within(direct.stat, direct.echo),
      },
      {
        metric: 'hijacked fs.readFileSync 100 B (direct)', unit: 'ns/op', kind: 'time', ours: direct.readFile, peer: 2 * direct.echo,
        peerName: 'two bare synchronous echoes', target: within(direct.readFile, 2 * direct.echo),
      },
      {
        metric: 'hijacked fs.statSync (worker)', unit: 'ns/op', kind: 'time', ours: worker.stat, peer: worker.atomics,
        peerName: 'bare SAB+Atomics round trip to a worker', target: within(worker.stat, worker.atomics),
      },
      {
        metric: 'hijacked fs.readFileSync 100 B (worker)', unit: 'ns/op', kind: 'time', ours: worker.readFile, peer: worker.atomics,
        peerName: 'bare SAB+Atomics round trip to a worker', target: within(worker.readFile, worker.atomics),
      },
      { metric: 'hijacked fs.statSync (direct)', unit: 'ns/op', kind: 'time', ours: direct.stat, peer: direct.statHost, peerName: 'fs.statSync (host tmpfs)' },
      { metric: 'hijacked fs.readFileSync 100 B (direct)', unit: 'ns/op', kind: 'time', ours: direct.readFile, peer: direct.readFileHost, peerName: 'fs.readFileSync (host tmpfs)' },
    ];
  } finally {
    echo.kill();
    await new Promise<void>((resolve) => {
      if (server.exitCode !== null) resolve();
      else server.once('exit', () => resolve());
      setTimeout(() => { server.kill('SIGKILL'); resolve(); }, 5000).unref();
    });
    fs.rmSync(dir, { recursive: true, force: true });
    if (hostDir !== dir) fs.rmSync(hostDir, { recursive: true, force: true });
  }
}
