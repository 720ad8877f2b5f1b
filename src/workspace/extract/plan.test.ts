import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AuditLog, generateLogKey } from '../../audit/index.ts';
import { CatalogService } from '../../catalog/index.ts';
import { AppError } from '../../errors.ts';
import type { PermitDocument } from '../../governance/index.ts';
import { extractCatalogFrom } from '../../main.ts';
import { openTestDb, testDbKind, type TestDb } from '../../../test/helpers/db.ts';
import { planExtract, type ExtractCatalog } from './plan.ts';

let t: TestDb;
let catalog: ExtractCatalog;

before(async () => {
  t = await openTestDb();
  const c = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
  await c.importBuiltin({ kind: 'service', id: 'test' });
  catalog = extractCatalogFrom(c);
});
after(async () => t.drop());

const permit = (datasets: PermitDocument['datasets'], criteria: PermitDocument['population']['criteria'] = []): PermitDocument => ({
  schemaVersion: 1, projectId: 'p1', title: 't', datasets, years: { from: 2020, to: 2021 }, population: { description: 'x', criteria },
  members: [{ personId: 'pi', role: 'principal_investigator' }], tools: ['web_sql'], disclosure: { minimumCellCount: 11 }, validFrom: '2026-01-01', validUntil: '2026-12-31',
});

async function problems(doc: PermitDocument): Promise<string[]> {
  try {
    await planExtract(doc, 1, catalog);
  } catch (e) {
    assert.ok(e instanceof AppError && e.code === 'invalid');
    return (e.details?.['problems'] as string[]);
  }
  return [];
}

test(`person pseudonyms are re-keyed, other columns (join keys included) are kept as they are (${testDbKind})`, async () => {
  const plan = await planExtract(permit([{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'DCT_ORD_NUM', 'prs_nat_ref'] }, { table: 'T_MCOaaC', columns: ['NIR_ANO_17', 'ETA_NUM'] }] }]), 1, catalog);
  assert.deepEqual(plan.tables.map((x) => x.columns.map((c) => [c.name, c.source, c.rekey])), [
    [['ben_nir_psa', 'BEN_NIR_PSA', true], ['dct_ord_num', 'DCT_ORD_NUM', false], ['prs_nat_ref', 'PRS_NAT_REF', false]],
    [['nir_ano_17', 'NIR_ANO_17', true], ['eta_num', 'ETA_NUM', false]],
  ]);
});

test(`years come from the catalogue's date column, else the yearly files, else none, each with its reason (${testDbKind})`, async () => {
  const plan = await planExtract(permit([{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['PRS_NAT_REF'] }, { table: 'T_MCOaaB', columns: ['GRG_GHM'] }, { table: 'IR_BEN_R', columns: ['BEN_SEX_COD'] }] }]), 1, catalog);
  const [prs, mco, ben] = plan.tables;
  assert.deepEqual(prs?.years.kind === 'column' && [prs.years.column, prs.years.columnType, prs.years.from, prs.years.to], ['FLX_DIS_DTD', 'date', 2020, 2021]);
  assert.match(prs?.years.reason ?? '', /FLX_DIS_DTD.*yearColumn/);
  assert.equal(mco?.years.kind, 'file');
  assert.match(mco?.years.reason ?? '', /one file per year/);
  assert.equal(ben?.years.kind, 'none');
});

test(`a criterion filters its own table's rows and selects persons in the others (${testDbKind})`, async () => {
  const plan = await planExtract(permit([{ dataset: 'snds', tables: [{ table: 'IR_BEN_R', columns: ['BEN_NIR_PSA'] }, { table: 'T_MCOaaC', columns: ['NIR_ANO_17'] }] }], [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }, { column: 'snds.ER_PRS_F.PRS_NAT_REF', op: 'between', values: [1000, 2000] }]), 1, catalog);
  const [ben, mco] = plan.tables;
  assert.deepEqual(ben?.population.predicates, [{ column: 'BEN_SEX_COD', op: 'in', values: [2] }]);
  assert.deepEqual(ben?.population.viaPerson?.sources.map((s) => [s.table, s.personColumn, s.predicates.map((x) => x.column)]), [['ER_PRS_F', 'BEN_NIR_PSA', ['PRS_NAT_REF']]]);
  assert.deepEqual(mco?.population.predicates, []);
  assert.equal(mco?.population.viaPerson?.personColumn, 'NIR_ANO_17');
  assert.deepEqual(mco?.population.viaPerson?.sources.map((s) => s.table), ['IR_BEN_R', 'ER_PRS_F']);
  assert.match(mco?.population.reason ?? '', /persons \(NIR_ANO_17\) with a row of IR_BEN_R where BEN_SEX_COD in 2/);
});

test(`a direct identifier is refused in columns and criteria, naming where (${testDbKind})`, async () => {
  const p = await problems(permit([{ dataset: 'snds', tables: [{ table: 'IR_BEN_R', columns: ['BEN_NIR_PSA', 'BEN_NIR_IDT'] }] }], [{ column: 'snds.IR_BEN_R.BEN_NIR_IDT', op: 'in', values: ['x'] }]));
  assert.deepEqual(p, [
    '/population/criteria/0: IR_BEN_R.BEN_NIR_IDT is a direct identifier; a population is defined on other columns',
    '/datasets/0/tables/0/columns/1: IR_BEN_R.BEN_NIR_IDT is a direct identifier and never reaches an extract',
  ]);
});

test(`a table without a person pseudonym cannot take another table's criteria; unknown tables and columns are named (${testDbKind})`, async () => {
  const p = await problems(permit([{ dataset: 'snds', tables: [{ table: 'ER_PHA_F', columns: ['PHA_PRS_C13'] }, { table: 'ER_PRS_F', columns: ['NOPE'] }, { table: 'NO_SUCH', columns: ['X'] }] }], [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'between', values: [1] }, { column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }]));
  assert.equal(p.length, 5, p.join('\n'));
  assert.match(p.join('\n'), /\/datasets\/0\/tables\/2: dataset snds has no table NO_SUCH/);
  assert.match(p.join('\n'), /criteria\/0: between needs exactly two values/);
  assert.match(p.join('\n'), /tables\/0: ER_PHA_F has no person pseudonym, so the population criteria on snds.IR_BEN_R cannot be applied to it/);
  assert.match(p.join('\n'), /tables\/1\/columns\/0: snds.ER_PRS_F has no column NOPE/);
  assert.match(p.join('\n'), /tables\/1: no column of ER_PRS_F can be extracted/);
});
