/**
 * memfs internals: the page store, directory cookies, accounting and limits, node lifetimes,
 * name space rules and timestamps, exercised on vnodes directly (no syscall layer), plus the
 * rumpfs hooks etfs builds on and tmpfs mount argument checking.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Kernel } from '../src/kern/kernel.js';
import { KernelError } from '../src/kern/errno.js';
import { Cred } from '../src/kern/proc.js';
import { DT_DIR, DT_REG, LINK_MAX, MNT_NOATIME, makedev, _PC_LINK_MAX, _PC_NAME_MAX, _PC_FILESIZEBITS } from '../src/kern/types.js';
import { memoryHost, type MemoryHost } from '../src/rumpuser/memory/index.js';
import type { Vfs } from '../src/vfs/vfs.js';
import { VnodeCache } from '../src/vfs/vcache.js';
import { Mount, type FileSystemType } from '../src/vfs/mount.js';
import { VCHR, VDIR, VFIFO, VREG, type NewVattr, type Vnode } from '../src/vfs/vnode.js';
import { PAGE_SIZE, PageStore, type PageAllocator } from '../src/vfs/memfs/data.js';
import { MemDir } from '../src/vfs/memfs/dir.js';
import { MemFs } from '../src/vfs/memfs/memfs.js';
import { MemSpecNode, type MemNode } from '../src/vfs/memfs/node.js';
import { MemVnode } from '../src/vfs/memfs/vnode.js';
import { rumpfsAddNode, rumpfsRemoveNode, rumpfsType } from '../src/vfs/rumpfs.js';
import { parseTmpfsArgs, tmpfsType, type Tmpfs } from '../src/fs/tmpfs/index.js';
import type { MemfsBacking } from '../src/vfs/memfs/backing.js';

/* ---------------------------------------------------------------------------------------- */
/* helpers                                                                                   */

const KiB = 1024;
const MiB = 1024 * 1024;

function errno(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof KernelError, `expected KernelError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return true;
  };
}

class CountingAllocator implements PageAllocator {
  live = 0;
  limit = Infinity;
  allocPage(): Uint8Array {
    if (this.live >= this.limit) throw new KernelError('ENOSPC', 'test allocator is full');
    this.live++;
    return new Uint8Array(PAGE_SIZE);
  }
  freePage(): void { this.live--; }
}

interface Env {
  k: Kernel;
  host: MemoryHost;
  mp: Mount;
  fs: MemFs;
  root: Vnode;
}

/**
 * A kernel with a hand-made VFS state (just the vnode cache and the mount list, rumpfs as
 * mounts[0]) and a file system of `type` whose vnodes the test drives directly.
 */
async function setup(opts: { memlimit?: number; type?: FileSystemType; data?: unknown; flags?: number } = {}): Promise<Env> {
  const host = memoryHost({ manualClock: true, seed: 1 });
  const k = await Kernel.boot(opts.memlimit === undefined ? { host } : { host, memlimit: opts.memlimit });
  const vcache = new VnodeCache(k, 4096);
  let fsid = 1;
  const vfs = {
    vcache,
    mounts: [] as Mount[],
    rootvnode: null as Vnode | null,
    ref: (vp: Vnode): Vnode => vcache.ref(vp),
    rele: (vp: Vnode): void => vcache.rele(vp),
    allocFsid: (): number => fsid++,
  };
  k.vfs = vfs as unknown as Vfs;
  const rootMp = new Mount(k, 'rumpfs', 0, null, '/', vfs.allocFsid());
  rootMp.fs = await rumpfsType.mount(k, rootMp, { flags: 0, data: {} }, k.initLwp);
  rootMp.root = vfs.ref(await rootMp.fs.root());
  vfs.mounts.push(rootMp);
  vfs.rootvnode = vfs.ref(rootMp.root);
  const type = opts.type ?? tmpfsType;
  if (type === rumpfsType) return { k, host, mp: rootMp, fs: rootMp.fs as MemFs, root: rootMp.root };
  const mp = new Mount(k, type.name, opts.flags ?? 0, null, '/tmp', vfs.allocFsid());
  mp.fs = await type.mount(k, mp, { flags: opts.flags ?? 0, data: opts.data ?? {} }, k.initLwp);
  mp.root = vfs.ref(await mp.fs.root());
  return { k, host, mp, fs: mp.fs as MemFs, root: mp.root };
}

const reg = (mode = 0o644): NewVattr => ({ type: VREG, mode, uid: 0, gid: 0, rdev: 0 });
const dir = (mode = 0o755): NewVattr => ({ type: VDIR, mode, uid: 0, gid: 0, rdev: 0 });
const cred = Cred.root();

async function names(dvp: Vnode): Promise<string[]> {
  const out: string[] = [];
  let cookie = 0;
  for (;;) {
    const r = await dvp.readdir(cookie, 3);
    for (const e of r.entries) { out.push(e.name); cookie = e.cookie; }
    if (r.eof) return out;
  }
}

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/* ---------------------------------------------------------------------------------------- */

describe('memfs page store', () => {
  it('a write far into a file allocates only the pages it touches and the holes read as zeros', () => {
    const a = new CountingAllocator();
    const ps = new PageStore(a);
    const off = 10 * MiB + 100;
    assert.equal(ps.write(fill(10, 7), off), 10);
    assert.equal(ps.size, off + 10);
    assert.equal(a.live, 1);
    assert.equal(ps.bytes, PAGE_SIZE);
    const buf = fill(PAGE_SIZE * 3, 0xff);
    assert.equal(ps.read(buf, MiB), buf.length);
    assert.ok(buf.every((b) => b === 0), 'a hole reads as zeros');
    const tail = new Uint8Array(20);
    assert.equal(ps.read(tail, off - 5), 15, 'read stops at end of file');
    assert.deepEqual([...tail.subarray(0, 15)], [0, 0, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
  });

  it('a write spanning page boundaries lands intact and allocates each page once', () => {
    const a = new CountingAllocator();
    const ps = new PageStore(a);
    const data = new Uint8Array(3 * PAGE_SIZE + 17).map((_, i) => i & 0xff);
    assert.equal(ps.write(data, PAGE_SIZE - 5), data.length);
    assert.equal(ps.write(data.subarray(0, 10), PAGE_SIZE - 5), 10);
    assert.equal(a.live, 5);
    const back = new Uint8Array(data.length);
    assert.equal(ps.read(back, PAGE_SIZE - 5), data.length);
    assert.deepEqual(back, data);
  });

  it('truncating frees whole pages past the end and zeroes the tail, so growing again reads zeros', () => {
    const a = new CountingAllocator();
    const ps = new PageStore(a);
    ps.write(fill(4 * PAGE_SIZE, 9), 0);
    assert.equal(a.live, 4);
    ps.truncate(PAGE_SIZE + 10);
    assert.equal(a.live, 2);
    assert.equal(ps.size, PAGE_SIZE + 10);
    ps.truncate(3 * PAGE_SIZE);
    assert.equal(a.live, 2, 'extending is sparse');
    const buf = new Uint8Array(3 * PAGE_SIZE);
    assert.equal(ps.read(buf, 0), 3 * PAGE_SIZE);
    assert.ok(buf.subarray(0, PAGE_SIZE + 10).every((b) => b === 9));
    assert.ok(buf.subarray(PAGE_SIZE + 10).every((b) => b === 0), 'old bytes past the cut do not come back');
    ps.truncate(0);
    assert.equal(a.live, 0);
  });

  it('a write that runs out of pages part way is short, and fails with the error when nothing fits', () => {
    const a = new CountingAllocator();
    a.limit = 2;
    const ps = new PageStore(a);
    assert.equal(ps.write(fill(3 * PAGE_SIZE, 1), 100), 2 * PAGE_SIZE - 100);
    assert.equal(ps.size, 2 * PAGE_SIZE);
    assert.throws(() => ps.write(fill(10, 1), ps.size), errno('ENOSPC'));
    assert.equal(ps.size, 2 * PAGE_SIZE, 'a failed write does not change the size');
    assert.equal(ps.write(fill(10, 2), 0), 10, 'rewriting allocated pages needs no space');
  });

  it('clear gives every page back', () => {
    const a = new CountingAllocator();
    const ps = new PageStore(a);
    ps.write(fill(10, 1), 0);
    ps.write(fill(10, 1), 100 * PAGE_SIZE);
    ps.clear();
    assert.equal(a.live, 0);
    assert.equal(ps.size, 0);
  });
});

describe('memfs directory cookies', () => {
  const node = {} as MemNode;

  it('resuming after concurrent removals neither skips nor repeats surviving entries', () => {
    const d = new MemDir();
    const all: string[] = [];
    for (let i = 0; i < 300; i++) { const n = `f${i}`; all.push(n); d.add(n, node); }
    const seen = new Map<string, number>();
    const removed = new Set<string>();
    let cookie = 2;
    let rnd = 12345;
    const next = (): number => { rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0; return rnd >>> 8; };
    for (;;) {
      const batch: string[] = [];
      for (const e of d.after(cookie)) {
        batch.push(e.name);
        cookie = e.cookie;
        if (batch.length === 7) break;
      }
      if (batch.length === 0) break;
      for (const n of batch) seen.set(n, (seen.get(n) ?? 0) + 1);
      // Remove a few entries at random, read or not yet read (enough to force compactions).
      for (let j = 0; j < 12; j++) {
        const victim = all[next() % all.length]!;
        if (d.remove(victim) !== undefined) removed.add(victim);
      }
    }
    for (const n of all) {
      const count = seen.get(n) ?? 0;
      assert.ok(count <= 1, `${n} was returned ${count} times`);
      if (!removed.has(n)) assert.equal(count, 1, `surviving entry ${n} was skipped`);
    }
    assert.ok(removed.size > 150, `the test removed enough entries to compact the directory (${removed.size})`);
  });

  it('an entry added during a listing comes after every older entry, and a rename keeps the cookie', () => {
    const d = new MemDir();
    const a = d.add('a', node);
    d.add('b', node);
    const it1 = d.after(0);
    assert.equal(it1.next().value?.name, 'a');
    d.add('c', node);
    d.rename(a, 'z');
    assert.equal(d.lookup('a'), undefined);
    assert.equal(d.lookup('z')?.cookie, a.cookie);
    assert.deepEqual([...d.after(0)].map((e) => e.name), ['z', 'b', 'c']);
    assert.deepEqual([...it1].map((e) => e.name), ['b', 'c']);
  });
});

describe('memfs accounting and limits', () => {
  it('a tmpfs with a size limit fails writes with ENOSPC once its pages are used, and freeing makes room', async () => {
    const { root, fs } = await setup({ data: { size: 64 * KiB } });
    const f = await root.create('f', reg());
    assert.equal(await f.write(fill(64 * KiB, 1), 0), 64 * KiB);
    await assert.rejects(f.write(fill(1, 1), 64 * KiB), errno('ENOSPC'));
    assert.equal(fs.statvfs().bfree, 0);
    assert.equal(fs.statvfs().blocks, 16);
    await f.setattr({ size: 32 * KiB }, cred);
    assert.equal(fs.statvfs().bfree, 8);
    assert.equal(await f.write(fill(16 * KiB, 2), 100 * KiB), 16 * KiB, 'sparse writes fit after truncation');
    assert.equal(fs.pagesUsed, 12);
  });

  it('a kernel with a 1 MiB memory limit cannot hold 2 MiB in tmpfs, and truncating makes room again', async () => {
    const { k, root } = await setup({ memlimit: MiB });
    const f = await root.create('big', reg());
    let off = 0;
    let err: unknown = null;
    const chunk = fill(256 * KiB, 3);
    while (off < 2 * MiB) {
      try {
        off += await f.write(chunk, off);
      } catch (e) {
        err = e;
        break;
      }
    }
    assert.ok(err !== null, 'writing stopped with an error');
    errno('ENOSPC')(err);
    assert.ok(off < MiB, `only ${off} bytes fit`);
    assert.ok(k.kmem.used <= MiB);
    await f.setattr({ size: 0 }, cred);
    assert.equal(await f.write(fill(256 * KiB, 4), 0), 256 * KiB, 'freed memory is usable again');
  });

  it('every page is charged to kernel memory and uncharged on truncate, last unlink and unmount', async () => {
    const { k, root, fs, mp } = await setup();
    const base = k.kmem.used;
    const f = await root.create('f', reg());
    const meta = k.kmem.used - base;
    assert.ok(meta > 0, 'the node and its entry are charged');
    await f.write(fill(3 * PAGE_SIZE, 1), 0);
    assert.equal(k.kmem.used - base, meta + 3 * PAGE_SIZE);
    assert.equal(f.getattr().bytes, 3 * PAGE_SIZE);
    await f.setattr({ size: PAGE_SIZE }, cred);
    assert.equal(k.kmem.used - base, meta + PAGE_SIZE);
    await root.link('g', f);
    await root.remove('f', f);
    assert.ok(k.kmem.used - base > PAGE_SIZE, 'a remaining link keeps the data');
    await root.remove('g', f);
    await k.vfs!.vcache.reclaim(f);
    assert.equal(k.kmem.used, base);
    const g = await root.create('g', reg());
    await g.write(fill(5 * PAGE_SIZE, 1), 0);
    await k.vfs!.vcache.flushMount(mp, new Set([mp.root]));
    await fs.unmount(false);
    assert.equal(fs.pagesUsed, 0);
    assert.equal(fs.metaBytes, 0);
    assert.equal(fs.nodes.size, 0);
  });

  it('an unlinked file that is still referenced keeps its data until the last reference goes', async () => {
    const { k, root, fs } = await setup();
    const vfs = k.vfs!;
    const f = vfs.ref(await root.create('f', reg()));
    await f.write(fill(100, 5), 0);
    await root.remove('f', f);
    assert.equal(await root.lookup('f'), null);
    assert.equal(f.getattr().nlink, 0);
    const buf = new Uint8Array(100);
    assert.equal(await f.read(buf, 0), 100);
    assert.ok(buf.every((b) => b === 5));
    assert.equal(fs.pagesUsed, 1);
    assert.equal(f.inactive(), true, 'VOP_INACTIVE asks for reclaim of an unlinked node');
    vfs.rele(f);
    await vfs.vcache.drain();
    assert.equal(f.reclaimed, true);
    assert.equal(fs.pagesUsed, 0);
    assert.equal(fs.nodes.size, 1, 'only the root is left');
  });

  it('the node limit gives ENOSPC and statvfs reports nodes in use', async () => {
    const { root, fs } = await setup({ data: { nodes: 3 } });
    assert.equal(fs.statvfs().files, 3);
    assert.equal(fs.statvfs().ffree, 2);
    await root.create('a', reg());
    await root.mkdir('d', dir());
    assert.equal(fs.statvfs().ffree, 0);
    await assert.rejects(root.create('b', reg()), errno('ENOSPC'));
    assert.equal(await root.lookup('b'), null, 'a failed create leaves no entry');
  });

  it('a write beyond the maximum file size fails with EFBIG and one across it is cut short', async () => {
    const smallType: FileSystemType = {
      name: 'smallfs',
      mount: (k, mp) => Promise.resolve(new MemFs(k, mp, { fstype: 'smallfs', from: 'smallfs', rootMode: 0o755, maxFileSize: 10000 })),
    };
    const { root } = await setup({ type: smallType });
    const f = await root.create('f', reg());
    await assert.rejects(f.write(fill(1, 1), 10000), errno('EFBIG'));
    assert.equal(await f.write(fill(100, 1), 9950), 50);
    await assert.rejects(f.setattr({ size: 10001 }, cred), errno('EFBIG'));
    // the file size limit shows in pathconf; other names fall back to the VFS defaults
    assert.equal(f.pathconf(_PC_FILESIZEBITS), 15);
    assert.equal(f.pathconf(_PC_NAME_MAX), undefined);
  });
});

describe('memfs name space', () => {
  it('directory link counts are 2 plus subdirectories and follow a rename', async () => {
    const { root } = await setup();
    const a = await root.mkdir('a', dir());
    const b = await root.mkdir('b', dir());
    const c = await a.mkdir('c', dir());
    assert.equal(root.getattr().nlink, 4);
    assert.equal(a.getattr().nlink, 3);
    assert.equal(c.getattr().nlink, 2);
    await a.rename('c', c, b, 'c2', null);
    assert.equal(a.getattr().nlink, 2);
    assert.equal(b.getattr().nlink, 3);
    assert.equal(await c.lookup('..'), b, "'..' follows the move");
    assert.equal(await root.lookup('..'), root, "the root is its own '..'");
    await b.rmdir('c2', c);
    assert.equal(b.getattr().nlink, 2);
    assert.equal(c.getattr().nlink, 0);
    await assert.rejects(c.create('x', reg()), errno('ENOENT'));
  });

  it('rename over a non-empty directory fails with ENOTEMPTY and changes nothing', async () => {
    const { root } = await setup();
    const a = await root.mkdir('a', dir());
    const b = await root.mkdir('b', dir());
    await b.create('x', reg());
    await assert.rejects(root.rename('a', a, root, 'b', b), errno('ENOTEMPTY'));
    assert.equal(await root.lookup('a'), a);
    assert.equal(await root.lookup('b'), b);
    assert.equal(root.getattr().nlink, 4);
  });

  it('rename over an empty directory replaces it', async () => {
    const { root, fs } = await setup();
    const a = await root.mkdir('a', dir());
    const b = await root.mkdir('b', dir());
    const before = fs.nodes.size;
    await root.rename('a', a, root, 'b', b);
    assert.equal(await root.lookup('a'), null);
    assert.equal(await root.lookup('b'), a);
    assert.equal(b.getattr().nlink, 0);
    assert.equal(root.getattr().nlink, 3);
    await b.reclaim();
    assert.equal(fs.nodes.size, before - 1, 'the replaced directory is freed once its vnode goes');
  });

  it('renaming a file onto another hard link of itself does nothing', async () => {
    const { root } = await setup();
    const f = await root.create('f', reg());
    await root.link('g', f);
    await root.rename('f', f, root, 'g', f);
    assert.equal(await root.lookup('f'), f);
    assert.equal(await root.lookup('g'), f);
    assert.equal(f.getattr().nlink, 2);
  });

  it('rename over a file replaces it and drops its link', async () => {
    const { root } = await setup();
    const f = await root.create('f', reg());
    const g = await root.create('g', reg());
    await root.rename('f', f, root, 'g', g);
    assert.equal(await root.lookup('g'), f);
    assert.equal(g.getattr().nlink, 0);
    assert.deepEqual(await names(root), ['.', '..', 'g']);
  });

  it('rmdir of a non-empty directory fails with ENOTEMPTY', async () => {
    const { root } = await setup();
    const d = await root.mkdir('d', dir());
    await d.create('f', reg());
    await assert.rejects(root.rmdir('d', d), errno('ENOTEMPTY'));
  });

  it('create over an existing name fails with EEXIST, link of a node at LINK_MAX with EMLINK', async () => {
    const { root } = await setup();
    const f = await root.create('f', reg());
    await assert.rejects(root.create('f', reg()), errno('EEXIST'));
    (f as MemVnode).node!.nlink = LINK_MAX;
    await assert.rejects(root.link('g', f), errno('EMLINK'));
  });

  it("readdir lists '.' and '..' first, then entries with types, resumable from any cookie", async () => {
    const { root } = await setup();
    const d = await root.mkdir('d', dir());
    const f = await d.create('f', reg());
    const r = await d.readdir(0, 10);
    assert.equal(r.eof, true);
    assert.deepEqual(r.entries.map((e) => [e.name, e.type, e.fileid]), [
      ['.', DT_DIR, d.getattr().fileid], ['..', DT_DIR, root.getattr().fileid], ['f', DT_REG, f.getattr().fileid],
    ]);
    const one = await d.readdir(0, 1);
    assert.deepEqual(one.entries.map((e) => e.name), ['.']);
    assert.equal(one.eof, false);
    const rest = await d.readdir(one.entries[0]!.cookie, 10);
    assert.deepEqual(rest.entries.map((e) => e.name), ['..', 'f']);
  });

  it('device nodes and fifos keep their type and rdev', async () => {
    const { root } = await setup();
    const c = await root.create('tty', { type: VCHR, mode: 0o620, uid: 0, gid: 4, rdev: makedev(12, 3) });
    const p = await root.create('pipe', { type: VFIFO, mode: 0o600, uid: 0, gid: 0, rdev: 99 });
    assert.equal(c.getattr().rdev, makedev(12, 3));
    assert.equal(c.getattr().gid, 4);
    assert.equal(p.getattr().rdev, 0);
    assert.equal(p.type, VFIFO);
    assert.ok(((c as MemVnode).node) instanceof MemSpecNode);
  });

  it('one node has one vnode, and a reclaimed vnode is replaced by a new one', async () => {
    const { k, root } = await setup();
    const f = await root.create('f', reg());
    assert.equal(await root.lookup('f'), f);
    await k.vfs!.vcache.reclaim(f);
    const again = await root.lookup('f');
    assert.notEqual(again, f);
    assert.equal(again?.getattr().fileid, f.key);
    assert.throws(() => f.getattr(), errno('EBADF'));
  });
});

describe('memfs timestamps', () => {
  const ts = (v: Vnode, w: 'atime' | 'mtime' | 'ctime' | 'birthtime'): number => {
    const a = v.getattr();
    return a[`${w}Sec`] * 1e9 + a[`${w}Nsec`];
  };

  it('create, write, read, link, unlink, rename and setattr mark the POSIX timestamps', async () => {
    const { k, host, root } = await setup();
    const clock = (): number => Math.round(k.now() * 1e6);
    const step = async (): Promise<number> => { await host.advance(1000); return clock(); };
    const t1 = await step();
    const f = await root.create('f', reg());
    assert.deepEqual([ts(f, 'birthtime'), ts(f, 'mtime'), ts(f, 'ctime'), ts(f, 'atime')], [t1, t1, t1, t1]);
    assert.deepEqual([ts(root, 'mtime'), ts(root, 'ctime')], [t1, t1], 'create marks the directory');
    const t2 = await step();
    await f.write(fill(10, 1), 0);
    assert.deepEqual([ts(f, 'mtime'), ts(f, 'ctime'), ts(f, 'atime')], [t2, t2, t1], 'write marks mtime and ctime only');
    const t3 = await step();
    await f.read(new Uint8Array(10), 0);
    assert.deepEqual([ts(f, 'atime'), ts(f, 'mtime')], [t3, t2], 'read marks atime only');
    const t4 = await step();
    await root.link('g', f);
    assert.equal(ts(f, 'ctime'), t4, 'link marks the target ctime');
    assert.deepEqual([ts(root, 'mtime'), ts(root, 'ctime')], [t4, t4], 'link marks the directory');
    const t5 = await step();
    await root.remove('f', f);
    assert.equal(ts(f, 'ctime'), t5, 'unlink marks the target ctime');
    assert.deepEqual([ts(root, 'mtime'), ts(root, 'ctime')], [t5, t5], 'unlink marks the directory');
    const d = await root.mkdir('d', dir());
    const t6 = await step();
    await root.rename('g', f, d, 'g', null);
    assert.equal(ts(f, 'ctime'), t6, 'rename marks the moved node ctime');
    assert.equal(ts(f, 'mtime'), t2, 'rename leaves the moved node mtime');
    assert.deepEqual([ts(root, 'mtime'), ts(d, 'mtime'), ts(d, 'ctime')], [t6, t6, t6], 'rename marks both directories');
    const t7 = await step();
    await f.setattr({ mode: 0o600 }, cred);
    assert.equal(ts(f, 'ctime'), t7, 'setattr marks ctime');
    await f.setattr({ mtime: { sec: 5, nsec: 6 }, atime: { sec: 7, nsec: 8 } }, cred);
    assert.equal(ts(f, 'mtime'), 5e9 + 6);
    assert.equal(ts(f, 'atime'), 7e9 + 8);
    assert.equal(f.getattr().mode, 0o600);
  });

  it('a MNT_NOATIME mount does not mark atime on read', async () => {
    const { host, root } = await setup({ flags: MNT_NOATIME });
    const f = await root.create('f', reg());
    await f.write(fill(10, 1), 0);
    const a = ts(f, 'atime');
    await host.advance(1000);
    await f.read(new Uint8Array(10), 0);
    assert.equal(ts(f, 'atime'), a);
  });
});

describe('rumpfs hooks for etfs', () => {
  it('rumpfsAddNode makes missing directories, refuses an existing name, and hidden nodes are found but not listed', async () => {
    const { k, root } = await setup({ type: rumpfsType });
    await rumpfsAddNode(k, '/dev/sd0', { type: VCHR, mode: 0o640, rdev: makedev(4, 0) });
    await rumpfsAddNode(k, '/keys/a/etfskey', { type: VREG, mode: 0o644, hidden: true });
    await assert.rejects(rumpfsAddNode(k, '/dev/sd0', { type: VCHR, mode: 0o640 }), errno('EEXIST'));
    await assert.rejects(rumpfsAddNode(k, '/dev/sd0/x', { type: VREG, mode: 0o640 }), errno('ENOTDIR'));
    const dev = await root.lookup('dev');
    assert.ok(dev !== null);
    assert.equal(dev.getattr().mode, 0o755);
    const sd0 = await dev.lookup('sd0');
    assert.equal(sd0?.getattr().rdev, makedev(4, 0));
    assert.deepEqual(await names(root), ['.', '..', 'dev'], 'a directory made for a hidden key is hidden as well');
    const keys = await root.lookup('keys');
    const a = await keys!.lookup('a');
    assert.deepEqual(await names(a!), ['.', '..']);
    assert.ok((await a!.lookup('etfskey')) !== null, 'lookup finds a hidden node');
    assert.equal(a!.getattr().nlink, 2);
  });

  it('a node with a backing reads, writes, sizes and truncates through it', async () => {
    const { k, root, fs } = await setup({ type: rumpfsType });
    const store = new Uint8Array(64);
    let size = 20;
    store.fill(0x41, 0, 20);
    const backing: MemfsBacking = {
      read: (buf, off) => { const n = Math.max(0, Math.min(buf.length, size - off)); buf.set(store.subarray(off, off + n)); return Promise.resolve(n); },
      write: (buf, off) => { store.set(buf, off); size = Math.max(size, off + buf.length); return Promise.resolve(buf.length); },
      size: () => size,
      truncate: (s) => { size = s; return Promise.resolve(); },
    };
    await rumpfsAddNode(k, '/host/file', { type: VREG, mode: 0o600, backing, hidden: true });
    const vp = await (await root.lookup('host'))!.lookup('file');
    assert.ok(vp !== null);
    assert.equal(vp.getattr().size, 20);
    const buf = new Uint8Array(30);
    assert.equal(await vp.read(buf, 0), 20);
    assert.equal(buf[19], 0x41);
    assert.equal(await vp.write(fill(4, 0x42), 30), 4);
    assert.equal(vp.getattr().size, 34);
    await vp.setattr({ size: 10 }, cred);
    assert.equal(size, 10);
    assert.equal(fs.pagesUsed, 0, 'backed files hold no pages');
  });

  it('rumpfsRemoveNode removes a node and frees it, and refuses a non-empty directory', async () => {
    const { k, root, fs } = await setup({ type: rumpfsType });
    await rumpfsAddNode(k, '/d/f', { type: VREG, mode: 0o644 });
    const f = await (await root.lookup('d'))!.lookup('f');
    await f!.write(fill(10, 1), 0);
    const nodes = fs.nodes.size;
    await assert.rejects(rumpfsRemoveNode(k, '/d'), errno('ENOTEMPTY'));
    await rumpfsRemoveNode(k, '/d/f');
    assert.equal(fs.nodes.size, nodes - 1);
    assert.equal(fs.pagesUsed, 0);
    assert.equal(f!.reclaimed, true, 'an unreferenced vnode of the removed node is reclaimed');
    await rumpfsRemoveNode(k, 'd');
    assert.equal(await root.lookup('d'), null);
    await assert.rejects(rumpfsRemoveNode(k, '/d'), errno('ENOENT'));
  });
});

describe('tmpfs mount arguments', () => {
  it('bad values fail with EINVAL naming the option', () => {
    assert.throws(() => parseTmpfsArgs({ size: -1 }), (e: unknown) => errno('EINVAL')(e) && /size/.test((e as Error).message));
    assert.throws(() => parseTmpfsArgs({ size: 'lots' }), errno('EINVAL'));
    assert.throws(() => parseTmpfsArgs({ nodes: 1.5 }), errno('EINVAL'));
    assert.throws(() => parseTmpfsArgs({ mode: 0o10000 }), errno('EINVAL'));
    assert.throws(() => parseTmpfsArgs({ uid: -1 }), errno('EINVAL'));
    assert.throws(() => parseTmpfsArgs({ sise: 1 }), (e: unknown) => errno('EINVAL')(e) && /sise/.test((e as Error).message));
    assert.throws(() => parseTmpfsArgs('size=1m'), errno('EINVAL'));
    assert.deepEqual(parseTmpfsArgs({ size: '2m' }).size, 2 * MiB);
  });

  it('the root directory is 01777 root:root by default and takes mode, uid and gid', async () => {
    const a = await setup();
    const va = a.root.getattr();
    assert.equal(va.mode, 0o1777);
    assert.equal(va.uid, 0);
    const b = await setup({ data: { mode: 0o700, uid: 1000, gid: 100 } });
    const vb = b.root.getattr();
    assert.deepEqual([vb.mode, vb.uid, vb.gid], [0o700, 1000, 100]);
  });

  it('a mount update changes the size limit but not below what is in use', async () => {
    const { root, fs } = await setup({ data: { size: 64 * KiB } });
    const f = await root.create('f', reg());
    await f.write(fill(40 * KiB, 1), 0);
    const t = fs as Tmpfs;
    await assert.rejects(t.update(0, { size: 16 * KiB }), errno('EBUSY'));
    await t.update(0, { size: '1m' });
    assert.equal(fs.statvfs().blocks, 256);
    assert.equal(await f.write(fill(100 * KiB, 1), 40 * KiB), 100 * KiB);
  });
});
