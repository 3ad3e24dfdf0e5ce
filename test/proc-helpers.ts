/**
 * Helpers for tests that run the programs as a user does: rump_server in a child process (on a
 * unix socket in a temporary directory) and the rump.* tools or a Node script against it.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const binPath = (name: string): string => fileURLToPath(new URL(`../src/bin/${name}.js`, import.meta.url));

export interface ServerProc {
  proc: ChildProcess;
  url: string;
  dir: string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** SIGTERM, wait for the exit, remove the directory. */
  stop(): Promise<void>;
}

/** rump_server ARGS unix://TMPDIR/sock, resolved once it says it is listening. */
export function startServer(args: string[]): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'rumptest-'));
  const proc = spawn(process.execPath, [binPath('rump_server'), ...args, `unix://${join(dir, 'sock')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m !== null) {
        resolve({
          proc, url: m[1]!, dir, stderr: () => err, exited,
          async stop() {
            if (proc.exitCode === null) proc.kill('SIGTERM');
            await exited;
            rmSync(dir, { recursive: true, force: true });
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`rump_server exited with ${String(code)} before listening: ${err}`)));
  });
}

export interface RunResult { code: number; stdout: string; stderr: string }

/** Run `node ARGS` with extra environment and optional standard input; never rejects. */
export function runNode(args: string[], env: Record<string, string | undefined>, input?: string | Uint8Array, timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); stderr += '\n[killed: timeout]'; }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

/** Run the tool dist/src/bin/NAME.js. */
export function runTool(name: string, args: string[], env: Record<string, string | undefined>, input?: string | Uint8Array): Promise<RunResult> {
  return runNode([binPath(name), ...args], env, input);
}
