/**
 * The `fs` hijack: Node's `fs` (callback and *Sync functions) and `fs/promises` functions are
 * replaced on the module objects by functions that look at their path or descriptor argument:
 * a path RUMPHIJACK routes to the kernel, or a descriptor number of a kernel file (fdoff and
 * above), runs the operation of ops.ts on the rump kernel; anything else calls the host's own
 * function, untouched. Node's streams (createReadStream, createWriteStream) and fs.cp are
 * Node's own code running on these patched primitives.
 *
 * Also patched: process.chdir/process.cwd (a working directory inside the kernel; relative
 * paths then go there), and, with sysctl=yes, the os functions that read the kernel's identity
 * (hostname, type, release, version, machine), as NetBSD's hijack sends sysctl(3) there.
 *
 * After patching, module.syncBuiltinESMExports() refreshes ESM named imports
 * (`import { readFileSync } from 'node:fs'`) of programs that have not started yet.
 */

import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { KernelError } from '../kern/errno.js';
import { argError, makeError, nodeError, toPath } from '../ukfs/errors.js';
import { dataChunks, encodingOf, optionsOf } from '../ukfs/data.js';
import { hostView, routePath } from './config.js';
import type { HijackContext } from './context.js';
import { HijackDir } from './dir.js';
import { HijackFileHandle } from './filehandle.js';
import { iovArgs, readArgs, writeArgs } from './args.js';
import * as ops from './ops.js';
import { O_DIRECTORY, O_RDONLY } from '../kern/types.js';

type Fn = (...args: unknown[]) => unknown;
type Obj = Record<string | symbol, unknown>;

const require = createRequire(import.meta.url);

/** A kernel path as routed, and how the program names it. */
interface Routed extends ops.KPath {
  /** path= (prefix stripped) rather than blanket= or a relative path in a blanket cwd. */
  readonly strip: boolean;
}

/** Where the program's working directory is. */
interface CwdState {
  inKernel: boolean;
  strip: boolean;
  /** process.cwd() while in the kernel. */
  view: string;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return `function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof v} (${String(v)})`;
}

/** Take the trailing callback off `args` (Node's TypeError if there is none). */
function takeCb(args: unknown[], optional = false): Fn {
  const cb = args[args.length - 1];
  if (typeof cb === 'function') {
    args.pop();
    return cb as Fn;
  }
  if (optional) return () => undefined;
  throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "cb" argument must be of type function. Received ${describe(cb)}`);
}

/** Settle a callback from a promise, outside the promise chain (as Node's do). */
function settle(p: Promise<unknown>, cb: Fn, spread?: (v: unknown) => unknown[]): void {
  p.then(
    (v) => { process.nextTick(() => { cb(null, ...(spread !== undefined ? spread(v) : v === undefined ? [] : [v])); }); },
    (e: unknown) => { process.nextTick(() => { cb(e); }); },
  );
}

/** Replace obj[name] with `fn`, keeping the original's name and own properties (promisify.custom ...). */
function replace(obj: Obj, name: string, make: (host: Fn) => Fn): void {
  const host = obj[name];
  if (typeof host !== 'function') return;
  const fn = make(host as Fn);
  Object.defineProperty(fn, 'name', { value: name, configurable: true });
  Object.defineProperty(fn, 'length', { value: (host as Fn).length, configurable: true });
  for (const key of Reflect.ownKeys(host)) {
    if (key === 'name' || key === 'length' || key === 'prototype') continue;
    const d = Object.getOwnPropertyDescriptor(host, key);
    if (d !== undefined && !Object.prototype.hasOwnProperty.call(fn, key)) Object.defineProperty(fn, key, d);
  }
  obj[name] = fn;
}

export interface FsHijack {
  /** Put the host's functions back (tests). */
  restore(): void;
}

export function installFsHijack(ctx: HijackContext): FsHijack {
  const fs = require('fs') as Obj;
  const fsp = fs['promises'] as Obj;
  const d = ctx.driver;
  const cfg = ctx.cfg;
  const saved: [Obj, string, unknown][] = [];
  const save = (obj: Obj, name: string): void => { saved.push([obj, name, obj[name]]); };
  const cwd: CwdState = { inKernel: false, strip: false, view: '' };

  // host functions the cross copies use, captured now
  const hostReadFileSync = fs['readFileSync'] as (p: string) => Buffer;
  const hostWriteFileSync = fs['writeFileSync'] as (p: string, d: Uint8Array, o: { flag: string }) => void;
  const hostReadFile = fsp['readFile'] as (p: string) => Promise<Buffer>;
  const hostWriteFile = fsp['writeFile'] as (p: string, d: Uint8Array, o: { flag: string }) => Promise<void>;
  const hostRead = { sync: (p: string) => hostReadFileSync(p), async: (p: string) => hostReadFile(p) };
  const hostWrite = {
    sync: (p: string, data: Uint8Array, flag: string) => hostWriteFileSync(p, data, { flag }),
    async: (p: string, data: Uint8Array, flag: string) => hostWriteFile(p, data, { flag }),
  };

  /** Route a path argument: the kernel's path, or null for the host. */
  const route = (p: unknown): Routed | null => {
    let s: string;
    if (typeof p === 'string') s = p;
    else if (p instanceof URL || p instanceof Uint8Array) {
      try {
        s = toPath(p);
      } catch {
        return null; // the host function reports the bad argument
      }
    } else {
      return null;
    }
    if (!s.startsWith('/')) return cwd.inKernel && s !== '' ? { k: s, u: s, strip: cwd.strip } : null;
    const k = routePath(cfg, s);
    return k === null ? null : { k, u: s, strip: k !== s };
  };
  const view = (r: Routed) => (k: string): string => hostView(cfg, k, r.strip);

  // -------------------------------------------------------------------------------------------
  // definers

  interface ApiOpts { cb?: boolean; sync?: boolean; promise?: boolean; spread?: (v: unknown) => unknown[]; optionalCb?: boolean }

  /** fs.NAME(path, ...), fs.NAMESync(path, ...), fs.promises.NAME(path, ...). */
  const pathApi = (name: string, impl: (p: Routed, args: unknown[]) => ops.Op<unknown>, o: ApiOpts = {}): void => {
    if (o.cb !== false) {
      save(fs, name);
      replace(fs, name, (host) => function (this: unknown, ...args: unknown[]) {
        const p = route(args[0]);
        if (p === null) return host.apply(this, args);
        const cb = takeCb(args, o.optionalCb);
        settle(d.runAsync(impl(p, args.slice(1))), cb, o.spread);
        return undefined;
      });
    }
    if (o.sync !== false) {
      save(fs, `${name}Sync`);
      replace(fs, `${name}Sync`, (host) => function (this: unknown, ...args: unknown[]) {
        const p = route(args[0]);
        if (p === null) return host.apply(this, args);
        return d.runSync(impl(p, args.slice(1)));
      });
    }
    if (o.promise !== false) {
      save(fsp, name);
      replace(fsp, name, (host) => function (this: unknown, ...args: unknown[]) {
        const p = route(args[0]);
        if (p === null) return host.apply(this, args);
        return d.runAsync(impl(p, args.slice(1)));
      });
    }
  };

  /** fs.NAME(fd, ...) and fs.NAMESync(fd, ...) for descriptors of kernel files. */
  const fdApi = (name: string, impl: (kfd: number, args: unknown[]) => ops.Op<unknown>, o: ApiOpts = {}): void => {
    save(fs, name);
    replace(fs, name, (host) => function (this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return host.apply(this, args);
      const cb = takeCb(args, o.optionalCb);
      settle(d.runAsync(impl(kfd, args.slice(1))), cb, o.spread);
      return undefined;
    });
    save(fs, `${name}Sync`);
    replace(fs, `${name}Sync`, (host) => function (this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return host.apply(this, args);
      return d.runSync(impl(kfd, args.slice(1)));
    });
  };

  /** Two paths (rename, link, copyFile): both in the kernel, both on the host, or `mixed`. */
  const twoPathApi = (name: string, impl: (a: Routed, b: Routed, args: unknown[]) => ops.Op<unknown>,
    mixed: (a: Routed | string, b: Routed | string, args: unknown[]) => ops.Op<unknown>): void => {
    const pick = (args: unknown[]): ops.Op<unknown> | null => {
      const a = route(args[0]), b = route(args[1]);
      if (a === null && b === null) return null;
      if (a !== null && b !== null) return impl(a, b, args.slice(2));
      return mixed(a ?? toPath(args[0], 'src'), b ?? toPath(args[1], 'dest'), args.slice(2));
    };
    save(fs, name);
    replace(fs, name, (host) => function (this: unknown, ...args: unknown[]) {
      const rest = [...args];
      const cb = typeof rest[rest.length - 1] === 'function' ? rest.pop() as Fn : null;
      const op = pick(rest);
      if (op === null) return host.apply(this, args);
      if (cb === null) throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "cb" argument must be of type function. Received ${describe(args[args.length - 1])}`);
      settle(d.runAsync(op), cb);
      return undefined;
    });
    save(fs, `${name}Sync`);
    replace(fs, `${name}Sync`, (host) => function (this: unknown, ...args: unknown[]) {
      const op = pick(args);
      return op === null ? host.apply(this, args) : d.runSync(op);
    });
    save(fsp, name);
    replace(fsp, name, (host) => function (this: unknown, ...args: unknown[]) {
      const op = pick(args);
      return op === null ? host.apply(this, args) : d.runAsync(op);
    });
  };

  /** rename/link between the host and the kernel: EXDEV, as between two file systems. */
  const exdev = (syscall: string) => function* (a: Routed | string, b: Routed | string): ops.Op<unknown> {
    throw makeError('EXDEV', syscall, typeof a === 'string' ? a : a.u, typeof b === 'string' ? b : b.u, 'one name is in the rump kernel and the other on the host');
  };

  // -------------------------------------------------------------------------------------------
  // path operations

  pathApi('access', (p, [mode]) => ops.access(p, mode));
  pathApi('stat', (p, [o]) => ops.stat(p, o as never, true));
  pathApi('lstat', (p, [o]) => ops.stat(p, o as never, false));
  pathApi('chmod', (p, [mode]) => ops.chmod(p, mode));
  if (typeof fs['lchmod'] === 'function') pathApi('lchmod', (p, [mode]) => ops.chmod(p, mode, false));
  pathApi('chown', (p, [u, g]) => ops.chown(p, u, g));
  pathApi('lchown', (p, [u, g]) => ops.chown(p, u, g, false));
  pathApi('utimes', (p, [a, m]) => ops.utimes(p, a, m));
  pathApi('lutimes', (p, [a, m]) => ops.utimes(p, a, m, false));
  pathApi('mkdir', (p, [o]) => ops.mkdir(p, o));
  pathApi('mkdtemp', (p, [o]) => ops.mkdtemp(p, o));
  pathApi('rmdir', (p, [o]) => ops.rmdir(p, o));
  pathApi('rm', (p, [o]) => ops.rm(p, o));
  pathApi('unlink', (p) => ops.unlink(p));
  pathApi('readdir', (p, [o]) => ops.readdir(p, o));
  pathApi('readlink', (p, [o]) => ops.readlink(p, o));
  pathApi('statfs', (p, [o]) => ops.statfs(p, o as never));
  pathApi('realpath', (p, [o]) => ops.realpath(p, o, view(p)));
  replace(fs['realpath'] as Obj, 'native', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    const cb = takeCb(args);
    settle(d.runAsync(ops.realpath(p, args[1], view(p))), cb);
    return undefined;
  });
  replace(fs['realpathSync'] as Obj, 'native', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    return p === null ? host.apply(this, args) : d.runSync(ops.realpath(p, args[1], view(p)));
  });
  // fs.exists calls back with the answer alone, and existsSync never throws
  save(fs, 'exists');
  replace(fs, 'exists', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    const cb = takeCb(args);
    void d.runAsync(ops.exists(p)).then((v) => { process.nextTick(cb, v); }, () => { process.nextTick(cb, false); });
    return undefined;
  });
  save(fs, 'existsSync');
  replace(fs, 'existsSync', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    try {
      return d.runSync(ops.exists(p));
    } catch {
      return false;
    }
  });
  // truncate takes a path or (deprecated) a descriptor
  pathApi('truncate', (p, [len]) => ops.truncate(p, len), { promise: true });
  for (const name of ['truncate', 'truncateSync'] as const) {
    const cur = fs[name] as Fn;
    fs[name] = function (this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return cur.apply(this, args);
      if (name === 'truncateSync') return d.runSync(ops.ftruncate(kfd, args[1]));
      const cb = takeCb(args);
      settle(d.runAsync(ops.ftruncate(kfd, args[1])), cb);
      return undefined;
    };
  }

  // symlink(target, path): the path decides; the target is stored as given
  for (const [obj, name, mode] of [[fs, 'symlink', 'cb'], [fs, 'symlinkSync', 'sync'], [fsp, 'symlink', 'promise']] as const) {
    save(obj, name);
    replace(obj, name, (host) => function (this: unknown, ...args: unknown[]) {
      const p = route(args[1]);
      if (p === null) return host.apply(this, args);
      const target = toPath(args[0], 'target');
      if (mode === 'sync') return d.runSync(ops.symlink(target, p));
      if (mode === 'promise') return d.runAsync(ops.symlink(target, p));
      const cb = takeCb(args);
      settle(d.runAsync(ops.symlink(target, p)), cb);
      return undefined;
    });
  }

  twoPathApi('rename', (a, b) => ops.rename(a, b), exdev('rename'));
  twoPathApi('link', (a, b) => ops.link(a, b), exdev('link'));
  twoPathApi('copyFile', (a, b, [mode]) => ops.copyFile(a, b, mode), (a, b, [mode]) => ops.copyFileCross(a, b, mode, hostRead, hostWrite));

  // -------------------------------------------------------------------------------------------
  // open, close and the descriptor operations

  pathApi('open', function* (p, [flags, mode]) {
    return ctx.fake(yield* ops.open(p, flags, mode));
  }, { promise: false });
  save(fsp, 'open');
  replace(fsp, 'open', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    return d.runAsync(ops.open(p, args[1], args[2])).then((kfd) => new HijackFileHandle(ctx, kfd));
  });

  const closeOp = function* (kfd: number): ops.Op<void> {
    try {
      yield* ops.close(kfd);
    } finally {
      ctx.handles.get(kfd)?.markClosed();
    }
  };
  fdApi('close', (kfd) => closeOp(kfd), { optionalCb: true });
  fdApi('fstat', (kfd, [o]) => ops.fstat(kfd, o as never));
  fdApi('fchmod', (kfd, [mode]) => ops.fchmod(kfd, mode));
  fdApi('fchown', (kfd, [u, g]) => ops.fchown(kfd, u, g));
  fdApi('futimes', (kfd, [a, m]) => ops.futimes(kfd, a, m));
  fdApi('ftruncate', (kfd, [len]) => ops.ftruncate(kfd, len));
  fdApi('fsync', (kfd) => ops.fsync(kfd));
  fdApi('fdatasync', (kfd) => ops.fsync(kfd, true));
  fdApi('read', function* (kfd, [a, b, c, dd]) {
    const r = readArgs(a, b, c, dd);
    return [yield* ops.readInto(kfd, r.view, r.position), r.buffer];
  }, { spread: (v) => v as unknown[] });
  // readSync returns the count alone
  {
    const readSyncPatched = fs['readSync'] as Fn;
    fs['readSync'] = function readSync(this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return readSyncPatched.apply(this, args);
      const r = readArgs(args[1], args[2], args[3], args[4]);
      return d.runSync(ops.readInto(kfd, r.view, r.position));
    };
  }
  fdApi('write', function* (kfd, [data, a, b, c]) {
    const w = writeArgs(data, a, b, c);
    return [yield* ops.writeFrom(kfd, w.bytes, w.position), w.buffer];
  }, { spread: (v) => v as unknown[] });
  {
    const writeSyncPatched = fs['writeSync'] as Fn;
    fs['writeSync'] = function writeSync(this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return writeSyncPatched.apply(this, args);
      const w = writeArgs(args[1], args[2], args[3], args[4]);
      return d.runSync(ops.writeFrom(kfd, w.bytes, w.position));
    };
  }
  fdApi('readv', function* (kfd, [bufs, pos]) {
    return [yield* ops.readvInto(kfd, iovArgs(bufs), ops.parsePosition(pos)), bufs];
  }, { spread: (v) => v as unknown[] });
  {
    const cur = fs['readvSync'] as Fn;
    fs['readvSync'] = function readvSync(this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return cur.apply(this, args);
      return d.runSync(ops.readvInto(kfd, iovArgs(args[1]), ops.parsePosition(args[2])));
    };
  }
  fdApi('writev', function* (kfd, [bufs, pos]) {
    return [yield* ops.writevFrom(kfd, iovArgs(bufs), ops.parsePosition(pos)), bufs];
  }, { spread: (v) => v as unknown[] });
  {
    const cur = fs['writevSync'] as Fn;
    fs['writevSync'] = function writevSync(this: unknown, ...args: unknown[]) {
      const kfd = ctx.kfd(args[0]);
      if (kfd < 0) return cur.apply(this, args);
      return d.runSync(ops.writevFrom(kfd, iovArgs(args[1]), ops.parsePosition(args[2])));
    };
  }

  // -------------------------------------------------------------------------------------------
  // whole files: readFile, writeFile, appendFile (a path, a descriptor, or a FileHandle)

  const fileTarget = (a: unknown): Routed | number | HijackFileHandle | null => {
    if (a instanceof HijackFileHandle) return a;
    const kfd = ctx.kfd(a);
    if (kfd >= 0) return kfd;
    return route(a);
  };
  const wholeFile = (name: 'readFile' | 'writeFile' | 'appendFile'): void => {
    const opFor = (t: Routed | number, args: unknown[]): ops.Op<unknown> => (name === 'readFile'
      ? ops.readFile(t, args[0])
      : ops.writeFile(t, args[0] as Uint8Array | string, args[1], name === 'writeFile' ? 'w' : 'a'));
    save(fs, name);
    replace(fs, name, (host) => function (this: unknown, ...args: unknown[]) {
      const t = fileTarget(args[0]);
      if (t === null || t instanceof HijackFileHandle) return host.apply(this, args);
      const cb = takeCb(args);
      settle(d.runAsync(opFor(t, args.slice(1))), cb);
      return undefined;
    });
    save(fs, `${name}Sync`);
    replace(fs, `${name}Sync`, (host) => function (this: unknown, ...args: unknown[]) {
      const t = fileTarget(args[0]);
      if (t === null || t instanceof HijackFileHandle) return host.apply(this, args);
      return d.runSync(opFor(t, args.slice(1)));
    });
    save(fsp, name);
    replace(fsp, name, (host) => function (this: unknown, ...args: unknown[]) {
      const t = fileTarget(args[0]);
      if (t === null) return host.apply(this, args);
      if (t instanceof HijackFileHandle) {
        return name === 'readFile' ? t.readFile(args[1]) : name === 'writeFile' ? t.writeFile(args[1], args[2]) : t.appendFile(args[1], args[2]);
      }
      const data = args[1];
      if (name !== 'readFile' && typeof data !== 'string' && !ArrayBuffer.isView(data)) {
        // an (async) iterable or a stream: gathered, then written
        return (async () => {
          const parts: Uint8Array[] = [];
          for await (const c of dataChunks(data, encodingOf(args[2], 'utf8'))) parts.push(c);
          return d.runAsync(ops.writeFile(t, Buffer.concat(parts), args[2], name === 'writeFile' ? 'w' : 'a'));
        })();
      }
      return d.runAsync(opFor(t, args.slice(1)));
    });
  };
  wholeFile('readFile');
  wholeFile('writeFile');
  wholeFile('appendFile');

  if (typeof fs['openAsBlob'] === 'function') {
    save(fs, 'openAsBlob');
    replace(fs, 'openAsBlob', (host) => function (this: unknown, ...args: unknown[]) {
      const p = route(args[0]);
      if (p === null) return host.apply(this, args);
      const type = optionsOf<{ type: string }>(args[1]).type ?? '';
      return d.runAsync(ops.readFile(p, null)).then((b) => new Blob([b as Buffer], { type }));
    });
  }

  // -------------------------------------------------------------------------------------------
  // directories as objects: opendir

  function* opendirOp(p: Routed, options: unknown): ops.Op<HijackDir> {
    const o = optionsOf<{ bufferSize: number; recursive: boolean }>(options);
    const enc = encodingOf(options, 'utf8');
    const bufferSize = o.bufferSize ?? 32;
    if (!Number.isInteger(bufferSize) || bufferSize < 1 || bufferSize > 4096) {
      throw argError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "options.bufferSize" is out of range. It must be >= 1 && <= 4096. Received ${String(bufferSize)}`);
    }
    let kfd: number;
    try {
      kfd = yield* ops.sys('open', p.k, O_RDONLY | O_DIRECTORY, 0);
    } catch (e) {
      throw nodeError(e, 'opendir', p.u);
    }
    return new HijackDir(d, kfd, p.k, p.u, enc, bufferSize, o.recursive === true);
  }
  pathApi('opendir', (p, [o]) => opendirOp(p, o));

  // -------------------------------------------------------------------------------------------
  // streams: Node's own, on the patched primitives; a kernel FileHandle as `fd` becomes its number

  for (const name of ['createReadStream', 'createWriteStream'] as const) {
    save(fs, name);
    replace(fs, name, (host) => function (this: unknown, ...args: unknown[]) {
      const o = args[1];
      if (o !== null && typeof o === 'object' && (o as { fd?: unknown }).fd instanceof HijackFileHandle) {
        args[1] = { ...o, fd: ((o as { fd: HijackFileHandle }).fd).fd };
      }
      return host.apply(this, args);
    });
  }

  // -------------------------------------------------------------------------------------------
  // watching: no kernel notifications; watchFile polls with stat as Node's does

  const notSupported = (p: Routed): Error => makeError('ENOTSUP', 'watch', p.u, undefined,
    'the rump kernel has no file change notifications; fs.watchFile (which polls) works');
  for (const [obj, name] of [[fs, 'watch'], [fsp, 'watch']] as const) {
    save(obj, name);
    replace(obj, name, (host) => function (this: unknown, ...args: unknown[]) {
      const p = route(args[0]);
      if (p === null) return host.apply(this, args);
      if (obj === fs) throw notSupported(p);
      // fs.promises.watch is an async iterator: the error comes at the first next()
      return (async function* () { throw notSupported(p); })();
    });
  }
  const watchers = new Map<string, { emitter: EventEmitter; timer: NodeJS.Timeout }>();
  save(fs, 'watchFile');
  replace(fs, 'watchFile', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    const listener = takeCb(args);
    const o = optionsOf<{ interval: number; persistent: boolean; bigint: boolean }>(args[1]);
    let w = watchers.get(p.u);
    if (w === undefined) {
      const emitter = new EventEmitter();
      let prev = d.runSync(ops.stat(p, { bigint: o.bigint === true, throwIfNoEntry: false }, true)) ?? ops.makeStats(ZERO_STAT, o.bigint === true);
      const timer = setInterval(() => {
        void d.runAsync(ops.stat(p, { bigint: o.bigint === true, throwIfNoEntry: false }, true)).then((cur) => {
          const now = cur ?? ops.makeStats(ZERO_STAT, o.bigint === true);
          if (now.mtimeMs !== prev.mtimeMs || now.ctimeMs !== prev.ctimeMs || now.size !== prev.size || now.ino !== prev.ino) {
            const before = prev;
            prev = now;
            emitter.emit('change', now, before);
          }
        }, () => undefined);
      }, o.interval ?? 5007);
      if (o.persistent === false) timer.unref();
      Object.assign(emitter, { ref: () => { timer.ref(); return emitter; }, unref: () => { timer.unref(); return emitter; } });
      w = { emitter, timer };
      watchers.set(p.u, w);
    }
    w.emitter.on('change', listener);
    return w.emitter;
  });
  save(fs, 'unwatchFile');
  replace(fs, 'unwatchFile', (host) => function (this: unknown, ...args: unknown[]) {
    const p = route(args[0]);
    if (p === null) return host.apply(this, args);
    const w = watchers.get(p.u);
    if (w === undefined) return undefined;
    if (typeof args[1] === 'function') w.emitter.off('change', args[1] as Fn);
    else w.emitter.removeAllListeners('change');
    if (w.emitter.listenerCount('change') === 0) {
      clearInterval(w.timer);
      watchers.delete(p.u);
    }
    return undefined;
  });

  // -------------------------------------------------------------------------------------------
  // the working directory

  const hostChdir = process.chdir;
  const hostCwd = process.cwd;
  process.chdir = function chdir(dir: string): void {
    const p = route(dir);
    if (p === null) {
      hostChdir.call(process, dir);
      cwd.inKernel = false;
      return;
    }
    try {
      d.runSync(ops.sys('chdir', p.k));
      const kcwd = d.runSync(ops.sys('getcwd'));
      cwd.inKernel = true;
      cwd.strip = p.strip;
      cwd.view = hostView(cfg, kcwd, p.strip);
    } catch (e) {
      // Node's words: "ENOENT: no such file or directory, chdir /home/u -> '/rump/x'"
      const here = hostCwd.call(process);
      const err = nodeError(e, 'chdir', here, dir) as Error;
      err.message = err.message.replace(`chdir '${here}'`, `chdir ${here}`);
      throw err;
    }
  } as typeof process.chdir;
  process.cwd = function cwdFn(): string {
    return cwd.inKernel ? cwd.view : hostCwd.call(process);
  };

  // -------------------------------------------------------------------------------------------
  // sysctl=yes: the kernel's identity for os.hostname() and friends

  const osSaved: [string, unknown][] = [];
  if (cfg.sysctl) {
    const os = require('os') as Obj;
    const names: Record<string, string> = { hostname: 'kern.hostname', type: 'kern.ostype', release: 'kern.osrelease', version: 'kern.version', machine: 'hw.machine' };
    for (const [fn, mib] of Object.entries(names)) {
      if (typeof os[fn] !== 'function') continue;
      osSaved.push([fn, os[fn]]);
      const host = os[fn] as Fn;
      os[fn] = function () {
        try {
          return String(d.runSync(ops.sys('__sysctl', mib, null)));
        } catch {
          return host.call(os);
        }
      };
    }
  }

  return {
    restore(): void {
      for (const [obj, name, fn] of saved.reverse()) obj[name] = fn;
      process.chdir = hostChdir;
      process.cwd = hostCwd;
      const os = require('os') as Obj;
      for (const [fn, v] of osSaved) os[fn] = v;
      for (const w of watchers.values()) clearInterval(w.timer);
      watchers.clear();
    },
  };
}

/** What watchFile reports for a file that does not exist: every field zero. */
const ZERO_STAT = {
  dev: 0, ino: 0, mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, size: 0, blocks: 0, blksize: 0, flags: 0, gen: 0,
  atimeSec: 0, atimeNsec: 0, mtimeSec: 0, mtimeNsec: 0, ctimeSec: 0, ctimeNsec: 0, birthtimeSec: 0, birthtimeNsec: 0,
};

