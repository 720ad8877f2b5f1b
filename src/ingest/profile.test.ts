import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { parseProfile } from './profile.ts';

/**
 * Deliveries in the producers' conventions: detected (`detect`), then ingested with the inferred
 * profile and no hand edit; the rows spoiled on purpose, and only those, are quarantined on the
 * right line, column and rule.
 */
const operator = { kind: 'person', id: 'test:operator' } as const;
let p: TestPlatform;

const schema = {
  'IR_BEN_R.json': {
    name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
    fields: [
      { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
      { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
      { name: 'BEN_RES_COM', type: 'string' },
      { name: 'BEN_DCD_DTE', type: 'date' },
      { name: 'BEN_NAI_MOI', type: 'date', format: '%m' },
    ],
  },
  'ER_PHA_F.json': {
    name: 'ER_PHA_F', title: 'drugs', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
    foreignKeys: [{ fields: ['BEN_NIR_PSA'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA'] } }],
    fields: [
      { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
      { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
      { name: 'FLX_TRT_DTD', type: 'datetime' },
      { name: 'PHA_ACT_QSN', type: 'integer', constraints: { required: true, minimum: -99, maximum: 99 } },
      { name: 'PHA_PRS_MNT', type: 'number' },
      { name: 'PHA_TOP_GEN', type: 'boolean' },
    ],
  },
  'T_MCOaaC.json': {
    name: 'T_MCOaaC', title: 'stays', product: 'TEST', primaryKey: [],
    fields: [
      { name: 'NIR_ANO_17', type: 'string', constraints: { required: true } },
      { name: 'ENT_DAT', type: 'date', format: '%d%m%Y' },
    ],
  },
};

const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;

before(async () => {
  p = await openTestPlatform();
  const dir = join(p.dir, 'schema');
  await mkdir(dir, { recursive: true });
  for (const [f, s] of Object.entries(schema)) await writeFile(join(dir, f), JSON.stringify(s));
});
after(async () => p.close());

let n = 0;
async function dataset(): Promise<string> {
  const name = `p${++n}`;
  await p.catalog.importDirectory(join(p.dir, 'schema'), { dataset: name, actor: operator });
  return name;
}

/** Writes rows (arrays of fields) with the producer's separator, encoding and compression. */
async function deliver(files: Record<string, string[][]>, o: { sep: string; latin1?: boolean; gzip?: boolean }): Promise<string> {
  const dir = join(p.dir, 'deliveries', `d${++n}`);
  await mkdir(dir, { recursive: true });
  for (const [name, rows] of Object.entries(files)) {
    // A field holding the separator (a decimal comma in a ','-separated file) is quoted.
    const text = `${rows.map((r) => r.map((f) => (f.includes(o.sep) ? `"${f}"` : f)).join(o.sep)).join('\n')}\n`;
    const bytes = Buffer.from(text, o.latin1 === true ? 'latin1' : 'utf8');
    await writeFile(join(dir, o.gzip === true ? `${name}.gz` : name), o.gzip === true ? gzipSync(bytes) : bytes);
  }
  return dir;
}

test(`a CNAM-style extraction (',' Latin-1 gzip'd, dd/MM/yyyy, SAS '.', 61.0, exponents, True/False, extra column, dated file names) is detected and ingested with no edit (${testDbKind})`, async () => {
  const ds = await dataset();
  const people = [['BEN_NIR_PSA', 'BEN_NAI_ANN', 'BEN_RES_COM', 'BEN_DCD_DTE', 'EXTRA_COL']];
  for (let i = 0; i < 30; i++) people.push([psa(i), `${1950 + i}.0`, i % 3 === 0 ? 'Évry' : 'Sète', i % 5 === 0 ? '03/02/2022' : '.', 'x']);
  people[8] = [psa(7), '19x0', 'Orléans', '.', 'x']; // line 9: year not a number
  const drugs = [['BEN_NIR_PSA', 'EXE_SOI_DTD', 'FLX_TRT_DTD', 'PHA_ACT_QSN', 'PHA_PRS_MNT', 'PHA_TOP_GEN']];
  for (let i = 0; i < 60; i++) drugs.push([psa(i % 30), `1${i % 9}/0${1 + (i % 9)}/202${i % 3}`, '20NOV2021:13:13:57', `${1 + (i % 5)}.0`, i % 4 === 0 ? '5.119e+1' : '12,5', i % 2 === 0 ? 'True' : 'False']);
  drugs[11] = [psa(1), '31/02/2021', '20nov2021:13:13:57', '2.0', '1', 'True']; // line 12: no 31 February
  drugs[21] = [psa(2), '12/03/2021', '20NOV2021:13:13:57', '.', '1', 'False']; // line 22: required quantity missing
  const stays = [['NIR_ANO_17', 'ENT_DAT'], ['A0000000000000001', '01032019'], ['A0000000000000002', '31122019']];
  const dir = await deliver({ 'IR_BEN_R.csv': people, 'ER_PHA_F_202101.csv': drugs, 'T_MCO19C.csv': stays }, { sep: ',', latin1: true, gzip: true });

  const d = await p.ingest.detect(ds, [dir]);
  assert.deepEqual(d.unknownFiles, []);
  // ASCII-only files read the same either way; one file with Latin-1 accents makes the delivery Latin-1.
  assert.deepEqual(d.files.map((f) => [f.file, f.table, f.year, f.encoding, f.delimiter, f.gzip]), [
    ['ER_PHA_F_202101.csv.gz', 'ER_PHA_F', null, 'utf-8', ',', true],
    ['IR_BEN_R.csv.gz', 'IR_BEN_R', null, 'latin-1', ',', true],
    ['T_MCO19C.csv.gz', 'T_MCOaaC', 2019, 'utf-8', ',', true],
  ]);
  assert.deepEqual(d.files[1]?.unknownColumns, ['EXTRA_COL']);
  const inferred = Object.fromEntries(d.files.flatMap((f) => f.columns.map((c) => [`${f.table ?? ''}.${c.name}`, c.inferred])));
  assert.equal(inferred['ER_PHA_F.FLX_TRT_DTD'], 'ddMMMyyyy:HH:mm:ss');
  assert.equal(inferred['T_MCOaaC.ENT_DAT'], 'ddMMyyyy');
  assert.equal(inferred['ER_PHA_F.PHA_TOP_GEN'], 'flag False/True');
  assert.equal(inferred['ER_PHA_F.PHA_PRS_MNT'], 'number with exponent, decimal comma');
  // A few bad values do not hide a column's spelling; they are counted.
  assert.equal(inferred['ER_PHA_F.EXE_SOI_DTD'], 'dd/MM/yyyy (1 value of the sample fit no spelling)', 'the sample holds 31/02/2021');
  assert.equal(inferred['IR_BEN_R.BEN_NAI_ANN'], 'integer written 61.0 (1 value of the sample fit no spelling)', 'and 19x0');
  assert.deepEqual({ ...d.profile, dates: undefined }, { ...parseProfile({ delimiter: ',', encoding: 'latin-1', missing: ['.'], exponent: true, integerPointZero: true, extraColumns: 'ignore' }), dates: undefined });
  assert.deepEqual(d.profile.dates, { default: 'dd/MM/yyyy', columns: { 'ER_PHA_F.FLX_TRT_DTD': 'ddMMMyyyy:HH:mm:ss' } });

  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: d.profile });
  assert.equal(r.rowsAccepted + r.rowsQuarantined, 30 + 60 + 2);
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`), [
    'ER_PHA_F_202101.csv.gz:12:EXE_SOI_DTD:type',
    'ER_PHA_F_202101.csv.gz:22:PHA_ACT_QSN:required',
    'IR_BEN_R.csv.gz:9:BEN_NAI_ANN:type',
  ]);
  const v = await p.ingest.version(ds);
  assert.deepEqual(v.manifest.rows['T_MCOaaC'], { '2019': 2 });
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, v);
    const got = await s.all<{ q: number; m: number; g: bigint; dcd: bigint; t: string }>(`SELECT sum(PHA_ACT_QSN)::DOUBLE AS q, round(sum(PHA_PRS_MNT), 2) AS m, count(*) FILTER (PHA_TOP_GEN) AS g,
      (SELECT count(BEN_DCD_DTE) FROM ds.IR_BEN_R) AS dcd, CAST(max(FLX_TRT_DTD) AS VARCHAR) AS t FROM ds.ER_PHA_F`);
    assert.equal(got[0]?.g, 28n, 'True read as true (30 rows, 2 of them quarantined)');
    assert.equal(got[0]?.dcd, 6n, "SAS '.' read as missing: 6 deaths among 30");
    assert.equal(got[0]?.t, '2021-11-20 13:13:57');
    const names = await s.all<{ c: string }>("SELECT BEN_RES_COM AS c FROM ds.IR_BEN_R WHERE BEN_RES_COM LIKE 'É%' LIMIT 1");
    assert.equal(names[0]?.c, 'Évry', 'Latin-1 read as such');
  } finally {
    s.close();
  }
});

test('ISO datetimes with T…Z, tab separators and space-only fields read with their profile', async () => {
  const ds = await dataset();
  const drugs = [['BEN_NIR_PSA', 'EXE_SOI_DTD', 'FLX_TRT_DTD', 'PHA_ACT_QSN', 'PHA_PRS_MNT', 'PHA_TOP_GEN']];
  for (let i = 0; i < 20; i++) drugs.push([psa(i), `2020-0${1 + (i % 9)}-10T00:00:00Z`, '2020-01-02T10:11:12Z', '1', '   ', i % 2 === 0 ? '1' : '0']);
  drugs[5] = [psa(5), '2020-02-30T00:00:00Z', '2020-01-02T10:11:12Z', '1', '', '1']; // line 6
  const dir = await deliver({ 'ER_PHA_F.csv': drugs }, { sep: '\t' });
  const d = await p.ingest.detect(ds, [dir]);
  assert.equal(d.profile.delimiter, '\t');
  assert.equal(d.profile.blankIsMissing, true);
  assert.deepEqual(d.profile.dates, { default: "yyyy-MM-dd'T'HH:mm:ss'Z'", columns: {} });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: d.profile });
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`), ['6:EXE_SOI_DTD:type']);
  assert.equal(r.rowsAccepted, 19);
});

test('dates with two-digit years: detection proposes no four-digit spelling for them, and under dd/MM/yyyy they are quarantined, never read as the year 21', async () => {
  const ds = await dataset();
  const header = ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'FLX_TRT_DTD', 'PHA_ACT_QSN'];
  const twoDigit = [header];
  for (let i = 0; i < 20; i++) twoDigit.push([psa(i), `1${i % 9}/03/21`, '20NOV21:13:13:57', '1']);
  const d = await p.ingest.detect(ds, [await deliver({ 'ER_PHA_F.csv': twoDigit }, { sep: ';' })]);
  const found = (n: string): [string | undefined, boolean | undefined] => {
    const c = d.files[0]?.columns.find((x) => x.name === n);
    return [c?.inferred, c?.problem];
  };
  assert.deepEqual(found('EXE_SOI_DTD'), ['no spelling fits (like 99/99/99)', true]);
  assert.deepEqual(found('FLX_TRT_DTD'), ['no spelling fits (like 99AAA99:99:99:99)', true]);
  assert.deepEqual(d.profile.dates, { columns: {} });

  // Mostly four-digit years: the spelling is inferred and the others counted; ingestion quarantines them.
  const mixed = [header];
  for (let i = 0; i < 40; i++) mixed.push([psa(i), `1${i % 9}/03/2021`, '20NOV2021:13:13:57', '1']);
  mixed[4] = [psa(3), '13/03/21', '20NOV2021:13:13:57', '1']; // line 5
  mixed[9] = [psa(8), '1/3/2021', '20NOV2021:13:13:57', '1']; // line 10
  mixed[15] = [psa(14), '14/03/2021', '20nov21:13:13:57', '1']; // line 16
  const dir = await deliver({ 'ER_PHA_F.csv': mixed }, { sep: ';' });
  const m = await p.ingest.detect(ds, [dir]);
  assert.deepEqual(m.files[0]?.columns.filter((c) => c.type === 'date' || c.type === 'datetime').map((c) => c.inferred), [
    'dd/MM/yyyy (2 values of the sample fit no spelling)', 'ddMMMyyyy:HH:mm:ss (1 value of the sample fit no spelling)',
  ]);
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: m.profile });
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`), ['5:EXE_SOI_DTD:type', '10:EXE_SOI_DTD:type', '16:FLX_TRT_DTD:type']);
  assert.equal(r.rowsAccepted, 37);
  const v = await p.ingest.version(ds);
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, v);
    const years = await s.all<{ y: bigint; t: bigint }>('SELECT min(year(EXE_SOI_DTD)) AS y, min(year(FLX_TRT_DTD)) AS t FROM ds.ER_PHA_F');
    assert.deepEqual([years[0]?.y, years[0]?.t], [2021n, 2021n]);
  } finally {
    s.close();
  }
});

test("a catalogue format with no profile name (the month of birth, %m) is detected as itself and held to its shape", async () => {
  const ds = await dataset();
  const people = [['BEN_NIR_PSA', 'BEN_NAI_ANN', 'BEN_NAI_MOI']];
  for (let i = 0; i < 30; i++) people.push([psa(i), '1980', String(1 + (i % 12)).padStart(2, '0')]);
  people[7] = [psa(6), '1980', '7']; // line 8: one digit where %m writes two
  const dir = await deliver({ 'IR_BEN_R.csv': people }, { sep: ';' });
  const d = await p.ingest.detect(ds, [dir]);
  const c = d.files[0]?.columns.find((x) => x.name === 'BEN_NAI_MOI');
  assert.deepEqual([c?.inferred, c?.problem], ['%m (1 value of the sample fit no spelling)', false]);
  assert.deepEqual(d.profile.dates, { columns: {} });
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: d.profile });
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`), ['8:BEN_NAI_MOI:type']);
});

test('without its profile the same kind of delivery is quarantined for the right reason, and a file rule maps odd names', async () => {
  const ds = await dataset();
  const drugs = [['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PHA_ACT_QSN'], [psa(1), '15/03/2021', '1'], [psa(2), '16/03/2021', '2']];
  const dir = await deliver({ 'extraction_pharmacie_2021.csv': drugs }, { sep: ';' });
  await assert.rejects(p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator }), /extraction_pharmacie_2021.csv matches no table/);
  const files = [{ pattern: '^extraction_pharmacie_(\\d{4})$', table: 'ER_PHA_F' }];
  const r = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: parseProfile({ files }), acceptShortTables: true });
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`), ['2:EXE_SOI_DTD:type', '3:EXE_SOI_DTD:type']);
  const ok = await p.ingest.ingest({ dataset: ds, inputs: [dir], actor: operator, profile: parseProfile({ files, dates: { default: 'dd/MM/yyyy' } }) });
  assert.equal(ok.rowsAccepted, 2);
});

test('a profile with a wrong field is refused with the field and a fix', () => {
  assert.throws(() => parseProfile({ delimiter: ':' }), /delivery profile: delimiter must be one of/);
  assert.throws(() => parseProfile({ dates: { default: 'dd.MM.yy' } }), /delivery profile: dates.default is not a date spelling: "dd.MM.yy"/);
  // A strptime format is held to its shape; one with a specifier DuckDB lacks is no spelling.
  assert.throws(() => parseProfile({ dates: { columns: { ENT_DAT: '%d%m%q' } } }), /dates.columns.ENT_DAT is not a date spelling: "%d%m%q"/);
  assert.equal(parseProfile({ dates: { default: '%-d/%-m/%Y' } }).dates.default, '%-d/%-m/%Y');
  assert.throws(() => parseProfile({ separator: ';' }), /delivery profile: separator is not a profile field/);
  assert.throws(() => parseProfile({ extraColumns: 'keep' }), /extraColumns must be "refuse" or "ignore"/);
});
