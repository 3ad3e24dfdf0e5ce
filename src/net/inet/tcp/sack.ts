/**
 * Selective acknowledgment (RFC 2018) and SACK-based loss recovery (RFC 6675, simplified).
 *
 * Receiver side: `sackBlocksToSend` reports the runs held in the reassembly queue, the block
 * holding the most recent arrival first, then the blocks reported most recently (RFC 2018 4).
 *
 * Sender side: the `Scoreboard` keeps the SACKed ranges above snd_una, merged and sorted.
 * From it come IsLost (DupThresh discontiguous SACKed runs, or more than (DupThresh-1)*SMSS
 * bytes SACKed, above a sequence number), the `pipe` estimate of bytes in flight, and NextSeg
 * (what to retransmit next). The transmission loop that uses them is in output.ts.
 *
 * Simplifications: no D-SACK, no rescue retransmission (rule 4). After a retransmission
 * timeout the scoreboard is kept and everything unSACKed below the recovery point counts as
 * lost (as Linux does); a second consecutive timeout clears it, in case the receiver reneged.
 */

import { seqGt, seqLeq, seqLt, seqMax, seqMin, seqSub } from '../../wire/seq.js';
import type { TcpSackBlock } from '../../wire/tcp.js';
import { TCP_DUPTHRESH } from './constants.js';
import type { ReassQueue, SeqBlock } from './reass.js';

/**
 * The SACK blocks to put in an ACK (at most `max`): the queue's runs, the one containing the
 * latest arrival first, then those reported last time, then the rest from the highest down.
 * `recent` holds last time's report and is updated.
 */
export function sackBlocksToSend(reass: ReassQueue, recent: SeqBlock[], max: number): TcpSackBlock[] {
  const cur = reass.blocks();
  if (cur.length === 0 || max <= 0) {
    recent.length = 0;
    return [];
  }
  const out: SeqBlock[] = [];
  const containing = (seq: number): SeqBlock | undefined => cur.find((b) => seqLeq(b.left, seq) && seqLt(seq, b.right));
  const add = (b: SeqBlock | undefined): void => {
    if (b !== undefined && out.length < max && !out.includes(b)) out.push(b);
  };
  if (reass.lastSeq !== null) add(containing(reass.lastSeq));
  for (const r of recent) add(containing(r.left));
  for (let i = cur.length - 1; i >= 0 && out.length < max; i--) add(cur[i]);
  recent.length = 0;
  for (const b of out) recent.push({ left: b.left, right: b.right });
  return out.map((b) => ({ left: b.left, right: b.right }));
}

export class Scoreboard {
  /** SACKed ranges above snd_una, sorted, merged. */
  readonly blocks: SeqBlock[] = [];
  /** Bytes covered by `blocks`. */
  sacked = 0;

  get empty(): boolean { return this.blocks.length === 0; }

  /** The highest SACKed sequence number + 1 (HighACK's counterpart), or null. */
  highest(): number | null {
    const b = this.blocks[this.blocks.length - 1];
    return b === undefined ? null : b.right;
  }

  /**
   * Record the peer's blocks. Blocks not inside (sndUna, sndMax] are ignored (stale, D-SACK or
   * bogus). Returns the number of newly SACKed bytes.
   */
  update(peer: readonly TcpSackBlock[], sndUna: number, sndMax: number): number {
    const before = this.sacked;
    for (const pb of peer) {
      let l = pb.left;
      const r = pb.right;
      if (!seqLt(l, r) || seqGt(r, sndMax) || seqLeq(r, sndUna)) continue;
      if (seqLt(l, sndUna)) l = sndUna;
      this.insert(l, r);
    }
    return this.sacked - before;
  }

  private insert(l: number, r: number): void {
    const bs = this.blocks;
    let i = 0;
    while (i < bs.length && seqLt(bs[i]!.right, l)) i++;
    let j = i;
    let nl = l;
    let nr = r;
    while (j < bs.length && seqLeq(bs[j]!.left, nr)) {
      nl = seqMin(nl, bs[j]!.left);
      nr = seqMax(nr, bs[j]!.right);
      this.sacked -= seqSub(bs[j]!.right, bs[j]!.left);
      j++;
    }
    bs.splice(i, j - i, { left: nl, right: nr });
    this.sacked += seqSub(nr, nl);
  }

  /** snd_una moved: forget what is below it. */
  advance(sndUna: number): void {
    const bs = this.blocks;
    while (bs.length > 0 && seqLeq(bs[0]!.right, sndUna)) {
      this.sacked -= seqSub(bs[0]!.right, bs[0]!.left);
      bs.shift();
    }
    const f = bs[0];
    if (f !== undefined && seqLt(f.left, sndUna)) {
      this.sacked -= seqSub(sndUna, f.left);
      f.left = sndUna;
    }
  }

  clear(): void {
    this.blocks.length = 0;
    this.sacked = 0;
  }

  isSacked(seq: number): boolean {
    for (const b of this.blocks) {
      if (seqLt(seq, b.left)) return false;
      if (seqLt(seq, b.right)) return true;
    }
    return false;
  }

  /** RFC 6675 IsLost: enough SACKed above `seq` to call it lost. */
  isLost(seq: number, mss: number): boolean {
    let runs = 0;
    let bytes = 0;
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const b = this.blocks[i]!;
      if (seqLeq(b.right, seq)) break;
      runs++;
      bytes += seqSub(b.right, seqMax(b.left, seq));
      if (runs >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1) * mss) return true;
    }
    return false;
  }

  /**
   * The first unSACKed range starting at or after `from` and below `limit`: [start, end), or
   * null. `end` stops at the next SACKed block (or `limit`).
   */
  nextHole(from: number, limit: number): SeqBlock | null {
    let s = from;
    for (const b of this.blocks) {
      if (seqLeq(b.right, s)) continue;
      if (seqLt(s, b.left)) {
        const e = seqMin(b.left, limit);
        return seqLt(s, e) ? { left: s, right: e } : null;
      }
      s = b.right;
    }
    return seqLt(s, limit) ? { left: s, right: limit } : null;
  }

  /**
   * RFC 6675 SetPipe: bytes believed in flight in [sndUna, sndMax): unSACKed bytes not deemed
   * lost, plus retransmitted bytes (below highRxt). `allLost` (after a timeout) deems every
   * unSACKed byte below `recover` lost.
   */
  pipe(sndUna: number, sndMax: number, highRxt: number, mss: number, allLost: boolean, recover: number): number {
    let pipe = 0;
    let s = sndUna;
    while (seqLt(s, sndMax)) {
      const h = this.nextHole(s, sndMax);
      if (h === null) break;
      const lost = allLost ? seqLt(h.left, recover) : this.isLost(h.left, mss);
      const len = seqSub(h.right, h.left);
      if (!lost) pipe += len;
      if (seqLt(h.left, highRxt)) pipe += seqSub(seqMin(h.right, highRxt), h.left);
      s = h.right;
    }
    return pipe;
  }
}

