/**
 * Materialises a project's extract (docs/workspace.md, "The extract"): when a permit comes into
 * force and again when an amendment is approved, the permit's neutral plan (`plan.ts`) is built
 * table by table by the engine (`ExtractBuilder`) from the current dataset versions, pseudonyms
 * re-keyed with the project's pseudonymisation key, files encrypted under the project's
 * encryption key, into `projects/<id>/extract/g<generation>/<table>/` of the store.
 *
 * Each table is a checkpoint (its file, row count and SHA-256 recorded, audited), so a killed
 * build resumes where it stopped, on the dataset versions it started from. A generation is used
 * only once complete; the previous one stays readable until then and is deleted after. Every
 * build is audited: start, each table, commit, failure.
 */
import { hostname } from 'node:os';
import type { Actor, AuditLog, AuditedTx, JsonValue } from '../../audit/index.ts';
import type { Db, Queryable } from '../../db/index.ts';
import { ENGINE_PATH_PREFIX, type ExtractBuilder, type ExtractPlan, type PlanTable, type SourceFiles } from '../../engine/index.ts';
import { AppError, isAppError } from '../../errors.ts';
import type { PermitDocument } from '../../governance/index.ts';
import type { Store } from '../../store/index.ts';
import type { ExtractManifest, ExtractSource, ExtractState, ExtractTableManifest } from '../extract-contract.ts';
import { columnsMissingFromVersions, planExtract, type ExtractCatalog } from './plan.ts';

/** One encrypted Parquet file of a dataset version, with its partition year (0: none or unknown). */
export interface VersionFile {
  readonly table: string;
  readonly year: number;
  /** Absolute local path (through the read cache when the dataset's store is remote). */
  readonly path: string;
}

/** What the extract needs of dataset versions (the datasets domain implements it). */
export interface DatasetVersions {
  /** The current (latest committed) version of a dataset, or null when none is ingested. */
  current(dataset: string): Promise<number | null>;
  /**
   * Every file of a version, local. `engine`: the engine the extract is built on (the build's
   * `engineOf`), for deployments whose engines read versions differently; null when not known.
   */
  files(dataset: string, version: number, engine?: string | null): Promise<readonly VersionFile[]>;
  /**
   * Optional: the columns each table's files carry in a version (its manifest's list), or
   * undefined when the version does not say (its files carry every catalogue column).
   */
  columns?(dataset: string, version: number): Promise<Readonly<Record<string, readonly string[]>> | undefined>;
  /** Lends the dataset's 32-byte encryption key to `fn` (wiped after). */
  withKey<T>(dataset: string, fn: (key: Uint8Array) => Promise<T>): Promise<T>;
  /**
   * Optional: makes a version readable by the extract's engine before it is read (on Trino: the
   * version's Trino-readable copy, checked against the manifest, registered in Trino's catalogue).
   */
  prepare?(dataset: string, version: number, engine?: string | null): Promise<void>;
}

/** The permit in force of a project (governance). */
export interface PermitsInForce {
  active(projectId: string): Promise<{ readonly version: number; readonly sha256: string; readonly document: PermitDocument } | null>;
}

/** The project's keys (key service, scope `project`); governance creates them when the permit comes into force. */
export interface ExtractKeys {
  keyId(projectId: string, purpose: 'encryption' | 'pseudonymisation'): Promise<string>;
  withKey<T>(projectId: string, purpose: 'encryption' | 'pseudonymisation', fn: (key: Uint8Array) => Promise<T>): Promise<T>;
}

export interface ExtractProgress {
  readonly projectId: string;
  readonly generation: number;
  readonly tablesDone: number;
  readonly tablesTotal: number;
  readonly percent: number;
  /** The table just built (or found built when resuming). */
  readonly table?: string;
}

export interface ExtractServiceDeps {
  readonly db: Db;
  readonly audit: Pick<AuditLog, 'transaction' | 'record'>;
  readonly permits: PermitsInForce;
  readonly catalog: ExtractCatalog;
  readonly datasets: DatasetVersions;
  readonly keys: ExtractKeys;
  readonly builder: ExtractBuilder;
  /** A store with local paths (the engine writes files); extracts live under `projects/`. */
  readonly store: Pick<Store, 'localPath' | 'removePrefix' | 'size'>;
  readonly onProgress?: (p: ExtractProgress) => void;
  /** Told of a scheduled build's failure (already audited); default: nothing. */
  readonly onError?: (projectId: string, e: unknown) => void;
  /**
   * How long the files of a superseded generation stay after the new one is committed (default
   * 10 minutes; the server passes the workspace statement timeout plus a minute): a statement
   * that started on the old generation finishes on it; the next one runs on the new. The
   * generation is marked destroyed at once (and its files removed at the next start if the
   * process ends first). 0 deletes at once.
   */
  readonly retainSupersededMs?: number;
  /**
   * The engine a project's extract is to be built on (its choice, `src/workspace/engine-choice.ts`),
   * recorded with the generation when its build starts; absent: nothing recorded (one engine).
   */
  readonly engineOf?: (projectId: string) => Promise<string>;
  /** Test hook: called after each table's checkpoint commits (crash tests kill the process here). */
  readonly afterTable?: (table: string) => void | Promise<void>;
}

/** The kinds of project change that (re)build an extract. */
export const EXTRACT_TRIGGERS: ReadonlySet<string> = new Set(['project.active', 'amendment.approved']);

const ACTOR: Actor = { kind: 'service', id: 'workspace.extract' };
export const DEFAULT_RETAIN_SUPERSEDED_MS = 10 * 60_000;

interface ExtractRow {
  project_id: string;
  generation: number;
  permit_version: number;
  permit_sha256: string;
  state: ExtractState;
  percent: number;
  key_id: string;
  rekey_key_id: string;
  plan: unknown;
  dataset_versions: unknown;
  host: string;
  pid: number;
  created_at: Date | string;
  completed_at: Date | string | null;
  error: string | null;
  engine?: string | null;
}

interface TableRow {
  name: string;
  position: number;
  dataset: string;
  source_table: string;
  columns: unknown;
  rows: string | number;
  files: unknown;
}

const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** Store prefix of a generation. */
export function generationPrefix(projectId: string, generation: number): string {
  return `projects/${projectId}/extract/g${generation}`;
}

/** A build is alive while its process is, when it runs on this host (a killed build is resumed). */
function processAlive(host: string, pid: number): boolean {
  if (host !== hostname()) return true;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The message kept for a failure: ours when it is an AppError, never an engine's raw text (it may name files). */
function safeMessage(e: unknown): string {
  if (isAppError(e)) return e.message.slice(0, 2000);
  return 'the extract build failed unexpectedly (see the server log)';
}

/**
 * @example
 *   const extracts = new ExtractService({ db, audit, permits, catalog, datasets, keys, builder, store });
 *   extracts.listen(governance);          // builds on project.active and amendment.approved
 *   const m = await extracts.current(projectId);
 */
export class ExtractService implements ExtractSource {
  readonly #d: ExtractServiceDeps;
  /** One build at a time per project, in order. */
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(deps: ExtractServiceDeps) {
    this.#d = deps;
  }

  /** Builds (or rebuilds) extracts on the project changes that call for it. */
  listen(source: { onProjectChange(listener: (c: { readonly projectId: string; readonly kind: string }) => void): void }): void {
    source.onProjectChange((c) => {
      if (EXTRACT_TRIGGERS.has(c.kind)) void this.schedule(c.projectId);
    });
  }

  /** Queues a build of the project's extract; failures are audited and told to `onError`, never thrown. */
  schedule(projectId: string): Promise<ExtractManifest | null> {
    return this.#serial(projectId, () => this.#build(projectId)).catch((e: unknown) => {
      this.#d.onError?.(projectId, e);
      return null;
    });
  }

  /** Builds the project's extract now (after any queued build) and returns its manifest; throws on failure. */
  materialise(projectId: string, o: { readonly force?: boolean } = {}): Promise<ExtractManifest | null> {
    return this.#serial(projectId, () => this.#build(projectId, o.force === true));
  }

  /** Waits until every queued build has settled. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.allSettled([...this.#chains.values()]);
  }

  /**
   * At start: resumes every build left `building` by a process that is gone, and removes the files
   * of failed and superseded generations that a crash may have left.
   */
  async resumeAll(): Promise<void> {
    const rows = await this.#d.db.query<{ project_id: string; generation: number; state: ExtractState; host: string; pid: number }>(
      "SELECT project_id, generation, state, host, pid FROM workspace_extracts WHERE state IN ('building', 'failed', 'destroyed') ORDER BY project_id, generation",
    );
    for (const r of rows) {
      if (r.state === 'building') {
        if (!processAlive(r.host, r.pid)) void this.schedule(r.project_id);
      } else {
        await this.#d.store.removePrefix(generationPrefix(r.project_id, Number(r.generation))).catch(() => undefined);
      }
    }
  }

  async current(projectId: string): Promise<ExtractManifest | null> {
    const [r] = await this.#d.db.query<ExtractRow>("SELECT * FROM workspace_extracts WHERE project_id = $1 AND state = 'ready'", [projectId]);
    return r === undefined ? null : this.#manifest(this.#d.db, r);
  }

  /** The project's latest extract in any state (building, ready, failed, destroyed), or null. */
  async latest(projectId: string): Promise<ExtractManifest | null> {
    const [r] = await this.#d.db.query<ExtractRow>('SELECT * FROM workspace_extracts WHERE project_id = $1 ORDER BY generation DESC LIMIT 1', [projectId]);
    return r === undefined ? null : this.#manifest(this.#d.db, r);
  }

  /**
   * End of the project (closure): every generation is marked destroyed and its files deleted from
   * the store, audited. The workspace calls it after destroying the project keys, so what might
   * survive on disk is already unreadable (crypto-shredding); this removes the ciphertext too.
   */
  async destroy(projectId: string): Promise<void> {
    await this.idle();
    const gone: number[] = [];
    await this.#d.audit.transaction({ actor: ACTOR, action: 'workspace.extract.destroy', target: `project:${projectId}`, details: {} }, async (tx: AuditedTx) => {
      const rows = await tx.query<{ generation: number }>("UPDATE workspace_extracts SET state = 'destroyed', completed_at = coalesce(completed_at, now()) WHERE project_id = $1 RETURNING generation", [projectId]);
      gone.push(...rows.map((r) => Number(r.generation)));
      tx.addDetails({ generations: gone });
    });
    for (const g of gone) await this.#d.store.removePrefix(generationPrefix(projectId, g));
    await this.#d.builder.destroyProject?.(projectId);
  }

  /** Every generation of a project, newest first (building, failed and destroyed ones included), for members and reviewers. */
  async generations(projectId: string): Promise<ExtractManifest[]> {
    const rows = await this.#d.db.query<ExtractRow>('SELECT * FROM workspace_extracts WHERE project_id = $1 ORDER BY generation DESC', [projectId]);
    const out: ExtractManifest[] = [];
    for (const r of rows) out.push(await this.#manifest(this.#d.db, r));
    return out;
  }

  /** The build under way: percent done (persisted at each table), or null when none builds. */
  async progress(projectId: string): Promise<{ readonly generation: number; readonly percent: number } | null> {
    const [r] = await this.#d.db.query<{ generation: number; percent: number }>("SELECT generation, percent FROM workspace_extracts WHERE project_id = $1 AND state = 'building'", [projectId]);
    return r === undefined ? null : { generation: Number(r.generation), percent: Number(r.percent) };
  }

  async openForEngine(projectId: string): Promise<{ readonly manifest: ExtractManifest; readonly tables: readonly { readonly name: string; readonly files: readonly string[]; readonly key: Uint8Array }[] }> {
    const manifest = await this.current(projectId);
    if (manifest === null) {
      throw new AppError('not_found', `project ${projectId} has no ready extract`, { hint: 'the extract is built when the permit comes into force; its progress is shown on the project page' });
    }
    const key = await this.#d.keys.withKey(projectId, 'encryption', async (k) => Uint8Array.from(k));
    // Tables kept by the engine itself (Trino) have no file to name.
    return { manifest, tables: manifest.tables.map((t) => ({ name: t.name, files: t.files.filter((f) => !f.path.startsWith(ENGINE_PATH_PREFIX)).map((f) => this.#local(f.path)), key })) };
  }

  #local(key: string): string {
    const p = this.#d.store.localPath(key);
    if (p === undefined) throw new AppError('internal', 'the extract store has no local paths', { hint: 'extracts are written to the local store (ENCLAVE_DATA_DIR)' });
    return p;
  }

  #serial<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#chains.get(projectId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tracked = next.finally(() => {
      if (this.#chains.get(projectId) === tracked) this.#chains.delete(projectId);
    });
    tracked.catch(() => undefined);
    this.#chains.set(projectId, tracked);
    return next;
  }

  async #manifest(q: Queryable, r: ExtractRow): Promise<ExtractManifest> {
    const tables = await q.query<TableRow>('SELECT * FROM workspace_extract_tables WHERE project_id = $1 AND generation = $2 ORDER BY position', [r.project_id, r.generation]);
    const plan = json<ExtractPlan>(r.plan);
    return {
      projectId: r.project_id, permitId: r.project_id, permitVersion: Number(r.permit_version), generation: Number(r.generation), state: r.state,
      keyId: r.key_id, rekeyKeyId: r.rekey_key_id, ...(r.engine == null ? {} : { engine: r.engine }),
      datasetVersions: json<{ dataset: string; version: number }[]>(r.dataset_versions),
      years: plan.years,
      tables: tables.map((t): ExtractTableManifest => ({
        name: t.name, dataset: t.dataset, table: t.source_table, columns: json(t.columns), rows: Number(t.rows), files: json(t.files),
      })),
      createdAt: iso(r.created_at) ?? '', completedAt: iso(r.completed_at), error: r.error,
    };
  }

  async #build(projectId: string, force = false): Promise<ExtractManifest | null> {
    const permit = await this.#d.permits.active(projectId);
    const [open] = await this.#d.db.query<ExtractRow>("SELECT * FROM workspace_extracts WHERE project_id = $1 AND state = 'building'", [projectId]);
    let row: ExtractRow | undefined = open;
    if (row !== undefined && processAlive(row.host, row.pid)) {
      throw new AppError('conflict', `extract generation ${row.generation} of project ${projectId} is being built by another process (${row.host} pid ${row.pid})`, { hint: 'wait for it to finish' });
    }
    if (row !== undefined && (permit === null || row.permit_version !== permit.version || row.permit_sha256 !== permit.sha256)) {
      await this.#fail(row, new AppError('conflict', `the permit changed (now ${permit === null ? 'none in force' : `version ${permit.version}`}) before generation ${row.generation} was complete`));
      row = undefined;
    }
    if (permit === null) return null;
    if (row === undefined && !force) {
      // A ready extract of this very permit on the current dataset versions is not built again
      // (e.g. a suspended project reinstated).
      const ready = await this.current(projectId);
      // ... and on the engine the project is on (a project moved to another engine is built there).
      const engine = await this.#d.engineOf?.(projectId);
      if (ready !== null && ready.permitVersion === permit.version && (engine === undefined || (ready.engine ?? engine) === engine) && (await this.#sameVersions(ready.datasetVersions))) {
        const [r] = await this.#d.db.query<{ permit_sha256: string }>('SELECT permit_sha256 FROM workspace_extracts WHERE project_id = $1 AND generation = $2', [projectId, ready.generation]);
        if (r?.permit_sha256 === permit.sha256) return ready;
      }
    }
    if (row === undefined) row = await this.#start(projectId, permit);
    else {
      const g = Number(row.generation);
      await this.#d.audit.transaction({ actor: ACTOR, action: 'workspace.extract.resume', target: `project:${projectId}`, details: { generation: g } }, async (tx) => {
        await tx.query('UPDATE workspace_extracts SET host = $3, pid = $4 WHERE project_id = $1 AND generation = $2', [projectId, g, hostname(), process.pid]);
      });
    }
    const generation = Number(row.generation);
    try {
      const plan = json<ExtractPlan>(row.plan);
      const versions = json<{ dataset: string; version: number }[]>(row.dataset_versions);
      await this.#buildTables(row, plan, versions);
      return await this.#commit(projectId, generation);
    } catch (e) {
      await this.#fail(row, e);
      throw e;
    }
  }

  async #sameVersions(versions: readonly { dataset: string; version: number }[]): Promise<boolean> {
    for (const v of versions) if ((await this.#d.datasets.current(v.dataset)) !== v.version) return false;
    return true;
  }

  async #start(projectId: string, permit: { version: number; sha256: string; document: PermitDocument }): Promise<ExtractRow> {
    let plan: ExtractPlan;
    let versions: { dataset: string; version: number }[];
    let keyId: string;
    let rekeyKeyId: string;
    let engine: string | null;
    try {
      plan = await planExtract(permit.document, permit.version, this.#d.catalog);
      versions = [];
      for (const dataset of [...new Set(plan.tables.flatMap((t) => [t.dataset, ...(t.population.viaPerson?.sources.map((x) => x.dataset) ?? [])]))].sort()) {
        const v = await this.#d.datasets.current(dataset);
        if (v === null) throw new AppError('conflict', `dataset ${dataset} has no ingested version: the extract cannot be built`, { hint: `ingest a delivery of ${dataset}; the extract is built again when the permit is amended, or by an operator` });
        versions.push({ dataset, version: v });
      }
      // A permitted column that the pinned version does not carry (its delivery did not include it)
      // is named here, before anything is built, rather than failing inside the engine.
      const carried = new Map<string, Readonly<Record<string, readonly string[]>> | undefined>();
      for (const v of versions) carried.set(v.dataset, await this.#d.datasets.columns?.(v.dataset, v.version));
      const missing = columnsMissingFromVersions(plan, (dataset, table) => carried.get(dataset)?.[table]);
      if (missing.length > 0) {
        throw new AppError('conflict', `the extract cannot be built: the current version${versions.length === 1 ? '' : 's'} (${versions.map((v) => `${v.dataset} v${v.version}`).join(', ')}) carr${versions.length === 1 ? 'ies' : 'y'} no ${missing.join(', ')}: ${missing.length === 1 ? 'its' : 'their'} delivery did not include ${missing.length === 1 ? 'it' : 'them'}`, {
          hint: 'the access committee amends the permit to leave these columns out, or the data manager ingests a delivery that carries them',
          details: { missing },
        });
      }
      keyId = await this.#d.keys.keyId(projectId, 'encryption');
      rekeyKeyId = await this.#d.keys.keyId(projectId, 'pseudonymisation');
      engine = (await this.#d.engineOf?.(projectId)) ?? null;
    } catch (e) {
      await this.#d.audit.record({ actor: ACTOR, action: 'workspace.extract.fail', target: `project:${projectId}`, outcome: 'failure', details: { permitVersion: permit.version, stage: 'plan', error: safeMessage(e) } });
      throw e;
    }
    return this.#d.audit.transaction({
      actor: ACTOR, action: 'workspace.extract.start', target: `project:${projectId}`,
      details: { permitVersion: permit.version, permitSha256: permit.sha256, tables: plan.tables.map((t) => t.name), datasetVersions: versions, keyId, rekeyKeyId, ...(engine === null ? {} : { engine }) },
    }, async (tx) => {
      const [m] = await tx.query<{ g: number | null }>('SELECT max(generation) AS g FROM workspace_extracts WHERE project_id = $1', [projectId]);
      const generation = Number(m?.g ?? 0) + 1;
      tx.addDetails({ generation });
      const [r] = await tx.query<ExtractRow>(
        `INSERT INTO workspace_extracts (project_id, generation, permit_version, permit_sha256, state, key_id, rekey_key_id, plan, dataset_versions, host, pid, engine)
         VALUES ($1, $2, $3, $4, 'building', $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11) RETURNING *`,
        [projectId, generation, permit.version, permit.sha256, keyId, rekeyKeyId, JSON.stringify(plan), JSON.stringify(versions), hostname(), process.pid, engine],
      );
      if (r === undefined) throw new AppError('internal', 'the extract row was not inserted');
      return r;
    });
  }

  async #buildTables(row: ExtractRow, plan: ExtractPlan, versions: readonly { dataset: string; version: number }[]): Promise<void> {
    const projectId = row.project_id;
    const generation = Number(row.generation);
    const total = plan.tables.length;
    const done = new Map((await this.#d.db.query<{ name: string; files: unknown }>('SELECT name, files FROM workspace_extract_tables WHERE project_id = $1 AND generation = $2', [projectId, generation]))
      .map((r) => [r.name, json<{ path: string; bytes: number }[]>(r.files)]));
    const versionOf = new Map(versions.map((v) => [v.dataset, v.version]));
    const filesOf = new Map<string, readonly VersionFile[]>();
    const files = async (dataset: string): Promise<readonly VersionFile[]> => {
      let f = filesOf.get(dataset);
      if (f === undefined) {
        const v = versionOf.get(dataset);
        if (v === undefined) throw new AppError('internal', `no pinned version of ${dataset}`);
        f = await this.#d.datasets.files(dataset, v, row.engine ?? null);
        filesOf.set(dataset, f);
      }
      return f;
    };
    for (const v of versions) await this.#d.datasets.prepare?.(v.dataset, v.version, row.engine ?? null);
    await this.#d.builder.prepare?.(plan);
    let count = 0;
    const report = (table: string): void => {
      this.#d.onProgress?.({ projectId, generation, tablesDone: count, tablesTotal: total, percent: Math.floor((count * 100) / total), table });
    };
    for (const [position, table] of plan.tables.entries()) {
      const existing = done.get(table.name);
      if (existing !== undefined && (await this.#intact(existing))) {
        count++;
        report(table.name);
        continue;
      }
      const source = sourceFiles(table, await files(table.dataset), versionOf.get(table.dataset));
      const via = table.population.viaPerson;
      const personSources: SourceFiles[] = [];
      for (const src of via?.sources ?? []) personSources.push(sourceFiles({ dataset: src.dataset, table: src.table, years: { kind: 'none', reason: '' } }, await files(src.dataset), versionOf.get(src.dataset)));
      const key = `${generationPrefix(projectId, generation)}/${table.name}/data_0.parquet`;
      const built = await this.#withSourceKeys([...new Set([table.dataset, ...(via?.sources.map((x) => x.dataset) ?? [])])], new Map(), (sourceKeys) =>
        this.#d.keys.withKey(projectId, 'pseudonymisation', (rekeyKey) =>
          this.#d.keys.withKey(projectId, 'encryption', (targetKey) =>
            this.#d.builder.buildTable({ table, source, personSources, sourceKeys, rekeyKey, targetKey, target: this.#local(key), projectId }))));
      const columns = table.columns.map((c, i) => ({ name: c.name, type: built.columns[i]?.type ?? 'VARCHAR', source: c.source, rekeyed: c.rekey }));
      const fileList = [{ path: built.stored?.path ?? key, bytes: built.bytes, rows: built.rows, sha256: built.sha256 }];
      count++;
      const percent = Math.floor((count * 100) / total);
      await this.#d.audit.transaction({ actor: ACTOR, action: 'workspace.extract.table', target: `project:${projectId}`, details: { generation, table: table.name, rows: built.rows, sha256: built.sha256, percent } }, async (tx) => {
        await tx.query('DELETE FROM workspace_extract_tables WHERE project_id = $1 AND generation = $2 AND name = $3', [projectId, generation, table.name]);
        await tx.query(
          'INSERT INTO workspace_extract_tables (project_id, generation, name, position, dataset, source_table, columns, rows, files) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::jsonb)',
          [projectId, generation, table.name, position, table.dataset, table.table, JSON.stringify(columns), built.rows, JSON.stringify(fileList)],
        );
        await tx.query('UPDATE workspace_extracts SET percent = $3 WHERE project_id = $1 AND generation = $2', [projectId, generation, Math.min(99, percent)]);
      });
      report(table.name);
      await this.#d.afterTable?.(table.name);
    }
  }

  /** A checkpointed table is reused on resume only if its files are all there at their recorded size. */
  async #intact(files: readonly { path: string; bytes: number }[]): Promise<boolean> {
    // A table kept by the engine is built again (its build replaces it in place).
    for (const f of files) if (f.path.startsWith(ENGINE_PATH_PREFIX) || (await this.#d.store.size(f.path)) !== f.bytes) return false;
    return true;
  }

  async #withSourceKeys<T>(datasets: readonly string[], acc: Map<string, Uint8Array>, fn: (keys: ReadonlyMap<string, Uint8Array>) => Promise<T>): Promise<T> {
    const [first, ...rest] = datasets;
    if (first === undefined) return fn(acc);
    return this.#d.datasets.withKey(first, (k) => this.#withSourceKeys(rest, new Map([...acc, [first, k]]), fn));
  }

  async #commit(projectId: string, generation: number): Promise<ExtractManifest> {
    const superseded: number[] = [];
    const manifest = await this.#d.audit.transaction({ actor: ACTOR, action: 'workspace.extract.commit', target: `project:${projectId}`, details: { generation } }, async (tx: AuditedTx) => {
      const old = await tx.query<{ generation: number }>("UPDATE workspace_extracts SET state = 'destroyed' WHERE project_id = $1 AND state = 'ready' RETURNING generation", [projectId]);
      superseded.push(...old.map((o) => Number(o.generation)));
      const [r] = await tx.query<ExtractRow>("UPDATE workspace_extracts SET state = 'ready', percent = 100, completed_at = now() WHERE project_id = $1 AND generation = $2 AND state = 'building' RETURNING *", [projectId, generation]);
      if (r === undefined) throw new AppError('conflict', `extract generation ${generation} of project ${projectId} is no longer building`);
      const m = await this.#manifest(tx, r);
      const details: Record<string, JsonValue> = {
        superseded, rows: m.tables.reduce((a, t) => a + t.rows, 0),
        files: m.tables.flatMap((t) => t.files.map((f) => ({ path: f.path, sha256: f.sha256 }))),
      };
      tx.addDetails(details);
      return m;
    });
    const remove = async (): Promise<void> => {
      for (const g of superseded) await this.#d.store.removePrefix(generationPrefix(projectId, g));
    };
    const retain = this.#d.retainSupersededMs ?? DEFAULT_RETAIN_SUPERSEDED_MS;
    if (retain <= 0 || superseded.length === 0) await remove();
    else {
      // the commit's audit event names the superseded generations; their files go after the grace period
      setTimeout(() => {
        remove().catch((e: unknown) => this.#d.onError?.(projectId, e));
      }, retain).unref();
    }
    this.#d.onProgress?.({ projectId, generation, tablesDone: manifest.tables.length, tablesTotal: manifest.tables.length, percent: 100 });
    return manifest;
  }

  async #fail(row: ExtractRow, e: unknown): Promise<void> {
    const generation = Number(row.generation);
    const error = safeMessage(e);
    await this.#d.audit.record({ actor: ACTOR, action: 'workspace.extract.fail', target: `project:${row.project_id}`, outcome: 'failure', details: { generation, error, code: isAppError(e) ? e.code : 'internal' } });
    await this.#d.audit.transaction({ actor: ACTOR, action: 'workspace.extract.abandon', target: `project:${row.project_id}`, details: { generation } }, async (tx) => {
      await tx.query("UPDATE workspace_extracts SET state = 'failed', error = $3, completed_at = now() WHERE project_id = $1 AND generation = $2 AND state = 'building'", [row.project_id, generation, error]);
    });
    await this.#d.store.removePrefix(generationPrefix(row.project_id, generation)).catch(() => undefined);
  }
}

/** The files of a table within the plan's years (files of other years are not read at all). */
function sourceFiles(table: Pick<PlanTable, 'dataset' | 'table' | 'years'>, all: readonly VersionFile[], version: number | undefined): SourceFiles {
  const mine = all.filter((f) => f.table === table.table);
  if (mine.length === 0) {
    throw new AppError('conflict', `the dataset version of ${table.dataset} has no file of table ${table.table}`, { hint: 'ingest a delivery that includes it, or amend the permit' });
  }
  const y = table.years;
  const kept = y.kind === 'none' ? mine : mine.filter((f) => f.year >= y.from && f.year <= y.to);
  const first = mine[0] as VersionFile;
  return { dataset: table.dataset, table: table.table, ...(version === undefined ? {} : { version }), files: kept.map((f) => f.path), ...(kept.length === 0 ? { schemaFile: first.path } : {}) };
}
