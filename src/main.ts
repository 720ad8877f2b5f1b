/**
 * The composition root: the only module that reads `process.env` and picks concrete classes
 * (PGlite or PostgreSQL, DuckDB, the local store, the file keyring). Everything else receives
 * its dependencies.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { AuditLog, startCheckpointSchedule, type Actor } from './audit/index.ts';
import { acquireDataDirLock, type DataDirLock, type LockRole } from './datadir/index.ts';
import { CatalogService } from './catalog/index.ts';
import { catalogOpenApiPaths, catalogRoutes } from './http/routes/catalog.ts';
import { governanceOpenApiPaths, governanceRoutes } from './http/routes/governance.ts';
import { authRoutes, identityOpenApiPaths, identityRoutes } from './http/routes/identity.ts';
import { operatorOpenApiPaths, operatorRoutes } from './http/routes/datasets.ts';
import { authDepsFrom } from './http/auth.ts';
import { GovernanceService } from './governance/index.ts';
import { createEmbeddedIdp, EMBEDDED_ISSUER_ID, IDP_MOUNT, IdentityService, loadOrCreateIdpSecrets, OidcRelyingParty, seedDemoPeople, type EmbeddedIdpSecrets, type SeededDemoPerson } from './identity/index.ts';
import { auditOpenApiPaths, auditRoutes } from './http/routes/audit.ts';
import { ingestCommand } from './cli/commands/ingest.ts';
import { synthCommand } from './cli/commands/synth.ts';
import { localCommandHandler } from './cli/local-server.ts';
import { runCli } from './cli/program.ts';
import type { CliServices } from './cli/services.ts';
import { loadConfig, quickStartEnv, type Config } from './config.ts';
import { DatasetLocations, DatasetVersions } from './datasets/index.ts';
import { migrate, type Db } from './db/index.ts';
import { openPglite } from './db/pglite.ts';
import { openPostgres } from './db/postgres.ts';
import type { Engine } from './engine/index.ts';
import { openDuckDb } from './engine/duckdb.ts';
import { openDuckDbSandbox } from './engine/duckdb-sandbox/sandbox.ts';
import { openTrinoWorkspaceEngine, projectCatalog } from './engine/trino/engine.ts';
import { datasetCatalog, openTrinoDatasetCopy } from './engine/trino/dataset-copy.ts';
import { openTrinoExtractBuilder, trinoExtractBuilderPort } from './engine/trino/extract.ts';
import { openCatalogKeeper, type CatalogKeeper, type CatalogRecreation } from './engine/trino/catalog-keeper.ts';
import type { TrinoS3Store } from './engine/trino/catalogs.ts';
import { AppError } from './errors.ts';
import { createHttpApp } from './http/app.ts';
import { LOCAL_SOCKET_FILE, listenLocalSocket } from './http/local-socket.ts';
import { staticPortal } from './http/static.ts';
import { IngestService, ingestCatalogFrom } from './ingest/index.ts';
import { KeyService, loadAuditSigningKey } from './keys/index.ts';
import { openPartitionPipes, writeEncryptedParquet } from './parquet-crypto/index.ts';
import { MigrationService } from './migrate/index.ts';
import { SmtpMailer } from './mail/index.ts';
import { StoreRegistry } from './store/index.ts';
import { LocalStore } from './store/local.ts';
import { S3Store } from './store/s3.ts';
import { workspaceOpenApiPaths, workspaceRoutes } from './http/routes/workspace.ts';
import { CLEANUP_RETRY_MS, ENGINE_NAMES, EngineChoice, EngineCleanups, ProjectEngines, WorkspaceService, type CleanupPass } from './workspace/index.ts';
import { routingExtractBuilder, routingWorkspaceEngine, type ExtractBuilder } from './engine/index.ts';
import { startPgwire } from './pgwire/index.ts';
// --- project extract (issue 12 item 1): adapters of today's ingest/migrate/governance to its ports
import { activePermit } from './governance/repository.ts';
import { openDuckDbExtractBuilder } from './engine/duckdb-extract/builder.ts';
import { ExtractService, type DatasetVersions as ExtractDatasetVersions, type ExtractCatalog, type ExtractKeys, type PermitsInForce } from './workspace/extract/index.ts';
import type { DatasetLocator } from './datasets/index.ts';
// --- end project extract imports
// --- airlock (issue 13)
import { AirlockService, type AirlockGovernance } from './airlock/index.ts';
import { airlockOpenApiPaths, airlockRoutes } from './http/routes/airlock.ts';
import { findProject } from './governance/repository.ts';
import { loadReleaseSigningKey } from './keys/index.ts';
import type { Queryable } from './db/index.ts';
// --- end airlock imports

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface Platform extends CliServices {
  readonly db: Db;
  readonly engine: Engine;
  readonly store: LocalStore;
  /** Dataset versions, read through the one resolver of where each dataset lives. */
  readonly datasets: DatasetVersions;
  readonly keyringCreated: boolean;
  readonly identity: IdentityService;
  readonly governance: GovernanceService;
  /** Projects' workspaces: queries in sandboxed engine processes (docs/workspace.md). */
  readonly workspace: WorkspaceService;
  /** Project extracts, built when a permit comes into force or is amended (src/workspace/extract). */
  readonly extracts: ExtractService;
  /** The engine each project is on, and moving it (src/workspace/engine-choice.ts). */
  readonly engineChoice: EngineChoice;
  /** What closed projects still owe the engines that keep copies (Trino), retried until paid (src/workspace/engine-cleanup.ts). */
  readonly engineCleanups: EngineCleanups;
  /** The airlock: release requests, checkers' reviews, signed releases (docs/airlock.md). */
  readonly airlock: AirlockService;
  /** The embedded OpenID provider's client and keys; undefined when an external issuer is configured. */
  readonly idpSecrets: EmbeddedIdpSecrets | undefined;
  /** E-mail of notifications; undefined unless ENCLAVE_SMTP_URL is set. */
  readonly mailer: SmtpMailer | undefined;
  /** This process's exclusive hold on the data directory (src/datadir/lock.ts), released by close(). */
  readonly lock: DataDirLock;
  /** Runs `fn` first when the platform closes (listeners started on it). */
  atClose(fn: () => Promise<void>): void;
}

/** How the process that opens the platform names itself in the data directory's lock. */
export interface PlatformOpening {
  readonly role?: LockRole;
  /** e.g. `enclave keys rotate-master`; default this process's command line. */
  readonly command?: string;
}

/**
 * Opens every service on the configured infrastructure, migrating the metadata database. The
 * data directory is locked first, before anything in it is opened: a second process (a CLI
 * command beside the server) gets `DataDirInUse` naming the holder.
 */
export async function createPlatform(config: Config, actor: Actor = localOperator(), opening: PlatformOpening = {}): Promise<Platform> {
  const lock = acquireDataDirLock(config.dataDir, { role: opening.role ?? 'cli', command: opening.command ?? commandLine() });
  let db: Db;
  try {
    db = config.databaseUrl === undefined ? await openPglite(config.pgliteDir) : openPostgres(config.databaseUrl);
  } catch (e) {
    lock.release();
    throw e;
  }
  const closers: Array<() => Promise<void>> = [];
  try {
    await migrate(db);
    // Refuses a keyring that cannot open this database's data keys, before creating anything
    // (the audit signing key file included).
    const where = config.databaseUrl === undefined ? `the data directory ${config.pgliteDir}` : 'the PostgreSQL metadata database (DATABASE_URL)';
    let loaded = await KeyService.loadKeyring(config.keyringPath, db, where);
    // The audit signing key has its own file: a keyring from before the split hands its copy over
    // here, and is read again without it.
    const signingKey = await loadAuditSigningKey(config.audit.signingKeyPath, config.keyringPath);
    if (signingKey.created === 'moved') loaded = await KeyService.loadKeyring(config.keyringPath, db, where);
    const auditSigner = { name: config.audit.logName, privateKey: signingKey.key };
    const audit = new AuditLog(db, auditSigner, { retentionMs: config.audit.retentionDays * 24 * 3600 * 1000, witnesses: config.audit.witnesses });
    const keys = await KeyService.open(config.keyringPath, db, audit, loaded);
    const catalog = new CatalogService({ db, audit });
    const engine = await openDuckDb({ threads: config.engine.threads, memoryLimit: config.engine.memoryLimit });
    const store = new LocalStore(config.storeDir);
    const stores = new StoreRegistry().add('local', store);
    if (config.s3 !== undefined) stores.add('s3', new S3Store(config.s3));
    const locations = new DatasetLocations({ db, stores, cacheDir: config.storeCacheDir, cacheMaxBytes: config.storeCacheMaxBytes });
    // Ingestion has its own DuckDB instance: the raw identifiers it handles (pseudonym lookups,
    // rejected rows) never share an engine with researchers' sessions, and the engine-wide settings
    // it changes for a run touch no one else. It never spills to disk (an in-memory DuckDB would
    // otherwise write plain temporary files under ./.tmp): a run that needs more memory than
    // ENCLAVE_ENGINE_MEMORY fails, and publishes nothing.
    const ingestEngine = await openDuckDb({ threads: config.engine.threads, memoryLimit: config.engine.memoryLimit, tempDirectory: '' });
    // Trino configured (the default or a second engine): versions are copied for Trino
    // (dataset-copy.ts) to the SSE-C object store (ENCLAVE_TRINO_S3_ENDPOINT), or to a development
    // warehouse in clear, when a Trino project's extract first reads them.
    const tw = config.trino;
    // With the SSE-C store, the catalogs Enclave creates at run time come back after a coordinator restart (catalog-keeper.ts).
    let keeper: CatalogKeeper | undefined;
    const onCatalogNotFound = (c: string): Promise<boolean> => keeper?.restore(c) ?? Promise.resolve(false);
    const engineCopy = tw === undefined ? undefined
      : tw.s3 !== undefined ? openTrinoDatasetCopy({ url: tw.url, catalog: tw.catalog, engine, s3: { store: { ...tw.s3, ...(tw.s3.caFile === undefined ? {} : { ca: await readCaFile(tw.s3.caFile) }) }, prefix: tw.s3.prefix }, onCatalogNotFound })
        : tw.warehouse === undefined ? undefined : openTrinoDatasetCopy({ url: tw.url, catalog: tw.catalog, warehouse: tw.warehouse, engine });
    const datasets = new DatasetVersions({ db, audit, keys, store, locations, ...(engineCopy === undefined ? {} : { engineCopy }) });
    if (tw?.s3 !== undefined) {
      keeper = trinoCatalogKeeperFrom(db, audit, keys, datasets, { url: tw.url, store: tw.s3, projectPrefix: `${tw.s3.prefix}/projects`, defaultEngine: config.workspaceEngine.kind });
      const restored = keeper.restoreAll().then(reportRestoredCatalogs, (e: unknown) => reportRestoredCatalogs({ recreated: [], failed: [{ catalog: '(all)', error: e instanceof Error ? e.message : String(e) }] }));
      closers.push(() => restored);
    }
    const ingest = new IngestService({ db, audit, keys, catalog: ingestCatalogFrom(catalog), engine: ingestEngine, store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets });
    const migration = new MigrationService({ db, audit, keys, datasets, engine, stores, locations, signer: auditSigner });
    const identity = new IdentityService({ db, audit, sessions: config.sessions });
    const idpSecrets = config.oidc.issuer === undefined ? (await loadOrCreateIdpSecrets(config.oidc.embeddedIdpSecretsPath)).secrets : undefined;
    // E-mail only when configured; the link in each message points at the public URL.
    const mailer = config.smtp === undefined ? undefined : new SmtpMailer({
      url: config.smtp.url, from: config.smtp.from, portalUrl: baseUrlOf(config), audit,
      // a person who turned e-mail off in their profile has no address as far as the mailer knows
      directory: { emailOf: async (id): Promise<string | null> => ((await governance.wantsEmail(id)) ? ((await identity.getPerson(id))?.email ?? null) : null) },
    });
    const governance = new GovernanceService({
      db, audit, keys, catalog: (d, t) => catalog.getTable(d, t),
      people: identity.peopleDirectory(),
      ...(mailer === undefined ? {} : { mailer }),
    });
    // --- project extract: its own DuckDB (no spilling), built on governance's project changes
    // Each project is on one engine (its choice, else ENCLAVE_ENGINE; src/workspace/engine-choice.ts):
    // the routing builder and workspace engine hand each project to its engine.
    const projectEngines = new ProjectEngines(db, { defaultEngine: config.workspaceEngine.kind, available: config.engines });
    const ce = config.trino;
    // On Trino the extract is built into the project's workspace schema (with the SSE-C store: in
    // the project's own catalog, keyed from the project's key).
    const builders: Record<string, ExtractBuilder> = {
      duckdb: await openDuckDbExtractBuilder({ threads: config.engine.threads, memoryLimit: config.engine.memoryLimit }),
      ...(ce === undefined ? {} : { trino: trinoExtractBuilderPort(openTrinoExtractBuilder({ url: ce.url, catalog: ce.catalog, ...(ce.s3 === undefined ? {} : { projectCatalogs: { store: ce.s3, prefix: `${ce.s3.prefix}/projects` }, onCatalogNotFound }) }), ce.catalog, ce.s3 === undefined ? undefined : datasetCatalog) }),
    };
    const extractBuilder = routingExtractBuilder({
      builders,
      engineOf: (id) => projectEngines.extractEngineOf(id),
      enginesOf: (id) => projectEngines.enginesUsed(id),
    });
    // At closure each engine that keeps a copy of its own (Trino) drops it; a drop it cannot do
    // then (unreachable) is recorded as owed and retried until paid (src/workspace/engine-cleanup.ts).
    const engineCleanups = new EngineCleanups({
      db, audit, engines: projectEngines,
      keeping: ENGINE_NAMES.filter((e) => builders[e]?.destroyProject !== undefined),
      drop: (id, e) => extractBuilder.destroyProjectOn(id, e),
      onError: logProjectFailure('drop owed to the engine (retried)'),
    });
    closers.push(async () => {
      await extracts.idle();
      await extractBuilder.close();
    });
    const extracts = new ExtractService({
      db, audit, store, builder: { ...extractBuilder, destroyProject: async (id: string) => void (await engineCleanups.destroyProject(id)) },
      permits: permitsInForceFrom(db), catalog: extractCatalogFrom(catalog), keys: extractKeysFrom(keys),
      datasets: datasetVersionsByEngine({ trino: datasetVersionsFrom(datasets, keys, store), duckdb: withoutPrepare(datasetVersionsFrom(datasets, keys, store, locations)) }, config.workspaceEngine.kind),
      engineOf: (id) => projectEngines.chosen(id),
      retainSupersededMs: config.workspace.statementTimeoutMs + 60_000,
      onError: logProjectFailure('extract'),
    });
    extracts.listen(governance);
    // --- end project extract
    // ── Workspace (issue 12): one sandboxed DuckDB process per open project workspace. ──
    const we = config.trino;
    // Trino's workspaces on a Trino cluster (docs/deploy/trino.md); a project opens on the engine of its ready extract.
    const workspaceEngine = routingWorkspaceEngine({
      engines: {
        duckdb: openDuckDbSandbox({ maxSessions: config.workspace.maxSessions }),
        ...(we === undefined ? {} : { trino: openTrinoWorkspaceEngine({ url: we.url, rulesFile: we.rulesFile, catalog: we.catalog, maxSessions: config.workspace.maxSessions, ...(we.s3 === undefined ? {} : { catalogOf: projectCatalog, onCatalogNotFound }) }) }),
      },
      engineOf: (id) => projectEngines.workspaceEngineOf(id),
    });
    const w = config.workspace;
    const workspace = new WorkspaceService({
      db, audit, governance, keys, engine: workspaceEngine, extracts, scratchRoot: w.scratchDir, quotaBytes: w.quotaBytes,
      limits: { memoryBytes: w.memoryBytes, threads: w.threads, tempDiskBytes: 0, statementTimeoutMs: w.statementTimeoutMs, rowCap: w.rowCap },
      catalogue: (d, t) => catalog.getTable(d, t),
      idleMs: w.idleMs,
      onError: (what, e) => process.stderr.write(`[${new Date().toISOString()}] workspace ${what} failed: ${e instanceof Error ? e.message : 'error'}\n`),
    });
    closers.push(async () => {
      await workspace.close();
      await workspaceEngine.close();
    });
    const engineChoice = new EngineChoice({
      db, audit, engines: projectEngines, extracts, dropExtract: (id, e) => extractBuilder.dropExtract(id, e),
      onError: logProjectFailure('engine move'),
    });
    closers.unshift(() => engineChoice.idle());
    // ── end of workspace wiring ──
    // ── Airlock (issue 13): released files go to the local store, signed with the release key. ──
    const releaseKey = await loadReleaseSigningKey(config.airlock.releaseSigningKeyPath);
    const airlock = new AirlockService({ db, audit, governance: airlockGovernanceFrom(identity.peopleDirectory(), db), workspace, keys, store, signer: releaseKey });
    // ── end of airlock wiring ──
    return {
      config, db, audit, keys, catalog, datasets, ingest, migration, engine, store, actor, keyringCreated: loaded.created, identity, governance, workspace, extracts, engineChoice, engineCleanups, idpSecrets, mailer, lock, airlock,
      atClose(fn) {
        closers.unshift(fn);
      },
      async close() {
        try {
          for (const fn of closers.splice(0)) await fn();
          await mailer?.close();
          await ingestEngine.close();
          await engine.close();
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    await db.close().catch(() => undefined);
    lock.release();
    throw e;
  }
}

// --- project extract adapters: today's ingest, migrate, keys and governance seen through the
// extract's ports.

/** The permit in force of a project, from governance's tables. */
export function permitsInForceFrom(db: Db): PermitsInForce {
  return {
    async active(projectId) {
      const p = await activePermit(db, projectId);
      return p === null ? null : { version: p.version, sha256: p.sha256, document: p.document };
    },
  };
}

/** The catalogue as the extract plan reads it. */
export function extractCatalogFrom(catalog: CatalogService): ExtractCatalog {
  return {
    getTable: (d, t) => catalog.getTable(d, t),
    listTables: (d) => catalog.getTables(d),
  };
}

/** Dataset versions, their files (local, through the read cache for a remote store) and keys. */
export function datasetVersionsFrom(versions: Pick<DatasetVersions, 'versions' | 'version'> & Partial<Pick<DatasetVersions, 'prepareForEngine'>>, keys: KeyService, store: Pick<LocalStore, 'localPath'>, locations?: DatasetLocator): ExtractDatasetVersions {
  return {
    // On Trino the version's own copy is made ready (and checked) before it is read; without
    // `locations` the files below are only named, not fetched (Trino reads its copy).
    ...(versions.prepareForEngine === undefined ? {} : { prepare: (d: string, v: number) => (versions.prepareForEngine as NonNullable<typeof versions.prepareForEngine>).call(versions, d, v) }),
    async current(dataset) {
      const [v] = await versions.versions(dataset);
      return v === undefined ? null : v.version;
    },
    async files(dataset, version) {
      const v = await versions.version(dataset, version);
      const located = locations === undefined ? undefined : await locations.localFiles(v);
      return v.manifest.files.map((f, i) => {
        const path = located?.paths[i] ?? store.localPath(`${v.prefix}/${f.path}`);
        return { table: f.table, year: f.year, path };
      });
    },
    async columns(dataset, version) {
      return (await versions.version(dataset, version)).manifest.columns;
    },
    withKey: (dataset, fn) => keys.withDataKey('dataset', dataset, 'encryption', fn),
  };
}

/**
 * The dataset versions of the extract on each engine: a build reads through the adapter of the
 * engine its generation is recorded on (`fallback`, the deployment's default, when none is).
 */
export function datasetVersionsByEngine(by: Readonly<Record<'duckdb' | 'trino', ExtractDatasetVersions>>, fallback: 'duckdb' | 'trino'): ExtractDatasetVersions {
  const of = (engine: string | null | undefined): ExtractDatasetVersions => (engine === 'trino' || engine === 'duckdb' ? by[engine] : by[fallback]);
  return {
    current: (d) => by.duckdb.current(d),
    files: (d, v, engine) => of(engine).files(d, v),
    columns: (d, v) => by.duckdb.columns?.(d, v) ?? Promise.resolve(undefined),
    withKey: (d, fn) => by.duckdb.withKey(d, fn),
    prepare: async (d, v, engine) => of(engine).prepare?.(d, v),
  };
}

/** The adapter without `prepare`: DuckDB reads the version's files themselves, no copy to make. */
function withoutPrepare(d: ExtractDatasetVersions): ExtractDatasetVersions {
  return { current: (x) => d.current(x), files: (x, v) => d.files(x, v), columns: (x, v) => d.columns?.(x, v) ?? Promise.resolve(undefined), withKey: (x, fn) => d.withKey(x, fn) };
}

/** The project keys of the key service (created by governance when the permit comes into force). */
export function extractKeysFrom(keys: KeyService): ExtractKeys {
  return {
    async keyId(projectId, purpose) {
      const k = (await keys.listKeys()).find((x) => x.scope === 'project' && x.scopeId === projectId && x.purpose === purpose && x.state === 'active');
      if (k === undefined) throw new AppError('not_found', `project ${projectId} has no active ${purpose} key`, { hint: 'project keys are created when the permit comes into force; a closed project\'s keys are destroyed' });
      return k.id;
    },
    withKey: (projectId, purpose, fn) => keys.withDataKey('project', projectId, purpose, fn),
  };
}
/**
 * The Trino catalog keeper over today's tables: active projects (governance), datasets with a
 * version and their re-check (datasets), project keys (keys); each re-creation audited.
 */
export function trinoCatalogKeeperFrom(db: Db, audit: AuditLog, keys: KeyService, datasets: Pick<DatasetVersions, 'prepareAgainForEngine'>, o: { readonly url: string; readonly store: TrinoS3Store; readonly projectPrefix: string; readonly defaultEngine?: 'duckdb' | 'trino' }): CatalogKeeper {
  const { defaultEngine = 'trino', ...keeper } = o;
  // only projects whose extract is (being) built on Trino have a catalog there (engine per project, src/workspace/engine-choice.ts)
  const onTrino = "EXISTS (SELECT 1 FROM workspace_extracts e WHERE e.project_id = p.id AND e.state IN ('ready', 'building') AND coalesce(e.engine, $1) = 'trino')";
  return openCatalogKeeper({
    ...keeper,
    activeProjects: async () => (await db.query<{ id: string }>(`SELECT p.id FROM governance_projects p WHERE p.status = 'active' AND EXISTS (SELECT 1 FROM workspace_extract_tables t WHERE t.project_id = p.id) AND ${onTrino} ORDER BY p.id`, [defaultEngine])).map((r) => r.id),
    withProjectKey: (projectId, fn) => keys.withDataKey('project', projectId, 'encryption', fn),
    datasets: async () => (await db.query<{ dataset: string }>('SELECT DISTINCT dataset FROM dataset_versions ORDER BY dataset')).map((r) => r.dataset),
    datasetsInUse: async () => (await db.query<{ dataset: string }>(`SELECT DISTINCT t.dataset FROM workspace_extract_tables t JOIN governance_projects p ON p.id = t.project_id WHERE p.status = 'active' AND ${onTrino} ORDER BY t.dataset`, [defaultEngine])).map((r) => r.dataset),
    restoreDataset: (dataset) => datasets.prepareAgainForEngine(dataset),
    audit: async (r: CatalogRecreation) => {
      await audit.record({
        actor: { kind: 'service', id: 'engine.trino' }, action: 'trino.catalog.recreate', target: r.kind === 'project' ? `project:${r.subject}` : `dataset:${r.subject}`, outcome: r.outcome,
        details: { catalog: r.catalog, kind: r.kind, reason: r.reason, ms: r.ms, ...(r.error === undefined ? {} : { error: r.error }) },
      });
    },
  });
}

/** ENCLAVE_TRINO_S3_CA_FILE's certificates (PEM). */
async function readCaFile(path: string): Promise<string> {
  const pem = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new AppError('invalid', `ENCLAVE_TRINO_S3_CA_FILE: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'give the PEM file of the CA that signed the object store\'s certificate', cause: e });
  });
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new AppError('invalid', `ENCLAVE_TRINO_S3_CA_FILE: ${path} holds no PEM certificate`, { hint: 'give the PEM file of the CA that signed the object store\'s certificate' });
  return pem;
}

/** A background job's failure for a project, one line on stderr (already audited by the job). */
function logProjectFailure(job: string): (projectId: string, e: unknown) => void {
  const line = (x: unknown): string => (x instanceof Error ? x.message.split('\n')[0] ?? '' : 'error');
  // an error said for the page keeps the lower one (e.g. the address Trino was not reached at) for this log
  return (id, e) => process.stderr.write(`[${new Date().toISOString()}] ${job} of project ${id} failed: ${line(e)}${e instanceof Error && e.cause instanceof Error ? ` (${line(e.cause)})` : ''}\n`);
}

function reportEngineCleanups(r: CleanupPass): void {
  const at = `[${new Date().toISOString()}] engine drops owed by closed projects:`;
  if (r.cleared.length > 0) process.stdout.write(`${at} ${r.cleared.length} paid (${r.cleared.map((c) => c.engine).join(', ')}; audited)\n`);
  if (r.failed.length > 0) process.stderr.write(`${at} ${r.failed.length} still owed (${r.failed[0]?.error ?? ''}); retried every ${CLEANUP_RETRY_MS / 1000} s, listed at GET /api/v1/operator/engine-cleanups\n`);
}

function reportRestoredCatalogs(r: { readonly recreated: readonly string[]; readonly failed: ReadonlyArray<{ readonly catalog: string; readonly error: string }> }): void {
  const at = `[${new Date().toISOString()}] trino:`;
  if (r.recreated.length > 0) process.stderr.write(`${at} re-created ${r.recreated.length} catalog(s) lost by a coordinator restart: ${r.recreated.join(', ')}\n`);
  for (const f of r.failed) process.stderr.write(`${at} could not re-create catalog ${f.catalog}: ${f.error} (it is tried again when next used)\n`);
}

/** The DuckDB extract builder, as main.ts opens it (tests and benchmarks outside src/engine take it from here). */
export { openDuckDbExtractBuilder };
// --- end project extract adapters

// --- airlock adapter: governance's projects and permits, and identity's role changes, as the airlock reads them.

/** The project facts the airlock needs (team, status, permit in force), read from governance's tables. */
export function airlockGovernanceFrom(people: Pick<AirlockGovernance, 'changedRolesSince' | 'changedRolesBetween'>, db?: Queryable): AirlockGovernance {
  return {
    async project(projectId, q) {
      const on = q ?? db;
      if (on === undefined) throw new AppError('internal', 'airlock governance adapter without a database');
      const project = await findProject(on, projectId);
      if (project === null) return null;
      const permit = await activePermit(on, projectId);
      return {
        id: project.id, title: project.title, status: project.status,
        members: [...new Set([project.createdBy, ...project.members.map((m) => m.personId)])],
        permit: permit === null ? null : { version: permit.version, disclosure: permit.document.disclosure, population: permit.document.population.description },
      };
    },
    changedRolesSince: (q, personId, roles, since) => people.changedRolesSince(q, personId, roles, since),
    changedRolesBetween: (q, personId, others, roles) => people.changedRolesBetween(q, personId, others, roles),
  };
}
// --- end airlock adapter

/**
 * Creates the demo people of the embedded provider that do not exist yet (embedded default only);
 * returns those created, with the secrets to print once.
 */
export async function ensureDemoPeople(p: Platform): Promise<SeededDemoPerson[]> {
  if (p.idpSecrets === undefined) return [];
  return seedDemoPeople(p.db, p.audit, p.identity, { kind: 'service', id: 'first-start' });
}

/** The URL browsers reach the server at. */
function baseUrlOf(config: Config, port: number = config.port): string {
  return config.publicUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
}

/** The HTTP app. `baseUrl`: where browsers reach it (default ENCLAVE_PUBLIC_URL, else host and port). */
export function createApp(p: Platform, o: { readonly baseUrl?: string } = {}) {
  const baseUrl = (o.baseUrl ?? baseUrlOf(p.config)).replace(/\/$/, '');
  const auth = authDepsFrom(p.identity, p.audit, p.config.publicUrl?.startsWith('https:') ?? false);
  const identityDeps = { identity: p.identity, auth, secureCookies: auth.cookieName.startsWith('__Host-'), demoMode: p.config.demoMode, assertCanIssueToken: (who: Parameters<GovernanceService['assertCanIssueToken']>[0], id: string, r: string) => p.governance.assertCanIssueToken(who, id, r) };
  const redirectUri = `${baseUrl}/api/v1/auth/callback`;
  const oidc = p.config.oidc;
  const idp = p.idpSecrets === undefined ? undefined : createEmbeddedIdp({
    issuer: `${baseUrl}${IDP_MOUNT}`, redirectUris: [redirectUri], secrets: p.idpSecrets, db: p.db, audit: p.audit,
    maxFailures: oidc.maxLoginFailures, demoMode: p.config.demoMode,
  });
  const flows = new OidcRelyingParty(p.db, idp === undefined
    ? { issuer: oidc.issuer ?? '', clientId: oidc.clientId ?? '', clientSecret: oidc.clientSecret ?? '', redirectUri, requiredAcr: oidc.requiredAcr, requiredAmr: oidc.requiredAmr, allowHttp: (oidc.issuer ?? '').startsWith('http:') }
    : { issuer: idp.issuer, clientId: p.idpSecrets?.clientId ?? '', clientSecret: p.idpSecrets?.clientSecret ?? '', redirectUri, requiredAcr: oidc.requiredAcr, requiredAmr: oidc.requiredAmr, allowHttp: baseUrl.startsWith('http:'), personIssuer: EMBEDDED_ISSUER_ID });
  return createHttpApp({
    version: VERSION,
    health: async () => {
      await p.db.query('SELECT 1');
      // a count only: this endpoint is public and names no project
      return { metadata: p.db.kind, engine: p.config.workspaceEngine.kind, engines: p.config.engines, engineCleanupsOwed: await p.engineCleanups.owedCount() };
    },
    routes: [
      { prefix: 'catalog', app: catalogRoutes(p.catalog) },
      { prefix: 'audit', app: auditRoutes(p.audit, auth) },
      { prefix: 'governance', app: governanceRoutes(p.governance, auth) },
      { prefix: 'identity', app: identityRoutes(identityDeps) },
      { prefix: 'auth', app: authRoutes({ ...identityDeps, flows }) },
      { prefix: 'operator', app: operatorRoutes(p, auth) },
      { prefix: 'projects', app: workspaceRoutes(p.workspace, auth) },
      { prefix: 'airlock', app: airlockRoutes(p.airlock, auth) },
    ],
    openApiPaths: [catalogOpenApiPaths, auditOpenApiPaths, governanceOpenApiPaths(p.governance), identityOpenApiPaths({ ...identityDeps, flows }), operatorOpenApiPaths(p), workspaceOpenApiPaths(p.workspace), airlockOpenApiPaths(p.airlock)],
    https: p.config.publicUrl?.startsWith('https:') ?? false,
    // The built web portal (npm run web:build), served under / with the default language.
    ...(idp === undefined ? {} : { nodeMounts: [{ prefix: IDP_MOUNT, handle: (req: IncomingMessage, res: ServerResponse) => idp.handle(req, res), summary: 'The embedded OpenID provider (endpoints in its discovery document, /idp/.well-known/openid-configuration)' }] }),
    portal: staticPortal({ dir: fileURLToPath(new URL('../web/dist', import.meta.url)), language: p.config.language }),
    logError: (id, e) => {
      process.stderr.write(`[${new Date().toISOString()}] request ${id} failed: ${e instanceof Error ? e.name : 'error'}\n`);
    },
  });
}

/**
 * Listens on the local operator socket in the data directory, so that `enclave` commands run
 * beside this server go through it (src/cli/local-server.ts) and records it in the lock. Returns
 * the socket's path, or null when the path is too long for a unix socket (commands then refuse).
 */
export async function startLocalSocket(p: Platform): Promise<string | null> {
  const services = { ...p, actor: localOperator() };
  const socket = await listenLocalSocket(join(p.config.dataDir, LOCAL_SOCKET_FILE), localCommandHandler({ version: VERSION, services }));
  if (socket === null) {
    process.stderr.write(`note: ${join(p.config.dataDir, LOCAL_SOCKET_FILE)} is too long for a unix socket: enclave commands beside this server will refuse to run (use ENCLAVE_URL, or a shorter ENCLAVE_DATA_DIR)\n`);
    p.lock.serving(null);
    return null;
  }
  p.atClose(() => socket.close());
  p.lock.serving(socket.path);
  return socket.path;
}

/** Starts the HTTP server and the local operator socket; resolves with the server and its URL once listening. */
export async function startServer(p: Platform): Promise<{ server: ServerType; url: string; demoPeopleCreated: SeededDemoPerson[] }> {
  const demoPeopleCreated = await ensureDemoPeople(p);
  await startLocalSocket(p);
  await p.extracts.resumeAll(); // project extract: builds a killed server left are resumed
  await p.engineChoice.resume(); // and moves between engines it left half-done
  // Drops closed projects still owe an engine (unreachable at their closure): tried now, in the
  // background (an unreachable engine must not hold the start), then every minute while owed.
  const paid = p.engineCleanups.retry('start').then(reportEngineCleanups, (e: unknown) => process.stderr.write(`[${new Date().toISOString()}] owed engine drops: the start pass failed: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : 'error'}\n`));
  const retrying = p.engineCleanups.startRetrying(CLEANUP_RETRY_MS, (e) => process.stderr.write(`[${new Date().toISOString()}] owed engine drops: a retry pass failed: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : 'error'}\n`));
  p.atClose(async () => {
    await retrying.stop();
    await paid;
  });
  await startPgwireEndpoint(p);
  // The app is made once the port is known (ENCLAVE_PORT=0): the embedded provider's issuer and
  // the redirect URI are URLs of this very server.
  let app: ReturnType<typeof createApp> | undefined;
  return new Promise((resolve) => {
    const server = serve({ fetch: (req, env: unknown) => (app === undefined ? new Response('starting', { status: 503 }) : app.fetch(req, env)), hostname: p.config.host, port: p.config.port }, (info) => {
      const url = baseUrlOf(p.config, info.port);
      app = createApp(p, { baseUrl: url });
      resolve({ server, url, demoPeopleCreated });
    });
  });
}

/** The one-time print of the demo people created at this start. */
export function demoPeopleBanner(created: readonly SeededDemoPerson[], url: string): string {
  if (created.length === 0) return '';
  const rows = created.map((d) => `    ${d.username.padEnd(11)} ${d.roles.join(',').padEnd(17)} password ${d.password}   TOTP secret ${d.totpSecret}`);
  return `\n  DEMO ONLY: demo people of the embedded identity provider (${url}/idp), shown this once.\n  Add each TOTP secret to an authenticator app; \`enclave demo people\` shows the secrets and current codes again.\n${rows.join('\n')}\n`;
}

/** How often the server marks permits past their end date expired (access already stops at the date itself). */
export const PERMIT_EXPIRY_INTERVAL_MS = 60_000;

export interface BackgroundJobs {
  stop(): Promise<void>;
}

/**
 * What a server runs beside its requests: the signed checkpoint every ENCLAVE_AUDIT_CHECKPOINT_SECONDS
 * (0: none), and the expiry of permits past their end date, once now (awaited: the register never
 * starts out showing an expired permit as active) and then every `expiryMs`. Each expiry is
 * audited by the governance service ('governance.project.expire', actor service:governance).
 */
export async function startBackgroundJobs(
  s: { readonly audit: Pick<AuditLog, 'checkpoint' | 'size'>; readonly governance: Pick<GovernanceService, 'expireDue'> },
  o: { readonly checkpointMs: number; readonly checkpointEvents?: number; readonly expiryMs?: number; readonly onError: (what: string, e: unknown) => void },
): Promise<BackgroundJobs> {
  const checkpoints = o.checkpointMs > 0 ? startCheckpointSchedule(s.audit, { intervalMs: o.checkpointMs, ...(o.checkpointEvents === undefined ? {} : { maxEvents: o.checkpointEvents }), onError: (e) => o.onError('audit checkpoint', e) }) : undefined;
  let running: Promise<unknown> = s.governance.expireDue().catch((e: unknown) => o.onError('permit expiry', e));
  await running;
  const timer = setInterval(() => {
    running = running.then(() => s.governance.expireDue()).catch((e: unknown) => o.onError('permit expiry', e));
  }, o.expiryMs ?? PERMIT_EXPIRY_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await checkpoints?.stop();
    },
  };
}

/** Background jobs of a server on the platform's configuration, failures reported on stderr (never with data). */
function serverJobs(p: Platform): Promise<BackgroundJobs> {
  return startBackgroundJobs(p, {
    checkpointMs: p.config.audit.checkpointSeconds * 1000,
    checkpointEvents: p.config.audit.checkpointEvents,
    onError: (what, e) => process.stderr.write(`[${new Date().toISOString()}] ${what} failed: ${e instanceof Error ? e.message : 'error'}\n`),
  });
}

/** Closes the platform (socket, lock included) on SIGINT or SIGTERM, then exits. */
function stopOnSignal(p: Platform, jobs: BackgroundJobs, server: ServerType): void {
  const stop = (): void => {
    server.close();
    void jobs.stop().then(() => p.close()).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** This process's command line as the lock shows it (at most 200 characters). */
function commandLine(): string {
  const args = process.argv.slice(2).join(' ');
  const c = `enclave${args === '' ? '' : ` ${args}`}`;
  return c.length > 200 ? `${c.slice(0, 199)}…` : c;
}

function localOperator(): Actor {
  let name = 'operator';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers): keep the generic name
  }
  return { kind: 'person', id: `local:${name}` };
}

/** Entry of the `enclave` command. */
export async function cliMain(argv: readonly string[]): Promise<number> {
  const config = (): Config => loadConfig(process.env);
  return runCli(argv, {
    version: VERSION,
    debug: process.env['ENCLAVE_LOG_LEVEL'] === 'debug',
    // ENCLAVE_URL and ENCLAVE_TOKEN: the remote mode (src/cli/remote.ts)
    env: process.env,
    open: async () => createPlatform(config()),
    serve: async () => {
      const p = await createPlatform(config(), localOperator(), { role: 'server', command: 'enclave serve' });
      const jobs = await serverJobs(p);
      const { server, url, demoPeopleCreated } = await startServer(p);
      stopOnSignal(p, jobs, server);
      process.stdout.write(`Enclave ${VERSION} listening on ${url}\n${demoPeopleBanner(demoPeopleCreated, url)}`);
      await new Promise(() => undefined);
    },
  });
}

/** Size of the sample the first start synthesises: small enough to be ready in seconds. */
export const SAMPLE_PEOPLE = 2_000;
export const SAMPLE_SEED = 2026;

/**
 * `npm start`: first start creates the keyring, imports the built-in SNDS catalogue,
 * synthesises and ingests a sample delivery; every start then serves and prints the URL.
 */
export async function upMain(): Promise<void> {
  const config = loadConfig(quickStartEnv(process.env));
  const out = (s: string): boolean => process.stdout.write(s);
  const p = await createPlatform(config, { kind: 'service', id: 'first-start' }, { role: 'server', command: 'npm start' });
  out(`Enclave ${VERSION}\n`);
  out(`  metadata database: ${p.db.kind === 'pglite' ? `embedded PGlite in ${config.pgliteDir}` : 'PostgreSQL (DATABASE_URL)'}\n`);
  out(`  keyring: ${config.keyringPath}${p.keyringCreated ? ' (created now, mode 0600: back it up, it holds the master key)' : ''}\n`);
  if (config.demoMode) out('  demo mode: on (the login page lists the demo people; password and TOTP code still required; ENCLAVE_DEMO_MODE=off hides them)\n');
  const datasets = await p.catalog.listDatasets();
  if (!datasets.some((d) => d.name === 'snds')) {
    const r = await p.catalog.importBuiltin(p.actor);
    out(`  catalogue: imported the built-in SNDS description (${r.tables} tables, ${r.columns} columns, ${r.nomenclatures} nomenclatures)\n`);
  }
  const versions = await p.ingest.versions('snds');
  if (versions.length === 0) {
    const dir = join(config.dataDir, 'samples', `snds-${SAMPLE_PEOPLE}-${SAMPLE_SEED}`);
    out(`  synthesising a sample SNDS of ${SAMPLE_PEOPLE} people into ${dir}\n`);
    await synthCommand({ people: SAMPLE_PEOPLE, years: '2019-2023', seed: SAMPLE_SEED, out: dir, parquet: false }, { write: out });
    await ingestCommand(p, 'snds', [join(dir, 'csv')], { write: out });
  }
  const jobs = await serverJobs(p);
  const { server, url, demoPeopleCreated } = await startServer(p);
  stopOnSignal(p, jobs, server);
  out(demoPeopleBanner(demoPeopleCreated, url));
  // A witness down or a log it does not vouch for must not keep the server from serving: say so.
  await p.audit.checkpoint().catch((e: unknown) => process.stderr.write(`audit checkpoint not signed: ${e instanceof Error ? e.message : 'error'}\n`));
  out(`\nEnclave is up: open ${url}\n  API: ${url}/api/v1/openapi.json   health: ${url}/healthz   public checkpoint: ${url}/api/v1/audit/checkpoint\n  CLI: npx enclave --help (beside this server, commands go through it)\n`);
}

/**
 * The PostgreSQL-protocol endpoint (docs/pgwire.md), when ENCLAVE_PGWIRE_PORT is set: closed
 * with the platform; its connections re-check their permit on governance's project changes and
 * every ENCLAVE_PGWIRE_RECHECK_SECONDS.
 */
export async function startPgwireEndpoint(p: Platform): Promise<{ readonly host: string; readonly port: number } | undefined> {
  const c = p.config.pgwire;
  if (c === undefined) return undefined;
  const tls = c.tls === undefined ? undefined : { cert: await readFile(c.tls.certPath), key: await readFile(c.tls.keyPath) };
  const pg = await startPgwire({
    host: c.host, port: c.port, workspace: p.workspace, identity: p.identity, audit: p.audit, recheckMs: c.recheckMs,
    onProjectChange: (listener) => p.governance.onProjectChange(listener), ...(tls === undefined ? {} : { tls }),
  });
  p.atClose(() => pg.close());
  process.stdout.write(`  PostgreSQL endpoint: ${pg.host}:${pg.port} (${tls === undefined ? 'plain TCP on loopback' : 'TLS'}; database = project id, password = a project API token)\n`);
  return { host: pg.host, port: pg.port };
}
