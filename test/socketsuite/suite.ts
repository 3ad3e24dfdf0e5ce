/**
 * The socket suite: BSD socket semantics written once and run against every transport
 * (AF_LOCAL here; AF_INET TCP/UDP when the netinet component lands), in the style of the file
 * system conformance suite. A transport provides a fresh kernel (or a client and a server
 * kernel), a server and a client process and fresh addresses, the socket types it supports,
 * and the few switches where protocols legitimately differ (harness.ts).
 *
 *   runSocketSuite({ name: 'local', domain: AF_LOCAL, types: {...}, setup: async () => ({...}) });
 */

import { describe } from 'node:test';
import type { Transport } from './harness.js';
import { streamTests } from './stream.js';
import { nonblockTests } from './nonblock.js';
import { pollTests } from './poll.js';
import { dgramTests } from './dgram.js';
import { optionTests } from './options.js';
import { errorTests } from './errors.js';

export type { Transport, TransportInstance, SocketFeatures } from './harness.js';
export { Ctx, test, rejects, enc, dec, pattern } from './harness.js';

/** Register the whole suite for one transport (call at module top level of a test file). */
export function runSocketSuite(t: Transport): void {
  describe(`socket suite: ${t.name}`, () => {
    streamTests(t);
    nonblockTests(t);
    pollTests(t);
    dgramTests(t);
    optionTests(t);
    errorTests(t);
  });
}
