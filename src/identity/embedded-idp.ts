/**
 * The embedded OpenID provider of the default installation, on `oidc-provider` (certified). It
 * runs only when no external issuer is configured, under /idp of the same server, so the
 * embedded default goes through the very same OpenID Connect code path as production.
 *
 * Interaction: a login form (person id + password), then a TOTP form, always both; the ID token
 * carries amr ["pwd","otp"] and acr "eidas2". In demo mode (and only then) the login page lists
 * the demo people, which spares typing a person id and nothing else. Every failure is audited.
 * Only second-factor failures, which come after a right password, count towards the lockout:
 * nobody can lock an account out without knowing its password. A TOTP code is accepted once: a
 * code of a time step already used is refused (RFC 6238 §5.2).
 *
 * The provider's state (interactions, sessions, grants, codes, tokens) and the login steps
 * awaiting their second factor are kept in the metadata database (oidc-store.ts), so a restart
 * loses no login in progress.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { acceptTotpStep, findAccount, findAccountBySubject, hashPassword, listAccounts, recordFailure, recordSuccess, verifyPassword, type IdpAccount } from './idp-accounts.ts';
import { oidcStoreAdapter, PendingLogins } from './oidc-store.ts';
import { demoLoginsEnabled } from './repository.ts';
import type { IdentityAudit } from './service.ts';
import { totpStepOf } from './totp.ts';
import { errorPage, expiredPage, IDP_CSS, idpLangOf, loginPage, otpPage, type IdpMessage } from './idp-pages.ts';

/** Where the provider is mounted in the server. */
export const IDP_MOUNT = '/idp';
export const ACR_PASSWORD_AND_OTP = 'eidas2';

export interface EmbeddedIdpSecrets {
  readonly format: 'enclave-embedded-idp/1';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly cookieKeys: readonly string[];
  /** Private signing key (RS256), JWK. */
  readonly signingKey: Record<string, unknown>;
}

/**
 * Reads the embedded provider's client and keys, creating them (mode 0600, beside the keyring)
 * on first start. Never in the repository.
 */
export async function loadOrCreateIdpSecrets(path: string): Promise<{ secrets: EmbeddedIdpSecrets; created: boolean }> {
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) throw new AppError('forbidden', `${path} is readable by other users`, { hint: `restrict it with: chmod 600 ${path}` });
    const s = JSON.parse(await readFile(path, 'utf8')) as EmbeddedIdpSecrets;
    if (s.format !== 'enclave-embedded-idp/1') throw new AppError('invalid', `${path} is not an embedded provider secrets file`);
    return { secrets: s, created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const secrets: EmbeddedIdpSecrets = {
    format: 'enclave-embedded-idp/1',
    clientId: 'enclave-portal',
    clientSecret: randomBytes(32).toString('base64url'),
    cookieKeys: [randomBytes(32).toString('base64url')],
    signingKey: { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' },
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return { secrets, created: true };
}

export interface EmbeddedIdpOptions {
  /** Absolute issuer URL, ending in IDP_MOUNT (e.g. http://127.0.0.1:8080/idp). */
  readonly issuer: string;
  readonly redirectUris: readonly string[];
  readonly secrets: EmbeddedIdpSecrets;
  readonly db: Queryable;
  readonly audit: IdentityAudit;
  readonly maxFailures: number;
  /** Demo mode: the login page lists the demo people (the password and code are required all the same). */
  readonly demoMode: boolean;
  readonly now?: () => Date;
}

/** How long a login step waits for its second factor. */
const PENDING_TTL_MS = 5 * 60 * 1000;
const MAX_FORM_BYTES = 8 * 1024;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_FORM_BYTES) throw new AppError('payload_too_large', 'form too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The embedded provider: `handle(req, res)` serves every request under IDP_MOUNT (paths as the
 * browser sent them).
 *
 * @example
 *   const idp = createEmbeddedIdp({ issuer: `${base}/idp`, redirectUris: [`${base}/api/v1/auth/callback`], secrets, db, audit, maxFailures: 5, demoMode: false });
 *   if (req.url.startsWith('/idp/')) idp.handle(req, res);
 */
export function createEmbeddedIdp(o: EmbeddedIdpOptions): { readonly issuer: string; handle(req: IncomingMessage, res: ServerResponse): void } {
  const now = o.now ?? (() => new Date());
  // Real time, not `now`: the provider checks expiry against its own clock.
  const pending = new PendingLogins(o.db, PENDING_TTL_MS);
  const configuration: Configuration = {
    adapter: oidcStoreAdapter(o.db),
    clients: [{
      client_id: o.secrets.clientId, client_secret: o.secrets.clientSecret, redirect_uris: [...o.redirectUris],
      grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [o.secrets.signingKey] },
    cookies: { keys: [...o.secrets.cookieKeys] },
    pkce: { required: () => true },
    acrValues: [ACR_PASSWORD_AND_OTP],
    // acr and amr in every ID token: Enclave checks the second factor from them
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time'], profile: ['name', 'organisation'], email: ['email'] },
    scopes: ['openid', 'profile', 'email'],
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    interactions: { url: (_ctx, interaction) => `${IDP_MOUNT}/interaction/${interaction.uid}` },
    // First-party client: the person has nothing to consent to beyond logging in.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (accountId === undefined || clientId === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
    findAccount: async (_ctx, sub) => {
      const a = await findAccountBySubject(o.db, sub);
      if (a === null) return undefined;
      return { accountId: a.subject, claims: () => ({ sub: a.subject, name: a.displayName, organisation: a.organisation, ...(a.email === null ? {} : { email: a.email }) }) };
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage(idpLangOf(null, null, ctx.get('accept-language')), String(out['error_description'] ?? out['error'] ?? 'error'));
    },
  };
  const provider = new Provider(o.issuer, configuration);
  provider.proxy = false;

  const audited = async (action: string, username: string, outcome: 'denied' | 'success', reason: string): Promise<void> => {
    await o.audit.record({ actor: { kind: 'service', id: 'embedded-idp' }, action, target: `idp-account:${username.slice(0, 64)}`, outcome, details: { reason } });
  };

  /** A second-factor failure (the password was right): counted, audited, and the message of the form. */
  const fail = async (a: IdpAccount, reason: 'otp' | 'otp_replay'): Promise<IdpMessage> => {
    const locked = await recordFailure(o.db, a.username, o.maxFailures, now());
    await audited('identity.idp.login', a.username, 'denied', reason);
    if (locked) await audited('identity.idp.lockout', a.username, 'denied', `locked after ${o.maxFailures} failures`);
    if (locked) return 'locked';
    return reason === 'otp' ? 'wrong_code' : 'replay';
  };
  // An unknown person id costs the same scrypt as a known one: the answer's timing does not tell them apart.
  let unknownAccountHash: Promise<string> | undefined;
  const passwordMatches = async (a: IdpAccount | null, password: string): Promise<boolean> => {
    unknownAccountHash ??= hashPassword(randomBytes(16).toString('base64url'));
    const ok = await verifyPassword(a?.passwordHash ?? await unknownAccountHash, password);
    return ok && a !== null;
  };
  const isLocked = (a: IdpAccount): boolean => a.lockedUntil !== null && a.lockedUntil.getTime() > now().getTime();

  provider.use(async (ctx, next) => {
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Content-Type-Options', 'nosniff');
    const m = /^\/interaction\/([\w-]{1,64})(\/(login|otp|abort))?$/.exec(ctx.path);
    if (ctx.path === '/assets/idp.css') {
      ctx.type = 'text/css';
      ctx.body = IDP_CSS;
      return;
    }
    if (m === null) {
      await next();
      return;
    }
    const uid = m[1] ?? '';
    const step = m[3];
    ctx.set('Cache-Control', 'no-store');
    let details: Awaited<ReturnType<typeof provider.interactionDetails>> | undefined;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch {
      details = undefined;
    }
    if (details?.uid !== uid) {
      // no interaction cookie, expired, or another browser's interaction
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = expiredPage(idpLangOf(ctx.query['lang'] as string | undefined, null, ctx.get('accept-language')));
      return;
    }
    // An admin may have turned demo logins off (identity_demo_login_changes): then the demo
    // people are neither listed nor let in, whatever ENCLAVE_DEMO_MODE says.
    const demoOn = await demoLoginsEnabled(o.db);
    const people = o.demoMode && demoOn ? (await listAccounts(o.db)).filter((a) => a.demo).map((a) => ({ username: a.username, displayName: a.displayName })) : [];
    const finish = async (result: Parameters<typeof provider.interactionResult>[2]): Promise<void> => {
      const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(to);
    };

    const uiLocales = typeof details.params['ui_locales'] === 'string' ? details.params['ui_locales'] : null;
    if (ctx.method === 'GET' && step === undefined) {
      const lang = idpLangOf(typeof ctx.query['lang'] === 'string' ? ctx.query['lang'] : null, uiLocales, ctx.get('accept-language'));
      ctx.type = 'html';
      ctx.body = (await pending.get(uid)) !== undefined ? otpPage(lang, uid, null) : loginPage(lang, uid, people, null);
      return;
    }
    if (ctx.method !== 'POST' || step === undefined) {
      ctx.status = 405;
      return;
    }
    const form = await readForm(ctx.req);
    const lang = idpLangOf(form.get('lang'), uiLocales, ctx.get('accept-language'));
    if (step === 'abort') {
      await pending.delete(uid);
      await finish({ error: 'access_denied', error_description: 'login cancelled' });
      return;
    }
    if (step === 'login') {
      // The person id and the password, always (a `demo` field of the old picker is ignored).
      const username = (form.get('username') ?? '').trim();
      const a = await findAccount(o.db, username);
      ctx.type = 'html';
      // The password first: a wrong one is audited but not counted (else anyone could lock any
      // account out), and whether an account is locked is told only to whoever knows its password.
      if (!(await passwordMatches(a, form.get('password') ?? '')) || a === null) {
        await audited('identity.idp.login', username, 'denied', 'password');
        ctx.status = 401;
        ctx.body = loginPage(lang, uid, people, 'wrong_password');
        return;
      }
      if (isLocked(a)) {
        await audited('identity.idp.login', username, 'denied', 'locked');
        ctx.status = 423;
        ctx.body = loginPage(lang, uid, people, 'locked');
        return;
      }
      if (a.demo && !demoOn) {
        await audited('identity.idp.login', username, 'denied', 'demo_logins_off');
        ctx.status = 403;
        ctx.body = loginPage(lang, uid, people, 'demo_off');
        return;
      }
      await pending.put(uid, { username: a.username, methods: ['pwd'] });
      ctx.body = otpPage(lang, uid, null);
      return;
    }
    // step === 'otp'
    const p = await pending.get(uid);
    ctx.type = 'html';
    // A step pending without the password (a picker step left over from an older version) starts again.
    if (p === undefined || !p.methods.includes('pwd')) {
      await pending.delete(uid);
      ctx.status = 400;
      ctx.body = loginPage(lang, uid, people, 'start_again');
      return;
    }
    const a = await findAccount(o.db, p.username);
    if (a?.demo === true && !demoOn) {
      // turned off between the password and the code
      await pending.delete(uid);
      await audited('identity.idp.login', p.username, 'denied', 'demo_logins_off');
      ctx.status = 403;
      ctx.body = loginPage(lang, uid, people, 'demo_off');
      return;
    }
    if (a === null || isLocked(a)) {
      await pending.delete(uid);
      await audited('identity.idp.login', p.username, 'denied', 'locked');
      ctx.status = 423;
      ctx.body = loginPage(lang, uid, people, 'locked');
      return;
    }
    const totpStep = totpStepOf(a.totpSecret, (form.get('code') ?? '').trim(), now().getTime());
    // A right code whose time step was already used (this code or a later one) is a replay:
    // refused like a wrong one. The conditional UPDATE lets one of two concurrent submissions win.
    const failure = totpStep === null ? 'otp' : (await acceptTotpStep(o.db, a.username, totpStep)) ? null : 'otp_replay';
    if (failure !== null) {
      const message = await fail(a, failure);
      ctx.status = 401;
      if (message === 'locked') {
        await pending.delete(uid);
        ctx.body = loginPage(lang, uid, people, message);
      } else ctx.body = otpPage(lang, uid, message);
      return;
    }
    await pending.delete(uid);
    await recordSuccess(o.db, a.username);
    await audited('identity.idp.login', a.username, 'success', 'pwd+otp');
    await finish({ login: { accountId: a.subject, acr: ACR_PASSWORD_AND_OTP, amr: ['pwd', 'otp'], remember: false } });
  });

  const callback = provider.callback();
  return {
    issuer: o.issuer,
    handle(req, res) {
      // Mounted like express does: the provider reads its mount path from originalUrl.
      const url = req.url ?? '/';
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = url.slice(IDP_MOUNT.length) || '/';
      void callback(req, res);
    },
  };
}


export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
