/**
 * Workspace queries: the governed path (HTTP API on loopback → workspace service: permit check,
 * parser check, audit record, the sandboxed DuckDB process, result kept in the engine, first page
 * read) against plain DuckDB in this process on the same encrypted Parquet files (decrypted in
 * the engine by the same key), with the same threads and memory, in the same run.
 *
 *   node bench/workspace.ts                 50 M events (BENCH_WS_EVENTS), 5 runs per query, 20 members
 *   BENCH_WS_EVENTS=2000000 node bench/workspace.ts    a quick run
 *
 * The extract is synthetic and written straight in the extract's shape (re-keyed pseudonyms as
 * 64 hex characters, SNDS column names, skewed drug and department distributions) by SQL: the
 * row-level synthesiser plus ingestion would take tens of minutes at this size, and what is
 * measured here is the query path, not how the extract was made (bench/extract.ts measures that).
 *
 * Cohort-style queries: drug exposure by age band and department, stays per person, a DCIR–PMSI
 * join (dispensings within 30 days after a hospital stay), a first-dispensing cohort by month.
 * Printed: per query the median of governed and raw times and their ratio, the median ratio over
 * the queries (target ≤ 1.05), then 20 members (10 projects × 2 members) running the queries at
 * once: p50 and p99 latency and the number of errors (target 0).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { serve } from '@hono/node-server';
import { formatTable } from '../src/cli/table.ts';
import { openDuckDb, sqlString } from '../src/engine/duckdb.ts';
import { openDuckDbSandbox } from '../src/engine/duckdb-sandbox/sandbox.ts';
import { createHttpApp } from '../src/http/app.ts';
import type { AuthDeps } from '../src/http/auth.ts';
import { sessionCookieName } from '../src/http/auth.ts';
import { workspaceOpenApiPaths, workspaceRoutes } from '../src/http/routes/workspace.ts';
import { copyQueryToEncryptedParquet, registerParquetKey } from '../src/parquet-crypto/index.ts';
import { WorkspaceService, type ExtractManifest, type ExtractSource, type Query } from '../src/workspace/index.ts';
import { openGovFixture } from '../test/helpers/governance.ts';

const EVENTS = Number(process.env['BENCH_WS_EVENTS'] ?? 50_000_000);
const REPEAT = Math.max(1, Number(process.env['BENCH_WS_REPEAT'] ?? 5));
const PROJECTS = Math.max(1, Number(process.env['BENCH_WS_PROJECTS'] ?? 10));
const THREADS = 2;
const MEMORY = 4 * 1024 ** 3;
const PERSONS = Math.max(1000, Math.round(EVENTS / 125));
const STAYS = Math.round(PERSONS * 0.6);
const FILES = Math.max(1, Math.min(16, Math.round(EVENTS / 5_000_000)));

/** The pseudonym of person i: 64 hex characters, as the extract's re-keyed HMACs are. */
const pseudonym = (i: string): string => `md5(${i}::VARCHAR) || md5((${i} * 7919)::VARCHAR)`;

const TABLES = {
  ir_ben_r: `SELECT ${pseudonym('range')} AS ben_nir_psa, (1 + range % 2)::TINYINT AS ben_sex_cod,
      (1930 + (hash(range) % 80))::SMALLINT AS ben_nai_ann,
      lpad(((hash(range * 3) % 95) + 1)::VARCHAR, 2, '0') AS ben_res_dpt
    FROM range(${PERSONS})`,
  er_prs_f: (from: number, to: number) => `SELECT ${pseudonym(`(hash(range) % ${PERSONS})`)} AS ben_nir_psa,
      DATE '2019-01-01' + (hash(range * 13) % 1826)::INTEGER AS exe_soi_dtd,
      (3000 + hash(range * 17) % 400)::INTEGER AS prs_nat_ref,
      (['C10AA05','C10AA07','A10BA02','N02BE01','J01CA04','C09AA05','N06AB04','R03AC02','B01AC06','H03AA01'])[1 + (hash(range * 19) % 10)::INTEGER] AS pha_atc_cla,
      (1 + hash(range * 23) % 3)::SMALLINT AS prs_act_qte,
      ((hash(range * 29) % 20000) / 100)::DECIMAL(10,2) AS prs_pai_mnt,
      (hash(range * 31) % 80)::SMALLINT AS pse_spe_cod
    FROM range(${from}, ${to})`,
  t_mcoaac: `SELECT ${pseudonym(`(hash(range) % ${PERSONS})`)} AS nir_ano_17,
      lpad((hash(range * 5) % 900000000)::VARCHAR, 9, '0') AS eta_num,
      lpad(range::VARCHAR, 10, '0') AS rsa_num,
      DATE '2019-01-01' + (hash(range * 11) % 1820)::INTEGER AS ent_dat,
      DATE '2019-01-01' + (hash(range * 11) % 1820)::INTEGER + (hash(range * 37) % 12)::INTEGER AS sor_dat,
      (['I10','E11','J18','I50','N39','K80','S72','C34','F32','Z51'])[1 + (hash(range * 41) % 10)::INTEGER] AS dgn_pal
    FROM range(${STAYS})`,
} as const;

const QUERIES: ReadonlyArray<readonly [name: string, sql: string]> = [
  ['drug exposure by age band and department', `SELECT b.ben_res_dpt AS dept, (2024 - b.ben_nai_ann) // 10 * 10 AS age_band, p.pha_atc_cla AS atc,
      count(DISTINCT p.ben_nir_psa) AS persons, sum(p.prs_act_qte) AS boxes
    FROM er_prs_f p JOIN ir_ben_r b USING (ben_nir_psa)
    WHERE p.pha_atc_cla LIKE 'C10%'
    GROUP BY ALL ORDER BY dept, age_band, atc`],
  ['stays per person', `SELECT stays, count(*) AS persons FROM (SELECT nir_ano_17, count(*) AS stays FROM t_mcoaac GROUP BY nir_ano_17) GROUP BY stays ORDER BY stays`],
  ['DCIR–PMSI join: dispensings within 30 days after a stay', `SELECT s.dgn_pal, p.pha_atc_cla, count(*) AS dispensings, count(DISTINCT p.ben_nir_psa) AS persons
    FROM t_mcoaac s JOIN er_prs_f p ON p.ben_nir_psa = s.nir_ano_17 AND p.exe_soi_dtd BETWEEN s.sor_dat AND s.sor_dat + 30
    GROUP BY ALL ORDER BY ALL`],
  ['first-dispensing cohort by month', `WITH first AS (SELECT ben_nir_psa, min(exe_soi_dtd) AS d0 FROM er_prs_f WHERE pha_atc_cla = 'A10BA02' GROUP BY ben_nir_psa)
    SELECT date_trunc('month', d0) AS month, b.ben_sex_cod, count(*) AS new_users
    FROM first JOIN ir_ben_r b USING (ben_nir_psa) WHERE d0 >= DATE '2020-01-01' GROUP BY ALL ORDER BY ALL`],
];

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};

const dir = await mkdtemp(join(tmpdir(), 'enclave-bench-ws-'));
const key = randomBytes(32);
const files: Record<keyof typeof TABLES, string[]> = { ir_ben_r: [], er_prs_f: [], t_mcoaac: [] };
const gov = await openGovFixture();
const engine = openDuckDbSandbox({ killGraceMs: 5000 });
try {
  // ── the extract ──
  process.stdout.write(`writing a synthetic extract: ${PERSONS.toLocaleString('en')} persons, ${EVENTS.toLocaleString('en')} events in ${FILES} files, ${STAYS.toLocaleString('en')} stays…\n`);
  const t0 = performance.now();
  const gen = await openDuckDb({ threads: THREADS });
  const s = await gen.session();
  try {
    await mkdir(join(dir, 'extract'), { recursive: true });
    for (const t of ['ir_ben_r', 't_mcoaac'] as const) {
      const f = join(dir, 'extract', `${t}.parquet`);
      await copyQueryToEncryptedParquet(s, TABLES[t], f, key);
      files[t].push(f);
    }
    const per = Math.ceil(EVENTS / FILES);
    for (let i = 0; i < FILES; i++) {
      const f = join(dir, 'extract', `er_prs_f-${i}.parquet`);
      await copyQueryToEncryptedParquet(s, TABLES.er_prs_f(i * per, Math.min(EVENTS, (i + 1) * per)), f, key);
      files.er_prs_f.push(f);
      process.stdout.write(`\r  events file ${i + 1}/${FILES}`);
    }
    process.stdout.write(`\n  written in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  } finally {
    s.close();
    await gen.close();
  }

  const manifest = (projectId: string): ExtractManifest => ({
    projectId, permitId: projectId, permitVersion: 1, generation: 1, state: 'ready', keyId: 'dk_bench', rekeyKeyId: 'dk_bench_rekey',
    datasetVersions: [{ dataset: 'snds', version: 1 }], years: { from: 2019, to: 2023 },
    tables: (Object.keys(files) as (keyof typeof files)[]).map((name) => ({
      name, dataset: 'snds', table: name.toUpperCase(), rows: 0, columns: [],
      files: files[name].map((f) => ({ path: f, bytes: 0, rows: 0, sha256: '0'.repeat(64) })),
    })),
    createdAt: new Date().toISOString(), completedAt: new Date().toISOString(), error: null,
  });
  const ready = new Set<string>();
  const extracts: ExtractSource = {
    current: async (projectId) => (ready.has(projectId) ? manifest(projectId) : null),
    openForEngine: async (projectId) => ({ manifest: manifest(projectId), tables: (Object.keys(files) as (keyof typeof files)[]).map((name) => ({ name, files: files[name], key })) }),
    destroy: async () => undefined,
  };

  // ── the governed path: the real service behind the real HTTP routes, on loopback ──
  const ws = new WorkspaceService({
    db: gov.t.db, audit: gov.audit, governance: gov.gov, keys: gov.keys, engine, extracts, scratchRoot: join(dir, 'scratch'),
    limits: { memoryBytes: MEMORY, threads: THREADS, tempDiskBytes: 0, statementTimeoutMs: 30 * 60_000, rowCap: 100_000 }, quotaBytes: 64 * 1024 ** 2,
  });
  const auth: AuthDeps = {
    cookieName: sessionCookieName(false),
    resolveSession: (v) => gov.identity.resolveSession(v),
    resolveApiToken: (t) => gov.identity.resolveApiToken(t),
    denied: async () => undefined,
  };
  const app = createHttpApp({ version: 'bench', health: async () => ({}), openApiPaths: [workspaceOpenApiPaths(ws)], routes: [{ prefix: 'projects', app: workspaceRoutes(ws, auth) }] });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/projects`;
  const projects: { id: string; tokens: string[] }[] = [];
  for (let i = 0; i < PROJECTS; i++) {
    const id = await gov.projectAt('active');
    ready.add(id);
    const tokens: string[] = [];
    for (const who of [gov.who.applicant, gov.who.member]) tokens.push((await gov.identity.createApiToken(who, id, { label: 'bench', days: 1 })).token);
    projects.push({ id, tokens });
  }
  const governed = async (project: string, token: string, sql: string): Promise<{ ms: number; rows: number }> => {
    const t = performance.now();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let r = await fetch(`${base}/${project}/queries`, { method: 'POST', headers, body: JSON.stringify({ sql, waitMs: 60_000 }) });
    let q = (await r.json()) as Query & { detail?: string };
    while (r.status === 202 || q.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      r = await fetch(`${base}/${project}/queries/${q.id}`, { headers });
      q = (await r.json()) as Query;
    }
    if (q.status !== 'succeeded') throw new Error(`query ${q.status}: ${JSON.stringify(q).slice(0, 300)}`);
    const page = await fetch(`${base}/${project}/queries/${q.id}/rows?limit=1000`, { headers });
    if (page.status !== 200) throw new Error(`rows: HTTP ${page.status}`);
    const body = (await page.json()) as { rows: unknown[] };
    return { ms: performance.now() - t, rows: body.rows.length };
  };

  // ── the raw path: plain DuckDB in this process, the same files and key, threads and memory ──
  const raw = await DuckDBInstance.create(':memory:', { threads: String(THREADS), memory_limit: `${MEMORY / 1024 ** 2}MB`, temp_directory: '' });
  const conn = await raw.connect();
  await registerParquetKey(conn, 'k', key);
  for (const [name, fs] of Object.entries(files)) {
    await conn.run(`CREATE VIEW ${name} AS SELECT * FROM read_parquet([${fs.map(sqlString).join(', ')}], encryption_config = {footer_key: 'k'})`);
  }
  const rawRun = async (sql: string): Promise<{ ms: number; rows: number }> => {
    const t = performance.now();
    const r = await conn.runAndReadAll(sql);
    const rows = r.getRowsJS().length;
    return { ms: performance.now() - t, rows };
  };

  // ── governed vs raw, alternated, same statement ──
  const [first] = projects;
  if (first === undefined) throw new Error('no project');
  await governed(first.id, first.tokens[0] as string, 'SELECT 1'); // opens the workspace's engine process
  const results: string[][] = [];
  const ratios: number[] = [];
  for (const [name, sql] of QUERIES) {
    const g: number[] = [];
    const w: number[] = [];
    let rows = 0;
    for (let i = 0; i < REPEAT; i++) {
      const a = await rawRun(sql);
      const b = await governed(first.id, first.tokens[0] as string, sql);
      if (a.rows !== b.rows && b.rows < 1000) throw new Error(`${name}: raw ${a.rows} rows, governed ${b.rows}`);
      rows = a.rows;
      w.push(a.ms);
      g.push(b.ms);
    }
    const ratio = median(g) / median(w);
    ratios.push(ratio);
    results.push([name, String(rows), (median(w) / 1000).toFixed(3), (median(g) / 1000).toFixed(3), `${ratio.toFixed(3)}×`]);
  }
  process.stdout.write(`\n${formatTable(['query', 'rows', `raw DuckDB s (median of ${REPEAT})`, 'governed s', 'governed / raw'], results)}\n`);
  process.stdout.write(`median governed / raw: ${median(ratios).toFixed(3)}× (target ≤ 1.05)\n`);
  conn.closeSync();
  raw.closeSync();

  // ── 20 members at once (PROJECTS × 2), each running every query once, in its own order ──
  const members = projects.flatMap((p) => p.tokens.map((token) => ({ project: p.id, token })));
  process.stdout.write(`\n${members.length} members in ${projects.length} projects, each running the ${QUERIES.length} queries at once…\n`);
  const latencies: number[] = [];
  let errors = 0;
  const t1 = performance.now();
  await Promise.all(members.map(async (m, i) => {
    for (let k = 0; k < QUERIES.length; k++) {
      const [, sql] = QUERIES[(i + k) % QUERIES.length] as readonly [string, string];
      try {
        latencies.push((await governed(m.project, m.token, sql)).ms);
      } catch (e) {
        errors++;
        process.stdout.write(`  error: ${(e as Error).message}\n`);
      }
    }
  }));
  const wall = (performance.now() - t1) / 1000;
  process.stdout.write(`${formatTable(['members', 'queries', 'wall s', 'p50 s', 'p99 s', 'errors'], [[String(members.length), String(latencies.length + errors), wall.toFixed(1), (quantile(latencies, 0.5) / 1000).toFixed(2), (quantile(latencies, 0.99) / 1000).toFixed(2), String(errors)]])}\n`);
  server.close();
  await ws.close();
} finally {
  await engine.close();
  await gov.close();
  await rm(dir, { recursive: true, force: true });
}
