/**
 * Over HTTP, a reviewer sees why the product refused: the permit's own validation message, hint
 * and problems, not a bare "malformed request" (issue: a committee member proposing a permit
 * with too many potential identifiers saw only that, and the project stayed stuck).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../../test/helpers/governance.ts';
import { createHttpApp } from '../app.ts';
import { CSRF_HEADER, sessionCookieName, type AuthDeps } from '../auth.ts';
import { governanceRoutes } from './governance.ts';

describe('governance errors reach the portal whole', () => {
  let f: GovFixture;
  let app: ReturnType<typeof createHttpApp>;
  const cookieName = sessionCookieName(false);
  before(async () => {
    f = await openGovFixture();
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async () => undefined,
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'governance', app: governanceRoutes(f.gov, auth) }] });
  });
  after(async () => {
    await f.close();
  });

  test('proposing a permit with too many potential identifiers answers 400 with the rule, the columns and a hint', async () => {
    const id = await f.projectAt('committee_review');
    const doc = await f.permitFor(id, { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'BEN_NAI_ANN'] }] }] });
    const s = await f.identity.login({ issuer: 'https://idp.test', subject: 'committee1', displayName: 'committee1', email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    const res = await app.request(`/api/v1/governance/projects/${id}/permit`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', cookie: `${cookieName}=${s.cookieValue}`, [CSRF_HEADER]: s.csrfToken },
      body: JSON.stringify(doc),
    });
    assert.equal(res.status, 400);
    const p = await res.json() as { detail: string; hint?: string; details?: { problems?: string[] } };
    assert.notEqual(p.detail, 'malformed request');
    assert.match(p.detail, /2 distinct potential identifiers requested/);
    assert.match(p.detail, /EXE_SOI_DTD/);
    assert.match(p.hint ?? '', /at most one potential identifier/);
    assert.ok((p.details?.problems ?? []).some((x) => x.startsWith('/datasets: 2 distinct potential identifiers')), JSON.stringify(p.details));
  });
});
