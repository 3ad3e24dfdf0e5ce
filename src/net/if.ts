/**
 * Network interfaces (NetBSD's net/if.c and net/if.h): `Ifnet`, one interface — its name, index,
 * flags, MTU, link address, addresses, input queue and counters — and `Interfaces`, the per-kernel
 * list of them with the interface cloners (`lo`, later `shmif`, `virt`), the link-layer input
 * dispatch (by EtherType) and the address resolvers (ARP for IPv4 over Ethernet).
 *
 * Layering: the interface layer knows no protocol. Link layers (if_ether.ts, if_loop.ts) set an
 * interface's `output` and `linkInput`; protocols (netinet) register their input handlers in
 * `netisr`, their link-address resolvers in `resolvers`, and listen for address and state changes.
 *
 * Input is deferred (NetBSD's if_input + softint): a driver hands a received frame to
 * `Ifnet.input`, which queues it (bounded; overflow counted in iqdrops) and schedules one softint
 * that drains the queue through the link layer and the protocol's synchronous input. So a driver
 * may deliver from inside another kernel's output call without re-entering that kernel, and a
 * burst of frames is processed in one batch. Packets a kernel sends to itself (loopback,
 * broadcast copies) take the same queue, marked M_LOOP with a 4-byte protocol tag in front.
 *
 * The per-kernel `Interfaces` hangs off the socket layer as `k.net.ifnet`, created on first use
 * (`ifnetOf`), which also installs the interface ioctls (`net.ifioctl`, see if_ioctl.ts).
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import type { Lwp } from '../kern/proc.js';
import { netOf } from './domain.js';
import { ifioctl } from './if_ioctl.js';
import { M_BCAST, M_LOOP, M_MCAST, Mbuf, MbufQueue } from './mbuf.js';
import type { MacAddr } from './wire/ethernet.js';

// if_flags (net/if.h)
export const IFF_UP = 0x0001;
export const IFF_BROADCAST = 0x0002;
export const IFF_DEBUG = 0x0004;
export const IFF_LOOPBACK = 0x0008;
export const IFF_POINTOPOINT = 0x0010;
export const IFF_NOTRAILERS = 0x0020;
export const IFF_RUNNING = 0x0040;
export const IFF_NOARP = 0x0080;
export const IFF_PROMISC = 0x0100;
export const IFF_ALLMULTI = 0x0200;
export const IFF_OACTIVE = 0x0400;
export const IFF_SIMPLEX = 0x0800;
export const IFF_LINK0 = 0x1000;
export const IFF_LINK1 = 0x2000;
export const IFF_LINK2 = 0x4000;
export const IFF_MULTICAST = 0x8000;
/** Flags SIOCSIFFLAGS may change; the rest belong to the driver. */
export const IFF_CANTCHANGE = IFF_BROADCAST | IFF_POINTOPOINT | IFF_RUNNING | IFF_OACTIVE | IFF_SIMPLEX | IFF_MULTICAST | IFF_ALLMULTI | IFF_LOOPBACK;

// if_type (net/if_types.h)
export const IFT_OTHER = 0x01;
export const IFT_ETHER = 0x06;
export const IFT_LOOP = 0x18;

// link states (net/if.h)
export const LINK_STATE_UNKNOWN = 0;
export const LINK_STATE_DOWN = 1;
export const LINK_STATE_UP = 2;

export const IFNAMSIZ = 16;
/** Default bound of an interface's input queue (IFQ_MAXLEN is 256; a bus delivers in bursts). */
export const IFQ_MAXLEN_DEFAULT = 1024;

/** Per-interface counters (struct if_data), as netstat -i and SIOCGIFDATA report them. */
export interface IfStats {
  ipackets: number;
  ierrors: number;
  opackets: number;
  oerrors: number;
  collisions: number;
  ibytes: number;
  obytes: number;
  imcasts: number;
  omcasts: number;
  /** Input dropped: queue full, interface down, kernel halted. */
  iqdrops: number;
  /** Output dropped by the driver (its queue full). */
  oqdrops: number;
  /** Input for a protocol this kernel does not have. */
  noproto: number;
}

function newStats(): IfStats {
  return { ipackets: 0, ierrors: 0, opackets: 0, oerrors: 0, collisions: 0, ibytes: 0, obytes: 0, imcasts: 0, omcasts: 0, iqdrops: 0, oqdrops: 0, noproto: 0 };
}

/** An address of an interface (struct ifaddr); families add their fields (InIfaddr). */
export interface IfAddr {
  readonly family: number;
  readonly ifp: Ifnet;
}

/**
 * The next hop a protocol gives a link layer: an IPv4 address as a number (IPv6 will pass its
 * 16 bytes).
 */
export type LinkDst = number | Uint8Array;

/** Link output (if_output): `proto` is the EtherType of the payload. Returns the errno or null. */
export type IfOutput = (ifp: Ifnet, m: Mbuf, proto: number, dst: LinkDst) => KernelError | null;

/** Protocol input after the link header is gone (netisr): `m` starts at the protocol header. */
export type IfInputHandler = (ifp: Ifnet, m: Mbuf) => void;

/**
 * Link-address resolution for a protocol (ARP for IPv4): the link address for `dst`, or null
 * when `m` was queued (sent later) or dropped for a reason the resolver counted; a KernelError
 * to report to the sender (EHOSTDOWN after failed resolution, ENOBUFS). Owns `m` unless it
 * returns an address.
 */
export type LinkResolver = (ifp: Ifnet, dst: LinkDst, m: Mbuf) => MacAddr | null | KernelError;

/** Things protocols want to hear about. All optional; called synchronously. */
export interface IfListener {
  /** IFF_UP went on or off (if_up / if_down). */
  upDown?(ifp: Ifnet, up: boolean): void;
  /** The interface is going away (addresses already removed). */
  detach?(ifp: Ifnet): void;
  /** Link state changed (cable, bus). */
  linkState?(ifp: Ifnet, state: number): void;
}

/** An interface cloner (if_clone): `ifconfig lo1 create`. */
export interface IfCloner {
  readonly name: string;
  create(ifs: Interfaces, unit: number): Ifnet;
  /** EPERM for interfaces that must stay (lo0). */
  destroy(ifs: Interfaces, ifp: Ifnet): void;
}

export class Ifnet {
  /** if_index: 1.. ; assigned at attach, never reused while the kernel lives. */
  index = 0;
  flags: number;
  mtu: number;
  metric = 0;
  /** Link-level address (MAC) or null (loopback). */
  lladdr: MacAddr | null = null;
  linkState = LINK_STATE_UNKNOWN;
  /** Bytes of link header (ifi_hdrlen). */
  hdrlen = 0;
  readonly stats: IfStats = newStats();
  /** Addresses of every family, in the order added. */
  readonly addrs: IfAddr[] = [];
  /** Received frames waiting for the softint. */
  readonly inq: MbufQueue;
  /** Link output, set by the link layer. Checks IFF_UP itself. */
  output: IfOutput;
  /** Link input (ether_input): strips the link header, dispatches via `ifs.netisr`. */
  linkInput: (ifp: Ifnet, m: Mbuf) => void;
  /** Driver hooks: IFF_UP changed; detach. */
  init: ((up: boolean) => void) | null = null;
  detachHook: (() => void) | null = null;
  /** The link layer's or driver's state (if_softc): EtherIf for Ethernet interfaces. */
  softc: unknown = null;
  /** Set by the interface's cloner, if any. */
  cloner: IfCloner | null = null;
  /** Realtime ms of the last state change (ifi_lastchange). */
  lastChange: number;
  private inputPending = false;
  detached = false;

  constructor(
    readonly ifs: Interfaces,
    readonly name: string,
    /** IFT_* */
    readonly type: number,
    flags: number,
    mtu: number,
  ) {
    this.flags = flags;
    this.mtu = mtu;
    this.inq = new MbufQueue(IFQ_MAXLEN_DEFAULT);
    this.output = () => new KernelError('ENETDOWN', `${name} has no link layer`);
    this.linkInput = (ifp) => { ifp.stats.noproto++; };
    this.lastChange = ifs.kernel.now();
  }

  get kernel(): Kernel { return this.ifs.kernel; }

  get up(): boolean { return (this.flags & IFF_UP) !== 0; }

  /**
   * if_input: a driver delivers a received frame (owned by the kernel from now on). Queued for
   * the interface's softint; dropped and counted when the interface is down or the queue full.
   */
  input(m: Mbuf): void {
    const k = this.ifs.kernel;
    if (this.detached || k.halted || !this.up) {
      this.stats.iqdrops++;
      return;
    }
    m.rcvif = this.index;
    if (!this.inq.enqueue(m)) {
      this.stats.iqdrops++;
      return;
    }
    this.scheduleInput();
  }

  /**
   * A packet this kernel sends to itself (looutput, broadcast copies): queued like input, tagged
   * with its protocol (EtherType), delivered straight to the protocol. `rcvif` is this interface.
   */
  loopInput(m: Mbuf, proto: number): boolean {
    const k = this.ifs.kernel;
    if (this.detached || k.halted) {
      this.stats.iqdrops++;
      return false;
    }
    const tag = m.prepend(4);
    tag[0] = 0; tag[1] = 0; tag[2] = proto >>> 8; tag[3] = proto & 0xff;
    m.flags |= M_LOOP;
    m.rcvif = this.index;
    if (!this.inq.enqueue(m)) {
      this.stats.iqdrops++;
      return false;
    }
    this.scheduleInput();
    return true;
  }

  private scheduleInput(): void {
    if (this.inputPending) return;
    this.inputPending = true;
    this.ifs.kernel.callouts.softint(() => this.drainInput());
  }

  /** The softint: everything queued, in order, through link and protocol input. */
  private drainInput(): void {
    this.inputPending = false;
    // bound one batch so a flood cannot starve other softints; the rest gets a new softint
    let budget = this.inq.maxlen;
    for (let m = this.inq.dequeue(); m !== null; m = this.inq.dequeue()) {
      if (this.detached || this.ifs.kernel.halted) {
        this.stats.iqdrops += 1 + this.inq.drain().length;
        return;
      }
      try {
        if ((m.flags & M_LOOP) !== 0) this.dispatchLoop(m);
        else this.linkInput(this, m);
      } catch (e) {
        // a bug in input processing must not take the kernel down: count and report
        this.stats.ierrors++;
        this.ifs.kernel.printf(`${this.name}: input failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      }
      if (--budget <= 0 && this.inq.count > 0) {
        this.scheduleInput();
        return;
      }
    }
  }

  private dispatchLoop(m: Mbuf): void {
    const tag = m.pullup(4);
    if (tag === null) { this.stats.ierrors++; return; }
    const proto = (tag[2]! << 8) | tag[3]!;
    m.adj(4);
    this.ifs.dispatch(this, m, proto);
  }

  /** if_up / if_down. */
  setUp(up: boolean): void {
    if (up === this.up) return;
    if (up) this.flags |= IFF_UP | IFF_RUNNING;
    else {
      this.flags &= ~(IFF_UP | IFF_RUNNING);
      this.stats.iqdrops += this.inq.drain().length;
    }
    this.lastChange = this.ifs.kernel.now();
    this.init?.(up);
    for (const li of this.ifs.listeners) li.upDown?.(this, up);
  }

  setLinkState(state: number): void {
    if (state === this.linkState) return;
    this.linkState = state;
    this.lastChange = this.ifs.kernel.now();
    for (const li of this.ifs.listeners) li.linkState?.(this, state);
  }

  /** Account a frame the link layer sent. */
  countOutput(bytes: number, flags: number): void {
    this.stats.opackets++;
    this.stats.obytes += bytes;
    if ((flags & (M_BCAST | M_MCAST)) !== 0) this.stats.omcasts++;
  }

  /** Account a frame the link layer received. */
  countInput(bytes: number, flags: number): void {
    this.stats.ipackets++;
    this.stats.ibytes += bytes;
    if ((flags & (M_BCAST | M_MCAST)) !== 0) this.stats.imcasts++;
  }
}

/** The interfaces of one kernel (ifnet list, if_index table, cloners). */
export class Interfaces {
  readonly byName = new Map<string, Ifnet>();
  readonly byIndex = new Map<number, Ifnet>();
  readonly cloners = new Map<string, IfCloner>();
  /** Protocol input by EtherType (ETHERTYPE_IPV4, ETHERTYPE_ARP). */
  readonly netisr = new Map<number, IfInputHandler>();
  /** Link-address resolvers by EtherType of the protocol resolved (ETHERTYPE_IPV4 -> ARP). */
  readonly resolvers = new Map<number, LinkResolver>();
  readonly listeners: IfListener[] = [];
  /** Hooks run before an interface is detached (protocols remove its addresses and routes). */
  readonly detachHooks: ((ifp: Ifnet) => void)[] = [];
  /** The loopback interface lo0, once created. */
  lo0: Ifnet | null = null;
  private nextIndex = 1;

  constructor(readonly kernel: Kernel) {}

  /** Interfaces in index order. */
  list(): Ifnet[] {
    return [...this.byIndex.values()].sort((a, b) => a.index - b.index);
  }

  find(name: string): Ifnet | undefined {
    return this.byName.get(name);
  }

  get(index: number): Ifnet | undefined {
    return this.byIndex.get(index);
  }

  /** The interface `name`, or ENXIO naming it. */
  lookup(name: unknown): Ifnet {
    if (typeof name !== 'string') throw new KernelError('EINVAL', `interface name must be a string, not ${typeof name}`);
    const ifp = this.byName.get(name);
    if (ifp === undefined) throw new KernelError('ENXIO', `no interface named '${name}'`);
    return ifp;
  }

  /** if_attach: give `ifp` an index and make it visible. EEXIST for a taken name. */
  attach(ifp: Ifnet): Ifnet {
    checkIfName(ifp.name);
    if (this.byName.has(ifp.name)) throw new KernelError('EEXIST', `interface ${ifp.name} already exists`);
    ifp.index = this.nextIndex++;
    this.byName.set(ifp.name, ifp);
    this.byIndex.set(ifp.index, ifp);
    return ifp;
  }

  /** if_detach: down, protocols forget it, gone. */
  detach(ifp: Ifnet): void {
    if (ifp.detached) return;
    ifp.setUp(false);
    for (const h of this.detachHooks) h(ifp);
    for (const li of this.listeners) li.detach?.(ifp);
    ifp.detached = true;
    ifp.stats.iqdrops += ifp.inq.drain().length;
    this.byName.delete(ifp.name);
    this.byIndex.delete(ifp.index);
    ifp.detachHook?.();
    if (this.lo0 === ifp) this.lo0 = null;
  }

  addCloner(c: IfCloner): void {
    if (this.cloners.has(c.name)) throw new KernelError('EEXIST', `interface cloner '${c.name}' registered twice`);
    this.cloners.set(c.name, c);
  }

  /** Split 'shmif12' into cloner name and unit (EINVAL when it has no unit). */
  private parseCloneName(name: string): { cloner: IfCloner; unit: number } {
    checkIfName(name);
    const m = /^([a-z]+)([0-9]+)$/.exec(name);
    if (m === null) throw new KernelError('EINVAL', `interface name '${name}' is not a driver name followed by a unit number`);
    const cloner = this.cloners.get(m[1]!);
    if (cloner === undefined) throw new KernelError('EINVAL', `no interface cloner '${m[1]!}' (have: ${[...this.cloners.keys()].join(', ') || 'none'})`);
    const unit = Number(m[2]!);
    if (m[2]!.length > 1 && m[2]!.startsWith('0')) throw new KernelError('EINVAL', `unit number of '${name}' has a leading zero`);
    return { cloner, unit };
  }

  /** SIOCIFCREATE: `ifconfig NAME create`. */
  create(name: string): Ifnet {
    const { cloner, unit } = this.parseCloneName(name);
    if (this.byName.has(name)) throw new KernelError('EEXIST', `interface ${name} already exists`);
    const ifp = cloner.create(this, unit);
    ifp.cloner = cloner;
    return ifp;
  }

  /** SIOCIFDESTROY: `ifconfig NAME destroy`. */
  destroy(name: string): void {
    const ifp = this.lookup(name);
    const cloner = ifp.cloner;
    if (cloner === null) throw new KernelError('EINVAL', `interface ${name} was not created by a cloner and cannot be destroyed`);
    cloner.destroy(this, ifp);
  }

  /** The first free unit of a driver name ('lo' -> 1 when lo0 exists). */
  freeUnit(prefix: string): number {
    for (let u = 0; ; u++) if (!this.byName.has(`${prefix}${u}`)) return u;
  }

  /** Hand a packet without link header to the protocol of `proto` (EtherType). */
  dispatch(ifp: Ifnet, m: Mbuf, proto: number): void {
    const h = this.netisr.get(proto);
    if (h === undefined) {
      ifp.stats.noproto++;
      return;
    }
    h(ifp, m);
  }
}

/** Interface names: 1..15 bytes of [a-z0-9], starting with a letter (IFNAMSIZ). */
export function checkIfName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length >= IFNAMSIZ || !/^[a-z][a-z0-9]*$/.test(name)) {
    throw new KernelError('EINVAL', `interface name '${String(name)}' is not 1..${IFNAMSIZ - 1} lower-case letters and digits starting with a letter`);
  }
}

/** The interface layer of `k`, created on first use (needs the `net` component). */
export function ifnetOf(k: Kernel): Interfaces {
  const net = netOf(k);
  if (net.ifnet !== null) return net.ifnet;
  const ifs = new Interfaces(k);
  net.ifnet = ifs;
  net.ifioctl = (so, cmd, data, l: Lwp) => ifioctl(ifs, so, cmd, data, l);
  return ifs;
}
