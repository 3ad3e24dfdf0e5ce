/**
 * SCM_RIGHTS: open files in flight between processes over AF_LOCAL sockets (the rights half of
 * NetBSD's uipc_usrreq.c: unp_internalize, unp_externalize, unp_dispose, unp_gc).
 *
 * Sending turns the sender's descriptors into references on their open files (the file stays
 * open while in flight, even if the sender closes its descriptors); receiving installs them in
 * the receiver's descriptor table; a message discarded unread (buffer flushed, socket closed,
 * control truncated) closes its references.
 *
 * Garbage: a socket whose only references are in flight inside socket buffers that are
 * themselves unreachable (the classic: a socket sent over itself, then closed) would never be
 * closed. `gc` marks every socket reachable from a descriptor table (or not yet accepted) and
 * whatever files travel in their receive buffers, transitively; the receive buffers of unmarked
 * sockets held only in flight are flushed, which closes them. It runs whenever an AF_LOCAL
 * socket is freed while rights are in flight (and at halt).
 */

import { KernelError } from '../../kern/errno.js';
import { closeFile, type KFile } from '../../kern/file.js';
import type { Kernel } from '../../kern/kernel.js';
import type { Lwp } from '../../kern/proc.js';
import { SCM_RIGHTS, SOL_SOCKET, type Cmsg } from '../../kern/types.js';
import type { Control } from '../protosw.js';
import { Socket } from '../socket.js';
import { controlSpace } from '../sockbuf.js';

export class Rights {
  /** In-flight references per file. */
  readonly inflight = new Map<KFile, number>();
  /** Files in flight in all (kern.maxfiles / 2 at most). */
  total = 0;
  /** Files closed by the garbage collector (sysctl net.local.gc.collected). */
  collected = 0;
  private gcRunning = false;
  private gcAgain = false;

  constructor(private readonly kernel: Kernel) {}

  private inc(fp: KFile): void {
    this.inflight.set(fp, (this.inflight.get(fp) ?? 0) + 1);
    this.total++;
  }

  private dec(fp: KFile): void {
    const n = (this.inflight.get(fp) ?? 0) - 1;
    if (n <= 0) this.inflight.delete(fp);
    else this.inflight.set(fp, n);
    this.total--;
  }

  /**
   * unp_internalize: the caller's SCM_RIGHTS descriptors become in-flight file references.
   * EINVAL for other control messages, EBADF for a descriptor that is not open, ETOOMANYREFS
   * beyond kern.maxfiles / 2 files in flight.
   */
  internalize(l: Lwp, cmsgs: readonly Cmsg[]): { control: Control[]; len: number } {
    const files: KFile[][] = [];
    let n = 0;
    for (const c of cmsgs) {
      if (c.level !== SOL_SOCKET || c.type !== SCM_RIGHTS || c.fds === undefined) {
        throw new KernelError('EINVAL', `AF_LOCAL passes only SCM_RIGHTS control messages (got level ${c.level} type ${c.type})`);
      }
      files.push(c.fds.map((fd) => l.proc.fd.get(fd)));
      n += c.fds.length;
    }
    const max = Math.floor(this.kernel.maxFiles / 2);
    if (this.total + n > max) throw new KernelError('ETOOMANYREFS', `${this.total + n} files in flight would exceed ${max}`);
    const control: Control[] = [];
    let len = 0;
    for (const fs of files) {
      for (const fp of fs) {
        fp.refs++;
        this.inc(fp);
      }
      control.push({ level: SOL_SOCKET, type: SCM_RIGHTS, data: null, files: fs });
      len += controlSpace(fs.length * 4);
    }
    return { control, len };
  }

  /**
   * unp_externalize: install the files as descriptors of the receiving process. When its table
   * is full, nothing is installed, the files are closed and the receive fails with EMSGSIZE.
   */
  externalize(l: Lwp, c: Control, cloexec: boolean): Cmsg {
    const files = c.files ?? [];
    const fdt = l.proc.fd;
    const fds: number[] = [];
    try {
      for (const fp of files) fds.push(fdt.alloc(fp, cloexec, 0, this.kernel.openMax));
    } catch (e) {
      for (const fd of fds) fdt.remove(fd).refs--;
      this.dispose(c);
      if (e instanceof KernelError && e.code === 'EMFILE') throw new KernelError('EMSGSIZE', `no room for ${files.length} received descriptors: ${e.message}`);
      throw e;
    }
    // the in-flight reference becomes the new descriptor's
    for (const fp of files) {
      fp.refs--;
      this.dec(fp);
    }
    c.files = null;
    return { level: c.level, type: c.type, fds };
  }

  /** unp_dispose: close the in-flight references of control that will never be received. */
  dispose(c: Control): void {
    const files = c.files;
    if (files === null) return;
    c.files = null;
    for (const fp of files) {
      this.dec(fp);
      closeFile(fp, null).catch((e: unknown) => {
        this.kernel.printf(`local: closing a discarded passed file failed: ${String(e)}\n`);
      });
    }
  }

  /**
   * unp_gc over `sockets` (every AF_LOCAL socket of the kernel): flush the receive buffers of
   * sockets that only unreachable in-flight messages still refer to.
   */
  gc(sockets: () => Iterable<Socket>): void {
    if (this.gcRunning) {
      this.gcAgain = true;
      return;
    }
    this.gcRunning = true;
    try {
      do {
        this.gcAgain = false;
        this.gcPass(sockets());
      } while (this.gcAgain && this.total > 0);
    } finally {
      this.gcRunning = false;
    }
  }

  private gcPass(sockets: Iterable<Socket>): void {
    if (this.total === 0) return;
    const all = [...sockets];
    const live = new Set<KFile>();
    const visited = new Set<Socket>();
    const stack: Socket[] = [];
    // roots: sockets with a reference outside flight (a descriptor), or none yet (queued for accept)
    for (const so of all) {
      const fp = so.file;
      if (fp === null || fp.refs > (this.inflight.get(fp) ?? 0)) {
        visited.add(so);
        stack.push(so);
      }
    }
    while (stack.length > 0) {
      const so = stack.pop()!;
      for (const rec of so.rcv.records()) {
        for (const c of rec.control ?? []) {
          for (const fp of c.files ?? []) {
            if (live.has(fp)) continue;
            live.add(fp);
            const so2 = fp.data;
            if (fp.ops.type === 'socket' && so2 instanceof Socket && !visited.has(so2)) {
              visited.add(so2);
              stack.push(so2);
            }
          }
        }
      }
    }
    const dead: Socket[] = [];
    for (const so of all) {
      const fp = so.file;
      if (fp !== null && !visited.has(so) && !live.has(fp) && fp.refs === (this.inflight.get(fp) ?? 0)) dead.push(so);
    }
    for (const so of dead) {
      for (const c of so.rcv.flush()) {
        if (c.files !== null) this.collected += c.files.length;
        this.dispose(c);
      }
    }
  }
}
