import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { vectorPath } from '../../test/helpers/vectors.ts';
import { writeSndsSchemas } from '../../test/helpers/snds-schema.ts';
import { renderCatalogue } from '../../scripts/catalogue-from-schema-snds.ts';
import { tableOfFile } from '../ingest/index.ts';
import { BUILTIN_SCHEMA_DIR, CatalogService, loadSensitivityMapping } from './index.ts';

/**
 * The embedded default describes the whole SNDS main base: every table of the public SNDS
 * schema but DAMIR (aggregated open data). Checked against the structure kept in
 * test/vectors/schema-snds (always) and against an operator's checkout of the public schema
 * repository when ENCLAVE_SCHEMA_SNDS names one.
 */
interface RefField { name: string; type?: string; nomenclature?: string; length?: string }
interface RefTable { name: string; produit?: string; primaryKey?: string | string[]; foreignKeys?: { fields: string | string[]; reference: { resource: string; fields: string | string[] } }[]; fields: RefField[] }

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const nom = (n: string | undefined): string | null => (n === undefined || n.trim() === '' || n.trim() === '-' ? null : n.trim());

function vectorTables(): { path: string; schema: RefTable }[] {
  return (JSON.parse(readFileSync(vectorPath('schema-snds/tables.json'), 'utf8')) as { tables: { path: string; schema: RefTable }[] }).tables;
}
const mainBase = (path: string): boolean => !path.startsWith('DAMIR/');
const actor = { kind: 'service', id: 'test' } as const;

describe(`built-in SNDS catalogue (${testDbKind})`, () => {
  let t: TestDb;
  let catalog: CatalogService;
  let seconds = 0;

  before(async () => {
    t = await openTestDb();
    catalog = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    const t0 = performance.now();
    await catalog.importBuiltin(actor);
    seconds = (performance.now() - t0) / 1000;
  });
  after(async () => t.drop());

  test('holds every table of the main base with exactly the public columns, and prints its size', async () => {
    const ref = vectorTables().filter((x) => mainBase(x.path));
    const ds = await catalog.getDataset('snds');
    console.log(`built-in catalogue: ${ds.tableCount} tables, ${ds.columnCount} columns, imported in ${seconds.toFixed(2)} s on ${testDbKind}`);
    assert.equal(ds.tableCount, ref.length);
    for (const { schema } of ref) {
      const table = await catalog.getTable('snds', schema.name);
      const names = new Set(table.columns.map((c) => c.name));
      for (const f of schema.fields) assert.ok(names.has(f.name), `${schema.name}.${f.name}`);
      // Only the product's identified-source column (raw NIR, pseudonymised at ingestion) is extra.
      assert.deepEqual(table.columns.filter((c) => !schema.fields.some((f) => f.name === c.name)).map((c) => c.name).filter((n) => n !== 'BEN_NIR_IDT'), [], schema.name);
    }
    assert.ok(!ds.tables.some((x) => x.name.startsWith('DA_') && x.name !== 'DA_PRA_R'), 'DAMIR is left out');
  });

  test('keys, types, lengths and nomenclature links of the tables the product does not generate are the public ones', async () => {
    const generated = new Set(['IR_BEN_R', 'ER_PRS_F', 'ER_PHA_F', 'ER_BIO_F', 'ER_CAM_F', 'T_MCOaaA', 'T_MCOaaB', 'T_MCOaaC', 'T_MCOaaD', 'KI_CCI_R', 'KI_ECD_R']);
    let checked = 0;
    for (const { path, schema } of vectorTables()) {
      if (!mainBase(path) || generated.has(schema.name)) continue;
      const table = await catalog.getTable('snds', schema.name);
      assert.deepEqual(table.primaryKey, list(schema.primaryKey), `${schema.name} primary key`);
      assert.deepEqual(
        table.foreignKeys,
        (schema.foreignKeys ?? []).map((fk) => ({ fields: list(fk.fields), reference: { resource: fk.reference.resource, fields: list(fk.reference.fields) } })),
        `${schema.name} foreign keys`,
      );
      assert.deepEqual(
        table.columns.map((c) => [c.name, c.type, c.length, c.nomenclature]),
        schema.fields.map((f) => [f.name, f.type ?? 'string', f.length === undefined || f.length === '' ? null : f.length, nom(f.nomenclature)]),
        schema.name,
      );
      assert.ok(table.columns.every((c) => c.description === ''), `${schema.name}: no upstream prose`);
      checked++;
    }
    assert.ok(checked > 170);
  });

  test('the generated tables keep the product descriptions and keys, and list the public columns after them', async () => {
    const prs = await catalog.getTable('snds', 'ER_PRS_F');
    assert.equal(prs.columns[0]?.name, 'DCT_ORD_NUM');
    assert.match(prs.columns[0]?.description ?? '', /décompte/);
    assert.equal(prs.primaryKey.length, 9);
    assert.ok(prs.foreignKeys.some((fk) => fk.reference.resource === 'IR_BEN_R'));
    assert.ok(prs.foreignKeys.some((fk) => fk.reference.resource === 'DA_PRA_R' && fk.fields[0] === 'PFS_EXE_NUM'), 'public key to a referential added');
    const ama = prs.columns.find((c) => c.name === 'BEN_AMA_COD');
    assert.deepEqual([ama?.nomenclature, ama?.length, ama?.constraints.required], ['IR_AMA_V', '4', undefined]);
  });

  test('a delivered file named after any table, its year in place of aa or AAAA, maps to that table', async () => {
    const ds = await catalog.getDataset('snds');
    const tables = await Promise.all(ds.tables.map((x) => catalog.getTable('snds', x.name)));
    const wrong = tables
      .map((x) => ({ want: x.name, file: `${x.name.replace('aa', '19').replace('AAAA', '2019')}.csv` }))
      .filter(({ want, file }) => tableOfFile({ name: file }, tables)?.table.name !== want);
    assert.deepEqual(wrong, []);
    assert.equal(tableOfFile({ name: 'T_SSR21C.csv' }, tables)?.year, 2021);
    assert.equal(tableOfFile({ name: 'CT_IND_2019_GN.csv' }, tables)?.year, 2019);
  });

  test('the dataset lists every table with its keys in one answer (a diagram needs no request per table)', async () => {
    const ds = await catalog.getDataset('snds');
    const prs = ds.tables.find((x) => x.name === 'ER_PRS_F');
    assert.deepEqual(prs?.foreignKeys, (await catalog.getTable('snds', 'ER_PRS_F')).foreignKeys);
    assert.equal(prs?.primaryKey.length, 9);
    assert.ok(ds.tables.reduce((n, x) => n + x.foreignKeys.length, 0) > 100);
  });

  test('a date column linked to the IR_DTE_V calendar keeps its date type (checked as a date, not as a code)', async () => {
    const ben = await catalog.getTable('snds', 'IR_IBA_R');
    const dcd = ben.columns.find((c) => c.name === 'BEN_DCD_DTE');
    assert.deepEqual([dcd?.type, dcd?.nomenclature], ['date', 'IR_DTE_V']);
  });

  test('the new age, birth and place columns are potential identifiers', async () => {
    const s = async (table: string, column: string) => (await catalog.getTable('snds', table)).columns.find((c) => c.name === column)?.sensitivity;
    const mapping = await loadSensitivityMapping();
    assert.equal(mapping.classify('T', { name: 'NEO_NAI_POI', type: 'integer', format: null, nomenclature: null }).sensitivity, 'potential_identifier');
    for (const [table, column] of [['T_MCOaaB', 'AGE_ANN'], ['T_MCOaaB', 'AGE_JOU'], ['T_MCOaaB', 'AGE_GES'], ['T_MCOaaB', 'POI_NAI'], ['T_HADaaC', 'RNG_NAI'], ['ER_PRS_F', 'BEN_RES_DPT'], ['KI_CCI_R', 'DCD_DPT_COD']] as const) {
      assert.equal(await s(table, column), 'potential_identifier', `${table}.${column}`);
    }
    assert.equal(await s('T_HADaaSTC', 'RNG_NAI_CTL'), 'other', 'a control code about the rank is not the rank');
  });

  test('the folder carries the licence and origin of the copied structure', () => {
    const notice = readFileSync(join(BUILTIN_SCHEMA_DIR, 'NOTICE.md'), 'utf8');
    assert.match(notice, /indsante\/schema-snds/);
    assert.match(notice, /fe17ef8348aeb74f38c29016f49e65f82a6168b6/);
    assert.match(readFileSync(join(BUILTIN_SCHEMA_DIR, 'LICENSE.schema-snds'), 'utf8'), /Mozilla Public License Version 2\.0/);
  });

  test('agrees with an operator checkout of the public schema when ENCLAVE_SCHEMA_SNDS names one', async (ctx) => {
    const root = process.env['ENCLAVE_SCHEMA_SNDS'];
    if (root === undefined || !existsSync(join(root, 'schemas'))) {
      ctx.skip('ENCLAVE_SCHEMA_SNDS does not name a checkout of the public SNDS schema: compared with test/vectors only');
      return;
    }
    const files = readdirSync(join(root, 'schemas'), { recursive: true }).map(String).filter((f) => f.endsWith('.json') && !f.startsWith('DAMIR'));
    for (const f of files) {
      const doc = JSON.parse(readFileSync(join(root, 'schemas', f), 'utf8')) as RefTable;
      const table = await catalog.getTable('snds', doc.name);
      for (const c of doc.fields) assert.ok(table.columns.some((x) => x.name === c.name), `${doc.name}.${c.name}`);
    }
    console.log(`checkout: ${files.length} main-base tables, all in the built-in catalogue`);
  });
});

describe('scripts/catalogue-from-schema-snds.ts', () => {
  test('regenerating from the kept public structure gives exactly the committed schemas, and reports missing nomenclatures without failing', async () => {
    // The kept structure (test/vectors/schema-snds) laid out as a checkout: schemas/<product>/<TABLE>.json, no nomenclatures.
    const tables = await writeSndsSchemas();
    const checkout = `${tables}-checkout`;
    await mkdir(checkout);
    await rename(tables, join(checkout, 'schemas'));
    try {
      const { files, report } = renderCatalogue(checkout);
      console.log(`generator: ${report.tables} tables, ${report.columns} columns; ${report.missingNomenclatures.length} linked nomenclatures missing from this checkout`);
      assert.ok(report.missingNomenclatures.includes('IR_DTE_V'));
      for (const [rel, text] of files) assert.equal(text, readFileSync(join(BUILTIN_SCHEMA_DIR, rel), 'utf8'), rel);
      const committed = readdirSync(BUILTIN_SCHEMA_DIR, { recursive: true }).map(String).filter((f) => f.endsWith('.json') && !f.startsWith('nomenclatures'));
      assert.deepEqual(committed.map((f) => f.split('\\').join('/')).sort(), [...files.keys()].filter((f) => f.endsWith('.json')).sort());
      assert.ok(![...files.values()].some((text) => /"description": "[^"]/.test(text) && !/"product": "(DCIR|BENEFICIAIRE|PMSI_MCO|CAUSES_DECES)"/.test(text)), 'no prose outside the generated tables');
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  });
});
