/**
 * The extract plan compiled for Trino: one `CREATE TABLE ... AS SELECT` per extract table, from
 * the dataset version's Trino table into the workspace's schema (`workspaceSchema`), filtered by
 * the plan's years and population, person pseudonyms re-keyed with Trino's `hmac_sha256`.
 *
 * Dataset versions on Trino: one schema per dataset version (`datasetSchema`), one table per
 * catalogue table, partitioned by `year` as the store lays the files out (`<TABLE>/year=YYYY/`,
 * `year=0` for tables without years), so a plan's yearly files (`years.kind = 'file'`) become a
 * partition filter that Trino prunes before reading.
 *
 * The project's re-keying key never appears in the SQL text: it is the statement's one parameter
 * (`?`), bound at execution (`./extract.ts`), read once in a one-row CTE. The HMAC is over the
 * base pseudonym's UTF-8 text and yields lower-case hex: byte for byte what DuckDB's compiler and
 * node's `createHmac('sha256', key).update(value).digest('hex')` give (tested against Trino).
 *
 * Golden tests (`extract-compile.test.ts`) pin the SQL of fixed plans to `golden/*.sql`.
 */
import type { PlanPredicate, PlanTable, PlanYears } from '../extract-port.ts';

/** Trino identifier quoting. */
function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function str(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The Hive partition column of dataset tables (the store's `year=YYYY` folders). */
export const YEAR_PARTITION = 'year';

/** The schema of a dataset version on Trino. */
export function datasetSchema(dataset: string, version: number): string {
  return `ds_${dataset.toLowerCase().replace(/[^a-z0-9]+/g, '_')}_v${version}`;
}

/** A table as Trino names it. */
export interface TrinoTableRef {
  readonly catalog: string;
  readonly schema: string;
  readonly table: string;
}

export function qualified(t: TrinoTableRef): string {
  return `${ident(t.catalog)}.${ident(t.schema)}.${ident(t.table)}`;
}

/** HMAC-SHA256(`keyExpr`, UTF-8 text of `expr`) as lower-case hex; NULL stays NULL. */
export function trinoRekeySql(expr: string, keyExpr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE lower(to_hex(hmac_sha256(to_utf8(CAST(${expr} AS VARCHAR)), ${keyExpr}))) END`;
}

function literal(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('population values must be finite numbers');
    return String(v);
  }
  return str(v);
}

/**
 * Catalogue values are compared as text when the plan gives text (the permit's codes), as numbers
 * otherwise; Trino does not coerce between them, so a column compared with text is cast to text.
 */
function predicateSql(alias: string, p: PlanPredicate): string {
  const raw = `${alias}.${ident(p.column)}`;
  const col = p.values.some((v) => typeof v === 'string') ? `CAST(${raw} AS VARCHAR)` : raw;
  switch (p.op) {
    case 'in':
      return `${col} IN (${p.values.map(literal).join(', ')})`;
    case 'not_in':
      return `(${raw} IS NOT NULL AND ${col} NOT IN (${p.values.map(literal).join(', ')}))`;
    case 'between': {
      const [lo, hi] = p.values;
      if (lo === undefined || hi === undefined || p.values.length !== 2) throw new Error(`between on ${p.column} needs exactly two values`);
      return `${col} BETWEEN ${literal(lo)} AND ${literal(hi)}`;
    }
  }
}

function yearSql(alias: string, y: PlanYears): string | undefined {
  switch (y.kind) {
    case 'column': {
      const col = `${alias}.${ident(y.column)}`;
      const year = y.columnType === 'date' ? `year(${col})` : `TRY_CAST(${col} AS INTEGER)`;
      return `${year} BETWEEN ${y.from} AND ${y.to}`;
    }
    case 'file':
      return `${alias}.${ident(YEAR_PARTITION)} BETWEEN ${y.from} AND ${y.to}`;
    case 'none':
      return undefined;
  }
}

export interface TrinoExtractTarget {
  readonly source: TrinoTableRef;
  /** The tables of `table.population.viaPerson.sources`, in the same order. */
  readonly personSources: readonly TrinoTableRef[];
  /** Where the extract table is written (the workspace's schema). */
  readonly target: TrinoTableRef;
}

/**
 * The CTAS of one extract table; its single `?` is the project's re-keying key (VARBINARY).
 *
 * @example
 *   compileTrinoTable(plan.tables[0], { source: { catalog: 'enclave', schema: 'ds_snds_v1', table: 'er_prs_f' }, personSources: [], target })
 */
export function compileTrinoTable(table: PlanTable, t: TrinoExtractTarget): string {
  if (table.columns.length === 0) throw new Error(`table ${table.name} has no column`);
  const rekeys = table.columns.some((c) => c.rekey);
  const select = table.columns.map((c) => (c.rekey ? `  ${trinoRekeySql(`t.${ident(c.source)}`, 'k.key')} AS ${ident(c.name)}` : `  t.${ident(c.source)} AS ${ident(c.name)}`));
  const where: string[] = [];
  const y = yearSql('t', table.years);
  if (y !== undefined) where.push(y);
  for (const p of table.population.predicates) where.push(predicateSql('t', p));
  const via = table.population.viaPerson;
  for (const [i, src] of (via?.sources ?? []).entries()) {
    const ref = t.personSources[i];
    if (via === null || ref === undefined) throw new Error(`table ${table.name} needs the Trino table of ${src.dataset}.${src.table} for its population`);
    const inner = [`s.${ident(src.personColumn)} IS NOT NULL`, ...src.predicates.map((p) => predicateSql('s', p))];
    where.push(`t.${ident(via.personColumn)} IN (\n    SELECT s.${ident(src.personColumn)} FROM ${qualified(ref)} AS s\n    WHERE ${inner.join('\n      AND ')}\n  )`);
  }
  return [
    `CREATE TABLE ${qualified(t.target)} WITH (format = 'PARQUET') AS`,
    ...(rekeys ? ['WITH k AS (SELECT CAST(? AS VARBINARY) AS key)'] : []),
    'SELECT',
    select.join(',\n'),
    `FROM ${qualified(t.source)} AS t${rekeys ? '\nCROSS JOIN k' : ''}${where.length === 0 ? '' : `\nWHERE ${where.join('\n  AND ')}`}`,
  ].join('\n');
}
