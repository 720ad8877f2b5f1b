import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { isAppError } from '../errors.ts';
import { MIN_LANDED_SHARE, shortTables } from './ingest-service.ts';

const operator = { kind: 'person', id: 'test:operator' } as const;

const people = {
  name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'BEN_SEX_COD', type: 'integer', nomenclature: 'IR_SEX_V', constraints: { required: true, enum: [1, 2] } },
    { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
  ],
};
const drugs = {
  name: 'ER_PHA_F', title: 'drugs', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
  foreignKeys: [{ fields: ['BEN_NIR_PSA'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA'] } }],
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
    { name: 'PHA_ACT_QSN', type: 'number', constraints: { required: true, minimum: -99, maximum: 99 } },
  ],
};

const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;
let p: TestPlatform;
let n = 0;

async function dataset(): Promise<string> {
  const name = `r${++n}`;
  await p.catalog.importDirectory(join(p.dir, 'schema'), { dataset: name, actor: operator });
  return name;
}

async function delivery(files: Record<string, string[]>): Promise<string> {
  const dir = join(p.dir, 'deliveries', `d${++n}`);
  await mkdir(dir, { recursive: true });
  for (const [f, lines] of Object.entries(files)) await writeFile(join(dir, f), `${lines.join('\n')}\n`);
  return dir;
}

const peopleRows = (k: number, bad: (i: number) => string | undefined = () => undefined): string[] =>
  ['BEN_NIR_PSA;BEN_SEX_COD;BEN_NAI_ANN', ...Array.from({ length: k }, (_, i) => bad(i) ?? `${psa(i)};${1 + (i % 2)};${1950 + (i % 40)}`)];
const drugRows = (k: number, date: (i: number) => string = (i) => `202${i % 3}-0${1 + (i % 9)}-1${i % 10}`): string[] =>
  ['BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN', ...Array.from({ length: k }, (_, i) => `${psa(i % 20)};${date(i)};2`)];

before(async () => {
  p = await openTestPlatform();
  await mkdir(join(p.dir, 'schema', 'nomenclatures'), { recursive: true });
  await writeFile(join(p.dir, 'schema', 'IR_BEN_R.json'), JSON.stringify(people));
  await writeFile(join(p.dir, 'schema', 'ER_PHA_F.json'), JSON.stringify(drugs));
  await writeFile(join(p.dir, 'schema', 'nomenclatures', 'IR_SEX_V.csv'), 'SEX_COD;SEX_LIB\n1;M\n2;F\n');
});
after(async () => p.close());

test(`a row keeps every rule it breaks, each under its column and name (${testDbKind})`, async () => {
  const ds = await dataset();
  // Line 3: sex 3 breaks enum and nomenclature, year 18x0 breaks type; line 5: a 16-character pseudonym (pattern) and year 1800 (range).
  const dir = await delivery({ 'IR_BEN_R.csv': peopleRows(40, (i) => (i === 1 ? `${psa(1)};3;18x0` : i === 3 ? `${psa(3).slice(1)};1;1800` : undefined)) });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator });
  assert.equal(r.rowsQuarantined, 2);
  const got = r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`).sort();
  assert.deepEqual(got, ['3:BEN_NAI_ANN:type', '3:BEN_SEX_COD:enum', '3:BEN_SEX_COD:nomenclature', '5:BEN_NAI_ANN:range', '5:BEN_NIR_PSA:pattern']);
  assert.deepEqual(r.quarantine.byTable['IR_BEN_R']?.violations, { BEN_NAI_ANN: { type: 1, range: 1 }, BEN_SEX_COD: { enum: 1, nomenclature: 1 }, BEN_NIR_PSA: { pattern: 1 } });
  assert.equal(r.quarantine.storedEntries, 5);
});

test('the stored report is complete across files and served in pages, filtered by table, column or rule', async () => {
  const ds = await dataset();
  // 1,300 bad people (two entries each: enum and nomenclature) among 15,000, and 700 bad drug rows
  // among 9,000 (a malformed date): 3,300 entries over two files, more than any stored sample.
  const dir = await delivery({
    'IR_BEN_R.csv': peopleRows(15_000, (i) => (i % 11 === 5 && i < 14_300 ? `${psa(i)};7;1960` : undefined)),
    'ER_PHA_F.csv': drugRows(9000, (i) => (i % 12 === 0 && i < 8400 ? '31/12/2020' : `2021-0${1 + (i % 9)}-1${i % 10}`)),
  });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator });
  assert.equal(r.rowsQuarantined, 1300 + 700);
  assert.equal(r.quarantine.storedEntries, 3300);
  assert.deepEqual(r.quarantine.byTable['ER_PHA_F'], { table: 'ER_PHA_F', files: ['ER_PHA_F.csv'], rowsDelivered: 9000, rowsLanded: 8300, rowsQuarantined: 700, violations: { EXE_SOI_DTD: { type: 700 } } });
  const v = await p.ingest.version(ds);
  const seen: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await p.ingest.quarantine(ds, v.version, { offset, limit: 1000 });
    assert.equal(page.storedEntries, 3300);
    seen.push(...page.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`));
    if (page.entries.length < 1000) break;
  }
  assert.equal(seen.length, 3300);
  assert.equal(new Set(seen).size, 3300, 'pages do not overlap');
  assert.deepEqual([...new Set(seen.map((s) => s.split(':')[0]))].sort(), ['ER_PHA_F.csv', 'IR_BEN_R.csv'], 'every file with bad rows is in the report');
  assert.ok(seen.includes('IR_BEN_R.csv:7:BEN_SEX_COD:nomenclature') && seen.includes('ER_PHA_F.csv:2:EXE_SOI_DTD:type'));
  const drugsOnly = await p.ingest.quarantine(ds, v.version, { table: 'ER_PHA_F', limit: 10_000 });
  assert.equal(drugsOnly.entries.length, 700);
  assert.ok(drugsOnly.entries.every((e) => e.value === '99/99/9999'), 'shapes, never values');
  assert.equal((await p.ingest.quarantine(ds, v.version, { rule: 'enum', limit: 10_000 })).entries.length, 1300);
  await assert.rejects(p.ingest.quarantine(ds, v.version, { limit: 10_001 }), /limit 10001 must be a whole number from 1 to 10000/);
});

test('a table that would land nothing refuses the delivery with its reasons, publishes nothing, and keeps the report', async () => {
  const ds = await dataset();
  // Dates as dd/MM/yyyy where the catalogue says ISO: every drug row fails.
  const dir = await delivery({ 'IR_BEN_R.csv': peopleRows(20), 'ER_PHA_F.csv': drugRows(50, () => '15/03/2021') });
  const err = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator }).then(() => undefined, (e: unknown) => e);
  assert.ok(isAppError(err), String(err));
  assert.equal(err.code, 'invalid');
  assert.match(err.message, /delivery refused, nothing published: 1 table would land under 90 % of its rows: ER_PHA_F landed 0 of 50 \(EXE_SOI_DTD type ×50\)/);
  assert.match(err.hint ?? '', /--accept-short-tables/);
  await assert.rejects(p.ingest.version(ds), /no ingested version/);
  const runId = (err.details as { runId: string }).runId;
  const report = await p.ingest.runReport(runId, { limit: 100 });
  assert.equal(report.status, 'failed');
  assert.deepEqual(Object.keys(report.byTable), ['ER_PHA_F', 'IR_BEN_R'], 'every delivered table, the one that landed nothing too');
  assert.equal(report.byTable['ER_PHA_F']?.rowsLanded, 0);
  assert.equal(report.byTable['IR_BEN_R']?.rowsLanded, 20);
  assert.equal(report.entries.length, 50);
  const fail = await p.t.db.query<{ details: { shortTables?: string[] } }>("SELECT details FROM audit_events WHERE action = 'ingest.fail' ORDER BY seq DESC LIMIT 1");
  assert.deepEqual(fail[0]?.details.shortTables, ['ER_PHA_F']);
});

test('the operator may publish such a delivery anyway, and the override is audited with the tables', async () => {
  const ds = await dataset();
  const dir = await delivery({ 'IR_BEN_R.csv': peopleRows(20), 'ER_PHA_F.csv': drugRows(50, () => '15/03/2021') });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, acceptShortTables: true });
  assert.equal(r.rowsAccepted, 20);
  assert.equal(r.quarantine.byTable['ER_PHA_F']?.rowsLanded, 0);
  const events = await p.t.db.query<{ action: string; details: Record<string, unknown> }>("SELECT action, details FROM audit_events WHERE action IN ('ingest.start', 'ingest.commit') ORDER BY seq DESC LIMIT 2");
  const commit = events.find((e) => e.action === 'ingest.commit');
  const start = events.find((e) => e.action === 'ingest.start');
  assert.deepEqual(commit?.details['shortTablesAccepted'], [{ table: 'ER_PHA_F', rowsDelivered: 50, rowsLanded: 0 }]);
  assert.equal(start?.details['acceptShortTables'], true);
});

test('the landed share is a boundary: at the share a table passes, one row under it fails', () => {
  const t = (landed: number) => ({ byTable: { T: { table: 'T', files: ['T.csv'], rowsDelivered: 10, rowsLanded: landed, rowsQuarantined: 10 - landed, violations: { C: { type: 10 - landed } } } } });
  assert.equal(MIN_LANDED_SHARE, 0.9);
  assert.deepEqual(shortTables(t(9), 0.9), []);
  assert.deepEqual(shortTables(t(8), 0.9).map((s) => [s.table, s.reasons]), [['T', ['C type ×2']]]);
  assert.deepEqual(shortTables(t(0), 0).map((s) => s.table), ['T'], 'landing nothing fails even with a share of 0');
  assert.deepEqual(shortTables({ byTable: { E: { table: 'E', files: ['E.csv'], rowsDelivered: 0, rowsLanded: 0, rowsQuarantined: 0, violations: {} } } }, 0.9), [], 'an empty file loses nothing');
});

test('a share outside 0..1 is refused before anything runs', async () => {
  const ds = await dataset();
  const dir = await delivery({ 'IR_BEN_R.csv': peopleRows(3) });
  await assert.rejects(p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, minLandedShare: 1.5 }), /minimum landed share 1.5 is not between 0 and 1/);
});

test('foreign keys between delivered tables are measured on pseudonyms: orphan rows per relation and file', async () => {
  const ds = await dataset();
  // Drugs name people 0..19; the delivery's IR_BEN_R holds 0..9: half the drug rows are orphans.
  const dir = await delivery({ 'IR_BEN_R.csv': peopleRows(10), 'ER_PHA_F.csv': drugRows(40) });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, checkRelations: true });
  assert.deepEqual(r.quarantine.relations, [{ relation: 'ER_PHA_F(BEN_NIR_PSA) → IR_BEN_R(BEN_NIR_PSA)', rowsChecked: 40, orphans: 20, matchesNothing: false, orphansByFile: { ER_PHA_F: 20 } }]);
  const stored = await p.ingest.runReport(r.runId);
  assert.deepEqual(stored.relations, r.quarantine.relations);
});

test('a relation that matches nothing is reported as such, and a threshold refuses the delivery', async () => {
  const ds = await dataset();
  const strangers = ['BEN_NIR_PSA;BEN_SEX_COD;BEN_NAI_ANN', ...Array.from({ length: 5 }, (_, i) => `Q${String(i).padStart(16, '0')};1;1950`)];
  const dir = await delivery({ 'IR_BEN_R.csv': strangers, 'ER_PHA_F.csv': drugRows(30) });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, checkRelations: true });
  assert.equal(r.quarantine.relations?.[0]?.matchesNothing, true);
  assert.equal(r.quarantine.relations?.[0]?.orphans, 30);
  const ds2 = await dataset();
  const dir2 = await delivery({ 'IR_BEN_R.csv': peopleRows(10), 'ER_PHA_F.csv': drugRows(40) });
  await assert.rejects(p.ingest.ingest({ dataset: ds2, inputs: [dir2], actor: operator, maxOrphanShare: 0.4 }), /delivery refused, nothing published: 1 relation above 40 % orphan rows: ER_PHA_F\(BEN_NIR_PSA\) → IR_BEN_R\(BEN_NIR_PSA\) 20 of 40 rows match nothing/);
  await assert.rejects(p.ingest.version(ds2), /no ingested version/);
  const ok = await p.ingest.ingest({ dataset: ds2, inputs: [dir2], actor: operator, maxOrphanShare: 0.5 });
  assert.equal(ok.version, 1, 'at the threshold the delivery passes');
});
