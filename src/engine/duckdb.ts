import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Engine, EngineSession } from './port.ts';

export { sqlIdent, sqlString } from './sql.ts';

export interface DuckDbOptions {
  readonly threads?: number | undefined;
  readonly memoryLimit?: string | undefined;
  /** Directory DuckDB may spill to; defaults to DuckDB's own. */
  readonly tempDirectory?: string | undefined;
}

/**
 * DuckDB embedded, in memory (the concrete engine: main.ts opens it, domains receive the `Engine`
 * port; tests and benchmarks import this module directly): data lives in Parquet files of the store, never in a DuckDB
 * database file. No extension can be installed or loaded at run time.
 */
export async function openDuckDb(options: DuckDbOptions = {}): Promise<Engine & { readonly instance: DuckDBInstance }> {
  const settings: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.threads !== undefined) settings['threads'] = String(options.threads);
  if (options.memoryLimit !== undefined) settings['memory_limit'] = options.memoryLimit;
  if (options.tempDirectory !== undefined) settings['temp_directory'] = options.tempDirectory;
  const instance = await DuckDBInstance.create(':memory:', settings);
  return {
    instance,
    async session(): Promise<EngineSession> {
      return duckSession(await instance.connect());
    },
    async close(): Promise<void> {
      instance.closeSync();
    },
  };
}

export function duckSession(conn: DuckDBConnection): EngineSession & { readonly connection: DuckDBConnection } {
  return {
    connection: conn,
    async run(sql: string): Promise<void> {
      await conn.run(sql);
    },
    async all<T extends object>(sql: string): Promise<T[]> {
      const r = await conn.runAndReadAll(sql);
      return r.getRowObjectsJS() as T[];
    },
    async addParquetKey(name: string, key: Buffer): Promise<void> {
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error('parquet key names are alphanumeric');
      await conn.run(`PRAGMA add_parquet_key('${name}', '${key.toString('base64')}')`);
    },
    close(): void {
      conn.closeSync();
    },
  };
}
