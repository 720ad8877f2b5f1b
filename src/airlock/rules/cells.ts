/**
 * Reading cells of an output: which columns are its dimensions, which rows are margins, and a
 * cell's coordinates as the report gives them.
 */
import type { CellRef, CellValue, ColumnRole, OutputTable } from './types.ts';

/** A dimension value that stands for "every category" (a margin row); null (SQL ROLLUP) too. */
const TOTAL_LABELS = /^(total|totals|all|\(all\)|ensemble|tous|toutes|tout|tot|overall|margin|marge|all_\w+|total_\w+)$/iu;

export const ALL = '\u0000ALL';

export function isTotalLabel(v: CellValue): boolean {
  return v === null || (typeof v === 'string' && TOTAL_LABELS.test(v.trim())) || v === '';
}

export function columnsWith(t: OutputTable, ...roles: readonly ColumnRole[]): number[] {
  return t.columns.flatMap((c, i) => (roles.includes(c.role) ? [i] : []));
}

/** Dimension name → value of a row; margins are left out (so a grand total has an empty key). */
export function keyOf(t: OutputTable, row: number): Record<string, string> {
  const key: Record<string, string> = {};
  const r = t.rows[row] ?? [];
  for (const i of columnsWith(t, 'dimension', 'time')) {
    const v = r[i] ?? null;
    if (!isTotalLabel(v)) key[t.columns[i]?.name ?? String(i)] = String(v);
  }
  return key;
}

export function cellRef(t: OutputTable, row: number, column: number): CellRef {
  return { row, column: t.columns[column]?.name ?? String(column), key: keyOf(t, row) };
}

/**
 * A cell as a number: numbers, and text that is a plain number (a count a workspace typed as
 * text must still be checked, not read as suppressed); anything else is null (empty, `<11`, …).
 */
export function num(v: CellValue | undefined): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/u.test(v)) return Number(v);
  return null;
}

/** Canonical text of a key over a set of dimension names (missing names read as "all"). */
export function keyText(key: Readonly<Record<string, string>>, dims: readonly string[]): string {
  return dims.map((d) => `${d.toLowerCase()}=${key[d] ?? ALL}`).join('\u0001');
}

/** A key with dimension names lower-cased, sorted: how cells compare across outputs and releases. */
export function normalKey(key: Readonly<Record<string, string>>): string {
  return Object.entries(key).map(([k, v]) => [k.toLowerCase(), v] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('\u0001');
}

export function describeKey(key: Readonly<Record<string, string>>): string {
  const e = Object.entries(key);
  return e.length === 0 ? 'total' : e.map(([k, v]) => `${k}=${v}`).join(', ');
}

/** Whether a magnitude column is a mean (not additive) rather than a sum. */
export function isMeanColumn(name: string): boolean {
  return /(^|_)(mean|avg|average|moy|moyenne|median|mediane)(_|$)/iu.test(name);
}
