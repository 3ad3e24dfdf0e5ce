/**
 * Building a new ext2 file system on an image in one pass: the state newfs_ext2fs and makefs
 * share.
 *
 *   const b = new Ext2Builder(io, layout, opts);   // metadata blocks marked in use
 *   b.markInode(ino, isDir); const m = b.mapper(); await m.map(lblk) ... await m.finish();
 *   b.putInode(ino, { mode, uid, ... });             // into the in-memory inode table
 *   await b.finish();                                // bitmaps, descriptors, every superblock copy
 *
 * Blocks are handed out in ascending order (the allocator is a cursor over the block bitmap),
 * so data written through `b.writer` coalesces into large writes. Inode tables are kept in
 * memory only for groups that hold used inodes; `flushInodesBelow(ino)` writes and drops the
 * tables of groups below an inode number once the caller is past them. Free counts are computed
 * from the bitmaps at the end, so they are exact by construction.
 *
 * Pure module (I/O through ImageIO). Errors: ENOSPC when blocks or inodes run out, EFBIG for a
 * file beyond what triple indirection (or i_blocks) can map.
 */

import { KernelError } from '../../../kern/errno.js';
import { cstringBytes, decode, view } from '../codec.js';
import { recLenToDisk } from '../dir_entry.js';
import { GROUP_DESC_FIELDS, emitGroupDesc, type GroupDesc } from '../group_desc.js';
import {
  EXT2_DIND_BLOCK, EXT2_IND_BLOCK, EXT2_NDIR_BLOCKS, EXT2_TIND_BLOCK, EXT2_I_BLOCK_SIZE, INODE_EXTRA_FIELDS, INODE_FIELDS, encodeTime,
} from '../inode.js';
import {
  EXT2_DYNAMIC_REV, EXT2_ERRORS_CONTINUE, EXT2_FLAGS_SIGNED_HASH, EXT2_GOOD_OLD_REV, EXT2_OS_LINUX, EXT2_SUPER_MAGIC,
  EXT2_VALID_FS, SUPERBLOCK_FIELDS, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, emitSuperblock, type Superblock,
} from '../superblock.js';
import { BlockWriter, zeroRange, type ImageIO } from './io.js';
import type { Layout } from './layout.js';

export interface Features {
  compat: number;
  incompat: number;
  roCompat: number;
}

export interface BuildOptions {
  /** 0 (GOOD_OLD) or 1 (DYNAMIC). */
  revision: number;
  features: Features;
  /** Blocks reserved for the super-user, percent (0-50). */
  reservedPercent: number;
  /** 16 bytes. */
  uuid: Uint8Array;
  /** 16 bytes (directory hash seed; used with dir_index). */
  hashSeed: Uint8Array;
  label: string;
  /** Creation time, seconds since the epoch. */
  now: number;
  /** The image already reads as zeros (a new sparse file): inode tables need not be written. */
  zeroed: boolean;
}

/** A time for an inode: seconds and nanoseconds. */
export interface Time { sec: number; nsec: number }

export interface InodeInit {
  mode: number;
  uid: number;
  gid: number;
  links: number;
  size: number;
  /** 512-byte units. */
  blocks512: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
  crtime: Time;
  /** The 60 bytes of i_block (pointers, fast symlink target or device number). */
  iblock: Uint8Array;
  flags?: number;
}

const EXTRA_ISIZE = 32;

/** A superblock record with every field zero (raw: 1024 zero bytes). */
export function blankSuperblock(): Superblock {
  const raw = new Uint8Array(SUPERBLOCK_SIZE);
  const sb = decode<Superblock>(raw, 0, SUPERBLOCK_FIELDS);
  sb.raw = raw;
  return sb;
}

/** A group descriptor record with every field zero. */
export function blankGroupDesc(size = 32): GroupDesc {
  const raw = new Uint8Array(size);
  const gd = decode<GroupDesc>(raw, 0, GROUP_DESC_FIELDS, size);
  gd.size = size;
  gd.raw = raw;
  return gd;
}

const INODE_OFFSET_NAMES = ['i_mode', 'i_uid', 'l_i_uid_high', 'i_gid', 'l_i_gid_high', 'i_links_count', 'i_size', 'i_size_high', 'i_blocks',
  'i_atime', 'i_mtime', 'i_ctime', 'i_flags', 'i_block', 'i_atime_extra', 'i_mtime_extra', 'i_ctime_extra', 'i_crtime', 'i_crtime_extra'] as const;

function inodeOffsets(): Record<(typeof INODE_OFFSET_NAMES)[number], number> {
  const all = new Map([...INODE_FIELDS, ...INODE_EXTRA_FIELDS].map(([name, off]) => [name, off]));
  const out = {} as Record<(typeof INODE_OFFSET_NAMES)[number], number>;
  for (const n of INODE_OFFSET_NAMES) {
    const off = all.get(n);
    if (off === undefined) throw new KernelError('EINVAL', `inode codec has no field ${n}`);
    out[n] = off;
  }
  return out;
}

function setBit(map: Uint8Array, i: number): void { map[i >>> 3]! |= 1 << (i & 7); }
function testBit(map: Uint8Array, i: number): boolean { return (map[i >>> 3]! & (1 << (i & 7))) !== 0; }

export class Ext2Builder {
  readonly io: ImageIO;
  readonly layout: Layout;
  readonly opts: BuildOptions;
  readonly bs: number;
  readonly writer: BlockWriter;
  /** One bit per block from firstDataBlock; one bit per inode from 1. */
  readonly blockMap: Uint8Array;
  readonly inodeMap: Uint8Array;
  readonly dirsPerGroup: Uint32Array;
  readonly #tables = new Map<number, { bytes: Uint8Array; dv: DataView }>();
  /** Byte offsets of the inode fields written, from the codec's field tables. */
  readonly #off = inodeOffsets();
  #cursor: number;
  #freeBlocks: number;
  #freeInodes: number;

  constructor(io: ImageIO, layout: Layout, opts: BuildOptions) {
    this.io = io;
    this.layout = layout;
    this.opts = opts;
    this.bs = layout.blockSize;
    if (layout.blocksCount * this.bs > io.size) {
      throw new KernelError('ENOSPC', `the file system needs ${layout.blocksCount * this.bs} bytes, the image has ${io.size}`);
    }
    this.writer = new BlockWriter(io, this.bs);
    this.blockMap = new Uint8Array(Math.ceil((layout.groupCount * layout.blocksPerGroup) / 8));
    this.inodeMap = new Uint8Array(Math.ceil((layout.inodesCount + 1) / 8));
    this.dirsPerGroup = new Uint32Array(layout.groupCount);
    this.#freeBlocks = layout.blocksCount - layout.firstDataBlock;
    for (const g of layout.groups) {
      for (let b = g.first; b < g.first + g.overhead; b++) setBit(this.blockMap, b - layout.firstDataBlock);
      this.#freeBlocks -= g.overhead;
    }
    this.#freeInodes = layout.inodesCount;
    for (let ino = 1; ino < layout.firstIno; ino++) this.markInode(ino, false);
    this.#cursor = layout.firstDataBlock;
  }

  get freeBlocks(): number { return this.#freeBlocks; }
  get freeInodes(): number { return this.#freeInodes; }

  /** Is block `b` in use? */
  blockUsed(b: number): boolean { return testBit(this.blockMap, b - this.layout.firstDataBlock); }

  /** The next free block at or after the cursor, marked in use. ENOSPC when none is left. */
  allocBlock(): number {
    const l = this.layout;
    const end = l.blocksCount - l.firstDataBlock;
    let i = this.#cursor - l.firstDataBlock;
    const map = this.blockMap;
    while (i < end) {
      const byte = map[i >>> 3]!;
      if (byte === 0xff && (i & 7) === 0) { i += 8; continue; }
      if ((byte & (1 << (i & 7))) === 0) {
        map[i >>> 3] = byte | (1 << (i & 7));
        this.#freeBlocks--;
        this.#cursor = l.firstDataBlock + i + 1;
        return l.firstDataBlock + i;
      }
      i++;
    }
    throw new KernelError('ENOSPC', `no free block left in the ${l.blocksCount}-block file system`);
  }

  /** Mark inode `ino` in use (and count a directory in its group). */
  markInode(ino: number, isDir: boolean): void {
    if (ino < 1 || ino > this.layout.inodesCount) throw new KernelError('ENOSPC', `inode ${ino} is beyond the ${this.layout.inodesCount} inodes of the file system`);
    if (!testBit(this.inodeMap, ino - 1)) {
      setBit(this.inodeMap, ino - 1);
      this.#freeInodes--;
    }
    if (isDir) this.dirsPerGroup[Math.floor((ino - 1) / this.layout.inodesPerGroup)]!++;
  }

  /**
   * Write inode `ino` from `x` into its group's table in memory (written at flushInodesBelow or
   * finish). Encoded in place at the codec's field offsets: no record per inode, which matters
   * for trees of many small files.
   */
  putInode(ino: number, x: InodeInit): void {
    const l = this.layout;
    const g = Math.floor((ino - 1) / l.inodesPerGroup);
    let t = this.#tables.get(g);
    if (t === undefined) {
      const bytes = new Uint8Array(l.inodeTableBlocks * this.bs);
      t = { bytes, dv: view(bytes) };
      this.#tables.set(g, t);
    }
    const base = ((ino - 1) % l.inodesPerGroup) * l.inodeSize;
    const dv = t.dv;
    const f = this.#off;
    const [at, atx] = encodeTime(x.atime);
    const [mt, mtx] = encodeTime(x.mtime);
    const [ct, ctx] = encodeTime(x.ctime);
    dv.setUint16(base + f.i_mode, x.mode & 0xffff, true);
    dv.setUint16(base + f.i_uid, x.uid & 0xffff, true);
    dv.setUint16(base + f.l_i_uid_high, (x.uid >>> 16) & 0xffff, true);
    dv.setUint16(base + f.i_gid, x.gid & 0xffff, true);
    dv.setUint16(base + f.l_i_gid_high, (x.gid >>> 16) & 0xffff, true);
    dv.setUint16(base + f.i_links_count, x.links, true);
    dv.setUint32(base + f.i_size, x.size % 0x1_0000_0000, true);
    dv.setUint32(base + f.i_size_high, Math.floor(x.size / 0x1_0000_0000), true);
    dv.setUint32(base + f.i_blocks, x.blocks512, true);
    dv.setUint32(base + f.i_atime, at, true);
    dv.setUint32(base + f.i_mtime, mt, true);
    dv.setUint32(base + f.i_ctime, ct, true);
    dv.setUint32(base + f.i_flags, x.flags ?? 0, true);
    t.bytes.set(x.iblock.subarray(0, EXT2_I_BLOCK_SIZE), base + f.i_block);
    if (l.inodeSize > 128) {
      const [crt, crtx] = encodeTime(x.crtime);
      dv.setUint16(base + 0x80, EXTRA_ISIZE, true);
      dv.setUint32(base + f.i_atime_extra, atx, true);
      dv.setUint32(base + f.i_mtime_extra, mtx, true);
      dv.setUint32(base + f.i_ctime_extra, ctx, true);
      dv.setUint32(base + f.i_crtime, crt, true);
      dv.setUint32(base + f.i_crtime_extra, crtx, true);
    }
  }

  /** Write out (and forget) the inode tables of groups that end before inode `ino`. */
  async flushInodesBelow(ino: number): Promise<void> {
    const l = this.layout;
    const gLimit = Math.floor((ino - 1) / l.inodesPerGroup);
    for (const [g, t] of this.#tables) {
      if (g >= gLimit) continue;
      await this.writer.write(l.groups[g]!.inodeTable, t.bytes);
      this.#tables.delete(g);
    }
  }

  /** A block mapper for one file: allocates data blocks and the indirect blocks above them. */
  mapper(): BlockMapper {
    return new BlockMapper(this);
  }

  /**
   * Write directory `ino` from its packed blocks and store its inode (size: the blocks; `attrs`
   * give mode, owner, times and link count).
   */
  async writeDirectory(ino: number, blocks: readonly Uint8Array[], attrs: Omit<InodeInit, 'size' | 'blocks512' | 'iblock'>): Promise<void> {
    const m = this.mapper();
    for (let i = 0; i < blocks.length; i++) await this.writer.write(await m.map(i), blocks[i]!);
    const { iblock, blocks: n } = await m.finish();
    this.putInode(ino, { ...attrs, size: blocks.length * this.bs, blocks512: n * (this.bs / 512), iblock });
  }

  /** The superblock record for the current state (free counts as of now). */
  superblock(): Superblock {
    const l = this.layout;
    const o = this.opts;
    const sb = blankSuperblock();
    sb.s_inodes_count = l.inodesCount;
    sb.s_blocks_count = l.blocksCount;
    sb.s_r_blocks_count = Math.floor((l.blocksCount * o.reservedPercent) / 100);
    sb.s_free_blocks_count = this.#freeBlocks;
    sb.s_free_inodes_count = this.#freeInodes;
    sb.s_first_data_block = l.firstDataBlock;
    sb.s_log_block_size = Math.log2(this.bs) - 10;
    sb.s_log_cluster_size = sb.s_log_block_size;
    sb.s_blocks_per_group = l.blocksPerGroup;
    sb.s_clusters_per_group = l.blocksPerGroup;
    sb.s_inodes_per_group = l.inodesPerGroup;
    sb.s_wtime = o.now >>> 0;
    sb.s_max_mnt_count = 0xffff; // -1: no mount-count check
    sb.s_magic = EXT2_SUPER_MAGIC;
    sb.s_state = EXT2_VALID_FS;
    sb.s_errors = EXT2_ERRORS_CONTINUE;
    sb.s_lastcheck = o.now >>> 0;
    sb.s_creator_os = EXT2_OS_LINUX;
    sb.s_rev_level = o.revision;
    if (o.revision >= EXT2_DYNAMIC_REV) {
      sb.s_first_ino = l.firstIno;
      sb.s_inode_size = l.inodeSize;
      sb.s_feature_compat = o.features.compat;
      sb.s_feature_incompat = o.features.incompat;
      sb.s_feature_ro_compat = o.features.roCompat;
      sb.s_uuid = o.uuid.slice();
      sb.s_volume_name = cstringBytes(o.label, 16, 'volume label');
      sb.s_mkfs_time = o.now >>> 0;
      if (l.inodeSize > 128) {
        sb.s_min_extra_isize = EXTRA_ISIZE;
        sb.s_want_extra_isize = EXTRA_ISIZE;
      }
      sb.s_hash_seed = o.hashSeed.slice();
    } else if (o.revision !== EXT2_GOOD_OLD_REV) {
      throw new KernelError('EINVAL', `revision ${o.revision} is neither 0 nor 1`);
    }
    // as mke2fs sets them whatever the revision and features
    sb.s_def_hash_version = 1; // half_md4
    sb.s_flags = EXT2_FLAGS_SIGNED_HASH;
    sb.s_overhead_clusters = l.firstDataBlock + l.groups.reduce((n, g) => n + g.overhead, 0);
    return sb;
  }

  /** Write bitmaps, inode tables, descriptors and every superblock copy. */
  async finish(): Promise<void> {
    const l = this.layout;
    const bs = this.bs;
    const bpgBytes = l.blocksPerGroup / 8;
    const descs: GroupDesc[] = [];
    let freeBlocks = 0;
    let freeInodes = 0;
    for (const g of l.groups) {
      // block bitmap: the group's bits, then padding bits set to 1 up to the end of the block
      const bb = new Uint8Array(bs);
      bb.set(this.blockMap.subarray(g.index * bpgBytes, (g.index + 1) * bpgBytes));
      for (let i = g.blocks; i < bs * 8; i++) setBit(bb, i);
      let fb = 0;
      for (let i = 0; i < g.blocks; i++) if (!testBit(bb, i)) fb++;
      const ib = new Uint8Array(bs);
      for (let i = 0; i < l.inodesPerGroup; i++) if (testBit(this.inodeMap, g.index * l.inodesPerGroup + i)) setBit(ib, i);
      for (let i = l.inodesPerGroup; i < bs * 8; i++) setBit(ib, i);
      let fi = 0;
      for (let i = 0; i < l.inodesPerGroup; i++) if (!testBit(ib, i)) fi++;
      await this.writer.write(g.blockBitmap, bb);
      await this.writer.write(g.inodeBitmap, ib);
      const t = this.#tables.get(g.index);
      if (t !== undefined) await this.writer.write(g.inodeTable, t.bytes);
      else if (!this.opts.zeroed) {
        await this.writer.flush();
        await zeroRange(this.io, g.inodeTable * bs, l.inodeTableBlocks * bs);
      }
      const gd = blankGroupDesc();
      gd.bg_block_bitmap = g.blockBitmap;
      gd.bg_inode_bitmap = g.inodeBitmap;
      gd.bg_inode_table = g.inodeTable;
      gd.bg_free_blocks_count = fb;
      gd.bg_free_inodes_count = fi;
      gd.bg_used_dirs_count = this.dirsPerGroup[g.index]!;
      descs.push(gd);
      freeBlocks += fb;
      freeInodes += fi;
    }
    this.#tables.clear();
    if (freeBlocks !== this.#freeBlocks || freeInodes !== this.#freeInodes) {
      throw new KernelError('EIO', `ext2 builder: bitmaps count ${freeBlocks} free blocks and ${freeInodes} free inodes, the allocator ${this.#freeBlocks} and ${this.#freeInodes}`);
    }
    // descriptor table (one copy, written after every superblock)
    const gdt = new Uint8Array(l.descBlocks * bs);
    descs.forEach((d, i) => gdt.set(emitGroupDesc(d), i * 32));
    const sb = this.superblock();
    for (const g of l.groups) {
      if (!g.hasSuper) continue;
      sb.s_block_group_nr = this.opts.revision >= EXT2_DYNAMIC_REV ? g.index & 0xffff : 0;
      const sbBytes = emitSuperblock(sb);
      if (g.index === 0) {
        await this.writer.flush();
        // byte 1024 whatever the block size; the boot block before it is left alone
        await this.io.write(SUPERBLOCK_OFFSET, sbBytes);
      } else {
        const blk = new Uint8Array(bs);
        blk.set(sbBytes);
        await this.writer.write(g.first, blk);
      }
      await this.writer.write(g.first + 1, gdt);
    }
    await this.writer.flush();
    await this.io.flush?.();
  }
}

/**
 * Maps the logical blocks of one file, in increasing order, to newly allocated blocks, with the
 * single/double/triple indirect blocks allocated just before the data they map (as Linux does).
 * `finish` writes the indirect blocks and returns i_block and the block count.
 */
export class BlockMapper {
  readonly #b: Ext2Builder;
  readonly #ptrs = new Uint32Array(15);
  /** Open indirect blocks from the top: pointer slots and the path prefix they belong to. */
  readonly #chain: { pblk: number; slots: Uint32Array; key: number }[] = [];
  #blocks = 0;
  #last = -1;

  constructor(b: Ext2Builder) {
    this.#b = b;
  }

  /** Blocks allocated so far, indirect ones included. */
  get blocks(): number { return this.#blocks; }

  #alloc(): number {
    this.#blocks++;
    return this.#b.allocBlock();
  }

  /** The indirect path of logical block `lblk` (>= 12): depth, top i_block slot, index per level, key per level. */
  #path(lblk: number): { depth: number; top: number; idx: number[]; keys: number[] } {
    const a = this.#b.bs / 4;
    let rel = lblk - EXT2_NDIR_BLOCKS;
    let depth: number;
    let top: number;
    if (rel < a) { depth = 1; top = EXT2_IND_BLOCK; }
    else if ((rel -= a) < a * a) { depth = 2; top = EXT2_DIND_BLOCK; }
    else if ((rel -= a * a) < a * a * a) { depth = 3; top = EXT2_TIND_BLOCK; }
    else throw new KernelError('EFBIG', `logical block ${lblk} is beyond what triple indirect blocks map with ${this.#b.bs}-byte blocks`);
    const idx: number[] = [];
    for (let d = depth - 1; d >= 0; d--) idx.push(Math.floor(rel / a ** d) % a);
    // a unique number per indirect block on the path (top slot and the prefix of idx)
    const keys: number[] = [];
    let k = top;
    for (let d = 0; d < depth; d++) {
      keys.push(k);
      k = k * a + idx[d]!;
    }
    return { depth, top, idx, keys };
  }

  /**
   * Map `lblk` without I/O if no indirect block has to be opened or closed for it (the common
   * case: the next block under the same indirect block); -1 when `map` is needed.
   */
  tryMapSync(lblk: number): number {
    if (lblk <= this.#last) throw new KernelError('EINVAL', `block mapper: logical block ${lblk} after ${this.#last}`);
    if (lblk < EXT2_NDIR_BLOCKS) {
      this.#last = lblk;
      const p = this.#alloc();
      this.#ptrs[lblk] = p;
      return p;
    }
    const leaf = this.#chain[this.#chain.length - 1];
    if (leaf === undefined) return -1;
    const { depth, idx, keys } = this.#path(lblk);
    if (this.#chain.length !== depth || leaf.key !== keys[depth - 1]) return -1;
    this.#last = lblk;
    const p = this.#alloc();
    leaf.slots[idx[depth - 1]!] = p;
    return p;
  }

  /** Allocate the data block for logical block `lblk` (greater than any before). */
  async map(lblk: number): Promise<number> {
    if (lblk <= this.#last) throw new KernelError('EINVAL', `block mapper: logical block ${lblk} after ${this.#last}`);
    if (lblk < EXT2_NDIR_BLOCKS) return this.tryMapSync(lblk);
    this.#last = lblk;
    const { depth, top, idx, keys } = this.#path(lblk);
    // close open blocks that are not on this path
    let same = 0;
    while (same < this.#chain.length && same < depth && this.#chain[same]!.key === keys[same]) same++;
    await this.#close(same);
    for (let d = same; d < depth; d++) {
      const pblk = this.#alloc();
      if (d === 0) this.#ptrs[top] = pblk;
      else this.#chain[d - 1]!.slots[idx[d - 1]!] = pblk;
      this.#chain.push({ pblk, slots: new Uint32Array(this.#b.bs / 4), key: keys[d]! });
    }
    const p = this.#alloc();
    this.#chain[depth - 1]!.slots[idx[depth - 1]!] = p;
    return p;
  }

  async #close(keep: number): Promise<void> {
    while (this.#chain.length > keep) {
      const n = this.#chain.pop()!;
      await this.#b.writer.write(n.pblk, new Uint8Array(n.slots.buffer, n.slots.byteOffset, n.slots.byteLength));
    }
  }

  /** Write the open indirect blocks; i_block bytes and blocks allocated (indirect included). */
  async finish(): Promise<{ iblock: Uint8Array; blocks: number }> {
    await this.#close(0);
    const iblock = new Uint8Array(EXT2_I_BLOCK_SIZE);
    const dv = view(iblock);
    for (let i = 0; i < 15; i++) dv.setUint32(i * 4, this.#ptrs[i]!, true);
    return { iblock, blocks: this.#blocks };
  }
}

/** Blocks (data and indirect) a file of `n` data blocks needs when none is a hole. */
export function blocksForFile(n: number, blockSize: number): number {
  const a = blockSize / 4;
  let total = n;
  let rest = n - EXT2_NDIR_BLOCKS;
  if (rest <= 0) return total;
  total += 1; // single indirect
  rest -= a;
  if (rest <= 0) return total;
  const dind = Math.min(rest, a * a);
  total += 1 + Math.ceil(dind / a);
  rest -= a * a;
  if (rest <= 0) return total;
  total += 1 + Math.ceil(rest / (a * a)) + Math.ceil(rest / a);
  return total;
}

/** Largest number of data blocks an indirect-mapped file can have. */
export function maxFileBlocks(blockSize: number): number {
  const a = blockSize / 4;
  return EXT2_NDIR_BLOCKS + a + a * a + a * a * a;
}

/** One directory entry to pack. */
export interface PackEntry { name: Uint8Array; inode: number; fileType: number }

/**
 * Directory blocks holding `entries` in order: each entry takes EXT2_DIR_REC_LEN(name) bytes and
 * the last one of a block stretches to its end (the layout mke2fs and the kernel produce).
 * Without the filetype feature the type byte is the high half of a 16-bit name length (zero).
 */
export function packDirectory(entries: readonly PackEntry[], blockSize: number, filetype: boolean): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let block = new Uint8Array(blockSize);
  let dv = view(block);
  let off = 0;
  let lastOff = -1;
  const close = (): void => {
    // the last entry stretches to the end; an empty block is one unused entry covering it
    const at = Math.max(lastOff, 0);
    dv.setUint16(at + 4, recLenToDisk(blockSize - at, blockSize), true);
    blocks.push(block);
  };
  for (const e of entries) {
    const len = (e.name.length + 8 + 3) & ~3;
    if (e.name.length === 0 || e.name.length > 255) throw new KernelError('ENAMETOOLONG', `directory entry name of ${e.name.length} bytes`);
    if (off + len > blockSize) {
      close();
      block = new Uint8Array(blockSize);
      dv = view(block);
      off = 0;
      lastOff = -1;
    }
    dv.setUint32(off, e.inode, true);
    dv.setUint16(off + 4, len, true);
    if (filetype) {
      block[off + 6] = e.name.length;
      block[off + 7] = e.fileType;
    } else {
      dv.setUint16(off + 6, e.name.length, true);
    }
    block.set(e.name, off + 8);
    lastOff = off;
    off += len;
  }
  close();
  return blocks;
}

/** How many blocks `packDirectory` makes for names of these lengths. */
export function directoryBlocks(nameLengths: Iterable<number>, blockSize: number): number {
  let blocks = 1;
  let off = 0;
  for (const n of nameLengths) {
    const len = (n + 8 + 3) & ~3;
    if (off + len > blockSize) {
      blocks++;
      off = 0;
    }
    off += len;
  }
  return blocks;
}

/** Blocks mke2fs gives lost+found: enough for 16 KiB, at least 2, at most 12 (all direct). */
export function lostFoundBlocks(blockSize: number): number {
  let n = 1;
  let size = 0;
  for (let i = 1; i < EXT2_NDIR_BLOCKS; i++) {
    size += blockSize;
    if (size >= 16 * 1024 && size >= 2 * blockSize) break;
    n++;
  }
  return n;
}
