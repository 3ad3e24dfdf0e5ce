/**
 * The socket system calls (NetBSD's uipc_syscalls.c) and the socket file operations
 * (sys_socket.c: read/write/ioctl/stat/poll/close on a descriptor that names a socket).
 *
 * Registered by the `net` component; without it the syscall layer answers ENOSYS. Descriptors
 * that are open but not sockets fail with ENOTSOCK. Addresses and ancillary data arrive
 * flattened (Sockaddr, Cmsg) and are checked here or by the domain before a protocol sees them.
 */

import { KernelError } from '../kern/errno.js';
import { closeFile, type FileOps, type KFile } from '../kern/file.js';
import type { Lwp } from '../kern/proc.js';
import type { PollWait } from '../kern/select.js';
import type { SysImpls } from '../kern/sys.js';
import { falloc } from '../kern/sys_descrip.js';
import { FIONBIO, FIONREAD } from '../kern/sys_pipe.js';
import {
  O_CLOEXEC, O_NONBLOCK, O_NOSIGPIPE, O_RDWR, S_IFSOCK, SCM_RIGHTS, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK,
  SOCK_NOSIGPIPE, SOL_SOCKET, type Cmsg, type RecvResult, type Sockaddr, type Stat,
} from '../kern/types.js';
import { netOf } from './domain.js';
import type { Control } from './protosw.js';
import {
  MCLBYTES, MSG_CMSG_CLOEXEC, SS_NBIO, Socket, soacceptWait, sobind, soclose, soconnect, soconnect2, soconnectWait,
  socreate, sodequeue, sodispose, sogetopt, solisten, sopeeraddr, sopoll, soreceive, sosend, sosetopt, soshutdown,
  sosockaddr, SS_ISCONNECTING,
} from './socket.js';
import { controlSpace } from './sockbuf.js';

/** FIOASYNC, FIONWRITE, FIONSPACE (sys/filio.h). */
export const FIOASYNC = 0x8004667d;
export const FIONWRITE = 0x40046679;
export const FIONSPACE = 0x40046678;

/** The ioctl group letter of a command (IOCGROUP). */
function iocgroup(cmd: number): string {
  return String.fromCharCode((cmd >>> 8) & 0xff);
}

function msToTs(ms: number): [number, number] {
  const sec = Math.floor(ms / 1000);
  return [sec, Math.round((ms - sec * 1000) * 1e6)];
}

export const socketOps: FileOps = {
  type: 'socket',
  async read(fp: KFile, l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    const so = fp.data as Socket;
    const r = await soreceive(so, l, iov, 0);
    sodispose(so, r.control);
    return r.n;
  },
  write(fp: KFile, l: Lwp, iov: readonly Uint8Array[]): Promise<number> {
    return sosend(fp.data as Socket, l, iov, null, null, 0);
  },
  async ioctl(fp: KFile, l: Lwp, cmd: number, data: unknown): Promise<unknown> {
    const so = fp.data as Socket;
    switch (cmd >>> 0) {
      case FIONBIO >>> 0:
        if (data !== 0 && data !== false && data !== null && data !== undefined) {
          fp.flags |= O_NONBLOCK;
          so.state |= SS_NBIO;
        } else {
          fp.flags &= ~O_NONBLOCK;
          so.state &= ~SS_NBIO;
        }
        return 0;
      case FIOASYNC >>> 0:
        return 0;
      case FIONREAD >>> 0:
        return so.rcv.data;
      case FIONWRITE >>> 0:
        return so.snd.data;
      case FIONSPACE >>> 0:
        return Math.max(0, so.snd.space());
      default: {
        const net = so.net;
        if (iocgroup(cmd) === 'i' && net.ifioctl !== null) return net.ifioctl(so, cmd, data, l);
        const f = so.proto.usrreqs.ioctl;
        if (f === undefined) throw new KernelError('EOPNOTSUPP', `ioctl 0x${(cmd >>> 0).toString(16)} on a ${so.proto.name} socket`);
        return f.call(so.proto.usrreqs, so, cmd, data, l);
      }
    }
  },
  async stat(fp: KFile): Promise<Stat> {
    const so = fp.data as Socket;
    const [s, ns] = msToTs(so.ctime);
    const st: Stat = {
      dev: 0, ino: so.ino, mode: S_IFSOCK, nlink: 1, uid: so.cred.euid, gid: so.cred.egid, rdev: 0,
      size: so.rcv.data, blocks: 0, blksize: so.snd.hiwat, flags: 0, gen: 0,
      atimeSec: s, atimeNsec: ns, mtimeSec: s, mtimeNsec: ns, ctimeSec: s, ctimeNsec: ns, birthtimeSec: s, birthtimeNsec: ns,
    };
    so.proto.usrreqs.stat?.(so, st);
    return st;
  },
  async close(fp: KFile): Promise<void> {
    await soclose(fp.data as Socket);
  },
  poll(fp: KFile, events: number, pw: PollWait | null): number {
    return sopoll(fp.data as Socket, events, pw);
  },
  setflags(fp: KFile, flags: number): void {
    const so = fp.data as Socket;
    if ((flags & O_NONBLOCK) !== 0) so.state |= SS_NBIO;
    else so.state &= ~SS_NBIO;
  },
};

/** The socket behind a descriptor (getsock): EBADF if not open, ENOTSOCK if not a socket. */
export function getsock(l: Lwp, fd: number): Socket {
  const fp = l.proc.fd.get(fd);
  if (fp.ops.type !== 'socket' || !(fp.data instanceof Socket)) throw new KernelError('ENOTSOCK', `descriptor ${fd} is a ${fp.ops.type}, not a socket`);
  return fp.data;
}

const SOCK_FLAGS = SOCK_CLOEXEC | SOCK_NONBLOCK | SOCK_NOSIGPIPE;

function fileFlags(flags: number): number {
  return O_RDWR | ((flags & SOCK_NONBLOCK) !== 0 ? O_NONBLOCK : 0) | ((flags & SOCK_NOSIGPIPE) !== 0 ? O_NOSIGPIPE : 0)
    | ((flags & SOCK_CLOEXEC) !== 0 ? O_CLOEXEC : 0);
}

/** Give `so` a descriptor; on failure the socket is closed. */
async function sofalloc(l: Lwp, so: Socket, flags: number): Promise<number> {
  let r: { fd: number; fp: KFile };
  try {
    r = falloc(l, socketOps, fileFlags(flags), so);
  } catch (e) {
    await soclose(so);
    throw e;
  }
  so.file = r.fp;
  if ((flags & SOCK_NONBLOCK) !== 0) so.state |= SS_NBIO;
  return r.fd;
}

/** Undo a descriptor made by this layer (its file is closed, closing the socket). */
async function fdRelease(l: Lwp, fd: number): Promise<void> {
  const fp = l.proc.fd.remove(fd);
  await closeFile(fp, l);
}

function splitType(type: number): { type: number; flags: number } {
  if (!Number.isInteger(type)) throw new KernelError('EINVAL', `socket type ${String(type)} is not an integer`);
  return { type: type & ~SOCK_FLAGS, flags: type & SOCK_FLAGS };
}

function checkSockaddrArg(sa: Sockaddr | null, what: string): void {
  if (sa === null || sa === undefined) throw new KernelError('EFAULT', `${what} needs an address`);
  if (typeof sa !== 'object' || !Number.isInteger(sa.family)) throw new KernelError('EINVAL', `${what}: the address has no integer family`);
}

/**
 * Check and copy the caller's ancillary data. Each entry has integer level and type and either
 * `data` bytes or, for SCM_RIGHTS, `fds`; the total (as CMSG_SPACE) is limited to MCLBYTES.
 */
function copyinControl(control: readonly Cmsg[] | null): Cmsg[] | null {
  if (control === null || control === undefined) return null;
  if (!Array.isArray(control)) throw new KernelError('EINVAL', 'control must be an array of { level, type, data | fds }');
  const out: Cmsg[] = [];
  let total = 0;
  for (const c of control as unknown[]) {
    if (typeof c !== 'object' || c === null) throw new KernelError('EINVAL', 'a control message is not an object');
    const { level, type, data, fds } = c as Partial<Cmsg>;
    if (!Number.isInteger(level) || !Number.isInteger(type)) throw new KernelError('EINVAL', 'a control message needs integer level and type');
    if (fds !== undefined) {
      if (!Array.isArray(fds) || !fds.every((x) => Number.isInteger(x))) throw new KernelError('EINVAL', 'fds of a control message must be integers');
      if (level !== SOL_SOCKET || type !== SCM_RIGHTS) throw new KernelError('EINVAL', 'only SCM_RIGHTS control messages carry descriptors');
      total += controlSpace(fds.length * 4);
      out.push({ level: level!, type: type!, fds: [...fds] });
    } else {
      if (data !== undefined && !(data instanceof Uint8Array)) throw new KernelError('EINVAL', 'data of a control message must be bytes');
      if (level === SOL_SOCKET && type === SCM_RIGHTS) throw new KernelError('EINVAL', 'SCM_RIGHTS without fds');
      total += controlSpace(data?.byteLength ?? 0);
      out.push(data === undefined ? { level: level!, type: type! } : { level: level!, type: type!, data: data.slice() });
    }
  }
  if (total > MCLBYTES) throw new KernelError('EINVAL', `${total} bytes of control data exceed ${MCLBYTES}`);
  return out;
}

/**
 * Hand received control to the caller within `controllen` bytes: SCM_RIGHTS become descriptors
 * (as many as fit); what does not fit is released and MSG_CTRUNC set.
 */
function copyoutControl(l: Lwp, so: Socket, control: Control[] | null, controllen: number, cloexec: boolean): { out: Cmsg[] | null; truncated: boolean } {
  if (control === null || control.length === 0) return { out: null, truncated: false };
  const d = so.domain;
  const out: Cmsg[] = [];
  let used = 0;
  let truncated = false;
  for (let i = 0; i < control.length; i++) {
    const c = control[i]!;
    const payload = c.files !== null ? c.files.length * 4 : c.data?.byteLength ?? 0;
    const room = controllen - used - 16;
    if (room >= payload) {
      used += controlSpace(payload);
      try {
        out.push(d.externalize !== undefined ? d.externalize(l, c, cloexec) : { level: c.level, type: c.type, data: c.data ?? new Uint8Array(0) });
      } catch (e) {
        // the failed message was released by externalize; release the rest too
        sodispose(so, control.slice(i + 1));
        throw e;
      }
      continue;
    }
    truncated = true;
    if (c.files !== null && room >= 4) {
      // as many descriptors as fit; the rest are closed
      const keep = Math.floor(room / 4);
      const rest: Control = { level: c.level, type: c.type, data: null, files: c.files.slice(keep) };
      const head: Control = { level: c.level, type: c.type, data: null, files: c.files.slice(0, keep) };
      sodispose(so, [rest]);
      used = controllen;
      out.push(d.externalize !== undefined ? d.externalize(l, head, cloexec) : { level: c.level, type: c.type });
    } else {
      sodispose(so, [c]);
    }
    sodispose(so, control.slice(i + 1));
    break;
  }
  return { out: out.length > 0 ? out : null, truncated };
}

async function sysAccept(l: Lwp, fd: number, flags: number, paccept: boolean): Promise<{ fd: number; addr: Sockaddr | null }> {
  if ((flags & ~SOCK_FLAGS) !== 0) throw new KernelError('EINVAL', `paccept flags 0x${(flags >>> 0).toString(16)} have unknown bits`);
  const so = getsock(l, fd);
  const lfp = l.proc.fd.get(fd);
  await soacceptWait(so);
  // accept(2) inherits the listening file's status flags; paccept(2) takes them from `flags`
  const inherit = paccept ? lfp.flags & ~(O_NONBLOCK | O_NOSIGPIPE) : lfp.flags;
  const { fd: nfd, fp } = falloc(l, socketOps, (inherit & ~O_CLOEXEC) | O_RDWR | fileFlags(flags), null);
  let so2: Socket;
  let addr: Sockaddr | null;
  try {
    ({ so: so2, addr } = sodequeue(so));
  } catch (e) {
    l.proc.fd.remove(nfd);
    l.kernel.nfiles--;
    throw e;
  }
  fp.data = so2;
  so2.file = fp;
  if ((fp.flags & O_NONBLOCK) !== 0) so2.state |= SS_NBIO;
  else so2.state &= ~SS_NBIO;
  return { fd: nfd, addr };
}

async function sysSocketpair(l: Lwp, domain: number, type0: number, protocol: number): Promise<[number, number]> {
  const net = netOf(l.kernel);
  const { type, flags } = splitType(type0);
  const so1 = await socreate(net, domain, type, protocol, l);
  let so2: Socket;
  try {
    so2 = await socreate(net, domain, type, protocol, l);
  } catch (e) {
    await soclose(so1);
    throw e;
  }
  let fd1: number;
  try {
    fd1 = await sofalloc(l, so1, flags);
  } catch (e) {
    await soclose(so2);
    throw e;
  }
  const fd2 = await sofalloc(l, so2, flags).catch(async (e: unknown) => {
    await fdRelease(l, fd1);
    throw e;
  });
  try {
    soconnect2(so1, so2);
    // datagram connections are one-way: connect the other direction too
    if (type === SOCK_DGRAM) soconnect2(so2, so1);
  } catch (e) {
    await fdRelease(l, fd1);
    await fdRelease(l, fd2);
    throw e;
  }
  return [fd1, fd2];
}

function recvResult(r: { n: number; addr: Sockaddr | null; flags: number }, control: Cmsg[] | null): RecvResult {
  return { n: r.n, addr: r.addr, flags: r.flags, control };
}

export const socketSyscalls: Partial<SysImpls> = {
  async socket(l, domain, type0, protocol) {
    const { type, flags } = splitType(type0);
    const so = await socreate(netOf(l.kernel), domain, type, protocol, l);
    return sofalloc(l, so, flags);
  },

  socketpair: sysSocketpair,

  async bind(l, fd, addr) {
    const so = getsock(l, fd);
    checkSockaddrArg(addr, 'bind');
    await sobind(so, addr!, l);
  },

  async listen(l, fd, backlog) {
    await solisten(getsock(l, fd), backlog, l);
  },

  async connect(l, fd, addr) {
    const so = getsock(l, fd);
    checkSockaddrArg(addr, 'connect');
    if ((so.state & SS_ISCONNECTING) !== 0) throw new KernelError('EALREADY', 'a connect is already in progress');
    try {
      await soconnect(so, addr!, l);
    } catch (e) {
      so.state &= ~SS_ISCONNECTING;
      throw e;
    }
    if ((so.state & SS_ISCONNECTING) !== 0 && so.nbio) throw new KernelError('EINPROGRESS', 'the connection is being set up');
    await soconnectWait(so);
  },

  accept: (l, fd) => sysAccept(l, fd, 0, false),
  paccept: (l, fd, flags) => sysAccept(l, fd, flags, true),

  async getsockname(l, fd) {
    return sosockaddr(getsock(l, fd));
  },

  async getpeername(l, fd) {
    return sopeeraddr(getsock(l, fd));
  },

  async sendto(l, fd, buf, flags, to) {
    const so = getsock(l, fd);
    return sosend(so, l, [buf], to ?? null, null, flags);
  },

  async sendmsg(l, fd, iov, to, control, flags) {
    const so = getsock(l, fd);
    if (!Array.isArray(iov)) throw new KernelError('EINVAL', 'sendmsg takes an array of byte ranges');
    if (iov.length > 1024) throw new KernelError('EMSGSIZE', `${iov.length} byte ranges exceed IOV_MAX (1024)`);
    return sosend(so, l, iov, to ?? null, copyinControl(control), flags);
  },

  async recvfrom(l, fd, buf, flags) {
    const so = getsock(l, fd);
    const r = await soreceive(so, l, [buf], flags & ~MSG_CMSG_CLOEXEC);
    sodispose(so, r.control);
    return recvResult(r, null);
  },

  async recvmsg(l, fd, iov, controllen, flags) {
    const so = getsock(l, fd);
    if (!Array.isArray(iov)) throw new KernelError('EINVAL', 'recvmsg takes an array of byte ranges');
    if (iov.length > 1024) throw new KernelError('EMSGSIZE', `${iov.length} byte ranges exceed IOV_MAX (1024)`);
    if (!Number.isInteger(controllen) || controllen < 0) throw new KernelError('EINVAL', `control length ${controllen} is negative`);
    const r = await soreceive(so, l, iov, flags & ~MSG_CMSG_CLOEXEC);
    const { out, truncated } = copyoutControl(l, so, r.control, controllen, (flags & MSG_CMSG_CLOEXEC) !== 0);
    const res = recvResult(r, out);
    if (truncated) res.flags |= 0x20 /* MSG_CTRUNC */;
    return res;
  },

  async shutdown(l, fd, how) {
    await soshutdown(getsock(l, fd), how);
  },

  async setsockopt(l, fd, level, name, value) {
    await sosetopt(getsock(l, fd), level, name, value);
  },

  async getsockopt(l, fd, level, name) {
    return sogetopt(getsock(l, fd), level, name);
  },
};
