/**
 * The pages people expect (issue 15, item 7, and the fit of item 8), in real Chromium and in
 * both languages: an unknown address is a friendly page served with status 404; an error is said
 * in the page's language with what to do (never a command or an API path); a logged-in person
 * sees their unread notifications counted in the header and marks them all read; the profile
 * shows their roles, creates an API token for one project (shown once) and revokes it after a
 * confirmation, and turns e-mail notifications off. Under 600 px the navigation folds behind a
 * menu button. The accessibility checks of a11y.ts pass on every page visited.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertAccessible, checkedScreenshot } from './a11y.ts';
import { activeProject, loginViaOidc, newPage, portalFixture, skipReason, useLanguage, type Browser, type Enclave, type Page } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: {
    notFound: 'Page introuvable', errTitle: 'Introuvable', what: 'Que faire', profile: 'Mon profil', roles: 'demandeur', notifications: 'Notifications',
    markAll: 'Tout marquer comme lu', now: 'est désormais', create: 'Créer le jeton', revoke: 'Révoquer', confirm: 'Confirmer', active: 'actif', revoked: 'révoqué',
    save: 'Enregistrer les réglages', saved: 'Réglages enregistrés.', menu: 'Menu', catalogue: 'Catalogue', nomenclatures: 'Nomenclatures',
  },
  en: {
    notFound: 'Page not found', errTitle: 'Not found', what: 'What to do', profile: 'My profile', roles: 'applicant', notifications: 'Notifications',
    markAll: 'Mark all read', now: 'is now', create: 'Create the token', revoke: 'Revoke', confirm: 'Confirm', active: 'active', revoked: 'revoked',
    save: 'Save the settings', saved: 'Settings saved.', menu: 'Menu', catalogue: 'Catalogue', nomenclatures: 'Nomenclatures',
  },
} as const;

describe('pages people expect', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const lang of ['fr', 'en'] as const) {
    const tx = TX[lang];

    test(`${lang}: an unknown address is a friendly page with status 404; an error says what to do in the page's language`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/');
      await useLanguage(page, lang);
      const res = await page.goto('/no/such/page');
      assert.equal(res?.status(), 404);
      await page.getByRole('heading', { level: 1, name: tx.notFound }).waitFor();
      await checkedScreenshot(page, `notfound-${lang}`);
      // a page the portal has stays 200
      assert.equal((await page.goto('/nomenclatures'))?.status(), 200);

      await page.goto('/datasets/nope');
      const alert = page.locator('[role="alert"][data-state="error"]');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'not_found');
      assert.equal((await alert.locator('.state-title').textContent())?.trim(), tx.errTitle);
      const said = (await alert.textContent()) ?? '';
      assert.match(said, new RegExp(tx.what));
      // the person is never told to run a command or call the API
      assert.doesNotMatch(said, /\/api\/|\benclave [a-z]|\bnpm\b|GET |POST /);
      if (lang === 'fr') assert.equal(await alert.locator('details [lang="en"]').count(), 1, 'the server\'s English sentence is folded away and marked English');
      await checkedScreenshot(page, `error-${lang}`);
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: notifications are counted in the header and all marked read; the profile shows roles, a token created and revoked, e-mail turned off`, async () => {
      const title = `Profil ${lang}`;
      const projectId = await activeProject(enclave, { title, tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF'] }], years: { from: 2022, to: 2023 } });
      const person = enclave.demo.find((d) => d.username === 'applicant');
      assert.ok(person !== undefined);
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.goto('/');
      await useLanguage(page, lang);
      await loginViaOidc(page, person);

      // the header's count, then the notifications page in the page's language
      const count = page.getByTestId('unread-count');
      await count.waitFor();
      assert.ok(Number(await count.textContent()) >= 1);
      await page.getByTestId('notifications-link').click();
      await page.getByRole('heading', { level: 1, name: tx.notifications }).waitFor();
      const list = page.getByTestId('notification-list');
      await list.waitFor();
      const text = (await list.textContent()) ?? '';
      assert.match(text, new RegExp(`${title}.*${tx.now}`));
      if (lang === 'fr') assert.doesNotMatch(text, /is now|Project "/);
      await checkedScreenshot(page, `notifications-${lang}`);
      await page.getByRole('button', { name: tx.markAll }).click();
      await page.getByTestId('marked').waitFor();
      await count.waitFor({ state: 'detached' });
      assert.equal(await page.locator('.notification-list li[data-read="false"]').count(), 0);

      // the profile: roles, tokens, settings
      await page.getByTestId('user').click();
      await page.getByRole('heading', { level: 1, name: tx.profile }).waitFor();
      await page.getByTestId('profile-roles').waitFor();
      assert.match((await page.getByTestId('profile-roles').textContent()) ?? '', new RegExp(tx.roles));
      const form = page.getByTestId('token-form');
      await form.waitFor();
      await form.getByRole('combobox').selectOption({ label: title });
      await form.locator('input[name="days"]').fill('7');
      await form.locator('input[name="label"]').fill(`R ${lang}`);
      await form.getByRole('button', { name: tx.create }).click();
      const created = page.getByTestId('token-created');
      await created.waitFor();
      assert.match((await created.textContent()) ?? '', /enc_[A-Za-z0-9_-]{20,}/);
      const row = page.locator('tr', { hasText: `R ${lang}` });
      await row.waitFor();
      assert.equal((await row.locator('[data-token-state]').textContent())?.trim(), tx.active);
      assert.match((await row.textContent()) ?? '', new RegExp(title));
      await checkedScreenshot(page, `profile-${lang}`);
      await row.getByRole('button', { name: tx.revoke }).click();
      await assertAccessible(page, 'the revoke confirmation');
      await row.getByRole('button', { name: tx.confirm }).click();
      await page.getByTestId('token-done').waitFor();
      await waitForText(page, `tr:has-text("R ${lang}") [data-token-state]`, tx.revoked);
      const events = await enclave.platform.db.query<{ action: string }>("SELECT action FROM audit_events WHERE action IN ('identity.token.create', 'identity.token.revoke') AND outcome = 'success' ORDER BY seq");
      assert.ok(events.filter((e) => e.action === 'identity.token.revoke').length >= 1);

      const settings = page.getByTestId('settings-form');
      const box = settings.getByRole('checkbox');
      assert.equal(await box.isChecked(), true);
      await box.uncheck();
      await settings.getByRole('button', { name: tx.save }).click();
      await page.getByTestId('settings-saved').waitFor();
      await page.reload();
      await page.getByTestId('settings-form').getByRole('checkbox').waitFor();
      assert.equal(await page.getByTestId('settings-form').getByRole('checkbox').isChecked(), false);
      assert.equal(await enclave.platform.governance.wantsEmail((await enclave.platform.identity.listPeople()).find((p) => p.subject === 'applicant')?.id ?? ''), false);
      await page.getByTestId('settings-form').getByRole('checkbox').check();
      await page.getByTestId('settings-form').getByRole('button', { name: tx.save }).click();
      await page.getByTestId('settings-saved').waitFor();
      assert.ok(projectId.length > 0);
      assert.deepEqual(problems(), []);
      await context.close();
    });

    test(`${lang}: under 600 px the navigation folds behind a menu button and the header stays short`, async () => {
      const { page, context, problems } = await newPage(browser, enclave.url, lang);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto('/');
      await useLanguage(page, lang);
      const menu = page.getByRole('button', { name: tx.menu });
      await menu.waitFor();
      const nav = page.getByRole('navigation', { name: lang === 'fr' ? 'Principal' : 'Main' });
      assert.equal(await nav.isVisible(), false);
      const header = await page.locator('.site-header').boundingBox();
      assert.ok(header !== null && header.height <= 130, `header ${header?.height} px high at 390 px`);
      assert.equal(await menu.getAttribute('aria-expanded'), 'false');
      await checkedScreenshot(page, `menu-closed-${lang}`);
      await menu.click();
      assert.equal(await menu.getAttribute('aria-expanded'), 'true');
      await nav.getByRole('link', { name: tx.nomenclatures }).click();
      await page.getByRole('heading', { level: 1, name: tx.nomenclatures }).waitFor();
      assert.equal(await nav.isVisible(), false, 'the menu folds again after a navigation');
      // tables fit the small screen: they scroll inside their box, the page itself never sideways
      for (const path of ['/datasets/snds/tables/ER_PRS_F', '/datasets/snds', '/nomenclatures/IR_CIM_V']) {
        await page.goto(path);
        await page.locator('table tbody tr').first().waitFor();
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(overflow <= 0, `${path}: the page is ${overflow} px wider than the 390 px screen`);
      }
      await checkedScreenshot(page, `table-narrow-${lang}`);
      await assertAccessible(page, 'a table at 390 px');
      // wide screens have no menu button
      await page.setViewportSize({ width: 1280, height: 900 });
      assert.equal(await menu.isVisible(), false);
      assert.equal(await nav.isVisible(), true);
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }

  test('an anonymous visitor loads no login-only code, and assets come compressed', async () => {
    const { page, context } = await newPage(browser, enclave.url, 'fr');
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto('/');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.goto('/datasets/snds');
    await page.getByRole('heading', { level: 1 }).waitFor();
    assert.ok(scripts.length >= 1);
    // a table page asks the API once or twice (was once per table of the dataset)
    const api: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/')) api.push(new URL(r.url()).pathname);
    });
    await page.goto('/datasets/snds/tables/ER_PHA_F');
    await page.getByRole('heading', { level: 1, name: /ER_PHA_F/ }).waitFor();
    await page.locator('svg.diagram-svg a[data-table="ER_PRS_F"]').waitFor();
    const catalogCalls = api.filter((p) => p.startsWith('/api/v1/catalog/'));
    process.stdout.write(`table page: ${catalogCalls.length} catalogue call(s): ${catalogCalls.join(', ')}\n`);
    assert.ok(catalogCalls.length >= 1 && catalogCalls.length <= 2, catalogCalls.join(', '));
    assert.deepEqual(scripts.filter((s) => /\/(wizard|projects|operator|profile|workspace)-/.test(s)), []);
    const main = scripts[0] ?? '';
    const br = await page.request.get(main, { headers: { 'Accept-Encoding': 'br, gzip' } });
    assert.equal(br.headers()['content-encoding'], 'br');
    const raw = await fetch(new URL(main, enclave.url));
    const plainSize = (await raw.arrayBuffer()).byteLength;
    const compressed = await fetch(new URL(main, enclave.url), { headers: { 'Accept-Encoding': 'br' } });
    process.stdout.write(`main script ${plainSize} bytes, content-encoding ${compressed.headers.get('content-encoding')}\n`);
    await context.close();
  });
});

async function waitForText(page: Page, selector: string, text: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (((await page.locator(selector).textContent().catch(() => null)) ?? '').trim() !== text) {
    if (Date.now() > end) throw new Error(`${selector} never read "${text}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
