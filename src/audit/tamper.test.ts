/**
 * Attacks with the database owner's rights, behind the application's back: triggers disabled
 * (ALTER TABLE … DISABLE TRIGGER USER, which the owner may do on both back ends). Each attack
 * starts from the same snapshot; verification must detect it and name where it starts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { eventLeafHash, signLeaf, type AuditEvent } from './event.ts';
import { AuditLog, formatCheckpoint, generateLogKey, rootFromLeafHashes, signNote, type VerifyReport } from './index.ts';

let t: TestDb;
let log: AuditLog;
const N = 30;
const results: string[] = [];

async function asOwner(sql: string, params: readonly (string | number | Buffer | null)[] = []): Promise<void> {
  await t.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
    await tx.query(sql, params);
    await tx.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoints ENABLE TRIGGER USER');
  });
}

before(async () => {
  t = await openTestDb();
  log = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
  for (let i = 0; i < N; i++) {
    await log.record({ actor: { kind: 'person', id: `u-${i % 3}` }, action: 'workspace.query', target: `project:${i % 4}`, details: { rows: i, ms: 3 } });
    if ((i + 1) % 10 === 0) await log.checkpoint();
  }
  await t.db.query('CREATE TABLE audit_events_snapshot AS SELECT * FROM audit_events');
  await t.db.query('CREATE TABLE audit_checkpoints_snapshot AS SELECT * FROM audit_checkpoints');
});

beforeEach(async () => {
  await asOwner('DELETE FROM audit_events');
  await asOwner('INSERT INTO audit_events SELECT * FROM audit_events_snapshot');
  await asOwner('DELETE FROM audit_checkpoints');
  await asOwner('INSERT INTO audit_checkpoints SELECT * FROM audit_checkpoints_snapshot');
});

after(async () => {
  console.log(`tampering with owner rights (${testDbKind}): ${results.length} attacks, ${results.filter((r) => r.startsWith('detected')).length} detected and located — ${results.join('; ')}`);
  await t.drop();
});

function expectFirstBad(r: VerifyReport, index: number, name: string): void {
  assert.equal(r.ok, false, `${name} went unnoticed`);
  assert.equal(r.firstBadIndex, index, `${name}: ${JSON.stringify(r.problems)}`);
  results.push(`detected ${name} at ${index} (${r.problems[0]?.kind})`);
}

test('the untouched snapshot verifies', async () => {
  const r = await log.verify();
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.checkpointsVerified, 3);
});

test('editing one detail is detected at that event', async () => {
  await asOwner(`UPDATE audit_events SET details = '{"rows": 999, "ms": 3}' WHERE seq = 12`);
  expectFirstBad(await log.verify(), 12, 'edited detail');
});

test('editing a detail and recomputing its leaf hash is detected at that event', async () => {
  const [row] = await t.db.query<{ time: string }>(`SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time FROM audit_events WHERE seq = 12`);
  const forged: AuditEvent = { seq: 12, time: row?.time ?? '', actor: { kind: 'person', id: 'u-0' }, action: 'workspace.query', target: 'project:0', requestId: null, outcome: 'success', details: { rows: 999, ms: 3 } };
  await asOwner(`UPDATE audit_events SET details = '{"rows": 999, "ms": 3}', actor_id = 'u-0', target = 'project:0', leaf_hash = $1 WHERE seq = 12`, [eventLeafHash(forged)]);
  expectFirstBad(await log.verify(), 12, 'edited detail with recomputed hash');
});

test('deleting one event is detected where it was', async () => {
  await asOwner('DELETE FROM audit_events WHERE seq = 7');
  expectFirstBad(await log.verify(), 7, 'deleted event');
});

test('deleting one event and renumbering the rest is detected where it was', async () => {
  await asOwner('DELETE FROM audit_events WHERE seq = 7');
  await asOwner('UPDATE audit_events SET seq = seq - 1 WHERE seq > 7');
  expectFirstBad(await log.verify(), 7, 'deleted and renumbered');
});

test('swapping two events is detected at the first of them', async () => {
  await asOwner('UPDATE audit_events SET seq = CASE seq WHEN 4 THEN 1004 ELSE 1005 END WHERE seq IN (4, 5)');
  await asOwner('UPDATE audit_events SET seq = CASE seq WHEN 1004 THEN 5 ELSE 4 END WHERE seq IN (1004, 1005)');
  expectFirstBad(await log.verify(), 4, 'swapped events');
});

test('truncating the tail is detected at the first removed event', async () => {
  await asOwner('DELETE FROM audit_events WHERE seq >= 25');
  expectFirstBad(await log.verify(), 25, 'truncated tail');
});

test('truncating the tail and appending forged events is detected at the first forged one', async () => {
  await asOwner('DELETE FROM audit_events WHERE seq >= 25');
  const attacker = generateLogKey('enclave.test/audit');
  for (let i = 25; i < 35; i++) {
    const e: AuditEvent = { seq: i, time: '2020-01-01T00:00:00.000Z', actor: { kind: 'service', id: 'x' }, action: 'workspace.query', target: 'project:1', requestId: null, outcome: 'success', details: {} };
    const h = eventLeafHash(e);
    await asOwner(`INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, outcome, details, leaf_hash, leaf_sig) VALUES ($1, $2, 'service', 'x', 'workspace.query', 'project:1', 'success', '{}', $3, $4)`, [i, e.time, h, signLeaf(attacker.privateKey, attacker.name, i, h)]);
  }
  expectFirstBad(await log.verify(), 25, 'truncated and forged tail');
});

test('replacing the whole log with a self-consistent forgery signed by another key is detected from the first event', async () => {
  const attacker = generateLogKey('enclave.test/audit');
  await asOwner('DELETE FROM audit_events');
  await asOwner('DELETE FROM audit_checkpoints');
  const leaves: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    const e: AuditEvent = { seq: i, time: '2020-01-01T00:00:00.000Z', actor: { kind: 'service', id: 'x' }, action: 'workspace.query', target: 'project:1', requestId: null, outcome: 'success', details: {} };
    const h = eventLeafHash(e);
    leaves.push(h);
    await asOwner(`INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, outcome, details, leaf_hash, leaf_sig) VALUES ($1, $2, 'service', 'x', 'workspace.query', 'project:1', 'success', '{}', $3, $4)`, [i, e.time, h, signLeaf(attacker.privateKey, attacker.name, i, h)]);
    if ((i + 1) % 10 === 0) {
      const root = rootFromLeafHashes(leaves);
      await asOwner('INSERT INTO audit_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3)', [i + 1, root, signNote(formatCheckpoint({ origin: attacker.name, treeSize: i + 1, rootHash: root }), [attacker])]);
    }
  }
  const r = await log.verify();
  expectFirstBad(r, 0, 'whole-log forgery by another key');
  assert.equal(r.checkpointsVerified, 0);
  // The application refuses to sign on top of a log it cannot vouch for.
  await assert.rejects(log.checkpoint(), { code: 'integrity' });
});
