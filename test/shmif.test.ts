/**
 * shmif: kernels on a shared-memory Ethernet bus. In one process (the memory host's
 * SharedArrayBuffer buses): two and three kernels ping, echo UDP and move a few MiB over TCP
 * with SHA-256 equal on both ends; a reader that stops while the ring wraps counts the frames it
 * lost. The bus format: a bus written by our kernels has NetBSD's header and frame layout.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { shmifRemoveBus, shmifShareBus } from '../src/rumpuser/memory/shmif.js';
import { Worker } from 'node:worker_threads';
import {
  BUSMEM_SIZE, SHMIF_MAGIC, SHMIF_VERSION, busFrames, bytesBusIO, readHeader, shmifOf, busWriteFrame, newReader, busReadFrame,
  initHeader, dataSize,
} from '../src/net/shmif/index.js';
import { Kernel } from '../src/kern/kernel.js';
import { net } from '../src/net/index.js';
import { netinet, inetOf, inConfigure } from '../src/net/inet/index.js';
import { ifnetOf } from '../src/net/if.js';
import { shmif, shmifSetLinkstr } from '../src/net/shmif/index.js';
import { bpfCapture } from '../src/net/bpf.js';
import { readPcap, LINKTYPE_NULL } from '../src/net/wire/pcap.js';
import { bootOnBus, ping, udpEchoServer, udpEcho, tcpTransfer, pattern, within, type BusNode } from './shmif-helpers.js';

let busNo = 0;
const newBus = (): string => `/shmif-test-${process.pid}-${++busNo}`;

async function halt(...ns: BusNode[]): Promise<void> {
  for (const n of ns) await n.k.halt();
}

describe('shmif bus format', () => {
  it('initialises a bus with NetBSD\'s magic and version and keeps frames readable in order', () => {
    const mem = new Uint8Array(64 * 1024);
    const io = bytesBusIO(mem);
    const h = initHeader(io);
    assert.equal(h.magic, SHMIF_MAGIC);
    assert.equal(h.version, SHMIF_VERSION);
    assert.equal(h.first, dataSize(mem.length));
    const r = newReader(io, h);
    for (let i = 0; i < 5; i++) busWriteFrame(io, h, [pattern(100 + i, i + 1)], 1, 2, 42n);
    assert.equal(new DataView(mem.buffer).getUint32(0, true), 0xca11d054, 'magic at byte 0, little-endian');
    const frames = busFrames(io);
    assert.deepEqual(frames.map((f) => f.data.length), [100, 101, 102, 103, 104]);
    assert.equal(frames[0]!.header.sender, 42n);
    const got = [];
    for (let f = busReadFrame(io, readHeader(io), r); f !== null; f = busReadFrame(io, readHeader(io), r)) got.push(f.data.length);
    assert.deepEqual(got, [100, 101, 102, 103, 104]);
  });

  it('wraps the ring, bumps the generation, and counts the frames a lapped reader lost', () => {
    const mem = new Uint8Array(8 * 1024);
    const io = bytesBusIO(mem);
    const h = initHeader(io);
    const r = newReader(io, h);
    // 100 frames of 500 bytes through an 8 KiB ring: the reader sleeps through all of them
    for (let i = 0; i < 100; i++) busWriteFrame(io, h, [pattern(500, i + 1)], 0, 0, 1n);
    assert.ok(readHeader(io).gen >= 5, 'generation counts wraps');
    const frames = busFrames(io);
    assert.ok(frames.length > 5 && frames.length < 20, `ring holds the newest frames (${frames.length})`);
    assert.deepEqual(frames.at(-1)!.data, pattern(500, 100), 'newest frame intact');
    let n = 0;
    for (let f = busReadFrame(io, readHeader(io), r); f !== null; f = busReadFrame(io, readHeader(io), r)) {
      assert.equal(f.data.length, 500);
      n++;
    }
    assert.equal(r.overruns, 1);
    assert.equal(n, frames.length, 'the reader resumes at the oldest frame still there');
    assert.equal(r.lost + n, 100, 'lost + read = written');
  });
});

describe('shmif between kernels in one process', () => {
  it('two kernels ping each other and echo UDP over one bus', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost(), bus, '10.9.0.1/24', 'a');
    const b = await bootOnBus(memoryHost(), bus, '10.9.0.2/24', 'b');
    try {
      assert.equal(await within(5000, 'ping a -> b', ping(a, '10.9.0.2', 1, 'hello b')), 'hello b');
      assert.equal(await within(5000, 'ping b -> a', ping(b, '10.9.0.1', 2, 'hello a')), 'hello a');
      await udpEchoServer(b, 7);
      assert.equal(await within(5000, 'udp echo', udpEcho(a, '10.9.0.2', 7, 'echo me over shmif')), 'echo me over shmif');
      assert.ok(a.ifp.name.startsWith('shmif'));
      assert.equal((a.ifp.lladdr! / 2 ** 40 & 0xff) & 0x03, 0x02, 'locally administered unicast MAC');
      assert.notEqual(a.ifp.lladdr, b.ifp.lladdr);
      assert.ok(shmifOf(a.ifp)!.stats.txFrames >= 2 && shmifOf(b.ifp)!.stats.rxFrames >= 2);
    } finally {
      await halt(a, b);
      shmifRemoveBus(bus);
    }
  });

  it('three kernels on one bus all reach each other', async () => {
    const bus = newBus();
    const ns = [
      await bootOnBus(memoryHost(), bus, '10.9.1.1/24', 'a'),
      await bootOnBus(memoryHost(), bus, '10.9.1.2/24', 'b'),
      await bootOnBus(memoryHost(), bus, '10.9.1.3/24', 'c'),
    ];
    try {
      for (const x of ns) for (const y of ns) {
        if (x === y) continue;
        assert.equal(await within(5000, `ping ${x.addr} -> ${y.addr}`, ping(x, y.addr, 3, `${x.addr}>${y.addr}`)), `${x.addr}>${y.addr}`);
      }
      await udpEchoServer(ns[2]!, 7);
      assert.equal(await within(5000, 'udp echo a->c', udpEcho(ns[0]!, '10.9.1.3', 7, 'three')), 'three');
    } finally {
      await halt(...ns);
      shmifRemoveBus(bus);
    }
  });

  it('moves 4 MiB over TCP with the same SHA-256 on both ends', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost(), bus, '10.9.2.1/24', 'a');
    const b = await bootOnBus(memoryHost(), bus, '10.9.2.2/24', 'b');
    try {
      const data = pattern(4 << 20, 7);
      const r = await within(30000, 'tcp transfer', tcpTransfer(a, b, 5001, data));
      assert.equal(r.bytes, data.length);
      assert.equal(r.received, r.sent);
    } finally {
      await halt(a, b);
      shmifRemoveBus(bus);
    }
  });

  it('counts an overrun and the lost frames when a reader is stopped while the ring wraps', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost(), bus, '10.9.3.1/24', 'a');
    const b = await bootOnBus(memoryHost(), bus, '10.9.3.2/24', 'b');
    try {
      await within(5000, 'ping', ping(a, '10.9.3.2'));
      const drvB = shmifOf(b.ifp)!;
      // stop b's reader without leaving the bus: cancel its watch (as if its host stalled)
      const stalled = drvB as unknown as { cancelWatch: (() => void) | null };
      stalled.cancelWatch?.();
      stalled.cancelWatch = null;
      // a floods 2 MiB of broadcast UDP: twice the ring
      const fd = await a.k.sys.socket(a.l, 2, 2, 0);
      await a.k.sys.setsockopt(a.l, fd, 0xffff, 0x0020, 1); // SO_BROADCAST
      const payload = new Uint8Array(1400);
      for (let i = 0; i < 1500; i++) {
        try {
          await a.k.sys.sendto(a.l, fd, payload, 0, { family: 2, addr: '10.9.3.255', port: 9 });
        } catch (e) {
          if ((e as { code?: string }).code !== 'ENOBUFS') throw e;
          i--; // the transmit queue is full: let it drain onto the bus
          await new Promise((r) => setImmediate(r));
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(drvB.stats.overruns, 0, 'nothing read yet');
      // the reader wakes again
      stalled.cancelWatch = drvB.bus!.watch(() => (drvB as unknown as { scheduleRx(): void }).scheduleRx());
      drvB.bus!.wakeup();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(drvB.stats.overruns, 1);
      assert.ok(drvB.stats.lostFrames > 500, `lost ${drvB.stats.lostFrames}`);
      assert.ok(drvB.stats.lostFrames + drvB.stats.rxFrames >= 1500);
      // and the bus still works
      assert.equal(await within(5000, 'ping after overrun', ping(a, '10.9.3.2', 9, 'still')), 'still');
    } finally {
      await halt(a, b);
      shmifRemoveBus(bus);
    }
  });

  it('survives a corrupted ring: counts it, starts the ring over, and traffic resumes', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost({ console: () => {} }), bus, '10.9.5.1/24', 'a');
    const b = await bootOnBus(memoryHost({ console: () => {} }), bus, '10.9.5.2/24', 'b');
    try {
      await within(5000, 'ping', ping(a, '10.9.5.2'));
      // scribble over the newest frame's length and the first-frame offset
      const m = memoryHost().shmif.open(bus);
      const h = readHeader(m);
      const junk = new Uint8Array(4).fill(0xff);
      m.write(32 + h.last, junk);
      m.write(16, junk);
      m.close();
      assert.equal(await within(5000, 'ping after corruption', ping(a, '10.9.5.2', 5, 'recovered')), 'recovered');
      assert.ok(shmifOf(a.ifp)!.stats.busErrors + shmifOf(b.ifp)!.stats.busErrors >= 1, 'corruption counted');
      assert.equal(a.k.halted || b.k.halted, false);
    } finally {
      await halt(a, b);
      shmifRemoveBus(bus);
    }
  });

  it('captures loopback traffic with bpf as LINKTYPE_NULL and restores the interface on detach', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost(), bus, '10.9.6.1/24', 'a');
    try {
      const lo0 = a.k.net!.ifnet!.lookup('lo0');
      const output = lo0.output;
      const chunks: Uint8Array[] = [];
      const tap = bpfCapture(a.k, 'lo0', (c) => chunks.push(c));
      assert.equal(await within(5000, 'ping self', ping(a, '127.0.0.1', 1, 'me')), 'me');
      tap.detach();
      assert.equal(lo0.output, output, 'output restored');
      const total = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) { total.set(c, o); o += c.length; }
      const cap = readPcap(total);
      assert.ok(!(cap instanceof Error));
      assert.equal(cap.header.linktype, LINKTYPE_NULL);
      assert.equal(cap.records.length, 2, 'echo request and reply');
      assert.equal(new DataView(cap.records[0]!.data.buffer, cap.records[0]!.data.byteOffset).getUint32(0, true), 2, 'AF_INET');
      assert.throws(() => bpfCapture(a.k, 'nope0', () => {}), /ENXIO/);
    } finally {
      await halt(a);
      shmifRemoveBus(bus);
    }
  });

  it('joins a kernel in a worker thread through the shared bus memory', async () => {
    const bus = newBus();
    const buf = shmifShareBus(bus);
    const w = new Worker(new URL('./shmif-worker.js', import.meta.url), { workerData: { path: bus, buf, cidr: '10.9.7.2/24' } });
    const exited = new Promise((r) => w.once('exit', r));
    const a = await bootOnBus(memoryHost(), bus, '10.9.7.1/24', 'a');
    try {
      await within(10000, 'worker ready', new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
      assert.equal(await within(5000, 'ping worker', ping(a, '10.9.7.2', 1, 'thread')), 'thread');
      assert.equal(await within(5000, 'udp echo via worker', udpEcho(a, '10.9.7.2', 7, 'to the worker and back')), 'to the worker and back');
    } finally {
      w.postMessage('halt');
      await within(5000, 'worker exit', exited).catch(() => w.terminate());
      await halt(a);
      shmifRemoveBus(bus);
    }
  });

  it('makes an interface with the cloner and puts it on a bus later (ifconfig create; linkstr)', async () => {
    const bus = newBus();
    const a = await bootOnBus(memoryHost(), bus, '10.9.8.1/24', 'a');
    const k = await Kernel.boot({ host: memoryHost(), components: [net, netinet, shmif] });
    try {
      const ifs = ifnetOf(k);
      const ifp = ifs.create('shmif3');
      assert.equal(shmifOf(ifp)!.busPath, null);
      shmifSetLinkstr(k, 'shmif3', bus);
      assert.equal(shmifOf(ifp)!.busPath, bus);
      inConfigure(inetOf(k), 'shmif3', '10.9.8.2/24');
      assert.throws(() => shmifSetLinkstr(k, 'shmif3', null), /EBUSY/, 'no bus change while up');
      assert.equal(await within(5000, 'ping cloned', ping(a, '10.9.8.2', 1, 'cloned')), 'cloned');
      assert.throws(() => shmifSetLinkstr(k, 'lo0', bus), /EINVAL/);
      ifs.destroy('shmif3');
      assert.equal(ifs.find('shmif3'), undefined);
    } finally {
      await k.halt();
      await halt(a);
      shmifRemoveBus(bus);
    }
  });

  it('refuses a bus that is not a shmif bus', async () => {
    const host = memoryHost();
    const bus = newBus();
    const m = host.shmif.open(bus, BUSMEM_SIZE);
    m.write(0, new Uint8Array([1, 2, 3, 4]));
    m.close();
    await assert.rejects(bootOnBus(host, bus, '10.9.4.1/24'), (e: Error) => /ENOEXEC/.test(e.message) && /magic/.test(e.message));
    shmifRemoveBus(bus);
  });
});
