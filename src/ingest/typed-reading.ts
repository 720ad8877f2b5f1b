/**
 * The typed reading of a clean file: DuckDB's CSV reader parses plain columns (integers, decimal
 * numbers, dates of one fixed spelling) itself, as the raw tool does, instead of reading them as
 * text and casting them in SQL.
 *
 * DuckDB's typed reader is lenient (`1.5`, `1e3`, `0x10`, `1_000`, ` 5` read as integers, `1/3/2021`
 * as a `%d/%m/%Y` date, a value it cannot read drops the row), so it may read a file only once the
 * file is known to hold nothing but exact spellings there: one regular expression over each whole
 * line (`lineRegex`), every field of a plain column in its exact shape or empty, every other field
 * free of the delimiter and of quotes (a quoted file is read the careful way). A file whose every
 * line matches is read typed, and its plain columns then hold exactly what the careful reading
 * (`typedSql`) would give: the same digits through the same casts. Any line that does not match,
 * any error of the line scan, any row the typed reader rejects, or a row count that differs sends
 * the file to the careful reading, which finds and names what is wrong.
 *
 * A plain column is one whose only rules are its type, `required` and a range: a column with an
 * enum, a pattern, a length, a code list, a pseudonym or a NIR is read as text (those rules read
 * the text as delivered).
 */
import type { CatalogColumn } from '../catalog/index.ts';
import { sqlString, type EngineSession } from '../engine/index.ts';
import { isGzipped } from './files.ts';
import type { DeliveryProfile } from './profile.ts';
import { codeListOf, dateFormat, isNirColumn, keepsRawText } from './rules.ts';

export type PlainType = 'BIGINT' | 'DOUBLE' | 'DATE';

export interface TypedReading {
  /** Plain columns of the file and the type the reader gives them (the careful reading's types). */
  readonly types: ReadonlyMap<string, PlainType>;
  /** The reader's `dateformat` (one per file): the plain date columns' format. */
  readonly dateFormat?: string;
  /** What every line of the file (after the header) must match, in full. */
  readonly lineRegex: string;
  /** Decimal numbers are written with a comma (the reader's `decimal_separator`). */
  readonly decimalComma: boolean;
  /** Spellings the reader reads as missing besides the empty field (the profile's markers, `.`): its `nullstr`. */
  readonly missing: readonly string[];
}

/** An integer that fits BIGINT whatever its digits (18 at most), optionally negative. */
const INTEGER = '-?[0-9]{1,18}';
/** The careful reading's decimal shapes (`typedSql`, `POINT_NUMBER_SHAPE`, `COMMA_NUMBER_SHAPE`; a file uses one). */
const NUMBER = '-?[0-9]+(?:[.][0-9]+)?';
const COMMA_NUMBER = '-?[0-9]+(?:,[0-9]+)?';
/** Date fields: real months and days (a day the month lacks, 31/02, is left to the reader, which rejects it: the file then goes the careful way). The year 0000 is no year. */
const DATE_PARTS: Readonly<Record<string, string>> = {
  Y: '(?:[0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)',
  m: '(?:0[1-9]|1[0-2])',
  d: '(?:0[1-9]|[12][0-9]|3[01])',
};

/** The exact shape of a date-only format made of `%Y`, `%m`, `%d` and literal punctuation, else undefined. */
function plainDateRegex(format: string): string | undefined {
  let out = '';
  const seen = new Set<string>();
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    if (ch === '%') {
      const key = format[i + 1] ?? '';
      const part = DATE_PARTS[key];
      if (part === undefined || seen.has(key)) return undefined;
      seen.add(key);
      out += part;
      i += 1;
    } else if (/^[-/.:_ ]$/.test(ch)) out += `\\x{${ch.charCodeAt(0).toString(16)}}`;
    else return undefined;
  }
  return seen.size === 3 ? out : undefined;
}

/** The type a plain column is read with, or undefined when the column is read as text. */
function plainType(c: CatalogColumn, profile: DeliveryProfile): { type: PlainType; shape: string; format?: string } | undefined {
  const k = c.constraints;
  if (keepsRawText(c) || isNirColumn(c) || codeListOf(c) !== null) return undefined;
  if ((k.enum !== undefined && k.enum.length > 0) || k.pattern !== undefined || k.minLength !== undefined || k.maxLength !== undefined) return undefined;
  switch (c.type) {
    case 'integer':
    case 'year':
      return profile.integerPointZero || profile.exponent ? undefined : { type: 'BIGINT', shape: INTEGER };
    case 'number':
      return profile.exponent ? undefined : { type: 'DOUBLE', shape: NUMBER };
    case 'date': {
      const format = dateFormat(c);
      const shape = plainDateRegex(format);
      return shape === undefined ? undefined : { type: 'DATE', shape, format };
    }
    default:
      return undefined;
  }
}

/** A character as an RE2 escape (any character, the delimiter included, safely). */
function esc(ch: string): string {
  return `\\x{${(ch.codePointAt(0) as number).toString(16)}}`;
}

/**
 * The typed reading of a file with this header, or undefined when none of its columns is plain
 * (nothing to gain). Missing-value markers other than the empty field are not plain spellings:
 * a file using them in a plain column goes the careful way.
 */
export function typedReading(columns: readonly CatalogColumn[], header: readonly string[], profile: DeliveryProfile, decimalComma = false): TypedReading | undefined {
  if ([...profile.delimiter].length !== 1 || profile.delimiter === '"') return undefined;
  // A decimal comma beside a comma delimiter would be quoted: the careful reading's work.
  if (decimalComma && profile.delimiter === ',') return undefined;
  const byName = new Map(columns.map((c) => [c.name, c]));
  const plain = new Map(header.map((h) => [h, byName.get(h)] as const).flatMap(([h, c]) => {
    const t = c === undefined ? undefined : plainType(c, profile);
    return t === undefined ? [] : [[h, t] as const];
  }));
  // One date format per file (the reader's `dateformat`): the one most plain date columns use.
  const formats = new Map<string, number>();
  for (const t of plain.values()) if (t.format !== undefined) formats.set(t.format, (formats.get(t.format) ?? 0) + 1);
  const dateFormatOf = [...formats].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const [h, t] of plain) if (t.format !== undefined && t.format !== dateFormatOf) plain.delete(h);
  if (plain.size === 0) return undefined;
  const d = esc(profile.delimiter);
  const other = `[^${d}\\x{22}]*`;
  // The profile's missing markers (`.`) are missing in every column, as in the careful reading
  // (`normalisedSql`): a plain field may be one, which the reader reads as NULL (`nullstr`).
  const markers = profile.missing.filter((m) => m !== '' && ![...m].some((ch) => ch === profile.delimiter || ch === '"' || ch === '\n' || ch === '\r'));
  if (markers.length !== profile.missing.length) return undefined;
  const marker = markers.map((m) => `|${[...m].map(esc).join('')}`).join('');
  const lineRegex = header.map((h) => {
    const t = plain.get(h);
    if (t === undefined) return other;
    return `(?:${t.type === 'DOUBLE' && decimalComma ? COMMA_NUMBER : t.shape}${marker})?`;
  }).join(d);
  const hasNumbers = [...plain.values()].some((t) => t.type === 'DOUBLE');
  if (decimalComma && !hasNumbers) return undefined;
  return { types: new Map([...plain].map(([h, t]) => [h, t.type])), ...(dateFormatOf === undefined ? {} : { dateFormat: dateFormatOf }), lineRegex, decimalComma, missing: markers };
}

/** The line scan's delimiter: a control character no clean line holds. */
const LINE_DELIMITER = '\u0001';

/**
 * The line scan: how many lines the file has after its header, and how many match `lineRegex`
 * (the first `limit` lines only, when given: a cheap look that spares a file with an early bad
 * line the whole scan). Each line is read whole (no quote, a delimiter no clean line holds: a
 * line holding it has two fields, an error, and the file goes the careful way).
 */
export function lineScanSql(path: string, r: TypedReading, encoding: string, limit?: number): string {
  const lines = `read_csv(${sqlString(path)}, columns = {'l': 'VARCHAR'}, delim = ${sqlString(LINE_DELIMITER)}, header = true, quote = '', escape = '', auto_detect = false,
      null_padding = false, ignore_errors = false${encoding === 'latin-1' ? `, encoding = 'latin-1'` : ''})`;
  return `SELECT count(*) AS n, count(*) FILTER (WHERE regexp_full_match(l, ${sqlString(r.lineRegex)})) AS ok
    FROM ${limit === undefined ? lines : `(SELECT l FROM ${lines} LIMIT ${limit})`}`;
}

/** Lines a file's first look reads before its whole line scan. */
export const LINE_LOOK = 2000;

/**
 * Whether a file is read typed, and how: its typed reading (with a decimal comma when its first
 * lines show one) and its number of lines after the header, which the typed pass must read back
 * (a row the typed reader drops shows as a count that differs). Undefined: the file is read as
 * text (no plain column, a gzip'd file, a line of inexact spelling, or a scan that failed).
 *
 * The first look reads `LINE_LOOK` lines, so a file with an early bad line pays little; a file
 * that passes it is scanned whole. A gzip'd file is not tried: its scan would decompress it once
 * more, which costs more than the typed reading saves (measured 10-15 % slower on the cnam
 * convention's gzip'd files).
 */
export async function chooseTypedReading(
  session: EngineSession,
  path: string,
  columns: readonly CatalogColumn[],
  header: readonly string[],
  profile: DeliveryProfile,
  look = LINE_LOOK,
): Promise<{ readonly reading: TypedReading; readonly lines: number } | undefined> {
  if (isGzipped(path)) return undefined;
  const point = typedReading(columns, header, profile);
  if (point === undefined) return undefined;
  const clean = async (t: TypedReading, limit?: number): Promise<number | undefined> => {
    const got = await session.all<{ n: bigint; ok: bigint }>(lineScanSql(path, t, profile.encoding, limit)).catch(() => undefined);
    const r = got?.[0];
    return r !== undefined && r.n > 0n && r.n === r.ok ? Number(r.n) : undefined;
  };
  let reading = point;
  let first = await clean(point, look);
  // Numbers with a decimal comma (a file uses one separator): the same look with commas.
  if (first === undefined) {
    const comma = typedReading(columns, header, profile, true);
    if (comma === undefined) return undefined;
    first = await clean(comma, look);
    if (first === undefined) return undefined;
    reading = comma;
  }
  const lines = first < look ? first : await clean(reading);
  return lines === undefined ? undefined : { reading, lines };
}
