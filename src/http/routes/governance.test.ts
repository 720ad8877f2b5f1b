/**
 * Route × role truth table: every governance, identity and auth route, called by an anonymous
 * caller and by one person of each role, must be refused or let through by its declared
 * permission exactly as this table says. The table is written out by hand on purpose: it is the
 * specification the route declarations are checked against.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture, type PersonKey } from '../../../test/helpers/governance.ts';
import { AppError } from '../../errors.ts';
import type { Principal, Role } from '../../identity/index.ts';
import { createHttpApp } from '../app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../auth.ts';
import { governanceRoutes, governanceRouteSpecs } from './governance.ts';
import { authRoutes, authRouteSpecs, identityRoutes, identityRouteSpecs, type IdentityRouteDeps, type LoginFlows } from './identity.ts';
import { workspaceRoutes, workspaceRouteSpecs } from './workspace.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkspaceEngine } from '../../engine/index.ts';
import { openDuckDbSandbox } from '../../engine/duckdb-sandbox/sandbox.ts';
import { WorkspaceService } from '../../workspace/index.ts';
import { AirlockService } from '../../airlock/index.ts';
import { generateReleaseSigningKey } from '../../keys/index.ts';
import { airlockGovernanceFrom } from '../../main.ts';
import { LocalStore } from '../../store/local.ts';
import { airlockRoutes, airlockRouteSpecs } from './airlock.ts';

type Caller = 'anonymous' | PersonKey;
const CALLERS: readonly Caller[] = ['anonymous', 'outsider', 'applicant', 'ethics', 'legal', 'committee1', 'checker', 'operator', 'auditor', 'admin'];
const ANY = 'any authenticated';
const PUB = 'public';
type Expect = typeof ANY | typeof PUB | readonly PersonKey[];

const TRUTH: Record<string, Expect> = {
  'GET /governance/register': PUB,
  'GET /governance/permit-schema': PUB,
  'GET /governance/projects': ANY,
  'POST /governance/projects': ['applicant'],
  'GET /governance/projects/:id': ANY,
  'PUT /governance/projects/:id/application': ANY,
  'GET /governance/projects/:id/applications': ANY,
  'GET /governance/projects/:id/applications/:version': ANY,
  'GET /governance/projects/:id/diff': ANY,
  'POST /governance/projects/:id/members': ANY,
  'DELETE /governance/projects/:id/members/:personId': ANY,
  'POST /governance/projects/:id/submit': ANY,
  'POST /governance/projects/:id/withdraw': ANY,
  'POST /governance/projects/:id/completeness': ['committee1'],
  'POST /governance/projects/:id/ethics-opinion': ['ethics'],
  'POST /governance/projects/:id/legal-review': ['legal'],
  'POST /governance/projects/:id/committee-decision': ['committee1'],
  'POST /governance/projects/:id/suspend': ['committee1'],
  'POST /governance/projects/:id/reinstate': ['committee1'],
  'POST /governance/projects/:id/revoke': ['committee1'],
  'POST /governance/projects/:id/expire': ['committee1'],
  'POST /governance/projects/:id/close': ANY,
  'GET /governance/projects/:id/permit-template': ['committee1'],
  'PUT /governance/projects/:id/permit': ['committee1'],
  'GET /governance/projects/:id/permits': ANY,
  'GET /governance/projects/:id/access': ANY,
  'GET /governance/projects/:id/amendment': ANY,
  'POST /governance/projects/:id/amendment': ANY,
  'PUT /governance/projects/:id/amendment/application': ANY,
  'POST /governance/projects/:id/amendment/submit': ANY,
  'POST /governance/projects/:id/amendment/withdraw': ANY,
  'POST /governance/projects/:id/amendment/completeness': ['committee1'],
  'POST /governance/projects/:id/amendment/ethics-opinion': ['ethics'],
  'POST /governance/projects/:id/amendment/legal-review': ['legal'],
  'POST /governance/projects/:id/amendment/committee-decision': ['committee1'],
  'GET /governance/projects/:id/amendment/permit-template': ['committee1'],
  'PUT /governance/projects/:id/amendment/permit': ['committee1'],
  'GET /governance/notifications': ANY,
  'POST /governance/notifications/:nid/read': ANY,
  'GET /governance/projects/:id/trail': ANY,
  'GET /governance/notifications/unread-count': ANY,
  'POST /governance/notifications/read-all': ANY,
  'GET /governance/notifications/settings': ANY,
  'PUT /governance/notifications/settings': ANY,
  'GET /governance/drafts': ['applicant'],
  'POST /governance/drafts': ['applicant'],
  'GET /governance/drafts/:did': ['applicant'],
  'PUT /governance/drafts/:did': ['applicant'],
  'DELETE /governance/drafts/:did': ['applicant'],
  'GET /identity/me': ANY,
  'GET /identity/directory': ANY,
  'GET /identity/people': ['committee1', 'auditor', 'admin'],
  'POST /identity/people/:personId/roles': ['admin'],
  'DELETE /identity/people/:personId/roles/:role': ['admin'],
  'GET /identity/role-changes': ['auditor', 'admin'],
  'POST /identity/role-changes/:changeId/approve': ['admin'],
  'POST /identity/role-changes/:changeId/reject': ['admin'],
  'GET /identity/demo-logins': ['auditor', 'admin'],
  'POST /identity/demo-logins': ['admin'],
  'POST /identity/demo-logins/:changeId/approve': ['admin'],
  'POST /identity/demo-logins/:changeId/reject': ['admin'],
  'GET /identity/me/tokens': ANY,
  'POST /identity/me/tokens': ANY,
  'DELETE /identity/me/tokens/:tokenId': ANY,
  'GET /projects/:id/workspace': ANY,
  'GET /projects/:id/extract': ANY,
  'POST /projects/:id/queries': ANY,
  'GET /projects/:id/queries': ANY,
  'GET /projects/:id/queries/:qid': ANY,
  'GET /projects/:id/queries/:qid/rows': ANY,
  'POST /projects/:id/queries/:qid/cancel': ANY,
  'GET /projects/:id/saved-queries': ANY,
  'POST /projects/:id/saved-queries': ANY,
  'DELETE /projects/:id/saved-queries/:sid': ANY,
  'GET /projects/:id/tables': ANY,
  'DELETE /projects/:id/tables/:name': ANY,
  'GET /airlock/signing-key': PUB,
  'GET /airlock/requests': ANY,
  'POST /airlock/requests': ANY,
  'GET /airlock/requests/:rid': ANY,
  'PUT /airlock/requests/:rid': ANY,
  'GET /airlock/requests/:rid/versions': ANY,
  'POST /airlock/requests/:rid/outputs': ANY,
  'PUT /airlock/requests/:rid/outputs/:oid': ANY,
  'DELETE /airlock/requests/:rid/outputs/:oid': ANY,
  'POST /airlock/requests/:rid/submit': ANY,
  'POST /airlock/requests/:rid/withdraw': ANY,
  'POST /airlock/requests/:rid/reviews': ['checker'],
  'GET /airlock/requests/:rid/bundle': ANY,
  'GET /airlock/requests/:rid/outputs/:oid/file': ANY,
  'GET /auth/login': PUB,
  'GET /auth/callback': PUB,
  'POST /auth/logout': ANY,
};

/** Login flows that never leave the machine: the real OpenID flow is tested in identity/oidc.test.ts. */
const offlineFlows: LoginFlows = {
  start: async () => ({ flowId: 'f'.repeat(43), redirectUrl: 'http://127.0.0.1:9/authorize' }),
  finish: async () => {
    throw new AppError('unauthenticated', 'no provider in this test', { details: { reason: 'test' } });
  },
};

describe('HTTP routes: permission truth table', () => {
  let f: GovFixture;
  let app: ReturnType<typeof createHttpApp>;
  let deps: IdentityRouteDeps & { flows: LoginFlows };
  const sessions = new Map<Caller, { cookie: string; csrf: string }>();
  let projectId: string;
  let ws: WorkspaceService;
  let airlock: AirlockService;
  let wsEngine: WorkspaceEngine;
  let scratch: string;
  const cookieName = sessionCookieName(false);

  before(async () => {
    f = await openGovFixture();
    // The workspace routes' gate: the project is a draft, so the service refuses past the gate
    // and no engine process ever starts (the behaviour is in workspace.test.ts).
    scratch = await mkdtemp(join(tmpdir(), 'enclave-truth-'));
    wsEngine = openDuckDbSandbox();
    ws = new WorkspaceService({
      db: f.t.db, audit: f.audit, governance: f.gov, keys: f.keys, engine: wsEngine, scratchRoot: scratch, quotaBytes: 1 << 20,
      extracts: { current: async () => null, openForEngine: async () => { throw new AppError('not_found', 'no extract in this test'); } },
      limits: { memoryBytes: 64 << 20, threads: 1, tempDiskBytes: 0, statementTimeoutMs: 1000, rowCap: 10 },
    });
    airlock = new AirlockService({
      db: f.t.db, audit: f.audit, governance: airlockGovernanceFrom(f.identity.peopleDirectory(), f.t.db), workspace: ws, keys: f.keys,
      store: new LocalStore(join(scratch, 'store')), signer: generateReleaseSigningKey(),
    });
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async (who, route, code, requestId) => {
        await f.audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
      },
    };
    deps = { identity: f.identity, auth, secureCookies: false, flows: offlineFlows, assertCanIssueToken: (p: Principal, id: string, r: string) => f.gov.assertCanIssueToken(p, id, r) };
    app = createHttpApp({
      version: 'test', health: async () => ({}), openApiPaths: [],
      routes: [
        { prefix: 'governance', app: governanceRoutes(f.gov, auth) },
        { prefix: 'identity', app: identityRoutes(deps) },
        { prefix: 'auth', app: authRoutes(deps) },
        { prefix: 'projects', app: workspaceRoutes(ws, auth) },
        { prefix: 'airlock', app: airlockRoutes(airlock, auth) },
      ],
    });
    for (const k of CALLERS) if (k !== 'anonymous') await relogin(k);
    projectId = await f.projectAt('draft');
  });
  after(async () => {
    await ws.close();
    await wsEngine.close();
    await f.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const relogin = async (k: PersonKey): Promise<void> => {
    const s = await f.identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    sessions.set(k, { cookie: s.cookieValue, csrf: s.csrfToken });
  };

  const call = async (method: string, path: string, caller: Caller, body?: unknown) => {
    const s = sessions.get(caller);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (s !== undefined) {
      headers['cookie'] = `${cookieName}=${s.cookie}`;
      headers[CSRF_HEADER] = s.csrf;
    }
    const res = await app.request(`/api/v1${path}`, { method, headers, ...(body === undefined || method === 'GET' ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let problem: { code?: string; details?: { permission?: string } } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // not JSON (schema, redirects)
    }
    return { status: res.status, problem };
  };

  const specs = () => [
    ...governanceRouteSpecs(f.gov).map((s) => ({ ...s, key: `${s.method} /governance${s.path}` })),
    ...identityRouteSpecs(deps).map((s) => ({ ...s, key: `${s.method} /identity${s.path}` })),
    ...authRouteSpecs(deps).map((s) => ({ ...s, key: `${s.method} /auth${s.path}` })),
    ...workspaceRouteSpecs(ws).map((s) => ({ ...s, key: `${s.method} /projects${s.path}` })),
    ...airlockRouteSpecs(airlock).map((s) => ({ ...s, key: `${s.method} /airlock${s.path}` })),
  ];

  test('every route has a line in the truth table and every line a route', () => {
    assert.deepEqual(specs().map((s) => s.key).sort(), Object.keys(TRUTH).sort());
  });

  test('each route × caller is refused or let through exactly as the table says', async () => {
    let cells = 0;
    for (const s of specs()) {
      const expect = TRUTH[s.key];
      assert.ok(expect !== undefined);
      const path = s.key.slice(s.method.length + 1)
        .replace(':id', projectId).replace(':version', '1').replace(':personId', f.who.outsider.personId)
        .replace(':role', 'auditor').replace(':tokenId', '00000000-0000-0000-0000-000000000000').replace(':nid', 'none')
          .replace(':changeId', '00000000-0000-0000-0000-000000000000')
          .replace(':qid', 'none').replace(':sid', 'none').replace(':name', 'none').replace(':rid', 'none').replace(':oid', 'none').replace(':did', 'none');
      for (const caller of CALLERS) {
        // withdraw and close would end the shared project: the gate is what is tested here
        const r = await call(s.method, s.key.endsWith('/withdraw') && caller === 'applicant' ? path.replace(projectId, 'other') : path, caller, {});
        const gateRefused = (r.status === 401 || r.status === 403) && r.problem.details?.permission !== undefined;
        const allowed: boolean = expect === PUB || (expect === ANY ? caller !== 'anonymous' : caller !== 'anonymous' && expect.includes(caller));
        assert.equal(!gateRefused, allowed, `${s.key} as ${caller}: status ${r.status} ${r.problem.code ?? ''}`);
        if (!allowed) assert.equal(r.status, caller === 'anonymous' ? 401 : 403, `${s.key} as ${caller}`);
        assert.ok(r.status < 500, `${s.key} as ${caller}: ${r.status}`);
        cells++;
        if (s.key === 'POST /auth/logout' && caller !== 'anonymous') await relogin(caller);
      }
    }
    process.stdout.write(`truth table: ${cells} route × caller cells checked\n`);
  });

  /**
   * Separation of duties (SECURITY-TESTS 10), as a table beside the route × role one: each line
   * is one attempt through the HTTP API, by whom, and whether it must be accepted. Nobody changes
   * their own roles; a reviewing role needs a second admin (proposer ≠ approver ≠ the person);
   * nobody votes on a project whose reviewers they changed while it was under review.
   */
  test('separation of duties: self-approval attempts through the API are all refused', async () => {
    type Who = 'admin' | 'admin2' | 'adminCommittee' | 'committee2' | 'outsider';
    const extra = async (subject: string, r: readonly Role[]): Promise<{ id: string; cookie: string; csrf: string }> => {
      const s = await f.identity.login({ issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      await f.identity.seedRoles({ kind: 'service', id: 'test' }, s.personId, r);
      return { id: s.personId, cookie: s.cookieValue, csrf: s.csrfToken };
    };
    const people: Record<Who, { id: string; cookie: string; csrf: string }> = {
      admin: { id: f.who.admin.personId, ...sessions.get('admin')! },
      admin2: await extra('admin2', ['admin']),
      adminCommittee: await extra('admin-committee', ['admin', 'access_committee']),
      committee2: await extra('committee-2', ['access_committee']),
      outsider: await extra('newcomer', []),
    };
    const as = async (who: Who, method: string, path: string, body: unknown = {}) => {
      const p = people[who];
      const res = await app.request(`/api/v1${path}`, { method, headers: { 'content-type': 'application/json', cookie: `${cookieName}=${p.cookie}`, [CSRF_HEADER]: p.csrf }, ...(method === 'GET' ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: await res.json() as { change?: { id: string; state: string }; state?: string; code?: string; details?: Record<string, unknown> } };
    };
    const rolesOf = async (who: Who) => (await f.identity.requirePerson(people[who].id)).roles;
    const attempts: { what: string; accepted: boolean }[] = [];
    const refused = async (what: string, r: Promise<{ status: number }>, status = 403) => {
      const got = (await r).status;
      attempts.push({ what, accepted: got < 300 });
      assert.equal(got, status, what);
    };

    // The reproduction: a project one committee approval away from active; an admin grants
    // themselves the access committee role, then casts the second vote.
    const id = await f.projectAt('committee_review');
    await f.gov.proposePermit(f.who.committee1, id, await f.permitFor(id));
    await f.gov.take(f.who.committee1, id, 'committee_approve');
    await refused('an admin grants themselves access_committee', as('admin', 'POST', `/identity/people/${people.admin.id}/roles`, { role: 'access_committee' }));
    await refused('an admin grants themselves a role outside review (applicant)', as('admin', 'POST', `/identity/people/${people.admin.id}/roles`, { role: 'applicant' }));
    await refused('an admin removes their own admin role', as('admin', 'DELETE', `/identity/people/${people.admin.id}/roles/admin`));
    await refused('the admin then casts the second committee vote', as('admin', 'POST', `/governance/projects/${id}/committee-decision`, { decision: 'approve' }));
    assert.deepEqual(await rolesOf('admin'), ['admin']);

    // A reviewing role takes two admins: proposed (202), then approved by another.
    const proposed = await as('adminCommittee', 'POST', `/identity/people/${people.outsider.id}/roles`, { role: 'access_committee' });
    assert.equal(proposed.status, 202);
    assert.equal(proposed.body.change?.state, 'pending');
    assert.deepEqual(await rolesOf('outsider'), [], 'nothing granted before the second admin approves');
    const changeId = proposed.body.change?.id ?? '';
    await refused('the proposer approves their own proposal', as('adminCommittee', 'POST', `/identity/role-changes/${changeId}/approve`));
    await refused('a second proposal of the same change while one is pending', as('admin', 'POST', `/identity/people/${people.outsider.id}/roles`, { role: 'access_committee' }), 409);
    const other = await as('admin', 'POST', `/identity/people/${people.admin2.id}/roles`, { role: 'output_checker' });
    assert.equal(other.status, 202);
    await refused('the person concerned approves a change of their own roles', as('admin2', 'POST', `/identity/role-changes/${other.body.change?.id ?? ''}/approve`));
    await refused('the person concerned rejects a change of their own roles', as('admin2', 'POST', `/identity/role-changes/${other.body.change?.id ?? ''}/reject`));
    assert.equal((await as('admin', 'POST', `/identity/role-changes/${other.body.change?.id ?? ''}/reject`)).status, 200, 'its proposer may withdraw it');
    const approved = await as('admin', 'POST', `/identity/role-changes/${changeId}/approve`);
    assert.equal(approved.status, 200);
    assert.equal(approved.body.state, 'applied');
    assert.deepEqual(await rolesOf('outsider'), ['access_committee']);
    await refused('a change already decided is approved again', as('admin2', 'POST', `/identity/role-changes/${changeId}/approve`), 409);
    // A role outside review is changed by one admin, at once.
    const direct = await as('admin', 'POST', `/identity/people/${people.outsider.id}/roles`, { role: 'applicant' });
    assert.equal(direct.status, 200);
    assert.equal(direct.body.change?.state, 'applied');

    // Whoever changed the reviewers while the project was under review does not vote on it: the
    // proposer (adminCommittee) and the approving admin, had they the role.
    const vote = await as('adminCommittee', 'POST', `/governance/projects/${id}/committee-decision`, { decision: 'approve' });
    attempts.push({ what: 'a committee member who changed the reviewers during the review votes', accepted: vote.status < 300 });
    assert.equal(vote.status, 403);
    assert.equal(vote.body.details?.['reason'], 'changed_reviewers');
    await refused('the same person drafts a new permit', as('adminCommittee', 'PUT', `/governance/projects/${id}`.concat('/permit'), await f.permitFor(id)));
    const detail = await as('adminCommittee', 'GET', `/governance/projects/${id}`);
    assert.deepEqual((detail.body as { actions?: string[] }).actions?.filter((a) => a.startsWith('committee_')), [], 'the portal offers them no vote either');
    // A project whose review starts after the change: the same person votes.
    const later = await f.projectAt('committee_review');
    await f.gov.proposePermit(f.who.committee1, later, await f.permitFor(later));
    assert.equal((await as('adminCommittee', 'POST', `/governance/projects/${later}/committee-decision`, { decision: 'approve' })).status, 200);
    // An unrelated committee member casts the second vote of the first project.
    assert.equal((await as('committee2', 'POST', `/governance/projects/${id}/committee-decision`, { decision: 'approve' })).status, 200);
    assert.equal((await f.gov.getProject(f.who.committee1, id)).project.status, 'active');

    // Behind the API's back: the database itself refuses a reviewing role applied by its proposer.
    const pending = await as('admin', 'POST', `/identity/people/${people.admin2.id}/roles`, { role: 'legal_reviewer' });
    let dbAccepted = true;
    try {
      await f.t.db.query("UPDATE identity_role_changes SET state = 'applied', decided_by = proposed_by, decided_at = now() WHERE id = $1", [pending.body.change?.id ?? '']);
    } catch {
      dbAccepted = false;
    }
    attempts.push({ what: 'an UPDATE applying a reviewing role by its own proposer', accepted: dbAccepted });
    assert.equal(dbAccepted, false);
    const audited = (await f.identity.listRoleChanges('applied')).filter((c) => c.id === changeId);
    assert.equal(audited[0]?.decidedBy, people.admin.id);
    const accepted = attempts.filter((a) => a.accepted).length;
    process.stdout.write(`SECURITY-TESTS 10: ${attempts.length} self-approval attempts, ${accepted} accepted\n`);
    assert.equal(accepted, 0);
  });

  test('route refusals are audited as denied', async () => {
    await call('POST', `/governance/projects/${projectId}/suspend`, 'outsider', {});
    const denied = [];
    for await (const l of f.audit.lines()) if (l.event?.action === 'http.request' && l.event.outcome === 'denied') denied.push(l.event);
    assert.ok(denied.some((e) => e.target === 'POST /projects/:id/suspend' && e.actor.id === f.who.outsider.personId));
  });

  test('a state-changing request without the CSRF token is refused', async () => {
    const s = sessions.get('applicant');
    assert.ok(s);
    const res = await app.request(`/api/v1/governance/projects/${projectId}/submit`, { method: 'POST', headers: { cookie: `${cookieName}=${s.cookie}` } });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /CSRF/);
  });

  test('an API token acts on its own project only, on token routes only, until revoked', async () => {
    const id = await f.projectAt('active');
    const member = await f.identity.login({ issuer: 'https://idp.test', subject: 'member', displayName: 'member', email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    const h = { cookie: `${cookieName}=${member.cookieValue}`, [CSRF_HEADER]: member.csrfToken, 'content-type': 'application/json' };
    const created = await app.request('/api/v1/identity/me/tokens', { method: 'POST', headers: h, body: JSON.stringify({ projectId: id, days: 7 }) });
    assert.equal(created.status, 201);
    const { token, id: tokenId } = (await created.json()) as { token: string; id: string };
    const bearer = { authorization: `Bearer ${token}` };
    assert.equal((await app.request(`/api/v1/governance/projects/${id}/access`, { headers: bearer })).status, 200);
    assert.equal((await app.request(`/api/v1/governance/projects/${projectId}`, { headers: bearer })).status, 403);
    assert.equal((await app.request(`/api/v1/governance/projects/${id}/submit`, { method: 'POST', headers: bearer })).status, 403);
    const stored = await f.t.db.query<{ token_hash: Uint8Array }>('SELECT token_hash FROM identity_api_tokens WHERE id = $1', [tokenId]);
    assert.ok(!Buffer.from(stored[0]!.token_hash).toString('utf8').includes(token), 'only the hash is stored');
    assert.equal((await app.request(`/api/v1/identity/me/tokens/${tokenId}`, { method: 'DELETE', headers: h })).status, 204);
    assert.equal((await app.request(`/api/v1/governance/projects/${id}/access`, { headers: bearer })).status, 401);
  });

  test('an amendment over HTTP: the PI files it with a project token, reviewers decide in sessions, access follows the new permit', async () => {
    const id = await f.projectAt('active');
    const pi = sessions.get('applicant');
    assert.ok(pi);
    const h = { cookie: `${cookieName}=${pi.cookie}`, [CSRF_HEADER]: pi.csrf, 'content-type': 'application/json' };
    const created = await app.request('/api/v1/identity/me/tokens', { method: 'POST', headers: h, body: JSON.stringify({ projectId: id, days: 7 }) });
    const { token } = (await created.json()) as { token: string };
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const filed = await app.request(`/api/v1/governance/projects/${id}/amendment`, { method: 'POST', headers: bearer, body: JSON.stringify(f.amendedApplication(['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE'])) });
    assert.equal(filed.status, 201, await filed.clone().text());
    assert.equal((await app.request(`/api/v1/governance/projects/${id}/amendment/completeness`, { method: 'POST', headers: bearer, body: '{"decision":"approve"}' })).status, 403, 'no review with a token');
    assert.equal((await call('POST', `/governance/projects/${id}/amendment/completeness`, 'committee1', { decision: 'approve' })).status, 200);
    assert.equal((await call('POST', `/governance/projects/${id}/amendment/ethics-opinion`, 'ethics', { decision: 'approve', reference: 'CESREES-2026-002' })).status, 200);
    assert.equal((await call('POST', `/governance/projects/${id}/amendment/legal-review`, 'legal', { decision: 'approve' })).status, 200);
    const c1 = sessions.get('committee1');
    assert.ok(c1);
    const template = await app.request(`/api/v1/governance/projects/${id}/amendment/permit-template`, { headers: { cookie: `${cookieName}=${c1.cookie}` } });
    assert.equal((await call('PUT', `/governance/projects/${id}/amendment/permit`, 'committee1', await template.json())).status, 201);
    const access = (columns: string) => app.request(`/api/v1/governance/projects/${id}/access?dataset=snds&table=ER_PRS_F&columns=${columns}`, { headers: bearer });
    assert.equal((await access('EXE_SOI_DTD')).status, 200, 'the permit in force stays so during the review');
    assert.equal((await call('POST', `/governance/projects/${id}/amendment/committee-decision`, 'committee1', { decision: 'approve' })).status, 200);
    const twice = await call('POST', `/governance/projects/${id}/amendment/committee-decision`, 'committee1', { decision: 'approve' });
    assert.equal(twice.status, 409, 'one person cannot decide alone');
    await relogin('committee2');
    assert.equal((await call('POST', `/governance/projects/${id}/amendment/committee-decision`, 'committee2', { decision: 'approve' })).status, 200);
    sessions.delete('committee2');
    assert.equal((await access('PRS_ACT_QTE')).status, 200);
    assert.equal((await access('EXE_SOI_DTD')).status, 403);
  });

  test('no API token for a project the person is not a member of', async () => {
    const id = await f.projectAt('active');
    const r = await call('POST', '/identity/me/tokens', 'outsider', { projectId: id });
    assert.equal(r.status, 403);
  });

  test('logout ends the session', async () => {
    const s = await f.identity.login({ issuer: 'https://idp.test', subject: 'auditor', displayName: 'auditor', email: null, organisation: 'test', acr: 'eidas2', amr: ['otp'] });
    const h = { cookie: `${cookieName}=${s.cookieValue}`, [CSRF_HEADER]: s.csrfToken };
    assert.equal((await app.request('/api/v1/auth/logout', { method: 'POST', headers: h })).status, 204);
    assert.equal((await app.request('/api/v1/identity/me', { headers: h })).status, 401);
  });

  test('sessions end after the idle timeout and after the absolute timeout', async () => {
    const s = await f.identity.login({ issuer: 'https://idp.test', subject: 'checker', displayName: 'checker', email: null, organisation: 'test', acr: 'eidas2', amr: ['otp'] });
    const base = new Date('2026-03-01T10:00:00Z');
    f.setNow(new Date(base.getTime() + f.identity.sessionPolicy.idleMs - 1000));
    assert.ok(await f.identity.resolveSession(s.cookieValue));
    f.setNow(new Date(base.getTime() + 2 * f.identity.sessionPolicy.idleMs));
    assert.equal(await f.identity.resolveSession(s.cookieValue), null);
    f.setNow(base);
    const s2 = await f.identity.login({ issuer: 'https://idp.test', subject: 'checker', displayName: 'checker', email: null, organisation: 'test', acr: 'eidas2', amr: ['otp'] });
    for (let t = 0; t <= f.identity.sessionPolicy.absoluteMs; t += f.identity.sessionPolicy.idleMs / 2) {
      f.setNow(new Date(base.getTime() + t));
      const r = await f.identity.resolveSession(s2.cookieValue);
      if (t >= f.identity.sessionPolicy.absoluteMs) assert.equal(r, null);
      else assert.ok(r, `alive at +${t} ms`);
    }
    f.setNow(base);
  });
});
