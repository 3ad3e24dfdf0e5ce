/**
 * serve(): put a kernel on a socket (the host half of the server, on Node's `net`).
 *
 *   const server = await serve(kernel, 'unix:///tmp/rump.sock');
 *   const tcp = await serve(kernel, 'tcp://127.0.0.1:0');   // tcp.url names the bound port
 *   await server.done;                                      // after rump.halt (or kernel.halt())
 *
 * A TCP address that is not loopback is refused (EPERM) unless `allowRemote` is set: every
 * client gets a process in the kernel with the credentials it asks for. A unix socket path
 * that exists is taken over only if nobody answers on it (a stale socket of a dead server);
 * a live one is EADDRINUSE. The socket file is removed when the server stops.
 */

import * as fs from 'node:fs';
import * as net from 'node:net';
import { KernelError, type ErrnoName } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import { formatRumpUrl, isLoopback, parseRumpUrl } from '../client/url.js';
import { RumpServer, type ServerOptions } from './server.js';
import type { Transport } from './session.js';

function hostErr(e: unknown, what: string): KernelError {
  const code = (e as { code?: unknown }).code;
  const name: ErrnoName = typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? (code as ErrnoName) : 'EIO';
  try {
    return new KernelError(name, `${what}: ${(e as Error).message}`);
  } catch {
    return new KernelError('EIO', `${what}: ${(e as Error).message}`);
  }
}

function listenOn(srv: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => { srv.off('listening', onOk); reject(e); };
    const onOk = (): void => { srv.off('error', onErr); resolve(); };
    srv.once('error', onErr);
    srv.once('listening', onOk);
    srv.listen(opts);
  });
}

/** Is something answering on the unix socket at `path`? */
function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ path });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => { resolve(false); });
  });
}

/**
 * The socket as a session's transport, with the frames written in one tick sent together: the
 * first write corks the socket and the uncork runs once the current burst of promise reactions
 * has drained (process.nextTick), so 64 answers completing together leave in one writev.
 */
export function batchingTransport(sock: net.Socket): Transport {
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  return {
    write(data: Uint8Array): boolean {
      if (!corked) {
        corked = true;
        sock.cork();
        process.nextTick(flush);
      }
      return sock.write(data);
    },
    get writableLength(): number { return sock.writableLength; },
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    end: () => sock.end(),
    destroy: () => sock.destroy(),
  };
}

export async function serve(kernel: Kernel, url: string, opts: ServerOptions = {}): Promise<RumpServer> {
  const u = parseRumpUrl(url);
  if (u.kind === 'tcp' && !isLoopback(u.host) && opts.allowRemote !== true) {
    throw new KernelError('EPERM', `refusing to serve on ${u.host}, which is not a loopback address: every client gets a process in the kernel with the credentials it asks for (allowRemote / --allow-remote to serve it anyway)`);
  }
  const core = new RumpServer(kernel, opts);
  const srv = net.createServer({ pauseOnConnect: false });
  srv.on('connection', (sock: net.Socket) => {
    if (u.kind === 'tcp') sock.setNoDelay(true);
    const s = core.attach(batchingTransport(sock));
    sock.on('data', (chunk: Buffer) => { s.onData(chunk); });
    sock.on('drain', () => { s.onDrain(); });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => { s.onClose(); });
  });
  srv.on('error', (e) => { core.log(`listener error: ${e.message}`); });

  if (u.kind === 'unix') {
    try {
      await listenOn(srv, { path: u.path });
    } catch (e) {
      if ((e as { code?: string }).code !== 'EADDRINUSE') throw hostErr(e, `listening on ${url}`);
      if (await socketAlive(u.path)) throw new KernelError('EADDRINUSE', `a server is already listening on ${url}`);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(u.path);
      } catch (e2) {
        throw hostErr(e2, `listening on ${url}`);
      }
      if (!st.isSocket()) throw new KernelError('EADDRINUSE', `${u.path} exists and is not a socket`);
      fs.unlinkSync(u.path);
      try {
        await listenOn(srv, { path: u.path });
      } catch (e2) {
        throw hostErr(e2, `listening on ${url}`);
      }
    }
    core.url = formatRumpUrl(u);
  } else {
    try {
      await listenOn(srv, { host: u.host, port: u.port });
    } catch (e) {
      throw hostErr(e, `listening on ${url}`);
    }
    const a = srv.address() as net.AddressInfo;
    core.url = formatRumpUrl({ kind: 'tcp', host: u.host, port: a.port });
  }
  // Stop accepting at once; connections close with their sessions (server.close's callback
  // would wait for them, and sessions close after the listener).
  core.addListener(async () => {
    srv.close();
    if (u.kind === 'unix') {
      try {
        fs.unlinkSync(u.path);
      } catch {
        // already gone
      }
    }
  });
  core.log(`listening on ${core.url}`);
  return core;
}

/** The TCP port a server bound (for tcp://...:0), or null for a unix socket. */
export function boundPort(server: RumpServer): number | null {
  const u = parseRumpUrl(server.url);
  return u.kind === 'tcp' ? u.port : null;
}
