/**
 * Delivery profiles: how a producer writes its files (separator, encoding, compression, date
 * formats, missing-value markers, number spellings, file names, extra columns). A profile never
 * changes what a value means, only how it is spelled; the catalogue's rules apply unchanged to
 * the value once read. The default profile is the ISO one Enclave's generator writes.
 */
import type { CatalogColumn, CatalogTable } from '../catalog/index.ts';
import { sqlIdent, sqlString } from '../engine/index.ts';
import { AppError } from '../errors.ts';
import { dateShape, integerTextSql } from './rules.ts';

export const ENCODINGS = ['utf-8', 'latin-1'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/** One file-name rule: a regular expression over the name without extension, the table, and the capture group holding the year. */
export interface FileRule {
  readonly pattern: string;
  readonly table: string;
  /** Capture group (1-based) holding a 2- or 4-digit year; absent: no year from the name. */
  readonly yearGroup?: number;
}

export interface DeliveryProfile {
  /** Field separator: `;` (CNAM extractions, the Health Data Hub's base) or `,` (the community synthetic SNDS). */
  readonly delimiter: string;
  readonly encoding: Encoding;
  /** Values read as missing besides the empty field, e.g. SAS's `.`. */
  readonly missing: readonly string[];
  /** Fields of spaces only are missing. */
  readonly blankIsMissing: boolean;
  /** Date formats (see `DATE_FORMATS`, or a strptime `%` format): `default` for date columns whose catalogue gives no format; `columns` by `COLUMN` or `TABLE.COLUMN`. */
  readonly dates: { readonly default?: string; readonly columns: Readonly<Record<string, string>> };
  /**
   * Numbers written with an exponent (`5.119e+16`), integers included: an integer column reads
   * `5.119e+3` as 5119, and quarantines what is no exact integer (`integer_fraction`,
   * `integer_overflow`, `integer_precision` above 2^53, which SAS's doubles do not hold exactly).
   * A decimal comma is always read.
   */
  readonly exponent: boolean;
  /** Integer columns exported as decimals (`61.0`): read exactly, a non-zero fraction is `integer_fraction`. */
  readonly integerPointZero: boolean;
  /** File names to tables (tried before the catalogue's own names and `yearFromName` patterns). */
  readonly files: readonly FileRule[];
  /** Columns absent from the catalogue: refuse the delivery (default), or ignore them (reported). */
  readonly extraColumns: 'refuse' | 'ignore';
  /**
   * How the producer spells flags (`True`/`False`), read as `1`/`0` in flag columns (see
   * `isFlagColumn`). Absent: flags are read as written (`0`/`1`; boolean columns also read
   * true/false, O/N, oui/non).
   */
  readonly flags?: { readonly true: string; readonly false: string };
}

export const DEFAULT_PROFILE: DeliveryProfile = Object.freeze({
  delimiter: ';', encoding: 'utf-8', missing: [], blankIsMissing: false, dates: { columns: {} }, exponent: false, integerPointZero: false, files: [], extraColumns: 'refuse',
});

/**
 * Date spellings met in SNDS deliveries, by the name a profile gives them, as strptime formats.
 * A date column given a datetime spelling keeps the day. Values are held to the spelling exactly
 * (`dd/MM/yyyy` refuses `1/3/2021` and `01/03/21`; see `dateShape`); month names in either case.
 */
export const DATE_FORMATS: Readonly<Record<string, string>> = Object.freeze({
  'yyyy-MM-dd': '%Y-%m-%d',
  'dd/MM/yyyy': '%d/%m/%Y',
  ddMMyyyy: '%d%m%Y',
  yyyyMMdd: '%Y%m%d',
  ddMMMyyyy: '%d%b%Y',
  'ddMMMyyyy:HH:mm:ss': '%d%b%Y:%H:%M:%S',
  "yyyy-MM-dd'T'HH:mm:ss'Z'": '%Y-%m-%dT%H:%M:%SZ',
  "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'": '%Y-%m-%dT%H:%M:%S.%gZ',
  'yyyy-MM-dd HH:mm:ss': '%Y-%m-%d %H:%M:%S',
});

/**
 * The strptime format of a profile date spelling, or undefined when it is neither a known name nor
 * a `%` format whose every field has a shape values are held to (see `dateShape`).
 */
export function strptimeOf(spelling: string): string | undefined {
  return DATE_FORMATS[spelling] ?? (spelling.includes('%') && dateShape(spelling) !== undefined ? spelling : undefined);
}

function bad(field: string, why: string, hint: string): AppError {
  return new AppError('invalid', `delivery profile: ${field} ${why}`, { hint, details: { field } });
}

/**
 * Validates a profile given as JSON (a file or the API), filling defaults; every error names
 * the field and says how to fix it.
 */
export function parseProfile(input: unknown): DeliveryProfile {
  if (input === undefined || input === null) return DEFAULT_PROFILE;
  if (typeof input !== 'object' || Array.isArray(input)) throw bad('(root)', 'must be an object', 'e.g. {"delimiter": ",", "dates": {"default": "dd/MM/yyyy"}}');
  const o = input as Record<string, unknown>;
  const known = new Set(['delimiter', 'encoding', 'missing', 'blankIsMissing', 'dates', 'exponent', 'integerPointZero', 'files', 'extraColumns', 'flags', 'format']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(k, 'is not a profile field', `known fields: ${[...known].join(', ')}`);
  const delimiter = o['delimiter'] ?? ';';
  if (typeof delimiter !== 'string' || ![';', ',', '\t', '|'].includes(delimiter)) throw bad('delimiter', `must be one of ";", ",", tab or "|", got ${JSON.stringify(delimiter)}`, 'e.g. "delimiter": ";"');
  const encoding = o['encoding'] ?? 'utf-8';
  if (typeof encoding !== 'string' || !(ENCODINGS as readonly string[]).includes(encoding.toLowerCase().replace('latin1', 'latin-1').replace('utf8', 'utf-8'))) {
    throw bad('encoding', `must be utf-8 or latin-1, got ${JSON.stringify(encoding)}`, 'Latin-1 is also called ISO-8859-1');
  }
  const missing = o['missing'] ?? [];
  if (!Array.isArray(missing) || !missing.every((m) => typeof m === 'string' && m.trim() !== '' && !m.includes(delimiter))) {
    throw bad('missing', 'must be a list of non-blank markers (blank fields are handled by blankIsMissing)', 'e.g. "missing": ["."]');
  }
  const flag = (k: string): boolean => {
    const v = o[k] ?? false;
    if (typeof v !== 'boolean') throw bad(k, 'must be true or false', `e.g. "${k}": true`);
    return v;
  };
  const datesIn = o['dates'] ?? {};
  if (typeof datesIn !== 'object' || datesIn === null || Array.isArray(datesIn)) throw bad('dates', 'must be an object', 'e.g. "dates": {"default": "dd/MM/yyyy", "columns": {"T_MCOaaB.ENT_DAT": "ddMMyyyy"}}');
  const d = datesIn as Record<string, unknown>;
  const spelling = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || strptimeOf(v) === undefined) throw bad(field, `is not a date spelling: ${JSON.stringify(v)}`, `use one of ${Object.keys(DATE_FORMATS).join(', ')}, or a strptime format with %`);
    return v;
  };
  const columnsIn = d['columns'] ?? {};
  if (typeof columnsIn !== 'object' || columnsIn === null || Array.isArray(columnsIn)) throw bad('dates.columns', 'must be an object of COLUMN or TABLE.COLUMN to spelling', 'e.g. {"ENT_DAT": "ddMMyyyy"}');
  const columns: Record<string, string> = {};
  for (const [k, v] of Object.entries(columnsIn)) columns[k] = spelling(`dates.columns.${k}`, v);
  const dates = d['default'] === undefined ? { columns } : { default: spelling('dates.default', d['default']), columns };
  const filesIn = o['files'] ?? [];
  if (!Array.isArray(filesIn)) throw bad('files', 'must be a list of {pattern, table, yearGroup}', 'e.g. [{"pattern": "^T_MCO(\\\\d\\\\d)C$", "table": "T_MCOaaC", "yearGroup": 1}]');
  const files = filesIn.map((f: unknown, i): FileRule => {
    const r = (f ?? {}) as Record<string, unknown>;
    if (typeof r['pattern'] !== 'string' || typeof r['table'] !== 'string') throw bad(`files[${i}]`, 'needs a pattern and a table', 'e.g. {"pattern": "^ER_PRS_F_\\\\d{6}$", "table": "ER_PRS_F"}');
    try {
      new RegExp(r['pattern']);
    } catch {
      throw bad(`files[${i}].pattern`, 'is not a valid regular expression', 'fix the pattern');
    }
    const g = r['yearGroup'];
    if (g !== undefined && (typeof g !== 'number' || !Number.isInteger(g) || g < 1)) throw bad(`files[${i}].yearGroup`, 'must be a capture group number ≥ 1', 'e.g. "yearGroup": 1');
    return g === undefined ? { pattern: r['pattern'], table: r['table'] } : { pattern: r['pattern'], table: r['table'], yearGroup: g };
  });
  const extra = o['extraColumns'] ?? 'refuse';
  if (extra !== 'refuse' && extra !== 'ignore') throw bad('extraColumns', `must be "refuse" or "ignore", got ${JSON.stringify(extra)}`, 'ignored columns are listed in the report');
  const flagsIn = o['flags'];
  let flags: { true: string; false: string } | undefined;
  if (flagsIn !== undefined) {
    const f = flagsIn as Record<string, unknown>;
    const ok = typeof flagsIn === 'object' && flagsIn !== null && !Array.isArray(flagsIn) && Object.keys(f).every((k) => k === 'true' || k === 'false');
    const t = ok ? f['true'] : undefined;
    const n = ok ? f['false'] : undefined;
    if (typeof t !== 'string' || typeof n !== 'string' || t === '' || n === '' || t === n || t.includes(delimiter) || n.includes(delimiter)) {
      throw bad('flags', 'must give two different non-empty spellings, {"true": …, "false": …}', 'e.g. "flags": {"true": "True", "false": "False"}');
    }
    flags = { true: t, false: n };
  }
  return {
    delimiter, encoding: encoding.toLowerCase().startsWith('latin') ? 'latin-1' : 'utf-8', missing: missing as string[], blankIsMissing: flag('blankIsMissing'),
    dates, exponent: flag('exponent'), integerPointZero: flag('integerPointZero'), files, extraColumns: extra, ...(flags === undefined ? {} : { flags }),
  };
}

/**
 * The catalogue columns as this delivery spells them: date columns take the profile's format
 * (per column first, then the default for columns whose catalogue gives none).
 */
export function profiledColumns(table: CatalogTable, profile: DeliveryProfile): CatalogColumn[] {
  return table.columns.map((c) => {
    if (c.type !== 'date' && c.type !== 'datetime') return c;
    const own = profile.dates.columns[`${table.name}.${c.name}`] ?? profile.dates.columns[c.name];
    const catalogueHasFormat = c.format !== null && c.format.includes('%');
    const spelling = own ?? (catalogueHasFormat ? undefined : profile.dates.default);
    const fmt = spelling === undefined ? undefined : strptimeOf(spelling);
    return fmt === undefined ? c : { ...c, format: fmt };
  });
}

/** True when reading this profile changes raw text before the rules (markers, blanks, `61.0`, `5.119e+3`, flags). */
export function normalises(profile: DeliveryProfile): boolean {
  return profile.missing.length > 0 || profile.blankIsMissing || profile.integerPointZero || profile.exponent || profile.flags !== undefined;
}

/**
 * A flag column: a boolean, or a column whose only values are 0 and 1 (the catalogue's `*_TOP`
 * and `*_RET` codes). A profile's flag spellings are read as 1 and 0 there, and nowhere else.
 */
export function isFlagColumn(c: Pick<CatalogColumn, 'type' | 'constraints'>): boolean {
  if (c.type === 'boolean') return true;
  const e = c.constraints.enum;
  if (e === undefined || e.length !== 2) return false;
  const s = e.map(String).sort();
  return s[0] === '0' && s[1] === '1';
}

/**
 * The SQL of a column's text as the rules read it: missing markers and blank fields become NULL,
 * `61.0` or `6.1e+1` in an integer column becomes `61` (exactly; see `integerTextSql`), the profile's flag spellings `1` and `0` in a flag
 * column. Undefined when the text is read as it is.
 */
export function normalisedSql(c: CatalogColumn | undefined, name: string, profile: DeliveryProfile): string | undefined {
  const v = sqlIdent(name);
  const nulls: string[] = [];
  if (profile.missing.length > 0) nulls.push(`${v} IN (${profile.missing.map(sqlString).join(', ')})`);
  if (profile.blankIsMissing) nulls.push(`trim(${v}) = ''`);
  const intText = c !== undefined && (c.type === 'integer' || c.type === 'year') ? integerTextSql(v, profile) : undefined;
  const flags = c !== undefined && profile.flags !== undefined && isFlagColumn(c) ? profile.flags : undefined;
  if (nulls.length === 0 && intText === undefined && flags === undefined) return undefined;
  let value = intText ?? v;
  if (flags !== undefined) value = `CASE ${v} WHEN ${sqlString(flags.true)} THEN '1' WHEN ${sqlString(flags.false)} THEN '0' ELSE ${value} END`;
  return nulls.length === 0 ? value : `CASE WHEN ${nulls.join(' OR ')} THEN NULL ELSE ${value} END`;
}
