/**
 * Host side of the ext2 image tools: an ImageIO over a host file (synchronous positional reads
 * and writes: no thread-pool hop per block), option helpers shared by newfs_ext2fs, makefs and
 * fsck_ext2fs, and a progress bar for stderr.
 */

import * as fs from 'node:fs';
import { KernelError, strerror } from '../../kern/errno.js';
import type { ImageIO } from '../../fs/ext2fs/tools/io.js';

export interface HostImage extends ImageIO {
  readonly path: string;
  close(): void;
}

/**
 * Open `path`. With `create`, the file is created if missing and, when it is a regular file,
 * truncated to `create` bytes (so it reads as zeros: `zeroed` is then true).
 */
export function openImage(path: string, opts: { readonly?: boolean; create?: number }): HostImage & { zeroed: boolean } {
  let fd: number;
  let zeroed = false;
  if (opts.create !== undefined) {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    const st = fs.fstatSync(fd);
    if (st.isFile()) {
      fs.ftruncateSync(fd, 0);
      fs.ftruncateSync(fd, opts.create);
      zeroed = true;
    }
  } else {
    fd = fs.openSync(path, opts.readonly === true ? 'r' : 'r+');
  }
  const st = fs.fstatSync(fd);
  const size = st.isFile() ? st.size : (opts.create ?? st.size);
  const check = (off: number, n: number, what: string): void => {
    if (off < 0 || off + n > size) throw new KernelError('EIO', `${path}: ${what} of ${n} bytes at offset ${off} is past the end of the image (${size} bytes)`);
  };
  return {
    path,
    size,
    zeroed,
    read: async (off, n) => {
      check(off, n, 'read');
      const buf = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const r = fs.readSync(fd, buf, done, n - done, off + done);
        if (r === 0) throw new KernelError('EIO', `${path}: short read at offset ${off + done}`);
        done += r;
      }
      return buf;
    },
    write: async (off, data) => {
      check(off, data.length, 'write');
      let done = 0;
      while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, off + done);
    },
    flush: async () => { fs.fsyncSync(fd); },
    close: () => { fs.closeSync(fd); },
  };
}

/** A size with an optional k/m/g/t suffix (powers of 1024; 'b' or nothing: bytes). */
export function parseSize(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([bkmgt]?)$/i.exec(s.trim());
  if (m === null) throw new KernelError('EINVAL', `${what} '${s}' is not a size (a number with an optional k, m, g or t suffix)`);
  const mult = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase()] ?? 1;
  const v = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(v)) throw new KernelError('EINVAL', `${what} '${s}' is too large`);
  return v;
}

/** A non-negative integer option. */
export function parseIntArg(s: string, what: string): number {
  if (!/^\d+$/.test(s.trim())) throw new KernelError('EINVAL', `${what} '${s}' is not a number`);
  return Number(s.trim());
}

/** A UUID in 8-4-4-4-12 hex (dashes optional) as 16 bytes. */
export function parseUuid(s: string): Uint8Array {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new KernelError('EINVAL', `'${s}' is not a UUID (32 hex digits, dashes allowed)`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** A random (version 4) UUID's bytes. */
export function randomUuid(): Uint8Array {
  return parseUuid(globalThis.crypto.randomUUID());
}

/** `prog: message` for an error (KernelError detail, host errno text, or the message). */
export function errorText(e: unknown): string {
  if (e instanceof KernelError) return e.detail ?? strerror(e.errno);
  const ne = e as NodeJS.ErrnoException;
  if (ne !== null && typeof ne === 'object' && typeof ne.code === 'string' && typeof ne.path === 'string') {
    return `${ne.path}: ${ne.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/**
 * Minimal POSIX getopt: `spec` lists letters, a letter followed by ':' takes a value. Returns
 * the flags in order and the operands; throws a usage error (EINVAL) for an unknown flag or a
 * missing value.
 */
export function getopt(argv: readonly string[], spec: string): { flags: [string, string][]; args: string[] } {
  const flags: [string, string][] = [];
  const args: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const at = spec.indexOf(c);
      if (at < 0 || c === ':') throw new KernelError('EINVAL', `unknown option -- ${c}`);
      if (spec[at + 1] === ':') {
        let v = a.slice(j + 1);
        if (v === '') {
          i++;
          if (i >= argv.length) throw new KernelError('EINVAL', `option requires an argument -- ${c}`);
          v = argv[i]!;
        }
        flags.push([c, v]);
        break;
      }
      flags.push([c, '']);
    }
  }
  args.push(...argv.slice(i));
  return { flags, args };
}

/** A progress bar on stderr, drawn at most every 100 ms; `done()` clears the line. No-op when off. */
export class Progress {
  readonly #on: boolean;
  readonly #label: string;
  #last = 0;
  #drawn = false;

  constructor(label: string, on: boolean) {
    this.#label = label;
    this.#on = on;
  }

  update(done: number, total: number): void {
    if (!this.#on) return;
    const now = Date.now();
    if (now - this.#last < 100 && done < total) return;
    this.#last = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    process.stderr.write(`\r${this.#label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
    this.#drawn = true;
  }

  done(): void {
    if (this.#drawn) process.stderr.write('\r\x1b[K');
    this.#drawn = false;
  }
}
