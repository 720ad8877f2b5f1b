/**
 * Operator read routes (mounted under /api/v1/operator): datasets with their ingested
 * versions, and data keys (ids and states only: no key material ever leaves the key service).
 * Every route sits behind the `guard` the composition root gives, the operator permission.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { CatalogService } from '../../catalog/index.ts';
import type { DatasetVersion, IngestService } from '../../ingest/index.ts';
import type { KeyService } from '../../keys/index.ts';

export interface OperatorDeps {
  readonly catalog: Pick<CatalogService, 'listDatasets'>;
  readonly ingest: Pick<IngestService, 'versions' | 'version'>;
  readonly keys: Pick<KeyService, 'listKeys'>;
  /** The operator permission; every route runs behind it. */
  readonly guard: MiddlewareHandler;
}

/** A version without its manifest's file list (the manifest route gives it whole). */
function summary(v: DatasetVersion) {
  return {
    dataset: v.dataset, version: v.version, deliveryId: v.deliveryId, storeId: v.storeId, merkleRoot: v.merkleRoot,
    files: v.files, bytes: v.bytes, rowsAccepted: v.rowsAccepted, rowsQuarantined: v.rowsQuarantined, createdAt: v.createdAt,
    rows: v.manifest.rows,
  };
}

function versionParam(s: string): number | undefined {
  return /^\d{1,9}$/.test(s) ? Number(s) : undefined;
}

/**
 * @example
 *   { prefix: 'operator', app: operatorRoutes({ catalog, ingest, keys, guard: requirePermission('operator') }) }
 */
export function operatorRoutes(d: OperatorDeps): Hono {
  const app = new Hono();
  app.use('*', d.guard);
  app.get('/datasets', async (c) => {
    const datasets = await d.catalog.listDatasets();
    const withVersions = await Promise.all(
      datasets.map(async (ds) => {
        const versions = await d.ingest.versions(ds.name);
        const latest = versions[0];
        return { name: ds.name, title: ds.title, tableCount: ds.tableCount, versionCount: versions.length, latest: latest === undefined ? null : summary(latest) };
      }),
    );
    return c.json({ datasets: withVersions });
  });
  app.get('/datasets/:dataset/versions', async (c) => c.json({ versions: (await d.ingest.versions(c.req.param('dataset'))).map(summary) }));
  app.get('/datasets/:dataset/versions/:version', async (c) => {
    const v = versionParam(c.req.param('version'));
    const version = await d.ingest.version(c.req.param('dataset'), v);
    return c.json({ ...summary(version), manifest: version.manifest });
  });
  app.get('/keys', async (c) => {
    const keys = await d.keys.listKeys();
    return c.json({ keys: keys.map((k) => ({ id: k.id, scope: k.scope, scopeId: k.scopeId, purpose: k.purpose, state: k.state, masterKeyId: k.masterKeyId, createdAt: k.createdAt })) });
  });
  return app;
}

const tags = ['operator'];
const ok = (description: string) => ({ '200': { description }, '401': { description: 'login required' }, '403': { description: 'operator permission required' } });

export const operatorOpenApiPaths: Readonly<Record<string, unknown>> = {
  '/operator/datasets': { get: { summary: 'Datasets with their version count and latest ingested version', tags, responses: ok('datasets') } },
  '/operator/datasets/{dataset}/versions': { get: { summary: 'Ingested versions of a dataset, newest first (rows per table and year, quarantined rows)', tags, responses: ok('versions') } },
  '/operator/datasets/{dataset}/versions/{version}': { get: { summary: 'One version with its manifest (files, hashes, Merkle root)', tags, responses: { ...ok('version'), '404': { description: 'no such version' } } } },
  '/operator/keys': { get: { summary: 'Data keys: ids, scope, purpose, state and wrapping master key id (never key material)', tags, responses: ok('keys') } },
};
