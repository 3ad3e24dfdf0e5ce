/**
 * mm: the memory special devices, character major 2 (NetBSD's `mem`). Minors as NetBSD's
 * sys/sys/mm.h: /dev/null is 2, /dev/zero is 12. /dev/full (minor 7, Linux's number; NetBSD
 * has no full device) reads zeros and refuses writes with ENOSPC. /dev/mem and /dev/kmem
 * (minors 0 and 1) do not exist in a rump kernel: opening them fails with ENXIO.
 */

import { KernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import type { CharDriver } from '../vfs/devsw.js';

export const MM_MAJOR = 2;
export const MM_NULL = 2;
export const MM_FULL = 7;
export const MM_ZERO = 12;

function check(minor: number): void {
  if (minor !== MM_NULL && minor !== MM_ZERO && minor !== MM_FULL) throw new KernelError('ENXIO', `mem minor ${minor} does not exist in a rump kernel`);
}

export const mmDriver: CharDriver = {
  name: 'mm',
  open(minor: number): void {
    check(minor);
  },
  async read(minor: number, _l: Lwp, buf: Uint8Array): Promise<number> {
    check(minor);
    if (minor === MM_NULL) return 0;
    buf.fill(0);
    return buf.length;
  },
  async write(minor: number, _l: Lwp, buf: Uint8Array): Promise<number> {
    check(minor);
    if (minor === MM_FULL && buf.length > 0) throw new KernelError('ENOSPC', '/dev/full is always full');
    return buf.length;
  },
};
