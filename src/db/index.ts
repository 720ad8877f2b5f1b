/**
 * The metadata database port and its migrations. The concrete openers (`./pglite.ts`,
 * `./postgres.ts`) are imported directly by main.ts, tests and benchmarks only.
 */
export type { Db, Queryable, SqlParam, Tx } from './port.ts';
export { loadMigrations, migrate, MIGRATIONS_DIR, splitStatements } from './migrate.ts';
