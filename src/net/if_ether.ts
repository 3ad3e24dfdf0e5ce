/**
 * Ethernet interfaces (NetBSD's net/if_ethersubr.c) and the contract with their drivers.
 *
 * A driver (shmif: a bus file; virtif: a host tap; the in-process `EtherBus` of if_pair.ts) is
 * small, as smoltcp's devices are: it has a MAC address and an MTU, transmits whole frames and
 * delivers received ones through the `EtherPort` it is given at attach. `etherIfattach` makes the
 * interface (`shmif0`, ...) around it.
 *
 * Output (ether_output): the protocol gives a packet and a next hop; broadcast and multicast
 * packets (M_BCAST/M_MCAST) map to their group addresses, unicast ones go through the protocol's
 * resolver (ARP for IPv4), which may hold the packet until the neighbour answers. The header is
 * prepended into the packet's headroom, short frames are padded to 60 bytes, and the frame goes
 * to the driver, which owns it from then on.
 *
 * Input (ether_input, from the interface softint): frames shorter than a header, not addressed
 * to us (unless IFF_PROMISC), or sent by us (a bus echoes) are dropped and counted; the rest lose
 * their header, get M_BCAST/M_MCAST, and go to the protocol registered for their EtherType.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import {
  IFF_BROADCAST, IFF_MULTICAST, IFF_PROMISC, IFF_RUNNING, IFF_SIMPLEX, IFF_UP, IFT_ETHER, Ifnet, ifnetOf, LINK_STATE_DOWN, LINK_STATE_UP,
  type LinkDst,
} from './if.js';
import { M_BCAST, M_MCAST, Mbuf } from './mbuf.js';
import {
  ETHER_HDR_LEN, ETHER_MIN_LEN, ETHERMTU, ETHERTYPE_IPV4, ETHERTYPE_MIN, ETHERTYPE_VLAN, MAC_BROADCAST, macIsMulticast, type MacAddr,
} from './wire/ethernet.js';
import { get16, get48, set16, set48 } from './wire/bytes.js';
import { ipv4IsMulticast, ipv4MulticastMac } from './wire/ipv4.js';

/** What the kernel gives a driver at attach: where received frames and link changes go. */
export interface EtherPort {
  /** The interface the driver serves. */
  readonly ifp: Ifnet;
  /** A received frame, Ethernet header first, no FCS; the kernel owns it from now on. */
  input(frame: Mbuf | Uint8Array): void;
  /** The link came up or went down (bus attached, cable). */
  setLinkState(up: boolean): void;
}

/** An Ethernet driver: what shmif, virtif and the in-process bus implement. */
export interface EtherDriver {
  /** The interface's MAC address. */
  readonly mac: MacAddr;
  /** The largest payload a frame may carry (default ETHERMTU, 1500). */
  readonly mtu?: number;
  /** Driver name for the interface ('shmif' makes shmif0, shmif1, ...). Default 'ether'. */
  readonly ifname?: string;
  /** Called once by etherIfattach, before any transmit. */
  attach(port: EtherPort): void;
  /**
   * Send one frame (header included, padded, no FCS). The driver owns it from now on. False when
   * the driver had to drop it (its queue full); the kernel counts that.
   */
  transmit(frame: Mbuf): boolean;
  /** IFF_UP changed (start or stop the device). */
  init?(up: boolean): void;
  /** The interface is being destroyed. */
  detach?(): void;
}

/** Counters of the Ethernet layer of one interface (beyond if_data). */
export interface EtherStats {
  /** Frames shorter than a header. */
  tooShort: number;
  /** Frames for another station (not ours, not group). */
  notForUs: number;
  /** Frames we sent, coming back to us. */
  fromSelf: number;
  /** 802.3 length-field frames and tagged frames (unsupported). */
  unsupported: number;
  /** Output without a resolvable link address or held for resolution. */
  resolveHeld: number;
}

/** The Ethernet state hung on an interface. */
export class EtherIf {
  readonly stats: EtherStats = { tooShort: 0, notForUs: 0, fromSelf: 0, unsupported: 0, resolveHeld: 0 };
  constructor(readonly ifp: Ifnet, readonly driver: EtherDriver) {}
}

/** The Ethernet state of `ifp` (null for other interface types). */
export function etherOf(ifp: Ifnet): EtherIf | null {
  return ifp.softc instanceof EtherIf ? ifp.softc : null;
}

/** Group address for an IPv4 destination, or null for unicast. */
function groupMac(m: Mbuf, proto: number, dst: LinkDst): MacAddr | null {
  if ((m.flags & M_BCAST) !== 0) return MAC_BROADCAST;
  if (proto === ETHERTYPE_IPV4 && typeof dst === 'number' && ipv4IsMulticast(dst)) {
    m.flags |= M_MCAST;
    return ipv4MulticastMac(dst);
  }
  return null;
}

/**
 * ether_output: resolve, frame, send. Returns null when sent or held for resolution, else the
 * errno the sender sees (ENETDOWN, EHOSTDOWN, ENOBUFS).
 */
export function etherOutput(ifp: Ifnet, m: Mbuf, proto: number, dst: LinkDst): KernelError | null {
  if ((ifp.flags & (IFF_UP | IFF_RUNNING)) !== (IFF_UP | IFF_RUNNING)) {
    ifp.stats.oerrors++;
    return new KernelError('ENETDOWN', `${ifp.name} is down`);
  }
  let mac = groupMac(m, proto, dst);
  if (mac === null) {
    if (typeof dst !== 'number' && !(dst instanceof Uint8Array)) return new KernelError('EINVAL', 'bad next hop');
    const resolve = ifp.ifs.resolvers.get(proto);
    if (resolve === undefined) {
      ifp.stats.oerrors++;
      return new KernelError('EAFNOSUPPORT', `${ifp.name}: no link-address resolution for EtherType 0x${proto.toString(16)}`);
    }
    const r = resolve(ifp, dst, m);
    if (r === null) {
      const e = etherOf(ifp);
      if (e !== null) e.stats.resolveHeld++;
      return null;
    }
    if (r instanceof KernelError) return r;
    mac = r;
  }
  return etherSend(ifp, m, proto, mac);
}

/** Frame `m` for `dst` and hand it to the driver (ARP's held packets come back through here). */
export function etherSend(ifp: Ifnet, m: Mbuf, proto: number, dst: MacAddr): KernelError | null {
  const e = etherOf(ifp);
  if (e === null || ifp.lladdr === null) return new KernelError('ENXIO', `${ifp.name} is not an Ethernet interface`);
  const h = m.prepend(ETHER_HDR_LEN);
  set48(h, 0, dst);
  set48(h, 6, ifp.lladdr);
  set16(h, 12, proto);
  if (m.length < ETHER_MIN_LEN) m.appendCopy(new Uint8Array(ETHER_MIN_LEN - m.length));
  if (macIsMulticast(dst)) m.flags |= dst === MAC_BROADCAST ? M_BCAST : M_MCAST;
  const len = m.length;
  const flags = m.flags;
  if (!e.driver.transmit(m)) {
    ifp.stats.oqdrops++;
    ifp.stats.oerrors++;
    return new KernelError('ENOBUFS', `${ifp.name}: the driver's transmit queue is full`);
  }
  ifp.countOutput(len, flags);
  return null;
}

/** ether_input: check, strip the header, dispatch by EtherType. */
export function etherInput(ifp: Ifnet, m: Mbuf): void {
  const e = etherOf(ifp);
  const h = m.pullup(ETHER_HDR_LEN);
  if (h === null || e === null) {
    ifp.stats.ierrors++;
    if (e !== null) e.stats.tooShort++;
    return;
  }
  const dst = get48(h, 0);
  const src = get48(h, 6);
  const type = get16(h, 12);
  const len = m.length;
  if (src === ifp.lladdr) {
    // a bus or a duplicate address echoing our own frame
    e.stats.fromSelf++;
    return;
  }
  let flags = 0;
  if (macIsMulticast(dst)) {
    flags = dst === MAC_BROADCAST ? M_BCAST : M_MCAST;
  } else if (dst !== ifp.lladdr && (ifp.flags & IFF_PROMISC) === 0) {
    e.stats.notForUs++;
    return;
  }
  ifp.countInput(len, flags);
  if (type < ETHERTYPE_MIN || type === ETHERTYPE_VLAN) {
    e.stats.unsupported++;
    ifp.stats.noproto++;
    return;
  }
  m.flags |= flags;
  m.adj(ETHER_HDR_LEN);
  ifp.ifs.dispatch(ifp, m, type);
}

/**
 * ether_ifattach: make an Ethernet interface around `drv`, named `name` or the driver's prefix
 * with the first free unit. The interface starts down (IFF_UP comes with its first address or
 * SIOCSIFFLAGS); the link is up unless the driver says otherwise.
 */
export function etherIfattach(k: Kernel, drv: EtherDriver, name?: string): Ifnet {
  const ifs = ifnetOf(k);
  const prefix = drv.ifname ?? 'ether';
  const ifname = name ?? `${prefix}${ifs.freeUnit(prefix)}`;
  const mtu = drv.mtu ?? ETHERMTU;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new KernelError('EINVAL', `driver MTU ${mtu} outside 68..65535`);
  const ifp = new Ifnet(ifs, ifname, IFT_ETHER, IFF_BROADCAST | IFF_SIMPLEX | IFF_MULTICAST, mtu);
  ifp.lladdr = drv.mac;
  ifp.hdrlen = ETHER_HDR_LEN;
  ifp.output = etherOutput;
  ifp.linkInput = etherInput;
  ifp.softc = new EtherIf(ifp, drv);
  ifp.init = (up) => drv.init?.(up);
  ifp.detachHook = () => drv.detach?.();
  ifs.attach(ifp);
  ifp.linkState = LINK_STATE_UP;
  const port: EtherPort = {
    ifp,
    input(frame: Mbuf | Uint8Array): void {
      ifp.input(frame instanceof Mbuf ? frame : Mbuf.wrap(frame));
    },
    setLinkState(up: boolean): void {
      ifp.setLinkState(up ? LINK_STATE_UP : LINK_STATE_DOWN);
    },
  };
  drv.attach(port);
  return ifp;
}
