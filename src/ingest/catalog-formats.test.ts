import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';

/**
 * Catalogue layouts as producers publish them, read by `catalog import` and then used by
 * ingestion: the public SNDS schema repository (a sample CSV beside each table schema, code
 * lists under nomenclatures/, a calendar nomenclature of SAS datetimes) and SAS PROC CONTENTS
 * listings. The fixtures are small copies of those layouts, written here.
 */
const operator = { kind: 'person', id: 'test:operator' } as const;
let p: TestPlatform;
let repo: string;

async function put(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

const field = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name, type, format: 'default', nomenclature: '-', length: '', ...extra });

before(async () => {
  p = await openTestPlatform();
  repo = join(p.dir, 'schema-snds');
  await put(join(repo, 'schemas', 'DCIR', 'ER_PHA_F.json'), JSON.stringify({
    name: 'ER_PHA_F', title: 'Prestations de pharmacie', produit: 'DCIR', primaryKey: [],
    foreignKeys: [{ fields: 'BEN_NIR_PSA', reference: { resource: 'IR_BEN_R', fields: 'BEN_NIR_PSA' } }],
    fields: [
      field('BEN_NIR_PSA', 'string', { length: '17' }),
      field('EXE_SOI_DTD', 'date', { nomenclature: 'IR_DTE_V', length: '8' }),
      field('PHA_ACT_QSN', 'number'),
      field('BEN_SEX_COD', 'integer', { nomenclature: 'IR_SEX_V' }),
    ],
  }));
  // The repository's sample data beside the schema: not a code list.
  await put(join(repo, 'schemas', 'DCIR', 'ER_PHA_F.csv'), 'BEN_NIR_PSA,EXE_SOI_DTD,PHA_ACT_QSN,BEN_SEX_COD\nABCDEFGHIJKLMNOPQ,2020-01-02,1,1\n');
  await put(join(repo, 'schemas', 'BENEFICIAIRE', 'IR_BEN_R.json'), JSON.stringify({
    name: 'IR_BEN_R', title: 'Référentiel des bénéficiaires', produit: 'BENEFICIAIRE', primaryKey: ['BEN_NIR_PSA'],
    fields: [field('BEN_NIR_PSA', 'string', { length: '17' }), field('BEN_NAI_MOI', 'yearmonth', { nomenclature: 'IR_DTE_V' })],
  }));
  await put(join(repo, 'schemas', 'BENEFICIAIRE', 'IR_BEN_R.csv'), 'BEN_NIR_PSA,BEN_NAI_MOI\nABCDEFGHIJKLMNOPQ,195004\n');
  await put(join(repo, 'nomenclatures', 'ORAVAL', 'IR_DTE_V.json'), JSON.stringify({ fields: [{ name: 'DTE_DTE', type: 'string', role: 'code' }, { name: 'DTE_ANN_MOI', type: 'integer' }] }));
  await put(join(repo, 'nomenclatures', 'ORAVAL', 'IR_DTE_V.csv'), 'DTE_DTE;DTE_ANN_MOI\n01JAN2020:00:00:00;202001\n02JAN2020:00:00:00;202001\n');
  await put(join(repo, 'nomenclatures', 'ORAVAL', 'IR_SEX_V.json'), JSON.stringify({ fields: [{ name: 'SEX_COD', type: 'integer', role: 'code' }, { name: 'SEX_LIB', type: 'string', role: 'label' }] }));
  await put(join(repo, 'nomenclatures', 'ORAVAL', 'IR_SEX_V.csv'), 'SEX_COD;SEX_LIB\n1;MASCULIN\n2;FEMININ\n');
  await p.catalog.importDirectory(repo, { dataset: 'repo', actor: operator });
});
after(async () => p.close());

async function delivery(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(p.dir, 'deliveries', name);
  for (const [f, text] of Object.entries(files)) await put(join(dir, f), text);
  return dir;
}

test(`the schema repository's layout imports as it is: a sample CSV beside a table schema is not a code list (${testDbKind})`, async () => {
  const ds = await p.catalog.getDataset('repo');
  assert.deepEqual(ds.tables.map((t) => t.name).sort(), ['ER_PHA_F', 'IR_BEN_R']);
  const pha = await p.catalog.getTable('repo', 'ER_PHA_F');
  assert.deepEqual(pha.columns.map((c) => [c.name, c.type, c.nomenclature]), [['BEN_NIR_PSA', 'string', null], ['EXE_SOI_DTD', 'date', 'IR_DTE_V'], ['PHA_ACT_QSN', 'number', null], ['BEN_SEX_COD', 'integer', 'IR_SEX_V']]);
  const noms = (await p.catalog.listNomenclatures()).map((n) => n.name).sort();
  assert.deepEqual(noms, ['IR_DTE_V', 'IR_SEX_V'], 'no nomenclature made of the sample files');
});

test('dates linked to a calendar nomenclature (IR_DTE_V) are checked as dates, not against its SAS-datetime codes', async () => {
  const dir = await delivery('dates', {
    'IR_BEN_R.csv': 'BEN_NIR_PSA;BEN_NAI_MOI\nP0000000000000001;195004\nP0000000000000002;196012\n',
    'ER_PHA_F.csv': 'BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN;BEN_SEX_COD\nP0000000000000001;2021-03-04;1;1\nP0000000000000002;2022-12-31;2;2\nP0000000000000002;2022-02-30;2;2\nP0000000000000002;2022-02-03;2;3\n',
  });
  const r = await p.ingest.ingest({ dataset: 'repo', inputs: [dir], actor: operator, minLandedShare: 0.5 });
  assert.equal(r.rowsAccepted, 4);
  // The impossible date breaks `type`, the unknown sex code `nomenclature`: the code list still applies where it is one.
  assert.deepEqual(r.quarantine.entries.map((e) => `${e.line}:${e.column}:${e.rule}`), ['4:EXE_SOI_DTD:type', '5:BEN_SEX_COD:nomenclature']);
});

test('a SAS PROC CONTENTS listing imports as tables with types, lengths and date formats', async () => {
  const listing = join(p.dir, 'contents', 'dcir_contents.csv');
  await put(listing, [
    'MEMNAME;NAME;FORMAT;FORMATL;FORMATD;DATATYPE',
    'ER_PRS_F;BEN_NIR_PSA;$;17;0;char',
    'ER_PRS_F;EXE_SOI_DTD;DDMMYY;10;0;num',
    'ER_PRS_F;FLX_TRT_DTD;DATETIME;20;0;num',
    'ER_PRS_F;PRS_ACT_QTE;BEST;12;0;num',
    'ER_PRS_F;PRS_PAI_MNT;COMMA;12;2;num',
    'ER_PRS_F;PRS_NAT_REF;F;4;0;num',
    'IR_BEN_R;BEN_NIR_PSA;$;17;0;char',
    'IR_BEN_R;BEN_NAI_ANN;YEAR;4;0;num',
    'IR_BEN_R;BEN_DCD_DTE;DATE;9;0;num',
    '',
  ].join('\n'));
  await p.catalog.importDirectory(dirname(listing), { dataset: 'sas', actor: operator });
  const prs = await p.catalog.getTable('sas', 'ER_PRS_F');
  assert.deepEqual(prs.columns.map((c) => [c.name, c.type, c.format, c.length]), [
    ['BEN_NIR_PSA', 'string', null, '17'],
    ['EXE_SOI_DTD', 'date', '%d/%m/%Y', '10'],
    ['FLX_TRT_DTD', 'datetime', '%d%b%Y:%H:%M:%S', '20'],
    ['PRS_ACT_QTE', 'number', null, '12'],
    ['PRS_PAI_MNT', 'number', null, '12'],
    ['PRS_NAT_REF', 'integer', null, '4'],
  ]);
  const ben = await p.catalog.getTable('sas', 'IR_BEN_R');
  assert.deepEqual(ben.columns.map((c) => [c.name, c.type, c.format]), [['BEN_NIR_PSA', 'string', null], ['BEN_NAI_ANN', 'year', null], ['BEN_DCD_DTE', 'date', '%d%b%Y']]);
  // A delivery in the formats the listing declares lands whole, SAS datetimes in either case.
  const dir = await delivery('sas', {
    'ER_PRS_F.csv': 'BEN_NIR_PSA;EXE_SOI_DTD;FLX_TRT_DTD;PRS_ACT_QTE;PRS_PAI_MNT;PRS_NAT_REF\nP0000000000000001;31/12/2020;20NOV1985:13:13:57;1;12.5;1111\nP0000000000000001;01/01/2021;20nov1985:13:13:57;2;3;1112\n',
    'IR_BEN_R.csv': 'BEN_NIR_PSA;BEN_NAI_ANN;BEN_DCD_DTE\nP0000000000000001;1950;05MAR2021\n',
  });
  const r = await p.ingest.ingest({ dataset: 'sas', inputs: [dir], actor: operator });
  assert.equal(r.rowsQuarantined, 0, JSON.stringify(r.quarantine.entries));
  assert.equal(r.rowsAccepted, 3);
});

test('a listing with a bad length names the file, the line and the field', async () => {
  const listing = join(p.dir, 'contents-bad', 'x.csv');
  await put(listing, 'MEMNAME;NAME;FORMAT;FORMATL;FORMATD;DATATYPE\nT;A;$;ten;0;char\n');
  await assert.rejects(p.catalog.importDirectory(listing, { dataset: 'bad', actor: operator }), /invalid schema file x.csv at line 2 FORMATL: expected a whole number, got "ten"/);
});
