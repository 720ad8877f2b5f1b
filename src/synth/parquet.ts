/**
 * Parquet copies of the delivered CSV files, written by DuckDB reading each CSV with the
 * column types of the product schema. Clean deliveries are cast strictly (a bad value fails
 * loudly); with injected defects, values that do not cast become NULL (TRY_CAST), so the
 * Parquet files are a typed mirror while the CSV files stay the delivery to validate.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { AppError } from '../errors.ts';
import type { SchemaField, TableSchema } from './schema.ts';

function duckType(f: SchemaField): string {
  switch (f.type) {
    case 'integer':
      return (f.constraints?.maximum ?? 0) > 2147483647 ? 'BIGINT' : 'INTEGER';
    case 'number':
      return 'DOUBLE';
    case 'year':
      return 'SMALLINT';
    case 'date':
      return 'DATE';
    case 'boolean':
      return 'BOOLEAN';
    case 'string':
    case 'yearmonth':
    case 'datetime':
      return 'VARCHAR';
  }
}

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const id = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export interface ParquetJob {
  readonly csv: string;
  readonly parquet: string;
  readonly table: TableSchema;
  readonly header: readonly string[];
}

export async function writeParquet(jobs: readonly ParquetJob[], lenient: boolean): Promise<void> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const conn = await db.connect();
  try {
    for (const j of jobs) {
      const byName = new Map(j.table.fields.map((f) => [f.name, f]));
      const fields = j.header.map((h) => {
        const f = byName.get(h);
        if (f === undefined) throw new AppError('internal', `column ${h} of ${j.csv} is not in the schema of ${j.table.name}`);
        return f;
      });
      // Dates in a non-ISO layout and every column in lenient mode are read as text, then converted.
      const readType = (f: SchemaField): string => (lenient || (f.type === 'date' && f.format !== 'default') ? 'VARCHAR' : duckType(f));
      const columns = `{${fields.map((f) => `${q(f.name)}: ${q(readType(f))}`).join(', ')}}`;
      const select = fields
        .map((f) => {
          const c = id(f.name);
          if (f.type === 'date' && f.format !== 'default') {
            return `CAST(${lenient ? 'try_strptime' : 'strptime'}(${c}, ${q(f.format)}) AS DATE) AS ${c}`;
          }
          if (lenient && f.type !== 'string') return `TRY_CAST(${c} AS ${duckType(f)}) AS ${c}`;
          return c;
        })
        .join(', ');
      await conn.run(
        `COPY (SELECT ${select} FROM read_csv(${q(j.csv)}, delim=';', header=true, auto_detect=false, quote='', escape='', ` +
          `dateformat='%Y-%m-%d', columns=${columns}, null_padding=${lenient ? 'true' : 'false'}, ignore_errors=false)) ` +
          `TO ${q(j.parquet)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    }
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}
