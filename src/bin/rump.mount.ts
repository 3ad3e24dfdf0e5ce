#!/usr/bin/env node
/**
 * rump.mount: mount file systems in the rump kernel server named by RUMP_SERVER, or list them,
 * like mount(8).
 *
 *   rump.mount                                    list: "SPECIAL on DIR type TYPE (flags)"
 *   rump.mount [-frvw] [-u] -t type [-o options] special dir
 *     -t type     file system type (tmpfs, ext2fs, ffs, ...; NetBSD's names)
 *     -o options  comma-separated: ro/rdonly, rw, sync, async, noexec, nosuid, nodev, noatime,
 *                 union, update, force; anything else is file system data, "key=value" (numbers
 *                 as numbers, 0-prefixed ones octal: mode=0755) or "key" (true)
 *     -r / -w     read-only / read-write;  -u  update the mount on dir;  -f  force
 *     -v          print the mount after mounting it
 *
 * The special is the device (an etfs key such as /dev/disk0, registered with rump_server -d);
 * memory file systems take a name ("tmpfs") that is shown but not passed on.
 */

import { connectOrExit, errText, getopt, helpRequested, MNT_FLAG_NAMES, mountList, runMain, UsageError } from '../client/cli.js';
import {
  MNT_ASYNC, MNT_FORCE, MNT_NOATIME, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_RDONLY, MNT_SYNCHRONOUS, MNT_UNION, MNT_UPDATE,
  type Statvfs,
} from '../kern/types.js';

const PROG = 'rump.mount';
const USAGE = 'usage: rump.mount [-frvw] [-u] -t type [-o options] special dir\n       rump.mount';

const FLAG_OPTS: Readonly<Record<string, [number, boolean]>> = {
  ro: [MNT_RDONLY, true], rdonly: [MNT_RDONLY, true], rw: [MNT_RDONLY, false], sync: [MNT_SYNCHRONOUS, true],
  async: [MNT_ASYNC, true], noexec: [MNT_NOEXEC, true], nosuid: [MNT_NOSUID, true], nodev: [MNT_NODEV, true],
  noatime: [MNT_NOATIME, true], union: [MNT_UNION, true], update: [MNT_UPDATE, true], force: [MNT_FORCE, true],
  exec: [MNT_NOEXEC, false], suid: [MNT_NOSUID, false], dev: [MNT_NODEV, false],
};

/** One line of the listing, as mount(8) prints it. */
function mountLine(vs: Statvfs): string {
  let flags = vs.flag;
  const names: string[] = [];
  for (const [bit, name] of MNT_FLAG_NAMES) {
    if ((flags & bit) !== 0) {
      names.push(name);
      flags &= ~bit;
    }
  }
  if (flags !== 0) names.push(`unknown flag 0x${flags.toString(16)}`);
  return `${vs.mntfromname} on ${vs.mntonname} type ${vs.fstypename}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
}

function dataValue(v: string): unknown {
  if (/^0[0-7]+$/.test(v)) return parseInt(v, 8);
  if (/^(0|[1-9][0-9]*)$/.test(v)) return Number(v);
  return v;
}

runMain(PROG, USAGE, async (argv) => {
  if (helpRequested(argv, USAGE)) return 0;
  const { opts, operands } = getopt(argv, 'Aadfo:rt:uvw', ['help']);
  let type: string | null = null;
  let flags = 0;
  let verbose = false;
  const data: Record<string, unknown> = {};
  for (const [o, v] of opts) {
    if (o === 't') type = v!;
    else if (o === 'r') flags |= MNT_RDONLY;
    else if (o === 'w') flags &= ~MNT_RDONLY;
    else if (o === 'u') flags |= MNT_UPDATE;
    else if (o === 'f') flags |= MNT_FORCE;
    else if (o === 'v') verbose = true;
    else if (o === 'o') {
      for (const item of v!.split(',')) {
        if (item === '') continue;
        const eq = item.indexOf('=');
        const key = eq < 0 ? item : item.slice(0, eq);
        const known = FLAG_OPTS[key];
        if (known !== undefined && eq < 0) {
          flags = known[1] ? flags | known[0] : flags & ~known[0];
        } else {
          data[key] = eq < 0 ? true : dataValue(item.slice(eq + 1));
        }
      }
    } else if (o === 'a' || o === 'A' || o === 'd') {
      throw new UsageError(`-${o}: there is no fstab for a rump kernel`);
    }
  }
  if (operands.length === 0) {
    if (type !== null || flags !== 0) throw new UsageError('a special and a directory are needed');
    const c = await connectOrExit(PROG);
    try {
      const out = (await mountList(c)).map((vs) => `${mountLine(vs)}\n`).join('');
      process.stdout.write(out);
    } finally {
      await c.close();
    }
    return 0;
  }
  if (operands.length !== 2) throw new UsageError('a special and a directory are needed');
  if (type === null) throw new UsageError('the file system type is needed (-t type)');
  const [special, dir] = operands as [string, string];
  // devices are passed on; a memory file system's "special" is only a name
  if (special.includes('/')) data['fspec'] = special;
  const c = await connectOrExit(PROG);
  try {
    await c.sys.mount(type, dir, flags, data);
    if (verbose) {
      const vs = await c.sys.statvfs(dir);
      process.stdout.write(`${mountLine(vs)}\n`);
    }
    return 0;
  } catch (e) {
    const detail = e instanceof Error && 'detail' in e && typeof e.detail === 'string' ? ` (${e.detail})` : '';
    process.stderr.write(`${PROG}: ${special} on ${dir}: ${errText(e)}${detail}\n`);
    return 1;
  } finally {
    await c.close();
  }
});
