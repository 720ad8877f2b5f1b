/**
 * Search as SNDS users type it (issue 15, item 6), in real Chromium and both languages: from
 * the header's search box on any page, plurals, accents, French and English words and
 * nomenclature codes each find the expected table first; a column hit opens its table scrolled
 * to the column, highlighted. The accessibility checks of a11y.ts pass on the pages visited.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkedScreenshot } from './a11y.ts';
import { newPage, portalFixture, skipReason, useLanguage, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();
const QUERIES = {
  fr: [['médicaments', 'snds.ER_PHA_F'], ['délivrance', 'snds.ER_PHA_F'], ['dispensation', 'snds.ER_PHA_F'], ['hospitalisation', /^snds\.T_MCO/]],
  en: [['pharmacy', 'snds.ER_PHA_F'], ['drug', 'snds.ER_PHA_F'], ['dispensing', 'snds.ER_PHA_F'], ['hospital stays', /^snds\.T_MCO/]],
} as const;

async function headerSearch(page: Page, q: string): Promise<void> {
  const box = page.getByTestId('header-search').locator('input[name="q"]');
  await box.fill(q);
  await box.press('Enter');
  await page.locator('ul.hits li').first().waitFor();
}

describe('catalogue search', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    test(`${lang}: the header's search finds the expected table first for the words people type`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/nomenclatures');
      await useLanguage(page, lang);
      for (const [q, expected] of QUERIES[lang]) {
        await headerSearch(page, q);
        await page.getByRole('heading', { level: 1, name: new RegExp(q) }).waitFor();
        const first = (await page.locator('li.hit[data-kind="table"] .hit-title').first().textContent()) ?? '';
        if (typeof expected === 'string') assert.equal(first, expected, q);
        else assert.match(first, expected, q);
      }
      await checkedScreenshot(page, `search-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: a code finds its nomenclature; a column hit opens its table at the column, highlighted`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/');
      await useLanguage(page, lang);
      await headerSearch(page, 'E11');
      await page.locator('li.hit[data-kind="nomenclature"] .hit-title', { hasText: 'IR_CIM_V' }).waitFor();
      const column = page.locator('li.hit[data-kind="column"] .hit-title', { hasText: 'DGN_PAL' }).first();
      const name = (await column.textContent()) ?? '';
      await column.click();
      const col = name.split('.').pop() ?? '';
      const row = page.locator('tr.row-hit');
      await row.waitFor();
      assert.equal(await row.locator(`#col-${col}`).count(), 1);
      const box = await row.boundingBox();
      const viewport = page.viewportSize();
      assert.ok(box !== null && viewport !== null && box.y >= 0 && box.y + box.height <= viewport.height, 'the highlighted row is on screen');
      await checkedScreenshot(page, `search-column-hit-${lang}`);
      // the way from a table to an application for it
      assert.equal(await page.getByTestId('request-data').getAttribute('href'), '/projects/new?table=T_MCOaaB');
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
