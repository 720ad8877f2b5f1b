import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { PlanTable, SourceFiles } from '../extract-port.ts';
import { compileTable, REKEY_IPAD, REKEY_OPAD, rekeySql, scriptOf } from './compile.ts';

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
const src = (table: string, files: string[]): SourceFiles => ({ dataset: 'snds', table, files });

const cases: ReadonlyArray<readonly [string, string]> = ([
  ['prs-years-column-population-own', compileTable(prs, src('ER_PRS_F', ['/store/snds/v1/ER_PRS_F/year=2020/a.parquet', "/store/it's/year=2021/b.parquet"]))],
  ['mco-yearly-files-population-via-person', compileTable(mco, src('T_MCOaaC', ['/store/snds/v1/T_MCOaaC/year=2020/T_MCO20C.parquet']), [src('IR_BEN_R', ['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet']), src('ER_PRS_F', ['/store/snds/v1/ER_PRS_F/year=2020/a.parquet'])])],
  ['referential-no-years-no-population', compileTable(ben, src('IR_BEN_R', ['/store/snds/v1/IR_BEN_R/year=0/IR_BEN_R.parquet']))],
  ['no-file-of-the-years-reads-columns-only', compileTable(prs, { dataset: 'snds', table: 'ER_PRS_F', files: [], schemaFile: '/store/snds/v1/ER_PRS_F/year=2019/a.parquet' })],
] as const).map(([n, c]) => [n, scriptOf(c)] as const);

for (const [name, sql] of cases) {
  test(`the DuckDB SQL of plan "${name}" equals its golden file`, () => {
    if (UPDATE || !existsSync(golden(name))) writeFileSync(golden(name), `${sql}\n`);
    assert.equal(`${sql}\n`, readFileSync(golden(name), 'utf8'), `compiled SQL changed; if intended, run with ENCLAVE_GOLDEN=update and review the diff`);
  });
}

test('no key material appears in the compiled SQL: pads are session variables', () => {
  for (const [, sql] of cases) {
    assert.match(sql, new RegExp(`getvariable\\('${REKEY_IPAD}'\\)`));
    assert.doesNotMatch(sql, /unhex\('[0-9a-f]{16,}'\)|add_parquet_key/i);
  }
});

test('the re-keying SQL equals node createHmac(sha256) byte for byte, NULL stays NULL', async () => {
  const key = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff', 'hex');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    const k = Buffer.alloc(64);
    key.copy(k);
    for (const [n, x] of [[REKEY_IPAD, 0x36], [REKEY_OPAD, 0x5c]] as const) {
      const p = await c.prepare(`SET VARIABLE ${n} = $1::BLOB`);
      p.bindBlob(1, Buffer.from(k.map((b) => b ^ x)));
      await p.run();
    }
    const values = ['', 'a', 'é€😀', '3f'.repeat(32), "quote'd"];
    const rows = (await c.runAndReadAll(`SELECT v, ${rekeySql('v')} AS h FROM (SELECT unnest([${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')}, NULL]) AS v)`)).getRowObjectsJS() as Array<{ v: string | null; h: string | null }>;
    for (const r of rows) assert.equal(r.h, r.v === null ? null : createHmac('sha256', key).update(r.v, 'utf8').digest('hex'));
    assert.equal(rows.length, values.length + 1);
  } finally {
    c.closeSync();
    db.closeSync();
  }
});
