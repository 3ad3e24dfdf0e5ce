/**
 * The rump kernel server: serve a kernel to rumpclient processes over unix or TCP sockets.
 *
 *   import { serve } from 'rumpkernel/server';
 *   const server = await serve(kernel, 'unix:///tmp/rump.sock', { cred: { uid: 1000, gid: 1000 } });
 *   await server.done;   // after rump.halt, or kernel.halt()
 */
export { serve, boundPort } from './listen.js';
export { RumpServer } from './server.js';
export type { ServerOptions, PinnedCred, ServerStats } from './server.js';
export { Session } from './session.js';
export type { Transport } from './session.js';
export { AVAILABLE_COMPONENTS, serverComponents } from './components.js';
