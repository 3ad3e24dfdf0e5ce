/**
 * rumpblk: block devices backed by host files (or a window of one), NetBSD's rumpblk driver.
 * Block and character major 197. etfs registers a host file here and gets a minor; the device
 * node it creates (`/dev/harddisk`) carries makedev(197, minor). The host file stays open from
 * registration to removal; opening the device makes a HostBlockDevice over it.
 */

import { KernelError } from '../kern/errno.js';
import type { HostFile } from '../rumpuser/rumpuser.js';
import { HostBlockDevice, type BlockDevice } from './blockdev.js';
import type { BlockDriver } from './devsw.js';

export const RUMPBLK_MAJOR = 197;
/** Minors per kernel (NetBSD's RUMPBLK_SIZE is 16; ours is not a fixed table). */
export const RUMPBLK_MAXMINOR = 4096;

export interface RumpBlkUnit {
  readonly minor: number;
  readonly hostpath: string;
  readonly file: HostFile;
  /** Window start in the host file, bytes. */
  readonly start: number;
  /** Window size, bytes. */
  readonly size: number;
  readonly readonly: boolean;
}

export class RumpBlk implements BlockDriver {
  readonly name = 'rumpblk';
  private readonly units = new Map<number, RumpBlkUnit>();

  /** Give a host file (window) a minor. */
  register(hostpath: string, file: HostFile, start: number, size: number, readonly: boolean): RumpBlkUnit {
    let m = 0;
    while (this.units.has(m)) m++;
    if (m >= RUMPBLK_MAXMINOR) throw new KernelError('ENFILE', `rumpblk: all ${RUMPBLK_MAXMINOR} minors are in use`);
    const u: RumpBlkUnit = { minor: m, hostpath, file, start, size, readonly };
    this.units.set(m, u);
    return u;
  }

  /** Forget a minor (the caller has checked the device is not open). */
  deregister(minor: number): void {
    this.units.delete(minor);
  }

  unit(minor: number): RumpBlkUnit | undefined {
    return this.units.get(minor);
  }

  async open(minor: number, dev: number): Promise<BlockDevice> {
    const u = this.units.get(minor);
    if (u === undefined) throw new KernelError('ENXIO', `rumpblk${minor} is not configured`);
    return new HostBlockDevice(`rumpblk${minor} (${u.hostpath})`, u.file, u.start, u.size, u.readonly, dev);
  }
}
