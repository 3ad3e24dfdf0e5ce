/**
 * rumpkernel/hijack: run an unmodified Node program with chosen calls sent to a rump kernel
 * server (NetBSD's librumphijack, for Node).
 *
 *   RUMP_SERVER=unix:///tmp/s RUMPHIJACK='path=/rump,socket=all' node --import rumpkernel/hijack app.js
 *
 * Loaded with --import, this module runs before the program: it reads RUMPHIJACK (config.ts;
 * unset means NetBSD's default `path=/rump,socket=all:nolocal`, empty means nothing), connects
 * to RUMP_SERVER (one connection: the program is one process in the kernel), replaces the
 * functions of `fs`, `fs/promises` and process.chdir/cwd (patch_fs.ts), and refreshes the ESM
 * named exports of the built-in modules, so `import { readFileSync } from 'node:fs'` in the
 * program gets the hijacked function too.
 *
 * Synchronous calls block the program until the kernel answers (channel.ts explains how; the
 * transport is 'direct' unless RUMPHIJACK_TRANSPORT=worker asks for the worker thread). The
 * connection does not keep the program alive. If the server cannot be reached, the program
 * does not start: the reason goes to stderr and the exit status is 1.
 *
 * Sockets (`socket=`): when it selects inet and the server's kernel has netinet, TCP (`net`,
 * and so `http` and `fetch`) and UDP (`dgram` udp4) of the program are the kernel's (net.ts).
 * Unix-domain sockets and IPv6 stay on the host.
 */

import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { KernelError } from '../kern/errno.js';
import { RUMP_SERVER_ENV } from '../client/connect.js';
import { openChannel, type Channel, type TransportKind } from './channel.js';
import { HijackConfigError, parseRumpHijack, type HijackConfig } from './config.js';
import { HijackContext } from './context.js';
import { makeDriver } from './driver.js';
import { installFsHijack } from './patch_fs.js';
import { installNetHijack, type NetHijackStatus } from './net.js';

export { parseRumpHijack, routePath, DEFAULT_RUMPHIJACK } from './config.js';
export type { HijackConfig } from './config.js';

export interface HijackStatus {
  /** The parsed RUMPHIJACK. */
  readonly config: HijackConfig;
  /** null when nothing is hijacked (an empty RUMPHIJACK). */
  readonly channel: Channel | null;
  readonly transport: TransportKind | null;
  readonly net: NetHijackStatus | null;
}

function fatal(msg: string): never {
  process.stderr.write(`rumpkernel/hijack: ${msg}\n`);
  process.exit(1);
}

async function start(): Promise<HijackStatus> {
  let config: HijackConfig;
  try {
    config = parseRumpHijack(process.env['RUMPHIJACK']);
  } catch (e) {
    if (e instanceof HijackConfigError) fatal(e.message);
    throw e;
  }
  const anything = config.path !== null || config.blanket.length > 0 || config.socketFamilies.size > 0 || config.sysctl;
  if (!anything) return { config, channel: null, transport: null, net: null };
  const url = process.env[RUMP_SERVER_ENV];
  if (url === undefined || url === '') fatal(`${RUMP_SERVER_ENV} is not set: name the rump kernel server (e.g. unix:///tmp/rump.sock), or set RUMPHIJACK= to hijack nothing`);
  const t = process.env['RUMPHIJACK_TRANSPORT'];
  if (t !== undefined && t !== '' && t !== 'direct' && t !== 'worker') fatal(`RUMPHIJACK_TRANSPORT is 'direct' or 'worker', not '${t}'`);
  const transport: TransportKind = t === 'worker' ? 'worker' : 'direct';
  let channel: Channel;
  try {
    const script = process.argv[1];
    channel = await openChannel(url, transport, { comm: script === undefined ? 'node' : path.basename(script).replace(/\.[cm]?js$/, '') });
  } catch (e) {
    fatal(e instanceof KernelError ? (e.detail ?? e.message) : String(e));
  }
  const ctx = new HijackContext(config, makeDriver(channel));
  if (config.path !== null || config.blanket.length > 0 || config.sysctl) installFsHijack(ctx);
  const net = config.socketFamilies.size > 0 ? installNetHijack(ctx) : null;
  syncBuiltinESMExports();
  return { config, channel, transport, net };
}

/** What this process hijacks (for programs and tests that want to know). */
export const hijack: HijackStatus = await start();
