/**
 * The log as outsiders see it (issue 11, item 7):
 * - an export and a checkpoint verify with test/audit/independent-verifier.ts, a separate
 *   process that knows RFC 9162, RFC 8785 and C2SP signed-note and nothing of Enclave;
 * - events written before migration 0014 (whose leaf hashed "v": 1) still verify that way;
 * - proofs read O(log n) stored hashes, never every leaf, and equal the reference generator's;
 * - a monitor mirrors the tree from C2SP tlog-tiles served on a real loopback server and checks
 *   it against the checkpoint; public GETs never sign or write anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { migrate, type Db, type Queryable, type SqlParam } from '../db/index.ts';
import { auditRoutes, parseTilePath } from '../http/routes/audit.ts';
import { canonicalJson } from './canonical-json.ts';
import { signLeaf } from './event.ts';
import { AuditLog, consistencyProof, generateLogKey, hashLeaf, inclusionProof, openCheckpoint, parseVerifierKey, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './index.ts';

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

export { independent, exportText };

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

describe(`stored tree, proofs and tiles (${testDbKind})`, () => {
  let t: TestDb;
  let log: AuditLog;
  let leaves: Buffer[];
  let server: ServerType;
  let base: string;
  const N = 600;
  const key = generateLogKey('enclave.test/tiles');

  before(async () => {
    t = await openTestDb();
    log = new AuditLog(t.db, key);
    for (let i = 0; i < N; i++) await log.record({ actor, action: 'workspace.query', target: `project:${i % 5}`, details: { i } });
    await log.checkpoint();
    leaves = (await t.db.query<{ leaf_hash: Uint8Array }>('SELECT leaf_hash FROM audit_events ORDER BY seq')).map((r) => Buffer.from(r.leaf_hash));
    const app = new Hono().route('/api/v1/audit', auditRoutes(log));
    app.onError((e, c) => c.json({ error: e.message }, 'code' in e && (e as { code: string }).code === 'not_found' ? 404 : 400));
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        base = `http://127.0.0.1:${info.port}/api/v1/audit`;
        resolve();
      });
    });
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await t.drop();
  });

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

  test('a monitor mirrors the tree from tlog-tiles and checks it against the checkpoint; the partial and full tiles agree', async () => {
    const vkey = parseVerifierKey(log.publicKey);
    const note = await (await fetch(`${base}/checkpoint`)).text();
    const cp = openCheckpoint(note, [vkey], log.origin);
    const size = Number(cp.treeSize);
    const mirror: Buffer[] = [];
    for (let n = 0; n * 256 < size; n++) {
      const w = Math.min(256, size - n * 256);
      const path = `0/${String(n).padStart(3, '0')}${w === 256 ? '' : `.p/${w}`}`;
      const r = await fetch(`${base}/tile/${path}`);
      assert.equal(r.status, 200, path);
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(body.length, 32 * w);
      for (let i = 0; i < w; i++) mirror.push(body.subarray(32 * i, 32 * i + 32));
    }
    assert.ok(rootFromLeafHashes(mirror).equals(cp.rootHash), 'the mirrored tree has the signed root');
    // A narrower partial tile is a prefix of the full one; a tile beyond the checkpoint is absent.
    const p7 = Buffer.from(await (await fetch(`${base}/tile/0/000.p/7`)).arrayBuffer());
    assert.ok(p7.equals(Buffer.concat(mirror.slice(0, 7))));
    assert.equal((await fetch(`${base}/tile/0/002`)).status, 404);
    // Level 1 holds the roots of whole level-0 tiles (tree level 8): each is the hash of 256 leaves.
    const l1 = Buffer.from(await (await fetch(`${base}/tile/1/000.p/2`)).arrayBuffer());
    assert.ok(l1.equals(Buffer.concat([rootFromLeafHashes(mirror.slice(0, 256)), rootFromLeafHashes(mirror.slice(256, 512))])));
    assert.equal((await fetch(`${base}/tile/1/000.p/3`)).status, 404);
    assert.equal((await fetch(`${base}/tile/entries/000`)).status, 404);
    assert.equal((await fetch(`${base}/tile/0/0001`)).status, 400);
    assert.deepEqual(parseTilePath('0/x001/x234/067'), { level: 0, index: 1234067, width: 256 });
    assert.deepEqual(parseTilePath('2/x001/000.p/9'), { level: 2, index: 1000, width: 9 });
    for (const bad of ['64/000', '0/x000/001', '0/000.p/256', '0/000.p/0', '0/1', 'x/000', '0/000/x001']) assert.throws(() => parseTilePath(bad), { code: 'invalid' }, bad);
    console.log(`tlog-tiles (${testDbKind}): a mirror rebuilt ${mirror.length} leaves from ${Math.ceil(size / 256)} level-0 tiles and matched the signed root; the level-1 tile holds the roots of the full level-0 tiles`);
  });

  test('public GETs never sign or write: the audit tables are unchanged after every public route, and no checkpoint is signed on demand', async () => {
    const snapshot = async (db: Db): Promise<string> => JSON.stringify(await db.query(`SELECT
      (SELECT count(*) FROM audit_events)::text AS e, (SELECT coalesce(max(seq), -1) FROM audit_events)::text AS m,
      (SELECT count(*) FROM audit_checkpoints)::text AS c, (SELECT count(*) FROM audit_tree)::text AS t,
      (SELECT count(*) FROM audit_cosignatures)::text AS s, (SELECT count(*) FROM audit_archives)::text AS a`));
    const before = await snapshot(t.db);
    const paths = ['/checkpoint', '/checkpoints', '/proof/inclusion?index=3', '/proof/inclusion?index=3&size=100', '/proof/consistency?from=5&to=600', '/tile/0/000', '/tile/0/002.p/88', '/tile/0/009', '/proof/inclusion?index=x', '/proof/consistency?from=9&to=1000000'];
    for (const p of paths) await (await fetch(`${base}${p}`)).arrayBuffer();
    assert.equal(await snapshot(t.db), before);
    // A log with no checkpoint yet: GET /checkpoint is a 404, it does not sign one.
    const fresh = await openTestDb();
    try {
      const l2 = new AuditLog(fresh.db, generateLogKey('enclave.test/fresh'));
      await l2.record({ actor, action: 'identity.login', target: 'session' });
      const app = new Hono().route('/a', auditRoutes(l2));
      app.onError((e, c) => c.json({ error: e.message }, 404));
      const s0 = await snapshot(fresh.db);
      assert.equal((await app.request('/a/checkpoint')).status, 404);
      assert.equal((await app.request('/a/tile/0/000.p/1')).status, 404);
      assert.equal(await snapshot(fresh.db), s0);
    } finally {
      await fresh.drop();
    }
    console.log(`public GETs (${testDbKind}): ${paths.length + 2} requests, audit tables unchanged, 0 checkpoints signed on demand`);
  });
});
