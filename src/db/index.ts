export type { Db, Queryable, SqlParam, Tx } from './port.ts';
export { openPglite } from './pglite.ts';
export { openPostgres } from './postgres.ts';
export { loadMigrations, migrate, MIGRATIONS_DIR, splitStatements } from './migrate.ts';
