import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../../audit/index.ts';
import { CatalogService } from '../../catalog/index.ts';
import { openTestDb, type TestDb } from '../../../test/helpers/db.ts';
import { createHttpApp } from '../app.ts';
import { catalogOpenApiPaths, catalogRoutes } from './catalog.ts';

describe('catalog HTTP routes', () => {
  let t: TestDb;
  let dir: string;
  let app: ReturnType<typeof createHttpApp>;

  before(async () => {
    t = await openTestDb();
    const db = t.db;
    const catalog = new CatalogService({ db, audit: new AuditLog(db, generateLogKey('enclave.test/audit')) });
    dir = await mkdtemp(join(tmpdir(), 'enclave-http-cat-'));
    await mkdir(join(dir, 'DCIR'));
    await mkdir(join(dir, 'nomenclatures'));
    await writeFile(
      join(dir, 'DCIR', 'ER_PRS_F.json'),
      JSON.stringify({
        name: 'ER_PRS_F', title: 'Table des prestations', produit: 'DCIR',
        fields: [
          { name: 'BEN_NIR_PSA', type: 'string', description: 'Identifiant anonyme du patient', nomenclature: '-' },
          { name: 'EXE_SOI_DTD', type: 'date', description: 'Date de début d\u2019exécution des soins', nomenclature: '-', format: 'default' },
          { name: 'BEN_RES_DPT', type: 'string', description: 'Département de résidence', nomenclature: 'IR_DPT_V' },
        ],
      }),
    );
    await writeFile(join(dir, 'nomenclatures', 'IR_DPT_V.csv'), 'GEO_DPT_COD;GEO_DPT_LIB\n001;AIN\n002;AISNE\n029;FINISTERE\n');
    await catalog.importDirectory(dir, { dataset: 'demo', actor: { kind: 'service', id: 'test' } });
    app = createHttpApp({
      version: 'test',
      health: async () => ({}),
      routes: [{ prefix: 'catalog', app: catalogRoutes(catalog) }],
      openApiPaths: [catalogOpenApiPaths],
    });
  });
  after(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await app.request(`/api/v1/catalog${path}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
  };

  test('GET /datasets lists datasets without login', async () => {
    const r = await get('/datasets');
    assert.equal(r.status, 200);
    assert.deepEqual((r.body['datasets'] as { name: string }[]).map((d) => d.name), ['demo']);
  });

  test('GET /datasets/:dataset lists its tables', async () => {
    const r = await get('/datasets/demo');
    assert.deepEqual((r.body['tables'] as { name: string; columnCount: number }[]).map((x) => [x.name, x.columnCount]), [['ER_PRS_F', 3]]);
  });

  test('GET /datasets/:dataset/tables/:table returns columns with their sensitivity', async () => {
    const r = await get('/datasets/demo/tables/ER_PRS_F');
    assert.equal(r.status, 200);
    assert.deepEqual(
      (r.body['columns'] as { name: string; sensitivity: string }[]).map((c) => [c.name, c.sensitivity]),
      [['BEN_NIR_PSA', 'pseudonym'], ['EXE_SOI_DTD', 'potential_identifier'], ['BEN_RES_DPT', 'potential_identifier']],
    );
  });

  test('GET /datasets/:dataset/tables returns every table with its columns and keys in one answer', async () => {
    const res = await app.request('/api/v1/catalog/datasets/demo/tables');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { dataset: string; tables: { name: string; columns: { name: string; sensitivity: string }[]; foreignKeys: unknown[] }[] };
    assert.equal(body.dataset, 'demo');
    assert.deepEqual(body.tables.map((t) => t.name), ['ER_PRS_F']);
    assert.deepEqual(body.tables[0]?.columns.map((c) => c.name), ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'BEN_RES_DPT']);
    assert.ok(Array.isArray(body.tables[0]?.foreignKeys));
    assert.equal((await app.request('/api/v1/catalog/datasets/nope/tables')).status, 404);
  });

  test('an unknown table is a 404 problem with a hint', async () => {
    const r = await get('/datasets/demo/tables/NOPE');
    assert.equal(r.status, 404);
    assert.match(r.type, /application\/problem\+json/);
    assert.equal(r.body['code'], 'not_found');
    assert.match(String(r.body['hint']), /catalog show demo/);
  });

  test('GET /search finds a column by a word of its description', async () => {
    const r = await get('/search?q=execution%20soins');
    assert.deepEqual((r.body['hits'] as { kind: string; column?: string }[]).map((h) => h.column), ['EXE_SOI_DTD']);
  });

  test('GET /search without q is a 400 problem', async () => {
    const r = await get('/search');
    assert.equal(r.status, 400);
    assert.equal(r.body['code'], 'invalid');
  });

  test('GET /nomenclatures/:name pages codes with limit and offset', async () => {
    const r = await get('/nomenclatures/IR_DPT_V?limit=1&offset=1');
    assert.equal(r.body['codeCount'], 3);
    assert.deepEqual(r.body['codes'], [{ code: '002', label: 'AISNE' }]);
  });

  test('a negative limit is a 400 problem', async () => {
    const r = await get('/nomenclatures/IR_DPT_V?limit=-1');
    assert.equal(r.status, 400);
  });

  test('the OpenAPI document describes every catalog route', async () => {
    const res = await app.request('/api/v1/openapi.json');
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    for (const p of ['/catalog/datasets', '/catalog/datasets/{dataset}', '/catalog/datasets/{dataset}/tables', '/catalog/datasets/{dataset}/tables/{table}', '/catalog/search', '/catalog/nomenclatures/{name}']) {
      assert.ok(p in doc.paths, p);
    }
  });
});

describe('the public catalogue never shows a server path as a dataset\'s source', () => {
  let t: TestDb;
  let dir: string;
  let app: ReturnType<typeof createHttpApp>;
  before(async () => {
    t = await openTestDb();
    const catalog = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    dir = await mkdtemp(join(tmpdir(), 'enclave-http-src-'));
    await mkdir(join(dir, 'private-area', 'schemas-snds', 'DCIR'), { recursive: true });
    await writeFile(join(dir, 'private-area', 'schemas-snds', 'DCIR', 'T.json'), JSON.stringify({ name: 'T', title: 'T', fields: [{ name: 'A', type: 'string', description: 'a' }] }));
    // imported by an absolute path with a trailing slash, and by a relative one
    await catalog.importDirectory(`${join(dir, 'private-area', 'schemas-snds')}/`, { dataset: 'absolute', actor: { kind: 'service', id: 'test' } });
    await catalog.importDirectory(join(dir, 'private-area', 'schemas-snds', '..', 'schemas-snds'), { dataset: 'dotted', actor: { kind: 'service', id: 'test' } });
    // a dataset recorded before the rule, with the whole path in the database
    await catalog.importDirectory(join(dir, 'private-area', 'schemas-snds'), { dataset: 'older', actor: { kind: 'service', id: 'test' } });
    await t.db.query('UPDATE catalog_datasets SET source = $1 WHERE name = $2', [`${dir}/private-area/old-schemas`, 'older']);
    app = createHttpApp({ version: 'test', health: async () => ({}), routes: [{ prefix: 'catalog', app: catalogRoutes(catalog) }], openApiPaths: [catalogOpenApiPaths] });
  });
  after(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('GET /datasets and GET /datasets/:dataset show the directory\'s name only', async () => {
    const list = await (await app.request('/api/v1/catalog/datasets')).json() as { datasets: Array<{ name: string; source: string }> };
    assert.deepEqual(list.datasets.map((d) => [d.name, d.source]), [['absolute', 'schemas-snds'], ['dotted', 'schemas-snds'], ['older', 'old-schemas']]);
    for (const name of ['absolute', 'dotted', 'older']) {
      const text = await (await app.request(`/api/v1/catalog/datasets/${name}`)).text();
      assert.ok(!text.includes(dir) && !text.includes('private-area') && !text.includes(tmpdir()), `${name}: ${text.slice(0, 200)}`);
    }
  });
});
