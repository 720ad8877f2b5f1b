/**
 * The embedded provider's login and TOTP pages in the portal's look and language (issue 15,
 * item 7): the portal passes its language (OpenID Connect ui_locales), the pages carry the
 * portal's header, speak that language only, switch language in place, and the whole real
 * login (password, then a TOTP code) ends back in the portal, logged in.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshCodeOf } from '../helpers/browser.ts';
import { violations } from './a11y.ts';
import { newPage, portalFixture, screenshot, skipReason, useLanguage, type Browser, type Enclave } from './harness.ts';

const skip = skipReason();
const TX = {
  fr: { title: 'Connexion à Enclave', user: 'Identifiant', password: 'Mot de passe', wrong: 'Identifiant ou mot de passe incorrect.', otp: 'Second facteur', code: 'Code à usage unique (TOTP)', other: 'English', otherOtp: 'Second factor' },
  en: { title: 'Log in to Enclave', user: 'Person id', password: 'Password', wrong: 'Wrong person id or password.', otp: 'Second factor', code: 'One-time code (TOTP)', other: 'Français', otherOtp: 'Second facteur' },
} as const;

describe('login and TOTP pages', { skip }, () => {
  let enclave: Enclave;
  let browser: Browser;
  portalFixture((e, b) => {
    [enclave, browser] = [e, b];
  });

  for (const [lang, username] of [['fr', 'ethics'], ['en', 'legal']] as const) {
    const tx = TX[lang];
    test(`${lang}: the pages speak the portal's language in its look; a wrong password is said so; the switch changes language; the login ends in the portal`, async () => {
      const person = enclave.demo.find((d) => d.username === username);
      assert.ok(person !== undefined);
      // the browser's own language is the other one: the portal's choice wins
      const { page, context, problems } = await newPage(browser, enclave.url, lang === 'fr' ? 'en' : 'fr');
      await page.goto('/');
      await useLanguage(page, lang);
      await page.getByTestId('login').first().click();
      await page.locator('#login-form').waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), lang);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), tx.title);
      assert.equal(await page.locator('.site-header .brand-name').textContent(), 'Enclave', 'the portal\'s header');
      assert.equal(await page.locator('label[for="username"]').textContent(), tx.user);
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', lang === 'fr' ? /Password|Log in/ : /Mot de passe|Se connecter/, 'one language only');
      assert.deepEqual(await violations(page), []);
      await screenshot(page, `login-${lang}`);

      await page.getByLabel(tx.user).fill(person.username);
      await page.getByLabel(tx.password).fill('not the password');
      await page.locator('#login-form button[type="submit"]').click();
      assert.equal(await page.getByRole('alert').textContent(), tx.wrong);
      assert.equal(await page.locator('html').getAttribute('lang'), lang, 'the language holds across the form');

      await page.getByLabel(tx.user).fill(person.username);
      await page.getByLabel(tx.password).fill(person.password);
      await page.locator('#login-form button[type="submit"]').click();
      await page.locator('#otp-form').waitFor();
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), tx.otp);
      assert.equal(await page.locator('label[for="code"]').textContent(), tx.code);
      assert.deepEqual(await violations(page), []);
      await screenshot(page, `totp-${lang}`);
      // the switch: the same step, in the other language
      await page.getByRole('link', { name: tx.other }).click();
      await page.locator('#otp-form').waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), lang === 'fr' ? 'en' : 'fr');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), tx.otherOtp);
      await page.locator('#code').fill(await freshCodeOf(person.totpSecret));
      await page.locator('#otp-form button[type="submit"]').click();
      await page.getByTestId('user').waitFor();
      assert.deepEqual(problems(), []);
      await context.close();
    });
  }
});
