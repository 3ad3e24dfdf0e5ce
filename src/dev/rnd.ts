/**
 * rnd: /dev/random (minor 0) and /dev/urandom (minor 1), character major 46 (NetBSD's rnd).
 *
 * Bytes come from the host's random source (rumpuser_getrandom), which is seeded from the start,
 * so neither device ever blocks. Writes are accepted, as NetBSD accepts entropy
 * from users; they do not change the host's generator. ioctl RNDGETENTCNT reports a full pool.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import type { CharDriver } from '../vfs/devsw.js';
import { FIONBIO, FIONREAD } from '../kern/sys_pipe.js';

export const RND_MAJOR = 46;
export const RND_DEV_RANDOM = 0;
export const RND_DEV_URANDOM = 1;

/** _IOR('R', 101, uint32_t): entropy bits in the pool. */
export const RNDGETENTCNT = 0x40045265;
/** The pool size NetBSD reports when fully seeded (bits). */
const POOL_BITS = 4096;
/** Largest getrandom request (the Web Crypto limit the memory host obeys). */
const CHUNK = 65536;

function check(minor: number): void {
  if (minor !== RND_DEV_RANDOM && minor !== RND_DEV_URANDOM) throw new KernelError('ENXIO', `rnd minor ${minor} does not exist`);
}

export function rndDriver(k: Kernel): CharDriver {
  return {
    name: 'rnd',
    open(minor: number): void {
      check(minor);
    },
    async read(minor: number, _l: Lwp, buf: Uint8Array): Promise<number> {
      check(minor);
      for (let at = 0; at < buf.length; at += CHUNK) k.host.getrandom(buf.subarray(at, Math.min(buf.length, at + CHUNK)));
      return buf.length;
    },
    async write(minor: number, _l: Lwp, buf: Uint8Array): Promise<number> {
      check(minor);
      return buf.length;
    },
    async ioctl(_minor: number, _l: Lwp, cmd: number): Promise<unknown> {
      if (cmd === RNDGETENTCNT) return POOL_BITS;
      if (cmd === FIONBIO) return 0;
      if (cmd === FIONREAD) return 0;
      throw new KernelError('ENOTTY', `rnd: ioctl 0x${(cmd >>> 0).toString(16)} is not supported`);
    },
  };
}
