/**
 * Timing and memory helpers for benchmarks: medians over repeated batches after a warm-up, with
 * the batch size calibrated so one batch lasts long enough for the clock to be trusted.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Runs an operation `n` times (the loop is inside, so a synchronous peer pays no await). */
export type Batch = (n: number) => void | Promise<void>;

export interface CompareOptions {
  /** Minimum duration of one timed batch, ms (the batch size is grown until it is reached). */
  batchMs: number;
  /** Timed batches per operation; the median is reported. */
  repeats: number;
}

export function compareOptions(quick: boolean): CompareOptions {
  return quick ? { batchMs: 2, repeats: 3 } : { batchMs: 25, repeats: 15 };
}

async function timeBatch(b: Batch, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await b(n);
  return Number(process.hrtime.bigint() - t0);
}

/** Batch size such that one batch lasts at least `ms` (this is also the warm-up). */
async function calibrate(b: Batch, ms: number): Promise<number> {
  let n = 1;
  for (;;) {
    const ns = await timeBatch(b, n);
    if (ns >= ms * 1e6 || n >= 1 << 24) {
      // one more at the final size, so the JIT has seen the loop at full length
      await timeBatch(b, n);
      return n;
    }
    n = ns < ms * 1e4 ? n * 10 : Math.ceil((n * ms * 1e6) / Math.max(ns, 1) * 1.1);
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median ns per operation of each batch. Operations are timed in alternation (ours, peer, ours,
 * peer, ...) so that drift in the machine's speed hits all of them alike.
 */
export async function compare<K extends string>(ops: Record<K, Batch>, opts: CompareOptions): Promise<Record<K, number>> {
  const names = Object.keys(ops) as K[];
  const sizes = new Map<K, number>();
  for (const k of names) sizes.set(k, await calibrate(ops[k], opts.batchMs));
  const samples = new Map<K, number[]>(names.map((k) => [k, []]));
  for (let r = 0; r < opts.repeats; r++) {
    for (const k of names) {
      const n = sizes.get(k)!;
      samples.get(k)!.push((await timeBatch(ops[k], n)) / n);
    }
  }
  const out = {} as Record<K, number>;
  for (const k of names) out[k] = median(samples.get(k)!);
  return out;
}

/** Median wall time in ms of single runs of `fn`, after `warmup` untimed runs. */
export async function medianMs(fn: () => Promise<void>, runs: number, warmup: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

let gcFn: (() => void) | undefined;

/**
 * The garbage collector: global.gc under `node --expose-gc`, otherwise obtained by setting the
 * flag at run time (V8 installs `gc` in contexts created after the flag is set).
 */
export function getGc(): () => void {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') {
    gcFn = g;
  } else {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  return gcFn;
}

/** Bytes held in the JS heap plus array buffers, after full collections. */
export function heldBytes(): number {
  const gc = getGc();
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
