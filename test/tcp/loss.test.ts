/**
 * TCP over a faulty link between two kernels: random loss, reordering, duplication and
 * corruption from a seeded PRNG (so every run is the same run), and a scripted loss pattern
 * that shows what SACK saves over NewReno alone.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestNet, bytesEqual, pattern, readAll, writeAll, type Host } from './harness.js';

interface Result { net: TestNet; a: Host; b: Host; ok: boolean; simMs: number }

async function transfer(opts: { size: number; latencyMs: number; seed: number; sack?: boolean; setup?: (net: TestNet, a: Host, b: Host) => void }): Promise<Result> {
  const net = await TestNet.create({ latencyMs: opts.latencyMs, seed: opts.seed });
  const [a, b] = net.hosts as [Host, Host];
  if (opts.sack === false) for (const h of net.hosts) h.tcp.tunables.sack = false;
  const lfd = await b.listen(80);
  const cfd = await a.socket();
  await net.run(a.sys.connect(a.l, cfd, b.sa(80)));
  const { fd: sfd } = await net.run(b.sys.accept(b.l, lfd));
  opts.setup?.(net, a, b);
  const data = pattern(opts.size, opts.seed);
  const start = net.now();
  const w = (async () => { await writeAll(a, cfd, data); await a.sys.close(a.l, cfd); })();
  const got = await net.run(readAll(b, sfd), 3_600_000, 50);
  await net.run(w);
  return { net, a, b, ok: got.byteLength === data.byteLength && bytesEqual(got, data), simMs: net.now() - start };
}

describe('tcp: lossy links', () => {
  for (const loss of [0.01, 0.05]) {
    it(`8 MiB arrives byte for byte over a link that loses ${loss * 100}% of packets`, async () => {
      const r = await transfer({ size: 8 << 20, latencyMs: 5, seed: 11, setup: (net) => { net.faults = { loss }; } });
      assert.ok(r.ok, 'the received bytes equal the sent bytes');
      const s = r.a.tcp.stats;
      assert.ok(r.net.dropped > 0);
      assert.ok(s.sndrexmitpack > 0, 'losses were repaired by retransmission');
      assert.ok(s.sndrexmitfast > 0, 'most losses were repaired by fast retransmit');
      assert.ok(s.sndrexmitfast > s.rexmttimeo, `fast retransmits (${s.sndrexmitfast}) outnumber timeouts (${s.rexmttimeo})`);
      await r.net.halt();
    });
  }

  it('reordered, duplicated and corrupted segments still deliver the exact bytes; corruption is counted', async () => {
    const r = await transfer({
      size: 2 << 20, latencyMs: 4, seed: 5,
      setup: (net) => { net.faults = { reorder: 0.05, dup: 0.02, corrupt: 0.01 }; },
    });
    assert.ok(r.ok);
    const sb = r.b.tcp.stats;
    const sa = r.a.tcp.stats;
    assert.ok(sb.rcvbadsum + sa.rcvbadsum > 0, 'corrupted segments were dropped for their checksum');
    assert.ok(sb.rcvoopack > 0, 'reordered segments went through the reassembly queue');
    assert.ok(sb.rcvduppack > 0, 'duplicated segments were recognised');
    await r.net.halt();
  });

  it('with SACK, several losses in one window cost only their own retransmissions; NewReno alone resends more', async () => {
    // drop the 30th, 35th, 40th and 45th data segments once, and the retransmission of the 30th too,
    // so that the first recovery ends in a timeout with several holes outstanding
    const dropper = (net: TestNet, a: Host): void => {
      const tp = a.conn();
      const mss = tp.segSize;
      const seen = new Map<number, number>();
      const drops = new Map([[30, 2], [35, 1], [40, 1], [45, 1]]);
      net.filter = (p) => {
        if (p.src !== a.addr || p.bytes.length <= 52) return true;
        const seq = ((p.bytes[4]! << 24) | (p.bytes[5]! << 16) | (p.bytes[6]! << 8) | p.bytes[7]!) >>> 0;
        const idx = Math.round(((seq - tp.iss - 1) >>> 0) / mss);
        const n = (seen.get(idx) ?? 0) + 1;
        seen.set(idx, n);
        return n > (drops.get(idx) ?? 0);
      };
    };
    const withSack = await transfer({ size: 256 << 10, latencyMs: 10, seed: 1, setup: (net, a) => dropper(net, a) });
    const without = await transfer({ size: 256 << 10, latencyMs: 10, seed: 1, sack: false, setup: (net, a) => dropper(net, a) });
    assert.ok(withSack.ok && without.ok);
    const s1 = withSack.a.tcp.stats;
    const s0 = without.a.tcp.stats;
    assert.ok(withSack.a.tcp.stats.sackrecovery >= 1);
    assert.equal(s1.sndrexmitpack, 5, 'SACK retransmits exactly the five lost transmissions');
    assert.ok(s0.sndrexmitpack > 2 * s1.sndrexmitpack, `NewReno retransmitted ${s0.sndrexmitpack} segments, SACK ${s1.sndrexmitpack}`);
    assert.ok(s0.sndrexmitbyte > s1.sndrexmitbyte);
    await withSack.net.halt();
    await without.net.halt();
  });
});
