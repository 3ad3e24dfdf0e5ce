/**
 * File system type detection and partition tables for ukfs: which file system an image holds,
 * and where (a whole-disk image's partitions).
 *
 * Signatures (each checked at the start of the file system, `base`):
 *   ext2/3/4   magic 0xEF53 (little-endian) at byte 1024 + 56 = 1080
 *   FFS        fs_magic at byte 1372 of the superblock, which sits at 65536 (UFS2), 8192
 *              (UFS1), 0 or 262144: 0x011954 (UFS1) or 0x19540119 (UFS2), either byte order
 *   ISO 9660   'CD001' at byte 32769 (the first volume descriptor, sector 16)
 *   FAT        0x55 0xAA at 510 and a plausible BIOS parameter block (bytes per sector a power
 *              of two 512..4096, sectors per cluster a power of two, reserved sectors >= 1,
 *              1 or 2 FATs, a media byte); FAT12/16/32 told apart by the type string
 * Partition tables: MBR (four primary entries; type 0xEE is a GPT protective entry) and GPT
 * (header 'EFI PART' at LBA 1). Offsets and sizes are checked against the image size; an entry
 * pointing outside is reported, not followed.
 *
 * All reads go through the rumpuser host contract, so detection works on any host.
 */

import { KernelError } from '../kern/errno.js';
import { hostError } from '../vfs/blockdev.js';
import { RUMPUSER_OPEN_RDONLY, type HostFile, type RumpUser } from '../rumpuser/rumpuser.js';

export interface Probe {
  /** Registry type name: 'ext2fs', 'ffs', 'msdos', 'cd9660'. */
  readonly fstype: string;
  /** What was seen: 'ext2 (0xEF53 at 1080)', 'FAT32'. */
  readonly what: string;
}

export interface Partition {
  /** 1-based, as users count them. */
  readonly index: number;
  readonly scheme: 'mbr' | 'gpt';
  /** Byte offset and size in the image. */
  readonly offset: number;
  readonly size: number;
  /** MBR type byte as hex ('83') or the GPT type GUID. */
  readonly type: string;
}

export interface Located {
  readonly fstype: string | null;
  readonly what: string;
  readonly offset: number;
  /** Bytes from offset (undefined: to the end of the image). */
  readonly size: number | undefined;
  readonly partition: number | null;
}

/** Random access to the image being probed. */
interface Reader {
  readonly size: number;
  /** Bytes at [off, off+len) (zeros past the end). */
  read(off: number, len: number): Promise<Uint8Array>;
}

const FS_UFS1_MAGIC = 0x011954;
const FS_UFS2_MAGIC = 0x19540119;
const SBLOCK_LOCATIONS = [65536, 8192, 0, 262144];
const FFS_MAGIC_OFFSET = 1372;

function u16(b: Uint8Array, o: number): number { return (b[o]! | (b[o + 1]! << 8)) >>> 0; }
function u32(b: Uint8Array, o: number): number { return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0; }
function u32be(b: Uint8Array, o: number): number { return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0; }
function u64(b: Uint8Array, o: number): number { return u32(b, o) + u32(b, o + 4) * 0x1_0000_0000; }
function ascii(b: Uint8Array, o: number, n: number): string { return String.fromCharCode(...b.subarray(o, o + n)); }
const isPow2 = (x: number): boolean => x > 0 && (x & (x - 1)) === 0;

/** A FAT boot sector's type, or null if the sector is not one. */
function fatType(bs: Uint8Array): string | null {
  if (bs[510] !== 0x55 || bs[511] !== 0xaa) return null;
  const jump = bs[0]!;
  if (jump !== 0xeb && jump !== 0xe9 && jump !== 0xe8) return null;
  const bps = u16(bs, 11), spc = bs[13]!, reserved = u16(bs, 14), nfats = bs[16]!, media = bs[21]!;
  if (!isPow2(bps) || bps < 512 || bps > 4096) return null;
  if (!isPow2(spc) || spc > 128) return null;
  if (reserved < 1 || (nfats !== 1 && nfats !== 2)) return null;
  if (media !== 0xf0 && media < 0xf8) return null;
  if (ascii(bs, 82, 5) === 'FAT32') return 'FAT32';
  const t = ascii(bs, 54, 5);
  if (t === 'FAT12' || t === 'FAT16') return t;
  // no type string: FAT32 keeps its FAT size in the 32-bit field (the 16-bit one is zero)
  return u16(bs, 22) === 0 ? 'FAT32' : 'FAT';
}

/** Which file system starts at `base`, or null. */
async function probeAt(r: Reader, base: number): Promise<Probe | null> {
  if (base + 1084 <= r.size) {
    const sb = await r.read(base + 1024, 60);
    if (u16(sb, 56) === 0xef53 && u32(sb, 24) <= 6) return { fstype: 'ext2fs', what: 'ext2/3/4 (magic 0xEF53 at byte 1080)' };
  }
  for (const loc of SBLOCK_LOCATIONS) {
    if (base + loc + FFS_MAGIC_OFFSET + 4 > r.size) continue;
    const m = await r.read(base + loc + FFS_MAGIC_OFFSET, 4);
    for (const v of [u32(m, 0), u32be(m, 0)]) {
      if (v === FS_UFS2_MAGIC) return { fstype: 'ffs', what: `FFS UFS2 (superblock at ${loc})` };
      if (v === FS_UFS1_MAGIC) return { fstype: 'ffs', what: `FFS UFS1 (superblock at ${loc})` };
    }
  }
  if (base + 32774 <= r.size) {
    const vd = await r.read(base + 32768, 6);
    if (ascii(vd, 1, 5) === 'CD001') return { fstype: 'cd9660', what: "ISO 9660 ('CD001' at byte 32769)" };
  }
  if (base + 512 <= r.size) {
    const t = fatType(await r.read(base, 512));
    if (t !== null) return { fstype: 'msdos', what: t };
  }
  return null;
}

/** The partitions of an MBR or GPT disk (empty if there is no table). */
async function partitions(r: Reader): Promise<Partition[]> {
  if (r.size < 1024) return [];
  const mbr = await r.read(0, 512);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa || fatType(mbr) !== null) return [];
  const out: Partition[] = [];
  let gpt = false;
  for (let i = 0; i < 4; i++) {
    const e = 446 + i * 16;
    const status = mbr[e]!, type = mbr[e + 4]!;
    if (status !== 0 && status !== 0x80) return []; // not a partition table after all
    if (type === 0) continue;
    if (type === 0xee) { gpt = true; continue; }
    out.push({ index: i + 1, scheme: 'mbr', offset: u32(mbr, e + 8) * 512, size: u32(mbr, e + 12) * 512, type: type.toString(16).padStart(2, '0') });
  }
  if (!gpt) return out;
  const hdr = await r.read(512, 92);
  if (ascii(hdr, 0, 8) !== 'EFI PART') return out;
  const entLba = u64(hdr, 72), count = u32(hdr, 80), esize = u32(hdr, 84);
  if (esize < 128 || esize > 4096 || count > 1024) return out;
  const table = await r.read(entLba * 512, count * esize);
  const gptParts: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = i * esize;
    const typeGuid = table.subarray(e, e + 16);
    if (typeGuid.every((x) => x === 0)) continue;
    const first = u64(table, e + 32), last = u64(table, e + 40);
    if (last < first) continue;
    gptParts.push({
      index: i + 1, scheme: 'gpt', offset: first * 512, size: (last - first + 1) * 512,
      type: [...typeGuid].map((x) => x.toString(16).padStart(2, '0')).join(''),
    });
  }
  return gptParts;
}

async function openReader(host: RumpUser, path: string): Promise<{ r: Reader; f: HostFile }> {
  let f: HostFile;
  try {
    f = await host.open(path, RUMPUSER_OPEN_RDONLY);
  } catch (e) {
    throw hostError(e, `image ${path}`);
  }
  const size = await f.size();
  const r: Reader = {
    size,
    async read(off, len) {
      const b = new Uint8Array(len);
      if (off < size) await f.read(b.subarray(0, Math.min(len, size - off)), off);
      return b;
    },
  };
  return { r, f };
}

export interface LocateOptions {
  /** Byte offset of the file system in the image (skips partition tables). */
  offset?: number;
  /** Bytes of the file system (default: to the end of the image or partition). */
  size?: number;
  /** 1-based partition number of an MBR or GPT disk image. */
  partition?: number;
  /** Known type: detection only confirms nothing, but the partition still applies. */
  fstype?: string;
}

/**
 * Find the file system in an image: at `offset` (default 0), in the given partition, or, when
 * nothing is found at the start of a partitioned disk, in its only partition that holds a known
 * file system. EFTYPE when nothing is recognised, EINVAL when several partitions are candidates.
 */
export async function locateFs(host: RumpUser, image: string, opts: LocateOptions = {}): Promise<Located> {
  const { r, f } = await openReader(host, image);
  try {
    const check = (offset: number, size: number | undefined, what: string): void => {
      if (!Number.isSafeInteger(offset) || offset < 0) throw new KernelError('EINVAL', `${what}: offset ${String(offset)} is not a non-negative integer`);
      if (size !== undefined && (!Number.isSafeInteger(size) || size <= 0)) throw new KernelError('EINVAL', `${what}: size ${String(size)} is not a positive integer`);
      if (offset + (size ?? 0) > r.size) throw new KernelError('EINVAL', `${what} (${offset}+${size ?? 0}) lies past the end of ${image} (${r.size} bytes)`);
    };
    if (opts.partition !== undefined) {
      if (opts.offset !== undefined) throw new KernelError('EINVAL', 'give a partition or an offset, not both');
      const parts = await partitions(r);
      if (parts.length === 0) throw new KernelError('EINVAL', `${image} has no MBR or GPT partition table (partition ${opts.partition} asked for)`);
      const p = parts.find((x) => x.index === opts.partition);
      if (p === undefined) throw new KernelError('ENXIO', `${image} has no partition ${opts.partition} (has ${parts.map((x) => x.index).join(', ')})`);
      check(p.offset, p.size, `partition ${p.index}`);
      const size = opts.size ?? p.size;
      const probe = opts.fstype === undefined ? await probeAt(r, p.offset) : null;
      return { fstype: opts.fstype ?? probe?.fstype ?? null, what: probe?.what ?? `partition ${p.index}`, offset: p.offset, size, partition: p.index };
    }
    const offset = opts.offset ?? 0;
    check(offset, opts.size, 'file system');
    if (opts.fstype !== undefined) return { fstype: opts.fstype, what: opts.fstype, offset, size: opts.size, partition: null };
    const probe = await probeAt(r, offset);
    if (probe !== null) return { fstype: probe.fstype, what: probe.what, offset, size: opts.size, partition: null };
    if (opts.offset === undefined) {
      const found: { p: Partition; probe: Probe }[] = [];
      for (const p of await partitions(r)) {
        if (p.offset + p.size > r.size || p.size === 0) continue;
        const pr = await probeAt(r, p.offset);
        if (pr !== null) found.push({ p, probe: pr });
      }
      if (found.length === 1) {
        const { p, probe: pr } = found[0]!;
        return { fstype: pr.fstype, what: `${pr.what} in ${p.scheme.toUpperCase()} partition ${p.index}`, offset: p.offset, size: p.size, partition: p.index };
      }
      if (found.length > 1) {
        throw new KernelError('EINVAL', `${image} has ${found.length} partitions with file systems (${found.map((x) => `${x.p.index}: ${x.probe.fstype}`).join(', ')}); choose one with partition=N`);
      }
    }
    throw new KernelError('EFTYPE', `no known file system in ${image}${offset !== 0 ? ` at offset ${offset}` : ''} (looked for ext2, FFS, FAT and ISO 9660 signatures); give the type with -t`);
  } finally {
    await f.close().catch(() => undefined);
  }
}

/** Just the type of the file system at the start of an image (null if not recognised). */
export async function detectFsType(host: RumpUser, image: string): Promise<string | null> {
  try {
    return (await locateFs(host, image)).fstype;
  } catch (e) {
    if (e instanceof KernelError && (e.code === 'EFTYPE' || e.code === 'EINVAL')) return null;
    throw e;
  }
}

/** For tests and tools: the partitions of a disk image. */
export async function listPartitions(host: RumpUser, image: string): Promise<Partition[]> {
  const { r, f } = await openReader(host, image);
  try {
    return await partitions(r);
  } finally {
    await f.close().catch(() => undefined);
  }
}
