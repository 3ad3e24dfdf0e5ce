/**
 * Directory vnodes: lookup (including '..' through the parent pointer), the name space VOPs
 * over namespace.ts, and readdir with stable cookies (dir.ts). Hidden entries are found by
 * lookup but never listed. readdir marks atime (unless MNT_NOATIME).
 */

import { KernelError } from '../../kern/errno.js';
import { DT_DIR } from '../../kern/types.js';
import { VDIR, VLNK, type NewVattr, type ReaddirEntry, type ReaddirResult, type Vnode } from '../vnode.js';
import { COOKIE_DOT, COOKIE_DOTDOT } from './dir.js';
import { linkNode, makeNode, renameNode, rmdirNode, unlinkNode } from './namespace.js';
import { vtypeToDt, type MemDirNode, type MemNode } from './node.js';
import { MemVnode } from './vnode.js';

export class MemDirVnode extends MemVnode {
  private dirNode(): MemDirNode {
    return this.live() as MemDirNode;
  }

  /** The node of a vnode handed in by the VFS; EXDEV if it belongs to another file system. */
  private nodeOf(vp: Vnode): MemNode {
    if (!(vp instanceof MemVnode) || vp.fs !== this.fs) {
      throw new KernelError('EXDEV', `${this.fs.fstype}: vnode belongs to another file system (${vp.mount.fstype} on ${vp.mount.onName})`);
    }
    const n = vp.node;
    if (n === null) throw new KernelError('EBADF', `${this.fs.fstype} vnode ${vp.key} has been reclaimed`);
    return n;
  }

  override async lookup(name: string): Promise<Vnode | null> {
    const d = this.dirNode();
    if (name === '..') return d.nlink === 0 ? null : this.fs.vget(d.parent);
    if (name === '.') return this;
    const e = d.dir.lookup(name);
    return e === undefined ? null : this.fs.vget(e.node);
  }

  override async create(name: string, va: NewVattr): Promise<Vnode> {
    if (va.type === VDIR || va.type === VLNK) {
      throw new KernelError('EINVAL', `${this.fs.fstype}: create cannot make a ${va.type === VDIR ? 'directory' : 'symbolic link'}`);
    }
    const n = makeNode(this.fs, this.dirNode(), name, { type: va.type, mode: va.mode, uid: va.uid, gid: va.gid, rdev: va.rdev });
    return this.fs.vget(n);
  }

  override async mkdir(name: string, va: NewVattr): Promise<Vnode> {
    const n = makeNode(this.fs, this.dirNode(), name, { type: VDIR, mode: va.mode, uid: va.uid, gid: va.gid });
    return this.fs.vget(n);
  }

  override async symlink(name: string, va: NewVattr, target: string): Promise<Vnode> {
    const n = makeNode(this.fs, this.dirNode(), name, { type: VLNK, mode: va.mode, uid: va.uid, gid: va.gid, target });
    return this.fs.vget(n);
  }

  override async link(name: string, vp: Vnode): Promise<void> {
    linkNode(this.fs, this.dirNode(), name, this.nodeOf(vp));
    return;
  }

  override async remove(name: string, vp: Vnode): Promise<void> {
    unlinkNode(this.fs, this.dirNode(), name, this.nodeOf(vp));
    return;
  }

  override async rmdir(name: string, vp: Vnode): Promise<void> {
    const n = this.nodeOf(vp);
    if (n === this.node) throw new KernelError('EINVAL', `${this.fs.fstype}: cannot remove '.'`);
    rmdirNode(this.fs, this.dirNode(), name, n);
    return;
  }

  override async rename(fname: string, fvp: Vnode, tdvp: Vnode, tname: string, tvp: Vnode | null): Promise<void> {
    const tdir = this.nodeOf(tdvp);
    if (tdir.type !== VDIR) throw new KernelError('ENOTDIR', `${this.fs.fstype}: rename target directory is not a directory`);
    renameNode(this.fs, this.dirNode(), fname, this.nodeOf(fvp), tdir as MemDirNode, tname, tvp === null ? null : this.nodeOf(tvp));
    return;
  }

  override async readdir(cookie: number, count: number): Promise<ReaddirResult> {
    const d = this.dirNode();
    const max = Math.max(1, Math.floor(count));
    const entries: ReaddirEntry[] = [];
    const start = Number.isFinite(cookie) && cookie > 0 ? cookie : 0;
    this.touchAtime(d);
    if (d.nlink === 0) return { entries, eof: true };
    if (start < COOKIE_DOT) entries.push({ name: '.', fileid: d.ino, type: DT_DIR, cookie: COOKIE_DOT });
    if (start < COOKIE_DOTDOT && entries.length < max) entries.push({ name: '..', fileid: d.parent.ino, type: DT_DIR, cookie: COOKIE_DOTDOT });
    let eof = true;
    for (const e of d.dir.after(Math.max(start, COOKIE_DOTDOT))) {
      if (e.hidden) continue;
      if (entries.length >= max) {
        eof = false;
        break;
      }
      entries.push({ name: e.name, fileid: e.node.ino, type: vtypeToDt(e.node.type), cookie: e.cookie });
    }
    if (entries.length >= max && start < COOKIE_DOTDOT && entries[entries.length - 1]!.cookie < COOKIE_DOTDOT) eof = false;
    return { entries, eof };
  }
}
