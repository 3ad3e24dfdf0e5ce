/**
 * rump_server and rumpclient end to end, in one process: a kernel served on a unix socket in a
 * temporary directory (and on tcp://127.0.0.1:0), used by clients through the wire protocol.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { KernelError } from '../src/kern/errno.js';
import { POLLIN } from '../src/kern/file.js';
import {
  AT_FDCWD, DT_DIR, DT_REG, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, S_IFIFO, S_ISREG,
} from '../src/kern/types.js';
import { rumpclientInit, type RumpClient } from '../src/client/index.js';
import { serve } from '../src/server/index.js';
import { Raw, setup, sleep, waitFor } from './server-helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function readAll(c: RumpClient, path: string): Promise<string> {
  const fd = await c.sys.open(path, O_RDONLY, 0);
  const parts: string[] = [];
  const buf = new Uint8Array(4096);
  for (let n = await c.sys.read(fd, buf); n > 0; n = await c.sys.read(fd, buf)) parts.push(dec(buf.subarray(0, n)));
  await c.sys.close(fd);
  return parts.join('');
}

describe('file syscalls over the wire', () => {
  for (const transport of ['unix', 'tcp'] as const) {
    it(`open, write, read, stat, getdents and rename work over ${transport}://`, async () => {
      const s = await setup({ tcp: transport === 'tcp' });
      try {
        if (transport === 'tcp') assert.match(s.url, /^tcp:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
        else assert.equal(s.url, `unix://${s.sockPath}`);
        const c = await rumpclientInit(s.url);
        await c.sys.mkdir('/tmp/d', 0o755);
        const fd = await c.sys.open('/tmp/d/a.txt', O_CREAT | O_RDWR, 0o644);
        assert.equal(await c.sys.write(fd, enc('hello, wire')), 11);
        const buf = new Uint8Array(64);
        assert.equal(await c.sys.pread(fd, buf, 7), 4);
        assert.equal(dec(buf.subarray(0, 4)), 'wire');
        const st = await c.sys.fstat(fd);
        assert.ok(S_ISREG(st.mode));
        assert.equal(st.size, 11);
        await c.sys.close(fd);
        await c.sys.rename('/tmp/d/a.txt', '/tmp/d/b.txt');
        await c.sys.mkdir('/tmp/d/sub', 0o700);
        const dfd = await c.sys.open('/tmp/d', O_RDONLY, 0);
        const names: [string, number][] = [];
        for (let ents = await c.sys.getdents(dfd, 2); ents.length > 0; ents = await c.sys.getdents(dfd, 2)) {
          for (const e of ents) names.push([e.name, e.type]);
        }
        await c.sys.close(dfd);
        assert.deepEqual(names.filter(([n]) => n !== '.' && n !== '..').sort(), [['b.txt', DT_REG], ['sub', DT_DIR]]);
        // the in-process view agrees
        assert.equal((await s.k.sys.stat(s.l, '/tmp/d/b.txt')).size, 11);
        await c.close();
      } finally {
        await s.cleanup();
      }
    });
  }

  it('moves readv/writev, symlinks, times, mounts, statvfs and sysctl values through their codecs', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      const fd = await c.sys.open('/tmp/v', O_CREAT | O_RDWR, 0o600);
      assert.equal(await c.sys.writev(fd, [enc('ab'), enc(''), enc('cdef')]), 6);
      const a = new Uint8Array(3), b = new Uint8Array(10);
      assert.equal(await c.sys.preadv(fd, [a, b], 0), 6);
      assert.equal(dec(a) + dec(b.subarray(0, 3)), 'abcdef');
      assert.equal(await c.sys.lseek(fd, -2, 2), 4);
      await c.sys.close(fd);
      await c.sys.symlink('v', '/tmp/link');
      assert.equal(await c.sys.readlink('/tmp/link'), 'v');
      await c.sys.utimes('/tmp/v', [{ sec: 1_000_000, nsec: 5 }, { sec: 2_000_000, nsec: 7 }]);
      const st = await c.sys.stat('/tmp/v');
      assert.deepEqual([st.atimeSec, st.atimeNsec, st.mtimeSec, st.mtimeNsec], [1_000_000, 5, 2_000_000, 7]);
      await c.sys.mkdir('/tmp/m', 0o755);
      await c.sys.mount('tmpfs', '/tmp/m', 0, { size: '1m' });
      const sv = await c.sys.statvfs('/tmp/m');
      assert.equal(sv.fstypename, 'tmpfs');
      assert.equal(sv.mntonname, '/tmp/m');
      assert.equal(await c.sys.__sysctl('kern.ostype', null), 'NetBSD');
      assert.equal(await c.sys.getcwd(), '/');
      await c.sys.chdir('/tmp');
      assert.equal(await c.sys.getcwd(), '/tmp');
      assert.equal(await readAll(c, 'v'), 'abcdef');
      await c.close();
    } finally {
      await s.cleanup();
    }
  });

  it('moves a 1 MiB write and read intact, and serves a read larger than maxIo short', async () => {
    const s = await setup({ maxIo: 256 * 1024 });
    try {
      const c = await rumpclientInit(s.url);
      assert.equal(c.maxIo, 256 * 1024);
      const data = new Uint8Array(1 << 20);
      for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 5) & 0xff;
      const fd = await c.sys.open('/tmp/big', O_CREAT | O_RDWR, 0o644);
      let off = 0;
      while (off < data.length) off += await c.sys.pwrite(fd, data.subarray(off), off);
      const back = new Uint8Array(data.length);
      const first = await c.sys.pread(fd, back, 0);
      assert.equal(first, 256 * 1024, 'a read is cut to maxIo');
      let got = first;
      while (got < back.length) got += await c.sys.pread(fd, back.subarray(got), got);
      assert.deepEqual(back, data);
      await c.close();
    } finally {
      await s.cleanup();
    }
  });

  it('throws the same KernelError remotely as in-process: code, errno, message, syscall and path', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      const local = await s.k.sys.open(s.l, '/tmp/nope/x', O_RDONLY, 0).then(() => null, (e: unknown) => e as KernelError);
      const remote = await c.sys.open('/tmp/nope/x', O_RDONLY, 0).then(() => null, (e: unknown) => e as KernelError);
      assert.ok(local instanceof KernelError && remote instanceof KernelError);
      assert.deepEqual(
        { code: remote.code, errno: remote.errno, message: remote.message, syscall: remote.syscall, path: remote.path },
        { code: local.code, errno: local.errno, message: local.message, syscall: local.syscall, path: local.path },
      );
      assert.equal(remote.code, 'ENOENT');
      await assert.rejects(c.sys.close(99), { code: 'EBADF', errno: 9, syscall: 'close' });
      // a bad argument is refused before it leaves the client
      await assert.rejects(c.sys.close(1.5), (e: unknown) => e instanceof KernelError && e.code === 'EINVAL' && e.syscall === 'close');
      await c.close();
    } finally {
      await s.cleanup();
    }
  });
});

describe('clients are processes', () => {
  it('gives two clients different processes with the credentials they asked for, and checks permissions by them', async () => {
    const s = await setup();
    try {
      const root = await rumpclientInit(s.url);
      const user = await rumpclientInit(s.url, { uid: 1000, gid: 100 });
      assert.notEqual(root.pid, user.pid);
      assert.equal(await root.sys.getpid(), root.pid);
      assert.equal(await user.sys.getpid(), user.pid);
      assert.equal(await user.sys.getuid(), 1000);
      assert.equal(await user.sys.getgid(), 100);
      assert.equal(await root.sys.geteuid(), 0);
      const fd = await root.sys.open('/tmp/secret', O_CREAT | O_WRONLY, 0o600);
      await root.sys.write(fd, enc('root only'));
      await root.sys.close(fd);
      await assert.rejects(user.sys.open('/tmp/secret', O_RDONLY, 0), { code: 'EACCES', syscall: 'open', path: '/tmp/secret' });
      assert.equal(await readAll(root, '/tmp/secret'), 'root only');
      // each has its own cwd
      await user.sys.chdir('/tmp');
      assert.equal(await root.sys.getcwd(), '/');
      await root.close();
      await user.close();
    } finally {
      await s.cleanup();
    }
  });

  it('pins every client to the server\'s credentials when it sets them (rump_server -u/-g)', async () => {
    const s = await setup({ cred: { uid: 1000, gid: 1000 } });
    try {
      const c = await rumpclientInit(s.url, { uid: 0, gid: 0 });
      assert.equal(c.uid, 1000);
      assert.equal(await c.sys.geteuid(), 1000);
      await assert.rejects(c.sys.reboot(0, ''), { code: 'EPERM' });
      assert.equal(s.k.halted, false);
      await c.close();
    } finally {
      await s.cleanup();
    }
  });

  it('closes a client\'s descriptors and ends its process when it disconnects', async () => {
    const s = await setup();
    try {
      const base = s.k.nfiles;
      const c = await rumpclientInit(s.url);
      for (let i = 0; i < 5; i++) await c.sys.open(`/tmp/f${i}`, O_CREAT | O_RDWR, 0o644);
      await c.sys.pipe();
      assert.equal(s.k.nfiles, base + 7);
      const pid = c.pid;
      assert.ok(s.k.procs.has(pid));
      await c.close();
      await waitFor(() => s.k.nfiles === base && !s.k.procs.has(pid), 'the descriptors to close');
      assert.equal(s.server.clients, 0);
    } finally {
      await s.cleanup();
    }
  });

  it('closes a descriptor that a syscall still blocked at disconnect installs later', async () => {
    const s = await setup();
    try {
      await s.k.sys.mkfifo(s.l, '/tmp/fifo', 0o666);
      const base = s.k.nfiles;
      const c = await rumpclientInit(s.url);
      const blocked = c.sys.open('/tmp/fifo', O_RDONLY, 0).catch((e: unknown) => e);
      await sleep(20);
      await c.close();
      assert.equal((await blocked as KernelError).code, 'ENOTCONN');
      // a writer arrives: the exited client's open completes in the kernel, into the void
      const wfd = await s.k.sys.open(s.l, '/tmp/fifo', O_WRONLY, 0);
      await s.k.sys.close(s.l, wfd);
      await waitFor(() => s.k.nfiles === base, 'the late descriptor to be closed');
    } finally {
      await s.cleanup();
    }
  });

  it('forks: the child has its own pid, the parent as ppid, and shares the open files', async () => {
    const s = await setup();
    try {
      const parent = await rumpclientInit(s.url, { uid: 7, gid: 8 });
      const fd = await parent.sys.open('/tmp/shared', O_CREAT | O_RDWR, 0o644);
      await parent.sys.write(fd, enc('abc'));
      await parent.sys.chdir('/tmp');
      const child = await parent.fork();
      assert.notEqual(child.pid, parent.pid);
      assert.equal(await child.sys.getppid(), parent.pid);
      assert.equal(await child.sys.getuid(), 7);
      assert.equal(await child.sys.getcwd(), '/tmp');
      assert.equal(await child.sys.lseek(fd, 0, SEEK_CUR), 3, 'the offset is shared');
      await child.sys.write(fd, enc('def'));
      assert.equal(await parent.sys.lseek(fd, 0, SEEK_CUR), 6);
      await parent.sys.close(fd);
      const buf = new Uint8Array(10);
      assert.equal(await child.sys.pread(fd, buf, 0), 6, "the parent's close leaves the child's descriptor open");
      await parent.close();
      await child.close();
    } finally {
      await s.cleanup();
    }
  });

  it('accepts a prefork cookie once, and lets an unclaimed one expire with its process', async () => {
    const s = await setup({ preforkTimeoutMs: 100 });
    try {
      const parent = await rumpclientInit(s.url);
      const cookie = await parent.prefork();
      assert.match(cookie, /^[0-9a-f]{32}$/);
      const child = await rumpclientInit(s.url, { cookie });
      assert.equal(await child.sys.getppid(), parent.pid);
      await assert.rejects(rumpclientInit(s.url, { cookie }), { code: 'ESRCH' });
      const nprocs = s.k.procs.size;
      await parent.prefork();
      assert.equal(s.k.procs.size, nprocs + 1);
      await waitFor(() => s.k.procs.size === nprocs, 'the unclaimed fork to expire');
      await parent.close();
      await child.close();
    } finally {
      await s.cleanup();
    }
  });
});

describe('concurrency on one connection', () => {
  it('completes other calls while a pipe read blocks, then completes the read when data comes', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      const [r, w] = await c.sys.pipe();
      const buf = new Uint8Array(16);
      let done = false;
      const pending = c.sys.read(r, buf).then((n) => { done = true; return n; });
      for (let i = 0; i < 20; i++) assert.equal(await c.sys.getpid(), c.pid);
      await c.sys.stat('/tmp');
      assert.equal(done, false);
      assert.equal(c.outstanding, 1);
      assert.equal(await c.sys.write(w, enc('hello')), 5);
      assert.equal(await pending, 5);
      assert.equal(dec(buf.subarray(0, 5)), 'hello');
      await c.close();
    } finally {
      await s.cleanup();
    }
  });

  it('waits in poll without holding up the connection', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      const [r, w] = await c.sys.pipe();
      const polled = c.sys.poll([{ fd: r, events: POLLIN }], -1);
      await c.sys.stat('/');
      await c.sys.write(w, enc('x'));
      const rev = await polled;
      assert.equal(rev.length, 1);
      assert.ok((rev[0]! & POLLIN) !== 0);
      await c.close();
    } finally {
      await s.cleanup();
    }
  });

  it('answers 256 pipelined calls, each with its own result', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      for (let i = 0; i < 8; i++) {
        const fd = await c.sys.open(`/tmp/p${i}`, O_CREAT | O_RDWR, 0o644);
        await c.sys.write(fd, new Uint8Array(i * 100));
        await c.sys.close(fd);
      }
      const sizes = await Promise.all(Array.from({ length: 256 }, (_, j) => c.sys.stat(`/tmp/p${j % 8}`).then((st) => st.size)));
      assert.deepEqual(sizes, Array.from({ length: 256 }, (_, j) => (j % 8) * 100));
      await c.close();
    } finally {
      await s.cleanup();
    }
  });
});

describe('server life', () => {
  it('stops on a client\'s reboot: the kernel syncs, unmounts everything and halts, the socket goes away', async () => {
    const s = await setup();
    try {
      const admin = await rumpclientInit(s.url);
      const user = await rumpclientInit(s.url, { uid: 1000, gid: 1000 });
      await assert.rejects(user.sys.reboot(0, ''), { code: 'EPERM' });
      assert.equal(await user.sys.getuid(), 1000, 'a refused reboot leaves the server running');
      await admin.sys.open('/tmp/open-at-halt', O_CREAT | O_RDWR, 0o644);
      await admin.sys.reboot(0, '');
      await s.server.done;
      assert.equal(s.k.halted, true);
      assert.equal(s.k.vfs!.mounts.length, 0, 'every file system was unmounted');
      assert.equal(existsSync(s.sockPath), false);
      await user.closed;
      await assert.rejects(user.sys.getpid(), { code: 'ENOTCONN' });
      await assert.rejects(rumpclientInit(s.url), (e: unknown) => e instanceof KernelError && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED'));
    } finally {
      await s.cleanup();
    }
  });

  it('stops when the kernel is halted in-process', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      await s.k.halt();
      await s.server.done;
      await c.closed;
      await assert.rejects(c.sys.getpid(), { code: 'ENOTCONN' });
    } finally {
      await s.cleanup();
    }
  });

  it('close() stops serving but leaves the kernel running', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      const pid = c.pid;
      await s.server.close();
      await c.closed;
      assert.equal(s.k.halted, false);
      await waitFor(() => !s.k.procs.has(pid), "the client's process to exit");
      assert.equal(await s.k.sys.getpid(s.l), 1);
    } finally {
      await s.cleanup();
    }
  });

  it('refuses to listen on a non-loopback address unless told to', async () => {
    const s = await setup();
    try {
      await assert.rejects(serve(s.k, 'tcp://0.0.0.0:0'), (e: unknown) => e instanceof KernelError && e.code === 'EPERM' && /not a loopback address/.test(e.message));
      await assert.rejects(serve(s.k, 'tcp://192.0.2.1:0'), { code: 'EPERM' });
    } finally {
      await s.cleanup();
    }
  });

  it('takes over a stale socket file but refuses a live one with EADDRINUSE', async () => {
    const s = await setup();
    try {
      await assert.rejects(serve(s.k, s.url), { code: 'EADDRINUSE' });
      const stale = join(s.dir, 'stale');
      // a server that died without removing its socket
      try {
        execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      } catch {
        // killed, as intended
      }
      assert.ok(existsSync(stale));
      const s2 = await serve(s.k, `unix://${stale}`);
      const c = await rumpclientInit(s2.url);
      assert.equal(typeof (await c.sys.getpid()), 'number');
      await c.close();
      await s2.close();
    } finally {
      await s.cleanup();
    }
  });

  it('refuses clients beyond maxClients with EAGAIN and serves the others', async () => {
    const s = await setup({ maxClients: 2 });
    try {
      const a = await rumpclientInit(s.url);
      const b = await rumpclientInit(s.url);
      await assert.rejects(rumpclientInit(s.url), (e: unknown) => e instanceof KernelError && e.code === 'EAGAIN' && /already has 2 clients/.test(e.message));
      assert.equal(await a.sys.getpid(), a.pid);
      await b.close();
      await waitFor(() => s.server.clients === 1, 'the slot to free');
      const c = await rumpclientInit(s.url);
      await c.close();
      await a.close();
    } finally {
      await s.cleanup();
    }
  });

  it('counts the raw connection as a process only after its handshake', async () => {
    const s = await setup();
    try {
      const n = s.k.procs.size;
      const raw = await Raw.connect(s.sockPath);
      await raw.until(() => raw.banner !== null, 'the banner');
      assert.match(raw.banner!, /^RUMPSP-TS\/1 NetBSD /);
      assert.equal(s.k.procs.size, n);
      await raw.handshake();
      assert.equal(s.k.procs.size, n + 1);
      raw.destroy();
      await waitFor(() => s.k.procs.size === n, 'the process to exit');
    } finally {
      await s.cleanup();
    }
  });

  it('sees a FIFO made remotely as a FIFO in-process', async () => {
    const s = await setup();
    try {
      const c = await rumpclientInit(s.url);
      await c.sys.mknodat(AT_FDCWD, '/tmp/ff', S_IFIFO | 0o644, 0);
      assert.equal((await s.k.sys.stat(s.l, '/tmp/ff')).mode & 0o170000, S_IFIFO);
      await c.close();
    } finally {
      await s.cleanup();
    }
  });
});
