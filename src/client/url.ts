/**
 * Server URLs, as rump_server and RUMP_SERVER spell them (NetBSD's rumpclient syntax):
 *
 *   unix://PATH          a unix-domain socket; unix:///tmp/s is /tmp/s, unix://s is ./s
 *   tcp://ADDR:PORT      ADDR an IPv4 address, [IPv6], or a host name; PORT 0 asks the server
 *                        for an ephemeral port (it reports the one it bound)
 *
 * Anything else is EINVAL naming the URL and what is wrong with it.
 */

import { KernelError } from '../kern/errno.js';

export type RumpUrl =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export function parseRumpUrl(url: string): RumpUrl {
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (path === '') throw new KernelError('EINVAL', `server URL '${url}' has no socket path`);
    if (path.includes('\0')) throw new KernelError('EINVAL', `server URL '${url}' has a NUL in its path`);
    return { kind: 'unix', path };
  }
  if (url.startsWith('tcp://')) {
    const rest = url.slice('tcp://'.length).replace(/\/$/, '');
    const m = /^(\[[0-9A-Fa-f:.]+\]|[^:/[\]]+):([0-9]{1,5})$/.exec(rest);
    if (m === null) throw new KernelError('EINVAL', `server URL '${url}' is not tcp://ADDR:PORT`);
    const port = Number(m[2]);
    if (port > 65535) throw new KernelError('EINVAL', `server URL '${url}': port ${port} is out of range`);
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    return { kind: 'tcp', host, port };
  }
  throw new KernelError('EINVAL', `server URL '${url}' is neither unix://PATH nor tcp://ADDR:PORT`);
}

export function formatRumpUrl(u: RumpUrl): string {
  if (u.kind === 'unix') return `unix://${u.path}`;
  return `tcp://${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
}

/** Is `host` a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  if (/^::ffff:127\.[0-9]+\.[0-9]+\.[0-9]+$/i.test(host)) return true;
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(host);
  return m !== null && m[1] === '127' && m.slice(2).every((x) => Number(x) <= 255);
}
