/**
 * The hijack's worker thread (the 'worker' transport of channel.ts): owns the socket to the
 * rump kernel server and moves bytes. Requests arrive on the MessagePort and are written to the
 * socket; everything the server sends goes back over the port, in order, each message followed
 * by a bump of the shared counter and Atomics.notify, which wakes the main thread when it is
 * waiting synchronously. The first message says whether the connection was made.
 */

import * as net from 'node:net';
import { workerData, type MessagePort } from 'node:worker_threads';
import { parseRumpUrl } from '../client/url.js';

const { url, sab, port } = workerData as { url: string; sab: SharedArrayBuffer; port: MessagePort };
const seq = new Int32Array(sab);

function post(m: unknown, transfer?: ArrayBuffer[]): void {
  port.postMessage(m, transfer);
  Atomics.add(seq, 0, 1);
  Atomics.notify(seq, 0);
}

const u = parseRumpUrl(url);
const sock = u.kind === 'unix' ? net.connect({ path: u.path }) : net.connect({ host: u.host, port: u.port });
sock.once('error', (e: Error & { code?: string }) => {
  post({ error: { code: e.code ?? 'EIO', message: e.message } });
  port.close();
});
sock.once('connect', () => {
  if (u.kind === 'tcp') sock.setNoDelay(true);
  post({ connected: true });
  sock.on('data', (chunk: Buffer) => {
    const copy = new Uint8Array(chunk);
    post(copy, [copy.buffer]);
  });
  sock.on('close', () => {
    post('closed');
    port.close();
  });
  port.on('message', (m: unknown) => {
    if (m instanceof Uint8Array) sock.write(m);
    else if (m === 'end') sock.end();
  });
});
