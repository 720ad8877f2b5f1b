/**
 * What only a real PostgreSQL server can show: many concurrent writers, the writer role's
 * privileges, and a process killed with SIGKILL in the middle of appends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { openPostgres } from '../db/postgres.ts';
import { AuditLog, generateLogKey, signerKeyText } from './index.ts';

const skip = testDbKind !== 'postgres' ? 'needs ENCLAVE_TEST_DB=postgres' : false;
let t: TestDb;
const key = generateLogKey('enclave.test/audit');

before(async () => {
  if (skip !== false) return;
  t = await openTestDb();
  await t.db.query('CREATE TABLE audit_crash_things (id bigserial PRIMARY KEY, writer int NOT NULL, n int NOT NULL)');
});
after(async () => {
  if (skip !== false) return;
  await t.drop();
});

async function seqs(where = 'true'): Promise<number[]> {
  const rows = await t.db.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_events WHERE ${where} ORDER BY audit_events.seq`);
  return rows.map((r) => Number(r.seq));
}

test('20 concurrent writers × 50 appends give a gap-free linear log that verifies', { skip }, async () => {
  const db = openPostgres(t.url ?? '', { max: 20 });
  const log = new AuditLog(db, key);
  const start = (await seqs()).length;
  try {
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 50; i++) {
          if (i % 10 === 9) {
            // Some fail: their work is rolled back and a failure event takes the next seq.
            await assert.rejects(log.transaction({ actor: { kind: 'service', id: `w${w}` }, action: 'test.concurrent', target: 'x' }, () => Promise.reject(new Error('boom'))));
          } else {
            await log.transaction({ actor: { kind: 'service', id: `w${w}` }, action: 'test.concurrent', target: 'x', details: { i } }, async (tx) => {
              await tx.query('SELECT 1');
            });
          }
        }
      }),
    );
    const all = await seqs();
    assert.equal(all.length, start + 1000);
    assert.deepEqual(all, all.map((_, i) => i));
    await log.checkpoint();
    const r = await log.verify();
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    console.log(`concurrency: 20 writers × 50 appends, ${all.length - start} events, seq 0..${all.length - 1} gap-free, verify ok`);
  } finally {
    await db.close();
  }
});

test('the writer role can insert and select but not update, delete or truncate', { skip }, async () => {
  const log = new AuditLog(t.db, key);
  await log.record({ actor: { kind: 'service', id: 'role-test' }, action: 'test.role', target: 'x' });
  for (const sql of ["UPDATE audit_events SET action = 'x'", 'DELETE FROM audit_events', 'TRUNCATE audit_events', 'DELETE FROM audit_checkpoints', 'UPDATE audit_archives SET note = $$x$$']) {
    await assert.rejects(
      t.db.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE enclave_audit_writer');
        await tx.query(sql.replace(/\$\$/g, "'"));
      }),
      /permission denied/,
      sql,
    );
  }
  await t.db.transaction(async (tx) => {
    await tx.query('SET LOCAL ROLE enclave_audit_writer');
    const rows = await tx.query('SELECT seq FROM audit_events LIMIT 1');
    assert.equal(rows.length, 1);
  });
});

test('appends survive SIGKILL: no acknowledged write lost, none torn, none reordered (figure 7)', { skip }, async () => {
  const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
  const crashes = 5;
  const acked: { crash: number; seq: number; thing: number }[] = [];
  for (let c = 0; c < crashes; c++) {
    const p = spawn(process.execPath, [child, t.url ?? '', signerKeyText(key)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const want = 30 + Math.floor(Math.random() * 60);
    let got = 0;
    await new Promise<void>((resolve) => {
      const rl = createInterface({ input: p.stdout });
      rl.on('line', (line) => {
        const [, s, id] = line.split(' ');
        acked.push({ crash: c, seq: Number(s), thing: Number(id) });
        if (++got === want) p.kill('SIGKILL');
      });
      p.on('exit', () => resolve());
    });
  }
  const log = new AuditLog(t.db, key);
  const present = new Set(await seqs());
  const lost = acked.filter((a) => !present.has(a.seq)).length;
  // Torn = work without its event or an event without its work, or a row that fails verification.
  const [torn] = await t.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM audit_crash_things c FULL JOIN (SELECT (details->>'thingId')::bigint AS id FROM audit_events WHERE action = 'test.crash.write' AND outcome = 'success') e ON e.id = c.id WHERE c.id IS NULL OR e.id IS NULL`,
  );
  await log.checkpoint();
  const report = await log.verify();
  const tornCount = Number(torn?.n) + (report.ok ? 0 : report.problems.length);
  // Reordered: each writer's acknowledgements, in the order it received them, must have rising seqs.
  const writers = new Map((await t.db.query<{ id: string; writer: number }>('SELECT id::text AS id, writer FROM audit_crash_things')).map((r) => [Number(r.id), r.writer]));
  const lastSeq = new Map<string, number>();
  let reorders = 0;
  for (const a of acked) {
    const k = `${a.crash}/${writers.get(a.thing)}`;
    if ((lastSeq.get(k) ?? -1) >= a.seq) reorders++;
    lastSeq.set(k, a.seq);
  }
  const all = await seqs();
  const gapFree = all.every((s, i) => s === i);
  // Corruptions: D single-row edits behind the application's back, each must be detected.
  const D = 5;
  let detected = 0;
  await t.db.query('CREATE TABLE audit_crash_snapshot AS SELECT * FROM audit_events');
  for (let d = 0; d < D; d++) {
    const victim = all[Math.floor(((d + 0.5) * all.length) / D)] ?? 0;
    {
      await t.db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query(`UPDATE audit_events SET details = jsonb_set(details, '{thingId}', '0') WHERE seq = $1`, [victim]);
      });
      const r = await log.verify();
      if (!r.ok && r.firstBadIndex === victim) detected++;
      await t.db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query('DELETE FROM audit_events');
        await tx.query('INSERT INTO audit_events SELECT * FROM audit_crash_snapshot');
      });
    }
  }
  console.log(`${crashes} crashes; lost acknowledged writes ${lost}; torn records not discarded ${tornCount}; reorders ${reorders}; corruptions detected ${detected}/${D} (${acked.length} acknowledged, log gap-free: ${gapFree})`);
  assert.equal(lost, 0);
  assert.equal(tornCount, 0);
  assert.equal(reorders, 0);
  assert.equal(detected, D);
  assert.ok(gapFree);
});
