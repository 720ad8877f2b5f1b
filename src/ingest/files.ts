import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { AppError } from '../errors.ts';

export interface InputFile {
  readonly path: string;
  readonly name: string;
  readonly bytes: number;
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
        if (cs.isDirectory() || e.toLowerCase().endsWith('.csv')) await visit(child);
      }
    } else if (s.isFile()) {
      if (!p.toLowerCase().endsWith('.csv')) throw new AppError('invalid', `${p} is not a .csv file`, { hint: 'deliveries are CSV files as sent by the data producer' });
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

/** The header line of a CSV file, split on the delimiter (a BOM is tolerated). */
export async function readHeader(path: string, delimiter: string): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let text = buf.subarray(0, bytesRead).toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const end = text.search(/\r?\n/);
    if (end === -1 && bytesRead === buf.length) throw new AppError('invalid', `${basename(path)}: header line longer than 64 KiB`);
    const line = end === -1 ? text : text.slice(0, end);
    return line.split(delimiter).map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  } finally {
    await fh.close();
  }
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
): Promise<Map<number, number>> {
  const byText = new Map<string, number[]>();
  const byFields = new Map<string, number[]>();
  for (const r of rows) {
    const fields = r.values.map((v) => v ?? '');
    const push = (m: Map<string, number[]>, k: string): void => {
      const list = m.get(k);
      if (list === undefined) m.set(k, [r.id]);
      else list.push(r.id);
    };
    push(byText, fields.join(delimiter));
    push(byFields, JSON.stringify(fields));
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
  let rest: Buffer = Buffer.alloc(0);
  const onLine = (raw: Buffer): void => {
    lineNo++;
    if (lineNo === 1) return;
    let text = raw.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.includes('"')) {
      let fields: string[];
      try {
        // csv-parse's overloads cannot infer rows without `columns`: the assertion is the narrowing.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        fields = (parseCsv(text, { delimiter, relax_quotes: true }) as string[][])[0] ?? [];
      } catch {
        return;
      }
      take(byFields.get(JSON.stringify(fields)), lineNo);
    } else take(byText.get(text), lineNo);
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    const buf = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    rest = Buffer.from(buf.subarray(start));
    if (found.size === rows.length) return found;
  }
  if (rest.length > 0) onLine(rest);
  return found;
}
