/**
 * Types for parameters that clients send untyped. node-postgres sends every parameter with OID 0
 * in text format, and psycopg2 interpolates its own literals (a date as `'2022-01-01'::date`).
 * Bound as string literals, DuckDB casts them to the column's type and Trino refuses them
 * (`Cannot apply operator: integer >= varchar(1)`; `::` is not Trino SQL). So the endpoint gives
 * an untyped parameter the type of what it stands against in the statement:
 * - a column it is compared with (`amount >= $1`, `$1 = t.drug`), in whose `IN (…)` list it is,
 *   or whose `BETWEEN` bounds it is, the column's type taken from the workspace's tables;
 * - `LIMIT $1` and `OFFSET $1`: BIGINT;
 * and writes it as a literal of that type (`2`, `DATE '2022-01-01'`, `TIMESTAMP '…'`, `true`),
 * which both engines read the same way. A value that does not read as its type stays a string
 * literal (the engine then names the mismatch). A parameter whose place says nothing stays a
 * string literal, as before; `CAST($1 AS INTEGER)` remains the portable way to say it.
 */
import { lex } from './sql-text.ts';

interface Token {
  readonly kind: 'word' | 'param' | 'op' | 'punct' | 'literal';
  /** Words lower-cased (a quoted identifier unquoted, as written); a parameter's number. */
  readonly text: string;
}

const COMPARISON = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const KEYWORDS = new Set(['select', 'from', 'where', 'and', 'or', 'not', 'in', 'between', 'like', 'ilike', 'is', 'null', 'limit', 'offset', 'on', 'join', 'having', 'group', 'order', 'by', 'case', 'when', 'then', 'else', 'end', 'as', 'distinct', 'union', 'all', 'exists', 'with', 'true', 'false', 'date', 'timestamp', 'interval']);

function tokens(sql: string): Token[] {
  const out: Token[] = [];
  for (const s of lex(sql)) {
    if (s.kind === 'comment') continue;
    if (s.kind === 'string') {
      out.push({ kind: 'literal', text: s.text });
      continue;
    }
    if (s.kind === 'ident') {
      out.push({ kind: 'word', text: s.text.slice(1, -1).replace(/""/g, '"') });
      continue;
    }
    for (const m of s.text.matchAll(/\$(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(<>|!=|<=|>=|::|[=<>])|(\S)/g)) {
      if (m[1] !== undefined) out.push({ kind: 'param', text: m[1] });
      else if (m[2] !== undefined) out.push({ kind: 'word', text: m[2].toLowerCase() });
      else if (m[3] !== undefined) out.push({ kind: 'literal', text: m[3] });
      else if (m[4] !== undefined) out.push({ kind: 'op', text: m[4] });
      else if (m[5] !== undefined) out.push({ kind: 'punct', text: m[5] });
    }
  }
  // `a.b`: one word, the column's name last.
  const merged: Token[] = [];
  for (const t of out) {
    const prev = merged[merged.length - 1];
    const before = merged[merged.length - 2];
    if (t.kind === 'word' && prev?.kind === 'punct' && prev.text === '.' && before?.kind === 'word') {
      merged.splice(merged.length - 2, 2, { kind: 'word', text: `${before.text}.${t.text}` });
    } else merged.push(t);
  }
  return merged;
}

/** A column reference: a word that is not a keyword (and not a function's name: no `(` after it). */
function column(ts: readonly Token[], i: number): string | undefined {
  const t = ts[i];
  if (t?.kind !== 'word' || KEYWORDS.has(t.text)) return undefined;
  if (ts[i + 1]?.kind === 'punct' && ts[i + 1]?.text === '(') return undefined;
  return t.text.split('.').pop();
}

const isValue = (t: Token | undefined): boolean => t?.kind === 'param' || t?.kind === 'literal';

/** The column whose type the parameter at `i` takes, if its place names one (`{ limit: true }` after LIMIT or OFFSET). */
function columnAt(ts: readonly Token[], i: number): string | { readonly limit: true } | undefined {
  const prev = ts[i - 1];
  const next = ts[i + 1];
  if (prev?.kind === 'word' && (prev.text === 'limit' || prev.text === 'offset')) return { limit: true };
  if (prev?.kind === 'op' && COMPARISON.has(prev.text)) {
    const c = column(ts, i - 2);
    if (c !== undefined) return c;
  }
  if (next?.kind === 'op' && COMPARISON.has(next.text)) {
    const c = column(ts, i + 2);
    if (c !== undefined) return c;
  }
  // col BETWEEN $1 AND $2
  if (prev?.kind === 'word' && prev.text === 'between') return column(ts, ts[i - 2]?.text === 'not' ? i - 3 : i - 2);
  if (prev?.kind === 'word' && prev.text === 'and' && isValue(ts[i - 2]) && ts[i - 3]?.text === 'between') return column(ts, ts[i - 4]?.text === 'not' ? i - 5 : i - 4);
  // col [NOT] IN (v, $1, …)
  let j = i - 1;
  while (j >= 0 && ((ts[j]?.kind === 'punct' && ts[j]?.text === ',') || isValue(ts[j]))) j--;
  if (ts[j]?.kind === 'punct' && ts[j]?.text === '(' && ts[j - 1]?.text === 'in') return column(ts, ts[j - 2]?.text === 'not' ? j - 3 : j - 2);
  return undefined;
}

/**
 * The SQL type of each `$n` of `sql` whose place names one (see above); `typeOf` gives a column's
 * type by name (lower case), undefined when unknown or ambiguous.
 */
export function parameterTypes(sql: string, typeOf: (column: string) => string | undefined): Map<number, string> {
  const ts = tokens(sql);
  const out = new Map<number, string>();
  for (const [i, t] of ts.entries()) {
    if (t.kind !== 'param') continue;
    const c = columnAt(ts, i);
    const type = c === undefined ? undefined : typeof c === 'string' ? typeOf(c) : 'BIGINT';
    if (type !== undefined && !out.has(Number(t.text))) out.set(Number(t.text), type);
  }
  return out;
}

/**
 * A column-type lookup over the workspace's tables that the statement names: a column's type
 * when every such table that has it agrees on it.
 */
export function columnTypesOf(sql: string, tables: ReadonlyArray<{ readonly name: string; readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }> }>): (column: string) => string | undefined {
  const words = new Set(tokens(sql).filter((t) => t.kind === 'word').map((t) => t.text.split('.').pop() ?? ''));
  const types = new Map<string, string | null>();
  for (const t of tables) {
    if (!words.has(t.name.toLowerCase())) continue;
    for (const c of t.columns) {
      const k = c.name.toLowerCase();
      const was = types.get(k);
      types.set(k, was === undefined || was === c.type.toUpperCase() ? c.type.toUpperCase() : null);
    }
  }
  return (column) => types.get(column) ?? undefined;
}

const INTEGER = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|INT[248])$/;
const NUMBER = /^(DOUBLE|REAL|FLOAT|FLOAT[48]|DECIMAL(\(.*\))?|NUMERIC(\(.*\))?)$/;

/**
 * `text` (a parameter sent as text) as a literal of `type`, or undefined when it does not read as
 * one (it is then bound as a string literal).
 */
export function typedLiteral(text: string, type: string): string | undefined {
  const t = type.toUpperCase().trim();
  const v = text.trim();
  if (INTEGER.test(t)) return /^-?\d{1,19}$/.test(v) ? v : undefined;
  if (NUMBER.test(t)) return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v) ? v : undefined;
  if (t === 'BOOLEAN' || t === 'BOOL') return /^(t|true|on|1|yes|y)$/i.test(v) ? 'true' : /^(f|false|off|0|no|n)$/i.test(v) ? 'false' : undefined;
  if (t === 'DATE') return /^\d{4}-\d{2}-\d{2}$/.test(v) ? `DATE '${v}'` : undefined;
  if (/^TIMESTAMP(\(\d\))?$/.test(t)) {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?$/.exec(v);
    return m === null ? undefined : `TIMESTAMP '${m[1] ?? ''} ${m[2] ?? '00:00:00'}'`;
  }
  return undefined;
}

/**
 * psycopg2's typed literals (`'2022-01-01'::date`, `'…'::timestamp`) as standard casts, which
 * Trino reads too (it has no `::`). Only a string literal directly followed by `::` and a simple
 * type name is rewritten; everything else is left as written.
 */
export function standardCasts(sql: string): string {
  const spans = lex(sql);
  let out = '';
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s === undefined) continue;
    const next = spans[i + 1];
    const m = s.kind === 'string' && s.text.startsWith("'") && next?.kind === 'code' ? /^::\s*(date|timestamp|timestamptz|time|integer|int|int[248]|bigint|smallint|numeric|decimal|real|double precision|float8|float4|boolean|bool|text|varchar)\b/i.exec(next.text) : null;
    if (m === null || next === undefined) {
      out += s.text;
      continue;
    }
    const pgType = (m[1] ?? '').toLowerCase();
    const type = ({ timestamptz: 'TIMESTAMP WITH TIME ZONE', int: 'INTEGER', int4: 'INTEGER', int2: 'SMALLINT', int8: 'BIGINT', float8: 'DOUBLE', 'double precision': 'DOUBLE', float4: 'REAL', bool: 'BOOLEAN', text: 'VARCHAR' } as Record<string, string>)[pgType] ?? pgType.toUpperCase();
    out += `CAST(${s.text} AS ${type})`;
    spans[i + 1] = { kind: 'code', text: next.text.slice(m[0].length) };
  }
  return out;
}
