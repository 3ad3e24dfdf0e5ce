/**
 * bpf, the capture half (NetBSD's net/bpf.c without the /dev/bpf device and the filter machine):
 * a tap on any interface that sees every frame it sends and receives and writes it as a pcap
 * record to a sink. Where the bytes go (a host file through the caller, memory) is the caller's
 * business; timestamps come from the kernel's realtime clock.
 *
 *   const tap = bpfCapture(k, 'shmif0', (bytes) => chunks.push(bytes));   // header written first
 *   ... traffic ...
 *   tap.detach();
 *
 * Ethernet interfaces are captured as LINKTYPE_ETHERNET (DLT_EN10MB): outbound at the driver
 * (the whole frame, padded, as it goes on the wire), inbound at link input (as the driver
 * delivered it, before address filtering). Other interfaces (lo0) as LINKTYPE_NULL (a 4-byte
 * address family in host order, then the packet) at output, which on loopback is also the input.
 *
 * The taps hang off the interface itself (no module state): the first tap wraps the link input and
 * the driver's transmit, the last one to go restores them.
 */

import { KernelError } from '../kern/errno.js';
import type { Kernel } from '../kern/kernel.js';
import { Clock } from '../rumpuser/rumpuser.js';
import { ifnetOf, type Ifnet, type IfOutput } from './if.js';
import { etherOf } from './if_ether.js';
import type { Mbuf } from './mbuf.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from './wire/ethernet.js';
import { LINKTYPE_ETHERNET, LINKTYPE_NULL, PcapWriter, pcapTimeFromMs } from './wire/pcap.js';

export type BpfSink = (bytes: Uint8Array) => void;

export const BPF_D_IN = 1;
export const BPF_D_OUT = 2;
export const BPF_D_INOUT = 3;

export interface BpfOptions {
  snaplen?: number;
  /** Which direction(s) to capture (default both). */
  direction?: number;
  /** Write the pcap file header to the sink first (default true). */
  header?: boolean;
}

export interface BpfTap {
  readonly ifp: Ifnet;
  readonly linktype: number;
  /** Frames captured. */
  packets: number;
  /** Stop capturing. */
  detach(): void;
}

interface TapEntry {
  tap: BpfTap;
  writer: PcapWriter;
  sink: BpfSink;
  direction: number;
}

interface TapState {
  entries: TapEntry[];
  restore: () => void;
}

const TAPS = Symbol('bpf taps');
type Tapped = Ifnet & { [TAPS]?: TapState };

const AF_INET = 2;
const AF_INET6 = 24;

function deliver(ifp: Ifnet, st: TapState, dir: number, pieces: Uint8Array[]): void {
  const ms = ifp.kernel.host.clockMs(Clock.REALTIME);
  for (const e of st.entries) {
    if ((e.direction & dir) === 0) continue;
    e.tap.packets++;
    try {
      e.sink(e.writer.record(pcapTimeFromMs(ms), ...pieces));
    } catch (err) {
      ifp.kernel.printf(`bpf: ${ifp.name}: sink failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

function segments(m: Mbuf): Uint8Array[] {
  const out: Uint8Array[] = [];
  m.forEachSegment((buf, off, len) => { out.push(buf.subarray(off, off + len)); });
  return out;
}

/** Install the interface's wrappers (first tap). */
function install(ifp: Tapped, ether: boolean): TapState {
  const st: TapState = { entries: [], restore: () => {} };
  if (ether) {
    const drv = etherOf(ifp)!.driver;
    const hadOwn = Object.hasOwn(drv, 'transmit');
    const ownTransmit = drv.transmit;
    const transmit = drv.transmit.bind(drv);
    const linkInput = ifp.linkInput;
    (drv as { transmit: (m: Mbuf) => boolean }).transmit = (m: Mbuf): boolean => {
      deliver(ifp, st, BPF_D_OUT, segments(m));
      return transmit(m);
    };
    ifp.linkInput = (i: Ifnet, m: Mbuf): void => {
      deliver(ifp, st, BPF_D_IN, segments(m));
      linkInput(i, m);
    };
    st.restore = () => {
      if (hadOwn) (drv as { transmit: (m: Mbuf) => boolean }).transmit = ownTransmit;
      else delete (drv as { transmit?: unknown }).transmit;
      ifp.linkInput = linkInput;
    };
  } else {
    const output = ifp.output;
    const wrapped: IfOutput = (i, m, proto, dst) => {
      const af = new Uint8Array(4);
      new DataView(af.buffer).setUint32(0, proto === ETHERTYPE_IPV4 ? AF_INET : proto === ETHERTYPE_IPV6 ? AF_INET6 : 0, true);
      deliver(ifp, st, BPF_D_INOUT, [af, ...segments(m)]);
      return output(i, m, proto, dst);
    };
    ifp.output = wrapped;
    st.restore = () => { ifp.output = output; };
  }
  ifp[TAPS] = st;
  return st;
}

/** bpfattach + BIOCSETIF: capture frames of `ifp` into `sink` as pcap. */
export function bpfAttach(ifp: Ifnet, sink: BpfSink, opts: BpfOptions = {}): BpfTap {
  if (ifp.detached) throw new KernelError('ENXIO', `${ifp.name} is gone`);
  const t = ifp as Tapped;
  const ether = etherOf(ifp) !== null;
  const linktype = ether ? LINKTYPE_ETHERNET : LINKTYPE_NULL;
  const writer = new PcapWriter({ linktype, ...(opts.snaplen !== undefined ? { snaplen: opts.snaplen } : {}) });
  const st = t[TAPS] ?? install(t, ether);
  const tap: BpfTap = {
    ifp,
    linktype,
    packets: 0,
    detach(): void {
      const i = st.entries.findIndex((e) => e.tap === tap);
      if (i < 0) return;
      st.entries.splice(i, 1);
      if (st.entries.length === 0) {
        st.restore();
        delete t[TAPS];
      }
    },
  };
  if (opts.header !== false) sink(writer.header());
  st.entries.push({ tap, writer, sink, direction: opts.direction ?? BPF_D_INOUT });
  return tap;
}

/** Capture on the interface called `ifname` of kernel `k` (ENXIO if there is none). */
export function bpfCapture(k: Kernel, ifname: string, sink: BpfSink, opts: BpfOptions = {}): BpfTap {
  return bpfAttach(ifnetOf(k).lookup(ifname), sink, opts);
}
