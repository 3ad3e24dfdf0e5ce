/**
 * fsu_mkfifo and fsu_mknod: make FIFOs and device nodes in an image, as mkfifo(1) and mknod(8):
 *   fsu_mkfifo IMAGE [-m mode] name ...
 *   fsu_mknod IMAGE [-m mode] name b|c major minor   |   name p
 * Device numbers are NetBSD's (makedev(major, minor)).
 */

import { makedev } from '../../kern/types.js';
import { parseModeArg } from './modes.js';
import { UsageError, type ToolRun, type ToolSpec } from './common.js';

function modeOf(t: ToolRun, def: number): number {
  const m = t.flags.get('m');
  if (m === undefined) return def;
  const fn = parseModeArg(m);
  if (fn === null) throw new UsageError(`invalid file mode: ${m}`);
  return fn(0o666, false);
}

export const mkfifo: ToolSpec = {
  name: 'mkfifo',
  synopsis: '[-m mode] fifo_name ...',
  description: 'make FIFOs in a file system image',
  options: 'm:',
  writes: true,
  minArgs: 1,
  async run(t: ToolRun): Promise<number> {
    const mode = modeOf(t, 0o666);
    for (const p of t.args) {
      try {
        await t.fs.mkfifo(p, mode);
        if (t.flags.has('m')) await t.fs.chmod(p, mode);
      } catch (e) {
        t.warn(p, e);
      }
    }
    return t.failed ? 1 : 0;
  },
};

export const mknod: ToolSpec = {
  name: 'mknod',
  synopsis: '[-m mode] name [b | c] major minor | name p',
  description: 'make device nodes and FIFOs in a file system image',
  options: 'm:',
  writes: true,
  minArgs: 2,
  maxArgs: 4,
  async run(t: ToolRun): Promise<number> {
    const [name, type, maj, min] = t.args as [string, string, string?, string?];
    const mode = modeOf(t, 0o666);
    try {
      if (type === 'p') {
        if (t.args.length !== 2) throw new UsageError('a FIFO takes no device numbers');
        await t.fs.mkfifo(name, mode);
      } else if (type === 'b' || type === 'c') {
        if (maj === undefined || min === undefined || !/^[0-9]+$/.test(maj) || !/^[0-9]+$/.test(min)) throw new UsageError('major and minor numbers are needed');
        await t.fs.mknod(name, (type === 'b' ? 0o060000 : 0o020000) | mode, makedev(Number(maj), Number(min)));
      } else {
        throw new UsageError(`node type must be b, c or p, not '${type}'`);
      }
      if (t.flags.has('m')) await t.fs.chmod(name, mode);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      t.warn(name, e);
    }
    return t.failed ? 1 : 0;
  },
};
