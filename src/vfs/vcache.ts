/**
 * The vnode cache and the name cache.
 *
 * vcache: vnodes by (mount, key), bounded by `kern.maxvnodes`. Referenced vnodes always stay;
 * unreferenced ones sit in an LRU and are reclaimed (VOP_RECLAIM) oldest first when the cache is
 * over its bound. File systems look their vnodes up here (`get`) and add new ones (`insert`), so
 * that one object has one vnode.
 *
 * namecache: (directory vnode, name) -> vnode, holding no references; namei consults it before
 * VOP_LOOKUP, so walking a cached path never awaits. Entries are purged when a name is removed or
 * renamed, and when either vnode is reclaimed.
 */

import type { Kernel } from '../kern/kernel.js';
import type { Mount } from './mount.js';
import type { Vnode } from './vnode.js';

export class VnodeCache {
  /** Unreferenced vnodes, oldest first. */
  private readonly free = new Set<Vnode>();
  /** Vnodes in the cache (all mounts). */
  count = 0;
  maxvnodes: number;
  /** Inactive/reclaim work in flight (awaited by sync and unmount). */
  private readonly pending = new Set<Promise<void>>();
  /** Name cache statistics (vfs.namecache sysctl). */
  ncHits = 0;
  ncMisses = 0;

  constructor(private readonly kernel: Kernel, maxvnodes: number) {
    this.maxvnodes = maxvnodes;
  }

  /** A cached vnode of `mp` with `key`, or undefined. */
  get(mp: Mount, key: number): Vnode | undefined {
    return mp.vnodes.get(key);
  }

  /**
   * Add a new vnode to the cache. If another task added one for the same key meanwhile, that one
   * is returned and `vp` is discarded.
   */
  insert(vp: Vnode): Vnode {
    const mp = vp.mount;
    const existing = mp.vnodes.get(vp.key);
    if (existing !== undefined) return existing;
    this.count++;
    this.trim();
    mp.vnodes.set(vp.key, vp);
    this.free.add(vp);
    return vp;
  }

  /** vref: take a reference. */
  ref(vp: Vnode): Vnode {
    if (vp.usecount++ === 0) this.free.delete(vp);
    return vp;
  }

  /** vrele: drop a reference; at zero the vnode is inactivated (and maybe reclaimed). */
  rele(vp: Vnode): void {
    if (vp.usecount <= 0) throw new Error(`vrele: vnode ${vp.key} of ${vp.mount.fstype} has no references`);
    if (--vp.usecount > 0) return;
    if (vp.reclaimed) return; // revoked by a forced unmount: nothing more to do
    let r: boolean | Promise<boolean>;
    try {
      r = vp.inactive();
    } catch (e) {
      this.report('inactive', vp, e);
      r = false;
    }
    if (r === false) {
      this.free.add(vp);
      this.trim();
    } else if (r === true) {
      this.track(this.reclaim(vp));
    } else {
      this.track(r.then((now) => {
        if (vp.usecount > 0 || vp.reclaimed) return;
        if (now) return this.reclaim(vp);
        this.free.add(vp);
        this.trim();
        return undefined;
      }));
    }
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e: unknown) => { this.kernel.printf(`vnode inactive/reclaim failed: ${String(e)}\n`); });
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  private report(what: string, vp: Vnode, e: unknown): void {
    this.kernel.printf(`VOP_${what.toUpperCase()} of vnode ${vp.key} on ${vp.mount.onName} failed: ${String(e)}\n`);
  }

  /** Wait for inactive/reclaim work in flight. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Detach `vp` from the cache and its file system (must be unreferenced). */
  async reclaim(vp: Vnode): Promise<void> {
    if (vp.reclaimed) return;
    vp.reclaimed = true;
    this.free.delete(vp);
    this.purge(vp);
    if (vp.mount.vnodes.get(vp.key) === vp) {
      vp.mount.vnodes.delete(vp.key);
      this.count--;
    }
    try {
      await vp.reclaim();
    } catch (e) {
      this.report('reclaim', vp, e);
      throw e;
    }
  }

  /** Reclaim unreferenced vnodes, oldest first, while over the bound. */
  private trim(): void {
    if (this.count <= this.maxvnodes) return;
    for (const vp of this.free) {
      if (this.count <= this.maxvnodes) break;
      if (vp.mountedHere !== null) continue;
      this.track(this.reclaim(vp));
    }
  }

  /** Flush every vnode of `mp` (unmount). Returns the vnodes still referenced. */
  async flushMount(mp: Mount, skip: ReadonlySet<Vnode>): Promise<Vnode[]> {
    await this.drain();
    const busy: Vnode[] = [];
    for (const vp of [...mp.vnodes.values()]) {
      if (skip.has(vp)) continue;
      if (vp.usecount > 0) busy.push(vp);
    }
    if (busy.length > 0) return busy;
    for (const vp of [...mp.vnodes.values()]) if (!skip.has(vp)) await this.reclaim(vp);
    return [];
  }

  // ---- name cache ----

  /** cache_lookup: the cached child `name` of `dvp`. */
  lookup(dvp: Vnode, name: string): Vnode | undefined {
    const vp = dvp.ncChildren?.get(name);
    if (vp !== undefined) this.ncHits++;
    else this.ncMisses++;
    return vp;
  }

  /** cache_enter */
  enter(dvp: Vnode, name: string, vp: Vnode): void {
    if (name === '.' || name === '..') return;
    (dvp.ncChildren ??= new Map()).set(name, vp);
    (vp.ncParents ??= []).push({ dvp, name });
  }

  /** Remove the entry `name` of `dvp`. */
  remove(dvp: Vnode, name: string): void {
    const vp = dvp.ncChildren?.get(name);
    if (vp === undefined) return;
    dvp.ncChildren!.delete(name);
    if (vp.ncParents !== null) {
      const i = vp.ncParents.findIndex((e) => e.dvp === dvp && e.name === name);
      if (i >= 0) vp.ncParents.splice(i, 1);
    }
  }

  /** cache_purge: every entry naming `vp` and every entry below it. */
  purge(vp: Vnode): void {
    if (vp.ncParents !== null) {
      for (const { dvp, name } of vp.ncParents) if (dvp.ncChildren?.get(name) === vp) dvp.ncChildren.delete(name);
      vp.ncParents = null;
    }
    if (vp.ncChildren !== null) {
      for (const [name, c] of vp.ncChildren) {
        if (c.ncParents !== null) {
          const i = c.ncParents.findIndex((e) => e.dvp === vp && e.name === name);
          if (i >= 0) c.ncParents.splice(i, 1);
        }
      }
      vp.ncChildren = null;
    }
  }
}
