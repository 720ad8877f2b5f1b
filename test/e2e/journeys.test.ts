/**
 * The logged-in journeys in real Chromium, in both languages: an applicant files a project with
 * the wizard, the demo reviewers take it through completeness, ethics, legal review and two
 * committee votes to an active permit, which then appears on the public register; logout and
 * an expired session are handled. Sessions are opened by the real IdentityService (as after an
 * OIDC callback) and carried by the real cookie; the OpenID flow itself is tested by the
 * identity suite against a real provider.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { serve, type ServerType } from '@hono/node-server';
import { AppError } from '../../src/errors.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { sessionCookieName, type AuthDeps } from '../../src/http/auth.ts';
import { catalogRoutes } from '../../src/http/routes/catalog.ts';
import { governanceRoutes } from '../../src/http/routes/governance.ts';
import { authRoutes, identityRoutes, type IdentityRouteDeps, type LoginFlows } from '../../src/http/routes/identity.ts';
import { staticPortal } from '../../src/http/static.ts';
import { openGovFixture, type GovFixture, type PersonKey } from '../helpers/governance.ts';
import { ensureWebBuild, launchChromium, newPage, screenshot, skipReason, useLanguage, waitUntil, type Browser, type Page } from './harness.ts';

const skip = skipReason();

const offlineFlows: LoginFlows = {
  start: async () => ({ flowId: 'f'.repeat(43), redirectUrl: '/' }),
  finish: async () => {
    throw new AppError('unauthenticated', 'no provider in this test', { details: { reason: 'test' } });
  },
};

const TX = {
  fr: { next: 'Suivant', submit: 'Déposer la demande', decide: 'Enregistrer la décision', propose: 'Proposer l’autorisation à partir de la demande', logout: 'Se déconnecter', login: 'Se connecter' },
  en: { next: 'Next', submit: 'Submit the application', decide: 'Record the decision', propose: 'Propose the permit from the application', logout: 'Log out', login: 'Log in' },
} as const;

describe('logged-in journeys', { skip }, () => {
  let f: GovFixture;
  let browser: Browser;
  let server: ServerType;
  let base: string;
  const cookieName = sessionCookieName(false);

  before(async () => {
    await ensureWebBuild();
    [f, browser] = await Promise.all([openGovFixture(), launchChromium()]);
    const auth: AuthDeps = {
      cookieName,
      resolveSession: (v) => f.identity.resolveSession(v),
      resolveApiToken: (t) => f.identity.resolveApiToken(t),
      denied: async (who, route, code, requestId) => {
        await f.audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
      },
    };
    const deps: IdentityRouteDeps & { flows: LoginFlows } = { identity: f.identity, auth, secureCookies: false, flows: offlineFlows, assertCanIssueToken: (p, id, r) => f.gov.assertCanIssueToken(p, id, r) };
    const app = createHttpApp({
      version: 'e2e', health: async () => ({}), openApiPaths: [],
      routes: [
        { prefix: 'catalog', app: catalogRoutes(f.catalog) },
        { prefix: 'governance', app: governanceRoutes(f.gov, auth) },
        { prefix: 'identity', app: identityRoutes(deps) },
        { prefix: 'auth', app: authRoutes(deps) },
      ],
      portal: staticPortal({ dir: fileURLToPath(new URL('../../web/dist', import.meta.url)), language: 'fr' }),
    });
    base = await new Promise<string>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(`http://127.0.0.1:${info.port}`));
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
    await f?.close();
  });

  /** A browser context logged in as one demo person (their session cookie, as the callback sets it). */
  const as = async (who: PersonKey, lang: 'fr' | 'en'): Promise<{ page: Page; close: () => Promise<void>; cookie: string; problems: () => string[] }> => {
    const s = await f.identity.login({ issuer: 'https://idp.test', subject: who, displayName: who, email: null, organisation: 'test', acr: 'eidas2', amr: ['pwd', 'otp'] });
    const { page, context, problems } = await newPage(browser, base, lang);
    await context.addCookies([{ name: cookieName, value: s.cookieValue, url: base, httpOnly: true, sameSite: 'Strict' }]);
    return { page, close: () => context.close(), cookie: s.cookieValue, problems };
  };

  const decide = async (page: Page, lang: 'fr' | 'en', projectId: string, opts: { reference?: string } = {}): Promise<void> => {
    await page.goto(`/projects/${projectId}`);
    await useLanguage(page, lang);
    const form = page.getByTestId('decision-form');
    await form.waitFor();
    if (opts.reference !== undefined) await form.getByRole('textbox').nth(1).fill(opts.reference);
    await form.getByRole('button', { name: TX[lang].decide }).click();
  };

  for (const lang of ['fr', 'en'] as const) {
    test(`${lang}: an applicant files a project and the demo reviewers take it to an active permit`, async () => {
      const tx = TX[lang];
      // The applicant, with the wizard.
      const a = await as('applicant', lang);
      const page = a.page;
      await page.goto('/projects/new');
      await useLanguage(page, lang);
      await page.getByTestId('user').waitFor();
      await page.getByRole('button', { name: tx.next }).click();
      // Nothing filled in: the errors are said, and the wizard stays on its first step.
      assert.ok((await page.locator('.field-error').count()) >= 4);
      await screenshot(page, `journey-wizard-errors-${lang}`);
      const title = `Statins and dementia (${lang})`;
      await page.locator('input[name="title"]').fill(title);
      await page.locator('input[name="organisation"]').fill('Inserm U1234');
      await page.locator('textarea[name="purpose"]').fill('Estimate the association between statin use and dementia onset.');
      await page.locator('textarea[name="publicInterest"]').fill('Dementia prevention.');
      await page.getByRole('button', { name: tx.next }).click();

      // Data: pick columns; the potential-identifier rule follows the picks.
      await page.locator('summary', { hasText: 'ER_PRS_F' }).click();
      await page.locator('[data-column="ER_PRS_F.BEN_NIR_PSA"]').check();
      await page.locator('[data-column="ER_PRS_F.EXE_SOI_DTD"]').check();
      await page.locator('[data-column="ER_PRS_F.PRS_NAT_REF"]').check();
      assert.ok(await page.locator('[data-column="ER_PRS_F.BEN_NIR"]').isDisabled(), 'a direct identifier cannot be picked');
      assert.equal(await page.getByTestId('pi-over').count(), 0);
      await page.locator('[data-column="ER_PRS_F.BEN_NAI_ANN"]').check();
      await page.getByTestId('pi-over').first().waitFor();
      await screenshot(page, `journey-wizard-data-${lang}`);
      await page.locator('[data-column="ER_PRS_F.BEN_NAI_ANN"]').uncheck();
      await waitUntil(async () => (await page.getByTestId('pi-over').count()) === 0);
      await page.getByRole('button', { name: tx.next }).click();

      await page.locator('textarea[name="population"]').fill('Adults over 50 with a statin dispensing.');
      await page.locator('textarea[name="justification"]').fill('Care dates are needed to time exposure.');
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByTestId('scope').waitFor();
      await screenshot(page, `journey-wizard-review-${lang}`);
      await page.getByRole('button', { name: tx.submit }).click();
      await page.locator('[data-status="submitted"]').waitFor();
      const projectId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      await screenshot(page, `journey-project-submitted-${lang}`);

      // Completeness (committee 1), from the inbox.
      const c1 = await as('committee1', lang);
      await c1.page.goto('/review');
      await useLanguage(c1.page, lang);
      await c1.page.getByRole('link', { name: title }).waitFor();
      await screenshot(c1.page, `journey-inbox-${lang}`);
      await decide(c1.page, lang, projectId);
      await c1.page.locator('[data-status="ethics_review"]').waitFor();

      // Ethics, then legal review.
      const ethics = await as('ethics', lang);
      await decide(ethics.page, lang, projectId, { reference: 'CESREES-2026-042' });
      await ethics.page.locator('[data-status="legal_review"]').waitFor();
      const legal = await as('legal', lang);
      await decide(legal.page, lang, projectId, { reference: 'MR-004' });
      await legal.page.locator('[data-status="committee_review"]').waitFor();

      // Committee: the permit is proposed, then two distinct members approve it.
      await c1.page.goto(`/projects/${projectId}`);
      await c1.page.getByTestId('permit-form').getByRole('button', { name: tx.propose }).click();
      await c1.page.getByTestId('decision-form').waitFor();
      await c1.page.getByTestId('four-eyes-committee').waitFor();
      await decide(c1.page, lang, projectId);
      await c1.page.getByTestId('four-eyes-voted').waitFor();
      assert.equal(await c1.page.getByTestId('decision-form').count(), 0, 'the same member cannot approve twice');
      await screenshot(c1.page, `journey-four-eyes-${lang}`);
      const c2 = await as('committee2', lang);
      await decide(c2.page, lang, projectId);
      await c2.page.locator('[data-status="active"]').waitFor();

      // The applicant follows the review with its history.
      await page.reload();
      await page.locator('[data-status="active"]').waitFor();
      assert.ok((await page.locator('.timeline-step.step-done').count()) >= 5);
      await screenshot(page, `journey-project-active-${lang}`);
      // and is told of each step in the app.
      await page.getByRole('navigation', { name: lang === 'fr' ? 'Principal' : 'Main' }).getByRole('link', { name: lang === 'fr' ? 'Mes projets' : 'My projects' }).click();
      await page.getByTestId('notifications').waitFor();
      await screenshot(page, `journey-projects-${lang}`);

      // The public register shows the permit, without login.
      const { page: pub, context } = await newPage(browser, base, lang);
      await pub.goto('/register');
      await useLanguage(pub, lang);
      await pub.getByRole('rowheader', { name: title }).waitFor();
      await screenshot(pub, `journey-register-${lang}`);
      await context.close();

      for (const s of [a, c1, ethics, legal, c2]) {
        assert.deepEqual(s.problems(), []);
        await s.close();
      }
    });
  }

  test('en: a returned application is edited and resubmitted; the reviewer sees what changed', async () => {
    const projectId = await f.projectAt('changes_requested');
    const a = await as('applicant', 'en');
    await a.page.goto(`/projects/${projectId}`);
    await useLanguage(a.page, 'en');
    await a.page.locator('[data-status="changes_requested"]').waitFor();
    await a.page.getByTestId('edit').click();
    await a.page.getByRole('heading', { level: 1, name: 'Edit the application' }).waitFor();
    assert.equal(await a.page.locator('input[name="title"]').inputValue(), 'Statins and dementia');
    await a.page.getByRole('button', { name: 'Next' }).click();
    await a.page.getByRole('button', { name: 'Next' }).click();
    await a.page.locator('textarea[name="population"]').fill('Adults over 60 with a first statin dispensing in 2019.');
    await a.page.getByRole('button', { name: 'Next' }).click();
    await a.page.getByRole('button', { name: 'Submit the application' }).click();
    await a.page.locator('[data-status="submitted"]').waitFor();

    const c1 = await as('committee1', 'en');
    await c1.page.goto(`/projects/${projectId}`);
    await useLanguage(c1.page, 'en');
    await c1.page.getByRole('heading', { level: 2, name: 'Changes from version 1 to 2' }).waitFor();
    const row = c1.page.getByRole('row', { name: /\/requestedScope\/population/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /adults over 50.*Adults over 60/);
    await screenshot(c1.page, 'journey-diff-en');
    for (const s of [a, c1]) {
      assert.deepEqual(s.problems(), []);
      await s.close();
    }
  });

  test('logout ends the session; an expired session says so and offers to log in again', async () => {
    const a = await as('applicant', 'en');
    await a.page.goto('/projects');
    await useLanguage(a.page, 'en');
    await a.page.getByTestId('user').waitFor();
    // The server ends the session (idle or absolute timeout): the next call gets a 401.
    await f.identity.logout(a.cookie);
    await a.page.getByRole('link', { name: 'New project' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'New project' }).waitFor();
    await a.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My projects' }).click();
    await a.page.getByTestId('session-expired').waitFor();
    await screenshot(a.page, 'journey-session-expired-en');
    await a.close();

    const b = await as('applicant', 'en');
    await b.page.goto('/');
    await b.page.getByTestId('logout').click();
    await b.page.getByTestId('login').waitFor();
    const me = await b.page.request.get('/api/v1/identity/me');
    assert.equal(me.status(), 401);
    await b.close();
  });
});
