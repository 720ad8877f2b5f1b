/**
 * Operator read routes (mounted under /api/v1/operator): datasets with their ingested
 * versions, and data keys (ids and states only: no key material ever leaves the key service).
 * Every route declares the operator permission (src/http/auth.ts).
 */
import { Hono, type Context } from 'hono';
import type { CatalogService } from '../../catalog/index.ts';
import type { DatasetVersion } from '../../datasets/index.ts';
import type { IngestService } from '../../ingest/index.ts';
import { AppError } from '../../errors.ts';
import { actorOf } from '../../identity/index.ts';
import type { KeyService } from '../../keys/index.ts';
import type { MigrationService } from '../../migrate/index.ts';
import { MAX_ENGINE_PAGE, type EngineChoice, type EngineCleanups } from '../../workspace/index.ts';
import { listOf, ref } from '../api-schemas.ts';
import { authenticate, jsonBody, mountRoutes, openApiOf, param, principal, roles, wholeNumber, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

export interface OperatorDeps {
  readonly catalog: Pick<CatalogService, 'listDatasets'>;
  readonly ingest: Pick<IngestService, 'versions' | 'version' | 'quarantine'>;
  readonly keys: Pick<KeyService, 'listKeys' | 'rotateMaster'>;
  /** Absent where the process serves no migration (the CLI's services); the routes then say so. */
  readonly migration?: Pick<MigrationService, 'list' | 'status' | 'run'> | undefined;
  /** The engine each project is on (absent where the process does not run workspaces; the routes then say so). */
  readonly engineChoice?: Pick<EngineChoice, 'get' | 'set' | 'list'> | undefined;
  /** What closed projects still owe the engines (absent where the process does not run workspaces). */
  readonly engineCleanups?: Pick<EngineCleanups, 'list' | 'retry'> | undefined;
}

/** A version without its manifest's file list (the version route gives it whole). */
function summary(v: DatasetVersion) {
  return {
    dataset: v.dataset, version: v.version, deliveryId: v.deliveryId, storeId: v.storeId, merkleRoot: v.merkleRoot,
    files: v.files, bytes: v.bytes, rowsAccepted: v.rowsAccepted, rowsQuarantined: v.rowsQuarantined, createdAt: v.createdAt,
    rows: v.manifest.rows,
  };
}

function versionParam(c: Context<AuthEnv>): number | undefined {
  const s = param(c, 'version');
  return /^\d{1,9}$/.test(s) ? Number(s) : undefined;
}

const OPERATOR = roles('operator');

export function operatorRouteSpecs(d: OperatorDeps): RouteSpec[] {
  let rotations: Promise<void> = Promise.resolve();
  const migration = (): Pick<MigrationService, 'list' | 'status' | 'run'> => {
    if (d.migration === undefined) throw new AppError('unavailable', 'this server runs no migrations', { hint: 'use enclave migrate on the server' });
    return d.migration;
  };
  const engines = (): Pick<EngineChoice, 'get' | 'set' | 'list'> => {
    if (d.engineChoice === undefined) throw new AppError('unavailable', 'this server runs no workspaces', { hint: 'use enclave projects engine on the server' });
    return d.engineChoice;
  };
  const cleanups = (): Pick<EngineCleanups, 'list' | 'retry'> => {
    if (d.engineCleanups === undefined) throw new AppError('unavailable', 'this server runs no workspaces', { hint: 'ask the server that runs the workspaces' });
    return d.engineCleanups;
  };
  return [
    {
      method: 'GET', path: '/projects/engines', response: ref('ProjectEnginesPage'), permission: OPERATOR,
      summary: `Every project's engine state in one answer, by project id, a page at a time (?limit=1..${String(MAX_ENGINE_PAGE)}, default 100; ?offset), with the total: the engine it is on, the engine serving it now, whether it is moving, and why its last move failed (lastFailure)`,
      query: [
        { name: 'limit', description: `projects per page (default 100, at most ${String(MAX_ENGINE_PAGE)})`, schema: { type: 'integer', minimum: 1, maximum: MAX_ENGINE_PAGE } },
        { name: 'offset', description: 'projects to skip', schema: { type: 'integer', minimum: 0 } },
      ],
      handler: async (c) => {
        const whole = (name: string, fallback: number): number => {
          const q = c.req.query(name);
          return q === undefined || q === '' ? fallback : wholeNumber(q, name);
        };
        const limit = whole('limit', 100);
        const offset = whole('offset', 0);
        const r = await engines().list(principal(c), { limit, offset });
        c.header('Cache-Control', 'no-store');
        return c.json({ total: r.total, offset, limit, projects: r.projects });
      },
    },
    {
      method: 'GET', path: '/engine-cleanups', response: listOf('cleanups', 'EngineCleanup'), permission: OPERATOR,
      summary: 'Drops closed projects still owe an engine that keeps copies (Trino: the project\'s schema and catalog), left owed because the engine was unreachable at the closure; retried at start and every minute, each attempt audited (trino.cleanup). ?all=true lists the paid ones too',
      handler: async (c) => c.json({ cleanups: await cleanups().list({ all: c.req.query('all') === 'true' }) }),
    },
    {
      method: 'POST', path: '/engine-cleanups/retry', response: ref('EngineCleanupPass'), permission: OPERATOR,
      summary: 'Try every owed drop now (each attempt audited trino.cleanup, success or failure); answers what was paid and what is still owed',
      handler: async (c) => c.json(await cleanups().retry('operator')),
    },
    {
      method: 'GET', path: '/projects/:projectId/engine', response: ref('ProjectEngine'), permission: OPERATOR,
      summary: 'The engine a project is on (DuckDB or Trino; its own choice or the deployment\'s default), the engine its workspace opens on now, and the engines this deployment runs',
      handler: async (c) => c.json(await engines().get(principal(c), param(c, 'projectId'))),
    },
    {
      method: 'PUT', path: '/projects/:projectId/engine', body: ref('ProjectEngineRequest'), response: ref('ProjectEngineChange'), status: 202, alsoStatus: [200], permission: OPERATOR,
      summary: 'Put a project on an engine: {"engine": "duckdb" | "trino"} (audited as project.engine.change). 202: its extract is rebuilt on that engine in the background, members keep working on the old one until it is ready, then the old copy is dropped (project.engine.rebuilt); a failed rebuild puts the project back (project.engine.revert). 200: nothing had to move. 409 for an engine this deployment does not run, or a project whose workspace has ended',
      handler: async (c) => {
        const r = await engines().set(principal(c), param(c, 'projectId'), await jsonBody(c), c.get('requestId'));
        return c.json(r, r.accepted ? 202 : 200);
      },
    },
    {
      method: 'GET', path: '/datasets', response: listOf('datasets', 'OperatorDataset'), permission: OPERATOR, summary: 'Datasets with their version count and latest ingested version',
      handler: async (c) => {
        const datasets = await d.catalog.listDatasets();
        const out = await Promise.all(datasets.map(async (ds) => {
          const versions = await d.ingest.versions(ds.name);
          const latest = versions[0];
          return { name: ds.name, title: ds.title, tableCount: ds.tableCount, versionCount: versions.length, latest: latest === undefined ? null : summary(latest) };
        }));
        return c.json({ datasets: out });
      },
    },
    {
      method: 'GET', path: '/datasets/:dataset/versions', response: listOf('versions', 'VersionSummary'), permission: OPERATOR, summary: 'Ingested versions of a dataset, newest first (rows per table and year, quarantined rows)',
      handler: async (c) => c.json({ versions: (await d.ingest.versions(param(c, 'dataset'))).map(summary) }),
    },
    {
      method: 'GET', path: '/datasets/:dataset/versions/:version', response: ref('VersionDetail'), permission: OPERATOR, summary: 'One version with its manifest (files, hashes, Merkle root)',
      handler: async (c) => {
        const v = await d.ingest.version(param(c, 'dataset'), versionParam(c));
        return c.json({ ...summary(v), manifest: v.manifest });
      },
    },
    {
      method: 'GET', path: '/datasets/:dataset/versions/:version/quarantine', response: ref('QuarantineReportPage'), permission: OPERATOR, summary: 'Quarantine report of the delivery behind a version: complete counts per rule, file, table and column; one page of entries (?offset, ?limit ≤ 10000, ?table, ?column, ?rule; values reduced to their shape)',
      handler: async (c) => {
        const v = versionParam(c);
        if (v === undefined) throw new AppError('invalid', 'version must be a whole number', { hint: 'e.g. /datasets/snds/versions/1/quarantine' });
        // Paged: the complete report can hold millions of entries.
        const num = (name: string): number | undefined => {
          const q = c.req.query(name);
          if (q === undefined) return undefined;
          if (!/^\d{1,9}$/.test(q)) throw new AppError('invalid', `${name} must be a whole number`, { hint: `e.g. ?${name}=100` });
          return Number(q);
        };
        const text = (name: string): Record<string, string> => {
          const q = c.req.query(name);
          return q === undefined ? {} : { [name]: q };
        };
        const offset = num('offset');
        const limit = num('limit');
        return c.json(await d.ingest.quarantine(param(c, 'dataset'), v, { ...(offset === undefined ? {} : { offset }), ...(limit === undefined ? {} : { limit }), ...text('table'), ...text('column'), ...text('rule') }));
      },
    },
    {
      method: 'GET', path: '/keys', response: listOf('keys', 'DataKey'), permission: OPERATOR, summary: 'Data keys: ids, scope, purpose, state and wrapping master key id (never key material)',
      handler: async (c) => {
        const keys = await d.keys.listKeys();
        return c.json({ keys: keys.map((k) => ({ id: k.id, scope: k.scope, scopeId: k.scopeId, purpose: k.purpose, state: k.state, masterKeyId: k.masterKeyId, createdAt: k.createdAt })) });
      },
    },
    {
      method: 'POST', path: '/keys/rotate-master', response: ref('MasterKeyRotation'), permission: OPERATOR,
      summary: 'Rotate the master key: a new one re-wraps every data key in one audited transaction (keys.rotate_master); the old key leaves the keyring, so earlier keyring backups no longer open the data keys: back up the new keyring at once',
      handler: async (c) => {
        // One rotation at a time in this process: two would each drop the other's new key.
        const run = rotations.then(() => d.keys.rotateMaster(actorOf(principal(c)), c.get('requestId')));
        rotations = run.then(() => undefined, () => undefined);
        const r = await run;
        return c.json({ oldId: r.oldId, newId: r.newId, rewrapped: r.rewrapped, backupNeeded: true });
      },
    },
    {
      method: 'GET', path: '/migrations', response: listOf('migrations', 'MigrationStatus'), permission: OPERATOR, summary: 'Migration plans, newest first, each with its journal counts, whether a run is under way and its live progress',
      handler: async (c) => c.json({ migrations: await migration().list() }),
    },
    {
      method: 'GET', path: '/migrations/:planId', response: ref('MigrationStatus'), permission: OPERATOR, summary: 'Where one migration stands: files and bytes copied (live, to the byte, while this server runs it), failures, verification',
      handler: async (c) => {
        c.header('Cache-Control', 'no-store');
        return c.json(await migration().status(param(c, 'planId')));
      },
    },
    {
      method: 'POST', path: '/migrations/:planId/run', response: ref('MigrationStatus'), status: 202, permission: OPERATOR,
      summary: 'Start (or resume) copying the files of a plan on this server: {"maxBytesPerSecond"?}. Answers 202 once the run holds the plan; follow it with GET /migrations/:planId (audited as migrate.run.start and migrate.run)',
      handler: async (c) => {
        const body = await jsonBody(c);
        const limit = body['maxBytesPerSecond'];
        if (limit !== undefined && limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1024)) {
          throw new AppError('invalid', 'maxBytesPerSecond must be a whole number of bytes per second, at least 1024', { hint: 'e.g. {"maxBytesPerSecond": 200000000} for 200 MB/s; leave it out for no limit', details: { field: 'maxBytesPerSecond' } });
        }
        const planId = param(c, 'planId');
        await migration().status(planId); // 404 for an unknown plan
        let started: () => void = () => undefined;
        const holding = new Promise<void>((resolve) => { started = resolve; });
        const run = migration().run(planId, { actor: actorOf(principal(c)), ...(typeof limit === 'number' ? { maxBytesPerSecond: limit } : {}), onProgress: () => started() });
        // The run goes on after the answer; its end, success or failure, is in the audit log.
        run.catch(() => undefined);
        await Promise.race([holding, run]);
        return c.json(await migration().status(planId), 202);
      },
    },
  ];
}

/**
 * @example
 *   { prefix: 'operator', app: operatorRoutes({ catalog, ingest, keys }, auth) }
 */
export function operatorRoutes(d: OperatorDeps, auth: AuthDeps): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(auth));
  mountRoutes(app, operatorRouteSpecs(d), auth);
  // mounted as a plain sub-app: the outer app's env need not know AuthEnv
  return new Hono().route('/', app);
}

export function operatorOpenApiPaths(d: OperatorDeps): Record<string, unknown> {
  return openApiOf('operator', operatorRouteSpecs(d), 'operator');
}
