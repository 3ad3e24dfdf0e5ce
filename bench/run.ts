#!/usr/bin/env node
/**
 * The benchmark runner: `npm run bench [-- [--json] [--quick] [NAME...]]`.
 *
 *   npm run bench                  every benchmark, a table each
 *   npm run bench -- boot          only `boot`
 *   npm run bench -- --json        one JSON object per line per figure:
 *                                  {"bench","metric","unit","ours","peer","peerName","ratio",
 *                                   "target","targetMet"}; ratio > 1 means ours is better
 *   npm run bench -- --quick       a smoke run with few iterations (figures not to be quoted)
 *   npm run bench -- --list        names and descriptions
 *
 * Benchmarks are the modules next to this file (bench/NAME.ts) that export `name`,
 * `description` and `run`; helpers live in bench/lib/. Exit status 1 if a benchmark failed to
 * run (a missed target is reported, not an error).
 */

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatTable, toRecord, type Bench } from './lib/bench.js';

const here = dirname(fileURLToPath(import.meta.url));

function isBench(m: unknown): m is Bench {
  const b = m as Partial<Bench> | null;
  return b !== null && typeof b === 'object' && typeof b.name === 'string' && typeof b.description === 'string' && typeof b.run === 'function';
}

/** Every benchmark module in `dir`, sorted by name. */
export async function loadBenches(dir: string = here): Promise<Bench[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'run.js').sort();
  const out: Bench[] = [];
  for (const f of files) {
    const m: unknown = await import(pathToFileURL(join(dir, f)).href);
    if (isBench(m)) out.push(m);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const USAGE = 'usage: node dist/bench/run.js [--json] [--quick] [--list] [NAME...]';

async function main(argv: readonly string[]): Promise<number> {
  let json = false, quick = false, list = false;
  const names: string[] = [];
  for (const a of argv) {
    if (a === '--json') json = true;
    else if (a === '--quick') quick = true;
    else if (a === '--list') list = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else if (a.startsWith('-')) {
      console.error(`bench: unknown option '${a}'\n${USAGE}`);
      return 2;
    } else names.push(a);
  }
  const all = await loadBenches();
  if (list) {
    for (const b of all) console.log(`${b.name.padEnd(12)} ${b.description}`);
    return 0;
  }
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`bench: no benchmark named ${unknown.map((n) => `'${n}'`).join(', ')}; have: ${all.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const chosen = names.length === 0 ? all : all.filter((b) => names.includes(b.name));
  if (!json) {
    console.log(`rumpkernel benchmarks: node ${process.version}, ${process.platform}/${process.arch}${quick ? ', QUICK run (smoke test, figures not meaningful)' : ''}`);
    console.log('ratio > 1 means ours is better (time and memory: peer/ours; throughput: ours/peer)\n');
  }
  let failed = 0;
  for (const b of chosen) {
    const notes: string[] = [];
    const ctx = { quick, note: (t: string) => { notes.push(t); } };
    try {
      const t0 = Date.now();
      const figures = await b.run(ctx);
      if (json) {
        for (const f of figures) console.log(JSON.stringify(toRecord(b.name, f)));
        for (const n of notes) console.error(`${b.name}: ${n}`);
      } else {
        console.log(formatTable(b, figures));
        for (const n of notes) console.log(`  note: ${n}`);
        console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      }
    } catch (e) {
      failed++;
      console.error(`bench ${b.name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  });
}
