/**
 * The reassembly queue (NetBSD's tcp_reass): segments that arrived above rcv_nxt, kept sorted
 * and non-overlapping until the hole before them fills. Input has already trimmed every segment
 * to the receive window, so the bytes held are bounded by the window; the number of segments is
 * bounded by `maxSegs` (a peer sending many tiny pieces), beyond which new pieces are dropped
 * (and counted) rather than queued.
 *
 * The queue also feeds SACK generation (sack.ts): its blocks are exactly the runs of queued
 * sequence space, and `lastBlock` remembers where the most recent arrival landed (RFC 2018
 * wants that block reported first).
 */

import { seqAdd, seqGt, seqGeq, seqLeq, seqLt, seqSub } from '../../wire/seq.js';

export interface ReassSeg {
  seq: number;
  data: Uint8Array;
  /** The segment carried a FIN (after its data). */
  fin: boolean;
}

export interface SeqBlock {
  left: number;
  right: number;
}

export class ReassQueue {
  /** Sorted by seq, non-overlapping. */
  readonly segs: ReassSeg[] = [];
  /** Data bytes held. */
  bytes = 0;
  /** Sequence number of the most recently queued byte (for SACK ordering), or null. */
  lastSeq: number | null = null;

  constructor(public maxSegs: number) {}

  get empty(): boolean { return this.segs.length === 0; }

  /**
   * Insert a segment (above rcv_nxt). Overlaps with queued data are trimmed off the new segment
   * (old data wins, as NetBSD does). Returns the new bytes queued, or -1 when the queue is full.
   */
  insert(seq: number, data: Uint8Array, fin: boolean): number {
    const segs = this.segs;
    const end = seqAdd(seq, data.byteLength);
    // the first queued segment ending after seq (or holding a FIN at seq)
    let i = 0;
    while (i < segs.length && seqLt(seqAdd(segs[i]!.seq, segs[i]!.data.byteLength), seq)) i++;
    // the parts of [seq, end) nothing queued covers yet
    const pieces: ReassSeg[] = [];
    let cur = seq;
    let finDone = !fin;
    for (let j = i; j < segs.length && seqLt(cur, end); j++) {
      const s = segs[j]!;
      if (seqGeq(s.seq, end)) break;
      if (seqLt(cur, s.seq)) pieces.push({ seq: cur, data: data.subarray(seqSub(cur, seq), seqSub(s.seq, seq)), fin: false });
      const sEnd = seqAdd(s.seq, s.data.byteLength);
      if (seqGt(sEnd, cur)) cur = sEnd;
      if (!finDone && sEnd === end) {
        s.fin = true;
        finDone = true;
      }
    }
    if (seqLt(cur, end) || (!finDone && cur === end && data.byteLength === 0)) {
      pieces.push({ seq: cur, data: data.subarray(seqSub(cur, seq)), fin: !finDone });
      finDone = true;
    } else if (!finDone) {
      const last = pieces[pieces.length - 1];
      if (last !== undefined && seqAdd(last.seq, last.data.byteLength) === end) last.fin = true;
    }
    this.lastSeq = seq;
    if (pieces.length === 0) return 0;
    if (segs.length + pieces.length > this.maxSegs) return -1;
    let added = 0;
    let k = i;
    for (const p of pieces) {
      while (k < segs.length && seqLeq(segs[k]!.seq, p.seq)) k++;
      segs.splice(k, 0, p);
      k++;
      added += p.data.byteLength;
    }
    this.bytes += added;
    return added;
  }

  /**
   * Take the segments that now continue at `rcvNxt` (and drop any wholly below it). Returns
   * them in order; a piece partly below rcvNxt is trimmed.
   */
  takeFrom(rcvNxt: number): ReassSeg[] {
    const out: ReassSeg[] = [];
    let nxt = rcvNxt;
    while (this.segs.length > 0) {
      const s = this.segs[0]!;
      const end = seqAdd(s.seq, s.data.byteLength);
      if (seqGt(s.seq, nxt)) break;
      this.segs.shift();
      this.bytes -= s.data.byteLength;
      if (seqLeq(end, nxt) && !(s.fin && end === nxt)) continue;
      const trim = seqSub(nxt, s.seq);
      const data = trim > 0 ? s.data.subarray(trim) : s.data;
      out.push({ seq: nxt, data, fin: s.fin });
      nxt = seqAdd(nxt, data.byteLength);
      if (s.fin) break;
    }
    return out;
  }

  /** The runs of queued sequence space, in order. */
  blocks(): SeqBlock[] {
    const out: SeqBlock[] = [];
    for (const s of this.segs) {
      if (s.data.byteLength === 0) continue;
      const end = seqAdd(s.seq, s.data.byteLength);
      const last = out[out.length - 1];
      if (last !== undefined && last.right === s.seq) last.right = end;
      else out.push({ left: s.seq, right: end });
    }
    return out;
  }

  clear(): void {
    this.segs.length = 0;
    this.bytes = 0;
    this.lastSeq = null;
  }
}
