/**
 * Operators' acts in the portal (issue 15, item 4): a migration between stores started from the
 * page (with a bandwidth limit, after a confirmation) whose progress the page shows updating
 * while the copy runs, until every file is copied; and the master key rotated after a
 * confirmation, every data key then wrapped by the new key. A real S3-protocol server is the
 * target store; the copy, the journal and the audit log are real.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startS3Server, type S3Server } from '../helpers/s3.ts';
import { violations } from './a11y.ts';
import { ensureWebBuild, launchChromium, newPage, screenshot, sessionFor, skipReason, startEnclave, useLanguage, waitUntil, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();

describe('operator: migrations with live progress, master key rotation', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let s3: S3Server;
  before(async () => {
    await ensureWebBuild();
    s3 = await startS3Server(['e2e-target']);
    [enclave, browser] = await Promise.all([
      startEnclave({ ENCLAVE_S3_ENDPOINT: s3.endpoint, ENCLAVE_S3_BUCKET: 'e2e-target', ENCLAVE_S3_ACCESS_KEY_ID: 'S3RVER', ENCLAVE_S3_SECRET_ACCESS_KEY: 'S3RVER' }, { sample: true }),
      launchChromium(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
    await s3?.close();
  });

  test('fr: a migration started from the page shows its progress moving until every file is copied', async () => {
    const migration = enclave.platform.migration;
    assert.ok(migration !== undefined);
    const plan = await migration.plan({ from: 'local', to: 's3', datasets: ['snds'], actor: { kind: 'service', id: 'e2e' } });
    assert.ok(plan.files.length > 1 && plan.totalBytes > 0);
    // slow enough (about eight seconds) that the page is seen mid-copy
    const kbPerSecond = Math.max(1, Math.ceil(plan.totalBytes / 1024 / 8));

    const { page, context, problems } = await newPage(browser, enclave.url, 'fr');
    await context.addCookies([{ ...(await sessionFor(enclave, 'Opératrice', ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto('/operator');
    await useLanguage(page, 'fr');
    const state = page.getByTestId(`mig-state-${plan.id}`);
    assert.equal(await state.getAttribute('data-state'), 'waiting');
    const run = page.getByTestId(`mig-run-${plan.id}`);
    await run.getByLabel('Débit maximal (Ko/s, facultatif)').fill('beaucoup');
    assert.equal(await run.getByRole('button', { name: 'Lancer' }).count(), 0, 'no run with a bad limit');
    await run.getByText('Un nombre entier de kilo-octets par seconde').waitFor();
    await run.getByLabel('Débit maximal (Ko/s, facultatif)').fill(String(kbPerSecond));
    await run.getByRole('button', { name: 'Lancer' }).click();
    await page.getByTestId(`mig-run-button-${plan.id}-confirm`).getByRole('button', { name: 'Confirmer' }).click();

    const progress = page.getByTestId(`mig-progress-${plan.id}`);
    const done = async (): Promise<number> => Number(await progress.getAttribute('data-done'));
    // mid-copy: running, some bytes but not all
    await waitUntil(async () => (await state.getAttribute('data-state')) === 'running' && (await done()) > 0 && (await done()) < plan.totalBytes, 20_000);
    const seen = await done();
    await screenshot(page, 'operator-migration-running-fr');
    assert.deepEqual(await violations(page), []);
    // the page moves on by itself (no reload), up to the end
    await waitUntil(async () => (await done()) > seen, 20_000);
    await waitUntil(async () => (await state.getAttribute('data-state')) === 'done', 60_000);
    assert.equal(await done(), plan.totalBytes);
    assert.match((await progress.textContent()) ?? '', new RegExp(`${plan.files.length} fichiers sur ${plan.files.length}`));
    await screenshot(page, 'operator-migration-done-fr');

    const events = await enclave.platform.db.query<{ action: string; outcome: string }>("SELECT action, outcome FROM audit_events WHERE action LIKE 'migrate.run%' ORDER BY seq");
    assert.deepEqual(events.map((e) => `${e.action}:${e.outcome}`), ['migrate.run.start:success', 'migrate.run:success']);
    assert.deepEqual(problems(), []);
    await context.close();
  });

  test('en: the master key is rotated after a confirmation, and every data key is then wrapped by the new one', async () => {
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    await context.addCookies([{ ...(await sessionFor(enclave, 'Operator', ['operator'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto('/operator');
    await useLanguage(page, 'en');
    const before = enclave.platform.keys.activeMasterKeyId();
    await page.getByTestId('rotate-master').click();
    await page.getByTestId('rotate-master-confirm').getByRole('button', { name: 'Confirm' }).click();
    const said = page.getByTestId('rotate-said');
    await said.waitFor();
    const after = enclave.platform.keys.activeMasterKeyId();
    assert.notEqual(after, before);
    assert.match((await said.textContent()) ?? '', new RegExp(`${before} → ${after}; \\d+ data keys re-wrapped\\. Back up the keyring now\\.`));
    // the keys table shows the new wrapping key
    await page.locator('section[aria-labelledby="keys-h"] tbody tr').filter({ hasText: after }).first().waitFor();
    assert.equal(await page.locator('section[aria-labelledby="keys-h"] tbody tr').filter({ hasText: before }).count(), 0);
    const active = (await enclave.platform.keys.listKeys()).filter((k) => k.state === 'active');
    assert.ok(active.length > 0 && active.every((k) => k.masterKeyId === after));
    const events = await enclave.platform.db.query<{ outcome: string }>("SELECT outcome FROM audit_events WHERE action = 'keys.rotate_master'");
    assert.deepEqual(events.map((e) => e.outcome), ['success']);
    assert.deepEqual(await violations(page), []);
    await screenshot(page, 'operator-key-rotated-en');
    assert.deepEqual(problems(), []);
    await context.close();
  });
});
