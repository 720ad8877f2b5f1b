import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MiddlewareHandler } from 'hono';
import { AuditLog, generateLogKey } from '../../audit/index.ts';
import { CatalogService } from '../../catalog/index.ts';
import { KeyService } from '../../keys/index.ts';
import { AppError } from '../../errors.ts';
import { openTestDb, type TestDb } from '../../../test/helpers/db.ts';
import { createHttpApp } from '../app.ts';
import { operatorRoutes } from './datasets.ts';

describe('operator routes: datasets, versions, keys', () => {
  let t: TestDb;
  let dir: string;
  let open: ReturnType<typeof createHttpApp>;
  let closed: ReturnType<typeof createHttpApp>;

  before(async () => {
    t = await openTestDb();
    dir = await mkdtemp(join(tmpdir(), 'enclave-http-op-'));
    const audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
    const catalog = new CatalogService({ db: t.db, audit });
    await catalog.importBuiltin({ kind: 'service', id: 'test' });
    const keys = await KeyService.open(join(dir, 'keyring.json'), t.db, audit);
    await audit.transaction({ actor: { kind: 'service', id: 'test' }, action: 'test.create_key', target: 'dataset:snds' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'snds', 'encryption'));
    // No version has been ingested: versions() answers from the real table, empty.
    const ingest = { versions: async () => [], version: async () => { throw new AppError('not_found', 'dataset snds has no ingested version'); } };
    const allow: MiddlewareHandler = async (_c, next) => next();
    const deny: MiddlewareHandler = async () => {
      throw new AppError('unauthenticated', 'login required');
    };
    const app = (guard: MiddlewareHandler) => createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'operator', app: operatorRoutes({ catalog, ingest, keys, guard }) }], openApiPaths: [] });
    open = app(allow);
    closed = app(deny);
  });
  after(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('every operator route is behind the guard', async () => {
    for (const p of ['/api/v1/operator/datasets', '/api/v1/operator/datasets/snds/versions', '/api/v1/operator/datasets/snds/versions/1', '/api/v1/operator/keys']) {
      const res = await closed.request(p);
      assert.equal(res.status, 401, p);
    }
  });

  test('datasets list their version count and latest version', async () => {
    const body = (await (await open.request('/api/v1/operator/datasets')).json()) as { datasets: { name: string; versionCount: number; latest: unknown }[] };
    assert.deepEqual(body.datasets.map((d) => [d.name, d.versionCount, d.latest]), [['snds', 0, null]]);
  });

  test('keys are listed by id and state, never with key material', async () => {
    const res = await open.request('/api/v1/operator/keys');
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    assert.equal(body.keys.length, 1);
    assert.deepEqual(Object.keys(body.keys[0]!).sort(), ['createdAt', 'id', 'masterKeyId', 'purpose', 'scope', 'scopeId', 'state']);
    assert.equal(body.keys[0]!['state'], 'active');
  });
});
