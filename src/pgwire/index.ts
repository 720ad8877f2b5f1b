/**
 * The PostgreSQL-protocol endpoint (adapter): R, Python, SAS, DBeaver and psql reach a project's
 * workspace with the same rules as the browser. See server.ts and docs/pgwire.md.
 */
export { DEFAULT_RECHECK_MS, isLoopback, SERVER_VERSION, startPgwire, type PgwireOptions, type PgwireServer } from './server.ts';
export type { PgwireAudit, PgwireIdentity } from './connection.ts';
