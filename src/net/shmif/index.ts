/**
 * The `shmif` component (NetBSD's rumpnet_shmif): Ethernet interfaces on a shared-memory bus.
 * Registers the `shmif` interface cloner; `shmifCreate(k, busPath)` is rump_shmif_create.
 *
 *   const k = await Kernel.boot({ host: nodeHost(), components: [net, netinet, shmif] });
 *   const ifp = shmifCreate(k, '/tmp/bus');
 *
 * Kernel half: if_shmem.ts (driver), shmif_bus.ts (the bus format, pure). Host half:
 * src/rumpuser/shmif.ts and its node/memory implementations.
 */

import type { Component } from '../../kern/component.js';
import type { Kernel } from '../../kern/kernel.js';
import { ifnetOf } from '../if.js';
import { shmifCloner, shmifOf } from './if_shmem.js';

export const shmif: Component = {
  name: 'shmif',
  aliases: ['rumpnet_shmif'],
  type: 'net-if',
  deps: ['net'],
  init(k: Kernel) {
    ifnetOf(k).addCloner(shmifCloner(k));
  },
  fini(k: Kernel) {
    const net = k.net;
    const ifs = net?.ifnet ?? null;
    if (ifs === null) return;
    for (const ifp of ifs.list().reverse()) if (shmifOf(ifp) !== null) ifs.detach(ifp);
  },
};

export { ShmifDriver, shmifCreate, shmifSetLinkstr, shmifOf, shmifRandomMac, SHMIF_TXQ_MAX } from './if_shmem.js';
export type { ShmifStats, ShmifOptions } from './if_shmem.js';
export * from './shmif_bus.js';
