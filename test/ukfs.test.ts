/**
 * ukfs over tmpfs, differentially: one script of file operations runs against node:fs/promises
 * on a real host directory and against ukfs (ukfsOpenMemory), and every step must give the same
 * observable result on both: the same values (names, sizes, modes, contents, link counts, times
 * set explicitly) and, on failure, the same error `code` and `syscall` (and `path`/`dest`
 * relative to the root). Then the parts of ukfs that have no host twin: credentials, read-only
 * mounts, confinement to the image root, streams, unmount.
 */

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { ukfsOpenMemory, Ukfs, FileHandle as UkfsFileHandle } from '../src/ukfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { O_CREAT, O_RDWR } from '../src/kern/types.js';

process.umask(0o022);
const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;

/** The subset of an fs/promises API the script uses (Node's module or a Ukfs). */
type FsApi = Pick<typeof fsp, 'readFile' | 'writeFile' | 'appendFile' | 'readdir' | 'stat' | 'lstat' | 'mkdir' | 'rm' | 'rmdir'
  | 'unlink' | 'rename' | 'link' | 'symlink' | 'readlink' | 'chmod' | 'chown' | 'lchown' | 'utimes' | 'lutimes' | 'truncate'
  | 'access' | 'open' | 'copyFile' | 'cp' | 'realpath' | 'mkdtemp' | 'opendir' | 'statfs'>;

interface Side {
  fs: FsApi;
  /** A script path ('a/b', always relative to the root) as this side names it. */
  p(rel: string): string;
  /** Undo p() in results and error paths. */
  unp(s: string): string;
}

type Outcome = { ok: unknown } | { err: Record<string, unknown> };

function normErr(side: Side, e: unknown): Record<string, unknown> {
  const x = e as { code?: string; syscall?: string; path?: string; dest?: string; name?: string };
  const out: Record<string, unknown> = { code: x.code, syscall: x.syscall };
  if (typeof x.path === 'string') out['path'] = side.unp(x.path);
  if (typeof x.dest === 'string') out['dest'] = side.unp(x.dest);
  return out;
}

function statView(s: fs.Stats): Record<string, unknown> {
  return {
    file: s.isFile(), dir: s.isDirectory(), link: s.isSymbolicLink(), fifo: s.isFIFO(),
    mode: s.mode.toString(8), nlink: s.isDirectory() ? 'dir' : s.nlink, uid: s.uid, gid: s.gid,
    size: s.isDirectory() ? 'dir' : s.size, // directory sizes are file system specific
    blocksAreCounted: typeof s.blocks === 'number' && s.blksize > 0,
  };
}

/** Steps: a label and an operation returning a comparable value. */
type Step = [label: string, op: (s: Side) => Promise<unknown>];

const utf8 = (b: unknown): string => (b as Buffer).toString('utf8');

const SCRIPT: Step[] = [
  // directories
  ['mkdir d', (s) => s.fs.mkdir(s.p('d'))],
  ['mkdir d again: EEXIST', (s) => s.fs.mkdir(s.p('d'))],
  ['mkdir with a missing parent: ENOENT', (s) => s.fs.mkdir(s.p('a/b'))],
  ['mkdir -p returns the first directory made', async (s) => s.unp((await s.fs.mkdir(s.p('a/b/c'), { recursive: true }))!)],
  ['mkdir -p of an existing tree returns undefined', (s) => s.fs.mkdir(s.p('a/b/c'), { recursive: true })],
  ['mkdir -p with mode', async (s) => { await s.fs.mkdir(s.p('m1/m2'), { recursive: true, mode: 0o750 }); return statView(await s.fs.stat(s.p('m1/m2'))); }],
  // files
  ['writeFile a string', (s) => s.fs.writeFile(s.p('f'), 'hello')],
  ['readFile as a Buffer', async (s) => utf8(await s.fs.readFile(s.p('f')))],
  ['appendFile', async (s) => { await s.fs.appendFile(s.p('f'), ' world'); return s.fs.readFile(s.p('f'), 'utf8'); }],
  ['readFile with an encoding', (s) => s.fs.readFile(s.p('f'), { encoding: 'base64' })],
  ['writeFile wx on an existing file: EEXIST', (s) => s.fs.writeFile(s.p('f'), 'x', { flag: 'wx' })],
  ['readFile of a missing file: ENOENT open', (s) => s.fs.readFile(s.p('nope'))],
  ['readFile of a directory: EISDIR read', (s) => s.fs.readFile(s.p('d'))],
  ['writeFile onto a directory: EISDIR open', (s) => s.fs.writeFile(s.p('d'), 'x')],
  ['writeFile in a missing directory: ENOENT', (s) => s.fs.writeFile(s.p('nodir/f'), 'x')],
  ['writeFile through a file: ENOTDIR', (s) => s.fs.writeFile(s.p('f/x'), 'x')],
  ['writeFile bytes with mode 0600', async (s) => { await s.fs.writeFile(s.p('bin'), new Uint8Array([1, 2, 3, 250]), { mode: 0o600 }); return [[...await s.fs.readFile(s.p('bin'))], statView(await s.fs.stat(s.p('bin')))]; }],
  ['writeFile an iterable of chunks', async (s) => { await s.fs.writeFile(s.p('it'), ['ab', 'cd', new Uint8Array([101])]); return s.fs.readFile(s.p('it'), 'utf8'); }],
  ['writeFile an empty file', async (s) => { await s.fs.writeFile(s.p('empty'), ''); return statView(await s.fs.stat(s.p('empty'))); }],
  ['a 1 MiB file reads back', async (s) => {
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
    await s.fs.writeFile(s.p('big'), big);
    const back = await s.fs.readFile(s.p('big'));
    return [back.length, back.equals(big)];
  }],
  // stat
  ['stat a file', async (s) => statView(await s.fs.stat(s.p('f')))],
  ['stat a directory', async (s) => statView(await s.fs.stat(s.p('d')))],
  ['stat a missing file: ENOENT stat', (s) => s.fs.stat(s.p('nope'))],
  ['stat a file with a trailing slash: ENOTDIR', (s) => s.fs.stat(s.p('f') + '/')],
  ['lstat through a file: ENOTDIR lstat', (s) => s.fs.lstat(s.p('f/x'))],
  // readdir
  ['readdir names', async (s) => (await s.fs.readdir(s.p(''))).sort()],
  ['readdir with file types', async (s) => (await s.fs.readdir(s.p('a'), { withFileTypes: true })).map((d) => [d.name, d.isDirectory(), d.isFile(), s.unp(d.parentPath)])],
  ['readdir recursive', async (s) => (await s.fs.readdir(s.p('a'), { recursive: true })).sort()],
  ['readdir of a file: ENOTDIR scandir', (s) => s.fs.readdir(s.p('f'))],
  ['readdir of a missing directory: ENOENT scandir', (s) => s.fs.readdir(s.p('nope'))],
  ['readdir with encoding buffer', async (s) => (await s.fs.readdir(s.p('a'), { encoding: 'buffer' })).map((b) => Buffer.isBuffer(b) && b.toString())],
  // rename
  ['rename a file', async (s) => { await s.fs.rename(s.p('f'), s.p('g')); return [(await s.fs.readdir(s.p(''))).includes('f'), await s.fs.readFile(s.p('g'), 'utf8')]; }],
  ['rename a missing file: ENOENT rename with dest', (s) => s.fs.rename(s.p('nope'), s.p('x'))],
  ['rename a directory over a file: ENOTDIR', (s) => s.fs.rename(s.p('d'), s.p('g'))],
  ['rename a file over a directory: EISDIR', (s) => s.fs.rename(s.p('g'), s.p('d'))],
  ['rename a directory into itself: EINVAL', (s) => s.fs.rename(s.p('a'), s.p('a/b/x'))],
  ['rename a directory over a non-empty one: ENOTEMPTY', (s) => s.fs.rename(s.p('d'), s.p('a'))],
  ['rename a directory over an empty one', async (s) => { await s.fs.mkdir(s.p('e')); await s.fs.rename(s.p('e'), s.p('d')); return (await s.fs.readdir(s.p(''))).includes('e'); }],
  // links
  ['link', async (s) => { await s.fs.link(s.p('g'), s.p('h')); return [statView(await s.fs.stat(s.p('h'))).nlink, statView(await s.fs.stat(s.p('g'))).nlink]; }],
  ['link to a directory: EPERM', (s) => s.fs.link(s.p('d'), s.p('dl'))],
  ['link onto an existing name: EEXIST', (s) => s.fs.link(s.p('g'), s.p('h'))],
  ['symlink and readlink', async (s) => { await s.fs.symlink('g', s.p('s')); return s.fs.readlink(s.p('s')); }],
  ['lstat and stat of a symlink', async (s) => [statView(await s.fs.lstat(s.p('s'))).link, statView(await s.fs.stat(s.p('s'))).file, (await s.fs.lstat(s.p('s'))).size]],
  ['readlink of a file: EINVAL', (s) => s.fs.readlink(s.p('g'))],
  ['symlink onto an existing name: EEXIST symlink target -> path', (s) => s.fs.symlink('whatever', s.p('g'))],
  ['stat of a dangling symlink: ENOENT', async (s) => { await s.fs.symlink('missing', s.p('dangle')); return s.fs.stat(s.p('dangle')); }],
  ['realpath through a symlink', async (s) => s.unp(await s.fs.realpath(s.p('s')))],
  ['realpath of a directory symlink with more after it', async (s) => { await s.fs.symlink('a/b', s.p('ab')); return s.unp(await s.fs.realpath(s.p('ab/c'))); }],
  ['realpath of a missing file: ENOENT realpath', (s) => s.fs.realpath(s.p('nope'))],
  // attributes
  ['chmod', async (s) => { await s.fs.chmod(s.p('g'), 0o640); return statView(await s.fs.stat(s.p('g'))).mode; }],
  ['chmod with an octal string', async (s) => { await s.fs.chmod(s.p('g'), '604'); return statView(await s.fs.stat(s.p('g'))).mode; }],
  ['chmod of a missing file: ENOENT chmod', (s) => s.fs.chmod(s.p('nope'), 0o600)],
  ['chown to the same owner', async (s) => { await s.fs.chown(s.p('g'), UID, GID); return [statView(await s.fs.stat(s.p('g'))).uid]; }],
  ['lchown of a symlink', (s) => s.fs.lchown(s.p('s'), UID, GID)],
  ['chown of a missing file: ENOENT chown', (s) => s.fs.chown(s.p('nope'), UID, GID)],
  ['utimes with numbers', async (s) => { await s.fs.utimes(s.p('g'), 1000, 2000.5); const st = await s.fs.stat(s.p('g')); return [st.atimeMs, st.mtimeMs, st.mtime.toISOString()]; }],
  ['utimes with Dates', async (s) => { await s.fs.utimes(s.p('g'), new Date(1_600_000_000_123), new Date(1_700_000_000_456)); const st = await s.fs.stat(s.p('g')); return [st.atimeMs, st.mtimeMs]; }],
  ['utimes of a missing file: ENOENT utime', (s) => s.fs.utimes(s.p('nope'), 1, 1)],
  ['lutimes of a symlink leaves its target alone', async (s) => { await s.fs.lutimes(s.p('s'), 5, 6); return [(await s.fs.lstat(s.p('s'))).mtimeMs, (await s.fs.stat(s.p('s'))).mtimeMs]; }],
  // truncate, access
  ['truncate shorter', async (s) => { await s.fs.truncate(s.p('g'), 2); return s.fs.readFile(s.p('g'), 'utf8'); }],
  ['truncate longer fills with zeros', async (s) => { await s.fs.truncate(s.p('g'), 6); return [...await s.fs.readFile(s.p('g'))]; }],
  ['truncate to 0 by default', async (s) => { await s.fs.truncate(s.p('h')); return statView(await s.fs.stat(s.p('h'))).size; }],
  ['truncate a directory: EISDIR open', (s) => s.fs.truncate(s.p('d'))],
  ['truncate a missing file: ENOENT open', (s) => s.fs.truncate(s.p('nope'))],
  ['access F_OK', (s) => s.fs.access(s.p('g'))],
  ['access W_OK', (s) => s.fs.access(s.p('g'), fs.constants.W_OK)],
  ['access of a missing file: ENOENT access', (s) => s.fs.access(s.p('nope'))],
  // file handles
  ['FileHandle: positioned and sequential reads and writes', async (s) => {
    await s.fs.writeFile(s.p('fh'), 'abcdefgh');
    const fh = await s.fs.open(s.p('fh'), 'r+');
    try {
      const out: unknown[] = [];
      out.push((await fh.write('XY', 0)).bytesWritten);            // pwrite: position unchanged
      const b = Buffer.alloc(3);
      out.push((await fh.read(b, 0, 3, null)).bytesRead, b.toString()); // from position 0
      out.push((await fh.read(b, 0, 2, 6)).bytesRead, b.toString());    // pread at 6
      out.push((await fh.read({ buffer: b })).bytesRead, b.toString()); // continues at 3
      out.push((await fh.write(Buffer.from('__'))).bytesWritten);       // at 6
      out.push((await fh.stat()).size);
      await fh.truncate(5);
      out.push((await fh.stat()).size);
      out.push(await fh.readFile('utf8')); // from the current position (8, past the end)
      const r = await fh.read();
      out.push(r.bytesRead, r.buffer.length);
      await fh.write('tail', null);
      out.push(await s.fs.readFile(s.p('fh'), 'latin1'));
      return out;
    } finally {
      await fh.close();
    }
  }],
  ['FileHandle: readv, writev and readFile from the start', async (s) => {
    const fh = await s.fs.open(s.p('v'), 'w+');
    try {
      const w = await fh.writev([Buffer.from('12'), Buffer.from('345')]);
      const a = Buffer.alloc(2), b = Buffer.alloc(10);
      const r = await fh.readv([a, b], 0);
      return [w.bytesWritten, r.bytesRead, a.toString(), b.subarray(0, 3).toString()];
    } finally {
      await fh.close();
    }
  }],
  ['FileHandle: closing twice is harmless, using a closed handle is EBADF', async (s) => {
    const fh = await s.fs.open(s.p('v'));
    await fh.close();
    await fh.close();
    return [fh.fd, await fh.read(Buffer.alloc(1), 0, 1, 0).catch((e: { code: string; syscall: string; message: string }) => [e.code, e.syscall, e.message])];
  }],
  ['open a missing file: ENOENT open', (s) => s.fs.open(s.p('nope'))],
  ['open wx on an existing file: EEXIST', (s) => s.fs.open(s.p('g'), 'wx')],
  ['open a directory for writing: EISDIR', (s) => s.fs.open(s.p('d'), 'r+')],
  ['open with numeric Linux flags', async (s) => {
    const c = fs.constants;
    const fh = await s.fs.open(s.p('num'), c.O_CREAT | c.O_WRONLY | c.O_EXCL, 0o640);
    await fh.write('n');
    await fh.close();
    return [await s.fs.readFile(s.p('num'), 'utf8'), statView(await s.fs.stat(s.p('num'))).mode];
  }],
  ['open O_NOFOLLOW of a symlink: ELOOP', (s) => s.fs.open(s.p('s'), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)],
  ['an invalid flag string is a TypeError', (s) => s.fs.open(s.p('g'), 'rw')],
  // copies
  ['copyFile copies contents and mode', async (s) => { await s.fs.copyFile(s.p('bin'), s.p('c')); return [[...await s.fs.readFile(s.p('c'))], statView(await s.fs.stat(s.p('c'))).mode]; }],
  ['copyFile onto an existing file replaces it', async (s) => { await s.fs.copyFile(s.p('it'), s.p('c')); return s.fs.readFile(s.p('c'), 'utf8'); }],
  ['copyFile COPYFILE_EXCL onto an existing file: EEXIST copyfile', (s) => s.fs.copyFile(s.p('it'), s.p('c'), fs.constants.COPYFILE_EXCL)],
  ['copyFile of a missing file: ENOENT copyfile', (s) => s.fs.copyFile(s.p('nope'), s.p('x'))],
  ['copyFile of a directory: EISDIR copyfile', (s) => s.fs.copyFile(s.p('d'), s.p('x'))],
  ['copyFile onto a directory: EISDIR copyfile', (s) => s.fs.copyFile(s.p('it'), s.p('d'))],
  ['cp a directory without recursive: ERR_FS_EISDIR', (s) => s.fs.cp(s.p('a'), s.p('a2'))],
  ['cp -r copies a tree', async (s) => {
    await s.fs.writeFile(s.p('a/b/file'), 'in a tree');
    await s.fs.cp(s.p('a'), s.p('a2'), { recursive: true });
    return [(await s.fs.readdir(s.p('a2'), { recursive: true })).sort(), await s.fs.readFile(s.p('a2/b/file'), 'utf8')];
  }],
  ['cp -r of relative symlinks makes them absolute unless verbatimSymlinks', async (s) => {
    await s.fs.mkdir(s.p('lt'));
    await s.fs.symlink('../g', s.p('lt/rel'));
    await s.fs.cp(s.p('lt'), s.p('lt2'), { recursive: true });
    await s.fs.cp(s.p('lt'), s.p('lt3'), { recursive: true, verbatimSymlinks: true });
    return [s.unp(await s.fs.readlink(s.p('lt2/rel'))), await s.fs.readlink(s.p('lt3/rel'))];
  }],
  ['cp onto itself: ERR_FS_CP_EINVAL', (s) => s.fs.cp(s.p('a'), s.p('a'), { recursive: true })],
  ['cp into its own subdirectory: ERR_FS_CP_EINVAL', (s) => s.fs.cp(s.p('a'), s.p('a/b/sub'), { recursive: true })],
  ['cp a file onto a directory: ERR_FS_CP_NON_DIR_TO_DIR', (s) => s.fs.cp(s.p('g'), s.p('d'))],
  ['cp with errorOnExist and no force: ERR_FS_CP_EEXIST', (s) => s.fs.cp(s.p('g'), s.p('c'), { force: false, errorOnExist: true })],
  ['cp with preserveTimestamps', async (s) => { await s.fs.utimes(s.p('g'), 1234.5678, 2345.6789); await s.fs.cp(s.p('g'), s.p('gt'), { preserveTimestamps: true }); const st = await s.fs.stat(s.p('gt')); return [st.atimeMs, st.mtimeMs]; }],
  // removal
  ['unlink', async (s) => { await s.fs.unlink(s.p('c')); return (await s.fs.readdir(s.p(''))).includes('c'); }],
  ['unlink of a missing file: ENOENT unlink', (s) => s.fs.unlink(s.p('nope'))],
  ['unlink of a directory: EISDIR unlink', (s) => s.fs.unlink(s.p('d'))],
  ['rmdir of a non-empty directory: ENOTEMPTY', (s) => s.fs.rmdir(s.p('a'))],
  ['rmdir of a file: ENOTDIR rmdir', (s) => s.fs.rmdir(s.p('g'))],
  ['rmdir of a missing directory: ENOENT', (s) => s.fs.rmdir(s.p('nope'))],
  ['rm of a missing file: ENOENT lstat', (s) => s.fs.rm(s.p('nope'))],
  ['rm -f of a missing file succeeds', (s) => s.fs.rm(s.p('nope'), { force: true })],
  ['rm of a directory without recursive: ERR_FS_EISDIR', (s) => s.fs.rm(s.p('a'))],
  ['rm of a symlink removes the link only', async (s) => { await s.fs.rm(s.p('ab')); return [(await s.fs.readdir(s.p(''))).includes('ab'), (await s.fs.readdir(s.p('a/b'))).sort()]; }],
  ['rm -r of a tree', async (s) => { await s.fs.rm(s.p('a2'), { recursive: true }); return (await s.fs.readdir(s.p(''))).includes('a2'); }],
  ['rmdir of an empty directory', async (s) => { await s.fs.rmdir(s.p('d')); return (await s.fs.readdir(s.p(''))).includes('d'); }],
  // the rest
  ['mkdtemp makes a fresh directory', async (s) => {
    const d = await s.fs.mkdtemp(s.p('tmp-'));
    const rel = s.unp(d);
    return [rel.length, rel.startsWith('tmp-'), statView(await s.fs.stat(d)).mode];
  }],
  ['opendir iterates every entry once', async (s) => {
    const names: string[] = [];
    for await (const d of await s.fs.opendir(s.p('a'))) names.push(`${d.name}:${d.isDirectory()}`);
    return names.sort();
  }],
  ['statfs reports positive sizes', async (s) => { const st = await s.fs.statfs(s.p('')); return [st.bsize > 0, st.blocks > 0, st.files > 0, st.bfree <= st.blocks]; }],
  ['the final tree', async (s) => (await s.fs.readdir(s.p(''), { recursive: true })).filter((n) => !n.startsWith('tmp-')).sort()],
];

async function outcome(side: Side, op: Step[1]): Promise<Outcome> {
  try {
    const v = await op(side);
    return { ok: v === undefined ? 'undefined' : v };
  } catch (e) {
    return { err: normErr(side, e) };
  }
}

describe('ukfs over tmpfs behaves like node:fs/promises on a host directory', () => {
  let hostRoot = '';
  let u: Ukfs;
  let host: Side;
  let ours: Side;

  before(async () => {
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    hostRoot = await fsp.mkdtemp(path.join(base, 'ukfs-diff-'));
    const st = await fsp.stat(hostRoot);
    u = await ukfsOpenMemory({ uid: UID, gid: GID, options: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } });
    host = {
      fs: fsp,
      p: (rel) => (rel === '' ? hostRoot : path.join(hostRoot, rel)),
      unp: (s) => (s === hostRoot ? '' : s.startsWith(hostRoot + '/') ? s.slice(hostRoot.length + 1) : s),
    };
    ours = {
      fs: u as unknown as FsApi,
      p: (rel) => '/' + rel,
      unp: (s) => (s.startsWith('/') ? s.slice(1) : s),
    };
  });

  after(async () => {
    await u.unmount();
    await fsp.rm(hostRoot, { recursive: true, force: true });
  });

  it('runs the same script with the same results, step by step', async () => {
    const mismatches: string[] = [];
    for (const [label, op] of SCRIPT) {
      const h = await outcome(host, op);
      const o = await outcome(ours, op);
      try {
        assert.deepStrictEqual(o, h);
      } catch {
        mismatches.push(`${label}\n    node: ${JSON.stringify(h)}\n    ukfs: ${JSON.stringify(o)}`);
      }
    }
    assert.equal(mismatches.length, 0, `${mismatches.length} of ${SCRIPT.length} steps differ:\n  ${mismatches.join('\n  ')}`);
  });

  it('gives Stats and Dirent objects the same own fields as Node, in the same order', async () => {
    await fsp.writeFile(path.join(hostRoot, 'shape'), 'x');
    await u.writeFile('/shape', 'x');
    assert.deepEqual(Object.keys(await u.stat('/shape')), Object.keys(await fsp.stat(path.join(hostRoot, 'shape'))));
    const hd = (await fsp.readdir(hostRoot, { withFileTypes: true }))[0]!;
    const ud = (await u.readdir('/', { withFileTypes: true }))[0]!;
    assert.deepEqual(Object.keys(ud), Object.keys(hd));
    const big = await u.stat('/shape', { bigint: true });
    const hbig = await fsp.stat(path.join(hostRoot, 'shape'), { bigint: true });
    assert.deepEqual(Object.keys(big).sort(), Object.keys(hbig).sort());
    assert.equal(typeof big.mtimeNs, 'bigint');
    assert.equal(big.size, 1n);
  });

  it('formats error messages as Node does', async () => {
    const h = await fsp.rename(path.join(hostRoot, 'nope'), path.join(hostRoot, 'x')).catch((e: Error) => e);
    const o = await u.rename('/nope', '/x').catch((e: Error) => e);
    assert.ok(h instanceof Error && o instanceof Error);
    assert.equal(o.message, h.message.replaceAll(hostRoot, ''));
    assert.equal((o as { errno?: number }).errno, (h as { errno?: number }).errno);
  });
});

describe('ukfs', () => {
  it('confines paths to the file system: .. at the root and absolute symlinks stay inside', async () => {
    const u = await ukfsOpenMemory();
    try {
      await u.mkdir('/etc');
      await u.writeFile('/etc/motd', 'inside');
      await u.symlink('/etc/motd', '/abs');
      assert.equal(await u.readFile('../../etc/motd', 'utf8'), 'inside');
      assert.equal(await u.readFile('etc/motd', 'utf8'), 'inside');
      assert.equal(await u.readFile('/abs', 'utf8'), 'inside');
      assert.deepEqual((await u.readdir('/..')).sort(), ['abs', 'etc']);
      assert.equal(await u.realpath('/../abs'), '/etc/motd');
      // the kernel's own /dev and the mount point are invisible
      await assert.rejects(u.stat('/dev/ukfs'), { code: 'ENOENT' });
      await assert.rejects(u.stat('/ukfs'), { code: 'ENOENT' });
    } finally {
      await u.unmount();
    }
  });

  it('resolves relative paths against chdir', async () => {
    const u = await ukfsOpenMemory();
    try {
      await u.mkdir('/a/b', { recursive: true });
      await u.chdir('/a');
      assert.equal(u.cwd(), '/a');
      await u.writeFile('b/f', 'x');
      assert.equal(await u.readFile('/a/b/f', 'utf8'), 'x');
      assert.equal(await u.realpath('b/f'), '/a/b/f');
      await assert.rejects(u.chdir('/nope'), { code: 'ENOENT', syscall: 'chdir' });
    } finally {
      await u.unmount();
    }
  });

  it('checks permissions against the uid and gid it was opened with', async () => {
    const u = await ukfsOpenMemory({ uid: 1000, gid: 1000, options: { mode: 0o1777 } });
    try {
      await u.writeFile('/mine', 'x', { mode: 0o600 });
      const st = await u.stat('/mine');
      assert.equal(st.uid, 1000);
      assert.equal(st.gid, 0); // BSD: a new file takes its directory's group
      await assert.rejects(u.chown('/mine', 0, 0), { code: 'EPERM', syscall: 'chown', path: '/mine' });
      await assert.rejects(u.mkdir('/mine/x'), { code: 'ENOTDIR' });
    } finally {
      await u.unmount();
    }
    const root = await ukfsOpenMemory({ options: { mode: 0o755 } });
    try {
      await root.writeFile('/secret', 'x', { mode: 0o600 });
      // a second process with other credentials in the same kernel
      const l = root.kernel.newProc({ uid: 1000, gid: 1000 });
      await assert.rejects(root.kernel.sys.open(l, '/ukfs/secret', O_RDWR, 0), { code: 'EACCES' });
      await assert.rejects(root.kernel.sys.open(l, '/ukfs/new', O_CREAT | O_RDWR, 0o644), { code: 'EACCES' });
    } finally {
      await root.unmount();
    }
  });

  it('refuses writes on a read-only mount with EROFS and still reads', async () => {
    const u = await ukfsOpenMemory({ readonly: true });
    try {
      assert.equal(u.readonly, true);
      assert.deepEqual(await u.readdir('/'), []);
      await assert.rejects(u.writeFile('/x', 'y'), { code: 'EROFS', syscall: 'open', path: '/x' });
      await assert.rejects(u.mkdir('/d'), { code: 'EROFS', syscall: 'mkdir' });
      assert.ok((await u.statvfs()).flag & 1, 'MNT_RDONLY in statvfs flags');
    } finally {
      await u.unmount();
    }
  });

  it('keeps the kernel explanation in a non-enumerable detail', async () => {
    const u = await ukfsOpenMemory({ options: { size: 8192, nodes: 4 } });
    try {
      const e = await u.writeFile('/big', Buffer.alloc(64 * 1024)).catch((x: unknown) => x) as { code: string; detail?: string };
      assert.equal(e.code, 'ENOSPC');
      assert.equal(typeof e.detail, 'string');
      assert.ok(!Object.keys(e).includes('detail'));
    } finally {
      await u.unmount();
    }
  });

  it('rejects bad arguments with Node TypeErrors and RangeErrors', async () => {
    const u = await ukfsOpenMemory();
    try {
      await assert.rejects(u.readFile(42 as unknown as string), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      await assert.rejects(u.readFile('/a\u0000b'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
      await assert.rejects(u.open('/x', 'rw'), { code: 'ERR_INVALID_ARG_VALUE' });
      await assert.rejects(u.chmod('/x', 'rwx'), { code: 'ERR_INVALID_ARG_VALUE' });
      await assert.rejects(u.copyFile('/a', '/b', 9), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      await u.writeFile('/f', 'abc');
      const fh = await u.open('/f');
      await assert.rejects(fh.read(Buffer.alloc(2), 1, 5, 0), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      await fh.close();
      // file: URLs and Buffers are paths too
      assert.equal(await u.readFile(new URL('file:///f'), 'utf8'), 'abc');
      assert.equal(await u.readFile(Buffer.from('/f'), 'utf8'), 'abc');
    } finally {
      await u.unmount();
    }
  });

  it('streams a file in and out through node:stream', async () => {
    const u = await ukfsOpenMemory();
    try {
      const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
      await pipeline(Readable.from(chunks), u.createWriteStream('/s'));
      assert.equal((await u.stat('/s')).size, 500_000);
      const got: Buffer[] = [];
      await pipeline(u.createReadStream('/s', { highWaterMark: 7000 }), new Writable({
        write(c: Buffer, _e, cb) { got.push(c); cb(); },
      }));
      assert.ok(Buffer.concat(got).equals(Buffer.concat(chunks)));
      // an inclusive byte range
      const part: Buffer[] = [];
      for await (const c of u.createReadStream('/s', { start: 9_998, end: 10_001 })) part.push(c as Buffer);
      assert.deepEqual([...Buffer.concat(part)], [0, 0, 1, 1]);
      await assert.rejects(pipeline(u.createReadStream('/nope'), new Writable({ write(_c, _e, cb) { cb(); } })), { code: 'ENOENT', syscall: 'open' });
      // a web stream from a handle
      const fh = await u.open('/s');
      let n = 0;
      for await (const c of fh.readableWebStream()) n += c.length;
      await fh.close();
      assert.equal(n, 500_000);
    } finally {
      await u.unmount();
    }
  });

  it('closes open handles at unmount, is idempotent, and fails calls afterwards', async () => {
    const u = await ukfsOpenMemory();
    await u.writeFile('/f', 'x');
    const fh = await u.open('/f');
    assert.ok(fh instanceof UkfsFileHandle);
    await u.unmount();
    await u.unmount();
    assert.equal(fh.fd, -1);
    assert.equal(u.kernel.halted, true);
    await assert.rejects(u.readFile('/f'), (e: { code?: string; syscall?: string }) => e.code === 'ENXIO' && e.syscall === 'open');
  });

  it('runs many operations concurrently on one mount', async () => {
    const u = await ukfsOpenMemory();
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => u.writeFile(`/f${i}`, String(i))));
      const back = await Promise.all(Array.from({ length: 100 }, (_, i) => u.readFile(`/f${i}`, 'utf8')));
      assert.deepEqual(back, Array.from({ length: 100 }, (_, i) => String(i)));
      assert.equal((await u.readdir('/')).length, 100);
    } finally {
      await u.unmount();
    }
  });

  it('gives raw kernel access through kernel and lwp', async () => {
    const u = await ukfsOpenMemory({ host: memoryHost() });
    try {
      const fd = await u.kernel.sys.open(u.lwp, '/raw', O_CREAT | O_RDWR, 0o644);
      await u.kernel.sys.write(u.lwp, fd, new TextEncoder().encode('raw'));
      await u.kernel.sys.close(u.lwp, fd);
      assert.equal(await u.readFile('/raw', 'utf8'), 'raw');
      assert.equal(await u.kernel.sys.getcwd(u.lwp), '/');
    } finally {
      await u.unmount();
    }
  });

  it('refuses to mount a memory file system with an image, and an image without a type it knows', async () => {
    await assert.rejects(import('../src/ukfs/index.js').then((m) => m.ukfsMount({ fstype: 'tmpfs', image: '/etc/hostname', host: memoryHost() })),
      { code: 'EINVAL', syscall: 'mount' });
    await assert.rejects(import('../src/ukfs/index.js').then((m) => m.ukfsMount({ fstype: 'nosuchfs', image: '/x', host: memoryHost() })),
      (e: { code?: string; detail?: string }) => e.code === 'ENODEV' && /unknown file system type 'nosuchfs'/.test(e.detail ?? ''));
  });
});

describe('the ukfs benchmark', () => {
  it('runs in quick mode and reports every figure beside node:fs/promises', async () => {
    const { run, name } = await import('../bench/ukfs.js');
    assert.equal(name, 'ukfs');
    const figures = await run({ quick: true, note: () => undefined });
    const metrics = figures.map((f) => f.metric);
    for (const m of ['readFile 4 KiB', 'writeFile 4 KiB', 'readFile 1 MiB', 'stat', 'readdir 100 entries']) assert.ok(metrics.includes(m), `no ${m} figure`);
    for (const f of figures) {
      assert.ok(Number.isFinite(f.ours) && f.ours > 0, `${f.metric}: ours ${f.ours}`);
      assert.ok(f.peer !== null && Number.isFinite(f.peer) && f.peer > 0, `${f.metric}: peer ${String(f.peer)}`);
    }
  });
});
