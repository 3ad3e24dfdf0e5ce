/**
 * Regular file vnodes: read, write and truncate over the node's pages (synchronous), or over
 * its external backing (etfs) when it has one.
 *
 * Writes are limited by the mount's maximum file size (EFBIG when nothing fits) and by space:
 * a write that runs out of pages part way is short, one that cannot write a byte fails ENOSPC.
 * Timestamps: a read marks atime (unless MNT_NOATIME), a write marks mtime and ctime.
 */

import { KernelError } from '../../kern/errno.js';
import { MemVnode } from './vnode.js';
import { IO_APPEND } from '../vnode.js';
import type { MemRegNode } from './node.js';

export class MemRegVnode extends MemVnode {
  override async read(buf: Uint8Array, offset: number): Promise<number> {
    const n = this.live() as MemRegNode;
    checkOffset(offset);
    if (buf.length === 0) return 0;
    let got: number;
    if (n.backing !== null) got = await n.backing.read(buf, offset);
    else got = n.data.read(buf, offset);
    this.touchAtime(n);
    return got;
  }

  override async write(buf: Uint8Array, offset: number, ioflag = 0): Promise<number> {
    const n = this.live() as MemRegNode;
    if ((ioflag & IO_APPEND) !== 0) offset = n.backing !== null ? n.backingSize : n.data.size;
    checkOffset(offset);
    if (buf.length === 0) return 0;
    const max = this.fs.maxFileSize;
    if (offset >= max) throw new KernelError('EFBIG', `write at offset ${offset} is beyond the ${this.fs.fstype} maximum file size ${max}`);
    const b = buf.length > max - offset ? buf.subarray(0, max - offset) : buf;
    let put: number;
    if (n.backing !== null) {
      put = await n.backing.write(b, offset);
      if (offset + put > n.backingSize) n.backingSize = offset + put;
    } else {
      put = n.data.write(b, offset);
    }
    n.mtime = n.ctime = this.fs.now();
    return put;
  }

  override async fsync(_dataOnly: boolean): Promise<void> {
    const n = this.live() as MemRegNode;
    if (n.backing !== null && n.backing.sync !== undefined) await n.backing.sync();
  }

  protected override resize(size: number): Promise<void> | undefined {
    const n = this.live() as MemRegNode;
    if (n.backing !== null) {
      return n.backing.truncate(size).then(() => { n.backingSize = size; });
    }
    n.data.truncate(size);
    return undefined;
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `file offset ${offset} is not a non-negative integer`);
}
