/**
 * The extract plan and the engine that materialises it: engine-neutral data that says, per
 * table of a project's extract, which columns to keep, which to re-key, and which rows (years,
 * population). Built from a permit and the catalogue by `src/workspace/extract/plan.ts`;
 * compiled by each engine for its own dialect (DuckDB: `src/engine/duckdb-extract/`), with
 * golden-SQL tests per dialect. No SQL crosses this boundary.
 *
 * @example
 *   const plan = await planExtract(permit, catalog);            // workspace (neutral)
 *   const built = await builder.buildTable({ table: plan.tables[0], ... }); // engine
 */

/** A comparison of the permit's population criteria, on one catalogue column. */
export interface PlanPredicate {
  /** Catalogue column name (as in the source files). */
  readonly column: string;
  readonly op: 'in' | 'not_in' | 'between';
  readonly values: readonly (string | number)[];
}

export interface PlanColumn {
  /** Name in the extract (lower case). */
  readonly name: string;
  /** Catalogue column it is read from (as in the source files). */
  readonly source: string;
  /** True for a person pseudonym: replaced by the project's keyed HMAC of the base pseudonym. */
  readonly rekey: boolean;
}

/**
 * Which years of a table the extract keeps. `column`: rows whose year of `column` (the table's
 * date column in the catalogue) lies in [from, to]; `file`: the table is delivered in yearly
 * files (PMSI) and only files of those years are read; `none`: the table has no year (a
 * referential), every row is kept.
 */
export type PlanYears =
  | { readonly kind: 'column'; readonly column: string; readonly columnType: 'date' | 'number'; readonly from: number; readonly to: number; readonly reason: string }
  | { readonly kind: 'file'; readonly from: number; readonly to: number; readonly reason: string }
  | { readonly kind: 'none'; readonly reason: string };

/** Persons kept through another table: rows whose person has a row of that table matching `predicates`. */
export interface PlanPersonSource {
  readonly dataset: string;
  readonly table: string;
  /** The source table's person pseudonym column (base pseudonyms, compared before re-keying). */
  readonly personColumn: string;
  readonly predicates: readonly PlanPredicate[];
}

export interface PlanPopulation {
  /** Criteria on the table's own columns. */
  readonly predicates: readonly PlanPredicate[];
  /** Criteria read from other tables, applied through the table's person pseudonym (every source must hold the person); null when none. */
  readonly viaPerson: { readonly personColumn: string; readonly sources: readonly PlanPersonSource[] } | null;
  /** Why, in one line (shown in the manifest). */
  readonly reason: string;
}

export interface PlanTable {
  readonly dataset: string;
  /** Catalogue table (e.g. `ER_PRS_F`). */
  readonly table: string;
  /** Name in the extract (lower case, unique in the extract). */
  readonly name: string;
  readonly columns: readonly PlanColumn[];
  readonly years: PlanYears;
  readonly population: PlanPopulation;
}

export interface ExtractPlan {
  readonly projectId: string;
  readonly permitVersion: number;
  readonly years: { readonly from: number; readonly to: number };
  readonly tables: readonly PlanTable[];
}

/** The files an engine reads for one table of a dataset version (already pruned to the plan's years). */
export interface SourceFiles {
  readonly dataset: string;
  readonly table: string;
  /**
   * The dataset version the files belong to. Engines that read a version from their own catalogue
   * rather than from files (Trino: the version's registered tables) use it instead of `files`.
   */
  readonly version?: number;
  /** Absolute local paths of encrypted Parquet files (the dataset's key opens them). */
  readonly files: readonly string[];
  /** When `files` is empty (no file of the permitted years): one file of the table, read for its columns only. */
  readonly schemaFile?: string;
}

export interface BuildTableInput {
  readonly table: PlanTable;
  readonly source: SourceFiles;
  /** The files of each `table.population.viaPerson.sources`, in the same order. */
  readonly personSources: readonly SourceFiles[];
  /** 32-byte encryption keys of the source datasets, by dataset name. */
  readonly sourceKeys: ReadonlyMap<string, Uint8Array>;
  /** The project's pseudonymisation key (HMAC-SHA256 key of the re-keying). */
  readonly rekeyKey: Uint8Array;
  /** The project's 32-byte encryption key, under which the output is written. */
  readonly targetKey: Uint8Array;
  /** Absolute local path of the encrypted Parquet file to write (its directory is created). */
  readonly target: string;
  /**
   * The project the extract is built for. Engines that keep the extract in their own storage
   * (Trino: the project's workspace schema) write there instead of `target`.
   */
  readonly projectId?: string;
}

export interface BuiltTable {
  readonly rows: number;
  readonly bytes: number;
  /** SHA-256 (hex) of the encrypted file as written. */
  readonly sha256: string;
  /** Columns in the extract order, with engine-neutral type names (`VARCHAR`, `BIGINT`, `DATE`, ...). */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /**
   * Set by engines that keep the table in their own storage rather than in `target`: what the
   * manifest records instead of the file (`path` starts with `ENGINE_PATH_PREFIX`: not a store key).
   */
  readonly stored?: { readonly path: string };
}

/** Manifest paths of tables kept by the engine (not files of the store): `engine:<engine>/<where>`. */
export const ENGINE_PATH_PREFIX = 'engine:';

/** What the extract service needs of an engine. Keys never reach an error message or a log. */
export interface ExtractBuilder {
  buildTable(input: BuildTableInput): Promise<BuiltTable>;
  /**
   * Optional, before the tables of a plan are built: engines that keep the extract in place
   * (Trino) drop the earlier generation's tables the plan no longer has, which the workspace
   * would otherwise show as the member's saved tables.
   */
  prepare?(plan: ExtractPlan): Promise<void>;
  /**
   * Optional, at the project's end: engines that keep the extract in their own storage delete it
   * there (with the project's saved tables). File-based engines have nothing to do: the extract
   * service deletes the files.
   */
  destroyProject?(projectId: string): Promise<void>;
  close(): Promise<void>;
}
