/**
 * Quoting of literals and identifiers in DuckDB's SQL dialect. Kept apart from the DuckDB adapter
 * (`duckdb.ts`) so that code which only writes SQL text loads no database driver.
 */

/** Quotes an SQL string literal for DuckDB. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Quotes an identifier for DuckDB. */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
