/**
 * The workspace engine: what a project's secure processing environment needs from an
 * analytical engine, and nothing engine-specific. DuckDB in a sandboxed child process implements
 * it (`src/engine/duckdb-sandbox/`); a distributed engine would implement the same interface and
 * pass the same spec suite (`src/engine/spec/`).
 *
 * Ingestion keeps using the older `Engine`/`EngineSession` (a DuckDB SQL pipe, `port.ts`):
 * ingestion is DuckDB-only. This port never receives engine SQL from a domain other than the
 * member's own statement, which the engine checks with its own parser before running it.
 *
 * Errors are `AppError`s: `forbidden` (the statement was refused by the policy; `details.reason`
 * says which rule), `invalid` (the statement is not valid SQL for the engine, or hit a limit:
 * `details.limit` is `timeout`, `memory` or `row_cap`), `conflict` (cancelled, or another
 * statement is running in the session), `gone` (a result no longer kept), `unavailable` (the
 * engine process stopped; a new one answers the next call), `payload_too_large` (scratch quota
 * or statement size).
 *
 * @example
 *   const ws = await engine.open({ workspaceId: 'p1', extract, scratch, limits });
 *   const r = await ws.run('SELECT count(*) AS n FROM er_prs_f');
 *   const page = await ws.page(r.resultId, { offset: 0, limit: 100 });
 *   await ws.close();
 */

/** One table of the extract: read-only encrypted Parquet files and the key that opens them. */
export interface ExtractTable {
  /** Table name as members write it (an identifier: lower-case letters, digits, `_`). */
  readonly name: string;
  /** Absolute paths of the table's encrypted Parquet files (all with the same columns). */
  readonly files: readonly string[];
  /** 32-byte AES-256 data key of those files (the project key). Never reaches SQL. */
  readonly key: Uint8Array;
}

/** The member-writable part of a workspace: saved tables and views, persisted, encrypted. */
export interface ScratchSpec {
  /** Private directory (created 0700 if missing) that holds the scratch objects, encrypted. */
  readonly dir: string;
  /** 32-byte key that encrypts scratch tables and the scratch catalogue at rest. */
  readonly key: Uint8Array;
  /** Bytes the saved tables may take on disk in total. */
  readonly quotaBytes: number;
}

export interface WorkspaceLimits {
  /** Memory the engine may use for one workspace (buffers, hash tables, kept results). */
  readonly memoryBytes: number;
  readonly threads: number;
  /**
   * Temporary disk the engine may spill to. Engines that cannot spill encrypted refuse any
   * value but 0 (the DuckDB sandbox does: a query that would spill fails with a clear error).
   */
  readonly tempDiskBytes: number;
  /** A statement running longer than this is interrupted (and its process replaced if needed). */
  readonly statementTimeoutMs: number;
  /** At most this many rows of a result are kept (and saved); `truncated` says if more existed. */
  readonly rowCap: number;
}

export interface WorkspaceSpec {
  /** Stable id of the workspace (the project), for logs and process names; never a path. */
  readonly workspaceId: string;
  readonly extract: readonly ExtractTable[];
  readonly scratch: ScratchSpec;
  readonly limits: WorkspaceLimits;
}

export interface ResultColumn {
  readonly name: string;
  /** The engine's type name (e.g. `BIGINT`, `VARCHAR`, `DATE`). */
  readonly type: string;
}

/** JSON-safe cell: big integers and decimals as strings, dates as ISO strings, lists and structs as JSON. */
export type CellValue = string | number | boolean | null | readonly CellValue[] | { readonly [k: string]: CellValue };

export interface StatementResult {
  readonly kind: 'rows';
  /** Handle to read pages of the result kept inside the engine. */
  readonly resultId: string;
  readonly columns: readonly ResultColumn[];
  /** Rows kept (at most the row cap). */
  readonly rowCount: number;
  /** True when the statement produced more rows than the row cap. */
  readonly truncated: boolean;
  /**
   * SHA-256 (hex) of the kept rows exactly as pages serve them, for the audit log: the columns
   * (`JSON.stringify(columns)`) as the first line, then `JSON.stringify(row)` per row, each line
   * ending in `\n`. Anyone holding the pages can recompute it.
   */
  readonly sha256: string;
  readonly elapsedMs: number;
}

export interface SavedObject {
  readonly kind: 'saved';
  readonly name: string;
  readonly objectKind: 'table' | 'view';
  /** Rows saved (tables only). */
  readonly rowCount?: number;
  readonly truncated?: boolean;
  /** Encrypted bytes on disk (tables only). */
  readonly bytes?: number;
  readonly elapsedMs: number;
}

export interface ResultPage {
  readonly columns: readonly ResultColumn[];
  /** Rows as arrays, in `columns` order (names may repeat in SQL, so not objects). */
  readonly rows: ReadonlyArray<readonly CellValue[]>;
  readonly offset: number;
  /** Total rows kept in the result. */
  readonly rowCount: number;
}

export interface SchemaTable {
  readonly schema: 'extract' | 'scratch';
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly columns: readonly ResultColumn[];
}

export interface RunOptions {
  /** Save the result in the scratch schema under this name instead of keeping it as a result. */
  readonly saveAs?: { readonly name: string; readonly kind: 'table' | 'view' };
  /** Lower the session's statement timeout for this statement (never raises it). */
  readonly timeoutMs?: number;
}

export interface WorkspaceSession {
  readonly workspaceId: string;
  /** Runs one statement (a query: SELECT, WITH, VALUES, FROM, DESCRIBE) with the session's limits. */
  run(sql: string, options?: RunOptions): Promise<StatementResult | SavedObject>;
  /**
   * Reads a page of a kept result (`limit` ≤ 10 000). An engine keeps a session's 16 latest
   * results; older ones, and results of a replaced engine process, answer `gone`.
   */
  page(resultId: string, window: { readonly offset: number; readonly limit: number }): Promise<ResultPage>;
  /** Frees a kept result. */
  discard(resultId: string): Promise<void>;
  /** Drops a saved scratch table or view (the member's own objects only). */
  drop(name: string): Promise<void>;
  /** Tables of the extract and the scratch schema, with their columns. */
  describe(): Promise<SchemaTable[]>;
  /** Percent done (0–100, the engine's estimate) of the running statement; undefined when none runs. */
  progress(): Promise<number | undefined>;
  /** Stops the running statement, if any; it fails with `conflict` (cancelled). */
  cancel(): Promise<void>;
  /** Ends the session: running statement stopped, kept results freed, engine process ended. */
  close(): Promise<void>;
}

export interface WorkspaceEngine {
  /** Opens a workspace session over an extract, with its scratch and limits. */
  open(spec: WorkspaceSpec): Promise<WorkspaceSession>;
  /** Closes every open session. */
  close(): Promise<void>;
}
