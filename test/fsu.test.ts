/**
 * fs-utils as users run them: the compiled dist/src/bin/fsu_*.js spawned against ext2 images
 * made by the host's own mke2fs (and debugfs for owners), with their output, error lines and
 * exit statuses. The tools that write are also run in-process against a tmpfs (runTool with a
 * captured stdin/stdout), since that works whatever the image file systems can write yet; they
 * run against an ext2 image too, or are skipped with the reason, when ext2fs cannot write.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ukfsMount, ukfsOpenMemory, type Ukfs } from '../src/ukfs/index.js';
import { runTool, type ToolIO } from '../src/bin/fsu/common.js';
import { loadTool, TOOL_NAMES } from '../src/bin/fsu/tools.js';
import { parseModeArg } from '../src/bin/fsu/modes.js';
import { globToRegExp } from '../src/bin/fsu/find.js';

const binDir = fileURLToPath(new URL('../src/bin/', import.meta.url));
const srcBinDir = fileURLToPath(new URL('../../src/bin/', import.meta.url));

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}
const HAVE_MKE2FS = which('mke2fs') && which('debugfs');

interface Result { status: number | null; stdout: string; stderr: string }

/** The environment for spawned tools: UTC times, default block size, a quiet kernel. */
const cleanEnv: NodeJS.ProcessEnv = (() => {
  const e: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC' };
  delete e['BLOCKSIZE'];
  delete e['RUMP_VERBOSE'];
  return e;
})();

function fsu(tool: string, args: readonly string[], opts: { input?: string | Buffer; cwd?: string } = {}): Result {
  const r = spawnSync(process.execPath, [path.join(binDir, `fsu_${tool}.js`), ...args], {
    encoding: 'utf8', timeout: 60_000, input: opts.input ?? '', cwd: opts.cwd,
    env: cleanEnv,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const T2020 = new Date('2020-01-02T03:04:05Z');

/** A source tree with every kind of object mke2fs -d copies. */
function makeTree(dir: string): void {
  fs.mkdirSync(path.join(dir, 'dir/sub'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  fs.writeFileSync(path.join(dir, 'dir/sub/deep.txt'), 'deep\n');
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 131 + (i >> 8)) & 0xff;
  fs.writeFileSync(path.join(dir, 'dir/big.bin'), big);
  fs.chmodSync(path.join(dir, 'dir/big.bin'), 0o640);
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:*:0:0:Charlie &:/root:/bin/sh\nalice:*:1000:100::/home/alice:/bin/sh\n');
  fs.writeFileSync(path.join(dir, 'etc/group'), 'wheel:*:0:root\nusers:*:100:alice\n');
  fs.writeFileSync(path.join(dir, '.hidden'), '');
  fs.symlinkSync('hello.txt', path.join(dir, 'link'));
  fs.symlinkSync('/dir/sub', path.join(dir, 'abslink'));
  fs.linkSync(path.join(dir, 'hello.txt'), path.join(dir, 'hard'));
  for (const p of ['hello.txt', 'dir/sub/deep.txt', 'dir/big.bin', 'dir/sub', 'dir', 'etc/passwd', 'etc/group', 'etc', '.hidden']) {
    fs.utimesSync(path.join(dir, p), T2020, T2020);
  }
  for (const p of ['link', 'abslink']) fs.lutimesSync(path.join(dir, p), T2020, T2020);
}

function mkext2(img: string, src: string, size = '8M'): void {
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-d', src, img, size], { stdio: 'pipe' });
}

/** Set an inode field with debugfs (owners independent of who runs the test). */
function debugfsSet(img: string, file: string, field: string, value: string | number): void {
  execFileSync('debugfs', ['-w', '-R', `set_inode_field ${file} ${field} ${value}`, img], { stdio: 'pipe' });
}

describe('fs-utils on an ext2 image made by mke2fs', { skip: HAVE_MKE2FS ? false : 'SKIPPED: mke2fs/debugfs not installed (e2fsprogs); fs-utils CLI tests need them' }, () => {
  let dir = '';
  let src = '';
  let img = '';
  let ext2Reason: string | null = null;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fsu-test-'));
    src = path.join(dir, 'src');
    img = path.join(dir, 'disk.img');
    makeTree(src);
    mkext2(img, src);
    debugfsSet(img, '/hello.txt', 'uid', 1000);
    debugfsSet(img, '/hello.txt', 'gid', 100);
    try {
      const u = await ukfsMount({ image: img, readonly: true });
      await u.unmount();
    } catch (e) {
      ext2Reason = `SKIPPED: no fs component can mount the ext2 image yet: ${(e as Error).message}`;
      console.log(ext2Reason);
    }
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fsu_ls lists the root in name order, one per line when not a terminal', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const r = fsu('ls', [img]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'abslink\ndir\netc\nhard\nhello.txt\nlink\nlost+found\n');
  });

  it('fsu_ls -l shows modes, links, owners named from the image, sizes, times and link targets', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const r = fsu('ls', [img, '-l', '/']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^total \d+$/);
    // columns are as wide as their widest cell (lost+found's size): match with the padding
    const has = (re: RegExp): void => assert.ok(lines.some((l) => re.test(l)), `no line like ${re}:\n${r.stdout}`);
    has(/^-rw-r--r-- 2 alice  users +6 Jan  2  2020 hello\.txt$/);
    has(/^lrwxrwxrwx 1 root   wheel +9 Jan  2  2020 link -> hello\.txt$/);
    has(/^lrwxrwxrwx 1 root   wheel +8 Jan  2  2020 abslink -> \/dir\/sub$/);
    has(/^drwxr-xr-x 3 root   wheel +1024 Jan  2  2020 dir$/);
    const n = fsu('ls', [img, '-n', 'hello.txt']);
    assert.equal(n.stdout, '-rw-r--r-- 2 1000  100  6 Jan  2  2020 hello.txt\n');
  });

  it('fsu_ls -a, -A, -d, -i, -F, -R, -S and -r behave as ls', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    assert.deepEqual(fsu('ls', [img, '-a', '/etc']).stdout.split('\n').filter(Boolean), ['.', '..', 'group', 'passwd']);
    assert.ok(fsu('ls', [img, '-A']).stdout.split('\n').includes('.hidden'));
    assert.ok(!fsu('ls', [img]).stdout.split('\n').includes('.hidden'));
    assert.equal(fsu('ls', [img, '-d', '/dir']).stdout, '/dir\n');
    const inodes = fsu('ls', [img, '-i', 'hard', 'hello.txt']).stdout.trim().split('\n').map((l) => l.trim().split(/\s+/)[0]);
    assert.equal(inodes.length, 2);
    assert.equal(inodes[0], inodes[1], 'hard links share an inode');
    assert.equal(fsu('ls', [img, '-F', '/']).stdout, 'abslink@\ndir/\netc/\nhard\nhello.txt\nlink@\nlost+found/\n');
    assert.equal(fsu('ls', [img, '-R', '/dir']).stdout, '/dir:\nbig.bin\nsub\n\n/dir/sub:\ndeep.txt\n');
    assert.equal(fsu('ls', [img, '-S', '/dir']).stdout.split('\n')[0], 'big.bin');
    assert.equal(fsu('ls', [img, '-r', '/etc']).stdout, 'passwd\ngroup\n');
    // files first, then directories with headings
    assert.equal(fsu('ls', [img, '/etc', 'hello.txt']).stdout, 'hello.txt\n\n/etc:\ngroup\npasswd\n');
  });

  it('fsu_ls reports a missing operand, lists the rest and exits 1', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const r = fsu('ls', [img, '/x', '/etc']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'fsu_ls: /x: No such file or directory\n');
    assert.equal(r.stdout, '/etc:\ngroup\npasswd\n');
  });

  it('fsu_cat writes files byte for byte, large ones too', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const r = spawnSync(process.execPath, [path.join(binDir, 'fsu_cat.js'), img, '/dir/big.bin', 'hello.txt'], { timeout: 60_000 });
    assert.equal(r.status, 0, String(r.stderr));
    assert.ok(Buffer.concat([fs.readFileSync(path.join(src, 'dir/big.bin')), Buffer.from('hello\n')]).equals(r.stdout));
    const missing = fsu('cat', [img, '/nope']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, 'fsu_cat: /nope: No such file or directory\n');
    const dirCat = fsu('cat', [img, '/dir']);
    assert.equal(dirCat.status, 1);
    assert.match(dirCat.stderr, /^fsu_cat: \/dir: Illegal operation on a directory|^fsu_cat: \/dir: Is a directory/);
  });

  it('fsu_stat prints NetBSD stat lines, -f formats and -x', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const r = fsu('stat', [img, '-f', '%N %Sp %l %Su:%Sg %z %m', '/hello.txt', '/link']);
    assert.equal(r.status, 0, r.stderr);
    const sec = Math.floor(T2020.getTime() / 1000);
    assert.equal(r.stdout, `/hello.txt -rw-r--r-- 2 alice:users 6 ${sec}\n/link lrwxrwxrwx 1 root:wheel 9 ${sec}\n`);
    const d = fsu('stat', [img, '/hello.txt']);
    assert.match(d.stdout, /^\d+ \d+ -rw-r--r-- 2 alice users 0 6 "Jan  2 03:04:05 2020" "Jan  2 03:04:05 2020" "[^"]+" "[^"]+" \d+ 2 0 \/hello.txt\n$/);
    const x = fsu('stat', [img, '-x', '/link']);
    assert.match(x.stdout, /File: "\/link" -> hello.txt/);
    assert.match(x.stdout, /FileType: Symbolic Link/);
  });

  it('fsu_find selects by name, type, size and depth, with ! and -o', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    assert.equal(fsu('find', [img, '/', '-name', '*.txt']).stdout, '/dir/sub/deep.txt\n/hello.txt\n');
    assert.equal(fsu('find', [img, '/', '-type', 'l']).stdout, '/abslink\n/link\n');
    assert.equal(fsu('find', [img, '/dir', '-type', 'f', '-size', '+100k']).stdout, '/dir/big.bin\n');
    assert.equal(fsu('find', [img, '/', '-maxdepth', '1', '-type', 'd', '!', '-name', 'lost*']).stdout, '/\n/dir\n/etc\n');
    assert.equal(fsu('find', [img, '/etc', '-name', 'passwd', '-o', '-name', 'group']).stdout, '/etc/group\n/etc/passwd\n');
    assert.equal(fsu('find', [img, '/', '-user', 'alice']).stdout, '/hard\n/hello.txt\n');
    const bad = fsu('find', [img, '/', '-bogus']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /-bogus: unknown primary or operator/);
  });

  it('fsu_du and fsu_df report usage consistent with the image', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const du = fsu('du', [img, '-k', '-s', '/dir']);
    assert.equal(du.status, 0, du.stderr);
    const [kib, name] = du.stdout.trim().split('\t');
    assert.equal(name, '/dir');
    assert.ok(Number(kib) >= 293 && Number(kib) < 400, `du -k -s /dir says ${kib} KiB for a 300,000-byte file`);
    const df = fsu('df', [img, '-k', '-T']);
    assert.equal(df.status, 0, df.stderr);
    const [head, row] = df.stdout.trim().split('\n');
    assert.match(head!, /^Filesystem +Type +1K-blocks +Used +Avail +%Cap +Mounted on$/);
    const cells = row!.split(/\s+/);
    assert.equal(cells[0], img);
    assert.equal(cells[1], 'ext2fs');
    assert.ok(Number(cells[2]) > 7000 && Number(cells[2]) <= 8192, `size ${cells[2]} KiB of an 8 MiB image`);
    assert.equal(cells[cells.length - 1], '/');
  });

  it('fsu_get -R -a copies the tree to the host with contents, modes, links and times', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const out = path.join(dir, 'got');
    const r = fsu('get', [img, '-R', '-a', '/', out]);
    assert.equal(r.status, 0, r.stderr);
    for (const p of ['hello.txt', 'dir/sub/deep.txt', 'dir/big.bin', 'etc/passwd']) {
      assert.ok(fs.readFileSync(path.join(out, p)).equals(fs.readFileSync(path.join(src, p))), p);
      assert.equal(fs.statSync(path.join(out, p)).mtimeMs, T2020.getTime(), `${p} mtime`);
    }
    assert.equal(fs.statSync(path.join(out, 'dir/big.bin')).mode & 0o777, 0o640);
    assert.equal(fs.readlinkSync(path.join(out, 'link')), 'hello.txt');
    assert.equal(fs.readlinkSync(path.join(out, 'abslink')), '/dir/sub');
    assert.equal(fs.statSync(path.join(out, 'hard')).ino, fs.statSync(path.join(out, 'hello.txt')).ino, 'hard link kept');
    // a single file into an existing host directory
    const one = path.join(dir, 'one');
    fs.mkdirSync(one);
    assert.equal(fsu('get', [img, '/dir/sub/deep.txt', one]).status, 0);
    assert.equal(fs.readFileSync(path.join(one, 'deep.txt'), 'utf8'), 'deep\n');
    // a directory without -R
    const noR = fsu('get', [img, '/dir', path.join(dir, 'nor')]);
    assert.equal(noR.status, 1);
    assert.equal(noR.stderr, 'fsu_get: /dir is a directory (not copied)\n');
  });

  it('fsu_diff finds identical hard links and different files', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    assert.equal(fsu('diff', [img, '/hello.txt', '/hard']).status, 0);
    const d = fsu('diff', [img, '/hello.txt', '/dir/sub/deep.txt']);
    assert.equal(d.status, 1);
    assert.equal(d.stdout, 'Files /hello.txt and /dir/sub/deep.txt differ\n');
    const trees = fsu('diff', [img, '/dir', '/etc']);
    assert.equal(trees.status, 1);
    assert.match(trees.stdout, /Only in \/dir: big\.bin\n/);
  });

  it('detects the type, honours -t before or after the image, and names unknown images', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    assert.equal(fsu('ls', ['-t', 'ext2fs', img, '/etc']).stdout, 'group\npasswd\n');
    assert.equal(fsu('ls', [img, '-t', 'ext4', '/etc']).stdout, 'group\npasswd\n');
    // after the image, -t with a non-type value is ls -t
    assert.equal(fsu('ls', [img, '-t', '/etc']).status, 0);
    const junk = path.join(dir, 'junk.img');
    fs.writeFileSync(junk, Buffer.alloc(1 << 20, 0x5a));
    const r = fsu('ls', [junk]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^fsu_ls: .*junk\.img: Inappropriate file type or format \(no known file system in .*junk\.img/);
    const missing = fsu('ls', [path.join(dir, 'nope.img')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^fsu_ls: .*nope\.img: No such file or directory/);
    const wrongType = fsu('ls', ['-t', 'nosuchfs', img]);
    assert.equal(wrongType.status, 1);
    assert.match(wrongType.stderr, /unknown file system type 'nosuchfs'/);
  });

  it('finds the file system inside a partitioned disk image, or at an offset', (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const disk = path.join(dir, 'whole.img');
    const fsImg = fs.readFileSync(img);
    const mbr = Buffer.alloc(1 << 20);
    const e = 446;
    mbr[e + 4] = 0x83;
    mbr.writeUInt32LE(2048, e + 8);
    mbr.writeUInt32LE(fsImg.length / 512, e + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    fs.writeFileSync(disk, Buffer.concat([mbr, fsImg]));
    assert.equal(fsu('ls', [disk, '/etc']).stdout, 'group\npasswd\n');
    assert.equal(fsu('ls', ['-o', 'partition=1', disk, '/etc']).stdout, 'group\npasswd\n');
    assert.equal(fsu('ls', ['-o', 'offset=1m', '-t', 'ext2fs', disk, '/etc']).stdout, 'group\npasswd\n');
    const bad = fsu('ls', ['-o', 'partition=3', disk]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /has no partition 3/);
  });

  it('prints --help and usage errors with exit status 2', () => {
    const h = fsu('find', ['--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^usage: fsu_find \[-t fstype\] \[-o options\] image \[path \.\.\.\] \[expression\]/);
    const none = fsu('cat', []);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^fsu_cat: no image given\nusage: fsu_cat /);
    const unknown = fsu('ls', [img, '-Z']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^fsu_ls: unknown option -- Z\n/);
  });

  it('every tool has a bin file that runs and answers --help', () => {
    for (const name of TOOL_NAMES) {
      assert.ok(fs.existsSync(path.join(srcBinDir, `fsu_${name}.ts`)), `src/bin/fsu_${name}.ts is missing`);
      const r = fsu(name, ['--help']);
      assert.equal(r.status, 0, `fsu_${name} --help: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: fsu_${name} `));
    }
  });

  it('tools that write either work on ext2 or fail naming the read-only file system', async (t) => {
    if (ext2Reason !== null) return t.skip(ext2Reason);
    const copy = path.join(dir, 'rw.img');
    fs.copyFileSync(img, copy);
    const r = fsu('mkdir', [copy, '-p', '/new/dir']);
    if (r.status !== 0) {
      assert.match(r.stderr, /Read-only file system/);
      t.skip(`SKIPPED: ext2fs cannot write yet (${r.stderr.trim()}); the write tools are tested on tmpfs below`);
      return;
    }
    assert.equal(fsu('put', [copy, path.join(src, 'hello.txt'), '/new/dir/h']).status, 0);
    assert.equal(fsu('write', [copy, '/new/w'], { input: 'from stdin\n' }).status, 0);
    assert.equal(fsu('cat', [copy, '/new/dir/h', '/new/w']).stdout, 'hello\nfrom stdin\n');
    assert.equal(fsu('rm', [copy, '-r', '/new']).status, 0);
    const fsck = spawnSync('e2fsck', ['-fn', copy], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, `e2fsck found problems:\n${fsck.stdout}${fsck.stderr}`);
  });
});

// ---------------------------------------------------------------------------------------------
// the tools in-process on a tmpfs

async function tool(u: Ukfs, name: string, args: readonly string[], stdin = ''): Promise<Result> {
  let stdout = '', stderr = '';
  const io: ToolIO = {
    stdout: async (d) => { stdout += typeof d === 'string' ? d : Buffer.from(d).toString('latin1'); },
    stderr: (s) => { stderr += s; },
    stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]),
    stdoutIsTTY: false,
    mount: async () => u,
    release: async () => undefined,
  };
  const status = await runTool(await loadTool(name), ['mem.img', ...args], `fsu_${name}`, io);
  return { status, stdout, stderr };
}

describe('the fs-utils tools on a tmpfs', () => {
  let u: Ukfs;
  let host = '';

  before(async () => {
    process.env['TZ'] = 'UTC';
    u = await ukfsOpenMemory();
    host = fs.mkdtempSync(path.join(os.tmpdir(), 'fsu-mem-'));
  });
  after(async () => {
    await u.unmount();
    fs.rmSync(host, { recursive: true, force: true });
  });

  it('fsu_mkdir -p and -m make trees with the given mode', async () => {
    assert.deepEqual(await tool(u, 'mkdir', ['-p', '/a/b/c']), { status: 0, stdout: '', stderr: '' });
    assert.equal((await tool(u, 'mkdir', ['-m', '700', '/private'])).status, 0);
    assert.equal((await u.stat('/private')).mode & 0o777, 0o700);
    assert.equal((await tool(u, 'mkdir', ['-m', 'u=rwx,g=rx,o=', '/sym'])).status, 0);
    assert.equal((await u.stat('/sym')).mode & 0o777, 0o750);
    assert.equal((await tool(u, 'mkdir', ['-m', 'g-w', '/rel'])).status, 0, 'symbolic modes start from a=rwx');
    assert.equal((await u.stat('/rel')).mode & 0o777, 0o757);
    const again = await tool(u, 'mkdir', ['/a']);
    assert.equal(again.status, 1);
    assert.equal(again.stderr, 'fsu_mkdir: /a: File already exists\n');
  });

  it('fsu_write stores standard input, -a appends, and fsu_cat reads it back', async () => {
    assert.equal((await tool(u, 'write', ['/a/w'], 'line one\n')).status, 0);
    assert.equal((await tool(u, 'write', ['-a', '/a/w'], 'line two\n')).status, 0);
    assert.equal((await tool(u, 'cat', ['/a/w'])).stdout, 'line one\nline two\n');
  });

  it('fsu_touch creates files and sets times from -t, -d and -r', async () => {
    assert.equal((await tool(u, 'touch', ['-t', '202001020304.05', '/a/t'])).status, 0);
    assert.equal((await u.stat('/a/t')).mtimeMs, Date.UTC(2020, 0, 2, 3, 4, 5));
    assert.equal((await tool(u, 'touch', ['-m', '-d', '2021-05-06T07:08:09Z', '/a/t'])).status, 0);
    const st = await u.stat('/a/t');
    assert.equal(st.mtimeMs, Date.UTC(2021, 4, 6, 7, 8, 9));
    assert.equal(st.atimeMs, Date.UTC(2020, 0, 2, 3, 4, 5), '-m leaves the access time');
    assert.equal((await tool(u, 'touch', ['-r', '/a/t', '/a/w'])).status, 0);
    assert.equal((await u.stat('/a/w')).mtimeMs, st.mtimeMs);
    assert.equal((await tool(u, 'touch', ['-c', '/a/nocreate'])).status, 0);
    await assert.rejects(u.stat('/a/nocreate'), { code: 'ENOENT' });
    assert.equal((await tool(u, 'touch', ['-t', '2020130101', '/a/t'])).status, 2);
  });

  it('fsu_chmod takes octal and symbolic modes, -R walks trees', async () => {
    await u.writeFile('/a/b/f', 'x');
    assert.equal((await tool(u, 'chmod', ['600', '/a/b/f'])).status, 0);
    assert.equal((await u.stat('/a/b/f')).mode & 0o7777, 0o600);
    assert.equal((await tool(u, 'chmod', ['u+x,g+r', '/a/b/f'])).status, 0);
    assert.equal((await u.stat('/a/b/f')).mode & 0o7777, 0o740);
    assert.equal((await tool(u, 'chmod', ['-w', '/a/b/f'])).status, 0, 'a -w mode is an operand, not a flag');
    assert.equal((await u.stat('/a/b/f')).mode & 0o7777, 0o540);
    assert.equal((await tool(u, 'chmod', ['-R', 'go-rwx', '/a'])).status, 0);
    assert.equal((await u.stat('/a/b')).mode & 0o077, 0);
    assert.equal((await u.stat('/a/b/f')).mode & 0o077, 0);
    const bad = await tool(u, 'chmod', ['u+q', '/a']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /invalid file mode: u\+q/);
  });

  it('fsu_chown takes numbers and names from the image, -h changes links', async () => {
    await u.mkdir('/etc', { recursive: true });
    await u.writeFile('/etc/passwd', 'bob:*:501:20::/home/bob:/bin/sh\n');
    await u.writeFile('/etc/group', 'staff:*:20:bob\n');
    assert.equal((await tool(u, 'chown', ['12:34', '/a/w'])).status, 0);
    let st = await u.stat('/a/w');
    assert.deepEqual([st.uid, st.gid], [12, 34]);
    assert.equal((await tool(u, 'chown', ['bob:staff', '/a/w'])).status, 0);
    st = await u.stat('/a/w');
    assert.deepEqual([st.uid, st.gid], [501, 20]);
    await u.symlink('w', '/a/wl');
    assert.equal((await tool(u, 'chown', ['-h', '7', '/a/wl'])).status, 0);
    assert.equal((await u.lstat('/a/wl')).uid, 7);
    assert.equal((await u.stat('/a/wl')).uid, 501);
    const unknown = await tool(u, 'chown', ['nobody', '/a/w']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /nobody: unknown user/);
  });

  it('fsu_ln, fsu_mv, fsu_rm and fsu_rmdir change names as their namesakes do', async () => {
    assert.equal((await tool(u, 'ln', ['-s', '/a/w', '/lnk'])).status, 0);
    assert.equal(await u.readlink('/lnk'), '/a/w');
    assert.equal((await tool(u, 'ln', ['/a/w', '/a/b'])).status, 0, 'into a directory');
    assert.equal((await u.stat('/a/b/w')).nlink, 2);
    assert.equal((await tool(u, 'ln', ['-sf', '/a/t', '/lnk'])).status, 0);
    assert.equal(await u.readlink('/lnk'), '/a/t');
    assert.equal((await tool(u, 'mv', ['/lnk', '/a/t', '/a/b'])).status, 0);
    assert.deepEqual((await u.readdir('/a/b')).sort(), ['c', 'f', 'lnk', 't', 'w']);
    const notDir = await tool(u, 'mv', ['/a/w', '/private', '/a/w2']);
    assert.equal(notDir.status, 1);
    assert.match(notDir.stderr, /\/a\/w2 is not a directory/);
    const rmDir = await tool(u, 'rm', ['/a/b']);
    assert.equal(rmDir.status, 1);
    assert.equal(rmDir.stderr, 'fsu_rm: /a/b: is a directory\n');
    assert.deepEqual(await tool(u, 'rm', ['-f', '/nope']), { status: 0, stdout: '', stderr: '' });
    assert.equal((await tool(u, 'rm', ['/nope'])).stderr, 'fsu_rm: /nope: No such file or directory\n');
    await u.mkdir('/p/q/r', { recursive: true });
    assert.equal((await tool(u, 'rmdir', ['-p', '/p/q/r'])).status, 0);
    await assert.rejects(u.stat('/p'), { code: 'ENOENT' });
    const notEmpty = await tool(u, 'rmdir', ['/a']);
    assert.equal(notEmpty.stderr, 'fsu_rmdir: /a: Directory not empty\n');
  });

  it('fsu_cp -R -p copies trees keeping modes, owners and times; -a keeps hard links', async () => {
    await u.mkdir('/src/d', { recursive: true });
    await u.writeFile('/src/d/f', 'data');
    await u.chmod('/src/d/f', 0o604);
    await u.chown('/src/d/f', 42, 43);
    await u.utimes('/src/d/f', 1000, 2000);
    await u.link('/src/d/f', '/src/hl');
    await u.symlink('d/f', '/src/sl');
    const noR = await tool(u, 'cp', ['/src', '/dst']);
    assert.equal(noR.status, 1);
    assert.equal(noR.stderr, 'fsu_cp: /src is a directory (not copied)\n');
    assert.equal((await tool(u, 'cp', ['-R', '-p', '/src', '/dst'])).status, 0);
    const st = await u.stat('/dst/d/f');
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs], [0o604, 42, 43, 2_000_000]);
    assert.equal(await u.readlink('/dst/sl'), 'd/f');
    assert.equal((await u.stat('/dst/hl')).nlink, 1, 'cp -R does not keep hard links');
    assert.equal((await tool(u, 'cp', ['-a', '/src', '/arc'])).status, 0);
    assert.equal((await u.stat('/arc/hl')).ino, (await u.stat('/arc/d/f')).ino, 'cp -a keeps hard links');
    assert.equal((await tool(u, 'cp', ['/src/d/f', '/src/hl', '/a'])).status, 0, 'several files into a directory');
    assert.deepEqual((await u.readdir('/a')).includes('hl'), true);
  });

  it('fsu_put and fsu_get move trees between the host and the image', async () => {
    const tree = path.join(host, 'tree');
    fs.mkdirSync(path.join(tree, 'x/y'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'x/y/z.txt'), 'zzz');
    fs.writeFileSync(path.join(tree, 'exec.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.symlinkSync('x/y/z.txt', path.join(tree, 'zl'));
    assert.equal((await tool(u, 'put', ['-R', tree, '/put'])).status, 0);
    assert.equal(await u.readFile('/put/x/y/z.txt', 'utf8'), 'zzz');
    assert.equal((await u.stat('/put/exec.sh')).mode & 0o777, 0o755);
    assert.equal(await u.readlink('/put/zl'), 'x/y/z.txt');
    const back = path.join(host, 'back');
    assert.equal((await tool(u, 'get', ['-R', '/put', back])).status, 0);
    assert.equal(fs.readFileSync(path.join(back, 'x/y/z.txt'), 'utf8'), 'zzz');
    assert.equal(fs.readlinkSync(path.join(back, 'zl')), 'x/y/z.txt');
    assert.equal((await tool(u, 'ecp', ['-p', path.join(tree, 'exec.sh'), '/e.sh'])).status, 0);
    assert.equal((await u.readFile('/e.sh', 'utf8')), '#!/bin/sh\n');
    const noDir = await tool(u, 'ecp', ['/e.sh', path.join(host, 'e')]);
    assert.equal(noDir.status, 2);
    assert.match(noDir.stderr, /-g or -p should be specified/);
  });

  it('fsu_mkfifo and fsu_mknod make special files that fsu_ls shows', async () => {
    assert.equal((await tool(u, 'mkfifo', ['/fifo'])).status, 0);
    assert.equal((await tool(u, 'mknod', ['/blk', 'b', '14', '3'])).status, 0);
    const ls = await tool(u, 'ls', ['-l', '/fifo', '/blk']);
    assert.match(ls.stdout, /^brw-r--r-- 1 0  0  14, 3 \w{3} [ \d]\d [ \d]\d:\d\d \/blk\nprw-r--r-- 1 0  0      0 /);
    assert.equal((await tool(u, 'mknod', ['/bad', 'x', '1', '2'])).status, 2);
  });

  it('fsu_find handles parentheses, -prune, -empty, -newer and -maxdepth', async () => {
    await u.mkdir('/f/skip/deep', { recursive: true });
    await u.mkdir('/f/keep/empty', { recursive: true });
    await u.writeFile('/f/keep/old', '');
    await u.utimes('/f/keep/old', 10, 10);
    await u.writeFile('/f/keep/new', 'n');
    const r = await tool(u, 'find', ['/f', '(', '-name', 'skip', '-prune', ')', '-o', '-type', 'd', '-print']);
    assert.equal(r.stdout, '/f\n/f/keep\n/f/keep/empty\n');
    assert.equal((await tool(u, 'find', ['/f', '-empty'])).stdout, '/f/keep/empty\n/f/keep/old\n/f/skip/deep\n');
    assert.equal((await tool(u, 'find', ['/f/keep', '-newer', '/f/keep/old', '-type', 'f'])).stdout, '/f/keep/new\n');
    assert.equal((await tool(u, 'find', ['/f', '-maxdepth', '1'])).stdout, '/f\n/f/keep\n/f/skip\n');
    assert.equal((await tool(u, 'find', ['/f', '-mindepth', '2', '-maxdepth', '2', '-type', 'd'])).stdout, '/f/keep/empty\n/f/skip/deep\n');
    assert.equal((await tool(u, 'find', ['/f', '-name'])).status, 2);
  });

  it('fsu_du counts hard-linked files once and fsu_df shows tmpfs', async () => {
    await u.mkdir('/du');
    await u.writeFile('/du/a', Buffer.alloc(8192, 1));
    await u.link('/du/a', '/du/b');
    const r = await tool(u, 'du', ['-a', '/du']);
    const fileBlocks = (await u.stat('/du/a')).blocks, dirBlocks = (await u.stat('/du')).blocks;
    assert.equal(fileBlocks, 16);
    assert.equal(r.stdout, `16\t/du/a\n${16 + dirBlocks}\t/du\n`, 'the second link adds nothing');
    const df = await tool(u, 'df', ['-T']);
    assert.match(df.stdout.split('\n')[1]!, /^mem\.img +tmpfs /);
  });

  it('fsu_ls -l aligns columns and lists directories after files', async () => {
    await u.mkdir('/ls/sub', { recursive: true });
    await u.writeFile('/ls/small', 'x');
    await u.writeFile('/ls/large', Buffer.alloc(12345));
    for (const p of ['/ls/small', '/ls/large', '/ls/sub']) await u.utimes(p, T2020, T2020);
    await u.chown('/ls/large', 1234, 56);
    const r = await tool(u, 'ls', ['-l', '/ls']);
    let total = 0;
    for (const n of ['small', 'large', 'sub']) total += (await u.lstat(`/ls/${n}`)).blocks;
    assert.equal(r.stdout, [
      `total ${total}`,
      '-rw-r--r-- 1 1234  56  12345 Jan  2  2020 large',
      '-rw-r--r-- 1 0     0       1 Jan  2  2020 small',
      'drwxr-xr-x 2 0     0      40 Jan  2  2020 sub',
      '',
    ].join('\n').replace(/ 40 /, ` ${String((await u.stat('/ls/sub')).size).padStart(2)} `));
    assert.equal((await tool(u, 'ls', ['-1t', '/ls'])).stdout.split('\n')[0], 'large');
  });
});

describe('fs-utils helpers', () => {
  it('symbolic modes follow chmod(1)', () => {
    const m = (s: string, old: number, dir = false): number => parseModeArg(s)!(old, dir);
    assert.equal(m('755', 0), 0o755);
    assert.equal(m('u+x', 0o644), 0o744);
    assert.equal(m('go-w', 0o666), 0o644);
    assert.equal(m('a=rX', 0o700, true), 0o555);
    assert.equal(m('a=rX', 0o600, false), 0o444);
    assert.equal(m('u+s,g=u', 0o640), 0o4660);
    assert.equal(m('+t', 0o755, true), 0o1755);
    assert.equal(m('=r', 0o777), 0o444);
    assert.equal(parseModeArg('u+q'), null);
    assert.equal(parseModeArg('99999'), null);
  });

  it('globs match as fnmatch does for -name and -path', () => {
    assert.ok(globToRegExp('*.txt', false, false).test('a.txt'));
    assert.ok(!globToRegExp('*.txt', false, false).test('a/b.txt'));
    assert.ok(globToRegExp('*/b.txt', false, true).test('a/x/b.txt'));
    assert.ok(globToRegExp('[!a]?c', false, false).test('xbc'));
    assert.ok(!globToRegExp('[!a]?c', false, false).test('abc'));
    assert.ok(globToRegExp('A*', true, false).test('abc'));
    assert.ok(globToRegExp('a\\*b', false, false).test('a*b'));
    assert.ok(!globToRegExp('a\\*b', false, false).test('axb'));
  });
});
