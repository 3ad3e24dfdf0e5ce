/**
 * read/write/pread/pwrite/readv/writev/preadv/pwritev and lseek: data lands where the offset
 * says, holes read as zeros, offsets move (or not) as each call specifies.
 *
 * NetBSD: lseek to a negative offset and pread/pwrite at a negative offset fail with EINVAL
 * (genfs_seek rejects a negative new offset; sys_pread/sys_pwrite call VOP_SEEK first, see
 * sys/kern/vfs_syscalls.c); an unknown whence is EINVAL (sys_lseek). read(2) on a directory is
 * EISDIR (tmpfs_read, ufs_read).
 */

import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, SEEK_CUR, SEEK_END, SEEK_SET } from '../../src/kern/types.js';
import { type Backend, test, rejects, enc, dec, pattern } from './harness.js';

export function ioTests(b: Backend): void {
  describe('read and write', () => {
    test(b, 'data written is read back and the offset advances by the byte counts', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      assert.equal(await c.sys.write(c.l, fd, enc('hello ')), 6);
      assert.equal(await c.sys.write(c.l, fd, enc('world')), 5);
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 11);
      await c.rewind(fd);
      const buf = new Uint8Array(5);
      assert.equal(await c.sys.read(c.l, fd, buf), 5);
      assert.equal(dec(buf), 'hello');
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 5);
      assert.equal(dec(await c.readAll(fd)), ' world');
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 11);
    });

    test(b, 'read at end of file returns 0 and a short read returns what is left', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      const buf = new Uint8Array(10);
      assert.equal(await c.sys.read(c.l, fd, buf), 3);
      assert.equal(await c.sys.read(c.l, fd, buf), 0);
      assert.equal(await c.sys.pread(c.l, fd, buf, 100), 0, 'pread past the end');
      await c.sys.close(c.l, fd);
    });

    test(b, 'a zero-length write returns 0 and changes nothing', async (c) => {
      await c.mkfile(c.p('f'), 'abc');
      const fd = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      assert.equal(await c.sys.write(c.l, fd, new Uint8Array(0)), 0);
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 0);
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('f'))).size, 3);
    });

    test(b, 'overwriting inside a file keeps its size and the surrounding bytes', async (c) => {
      await c.mkfile(c.p('f'), 'abcdefgh');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.lseek(c.l, fd, 2, SEEK_SET);
      await c.sys.write(c.l, fd, enc('XY'));
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'abXYefgh');
      assert.equal((await c.stat(c.p('f'))).size, 8);
    });

    test(b, 'a 1 MiB file written in odd-sized pieces reads back byte for byte', async (c) => {
      const data = pattern(1 << 20, 7);
      const fd = await c.sys.open(c.l, c.p('big'), O_CREAT | O_RDWR, 0o644);
      let off = 0;
      const sizes = [1, 511, 513, 4095, 4097, 65536, 100003];
      for (let i = 0; off < data.length; i++) {
        const n = Math.min(sizes[i % sizes.length]!, data.length - off);
        assert.equal(await c.sys.write(c.l, fd, data.subarray(off, off + n)), n);
        off += n;
      }
      await c.sys.close(c.l, fd);
      assert.equal((await c.stat(c.p('big'))).size, data.length);
      const back = await c.readFile(c.p('big'));
      assert.equal(back.length, data.length);
      assert.ok(Buffer.compare(back, data) === 0, 'contents differ');
    });

    test(b, 'pread and pwrite use their offset and leave the file offset alone', async (c) => {
      await c.mkfile(c.p('f'), '0123456789');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.lseek(c.l, fd, 3, SEEK_SET);
      assert.equal(dec(await c.pread(fd, 4, 5)), '5678');
      assert.equal(await c.sys.pwrite(c.l, fd, enc('ab'), 0), 2);
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 3);
      assert.equal(dec(await c.readAll(fd)), '3456789');
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'ab23456789');
    });

    test(b, 'pwrite beyond the end leaves a hole that reads as zeros', async (c) => {
      await c.mkfile(c.p('f'), 'ab');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await c.sys.pwrite(c.l, fd, enc('Z'), 100000);
      await c.sys.close(c.l, fd);
      const data = await c.readFile(c.p('f'));
      assert.equal(data.length, 100001);
      assert.equal(dec(data.subarray(0, 2)), 'ab');
      assert.ok(data.subarray(2, 100000).every((x) => x === 0), 'hole is not zero');
      assert.equal(data[100000], 'Z'.charCodeAt(0));
    });

    test(b, 'seeking past the end and writing leaves a hole that reads as zeros', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      assert.equal(await c.sys.lseek(c.l, fd, 1 << 20, SEEK_SET), 1 << 20);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 0, 'seeking alone does not extend');
      await c.sys.write(c.l, fd, enc('end'));
      assert.equal((await c.sys.fstat(c.l, fd)).size, (1 << 20) + 3);
      const mid = await c.pread(fd, 8192, 500000);
      assert.equal(mid.length, 8192);
      assert.ok(mid.every((x) => x === 0));
      await c.sys.close(c.l, fd);
    });

    test(b, 'a file with data beyond 4 GiB reads back, with the hole as zeros', { needs: ['largeFiles'] }, async (c) => {
      const off = 2 ** 32 + 4093;
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      assert.equal(await c.sys.pwrite(c.l, fd, enc('far'), off), 3);
      assert.equal((await c.sys.fstat(c.l, fd)).size, off + 3);
      assert.equal(dec(await c.pread(fd, 10, off)), 'far');
      assert.ok((await c.pread(fd, 4096, 2 ** 31)).every((x) => x === 0));
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_END), off + 3);
      await c.sys.ftruncate(c.l, fd, 2 ** 32);
      assert.equal((await c.sys.fstat(c.l, fd)).size, 2 ** 32);
      await c.sys.close(c.l, fd);
    });

    test(b, 'readv and writev scatter and gather across buffers', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      assert.equal(await c.sys.writev(c.l, fd, [enc('ab'), new Uint8Array(0), enc('cde'), enc('f')]), 6);
      await c.rewind(fd);
      const a = new Uint8Array(1), bb = new Uint8Array(3), cc = new Uint8Array(10);
      assert.equal(await c.sys.readv(c.l, fd, [a, bb, cc]), 6);
      assert.equal(dec(a) + dec(bb) + dec(cc.subarray(0, 2)), 'abcdef');
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 6);
      await c.sys.close(c.l, fd);
    });

    test(b, 'preadv and pwritev use their offset and leave the file offset alone', async (c) => {
      await c.mkfile(c.p('f'), '..........');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      assert.equal(await c.sys.pwritev(c.l, fd, [enc('12'), enc('34')], 3), 4);
      const x = new Uint8Array(2), y = new Uint8Array(3);
      assert.equal(await c.sys.preadv(c.l, fd, [x, y], 2), 5);
      assert.equal(dec(x) + dec(y), '.1234');
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 0);
      await c.sys.close(c.l, fd);
    });

    test(b, 'lseek with SEEK_SET, SEEK_CUR and SEEK_END returns the new offset', async (c) => {
      await c.mkfile(c.p('f'), '0123456789');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      assert.equal(await c.sys.lseek(c.l, fd, 4, SEEK_SET), 4);
      assert.equal(await c.sys.lseek(c.l, fd, 3, SEEK_CUR), 7);
      assert.equal(await c.sys.lseek(c.l, fd, -2, SEEK_CUR), 5);
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_END), 10);
      assert.equal(await c.sys.lseek(c.l, fd, -3, SEEK_END), 7);
      assert.equal(dec(await c.readAll(fd)), '789');
      assert.equal(await c.sys.lseek(c.l, fd, 20, SEEK_END), 30);
      await c.sys.close(c.l, fd);
    });

    test(b, 'lseek to a negative offset fails with EINVAL and keeps the offset', async (c) => {
      await c.mkfile(c.p('f'), '0123456789');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.lseek(c.l, fd, 4, SEEK_SET);
      await rejects(c.sys.lseek(c.l, fd, -1, SEEK_SET), 'EINVAL', 'SEEK_SET -1');
      await rejects(c.sys.lseek(c.l, fd, -5, SEEK_CUR), 'EINVAL', 'SEEK_CUR -5');
      await rejects(c.sys.lseek(c.l, fd, -11, SEEK_END), 'EINVAL', 'SEEK_END -11');
      assert.equal(await c.sys.lseek(c.l, fd, 0, SEEK_CUR), 4);
      await c.sys.close(c.l, fd);
    });

    test(b, 'lseek with an unknown whence fails with EINVAL', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await rejects(c.sys.lseek(c.l, fd, 0, 17), 'EINVAL');
      await c.sys.close(c.l, fd);
    });

    test(b, 'pread and pwrite at a negative offset fail with EINVAL', async (c) => {
      await c.mkfile(c.p('f'), 'x');
      const fd = await c.sys.open(c.l, c.p('f'), O_RDWR, 0);
      await rejects(c.sys.pread(c.l, fd, new Uint8Array(1), -1), 'EINVAL', 'pread');
      await rejects(c.sys.pwrite(c.l, fd, enc('y'), -1), 'EINVAL', 'pwrite');
      await c.sys.close(c.l, fd);
      assert.equal(await c.readText(c.p('f')), 'x');
    });

    test(b, 'I/O on a descriptor that is not open fails with EBADF', async (c) => {
      await rejects(c.sys.read(c.l, 99, new Uint8Array(1)), 'EBADF', 'read');
      await rejects(c.sys.write(c.l, 99, enc('x')), 'EBADF', 'write');
      await rejects(c.sys.lseek(c.l, 99, 0, SEEK_SET), 'EBADF', 'lseek');
      await rejects(c.sys.fstat(c.l, 99), 'EBADF', 'fstat');
      await rejects(c.sys.read(c.l, -1, new Uint8Array(1)), 'EBADF', 'read fd -1');
    });

    test(b, 'read on a directory descriptor fails with EISDIR', async (c) => {
      await c.sys.mkdir(c.l, c.p('d'), 0o755);
      const fd = await c.sys.open(c.l, c.p('d'), O_RDONLY, 0);
      await rejects(c.sys.read(c.l, fd, new Uint8Array(16)), 'EISDIR');
      await c.sys.close(c.l, fd);
    });

    test(b, 'two descriptors of one file see each other\'s writes but keep their own offsets', async (c) => {
      await c.mkfile(c.p('f'), '');
      const w = await c.sys.open(c.l, c.p('f'), O_WRONLY, 0);
      const r = await c.sys.open(c.l, c.p('f'), O_RDONLY, 0);
      await c.sys.write(c.l, w, enc('first'));
      const buf = new Uint8Array(3);
      assert.equal(await c.sys.read(c.l, r, buf), 3);
      assert.equal(dec(buf), 'fir');
      await c.sys.write(c.l, w, enc('+more'));
      assert.equal(dec(await c.readAll(r)), 'st+more');
      assert.equal(await c.sys.lseek(c.l, w, 0, SEEK_CUR), 10);
      await c.sys.close(c.l, w);
      await c.sys.close(c.l, r);
    });

    test(b, 'fsync and fdatasync succeed on a written file and the data stays', async (c) => {
      const fd = await c.sys.open(c.l, c.p('f'), O_CREAT | O_RDWR, 0o644);
      await c.sys.write(c.l, fd, enc('durable'));
      await c.sys.fsync(c.l, fd);
      await c.sys.fdatasync(c.l, fd);
      await c.sys.close(c.l, fd);
      await c.sys.sync(c.l);
      assert.equal(await c.readText(c.p('f')), 'durable');
    });
  });
}
