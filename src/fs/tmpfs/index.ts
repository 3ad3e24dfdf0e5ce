/**
 * tmpfs: the memory file system as a mountable component (NetBSD's rumpfs_tmpfs).
 *
 *   await k.sys.mount(l, 'tmpfs', '/tmp', 0, { size: 64 << 20, nodes: 10000, mode: 0o1777 });
 *
 * Mount data (all optional; absent or {} for the defaults):
 *   size   data size limit in bytes, or a string with a k/m/g suffix ('64m'); 0 or absent:
 *          limited only by kernel memory. Rounded up to whole pages (4 KiB).
 *   nodes  most files (inodes), root included; default one per KiB of `size` (NetBSD's rule),
 *          unlimited without a size.
 *   mode   root directory permissions (default 01777), uid / gid its owner (default 0).
 * A mount update (MNT_UPDATE) may change `size` and `nodes` (EBUSY below current usage).
 * Running out of the size limit, the node limit or kernel memory is ENOSPC.
 */

import type { Component } from '../../kern/component.js';
import { KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import { parseMemSize } from '../../kern/kmem.js';
import type { Lwp } from '../../kern/proc.js';
import type { FileSystem, FileSystemType, Mount, MountArgs } from '../../vfs/mount.js';
import { MemFs } from '../../vfs/memfs/memfs.js';

export interface TmpfsArgs {
  size?: number | string;
  nodes?: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

interface ParsedArgs {
  size: number | undefined;
  nodes: number | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

const KNOWN = new Set(['size', 'nodes', 'mode', 'uid', 'gid', 'fspec']);
const ID_MAX = 0xffffffff;

function bad(what: string): never {
  throw new KernelError('EINVAL', `tmpfs mount: ${what}`);
}

function intArg(o: Record<string, unknown>, key: string, min: number, max: number, desc: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(`${key} ${typeof v === 'number' ? String(v) : `(${typeof v})`} must be ${desc}`);
  }
  return v;
}

/** Check tmpfs mount data; EINVAL naming the bad value. */
export function parseTmpfsArgs(data: unknown): ParsedArgs {
  if (data === undefined || data === null) return { size: undefined, nodes: undefined, mode: undefined, uid: undefined, gid: undefined };
  if (typeof data !== 'object' || Array.isArray(data)) bad(`mount data must be an object like { size, nodes, mode, uid, gid }, not ${Array.isArray(data) ? 'an array' : typeof data}`);
  const o = data as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) bad(`unknown option '${key}' (tmpfs takes size, nodes, mode, uid, gid)`);
  }
  let size: number | undefined;
  const s = o['size'];
  if (typeof s === 'string') {
    try {
      size = parseMemSize(s);
    } catch {
      bad(`size '${s}' is not a byte count with an optional k/m/g suffix`);
    }
  } else if (s !== undefined) {
    size = intArg(o, 'size', 0, Number.MAX_SAFE_INTEGER, 'a non-negative number of bytes');
  }
  return {
    size,
    nodes: intArg(o, 'nodes', 0, 0x7fffffff, 'a node count between 1 and 2^31-1 (0 for the default)'),
    mode: intArg(o, 'mode', 0, 0o7777, 'permission bits between 0 and 07777'),
    uid: intArg(o, 'uid', 0, ID_MAX, 'a user id between 0 and 2^32-1'),
    gid: intArg(o, 'gid', 0, ID_MAX, 'a group id between 0 and 2^32-1'),
  };
}

/** A mounted tmpfs: the memory file system with adjustable limits. */
export class Tmpfs extends MemFs {
  async update(_flags: number, data: unknown): Promise<void> {
    const a = parseTmpfsArgs(data);
    if (a.size !== undefined || a.nodes !== undefined) this.setLimits(a.size, a.nodes);
  }
}

export const tmpfsType: FileSystemType = {
  name: 'tmpfs',
  mount(k: Kernel, mp: Mount, args: MountArgs, _l: Lwp): Promise<FileSystem> {
    const a = parseTmpfsArgs(args.data);
    return Promise.resolve(new Tmpfs(k, mp, {
      fstype: 'tmpfs',
      from: 'tmpfs',
      sizeMax: a.size ?? 0,
      nodesMax: a.nodes ?? 0,
      rootMode: a.mode ?? 0o1777,
      rootUid: a.uid ?? 0,
      rootGid: a.gid ?? 0,
    }));
  },
};

export const tmpfs: Component = {
  name: 'tmpfs',
  aliases: ['rumpfs_tmpfs'],
  type: 'fs',
  deps: ['vfs'],
  init(k: Kernel): void {
    k.vfs!.registerFsType(tmpfsType);
  },
};
