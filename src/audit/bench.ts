/**
 * Audit benchmark (`npm run bench -- audit`), on PGlite and on PostgreSQL (ENCLAVE_BENCH_PG_URL,
 * default the local server; skipped if unreachable):
 *
 * 1. appends: transactions/s of a typical transaction (one insert, one indexed read) with and
 *    without its audit event (leaf, leaf signature, stored tree nodes), sequential;
 * 2. verification: events/s of `AuditLog.verify` over a log of V real events (valid leaves and
 *    signatures, checkpointed every 1000 as the schedule would), against raw SHA-256 of the
 *    same canonical bytes in the same process;
 * 3. proofs at 10 M events (PostgreSQL; PGlite at 1 M): inclusion and consistency proof latency
 *    from the stored tree, against one indexed point read of a leaf.
 *
 * How the big logs are built fast (bench only): rows are bulk-inserted with the append-only
 * triggers disabled, the stored tree is built level by level in SQL exactly as migration 0014
 * backfills it, and the synthetic leaves of (3) are SHA-256 of the index (no event content):
 * proof cost depends only on the tree, not on what the leaves hold.
 *
 * Usage: node src/audit/bench.ts [transactions] — ENCLAVE_BENCH_AUDIT_VERIFY (default 200000),
 * ENCLAVE_BENCH_AUDIT_PROOF_EVENTS (default 10000000; PGlite gets a tenth).
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, type Db } from '../db/index.ts';
import { openPglite } from '../db/pglite.ts';
import { openPostgres } from '../db/postgres.ts';
import { canonicalJson } from './canonical-json.ts';
import { encodeLeaf, signLeaf, type AuditEvent } from './event.ts';
import { AuditLog } from './log.ts';
import { CompactRange, hashLeaf, verifyConsistency, verifyInclusion } from './merkle.ts';
import { formatCheckpoint, generateLogKey, signNote } from './note.ts';

const N = Number(process.argv[2] ?? 500);
const V = Number(process.env['ENCLAVE_BENCH_AUDIT_VERIFY'] ?? 200_000);
const P = Number(process.env['ENCLAVE_BENCH_AUDIT_PROOF_EVENTS'] ?? 10_000_000);
const adminUrl = process.env['ENCLAVE_BENCH_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

async function work(tx: { query: Db['query'] }, i: number): Promise<void> {
  await tx.query('INSERT INTO bench_things (label) VALUES ($1)', [`t${i}`]);
  await tx.query('SELECT count(*) FROM bench_things WHERE id > $1', [i]);
}

const TREE_SQL = `DO $do$
DECLARE lvl int := 1; n bigint;
BEGIN
  INSERT INTO audit_tree (level, idx, hash)
    SELECT 1, l.seq / 2, sha256('\\x01'::bytea || l.leaf_hash || r.leaf_hash) FROM audit_events l JOIN audit_events r ON r.seq = l.seq + 1 WHERE l.seq % 2 = 0;
  GET DIAGNOSTICS n = ROW_COUNT;
  WHILE n > 1 LOOP
    lvl := lvl + 1;
    INSERT INTO audit_tree (level, idx, hash)
      SELECT lvl, l.idx / 2, sha256('\\x01'::bytea || l.hash || r.hash) FROM audit_tree l JOIN audit_tree r ON r.level = l.level AND r.idx = l.idx + 1 WHERE l.level = lvl - 1 AND l.idx % 2 = 0;
    GET DIAGNOSTICS n = ROW_COUNT;
  END LOOP;
END $do$`;

async function withoutTriggers(db: Db, fn: () => Promise<void>): Promise<void> {
  for (const t of ['audit_events', 'audit_tree', 'audit_checkpoints']) await db.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
  await fn();
  for (const t of ['audit_events', 'audit_tree', 'audit_checkpoints']) await db.query(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
}

async function appends(db: Db): Promise<string[]> {
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
  for (let i = 0; i < 10; i++) await log.record({ actor: { kind: 'person', id: 'bench' }, action: 'bench.read', target: 'bench_things' });
  t0 = performance.now();
  await log.checkpoint();
  const checkpointMs = performance.now() - t0;
  return [plain.toFixed(0), audited.toFixed(0), (audited / plain).toFixed(2), checkpointMs.toFixed(1)];
}

async function verification(db: Db): Promise<string[]> {
  const key = generateLogKey('enclave.bench/verify');
  const log = new AuditLog(db, key);
  const range = new CompactRange();
  const jcs: Buffer[] = [];
  await withoutTriggers(db, async () => {
    const BATCH = 2000;
    for (let from = 0; from < V; from += BATCH) {
      const cols: string[][] = [[], [], [], [], [], [], []];
      for (let seq = from; seq < Math.min(V, from + BATCH); seq++) {
        const e: AuditEvent = { seq, time: '2026-01-02T03:04:05.678Z', actor: { kind: 'person', id: `u-${seq % 97}` }, action: 'workspace.query', target: `project:${seq % 13}`, requestId: `r-${seq}`, outcome: 'success', details: { rows: seq % 1000, ms: 3, sql: 'SELECT count(*) FROM t' } };
        const bytes = encodeLeaf(e);
        jcs.push(bytes);
        const leaf = hashLeaf(bytes);
        range.append(leaf);
        cols[0]?.push(String(seq));
        cols[1]?.push(e.actor.id);
        cols[2]?.push(e.target);
        cols[3]?.push(e.requestId ?? '');
        cols[4]?.push(canonicalJson(e.details));
        cols[5]?.push(leaf.toString('hex'));
        cols[6]?.push(signLeaf(key.privateKey, key.name, seq, leaf).toString('hex'));
        if ((seq + 1) % 1000 === 0) {
          await db.query('INSERT INTO audit_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)', [seq + 1, range.root(), signNote(formatCheckpoint({ origin: key.name, treeSize: seq + 1, rootHash: range.root() }), [key])]);
        }
      }
      await db.query(
        `INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, request_id, outcome, details, leaf_hash, leaf_sig)
         SELECT s, '2026-01-02T03:04:05.678Z', 'person', a, 'workspace.query', t, r, 'success', d::jsonb, decode(h, 'hex'), decode(g, 'hex')
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(s, a, t, r, d, h, g)`,
        cols,
      );
    }
  });
  let t0 = performance.now();
  const report = await log.verify();
  const rate = report.treeSize / ((performance.now() - t0) / 1000);
  if (!report.ok) throw new Error(`bench log does not verify: ${report.problems[0]?.message ?? ''}`);
  t0 = performance.now();
  for (const b of jcs) createHash('sha256').update(b).digest();
  const raw = jcs.length / ((performance.now() - t0) / 1000);
  await withoutTriggers(db, async () => {
    for (const t of ['audit_events', 'audit_checkpoints']) await db.query(`DELETE FROM ${t}`);
  });
  return [String(V), rate.toFixed(0), (rate * 60 / 1e6).toFixed(2), raw.toFixed(0), (rate / raw).toFixed(3)];
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function proofs(db: Db, size: number): Promise<string[]> {
  const t0 = performance.now();
  await withoutTriggers(db, async () => {
    // Bench only: the secondary indexes of audit_events play no part in proofs.
    for (const i of ['audit_events_time_idx', 'audit_events_target_idx', 'audit_events_actor_idx']) await db.query(`DROP INDEX IF EXISTS ${i}`);
    const STEP = 1_000_000;
    for (let from = 0; from < size; from += STEP) {
      await db.query(
        `INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, outcome, details, leaf_hash, leaf_sig)
         SELECT g, '2026-01-01T00:00:00Z', 'service', 'bench', 'bench.synthetic', 'bench', 'success', '{}', sha256('\\x00'::bytea || int8send(g)), '\\x${'00'.repeat(64)}'::bytea
           FROM generate_series($1::bigint, $2::bigint) AS g`,
        [from, Math.min(size, from + STEP) - 1],
      );
    }
    await db.exec(TREE_SQL);
  });
  const buildS = (performance.now() - t0) / 1000;
  const log = new AuditLog(db, generateLogKey('enclave.bench/proofs'));
  const root = await log.storedRoot(size);
  const K = 200;
  const incl: number[] = [];
  const cons: number[] = [];
  const point: number[] = [];
  for (let k = 0; k < K; k++) {
    const index = Math.floor(Math.random() * size);
    let t = performance.now();
    const p = await log.inclusionProof(index, size);
    incl.push(performance.now() - t);
    verifyInclusion(index, size, Buffer.from(p.leafHash, 'base64'), p.hashes.map((h) => Buffer.from(h, 'base64')), root);
    const from = 1 + Math.floor(Math.random() * (size - 1));
    t = performance.now();
    const c = await log.consistencyProof(from, size);
    cons.push(performance.now() - t);
    if (k < 5) verifyConsistency(from, size, c.hashes.map((h) => Buffer.from(h, 'base64')), await log.storedRoot(from), root);
    t = performance.now();
    await db.query('SELECT leaf_hash FROM audit_events WHERE seq = $1', [index]);
    point.push(performance.now() - t);
  }
  return [size.toLocaleString('en'), buildS.toFixed(0), pct(incl, 50).toFixed(2), pct(incl, 99).toFixed(2), pct(cons, 50).toFixed(2), pct(cons, 99).toFixed(2), pct(point, 50).toFixed(2), (pct(incl, 50) / pct(point, 50)).toFixed(1)];
}

async function onDb(kind: 'pglite' | 'postgres', fn: (db: Db) => Promise<string[]>): Promise<string[] | undefined> {
  if (kind === 'pglite') {
    const db = await openPglite(undefined);
    try {
      await migrate(db);
      return [kind, ...(await fn(db))];
    } finally {
      await db.close();
    }
  }
  const name = `enclave_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    const db = openPostgres(u.toString());
    try {
      await migrate(db);
      return [kind, ...(await fn(db))];
    } finally {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } catch (e) {
    console.error(`postgres skipped: ${(e as Error).message}`);
    return undefined;
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function table(title: string, head: readonly string[], rows: ReadonlyArray<readonly string[] | undefined>): void {
  const rs = rows.filter((r): r is readonly string[] => r !== undefined);
  const widths = head.map((h, i) => Math.max(h.length, ...rs.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(`\n${title}`);
  console.log(fmt(head));
  for (const r of rs) console.log(fmt(r));
}

const only = process.env['ENCLAVE_BENCH_AUDIT_ONLY'];
// Figures on a shared machine move with its load: print it beside them.
console.log(`machine: ${(await import('node:os')).cpus().length} cores, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (only === undefined || only.includes('append')) {
  table(`appends: ${N} sequential transactions (insert + indexed count), with and without the audit event`, ['db', 'tx/s plain', 'tx/s audited', 'ratio', 'checkpoint ms (+10 events)'], [await onDb('pglite', appends), await onDb('postgres', appends)]);
}
if (only === undefined || only.includes('verify')) {
  table('verification: AuditLog.verify (read, JCS, leaf hash, tree, checkpoints every 1000) vs raw SHA-256 of the same JCS bytes', ['db', 'events', 'events/s', 'M events/min', 'raw sha256/s', 'ratio'], [await onDb('pglite', verification), await onDb('postgres', verification)]);
}
if (only === undefined || only.includes('proof')) {
  table('proofs from the stored tree (200 random each; ms) vs one indexed point read of a leaf', ['db', 'events', 'build s', 'incl p50', 'incl p99', 'cons p50', 'cons p99', 'point read p50', 'incl/point'], [
    await onDb('pglite', (db) => proofs(db, Math.max(2, Math.floor(P / 10)))),
    await onDb('postgres', (db) => proofs(db, P)),
  ]);
}
