/**
 * The demo logins switch in the admin page (issue 15, item 4): an administrator turns demo
 * logins off in French and a demo person's login is then refused by the embedded provider;
 * turning them back on is only proposed (the proposer sees no "Approve"), a second
 * administrator approves it in English, and the demo person logs in through the real OpenID
 * flow. Each step is in the audit log; a11y.ts finds no violation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { violations } from './a11y.ts';
import { loginViaOidc, newPage, portalFixture, screenshot, sessionFor, skipReason, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();

describe('demo logins switch', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  test('an admin turns demo logins off, a demo login is refused; turning them on takes a second admin, then the demo person logs in', async () => {
    const person = enclave.demo.find((d) => d.username === 'applicant');
    assert.ok(person !== undefined, 'demo people seeded');

    const a = await newPage(browser, enclave.url, 'fr');
    await a.context.addCookies([{ ...(await sessionFor(enclave, 'Admin A', ['admin'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await a.page.goto('/admin');
    await useLanguage(a.page, 'fr');
    const box = a.page.getByTestId('demo-logins');
    assert.equal(await box.getByTestId('demo-state').getAttribute('data-enabled'), 'true');
    await box.getByRole('button', { name: 'Désactiver les connexions de démonstration' }).click();
    await a.page.getByTestId('demo-off-confirm').getByRole('button', { name: 'Confirmer' }).click();
    await a.page.getByTestId('admin-said').filter({ hasText: 'Les connexions de démonstration sont désactivées.' }).waitFor();
    assert.equal(await box.getByTestId('demo-state').getAttribute('data-enabled'), 'false');
    assert.deepEqual(await violations(a.page), []);
    await screenshot(a.page, 'admin-demo-off-fr');

    // the demo person's password is right, and the provider refuses all the same
    const d = await newPage(browser, enclave.url, 'fr');
    await d.page.goto('/');
    await d.page.getByTestId('login').first().click();
    await d.page.locator('#login-form').waitFor();
    await d.page.locator('#username').fill(person.username);
    await d.page.locator('#password').fill(person.password);
    await d.page.locator('#login-form button[type="submit"]').click();
    await d.page.getByText('Les comptes de démonstration sont désactivés', { exact: false }).first().waitFor();
    assert.equal(await d.page.locator('#otp-form').count(), 0, 'no code step');

    // turning on is only proposed: the proposer cannot approve
    await box.getByRole('button', { name: 'Proposer de réactiver les connexions de démonstration' }).click();
    await a.page.getByTestId('demo-on-confirm').getByRole('button', { name: 'Confirmer' }).click();
    await box.getByTestId('demo-pending').waitFor();
    assert.equal(await box.getByTestId('demo-approve').count(), 0, 'the proposer cannot approve');
    assert.equal(await box.getByTestId('demo-state').getAttribute('data-enabled'), 'false', 'still off');
    await a.context.close();

    const b = await newPage(browser, enclave.url, 'en');
    await b.context.addCookies([{ ...(await sessionFor(enclave, 'Admin B', ['admin'])), url: enclave.url, httpOnly: true, sameSite: 'Strict' }]);
    await b.page.goto('/admin');
    await useLanguage(b.page, 'en');
    const boxB = b.page.getByTestId('demo-logins');
    assert.match((await boxB.getByTestId('demo-pending').textContent()) ?? '', /proposed by Admin A/);
    await boxB.getByTestId('demo-approve').click();
    await b.page.getByTestId('demo-approve-confirm').getByRole('button', { name: 'Confirm' }).click();
    await b.page.getByTestId('admin-said').filter({ hasText: 'Demo logins are on.' }).waitFor();
    assert.equal(await boxB.getByTestId('demo-state').getAttribute('data-enabled'), 'true');
    assert.deepEqual(await violations(b.page), []);
    await screenshot(b.page, 'admin-demo-on-en');

    await d.page.goto('/');
    await loginViaOidc(d.page, person);

    const events = await enclave.platform.db.query<{ action: string; outcome: string; details: Record<string, unknown> }>("SELECT action, outcome, details FROM audit_events WHERE action LIKE 'identity.demo_logins.%' OR (action = 'identity.idp.login' AND outcome = 'denied') ORDER BY seq");
    const seen = events.map((e) => `${e.action}:${e.outcome}`);
    for (const want of ['identity.demo_logins.disable:success', 'identity.idp.login:denied', 'identity.demo_logins.propose:success', 'identity.demo_logins.approve:success']) assert.ok(seen.includes(want), `${want} in ${seen.join()}`);
    assert.deepEqual([...a.problems(), ...b.problems(), ...d.problems()], []);
    await b.context.close();
    await d.context.close();
  });
});
