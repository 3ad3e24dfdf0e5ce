/**
 * The rumpclient wire protocol's codecs, without sockets: frame headers and the stream decoder,
 * the banner, every syscall of the table round-tripping its arguments and results, copyout
 * lengths, limits, and the checked decoding of hostile bodies.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../src/kern/errno.js';
import { SYSCALLS, type ArgTag, type RetTag, type SyscallName, type SyscallSpec } from '../src/kern/syscalltable.js';
import { UTIME_OMIT } from '../src/kern/types.js';
import {
  BannerReader, CLASS_ERROR, CLASS_REQ, CLASS_RESP, DEFAULT_LIMITS, FrameDecoder, HANDSHAKE_GUEST, HDR_SIZE,
  PROTOCOL_VERSION, STAT_FIELDS, TYPE_HANDSHAKE, TYPE_PREFORK, TYPE_RAISE, TYPE_SYSCALL, Writer, beginFrame,
  decodeArgs, decodeError, decodeHandshake, decodeResult, encodeArgs, encodeBanner, encodeError, encodeFrame,
  encodeResult, endFrame, parseBanner, Reader, type Frame, type MarshalLimits,
} from '../src/client/wire/index.js';
import { formatRumpUrl, isLoopback, parseRumpUrl } from '../src/client/url.js';

const enc = new TextEncoder();
const specs = Object.entries(SYSCALLS) as [SyscallName, SyscallSpec][];

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** A client-side sample for each argument tag (two variants, to reach both branches of the optional ones). */
function sampleArg(tag: ArgTag, i: number, variant: number): unknown {
  switch (tag) {
    case 'int': return variant === 0 ? [-100, 0xfffffffe, 0, 0x7fffffff][i % 4] : -0x80000000;
    case 'off': return variant === 0 ? Number.MAX_SAFE_INTEGER - i : -(2 ** 40) - i;
    case 'path': return `/tmp/ü/ẞ file ${i}`;
    case 'str': return variant === 0 ? `→target ${i}` : '';
    case 'bufin': return pattern(5 + i, i);
    case 'bufout': return new Uint8Array(7 + i);
    case 'iovin': return [pattern(3, 1), new Uint8Array(0), pattern(5, 2)];
    case 'iovout': return [new Uint8Array(2), new Uint8Array(0), new Uint8Array(4)];
    case 'times': return variant === 0 ? [{ sec: 1_700_000_000, nsec: 5 }, { sec: -1, nsec: UTIME_OMIT }] : null;
    case 'data': return variant === 0 ? { a: [1, 'x', null], b: { c: true }, n: -2.5 } : undefined;
    case 'sockaddr': return variant === 0 ? { family: 24, path: '/s', addr: '::1', port: 8080, scopeId: 2, flowinfo: 3, data: pattern(4, 1) } : null;
    case 'cmsgs': return variant === 0 ? [{ level: 0xffff, type: 1, fds: [3, 4] }, { level: 0, type: 2, data: pattern(3, 2) }] : null;
    case 'pollfds': return variant === 0 ? [{ fd: 0, events: 1 }, { fd: -1, events: 0 }] : [];
  }
}

/** What the server should see for a sample (output buffers arrive as zeroed buffers of the same size). */
function expectedOnServer(tag: ArgTag, v: unknown): unknown {
  if (tag === 'bufout') return new Uint8Array((v as Uint8Array).byteLength);
  if (tag === 'iovout') return (v as Uint8Array[]).map((b) => new Uint8Array(b.byteLength));
  return v;
}

const RESULT_INT = 3;
/** Syscalls whose result is a byte count: only that much is copied out. */
const counts = (spec: SyscallSpec): boolean => spec.ret === 'int' || spec.ret === 'recv';

function sampleResult(ret: RetTag): unknown {
  switch (ret) {
    case 'void': return undefined;
    case 'int': return RESULT_INT;
    case 'off': return 2 ** 40 + 1;
    case 'str': return 'ünïcødé target';
    case 'stat': return Object.fromEntries(STAT_FIELDS.map((f, i) => [f, i === 1 ? 2 ** 50 + 3 : i * 1000 + 1]));
    case 'statvfs': return {
      flag: 1, bsize: 4096, frsize: 4096, iosize: 65536, blocks: 2 ** 40, bfree: 2, bavail: 3, bresvd: 4, files: 5,
      ffree: 6, favail: 7, fresvd: 8, fsid: 9, namemax: 255, owner: 0, fstypename: 'tmpfs', mntonname: '/tmp', mntfromname: 'tmpfs',
    };
    case 'dirents': return [{ ino: 2 ** 33, name: 'a', type: 4 }, { ino: 1, name: 'ü file', type: 8 }];
    case 'fdpair': return [3, 4];
    case 'data': return { x: [1, 2], y: 'z' };
    case 'sockaddr': return { family: 2, addr: '10.0.0.1', port: 9 };
    case 'accept': return { fd: 5, addr: { family: 1, path: '/tmp/sock' } };
    case 'recv': return { n: RESULT_INT, addr: null, flags: 0x10, control: [{ level: 0xffff, type: 1, fds: [7] }] };
    case 'revents': return [1, 0, 4];
  }
}

function frameOf(bytes: Uint8Array): Frame {
  const d = new FrameDecoder();
  d.push(bytes);
  const f = d.next();
  assert.ok(f !== null);
  return f;
}

describe('frame header', () => {
  it('is 24 bytes: u64 length, u64 request number, u16 class, u16 type, u32 word, little-endian', () => {
    const body = pattern(10, 1);
    const b = encodeFrame(2 ** 40 + 5, CLASS_RESP, TYPE_SYSCALL, 0xdeadbeef, body);
    assert.equal(b.byteLength, HDR_SIZE + 10);
    const dv = new DataView(b.buffer, b.byteOffset);
    assert.equal(dv.getBigUint64(0, true), 34n);
    assert.equal(dv.getBigUint64(8, true), 2n ** 40n + 5n);
    assert.equal(dv.getUint16(16, true), CLASS_RESP);
    assert.equal(dv.getUint16(18, true), TYPE_SYSCALL);
    assert.equal(dv.getUint32(20, true), 0xdeadbeef);
    const f = frameOf(b);
    assert.deepEqual({ len: f.len, reqno: f.reqno, cls: f.cls, type: f.type, word: f.word }, { len: 34, reqno: 2 ** 40 + 5, cls: 1, type: 1, word: 0xdeadbeef });
    assert.deepEqual(f.body, body);
  });

  it("uses NetBSD's type numbers: handshake 0, syscall 1, prefork 7, raise 8", () => {
    assert.deepEqual([TYPE_HANDSHAKE, TYPE_SYSCALL, TYPE_PREFORK, TYPE_RAISE], [0, 1, 7, 8]);
    assert.deepEqual([CLASS_REQ, CLASS_RESP, CLASS_ERROR], [0, 1, 2]);
  });

  it('reassembles frames split at every byte and separates frames sharing a chunk', () => {
    const frames = [encodeFrame(1, CLASS_REQ, TYPE_SYSCALL, 20), encodeFrame(2, CLASS_REQ, TYPE_SYSCALL, 3, pattern(100, 9)), encodeFrame(3, CLASS_RESP, TYPE_PREFORK, 0, pattern(1, 2))];
    const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
    let o = 0;
    for (const f of frames) { all.set(f, o); o += f.byteLength; }
    for (const step of [1, 5, 23, 24, 25, 1000]) {
      const d = new FrameDecoder();
      const got: Frame[] = [];
      for (let i = 0; i < all.byteLength; i += step) {
        d.push(all.subarray(i, i + step));
        for (let f = d.next(); f !== null; f = d.next()) got.push(f);
      }
      assert.deepEqual(got.map((f) => f.reqno), [1, 2, 3], `step ${step}`);
      assert.deepEqual(got[1]!.body, pattern(100, 9));
      assert.equal(d.buffered, 0);
    }
  });

  it('refuses an oversized length with EMSGSIZE as soon as the header is in, before any body', () => {
    const d = new FrameDecoder(1024);
    const h = new Uint8Array(HDR_SIZE);
    new DataView(h.buffer).setBigUint64(0, 1025n, true);
    d.push(h);
    assert.throws(() => d.next(), (e: unknown) => e instanceof KernelError && e.code === 'EMSGSIZE' && /1025 bytes exceeds the limit of 1024/.test(e.message));
    const huge = new Uint8Array(HDR_SIZE);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    const d2 = new FrameDecoder();
    d2.push(huge);
    assert.throws(() => d2.next(), { code: 'EMSGSIZE' });
  });

  it('refuses a length shorter than the header, an unknown class and an unknown type with EPROTO', () => {
    const mk = (len: number, cls: number, type: number): Uint8Array => {
      const h = new Uint8Array(HDR_SIZE);
      const dv = new DataView(h.buffer);
      dv.setBigUint64(0, BigInt(len), true);
      dv.setUint16(16, cls, true);
      dv.setUint16(18, type, true);
      return h;
    };
    for (const [h, re] of [[mk(23, 0, 0), /shorter than/], [mk(24, 3, 0), /unknown frame class 3/], [mk(24, 0, 9), /unknown frame type 9/]] as const) {
      const d = new FrameDecoder();
      d.push(h);
      assert.throws(() => d.next(), (e: unknown) => e instanceof KernelError && e.code === 'EPROTO' && re.test(e.message));
    }
  });

  it('waits for the rest of a truncated frame without returning it', () => {
    const f = encodeFrame(1, CLASS_REQ, TYPE_SYSCALL, 3, pattern(50, 1));
    const d = new FrameDecoder();
    d.push(f.subarray(0, 40));
    assert.equal(d.next(), null);
    assert.equal(d.buffered, 40);
    d.push(f.subarray(40));
    assert.equal(d.next()?.body.byteLength, 50);
  });
});

describe('banner', () => {
  it('carries the protocol version and the system, and parses back', () => {
    const text = encodeBanner({ version: PROTOCOL_VERSION, ostype: 'NetBSD', osrelease: '10.1', machine: 'rump' });
    assert.equal(text, `RUMPSP-TS/${PROTOCOL_VERSION} NetBSD 10.1 rump\n`);
    assert.deepEqual(parseBanner(text.trimEnd()), { version: PROTOCOL_VERSION, ostype: 'NetBSD', osrelease: '10.1', machine: 'rump' });
  });

  it('is read across chunks, and the bytes after the newline are kept for the frames', () => {
    const r = new BannerReader();
    assert.equal(r.push(enc.encode('RUMPSP-TS/1 Net')), null);
    const got = r.push(enc.encode('BSD 10.1 rump\nXYZ'));
    assert.equal(got?.line, 'RUMPSP-TS/1 NetBSD 10.1 rump');
    assert.deepEqual(got?.rest, enc.encode('XYZ'));
  });

  it("names a NetBSD C server's banner and refuses other text with EPROTO", () => {
    assert.throws(() => parseBanner('RUMPSP-0.1-NetBSD-10.0/amd64-rump'), (e: unknown) => e instanceof KernelError && e.code === 'EPROTO' && /NetBSD \(C\) rump_server/.test(e.message));
    assert.throws(() => parseBanner('SSH-2.0-OpenSSH_9.6'), (e: unknown) => e instanceof KernelError && e.code === 'EPROTO' && /not a rump kernel server/.test(e.message));
    const r = new BannerReader();
    assert.throws(() => r.push(new Uint8Array(200).fill(0x41)), { code: 'EPROTO' });
  });
});

describe('syscall marshalling, derived from the table', () => {
  it('has a sample for every argument and result tag the table uses (a new tag needs a codec and a sample)', () => {
    for (const [name, spec] of specs) {
      for (const [arg, tag] of spec.args) assert.ok(sampleArg(tag, 0, 0) !== undefined || tag === 'data', `no sample for ${name}.${arg} (tag ${tag})`);
      assert.ok(sampleResult(spec.ret) !== undefined || spec.ret === 'void', `no sample for the result of ${name} (tag ${spec.ret})`);
    }
  });

  it('round-trips the arguments of every syscall in the table, client to server', () => {
    for (const [name, spec] of specs) {
      for (const variant of [0, 1]) {
        const args = spec.args.map(([, tag], i) => sampleArg(tag, i, variant));
        const w = beginFrame(1, CLASS_REQ, TYPE_SYSCALL, spec.num);
        encodeArgs(w, name, spec, args);
        const f = frameOf(endFrame(w));
        assert.equal(f.word, spec.num);
        const got = decodeArgs(f.body, name, spec);
        assert.deepEqual(got, spec.args.map(([, tag], i) => expectedOnServer(tag, args[i])), `${name} variant ${variant}`);
      }
    }
  });

  it('round-trips the result of every syscall in the table and copies out into the caller\'s buffers', () => {
    for (const [name, spec] of specs) {
      const clientArgs = spec.args.map(([, tag], i) => sampleArg(tag, i, 0));
      const w = beginFrame(1, CLASS_REQ, TYPE_SYSCALL, spec.num);
      encodeArgs(w, name, spec, clientArgs);
      const serverArgs = decodeArgs(frameOf(endFrame(w)).body, name, spec);
      // the kernel fills every output buffer completely
      serverArgs.forEach((a, i) => {
        const tag = spec.args[i]![1];
        if (tag === 'bufout') (a as Uint8Array).set(pattern((a as Uint8Array).byteLength, 40 + i));
        if (tag === 'iovout') for (const [j, b] of (a as Uint8Array[]).entries()) b.set(pattern(b.byteLength, 50 + j));
      });
      const result = sampleResult(spec.ret);
      const rw = beginFrame(1, CLASS_RESP, TYPE_SYSCALL, spec.num);
      encodeResult(rw, name, spec, serverArgs, result);
      const got = decodeResult(frameOf(endFrame(rw)).body, name, spec, clientArgs);
      assert.deepEqual(got, result, name);
      spec.args.forEach(([, tag], i) => {
        if (tag === 'bufout') {
          const dst = clientArgs[i] as Uint8Array;
          const src = serverArgs[i] as Uint8Array;
          const n = counts(spec) ? Math.min(RESULT_INT, dst.byteLength) : dst.byteLength;
          assert.deepEqual(dst.subarray(0, n), src.subarray(0, n), `${name} copyout`);
          assert.ok(dst.subarray(n).every((x) => x === 0), `${name}: bytes past the count were not copied out`);
        }
        if (tag === 'iovout') {
          const flat = (iov: Uint8Array[]): number[] => iov.flatMap((b) => [...b]);
          const dst = flat(clientArgs[i] as Uint8Array[]);
          const src = flat(serverArgs[i] as Uint8Array[]);
          const n = counts(spec) ? RESULT_INT : dst.length;
          assert.deepEqual(dst.slice(0, n), src.slice(0, n), `${name} iov copyout`);
          assert.ok(dst.slice(n).every((x) => x === 0));
        }
      });
    }
  });

  it('sends back only as many bytes as read returned', () => {
    const spec = SYSCALLS.read;
    const serverBuf = pattern(4096, 1);
    const small = beginFrame(1, CLASS_RESP, TYPE_SYSCALL, spec.num);
    encodeResult(small, 'read', spec, [0, serverBuf], 10);
    const full = beginFrame(1, CLASS_RESP, TYPE_SYSCALL, spec.num);
    encodeResult(full, 'read', spec, [0, serverBuf], 4096);
    assert.equal(endFrame(small).byteLength, HDR_SIZE + 8 + 4 + 10);
    assert.equal(endFrame(full).byteLength, HDR_SIZE + 8 + 4 + 4096);
  });

  it('refuses bad client arguments with EINVAL naming the syscall and the argument', () => {
    const cases: [SyscallName, unknown[], RegExp][] = [
      ['read', [0], /read takes 2 argument\(s\) \(fd, buf\), got 1/],
      ['close', [1.5], /argument 'fd' of close must be a 32-bit integer, got 1.5/],
      ['close', [2 ** 32], /argument 'fd' of close must be a 32-bit integer/],
      ['lseek', [0, 2 ** 53, 0], /argument 'offset' of lseek must be a safe integer/],
      ['write', [0, 'text'], /argument 'buf' of write must be a Uint8Array, got a string/],
      ['open', [42, 0, 0], /argument 'path' of open must be a string/],
      ['utimes', ['/x', [{ sec: 1 }]], /argument 'times' of utimes/],
      ['mount', ['tmpfs', '/x', 0, { big: 1n }], /argument 'data' of mount cannot be sent as JSON/],
    ];
    for (const [name, args, re] of cases) {
      assert.throws(() => encodeArgs(new Writer(), name, SYSCALLS[name], args), (e: unknown) => e instanceof KernelError && e.code === 'EINVAL' && re.test(e.message), name);
    }
  });

  it('refuses malformed request bodies with EINVAL, never reading past the end', () => {
    const body = (f: (w: Writer) => void): Uint8Array => { const w = new Writer(); f(w); return w.finish(); };
    const cases: [SyscallName, Uint8Array, RegExp][] = [
      ['close', new Uint8Array(3), /arguments of close: truncated at fd/],
      ['close', body((w) => { w.i64(1); w.u8(0); }), /1 unexpected trailing bytes/],
      ['close', body((w) => w.i64(2 ** 33)), /fd 8589934592 is not a 32-bit integer/],
      ['open', body((w) => { w.u32(1000); }), /truncated at path/],
      ['open', body((w) => { w.u32(2); w.u8(0xff); w.u8(0xfe); w.i64(0); w.i64(0); }), /path is not valid UTF-8/],
      ['writev', body((w) => { w.i64(0); w.u32(5000); }), /5000 iovecs, more than IOV_MAX/],
      ['mount', body((w) => { w.str('tmpfs'); w.str('/x'); w.i64(0); w.u8(1); w.str('{nope'); }), /data is not valid JSON/],
      ['utimes', body((w) => { w.str('/x'); w.u8(7); }), /presence flag 7/],
      ['lseek', body((w) => { w.i64(0); w.u32(0); w.u32(0x7fffffff); w.i64(0); }), /outside the range of exact integers/],
    ];
    for (const [name, b, re] of cases) {
      assert.throws(() => decodeArgs(b, name, SYSCALLS[name]), (e: unknown) => e instanceof KernelError && e.code === 'EINVAL' && re.test(e.message), `${name}: ${re}`);
    }
  });

  it('bounds I/O to maxIo: the server allocates at most that, the client sends at most that of a write', () => {
    const limits: MarshalLimits = { ...DEFAULT_LIMITS, maxIo: 100 };
    const w = new Writer();
    encodeArgs(w, 'read', SYSCALLS.read, [0, new Uint8Array(1000)], limits);
    const args = decodeArgs(w.finish(), 'read', SYSCALLS.read, limits);
    assert.equal((args[1] as Uint8Array).byteLength, 100);
    // a hostile client asking for 4 GiB gets maxIo
    const hostile = new Writer();
    hostile.i64(0);
    hostile.u32(0xffffffff);
    assert.equal((decodeArgs(hostile.finish(), 'read', SYSCALLS.read, limits)[1] as Uint8Array).byteLength, 100);
    const ww = new Writer();
    encodeArgs(ww, 'write', SYSCALLS.write, [0, pattern(1000, 1)], limits);
    assert.equal((decodeArgs(ww.finish(), 'write', SYSCALLS.write, limits)[1] as Uint8Array).byteLength, 100);
    const iov = decodeArgs((() => { const x = new Writer(); encodeArgs(x, 'readv', SYSCALLS.readv, [0, [new Uint8Array(60), new Uint8Array(60)]], limits); return x.finish(); })(), 'readv', SYSCALLS.readv, limits);
    assert.deepEqual((iov[1] as Uint8Array[]).map((b) => b.byteLength), [60, 40]);
  });

  it('reports a malformed kernel result as EIO instead of sending garbage', () => {
    assert.throws(() => encodeResult(new Writer(), 'getpid', SYSCALLS.getpid, [], 'seven'), { code: 'EIO' });
    assert.throws(() => encodeResult(new Writer(), 'stat', SYSCALLS.stat, ['/x'], { dev: 1 }), { code: 'EIO' });
  });
});

describe('readers and writers', () => {
  it('decodes a result split into pieces at every byte, copying out straight into the caller\'s buffer', () => {
    const spec = SYSCALLS.pread;
    const data = pattern(300, 3);
    const w = beginFrame(9, CLASS_RESP, TYPE_SYSCALL, spec.num);
    encodeResult(w, 'pread', spec, [0, data, 0], 300);
    const frame = endFrame(w);
    for (const step of [1, 3, 7, 24, 100, 1000]) {
      const d = new FrameDecoder();
      for (let i = 0; i < frame.byteLength; i += step) d.push(frame.subarray(i, i + step));
      const f = d.nextParts();
      assert.ok(f !== null);
      assert.equal(f.reqno, 9);
      const dst = new Uint8Array(300);
      assert.equal(decodeResult(f.parts, 'pread', spec, [0, dst, 0]), 300);
      assert.deepEqual(dst, data, `step ${step}`);
    }
    const st = sampleResult('stat');
    const sw = beginFrame(1, CLASS_RESP, TYPE_SYSCALL, SYSCALLS.stat.num);
    encodeResult(sw, 'stat', SYSCALLS.stat, ['/x'], st);
    const sf = endFrame(sw).subarray(HDR_SIZE);
    const pieces = Array.from({ length: sf.byteLength }, (_, i) => sf.subarray(i, i + 1));
    assert.deepEqual(decodeResult([new Uint8Array(0), ...pieces, new Uint8Array(0)], 'stat', SYSCALLS.stat, ['/x']), st);
  });

  it('gives every writer its own bytes, even when they share an allocation', () => {
    const frames: [Uint8Array, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const w = new Writer(i % 7 === 0 ? 5000 : 40);
      for (let j = 0; j < 10 + (i % 50); j++) w.u8(i & 0xff);
      frames.push([w.finish(), i & 0xff]);
    }
    for (const [f, v] of frames) assert.ok(f.every((x) => x === v));
  });

  it('codes short ASCII, long ASCII and non-ASCII strings alike', () => {
    for (const s of ['', 'a', 'x'.repeat(64), 'y'.repeat(65), 'é', `${'z'.repeat(63)}é`, '\u{1F600} emoji', '\u0000nul', '\uFEFFbom']) {
      const w = new Writer();
      w.str(s);
      const b = w.finish();
      assert.deepEqual(b.subarray(4), enc.encode(s));
      assert.equal(new Reader(b, 'test').str('s', 1000), s);
    }
  });
});

describe('error, handshake and URL bodies', () => {
  it('rebuilds the same KernelError: code, errno, message, syscall and path', () => {
    const e = new KernelError('ENOENT', "'x' does not exist").annotate('open', '/tmp/x');
    const { errno, body } = encodeError(e);
    assert.equal(errno, 2);
    const back = decodeError(errno, body);
    assert.equal(back.code, 'ENOENT');
    assert.equal(back.errno, 2);
    assert.equal(back.message, e.message);
    assert.equal(back.syscall, 'open');
    assert.equal(back.path, '/tmp/x');
    const garbage = decodeError(12345, new Uint8Array([1, 2, 3]));
    assert.equal(garbage.code, 'EIO');
    assert.match(garbage.message, /unknown errno 12345/);
  });

  it('checks every field of a handshake', () => {
    const j = (o: unknown): Uint8Array => enc.encode(JSON.stringify(o));
    assert.deepEqual(decodeHandshake(j({ version: 1, uid: 1000, gid: 100, groups: [5], comm: 'ls' })), { version: 1, uid: 1000, gid: 100, groups: [5], comm: 'ls' });
    assert.throws(() => decodeHandshake(j({ uid: 1 })), /without an integer protocol version/);
    assert.throws(() => decodeHandshake(j({ version: 1, uid: -1 })), { code: 'EINVAL' });
    assert.throws(() => decodeHandshake(j({ version: 1, groups: new Array(17).fill(1) })), { code: 'EINVAL' });
    assert.throws(() => decodeHandshake(j({ version: 1, cookie: 'abc' })), /32 hex digits/);
    assert.throws(() => decodeHandshake(j([1])), { code: 'EPROTO' });
    assert.throws(() => decodeHandshake(new Uint8Array(5000).fill(0x20)), { code: 'EPROTO' });
    assert.equal(HANDSHAKE_GUEST, 0);
  });

  it('parses unix:// and tcp:// URLs and tells loopback addresses', () => {
    assert.deepEqual(parseRumpUrl('unix:///tmp/s'), { kind: 'unix', path: '/tmp/s' });
    assert.deepEqual(parseRumpUrl('unix://rel/s'), { kind: 'unix', path: 'rel/s' });
    assert.deepEqual(parseRumpUrl('tcp://127.0.0.1:0'), { kind: 'tcp', host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseRumpUrl('tcp://[::1]:12345'), { kind: 'tcp', host: '::1', port: 12345 });
    assert.equal(formatRumpUrl({ kind: 'tcp', host: '::1', port: 5 }), 'tcp://[::1]:5');
    for (const bad of ['http://x', 'unix://', 'tcp://1.2.3.4', 'tcp://1.2.3.4:99999']) assert.throws(() => parseRumpUrl(bad), { code: 'EINVAL' }, bad);
    assert.ok(isLoopback('127.0.0.1') && isLoopback('127.1.2.3') && isLoopback('::1') && isLoopback('localhost'));
    assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1') && !isLoopback('::') && !isLoopback('example.com'));
  });
});
