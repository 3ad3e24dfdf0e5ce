/**
 * fsck_ext2fs: check an ext2 image, and with `repair` fix the common problems (NetBSD
 * fsck_ext2fs(8), e2fsck(8)). The passes are e2fsck's, and so are the classes of problems and
 * the wording of the messages, so that a user who knows e2fsck reads ours:
 *
 *   0  superblock and group descriptors: the geometry, features we understand, every group's
 *      bitmaps and inode table inside the file system and not overlapping other metadata.
 *   1  inodes: every inode in use (links_count > 0) has a valid type, its block pointers lie
 *      inside the file system, no block is claimed twice (1B names the owners), i_blocks and
 *      (for directories) i_size match the blocks, dtime is clear; unused inodes have a dtime.
 *   2  directories: rec_len, name_len and inode numbers of every entry; '.' and '..' first;
 *      entries naming unused inodes; file types; a directory named twice.
 *   3  connectivity: every directory reachable from the root, '..' naming the real parent.
 *   4  reference counts: links_count against the entries counted; unattached inodes.
 *   5  group summaries: block and inode bitmaps against what is in use (with e2fsck's
 *      "+(a--b) -c" notation), free block/inode and directory counts of each group and of the
 *      superblock.
 *
 * With `repair`, fixed: wrong counts (groups and superblock), bitmap differences, wrong link
 * counts, dtime, i_blocks, directory i_size, illegal block pointers (cleared), entries naming
 * unused or invalid inodes (cleared), wrong file types, bad '..' entries, corrupt directory
 * blocks (the rest of the block is cleared), unattached inodes and unconnected directories
 * (moved to /lost+found as #INO when it has room), unattached empty inodes (cleared). Left
 * for e2fsck: blocks claimed twice, bad modes, missing root or lost+found, directory loops.
 *
 * Exit status as fsck(8): 0 clean (or only the superblock's free counts wrong, which e2fsck too
 * treats as harmless when not repairing), 1 errors corrected, 4 errors left uncorrected, 8
 * operational error (not ext2, a feature we do not understand, I/O). ext3 images are checked
 * as ext2 (the journal is a file); ext4-only features (extents, flex_bg, 64bit, checksums, ...)
 * are refused with exit 8 naming the feature. Pure module: I/O through ImageIO, time passed in.
 */

import { KernelError } from '../../../kern/errno.js';
import { view } from '../codec.js';
import { EXT2_FT_DIR, EXT2_FT_UNKNOWN, modeToFt, recLenFromDisk, recLenToDisk } from '../dir_entry.js';
import { emitGroupDesc, groupInfo, parseGroupDesc, type GroupDesc, type GroupInfo } from '../group_desc.js';
import { EXT2_NDIR_BLOCKS, EXT4_EXTENTS_FL, EXT4_HUGE_FILE_FL } from '../inode.js';
import {
  COMPAT_HAS_JOURNAL, COMPAT_RESIZE_INODE, EXT2_DYNAMIC_REV, EXT2_ERROR_FS, EXT2_ROOT_INO, EXT2_VALID_FS, INCOMPAT_FILETYPE,
  INCOMPAT_RECOVER, RO_COMPAT_BTREE_DIR, RO_COMPAT_DIR_NLINK, RO_COMPAT_EXTRA_ISIZE, RO_COMPAT_HUGE_FILE, RO_COMPAT_LARGE_FILE,
  RO_COMPAT_SPARSE_SUPER, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, emitSuperblock, groupHasSuper, incompatNames, parseSuperblock,
  roCompatNames, superblockGeometry, type Geometry, type Superblock,
} from '../superblock.js';
import { parseXattrBlock } from '../xattr.js';
import type { ImageIO } from './io.js';

export interface FsckOptions {
  /** Fix what can be fixed (-y); otherwise open nothing for writing (-n). */
  repair: boolean;
  /** Check even when the superblock says the file system is clean (-f). */
  force: boolean;
  /** Seconds since the epoch (dtime of cleared inodes, last check time). */
  now: number;
  /** Called at the start of each pass and as it goes (pass 1 by inode, pass 2 by directory). */
  onProgress?: (pass: number, done: number, total: number) => void;
}

export interface Problem {
  pass: number;
  /** The class of problem (e.g. 'BLOCK_BITMAP', 'LINK_COUNT'); stable, for scripts and tests. */
  code: string;
  /** e2fsck's wording: "Inode 12 ref count is 5, should be 1." */
  message: string;
  fixed: boolean;
  /** Not an error when left alone (the superblock's free counts: the kernel recounts them). */
  minor: boolean;
}

export interface FsckResult {
  /** 0 clean, 1 corrected, 4 left uncorrected, 8 operational error. */
  exitCode: number;
  problems: Problem[];
  /** The clean superblock made the check unnecessary (no -f). */
  skipped: boolean;
  /** The operational error, when exitCode is 8. */
  error?: string;
  /** "N/M files, B/T blocks" as e2fsck prints it at the end. */
  filesUsed: number;
  filesTotal: number;
  blocksUsed: number;
  blocksTotal: number;
  label: string;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000, S_IFSOCK = 0o140000;
const LOST_FOUND_NAME = new TextEncoder().encode('lost+found');
const RESIZE_INO = 7, BAD_INO = 1;

/** incompat / ro_compat features this checker understands. */
const INCOMPAT_OK = INCOMPAT_FILETYPE;
const RO_COMPAT_OK = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE | RO_COMPAT_BTREE_DIR | RO_COMPAT_HUGE_FILE | RO_COMPAT_DIR_NLINK | RO_COMPAT_EXTRA_ISIZE;

function setBit(m: Uint8Array, i: number): void { m[i >>> 3]! |= 1 << (i & 7); }
function testBit(m: Uint8Array, i: number): boolean { return (m[i >>> 3]! & (1 << (i & 7))) !== 0; }

/** "+(1--3) -7 +9": e2fsck's list of bitmap differences. */
function rangeList(items: readonly { n: number; sign: '+' | '-' }[]): string {
  const out: string[] = [];
  for (let i = 0; i < items.length;) {
    let j = i;
    while (j + 1 < items.length && items[j + 1]!.n === items[j]!.n + 1 && items[j + 1]!.sign === items[i]!.sign) j++;
    const a = items[i]!, b = items[j]!;
    out.push(a.n === b.n ? `${a.sign}${a.n}` : `${a.sign}(${a.n}--${b.n})`);
    i = j + 1;
  }
  return out.join(' ');
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * The fields of an on-disk inode the checker reads and fixes, in place over the bytes (an inode
 * table read whole, or one inode): no copy and no record per inode, which matters when a pass
 * visits every inode of the file system.
 */
class RawInode {
  readonly #dv: DataView;
  readonly #b: Uint8Array;
  readonly #off: number;
  readonly #size: number;
  constructor(b: Uint8Array, off: number, size: number) {
    this.#b = b;
    this.#dv = view(b);
    this.#off = off;
    this.#size = size;
  }
  #u16(at: number): number { return this.#dv.getUint16(this.#off + at, true); }
  #u32(at: number): number { return this.#dv.getUint32(this.#off + at, true); }
  #set16(at: number, v: number): void { this.#dv.setUint16(this.#off + at, v, true); }
  #set32(at: number, v: number): void { this.#dv.setUint32(this.#off + at, v, true); }
  get i_mode(): number { return this.#u16(0x00); }
  get i_size(): number { return this.#u32(0x04); }
  set i_size(v: number) { this.#set32(0x04, v); }
  get i_dtime(): number { return this.#u32(0x14); }
  set i_dtime(v: number) { this.#set32(0x14, v); }
  get i_links_count(): number { return this.#u16(0x1a); }
  set i_links_count(v: number) { this.#set16(0x1a, v); }
  get i_blocks(): number { return this.#u32(0x1c); }
  set i_blocks(v: number) { this.#set32(0x1c, v); }
  get i_flags(): number { return this.#u32(0x20); }
  get i_file_acl(): number { return this.#u32(0x68); }
  set i_file_acl(v: number) { this.#set32(0x68, v); }
  get i_size_high(): number { return this.#u32(0x6c); }
  set i_size_high(v: number) { this.#set32(0x6c, v); }
  get l_i_blocks_hi(): number { return this.#u16(0x74); }
  set l_i_blocks_hi(v: number) { this.#set16(0x74, v); }
  /** i_block, aliasing the bytes (changes to it change the inode). */
  get i_block(): Uint8Array { return this.#b.subarray(this.#off + 0x28, this.#off + 0x64); }
  get bytes(): Uint8Array { return this.#b.subarray(this.#off, this.#off + this.#size); }
}

/** Why the check stopped (exit 8). */
class Operational extends Error {}

interface DirInfo {
  /** Physical blocks by logical block (0 = hole). */
  blocks: number[];
}

class Checker {
  readonly io: ImageIO;
  readonly o: FsckOptions;
  readonly problems: Problem[] = [];
  sb!: Superblock;
  geo!: Geometry;
  bs = 0;
  descs: GroupDesc[] = [];
  infos: GroupInfo[] = [];
  filetype = false;
  /** Blocks in use as found (metadata + inodes), blocks claimed twice. */
  used!: Uint8Array;
  readonly dups = new Set<number>();
  /** Per inode: in use, EXT2_FT_* type, links_count on disk, references counted. */
  inUse!: Uint8Array;
  ftype!: Uint8Array;
  links!: Uint16Array;
  refs!: Uint32Array;
  /** Directory that holds the (first) entry naming a directory; the '..' it has. */
  foundParent!: Uint32Array;
  dotdot!: Uint32Array;
  readonly dirName = new Map<number, Uint8Array>();
  readonly dirs = new Map<number, DirInfo>();
  /** Inodes with no blocks and size 0 (unattached ones are cleared rather than reconnected). */
  empty!: Uint8Array;
  readonly xattrRefs = new Map<number, number>();
  lostFound = 0;
  blockBitmaps: Uint8Array[] = [];
  inodeBitmaps: Uint8Array[] = [];

  constructor(io: ImageIO, o: FsckOptions) {
    this.io = io;
    this.o = o;
  }

  problem(pass: number, code: string, message: string, fixable: boolean, minor = false): boolean {
    const fixed = fixable && this.o.repair;
    this.problems.push({ pass, code, message, fixed, minor });
    return fixed;
  }

  async readBlock(b: number): Promise<Uint8Array> {
    return this.io.read(b * this.bs, this.bs);
  }

  async writeBlock(b: number, data: Uint8Array): Promise<void> {
    if (!this.o.repair) throw new KernelError('EROFS', 'fsck: write without repair');
    await this.io.write(b * this.bs, data);
  }

  inodeOffset(ino: number): number {
    const g = Math.floor((ino - 1) / this.geo.inodesPerGroup);
    const idx = (ino - 1) % this.geo.inodesPerGroup;
    return this.infos[g]!.inodeTable * this.bs + idx * this.geo.inodeSize;
  }

  async readInode(ino: number): Promise<RawInode> {
    return new RawInode(await this.io.read(this.inodeOffset(ino), this.geo.inodeSize), 0, this.geo.inodeSize);
  }

  async writeInode(ino: number, inode: RawInode): Promise<void> {
    if (!this.o.repair) throw new KernelError('EROFS', 'fsck: write without repair');
    await this.io.write(this.inodeOffset(ino), inode.bytes);
  }

  claim(b: number): boolean {
    const i = b;
    if (testBit(this.used, i)) {
      this.dups.add(b);
      return false;
    }
    setBit(this.used, i);
    return true;
  }

  // ---- pass 0 ----------------------------------------------------------------------------

  async pass0(): Promise<boolean> {
    if (this.io.size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) throw new Operational(`the image (${this.io.size} bytes) is too small to hold an ext2 superblock`);
    try {
      this.sb = parseSuperblock(await this.io.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
      this.geo = superblockGeometry(this.sb, this.io.size);
    } catch (e) {
      if (e instanceof KernelError && e.code === 'EFTYPE') throw new Operational(`bad superblock: ${e.detail ?? e.message}`);
      throw e;
    }
    const sb = this.sb, geo = this.geo;
    this.bs = geo.blockSize;
    if ((geo.incompat & INCOMPAT_RECOVER) !== 0) throw new Operational('the journal needs recovery (needs_recovery is set): replay it with e2fsck first');
    const badIn = geo.incompat & ~INCOMPAT_OK;
    if (badIn !== 0) throw new Operational(`feature${incompatNames(badIn).length > 1 ? 's' : ''} ${incompatNames(badIn).join(', ')} not supported by fsck_ext2fs (ext2 and ext3 only)`);
    const badRo = geo.roCompat & ~RO_COMPAT_OK;
    if (badRo !== 0) throw new Operational(`feature${roCompatNames(badRo).length > 1 ? 's' : ''} ${roCompatNames(badRo).join(', ')} not supported by fsck_ext2fs (ext2 and ext3 only)`);
    if (geo.clusterRatio !== 1) throw new Operational('bigalloc is not supported by fsck_ext2fs');
    this.filetype = (geo.incompat & INCOMPAT_FILETYPE) !== 0;
    if (!this.o.force && (sb.s_state & EXT2_VALID_FS) !== 0 && (sb.s_state & EXT2_ERROR_FS) === 0) return false;

    // descriptors
    const gdtStart = geo.firstDataBlock + 1;
    const gdt = await this.io.read(gdtStart * this.bs, geo.gdtBlocks * this.bs);
    for (let g = 0; g < geo.groupCount; g++) {
      const d = parseGroupDesc(gdt, g * geo.descSize, geo.descSize);
      this.descs.push(d);
      this.infos.push(groupInfo(d));
    }
    this.used = new Uint8Array(Math.ceil(geo.blocksCount / 8));
    for (let b = 0; b < geo.firstDataBlock; b++) setBit(this.used, b);
    const reservedGdt = sb.s_reserved_gdt_blocks;
    for (let g = 0; g < geo.groupCount; g++) {
      const first = geo.firstDataBlock + g * geo.blocksPerGroup;
      const last = Math.min(first + geo.blocksPerGroup, geo.blocksCount) - 1;
      if (groupHasSuper(sb, geo, g)) {
        for (let b = first; b < first + 1 + geo.gdtBlocks + reservedGdt && b <= last; b++) this.claim(b);
      }
      const gi = this.infos[g]!;
      const inGroup = (b: number, n: number): boolean => b >= first && b + n - 1 <= last;
      for (const [what, b, n] of [['Block bitmap', gi.blockBitmap, 1], ['Inode bitmap', gi.inodeBitmap, 1], ['Inode table', gi.inodeTable, geo.inodeTableBlocks]] as const) {
        if (!inGroup(b, n)) {
          throw new Operational(`${what} for group ${g} is not in group. (block ${b}): the descriptors are corrupt; try e2fsck with a backup superblock`);
        }
        for (let i = 0; i < n; i++) {
          if (!this.claim(b + i)) throw new Operational(`${what} for group ${g} at block ${b + i} overlaps other metadata`);
        }
      }
    }
    this.dups.clear();
    // bitmaps as on disk
    for (let g = 0; g < geo.groupCount; g++) {
      this.blockBitmaps.push(await this.readBlock(this.infos[g]!.blockBitmap));
      this.inodeBitmaps.push(await this.readBlock(this.infos[g]!.inodeBitmap));
    }
    const n = geo.inodesCount + 1;
    this.inUse = new Uint8Array(n);
    this.ftype = new Uint8Array(n);
    this.links = new Uint16Array(n);
    this.refs = new Uint32Array(n);
    this.foundParent = new Uint32Array(n);
    this.dotdot = new Uint32Array(n);
    this.empty = new Uint8Array(n);
    return true;
  }

  // ---- pass 1 ----------------------------------------------------------------------------

  /**
   * Walk the block map of `ino`: claim every block (data and indirect), clear illegal pointers
   * when repairing, and return the count, the last logical block, and the data blocks of a
   * directory. Indirect blocks already claimed are not descended into (a hostile image cannot
   * make the walk revisit blocks). `rescan` collects the blocks only (pass 1B).
   */
  async walkBlocks(ino: number, inode: { readonly i_block: Uint8Array }, wantList: boolean, onBlock?: (b: number, indirect: boolean) => boolean): Promise<{ count: number; last: number; list: number[]; illegal: number; inodeChanged: boolean; incomplete: boolean }> {
    const geo = this.geo;
    const a = this.bs / 4;
    const dv = view(inode.i_block);
    const list: number[] = [];
    let count = 0, last = -1, illegal = 0;
    let inodeChanged = false, incomplete = false;
    const legal = (p: number): boolean => p >= geo.firstDataBlock && p < geo.blocksCount && !(p === 0);
    const claimOrVisit = (p: number, indirect: boolean): boolean => onBlock !== undefined ? onBlock(p, indirect) : this.claim(p);
    const data = (lblk: number, p: number): void => {
      claimOrVisit(p, false);
      count++;
      last = lblk;
      if (wantList) {
        while (list.length < lblk) list.push(0);
        list.push(p);
      }
    };
    const report = (lblk: number, p: number): void => {
      illegal++;
      if (illegal <= 12) this.pendingIllegal.push(`Illegal block #${lblk} (${p}) in inode ${ino}.`);
    };
    for (let i = 0; i < EXT2_NDIR_BLOCKS; i++) {
      const p = dv.getUint32(i * 4, true);
      if (p === 0) continue;
      if (!legal(p)) {
        report(i, p);
        if (this.o.repair && onBlock === undefined) { dv.setUint32(i * 4, 0, true); inodeChanged = true; }
        continue;
      }
      data(i, p);
    }
    const walkInd = async (p: number, depth: number, base: number): Promise<void> => {
      const fresh = claimOrVisit(p, true);
      count++;
      if (!fresh) {
        // claimed before: not read again, so what it maps is unknown
        incomplete = true;
        return;
      }
      const blk = await this.readBlock(p);
      const bv = view(blk);
      const span = a ** (depth - 1);
      let changed = false;
      for (let i = 0; i < a; i++) {
        const q = bv.getUint32(i * 4, true);
        if (q === 0) continue;
        const lblk = base + i * span;
        if (!legal(q)) {
          report(lblk, q);
          if (this.o.repair && onBlock === undefined) { bv.setUint32(i * 4, 0, true); changed = true; }
          continue;
        }
        if (depth === 1) data(lblk, q);
        else await walkInd(q, depth - 1, lblk);
      }
      if (changed) await this.writeBlock(p, blk);
    };
    let base = EXT2_NDIR_BLOCKS;
    for (let depth = 1; depth <= 3; depth++) {
      const p = dv.getUint32((EXT2_NDIR_BLOCKS + depth - 1) * 4, true);
      if (p !== 0) {
        if (!legal(p)) {
          report(base, p);
          if (this.o.repair && onBlock === undefined) { dv.setUint32((EXT2_NDIR_BLOCKS + depth - 1) * 4, 0, true); inodeChanged = true; }
        } else {
          await walkInd(p, depth, base);
        }
      }
      base += a ** depth;
    }
    return { count, last, list, illegal, inodeChanged, incomplete };
  }

  pendingIllegal: string[] = [];

  async pass1(): Promise<void> {
    const geo = this.geo, sb = this.sb;
    const ipg = geo.inodesPerGroup;
    const isz = geo.inodeSize;
    const hugeFile = (geo.roCompat & RO_COMPAT_HUGE_FILE) !== 0;
    const journalIno = (geo.compat & COMPAT_HAS_JOURNAL) !== 0 ? sb.s_journal_inum : 0;
    for (let g = 0; g < geo.groupCount; g++) {
      this.o.onProgress?.(1, g, geo.groupCount);
      const table = await this.io.read(this.infos[g]!.inodeTable * this.bs, geo.inodeTableBlocks * this.bs);
      const tv = view(table);
      for (let i = 0; i < ipg; i++) {
        const ino = g * ipg + i + 1;
        const off = i * isz;
        const mode = tv.getUint16(off, true);
        const linksCount = tv.getUint16(off + 0x1a, true);
        const dtime = tv.getUint32(off + 0x14, true);
        const reserved = ino < geo.firstIno && ino !== EXT2_ROOT_INO;
        if (reserved) {
          if (ino === BAD_INO || ino === journalIno) {
            // walk their blocks (bad blocks list, the journal) so they count as used
            const inode = new RawInode(table, off, isz);
            if (ino === journalIno || inode.i_blocks !== 0) {
              const r = await this.walkBlocks(ino, inode, false);
              await this.flushIllegal(ino, inode, r.illegal, r.inodeChanged);
            }
          } else if (ino === RESIZE_INO && (geo.compat & COMPAT_RESIZE_INODE) !== 0) {
            // the resize inode: its double indirect block; the reserved GDT blocks it maps are metadata
            const dind = tv.getUint32(off + 0x28 + 13 * 4, true);
            if (dind >= geo.firstDataBlock && dind < geo.blocksCount) this.claim(dind);
          }
          continue;
        }
        if (linksCount === 0) {
          // not in use; its type still tells what an entry naming it should say (e2fsck's view)
          if (mode !== 0) this.ftype[ino] = modeToFt(mode);
          if (dtime === 0 && mode !== 0 && ino >= geo.firstIno) {
            if (this.problem(1, 'ZERO_DTIME', `Deleted inode ${ino} has zero dtime.`, true)) {
              const inode = new RawInode(table, off, isz);
              inode.i_dtime = this.o.now >>> 0;
              await this.writeInode(ino, inode);
            }
          }
          continue;
        }
        const inode = new RawInode(table, off, isz);
        const fmt = mode & S_IFMT;
        if (![S_IFDIR, S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK].includes(fmt)) {
          this.problem(1, 'BAD_MODE', `Inode ${ino} has bad mode (0${mode.toString(8)}).`, false);
          // still counted as in use with an unknown type (e2fsck would clear it)
          this.inUse[ino] = 1;
          this.links[ino] = linksCount;
          this.ftype[ino] = EXT2_FT_UNKNOWN;
          continue;
        }
        if (ino === EXT2_ROOT_INO && fmt !== S_IFDIR) throw new Operational(`the root inode is not a directory (mode 0${mode.toString(8)})`);
        this.inUse[ino] = 1;
        this.links[ino] = linksCount;
        this.ftype[ino] = modeToFt(mode);
        let inodeDirty = false;
        if (dtime !== 0) {
          if (this.problem(1, 'INUSE_DTIME', `Inode ${ino} is in use, but has dtime set.`, true)) { inode.i_dtime = 0; inodeDirty = true; }
        }
        if ((inode.i_flags & EXT4_EXTENTS_FL) !== 0) {
          this.problem(1, 'EXTENTS_FLAG', `Inode ${ino} has EXTENTS_FL flag set on filesystem without extents support.`, false);
          continue;
        }
        // which inodes have blocks: directories, regular files, slow symlinks
        const acl = inode.i_file_acl;
        const aclBlocks = acl !== 0 ? this.bs / 512 : 0;
        const blocksRaw = (hugeFile ? inode.l_i_blocks_hi * 0x1_0000_0000 : 0) + inode.i_blocks;
        const blocks512 = hugeFile && (inode.i_flags & EXT4_HUGE_FILE_FL) !== 0 ? blocksRaw * (this.bs / 512) : blocksRaw;
        const fastLink = fmt === S_IFLNK && blocks512 - aclBlocks === 0;
        const hasBlocks = fmt === S_IFDIR || fmt === S_IFREG || (fmt === S_IFLNK && !fastLink);
        let count = 0, last = -1, incomplete = false;
        if (hasBlocks) {
          const r = await this.walkBlocks(ino, inode, fmt === S_IFDIR);
          count = r.count;
          last = r.last;
          incomplete = r.incomplete;
          if (await this.flushIllegal(ino, inode, r.illegal, r.inodeChanged)) inodeDirty = false; // written there
          if (fmt === S_IFDIR) this.dirs.set(ino, { blocks: r.list });
        }
        if (acl !== 0) {
          if (acl < geo.firstDataBlock || acl >= geo.blocksCount) {
            if (this.problem(1, 'BAD_XATTR_BLOCK', `Inode ${ino} has a bad extended attribute block ${acl}.`, true)) { inode.i_file_acl = 0; inodeDirty = true; }
          } else {
            const n = this.xattrRefs.get(acl) ?? 0;
            if (n === 0) this.claim(acl);
            this.xattrRefs.set(acl, n + 1);
            count++;
          }
        }
        // i_blocks
        const want512 = count * (this.bs / 512);
        const hugeUnits = hugeFile && (inode.i_flags & EXT4_HUGE_FILE_FL) !== 0;
        if (blocks512 !== want512 && !incomplete) {
          if (this.problem(1, 'BAD_I_BLOCKS', `Inode ${ino}, i_blocks is ${blocks512}, should be ${want512}.`, true)) {
            inode.i_blocks = hugeUnits ? count : want512 % 0x1_0000_0000;
            inode.l_i_blocks_hi = hugeFile ? Math.floor((hugeUnits ? count : want512) / 0x1_0000_0000) : inode.l_i_blocks_hi;
            inodeDirty = true;
          }
        }
        // sizes
        const size = fmt === S_IFREG ? inode.i_size_high * 0x1_0000_0000 + inode.i_size : inode.i_size;
        if (incomplete) {
          // sizes cannot be judged from a partial block map
        } else if (fmt === S_IFDIR) {
          const want = (last + 1) * this.bs;
          if (size !== want) {
            if (this.problem(1, 'BAD_I_SIZE', `Inode ${ino}, i_size is ${size}, should be ${want}.`, true)) { inode.i_size = want; inodeDirty = true; }
          }
        } else if (fmt === S_IFREG && last >= 0 && size < last * this.bs) {
          const want = (last + 1) * this.bs;
          if (this.problem(1, 'BAD_I_SIZE', `Inode ${ino}, i_size is ${size}, should be ${want}.`, true)) {
            inode.i_size = want % 0x1_0000_0000;
            inode.i_size_high = Math.floor(want / 0x1_0000_0000);
            inodeDirty = true;
          }
        } else if (fmt === S_IFLNK) {
          if (fastLink ? size >= 60 : size >= this.bs || count !== 1) {
            this.problem(1, 'BAD_SYMLINK', `Symlink inode ${ino} is invalid (size ${size}, ${count} block${count === 1 ? '' : 's'}).`, false);
          }
        }
        if (size === 0 && count === 0) this.empty[ino] = 1;
        if (inodeDirty) await this.writeInode(ino, inode);
      }
    }
    this.o.onProgress?.(1, geo.groupCount, geo.groupCount);
    // attribute blocks shared by several inodes: their reference counts
    for (const [blk, n] of this.xattrRefs) {
      const b = await this.readBlock(blk);
      let refcount: number;
      try {
        refcount = parseXattrBlock(b, `extended attribute block ${blk}`).header.h_refcount;
      } catch {
        this.problem(1, 'BAD_XATTR_BLOCK', `Extended attribute block ${blk} is corrupt.`, false);
        continue;
      }
      if (refcount !== n) {
        if (this.problem(1, 'XATTR_REFCOUNT', `Extended attribute block ${blk} has reference count ${refcount}, should be ${n}.`, true)) {
          view(b).setUint32(4, n, true);
          await this.writeBlock(blk, b);
        }
      }
    }
    if (this.dups.size > 0) await this.pass1b();
  }

  /** Report the illegal blocks of an inode; returns whether the inode was written. */
  async flushIllegal(ino: number, inode: RawInode, illegal: number, inodeChanged: boolean): Promise<boolean> {
    if (illegal === 0) return false;
    const lines = this.pendingIllegal.splice(0);
    const more = illegal > lines.length ? `\nToo many illegal blocks in inode ${ino} (${illegal}).` : '';
    const fixed = this.problem(1, 'ILLEGAL_BLOCK', `Inode ${ino} has illegal block(s).\n${lines.join('\n')}${more}`, true);
    if (fixed && inodeChanged) {
      await this.writeInode(ino, inode);
      return true;
    }
    return false;
  }

  /** Pass 1B: who claims the blocks claimed twice (metadata counts as an owner). */
  async pass1b(): Promise<void> {
    const geo = this.geo;
    const owners = new Map<number, number[]>();
    for (const b of this.dups) owners.set(b, []);
    const perInode = new Map<number, number[]>();
    const seenIndirect = new Set<number>();
    for (let ino = 1; ino <= geo.inodesCount; ino++) {
      if (this.inUse[ino] !== 1 || (this.ftype[ino] !== 1 && this.ftype[ino] !== 2 && this.ftype[ino] !== 7)) continue;
      const inode = await this.readInode(ino);
      if ((inode.i_flags & EXT4_EXTENTS_FL) !== 0) continue;
      const mine: number[] = [];
      await this.walkBlocks(ino, inode, false, (b, indirect) => {
        if (this.dups.has(b)) mine.push(b);
        if (!indirect) return true;
        if (seenIndirect.has(b)) return false;
        seenIndirect.add(b);
        return true;
      });
      this.pendingIllegal.length = 0;
      if (inode.i_file_acl !== 0 && this.dups.has(inode.i_file_acl)) mine.push(inode.i_file_acl);
      if (mine.length > 0) {
        perInode.set(ino, mine);
        for (const b of mine) owners.get(b)?.push(ino);
      }
    }
    const lines: string[] = [];
    for (const [ino, bl] of perInode) lines.push(`Multiply-claimed block(s) in inode ${ino}: ${bl.join(' ')}`);
    const meta = [...this.dups].filter((b) => (owners.get(b)?.length ?? 0) < 2);
    if (meta.length > 0) lines.push(`Multiply-claimed block(s) shared with file system metadata: ${meta.join(' ')}`);
    lines.push(`(There are ${perInode.size} inodes containing multiply-claimed blocks.)`);
    this.problem(1, 'DUP_BLOCK', lines.join('\n'), false);
  }

  // ---- pass 2 ----------------------------------------------------------------------------

  readonly deferred: (() => void)[] = [];

  /** A pass-2 problem whose message names paths, known only once every directory is read. */
  problem2(code: string, fixable: boolean, message: () => string): boolean {
    const fixed = this.problem(2, code, '', fixable);
    const pr = this.problems[this.problems.length - 1]!;
    this.deferred.push(() => { pr.message = message(); });
    return fixed;
  }

  path(ino: number): string {
    if (ino === EXT2_ROOT_INO) return '/';
    const parts: string[] = [];
    let cur = ino;
    for (let depth = 0; depth < 64 && cur !== EXT2_ROOT_INO; depth++) {
      const name = this.dirName.get(cur);
      const parent = this.foundParent[cur] ?? 0;
      if (name === undefined || parent === 0) return parts.length === 0 ? '???' : `???/${parts.reverse().join('/')}`;
      parts.push(utf8.decode(name));
      cur = parent;
    }
    return cur === EXT2_ROOT_INO ? `/${parts.reverse().join('/')}` : '...';
  }

  async pass2(): Promise<void> {
    const bs = this.bs;
    let done = 0;
    for (const [dirIno, info] of this.dirs) {
      this.o.onProgress?.(2, done++, this.dirs.size);
      if (info.blocks.length === 0) {
        this.problem(2, 'MISSING_DOT', `Missing '.' in directory inode ${dirIno}: it has no blocks.`, false);
        continue;
      }
      // read contiguous runs at once
      for (let lblk = 0; lblk < info.blocks.length;) {
        const p0 = info.blocks[lblk]!;
        if (p0 === 0) {
          this.problem(2, 'DIR_HOLE', `Directory inode ${dirIno} has an unallocated block #${lblk}.`, false);
          lblk++;
          continue;
        }
        let n = 1;
        while (lblk + n < info.blocks.length && info.blocks[lblk + n] === p0 + n && n < 256) n++;
        const run = await this.io.read(p0 * bs, n * bs);
        for (let k = 0; k < n; k++) {
          const blk = run.subarray(k * bs, (k + 1) * bs);
          if (await this.checkDirBlock(dirIno, lblk + k, blk)) await this.writeBlock(p0 + k, blk);
        }
        lblk += n;
      }
    }
    this.o.onProgress?.(2, this.dirs.size, this.dirs.size);
    for (const f of this.deferred.splice(0)) f();
  }

  /** Check one directory block; returns whether it was modified (repair). */
  async checkDirBlock(dirIno: number, lblk: number, blk: Uint8Array): Promise<boolean> {
    const geo = this.geo;
    const bs = this.bs;
    const dv = view(blk);
    let dirty = false;
    let off = 0;
    let index = 0;
    const where = (o: number): string => `directory inode ${dirIno}, block #${lblk}, offset ${o}`;
    while (off < bs) {
      const left = bs - off;
      const recLen = left >= 8 ? recLenFromDisk(dv.getUint16(off + 4, true), bs) : 0;
      const nameLen = left >= 8 ? (this.filetype ? blk[off + 6]! : dv.getUint16(off + 6, true)) : 0;
      if (left < 8 || recLen < 8 || (recLen & 3) !== 0 || off + recLen > bs || 8 + nameLen > recLen || nameLen > 255) {
        const detail = left < 8 ? `${left} bytes left` : `rec_len ${recLen}, name_len ${nameLen}`;
        const o0 = off;
        const fixed = this.problem(2, 'DIR_CORRUPT', `Directory entry in ${where(o0)} is corrupted (${detail}). Salvage: clear the rest of the block.`, true);
        if (fixed) {
          // the rest of the block becomes one empty entry (or is merged into the previous one)
          if (left >= 8 && off > 0 && (left & 3) === 0) {
            dv.setUint32(off, 0, true);
            dv.setUint16(off + 4, recLenToDisk(left, bs), true);
            dv.setUint16(off + 6, 0, true);
          } else if (off === 0) {
            dv.setUint32(0, 0, true);
            dv.setUint16(4, recLenToDisk(bs, bs), true);
            dv.setUint16(6, 0, true);
          } else {
            // extend the previous entry over the tail
            let p = 0, prev = 0;
            while (p < off) { prev = p; p += recLenFromDisk(dv.getUint16(p + 4, true), bs); }
            dv.setUint16(prev + 4, recLenToDisk(bs - prev, bs), true);
          }
          dirty = true;
        }
        break;
      }
      const ino = dv.getUint32(off, true);
      const ft = this.filetype ? blk[off + 7]! : 0;
      const name = blk.subarray(off + 8, off + 8 + nameLen);
      const isDot = nameLen === 1 && name[0] === 0x2e;
      const isDotDot = nameLen === 2 && name[0] === 0x2e && name[1] === 0x2e;
      const entryOff = off;
      const first = lblk === 0 && index === 0;
      const second = lblk === 0 && index === 1;
      let nameCache: string | undefined;
      const nameOf = (): string => (nameCache ??= utf8.decode(name));
      const clearEntry = (): void => {
        dv.setUint32(entryOff, 0, true);
        dirty = true;
      };
      if (first) {
        if (!isDot) {
          this.problem(2, 'MISSING_DOT', `Missing '.' in directory inode ${dirIno}.`, false);
        } else if (ino !== dirIno) {
          const fixed = this.problem(2, 'BAD_DOT', `'.' directory entry in directory inode ${dirIno} is not correct (inode ${ino}).`, true);
          if (fixed) { dv.setUint32(entryOff, dirIno, true); dirty = true; }
          this.refs[dirIno]!++;
        } else {
          this.refs[dirIno]!++;
        }
      } else if (second) {
        if (!isDotDot) {
          this.problem(2, 'MISSING_DOTDOT', `Missing '..' in directory inode ${dirIno}.`, false);
        } else {
          this.dotdot[dirIno] = ino;
          // counted for the parent in pass 3, once the real parent is known
        }
      } else if (ino !== 0) {
        if (isDot || isDotDot) {
          const fixed = this.problem(2, 'DUP_DOT', `Entry '${nameOf()}' in directory inode ${dirIno} is a duplicate '${nameOf()}' entry.`, true);
          if (fixed) clearEntry();
        } else if (ino > geo.inodesCount || (ino < geo.firstIno && ino !== EXT2_ROOT_INO) || ino === 0) {
          if (this.problem2('BAD_INODE_ENTRY', true, () => `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) has bad inode #: ${ino}.`)) clearEntry();
        } else if (this.inUse[ino] !== 1) {
          if (this.problem2('UNUSED_INODE_ENTRY', true, () => `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) has deleted/unused inode ${ino}.`)) clearEntry();
          else if (this.filetype && ft !== this.ftype[ino]) {
            // left in place, the entry's type no longer matches the (cleared) inode: e2fsck says so too
            const want = this.ftype[ino]!;
            this.problem2('BAD_FILETYPE', false, () => `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) has an incorrect filetype (was ${ft}, should be ${want}).`);
          }
        } else if (ino === EXT2_ROOT_INO || (this.ftype[ino] === EXT2_FT_DIR && this.foundParent[ino] !== 0)) {
          const other = this.foundParent[ino]!;
          if (this.problem2('DIR_HARDLINK', true, () =>
            `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) is a link to directory ${this.path(ino)} (${ino})${other !== 0 ? `, already in ${this.path(other)} (${other})` : ''}.`)) clearEntry();
        } else {
          if (name.includes(0x2f) || name.includes(0)) {
            nameOf(); // the name as found, before the fix changes it
            if (this.problem2('BAD_NAME', true, () => `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) has illegal characters in its name.`)) {
              for (let i = 0; i < nameLen; i++) if (blk[entryOff + 8 + i] === 0x2f || blk[entryOff + 8 + i] === 0) blk[entryOff + 8 + i] = 0x2e;
              dirty = true;
            }
          }
          if (this.filetype) {
            const want = this.ftype[ino]!;
            if (ft !== want) {
              if (this.problem2('BAD_FILETYPE', true, () => `Entry '${nameOf()}' in ${this.path(dirIno)} (${dirIno}) has an incorrect filetype (was ${ft}, should be ${want}).`)) {
                blk[entryOff + 7] = want;
                dirty = true;
              }
            }
          }
          this.refs[ino]!++;
          if (this.ftype[ino] === EXT2_FT_DIR) {
            this.foundParent[ino] = dirIno;
            this.dirName.set(ino, name.slice());
            if (dirIno === EXT2_ROOT_INO && nameLen === LOST_FOUND_NAME.length && name.every((c, i) => c === LOST_FOUND_NAME[i])) this.lostFound = ino;
          }
        }
      }
      off += recLen;
      index++;
    }
    return dirty && this.o.repair;
  }

  // ---- pass 3 ----------------------------------------------------------------------------

  /** Add an entry `name` -> `ino` to lost+found; false if it has no room or there is none. */
  async addToLostFound(ino: number): Promise<boolean> {
    const lf = this.lostFound;
    const info = this.dirs.get(lf);
    if (lf === 0 || info === undefined) return false;
    const name = new TextEncoder().encode(`#${ino}`);
    const need = (8 + name.length + 3) & ~3;
    const bs = this.bs;
    for (const p of info.blocks) {
      if (p === 0) continue;
      const blk = await this.readBlock(p);
      const dv = view(blk);
      for (let off = 0; off < bs;) {
        const recLen = recLenFromDisk(dv.getUint16(off + 4, true), bs);
        if (recLen < 8 || off + recLen > bs) break;
        const used = dv.getUint32(off, true) !== 0;
        const nl = this.filetype ? blk[off + 6]! : dv.getUint16(off + 6, true);
        const actual = used ? (8 + nl + 3) & ~3 : 0;
        if (recLen - actual >= need) {
          let at = off;
          if (used) {
            dv.setUint16(off + 4, recLenToDisk(actual, bs), true);
            at = off + actual;
          }
          dv.setUint32(at, ino, true);
          dv.setUint16(at + 4, recLenToDisk(recLen - actual, bs), true);
          if (this.filetype) { blk[at + 6] = name.length; blk[at + 7] = this.ftype[ino]!; } else dv.setUint16(at + 6, name.length, true);
          blk.set(name, at + 8);
          await this.writeBlock(p, blk);
          return true;
        }
        off += recLen;
      }
    }
    return false;
  }

  /** Point the '..' of directory `dir` at `parent`. */
  async setDotDot(dir: number, parent: number): Promise<void> {
    const p = this.dirs.get(dir)?.blocks[0];
    if (p === undefined || p === 0) return;
    const blk = await this.readBlock(p);
    const dv = view(blk);
    const first = recLenFromDisk(dv.getUint16(4, true), this.bs);
    if (first < 12 || first + 12 > this.bs) return;
    dv.setUint32(first, parent, true);
    await this.writeBlock(p, blk);
  }

  async pass3(): Promise<void> {
    const geo = this.geo;
    if (this.inUse[EXT2_ROOT_INO] !== 1) {
      throw new Operational('the root inode is not allocated: run e2fsck to make a new root directory');
    }
    this.foundParent[EXT2_ROOT_INO] = EXT2_ROOT_INO;
    // reachable from the root over found parents
    const reached = new Uint8Array(geo.inodesCount + 1);
    const children = new Map<number, number[]>();
    for (const d of this.dirs.keys()) {
      const p = this.foundParent[d]!;
      if (d === EXT2_ROOT_INO || p === 0) continue;
      const c = children.get(p);
      if (c === undefined) children.set(p, [d]); else c.push(d);
    }
    const stack = [EXT2_ROOT_INO];
    reached[EXT2_ROOT_INO] = 1;
    while (stack.length > 0) {
      const d = stack.pop()!;
      for (const c of children.get(d) ?? []) if (reached[c] !== 1) { reached[c] = 1; stack.push(c); }
    }
    for (const d of this.dirs.keys()) {
      if (reached[d] === 1) continue;
      const was = this.dotdot[d]!;
      if (this.foundParent[d] === 0) {
        const lf = this.lostFound;
        let fixed = false;
        if (this.o.repair && lf !== 0 && lf !== d && (await this.addToLostFound(d))) {
          fixed = true;
          this.foundParent[d] = lf;
          this.dirName.set(d, new TextEncoder().encode(`#${d}`));
          this.refs[d]!++;
          reached[d] = 1;
        }
        this.problems.push({
          pass: 3, code: 'UNCONNECTED_DIR', minor: false, fixed,
          message: `Unconnected directory inode ${d} (was in ${was !== 0 && this.dirs.has(was) ? `${this.path(was)} (${was})` : `??? (${was})`})${fixed ? '; connected to /lost+found' : lf === 0 ? '; /lost+found not found' : ''}.`,
        });
      } else {
        this.problem(3, 'DIR_LOOP', `Directory inode ${d} is not reachable from the root (a directory loop).`, false);
      }
    }
    // '..' against the parent the entries say
    const name = (i: number): string => i === 0 ? '<The NULL inode>' : this.dirs.has(i) ? this.path(i) : '???';
    for (const d of this.dirs.keys()) {
      const want = this.foundParent[d]!;
      const have = this.dotdot[d]!;
      if (have !== want) {
        const fixed = this.problem(3, 'BAD_DOTDOT', `'..' in ${want === 0 ? '...' : this.path(d)} (${d}) is ${name(have)} (${have}), should be ${name(want)} (${want}).`, want !== 0);
        if (fixed) {
          await this.setDotDot(d, want);
          this.dotdot[d] = want;
        }
      }
      // the '..' entry is a reference to whatever it names (fixed or not)
      const target = this.dotdot[d]!;
      if (target !== 0 && target <= geo.inodesCount && this.inUse[target] === 1) this.refs[target]!++;
    }
  }

  // ---- pass 4 ----------------------------------------------------------------------------

  async pass4(): Promise<void> {
    const geo = this.geo;
    for (let ino = 1; ino <= geo.inodesCount; ino++) {
      if (this.inUse[ino] !== 1) continue;
      if (ino < geo.firstIno && ino !== EXT2_ROOT_INO) continue;
      let refs = this.refs[ino]!;
      if (refs === 0) {
        if (this.empty[ino] === 1 && this.ftype[ino] !== EXT2_FT_DIR) {
          const fixed = this.problem(4, 'UNATTACHED_ZERO', `Unattached zero-length inode ${ino}.`, true);
          if (fixed) {
            const inode = await this.readInode(ino);
            inode.i_links_count = 0;
            inode.i_dtime = this.o.now >>> 0;
            await this.writeInode(ino, inode);
            this.inUse[ino] = 0;
          }
          continue;
        }
        const fixed = this.o.repair && (await this.addToLostFound(ino));
        this.problems.push({
          pass: 4, code: 'UNATTACHED_INODE', minor: false, fixed,
          message: `Unattached inode ${ino}${fixed ? '; connected to /lost+found' : this.o.repair ? '; /lost+found is missing or full' : ''}.`,
        });
        if (!fixed) continue;
        refs = 1;
        this.refs[ino] = 1;
      }
      const links = this.links[ino]!;
      // dir_nlink: a directory with more than 65000 links stores 1
      if (this.ftype[ino] === EXT2_FT_DIR && links === 1 && refs > 65000 && (geo.roCompat & RO_COMPAT_DIR_NLINK) !== 0) continue;
      if (links !== refs) {
        const fixed = this.problem(4, 'LINK_COUNT', `Inode ${ino} ref count is ${links}, should be ${refs}.`, refs <= 65000);
        if (fixed) {
          const inode = await this.readInode(ino);
          inode.i_links_count = refs;
          await this.writeInode(ino, inode);
          this.links[ino] = refs;
        }
      }
    }
  }

  // ---- pass 5 ----------------------------------------------------------------------------

  async pass5(): Promise<{ freeBlocks: number; freeInodes: number }> {
    const geo = this.geo;
    const sb = this.sb;
    const bs = this.bs;
    const bpg = geo.blocksPerGroup;
    const ipg = geo.inodesPerGroup;
    const blockDiff: { n: number; sign: '+' | '-' }[] = [];
    const inodeDiff: { n: number; sign: '+' | '-' }[] = [];
    const newBlockMaps: Uint8Array[] = [];
    const newInodeMaps: Uint8Array[] = [];
    const groupFree: number[] = [];
    const groupFreeInodes: number[] = [];
    const groupDirs: number[] = [];
    let padBlocks = false, padInodes = false;
    for (let g = 0; g < geo.groupCount; g++) {
      const first = geo.firstDataBlock + g * bpg;
      const n = Math.min(bpg, geo.blocksCount - first);
      const disk = this.blockBitmaps[g]!;
      const mine = new Uint8Array(bs);
      let free = 0;
      for (let i = 0; i < n; i++) {
        const b = first + i;
        const u = testBit(this.used, b);
        const d = testBit(disk, i);
        if (u) setBit(mine, i);
        // like e2fsck, counts are checked against the bitmap that will be on disk: ours when
        // repairing (the differences get fixed), the one found otherwise
        if (!(this.o.repair ? u : d)) free++;
        if (u !== d) blockDiff.push({ n: b, sign: u ? '+' : '-' });
      }
      for (let i = n; i < bs * 8; i++) {
        setBit(mine, i);
        if (!testBit(disk, i)) padBlocks = true;
      }
      newBlockMaps.push(mine);
      groupFree.push(free);
      const idisk = this.inodeBitmaps[g]!;
      const imine = new Uint8Array(bs);
      let ifree = 0, dirs = 0;
      for (let i = 0; i < ipg; i++) {
        const ino = g * ipg + i + 1;
        const u = ino < geo.firstIno || this.inUse[ino] === 1;
        const d = testBit(idisk, i);
        if (u) setBit(imine, i);
        const marked = this.o.repair ? u : d;
        if (!marked) ifree++;
        else if (this.inUse[ino] === 1 && this.ftype[ino] === EXT2_FT_DIR) dirs++;
        if (u !== d) inodeDiff.push({ n: ino, sign: u ? '+' : '-' });
      }
      for (let i = ipg; i < bs * 8; i++) {
        setBit(imine, i);
        if (!testBit(idisk, i)) padInodes = true;
      }
      newInodeMaps.push(imine);
      groupFreeInodes.push(ifree);
      groupDirs.push(dirs);
    }
    let writeBitmaps = false;
    if (blockDiff.length > 0 && this.problem(5, 'BLOCK_BITMAP', `Block bitmap differences:  ${rangeList(blockDiff)}`, true)) writeBitmaps = true;
    if (padBlocks && this.problem(5, 'BLOCK_BITMAP_PADDING', 'Padding at end of block bitmap is not set.', true)) writeBitmaps = true;
    if (inodeDiff.length > 0 && this.problem(5, 'INODE_BITMAP', `Inode bitmap differences:  ${rangeList(inodeDiff)}`, true)) writeBitmaps = true;
    if (padInodes && this.problem(5, 'INODE_BITMAP_PADDING', 'Padding at end of inode bitmap is not set.', true)) writeBitmaps = true;
    if (writeBitmaps) {
      for (let g = 0; g < geo.groupCount; g++) {
        await this.writeBlock(this.infos[g]!.blockBitmap, newBlockMaps[g]!);
        await this.writeBlock(this.infos[g]!.inodeBitmap, newInodeMaps[g]!);
      }
    }
    let writeDescs = false;
    for (let g = 0; g < geo.groupCount; g++) {
      const gi = this.infos[g]!;
      const d = this.descs[g]!;
      if (gi.freeBlocks !== groupFree[g]) {
        if (this.problem(5, 'GROUP_FREE_BLOCKS', `Free blocks count wrong for group #${g} (${gi.freeBlocks}, counted=${groupFree[g]}).`, true)) {
          d.bg_free_blocks_count = groupFree[g]! & 0xffff;
          d.bg_free_blocks_count_hi = groupFree[g]! >>> 16;
          writeDescs = true;
        }
      }
      if (gi.freeInodes !== groupFreeInodes[g]) {
        if (this.problem(5, 'GROUP_FREE_INODES', `Free inodes count wrong for group #${g} (${gi.freeInodes}, counted=${groupFreeInodes[g]}).`, true)) {
          d.bg_free_inodes_count = groupFreeInodes[g]! & 0xffff;
          d.bg_free_inodes_count_hi = groupFreeInodes[g]! >>> 16;
          writeDescs = true;
        }
      }
      if (gi.usedDirs !== groupDirs[g]) {
        if (this.problem(5, 'GROUP_DIRS', `Directories count wrong for group #${g} (${gi.usedDirs}, counted=${groupDirs[g]}).`, true)) {
          d.bg_used_dirs_count = groupDirs[g]! & 0xffff;
          d.bg_used_dirs_count_hi = groupDirs[g]! >>> 16;
          writeDescs = true;
        }
      }
    }
    const freeBlocks = groupFree.reduce((a, b) => a + b, 0);
    const freeInodes = groupFreeInodes.reduce((a, b) => a + b, 0);
    let writeSuper = false;
    if (geo.freeBlocks !== freeBlocks) {
      if (this.problem(5, 'FREE_BLOCKS', `Free blocks count wrong (${geo.freeBlocks}, counted=${freeBlocks}).`, true, true)) {
        sb.s_free_blocks_count = freeBlocks;
        writeSuper = true;
      }
    }
    if (sb.s_free_inodes_count !== freeInodes) {
      if (this.problem(5, 'FREE_INODES', `Free inodes count wrong (${sb.s_free_inodes_count}, counted=${freeInodes}).`, true, true)) {
        sb.s_free_inodes_count = freeInodes;
        writeSuper = true;
      }
    }
    if (this.o.repair) {
      // a full check ran: record it, and the state is valid if nothing is left uncorrected
      const left = this.problems.some((p) => !p.fixed && !p.minor);
      sb.s_lastcheck = this.o.now >>> 0;
      sb.s_mnt_count = 0;
      sb.s_state = left ? sb.s_state | EXT2_ERROR_FS : (sb.s_state | EXT2_VALID_FS) & ~EXT2_ERROR_FS;
      writeSuper = true;
    }
    if (writeDescs || writeSuper) await this.writeSuperAndDescs(writeDescs);
    return { freeBlocks, freeInodes };
  }

  /** The superblock and (if changed) the descriptor table, primary and every backup. */
  async writeSuperAndDescs(descs: boolean): Promise<void> {
    const geo = this.geo;
    const sb = this.sb;
    const bs = this.bs;
    const gdt = new Uint8Array(geo.gdtBlocks * bs);
    if (descs) this.descs.forEach((d, i) => gdt.set(emitGroupDesc(d), i * geo.descSize));
    for (let g = 0; g < geo.groupCount; g++) {
      if (!groupHasSuper(sb, geo, g)) continue;
      const first = geo.firstDataBlock + g * geo.blocksPerGroup;
      if (g === 0) {
        sb.s_block_group_nr = 0;
        await this.io.write(SUPERBLOCK_OFFSET, emitSuperblock(sb));
      } else {
        const copy = { ...sb, s_block_group_nr: sb.s_rev_level >= EXT2_DYNAMIC_REV ? g & 0xffff : 0 };
        await this.io.write(first * bs, emitSuperblock(copy));
      }
      if (descs) await this.io.write((first + 1) * bs, gdt);
    }
    await this.io.flush?.();
  }
}

/** Check (and with `repair`, fix) the ext2 file system on `io`. */
export async function fsck(io: ImageIO, o: FsckOptions): Promise<FsckResult> {
  const c = new Checker(io, o);
  const result = (exitCode: number, skipped: boolean, error?: string, free?: { freeBlocks: number; freeInodes: number }): FsckResult => {
    const geo = c.geo as Geometry | undefined;
    const sb = c.sb as Superblock | undefined;
    const r: FsckResult = {
      exitCode, problems: c.problems, skipped,
      filesTotal: geo?.inodesCount ?? 0,
      filesUsed: geo === undefined ? 0 : geo.inodesCount - (free?.freeInodes ?? sb!.s_free_inodes_count),
      blocksTotal: geo?.blocksCount ?? 0,
      blocksUsed: geo === undefined ? 0 : geo.blocksCount - (free?.freeBlocks ?? geo.freeBlocks),
      label: sb === undefined ? '' : new TextDecoder().decode(sb.s_volume_name).replace(/\0.*$/s, ''),
    };
    if (error !== undefined) r.error = error;
    return r;
  };
  try {
    if (!(await c.pass0())) return result(0, true);
    o.onProgress?.(1, 0, 1);
    await c.pass1();
    o.onProgress?.(2, 0, 1);
    await c.pass2();
    o.onProgress?.(3, 0, 1);
    await c.pass3();
    o.onProgress?.(4, 0, 1);
    await c.pass4();
    o.onProgress?.(5, 0, 1);
    const free = await c.pass5();
    const errors = c.problems.filter((p) => !p.minor || o.repair);
    const left = errors.some((p) => !p.fixed);
    const fixedAny = errors.some((p) => p.fixed);
    return result(left ? 4 : fixedAny ? 1 : 0, false, undefined, free);
  } catch (e) {
    if (e instanceof Operational) return result(8, false, e.message);
    if (e instanceof KernelError) return result(8, false, e.detail ?? e.message);
    throw e;
  }
}
