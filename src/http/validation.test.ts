/**
 * Malformed strings into every route of the app's route table (SECURITY-TESTS #25, second
 * half): NUL and lone surrogates in every path parameter, in the query and in JSON bodies (top
 * level, nested, in arrays, as keys), as an anonymous caller and as a logged-in person, on a real
 * server. Each must be a 400 that names the field, none a 5xx, and none may change anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeOf, formAction, HttpClient } from '../../test/helpers/browser.ts';
import { startTestServer, type TestServer } from '../../test/helpers/server.ts';
import { createApp } from '../main.ts';
import { HSTS } from './app.ts';
import { CSRF_HEADER, SECURITY } from './auth.ts';

interface Route { readonly method: string; readonly path: string }

/** Every route the app serves, from its own route table (middleware entries left out). */
function routeTable(s: TestServer): Route[] {
  const seen = new Map<string, Route>();
  for (const r of createApp(s.platform, { baseUrl: s.url }).routes) {
    if (r.method === 'ALL') continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  }
  return [...seen.values()];
}

/** Strings no text field may hold, as JSON sends them, and as a URL sends them. */
const BAD_JSON = ['a\u0000b', '\ud800', 'x\udc00y'];
const BAD_URL = ['a%00b', '%ED%A0%80', 'x%ED%B0%80y'];
/** Field names the routes read, and others: the layer checks every string whatever its name. */
const FIELDS = ['title', 'role', 'projectId', 'label', 'comment', 'decision', 'anyField'];

interface Probe { readonly method: string; readonly url: string; readonly body?: string; readonly field: string; readonly location: 'path' | 'query' | 'body' }

function probesOf(r: Route, queryNames: readonly string[]): Probe[] {
  const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] ?? '');
  const fill = (bad: Record<string, string>): string => r.path.replace(/:([A-Za-z]+)/g, (_, n: string) => bad[n] ?? 'x1');
  const out: Probe[] = [];
  for (const p of params) for (const bad of BAD_URL) out.push({ method: r.method, url: fill({ [p]: bad }), field: p, location: 'path' });
  for (const q of queryNames) for (const bad of BAD_URL) out.push({ method: r.method, url: `${fill({})}?${q}=${bad}`, field: q, location: 'query' });
  if (r.method !== 'GET') {
    for (const f of FIELDS) {
      for (const bad of BAD_JSON) {
        out.push({ method: r.method, url: fill({}), body: JSON.stringify({ [f]: bad }), field: f, location: 'body' });
      }
    }
    // nested and in arrays: the walk is the same for every name, one name is enough
    for (const bad of BAD_JSON) {
      out.push({ method: r.method, url: fill({}), body: JSON.stringify({ application: { title: 'ok', purpose: bad } }), field: 'application.purpose', location: 'body' });
      out.push({ method: r.method, url: fill({}), body: JSON.stringify({ columns: ['fine', bad] }), field: 'columns[1]', location: 'body' });
    }
    out.push({ method: r.method, url: fill({}), body: JSON.stringify({ ['k\u0000']: 'v' }), field: '(a key)', location: 'body' });
  }
  return out;
}

/** Logs a demo person in through the embedded provider; returns the session cookie header and CSRF token. */
async function login(s: TestServer, username: string): Promise<{ cookie: string; csrf: string }> {
  const d = s.demo.get(username);
  assert.ok(d !== undefined);
  const client = new HttpClient();
  const start = await client.follow(`${s.url}/api/v1/auth/login?returnTo=/`);
  const html = await start.res.text();
  const otp = await client.request(formAction(html, 'login-form', start.url), { form: { username, password: d.password } });
  await client.follow(formAction(await otp.text(), 'otp-form', start.url), { form: { code: codeOf(d.totpSecret) } });
  const cookie = client.cookie(s.url, 'enclave_session');
  assert.ok(cookie !== undefined, 'logged in');
  const me = await client.request(`${s.url}/api/v1/identity/me`);
  const body = await me.json() as { csrfToken: string };
  return { cookie: `enclave_session=${cookie}`, csrf: body.csrfToken };
}

const count = async (s: TestServer, table: string): Promise<number> =>
  Number((await s.platform.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n ?? -1);

describe('the whole app, from its route table: malformed strings, the OpenAPI document, HSTS', () => {
  let s: TestServer;
  let routes: Route[];
  let session: { cookie: string; csrf: string };
  before(async () => {
    s = await startTestServer();
    routes = routeTable(s);
    session = await login(s, 'applicant');
  });
  after(async () => {
    await s.close();
  });

  test('the route table is the whole API (identity, auth, governance, catalog, audit, operator)', () => {
    for (const prefix of ['/api/v1/identity/', '/api/v1/auth/', '/api/v1/governance/', '/api/v1/catalog/', '/api/v1/audit/', '/api/v1/operator/']) {
      assert.ok(routes.some((r) => r.path.startsWith(prefix)), prefix);
    }
  });

  test('NUL and lone surrogates in params, query and bodies: 0 HTTP 5xx, each 400 names the field, nothing written', async (t) => {
    const doc = await (await fetch(`${s.url}/api/v1/openapi.json`)).json() as { paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> };
    const auditBefore = await count(s, 'audit_events');
    const projectsBefore = await count(s, 'gov_projects').catch(() => -1);
    const failures: string[] = [];
    const jobs: Array<{ probe: Probe; who: 'anonymous' | 'applicant' }> = [];
    for (const r of routes) {
      const docPath = r.path.replace(/^\/api\/v1/, '').replace(/:([A-Za-z]+)/g, '{$1}');
      const documented = (doc.paths[docPath]?.[r.method.toLowerCase()]?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const queryNames = [...new Set([...documented, 'q', 'probe'])];
      for (const probe of probesOf(r, queryNames)) for (const who of ['anonymous', 'applicant'] as const) jobs.push({ probe, who });
    }
    const one = async ({ probe, who }: (typeof jobs)[number]): Promise<void> => {
      const headers: Record<string, string> = probe.body === undefined ? {} : { 'content-type': 'application/json' };
      if (who === 'applicant') Object.assign(headers, { cookie: session.cookie, [CSRF_HEADER]: session.csrf });
      const res = await fetch(`${s.url}${probe.url}`, { method: probe.method, headers, redirect: 'manual', ...(probe.body === undefined ? {} : { body: probe.body }) });
      const text = await res.text();
      const where = `${who} ${probe.method} ${probe.url} ${probe.body ?? ''}`;
      if (res.status !== 400) {
        failures.push(`${where}: ${res.status} ${text.slice(0, 200)}`);
        return;
      }
      const p = JSON.parse(text) as { code: string; detail: string; details?: { field?: string; location?: string } };
      if (p.code !== 'invalid' || p.details?.field !== probe.field || p.details.location !== probe.location || !p.detail.includes(probe.field)) {
        failures.push(`${where}: ${text.slice(0, 200)}`);
      }
    };
    // a few at a time: the layer answers before any database work, so the server keeps up
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < jobs.length) await one(jobs[next++] as (typeof jobs)[number]);
    }));
    const n = jobs.length;
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${n} probes`);
    assert.equal(await count(s, 'audit_events'), auditBefore, 'the audit log did not grow');
    assert.equal(await count(s, 'gov_projects').catch(() => -1), projectsBefore);
    t.diagnostic(`${routes.length} routes, ${n} malformed strings sent as anonymous and as a logged-in person: 0 HTTP 5xx, each 400 names the field, audit log unchanged`);
  });

  test('well-formed text (accents, emoji as a surrogate pair, CJK) passes the layer and reaches the service, whose own message comes back whole', async () => {
    const res = await fetch(`${s.url}/api/v1/governance/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, [CSRF_HEADER]: session.csrf },
      body: JSON.stringify({ title: 'Étude 🧬 des soins 医疗 — année 2024' }),
    });
    assert.equal(res.status, 400);
    const p = await res.json() as { detail: string; hint: string; details: { problems: string[] } };
    // the application's validation, not the string layer and not a bare "malformed request"
    assert.match(p.detail, /the application is incomplete or malformed/);
    assert.ok(p.details.problems.some((x) => x.startsWith('/purpose')));
    assert.ok(!p.details.problems.some((x) => x.startsWith('/title')));
    assert.match(p.hint, /Application schema/);
    const q = await fetch(`${s.url}/api/v1/catalog/search?q=${encodeURIComponent('soins 🧬')}`);
    assert.equal(q.status, 200);
  });

  test('the identity provider\'s login form refuses NUL in the person id with a 400 naming it, and counts no failure', async () => {
    const client = new HttpClient();
    const start = await client.follow(`${s.url}/api/v1/auth/login?returnTo=/`);
    const action = formAction(await start.res.text(), 'login-form', start.url);
    const auditBefore = await count(s, 'audit_events');
    for (const username of ['admin\u0000', 'adm\u0000in']) {
      const res = await client.request(action, { form: { username, password: 'x' } });
      assert.equal(res.status, 400);
      const p = await res.json() as { details: { field: string; location: string } };
      assert.deepEqual([p.details.field, p.details.location], ['username', 'body']);
    }
    const q = await fetch(`${s.url}/idp/auth?client_id=%00`);
    assert.equal(q.status, 400);
    assert.equal(((await q.json()) as { details: { field: string } }).details.field, 'client_id');
    assert.equal(await count(s, 'audit_events'), auditBefore);
  });

  test('the OpenAPI document has every route of the route table, identity and auth included, each with its security', async () => {
    type Op = { security?: Array<Record<string, unknown[]>>; 'x-api-token'?: boolean };
    const doc = await (await fetch(`${s.url}/api/v1/openapi.json`)).json() as {
      security: unknown[]; paths: Record<string, Record<string, Op>>;
      components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
    };
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(schemes[SECURITY.session], { ...schemes[SECURITY.session], type: 'apiKey', in: 'cookie', name: 'enclave_session' });
    assert.deepEqual(schemes[SECURITY.bearer], { ...schemes[SECURITY.bearer], type: 'http', scheme: 'bearer' });
    assert.deepEqual(schemes[SECURITY.csrf], { ...schemes[SECURITY.csrf], type: 'apiKey', in: 'header', name: CSRF_HEADER });
    assert.ok(doc.security.length > 0, 'a login is the default');
    const missing: string[] = [];
    for (const r of routes) {
      const docPath = (r.path.startsWith('/api/v1/') ? r.path.slice('/api/v1'.length).replace(/:([A-Za-z]+)/g, '{$1}') : r.path).replace(/\/\*$/, '/{path}');
      const op = doc.paths[docPath]?.[r.method.toLowerCase()];
      if (op === undefined) {
        missing.push(`${r.method} ${r.path}`);
        continue;
      }
      assert.ok(Array.isArray(op.security), `${r.method} ${r.path} declares its security`);
      for (const req of op.security) for (const name of Object.keys(req)) assert.ok(name in schemes, `${r.method} ${r.path}: scheme ${name} is declared`);
    }
    assert.deepEqual(missing, [], 'routes missing from the OpenAPI document');
    const tokenRoute = doc.paths['/identity/me']?.['get'];
    assert.deepEqual(tokenRoute?.security, [{ [SECURITY.session]: [] }, { [SECURITY.bearer]: [] }]);
    assert.deepEqual(doc.paths['/identity/people/{personId}/roles']?.['post']?.security, [{ [SECURITY.session]: [], [SECURITY.csrf]: [] }]);
    assert.deepEqual(doc.paths['/auth/login']?.['get']?.security, []);
    assert.deepEqual(doc.paths['/catalog/datasets']?.['get']?.security, []);
  });

  test('HSTS: absent when the public URL is http, present on every answer when it is https', async () => {
    assert.equal((await fetch(`${s.url}/healthz`)).headers.get('strict-transport-security'), null);
    const httpsApp = createApp({ ...s.platform, config: { ...s.platform.config, publicUrl: 'https://enclave.example.org' } });
    for (const path of ['/healthz', '/api/v1/catalog/datasets', '/api/v1/governance/projects', '/nowhere']) {
      assert.equal((await httpsApp.request(`https://enclave.example.org${path}`)).headers.get('strict-transport-security'), HSTS, path);
    }
  });
});
