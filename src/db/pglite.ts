import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, SqlParam, Tx } from './port.ts';

/** Embedded PostgreSQL (WASM) persisted in a directory, or in memory when `dir` is undefined. */
export async function openPglite(dir: string | undefined): Promise<Db> {
  // BIGINT as string, as the pg driver is set up, so both back ends return the same values.
  const options = { parsers: { 20: (v: string) => v } };
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pg = dir === undefined ? new PGlite(options) : new PGlite(dir, options);
  await pg.waitReady;
  // PGlite is single-connection: serialise transactions so a second caller never interleaves
  // statements into another's transaction.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const wrapTx = (t: Transaction): Tx => ({
    inTransaction: true,
    async query<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
      const r = await t.query<T>(sql, params as unknown[]);
      return r.rows;
    },
  });
  return {
    kind: 'pglite',
    async query<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
      return serial(async () => (await pg.query<T>(sql, params as unknown[])).rows);
    },
    async transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { readonly serializable?: boolean }): Promise<T> {
      return serial(() =>
        pg.transaction(async (t) => {
          if (options?.serializable === true) await t.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
          return fn(wrapTx(t));
        }),
      );
    },
    async exec(sql: string): Promise<void> {
      await serial(() => pg.exec(sql));
    },
    async close(): Promise<void> {
      await serial(() => pg.close());
    },
  };
}
