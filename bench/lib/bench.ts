/**
 * What a benchmark is and what it reports.
 *
 * A benchmark is a module bench/NAME.ts exporting `name`, `description` and `run(ctx)`; the
 * runner (bench/run.ts) finds every such module next to it. `run` returns figures: one measured
 * quantity of ours, optionally beside the same quantity of what a user would otherwise pick
 * (the peer). The runner turns each figure into a ratio where > 1 always means ours is better:
 * time and memory peer/ours, throughput ours/peer.
 */

/** What kind of quantity a figure is; decides which way is better. */
export type FigureKind = 'time' | 'throughput' | 'memory';

export interface Target {
  /** As printed next to the figure: "< 2 ms", "ratio >= 0.5", "works". */
  readonly text: string;
  readonly met: boolean;
}

export interface Figure {
  readonly metric: string;
  readonly unit: string;
  readonly kind: FigureKind;
  readonly ours: number;
  /** The peer's figure in the same unit; null where there is no peer. */
  readonly peer: number | null;
  readonly peerName: string | null;
  readonly target?: Target;
  /** A short remark printed under the table (how it was measured, a fallback taken). */
  readonly note?: string;
}

export interface BenchContext {
  /** Fewer iterations and instances: a smoke run (tests use it), not figures to quote. */
  readonly quick: boolean;
  /** A remark about the run as a whole (printed after the table, or to stderr with --json). */
  note(text: string): void;
}

export interface Bench {
  readonly name: string;
  readonly description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** One line of `--json` output. */
export interface FigureRecord {
  bench: string;
  metric: string;
  unit: string;
  ours: number;
  peer: number | null;
  peerName: string | null;
  ratio: number | null;
  target?: string;
  targetMet?: boolean;
}

/** > 1 means ours is better: peer/ours for time and memory, ours/peer for throughput. */
export function ratio(kind: FigureKind, ours: number, peer: number | null): number | null {
  if (peer === null || !Number.isFinite(peer) || !Number.isFinite(ours)) return null;
  if (kind === 'throughput') return peer === 0 ? null : ours / peer;
  return ours === 0 ? null : peer / ours;
}

export function toRecord(bench: string, f: Figure): FigureRecord {
  const r: FigureRecord = {
    bench, metric: f.metric, unit: f.unit, ours: round(f.ours), peer: f.peer === null ? null : round(f.peer),
    peerName: f.peerName, ratio: ratioRounded(f),
  };
  if (f.target !== undefined) {
    r.target = f.target.text;
    r.targetMet = f.target.met;
  }
  return r;
}

function ratioRounded(f: Figure): number | null {
  const x = ratio(f.kind, f.ours, f.peer);
  return x === null ? null : Math.round(x * 1000) / 1000;
}

/** Four significant digits: enough for a benchmark, short in JSON. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(4));
}

/** A number for a table: up to four significant digits, no exponent for ordinary sizes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 10000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** A human table for one benchmark's figures. */
export function formatTable(bench: Bench, figures: readonly Figure[]): string {
  const head = ['metric', 'ours', 'peer', 'ratio', 'target'];
  const rows = figures.map((f) => {
    const r = ratio(f.kind, f.ours, f.peer);
    return [
      f.metric,
      `${fmt(f.ours)} ${f.unit}`,
      f.peer === null ? '-' : `${fmt(f.peer)} ${f.unit} (${f.peerName ?? 'peer'})`,
      r === null ? '-' : `${r.toFixed(2)}x`,
      f.target === undefined ? '' : `${f.target.text} ${f.target.met ? 'ok' : 'MISSED'}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `  ${cells.map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  const out = [`${bench.name}: ${bench.description}`, line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  for (const f of figures) if (f.note !== undefined) out.push(`  * ${f.metric}: ${f.note}`);
  return out.join('\n');
}
