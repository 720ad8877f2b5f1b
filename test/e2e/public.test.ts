/**
 * The public portal in real Chromium, in both languages: find a table and its columns in the
 * catalogue, read each column's sensitivity, follow the links between tables in the diagram,
 * browse a nomenclature, the register of permits and the audit checkpoint. No login.
 */
import { checkedScreenshot } from './a11y.ts';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newPage, portalFixture, serveWith, sessionFor, skipReason, useLanguage, waitUntil, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const LANGS = ['fr', 'en'] as const;
const TEXT = {
  fr: { search: 'Rechercher', potential: 'Identifiant potentiel', pseudonym: 'Pseudonyme', results: 'Résultats pour', registerEmpty: /Aucune autorisation|ne publie pas encore/, tables: 'Liens entre les tables' },
  en: { search: 'Search', potential: 'Potential identifier', pseudonym: 'Pseudonym', results: 'Results for', registerEmpty: /No permit has been granted|not published by this server/, tables: 'Links between tables' },
} as const;

describe('public portal', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  }, {}, { sample: true });

  for (const lang of LANGS) {
    const tx = TEXT[lang];

    test(`${lang}: a visitor searches the catalogue and reads a table's columns with their sensitivity`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      const res = await page.goto('/');
      const csp = res?.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      await useLanguage(page, lang);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.getByRole('link', { name: /Système national des données de santé/ }).waitFor();
      await checkedScreenshot(page, `public-catalogue-${lang}`);

      await page.getByRole('searchbox').fill('date de soins');
      // the page's own search form (the header has one too)
      await page.getByRole('main').getByRole('button', { name: tx.search, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: new RegExp(tx.results) }).waitFor();
      const hit = page.getByRole('link', { name: 'ER_PRS_F.EXE_SOI_DTD' });
      await hit.waitFor();
      await checkedScreenshot(page, `public-search-${lang}`);

      await hit.click();
      await page.getByRole('heading', { level: 1, name: /ER_PRS_F/ }).waitFor();
      const row = page.locator('tr', { has: page.locator('#col-EXE_SOI_DTD') });
      assert.equal((await row.locator('[data-sensitivity]').textContent())?.trim(), tx.potential);
      const pseudo = page.locator('tr', { has: page.locator('#col-BEN_NIR_PSA') });
      assert.equal((await pseudo.locator('[data-sensitivity]').textContent())?.trim(), tx.pseudonym);
      assert.equal(await row.locator('td').nth(0).textContent(), 'date');
      await checkedScreenshot(page, `public-table-${lang}`);

      // Filtering the columns to the potential identifiers only.
      await page.getByRole('combobox').selectOption('potential_identifier');
      const shown = await page.locator('tbody tr [data-sensitivity]').allTextContents();
      assert.ok(shown.length >= 3 && shown.every((s) => s.trim() === tx.potential), shown.join(','));
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: the links between tables are drawn as a diagram whose boxes open the tables`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/datasets/snds');
      await useLanguage(page, lang);
      await page.getByRole('heading', { level: 2, name: tx.tables }).waitFor();
      const svg = page.locator('svg.diagram-svg');
      // The built-in catalogue is the whole main base (186 tables): every one is a box.
      assert.equal(await svg.locator('a.diagram-node').count(), 186);
      assert.equal(await svg.locator('path[data-from="ER_PHA_F"][data-to="ER_PRS_F"]').count(), 1);
      // the link says its join columns, and each box its table's label
      assert.match((await svg.locator('text[data-join^="DCT_ORD_NUM"]').first().textContent()) ?? '', /^DCT_ORD_NUM \+8$/);
      assert.match((await svg.locator('a[data-table="ER_PHA_F"] .diagram-title').textContent()) ?? '', /^Pharmacie/);
      assert.equal(await svg.locator('path[data-from="ER_PRS_F"][data-to="IR_BEN_R"]').count(), 1);
      assert.equal(await svg.locator('path[data-from="T_MCOaaC"][data-to="IR_BEN_R"]').count(), 1);
      await checkedScreenshot(page, `public-dataset-${lang}`);
      await svg.locator('a[data-table="IR_BEN_R"]').click();
      await page.getByRole('heading', { level: 1, name: /IR_BEN_R/ }).waitFor();
      // The table's own neighbourhood: the tables that refer to it.
      await page.locator('svg.diagram-svg a[data-table="ER_PRS_F"]').waitFor();
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: nomenclatures, the public register and the audit checkpoint need no login`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/nomenclatures');
      await useLanguage(page, lang);
      await page.getByRole('link', { name: 'IR_CIM_V' }).click();
      await page.getByRole('heading', { level: 1, name: 'IR_CIM_V' }).waitFor();
      await page.locator('tbody tr').first().waitFor();
      await page.getByRole('searchbox').fill('diabète');
      await waitUntil(async () => {
        const rows = await page.locator('tbody tr').allTextContents();
        return rows.length > 0 && rows.every((r) => /diab[eè]te/i.test(r));
      });
      await checkedScreenshot(page, `public-nomenclature-${lang}`);

      await page.getByRole('navigation').getByRole('link', { name: lang === 'fr' ? 'Registre des autorisations' : 'Register of permits' }).click();
      await page.locator('[data-state="empty"]').waitFor();
      assert.match((await page.locator('[data-state="empty"]').textContent()) ?? '', tx.registerEmpty);
      await checkedScreenshot(page, `public-register-${lang}`);

      await page.getByRole('navigation').getByRole('link', { name: lang === 'fr' ? 'Journal d’audit' : 'Audit log' }).click();
      await page.getByTestId('tree-size').waitFor();
      await checkedScreenshot(page, `public-audit-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }

  test('keyboard: the skip link reaches the content and every control has a name', async () => {
    const { page, context } = await newPage(browser, enclave.url, 'fr');
    await page.goto('/datasets/snds/tables/ER_PRS_F');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    const first = await page.evaluate('document.activeElement?.className');
    assert.equal(first, 'skip-link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('location.hash'), '#main');
    const unnamed = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')].filter((el) => {
        const label = el.id === '' ? null : document.querySelector('label[for="' + el.id + '"]');
        return label === null && !el.getAttribute('aria-label') && el.textContent.trim() === '';
      }).length`);
    assert.equal(unnamed, 0);
    await context.close();
  });

  test('an unknown page says so, and an unknown API path stays a problem+json 404', async () => {
    const { page, context } = await newPage(browser, enclave.url, 'en');
    await page.goto('/no/such/page');
    await useLanguage(page, 'en');
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    const api = await page.request.get('/api/v1/no-such-route');
    assert.equal(api.status(), 404);
    assert.match(api.headers()['content-type'] ?? '', /problem\+json/);
    await page.goto('/datasets/nope');
    await page.locator('[role="alert"]').waitFor();
    await checkedScreenshot(page, 'public-error-en');
    await context.close();
  });


  for (const lang of LANGS) {
    test(`${lang}: an operator sees datasets with their versions and keys by id and state`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await context.addCookies([{ ...(await sessionFor(enclave, 'operator', ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto('/operator');
      await useLanguage(page, lang);
      await page.getByRole('rowheader', { name: 'snds' }).waitFor();
      const keys = page.locator('section[aria-labelledby="keys-h"] tbody tr');
      await keys.first().waitFor();
      assert.ok((await keys.count()) >= 1);
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', /wrappedKey|material/i);
      // The delivery had injected defects: its quarantine report shows counts per rule and lines.
      const report = page.locator('section[aria-labelledby="quarantine-h"] details').first();
      await report.waitFor();
      await report.locator('summary').click();
      // the entries come a page at a time from the server, after the counts per rule
      await report.locator('.quarantine-entries tbody tr').first().waitFor();
      assert.match((await report.textContent()) ?? '', /\.csv/);
      assert.match((await report.textContent()) ?? '', /required|type|enum|pattern|range|nomenclature/);
      await checkedScreenshot(page, `operator-${lang}`);
      // A person without the operator role is told the page is not for them.
      const other = await newPage(browser, enclave.url, lang);
      await other.context.addCookies([{ ...(await sessionFor(enclave, 'applicant', ['applicant'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await other.page.goto('/operator');
      await other.page.locator('[data-state="forbidden"]').waitFor();
      await other.context.close();
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }

  test('the portal opens in the language set by ENCLAVE_LANGUAGE', async () => {
    // The same platform served a second time with ENCLAVE_LANGUAGE=en (a whole second server
    // would only repeat the catalogue import).
    const en = await serveWith(enclave, { language: 'en' });
    try {
      const { page, context } = await newPage(browser, en.url, 'fr');
      await page.goto('/');
      await page.getByRole('heading', { level: 1, name: 'Data catalogue' }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      await context.close();
    } finally {
      await en.close();
    }
  });
});
