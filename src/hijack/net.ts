/**
 * The socket part of the hijack (`socket=` in RUMPHIJACK): which protocol families' sockets
 * the program makes in the rump kernel instead of the host.
 *
 * Node's `net` and `dgram` sit on libuv handles, not on socket(2) calls a preload could
 * redirect; hijacking them means giving `net.Socket`, `net.Server` and `dgram.Socket` a second
 * implementation on the kernel's socket system calls (socket, connect, bind, listen, accept,
 * sendto, recvfrom, poll), chosen per family. That needs the kernel's AF_INET stack (netinet)
 * behind the server; this module asks the server whether it has one. The status says, for the
 * families RUMPHIJACK selects, what the kernel offers and what is hijacked.
 */

import { AF_INET, AF_INET6, AF_LOCAL, SOCK_STREAM } from '../kern/types.js';
import { KernelError } from '../kern/errno.js';
import type { HijackContext } from './context.js';
import { sys } from './ops.js';

export interface NetHijackStatus {
  /** PF_* families selected by socket=. */
  readonly selected: readonly number[];
  /** Of those, the ones the server's kernel can make sockets of. */
  readonly available: readonly number[];
  /** Of those, the ones whose Node APIs are hijacked. */
  readonly hijacked: readonly number[];
}

/** Probe the server's kernel for each selected family (a socket made and closed). */
export function installNetHijack(ctx: HijackContext): NetHijackStatus {
  const selected = [...ctx.cfg.socketFamilies].filter((f) => f === AF_INET || f === AF_INET6 || f === AF_LOCAL);
  const available: number[] = [];
  for (const f of selected) {
    try {
      const fd = ctx.driver.runSync(sys('socket', f, SOCK_STREAM, 0));
      ctx.driver.runSync(sys('close', fd));
      available.push(f);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
  }
  return { selected, available, hijacked: [] };
}
