/**
 * Process, credential and system syscalls of the kern faction.
 */

import { KernelError } from './errno.js';
import type { Lwp } from './proc.js';
import type { SysImpls } from './sys.js';
import { sysPoll } from './select.js';
import { RB_HALT, RB_POWERDOWN, RB_NOSYNC, RB_DUMP } from './types.js';

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new KernelError('EINVAL', `${what} ${id} is not a valid id`);
}

export const kernSyscalls: Partial<SysImpls> = {
  getpid: async (l) => l.proc.pid,
  getppid: async (l) => l.proc.ppid,
  getuid: async (l) => l.cred.uid,
  geteuid: async (l) => l.cred.euid,
  getgid: async (l) => l.cred.gid,
  getegid: async (l) => l.cred.egid,

  async setuid(l, uid) {
    checkId(uid, 'uid');
    const c = l.cred;
    if (c.euid === 0) {
      c.uid = c.euid = c.svuid = uid;
    } else if (uid === c.uid || uid === c.svuid) {
      c.euid = uid;
      if (uid === c.uid) c.svuid = uid;
    } else {
      throw new KernelError('EPERM', `setuid(${uid}) by uid ${c.euid}`);
    }
  },
  async seteuid(l, euid) {
    checkId(euid, 'euid');
    const c = l.cred;
    if (c.euid !== 0 && euid !== c.uid && euid !== c.svuid) throw new KernelError('EPERM', `seteuid(${euid}) by uid ${c.euid}`);
    c.euid = euid;
  },
  async setgid(l, gid) {
    checkId(gid, 'gid');
    const c = l.cred;
    if (c.euid === 0) {
      c.gid = c.egid = c.svgid = gid;
    } else if (gid === c.gid || gid === c.svgid) {
      c.egid = gid;
    } else {
      throw new KernelError('EPERM', `setgid(${gid}) by uid ${c.euid}`);
    }
  },
  async setegid(l, egid) {
    checkId(egid, 'egid');
    const c = l.cred;
    if (c.euid !== 0 && egid !== c.gid && egid !== c.svgid) throw new KernelError('EPERM', `setegid(${egid}) by uid ${c.euid}`);
    c.egid = egid;
  },
  getgroups: async (l) => [...l.cred.groups],
  async setgroups(l, groups) {
    if (l.cred.euid !== 0) throw new KernelError('EPERM', 'setgroups needs the superuser');
    if (!Array.isArray(groups)) throw new KernelError('EINVAL', 'setgroups takes an array of group ids');
    for (const g of groups) checkId(g as number, 'group');
    l.cred.setGroups(groups as number[]);
  },

  poll: (l, fds, timeout) => sysPoll(l, fds, timeout),

  async umask(l, mask) {
    const old = l.proc.umask;
    l.proc.umask = mask & 0o777;
    return old;
  },

  async reboot(l: Lwp, howto: number) {
    if (l.cred.euid !== 0) throw new KernelError('EPERM', 'reboot needs the superuser');
    const known = RB_HALT | RB_POWERDOWN | RB_NOSYNC | RB_DUMP | 0x3;
    if ((howto & ~known) !== 0) throw new KernelError('EINVAL', `reboot howto 0x${howto.toString(16)} has unknown bits`);
    // Halting waits for this very syscall's process to exit; let the call return first.
    l.kernel.callouts.softint(() => { void l.kernel.halt({ howto }); });
  },

  async __sysctl(l, name, newval) {
    const s = l.kernel.sysctl;
    // CTL_QUERY: 'NAME.*' (or '*') lists the leaves below NAME with their values (sysctl -a)
    if (name === '*' || name.endsWith('.*')) {
      if (newval !== undefined && newval !== null) throw new KernelError('EINVAL', 'sysctl: a query takes no new value');
      return s.list(name === '*' ? '' : name.slice(0, -2));
    }
    if (newval === undefined || newval === null) return s.get(name);
    return s.set(name, newval, l.cred);
  },
};
