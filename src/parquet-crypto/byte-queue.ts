/**
 * Pull-based byte queue over an async iterable, so the transcoder can parse a Parquet stream
 * whose page sizes it only learns from each page header.
 */
export class ByteQueue {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private buffered = 0;
  private done = false;
  /** Bytes consumed so far: the stream offset of the next byte. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  get available(): number {
    return this.buffered;
  }

  get ended(): boolean {
    return this.done;
  }

  /** Pulls one more chunk; false at end of stream. */
  async pull(): Promise<boolean> {
    if (this.done) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done === true) {
        this.done = true;
        return false;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.buffered += b.length;
      return true;
    }
  }

  /** Ensures `n` bytes are buffered; false if the stream ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.buffered < n) {
      if (!(await this.pull())) return false;
    }
    return true;
  }

  /** A contiguous view of up to `n` buffered bytes, without consuming them. */
  peek(n: number): Buffer {
    const want = Math.min(n, this.buffered);
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= want) {
      return first.subarray(this.head, this.head + want);
    }
    // Coalesce so the next peek is cheap.
    const all = Buffer.concat(this.chunks.map((c, i) => (i === 0 ? c.subarray(this.head) : c)));
    this.chunks = [all];
    this.head = 0;
    return all.subarray(0, want);
  }

  /** Consumes exactly `n` buffered bytes (caller ensured them) as a list of slices. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      if (c === undefined) throw new Error('ByteQueue.take beyond buffered data');
      const span = Math.min(left, c.length - this.head);
      out.push(c.subarray(this.head, this.head + span));
      this.head += span;
      left -= span;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    this.position += n;
    return out;
  }

  /** Consumes everything left in the stream. */
  async rest(): Promise<Buffer> {
    while (await this.pull()) {
      // keep pulling
    }
    return Buffer.concat(this.take(this.buffered));
  }
}
