/**
 * Image I/O for the offline ext2 tools (newfs_ext2fs, makefs, fsck_ext2fs).
 *
 * The tools work on an image directly, like e2fsprogs and NetBSD's makefs, not through a mounted
 * kernel. They never touch the host themselves: the caller (src/bin/*) passes an `ImageIO` with
 * three operations on byte offsets. `memoryImage` is a pure in-memory implementation (tests,
 * browsers). `BlockWriter` coalesces writes of consecutive blocks into large writes, which is
 * what makes a one-pass makefs fast: its allocator hands out blocks in ascending order.
 */

export { memoryImage, type ImageIO } from '../../image_io.js';
import type { ImageIO } from '../../image_io.js';

/**
 * Writes blocks through a buffer that grows while blocks arrive in ascending, contiguous order
 * and is written out in one call when the order breaks, when it is full, or on `flush`.
 */
export class BlockWriter {
  readonly #io: ImageIO;
  readonly #bs: number;
  readonly #buf: Uint8Array;
  /** First block in the buffer, and how many blocks it holds. */
  #start = 0;
  #count = 0;
  /** Bytes written to the image so far (for progress). */
  written = 0;

  constructor(io: ImageIO, blockSize: number, bufferBytes = 1 << 20) {
    this.#io = io;
    this.#bs = blockSize;
    this.#buf = new Uint8Array(Math.max(blockSize, Math.floor(bufferBytes / blockSize) * blockSize));
  }

  /** Queue `data` (a whole number of blocks, or less: the rest of its last block is zero) at block `pblk`. */
  async write(pblk: number, data: Uint8Array): Promise<void> {
    const bs = this.#bs;
    const nblocks = Math.ceil(data.length / bs);
    if (nblocks === 0) return;
    if (this.#count > 0 && pblk !== this.#start + this.#count) await this.flush();
    if (nblocks * bs > this.#buf.length) {
      // too large to buffer: write it straight through (padded to whole blocks)
      await this.flush();
      const whole = data.length === nblocks * bs ? data : padded(data, nblocks * bs);
      await this.#io.write(pblk * bs, whole);
      this.written += whole.length;
      return;
    }
    if ((this.#count + nblocks) * bs > this.#buf.length) await this.flush();
    if (this.#count === 0) this.#start = pblk;
    const at = this.#count * bs;
    this.#buf.set(data, at);
    if (data.length < nblocks * bs) this.#buf.fill(0, at + data.length, at + nblocks * bs);
    this.#count += nblocks;
  }

  async flush(): Promise<void> {
    if (this.#count === 0) return;
    const n = this.#count * this.#bs;
    await this.#io.write(this.#start * this.#bs, this.#buf.subarray(0, n));
    this.written += n;
    this.#count = 0;
  }
}

function padded(data: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(data);
  return out;
}

/** Write `length` zero bytes at `offset`, in chunks of at most 1 MiB. */
export async function zeroRange(io: ImageIO, offset: number, length: number): Promise<void> {
  const chunk = new Uint8Array(Math.min(length, 1 << 20));
  for (let done = 0; done < length; done += chunk.length) {
    const n = Math.min(chunk.length, length - done);
    await io.write(offset + done, n === chunk.length ? chunk : chunk.subarray(0, n));
  }
}
