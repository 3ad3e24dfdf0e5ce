#!/usr/bin/env node
/**
 * The test launcher behind `npm test` (which builds first, then runs this file).
 *
 *   node test/run.mjs                      every dist/test/**\/*.test.js
 *   node test/run.mjs conformance tmpfs    only files whose path contains one of the words
 *   node test/run.mjs -- --test-name-pattern=rename   (options starting with '-' go to node --test)
 *
 * Runs `node --test` with two files at a time (CI machines have two cores), the spec reporter on
 * stdout for people and a TAP stream to a temporary file, from which the last line is printed:
 *
 *   RESULT tests=N pass=N fail=N cancelled=N skipped=N todo=N files=N duration_ms=N
 *
 * A CI parser can grep for `^RESULT `. The exit status is node --test's (non-zero on any
 * failure), and non-zero as well when no test file matched. Compiled tests whose source
 * (test/NAME.test.ts) no longer exists are stale build output and are skipped, with a note.
 * Environment: TEST_TIMEOUT_MS (per test, default 600000), TEST_CONCURRENCY (default 2).
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distTest = join(root, 'dist', 'test');

/** All *.test.js below dir, sorted, as paths relative to the repository root. */
function findTests(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.test.js')) out.push(relative(root, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** dist/test/a/b.test.js -> does test/a/b.test.{ts,mts,js,mjs} exist? */
function hasSource(rel) {
  const base = rel.slice(`dist${sep}`.length, -'.js'.length);
  return ['.ts', '.mts', '.js', '.mjs'].some((ext) => existsSync(join(root, base + ext)));
}

const args = process.argv.slice(2);
const nodeOpts = args.filter((a) => a.startsWith('-') && a !== '--');
const filters = args.filter((a) => !a.startsWith('-'));

if (!existsSync(distTest)) {
  console.error(`test/run.mjs: ${relative(process.cwd(), distTest) || distTest} does not exist; build first (npm run build)`);
  process.exit(1);
}

const all = findTests(distTest);
const stale = all.filter((f) => !hasSource(f));
const live = all.filter((f) => hasSource(f));
if (stale.length > 0) console.log(`note: skipping ${stale.length} stale compiled test(s) without a source file: ${stale.join(', ')}`);
const files = filters.length === 0 ? live : live.filter((f) => filters.some((w) => f.includes(w)));

if (files.length === 0) {
  console.error(filters.length === 0
    ? 'test/run.mjs: no test files found under dist/test'
    : `test/run.mjs: no test file matches ${filters.map((w) => `'${w}'`).join(' or ')} (have: ${live.map((f) => f.split(sep).pop()).join(', ')})`);
  console.log('RESULT tests=0 pass=0 fail=0 cancelled=0 skipped=0 todo=0 files=0 duration_ms=0');
  process.exit(1);
}

const tapDir = mkdtempSync(join(tmpdir(), 'rumpkernel-test-'));
const tapFile = join(tapDir, 'results.tap');
const timeout = Number(process.env.TEST_TIMEOUT_MS ?? 600000);
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 2);

const child = spawn(process.execPath, [
  '--test',
  `--test-concurrency=${concurrency}`,
  `--test-timeout=${timeout}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ...nodeOpts,
  ...files,
], { cwd: root, stdio: 'inherit' });

const forward = (sig) => () => { child.kill(sig); };
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));

child.on('close', (code, signal) => {
  const counts = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0, duration_ms: 0 };
  let tap = '';
  try {
    tap = readFileSync(tapFile, 'utf8');
  } catch {
    // no stream: node --test died before reporting; counts stay 0 and the status says why
  }
  // The summary is the last block of top-level "# key N" lines.
  for (const m of tap.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo|duration_ms) ([0-9.]+)$/gm)) {
    counts[m[1]] = Number(m[2]);
  }
  rmSync(tapDir, { recursive: true, force: true });
  const status = code ?? (signal !== null ? 1 : 0);
  const ok = status === 0 && counts.fail === 0 && counts.cancelled === 0;
  console.log('');
  console.log(`${ok ? 'ALL TESTS PASSED' : 'TESTS FAILED'}: ${counts.pass} of ${counts.tests} passed, ${counts.fail} failed, `
    + `${counts.cancelled} cancelled, ${counts.skipped} skipped, ${counts.todo} todo, in ${files.length} file(s)`
    + (signal !== null ? ` (test runner killed by ${signal})` : ''));
  console.log(`RESULT tests=${counts.tests} pass=${counts.pass} fail=${counts.fail} cancelled=${counts.cancelled} `
    + `skipped=${counts.skipped} todo=${counts.todo} files=${files.length} duration_ms=${Math.round(counts.duration_ms)}`);
  process.exit(ok ? 0 : (status === 0 ? 1 : status));
});
