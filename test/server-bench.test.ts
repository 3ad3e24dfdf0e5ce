/**
 * The remote benchmark (bench/remote.ts) in quick mode: the figures are not meaningful, but it
 * must start its server and echo processes, run every measurement and report well-formed figures.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadBenches } from '../bench/run.js';

test('the remote benchmark reports round trips beside the echo floor, Node fs and in-process, and cleans up', async () => {
  const benches = await loadBenches(fileURLToPath(new URL('../bench/', import.meta.url)));
  const remote = benches.find((b) => b.name === 'remote');
  assert.ok(remote !== undefined, `found ${benches.map((b) => b.name).join(', ')}`);
  const figures = await remote.run({ quick: true, note: () => undefined });
  for (const f of figures) {
    assert.ok(Number.isFinite(f.ours) && f.ours > 0, `${f.metric}: ours is ${f.ours}`);
    assert.ok(f.peer !== null && Number.isFinite(f.peer) && f.peer > 0, `${f.metric}: peer is ${String(f.peer)}`);
  }
  const names = figures.map((f) => `${f.metric} / ${f.peerName ?? ''}`);
  for (const want of [/^null syscall.*echo/, /^stat \/ fs\.promises\.stat/, /^pread 4 KiB \/ FileHandle\.read/, /^getpid, 64 outstanding/, /^sequential 1 MiB preads \/ bare 1 MiB/]) {
    assert.ok(names.some((n) => want.test(n)), `no figure matching ${String(want)} in ${names.join('; ')}`);
  }
});
