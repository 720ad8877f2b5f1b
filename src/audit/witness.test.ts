/**
 * SECURITY-TESTS.md #6 (checkpoints witnessed: each consistent with every earlier one, and a
 * restore from an older backup followed by new appends is caught by a witness holding an earlier
 * checkpoint) and #19 as it applies to the log (every timestamp UTC; no log or export line
 * carries an injected line break).
 *
 * The witness is independent of AuditLog: it holds notes and checks them with the public key,
 * note.ts and merkle.ts only, asking the log for nothing but proofs.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { vectorPath } from '../../test/helpers/vectors.ts';
import type { Db } from '../db/index.ts';
import { openPostgres } from '../db/postgres.ts';
import { AuditLog, generateLogKey, openCheckpoint, parseVerifierKey, ProofError, verifyConsistency, type ConsistencyProof } from './index.ts';

/** An outside witness: keeps every checkpoint it accepted, and accepts a new one only if it is
 * validly signed and provably consistent with each of them. */
class Witness {
  readonly held: Array<{ size: number; root: Buffer }> = [];
  readonly notes: string[] = [];
  pairsChecked = 0;
  readonly vkey: string;
  readonly origin: string;
  readonly proof: (from: number, to: number) => Promise<ConsistencyProof>;
  constructor(vkey: string, origin: string, proof: (from: number, to: number) => Promise<ConsistencyProof>) {
    this.vkey = vkey;
    this.origin = origin;
    this.proof = proof;
  }

  async offer(note: string): Promise<{ accepted: boolean; reason?: string }> {
    const c = openCheckpoint(note, [parseVerifierKey(this.vkey)], this.origin);
    const size = Number(c.treeSize);
    for (const h of this.held) {
      try {
        if (h.size === size) {
          if (!h.root.equals(c.rootHash)) throw new ProofError('same size, different root');
        } else {
          const [a, b] = h.size < size ? [h, { size, root: c.rootHash }] : [{ size, root: c.rootHash }, h];
          const p = await this.proof(a.size, b.size);
          verifyConsistency(a.size, b.size, p.hashes.map((x) => Buffer.from(x, 'base64')), a.root, b.root);
        }
        this.pairsChecked++;
      } catch (e) {
        return { accepted: false, reason: `inconsistent with held checkpoint of size ${h.size}: ${e instanceof Error ? e.message : 'error'}` };
      }
    }
    this.held.push({ size, root: c.rootHash });
    this.notes.push(note);
    return { accepted: true };
  }
}

let t: TestDb;
let log: AuditLog;
const key = generateLogKey('enclave.test/audit');
const actor = { kind: 'person', id: 'u-1' } as const;

async function asOwner(sql: string): Promise<void> {
  await t.db.transaction(async (tx) => {
    await tx.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_tree DISABLE TRIGGER USER');
    await tx.query(sql);
    await tx.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_checkpoints ENABLE TRIGGER USER');
    await tx.query('ALTER TABLE audit_tree ENABLE TRIGGER USER');
  });
}

before(async () => {
  t = await openTestDb();
  log = new AuditLog(t.db, key);
});
after(async () => t.drop());

describe(`witnessed checkpoints (${testDbKind})`, () => {
  test('K checkpoints are each consistent with every earlier one; a restore from backup followed by new appends is refused by the witness', async () => {
    const witness = new Witness(log.publicKey, log.origin, (a, b) => log.consistencyProof(a, b));
    const K = 12;
    let backupAt = 0;
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < 1 + ((k * 7) % 5); i++) await log.record({ actor, action: 'workspace.query', target: `project:${k}`, details: { rows: i } });
      const cp = await log.checkpoint();
      const r = await witness.offer(cp.note);
      assert.ok(r.accepted, r.reason);
      if (k === 5) {
        backupAt = cp.treeSize;
        await t.db.query('CREATE TABLE audit_events_backup AS SELECT * FROM audit_events');
        await t.db.query('CREATE TABLE audit_checkpoints_backup AS SELECT * FROM audit_checkpoints');
        await t.db.query('CREATE TABLE audit_tree_backup AS SELECT * FROM audit_tree');
      }
    }
    const sizes = witness.held.map((h) => h.size);
    assert.equal(witness.pairsChecked, (K * (K - 1)) / 2);
    const pairs = witness.pairsChecked;

    // The operator restores the older backup and the platform carries on: a fork.
    let forks = 0;
    let accepted = 0;
    const restore = async (): Promise<void> => {
      await asOwner('DELETE FROM audit_events');
      await asOwner('DELETE FROM audit_checkpoints');
      await asOwner('DELETE FROM audit_tree');
      await asOwner('INSERT INTO audit_tree SELECT * FROM audit_tree_backup');
      await asOwner('INSERT INTO audit_events SELECT * FROM audit_events_backup');
      await asOwner('INSERT INTO audit_checkpoints SELECT * FROM audit_checkpoints_backup');
    };
    const newest = Math.max(...sizes);
    // Forks ending below, at and above the witness's newest size, each checkpointed by the log.
    for (const target of [backupAt + 1, sizes[8] ?? newest, newest, newest + 3, newest + 40]) {
      await restore();
      for (let s = backupAt; s < target; s++) await log.record({ actor: { kind: 'service', id: 'after-restore' }, action: 'workspace.query', target: 'project:99', details: { fork: target } });
      const cp = await log.checkpoint(); // the restored log is self-consistent: the log signs it
      forks++;
      const r = await witness.offer(cp.note);
      if (r.accepted) accepted++;
      assert.equal(r.accepted, false, `fork to size ${target} accepted by the witness`);
      assert.equal((await log.verify()).ok, true, 'the restored log alone is self-consistent: only a witness can tell');
      // Verification given the witness's copies names the fork too.
      assert.equal((await log.verify(witness.notes)).ok, false, `verify with the witness copies missed the fork to ${target}`);
    }
    console.log(`witnessed checkpoints (${testDbKind}): ${K} checkpoints, each consistent with every earlier one (${pairs} pairs proved); ${accepted} forks accepted after restore from backup (${forks} tried, backup at size ${backupAt}, witness newest ${newest})`);
    assert.equal(accepted, 0);
  });
});

describe(`log policy conformance (${testDbKind})`, () => {
  let db: Db;
  let zoned: AuditLog;
  let pgPool: Db | undefined;

  before(async () => {
    // The database session and the process both in a non-UTC zone with a fractional offset.
    process.env['TZ'] = 'Asia/Kathmandu';
    if (testDbKind === 'postgres') {
      await t.db.query("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'America/St_Johns'); END $$");
      pgPool = openPostgres(t.url ?? '');
      db = pgPool;
    } else {
      await t.db.query("SET TIME ZONE 'America/St_Johns'");
      db = t.db;
    }
    zoned = new AuditLog(db, key);
  });
  after(async () => {
    delete process.env['TZ'];
    await pgPool?.close();
  });

  test('every event and checkpoint time is UTC, whatever the zone of the database session and of the process', async () => {
    const [tz] = await db.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz");
    assert.equal(tz?.tz, 'America/St_Johns');
    const t0 = Date.now();
    await zoned.record({ actor, action: 'identity.login', target: 'session', outcome: 'failure' });
    const cp = await zoned.checkpoint();
    let n = 0;
    let utc = 0;
    for await (const l of zoned.lines()) {
      if (l.event === null) continue;
      n++;
      if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(l.event.time)) utc++;
    }
    const last = (await zoned.history('session', { actor })).at(-2)?.event;
    assert.ok(last !== undefined && last !== null);
    // The instant is right, not merely labelled Z: within a minute of the test's own clock.
    assert.ok(Math.abs(Date.parse(last.time) - t0) < 60_000, `${last.time} is not now in UTC`);
    assert.match(cp.createdAt, /Z$/);
    assert.ok(Math.abs(Date.parse(cp.createdAt) - t0) < 60_000);
    assert.equal(utc, n);
    console.log(`log timestamps (${testDbKind}): all timestamps UTC (${utc}/${n} events, session zone America/St_Johns, process zone Asia/Kathmandu)`);
  });

  test('hostile targets are refused and hostile details never put a line break into the export', async () => {
    const dir = vectorPath('injection/libinjection');
    const vectors: string[] = [];
    for (const f of (await readdir(dir)).filter((x) => x.endsWith('.txt')).sort()) {
      const lines = (await readFile(join(dir, f), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
      // An even sample of each corpus keeps the run short; each gets line-break variants.
      for (let i = 0; i < lines.length; i += Math.max(1, Math.floor(lines.length / 20))) vectors.push(lines[i] ?? '');
    }
    const breaks = ['\n', '\r\n', '\r', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c'];
    let refused = 0;
    let accepted = 0;
    const from = Number((await t.db.query<{ n: string }>('SELECT (coalesce(max(seq), -1) + 1)::text AS n FROM audit_events'))[0]?.n);
    for (const [i, v] of vectors.entries()) {
      const b = breaks[i % breaks.length] ?? '\n';
      const forged = `${v}${b}{"index":0,"event":{"action":"forged"}}${b}`;
      // A target with a line break is refused outright; details keep it, escaped on output.
      await assert.rejects(log.record({ actor, action: 'workspace.query', target: `project:${forged}` }), { code: 'invalid' });
      refused++;
      const clean = v.replace(/[\u0000-\u001f\u007f]/g, ' ');
      await log.record({ actor, action: 'workspace.query', target: `project:hostile:${clean.slice(0, 200)}`, details: { sql: forged.replace(/\u0000/g, ''), label: `${b}${v.replace(/\u0000/g, '')}` } });
      accepted++;
    }
    const LINE_BREAK = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/;
    let exported = 0;
    let injected = 0;
    for await (const l of log.export()) {
      exported++;
      if (LINE_BREAK.test(l.slice(0, -1))) injected++;
    }
    const verify = await log.verify();
    assert.equal(verify.ok, true, 'hostile details still verify (escaping changes no leaf)');
    console.log(`log injection (${testDbKind}): ${vectors.length} libinjection vectors × ${breaks.length} line-break kinds: ${refused} hostile targets refused, ${accepted} hostile details recorded; ${exported} export lines: ${injected} log lines with injected newlines (CLI output: src/cli/commands/audit.test.ts)`);
    assert.equal(injected, 0);
    assert.ok(from >= 0);
  });
});
