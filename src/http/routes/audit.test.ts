/**
 * The public audit routes (issue 11, item 7): a monitor mirrors the tree from C2SP tlog-tiles
 * served on a real loopback server and checks it against the checkpoint; public GETs never sign
 * or write anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { openTestDb, testDbKind, type TestDb } from '../../../test/helpers/db.ts';
import { openGovFixture, type GovFixture } from '../../../test/helpers/governance.ts';
import { AuditLog, generateLogKey, hashLeaf, openCheckpoint, parseVerifierKey, rootFromLeafHashes } from '../../audit/index.ts';
import type { Db } from '../../db/index.ts';
import { createHttpApp } from '../app.ts';
import { sessionCookieName, type AuthDeps } from '../auth.ts';
import { auditRoutes, parseTilePath } from './audit.ts';

const actor = { kind: 'person', id: 'u-1' } as const;

describe(`tlog-tiles and read-only public routes (${testDbKind})`, () => {
  let t: TestDb;
  let log: AuditLog;
  let server: ServerType;
  let base: string;
  const N = 600;

  before(async () => {
    t = await openTestDb();
    log = new AuditLog(t.db, generateLogKey('enclave.test/tiles'));
    for (let i = 0; i < N; i++) await log.record({ actor, action: 'workspace.query', target: `project:${i % 5}`, details: { i } });
    await log.checkpoint();
    const app = new Hono().route('/api/v1/audit', auditRoutes(log));
    app.onError((e, c) => {
      const code = 'code' in e ? (e as { code: string }).code : '';
      return c.json({ error: e.message }, code === 'not_found' ? 404 : code === 'unauthenticated' ? 401 : 400);
    });
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
    assert.equal((await fetch(`${base}/tile/entries/000`)).status, 401);
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

describe(`tlog-tiles entry bundles are for auditors (${testDbKind})`, () => {
  let f: GovFixture;
  let app: ReturnType<typeof createHttpApp>;
  const cookieName = sessionCookieName(false);
  const cookies = new Map<string, string>();

  before(async () => {
    f = await openGovFixture();
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async (who, route, code, requestId) => {
        await f.audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
      },
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'audit', app: auditRoutes(f.audit, auth) }] });
    for (const k of ['auditor', 'applicant'] as const) {
      const s = await f.identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      cookies.set(k, s.cookieValue);
    }
    await f.audit.checkpoint();
  });
  after(async () => f.close());

  test('anonymous and non-auditors are refused; an auditor gets length-prefixed JCS entries that hash to the public level-0 tile, and the read is recorded', async () => {
    const size = (await f.audit.latestCheckpoint())?.treeSize ?? 0;
    assert.ok(size > 0);
    const w = Math.min(size, 255);
    const path = `/api/v1/audit/tile/entries/000${w === 256 ? '' : `.p/${w}`}`;
    const get = (who?: string) => app.request(path, who === undefined ? {} : { headers: { cookie: `${cookieName}=${cookies.get(who) ?? ''}` } });
    assert.equal((await get()).status, 401);
    assert.equal((await get('applicant')).status, 403);
    const before = (await f.t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'audit.tile.entries'"))[0]?.n;
    const res = await get('auditor');
    assert.equal(res.status, 200);
    const bundle = Buffer.from(await res.arrayBuffer());
    const tile = Buffer.from(await (await app.request(`/api/v1/audit/tile/0/000${w === 256 ? '' : `.p/${w}`}`)).arrayBuffer());
    let off = 0;
    for (let i = 0; i < w; i++) {
      const len = bundle.readUInt16BE(off);
      const entry = bundle.subarray(off + 2, off + 2 + len);
      off += 2 + len;
      assert.ok(hashLeaf(entry).equals(tile.subarray(32 * i, 32 * i + 32)), `entry ${i} does not hash to its leaf`);
      assert.equal((JSON.parse(entry.toString('utf8')) as { seq: number }).seq, i);
    }
    assert.equal(off, bundle.length);
    const afterN = (await f.t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'audit.tile.entries'"))[0]?.n;
    assert.equal(Number(afterN), Number(before) + 1);
    console.log(`tlog-tiles entries (${testDbKind}): ${w} entries served to the auditor, each hashing to its public leaf; anonymous 401, applicant 403; the read recorded`);
  });

  test('the auditor\'s explorer filters events by actor, target, action and time, newest first, paged with the total; the read is recorded', async () => {
    const id = await f.projectAt('ethics_review');
    const get = (q: string, who = 'auditor') => app.request(`/api/v1/audit/events?${q}`, { headers: { cookie: `${cookieName}=${cookies.get(who) ?? ''}` } });
    assert.equal((await app.request('/api/v1/audit/events')).status, 401);
    assert.equal((await get('', 'applicant')).status, 403);
    type Page = { total: number; events: { index: number; leafHash: string; event: { seq: number; action: string; target: string; actor: { id: string } } | null }[] };
    const byProject = (await (await get(`target=${encodeURIComponent(`project:${id}`)}&limit=200`)).json()) as Page;
    assert.ok(byProject.total >= 3 && byProject.events.length === byProject.total);
    assert.ok(byProject.events.every((e) => e.event?.target.startsWith(`project:${id}`)));
    assert.ok(byProject.events.every((e, i) => i === 0 || e.index < (byProject.events[i - 1]?.index ?? 0)), 'newest first');
    const creates = (await (await get(`target=${encodeURIComponent(`project:${id}`)}&action=governance.project.create`)).json()) as Page;
    assert.equal(creates.total, 1);
    assert.equal(creates.events[0]?.event?.actor.id, f.who.applicant.personId);
    const byActor = (await (await get(`actor=${f.who.ethics.personId}&action=governance.`)).json()) as Page;
    assert.ok(byActor.events.every((e) => e.event?.actor.id === f.who.ethics.personId && e.event.action.startsWith('governance.')));
    const paged = (await (await get(`target=${encodeURIComponent(`project:${id}`)}&limit=2&offset=1`)).json()) as Page;
    assert.deepEqual(paged.events.map((e) => e.index), byProject.events.slice(1, 3).map((e) => e.index));
    const future = (await (await get('since=2999-01-01')).json()) as Page;
    assert.equal(future.total, 0);
    assert.equal((await get('since=yesterday')).status, 400);
    assert.equal((await get('limit=500')).status, 400);
    const reads = await f.t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'audit.search' AND actor_id = $1", [f.who.auditor.personId]);
    assert.ok(Number(reads[0]?.n) >= 5);
  });
});
