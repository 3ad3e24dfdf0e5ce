/**
 * Processes, lwps and credentials.
 *
 * Every syscall takes the calling lwp explicitly (as NetBSD's `struct lwp *l`); through it the
 * kernel finds the process (pid, descriptor table, cwd, root, umask) and the credentials.
 * Each remote client connection becomes its own process; in-process users create processes with
 * `kernel.newProc()`. Processes hold kernel references (cwd vnode, open files) that are released
 * when the process exits.
 */

import type { Kernel } from './kernel.js';
import { FileDescTable } from './file.js';
import { KernelError } from './errno.js';
import { NGROUPS_MAX } from './types.js';
import type { Vnode } from '../vfs/vnode.js';

/** kauth credentials: real/effective/saved user and group ids and supplementary groups. */
export class Cred {
  constructor(
    public uid: number,
    public gid: number,
    public euid: number = uid,
    public egid: number = gid,
    public groups: readonly number[] = [],
    public svuid: number = euid,
    public svgid: number = egid,
  ) {}

  static root(): Cred { return new Cred(0, 0); }

  /** Is `gid` the effective group or a supplementary group? */
  groupmember(gid: number): boolean {
    return this.egid === gid || this.groups.includes(gid);
  }

  get isRoot(): boolean { return this.euid === 0; }

  clone(): Cred {
    return new Cred(this.uid, this.gid, this.euid, this.egid, this.groups, this.svuid, this.svgid);
  }

  setGroups(groups: readonly number[]): void {
    if (groups.length > NGROUPS_MAX) throw new KernelError('EINVAL', `${groups.length} groups exceed NGROUPS_MAX (${NGROUPS_MAX})`);
    this.groups = [...groups];
  }
}

export interface ProcOptions {
  uid?: number;
  gid?: number;
  groups?: readonly number[];
  /** Command name (for sockstat/ps style listings). */
  comm?: string;
  parent?: Proc;
}

export class Proc {
  readonly lwps = new Set<Lwp>();
  readonly fd: FileDescTable;
  cwd: Vnode | null = null;
  rdir: Vnode | null = null;
  umask = 0o022;
  exited = false;
  private nextLid = 1;

  constructor(
    readonly kernel: Kernel,
    readonly pid: number,
    public ppid: number,
    public cred: Cred,
    public comm: string,
  ) {
    this.fd = new FileDescTable();
  }

  /** A new lwp (thread) in this process. */
  newLwp(): Lwp {
    if (this.exited) throw new KernelError('ESRCH', `process ${this.pid} has exited`);
    const l = new Lwp(this, this.nextLid++);
    this.lwps.add(l);
    return l;
  }
}

/** A light-weight process: the calling context of every syscall. */
export class Lwp {
  constructor(readonly proc: Proc, readonly lid: number) {}

  get kernel(): Kernel { return this.proc.kernel; }
  get cred(): Cred { return this.proc.cred; }
}
