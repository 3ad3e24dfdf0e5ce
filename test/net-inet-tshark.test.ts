/**
 * Interoperability of the IPv4 stack's output: two kernels exchange ARP, ICMP echo, UDP (small,
 * fragmented, broadcast, to a closed port) over an in-process segment whose pcap tracer writes
 * every frame; Wireshark's tshark must decode the capture with IP, ICMP and UDP checksum
 * validation on and report no malformed packet and no error-level expert info.
 *
 * Needs `tshark` on the PATH (Debian package tshark, in .ci/apt-packages); without it the test is
 * skipped with a note saying so.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel } from '../src/kern/kernel.js';
import { AF_INET, SOCK_DGRAM, SOCK_RAW, SOL_SOCKET, SO_BROADCAST } from '../src/kern/types.js';
import { Clock } from '../src/rumpuser/rumpuser.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { net } from '../src/net/index.js';
import { netinet, inetOf, inConfigure, IPPROTO_ICMP } from '../src/net/inet/index.js';
import { etherIfattach } from '../src/net/if_ether.js';
import { EtherBus, pcapTracer } from '../src/net/if_pair.js';
import { Icmpv4Repr } from '../src/net/wire/index.js';

const which = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
const TSHARK = which.status === 0;
const SKIP = TSHARK ? false : 'tshark is not installed (apt-get install tshark): frames of the IPv4 stack are NOT checked against Wireshark';
if (!TSHARK) console.warn(`SKIPPING net-inet-tshark: ${SKIP}`);

describe('a capture of the IPv4 stack', () => {
  it('decodes in tshark with checksums verified and nothing malformed', { skip: SKIP }, async () => {
    const host = memoryHost({ manualClock: true, seed: 5 });
    const chunks: Uint8Array[] = [];
    const tracer = pcapTracer({ write: (b) => chunks.push(b), now: () => host.clockMs(Clock.REALTIME) });
    const bus = new EtherBus({ middleware: [tracer] });
    const ka = await Kernel.boot({ host, components: [net, netinet] });
    const kb = await Kernel.boot({ host, components: [net, netinet] });
    const la = ka.initLwp, lb = kb.initLwp;
    inConfigure(inetOf(ka), etherIfattach(ka, bus.port()).name, '10.0.0.1/24');
    inConfigure(inetOf(kb), etherIfattach(kb, bus.port()).name, '10.0.0.2/24');
    const dir = mkdtempSync(join(tmpdir(), 'inet-tshark-'));
    try {
      const to = (addr: string, port = 0) => ({ family: AF_INET, addr, port });
      const rb = await kb.sys.socket(lb, AF_INET, SOCK_DGRAM, 0);
      await kb.sys.bind(lb, rb, to('0.0.0.0', 40404));
      const sa = await ka.sys.socket(la, AF_INET, SOCK_DGRAM, 0);
      await ka.sys.setsockopt(la, sa, SOL_SOCKET, SO_BROADCAST, 1);
      await ka.sys.sendto(la, sa, new TextEncoder().encode('small datagram'), 0, to('10.0.0.2', 40404));
      await ka.sys.sendto(la, sa, new Uint8Array(4000).fill(0x61), 0, to('10.0.0.2', 40404));
      await ka.sys.sendto(la, sa, new TextEncoder().encode('everyone'), 0, to('10.0.0.255', 40404));
      await ka.sys.sendto(la, sa, new TextEncoder().encode('closed'), 0, to('10.0.0.2', 9));
      const ping = await ka.sys.socket(la, AF_INET, SOCK_RAW, IPPROTO_ICMP);
      const echo = { kind: 'echoRequest' as const, ident: 77, seq: 1, data: new Uint8Array(56).fill(0x42) };
      const eb = new Uint8Array(Icmpv4Repr.bufferLen(echo));
      Icmpv4Repr.emit(echo, eb);
      await ka.sys.sendto(la, ping, eb, 0, to('10.0.0.2'));
      await host.settle();
      await host.advance(10);
      const file = join(dir, 'inet.pcap');
      writeFileSync(file, Buffer.concat(chunks));
      const bad = spawnSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-Y', '_ws.malformed || _ws.expert.severity >= error'], { encoding: 'utf8' });
      assert.equal(bad.status, 0, bad.stderr);
      assert.equal(bad.stdout, '', `tshark flagged packets:\n${bad.stdout}`);
      const fields = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info'], { encoding: 'utf8' });
      assert.equal(fields.status, 0, fields.stderr);
      const lines = fields.stdout.trim().split('\n');
      const info = lines.join('\n');
      assert.ok(lines.length >= 12, `${lines.length} frames:\n${info}`);
      assert.match(info, /ARP\tWho has 10\.0\.0\.2\? Tell 10\.0\.0\.1/);
      assert.match(info, /ARP\t10\.0\.0\.2 is at 02:00:00:00:00:02/);
      assert.match(info, /ICMP\tEcho \(ping\) reply/);
      assert.match(info, /ICMP\tDestination unreachable \(Port unreachable\)/);
      assert.match(info, /Fragmented IP protocol/);
      assert.match(info, /UDP\t.*40404/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await ka.halt();
      await kb.halt();
    }
  });
});
