/**
 * Administrators manage people and roles in the portal (issue 15, item 4), in both languages:
 * a reviewing role granted by one administrator is only proposed, the proposer cannot approve
 * it, a second administrator does, and only then does the person hold it; a role outside review
 * applies at once. The accessibility checks of a11y.ts pass.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkedScreenshot } from './a11y.ts';
import { newPage, portalFixture, sessionFor, skipReason, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: { grant: 'Attribuer', confirm: 'Confirmer', approve: 'Approuver', proposed: 'Changement proposé', approved: 'Changement approuvé', done: 'C’est fait.' },
  en: { grant: 'Grant', confirm: 'Confirm', approve: 'Approve', proposed: 'Change proposed', approved: 'Change approved', done: 'Done.' },
} as const;

describe('people and roles', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  const rolesOf = async (subject: string): Promise<readonly string[]> => (await enclave.platform.identity.listPeople()).find((p) => p.subject === subject)?.roles ?? [];

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];
    test(`${lang}: a reviewing role takes two administrators; another role applies at once`, async () => {
      const target = `Nouvelle ${lang}`;
      await sessionFor(enclave, target, []);
      const a = await newPage(browser, enclave.url, lang);
      await a.context.addCookies([{ ...(await sessionFor(enclave, `Admin A ${lang}`, ['admin'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await a.page.goto('/admin');
      await useLanguage(a.page, lang);
      const grant = a.page.getByTestId(`grant-${target}`);
      await grant.waitFor();
      await grant.getByRole('combobox').selectOption('access_committee');
      await grant.getByRole('button', { name: tx.grant }).click();
      await a.page.getByTestId(`grant-button-${target}-confirm`).getByRole('button', { name: tx.confirm }).click();
      assert.match((await a.page.getByTestId('admin-said').textContent()) ?? '', new RegExp(tx.proposed));
      assert.deepEqual(await rolesOf(target), [], 'only proposed');
      const row = a.page.locator('section[aria-labelledby="pending-h"] tbody tr', { hasText: target });
      await row.waitFor();
      assert.equal(await row.getByRole('button', { name: tx.approve }).count(), 0, 'the proposer cannot approve');
      // a role outside review applies at once
      await grant.getByRole('combobox').selectOption('auditor');
      await grant.getByRole('button', { name: tx.grant }).click();
      await a.page.getByTestId(`grant-button-${target}-confirm`).getByRole('button', { name: tx.confirm }).click();
      await a.page.getByTestId('admin-said').filter({ hasText: tx.done }).waitFor();
      assert.deepEqual(await rolesOf(target), ['auditor']);
      await checkedScreenshot(a.page, `admin-proposed-${lang}`);
      await a.context.close();

      const b = await newPage(browser, enclave.url, lang);
      await b.context.addCookies([{ ...(await sessionFor(enclave, `Admin B ${lang}`, ['admin'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await b.page.goto('/admin');
      await useLanguage(b.page, lang);
      const pending = b.page.locator('section[aria-labelledby="pending-h"] tbody tr', { hasText: target });
      await pending.getByRole('button', { name: tx.approve }).click();
      await pending.getByRole('button', { name: tx.confirm }).click();
      await b.page.getByTestId('admin-said').filter({ hasText: tx.approved }).waitFor();
      assert.deepEqual([...(await rolesOf(target))].sort(), ['access_committee', 'auditor']);
      const events = await enclave.platform.db.query<{ action: string }>("SELECT action FROM audit_events WHERE action LIKE 'identity.role%' AND outcome = 'success' ORDER BY seq");
      assert.ok(events.length >= 3, events.map((e) => e.action).join());
      await checkedScreenshot(b.page, `admin-approved-${lang}`);
      assert.deepEqual([...a.problems(), ...b.problems()], []);
      await b.context.close();
    });
  }
});
