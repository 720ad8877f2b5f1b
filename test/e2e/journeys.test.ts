/**
 * The "done when", in real Chromium and in both languages, on a real Enclave server:
 * each demo person logs in through the embedded OpenID provider (password + TOTP); an applicant
 * files a project with the wizard (the potential-identifier rule shown as columns are picked);
 * the demo reviewers take it through completeness, ethics, legal review and two distinct
 * committee votes to an active permit, which the public register then shows. In English the
 * ethics reviewer first returns it, the applicant edits and resubmits, and the reviewers see the
 * diff. Then an expired session and logout.
 */
import { checkedScreenshot } from './a11y.ts';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loginViaOidc, newPage, portalFixture, skipReason, useLanguage, waitUntil, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();

const TX = {
  fr: { next: 'Suivant', submit: 'Déposer la demande', decide: 'Enregistrer la décision', propose: 'Proposer l’autorisation à partir de la demande', main: 'Principal', projects: 'Mes projets', edit: 'Modifier la demande' },
  en: { next: 'Next', submit: 'Submit the application', decide: 'Record the decision', propose: 'Propose the permit from the application', main: 'Main', projects: 'My projects', edit: 'Edit the application' },
} as const;

describe('logged-in journeys', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  type Session = { page: Page; close: () => Promise<void>; problems: () => string[]; cookie: () => Promise<string> };
  const sessions = new Map<string, Session>();
  after(async () => {
    for (const s of sessions.values()) await s.close();
  });

  /**
   * A browser context for one demo person, logged in through the real OIDC flow the first time
   * and reused afterwards (the language is switched with the header's switch).
   */
  const as = async (username: string, lang: 'fr' | 'en', start = '/'): Promise<Session> => {
    const known = sessions.get(username);
    if (known !== undefined) {
      await known.page.goto(start);
      await useLanguage(known.page, lang);
      return known;
    }
    const person = enclave.demo.find((d) => d.username === username);
    assert.ok(person !== undefined, `demo person ${username}`);
    const { page, context, problems } = await newPage(browser, enclave.url, lang);
    await page.goto(start);
    await useLanguage(page, lang);
    await loginViaOidc(page, person);
    const cookie = async (): Promise<string> => (await context.cookies()).find((c) => c.name === 'enclave_session')?.value ?? '';
    const s: Session = { page, close: () => context.close(), problems, cookie };
    sessions.set(username, s);
    return s;
  };

  const decide = async (page: Page, lang: 'fr' | 'en', projectId: string, opts: { decision?: 'approve' | 'return'; comment?: string; reference?: string } = {}): Promise<void> => {
    await page.goto(`/projects/${projectId}`);
    const form = page.getByTestId('decision-form');
    await form.waitFor();
    if (opts.decision !== undefined) await form.getByRole('combobox').selectOption(opts.decision);
    if (opts.comment !== undefined) await form.locator('textarea[name="comment"]').fill(opts.comment);
    if (opts.reference !== undefined) await form.locator('input[name="reference"]').fill(opts.reference);
    await form.getByRole('button', { name: TX[lang].decide }).click();
  };

  for (const lang of ['fr', 'en'] as const) {
    test(`${lang}: an applicant logs in, files a project, and the demo reviewers take it to an active permit`, async () => {
      const tx = TX[lang];
      const a = await as('applicant', lang, '/projects/new');
      const page = a.page;
      await page.getByRole('button', { name: tx.next }).click();
      // Nothing filled in: the errors are said, and the wizard stays on its first step.
      assert.ok((await page.locator('.field-error').count()) >= 4);
      await checkedScreenshot(page, `journey-wizard-errors-${lang}`);
      const title = `Statines et démence (${lang})`;
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
      for (const box of await page.locator('.picker-col:has([data-sensitivity="direct_identifier"]) input').all()) assert.ok(await box.isDisabled(), 'direct identifiers cannot be picked');
      assert.equal(await page.getByTestId('pi-over').count(), 0);
      await page.locator('[data-column="ER_PRS_F.BEN_NAI_ANN"]').check();
      await page.getByTestId('pi-over').first().waitFor();
      await checkedScreenshot(page, `journey-wizard-data-${lang}`);
      await page.locator('[data-column="ER_PRS_F.BEN_NAI_ANN"]').uncheck();
      await waitUntil(async () => (await page.getByTestId('pi-over').count()) === 0);
      await page.getByRole('button', { name: tx.next }).click();

      await page.locator('textarea[name="population"]').fill('Adults over 50 with a statin dispensing.');
      await page.locator('textarea[name="justification"]').fill('Care dates are needed to time exposure.');
      await page.getByRole('button', { name: tx.next }).click();
      await page.getByTestId('scope').waitFor();
      await checkedScreenshot(page, `journey-wizard-review-${lang}`);
      await page.getByRole('button', { name: tx.submit }).click();
      await page.locator('[data-status="submitted"]').waitFor();
      const projectId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
      await checkedScreenshot(page, `journey-project-submitted-${lang}`);

      // Completeness (committee 1), from the inbox.
      const c1 = await as('committee1', lang, '/review');
      await c1.page.getByRole('link', { name: title }).waitFor();
      await checkedScreenshot(c1.page, `journey-inbox-${lang}`);
      await decide(c1.page, lang, projectId);
      await c1.page.locator('[data-status="ethics_review"]').waitFor();

      const ethics = await as('ethics', lang);
      if (lang === 'en') {
        // A return for changes: the applicant edits, resubmits, and the reviewers see the diff.
        await decide(ethics.page, lang, projectId, { decision: 'return', comment: 'Restrict the population to first dispensings.' });
        await ethics.page.locator('[data-status="changes_requested"]').waitFor();
        await page.goto(`/projects/${projectId}`);
        await page.getByTestId('edit').click();
        await page.getByRole('heading', { level: 1, name: tx.edit }).waitFor();
        await page.getByRole('button', { name: tx.next }).click();
        await page.getByRole('button', { name: tx.next }).click();
        await page.locator('textarea[name="population"]').fill('Adults over 50 with a first statin dispensing.');
        await page.getByRole('button', { name: tx.next }).click();
        await page.getByRole('button', { name: tx.submit }).click();
        await page.locator('[data-status="submitted"]').waitFor();
        await c1.page.goto(`/projects/${projectId}`);
        // the change is said by its field's label, not its JSON path
        const row = c1.page.getByRole('row', { name: /^Population/ });
        await row.waitFor();
        assert.match((await row.textContent()) ?? '', /a statin dispensing.*a first statin dispensing/);
        await checkedScreenshot(c1.page, `journey-diff-${lang}`);
        await decide(c1.page, lang, projectId);
        await c1.page.locator('[data-status="ethics_review"]').waitFor();
      }
      await decide(ethics.page, lang, projectId, { reference: 'CESREES-2026-042' });
      await ethics.page.locator('[data-status="legal_review"]').waitFor();
      const legal = await as('legal', lang);
      await decide(legal.page, lang, projectId, { reference: 'MR-004' });
      await legal.page.locator('[data-status="committee_review"]').waitFor();

      // Committee: the permit is proposed, then two distinct members approve it.
      await c1.page.goto(`/projects/${projectId}`);
      // the committee sets the permit's terms: both tools, a stricter minimum cell count
      await c1.page.getByTestId('permit-form').locator('input[value="database_protocol"]').check();
      await c1.page.getByTestId('permit-form').locator('input[name="minimumCellCount"]').fill('15');
      await c1.page.getByTestId('permit-form').getByRole('button', { name: tx.propose }).click();
      await c1.page.getByTestId('four-eyes-committee').waitFor();
      await decide(c1.page, lang, projectId);
      await c1.page.getByTestId('four-eyes-voted').waitFor();
      // Return and refuse stay offered to a reviewer; approve no longer is, to the member who voted.
      const form = c1.page.getByTestId('decision-form');
      assert.equal(await form.locator('select option').count(), 2, 'return and refuse stay offered');
      assert.equal(await form.locator('select option[value="approve"]').count(), 0, 'the same member cannot approve twice');
      await checkedScreenshot(c1.page, `journey-four-eyes-${lang}`);
      const c2 = await as('committee2', lang);
      await decide(c2.page, lang, projectId);
      await c2.page.locator('[data-status="active"]').waitFor();

      // The applicant follows the review with its history, and is told of each step.
      await page.goto(`/projects/${projectId}`);
      await page.locator('[data-status="active"]').waitFor();
      assert.ok((await page.locator('.timeline-step.step-done').count()) >= 5);
      const permit = page.locator('section[aria-labelledby="permits-h"] tbody tr').first();
      assert.match((await permit.textContent()) ?? '', lang === 'fr' ? /en vigueur/ : /in force/);
      assert.match((await permit.textContent()) ?? '', lang === 'fr' ? /protocole PostgreSQL.*15/ : /PostgreSQL protocol.*15/);
      // names, not ids: the team and every reviewer by name and role, no person or project UUID on the page
      assert.match((await page.getByTestId('team').textContent()) ?? '', lang === 'fr' ? /Alice Martin.*investigateur principal/ : /Alice Martin.*principal investigator/);
      assert.match((await page.locator('.review-list').first().textContent()) ?? '', lang === 'fr' ? /par .+ \(comité d’accès\)/ : /by .+ \(access committee\)/);
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
      await checkedScreenshot(page, `journey-project-active-${lang}`);
      await page.getByRole('navigation', { name: tx.main }).getByRole('link', { name: tx.projects }).click();
      await page.getByTestId('notifications').waitFor();
      await checkedScreenshot(page, `journey-projects-${lang}`);

      // The public register shows the permit, without login.
      const { page: pub, context } = await newPage(browser, enclave.url, lang);
      await pub.goto('/register');
      await useLanguage(pub, lang);
      await pub.getByRole('rowheader', { name: title }).waitFor();
      await checkedScreenshot(pub, `journey-register-${lang}`);
      await context.close();

      for (const s of [a, c1, ethics, legal, c2]) assert.deepEqual(s.problems(), []);
    });
  }

  test('a wrong TOTP code is refused and the person stays logged out', async () => {
    const person = enclave.demo.find((d) => d.username === 'member');
    assert.ok(person !== undefined);
    const { page, context } = await newPage(browser, enclave.url, 'en');
    await page.goto('/');
    await page.getByTestId('login').first().click();
    await page.locator('#login-form').waitFor();
    assert.match(new URL(page.url()).pathname, /^\/idp\//);
    await checkedScreenshot(page, 'login-idp-password');
    await page.locator('#username').fill(person.username);
    await page.locator('#password').fill(person.password);
    await page.locator('#login-form button[type="submit"]').click();
    await page.locator('#otp-form').waitFor();
    await checkedScreenshot(page, 'login-idp-totp');
    await page.locator('#code').fill('000000');
    await page.locator('#otp-form button[type="submit"]').click();
    await page.locator('#otp-form').waitFor();
    assert.equal((await page.request.get('/api/v1/identity/me')).status(), 401);
    await context.close();
  });

  test('an expired session says so and offers to log in again; logout ends the session', async () => {
    const a = await as('member', 'en', '/projects');
    sessions.delete('member');
    // The server ends the session (idle or absolute timeout): the next call gets a 401.
    await enclave.platform.identity.logout(await a.cookie());
    // the next page asks the server (the header's unread count at least): the expiry is said at once
    await a.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalogue' }).click();
    await a.page.getByTestId('session-expired').waitFor();
    assert.equal(await a.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My projects' }).count(), 0);
    await checkedScreenshot(a.page, 'journey-session-expired-en');
    await a.close();

    const b = await as('member', 'en');
    sessions.delete('member');
    await b.page.getByTestId('logout').click();
    await b.page.getByTestId('login').first().waitFor();
    assert.equal((await b.page.request.get('/api/v1/identity/me')).status(), 401);
    await b.close();
  });
});
