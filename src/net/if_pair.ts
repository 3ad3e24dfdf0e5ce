/**
 * An in-process Ethernet segment for tests and simulations: `EtherBus` joins any number of
 * kernels in one process (`etherPair` is a bus of two), each port an `EtherDriver`. A frame one
 * port transmits goes through the bus's middleware chain (as bytes) and is delivered to every
 * other port whose interface is up; each receiving kernel queues it and processes it in its own
 * softint, so a send never re-enters another kernel's input. Without middleware the packet
 * itself is handed over (zero copy; further receivers get read-only shares).
 *
 * Middleware in smoltcp's style stacks between transmit and delivery:
 *  - `faultInjector`: seeded loss, duplication, reordering and corruption at given rates;
 *  - `pcapTracer`: every frame as a pcap record (wire/pcap.ts) to a sink (a host file, memory);
 *  - `frameTap`: any function that sees every frame.
 * The first middleware of the list sees a frame first. `inject` puts a hand-made frame on the
 * segment as if a port had sent it (malformed-input tests), through the middleware too.
 *
 * Nothing here touches the host or a clock unless given one (`now`, `schedule`).
 */

import { Mbuf } from './mbuf.js';
import type { EtherDriver, EtherPort } from './if_ether.js';
import { ETHERMTU, type MacAddr } from './wire/ethernet.js';
import { PcapWriter, pcapTimeFromMs } from './wire/pcap.js';

/** Where a frame goes next. The callee owns `frame`. */
export type FrameSink = (frame: Uint8Array) => void;
/** A stage between transmit and delivery. */
export type EtherMiddleware = (next: FrameSink) => FrameSink;

export interface EtherBusOptions {
  /** Middleware, outermost (first to see a frame) first. */
  middleware?: readonly EtherMiddleware[];
  /** MAC of port n is macBase + n + 1 (default 02:00:00:00:00:00, so 02:00:00:00:00:01, ...). */
  macBase?: MacAddr;
  /** MTU the ports report (default 1500). */
  mtu?: number;
  /** Driver name of the interfaces made on the ports (default 'pair': pair0, pair1, ...). */
  ifname?: string;
}

/** One station on an EtherBus. */
export class EtherBusPort implements EtherDriver {
  readonly mtu: number;
  readonly ifname: string;
  port: EtherPort | null = null;
  /** The interface is up (IFF_UP): frames are delivered to it. */
  running = false;
  /** Frames transmitted and received through this port. */
  txFrames = 0;
  rxFrames = 0;

  constructor(private readonly bus: EtherBus, readonly mac: MacAddr, mtu: number, ifname: string) {
    this.mtu = mtu;
    this.ifname = ifname;
  }

  attach(port: EtherPort): void {
    this.port = port;
  }

  transmit(frame: Mbuf): boolean {
    this.txFrames++;
    this.bus.send(this, frame);
    return true;
  }

  init(up: boolean): void {
    this.running = up;
  }

  detach(): void {
    this.port = null;
    this.running = false;
    this.bus.remove(this);
  }

  /** Deliver a frame to this station's kernel (which owns it from then on). */
  deliver(frame: Mbuf): void {
    if (this.port === null) return;
    this.rxFrames++;
    this.port.input(frame);
  }
}

export class EtherBus {
  readonly ports: EtherBusPort[] = [];
  private readonly macBase: MacAddr;
  private readonly mtu: number;
  private readonly ifname: string;
  /** The middleware chain ending in delivery, or null without middleware (frames stay mbufs). */
  private readonly chain: FrameSink | null;
  /** The sender of the frame going through the chain (not echoed back to it). */
  private sender: EtherBusPort | null = null;
  /** Frames put on the segment (before middleware). */
  frames = 0;

  constructor(opts: EtherBusOptions = {}) {
    this.macBase = opts.macBase ?? 0x02_00_00_00_00_00;
    this.mtu = opts.mtu ?? ETHERMTU;
    this.ifname = opts.ifname ?? 'pair';
    const mws = opts.middleware ?? [];
    if (mws.length === 0) {
      this.chain = null;
    } else {
      let sink: FrameSink = (frame) => this.fanoutBytes(frame);
      for (let i = mws.length - 1; i >= 0; i--) sink = mws[i]!(sink);
      this.chain = sink;
    }
  }

  /** A new station; its driver goes to etherIfattach. */
  port(mac?: MacAddr): EtherBusPort {
    const p = new EtherBusPort(this, mac ?? this.macBase + this.ports.length + 1, this.mtu, this.ifname);
    this.ports.push(p);
    return p;
  }

  remove(p: EtherBusPort): void {
    const i = this.ports.indexOf(p);
    if (i >= 0) this.ports.splice(i, 1);
  }

  /**
   * A station transmits. Without middleware the packet itself travels (receivers beyond the
   * first get zero-copy shares of it, read-only where they overlap); with middleware it becomes
   * bytes, which the middleware may drop, hold, duplicate or alter.
   */
  send(from: EtherBusPort | null, m: Mbuf): void {
    this.frames++;
    if (this.chain === null) {
      let first: EtherBusPort | null = null;
      for (const p of this.ports) {
        if (p === from || !p.running) continue;
        if (first === null) { first = p; continue; }
        p.deliver(m.copy());
      }
      first?.deliver(m);
      return;
    }
    this.sendBytes(from, m.toBytes());
  }

  private sendBytes(from: EtherBusPort | null, frame: Uint8Array): void {
    const chain = this.chain;
    if (chain === null) {
      this.sender = from;
      this.fanoutBytes(frame);
      return;
    }
    // middleware may hold a frame and release it during a later send: the sender is only
    // known for frames passed straight through; a held frame is delivered to every station
    // but its sender, whose Ethernet input drops its own frames anyway
    this.sender = from;
    chain(frame);
    this.sender = null;
  }

  /** Put a hand-made frame on the segment (every station receives it). */
  inject(frame: Uint8Array): void {
    this.frames++;
    this.sendBytes(null, frame.slice());
  }

  private fanoutBytes(frame: Uint8Array): void {
    const from = this.sender;
    let first = true;
    for (const p of this.ports) {
      if (p === from || !p.running) continue;
      // every receiver owns its frame
      p.deliver(Mbuf.wrap(first ? frame : frame.slice()));
      first = false;
    }
  }
}

/** Two stations joined back to back: `[a, b]`. */
export function etherPair(opts: EtherBusOptions = {}): { bus: EtherBus; a: EtherBusPort; b: EtherBusPort } {
  const bus = new EtherBus(opts);
  return { bus, a: bus.port(), b: bus.port() };
}

// ---------------------------------------------------------------------------------------------
// middleware

/** Call `fn` with every frame (read only), then pass it on. */
export function frameTap(fn: (frame: Uint8Array) => void): EtherMiddleware {
  return (next) => (frame) => {
    fn(frame);
    next(frame);
  };
}

export interface FaultOptions {
  /** Probability (0..1) that a frame is dropped. */
  loss?: number;
  /** Probability that a frame is delivered twice. */
  duplicate?: number;
  /** Probability that a frame is held back and delivered after the next one. */
  reorder?: number;
  /** Probability that one random byte of a frame is flipped. */
  corrupt?: number;
  /** PRNG seed (default 1): the same seed gives the same faults. */
  seed?: number;
  /**
   * Runs `fn` soon (a host's `schedule`): a held-back frame is released then if no other frame
   * came. Without it a held frame waits for the next frame.
   */
  schedule?: (fn: () => void) => void;
}

export interface FaultStats {
  frames: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
}

/** A seeded fault injector; `stats` counts what it did. */
export function faultInjector(opts: FaultOptions): EtherMiddleware & { stats: FaultStats } {
  const stats: FaultStats = { frames: 0, dropped: 0, duplicated: 0, reordered: 0, corrupted: 0 };
  let x = (opts.seed ?? 1) >>> 0 || 1;
  const rnd = (): number => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
  const mw = (next: FrameSink): FrameSink => {
    let held: Uint8Array | null = null;
    let heldGen = 0;
    const release = (): void => {
      const h = held;
      held = null;
      if (h !== null) next(h);
    };
    return (frame) => {
      stats.frames++;
      if (opts.loss !== undefined && rnd() < opts.loss) {
        stats.dropped++;
        return;
      }
      if (opts.corrupt !== undefined && frame.length > 0 && rnd() < opts.corrupt) {
        const i = Math.floor(rnd() * frame.length);
        frame[i] = frame[i]! ^ (1 + Math.floor(rnd() * 255));
        stats.corrupted++;
      }
      const dup = opts.duplicate !== undefined && rnd() < opts.duplicate;
      if (held === null && opts.reorder !== undefined && rnd() < opts.reorder) {
        stats.reordered++;
        held = frame;
        const gen = ++heldGen;
        opts.schedule?.(() => { if (gen === heldGen) release(); });
        if (dup) { stats.duplicated++; next(frame.slice()); }
        return;
      }
      next(frame);
      if (dup) { stats.duplicated++; next(frame.slice()); }
      release();
    };
  };
  return Object.assign(mw, { stats });
}

export interface PcapTracerOptions {
  /** Receives the file header first, then one record per frame. */
  write: (bytes: Uint8Array) => void;
  /** Realtime clock in ms for timestamps (default: 0, every frame at the epoch). */
  now?: () => number;
  snaplen?: number;
}

/** Write every frame as a pcap record (LINKTYPE_ETHERNET). */
export function pcapTracer(opts: PcapTracerOptions): EtherMiddleware & { writer: PcapWriter } {
  const writer = new PcapWriter(opts.snaplen === undefined ? {} : { snaplen: opts.snaplen });
  opts.write(writer.header());
  const mw = (next: FrameSink): FrameSink => (frame) => {
    opts.write(writer.record(pcapTimeFromMs(opts.now?.() ?? 0), frame));
    next(frame);
  };
  return Object.assign(mw, { writer });
}
