/**
 * rumpclientInit: connect to a rump kernel server (Node's `net`), handshake, and return the
 * client. The URL defaults to the RUMP_SERVER environment variable, as NetBSD's rumpclient.
 *
 *   const c = await rumpclientInit();                                  // $RUMP_SERVER
 *   const u = await rumpclientInit('unix:///tmp/s', { uid: 1000, gid: 1000 });
 *   const child = await c.fork();
 *
 * Connection failures are KernelErrors with the host's code (ENOENT for a missing socket,
 * ECONNREFUSED, ...) naming the URL; EDESTADDRREQ when there is no URL at all.
 */

import * as net from 'node:net';
import * as path from 'node:path';
import { KernelError, type ErrnoName } from '../kern/errno.js';
import { RumpClient, type ClientOptions } from './client.js';
import { parseRumpUrl } from './url.js';

export const RUMP_SERVER_ENV = 'RUMP_SERVER';

function connectError(e: unknown, url: string): KernelError {
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  const detail = `cannot connect to the rump kernel server at ${url}: ${msg}`;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    try {
      return new KernelError(code as ErrnoName, detail);
    } catch {
      // a host code NetBSD has no name for
    }
  }
  return new KernelError('EIO', detail);
}

function defaultComm(): string {
  const script = process.argv[1];
  return script === undefined ? 'node' : path.basename(script).replace(/\.[cm]?js$/, '');
}

export async function rumpclientInit(url: string | undefined = process.env[RUMP_SERVER_ENV], opts: ClientOptions = {}): Promise<RumpClient> {
  if (url === undefined || url === '') {
    throw new KernelError('EDESTADDRREQ', `no server: ${RUMP_SERVER_ENV} is not set and no URL was given (e.g. unix:///tmp/rump.sock)`);
  }
  const u = parseRumpUrl(url);
  const sock = u.kind === 'unix' ? net.connect({ path: u.path }) : net.connect({ host: u.host, port: u.port });
  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => { reject(connectError(e, url)); };
    sock.once('error', onErr);
    sock.once('connect', () => { sock.off('error', onErr); resolve(); });
  });
  if (u.kind === 'tcp') sock.setNoDelay(true);
  const o: ClientOptions = { ...opts };
  if (o.comm === undefined) o.comm = defaultComm();
  // frames written in one tick leave together (pipelined calls: one writev, not one write each)
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  const transport = {
    write(data: Uint8Array): boolean {
      if (!corked) {
        corked = true;
        sock.cork();
        process.nextTick(flush);
      }
      return sock.write(data);
    },
    end: () => sock.end(),
    destroy: () => sock.destroy(),
  };
  const client = new RumpClient(transport, url, o, (next) => rumpclientInit(url, { ...next, comm: next.comm ?? o.comm! }));
  sock.on('data', (chunk: Buffer) => { client.onData(chunk); });
  sock.on('error', () => { /* 'close' follows */ });
  sock.on('close', () => { client.onClose(); });
  try {
    await client.handshake();
  } catch (e) {
    sock.destroy();
    throw e;
  }
  return client;
}
