/**
 * The airlock in real Chromium on a real Enclave server (issue 13, "done when"): a member of an
 * active permit builds a release request in the browser from a table saved in the workspace and
 * submits it; the automatic report flags exactly the risky cell with its rule, highlighted in the
 * checker's view; two output checkers approve in the browser; the member downloads the signed
 * bundle and `enclave airlock verify` (the real command) accepts it; every step is in the audit
 * log. French for the member, English and French for the checkers; no console error, CSP included.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { assertAccessible, checkedScreenshot } from './a11y.ts';
import { activeProject, demoPrincipal, ensureWebBuild, launchChromium, loginViaOidc, newPage, sessionFor, skipReason, startEnclave, useLanguage, waitUntil, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const BIN = fileURLToPath(new URL('../../bin/enclave.js', import.meta.url));
/** Dispensings by year, with a year of none on purpose: its zero is the one cell the rules flag (for review). */
const SQL = 'SELECT year(exe_soi_dtd) AS year, count(*) AS n FROM er_prs_f GROUP BY 1 UNION ALL SELECT 2021 AS year, 0 AS n ORDER BY 1';

describe('airlock pages', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let projectId: string;
  let dir: string;
  /** The request released by the first journey (the second checks a differencing pair against it). */
  let released: string | undefined;
  before(async () => {
    await ensureWebBuild();
    dir = await mkdtemp(join(tmpdir(), 'enclave-e2e-airlock-'));
    [enclave, browser] = await Promise.all([startEnclave({}, { sample: true }), launchChromium()]);
    projectId = await activeProject(enclave, {
      title: 'Délivrances par année',
      tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'] }],
      years: { from: 2022, to: 2023 },
    });
    await waitUntil(async () => (await enclave.platform.extracts.current(projectId)) !== null, 120_000);
    // The member saved this result as a table in the workspace (the workspace journey does it in the browser).
    const member = await demoPrincipal(enclave, 'member');
    const q = await (await enclave.platform.workspace.submit(member, projectId, { sql: SQL, saveAs: { name: 'rx_by_year', kind: 'table' } })).done;
    assert.equal(q.status, 'succeeded', JSON.stringify(q.error));
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('a member requests a release, two checkers approve, the member downloads the signed bundle and enclave airlock verify accepts it', async () => {
    const demo = (u: string) => {
      const p = enclave.demo.find((d) => d.username === u);
      assert.ok(p !== undefined, u);
      return p;
    };
    // 1. The member, in French: from the workspace to the airlock, the request built from the saved table.
    const m = await newPage(browser, enclave.url, 'fr');
    await m.page.goto('/');
    await useLanguage(m.page, 'fr');
    await loginViaOidc(m.page, demo('member'));
    await m.page.goto(`/projects/${projectId}/workspace`);
    await m.page.getByTestId('ws-airlock').click();
    assert.equal(new URL(m.page.url()).pathname, `/projects/${projectId}/airlock`);
    const form = m.page.getByTestId('airlock-new');
    await form.getByLabel('Titre').fill('Délivrances par année');
    await form.getByLabel('Ce que sont les résultats et à quoi ils servent').fill('Nombre de délivrances remboursées par année de soins, pour le rapport annuel.');
    await form.getByLabel('Définition de la population').fill('Toutes les personnes de l’extraction, 2022–2023');
    await form.getByTestId('pick-rx_by_year').check();
    await form.getByLabel('Ce que montre rx_by_year').fill('Délivrances par année (2021 : aucune, par construction)');
    await form.getByLabel('Définition de chaque variable de rx_by_year (une par ligne : colonne : définition)').fill('year: année de la date de soins\nn: nombre de délivrances');
    await form.getByTestId('airlock-create').click();
    await m.page.getByTestId('airlock-submit').waitFor();
    const requestPath = new URL(m.page.url()).pathname;
    assert.match(requestPath, /^\/airlock\/requests\/[0-9a-f-]{36}$/);
    const requestId = requestPath.split('/').at(-1) ?? '';
    released = requestId;
    await m.page.getByTestId('airlock-submit').click();
    await m.page.locator('[data-testid="request-status"][data-status="submitted"]').waitFor();
    assert.match((await m.page.getByTestId('report-summary').textContent()) ?? '', /cellules contrôlées : 0 bloquantes, 1 à examiner/);
    await checkedScreenshot(m.page, 'airlock-member-submitted-fr');

    // 2. The first checker, in English: the queue, the flagged cell highlighted with its reason, the vote.
    const c1 = await newPage(browser, enclave.url, 'en');
    await c1.page.goto('/');
    await useLanguage(c1.page, 'en');
    await loginViaOidc(c1.page, demo('checker'));
    await c1.page.getByRole('link', { name: 'Airlock' }).click();
    await c1.page.getByRole('link', { name: 'Open the request Délivrances par année' }).click();
    const grid = c1.page.getByTestId('grid-rx_by_year');
    await grid.waitFor();
    const flagged = grid.locator('td[data-flag]');
    assert.equal(await flagged.count(), 1, 'exactly one cell is flagged');
    assert.equal(await flagged.getAttribute('data-rules'), 'zero');
    assert.equal(await flagged.getAttribute('data-flag'), 'review');
    assert.match((await flagged.locator('xpath=..').textContent()) ?? '', /^2021/, 'the flagged cell is the zero of 2021');
    assert.equal(await c1.page.getByTestId('flags-rx_by_year').locator('li[data-rule="zero"]').count(), 1, 'its reason is listed beside the table');
    assert.match((await c1.page.getByTestId('ledger-rx_by_year').textContent()) ?? '', /No conflict with an earlier release/);
    await checkedScreenshot(c1.page, 'airlock-checker-view-en');
    const decision = c1.page.getByTestId('decision-rx_by_year');
    assert.ok(await decision.getByTestId('decision-rx_by_year-approve').isChecked(), 'approve is proposed for an output with flags for review only');
    await decision.getByLabel('Comment').fill('A zero by construction: the year is outside the permit.');
    await c1.page.getByTestId('airlock-send-review').click();
    await c1.page.locator('[data-testid="request-status"][data-status="in_review"]').waitFor();
    assert.equal(await c1.page.getByTestId('airlock-review').count(), 0, 'no second vote is offered to the same checker');

    // The member cannot download after one approval.
    const early = await m.page.request.get(`/api/v1/airlock/requests/${requestId}/bundle`);
    assert.equal(early.status(), 409);

    // 3. The second checker, in French, with a session of their own.
    const c2 = await newPage(browser, enclave.url, 'fr');
    await c2.context.addCookies([{ ...(await sessionFor(enclave, 'checker-2', ['output_checker'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await c2.page.goto(`/airlock/requests/${requestId}`);
    await useLanguage(c2.page, 'fr');
    await c2.page.getByTestId('airlock-review').waitFor();
    await c2.page.getByTestId('decision-rx_by_year').getByLabel('Commentaire').fill('Zéro structurel, sans risque.');
    await c2.page.getByRole('button', { name: 'Envoyer mon contrôle' }).click();
    await c2.page.locator('[data-testid="request-status"][data-status="released"]').waitFor();
    await checkedScreenshot(c2.page, 'airlock-released-fr');
    assert.equal(await c2.page.getByTestId('airlock-download').count(), 0, 'checkers do not download');

    // 4. The member downloads the signed bundle; the real command verifies it against the published key.
    await m.page.reload();
    await m.page.getByTestId('airlock-download').waitFor();
    const [download] = await Promise.all([m.page.waitForEvent('download'), m.page.getByTestId('airlock-download').click()]);
    const file = join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const key = (JSON.parse(await (await fetch(`${enclave.url}/api/v1/airlock/signing-key`)).text()) as { publicKey: string }).publicKey;
    const run = await promisify(execFile)(process.execPath, [BIN, 'airlock', 'verify', file, '--public-key', key], { env: { ...process.env, ENCLAVE_URL: '', ENCLAVE_TOKEN: '' } });
    assert.match(run.stdout, /OK {3}signature: Ed25519 signature valid with the given public key/);
    assert.match(run.stdout, /OK {3}four eyes rx_by_year: approved by 2 distinct checkers, none the requester/);
    assert.match(run.stdout, /verified: \d+ checks passed/);
    const bundle = JSON.parse(await readFile(file, 'utf8')) as { files: Record<string, string> };
    assert.match(bundle.files['rx_by_year.csv'] ?? '', /^year,n\n2021,0\n2022,\d+\n2023,\d+\n$/);

    // 5. Every step is in the audit log, by whom it was done.
    const who = new Map([[(await demoPrincipal(enclave, 'member')).personId, 'member'], [(await demoPrincipal(enclave, 'checker')).personId, 'checker']]);
    const steps: string[] = [];
    for await (const l of enclave.platform.audit.lines()) {
      if (l.event?.target === `airlock-request:${requestId}` && l.event.outcome === 'success') steps.push(`${l.event.action}:${who.get(l.event.actor.id) ?? 'checker-2'}`);
    }
    assert.deepEqual(steps, ['airlock.request.create:member', 'airlock.output.add:member', 'airlock.request.submit:member', 'airlock.request.review:checker', 'airlock.request.review:checker-2', 'airlock.release.download:member']);
    for (const p of [m, c1, c2]) assert.deepEqual(p.problems(), []);
    for (const p of [m, c1, c2]) await p.context.close();
    // Nobody outside the project gets the bundle, in the browser either.
    const x = await newPage(browser, enclave.url, 'en');
    await x.context.addCookies([{ ...(await sessionFor(enclave, 'stranger', ['applicant'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    assert.equal((await x.page.request.get(`/api/v1/airlock/requests/${requestId}/bundle`)).status(), 403);
    await x.page.goto(`/airlock/requests/${requestId}`);
    await x.page.locator('[data-state="error"]').waitFor();
    assert.equal(await x.page.getByTestId('airlock-download').count(), 0);
    await assertAccessible(x.page, 'a release request refused to a stranger');
    await x.context.close();
  });

  test('a checker sees a differencing pair flagged by the ledger, naming the earlier release, with the safe version, and cannot approve it', async () => {
    assert.ok(released !== undefined, 'runs after the first journey');
    const member = await demoPrincipal(enclave, 'member');
    const first = await enclave.platform.airlock.get(member, released);
    // The same count with five dispensings of 2022 left out: the difference isolates five of them.
    const sql = 'SELECT year(exe_soi_dtd) AS year, count(*) AS n FROM (SELECT exe_soi_dtd, row_number() OVER (ORDER BY exe_soi_dtd) AS rn FROM er_prs_f) WHERE rn > 5 GROUP BY 1 ORDER BY 1';
    const q = await (await enclave.platform.workspace.submit(member, projectId, { sql, saveAs: { name: 'rx_most', kind: 'table' } })).done;
    assert.equal(q.status, 'succeeded', JSON.stringify(q.error));
    const r = await enclave.platform.airlock.createRequest(member, { projectId, title: 'Délivrances par année (sauf cinq)', description: 'Le même décompte, cinq délivrances en moins', population: 'Toutes les personnes de l’extraction, 2022–2023' });
    await enclave.platform.airlock.addOutput(member, r.request.id, { table: 'rx_most', description: 'délivrances par année', variables: { n: 'nombre de délivrances' } });
    await enclave.platform.airlock.submit(member, r.request.id);

    const c = await newPage(browser, enclave.url, 'en');
    await c.context.addCookies([{ ...(await sessionFor(enclave, 'checker-3', ['output_checker'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await c.page.goto(`/airlock/requests/${r.request.id}`);
    await useLanguage(c.page, 'en');
    const grid = c.page.getByTestId('grid-rx_most');
    await grid.waitFor();
    assert.equal(await c.page.getByTestId('output-status-rx_most').getAttribute('data-status'), 'blocked');
    const flagged = grid.locator('td[data-flag="block"]');
    assert.equal(await flagged.count(), 1, 'exactly the cell of 2022 is flagged');
    assert.match((await flagged.getAttribute('data-rules')) ?? '', /\bdifferencing\b/);
    assert.match((await flagged.locator('xpath=..').textContent()) ?? '', /^2022/);
    const ledger = (await c.page.getByTestId('ledger-rx_most').textContent()) ?? '';
    assert.ok(first.release !== null && ledger.includes(first.release.id), 'the earlier release is named');
    assert.match(ledger, /differ by 5/);
    const safe = c.page.getByTestId('safe-rx_most');
    await safe.waitFor();
    assert.match((await safe.locator('tbody tr').first().textContent()) ?? '', /^2022—/, 'the safe version suppresses the 2022 cell');
    await checkedScreenshot(c.page, 'airlock-differencing-en');
    // The form proposes a return; an approval is refused by the server, with its reason.
    const decision = c.page.getByTestId('decision-rx_most');
    assert.ok(await decision.getByTestId('decision-rx_most-return').isChecked());
    await decision.getByTestId('decision-rx_most-approve').check();
    await c.page.getByTestId('airlock-send-review').click();
    await c.page.locator('[data-state="error"]', { hasText: 'blocked by the disclosure rules' }).waitFor();
    await decision.getByTestId('decision-rx_most-return').check();
    await decision.getByLabel('Comment').fill('Apply the safe version: it differences with an earlier release.');
    await c.page.getByTestId('airlock-send-review').click();
    await c.page.locator('[data-testid="request-status"][data-status="returned"]').waitFor();
    assert.deepEqual(c.problems().filter((p) => !/status of 422/.test(p)), []);
    await c.context.close();
  });
});
