/**
 * The airlock through the HTTP API, as browsers call it (session cookies and CSRF tokens): a
 * member's request released by two checkers and downloaded, and every self-approval path tried
 * and refused (SECURITY-TESTS #10, airlock part).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BY_DEPT, openAirlockFixture, type AirlockFixture } from '../../../test/helpers/airlock.ts';
import { verifyBundle, type RequestDetail } from '../../airlock/index.ts';
import { createHttpApp } from '../app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../auth.ts';
import { airlockRoutes } from './airlock.ts';

describe('airlock routes', () => {
  let a: AirlockFixture;
  let app: ReturnType<typeof createHttpApp>;
  let project: string;
  const cookieName = sessionCookieName(false);
  const sessions = new Map<string, { cookie: string; csrf: string }>();

  before(async () => {
    a = await openAirlockFixture();
    const f = a.w.f;
    project = await a.w.activeProject();
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async (who, route, code, requestId) => {
        await f.audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
      },
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'airlock', app: airlockRoutes(a.airlock, auth) }] });
    // The requester and the principal investigator also hold the checker role: the attempts below
    // are theirs to make and the service's to refuse.
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, f.who.member.personId, ['output_checker']);
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, f.who.applicant.personId, ['output_checker']);
    for (const subject of ['member', 'applicant', 'checker', 'checker-2', 'outsider', 'admin']) {
      const s = await f.identity.login({ issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      sessions.set(subject, { cookie: s.cookieValue, csrf: s.csrfToken });
    }
  });
  after(async () => {
    await a.close();
  });

  const call = async (who: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const s = who === null ? undefined : sessions.get(who);
    const h: Record<string, string> = { 'content-type': 'application/json', ...headers };
    if (s !== undefined) {
      h['cookie'] = `${cookieName}=${s.cookie}`;
      h[CSRF_HEADER] = s.csrf;
    }
    const res = await app.request(`/api/v1/airlock${path}`, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const buf = Buffer.from(await res.arrayBuffer());
    let json: unknown = null;
    try {
      json = JSON.parse(buf.toString('utf8'));
    } catch {
      // a CSV
    }
    return { status: res.status, json, text: buf.toString('utf8'), headers: res.headers };
  };

  test('a member requests, two checkers approve, the member downloads the signed bundle that verifies', async () => {
    await a.saveTable(project, 'http_dept', BY_DEPT);
    const created = await call('member', 'POST', '/requests', { projectId: project, title: 'Persons by department', description: 'counts', population: 'every person' });
    assert.equal(created.status, 201, created.text);
    const id = (created.json as RequestDetail).request.id;
    assert.equal((await call('member', 'POST', `/requests/${id}/outputs`, { table: 'http_dept', description: 'persons by department', variables: { n: 'distinct persons' } })).status, 201);
    const sub = await call('member', 'POST', `/requests/${id}/submit`);
    assert.equal(sub.status, 200, sub.text);
    const queue = await call('checker', 'GET', '/requests?status=submitted');
    assert.ok((queue.json as { requests: { id: string }[] }).requests.some((r) => r.id === id));
    const vote = { votes: [{ output: 'http_dept', decision: 'approve', reasons: ['rules_clean'] }] };
    assert.equal((await call('checker', 'POST', `/requests/${id}/reviews`, vote)).status, 200);
    const second = await call('checker-2', 'POST', `/requests/${id}/reviews`, vote);
    assert.equal(second.status, 200, second.text);
    assert.equal((second.json as RequestDetail).request.status, 'released');
    const bundle = await call('member', 'GET', `/requests/${id}/bundle`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-disposition') ?? '', /attachment; filename="release-.*\.airlock\.json"/);
    const key = (await call(null, 'GET', '/signing-key')).json as { publicKey: string };
    const v = verifyBundle(bundle.text, key.publicKey);
    assert.ok(v.ok, JSON.stringify(v.checks));
    assert.equal(bundle.headers.get('x-content-sha256'), (second.json as RequestDetail).release?.bundleSha256);
    const csv = await call('member', 'GET', `/requests/${id}/outputs/http_dept/file`);
    assert.equal(csv.status, 200);
    assert.equal(csv.text, 'dept,n\n13,250\n33,250\n69,250\n75,250\n');
    assert.equal((await call('outsider', 'GET', `/requests/${id}/bundle`)).status, 403);
    assert.equal((await call('checker', 'GET', `/requests/${id}/bundle`)).status, 403);
    assert.equal((await call(null, 'GET', `/requests/${id}/bundle`)).status, 401);
  });

  test('separation of duties: every self-approval attempt through the API is refused', async () => {
    const attempts: { what: string; accepted: boolean }[] = [];
    const refused = async (what: string, r: Promise<{ status: number }>, status: number) => {
      const got = (await r).status;
      attempts.push({ what, accepted: got < 300 });
      assert.equal(got, status, what);
    };
    const d = await a.requestAt(project, 'submitted', { sod_http: BY_DEPT });
    const id = d.request.id;
    const vote = { votes: [{ output: 'sod_http', decision: 'approve', reasons: ['rules_clean'] }] };
    await refused('the requester (holding the checker role) approves their own request', call('member', 'POST', `/requests/${id}/reviews`, vote), 403);
    await refused('the principal investigator (holding the checker role) approves the team\'s request', call('applicant', 'POST', `/requests/${id}/reviews`, vote), 403);
    await refused('an admin without the checker role approves', call('admin', 'POST', `/requests/${id}/reviews`, vote), 403);
    await refused('a member approves without a CSRF token', call('member', 'POST', `/requests/${id}/reviews`, vote, { [CSRF_HEADER]: 'x' }), 403);
    assert.equal((await call('checker', 'POST', `/requests/${id}/reviews`, vote)).status, 200);
    await refused('the first checker votes a second time', call('checker', 'POST', `/requests/${id}/reviews`, vote), 409);
    await refused('the member downloads after a single checker\'s approval', call('member', 'GET', `/requests/${id}/bundle`), 409);
    await refused('the member downloads one output after a single approval', call('member', 'GET', `/requests/${id}/outputs/sod_http/file`), 409);
    // a member's API token: the review route takes browser sessions only
    const token = await a.w.f.identity.createApiToken(a.w.f.who.member, project, { days: 1 });
    await refused('the requester approves with an API token', call(null, 'POST', `/requests/${id}/reviews`, vote, { authorization: `Bearer ${token.token}` }), 403);
    // Checkers who are not independent: one who granted the role of the checker who already
    // voted, and one who changed the checkers (granted the role to someone) during the review.
    const f = a.w.f;
    const login = async (subject: string, roles: readonly ('admin' | 'output_checker')[]) => {
      const s = await f.identity.login({ issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      await f.identity.seedRoles({ kind: 'service', id: 'test' }, s.personId, roles);
      sessions.set(subject, { cookie: s.cookieValue, csrf: s.csrfToken });
      return f.identity.principalOf(s.personId, 'session');
    };
    const granterOfFirst = await login('granter-of-first', ['admin']);
    // the first checker's role, seeded by the fixture, is granted again through two admins: removed, then granted by this admin
    const removal = await f.identity.revokeRole(granterOfFirst, a.checker1.personId, 'output_checker');
    await f.identity.decideRoleChange(f.who.admin, removal.id, 'approve');
    const grant = await f.identity.grantRole(granterOfFirst, a.checker1.personId, 'output_checker');
    await f.identity.decideRoleChange(f.who.admin, grant.id, 'approve');
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, granterOfFirst.personId, ['output_checker']);
    await refused('a checker who granted the first checker\'s role casts the second vote', call('granter-of-first', 'POST', `/requests/${id}/reviews`, vote), 403);
    const changer = await login('changer', ['admin', 'output_checker']);
    const newcomer = await login('newcomer', []);
    const proposal = await f.identity.grantRole(changer, newcomer.personId, 'output_checker');
    await f.identity.decideRoleChange(f.who.admin, proposal.id, 'approve');
    await refused('a checker who changed who the checkers are during the review casts the second vote', call('changer', 'POST', `/requests/${id}/reviews`, vote), 403);
    const state = (await call('member', 'GET', `/requests/${id}`)).json as RequestDetail;
    assert.equal(state.request.status, 'in_review');
    assert.equal(state.votes.filter((v) => v.active).length, 1);
    assert.equal(state.release, null);
    const accepted = attempts.filter((x) => x.accepted).length;
    process.stdout.write(`airlock separation of duties: ${attempts.length} self-approval attempts, ${accepted} accepted\n`);
    assert.equal(accepted, 0);
  });

  test('bad review bodies get a 400 naming the field', async () => {
    const d = await a.requestAt(project, 'submitted', { bad_http: BY_DEPT });
    const r1 = await call('checker', 'POST', `/requests/${d.request.id}/reviews`, { votes: [{ output: 'bad_http', decision: 'maybe', reasons: [] }] });
    assert.equal(r1.status, 400);
    assert.equal((r1.json as { details: { field: string } }).details.field, 'votes[0].decision');
    const r2 = await call('checker', 'POST', `/requests/${d.request.id}/reviews`, { votes: [{ output: 'bad_http', decision: 'reject', reasons: ['identifiers'] }] });
    assert.equal(r2.status, 400);
    assert.equal((r2.json as { details: { field: string } }).details.field, 'votes[0].comment');
    const r3 = await call('member', 'POST', '/requests', { projectId: project, title: 'x', description: 'y', population: 'z', extra: 1 });
    assert.equal(r3.status, 400);
    assert.equal((r3.json as { details: { field: string } }).details.field, 'extra');
  });
});
