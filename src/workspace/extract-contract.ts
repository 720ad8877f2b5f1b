/**
 * The contract between a project's extract (materialised from its permit, `src/workspace/extract/`)
 * and the workspace that queries it (`src/workspace/service.ts`, the HTTP routes, `enclave sql`).
 *
 * An extract is a set of encrypted Parquet files in the store, one folder per table, under the
 * project's own AES-256 key (key service: scope `project`, purpose `encryption`); every person
 * pseudonym in it is re-keyed with the project's pseudonymisation key (scope `project`, purpose
 * `pseudonymisation`), so joins work inside the project and two projects' extracts cannot be
 * linked. The manifest says what it holds; members and reviewers may read it.
 */

/** One file of an extract table. */
export interface ExtractFile {
  /** Path relative to the store root (never shown to members as a filesystem path). */
  readonly path: string;
  readonly bytes: number;
  readonly rows: number;
  /** SHA-256 (hex) of the encrypted file as stored. */
  readonly sha256: string;
}

export interface ExtractColumn {
  /** Column name as members write it (lower case). */
  readonly name: string;
  /** Engine-neutral type name (`VARCHAR`, `BIGINT`, `DOUBLE`, `DATE`, `TIMESTAMP`, `BOOLEAN`, `DECIMAL(p,s)`). */
  readonly type: string;
  /** The catalogue's column this comes from (upper case, as in the SNDS), for descriptions. */
  readonly source: string;
  /** True when the column was re-keyed (a person pseudonym). */
  readonly rekeyed: boolean;
}

export interface ExtractTableManifest {
  /** Name in the workspace: `<table>` lower case (e.g. `er_prs_f`); unique in the extract. */
  readonly name: string;
  readonly dataset: string;
  /** The catalogue table it comes from (e.g. `ER_PRS_F`). */
  readonly table: string;
  readonly columns: readonly ExtractColumn[];
  readonly rows: number;
  readonly files: readonly ExtractFile[];
}

export type ExtractState = 'building' | 'ready' | 'failed' | 'destroyed';

export interface ExtractManifest {
  readonly projectId: string;
  /** The permit (and its version, counting amendments) the extract was built for. */
  readonly permitId: string;
  readonly permitVersion: number;
  /** Increases with each materialisation of the project (first is 1). */
  readonly generation: number;
  readonly state: ExtractState;
  /** Id of the project encryption key (the key service's id, never the key). */
  readonly keyId: string;
  /** Id of the project pseudonymisation key used for re-keying. */
  readonly rekeyKeyId: string;
  /**
   * The engine the generation is built on (`duckdb`, `trino`: the project's engine when its build
   * started, docs/workspace.md "Engines"); absent for generations built before projects had one
   * (the deployment's default engine).
   */
  readonly engine?: string;
  readonly datasetVersions: readonly { readonly dataset: string; readonly version: number }[];
  readonly years: { readonly from: number; readonly to: number };
  readonly tables: readonly ExtractTableManifest[];
  readonly createdAt: string;
  readonly completedAt: string | null;
  /** Why the last build failed, when `state` is `failed`. */
  readonly error: string | null;
}

/** What the workspace needs of extracts; implemented by the extract service. */
export interface ExtractSource {
  /** The project's current ready extract, or null (none built yet, building, failed or destroyed). */
  current(projectId: string): Promise<ExtractManifest | null>;
  /**
   * Absolute paths of a ready extract's files per table, and the key that opens them, for the
   * workspace engine only. The key never leaves the server process and its engine worker.
   */
  openForEngine(projectId: string): Promise<{ readonly manifest: ExtractManifest; readonly tables: readonly { readonly name: string; readonly files: readonly string[]; readonly key: Uint8Array }[] }>;
  /**
   * Optional: the project's latest extract in any state (`building`, `failed`, ...), so the
   * workspace can say why none is ready. Without it the workspace reports `none`.
   */
  latest?(projectId: string): Promise<ExtractManifest | null>;
  /**
   * Optional: deletes the project's extract files for good (the project was closed). The
   * workspace calls it after it has destroyed the project's keys (crypto-shredding), so the
   * files are already unreadable; deleting them frees the space and leaves nothing behind.
   */
  destroy?(projectId: string): Promise<void>;
}
