/**
 * tmpfs and rumpfs through the syscall API: memory and size limits, statvfs, directory listings
 * under deletion, open-but-unlinked files, and the rumpfs hooks seen from processes.
 * (POSIX behaviour in general is the shared conformance suite's job.)
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Kernel } from '../src/kern/kernel.js';
import { KernelError } from '../src/kern/errno.js';
import { O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, S_IFMT, S_IFCHR, makedev } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { VCHR, VREG } from '../src/vfs/vnode.js';
import { rumpfsAddNode, rumpfsRemoveNode } from '../src/vfs/rumpfs.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';

const KiB = 1024;
const MiB = 1024 * 1024;

function errno(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

async function boot(memlimit?: number): Promise<Kernel> {
  const host = memoryHost();
  return Kernel.boot(memlimit === undefined ? { host, components: [vfs, tmpfs] } : { host, memlimit, components: [vfs, tmpfs] });
}

async function mountTmp(k: Kernel, data: unknown = {}): Promise<void> {
  const l = k.initLwp;
  await k.sys.mkdir(l, '/tmp', 0o755);
  await k.sys.mount(l, 'tmpfs', '/tmp', 0, data);
}

/** Write `total` bytes in 64 KiB chunks until done or an error; returns [bytes written, error]. */
async function fillFile(k: Kernel, fd: number, total: number): Promise<[number, unknown]> {
  const chunk = new Uint8Array(64 * KiB).fill(0x5a);
  let done = 0;
  while (done < total) {
    try {
      const n = await k.sys.write(k.initLwp, fd, chunk.subarray(0, Math.min(chunk.length, total - done)));
      done += n;
    } catch (e) {
      return [done, e];
    }
  }
  return [done, null];
}

describe('tmpfs through the syscall API', () => {
  it('a kernel booted with a 1 MiB memory limit cannot store 2 MiB in tmpfs, and freeing makes room again', async () => {
    const k = await boot(MiB);
    try {
      const l = k.initLwp;
      await mountTmp(k);
      const fd = await k.sys.open(l, '/tmp/big', O_CREAT | O_RDWR, 0o644);
      const [written, err] = await fillFile(k, fd, 2 * MiB);
      assert.ok(err !== null, `writing 2 MiB succeeded (${written} bytes)`);
      errno('ENOSPC')(err);
      assert.ok(written > 0 && written < MiB, `${written} bytes fit`);
      assert.ok(k.kmem.used <= MiB, 'the kernel stayed within its limit');
      await k.sys.close(l, fd);
      await k.sys.unlink(l, '/tmp/big');
      const fd2 = await k.sys.open(l, '/tmp/again', O_CREAT | O_RDWR, 0o644);
      const [again, err2] = await fillFile(k, fd2, written - 64 * KiB);
      assert.equal(err2, null, 'the space of the removed file is usable again');
      assert.equal(again, written - 64 * KiB);
      await k.sys.close(l, fd2);
    } finally {
      await k.halt();
    }
  });

  it('a size limit gives ENOSPC, statvfs reports it, and truncation frees blocks', async () => {
    const k = await boot();
    try {
      const l = k.initLwp;
      await mountTmp(k, { size: 256 * KiB });
      const v0 = await k.sys.statvfs(l, '/tmp');
      assert.equal(v0.fstypename, 'tmpfs');
      assert.equal(v0.blocks * v0.frsize, 256 * KiB);
      assert.equal(v0.bfree, v0.blocks);
      const fd = await k.sys.open(l, '/tmp/f', O_CREAT | O_RDWR, 0o644);
      const [written, err] = await fillFile(k, fd, MiB);
      errno('ENOSPC')(err);
      assert.equal(written, 256 * KiB);
      assert.equal((await k.sys.statvfs(l, '/tmp')).bfree, 0);
      await k.sys.ftruncate(l, fd, 64 * KiB);
      const v1 = await k.sys.statvfs(l, '/tmp');
      assert.equal(v1.bfree * v1.frsize, 192 * KiB);
      assert.equal((await k.sys.fstat(l, fd)).blocks * 512, 64 * KiB);
      await k.sys.close(l, fd);
    } finally {
      await k.halt();
    }
  });

  it('bad mount data fails with EINVAL', async () => {
    const k = await boot();
    try {
      await k.sys.mkdir(k.initLwp, '/tmp', 0o755);
      await assert.rejects(k.sys.mount(k.initLwp, 'tmpfs', '/tmp', 0, { size: -5 }), errno('EINVAL'));
      await assert.rejects(k.sys.mount(k.initLwp, 'tmpfs', '/tmp', 0, { bogus: 1 }), errno('EINVAL'));
    } finally {
      await k.halt();
    }
  });

  it('getdents resumed after removals neither skips nor repeats the surviving entries', async () => {
    const k = await boot();
    try {
      const l = k.initLwp;
      await mountTmp(k);
      const all = Array.from({ length: 40 }, (_, i) => `e${i}`);
      for (const n of all) await k.sys.close(l, await k.sys.open(l, `/tmp/${n}`, O_CREAT | O_RDWR, 0o644));
      const dfd = await k.sys.open(l, '/tmp', O_RDONLY | O_DIRECTORY, 0);
      const seen: string[] = [];
      const removed = new Set<string>();
      for (let round = 0; ; round++) {
        const batch = await k.sys.getdents(l, dfd, 5);
        if (batch.length === 0) break;
        seen.push(...batch.map((d) => d.name));
        // Remove one entry already listed and one not yet listed.
        const behind = all[round * 2];
        const ahead = all[39 - round];
        for (const n of [behind, ahead]) {
          if (n !== undefined && !removed.has(n)) {
            await k.sys.unlink(l, `/tmp/${n}`);
            removed.add(n);
          }
        }
      }
      await k.sys.close(l, dfd);
      assert.equal(seen[0], '.');
      assert.equal(seen[1], '..');
      assert.equal(new Set(seen).size, seen.length, 'no entry was listed twice');
      for (const n of all) if (!removed.has(n)) assert.ok(seen.includes(n), `surviving entry ${n} was listed`);
    } finally {
      await k.halt();
    }
  });

  it('an unlinked open file keeps its data until closed, then its memory is released', async () => {
    const k = await boot();
    try {
      const l = k.initLwp;
      await mountTmp(k);
      const base = k.kmem.used;
      const fd = await k.sys.open(l, '/tmp/f', O_CREAT | O_RDWR, 0o644);
      await k.sys.write(l, fd, new Uint8Array(100 * KiB).fill(7));
      await k.sys.unlink(l, '/tmp/f');
      await assert.rejects(k.sys.stat(l, '/tmp/f'), errno('ENOENT'));
      const buf = new Uint8Array(10);
      assert.equal(await k.sys.pread(l, fd, buf, 50 * KiB), 10);
      assert.deepEqual([...buf], Array(10).fill(7));
      assert.ok(k.kmem.used >= base + 100 * KiB);
      await k.sys.close(l, fd);
      await k.vfs!.vcache.drain();
      assert.ok(k.kmem.used < base + 4 * KiB, `memory released (${k.kmem.used - base} bytes left)`);
    } finally {
      await k.halt();
    }
  });
});

describe('rumpfs hooks through the syscall API', () => {
  it('a hidden node added by rumpfsAddNode is reachable by path but not listed, and removal makes it go', async () => {
    const k = await boot();
    try {
      const l = k.initLwp;
      await rumpfsAddNode(k, '/etfs/disk', { type: VREG, mode: 0o600, hidden: true });
      await rumpfsAddNode(k, '/devtest/null0', { type: VCHR, mode: 0o666, rdev: makedev(2, 2) });
      const st = await k.sys.stat(l, '/etfs/disk');
      assert.equal(st.size, 0);
      const dev = await k.sys.stat(l, '/devtest/null0');
      assert.equal(dev.mode & S_IFMT, S_IFCHR);
      assert.equal(dev.rdev, makedev(2, 2));
      const dfd = await k.sys.open(l, '/', O_RDONLY | O_DIRECTORY, 0);
      const names: string[] = [];
      for (let b = await k.sys.getdents(l, dfd, 64); b.length > 0; b = await k.sys.getdents(l, dfd, 64)) names.push(...b.map((d) => d.name));
      await k.sys.close(l, dfd);
      assert.ok(names.includes('devtest'));
      assert.ok(!names.includes('etfs'), 'hidden keys are not listed');
      await rumpfsRemoveNode(k, '/etfs/disk');
      await assert.rejects(k.sys.stat(l, '/etfs/disk'), errno('ENOENT'));
    } finally {
      await k.halt();
    }
  });
});
