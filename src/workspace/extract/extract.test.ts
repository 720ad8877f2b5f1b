/**
 * The project extract on a synthetic SNDS delivery ingested for real: each extract is exactly its
 * permit's scope, re-keyed per project, encrypted, hashed in its manifest; amendments make new
 * generations; a failure is audited and leaves the previous generation readable.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EngineSession, ExtractBuilder } from '../../engine/index.ts';
import { permitSha256, type PermitDocument } from '../../governance/index.ts';
import { synthesize } from '../../synth/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder } from '../../main.ts';
import { testDbKind } from '../../../test/helpers/db.ts';
import { openTestPlatform, type TestPlatform } from '../../../test/helpers/platform.ts';
import { ExtractService, type PermitsInForce } from './index.ts';
import type { ExtractManifest } from '../extract-contract.ts';

const actor = { kind: 'service', id: 'extract-test' } as const;
const YEARS = { from: 2021, to: 2022 };

let p: TestPlatform;
let builder: ExtractBuilder;
/** The permits in force, as governance would answer (governance itself is tested elsewhere; one test below drives it for real). */
const inForce = new Map<string, { version: number; sha256: string; document: PermitDocument }>();
const permits: PermitsInForce = { active: async (id) => inForce.get(id) ?? null };
let service: ExtractService;
const progress: number[] = [];

function permit(projectId: string, o: { readonly prsColumns?: readonly string[]; readonly extraTable?: string } = {}): PermitDocument {
  return {
    schemaVersion: 1, projectId, title: 'test',
    datasets: [{
      dataset: 'snds', tables: [
        { table: 'ER_PRS_F', columns: [...(o.prsColumns ?? ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'FLX_DIS_DTD'])] },
        { table: 'T_MCOaaC', columns: ['NIR_ANO_17', 'ENT_DAT', 'SOR_DAT'] },
        { table: 'IR_BEN_R', columns: ['BEN_NIR_PSA', 'BEN_NAI_ANN'] },
        ...(o.extraTable === undefined ? [] : [{ table: o.extraTable, columns: ['BEN_NIR_PSA'] }]),
      ],
    }],
    years: YEARS,
    population: { description: 'women', criteria: [{ column: 'snds.IR_BEN_R.BEN_SEX_COD', op: 'in', values: [2] }] },
    members: [{ personId: 'pi', role: 'principal_investigator' }], tools: ['web_sql'], disclosure: { minimumCellCount: 11 },
    validFrom: '2026-01-01', validUntil: '2026-12-31',
  };
}

async function grant(projectId: string, version: number, doc: PermitDocument): Promise<void> {
  inForce.set(projectId, { version, sha256: permitSha256(doc), document: doc });
  await p.audit.transaction({ actor, action: 'test.project.keys', target: `project:${projectId}` }, async (tx) => {
    await p.keys.ensureDataKey(tx, 'project', projectId, 'encryption');
    await p.keys.ensureDataKey(tx, 'project', projectId, 'pseudonymisation');
  });
}

const projectKey = (id: string, purpose: 'encryption' | 'pseudonymisation'): Promise<Buffer> => p.keys.withDataKey('project', id, purpose, async (k) => Buffer.from(k));

/** Rows as sorted JSON lines (big integers and dates as text), for multiset comparison. */
async function lines(s: EngineSession, sql: string): Promise<string[]> {
  const rows = await s.all(sql);
  return rows.map((r) => JSON.stringify(Object.values(r), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
}

async function session(): Promise<EngineSession> {
  const s = await p.engine.session();
  await p.keys.withDataKey('dataset', 'snds', 'encryption', (k) => s.addParquetKey('kbase', k));
  return s;
}

async function withExtractKey(s: EngineSession, id: string, name: string): Promise<void> {
  await s.addParquetKey(name, await projectKey(id, 'encryption'));
}

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const extractScan = (m: ExtractManifest, table: string, key: string): string => {
  const t = m.tables.find((x) => x.name === table);
  assert.ok(t, `table ${table} in the extract`);
  return `read_parquet([${t.files.map((f) => q(p.store.localPath(f.path))).join(', ')}], encryption_config = {footer_key: '${key}'})`;
};
async function baseScan(table: string, years?: { from: number; to: number }): Promise<string> {
  const v = await p.ingest.version('snds');
  const files = v.manifest.files.filter((f) => f.table === table && (years === undefined || (f.year >= years.from && f.year <= years.to)));
  assert.ok(files.length > 0, `base files of ${table}`);
  return `read_parquet([${files.map((f) => q(p.store.localPath(`${v.prefix}/${f.path}`))).join(', ')}], encryption_config = {footer_key: 'kbase'})`;
}

before(async () => {
  p = await openTestPlatform();
  await p.catalog.importBuiltin(actor);
  await synthesize({ people: 150, startYear: 2020, endYear: 2023, seed: 12, out: join(p.dir, 'synth'), parquet: false, identified: true });
  await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
  builder = await openDuckDbExtractBuilder({ threads: 2 });
  service = new ExtractService({
    db: p.t.db, audit: p.audit, store: p.store, builder, permits,
    catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(p.ingest, p.keys, p.store), keys: extractKeysFrom(p.keys),
    onProgress: (x) => progress.push(x.percent),
    retainSupersededMs: 1500,
  });
  await grant('pa', 1, permit('pa'));
  await grant('pb', 1, permit('pb'));
});

after(async () => {
  await service.idle();
  await builder.close();
  await p.close();
});

test(`each extract table holds exactly the permitted columns, years and population of the base (${testDbKind})`, async () => {
  const m = await service.materialise('pa');
  assert.ok(m);
  assert.equal(m.state, 'ready');
  assert.deepEqual(m.tables.map((t) => t.name), ['er_prs_f', 't_mcoaac', 'ir_ben_r']);
  assert.deepEqual(m.tables.map((t) => t.columns.map((c) => c.name)), [['ben_nir_psa', 'exe_soi_dtd', 'prs_nat_ref', 'flx_dis_dtd'], ['nir_ano_17', 'ent_dat', 'sor_dat'], ['ben_nir_psa', 'ben_nai_ann']]);
  assert.deepEqual(m.tables.flatMap((t) => t.columns.filter((c) => c.rekeyed).map((c) => `${t.name}.${c.name}`)), ['er_prs_f.ben_nir_psa', 't_mcoaac.nir_ano_17', 'ir_ben_r.ben_nir_psa']);
  assert.deepEqual(progress.at(-1), 100);
  const rekey = await projectKey('pa', 'pseudonymisation');
  const h = (v: string): string => createHmac('sha256', rekey).update(v).digest('hex');
  const s = await session();
  try {
    await withExtractKey(s, 'pa', 'kpa');
    const women = `(SELECT BEN_NIR_PSA FROM ${await baseScan('IR_BEN_R')} WHERE BEN_SEX_COD = 2)`;
    const expected: Record<string, string> = {
      er_prs_f: `SELECT BEN_NIR_PSA, EXE_SOI_DTD, PRS_NAT_REF, FLX_DIS_DTD FROM ${await baseScan('ER_PRS_F')} WHERE year(FLX_DIS_DTD) BETWEEN ${YEARS.from} AND ${YEARS.to} AND BEN_NIR_PSA IN ${women}`,
      t_mcoaac: `SELECT NIR_ANO_17, ENT_DAT, SOR_DAT FROM ${await baseScan('T_MCOaaC', YEARS)} WHERE NIR_ANO_17 IN ${women}`,
      ir_ben_r: `SELECT BEN_NIR_PSA, BEN_NAI_ANN FROM ${await baseScan('IR_BEN_R')} WHERE BEN_SEX_COD = 2`,
    };
    for (const t of m.tables) {
      const base = (await s.all(expected[t.name] as string)).map((r) => {
        const v = Object.values(r);
        v[0] = v[0] === null ? null : h(String(v[0]));
        return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
      }).sort();
      const got = await lines(s, `SELECT * FROM ${extractScan(m, t.name, 'kpa')}`);
      assert.ok(base.length > 0, `${t.name}: the base has rows in scope`);
      assert.equal(got.length, t.rows, `${t.name}: manifest row count`);
      assert.deepEqual(got, base, `${t.name}: the extract is the permitted scope of the base`);
      console.log(`# ${t.name}: ${t.rows} rows, equal to the base query`);
    }
    // rows outside the scope exist in the base, so the filters did something
    const outside = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${await baseScan('ER_PRS_F')} WHERE year(FLX_DIS_DTD) NOT BETWEEN ${YEARS.from} AND ${YEARS.to} OR BEN_SEX_COD <> 2`);
    assert.ok(Number(outside[0]?.n) > 0);
  } finally {
    s.close();
  }
});

test(`pseudonyms differ from the base's and from another project's, and joins work inside one extract (${testDbKind})`, async () => {
  const a = (await service.current('pa')) ?? (await service.materialise('pa'));
  const b = await service.materialise('pb');
  assert.ok(a && b);
  const s = await session();
  try {
    await withExtractKey(s, 'pa', 'kpa');
    await withExtractKey(s, 'pb', 'kpb');
    const ids = async (m: ExtractManifest, key: string): Promise<Set<string>> => new Set((await s.all<{ v: string }>(`SELECT DISTINCT ben_nir_psa AS v FROM ${extractScan(m, 'ir_ben_r', key)}`)).map((r) => r.v));
    const inA = await ids(a, 'kpa');
    const inB = await ids(b, 'kpb');
    const base = new Set((await s.all<{ v: string }>(`SELECT DISTINCT BEN_NIR_PSA AS v FROM ${await baseScan('IR_BEN_R')}`)).map((r) => r.v));
    assert.equal(inA.size, inB.size);
    assert.ok(inA.size > 10);
    assert.equal([...inA].filter((x) => inB.has(x)).length, 0, 'no pseudonym shared by two projects');
    assert.equal([...inA].filter((x) => base.has(x)).length, 0, 'no base pseudonym in an extract');
    // same person, same re-keyed id across tables: joins inside the extract give the base's join
    const joined = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${extractScan(a, 'er_prs_f', 'kpa')} p JOIN ${extractScan(a, 'ir_ben_r', 'kpa')} r USING (ben_nir_psa)`);
    const joinedMco = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${extractScan(a, 't_mcoaac', 'kpa')} c JOIN ${extractScan(a, 'ir_ben_r', 'kpa')} r ON c.nir_ano_17 = r.ben_nir_psa`);
    const baseJoined = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${await baseScan('ER_PRS_F')} p JOIN ${await baseScan('IR_BEN_R')} r USING (BEN_NIR_PSA) WHERE year(p.FLX_DIS_DTD) BETWEEN ${YEARS.from} AND ${YEARS.to} AND p.BEN_NIR_PSA IN (SELECT BEN_NIR_PSA FROM ${await baseScan('IR_BEN_R')} WHERE BEN_SEX_COD = 2) AND r.BEN_SEX_COD = 2`);
    assert.equal(Number(joined[0]?.n), Number(baseJoined[0]?.n));
    assert.ok(Number(joined[0]?.n) > 0);
    const baseMco = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${await baseScan('T_MCOaaC', YEARS)} c JOIN ${await baseScan('IR_BEN_R')} r ON c.NIR_ANO_17 = r.BEN_NIR_PSA WHERE r.BEN_SEX_COD = 2`);
    assert.equal(Number(joinedMco[0]?.n), Number(baseMco[0]?.n), 'PMSI stays join their person (NIR_ANO_17 = BEN_NIR_PSA) as in the base');
    assert.ok(Number(joinedMco[0]?.n) > 0);
    // a join across projects finds nothing
    const cross = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${extractScan(a, 'ir_ben_r', 'kpa')} x JOIN ${extractScan(b, 'ir_ben_r', 'kpb')} y USING (ben_nir_psa)`);
    assert.equal(Number(cross[0]?.n), 0);
    console.log(`# ${inA.size} persons; 0 shared between projects, 0 base pseudonyms; join er_prs_f ⋈ ir_ben_r = ${Number(joined[0]?.n)} rows as in the base`);
  } finally {
    s.close();
  }
});

test(`no direct identifier and no base pseudonym in any extract file; files are encrypted and hashed in the manifest (${testDbKind})`, async () => {
  const m = (await service.current('pa')) as ExtractManifest;
  const s = await session();
  try {
    await withExtractKey(s, 'pa', 'kpa');
    await s.addParquetKey('kwrong', Buffer.alloc(32, 1));
    // every pseudonymised value of the base (pseudonyms and hashed direct identifiers)
    const base = new Set<string>();
    for (const [table, cols] of [['IR_BEN_R', ['BEN_NIR_PSA', 'BEN_NIR_IDT', 'BEN_NIR_ANO', 'BEN_IDT_ANO']], ['ER_PRS_F', ['BEN_NIR_PSA']], ['T_MCOaaC', ['NIR_ANO_17']]] as const) {
      for (const c of cols) for (const r of await s.all<{ v: string | null }>(`SELECT DISTINCT ${c}::VARCHAR AS v FROM ${await baseScan(table)}`)) if (r.v !== null) base.add(r.v);
    }
    assert.ok(base.size > 100);
    const direct = new Set(['BEN_NIR_IDT', 'NIR', 'BEN_NIR', 'IPP_IDV_NUM']);
    let values = 0;
    for (const t of m.tables) {
      for (const c of t.columns) assert.ok(!direct.has(c.source), `${t.name}.${c.name} is no direct identifier`);
      for (const f of t.files) {
        const path = p.store.localPath(f.path);
        const bytes = await readFile(path);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, `${f.path}: manifest hash`);
        assert.equal((await stat(path)).size, f.bytes);
        assert.equal(bytes.subarray(bytes.length - 4).toString('latin1'), 'PARE', 'encrypted footer (Parquet Modular Encryption)');
        await assert.rejects(s.all(`SELECT count(*) FROM read_parquet(${q(path)})`), 'unreadable without the key');
        await assert.rejects(s.all(`SELECT count(*) FROM read_parquet(${q(path)}, encryption_config = {footer_key: 'kwrong'})`), 'unreadable with another key');
        for (const r of await s.all(`SELECT * FROM read_parquet(${q(path)}, encryption_config = {footer_key: 'kpa'})`)) {
          for (const v of Object.values(r)) {
            values++;
            if (typeof v === 'string') assert.ok(!base.has(v), `${t.name}: a base pseudonym leaked`);
          }
        }
      }
    }
    console.log(`# ${values} values read back, 0 base pseudonyms or hashed identifiers; every file PARE, hash = manifest, unreadable without the key`);
  } finally {
    s.close();
  }
});

test(`an amendment yields a new generation; the old one's files stay for the grace period (a running statement finishes on them), then are deleted (${testDbKind})`, async () => {
  const before = (await service.current('pa')) as ExtractManifest;
  const doc = permit('pa', { prsColumns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'FLX_DIS_DTD', 'PRS_ACT_QTE'] });
  await grant('pa', 2, doc);
  const m = await service.materialise('pa');
  assert.ok(m);
  assert.equal(m.generation, before.generation + 1);
  assert.equal(m.permitVersion, 2);
  assert.deepEqual(m.tables[0]?.columns.map((c) => c.name), ['ben_nir_psa', 'exe_soi_dtd', 'prs_nat_ref', 'flx_dis_dtd', 'prs_act_qte']);
  assert.equal(m.tables[0]?.rows, before.tables[0]?.rows);
  const oldFile = before.tables[0]?.files[0]?.path as string;
  assert.equal(await p.store.exists(oldFile), true, 'the previous generation stays during the grace period');
  const deadline = Date.now() + 15_000;
  while ((await p.store.exists(oldFile)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await p.store.exists(oldFile), false, 'the previous generation is deleted after the grace period');
  const gens = await service.generations('pa');
  assert.deepEqual(gens.map((g) => [g.generation, g.state]), [[m.generation, 'ready'], [before.generation, 'destroyed']]);
  // the same permit again builds nothing new
  assert.equal((await service.materialise('pa'))?.generation, m.generation);
});

test(`a failed build is audited, deletes what it wrote and leaves the previous generation readable (${testDbKind})`, async () => {
  const before = (await service.current('pa')) as ExtractManifest;
  // a plan that cannot be made (ER_PHA_F has no person pseudonym to apply the population to): refused, audited, nothing built
  await grant('pa', 3, { ...permit('pa'), datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PHA_F', columns: ['PHA_PRS_C13'] }] }] });
  await assert.rejects(service.materialise('pa'), (e: Error) => /ER_PHA_F has no person pseudonym/.test(e.message));
  // an engine failure mid-build: a file of the dataset version is missing from the store
  await grant('pa', 4, permit('pa'));
  const v = await p.ingest.version('snds');
  const lost = v.manifest.files.find((f) => f.table === 'T_MCOaaC' && f.year === YEARS.to);
  assert.ok(lost);
  const lostPath = p.store.localPath(`${v.prefix}/${lost.path}`);
  await rename(lostPath, `${lostPath}.away`);
  try {
    await assert.rejects(service.materialise('pa'), (e: Error) => /could not build extract table t_mcoaac/.test(e.message) && !e.message.includes(p.dir));
  } finally {
    await rename(`${lostPath}.away`, lostPath);
  }
  const gens = await service.generations('pa');
  const failed = gens[0];
  const progressOfFailed = await p.t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM workspace_extract_tables WHERE project_id = 'pa' AND generation = $1", [failed?.generation ?? 0]);
  assert.equal(progressOfFailed[0]?.n, '1', 'er_prs_f was built before the failure');
  assert.equal(failed?.state, 'failed');
  assert.ok(failed.error !== null && !failed.error.includes(p.dir), 'the error names no file path');
  assert.equal(await p.store.exists(`projects/pa/extract/g${failed.generation}/er_prs_f/data_0.parquet`), false, 'what the failed build wrote is deleted');
  const now = await service.current('pa');
  assert.equal(now?.generation, before.generation, 'the previous generation stays current');
  const s = await session();
  try {
    await withExtractKey(s, 'pa', 'kpa');
    const n = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM ${extractScan(now, 'er_prs_f', 'kpa')}`);
    assert.equal(Number(n[0]?.n), now?.tables[0]?.rows, 'and readable');
  } finally {
    s.close();
  }
  const events = await p.t.db.query<{ action: string; outcome: string }>("SELECT action, outcome FROM audit_events WHERE target = 'project:pa' AND action LIKE 'workspace.extract.%' ORDER BY seq");
  const fails = events.filter((e) => e.action === 'workspace.extract.fail');
  assert.deepEqual(fails.map((e) => e.outcome), ['failure', 'failure'], 'both failures audited');
  for (const a of ['workspace.extract.start', 'workspace.extract.table', 'workspace.extract.commit', 'workspace.extract.abandon']) assert.ok(events.some((e) => e.action === a), a);
  console.log(`# generations of pa: ${gens.map((g) => `g${g.generation} ${g.state}`).join(', ')}; ${events.length} extract audit events`);
});

test(`closing a project destroys every generation of its extract: files deleted, state destroyed, audited (${testDbKind})`, async () => {
  const before = (await service.current('pb')) ?? (await service.materialise('pb'));
  assert.ok(before);
  const files = before.tables.flatMap((t) => t.files.map((f) => f.path));
  assert.ok(files.length > 0);
  for (const f of files) assert.equal(await p.store.exists(f), true);
  await service.destroy('pb');
  assert.equal(await service.current('pb'), null, 'no ready extract after destroy');
  assert.equal((await service.latest('pb'))?.state, 'destroyed');
  await assert.rejects(service.openForEngine('pb'), (e: Error) => /no ready extract/.test(e.message));
  for (const f of files) assert.equal(await p.store.exists(f), false, `${f} deleted`);
  const [ev] = await p.t.db.query<{ outcome: string }>("SELECT outcome FROM audit_events WHERE target = 'project:pb' AND action = 'workspace.extract.destroy'");
  assert.equal(ev?.outcome, 'success');
  console.log(`# project pb closed: ${files.length} extract files deleted, every generation destroyed`);
});

test(`a permitted column that the dataset version does not carry (its delivery left it out) refuses the extract by name, before anything is built (${testDbKind})`, async () => {
  // BEN_ACS_TOP is in the catalogue of ER_PRS_F, not in the generator's delivery.
  const v = await p.ingest.version('snds');
  assert.equal(v.manifest.columns?.['ER_PRS_F']?.includes('BEN_ACS_TOP'), false);
  await grant('pc', 1, permit('pc', { prsColumns: ['BEN_NIR_PSA', 'PRS_NAT_REF', 'BEN_ACS_TOP'] }));
  await assert.rejects(service.materialise('pc'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'conflict');
    assert.match(e.message, new RegExp(`current version \\(snds v${v.version}\\) carries no snds\\.ER_PRS_F\\.BEN_ACS_TOP \\(permitted column of er_prs_f\\): its delivery did not include it`));
    return true;
  });
  assert.equal(await service.current('pc'), null, 'nothing was built');
  const fails = await p.t.db.query<{ details: unknown }>("SELECT details FROM audit_events WHERE target = 'project:pc' AND action = 'workspace.extract.fail'");
  assert.equal(fails.length, 1, 'the refusal is audited');
});
