/**
 * Issue 15, item 1, through HTTP: the pharmacy study (ER_PHA_F + ER_PRS_F, FLX_TRT_DTD on both, a
 * care date) from application to active permit with the exception the committee grants; without
 * the applicant's justification the permit is refused naming the columns, and the committee
 * returns the file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture, type PersonKey } from '../../../test/helpers/governance.ts';
import { createHttpApp } from '../app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../auth.ts';
import { governanceRoutes } from './governance.ts';

const JUSTIFICATION = 'Exposure windows start at the dispensing date and the care date dates the outcome; both are needed, at day precision.';
const PHARMACY_SCOPE = [{
  dataset: 'snds',
  tables: [
    { table: 'ER_PHA_F', columns: ['DCT_ORD_NUM', 'FLX_TRT_DTD', 'PHA_PRS_C13'] },
    { table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'DCT_ORD_NUM', 'FLX_TRT_DTD', 'EXE_SOI_DTD'] },
  ],
}];

describe('the pharmacy study through HTTP', () => {
  let f: GovFixture;
  let app: ReturnType<typeof createHttpApp>;
  const cookieName = sessionCookieName(false);
  const sessions = new Map<PersonKey, { cookie: string; csrf: string }>();

  before(async () => {
    f = await openGovFixture({ pharmacy: true });
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async () => {},
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'governance', app: governanceRoutes(f.gov, auth) }] });
    for (const k of ['applicant', 'ethics', 'legal', 'committee1', 'committee2'] as const) {
      const s = await f.identity.login({ issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
      sessions.set(k, { cookie: s.cookieValue, csrf: s.csrfToken });
    }
  });
  after(async () => {
    await f.close();
  });

  const call = async (who: PersonKey, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const s = sessions.get(who);
    assert.ok(s !== undefined);
    const res = await app.request(`/api/v1/governance${path}`, {
      method, headers: { 'content-type': 'application/json', cookie: `${cookieName}=${s.cookie}`, [CSRF_HEADER]: s.csrf },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  const ok = async (who: PersonKey, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await call(who, method, path, body);
    assert.ok(r.status < 300, `${method} ${path} as ${who}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const toCommittee = async (justification: string | null): Promise<string> => {
    const scope = { ...(f.application().requestedScope as Record<string, unknown>), datasets: PHARMACY_SCOPE };
    const created = await ok('applicant', 'POST', '/projects', f.application({ requestedScope: scope, potentialIdentifierJustification: justification }));
    const id = created['id'] as string;
    await ok('applicant', 'POST', `/projects/${id}/submit`, {});
    await ok('committee1', 'POST', `/projects/${id}/completeness`, { decision: 'approve' });
    await ok('ethics', 'POST', `/projects/${id}/ethics-opinion`, { decision: 'approve', reference: 'CESREES-2026-042' });
    await ok('legal', 'POST', `/projects/${id}/legal-review`, { decision: 'approve', reference: 'MR-004' });
    return id;
  };

  test('without a justification the permit is refused with a 400 naming the columns, and the committee returns the file', async () => {
    const id = await toCommittee(null);
    const template = await ok('committee1', 'GET', `/projects/${id}/permit-template?validFrom=2026-03-01&validUntil=2027-02-28`);
    const refused = await call('committee1', 'PUT', `/projects/${id}/permit`, template);
    assert.equal(refused.status, 400);
    assert.match(String(refused.body['detail'] ?? refused.body['message'] ?? JSON.stringify(refused.body)), /snds\.ER_PRS_F\.EXE_SOI_DTD/);
    const back = await ok('committee2', 'POST', `/projects/${id}/committee-decision`, { decision: 'return', comment: 'justify the potential identifiers' });
    assert.equal((back['project'] as { status: string }).status, 'changes_requested');
  });

  test('with the justification, the committee grants the exception and two votes put the permit in force', async () => {
    const id = await toCommittee(JUSTIFICATION);
    const detail = await ok('committee1', 'GET', `/projects/${id}`);
    assert.equal((detail['application'] as { content: { potentialIdentifierJustification: string } }).content.potentialIdentifierJustification, JUSTIFICATION);
    const template = await ok('committee1', 'GET', `/projects/${id}/permit-template?validFrom=2026-03-01&validUntil=2027-02-28`);
    assert.equal((template['potentialIdentifierException'] as { justification: string }).justification, JUSTIFICATION);
    const permit = await call('committee1', 'PUT', `/projects/${id}/permit`, template);
    assert.equal(permit.status, 201, JSON.stringify(permit.body));
    await ok('committee1', 'POST', `/projects/${id}/committee-decision`, { decision: 'approve' });
    const done = await ok('committee2', 'POST', `/projects/${id}/committee-decision`, { decision: 'approve' });
    assert.equal((done['project'] as { status: string }).status, 'active');
    const permits = await ok('applicant', 'GET', `/projects/${id}/permits`);
    const active = (permits['permits'] as { state: string; document: { potentialIdentifierException?: { columns: string[]; justification: string } } }[]).find((p) => p.state === 'active');
    assert.deepEqual(active?.document.potentialIdentifierException?.columns, ['snds.ER_PHA_F.FLX_TRT_DTD', 'snds.ER_PRS_F.EXE_SOI_DTD', 'snds.ER_PRS_F.FLX_TRT_DTD']);
  });
});
