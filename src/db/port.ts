/**
 * The metadata database as domains see it: parameterised SQL and transactions, nothing more.
 * Two implementations share the same SQL and migrations: embedded PGlite (default) and
 * PostgreSQL (when `DATABASE_URL` is set). Domains import only these types.
 */
export type SqlParam = string | number | bigint | boolean | null | Date | Uint8Array | readonly string[];

export interface Queryable {
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
}

/** A transaction in progress. Rolled back if the callback throws. */
export interface Tx extends Queryable {
  readonly inTransaction: true;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction (READ COMMITTED unless `serializable`); commits if it returns. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { readonly serializable?: boolean }): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}
