import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { nirControlKey } from './nir.ts';

const operator = { kind: 'person', id: 'test:operator' } as const;

/** A two-table schema using SNDS column names, so the reviewed sensitivity mapping applies. */
const people = {
  name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'],
  enclave: { unpartitioned: true },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'BEN_NIR_IDT', type: 'string' },
    { name: 'BEN_SEX_COD', type: 'integer', nomenclature: 'IR_SEX_V', constraints: { required: true, enum: [1, 2] } },
    { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
    { name: 'BEN_DCD_DTE', type: 'date' },
  ],
};
const dispensings = {
  name: 'ER_PHA_F', title: 'drugs', product: 'TEST', primaryKey: [],
  foreignKeys: [{ fields: ['BEN_NIR_PSA'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA'] } }],
  enclave: { yearColumn: 'EXE_SOI_DTD' },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
    { name: 'PHA_ACT_QSN', type: 'number', constraints: { required: true, minimum: -99, maximum: 99 } },
  ],
};

function nir(i: number): string {
  const n13 = `1${String(50 + (i % 40)).padStart(2, '0')}0${1 + (i % 9)}75${String(100 + i).padStart(6, '0')}`;
  return n13 + String(nirControlKey(n13)).padStart(2, '0');
}
const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;

let p: TestPlatform;
let schemaDir: string;

async function delivery(name: string, files: Record<string, string[]>): Promise<string> {
  const dir = join(p.dir, 'deliveries', name);
  await mkdir(dir, { recursive: true });
  for (const [f, lines] of Object.entries(files)) await writeFile(join(dir, f), `${lines.join('\n')}\n`);
  return dir;
}

function goodPeople(n: number): string[] {
  const rows = ['BEN_NIR_PSA;BEN_NIR_IDT;BEN_SEX_COD;BEN_NAI_ANN;BEN_DCD_DTE'];
  for (let i = 0; i < n; i++) rows.push(`${psa(i)};${nir(i)};${1 + (i % 2)};${1940 + (i % 60)};${i % 10 === 0 ? '2022-03-01' : ''}`);
  return rows;
}

function goodDrugs(n: number): string[] {
  const rows = ['BEN_NIR_PSA;EXE_SOI_DTD;PHA_ACT_QSN'];
  for (let i = 0; i < n; i++) rows.push(`${psa(i % 50)};${2019 + (i % 3)}-0${1 + (i % 9)}-1${i % 10};${i % 7 === 0 ? '-1' : '2'}`);
  return rows;
}

before(async () => {
  p = await openTestPlatform();
  schemaDir = join(p.dir, 'schema');
  await mkdir(join(schemaDir, 'nomenclatures'), { recursive: true });
  await writeFile(join(schemaDir, 'IR_BEN_R.json'), JSON.stringify(people));
  await writeFile(join(schemaDir, 'ER_PHA_F.json'), JSON.stringify(dispensings));
  await writeFile(join(schemaDir, 'nomenclatures', 'IR_SEX_V.csv'), 'SEX_COD;SEX_LIB\n1;M\n2;F\n');
  await p.catalog.importDirectory(schemaDir, { dataset: 'test', actor: operator });
});
after(async () => p.close());

test(`a clean delivery lands as version 1 with pseudonymised identifiers (${testDbKind})`, async () => {
  const dir = await delivery('clean', { 'IR_BEN_R.csv': goodPeople(50), 'ER_PHA_F.csv': goodDrugs(300) });
  const r = await p.ingest.ingest({ dataset: 'test', inputs: [dir], actor: operator });
  assert.equal(r.version, 1);
  assert.equal(r.rowsAccepted, 350);
  assert.equal(r.rowsQuarantined, 0);
  const v = await p.ingest.version('test');
  assert.deepEqual(v.manifest.rows['ER_PHA_F'], { '2019': 100, '2020': 100, '2021': 100 });
  assert.equal(v.manifest.files.length, 4);
  // Read back through DuckDB with the dataset key: joins survive pseudonymisation.
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, v);
    const rows = await s.all<{ n: bigint; people: bigint; len: number }>(
      'SELECT count(*) AS n, count(DISTINCT b.BEN_NIR_PSA) AS people, max(length(b.BEN_NIR_PSA)) AS len FROM ds.ER_PHA_F d JOIN ds.IR_BEN_R b USING (BEN_NIR_PSA)',
    );
    assert.deepEqual(rows, [{ n: 300n, people: 50n, len: 64n }]);
    const qty = await s.all<{ q: number }>('SELECT sum(PHA_ACT_QSN) AS q FROM ds.ER_PHA_F');
    assert.equal(qty[0]?.q, 300 * 2 - 3 * 43);
    const raw = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ds.IR_BEN_R WHERE BEN_NIR_PSA = '${psa(0)}' OR BEN_NIR_IDT = '${nir(0)}'`);
    assert.equal(raw[0]?.n, 0n);
    // The pseudonym is HMAC-SHA256 of the source value under the dataset's pseudonymisation key.
    const expected = await p.keys.withDataKey('dataset', 'test', 'pseudonymisation', async (k) => createHmac('sha256', k).update(psa(0)).digest('hex'));
    const found = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ds.IR_BEN_R WHERE BEN_NIR_PSA = '${expected}'`);
    assert.equal(found[0]?.n, 1n);
  } finally {
    s.close();
  }
});

test('re-ingesting the same delivery is idempotent', async () => {
  const dir = join(p.dir, 'deliveries', 'clean');
  const before = await p.ingest.versions('test');
  const r = await p.ingest.ingest({ dataset: 'test', inputs: [dir], actor: operator });
  assert.equal(r.alreadyIngested, true);
  assert.equal(r.version, before[0]?.version);
  assert.equal((await p.ingest.versions('test')).length, before.length);
});

test('bad rows are quarantined with file, line, column and rule, and good rows land', async () => {
  const ppl = goodPeople(20);
  ppl[3] = ppl[3]!.replace(/;1;|;2;/, ';3;'); // line 4: sex outside enum and nomenclature
  ppl[5] = `${psa(4)};${nir(4).slice(0, 13)}00;1;1950;`; // line 6: wrong NIR key
  ppl[7] = `${psa(6)};${nir(6)};1;19x0;`; // line 8: year not an integer
  ppl[9] = `;${nir(8)};2;1960;`; // line 10: required pseudonym missing
  ppl[11] = `${psa(10)};${nir(10)};2;1960;2022-13-45`; // line 12: impossible date
  ppl[13] = `${psa(12)};${nir(12)};2;1960`; // line 14: a field missing
  const drugs = goodDrugs(40);
  drugs[20] = `${psa(1)};2020-01-01;150`; // line 21: above maximum
  const dir = await delivery('defects', { 'IR_BEN_R.csv': ppl, 'ER_PHA_F.csv': drugs });
  // 6 of 20 people are spoiled on purpose: under the default share that refuses the delivery.
  const r = await p.ingest.ingest({ dataset: 'test', inputs: [dir], actor: operator, minLandedShare: 0.5 });
  assert.equal(r.rowsAccepted + r.rowsQuarantined, 20 + 40);
  assert.equal(r.rowsQuarantined, 7);
  const lines = r.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`);
  for (const expected of ['IR_BEN_R.csv:4:BEN_SEX_COD:enum', 'IR_BEN_R.csv:6:BEN_NIR_IDT:nir_key', 'IR_BEN_R.csv:8:BEN_NAI_ANN:type', 'IR_BEN_R.csv:10:BEN_NIR_PSA:required', 'IR_BEN_R.csv:12:BEN_DCD_DTE:type', 'ER_PHA_F.csv:21:PHA_ACT_QSN:range']) {
    assert.ok(lines.includes(expected), `${expected} in ${lines.join(', ')}`);
  }
  assert.ok(r.quarantine.entries.some((e) => e.file === 'IR_BEN_R.csv' && e.line === 14 && e.rule === 'csv_format'), 'short line quarantined with its line');
  // Line numbers after the malformed line 14 stay exact.
  assert.equal(new Set(r.quarantine.entries.map((e) => `${e.file}:${e.line}`)).size, 7);
  // Values are reduced to their shape, never shown.
  const nirEntry = r.quarantine.entries.find((e) => e.rule === 'nir_key');
  assert.equal(nirEntry?.value, '999999999999999');
});

test('the quarantine report of a version gives counts per rule and redacted lines to operators', async () => {
  const versions = await p.ingest.versions('test');
  const withBad = versions.find((v) => v.rowsQuarantined > 0);
  assert.ok(withBad !== undefined);
  const q = await p.ingest.quarantine('test', withBad.version);
  assert.equal(q.total, 7);
  assert.equal(q.byRule['nir_key'], 1);
  assert.ok(q.entries.some((e) => e.file === 'IR_BEN_R.csv' && e.line === 6 && e.value === '999999999999999'));
  await assert.rejects(p.ingest.quarantine('test', 99), /has no version 99/);
});

test('a delivery with an unknown column is refused whole and the previous version stays', async () => {
  const before = await p.ingest.versions('test');
  const dir = await delivery('unknown-column', { 'IR_BEN_R.csv': goodPeople(5).map((l, i) => (i === 0 ? `${l};EXTRA` : `${l};x`)) });
  await assert.rejects(p.ingest.ingest({ dataset: 'test', inputs: [dir], actor: operator }), /IR_BEN_R.csv line 1, field 6: column "EXTRA" is not in the catalogue/);
  assert.deepEqual((await p.ingest.versions('test')).map((v) => v.version), before.map((v) => v.version));
  const staging = await readdir(join(p.store.root, 'datasets', 'test', '.staging')).catch(() => []);
  assert.deepEqual(staging, []);
});

test('a file that matches no table is refused with the expected names', async () => {
  const dir = await delivery('stray', { 'NOT_A_TABLE.csv': ['A', '1'] });
  await assert.rejects(p.ingest.ingest({ dataset: 'test', inputs: [dir], actor: operator }), /NOT_A_TABLE.csv matches no table/);
});

test('no raw NIR or source pseudonym appears in any stored file or in the audit log', async () => {
  const needles = [...Array.from({ length: 20 }, (_, i) => nir(i)), psa(0), psa(1)];
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else files.push(join(d, e.name));
    }
  };
  await walk(p.store.root);
  assert.ok(files.length > 4);
  for (const f of files) {
    const text = (await readFile(f)).toString('latin1');
    for (const n of needles) assert.ok(!text.includes(n), `${f} holds a raw identifier`);
  }
  const events = await p.t.db.query<{ details: unknown }>('SELECT details FROM audit_events');
  const log = JSON.stringify(events);
  for (const n of needles) assert.ok(!log.includes(n));
});

test('every ingestion is in the audit log: start, commit, failure', async () => {
  const rows = await p.t.db.query<{ action: string; outcome: string }>("SELECT action, outcome FROM audit_events WHERE action LIKE 'ingest.%' ORDER BY seq");
  const actions = rows.map((r) => `${r.action}:${r.outcome}`);
  assert.ok(actions.includes('ingest.start:success'));
  assert.ok(actions.includes('ingest.commit:success'));
  assert.ok(actions.includes('ingest.fail:success'));
});

test('pseudonyms looked up from the referenced table and those hashed for orphans are the same HMAC', async () => {
  await p.catalog.importDirectory(schemaDir, { dataset: 'lookup', actor: operator });
  // Drugs name 50 people, the delivery's IR_BEN_R only 10: 40 are orphans, hashed row by row.
  const dir = await delivery('lookup', { 'IR_BEN_R.csv': goodPeople(10), 'ER_PHA_F.csv': goodDrugs(200) });
  const r = await p.ingest.ingest({ dataset: 'lookup', inputs: [dir], actor: operator });
  assert.equal(r.rowsQuarantined, 0);
  const s = await p.engine.session();
  try {
    await p.datasets.attachVersion(s, await p.ingest.version('lookup'));
    for (const i of [3, 30]) {
      const expected = await p.keys.withDataKey('dataset', 'lookup', 'pseudonymisation', async (k) => createHmac('sha256', k).update(psa(i)).digest('hex'));
      const n = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ds.ER_PHA_F WHERE BEN_NIR_PSA = '${expected}'`);
      assert.equal(n[0]?.n, 4n, `psa(${i}) ${i < 10 ? 'looked up' : 'hashed'}`);
    }
    const joined = await s.all<{ n: bigint }>('SELECT count(*) AS n FROM ds.ER_PHA_F JOIN ds.IR_BEN_R USING (BEN_NIR_PSA)');
    assert.equal(joined[0]?.n, 40n);
  } finally {
    s.close();
  }
});

test('an ingestion engine that may not spill fails a run it cannot hold in memory, clearly, and publishes nothing', async () => {
  const { openDuckDb } = await import('../engine/duckdb.ts');
  const { IngestService, ingestCatalogFrom } = await import('./index.ts');
  const { openPartitionPipes, writeEncryptedParquet } = await import('../parquet-crypto/index.ts');
  // As main.ts opens it: no temporary directory, so DuckDB cannot write plain spill files.
  const engine = await openDuckDb({ threads: 2, memoryLimit: '2MB', tempDirectory: '' });
  try {
    const small = new IngestService({ db: p.t.db, audit: p.audit, keys: p.keys, catalog: ingestCatalogFrom(p.catalog), engine, store: p.store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets: p.datasets });
    await p.catalog.importDirectory(schemaDir, { dataset: 'tight', actor: operator });
    const dir = await delivery('tight', { 'IR_BEN_R.csv': goodPeople(2000), 'ER_PHA_F.csv': goodDrugs(60_000) });
    await assert.rejects(small.ingest({ dataset: 'tight', inputs: [dir], actor: operator }), (e) => e instanceof Error && 'code' in e && e.code === 'unavailable' && /ENCLAVE_ENGINE_MEMORY/.test(String((e as { hint?: string }).hint)));
    await assert.rejects(p.ingest.version('tight'), /no ingested version/);
  } finally {
    await engine.close();
  }
});

test('every partition pipe a run makes (while its files are hashed) is removed: after a published run, an already-ingested rerun, and refused deliveries', async () => {
  const { IngestService, ingestCatalogFrom } = await import('./index.ts');
  const { openPartitionPipes, writeEncryptedParquet } = await import('../parquet-crypto/index.ts');
  const { stat } = await import('node:fs/promises');
  // The real pipes, in a folder of this test's own, so that what is left there is this run's.
  const pipeDir = join(p.dir, 'pipes');
  await mkdir(pipeDir, { recursive: true });
  let made = 0;
  const svc = new IngestService({
    db: p.t.db, audit: p.audit, keys: p.keys, catalog: ingestCatalogFrom(p.catalog), engine: p.engine, store: p.store, writeParquet: writeEncryptedParquet, datasets: p.datasets,
    openPartitions: async (column, sets) => {
      const w = await openPartitionPipes(column, sets, pipeDir);
      made += w.length;
      return w;
    },
  });
  await p.catalog.importDirectory(schemaDir, { dataset: 'pipes', actor: operator });
  const left = async (): Promise<string[]> => readdir(pipeDir);
  const good = await delivery('pipes-good', { 'IR_BEN_R.csv': goodPeople(20), 'ER_PHA_F.csv': goodDrugs(40) });
  const first = await svc.ingest({ dataset: 'pipes', inputs: [good], actor: operator });
  assert.equal(first.alreadyIngested, false);
  assert.ok(made >= 2, `${made} pipe sets made`);
  assert.deepEqual(await left(), [], 'a published run');
  const again = await svc.ingest({ dataset: 'pipes', inputs: [good], actor: operator });
  assert.equal(again.alreadyIngested, true);
  assert.deepEqual(await left(), [], 'an already-ingested rerun');
  // Refused before the run starts (a share out of range), and during it (an unknown column).
  await assert.rejects(svc.ingest({ dataset: 'pipes', inputs: [await delivery('pipes-share', { 'ER_PHA_F.csv': goodDrugs(5) })], actor: operator, minLandedShare: 2 }), /between 0 and 1/);
  assert.deepEqual(await left(), [], 'refused before the run');
  const extra = goodDrugs(5).map((l, k) => (k === 0 ? `${l};EXTRA` : `${l};x`));
  await assert.rejects(svc.ingest({ dataset: 'pipes', inputs: [await delivery('pipes-extra', { 'ER_PHA_F.csv': extra })], actor: operator }), /EXTRA/);
  assert.deepEqual(await left(), [], 'refused during the run');
  assert.ok((await stat(pipeDir)).isDirectory());
});
