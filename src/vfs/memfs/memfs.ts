/**
 * A mounted memory file system (the shared core of rumpfs and tmpfs): its nodes, limits and
 * accounting, and the vnodes of its nodes.
 *
 * Accounting: every page of file data is allocated through the kernel (`k.kmem.alloc`, charged
 * against the kernel memory limit) and counted against the mount's size limit; node and
 * directory-entry overheads are charged to kernel memory only (the size limit is about data,
 * like Linux's tmpfs `size=`; the number of nodes has its own limit). Every refusal is ENOSPC.
 * Everything charged is uncharged when the object goes away, and all of it at unmount.
 *
 * Nodes are freed when their last link is gone and no vnode refers to them: either at once
 * (no vnode) or when the vnode is reclaimed (VOP_INACTIVE asks for that when nlink is 0).
 * Inode numbers come from a counter and are never reused within a mount, so a vnode cache key
 * never names two objects.
 */

import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Timespec } from '../../kern/types.js';
import { NAME_MAX } from '../../kern/types.js';
import type { FileSystem, FsStat, Mount } from '../mount.js';
import { VBLK, VCHR, VDIR, VFIFO, VLNK, VREG, VSOCK, vtypeName, type VType, type Vnode } from '../vnode.js';
import type { MemfsBacking } from './backing.js';
import { PAGE_SIZE, type PageAllocator } from './data.js';
import { utf8Length } from './dir.js';
import { MemDirNode, MemLinkNode, MemRegNode, MemSpecNode, timespecFromMs, type MemNode } from './node.js';
import { MemLinkVnode, MemSpecVnode, type MemVnode } from './vnode.js';
import { MemDirVnode } from './vnode_dir.js';
import { MemRegVnode } from './vnode_reg.js';

/** Kernel memory charged per node (its attributes and bookkeeping). */
export const NODE_COST = 128;
/** Kernel memory charged per directory entry, plus the name's bytes. */
export const DIRENT_COST = 48;
/** Largest file size by default: the largest exact integer offset. */
export const MEMFS_MAXFILESIZE = Number.MAX_SAFE_INTEGER;
/** Node limit when none is configured (memory is then the real limit). */
const NODES_UNLIMITED = 0x7fffffff;

export interface MemfsOptions {
  /** File system type name, for messages ('tmpfs', 'rumpfs'). */
  fstype: string;
  /** mntfromname */
  from: string;
  /** Data size limit in bytes (rounded up to pages); 0 = kernel memory only. */
  sizeMax?: number;
  /** Node limit (root included); 0 = derived from the size limit, or unlimited. */
  nodesMax?: number;
  /** Largest file size (EFBIG beyond). */
  maxFileSize?: number;
  /** Root directory attributes. */
  rootMode: number;
  rootUid?: number;
  rootGid?: number;
}

/** What a new node is made of (NewVattr plus the extras of some types). */
export interface MemNodeSpec {
  type: VType;
  mode: number;
  uid: number;
  gid: number;
  rdev?: number;
  /** Symbolic link target. */
  target?: string;
  /** External storage of a regular file. */
  backing?: MemfsBacking | null;
}

export class MemFs implements FileSystem, PageAllocator {
  readonly from: string;
  readonly fstype: string;
  readonly rootNode: MemDirNode;
  /** Every live node (reachable or open-but-unlinked). */
  readonly nodes = new Set<MemNode>();
  /** Data pages held by this mount. */
  pagesUsed = 0;
  /** Kernel memory charged for nodes, entries and link targets. */
  metaBytes = 0;
  /** Data size limit in bytes (a page multiple); 0 = none. */
  sizeMax: number;
  nodesMax: number;
  readonly maxFileSize: number;
  unmounted = false;
  private nextIno = 2;
  private readonly genSeed: number;

  constructor(readonly kernel: Kernel, readonly mp: Mount, opts: MemfsOptions) {
    this.fstype = opts.fstype;
    this.from = opts.from;
    this.sizeMax = roundPage(opts.sizeMax ?? 0);
    this.nodesMax = defaultNodes(this.sizeMax, opts.nodesMax ?? 0);
    this.maxFileSize = opts.maxFileSize ?? MEMFS_MAXFILESIZE;
    this.genSeed = Math.floor(kernel.now() * 1000) >>> 0;
    const root = this.allocNode({ type: VDIR, mode: opts.rootMode, uid: opts.rootUid ?? 0, gid: opts.rootGid ?? 0 }, null);
    root.nlink = 2;
    this.rootNode = root as MemDirNode;
  }

  // ---- FileSystem ----

  root(): Vnode {
    return this.vget(this.rootNode);
  }

  statvfs(): FsStat {
    const km = this.kernel.kmem;
    const kfree = Math.max(0, km.limit - km.used);
    const kfreePages = Math.floor(kfree / PAGE_SIZE);
    let blocks: number;
    let bfree: number;
    if (this.sizeMax > 0) {
      blocks = this.sizeMax / PAGE_SIZE;
      bfree = Math.max(0, Math.min(blocks - this.pagesUsed, kfreePages));
    } else {
      bfree = kfreePages;
      blocks = this.pagesUsed + bfree;
    }
    const ffree = Math.max(0, Math.min(this.nodesMax - this.nodes.size, Math.floor(kfree / NODE_COST)));
    return {
      bsize: PAGE_SIZE, frsize: PAGE_SIZE, iosize: PAGE_SIZE,
      blocks, bfree, bavail: bfree, bresvd: 0,
      files: this.nodesMax, ffree, favail: ffree, fresvd: 0,
      namemax: NAME_MAX,
    };
  }

  sync(_wait: boolean): Promise<void> {
    return Promise.resolve();
  }

  /** Called after the VFS reclaimed every vnode: release all storage. */
  unmount(_force: boolean): Promise<void> {
    for (const n of [...this.nodes]) {
      if (n.vnode !== null) {
        const vp = n.vnode as MemVnode;
        vp.node = null;
        n.vnode = null;
      }
      if (n instanceof MemDirNode) {
        for (const e of [...n.dir.entries()]) {
          n.dir.remove(e.name);
          this.uncharge(direntCost(e.name));
        }
      }
      this.freeNode(n);
    }
    this.unmounted = true;
    return Promise.resolve();
  }

  // ---- limits ----

  /** Change the limits (mount update). EBUSY if current usage exceeds a new limit. */
  setLimits(sizeMax: number | undefined, nodesMax: number | undefined): void {
    const size = sizeMax === undefined ? this.sizeMax : roundPage(sizeMax);
    if (size > 0 && this.pagesUsed * PAGE_SIZE > size) {
      throw new KernelError('EBUSY', `${this.fstype} on ${this.mp.onName}: ${this.pagesUsed * PAGE_SIZE} bytes in use exceed the new size limit ${size}`);
    }
    const nodes = nodesMax === undefined ? (sizeMax === undefined ? this.nodesMax : defaultNodes(size, 0)) : defaultNodes(size, nodesMax);
    if (this.nodes.size > nodes) {
      throw new KernelError('EBUSY', `${this.fstype} on ${this.mp.onName}: ${this.nodes.size} nodes in use exceed the new node limit ${nodes}`);
    }
    this.sizeMax = size;
    this.nodesMax = nodes;
  }

  // ---- accounting ----

  allocPage(): Uint8Array {
    if (this.sizeMax > 0 && (this.pagesUsed + 1) * PAGE_SIZE > this.sizeMax) {
      throw new KernelError('ENOSPC', `${this.fstype} on ${this.mp.onName} is full (size limit ${this.sizeMax} bytes)`);
    }
    const page = this.kernel.kmem.alloc(PAGE_SIZE, `${this.fstype} on ${this.mp.onName}: file data`, 'ENOSPC');
    this.pagesUsed++;
    return page;
  }

  freePage(page: Uint8Array): void {
    this.kernel.kmem.free(page);
    this.pagesUsed--;
  }

  /** Charge metadata to kernel memory (ENOSPC when over the limit). */
  charge(bytes: number, what: string): void {
    this.kernel.kmem.charge(bytes, `${this.fstype} on ${this.mp.onName}: ${what}`, 'ENOSPC');
    this.metaBytes += bytes;
  }

  uncharge(bytes: number): void {
    this.kernel.kmem.uncharge(bytes);
    this.metaBytes -= bytes;
  }

  // ---- nodes ----

  now(): Timespec {
    return timespecFromMs(this.kernel.now());
  }

  /**
   * A new node, not yet in any directory (nlink 0). Checks the node limit and charges memory.
   * `parent` is the directory a new directory will live in.
   */
  allocNode(spec: MemNodeSpec, parent: MemDirNode | null): MemNode {
    if (this.nodes.size >= this.nodesMax) {
      throw new KernelError('ENOSPC', `${this.fstype} on ${this.mp.onName}: node limit ${this.nodesMax} reached`);
    }
    const targetBytes = spec.type === VLNK ? utf8Length(spec.target ?? '') : 0;
    this.charge(NODE_COST + targetBytes, `${vtypeName(spec.type)} node`);
    const ino = this.nextIno++;
    const gen = (this.genSeed + Math.imul(ino, 0x9e3779b1)) >>> 0;
    const mode = spec.mode & 0o7777;
    const now = this.now();
    let n: MemNode;
    switch (spec.type) {
      case VDIR: n = new MemDirNode(ino, gen, mode, spec.uid, spec.gid, now, parent); break;
      case VREG: n = new MemRegNode(ino, gen, mode, spec.uid, spec.gid, now, this, spec.backing ?? null); break;
      case VLNK: n = new MemLinkNode(ino, gen, mode, spec.uid, spec.gid, now, spec.target ?? '', targetBytes); break;
      case VBLK: case VCHR: case VFIFO: case VSOCK:
        n = new MemSpecNode(ino, gen, spec.type, mode, spec.uid, spec.gid, now, spec.rdev ?? 0); break;
      default:
        this.uncharge(NODE_COST + targetBytes);
        throw new KernelError('EINVAL', `${this.fstype} cannot create a node of type ${vtypeName(spec.type)}`);
    }
    this.nodes.add(n);
    return n;
  }

  /** Release a node's storage (it has no links and no vnode). Idempotent. */
  freeNode(n: MemNode): void {
    if (n.freed) return;
    n.freed = true;
    this.nodes.delete(n);
    this.uncharge(NODE_COST + (n instanceof MemLinkNode ? n.targetBytes : 0));
    if (n instanceof MemRegNode) n.data.clear();
  }

  /** Free `n` now if nothing refers to it any more; otherwise its vnode's reclaim will. */
  releaseIfOrphan(n: MemNode): void {
    if (n.nlink === 0 && n.vnode === null) this.freeNode(n);
  }

  /** The vnode of `n` (one per node), made and entered in the vnode cache if needed. */
  vget(n: MemNode): MemVnode {
    if (n.freed) throw new KernelError('ENOENT', `${this.fstype} on ${this.mp.onName}: node ${n.ino} no longer exists`);
    const cur = n.vnode;
    if (cur !== null && !cur.reclaimed) return cur as MemVnode;
    const vc = this.kernel.vfs!.vcache;
    const cached = vc.get(this.mp, n.ino);
    if (cached !== undefined && !cached.reclaimed) {
      n.vnode = cached;
      return cached as MemVnode;
    }
    let vp: MemVnode;
    switch (n.type) {
      case VDIR: vp = new MemDirVnode(this, n); break;
      case VREG: vp = new MemRegVnode(this, n); break;
      case VLNK: vp = new MemLinkVnode(this, n); break;
      default: vp = new MemSpecVnode(this, n); break;
    }
    n.vnode = vp;
    const got = vc.insert(vp) as MemVnode;
    if (got !== vp) {
      vp.node = null;
      n.vnode = got;
    }
    return got;
  }
}

/** Kernel memory a directory entry named `name` costs. */
export function direntCost(name: string): number {
  return DIRENT_COST + utf8Length(name);
}

function roundPage(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** NetBSD's tmpfs default: one node per KiB of the size limit (at least 3); unlimited without one. */
function defaultNodes(sizeMax: number, nodesMax: number): number {
  if (nodesMax > 0) return Math.min(nodesMax, NODES_UNLIMITED);
  if (sizeMax > 0) return Math.min(NODES_UNLIMITED, Math.max(3, Math.floor(sizeMax / 1024) + 3));
  return NODES_UNLIMITED;
}
