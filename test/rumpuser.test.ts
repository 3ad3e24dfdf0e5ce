/**
 * rumpuser: one contract suite run against both hosts, then what only one host does.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  Clock,
  HostError,
  RUMPUSER_OPEN_CREATE,
  RUMPUSER_OPEN_EXCL,
  RUMPUSER_OPEN_RDONLY,
  RUMPUSER_OPEN_RDWR,
  RUMPUSER_OPEN_WRONLY,
  RUMPUSER_PARAM_HOSTNAME,
  RUMPUSER_PARAM_NCPU,
  RUMPUSER_VERSION,
  RUMP_MEMLIMIT,
} from '../src/rumpuser/index.js';
import type { RumpUser } from '../src/rumpuser/index.js';
import { NodeHost, nodeHost } from '../src/rumpuser/node/index.js';
import { probeSize } from '../src/rumpuser/node/file.js';
import { toHostError } from '../src/rumpuser/node/error.js';
import { MemoryHost, memoryHost, DEFAULT_EPOCH_MS } from '../src/rumpuser/memory/index.js';

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                   */

const enc = new TextEncoder();
const dec = new TextDecoder();

function hostError(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof HostError, `expected HostError ${code}, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Fixture {
  host: RumpUser;
  /** A directory on the host, empty at the start of the test. */
  dir: string;
  /** What the host wrote to its console. */
  console: string[];
  cleanup(): Promise<void>;
}

interface HostKind {
  name: string;
  make(params?: Record<string, string>): Promise<Fixture>;
}

const kinds: HostKind[] = [
  {
    name: 'node',
    async make(params) {
      const out: string[] = [];
      const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rumpuser-test-'));
      const host = nodeHost({ ...(params ? { params } : {}), console: (s) => void out.push(s) });
      return { host, dir, console: out, cleanup: () => fs.promises.rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'memory',
    async make(params) {
      const out: string[] = [];
      const host = memoryHost({ ...(params ? { params } : {}), console: (s) => void out.push(s) });
      const dir = '/tmp/rumpuser-test';
      host.addDirectory(dir);
      return { host, dir, console: out, cleanup: async () => {} };
    },
  },
];

/* ---------------------------------------------------------------------------------------- */
/* the contract, for every host                                                              */

for (const kind of kinds) {
  describe(`the ${kind.name} host`, () => {
    let f: Fixture;
    let host: RumpUser;
    before(async () => {
      f = await kind.make();
      host = f.host;
      host.init(RUMPUSER_VERSION, {});
    });
    after(async () => {
      await f.cleanup();
    });
    const file = (name: string): string => `${f.dir}/${name}`;

    it('names itself and implements the current contract version', () => {
      assert.equal(host.name, kind.name);
      assert.equal(host.version, RUMPUSER_VERSION);
    });

    it('refuses to init a kernel built for another contract version with EPROGMISMATCH', async () => {
      const { host: h, cleanup } = await kind.make();
      assert.throws(() => h.init(RUMPUSER_VERSION - 1, {}), hostError('EPROGMISMATCH'));
      assert.throws(() => h.init(RUMPUSER_VERSION + 1, {}), hostError('EPROGMISMATCH'));
      h.init(RUMPUSER_VERSION, {});
      await cleanup();
    });

    it('answers parameters given at creation before its own values', async () => {
      const { host: h, cleanup } = await kind.make({ [RUMP_MEMLIMIT]: '1048576', [RUMPUSER_PARAM_HOSTNAME]: 'rumphost', [RUMPUSER_PARAM_NCPU]: '3' });
      assert.equal(h.getparam(RUMP_MEMLIMIT), '1048576');
      assert.equal(h.getparam(RUMPUSER_PARAM_HOSTNAME), 'rumphost');
      assert.equal(h.getparam(RUMPUSER_PARAM_NCPU), '3');
      await cleanup();
    });

    it('reports a positive CPU count and a non-empty host name', () => {
      assert.match(host.getparam(RUMPUSER_PARAM_NCPU) ?? '', /^[1-9][0-9]*$/);
      assert.ok((host.getparam(RUMPUSER_PARAM_HOSTNAME) ?? '').length > 0);
    });

    it('answers undefined for a parameter nobody set', () => {
      assert.equal(host.getparam('RUMPUSER_TEST_SURELY_UNSET_PARAMETER'), undefined);
    });

    it('keeps a monotonic clock that never goes backwards and agrees with its millisecond form', () => {
      let prev = host.clockGettime(Clock.MONOTONIC);
      for (let i = 0; i < 1000; i++) {
        const now = host.clockGettime(Clock.MONOTONIC);
        assert.ok(now >= prev);
        prev = now;
      }
      const before = Number(host.clockGettime(Clock.MONOTONIC)) / 1e6;
      const ms = host.clockMs(Clock.MONOTONIC);
      const after = Number(host.clockGettime(Clock.MONOTONIC)) / 1e6;
      assert.ok(before - 0.01 <= ms && ms <= after + 0.01, `${ms} ms read between ${before} and ${after}`);
    });

    it('keeps a realtime clock within a few milliseconds of the wall clock, in both forms', () => {
      const wall = Date.now();
      assert.ok(Math.abs(host.clockMs(Clock.REALTIME) - wall) < 20);
      assert.ok(Math.abs(Number(host.clockGettime(Clock.REALTIME) / 1_000_000n) - wall) < 20);
    });

    it('refuses an unknown clock with EINVAL', () => {
      assert.throws(() => host.clockGettime(7 as Clock), hostError('EINVAL'));
    });

    it('sleeps for at least the requested time', async () => {
      const t0 = host.clockMs(Clock.MONOTONIC);
      await host.clockSleep(20);
      assert.ok(host.clockMs(Clock.MONOTONIC) - t0 >= 18);
    });

    it('fires a timer once, after its delay', async () => {
      const t0 = host.clockMs(Clock.MONOTONIC);
      let fired = 0;
      let at = 0;
      host.timer(15, () => {
        fired++;
        at = host.clockMs(Clock.MONOTONIC);
      });
      await delay(60);
      assert.equal(fired, 1);
      assert.ok(at - t0 >= 13, `fired after ${at - t0} ms`);
    });

    it('does not fire a cancelled timer, and cancelling twice is harmless', async () => {
      let fired = false;
      const t = host.timer(10, () => {
        fired = true;
      });
      t.cancel();
      t.cancel();
      await delay(40);
      assert.equal(fired, false);
    });

    it('runs scheduled functions after the current job, in the order scheduled', async () => {
      const seen: number[] = [];
      host.schedule(() => seen.push(1));
      host.schedule(() => seen.push(2));
      host.schedule(() => seen.push(3));
      assert.deepEqual(seen, []);
      await delay(10);
      assert.deepEqual(seen, [1, 2, 3]);
    });

    it('runs a scheduled function after promise continuations made ready before it', async () => {
      const seen: string[] = [];
      host.schedule(() => seen.push('softint'));
      void Promise.resolve().then(() => seen.push('microtask'));
      await delay(10);
      assert.deepEqual(seen, ['microtask', 'softint']);
    });

    it('fills a buffer larger than one getRandomValues chunk with random bytes', () => {
      const buf = new Uint8Array(200_000);
      host.getrandom(buf);
      const tail = buf.subarray(150_000);
      assert.ok(tail.some((b) => b !== 0));
      const counts = new Array<number>(256).fill(0);
      for (const b of buf) counts[b] = (counts[b] ?? 0) + 1;
      assert.ok(counts.every((c) => c > 500), 'bytes are spread over all values');
    });

    it('allocates zeroed memory of the requested size and refuses impossible sizes', () => {
      const m = host.malloc(4096);
      assert.equal(m.length, 4096);
      assert.ok(m.every((b) => b === 0));
      assert.equal(host.malloc(0).length, 0);
      assert.throws(() => host.malloc(2 ** 52), hostError('ENOMEM'));
      assert.throws(() => host.malloc(-1), hostError('EINVAL'));
      assert.throws(() => host.malloc(1.5), hostError('EINVAL'));
    });

    it('writes its console output through the console option', async () => {
      const { host: h, console: out, cleanup } = await kind.make();
      h.consoleWrite('hello, ');
      h.consoleWrite('rump\n');
      assert.equal(out.join(''), 'hello, rump\n');
      await cleanup();
    });

    it('round-trips data through open, write, read, size, truncate, sync and close', async () => {
      const p = file('roundtrip');
      const fh = await host.open(p, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      assert.equal(fh.path, p);
      assert.equal(await fh.size(), 0);
      assert.equal(await fh.write(enc.encode('hello'), 0), 5);
      assert.equal(await fh.write(enc.encode('world'), 10), 5);
      assert.equal(await fh.size(), 15);
      const back = new Uint8Array(15);
      assert.equal(await fh.read(back, 0), 15);
      assert.deepEqual([...back.subarray(5, 10)], [0, 0, 0, 0, 0], 'the hole reads as zeros');
      assert.equal(dec.decode(back.subarray(10)), 'world');
      await fh.truncate(4);
      assert.equal(await fh.size(), 4);
      await fh.truncate(8);
      const grown = new Uint8Array(8);
      assert.equal(await fh.read(grown, 0), 8);
      assert.equal(dec.decode(grown.subarray(0, 4)), 'hell');
      assert.deepEqual([...grown.subarray(4)], [0, 0, 0, 0], 'growing by truncate exposes zeros');
      await fh.sync();
      await fh.close();

      const again = await host.open(p, RUMPUSER_OPEN_RDONLY);
      const buf = new Uint8Array(4);
      assert.equal(await again.read(buf, 0), 4);
      assert.equal(dec.decode(buf), 'hell');
      await again.close();
    });

    it('transfers a large buffer in full', async () => {
      const big = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
      const fh = await host.open(file('big'), RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      assert.equal(await fh.write(big, 4096), big.length);
      const back = new Uint8Array(big.length);
      assert.equal(await fh.read(back, 4096), big.length);
      assert.deepEqual(back, big);
      await fh.close();
    });

    it('reports a missing file as HostError ENOENT', async () => {
      await assert.rejects(host.open(file('missing'), RUMPUSER_OPEN_RDONLY), hostError('ENOENT'));
      await assert.rejects(host.getfileinfo(file('missing')), hostError('ENOENT'));
      await assert.rejects(host.readdir(file('missing')), hostError('ENOENT'));
      await assert.rejects(host.open(file('nodir/x'), RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE), hostError('ENOENT'));
    });

    it('refuses an exclusive create of an existing file with EEXIST', async () => {
      const p = file('excl');
      const first = await host.open(p, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL);
      await first.close();
      await assert.rejects(host.open(p, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE | RUMPUSER_OPEN_EXCL), hostError('EEXIST'));
      const plain = await host.open(p, RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      await plain.close();
    });

    it('returns a short read only at end of file', async () => {
      const fh = await host.open(file('short'), RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      await fh.write(enc.encode('0123456789'), 0);
      const buf = new Uint8Array(8);
      assert.equal(await fh.read(buf, 0), 8);
      assert.equal(await fh.read(buf, 6), 4);
      assert.equal(dec.decode(buf.subarray(0, 4)), '6789');
      assert.equal(await fh.read(buf, 10), 0);
      assert.equal(await fh.read(buf, 1000), 0);
      assert.equal(await fh.read(new Uint8Array(0), 0), 0);
      await fh.close();
    });

    it('describes files and directories with getfileinfo and readdir', async () => {
      const fh = await host.open(file('info'), RUMPUSER_OPEN_WRONLY | RUMPUSER_OPEN_CREATE);
      await fh.write(new Uint8Array(1234), 0);
      await fh.close();
      assert.deepEqual(await host.getfileinfo(file('info')), { type: 'reg', size: 1234 });
      assert.equal((await host.getfileinfo(f.dir)).type, 'dir');
      const sub = `${f.dir}/listing`;
      if (host instanceof MemoryHost) host.addDirectory(`${sub}/inner`);
      else await fs.promises.mkdir(`${sub}/inner`, { recursive: true });
      const a = await host.open(`${sub}/a`, RUMPUSER_OPEN_WRONLY | RUMPUSER_OPEN_CREATE);
      await a.close();
      const list = (await host.readdir(sub)).sort((x, y) => x.name.localeCompare(y.name));
      assert.deepEqual(list, [
        { name: 'a', type: 'reg' },
        { name: 'inner', type: 'dir' },
      ]);
    });

    it('refuses to open a directory with EISDIR', async () => {
      await assert.rejects(host.open(f.dir, RUMPUSER_OPEN_RDONLY), hostError('EISDIR'));
    });

    it('refuses unknown open flags with EINVAL', async () => {
      await assert.rejects(host.open(file('flags'), RUMPUSER_OPEN_RDWR | 0x4000), hostError('EINVAL'));
      await assert.rejects(host.open(file('flags'), 3), hostError('EINVAL'));
    });

    it('refuses writes to a file opened read-only with EBADF', async () => {
      const p = file('ro');
      const w = await host.open(p, RUMPUSER_OPEN_WRONLY | RUMPUSER_OPEN_CREATE);
      await w.close();
      const fh = await host.open(p, RUMPUSER_OPEN_RDONLY);
      await assert.rejects(fh.write(enc.encode('x'), 0), hostError('EBADF'));
      await fh.close();
    });

    it('refuses every operation on a closed file with EBADF', async () => {
      const fh = await host.open(file('closed'), RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      await fh.close();
      await assert.rejects(fh.read(new Uint8Array(1), 0), hostError('EBADF'));
      await assert.rejects(fh.write(new Uint8Array(1), 0), hostError('EBADF'));
      await assert.rejects(fh.size(), hostError('EBADF'));
      await assert.rejects(fh.truncate(0), hostError('EBADF'));
      await assert.rejects(fh.sync(), hostError('EBADF'));
      await assert.rejects(fh.close(), hostError('EBADF'));
    });

    it('refuses a negative or fractional offset with EINVAL', async () => {
      const fh = await host.open(file('offsets'), RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
      await assert.rejects(fh.read(new Uint8Array(1), -1), hostError('EINVAL'));
      await assert.rejects(fh.write(new Uint8Array(1), 0.5), hostError('EINVAL'));
      await fh.close();
    });

    it('runs a task concurrently and join waits for it to finish', async () => {
      const seen: string[] = [];
      const task = host.taskCreate('worker', async () => {
        seen.push('start');
        await delay(10);
        seen.push('end');
      });
      assert.equal(task.name, 'worker');
      seen.push('creator');
      await task.join();
      assert.deepEqual(seen, ['creator', 'start', 'end']);
      await task.join();
    });

    it('reports a failing task on the console and still lets it be joined', async () => {
      const { host: h, console: out, cleanup } = await kind.make();
      const boom = h.taskCreate('doomed', async () => {
        await delay(1);
        throw new Error('kaboom');
      });
      const sync = h.taskCreate('doomed-sync', () => {
        throw new Error('at once');
      });
      await boom.join();
      await sync.join();
      const text = out.join('');
      assert.match(text, /doomed.*kaboom/);
      assert.match(text, /doomed-sync.*at once/);
      await cleanup();
    });
  });
}

/* ---------------------------------------------------------------------------------------- */
/* the Node host only                                                                        */

describe('the node host on its own', () => {
  let dir: string;
  before(async () => {
    dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rumpuser-node-'));
  });
  after(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('reads parameters from the environment when not given at creation', () => {
    process.env['RUMPUSER_TEST_PARAM'] = 'from-env';
    try {
      assert.equal(nodeHost().getparam('RUMPUSER_TEST_PARAM'), 'from-env');
      assert.equal(nodeHost({ params: { RUMPUSER_TEST_PARAM: 'given' } }).getparam('RUMPUSER_TEST_PARAM'), 'given');
    } finally {
      delete process.env['RUMPUSER_TEST_PARAM'];
    }
  });

  it("answers the host's parallelism and hostname", () => {
    const h = new NodeHost();
    if (process.env[RUMPUSER_PARAM_NCPU] === undefined && process.env['RUMP_NCPU'] === undefined) {
      assert.equal(h.getparam(RUMPUSER_PARAM_NCPU), String(os.availableParallelism()));
    }
    if (process.env[RUMPUSER_PARAM_HOSTNAME] === undefined) assert.equal(h.getparam(RUMPUSER_PARAM_HOSTNAME), os.hostname());
    assert.equal(nodeHost({ params: { RUMP_NCPU: '4' } }).getparam(RUMPUSER_PARAM_NCPU), '4');
  });

  it('ends the process with the given code on exit', () => {
    const real = process.exit;
    let code: unknown;
    process.exit = ((c?: number) => {
      code = c;
    }) as typeof process.exit;
    try {
      nodeHost().exit(3);
    } finally {
      process.exit = real;
    }
    assert.equal(code, 3);
  });

  it('writes to stderr when no console is given', () => {
    const real = process.stderr.write;
    let written = '';
    process.stderr.write = ((s: string | Uint8Array) => {
      written += String(s);
      return true;
    }) as typeof process.stderr.write;
    try {
      nodeHost().consoleWrite('to stderr\n');
    } finally {
      process.stderr.write = real;
    }
    assert.equal(written, 'to stderr\n');
  });

  it('calls the halt upcall when the host requests a halt', () => {
    const h = nodeHost();
    let halted = 0;
    h.requestHalt();
    h.init(RUMPUSER_VERSION, { halt: () => halted++ });
    h.requestHalt();
    assert.equal(halted, 1);
  });

  it("turns Node's errors into HostErrors carrying the errno name", async () => {
    const e = toHostError(Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' }));
    assert.equal(e.code, 'EACCES');
    assert.equal(e.message, "EACCES: permission denied, open '/x'");
    assert.equal(toHostError(Object.assign(new RangeError('bad'), { code: 'ERR_OUT_OF_RANGE' })).code, 'EINVAL');
    assert.equal(toHostError(new Error('who knows')).code, 'EIO');
    const h = nodeHost();
    const p = path.join(dir, 'plain');
    await fs.promises.writeFile(p, 'x');
    await assert.rejects(h.open(path.join(p, 'below'), RUMPUSER_OPEN_RDONLY), hostError('ENOTDIR'));
  });

  it('finds the size of a device by probing reads when the host cannot tell it', async () => {
    const p = path.join(dir, 'probe');
    for (const size of [0, 1, 511, 512, 513, 100_000, 1_048_576]) {
      await fs.promises.writeFile(p, new Uint8Array(size));
      const fd = fs.openSync(p, 'r');
      try {
        assert.equal(await probeSize(fd), size);
      } finally {
        fs.closeSync(fd);
      }
    }
  });

  it('sees writes through the host file system', async () => {
    const h = nodeHost();
    const p = path.join(dir, 'visible');
    const fh = await h.open(p, RUMPUSER_OPEN_WRONLY | RUMPUSER_OPEN_CREATE);
    await fh.write(enc.encode('on the host'), 0);
    await fh.sync();
    await fh.close();
    assert.equal(await fs.promises.readFile(p, 'utf8'), 'on the host');
  });
});

/* ---------------------------------------------------------------------------------------- */
/* the memory host only                                                                      */

describe('the memory host on its own', () => {
  it('starts a manual clock at zero and REALTIME at the chosen epoch', async () => {
    const h = memoryHost({ manualClock: true });
    assert.equal(h.clockGettime(Clock.MONOTONIC), 0n);
    assert.equal(h.clockMs(Clock.REALTIME), DEFAULT_EPOCH_MS);
    assert.equal(h.clockGettime(Clock.REALTIME), BigInt(DEFAULT_EPOCH_MS) * 1_000_000n);
    const other = memoryHost({ manualClock: true, epochMs: 86_400_000 });
    assert.equal(other.clockMs(Clock.REALTIME), 86_400_000);
    await delay(5);
    assert.equal(h.clockMs(Clock.MONOTONIC), 0, 'real time passing does not move it');
    await h.advance(1.5);
    assert.equal(h.clockGettime(Clock.MONOTONIC), 1_500_000n);
    assert.equal(h.clockMs(Clock.REALTIME), DEFAULT_EPOCH_MS + 1.5);
  });

  it('fires due timers in order of due time then creation when the manual clock advances', async () => {
    const h = memoryHost({ manualClock: true });
    const seen: string[] = [];
    const at = (tag: string) => () => seen.push(`${tag}@${h.clockMs(Clock.MONOTONIC)}`);
    h.timer(30, at('c'));
    h.timer(10, at('a'));
    h.timer(10, at('b'));
    h.timer(100, at('late'));
    const cancelled = h.timer(20, at('cancelled'));
    cancelled.cancel();
    assert.equal(h.nextTimerMs(), 10);
    await h.advance(9);
    assert.deepEqual(seen, []);
    await h.advance(50);
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@30']);
    assert.equal(h.clockMs(Clock.MONOTONIC), 59);
    assert.equal(h.nextTimerMs(), 41);
    await h.advance(41);
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@30', 'late@100']);
    assert.equal(h.nextTimerMs(), undefined);
  });

  it('finishes the promise work and softints of one timer before firing the next', async () => {
    const h = memoryHost({ manualClock: true });
    const seen: string[] = [];
    h.timer(5, () => {
      seen.push('t1');
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push('t1 continuation'));
      h.schedule(() => {
        seen.push('t1 softint');
        h.schedule(() => seen.push('t1 softint again'));
        h.timer(0, () => seen.push('t1 rearmed'));
      });
    });
    h.timer(5, () => seen.push('t2'));
    await h.advance(5);
    assert.deepEqual(seen, ['t1', 't1 continuation', 't1 softint', 't1 softint again', 't2', 't1 rearmed']);
  });

  it('resolves clockSleep when the manual clock passes its deadline', async () => {
    const h = memoryHost({ manualClock: true });
    let woke = false;
    const sleeping = h.clockSleep(1000).then(() => {
      woke = true;
    });
    await h.advance(999);
    assert.equal(woke, false);
    await h.advance(1);
    assert.equal(woke, true);
    await sleeping;
  });

  it('rejects advance with what a timer threw, stopping the clock at that timer', async () => {
    const h = memoryHost({ manualClock: true });
    let later = false;
    h.timer(10, () => {
      throw new Error('callout bug');
    });
    h.timer(20, () => {
      later = true;
    });
    await assert.rejects(h.advance(100), /callout bug/);
    assert.equal(h.clockMs(Clock.MONOTONIC), 10);
    assert.equal(later, false);
    await h.advance(10);
    assert.equal(later, true);
  });

  it('refuses advance without a manual clock or with a negative step', async () => {
    await assert.rejects(memoryHost().advance(1), hostError('EINVAL'));
    await assert.rejects(memoryHost({ manualClock: true }).advance(-1), hostError('EINVAL'));
  });

  it('produces the same random bytes for the same seed and different ones for another', () => {
    const a = new Uint8Array(1000);
    const b = new Uint8Array(1000);
    const c = new Uint8Array(1000);
    memoryHost({ seed: 42 }).getrandom(a);
    const h = memoryHost({ seed: 42 });
    h.getrandom(b.subarray(0, 3));
    h.getrandom(b.subarray(3));
    memoryHost({ seed: 43 }).getrandom(c);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.some((x) => x !== 0));
  });

  it('serves files given at creation and hands back copies of current contents', async () => {
    const h = memoryHost({ files: { '/etc/motd': enc.encode('welcome\n') } });
    assert.deepEqual(await h.getfileinfo('/etc/motd'), { type: 'reg', size: 8 });
    assert.equal((await h.getfileinfo('/etc')).type, 'dir');
    const fh = await h.open('etc//./motd', RUMPUSER_OPEN_RDWR);
    await fh.write(enc.encode('W'), 0);
    const copy = h.getFile('/etc/motd');
    assert.equal(dec.decode(copy), 'Welcome\n');
    copy[0] = 0;
    assert.equal(dec.decode(h.getFile('/etc/motd')), 'Welcome\n');
    await fh.close();
  });

  it('adds block device images by size or from an ArrayBuffer and keeps their size fixed', async () => {
    const h = memoryHost();
    h.addFile('/dev/disk0', 1 << 30, { type: 'blk' });
    assert.deepEqual(await h.getfileinfo('/dev/disk0'), { type: 'blk', size: 1 << 30 });
    const d = await h.open('/dev/disk0', RUMPUSER_OPEN_RDWR);
    await d.write(enc.encode('last sector'), (1 << 30) - 512);
    const back = new Uint8Array(11);
    assert.equal(await d.read(back, (1 << 30) - 512), 11);
    assert.equal(dec.decode(back), 'last sector');
    await assert.rejects(d.write(new Uint8Array(512), (1 << 30) - 256), hostError('ENOSPC'));
    await assert.rejects(d.truncate(0), hostError('EINVAL'));
    assert.equal(await d.size(), 1 << 30);
    await d.close();

    const image = new Uint8Array(4096);
    image.set(enc.encode('BOOT'), 0);
    h.addFile('/dev/disk1', image.buffer, { type: 'blk' });
    const e = await h.open('/dev/disk1', RUMPUSER_OPEN_RDONLY);
    const head = new Uint8Array(4);
    await e.read(head, 0);
    assert.equal(dec.decode(head), 'BOOT');
    await e.close();
    assert.deepEqual(await h.readdir('/dev'), [
      { name: 'disk0', type: 'blk' },
      { name: 'disk1', type: 'blk' },
    ]);
  });

  it('grows a file written past its end but refuses to pass maxFileSize with EFBIG', async () => {
    const h = memoryHost({ maxFileSize: 1 << 20 });
    const fh = await h.open('/grow', RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE);
    await fh.write(enc.encode('x'), 200_000);
    assert.equal(await fh.size(), 200_001);
    await fh.write(new Uint8Array(10), (1 << 20) - 10);
    await assert.rejects(fh.write(new Uint8Array(11), (1 << 20) - 10), hostError('EFBIG'));
    await assert.rejects(fh.truncate((1 << 20) + 1), hostError('EFBIG'));
    assert.throws(() => h.addFile('/huge', (1 << 20) + 1), hostError('EFBIG'));
    assert.equal(memoryHost().addFile('/4g', 4 * 2 ** 30), undefined, 'the default limit is 4 GiB');
    await fh.close();
  });

  it('removes files while open handles keep working on the removed contents', async () => {
    const h = memoryHost();
    h.addFile('/a/b/c', enc.encode('abc'));
    const fh = await h.open('/a/b/c', RUMPUSER_OPEN_RDONLY);
    h.removeFile('/a/b/c');
    await assert.rejects(h.getfileinfo('/a/b/c'), hostError('ENOENT'));
    assert.throws(() => h.getFile('/a/b/c'), hostError('ENOENT'));
    assert.throws(() => h.removeFile('/a/b/c'), hostError('ENOENT'));
    const buf = new Uint8Array(3);
    assert.equal(await fh.read(buf, 0), 3);
    assert.equal(dec.decode(buf), 'abc');
    await fh.close();
    h.addFile('/a/b/d', 0);
    assert.throws(() => h.removeFile('/a/b'), hostError('ENOTEMPTY'));
    await assert.rejects(h.open('/a/b/d/e', RUMPUSER_OPEN_RDWR | RUMPUSER_OPEN_CREATE), hostError('ENOTDIR'));
    h.removeFile('/a/b/d');
    h.removeFile('/a/b');
    assert.deepEqual(await h.readdir('/a'), []);
  });

  it('throws ENOSYS on exit unless given an onExit handler', () => {
    assert.throws(() => memoryHost().exit(1), hostError('ENOSYS'));
    let code = -1;
    memoryHost({ onExit: (c) => (code = c) }).exit(7);
    assert.equal(code, 7);
  });

  it('answers one CPU and the host name "memory" unless told otherwise', () => {
    const h = memoryHost();
    assert.equal(h.getparam(RUMPUSER_PARAM_NCPU), '1');
    assert.equal(h.getparam(RUMPUSER_PARAM_HOSTNAME), 'memory');
    assert.equal(memoryHost({ params: { RUMP_NCPU: '4' } }).getparam(RUMPUSER_PARAM_NCPU), '4');
    process.env['RUMPUSER_TEST_PARAM'] = 'from-env';
    try {
      assert.equal(h.getparam('RUMPUSER_TEST_PARAM'), undefined, 'there is no environment');
    } finally {
      delete process.env['RUMPUSER_TEST_PARAM'];
    }
  });

  it('imports nothing from node:* or npm, so it runs in a browser', () => {
    let root = path.dirname(fileURLToPath(import.meta.url));
    while (!fs.existsSync(path.join(root, 'package.json')) || !fs.existsSync(path.join(root, 'src', 'rumpuser', 'memory'))) {
      const up = path.dirname(root);
      assert.notEqual(up, root, 'source tree not found');
      root = up;
    }
    const memDir = path.join(root, 'src', 'rumpuser', 'memory');
    const todo = fs.readdirSync(memDir).filter((n) => n.endsWith('.ts')).map((n) => path.join(memDir, n));
    assert.ok(todo.length >= 2);
    const seen = new Set<string>();
    const spec = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g;
    while (todo.length > 0) {
      const file = todo.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = fs.readFileSync(file, 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      assert.doesNotMatch(text, /['"]node:/, `${file} mentions a node: module`);
      assert.doesNotMatch(code, /\bprocess\.|\bBuffer\b|\brequire\s*\(/, `${file} uses a Node-only global`);
      for (const m of code.matchAll(spec)) {
        const s = m[1] ?? m[2];
        assert.ok(s !== undefined && s.startsWith('.'), `${file} imports ${String(s)}`);
        todo.push(path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
      }
    }
    assert.ok([...seen].some((f) => f.endsWith(path.join('rumpuser', 'common.ts'))), 'shared files were followed');
  });
});
