/**
 * Runs the POSIX conformance suite (test/conformance/) against each file system component:
 *  - tmpfs: a kernel with [vfs, tmpfs], a tmpfs mounted at /mnt, the directory /mnt/t;
 *  - rumpfs: the same kernel's root file system (rumpfs), the directory /t.
 * Every case boots its own kernel on a memory host with a manual clock (time moves only when a
 * case advances it, so timestamp checks are exact).
 */

import { Kernel } from '../src/kern/kernel.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { runConformance, type BackendInstance } from './conformance/suite.js';

async function boot(): Promise<{ k: Kernel; advance: (ms: number) => Promise<void> }> {
  const host = memoryHost({ manualClock: true, seed: 1 });
  const k = await Kernel.boot({ host, components: [vfs, tmpfs] });
  return { k, advance: (ms) => host.advance(ms) };
}

runConformance({
  name: 'tmpfs',
  async setup(): Promise<BackendInstance> {
    const { k, advance } = await boot();
    const l = k.initLwp;
    await k.sys.mkdir(l, '/mnt', 0o755);
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.mkdir(l, '/mnt/t', 0o755);
    return { k, dir: '/mnt/t', mountPoint: '/mnt', advance, teardown: () => k.halt() };
  },
});

runConformance({
  name: 'rumpfs',
  async setup(): Promise<BackendInstance> {
    const { k, advance } = await boot();
    await k.sys.mkdir(k.initLwp, '/t', 0o755);
    return { k, dir: '/t', advance, teardown: () => k.halt() };
  },
});
