/**
 * Login through the embedded OpenID provider, as a browser does it: a real Enclave server on
 * loopback (createPlatform + startServer), redirects followed by hand, the login and TOTP forms
 * submitted, cookies kept; then API calls with the session. SECURITY-TESTS figure 17.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { codeOf, formAction, HttpClient, wrongCodeOf } from '../../../test/helpers/browser.ts';
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

describe('embedded OpenID provider: the real login flow over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ ENCLAVE_LOGIN_MAX_FAILURES: '5' });
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

  test('the login and TOTP pages have labelled inputs, both languages, and no script', async () => {
    const client = new HttpClient();
    const login = await openLoginPage(client, s.url);
    assert.match(login.html, /<label for="username">/);
    assert.match(login.html, /<label for="password">/);
    assert.match(login.html, /Identifiant · Person id/);
    assert.doesNotMatch(login.html, /<script|style=|\son\w+=/i);
    const res = await client.request(formAction(login.html, 'demo-form', login.url), { form: { demo: 'auditor' } });
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
    assert.match(await res.text(), /Wrong code/);
    assert.equal(client.cookie(s.url, COOKIE), undefined);
    assert.equal((await me(client, s.url)).status, 401);
  });

  test('SECURITY-TESTS 17: admin login without a second factor never succeeds, and lockout after at most 5 failures', async () => {
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
    // 4. the demo picker (no password) with a wrong code
    {
      const client = new HttpClient();
      const login = await openLoginPage(client, s.url);
      const otp = await (await client.request(formAction(login.html, 'demo-form', login.url), { form: { demo: 'admin' } })).text();
      await client.follow(formAction(otp, 'otp-form', login.url), { form: { code: wrongCodeOf(d.totpSecret) } });
      await sessionOpened(client);
    }
    // 5. the callback called without any provider answer
    {
      const client = new HttpClient();
      await client.follow(`${s.url}/api/v1/auth/callback?code=forged&state=forged`);
      await sessionOpened(client);
    }
    assert.equal(successes, 0);
    console.log(`SECURITY-TESTS 17: admin login without a 2nd factor: ${tried} tried, ${successes} successes`);

    // Lockout: the failures above (3 wrong second factors) count; keep failing passwords until locked.
    const client = new HttpClient();
    let failures = 3;
    let lockedAt = 0;
    for (let i = 0; i < 10 && lockedAt === 0; i++) {
      const login = await openLoginPage(client, s.url);
      const res = await client.request(formAction(login.html, 'login-form', login.url), { form: { username: 'admin', password: 'not-the-password' } });
      const html = await res.text();
      failures++;
      if (/Account locked/.test(html)) lockedAt = failures;
    }
    assert.ok(lockedAt > 0 && lockedAt <= 5, `locked after ${lockedAt} failures`);
    // locked: even the right password and code are refused
    const locked = await loginWith(new HttpClient(), s.url, 'admin', d.password, codeOf(d.totpSecret));
    assert.equal(locked.res.status, 423);
    const events = await s.platform.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'identity.idp.lockout'");
    assert.equal(events[0]?.n, '1');
    console.log(`SECURITY-TESTS 17: lockout after ${lockedAt} failures (limit 5); the right password and code are refused while locked`);
  });
});
