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
 * (`typedSql`) would give: the same digits through the same casts. The scan runs by Enclave's own
 * line automaton (`line-automaton.ts`: these expressions compiled to one deterministic automaton
 * over the file's bytes), or by DuckDB and RE2 where they do not compile. Any line that does not match,
 * any error of the line scan, any row the typed reader rejects, or a row count that differs sends
 * the file to the careful reading, which finds and names what is wrong.
 *
 * A plain column is one whose only rules are its type, `required` and a range: a column with an
 * enum, a pattern, a length, a code list, a pseudonym or a NIR is read as text (those rules read
 * the text as delivered).
 *
 * The same scan can also prove a column's text rules (`columnProofs`): a column with an enum or a
 * code list has a finite set of spellings that pass every rule of the column (found by running the
 * column's own rule check on each candidate), a string column with a simple pattern has that
 * pattern. A second, stronger line shape puts those spellings in the proven columns' fields; a file
 * whose every line matches it is read with those columns' rules left out of the row check (only
 * `required` stays: an empty field is no spelling), and a proven integer column whose spellings are
 * all integer text is read typed as well. A file that matches only the weaker shape is read typed
 * with every rule checked, as before; the stronger shape costs the scan little (one regular
 * expression a line either way, the weaker one only on lines the stronger one refuses).
 */
import type { CatalogColumn } from '../catalog/index.ts';
import { sqlString, type EngineSession } from '../engine/index.ts';
import { isGzipped } from './files.ts';
import type { DeliveryProfile } from './profile.ts';
import { codeListOf, columnBreaksSql, dateFormat, isNirColumn, isPseudonymised, keepsRawText, type ColumnSqlContext } from './rules.ts';
import { isFlagColumn } from './profile.ts';
import { compileLineShapes, headerLineEnd, LineShapeError, scanFile, type LineAutomaton, type LineCounts } from './line-automaton.ts';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

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
  /**
   * Columns whose every rule but `required` a line matching `lineRegex` proves (their fields hold
   * only spellings that pass them): the row check leaves those rules out. Empty for the weaker shape.
   */
  readonly proven: ReadonlySet<string>;
}

/**
 * What the line scan may prove of a column: `piece`, an RE2 expression of every non-empty
 * spelling of the column that passes all its rules (none holds the delimiter, a quote or a line
 * end); `integers`, every such spelling is integer text (the typed reader may read the column).
 */
export interface ColumnProof {
  readonly piece: string;
  readonly integers: boolean;
}

/** An integer that fits BIGINT whatever its digits (18 at most), optionally negative. */
const INTEGER = '-?[0-9]{1,18}';
const INTEGER_TEXT = new RegExp(`^${INTEGER}$`);
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

/** The profile's delimiter is one character, not a quote: a line shape can split fields on it. */
function lineDelimited(profile: DeliveryProfile): boolean {
  return [...profile.delimiter].length === 1 && profile.delimiter !== '"';
}

/** A character as an RE2 escape (any character, the delimiter included, safely). */
function esc(ch: string): string {
  return `\\x{${(ch.codePointAt(0) as number).toString(16)}}`;
}

/**
 * The typed reading of a file with this header, or undefined when none of its columns is plain
 * or proven (nothing to gain). Missing-value markers other than the empty field are not plain
 * spellings: a file using them in a plain column goes the careful way. With `proofs`
 * (`columnProofs`), the stronger shape: each proven column's field holds its passing spellings
 * (or is empty, or a marker), and `proven` names those columns.
 */
export function typedReading(
  columns: readonly CatalogColumn[],
  header: readonly string[],
  profile: DeliveryProfile,
  decimalComma = false,
  proofs: ReadonlyMap<string, ColumnProof> = new Map(),
): TypedReading | undefined {
  if (!lineDelimited(profile)) return undefined;
  // A decimal comma beside a comma delimiter would be quoted: the careful reading's work.
  if (decimalComma && profile.delimiter === ',') return undefined;
  const byName = new Map(columns.map((c) => [c.name, c]));
  const plain = new Map(header.map((h) => [h, byName.get(h)] as const).flatMap(([h, c]) => {
    const t = c === undefined ? undefined : plainType(c, profile);
    return t === undefined ? [] : [[h, t] as const];
  }));
  // A proven column's field holds one of its passing spellings; one whose spellings are all
  // integer text is plain as well (the reader reads exact digits as the careful reading does).
  const proven = new Map<string, string>();
  for (const h of header) {
    const proof = proofs.get(h);
    const c = byName.get(h);
    if (proof === undefined || c === undefined || plain.has(h) || header.indexOf(h) !== header.lastIndexOf(h)) continue;
    proven.set(h, proof.piece);
    if (proof.integers && (c.type === 'integer' || c.type === 'year') && !keepsRawText(c)) plain.set(h, { type: 'BIGINT', shape: proof.piece });
  }
  // One date format per file (the reader's `dateformat`): the one most plain date columns use.
  const formats = new Map<string, number>();
  for (const t of plain.values()) if (t.format !== undefined) formats.set(t.format, (formats.get(t.format) ?? 0) + 1);
  const dateFormatOf = [...formats].sort((a, b) => b[1] - a[1])[0]?.[0];
  for (const [h, t] of plain) if (t.format !== undefined && t.format !== dateFormatOf) plain.delete(h);
  if (plain.size === 0 && proven.size === 0) return undefined;
  const d = esc(profile.delimiter);
  const other = `[^${d}\\x{22}]*`;
  // The profile's missing markers (`.`) are missing in every column, as in the careful reading
  // (`normalisedSql`): a plain field may be one, which the reader reads as NULL (`nullstr`).
  const markers = profile.missing.filter((m) => m !== '' && ![...m].some((ch) => ch === profile.delimiter || ch === '"' || ch === '\n' || ch === '\r'));
  if (markers.length !== profile.missing.length) return undefined;
  const marker = markers.map((m) => `|${[...m].map(esc).join('')}`).join('');
  const lineRegex = header.map((h) => {
    const t = plain.get(h);
    const piece = proven.get(h) ?? (t === undefined ? undefined : t.type === 'DOUBLE' && decimalComma ? COMMA_NUMBER : t.shape);
    return piece === undefined ? other : `(?:${piece}${marker})?`;
  }).join(d);
  const hasNumbers = [...plain.values()].some((t) => t.type === 'DOUBLE');
  if (decimalComma && !hasNumbers) return undefined;
  return { types: new Map([...plain].map(([h, t]) => [h, t.type])), ...(dateFormatOf === undefined ? {} : { dateFormat: dateFormatOf }), lineRegex, decimalComma, missing: markers, proven: new Set(proven.keys()) };
}

/** Spellings of a finite column (enum or code list) beyond which the scan does not try to prove it. */
export const MAX_PROVEN_SPELLINGS = 1000;
/**
 * The most characters the proven columns' pieces add to a file's line shape, smallest columns
 * first (RE2 compiles 100,000 characters of alternatives in a few milliseconds and matches a line
 * in about a microsecond; far larger shapes can outgrow its automaton's memory and slow down).
 */
export const MAX_PROVEN_SHAPE = 100_000;

/**
 * A catalogue pattern the line shape may hold as it is: ASCII letters, digits, `_`, `-` and `\d`,
 * bracket classes of them (no negation), groups, alternation and repetition, anchored at its ends
 * only. Its language has none of the characters that end a field (a profile's delimiter is `;`,
 * `,`, tab or `|`; a `|` in the pattern is alternation).
 */
const FIELD_SAFE_PATTERN = /^\^?(?:[A-Za-z0-9_-]|\\d|\[(?:[A-Za-z0-9_](?:-[A-Za-z0-9_])?|\\d)+\]|\((?:\?:)?|\)|\||[?*+]|\{[0-9]{1,3}(?:,[0-9]{0,3})?\})+\$?$/;

/**
 * The columns of `header` whose text rules the line scan can prove (see the module's note), with
 * what their fields may hold. A column with an enum or a known code list (at most
 * `MAX_PROVEN_SPELLINGS` candidates): its candidates that pass the column's own rule check
 * (`columnBreaksSql`, run here on each candidate: the same SQL as the row check), plus the
 * profile's flag spellings of the passing `1` and `0`. A string column whose only rules are
 * `required` and a field-safe pattern: the pattern. Never a NIR column (its key is checked), nor an
 * integer column under a profile that rewrites integers (`61.0`: the text checked is not the text
 * delivered).
 */
export async function columnProofs(
  session: EngineSession,
  columns: readonly CatalogColumn[],
  header: readonly string[],
  profile: DeliveryProfile,
  ctx: ColumnSqlContext,
  codes: (list: string) => readonly string[] | undefined,
): Promise<Map<string, ColumnProof>> {
  const out = new Map<string, ColumnProof>();
  if (!lineDelimited(profile)) return out;
  const fieldSafe = (v: string): boolean => v !== '' && !v.includes(profile.delimiter) && !/["\r\n]/.test(v);
  const finite: Array<{ c: CatalogColumn; candidates: readonly string[] }> = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  for (const h of new Set(header)) {
    const c = byName.get(h);
    if (c === undefined || isNirColumn(c)) continue;
    if ((c.type === 'integer' || c.type === 'year') && (profile.integerPointZero || profile.exponent)) continue;
    const k = c.constraints;
    const list = codeListOf(c);
    const listKnown = list !== null && ctx.nomenclatureType(list) !== undefined;
    const candidates = k.enum !== undefined && k.enum.length > 0 ? k.enum.map(String) : listKnown ? codes(list) : undefined;
    if (candidates !== undefined) {
      if (candidates.length > 0 && candidates.length <= MAX_PROVEN_SPELLINGS) finite.push({ c, candidates });
      continue;
    }
    const onlyPattern = c.type === 'string' && k.pattern !== undefined && k.minLength === undefined && k.maxLength === undefined && !listKnown;
    if (onlyPattern && FIELD_SAFE_PATTERN.test(k.pattern)) {
      out.set(h, { piece: `(?:${k.pattern.replace(/^\^/, '').replace(/\$$/, '')})`, integers: false });
    }
  }
  if (finite.length === 0) return out;
  // Every candidate through its column's own rule check, all columns in one statement.
  const sql = finite.map(({ c, candidates }, i) => `list_filter([${candidates.map(sqlString).join(', ')}]::VARCHAR[], v -> NOT coalesce(${columnBreaksSql(c, 'v', ctx)}, true)) AS c${i}`);
  const [row] = await session.all<Record<string, readonly string[] | null>>(`SELECT ${sql.join(', ')}`);
  const found = finite.flatMap(({ c }, i) => {
    const passing = [...(row?.[`c${i}`] ?? [])].filter(fieldSafe);
    const flags = profile.flags !== undefined && isFlagColumn(c) ? profile.flags : undefined;
    const spellings = [...passing, ...(flags === undefined ? [] : [passing.includes('1') ? flags.true : undefined, passing.includes('0') ? flags.false : undefined].filter((x): x is string => x !== undefined && fieldSafe(x)))];
    if (spellings.length === 0) return [];
    const unique = [...new Set(spellings)];
    return [{ name: c.name, piece: `(?:${unique.map((v) => [...v].map(esc).join('')).join('|')})`, integers: !isPseudonymised(c) && unique.every((v) => INTEGER_TEXT.test(v)) }];
  });
  let size = [...out.values()].reduce((a, p) => a + p.piece.length, 0);
  for (const f of found.sort((a, b) => a.piece.length - b.piece.length)) {
    if (size + f.piece.length > MAX_PROVEN_SHAPE) break;
    size += f.piece.length;
    out.set(f.name, { piece: f.piece, integers: f.integers });
  }
  return out;
}

/** The line scan's delimiter: a control character no clean line holds. */
const LINE_DELIMITER = '\u0001';

/**
 * The line scan: how many lines the file has after its header (`n`), and how many match
 * `lineRegex` (`ok`) (the first `limit` lines only, when given: a cheap look that spares a file with
 * an early bad line the whole scan). Each line is read whole (no quote, a delimiter no clean line
 * holds: a line holding it has two fields, an error, and the file goes the careful way). With
 * `stronger` (a shape whose lines all match `r`'s too), `proven` counts the lines that match it,
 * and `ok` those that match either: the weaker shape is tried only on lines the stronger refuses.
 */
export function lineScanSql(path: string, r: TypedReading, encoding: string, limit?: number, stronger?: TypedReading): string {
  const lines = `read_csv(${sqlString(path)}, columns = {'l': 'VARCHAR'}, delim = ${sqlString(LINE_DELIMITER)}, header = true, quote = '', escape = '', auto_detect = false,
      null_padding = false, ignore_errors = false${encoding === 'latin-1' ? `, encoding = 'latin-1'` : ''})`;
  const from = limit === undefined ? lines : `(SELECT l FROM ${lines} LIMIT ${limit})`;
  if (stronger === undefined) {
    return `SELECT count(*) AS n, count(*) FILTER (WHERE regexp_full_match(l, ${sqlString(r.lineRegex)})) AS ok FROM ${from}`;
  }
  return `SELECT count(*) AS n, count(*) FILTER (WHERE k >= 1) AS ok, count(*) FILTER (WHERE k = 2) AS proven
    FROM (SELECT CASE WHEN regexp_full_match(l, ${sqlString(stronger.lineRegex)}) THEN 2 WHEN regexp_full_match(l, ${sqlString(r.lineRegex)}) THEN 1 ELSE 0 END AS k FROM ${from})`;
}

/** Files from this size are scanned in a worker thread; smaller ones, and first looks, on the calling thread (a few milliseconds). */
const WORKER_SCAN_BYTES = 16 * 1024 * 1024;

/** Compiled line automata by shapes, encoding and line ends (a file's first look and whole scan use the same), a few at a time. */
const automata = new Map<string, LineAutomaton | LineShapeError>();

/** The line automaton of these shapes for this file, or undefined when it does not compile (`LineShapeError`): the DuckDB scan's work. */
async function automatonFor(path: string, r: TypedReading, stronger: TypedReading | undefined, encoding: string): Promise<LineAutomaton | undefined> {
  if (encoding !== 'utf-8' && encoding !== 'latin-1') return undefined;
  const end = await headerLineEnd(path);
  if (end === undefined) return undefined;
  const key = JSON.stringify([r.lineRegex, stronger?.lineRegex, encoding, end.crlf]);
  let a = automata.get(key);
  if (a === undefined) {
    try {
      a = compileLineShapes(r.lineRegex, stronger?.lineRegex, encoding, end.crlf);
    } catch (e) {
      if (!(e instanceof LineShapeError)) throw e;
      a = e;
    }
    if (automata.size >= 8) automata.delete(automata.keys().next().value as string);
    automata.set(key, a);
  }
  return a instanceof LineShapeError ? undefined : a;
}

/** Runs a line automaton over a whole file in a worker thread. */
function scanInWorker(path: string, automaton: LineAutomaton): Promise<LineCounts> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./line-scan-worker.ts', import.meta.url));
    const done = (): void => void worker.terminate();
    worker.once('message', (m: { counts?: LineCounts; error?: string }) => {
      done();
      if (m.counts !== undefined) resolve(m.counts);
      else reject(new Error(m.error ?? 'line scan failed'));
    });
    worker.once('error', (e: unknown) => {
      done();
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    worker.once('exit', (code) => reject(new Error(`line scan worker exited with code ${code}`)));
    worker.postMessage({ path, automaton });
  });
}

/**
 * How the line scan runs: `auto`, the file's own line automaton (`line-automaton.ts`) where its
 * shapes compile, else DuckDB and RE2; `duckdb`, always DuckDB; `automaton`, the automaton only (an
 * error where it does not compile); `verify`, both, and an error when their counts differ or the
 * shapes do not compile (the automaton refusing what DuckDB cannot read at all is no difference).
 */
export type LineScanEngine = 'auto' | 'automaton' | 'duckdb' | 'verify';

/**
 * The line scan's counts (`lineScanSql`), by `engine`; undefined when the scan fails (the file then
 * goes the careful way). In `auto`, a scan by the automaton that fails is tried again by DuckDB.
 */
export async function lineCounts(
  session: EngineSession,
  path: string,
  r: TypedReading,
  encoding: string,
  limit?: number,
  stronger?: TypedReading,
  engine: LineScanEngine = 'auto',
): Promise<LineCounts | undefined> {
  if (engine === 'verify') {
    const duck = await lineCounts(session, path, r, encoding, limit, stronger, 'duckdb');
    let auto: LineCounts | undefined;
    try {
      auto = await lineCounts(session, path, r, encoding, limit, stronger, 'automaton');
    } catch (e) {
      // Shapes the automaton does not compile are an error here: both scans must run.
      if (e instanceof LineShapeError) throw e;
      auto = undefined;
    }
    const same = duck === undefined ? auto === undefined || auto.ok < auto.n || auto.n === 0 : auto !== undefined && auto.n === duck.n && auto.ok === duck.ok && auto.proven === duck.proven;
    if (!same) throw new Error(`line scan of ${path}: the line automaton counted ${JSON.stringify(auto)} lines (n, ok, proven), DuckDB ${JSON.stringify(duck)}`);
    return duck;
  }
  if (engine !== 'duckdb') {
    const byAutomaton = async (): Promise<LineCounts | undefined> => {
      const a = await automatonFor(path, r, stronger, encoding);
      if (a === undefined) {
        if (engine === 'automaton') throw new LineShapeError(`no line automaton for ${path}`);
        return undefined;
      }
      const big = limit === undefined && (await stat(path)).size >= WORKER_SCAN_BYTES;
      return big ? scanInWorker(path, a) : scanFile(path, a, limit);
    };
    // A scan that fails (a file gone, a worker that cannot start) is tried again through DuckDB.
    const got = await byAutomaton().catch((e: unknown) => {
      if (engine === 'automaton') throw e;
      return undefined;
    });
    if (got !== undefined) return got;
  }
  const num = (x: { n: bigint; ok: bigint; proven?: bigint }): LineCounts => ({ n: Number(x.n), ok: Number(x.ok), proven: Number(x.proven ?? 0n) });
  const got = await session.all<{ n: bigint; ok: bigint; proven?: bigint }>(lineScanSql(path, r, encoding, limit, stronger)).catch(() => undefined);
  if (got?.[0] !== undefined) return num(got[0]);
  // A stronger shape the engine refuses (too large a pattern) costs the file its proofs only.
  if (stronger === undefined) return undefined;
  const weak = await session.all<{ n: bigint; ok: bigint }>(lineScanSql(path, r, encoding, limit)).catch(() => undefined);
  return weak?.[0] === undefined ? undefined : num(weak[0]);
}

/** Lines a file's first look reads before its whole line scan. */
export const LINE_LOOK = 2000;

/**
 * Whether a file is read typed, and how: its typed reading (with a decimal comma when its first
 * lines show one; with its proven columns when every line matches the stronger shape that `proofs`
 * give, see `columnProofs`) and its number of lines after the header, which the typed pass must
 * read back (a row the typed reader drops shows as a count that differs). Undefined: the file is
 * read as text (no plain or proven column, a gzip'd file, a line of inexact spelling, or a scan
 * that failed).
 *
 * The first look reads `look` lines, so a file with an early bad line pays little; a file that
 * passes it is scanned whole, with the stronger shape only if the first look passed it too. A
 * gzip'd file is not tried: its scan would decompress it once more, which costs more than the typed
 * reading saves (measured 10-15 % slower on the cnam convention's gzip'd files).
 */
export async function chooseTypedReading(
  session: EngineSession,
  path: string,
  columns: readonly CatalogColumn[],
  header: readonly string[],
  profile: DeliveryProfile,
  options: { readonly look?: number; readonly proofs?: ReadonlyMap<string, ColumnProof>; readonly engine?: LineScanEngine } = {},
): Promise<{ readonly reading: TypedReading; readonly lines: number } | undefined> {
  if (isGzipped(path)) return undefined;
  const look = options.look ?? LINE_LOOK;
  const proofs = options.proofs ?? new Map<string, ColumnProof>();
  // The weaker and the stronger shape, with points or with commas as decimal separators.
  const shapes = (comma: boolean): { weak?: TypedReading; strong?: TypedReading } => {
    const weak = typedReading(columns, header, profile, comma);
    const strong = proofs.size === 0 ? undefined : typedReading(columns, header, profile, comma, proofs);
    return { ...(weak === undefined ? {} : { weak }), ...(strong === undefined || strong.proven.size === 0 ? {} : { strong }) };
  };
  // The reading every scanned line allows (the stronger first), and how many lines there were.
  const scan = async (s: { weak?: TypedReading; strong?: TypedReading }, limit?: number): Promise<{ reading: TypedReading; lines: number } | undefined> => {
    const base = s.weak ?? s.strong;
    if (base === undefined) return undefined;
    const stronger = s.weak === undefined ? undefined : s.strong;
    const r = await lineCounts(session, path, base, profile.encoding, limit, stronger, options.engine);
    if (r === undefined || r.n === 0) return undefined;
    if (stronger !== undefined && r.proven === r.n) return { reading: stronger, lines: r.n };
    return r.ok === r.n ? { reading: base, lines: r.n } : undefined;
  };
  let chosen = shapes(false);
  let first = await scan(chosen, look);
  // Numbers with a decimal comma (a file uses one separator): the same look with commas.
  if (first === undefined) {
    chosen = shapes(true);
    if (chosen.weak?.decimalComma !== true) return undefined;
    first = await scan(chosen, look);
    if (first === undefined) return undefined;
  }
  if (first.lines < look) return first;
  // The whole file, with the stronger shape only if the first lines all matched it.
  return scan(first.reading.proven.size > 0 ? chosen : { ...(chosen.weak === undefined ? {} : { weak: chosen.weak }) });
}
