/**
 * The socket suite (test/socketsuite/) run for TCP over lo0: a kernel with [net, netinet], the
 * server as process 1 (root) and the client as a second process; addresses are 127.0.0.1 with
 * port 0 (the kernel picks an ephemeral port; the suite reads it back with getsockname).
 *
 * Where TCP legitimately differs from AF_LOCAL: a connect needs a handshake (EINPROGRESS for a
 * non-blocking socket), a full listen queue leaves further connects pending (their SYNs are
 * dropped and retried) instead of refusing them, the peer's close only shuts our receive side
 * (no POLLHUP until we close ours), and closing with unread data resets the connection
 * (RFC 1122 4.2.2.13) so the peer reads ECONNRESET.
 */

import { Kernel } from '../src/kern/kernel.js';
import { AF_INET } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { net } from '../src/net/index.js';
import { netinet } from '../src/net/inet/index.js';
import { runSocketSuite } from './socketsuite/suite.js';

runSocketSuite({
  name: 'inet tcp (lo0)',
  domain: AF_INET,
  types: { stream: true, dgram: false, seqpacket: false },
  features: { connectImmediate: false, backlogRefuses: false, hupOnPeerClose: false, closeUnreadResets: true, smallReadFreesSpace: false },
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
