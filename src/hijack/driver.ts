/**
 * Drivers of the hijack's operations (ops.ts): run an operation to completion synchronously
 * (each system call a synchronous round trip on the channel) or asynchronously (each one awaited,
 * other JavaScript running meanwhile). A failed call is thrown into the operation where it
 * yielded, so its try/finally blocks (closing descriptors) run in both modes.
 */

import type { Channel } from './channel.js';
import type { Call, Op } from './ops.js';

export interface Driver {
  readonly channel: Channel;
  runSync<T>(op: Op<T>): T;
  runAsync<T>(op: Op<T>): Promise<T>;
}

export function makeDriver(channel: Channel): Driver {
  const stepSync = (c: Call): unknown => {
    switch (c.kind) {
      case 'sys': return channel.callSync(c.name, c.args);
      case 'batch': return channel.callSyncMany(c.calls);
      case 'post': channel.post(c.name, c.args); return undefined;
      case 'host': return c.sync();
    }
  };
  const stepAsync = async (c: Call): Promise<unknown> => {
    switch (c.kind) {
      case 'sys': return channel.call(c.name, c.args);
      case 'batch': return Promise.all(c.calls.map((x) => channel.call(x.name, x.args).then((res) => ({ err: null, res }), (err: unknown) => ({ err, res: undefined }))));
      case 'post': channel.post(c.name, c.args); return undefined;
      case 'host': return c.async();
    }
  };
  return {
    channel,
    runSync<T>(op: Op<T>): T {
      let r = op.next();
      while (r.done !== true) {
        let v: unknown;
        try {
          v = stepSync(r.value);
        } catch (e) {
          r = op.throw(e);
          continue;
        }
        r = op.next(v);
      }
      return r.value;
    },
    async runAsync<T>(op: Op<T>): Promise<T> {
      let r = op.next();
      while (r.done !== true) {
        let v: unknown;
        try {
          v = await stepAsync(r.value);
        } catch (e) {
          r = op.throw(e);
          continue;
        }
        r = op.next(v);
      }
      return r.value;
    },
  };
}
