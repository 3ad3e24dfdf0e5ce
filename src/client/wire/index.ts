/**
 * The rumpclient wire protocol ("RUMPSP-TS"), shared by the server (src/server) and the client
 * (src/client): framing and banner (frame.ts), syscall arguments and results derived from the
 * syscall table (marshal.ts), handshake/prefork/error bodies (handshake.ts), checked byte
 * readers and writers (buf.ts). Pure codecs: no I/O, no host access.
 */
export * from './frame.js';
export * from './marshal.js';
export * from './handshake.js';
export { Reader, Writer } from './buf.js';
