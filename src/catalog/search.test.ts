/**
 * Search over the built-in SNDS catalogue finds what SNDS users type (issue 15, item 6): plurals
 * and accents, French and English words for the same thing, nomenclature codes, and puts a table
 * before its columns. Real catalogue import on PGlite or PostgreSQL (ENCLAVE_TEST_DB).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { CatalogService, type SearchHit } from './index.ts';

const label = (h: SearchHit): string =>
  h.kind === 'dataset' ? h.dataset : h.kind === 'table' ? h.table : h.kind === 'column' ? `${h.table}.${h.column}` : h.nomenclature;

describe('searching the SNDS catalogue as its users do', () => {
  let t: TestDb;
  let catalog: CatalogService;
  before(async () => {
    t = await openTestDb();
    catalog = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    await catalog.importBuiltin({ kind: 'service', id: 'test' });
  });
  after(async () => {
    await t.drop();
  });

  const firstTable = async (q: string): Promise<string | undefined> => {
    const hits = await catalog.search(q, { limit: 200 });
    const table = hits.find((h) => h.kind === 'table');
    return table === undefined ? undefined : label(table);
  };

  for (const [q, table] of [
    ['médicaments', 'ER_PHA_F'], ['medicament', 'ER_PHA_F'], ['délivrance', 'ER_PHA_F'], ['dispensation', 'ER_PHA_F'],
    ['pharmacy', 'ER_PHA_F'], ['drug', 'ER_PHA_F'], ['dispensing', 'ER_PHA_F'], ['pharmacie', 'ER_PHA_F'],
  ] as const) {
    test(`"${q}" finds ${table} as the first table`, async () => {
      assert.equal(await firstTable(q), table);
    });
  }

  test('"hospitalisation" and "hospital stays" find a PMSI table first', async () => {
    assert.match((await firstTable('hospitalisation')) ?? '', /^T_MCO/);
    assert.match((await firstTable('hospital stays')) ?? '', /^T_MCO/);
  });

  test('"médecin" and "doctor" find the prescriber and performer columns', async () => {
    for (const q of ['médecin', 'doctor']) {
      const hits = (await catalog.search(q, { limit: 200 })).map(label);
      assert.ok(hits.includes('ER_PRS_F.PFS_PRE_NUM'), `${q}: ${hits.join(', ')}`);
      assert.ok(hits.includes('ER_PRS_F.PFS_EXE_NUM'), `${q}: ${hits.join(', ')}`);
    }
  });

  test('a CIM-10 code finds its nomenclature and the columns coded with it', async () => {
    const hits = await catalog.search('E11', { limit: 200 });
    assert.ok(hits.some((h) => h.kind === 'nomenclature' && h.nomenclature === 'IR_CIM_V'), hits.map(label).join(', '));
    const coded = await t.db.query<{ table_name: string; name: string }>("SELECT table_name, name FROM catalog_columns WHERE nomenclature = 'IR_CIM_V'");
    assert.ok(coded.length > 0);
    for (const c of coded) assert.ok(hits.some((h) => h.kind === 'column' && h.table === c.table_name && h.column === c.name), `${c.table_name}.${c.name}`);
  });

  test('a CIP13 code finds the drug nomenclature and the dispensed-drug column; an ATC code the pharmacy table', async () => {
    const hits = (await catalog.search('3400927674938', { limit: 200 })).map(label);
    assert.ok(hits.includes('IR_PHA_R'), hits.join(', '));
    assert.ok(hits.includes('ER_PHA_F.PHA_PRS_C13'), hits.join(', '));
    assert.equal(await firstTable('A10BA02'), 'ER_PHA_F');
  });

  test('a table comes before its own columns', async () => {
    for (const q of ['pharmacie', 'prestations', 'bénéficiaires']) {
      const hits = await catalog.search(q, { limit: 200 });
      const tableAt = hits.findIndex((h) => h.kind === 'table');
      const table = hits[tableAt];
      assert.ok(table !== undefined && table.kind === 'table', q);
      const firstColumn = hits.findIndex((h) => h.kind === 'column' && h.table === table.table);
      assert.ok(firstColumn === -1 || tableAt < firstColumn, `${q}: table at ${tableAt}, its first column at ${firstColumn}`);
    }
  });
});
