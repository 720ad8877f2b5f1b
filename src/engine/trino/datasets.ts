/**
 * Registers a dataset version on Trino: one schema per version (`datasetSchema`), one Hive
 * external table per catalogue table over the version's Trino-readable prefix, partitioned by
 * `year` as the store lays the files out (`<TABLE>/year=YYYY/*.parquet`). Nothing is copied.
 *
 * The manifest stays the authority: after registration, the files Trino would read (its `$path`
 * and `$file_size` of every row's file) must be exactly the manifest's files with their sizes: a
 * file missing, added, or of another size fails with `integrity` and the table is dropped. The
 * bytes' SHA-256 is checked by the datasets domain when the Trino-readable copy is written (the
 * object store's SSE-C copy, docs/encryption-at-rest-trino.md); Trino cannot check hashes itself.
 */
import { AppError } from '../../errors.ts';
import { TrinoClient } from './client.ts';
import { datasetSchema, YEAR_PARTITION } from './extract-compile.ts';
import { ADMIN_USER } from './rules.ts';

export interface TrinoDatasetTable {
  /** Catalogue table name (e.g. `ER_PRS_F`); the Trino table is its lower case. */
  readonly table: string;
  /** Trino location of the table's prefix (`s3://bucket/prefix/ER_PRS_F`, or `local:///...` in development). */
  readonly location: string;
  /** Columns in file order, with Trino types; the `year` partition column is added. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** The manifest's files of the table: path under `location` (`year=2020/part-0.parquet`) and size. */
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
}

export interface TrinoDatasetVersion {
  readonly dataset: string;
  readonly version: number;
  readonly tables: readonly TrinoDatasetTable[];
}

const TYPE = /^(boolean|tinyint|smallint|integer|bigint|real|double|varchar(\(\d+\))?|char\(\d+\)|date|timestamp(\(\d\))?|decimal\(\d+,\s*\d+\)|varbinary)$/i;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

function q(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function str(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Checks a version description; every problem is reported at once. */
function validate(v: TrinoDatasetVersion): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(v.version) || v.version < 1) problems.push('version must be a positive integer');
  for (const [i, t] of v.tables.entries()) {
    if (!COLUMN.test(t.table)) problems.push(`tables[${i}].table ${JSON.stringify(t.table)} is not a table name`);
    if (!/^(s3|local):\/\/\S+$/.test(t.location)) problems.push(`tables[${i}].location must be an s3:// or local:// URI`);
    for (const [j, c] of t.columns.entries()) {
      if (!COLUMN.test(c.name) || c.name.toLowerCase() === YEAR_PARTITION) problems.push(`tables[${i}].columns[${j}].name ${JSON.stringify(c.name)} is not a column name (or is the partition column)`);
      if (!TYPE.test(c.type)) problems.push(`tables[${i}].columns[${j}].type ${JSON.stringify(c.type)} is not a supported Trino type`);
    }
    for (const [j, f] of t.files.entries()) if (!/^year=\d{1,4}\/[^/]+\.parquet$/.test(f.path)) problems.push(`tables[${i}].files[${j}].path must be year=YYYY/<name>.parquet`);
  }
  if (problems.length > 0) throw new AppError('invalid', `dataset version for Trino: ${problems.join('; ')}`, { hint: 'fix the fields named' });
}

/**
 * Creates (or re-creates) the version's tables and checks Trino sees exactly the manifest's files.
 *
 * @example
 *   await registerDatasetVersion(client, 'enclave', { dataset: 'snds', version: 3, tables });
 */
export async function registerDatasetVersion(client: TrinoClient, catalog: string, v: TrinoDatasetVersion): Promise<{ readonly schema: string; readonly files: number }> {
  validate(v);
  const schema = datasetSchema(v.dataset, v.version);
  const as = { user: ADMIN_USER, catalog, schema };
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(catalog)}.${q(schema)}`, as);
  let files = 0;
  for (const t of v.tables) {
    const name = t.table.toLowerCase();
    const target = `${q(catalog)}.${q(schema)}.${q(name)}`;
    await client.query(`DROP TABLE IF EXISTS ${target}`, as);
    const cols = [...t.columns.map((c) => `${q(c.name)} ${c.type}`), `${q(YEAR_PARTITION)} INTEGER`];
    await client.query(`CREATE TABLE ${target} (${cols.join(', ')}) WITH (format = 'PARQUET', external_location = ${str(t.location)}, partitioned_by = ARRAY[${str(YEAR_PARTITION)}])`, as);
    await client.query(`CALL system.sync_partition_metadata(schema_name => ${str(schema)}, table_name => ${str(name)}, mode => 'FULL')`, as);
    const seen = await client.query(`SELECT DISTINCT "$path", "$file_size" FROM ${target}`, as);
    const base = t.location.replace(/\/+$/, '');
    const expected = new Map(t.files.map((f) => [`${base}/${f.path}`, f.bytes]));
    const got = new Map(seen.rows.map(([p, s]) => [String(p), Number(s)]));
    // Ingestion never writes a file without rows, so every manifest file shows in "$path".
    const problems: string[] = [];
    for (const [p, s] of got) {
      const e = expected.get(p);
      if (e === undefined) problems.push(`${p.slice(base.length + 1)} is not in the manifest`);
      else if (e !== s) problems.push(`${p.slice(base.length + 1)} is ${s} bytes, the manifest says ${e}`);
    }
    for (const p of expected.keys()) if (!got.has(p)) problems.push(`${p.slice(base.length + 1)} of the manifest is not seen by Trino`);
    if (problems.length > 0) {
      await client.query(`DROP TABLE IF EXISTS ${target}`, as);
      throw new AppError('integrity', `${v.dataset} v${v.version} ${t.table} on Trino does not match its manifest: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`, { hint: 'the Trino-readable copy differs from the manifest: write it again from the verified version, then register it again' });
    }
    files += got.size;
  }
  return { schema, files };
}
