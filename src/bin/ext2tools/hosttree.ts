/**
 * The host directory tree makefs reads, as a SourceTree over node:fs. Paths are Buffers so that
 * names that are not UTF-8 survive byte for byte. Synchronous calls: makefs visits every object
 * exactly once in order, and a thread-pool hop per lstat would cost more than the call.
 */

import * as fs from 'node:fs';
import type { SourceFile, SourceStat, SourceTree } from '../../fs/ext2fs/tools/makefs.js';

const SLASH = Buffer.from('/');

function time(ns: bigint): { sec: number; nsec: number } {
  const sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  let s = sec;
  if (nsec < 0n) { nsec += 1_000_000_000n; s -= 1n; }
  return { sec: Number(s), nsec: Number(nsec) };
}

/** major()/minor() of Linux's dev_t encoding (glibc's gnu_dev_major/minor). */
function major(d: bigint): number { return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)); }
function minor(d: bigint): number { return Number((d & 0xffn) | ((d >> 12n) & ~0xffn)); }

export function hostTree(root: string): SourceTree<Buffer> {
  return {
    root: Buffer.from(root),
    join: (dir, name) => Buffer.concat([dir, SLASH, name]),
    lstat: async (p): Promise<SourceStat> => {
      const st = fs.lstatSync(p, { bigint: true });
      const out: SourceStat = {
        mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), nlink: Number(st.nlink),
        dev: st.dev, ino: st.ino, rdevMajor: major(st.rdev), rdevMinor: minor(st.rdev),
        atime: time(st.atimeNs), mtime: time(st.mtimeNs), ctime: time(st.ctimeNs),
        allocated: Number(st.blocks) * 512,
      };
      if (st.birthtimeNs > 0n) out.birthtime = time(st.birthtimeNs);
      return out;
    },
    readdir: async (p) => fs.readdirSync(p, { encoding: 'buffer' }),
    readlink: async (p) => fs.readlinkSync(p, { encoding: 'buffer' }),
    open: async (p): Promise<SourceFile> => {
      const fd = fs.openSync(p, 'r');
      return {
        read: async (buf, pos) => fs.readSync(fd, buf, 0, buf.length, pos),
        close: async () => { fs.closeSync(fd); },
      };
    },
    display: (p) => p.toString(),
  };
}
