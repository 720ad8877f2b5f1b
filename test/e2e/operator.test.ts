/**
 * Operators read a delivery's complete quarantine report in the portal (issue 15, item 4), in
 * both languages: every entry a page at a time, filtered by rule, never only the first lines;
 * and a version holding far fewer rows than the one before is flagged. Real ingestion of a
 * synthetic delivery with injected defects.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingestCommand } from '../../src/cli/commands/ingest.ts';
import { synthCommand } from '../../src/cli/commands/synth.ts';
import { checkedScreenshot } from './a11y.ts';
import { ensureWebBuild, launchChromium, newPage, sessionFor, skipReason, startEnclave, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();

describe('operator: quarantine report and row counts', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let dir: string;
  before(async () => {
    await ensureWebBuild();
    [enclave, browser] = await Promise.all([startEnclave({}, { sample: true }), launchChromium()]);
    // a second delivery with far fewer people: version 2 must be flagged
    dir = await mkdtemp(join(tmpdir(), 'enclave-e2e-op-'));
    const quiet = { write: () => true };
    await synthCommand({ people: 3, years: '2022-2023', seed: 11, out: dir, parquet: false, defects: 0 }, quiet);
    await ingestCommand(enclave.platform, 'snds', [join(dir, 'csv')], quiet);
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const lang of ['fr', 'en'] as const) {
    test(`${lang}: the whole quarantine report, paged and filtered by rule; a shrunken version flagged`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await context.addCookies([{ ...(await sessionFor(enclave, `op-${lang}`, ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
      await page.goto('/operator');
      await useLanguage(page, lang);
      await page.getByTestId('shrunk').first().waitFor();
      const report = page.locator('section[aria-labelledby="quarantine-h"] details').first();
      await report.locator('summary').click();
      const entries = report.locator('.quarantine-entries');
      await entries.locator('tbody tr').first().waitFor();
      // page through everything: the pages add up to the stored report
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const rows = await entries.locator('tbody tr').allTextContents();
        for (const r of rows) seen.add(r);
        const next = entries.getByTestId('quarantine-next');
        if (await next.isDisabled()) break;
        const range = await entries.getByTestId('quarantine-range').textContent();
        await next.click();
        for (let k = 0; k < 100 && (await entries.getByTestId('quarantine-range').textContent()) === range; k++) await new Promise((r) => setTimeout(r, 50));
      }
      const full = await enclave.platform.ingest.quarantine('snds', 1, { offset: 0, limit: 10_000 });
      assert.equal(seen.size, full.entries.length, `pages showed ${seen.size} entries of ${full.entries.length}`);
      process.stdout.write(`${lang}: quarantine report paged in the browser: ${seen.size} entries\n`);
      // filtered by one rule: every entry shown is of that rule
      const rule = Object.keys(full.byRule).sort()[0] ?? '';
      await entries.locator('select').first().selectOption(rule);
      await page.waitForTimeout(300);
      await entries.locator('tbody tr').first().waitFor();
      const rules = await entries.locator('tbody tr td:nth-child(4)').allTextContents();
      assert.ok(rules.length > 0 && rules.every((r) => r === rule), rules.join(','));
      await checkedScreenshot(page, `operator-quarantine-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
