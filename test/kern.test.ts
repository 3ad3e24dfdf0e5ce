import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kern/kernel.js';
import { KMutex, KRWLock, KCondvar, RW_READER, RW_WRITER } from '../src/kern/sync.js';
import { orderComponents, resolveComponents, type Component } from '../src/kern/component.js';
import { KernelError, errno, errnoName, strerror, toNodeError } from '../src/kern/errno.js';
import { SYSCALLS } from '../src/kern/syscalltable.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { O_NONBLOCK, F_GETFL, F_SETFL, F_GETFD, F_SETFD, FD_CLOEXEC, O_CLOEXEC } from '../src/kern/types.js';

const boot = (opts: Partial<Parameters<typeof Kernel.boot>[0]> = {}) => Kernel.boot({ host: memoryHost(), ...opts });

describe('kernel instances', () => {
  it('boots with only the kern core and answers process syscalls', async () => {
    const k = await boot();
    assert.equal(await k.sys.getpid(k.initLwp), 1);
    assert.equal(await k.sys.getuid(k.initLwp), 0);
    await k.halt();
  });

  it('fails file system syscalls with ENOSYS when no vfs component is present', async () => {
    const k = await boot();
    await assert.rejects(k.sys.open(k.initLwp, '/x', 0, 0), (e: KernelError) => e.code === 'ENOSYS' && e.syscall === 'open' && e.path === '/x');
    await k.halt();
  });

  it('keeps many kernels in one process independent', async () => {
    const ks = await Promise.all(Array.from({ length: 50 }, (_, i) => boot({ hostname: `k${i}` })));
    await ks[3]!.sys.__sysctl(ks[3]!.initLwp, 'kern.hostname', 'changed');
    assert.equal(await ks[3]!.sys.__sysctl(ks[3]!.initLwp, 'kern.hostname', null), 'changed');
    assert.equal(await ks[4]!.sys.__sysctl(ks[4]!.initLwp, 'kern.hostname', null), 'k4');
    const p = ks[0]!.newProc();
    assert.equal(ks[0]!.procs.has(p.proc.pid), true);
    assert.equal(ks[1]!.procs.has(p.proc.pid), false);
    await assert.rejects(ks[1]!.sys.getpid(p), { code: 'EINVAL' });
    await Promise.all(ks.map((k) => k.halt()));
  });

  it('refuses syscalls after halt and halts only once', async () => {
    const k = await boot();
    await Promise.all([k.halt(), k.halt()]);
    await assert.rejects(k.sys.getpid(k.initLwp), { code: 'ENXIO' });
  });

  it('leaves no callouts running after halt', async () => {
    const k = await boot();
    const c = k.callouts.create();
    let fired = false;
    c.reset(10_000, () => { fired = true; });
    assert.equal(k.callouts.count, 1);
    await k.halt();
    assert.equal(k.callouts.count, 0);
    assert.equal(fired, false);
  });

  it('refuses a host of another rumpuser version with EPROGMISMATCH', async () => {
    const h = memoryHost();
    const bad = Object.create(h) as typeof h;
    Object.defineProperty(bad, 'init', { value: () => { throw Object.assign(new Error('version 16'), { code: 'EPROGMISMATCH' }); } });
    await assert.rejects(Kernel.boot({ host: bad }), { code: 'EPROGMISMATCH' });
  });

  it('gives new processes their own pid and credentials', async () => {
    const k = await boot();
    const a = k.newProc({ uid: 1000, gid: 100 });
    const b = k.newProc({ uid: 1001, gid: 100 });
    assert.notEqual(a.proc.pid, b.proc.pid);
    assert.equal(await k.sys.geteuid(a), 1000);
    assert.equal(await k.sys.getegid(b), 100);
    await assert.rejects(k.sys.setuid(a, 0), { code: 'EPERM' });
    await assert.rejects(k.sys.reboot(a, 0, ''), { code: 'EPERM' });
    await k.procExit(a.proc);
    assert.equal(k.procs.has(a.proc.pid), false);
    await k.halt();
  });
});

describe('kernel memory', () => {
  it('refuses allocations over the limit with ENOMEM and recovers after freeing', async () => {
    const k = await boot({ memlimit: '1m' });
    assert.equal(k.kmem.limit, 1 << 20);
    const a = k.kmem.alloc(700 * 1024, 'test');
    assert.throws(() => k.kmem.alloc(400 * 1024, 'test'), (e: KernelError) => e.code === 'ENOMEM' && /over the kernel memory limit/.test(e.message));
    k.kmem.free(a);
    k.kmem.alloc(400 * 1024, 'test');
    await k.halt();
  });

  it('takes the limit from the host RUMP_MEMLIMIT parameter', async () => {
    const k = await Kernel.boot({ host: memoryHost({ params: { RUMP_MEMLIMIT: '2m' } }) });
    assert.equal(k.kmem.limit, 2 << 20);
    assert.equal(await k.sys.__sysctl(k.initLwp, 'hw.physmem', null), 2 << 20);
    await k.halt();
  });

  it('rejects a malformed memory limit with EINVAL', async () => {
    await assert.rejects(boot({ memlimit: 'lots' }), { code: 'EINVAL' });
  });
});

describe('components', () => {
  const mk = (name: string, type: Component['type'], deps: string[] = [], log?: string[]): Component =>
    ({ name, type, deps, init: () => { log?.push(name); } });

  it('orders by type, then dependencies', () => {
    const order = orderComponents([mk('shmif', 'net-if', ['net']), mk('tmpfs', 'fs', ['vfs']), mk('net', 'net'), mk('vfs', 'vfs')]);
    assert.deepEqual(order.map((c) => c.name), ['vfs', 'tmpfs', 'net', 'shmif']);
  });

  it('refuses a missing dependency naming it', () => {
    assert.throws(() => orderComponents([mk('tmpfs', 'fs', ['vfs'])]), (e: KernelError) => e.code === 'EINVAL' && /needs 'vfs'/.test(e.message));
  });

  it('refuses a dependency cycle', () => {
    assert.throws(() => orderComponents([mk('a', 'dev', ['b']), mk('b', 'dev', ['a'])]), /cycle/);
  });

  it('resolves library names and pulls dependencies in', () => {
    const avail = [mk('vfs', 'vfs'), { ...mk('tmpfs', 'fs', ['vfs']), aliases: ['rumpfs_tmpfs'] }];
    assert.deepEqual(resolveComponents(['rumpfs_tmpfs'], avail).map((c) => c.name).sort(), ['tmpfs', 'vfs']);
    assert.throws(() => resolveComponents(['nosuch'], avail), { code: 'ENOENT' });
  });

  it('boots exactly the given components in order', async () => {
    const log: string[] = [];
    const k = await boot({ components: [mk('b', 'dev', ['a'], log), mk('a', 'dev', [], log)] });
    assert.deepEqual(log, ['a', 'b']);
    assert.equal(k.hasComponent('a'), true);
    assert.equal(k.hasComponent('c'), false);
    await k.halt();
  });
});

describe('sysctl and uname', () => {
  it('reports kern and hw nodes', async () => {
    const k = await boot({ ncpu: 3, hostname: 'box' });
    const l = k.initLwp;
    assert.equal(await k.sys.__sysctl(l, 'kern.ostype', null), 'NetBSD');
    assert.equal(await k.sys.__sysctl(l, 'hw.ncpu', null), 3);
    assert.equal(k.uname().nodename, 'box');
    assert.equal(k.uname().sysname, 'NetBSD');
    assert.ok(k.sysctl.list('kern').some((n) => n.name === 'kern.osrelease'));
    await k.halt();
  });

  it('refuses writes to read-only nodes, by non-root, and of the wrong type', async () => {
    const k = await boot();
    const l = k.initLwp;
    await assert.rejects(k.sys.__sysctl(l, 'kern.ostype', 'Linux'), { code: 'EPERM' });
    await assert.rejects(k.sys.__sysctl(k.newProc({ uid: 5 }), 'kern.hostname', 'x'), { code: 'EPERM' });
    await assert.rejects(k.sys.__sysctl(l, 'kern.maxfiles', 'many'), { code: 'EINVAL' });
    await assert.rejects(k.sys.__sysctl(l, 'kern.nosuch', null), { code: 'ENOENT' });
    await k.halt();
  });
});

describe('errno', () => {
  it('uses NetBSD numbering', () => {
    assert.equal(errno.EAGAIN, 35);
    assert.equal(errno.EFTYPE, 79);
    assert.equal(errno.ENOTEMPTY, 66);
    assert.equal(errnoName(62), 'ELOOP');
    assert.equal(strerror(2), 'no such file or directory');
  });

  it('maps to Node-style errors with Linux numbers', () => {
    const e = toNodeError(new KernelError('ELOOP'), 'open', '/a');
    assert.equal(e.code, 'ELOOP');
    assert.equal(e.errno, -40);
    assert.equal(e.syscall, 'open');
    assert.equal(e.path, '/a');
    assert.match(e.message, /^ELOOP: too many levels of symbolic links, open '\/a'$/);
  });

  it('has a unique number for every syscall in the table', () => {
    const nums = Object.values(SYSCALLS).map((s) => s.num);
    assert.equal(new Set(nums).size, nums.length);
  });
});

describe('sync primitives', () => {
  it('mutex serialises tasks across awaits in FIFO order', async () => {
    const m = new KMutex();
    const log: number[] = [];
    await Promise.all([1, 2, 3].map((i) => m.with(async () => {
      log.push(i);
      await new Promise((r) => setTimeout(r, 1));
      log.push(-i);
    })));
    assert.deepEqual(log, [1, -1, 2, -2, 3, -3]);
  });

  it('rwlock admits readers together and writers alone, and a waiting writer blocks new readers', async () => {
    const rw = new KRWLock();
    assert.equal(rw.tryEnter(RW_READER), true);
    assert.equal(rw.tryEnter(RW_READER), true);
    assert.equal(rw.tryEnter(RW_WRITER), false);
    const w = rw.enter(RW_WRITER);
    assert.equal(rw.tryEnter(RW_READER), false);
    rw.exit();
    rw.exit();
    await w;
    assert.equal(rw.writeHeld, true);
    rw.exit();
  });

  it('condvar wait releases the mutex and timedwait times out', async () => {
    const k = await boot();
    const m = new KMutex();
    const cv = new KCondvar();
    await m.enter();
    const waiter = cv.wait(m);
    assert.equal(m.held, false);
    await m.enter();
    cv.signal();
    m.exit();
    await waiter;
    assert.equal(m.held, true);
    const ok = await cv.timedwait(m, (fire) => k.callouts.after(5, fire));
    assert.equal(ok, false);
    m.exit();
    await k.halt();
  });
});

describe('pipes and descriptors', () => {
  it('moves bytes through a pipe and reports EOF after the writer closes', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    assert.equal(await k.sys.write(l, w, new TextEncoder().encode('hello')), 5);
    const buf = new Uint8Array(16);
    assert.equal(await k.sys.read(l, r, buf), 5);
    assert.equal(new TextDecoder().decode(buf.subarray(0, 5)), 'hello');
    await k.sys.close(l, w);
    assert.equal(await k.sys.read(l, r, buf), 0);
    await k.halt();
  });

  it('blocks a reader until data arrives and fails non-blocking reads with EAGAIN', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe2(l, 0);
    const pending = k.sys.read(l, r, new Uint8Array(4));
    await k.sys.write(l, w, new Uint8Array([1, 2]));
    assert.equal(await pending, 2);
    await k.sys.fcntl(l, r, F_SETFL, O_NONBLOCK);
    assert.equal((await k.sys.fcntl(l, r, F_GETFL, 0)) & O_NONBLOCK, O_NONBLOCK);
    await assert.rejects(k.sys.read(l, r, new Uint8Array(4)), { code: 'EAGAIN' });
    await k.halt();
  });

  it('fails writes with EPIPE once the reader is gone and with EBADF on the read end', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    await assert.rejects(k.sys.write(l, r, new Uint8Array(1)), { code: 'EBADF' });
    await k.sys.close(l, r);
    await assert.rejects(k.sys.write(l, w, new Uint8Array(1)), { code: 'EPIPE' });
    await assert.rejects(k.sys.lseek(l, w, 0, 0), { code: 'ESPIPE' });
    await k.halt();
  });

  it('blocks a writer on a full pipe until the reader drains it', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    const big = new Uint8Array(40000).fill(7);
    let written = false;
    const wp = k.sys.write(l, w, big).then((n) => { written = true; return n; });
    await new Promise((res) => setTimeout(res, 5));
    assert.equal(written, false);
    let got = 0;
    const buf = new Uint8Array(8192);
    while (got < big.length) got += await k.sys.read(l, r, buf);
    assert.equal(await wp, 40000);
    await k.halt();
  });

  it('dup shares the file, dup2 replaces a descriptor, close-on-exec is per descriptor', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe2(l, O_CLOEXEC);
    assert.equal(await k.sys.fcntl(l, r, F_GETFD, 0), FD_CLOEXEC);
    const d = await k.sys.dup(l, w);
    assert.equal(await k.sys.fcntl(l, d, F_GETFD, 0), 0);
    await k.sys.fcntl(l, d, F_SETFD, FD_CLOEXEC);
    assert.equal(await k.sys.fcntl(l, d, F_GETFD, 0), FD_CLOEXEC);
    await k.sys.close(l, w);
    await k.sys.write(l, d, new Uint8Array([9]));
    assert.equal(await k.sys.dup2(l, d, 17), 17);
    await k.sys.close(l, d);
    await k.sys.write(l, 17, new Uint8Array([8]));
    const b = new Uint8Array(2);
    assert.equal(await k.sys.read(l, r, b), 2);
    assert.deepEqual([...b], [9, 8]);
    await assert.rejects(k.sys.close(l, 99), { code: 'EBADF' });
    await k.halt();
  });

  it('limits descriptors per process with EMFILE', async () => {
    const k = await boot({ openMax: 8 });
    const l = k.initLwp;
    await k.sys.pipe(l); await k.sys.pipe(l); await k.sys.pipe(l); await k.sys.pipe(l);
    await assert.rejects(k.sys.pipe(l), { code: 'EMFILE' });
    await k.halt();
  });

  it('closes a process descriptors when it exits', async () => {
    const k = await boot();
    const p = k.newProc();
    const [r, w] = await k.sys.pipe(p);
    void r; void w;
    assert.equal(k.nfiles, 2);
    await k.procExit(p.proc);
    assert.equal(k.nfiles, 0);
    await k.halt();
  });
});

describe('poll', () => {
  const POLLIN = 0x1, POLLOUT = 0x4, POLLHUP = 0x10, POLLNVAL = 0x20;

  it('reports readiness at once with a zero timeout', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    assert.deepEqual(await k.sys.poll(l, [{ fd: r, events: POLLIN }, { fd: w, events: POLLOUT }, { fd: 77, events: POLLIN }], 0), [0, POLLOUT, POLLNVAL]);
    await k.sys.write(l, w, new Uint8Array([1]));
    assert.deepEqual(await k.sys.poll(l, [{ fd: r, events: POLLIN }], 0), [POLLIN]);
    await k.halt();
  });

  it('sleeps until a writer makes the pipe readable', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    let done = false;
    const p = k.sys.poll(l, [{ fd: r, events: POLLIN }], -1).then((v) => { done = true; return v; });
    await new Promise((res) => setTimeout(res, 5));
    assert.equal(done, false);
    await k.sys.write(l, w, new Uint8Array([1]));
    assert.deepEqual(await p, [POLLIN]);
    await k.halt();
  });

  it('times out with nothing ready and reports hang-up when the writer closes', async () => {
    const k = await boot();
    const l = k.initLwp;
    const [r, w] = await k.sys.pipe(l);
    const t0 = Date.now();
    assert.deepEqual(await k.sys.poll(l, [{ fd: r, events: POLLIN }], 20), [0]);
    assert.ok(Date.now() - t0 >= 15);
    const p = k.sys.poll(l, [{ fd: r, events: POLLIN }], 1000);
    await k.sys.close(l, w);
    assert.equal((await p)[0]! & POLLHUP, POLLHUP);
    await assert.rejects(k.sys.poll(l, [{ fd: r, events: POLLIN }], -5), { code: 'EINVAL' });
    await k.halt();
  });
});
