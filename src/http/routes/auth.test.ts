/**
 * Login through the embedded OpenID provider, as a browser does it: a real Enclave server on
 * loopback (createPlatform + startServer), redirects followed by hand, the login and TOTP forms
 * submitted, cookies kept; then API calls with the session. SECURITY-TESTS figure 17: no login
 * without the password and the second factor (the demo mode's account list included), lockout
 * after at most n second-factor failures, and no lockout by anyone who lacks the password.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeOf, formAction, freshCodeOf, HttpClient, wrongCodeOf } from '../../../test/helpers/browser.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { CSRF_HEADER } from '../auth.ts';

const COOKIE = 'enclave_session';

/** Starts a login at Enclave and returns the provider's login page (HTML) and its URL. */
async function openLoginPage(client: HttpClient, base: string, returnTo = '/'): Promise<{ html: string; url: string }> {
  const { res, url } = await client.follow(`${base}/api/v1/auth/login?returnTo=${encodeURIComponent(returnTo)}`);
  assert.equal(res.status, 200, `login page: ${url}`);
  return { html: await res.text(), url };
}

/** Password, then TOTP; returns the last answer after following redirects. */
async function loginWith(client: HttpClient, base: string, username: string, password: string, code: string, returnTo = '/'): Promise<{ res: Response; url: string; otpPage: string }> {
  const login = await openLoginPage(client, base, returnTo);
  const afterPwd = await client.request(formAction(login.html, 'login-form', login.url), { form: { username, password } });
  const otpPage = await afterPwd.text();
  if (afterPwd.status !== 200 || !otpPage.includes('otp-form')) return { res: afterPwd, url: login.url, otpPage };
  const r = await client.follow(formAction(otpPage, 'otp-form', login.url), { form: { code } });
  return { ...r, otpPage };
}

async function me(client: HttpClient, base: string): Promise<{ status: number; body: { person?: { displayName: string; issuer: string; subject: string }; roles?: string[]; csrfToken?: string } }> {
  const res = await client.request(`${base}/api/v1/identity/me`);
  return { status: res.status, body: await res.json() as never };
}

describe('embedded OpenID provider: the real login flow over HTTP (demo mode on)', () => {
  let s: TestServer;
  before(async () => {
    // Demo mode on: the account list is shown, and must give no way around the password.
    s = await startTestServer({ ENCLAVE_LOGIN_MAX_FAILURES: '5', ENCLAVE_DEMO_MODE: 'on' });
  });
  after(async () => {
    await s.close();
  });

  test('first start seeds one demo person per role, each with a password and a TOTP secret', () => {
    assert.deepEqual([...s.demo.keys()].sort(), ['admin', 'applicant', 'auditor', 'checker', 'committee1', 'committee2', 'ethics', 'legal', 'member', 'operator']);
    for (const d of s.demo.values()) assert.match(d.totpSecret, /^[A-Z2-7]{32}$/);
  });

  test('the discovery document is served under /idp and advertises PKCE S256', async () => {
    const res = await fetch(`${s.url}/idp/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const d = await res.json() as { issuer: string; code_challenge_methods_supported: string[]; acr_values_supported: string[] };
    assert.equal(d.issuer, `${s.url}/idp`);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.ok(d.acr_values_supported.includes('eidas2'));
  });

  test('the login and TOTP pages have labelled inputs, French by default, and no script', async () => {
    const client = new HttpClient();
    const login = await openLoginPage(client, s.url);
    assert.match(login.html, /<label for="username">/);
    assert.match(login.html, /<label for="password">/);
    assert.match(login.html, /<html lang="fr">/);
    assert.match(login.html, /<label for="username">Identifiant<\/label>/);
    assert.doesNotMatch(login.html, /<script|style=|\son\w+=/i);
    const d = s.demo.get('auditor');
    assert.ok(d !== undefined);
    const res = await client.request(formAction(login.html, 'login-form', login.url), { form: { username: 'auditor', password: d.password } });
    const otp = await res.text();
    assert.match(otp, /<label for="code">/);
    assert.doesNotMatch(otp, /<script|style=|\son\w+=/i);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
  });

  test('an applicant logs in with password and TOTP, gets a Secure-when-https, HttpOnly, SameSite=Lax session, and calls the API', async () => {
    const client = new HttpClient();
    const d = s.demo.get('applicant');
    assert.ok(d !== undefined);
    const { res, url } = await loginWith(client, s.url, 'applicant', d.password, codeOf(d.totpSecret), '/projects');
    assert.equal(url, `${s.url}/projects`, await res.clone().text());
    assert.ok(res.status === 200 || res.status === 404, `landing page ${res.status}`);
    const sessionCookie = client.hops.flatMap((h) => h.setCookies).find((c) => c.startsWith(`${COOKIE}=`));
    assert.ok(sessionCookie !== undefined);
    assert.match(sessionCookie, /HttpOnly/i);
    assert.match(sessionCookie, /SameSite=Lax/i);
    assert.doesNotMatch(sessionCookie, /Secure/i, 'plain http on loopback: not Secure');

    const who = await me(client, s.url);
    assert.equal(who.status, 200);
    assert.deepEqual(who.body.roles, ['applicant']);
    assert.equal(who.body.person?.subject, 'applicant');
    const csrf = who.body.csrfToken ?? '';
    // an authenticated, state-changing API call: refused without the CSRF token, accepted with it
    const noCsrf = await client.request(`${s.url}/api/v1/governance/projects`, { json: { title: 'x' } });
    assert.equal(noCsrf.status, 403);
    const created = await client.request(`${s.url}/api/v1/governance/projects`, { json: {}, headers: { [CSRF_HEADER]: csrf } });
    assert.ok(created.status === 201 || created.status === 400, `create project answered ${created.status}`);
    const list = await client.request(`${s.url}/api/v1/governance/projects`);
    assert.equal(list.status, 200);

    const logout = await client.request(`${s.url}/api/v1/auth/logout`, { method: 'POST', headers: { [CSRF_HEADER]: csrf } });
    assert.equal(logout.status, 204);
    assert.equal((await me(client, s.url)).status, 401);
  });

  test('after logout the provider asks again for both factors (no silent re-login)', async () => {
    const client = new HttpClient();
    const d = s.demo.get('member');
    assert.ok(d !== undefined);
    await loginWith(client, s.url, 'member', d.password, codeOf(d.totpSecret));
    const csrf = (await me(client, s.url)).body.csrfToken ?? '';
    await client.request(`${s.url}/api/v1/auth/logout`, { method: 'POST', headers: { [CSRF_HEADER]: csrf } });
    const again = await openLoginPage(client, s.url);
    assert.match(again.html, /login-form/);
  });

  test('a wrong TOTP code is refused and opens no session', async () => {
    const client = new HttpClient();
    const d = s.demo.get('ethics');
    assert.ok(d !== undefined);
    const { res } = await loginWith(client, s.url, 'ethics', d.password, wrongCodeOf(d.totpSecret));
    assert.equal(res.status, 401);
    assert.match(await res.text(), /Code incorrect/);
    assert.equal(client.cookie(s.url, COOKIE), undefined);
    assert.equal((await me(client, s.url)).status, 401);
  });

  test('in demo mode the login page lists the demo people, with a password field still required', async () => {
    const login = await openLoginPage(new HttpClient(), s.url);
    assert.match(login.html, /id="demo-people"/);
    for (const u of s.demo.keys()) assert.match(login.html, new RegExp(`<code>${u}</code>`));
    assert.match(login.html, /<input id="password" name="password" type="password"[^>]* required>/);
    assert.doesNotMatch(login.html, /name="demo"/);
  });

  test('SECURITY-TESTS 17: admin login without the password or without a second factor never succeeds', async () => {
    const d = s.demo.get('admin');
    assert.ok(d !== undefined);
    let tried = 0;
    let successes = 0;
    const sessionOpened = async (client: HttpClient): Promise<void> => {
      tried++;
      if ((await me(client, s.url)).status === 200) successes++;
    };
    // 1. right password, then straight back to the provider's authorisation endpoint, skipping the TOTP form
    {
      const client = new HttpClient();
      const login = await openLoginPage(client, s.url);
      await (await client.request(formAction(login.html, 'login-form', login.url), { form: { username: 'admin', password: d.password } })).text();
      const resume = client.hops.find((h) => h.location?.includes('/interaction/') === true);
      const authUrl = client.hops.find((h) => h.url.includes('/idp/auth?'))?.url;
      assert.ok(resume !== undefined && authUrl !== undefined);
      await client.follow(authUrl);
      await client.follow(`${s.url}/idp/auth/${(resume.location ?? '').split('/').pop() ?? ''}`);
      await sessionOpened(client);
    }
    // 2. right password, empty code; 3. right password, code of another person
    for (const code of ['', codeOf(s.demo.get('auditor')?.totpSecret ?? '')]) {
      const client = new HttpClient();
      await loginWith(client, s.url, 'admin', d.password, code);
      await sessionOpened(client);
    }
    // 4. the old demo picker (a `demo` field, no password), then the RIGHT code; 5. the same with an empty password
    for (const form of [{ demo: 'admin' }, { demo: 'admin', username: 'admin', password: '' }]) {
      const client = new HttpClient();
      const login = await openLoginPage(client, s.url);
      const res = await client.request(`${login.url}/login`, { form });
      assert.equal(res.status, 401, 'no second-factor step without the password');
      assert.match(await res.text(), /Identifiant ou mot de passe incorrect/);
      await client.follow(`${login.url}/otp`, { form: { code: codeOf(d.totpSecret) } });
      await sessionOpened(client);
    }
    // 6. the callback called without any provider answer
    {
      const client = new HttpClient();
      await client.follow(`${s.url}/api/v1/auth/callback?code=forged&state=forged`);
      await sessionOpened(client);
    }
    assert.equal(successes, 0);
    console.log(`SECURITY-TESTS 17: admin login without the password or without a 2nd factor: ${tried} tried, ${successes} successes`);
    // The right password and the right code open the session.
    const client = new HttpClient();
    await loginWith(client, s.url, 'admin', d.password, await freshCodeOf(d.totpSecret));
    assert.equal((await me(client, s.url)).status, 200);
  });

  test('SECURITY-TESTS 17: wrong passwords never lock an account; wrong codes after the right password lock it after at most 5', async () => {
    const d = s.demo.get('checker');
    assert.ok(d !== undefined);
    // Anyone can read the person ids on a demo login page: 20 wrong passwords lock nothing.
    const wrongPasswords = 20;
    for (let i = 0; i < wrongPasswords; i++) {
      const client = new HttpClient();
      const login = await openLoginPage(client, s.url);
      const res = await client.request(formAction(login.html, 'login-form', login.url), { form: { username: 'checker', password: `guess-${i}` } });
      assert.equal(res.status, 401);
      assert.doesNotMatch(await res.text(), /Compte verrouillé/);
    }
    const owner = new HttpClient();
    await loginWith(owner, s.url, 'checker', d.password, await freshCodeOf(d.totpSecret));
    assert.equal((await me(owner, s.url)).status, 200, 'the owner still logs in after 20 wrong passwords by someone else');

    // Wrong codes after the right password: locked after at most 5.
    let failures = 0;
    let lockedAt = 0;
    for (let i = 0; i < 10 && lockedAt === 0; i++) {
      const { res } = await loginWith(new HttpClient(), s.url, 'checker', d.password, wrongCodeOf(d.totpSecret));
      failures++;
      if (/Compte verrouillé/.test(await res.text())) lockedAt = failures;
    }
    assert.ok(lockedAt > 0 && lockedAt <= 5, `locked after ${lockedAt} failures`);
    // locked: even the right password and code are refused
    const locked = await loginWith(new HttpClient(), s.url, 'checker', d.password, codeOf(d.totpSecret));
    assert.equal(locked.res.status, 423);
    // and a wrong password does not learn that the account is locked
    const probe = new HttpClient();
    const login = await openLoginPage(probe, s.url);
    const res = await probe.request(formAction(login.html, 'login-form', login.url), { form: { username: 'checker', password: 'not-the-password' } });
    assert.equal(res.status, 401);
    assert.doesNotMatch(await res.text(), /Compte verrouillé/);
    const events = await s.platform.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'identity.idp.lockout' AND target = 'idp-account:checker'");
    assert.equal(events[0]?.n, '1');
    console.log(`SECURITY-TESTS 17: lockout after ${lockedAt} failures (limit 5); lockout without the password: impossible (${wrongPasswords} wrong passwords, 0 lockouts, the owner logged in)`);
  });
});

describe('embedded OpenID provider outside demo mode', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s.close();
  });

  test('the login page lists no account, and a person logs in with password and TOTP', async () => {
    const client = new HttpClient();
    const login = await openLoginPage(client, s.url);
    assert.doesNotMatch(login.html, /demo-people|<code>admin<\/code>|<option/);
    for (const u of s.demo.keys()) assert.doesNotMatch(login.html, new RegExp(`>${u}[<:]`));
    const d = s.demo.get('applicant');
    assert.ok(d !== undefined);
    await loginWith(client, s.url, 'applicant', d.password, await freshCodeOf(d.totpSecret));
    const who = await me(client, s.url);
    assert.equal(who.status, 200);
  });
});
