/**
 * Every component this build provides: the one list that tools booting kernels by name
 * (rump_server -l, ukfs and the fsu_* tools) resolve against. A component lands here when its
 * index module exists. Short names and NetBSD library names (rumpvfs, rumpfs_tmpfs, rumpdev_md,
 * rumpnet_local, rumpnet_netinet) both resolve, with dependencies pulled in (resolveComponents).
 */

import { resolveComponents, type Component } from './kern/component.js';
import { vfs } from './vfs/index.js';
import { tmpfs } from './fs/tmpfs/index.js';
import { ext2fs } from './fs/ext2fs/index.js';
import { ffs } from './fs/ffs/index.js';
import { md } from './dev/md.js';
import { net } from './net/index.js';
import { local } from './net/local/index.js';
import { netinet } from './net/inet/index.js';
import { shmif } from './net/shmif/index.js';

export const AVAILABLE_COMPONENTS: readonly Component[] = [vfs, tmpfs, ext2fs, ffs, md, net, local, netinet, shmif];

/** The component called `name` (short or library name), or undefined. */
export function findComponent(name: string): Component | undefined {
  return AVAILABLE_COMPONENTS.find((c) => c.name === name || (c.aliases?.includes(name) ?? false));
}

/** Components for a list of names (comma lists allowed), dependencies included; ENOENT for unknown names. */
export function componentsByName(names: readonly string[]): Component[] {
  const split = names.flatMap((n) => n.split(',')).map((n) => n.trim()).filter((n) => n !== '');
  return resolveComponents(split, AVAILABLE_COMPONENTS);
}
