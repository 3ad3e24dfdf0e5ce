/**
 * ext2fs vnodes: attributes from the on-disk inode, directory lookup and readdir (dir.ts), file
 * reads through the block map, symbolic links (fast ones stored in i_block, slow ones in a data
 * block), and on a read-write mount every change: create (files, device nodes, fifos, sockets),
 * mkdir, symlink, link, remove, rmdir, rename, write, truncate, setattr, fsync, and freeing an
 * inode and its blocks when its last link and last reference are gone.
 *
 * A vnode keeps its parsed inode (`inode`) for its whole life and is the only writer of it: a
 * change updates the inode in memory and writes it into its inode table block (through the
 * buffer cache) before the operation returns. Access times are the exception: a read marks the
 * inode dirty, and it is written at fsync, sync, the next change, or when the vnode leaves the
 * cache. An unlinked inode is freed (its blocks, its attribute block, its bitmap bit) when the
 * vnode is reclaimed, which the VFS does as soon as nobody references it (inactive says so);
 * the inode number can therefore never be reused while a vnode for it is still cached.
 *
 * Locking: each vnode has its own lock (`ilock`). Reads, lookups and readdir take it shared;
 * changes take it exclusive, on every vnode they change, in ascending inode order (so two
 * operations never wait for each other in a cycle). Block and inode allocation serialise on the
 * mount's allocator mutex inside that. The VFS holds the mount's rename lock around rename.
 *
 * File data is read through the buffer cache for small pieces (it reads ahead for sequential
 * readers) and straight from the device into the caller's buffer for runs of whole blocks of
 * 64 KiB or more (Ext2Fs.readDirect takes blocks the cache holds from the cache). Writes of
 * whole-block runs of 64 KiB or more go straight to the device too (Ext2Fs.writeDirect then
 * updates any cached copy); smaller ones go through the buffer cache: whole blocks without
 * reading them, partial blocks read-modify-write, newly allocated partial blocks zero-filled.
 */

import { KernelError } from '../../kern/errno.js';
import type { Cred } from '../../kern/proc.js';
import { KRWLock, RW_READER, RW_WRITER } from '../../kern/sync.js';
import {
  MNT_NOATIME, NAME_MAX, PATH_MAX, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, UTIME_NOW, UTIME_OMIT,
  _PC_CHOWN_RESTRICTED, _PC_FILESIZEBITS, _PC_LINK_MAX, _PC_NAME_MAX, _PC_NO_TRUNC, _PC_PATH_MAX, _PC_SYMLINK_MAX,
  _PC_SYNC_IO, major, minor, type Timespec,
} from '../../kern/types.js';
import {
  IO_APPEND, VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, Vnode, type NewVattr, type ReaddirResult, type Vattr, type VattrChange, type VType,
} from '../../vfs/vnode.js';
import { bmapAlloc, type MapWriter } from './bmap_alloc.js';
import { asIoError } from './codec.js';
import { dirFind, dirLookup, dirReaddir, type DirIndex } from './dir.js';
import { dirAddEntry, dirIsEmpty, dirRemoveEntry, dirSetDotDot, dirSetEntry, dirTemplate, type DirWriter } from './dirops.js';
import { modeToFt } from './dir_entry.js';
import type { DxNode, DxRoot } from './htree.js';
import type { Ext2Fs } from './ext2fs.js';
import {
  EXT2_APPEND_FL, EXT2_COMPRBLK_FL, EXT2_COMPR_FL, EXT2_DIRSYNC_FL, EXT2_IMMUTABLE_FL, EXT2_INDEX_FL, EXT2_I_BLOCK_SIZE,
  EXT2_NEW_EXTRA_ISIZE, EXT2_NOATIME_FL, EXT2_NOCOMPR_FL, EXT2_NODUMP_FL, EXT2_NOTAIL_FL, EXT2_SECRM_FL, EXT2_SYNC_FL,
  EXT2_TOPDIR_FL, EXT2_UNRM_FL, EXT3_JOURNAL_DATA_FL, EXT4_INLINE_DATA_FL,
  encodeRdev, inodeBlocks512, inodeFileAcl, inodeGid, inodeRdev, inodeSize, inodeTimes, inodeUid, newInode, setInodeBlockPointer,
  setInodeBlocks512, setInodeGid, setInodeSize, setInodeTime, setInodeUid, type Inode, type InodeTime,
} from './inode.js';
import { EXT2_ROOT_INO } from './superblock.js';
import { freeBlocksFrom, releaseXattrBlock, zeroTail } from './truncate.js';
import { parseInodeXattrs, parseXattrBlock, xattrName, type XattrEntry } from './xattr.js';

/** NetBSD file flags (sys/stat.h) that ext2 inode flags map to. */
const UF_NODUMP = 0x00000001, SF_IMMUTABLE = 0x00020000, SF_APPEND = 0x00040000;
/** Link limits: ext2's, and ext4's with dir_nlink. */
const EXT2_LINK_MAX = 32000, EXT4_LINK_MAX = 65000;
/** Reads of whole blocks at least this long bypass the buffer cache. */
const DIRECT_MIN = 64 * 1024;
/** Blocks of the map looked up at once (and remembered) for small reads. */
const MAP_AHEAD = 1024;
/** Inode flags a new inode takes from its directory (Linux's EXT2_FL_INHERITED). */
const FL_INHERITED = EXT2_SECRM_FL | EXT2_UNRM_FL | EXT2_COMPR_FL | EXT2_SYNC_FL | EXT2_NODUMP_FL | EXT2_NOATIME_FL
  | EXT2_COMPRBLK_FL | EXT2_NOCOMPR_FL | EXT3_JOURNAL_DATA_FL | EXT2_NOTAIL_FL | EXT2_DIRSYNC_FL;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8enc = new TextEncoder();

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

function ifmtOf(type: VType): number {
  switch (type) {
    case VREG: return S_IFREG;
    case VDIR: return S_IFDIR;
    case VLNK: return S_IFLNK;
    case VCHR: return S_IFCHR;
    case VBLK: return S_IFBLK;
    case VFIFO: return S_IFIFO;
    case VSOCK: return S_IFSOCK;
    default: throw new KernelError('EINVAL', `ext2fs cannot store a vnode of type ${type}`);
  }
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

/** Take the locks of `vps` exclusively, in ascending inode order, around `fn`. */
async function exclusive<T>(vps: readonly (Ext2Vnode | null)[], fn: () => Promise<T>): Promise<T> {
  const list = [...new Set(vps.filter((v): v is Ext2Vnode => v !== null))].sort((a, b) => a.ino - b.ino);
  const held: Ext2Vnode[] = [];
  try {
    for (const v of list) {
      if (!v.ilock.tryEnter(RW_WRITER)) await v.ilock.enter(RW_WRITER);
      held.push(v);
    }
    return await fn();
  } finally {
    for (const v of held.reverse()) v.ilock.exit();
  }
}

/** Take `vp`'s lock shared around `fn`. */
async function shared<T>(vp: Ext2Vnode, fn: () => Promise<T>): Promise<T> {
  if (!vp.ilock.tryEnter(RW_READER)) await vp.ilock.enter(RW_READER);
  try {
    return await fn();
  } finally {
    vp.ilock.exit();
  }
}

function resolveTime(t: Timespec, now: InodeTime): InodeTime | null {
  if (t.nsec === UTIME_OMIT) return null;
  if (t.nsec === UTIME_NOW) return now;
  return { sec: t.sec, nsec: t.nsec };
}

/**
 * EPERM if `v` carries one of the inode flags in `mask` (EXT2_IMMUTABLE_FL: no change at all;
 * EXT2_APPEND_FL: appends and new entries only), as NetBSD's ext2fs enforces them.
 */
function checkFlags(v: Ext2Vnode, mask: number, what: string): void {
  const f = v.inode.i_flags & mask;
  if (f === 0) return;
  throw new KernelError('EPERM', `${what}: inode ${v.ino} is ${(f & EXT2_IMMUTABLE_FL) !== 0 ? 'immutable' : 'append-only'}`);
}

const IMMUTABLE_OR_APPEND = EXT2_IMMUTABLE_FL | EXT2_APPEND_FL;

export class Ext2Vnode extends Vnode implements MapWriter {
  /** The last block map run looked up (sequential readers hit it instead of walking the map again). */
  private lastRun: { lblk: number; pblk: number; count: number } | null = null;
  /** The last block allocated (for the next allocation's goal). */
  lastAlloc: { lblk: number; pblk: number } | null = null;
  /** The per-inode lock (see the module comment). */
  readonly ilock = new KRWLock();
  /** The in-memory inode has changes not yet written (access time only). */
  atimeDirty = false;
  /** Storage released (the inode was freed). */
  private released = false;

  constructor(readonly fs: Ext2Fs, readonly ino: number, public inode: Inode, protected attr: Vattr) {
    super(fs.mp, attr.type, ino);
  }

  protected live(): void {
    if (this.reclaimed) throw new KernelError('EBADF', `ext2fs vnode ${this.ino} has been reclaimed`);
  }

  getattr(): Vattr {
    return { ...this.attr };
  }

  /** Recompute the attributes after the inode changed. */
  protected refresh(): void {
    this.attr = inodeAttr(this.fs, this.ino, this.inode, this.type);
  }

  /* ---- MapWriter ------------------------------------------------------------------------------ */

  addBlocks(n: number): void {
    const f = this.fs.inodeFeatures;
    const cur = inodeBlocks512(this.inode, f);
    setInodeBlocks512(this.inode, Math.max(0, cur + n * (this.fs.blockSize / 512)), f);
  }

  invalidateMap(): void {
    this.lastRun = null;
  }

  /* ---- writing the inode ---------------------------------------------------------------------- */

  /** Write the inode now (and forget pending access-time changes: they are in it). */
  async update(): Promise<void> {
    this.refresh();
    this.atimeDirty = false;
    this.fs.dirtyVnodes.delete(this);
    await this.fs.writeInode(this.ino, this.inode);
  }

  /** Write pending access-time changes (sync). */
  async flushInode(): Promise<void> {
    if (!this.atimeDirty || this.reclaimed) {
      this.fs.dirtyVnodes.delete(this);
      return;
    }
    await this.update();
  }

  /** Set times to `t`: `a`ccess, `m`odification, `c`hange. */
  stamp(which: string, t: InodeTime): void {
    if (which.includes('a')) setInodeTime(this.inode, 'atime', t);
    if (which.includes('m')) setInodeTime(this.inode, 'mtime', t);
    if (which.includes('c')) setInodeTime(this.inode, 'ctime', t);
  }

  /** Mark the inode accessed (read-write mounts without MNT_NOATIME); written later. */
  protected touchAtime(): void {
    const fs = this.fs;
    if (!fs.writable || this.mount.rdonly || (this.mount.flags & MNT_NOATIME) !== 0 || this.reclaimed) return;
    if ((this.inode.i_flags & EXT2_NOATIME_FL) !== 0) return;
    setInodeTime(this.inode, 'atime', fs.now());
    this.refresh();
    this.atimeDirty = true;
    fs.dirtyVnodes.add(this);
  }

  /* ---- VOPs ----------------------------------------------------------------------------------- */

  async setattr(ch: VattrChange, _cred: Cred): Promise<void> {
    this.live();
    this.fs.checkWritable('setattr');
    await exclusive([this], async () => {
      const fs = this.fs;
      const inode = this.inode;
      const now = fs.now();
      const onlyFlags = Object.entries(ch).every(([key, v]) => key === 'flags' || v === undefined);
      if (!onlyFlags) checkFlags(this, IMMUTABLE_OR_APPEND, 'setattr');
      if (ch.size !== undefined) {
        if (!Number.isSafeInteger(ch.size) || ch.size < 0) throw new KernelError('EINVAL', `file size ${ch.size} is not a non-negative integer`);
        if (this.type === VDIR) throw new KernelError('EISDIR', 'cannot set the size of a directory');
        if (this.type === VREG) {
          if (ch.size > fs.maxFileSize) throw new KernelError('EFBIG', `file size ${ch.size} exceeds the ext2 maximum ${fs.maxFileSize}`);
          await this.resize(ch.size);
          this.stamp('m', now);
        }
      }
      if (ch.mode !== undefined) inode.i_mode = (inode.i_mode & S_IFMT) | (ch.mode & 0o7777);
      if (ch.uid !== undefined) setInodeUid(inode, ch.uid >>> 0);
      if (ch.gid !== undefined) setInodeGid(inode, ch.gid >>> 0);
      if (ch.flags !== undefined) {
        let f = inode.i_flags & ~(EXT2_NODUMP_FL | EXT2_IMMUTABLE_FL | EXT2_APPEND_FL);
        if ((ch.flags & UF_NODUMP) !== 0) f |= EXT2_NODUMP_FL;
        if ((ch.flags & SF_IMMUTABLE) !== 0) f |= EXT2_IMMUTABLE_FL;
        if ((ch.flags & SF_APPEND) !== 0) f |= EXT2_APPEND_FL;
        inode.i_flags = f >>> 0;
      }
      const at = ch.atime !== undefined ? resolveTime(ch.atime, now) : null;
      if (at !== null) setInodeTime(inode, 'atime', at);
      const mt = ch.mtime !== undefined ? resolveTime(ch.mtime, now) : null;
      if (mt !== null) setInodeTime(inode, 'mtime', mt);
      const bt = ch.birthtime !== undefined ? resolveTime(ch.birthtime, now) : null;
      if (bt !== null) setInodeTime(inode, 'crtime', bt);
      this.stamp('c', now);
      await this.update();
    });
  }

  /** Change a regular file's size: free the blocks past it, or extend it with a hole. */
  protected async resize(size: number): Promise<void> {
    const fs = this.fs;
    const old = this.attr.size;
    if (size < old) {
      setInodeSize(this.inode, size, fs.inodeFeatures);
      this.refresh();
      await freeBlocksFrom(this, Math.ceil(size / fs.blockSize));
      await zeroTail(this, size);
    } else if (size > old) {
      await zeroTail(this, old);
      if (size > 0x7fffffff) fs.noteLargeFile();
      setInodeSize(this.inode, size, fs.inodeFeatures);
    }
    this.refresh();
  }

  override async fsync(_dataOnly: boolean): Promise<void> {
    this.live();
    if (!this.fs.writable) return;
    await this.flushInode();
    await this.fs.sync(true);
  }

  override inactive(): boolean {
    return this.fs.writable && !this.released && this.inode.i_links_count === 0;
  }

  override async reclaim(): Promise<void> {
    const fs = this.fs;
    fs.dirtyVnodes.delete(this);
    if (!fs.writable || this.released) return;
    if (this.inode.i_links_count === 0) {
      await this.releaseStorage();
      return;
    }
    if (this.atimeDirty) {
      this.atimeDirty = false;
      await fs.writeInodeReclaimed(this.ino, this.inode);
    }
  }

  /** Does i_block hold block pointers (not a fast symlink's target or a device number)? */
  hasBlockMap(): boolean {
    if (this.type === VREG || this.type === VDIR) return true;
    if (this.type !== VLNK) return false;
    const eaSectors = inodeFileAcl(this.inode, this.fs.inodeFeatures) !== 0 ? this.fs.blockSize / 512 : 0;
    return inodeBlocks512(this.inode, this.fs.inodeFeatures) - eaSectors > 0;
  }

  /** Free an unlinked, unreferenced inode: its blocks, attribute block and bitmap bit. */
  private async releaseStorage(): Promise<void> {
    this.released = true;
    const fs = this.fs;
    const inode = this.inode;
    try {
      if (this.hasBlockMap()) await freeBlocksFrom(this, 0);
      try {
        if (await releaseXattrBlock(fs, this.ino, inode) > 0) this.addBlocks(-1);
      } catch (e) {
        fs.warn(`${fs.from}: inode ${this.ino}: ${e instanceof Error ? e.message : String(e)}`);
      }
      setInodeSize(inode, 0, fs.inodeFeatures);
      setInodeBlocks512(inode, 0, fs.inodeFeatures);
      inode.i_links_count = 0;
      inode.i_dtime = Math.max(1, fs.now().sec) >>> 0;
      await fs.writeInode(this.ino, inode);
    } finally {
      await fs.alloc!.freeInode(this.ino, this.type === VDIR);
    }
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
      case _PC_SYMLINK_MAX: return Math.min(this.fs.blockSize - 1, PATH_MAX);
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
   * Write `buf` at `offset` (regular files; a slow symlink's target at creation), allocating
   * blocks as needed. Short when space runs out part way (ENOSPC if nothing could be written) or
   * at the format's largest file (EFBIG at it). Caller holds the lock exclusively.
   */
  protected async writeData(buf: Uint8Array, offset: number): Promise<number> {
    const fs = this.fs;
    const bs = fs.blockSize;
    const max = fs.maxFileSize;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `write offset ${offset} is not valid`);
    if (buf.length === 0) return 0;
    if (offset >= max) throw new KernelError('EFBIG', `write at offset ${offset} is at or past the ext2 maximum file size ${max}`);
    const len = Math.min(buf.length, max - offset);
    const oldSize = this.attr.size;
    if (offset > oldSize) await zeroTail(this, oldSize);
    let done = 0;
    let err: unknown = null;
    while (done < len) {
      const pos = offset + done;
      const lblk = Math.floor(pos / bs);
      let off = pos % bs;
      let run;
      try {
        run = await bmapAlloc(this, lblk, Math.ceil((off + len - done) / bs));
      } catch (e) {
        err = e;
        break;
      }
      try {
        for (let i = 0; i < run.count && done < len; i++) {
          const pblk = run.pblk + i;
          const what = `inode ${this.ino} data`;
          const whole = off === 0 ? Math.min(run.count - i, Math.floor((len - done) / bs)) : 0;
          if (whole * bs >= DIRECT_MIN) {
            await fs.writeDirect(pblk, buf.subarray(done, done + whole * bs), what);
            done += whole * bs;
            i += whole - 1;
            continue;
          }
          const k = Math.min(bs - off, len - done);
          const src = buf.subarray(done, done + k);
          if (k === bs) {
            await fs.overwriteBlock(pblk, what, src);
          } else if (run.fresh) {
            const at = off;
            await fs.fillBlock(pblk, what, (b) => b.set(src, at));
          } else {
            const at = off;
            await fs.editBlock(pblk, what, (b) => {
              b.set(src, at);
              return true;
            });
          }
          done += k;
          off = 0;
        }
      } catch (e) {
        err = e;
        break;
      }
    }
    const end = offset + done;
    if (end > oldSize) {
      if (end > 0x7fffffff) fs.noteLargeFile();
      setInodeSize(this.inode, end, fs.inodeFeatures);
    }
    if (err !== null && offset + len > Math.max(oldSize, end)) {
      // blocks allocated past the new end of file (an indirect block whose data did not fit)
      await freeBlocksFrom(this, Math.ceil(Math.max(oldSize, end) / bs)).catch(() => undefined);
    }
    if (done === 0 && err !== null) {
      this.refresh();
      throw err;
    }
    return done;
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
    return shared(this, async () => {
      const n = await this.readData(buf, offset, this.attr.size);
      this.touchAtime();
      return n;
    });
  }

  /** With IO_APPEND the write lands at the size seen under the inode lock (concurrent appenders). */
  override async write(buf: Uint8Array, offset: number, ioflag = 0): Promise<number> {
    this.live();
    this.fs.checkWritable('write');
    if (buf.length === 0) return 0;
    return exclusive([this], async () => {
      const off = (ioflag & IO_APPEND) !== 0 ? this.attr.size : offset;
      checkFlags(this, EXT2_IMMUTABLE_FL, 'write');
      if ((this.inode.i_flags & EXT2_APPEND_FL) !== 0 && off < this.attr.size) checkFlags(this, EXT2_APPEND_FL, 'write before the end');
      const n = await this.writeData(buf, off);
      this.stamp('mc', this.fs.now());
      await this.update();
      return n;
    });
  }
}

export class Ext2LinkVnode extends Ext2Vnode {
  private target: string | null = null;

  override async readlink(): Promise<string> {
    this.live();
    const t = this.target ?? await this.readTarget();
    this.target = t;
    this.touchAtime();
    return t;
  }

  private async readTarget(): Promise<string> {
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
    return utf8.decode(bytes);
  }

  /** Store the target of a new link: in i_block when shorter than 60 bytes, else in a block. */
  async storeTarget(target: Uint8Array): Promise<void> {
    const fs = this.fs;
    if (target.length < EXT2_I_BLOCK_SIZE) {
      this.inode.i_block.fill(0);
      this.inode.i_block.set(target);
      setInodeSize(this.inode, target.length, fs.inodeFeatures);
    } else {
      const n = await this.writeData(target, 0);
      if (n !== target.length) throw new KernelError('ENOSPC', `${fs.from}: no room for a ${target.length}-byte symbolic link`);
      setInodeSize(this.inode, target.length, fs.inodeFeatures);
    }
    this.refresh();
  }
}

export class Ext2DirVnode extends Ext2Vnode implements DirWriter {
  /** Parsed hash-tree index blocks (dropped when the directory stops being indexed). */
  readonly dxCache = new Map<number, DxRoot | DxNode>();
  /** The in-memory name index (dir.ts), once built. */
  index: DirIndex | null = null;

  /* ---- DirWriter ------------------------------------------------------------------------------ */

  async growBlock(lblk: number): Promise<number> {
    return (await bmapAlloc(this, lblk, 1)).pblk;
  }

  setDirSize(size: number): void {
    setInodeSize(this.inode, size, this.fs.inodeFeatures);
    this.refresh();
  }

  clearIndexFlag(): void {
    this.inode.i_flags = (this.inode.i_flags & ~EXT2_INDEX_FL) >>> 0;
    this.dxCache.clear();
    this.fs.stats.htreeCleared++;
  }

  /* ---- reading -------------------------------------------------------------------------------- */

  override async lookup(name: string): Promise<Vnode | null> {
    this.live();
    if (name === '.') return this;
    const ino = await shared(this, async () => (this.inode.i_links_count === 0 ? null : dirLookup(this, name)));
    if (ino === null) return null;
    if (ino === this.ino) return this;
    return this.fs.vget(ino);
  }

  override readdir(cookie: number, count: number): Promise<ReaddirResult> {
    this.live();
    return shared(this, async () => {
      if (this.inode.i_links_count === 0) return { entries: [], eof: true };
      const r = await dirReaddir(this, cookie, count);
      this.touchAtime();
      return r;
    });
  }

  /* ---- name space changes --------------------------------------------------------------------- */

  /** The ext2fs vnode behind `vp` (EXDEV if it belongs to another file system). */
  private own(vp: Vnode): Ext2Vnode {
    if (!(vp instanceof Ext2Vnode) || vp.fs !== this.fs) {
      throw new KernelError('EXDEV', `ext2fs: vnode belongs to another file system (${vp.mount.fstype} on ${vp.mount.onName})`);
    }
    if (vp.reclaimed) throw new KernelError('EBADF', `ext2fs vnode ${vp.key} has been reclaimed`);
    return vp;
  }

  private linkMax(): number {
    return this.fs.dirNlink ? EXT4_LINK_MAX : EXT2_LINK_MAX;
  }

  private nameBytes(name: string): Uint8Array {
    const nb = utf8enc.encode(name);
    if (nb.length === 0) throw new KernelError('ENOENT', 'empty name');
    if (nb.length > 255) throw new KernelError('ENAMETOOLONG', `'${name.slice(0, 32)}...' is ${nb.length} bytes; ext2 names are at most 255`);
    return nb;
  }

  /** A removed directory takes no new entries. */
  private checkAlive(): void {
    if (this.inode.i_links_count === 0) throw new KernelError('ENOENT', `directory inode ${this.ino} has been removed`);
  }

  override create(name: string, va: NewVattr): Promise<Vnode> {
    if (va.type === VDIR || va.type === VLNK) {
      throw new KernelError('EINVAL', `ext2fs: create cannot make a ${va.type === VDIR ? 'directory' : 'symbolic link'}`);
    }
    return this.makeNode(name, va, null);
  }

  override mkdir(name: string, va: NewVattr): Promise<Vnode> {
    return this.makeNode(name, { ...va, type: VDIR }, null);
  }

  override symlink(name: string, va: NewVattr, target: string): Promise<Vnode> {
    const tb = utf8enc.encode(target);
    if (tb.length === 0) throw new KernelError('ENOENT', 'empty symbolic link target');
    if (tb.length >= this.fs.blockSize || tb.length >= PATH_MAX) {
      throw new KernelError('ENAMETOOLONG', `symbolic link target of ${tb.length} bytes is longer than ext2 allows (${Math.min(this.fs.blockSize, PATH_MAX) - 1})`);
    }
    return this.makeNode(name, { ...va, type: VLNK }, tb);
  }

  /** Make a new inode of `va.type` named `name` here (the target for symbolic links). */
  private async makeNode(name: string, va: NewVattr, target: Uint8Array | null): Promise<Vnode> {
    this.live();
    const fs = this.fs;
    fs.checkWritable('create');
    const nb = this.nameBytes(name);
    const fmt = ifmtOf(va.type);
    const isDir = va.type === VDIR;
    return exclusive([this], async () => {
      this.checkAlive();
      checkFlags(this, EXT2_IMMUTABLE_FL, 'create');
      if (await dirFind(this, nb) !== null) throw new KernelError('EEXIST', `'${name}' already exists in directory inode ${this.ino}`);
      if (isDir && this.inode.i_links_count >= this.linkMax()) {
        throw new KernelError('EMLINK', `directory inode ${this.ino} has ${this.inode.i_links_count} links, the most ext2 allows`);
      }
      const ino = await this.allocIno(isDir);
      const now = fs.now();
      const geo = fs.geo;
      const extra = Math.max(EXT2_NEW_EXTRA_ISIZE, fs.sb.s_want_extra_isize, fs.sb.s_min_extra_isize);
      const inode = newInode(geo.inodeSize, extra);
      inode.i_mode = fmt | (va.mode & 0o7777);
      setInodeUid(inode, va.uid >>> 0);
      setInodeGid(inode, va.gid >>> 0);
      for (const f of ['atime', 'mtime', 'ctime', 'crtime'] as const) setInodeTime(inode, f, now);
      inode.i_links_count = isDir ? 2 : 1;
      inode.i_generation = fs.random32();
      const inherit = this.inode.i_flags & FL_INHERITED;
      inode.i_flags = (isDir ? inherit : va.type === VREG ? inherit & ~EXT2_DIRSYNC_FL : inherit & (EXT2_NODUMP_FL | EXT2_NOATIME_FL)) >>> 0;
      if (va.type === VCHR || va.type === VBLK) inode.i_block.set(encodeRdev(major(va.rdev), minor(va.rdev)));
      const vp = makeVnode(fs, ino, inode);
      try {
        if (isDir) {
          const run = await fs.alloc!.allocBlocks(fs.groupStates[Math.floor((ino - 1) / geo.inodesPerGroup)]?.start ?? 0, 1);
          vp.lastAlloc = { lblk: 0, pblk: run.start };
          setInodeBlockPointer(inode, 0, run.start);
          vp.addBlocks(1);
          setInodeSize(inode, fs.blockSize, fs.inodeFeatures);
          await fs.fillBlock(run.start, `directory inode ${ino} block 0`, (b) => b.set(dirTemplate(fs.blockSize, fs.filetype, ino, this.ino)));
        } else if (target !== null) {
          await (vp as Ext2LinkVnode).storeTarget(target);
        }
        await dirAddEntry(this, nb, ino, modeToFt(inode.i_mode));
      } catch (e) {
        // undo: the blocks the new inode got, then the inode
        if (vp.hasBlockMap()) await freeBlocksFrom(vp, 0).catch(() => undefined);
        await fs.alloc!.freeInode(ino, isDir).catch(() => undefined);
        throw e;
      }
      await vp.update();
      if (isDir && (this.inode.i_links_count !== 1 || !fs.dirNlink)) this.inode.i_links_count++;
      this.stamp('mc', now);
      await this.update();
      return fs.insertVnode(vp);
    });
  }

  /** An inode number for a new child, skipping numbers the image claims free but that are in use. */
  private async allocIno(isDir: boolean): Promise<number> {
    const fs = this.fs;
    const topDir = isDir && (this.ino === EXT2_ROOT_INO || (this.inode.i_flags & EXT2_TOPDIR_FL) !== 0);
    for (let tries = 0; ; tries++) {
      const ino = await fs.alloc!.allocInode(this.ino, isDir, topDir);
      const inUse = fs.kernel.vfs!.vcache.get(fs.mp, ino) !== undefined || await fs.inodeLooksUsed(ino);
      if (!inUse) return ino;
      // leave its bitmap bit set (it is in use) and try another
      fs.warn(`${fs.from}: inode ${ino} is in use but free in its bitmap; not reusing it (run fsck)`);
      if (tries >= 16) throw new KernelError('EIO', `${fs.from}: the inode bitmaps disagree with the inodes (run fsck)`);
    }
  }

  override async link(name: string, vp: Vnode): Promise<void> {
    this.live();
    const fs = this.fs;
    fs.checkWritable('link');
    const v = this.own(vp);
    if (v.type === VDIR) throw new KernelError('EPERM', 'ext2fs: cannot hard-link a directory');
    const nb = this.nameBytes(name);
    await exclusive([this, v], async () => {
      this.checkAlive();
      checkFlags(this, EXT2_IMMUTABLE_FL, 'link');
      checkFlags(v, IMMUTABLE_OR_APPEND, 'link');
      if (v.inode.i_links_count === 0) throw new KernelError('ENOENT', `inode ${v.ino} has been removed`);
      if (v.inode.i_links_count >= EXT2_LINK_MAX) throw new KernelError('EMLINK', `inode ${v.ino} already has ${v.inode.i_links_count} links, the most ext2 allows`);
      if (await dirFind(this, nb) !== null) throw new KernelError('EEXIST', `'${name}' already exists in directory inode ${this.ino}`);
      await dirAddEntry(this, nb, v.ino, modeToFt(v.inode.i_mode));
      const now = fs.now();
      v.inode.i_links_count++;
      v.stamp('c', now);
      await v.update();
      this.stamp('mc', now);
      await this.update();
    });
  }

  override async remove(name: string, vp: Vnode): Promise<void> {
    this.live();
    const fs = this.fs;
    fs.checkWritable('remove');
    const v = this.own(vp);
    if (v.type === VDIR) throw new KernelError('EPERM', `ext2fs: '${name}' is a directory (use rmdir)`);
    const nb = this.nameBytes(name);
    await exclusive([this, v], async () => {
      checkFlags(this, IMMUTABLE_OR_APPEND, 'remove');
      checkFlags(v, IMMUTABLE_OR_APPEND, 'remove');
      await dirRemoveEntry(this, nb, v.ino);
      const now = fs.now();
      if (v.inode.i_links_count > 0) v.inode.i_links_count--;
      v.stamp('c', now);
      await v.update();
      this.stamp('mc', now);
      await this.update();
    });
  }

  override async rmdir(name: string, vp: Vnode): Promise<void> {
    this.live();
    const fs = this.fs;
    fs.checkWritable('rmdir');
    const v = this.own(vp);
    if (v === this) throw new KernelError('EINVAL', "ext2fs: cannot remove '.'");
    if (!(v instanceof Ext2DirVnode)) throw new KernelError('ENOTDIR', `ext2fs: '${name}' is not a directory`);
    const nb = this.nameBytes(name);
    await exclusive([this, v], async () => {
      const loc = await dirFind(this, nb);
      if (loc === null || loc.ino !== v.ino) throw new KernelError('ENOENT', `'${name}' is not in directory inode ${this.ino} any more`);
      checkFlags(this, IMMUTABLE_OR_APPEND, 'rmdir');
      checkFlags(v, IMMUTABLE_OR_APPEND, 'rmdir');
      if (!await dirIsEmpty(v)) throw new KernelError('ENOTEMPTY', `ext2fs: directory '${name}' is not empty`);
      await dirRemoveEntry(this, nb, v.ino);
      const now = fs.now();
      v.inode.i_links_count = 0;
      v.stamp('c', now);
      await v.update();
      if (this.inode.i_links_count > 2) this.inode.i_links_count--;
      this.stamp('mc', now);
      await this.update();
    });
  }

  override async rename(fname: string, fvp: Vnode, tdvp: Vnode, tname: string, tvp: Vnode | null): Promise<void> {
    this.live();
    const fs = this.fs;
    fs.checkWritable('rename');
    const fv = this.own(fvp);
    const td = this.own(tdvp);
    const tv = tvp === null ? null : this.own(tvp);
    if (!(td instanceof Ext2DirVnode)) throw new KernelError('ENOTDIR', 'ext2fs: rename target directory is not a directory');
    if (fv === tv) return;
    const fnb = this.nameBytes(fname);
    const tnb = this.nameBytes(tname);
    const isDir = fv instanceof Ext2DirVnode;
    await exclusive([this, td, fv, tv], async () => {
      const floc = await dirFind(this, fnb);
      if (floc === null || floc.ino !== fv.ino) throw new KernelError('ENOENT', `'${fname}' is not in directory inode ${this.ino} any more`);
      td.checkAlive();
      checkFlags(this, IMMUTABLE_OR_APPEND, 'rename');
      checkFlags(fv, IMMUTABLE_OR_APPEND, 'rename');
      checkFlags(td, EXT2_IMMUTABLE_FL, 'rename');
      if (tv !== null) checkFlags(tv, IMMUTABLE_OR_APPEND, 'rename');
      const tloc = await dirFind(td, tnb);
      if (tv === null && tloc !== null) throw new KernelError('EEXIST', `'${tname}' appeared in directory inode ${td.ino}`);
      if (tv !== null && (tloc === null || tloc.ino !== tv.ino)) throw new KernelError('ENOENT', `'${tname}' is not in directory inode ${td.ino} any more`);
      if (tv !== null) {
        if (tv instanceof Ext2DirVnode) {
          if (!isDir) throw new KernelError('EISDIR', `ext2fs: cannot replace directory '${tname}' by a non-directory`);
          if (!await dirIsEmpty(tv)) throw new KernelError('ENOTEMPTY', `ext2fs: directory '${tname}' is not empty`);
        } else if (isDir) {
          throw new KernelError('ENOTDIR', `ext2fs: cannot replace '${tname}' by a directory`);
        }
      }
      if (isDir && this !== td && tv === null && td.inode.i_links_count >= td.linkMax()) {
        throw new KernelError('EMLINK', `directory inode ${td.ino} has ${td.inode.i_links_count} links, the most ext2 allows`);
      }
      const now = fs.now();
      const ft = modeToFt(fv.inode.i_mode);
      // the new name first: if that fails (no room), nothing has changed
      if (tv !== null) {
        await dirSetEntry(td, tnb, tv.ino, fv.ino, ft);
        if (tv instanceof Ext2DirVnode) {
          tv.inode.i_links_count = 0;
          if (td.inode.i_links_count > 2) td.inode.i_links_count--;
        } else if (tv.inode.i_links_count > 0) {
          tv.inode.i_links_count--;
        }
        tv.stamp('c', now);
      } else {
        await dirAddEntry(td, tnb, fv.ino, ft);
      }
      await dirRemoveEntry(this, fnb, fv.ino);
      if (isDir && this !== td) {
        await dirSetDotDot(fv as Ext2DirVnode, td.ino);
        if (this.inode.i_links_count > 2) this.inode.i_links_count--;
        if (td.inode.i_links_count !== 1 || !fs.dirNlink) td.inode.i_links_count++;
      }
      fv.stamp('c', now);
      this.stamp('mc', now);
      td.stamp('mc', now);
      await fv.update();
      if (tv !== null) await tv.update();
      await this.update();
      if (td !== this) await td.update();
    });
  }
}
