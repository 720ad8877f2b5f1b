import type { CatalogColumn } from '../catalog/index.ts';
import { sqlIdent, sqlString } from '../engine/index.ts';
import { nirViolationSql } from './nir.ts';

/**
 * Turns catalogue column definitions into DuckDB SQL: one expression listing a row's
 * violations, and one typed (and pseudonymised) expression per column for accepted rows.
 * Every rule is named; quarantine reports count rows per rule.
 */
export const RULES = ['required', 'type', 'integer_fraction', 'integer_overflow', 'integer_precision', 'enum', 'pattern', 'range', 'length', 'nomenclature', 'nir_format', 'nir_key'] as const;
export type Rule = (typeof RULES)[number];

/** Columns whose values are replaced by a keyed HMAC at ingestion. */
export function isPseudonymised(c: Pick<CatalogColumn, 'sensitivity'>): boolean {
  return c.sensitivity === 'direct_identifier' || c.sensitivity === 'pseudonym';
}

/** A raw NIR column: a direct identifier named like one. Validated as a NIR before hashing. */
export function isNirColumn(c: Pick<CatalogColumn, 'sensitivity' | 'name'>): boolean {
  return c.sensitivity === 'direct_identifier' && /NIR/.test(c.name);
}

const TEMPORAL_TYPES: ReadonlySet<string> = new Set(['date', 'datetime', 'time', 'year', 'yearmonth']);

/**
 * A column whose values are dates (or years, months): checked by its type, never against a code
 * list, even when the catalogue links it to a calendar nomenclature (`IR_DTE_V`, whose codes are
 * SAS datetimes that no delivered date spells the same way).
 */
export function isTemporal(c: Pick<CatalogColumn, 'type'>): boolean {
  return TEMPORAL_TYPES.has(c.type);
}

/** The nomenclature a column is checked against as a code list, if any. */
export function codeListOf(c: Pick<CatalogColumn, 'type' | 'nomenclature'>): string | null {
  return isTemporal(c) ? null : c.nomenclature;
}

export const ISO_DATE = '%Y-%m-%d';
export const ISO_DATETIME = '%Y-%m-%d %H:%M:%S';

/** strptime format of a date column: a `%` format from the schema, else ISO 8601. */
export function dateFormat(c: Pick<CatalogColumn, 'type' | 'format'>): string {
  if (c.format !== null && c.format.includes('%')) return c.format.replace(/^any:/, '');
  return c.type === 'datetime' ? ISO_DATETIME : ISO_DATE;
}

/**
 * The exact text of each strptime field: what DuckDB's `strptime` reads is wider (it takes one to
 * four digits for `%Y`, so `01/03/21` is the year 21 under `%d/%m/%Y`; one or two for `%d`, `%m`,
 * `%H`; one to three for `%g`; spaces before and after the value, and any run of them for one),
 * and a delivery must spell every value as its format says. A field of fixed width is a list of
 * GLOB character classes, one per character; every field is a regular expression (RE2) piece.
 * Composites expand to their fields (DuckDB's `%c`, `%x`, `%X`, `%T`); DuckDB refuses specifiers
 * absent from here.
 */
interface FieldShape {
  readonly chars?: readonly string[];
  readonly regex: string;
}
const DIGITS = (n: number): FieldShape => ({ chars: Array<string>(n).fill('[0-9]'), regex: `[0-9]{${n}}` });
const LETTERS3: FieldShape = { chars: ['[A-Za-z]', '[A-Za-z]', '[A-Za-z]'], regex: '[A-Za-z]{3}' };
const DATE_FIELDS: Readonly<Record<string, FieldShape | string>> = {
  Y: DIGITS(4), G: DIGITS(4), y: DIGITS(2), m: DIGITS(2), d: DIGITS(2), H: DIGITS(2), I: DIGITS(2), M: DIGITS(2), S: DIGITS(2),
  U: DIGITS(2), V: DIGITS(2), W: DIGITS(2), j: DIGITS(3), g: DIGITS(3), f: DIGITS(6), n: DIGITS(9), u: DIGITS(1), w: DIGITS(1),
  '-y': { regex: '[0-9]{1,2}' }, '-m': { regex: '[0-9]{1,2}' }, '-d': { regex: '[0-9]{1,2}' }, '-H': { regex: '[0-9]{1,2}' },
  '-I': { regex: '[0-9]{1,2}' }, '-M': { regex: '[0-9]{1,2}' }, '-S': { regex: '[0-9]{1,2}' }, '-j': { regex: '[0-9]{1,3}' },
  b: LETTERS3, h: LETTERS3, a: LETTERS3, B: { regex: '[A-Za-z]+' }, A: { regex: '[A-Za-z]+' },
  p: { chars: ['[AaPp]', '[Mm]'], regex: '[AaPp][Mm]' }, z: { regex: '[+-][0-9]{2}(:?[0-9]{2})?' }, Z: { regex: '[A-Za-z][A-Za-z0-9_/+-]*' },
  c: '%Y-%m-%d %H:%M:%S', x: '%Y-%m-%d', X: '%H:%M:%S', T: '%H:%M:%S',
};

/** The exact shape of a strptime format's values. */
export interface DateShape {
  /** The values, when every field has a fixed width. */
  readonly glob?: string;
  /**
   * With `glob`: a cheaper GLOB that, with `strptime` reading the value, accepts exactly what
   * `glob` accepts. Only a field's first or last character (of the value, or beside a space of
   * the format) keeps its class: `strptime` takes nothing but the field's own characters
   * elsewhere, and skips spaces only there (a run of spaces before and after the value and for a
   * space of the format), and each class costs the GLOB about 5 ns a value.
   */
  readonly guard?: string;
  readonly regex: string;
}

/**
 * The values a strptime format reads, spelled exactly as the format says (`%d/%m/%Y`:
 * `[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]`), or undefined when the format holds a specifier
 * this does not know (DuckDB 1.5 refuses them all: `%C`, `%D`, `%e`, `%F`, `%s`, …) or ends with a lone '%'.
 */
export function dateShape(format: string): DateShape | undefined {
  const pieces = formatPieces(format);
  if (pieces === undefined) return undefined;
  const regex = pieces.map((p) => p.regex).join('');
  // One entry per character of a value: a literal, or a field's class.
  const chars: Array<{ readonly glob: string; readonly field: boolean }> = [];
  for (const p of pieces) {
    if (p.literal !== undefined) {
      // GLOB's own characters (and any non-ASCII) leave the shape to the regular expression.
      if (/[*?[\\\]\u0080-\uffff]/.test(p.literal)) return { regex };
      chars.push({ glob: p.literal, field: false });
    } else if (p.chars === undefined) return { regex };
    else for (const c of p.chars) chars.push({ glob: c, field: true });
  }
  if (chars.length === 0) return { regex };
  const space = (k: number): boolean => chars[k]?.field === false && /\s/.test(chars[k]?.glob ?? '');
  const guard = chars.map((c, k) => (!c.field || k === 0 || k === chars.length - 1 || space(k - 1) || space(k + 1) ? c.glob : '?'));
  return { glob: chars.map((c) => c.glob).join(''), guard: guard.join(''), regex };
}

/** A format as literals and fields, or undefined for a specifier DuckDB lacks. */
function formatPieces(format: string): Array<{ readonly literal?: string; readonly chars?: readonly string[]; readonly regex: string }> | undefined {
  const out: Array<{ readonly literal?: string; readonly chars?: readonly string[]; readonly regex: string }> = [];
  for (let i = 0; i < format.length; i++) {
    const ch = format[i] as string;
    const key = ch !== '%' ? undefined : format[i + 1] === '-' ? format.slice(i + 1, i + 3) : format.slice(i + 1, i + 2);
    if (key === undefined || key === '%') {
      if (key === '%') i += 1;
      out.push({ literal: ch, regex: ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') });
      continue;
    }
    i += key.length;
    const field = DATE_FIELDS[key];
    if (field === undefined) return undefined;
    if (typeof field !== 'string') {
      out.push(field);
      continue;
    }
    const inner = formatPieces(field);
    if (inner === undefined) return undefined;
    out.push(...inner);
  }
  return out;
}

/**
 * A date or datetime as its format spells it exactly, parsed; NULL otherwise. The shape test runs
 * first (the guard GLOB, else the regular expression), so `strptime` reads only values of the
 * declared shape.
 */
function strictStrptimeSql(v: string, format: string): string {
  const shape = dateShape(format);
  const parse = `TRY_STRPTIME(${v}, ${sqlString(format)})`;
  // An unknown specifier: DuckDB refuses the format itself, with its own message, when it binds.
  if (shape === undefined) return parse;
  const test = shape.guard !== undefined ? `${v} GLOB ${sqlString(shape.guard)}` : `regexp_full_match(${v}, ${sqlString(shape.regex)})`;
  return `CASE WHEN ${test} THEN ${parse} END`;
}

/** Matches a text holding any character other than a digit or '-'. */
const INTEGER_CHARS_OTHER = `'*[!0-9-]*'`;
const POINT_NUMBER_SHAPE = `'^-?[0-9]+([.][0-9]+)?$'`;
const COMMA_NUMBER_SHAPE = `'^-?[0-9]+,[0-9]+$'`;
/** With a delivery profile that writes exponents (`5.119e+16`, `1,5E3`). */
const POINT_EXP_SHAPE = `'^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$'`;
const COMMA_EXP_SHAPE = `'^-?[0-9]+,[0-9]+([eE][-+]?[0-9]+)?$'`;

/** How the delivery spells values beyond the catalogue's defaults (see `DeliveryProfile`). */
export interface TypeOptions {
  /** Numbers, integers included, may be written with an exponent (`5.119e+3`). */
  readonly exponent?: boolean;
  /** Integers may be written as decimals (`61.0`). */
  readonly integerPointZero?: boolean;
}

/**
 * The largest integer a double holds exactly (2^53). SAS keeps every number as a double, so an
 * integer it writes with an exponent above this may have lost its last digits before it was written.
 */
export const EXACT_DOUBLE_INTEGER = 9_007_199_254_740_992n;

/** Longest decimal spelling of an integer read (`-9.223372036854775808e+18` is 25 characters). */
export const MAX_DECIMAL_INTEGER_TEXT = 26;

/**
 * Decimal spellings of an integer a delivery may use: with an exponent (`5.119e+3`, `5E2`; never
 * negative, as no exporter writes an integer so), with a point (`61.0`), or neither.
 */
function integerShape(opts: TypeOptions): string | undefined {
  if (opts.exponent === true) return '^-?[0-9]+([.][0-9]+)?([eE][+]?[0-9]+)?$';
  if (opts.integerPointZero === true) return '^-?[0-9]+([.][0-9]+)?$';
  return undefined;
}

/**
 * An integer written as a decimal (`61.0`, `5.119e+3`, `-1.2e+1`), read exactly: a struct of its
 * value (NULL unless it is an exact integer within BIGINT) and what is wrong otherwise
 * (`integer_fraction`, `integer_overflow`, `integer_precision`: written with an exponent above
 * 2^53; `type`: another shape). Exact through DuckDB's decimal casts, which read the text's digits
 * (never through a double) and round what does not fit their scale. With at most
 * `MAX_DECIMAL_INTEGER_TEXT` characters and no negative exponent, a value below 10^14 has at
 * most 24 digits after the point, and a larger one at most 10: the value is an integer exactly
 * when its rounding to 0 decimals equals its rounding to 24 (DECIMAL(38,24), values below 10^14)
 * or to 10 (DECIMAL(38,10), below 10^28; beyond, no digit is after the point). Kept small, as
 * every file's statement binds it for each integer column.
 */
function decimalIntegerSql(v: string, shape: string): string {
  const whole = `TRY_CAST(${v} AS DECIMAL(38,0))`;
  const fraction = `coalesce(TRY_CAST(${v} AS DECIMAL(38,24)) % 1 <> 0, TRY_CAST(${v} AS DECIMAL(38,10)) % 1 <> 0, false)`;
  const big = `TRY_CAST(${whole} AS BIGINT)`;
  return `CASE WHEN NOT (length(${v}) <= ${MAX_DECIMAL_INTEGER_TEXT} AND regexp_full_match(${v}, ${sqlString(shape)})) THEN {v: NULL::BIGINT, why: 'type'}
    WHEN ${whole} IS NULL THEN {v: NULL::BIGINT, why: 'integer_overflow'}
    WHEN ${fraction} THEN {v: NULL::BIGINT, why: 'integer_fraction'}
    WHEN ${big} IS NULL THEN {v: NULL::BIGINT, why: 'integer_overflow'}
    WHEN ${v} GLOB '*[eE]*' AND abs(${whole}) > ${EXACT_DOUBLE_INTEGER} THEN {v: NULL::BIGINT, why: 'integer_precision'}
    ELSE {v: ${big}, why: NULL::VARCHAR} END`;
}

/** True when a column's stored value is its raw text (no parse): strings, and pseudonymised columns. */
export function keepsRawText(c: Pick<CatalogColumn, 'type' | 'sensitivity'>): boolean {
  return c.type === 'string' || c.type === 'any' || isPseudonymised(c);
}

/** The typed value of a raw VARCHAR expression, or NULL when it does not parse. */
export function typedSql(c: Pick<CatalogColumn, 'type' | 'format'>, v: string, opts: TypeOptions = {}): string {
  switch (c.type) {
    case 'integer':
    case 'year': {
      // DuckDB's own cast would accept 1.5, 1e3, 0x10, +5, ' 5' and 1_000: only digits and '-' may
      // reach it (a GLOB, cheaper than a regex), and the cast refuses a '-' anywhere but first.
      // A profile's decimal spellings (`61.0`, `5.119e+3`) are made plain digits before the rules
      // (`integerTextSql`, in the reading of the file), so the parse every row pays stays this one.
      return `TRY_CAST(CASE WHEN NOT (${v} GLOB ${INTEGER_CHARS_OTHER}) THEN ${v} END AS BIGINT)`;
    }
    case 'number':
      // A decimal point is read as is; only a decimal comma pays for the rewrite.
      if (opts.exponent === true) return `TRY_CAST(CASE WHEN regexp_full_match(${v}, ${POINT_EXP_SHAPE}) THEN ${v} WHEN regexp_full_match(${v}, ${COMMA_EXP_SHAPE}) THEN replace(${v}, ',', '.') END AS DOUBLE)`;
      return `TRY_CAST(CASE WHEN regexp_full_match(${v}, ${POINT_NUMBER_SHAPE}) THEN ${v} WHEN regexp_full_match(${v}, ${COMMA_NUMBER_SHAPE}) THEN replace(${v}, ',', '.') END AS DOUBLE)`;
    case 'date':
      // ISO dates exactly as written (YYYY-MM-DD, a real day): the cast must print back the same text.
      if (dateFormat(c) === ISO_DATE) return `CASE WHEN CAST(TRY_CAST(${v} AS DATE) AS VARCHAR) = ${v} THEN TRY_CAST(${v} AS DATE) END`;
      return `CAST(${strictStrptimeSql(v, dateFormat(c))} AS DATE)`;
    case 'datetime':
      return strictStrptimeSql(v, dateFormat(c));
    case 'yearmonth':
      // Kept as written: `YYYYMM` (the SNDS's length-6 year-months, SAS's YYMMN6.) or the Table
      // Schema's `YYYY-MM`, with a real month.
      return `CASE WHEN (${v} GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]' AND substr(${v}, 5, 2) BETWEEN '01' AND '12') OR (${v} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]' AND substr(${v}, 6, 2) BETWEEN '01' AND '12') THEN ${v} END`;
    case 'boolean':
      return `CASE WHEN lower(${v}) IN ('1', 'true', 'o', 'oui', 'y') THEN true WHEN lower(${v}) IN ('0', 'false', 'n', 'non') THEN false END`;
    default:
      return v;
  }
}

/**
 * An integer column's text as the rules read it under a profile that writes integers as decimals
 * (`61.0`, `5.119e+3`): an exact integer becomes its plain digits (`61`, `5119`), anything else is
 * kept as written (and breaks the column's type with its reason). Undefined when the profile
 * writes integers plainly.
 */
export function integerTextSql(v: string, opts: TypeOptions): string | undefined {
  const shape = integerShape(opts);
  if (shape === undefined) return undefined;
  // The same verdict as `decimalIntegerSql`, with only what accepting needs, and cheap per value
  // (DuckDB's decimal casts of text with an exponent cost microseconds each). A spelling of at most
  // `SHORT_DECIMAL_INTEGER_TEXT` characters has at most 14 significant digits: its nearest double
  // is an integer exactly when it is one below 2^53 (a fraction it could hold is at least
  // 10^-14 of its magnitude, several units of the double's last place away from any integer), so
  // it is read as a double. Longer spellings take the exact decimal path.
  const d = `TRY_CAST(${v} AS DOUBLE)`;
  const short = `CASE WHEN ${d} = floor(${d}) AND abs(${d}) <= ${EXACT_DOUBLE_INTEGER} THEN CAST(CAST(${d} AS BIGINT) AS VARCHAR) END`;
  const whole = `TRY_CAST(${v} AS DECIMAL(38,0))`;
  const exact = `length(${v}) <= ${MAX_DECIMAL_INTEGER_TEXT}
    AND coalesce(TRY_CAST(${v} AS DECIMAL(38,24)) % 1 = 0, TRY_CAST(${v} AS DECIMAL(38,10)) % 1 = 0, true)
    AND (NOT (${v} GLOB '*[eE]*') OR abs(${whole}) <= ${EXACT_DOUBLE_INTEGER})`;
  const long = `CASE WHEN ${exact} THEN CAST(TRY_CAST(${whole} AS BIGINT) AS VARCHAR) END`;
  return `CASE WHEN ${v} GLOB '*[.eE]*' THEN coalesce(CASE WHEN NOT regexp_full_match(${v}, ${sqlString(shape)}) THEN NULL WHEN length(${v}) <= ${SHORT_DECIMAL_INTEGER_TEXT} THEN ${short} ELSE ${long} END, ${v}) ELSE ${v} END`;
}

/** Decimal spellings of an integer this short are read through a double, exactly (see `integerTextSql`). */
const SHORT_DECIMAL_INTEGER_TEXT = 15;

export interface ColumnSqlContext {
  /**
   * Name of the DuckDB ENUM type whose members are a nomenclature's codes, if known. Membership
   * is a cast (a hash lookup in a scalar expression), not a join: the row pipeline stays a plain
   * projection, which keeps rows in file order.
   */
  readonly nomenclatureType: (name: string) => string | undefined;
  /** True when every code of the nomenclature is integer text (and its type is known). */
  readonly nomenclatureIsIntegers?: (name: string) => boolean;
  /** The delivery's spellings of values (profile). */
  readonly types?: TypeOptions;
}

/**
 * A catalogue bound (`minimum`, `maximum`) as a value of the column. A date bound is read in the
 * column's format, else as ISO: the catalogue writes its bounds once, while a delivery profile may
 * give the column another spelling (a bound read as NULL would fail every row of the fused test,
 * with no rule named).
 */
function boundSql(c: Pick<CatalogColumn, 'type' | 'format'>, b: number | string): string {
  if (typeof b === 'number') return String(b);
  const own = typedSql(c, sqlString(b));
  if ((c.type !== 'date' && c.type !== 'datetime') || c.format === null || !c.format.includes('%')) return own;
  return `coalesce(${own}, ${typedSql({ type: c.type, format: null }, sqlString(b))})`;
}

/** One rule of one column: the rule's name, and a SQL condition that is TRUE when the value breaks it. */
interface RuleCheck {
  readonly rule: Rule;
  readonly cond: string;
  /** SQL naming the rule when it depends on the value (an integer's `type` failure, told apart); default `rule`. */
  readonly named?: string;
}

/**
 * The checks that apply to a column, each a condition that is TRUE when the value breaks the rule.
 * `typed`, when given, is an already computed `typedSql(c, raw)` (a column of an inner
 * projection), so a value is parsed once however many rules read it.
 */
function ruleChecks(c: CatalogColumn, raw: string, ctx: ColumnSqlContext, typed: string): RuleCheck[] {
  const out: RuleCheck[] = [];
  const k = c.constraints;
  if (k.required === true) out.push({ rule: 'required', cond: `${raw} IS NULL` });
  if (isNirColumn(c)) return out;
  const shape = c.type === 'integer' || c.type === 'year' ? integerShape(ctx.types ?? {}) : undefined;
  if (shape !== undefined) {
    // Under a profile that writes integers as decimals, exact ones reach the rules as plain digits
    // (`integerTextSql`); a number left as written says why it is no integer: a fraction, beyond
    // BIGINT, or beyond a double's precision.
    out.push({ rule: 'type', cond: `${raw} IS NOT NULL AND (${typed}) IS NULL`, named: `coalesce((${decimalIntegerSql(raw, shape)}).why, 'type')` });
  } else if (c.type !== 'string' && c.type !== 'any') out.push({ rule: 'type', cond: `${raw} IS NOT NULL AND (${typed}) IS NULL` });
  if (k.enum !== undefined && k.enum.length > 0) {
    out.push({ rule: 'enum', cond: `${raw} IS NOT NULL AND ${raw} NOT IN (${k.enum.map((e) => sqlString(String(e))).join(', ')})` });
  }
  if (k.pattern !== undefined) out.push({ rule: 'pattern', cond: `${raw} IS NOT NULL AND NOT ${patternSql(raw, k.pattern)}` });
  if (k.minLength !== undefined) out.push({ rule: 'length', cond: `length(${raw}) < ${k.minLength}` });
  if (k.maxLength !== undefined) out.push({ rule: 'length', cond: `length(${raw}) > ${k.maxLength}` });
  if (k.minimum !== undefined && c.type !== 'string') out.push({ rule: 'range', cond: `${typed} < ${boundSql(c, k.minimum)}` });
  if (k.maximum !== undefined && c.type !== 'string') out.push({ rule: 'range', cond: `${typed} > ${boundSql(c, k.maximum)}` });
  const nom = codeListOf(c);
  if (nom !== null) {
    const t = ctx.nomenclatureType(nom);
    if (t !== undefined) out.push({ rule: 'nomenclature', cond: `${raw} IS NOT NULL AND TRY_CAST(${raw} AS ${t}) IS NULL` });
  }
  return out;
}

/** SQL expressions yielding NULL or `'<rule>'`, one per rule that applies to the column. */
export function violationSql(c: CatalogColumn, raw: string, ctx: ColumnSqlContext, typed: string = typedSql(c, raw, ctx.types)): string[] {
  const out = ruleChecks(c, raw, ctx, typed).map((r) => `CASE WHEN ${r.cond} THEN ${r.named ?? `'${r.rule}'`} END`);
  if (isNirColumn(c)) out.push(nirViolationSql(raw));
  return out;
}

const INTEGER_TEXT = /^-?[0-9]+$/;

/**
 * The same language as a catalogue `pattern` (matched in full) as a DuckDB GLOB, when the pattern
 * is a plain sequence of ASCII letters, digits, '_' or '-' and bracket classes of them (ranges
 * allowed), each optionally repeated `{n}` times: e.g. `^[0-9A-Z]{17}$`. GLOB costs less than a
 * regular expression on every row. Anything else (alternation, open repetition, escapes,
 * negated classes) gives undefined, and the pattern stays a regular expression.
 */
export function globFromPattern(pattern: string): string | undefined {
  const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
  const atom = /\[((?:[A-Za-z0-9](?:-[A-Za-z0-9])?)+)\]|([A-Za-z0-9_-])/y;
  let glob = '';
  let at = 0;
  while (at < body.length) {
    atom.lastIndex = at;
    const m = atom.exec(body);
    if (m === null) return undefined;
    at = atom.lastIndex;
    const piece = m[1] !== undefined ? `[${m[1]}]` : (m[2] as string);
    const count = /\{([0-9]{1,2})\}/y;
    count.lastIndex = at;
    const c = count.exec(body);
    const n = c === null ? 1 : Number(c[1]);
    if (c !== null) at = count.lastIndex;
    if (n === 0) return undefined;
    glob += piece.repeat(n);
  }
  return glob === '' || glob.length > 512 ? undefined : glob;
}

/** TRUE when `raw` matches the catalogue pattern in full (NULL for NULL). */
function patternSql(raw: string, pattern: string): string {
  const glob = globFromPattern(pattern);
  return glob === undefined ? `regexp_full_match(${raw}, ${sqlString(pattern)})` : `(${raw} GLOB ${sqlString(glob)})`;
}

/**
 * The typed value for the row check and for accepted rows, parsed as cheaply as the column's
 * other rules allow. An integer column whose values must also be enum members or nomenclature
 * codes that are all integer text is cast without the shape test: a value that passes those
 * rules has integer shape, and a row with a value that fails them is rejected whatever the cast
 * gives. Everything else is `typedSql`.
 */
export function rowTypedSql(c: CatalogColumn, raw: string, ctx: ColumnSqlContext): string {
  if (c.type === 'integer' || c.type === 'year') {
    const e = c.constraints.enum;
    const enumIsIntegers = e !== undefined && e.length > 0 && e.every((v) => INTEGER_TEXT.test(String(v)));
    const list = codeListOf(c);
    const nom = list === null ? false : ctx.nomenclatureIsIntegers?.(list) === true;
    if (enumIsIntegers || nom) return `TRY_CAST(${raw} AS BIGINT)`;
  }
  return typedSql(c, raw, ctx.types);
}

/**
 * A row's violations as a DuckDB list of `COLUMN:rule` strings (empty for a good row).
 * `raw(name)` gives the SQL for a column's raw VARCHAR value (NULL when absent from the file).
 */
export function rowViolationsSql(columns: readonly CatalogColumn[], raw: (name: string) => string, ctx: ColumnSqlContext): string {
  const parts: string[] = [];
  for (const c of columns) {
    for (const v of violationSql(c, raw(c.name), ctx)) parts.push(`(${sqlString(`${c.name}:`)} || (${v}))`);
  }
  if (parts.length === 0) return `[]::VARCHAR[]`;
  return `list_filter([${parts.join(',\n ')}], x -> x IS NOT NULL)`;
}

/**
 * True when a value of the column breaks any of its rules: the same verdict as `violationSql`,
 * written as one condition rather than one per rule (every row pays this test, and DuckDB's cost
 * grows with the number of conditions). A present value must pass every positive test (parsed,
 * in the enum, matching the pattern, within length and range, a code of the nomenclature); a
 * missing one breaks only `required`. `proven`: every present value is known to pass every rule
 * (the line scan matched each field against the column's passing spellings, typed-reading.ts), so
 * only `required` is left to test.
 */
export function columnBreaksSql(c: CatalogColumn, raw: string, ctx: ColumnSqlContext, typed: string = rowTypedSql(c, raw, ctx), proven = false): string {
  const k = c.constraints;
  const required = k.required === true;
  if (proven) return required ? `${raw} IS NULL` : 'false';
  if (isNirColumn(c)) {
    const nir = `(${nirViolationSql(raw)}) IS NOT NULL`;
    return required ? `(${raw} IS NULL OR ${nir})` : nir;
  }
  const must: string[] = [];
  if (c.type !== 'string' && c.type !== 'any') must.push(`(${typed}) IS NOT NULL`);
  if (k.enum !== undefined && k.enum.length > 0) must.push(`${raw} IN (${k.enum.map((e) => sqlString(String(e))).join(', ')})`);
  if (k.pattern !== undefined) must.push(patternSql(raw, k.pattern));
  if (k.minLength !== undefined) must.push(`length(${raw}) >= ${k.minLength}`);
  if (k.maxLength !== undefined) must.push(`length(${raw}) <= ${k.maxLength}`);
  if (c.type !== 'string') {
    if (k.minimum !== undefined && k.maximum !== undefined) must.push(`${typed} BETWEEN ${boundSql(c, k.minimum)} AND ${boundSql(c, k.maximum)}`);
    else if (k.minimum !== undefined) must.push(`${typed} >= ${boundSql(c, k.minimum)}`);
    else if (k.maximum !== undefined) must.push(`${typed} <= ${boundSql(c, k.maximum)}`);
  }
  const nom = codeListOf(c);
  if (nom !== null) {
    const t = ctx.nomenclatureType(nom);
    if (t !== undefined) must.push(`TRY_CAST(${raw} AS ${t}) IS NOT NULL`);
  }
  if (must.length === 0) return required ? `${raw} IS NULL` : 'false';
  // For a missing value: a range or length test on NULL is NULL, so "IS NOT TRUE" says broken.
  const fails = `(${must.join(' AND ')}) IS NOT TRUE`;
  return required ? fails : `(${raw} IS NOT NULL AND ${fails})`;
}

/**
 * True when a row breaks any rule: the test every row pays, so one plain condition per column
 * rather than the named list. `typed` gives each column's parsed value (default: `rowTypedSql`);
 * `proven`, the columns whose rules but `required` the line scan proved (`columnBreaksSql`).
 */
export function rowHasViolationSql(columns: readonly CatalogColumn[], raw: (name: string) => string, ctx: ColumnSqlContext, typed?: (c: CatalogColumn) => string, proven: ReadonlySet<string> = new Set()): string {
  const parts = columns.map((c) => columnBreaksSql(c, raw(c.name), ctx, typed?.(c) ?? rowTypedSql(c, raw(c.name), ctx), proven.has(c.name))).filter((x) => x !== 'false');
  return parts.length === 0 ? 'false' : `(${parts.join('\n OR ')})`;
}

/**
 * A value's shape with its content removed, for quarantine reports: digits become 9, letters
 * A, so "1850775123456" reads "9999999999999". Never the value itself.
 */
export function redactedShapeSql(raw: string): string {
  return `CASE WHEN ${raw} IS NULL THEN '(empty)' ELSE left(regexp_replace(regexp_replace(${raw}, '[0-9]', '9', 'g'), '[^9 .,:/-]', 'A', 'g'), 32) || CASE WHEN length(${raw}) > 32 THEN '…' ELSE '' END END`;
}

export { sqlIdent };
