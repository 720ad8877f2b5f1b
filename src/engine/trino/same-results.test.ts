/**
 * The same extract plan over the same source rows gives the same workspace answers on DuckDB and
 * on Trino, pseudonyms included: DuckDB reads the version as encrypted Parquet (PME) and builds
 * its encrypted extract; Trino reads the version registered from plain Parquet in its warehouse
 * (the development stand-in for the SSE-C copy) and builds its extract in the workspace schema.
 * Also: registration refuses a copy that does not match the manifest. Needs a Trino
 * (ENCLAVE_TRINO_URL, ENCLAVE_TRINO_RULES_FILE, ENCLAVE_TRINO_WAREHOUSE); skipped with the reason
 * printed otherwise.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { openDuckDb } from '../duckdb.ts';
import { openDuckDbExtractBuilder } from '../duckdb-extract/builder.ts';
import { openDuckDbSandbox } from '../duckdb-sandbox/sandbox.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import type { PlanTable } from '../extract-port.ts';
import { defaultLimits } from '../spec/fixture.ts';
import { trinoReachable, trinoTarget } from '../spec/trino-fixture.ts';
import type { StatementResult, WorkspaceSession, WorkspaceSpec } from '../workspace-port.ts';
import { TrinoClient } from './client.ts';
import { registerDatasetVersion, type TrinoDatasetTable } from './datasets.ts';
import { openTrinoWorkspaceEngine } from './engine.ts';
import { datasetSchema } from './extract-compile.ts';
import { openTrinoExtractBuilder } from './extract.ts';

const target = trinoTarget(process.env);
const warehouse = process.env['ENCLAVE_TRINO_WAREHOUSE'];
const why = 'skip' in target ? target.skip : warehouse === undefined || warehouse === '' ? 'ENCLAVE_TRINO_WAREHOUSE is not set (the local.location of the enclave catalog: `scripts/trino.sh warehouse`)' : await trinoReachable(target);
if (why !== undefined) console.log(`DuckDB/Trino same results skipped: ${why}`);

const YEARS = [2019, 2020, 2021] as const;
const PER_YEAR = 1500;
/** One year's care rows; a pure function of the row index, the same for both engines. */
const rowsOf = (y: number): string => `SELECT 'P' || CAST(i % 300 AS VARCHAR) AS BEN_NIR_PSA, CAST(DATE '${y}-01-01' + CAST(i % 365 AS INTEGER) AS DATE) AS EXE_SOI_DTD, CAST(CAST(1000 + i % 7 AS INTEGER) AS VARCHAR) AS PRS_NAT_REF, CAST(1 + i % 2 AS INTEGER) AS BEN_SEX_COD, CAST(CAST(1940 + i % 50 AS INTEGER) AS VARCHAR) AS BEN_NAI_ANN FROM (SELECT range AS i FROM range(${PER_YEAR}))`;

const plan: PlanTable = {
  dataset: 'sametest', table: 'ER_PRS_F', name: 'er_prs_f',
  columns: [
    { name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true },
    { name: 'exe_soi_dtd', source: 'EXE_SOI_DTD', rekey: false },
    { name: 'prs_nat_ref', source: 'PRS_NAT_REF', rekey: false },
  ],
  years: { kind: 'file', from: 2020, to: 2021, reason: '' },
  population: { predicates: [{ column: 'BEN_SEX_COD', op: 'in', values: [2] }, { column: 'BEN_NAI_ANN', op: 'between', values: ['1950', '1970'] }], viaPerson: null, reason: '' },
};

const queries = [
  'SELECT count(*) AS n, count(DISTINCT ben_nir_psa) AS persons FROM er_prs_f',
  'SELECT ben_nir_psa, count(*) AS n, min(exe_soi_dtd) AS first FROM er_prs_f GROUP BY ben_nir_psa ORDER BY ben_nir_psa',
  'SELECT prs_nat_ref, count(*) AS n FROM er_prs_f WHERE exe_soi_dtd >= DATE \'2021-06-01\' GROUP BY prs_nat_ref ORDER BY prs_nat_ref',
];

describe('the same plan on DuckDB and Trino', { skip: why }, () => {
  let dir: string;
  let tableDir: string;
  let duckWs: WorkspaceSession;
  let trinoWs: WorkspaceSession;
  const closers: Array<() => Promise<void>> = [];
  const sourceKey = randomBytes(32);
  const projectKey = randomBytes(32);
  const rekeyKey = randomBytes(32);
  let manifest: TrinoDatasetTable;

  before(async () => {
    if ('skip' in target || warehouse === undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'enclave-same-'));
    tableDir = join(warehouse, 'sametest_v1', 'ER_PRS_F');
    await rm(join(warehouse, 'sametest_v1'), { recursive: true, force: true });
    const duck = await openDuckDb({ threads: 1 });
    const s = await duck.session();
    const files: string[] = [];
    const trinoFiles: { path: string; bytes: number }[] = [];
    try {
      for (const y of YEARS) {
        // DuckDB's copy: encrypted (PME), as the store keeps dataset versions.
        const f = join(dir, `year=${y}`, 'part-0.parquet');
        await mkdir(join(dir, `year=${y}`), { recursive: true });
        await copyQueryToEncryptedParquet(s, rowsOf(y), f, sourceKey);
        if (y >= 2020) files.push(f);
        // Trino's copy: the same rows, readable by Trino.
        await mkdir(join(tableDir, `year=${y}`), { recursive: true });
        const p = join(tableDir, `year=${y}`, 'part-0.parquet');
        await s.run(`COPY (${rowsOf(y)}) TO '${p}' (FORMAT parquet)`);
        trinoFiles.push({ path: `year=${y}/part-0.parquet`, bytes: (await stat(p)).size });
      }
    } finally {
      s.close();
      await duck.close();
    }
    manifest = {
      table: 'ER_PRS_F', location: 'local:///sametest_v1/ER_PRS_F', files: trinoFiles,
      columns: [{ name: 'BEN_NIR_PSA', type: 'varchar' }, { name: 'EXE_SOI_DTD', type: 'date' }, { name: 'PRS_NAT_REF', type: 'varchar' }, { name: 'BEN_SEX_COD', type: 'integer' }, { name: 'BEN_NAI_ANN', type: 'varchar' }],
    };
    // DuckDB: build the encrypted extract, open the sandbox on it.
    const builder = await openDuckDbExtractBuilder({ threads: 1 });
    const out = join(dir, 'extract', 'er_prs_f.parquet');
    await builder.buildTable({ table: plan, source: { dataset: 'sametest', table: 'ER_PRS_F', files }, personSources: [], sourceKeys: new Map([['sametest', sourceKey]]), rekeyKey, targetKey: projectKey, target: out });
    await builder.close();
    const spec: WorkspaceSpec = { workspaceId: 'same-results', extract: [{ name: 'er_prs_f', files: [out], key: projectKey }], scratch: { dir: join(dir, 'scratch'), key: projectKey, quotaBytes: 1 << 20 }, limits: { ...defaultLimits, statementTimeoutMs: 20_000 } };
    const duckEngine = openDuckDbSandbox({ killGraceMs: 2000 });
    closers.push(() => duckEngine.close());
    duckWs = await duckEngine.open(spec);
    // Trino: register the version, build the extract, open the workspace.
    const client = new TrinoClient({ url: target.url });
    await registerDatasetVersion(client, 'enclave', { dataset: 'sametest', version: 1, tables: [manifest] });
    const trinoBuilder = openTrinoExtractBuilder({ url: target.url });
    await trinoBuilder.dropWorkspace('same-results');
    const built = await trinoBuilder.buildPlan({ projectId: 'same-results', permitVersion: 1, years: { from: 2020, to: 2021 }, tables: [plan] }, (d, t) => ({ catalog: 'enclave', schema: datasetSchema(d, 1), table: t.toLowerCase() }), rekeyKey);
    assert.ok((built.get('er_prs_f')?.rows ?? 0) > 0);
    const trinoEngine = openTrinoWorkspaceEngine({ url: target.url, rulesFile: target.rulesFile });
    closers.push(() => trinoEngine.close());
    trinoWs = await trinoEngine.open(spec);
  });
  after(async () => {
    for (const c of closers) await c();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('every workspace query returns the same rows, re-keyed pseudonyms included', async () => {
    let rows = 0;
    for (const sql of queries) {
      const answers: unknown[][][] = [];
      for (const ws of [duckWs, trinoWs]) {
        const r = (await ws.run(sql)) as StatementResult;
        answers.push((await ws.page(r.resultId, { offset: 0, limit: 10_000 })).rows.map((x) => [...x]));
      }
      assert.ok((answers[0]?.length ?? 0) > 0, sql);
      assert.deepEqual(answers[1], answers[0], sql);
      rows += answers[0]?.length ?? 0;
    }
    console.log(`DuckDB/Trino same results: ${queries.length} queries, ${rows} rows equal on both engines (pseudonyms re-keyed by each engine's HMAC)`);
  });

  test('registration refuses a Trino copy that does not match the manifest, naming the file', async () => {
    if ('skip' in target) return;
    const client = new TrinoClient({ url: target.url });
    const extra = join(tableDir, 'year=2020', 'part-9.parquet');
    const duck = await openDuckDb({ threads: 1 });
    const s = await duck.session();
    await s.run(`COPY (${rowsOf(2020)} LIMIT 10) TO '${extra}' (FORMAT parquet)`);
    s.close();
    await duck.close();
    await assert.rejects(registerDatasetVersion(client, 'enclave', { dataset: 'sametest', version: 1, tables: [manifest] }), (e: unknown) => e instanceof AppError && e.code === 'integrity' && /year=2020\/part-9\.parquet is not in the manifest/.test(e.message));
    await rm(extra);
    const wrongSize = { ...manifest, files: manifest.files.map((f, i) => (i === 0 ? { ...f, bytes: f.bytes + 1 } : f)) };
    await assert.rejects(registerDatasetVersion(client, 'enclave', { dataset: 'sametest', version: 1, tables: [wrongSize] }), (e: unknown) => e instanceof AppError && e.code === 'integrity' && /the manifest says/.test(e.message));
    await assert.rejects(registerDatasetVersion(client, 'enclave', { dataset: 'sametest', version: 1, tables: [{ ...manifest, columns: [{ name: 'year', type: 'integer' }], location: 'http://x' }] }), (e: unknown) => e instanceof AppError && e.code === 'invalid' && /location.*columns\[0\]\.name/.test(e.message));
    await writeFile(join(dir, 'done'), '');
  });
});
