/**
 * Golden SQL of the Trino extract compiler (no Trino needed), and, where a Trino is configured,
 * the compiled SQL run on it: rows filtered as the plan says, pseudonyms re-keyed byte for byte
 * as node's HMAC-SHA256 (and so as DuckDB's compiler) gives them.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { PlanTable } from '../extract-port.ts';
import { trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import { TrinoClient } from './client.ts';
import { compileTrinoTable, datasetSchema, type TrinoTableRef } from './extract-compile.ts';
import { openTrinoExtractBuilder } from './extract.ts';
import { trinoIdent, workspaceSchema } from './engine.ts';
import { ADMIN_USER } from './rules.ts';

/** ENCLAVE_GOLDEN=update rewrites the golden files from the compiler (review the diff before committing). */
const UPDATE = process.env['ENCLAVE_GOLDEN'] === 'update';
const golden = (name: string): URL => new URL(`./golden/${name}.sql`, import.meta.url);

const prs: PlanTable = {
  dataset: 'snds', table: 'ER_PRS_F', name: 'er_prs_f',
  columns: [
    { name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true },
    { name: 'exe_soi_dtd', source: 'EXE_SOI_DTD', rekey: false },
    { name: 'prs_nat_ref', source: 'PRS_NAT_REF', rekey: false },
  ],
  years: { kind: 'column', column: 'FLX_DIS_DTD', columnType: 'date', from: 2020, to: 2021, reason: '' },
  population: { predicates: [{ column: 'BEN_SEX_COD', op: 'in', values: [2] }, { column: 'BEN_NAI_ANN', op: 'between', values: ['1950', '1970'] }], viaPerson: null, reason: '' },
};
const mco: PlanTable = {
  dataset: 'snds', table: 'T_MCOaaC', name: 't_mcoaac',
  columns: [{ name: 'nir_ano_17', source: 'NIR_ANO_17', rekey: true }, { name: 'ent_dat', source: 'ENT_DAT', rekey: false }],
  years: { kind: 'file', from: 2020, to: 2021, reason: '' },
  population: { predicates: [], viaPerson: { personColumn: 'NIR_ANO_17', sources: [{ dataset: 'snds', table: 'IR_BEN_R', personColumn: 'BEN_NIR_PSA', predicates: [{ column: 'BEN_SEX_COD', op: 'not_in', values: [1, 9] }] }, { dataset: 'snds', table: 'ER_PRS_F', personColumn: 'BEN_NIR_PSA', predicates: [{ column: 'PRS_NAT_REF', op: 'in', values: ['1111', '3317'] }] }] }, reason: '' },
};
const ben: PlanTable = {
  dataset: 'snds', table: 'IR_BEN_R', name: 'ir_ben_r',
  columns: [{ name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true }, { name: 'ben_sex_cod', source: 'BEN_SEX_COD', rekey: false }],
  years: { kind: 'none', reason: '' },
  population: { predicates: [], viaPerson: null, reason: '' },
};
const ref = (table: string): TrinoTableRef => ({ catalog: 'enclave', schema: datasetSchema('snds', 1), table: table.toLowerCase() });
const target = (table: string): TrinoTableRef => ({ catalog: 'enclave', schema: workspaceSchema('p-golden'), table });

const cases: ReadonlyArray<readonly [string, string]> = [
  ['prs-years-column-population-own', compileTrinoTable(prs, { source: ref('ER_PRS_F'), personSources: [], target: target('er_prs_f') })],
  ['mco-yearly-partitions-population-via-person', compileTrinoTable(mco, { source: ref('T_MCOaaC'), personSources: [ref('IR_BEN_R'), ref('ER_PRS_F')], target: target('t_mcoaac') })],
  ['referential-no-years-no-population', compileTrinoTable(ben, { source: ref('IR_BEN_R'), personSources: [], target: target('ir_ben_r') })],
  ['no-rekeyed-column', compileTrinoTable({ ...ben, columns: [{ name: 'ben_sex_cod', source: 'BEN_SEX_COD', rekey: false }] }, { source: ref('IR_BEN_R'), personSources: [], target: target('ir_ben_r') })],
];

for (const [name, sql] of cases) {
  test(`the Trino SQL of plan "${name}" equals its golden file`, () => {
    if (UPDATE || !existsSync(golden(name))) writeFileSync(golden(name), `${sql}\n`);
    assert.equal(`${sql}\n`, readFileSync(golden(name), 'utf8'), 'compiled SQL changed; if intended, run with ENCLAVE_GOLDEN=update and review the diff');
  });
}

test('no key material appears in the compiled SQL: the key is the one parameter', () => {
  for (const [name, sql] of cases) {
    assert.equal((sql.match(/\?/g) ?? []).length, name === 'no-rekeyed-column' ? 0 : 1, name);
    assert.doesNotMatch(sql, /X'[0-9a-f]{16,}'/i);
  }
  assert.throws(() => compileTrinoTable(mco, { source: ref('T_MCOaaC'), personSources: [ref('IR_BEN_R')], target: target('t') }), /needs the Trino table of snds\.ER_PRS_F/);
});

const t = trinoTarget(process.env);
const why = 'skip' in t ? t.skip : await trinoReachable(t);
if (why !== undefined) console.log(`Trino extract build skipped: ${why}`);

test('on Trino: the compiled extract keeps the plan\'s rows and re-keys pseudonyms exactly as node\'s HMAC-SHA256', { skip: why }, async () => {
  if ('skip' in t) return;
  const c = new TrinoClient({ url: t.url });
  const as = { user: ADMIN_USER, catalog: 'enclave' };
  const ds = trinoIdent(datasetSchema('snds', 1));
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${ds}`, as);
  await c.query(`DROP TABLE IF EXISTS ${ds}.er_prs_f`, as);
  // 2 000 care rows of 200 persons over 2019-2022, partitioned by year as the store lays them out.
  await c.query(`CREATE TABLE ${ds}.er_prs_f WITH (format = 'PARQUET', partitioned_by = ARRAY['year']) AS SELECT 'P' || CAST(i % 200 AS VARCHAR) AS "BEN_NIR_PSA", date_add('day', i % 1460, DATE '2019-01-01') AS "EXE_SOI_DTD", date_add('day', i % 1460, DATE '2019-01-01') AS "FLX_DIS_DTD", CAST(1000 + i % 7 AS VARCHAR) AS "PRS_NAT_REF", CAST(1 + i % 2 AS INTEGER) AS "BEN_SEX_COD", CAST(1940 + i % 50 AS VARCHAR) AS "BEN_NAI_ANN", CAST(year(date_add('day', i % 1460, DATE '2019-01-01')) AS INTEGER) AS year FROM UNNEST(sequence(0, 1999)) AS x(i)`, as);
  const key = randomBytes(32);
  const builder = openTrinoExtractBuilder({ url: t.url });
  await builder.dropWorkspace('p-extract-test');
  const started = performance.now();
  const built = await builder.buildTable({ table: prs, source: ref('ER_PRS_F'), personSources: [], workspaceId: 'p-extract-test', rekeyKey: key });
  const took = performance.now() - started;
  // Expected in TypeScript from the same generator.
  const expected = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const day = new Date(Date.UTC(2019, 0, 1) + (i % 1460) * 86_400_000);
    const y = day.getUTCFullYear();
    const sex = 1 + (i % 2);
    const birth = 1940 + (i % 50);
    if (y < 2020 || y > 2021 || sex !== 2 || birth < 1950 || birth > 1970) continue;
    const h = createHmac('sha256', key).update(`P${i % 200}`, 'utf8').digest('hex');
    expected.set(h, (expected.get(h) ?? 0) + 1);
  }
  assert.equal(built.rows, [...expected.values()].reduce((a, b) => a + b, 0));
  assert.deepEqual(built.columns.map((x) => `${x.name}:${x.type}`), ['ben_nir_psa:VARCHAR', 'exe_soi_dtd:DATE', 'prs_nat_ref:VARCHAR']);
  const got = await c.query(`SELECT ben_nir_psa, count(*) FROM ${trinoIdent(workspaceSchema('p-extract-test'))}.er_prs_f GROUP BY 1`, as);
  assert.deepEqual(new Map(got.rows.map(([h, n]) => [String(h), Number(n)])), expected);
  // A narrowed plan drops the extract table it no longer has; a member's saved table stays.
  const ws = trinoIdent(workspaceSchema('p-extract-test'));
  await c.query(`CREATE TABLE ${ws}.saved_by_member AS SELECT 1 AS x`, as);
  const ben: PlanTable = { dataset: 'snds', table: 'ER_PRS_F', name: 'persons_only', columns: [{ name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true }], years: { kind: 'none', reason: '' }, population: { predicates: [], viaPerson: null, reason: '' } };
  await builder.buildPlan({ projectId: 'p-extract-test', permitVersion: 2, years: { from: 2020, to: 2021 }, tables: [ben] }, (_d, tb) => ref(tb), key);
  const left = await c.query(`SELECT table_name FROM enclave.information_schema.tables WHERE table_schema = '${workspaceSchema('p-extract-test')}' ORDER BY 1`, as);
  assert.deepEqual(left.rows, [['persons_only'], ['saved_by_member']]);
  await builder.dropWorkspace('p-extract-test');
  console.log(`Trino extract: ${built.rows} of 2000 rows kept, ${expected.size} persons re-keyed equal to node's HMAC, built in ${Math.round(took)} ms`);
});
