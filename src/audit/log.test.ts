import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { AppError } from '../errors.ts';
import { AuditLog, generateLogKey, openCheckpoint, parseVerifierKey, verifyArchive, verifyConsistency, verifyInclusion, type AuditArchive } from './index.ts';

let t: TestDb;
let log: AuditLog;
const actor = { kind: 'person', id: 'u-1' } as const;

before(async () => {
  t = await openTestDb();
  await t.db.query('CREATE TABLE audit_test_things (id serial PRIMARY KEY, label text NOT NULL)');
  log = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
});
after(async () => {
  await t.drop();
});

async function count(where = 'true'): Promise<number> {
  const [r] = await t.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_events WHERE ${where}`);
  return Number(r?.n);
}

test('a successful transaction keeps its work and appends one success event with the added details', async () => {
  const before = await count();
  const id = await log.transaction({ actor, action: 'test.thing.create', target: 'thing' }, async (tx) => {
    const [row] = await tx.query<{ id: number }>("INSERT INTO audit_test_things (label) VALUES ('a') RETURNING id");
    tx.addDetails({ thingId: row?.id ?? -1 });
    return row?.id;
  });
  assert.equal(await count(), before + 1);
  const [e] = await t.db.query<{ outcome: string; details: { thingId: number } }>('SELECT outcome, details FROM audit_events ORDER BY seq DESC LIMIT 1');
  assert.equal(e?.outcome, 'success');
  assert.equal(e?.details.thingId, id);
});

test('a failing transaction keeps none of its work and appends a failure event with the error code', async () => {
  const things = await t.db.query('SELECT 1 FROM audit_test_things');
  await assert.rejects(
    log.transaction({ actor, action: 'test.thing.create', target: 'thing' }, async (tx) => {
      await tx.query("INSERT INTO audit_test_things (label) VALUES ('b')");
      throw new AppError('conflict', 'nope');
    }),
    { code: 'conflict' },
  );
  assert.equal((await t.db.query('SELECT 1 FROM audit_test_things')).length, things.length);
  const [e] = await t.db.query<{ outcome: string; details: { error: string } }>('SELECT outcome, details FROM audit_events ORDER BY seq DESC LIMIT 1');
  assert.equal(e?.outcome, 'failure');
  assert.equal(e?.details.error, 'conflict');
});

test('a forbidden act is recorded as denied', async () => {
  await assert.rejects(log.transaction({ actor, action: 'test.admin', target: 'x' }, () => Promise.reject(new AppError('forbidden', 'no'))), { code: 'forbidden' });
  const [e] = await t.db.query<{ outcome: string }>('SELECT outcome FROM audit_events ORDER BY seq DESC LIMIT 1');
  assert.equal(e?.outcome, 'denied');
});

test('when the event cannot be written the act is rolled back', async () => {
  const things = (await t.db.query('SELECT 1 FROM audit_test_things')).length;
  const broken = new AuditLog(t.db, { name: 'enclave.test/audit', privateKey: generateLogKey().privateKey });
  await t.db.query('ALTER TABLE audit_events ADD CONSTRAINT audit_test_block CHECK (action <> $$test.blocked$$)'.replace(/\$\$/g, "'"));
  try {
    await assert.rejects(
      broken.transaction({ actor, action: 'test.blocked', target: 'thing' }, async (tx) => {
        await tx.query("INSERT INTO audit_test_things (label) VALUES ('c')");
      }),
      { code: 'unavailable' },
    );
  } finally {
    await t.db.query('ALTER TABLE audit_events DROP CONSTRAINT audit_test_block');
  }
  assert.equal((await t.db.query('SELECT 1 FROM audit_test_things')).length, things);
});

test('details that name row values or identifiers are refused before anything runs', async () => {
  let ran = false;
  await assert.rejects(
    log.transaction({ actor, action: 'test.x', target: 'x', details: { nir: '1' } }, async () => {
      ran = true;
    }),
    { code: 'invalid' },
  );
  await assert.rejects(log.record({ actor, action: 'test.x', target: 'x', details: { nested: { values: [1] } } }), { code: 'invalid' });
  assert.equal(ran, false);
});

test('record appends a read with gap-free sequence numbers', async () => {
  const a = await log.record({ actor, action: 'test.read', target: 'thing', requestId: 'r-1' });
  const b = await log.record({ actor, action: 'test.login', target: 'session', outcome: 'failure' });
  assert.equal(Number(b.seq), Number(a.seq) + 1);
});

test('the application cannot update, delete or truncate events', async () => {
  await assert.rejects(t.db.query("UPDATE audit_events SET action = 'x' WHERE seq = 0"), /append-only/);
  await assert.rejects(t.db.query('DELETE FROM audit_events WHERE seq = 0'), /append-only/);
  await assert.rejects(t.db.query('TRUNCATE audit_events'), /append-only/);
});

test('an insert with a seq other than previous + 1 is refused by the database', async () => {
  const [r] = await t.db.query<{ n: string }>('SELECT (max(seq) + 2)::text AS n FROM audit_events');
  await assert.rejects(
    t.db.query("INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, outcome, details, leaf_hash, leaf_sig) VALUES ($1, now(), 'person', 'x', 'a', 't', 'success', '{}', $2, $3)", [r?.n ?? '0', Buffer.alloc(32), Buffer.alloc(64)]),
    /append must use seq/,
  );
});

test('a checkpoint opens with the published key, and proofs from the log verify against it', async () => {
  for (let i = 0; i < 5; i++) await log.record({ actor, action: 'test.read', target: `thing:${i}` });
  const first = await log.checkpoint();
  for (let i = 0; i < 4; i++) await log.record({ actor, action: 'test.read', target: `thing:${i}` });
  const cp = await log.checkpoint();
  const opened = openCheckpoint(cp.note, [parseVerifierKey(log.publicKey)], log.origin);
  assert.equal(Number(opened.treeSize), cp.treeSize);
  const p = await log.inclusionProof(3);
  verifyInclusion(p.leafIndex, p.treeSize, Buffer.from(p.leafHash, 'base64'), p.hashes.map((h) => Buffer.from(h, 'base64')), opened.rootHash);
  const c = await log.consistencyProof(first.treeSize, cp.treeSize);
  verifyConsistency(c.size1, c.size2, c.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(first.rootHash, 'base64'), opened.rootHash);
  assert.deepEqual(await log.checkpoint(), cp);
  await assert.rejects(t.db.query('DELETE FROM audit_checkpoints'), /append-only/);
  await assert.rejects(t.db.query('UPDATE audit_checkpoints SET note = $1', ['x']), /append-only/);
});

test('the untouched log verifies from the database and from its export', async () => {
  await log.checkpoint();
  const report = await log.verify();
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  const lines: string[] = [];
  for await (const l of log.export()) lines.push(l);
  assert.equal(lines.length, report.treeSize);
});

test('events past retention move to a signed archive that verifies, and the log still verifies', async () => {
  await log.checkpoint();
  const stored: AuditArchive[] = [];
  const future = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const a = await log.archive(async (x) => {
    stored.push(x);
  }, { now: future });
  assert.ok(a !== null);
  assert.deepEqual(await verifyArchive(a.content, a.note, log.publicKey), { from: a.from, to: a.to });
  assert.equal(await count('archived_at IS NOT NULL'), a.to - a.from);
  assert.equal(await count('archived_at IS NOT NULL AND details IS NOT NULL'), 0);
  await log.checkpoint();
  const report = await log.verify();
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  await assert.rejects(verifyArchive(a.content.replace('test.read', 'test.reed'), a.note, log.publicKey));
});

test('tombstoning outside a recorded archive is refused', async () => {
  const [r] = await t.db.query<{ n: string }>('SELECT max(seq)::text AS n FROM audit_events');
  await assert.rejects(t.db.query('UPDATE audit_events SET actor_kind = NULL, actor_id = NULL, action = NULL, target = NULL, request_id = NULL, outcome = NULL, details = NULL, archived_at = now() WHERE seq = $1', [r?.n ?? '0']), /append-only/);
  await assert.rejects(t.db.query('SELECT audit_tombstone_archived($1)', [r?.n ?? '0']), /no audit archive/);
});

test('a transaction whose commit fails after the append leaves no event and no gap, and records the failure', async () => {
  await t.db.query('CREATE TABLE IF NOT EXISTS audit_test_deferred (x int UNIQUE DEFERRABLE INITIALLY DEFERRED)');
  const [before] = await t.db.query<{ n: string }>('SELECT (max(seq) + 1)::text AS n FROM audit_events');
  await assert.rejects(
    log.transaction({ actor, action: 'test.deferred', target: 'x' }, async (tx) => {
      await tx.query('INSERT INTO audit_test_deferred VALUES (1), (1)');
    }),
  );
  const rows = await t.db.query<{ seq: string; outcome: string }>('SELECT seq::text AS seq, outcome FROM audit_events WHERE seq >= $1 ORDER BY audit_events.seq', [before?.n ?? '0']);
  assert.deepEqual(rows, [{ seq: before?.n, outcome: 'failure' }]);
});
