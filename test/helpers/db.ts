import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, type Db } from '../../src/db/index.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { openPostgres } from '../../src/db/postgres.ts';

/**
 * Which metadata database the suite runs on: `ENCLAVE_TEST_DB=postgres` uses the PostgreSQL
 * server named by `ENCLAVE_TEST_PG_URL` (default the local one), anything else embedded PGlite.
 * `npm test` runs the whole suite once on each.
 */
export const testDbKind: 'pglite' | 'postgres' = process.env['ENCLAVE_TEST_DB'] === 'postgres' ? 'postgres' : 'pglite';
export const adminPgUrl = process.env['ENCLAVE_TEST_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TestDb {
  readonly db: Db;
  /** Connection URL on PostgreSQL (a fresh database per test), undefined on PGlite. */
  readonly url: string | undefined;
  readonly dir: string | undefined;
  drop(): Promise<void>;
}

/** A fresh, migrated metadata database: in-memory PGlite, or a new database on PostgreSQL. */
export async function openTestDb(options: { readonly migrated?: boolean; readonly dir?: string } = {}): Promise<TestDb> {
  let db: Db;
  let url: string | undefined;
  let cleanup: () => Promise<void> = async () => undefined;
  if (testDbKind === 'postgres') {
    const name = `enclave_t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminPgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(adminPgUrl);
    u.pathname = `/${name}`;
    url = u.toString();
    db = openPostgres(url);
    cleanup = async () => {
      const a = new pg.Client({ connectionString: adminPgUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  } else {
    db = await openPglite(options.dir);
  }
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    url,
    dir: options.dir,
    async drop() {
      await db.close();
      await cleanup();
    },
  };
}
