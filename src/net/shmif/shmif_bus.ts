/**
 * The shmif bus format (NetBSD's shmifvar.h and shmif_busops.c, version 3), as a pure codec over
 * any byte store: a 32-byte header followed by a ring of frames.
 *
 *   header (little-endian here; NetBSD writes host order, which is the same on x86):
 *     0  u32 magic 0xca11d054        16 u32 first: offset of the oldest frame (BUSMEM_DATASIZE
 *     4  u32 version 3                      while the ring has never wrapped)
 *     8  u64 generation: +1 each time  20 u32 last: offset of the newest frame
 *           a write runs past the end  24 u32 lock word (0 free, 1 held; taken by CAS)
 *                                      28 u32 spare: we count frames written here (see below)
 *   frame header (24 bytes, amd64 layout of struct shmif_pkthdr):
 *     0 u32 length of the frame   4 u32 seconds   8 u32 microseconds   12 pad   16 u64 sender id
 *
 * Offsets of frames are relative to the data area (byte 32), which is the rest of the bus (1 MiB
 * in all by default: BUSMEM_SIZE). Frames follow each other without gaps and wrap around the end
 * of the ring, split where they cross it. A writer (holding the lock) places its frame after the
 * newest one, first moving `first` past every frame whose header it overwrites; crossing the end
 * bumps the generation. A reader keeps (next offset, generation); when the writers have lapped it
 * its position is no longer between first and last ("stillvalid"), it is overrun and restarts at
 * `first`. A fresh bus holds an empty pseudo frame at offset 0 (length 0), so the first real frame
 * is at 24, as NetBSD's.
 *
 * Lost-frame counting: NetBSD's format cannot say how many frames a lapped reader missed. Our
 * writers count every frame in the spare word (NetBSD's writers leave it alone, so with them on
 * the bus the count is a lower bound); a reader knows how many frames it consumed and, when
 * overrun, how many are still in the ring, so the difference is what it lost.
 *
 * The codec holds no lock and no clock: callers hold the bus lock around `busWriteFrame` /
 * `busReadFrame` and pass timestamps in. Bad numbers in a bus (a hostile or corrupt file) are
 * reported as `ShmifBusError`, never followed out of range.
 */

export const SHMIF_MAGIC = 0xca11d054;
export const SHMIF_VERSION = 3;
export const SHMIF_HDR_LEN = 32;
export const SHMIF_PKTHDR_LEN = 24;
/** NetBSD's fixed bus size (BUSMEM_SIZE). */
export const BUSMEM_SIZE = 1024 * 1024;
/** Offsets of the header words. */
export const OFF_MAGIC = 0;
export const OFF_VERSION = 4;
export const OFF_GEN = 8;
export const OFF_FIRST = 16;
export const OFF_LAST = 20;
export const OFF_LOCK = 24;
export const OFF_SPARE = 28;
/** Lock word values. */
export const LOCK_UNLOCKED = 0;
export const LOCK_LOCKED = 1;
/** The largest frame we accept reading: a 64 KiB payload plus the Ethernet header. */
export const SHMIF_MAX_FRAME = 65535 + 14;

/** Byte access to a bus (absolute offsets, header included). */
export interface BusIO {
  /** Bytes in the bus, header included. */
  readonly size: number;
  read(off: number, dst: Uint8Array): void;
  write(off: number, src: Uint8Array): void;
}

export class ShmifBusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShmifBusError';
  }
}

export interface ShmifHeader {
  magic: number;
  version: number;
  gen: number;
  first: number;
  last: number;
  lock: number;
  /** Frames written by writers that count them (ours). */
  frames: number;
  /** Cache: offset just past the newest frame (-1: not computed since `last` changed). */
  lastNext: number;
}

export interface ShmifFrameHeader {
  len: number;
  sec: number;
  usec: number;
  sender: bigint;
}

/** Bytes of ring in a bus of `size` bytes. */
export function dataSize(size: number): number {
  return size - SHMIF_HDR_LEN;
}

export function parseHeader(b: Uint8Array): ShmifHeader {
  if (b.length < SHMIF_HDR_LEN) throw new ShmifBusError(`bus of ${b.length} bytes is shorter than its ${SHMIF_HDR_LEN}-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, SHMIF_HDR_LEN);
  return {
    magic: dv.getUint32(OFF_MAGIC, true),
    version: dv.getUint32(OFF_VERSION, true),
    gen: Number(dv.getBigUint64(OFF_GEN, true)),
    first: dv.getUint32(OFF_FIRST, true),
    last: dv.getUint32(OFF_LAST, true),
    lock: dv.getUint32(OFF_LOCK, true),
    frames: dv.getUint32(OFF_SPARE, true),
    lastNext: -1,
  };
}

export function readHeader(io: BusIO): ShmifHeader {
  const b = new Uint8Array(SHMIF_HDR_LEN);
  io.read(0, b);
  return parseHeader(b);
}

/** Check magic, version and offsets of a header read from a bus of `size` bytes. */
export function checkHeader(h: ShmifHeader, size: number): void {
  if (size < SHMIF_HDR_LEN + 4 * SHMIF_PKTHDR_LEN) throw new ShmifBusError(`bus of ${size} bytes is too small`);
  if (h.magic !== SHMIF_MAGIC) throw new ShmifBusError(`bus magic 0x${h.magic.toString(16)} is not 0x${SHMIF_MAGIC.toString(16)}`);
  if (h.version !== SHMIF_VERSION && h.version !== 0) throw new ShmifBusError(`bus version ${h.version} (only ${SHMIF_VERSION})`);
  const ds = dataSize(size);
  if (h.first > ds) throw new ShmifBusError(`first frame offset ${h.first} beyond the ring of ${ds} bytes`);
  if (h.last >= ds) throw new ShmifBusError(`last frame offset ${h.last} beyond the ring of ${ds} bytes`);
}

/** Make a zeroed bus a fresh one (under the lock, when magic is 0). */
export function initHeader(io: BusIO): ShmifHeader {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, SHMIF_MAGIC, true);
  dv.setUint32(4, SHMIF_VERSION, true);
  io.write(0, b);
  const f = new Uint8Array(4);
  new DataView(f.buffer).setUint32(0, dataSize(io.size), true);
  io.write(OFF_FIRST, f);
  return readHeader(io);
}

/**
 * Start the ring over (a writer found it corrupt): empty ring, pseudo frame at 0, generation
 * moved on by 2 so every reader sees it was overrun and resynchronises. Magic and version are
 * rewritten; the caller holds the lock.
 */
export function busReset(io: BusIO, h: ShmifHeader): void {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, SHMIF_MAGIC, true);
  dv.setUint32(4, SHMIF_VERSION, true);
  io.write(0, b);
  io.write(SHMIF_HDR_LEN, new Uint8Array(SHMIF_PKTHDR_LEN));
  h.magic = SHMIF_MAGIC;
  h.version = SHMIF_VERSION;
  h.gen += 2;
  h.first = dataSize(io.size);
  h.last = 0;
  h.lastNext = -1;
  writeHeaderState(io, h);
}

/** Write back what a writer changes: generation, first, last and the frame count. */
export function writeHeaderState(io: BusIO, h: ShmifHeader): void {
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(h.gen), true);
  dv.setUint32(8, h.first, true);
  dv.setUint32(12, h.last, true);
  io.write(OFF_GEN, b);
  const s = new Uint8Array(4);
  new DataView(s.buffer).setUint32(0, h.frames >>> 0, true);
  io.write(OFF_SPARE, s);
}

export function emitFrameHeader(fh: ShmifFrameHeader): Uint8Array {
  const b = new Uint8Array(SHMIF_PKTHDR_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, fh.len, true);
  dv.setUint32(4, fh.sec >>> 0, true);
  dv.setUint32(8, fh.usec >>> 0, true);
  dv.setBigUint64(16, BigInt.asUintN(64, fh.sender), true);
  return b;
}

export function parseFrameHeader(b: Uint8Array): ShmifFrameHeader {
  const dv = new DataView(b.buffer, b.byteOffset, SHMIF_PKTHDR_LEN);
  return { len: dv.getUint32(0, true), sec: dv.getUint32(4, true), usec: dv.getUint32(8, true), sender: dv.getBigUint64(16, true) };
}

/** Read dst.length bytes of ring at `off` (wrapping); the offset after them and whether the end was reached. */
export function ringRead(io: BusIO, off: number, dst: Uint8Array): { next: number; wrap: boolean } {
  const ds = dataSize(io.size);
  if (dst.length >= ds / 2 || off > ds) throw new ShmifBusError(`ring read of ${dst.length} bytes at ${off} outside a ring of ${ds}`);
  const chunk = Math.min(dst.length, ds - off);
  io.read(SHMIF_HDR_LEN + off, dst.subarray(0, chunk));
  const wrap = off + chunk === ds;
  const rest = dst.length - chunk;
  if (rest === 0) return { next: (off + chunk) % ds, wrap };
  io.read(SHMIF_HDR_LEN, dst.subarray(chunk));
  return { next: rest, wrap };
}

/** Offset of the frame after the one at `off` (shmif_nextpktoff). */
export function nextPktOff(io: BusIO, off: number): number {
  const ds = dataSize(io.size);
  if (off >= ds) throw new ShmifBusError(`frame offset ${off} outside a ring of ${ds}`);
  const b = new Uint8Array(4);
  ringRead(io, off, b);
  const len = new DataView(b.buffer).getUint32(0, true);
  if (len > SHMIF_MAX_FRAME) throw new ShmifBusError(`frame at ${off} claims ${len} bytes`);
  return (off + SHMIF_PKTHDR_LEN + len) % ds;
}

/** Offset just past the newest frame (cached in `h`). */
function lastNextOff(io: BusIO, h: ShmifHeader): number {
  if (h.lastNext < 0) h.lastNext = nextPktOff(io, h.last);
  return h.lastNext;
}

/** Move `first` past every frame whose header a write of `len` bytes at `off` destroys. */
function advanceFirst(io: BusIO, h: ShmifHeader, off: number, len: number): void {
  const ds = dataSize(io.size);
  // never wrapped yet: the oldest frame is the pseudo frame at 0 (NetBSD leaves first at ds)
  if (h.first === ds) {
    if (off + len <= ds) return;
    h.first = 0;
  }
  for (let guard = ds / SHMIF_PKTHDR_LEN + 2; guard > 0 && off <= h.first + SHMIF_PKTHDR_LEN && off + len > h.first; guard--) {
    h.first = nextPktOff(io, h.first);
  }
}

/** Write src into the ring at `off` (shmif_buswrite); `wrapped.wrap` set when the end was reached. */
function ringWrite(io: BusIO, h: ShmifHeader, off: number, src: Uint8Array, wrapped: { wrap: boolean }): number {
  const ds = dataSize(io.size);
  const chunk = Math.min(src.length, ds - off);
  const filled = off + chunk === ds;
  advanceFirst(io, h, off, chunk + (filled ? 1 : 0));
  io.write(SHMIF_HDR_LEN + off, src.subarray(0, chunk));
  if (filled) wrapped.wrap = true;
  const rest = src.length - chunk;
  if (rest === 0) return (off + chunk) % ds;
  advanceFirst(io, h, 0, rest);
  io.write(SHMIF_HDR_LEN, src.subarray(chunk));
  return rest;
}

/**
 * Append one frame (the caller holds the bus lock and has read `h`, which is updated and written
 * back). `pieces` are the frame's bytes (an mbuf's segments).
 */
export function busWriteFrame(io: BusIO, h: ShmifHeader, pieces: readonly Uint8Array[], sec: number, usec: number, sender: bigint): void {
  let len = 0;
  for (const p of pieces) len += p.length;
  const ds = dataSize(io.size);
  if (len + SHMIF_PKTHDR_LEN >= ds / 2 || len > SHMIF_MAX_FRAME) throw new ShmifBusError(`frame of ${len} bytes does not fit a ring of ${ds}`);
  h.last = nextPktOff(io, h.last);
  h.lastNext = -1;
  const w = { wrap: false };
  let off = ringWrite(io, h, h.last, emitFrameHeader({ len, sec, usec, sender }), w);
  for (const p of pieces) if (p.length > 0) off = ringWrite(io, h, off, p, w);
  if (w.wrap) h.gen++;
  h.frames = (h.frames + 1) >>> 0;
  writeHeaderState(io, h);
}

/** Where a reader is: the offset of its next frame, the generation it is in, frames consumed. */
export interface ShmifReader {
  next: number;
  gen: number;
  /** Frames consumed (counted modulo 2^32 as the spare word counts them). */
  seq: number;
  overruns: number;
  lost: number;
}

/** A reader starting now: it sees frames written from here on. */
export function newReader(io: BusIO, h: ShmifHeader): ShmifReader {
  return { next: nextPktOff(io, h.last), gen: h.gen, seq: h.frames, overruns: 0, lost: 0 };
}

/** Is the reader's position still inside the ring (not overwritten)? (stillvalid_p) */
function stillValid(io: BusIO, h: ShmifHeader, r: ShmifReader): boolean {
  const ds = dataSize(io.size);
  const gendiff = h.gen - r.gen;
  if (gendiff > 1 || gendiff < 0) return false;
  let devoff = r.next;
  let lastoff = lastNextOff(io, h);
  if (h.first >= lastoff) {
    lastoff += ds;
    if (gendiff === 0) devoff += ds;
  } else if (gendiff !== 0) {
    return false;
  }
  return devoff >= h.first && devoff <= lastoff;
}

/** Frames in the ring from first to last (real ones: length > 0). */
export function countFrames(io: BusIO, h: ShmifHeader): number {
  const ds = dataSize(io.size);
  const lastNext = nextPktOff(io, h.last);
  let off = h.first === ds ? 0 : h.first;
  let n = 0;
  for (let guard = ds / SHMIF_PKTHDR_LEN + 2; guard > 0 && off !== lastNext; guard--) {
    const b = new Uint8Array(4);
    ringRead(io, off, b);
    if (new DataView(b.buffer).getUint32(0, true) > 0) n++;
    off = nextPktOff(io, off);
  }
  return n;
}

export interface ShmifFrame {
  header: ShmifFrameHeader;
  data: Uint8Array;
}

/**
 * The reader's next frame, or null when it has read everything (caller holds the lock, `h` read
 * under it). An overrun is counted in the reader and it continues from the oldest frame.
 * Empty pseudo frames come back with data.length 0; callers skip them. Frames of `skipSender`
 * come back with their header and no data (not copied).
 */
export function busReadFrame(io: BusIO, h: ShmifHeader, r: ShmifReader, skipSender?: bigint): ShmifFrame | null {
  if (r.gen === h.gen && lastNextOff(io, h) === r.next) return null;
  if (!stillValid(io, h, r)) {
    const ds = dataSize(io.size);
    r.overruns++;
    const inRing = countFrames(io, h);
    const firstSeq = (h.frames - inRing) >>> 0;
    const lost = (firstSeq - r.seq) >>> 0;
    if (lost > 0 && lost < 0x8000_0000) r.lost += lost;
    r.seq = firstSeq;
    r.next = h.first === ds ? 0 : h.first;
    r.gen = h.first > h.last && h.first !== ds ? h.gen - 1 : h.gen;
  }
  const hb = new Uint8Array(SHMIF_PKTHDR_LEN);
  const a = ringRead(io, r.next, hb);
  const fh = parseFrameHeader(hb);
  if (fh.len > SHMIF_MAX_FRAME) throw new ShmifBusError(`frame at ${r.next} claims ${fh.len} bytes`);
  let data: Uint8Array;
  let b: { next: number; wrap: boolean };
  if (skipSender !== undefined && fh.sender === skipSender) {
    // the caller's own frame: step over it without copying
    const ds = dataSize(io.size);
    data = new Uint8Array(0);
    b = { next: (a.next + fh.len) % ds, wrap: fh.len > 0 && a.next + fh.len >= ds };
  } else {
    data = new Uint8Array(fh.len);
    b = fh.len > 0 ? ringRead(io, a.next, data) : { next: a.next, wrap: false };
  }
  r.next = b.next;
  if (a.wrap || b.wrap) r.gen++;
  if (fh.len > 0) r.seq = (r.seq + 1) >>> 0;
  return { header: fh, data };
}

/** A BusIO over bytes in memory (a whole bus file read at once, a SharedArrayBuffer). */
export function bytesBusIO(bytes: Uint8Array): BusIO {
  return {
    size: bytes.length,
    read(off, dst) { dst.set(bytes.subarray(off, off + dst.length)); },
    write(off, src) { bytes.set(src, off); },
  };
}

/** Every frame in the ring, oldest first (shmif_dumpbus); pseudo frames left out. */
export function busFrames(io: BusIO): ShmifFrame[] {
  const h = readHeader(io);
  checkHeader(h, io.size);
  const ds = dataSize(io.size);
  const out: ShmifFrame[] = [];
  if (h.first === ds && h.last === 0) return out;
  const lastNext = nextPktOff(io, h.last);
  let off = h.first === ds ? 0 : h.first;
  for (let guard = ds / SHMIF_PKTHDR_LEN + 2; guard > 0 && off !== lastNext; guard--) {
    const hb = new Uint8Array(SHMIF_PKTHDR_LEN);
    const a = ringRead(io, off, hb);
    const fh = parseFrameHeader(hb);
    if (fh.len > SHMIF_MAX_FRAME) throw new ShmifBusError(`frame at ${off} claims ${fh.len} bytes`);
    const data = new Uint8Array(fh.len);
    const b = fh.len > 0 ? ringRead(io, a.next, data) : a;
    if (fh.len > 0) out.push({ header: fh, data });
    off = b.next;
  }
  return out;
}
