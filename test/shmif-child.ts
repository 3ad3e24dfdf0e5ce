/**
 * Child process of test/shmif-proc.test.ts: boots a kernel (Node host) on the shmif bus FILE
 * given as argv[2] with address argv[3], answers ping (the kernel does) and UDP echo on port 7,
 * and sinks one TCP connection on port 5001, printing "tcp BYTES SHA256". Prints "ready" once
 * configured; halts and exits when stdin closes.
 */

import { createHash } from 'node:crypto';
import { nodeHost } from '../src/rumpuser/node/index.js';
import { AF_INET, SOCK_STREAM } from '../src/kern/types.js';
import { bootOnBus, sin, udpEchoServer } from './shmif-helpers.js';

const [bus, cidr] = process.argv.slice(2);
if (bus === undefined || cidr === undefined) {
  process.stderr.write('usage: shmif-child BUSFILE ADDR/PREFIX\n');
  process.exit(2);
}
const n = await bootOnBus(nodeHost(), bus, cidr, 'child');
await udpEchoServer(n, 7);
const lfd = await n.k.sys.socket(n.l, AF_INET, SOCK_STREAM, 0);
await n.k.sys.bind(n.l, lfd, sin('0.0.0.0', 5001));
await n.k.sys.listen(n.l, lfd, 1);
void (async () => {
  const { fd } = await n.k.sys.accept(n.l, lfd);
  const h = createHash('sha256');
  let bytes = 0;
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const got = await n.k.sys.read(n.l, fd, buf);
    if (got === 0) break;
    h.update(buf.subarray(0, got));
    bytes += got;
  }
  await n.k.sys.close(n.l, fd);
  process.stdout.write(`tcp ${bytes} ${h.digest('hex')}\n`);
})().catch((e: unknown) => process.stderr.write(`tcp sink failed: ${String(e)}\n`));
// the kernel's waits are promises and the bus watch does not hold the loop: stdin does
process.stdin.on('end', () => { void n.k.halt().then(() => process.exit(0)); });
process.stdin.resume();
process.stdout.write('ready\n');
