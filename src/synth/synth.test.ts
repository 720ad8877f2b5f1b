import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { expectedDeaths, synthesize, loadBuiltinSchema, generatedView, tableSchema, tableOfFile, compileRowChecker, NomenclatureSet, isValidNir, type SynthStats, type TableSchema } from './index.ts';
import { renderSchemaFiles, SCHEMA_DIR } from './build-schema.ts';
import { sndsNomenclaturesDir } from '../../test/helpers/snds-schema.ts';
import { vectorPath } from '../../test/helpers/vectors.ts';

const root = mkdtempSync(join(tmpdir(), 'enclave-synth-'));
const base = { people: 3000, startYear: 2019, endYear: 2023, seed: 'test-1' } as const;
let stats: SynthStats;
let db: DuckDBInstance;
let conn: DuckDBConnection;
const A = join(root, 'a');

const csv = (dir: string, file: string): string => `read_csv('${join(dir, 'csv', file)}', delim=';', header=true, all_varchar=true, quote='', escape='')`;
const pq = (file: string): string => `read_parquet('${join(A, 'parquet', file)}')`;
async function one(sql: string): Promise<Record<string, unknown>> {
  const r = await conn.runAndReadAll(sql);
  return r.getRowObjectsJS()[0] as Record<string, unknown>;
}
async function num(sql: string): Promise<number> {
  return Number(Object.values(await one(sql))[0]);
}
const mcoFiles = (kind: string): string => `read_parquet('${join(A, 'parquet')}/T_MCO??${kind}.parquet')`;

function hashDir(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(join(dir, 'csv')).sort()) out[f] = createHash('sha256').update(readFileSync(join(dir, 'csv', f))).digest('hex');
  out['stats.json'] = createHash('sha256').update(readFileSync(join(dir, 'stats.json'))).digest('hex');
  return out;
}

before(async () => {
  stats = await synthesize({ ...base, out: A });
  db = await DuckDBInstance.create(':memory:');
  conn = await db.connect();
});
after(() => {
  conn.closeSync();
  db.closeSync();
  rmSync(root, { recursive: true, force: true });
});

test('the committed schema JSON is what build-schema.ts renders (the generated part of each catalogue table)', () => {
  const { datapackage } = loadBuiltinSchema();
  for (const [rel, text] of renderSchemaFiles()) {
    const committed = readFileSync(join(SCHEMA_DIR, rel), 'utf8');
    if (rel === 'datapackage.json') assert.equal(committed, text, rel);
    else assert.deepEqual(generatedView(JSON.parse(committed) as TableSchema, datapackage), JSON.parse(text), rel);
  }
});

test('DCD_IDT_ENC keeps the public length 64 in the catalogue (exactly 64 characters, rule length) and the generator writes 64 upper-case hexadecimal characters', async () => {
  const publicSchema = JSON.parse(readFileSync(vectorPath('schema-snds/tables.json'), 'utf8')) as { tables: { schema: { name: string; fields: { name: string; length?: string }[] } }[] };
  const chk = (t: TableSchema): void => {
    const mine = t.fields.find((f) => f.name === 'DCD_IDT_ENC');
    const theirs = publicSchema.tables.find((x) => x.schema.name === t.name)?.schema.fields.find((f) => f.name === 'DCD_IDT_ENC');
    assert.equal(theirs?.length, '64', `public ${t.name}`);
    assert.deepEqual([mine?.length, mine?.constraints?.minLength, mine?.constraints?.maxLength], [theirs?.length, 64, 64], t.name);
  };
  for (const name of ['KI_CCI_R', 'KI_ECD_R']) {
    chk(tableSchema(name));
    chk(JSON.parse(readFileSync(join(SCHEMA_DIR, 'CAUSES_DECES', `${name}.json`), 'utf8')) as TableSchema);
    const n = await num(`SELECT count(*) FROM ${csv(A, `${name}.csv`)} WHERE NOT regexp_full_match(DCD_IDT_ENC, '[0-9A-F]{64}')`);
    assert.equal(n, 0, `${name}: every DCD_IDT_ENC is 64 upper-case hex characters`);
    assert.ok((stats.rows[name] ?? 0) > 0, `${name} has rows`);
  }
  // The generator's own row checker (the ledger's oracle) says "length", as ingestion does.
  const t = tableSchema('KI_CCI_R');
  const header = t.fields.map((f) => f.name).filter((n) => n !== 'BEN_NIR_IDT');
  const row = readFileSync(join(A, 'csv', 'KI_CCI_R.csv'), 'utf8').split('\n')[1]!.split(';');
  const at = header.indexOf('DCD_IDT_ENC');
  const checker = compileRowChecker(t, header, new NomenclatureSet());
  assert.deepEqual(checker.check(row), []);
  for (const bad of [row[at]!.slice(1), `${row[at]!}A`]) assert.deepEqual(checker.check(row.map((v, i) => (i === at ? bad : v))), [{ column: 'DCD_IDT_ENC', rule: 'length' }]);
});

test('every delivered file maps to one schema table and its header is that table’s fields', () => {
  for (const f of readdirSync(join(A, 'csv'))) {
    const t = tableOfFile(f);
    assert.ok(t, f);
    const header = readFileSync(join(A, 'csv', f), 'utf8').split('\n', 1)[0]!.split(';');
    assert.deepEqual(header, tableSchema(t.table).fields.map((x) => x.name).filter((n) => n !== 'BEN_NIR_IDT'), f);
  }
  assert.deepEqual(tableOfFile('T_MCO21B.csv'), { table: 'T_MCOaaB', year: 2021 });
});

test('same arguments give byte-identical files', async () => {
  const B = join(root, 'b');
  await synthesize({ ...base, out: B, parquet: false });
  assert.deepEqual(hashDir(B), hashDir(A));
});

test('stats.json equals the row counts DuckDB reads, per table and per year', async () => {
  const onDisk = JSON.parse(readFileSync(join(A, 'stats.json'), 'utf8')) as SynthStats;
  assert.deepEqual(onDisk, stats);
  for (const [file, n] of Object.entries(stats.files)) {
    assert.equal(await num(`SELECT count(*) FROM ${csv(A, file)}`), n, file);
    assert.equal(await num(`SELECT count(*) FROM ${pq(file.replace('.csv', '.parquet'))}`), n, file);
  }
  const prsByYear = await conn.runAndReadAll(`SELECT year(FLX_DIS_DTD) y, count(*) n FROM ${pq('ER_PRS_F.parquet')} GROUP BY 1 ORDER BY 1`);
  const got = Object.fromEntries(prsByYear.getRowObjectsJS().map((r) => [String(r['y']), Number(r['n'])]));
  assert.deepEqual(got, stats.rowsByYear['ER_PRS_F']);
  assert.equal(stats.defects, 0);
});

test('every foreign key of the product schema resolves', async () => {
  const { tables } = loadBuiltinSchema();
  const years = base.startYear === 2019 ? ['19', '20', '21', '22', '23'] : [];
  const src = (name: string, yy: string): string => (name.startsWith('T_MCOaa') ? pq(`T_MCO${yy}${name.slice(7)}.parquet`) : pq(`${name}.parquet`));
  for (const t of tables.values()) {
    for (const fk of t.foreignKeys ?? []) {
      for (const yy of t.name.startsWith('T_MCOaa') ? years : ['']) {
        const on = fk.fields.map((c, i) => `s."${c}" = r."${fk.reference.fields[i]}"`).join(' AND ');
        const orphans = await num(`SELECT count(*) FROM ${src(t.name, yy)} s WHERE NOT EXISTS (SELECT 1 FROM ${src(fk.reference.resource, yy)} r WHERE ${on})`);
        assert.equal(orphans, 0, `${t.name}${yy} → ${fk.reference.resource}`);
      }
    }
  }
  // Each satellite has rows, and every PMSI stay chains to a DCIR beneficiary with its flags mostly '0'.
  for (const sat of ['ER_PHA_F', 'ER_BIO_F', 'ER_CAM_F']) assert.ok((await num(`SELECT count(*) FROM ${pq(sat + '.parquet')}`)) > 100, sat);
  const flags = await one(`SELECT avg(CASE WHEN NIR_RET='0' AND NAI_RET='0' AND SEX_RET='0' AND SEJ_RET='0' AND FHO_RET='0' AND PMS_RET='0' AND DAT_RET='0' THEN 1 ELSE 0 END) ok, count(*) n FROM ${mcoFiles('C')}`);
  assert.ok(Number(flags['ok']) > 0.9 && Number(flags['n']) > 100);
});

test('primary keys are unique', async () => {
  for (const t of loadBuiltinSchema().tables.values()) {
    if (t.primaryKey === undefined) continue;
    const from = t.name.startsWith('T_MCOaa') ? mcoFiles(t.name.slice(7)) : pq(`${t.name}.parquet`);
    // PMSI keys are unique within a yearly file; RSA_NUM restarts every year.
    const cols = [...t.primaryKey.map((c) => `"${c}"`), ...(t.name.startsWith('T_MCOaa') ? ['filename'] : [])].join(', ');
    const fromF = t.name.startsWith('T_MCOaa') ? from.replace(/'\)$/, "', filename=true)") : from;
    assert.equal(await num(`SELECT count(*) FROM (SELECT ${cols} FROM ${fromF} GROUP BY ALL HAVING count(*) > 1)`), 0, t.name);
  }
});

test('no care and no stay after death; stays are ordered and exit ≥ entry', async () => {
  const dead = `(SELECT BEN_NIR_PSA, BEN_RNG_GEM, BEN_DCD_DTE FROM ${pq('IR_BEN_R.parquet')} WHERE BEN_DCD_DTE IS NOT NULL)`;
  assert.ok((await num(`SELECT count(*) FROM ${dead}`)) > 20);
  assert.equal(await num(`SELECT count(*) FROM ${pq('ER_PRS_F.parquet')} p JOIN ${dead} d USING (BEN_NIR_PSA, BEN_RNG_GEM) WHERE p.EXE_SOI_DTD > d.BEN_DCD_DTE`), 0);
  assert.equal(await num(`SELECT count(*) FROM ${mcoFiles('C')} c JOIN ${dead} d ON c.NIR_ANO_17 = d.BEN_NIR_PSA WHERE c.SOR_DAT > d.BEN_DCD_DTE`), 0);
  assert.equal(await num(`SELECT count(*) FROM ${mcoFiles('C')} WHERE SOR_DAT < ENT_DAT OR EXE_SOI_DTD <> ENT_DAT OR EXE_SOI_DTF <> SOR_DAT`), 0);
  // Per patient, each stay starts after the previous one ended.
  assert.equal(
    await num(`SELECT count(*) FROM (SELECT ENT_DAT, lag(SOR_DAT) OVER (PARTITION BY NIR_ANO_17 ORDER BY ENT_DAT, SOR_DAT) prev FROM ${mcoFiles('C')}
      -- twins share one pseudonym (as in the real base), so their stays may interleave
      WHERE NIR_ANO_17 NOT IN (SELECT BEN_NIR_PSA FROM ${pq('IR_BEN_R.parquet')} WHERE BEN_RNG_GEM > 1)) WHERE ENT_DAT <= prev`),
    0,
  );
  // Length of stay in B agrees with the dates in C.
  for (const yy of ['19', '20', '21', '22', '23']) {
    const [b, c] = [pq(`T_MCO${yy}B.parquet`), pq(`T_MCO${yy}C.parquet`)];
    assert.equal(await num(`SELECT count(*) FROM ${b} b JOIN ${c} c USING (ETA_NUM, RSA_NUM) WHERE b.SEJ_NBJ <> c.SOR_DAT - c.ENT_DAT OR b.SOR_ANN <> year(c.SOR_DAT) OR b.SOR_ANN <> 20${yy}`), 0);
  }
  // Every death has its certificate, and in-hospital deaths end a stay with SOR_MOD 9.
  assert.equal(await num(`SELECT count(DISTINCT BEN_IDT_ANO) FROM ${pq('IR_BEN_R.parquet')} WHERE BEN_DCD_DTE IS NOT NULL`), await num(`SELECT count(*) FROM ${pq('KI_CCI_R.parquet')}`));
  assert.ok((await num(`SELECT count(*) FROM ${mcoFiles('B')} WHERE SOR_MOD = '9'`)) > 5);
});

test('deaths follow the life table (src/synth/population.ts): the count within 4 standard deviations of its expectation, the model near the published rate', () => {
  // INSEE: about 640,000 deaths a year for 67 million people (0.0091 in 2019, 0.0099 in 2022).
  const first = expectedDeaths(1).perPersonYear;
  assert.ok(Math.abs(first - 0.0095) / 0.0095 < 0.05, `model: ${first.toFixed(5)} deaths per person-year`);
  const want = base.people * expectedDeaths(base.endYear - base.startYear + 1).perPerson;
  const got = stats.rows['KI_CCI_R'] ?? 0;
  assert.ok(Math.abs(got - want) <= 4 * Math.sqrt(want), `${got} deaths, ${want.toFixed(1)} expected`);
});

test('the age/sex pyramid looks like France', async () => {
  const r = await one(`SELECT avg(CASE WHEN 2019 - BEN_NAI_ANN - 1 >= 65 THEN 1 ELSE 0 END) aged, avg(CASE WHEN BEN_SEX_COD = 2 THEN 1 ELSE 0 END) fem
    FROM (SELECT DISTINCT BEN_IDT_ANO, BEN_NAI_ANN, BEN_SEX_COD FROM ${pq('IR_BEN_R.parquet')})`);
  assert.ok(Number(r['aged']) >= 0.15 && Number(r['aged']) <= 0.25, `share 65+ ${r['aged']}`);
  assert.ok(Number(r['fem']) > 0.47 && Number(r['fem']) < 0.56, `share of women ${r['fem']}`);
  const paris = await num(`SELECT avg(CASE WHEN BEN_RES_DPT = '075' THEN 1 ELSE 0 END) FROM ${pq('IR_BEN_R.parquet')}`);
  const lozere = await num(`SELECT avg(CASE WHEN BEN_RES_DPT = '048' THEN 1 ELSE 0 END) FROM ${pq('IR_BEN_R.parquet')}`);
  assert.ok(paris > 0.02 && paris > 5 * lozere);
});

test('winter has more dispensings and more antibiotics than summer', async () => {
  const noms = new NomenclatureSet();
  const abx = noms.get('IR_PHA_R').rows.filter((r) => (r['PHA_ATC_C07'] ?? '').startsWith('J01')).map((r) => `'${r['PHA_CIP_C13']}'`).join(',');
  const q = (months: string, extra: string): Promise<number> =>
    num(`SELECT count(*) FROM ${pq('ER_PHA_F.parquet')} h JOIN ${pq('ER_PRS_F.parquet')} p USING (DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF)
      WHERE month(p.EXE_SOI_DTD) IN (${months}) AND p.PRS_ACT_QTE > 0 ${extra}`);
  const winterAbx = await q('12,1,2', `AND CAST(h.PHA_PRS_C13 AS VARCHAR) IN (${abx})`);
  const summerAbx = await q('6,7,8', `AND CAST(h.PHA_PRS_C13 AS VARCHAR) IN (${abx})`);
  assert.ok(winterAbx > 1.5 * summerAbx, `antibiotics winter ${winterAbx} summer ${summerAbx}`);
  assert.ok((await q('12,1,2', '')) > (await q('6,7,8', '')));
});

test('regularisations are negative lines that never make a prestation net negative', async () => {
  assert.ok((await num(`SELECT count(*) FROM ${pq('ER_PRS_F.parquet')} WHERE PRS_ACT_QTE < 0 AND BSE_REM_SGN = -1 AND BSE_REM_MNT <= 0`)) > 50);
  assert.ok((await num(`SELECT count(*) FROM ${pq('ER_PHA_F.parquet')} WHERE PHA_ACT_QSN < 0`)) > 10);
  const neg = await num(`SELECT count(*) FROM (SELECT BEN_NIR_PSA, BEN_RNG_GEM, EXE_SOI_DTD, PRS_NAT_REF, PFS_EXE_NUM, PRS_ACT_CFT, BSE_REM_PRU, sum(PRS_ACT_QTE) q, sum(BSE_REM_MNT) m
    FROM ${pq('ER_PRS_F.parquet')} GROUP BY ALL HAVING q < 0 OR m < -0.001)`);
  assert.equal(neg, 0);
  const pha = await num(`SELECT count(*) FROM (SELECT p.BEN_NIR_PSA, p.EXE_SOI_DTD, h.PHA_PRS_C13, sum(h.PHA_ACT_QSN) q FROM ${pq('ER_PHA_F.parquet')} h JOIN ${pq('ER_PRS_F.parquet')} p
    USING (DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF) GROUP BY ALL HAVING q < 0)`);
  assert.equal(pha, 0);
});

test('some people have several BEN_NIR_PSA and twins share one with BEN_RNG_GEM 2', async () => {
  assert.ok((await num(`SELECT count(*) FROM (SELECT BEN_IDT_ANO FROM ${pq('IR_BEN_R.parquet')} GROUP BY 1 HAVING count(DISTINCT BEN_NIR_PSA) > 1)`)) > 20);
  assert.ok((await num(`SELECT count(*) FROM ${pq('IR_BEN_R.parquet')} WHERE BEN_RNG_GEM > 1`)) > 2);
  // Both pseudonyms of a person are used in claims.
  assert.ok((await num(`SELECT count(*) FROM (SELECT b.BEN_IDT_ANO FROM ${pq('ER_PRS_F.parquet')} p JOIN ${pq('IR_BEN_R.parquet')} b USING (BEN_NIR_PSA, BEN_RNG_GEM) GROUP BY 1 HAVING count(DISTINCT p.BEN_NIR_PSA) > 1)`)) > 10);
});

function checkAll(dir: string, noms: NomenclatureSet): Map<string, { line: number; column: string; rule: string }[]> {
  const bad = new Map<string, { line: number; column: string; rule: string }[]>();
  for (const f of readdirSync(join(dir, 'csv')).sort()) {
    const lines = readFileSync(join(dir, 'csv', f), 'utf8').split('\n');
    const header = lines[0]!.split(';');
    const chk = compileRowChecker(tableSchema(tableOfFile(f)!.table), header, noms);
    const out: { line: number; column: string; rule: string }[] = [];
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === '' && i === lines.length - 1) continue;
      for (const v of chk.check(lines[i]!.split(';'))) out.push({ line: i + 1, column: v.column, rule: v.rule });
    }
    bad.set(`csv/${f}`, out);
  }
  return bad;
}

test('every row is valid against the schema and every code is in its nomenclature', () => {
  const bad = checkAll(A, new NomenclatureSet());
  for (const [f, v] of bad) assert.deepEqual(v.slice(0, 3), [], f);
});

test('with --defects the ledger lists exactly the rows that fail, one rule each, and the rest is unchanged', async () => {
  const D = join(root, 'd');
  const s = await synthesize({ ...base, people: 1500, out: D, defects: 0.002, identified: true });
  const ledger = readFileSync(join(D, 'defects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number; column: string; rule: string });
  assert.equal(ledger.length, s.defects);
  assert.ok(s.defects > 50);
  const found = [...checkAll(D, new NomenclatureSet())].flatMap(([file, v]) => v.map((x) => ({ file, ...x })));
  const key = (x: { file: string; line: number; column: string; rule: string }): string => `${x.file}:${x.line}:${x.column}:${x.rule}`;
  assert.deepEqual(found.map(key).sort(), ledger.map(key).sort());
  const rules = new Set(ledger.map((l) => l.rule));
  for (const r of ['required', 'type', 'date', 'enum', 'pattern', 'nomenclature']) assert.ok(rules.has(r), `rule ${r} appears`);
  assert.equal(await num(`SELECT count(*) FROM read_parquet('${join(D, 'parquet', 'ER_PRS_F.parquet')}')`), s.files['ER_PRS_F.csv']);
});

test('--identified adds raw NIRs with valid control keys, consistent with birth and sex', async () => {
  const I = join(root, 'i');
  await synthesize({ ...base, people: 800, out: I, identified: true, parquet: false });
  const rows = readFileSync(join(I, 'csv', 'IR_BEN_R.csv'), 'utf8').trim().split('\n');
  const h = rows[0]!.split(';');
  const [iN, iS, iY, iM] = ['BEN_NIR_IDT', 'BEN_SEX_COD', 'BEN_NAI_ANN', 'BEN_NAI_MOI'].map((c) => h.indexOf(c)) as [number, number, number, number];
  assert.ok(iN >= 0);
  for (const r of rows.slice(1)) {
    const v = r.split(';');
    const nir = v[iN]!;
    assert.ok(isValidNir(nir));
    assert.equal(nir[0], v[iS]);
    assert.equal(nir.slice(1, 5), v[iY]!.slice(2) + v[iM]);
  }
  assert.ok(readFileSync(join(I, 'csv', 'KI_CCI_R.csv'), 'utf8').startsWith('BEN_IDT_ANO;BEN_NIR_IDT;'));
});

test('NIR keys agree with the public NIR test vectors', () => {
  const v = JSON.parse(readFileSync(vectorPath('nir/nir-vectors.json'), 'utf8')) as { vectors: { input?: string; reference_algorithm?: string }[] };
  let n = 0;
  for (const x of v.vectors) {
    const nir = (x.input ?? '').replace(/\s/g, '').toUpperCase();
    if (nir.length !== 15 || x.reference_algorithm === undefined) continue;
    const ra = x.reference_algorithm;
    if (ra !== 'ok' && !ra.startsWith('bad-key')) continue;
    assert.equal(isValidNir(nir), ra === 'ok', `vector ${n}`);
    n++;
  }
  assert.ok(n > 0);
});

test('codes are drawn from the operator’s nomenclatures when given', async () => {
  const R = join(root, 'r');
  // Part of the SNDS reference nomenclatures (test/vectors/schema-snds): IR_CIM_V and IR_DPT_V with codes, IR_PHA_R without.
  const dir = sndsNomenclaturesDir;
  const s = await synthesize({ ...base, people: 300, out: R, nomenclatures: dir, parquet: false });
  assert.equal(s.nomenclatures['IR_CIM_V'], 'operator');
  assert.equal(s.nomenclatures['IR_PHA_R'], 'builtin');
  const bad = checkAll(R, new NomenclatureSet(dir));
  for (const [f, v] of bad) assert.deepEqual(v.slice(0, 3), [], f);
});

// Opt-in because it writes ~20 M rows: SYNTH_SCALE=100000 node --test src/synth/
test('scale: rows per second at national-like density', { skip: process.env['SYNTH_SCALE'] === undefined }, async () => {
  const S = join(root, 's');
  const t0 = performance.now();
  const s = await synthesize({ ...base, people: Number(process.env['SYNTH_SCALE']), out: S, parquet: process.env['SYNTH_SCALE_PARQUET'] !== undefined });
  const secs = (performance.now() - t0) / 1000;
  const rows = Object.values(s.files).reduce((a, b) => a + b, 0);
  console.log(`synth scale: ${s.people} people, ${rows} rows in ${secs.toFixed(1)} s = ${Math.round(rows / secs)} rows/s`);
  assert.ok(rows > s.people * 50);
});
