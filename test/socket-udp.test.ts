/**
 * The socket suite (test/socketsuite/) run for UDP over lo0: a kernel with [net, netinet], the
 * server as process 1 (root) and the client as a second process; addresses are 127.0.0.1 with
 * port 0, so the kernel picks an ephemeral port and the suite reads it back with getsockname.
 * Only the datagram parts apply (no stream or seqpacket sockets). UDP drops what does not fit a
 * receiver's buffer instead of failing the send.
 */

import { Kernel } from '../src/kern/kernel.js';
import { AF_INET } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { net } from '../src/net/index.js';
import { netinet } from '../src/net/inet/index.js';
import { runSocketSuite } from './socketsuite/suite.js';

runSocketSuite({
  name: 'inet udp (lo0)',
  domain: AF_INET,
  types: { stream: false, dgram: true, seqpacket: false },
  features: { dgramFullFails: false, dgramSizeBySndbuf: true, dgramSenderAddr: true },
  async setup() {
    const host = memoryHost();
    const k = await Kernel.boot({ host, components: [net, netinet] });
    return {
      server: k.initLwp,
      client: k.newProc({ comm: 'client' }),
      addr: () => ({ family: AF_INET, addr: '127.0.0.1', port: 0 }),
      settle: () => host.settle(),
      teardown: () => k.halt(),
    };
  },
});
