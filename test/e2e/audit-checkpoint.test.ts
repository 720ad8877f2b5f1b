/**
 * The auditor's explorer checks the latest checkpoint in the browser (issue 15, item 4): the
 * log's Ed25519 signature and a real witness's cosignature are verified with WebCrypto in the
 * page; a checkpoint altered on its way is reported invalid, and so is an event's inclusion
 * proof against it; a proof altered on its way is caught by the page's own Merkle check.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifierKey } from '../../src/audit/index.ts';
import { startWitnessServer } from '../../src/audit/witness.ts';
import { violations } from './a11y.ts';
import { ensureWebBuild, launchChromium, newPage, screenshot, sessionFor, skipReason, startEnclave, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const LOG_NAME = 'enclave.e2e/audit';

describe('auditor\'s explorer: the checkpoint and its witness checked in the browser', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  let dir: string;
  let witness: Awaited<ReturnType<typeof startWitnessServer>>;
  before(async () => {
    await ensureWebBuild();
    // The log key exists before the server so that the witness can be told to trust it.
    dir = await mkdtemp(join(tmpdir(), 'enclave-e2e-cp-'));
    const privateKey = generateKeyPairSync('ed25519').privateKey;
    const keyPath = join(dir, 'audit-signing-key.json');
    await writeFile(keyPath, JSON.stringify({ format: 'enclave-audit-signing-key/1', pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') }), { mode: 0o600 });
    witness = await startWitnessServer({ dir: join(dir, 'witness'), logKeys: [verifierKey({ name: LOG_NAME, privateKey })], name: 'e2e-witness' });
    [enclave, browser] = await Promise.all([
      startEnclave({ ENCLAVE_AUDIT_SIGNING_KEY: keyPath, ENCLAVE_AUDIT_LOG_NAME: LOG_NAME, ENCLAVE_AUDIT_WITNESSES: `${witness.url} ${witness.witness.verifierKey}` }),
      launchChromium(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
    await witness?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const firstCheckable = async (page: import('./harness.ts').Page): Promise<string> => {
    const button = page.locator('section[aria-labelledby="events-h"] tbody tr button[data-testid^="check-"]').first();
    await button.waitFor();
    return ((await button.getAttribute('data-testid')) ?? '').replace('check-', '');
  };

  test('fr: the log\'s signature and the witness\'s cosignature hold, checked in the page; an event\'s proof holds', async () => {
    const { page, context, problems } = await newPage(browser, enclave.url, 'fr');
    await context.addCookies([{ ...(await sessionFor(enclave, 'Auditrice', ['auditor'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await page.goto('/audit/events');
    await useLanguage(page, 'fr');
    const verdict = page.getByTestId('cp-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-ok'), 'true', 'Chromium verifies Ed25519 with WebCrypto');
    assert.equal(await page.getByTestId('cp-log').getAttribute('data-status'), 'valid');
    assert.match((await page.getByTestId('cp-log').textContent()) ?? '', /Signature du journal enclave\.e2e\/audit : valide/);
    const w = page.getByTestId('cp-witness');
    assert.equal(await w.count(), 1);
    assert.equal(await w.getAttribute('data-status'), 'valid');
    assert.match((await w.textContent()) ?? '', /Cosignature du témoin e2e-witness : valide \(cosignée le/);
    const seq = await firstCheckable(page);
    await page.getByTestId(`check-${seq}`).click();
    await page.getByTestId(`proof-${seq}`).waitFor();
    assert.equal(await page.getByTestId(`proof-${seq}`).getAttribute('data-proof'), 'ok');
    assert.deepEqual(await violations(page), []);
    await screenshot(page, 'audit-checkpoint-verified-fr');
    assert.deepEqual(problems(), []);
    await context.close();
  });

  test('en: a checkpoint altered on its way fails both signatures and no proof holds against it; an altered proof is caught', async () => {
    const { page, context, problems } = await newPage(browser, enclave.url, 'en');
    await context.addCookies([{ ...(await sessionFor(enclave, 'Auditor', ['auditor'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    // the root hash (third line) changed, the signatures kept
    await page.route('**/api/v1/audit/checkpoint', async (route) => {
      const res = await route.fetch();
      const lines = (await res.text()).split('\n');
      const root = lines[2] ?? '';
      lines[2] = `${root.startsWith('A') ? 'B' : 'A'}${root.slice(1)}`;
      await route.fulfill({ response: res, body: lines.join('\n') });
    });
    await page.goto('/audit/events');
    await useLanguage(page, 'en');
    const verdict = page.getByTestId('cp-verdict');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-ok'), 'false');
    assert.equal(await page.getByTestId('cp-log').getAttribute('data-status'), 'invalid');
    assert.equal(await page.getByTestId('cp-witness').getAttribute('data-status'), 'invalid');
    assert.match((await page.getByTestId('cp-log').textContent()) ?? '', /Signature of the log enclave\.e2e\/audit: INVALID/);
    let seq = await firstCheckable(page);
    await page.getByTestId(`check-${seq}`).click();
    await page.getByTestId(`proof-${seq}`).waitFor();
    assert.equal(await page.getByTestId(`proof-${seq}`).getAttribute('data-proof'), 'bad');
    assert.deepEqual(await violations(page), []);
    await screenshot(page, 'audit-checkpoint-tampered-en');
    await page.unroute('**/api/v1/audit/checkpoint');

    // the honest checkpoint, and a proof whose sibling hash was changed in transit
    await page.route('**/api/v1/audit/proof/inclusion**', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { hashes: string[] };
      const first = body.hashes[0];
      assert.ok(first !== undefined, 'a proof with at least one hash');
      body.hashes[0] = `${first.startsWith('A') ? 'B' : 'A'}${first.slice(1)}`;
      await route.fulfill({ response: res, json: body });
    });
    await page.reload();
    await page.getByTestId('cp-verdict').waitFor();
    assert.equal(await page.getByTestId('cp-verdict').getAttribute('data-ok'), 'true');
    seq = await firstCheckable(page);
    await page.getByTestId(`check-${seq}`).click();
    const proof = page.getByTestId(`proof-${seq}`);
    await proof.waitFor();
    assert.equal(await proof.getAttribute('data-proof'), 'bad');
    assert.match((await proof.textContent()) ?? '', /NOT included/);
    assert.deepEqual(problems(), []);
    await context.close();
  });
});
