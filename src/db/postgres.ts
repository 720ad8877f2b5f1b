import pg from 'pg';
import type { Db, SqlParam, Tx } from './port.ts';

// Return BIGINT and NUMERIC as strings rather than lossy JS numbers; timestamps stay Dates.
pg.types.setTypeParser(20, (v) => v);

/** PostgreSQL through a connection pool. */
export function openPostgres(url: string, options: { readonly max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => undefined);
  return {
    kind: 'postgres',
    async query<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
      const r = await pool.query(sql, params as unknown[]);
      return r.rows as T[];
    },
    async transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { readonly serializable?: boolean }): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query(options?.serializable === true ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN');
        const tx: Tx = {
          inTransaction: true,
          async query<R extends object>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
            const r = await client.query(sql, params as unknown[]);
            return r.rows as R[];
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async exec(sql: string): Promise<void> {
      await pool.query(sql);
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}
