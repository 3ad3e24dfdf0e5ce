/**
 * shmif across processes: this process and a child Node process (test/shmif-child.ts) each boot
 * a kernel on one bus FILE (Node host: positioned file I/O, inotify wakeups, the lock file).
 * Ping and UDP echo both ways, 4 MiB of TCP with SHA-256 equal on both ends. Then the captures:
 * a bpf tap on our interface during a ping, and `shmif_dumpbus -p` of the bus file, must both be
 * pcaps that tshark reads with checksums verified and nothing malformed (skipped loudly without
 * tshark). `shmif_dumpbus -h` prints NetBSD's header line.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeHost } from '../src/rumpuser/node/index.js';
import { bpfAttach } from '../src/net/bpf.js';
import { readPcap } from '../src/net/wire/pcap.js';
import { shmifOf } from '../src/net/shmif/index.js';
import { bootOnBus, ping, udpEcho, pattern, tcpTransfer, within, type BusNode } from './shmif-helpers.js';
import { createHash } from 'node:crypto';

const childJs = fileURLToPath(new URL('./shmif-child.js', import.meta.url));
const dumpbusJs = fileURLToPath(new URL('../src/bin/shmif_dumpbus.js', import.meta.url));

const TSHARK = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;
const NO_TSHARK = TSHARK ? false : 'tshark is not installed (apt-get install tshark): shmif/bpf captures are NOT checked against Wireshark';
if (!TSHARK) console.warn(`SKIPPING shmif pcap checks: ${String(NO_TSHARK)}`);

/** tshark's complaints about a capture (empty when clean). */
function tsharkComplaints(file: string): string {
  const r = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-Y', '_ws.malformed || _ws.expert.severity >= error'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tshark failed: ${r.stderr}`);
  return r.stdout;
}

function protocols(file: string): string[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', '_ws.col.Protocol'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((s) => s !== '');
}

describe('shmif between two processes sharing one bus file', () => {
  let dir = '';
  let bus = '';
  let child: ChildProcess | null = null;
  let childOut = '';
  let childErr = '';
  let me: BusNode | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shmif-proc-'));
    bus = join(dir, 'bus');
    me = await bootOnBus(nodeHost(), bus, '10.77.0.1/24', 'parent');
    child = spawn(process.execPath, [childJs, bus, '10.77.0.2/24'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => { childErr += d.toString(); });
    await within(10000, `child to boot (stderr: ${childErr})`, new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        childOut += d.toString();
        if (childOut.includes('ready\n')) resolve();
      });
      child!.on('exit', (code) => reject(new Error(`child exited ${String(code)}: ${childErr}`)));
    }));
  });

  after(async () => {
    if (child !== null && child.exitCode === null) {
      const exited = new Promise((r) => child!.on('exit', r));
      child.stdin!.end();
      await within(5000, 'child exit', exited).catch(() => child!.kill('SIGKILL'));
    }
    await me?.k.halt();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('pings the other process\'s kernel, capturing the exchange with bpf', async () => {
    const chunks: Uint8Array[] = [];
    const tap = bpfAttach(me!.ifp, (b) => chunks.push(b));
    try {
      assert.equal(await within(5000, 'ping child', ping(me!, '10.77.0.2', 1, 'across processes')), 'across processes');
    } finally {
      tap.detach();
    }
    const file = join(dir, 'bpf.pcap');
    writeFileSync(file, Buffer.concat(chunks));
    const cap = readPcap(new Uint8Array(readFileSync(file)));
    assert.ok(!(cap instanceof Error));
    assert.ok(cap.records.length >= 4, `ARP request/reply and echo request/reply captured (${cap.records.length})`);
    assert.equal(tap.packets, cap.records.length);
  });

  it('bpf capture passes tshark with checksums verified', { skip: NO_TSHARK }, () => {
    const file = join(dir, 'bpf.pcap');
    assert.equal(tsharkComplaints(file), '');
    const p = protocols(file);
    assert.ok(p.includes('ARP') && p.includes('ICMP'), `protocols: ${p.join(',')}`);
  });

  it('echoes UDP through the other process', async () => {
    assert.equal(await within(5000, 'udp echo', udpEcho(me!, '10.77.0.2', 7, 'udp across processes')), 'udp across processes');
  });

  it('sends 4 MiB over TCP to the other process with equal SHA-256', async () => {
    const data = pattern(4 << 20, 3);
    const got = within(30000, 'child tcp report', new Promise<string>((resolve) => {
      const check = (): void => { const m = /tcp (\d+) ([0-9a-f]{64})/.exec(childOut); if (m !== null) resolve(`${m[1]!} ${m[2]!}`); };
      child!.stdout!.on('data', check);
      check();
    }));
    const { AF_INET, SOCK_STREAM } = await import('../src/kern/types.js');
    const n = me!;
    const fd = await n.k.sys.socket(n.l, AF_INET, SOCK_STREAM, 0);
    await within(5000, 'connect', n.k.sys.connect(n.l, fd, { family: AF_INET, addr: '10.77.0.2', port: 5001 }));
    await within(30000, 'send', (async () => {
      for (let o = 0; o < data.length;) o += await n.k.sys.write(n.l, fd, data.subarray(o, Math.min(o + 65536, data.length)));
    })());
    await n.k.sys.close(n.l, fd);
    assert.equal(await got, `${data.length} ${createHash('sha256').update(data).digest('hex')}`);
    const st = shmifOf(n.ifp)!.stats;
    assert.ok(st.txFrames > 2800, `frames written ${st.txFrames}`);
  });

  it('shmif_dumpbus -h prints the bus header and -p writes the ring as pcap', () => {
    const h = spawnSync(process.execPath, [dumpbusJs, '-h', bus], { encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /^bus version 3, lock: [01], generation: \d+, firstoff: 0x[0-9a-f]{4,}, lastoff: 0x[0-9a-f]{4,}\n/);
    const gen = Number(/generation: (\d+)/.exec(h.stdout)![1]);
    assert.ok(gen >= 4, `4 MiB through a 1 MiB ring wraps it (generation ${gen})`);
    const out = join(dir, 'bus.pcap');
    const p = spawnSync(process.execPath, [dumpbusJs, '-p', out, bus], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stderr);
    const cap = readPcap(new Uint8Array(readFileSync(out)));
    assert.ok(!(cap instanceof Error));
    assert.ok(cap.records.length > 500, `ring frames: ${cap.records.length}`);
    const bad = spawnSync(process.execPath, [dumpbusJs, join(dir, 'nonexistent')], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /nonexistent/);
    assert.equal(spawnSync(process.execPath, [dumpbusJs], { encoding: 'utf8' }).status, 2);
  });

  it('the dumped bus passes tshark with checksums verified', { skip: NO_TSHARK }, () => {
    const out = join(dir, 'bus.pcap');
    assert.equal(tsharkComplaints(out), '');
    assert.ok(protocols(out).includes('TCP'));
  });
});

describe('the bus file lock (Node host)', () => {
  it('serialises writers with a lock file, mirrors it in the lock word, and breaks the lock of a dead process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shmif-lock-'));
    try {
      const bus = join(dir, 'bus');
      const host = nodeHost();
      const m1 = host.shmif.open(bus);
      const m2 = host.shmif.open(bus);
      assert.equal(m1.size, 1024 * 1024, 'a new bus file is 1 MiB');
      assert.equal(m1.tryLock(), true);
      assert.equal(m2.tryLock(), false, 'second writer waits');
      const word = new Uint8Array(4);
      m2.read(24, word);
      assert.equal(word[0], 1, 'lock word says held');
      m1.unlock();
      m2.read(24, word);
      assert.equal(word[0], 0, 'lock word says free');
      // a lock left behind by a process that is gone
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
      writeFileSync(`${bus}.lock`, `${dead.stdout}\n`);
      assert.equal(m2.tryLock(), false, 'found held, found stale, broken');
      assert.equal(m2.tryLock(), true);
      m2.unlock();
      m1.close();
      m2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
