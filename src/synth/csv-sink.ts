/**
 * Buffered, backpressure-aware CSV output for one delivered file. Rows arrive as ready-made
 * `;`-joined strings; they are concatenated in memory and written in ~1 MiB chunks, which is
 * what keeps the generator near disk speed.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

const CHUNK = 1 << 18;

export class CsvSink {
  readonly file: string;
  readonly path: string;
  /** 1-based number of the last line written; the header is line 1. */
  line = 1;
  rows = 0;
  readonly rowsByYear = new Map<number, number>();
  private stream: WriteStream | undefined;
  private parts: string[] = [];
  private size = 0;

  constructor(path: string, file: string, header: readonly string[]) {
    this.path = path;
    this.file = file;
    this.parts.push(header.join(';'));
  }

  /** The file is created at the first write: a sink that never writes leaves no file. */
  private get out(): WriteStream {
    this.stream ??= createWriteStream(this.path, { highWaterMark: 4 * CHUNK });
    return this.stream;
  }

  /** Appends one row (without newline); returns its line number. */
  push(row: string, year: number | undefined): number {
    this.parts.push(row);
    this.size += row.length + 1;
    this.rows++;
    if (year !== undefined) this.rowsByYear.set(year, (this.rowsByYear.get(year) ?? 0) + 1);
    return ++this.line;
  }

  wantsFlush(): boolean {
    return this.size >= CHUNK;
  }

  /** Hands the buffer to the stream once it is large; waits when the stream asks to. */
  async maybeFlush(): Promise<void> {
    if (this.size < CHUNK) return;
    if (!this.out.write(this.take())) await once(this.out, 'drain');
  }

  /** Joins the pending rows into one chunk; one join per MiB instead of one concat per row. */
  private take(): string {
    const chunk = this.parts.join('\n') + '\n';
    this.parts = [];
    this.size = 0;
    return chunk;
  }

  async close(): Promise<void> {
    if (this.parts.length > 0 && !this.out.write(this.take())) await once(this.out, 'drain');
    this.out.end();
    await once(this.out, 'finish');
  }
}
