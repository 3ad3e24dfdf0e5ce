/**
 * TCP of one kernel: the TransportProtocol IP hands segments and ICMP errors to, holding the
 * connection table, the SYN cache, the counters, the tunables (sysctl net.inet.tcp.*), the ISN
 * generator and the rate limiters. Created by `attach(k, env)` (index.ts); nothing here is
 * module state.
 */

import type { Kernel } from '../../../kern/kernel.js';
import { Clock } from '../../../rumpuser/rumpuser.js';
import type { Mbuf } from '../../mbuf.js';
import type { Protosw } from '../../protosw.js';
import { IPPROTO_TCP, type CtlKind, type IpInputInfo, type IpTransportEnv, type TransportProtocol } from '../transport.js';
import { defaultTunables, type TcpTunables } from './constants.js';
import { tcpCtlinput } from './ctlinput.js';
import { tcpInput } from './input.js';
import { IsnGenerator } from './isn.js';
import { PcbTable } from './pcb.js';
import { formatTcpStats, newTcpStats, type TcpStats } from './stats.js';
import { SynCache } from './syncache.js';
import type { Tcb } from './tcb.js';
import { tcpProtosw } from './usrreq.js';

/** At most `limit()` events per second (0: unlimited); NetBSD's ppsratecheck. */
export class RateLimiter {
  private second = -1;
  private count = 0;

  constructor(private readonly limit: () => number) {}

  allow(nowMs: number): boolean {
    const lim = this.limit();
    if (lim <= 0) return true;
    const s = Math.floor(nowMs / 1000);
    if (s !== this.second) {
      this.second = s;
      this.count = 0;
    }
    return ++this.count <= lim;
  }
}

export class TcpProtocol implements TransportProtocol {
  readonly name = 'tcp';
  readonly proto = IPPROTO_TCP;
  readonly protosw: readonly Protosw[];
  readonly stats: TcpStats = newTcpStats();
  readonly tunables: TcpTunables = defaultTunables();
  readonly pcbs: PcbTable;
  readonly syncache: SynCache;
  readonly isn: IsnGenerator;
  /** Every control block: bound, listening, connected, orphaned. */
  readonly tcbs = new Set<Tcb>();
  readonly rstLimiter = new RateLimiter(() => this.tunables.rstPpsLimit);
  readonly challengeLimiter = new RateLimiter(() => this.tunables.challengeAckLimit);
  /** Set by fini: no more output, no timers. */
  halted = false;

  constructor(readonly kernel: Kernel, readonly env: IpTransportEnv) {
    const r = new Uint8Array(4);
    kernel.host.getrandom(r);
    this.pcbs = new PcbTable(() => ((r[0]! << 8) | r[1]!) >>> 0);
    this.isn = new IsnGenerator((b) => kernel.host.getrandom(b));
    this.syncache = new SynCache(this);
    this.protosw = [tcpProtosw(this)];
    this.registerSysctl();
  }

  /** The kernel's monotonic clock, ms. */
  now(): number {
    return this.kernel.host.clockMs(Clock.MONOTONIC);
  }

  input(m: Mbuf, info: IpInputInfo): void {
    tcpInput(this, m, info);
  }

  ctlinput(kind: CtlKind, code: number, src: number, dst: number, quoted: Uint8Array, mtu?: number): void {
    tcpCtlinput(this, kind, code, src, dst, quoted, mtu);
  }

  /** Halt: every connection is dropped silently, every timer stopped. */
  fini(): void {
    if (this.halted) return;
    this.halted = true;
    for (const tp of this.tcbs) {
      tp.timers.stopAll();
      this.pcbs.remove(tp);
      tp.sendq.clear();
      tp.reass.clear();
    }
    this.syncache.clear();
    this.kernel.sysctl.destroy('net.inet.tcp');
  }

  /** `netstat -s -p tcp` text. */
  statsText(all = false): string {
    return formatTcpStats(this.stats, all);
  }

  /** Connections for netstat/sockstat: one row per control block with an address. */
  connections(): { laddr: number; lport: number; faddr: number; fport: number; state: string; sendq: number; recvq: number }[] {
    const out = [];
    for (const tp of this.tcbs) {
      if (tp.lport === 0) continue;
      out.push({
        laddr: tp.laddr, lport: tp.lport, faddr: tp.faddr, fport: tp.fport, state: tp.stateName,
        sendq: tp.sendq.length, recvq: tp.so?.rcv.data ?? 0,
      });
    }
    return out;
  }

  private registerSysctl(): void {
    const s = this.kernel.sysctl;
    const t = this.tunables;
    const int = (name: string, key: keyof TcpTunables, min: number, max: number, desc: string, scale = 1): void => {
      s.create(`net.inet.tcp.${name}`, {
        type: 'int', writable: true, min, max, desc,
        get: () => Math.floor((t[key] as number) / scale),
        set: (v) => { (t[key] as number) = (v as number) * scale; },
      });
    };
    const bool = (name: string, key: 'winscale' | 'timestamps' | 'sack', desc: string): void => {
      s.create(`net.inet.tcp.${name}`, {
        type: 'int', writable: true, min: 0, max: 1, desc,
        get: () => (t[key] ? 1 : 0),
        set: (v) => { t[key] = (v as number) !== 0; },
      });
    };
    int('sendspace', 'sendspace', 512, 0x7fffffff, 'Default TCP send buffer');
    int('recvspace', 'recvspace', 512, 0x7fffffff, 'Default TCP receive buffer');
    int('mssdflt', 'mssdflt', 64, 65535, 'MSS used without a route MTU');
    bool('win_scale', 'winscale', 'Use RFC 7323 window scaling');
    bool('timestamps', 'timestamps', 'Use RFC 7323 timestamps');
    bool('sack.enable', 'sack', 'Use RFC 2018 selective acknowledgments');
    int('init_win', 'initWindow', 1, 100, 'Initial congestion window, segments');
    int('rexmit_min', 'rtoMin', 1, 0x7fffffff, 'Smallest retransmission timeout, ms');
    int('rexmit_max', 'rtoMax', 1, 0x7fffffff, 'Largest retransmission timeout, ms');
    int('rexmit_initial', 'rtoInitial', 1, 0x7fffffff, 'Initial retransmission timeout, ms');
    int('delack_ticks', 'delack', 1, 500, 'Delayed ACK time, ms');
    int('msl', 'msl', 1, 0x7fffffff, 'Maximum segment lifetime, ms (TIME_WAIT lasts 2 MSL)');
    int('keepidle', 'keepIdle', 1, 0x7fffffff / 1000, 'Keepalive idle time, s', 1000);
    int('keepintvl', 'keepIntvl', 1, 0x7fffffff / 1000, 'Keepalive probe interval, s', 1000);
    int('keepcnt', 'keepCnt', 1, 0x7fffffff, 'Keepalive probes before the connection is dropped');
    int('keepinit', 'keepInit', 1, 0x7fffffff / 1000, 'Connection establishment timeout, s', 1000);
    int('syn_cache_limit', 'syncacheLimit', 1, 0x7fffffff, 'SYN cache entries in all');
    int('syn_bucket_limit', 'syncacheBucketLimit', 1, 0x7fffffff, 'SYN cache entries per listening socket');
    int('rstppslimit', 'rstPpsLimit', 0, 0x7fffffff, 'RSTs sent per second (0: unlimited)');
    int('ackratelimit', 'challengeAckLimit', 0, 0x7fffffff, 'Challenge ACKs sent per second (0: unlimited)');
    int('reass_maxqueuelen', 'reassMaxSegs', 1, 0x7fffffff, 'Out-of-order segments held per connection');
    s.create('net.inet.tcp.stats', { type: 'struct', get: () => ({ ...this.stats }), desc: 'TCP statistics (struct tcpstat)' });
    s.create('net.inet.tcp.syn_cache_count', { type: 'int', get: () => this.syncache.size, desc: 'SYN cache entries now' });
    s.create('net.inet.tcp.connections', { type: 'int', get: () => this.pcbs.connCount, desc: 'Connections in the table' });
  }
}
