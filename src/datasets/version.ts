import type { Queryable } from '../db/index.ts';
import type { Store } from '../store/index.ts';

/** One encrypted Parquet file of a version, as its manifest names it. */
export interface ManifestFile {
  readonly path: string;
  readonly table: string;
  readonly year: number;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** What a version holds, written beside its files (`manifest.json`) and kept in its row. */
export interface Manifest {
  readonly format: 'enclave-manifest/1';
  readonly dataset: string;
  readonly version: number;
  readonly deliveryId: string;
  readonly createdAt: string;
  readonly files: readonly ManifestFile[];
  /** Accepted rows per table and year. */
  readonly rows: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** RFC 9162 Merkle root (hex) over the canonical JSON of `files`, in path order. */
  readonly merkleRoot: string;
  /**
   * The columns each table's files carry, in catalogue order: those its delivery carried. Absent
   * from manifests written before ingestion wrote only delivered columns (their files carry every
   * catalogue column of the table).
   */
  readonly columns?: Readonly<Record<string, readonly string[]>>;
}

/** A committed, immutable version of a dataset: a manifest and the folder (`prefix`) of its files. */
export interface DatasetVersion {
  readonly dataset: string;
  readonly version: number;
  readonly deliveryId: string;
  /** The store the version was published into (its files may since have moved: see `DatasetLocator`). */
  readonly storeId: string;
  readonly prefix: string;
  readonly merkleRoot: string;
  readonly files: number;
  readonly bytes: number;
  readonly rowsAccepted: number;
  readonly rowsQuarantined: number;
  readonly createdAt: string;
  readonly manifest: Manifest;
}

/**
 * Where a dataset's files are read from and its next version published. One place, so that a
 * cutover is one atomic switch that no reader sees half-done.
 */
export interface DatasetLocator {
  /** Local paths of every file of `v`, in manifest order, all from one location: the dataset's active one, or `storeId` when given. */
  localFiles(v: DatasetVersion, storeId?: string): Promise<{ readonly storeId: string; readonly paths: readonly string[] }>;
  /**
   * Before the commit transaction (a remote copy takes minutes, and PGlite serialises every query
   * while a transaction is open): when the dataset's active store is not `staged`, copies the
   * staged files there (verified) and returns that store's id; undefined means "publish in place".
   * The staged files stay until the commit.
   */
  publish(dataset: string, staged: Store, stagingKey: string, prefix: string): Promise<string | undefined>;
  /** Inside the commit transaction: the dataset's active store id, its row locked so that a cutover waits for the commit. */
  lockActive(tx: Queryable, dataset: string): Promise<string | undefined>;
  /** Removes what `publish` copied to `storeId` when the commit did not happen. */
  unpublish(storeId: string, prefix: string): Promise<void>;
  /** Runs `fn` with every cached file it resolves pinned until it settles. */
  withLease<T>(fn: () => Promise<T>): Promise<T>;
}

/** The folder of a version's files: `datasets/snds/v0001-run_x`. */
export function versionPrefix(dataset: string, version: number, runId: string): string {
  return `datasets/${dataset}/v${String(version).padStart(4, '0')}-${runId}`;
}

/** Where ingestion stages a run's files before they are published (never read as a version). */
export function stagingKeyOf(dataset: string, runId: string): string {
  return `datasets/${dataset}/.staging/${runId}`;
}

/** The folder holding every version of a dataset (`datasets/snds` for `datasets/snds/v0001-run_x`). */
export function datasetRoot(prefix: string): string {
  const i = prefix.lastIndexOf('/');
  return i < 0 ? prefix : prefix.slice(0, i);
}

/** Files ingestion leaves in a version's folder beside the Parquet files its manifest names. */
export function isVersionAncillary(relative: string): boolean {
  return relative === 'manifest.json' || relative === '_quarantine-report.json' || relative.startsWith('_quarantine/');
}

/** A row of `dataset_versions`. */
export interface VersionRow {
  dataset: string;
  version: number;
  delivery_id: string;
  store_id: string;
  prefix: string;
  merkle_root: string;
  files: number;
  bytes: string;
  rows_accepted: string;
  rows_quarantined: string;
  created_at: Date;
  manifest: Manifest;
}

export function toVersion(r: VersionRow): DatasetVersion {
  return {
    dataset: r.dataset,
    version: r.version,
    deliveryId: r.delivery_id,
    storeId: r.store_id,
    prefix: r.prefix,
    merkleRoot: r.merkle_root,
    files: r.files,
    bytes: Number(r.bytes),
    rowsAccepted: Number(r.rows_accepted),
    rowsQuarantined: Number(r.rows_quarantined),
    createdAt: new Date(r.created_at).toISOString(),
    manifest: typeof r.manifest === 'string' ? (JSON.parse(r.manifest) as Manifest) : r.manifest,
  };
}
