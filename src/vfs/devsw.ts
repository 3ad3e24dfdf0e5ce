/**
 * The device switch (cdevsw/bdevsw): character and block device drivers by major number, and
 * opening device vnodes.
 *
 * Majors are NetBSD's (sys/arch/amd64/conf/majors.amd64, sys/conf/majors): mem 2 (null is minor
 * 2, zero 12), rnd 46 (random 0, urandom 1), md char 24 / block 17, rumpblk 197 (both).
 *
 * A character driver is a set of per-minor entry points. A block driver opens a *unit* (a
 * `BlockDevice`) for a minor; the switch shares one unit among all opens of a device number,
 * hands every opener its own handle, and on the last close writes back and drops the unit's
 * buffers and closes the unit. A disk's raw (character) side is declared with `attachDisk`: its
 * character opens share the block unit and do unbuffered, sector-aligned I/O (spec.ts).
 *
 * `devInit(k)` (called by the VFS component after rumpfs is mounted) attaches the drivers every
 * kernel has (mm, rnd, rumpblk), creates /dev/null, zero, full, random and urandom, and the
 * vfs.bufcache sysctl nodes.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { FileOps } from '../kern/file.js';
import type { Lwp } from '../kern/proc.js';
import { KMutex } from '../kern/sync.js';
import { O_ACCMODE, O_EXCL, O_RDONLY, major, makedev, minor } from '../kern/types.js';
import type { BlockDevice } from './blockdev.js';
import { BufCache } from './bufcache.js';
import { EtfsTable } from './etfs.js';
import { RumpBlk, RUMPBLK_MAJOR } from './rumpblk.js';
import { specOpen } from './spec.js';
import { VBLK, VCHR, type Vnode } from './vnode.js';
import { mmDriver, MM_MAJOR, MM_NULL, MM_ZERO, MM_FULL } from '../dev/mm.js';
import { rndDriver, RND_MAJOR, RND_DEV_RANDOM, RND_DEV_URANDOM } from '../dev/rnd.js';
import { rumpfsAddNode } from './rumpfs.js';

/** A character device driver (struct cdevsw). `minor` selects the device the driver serves. */
export interface CharDriver {
  readonly name: string;
  /** d_open: may refuse (ENXIO for a minor that does not exist, EBUSY, EROFS...). */
  open?(minor: number, l: Lwp, flags: number): void | Promise<void>;
  /** d_close: called for every close of an open (not only the last, unlike NetBSD's). */
  close?(minor: number, l: Lwp | null, flags: number): void | Promise<void>;
  /** d_read: fill `buf` (from `offset` where the device has offsets); the byte count, 0 at end. */
  read(minor: number, l: Lwp, buf: Uint8Array, offset: number, flags: number): Promise<number>;
  /** d_write: the byte count taken. */
  write(minor: number, l: Lwp, buf: Uint8Array, offset: number, flags: number): Promise<number>;
  /** d_ioctl: ENOTTY for commands it does not know. */
  ioctl?(minor: number, l: Lwp, cmd: number, data: unknown): Promise<unknown>;
  /** d_poll: the ready events among `events` (default: always readable and writable). */
  poll?(minor: number, events: number): number;
}

/** A block device driver (struct bdevsw): opens the unit for a minor. */
export interface BlockDriver {
  readonly name: string;
  /**
   * Open the unit for `minor` (first open of that device number): ENXIO if there is none. The
   * switch calls the unit's `close` after the last close. `dev` is the full device number.
   */
  open(minor: number, dev: number, l: Lwp | null): Promise<BlockDevice>;
}

interface OpenUnit {
  readonly unit: BlockDevice;
  opens: number;
  /** An exclusive open (O_EXCL, e.g. a mount) holds the device. */
  claimed: boolean;
}

/** One open of a block device: I/O goes to the shared unit; close drops this open. */
class BlockHandle implements BlockDevice {
  private closed = false;

  constructor(
    private readonly sw: DevSwitch,
    readonly dev: number,
    readonly unit: BlockDevice,
    private readonly writable: boolean,
    private readonly exclusive: boolean,
  ) {}

  get name(): string { return this.unit.name; }
  get sectorSize(): number { return this.unit.sectorSize; }
  get size(): number { return this.unit.size; }
  get readonly(): boolean { return !this.writable || this.unit.readonly === true; }

  private live(): void {
    if (this.closed) throw new KernelError('EBADF', `${this.unit.name}: device handle is closed`);
  }

  async read(buf: Uint8Array, offset: number): Promise<number> {
    this.live();
    return this.unit.read(buf, offset);
  }

  async write(buf: Uint8Array, offset: number): Promise<number> {
    this.live();
    if (!this.writable) throw new KernelError('EBADF', `${this.unit.name}: device was opened read-only`);
    return this.unit.write(buf, offset);
  }

  async flush(): Promise<void> {
    this.live();
    return this.unit.flush();
  }

  async close(): Promise<void> {
    this.live();
    this.closed = true;
    await this.sw.closeBlock(this.dev, this.exclusive);
  }
}

export class DevSwitch {
  readonly cdevsw = new Map<number, CharDriver>();
  readonly bdevsw = new Map<number, BlockDriver>();
  /** Raw (character) majors of disks -> their block major. */
  readonly rawdisks = new Map<number, number>();
  /** The kernel's buffer cache. */
  readonly bufcache: BufCache;
  /** The host-file block driver behind etfs 'blk' and 'chr' keys. */
  readonly rumpblk: RumpBlk;
  /** etfs registrations (key -> host file). */
  readonly etfs = new EtfsTable();
  private readonly units = new Map<number, OpenUnit>();
  private readonly openLock = new KMutex();

  constructor(readonly kernel: Kernel) {
    this.bufcache = new BufCache(kernel);
    this.rumpblk = new RumpBlk();
  }

  /** Attach a character driver at `cmajor`. EEXIST if the major is taken. */
  attachChar(cmajor: number, drv: CharDriver): void {
    checkMajor(cmajor);
    if (this.cdevsw.has(cmajor)) throw new KernelError('EEXIST', `character major ${cmajor} is taken by ${this.cdevsw.get(cmajor)!.name}`);
    this.cdevsw.set(cmajor, drv);
  }

  /** Attach a block driver at `bmajor`. EEXIST if the major is taken. */
  attachBlock(bmajor: number, drv: BlockDriver): void {
    checkMajor(bmajor);
    if (this.bdevsw.has(bmajor)) throw new KernelError('EEXIST', `block major ${bmajor} is taken by ${this.bdevsw.get(bmajor)!.name}`);
    this.bdevsw.set(bmajor, drv);
  }

  /** Attach a disk driver: block major `bmajor`, and its raw side at character major `cmajor`. */
  attachDisk(bmajor: number, cmajor: number, drv: BlockDriver): void {
    checkMajor(cmajor);
    if (this.cdevsw.has(cmajor) || this.rawdisks.has(cmajor)) throw new KernelError('EEXIST', `character major ${cmajor} is taken`);
    this.attachBlock(bmajor, drv);
    this.rawdisks.set(cmajor, bmajor);
  }

  /** Detach a driver (a component's fini). EBUSY while any of its block devices is open. */
  detach(kind: 'char' | 'block', maj: number): void {
    if (kind === 'char') {
      this.cdevsw.delete(maj);
      this.rawdisks.delete(maj);
      return;
    }
    for (const dev of this.units.keys()) if (major(dev) === maj) throw new KernelError('EBUSY', `block major ${maj} has open devices`);
    this.bdevsw.delete(maj);
  }

  /** The block device number behind a raw disk's character device number, or undefined. */
  rawToBlock(cdev: number): number | undefined {
    const b = this.rawdisks.get(major(cdev));
    return b === undefined ? undefined : makedev(b, minor(cdev));
  }

  /** Is block device `dev` open? */
  isOpen(dev: number): boolean {
    return this.units.has(dev);
  }

  /**
   * Open block device `dev` (bdevsw d_open): a handle on its shared unit. EROFS when asked for
   * writing on a read-only device, EBUSY for an exclusive open (O_EXCL) of a device that is
   * claimed already or a second exclusive claim.
   */
  async openBlock(dev: number, l: Lwp | null, flags: number, what = `block device ${major(dev)},${minor(dev)}`): Promise<BlockDevice> {
    const drv = this.bdevsw.get(major(dev));
    if (drv === undefined) throw new KernelError('ENXIO', `${what}: no block driver at major ${major(dev)}`);
    const writable = (flags & O_ACCMODE) !== O_RDONLY;
    const exclusive = (flags & O_EXCL) !== 0;
    if (!this.openLock.tryEnter()) await this.openLock.enter();
    try {
      let ou = this.units.get(dev);
      if (ou !== undefined && exclusive && ou.claimed) throw new KernelError('EBUSY', `${what} is in use (mounted or opened exclusively)`);
      if (ou === undefined) {
        const unit = await drv.open(minor(dev), dev, l);
        ou = { unit, opens: 0, claimed: false };
        this.units.set(dev, ou);
      }
      if (writable && ou.unit.readonly === true) {
        if (ou.opens === 0) await this.lastClose(dev, ou);
        throw new KernelError('EROFS', `${what} (${ou.unit.name}) is read-only`);
      }
      ou.opens++;
      if (exclusive) ou.claimed = true;
      return new BlockHandle(this, dev, ou.unit, writable, exclusive);
    } finally {
      this.openLock.exit();
    }
  }

  /** @internal A handle's close. */
  async closeBlock(dev: number, exclusive: boolean): Promise<void> {
    if (!this.openLock.tryEnter()) await this.openLock.enter();
    try {
      const ou = this.units.get(dev);
      if (ou === undefined) return;
      if (exclusive) ou.claimed = false;
      if (--ou.opens > 0) return;
      await this.lastClose(dev, ou);
    } finally {
      this.openLock.exit();
    }
  }

  private async lastClose(dev: number, ou: OpenUnit): Promise<void> {
    this.units.delete(dev);
    let err: unknown = null;
    try {
      await this.bufcache.binval(ou.unit, { save: ou.unit.readonly !== true });
    } catch (e) {
      err = e;
    }
    try {
      await ou.unit.close();
    } catch (e) {
      err ??= e;
    }
    if (err !== null) throw err;
  }

  /** Open a device vnode (VCHR or VBLK): the file ops and object for the open file. */
  async openFile(l: Lwp, vp: Vnode, flags: number): Promise<{ ops: FileOps; data: unknown }> {
    if (vp.type !== VCHR && vp.type !== VBLK) throw new KernelError('ENODEV', 'not a device');
    return specOpen(this, l, vp, flags);
  }
}

function checkMajor(m: number): void {
  if (!Number.isInteger(m) || m < 0 || m > 0xfff) throw new KernelError('EINVAL', `device major ${String(m)} out of range 0..4095`);
}

/** The devices every kernel has in /dev, and their permissions. */
const BOOT_NODES: readonly { name: string; type: number; major: number; minor: number; mode: number }[] = [
  { name: 'null', type: VCHR, major: MM_MAJOR, minor: MM_NULL, mode: 0o666 },
  { name: 'zero', type: VCHR, major: MM_MAJOR, minor: MM_ZERO, mode: 0o666 },
  { name: 'full', type: VCHR, major: MM_MAJOR, minor: MM_FULL, mode: 0o666 },
  { name: 'random', type: VCHR, major: RND_MAJOR, minor: RND_DEV_RANDOM, mode: 0o666 },
  { name: 'urandom', type: VCHR, major: RND_MAJOR, minor: RND_DEV_URANDOM, mode: 0o666 },
];

/**
 * Device initialisation for a kernel with a VFS (after rumpfs is mounted as root): attach the
 * memory, random and rumpblk drivers, create the /dev nodes, and the buffer cache's sysctl
 * nodes and syncer. At halt the buffer cache is synced by the VFS's syncAll (through the file
 * systems); `devFini` writes back whatever is left.
 */
export async function devInit(k: Kernel): Promise<void> {
  const vfs = k.vfs;
  if (vfs === null) throw new KernelError('ENXIO', 'devInit needs the VFS');
  const sw = vfs.devsw;
  sw.attachChar(MM_MAJOR, mmDriver);
  sw.attachChar(RND_MAJOR, rndDriver(k));
  sw.attachDisk(RUMPBLK_MAJOR, RUMPBLK_MAJOR, sw.rumpblk);
  sw.bufcache.attachSysctl(k.sysctl);
  for (const n of BOOT_NODES) {
    await rumpfsAddNode(k, `/dev/${n.name}`, { type: n.type, mode: n.mode, rdev: makedev(n.major, n.minor) });
  }
  k.onHalt(() => devFini(k));
}

/** Halt: write back every dirty buffer, close etfs host files, stop the syncer. */
export async function devFini(k: Kernel): Promise<void> {
  const sw = k.vfs?.devsw;
  if (sw === undefined) return;
  sw.bufcache.stopSyncer();
  let err: unknown = null;
  try {
    await sw.bufcache.bsync();
  } catch (e) {
    err = e;
  }
  try {
    await sw.etfs.closeAll(k);
  } catch (e) {
    err ??= e;
  }
  if (err !== null) throw err;
}
