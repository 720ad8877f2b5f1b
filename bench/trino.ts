/**
 * DuckDB vs Trino on the same Parquet files: workspace cohort queries and an extract
 * materialisation (year filter, population, pseudonyms re-keyed with HMAC-SHA256), each engine
 * with 2 threads; then the sizing model of docs/deploy/trino.md from Trino's measured rows per
 * second per core.
 *
 *   node bench/trino.ts [events=4000000]
 *
 * Needs a running Trino (`scripts/trino.sh start`; ENCLAVE_TRINO_URL, else the script's URL) whose
 * warehouse is `$(scripts/trino.sh home)/warehouse`: the files are written there once by DuckDB
 * and declared to Trino as an external Hive table, so both engines read the very same bytes.
 * Plain Parquet for both: the cost of Parquet Modular Encryption on DuckDB is
 * src/parquet-crypto/bench.ts's, and Trino's storage-side encryption is the object store's.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { TrinoClient } from '../src/engine/trino/client.ts';
import { ADMIN_USER } from '../src/engine/trino/rules.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const EVENTS = Number(process.argv[2] ?? 4_000_000);
const PERSONS = Math.max(1000, Math.floor(EVENTS / 20));
const CORES = 2;
const RUNS = 3;

function script(arg: string): string {
  const r = spawnSync('bash', [join(root, 'scripts', 'trino.sh'), arg], { encoding: 'utf8' });
  return r.stdout.trim();
}

const url = process.env['ENCLAVE_TRINO_URL'] ?? script('url');
const trino = new TrinoClient({ url });
if (!(await trino.started())) {
  console.log(`Trino bench skipped: no started Trino at ${url} (run scripts/trino.sh start)`);
  process.exit(0);
}
const warehouse = join(script('home'), 'warehouse');
const dir = join(warehouse, 'bench_events');
const as = { user: ADMIN_USER, catalog: 'enclave', schema: 'bench' };

// ── the files, written once by DuckDB ──
const db = await DuckDBInstance.create(':memory:', { threads: String(CORES) });
const duck = await db.connect();
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const t0 = performance.now();
await duck.run(`COPY (SELECT (range * 7919) % ${PERSONS} AS person_id, 'D' || (range % 50) AS drug, (range % 1000)::INTEGER AS amount, DATE '2015-01-01' + (range % 3650)::INTEGER AS event_date, (['75','13','69','33','59','31'])[range % 6 + 1] AS dept FROM range(${EVENTS})) TO '${dir}' (FORMAT parquet, FILE_SIZE_BYTES '4MB', ROW_GROUP_SIZE 122880)`);
const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet'));
let bytes = 0;
for (const f of files) bytes += (await stat(join(dir, f))).size;
console.log(`${EVENTS.toLocaleString('en')} events of ${PERSONS.toLocaleString('en')} persons, ${files.length} Parquet files, ${(bytes / 1e6).toFixed(1)} MB, written in ${Math.round(performance.now() - t0)} ms`);
await duck.run(`CREATE VIEW events AS SELECT * FROM read_parquet('${dir}/*.parquet')`);
await trino.query('CREATE SCHEMA IF NOT EXISTS enclave.bench', as);
await trino.query('DROP TABLE IF EXISTS enclave.bench.events', as);
await trino.query(`CREATE TABLE enclave.bench.events (person_id BIGINT, drug VARCHAR, amount INTEGER, event_date DATE, dept VARCHAR) WITH (format = 'PARQUET', external_location = 'local:///bench_events')`, as);
await trino.query('DROP TABLE IF EXISTS enclave.bench.extract_out', as);

// ── the queries, in each dialect ──
const key = randomBytes(32);
const ipad = Buffer.alloc(64);
const opad = Buffer.alloc(64);
key.copy(ipad);
key.copy(opad);
for (let i = 0; i < 64; i++) {
  ipad[i] = (ipad[i] ?? 0) ^ 0x36;
  opad[i] = (opad[i] ?? 0) ^ 0x5c;
}
await duck.run(`SET VARIABLE ipad = from_hex('${ipad.toString('hex')}'); SET VARIABLE opad = from_hex('${opad.toString('hex')}')`);
const duckExtractOut = join(dir, '..', 'bench_duck_extract.parquet');
interface Case { readonly name: string; readonly duck: string; readonly trino: string; readonly rows: number; readonly before?: () => Promise<void> }
const cases: Case[] = [
  { name: 'aggregate by drug', duck: 'SELECT drug, count(*), sum(amount) FROM events GROUP BY drug', trino: 'SELECT drug, count(*), sum(amount) FROM events GROUP BY drug', rows: EVENTS },
  {
    name: 'cohort: ≥3 dispensings of D7 in 2018, by dept',
    duck: `SELECT dept, count(*) FROM (SELECT person_id, any_value(dept) AS dept FROM events WHERE drug = 'D7' AND year(event_date) = 2018 GROUP BY person_id HAVING count(*) >= 3) GROUP BY dept`,
    trino: `SELECT dept, count(*) FROM (SELECT person_id, arbitrary(dept) AS dept FROM events WHERE drug = 'D7' AND year(event_date) = 2018 GROUP BY person_id HAVING count(*) >= 3) GROUP BY dept`,
    rows: EVENTS,
  },
  {
    name: 'first event per person (window)',
    duck: 'SELECT count(*) FROM (SELECT person_id, row_number() OVER (PARTITION BY person_id ORDER BY event_date, drug) AS k FROM events) WHERE k = 1',
    trino: 'SELECT count(*) FROM (SELECT person_id, row_number() OVER (PARTITION BY person_id ORDER BY event_date, drug) AS k FROM events) WHERE k = 1',
    rows: EVENTS,
  },
  {
    name: 'extract: 2016-2020, 3 depts, re-keyed (HMAC), written as Parquet',
    duck: `COPY (SELECT sha256(getvariable('opad') || unhex(sha256(getvariable('ipad') || encode(CAST(person_id AS VARCHAR))))) AS person_id, drug, amount, event_date FROM events WHERE year(event_date) BETWEEN 2016 AND 2020 AND dept IN ('75', '13', '69')) TO '${duckExtractOut}' (FORMAT parquet)`,
    trino: `CREATE TABLE enclave.bench.extract_out WITH (format = 'PARQUET') AS SELECT lower(to_hex(hmac_sha256(to_utf8(CAST(person_id AS VARCHAR)), X'${key.toString('hex')}'))) AS person_id, drug, amount, event_date FROM events WHERE year(event_date) BETWEEN 2016 AND 2020 AND dept IN ('75', '13', '69')`,
    rows: EVENTS,
    before: async () => {
      await trino.query('DROP TABLE IF EXISTS enclave.bench.extract_out', as);
      await rm(duckExtractOut, { force: true });
    },
  },
];

async function median(f: () => Promise<void>, before?: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await before?.();
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] ?? 0;
}

console.log(`\n| query | DuckDB ms | Trino ms | Trino/DuckDB | Trino rows/s/core |`);
console.log(`|---|---:|---:|---:|---:|`);
let extractRate = 0;
for (const c of cases) {
  const d = await median(async () => void (await duck.runAndReadAll(c.duck)), c.before);
  const t = await median(async () => void (await trino.query(c.trino, as)), c.before);
  const rate = c.rows / (t / 1000) / CORES;
  if (c.name.startsWith('extract')) extractRate = rate;
  console.log(`| ${c.name} | ${Math.round(d)} | ${Math.round(t)} | ${(t / d).toFixed(2)} | ${Math.round(rate).toLocaleString('en')} |`);
}

// ── sizing model (docs/deploy/trino.md) ──
const SCALPEL_EVENTS = 15e9;
const CORES_PER_WORKER = 16;
const EFFICIENCY = 0.7;
console.log(`\nSizing: ${SCALPEL_EVENTS / 1e9} billion events at ${Math.round(extractRate).toLocaleString('en')} rows/s/core (this run's extract on one node), ${CORES_PER_WORKER} cores per worker, ${EFFICIENCY * 100} % parallel efficiency assumed:`);
console.log('| workers | minutes |');
console.log('|---:|---:|');
for (const w of [5, 10, 15, 30, 60]) console.log(`| ${w} | ${(SCALPEL_EVENTS / (extractRate * CORES_PER_WORKER * w * EFFICIENCY) / 60).toFixed(1)} |`);
console.log('SCALPEL3 (Spark): 15 billion events in 49 minutes on 15 nodes.');

await trino.query('DROP TABLE IF EXISTS enclave.bench.extract_out', as);
await trino.query('DROP TABLE IF EXISTS enclave.bench.events', as);
duck.closeSync();
db.closeSync();
await rm(dir, { recursive: true, force: true });
await rm(duckExtractOut, { force: true });
