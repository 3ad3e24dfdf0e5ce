/**
 * rump_server and the rump.* tools as a user runs them: separate processes talking over a unix
 * socket (or TCP), found through RUMP_SERVER, exit statuses and output checked.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rumpclientInit } from '../src/client/index.js';
import { MNT_RDONLY } from '../src/kern/types.js';

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['-V'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== 'ENOENT';
  }
}

const bin = (name: string): string => fileURLToPath(new URL(`../src/bin/${name}.js`, import.meta.url));

interface Server {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startServer(args: string[]): Promise<Server> {
  const proc = spawn(process.execPath, [bin('rump_server'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) resolve({ proc, url: m[1]!, stderr: () => err, exited });
    });
    void exited.then((code) => reject(new Error(`rump_server exited with ${String(code)} before listening: ${err}`)));
  });
}

function run(name: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin(name), ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'rumpcli-'));
}

describe('rump_server and the rump.* tools', () => {
  it('serves a kernel that rump.mkdir, rump.ls and rump.cat use, and rump.halt stops it cleanly', async () => {
    const dir = scratch();
    try {
      const sock = join(dir, 'sock');
      const img = join(dir, 'host.txt');
      writeFileSync(img, 'hello from the host\n');
      const srv = await startServer(['-s', '-l', 'rumpfs_tmpfs', '-d', `key=/etc/motd,hostpath=${img},size=host,type=reg`, `unix://${sock}`]);
      assert.equal(srv.url, `unix://${sock}`);
      const env = { RUMP_SERVER: srv.url };
      assert.equal((await run('rump.mkdir', ['-p', '/a/b/c'], env)).code, 0);
      assert.equal((await run('rump.mkdir', ['-m', '700', '/a/priv'], env)).code, 0);
      const mk = await run('rump.mkdir', ['/a'], env);
      assert.equal(mk.code, 1);
      assert.match(mk.stderr, /^rump\.mkdir: \/a: File already exists$/m);
      const ls = await run('rump.ls', ['-l', '/a'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^total \d+$/m);
      assert.match(ls.stdout, /^drwxr-xr-x +\d+ 0 +0 +\d+ \w{3} [ \d]\d \d\d:\d\d b$/m);
      assert.match(ls.stdout, /^drwx------ .* priv$/m);
      const ls1 = await run('rump.ls', ['-F', '/a', '/a/b'], env);
      assert.equal(ls1.stdout, '/a:\nb/\npriv/\n\n/a/b:\nc/\n');
      const cat = await run('rump.cat', ['/etc/motd', '/etc/nope'], env);
      assert.equal(cat.code, 1);
      assert.equal(cat.stdout, 'hello from the host\n');
      assert.match(cat.stderr, /^rump\.cat: \/etc\/nope: No such file or directory$/m);
      const halt = await run('rump.halt', [], env);
      assert.equal(halt.code, 0, halt.stderr);
      assert.equal(await srv.exited, 0, srv.stderr());
      assert.equal(existsSync(sock), false, 'the socket file is removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves an ext2 image made by mke2fs (-d etfs), which a client mounts and rump.ls and rump.cat read', { skip: !hasTool('mke2fs') && 'mke2fs is not installed' }, async () => {
    const dir = scratch();
    try {
      const src = join(dir, 'src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'hello.txt'), 'made by the host\n');
      const img = join(dir, 'e2.img');
      writeFileSync(img, new Uint8Array(8 << 20));
      execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', src, img], { stdio: 'ignore' });
      const srv = await startServer(['-l', 'rumpfs_ext2fs', '-d', `key=/dev/harddisk,hostpath=${img},size=host`, `unix://${join(dir, 'sock')}`]);
      const c = await rumpclientInit(srv.url);
      await c.sys.mkdir('/mnt', 0o755);
      await c.sys.mount('ext2fs', '/mnt', MNT_RDONLY, { fspec: '/dev/harddisk' });
      await c.close();
      const env = { RUMP_SERVER: srv.url };
      const ls = await run('rump.ls', ['-F', '/mnt'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.equal(ls.stdout, 'hello.txt\nlost+found/\nsub/\n');
      const cat = await run('rump.cat', ['/mnt/hello.txt'], env);
      assert.equal(cat.stdout, 'made by the host\n');
      assert.equal((await run('rump.halt', [], env)).code, 0);
      assert.equal(await srv.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('halts cleanly on SIGTERM', async () => {
    const dir = scratch();
    try {
      const sock = join(dir, 'sock');
      const srv = await startServer(['-v', `unix://${sock}`]);
      srv.proc.kill('SIGTERM');
      assert.equal(await srv.exited, 0);
      assert.match(srv.stderr(), /SIGTERM: halting/);
      assert.match(srv.stderr(), /rump kernel halted/);
      assert.equal(existsSync(sock), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on an ephemeral TCP port on loopback and says which', async () => {
    const srv = await startServer(['tcp://127.0.0.1:0']);
    assert.match(srv.url, /^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
    const ls = await run('rump.ls', ['-a', '/'], { RUMP_SERVER: srv.url });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^dev$/m);
    assert.equal((await run('rump.halt', [], { RUMP_SERVER: srv.url })).code, 0);
    assert.equal(await srv.exited, 0);
  });

  it('pins clients with -u/-g, so rump.halt from a pinned client is refused', async () => {
    const dir = scratch();
    try {
      const srv = await startServer(['-u', '1000', '-g', '1000', `unix://${join(dir, 'sock')}`]);
      const halt = await run('rump.halt', [], { RUMP_SERVER: srv.url });
      assert.equal(halt.code, 1);
      assert.match(halt.stderr, /^rump\.halt: reboot: Operation not permitted$/m);
      srv.proc.kill('SIGTERM');
      assert.equal(await srv.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stays after rump.halt -h (RB_HALT) until signalled, as NetBSD\'s server does', async () => {
    const dir = scratch();
    try {
      const srv = await startServer([`unix://${join(dir, 'sock')}`]);
      assert.equal((await run('rump.halt', ['-h'], { RUMP_SERVER: srv.url })).code, 0);
      const first = await Promise.race([srv.exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
      assert.equal(first, 'waiting');
      assert.match(srv.stderr(), /halted \(with RB_HALT, not exiting\)/);
      srv.proc.kill('SIGTERM');
      assert.equal(await srv.exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad command lines with status 2 and names the problem', async () => {
    const unknown = await run('rump_server', ['-l', 'nosuchfs', 'unix:///tmp/x'], {});
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown component 'nosuchfs' \(known: vfs, tmpfs/);
    const nourl = await run('rump_server', ['-s'], {});
    assert.equal(nourl.code, 2);
    assert.match(nourl.stderr, /no URL given/);
    const badd = await run('rump_server', ['-d', 'key=/dev/x,size=host', 'unix:///tmp/x'], {});
    assert.equal(badd.code, 2);
    assert.match(badd.stderr, /-d: missing hostpath=FILE/);
    const remote = await run('rump_server', ['tcp://0.0.0.0:0'], {});
    assert.equal(remote.code, 1);
    assert.match(remote.stderr, /not a loopback address/);
    const help = await run('rump_server', ['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: rump_server/);
  });

  it('tells the user to set RUMP_SERVER when it is missing, and names an unreachable server', async () => {
    const none = await run('rump.ls', ['/'], { RUMP_SERVER: undefined });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^rump\.ls: no server: RUMP_SERVER is not set/m);
    const gone = await run('rump.cat', ['/x'], { RUMP_SERVER: 'unix:///nonexistent/sock' });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot connect to the rump kernel server at unix:\/\/\/nonexistent\/sock/);
  });
});
