/**
 * ffs vnodes (read-only): attributes from the on-disk inode, directory lookup and readdir
 * (lookup.ts), file reads through the block map (direct, single, double and triple indirect;
 * a small file's last block in fragments; holes as zeros), symbolic links (fast ones stored in
 * the inode's block pointers when shorter than fs_maxsymlinklen, slow ones in a data block), and
 * device nodes (the device number in di_db[0]) and fifos, which the VFS serves. Every change is
 * EROFS.
 *
 * A vnode keeps its parsed inode for its whole life: nothing changes it while the mount is
 * read-only. File data is read through the buffer cache for small pieces and straight from the
 * device into the caller's buffer for runs of whole blocks of 64 KiB or more.
 */

import { KernelError } from '../../kern/errno.js';
import type { Cred } from '../../kern/proc.js';
import {
  NAME_MAX, PATH_MAX, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
  _PC_CHOWN_RESTRICTED, _PC_FILESIZEBITS, _PC_LINK_MAX, _PC_NAME_MAX, _PC_NO_TRUNC, _PC_PATH_MAX, _PC_SYMLINK_MAX,
  _PC_SYNC_IO,
} from '../../kern/types.js';
import {
  VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, Vnode, type NewVattr, type ReaddirResult, type Vattr, type VattrChange, type VType,
} from '../../vfs/vnode.js';
import { asIoError } from './codec.js';
import type { Inode } from './dinode.js';
import type { Ffs } from './ffs.js';
import { dirLookup, dirReaddir } from './lookup.js';

/** UFS's link limit (LINK_MAX of NetBSD's ufs). */
export const UFS_LINK_MAX = 32767;
/** Reads of whole blocks at least this long bypass the buffer cache. */
const DIRECT_MIN = 64 * 1024;
/** Blocks of the map looked up at once (and remembered) for small reads. */
const MAP_AHEAD = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function vtypeOf(mode: number): VType | null {
  switch (mode & S_IFMT) {
    case S_IFREG: return VREG;
    case S_IFDIR: return VDIR;
    case S_IFLNK: return VLNK;
    case S_IFCHR: return VCHR;
    case S_IFBLK: return VBLK;
    case S_IFIFO: return VFIFO;
    case S_IFSOCK: return VSOCK;
    default: return null;
  }
}

function erofs(fs: Ffs, what: string): never {
  throw new KernelError('EROFS', `${what}: ${fs.mp.onName} (ffs on ${fs.from}) is read-only`);
}

/** Attributes of inode `ino` as getattr reports them. */
function inodeAttr(fs: Ffs, ino: number, i: Inode, type: VType): Vattr {
  return {
    type,
    mode: i.mode & 0o7777,
    nlink: i.nlink,
    uid: i.uid,
    gid: i.gid,
    fileid: ino,
    size: i.size,
    bytes: i.blocks * 512,
    blocksize: fs.bsize,
    rdev: type === VCHR || type === VBLK ? i.rdev : 0,
    flags: i.flags,
    gen: i.gen,
    atimeSec: i.atime.sec, atimeNsec: i.atime.nsec,
    mtimeSec: i.mtime.sec, mtimeNsec: i.mtime.nsec,
    ctimeSec: i.ctime.sec, ctimeNsec: i.ctime.nsec,
    birthtimeSec: i.birthtime.sec, birthtimeNsec: i.birthtime.nsec,
  };
}

/** A vnode for inode `ino`: EIO if the inode is free or of no known type. */
export function makeVnode(fs: Ffs, ino: number, inode: Inode): FfsVnode {
  const where = `${fs.from}: inode ${ino}`;
  if (inode.nlink === 0 || inode.mode === 0) {
    throw new KernelError('EIO', `${where} is referenced but free (links ${inode.nlink}, mode 0${inode.mode.toString(8)})`);
  }
  const type = vtypeOf(inode.mode);
  if (type === null) throw new KernelError('EIO', `${where} has an unknown file type (mode 0${inode.mode.toString(8)})`);
  const attr = inodeAttr(fs, ino, inode, type);
  switch (type) {
    case VDIR: return new FfsDirVnode(fs, ino, inode, attr);
    case VREG: return new FfsRegVnode(fs, ino, inode, attr);
    case VLNK: return new FfsLinkVnode(fs, ino, inode, attr);
    default: return new FfsVnode(fs, ino, inode, attr);
  }
}

export class FfsVnode extends Vnode {
  /** The last block map run looked up (sequential readers hit it instead of walking the map again). */
  private lastRun: { lblk: number; pblk: number; count: number } | null = null;

  constructor(readonly fs: Ffs, readonly ino: number, readonly inode: Inode, protected readonly attr: Vattr) {
    super(fs.mp, attr.type, ino);
  }

  protected live(): void {
    if (this.reclaimed) throw new KernelError('EBADF', `ffs vnode ${this.ino} has been reclaimed`);
  }

  getattr(): Vattr {
    return { ...this.attr };
  }

  async setattr(_ch: VattrChange, _cred: Cred): Promise<void> {
    erofs(this.fs, 'setattr');
  }

  override pathconf(name: number): number | undefined {
    switch (name) {
      case _PC_LINK_MAX: return UFS_LINK_MAX;
      case _PC_NAME_MAX: return NAME_MAX;
      case _PC_PATH_MAX: return PATH_MAX;
      case _PC_CHOWN_RESTRICTED: return 1;
      case _PC_NO_TRUNC: return 1;
      case _PC_SYNC_IO: return 1;
      case _PC_FILESIZEBITS: return 42;
      case _PC_SYMLINK_MAX: return PATH_MAX;
      default: return undefined;
    }
  }

  /** The block map run at `lblk` (at least `want` blocks asked for; the run may be longer or shorter). */
  async mapRun(lblk: number, want: number): Promise<{ pblk: number; count: number }> {
    const c = this.lastRun;
    const frag = this.fs.frag;
    if (c !== null && lblk >= c.lblk && lblk < c.lblk + c.count) {
      return { pblk: c.pblk === 0 ? 0 : c.pblk + (lblk - c.lblk) * frag, count: c.lblk + c.count - lblk };
    }
    const run = await this.fs.bmap(this.ino, this.inode, lblk, Math.max(want, MAP_AHEAD));
    this.lastRun = { lblk, pblk: run.pblk, count: run.count };
    return run;
  }

  /** Read file contents at `offset` into `buf` (regular files and slow symlinks); short only at end of file. */
  protected async readData(buf: Uint8Array, offset: number, size: number): Promise<number> {
    this.live();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `read offset ${offset} is not valid`);
    if (offset >= size || buf.length === 0) return 0;
    const fs = this.fs;
    const bs = fs.bsize;
    const frag = fs.frag;
    const n = Math.min(buf.length, size - offset);
    const what = `inode ${this.ino} data`;
    let done = 0;
    try {
      while (done < n) {
        const pos = offset + done;
        let lblk = Math.floor(pos / bs);
        let off = pos % bs;
        const run = await this.mapRun(lblk, Math.ceil((off + n - done) / bs));
        const runBytes = Math.min(run.count * bs - off, n - done);
        if (run.pblk === 0) {
          buf.fill(0, done, done + runBytes);
          done += runBytes;
          continue;
        }
        let p = run.pblk;
        let left = runBytes;
        while (left > 0) {
          if (off === 0 && left >= DIRECT_MIN) {
            const blocks = Math.floor(left / bs);
            await fs.readDirect(buf.subarray(done, done + blocks * bs), p, what);
            p += blocks * frag;
            lblk += blocks;
            done += blocks * bs;
            left -= blocks * bs;
            continue;
          }
          const k = Math.min(bs - off, left);
          const at = done;
          const from = off;
          await fs.withFrags(p, fs.blksize(size, lblk), what, (b) => buf.set(b.subarray(from, from + k), at));
          done += k;
          left -= k;
          off = 0;
          p += frag;
          lblk++;
        }
      }
    } catch (e) {
      throw asIoError(e, fs.from);
    }
    return n;
  }
}

export class FfsRegVnode extends FfsVnode {
  override read(buf: Uint8Array, offset: number): Promise<number> {
    return this.readData(buf, offset, this.attr.size);
  }

  override async write(_buf: Uint8Array, _offset: number): Promise<number> {
    erofs(this.fs, 'write');
  }
}

export class FfsLinkVnode extends FfsVnode {
  private target: string | null = null;

  /** Is the target stored in the inode (NetBSD's ufs_readlink rule)? */
  isFast(): boolean {
    const max = this.fs.geo.maxsymlinklen;
    return this.attr.size < max || (max === 0 && this.inode.blocks === 0);
  }

  override async readlink(): Promise<string> {
    this.live();
    if (this.target !== null) return this.target;
    const size = this.attr.size;
    const where = `${this.fs.from}: symbolic link inode ${this.ino}`;
    if (size === 0) throw new KernelError('EIO', `${where} is empty`);
    let bytes: Uint8Array;
    if (this.isFast()) {
      if (size > this.inode.shortlink.length) throw new KernelError('EIO', `${where}: fast link of length ${size} does not fit the inode`);
      bytes = this.inode.shortlink.subarray(0, size);
    } else {
      if (size > PATH_MAX) throw new KernelError('EIO', `${where}: length ${size} is longer than MAXPATHLEN (${PATH_MAX})`);
      bytes = new Uint8Array(size);
      const n = await this.readData(bytes, 0, size);
      if (n !== size) throw new KernelError('EIO', `${where}: read ${n} of ${size} bytes`);
    }
    this.target = utf8.decode(bytes);
    return this.target;
  }
}

export class FfsDirVnode extends FfsVnode {
  /** Name -> inode hash of a large directory (lookup.ts builds it on first lookup). */
  dirhash: Map<string, number> | null = null;

  override reclaim(): void {
    this.dirhash = null;
  }

  override async lookup(name: string): Promise<Vnode | null> {
    this.live();
    if (name === '.') return this;
    const ino = await dirLookup(this, name);
    if (ino === null) return null;
    if (ino === this.ino) return this;
    return this.fs.vget(ino);
  }

  override readdir(cookie: number, count: number): Promise<ReaddirResult> {
    this.live();
    return dirReaddir(this, cookie, count);
  }

  override async create(_name: string, _va: NewVattr): Promise<Vnode> { erofs(this.fs, 'create'); }
  override async mkdir(_name: string, _va: NewVattr): Promise<Vnode> { erofs(this.fs, 'mkdir'); }
  override async symlink(_name: string, _va: NewVattr, _target: string): Promise<Vnode> { erofs(this.fs, 'symlink'); }
  override async link(_name: string, _vp: Vnode): Promise<void> { erofs(this.fs, 'link'); }
  override async remove(_name: string, _vp: Vnode): Promise<void> { erofs(this.fs, 'remove'); }
  override async rmdir(_name: string, _vp: Vnode): Promise<void> { erofs(this.fs, 'rmdir'); }
  override async rename(_f: string, _fvp: Vnode, _tdvp: Vnode, _t: string, _tvp: Vnode | null): Promise<void> { erofs(this.fs, 'rename'); }
}
