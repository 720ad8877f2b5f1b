/**
 * Audit benchmark: appends per second with the audit write inside a typical transaction
 * (one insert and one indexed read), against the same transaction without audit, on PGlite
 * and on PostgreSQL (ENCLAVE_BENCH_PG_URL, default the local server; skipped if unreachable),
 * and verification speed in events per second.
 * Usage: node src/audit/bench.ts [transactions]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, openPglite, openPostgres, type Db } from '../db/index.ts';
import { AuditLog } from './log.ts';
import { generateLogKey } from './note.ts';

const N = Number(process.argv[2] ?? 500);
const adminUrl = process.env['ENCLAVE_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function work(tx: { query: Db['query'] }, i: number): Promise<void> {
  await tx.query('INSERT INTO bench_things (label) VALUES ($1)', [`t${i}`]);
  await tx.query('SELECT count(*) FROM bench_things WHERE id > $1', [i]);
}

async function run(kind: string, db: Db): Promise<string[]> {
  await migrate(db);
  await db.query('CREATE TABLE bench_things (id serial PRIMARY KEY, label text NOT NULL)');
  const log = new AuditLog(db, generateLogKey('enclave.bench/audit'));
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await db.transaction((tx) => work(tx, i));
  const plain = N / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  for (let i = 0; i < N; i++) {
    await log.transaction({ actor: { kind: 'person', id: 'bench' }, action: 'bench.write', target: 'bench_things', details: { i } }, (tx) => work(tx, i));
  }
  const audited = N / ((performance.now() - t0) / 1000);
  await log.checkpoint();
  // A scheduled checkpoint on a grown log: 10 new events on top of N + the earlier checkpoint.
  for (let i = 0; i < 10; i++) await log.record({ actor: { kind: 'person', id: 'bench' }, action: 'bench.read', target: 'bench_things' });
  t0 = performance.now();
  await log.checkpoint();
  const checkpointMs = performance.now() - t0;
  t0 = performance.now();
  const report = await log.verify();
  const verifyRate = report.treeSize / ((performance.now() - t0) / 1000);
  if (!report.ok) throw new Error('bench log does not verify');
  return [kind, plain.toFixed(0), audited.toFixed(0), (audited / plain).toFixed(2), verifyRate.toFixed(0), checkpointMs.toFixed(1)];
}

const rows: string[][] = [];
const lite = await openPglite(undefined);
rows.push(await run('pglite', lite));
await lite.close();

const name = `enclave_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
try {
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const db = openPostgres(u.toString());
  try {
    rows.push(await run('postgres', db));
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
} catch (e) {
  console.error(`postgres skipped: ${(e as Error).message}`);
} finally {
  await admin.end().catch(() => undefined);
}

const head = ['db', 'tx/s plain', 'tx/s audited', 'ratio', 'verify events/s', 'checkpoint ms (+10 events)'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const fmt = (r: readonly string[]): string => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
console.log(`audit benchmark, ${N} sequential transactions (insert + indexed count) each`);
console.log(fmt(head));
for (const r of rows) console.log(fmt(r));
