#!/usr/bin/env node
/**
 * rumpkernel: the main job (`npm start`, or the `rumpkernel` bin).
 *
 * Until the remote server (rump_server) exists this is a tour with embedded defaults: it boots a
 * kernel on the Node host with the vfs and tmpfs components, reads facts from uname and sysctl,
 * mounts a tmpfs, works with files and directories through the syscall API, shows a permission
 * check denying an unprivileged process, and halts. Every step checks its own result, so the tour
 * doubles as an end-to-end smoke test: exit 0 when every step did what it should, 1 with the
 * failing step named otherwise.
 */

import { readFileSync } from 'node:fs';
import { Kernel } from '../kern/kernel.js';
import { isKernelError } from '../kern/errno.js';
import type { Lwp } from '../kern/proc.js';
import {
  DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, DT_WHT,
  O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_WRONLY, O_EXCL, S_ISDIR, S_ISLNK, S_ISREG, S_IFMT,
} from '../kern/types.js';
import { nodeHost } from '../rumpuser/node/index.js';
import { vfs } from '../vfs/index.js';
import { tmpfs } from '../fs/tmpfs/index.js';

const USAGE = `usage: rumpkernel [-v] [-h]

Boots a rump kernel (components vfs, tmpfs) on the Node host and takes it through a tour
of its system calls: uname and sysctl, a tmpfs mount, files, directories, renames, symlinks,
a permission check, statvfs, and a clean halt. Exits 0 when every step behaved as it should.

  -v, --verbose   kernel console messages (RUMP_VERBOSE) on stderr
  -h, --help      this text`;

const enc = new TextEncoder();
const dec = new TextDecoder();

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '?';
  } catch {
    return '?';
  }
}

function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function dtName(t: number): string {
  switch (t) {
    case DT_DIR: return 'dir';
    case DT_REG: return 'file';
    case DT_LNK: return 'symlink';
    case DT_FIFO: return 'fifo';
    case DT_CHR: return 'chr';
    case DT_BLK: return 'blk';
    case DT_SOCK: return 'socket';
    case DT_WHT: return 'whiteout';
    default: return '?';
  }
}

function modeString(mode: number): string {
  const kind = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : S_ISREG(mode) ? '-' : '?';
  const bits = 'rwxrwxrwx';
  let s = kind;
  for (let i = 0; i < 9; i++) s += (mode & (0o400 >> i)) !== 0 ? bits[i] : '-';
  return s;
}

class StepFailed extends Error {
  constructor(readonly step: string, readonly why: string) {
    super(`${step}: ${why}`);
  }
}

function check(cond: boolean, step: string, why: string): asserts cond {
  if (!cond) throw new StepFailed(step, why);
}

/** Runs a step, printing "ok" and its detail, or rethrowing with the step named. */
async function step(title: string, fn: () => Promise<string | void>): Promise<void> {
  try {
    const detail = await fn();
    console.log(`  ok  ${title}${detail !== undefined && detail !== '' ? `  ->  ${detail}` : ''}`);
  } catch (e) {
    if (e instanceof StepFailed) throw e;
    throw new StepFailed(title, e instanceof Error ? e.message : String(e));
  }
}

/** Expect a syscall to fail with `code`; return the error message. */
async function expectErrno(title: string, code: string, fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (isKernelError(e) && e.code === code) return e.message;
    throw new StepFailed(title, `expected ${code}, got ${e instanceof Error ? e.message : String(e)}`);
  }
  throw new StepFailed(title, `expected ${code}, but the call succeeded`);
}

async function writeFile(k: Kernel, l: Lwp, path: string, text: string, mode = 0o644): Promise<number> {
  const fd = await k.sys.open(l, path, O_CREAT | O_WRONLY | O_EXCL, mode);
  try {
    return await k.sys.write(l, fd, enc.encode(text));
  } finally {
    await k.sys.close(l, fd);
  }
}

async function readFile(k: Kernel, l: Lwp, path: string): Promise<string> {
  const fd = await k.sys.open(l, path, O_RDONLY, 0);
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(4096);
      const n = await k.sys.read(l, fd, buf);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    return chunks.map((c) => dec.decode(c, { stream: true })).join('') + dec.decode();
  } finally {
    await k.sys.close(l, fd);
  }
}

async function listDir(k: Kernel, l: Lwp, path: string): Promise<{ name: string; type: number }[]> {
  const fd = await k.sys.open(l, path, O_RDONLY | O_DIRECTORY, 0);
  try {
    const out: { name: string; type: number }[] = [];
    for (;;) {
      const ents = await k.sys.getdents(l, fd, 4096);
      if (ents.length === 0) break;
      for (const d of ents) out.push({ name: d.name, type: d.type });
    }
    return out;
  } finally {
    await k.sys.close(l, fd);
  }
}

async function tour(verbose: boolean): Promise<void> {
  const started = process.hrtime.bigint();
  console.log(`rumpkernel ${version()}: a NetBSD rump kernel in TypeScript, on Node ${process.version}`);
  console.log('(tour mode: the remote server is not built yet; this boots a kernel and exercises its syscalls)\n');

  console.log('boot');
  const params: Record<string, string> = verbose ? { RUMP_VERBOSE: '1' } : {};
  const t0 = process.hrtime.bigint();
  const k = await Kernel.boot({ host: nodeHost({ params }), components: [vfs, tmpfs] });
  const bootMs = msSince(t0);
  console.log(`  ok  booted on host '${k.host.name}' with components [${k.components.map((c) => c.name).join(', ')}] in ${bootMs.toFixed(2)} ms`);

  let halted = false;
  try {
    const l = k.initLwp;
    const sysctl = async (name: string): Promise<string> => String(await k.sys.__sysctl(l, name, null));

    console.log('\nidentity');
    await step('uname', async () => {
      const u = k.uname();
      check(u.sysname === 'NetBSD', 'uname', `sysname is '${u.sysname}'`);
      return `${u.sysname} ${u.nodename} ${u.release} ${u.version} ${u.machine}`;
    });
    for (const name of ['kern.ostype', 'kern.osrelease', 'hw.ncpu', 'kern.hostname']) {
      await step(`sysctl ${name}`, async () => sysctl(name));
    }
    await step('getpid / getuid of init', async () => {
      const pid = await k.sys.getpid(l);
      const uid = await k.sys.getuid(l);
      check(pid === 1 && uid === 0, 'getpid', `init is pid ${pid} uid ${uid}, expected pid 1 uid 0`);
      return `pid ${pid}, uid ${uid}`;
    });

    console.log('\nfile system');
    await step('mkdir /tmp', async () => {
      try {
        await k.sys.mkdir(l, '/tmp', 0o755);
        return 'created on the rumpfs root';
      } catch (e) {
        if (isKernelError(e, 'EEXIST')) return 'already on the rumpfs root';
        throw e;
      }
    });
    await step('mount tmpfs (size 64m) on /tmp', async () => {
      await k.sys.mount(l, 'tmpfs', '/tmp', 0, { size: '64m' });
      const v = await k.sys.statvfs(l, '/tmp');
      check(v.fstypename === 'tmpfs', 'mount', `/tmp is '${v.fstypename}', expected tmpfs`);
      return `${v.fstypename} on ${v.mntonname}`;
    });
    await step('mkdir /tmp/home/user (and parent)', async () => {
      await k.sys.mkdir(l, '/tmp/home', 0o755);
      await k.sys.mkdir(l, '/tmp/home/user', 0o755);
      const st = await k.sys.stat(l, '/tmp/home/user');
      check(S_ISDIR(st.mode), 'mkdir', 'not a directory after mkdir');
      return modeString(st.mode);
    });
    const greeting = 'Hello from a rump kernel written in TypeScript.\n';
    await step('write /tmp/home/user/hello.txt', async () => `${await writeFile(k, l, '/tmp/home/user/hello.txt', greeting)} bytes`);
    await step('read it back', async () => {
      const text = await readFile(k, l, '/tmp/home/user/hello.txt');
      check(text === greeting, 'read', `read back ${JSON.stringify(text)}`);
      return JSON.stringify(text.trim());
    });
    await step('write /tmp/home/user/notes.txt', async () => `${await writeFile(k, l, '/tmp/home/user/notes.txt', 'one\ntwo\nthree\n')} bytes`);
    await step('pwrite and pread in the middle of a file', async () => {
      const fd = await k.sys.open(l, '/tmp/home/user/notes.txt', O_RDWR, 0);
      try {
        await k.sys.pwrite(l, fd, enc.encode('TWO'), 4);
        const buf = new Uint8Array(3);
        const n = await k.sys.pread(l, fd, buf, 4);
        check(n === 3 && dec.decode(buf) === 'TWO', 'pread', `read ${JSON.stringify(dec.decode(buf.subarray(0, n)))}`);
        return '"TWO" at offset 4';
      } finally {
        await k.sys.close(l, fd);
      }
    });
    await step('stat /tmp/home/user/hello.txt', async () => {
      const st = await k.sys.stat(l, '/tmp/home/user/hello.txt');
      check(S_ISREG(st.mode) && st.size === enc.encode(greeting).length, 'stat', `mode 0${(st.mode & S_IFMT).toString(8)} size ${st.size}`);
      return `${modeString(st.mode)} ino ${st.ino} nlink ${st.nlink} uid ${st.uid} size ${st.size}`;
    });
    await step('rename notes.txt -> todo.txt', async () => {
      await k.sys.rename(l, '/tmp/home/user/notes.txt', '/tmp/home/user/todo.txt');
      await expectErrno('rename', 'ENOENT', () => k.sys.stat(l, '/tmp/home/user/notes.txt'));
      const text = await readFile(k, l, '/tmp/home/user/todo.txt');
      check(text === 'one\nTWO\nthree\n', 'rename', `todo.txt holds ${JSON.stringify(text)}`);
      return 'old name gone, contents kept';
    });
    await step('symlink /tmp/hello -> home/user/hello.txt', async () => {
      await k.sys.symlink(l, 'home/user/hello.txt', '/tmp/hello');
      const target = await k.sys.readlink(l, '/tmp/hello');
      const lst = await k.sys.lstat(l, '/tmp/hello');
      const text = await readFile(k, l, '/tmp/hello');
      check(target === 'home/user/hello.txt' && S_ISLNK(lst.mode) && text === greeting, 'symlink', `readlink '${target}'`);
      return `readlink '${target}', read through it ok`;
    });
    await step('getdents /tmp/home/user', async () => {
      const ents = (await listDir(k, l, '/tmp/home/user')).filter((e) => e.name !== '.' && e.name !== '..');
      const names = ents.map((e) => e.name).sort();
      check(names.join(',') === 'hello.txt,todo.txt', 'getdents', `listed ${names.join(', ')}`);
      return ents.map((e) => `${e.name} (${dtName(e.type)})`).join(', ');
    });
    await step('getdents /tmp', async () => {
      const ents = (await listDir(k, l, '/tmp')).filter((e) => e.name !== '.' && e.name !== '..');
      return ents.map((e) => `${e.name} (${dtName(e.type)})`).join(', ');
    });

    console.log('\ncredentials');
    await step('root creates /tmp/home/secret.txt (0600) and directory /tmp/private (0700)', async () => {
      await writeFile(k, l, '/tmp/home/secret.txt', 'root only\n', 0o600);
      await k.sys.mkdir(l, '/tmp/private', 0o700);
    });
    await step('chown /tmp/home/user to uid 1000', async () => {
      await k.sys.chown(l, '/tmp/home/user', 1000, 1000);
      const st = await k.sys.stat(l, '/tmp/home/user');
      check(st.uid === 1000 && st.gid === 1000, 'chown', `owner is ${st.uid}:${st.gid}`);
      return `owner ${st.uid}:${st.gid}`;
    });
    const user = k.newProc({ uid: 1000, gid: 1000, comm: 'user' });
    await step(`new process pid ${user.proc.pid} as uid 1000`, async () => {
      const uid = await k.sys.getuid(user);
      check(uid === 1000, 'newProc', `getuid says ${uid}`);
      return `getuid ${uid}`;
    });
    await step('uid 1000 reads a world-readable file', async () => {
      const text = await readFile(k, user, '/tmp/home/user/hello.txt');
      check(text === greeting, 'read', 'wrong contents');
    });
    await step('uid 1000 writes in its own directory', async () => `${await writeFile(k, user, '/tmp/home/user/mine.txt', 'mine\n')} bytes`);
    await step('uid 1000 is denied reading /tmp/home/secret.txt', async () =>
      expectErrno('open', 'EACCES', () => k.sys.open(user, '/tmp/home/secret.txt', O_RDONLY, 0)));
    await step('uid 1000 is denied creating in root\'s /tmp/private', async () =>
      expectErrno('mkdir', 'EACCES', () => k.sys.mkdir(user, '/tmp/private/x', 0o755)));
    await step('uid 1000 may not chown', async () =>
      expectErrno('chown', 'EPERM', () => k.sys.chown(user, '/tmp/home/user/mine.txt', 0, 0)));
    await k.procExit(user.proc);

    console.log('\nstatus');
    await step('statvfs /tmp', async () => {
      const v = await k.sys.statvfs(l, '/tmp');
      return `${v.fstypename}: bsize ${v.bsize}, blocks ${v.blocks} (free ${v.bfree}), files ${v.files} (free ${v.ffree})`;
    });
    await step('kernel memory', async () => `vm.kmem.used ${await sysctl('vm.kmem.used')} bytes, kern.nfiles ${await sysctl('kern.nfiles')}`);

    console.log('\nhalt');
    const th = process.hrtime.bigint();
    await k.halt();
    halted = true;
    check(k.halted, 'halt', 'kernel not marked halted');
    console.log(`  ok  halted cleanly in ${msSince(th).toFixed(2)} ms`);
  } finally {
    if (!halted) await k.halt().catch(() => undefined);
  }

  console.log(`\nsummary: all steps passed; boot ${bootMs.toFixed(2)} ms, whole tour ${msSince(started).toFixed(1)} ms`);
}

async function main(argv: readonly string[]): Promise<number> {
  let verbose = false;
  for (const a of argv) {
    if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    }
    if (a === '-v' || a === '--verbose') verbose = true;
    else {
      console.error(`rumpkernel: unknown argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  try {
    await tour(verbose);
    return 0;
  } catch (e) {
    if (e instanceof StepFailed) console.error(`\nrumpkernel: FAILED at step '${e.step}': ${e.why}`);
    else console.error(`\nrumpkernel: FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  console.error(`rumpkernel: ${String(e)}`);
  process.exitCode = 1;
});
