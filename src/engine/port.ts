/**
 * The analytical engine as domains see it. Kept as small as Kysely's Dialect: DuckDB embedded
 * implements it by default; a distributed engine (Trino over Parquet/Iceberg) would implement
 * the same four methods and pass the same spec tests.
 */
export type EngineValue = string | number | bigint | boolean | null;

export interface EngineSession {
  /** Runs statements whose results are not needed (DDL, COPY). */
  run(sql: string): Promise<void>;
  /** Runs a query and returns its rows as plain JSON-safe objects (BIGINT → bigint). Page large results. */
  all<T extends object = Record<string, EngineValue>>(sql: string): Promise<T[]>;
  /** Registers a Parquet decryption key under a name, for `read_parquet(..., encryption_config)`. */
  addParquetKey(name: string, key: Buffer): Promise<void>;
  close(): void;
}

export interface Engine {
  session(): Promise<EngineSession>;
  close(): Promise<void>;
}
