/**
 * Worker thread of test/shmif.test.ts: adopts the in-process bus memory it is given (a
 * SharedArrayBuffer), boots a kernel on it and echoes UDP on port 7; posts 'ready'. Halts on
 * any message.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { shmifAdoptBus } from '../src/rumpuser/memory/shmif.js';
import { bootOnBus, udpEchoServer } from './shmif-helpers.js';

const { path, buf, cidr } = workerData as { path: string; buf: SharedArrayBuffer; cidr: string };
shmifAdoptBus(path, buf);
const n = await bootOnBus(memoryHost(), path, cidr, 'worker');
await udpEchoServer(n, 7);
parentPort!.once('message', () => { void n.k.halt().then(() => parentPort!.close()); });
parentPort!.postMessage('ready');
