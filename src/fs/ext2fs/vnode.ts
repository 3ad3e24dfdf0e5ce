/**
 * ext2fs vnodes (read-only): attributes from the on-disk inode, directory lookup and readdir
 * (dir.ts), file reads through the block map, and symbolic links (fast ones stored in i_block,
 * slow ones in a data block). Every change is EROFS.
 *
 * A vnode keeps its parsed inode for its whole life: nothing changes it while the mount is
 * read-only. File data is read through the buffer cache for small pieces (it reads ahead for
 * sequential readers) and straight from the device into the caller's buffer for runs of whole
 * blocks of 64 KiB or more.
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
import { dirLookup, dirReaddir } from './dir.js';
import type { DxNode, DxRoot } from './htree.js';
import type { Ext2Fs } from './ext2fs.js';
import {
  EXT2_APPEND_FL, EXT2_IMMUTABLE_FL, EXT2_I_BLOCK_SIZE, EXT2_NODUMP_FL, EXT4_INLINE_DATA_FL,
  inodeBlocks512, inodeFileAcl, inodeGid, inodeRdev, inodeSize, inodeTimes, inodeUid, type Inode,
} from './inode.js';
import { parseInodeXattrs, parseXattrBlock, xattrName, type XattrEntry } from './xattr.js';

/** NetBSD file flags (sys/stat.h) that ext2 inode flags map to. */
const UF_NODUMP = 0x00000001, SF_IMMUTABLE = 0x00020000, SF_APPEND = 0x00040000;
/** Link limits: ext2's, and ext4's with dir_nlink. */
const EXT2_LINK_MAX = 32000, EXT4_LINK_MAX = 65000;
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

function erofs(fs: Ext2Fs, what: string): never {
  throw new KernelError('EROFS', `${what}: ${fs.mp.onName} (ext2fs on ${fs.from}) is read-only`);
}

/** Attributes of inode `ino` as getattr reports them. */
function inodeAttr(fs: Ext2Fs, ino: number, inode: Inode, type: VType): Vattr {
  const t = inodeTimes(inode);
  const f = inode.i_flags;
  const birth = t.crtime ?? { sec: 0, nsec: 0 };
  return {
    type,
    mode: inode.i_mode & 0o7777,
    nlink: inode.i_links_count,
    uid: inodeUid(inode),
    gid: inodeGid(inode),
    fileid: ino,
    size: inodeSize(inode, fs.inodeFeatures),
    bytes: inodeBlocks512(inode, fs.inodeFeatures) * 512,
    blocksize: fs.blockSize,
    rdev: type === VCHR || type === VBLK ? inodeRdev(inode) : 0,
    flags: ((f & EXT2_NODUMP_FL) !== 0 ? UF_NODUMP : 0) | ((f & EXT2_IMMUTABLE_FL) !== 0 ? SF_IMMUTABLE : 0) | ((f & EXT2_APPEND_FL) !== 0 ? SF_APPEND : 0),
    gen: inode.i_generation,
    atimeSec: t.atime.sec, atimeNsec: t.atime.nsec,
    mtimeSec: t.mtime.sec, mtimeNsec: t.mtime.nsec,
    ctimeSec: t.ctime.sec, ctimeNsec: t.ctime.nsec,
    birthtimeSec: birth.sec, birthtimeNsec: birth.nsec,
  };
}

/** A vnode for inode `ino`: EIO if the inode is free or of no known type. */
export function makeVnode(fs: Ext2Fs, ino: number, inode: Inode): Ext2Vnode {
  const where = `${fs.from}: inode ${ino}`;
  if (inode.i_links_count === 0 || inode.i_mode === 0) {
    throw new KernelError('EIO', `${where} is referenced but free (links ${inode.i_links_count}, mode 0${inode.i_mode.toString(8)})`);
  }
  const type = vtypeOf(inode.i_mode);
  if (type === null) throw new KernelError('EIO', `${where} has an unknown file type (mode 0${inode.i_mode.toString(8)})`);
  if ((inode.i_flags & EXT4_INLINE_DATA_FL) !== 0) throw new KernelError('EIO', `${where} keeps its data inline, which needs the inline_data feature (not supported)`);
  let attr: Vattr;
  try {
    attr = inodeAttr(fs, ino, inode, type);
  } catch (e) {
    throw asIoError(e, where);
  }
  switch (type) {
    case VDIR: return new Ext2DirVnode(fs, ino, inode, attr);
    case VREG: return new Ext2RegVnode(fs, ino, inode, attr);
    case VLNK: return new Ext2LinkVnode(fs, ino, inode, attr);
    default: return new Ext2Vnode(fs, ino, inode, attr);
  }
}

export class Ext2Vnode extends Vnode {
  /** The last block map run looked up (sequential readers hit it instead of walking the map again). */
  private lastRun: { lblk: number; pblk: number; count: number } | null = null;

  constructor(readonly fs: Ext2Fs, readonly ino: number, readonly inode: Inode, protected readonly attr: Vattr) {
    super(fs.mp, attr.type, ino);
  }

  protected live(): void {
    if (this.reclaimed) throw new KernelError('EBADF', `ext2fs vnode ${this.ino} has been reclaimed`);
  }

  getattr(): Vattr {
    return { ...this.attr };
  }

  async setattr(_ch: VattrChange, _cred: Cred): Promise<void> {
    erofs(this.fs, 'setattr');
  }

  override pathconf(name: number): number | undefined {
    switch (name) {
      case _PC_LINK_MAX: return this.fs.dirNlink ? EXT4_LINK_MAX : EXT2_LINK_MAX;
      case _PC_NAME_MAX: return NAME_MAX;
      case _PC_PATH_MAX: return PATH_MAX;
      case _PC_CHOWN_RESTRICTED: return 1;
      case _PC_NO_TRUNC: return 1;
      case _PC_SYNC_IO: return 1;
      case _PC_FILESIZEBITS: return 64;
      case _PC_SYMLINK_MAX: return Math.min(this.fs.blockSize, PATH_MAX);
      default: return undefined;
    }
  }

  /** The block map run at `lblk` (at least `want` blocks asked for; the run may be longer or shorter). */
  async mapRun(lblk: number, want: number): Promise<{ pblk: number; count: number }> {
    const c = this.lastRun;
    if (c !== null && lblk >= c.lblk && lblk < c.lblk + c.count) {
      return { pblk: c.pblk === 0 ? 0 : c.pblk + (lblk - c.lblk), count: c.lblk + c.count - lblk };
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
    const bs = fs.blockSize;
    const n = Math.min(buf.length, size - offset);
    const what = `inode ${this.ino} data`;
    let done = 0;
    try {
      while (done < n) {
        const pos = offset + done;
        const lblk = Math.floor(pos / bs);
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
            const whole = Math.floor(left / bs) * bs;
            await fs.readDirect(buf.subarray(done, done + whole), p, what);
            p += whole / bs;
            done += whole;
            left -= whole;
            continue;
          }
          const k = Math.min(bs - off, left);
          const at = done;
          const from = off;
          await fs.withBlock(p, what, (b) => buf.set(b.subarray(from, from + k), at));
          done += k;
          left -= k;
          off = 0;
          p++;
        }
      }
    } catch (e) {
      throw asIoError(e, fs.from);
    }
    return n;
  }

  /**
   * Extended attributes of this inode (in-inode ones first, then the attribute block's), read
   * only. Not a VOP yet: for tools and tests.
   */
  async listExtattr(): Promise<{ name: string; value: Uint8Array | null }[]> {
    this.live();
    const fs = this.fs;
    const where = `${fs.from}: inode ${this.ino}`;
    const out: XattrEntry[] = [];
    try {
      out.push(...parseInodeXattrs(this.inode.raw, this.inode.i_extra_isize, `inode ${this.ino}`));
      const blk = inodeFileAcl(this.inode, fs.inodeFeatures);
      if (blk !== 0) {
        const b = await fs.readMeta(blk, `inode ${this.ino} attribute block`);
        out.push(...parseXattrBlock(b, `inode ${this.ino}, attribute block ${blk}`).entries);
      }
    } catch (e) {
      throw asIoError(e, where);
    }
    return out.map((e) => ({ name: xattrName(e), value: e.value }));
  }
}

export class Ext2RegVnode extends Ext2Vnode {
  override read(buf: Uint8Array, offset: number): Promise<number> {
    return this.readData(buf, offset, this.attr.size);
  }

  override async write(_buf: Uint8Array, _offset: number): Promise<number> {
    erofs(this.fs, 'write');
  }
}

export class Ext2LinkVnode extends Ext2Vnode {
  private target: string | null = null;

  override async readlink(): Promise<string> {
    this.live();
    if (this.target !== null) return this.target;
    const fs = this.fs;
    const size = this.attr.size;
    const where = `${fs.from}: symbolic link inode ${this.ino}`;
    if (size === 0) throw new KernelError('EIO', `${where} is empty`);
    let bytes: Uint8Array;
    // Linux's rule (ext4_inode_is_fast_symlink): no data blocks besides an attribute block.
    const eaSectors = inodeFileAcl(this.inode, fs.inodeFeatures) !== 0 ? (fs.blockSize * fs.geo.clusterRatio) / 512 : 0;
    if (this.attr.bytes / 512 - eaSectors <= 0) {
      if (size >= EXT2_I_BLOCK_SIZE) throw new KernelError('EIO', `${where}: fast link of length ${size} does not fit i_block`);
      bytes = this.inode.i_block.subarray(0, size);
    } else {
      if (size > fs.blockSize || size > 4096) throw new KernelError('EIO', `${where}: length ${size} is longer than a block`);
      bytes = new Uint8Array(size);
      const n = await this.readData(bytes, 0, size);
      if (n !== size) throw new KernelError('EIO', `${where}: read ${n} of ${size} bytes`);
    }
    this.target = utf8.decode(bytes);
    return this.target;
  }
}

export class Ext2DirVnode extends Ext2Vnode {
  /** Parsed hash-tree index blocks (the directory never changes on a read-only mount). */
  readonly dxCache = new Map<number, DxRoot | DxNode>();

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
