/**
 * AF_LOCAL beyond the shared socket suite: names in the file system, permissions, descriptor
 * passing (SCM_RIGHTS) between processes, LOCAL_PEEREID/LOCAL_CONNWAIT, datagrams to paths,
 * and the socket layer's life cycle in a kernel (ENOSYS without `net`, memory accounting, halt).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kernel } from '../src/kern/kernel.js';
import { SYSCALLS, type SyscallName } from '../src/kern/syscalltable.js';
import type { Lwp } from '../src/kern/proc.js';
import { POLLIN, POLLOUT } from '../src/kern/file.js';
import {
  AF_LOCAL, AF_INET, DT_SOCK, F_GETFD, FD_CLOEXEC, MSG_CTRUNC, O_CREAT, O_NONBLOCK, O_RDONLY, O_RDWR, S_IFMT, S_IFSOCK,
  SCM_RIGHTS, SEEK_SET, SHUT_RD, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, F_SETFL, type Sockaddr,
} from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { net, local, MSG_CMSG_CLOEXEC, SOL_LOCAL, LOCAL_PEEREID, LOCAL_CONNWAIT } from '../src/net/index.js';
import { enc, dec, rejects } from './socketsuite/harness.js';

interface Env { k: Kernel; l: Lwp }

async function boot(opts: { openMax?: number; memlimit?: number } = {}): Promise<Env> {
  const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs, net, local], ...opts });
  const l = k.initLwp;
  await k.sys.mkdir(l, '/tmp', 0o777);
  await k.sys.mount(l, 'tmpfs', '/tmp', 0, {});
  await k.sys.chmod(l, '/tmp', 0o1777);
  return { k, l };
}

async function withKernel(fn: (e: Env) => Promise<void>, opts?: { openMax?: number; memlimit?: number }): Promise<void> {
  const e = await boot(opts);
  try {
    await fn(e);
  } finally {
    await e.k.halt();
  }
}

const sun = (path: string): Sockaddr => ({ family: AF_LOCAL, path });

async function listenAt(k: Kernel, l: Lwp, path: string, type = SOCK_STREAM): Promise<number> {
  const fd = await k.sys.socket(l, AF_LOCAL, type, 0);
  await k.sys.bind(l, fd, sun(path));
  await k.sys.listen(l, fd, 8);
  return fd;
}

/** A connected stream pair between two processes through a listening socket at `path`. */
async function connectPair(k: Kernel, a: Lwp, b: Lwp, path: string): Promise<{ afd: number; bfd: number }> {
  const lfd = await listenAt(k, a, path);
  const bfd = await k.sys.socket(b, AF_LOCAL, SOCK_STREAM, 0);
  await k.sys.connect(b, bfd, sun(path));
  const { fd: afd } = await k.sys.accept(a, lfd);
  await k.sys.close(a, lfd);
  return { afd, bfd };
}

async function sendFds(k: Kernel, l: Lwp, fd: number, fds: number[], data = 'x'): Promise<number> {
  return k.sys.sendmsg(l, fd, [enc(data)], null, [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds }], 0);
}

async function recvFds(k: Kernel, l: Lwp, fd: number, controllen = 256, flags = 0): Promise<{ data: string; fds: number[]; flags: number }> {
  const b = new Uint8Array(64);
  const r = await k.sys.recvmsg(l, fd, [b], controllen, flags);
  const fds = (r.control ?? []).flatMap((c) => c.fds ?? []);
  return { data: dec(b.subarray(0, r.n)), fds, flags: r.flags };
}

function inflight(k: Kernel): number {
  return k.sysctl.get('net.local.inflight') as number;
}

describe('AF_LOCAL names in the file system', () => {
  it('bind creates a socket node with mode 0777 less the umask, owned by the caller', () => withKernel(async ({ k, l }) => {
    const u = k.newProc({ uid: 1000, gid: 100 });
    await k.sys.umask(u, 0o027);
    const fd = await k.sys.socket(u, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.bind(u, fd, sun('/tmp/node'));
    const st = await k.sys.stat(l, '/tmp/node');
    assert.equal(st.mode & S_IFMT, S_IFSOCK);
    assert.equal(st.mode & 0o7777, 0o750);
    assert.equal(st.uid, 1000);
    const dfd = await k.sys.open(l, '/tmp', O_RDONLY, 0);
    const ents = await k.sys.getdents(l, dfd, 100);
    assert.equal(ents.find((e) => e.name === 'node')?.type, DT_SOCK);
    await rejects(k.sys.open(l, '/tmp/node', O_RDWR, 0), 'EOPNOTSUPP', 'open of a socket node');
  }));

  it('the node outlives the socket: connecting to it is refused, binding it again fails until it is unlinked', () => withKernel(async ({ k, l }) => {
    const fd = await listenAt(k, l, '/tmp/stale');
    await k.sys.close(l, fd);
    assert.equal(((await k.sys.stat(l, '/tmp/stale')).mode & S_IFMT), S_IFSOCK);
    const c = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.connect(l, c, sun('/tmp/stale')), 'ECONNREFUSED', 'connect to a stale node');
    const b = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.bind(l, b, sun('/tmp/stale')), 'EADDRINUSE', 'bind over a stale node');
    await k.sys.unlink(l, '/tmp/stale');
    await k.sys.bind(l, b, sun('/tmp/stale'));
  }));

  it('unlinking the node stops new connections but not established ones', () => withKernel(async ({ k, l }) => {
    const lfd = await listenAt(k, l, '/tmp/gone');
    const c1 = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.connect(l, c1, sun('/tmp/gone'));
    await k.sys.unlink(l, '/tmp/gone');
    const c2 = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.connect(l, c2, sun('/tmp/gone')), 'ENOENT', 'connect after unlink');
    const { fd } = await k.sys.accept(l, lfd);
    await k.sys.write(l, c1, enc('still here'));
    const b = new Uint8Array(20);
    assert.equal(dec(b.subarray(0, await k.sys.read(l, fd, b))), 'still here');
  }));

  it('bind fails with EADDRINUSE on an existing file, EINVAL when already bound, ENOENT in a missing directory', () => withKernel(async ({ k, l }) => {
    const f = await k.sys.open(l, '/tmp/file', O_CREAT | O_RDWR, 0o644);
    await k.sys.close(l, f);
    const fd = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.bind(l, fd, sun('/tmp/file')), 'EADDRINUSE', 'bind over a file');
    await rejects(k.sys.bind(l, fd, sun('/tmp/nodir/s')), 'ENOENT', 'bind in a missing directory');
    await k.sys.bind(l, fd, sun('/tmp/once'));
    await rejects(k.sys.bind(l, fd, sun('/tmp/twice')), 'EINVAL', 'second bind');
    await rejects(k.sys.bind(l, await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0), sun('')), 'ENOENT', 'empty path');
  }));

  it('a path must fit a sockaddr_un: 253 bytes work, 254 fail with EINVAL', () => withKernel(async ({ k, l }) => {
    const dir = `/tmp/${'d'.repeat(100)}`;
    await k.sys.mkdir(l, dir, 0o755);
    const ok = `${dir}/${'s'.repeat(253 - dir.length - 1)}`;
    assert.equal(ok.length, 253);
    const fd = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.bind(l, fd, sun(ok));
    assert.deepEqual(await k.sys.getsockname(l, fd), sun(ok));
    const fd2 = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.bind(l, fd2, sun(`${ok}x`)), 'EINVAL', 'a 254-byte path');
    await rejects(k.sys.connect(l, fd2, sun(`${ok}x`)), 'EINVAL', 'connect to a 254-byte path');
  }));

  it('relative paths resolve against the caller\'s working directory', () => withKernel(async ({ k, l }) => {
    await k.sys.mkdir(l, '/tmp/work', 0o755);
    await k.sys.chdir(l, '/tmp/work');
    const lfd = await listenAt(k, l, 'rel.sock');
    assert.deepEqual(await k.sys.getsockname(l, lfd), sun('rel.sock'), 'the name is kept as given');
    const other = k.newProc();
    const c = await k.sys.socket(other, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.connect(other, c, sun('/tmp/work/rel.sock'));
    await k.sys.accept(l, lfd);
  }));

  it('connect fails with ENOENT, ENOTSOCK for a file and EPROTOTYPE for a socket of another type', () => withKernel(async ({ k, l }) => {
    const f = await k.sys.open(l, '/tmp/plain', O_CREAT | O_RDWR, 0o666);
    await k.sys.close(l, f);
    const c = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.connect(l, c, sun('/tmp/none')), 'ENOENT', 'connect to nothing');
    await rejects(k.sys.connect(l, c, sun('/tmp/plain')), 'ENOTSOCK', 'connect to a file');
    const d = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, d, sun('/tmp/dgram'));
    await rejects(k.sys.connect(l, c, sun('/tmp/dgram')), 'EPROTOTYPE', 'stream to a datagram socket');
    await listenAt(k, l, '/tmp/seq', SOCK_SEQPACKET);
    await rejects(k.sys.connect(l, c, sun('/tmp/seq')), 'EPROTOTYPE', 'stream to a seqpacket socket');
  }));

  it('connecting needs write permission on the node, binding write permission on the directory', () => withKernel(async ({ k, l }) => {
    await k.sys.mkdir(l, '/tmp/rootonly', 0o755);
    const lfd = await listenAt(k, l, '/tmp/rootonly/s');
    await k.sys.chmod(l, '/tmp/rootonly/s', 0o755);
    const u = k.newProc({ uid: 1000, gid: 1000 });
    const c = await k.sys.socket(u, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.connect(u, c, sun('/tmp/rootonly/s')), 'EACCES', 'connect without write permission');
    await rejects(k.sys.bind(u, c, sun('/tmp/rootonly/mine')), 'EACCES', 'bind in a directory without write permission');
    await k.sys.chmod(l, '/tmp/rootonly/s', 0o777);
    await k.sys.connect(u, c, sun('/tmp/rootonly/s'));
    await k.sys.accept(l, lfd);
  }));

  it('accept and getpeername report a bound client\'s path, and an empty path for an unbound one', () => withKernel(async ({ k, l }) => {
    const lfd = await listenAt(k, l, '/tmp/srv');
    const bound = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.bind(l, bound, sun('/tmp/cli'));
    await k.sys.connect(l, bound, sun('/tmp/srv'));
    const a = await k.sys.accept(l, lfd);
    assert.deepEqual(a.addr, sun('/tmp/cli'));
    assert.deepEqual(await k.sys.getsockname(l, a.fd), sun('/tmp/srv'));
    const anon = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    assert.deepEqual(await k.sys.getsockname(l, anon), sun(''));
    await k.sys.connect(l, anon, sun('/tmp/srv'));
    const b = await k.sys.accept(l, lfd);
    assert.deepEqual(b.addr, sun(''));
    assert.deepEqual(await k.sys.getpeername(l, anon), sun('/tmp/srv'));
  }));
});

describe('AF_LOCAL socketpair', () => {
  it('a stream pair carries bytes both ways', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.write(l, a, enc('to b'));
    await k.sys.write(l, b, enc('to a'));
    const buf = new Uint8Array(8);
    assert.equal(dec(buf.subarray(0, await k.sys.read(l, b, buf))), 'to b');
    assert.equal(dec(buf.subarray(0, await k.sys.read(l, a, buf))), 'to a');
    assert.deepEqual(await k.sys.getpeername(l, a), sun(''));
  }));

  it('after the peer shuts its receiving side, writes fail with EPIPE', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.write(l, a, enc('queued'));
    await k.sys.shutdown(l, b, SHUT_RD);
    assert.equal(await k.sys.read(l, b, new Uint8Array(8)), 0, 'SHUT_RD discards what was queued');
    await rejects(k.sys.write(l, a, enc('more')), 'EPIPE', 'write to a peer that shut SHUT_RD');
    await k.sys.write(l, b, enc('other way'));
    assert.equal(await k.sys.read(l, a, new Uint8Array(16)), 9);
  }));

  it('a datagram pair is connected in both directions and keeps boundaries', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    await k.sys.write(l, a, enc('one'));
    await k.sys.write(l, a, enc('two'));
    await k.sys.write(l, b, enc('back'));
    const buf = new Uint8Array(8);
    assert.equal(await k.sys.read(l, b, buf), 3);
    assert.equal(await k.sys.read(l, b, buf), 3);
    await rejects(k.sys.read(l, b, buf), 'EAGAIN', 'non-blocking pair');
    assert.equal(dec(buf.subarray(0, await k.sys.read(l, a, buf))), 'back');
  }));

  it('socketpair of a family without connect2 fails, and of an unknown family with EAFNOSUPPORT', () => withKernel(async ({ k, l }) => {
    await rejects(k.sys.socketpair(l, AF_INET, SOCK_STREAM, 0), 'EAFNOSUPPORT', 'socketpair AF_INET without netinet');
    assert.equal(k.net!.sockets.size, 0, 'no socket is left behind');
  }));
});

describe('SCM_RIGHTS', () => {
  it('passes a pipe between two processes, which then talk through it', () => withKernel(async ({ k }) => {
    const a = k.newProc({ comm: 'a' });
    const b = k.newProc({ comm: 'b' });
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [pr, pw] = await k.sys.pipe(a);
    assert.equal(await sendFds(k, a, afd, [pw], 'here'), 4);
    await k.sys.close(a, pw);
    const got = await recvFds(k, b, bfd);
    assert.equal(got.data, 'here');
    assert.equal(got.fds.length, 1);
    await k.sys.write(b, got.fds[0]!, enc('through the pipe'));
    const buf = new Uint8Array(32);
    assert.equal(dec(buf.subarray(0, await k.sys.read(a, pr, buf))), 'through the pipe');
    await k.sys.close(b, got.fds[0]!);
    assert.equal(await k.sys.read(a, pr, buf), 0, 'the last writer is gone');
    assert.equal(inflight(k), 0);
  }));

  it('passes a file whose offset is then shared by both processes', () => withKernel(async ({ k, l }) => {
    const f0 = await k.sys.open(l, '/tmp/data', O_CREAT | O_RDWR, 0o644);
    await k.sys.write(l, f0, enc('abcdef'));
    await k.sys.close(l, f0);
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const f = await k.sys.open(a, '/tmp/data', O_RDONLY, 0);
    await k.sys.lseek(a, f, 2, SEEK_SET);
    await sendFds(k, a, afd, [f]);
    const { fds } = await recvFds(k, b, bfd);
    const buf = new Uint8Array(2);
    await k.sys.read(b, fds[0]!, buf);
    assert.equal(dec(buf), 'cd');
    await k.sys.read(a, f, buf);
    assert.equal(dec(buf), 'ef');
  }));

  it('a file in flight stays open after the sender closes it, and is closed when the message is discarded', () => withKernel(async ({ k }) => {
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [pr, pw] = await k.sys.pipe(a);
    await k.sys.fcntl(a, pr, F_SETFL, O_NONBLOCK);
    await sendFds(k, a, afd, [pw]);
    await k.sys.close(a, pw);
    await rejects(k.sys.read(a, pr, new Uint8Array(4)), 'EAGAIN', 'the writer is alive in flight');
    assert.equal(inflight(k), 1);
    await k.sys.close(b, bfd);
    assert.equal(inflight(k), 0);
    assert.equal(await k.sys.read(a, pr, new Uint8Array(4)), 0, 'the discarded writer was closed');
  }));

  it('read() of a message that carries descriptors closes them', () => withKernel(async ({ k }) => {
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [pr, pw] = await k.sys.pipe(a);
    await sendFds(k, a, afd, [pw], 'payload');
    await k.sys.close(a, pw);
    const buf = new Uint8Array(16);
    assert.equal(dec(buf.subarray(0, await k.sys.read(b, bfd, buf))), 'payload');
    assert.equal(await k.sys.read(a, pr, buf), 0);
    const before = [...k.procs.get(b.proc.pid)!.fd.entries()].length;
    assert.equal(before, 1, 'no descriptor was installed by read');
  }));

  it('descriptors that do not fit the control buffer are closed and MSG_CTRUNC is set', () => withKernel(async ({ k }) => {
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [pr1, pw1] = await k.sys.pipe(a);
    const [pr2, pw2] = await k.sys.pipe(a);
    await sendFds(k, a, afd, [pw1, pw2]);
    await k.sys.close(a, pw1);
    await k.sys.close(a, pw2);
    const got = await recvFds(k, b, bfd, 16 + 4);
    assert.equal(got.fds.length, 1);
    assert.equal(got.flags & MSG_CTRUNC, MSG_CTRUNC);
    await k.sys.fcntl(a, pr1, F_SETFL, O_NONBLOCK);
    await rejects(k.sys.read(a, pr1, new Uint8Array(1)), 'EAGAIN', 'the first writer was received');
    assert.equal(await k.sys.read(a, pr2, new Uint8Array(1)), 0, 'the second writer was closed');
    assert.equal(inflight(k), 0);
  }));

  it('MSG_CMSG_CLOEXEC marks received descriptors close-on-exec', () => withKernel(async ({ k }) => {
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [, pw] = await k.sys.pipe(a);
    await sendFds(k, a, afd, [pw]);
    await sendFds(k, a, afd, [pw]);
    const plain = await recvFds(k, b, bfd);
    assert.equal(await k.sys.fcntl(b, plain.fds[0]!, F_GETFD, 0), 0);
    const ce = await recvFds(k, b, bfd, 256, MSG_CMSG_CLOEXEC);
    assert.equal(await k.sys.fcntl(b, ce.fds[0]!, F_GETFD, 0), FD_CLOEXEC);
  }));

  it('passing a closed descriptor fails with EBADF and other control with EINVAL, sending nothing', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await rejects(sendFds(k, l, a, [77]), 'EBADF', 'a closed descriptor');
    await rejects(k.sys.sendmsg(l, a, [enc('x')], null, [{ level: SOL_SOCKET, type: 0x04, data: new Uint8Array(4) }], 0), 'EINVAL', 'SCM_CREDS from a user');
    await rejects(k.sys.read(l, b, new Uint8Array(4)), 'EAGAIN', 'nothing was queued');
    assert.equal(inflight(k), 0);
  }));

  it('datagrams carry descriptors to a path', () => withKernel(async ({ k, l }) => {
    const r = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, r, sun('/tmp/dg'));
    const s = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    const [pr, pw] = await k.sys.pipe(l);
    await k.sys.sendmsg(l, s, [enc('fd')], sun('/tmp/dg'), [{ level: SOL_SOCKET, type: SCM_RIGHTS, fds: [pw] }], 0);
    const got = await recvFds(k, l, r);
    assert.equal(got.data, 'fd');
    await k.sys.write(l, got.fds[0]!, enc('z'));
    const buf = new Uint8Array(1);
    assert.equal(await k.sys.read(l, pr, buf), 1);
  }));

  it('a receiver whose descriptor table is full gets EMSGSIZE and the files are closed', () => withKernel(async ({ k }) => {
    const a = k.newProc();
    const b = k.newProc();
    const { afd, bfd } = await connectPair(k, a, b, '/tmp/rights');
    const [pr, pw] = await k.sys.pipe(a);
    await k.sys.fcntl(a, pr, F_SETFL, O_NONBLOCK);
    while ([...b.proc.fd.entries()].length < k.openMax) await k.sys.dup(b, bfd);
    await sendFds(k, a, afd, [pw]);
    await k.sys.close(a, pw);
    await rejects(recvFds(k, b, bfd), 'EMSGSIZE', 'recvmsg into a full table');
    assert.equal(await k.sys.read(a, pr, new Uint8Array(1)), 0, 'the passed writer was closed');
  }, { openMax: 16 }));

  it('sockets only reachable through their own buffers are collected when closed', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    const [c, d] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    // a cycle: b travels into b's own buffer, d into c's and c into d's
    await sendFds(k, l, a, [b]);
    await sendFds(k, l, c, [c]);
    await sendFds(k, l, d, [d]);
    assert.equal(inflight(k), 3);
    for (const fd of [b, c, d]) await k.sys.close(l, fd);
    assert.equal(k.net!.sockets.size, 4, 'the cycles keep the sockets alive');
    await k.sys.close(l, a);
    await new Promise((r) => setImmediate(r));
    assert.equal(inflight(k), 0);
    assert.equal(k.net!.sockets.size, 0, 'every socket was freed');
    assert.ok((k.sysctl.get('net.local.gc.collected') as number) >= 2);
  }));
});

describe('AF_LOCAL options', () => {
  it('LOCAL_PEEREID gives the server the client\'s ids and the client the server\'s ids at bind', () => withKernel(async ({ k }) => {
    const srv = k.newProc({ uid: 10, gid: 20 });
    const cli = k.newProc({ uid: 30, gid: 40 });
    await k.sys.umask(srv, 0);
    const lfd = await k.sys.socket(srv, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.bind(srv, lfd, sun('/tmp/peer'));
    await k.sys.listen(srv, lfd, 1);
    const c = await k.sys.socket(cli, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.getsockopt(cli, c, SOL_LOCAL, LOCAL_PEEREID), 'EINVAL', 'before connecting');
    await k.sys.connect(cli, c, sun('/tmp/peer'));
    const { fd } = await k.sys.accept(srv, lfd);
    assert.deepEqual(await k.sys.getsockopt(srv, fd, SOL_LOCAL, LOCAL_PEEREID), { pid: cli.proc.pid, euid: 30, egid: 40 });
    assert.deepEqual(await k.sys.getsockopt(cli, c, SOL_LOCAL, LOCAL_PEEREID), { pid: srv.proc.pid, euid: 10, egid: 20 });
  }));

  it('with LOCAL_CONNWAIT a connect is in progress until the server accepts', () => withKernel(async ({ k, l }) => {
    const lfd = await listenAt(k, l, '/tmp/wait');
    await k.sys.setsockopt(l, lfd, SOL_LOCAL, LOCAL_CONNWAIT, 1);
    assert.equal(await k.sys.getsockopt(l, lfd, SOL_LOCAL, LOCAL_CONNWAIT), 1);
    const c = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await rejects(k.sys.connect(l, c, sun('/tmp/wait')), 'EINPROGRESS', 'non-blocking connect');
    await rejects(k.sys.connect(l, c, sun('/tmp/wait')), 'EALREADY', 'connect again');
    assert.equal((await k.sys.poll(l, [{ fd: c, events: POLLOUT }], 0))[0], 0, 'not writable before accept');
    const blocking = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    let connected = false;
    const p = k.sys.connect(l, blocking, sun('/tmp/wait')).then(() => { connected = true; });
    await new Promise((r) => setImmediate(r));
    assert.equal(connected, false, 'a blocking connect waits for accept');
    await k.sys.accept(l, lfd);
    assert.equal((await k.sys.poll(l, [{ fd: c, events: POLLOUT }], 0))[0], POLLOUT);
    await k.sys.accept(l, lfd);
    await p;
    assert.equal(connected, true);
  }));
});

describe('AF_LOCAL datagrams', () => {
  it('sendto a path works from unbound sockets (empty sender path) and bound ones (their path)', () => withKernel(async ({ k, l }) => {
    const r = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, r, sun('/tmp/rx'));
    const anon = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.sendto(l, anon, enc('anon'), 0, sun('/tmp/rx'));
    const named = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, named, sun('/tmp/tx'));
    await k.sys.sendto(l, named, enc('named'), 0, sun('/tmp/rx'));
    const buf = new Uint8Array(16);
    const a = await k.sys.recvfrom(l, r, buf, 0);
    assert.deepEqual([dec(buf.subarray(0, a.n)), a.addr], ['anon', sun('')]);
    const b = await k.sys.recvfrom(l, r, buf, 0);
    assert.deepEqual([dec(buf.subarray(0, b.n)), b.addr], ['named', sun('/tmp/tx')]);
  }));

  it('sendto fails with ENOENT where nothing exists and ECONNREFUSED at a stale node', () => withKernel(async ({ k, l }) => {
    const s = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await rejects(k.sys.sendto(l, s, enc('x'), 0, sun('/tmp/none')), 'ENOENT', 'sendto nothing');
    const r = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, r, sun('/tmp/old'));
    await k.sys.close(l, r);
    await rejects(k.sys.sendto(l, s, enc('x'), 0, sun('/tmp/old')), 'ECONNREFUSED', 'sendto a stale node');
  }));

  it('closing the receiver resets connected senders once, then they have no destination', () => withKernel(async ({ k, l }) => {
    const r = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.bind(l, r, sun('/tmp/rx'));
    const s = await k.sys.socket(l, AF_LOCAL, SOCK_DGRAM, 0);
    await k.sys.connect(l, s, sun('/tmp/rx'));
    await k.sys.close(l, r);
    await rejects(k.sys.write(l, s, enc('x')), 'ECONNRESET', 'first send');
    await rejects(k.sys.write(l, s, enc('x')), 'EDESTADDRREQ', 'second send');
  }));
});

describe('the socket layer in a kernel', () => {
  it('a kernel without the net component answers socket() with ENOSYS', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs] });
    await rejects(k.sys.socket(k.initLwp, AF_LOCAL, SOCK_STREAM, 0), 'ENOSYS', 'socket');
    await k.halt();
  });

  it('the net component implements every net syscall of the table', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [net] });
    const missing = (Object.keys(SYSCALLS) as SyscallName[]).filter((n) => SYSCALLS[n].faction === 'net' && !k.sysent.has(n));
    assert.deepEqual(missing, []);
    await k.halt();
  });

  it('a kernel with net but without local does not know AF_LOCAL, and local needs net', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs, net] });
    await rejects(k.sys.socket(k.initLwp, AF_LOCAL, SOCK_STREAM, 0), 'EAFNOSUPPORT', 'socket');
    await k.halt();
    await rejects(Kernel.boot({ host: memoryHost(), components: [vfs, local] }), 'EINVAL', 'boot without net');
    assert.ok(local.aliases?.includes('rumpnet_local') && net.aliases?.includes('rumpnet'));
  });

  it('buffered bytes are charged to kernel memory and released when read; over the limit a send fails with ENOBUFS', () => withKernel(async ({ k, l }) => {
    const [a, b] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    const base = k.kmem.used;
    await k.sys.write(l, a, new Uint8Array(5000));
    assert.equal(k.kmem.used - base, 5000);
    await k.sys.read(l, b, new Uint8Array(5000));
    assert.equal(k.kmem.used, base);
    k.kmem.limit = k.kmem.used + 1000;
    await rejects(k.sys.write(l, a, new Uint8Array(4000)), 'ENOBUFS', 'a write over the memory limit');
    k.kmem.limit = Number.MAX_SAFE_INTEGER;
  }));

  it('halt closes every socket, wakes blocked callers and leaves no memory charged for sockets', async () => {
    const host = memoryHost();
    const k = await Kernel.boot({ host, components: [vfs, tmpfs, net, local] });
    const l = k.initLwp;
    const base = k.kmem.used;
    const lfd = await listenAt(k, l, '/srv');
    const c = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.connect(l, c, sun('/srv'));
    await k.sys.write(l, c, new Uint8Array(3000));
    const [x, y] = await k.sys.socketpair(l, AF_LOCAL, SOCK_STREAM, 0);
    await sendFds(k, l, x, [y]);
    await k.sys.close(l, y);
    const blocked = k.sys.accept(l, lfd).then(() => 'accepted', (e: { code?: string }) => e.code);
    const reading = k.sys.read(l, c, new Uint8Array(4)).then(() => 'read', (e: { code?: string }) => e.code);
    await new Promise((r) => setImmediate(r));
    assert.ok(k.kmem.used > base);
    await k.halt();
    assert.equal(await reading, 'EBADF');
    assert.equal(await blocked, 'accepted', 'the queued connection was accepted before halt closed the listener');
    assert.equal(k.net!.sockets.size, 0);
    assert.equal(k.callouts.count, 0);
  });

  it('kern.somaxconn caps the listen backlog', () => withKernel(async ({ k, l }) => {
    k.sysctl.set('kern.somaxconn', 0, l.cred);
    const lfd = await listenAt(k, l, '/tmp/cap');
    const c1 = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await k.sys.connect(l, c1, sun('/tmp/cap'));
    const c2 = await k.sys.socket(l, AF_LOCAL, SOCK_STREAM, 0);
    await rejects(k.sys.connect(l, c2, sun('/tmp/cap')), 'ECONNREFUSED', 'second connection with a queue of 0');
    assert.ok((k.sysctl.get('net.socket.listen_overflows') as number) >= 1);
    await k.sys.accept(l, lfd);
    const r = await k.sys.poll(l, [{ fd: lfd, events: POLLIN }], 0);
    assert.equal(r[0], 0);
  }));
});
