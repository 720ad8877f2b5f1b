/**
 * The extract plan compiled for DuckDB: one `SELECT` per table over the dataset version's
 * encrypted Parquet (`read_parquet(..., encryption_config = {footer_key: ...})`), filtered by the
 * plan's years and population, person pseudonyms re-keyed with HMAC-SHA256 written in SQL.
 *
 * Keys never appear in the text: Parquet keys are referred to by name (registered on the
 * connection beforehand), and the HMAC's inner and outer pads are session variables bound as
 * prepared-statement parameters (`getvariable('enclave_rekey_ipad')`). The HMAC is RFC 2104 over
 * the base pseudonym's UTF-8 text and yields lower-case hex, byte for byte what node's
 * `createHmac('sha256', key).update(value).digest('hex')` gives (tested), and what ingestion
 * writes for the base pseudonyms.
 *
 * Golden tests (`compile.test.ts`) pin the SQL of fixed plans to `golden/*.sql`.
 */
import type { PlanPredicate, PlanTable, PlanYears, SourceFiles } from '../extract-port.ts';
import { sqlIdent, sqlString } from '../duckdb.ts';

/** Session variables holding the HMAC pads (set by the builder from the project key). */
export const REKEY_IPAD = 'enclave_rekey_ipad';
export const REKEY_OPAD = 'enclave_rekey_opad';

/** How the compiled SQL names a dataset's Parquet key (registered by the builder). */
export function keyNameOf(dataset: string): string {
  return `k_src_${dataset.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** HMAC-SHA256(project key, text of `expr`) as lower-case hex; NULL stays NULL. */
export function rekeySql(expr: string): string {
  return `CASE WHEN ${expr} IS NULL THEN NULL ELSE sha256(getvariable('${REKEY_OPAD}') || unhex(sha256(getvariable('${REKEY_IPAD}') || encode(CAST(${expr} AS VARCHAR))))) END`;
}

function literal(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('population values must be finite numbers');
    return String(v);
  }
  return sqlString(v);
}

function predicateSql(alias: string, p: PlanPredicate): string {
  const col = `${alias}.${sqlIdent(p.column)}`;
  switch (p.op) {
    case 'in':
      return `${col} IN (${p.values.map(literal).join(', ')})`;
    case 'not_in':
      // a row whose value is unknown is not known to be outside the list: excluded
      return `(${col} IS NOT NULL AND ${col} NOT IN (${p.values.map(literal).join(', ')}))`;
    case 'between': {
      const [lo, hi] = p.values;
      if (lo === undefined || hi === undefined || p.values.length !== 2) throw new Error(`between on ${p.column} needs exactly two values`);
      return `${col} BETWEEN ${literal(lo)} AND ${literal(hi)}`;
    }
  }
}

function yearSql(alias: string, y: PlanYears): string | undefined {
  if (y.kind !== 'column') return undefined;
  const col = `${alias}.${sqlIdent(y.column)}`;
  const year = y.columnType === 'date' ? `year(${col})` : `TRY_CAST(${col} AS INTEGER)`;
  return `${year} BETWEEN ${y.from} AND ${y.to}`;
}

function scanSql(s: SourceFiles): string {
  const files = s.files.length > 0 ? s.files : s.schemaFile === undefined ? [] : [s.schemaFile];
  if (files.length === 0) throw new Error(`no file to read for ${s.dataset}.${s.table}`);
  return `read_parquet([${files.map(sqlString).join(', ')}], encryption_config = {footer_key: ${sqlString(keyNameOf(s.dataset))}})`;
}

/** The temp table mapping each base pseudonym of a table to its re-keyed value. */
export const REKEY_MAP = '__enclave_rekey';

/** One extract table in DuckDB: statements to run first (the re-keying map), then the `SELECT` to write. */
export interface CompiledTable {
  readonly prepare: readonly string[];
  readonly select: string;
  readonly cleanup: readonly string[];
}

/**
 * The SQL of one extract table. Each distinct base pseudonym is hashed once, into a temp map
 * (`__enclave_rekey`, base → re-keyed, in the engine's memory), and rows take their re-keyed
 * value by a join: a person has hundreds of rows, so this is far cheaper than an HMAC per row.
 *
 * @example
 *   compileTable(plan.tables[0], { dataset: 'snds', table: 'ER_PRS_F', files: ['/s/a.parquet'] })
 *   // { prepare: ['CREATE OR REPLACE TEMP TABLE __enclave_rekey AS ...'], select: 'SELECT rk0.h AS "ben_nir_psa", ...' }
 */
export function compileTable(table: PlanTable, source: SourceFiles, personSources: readonly SourceFiles[] = []): CompiledTable {
  if (table.columns.length === 0) throw new Error(`table ${table.name} has no column`);
  const rekeyed = table.columns.filter((c) => c.rekey);
  const scan = scanSql(source);
  const prepare: string[] = [];
  const joins: string[] = [];
  if (rekeyed.length > 0) {
    const distinct = [...new Set(rekeyed.map((c) => c.source))].map((c) => `SELECT DISTINCT CAST(${sqlIdent(c)} AS VARCHAR) AS v FROM ${scan}`);
    prepare.push(`CREATE OR REPLACE TEMP TABLE ${REKEY_MAP} AS\nSELECT v, ${rekeySql('v')} AS h\nFROM (\n  ${distinct.join('\n  UNION\n  ')}\n) WHERE v IS NOT NULL`);
  }
  const select = table.columns.map((c) => {
    if (!c.rekey) return `  t.${sqlIdent(c.source)} AS ${sqlIdent(c.name)}`;
    const alias = `rk${joins.length}`;
    joins.push(`LEFT JOIN ${REKEY_MAP} AS ${alias} ON ${alias}.v = CAST(t.${sqlIdent(c.source)} AS VARCHAR)`);
    return `  ${alias}.h AS ${sqlIdent(c.name)}`;
  });
  const where: string[] = [];
  if (source.files.length === 0) where.push('false');
  const y = yearSql('t', table.years);
  if (y !== undefined) where.push(y);
  for (const p of table.population.predicates) where.push(predicateSql('t', p));
  const via = table.population.viaPerson;
  for (const [i, src] of (via?.sources ?? []).entries()) {
    const files = personSources[i];
    if (via === null || files === undefined) throw new Error(`table ${table.name} needs the files of ${src.dataset}.${src.table} for its population`);
    const inner = [`s.${sqlIdent(src.personColumn)} IS NOT NULL`, ...src.predicates.map((p) => predicateSql('s', p))];
    where.push(`t.${sqlIdent(via.personColumn)} IN (\n    SELECT s.${sqlIdent(src.personColumn)} FROM ${scanSql(files)} AS s\n    WHERE ${inner.join('\n      AND ')}\n  )`);
  }
  return {
    prepare,
    select: `SELECT\n${select.join(',\n')}\nFROM ${scan} AS t${joins.map((j) => `\n${j}`).join('')}${where.length === 0 ? '' : `\nWHERE ${where.join('\n  AND ')}`}`,
    cleanup: rekeyed.length > 0 ? [`DROP TABLE IF EXISTS ${REKEY_MAP}`] : [],
  };
}

/** The whole script of a table, as the golden files hold it. */
export function scriptOf(c: CompiledTable): string {
  return [...c.prepare, c.select, ...c.cleanup].map((x) => `${x};`).join('\n\n');
}
