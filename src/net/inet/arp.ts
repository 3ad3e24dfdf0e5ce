/**
 * ARP (RFC 826; NetBSD's netinet/if_arp.c): the IPv4-to-Ethernet neighbour cache of one kernel,
 * request and reply, gratuitous announcements, and holding packets while an address resolves.
 *
 * Entries, per interface and address:
 *  - incomplete: a request is out; up to `maxhold` packets wait (the oldest is dropped beyond);
 *    the request is repeated every `rexmit` ms up to `maxtries` times, then the waiting packets are
 *    dropped and the entry goes `down` for `down` seconds, during which sends fail at once with
 *    EHOSTDOWN (ip_output reports EHOSTUNREACH when the address was a gateway);
 *  - reachable: learnt from a reply or a request for one of our addresses; expires after `keep`
 *    seconds; waiting packets are sent the moment the entry becomes reachable;
 *  - static: added by hand (`arp -s`), never expires, never overwritten by traffic.
 * Timers are kernel callouts (stopped at halt). The cache is bounded (`maxentries`; ENOBUFS).
 *
 * Input follows RFC 826's merge: a known sender's entry is updated; the target being one of our
 * addresses adds the sender and answers a request. Packets claiming our hardware address, with a
 * group sender address, a zero target, or our own IP address as sender (a duplicate address) are
 * dropped and counted.
 */

import { KernelError } from '../../kern/errno.js';
import type { Callout } from '../../kern/callout.js';
import { IFF_NOARP, type Ifnet, type LinkDst } from '../if.js';
import { etherOf, etherSend } from '../if_ether.js';
import { Mbuf } from '../mbuf.js';
import { ArpPacket, ArpRepr, ARPOP_REPLY, ARPOP_REQUEST, ARP_ETHER_IPV4_LEN } from '../wire/arp.js';
import { WireError } from '../wire/error.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, formatMac, MAC_BROADCAST, macIsMulticast, type MacAddr } from '../wire/ethernet.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { inAddrs, type InIfaddr } from './in.js';
import type { Inet } from './ip_var.js';

/** arpstat (netinet/if_arp.h ARP_STAT_*), plus a few of ours. */
export interface ArpStat {
  sndtotal: number;
  sndreply: number;
  sndrequest: number;
  /** Gratuitous announcements (ours). */
  sndannounce: number;
  rcvtotal: number;
  rcvrequest: number;
  rcvreply: number;
  rcvmcast: number;
  /** Not Ethernet/IPv4 or not request/reply. */
  rcvbadproto: number;
  /** Too short or bad address lengths. */
  rcvbadlen: number;
  rcvzerotpa: number;
  rcvzerospa: number;
  /** Neither for one of our addresses nor about a known neighbour. */
  rcvnoint: number;
  /** Sender hardware address is ours. */
  rcvlocalsha: number;
  /** Sender hardware address is a group address. */
  rcvbcastsha: number;
  /** Sender protocol address is ours (duplicate address). */
  rcvlocalspa: number;
  /** Tried to overwrite a static entry. */
  rcvoverperm: number;
  /** An entry's hardware address changed. */
  rcvover: number;
  dupips: number;
  /** Packets held for resolution, sent after it, dropped (queue bound or failure). */
  dfrtotal: number;
  dfrsent: number;
  dfrdropped: number;
  /** Entries refused: the cache is full. */
  allocfail: number;
  /** Resolutions that failed after maxtries requests. */
  timeouts: number;
}

export type LlState = 'incomplete' | 'reachable' | 'static' | 'down';

export class LlEntry {
  mac: MacAddr | null = null;
  state: LlState = 'incomplete';
  readonly hold: Mbuf[] = [];
  /** Requests sent for this resolution. */
  asked = 0;
  /** Realtime ms at which the entry expires (0: never). */
  expire = 0;
  readonly timer: Callout;

  constructor(readonly ifp: Ifnet, readonly ip: number, timer: Callout) {
    this.timer = timer;
  }
}

/** An entry as `arp -a` lists it. */
export interface ArpInfo {
  ifname: string;
  ip: string;
  mac: string | null;
  state: LlState;
  expire: number;
}

/** ARP tunables (sysctl net.inet.arp.*). */
export interface ArpTunables {
  /** Seconds a learnt entry lives. */
  keep: number;
  /** Seconds an address that did not answer stays down. */
  down: number;
  /** Requests sent before giving up. */
  maxtries: number;
  /** Milliseconds between requests. */
  rexmit: number;
  /** Packets held per entry while resolving. */
  maxhold: number;
  /** Entries in the cache at most. */
  maxentries: number;
}

export class Arp {
  readonly stat: ArpStat = {
    sndtotal: 0, sndreply: 0, sndrequest: 0, sndannounce: 0, rcvtotal: 0, rcvrequest: 0, rcvreply: 0, rcvmcast: 0, rcvbadproto: 0,
    rcvbadlen: 0, rcvzerotpa: 0, rcvzerospa: 0, rcvnoint: 0, rcvlocalsha: 0, rcvbcastsha: 0, rcvlocalspa: 0, rcvoverperm: 0, rcvover: 0,
    dupips: 0, dfrtotal: 0, dfrsent: 0, dfrdropped: 0, allocfail: 0, timeouts: 0,
  };
  readonly tun: ArpTunables = { keep: 1200, down: 20, maxtries: 5, rexmit: 1000, maxhold: 16, maxentries: 4096 };
  /** ifindex -> ip -> entry */
  private readonly table = new Map<number, Map<number, LlEntry>>();
  private count = 0;

  constructor(private readonly inet: Inet) {}

  private now(): number {
    return this.inet.kernel.now();
  }

  find(ifp: Ifnet, ip: number): LlEntry | undefined {
    return this.table.get(ifp.index)?.get(ip);
  }

  private create(ifp: Ifnet, ip: number): LlEntry | null {
    if (this.count >= this.tun.maxentries) {
      this.stat.allocfail++;
      return null;
    }
    let t = this.table.get(ifp.index);
    if (t === undefined) {
      t = new Map();
      this.table.set(ifp.index, t);
    }
    const e = new LlEntry(ifp, ip, this.inet.kernel.callouts.create());
    t.set(ip, e);
    this.count++;
    return e;
  }

  private remove(e: LlEntry): void {
    e.timer.stop();
    this.dropHeld(e);
    const t = this.table.get(e.ifp.index);
    if (t?.get(e.ip) === e) {
      t.delete(e.ip);
      this.count--;
      if (t.size === 0) this.table.delete(e.ifp.index);
    }
  }

  private dropHeld(e: LlEntry): void {
    const n = e.hold.length;
    if (n === 0) return;
    e.hold.length = 0;
    this.stat.dfrdropped += n;
    this.inet.ipstat.odropped += n;
  }

  /**
   * arpresolve, the interface layer's resolver for IPv4: the MAC for `dst`, or null with `m`
   * held (or dropped and counted), or the error the sender sees.
   */
  resolve(ifp: Ifnet, dst: LinkDst, m: Mbuf): MacAddr | null | KernelError {
    if (typeof dst !== 'number') return new KernelError('EAFNOSUPPORT', 'ARP resolves IPv4 addresses only');
    let e = this.find(ifp, dst);
    if (e !== undefined && e.mac !== null && (e.state === 'reachable' || e.state === 'static')) return e.mac;
    if ((ifp.flags & IFF_NOARP) !== 0) {
      return new KernelError('EHOSTUNREACH', `${ifp.name} does not do ARP and ${formatIpv4(dst)} has no static entry`);
    }
    if (e?.state === 'down') {
      return new KernelError('EHOSTDOWN', `${formatIpv4(dst)} did not answer ARP on ${ifp.name}`);
    }
    if (e === undefined) {
      const ne = this.create(ifp, dst);
      if (ne === null) {
        return new KernelError('ENOBUFS', `the ARP cache is full (${this.tun.maxentries} entries)`);
      }
      e = ne;
    }
    this.stat.dfrtotal++;
    if (e.hold.length >= this.tun.maxhold) {
      e.hold.shift();
      this.stat.dfrdropped++;
      this.inet.ipstat.odropped++;
    }
    e.hold.push(m);
    if (e.asked === 0) this.solicit(e);
    return null;
  }

  /** Send a request for an incomplete entry and arm its retransmission. */
  private solicit(e: LlEntry): void {
    const entry = e;
    if (entry.asked >= this.tun.maxtries) {
      // give up: the waiting packets are lost and the address is down for a while
      this.stat.timeouts++;
      this.dropHeld(entry);
      entry.state = 'down';
      entry.asked = 0;
      entry.expire = this.now() + this.tun.down * 1000;
      entry.timer.reset(this.tun.down * 1000, () => this.remove(entry));
      return;
    }
    entry.asked++;
    const src = this.sourceFor(entry.ifp, entry.ip);
    if (src !== null) this.send(entry.ifp, ARPOP_REQUEST, src, entry.ip, 0, MAC_BROADCAST);
    entry.timer.reset(this.tun.rexmit, () => this.solicit(entry));
  }

  /** The address to ask from: one on the target's subnet, else the interface's first. */
  private sourceFor(ifp: Ifnet, target: number): number | null {
    const addrs = inAddrs(ifp);
    for (const ia of addrs) if (ia.contains(target)) return ia.addr;
    return addrs[0]?.addr ?? null;
  }

  private send(ifp: Ifnet, op: number, spa: number, tpa: number, tha: MacAddr, dstMac: MacAddr): void {
    if (etherOf(ifp) === null || ifp.lladdr === null) return;
    const m = Mbuf.alloc(ARP_ETHER_IPV4_LEN);
    const b = m.makeWritable(ARP_ETHER_IPV4_LEN)!;
    ArpRepr.emit({ operation: op, senderHw: ifp.lladdr, senderProto: spa, targetHw: tha, targetProto: tpa }, b);
    this.stat.sndtotal++;
    if (op === ARPOP_REPLY) this.stat.sndreply++;
    else if (spa === tpa) this.stat.sndannounce++;
    else this.stat.sndrequest++;
    etherSend(ifp, m, ETHERTYPE_ARP, dstMac);
  }

  /** arp_ifinit: announce a new address (gratuitous ARP). */
  announce(ia: InIfaddr): void {
    if (!ia.ifp.up) return;
    this.send(ia.ifp, ARPOP_REQUEST, ia.addr, ia.addr, 0, MAC_BROADCAST);
  }

  /** The entry became reachable: send what waited. */
  private flushHeld(e: LlEntry): void {
    const held = e.hold.splice(0);
    for (const m of held) {
      this.stat.dfrsent++;
      const err = etherSend(e.ifp, m, ETHERTYPE_IPV4, e.mac!);
      if (err !== null) this.inet.ipstat.odropped++;
    }
  }

  private learn(e: LlEntry, mac: MacAddr): void {
    if (e.mac !== null && e.mac !== mac && e.state === 'reachable') {
      this.stat.rcvover++;
      if (this.inet.kernel.verbose) this.inet.kernel.printf(`arp: ${formatIpv4(e.ip)} moved from ${formatMac(e.mac)} to ${formatMac(mac)} on ${e.ifp.name}\n`);
    }
    e.mac = mac;
    e.state = 'reachable';
    e.asked = 0;
    e.expire = this.now() + this.tun.keep * 1000;
    e.timer.reset(this.tun.keep * 1000, () => this.remove(e));
    this.flushHeld(e);
  }

  /** in_arpinput: `m` starts at the ARP header. */
  input(ifp: Ifnet, m: Mbuf): void {
    const st = this.stat;
    st.rcvtotal++;
    const b = m.pullup(Math.min(m.length, 64));
    const p = b === null ? truncatedArp() : ArpPacket.check(b);
    if (p instanceof WireError) { st.rcvbadlen++; return; }
    const r = ArpRepr.parse(p);
    if (r instanceof WireError) {
      if (r.kind === 'unsupported') st.rcvbadproto++;
      else st.rcvbadlen++;
      return;
    }
    if (r.operation === ARPOP_REQUEST) st.rcvrequest++;
    else st.rcvreply++;
    if (r.senderHw === ifp.lladdr) { st.rcvlocalsha++; return; }
    if (macIsMulticast(r.senderHw)) { st.rcvbcastsha++; return; }
    if (r.targetProto === 0) { st.rcvzerotpa++; return; }
    const mine = inAddrs(ifp);
    const spaIsOurs = mine.some((ia) => ia.addr === r.senderProto);
    const target = mine.find((ia) => ia.addr === r.targetProto);
    if (spaIsOurs) {
      st.rcvlocalspa++;
      st.dupips++;
      this.inet.kernel.printf(`arp: ${formatMac(r.senderHw)} is using my IP address ${formatIpv4(r.senderProto)} on ${ifp.name}!\n`);
      return;
    }
    if (r.senderProto === 0) {
      st.rcvzerospa++;
    } else {
      let e = this.find(ifp, r.senderProto);
      if (e === undefined && target !== undefined) e = this.create(ifp, r.senderProto) ?? undefined;
      if (e !== undefined) {
        if (e.state === 'static') {
          if (e.mac !== r.senderHw) st.rcvoverperm++;
        } else {
          this.learn(e, r.senderHw);
        }
      } else if (target === undefined) {
        st.rcvnoint++;
      }
    }
    if (r.operation === ARPOP_REQUEST && target !== undefined) {
      this.send(ifp, ARPOP_REPLY, target.addr, r.senderProto, r.senderHw, r.senderHw);
    }
  }

  /** arp -s: a static entry. */
  addStatic(ifp: Ifnet, ip: number, mac: MacAddr): void {
    let e = this.find(ifp, ip);
    if (e === undefined) {
      const ne = this.create(ifp, ip);
      if (ne === null) throw new KernelError('ENOBUFS', 'the ARP cache is full');
      e = ne;
    }
    e.timer.stop();
    e.mac = mac;
    e.state = 'static';
    e.expire = 0;
    this.flushHeld(e);
  }

  /** arp -d: forget an entry. ESRCH when there is none. */
  delete(ifp: Ifnet, ip: number): void {
    const e = this.find(ifp, ip);
    if (e === undefined) throw new KernelError('ESRCH', `no ARP entry for ${formatIpv4(ip)} on ${ifp.name}`);
    this.remove(e);
  }

  /** arp -a */
  list(): ArpInfo[] {
    const out: ArpInfo[] = [];
    for (const t of this.table.values()) {
      for (const e of t.values()) {
        out.push({ ifname: e.ifp.name, ip: formatIpv4(e.ip), mac: e.mac === null ? null : formatMac(e.mac), state: e.state, expire: e.expire });
      }
    }
    return out;
  }

  /** Entries of the subnet of an address being removed (static ones stay). */
  purgeAddr(ia: InIfaddr): void {
    const t = this.table.get(ia.ifp.index);
    if (t === undefined) return;
    for (const e of [...t.values()]) if (e.state !== 'static' && ia.contains(e.ip)) this.remove(e);
  }

  /** Every entry of an interface going away. */
  purgeIf(ifp: Ifnet): void {
    const t = this.table.get(ifp.index);
    if (t === undefined) return;
    for (const e of [...t.values()]) this.remove(e);
  }

  /** Halt: stop every timer, drop what waits. */
  fini(): void {
    for (const t of [...this.table.values()]) for (const e of [...t.values()]) this.remove(e);
  }
}

function truncatedArp(): WireError {
  return new WireError('arp', 'truncated', 'header', 'empty packet');
}
