/**
 * The device switch, the boot-time /dev nodes (null, zero, full, random, urandom), device files
 * opened through the VFS, and opening block devices for file systems.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kern/kernel.js';
import { KernelError } from '../src/kern/errno.js';
import type { Lwp } from '../src/kern/proc.js';
import { FIONBIO } from '../src/kern/sys_pipe.js';
import {
  MNT_NODEV, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY, SEEK_END, S_IFBLK, S_IFCHR, S_IFMT, makedev,
} from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { openBlockDevice, type BlockDevice } from '../src/vfs/blockdev.js';
import type { CharDriver } from '../src/vfs/devsw.js';
import { DIOCGMEDIASIZE, DIOCGSECTORSIZE } from '../src/vfs/spec.js';
import { md, mdCreate, mdDestroy } from '../src/dev/md.js';

async function boot() {
  const k = await Kernel.boot({ host: memoryHost({ seed: 7 }), components: [vfs, tmpfs] });
  return { k, l: k.initLwp };
}

/** A block driver whose units are memory disks of `size` bytes, counting opens and closes. */
function memDisks(size: number) {
  const log: string[] = [];
  const disks = new Map<number, Uint8Array>();
  const drv = {
    name: 'testdisk',
    async open(minor: number, dev: number): Promise<BlockDevice> {
      if (minor > 3) throw new KernelError('ENXIO', `testdisk${minor} does not exist`);
      let store = disks.get(minor);
      if (store === undefined) {
        store = new Uint8Array(size);
        disks.set(minor, store);
      }
      const s = store;
      log.push(`open ${minor}`);
      return {
        name: `testdisk${minor}`, sectorSize: 512, size, dev,
        async read(buf: Uint8Array, off: number) { log.push(`read ${off} ${buf.length}`); const n = Math.max(0, Math.min(buf.length, size - off)); buf.set(s.subarray(off, off + n)); return n; },
        async write(buf: Uint8Array, off: number) { log.push(`write ${off} ${buf.length}`); s.set(buf, off); return buf.length; },
        async flush() { log.push('flush'); },
        async close() { log.push(`close ${minor}`); },
      };
    },
  };
  return { drv, log, disks };
}

describe('boot-time devices', () => {
  it('/dev holds null, zero, full, random and urandom as character devices, mode 0666, with NetBSD numbers', async () => {
    const { k, l } = await boot();
    const want: Record<string, [number, number]> = { null: [2, 2], zero: [2, 12], full: [2, 7], random: [46, 0], urandom: [46, 1] };
    for (const [name, [maj, min]] of Object.entries(want)) {
      const st = await k.sys.stat(l, `/dev/${name}`);
      assert.equal(st.mode & S_IFMT, S_IFCHR, name);
      assert.equal(st.mode & 0o7777, 0o666, name);
      assert.equal(st.rdev, makedev(maj, min), name);
    }
    await k.halt();
  });

  it('/dev/null reads end of file at once and swallows every write', async () => {
    const { k, l } = await boot();
    const fd = await k.sys.open(l, '/dev/null', O_RDWR, 0);
    assert.equal(await k.sys.read(l, fd, new Uint8Array(100)), 0);
    assert.equal(await k.sys.write(l, fd, new Uint8Array(12345)), 12345);
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('/dev/zero reads zeros however much is asked, at any offset', async () => {
    const { k, l } = await boot();
    const fd = await k.sys.open(l, '/dev/zero', O_RDONLY, 0);
    const buf = new Uint8Array(200_000).fill(0xff);
    assert.equal(await k.sys.read(l, fd, buf), buf.length);
    assert.ok(buf.every((x) => x === 0));
    const small = new Uint8Array(10).fill(1);
    assert.equal(await k.sys.pread(l, fd, small, 1e9), 10);
    assert.ok(small.every((x) => x === 0));
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('/dev/full reads zeros and refuses writes with ENOSPC', async () => {
    const { k, l } = await boot();
    const fd = await k.sys.open(l, '/dev/full', O_RDWR, 0);
    await assert.rejects(k.sys.write(l, fd, new Uint8Array(1)), { code: 'ENOSPC' });
    const b = new Uint8Array(4).fill(3);
    assert.equal(await k.sys.read(l, fd, b), 4);
    assert.deepEqual([...b], [0, 0, 0, 0]);
    await k.halt();
  });

  it('/dev/random and /dev/urandom give host random bytes, in reads larger than one host request', async () => {
    const { k, l } = await boot();
    for (const name of ['random', 'urandom']) {
      const fd = await k.sys.open(l, `/dev/${name}`, O_RDONLY, 0);
      const a = new Uint8Array(100_000);
      assert.equal(await k.sys.read(l, fd, a), a.length);
      const b = new Uint8Array(64);
      await k.sys.read(l, fd, b);
      assert.notDeepEqual(a.subarray(0, 64), b);
      const tail = a.subarray(90_000);
      assert.ok(new Set(tail).size > 200, `${name}: the last bytes of a large read are random too`);
      // Writing entropy is accepted.
      await k.sys.close(l, fd);
      const w = await k.sys.open(l, `/dev/${name}`, O_WRONLY, 0);
      assert.equal(await k.sys.write(l, w, new Uint8Array(16)), 16);
      await k.sys.close(l, w);
    }
    await k.halt();
  });

  it('an unprivileged process may use the 0666 devices', async () => {
    const { k } = await boot();
    const u = k.newProc({ uid: 1000, gid: 1000 });
    const fd = await k.sys.open(u, '/dev/null', O_WRONLY, 0);
    assert.equal(await k.sys.write(u, fd, new Uint8Array(3)), 3);
    await k.sys.close(u, fd);
    await k.halt();
  });

  it('device files do not appear as anything but devices: fstat says S_IFCHR and lseek works', async () => {
    const { k, l } = await boot();
    const fd = await k.sys.open(l, '/dev/zero', O_RDONLY, 0);
    assert.equal((await k.sys.fstat(l, fd)).mode & S_IFMT, S_IFCHR);
    assert.equal(await k.sys.lseek(l, fd, 100, 0), 100);
    await k.sys.ioctl(l, fd, FIONBIO, 1);
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('the buffer cache has its sysctl nodes, and vfs.bufcache.max can be changed by root', async () => {
    const { k } = await boot();
    assert.equal(typeof k.sysctl.get('vfs.bufcache.max'), 'number');
    assert.equal(k.sysctl.get('vfs.bufcache.used'), 0);
    k.sysctl.set('vfs.bufcache.max', 1 << 20, null);
    assert.equal(k.vfs!.devsw.bufcache.max, 1 << 20);
    for (const n of ['hits', 'misses', 'buffers', 'dirty', 'readahead']) assert.notEqual(k.sysctl.find(`vfs.bufcache.${n}`), undefined, n);
    await k.halt();
  });
});

describe('the device switch', () => {
  it('opening a device with no driver fails with ENXIO', async () => {
    const { k, l } = await boot();
    await k.sys.mknod(l, '/dev/nothing', S_IFCHR | 0o600, makedev(150, 0));
    await assert.rejects(k.sys.open(l, '/dev/nothing', O_RDONLY, 0), { code: 'ENXIO' });
    await k.sys.mknod(l, '/dev/nodisk', S_IFBLK | 0o600, makedev(150, 0));
    await assert.rejects(k.sys.open(l, '/dev/nodisk', O_RDONLY, 0), { code: 'ENXIO' });
    await k.sys.mknod(l, '/dev/mem', S_IFCHR | 0o600, makedev(2, 0));
    await assert.rejects(k.sys.open(l, '/dev/mem', O_RDONLY, 0), { code: 'ENXIO' });
    await k.halt();
  });

  it('a character driver gets opens, I/O with offsets, ioctls and closes for its minor', async () => {
    const { k, l } = await boot();
    const calls: string[] = [];
    const drv: CharDriver = {
      name: 'echo',
      open(minor) { calls.push(`open ${minor}`); },
      close(minor) { calls.push(`close ${minor}`); },
      async read(minor, _l: Lwp, buf, off) { calls.push(`read ${minor} ${off}`); buf.fill(minor); return buf.length; },
      async write(minor, _l: Lwp, buf, off) { calls.push(`write ${minor} ${off} ${buf.length}`); return buf.length; },
      async ioctl(minor, _l: Lwp, cmd) { calls.push(`ioctl ${minor} ${cmd}`); return cmd + 1; },
    };
    k.vfs!.devsw.attachChar(150, drv);
    assert.throws(() => k.vfs!.devsw.attachChar(150, drv), { code: 'EEXIST' });
    await k.sys.mknod(l, '/dev/echo5', S_IFCHR | 0o600, makedev(150, 5));
    const fd = await k.sys.open(l, '/dev/echo5', O_RDWR, 0);
    const b = new Uint8Array(3);
    await k.sys.read(l, fd, b);
    assert.deepEqual([...b], [5, 5, 5]);
    await k.sys.write(l, fd, new Uint8Array(7));
    await k.sys.pwrite(l, fd, new Uint8Array(2), 1000);
    assert.equal(await k.sys.ioctl(l, fd, 41, null), 42);
    await k.sys.close(l, fd);
    assert.deepEqual(calls, ['open 5', 'read 5 0', 'write 5 3 7', 'write 5 1000 2', 'ioctl 5 41', 'close 5']);
    await k.halt();
  });

  it('a driver refusing the open makes open fail and leaves no reference behind', async () => {
    const { k, l } = await boot();
    k.vfs!.devsw.attachChar(151, {
      name: 'busy', open() { throw new KernelError('EBUSY', 'always busy'); },
      async read() { return 0; }, async write() { return 0; },
    });
    await k.sys.mknod(l, '/dev/busy', S_IFCHR | 0o600, makedev(151, 0));
    await assert.rejects(k.sys.open(l, '/dev/busy', O_RDONLY, 0), { code: 'EBUSY' });
    await k.sys.unlink(l, '/dev/busy');
    await k.halt();
  });

  it('devices on a file system mounted nodev cannot be opened', async () => {
    const { k, l } = await boot();
    await k.sys.mkdir(l, '/mnt', 0o755);
    await k.sys.mount(l, 'tmpfs', '/mnt', MNT_NODEV, {});
    await k.sys.mknod(l, '/mnt/zero', S_IFCHR | 0o666, makedev(2, 12));
    await assert.rejects(k.sys.open(l, '/mnt/zero', O_RDONLY, 0), { code: 'ENXIO' });
    await k.halt();
  });
});

describe('block devices', () => {
  it('openBlockDevice opens a block device node for a file system, and refuses what is not one', async () => {
    const { k, l } = await boot();
    const { drv, log } = memDisks(1 << 20);
    k.vfs!.devsw.attachBlock(160, drv);
    await k.sys.mknod(l, '/dev/td0', S_IFBLK | 0o600, makedev(160, 0));
    const dev = await openBlockDevice(k, l, '/dev/td0', O_RDWR);
    assert.equal(dev.size, 1 << 20);
    assert.equal(dev.sectorSize, 512);
    await dev.close();
    assert.deepEqual(log, ['open 0', 'flush', 'close 0']);
    await assert.rejects(openBlockDevice(k, l, '/dev/null', O_RDONLY), { code: 'ENOTBLK' });
    await assert.rejects(openBlockDevice(k, l, '/dev/none', O_RDONLY), { code: 'ENOENT' });
    await k.sys.mknod(l, '/dev/td9', S_IFBLK | 0o600, makedev(160, 9));
    await assert.rejects(openBlockDevice(k, l, '/dev/td9', O_RDONLY), { code: 'ENXIO' });
    await k.halt();
  });

  it('opens of one device share a unit and its buffers; the last close writes back and invalidates them', async () => {
    const { k, l } = await boot();
    const { drv, log, disks } = memDisks(1 << 20);
    k.vfs!.devsw.attachBlock(160, drv);
    await k.sys.mknod(l, '/dev/td0', S_IFBLK | 0o600, makedev(160, 0));
    const bc = k.vfs!.devsw.bufcache;
    const a = await openBlockDevice(k, l, '/dev/td0', O_RDWR);
    const b = await openBlockDevice(k, l, '/dev/td0', O_RDONLY);
    const bp = await bc.bread(a, 8, 4096);
    bp.data.fill(0x5a);
    bc.bdwrite(bp);
    const seen = await bc.bread(b, 8, 4096);
    assert.equal(seen.data[0], 0x5a, 'the other open sees the cached block');
    bc.brelse(seen);
    await a.close();
    assert.equal(disks.get(0)![4096], 0, 'not written while the device is still open');
    assert.ok(bc.cached(b) > 0);
    await b.close();
    assert.equal(disks.get(0)![4096], 0x5a, 'written back at the last close');
    assert.equal(bc.cached(b), 0);
    assert.deepEqual(log.filter((x) => x.startsWith('open') || x.startsWith('close')), ['open 0', 'close 0']);
    await assert.rejects(a.read(new Uint8Array(512), 0), { code: 'EBADF' });
    await k.halt();
  });

  it('an exclusive open (a mount) makes a second exclusive open fail with EBUSY', async () => {
    const { k, l } = await boot();
    const { drv } = memDisks(1 << 20);
    k.vfs!.devsw.attachBlock(160, drv);
    await k.sys.mknod(l, '/dev/td0', S_IFBLK | 0o600, makedev(160, 0));
    const a = await openBlockDevice(k, l, '/dev/td0', O_RDWR | O_EXCL);
    await assert.rejects(openBlockDevice(k, l, '/dev/td0', O_RDONLY | O_EXCL), { code: 'EBUSY' });
    const shared = await openBlockDevice(k, l, '/dev/td0', O_RDONLY);
    await shared.close();
    await a.close();
    const again = await openBlockDevice(k, l, '/dev/td0', O_RDWR | O_EXCL);
    await again.close();
    await k.halt();
  });

  it('a read-only open cannot write, and a non-root user needs permission on the node', async () => {
    const { k, l } = await boot();
    const { drv } = memDisks(1 << 20);
    k.vfs!.devsw.attachBlock(160, drv);
    await k.sys.mknod(l, '/dev/td0', S_IFBLK | 0o640, makedev(160, 0));
    const ro = await openBlockDevice(k, l, '/dev/td0', O_RDONLY);
    assert.equal(ro.readonly, true);
    await assert.rejects(ro.write(new Uint8Array(512), 0), { code: 'EBADF' });
    await ro.close();
    const u = k.newProc({ uid: 1000, gid: 1000 });
    await assert.rejects(openBlockDevice(k, u, '/dev/td0', O_RDONLY), { code: 'EACCES' });
    await k.halt();
  });

  it('a block device file reads and writes at any offset through the buffer cache, and stat says S_IFBLK', async () => {
    const { k, l } = await boot();
    const { drv, disks } = memDisks(64 * 1024);
    k.vfs!.devsw.attachBlock(160, drv);
    await k.sys.mknod(l, '/dev/td1', S_IFBLK | 0o600, makedev(160, 1));
    assert.equal((await k.sys.stat(l, '/dev/td1')).mode & S_IFMT, S_IFBLK);
    const fd = await k.sys.open(l, '/dev/td1', O_RDWR, 0);
    assert.equal((await k.sys.fstat(l, fd)).mode & S_IFMT, S_IFBLK);
    const msg = new TextEncoder().encode('hello, block device');
    assert.equal(await k.sys.pwrite(l, fd, msg, 4090), msg.length); // crosses a 4 KiB block
    const back = new Uint8Array(msg.length);
    assert.equal(await k.sys.pread(l, fd, back, 4090), msg.length);
    assert.deepEqual(back, msg);
    assert.equal(await k.sys.lseek(l, fd, 0, SEEK_END), 64 * 1024);
    assert.equal(await k.sys.ioctl(l, fd, DIOCGMEDIASIZE, null), 64 * 1024);
    assert.equal(await k.sys.ioctl(l, fd, DIOCGSECTORSIZE, null), 512);
    // At the end: reads return 0, writes fail with ENOSPC, a write across the end is short.
    assert.equal(await k.sys.pread(l, fd, new Uint8Array(10), 64 * 1024), 0);
    await assert.rejects(k.sys.pwrite(l, fd, new Uint8Array(10), 64 * 1024), { code: 'ENOSPC' });
    assert.equal(await k.sys.pwrite(l, fd, new Uint8Array(10).fill(1), 64 * 1024 - 4), 4);
    await k.sys.close(l, fd);
    const disk = disks.get(1)!;
    assert.deepEqual(disk.subarray(4090, 4090 + msg.length), msg, 'written back at close');
    assert.deepEqual([...disk.subarray(64 * 1024 - 4)], [1, 1, 1, 1]);
    await k.halt();
  });

  it('a raw disk (the character side) does unbuffered I/O in whole sectors only', async () => {
    const { k, l } = await boot();
    const { drv, disks, log } = memDisks(64 * 1024);
    k.vfs!.devsw.attachDisk(161, 162, drv);
    await k.sys.mknod(l, '/dev/rtd2', S_IFCHR | 0o600, makedev(162, 2));
    const fd = await k.sys.open(l, '/dev/rtd2', O_RDWR, 0);
    assert.equal(await k.sys.pwrite(l, fd, new Uint8Array(1024).fill(7), 512), 1024);
    assert.equal(disks.get(2)![512], 7, 'written at once');
    assert.ok(log.includes('write 512 1024'));
    await assert.rejects(k.sys.pread(l, fd, new Uint8Array(100), 0), { code: 'EINVAL' });
    await assert.rejects(k.sys.pread(l, fd, new Uint8Array(512), 100), { code: 'EINVAL' });
    const b = new Uint8Array(512);
    assert.equal(await k.sys.pread(l, fd, b, 1024), 512);
    assert.equal(b[0], 7);
    await k.sys.close(l, fd);
    await k.halt();
  });
});

describe('memory disks (md)', () => {
  async function bootMd() {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs, md] });
    return { k, l: k.initLwp };
  }

  it('mdCreate makes /dev/mdN and /dev/rmdN over a disk that starts with the given contents', async () => {
    const { k, l } = await bootMd();
    const contents = new Uint8Array(4096).map((_, i) => i & 0xff);
    const { unit, path, rawPath } = await mdCreate(k, { size: 1 << 20, contents });
    assert.equal(unit, 0);
    assert.equal(path, '/dev/md0');
    assert.equal((await k.sys.stat(l, path)).rdev, makedev(17, 0));
    assert.equal((await k.sys.stat(l, rawPath)).rdev, makedev(24, 0));
    const dev = await openBlockDevice(k, l, path, O_RDWR);
    assert.equal(dev.size, 1 << 20);
    const b = new Uint8Array(512);
    await dev.read(b, 512);
    assert.deepEqual(b, contents.subarray(512, 1024));
    await dev.read(b, 900 * 1024);
    assert.ok(b.every((x) => x === 0), 'never-written parts read as zeros');
    await dev.close();
    assert.equal((await mdCreate(k, { size: 512 })).unit, 1);
    await k.halt();
  });

  it('md storage is charged to kernel memory as it is written and given back by mdDestroy', async () => {
    const { k, l } = await bootMd();
    const { unit, path } = await mdCreate(k, { size: 16 << 20 });
    const before = k.kmem.used;
    const dev = await openBlockDevice(k, l, path, O_RDWR);
    await dev.write(new Uint8Array(512).fill(1), 8 << 20);
    assert.ok(k.kmem.used >= before + 4096, "the written page is charged");
    await assert.rejects(mdDestroy(k, unit), { code: 'EBUSY' });
    await dev.close();
    await mdDestroy(k, unit);
    assert.ok(k.kmem.used < before, `kmem ${k.kmem.used} vs ${before}`);
    await assert.rejects(k.sys.stat(l, path), { code: 'ENOENT' });
    await assert.rejects(mdDestroy(k, unit), { code: 'ENXIO' });
    await k.halt();
  });

  it('a memory disk larger than kernel memory fails writes with ENOMEM, not the host', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs, md], memlimit: 4 << 20 });
    const { path } = await mdCreate(k, { size: 64 << 20 });
    const dev = await openBlockDevice(k, k.initLwp, path, O_RDWR);
    const chunk = new Uint8Array(1 << 20);
    await assert.rejects(async () => { for (let off = 0; off < 64 << 20; off += chunk.length) await dev.write(chunk, off); }, { code: 'ENOMEM' });
    await dev.close();
    await k.halt();
  });

  it('a read-only memory disk refuses writers with EROFS', async () => {
    const { k, l } = await bootMd();
    const { path } = await mdCreate(k, { size: 1 << 16, readonly: true });
    await assert.rejects(openBlockDevice(k, l, path, O_RDWR), { code: 'EROFS' });
    await (await openBlockDevice(k, l, path, O_RDONLY)).close();
    await k.halt();
  });

  it('without the md component, mdCreate fails with ENXIO', async () => {
    const { k } = await boot();
    await assert.rejects(mdCreate(k, { size: 1 << 16 }), { code: 'ENXIO' });
    await k.halt();
  });
});
