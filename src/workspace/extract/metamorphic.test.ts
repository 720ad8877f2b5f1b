/**
 * SECURITY-TESTS #11, metamorphic part: random queries run in the sandboxed workspace on a real
 * extract give exactly what the same queries give on the permitted view of the base, computed
 * independently (the base's own files, filtered by the permit's years and population in plain
 * SQL written here, not by the extract compiler). Re-keying is a bijection applied consistently,
 * so any query that uses pseudonyms only through equality (joins, count distinct, grouping that
 * is not output) must agree; a row outside the permitted view (another year, a man in a women-only
 * population, a column not granted) would change some answer. Queries naming what the permit did
 * not grant (columns, tables) must fail without rows.
 *
 * Prints: "Q random queries, 0 rows outside the permitted view".
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDuckDbSandbox } from '../../engine/duckdb-sandbox/sandbox.ts';
import type { CellValue, EngineSession, ExtractBuilder, WorkspaceEngine, WorkspaceSession } from '../../engine/index.ts';
import { permitSha256, type PermitDocument } from '../../governance/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder } from '../../main.ts';
import { Rng, synthesize } from '../../synth/index.ts';
import { testDbKind } from '../../../test/helpers/db.ts';
import { openTestPlatform, type TestPlatform } from '../../../test/helpers/platform.ts';
import { ExtractService } from './index.ts';

const actor = { kind: 'service', id: 'metamorphic-test' } as const;
const YEARS = { from: 2021, to: 2022 };
/** Random queries per run (ENCLAVE_METAMORPHIC_QUERIES); the seed is printed so a failure can be replayed. */
const QUERIES = Number(process.env['ENCLAVE_METAMORPHIC_QUERIES'] ?? 80);
const SEED = process.env['ENCLAVE_METAMORPHIC_SEED'] ?? randomBytes(4).toString('hex');

const document: PermitDocument = {
  schemaVersion: 1, projectId: 'pm', title: 'metamorphic',
  datasets: [{
    dataset: 'snds', tables: [
      { table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'FLX_DIS_DTD', 'PRS_ACT_QTE'] },
      { table: 'T_MCOaaC', columns: ['NIR_ANO_17', 'ENT_DAT', 'SOR_DAT'] },
      { table: 'IR_BEN_R', columns: ['BEN_NIR_PSA', 'BEN_NAI_ANN'] },
    ],
  }],
  years: YEARS,
  population: { description: 'women', criteria: [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }] },
  members: [{ personId: 'pi', role: 'principal_investigator' }], tools: ['web_sql'], disclosure: { minimumCellCount: 11 },
  validFrom: '2026-01-01', validUntil: '2026-12-31',
};

let p: TestPlatform;
let builder: ExtractBuilder;
let engine: WorkspaceEngine;
let ws: WorkspaceSession;
let ref: EngineSession;
let scratch: string;
const values: { prs: string[]; birth: number[] } = { prs: [], birth: [] };

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

before(async () => {
  p = await openTestPlatform();
  await p.catalog.importBuiltin(actor);
  await synthesize({ people: 150, startYear: 2020, endYear: 2023, seed: 21, out: join(p.dir, 'synth'), parquet: false });
  await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
  await p.audit.transaction({ actor, action: 'test.project.keys', target: 'project:pm' }, async (tx) => {
    await p.keys.ensureDataKey(tx, 'project', 'pm', 'encryption');
    await p.keys.ensureDataKey(tx, 'project', 'pm', 'pseudonymisation');
  });
  builder = await openDuckDbExtractBuilder({ threads: 2 });
  const service = new ExtractService({
    db: p.t.db, audit: p.audit, store: p.store, builder, permits: { active: async () => ({ version: 1, sha256: permitSha256(document), document }) },
    catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(p.ingest, p.keys, p.store), keys: extractKeysFrom(p.keys),
  });
  await service.materialise('pm');
  const { tables } = await service.openForEngine('pm');
  engine = openDuckDbSandbox({ killGraceMs: 2000 });
  scratch = await mkdtemp(join(tmpdir(), 'enclave-meta-'));
  ws = await engine.open({
    workspaceId: 'pm', extract: tables.map((t) => ({ name: t.name, files: [...t.files], key: t.key })),
    scratch: { dir: scratch, key: randomBytes(32), quotaBytes: 16 * 1024 * 1024 },
    limits: { memoryBytes: 512 * 1024 * 1024, threads: 1, tempDiskBytes: 0, statementTimeoutMs: 30_000, rowCap: 100_000 },
  });

  // The permitted view, written from the permit by hand over the base's files.
  ref = await p.engine.session();
  await p.keys.withDataKey('dataset', 'snds', 'encryption', (k) => ref.addParquetKey('kbase', k));
  const v = await p.ingest.version('snds');
  const scan = (table: string, years?: typeof YEARS): string => {
    const files = v.manifest.files.filter((f) => f.table === table && (years === undefined || (f.year >= years.from && f.year <= years.to)));
    return `read_parquet([${files.map((f) => q(p.store.localPath(`${v.prefix}/${f.path}`))).join(', ')}], encryption_config = {footer_key: 'kbase'})`;
  };
  const women = `(SELECT BEN_NIR_PSA FROM ${scan('IR_BEN_R')} WHERE BEN_SEX_COD = 2)`;
  await ref.run(`CREATE TEMP VIEW er_prs_f AS SELECT BEN_NIR_PSA AS ben_nir_psa, EXE_SOI_DTD AS exe_soi_dtd, PRS_NAT_REF AS prs_nat_ref, FLX_DIS_DTD AS flx_dis_dtd, PRS_ACT_QTE AS prs_act_qte FROM ${scan('ER_PRS_F')} WHERE year(FLX_DIS_DTD) BETWEEN ${YEARS.from} AND ${YEARS.to} AND BEN_NIR_PSA IN ${women}`);
  await ref.run(`CREATE TEMP VIEW t_mcoaac AS SELECT NIR_ANO_17 AS nir_ano_17, ENT_DAT AS ent_dat, SOR_DAT AS sor_dat FROM ${scan('T_MCOaaC', YEARS)} WHERE NIR_ANO_17 IN ${women}`);
  await ref.run(`CREATE TEMP VIEW ir_ben_r AS SELECT BEN_NIR_PSA AS ben_nir_psa, BEN_NAI_ANN AS ben_nai_ann FROM ${scan('IR_BEN_R')} WHERE BEN_SEX_COD = 2`);
  values.prs = (await ref.all<{ v: unknown }>('SELECT DISTINCT CAST(prs_nat_ref AS VARCHAR) AS v FROM er_prs_f ORDER BY 1')).map((r) => String(r.v));
  values.birth = (await ref.all<{ v: unknown }>('SELECT DISTINCT TRY_CAST(ben_nai_ann AS INTEGER) AS v FROM ir_ben_r WHERE v IS NOT NULL ORDER BY 1')).map((r) => Number(r.v));
});

after(async () => {
  ref?.close();
  await ws?.close();
  await engine?.close();
  await builder?.close();
  await p?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** A random query over the permitted view that uses pseudonyms only through equality. */
function randomQuery(r: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[r.int(0, xs.length - 1)] as T;
  const day = (): string => `DATE '${r.int(YEARS.from - 1, YEARS.to + 1)}-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}'`;
  const prsIn = (): string => `CAST(p.prs_nat_ref AS VARCHAR) IN (${Array.from({ length: r.int(1, 4) }, () => q(pick(values.prs.length > 0 ? values.prs : ['0']))).join(', ')})`;
  const prsPred = (): string => pick([prsIn(), `p.exe_soi_dtd >= ${day()}`, `p.flx_dis_dtd < ${day()}`, `p.prs_act_qte > ${r.int(0, 3)}`, 'true']);
  const birthPred = (): string => {
    const lo = values.birth.length > 0 ? pick(values.birth) : 1950;
    return pick([`TRY_CAST(b.ben_nai_ann AS INTEGER) BETWEEN ${lo} AND ${lo + r.int(0, 30)}`, 'true']);
  };
  const dateGroup = (col: string): string => pick([`CAST(year(${col}) AS VARCHAR)`, `strftime(${col}, '%Y-%m')`, `CAST(dayofweek(${col}) AS VARCHAR)`]);
  switch (r.int(0, 7)) {
    case 0: {
      const g = pick([dateGroup('p.exe_soi_dtd'), dateGroup('p.flx_dis_dtd'), 'CAST(p.prs_nat_ref AS VARCHAR)']);
      return `SELECT ${g} AS g, count(*) AS n, count(DISTINCT p.ben_nir_psa) AS persons, sum(p.prs_act_qte) AS qty FROM er_prs_f p WHERE ${prsPred()} GROUP BY g ORDER BY ALL`;
    }
    case 1:
      return `SELECT CAST(TRY_CAST(b.ben_nai_ann AS INTEGER) // ${pick([5, 10, 20])} AS VARCHAR) AS band, count(*) AS events, count(DISTINCT b.ben_nir_psa) AS persons FROM er_prs_f p JOIN ir_ben_r b USING (ben_nir_psa) WHERE ${prsPred()} AND ${birthPred()} GROUP BY band ORDER BY ALL`;
    case 2:
      return `SELECT count(*) AS n, count(DISTINCT c.nir_ano_17) AS persons FROM t_mcoaac c JOIN er_prs_f p ON p.ben_nir_psa = c.nir_ano_17 AND p.exe_soi_dtd BETWEEN c.ent_dat AND c.sor_dat + ${r.int(0, 60)} WHERE ${prsPred()}`;
    case 3: {
      const k = r.int(1, 30);
      return `SELECT count(*) AS persons FROM (SELECT ben_nir_psa, count(*) AS n FROM er_prs_f p WHERE ${prsPred()} GROUP BY ben_nir_psa HAVING count(*) >= ${k})`;
    }
    case 4:
      return `SELECT strftime(d0, '%Y-%m') AS month, count(*) AS new_users FROM (SELECT ben_nir_psa, min(exe_soi_dtd) AS d0 FROM er_prs_f p WHERE ${prsIn()} GROUP BY ben_nir_psa) GROUP BY month ORDER BY ALL`;
    case 5:
      return `SELECT CAST(min(p.exe_soi_dtd) AS VARCHAR) AS first, CAST(max(p.flx_dis_dtd) AS VARCHAR) AS last, count(*) AS n, sum(p.prs_act_qte) AS qty FROM er_prs_f p WHERE ${prsPred()}`;
    case 6:
      return `SELECT count(*) AS persons_without_stay FROM ir_ben_r b WHERE ${birthPred()} AND NOT EXISTS (SELECT 1 FROM t_mcoaac c WHERE c.nir_ano_17 = b.ben_nir_psa AND c.ent_dat >= ${day()})`;
    default:
      return `SELECT CAST(rn AS VARCHAR) AS rank, count(*) AS n FROM (SELECT row_number() OVER (PARTITION BY ben_nir_psa ORDER BY exe_soi_dtd, prs_nat_ref, flx_dis_dtd) AS rn FROM er_prs_f p WHERE ${prsPred()}) WHERE rn <= ${r.int(1, 5)} GROUP BY rn ORDER BY ALL`;
  }
}

const norm = (v: unknown): string => (v === null || v === undefined ? 'NULL' : typeof v === 'bigint' ? v.toString() : String(v));

async function workspaceRows(sql: string): Promise<string[]> {
  const res = await ws.run(sql);
  assert.equal(res.kind, 'rows');
  if (res.kind !== 'rows') return [];
  const rows: (readonly CellValue[])[] = [];
  while (rows.length < res.rowCount) rows.push(...(await ws.page(res.resultId, { offset: rows.length, limit: 10_000 })).rows);
  await ws.discard(res.resultId);
  return rows.map((row) => row.map(norm).join('|')).sort();
}

async function referenceRows(sql: string): Promise<string[]> {
  return (await ref.all(sql)).map((row) => Object.values(row).map(norm).join('|')).sort();
}

test(`SECURITY-TESTS #11 (metamorphic): random queries in the workspace equal the permitted view of the base; ungranted columns and tables give no row (${testDbKind})`, async () => {
  const r = new Rng(`metamorphic-${SEED}`);
  let differing = 0;
  let nonEmpty = 0;
  for (let i = 0; i < QUERIES; i++) {
    const sql = randomQuery(r);
    const [got, want] = [await workspaceRows(sql), await referenceRows(sql)];
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      differing++;
      assert.deepEqual(got, want, `seed ${SEED}, query ${i}: ${sql}`);
    }
    if (want.some((l) => !/^(0|NULL)(\|(0|NULL))*$/.test(l))) nonEmpty++;
  }
  // the comparison has teeth: most queries answer something other than zeros
  assert.ok(nonEmpty > QUERIES / 2, `only ${nonEmpty} of ${QUERIES} queries returned data`);
  // what the permit did not grant exists in the base but cannot be named in the workspace
  const ungranted = [
    'SELECT BEN_SEX_COD FROM ir_ben_r', 'SELECT count(*) FROM ir_ben_r WHERE ben_sex_cod = 1', 'SELECT prs_pai_mnt FROM er_prs_f',
    'SELECT eta_num, rsa_num FROM t_mcoaac', 'SELECT * FROM er_pha_f', 'SELECT * FROM ir_imb_r', 'SELECT * FROM snds.ER_PRS_F',
  ];
  let leaked = 0;
  for (const sql of ungranted) {
    try {
      const res = await ws.run(sql);
      if (res.kind === 'rows' && res.rowCount > 0) leaked += res.rowCount;
    } catch {
      // refused or unknown to the engine: nothing returned
    }
  }
  assert.equal(leaked, 0);
  assert.equal(differing, 0);
  console.log(`# ${QUERIES} random queries (seed ${SEED}), ${nonEmpty} with data, 0 rows outside the permitted view; ${ungranted.length} queries on ungranted columns and tables, 0 rows`);
  console.log(`# ${QUERIES} random queries, 0 rows outside the permitted view`);
});
