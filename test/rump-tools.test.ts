/**
 * The rump.* file tools (cp, rm, mv, ln, chmod, chown, df, mount, umount, sysctl, dd) as a user
 * runs them: separate processes against a rump_server found through RUMP_SERVER, output and exit
 * statuses checked, and the results checked through a rumpclient of our own.
 */

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rumpclientInit, type RumpClient } from '../src/client/index.js';
import { O_RDONLY, S_IFMT, S_IFDIR, S_IFLNK, S_IFREG } from '../src/kern/types.js';
import { runTool, startServer, type ServerProc } from './proc-helpers.js';

let srv: ServerProc;
let c: RumpClient;
let env: Record<string, string>;

async function readAll(path: string): Promise<string> {
  const fd = await c.sys.open(path, O_RDONLY, 0);
  try {
    const buf = new Uint8Array(1 << 16);
    const n = await c.sys.read(fd, buf);
    return Buffer.from(buf.subarray(0, n)).toString();
  } finally {
    await c.sys.close(fd);
  }
}

async function put(path: string, text: string): Promise<void> {
  const r = await runTool('rump.dd', [`of=${path}`, 'msgfmt=quiet'], env, text);
  assert.equal(r.code, 0, r.stderr);
}

describe('rump.* file tools', () => {
  before(async () => {
    srv = await startServer(['-l', 'tmpfs']);
    env = { RUMP_SERVER: srv.url };
    c = await rumpclientInit(srv.url);
    await c.sys.mkdir('/tmp', 0o755);
    await c.sys.mount('tmpfs', '/tmp', 0, { mode: 0o1777 });
  });
  after(async () => {
    await c.close();
    await srv.stop();
  });

  it('rump.dd writes standard input into the kernel in blocks and reports records like dd', async () => {
    const r = await runTool('rump.dd', ['of=/tmp/dd', 'bs=4'], env, 'hello world');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^2\+1 records in\n2\+1 records out\n11 bytes transferred in \d+\.\d{3} secs \(\d+ bytes\/sec\)\n$/);
    assert.equal(await readAll('/tmp/dd'), 'hello world');
    // skip/count on input, seek with conv=notrunc on output
    const r2 = await runTool('rump.dd', ['if=/tmp/dd', 'of=/tmp/dd2', 'bs=2', 'skip=3', 'count=2', 'msgfmt=quiet'], env);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stderr, '');
    assert.equal(await readAll('/tmp/dd2'), 'worl');
    const r3 = await runTool('rump.dd', ['of=/tmp/dd', 'bs=1', 'seek=6', 'conv=notrunc', 'msgfmt=quiet'], env, 'W');
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(await readAll('/tmp/dd'), 'hello World');
    // seek without notrunc cuts the file there
    await runTool('rump.dd', ['of=/tmp/dd', 'bs=1', 'seek=5', 'msgfmt=quiet'], env, '!');
    assert.equal(await readAll('/tmp/dd'), 'hello!');
    const out = await runTool('rump.dd', ['if=/tmp/dd', 'ibs=4', 'obs=3'], env);
    assert.equal(out.stdout, 'hello!');
    assert.match(out.stderr, /^1\+1 records in\n2\+0 records out\n/);
    const bad = await runTool('rump.dd', ['if=/tmp/nope'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^rump\.dd: \/tmp\/nope: No such file or directory$/m);
    assert.equal((await runTool('rump.dd', ['bs=x'], env)).code, 2);
  });

  it('rump.cp copies files and, with -R, trees with symbolic links kept as links', async () => {
    await c.sys.mkdir('/tmp/src', 0o755);
    await c.sys.mkdir('/tmp/src/sub', 0o750);
    await put('/tmp/src/sub/f', 'data\n');
    await c.sys.symlink('f', '/tmp/src/sub/l');
    const cp = await runTool('rump.cp', ['-Rv', '/tmp/src', '/tmp/copy'], env);
    assert.equal(cp.code, 0, cp.stderr);
    assert.match(cp.stdout, /^\/tmp\/src\/sub\/f -> \/tmp\/copy\/sub\/f$/m);
    assert.equal(await readAll('/tmp/copy/sub/f'), 'data\n');
    assert.equal((await c.sys.lstat('/tmp/copy/sub/l')).mode & S_IFMT, S_IFLNK);
    assert.equal(await c.sys.readlink('/tmp/copy/sub/l'), 'f');
    assert.equal((await c.sys.stat('/tmp/copy/sub')).mode & 0o777, 0o750);
    // into a directory, several sources
    await c.sys.mkdir('/tmp/into', 0o755);
    assert.equal((await runTool('rump.cp', ['/tmp/src/sub/f', '/tmp/dd', '/tmp/into'], env)).code, 0);
    assert.equal(await readAll('/tmp/into/f'), 'data\n');
    assert.equal(await readAll('/tmp/into/dd'), 'hello!');
    const dir = await runTool('rump.cp', ['/tmp/src', '/tmp/x'], env);
    assert.equal(dir.code, 1);
    assert.match(dir.stderr, /^rump\.cp: \/tmp\/src is a directory \(not copied\)\.$/m);
    const same = await runTool('rump.cp', ['/tmp/into/f', '/tmp/into/f'], env);
    assert.match(same.stderr, /are identical \(not copied\)/);
    const many = await runTool('rump.cp', ['/tmp/into/f', '/tmp/into/dd', '/tmp/into/f'], env);
    assert.equal(many.code, 1);
    assert.match(many.stderr, /is not a directory/);
  });

  it('rump.mv renames, moves into directories, and rump.ln makes hard and symbolic links', async () => {
    await put('/tmp/mv1', 'one');
    const mv = await runTool('rump.mv', ['-v', '/tmp/mv1', '/tmp/mv2'], env);
    assert.equal(mv.code, 0, mv.stderr);
    assert.equal(mv.stdout, '/tmp/mv1 -> /tmp/mv2\n');
    assert.equal(await readAll('/tmp/mv2'), 'one');
    await c.sys.mkdir('/tmp/mvdir', 0o755);
    assert.equal((await runTool('rump.mv', ['/tmp/mv2', '/tmp/mvdir'], env)).code, 0);
    assert.equal(await readAll('/tmp/mvdir/mv2'), 'one');
    const gone = await runTool('rump.mv', ['/tmp/nope', '/tmp/x'], env);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'rump.mv: rename /tmp/nope to /tmp/x: No such file or directory\n');

    assert.equal((await runTool('rump.ln', ['/tmp/mvdir/mv2', '/tmp/hard'], env)).code, 0);
    const a = await c.sys.stat('/tmp/mvdir/mv2'), b = await c.sys.stat('/tmp/hard');
    assert.equal(a.ino, b.ino);
    assert.equal(b.nlink, 2);
    const again = await runTool('rump.ln', ['/tmp/mvdir/mv2', '/tmp/hard'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^rump\.ln: \/tmp\/hard: File already exists$/m);
    const s = await runTool('rump.ln', ['-sv', '../tmp/mvdir/mv2', '/tmp/soft'], env);
    assert.equal(s.stdout, '/tmp/soft -> ../tmp/mvdir/mv2\n');
    assert.equal(await c.sys.readlink('/tmp/soft'), '../tmp/mvdir/mv2');
    assert.equal(await readAll('/tmp/soft'), 'one');
    assert.equal((await runTool('rump.ln', ['-sf', 'elsewhere', '/tmp/soft'], env)).code, 0);
    assert.equal(await c.sys.readlink('/tmp/soft'), 'elsewhere');
  });

  it('rump.rm removes files, trees with -r, and is quiet about missing files with -f', async () => {
    await c.sys.mkdir('/tmp/rmme', 0o755);
    await c.sys.mkdir('/tmp/rmme/d', 0o755);
    await put('/tmp/rmme/d/f', 'x');
    const nor = await runTool('rump.rm', ['/tmp/rmme'], env);
    assert.equal(nor.code, 1);
    assert.equal(nor.stderr, 'rump.rm: /tmp/rmme: is a directory\n');
    const r = await runTool('rump.rm', ['-rv', '/tmp/rmme'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '/tmp/rmme/d/f\n/tmp/rmme/d\n/tmp/rmme\n');
    await assert.rejects(c.sys.lstat('/tmp/rmme'), { code: 'ENOENT' });
    const missing = await runTool('rump.rm', ['/tmp/nope'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'rump.rm: /tmp/nope: No such file or directory\n');
    const forced = await runTool('rump.rm', ['-f', '/tmp/nope'], env);
    assert.deepEqual([forced.code, forced.stderr], [0, '']);
    const dots = await runTool('rump.rm', ['-rf', '/tmp/..'], env);
    assert.equal(dots.code, 1);
    assert.match(dots.stderr, /"\." and "\.\." may not be removed/);
  });

  it('rump.chmod takes octal and symbolic modes, recursively; rump.chown sets numeric owners', async () => {
    await c.sys.mkdir('/tmp/perm', 0o755);
    await put('/tmp/perm/f', 'x');
    await c.sys.chmod('/tmp/perm/f', 0o644);
    assert.equal((await runTool('rump.chmod', ['-R', 'go-rwx', '/tmp/perm'], env)).code, 0);
    assert.equal((await c.sys.stat('/tmp/perm')).mode & 0o7777, 0o700);
    assert.equal((await c.sys.stat('/tmp/perm/f')).mode & 0o7777, 0o600);
    assert.equal((await runTool('rump.chmod', ['u+x,g=u', '/tmp/perm/f'], env)).code, 0);
    assert.equal((await c.sys.stat('/tmp/perm/f')).mode & 0o7777, 0o770);
    assert.equal((await runTool('rump.chmod', ['4751', '/tmp/perm/f'], env)).code, 0);
    assert.equal((await c.sys.stat('/tmp/perm/f')).mode & 0o7777, 0o4751);
    const bad = await runTool('rump.chmod', ['u+q', '/tmp/perm/f'], env);
    assert.deepEqual([bad.code, bad.stderr], [1, 'rump.chmod: Invalid file mode: u+q\n']);

    const ch = await runTool('rump.chown', ['-Rv', '1000:100', '/tmp/perm'], env);
    assert.equal(ch.code, 0, ch.stderr);
    assert.equal(ch.stdout, '/tmp/perm\n/tmp/perm/f\n');
    const st = await c.sys.stat('/tmp/perm/f');
    assert.deepEqual([st.uid, st.gid], [1000, 100]);
    assert.equal((await runTool('rump.chown', [':7', '/tmp/perm'], env)).code, 0);
    const d = await c.sys.stat('/tmp/perm');
    assert.deepEqual([d.uid, d.gid], [1000, 7]);
    const who = await runTool('rump.chown', ['nobody', '/tmp/perm'], env);
    assert.deepEqual([who.code, who.stderr], [1, 'rump.chown: nobody: illegal user name\n']);
  });

  it('rump.mount mounts with -o options and lists mounts like mount(8); rump.df and rump.umount follow', async () => {
    await c.sys.mkdir('/mnt', 0o755);
    const m = await runTool('rump.mount', ['-v', '-t', 'tmpfs', '-o', 'ro,nosuid,size=1m', 'tmpfs', '/mnt'], env);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stdout, 'tmpfs on /mnt type tmpfs (nosuid, read-only, local)\n');
    const list = await runTool('rump.mount', [], env);
    assert.equal(list.stdout, 'rumpfs on / type rumpfs (local)\ntmpfs on /tmp type tmpfs (local)\ntmpfs on /mnt type tmpfs (nosuid, read-only, local)\n');
    await assert.rejects(c.sys.mkdir('/mnt/x', 0o755), { code: 'EROFS' });

    const df = await runTool('rump.df', ['-k', '/mnt'], env);
    assert.equal(df.code, 0, df.stderr);
    const lines = df.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^Filesystem +1K-blocks +Used +Avail +%Cap Mounted on$/);
    assert.match(lines[1]!, /^tmpfs +1024 +0 +1024 +0% \/mnt$/);
    const dfh = await runTool('rump.df', ['-h', '-t', 'tmpfs'], env);
    assert.match(dfh.stdout, /^Filesystem +Size +Used +Avail +%Cap Mounted on$/m);
    assert.match(dfh.stdout, /^tmpfs +1\.0M +0B +1\.0M +0% \/mnt$/m);
    assert.doesNotMatch(dfh.stdout, /rumpfs/);

    const bad = await runTool('rump.mount', ['-t', 'nosuchfs', 'x', '/mnt'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^rump\.mount: x on \/mnt: /);
    const um = await runTool('rump.umount', ['-v', '/mnt'], env);
    assert.equal(um.code, 0, um.stderr);
    assert.equal(um.stdout, 'tmpfs: unmount from /mnt\n');
    const not = await runTool('rump.umount', ['/mnt'], env);
    assert.deepEqual([not.code, not.stderr], [1, 'rump.umount: /mnt: not currently mounted\n']);
    // -f revokes what is open
    await runTool('rump.mount', ['-t', 'tmpfs', 'tmpfs', '/mnt'], env);
    await put('/mnt/busy', 'x');
    const fd = await c.sys.open('/mnt/busy', O_RDONLY, 0);
    assert.equal((await runTool('rump.umount', ['/mnt'], env)).code, 1);
    assert.equal((await runTool('rump.umount', ['-f', '/mnt'], env)).code, 0);
    await c.sys.close(fd).catch(() => undefined);
    assert.equal((await c.sys.stat('/mnt')).mode & S_IFMT, S_IFDIR);
  });

  it('rump.sysctl reads, lists with -a and sets name=value as sysctl(8) prints them', async () => {
    const r = await runTool('rump.sysctl', ['kern.ostype', 'kern.hostname'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^kern\.ostype = NetBSD\nkern\.hostname = \S+\n$/);
    const set = await runTool('rump.sysctl', ['-w', 'kern.hostname=rumpy'], env);
    assert.match(set.stdout, /^kern\.hostname: \S+ -> rumpy\n$/);
    assert.equal((await runTool('rump.sysctl', ['-n', 'kern.hostname'], env)).stdout, 'rumpy\n');
    const all = await runTool('rump.sysctl', ['-a'], env);
    assert.match(all.stdout, /^kern\.hostname = rumpy$/m);
    assert.match(all.stdout, /^hw\.machine = \S+$/m);
    const node = await runTool('rump.sysctl', ['kern'], env);
    assert.match(node.stdout, /^kern\.ostype = NetBSD$/m);
    assert.doesNotMatch(node.stdout, /^hw\./m);
    const unknown = await runTool('rump.sysctl', ['kern.nosuch'], env);
    assert.deepEqual([unknown.code, unknown.stderr], [1, "rump.sysctl: second level name 'nosuch' in 'kern.nosuch' is invalid\n"]);
    const ro = await runTool('rump.sysctl', ['kern.ostype=Linux'], env);
    assert.equal(ro.code, 1);
    assert.match(ro.stderr, /^rump\.sysctl: kern\.ostype: Operation not permitted$/m);
  });

  it('the tools check their command lines before connecting (status 2 with usage)', async () => {
    for (const [tool, args] of [['rump.cp', ['one']], ['rump.mv', []], ['rump.chmod', ['755']], ['rump.mount', ['x', '/y']], ['rump.umount', []]] as const) {
      const r = await runTool(tool, [...args], { RUMP_SERVER: undefined });
      assert.equal(r.code, 2, `${tool}: ${r.stderr}`);
      assert.match(r.stderr, /usage: /);
    }
    assert.equal((await c.sys.stat('/tmp/into/f')).mode & S_IFMT, S_IFREG);
  });
});
