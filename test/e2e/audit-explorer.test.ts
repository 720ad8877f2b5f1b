/**
 * The auditor's explorer (issue 15, item 4), in both languages: events filtered by project and
 * by person, shown by name; an event's inclusion in the latest signed checkpoint checked in the
 * browser, which says so; and a proof altered on its way (intercepted in the browser) is caught
 * by the same check, so the verdict is the browser's own, not the server's word.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkedScreenshot } from './a11y.ts';
import { activeProject, newPage, portalFixture, sessionFor, skipReason, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: { apply: 'Afficher les événements', check: 'Vérifier', included: 'inclus', notIncluded: 'NON inclus', project: 'Projet', person: 'Personne', created: 'Projet créé (brouillon)' },
  en: { apply: 'Show the events', check: 'Check', included: 'included', notIncluded: 'NOT included', project: 'Project', person: 'Person', created: 'Project filed (draft)' },
} as const;

describe('auditor\'s explorer', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];
    test(`${lang}: events filtered by project and person; an event's inclusion proof checked in the browser, and a forged one caught`, async () => {
      const title = `Audit ${lang}`;
      await activeProject(enclave, { title, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      await enclave.platform.audit.checkpoint();
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await context.addCookies([{ ...(await sessionFor(enclave, `auditor-${lang}`, ['auditor'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto('/audit/events');
      await useLanguage(page, lang);
      await page.getByTestId('explorer-checkpoint').waitFor();
      const form = page.getByTestId('explorer-filter');
      await form.getByLabel(tx.project, { exact: true }).selectOption({ label: title });
      await form.getByRole('button', { name: tx.apply }).click();
      await page.locator('tbody tr', { hasText: tx.created }).waitFor();
      const rows = page.locator('section[aria-labelledby="events-h"] tbody tr');
      const texts = await rows.allTextContents();
      assert.ok(texts.length >= 8, `${texts.length} events of the project`);
      assert.ok(texts.some((r) => /Alice Martin/.test(r)), 'people by name');
      assert.ok(texts.every((r) => r.includes(title)), 'every event is about the project, said by its title');

      // the oldest event of the project (its filing): included, checked here
      const created = rows.filter({ hasText: tx.created });
      await created.getByRole('button', { name: tx.check }).click();
      await created.locator('[data-proof]').waitFor();
      assert.equal(await created.locator('[data-proof]').getAttribute('data-proof'), 'ok');
      assert.match((await created.locator('[data-proof]').textContent()) ?? '', new RegExp(tx.included));
      await checkedScreenshot(page, `audit-explorer-${lang}`);

      // a proof altered on its way is caught by the browser's own check
      await page.route('**/api/v1/audit/proof/inclusion**', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as { hashes: string[] };
        const first = body.hashes[0];
        if (first !== undefined) body.hashes[0] = `${first.slice(0, 2) === 'AA' ? 'BB' : 'AA'}${first.slice(2)}`;
        await route.fulfill({ response: res, json: body });
      });
      const button = rows.filter({ hasNotText: tx.created }).getByRole('button', { name: tx.check }).last();
      const seq = ((await button.getAttribute('data-testid')) ?? '').replace('check-', '');
      await button.click();
      const verdict = page.getByTestId(`proof-${seq}`);
      await verdict.waitFor();
      assert.equal(await verdict.getAttribute('data-proof'), 'bad');
      assert.match((await verdict.textContent()) ?? '', new RegExp(tx.notIncluded));
      await page.unroute('**/api/v1/audit/proof/inclusion**');

      // by person: only their acts
      await form.getByLabel(tx.project, { exact: true }).selectOption({ index: 0 });
      await form.getByLabel(tx.person, { exact: true }).selectOption({ label: 'Alice Martin (demo applicant)' });
      await form.getByRole('button', { name: tx.apply }).click();
      await page.waitForTimeout(300);
      const byPerson = await rows.allTextContents();
      assert.ok(byPerson.length > 0 && byPerson.every((r) => r.includes('Alice Martin')), byPerson.join('\n'));
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
