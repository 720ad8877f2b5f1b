import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AuditDraft, AuditedTx, AuditLog, JsonValue } from '../audit/index.ts';
import { canonicalJson, hashLeaf, rootFromLeafHashes } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { sqlIdent, sqlString, type EngineSession } from '../engine/index.ts';
import { AppError } from '../errors.ts';
import type { KeyService } from '../keys/index.ts';
import type { LocalFileStore } from '../store/index.ts';
import { fileHasher } from './hasher.ts';
import { toVersion, versionPrefix, type DatasetLocator, type DatasetVersion, type Manifest, type ManifestFile, type VersionRow } from './version.ts';

export interface DatasetVersionsDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  /** The local store versions are staged in (ingestion writes there) and published into when no other store is active. */
  readonly store: LocalFileStore;
  /** The one resolver of where a dataset lives; without it, versions are read where they were published. */
  readonly locations?: DatasetLocator;
  /** An engine that reads versions from its own copy (ENCLAVE_ENGINE=trino); without it, `prepareForEngine` does nothing. */
  readonly engineCopy?: EngineVersionCopy;
}

/**
 * An engine that cannot read the versions' encrypted files and reads its own copy (Trino: plain
 * Parquet under storage-side encryption, registered in its catalogue). `ensure` writes the copy
 * from the version's files (local, in manifest order) if it is missing, and checks the engine
 * sees exactly that copy (`src/engine/trino/dataset-copy.ts`).
 */
export interface EngineVersionCopy {
  ensure(v: DatasetVersion, files: readonly string[], withKey: <T>(fn: (key: Uint8Array) => Promise<T>) => Promise<T>): Promise<void>;
}

/** What a publisher hands over: the staged files of a new version and the audit event of its commit. */
export interface PublishRequest {
  readonly dataset: string;
  /** The run that produced the files: names the version's folder; a row of `ingest_runs` (foreign key of `dataset_versions.run_id`). */
  readonly runId: string;
  readonly deliveryId: string;
  /** Where the files were staged in the local store (`stagingKeyOf`); the manifest is written there too. */
  readonly stagingKey: string;
  readonly files: readonly ManifestFile[];
  /** The columns each table's files carry (`Manifest.columns`). */
  readonly columns?: Readonly<Record<string, readonly string[]>>;
  readonly rowsAccepted: number;
  readonly rowsQuarantined: number;
  /** The audit event recorded in the commit transaction, given the version's Merkle root (its details then get `version`). */
  readonly event: (merkleRoot: string) => AuditDraft;
  /** The publisher's own bookkeeping, in the same transaction, once the version row is in. */
  readonly inCommit?: (tx: AuditedTx, version: DatasetVersion) => Promise<void>;
}

/**
 * The one owner of dataset versions: their rows and manifests, publishing a new version into the
 * dataset's active store, and attaching a version to an engine session for reading. Ingestion
 * publishes through it, migration moves versions' files through it (`DatasetLocations`), and
 * readers (the workspace's extracts) attach through it. See docs/datasets.md.
 */
export class DatasetVersions {
  readonly #d: DatasetVersionsDeps;
  /** Versions made readable by the engine in this process (`prepareForEngine`), each once at a time. */
  readonly #prepared = new Map<string, Promise<void>>();

  constructor(deps: DatasetVersionsDeps) {
    this.#d = deps;
  }

  /** Committed versions of a dataset, newest first. */
  async versions(dataset: string): Promise<DatasetVersion[]> {
    const rows = await this.#d.db.query<VersionRow>('SELECT * FROM dataset_versions WHERE dataset = $1 ORDER BY version DESC', [dataset]);
    return rows.map(toVersion);
  }

  /** One version (the latest when `version` is undefined). */
  async version(dataset: string, version?: number): Promise<DatasetVersion> {
    const rows = version === undefined
      ? await this.#d.db.query<VersionRow>('SELECT * FROM dataset_versions WHERE dataset = $1 ORDER BY version DESC LIMIT 1', [dataset])
      : await this.#d.db.query<VersionRow>('SELECT * FROM dataset_versions WHERE dataset = $1 AND version = $2', [dataset, version]);
    const row = rows[0];
    if (row === undefined) {
      throw new AppError('not_found', version === undefined ? `dataset ${dataset} has no ingested version` : `dataset ${dataset} has no version ${version}`, {
        hint: `list versions with: enclave datasets versions ${dataset}`,
      });
    }
    return toVersion(row);
  }

  /** Each version of a dataset and the store it was published into, read in `q` (a transaction that locked the dataset's location). */
  async placed(q: Queryable, dataset: string): Promise<Array<{ version: number; storeId: string }>> {
    const rows = await q.query<{ version: number; store_id: string }>('SELECT version, store_id FROM dataset_versions WHERE dataset = $1', [dataset]);
    return rows.map((r) => ({ version: r.version, storeId: r.store_id }));
  }

  /** The version a delivery was already published as, if any (what makes a rerun idempotent). */
  async byDelivery(dataset: string, deliveryId: string): Promise<DatasetVersion | undefined> {
    const rows = await this.#d.db.query<VersionRow>('SELECT * FROM dataset_versions WHERE dataset = $1 AND delivery_id = $2', [dataset, deliveryId]);
    return rows[0] === undefined ? undefined : toVersion(rows[0]);
  }

  /** The run that published a version (its quarantine report is the run's). */
  async runOf(dataset: string, version: number): Promise<string> {
    const rows = await this.#d.db.query<{ run_id: string }>('SELECT run_id FROM dataset_versions WHERE dataset = $1 AND version = $2', [dataset, version]);
    const row = rows[0];
    if (row === undefined) throw new AppError('not_found', `dataset ${dataset} has no version ${version}`, { hint: `list versions with: enclave datasets versions ${dataset}` });
    return row.run_id;
  }

  /**
   * Opens a version for reading in an engine session: registers the dataset key and creates
   * one view per table over its encrypted Parquet files. The only way readers reach data files.
   * `storeId`: read that store's copy rather than the dataset's active one (migration's mirror).
   */
  async attachVersion(session: EngineSession, v: DatasetVersion, schema = 'ds', options: { readonly storeId?: string } = {}): Promise<string[]> {
    const keyName = `k_${v.dataset.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
    await this.#d.keys.withDataKey('dataset', v.dataset, 'encryption', (key) => session.addParquetKey(keyName, key));
    await session.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(schema)}`);
    // Resolved once per attach: every view of this session reads one location.
    const located = this.#d.locations === undefined ? undefined : await this.#d.locations.localFiles(v, options.storeId);
    const byTable = new Map<string, string[]>();
    for (const [i, f] of v.manifest.files.entries()) {
      const list = byTable.get(f.table) ?? [];
      list.push(located?.paths[i] ?? this.#d.store.localPath(`${v.prefix}/${f.path}`));
      byTable.set(f.table, list);
    }
    for (const [table, paths] of byTable) {
      await session.run(`CREATE OR REPLACE VIEW ${sqlIdent(schema)}.${sqlIdent(table)} AS SELECT * FROM read_parquet([${paths.map(sqlString).join(', ')}], encryption_config = {footer_key: ${sqlString(keyName)}})`);
    }
    return [...byTable.keys()].sort();
  }

  /**
   * Makes a version readable by the engine that reads its own copy (`engineCopy`), once per
   * process: every file's SHA-256 is checked against the manifest first (a changed file fails
   * with `integrity`, naming it), then the copy is written from those files if missing and
   * registered. Does nothing without an `engineCopy` (DuckDB reads the files themselves).
   */
  prepareForEngine(dataset: string, version: number): Promise<void> {
    const copy = this.#d.engineCopy;
    if (copy === undefined) return Promise.resolve();
    const id = `${dataset}\u0000${version}`;
    let p = this.#prepared.get(id);
    if (p === undefined) {
      p = this.withLease(async () => {
        const v = await this.version(dataset, version);
        const located = this.#d.locations === undefined ? undefined : await this.#d.locations.localFiles(v);
        const paths = v.manifest.files.map((f, i) => located?.paths[i] ?? this.#d.store.localPath(`${v.prefix}/${f.path}`));
        for (const [i, f] of v.manifest.files.entries()) {
          const got = await fileHasher.hash(paths[i] ?? '');
          if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) {
            throw new AppError('integrity', `${dataset} v${version}: ${f.path} does not match its manifest (SHA-256 or size differs)`, { hint: 'the version\'s file changed at rest: restore it from a verified copy (enclave migrate verify) before building extracts' });
          }
        }
        await copy.ensure(v, paths, (fn) => this.#d.keys.withDataKey('dataset', dataset, 'encryption', fn));
      });
      this.#prepared.set(id, p);
      p.catch(() => this.#prepared.delete(id));
    }
    return p;
  }

  /**
   * Makes the dataset's versions readable by the engine again after the engine lost them (Trino's
   * catalog forgotten by a coordinator restart): its current version, and each version made
   * readable earlier in this process, go through `prepareForEngine` again, checks included.
   */
  async prepareAgainForEngine(dataset: string): Promise<void> {
    if (this.#d.engineCopy === undefined) return;
    const earlier: number[] = [];
    for (const id of [...this.#prepared.keys()]) {
      const [d, v] = id.split('\u0000');
      if (d !== dataset) continue;
      this.#prepared.delete(id);
      earlier.push(Number(v));
    }
    const [current] = await this.versions(dataset);
    const all = new Set([...(current === undefined ? [] : [current.version]), ...earlier]);
    for (const v of [...all].sort((a, b) => b - a)) await this.prepareForEngine(dataset, v);
  }

  /** Runs `fn` with every cached file it attaches pinned until it settles (then evictable at once). */
  withLease<T>(fn: () => Promise<T>): Promise<T> {
    return this.#d.locations === undefined ? fn() : this.#d.locations.withLease(fn);
  }

  /**
   * Publishes staged files as the dataset's next version, visible in one database commit: a
   * failure or a crash leaves the previous version untouched. The manifest is written beside the
   * files; they are copied (verified) to the dataset's active store first when it is not the
   * local one, outside any transaction; the transaction then checks that nothing moved meanwhile
   * (a cutover, another version) and records the version. If something did, the copy is removed
   * and the commit tried again: at most a few times, as such races are rare.
   */
  async publish(r: PublishRequest): Promise<DatasetVersion> {
    const leaves = r.files.map((f) => hashLeaf(Buffer.from(canonicalJson(f as unknown as JsonValue))));
    const merkleRoot = rootFromLeafHashes(leaves).toString('hex');
    const rows: Record<string, Record<string, number>> = {};
    for (const f of r.files) {
      const t = (rows[f.table] ??= {});
      t[String(f.year)] = (t[String(f.year)] ?? 0) + f.rows;
    }
    const bytes = r.files.reduce((s, f) => s + f.bytes, 0);
    const { store, locations } = this.#d;
    for (let attempt = 1; ; attempt++) {
      const next = await this.#d.db.query<{ v: number }>('SELECT coalesce(max(version), 0) + 1 AS v FROM dataset_versions WHERE dataset = $1', [r.dataset]);
      const version = next[0]?.v ?? 1;
      const prefix = versionPrefix(r.dataset, version, r.runId);
      const manifest: Manifest = { format: 'enclave-manifest/1', dataset: r.dataset, version, deliveryId: r.deliveryId, createdAt: new Date().toISOString(), files: r.files, rows, merkleRoot, ...(r.columns === undefined ? {} : { columns: r.columns }) };
      await writeFile(store.localPath(`${r.stagingKey}/manifest.json`), `${JSON.stringify(manifest, null, 1)}\n`);
      const publishedTo = await locations?.publish(r.dataset, store, r.stagingKey, prefix);
      let moved = false;
      try {
        const committed = await this.#d.audit.transaction(r.event(merkleRoot), async (tx) => {
          const active = await locations?.lockActive(tx, r.dataset);
          const now = await tx.query<{ v: number }>('SELECT coalesce(max(version), 0) + 1 AS v FROM dataset_versions WHERE dataset = $1', [r.dataset]);
          if ((active === undefined || active === store.id ? undefined : active) !== publishedTo || (now[0]?.v ?? 1) !== version) {
            moved = true;
            throw new AppError('conflict', `dataset ${r.dataset} moved or got version ${version} while this delivery was being published`, { hint: 'nothing was published; ingest the delivery again' });
          }
          // Files first, then the row that makes them visible: a crash between the two leaves an
          // unreferenced directory, never a version without its files.
          if (publishedTo === undefined) await store.movePrefix(r.stagingKey, prefix);
          const inserted = await tx.query<VersionRow>(
            `INSERT INTO dataset_versions (dataset, version, delivery_id, run_id, store_id, prefix, merkle_root, files, bytes, rows_accepted, rows_quarantined, manifest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
            [r.dataset, version, r.deliveryId, r.runId, publishedTo ?? store.id, prefix, merkleRoot, r.files.length, bytes, r.rowsAccepted, r.rowsQuarantined, JSON.stringify(manifest)],
          );
          const row = inserted[0];
          if (row === undefined) throw new AppError('internal', 'version insert returned nothing');
          const v = toVersion(row);
          await r.inCommit?.(tx, v);
          tx.addDetails({ version });
          return v;
        });
        if (publishedTo !== undefined) await store.removePrefix(r.stagingKey);
        return committed;
      } catch (e) {
        if (publishedTo !== undefined) await locations?.unpublish(publishedTo, prefix).catch(() => undefined);
        if (!moved || attempt >= 3) throw e;
      }
    }
  }
}
