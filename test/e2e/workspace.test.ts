/**
 * The workspace in real Chromium, on a real Enclave server with a synthetic delivery ingested for
 * real (issue 12, "done when"): a member of an active permit opens the project's workspace,
 * explores the extract's schema and manifest, writes SQL with the editor's completion, runs it
 * from the keyboard, pages the result, draws a chart of it, saves a result as a scratch table and
 * finds it in the schema and in completion, sees the reason of a refused statement, reloads a
 * statement from the history, and saves, loads and deletes a query. In French and in English,
 * with no console error (the portal's CSP included).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkedScreenshot } from './a11y.ts';
import { activeProject, demoPrincipal, ensureWebBuild, launchChromium, loginViaOidc, newPage, skipReason, startEnclave, useLanguage, waitUntil, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();
/**
 * The journey runs on the real server: the permit coming into force builds the project's extract
 * (src/workspace/extract) from the sample delivery, and the workspace routes query it.
 */

const TX = {
  fr: {
    entry: 'Ouvrir l’espace de travail', checkAgain: 'Vérifier de nouveau', chart: 'Graphique rapide', chartKind: 'Type de graphique', chartY: 'Valeur (colonne numérique)',
    saveAs: 'Enregistrer le résultat comme table de travail', saveAsName: 'Nom', run: 'Exécuter', manifest: 'Manifeste de l’extraction',
    saveQueryName: 'Enregistrer le SQL actuel sous le nom', saveQuery: 'Enregistrer la requête', load: (n: string) => `Charger la requête enregistrée ${n}`, del: (n: string) => `Supprimer la requête enregistrée ${n}`,
    firstPage: /^1–100 sur \d/, secondPage: /^101–200 sur \d/, generic: 'Une erreur est survenue',
  },
  en: {
    entry: 'Open the workspace', checkAgain: 'Check again', chart: 'Quick chart', chartKind: 'Chart type', chartY: 'Value (numeric column)',
    saveAs: 'Save the result as a scratch table', saveAsName: 'Name', run: 'Run', manifest: 'Manifest of the extract',
    saveQueryName: 'Save the current SQL as', saveQuery: 'Save the query', load: (n: string) => `Load the saved query ${n}`, del: (n: string) => `Delete the saved query ${n}`,
    firstPage: /^1–100 of \d/, secondPage: /^101–200 of \d/, generic: 'Something went wrong',
  },
} as const;

/** The part of a browser canvas read here (the tests are type-checked without the DOM library). */
interface Canvas {
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { readonly data: ArrayLike<number> } } | null;
}

/** Replaces the editor's text by typing, as a person does (select all, then type). */
async function typeSql(page: Page, sql: string): Promise<void> {
  await page.getByTestId('sql-editor').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(sql);
  // closes a completion popup left open by the last word
  await page.keyboard.press('Escape');
}

async function runWithKeyboard(page: Page): Promise<void> {
  await page.getByTestId('sql-editor').focus();
  await page.keyboard.press('ControlOrMeta+Enter');
}

async function editorText(page: Page): Promise<string> {
  return (await page.getByTestId('sql-editor').textContent()) ?? '';
}

describe('workspace pages', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let projectId: string;
  before(async () => {
    await ensureWebBuild();
    [enclave, browser] = await Promise.all([startEnclave({}, { sample: true }), launchChromium()]);
    projectId = await activeProject(enclave, {
      title: 'Délivrances par nature de prestation',
      tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'PRS_ACT_QTE'] }],
      years: { from: 2022, to: 2023 },
    });
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
  });

  for (const lang of ['fr', 'en'] as const) {
    test(`${lang}: a member explores the extract, runs SQL written with completion, pages and charts it, saves a table and sees why a statement is refused`, async () => {
      const tx = TX[lang];
      const person = enclave.demo.find((d) => d.username === 'member');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      try {
        await page.goto('/');
        await useLanguage(page, lang);
        await loginViaOidc(page, person);
        await page.goto(`/projects/${projectId}`);
        await page.getByTestId('workspace-entry').getByRole('link', { name: tx.entry }).click();
        assert.equal(new URL(page.url()).pathname, `/projects/${projectId}/workspace`);

        // The extract is built when the permit becomes active: the page says so until it is ready.
        await waitUntil(async () => {
          if ((await page.locator('[data-workspace-status="ready"]').count()) > 0) return true;
          const again = page.getByRole('button', { name: tx.checkAgain });
          if ((await again.count()) > 0) await again.click();
          return false;
        }, 120_000);

        // Schema browser, from the keyboard: columns with their type, description and sensitivity.
        const table = page.getByTestId('schema-extract').locator('li[data-table="er_prs_f"]');
        await table.locator('summary').focus();
        await page.keyboard.press('Enter');
        const nir = table.locator('tr[data-column="ben_nir_psa"]');
        await nir.waitFor();
        assert.equal(await nir.locator('[data-sensitivity="pseudonym"]').count(), 1, 'the pseudonym is badged as such');
        assert.match((await table.locator('tr[data-column="prs_nat_ref"] td').first().textContent()) ?? '', /\S/, 'a column shows its type');
        assert.ok((await table.locator('.ws-col-desc').count()) >= 1, 'catalogue descriptions are shown');
        assert.equal(await table.locator('tr[data-column="ben_nir"]').count(), 0, 'no direct identifier reaches the extract');

        // The manifest: tables, row counts, key id and each file's SHA-256.
        await page.getByTestId('manifest').locator('summary').click();
        const manifestRow = page.getByTestId('manifest-tables').getByRole('row', { name: /er_prs_f/ });
        assert.match((await manifestRow.textContent()) ?? '', /[0-9a-f]{64}/);
        assert.match((await page.getByTestId('manifest-key').textContent()) ?? '', /\S/);
        await checkedScreenshot(page, `workspace-schema-${lang}`);

        // SQL written with completion: the popup offers the extract's table.
        await page.getByTestId('sql-editor').click();
        await page.keyboard.type('SELECT prs_nat_ref, count(*) AS n FROM er_p');
        const popup = page.locator('.cm-tooltip-autocomplete');
        // the popup opened by an earlier word is replaced as the prefix grows: wait for the table
        await popup.locator('li', { hasText: 'er_prs_f' }).first().waitFor();
        assert.match((await popup.locator('li').first().textContent()) ?? '', /er_prs_f/, 'the extract\'s table is the first completion of "er_p"');
        await checkedScreenshot(page, `workspace-completion-${lang}`);
        await page.keyboard.press('Enter');
        await page.keyboard.type(' GROUP BY prs_nat_ref ORDER BY n DESC');
        await page.keyboard.press('Escape');
        assert.match(await editorText(page), /FROM er_prs_f GROUP BY/);
        // No keyboard trap: Tab leaves the editor for the next control.
        await page.keyboard.press('Tab');
        assert.ok(await page.getByLabel(tx.saveAs).evaluate((el) => (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement === el), 'Tab moves out of the editor');
        await runWithKeyboard(page);
        const result = page.getByTestId('result');
        await result.waitFor();
        await page.getByTestId('result-grid').waitFor();
        assert.ok((await page.getByTestId('result-grid').locator('tbody tr').count()) >= 1);
        assert.match((await page.getByTestId('result-sha').textContent()) ?? '', /^[0-9a-f]{64}$/);

        // A quick chart of it: a line of n by prs_nat_ref, with a caption; the table stays.
        await result.locator('summary', { hasText: tx.chart }).click();
        const chart = page.getByTestId('chart');
        await chart.getByLabel(tx.chartKind, { exact: true }).selectOption('line');
        assert.equal(await chart.getByLabel(tx.chartY).inputValue(), 'n');
        const canvas = page.getByTestId('chart-canvas');
        await waitUntil(async () => (await canvas.evaluate((c) => {
          const el = c as unknown as Canvas;
          const data = el.getContext('2d')?.getImageData(0, 0, el.width, el.height).data ?? [];
          let painted = 0;
          for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted++;
          return painted;
        })) > 0);
        assert.match((await page.getByTestId('chart-caption').textContent()) ?? '', /n.*prs_nat_ref/);
        assert.equal(await canvas.getAttribute('aria-labelledby') !== null, true);
        assert.ok(await page.getByTestId('result-grid').isVisible(), 'the data table stays available beside the chart');
        await checkedScreenshot(page, `workspace-chart-${lang}`);

        // Every row of the table, read by pages of 100.
        await typeSql(page, 'SELECT * FROM er_prs_f ORDER BY exe_soi_dtd');
        await runWithKeyboard(page);
        const range = page.getByTestId('page-range').first();
        await range.waitFor();
        assert.match((await range.textContent()) ?? '', tx.firstPage);
        await page.getByTestId('next-page').first().click();
        await waitUntil(async () => tx.secondPage.test((await range.textContent()) ?? ''));
        await waitUntil(async () => (await page.getByTestId('result-grid').locator('tbody tr').first().locator('td').first().textContent()) === '101');
        await checkedScreenshot(page, `workspace-pages-${lang}`);

        // A result saved as a scratch table appears in the schema and in completion.
        const saved = `per_person_${lang}`;
        await typeSql(page, 'SELECT ben_nir_psa, count(*) AS n FROM er_prs_f GROUP BY ben_nir_psa');
        await page.getByLabel(tx.saveAs).check();
        await page.getByLabel(tx.saveAsName, { exact: true }).fill(saved);
        await page.getByRole('button', { name: tx.run, exact: true }).click();
        await page.getByTestId('saved-table').waitFor();
        await page.getByTestId('schema-scratch').locator(`li[data-table="${saved}"]`).waitFor();
        await page.getByLabel(tx.saveAs).uncheck();
        await typeSql(page, 'SELECT * FROM per_person_');
        await page.keyboard.type(lang.slice(0, 1));
        await popup.locator('li', { hasText: saved }).waitFor();
        await page.keyboard.press('Escape');
        await checkedScreenshot(page, `workspace-saved-table-${lang}`);

        // A long statement shows that it runs, with its progress, until it is cancelled.
        await typeSql(page, 'SELECT count(*) FROM er_prs_f a, er_prs_f b, er_prs_f c, er_prs_f d');
        await runWithKeyboard(page);
        await page.getByTestId('running').waitFor();
        await page.getByTestId('running').locator('progress').waitFor();
        await checkedScreenshot(page, `workspace-running-${lang}`);
        await page.getByTestId('cancel').click();
        await page.getByTestId('query-cancelled').waitFor();
        assert.ok(await page.getByTestId('run').isEnabled());

        // A refused statement says why and how to go on, not a generic failure.
        await typeSql(page, "SELECT * FROM read_csv('/etc/passwd')");
        await runWithKeyboard(page);
        const refused = page.getByTestId('query-refused');
        await refused.waitFor();
        assert.match((await page.getByTestId('refused-reason').textContent()) ?? '', /\S{3,}/);
        assert.doesNotMatch((await refused.textContent()) ?? '', new RegExp(tx.generic));
        await checkedScreenshot(page, `workspace-refused-${lang}`);

        // The history reloads a statement into the editor.
        const history = page.getByTestId('history');
        await history.getByRole('button', { name: /GROUP BY prs_nat_ref/ }).first().click();
        assert.match(await editorText(page), /GROUP BY prs_nat_ref ORDER BY n DESC/);

        // Saved queries: save the current SQL, load it back, delete it (its author may).
        const name = `nature-${lang}`;
        await page.getByLabel(tx.saveQueryName).fill(name);
        await page.getByRole('button', { name: tx.saveQuery }).click();
        await page.getByRole('button', { name: tx.load(name) }).waitFor();
        await typeSql(page, 'SELECT 1');
        await page.getByRole('button', { name: tx.load(name) }).click();
        assert.match(await editorText(page), /GROUP BY prs_nat_ref/);
        await checkedScreenshot(page, `workspace-saved-queries-${lang}`);
        await page.getByRole('button', { name: tx.del(name) }).click();
        await waitUntil(async () => (await page.getByRole('button', { name: tx.load(name) }).count()) === 0);

        assert.deepEqual(problems(), []);
      } finally {
        await context.close();
      }
    });
  }

  test('a member finds the workspace on the active project\'s page, and the workspace says what state its extract is in', async () => {
    const person = enclave.demo.find((d) => d.username === 'member');
    assert.ok(person !== undefined);
    const { page, context, problems } = await newPage(browser, enclave.url, 'fr');
    try {
      await page.goto('/');
      await useLanguage(page, 'fr');
      await loginViaOidc(page, person);
      await page.goto(`/projects/${projectId}`);
      await page.getByTestId('workspace-entry').getByRole('link', { name: TX.fr.entry }).click();
      await page.getByRole('heading', { level: 1, name: /Espace de travail/ }).waitFor();
      assert.equal(new URL(page.url()).pathname, `/projects/${projectId}/workspace`);
      const status = page.locator('[data-workspace-status]');
      await status.waitFor();
      const state = await status.getAttribute('data-workspace-status');
      assert.ok(['ready', 'building', 'none', 'failed'].includes(state ?? ''), `status ${state}`);
      if (state !== 'ready') {
        // not a failure: what is happening and what to do, with a way to check again
        assert.match((await page.getByTestId('workspace-not-ready').textContent()) ?? '', /extraction/i);
        await page.getByRole('button', { name: TX.fr.checkAgain }).click();
        await status.waitFor();
      }
      await checkedScreenshot(page, `workspace-status-${state ?? ''}-fr`);
      assert.deepEqual(problems(), []);
    } finally {
      await context.close();
    }
  });

  test('a reviewer of the access committee finds the extract\'s manifest from the project page: metadata, never an editor or rows', async () => {
    const person = enclave.demo.find((d) => d.username === 'committee1');
    assert.ok(person !== undefined);
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    try {
      await page.goto('/');
      await useLanguage(page, 'en');
      await loginViaOidc(page, person);
      await page.goto(`/projects/${projectId}`);
      assert.equal(await page.getByTestId('workspace-entry').count(), 0);
      await page.getByTestId('workspace-manifest-entry').getByRole('link', { name: 'Extract manifest' }).click();
      await page.getByTestId('workspace-reviewer').waitFor();
      assert.equal(new URL(page.url()).pathname, `/projects/${projectId}/workspace`);
      const state = await page.locator('[data-workspace-status]').getAttribute('data-workspace-status');
      if (state === 'ready') await page.getByTestId('manifest').waitFor();
      assert.equal(await page.getByTestId('sql-editor').count(), 0);
      assert.equal(await page.getByTestId('ws-airlock').count(), 0);
      await checkedScreenshot(page, 'workspace-reviewer-en');
      assert.deepEqual(problems(), []);
    } finally {
      await context.close();
    }
  });

  test('a suspended permit: the project page offers no workspace and the workspace says why', async () => {
    const suspended = await activeProject(enclave, { title: 'Suspendu', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
    await enclave.platform.governance.take(await demoPrincipal(enclave, 'committee1'), suspended, 'suspend', { comment: 'audit in progress' });
    const person = enclave.demo.find((d) => d.username === 'member');
    assert.ok(person !== undefined);
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    try {
      await page.goto('/');
      await useLanguage(page, 'en');
      await loginViaOidc(page, person);
      await page.goto(`/projects/${suspended}`);
      await page.locator('[data-status="suspended"]').waitFor();
      assert.equal(await page.getByTestId('workspace-entry').count(), 0);
      await page.goto(`/projects/${suspended}/workspace`);
      const refused = page.getByTestId('workspace-forbidden');
      await refused.waitFor();
      assert.match((await refused.textContent()) ?? '', /not open to you.*suspended/);
      assert.equal(await page.getByTestId('sql-editor').count(), 0);
      await checkedScreenshot(page, 'workspace-suspended-en');
      assert.deepEqual(problems(), []);
    } finally {
      await context.close();
    }
  });
});
