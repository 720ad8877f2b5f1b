import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../../audit/index.ts';
import { CatalogService } from '../../catalog/index.ts';
import { AppError } from '../../errors.ts';
import { IdentityService } from '../../identity/index.ts';
import { KeyService } from '../../keys/index.ts';
import { openTestDb, type TestDb } from '../../../test/helpers/db.ts';
import { createHttpApp } from '../app.ts';
import { authDepsFrom } from '../auth.ts';
import { operatorRoutes } from './datasets.ts';

describe('operator routes: datasets, versions, keys', () => {
  let t: TestDb;
  let dir: string;
  let app: ReturnType<typeof createHttpApp>;
  const cookies: Record<string, string> = {};

  before(async () => {
    t = await openTestDb();
    dir = await mkdtemp(join(tmpdir(), 'enclave-http-op-'));
    const audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
    const catalog = new CatalogService({ db: t.db, audit });
    await catalog.importBuiltin({ kind: 'service', id: 'test' });
    const keys = await KeyService.open(join(dir, 'keyring.json'), t.db, audit);
    await audit.transaction({ actor: { kind: 'service', id: 'test' }, action: 'test.create_key', target: 'dataset:snds' }, (tx) => keys.ensureDataKey(tx, 'dataset', 'snds', 'encryption'));
    const identity = new IdentityService({ db: t.db, audit });
    for (const [who, roles] of [['operator', ['operator']], ['applicant', ['applicant']]] as const) {
      const id = await identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject: who, displayName: who, email: null, organisation: 'test' });
      await identity.seedRoles({ kind: 'service', id: 'test' }, id, roles);
      cookies[who] = (await identity.login({ issuer: 'https://idp.test', subject: who, displayName: who, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] })).cookieValue;
    }
    // No version ingested here: the routes answer from the real tables, empty (ingestion has its own suite).
    const ingest = { versions: async () => [], version: async () => { throw new AppError('not_found', 'dataset snds has no ingested version'); }, quarantine: async () => { throw new AppError('not_found', 'dataset snds has no version 1'); } };
    const auth = authDepsFrom(identity, audit, false);
    app = createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'operator', app: operatorRoutes({ catalog, ingest, keys }, auth) }], openApiPaths: [] });
  });
  after(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, who?: string) => app.request(path, who === undefined ? {} : { headers: { cookie: `enclave_session=${cookies[who]}` } });
  const ROUTES = ['/api/v1/operator/datasets', '/api/v1/operator/datasets/snds/versions', '/api/v1/operator/datasets/snds/versions/1', '/api/v1/operator/datasets/snds/versions/1/quarantine', '/api/v1/operator/keys'];

  test('anonymous callers get 401 and non-operators 403 on every operator route', async () => {
    for (const p of ROUTES) {
      assert.equal((await get(p)).status, 401, p);
      assert.equal((await get(p, 'applicant')).status, 403, p);
    }
  });

  test('datasets list their version count and latest version', async () => {
    const body = (await (await get('/api/v1/operator/datasets', 'operator')).json()) as { datasets: { name: string; versionCount: number; latest: unknown }[] };
    assert.deepEqual(body.datasets.map((d) => [d.name, d.versionCount, d.latest]), [['snds', 0, null]]);
  });

  test('keys are listed by id and state, never with key material', async () => {
    const body = (await (await get('/api/v1/operator/keys', 'operator')).json()) as { keys: Record<string, unknown>[] };
    assert.equal(body.keys.length, 1);
    assert.deepEqual(Object.keys(body.keys[0]!).sort(), ['createdAt', 'id', 'masterKeyId', 'purpose', 'scope', 'scopeId', 'state']);
    assert.equal(body.keys[0]!['state'], 'active');
  });
});
