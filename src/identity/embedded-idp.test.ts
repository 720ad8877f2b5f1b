/**
 * The embedded OpenID provider as a real server on loopback, driven as a browser would (forms,
 * cookies, redirects by hand), with Enclave's relying party on the other side:
 *  - a TOTP code is accepted once: replayed in another login it is refused, even by two
 *    browsers submitting it at the same instant;
 *  - the provider's state lives in the metadata database: a login begun before a restart (new
 *    provider instance, same database, same keys) finishes after it, and an authorization code
 *    already redeemed is still refused after a restart (and the tokens it gave are revoked).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { codeOf, formAction, HttpClient } from '../../test/helpers/browser.ts';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { AuditLog, generateLogKey } from '../audit/index.ts';
import { createEmbeddedIdp, loadOrCreateIdpSecrets, type EmbeddedIdpSecrets } from './embedded-idp.ts';
import { EMBEDDED_ISSUER_ID, seedDemoPeople, type SeededDemoPerson } from './idp-accounts.ts';
import { OidcRelyingParty } from './oidc-client.ts';
import { IdentityService } from './service.ts';

describe('embedded OpenID provider: TOTP replay and state across restarts', () => {
  let t: TestDb;
  let dir: string;
  let audit: AuditLog;
  let secrets: EmbeddedIdpSecrets;
  let server: Server;
  let base: string;
  let issuer: string;
  let redirectUri: string;
  let idp: ReturnType<typeof createEmbeddedIdp>;
  let starts = 0;
  const demo = new Map<string, SeededDemoPerson>();

  /** A new provider instance on the same database and keys: what a restart of Enclave gives. */
  const startProvider = (): void => {
    idp = createEmbeddedIdp({ issuer, redirectUris: [redirectUri], secrets, db: t.db, audit, maxFailures: 5, demoMode: false });
    starts++;
  };
  const rp = (): OidcRelyingParty => new OidcRelyingParty(t.db, {
    issuer, clientId: secrets.clientId, clientSecret: secrets.clientSecret, redirectUri, requiredAmr: ['otp'], allowHttp: true, personIssuer: EMBEDDED_ISSUER_ID,
  });
  const person = (username: string): SeededDemoPerson => {
    const d = demo.get(username);
    assert.ok(d !== undefined, username);
    return d;
  };

  before(async () => {
    t = await openTestDb();
    dir = await mkdtemp(join(tmpdir(), 'enclave-idp-'));
    audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
    const identity = new IdentityService({ db: t.db, audit });
    for (const d of await seedDemoPeople(t.db, audit, identity, { kind: 'service', id: 'test' })) demo.set(d.username, d);
    secrets = (await loadOrCreateIdpSecrets(join(dir, 'embedded-idp.json'))).secrets;
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if ((req.url ?? '').startsWith('/idp')) idp.handle(req, res);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${addr.port}`;
    issuer = `${base}/idp`;
    redirectUri = `${base}/api/v1/auth/callback`;
    startProvider();
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Opens the provider at `authUrl` and submits the password: returns the TOTP page. */
  const untilOtp = async (client: HttpClient, authUrl: string, username: string): Promise<{ html: string; url: string }> => {
    const { res, url } = await client.follow(authUrl);
    assert.equal(res.status, 200, `login page at ${url}`);
    const login = await res.text();
    const afterPwd = await client.request(formAction(login, 'login-form', url), { form: { username, password: person(username).password } });
    const html = await afterPwd.text();
    assert.equal(afterPwd.status, 200);
    assert.match(html, /otp-form/);
    return { html, url };
  };

  /** Submits a TOTP code; on success follows the provider's redirects up to the client's callback URL. */
  const submitOtp = async (client: HttpClient, otp: { html: string; url: string }, code: string): Promise<{ callback: URL } | { status: number; html: string }> => {
    let res = await client.request(formAction(otp.html, 'otp-form', otp.url), { form: { code } });
    let at = otp.url;
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location') ?? '', at).href;
      await res.body?.cancel();
      if (next.startsWith(redirectUri)) return { callback: new URL(next) };
      at = next;
      res = await client.request(next);
    }
    return { status: res.status, html: await res.text() };
  };

  const loginRows = async (username: string, reason: string): Promise<number> => {
    const rows = await t.db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM audit_events WHERE action = 'identity.idp.login' AND target = $1 AND outcome = 'denied' AND details->>'reason' = $2",
      [`idp-account:${username}`, reason],
    );
    return Number(rows[0]?.n ?? 0);
  };

  test('a TOTP code is accepted once: replayed in a second login it is refused, with a clear message', async () => {
    const d = person('applicant');
    const code = codeOf(d.totpSecret);
    const first = rp();
    const a = new HttpClient();
    const started = await first.start('/');
    const r1 = await submitOtp(a, await untilOtp(a, started.redirectUrl, 'applicant'), code);
    assert.ok('callback' in r1, 'the first use logs in');
    const login = await first.finish(started.flowId, r1.callback);
    assert.equal(login.subject, 'applicant');

    // someone who saw the code (or the same person, too soon) tries it again
    const b = new HttpClient();
    const again = await rp().start('/');
    const otp = await untilOtp(b, again.redirectUrl, 'applicant');
    const r2 = await submitOtp(b, otp, code);
    assert.ok('status' in r2);
    assert.equal(r2.status, 401);
    assert.match(r2.html, /Ce code a déjà été utilisé/);
    assert.match(r2.html, /<html lang="fr">/, 'French when nothing else is asked');
    assert.match(r2.html, /otp-form/, 'the TOTP form is shown again');
    assert.equal(await loginRows('applicant', 'otp_replay'), 1, 'audited as a refusal');
    // the next code (one step ahead, within the drift window) is accepted on the same form
    const r3 = await submitOtp(b, otp, codeOf(d.totpSecret, Date.now() + 30_000));
    assert.ok('callback' in r3, 'a fresh code logs in');
  });

  test('two browsers submitting one code at the same instant: exactly one logs in', async () => {
    const d = person('member');
    const [a, b] = [new HttpClient(), new HttpClient()];
    const [sa, sb] = [await rp().start('/'), await rp().start('/')];
    const [oa, ob] = [await untilOtp(a, sa.redirectUrl, 'member'), await untilOtp(b, sb.redirectUrl, 'member')];
    const code = codeOf(d.totpSecret);
    const results = await Promise.all([submitOtp(a, oa, code), submitOtp(b, ob, code)]);
    assert.equal(results.filter((r) => 'callback' in r).length, 1, `on ${t.db.kind}`);
    const refused = results.find((r) => 'status' in r);
    assert.ok(refused !== undefined && 'status' in refused);
    assert.equal(refused.status, 401);
    assert.match(refused.html, /déjà été utilisé/);
  });

  test('a login begun before a restart finishes after it (interaction, login step and session in the database)', async () => {
    const d = person('ethics');
    const client = new HttpClient();
    const before = rp();
    const { flowId, redirectUrl } = await before.start('/projects');
    const otp = await untilOtp(client, redirectUrl, 'ethics');
    const stored = await t.db.query<{ model: string }>("SELECT DISTINCT model FROM identity_oidc_store WHERE model IN ('Interaction', 'EnclaveLoginStep') ORDER BY model");
    assert.deepEqual(stored.map((r) => r.model), ['EnclaveLoginStep', 'Interaction']);

    const n = starts;
    startProvider(); // Enclave restarts: a new provider, and a new relying party
    assert.equal(starts, n + 1);
    const after = rp();

    const r = await submitOtp(client, otp, codeOf(d.totpSecret));
    assert.ok('callback' in r, `the TOTP step after the restart: ${'status' in r ? `${r.status} ${r.html.slice(0, 300)}` : ''}`);
    const login = await after.finish(flowId, r.callback);
    assert.equal(login.subject, 'ethics');
    assert.equal(login.issuer, EMBEDDED_ISSUER_ID);
    assert.deepEqual([...login.amr].sort(), ['otp', 'pwd']);
    assert.equal(login.acr, 'eidas2');
    assert.equal(login.returnTo, '/projects');
    const uid = new URL(otp.url).pathname.split('/').pop() ?? '';
    const step = await t.db.query("SELECT 1 FROM identity_oidc_store WHERE model = 'EnclaveLoginStep' AND id = $1", [uid]);
    assert.equal(step.length, 0, 'the finished login step is gone');
  });

  test('an authorization code redeemed before a restart is refused after it, and the tokens it gave are revoked', async () => {
    const d = person('legal');
    const client = new HttpClient();
    const verifier = randomBytes(32).toString('base64url');
    const auth = new URL(`${issuer}/auth`);
    for (const [k, v] of Object.entries({
      client_id: secrets.clientId, response_type: 'code', scope: 'openid profile', redirect_uri: redirectUri, state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
    })) auth.searchParams.set(k, v);
    const r = await submitOtp(client, await untilOtp(client, auth.href, 'legal'), codeOf(d.totpSecret));
    assert.ok('callback' in r);
    const code = r.callback.searchParams.get('code') ?? '';
    const redeem = (): Promise<Response> => fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${secrets.clientId}:${secrets.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
    });
    const userinfo = (token: string): Promise<Response> => fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${token}` } });

    const first = await redeem();
    assert.equal(first.status, 200);
    const tokens = await first.json() as { access_token: string; id_token: string };
    assert.equal((await userinfo(tokens.access_token)).status, 200);

    startProvider();
    assert.equal((await userinfo(tokens.access_token)).status, 200, 'the access token survives the restart');
    const second = await redeem();
    assert.equal(second.status, 400);
    const err = await second.json() as { error: string; error_description: string };
    assert.equal(err.error, 'invalid_grant');
    assert.equal((await userinfo(tokens.access_token)).status, 401, 'reuse of the code revokes what it gave');
  });
});
