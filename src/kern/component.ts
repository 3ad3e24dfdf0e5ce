/**
 * Components: the unit a kernel is built from (NetBSD's RUMP_COMPONENT + link sets).
 *
 * A component declares its name (and NetBSD library aliases such as `rumpfs_tmpfs`), its type,
 * which fixes the init order (kern, vfs, fs, net, net-if, dev, postinit, as NetBSD's rump_init
 * does), and the components it needs. A kernel boots with exactly the components it is given;
 * a missing dependency is an error naming it. `resolveComponents` pulls dependencies in for
 * tools that take library names (rump_server -l).
 */

import { KernelError } from './errno.js';
import type { Kernel } from './kernel.js';

export type ComponentType = 'kern' | 'vfs' | 'fs' | 'net' | 'net-if' | 'dev' | 'postinit';

const ORDER: Record<ComponentType, number> = { kern: 0, vfs: 1, fs: 2, net: 3, 'net-if': 4, dev: 5, postinit: 6 };

export interface Component {
  /** Short name: 'vfs', 'tmpfs', 'netinet', 'shmif'. */
  readonly name: string;
  /** Other names it answers to: NetBSD library names like 'rumpvfs', 'rumpfs_tmpfs'. */
  readonly aliases?: readonly string[];
  readonly type: ComponentType;
  /** Names of components that must boot before this one. */
  readonly deps?: readonly string[];
  /** Register what the component provides (fs types, syscalls, sysctl nodes, devices). */
  init(k: Kernel): void | Promise<void>;
  /** Undo at halt, after file systems are unmounted. */
  fini?(k: Kernel): void | Promise<void>;
}

function matches(c: Component, name: string): boolean {
  return c.name === name || (c.aliases?.includes(name) ?? false);
}

/**
 * Order `components` for boot: by type, then dependencies first, otherwise as given.
 * Throws EINVAL naming a missing dependency, a duplicate or a cycle.
 */
export function orderComponents(components: readonly Component[]): Component[] {
  const byName = new Map<string, Component>();
  for (const c of components) {
    if (byName.has(c.name)) throw new KernelError('EINVAL', `component '${c.name}' given twice`);
    byName.set(c.name, c);
  }
  for (const c of components) {
    for (const d of c.deps ?? []) {
      if (![...byName.values()].some((x) => matches(x, d))) {
        throw new KernelError('EINVAL', `component '${c.name}' needs '${d}', which is not in the kernel's component list`);
      }
    }
  }
  const sorted = [...components].sort((a, b) => ORDER[a.type] - ORDER[b.type]);
  const out: Component[] = [];
  const state = new Map<Component, 'visiting' | 'done'>();
  const visit = (c: Component, chain: string[]): void => {
    const s = state.get(c);
    if (s === 'done') return;
    if (s === 'visiting') throw new KernelError('EINVAL', `component dependency cycle: ${[...chain, c.name].join(' -> ')}`);
    state.set(c, 'visiting');
    for (const d of c.deps ?? []) visit(sorted.find((x) => matches(x, d))!, [...chain, c.name]);
    state.set(c, 'done');
    out.push(c);
  };
  for (const c of sorted) visit(c, []);
  return out;
}

/**
 * Resolve names (short or NetBSD library names) against `available`, adding dependencies,
 * for tools like rump_server -l. ENOENT names an unknown component.
 */
export function resolveComponents(names: readonly string[], available: readonly Component[]): Component[] {
  const chosen = new Set<Component>();
  const add = (name: string, by: string | null): void => {
    const c = available.find((x) => matches(x, name));
    if (c === undefined) {
      throw new KernelError('ENOENT', by === null
        ? `unknown component '${name}' (known: ${available.map((x) => x.name).join(', ')})`
        : `component '${by}' needs '${name}', which is not available`);
    }
    if (chosen.has(c)) return;
    chosen.add(c);
    for (const d of c.deps ?? []) add(d, c.name);
  };
  for (const n of names) add(n, null);
  return [...chosen];
}
