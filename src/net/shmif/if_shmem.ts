/**
 * shmif, the kernel half (NetBSD's if_shmem.c): an Ethernet interface whose wire is a shared bus
 * (shmif_bus.ts) that the host maps for it (rumpuser/shmif.ts). Kernels in one process or in
 * many attach to the same bus; there is no hub: every writer appends to the ring under the bus
 * lock, every reader follows it.
 *
 * Transmit queues the frame and, from a softint (or at once when 64 are queued), writes every
 * queued frame under one lock hold, then wakes the readers; 512 frames queued behind a busy lock
 * is the limit (ENOBUFS beyond). Receive runs when the host says the bus changed: under the lock it
 * reads everything new (bounded per round), then hands the frames to the interface. Frames this
 * interface wrote (same sender id) are skipped; an overrun (the writers lapped us while we were
 * not reading) is counted with the frames lost. A contended lock is retried after 1 ms (NetBSD
 * sleeps 1 ms after a burst of failed CAS too). A corrupt bus is counted and resynchronised to
 * its newest frame, never followed out of range.
 *
 *   const ifp = shmifCreate(k, '/tmp/bus1');   // shmif0, random b2:a0:xx:xx:xx:xx MAC
 *   inConfigure(inetOf(k), ifp.name, '10.1.0.1/24');
 */

import { errnoFromName, errnoName, KernelError } from '../../kern/errno.js';
import type { Kernel } from '../../kern/kernel.js';
import { Clock, HostError } from '../../rumpuser/rumpuser.js';
import type { ShmifBusMapping } from '../../rumpuser/shmif.js';
import { ifnetOf, LINK_STATE_DOWN, type IfCloner, type Ifnet, type Interfaces } from '../if.js';
import { etherIfattach, etherOf, type EtherDriver, type EtherPort } from '../if_ether.js';
import type { Mbuf } from '../mbuf.js';
import { ETHERMTU, ETHER_HDR_LEN, type MacAddr } from '../wire/ethernet.js';
import {
  BUSMEM_SIZE, busReadFrame, busReset, busWriteFrame, checkHeader, initHeader, newReader, readHeader, ShmifBusError, SHMIF_MAGIC,
  type ShmifReader,
} from './shmif_bus.js';

/** The errno a host failure means, the host's message kept as the detail. */
function hostError(e: unknown, what: string): KernelError {
  if (e instanceof KernelError) return e;
  if (e instanceof HostError) return new KernelError(errnoName(errnoFromName(e.code)) ?? 'EIO', `${what}: ${e.message}`);
  return new KernelError('EIO', `${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/** Frames waiting for the bus; beyond this transmit drops (ENOBUFS to the sender). */
export const SHMIF_TXQ_MAX = 512;
/** Frames queued before transmit writes them itself instead of waiting for the softint. */
const SHMIF_TX_BATCH = 64;
/** Frames read per receive round before yielding. */
const RX_BUDGET = 1024;

export interface ShmifStats {
  txFrames: number;
  rxFrames: number;
  /** Frames dropped because the transmit queue was full or there is no bus. */
  txDrops: number;
  /** Frames we wrote, seen again (skipped). */
  ownFrames: number;
  /** Times the writers lapped this reader. */
  overruns: number;
  /** Frames lost to overruns (as counted by writers that count: see shmif_bus.ts). */
  lostFrames: number;
  /** Frames shorter than an Ethernet header (the empty pseudo frame of a new bus) skipped. */
  runts: number;
  /** Bus corruption found (resynchronised). */
  busErrors: number;
  /** Lock attempts that found the bus locked. */
  lockBusy: number;
}

export interface ShmifOptions {
  /** Bus size for a bus created now (default 1 MiB, BUSMEM_SIZE; NetBSD's tools need that). */
  size?: number;
  /** Interface name (default shmifN, the first free unit). */
  name?: string;
  mtu?: number;
}

export class ShmifDriver implements EtherDriver {
  readonly ifname = 'shmif';
  readonly mtu: number;
  readonly stats: ShmifStats = { txFrames: 0, rxFrames: 0, txDrops: 0, ownFrames: 0, overruns: 0, lostFrames: 0, runts: 0, busErrors: 0, lockBusy: 0 };
  port: EtherPort | null = null;
  bus: ShmifBusMapping | null = null;
  /** linkstr: the bus path. */
  busPath: string | null = null;
  private reader: ShmifReader | null = null;
  private cancelWatch: (() => void) | null = null;
  private txq: Uint8Array[][] = [];
  private txScheduled = false;
  private rxScheduled = false;
  private running = false;
  private dead = false;
  private busyRounds = 0;

  constructor(private readonly k: Kernel, readonly mac: MacAddr, readonly sender: bigint, mtu = ETHERMTU) {
    this.mtu = mtu;
  }

  attach(port: EtherPort): void {
    this.port = port;
  }

  /** Map the bus at `path` (SIOCSLINKSTR): EBUSY while up or already on a bus. */
  setBus(path: string, size = BUSMEM_SIZE): void {
    if (this.running) throw new KernelError('EBUSY', 'shmif: the interface is up; take it down before changing its bus');
    if (this.bus !== null) throw new KernelError('EBUSY', `shmif: already on bus '${this.busPath ?? ''}'`);
    if (typeof path !== 'string' || path === '') throw new KernelError('EINVAL', 'shmif: bus path must be a non-empty string');
    const host = this.k.host.shmif;
    if (host === undefined) throw new KernelError('EOPNOTSUPP', `host '${this.k.host.name}' has no shmif support (rumpuser shmif)`);
    let bus: ShmifBusMapping;
    try {
      bus = host.open(path, size);
    } catch (e) {
      throw hostError(e, `shmif: opening bus '${path}'`);
    }
    try {
      if (!this.lockSpin(bus)) throw new KernelError('EBUSY', `shmif: bus '${path}' stays locked`);
      try {
        let h = readHeader(bus);
        if (h.magic === 0) h = initHeader(bus);
        if (h.magic !== SHMIF_MAGIC) throw new KernelError('ENOEXEC', `shmif: '${path}' is not a shmif bus (magic 0x${h.magic.toString(16)})`);
        checkHeader(h, bus.size);
      } finally {
        bus.unlock();
      }
    } catch (e) {
      bus.close();
      if (e instanceof ShmifBusError) throw new KernelError('ENOEXEC', `shmif: bus '${path}': ${e.message}`);
      if (e instanceof HostError) throw hostError(e, `shmif: bus '${path}'`);
      throw e;
    }
    this.bus = bus;
    this.busPath = path;
    this.port?.setLinkState(true);
  }

  /** Leave the bus (IFLINKSTR_UNSET). */
  unsetBus(): void {
    if (this.running) throw new KernelError('EBUSY', 'shmif: the interface is up');
    this.closeBus();
  }

  private closeBus(): void {
    this.cancelWatch?.();
    this.cancelWatch = null;
    this.bus?.close();
    this.bus = null;
    this.busPath = null;
    this.reader = null;
    this.port?.setLinkState(false);
  }

  /**
   * The bus is locked by another kernel (holds last microseconds): try again from the next
   * host turn, and after a run of failures every millisecond (a slow or stuck holder).
   */
  private retry(fn: () => void): void {
    if (++this.busyRounds < 16) this.k.callouts.softint(fn);
    else this.k.callouts.after(1, fn);
  }

  /** A few immediate tries (setup paths, which cannot wait). */
  private lockSpin(bus: ShmifBusMapping): boolean {
    for (let i = 0; i < 100_000; i++) if (bus.tryLock()) return true;
    return false;
  }

  transmit(frame: Mbuf): boolean {
    if (this.bus === null || this.dead || this.txq.length >= SHMIF_TXQ_MAX) {
      this.stats.txDrops++;
      return false;
    }
    const pieces: Uint8Array[] = [];
    frame.forEachSegment((buf, off, len) => { pieces.push(buf.subarray(off, off + len)); });
    this.txq.push(pieces);
    // a burst is written in batches under one lock hold; a flood that never yields to the
    // softint is written from here once a batch is full
    if (this.txq.length >= SHMIF_TX_BATCH) this.flush();
    else if (!this.txScheduled) {
      this.txScheduled = true;
      this.k.callouts.softint(() => { this.txScheduled = false; this.flush(); });
    }
    return true;
  }

  /** shmif_start: everything queued onto the bus under one lock hold, then wake the readers. */
  private flush(): void {
    const bus = this.bus;
    if (bus === null || this.dead || this.txq.length === 0) { this.txq = []; return; }
    if (!bus.tryLock()) {
      this.stats.lockBusy++;
      if (!this.txScheduled) {
        this.txScheduled = true;
        this.retry(() => { this.txScheduled = false; this.flush(); });
      }
      return;
    }
    this.busyRounds = 0;
    const ms = this.k.host.clockMs(Clock.REALTIME);
    const sec = Math.floor(ms / 1000);
    const usec = Math.floor((ms - sec * 1000) * 1000);
    const q = this.txq;
    this.txq = [];
    try {
      const h = readHeader(bus);
      for (const pieces of q) {
        try {
          checkHeader(h, bus.size);
          busWriteFrame(bus, h, pieces, sec, usec, this.sender);
        } catch (e) {
          if (!(e instanceof ShmifBusError)) throw e;
          // a corrupt ring: count it, start the ring over (readers resynchronise), write again
          this.busFault(e);
          busReset(bus, h);
          busWriteFrame(bus, h, pieces, sec, usec, this.sender);
        }
        this.stats.txFrames++;
      }
    } catch (e) {
      this.busFault(e);
    } finally {
      bus.unlock();
    }
    bus.wakeup();
  }

  init(up: boolean): void {
    this.running = up;
    const bus = this.bus;
    if (!up) {
      this.cancelWatch?.();
      this.cancelWatch = null;
      return;
    }
    if (bus === null || this.dead) return;
    // as shmif_init: start reading at the bus's newest frame
    if (this.lockSpin(bus)) {
      try {
        this.reader = newReader(bus, readHeader(bus));
      } catch (e) {
        this.busFault(e);
      } finally {
        bus.unlock();
      }
    }
    if (this.cancelWatch === null) this.cancelWatch = bus.watch(() => this.scheduleRx());
  }

  private scheduleRx(): void {
    if (this.rxScheduled || !this.running) return;
    this.rxScheduled = true;
    this.k.callouts.softint(() => this.receive());
  }

  /** shmif_rcv, one round: read what is new under the lock, then pass it up. */
  private receive(): void {
    this.rxScheduled = false;
    const bus = this.bus;
    const port = this.port;
    if (bus === null || port === null || !this.running || this.dead || this.k.halted) return;
    if (!bus.tryLock()) {
      this.stats.lockBusy++;
      this.rxScheduled = true;
      this.retry(() => this.receive());
      return;
    }
    this.busyRounds = 0;
    const got: Uint8Array[] = [];
    let more = false;
    try {
      const h = readHeader(bus);
      checkHeader(h, bus.size);
      const r = this.reader ?? (this.reader = newReader(bus, h));
      const o0 = r.overruns, l0 = r.lost;
      for (let n = 0; ; n++) {
        if (n >= RX_BUDGET) { more = true; break; }
        const f = busReadFrame(bus, h, r, this.sender);
        if (f === null) break;
        if (f.header.sender === this.sender) { this.stats.ownFrames++; continue; }
        if (f.data.length < ETHER_HDR_LEN) { if (f.data.length > 0) this.stats.runts++; continue; }
        got.push(f.data);
      }
      this.stats.overruns += r.overruns - o0;
      this.stats.lostFrames += r.lost - l0;
    } catch (e) {
      this.busFault(e);
    } finally {
      bus.unlock();
    }
    for (const data of got) {
      this.stats.rxFrames++;
      port.input(data);
    }
    if (more) this.scheduleRx();
  }

  /** A bus we cannot make sense of: count, resynchronise at its newest frame next round. */
  private busFault(e: unknown): void {
    if (e instanceof ShmifBusError) {
      this.stats.busErrors++;
      this.reader = null;
      this.k.printf(`shmif: bus '${this.busPath ?? ''}': ${e.message}\n`);
      return;
    }
    if (e instanceof HostError) {
      this.stats.busErrors++;
      this.k.printf(`shmif: bus '${this.busPath ?? ''}': ${e.message}\n`);
      return;
    }
    throw e;
  }

  detach(): void {
    this.dead = true;
    this.running = false;
    this.txq = [];
    this.closeBus();
    this.port = null;
  }
}

/** A random locally administered unicast MAC in NetBSD's shmif style: b2:a0:xx:xx:xx:xx. */
export function shmifRandomMac(k: Kernel): MacAddr {
  const b = new Uint8Array(4);
  k.host.getrandom(b);
  return 0xb2a0_0000_0000 + ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
}

function randomSender(k: Kernel): bigint {
  const b = new Uint8Array(8);
  k.host.getrandom(b);
  return new DataView(b.buffer).getBigUint64(0, true);
}

/** The shmif driver of `ifp`, or null. */
export function shmifOf(ifp: Ifnet): ShmifDriver | null {
  const d = etherOf(ifp)?.driver;
  return d instanceof ShmifDriver ? d : null;
}

function makeShmif(k: Kernel, name: string | undefined, mtu: number | undefined): Ifnet {
  const drv = new ShmifDriver(k, shmifRandomMac(k), randomSender(k), mtu);
  const ifp = etherIfattach(k, drv, name);
  ifp.setLinkState(LINK_STATE_DOWN); // until it has a bus
  return ifp;
}

/**
 * rump_shmif_create: a new shmif interface on the bus `busPath` (created if missing). The
 * interface starts down; give it an address (or SIOCSIFFLAGS IFF_UP) to start it.
 */
export function shmifCreate(k: Kernel, busPath: string, opts: ShmifOptions = {}): Ifnet {
  const ifp = makeShmif(k, opts.name, opts.mtu);
  try {
    shmifOf(ifp)!.setBus(busPath, opts.size);
  } catch (e) {
    ifp.ifs.detach(ifp);
    throw e;
  }
  ifp.cloner = ifp.ifs.cloners.get('shmif') ?? null;
  return ifp;
}

/** `ifconfig shmifN linkstr PATH` (null: unset). EBUSY while up. */
export function shmifSetLinkstr(k: Kernel, ifname: string, busPath: string | null): void {
  const drv = shmifOf(ifnetOf(k).lookup(ifname));
  if (drv === null) throw new KernelError('EINVAL', `${ifname} is not a shmif interface`);
  if (busPath === null) drv.unsetBus();
  else drv.setBus(busPath);
}


/** The `shmif` interface cloner: `ifconfig shmif0 create` makes one without a bus. */
export function shmifCloner(k: Kernel): IfCloner {
  return {
    name: 'shmif',
    create(_ifs: Interfaces, unit: number): Ifnet {
      return makeShmif(k, `shmif${unit}`, undefined);
    },
    destroy(ifs: Interfaces, ifp: Ifnet): void {
      ifs.detach(ifp);
    },
  };
}
