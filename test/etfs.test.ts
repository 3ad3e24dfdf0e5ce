/**
 * etfs: host files mapped into the kernel namespace as block devices, raw disks and regular
 * files, with windows, read-only host files and removal; over the memory host and the Node host.
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel } from '../src/kern/kernel.js';
import { KernelError } from '../src/kern/errno.js';
import { O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_END, S_IFBLK, S_IFCHR, S_IFMT, S_IFREG, major } from '../src/kern/types.js';
import { HostError, type HostFile, type RumpUser } from '../src/rumpuser/rumpuser.js';
import { MemoryHost, memoryHost } from '../src/rumpuser/memory/index.js';
import { nodeHost } from '../src/rumpuser/node/index.js';
import { vfs } from '../src/vfs/index.js';
import { openBlockDevice } from '../src/vfs/blockdev.js';
import { etfsList, etfsRegister, etfsRemove } from '../src/vfs/etfs.js';
import { RUMPBLK_MAJOR } from '../src/vfs/rumpblk.js';
import { DIOCGMEDIASIZE } from '../src/vfs/spec.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** An image whose byte i is (i * 13 + (i >> 12)) & 0xff. */
function image(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + (i >> 12)) & 0xff;
  return b;
}

async function boot(host: RumpUser = memoryHost({ files: { '/disk.img': image(256 * 1024), '/notes.txt': enc('host notes\n') } })) {
  const k = await Kernel.boot({ host, components: [vfs] });
  return { k, l: k.initLwp, host };
}

/** A memory host on which some paths cannot be opened for writing (as a 0444 file for a user). */
class ReadOnlyPathsHost extends MemoryHost {
  constructor(readonly ro: Set<string>, files: Record<string, Uint8Array>) {
    super({ files });
  }

  override async open(path: string, flags: number): Promise<HostFile> {
    if (this.ro.has(path) && (flags & 3) !== 0) throw new HostError('EACCES', `${path}: permission denied`);
    return super.open(path, flags);
  }
}

async function readAll(k: Kernel, path: string): Promise<Uint8Array> {
  const l = k.initLwp;
  const fd = await k.sys.open(l, path, O_RDONLY, 0);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const b = new Uint8Array(4096);
    const n = await k.sys.read(l, fd, b);
    if (n === 0) break;
    chunks.push(b.subarray(0, n));
  }
  await k.sys.close(l, fd);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

describe('etfs block devices', () => {
  it('a blk key is a block device node, found by lookup but absent from directory listings', async () => {
    const { k, l } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    const st = await k.sys.stat(l, '/dev/harddisk');
    assert.equal(st.mode & S_IFMT, S_IFBLK);
    assert.equal(major(st.rdev), RUMPBLK_MAJOR);
    const fd = await k.sys.open(l, '/dev', O_RDONLY, 0);
    const names = (await k.sys.getdents(l, fd, 100)).map((d) => d.name);
    assert.ok(!names.includes('harddisk'), `listing: ${names.join(' ')}`);
    assert.ok(names.includes('null'));
    await k.halt();
  });

  it('keys in directories that do not exist make hidden directories on the way', async () => {
    const { k, l } = await boot();
    await etfsRegister(k, '/images/a/disk', '/disk.img', 'blk');
    assert.equal((await k.sys.stat(l, '/images/a/disk')).mode & S_IFMT, S_IFBLK);
    const fd = await k.sys.open(l, '/', O_RDONLY, 0);
    assert.ok(!(await k.sys.getdents(l, fd, 100)).some((d) => d.name === 'images'));
    await k.halt();
  });

  it('reads through the device file return the image, at any offset', async () => {
    const { k } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    const all = await readAll(k, '/dev/harddisk');
    assert.deepEqual(all, image(256 * 1024));
    const l = k.initLwp;
    const fd = await k.sys.open(l, '/dev/harddisk', O_RDONLY, 0);
    const b = new Uint8Array(100);
    assert.equal(await k.sys.pread(l, fd, b, 70_001), 100);
    assert.deepEqual(b, image(256 * 1024).subarray(70_001, 70_101));
    assert.equal(await k.sys.ioctl(l, fd, DIOCGMEDIASIZE, null), 256 * 1024);
    await k.halt();
  });

  it('writes through the device file reach the host file by the last close', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    const fd = await k.sys.open(l, '/dev/harddisk', O_RDWR, 0);
    await k.sys.pwrite(l, fd, enc('written by the kernel'), 1000);
    await k.sys.close(l, fd);
    const img = (host as MemoryHost).getFile('/disk.img');
    assert.equal(dec(img.subarray(1000, 1021)), 'written by the kernel');
    assert.equal(img[999], image(1000)[999], 'neighbouring bytes are untouched');
    await k.halt();
  });

  it('a file system opens the key with openBlockDevice and uses the buffer cache over it', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    const dev = await openBlockDevice(k, l, '/dev/harddisk', O_RDWR);
    assert.equal(dev.size, 256 * 1024);
    const bc = k.vfs!.devsw.bufcache;
    const bp = await bc.bread(dev, 16, 4096); // byte 8192
    assert.deepEqual(bp.data, image(256 * 1024).subarray(8192, 12288));
    bp.data.fill(0xcd);
    bc.bdwrite(bp);
    await bc.bflush(dev);
    assert.equal((host as MemoryHost).getFile('/disk.img')[8192], 0xcd);
    await dev.close();
    await k.halt();
  });

  it('a window (offset and size) is a device of that size starting at that offset', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/dev/part', '/disk.img', 'blk', { offset: 65536, size: 32768 });
    const dev = await openBlockDevice(k, l, '/dev/part', O_RDWR);
    assert.equal(dev.size, 32768);
    const b = new Uint8Array(512);
    await dev.read(b, 0);
    assert.deepEqual(b, image(256 * 1024).subarray(65536, 66048));
    assert.equal(await dev.read(new Uint8Array(512), 32768), 0, 'nothing past the window');
    await assert.rejects(dev.write(new Uint8Array(512), 32768), { code: 'ENOSPC' });
    await dev.write(new Uint8Array(512).fill(0xee), 32768 - 512);
    await dev.close();
    const img = (host as MemoryHost).getFile('/disk.img');
    assert.equal(img[65536 + 32768 - 1], 0xee);
    assert.equal(img[65536 + 32768], image(256 * 1024)[65536 + 32768], 'nothing written past the window');
    const fd = await k.sys.open(l, '/dev/part', O_RDONLY, 0);
    assert.equal(await k.sys.lseek(l, fd, 0, SEEK_END), 32768);
    await k.halt();
  });

  it('a chr key is the raw disk: unbuffered I/O in whole sectors', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/dev/rharddisk', '/disk.img', 'chr');
    assert.equal((await k.sys.stat(l, '/dev/rharddisk')).mode & S_IFMT, S_IFCHR);
    const fd = await k.sys.open(l, '/dev/rharddisk', O_RDWR, 0);
    await k.sys.pwrite(l, fd, new Uint8Array(512).fill(0x11), 4096);
    assert.equal((host as MemoryHost).getFile('/disk.img')[4096], 0x11, 'written before close');
    await assert.rejects(k.sys.pread(l, fd, new Uint8Array(10), 0), { code: 'EINVAL' });
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('a host file that cannot be opened for writing registers read-only: EROFS for writers', async () => {
    const host = new ReadOnlyPathsHost(new Set(['/ro.img']), { '/ro.img': image(64 * 1024) });
    const { k, l } = await boot(host);
    await etfsRegister(k, '/dev/ro', '/ro.img', 'blk');
    assert.equal(etfsList(k)[0]!.readonly, true);
    await assert.rejects(openBlockDevice(k, l, '/dev/ro', O_RDWR), { code: 'EROFS' });
    await assert.rejects(k.sys.open(l, '/dev/ro', O_RDWR, 0), { code: 'EROFS' });
    const dev = await openBlockDevice(k, l, '/dev/ro', O_RDONLY);
    const b = new Uint8Array(512);
    await dev.read(b, 512);
    assert.deepEqual(b, image(1024).subarray(512));
    await dev.close();
    assert.equal((await k.sys.stat(l, '/dev/ro')).mode & 0o222, 0, 'no write bits on the node');
    await k.halt();
  });

  it('delayed writes reach the host file by themselves after vfs.bufcache.syncdelay', async () => {
    const host = memoryHost({ manualClock: true, files: { '/disk.img': image(64 * 1024) } });
    const { k, l } = await boot(host);
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    k.sysctl.set('vfs.bufcache.syncdelay', 5000, null);
    const fd = await k.sys.open(l, '/dev/harddisk', O_RDWR, 0);
    await k.sys.pwrite(l, fd, enc('lazy'), 0);
    await host.advance(1000);
    assert.notEqual(dec(host.getFile('/disk.img').subarray(0, 4)), 'lazy', 'not yet');
    await host.advance(5000);
    assert.equal(dec(host.getFile('/disk.img').subarray(0, 4)), 'lazy');
    assert.equal(k.sysctl.get('vfs.bufcache.dirty'), 0);
    await k.sys.close(l, fd);
    await k.halt();
  });

  it('removing a key closes the mapping; a mounted (open) device cannot be removed', async () => {
    const { k, l } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    const dev = await openBlockDevice(k, l, '/dev/harddisk', O_RDONLY);
    await assert.rejects(etfsRemove(k, '/dev/harddisk'), { code: 'EBUSY' });
    await dev.close();
    await etfsRemove(k, '/dev/harddisk');
    await assert.rejects(k.sys.stat(l, '/dev/harddisk'), { code: 'ENOENT' });
    assert.deepEqual(etfsList(k), []);
    await assert.rejects(etfsRemove(k, '/dev/harddisk'), { code: 'ENOENT' });
    // The key can be registered again.
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    await k.halt();
  });
});

describe('etfs registration errors', () => {
  it('a missing host file is ENOENT, with a message naming it', async () => {
    const { k } = await boot();
    await assert.rejects(etfsRegister(k, '/dev/x', '/no/such.img', 'blk'),
      (e: unknown) => e instanceof KernelError && e.code === 'ENOENT' && e.message.includes('/no/such.img'));
    await assert.rejects(etfsRegister(k, '/x', '/no/such.txt', 'reg'), { code: 'ENOENT' });
    assert.deepEqual(etfsList(k), []);
    await k.halt();
  });

  it('a key registered twice, or over an existing node, is EEXIST', async () => {
    const { k } = await boot();
    await etfsRegister(k, '/dev/harddisk', '/disk.img', 'blk');
    await assert.rejects(etfsRegister(k, '/dev/harddisk', '/notes.txt', 'reg'), { code: 'EEXIST' });
    await assert.rejects(etfsRegister(k, '//dev//harddisk/', '/disk.img', 'blk'), { code: 'EEXIST' });
    await assert.rejects(etfsRegister(k, '/dev/null', '/disk.img', 'blk'), { code: 'EEXIST' });
    assert.equal(etfsList(k).length, 1);
    await k.halt();
  });

  it('concurrent registrations of one key: exactly one wins', async () => {
    const { k } = await boot();
    const r = await Promise.allSettled([
      etfsRegister(k, '/dev/hd', '/disk.img', 'blk'),
      etfsRegister(k, '/dev/hd', '/disk.img', 'blk'),
    ]);
    assert.deepEqual(r.map((x) => x.status).sort(), ['fulfilled', 'rejected']);
    await k.halt();
  });

  it('bad keys, types and windows are EINVAL; host directories are not supported yet', async () => {
    const { k } = await boot();
    await assert.rejects(etfsRegister(k, 'dev/x', '/disk.img', 'blk'), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/', '/disk.img', 'blk'), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/a/../b', '/disk.img', 'blk'), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/x', '/disk.img', 'sock' as 'blk'), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/x', '/disk.img', 'blk', { offset: 300 * 1024 }), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/x', '/disk.img', 'blk', { offset: 1024, size: 256 * 1024 }), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/x', '/disk.img', 'blk', { size: -1 }), { code: 'EINVAL' });
    await assert.rejects(etfsRegister(k, '/x', '/', 'dir'), { code: 'EOPNOTSUPP' });
    await assert.rejects(etfsRegister(k, '/x', '/', 'reg'), { code: 'EISDIR' });
    assert.deepEqual(etfsList(k), []);
    await k.halt();
  });
});

describe('etfs regular files', () => {
  it('a reg key reads and writes the host file, and grows it when it has no fixed size', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/notes', '/notes.txt', 'reg');
    const st = await k.sys.stat(l, '/notes');
    assert.equal(st.mode & S_IFMT, S_IFREG);
    assert.equal(st.size, 11);
    assert.equal(dec(await readAll(k, '/notes')), 'host notes\n');
    const fd = await k.sys.open(l, '/notes', O_WRONLY, 0);
    await k.sys.pwrite(l, fd, enc('more from the kernel\n'), 11);
    await k.sys.close(l, fd);
    assert.equal(dec((host as MemoryHost).getFile('/notes.txt')), 'host notes\nmore from the kernel\n');
    assert.equal((await k.sys.stat(l, '/notes')).size, 32);
    const root = await k.sys.open(l, '/', O_RDONLY, 0);
    assert.ok(!(await k.sys.getdents(l, root, 100)).some((d) => d.name === 'notes'));
    await k.halt();
  });

  it('opening a reg key with O_TRUNC truncates the host file', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/notes', '/notes.txt', 'reg');
    const fd = await k.sys.open(l, '/notes', O_WRONLY | O_TRUNC, 0);
    await k.sys.write(l, fd, enc('new'));
    await k.sys.close(l, fd);
    assert.equal(dec((host as MemoryHost).getFile('/notes.txt')), 'new');
    await k.halt();
  });

  it('a windowed reg key shows only its window; writes past it fail with EFBIG after the part that fits', async () => {
    const { k, l, host } = await boot();
    await etfsRegister(k, '/win', '/disk.img', 'reg', { offset: 1000, size: 100 });
    assert.equal((await k.sys.stat(l, '/win')).size, 100);
    assert.deepEqual(await readAll(k, '/win'), image(1100).subarray(1000));
    const fd = await k.sys.open(l, '/win', O_RDWR, 0);
    assert.equal(await k.sys.pwrite(l, fd, new Uint8Array(30).fill(0xaa), 90), 10);
    await assert.rejects(k.sys.pwrite(l, fd, new Uint8Array(1), 100), { code: 'EFBIG' });
    await assert.rejects(k.sys.ftruncate(l, fd, 10), { code: 'EINVAL' });
    await k.sys.close(l, fd);
    const img = (host as MemoryHost).getFile('/disk.img');
    assert.equal(img[1099], 0xaa);
    assert.equal(img[1100], image(1101)[1100]);
    assert.equal((await k.sys.stat(l, '/win')).size, 100);
    await k.halt();
  });

  it('a read-only reg key refuses writes with EROFS', async () => {
    const host = new ReadOnlyPathsHost(new Set(['/ro.txt']), { '/ro.txt': enc('fixed') });
    const { k, l } = await boot(host);
    await etfsRegister(k, '/ro', '/ro.txt', 'reg');
    assert.equal(dec(await readAll(k, '/ro')), 'fixed');
    const u = k.newProc({ uid: 1000, gid: 1000 });
    await assert.rejects(k.sys.open(u, '/ro', O_WRONLY, 0), { code: 'EACCES' });
    const fd = await k.sys.open(l, '/ro', O_WRONLY, 0);
    await assert.rejects(k.sys.write(l, fd, enc('x')), { code: 'EROFS' });
    await k.halt();
  });

  it('an open file of a removed reg key fails with EBADF', async () => {
    const { k, l } = await boot();
    await etfsRegister(k, '/notes', '/notes.txt', 'reg');
    const fd = await k.sys.open(l, '/notes', O_RDONLY, 0);
    await etfsRemove(k, '/notes');
    await assert.rejects(k.sys.read(l, fd, new Uint8Array(4)), { code: 'EBADF' });
    await k.sys.close(l, fd);
    await assert.rejects(k.sys.open(l, '/notes', O_RDONLY, 0), { code: 'ENOENT' });
    await k.halt();
  });
});

describe('etfs on the Node host', () => {
  it('maps a real file as a block device and as a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etfs-'));
    try {
      const imgPath = join(dir, 'disk.img');
      writeFileSync(imgPath, image(128 * 1024));
      const txtPath = join(dir, 'hello.txt');
      writeFileSync(txtPath, 'hello from the host\n');
      const k = await Kernel.boot({ host: nodeHost(), components: [vfs] });
      const l = k.initLwp;
      await etfsRegister(k, '/dev/harddisk', imgPath, 'blk');
      await etfsRegister(k, '/hello', txtPath, 'reg');
      assert.deepEqual(await readAll(k, '/dev/harddisk'), image(128 * 1024));
      const fd = await k.sys.open(l, '/dev/harddisk', O_RDWR, 0);
      await k.sys.pwrite(l, fd, enc('via rumpblk'), 5000);
      await k.sys.close(l, fd);
      assert.equal(readFileSync(imgPath).subarray(5000, 5011).toString(), 'via rumpblk');
      assert.equal(dec(await readAll(k, '/hello')), 'hello from the host\n');
      const h = await k.sys.open(l, '/hello', O_WRONLY | O_TRUNC, 0);
      await k.sys.write(l, h, enc('replaced\n'));
      await k.sys.close(l, h);
      assert.equal(readFileSync(txtPath, 'utf8'), 'replaced\n');
      await assert.rejects(etfsRegister(k, '/nope', join(dir, 'missing'), 'reg'), { code: 'ENOENT' });
      await k.halt();
      assert.equal(readFileSync(imgPath).length, 128 * 1024, 'the image keeps its size');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('halt writes back what is still cached and closes the host files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etfs-'));
    try {
      const imgPath = join(dir, 'disk.img');
      writeFileSync(imgPath, new Uint8Array(64 * 1024));
      const k = await Kernel.boot({ host: nodeHost(), components: [vfs] });
      const l = k.initLwp;
      await etfsRegister(k, '/dev/harddisk', imgPath, 'blk');
      const fd = await k.sys.open(l, '/dev/harddisk', O_RDWR, 0);
      await k.sys.pwrite(l, fd, enc('kept at halt'), 0);
      await k.halt(); // the process exits, closing the device: its buffers are written back
      assert.equal(readFileSync(imgPath).subarray(0, 12).toString(), 'kept at halt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fsync and sync reach the host', () => {
  it('fsync of an etfs file and of a block device file sync the host file, and sync(2) flushes delayed device writes', async () => {
    const host = memoryHost({ files: { '/disk.img': image(64 * 1024), '/notes.txt': enc('0123456789') } });
    const syncs: string[] = [];
    const realOpen = host.open.bind(host);
    host.open = async (path, flags) => {
      const f = await realOpen(path, flags);
      const realSync = f.sync.bind(f);
      f.sync = async () => { syncs.push(path); await realSync(); };
      return f;
    };
    const { k, l } = await boot(host);
    await etfsRegister(k, '/notes', '/notes.txt', 'reg');
    await etfsRegister(k, '/dev/disk', '/disk.img', 'blk');
    const nf = await k.sys.open(l, '/notes', O_RDWR, 0);
    await k.sys.pwrite(l, nf, enc('AB'), 0);
    await k.sys.fsync(l, nf);
    assert.ok(syncs.includes('/notes.txt'), 'etfs file synced');
    const df = await k.sys.open(l, '/dev/disk', O_RDWR, 0);
    await k.sys.pwrite(l, df, enc('XYZ'), 4096);
    assert.notEqual(dec(host.getFile('/disk.img').subarray(4096, 4099)), 'XYZ', 'device write is delayed');
    await k.sys.sync(l);
    assert.equal(dec(host.getFile('/disk.img').subarray(4096, 4099)), 'XYZ', 'sync(2) wrote it back');
    await k.sys.pwrite(l, df, enc('QQ'), 8192);
    await k.sys.fsync(l, df);
    assert.equal(dec(host.getFile('/disk.img').subarray(8192, 8194)), 'QQ', 'fsync wrote it back');
    assert.ok(syncs.includes('/disk.img'), 'device flushed to the host');
    await k.halt();
  });
});
