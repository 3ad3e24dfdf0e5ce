/**
 * fsu_write: copy standard input into a file in the image (created 0666 less the umask, or
 * truncated), or append with -a: `echo hi | fsu_write IMAGE [-a] file`.
 */

import type { ToolRun, ToolSpec } from './common.js';

export const write: ToolSpec = {
  name: 'write',
  synopsis: '[-a] file',
  description: 'write standard input to a file in a file system image',
  options: 'a',
  writes: true,
  minArgs: 1,
  maxArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const p = t.args[0]!;
    let fh;
    try {
      fh = await t.fs.open(p, t.flags.has('a') ? 'a' : 'w');
    } catch (e) {
      t.warn(p, e);
      return 1;
    }
    try {
      for await (const chunk of t.stdin) {
        const b = chunk as Buffer;
        let off = 0;
        while (off < b.length) off += (await fh.write(b, off, b.length - off, null)).bytesWritten;
      }
    } catch (e) {
      t.warn(p, e);
    } finally {
      await fh.close().catch((e: unknown) => t.warn(p, e));
    }
    return t.failed ? 1 : 0;
  },
};
