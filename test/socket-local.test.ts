/**
 * The socket suite (test/socketsuite/) run for AF_LOCAL: a kernel with [vfs, tmpfs, net, local],
 * a tmpfs at /tmp, the server as process 1 (root) and the client as a second process; addresses
 * are fresh paths under /tmp. AF_LOCAL-specific behaviour (file system names, permissions,
 * SCM_RIGHTS) is in socket-local-unp.test.ts.
 */

import { Kernel } from '../src/kern/kernel.js';
import { AF_LOCAL } from '../src/kern/types.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { net, local } from '../src/net/index.js';
import { runSocketSuite } from './socketsuite/suite.js';

runSocketSuite({
  name: 'local',
  domain: AF_LOCAL,
  types: { stream: true, dgram: true, seqpacket: true },
  async setup() {
    const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs, net, local] });
    const l = k.initLwp;
    await k.sys.mkdir(l, '/tmp', 0o1777);
    await k.sys.mount(l, 'tmpfs', '/tmp', 0, {});
    await k.sys.chmod(l, '/tmp', 0o1777);
    let n = 0;
    return {
      server: l,
      client: k.newProc({ comm: 'client' }),
      addr: () => ({ family: AF_LOCAL, path: `/tmp/sock${n++}` }),
      teardown: () => k.halt(),
    };
  },
});
