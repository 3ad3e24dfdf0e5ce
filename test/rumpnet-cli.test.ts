/**
 * The network rump.* tools (ifconfig, route, ping, netstat, sockstat, arp) as a user runs them:
 * a rump_server with netinet on a unix socket, each tool a separate process found through
 * RUMP_SERVER, output and exit statuses checked.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rumpclientInit } from '../src/client/index.js';
import type { RumpClient } from '../src/client/index.js';
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from '../src/kern/types.js';

const bin = (name: string): string => fileURLToPath(new URL(`../src/bin/${name}.js`, import.meta.url));

function startServer(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [bin('rump_server'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) resolve({ proc, url: m[1]! });
    });
    proc.on('exit', (code) => reject(new Error(`rump_server exited with ${String(code)} before listening: ${err}`)));
  });
}

describe('the network rump.* tools against a rump_server with netinet', () => {
  let dir = '';
  let srv: { proc: ChildProcess; url: string };
  const run = (name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [bin(name), ...args], { env: { ...process.env, RUMP_SERVER: srv.url }, timeout: 30_000 }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rumpnet-'));
    srv = await startServer(['-s', '-l', 'netinet', `unix://${join(dir, 'sock')}`]);
  });
  after(async () => {
    const exited = new Promise((resolve) => srv.proc.once('exit', resolve));
    if (srv.proc.exitCode === null) srv.proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('rump.ifconfig -a lists lo0 with its flags, MTU and 127.0.0.1/8', async () => {
    const r = await run('rump.ifconfig', ['-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu \d+$/m);
    assert.match(r.stdout, /^\tinet 127\.0\.0\.1\/8 /m);
  });

  it('rump.ifconfig adds and removes an alias, creates and destroys lo1, and names a missing interface', async () => {
    assert.equal((await run('rump.ifconfig', ['lo0', 'inet', '127.0.0.2/8', 'alias'])).code, 0);
    let r = await run('rump.ifconfig', ['lo0']);
    assert.match(r.stdout, /^\tinet 127\.0\.0\.1\/8 /m);
    assert.match(r.stdout, /^\tinet 127\.0\.0\.2\/8 /m);
    assert.equal((await run('rump.ifconfig', ['lo0', 'inet', '127.0.0.2', '-alias'])).code, 0);
    assert.doesNotMatch((await run('rump.ifconfig', ['lo0'])).stdout, /127\.0\.0\.2/);

    assert.equal((await run('rump.ifconfig', ['lo1', 'create'])).code, 0);
    r = await run('rump.ifconfig', ['lo1', '10.5.0.1', 'netmask', '255.255.255.0', 'mtu', '1500']);
    assert.equal(r.code, 0, r.stderr);
    r = await run('rump.ifconfig', ['lo1']);
    assert.match(r.stdout, /^lo1: flags=\w+<UP,[^>]*> mtu 1500$/m);
    assert.match(r.stdout, /^\tinet 10\.5\.0\.1\/24 /m);
    assert.equal((await run('rump.ifconfig', ['lo1', 'down'])).code, 0);
    assert.match((await run('rump.ifconfig', ['lo1'])).stdout, /^lo1: flags=[0-9a-f]+<LOOPBACK,/m);
    assert.equal((await run('rump.ifconfig', ['lo1', 'destroy'])).code, 0);
    assert.doesNotMatch((await run('rump.ifconfig', ['-l'])).stdout, /lo1/);

    r = await run('rump.ifconfig', ['lo9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^rump\.ifconfig: lo9: Device not configured$/m);
  });

  it('rump.ping -c 2 127.0.0.1 gets two replies and prints the statistics; rump.netstat -s counts the echoes', async () => {
    const r = await run('rump.ping', ['-c', '2', '-i', '0.1', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^PING 127\.0\.0\.1 \(127\.0\.0\.1\): 56 data bytes$/m);
    assert.match(r.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=0 ttl=\d+ time=[\d.]+ ms$/m);
    assert.match(r.stdout, /^64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=\d+ time=[\d.]+ ms$/m);
    assert.match(r.stdout, /^----127\.0\.0\.1 PING Statistics----\n2 packets transmitted, 2 packets received, 0\.0% packet loss$/m);
    assert.match(r.stdout, /^round-trip min\/avg\/max\/stddev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/m);

    const s = await run('rump.netstat', ['-s', '-p', 'icmp']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /Input histogram:\n(\t\t.*\n)*\t\techo: 2\n/);
    assert.match(s.stdout, /Output histogram:\n(\t\t.*\n)*\t\techo reply: 2\n/);
    assert.match(s.stdout, /^\t2 message responses generated$/m);
  });

  it('rump.ping to an address nobody answers exits 2 with 100% loss', async () => {
    const r = await run('rump.ping', ['-c', '1', '-W', '0.3', '10.99.0.1']);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /1 packets transmitted, 0 packets received, 100\.0% packet loss/);
  });

  it('rump.route adds, shows, gets and deletes a network route', async () => {
    let r = await run('rump.route', ['add', '-net', '10.1.0.0/16', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'add net 10.1.0.0/16: gateway 127.0.0.1\n');
    r = await run('rump.route', ['show']);
    assert.match(r.stdout, /^10\.1\.0\.0\/16 +127\.0\.0\.1 +UGS +.* lo0$/m);
    assert.match(r.stdout, /^127\.0\.0\.1 +lo0 +UHl /m);
    r = await run('rump.route', ['get', '10.1.2.3']);
    assert.match(r.stdout, /^destination: 10\.1\.0\.0$/m);
    assert.match(r.stdout, /^ +mask: 255\.255\.0\.0$/m);
    assert.match(r.stdout, /^ +gateway: 127\.0\.0\.1$/m);
    assert.equal((await run('rump.netstat', ['-rn'])).stdout, (await run('rump.route', ['show'])).stdout);
    r = await run('rump.route', ['delete', '-net', '10.1.0.0/16']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch((await run('rump.route', ['show'])).stdout, /10\.1\.0\.0/);
    r = await run('rump.route', ['delete', '-net', '10.1.0.0/16']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not in table/);
    assert.equal((await run('rump.route', ['-q', 'add', '-host', '10.2.3.4', '127.0.0.1'])).code, 0);
    r = await run('rump.route', ['flush']);
    assert.match(r.stdout, /^10\.2\.3\.4 +127\.0\.0\.1 +done$/m);
    r = await run('rump.route', ['show']);
    assert.doesNotMatch(r.stdout, /10\.2\.3\.4/);
    assert.match(r.stdout, /^127\.0\.0\.0\/8 /m, 'connected routes stay');
  });

  it('rump.sockstat and rump.netstat -an show the sockets a client holds', async () => {
    const c: RumpClient = await rumpclientInit(srv.url, { comm: 'holder' });
    try {
      const u = await c.sys.socket(AF_INET, SOCK_DGRAM, 0);
      await c.sys.bind(u, { family: AF_INET, addr: '127.0.0.1', port: 5353 });
      const t = await c.sys.socket(AF_INET, SOCK_STREAM, 0);
      await c.sys.bind(t, { family: AF_INET, addr: '0.0.0.0', port: 8080 });
      await c.sys.listen(t, 5);
      const s = await run('rump.sockstat', []);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, new RegExp(`^root +holder +${c.pid} +${u} udp4 +127\\.0\\.0\\.1\\.5353 +\\*\\.\\*$`, 'm'));
      assert.match(s.stdout, new RegExp(`^root +holder +${c.pid} +${t} tcp4 +\\*\\.8080 +\\*\\.\\*$`, 'm'));
      const l = await run('rump.sockstat', ['-c']);
      assert.doesNotMatch(l.stdout, /holder/);
      const n = await run('rump.netstat', ['-an']);
      assert.equal(n.code, 0, n.stderr);
      assert.match(n.stdout, /^tcp +0 +0 +\*\.8080 +\*\.\* +LISTEN$/m);
      assert.match(n.stdout, /^udp +0 +0 +127\.0\.0\.1\.5353 +\*\.\*$/m);
      const i = await run('rump.netstat', ['-i']);
      assert.match(i.stdout, /^lo0 +\d+ 127\/8 +127\.0\.0\.1 +[1-9]\d* +0 +[1-9]\d* +0 +0$/m);
    } finally {
      await c.close();
    }
  });

  it('rump.arp -a runs, -s adds a permanent entry that -d removes', async () => {
    let r = await run('rump.arp', ['-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await run('rump.ifconfig', ['lo0', 'inet', '10.6.0.1/24', 'alias'])).code, 0);
    r = await run('rump.arp', ['-s', '10.6.0.9', '02:00:00:00:00:09']);
    assert.equal(r.code, 0, r.stderr);
    assert.match((await run('rump.arp', ['-a'])).stdout, /^\? \(10\.6\.0\.9\) at 02:00:00:00:00:09 on lo0 permanent$/m);
    assert.equal((await run('rump.arp', ['-d', '10.6.0.9'])).code, 0);
    assert.doesNotMatch((await run('rump.arp', ['-a'])).stdout, /10\.6\.0\.9/);
    r = await run('rump.arp', ['-d', '10.6.0.9']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /10\.6\.0\.9: no entry/);
  });
});
