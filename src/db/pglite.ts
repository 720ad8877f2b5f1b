import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, SqlParam, Tx } from './port.ts';

let seedFile: string | undefined;
let seed: Blob | undefined;

/**
 * Creates new databases from a seed instead of running initdb: `file` is a tar written by
 * `pgliteSeed()` (a fresh, empty cluster of this PGlite version), read once when first needed.
 * initdb takes seconds of CPU; the test suite opens hundreds of new databases and sets this for
 * each of its processes (test/helpers/pglite-seed.ts). Undefined (the default): initdb, as always.
 * An existing data directory is opened as it is either way.
 */
export function usePgliteSeed(file: string | undefined): void {
  seedFile = file;
  seed = undefined;
}

/** A tar of a fresh, empty cluster (PGlite's initdb, run once in memory), for `usePgliteSeed`. */
export async function pgliteSeed(): Promise<Uint8Array> {
  const pg = new PGlite();
  try {
    await pg.waitReady;
    const tar = await pg.dumpDataDir('none');
    return new Uint8Array(await tar.arrayBuffer());
  } finally {
    await pg.close();
  }
}

/** Embedded PostgreSQL (WASM) persisted in a directory, or in memory when `dir` is undefined. */
export async function openPglite(dir: string | undefined): Promise<Db> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fresh = dir === undefined || !existsSync(join(dir, 'PG_VERSION'));
  if (fresh && seedFile !== undefined) seed ??= new Blob([readFileSync(seedFile)]);
  // BIGINT as string, as the pg driver is set up, so both back ends return the same values.
  const options = { parsers: { 20: (v: string) => v }, ...(fresh && seed !== undefined ? { loadDataDir: seed } : {}) };
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
