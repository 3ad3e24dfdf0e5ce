/**
 * A rump kernel server under hostile or broken clients: each bad connection is refused with an
 * error or disconnected, alone; the server and the other clients keep working and the server's
 * memory stays bounded. And a client facing a server that is not one (or of another version).
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { errno, KernelError } from '../src/kern/errno.js';
import { SYSCALLS } from '../src/kern/syscalltable.js';
import { rumpclientInit } from '../src/client/index.js';
import {
  CLASS_ERROR, CLASS_REQ, CLASS_RESP, HANDSHAKE_GUEST, HDR_SIZE, TYPE_COPYIN, TYPE_HANDSHAKE, TYPE_SYSCALL, Writer,
  decodeError, encodeFrame, type Frame,
} from '../src/client/wire/index.js';
import { Raw, setup, waitFor } from './server-helpers.js';

function errorOf(f: Frame): KernelError {
  assert.equal(f.cls, CLASS_ERROR, `expected an error frame, got class ${f.cls}`);
  return decodeError(f.word, f.body);
}

function header(len: bigint, reqno: number, cls: number, type: number, word: number): Uint8Array {
  const h = new Uint8Array(HDR_SIZE);
  const dv = new DataView(h.buffer);
  dv.setBigUint64(0, len, true);
  dv.setBigUint64(8, BigInt(reqno), true);
  dv.setUint16(16, cls, true);
  dv.setUint16(18, type, true);
  dv.setUint32(20, word, true);
  return h;
}

const getpid = (reqno: number): Uint8Array => encodeFrame(reqno, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.getpid.num);

describe('hostile clients are cut off alone', () => {
  it('disconnects a client that announces an oversized frame, with EMSGSIZE, while another keeps working', async () => {
    const s = await setup({ maxFrame: 1 << 20, maxIo: 256 << 10, maxData: 64 << 10 });
    try {
      const good = await rumpclientInit(s.url);
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      const pid = [...s.k.procs.keys()].at(-1)!;
      raw.send(header(1n << 40n, 5, CLASS_REQ, TYPE_SYSCALL, 20));
      const e = errorOf(await raw.nextFrame());
      assert.equal(e.code, 'EMSGSIZE');
      assert.match(e.message, /exceeds the limit of 1048576/);
      await raw.waitClosed();
      await waitFor(() => !s.k.procs.has(pid), 'the hostile process to exit');
      assert.equal(await good.sys.getpid(), good.pid);
      await good.close();
    } finally {
      await s.cleanup();
    }
  });

  it('drops a client that sends a truncated frame and hangs up, and ends its process', async () => {
    const s = await setup();
    try {
      const n = s.k.procs.size;
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      assert.equal(s.k.procs.size, n + 1);
      raw.send(header(1000n, 1, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.write.num));
      raw.send(new Uint8Array(10));
      raw.sock.end();
      await waitFor(() => s.k.procs.size === n, 'the process to exit');
      assert.equal(s.server.clients, 0);
    } finally {
      await s.cleanup();
    }
  });

  it('answers an unknown syscall number with ENOSYS and keeps the connection', async () => {
    const s = await setup();
    try {
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      raw.send(encodeFrame(7, CLASS_REQ, TYPE_SYSCALL, 9999));
      const f = await raw.nextFrame();
      assert.equal(f.reqno, 7);
      const e = errorOf(f);
      assert.equal(e.code, 'ENOSYS');
      assert.equal(f.word, errno.ENOSYS);
      assert.match(e.message, /unknown syscall number 9999/);
      raw.send(getpid(8));
      const ok = await raw.nextFrame();
      assert.equal(ok.cls, CLASS_RESP);
      assert.equal(ok.reqno, 8);
      raw.destroy();
    } finally {
      await s.cleanup();
    }
  });

  it('answers malformed arguments with EINVAL naming the syscall, and keeps the connection', async () => {
    const s = await setup();
    try {
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      // open's path claims 1000 bytes that are not there
      const w = new Writer();
      w.u32(1000);
      raw.send(encodeFrame(3, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.open.num, w.finish()));
      const e = errorOf(await raw.nextFrame());
      assert.equal(e.code, 'EINVAL');
      assert.equal(e.syscall, 'open');
      assert.match(e.message, /arguments of open: truncated at path/);
      // an fd that is not a 32-bit integer
      const w2 = new Writer();
      w2.i64(2 ** 40);
      raw.send(encodeFrame(4, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.close.num, w2.finish()));
      assert.match(errorOf(await raw.nextFrame()).message, /not a 32-bit integer/);
      raw.send(getpid(5));
      assert.equal((await raw.nextFrame()).cls, CLASS_RESP);
      raw.destroy();
    } finally {
      await s.cleanup();
    }
  });

  it('disconnects a client that sends random garbage after its handshake, and no one else', async () => {
    const s = await setup();
    try {
      const good = await rumpclientInit(s.url);
      for (let round = 0; round < 5; round++) {
        const raw = await Raw.connect(s.sockPath);
        await raw.handshake();
        raw.send(randomBytes(4096));
        await raw.waitClosed();
        assert.equal(await good.sys.getpid(), good.pid);
      }
      await waitFor(() => s.server.clients === 1, 'the garbage clients to be gone');
      assert.ok(s.server.stats.protocolErrors >= 5);
      await good.close();
    } finally {
      await s.cleanup();
    }
  });

  it('refuses anything but a handshake first, a second handshake, and reserved frame types, with EPROTO', async () => {
    const s = await setup();
    try {
      const first = await Raw.connect(s.sockPath);
      first.send(getpid(1));
      const e1 = errorOf(await first.nextFrame());
      assert.equal(e1.code, 'EPROTO');
      assert.match(e1.message, /expected a handshake, got a syscall frame/);
      await first.waitClosed();

      const twice = await Raw.connect(s.sockPath);
      await twice.handshake();
      await twice.handshake().then((f) => assert.match(errorOf(f).message, /second handshake/));
      await twice.waitClosed();

      const reserved = await Raw.connect(s.sockPath);
      await reserved.handshake();
      reserved.send(encodeFrame(2, CLASS_REQ, TYPE_COPYIN, 0));
      assert.match(errorOf(await reserved.nextFrame()).message, /copyin frames are not part of this protocol/);
      await reserved.waitClosed();

      const http = await Raw.connect(s.sockPath);
      http.send(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      await http.waitClosed();
      assert.equal(s.server.clients, 0);
    } finally {
      await s.cleanup();
    }
  });

  it('refuses a client of another protocol version with EPROGMISMATCH naming both versions', async () => {
    const s = await setup();
    try {
      const raw = await Raw.connect(s.sockPath);
      const f = await raw.handshake({ version: 99 });
      const e = errorOf(f);
      assert.equal(e.code, 'EPROGMISMATCH');
      assert.match(e.message, /client speaks protocol version 99, this server speaks version 1/);
      await raw.waitClosed();
    } finally {
      await s.cleanup();
    }
  });

  it('disconnects a client that never handshakes', async () => {
    const s = await setup({ handshakeTimeoutMs: 50 });
    try {
      const raw = await Raw.connect(s.sockPath);
      const e = errorOf(await raw.nextFrame());
      assert.equal(e.code, 'ETIMEDOUT');
      await raw.waitClosed();
    } finally {
      await s.cleanup();
    }
  });

  it('holds a flooding client to maxOutstanding requests and loses none of its answers', async () => {
    const s = await setup({ maxOutstanding: 4 });
    try {
      const good = await rumpclientInit(s.url);
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      const N = 3000;
      const all = new Uint8Array(N * HDR_SIZE);
      for (let i = 0; i < N; i++) all.set(getpid(i + 1), i * HDR_SIZE);
      raw.send(all);
      assert.equal(await good.sys.getpid(), good.pid);
      await raw.until(() => raw.frames.length === N, `${N} answers`, 10_000);
      assert.deepEqual(new Set(raw.frames.map((f) => f.reqno)).size, N);
      assert.ok(raw.frames.every((f) => f.cls === CLASS_RESP));
      assert.ok(s.server.stats.maxOutstandingSeen <= 4, `saw ${s.server.stats.maxOutstandingSeen} outstanding`);
      raw.destroy();
      await good.close();
    } finally {
      await s.cleanup();
    }
  });

  it('stops reading from a client that does not read its answers, bounding what the server buffers', async () => {
    const s = await setup({ maxClientBytes: 64 << 10 });
    try {
      const good = await rumpclientInit(s.url);
      const raw = await Raw.connect(s.sockPath);
      await raw.handshake();
      raw.sock.pause();
      // 16 KiB reads of /dev/zero: each answer is 16 KiB, nobody reads them
      const fd = await (async () => {
        const w = new Writer();
        w.str('/dev/zero');
        w.i64(0);
        w.i64(0);
        raw.sock.resume();
        raw.send(encodeFrame(1, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.open.num, w.finish()));
        const f = await raw.nextFrame('open');
        raw.sock.pause();
        return new DataView(f.body.buffer, f.body.byteOffset).getInt32(0, true);
      })();
      const N = 2000;
      for (let i = 0; i < N; i++) {
        const w = new Writer();
        w.i64(fd);
        w.u32(16384);
        raw.send(encodeFrame(100 + i, CLASS_REQ, TYPE_SYSCALL, SYSCALLS.read.num, w.finish()));
      }
      await waitFor(() => s.server.stats.pauses > 0, 'the server to stop reading');
      const session = [...s.server.sessions].find((x) => x.pid !== good.pid)!;
      assert.ok(session.transport.writableLength <= (64 << 10) + 16384 + 64, `server buffers ${session.transport.writableLength} bytes`);
      assert.equal(await good.sys.getpid(), good.pid, 'others are served meanwhile');
      raw.sock.resume();
      await raw.until(() => raw.frames.length === N, `${N} answers`, 20_000);
      assert.ok(raw.frames.every((f) => f.cls === CLASS_RESP && f.body.byteLength === 8 + 4 + 16384));
      raw.destroy();
      await good.close();
    } finally {
      await s.cleanup();
    }
  });

  it('survives many clients connecting and vanishing mid-request', async () => {
    const s = await setup();
    try {
      const good = await rumpclientInit(s.url);
      const n = s.k.procs.size;
      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const c = await rumpclientInit(s.url);
        const fd = await c.sys.open(`/tmp/v${i}`, 0x200 | 2, 0o644);
        void c.sys.write(fd, new Uint8Array(1000)).catch(() => undefined);
        void c.sys.stat('/tmp').catch(() => undefined);
        await c.close();
      }));
      await waitFor(() => s.k.procs.size === n, 'all of their processes to exit');
      assert.equal(await good.sys.getpid(), good.pid);
      await good.close();
    } finally {
      await s.cleanup();
    }
  });
});

describe('a client facing something that is not our server', () => {
  async function fakeServer(path: string, greeting: string): Promise<net.Server> {
    const srv = net.createServer((c) => { c.end(greeting); });
    await new Promise<void>((resolve) => srv.listen(path, resolve));
    return srv;
  }

  it('refuses a server of another protocol version with EPROGMISMATCH', async () => {
    const s = await setup();
    try {
      const path = join(s.dir, 'v2');
      const srv = await fakeServer(path, 'RUMPSP-TS/2 NetBSD 11.0 rump\n');
      await assert.rejects(rumpclientInit(`unix://${path}`), (e: unknown) => e instanceof KernelError && e.code === 'EPROGMISMATCH'
        && /server speaks rumpclient protocol version 2, this client speaks version 1/.test(e.message));
      srv.close();
    } finally {
      await s.cleanup();
    }
  });

  it('refuses a server that is not a rump kernel server with EPROTO', async () => {
    const s = await setup();
    try {
      const path = join(s.dir, 'ssh');
      const srv = await fakeServer(path, 'SSH-2.0-OpenSSH_9.6\r\n');
      await assert.rejects(rumpclientInit(`unix://${path}`), (e: unknown) => e instanceof KernelError && e.code === 'EPROTO' && /not a rump kernel server/.test(e.message));
      srv.close();
    } finally {
      await s.cleanup();
    }
  });

  it('says where it tried to connect when nothing is there, and what to set when nothing is given', async () => {
    await assert.rejects(rumpclientInit('unix:///nonexistent/rump.sock'), (e: unknown) => e instanceof KernelError && e.code === 'ENOENT' && /unix:\/\/\/nonexistent\/rump\.sock/.test(e.message));
    await assert.rejects(rumpclientInit(''), (e: unknown) => e instanceof KernelError && e.code === 'EDESTADDRREQ' && /RUMP_SERVER/.test(e.message));
    assert.equal(HANDSHAKE_GUEST, 0);
    assert.equal(TYPE_HANDSHAKE, 0);
  });
});
