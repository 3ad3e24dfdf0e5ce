/**
 * The main job (src/bin/rumpkernel.ts) run as a user runs it: a child process, its exit status
 * and the lines it prints.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../src/bin/rumpkernel.js', import.meta.url));

function runBin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, RUMP_VERBOSE: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the tour boots a kernel, passes every step and exits 0', () => {
  const r = runBin();
  assert.equal(r.status, 0, `exit status ${String(r.status)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /ok {2}booted on host 'node' with components \[vfs, tmpfs\] in [0-9.]+ ms/);
  assert.match(r.stdout, /sysctl kern\.ostype {2}-> {2}NetBSD/);
  assert.match(r.stdout, /sysctl hw\.ncpu {2}-> {2}[1-9][0-9]*/);
  assert.match(r.stdout, /mount tmpfs \(size 64m\) on \/tmp {2}-> {2}tmpfs on \/tmp/);
  assert.match(r.stdout, /read it back {2}-> {2}"Hello from a rump kernel/);
  assert.match(r.stdout, /getdents \/tmp\/home\/user {2}-> {2}.*hello\.txt \(file\)/);
  assert.match(r.stdout, /denied reading \/tmp\/home\/secret\.txt {2}-> {2}EACCES/);
  assert.match(r.stdout, /halted cleanly/);
  assert.match(r.stdout, /summary: all steps passed/);
  assert.doesNotMatch(r.stdout + r.stderr, /FAILED/);
});

test('--help prints usage and exits 0', () => {
  const r = runBin('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: rumpkernel/);
});

test('an unknown argument is refused with exit status 2 and names the argument', () => {
  const r = runBin('--bogus');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument '--bogus'/);
});

test('the in-process example in examples/ runs and shows the permission check', () => {
  const example = fileURLToPath(new URL('../../examples/hello.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [example], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /^read 19 bytes: hello, rump kernel$/m);
  assert.match(r.stdout, /^uid 1000: EACCES /m);
});
