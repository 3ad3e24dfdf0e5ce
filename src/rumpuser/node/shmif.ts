/**
 * shmif host half for the Node host: the bus is a host file (1 MiB by default), shared by every
 * process that opens it — no hub, no privileges.
 *
 * Node cannot mmap a file, so the kernel's ring accesses become positioned reads and writes on
 * the file (pread/pwrite through fs.readSync/writeSync: the page cache makes them memory copies
 * in the host kernel). Readers wake with fs.watch on the file (inotify on Linux), as NetBSD's
 * shmif_user does; `wakeup` writes the version word (byte 4) as NetBSD's dowakeup does.
 *
 * The lock. NetBSD's kernels take the lock word (byte 24) by compare-and-swap on their mapping;
 * with file I/O there is no CAS. So writers here serialise on a lock file next to the bus,
 * `BUS.lock`, created with O_CREAT|O_EXCL (atomic on local file systems) and holding the owner's
 * pid: a holder that died is detected (kill(pid, 0) fails with ESRCH) and its lock broken. While
 * holding it we still write the lock word (1 held, 0 free) so the file looks as NetBSD expects;
 * but a NetBSD kernel on the same file would not see our lock file, nor we its CAS: mixing our
 * writers with NetBSD's on one bus file is not safe (reading a NetBSD bus, e.g. shmif_dumpbus, is).
 */

import * as fs from 'node:fs';
import { HostError } from '../rumpuser.js';
import type { ShmifBusMapping, ShmifHost } from '../shmif.js';
import { toHostError } from './error.js';

const DEFAULT_SIZE = 1024 * 1024;
const LOCK_WORD = 24;
const WAKE_WORD = 4;
const SHMIF_VERSION = 3;

class FileBusMapping implements ShmifBusMapping {
  private closed = false;
  private readonly watchers = new Set<fs.FSWatcher>();
  private readonly lockPath: string;
  private readonly word = new Uint8Array(4);

  constructor(readonly path: string, private readonly fd: number, readonly size: number) {
    this.lockPath = `${path}.lock`;
  }

  private check(): void {
    if (this.closed) throw new HostError('EBADF', `shmif bus '${this.path}' is closed`);
  }

  read(off: number, dst: Uint8Array): void {
    this.check();
    let done = 0;
    while (done < dst.length) {
      const n = fs.readSync(this.fd, dst, done, dst.length - done, off + done);
      if (n === 0) { dst.fill(0, done); return; }
      done += n;
    }
  }

  write(off: number, src: Uint8Array): void {
    this.check();
    let done = 0;
    while (done < src.length) done += fs.writeSync(this.fd, src, done, src.length - done, off + done);
  }

  private setWord(off: number, v: number): void {
    new DataView(this.word.buffer).setUint32(0, v, true);
    this.write(off, this.word);
  }

  tryLock(): boolean {
    this.check();
    let fd: number;
    try {
      fd = fs.openSync(this.lockPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw toHostError(e, this.lockPath);
      this.breakStale();
      return false;
    }
    try {
      fs.writeSync(fd, `${process.pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
    this.setWord(LOCK_WORD, 1);
    return true;
  }

  /** Remove the lock file of a process that no longer exists. */
  private breakStale(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.lockPath, 'utf8');
    } catch {
      return;
    }
    const pid = Number.parseInt(text, 10);
    if (!Number.isInteger(pid) || pid <= 0) {
      // being written right now, or garbage: garbage older than a second is stale
      try {
        if (Date.now() - fs.statSync(this.lockPath).mtimeMs > 1000) fs.unlinkSync(this.lockPath);
      } catch { /* gone meanwhile */ }
      return;
    }
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
        try { fs.unlinkSync(this.lockPath); } catch { /* someone else broke it */ }
      }
    }
  }

  unlock(): void {
    this.check();
    this.setWord(LOCK_WORD, 0);
    try {
      fs.unlinkSync(this.lockPath);
    } catch (e) {
      throw toHostError(e, this.lockPath);
    }
  }

  wakeup(): void {
    this.check();
    this.setWord(WAKE_WORD, SHMIF_VERSION);
  }

  watch(fn: () => void): () => void {
    this.check();
    let cancelled = false;
    const w = fs.watch(this.path, { persistent: false }, () => { if (!cancelled) fn(); });
    w.on('error', () => { /* the file went away: readers simply stop waking */ });
    this.watchers.add(w);
    return () => {
      if (cancelled) return;
      cancelled = true;
      this.watchers.delete(w);
      w.close();
    };
  }

  close(): void {
    if (this.closed) return;
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/** The Node host's shmif: bus files. */
export function nodeShmif(): ShmifHost {
  return {
    open(path: string, size = DEFAULT_SIZE): ShmifBusMapping {
      if (typeof path !== 'string' || path === '') throw new HostError('EINVAL', 'shmif bus path must be a non-empty string');
      if (!Number.isSafeInteger(size) || size < 4096 || size % 4 !== 0) throw new HostError('EINVAL', `shmif bus size ${String(size)}`);
      let fd: number;
      try {
        fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      } catch (e) {
        throw toHostError(e, path);
      }
      try {
        const st = fs.fstatSync(fd);
        if (!st.isFile()) throw new HostError('EINVAL', `shmif bus '${path}' is not a regular file`);
        // an existing bus keeps its size; a new (empty) file grows to `size` zero bytes
        if (st.size === 0) fs.ftruncateSync(fd, size);
        const real = st.size === 0 ? size : st.size;
        if (real < 4096) throw new HostError('EINVAL', `shmif bus '${path}' of ${real} bytes is too small`);
        return new FileBusMapping(path, fd, real);
      } catch (e) {
        fs.closeSync(fd);
        throw e instanceof HostError ? e : toHostError(e, path);
      }
    },
  };
}
