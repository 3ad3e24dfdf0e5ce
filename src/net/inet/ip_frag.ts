/**
 * IPv4 fragmentation and reassembly (NetBSD's netinet/ip_reass.c and the fragmenting half of
 * ip_output.c).
 *
 * Reassembly keeps one queue per (source, destination, identification, protocol), bounded three
 * ways: datagrams in reassembly (net.inet.ip.maxfragpackets), fragments held in all
 * (net.inet.ip.maxfrags) and per datagram (net.inet.ip.maxfragsperpacket); the bytes held are
 * charged to kernel memory. A datagram not complete within net.inet.ip.fragttl seconds is dropped
 * (its fragments counted in fragtimeout) and, when its first fragment arrived, the sender gets an
 * ICMP time exceeded (reassembly). Exact duplicates are dropped alone; any other overlap
 * (RFC 5722's stance, which IPv4 stacks have taken since the overlapping-fragment attacks) and
 * bad fragments (a non-final fragment not a multiple of 8 bytes, a second "last" fragment with
 * another end) drop the whole datagram, counted in badfrags.
 *
 * Fragmentation cuts the payload at multiples of 8 bytes that fit the MTU and shares it with the
 * fragments (no copy); each fragment gets a copy of the header with its offset, MF bit, length
 * and checksum.
 */

import type { Callout } from '../../kern/callout.js';
import type { Mbuf } from '../mbuf.js';
import { IP_MF, IP_OFFMASK, IPV4_MAX_LEN } from '../wire/ipv4.js';
import { get16, get32, set16 } from '../wire/bytes.js';
import { internetChecksum } from '../wire/checksum.js';
import { ICMP_TIMXCEED, ICMP_TIMXCEED_REASS } from '../wire/icmpv4.js';
import type { Inet, InInputInfo } from './ip_var.js';

interface Frag {
  /** Payload offset and end, bytes. */
  off: number;
  end: number;
  /** The payload (IP header stripped). */
  m: Mbuf;
}

class FragQueue {
  readonly frags: Frag[] = [];
  /** Header of the first fragment (offset 0), once it came. */
  firstHdr: Uint8Array | null = null;
  /** End of the datagram, once the last fragment (MF clear) came; else -1. */
  total = -1;
  bytes = 0;
  ttl: number;
  dst = 0;
  ifindex = 0;

  constructor(readonly key: string, readonly timer: Callout, ttl: number) {
    this.ttl = ttl;
  }
}

export class IpReassembly {
  private readonly queues = new Map<string, FragQueue>();
  /** Fragments held in all queues. */
  nfrags = 0;
  /** Payload bytes held (charged to kmem). */
  bytes = 0;

  constructor(private readonly inet: Inet) {}

  get count(): number { return this.queues.size; }

  /**
   * ip_reass: `m` is a fragment with its `hlen`-byte header (already validated). Returns the
   * whole datagram (header first, offsets cleared, length and checksum fixed) when this fragment
   * completed it, else null (held, or dropped and counted).
   */
  input(m: Mbuf, hlen: number, hdr: Uint8Array): Mbuf | null {
    const inet = this.inet;
    const st = inet.ipstat;
    const tun = inet.tun;
    st.fragments++;
    const src = get32(hdr, 12), dst = get32(hdr, 16), id = get16(hdr, 4), proto = hdr[9]!;
    const fw = get16(hdr, 6);
    const off = (fw & IP_OFFMASK) * 8;
    const more = (fw & IP_MF) !== 0;
    const len = get16(hdr, 2) - hlen;
    const end = off + len;
    // a non-final fragment must carry a multiple of 8 bytes; an empty one is pointless
    if ((more && (len & 7) !== 0) || len === 0 || end > IPV4_MAX_LEN - hlen) {
      st.badfrags++;
      return null;
    }
    const key = `${src}:${dst}:${id}:${proto}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      if (this.queues.size >= tun.maxfragpackets) {
        st.fragdropped++;
        return null;
      }
      const timer = inet.kernel.callouts.create();
      q = new FragQueue(key, timer, tun.fragttl);
      q.dst = dst;
      const queue = q;
      timer.reset(tun.fragttl * 1000, () => this.timeout(queue));
      this.queues.set(key, q);
    }
    if (this.nfrags >= tun.maxfrags || q.frags.length >= tun.maxfragsperpacket) {
      st.fragdropped++;
      return null;
    }
    // the last fragment fixes the end; fragments past it, or a second different end, are bad
    if (!more) {
      if (q.total >= 0 && q.total !== end) return this.bad(q);
      q.total = end;
    }
    if (q.total >= 0 && end > q.total) return this.bad(q);
    // find the place, rejecting overlaps (exact duplicates are dropped alone)
    let i = 0;
    while (i < q.frags.length && q.frags[i]!.off < off) i++;
    const prev = q.frags[i - 1];
    const next = q.frags[i];
    if (next !== undefined && next.off === off && next.end === end) {
      st.fragdropped++;
      return null;
    }
    if ((prev !== undefined && prev.end > off) || (next !== undefined && next.off < end)) return this.bad(q);
    const k = inet.kernel.kmem;
    if (!k.fits(len)) {
      k.failures++;
      st.rcvmemdrop++;
      return null;
    }
    k.charge(len, 'IP reassembly');
    m.adj(hlen);
    q.frags.splice(i, 0, { off, end, m });
    q.bytes += len;
    this.bytes += len;
    this.nfrags++;
    q.ifindex = m.rcvif;
    if (off === 0) q.firstHdr = hdr.slice(0, hlen);
    // complete?
    if (q.total < 0 || q.firstHdr === null) return null;
    let at = 0;
    for (const f of q.frags) {
      if (f.off !== at) return null;
      at = f.end;
    }
    if (at !== q.total) return null;
    return this.complete(q);
  }

  private complete(q: FragQueue): Mbuf | null {
    const st = this.inet.ipstat;
    const first = q.frags[0]!.m;
    const h = q.firstHdr!;
    const hlen = h.length;
    this.release(q);
    if (hlen + q.total > IPV4_MAX_LEN) {
      st.toolong++;
      return null;
    }
    for (let i = 1; i < q.frags.length; i++) first.append(q.frags[i]!.m);
    const hb = first.prepend(hlen);
    hb.set(h);
    set16(hb, 2, hlen + q.total);
    set16(hb, 6, 0);
    set16(hb, 10, 0);
    set16(hb, 10, internetChecksum(hb, 0, hlen));
    st.reassembled++;
    return first;
  }

  /** Forget a queue and uncharge its bytes. */
  private release(q: FragQueue): void {
    q.timer.stop();
    this.queues.delete(q.key);
    this.nfrags -= q.frags.length;
    this.bytes -= q.bytes;
    this.inet.kernel.kmem.uncharge(q.bytes);
  }

  /** A bad fragment poisons its datagram: drop everything held for it. */
  private bad(q: FragQueue): null {
    const st = this.inet.ipstat;
    st.badfrags++;
    st.fragdropped += q.frags.length;
    this.release(q);
    return null;
  }

  /** ip_slowtimo for one queue: drop it, and tell the sender if its first fragment came. */
  private timeout(q: FragQueue): void {
    const inet = this.inet;
    if (this.queues.get(q.key) !== q) return;
    inet.ipstat.fragtimeout += q.frags.length;
    this.release(q);
    const first = q.frags[0];
    if (q.firstHdr !== null && first !== undefined && first.off === 0) {
      const h = q.firstHdr;
      const info: InInputInfo = {
        src: get32(h, 12), dst: get32(h, 16), ttl: h[8]!, tos: h[1]!, ifindex: q.ifindex, broadcast: false, multicast: false,
        length: first.m.length, proto: h[9]!, hdr: h,
      };
      inet.icmpError(ICMP_TIMXCEED, ICMP_TIMXCEED_REASS, info, first.m);
    }
  }

  /** Halt: drop every queue. */
  fini(): void {
    for (const q of [...this.queues.values()]) this.release(q);
  }
}

/**
 * ip_fragment: cut `m` (a whole datagram, `hlen`-byte header first, payload longer than the
 * MTU allows) into fragments of at most `mtu` bytes, returned in order. The caller has checked DF.
 */
export function ipFragment(inet: Inet, m: Mbuf, hlen: number, mtu: number): Mbuf[] {
  const hdr = m.pullup(hlen)!.slice();
  const origFw = get16(hdr, 6);
  const baseOff = (origFw & IP_OFFMASK) * 8;
  const origMore = (origFw & IP_MF) !== 0;
  m.adj(hlen);
  const payload = m.length;
  const step = (mtu - hlen) & ~7;
  const out: Mbuf[] = [];
  let off = 0;
  let rest = m;
  while (off < payload) {
    const len = Math.min(step, payload - off);
    const last = off + len >= payload;
    const piece = rest;
    if (!last) rest = rest.split(len);
    const hb = piece.prepend(hlen);
    hb.set(hdr);
    set16(hb, 2, hlen + len);
    set16(hb, 6, (origFw & ~(IP_OFFMASK | IP_MF)) | ((baseOff + off) / 8) | (last && !origMore ? 0 : IP_MF));
    set16(hb, 10, 0);
    set16(hb, 10, internetChecksum(hb, 0, hlen));
    out.push(piece);
    off += len;
  }
  inet.ipstat.fragmented++;
  inet.ipstat.ofragments += out.length;
  return out;
}
