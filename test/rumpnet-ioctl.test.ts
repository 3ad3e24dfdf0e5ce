/**
 * The kernel pieces the network rump.* tools rely on, in process: SIOCGIFALIAS (an address's
 * netmask and broadcast), the SIOCSARP/SIOCDARP ARP ioctls, and the read-only listings
 * net.socket.list (sockstat) and net.inet.tcp.pcblist (netstat -a).
 */

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kern/kernel.js';
import { isKernelError } from '../src/kern/errno.js';
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { net, type SocketListEntry } from '../src/net/index.js';
import { netinet, SIOCDARP, SIOCSARP } from '../src/net/inet/index.js';
import { SIOCGIFALIAS } from '../src/net/if_ioctl.js';
import type { ArpInfo } from '../src/net/inet/arp.js';

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isKernelError(e) && e.code === code);
}

describe('kernel support for the network tools', () => {
  it('SIOCGIFALIAS gives an address its netmask, and EADDRNOTAVAIL for an address the interface lacks', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [net, netinet] });
    try {
      const l = k.initLwp;
      const fd = await k.sys.socket(l, AF_INET, SOCK_DGRAM, 0);
      const r = await k.sys.ioctl(l, fd, SIOCGIFALIAS, { name: 'lo0', addr: { family: AF_INET, addr: '127.0.0.1' } });
      assert.deepEqual(r, { name: 'lo0', addr: { family: AF_INET, addr: '127.0.0.1', port: 0 }, mask: { family: AF_INET, addr: '255.0.0.0', port: 0 } });
      await rejects(k.sys.ioctl(l, fd, SIOCGIFALIAS, { name: 'lo0', addr: { family: AF_INET, addr: '127.0.0.9' } }), 'EADDRNOTAVAIL');
    } finally {
      await k.halt();
    }
  });

  it('SIOCSARP adds a static entry on the connected interface, SIOCDARP removes it, and bad requests are refused', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [net, netinet] });
    try {
      const l = k.initLwp;
      const fd = await k.sys.socket(l, AF_INET, SOCK_DGRAM, 0);
      await k.sys.ioctl(l, fd, SIOCSARP, { ip: '127.0.0.5', mac: '02:00:00:00:00:05' });
      const table = (): ArpInfo[] => k.sysctl.get('net.inet.arp.table') as ArpInfo[];
      assert.deepEqual(table().map((e) => [e.ip, e.mac, e.state, e.ifname]), [['127.0.0.5', '02:00:00:00:00:05', 'static', 'lo0']]);
      await rejects(k.sys.ioctl(l, fd, SIOCSARP, { ip: '127.0.0.6', mac: 'zz' }), 'EINVAL');
      await rejects(k.sys.ioctl(l, fd, SIOCSARP, { ip: '192.0.2.1', mac: '02:00:00:00:00:05' }), 'ENETUNREACH');
      await k.sys.ioctl(l, fd, SIOCDARP, { ip: '127.0.0.5' });
      assert.deepEqual(table(), []);
      await rejects(k.sys.ioctl(l, fd, SIOCDARP, { ip: '127.0.0.5' }), 'ESRCH');
    } finally {
      await k.halt();
    }
  });

  it('net.socket.list names the process and descriptor of each socket; net.inet.tcp.pcblist shows a listener', async () => {
    const k = await Kernel.boot({ host: memoryHost(), components: [net, netinet] });
    try {
      const l = k.newProc({ comm: 'srv' });
      const p = l.proc;
      const u = await k.sys.socket(l, AF_INET, SOCK_DGRAM, 0);
      await k.sys.bind(l, u, { family: AF_INET, addr: '127.0.0.1', port: 5353 });
      const t = await k.sys.socket(l, AF_INET, SOCK_STREAM, 0);
      await k.sys.bind(l, t, { family: AF_INET, addr: '0.0.0.0', port: 80 });
      await k.sys.listen(l, t, 5);
      const list = (k.sysctl.get('net.socket.list') as SocketListEntry[]).filter((s) => s.pid === p.pid);
      assert.deepEqual(list.map((s) => [s.comm, s.fd, s.proto, s.laddr?.addr, s.laddr?.port, s.listening, s.state]), [
        ['srv', u, 'udp', '127.0.0.1', 5353, false, null],
        ['srv', t, 'tcp', '0.0.0.0', 80, true, 'LISTEN'],
      ]);
      const pcbs = k.sysctl.get('net.inet.tcp.pcblist') as { laddr: string; lport: number; state: string }[];
      assert.ok(pcbs.some((c) => c.laddr === '0.0.0.0' && c.lport === 80 && c.state === 'LISTEN'), JSON.stringify(pcbs));
    } finally {
      await k.halt();
    }
  });
});
