/**
 * Project actions in the browser (issue 15, item 3), in both languages on a real server: the
 * access committee suspends a permit (a reason is required, and the act is asked twice), then
 * reinstates it; the principal investigator withdraws a draft and closes an active project.
 * Each act then shows in the project's audit trail with who acted, by name, in the page's
 * language. The accessibility checks of a11y.ts pass on each page.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertAccessible, checkedScreenshot } from './a11y.ts';
import { activeProject, demoPrincipal, loginViaOidc, newPage, portalFixture, sessionFor, skipReason, useLanguage, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: {
    suspend: 'Suspendre l’autorisation', reinstate: 'Rétablir l’autorisation', withdraw: 'Retirer la demande', close: 'Clôturer le projet', confirm: 'Confirmer',
    reasonRequired: 'Indiquez le motif', suspended: 'Autorisation suspendue', reinstated: 'Autorisation rétablie', withdrawn: 'Demande retirée', closed: 'Projet clôturé', trail: 'Piste d’audit',
  },
  en: {
    suspend: 'Suspend the permit', reinstate: 'Reinstate the permit', withdraw: 'Withdraw the application', close: 'Close the project', confirm: 'Confirm',
    reasonRequired: 'Give the reason', suspended: 'Permit suspended', reinstated: 'Permit reinstated', withdrawn: 'Application withdrawn', closed: 'Project closed', trail: 'Audit trail',
  },
} as const;

/** The trail's row for an act, once it shows (newest first). */
async function trailRow(page: Page, label: string): Promise<string> {
  const row = page.locator('section[aria-labelledby="trail-h"] tbody tr', { hasText: label }).first();
  await row.waitFor();
  return (await row.textContent()) ?? '';
}

describe('project actions', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];

    test(`${lang}: the committee suspends a permit with its reason and reinstates it; both show in the trail by name`, async () => {
      const title = `Suspension ${lang}`;
      const id = await activeProject(enclave, { title, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      const who = `Comité ${lang}`;
      await context.addCookies([{ ...(await sessionFor(enclave, who, ['access_committee'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto(`/projects/${id}`);
      await useLanguage(page, lang);
      await page.locator('[data-status="active"]').first().waitFor();
      await page.getByTestId('action-suspend').click();
      const ask = page.getByTestId('action-suspend-confirm');
      await ask.getByRole('button', { name: tx.confirm }).click();
      assert.match((await ask.locator('.field-error').textContent()) ?? '', new RegExp(tx.reasonRequired));
      assert.equal(await enclave.platform.governance.getProject(await demoPrincipal(enclave, 'committee2'), id).then((d) => d.project.status), 'active', 'nothing happens without the reason');
      await ask.locator('textarea[name="reason"]').fill('Security incident under investigation');
      await checkedScreenshot(page, `project-suspend-confirm-${lang}`);
      await ask.getByRole('button', { name: tx.confirm }).click();
      await page.locator('[data-status="suspended"]').first().waitFor();
      assert.match(await trailRow(page, tx.suspended), new RegExp(who));
      await page.getByTestId('action-reinstate').click();
      await page.getByTestId('action-reinstate-confirm').locator('textarea[name="reason"]').fill('Incident closed');
      await page.getByTestId('action-reinstate-confirm').getByRole('button', { name: tx.confirm }).click();
      await page.locator('[data-status="active"]').first().waitFor();
      assert.match(await trailRow(page, tx.reinstated), new RegExp(who));
      await page.getByRole('heading', { level: 2, name: tx.trail }).waitFor();
      await checkedScreenshot(page, `project-trail-${lang}`);
      // the log holds both acts with the reason
      const events = await enclave.platform.db.query<{ action: string; details: unknown }>("SELECT action, details FROM audit_events WHERE target = $1 AND action IN ('governance.project.suspend', 'governance.project.reinstate') AND outcome = 'success' ORDER BY seq", [`project:${id}`]);
      assert.deepEqual(events.map((e) => e.action), ['governance.project.suspend', 'governance.project.reinstate']);
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: the principal investigator withdraws a draft and closes an active project, after confirming`, async () => {
      const applicant = await demoPrincipal(enclave, 'applicant');
      const draft = await enclave.platform.governance.createProject(applicant, {
        title: `Brouillon ${lang}`, organisation: 'Inserm', purpose: 'A draft to withdraw from the portal.', publicInterest: 'Testing.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' },
        ethicsOpinionReference: null, funding: 'ANR', team: [{ name: 'Alice Martin', role: 'principal investigator', organisation: 'Inserm' }],
        requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['PRS_NAT_REF'] }] }], years: { from: 2022, to: 2022 }, population: 'everyone', justification: 'testing' },
      });
      const active = await activeProject(enclave, { title: `Clôture ${lang}`, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      const person = enclave.demo.find((d) => d.username === 'applicant');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto(`/projects/${draft.id}`);
      await useLanguage(page, lang);
      await loginViaOidc(page, person);
      await page.locator('[data-status="draft"]').first().waitFor();
      await page.getByTestId('action-withdraw').click();
      await page.getByTestId('action-withdraw-confirm').getByRole('button', { name: tx.confirm }).click();
      await page.locator('[data-status="withdrawn"]').first().waitFor();
      assert.match(await trailRow(page, tx.withdrawn), /Alice Martin/);

      await page.goto(`/projects/${active}`);
      await page.locator('[data-status="active"]').first().waitFor();
      // a colleague added by e-mail, then removed after a confirmation
      const colleague = `Collègue ${lang}`;
      const colleagueId = await enclave.platform.identity.ensurePerson({ kind: 'service', id: 'e2e' }, { issuer: 'https://idp.e2e', subject: `colleague-${lang}`, displayName: colleague, email: `Colleague.${lang}@Example.org`, organisation: 'Inserm' });
      const team = page.getByTestId('team-add-form');
      await team.locator('input[name="memberEmail"]').fill(`colleague.${lang}@example.org`);
      await team.getByRole('button').click();
      await page.getByTestId('team').getByText(colleague).waitFor();
      await page.getByTestId(`remove-member-${colleagueId}`).click();
      await page.getByTestId(`remove-member-${colleagueId}-confirm`).getByRole('button', { name: tx.confirm }).click();
      // The member's own entry (the confirmation naming them may still be on screen a moment).
      await page.getByTestId('team').locator(`[data-person="${colleagueId}"]`).waitFor({ state: 'detached' });
      assert.ok(!(await enclave.platform.governance.getProject(applicant, active)).project.members.some((m) => m.personId === colleagueId));
      // the same colleague found again in the people directory, by name, and added with one button
      const picker = page.getByTestId('directory-picker');
      await picker.locator('input[name="directorySearch"]').fill(colleague.slice(0, 6));
      await picker.getByTestId(`directory-add-${colleagueId}`).click();
      await page.getByTestId('team').getByText(colleague).waitFor();
      assert.ok((await enclave.platform.governance.getProject(applicant, active)).project.members.some((m) => m.personId === colleagueId && m.role === 'member'));
      await assertAccessible(page, 'the team with the directory');
      await page.getByTestId('action-close').click();
      await assertAccessible(page, 'the close confirmation');
      await page.getByTestId('action-close-confirm').getByRole('button', { name: tx.confirm }).click();
      await page.locator('[data-status="closed"]').first().waitFor();
      assert.match(await trailRow(page, tx.closed), /Alice Martin/);
      assert.equal(await page.getByTestId('project-actions').count(), 0, 'nothing left to do on a closed project');
      await checkedScreenshot(page, `project-closed-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
