/**
 * Directory reading (ufs_lookup, ufs_readdir): lookup by a linear scan, or through a name hash
 * built by the first lookup in a large directory (NetBSD's dirhash), and readdir with cookies
 * that are byte offsets in the directory.
 *
 * A directory is read a file system block at a time (its last block may be a few fragments),
 * each block parsed in place in the buffer cache as DIRBLKSIZ chunks (dir.ts), up to the
 * directory's size. A readdir cookie is the offset of the next entry to return; one that does not
 * fall on an entry (lseek to an arbitrary offset) resumes at the first entry at or after it in its
 * block. Holes in a directory are skipped a map run at a time. A corrupt entry is EIO naming the
 * inode and offset.
 */

import { KernelError } from '../../kern/errno.js';
import { DT_WHT } from '../../kern/types.js';
import type { ReaddirEntry, ReaddirResult } from '../../vfs/vnode.js';
import type { MapRun } from './bmap.js';
import { asIoError } from './codec.js';
import { DIRBLKSIZ, findDirEntry, forEachDirEntry, UFS_MAXNAMLEN, type DirContext } from './dir.js';
import type { Ffs } from './ffs.js';
import type { Inode } from './dinode.js';

/** The inode number of whiteout entries. */
export const UFS_WINO = 1;

const utf8dec = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

/** What directory reading needs from a directory vnode. */
export interface DirNode {
  readonly fs: Ffs;
  readonly ino: number;
  readonly inode: Inode;
  /** The block map run at `lblk` (cached by the vnode). */
  mapRun(lblk: number, want: number): Promise<MapRun>;
  /**
   * dirhash: every name of the directory (its bytes as a latin1 string) -> inode number, built by
   * the first lookup in a directory of more than DIRHASH_MIN bytes (and at most DIRHASH_MAX);
   * valid while the directory does not change, which on a read-only mount is for ever.
   */
  dirhash: Map<string, number> | null;
}

/** Directories from this size up get a name hash on first lookup (NetBSD's ufs_dirhashminblks: 5 blocks of 512 bytes). */
export const DIRHASH_MIN = 5 * DIRBLKSIZ;
/** Larger directories are scanned: a hash would hold too much memory. */
export const DIRHASH_MAX = 4 << 20;

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Bytes of the directory that hold entries: its size rounded down to whole DIRBLKSIZ chunks. */
function dirBytes(d: DirNode): number {
  return d.inode.size - (d.inode.size % DIRBLKSIZ);
}

function context(d: DirNode, base: number): DirContext {
  const g = d.fs.geo;
  return { le: g.le, oldFormat: g.oldFormat, maxino: g.maxino, what: `directory inode ${d.ino}`, base };
}

/**
 * Call `fn` on every block from logical block `from` on, in place, in order, until it returns
 * true. `b` is the part of the block inside the directory's size. Holes are skipped a run at a
 * time (a hostile size over holes costs one map lookup per run, not one per block).
 */
async function forEachDirBlock(d: DirNode, from: number, fn: (lblk: number, b: Uint8Array) => boolean): Promise<void> {
  const fs = d.fs;
  const bs = fs.bsize;
  const size = dirBytes(d);
  const nblocks = Math.ceil(size / bs);
  let lblk = from;
  while (lblk < nblocks) {
    const run = await d.mapRun(lblk, nblocks - lblk);
    if (run.pblk === 0) {
      lblk += run.count;
      continue;
    }
    for (let i = 0; i < run.count && lblk < nblocks; i++, lblk++) {
      const at = lblk;
      const len = Math.min(bs, size - at * bs);
      const alloc = fs.blksize(d.inode.size, at);
      const stop = await fs.withFrags(run.pblk + i * fs.frag, alloc, `directory inode ${d.ino} block ${at}`, (b) => {
        try {
          return fn(at, b.subarray(0, len));
        } catch (e) {
          throw asIoError(e, fs.from);
        }
      });
      if (stop) return;
    }
  }
}

/** The inode number `name` names in directory `d`, or null. */
export async function dirLookup(d: DirNode, name: string): Promise<number | null> {
  const nb = utf8enc.encode(name);
  if (nb.length === 0 || nb.length > UFS_MAXNAMLEN) return null;
  const size = dirBytes(d);
  if (d.dirhash === null && size >= DIRHASH_MIN && size <= DIRHASH_MAX) {
    const h = new Map<string, number>();
    await forEachDirBlock(d, 0, (lblk, b) => forEachDirEntry(b, context(d, lblk * d.fs.bsize), (offset, ino, _reclen, _type, namlen) => {
      const key = latin1(b.subarray(offset + 8, offset + 8 + namlen));
      if (ino !== 0 && !h.has(key)) h.set(key, ino);
      return false;
    }));
    d.dirhash = h;
  }
  if (d.dirhash !== null) {
    const ino = d.dirhash.get(latin1(nb));
    return ino === undefined || ino === UFS_WINO ? null : ino;
  }
  let found: number | null = null;
  await forEachDirBlock(d, 0, (lblk, b) => (found = findDirEntry(b, context(d, lblk * d.fs.bsize), nb)) !== null);
  // a whiteout (d_ino UFS_WINO) hides a name: not there
  return found === UFS_WINO ? null : found;
}

/** VOP_READDIR over directory `d`: entries from byte offset `cookie`, at most `count`. */
export async function dirReaddir(d: DirNode, cookie: number, count: number): Promise<ReaddirResult> {
  const bs = d.fs.bsize;
  const size = dirBytes(d);
  const out: ReaddirEntry[] = [];
  if (!Number.isSafeInteger(cookie) || cookie < 0) throw new KernelError('EINVAL', `directory offset ${cookie} is not valid`);
  let pos = cookie;
  if (pos < size) {
    await forEachDirBlock(d, Math.floor(pos / bs), (lblk, b) => {
      const base = lblk * bs;
      pos = Math.max(pos, base);
      let next = base + b.length;
      forEachDirEntry(b, context(d, base), (offset, ino, reclen, type, namlen) => {
        if (base + offset < pos) return false;
        if (out.length >= count) {
          next = base + offset;
          return true;
        }
        if (ino !== 0 && !(ino === UFS_WINO && type === DT_WHT)) {
          out.push({ name: utf8dec.decode(b.subarray(offset + 8, offset + 8 + namlen)), fileid: ino, type, cookie: base + offset + reclen });
        }
        return false;
      });
      pos = next;
      return out.length >= count;
    });
  }
  if (out.length < count) pos = Math.max(pos, size);
  return { entries: out, eof: pos >= size };
}
