/**
 * boot: how fast a kernel instance comes up and how little an idle one costs.
 *
 * Kernels have [vfs, tmpfs] on the memory host (no host I/O), as an embedding program or a test
 * would boot them. Kantee's thesis figures for NetBSD's rump kernels (2012): bootstrap under
 * 10 ms, 0.7-1.5 MB memory overhead; our targets are past those. No peer: nothing else boots a
 * kernel in-process (a Worker or a VM is a different thing), so these are absolute figures.
 */

import type { BenchContext, Figure } from './lib/bench.js';
import { heldBytes, median } from './lib/measure.js';
import { Kernel } from '../src/kern/kernel.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';

export const name = 'boot';
export const description = 'boot time and idle memory of kernels with [vfs, tmpfs] on the memory host';

function boot(): Promise<Kernel> {
  return Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
}

export async function run(ctx: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];

  // Median boot time; each kernel is halted after (untimed) so the heap stays flat.
  const runs = ctx.quick ? 20 : 300;
  const warmup = ctx.quick ? 5 : 50;
  const bootTimes: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = process.hrtime.bigint();
    const k = await boot();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    await k.halt();
    if (i >= warmup) bootTimes.push(dt);
  }
  bootTimes.sort((a, b) => a - b);
  const med = median(bootTimes);
  const p90 = bootTimes[Math.floor(bootTimes.length * 0.9)]!;
  figures.push({
    metric: 'boot time (median)', unit: 'ms', kind: 'time', ours: med, peer: null, peerName: null,
    target: { text: '< 2 ms', met: med < 2 }, note: `${runs} boots after warm-up; p90 ${p90.toFixed(3)} ms`,
  });

  // Memory of an idle booted instance: held bytes (JS heap + array buffers) for N live kernels / N.
  const n = ctx.quick ? 50 : 200;
  {
    const live: Kernel[] = [];
    const before = heldBytes();
    for (let i = 0; i < n; i++) live.push(await boot());
    const after = heldBytes();
    const per = (after - before) / n / 1024;
    figures.push({
      metric: 'memory per idle instance', unit: 'KiB', kind: 'memory', ours: per, peer: null, peerName: null,
      target: { text: '< 1 MiB', met: per < 1024 }, note: `heapUsed + arrayBuffers delta after gc, ${n} live instances / ${n}`,
    });
    for (const k of live) await k.halt();
  }

  // Many instances in one process (the thesis ran virtual networks of ~250 kernels).
  const many = ctx.quick ? 100 : 1000;
  {
    const live: Kernel[] = [];
    const before = heldBytes();
    let ok = true;
    const t0 = process.hrtime.bigint();
    try {
      for (let i = 0; i < many; i++) live.push(await boot());
    } catch (e) {
      ok = false;
      ctx.note(`booting instance ${live.length + 1} of ${many} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const bootAll = Number(process.hrtime.bigint() - t0) / 1e6;
    const mem = (heldBytes() - before) / (1024 * 1024);
    const t1 = process.hrtime.bigint();
    for (const k of live) {
      try {
        await k.halt();
      } catch (e) {
        ok = false;
        ctx.note(`halting an instance failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const haltAll = Number(process.hrtime.bigint() - t1) / 1e6;
    const works = { text: 'works', met: ok && live.length === many };
    figures.push({ metric: `${many} instances: boot all`, unit: 'ms', kind: 'time', ours: bootAll, peer: null, peerName: null, target: works });
    figures.push({ metric: `${many} instances: memory`, unit: 'MiB', kind: 'memory', ours: mem, peer: null, peerName: null, target: works });
    figures.push({ metric: `${many} instances: halt all`, unit: 'ms', kind: 'time', ours: haltAll, peer: null, peerName: null, target: works });
  }
  return figures;
}
