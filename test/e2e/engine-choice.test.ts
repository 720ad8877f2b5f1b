/**
 * The engine per project in the portal (issue 17 item 4), in real Chromium: the member sees the
 * engine of the extract in the workspace's manifest (read-only); the operator sees each project's
 * engine on the operations page and moves one to Trino, with a confirmation. Trino is configured
 * at an address where nothing listens, so the rebuild fails for real and the project comes back
 * to DuckDB, which the page then shows with the reason the move failed, in English and French
 * (the successful move is test/engine-choice-trino.test.ts's).
 * Closed with Trino still unreachable, the project owes Trino the drop of its copy: the page lists
 * it, and a retry from the page says it is still owed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { sessionCookieName } from '../../src/http/auth.ts';
import { EMBEDDED_ISSUER_ID } from '../../src/identity/index.ts';
import { checkedScreenshot } from './a11y.ts';
import { activeProject, demoPrincipal, ensureWebBuild, launchChromium, newPage, sessionFor, skipReason, startEnclave, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();

describe('the engine of a project in the portal', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let project: string;
  let dir: string;

  before(async () => {
    await ensureWebBuild();
    dir = await mkdtemp(join(tmpdir(), 'enclave-e2e-engine-'));
    enclave = await startEnclave({ ENCLAVE_TRINO_URL: 'http://127.0.0.1:9', ENCLAVE_TRINO_RULES_FILE: join(dir, 'rules.json'), ENCLAVE_TRINO_WAREHOUSE: join(dir, 'warehouse') }, { sample: true });
    browser = await launchChromium();
    project = await activeProject(enclave, { title: 'Délivrances', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
    await enclave.platform.extracts.idle();
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the member sees the extract\'s engine in the manifest', async () => {
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    const s = await enclave.platform.identity.login({ issuer: EMBEDDED_ISSUER_ID, subject: 'member', displayName: 'member', email: null, organisation: 'e2e', acr: 'eidas2', amr: ['pwd', 'otp'] });
    await context.addCookies([{ name: sessionCookieName(false), value: s.cookieValue, url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto(`/projects/${project}/workspace`);
    await useLanguage(page, 'en');
    await page.getByTestId('manifest').locator('summary').click();
    assert.equal((await page.getByTestId('manifest-engine').textContent())?.trim(), 'DuckDB (embedded)');
    assert.deepEqual(problems(), []);
    await context.close();
  });

  test('the operator moves a project to Trino from the operations page; the failed rebuild brings it back to DuckDB', async () => {
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    await context.addCookies([{ ...(await sessionFor(enclave, 'op-engine', ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto('/operator');
    await useLanguage(page, 'en');
    const section = page.getByTestId('project-engines');
    const row = section.locator('tbody tr', { hasText: project });
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /DuckDB\s*default/);
    await row.getByTestId('engine-move-trino').click();
    await row.getByTestId('engine-move-trino-confirm').getByRole('button', { name: 'Confirm' }).click();
    assert.match(await section.getByTestId('engine-said').textContent() ?? '', /is moving to Trino/);
    await enclave.platform.engineChoice.idle();
    await page.reload();
    await row.waitFor();
    assert.doesNotMatch(await row.textContent() ?? '', /moving/);
    // why the move failed, on the project's row: where it was going, when, and the revert event's reason
    const failure = (await row.getByTestId('engine-failure').textContent()) ?? '';
    assert.match(failure, /^The last move to Trino failed at .+: the Trino engine is not reachable \(.+\)\. The project was put back\.$/);
    await useLanguage(page, 'fr');
    assert.match((await row.getByTestId('engine-failure').textContent()) ?? '', /^Le dernier déplacement vers Trino a échoué le .+ : the Trino engine is not reachable/);
    await useLanguage(page, 'en');
    assert.equal((await enclave.platform.extracts.current(project))?.engine, 'duckdb');
    const events = await enclave.platform.db.query<{ action: string }>("SELECT action FROM audit_events WHERE target = $1 AND action LIKE 'project.engine.%' ORDER BY seq", [`project:${project}`]);
    assert.deepEqual(events.map((e) => e.action), ['project.engine.change', 'project.engine.revert']);
    const [revert] = await enclave.platform.db.query<{ details: unknown }>("SELECT details FROM audit_events WHERE target = $1 AND action = 'project.engine.revert'", [`project:${project}`]);
    const reason = (typeof revert?.details === 'string' ? JSON.parse(revert.details) as { error: string } : revert?.details as { error: string }).error;
    assert.ok(failure.includes(`: ${reason}. `), `the page gives the revert event's reason: ${reason}`);
    await checkedScreenshot(page, 'operator-engines-en');
    assert.deepEqual(problems(), []);
    await context.close();
  });

  test('closed while Trino is unreachable, the project is listed as owing Trino a drop; a retry from the page says it is still owed', async () => {
    await enclave.platform.governance.take(await demoPrincipal(enclave, 'committee1'), project, 'close');
    await enclave.platform.workspace.settled();
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    await context.addCookies([{ ...(await sessionFor(enclave, 'op-engine', ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto('/operator');
    await useLanguage(page, 'en');
    const owed = page.getByTestId('engine-cleanups');
    const row = owed.locator('tbody tr', { hasText: project });
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /Trino.*1.*not reachable/s);
    await owed.getByTestId('engine-cleanups-retry').click();
    await owed.getByTestId('engine-cleanups-retry-confirm').getByRole('button', { name: 'Confirm' }).click();
    await page.getByTestId('engine-said').waitFor();
    assert.equal((await page.getByTestId('engine-said').textContent())?.trim(), '0 dropped, 1 still owed.');
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /Trino.*2/s);
    await checkedScreenshot(page, 'operator-engine-cleanups-en');
    assert.deepEqual(problems(), []);
    await context.close();
  });
});
