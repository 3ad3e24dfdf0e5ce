/**
 * Helpers for the server tests: a kernel served on a unix socket in a temporary directory, and
 * a raw protocol speaker for feeding the server frames (good and hostile) by hand.
 */

import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kernel } from '../src/kern/kernel.js';
import type { Lwp } from '../src/kern/proc.js';
import { vfs } from '../src/vfs/index.js';
import { tmpfs } from '../src/fs/tmpfs/index.js';
import { memoryHost } from '../src/rumpuser/memory/index.js';
import { serve, type RumpServer, type ServerOptions } from '../src/server/index.js';
import {
  BannerReader, CLASS_REQ, FrameDecoder, HANDSHAKE_GUEST, PROTOCOL_VERSION, TYPE_HANDSHAKE, encodeFrame, type Frame,
} from '../src/client/wire/index.js';

export interface Setup {
  k: Kernel;
  l: Lwp;
  server: RumpServer;
  dir: string;
  sockPath: string;
  url: string;
  cleanup(): Promise<void>;
}

/** A kernel with a tmpfs on /tmp (mode 1777), served on unix://DIR/sock (or tcp with `tcp`). */
export async function setup(opts: ServerOptions & { tcp?: boolean } = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'rumpsrv-'));
  const k = await Kernel.boot({ host: memoryHost(), components: [vfs, tmpfs] });
  const l = k.initLwp;
  await k.sys.mkdir(l, '/tmp', 0o755);
  await k.sys.mount(l, 'tmpfs', '/tmp', 0, { mode: 0o1777 });
  const sockPath = join(dir, 'sock');
  const { tcp, ...so } = opts;
  const server = await serve(k, tcp === true ? 'tcp://127.0.0.1:0' : `unix://${sockPath}`, so);
  return {
    k, l, server, dir, sockPath, url: server.url,
    async cleanup() {
      await server.close();
      if (!k.halted) await k.halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

/** Wait until `cond` holds (polling), failing with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A hand-driven protocol speaker. */
export class Raw {
  readonly frames: Frame[] = [];
  banner: string | null = null;
  closed = false;
  private readonly banr = new BannerReader();
  private readonly dec = new FrameDecoder(1 << 30);
  private wake: (() => void) | null = null;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => {
      let chunk: Uint8Array = c;
      if (this.banner === null) {
        const r = this.banr.push(chunk);
        if (r === null) return;
        this.banner = r.line;
        chunk = r.rest;
      }
      this.dec.push(chunk);
      for (let f = this.dec.next(); f !== null; f = this.dec.next()) this.frames.push(f);
      this.poke();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => { this.closed = true; this.poke(); });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  static connect(path: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path });
      s.once('error', reject);
      s.once('connect', () => { s.off('error', reject); resolve(new Raw(s)); });
    });
  }

  send(b: Uint8Array): void {
    this.sock.write(b);
  }

  /** Wait until `cond` holds, woken by arriving data or the close. */
  async until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  async nextFrame(what = 'a frame'): Promise<Frame> {
    await this.until(() => this.frames.length > 0 || this.closed, what);
    const f = this.frames.shift();
    if (f === undefined) throw new Error(`connection closed while waiting for ${what}`);
    return f;
  }

  async handshake(body: Record<string, unknown> = { version: PROTOCOL_VERSION }): Promise<Frame> {
    this.send(encodeFrame(0, CLASS_REQ, TYPE_HANDSHAKE, HANDSHAKE_GUEST, new TextEncoder().encode(JSON.stringify(body))));
    return this.nextFrame('the handshake response');
  }

  waitClosed(ms = 3000): Promise<void> {
    return this.until(() => this.closed, 'the server to close the connection', ms);
  }

  destroy(): void {
    this.sock.destroy();
  }
}
