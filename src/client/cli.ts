/**
 * Shared plumbing of the command-line tools (rump_server and the rump.* utilities): POSIX-style
 * option parsing, connecting to RUMP_SERVER, and error text in the NetBSD tools' style
 * ("rump.ls: /x: No such file or directory").
 */

import { KernelError, strerror } from '../kern/errno.js';
import { rumpclientInit, RUMP_SERVER_ENV } from './connect.js';
import type { RumpClient } from './client.js';

export class UsageError extends Error {}

export interface Parsed {
  /** Options in order: [letter or long name, value]. */
  readonly opts: [string, string | undefined][];
  readonly operands: string[];
}

/**
 * getopt(3): `optstring` letters, a colon after those taking a value ("svl:d:"); values attached
 * ("-lrumpvfs") or separate ("-l rumpvfs"), flags grouped ("-sv"); "--" ends options. Long
 * options are named in `long` ("allow-remote", "help"), without values.
 */
export function getopt(argv: readonly string[], optstring: string, long: readonly string[] = []): Parsed {
  const opts: [string, string | undefined][] = [];
  const operands: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a.startsWith('--')) {
      const name = a.slice(2);
      if (!long.includes(name)) throw new UsageError(`unknown option '${a}'`);
      opts.push([name, undefined]);
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = optstring.indexOf(c);
      if (at < 0 || c === ':') throw new UsageError(`unknown option '-${c}'`);
      if (optstring[at + 1] === ':') {
        let v = a.slice(j + 1);
        if (v === '') {
          i++;
          if (i >= argv.length) throw new UsageError(`option '-${c}' needs a value`);
          v = argv[i]!;
        }
        opts.push([c, v]);
        break;
      }
      opts.push([c, undefined]);
    }
  }
  for (; i < argv.length; i++) operands.push(argv[i]!);
  return { opts, operands };
}

/** strerror text with a capital, as NetBSD's tools print it. */
export function errText(e: unknown): string {
  if (e instanceof KernelError) {
    const t = strerror(e.errno);
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  return e instanceof Error ? e.message : String(e);
}

/** A longer message for failures to reach the server (connection errors say where and why). */
export function connectText(e: unknown): string {
  if (e instanceof KernelError) return e.detail ?? e.message;
  return e instanceof Error ? e.message : String(e);
}

/** Connect to $RUMP_SERVER, or print why not and exit 1. */
export async function connectOrExit(prog: string): Promise<RumpClient> {
  try {
    return await rumpclientInit(process.env[RUMP_SERVER_ENV], { comm: prog });
  } catch (e) {
    process.stderr.write(`${prog}: ${connectText(e)}\n`);
    process.exit(1);
  }
}

/** Write to stdout, waiting when the pipe is full. */
export function writeOut(b: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = process.stdout.write(b, (err) => { if (err) reject(err); });
    if (ok) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Run a tool's main, mapping usage errors to status 2 and anything unexpected to 1. */
export function runMain(prog: string, usage: string, main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${prog}: ${e.message}\n${usage}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`${prog}: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  });
}
