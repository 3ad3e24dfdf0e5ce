import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kern/kernel.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import {
  O_CREAT, O_RDWR, O_RDONLY, O_WRONLY, O_NONBLOCK, MNT_RDONLY, MNT_FORCE, MNT_UPDATE, S_IFIFO, S_IFMT, RB_HALT,
} from '../src/kern/types.js';

async function boot() {
  const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
  const l = k.initLwp;
  await k.sys.mkdir(l, '/mnt', 0o755);
  return { k, l };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('mount and unmount', () => {
  it('mounts tmpfs over a directory and hides what was below', async () => {
    const { k, l } = await boot();
    await k.sys.close(l, await k.sys.open(l, '/mnt/under', O_CREAT | O_RDWR, 0o644));
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await assert.rejects(k.sys.stat(l, '/mnt/under'), { code: 'ENOENT' });
    await k.sys.unmount(l, '/mnt', 0);
    assert.equal((await k.sys.stat(l, '/mnt/under')).size, 0);
    await k.halt();
  });

  it("resolves '..' at a mount root to the directory holding the mount point", async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    assert.equal((await k.sys.stat(l, '/mnt/..')).ino, (await k.sys.stat(l, '/')).ino);
    assert.notEqual((await k.sys.stat(l, '/mnt')).dev, (await k.sys.stat(l, '/')).dev);
    await k.halt();
  });

  it('refuses to unmount with EBUSY while a file is open or a cwd is inside, then succeeds', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    const fd = await k.sys.open(l, '/mnt/f', O_CREAT | O_RDWR, 0o644);
    await assert.rejects(k.sys.unmount(l, '/mnt', 0), { code: 'EBUSY' });
    await k.sys.close(l, fd);
    const p = k.newProc();
    await k.sys.chdir(p, '/mnt');
    await assert.rejects(k.sys.unmount(l, '/mnt', 0), { code: 'EBUSY' });
    await k.sys.chdir(p, '/');
    await k.sys.unmount(l, '/mnt', 0);
    await k.halt();
  });

  it('revokes open files on a forced unmount', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    const fd = await k.sys.open(l, '/mnt/f', O_CREAT | O_RDWR, 0o644);
    await k.sys.unmount(l, '/mnt', MNT_FORCE);
    await assert.rejects(k.sys.write(l, fd, enc('x')), { code: 'EBADF' });
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('refuses bad mounts: unknown type, not a directory, busy mount point, non-root', async () => {
    const { k, l } = await boot();
    await assert.rejects(k.sys.mount(l, 'nosuchfs', '/mnt', 0, {}), { code: 'ENODEV' });
    await k.sys.close(l, await k.sys.open(l, '/file', O_CREAT | O_RDWR, 0o644));
    await assert.rejects(k.sys.mount(l, 'tmpfs', '/file', 0, {}), { code: 'ENOTDIR' });
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await assert.rejects(k.sys.mount(l, 'tmpfs', '/mnt', 0, {}), { code: 'EBUSY' });
    await assert.rejects(k.sys.mount(k.newProc({ uid: 1 }), 'tmpfs', '/', 0, {}), { code: 'EPERM' });
    await assert.rejects(k.sys.unmount(l, '/', 0), { code: 'EBUSY' });
    await assert.rejects(k.sys.unmount(l, '/file', 0), { code: 'EINVAL' });
    await k.halt();
  });

  it('refuses to unmount a file system with another mounted below it', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.mkdir(l, '/mnt/inner', 0o755);
    await k.sys.mount(l, 'tmpfs', '/mnt/inner', 0, {});
    await assert.rejects(k.sys.unmount(l, '/mnt', 0), { code: 'EBUSY' });
    await assert.rejects(k.sys.rmdir(l, '/mnt/inner'), { code: 'EBUSY' });
    await k.sys.unmount(l, '/mnt/inner', 0);
    await k.sys.unmount(l, '/mnt', 0);
    await k.halt();
  });

  it('fails rename and link across mounts with EXDEV', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.close(l, await k.sys.open(l, '/a', O_CREAT | O_RDWR, 0o644));
    await assert.rejects(k.sys.rename(l, '/a', '/mnt/a'), { code: 'EXDEV' });
    await assert.rejects(k.sys.link(l, '/a', '/mnt/a'), { code: 'EXDEV' });
    await k.halt();
  });

  it('honours read-only mounts with EROFS and can update to read-write', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', MNT_RDONLY, {});
    await assert.rejects(k.sys.open(l, '/mnt/f', O_CREAT | O_RDWR, 0o644), { code: 'EROFS' });
    await assert.rejects(k.sys.mkdir(l, '/mnt/d', 0o755), { code: 'EROFS' });
    assert.equal((await k.sys.statvfs(l, '/mnt')).flag & MNT_RDONLY, MNT_RDONLY);
    try {
      await k.sys.mount(l, 'tmpfs', '/mnt', MNT_UPDATE, {});
      await k.sys.mkdir(l, '/mnt/d', 0o755);
    } catch (e) {
      assert.equal((e as { code: string }).code, 'EOPNOTSUPP');
    }
    await k.halt();
  });

  it('reports mounts with statvfs and getvfsstat', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, { size: 1 << 20 });
    const s = await k.sys.statvfs(l, '/mnt');
    assert.equal(s.fstypename, 'tmpfs');
    assert.equal(s.mntonname, '/mnt');
    assert.ok(s.blocks * s.frsize <= 1 << 20 && s.blocks * s.frsize > 0);
    const all = (await k.sys.getvfsstat(l)) as { mntonname: string }[];
    assert.deepEqual(all.map((m) => m.mntonname), ['/', '/mnt']);
    await k.halt();
  });

  it('unmounts everything cleanly at halt, innermost first', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.mkdir(l, '/mnt/in', 0o755);
    await k.sys.mount(l, 'tmpfs', '/mnt/in', 0, {});
    const fd = await k.sys.open(l, '/mnt/in/f', O_CREAT | O_RDWR, 0o644);
    void fd;
    await k.halt();
    assert.equal(k.vfs!.mounts.length, 0);
  });

  it('halts through reboot(2)', async () => {
    const { k, l } = await boot();
    await k.sys.reboot(l, RB_HALT, '');
    await k.halt();
    assert.equal(k.halted, true);
  });
});

describe('caches', () => {
  it('keeps the vnode cache within kern.maxvnodes', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.__sysctl(l, 'kern.maxvnodes', 32);
    for (let i = 0; i < 300; i++) await k.sys.close(l, await k.sys.open(l, `/mnt/f${i}`, O_CREAT | O_RDWR, 0o644));
    for (let i = 0; i < 300; i++) assert.equal((await k.sys.stat(l, `/mnt/f${i}`)).size, 0);
    await k.vfs!.vcache.drain();
    assert.ok((await k.sys.__sysctl(l, 'vfs.vnodes', null) as number) <= 40, 'vnode count bounded');
    await k.halt();
  });

  it('answers repeated lookups from the name cache and forgets removed names', async () => {
    const { k, l } = await boot();
    await k.sys.mkdir(l, '/d', 0o755);
    await k.sys.close(l, await k.sys.open(l, '/d/f', O_CREAT | O_RDWR, 0o644));
    await k.sys.stat(l, '/d/f');
    const before = await k.sys.__sysctl(l, 'vfs.namecache.hits', null) as number;
    await k.sys.stat(l, '/d/f');
    assert.ok((await k.sys.__sysctl(l, 'vfs.namecache.hits', null) as number) > before);
    await k.sys.unlink(l, '/d/f');
    await assert.rejects(k.sys.stat(l, '/d/f'), { code: 'ENOENT' });
    await k.sys.rename(l, '/d', '/e');
    await assert.rejects(k.sys.stat(l, '/d'), { code: 'ENOENT' });
    await k.halt();
  });
});

describe('processes and the namespace', () => {
  it('computes getcwd across mount points', async () => {
    const { k, l } = await boot();
    await k.sys.mount(l, 'tmpfs', '/mnt', 0, {});
    await k.sys.mkdir(l, '/mnt/a', 0o755);
    await k.sys.mkdir(l, '/mnt/a/b', 0o755);
    const p = k.newProc();
    await k.sys.chdir(p, '/mnt/a/b');
    assert.equal(await k.sys.getcwd(p), '/mnt/a/b');
    await k.sys.chdir(p, '..');
    assert.equal(await k.sys.getcwd(p), '/mnt/a');
    await k.halt();
  });

  it('confines a chrooted process below its root', async () => {
    const { k, l } = await boot();
    await k.sys.mkdir(l, '/jail', 0o755);
    await k.sys.mkdir(l, '/jail/etc', 0o755);
    await k.sys.close(l, await k.sys.open(l, '/secret', O_CREAT | O_RDWR, 0o600));
    const p = k.newProc();
    await k.sys.chroot(p, '/jail');
    await k.sys.chdir(p, '/');
    assert.equal((await k.sys.stat(p, '/../../etc')).ino, (await k.sys.stat(l, '/jail/etc')).ino);
    await assert.rejects(k.sys.stat(p, '/secret'), { code: 'ENOENT' });
    await assert.rejects(k.sys.chroot(k.newProc({ uid: 3 }), '/jail'), { code: 'EPERM' });
    await k.halt();
  });

  it('inherits descriptors and cwd into a child process', async () => {
    const { k, l } = await boot();
    await k.sys.mkdir(l, '/w', 0o755);
    const parent = k.newProc();
    await k.sys.chdir(parent, '/w');
    const fd = await k.sys.open(parent, 'f', O_CREAT | O_RDWR, 0o644);
    await k.sys.write(parent, fd, enc('abc'));
    const child = k.newProc({ parent: parent.proc });
    assert.equal(await k.sys.getcwd(child), '/w');
    assert.equal(await k.sys.lseek(child, fd, 0, 1), 3, 'offset is shared');
    await k.halt();
  });

  it('passes data through a FIFO between two opens', async () => {
    const { k, l } = await boot();
    await k.sys.mkfifo(l, '/fifo', 0o644);
    assert.equal((await k.sys.stat(l, '/fifo')).mode & S_IFMT, S_IFIFO);
    await assert.rejects(k.sys.open(l, '/fifo', O_WRONLY | O_NONBLOCK, 0), { code: 'ENXIO' });
    const r = await k.sys.open(l, '/fifo', O_RDONLY | O_NONBLOCK, 0);
    const w = await k.sys.open(l, '/fifo', O_WRONLY, 0);
    await k.sys.write(l, w, enc('through'));
    const buf = new Uint8Array(16);
    assert.equal(await k.sys.read(l, r, buf), 7);
    assert.equal((await k.sys.fstat(l, r)).mode & S_IFMT, S_IFIFO);
    await k.sys.close(l, w);
    assert.equal(await k.sys.read(l, r, buf), 0);
    await k.halt();
  });

  it('blocks a FIFO reader open until a writer arrives', async () => {
    const { k, l } = await boot();
    await k.sys.mkfifo(l, '/fifo', 0o644);
    let opened = false;
    const rp = k.sys.open(l, '/fifo', O_RDONLY, 0).then((fd) => { opened = true; return fd; });
    await new Promise((res) => setTimeout(res, 5));
    assert.equal(opened, false);
    const w = await k.sys.open(l, '/fifo', O_WRONLY, 0);
    const r = await rp;
    await k.sys.close(l, w);
    await k.sys.close(l, r);
    await k.halt();
  });
});
