/**
 * rumpclient: use a rump kernel served by rump_server from another process.
 *
 *   import { rumpclientInit } from 'rumpkernel/client';
 *   const c = await rumpclientInit('unix:///tmp/rump.sock');   // default: $RUMP_SERVER
 *   const st = await c.sys.stat('/');
 *   await c.close();
 */
export { RumpClient } from './client.js';
export type { ClientSys, ClientOptions, ClientTransport } from './client.js';
export { rumpclientInit, RUMP_SERVER_ENV } from './connect.js';
export { parseRumpUrl, formatRumpUrl, isLoopback } from './url.js';
export type { RumpUrl } from './url.js';
export { PROTOCOL_VERSION } from './wire/frame.js';
