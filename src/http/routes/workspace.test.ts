/**
 * The workspace query API on the real components (governance, identity, audit on
 * PGlite/PostgreSQL; a real encrypted extract; the DuckDB sandbox in its own process): the
 * contract the portal builds on, API tokens, the escape corpus (SECURITY-TESTS #11) through
 * POST /queries, and a killed engine process replaced while the server keeps serving.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { after, before, describe, test } from 'node:test';
import { makeEscapeTargets, openWorkspaceFixture, type EscapeSetup, type WorkspaceFixture } from '../../../test/helpers/workspace.ts';
import { hostileStatements } from '../../../test/helpers/workspace-escapes.ts';
import type { Query } from '../../workspace/index.ts';
import { API_SCHEMAS } from '../api-schemas.ts';
import { createHttpApp } from '../app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../auth.ts';
import { workspaceOpenApiPaths, workspaceRoutes } from './workspace.ts';

type Who = 'member' | 'applicant' | 'outsider' | 'committee1';

describe('workspace query API', () => {
  let w: WorkspaceFixture;
  let app: ReturnType<typeof createHttpApp>;
  let project: string;
  let other: string;
  let targets: EscapeSetup;
  const sessions = new Map<Who, { cookie: string; csrf: string }>();
  const cookieName = sessionCookieName(false);

  before(async () => {
    w = await openWorkspaceFixture();
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => w.f.identity.resolveSession(v),
      resolveApiToken: (t) => w.f.identity.resolveApiToken(t),
      denied: async (who, route, code, requestId) => {
        await w.f.audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
      },
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [workspaceOpenApiPaths(w.ws)], routes: [{ prefix: 'projects', app: workspaceRoutes(w.ws, auth) }] });
    for (const k of ['member', 'applicant', 'outsider', 'committee1'] as const) {
      const s = await w.f.identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      sessions.set(k, { cookie: s.cookieValue, csrf: s.csrfToken });
    }
    project = await w.activeProject();
    other = await w.activeProject();
    targets = await makeEscapeTargets(w.ex);
  });
  after(async () => {
    await w.close();
  });

  const call = async (method: string, path: string, who: Who | { token: string }, body?: unknown) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (typeof who === 'object') headers['authorization'] = `Bearer ${who.token}`;
    else {
      const s = sessions.get(who);
      if (s !== undefined) {
        headers['cookie'] = `${cookieName}=${s.cookie}`;
        headers[CSRF_HEADER] = s.csrf;
      }
    }
    // The shared test machine can be slow: statements wait up to the maximum unless told otherwise.
    const sent = method === 'POST' && path.endsWith('/queries') && typeof body === 'object' && body !== null && !('waitMs' in body) ? { ...body, waitMs: 60_000 } : body;
    const res = await app.request(`/api/v1/projects/${path}`, { method, headers, ...(sent === undefined ? {} : { body: JSON.stringify(sent) }) });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as Record<string, unknown> & Query };
  };

  test('a member runs SQL: 201 with the Query, its rows by pages, in their history', async () => {
    const r = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT drug, count(*) AS n FROM events GROUP BY drug ORDER BY drug' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const q = r.body;
    assert.equal(q.status, 'succeeded');
    assert.equal(q.projectId, project);
    assert.equal(q.personId, w.f.who.member.personId);
    assert.equal(q.rowCount, 5);
    assert.equal(typeof q.elapsedMs, 'number');
    assert.equal(q.error, null);
    const p1 = await call('GET', `${project}/queries/${q.id}/rows?offset=0&limit=2`, 'member');
    assert.equal(p1.status, 200);
    assert.deepEqual(p1.body, { columns: q.columns, rows: [['D0', '1200'], ['D1', '1200']], offset: 0, rowCount: 5 });
    const all = await call('GET', `${project}/queries/${q.id}/rows`, 'member');
    const rows = all.body['rows'] as unknown[][];
    const text = [JSON.stringify(q.columns), ...rows.map((x) => JSON.stringify(x))].map((l) => `${l}\n`).join('');
    assert.equal(q.sha256, createHash('sha256').update(text).digest('hex'));
    const h = await call('GET', `${project}/queries?limit=5`, 'member');
    assert.equal((h.body['queries'] as Query[])[0]?.id, q.id);
    assert.equal((await call('GET', `${project}/queries/${q.id}`, 'member')).body.status, 'succeeded');
    assert.equal((await call('GET', `${project}/queries/${q.id}`, 'applicant')).status, 404);
    assert.equal((await call('GET', `${project}/queries/${q.id}/rows?limit=1001`, 'member')).status, 400);
  });

  test('each JSON answer validates against the schema the OpenAPI document gives its route (the portal\'s types are generated from it)', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'enclave', components: { schemas: API_SCHEMAS } });
    const paths = workspaceOpenApiPaths(w.ws) as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
    const answers = async (method: string, docPath: string, path: string, body?: unknown): Promise<Record<string, unknown> & Query> => {
      const r = await call(method, path, 'member', body);
      const schema = paths[docPath]?.[method.toLowerCase()]?.responses[String(r.status)]?.content?.['application/json']?.schema;
      assert.ok(schema !== undefined, `${method} ${docPath} documents no body for status ${r.status}: ${JSON.stringify(r.body)}`);
      const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"enclave#/components/schemas/')) as object);
      assert.ok(validate(r.body), `${method} ${docPath}: ${ajv.errorsText(validate.errors)}`);
      return r.body;
    };
    const q = await answers('POST', '/projects/{id}/queries', `${project}/queries`, { sql: 'SELECT drug, count(*) AS n FROM events GROUP BY drug ORDER BY drug' });
    await answers('GET', '/projects/{id}/queries/{qid}', `${project}/queries/${q.id}`);
    await answers('GET', '/projects/{id}/queries/{qid}/rows', `${project}/queries/${q.id}/rows?limit=3`);
    await answers('GET', '/projects/{id}/queries', `${project}/queries?limit=3`);
    await answers('GET', '/projects/{id}/workspace', `${project}/workspace`);
    await answers('GET', '/projects/{id}/extract', `${project}/extract`);
    await answers('GET', '/projects/{id}/tables', `${project}/tables`);
    await answers('POST', '/projects/{id}/saved-queries', `${project}/saved-queries`, { name: 'schema check', sql: 'SELECT 1' });
    await answers('GET', '/projects/{id}/saved-queries', `${project}/saved-queries`);
  });

  test('a long statement answers 202 running; cancel answers it cancelled', async () => {
    const r = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) FROM events a, events b, events c', waitMs: 200 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.status, 'running');
    assert.equal(r.body.finishedAt, null);
    const c = await call('POST', `${project}/queries/${r.body.id}/cancel`, 'member', {});
    assert.equal(c.status, 200);
    assert.equal(c.body.status, 'cancelled');
    assert.equal((c.body.error as { reason?: string } | null)?.reason, 'cancelled');
    // Cancelling a finished query answers it as it is.
    assert.equal((await call('POST', `${project}/queries/${r.body.id}/cancel`, 'member', {})).body.status, 'cancelled');
  });

  test('bad input is a 400 naming the field; people outside the permit get 403 with the reason', async () => {
    const bad = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT 1', saveAs: { name: 'x', kind: 'index' } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['detail']), /saveAs\.kind/);
    const out = await call('POST', `${project}/queries`, 'outsider', { sql: 'SELECT 1' });
    assert.equal(out.status, 403);
    assert.match(String(out.body['detail']), /not named/);
    // Reviewers read the metadata, never rows.
    const meta = await call('GET', `${project}/workspace`, 'committee1');
    assert.equal(meta.status, 200);
    assert.equal(meta.body['status'], 'ready');
    assert.equal((await call('GET', `${project}/extract`, 'committee1')).status, 200);
    assert.equal((await call('POST', `${project}/queries`, 'committee1', { sql: 'SELECT 1' })).status, 403);
  });

  test('an API token of the project runs queries; the same person\'s token of another project is refused here', async () => {
    const mine = await w.f.identity.createApiToken(w.f.who.member, project, { label: 'cli' });
    const elsewhere = await w.f.identity.createApiToken(w.f.who.member, other, { label: 'other' });
    const r = await call('POST', `${project}/queries`, { token: mine.token }, { sql: 'SELECT 1 AS one' });
    assert.equal(r.status, 201);
    assert.equal(r.body.status, 'succeeded');
    const x = await call('POST', `${project}/queries`, { token: elsewhere.token }, { sql: 'SELECT 1 AS one' });
    assert.equal(x.status, 403);
    assert.match(String(x.body['detail']), /scoped to another project/);
  });

  test('saved queries and scratch tables through the API', async () => {
    const s = await call('POST', `${project}/saved-queries`, 'member', { name: 'by drug', sql: 'SELECT drug, count(*) FROM events GROUP BY drug' });
    assert.equal(s.status, 201);
    const list = await call('GET', `${project}/saved-queries`, 'applicant');
    assert.ok((list.body['savedQueries'] as Array<{ id: string }>).some((x) => x.id === s.body.id));
    assert.equal((await call('DELETE', `${project}/saved-queries/${s.body.id}`, 'applicant')).status, 403);
    assert.equal((await call('DELETE', `${project}/saved-queries/${s.body.id}`, 'member')).status, 204);
    const saved = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT drug FROM events', saveAs: { name: 'drugs', kind: 'view' } });
    assert.equal(saved.status, 201);
    assert.deepEqual(saved.body.saved, { name: 'drugs', kind: 'view' });
    const t = await call('GET', `${project}/tables`, 'applicant');
    assert.deepEqual((t.body['tables'] as Array<{ name: string; kind: string }>).map((x) => [x.name, x.kind]), [['drugs', 'view']]);
    const ws = await call('GET', `${project}/workspace`, 'member');
    assert.ok((ws.body['tables'] as Array<{ schema: string; name: string }>).some((x) => x.schema === 'scratch' && x.name === 'drugs'));
    assert.equal((await call('DELETE', `${project}/tables/drugs`, 'member')).status, 204);
    assert.equal((await call('DELETE', `${project}/tables/drugs`, 'member')).status, 404);
  });

  test('SECURITY-TESTS #11 through POST /queries: every hostile statement is refused with a clear error, audited, and leaks nothing', async () => {
    const corpus = hostileStatements(targets);
    assert.ok(corpus.length >= 60);
    let refused = 0;
    let reads = 0;
    let leaks = 0;
    const ids: string[] = [];
    const reasons = new Map<string, number>();
    for (const sql of corpus) {
      const r = await call('POST', `${project}/queries`, 'member', { sql });
      assert.equal(r.status, 201, `${sql}: ${r.status} ${JSON.stringify(r.body)}`);
      const q = r.body;
      if (q.status === 'succeeded') {
        reads++;
        continue;
      }
      assert.ok(q.status === 'refused' || (q.status === 'failed' && q.error?.code === 'invalid'), `${sql}: ${q.status} ${JSON.stringify(q.error)}`);
      assert.ok((q.error?.message.length ?? 0) > 10 && (q.error?.hint ?? '') !== '', `${sql}: unclear error ${JSON.stringify(q.error)}`);
      if (targets.leaks(`${q.error?.message ?? ''} ${q.error?.hint ?? ''}`, sql)) leaks++;
      refused++;
      ids.push(q.id);
      const reason = q.error?.reason ?? q.error?.code ?? '?';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    assert.equal(reads, 0);
    assert.equal(leaks, 0);
    const audited = new Map<string, string>();
    for await (const l of w.f.audit.lines()) if (l.event?.action === 'workspace.query' && typeof l.event.details['query'] === 'string') audited.set(l.event.details['query'], l.event.outcome);
    const unaudited = ids.filter((id) => audited.get(id) === undefined || audited.get(id) === 'success');
    assert.deepEqual(unaudited, []);
    // The workspace still answers.
    assert.equal((await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) FROM persons' })).body.status, 'succeeded');
    process.stdout.write(`SECURITY-TESTS #11 (query API): ${corpus.length} hostile statements through POST /queries, ${refused} refused with a clear error and audited, 0 reads outside the extract, 0 leaks through error messages (by rule: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')})\n`);
  });

  test('a killed engine process is replaced while the server keeps serving the other projects', async () => {
    const before = await call('POST', `${project}/queries`, 'member', { sql: `SELECT range AS i FROM range(500)` });
    assert.equal(before.body.status, 'succeeded');
    const pid = await w.ws.engineProcessId(project);
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    // The other project's workspace answers throughout.
    const neighbour = await call('POST', `${other}/queries`, 'applicant', { sql: 'SELECT count(*) AS n FROM events' });
    assert.equal(neighbour.body.status, 'succeeded', JSON.stringify(neighbour.body.error));
    // Rows past the first page were in the killed process: gone, with a hint.
    const gone = await call('GET', `${project}/queries/${before.body.id}/rows?offset=200&limit=10`, 'member');
    assert.equal(gone.status, 410, JSON.stringify(gone.body));
    assert.match(String(gone.body['hint']), /run the (query|statement) again/);
    const next = await call('POST', `${project}/queries`, 'member', { sql: 'SELECT count(*) AS n FROM persons' });
    assert.equal(next.status, 201);
    assert.equal(next.body.status, 'succeeded', JSON.stringify(next.body.error));
    const replaced = await w.ws.engineProcessId(project);
    assert.ok(replaced !== undefined && replaced !== pid);
    process.stdout.write(`killed engine process ${pid} (SIGKILL): the other project answered meanwhile, the next statement ran in a new process ${replaced}\n`);
  });

  test('a suspended project answers 403 saying so, and reinstating it opens the workspace again', async () => {
    await w.f.gov.take(w.f.who.committee1, other, 'suspend');
    await w.ws.settled();
    const r = await call('POST', `${other}/queries`, 'applicant', { sql: 'SELECT 1' });
    assert.equal(r.status, 403);
    assert.match(String(r.body['detail']), /suspended/);
    assert.equal((await call('GET', `${other}/queries`, 'applicant')).status, 403);
    await w.f.gov.take(w.f.who.committee1, other, 'reinstate');
    const again = await call('POST', `${other}/queries`, 'applicant', { sql: 'SELECT 1 AS one' });
    assert.equal(again.body.status, 'succeeded', JSON.stringify(again.body));
  });
});
