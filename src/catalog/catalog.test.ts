import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { sndsNomenclaturesDir, writeSndsSchemas } from '../../test/helpers/snds-schema.ts';
import { CatalogService } from './index.ts';

// The community SNDS schema's structure (test/vectors/schema-snds, MPL-2.0), written to a temporary directory.
let SCHEMAS = '';
const actor = { kind: 'person', id: 'operator-1' } as const;

interface EventRow {
  action: string;
  target: string;
  actor_kind: string;
  actor_id: string;
  outcome: string;
}

async function auditEvents(db: Queryable): Promise<EventRow[]> {
  return db.query<EventRow>("SELECT action, target, actor_kind, actor_id, outcome FROM audit_events WHERE action LIKE 'catalog.%' ORDER BY seq");
}

async function tableFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.json')).sort();
}

describe('catalog on the shared SNDS schema', () => {
  let t: TestDb;
  let catalog: CatalogService;
  let nomDir: string;

  before(async () => {
    t = await openTestDb();
    catalog = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    SCHEMAS = await writeSndsSchemas();
    await catalog.importDirectory(SCHEMAS, { dataset: 'snds-reference', title: 'SNDS reference schema', actor });
    nomDir = await mkdtemp(join(tmpdir(), 'enclave-nom-'));
    await mkdir(join(nomDir, 'nomenclatures', 'ORAVAL'), { recursive: true });
    await mkdir(join(nomDir, 'nomenclatures', 'DREES'), { recursive: true });
    for (const f of ['ORAVAL/IR_DPT_V.json', 'ORAVAL/IR_DPT_V.csv', 'ORAVAL/IR_CIM_V.json', 'ORAVAL/IR_CIM_V.csv', 'DREES/IR_PHA_R.json']) {
      await cp(join(sndsNomenclaturesDir, f), join(nomDir, 'nomenclatures', f));
    }
    await catalog.importDirectory(nomDir, { dataset: 'snds-nomenclatures', actor });
  });
  after(async () => {
    await t.drop();
    await rm(nomDir, { recursive: true, force: true });
    await rm(SCHEMAS, { recursive: true, force: true });
  });

  test('every table file of the shared schema becomes a catalog table with exactly its columns in order', async () => {
    const files = await tableFiles(SCHEMAS);
    assert.ok(files.length > 150);
    for (const f of files) {
      const doc = JSON.parse(await readFile(join(SCHEMAS, f), 'utf8')) as { name: string; fields: { name: string; type: string }[] };
      const table = await catalog.getTable('snds-reference', doc.name);
      assert.deepEqual(
        table.columns.map((c) => [c.name, c.type]),
        doc.fields.map((c) => [c.name, c.type]),
        `columns of ${f}`,
      );
    }
    const ds = await catalog.getDataset('snds-reference');
    assert.equal(ds.tables.length, files.length);
  });

  test('a table keeps its product, primary key and foreign keys with fields normalised to arrays', async () => {
    const prs = await catalog.getTable('snds-reference', 'ER_PRS_F');
    assert.equal(prs.product, 'DCIR');
    assert.equal(prs.primaryKey.length, 9);
    assert.deepEqual(prs.foreignKeys.find((k) => k.reference.resource === 'IR_BEN_R'), {
      fields: ['BEN_NIR_PSA', 'BEN_RNG_GEM'],
      reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA', 'BEN_RNG_GEM'] },
    });
    assert.deepEqual(prs.foreignKeys[0]?.fields, ['PFS_EXE_NUM']);
  });

  test('a column keeps its nomenclature link, length, format and constraints, and "-" means no nomenclature', async () => {
    const prs = await catalog.getTable('snds-reference', 'ER_PRS_F');
    const ama = prs.columns.find((c) => c.name === 'BEN_AMA_COD');
    assert.equal(ama?.nomenclature, 'IR_AMA_V');
    assert.equal(ama?.length, '4');
    assert.equal(ama?.format, 'default');
    const cmu = prs.columns.find((c) => c.name === 'BEN_CMU_TOP');
    assert.equal(cmu?.nomenclature, null);
    assert.deepEqual(cmu?.constraints, { minimum: 0, maximum: 2 });
  });

  test('columns carry the sensitivity of the reviewed mapping', async () => {
    const prs = await catalog.getTable('snds-reference', 'ER_PRS_F');
    const s = (name: string) => prs.columns.find((c) => c.name === name)?.sensitivity;
    assert.equal(s('BEN_NIR_PSA'), 'pseudonym');
    assert.equal(s('EXE_SOI_DTD'), 'potential_identifier');
    assert.equal(s('BEN_AMA_COD'), 'other');
  });

  test('table names match case-insensitively', async () => {
    const t1 = await catalog.getTable('snds-reference', 'er_prs_f');
    assert.equal(t1.name, 'ER_PRS_F');
  });

  test('an unknown dataset is not_found with a hint on how to list datasets', async () => {
    await assert.rejects(catalog.getDataset('nope'), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'not_found');
      assert.match(e.hint ?? '', /catalog ls/);
      return true;
    });
  });

  test('an unknown table is not_found and suggests similar names', async () => {
    await assert.rejects(catalog.getTable('snds-reference', 'ER_PRS'), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'not_found');
      assert.ok((e.details?.['similar'] as string[]).includes('ER_PRS_F'));
      return true;
    });
  });

  test('re-importing identical definitions changes nothing and records no audit event', async () => {
    const before = (await auditEvents(t.db)).length;
    const r = await catalog.importDirectory(SCHEMAS, { dataset: 'snds-reference', title: 'SNDS reference schema', actor });
    assert.equal(r.changed, false);
    assert.equal((await auditEvents(t.db)).length, before);
  });

  test('an import is audited as catalog.import naming the dataset and the actor', async () => {
    const e = (await auditEvents(t.db)).find((x) => x.target === 'catalog:dataset:snds-reference');
    assert.deepEqual(e, { action: 'catalog.import', target: 'catalog:dataset:snds-reference', actor_kind: 'person', actor_id: 'operator-1', outcome: 'success' });
  });

  test('search finds a column by accent-free words of its description', async () => {
    // The kept SNDS structure has no descriptions: Enclave's own description of IR_BEN_R has them.
    await catalog.importDirectory(fileURLToPath(new URL('../../schemas/snds/BENEFICIAIRE', import.meta.url)), { dataset: 'snds-own', actor });
    const hits = await catalog.search('commune residence insee');
    assert.ok(hits.some((h) => h.kind === 'column' && h.dataset === 'snds-own' && h.column === 'BEN_RES_COM'));
  });

  test('search ranks an exact table name first', async () => {
    const hits = await catalog.search('ER_PHA_F');
    assert.deepEqual(hits[0], { kind: 'table', dataset: 'snds-reference', table: 'ER_PHA_F', title: hits[0]?.kind === 'table' ? hits[0].title : '', description: '' });
  });

  test('search treats % and _ literally', async () => {
    assert.deepEqual(await catalog.search('%%%'), []);
  });

  test('search respects its limit', async () => {
    assert.equal((await catalog.search('date', { limit: 3 })).length, 3);
  });

  test('a nomenclature is imported with its title and number of codes', async () => {
    const page = await catalog.getNomenclature('IR_DPT_V', { limit: 2 });
    assert.equal(page.title, 'Département ( avec code région )');
    assert.equal(page.source, 'ORAVAL');
    assert.ok(page.codeCount > 100);
    assert.deepEqual(page.codes, [
      { code: '000', label: 'DEPARTEMENT CONFIDENTIEL (MILITAIRES)' },
      { code: '001', label: 'AIN' },
    ]);
  });

  test('nomenclature codes page with offset and filter on the label', async () => {
    const page = await catalog.getNomenclature('IR_DPT_V', { q: 'finist' });
    assert.deepEqual(page.codes.map((c) => c.code), ['029']);
    const second = await catalog.getNomenclature('IR_DPT_V', { limit: 1, offset: 1 });
    assert.equal(second.codes[0]?.code, '001');
  });

  test('nomenclatureContains returns the codes that exist, in bulk', async () => {
    const found = await catalog.nomenclatureContains('IR_CIM_V', ['C51', 'I10', 'ZZZZ', 'C51']);
    assert.deepEqual([...found].sort(), ['C51', 'I10']);
  });

  test('a nomenclature whose CSV is absent is listed without codes', async () => {
    const page = await catalog.getNomenclature('IR_PHA_R');
    assert.equal(page.codesAvailable, false);
    assert.equal(page.codeCount, 0);
  });

  test('search finds a nomenclature by its title', async () => {
    const hits = await catalog.search('departement region');
    assert.ok(hits.some((h) => h.kind === 'nomenclature' && h.nomenclature === 'IR_DPT_V'));
  });

  test('an unknown nomenclature is not_found', async () => {
    await assert.rejects(catalog.nomenclatureContains('NOPE', ['1']), { code: 'not_found' });
  });
});

describe('catalog re-import and errors', () => {
  let t: TestDb;
  let catalog: CatalogService;
  let dir: string;

  const table = (name: string, fields: object[], extra: object = {}) => JSON.stringify({ name, title: `${name} title`, fields, ...extra });

  before(async () => {
    t = await openTestDb();
    catalog = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    dir = await mkdtemp(join(tmpdir(), 'enclave-cat-'));
  });
  after(async () => {
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a re-import replaces the dataset: dropped tables disappear and changed columns are replaced', async () => {
    const d = join(dir, 'replace');
    await mkdir(join(d, 'P'), { recursive: true });
    await writeFile(join(d, 'P', 'A.json'), table('A', [{ name: 'X', type: 'string' }]));
    await writeFile(join(d, 'P', 'B.json'), table('B', [{ name: 'Y', type: 'integer' }]));
    await catalog.importDirectory(d, { dataset: 'demo', actor });
    await rm(join(d, 'P', 'B.json'));
    await writeFile(join(d, 'P', 'A.json'), table('A', [{ name: 'X', type: 'date' }, { name: 'Z', type: 'string' }]));
    const r = await catalog.importDirectory(d, { dataset: 'demo', actor });
    assert.equal(r.changed, true);
    const ds = await catalog.getDataset('demo');
    assert.deepEqual(ds.tables.map((x) => x.name), ['A']);
    assert.deepEqual((await catalog.getTable('demo', 'A')).columns.map((c) => [c.name, c.type]), [['X', 'date'], ['Z', 'string']]);
  });

  test('the table-level enclave object is kept as is', async () => {
    const d = join(dir, 'enclave');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'T.json'), table('T', [{ name: 'EXE_SOI_DTD', type: 'date' }], { enclave: { yearColumn: 'EXE_SOI_DTD' } }));
    await catalog.importDirectory(d, { dataset: 'enclave-demo', actor });
    assert.deepEqual((await catalog.getTable('enclave-demo', 'T')).enclave, { yearColumn: 'EXE_SOI_DTD' });
  });

  test('an invalid column type is refused naming the file and JSON path, and nothing is written', async () => {
    const d = join(dir, 'bad-type');
    await mkdir(join(d, 'P'), { recursive: true });
    await writeFile(join(d, 'P', 'A.json'), table('A', [{ name: 'X', type: 'string' }, { name: 'Y', type: 'varchar' }]));
    await assert.rejects(catalog.importDirectory(d, { dataset: 'bad', actor }), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'invalid');
      assert.match(e.message, /P\/A\.json at fields\[1\]\.type: unknown type "varchar"/);
      return true;
    });
    await assert.rejects(catalog.getDataset('bad'), { code: 'not_found' });
  });

  test('a file that is not JSON is refused naming the file', async () => {
    const d = join(dir, 'not-json');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'A.json'), '{ "fields": [');
    await assert.rejects(catalog.importDirectory(d, { dataset: 'bad', actor }), /invalid schema file A\.json: not valid JSON/);
  });

  test('a primary key naming a missing column is refused with its path', async () => {
    const d = join(dir, 'bad-pk');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'A.json'), table('A', [{ name: 'X', type: 'string' }], { primaryKey: ['X', 'W'] }));
    await assert.rejects(catalog.importDirectory(d, { dataset: 'bad', actor }), /A\.json at primaryKey\[1\]: "W" is not a column of A/);
  });

  test('a dataset name with capitals or spaces is refused', async () => {
    await assert.rejects(catalog.importDirectory(dir, { dataset: 'Bad Name', actor }), { code: 'invalid' });
  });

  test('removing a dataset deletes its tables and is audited', async () => {
    const d = join(dir, 'remove');
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'A.json'), table('A', [{ name: 'X', type: 'string' }]));
    await catalog.importDirectory(d, { dataset: 'gone', actor });
    await catalog.removeDataset('gone', actor);
    await assert.rejects(catalog.getDataset('gone'), { code: 'not_found' });
    assert.equal((await auditEvents(t.db)).at(-1)?.action, 'catalog.remove');
  });

  test('the built-in SNDS description imports as dataset snds', async () => {
    const r = await catalog.importBuiltin(actor);
    assert.equal(r.dataset, 'snds');
    assert.ok(r.tables > 0);
    const ds = await catalog.getDataset('snds');
    assert.equal(ds.tables.length, r.tables);
  });
});
