/**
 * makefs -t ext2fs: build an ext2 image from a directory tree in one pass (NetBSD makefs(8)).
 *
 *   const r = await makefs(io => ..., tree, { uuid, hashSeed, now });
 *
 * Three steps. (1) Walk the source tree through `SourceTree` (the caller's host access): every
 * object is lstat'ed once, symlink targets read, names sorted bytewise, hard links found by
 * (dev, ino) and counted by the references inside the tree. Inode numbers are given in walk
 * order: root 2, lost+found 11, everything else from 12. (2) Size: exact data and indirect
 * blocks per object (sparse host files are scanned for all-zero blocks, which become holes),
 * directory blocks as packed, then the smallest image (or the one asked for with `size`) whose
 * layout holds it all plus the free space asked for. (3) Write in inode order: data blocks are
 * allocated in ascending order and written through a coalescing writer, files are copied in
 * 1 MiB chunks (bounded memory whatever their size), each group's inode table is written once
 * the walk is past it, then bitmaps, descriptors and superblocks.
 *
 * The image callback gets the final size, so the caller can create a file of exactly that size.
 * Pure module: host access only through `SourceTree` and `ImageIO`. Errors are KernelErrors:
 * ENOSPC (a given size too small, naming what is needed), EFBIG, ENAMETOOLONG, EMLINK, ENOTDIR.
 */

import { KernelError } from '../../../kern/errno.js';
import { EXT2_FT_DIR, modeToFt } from '../dir_entry.js';
import { EXT2_I_BLOCK_SIZE, encodeRdev } from '../inode.js';
import { EXT2_DYNAMIC_REV, EXT2_ROOT_INO, INCOMPAT_FILETYPE, RO_COMPAT_LARGE_FILE, RO_COMPAT_SPARSE_SUPER, type Superblock } from '../superblock.js';
import {
  Ext2Builder, blocksForFile, directoryBlocks, lostFoundBlocks, maxFileBlocks, packDirectory, type PackEntry, type Time,
} from './builder.js';
import { DEFAULT_FEATURES, featureNames, parseFeatures } from './features.js';
import type { ImageIO } from './io.js';
import { EXT2_MAX_BLOCKS_32, dataBlocks, planLayout, type Layout } from './layout.js';
import { LOST_FOUND_INO, prepare, writeRootAndLostFound, type NewfsOptions } from './newfs.js';

/** What makefs needs to know of a host object (lstat). */
export interface SourceStat {
  /** st_mode: type and permission bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  /** Identity for hard links. */
  dev: number | bigint;
  ino: number | bigint;
  /** Device numbers of a device node. */
  rdevMajor: number;
  rdevMinor: number;
  atime: Time;
  mtime: Time;
  ctime: Time;
  birthtime?: Time;
  /** Bytes the host allocated (st_blocks x 512): less than size means the file has holes. */
  allocated: number;
}

export interface SourceFile {
  /** Read into `buf` from `position`; 0 at end of file. */
  read(buf: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** The caller's host tree; `P` is whatever names an object (a path). */
export interface SourceTree<P> {
  readonly root: P;
  join(dir: P, name: Uint8Array): P;
  lstat(p: P): Promise<SourceStat>;
  /** Names in the directory (no '.' or '..'). */
  readdir(p: P): Promise<Uint8Array[]>;
  readlink(p: P): Promise<Uint8Array>;
  open(p: P): Promise<SourceFile>;
  /** For messages. */
  display(p: P): string;
}

export interface MakefsOptions extends Omit<NewfsOptions, 'size' | 'rootUid' | 'rootGid' | 'rootMode' | 'zeroed'> {
  /** Image size in bytes; default: computed. */
  size?: number;
  /** Smallest / largest image when sizing automatically (makefs -M / -m). */
  minSize?: number;
  maxSize?: number;
  /** Free blocks to leave: a count, or a percentage of the image with `freeBlocksPercent` (default 10%). */
  freeBlocks?: number;
  freeBlocksPercent?: number;
  /** Free inodes to leave: a count, or a percentage of the inodes (default 10%). */
  freeFiles?: number;
  freeFilesPercent?: number;
  /** Every file owned by this uid / gid instead of the host's. */
  uid?: number;
  gid?: number;
  /** Every time stamp set to this (makefs -T), seconds. */
  timestamp?: number;
  /** Called with bytes of file data copied so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface MakefsResult {
  layout: Layout;
  superblock: Superblock;
  features: string[];
  files: number;
  directories: number;
  /** File data bytes copied. */
  bytes: number;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000, S_IFSOCK = 0o140000;
const EXT2_LINK_MAX = 32000;
const CHUNK = 1 << 20;

interface Child<P> { name: Uint8Array; node: MkNode<P> }

interface MkNode<P> {
  path: P;
  st: SourceStat;
  ino: number;
  links: number;
  children: Child<P>[] | null;
  parentIno: number;
  target: Uint8Array | null;
  /** Blocks (data + indirect) it will take. */
  blocks: number;
  /** Sparse regular file: non-zero logical blocks (from the scan), and the block size scanned with. */
  present: Uint8Array | null;
  presentBs: number;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const enc = new TextEncoder();
const LOST_FOUND = enc.encode('lost+found');

function isZero(b: Uint8Array): boolean {
  // 8 bytes at a time where aligned
  if ((b.byteOffset & 7) === 0 && (b.length & 7) === 0) {
    const w = new BigUint64Array(b.buffer, b.byteOffset, b.length >>> 3);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0n) return false;
    return true;
  }
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Blocks (data + indirect) for a file whose mapped logical blocks are those set in `present` (a bitmap). */
export function blocksForSparse(present: Uint8Array, nblocks: number, blockSize: number): number {
  const a = blockSize / 4;
  let data = 0;
  const ind = new Set<number>();
  for (let l = 0; l < nblocks; l++) {
    if ((present[l >>> 3]! & (1 << (l & 7))) === 0) continue;
    data++;
    if (l < 12) continue;
    let rel = l - 12;
    if (rel < a) { ind.add(-1); continue; }
    rel -= a;
    if (rel < a * a) { ind.add(-2); ind.add(1e12 + Math.floor(rel / a)); continue; }
    rel -= a * a;
    ind.add(-3);
    ind.add(2e12 + Math.floor(rel / (a * a)));
    ind.add(3e12 + Math.floor(rel / a));
  }
  return data + ind.size;
}

class Walker<P> {
  readonly tree: SourceTree<P>;
  readonly nodes: MkNode<P>[] = [];
  readonly byId = new Map<string, MkNode<P>>();
  nextIno = LOST_FOUND_INO + 1;
  files = 0;
  dirs = 0;
  bytes = 0;

  constructor(tree: SourceTree<P>) {
    this.tree = tree;
  }

  node(path: P, st: SourceStat, ino: number, parentIno: number): MkNode<P> {
    const n: MkNode<P> = { path, st, ino, links: 0, children: null, parentIno, target: null, blocks: 0, present: null, presentBs: 0 };
    this.nodes.push(n);
    return n;
  }

  async walkDir(dir: MkNode<P>, isRoot: boolean): Promise<void> {
    const names = (await this.tree.readdir(dir.path)).sort(cmpBytes);
    dir.children = [];
    const subdirs: MkNode<P>[] = [];
    for (const name of names) {
      if (name.length > 255) throw new KernelError('ENAMETOOLONG', `${this.tree.display(this.tree.join(dir.path, name))}: a name longer than 255 bytes`);
      const path = this.tree.join(dir.path, name);
      const st = await this.tree.lstat(path);
      const fmt = st.mode & S_IFMT;
      if (isRoot && cmpBytes(name, LOST_FOUND) === 0) {
        if (fmt !== S_IFDIR) throw new KernelError('EEXIST', `${this.tree.display(path)}: lost+found in the source is not a directory`);
        // the source's lost+found becomes ours (inode 11), contents and all
        const lf = this.node(path, st, LOST_FOUND_INO, dir.ino);
        lf.links = 2;
        subdirs.push(lf);
        continue;
      }
      if (fmt !== S_IFDIR && st.nlink > 1) {
        const key = `${String(st.dev)}:${String(st.ino)}`;
        const seen = this.byId.get(key);
        if (seen !== undefined) {
          if (++seen.links > 65000) throw new KernelError('EMLINK', `${this.tree.display(path)}: more than 65000 links`);
          dir.children.push({ name, node: seen });
          continue;
        }
        const n = this.node(path, st, this.nextIno++, dir.ino);
        n.links = 1;
        this.byId.set(key, n);
        dir.children.push({ name, node: n });
        await this.leaf(n);
        continue;
      }
      const n = this.node(path, st, this.nextIno++, dir.ino);
      n.links = fmt === S_IFDIR ? 2 : 1;
      dir.children.push({ name, node: n });
      if (fmt === S_IFDIR) subdirs.push(n);
      else await this.leaf(n);
    }
    dir.links = 2 + subdirs.length + (isRoot ? 1 : 0) - (isRoot && subdirs.some((s) => s.ino === LOST_FOUND_INO) ? 1 : 0);
    if (dir.links > EXT2_LINK_MAX) throw new KernelError('EMLINK', `${this.tree.display(dir.path)}: ${subdirs.length} subdirectories, more than ext2's ${EXT2_LINK_MAX - 2}`);
    this.dirs++;
    for (const s of subdirs) await this.walkDir(s, false);
  }

  async leaf(n: MkNode<P>): Promise<void> {
    const fmt = n.st.mode & S_IFMT;
    this.files++;
    if (fmt === S_IFLNK) n.target = await this.tree.readlink(n.path);
    else if (fmt === S_IFREG) this.bytes += n.st.size;
    else if (fmt !== S_IFCHR && fmt !== S_IFBLK && fmt !== S_IFIFO && fmt !== S_IFSOCK) {
      throw new KernelError('EFTYPE', `${this.tree.display(n.path)}: unknown file type 0${(fmt >>> 12).toString(8)}`);
    }
  }

  /** Find the non-zero blocks of a sparse file (its holes on the host). */
  async scanSparse(n: MkNode<P>, bs: number): Promise<void> {
    const nblocks = Math.ceil(n.st.size / bs);
    const present = new Uint8Array(Math.ceil(nblocks / 8));
    const f = await this.tree.open(n.path);
    try {
      const buf = new Uint8Array(Math.max(bs, Math.floor(CHUNK / bs) * bs));
      for (let pos = 0; pos < n.st.size;) {
        const want = Math.min(buf.length, n.st.size - pos);
        const got = await readFull(f, buf.subarray(0, want), pos);
        if (got === 0) break;
        for (let off = 0; off < got; off += bs) {
          if (!isZero(buf.subarray(off, Math.min(off + bs, got)))) {
            const l = (pos + off) / bs;
            present[l >>> 3]! |= 1 << (l & 7);
          }
        }
        pos += got;
      }
    } finally {
      await f.close();
    }
    n.present = present;
    n.presentBs = bs;
  }
}

/** Is any bit from `from` (inclusive) to `to` (exclusive) set? */
function anyBit(map: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to;) {
    if ((i & 7) === 0 && i + 8 <= to) {
      if (map[i >>> 3] !== 0) return true;
      i += 8;
      continue;
    }
    if ((map[i >>> 3]! & (1 << (i & 7))) !== 0) return true;
    i++;
  }
  return false;
}

async function readFull(f: SourceFile, buf: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const r = await f.read(buf.subarray(done), pos + done);
    if (r === 0) break;
    done += r;
  }
  return done;
}

/**
 * Build the image. `openImage(size)` is called once the size is known and returns the image to
 * write (at least `size` bytes, reading as zeros if `zeroed`).
 */
export async function makefs<P>(openImage: (size: number) => Promise<ImageIO & { zeroed?: boolean }>, tree: SourceTree<P>, o: MakefsOptions): Promise<MakefsResult> {
  // 1. walk
  const w = new Walker(tree);
  const rootSt = await tree.lstat(tree.root);
  if ((rootSt.mode & S_IFMT) !== S_IFDIR) throw new KernelError('ENOTDIR', `${tree.display(tree.root)} is not a directory`);
  const root = w.node(tree.root, rootSt, EXT2_ROOT_INO, EXT2_ROOT_INO);
  await w.walkDir(root, true);
  const lf = w.nodes.find((n) => n.ino === LOST_FOUND_INO) ?? null;

  // 2. size
  const revision = o.revision ?? EXT2_DYNAMIC_REV;
  const feats = revision < EXT2_DYNAMIC_REV ? { compat: 0, incompat: 0, roCompat: 0 } : o.features === undefined ? DEFAULT_FEATURES : parseFeatures(o.features);
  const largeFile = (feats.roCompat & RO_COMPAT_LARGE_FILE) !== 0;
  const plan = async (bs: number): Promise<{ blocks: number; inodes: number }> => {
    let blocks = 0;
    const maxBlocks = maxFileBlocks(bs);
    for (const n of w.nodes) {
      const fmt = n.st.mode & S_IFMT;
      if (fmt === S_IFDIR) {
        const names = [1, 2, ...(n.ino === EXT2_ROOT_INO ? [LOST_FOUND.length] : []), ...(n.children ?? []).map((c) => c.name.length)];
        let db = directoryBlocks(names, bs);
        if (n.ino === LOST_FOUND_INO) db = Math.max(db, lostFoundBlocks(bs));
        n.blocks = blocksForFile(db, bs);
      } else if (fmt === S_IFREG) {
        const nb = Math.ceil(n.st.size / bs);
        if (nb > maxBlocks) throw new KernelError('EFBIG', `${tree.display(n.path)}: ${n.st.size} bytes is more than ext2 maps with ${bs}-byte blocks`);
        if (n.st.size >= 0x8000_0000 && !largeFile) {
          throw new KernelError('EFBIG', `${tree.display(n.path)}: ${n.st.size} bytes needs the large_file feature (and revision 1)`);
        }
        if (n.st.allocated < n.st.size) {
          if (n.presentBs !== bs) await w.scanSparse(n, bs);
          n.blocks = blocksForSparse(n.present!, nb, bs);
        } else {
          n.blocks = blocksForFile(nb, bs);
        }
      } else if (fmt === S_IFLNK) {
        const len = n.target!.length;
        if (len >= bs) throw new KernelError('ENAMETOOLONG', `${tree.display(n.path)}: a symbolic link target of ${len} bytes does not fit a ${bs}-byte block`);
        n.blocks = len < EXT2_I_BLOCK_SIZE ? 0 : 1;
      } else {
        n.blocks = 0;
      }
      blocks += n.blocks;
    }
    if (lf === null) blocks += lostFoundBlocks(bs);
    return { blocks, inodes: w.nextIno - 1 };
  };

  let bs = o.blockSize ?? 1024;
  let need: { blocks: number; inodes: number };
  try {
    need = await plan(bs);
  } catch (e) {
    // a file larger than 1 KiB blocks can map (16 GiB): take 4 KiB blocks when the size is ours to choose
    if (!(e instanceof KernelError && e.code === 'EFBIG' && o.blockSize === undefined && largeFile)) throw e;
    need = { blocks: Infinity, inodes: 0 };
  }
  if (o.blockSize === undefined && o.size === undefined && need.blocks * bs > 512 * 1024 * 1024) {
    bs = 4096;
    need = await plan(bs);
  } else if (o.blockSize === undefined && o.size !== undefined && o.size > 512 * 1024 * 1024) {
    bs = 4096;
    need = await plan(bs);
  }

  const freeFiles = Math.max(o.freeFiles ?? 0, Math.ceil((need.inodes * (o.freeFilesPercent ?? (o.freeFiles === undefined ? 10 : 0))) / 100));
  // the inodes: as asked, or by density (bytes per inode) when asked, else what the tree needs plus the free ones
  const inodesCount = o.inodesCount ?? (o.inodeRatio !== undefined ? undefined : need.inodes + freeFiles);
  if (inodesCount !== undefined && inodesCount < need.inodes) throw new KernelError('ENOSPC', `${need.inodes} inodes are needed, ${inodesCount} asked for`);
  const base = { ...o, blockSize: bs, ...(inodesCount !== undefined ? { inodesCount } : {}) };
  const wantInodes = need.inodes + (inodesCount === undefined ? freeFiles : 0);
  const freeBlocksFor = (totalBlocks: number): number =>
    Math.max(o.freeBlocks ?? 0, Math.ceil((totalBlocks * (o.freeBlocksPercent ?? (o.freeBlocks === undefined ? 10 : 0))) / 100));
  const fits = (l: Layout): boolean => dataBlocks(l) >= need.blocks + freeBlocksFor(l.blocksCount) && l.inodesCount >= wantInodes;
  const sizeOnly = (size: number): ImageIO => ({ size, read: async () => new Uint8Array(0), write: async () => undefined });

  let size: number;
  let layout: Layout;
  if (o.size !== undefined) {
    size = o.size;
    ({ layout } = prepare(sizeOnly(size), { ...base, size }));
    if (dataBlocks(layout) < need.blocks || layout.inodesCount < need.inodes) {
      throw new KernelError('ENOSPC', `the tree needs ${need.blocks} blocks of ${bs} bytes and ${need.inodes} inodes; a ${size}-byte image holds ${dataBlocks(layout)} and ${layout.inodesCount}`);
    }
  } else {
    let blocks = Math.max(need.blocks + 64, Math.ceil((o.minSize ?? 0) / bs));
    const plan = (n: number): Layout => planLayout({
      blocksCount: n, blockSize: bs, inodeSize: revision < EXT2_DYNAMIC_REV ? 128 : (o.inodeSize ?? 128),
      ...(inodesCount !== undefined ? { inodesCount } : { inodeRatio: o.inodeRatio! }),
      sparseSuper: (feats.roCompat & RO_COMPAT_SPARSE_SUPER) !== 0, ...(o.blocksPerGroup !== undefined ? { blocksPerGroup: o.blocksPerGroup } : {}),
    });
    for (let i = 0; ; i++) {
      if (i > 100_000 || blocks > EXT2_MAX_BLOCKS_32) throw new KernelError('ENOSPC', `no ext2 layout with ${bs}-byte blocks holds ${need.blocks} blocks and ${need.inodes} inodes`);
      try {
        layout = plan(blocks);
        // a trimmed last group: the layout of the trimmed size is the one the image gets
        if (layout.blocksCount !== blocks) layout = plan(layout.blocksCount);
      } catch (e) {
        // too small for its metadata, or too many inodes for its groups: grow
        if (e instanceof KernelError && (e.code === 'ENOSPC' || e.code === 'EINVAL')) {
          blocks += Math.max(64, Math.floor(blocks / 8));
          continue;
        }
        throw e;
      }
      if (fits(layout)) break;
      const short = need.blocks + freeBlocksFor(blocks) - dataBlocks(layout);
      const inodeShort = inodesCount === undefined ? Math.ceil(((wantInodes - layout.inodesCount) * o.inodeRatio!) / bs) : 0;
      blocks += Math.max(short, inodeShort, 64);
    }
    size = layout.blocksCount * bs;
    if (o.maxSize !== undefined && size > o.maxSize) {
      throw new KernelError('ENOSPC', `the image needs ${size} bytes, more than the maximum ${o.maxSize}`);
    }
    ({ layout } = prepare(sizeOnly(size), { ...base, size }));
    if (!(dataBlocks(layout) >= need.blocks && layout.inodesCount >= need.inodes)) {
      throw new KernelError('EIO', `makefs: sized layout does not hold the tree (${dataBlocks(layout)} < ${need.blocks} blocks)`);
    }
  }

  // 3. write
  const io = await openImage(size);
  const { layout: finalLayout, build } = prepare(io, { ...base, size, zeroed: io.zeroed ?? false });
  layout = finalLayout;
  const b = new Ext2Builder(io, layout, build);
  const ft = build.revision >= EXT2_DYNAMIC_REV && (build.features.incompat & INCOMPAT_FILETYPE) !== 0;
  const fixed = o.timestamp !== undefined ? { sec: o.timestamp, nsec: 0 } : null;
  const times = (st: SourceStat): { atime: Time; mtime: Time; ctime: Time; crtime: Time } => fixed !== null
    ? { atime: fixed, mtime: fixed, ctime: fixed, crtime: fixed }
    : { atime: st.atime, mtime: st.mtime, ctime: st.ctime, crtime: st.birthtime ?? st.ctime };
  const owner = (st: SourceStat): { uid: number; gid: number } => ({ uid: o.uid ?? st.uid, gid: o.gid ?? st.gid });
  const dirEntries = (n: MkNode<P>): PackEntry[] => [
    { name: new Uint8Array([0x2e]), inode: n.ino, fileType: EXT2_FT_DIR },
    { name: new Uint8Array([0x2e, 0x2e]), inode: n.parentIno, fileType: EXT2_FT_DIR },
    ...(n.children ?? []).map((c) => ({ name: c.name, inode: c.node.ino, fileType: modeToFt(c.node.st.mode) })),
  ];

  // inodes: root (2) and lost+found (11) are marked where they are written, then 12...
  for (const n of w.nodes) if (n.ino > LOST_FOUND_INO) b.markInode(n.ino, (n.st.mode & S_IFMT) === S_IFDIR);
  const rootChildren = (root.children ?? []).map((c) => ({ name: c.name, inode: c.node.ino, fileType: modeToFt(c.node.st.mode) }));
  const rootSubdirs = (root.children ?? []).filter((c) => (c.node.st.mode & S_IFMT) === S_IFDIR).length;
  const rt = times(rootSt);
  const { uid: ru, gid: rg } = owner(rootSt);
  const progressTotal = w.bytes;
  let copied = 0;
  if (lf === null) {
    await writeRootAndLostFound(b, { uid: ru, gid: rg, mode: rootSt.mode, atime: rt.atime, mtime: rt.mtime, ctime: rt.ctime }, rootChildren, rootSubdirs);
  } else {
    // the source has its own lost+found: root as usual, lost+found from the source
    b.markInode(EXT2_ROOT_INO, true);
    b.markInode(LOST_FOUND_INO, true);
    const rb = packDirectory([
      { name: new Uint8Array([0x2e]), inode: EXT2_ROOT_INO, fileType: EXT2_FT_DIR },
      { name: new Uint8Array([0x2e, 0x2e]), inode: EXT2_ROOT_INO, fileType: EXT2_FT_DIR },
      { name: LOST_FOUND, inode: LOST_FOUND_INO, fileType: EXT2_FT_DIR },
      ...rootChildren,
    ], bs, ft);
    await b.writeDirectory(EXT2_ROOT_INO, rb, { mode: S_IFDIR | (rootSt.mode & 0o7777), uid: ru, gid: rg, links: 3 + rootSubdirs, ...rt });
    const lb = packDirectory(dirEntries(lf), bs, ft);
    while (lb.length < lostFoundBlocks(bs)) lb.push(packDirectory([], bs, ft)[0]!);
    await b.writeDirectory(LOST_FOUND_INO, lb, { mode: S_IFDIR | (lf.st.mode & 0o7777), ...owner(lf.st), links: lf.links, ...times(lf.st) });
  }

  const buf = new Uint8Array(Math.max(bs, Math.floor(CHUNK / bs) * bs));
  const ordered = w.nodes.filter((n) => n.ino > LOST_FOUND_INO).sort((x, y) => x.ino - y.ino);
  for (const n of ordered) {
    const st = n.st;
    const fmt = st.mode & S_IFMT;
    const attrs = { mode: st.mode & 0xffff, ...owner(st), links: n.links, ...times(st) };
    if (fmt === S_IFDIR) {
      await b.writeDirectory(n.ino, packDirectory(dirEntries(n), bs, ft), attrs);
    } else if (fmt === S_IFREG) {
      const m = b.mapper();
      const sparse = n.present;
      if (st.size > 0) {
        const f = await tree.open(n.path);
        try {
          for (let pos = 0; pos < st.size;) {
            const want = Math.min(buf.length, st.size - pos);
            if (sparse !== null && !anyBit(sparse, pos / bs, Math.ceil((pos + want) / bs))) {
              // all holes: nothing to read
              pos += want;
              copied += want;
              continue;
            }
            let got = await readFull(f, buf.subarray(0, want), pos);
            if (got < want) {
              // the file shrank since the walk: the rest reads as zeros
              buf.fill(0, got, want);
              got = want;
            }
            // blocks that land next to each other on disk go out in one write
            let runOff = 0, runP = 0, runN = 0;
            for (let off = 0; off < got; off += bs) {
              const l = (pos + off) / bs;
              const end = Math.min(off + bs, got);
              if (sparse !== null && ((sparse[l >>> 3]! & (1 << (l & 7))) === 0 || isZero(buf.subarray(off, end)))) continue;
              let p = m.tryMapSync(l);
              if (p < 0) p = await m.map(l);
              if (runN > 0 && p === runP + runN && off === runOff + runN * bs) {
                runN++;
                continue;
              }
              if (runN > 0) await b.writer.write(runP, buf.subarray(runOff, runOff + runN * bs));
              runOff = off;
              runP = p;
              runN = 1;
            }
            if (runN > 0) await b.writer.write(runP, buf.subarray(runOff, Math.min(runOff + runN * bs, got)));
            pos += got;
            copied += got;
            o.onProgress?.(copied, progressTotal);
          }
        } finally {
          await f.close();
        }
      }
      const { iblock, blocks } = await m.finish();
      b.putInode(n.ino, { ...attrs, size: st.size, blocks512: blocks * (bs / 512), iblock });
    } else if (fmt === S_IFLNK) {
      const t = n.target!;
      if (t.length < EXT2_I_BLOCK_SIZE) {
        const iblock = new Uint8Array(EXT2_I_BLOCK_SIZE);
        iblock.set(t);
        b.putInode(n.ino, { ...attrs, size: t.length, blocks512: 0, iblock });
      } else {
        const m = b.mapper();
        await b.writer.write(await m.map(0), t);
        const { iblock, blocks } = await m.finish();
        b.putInode(n.ino, { ...attrs, size: t.length, blocks512: blocks * (bs / 512), iblock });
      }
    } else if (fmt === S_IFCHR || fmt === S_IFBLK) {
      b.putInode(n.ino, { ...attrs, size: 0, blocks512: 0, iblock: encodeRdev(st.rdevMajor, st.rdevMinor) });
    } else {
      b.putInode(n.ino, { ...attrs, size: 0, blocks512: 0, iblock: new Uint8Array(EXT2_I_BLOCK_SIZE) });
    }
    if ((n.ino & 1023) === 0) await b.flushInodesBelow(n.ino);
  }
  await b.finish();
  o.onProgress?.(progressTotal, progressTotal);
  return {
    layout, superblock: b.superblock(), features: featureNames(build.features),
    files: w.files, directories: w.dirs, bytes: w.bytes,
  };
}
