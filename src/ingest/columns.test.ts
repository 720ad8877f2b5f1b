import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { parseProfile } from './profile.ts';

/**
 * A delivery carries fewer columns than the catalogue knows (the whole SNDS catalogue has 123
 * columns for ER_PRS_F, a delivery 37): the version's files hold the delivered columns only, and
 * its manifest says which. Flags spelled True/False by the profile are read as 1/0.
 */
const operator = { kind: 'person', id: 'test:operator' } as const;
let p: TestPlatform;

const schema = {
  'IR_BEN_R.json': {
    name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
    fields: [
      { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
      { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
      { name: 'BEN_IDT_TOP', type: 'integer', constraints: { enum: [0, 1] } },
      { name: 'BEN_RES_COM', type: 'string' },
      { name: 'BEN_DCD_DTE', type: 'date' },
    ],
  },
  'ER_PHA_F.json': {
    name: 'ER_PHA_F', title: 'drugs', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
    foreignKeys: [
      { fields: ['BEN_NIR_PSA'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA'] } },
      { fields: ['ORG_CLE_NUM'], reference: { resource: 'IR_BEN_R', fields: ['BEN_RES_COM'] } },
    ],
    fields: [
      { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
      { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
      { name: 'PHA_ACT_QSN', type: 'integer', constraints: { required: true, minimum: -99, maximum: 99 } },
      { name: 'PHA_PRS_MNT', type: 'number' },
      { name: 'PHA_SUB_RET', type: 'string', constraints: { required: true, enum: ['0', '1'] } },
      { name: 'ORG_CLE_NUM', type: 'string' },
      { name: 'PHA_CPA_PCP', type: 'string' },
    ],
  },
};

const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;
let n = 0;

before(async () => {
  p = await openTestPlatform();
  const dir = join(p.dir, 'schema');
  await mkdir(dir, { recursive: true });
  for (const [f, s] of Object.entries(schema)) await writeFile(join(dir, f), JSON.stringify(s));
});
after(async () => p.close());

async function dataset(): Promise<string> {
  const name = `c${++n}`;
  await p.catalog.importDirectory(join(p.dir, 'schema'), { dataset: name, actor: operator });
  return name;
}

async function deliver(files: Record<string, string[]>): Promise<string> {
  const dir = join(p.dir, 'deliveries', `d${++n}`);
  await mkdir(dir, { recursive: true });
  for (const [name, lines] of Object.entries(files)) await writeFile(join(dir, name), `${lines.join('\n')}\n`);
  return dir;
}

/** The columns of a table as a version's files hold them (without the `year` its paths give). */
async function columnsOf(ds: string, table: string): Promise<string[]> {
  const v = await p.ingest.version(ds);
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, v);
    return (await s.all<{ column_name: string }>(`DESCRIBE ds.${table}`)).map((r) => r.column_name).filter((c) => c !== 'year');
  } finally {
    s.close();
  }
}

test(`a delivery with fewer columns than the catalogue writes only its columns, and its manifest lists them (${testDbKind})`, async () => {
  const ds = await dataset();
  const people = ['BEN_NIR_PSA;BEN_NAI_ANN', ...Array.from({ length: 10 }, (_, i) => `${psa(i)};${1950 + i}`)];
  // Two files of one table carrying different columns: the table is written with their union.
  const jan = ['BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN;PHA_SUB_RET', ...Array.from({ length: 20 }, (_, i) => `${psa(i % 10)};2020-01-${String(1 + i).padStart(2, '0')};${i};0`)];
  const feb = ['EXE_SOI_DTD;BEN_NIR_PSA;PHA_ACT_QSN;PHA_SUB_RET;PHA_PRS_MNT', ...Array.from({ length: 20 }, (_, i) => `2021-02-${String(1 + i).padStart(2, '0')};${psa(i % 10)};${i};1;${i}.5`)];
  feb[4] = `2021-02-04;${psa(3)};${'x'};1;3.5`; // line 5: quantity not an integer
  const dir = await deliver({ 'IR_BEN_R.csv': people, 'ER_PHA_F_202001.csv': jan, 'ER_PHA_F_202102.csv': feb });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator });
  assert.equal(r.rowsAccepted, 49);
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`), ['ER_PHA_F_202102.csv:5:PHA_ACT_QSN:type']);
  const v = await p.ingest.version(ds);
  assert.deepEqual(v.manifest.columns, {
    ER_PHA_F: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PHA_ACT_QSN', 'PHA_PRS_MNT', 'PHA_SUB_RET'],
    IR_BEN_R: ['BEN_NIR_PSA', 'BEN_NAI_ANN'],
  });
  assert.deepEqual(await columnsOf(ds, 'IR_BEN_R'), ['BEN_NIR_PSA', 'BEN_NAI_ANN']);
  assert.deepEqual(await columnsOf(ds, 'ER_PHA_F'), ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PHA_ACT_QSN', 'PHA_PRS_MNT', 'PHA_SUB_RET']);
  // Every file of the table reads under one column list; the file without PHA_PRS_MNT has it empty.
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, v);
    const rows = await s.all<{ y: number; n: bigint; amounts: bigint; qty: number }>('SELECT year(EXE_SOI_DTD) AS y, count(*) AS n, count(PHA_PRS_MNT) AS amounts, sum(PHA_ACT_QSN) AS qty FROM ds.ER_PHA_F GROUP BY 1 ORDER BY 1');
    assert.deepEqual(rows.map((x) => [Number(x.y), Number(x.n), Number(x.amounts), Number(x.qty)]), [[2020, 20, 0, 190], [2021, 19, 19, 187]]);
  } finally {
    s.close();
  }
});

test(`a relation whose key the delivery does not carry checks no row, and one to a key the parent lacks matches nothing (${testDbKind})`, async () => {
  const ds = await dataset();
  const people = ['BEN_NIR_PSA;BEN_NAI_ANN', ...Array.from({ length: 5 }, (_, i) => `${psa(i)};${1950 + i}`)];
  const drugs = ['BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN;PHA_SUB_RET;ORG_CLE_NUM', ...Array.from({ length: 10 }, (_, i) => `${psa(i % 5)};2020-01-0${1 + (i % 9)};1;0;75056`)];
  const r = await p.ingest.ingest({ dataset: ds, inputs: [await deliver({ 'IR_BEN_R.csv': people, 'ER_PHA_F.csv': drugs })], actor: operator, checkRelations: true });
  assert.deepEqual(r.quarantine.relations, [
    { relation: 'ER_PHA_F(BEN_NIR_PSA) → IR_BEN_R(BEN_NIR_PSA)', rowsChecked: 10, orphans: 0, matchesNothing: false, orphansByFile: {} },
    { relation: 'ER_PHA_F(ORG_CLE_NUM) → IR_BEN_R(BEN_RES_COM)', rowsChecked: 10, orphans: 10, matchesNothing: true, orphansByFile: { ER_PHA_F: 10 } },
  ]);
  const ds2 = await dataset();
  const noKey = ['EXE_SOI_DTD;PHA_ACT_QSN;PHA_SUB_RET;BEN_NIR_PSA', ...Array.from({ length: 4 }, (_, i) => `2020-01-0${1 + i};1;0;${psa(i)}`)];
  const r2 = await p.ingest.ingest({ dataset: ds2, inputs: [await deliver({ 'IR_BEN_R.csv': people, 'ER_PHA_F.csv': noKey })], actor: operator, checkRelations: true });
  assert.deepEqual(r2.quarantine.relations?.map((x) => [x.relation, x.rowsChecked, x.orphans]), [
    ['ER_PHA_F(BEN_NIR_PSA) → IR_BEN_R(BEN_NIR_PSA)', 4, 0],
    ['ER_PHA_F(ORG_CLE_NUM) → IR_BEN_R(BEN_RES_COM)', 0, 0],
  ]);
});

test(`flags spelled True/False are detected, and land as 1/0 in flag columns; another spelling breaks the enum on its line (${testDbKind})`, async () => {
  const ds = await dataset();
  const profile = parseProfile({ delimiter: ';', dates: { default: 'dd/MM/yyyy' }, flags: { true: 'True', false: 'False' } });
  const people = ['BEN_NIR_PSA;BEN_NAI_ANN;BEN_IDT_TOP;BEN_RES_COM', ...Array.from({ length: 10 }, (_, i) => `${psa(i)};${1950 + i};${i % 3 === 0 ? 'True' : 'False'};${i % 2 === 0 ? 'True' : '75056'}`)];
  const drugs = ['BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN;PHA_SUB_RET', ...Array.from({ length: 20 }, (_, i) => `${psa(i % 10)};${String(1 + i).padStart(2, '0')}/03/2021;${i};${i % 4 === 0 ? 'True' : 'False'}`)];
  drugs[7] = `${psa(6)};07/03/2021;6;Yes`; // line 8: not a flag spelling
  drugs[9] = `${psa(8)};31/02/2021;8;False`; // line 10: no 31 February
  const dir = await deliver({ 'IR_BEN_R.csv': people, 'ER_PHA_F.csv': drugs });
  // Detection reads the same spellings from the files.
  const detected = await p.ingest.detect(ds, [dir]);
  assert.deepEqual([detected.profile.flags, detected.profile.dates.default], [profile.flags, 'dd/MM/yyyy']);
  assert.equal(detected.files.find((f) => f.table === 'IR_BEN_R')?.columns.find((c) => c.name === 'BEN_IDT_TOP')?.inferred, 'flag True/False');
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile });
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}:${e.value}`), ['8:PHA_SUB_RET:enum:AAA', '10:EXE_SOI_DTD:type:99/99/9999']);
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, await p.ingest.version(ds));
    const flags = await s.all<{ top: bigint; n: bigint }>('SELECT BEN_IDT_TOP AS top, count(*) AS n FROM ds.IR_BEN_R GROUP BY 1 ORDER BY 1');
    assert.deepEqual(flags.map((x) => [Number(x.top), Number(x.n)]), [[0, 6], [1, 4]]);
    // A string column that is not a flag keeps the text as delivered.
    const text = await s.all<{ n: bigint }>("SELECT count(*) AS n FROM ds.IR_BEN_R WHERE BEN_RES_COM = 'True'");
    assert.equal(Number(text[0]?.n), 5);
    const sub = await s.all<{ v: string; n: bigint }>('SELECT PHA_SUB_RET AS v, count(*) AS n FROM ds.ER_PHA_F GROUP BY 1 ORDER BY 1');
    assert.deepEqual(sub.map((x) => [x.v, Number(x.n)]), [['0', 14], ['1', 4]]);
  } finally {
    s.close();
  }
});

test('a profile\'s flag spellings must be two different non-empty words', () => {
  assert.throws(() => parseProfile({ flags: { true: 'True' } }), /flags must give two different non-empty spellings/);
  assert.throws(() => parseProfile({ flags: { true: 'X', false: 'X' } }), /flags must give two different/);
  assert.throws(() => parseProfile({ flags: { true: 'T', false: 'F', maybe: '?' } }), /flags must give two different/);
  assert.deepEqual(parseProfile({ flags: { true: 'Oui', false: 'Non' } }).flags, { true: 'Oui', false: 'Non' });
  assert.equal(parseProfile({}).flags, undefined);
});
