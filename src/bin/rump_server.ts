#!/usr/bin/env node
/**
 * rump_server: boot a rump kernel and serve it to rumpclient processes (NetBSD's rump_server(1)).
 *
 *   rump_server [-sv] [-c ncpu] [-l component[,...]] [-d drivespec] [-r memlimit]
 *               [-u uid [-g gid]] [--allow-remote] URL
 *
 * The kernel always has the vfs (rumpfs root, /dev, etfs); -l adds components by short or NetBSD
 * library name (tmpfs or rumpfs_tmpfs), pulling in what they need. -d maps a host file into the
 * kernel (etfs): key=/dev/xxx,hostpath=FILE,size=host|BYTES[,offset=BYTES][,type=blk|chr|reg]
 * (type blk by default; sizes take k/m/g suffixes). -u/-g pin every client to one credential
 * (-g defaults to the -u value). The server stays in the foreground (-s is accepted for
 * compatibility), prints the URL it listens on, and stops when a client reboots the kernel
 * (rump.halt) or on SIGTERM/SIGINT, after syncing and unmounting every file system. A reboot
 * with RB_HALT (rump.halt -h) leaves the process waiting after the halt, as NetBSD's does.
 */

import { KernelError } from '../kern/errno.js';
import { Kernel } from '../kern/kernel.js';
import { parseMemSize } from '../kern/kmem.js';
import { RB_HALT } from '../kern/types.js';
import { nodeHost } from '../rumpuser/node/index.js';
import { etfsRegister, type EtfsOptions, type EtfsType } from '../vfs/etfs.js';
import { getopt, runMain, UsageError } from '../client/cli.js';
import { AVAILABLE_COMPONENTS, serverComponents } from '../server/components.js';
import { serve } from '../server/listen.js';
import type { ServerOptions } from '../server/server.js';

const PROG = 'rump_server';
const USAGE = `usage: rump_server [-sv] [-c ncpu] [-l component[,...]] [-d drivespec] [-r memlimit]
                   [-u uid [-g gid]] [--allow-remote] URL

  URL             unix:///path/to/socket or tcp://127.0.0.1:port (port 0: any free port)
  -l component    boot with a component: ${AVAILABLE_COMPONENTS.map((c) => c.name).join(', ')}
                  (or NetBSD names: ${AVAILABLE_COMPONENTS.flatMap((c) => c.aliases ?? []).join(', ')}); repeatable
  -d drivespec    key=/dev/xxx,hostpath=FILE,size=host|BYTES[,offset=BYTES][,type=blk|chr|reg]
  -r memlimit     kernel memory limit (bytes, or with a k/m/g suffix)
  -c ncpu         number of virtual CPUs
  -u uid, -g gid  every client gets these credentials (default: what each client asks for)
  -s              stay in the foreground (always; accepted for compatibility)
  -v              verbose: kernel console and connection log on stderr
  --allow-remote  allow a tcp:// address that is not loopback`;

interface DriveSpec {
  key: string;
  hostpath: string;
  type: EtfsType;
  opts: EtfsOptions;
}

function parseBytes(what: string, v: string): number {
  try {
    return parseMemSize(v);
  } catch {
    throw new UsageError(`-d: ${what} '${v}' is not a byte count`);
  }
}

/** key=/dev/xxx,hostpath=FILE,size=host|BYTES[,offset=N][,type=blk|chr|reg] */
function parseDriveSpec(spec: string): DriveSpec {
  const kv = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`-d: '${part}' is not key=value`);
    const k = part.slice(0, eq);
    if (!['key', 'hostpath', 'size', 'offset', 'type'].includes(k)) throw new UsageError(`-d: unknown field '${k}' (key, hostpath, size, offset, type)`);
    if (kv.has(k)) throw new UsageError(`-d: '${k}' given twice`);
    kv.set(k, part.slice(eq + 1));
  }
  const key = kv.get('key'), hostpath = kv.get('hostpath'), size = kv.get('size');
  if (key === undefined || key === '') throw new UsageError('-d: missing key=/dev/xxx');
  if (hostpath === undefined || hostpath === '') throw new UsageError('-d: missing hostpath=FILE');
  if (size === undefined) throw new UsageError('-d: missing size=host|BYTES');
  const type = (kv.get('type') ?? 'blk') as EtfsType;
  if (!['blk', 'chr', 'reg'].includes(type)) throw new UsageError(`-d: type '${type}' is not blk, chr or reg`);
  const opts: EtfsOptions = {};
  if (size !== 'host') opts.size = parseBytes('size', size);
  const off = kv.get('offset');
  if (off !== undefined) opts.offset = parseBytes('offset', off);
  return { key, hostpath, type, opts };
}

function parseId(opt: string, v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > 0xfffffffe) throw new UsageError(`${opt}: '${v}' is not a numeric id`);
  return Number(v);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { opts, operands } = getopt(argv, 'svc:l:d:r:u:g:m:', ['allow-remote', 'help']);
  let verbose = false, allowRemote = false;
  let ncpu: number | undefined, memlimit: string | undefined, uid: number | undefined, gid: number | undefined;
  const libs: string[] = [];
  const drives: DriveSpec[] = [];
  for (const [o, v] of opts) {
    switch (o) {
      case 's': break;
      case 'v': verbose = true; break;
      case 'allow-remote': allowRemote = true; break;
      case 'c':
        if (!/^[1-9][0-9]*$/.test(v!)) throw new UsageError(`-c: '${v!}' is not a CPU count`);
        ncpu = Number(v);
        break;
      case 'l': libs.push(v!); break;
      case 'd': drives.push(parseDriveSpec(v!)); break;
      case 'r': memlimit = v!; break;
      case 'u': uid = parseId('-u', v!); break;
      case 'g': gid = parseId('-g', v!); break;
      case 'm': throw new UsageError('-m: loadable kernel modules are not supported; components are chosen with -l');
      default: break;
    }
  }
  if (operands.length !== 1) throw new UsageError(operands.length === 0 ? 'no URL given' : `one URL expected, got ${operands.length} operands`);
  if (gid !== undefined && uid === undefined) throw new UsageError('-g needs -u');
  const url = operands[0]!;

  let components;
  try {
    components = serverComponents(libs);
  } catch (e) {
    throw new UsageError(`-l: ${e instanceof KernelError ? (e.detail ?? e.message) : String(e)}`);
  }
  const host = nodeHost(verbose ? { params: { RUMP_VERBOSE: '1' } } : { params: { RUMP_VERBOSE: '0' } });
  const k = await Kernel.boot({
    host, components, verbose,
    ...(memlimit !== undefined ? { memlimit } : {}),
    ...(ncpu !== undefined ? { ncpu } : {}),
  });
  try {
    for (const d of drives) await etfsRegister(k, d.key, d.hostpath, d.type, d.opts);
    const so: ServerOptions = { allowRemote };
    if (uid !== undefined) so.cred = { uid, gid: gid ?? uid };
    if (verbose) so.log = (line) => { process.stderr.write(`${PROG}: ${line}\n`); };
    let signalled = false;
    const onSignal = (sig: string): void => {
      if (signalled) {
        process.stderr.write(`${PROG}: ${sig} again, exiting without a clean halt\n`);
        process.exit(1);
      }
      signalled = true;
      if (verbose) process.stderr.write(`${PROG}: ${sig}: halting\n`);
      void k.halt();
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));

    const server = await serve(k, url, so);
    process.stdout.write(`${PROG}: listening on ${server.url}\n`);

    await server.done;
    if (server.rebootHowto !== null && (server.rebootHowto & RB_HALT) !== 0 && !signalled) {
      process.stderr.write(`${PROG}: rump kernel halted (with RB_HALT, not exiting)\n`);
      await new Promise<void>((resolve) => {
        process.removeAllListeners('SIGTERM');
        process.removeAllListeners('SIGINT');
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
        setInterval(() => undefined, 1 << 30);
      });
    }
    return 0;
  } catch (e) {
    if (!k.halted) await k.halt();
    throw e;
  }
}

runMain(PROG, USAGE, async (argv) => {
  const code = await main(argv);
  // host handles (etfs files, timers) are closed by the halt; do not wait for stragglers
  process.exit(code);
});
