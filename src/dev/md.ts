/**
 * md: memory disks (NetBSD's md(4), block major 17, character major 24), as the `md` component.
 *
 *   const k = await Kernel.boot({ host, components: [vfs, md, ext2fs] });
 *   const { path } = await mdCreate(k, { size: 8 << 20 });     // '/dev/md0', raw '/dev/rmd0'
 *   await k.sys.mount(l, 'ext2fs', '/mnt', 0, { fspec: path });
 *
 * Unit N is minor N (our md has no disklabel partitions): block node /dev/mdN and raw node
 * /dev/rmdN. Contents live in 4 KiB pages (memfs's PageStore) allocated on first write and charged to kernel
 * memory (a write that does not fit fails with ENOMEM); never-written chunks read as zeros. A
 * disk keeps its contents across opens until `mdDestroy` (EBUSY while it is open).
 */

import type { Component } from '../kern/component.js';
import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import { makedev } from '../kern/types.js';
import { clipTransfer, DEV_BSIZE, type BlockDevice } from '../vfs/blockdev.js';
import type { BlockDriver } from '../vfs/devsw.js';
import { rumpfsAddNode, rumpfsRemoveNode } from '../vfs/rumpfs.js';
import { VBLK, VCHR } from '../vfs/vnode.js';
import { PageStore, PAGE_SIZE } from '../vfs/memfs/data.js';

export const MD_BMAJOR = 17;
export const MD_CMAJOR = 24;
const MAX_UNITS = 256;

/** A disk's contents: the memory file systems' sparse page store, pages charged to kmem. */
class MdStore {
  readonly data: PageStore;
  constructor(k: Kernel, readonly unit: number, readonly size: number, public ro: boolean) {
    const what = `md${unit}: memory disk storage`;
    this.data = new PageStore({
      allocPage: () => k.kmem.alloc(PAGE_SIZE, what),
      freePage: (p) => k.kmem.free(p),
    });
    this.data.truncate(size); // all holes: reads as zeros, costs nothing
  }
}

/** One open of a memory disk. */
class MdDevice implements BlockDevice {
  readonly sectorSize = DEV_BSIZE;
  private closed = false;

  constructor(private readonly store: MdStore, readonly dev: number) {}

  get name(): string { return `md${this.store.unit}`; }
  get size(): number { return this.store.size; }
  get readonly(): boolean { return this.store.ro; }

  private live(): MdStore {
    if (this.closed) throw new KernelError('EBADF', `${this.name}: device is closed`);
    return this.store;
  }

  async read(buf: Uint8Array, offset: number): Promise<number> {
    const s = this.live();
    const n = clipTransfer(this.name, s.size, buf, offset, false);
    return s.data.read(n === buf.length ? buf : buf.subarray(0, n), offset);
  }

  async write(buf: Uint8Array, offset: number): Promise<number> {
    const s = this.live();
    if (s.ro) throw new KernelError('EROFS', `${this.name} is read-only`);
    const n = clipTransfer(this.name, s.size, buf, offset, true);
    return s.data.write(n === buf.length ? buf : buf.subarray(0, n), offset);
  }

  async flush(): Promise<void> {
    this.live();
  }

  async close(): Promise<void> {
    this.live();
    this.closed = true;
  }
}

class MdDriver implements BlockDriver {
  readonly name = 'md';
  readonly stores = new Map<number, MdStore>();

  async open(minor: number, dev: number): Promise<BlockDevice> {
    const s = this.stores.get(minor);
    if (s === undefined) throw new KernelError('ENXIO', `md${minor} is not configured`);
    return new MdDevice(s, dev);
  }
}

function driverOf(k: Kernel): MdDriver {
  const drv = k.vfs?.devsw.bdevsw.get(MD_BMAJOR);
  if (!(drv instanceof MdDriver)) throw new KernelError('ENXIO', 'memory disks need the md component');
  return drv;
}

export interface MdOptions {
  /** Size in bytes (a multiple of 512). */
  size: number;
  /** Initial contents (copied; at most `size` bytes). */
  contents?: Uint8Array;
  readonly?: boolean;
}

/** Configure a new memory disk and create its /dev nodes. */
export async function mdCreate(k: Kernel, opts: MdOptions): Promise<{ unit: number; path: string; rawPath: string }> {
  const drv = driverOf(k);
  const { size } = opts;
  if (!Number.isSafeInteger(size) || size <= 0 || size % DEV_BSIZE !== 0) throw new KernelError('EINVAL', `md size ${String(size)} is not a positive multiple of ${DEV_BSIZE}`);
  if (opts.contents !== undefined && opts.contents.length > size) throw new KernelError('EINVAL', `md contents (${opts.contents.length} bytes) exceed its size (${size})`);
  let unit = 0;
  while (drv.stores.has(unit)) unit++;
  if (unit >= MAX_UNITS) throw new KernelError('ENFILE', `all ${MAX_UNITS} md units are in use`);
  const store = new MdStore(k, unit, size, false);
  drv.stores.set(unit, store);
  const path = `/dev/md${unit}`;
  const rawPath = `/dev/rmd${unit}`;
  let added = false;
  try {
    if (opts.contents !== undefined) await new MdDevice(store, makedev(MD_BMAJOR, unit)).write(opts.contents, 0);
    store.ro = opts.readonly ?? false;
    await rumpfsAddNode(k, path, { type: VBLK, mode: 0o640, rdev: makedev(MD_BMAJOR, unit) });
    added = true;
    await rumpfsAddNode(k, rawPath, { type: VCHR, mode: 0o640, rdev: makedev(MD_CMAJOR, unit) });
  } catch (e) {
    if (added) await rumpfsRemoveNode(k, path).catch(() => undefined);
    freeStore(drv, store);
    throw e;
  }
  return { unit, path, rawPath };
}

function freeStore(drv: MdDriver, s: MdStore): void {
  s.data.clear();
  drv.stores.delete(s.unit);
}

/** Unconfigure a memory disk, freeing its memory. EBUSY while open, ENXIO if not configured. */
export async function mdDestroy(k: Kernel, unit: number): Promise<void> {
  const drv = driverOf(k);
  const s = drv.stores.get(unit);
  if (s === undefined) throw new KernelError('ENXIO', `md${unit} is not configured`);
  if (k.vfs!.devsw.isOpen(makedev(MD_BMAJOR, unit))) throw new KernelError('EBUSY', `md${unit} is open`);
  for (const p of [`/dev/md${unit}`, `/dev/rmd${unit}`]) {
    await rumpfsRemoveNode(k, p).catch((e: unknown) => {
      if (!(e instanceof KernelError && e.code === 'ENOENT')) throw e;
    });
  }
  freeStore(drv, s);
}

/** The md component (NetBSD's librumpdev_md). */
export const md: Component = {
  name: 'md',
  aliases: ['rumpdev_md'],
  type: 'dev',
  deps: ['vfs'],
  init(k: Kernel): void {
    const sw = k.vfs?.devsw;
    if (sw === undefined) throw new KernelError('ENXIO', 'md needs the vfs component');
    sw.attachDisk(MD_BMAJOR, MD_CMAJOR, new MdDriver());
  },
  fini(k: Kernel): void {
    const sw = k.vfs?.devsw;
    const drv = sw?.bdevsw.get(MD_BMAJOR);
    if (sw === undefined || !(drv instanceof MdDriver)) return;
    for (const s of [...drv.stores.values()]) freeStore(drv, s);
    sw.detach('char', MD_CMAJOR);
    sw.detach('block', MD_BMAJOR);
  },
};
