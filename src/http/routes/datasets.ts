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
import type { KeyService } from '../../keys/index.ts';
import { authenticate, mountRoutes, openApiOf, param, roles, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

export interface OperatorDeps {
  readonly catalog: Pick<CatalogService, 'listDatasets'>;
  readonly ingest: Pick<IngestService, 'versions' | 'version' | 'quarantine'>;
  readonly keys: Pick<KeyService, 'listKeys'>;
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
  return [
    {
      method: 'GET', path: '/datasets', permission: OPERATOR, summary: 'Datasets with their version count and latest ingested version',
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
      method: 'GET', path: '/datasets/:dataset/versions', permission: OPERATOR, summary: 'Ingested versions of a dataset, newest first (rows per table and year, quarantined rows)',
      handler: async (c) => c.json({ versions: (await d.ingest.versions(param(c, 'dataset'))).map(summary) }),
    },
    {
      method: 'GET', path: '/datasets/:dataset/versions/:version', permission: OPERATOR, summary: 'One version with its manifest (files, hashes, Merkle root)',
      handler: async (c) => {
        const v = await d.ingest.version(param(c, 'dataset'), versionParam(c));
        return c.json({ ...summary(v), manifest: v.manifest });
      },
    },
    {
      method: 'GET', path: '/datasets/:dataset/versions/:version/quarantine', permission: OPERATOR, summary: 'Quarantine report of the delivery behind a version: complete counts per rule, file, table and column; one page of entries (?offset, ?limit ≤ 10000, ?table, ?column, ?rule; values reduced to their shape)',
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
      method: 'GET', path: '/keys', permission: OPERATOR, summary: 'Data keys: ids, scope, purpose, state and wrapping master key id (never key material)',
      handler: async (c) => {
        const keys = await d.keys.listKeys();
        return c.json({ keys: keys.map((k) => ({ id: k.id, scope: k.scope, scopeId: k.scopeId, purpose: k.purpose, state: k.state, masterKeyId: k.masterKeyId, createdAt: k.createdAt })) });
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
