/**
 * The wizard's team step picks colleagues from the platform's directory (issue 15, item 2), and
 * the access committee ends a permit now with "expire" (item 3), asked twice with its reason and
 * kept in the project's trail; both languages, a11y.ts on each page.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { violations } from './a11y.ts';
import { activeProject, newPage, portalFixture, screenshot, sessionFor, skipReason, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: { search: 'Trouver un collègue dans l’annuaire', found: '1 personne trouvée', none: 'Personne ne correspond dans l’annuaire.', add: 'Ajouter Marc Petit', added: 'dans l’équipe', confirm: 'Confirmer', expired: 'Autorisation expirée', expire: 'Faire expirer l’autorisation maintenant' },
  en: { search: 'Find a colleague in the directory', found: '1 person found', none: 'Nobody in the directory matches.', add: 'Add Marc Petit', added: 'in the team', confirm: 'Confirm', expired: 'Permit expired', expire: 'Expire the permit now' },
} as const;

describe('team from the directory; a permit expired now', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];
    test(`${lang}: the team step finds a colleague in the directory and adds them by name and organisation`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await context.addCookies([{ ...(await sessionFor(enclave, `Demandeuse ${lang}`, ['applicant'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto('/projects/new');
      await useLanguage(page, lang);
      const picker = page.getByTestId('directory-picker');
      await picker.getByLabel(tx.search).fill('zzqx');
      await picker.getByText(tx.none).waitFor();
      await picker.getByLabel(tx.search).fill('petit');
      await picker.getByText(tx.found).waitFor();
      await picker.getByRole('button', { name: tx.add }).click();
      const team = page.getByTestId('team-editor').locator('.team-list').first();
      assert.match((await team.textContent()) ?? '', /Marc Petit \(demo project member\).*Enclave demo/);
      await picker.getByText(tx.added).waitFor();
      assert.equal(await picker.getByRole('button', { name: tx.add }).count(), 0, 'not offered twice');
      assert.deepEqual(await violations(page), []);
      await screenshot(page, `wizard-directory-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: the committee expires a permit now, with its reason; it shows in the trail by name and the audit log keeps the reason`, async () => {
      const title = `Expiration ${lang}`;
      const id = await activeProject(enclave, { title, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      const who = `Comité expiration ${lang}`;
      await context.addCookies([{ ...(await sessionFor(enclave, who, ['access_committee'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto(`/projects/${id}`);
      await useLanguage(page, lang);
      await page.locator('[data-status="active"]').first().waitFor();
      await page.getByTestId('action-expire').click();
      const ask = page.getByTestId('action-expire-confirm');
      assert.match((await ask.textContent()) ?? '', new RegExp(title));
      await ask.locator('textarea[name="reason"]').fill('Study ended early');
      assert.deepEqual(await violations(page), []);
      await ask.getByRole('button', { name: tx.confirm }).click();
      await page.locator('[data-status="expired"]').first().waitFor();
      await page.locator('li, tr', { hasText: tx.expired }).filter({ hasText: who }).first().waitFor();
      assert.equal(await page.getByTestId('action-expire').count(), 0, 'nothing to expire any more');
      const events = await enclave.platform.db.query<{ details: { reason?: string } }>("SELECT details FROM audit_events WHERE target = $1 AND action = 'governance.project.expire' AND outcome = 'success'", [`project:${id}`]);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.details.reason, 'Study ended early', 'the reason is in the trail, as the page says');
      await screenshot(page, `project-expired-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
