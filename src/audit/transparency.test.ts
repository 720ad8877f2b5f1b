/**
 * The log as outsiders see it (issue 11, item 7):
 * - an export and a checkpoint verify with test/audit/independent-verifier.ts, a separate
 *   process that knows RFC 9162, RFC 8785 and C2SP signed-note and nothing of Enclave;
 * - events written before migration 0014 (whose leaf hashed "v": 1) still verify that way;
 * - proofs read O(log n) stored hashes, never every leaf, and equal the reference generator's.
 * The tiles and the read-only public routes: src/http/routes/audit.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { migrate, type Db, type Queryable, type SqlParam } from '../db/index.ts';
import { canonicalJson } from './canonical-json.ts';
import { signLeaf } from './event.ts';
import { AuditLog, consistencyProof, generateLogKey, hashLeaf, inclusionProof, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './index.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const VERIFIER = join(root, 'test/audit/independent-verifier.ts');
const actor = { kind: 'person', id: 'u-1' } as const;

async function independent(exportText: string, note: string, vkey: string, witnesses: readonly string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-indep-'));
  try {
    await writeFile(join(dir, 'audit.jsonl'), exportText);
    await writeFile(join(dir, 'checkpoint.txt'), note);
    const r = await run(process.execPath, [VERIFIER, join(dir, 'audit.jsonl'), join(dir, 'checkpoint.txt'), vkey, ...witnesses]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? 'FAIL' }));
    return r.stdout.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function exportText(log: AuditLog): Promise<string> {
  let s = '';
  for await (const l of log.export()) s += l;
  return s;
}


describe(`export and checkpoint against an independent verifier (${testDbKind})`, () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
  });
  after(async () => t.drop());

  test('the export and a checkpoint verify with nothing but RFC 9162, RFC 8785 and C2SP signed-note; a changed byte does not', async () => {
    const key = generateLogKey('enclave.test/indep');
    const log = new AuditLog(t.db, key);
    for (let i = 0; i < 21; i++) await log.record({ actor, action: 'workspace.query', target: `project:${i % 3}`, details: { rows: i, ratio: 0.1 * i, label: `é\u2028${i}`, nested: { z: 1, a: [true, null] } } });
    const cp = await log.checkpoint();
    for (let i = 0; i < 4; i++) await log.record({ actor, action: 'identity.login', target: 'session' });
    const text = await exportText(log);
    assert.equal(await independent(text, cp.note, log.publicKey), `OK 21 ${cp.rootHash}`);
    // No field beyond the event: the leaf is JCS(event) exactly.
    const first = JSON.parse(text.split('\n')[0] ?? '') as { event: Record<string, unknown>; leafHash: string };
    assert.deepEqual(Object.keys(first.event).sort(), ['action', 'actor', 'details', 'outcome', 'requestId', 'seq', 'target', 'time']);
    assert.equal(hashLeaf(Buffer.from(canonicalJson(first.event as never), 'utf8')).toString('base64'), first.leafHash);
    const tampered = text.replace('"rows":7', '"rows":8');
    assert.match(await independent(tampered, cp.note, log.publicKey), /^FAIL event 7:/);
    const otherKey = generateLogKey('enclave.test/indep');
    assert.match(await independent(text, cp.note, new AuditLog(t.db, otherKey).publicKey), /^FAIL (bad signature|no signature)/);
    console.log(`independent verifier (${testDbKind}): export of 25 events + checkpoint of 21 verified by a from-scratch RFC 9162 + RFC 8785 + signed-note verifier; 1 changed event and 1 wrong key refused`);
  });
});

describe(`a log written before migration 0014 (${testDbKind})`, () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb({ migrated: false });
  });
  after(async () => t.drop());

  test('its events keep their leaf ("v": 1 shown in the export), the stored tree is built from them, and it verifies independently', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'enclave-mig13-'));
    const src = fileURLToPath(new URL('../db/migrations/', import.meta.url));
    for (const f of await readdir(src)) if (/^\d{4}_/.test(f) && Number(f.slice(0, 4)) < 14) await copyFile(join(src, f), join(dir, f));
    await migrate(t.db, dir);
    await rm(dir, { recursive: true, force: true });
    const key = generateLogKey('enclave.test/legacy');
    // Events as the code before 0014 wrote them: the leaf is JCS of the event plus "v": 1.
    for (let seq = 0; seq < 11; seq++) {
      const ev = { v: 1, seq, time: '2026-01-02T03:04:05.678Z', actor: { kind: 'service', id: 'old' }, action: 'catalog.import', target: `dataset:${seq}`, requestId: null, outcome: 'success', details: { n: seq } } as const;
      const leaf = hashLeaf(Buffer.from(canonicalJson(ev), 'utf8'));
      await t.db.query(`INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, outcome, details, leaf_hash, leaf_sig) VALUES ($1, $2, 'service', 'old', 'catalog.import', $3, 'success', $4::jsonb, $5, $6)`, [seq, ev.time, ev.target, JSON.stringify(ev.details), leaf, signLeaf(key.privateKey, key.name, seq, leaf)]);
    }
    await migrate(t.db);
    const log = new AuditLog(t.db, key);
    for (let i = 0; i < 6; i++) await log.record({ actor, action: 'workspace.query', target: 'project:1' });
    const cp = await log.checkpoint();
    const text = await exportText(log);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { event: { v?: number } });
    assert.deepEqual(lines.map((l) => l.event.v ?? 0), [...Array(11).fill(1), ...Array(6).fill(0)]);
    assert.equal((await log.verify()).ok, true);
    assert.equal(await independent(text, cp.note, log.publicKey), `OK 17 ${cp.rootHash}`);
    const p = await log.inclusionProof(3, 17);
    verifyInclusion(3, 17, Buffer.from(p.leafHash, 'base64'), p.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(cp.rootHash, 'base64'));
  });
});

/** The real database with every returned row counted: what a request reads. */
function counting(db: Db): { q: Queryable; rows: () => number; reset: () => void } {
  let n = 0;
  return {
    q: { query: async <T extends object>(sql: string, params?: readonly SqlParam[]) => {
      const r = await db.query<T>(sql, params);
      n += r.length;
      return r;
    } },
    rows: () => n,
    reset: () => { n = 0; },
  };
}

describe(`stored tree and proofs (${testDbKind})`, () => {
  let t: TestDb;
  let log: AuditLog;
  let leaves: Buffer[];
  const N = 600;
  const key = generateLogKey('enclave.test/tiles');

  before(async () => {
    t = await openTestDb();
    log = new AuditLog(t.db, key);
    for (let i = 0; i < N; i++) await log.record({ actor, action: 'workspace.query', target: `project:${i % 5}`, details: { i } });
    await log.checkpoint();
    leaves = (await t.db.query<{ leaf_hash: Uint8Array }>('SELECT leaf_hash FROM audit_events ORDER BY seq')).map((r) => Buffer.from(r.leaf_hash));
  });
  after(async () => t.drop());

  test('inclusion and consistency proofs equal the reference generator and read O(log n) stored hashes, not the leaves', async () => {
    const c = counting(t.db);
    const viaCounter = new AuditLog(c.q as Db, key);
    let maxRows = 0;
    let proofs = 0;
    for (const size of [1, 2, 7, 255, 256, 257, 511, N]) {
      for (const index of [0, Math.floor(size / 2), size - 1]) {
        c.reset();
        const p = await viaCounter.inclusionProof(index, size);
        maxRows = Math.max(maxRows, c.rows());
        assert.deepEqual(p.hashes, inclusionProof(leaves, index, size).map((h) => h.toString('base64')));
        proofs++;
      }
      for (const from of [1, Math.max(1, size - 1), Math.ceil(size / 3)]) {
        c.reset();
        const p = await viaCounter.consistencyProof(from, size);
        maxRows = Math.max(maxRows, c.rows());
        assert.deepEqual(p.hashes, consistencyProof(leaves, from, size).map((h) => h.toString('base64')));
        verifyConsistency(from, size, p.hashes.map((h) => Buffer.from(h, 'base64')), rootFromLeafHashes(leaves.slice(0, from)), rootFromLeafHashes(leaves.slice(0, size)));
        proofs++;
      }
    }
    // log2(600) ≈ 9.2: a proof names ≤ 10 subtrees, each from ≤ 10 stored nodes shared along the right edge.
    assert.ok(maxRows <= 3 * Math.ceil(Math.log2(N)), `a proof read ${maxRows} rows`);
    console.log(`stored tree (${testDbKind}): ${proofs} proofs at sizes up to ${N} byte-identical to the reference; at most ${maxRows} rows read per proof (the log holds ${N} leaves)`);
  });

});
