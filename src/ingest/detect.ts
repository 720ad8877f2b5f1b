/**
 * `enclave ingest --detect DIR`: reads the start of every delivered file and infers the delivery's
 * profile (separator, encoding, compression, each column's spelling), with what ingestion would
 * do: which file is which table, unknown files and columns, each column's inferred format. One
 * report for the whole delivery, not one error per run.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { CatalogColumn, CatalogTable } from '../catalog/index.ts';
import { isGzipped, listInputFiles, readStart } from './files.ts';
import { tableOfFile } from './file-tables.ts';
import { DEFAULT_PROFILE, isFlagColumn, type DeliveryProfile, type Encoding } from './profile.ts';
import { dateShape } from './rules.ts';

/** Bytes read from the start of each file, and rows sampled from them. */
export const DETECT_BYTES = 1024 * 1024;
export const DETECT_ROWS = 5000;

export interface DetectedColumn {
  readonly name: string;
  /** The catalogue's type, or null for a column the catalogue does not know. */
  readonly type: string | null;
  /** What the sample shows, e.g. `dd/MM/yyyy`, `integer written 61.0`, `no spelling fits (like 99-99-9999)`. */
  readonly inferred: string;
  /** Non-missing values sampled. */
  readonly values: number;
  /** True when no spelling Enclave reads fits every sampled value: rows will be quarantined. */
  readonly problem: boolean;
}

export interface DetectedFile {
  readonly file: string;
  readonly bytes: number;
  readonly gzip: boolean;
  readonly encoding: Encoding;
  readonly delimiter: string;
  readonly table: string | null;
  readonly year: number | null;
  readonly sampledRows: number;
  /** Header columns the catalogue does not know (ignored with `extraColumns: ignore`). */
  readonly unknownColumns: readonly string[];
  /** Required catalogue columns absent from the header (the delivery would be refused). */
  readonly missingRequired: readonly string[];
  readonly columns: readonly DetectedColumn[];
}

export interface Detection {
  readonly profile: DeliveryProfile;
  readonly files: readonly DetectedFile[];
  readonly unknownFiles: readonly string[];
}

/** Date spellings in the order they are tried (the first that fits every sampled value wins). */
const DATE_SPELLINGS: ReadonlyArray<{ readonly name: string; readonly re: RegExp; readonly order: 'ymd' | 'dmy' | 'dMy' }> = [
  { name: 'yyyy-MM-dd', re: /^(\d{4})-(\d{2})-(\d{2})$/, order: 'ymd' },
  { name: 'dd/MM/yyyy', re: /^(\d{2})\/(\d{2})\/(\d{4})$/, order: 'dmy' },
  { name: 'ddMMyyyy', re: /^(\d{2})(\d{2})(\d{4})$/, order: 'dmy' },
  { name: 'yyyyMMdd', re: /^(\d{4})(\d{2})(\d{2})$/, order: 'ymd' },
  { name: 'ddMMMyyyy:HH:mm:ss', re: /^(\d{2})([A-Za-z]{3})(\d{4}):([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/, order: 'dMy' },
  { name: 'ddMMMyyyy', re: /^(\d{2})([A-Za-z]{3})(\d{4})$/, order: 'dMy' },
  { name: "yyyy-MM-dd'T'HH:mm:ss'Z'", re: /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/, order: 'ymd' },
  { name: "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", re: /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/, order: 'ymd' },
  { name: 'yyyy-MM-dd HH:mm:ss', re: /^(\d{4})-(\d{2})-(\d{2}) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/, order: 'ymd' },
];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function realDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** True when `v` is a real day in the spelling. */
function fits(s: (typeof DATE_SPELLINGS)[number], v: string): boolean {
  const m = s.re.exec(v);
  if (m === null) return false;
  const [a, b, c] = [m[1] ?? '', m[2] ?? '', m[3] ?? ''];
  if (s.order === 'ymd') return realDay(Number(a), Number(b), Number(c));
  if (s.order === 'dmy') return realDay(Number(c), Number(b), Number(a));
  return realDay(Number(c), MONTHS.indexOf(b.toUpperCase()) + 1, Number(a));
}

/** Share of sampled values a spelling must read to be inferred: a delivery's few bad values must not hide its spelling. */
export const DETECT_FIT_SHARE = 0.9;

/**
 * The date spelling that reads the most values (at least `DETECT_FIT_SHARE` of them), preferring
 * the catalogue's own, then the order of `DATE_SPELLINGS`, on ties; with how many values it misses.
 */
export function inferDateSpelling(values: readonly string[], preferred?: string): { spelling: string; misses: number } | undefined {
  const order = preferred === undefined ? DATE_SPELLINGS : [...DATE_SPELLINGS].sort((x, y) => Number(y.name === preferred) - Number(x.name === preferred));
  let best: { spelling: string; misses: number } | undefined;
  for (const s of order) {
    const misses = values.filter((v) => !fits(s, v)).length;
    if (best === undefined || misses < best.misses) best = { spelling: s.name, misses };
    if (misses === 0) break;
  }
  return best !== undefined && values.length - best.misses >= DETECT_FIT_SHARE * values.length ? best : undefined;
}

/** `what`, or `what` with the count of values it does not read (those rows will be quarantined). */
function withMisses(what: string, misses: number): string {
  return misses === 0 ? what : `${what} (${misses} value${misses === 1 ? '' : 's'} of the sample fit no spelling)`;
}

function share(values: readonly string[], re: RegExp): number {
  return values.filter((v) => re.test(v)).length;
}

function shape(v: string): string {
  return v.replace(/[0-9]/g, '9').replace(/[^9 .,:/-]/g, 'A').slice(0, 24);
}

const SPELLING_OF_FORMAT: Readonly<Record<string, string>> = { '%d%m%Y': 'ddMMyyyy', '%d/%m/%Y': 'dd/MM/yyyy', '%Y%m%d': 'yyyyMMdd', '%d%b%Y:%H:%M:%S': 'ddMMMyyyy:HH:mm:ss', '%d%b%Y': 'ddMMMyyyy', '%Y-%m-%d': 'yyyy-MM-dd' };

/** The catalogue's strptime format of a date column, if it gives one. */
function catalogueFormat(c: Pick<CatalogColumn, 'format'>): string | undefined {
  return c.format !== null && c.format.includes('%') ? c.format.replace(/^any:/, '') : undefined;
}

/** How many sampled values lack the exact shape of a strptime format (undefined for a format with no shape). */
function missesOfFormat(format: string, values: readonly string[]): number | undefined {
  const shape = dateShape(format);
  if (shape === undefined) return undefined;
  const re = new RegExp(`^(?:${shape.regex})$`);
  return values.filter((v) => !re.test(v)).length;
}

interface ColumnFinding {
  readonly column: DetectedColumn;
  readonly dateSpelling?: string;
  readonly pointZero?: boolean;
  readonly exponent?: boolean;
  readonly flags?: { readonly true: string; readonly false: string };
}

/** Flag spellings met in deliveries besides 0/1 (true first). */
const FLAG_SPELLINGS: ReadonlyArray<readonly [string, string]> = [['True', 'False'], ['TRUE', 'FALSE'], ['true', 'false'], ['O', 'N'], ['Oui', 'Non'], ['Y', 'N']];

function inferColumn(c: CatalogColumn | undefined, name: string, values: readonly string[]): ColumnFinding {
  const base = { name, type: c?.type ?? null, values: values.length };
  const none = (what: string): ColumnFinding => ({ column: { ...base, inferred: what, problem: false } });
  const unfit = (): ColumnFinding => {
    const examples = [...new Set(values.map(shape))].slice(0, 3).join(', ');
    return { column: { ...base, inferred: `no spelling fits (like ${examples})`, problem: true } };
  };
  if (c === undefined) return none('not in the catalogue (ignored)');
  if (values.length === 0) return none('no value in the sample');
  if (c.type !== 'boolean' && isFlagColumn(c) && !values.every((v) => v === '0' || v === '1')) {
    // A 0/1 column spelled with words: the profile reads them as 1/0 (`flags`).
    const pair = FLAG_SPELLINGS.find(([t, f]) => values.every((v) => v === t || v === f));
    return pair === undefined ? unfit() : { column: { ...base, inferred: `flag ${pair[0]}/${pair[1]}`, problem: false }, flags: { true: pair[0], false: pair[1] } };
  }
  switch (c.type) {
    case 'date':
    case 'datetime': {
      const format = catalogueFormat(c);
      const own = format === undefined ? undefined : SPELLING_OF_FORMAT[format];
      if (format !== undefined && own === undefined) {
        // A catalogue format no profile spelling names (`%m`, the SNDS months of birth; a
        // year-month): its values must have its exact shape, which ingestion holds them to.
        const misses = missesOfFormat(format, values);
        if (misses !== undefined && values.length - misses >= DETECT_FIT_SHARE * values.length) {
          return { column: { ...base, inferred: withMisses(format, misses), problem: false }, dateSpelling: format };
        }
      }
      const found = inferDateSpelling(values, own ?? 'yyyy-MM-dd');
      return found === undefined ? unfit() : { column: { ...base, inferred: withMisses(found.spelling, found.misses), problem: false }, dateSpelling: found.spelling };
    }
    case 'integer':
    case 'year': {
      const n = values.length;
      const plain = share(values, /^-?[0-9]+$/);
      const pointZero = share(values, /^-?[0-9]+(\.0+)?$/);
      // SAS writes large integers with an exponent (`5.119e+16`); read exactly, or quarantined with the reason.
      const exp = share(values, /^-?[0-9]+(\.[0-9]+)?[eE][-+]?[0-9]+$/);
      if (plain === n) return none('integer');
      if ((pointZero > plain || exp > 0) && pointZero + exp >= DETECT_FIT_SHARE * n) {
        const spellings = [...(pointZero > plain ? ['61.0'] : []), ...(exp > 0 ? ['with an exponent (5.119e+3)'] : [])];
        return { column: { ...base, inferred: withMisses(`integer written ${spellings.join(' and ')}`, n - pointZero - exp), problem: false }, ...(pointZero > plain ? { pointZero: true } : {}), ...(exp > 0 ? { exponent: true } : {}) };
      }
      if (plain >= DETECT_FIT_SHARE * n) return none(withMisses('integer', n - plain));
      return unfit();
    }
    case 'number': {
      const n = values.length;
      const comma = values.some((v) => /^-?[0-9]+,[0-9]/.test(v));
      const plain = share(values, /^-?[0-9]+([.,][0-9]+)?$/);
      const exp = share(values, /^-?[0-9]+([.,][0-9]+)?([eE][-+]?[0-9]+)?$/);
      if (plain === n) return none(comma ? 'number, decimal comma' : 'number');
      if (exp > plain && exp >= DETECT_FIT_SHARE * n) return { column: { ...base, inferred: withMisses(`number with exponent${comma ? ', decimal comma' : ''}`, n - exp), problem: false }, exponent: true };
      if (plain >= DETECT_FIT_SHARE * n) return none(withMisses(comma ? 'number, decimal comma' : 'number', n - plain));
      return unfit();
    }
    case 'boolean': {
      const spellings = [...new Set(values)].sort();
      return spellings.every((v) => ['1', '0', 'true', 'false', 'o', 'oui', 'y', 'n', 'non'].includes(v.toLowerCase())) ? none(`flag ${spellings.join('/')}`) : unfit();
    }
    default:
      return none('text');
  }
}

function decode(bytes: Buffer): { text: string; encoding: Encoding } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: bytes.toString('latin1'), encoding: 'latin-1' };
  }
}

function mostCommon<T>(items: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

/**
 * Infers the profile of a delivery and what ingestion would do with it. `base` gives file rules
 * (and anything else the operator already knows); the sample decides the rest.
 */
export async function detectDelivery(inputs: readonly string[], tables: readonly CatalogTable[], base: DeliveryProfile = DEFAULT_PROFILE): Promise<Detection> {
  const files = await listInputFiles(inputs);
  const out: DetectedFile[] = [];
  const unknownFiles: string[] = [];
  const dateFindings: Array<{ key: string; column: string; spelling: string; catalogued: boolean }> = [];
  let pointZero = false;
  let exponent = false;
  const flagFindings: Array<{ readonly true: string; readonly false: string }> = [];
  let dot = false;
  let blank = false;
  for (const f of files) {
    let bytes = await readStart(f.path, DETECT_BYTES);
    // Whole lines only (a cut multi-byte character would look like Latin-1).
    if (bytes.length === DETECT_BYTES) bytes = bytes.subarray(0, bytes.lastIndexOf(10) + 1);
    const { text, encoding } = decode(bytes);
    const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    const delimiter = mostCommon([';', ',', '\t', '|'].flatMap((d) => Array<string>(first.split(d).length - 1).fill(d))) ?? base.delimiter;
    const matched = tableOfFile(f, tables, base);
    if (matched === undefined) unknownFiles.push(f.name);
    let rows: string[][];
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
      rows = parseCsv(text.replace(/^\uFEFF/, ''), { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, to: DETECT_ROWS + 1 }) as string[][];
    } catch {
      rows = [];
    }
    const header = (rows[0] ?? first.split(delimiter)).map((h) => h.trim());
    const body = rows.slice(1);
    const catalogue = new Map((matched?.table.columns ?? []).map((c) => [c.name, c]));
    const columns: DetectedColumn[] = [];
    for (const [k, name] of header.entries()) {
      const c = catalogue.get(name);
      const values: string[] = [];
      for (const r of body) {
        const v = r[k];
        if (v === undefined || v === '') continue;
        if (v.trim() === '') {
          blank = true;
          continue;
        }
        if (v === '.' && c !== undefined && c.type !== 'string') {
          dot = true;
          continue;
        }
        values.push(v);
      }
      const found = inferColumn(matched === undefined ? undefined : c, name, values);
      columns.push(matched === undefined ? { ...found.column, inferred: 'file matches no table' } : found.column);
      if (found.pointZero === true) pointZero = true;
      if (found.exponent === true) exponent = true;
      if (found.flags !== undefined) flagFindings.push(found.flags);
      if (found.dateSpelling !== undefined && matched !== undefined && c !== undefined) {
        dateFindings.push({ key: `${matched.table.name}.${name}`, column: name, spelling: found.dateSpelling, catalogued: c.format !== null && c.format.includes('%') });
      }
    }
    out.push({
      file: f.name, bytes: f.bytes, gzip: isGzipped(f.name), encoding, delimiter, table: matched?.table.name ?? null, year: matched?.year ?? null, sampledRows: body.length,
      unknownColumns: matched === undefined ? [] : header.filter((h) => !catalogue.has(h)),
      missingRequired: matched === undefined ? [] : [...catalogue.values()].filter((c) => c.constraints.required === true && !header.includes(c.name)).map((c) => c.name),
      columns,
    });
  }
  // One spelling for the dates the catalogue leaves open (the most common), others by column.
  const open = dateFindings.filter((d) => !d.catalogued);
  const byDefault = mostCommon(open.map((d) => d.spelling));
  const columns: Record<string, string> = { ...base.dates.columns };
  for (const d of dateFindings) {
    const fallback = d.catalogued ? undefined : byDefault;
    const catalogued = d.catalogued ? tables.find((t) => d.key.startsWith(`${t.name}.`))?.columns.find((c) => c.name === d.column) : undefined;
    const format = catalogued === undefined ? undefined : catalogueFormat(catalogued);
    const own = format === undefined ? undefined : (SPELLING_OF_FORMAT[format] ?? format);
    if (d.spelling !== (fallback ?? own)) columns[d.key] = d.spelling;
  }
  const matched = out.filter((f) => f.table !== null);
  const profile: DeliveryProfile = {
    delimiter: mostCommon(matched.map((f) => f.delimiter)) ?? base.delimiter,
    encoding: matched.some((f) => f.encoding === 'latin-1') ? 'latin-1' : 'utf-8',
    missing: dot ? [...new Set([...base.missing, '.'])] : base.missing,
    blankIsMissing: base.blankIsMissing || blank,
    dates: byDefault === undefined || byDefault === 'yyyy-MM-dd' ? { columns } : { default: byDefault, columns },
    exponent: base.exponent || exponent,
    integerPointZero: base.integerPointZero || pointZero,
    files: base.files,
    extraColumns: matched.some((f) => f.unknownColumns.length > 0) ? 'ignore' : base.extraColumns,
  };
  const flagWords = mostCommon(flagFindings.map((f) => `${f.true}/${f.false}`))?.split('/');
  const flags = flagWords === undefined ? base.flags : { true: flagWords[0] as string, false: flagWords[1] as string };
  if (flags !== undefined) return { profile: { ...profile, flags }, files: out, unknownFiles };
  return { profile, files: out, unknownFiles };
}
