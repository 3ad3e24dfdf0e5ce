/**
 * The benchmark runner and its benchmarks, in quick mode: the figures are not meaningful, but
 * every benchmark must run and report well-formed figures, and --json must be parseable.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ratio, toRecord, formatTable, type Bench, type Figure } from '../bench/lib/bench.js';
import { median } from '../bench/lib/measure.js';
import { loadBenches } from '../bench/run.js';

const runner = fileURLToPath(new URL('../bench/run.js', import.meta.url));
const ctx = { quick: true, note: (): void => undefined };

function checkFigures(figures: readonly Figure[]): void {
  assert.ok(figures.length > 0, 'no figures');
  for (const f of figures) {
    assert.ok(Number.isFinite(f.ours) && f.ours > 0, `${f.metric}: ours is ${f.ours}`);
    if (f.peer !== null) {
      assert.ok(Number.isFinite(f.peer) && f.peer > 0, `${f.metric}: peer is ${f.peer}`);
      assert.equal(typeof f.peerName, 'string');
    }
  }
}

test('ratio is peer/ours for time and memory and ours/peer for throughput, so > 1 means ours is better', () => {
  assert.equal(ratio('time', 2, 4), 2);
  assert.equal(ratio('memory', 4, 2), 0.5);
  assert.equal(ratio('throughput', 300, 100), 3);
  assert.equal(ratio('time', 1, null), null);
});

test('median takes the middle of odd and the mean of the two middles of even samples', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test('a JSON record carries bench, metric, unit, ours, peer, peerName and ratio', () => {
  const r = toRecord('x', { metric: 'm', unit: 'ns/op', kind: 'time', ours: 100, peer: 50, peerName: 'p', target: { text: 'ratio >= 0.5', met: true } });
  assert.deepEqual(r, { bench: 'x', metric: 'm', unit: 'ns/op', ours: 100, peer: 50, peerName: 'p', ratio: 0.5, target: 'ratio >= 0.5', targetMet: true });
});

test('the table shows a dash where there is no peer and marks missed targets', () => {
  const b: Bench = { name: 'b', description: 'd', run: async () => [] };
  const t = formatTable(b, [{ metric: 'boot', unit: 'ms', kind: 'time', ours: 3, peer: null, peerName: null, target: { text: '< 2 ms', met: false } }]);
  assert.match(t, /boot +3\.00 ms +- +- +< 2 ms MISSED/);
});

test('the runner finds the boot and syscall benchmarks', async () => {
  const names = (await loadBenches(fileURLToPath(new URL('../bench/', import.meta.url)))).map((b) => b.name);
  assert.ok(names.includes('boot') && names.includes('syscall'), `found ${names.join(', ')}`);
});

test('the boot benchmark reports boot time, memory per instance and many instances working', async () => {
  const boot = (await loadBenches(fileURLToPath(new URL('../bench/', import.meta.url)))).find((b) => b.name === 'boot')!;
  const figures = await boot.run(ctx);
  checkFigures(figures);
  assert.ok(figures.some((f) => f.metric.startsWith('boot time')));
  assert.ok(figures.some((f) => f.metric === 'memory per idle instance'));
  const many = figures.filter((f) => f.metric.includes('instances:'));
  assert.ok(many.length > 0 && many.every((f) => f.target?.met === true), 'booting many instances did not work');
});

test('the syscall benchmark compares stat, open+close and pread with Node fs', async () => {
  const sc = (await loadBenches(fileURLToPath(new URL('../bench/', import.meta.url)))).find((b) => b.name === 'syscall')!;
  const figures = await sc.run(ctx);
  checkFigures(figures);
  for (const m of ['getpid', 'stat (cached path)', 'open+close', 'pread 4 KiB']) {
    assert.ok(figures.some((f) => f.metric === m && f.peer !== null), `no ${m} figure with a peer`);
  }
});

test('--json prints one parseable object per figure, and an unknown name exits 2', () => {
  const r = spawnSync(process.execPath, [runner, '--json', '--quick', 'syscall'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 4);
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    for (const key of ['bench', 'metric', 'unit', 'ours', 'peer', 'peerName', 'ratio']) assert.ok(key in o, `missing ${key} in ${line}`);
    assert.equal(o['bench'], 'syscall');
  }
  const bad = spawnSync(process.execPath, [runner, 'nosuchbench'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no benchmark named 'nosuchbench'/);
});
