import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { AppError } from '../errors.ts';

/** A gzip'd file, by its name (`.gz`, any case): read through gunzip. */
export function isGzipped(path: string): boolean {
  return /\.gz$/i.test(path);
}

export interface InputFile {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
}

/** Delivered file names: CSV, gzip'd or not. */
const DELIVERED = /\.csv(\.gz)?$/i;

/** A delivered file's name without its extensions (`T_MCO19C.csv.gz` → `T_MCO19C`). */
export function stemOf(name: string): string {
  return name.replace(DELIVERED, '');
}

/** The bytes of a delivered file, gunzipped when its name ends in `.gz`. */
export function openDelivered(path: string, highWaterMark = 4 * 1024 * 1024): Readable {
  const raw = createReadStream(path, { highWaterMark });
  if (!isGzipped(path)) return raw;
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Reads the first `max` bytes of a delivered file (decompressed). */
export async function readStart(path: string, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  const stream = openDelivered(path, 64 * 1024);
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= max) break;
    }
  } catch (e) {
    throw new AppError('invalid', `${basename(path)}: cannot be read (${e instanceof Error ? e.message : String(e)})`, { hint: 'a .gz file must be gzip-compressed CSV' });
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, max);
}

/** Expands directories (recursively) into their CSV files, sorted by name; refuses anything else. */
export async function listInputFiles(inputs: readonly string[]): Promise<InputFile[]> {
  if (inputs.length === 0) throw new AppError('invalid', 'no delivery given', { hint: 'name a directory or CSV files: enclave ingest --dataset snds ./delivery' });
  const out: InputFile[] = [];
  const visit = async (p: string): Promise<void> => {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new AppError('not_found', `${p} does not exist`, { hint: 'check the path of the delivery' });
    }
    if (s.isDirectory()) {
      for (const e of (await readdir(p)).sort()) {
        const child = join(p, e);
        const cs = await stat(child);
        if (cs.isDirectory() || DELIVERED.test(e)) await visit(child);
      }
    } else if (s.isFile()) {
      if (!DELIVERED.test(p)) throw new AppError('invalid', `${p} is not a .csv or .csv.gz file`, { hint: 'deliveries are CSV files as sent by the data producer, gzip\'d or not' });
      out.push({ path: resolve(p), name: basename(p), bytes: s.size });
    }
  };
  for (const i of inputs) await visit(i);
  const seen = new Map<string, string>();
  for (const f of out) {
    const prev = seen.get(f.name);
    if (prev !== undefined) throw new AppError('invalid', `two files named ${f.name} in one delivery: ${prev} and ${f.path}`, { hint: 'a delivery holds each table file once' });
    seen.set(f.name, f.path);
  }
  if (out.length === 0) throw new AppError('invalid', `no CSV file found in ${inputs.join(', ')}`, { hint: 'a delivery is a directory of <TABLE>.csv files' });
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** SHA-256 of a file, streamed; `onBytes` reports progress. */
export async function hashFile(path: string, onBytes?: (n: number) => void): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return h.digest('hex');
}

/**
 * SHA-256 (hex) of each file, in order. Files are shared among `threads` worker threads, largest
 * first, so a delivery is fingerprinted at the speed of its largest file rather than of its sum.
 */
export async function hashFiles(
  paths: readonly string[],
  sizes: readonly number[],
  onBytes?: (n: number) => void,
  opts: { readonly threads?: number; readonly minBytes?: number; readonly signal?: AbortSignal } = {},
): Promise<string[]> {
  opts.signal?.throwIfAborted();
  const threads = opts.threads ?? 2;
  const total = sizes.reduce((a, b) => a + b, 0);
  // Below this, starting workers costs more than it saves.
  if (paths.length < 2 || threads < 2 || total < (opts.minBytes ?? 64 * 1024 * 1024)) {
    const out: string[] = [];
    for (const p of paths) out.push(await hashFile(p, onBytes));
    return out;
  }
  const order = paths.map((_p, i) => i).sort((a, b) => (sizes[b] ?? 0) - (sizes[a] ?? 0));
  const out = new Array<string>(paths.length);
  const workers = Array.from({ length: Math.min(threads, paths.length) }, () => new Worker(new URL('./hash-worker.ts', import.meta.url)));
  // The run's signal outlives this call: its listeners are removed at the end (finally below).
  const listeners: Array<() => void> = [];
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      // Aborted (the delivery was refused meanwhile): the workers stop at once (finally below).
      const onAbort = (): void => {
        const why: unknown = opts.signal?.reason;
        reject(why instanceof Error ? why : new AppError('internal', 'the fingerprint was stopped'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      listeners.push(onAbort);
      const next = (): void => {
        const i = order.shift();
        if (i === undefined) {
          w.postMessage(null);
          resolve();
          return;
        }
        w.postMessage({ index: i, path: paths[i] });
      };
      w.on('message', (m: { index: number; bytes?: number; sha256?: string; error?: string }) => {
        if (m.error !== undefined) reject(new AppError('invalid', `${basename(paths[m.index] ?? '')}: cannot be read (${m.error})`));
        else if (m.sha256 !== undefined) {
          out[m.index] = m.sha256;
          next();
        } else if (m.bytes !== undefined) onBytes?.(m.bytes);
      });
      w.on('error', reject);
      next();
    })));
  } finally {
    for (const l of listeners) opts.signal?.removeEventListener('abort', l);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}

/** The header line of a CSV file, split on the delimiter (a BOM is tolerated; gzip'd files are read through). */
export async function readHeader(path: string, delimiter: string, encoding: 'utf-8' | 'latin-1' = 'utf-8'): Promise<string[]> {
  let buf: Buffer;
  if (isGzipped(path)) buf = await readStart(path, 64 * 1024);
  else {
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(64 * 1024);
      const { bytesRead } = await fh.read(b, 0, b.length, 0);
      buf = b.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  let text = buf.toString(encoding === 'latin-1' ? 'latin1' : 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const end = text.search(/\r?\n/);
  if (end === -1 && buf.length === 64 * 1024) throw new AppError('invalid', `${basename(path)}: header line longer than 64 KiB`);
  const line = end === -1 ? text : text.slice(0, end);
  return line.split(delimiter).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Finds the line of each given row in its CSV file, by content: the engine reads files in
 * parallel and does not keep row order, so the few bad rows of a delivery are located by one
 * streamed pass over the file instead of numbering every row. A row's text is its fields joined
 * by the delimiter (NULL read as an empty field); a line holding a quote is parsed as CSV first,
 * so quoted fields match too. Identical rows get their lines in file order. Returns id → line
 * (1-based; the header is line 1); a row that cannot be found is absent from the map.
 */
export async function locateRows(
  path: string,
  delimiter: string,
  rows: ReadonlyArray<{ readonly id: number; readonly values: ReadonlyArray<string | null> }>,
  encoding: 'utf-8' | 'latin-1' = 'utf-8',
): Promise<Map<number, number>> {
  const enc = encoding === 'latin-1' ? 'latin1' : 'utf8';
  // Unquoted lines are compared as bytes, found through a numeric key (length and a mix of a few of
  // their bytes), so the millions of good lines cost a lookup each and never become strings.
  const byKey = new Map<number, Array<{ bytes: Buffer; ids: number[] }>>();
  const byFields = new Map<string, number[]>();
  // Lines holding a quote (every line of a SAS export) are parsed only when their text without
  // quotes has the length and hash of a sought row's fields joined without quotes: parsing removes
  // the enclosing quotes and undoubles the inner ones, so a line that parses to a row always passes.
  const unquotedKeys = new Set<number>();
  for (const r of rows) {
    const fields = r.values.map((v) => v ?? '');
    const bytes = Buffer.from(fields.join(delimiter), enc);
    unquotedKeys.add(unquotedKey(bytes, 0, bytes.length));
    const key = lineKey(bytes, 0, bytes.length);
    let cands = byKey.get(key);
    if (cands === undefined) byKey.set(key, (cands = []));
    const same = cands.find((c) => c.bytes.equals(bytes));
    if (same === undefined) cands.push({ bytes, ids: [r.id] });
    else same.ids.push(r.id);
    const k = JSON.stringify(fields);
    const list = byFields.get(k);
    if (list === undefined) byFields.set(k, [r.id]);
    else list.push(r.id);
  }
  const found = new Map<number, number>();
  const take = (list: number[] | undefined, line: number): void => {
    if (list === undefined) return;
    while (list.length > 0) {
      const id = list.shift() as number;
      if (!found.has(id)) {
        found.set(id, line);
        return;
      }
    }
  };
  let lineNo = 0;
  const onLine = (buf: Buffer, start: number, end: number, quoted: boolean): void => {
    lineNo++;
    if (lineNo === 1) return;
    if (end > start && buf[end - 1] === 13) end--;
    if (quoted) {
      if (!unquotedKeys.has(unquotedKey(buf, start, end))) return;
      // A line holding a quote is parsed as CSV, so quoted fields match too.
      let fields: string[];
      try {
        // csv-parse's overloads cannot infer rows without `columns`: the assertion is the narrowing.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        fields = (parseCsv(buf.toString(enc, start, end), { delimiter, relax_quotes: true }) as string[][])[0] ?? [];
      } catch {
        return;
      }
      take(byFields.get(JSON.stringify(fields)), lineNo);
      return;
    }
    const cands = byKey.get(lineKey(buf, start, end));
    if (cands === undefined) return;
    for (const cand of cands) {
      if (cand.bytes.length === end - start && buf.compare(cand.bytes, 0, cand.bytes.length, start, end) === 0) {
        take(cand.ids, lineNo);
        return;
      }
    }
  };
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of openDelivered(path)) {
    const buf = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let start = 0;
    let quote = buf.indexOf(34, start);
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      const quoted = quote !== -1 && quote < nl;
      onLine(buf, start, nl, quoted);
      start = nl + 1;
      if (quoted) quote = buf.indexOf(34, start);
    }
    rest = Buffer.from(buf.subarray(start));
    if (found.size === rows.length) return found;
  }
  if (rest.length > 0) onLine(rest, 0, rest.length, rest.includes(34));
  return found;
}

/** The length and FNV-1a hash of a line's bytes other than quotes (`"`), as one exact number (a Map key). */
function unquotedKey(buf: Buffer, start: number, end: number): number {
  let h = 0x811c9dc5;
  let len = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b === 34) continue;
    h = Math.imul(h ^ b, 0x01000193);
    len++;
  }
  return len * 4294967296 + (h >>> 0);
}

/**
 * A line's length and a 32-bit mix of its first, middle and last bytes, as one exact number (a
 * Map key): cheap, and distinct enough that a line rarely has more than one candidate to compare.
 */
function lineKey(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len < 8) {
    let h = len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    return len * 4294967296 + (h >>> 0);
  }
  let h = 0x811c9dc5;
  for (const at of [start, start + 4, start + (len >> 1) - 2, end - 8, end - 4]) h = Math.imul(h ^ buf.readUInt32LE(at), 0x01000193);
  return len * 4294967296 + ((h ^ (h >>> 15)) >>> 0);
}
