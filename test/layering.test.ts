/**
 * Project-wide rules checked on the source: kernel code never reaches the host except through
 * rumpuser, holds no module-level mutable state, and every syscall of a present faction is
 * implemented; a halted kernel leaves nothing scheduled on its host.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kernel } from '../src/kern/kernel.js';
import { SYSCALLS, type SyscallName } from '../src/kern/syscalltable.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { md, mdCreate } from '../src/dev/md.js';
import { O_RDWR } from '../src/kern/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KERNEL_DIRS = ['src/kern', 'src/vfs', 'src/fs', 'src/dev', 'src/net'];

function tsFiles(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try { names = readdirSync(join(root, dir)); } catch { return out; }
  for (const n of names) {
    const rel = join(dir, n);
    if (statSync(join(root, rel)).isDirectory()) out = out.concat(tsFiles(rel));
    else if (n.endsWith('.ts')) out.push(rel);
  }
  return out;
}

describe('layering', () => {
  const files = KERNEL_DIRS.flatMap(tsFiles);

  it('finds the kernel sources', () => {
    assert.ok(files.length > 20, `only ${files.length} files found under ${root}`);
  });

  it('kernel code imports no node: module and no npm package', () => {
    const bad: string[] = [];
    for (const f of files) {
      const src = readFileSync(join(root, f), 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (!spec.startsWith('.')) bad.push(`${f}: ${spec}`);
      }
      if (/\bimport\(\s*['"]node:/.test(src) || /\brequire\(/.test(src)) bad.push(`${f}: dynamic host import`);
      if (/\bprocess\.|\bBuffer\./.test(src.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))) bad.push(`${f}: uses process/Buffer`);
    }
    assert.deepEqual(bad, []);
  });

  it('kernel code declares no module-level mutable bindings', () => {
    const bad: string[] = [];
    for (const f of files) {
      const src = readFileSync(join(root, f), 'utf8');
      for (const m of src.matchAll(/^(?:export\s+)?(let|var)\s+(\w+)/gm)) bad.push(`${f}: ${m[1]} ${m[2]}`);
    }
    assert.deepEqual(bad, []);
  });
});

describe('a kernel with the vfs faction', () => {
  it('implements every kern and vfs syscall of the table', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs] });
    const missing = (Object.keys(SYSCALLS) as SyscallName[]).filter((n) => SYSCALLS[n].faction !== 'net' && !k.sysent.has(n));
    assert.deepEqual(missing, []);
    await k.halt();
  });

  it('leaves no timer or softint scheduled on its host after halt', async () => {
    const host = memoryHost({ manualClock: true });
    const k = await Kernel.boot({ host, components: [vfs, tmpfs, md] });
    const l = k.initLwp;
    await k.sys.mkdir(l, '/tmp', 0o755);
    await k.sys.mount(l, 'tmpfs', '/tmp', 0, {});
    const { path } = await mdCreate(k, { size: 1 << 20 });
    const fd = await k.sys.open(l, path, O_RDWR, 0);
    await k.sys.pwrite(l, fd, new Uint8Array(4096).fill(1), 0); // a delayed write arms the syncer
    const c = k.callouts.create();
    c.reset(60_000, () => {});
    assert.notEqual(host.nextTimerMs(), undefined, 'the callout is pending before halt');
    await k.halt();
    await host.settle();
    assert.equal(host.nextTimerMs(), undefined, 'a host timer is still pending after halt');
    assert.equal(k.callouts.count, 0);
  });
});
