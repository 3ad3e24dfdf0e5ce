/**
 * The classic libpcap file format: a 24-byte file header, then per frame a 16-byte record
 * header and the captured bytes.
 *
 * Writing produces byte arrays; where they go (a host file through rumpuser, a buffer) is the
 * caller's business, and so is the clock: timestamps are arguments. We write little-endian,
 * microsecond files (magic 0xa1b2c3d4, version 2.4), which every reader takes; reading accepts
 * either byte order and the nanosecond variant (0xa1b23c4d).
 */

import { WireError } from './error.js';

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** tcpdump's default snapshot length. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export interface PcapFileHeader {
  linktype: number;
  snaplen: number;
  /** Fractions in records are nanoseconds (else microseconds). */
  nanoseconds: boolean;
  /** Byte order of the file's numbers (reading only; we write little-endian). */
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
}

export interface PcapTime {
  sec: number;
  /** Nanoseconds within the second. */
  nsec: number;
}

export function pcapTimeFromNs(ns: bigint): PcapTime {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

export function pcapTimeFromMs(ms: number): PcapTime {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

export interface PcapRecord {
  time: PcapTime;
  /** Length of the frame on the wire (may exceed data.length when truncated by the snaplen). */
  origLen: number;
  /** The captured bytes (aliasing the file buffer when read). */
  data: Uint8Array;
}

export interface PcapWriteOptions {
  linktype?: number;
  snaplen?: number;
  nanoseconds?: boolean;
}

/** The 24-byte file header. */
export function pcapFileHeader(opts?: PcapWriteOptions): Uint8Array {
  const b = new Uint8Array(PCAP_FILE_HEADER_LEN);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, opts?.nanoseconds === true ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, true);
  dv.setUint16(4, PCAP_VERSION_MAJOR, true);
  dv.setUint16(6, PCAP_VERSION_MINOR, true);
  dv.setInt32(8, 0, true); // thiszone: timestamps are UTC
  dv.setUint32(12, 0, true); // sigfigs
  dv.setUint32(16, opts?.snaplen ?? PCAP_DEFAULT_SNAPLEN, true);
  dv.setUint32(20, opts?.linktype ?? LINKTYPE_ETHERNET, true);
  return b;
}

/**
 * Write a record header at buf[off, off+16) for a frame of `origLen` bytes of which `capLen`
 * are captured.
 */
export function emitPcapRecordHeader(buf: Uint8Array, off: number, time: PcapTime, capLen: number, origLen: number, nanoseconds = false): void {
  const dv = new DataView(buf.buffer, buf.byteOffset + off, PCAP_RECORD_HEADER_LEN);
  dv.setUint32(0, time.sec >>> 0, true);
  dv.setUint32(4, nanoseconds ? time.nsec : Math.floor(time.nsec / 1000), true);
  dv.setUint32(8, capLen, true);
  dv.setUint32(12, origLen, true);
}

/**
 * Builds a capture: the file header once, then one byte array per frame (record header and
 * data, cut to the snaplen). Holds no I/O and no clock.
 */
export class PcapWriter {
  readonly snaplen: number;
  readonly nanoseconds: boolean;
  readonly linktype: number;
  /** Frames written. */
  records = 0;

  constructor(opts?: PcapWriteOptions) {
    this.snaplen = opts?.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    this.nanoseconds = opts?.nanoseconds ?? false;
    this.linktype = opts?.linktype ?? LINKTYPE_ETHERNET;
  }

  header(): Uint8Array {
    return pcapFileHeader({ snaplen: this.snaplen, nanoseconds: this.nanoseconds, linktype: this.linktype });
  }

  /** One record for a frame given as one or more pieces (an mbuf's segments). */
  record(time: PcapTime, ...pieces: Uint8Array[]): Uint8Array {
    let origLen = 0;
    for (const p of pieces) origLen += p.length;
    const capLen = Math.min(origLen, this.snaplen);
    const out = new Uint8Array(PCAP_RECORD_HEADER_LEN + capLen);
    emitPcapRecordHeader(out, 0, time, capLen, origLen, this.nanoseconds);
    let o = PCAP_RECORD_HEADER_LEN;
    for (const p of pieces) {
      const n = Math.min(p.length, PCAP_RECORD_HEADER_LEN + capLen - o);
      if (n <= 0) break;
      out.set(n === p.length ? p : p.subarray(0, n), o);
      o += n;
    }
    this.records++;
    return out;
  }

  /** A whole file in one array. */
  file(frames: readonly { time: PcapTime; data: Uint8Array }[]): Uint8Array {
    const parts = [this.header(), ...frames.map((f) => this.record(f.time, f.data))];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

function perr(kind: 'truncated' | 'malformed' | 'unsupported', field: string, detail: string, at: number): WireError {
  return new WireError('pcap', kind, field, detail, at);
}

/** Parse the file header at the start of a capture. */
export function parsePcapFileHeader(buf: Uint8Array): PcapFileHeader | WireError {
  if (buf.length < PCAP_FILE_HEADER_LEN) return perr('truncated', 'header', `file of ${buf.length} bytes < 24 byte header`, 0);
  const dv = new DataView(buf.buffer, buf.byteOffset, PCAP_FILE_HEADER_LEN);
  let le: boolean;
  let magic = dv.getUint32(0, true);
  if (magic === PCAP_MAGIC_USEC || magic === PCAP_MAGIC_NSEC) {
    le = true;
  } else {
    magic = dv.getUint32(0, false);
    if (magic !== PCAP_MAGIC_USEC && magic !== PCAP_MAGIC_NSEC) {
      return perr('malformed', 'magic', `magic 0x${dv.getUint32(0, false).toString(16)} is not a pcap file (pcapng is not supported)`, 0);
    }
    le = false;
  }
  const versionMajor = dv.getUint16(4, le);
  if (versionMajor !== PCAP_VERSION_MAJOR) return perr('unsupported', 'version', `version ${versionMajor}.${dv.getUint16(6, le)} (only 2.x)`, 4);
  return {
    linktype: dv.getUint32(20, le) & 0x0fff_ffff,
    snaplen: dv.getUint32(16, le),
    nanoseconds: magic === PCAP_MAGIC_NSEC,
    littleEndian: le,
    versionMajor,
    versionMinor: dv.getUint16(6, le),
  };
}

export interface PcapCapture {
  header: PcapFileHeader;
  records: PcapRecord[];
}

/** Parse a whole capture; a record running past the end of the buffer is an error. */
export function readPcap(buf: Uint8Array): PcapCapture | WireError {
  const header = parsePcapFileHeader(buf);
  if (header instanceof WireError) return header;
  const le = header.littleEndian;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const records: PcapRecord[] = [];
  let o = PCAP_FILE_HEADER_LEN;
  while (o < buf.length) {
    const n = records.length + 1;
    if (o + PCAP_RECORD_HEADER_LEN > buf.length) return perr('truncated', 'record', `record ${n} header at offset ${o} cut short`, o);
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const capLen = dv.getUint32(o + 8, le);
    const origLen = dv.getUint32(o + 12, le);
    if (capLen > buf.length - o - PCAP_RECORD_HEADER_LEN) {
      return perr('truncated', 'captureLength', `record ${n} claims ${capLen} bytes, ${buf.length - o - PCAP_RECORD_HEADER_LEN} remain`, o + 8);
    }
    if (capLen > origLen) return perr('malformed', 'captureLength', `record ${n} captured ${capLen} bytes > original length ${origLen}`, o + 8);
    o += PCAP_RECORD_HEADER_LEN;
    records.push({ time: { sec, nsec: header.nanoseconds ? frac : frac * 1000 }, origLen, data: buf.subarray(o, o + capLen) });
    o += capLen;
  }
  return { header, records };
}
