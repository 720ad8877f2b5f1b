/**
 * The bench's non-ISO delivery: the generator's ISO files rewritten as a producer that writes
 * dates `dd/MM/yyyy` and flags `True`/`False` would send them (same rows, same people), and the
 * raw tool's fair reading of a delivery: DuckDB told each column's type and the dates' format,
 * as an engineer converting these files by hand would write it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { CatalogColumn, CatalogTable } from '../src/catalog/index.ts';
import { sqlIdent, sqlString } from '../src/engine/index.ts';
import { DATE_FORMATS, tableOfFile } from '../src/ingest/index.ts';

/** A flag column: an enum of exactly 0 and 1 (the catalogue's `*_TOP`, `*_RET`), or a boolean. */
export function isFlag(c: CatalogColumn): boolean {
  if (c.type === 'boolean') return true;
  const e = c.constraints.enum?.map(String).sort();
  return e !== undefined && e.length === 2 && e[0] === '0' && e[1] === '1';
}

/** A date column whose catalogue leaves the spelling to the delivery (the profile's default applies). */
function openDate(c: CatalogColumn): boolean {
  return c.type === 'date' && (c.format === null || !c.format.includes('%'));
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Rewrites every `.csv` of `from` into `to`: open-format dates as dd/MM/yyyy, flags as True/False. */
export async function writeNonIso(from: string, to: string, tables: readonly CatalogTable[]): Promise<void> {
  for (const f of (await readdir(from)).filter((x) => x.endsWith('.csv'))) {
    const table = tableOfFile({ name: f }, tables)?.table;
    const input = createInterface({ input: createReadStream(join(from, f)), crlfDelay: Infinity });
    const out = createWriteStream(join(to, f));
    let rewrite: Array<((v: string) => string) | undefined> = [];
    let first = true;
    let chunk: string[] = [];
    const flush = async (): Promise<void> => {
      if (!out.write(chunk.join(''))) await once(out, 'drain');
      chunk = [];
    };
    for await (const line of input) {
      if (first) {
        first = false;
        rewrite = line.split(';').map((h) => {
          const c = table?.columns.find((x) => x.name === h);
          if (c === undefined) return undefined;
          if (openDate(c)) return (v) => v.replace(ISO, '$3/$2/$1');
          if (isFlag(c)) return (v) => (v === '1' ? 'True' : v === '0' ? 'False' : v);
          return undefined;
        });
        chunk.push(`${line}\n`);
        continue;
      }
      chunk.push(`${line.split(';').map((v, k) => rewrite[k]?.(v) ?? v).join(';')}\n`);
      if (chunk.length >= 20_000) await flush();
    }
    await flush();
    out.end();
    await once(out, 'finish');
  }
}

/** DuckDB's type for a catalogue column, as the raw tool would be told it. */
function rawType(c: CatalogColumn, flagsAsText: boolean): string {
  if (flagsAsText && isFlag(c)) return 'BOOLEAN';
  switch (c.type) {
    case 'integer':
    case 'year':
      return 'BIGINT';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    default:
      return 'VARCHAR';
  }
}

/** How the raw tool is told a delivery's spelling (what one converting it by hand would write). */
export interface RawReading {
  /** The spelling of open-format dates: a name of `DATE_FORMATS`. */
  readonly dates: string;
  /** Flag columns read as BOOLEAN (True/False). */
  readonly flagsAsText: boolean;
  /** Every field quoted (a SAS export), read with `quote = '"'`. */
  readonly quoted?: boolean;
  readonly latin1?: boolean;
  /** Markers of a missing value (SAS `.`, a space). */
  readonly nulls?: readonly string[];
  /** More `read_csv` options (e.g. `ignore_errors = true`). */
  readonly options?: string;
}

/**
 * The raw tool's query for one file: `read_csv` with the columns' types and the delivery's date
 * format, dates in another spelling (the catalogue's own, e.g. PMSI `ddMMyyyy`, or a datetime
 * spelling of dates) parsed with `strptime` in the projection.
 */
export function rawCsvSql(path: string, table: CatalogTable, header: readonly string[], r: RawReading): string {
  const fmt = DATE_FORMATS[r.dates] as string;
  const options = r.options ?? '';
  // Told to skip what it cannot read, the raw tool also leaves a date it cannot parse empty.
  const lenient = options.includes('ignore_errors');
  const strptime = lenient ? 'try_strptime' : 'strptime';
  // A date spelled with a time (SAS datetimes) is read as text and parsed in the projection.
  const dateOnly = !fmt.includes('%H');
  const cols = header.map((h) => {
    const c = table.columns.find((x) => x.name === h);
    if (c === undefined) return { h, type: 'VARCHAR', parse: undefined };
    if (c.type === 'date' && openDate(c)) return dateOnly ? { h, type: 'DATE', parse: undefined } : { h, type: 'VARCHAR', parse: `CAST(${strptime}(${sqlIdent(h)}, ${sqlString(fmt)}) AS DATE)` };
    if (c.type === 'date' || c.type === 'datetime') return { h, type: 'VARCHAR', parse: `CAST(${strptime}(${sqlIdent(h)}, ${sqlString(c.format?.includes('%') === true ? c.format : '%Y-%m-%d %H:%M:%S')}) AS ${c.type === 'date' ? 'DATE' : 'TIMESTAMP'})` };
    return { h, type: rawType(c, r.flagsAsText), parse: undefined };
  });
  const parsed = cols.filter((c) => c.parse !== undefined);
  const more = [
    ...(r.quoted === true ? [`quote = '"'`] : []),
    ...(r.latin1 === true ? [`encoding = 'latin-1'`] : []),
    ...(r.nulls === undefined ? [] : [`nullstr = [${['', ...r.nulls].map(sqlString).join(', ')}]`]),
    ...(options === '' ? [] : [options]),
  ];
  const reader = `read_csv(${sqlString(path)}, delim = ';', header = true, auto_detect = false${dateOnly ? `, dateformat = ${sqlString(fmt)}` : ''}, columns = {${cols.map((c) => `${sqlString(c.h)}: '${c.type}'`).join(', ')}}${more.map((m) => `, ${m}`).join('')})`;
  return `SELECT *${parsed.length === 0 ? '' : ` REPLACE (${parsed.map((c) => `${c.parse} AS ${sqlIdent(c.h)}`).join(', ')})`} FROM ${reader}`;
}
