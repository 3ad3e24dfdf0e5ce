/**
 * The `local` component (NetBSD's rumpnet_local): AF_LOCAL sockets, named in the file system.
 * Needs `net` (the socket layer) and `vfs` (socket nodes). Tunables under net.local.
 */

import type { Component } from '../../kern/component.js';
import type { Kernel } from '../../kern/kernel.js';
import { AF_LOCAL } from '../../kern/types.js';
import { netOf } from '../domain.js';
import { LocalDomain } from './unp.js';

export const local: Component = {
  name: 'local',
  aliases: ['rumpnet_local'],
  type: 'net',
  deps: ['net', 'vfs'],
  init(k: Kernel) {
    const net = netOf(k);
    const d = new LocalDomain(k);
    net.addDomain(d);
    const s = k.sysctl;
    const space = (path: string, key: keyof LocalDomain['spaces'], desc: string): void => {
      s.create(path, {
        type: 'int', writable: true, min: 1, max: 0x7fffffff, desc,
        get: () => d.spaces[key], set: (v) => { d.spaces[key] = v as number; },
      });
    };
    space('net.local.stream.sendspace', 'streamSend', 'Default stream send space');
    space('net.local.stream.recvspace', 'streamRecv', 'Default stream receive space');
    space('net.local.dgram.sendspace', 'dgramSend', 'Default datagram send space (the largest datagram)');
    space('net.local.dgram.recvspace', 'dgramRecv', 'Default datagram receive space');
    s.create('net.local.inflight', { type: 'int', get: () => d.rights.total, desc: 'File descriptors in flight' });
    s.create('net.local.gc.collected', { type: 'quad', get: () => d.rights.collected, desc: 'Unreachable passed files closed' });
  },
  fini(k: Kernel) {
    const d = k.net?.findDomain(AF_LOCAL);
    if (d instanceof LocalDomain) d.gc();
    k.sysctl.destroy('net.local');
  },
};

export { LocalDomain, Unpcb, SOL_LOCAL, LOCAL_CREDS, LOCAL_CONNWAIT, LOCAL_PEEREID, LOCAL_PATH_MAX, PIPSIZ } from './unp.js';
export type { UnpcbId, LocalSpaces } from './unp.js';
