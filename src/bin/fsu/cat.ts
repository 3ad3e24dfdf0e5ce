/**
 * fsu_cat: write files from an image to standard output, in order, as cat(1). Files are read in
 * 256 KiB chunks, so a large file streams in bounded memory. A missing or unreadable file is
 * reported and the others are still written (exit status 1).
 */

import type { ToolRun, ToolSpec } from './common.js';

const CHUNK = 256 * 1024;

export const cat: ToolSpec = {
  name: 'cat',
  synopsis: 'file ...',
  description: 'concatenate files from a file system image to standard output',
  options: 'u',
  writes: false,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    for (const p of t.args) {
      let fh;
      try {
        fh = await t.fs.open(p, 'r');
      } catch (e) {
        t.warn(p, e);
        continue;
      }
      try {
        for (;;) {
          const buf = Buffer.allocUnsafe(CHUNK);
          const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          await t.outBytes(buf.subarray(0, bytesRead));
        }
      } catch (e) {
        t.warn(p, e);
      } finally {
        await fh.close().catch(() => undefined);
      }
    }
    return t.failed ? 1 : 0;
  },
};
