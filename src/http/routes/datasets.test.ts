import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IdentityService } from '../../identity/index.ts';
import { synthesize } from '../../synth/index.ts';
import { openTestPlatform, type TestPlatform } from '../../../test/helpers/platform.ts';
import { createHttpApp } from '../app.ts';
import { authDepsFrom } from '../auth.ts';
import { operatorRoutes } from './datasets.ts';

describe('operator routes: datasets, versions, keys', () => {
  let p: TestPlatform;
  let app: ReturnType<typeof createHttpApp>;
  const cookies: Record<string, string> = {};
  const csrf: Record<string, string> = {};
  const actor = { kind: 'service', id: 'test' } as const;

  before(async () => {
    p = await openTestPlatform();
    await p.catalog.importBuiltin(actor);
    const identity = new IdentityService({ db: p.t.db, audit: p.audit });
    for (const [who, roles] of [['operator', ['operator']], ['applicant', ['applicant']]] as const) {
      const id = await identity.ensurePerson(actor, { issuer: 'https://idp.test', subject: who, displayName: who, email: null, organisation: 'test' });
      await identity.seedRoles(actor, id, roles);
      const s = await identity.login({ issuer: 'https://idp.test', subject: who, displayName: who, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      cookies[who] = s.cookieValue;
      csrf[who] = s.csrfToken;
    }
    const auth = authDepsFrom(identity, p.audit, false);
    app = createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'operator', app: operatorRoutes({ catalog: p.catalog, ingest: p.ingest, keys: p.keys }, auth) }], openApiPaths: [] });
  });
  after(async () => {
    await p.close();
  });

  const get = (path: string, who?: string) => app.request(path, who === undefined ? {} : { headers: { cookie: `enclave_session=${cookies[who]}` } });
  const post = (path: string, who: string, body: unknown = {}) => app.request(path, { method: 'POST', headers: { cookie: `enclave_session=${cookies[who]}`, 'x-csrf-token': csrf[who] ?? '', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const ROUTES = ['/api/v1/operator/datasets', '/api/v1/operator/datasets/snds/versions', '/api/v1/operator/datasets/snds/versions/1', '/api/v1/operator/datasets/snds/versions/1/quarantine', '/api/v1/operator/keys'];

  test('anonymous callers get 401 and non-operators 403 on every operator route', async () => {
    for (const p of ROUTES) {
      assert.equal((await get(p)).status, 401, p);
      assert.equal((await get(p, 'applicant')).status, 403, p);
    }
  });

  test('before any delivery: the dataset has no version, and version routes say so', async () => {
    const body = (await (await get('/api/v1/operator/datasets', 'operator')).json()) as { datasets: { name: string; versionCount: number; latest: unknown }[] };
    assert.deepEqual(body.datasets.map((d) => [d.name, d.versionCount, d.latest]), [['snds', 0, null]]);
    const r = await get('/api/v1/operator/datasets/snds/versions/1', 'operator');
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as { detail: string }).detail, /no version 1/);
  });

  test('after a real delivery with defects: versions, manifest and quarantine report as ingestion recorded them', async () => {
    const stats = await synthesize({ people: 300, startYear: 2021, endYear: 2022, seed: 5, out: join(p.dir, 'delivery'), parquet: false, defects: 0.01 });
    const res = await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'delivery', 'csv')], actor });
    assert.ok(res.rowsQuarantined > 0 && res.rowsQuarantined === stats.defects);
    const list = (await (await get('/api/v1/operator/datasets', 'operator')).json()) as { datasets: { name: string; versionCount: number; latest: { version: number } | null }[] };
    assert.deepEqual(list.datasets.map((d) => [d.name, d.versionCount, d.latest?.version]), [['snds', 1, 1]]);
    const v = (await (await get('/api/v1/operator/datasets/snds/versions/1', 'operator')).json()) as { merkleRoot: string; manifest: { files: unknown[] } };
    assert.equal(v.merkleRoot, res.merkleRoot);
    assert.equal(v.manifest.files.length, res.tables.length);
    const q = (await (await get('/api/v1/operator/datasets/snds/versions/1/quarantine', 'operator')).json()) as { total: number; byRule: Record<string, number>; entries: { line: number; value: string }[] };
    assert.equal(q.total, res.rowsQuarantined);
    assert.deepEqual(q.byRule, res.quarantine.byRule);
    assert.ok(q.entries.length > 0 && q.entries.every((e) => e.line > 1 && !/[0-8]/.test(e.value)), 'entries carry lines and value shapes, never values');
    // The complete report, paged: one entry at offset 1 is the second of the first page.
    const page = (await (await get('/api/v1/operator/datasets/snds/versions/1/quarantine?offset=1&limit=1', 'operator')).json()) as { storedEntries: number; entries: { file: string; line: number }[] };
    assert.deepEqual(page.entries, [q.entries[1]]);
    assert.ok(page.storedEntries >= res.rowsQuarantined);
    const bad = await get('/api/v1/operator/datasets/snds/versions/1/quarantine?limit=ten', 'operator');
    assert.equal(bad.status, 400);
  });

  test('keys are listed by id and state, never with key material', async () => {
    const body = (await (await get('/api/v1/operator/keys', 'operator')).json()) as { keys: Record<string, unknown>[] };
    assert.deepEqual(body.keys.map((k) => k['purpose']).sort(), ['encryption', 'pseudonymisation'], 'the delivery created the dataset\'s two keys');
    for (const k of body.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'id', 'masterKeyId', 'purpose', 'scope', 'scopeId', 'state']);
      assert.equal(k['state'], 'active');
    }
  });

  test('an operator rotates the master key: every active data key is re-wrapped by the new one, audited; others are refused', async () => {
    assert.equal((await post('/api/v1/operator/keys/rotate-master', 'applicant')).status, 403);
    const before = ((await (await get('/api/v1/operator/keys', 'operator')).json()) as { keys: { masterKeyId: string | null; state: string }[] }).keys.filter((k) => k.state === 'active');
    const r = await post('/api/v1/operator/keys/rotate-master', 'operator');
    assert.equal(r.status, 200);
    const body = (await r.json()) as { oldId: string; newId: string; rewrapped: number };
    assert.equal(body.rewrapped, before.length);
    assert.ok(before.every((k) => k.masterKeyId === body.oldId));
    const after = ((await (await get('/api/v1/operator/keys', 'operator')).json()) as { keys: { masterKeyId: string | null; state: string }[] }).keys.filter((k) => k.state === 'active');
    assert.ok(after.length > 0 && after.every((k) => k.masterKeyId === body.newId));
    const events = await p.t.db.query<{ outcome: string }>("SELECT outcome FROM audit_events WHERE action = 'keys.rotate_master'");
    assert.deepEqual(events.map((e) => e.outcome), ['success']);
  });
});
