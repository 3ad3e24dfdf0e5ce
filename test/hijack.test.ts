/**
 * The Node hijack (rumpkernel/hijack): RUMPHIJACK parsing, and unmodified Node programs run with
 * `node --import .../hijack/index.js` against a rump_server in a child process. What the
 * programs do under /rump is checked through a rumpclient of our own; what they do elsewhere
 * is checked on the host.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rumpclientInit, type RumpClient } from '../src/client/index.js';
import { DEFAULT_FDOFF, HijackConfigError, parseRumpHijack, routePath } from '../src/hijack/config.js';
import { O_RDONLY, S_IFLNK, S_IFMT } from '../src/kern/types.js';
import { runNode, startServer, type RunResult, type ServerProc } from './proc-helpers.js';

const HIJACK = fileURLToPath(new URL('../src/hijack/index.js', import.meta.url));
/** The repository root (where node_modules is, for programs that import packages). */
const REPO = fileURLToPath(new URL('../../', import.meta.url));

describe('RUMPHIJACK parsing', () => {
  it('defaults to NetBSD\'s path=/rump,socket=all:nolocal when unset', () => {
    const c = parseRumpHijack(undefined);
    assert.equal(c.path, '/rump');
    assert.deepEqual(c.blanket, []);
    assert.deepEqual([...c.socketFamilies].sort((a, b) => a - b), [2, 18, 24, 34]);
    assert.equal(c.sysctl, false);
    assert.equal(c.fdoff, DEFAULT_FDOFF);
  });

  it('hijacks nothing when set but empty', () => {
    const c = parseRumpHijack('');
    assert.deepEqual([c.path, c.blanket, c.socketFamilies.size, c.sysctl], [null, [], 0, false]);
  });

  it('reads blanket lists, socket lists left to right, sysctl and fdoff', () => {
    const c = parseRumpHijack('blanket=/data:/srv/,socket=none:inet:inet6:noinet6,sysctl=yes,fdoff=2097152');
    assert.equal(c.path, null);
    assert.deepEqual(c.blanket, ['/data', '/srv']);
    assert.deepEqual([...c.socketFamilies], [2]);
    assert.equal(c.sysctl, true);
    assert.equal(c.fdoff, 2097152);
  });

  it('refuses unknown options, families and bad values, naming them', () => {
    assert.throws(() => parseRumpHijack('paht=/x'), (e: unknown) => e instanceof HijackConfigError && /unknown option 'paht'/.test(e.message));
    assert.throws(() => parseRumpHijack('socket=inet4'), /unknown protocol family 'inet4'/);
    assert.throws(() => parseRumpHijack('path=rump'), /not an absolute path/);
    assert.throws(() => parseRumpHijack('sysctl=maybe'), /sysctl takes yes or no/);
    assert.throws(() => parseRumpHijack('fdoff=5'), /fdoff 5 must be/);
    assert.throws(() => parseRumpHijack('path'), /not name=value/);
  });

  it('strips the path= prefix only at a component boundary and routes blanket prefixes unchanged', () => {
    const c = parseRumpHijack('path=/rump,blanket=/dev/rdisk:/srv');
    assert.equal(routePath(c, '/rump'), '/');
    assert.equal(routePath(c, '/rump/'), '/');
    assert.equal(routePath(c, '/rump/etc/motd'), '/etc/motd');
    assert.equal(routePath(c, '/rumpy/x'), null);
    assert.equal(routePath(c, '/srv/www'), '/srv/www');
    assert.equal(routePath(c, '/srvx'), null);
    assert.equal(routePath(c, '/dev/rdisk'), '/dev/rdisk');
    assert.equal(routePath(c, 'relative/rump'), null);
    assert.equal(routePath(c, '/tmp/x'), null);
  });
});

/** The program every mode runs: the fs APIs on /rump, results printed as JSON lines. */
const FS_PROGRAM = `
import fs, { readFileSync, writeFileSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
const out = (k, v) => console.log(JSON.stringify([k, v]));
const errOf = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message, isError: e instanceof Error });
const hostDir = process.argv[2];

// synchronous, with named ESM imports
writeFileSync('/rump/tmp/sync.txt', 'written synchronously\\n');
fs.appendFileSync('/rump/tmp/sync.txt', 'and appended\\n');
out('sync', readFileSync('/rump/tmp/sync.txt', 'utf8'));
out('statSync', { size: statSync('/rump/tmp/sync.txt').size, isFile: statSync('/rump/tmp/sync.txt').isFile(), instance: statSync('/rump/tmp/sync.txt') instanceof fs.Stats });
fs.mkdirSync('/rump/tmp/tree/a/b', { recursive: true });
fs.symlinkSync('../sync.txt', '/rump/tmp/tree/link');
out('readdirTypes', fs.readdirSync('/rump/tmp/tree', { withFileTypes: true }).map((d) => [d.name, d.isDirectory(), d.isSymbolicLink(), d instanceof fs.Dirent]));
out('lstat', fs.lstatSync('/rump/tmp/tree/link').isSymbolicLink());
out('realpath', fs.realpathSync('/rump/tmp/tree/a/../link'));
const fd = fs.openSync('/rump/tmp/fd.bin', 'w+');
out('fdRange', fd >= 0x40000000);
fs.writeSync(fd, Buffer.from('0123456789'));
fs.writeSync(fd, 'AB', 3);
const buf = Buffer.alloc(4);
out('readSync', [fs.readSync(fd, buf, 0, 4, 2), buf.toString()]);
out('fstat', fs.fstatSync(fd).size);
fs.ftruncateSync(fd, 6);
fs.closeSync(fd);
out('afterTruncate', fs.readFileSync('/rump/tmp/fd.bin', 'latin1'));
fs.chmodSync('/rump/tmp/fd.bin', 0o640);
out('mode', (fs.statSync('/rump/tmp/fd.bin').mode & 0o777).toString(8));
fs.renameSync('/rump/tmp/fd.bin', '/rump/tmp/renamed.bin');
out('exists', [fs.existsSync('/rump/tmp/fd.bin'), fs.existsSync('/rump/tmp/renamed.bin')]);

// callbacks
await new Promise((resolve, reject) => fs.writeFile('/rump/tmp/cb.txt', 'callback data', (err) => {
  if (err) return reject(err);
  fs.readFile('/rump/tmp/cb.txt', 'utf8', (err2, data) => {
    if (err2) return reject(err2);
    out('callback', data);
    fs.stat('/rump/tmp/nope', (err3) => { out('cbError', errOf(err3)); resolve(); });
  });
}));

// promises and FileHandle
await fsp.writeFile('/rump/tmp/p.txt', 'promised');
const fh = await fsp.open('/rump/tmp/p.txt', 'r+');
out('fhFd', fh.fd >= 0x40000000);
const r = await fh.read(Buffer.alloc(3), 0, 3, 2);
out('fhRead', [r.bytesRead, r.buffer.toString()]);
await fh.write('P', 0);
out('fhStat', (await fh.stat()).size);
await fh.close();
out('promises', await fsp.readFile('/rump/tmp/p.txt', 'utf8'));
out('readdir', (await fsp.readdir('/rump/tmp')).sort());
const dir = await fsp.opendir('/rump/tmp/tree');
const names = [];
for await (const d of dir) names.push(d.name);
out('opendir', names.sort());
try { await fsp.readFile('/rump/tmp/tree'); } catch (e) { out('eisdir', errOf(e)); }
try { await fsp.mkdir('/rump/tmp/tree'); } catch (e) { out('eexist', errOf(e)); }
try { fs.rmSync('/rump/tmp/tree'); } catch (e) { out('rmDir', e.code); }
await fsp.cp('/rump/tmp/tree', '/rump/tmp/tree2', { recursive: true });
out('cp', (await fsp.readdir('/rump/tmp/tree2', { recursive: true })).sort());

// streams, through Node's own ReadStream/WriteStream on the patched primitives
await pipeline(async function* () { for (let i = 0; i < 100; i++) yield Buffer.alloc(1000, 65 + (i % 26)); }, fs.createWriteStream('/rump/tmp/stream.bin'));
let streamed = 0;
for await (const chunk of fs.createReadStream('/rump/tmp/stream.bin', { highWaterMark: 4096 })) streamed += chunk.length;
out('streams', [streamed, fs.statSync('/rump/tmp/stream.bin').size]);
// host <-> kernel copies
fs.writeFileSync(hostDir + '/host.txt', 'from the host');
fs.copyFileSync(hostDir + '/host.txt', '/rump/tmp/in.txt');
await fsp.copyFile('/rump/tmp/cb.txt', hostDir + '/out.txt');
try { fs.renameSync(hostDir + '/host.txt', '/rump/tmp/x'); } catch (e) { out('exdev', errOf(e)); }
try { fs.watch('/rump/tmp/sync.txt'); } catch (e) { out('watch', errOf(e)); }
fs.rmSync('/rump/tmp/tree2', { recursive: true, force: true });
fs.rmSync('/rump/tmp/nothing', { force: true });
process.chdir('/rump/tmp/tree');
out('cwd', [process.cwd(), fs.readFileSync('link', 'utf8').length]);
process.chdir(hostDir);
out('hostCwd', process.cwd() === hostDir);
out('done', true);
`;

interface Lines { [key: string]: unknown }

function parseLines(r: RunResult): Lines {
  const got: Lines = {};
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [k, v] = JSON.parse(line) as [string, unknown];
    got[k] = v;
  }
  return got;
}

describe('the hijack running unmodified Node programs', () => {
  let srv: ServerProc;
  let c: RumpClient;
  let dir: string;
  let env: Record<string, string>;

  before(async () => {
    srv = await startServer(['-l', 'tmpfs']);
    c = await rumpclientInit(srv.url);
    await c.sys.mkdir('/tmp', 0o755);
    await c.sys.mount('tmpfs', '/tmp', 0, { mode: 0o1777 });
    dir = mkdtempSync(join(tmpdir(), 'rumphijack-'));
    env = { RUMP_SERVER: srv.url, RUMPHIJACK: 'path=/rump' };
  });
  after(async () => {
    await c.close();
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function kernelText(path: string): Promise<string> {
    const fd = await c.sys.open(path, O_RDONLY, 0);
    try {
      const buf = new Uint8Array(1 << 17);
      const n = await c.sys.read(fd, buf);
      return Buffer.from(buf.subarray(0, n)).toString();
    } finally {
      await c.sys.close(fd);
    }
  }

  for (const transport of ['direct', 'worker'] as const) {
    it(`runs sync, callback, promise and stream fs calls under /rump in the kernel (${transport} transport)`, async () => {
      await c.sys.mkdir(`/tmp`, 0o755).catch(() => undefined);
      const hostDir = join(dir, transport);
      mkdirSync(hostDir);
      const prog = join(hostDir, 'app.mjs');
      writeFileSync(prog, FS_PROGRAM);
      const r = await runNode(['--import', HIJACK, prog, hostDir], { ...env, RUMPHIJACK_TRANSPORT: transport });
      assert.equal(r.code, 0, r.stderr);
      const got = parseLines(r);
      assert.equal(got['done'], true, r.stdout + r.stderr);
      assert.equal(got['sync'], 'written synchronously\nand appended\n');
      assert.deepEqual(got['statSync'], { size: 35, isFile: true, instance: true });
      assert.deepEqual(got['readdirTypes'], [['a', true, false, true], ['link', false, true, true]]);
      assert.equal(got['lstat'], true);
      assert.equal(got['realpath'], '/rump/tmp/sync.txt');
      assert.equal(got['fdRange'], true);
      assert.deepEqual(got['readSync'], [4, '2AB5']);
      assert.equal(got['fstat'], 10);
      assert.equal(got['afterTruncate'], '012AB5');
      assert.equal(got['mode'], '640');
      assert.deepEqual(got['exists'], [false, true]);
      assert.equal(got['callback'], 'callback data');
      assert.deepEqual(got['cbError'], {
        code: 'ENOENT', errno: -2, syscall: 'stat', path: '/rump/tmp/nope', message: "ENOENT: no such file or directory, stat '/rump/tmp/nope'", isError: true,
      });
      assert.equal(got['fhFd'], true);
      assert.deepEqual(got['fhRead'], [3, 'omi']);
      assert.equal(got['fhStat'], 8);
      assert.equal(got['promises'], 'Promised');
      assert.deepEqual(got['readdir'], ['cb.txt', 'p.txt', 'renamed.bin', 'sync.txt', 'tree']);
      assert.deepEqual(got['opendir'], ['a', 'link']);
      assert.deepEqual(got['eisdir'], { code: 'EISDIR', errno: -21, syscall: 'read', message: 'EISDIR: illegal operation on a directory, read', isError: true });
      assert.deepEqual(got['eexist'], {
        code: 'EEXIST', errno: -17, syscall: 'mkdir', path: '/rump/tmp/tree', message: "EEXIST: file already exists, mkdir '/rump/tmp/tree'", isError: true,
      });
      assert.equal(got['rmDir'], 'ERR_FS_EISDIR');
      assert.deepEqual(got['cp'], ['a', 'a/b', 'link']);
      assert.deepEqual(got['streams'], [100_000, 100_000]);
      assert.deepEqual((got['exdev'] as { code: string }).code, 'EXDEV');
      assert.deepEqual((got['watch'] as { code: string; message: string }).code, 'ENOTSUP');
      assert.deepEqual(got['cwd'], ['/rump/tmp/tree', 35]);
      assert.equal(got['hostCwd'], true);

      // what the program did is in the kernel...
      assert.equal(await kernelText('/tmp/sync.txt'), 'written synchronously\nand appended\n');
      assert.equal(await kernelText('/tmp/p.txt'), 'Promised');
      assert.equal(await kernelText('/tmp/in.txt'), 'from the host');
      assert.equal((await c.sys.lstat('/tmp/tree/link')).mode & S_IFMT, S_IFLNK);
      assert.equal((await c.sys.stat('/tmp/stream.bin')).size, 100_000);
      await assert.rejects(c.sys.stat('/tmp/tree2'), { code: 'ENOENT' });
      // ...and what it did on the host is on the host, not in the kernel
      assert.equal(readFileSync(join(hostDir, 'out.txt'), 'utf8'), 'callback data');
      assert.equal(existsSync('/rump'), false);
      await assert.rejects(c.sys.stat(join(hostDir, 'host.txt')), { code: 'ENOENT' });
      // start clean for the other transport
      await c.sys.unmount('/tmp', 0x80000);
      await c.sys.mount('tmpfs', '/tmp', 0, { mode: 0o1777 });
    });
  }

  it('gives kernel errors the shape the host gives its own', async () => {
    const prog = join(dir, 'errors.cjs');
    writeFileSync(prog, `
      const fs = require('fs');
      const pick = (f) => { try { f(); return null; } catch (e) { return { code: e.code, errno: e.errno, syscall: e.syscall, message: e.message.replace(process.argv[2], 'P') }; } };
      const h = process.argv[2], k = '/rump/tmp';
      const cases = [
        [() => fs.readFileSync(h + '/nope'), () => fs.readFileSync(k + '/nope')],
        [() => fs.rmdirSync(h + '/f'), () => fs.rmdirSync(k + '/f')],
        [() => fs.mkdirSync(h + '/f/x'), () => fs.mkdirSync(k + '/f/x')],
        [() => fs.unlinkSync(h + '/d'), () => fs.unlinkSync(k + '/d')],
        [() => fs.readdirSync(h + '/f'), () => fs.readdirSync(k + '/f')],
        [() => fs.openSync(h + '/f', 'wx'), () => fs.openSync(k + '/f', 'wx')],
        [() => fs.closeSync(0x7ffffff0), () => fs.closeSync(0x40000000 + 999)],
      ];
      fs.writeFileSync(h + '/f', 'x'); fs.mkdirSync(h + '/d');
      fs.writeFileSync(k + '/f', 'x'); fs.mkdirSync(k + '/d');
      console.log(JSON.stringify(cases.map(([a, b]) => [pick(a), pick(b)])));
    `);
    const hostDir = join(dir, 'errs');
    mkdirSync(hostDir);
    const r = await runNode(['--import', HIJACK, prog, hostDir], env);
    assert.equal(r.code, 0, r.stderr);
    const pairs = JSON.parse(r.stdout) as [Record<string, unknown>, Record<string, unknown>][];
    for (const [hostErr, kernErr] of pairs) {
      assert.notEqual(hostErr, null);
      assert.equal(kernErr!['code'], hostErr['code'], JSON.stringify([hostErr, kernErr]));
      assert.equal(kernErr!['errno'], hostErr['errno']);
      assert.equal(kernErr!['syscall'], hostErr['syscall']);
      // the message says the same thing about the kernel's path
      assert.equal(String(kernErr!['message']).replace(/\/rump\/tmp/g, 'P'), hostErr['message']);
    }
  });

  it('routes blanket= prefixes to the kernel without stripping them', async () => {
    await c.sys.mkdir('/srv', 0o755);
    const r = await runNode(['-e', `
      const fs = require('fs');
      fs.writeFileSync('/srv/www.txt', 'blanket');
      console.log(fs.readdirSync('/srv').join(','), fs.existsSync('/rump'));
    `.replace(/\n\s*/g, ' '), '--'], { ...env, RUMPHIJACK: 'blanket=/srv', NODE_OPTIONS: `--import=${HIJACK}` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'www.txt false\n');
    assert.equal(await kernelText('/srv/www.txt'), 'blanket');
  });

  it('hijacks nothing with an empty RUMPHIJACK: /rump is the host\'s, and no server is needed', async () => {
    const r = await runNode(['--import', HIJACK, '-e', `
      const fs = require('fs');
      try { fs.writeFileSync('/rump/x', 'y'); console.log('wrote'); } catch (e) { console.log(e.code); }
    `], { RUMPHIJACK: '', RUMP_SERVER: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ENOENT\n');
  });

  it('sends os.hostname() to the kernel with sysctl=yes', async () => {
    await c.sys.__sysctl('kern.hostname', 'rumphost');
    const r = await runNode(['--import', HIJACK, '-e', 'console.log(require("os").hostname(), require("os").type())'], { ...env, RUMPHIJACK: 'sysctl=yes' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'rumphost NetBSD\n');
  });

  it('refuses to start a program when the server cannot be reached or RUMPHIJACK is malformed', async () => {
    const gone = await runNode(['--import', HIJACK, '-e', 'console.log("ran")'], { RUMP_SERVER: `unix://${join(dir, 'nosock')}`, RUMPHIJACK: 'path=/rump' });
    assert.equal(gone.code, 1);
    assert.equal(gone.stdout, '');
    assert.match(gone.stderr, /^rumpkernel\/hijack: cannot connect to the rump kernel server at unix:\/\/.*nosock/m);
    const bad = await runNode(['--import', HIJACK, '-e', 'console.log("ran")'], { ...env, RUMPHIJACK: 'socket=bogus' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown protocol family 'bogus'/);
  });

  const tarDir = (() => {
    try {
      return join(createRequire(import.meta.url).resolve('tar'), '..');
    } catch {
      return null;
    }
  })();
  let hasTarCli = true;
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
  } catch {
    hasTarCli = false;
  }

  it('lets the tar package (unmodified, from npm) extract an archive made by the host\'s tar into the kernel',
    { skip: tarDir === null ? 'the tar package is not installed (npm install --no-save tar)' : !hasTarCli && 'no tar command' }, async () => {
      const src = join(dir, 'tarsrc');
      mkdirSync(join(src, 'pkg', 'lib'), { recursive: true });
      writeFileSync(join(src, 'pkg', 'package.json'), '{"name":"pkg"}\n');
      writeFileSync(join(src, 'pkg', 'lib', 'big.bin'), Buffer.alloc(300_000, 7));
      execFileSync('ln', ['-s', 'lib/big.bin', join(src, 'pkg', 'big')]);
      execFileSync('chmod', ['750', join(src, 'pkg', 'lib')]);
      const archive = join(dir, 'pkg.tgz');
      execFileSync('tar', ['-czf', archive, '-C', src, 'pkg']);
      const prog = join(REPO, `.hijack-tar-${process.pid}.mjs`);
      writeFileSync(prog, `
        import * as tar from 'tar';
        import fs from 'node:fs';
        fs.mkdirSync('/rump/tmp/x', { recursive: true });
        await tar.x({ file: process.argv[2], cwd: '/rump/tmp/x' });
        await tar.c({ gzip: true, file: process.argv[3], cwd: '/rump/tmp/x' }, ['pkg']);
        console.log('ok');
      `);
      try {
        const back = join(dir, 'back.tgz');
        const r = await runNode(['--import', HIJACK, prog, archive, back], env);
        assert.equal(r.code, 0, r.stderr.slice(-2000));
        assert.equal(r.stdout, 'ok\n');
        assert.equal(await kernelText('/tmp/x/pkg/package.json'), '{"name":"pkg"}\n');
        assert.equal((await c.sys.stat('/tmp/x/pkg/lib/big.bin')).size, 300_000);
        assert.equal((await c.sys.stat('/tmp/x/pkg/lib')).mode & 0o777, 0o750);
        assert.equal(await c.sys.readlink('/tmp/x/pkg/big'), 'lib/big.bin');
        // the archive tar made from the kernel's files lists the same entries for the host's tar
        const listing = execFileSync('tar', ['-tzf', back]).toString().split('\n').filter((x) => x !== '').sort();
        assert.deepEqual(listing, ['pkg/', 'pkg/big', 'pkg/lib/', 'pkg/lib/big.bin', 'pkg/package.json']);
      } finally {
        rmSync(prog, { force: true });
      }
    });
});

function hasCommand(cmd: string, arg = '--version'): boolean {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== 'ENOENT';
  }
}

function hasPackage(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

describe('the hijack sending sockets to the kernel (socket=inet)', () => {
  let srv: ServerProc;
  let dir: string;
  let env: Record<string, string>;
  const haveImageTools = hasCommand('mke2fs', '-V');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rumphijack-net-'));
    const args = ['-l', 'netinet,tmpfs'];
    if (haveImageTools) {
      // a file system image made by the host's own mke2fs, served by the static file server below
      const src = join(dir, 'site');
      mkdirSync(join(src, 'docs'), { recursive: true });
      writeFileSync(join(src, 'index.html'), '<h1>served from ext2</h1>\n');
      writeFileSync(join(src, 'docs', 'data.bin'), Buffer.alloc(200_000, 0x5a));
      const img = join(dir, 'site.img');
      writeFileSync(img, new Uint8Array(8 << 20));
      execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', src, img], { stdio: 'ignore' });
      args[1] = 'netinet,tmpfs,ext2fs';
      args.push('-d', `key=/dev/site,hostpath=${img},size=host`);
    }
    srv = await startServer(args);
    env = { RUMP_SERVER: srv.url, RUMPHIJACK: 'path=/rump,socket=inet' };
  });
  after(async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs an http server and its clients (http.get, fetch) and UDP over the kernel\'s loopback, invisible to the host', async () => {
    const prog = join(dir, 'net.mjs');
    writeFileSync(prog, `
      import http from 'node:http';
      import net from 'node:net';
      import dgram from 'node:dgram';
      const out = (k, v) => console.log(JSON.stringify([k, v]));
      const srv = http.createServer((req, res) => res.end('kernel says ' + req.url));
      await new Promise((r) => srv.listen(0, '127.0.0.1', r));
      const port = srv.address().port;
      out('port', port);
      out('get', await new Promise((resolve, reject) => http.get('http://127.0.0.1:' + port + '/a', (res) => {
        let d = ''; res.on('data', (c) => d += c); res.on('end', () => resolve([res.statusCode, d]));
      }).on('error', reject)));
      out('fetch', await (await fetch('http://localhost:' + port + '/b')).text());
      const err = await new Promise((resolve) => net.connect(1, '127.0.0.1').on('error', resolve));
      out('refused', { code: err.code, errno: err.errno, syscall: err.syscall, message: err.message });
      const a = dgram.createSocket('udp4'), b = dgram.createSocket('udp4');
      await new Promise((r) => a.bind(0, '127.0.0.1', r));
      const got = new Promise((r) => a.once('message', (m, rinfo) => r([m.toString(), rinfo.address])));
      b.send('over udp', a.address().port, '127.0.0.1');
      out('udp', await got);
      a.close(); b.close();
      srv.close(() => out('closed', true));
    `);
    const r = await runNode(['--import', HIJACK, prog], env);
    assert.equal(r.code, 0, r.stderr);
    const got = parseLines(r);
    assert.deepEqual(got['get'], [200, 'kernel says /a']);
    assert.equal(got['fetch'], 'kernel says /b');
    assert.deepEqual(got['refused'], { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', message: 'connect ECONNREFUSED 127.0.0.1:1' });
    assert.deepEqual(got['udp'], ['over udp', '127.0.0.1']);
    assert.equal(got['closed'], true);
  });

  it('keeps a hijacked server alive for other hijacked processes, and the host cannot reach it', async () => {
    const prog = join(dir, 'serve.mjs');
    writeFileSync(prog, `
      import net from 'node:net';
      const srv = net.createServer((s) => { s.on('data', (d) => s.write('echo:' + d)); s.on('end', () => s.end()); });
      srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
      process.on('SIGTERM', () => srv.close(() => process.exit(0)));
    `);
    const { spawn } = await import('node:child_process');
    const server = spawn(process.execPath, ['--import', HIJACK, prog], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /port (\d+)/.exec(out);
          if (m !== null) resolve(Number(m[1]));
        });
        server.once('exit', (code) => reject(new Error(`server program exited (${String(code)})`)));
      });
      const client = await runNode(['--import', HIJACK, '-e', `
        const s = require('net').connect(${port}, '127.0.0.1', () => s.end('ping'));
        let d = ''; s.on('data', (c) => d += c); s.on('close', () => console.log(d));
      `], env);
      assert.equal(client.code, 0, client.stderr);
      assert.equal(client.stdout, 'echo:ping\n');
      // an unhijacked client on the host does not find the kernel's listener
      const { connect } = await import('node:net');
      const hostErr = await new Promise<string>((resolve) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve('connected'); });
        s.on('error', (e: Error & { code?: string }) => resolve(e.code ?? 'error'));
      });
      assert.notEqual(hostErr, 'connected');
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  it('leaves sockets to the host with socket=none', async () => {
    const r = await runNode(['--import', HIJACK, '-e', `
      const srv = require('net').createServer();
      srv.listen(0, '127.0.0.1', () => { console.log(srv._handle !== null && srv._handle !== undefined); srv.close(); });
    `], { ...env, RUMPHIJACK: 'path=/rump,socket=none' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'true\n');
  });

  it('lets the sirv package (unmodified, from npm) serve an ext2 image made by mke2fs, fetched by a hijacked client in another process',
    { skip: !haveImageTools ? 'mke2fs is not installed' : !hasPackage('sirv') && 'the sirv package is not installed (npm install --no-save sirv)' }, async () => {
      const c = await rumpclientInit(srv.url);
      await c.sys.mkdir('/www', 0o755);
      await c.sys.mount('ext2fs', '/www', 1 /* MNT_RDONLY */, { fspec: '/dev/site' });
      await c.close();
      const prog = join(REPO, `.hijack-sirv-${process.pid}.mjs`);
      writeFileSync(prog, `
        import sirv from 'sirv';
        import http from 'node:http';
        const srv = http.createServer(sirv('/rump/www'));
        srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
        process.on('SIGTERM', () => { srv.closeAllConnections?.(); srv.close(() => process.exit(0)); });
      `);
      const { spawn } = await import('node:child_process');
      const server = spawn(process.execPath, ['--import', HIJACK, prog], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let serr = '';
      server.stderr!.on('data', (d: Buffer) => { serr += d.toString(); });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          server.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /port (\d+)/.exec(out);
            if (m !== null) resolve(Number(m[1]));
          });
          server.once('exit', (code) => reject(new Error(`sirv program exited (${String(code)}): ${serr}`)));
        });
        const client = await runNode(['--import', HIJACK, '-e', `
          const http = require('http');
          const get = (p) => new Promise((resolve, reject) => http.get('http://127.0.0.1:${port}' + p, (res) => {
            const cs = []; res.on('data', (c) => cs.push(c)); res.on('end', () => resolve([res.statusCode, res.headers['content-type'], Buffer.concat(cs)]));
          }).on('error', reject));
          (async () => {
            const [s1, t1, b1] = await get('/');
            const [s2, , b2] = await get('/docs/data.bin');
            const [s3] = await get('/nope');
            console.log(JSON.stringify([s1, t1, b1.toString(), s2, b2.length, b2.every((x) => x === 0x5a), s3]));
          })();
        `], env);
        assert.equal(client.code, 0, client.stderr);
        assert.deepEqual(JSON.parse(client.stdout), [200, 'text/html;charset=utf-8', '<h1>served from ext2</h1>\n', 200, 200_000, true, 404]);
      } finally {
        server.kill('SIGTERM');
        await new Promise((r) => server.once('exit', r));
        rmSync(prog, { force: true });
      }
    });
});

describe('the hijack benchmark', () => {
  it('runs in quick mode and reports the hijacked calls beside both floors', async () => {
    const { run } = await import('../bench/hijack.js');
    const figures = await run({ quick: true, note: () => undefined });
    const metrics = new Set(figures.map((f) => `${f.metric} / ${f.peerName ?? ''}`));
    assert.ok(metrics.has('hijacked fs.statSync (direct) / bare SAB+Atomics round trip to a worker'), [...metrics].join('\n'));
    assert.ok(metrics.has('hijacked fs.readFileSync 100 B (worker) / bare SAB+Atomics round trip to a worker'));
    for (const f of figures) {
      assert.ok(Number.isFinite(f.ours) && f.ours > 0, `${f.metric}: ${f.ours}`);
      assert.ok(f.peer !== null && Number.isFinite(f.peer) && f.peer > 0, `${f.metric}: peer ${String(f.peer)}`);
    }
  });
});
