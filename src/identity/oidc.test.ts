/**
 * SECURITY-TESTS 16: the relying party against real providers on loopback.
 *  - A separate `oidc-provider` server configured as a Pro Santé Connect look-alike (acr eidas1,
 *    PSC's userinfo claims), given to Enclave as "any standard OpenID provider" by configuration:
 *    a full login through Enclave's real server.
 *  - A provider that answers the token request with forged ID tokens (wrong aud, iss, nonce,
 *    alg=none, expired, bad signature, acr below the requirement, no second factor): every one
 *    refused. This is the organisation boundary, so faking the provider is what the test is for.
 *  - The PSC userinfo samples mapped to Enclave's profile.
 */
import assert from 'node:assert/strict';
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import Provider from 'oidc-provider';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { HttpClient } from '../../test/helpers/browser.ts';
import { vectorPath } from '../../test/helpers/vectors.ts';
import { startTestServer, type TestServer } from '../../test/helpers/server.ts';
import { AppError } from '../errors.ts';
import { profileFromClaims } from './claims.ts';
import { OidcRelyingParty } from './oidc-client.ts';

const samples = JSON.parse(readFileSync(vectorPath('identity/psc-userinfo-samples.json'), 'utf8')) as Record<string, Record<string, unknown>>;
const PSC_PRO = samples['psc_userinfo_health_professional'] ?? {};
const PSC_REGULAR = samples['userinfo_without_SubjectRefPro'] ?? {};

/** Listens on a free loopback port; the handler can be set once the URL is known. */
async function listen(): Promise<{ server: Server; url: string; setHandler(h: (req: IncomingMessage, res: ServerResponse) => void): void }> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => { r.statusCode = 503; r.end(); };
  const server = createServer((q, r) => handler(q, r));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${addr.port}`, setHandler: (h) => { handler = h; } };
}
const close = (s: Server): Promise<void> => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()); });

const figure = { samplesOk: 0, samples: 0, tried: 0, accepted: 0 };

describe('Pro Santé Connect userinfo samples', () => {
  test('a PSC identity with SubjectRefPro maps to a named health professional of their organisation', () => {
    const p = profileFromClaims(PSC_PRO);
    figure.samples++;
    assert.deepEqual(p, {
      displayName: 'Fistinien Grominoch', email: null, organisation: 'CABINET INDIVIDUEL PEDI PODO0023704',
      healthProfessional: true, professionalId: 'ANS20231122132732', professions: ['Pédicure-Podologue'],
    });
    figure.samplesOk++;
  });
  test('a PSC identity without SubjectRefPro is not treated as a health professional', () => {
    const p = profileFromClaims(PSC_REGULAR);
    figure.samples++;
    assert.equal(p.healthProfessional, false);
    assert.deepEqual(p.professions, []);
    assert.equal(p.displayName, 'Fistinien Grominoch');
    assert.equal(p.professionalId, 'ANS20231122132732');
    figure.samplesOk++;
  });
});

describe('login against a Pro Santé Connect look-alike given by configuration', () => {
  let psc: Awaited<ReturnType<typeof listen>>;
  let s: TestServer;
  const clientSecret = randomBytes(24).toString('base64url');
  before(async () => {
    psc = await listen();
    s = await startTestServer({
      ENCLAVE_OIDC_ISSUER: psc.url, ENCLAVE_OIDC_CLIENT_ID: 'enclave-test', ENCLAVE_OIDC_CLIENT_SECRET: clientSecret, ENCLAVE_OIDC_REQUIRED_ACR: 'eidas1,eidas2,eidas3',
    });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const provider = new Provider(psc.url, {
      clients: [{ client_id: 'enclave-test', client_secret: clientSecret, redirect_uris: [`${s.url}/api/v1/auth/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'psc', alg: 'RS256', use: 'sig' }] },
      pkce: { required: () => true },
      acrValues: ['eidas1'],
      features: { devInteractions: { enabled: false } },
      // PSC returns its professional record from userinfo; the ID token carries sub, acr, amr
      claims: { openid: ['sub', 'acr', 'amr'], profile: ['given_name', 'family_name', 'preferred_username', 'SubjectNameID', 'SubjectOrganization', 'SubjectRefPro'] },
      loadExistingGrant: async (ctx) => {
        const accountId = ctx.oidc.session?.accountId;
        const clientId = ctx.oidc.client?.clientId;
        if (accountId === undefined || clientId === undefined) return undefined;
        const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
        grant.addOIDCScope('openid profile email');
        await grant.save();
        return grant;
      },
      findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ ...PSC_PRO, sub }) }),
    });
    // The card reader: whoever reaches the interaction authenticates as the sample professional.
    provider.use(async (ctx, next) => {
      if (!ctx.path.startsWith('/interaction/')) {
        await next();
        return;
      }
      const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: String(PSC_PRO['sub']), acr: 'eidas1', amr: ['sc', 'pin'] } });
      ctx.redirect(to);
    });
    const handle = provider.callback();
    psc.setHandler((req, res) => { void handle(req, res); });
  });
  after(async () => {
    await s.close();
    await close(psc.server);
  });

  test('the embedded provider is off when an issuer is configured', async () => {
    // (the portal answers unknown paths with its page; no discovery document)
    const res = await fetch(`${s.url}/idp/.well-known/openid-configuration`);
    assert.doesNotMatch(res.headers.get('content-type') ?? '', /json/);
    assert.doesNotMatch(await res.text(), /"issuer"/);
  });

  test('a health professional logs in through the provider and Enclave records their PSC profile', async () => {
    const client = new HttpClient();
    const { url } = await client.follow(`${s.url}/api/v1/auth/login?returnTo=/projects`);
    assert.equal(url, `${s.url}/projects`);
    assert.ok(client.hops.some((h) => h.url.startsWith(`${psc.url}/auth?`) && h.url.includes('code_challenge_method=S256') && h.url.includes('nonce=')));
    const me = await client.request(`${s.url}/api/v1/identity/me`);
    assert.equal(me.status, 200);
    const body = await me.json() as { person: { displayName: string; organisation: string; issuer: string; subject: string }; roles: string[] };
    assert.equal(body.person.displayName, 'Fistinien Grominoch');
    assert.equal(body.person.organisation, 'CABINET INDIVIDUEL PEDI PODO0023704');
    assert.equal(body.person.issuer, psc.url);
    assert.equal(body.person.subject, PSC_PRO['sub']);
    assert.deepEqual(body.roles, [], 'a new person has no platform role until an admin grants one');
  });
});

describe('forged ID tokens: T tried, 0 accepted', () => {
  let op: Awaited<ReturnType<typeof listen>>;
  let t: TestDb;
  let rp: OidcRelyingParty;
  let nextIdToken = '';
  const redirectUri = 'http://127.0.0.1:9/api/v1/auth/callback';
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = (header: Record<string, unknown>, payload: Record<string, unknown>, key = privateKey): string => {
    const input = `${b64(header)}.${b64(payload)}`;
    if (header['alg'] === 'none') return `${input}.`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(key).toString('base64url')}`;
  };

  before(async () => {
    op = await listen();
    t = await openTestDb();
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
    const publicJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid: 'k1', alg: 'RS256', use: 'sig' };
    op.setHandler((req, res) => {
      const path = new URL(req.url ?? '/', op.url).pathname;
      const json = (o: unknown): void => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(o)); };
      if (path === '/.well-known/openid-configuration') {
        json({ issuer: op.url, authorization_endpoint: `${op.url}/auth`, token_endpoint: `${op.url}/token`, jwks_uri: `${op.url}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] });
      } else if (path === '/jwks') json({ keys: [publicJwk] });
      else if (path === '/token') {
        req.resume();
        req.on('end', () => json({ access_token: 'at', token_type: 'Bearer', expires_in: 60, id_token: nextIdToken }));
      } else { res.statusCode = 404; res.end(); }
    });
    rp = new OidcRelyingParty(t.db, { issuer: op.url, clientId: 'enclave', clientSecret: 'secret', redirectUri, requiredAcr: ['eidas1', 'eidas2', 'eidas3'], requiredAmr: [], allowHttp: true, userinfo: false });
  });
  after(async () => {
    await close(op.server);
    await t.drop();
  });

  /** Runs one login whose token endpoint answers with `token(state, nonce)`; true when accepted. */
  const attempt = async (token: (nonce: string) => string, o: { state?: string; replay?: boolean } = {}): Promise<boolean> => {
    const { flowId, redirectUrl } = await rp.start('/');
    const u = new URL(redirectUrl);
    const state = u.searchParams.get('state') ?? '';
    nextIdToken = token(u.searchParams.get('nonce') ?? '');
    const callback = new URL(`${redirectUri}?code=c0de&state=${o.state ?? state}`);
    try {
      if (o.replay === true) await rp.finish(flowId, callback);
      await rp.finish(flowId, callback);
      return true;
    } catch (e) {
      assert.ok(e instanceof AppError && e.code === 'unauthenticated', `refusal is an AppError: ${String(e)}`);
      return false;
    }
  };
  const now = (): number => Math.floor(Date.now() / 1000);
  const good = (nonce: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: op.url, aud: 'enclave', sub: 'p1', nonce, iat: now(), exp: now() + 300, acr: 'eidas1', amr: ['sc', 'pin'], ...over });
  const H = { alg: 'RS256', kid: 'k1', typ: 'JWT' };

  test('the well-formed token is accepted (so each refusal below is due to its one defect)', async () => {
    assert.equal(await attempt((n) => jwt(H, good(n))), true);
  });

  const cases: Record<string, Parameters<typeof attempt>> = {
    'wrong aud': [(n) => jwt(H, good(n, { aud: 'another-client' }))],
    'wrong iss': [(n) => jwt(H, good(n, { iss: 'https://evil.example' }))],
    'wrong nonce': [() => jwt(H, good('not-the-nonce'))],
    'no nonce': [(n) => { const p = good(n); delete p['nonce']; return jwt(H, p); }],
    'alg=none': [(n) => jwt({ alg: 'none', typ: 'JWT' }, good(n))],
    'alg=HS256 keyed with the public key': [(n) => `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(good(n))}.${Buffer.alloc(32).toString('base64url')}`],
    'signed by another key': [(n) => jwt(H, good(n), other)],
    expired: [(n) => jwt(H, good(n, { iat: now() - 1200, exp: now() - 600 }))],
    'acr below the requirement (eidas0)': [(n) => jwt(H, good(n, { acr: 'eidas0' }))],
    'no acr': [(n) => { const p = good(n); delete p['acr']; return jwt(H, p); }],
    'wrong state in the callback': [(n) => jwt(H, good(n)), { state: 'forged-state' }],
    'flow replayed': [(n) => jwt(H, good(n)), { replay: true }],
  };
  for (const [name, args] of Object.entries(cases)) {
    test(`refused: ${name}`, async () => {
      figure.tried++;
      const ok = await attempt(...args);
      if (ok) figure.accepted++;
      // a replayed flow: the first use is the legitimate one, the second must fail
      assert.equal(ok, false);
    });
  }

  test('a second factor required by configuration: a token without it is refused', async () => {
    const strict = new OidcRelyingParty(t.db, { issuer: op.url, clientId: 'enclave', clientSecret: 'secret', redirectUri, requiredAmr: ['otp'], allowHttp: true, userinfo: false });
    const { flowId, redirectUrl } = await strict.start('/');
    const u = new URL(redirectUrl);
    nextIdToken = jwt(H, good(u.searchParams.get('nonce') ?? '', { amr: ['pwd'] }));
    figure.tried++;
    await assert.rejects(strict.finish(flowId, new URL(`${redirectUri}?code=c&state=${u.searchParams.get('state') ?? ''}`)), (e) => e instanceof AppError && e.details?.['reason'] === 'amr');
  });

  after(() => {
    console.log(`SECURITY-TESTS 16: ${figure.samplesOk}/${figure.samples} userinfo samples mapped as expected; tokens with wrong aud, iss, nonce, alg=none, expired, or acr below eidas1 (and ${figure.tried - 6} more defects): ${figure.tried} tried, ${figure.accepted} accepted`);
  });
});
