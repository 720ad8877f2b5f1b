/**
 * OpenID Connect relying party on `openid-client` (certified): authorisation code + PKCE (S256),
 * state and nonce kept server-side per login, ID-token validation by the library (issuer,
 * audience, signature and algorithm, expiry, nonce), then our MFA requirement on `acr`/`amr`.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { profileFromClaims } from './claims.ts';
import type { VerifiedLogin } from './service.ts';

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Absolute URL of GET /api/v1/auth/callback. */
  readonly redirectUri: string;
  /** Accepted `acr` values (e.g. eidas2, eidas3); a login with another acr is refused. */
  readonly requiredAcr?: readonly string[];
  /** Methods that must all appear in `amr` (e.g. otp). */
  readonly requiredAmr?: readonly string[];
  /** Plain-HTTP issuer (loopback embedded provider, tests). Never for an external issuer. */
  readonly allowHttp?: boolean;
  /**
   * The issuer name people are recorded under, when not the issuer URL itself: the embedded
   * provider's URL changes with the server's port, its people must not.
   */
  readonly personIssuer?: string;
  /** Also read the userinfo endpoint (Pro Santé Connect puts the professional record there). Default true. */
  readonly userinfo?: boolean;
}

/** A login must come back within this time. */
export const LOGIN_FLOW_TTL_MS = 10 * 60 * 1000;

const refuse = (reason: string, message: string): AppError =>
  new AppError('unauthenticated', message, { hint: 'start again at /api/v1/auth/login', details: { reason } });

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * @example
 *   const rp = new OidcRelyingParty(db, { issuer, clientId, clientSecret, redirectUri, requiredAcr: ['eidas2'] });
 *   const { flowId, redirectUrl } = await rp.start('/');
 *   const login = await rp.finish(flowId, new URL(callbackUrl));
 */
export class OidcRelyingParty {
  readonly #db: Queryable;
  readonly #s: OidcSettings;
  readonly #now: () => Date;
  #config: Promise<client.Configuration> | undefined;

  constructor(db: Queryable, settings: OidcSettings, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#s = settings;
    this.#now = now;
  }

  #discover(): Promise<client.Configuration> {
    this.#config ??= client
      .discovery(new URL(this.#s.issuer), this.#s.clientId, this.#s.clientSecret, undefined, this.#s.allowHttp === true ? { execute: [client.allowInsecureRequests] } : undefined)
      .then((config) => {
        // Check the ID token's signature against the provider's keys too, not only TLS to the token endpoint.
        client.enableNonRepudiationChecks(config);
        return config;
      })
      .catch((e: unknown) => {
        this.#config = undefined;
        throw new AppError('unavailable', 'the identity provider cannot be reached', { cause: e, hint: 'check ENCLAVE_OIDC_ISSUER and the provider' });
      });
    return this.#config;
  }

  async start(returnTo: string, uiLocales?: string): Promise<{ flowId: string; redirectUrl: string }> {
    const config = await this.#discover();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const flowId = randomBytes(32).toString('base64url');
    // Bookkeeping of a login in progress, consumed by the callback; the login itself is audited.
    await this.#db.query('DELETE FROM identity_login_flows WHERE created_at < $1', [new Date(this.#now().getTime() - LOGIN_FLOW_TTL_MS)]);
    await this.#db.query('INSERT INTO identity_login_flows (id_hash, state, nonce, code_verifier, return_to, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [sha256(flowId), state, nonce, verifier, returnTo, this.#now()]);
    const params: Record<string, string> = {
      redirect_uri: this.#s.redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // always authenticate again: logging out of Enclave must not leave a provider session that logs the next person straight in
      prompt: 'login',
    };
    if (this.#s.requiredAcr !== undefined && this.#s.requiredAcr.length > 0) params['acr_values'] = this.#s.requiredAcr.join(' ');
    // the portal's language, for the provider's pages (OpenID Connect Core §3.1.2.1)
    if (uiLocales !== undefined) params['ui_locales'] = uiLocales;
    return { flowId, redirectUrl: client.buildAuthorizationUrl(config, params).href };
  }

  async finish(flowId: string, callbackUrl: URL): Promise<VerifiedLogin & { returnTo: string }> {
    const [flow] = await this.#db.query<{ state: string; nonce: string; code_verifier: string; return_to: string; created_at: Date }>(
      'DELETE FROM identity_login_flows WHERE id_hash = $1 RETURNING state, nonce, code_verifier, return_to, created_at',
      [sha256(flowId)],
    );
    if (flow === undefined || this.#now().getTime() - new Date(flow.created_at).getTime() > LOGIN_FLOW_TTL_MS) throw refuse('no_flow', 'no login in progress, or it took too long');
    const config = await this.#discover();
    let claims: client.IDToken | undefined;
    let userinfo: Record<string, unknown> = {};
    try {
      const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: flow.code_verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      claims = tokens.claims();
      if (claims !== undefined && this.#s.userinfo !== false && config.serverMetadata().userinfo_endpoint !== undefined) {
        // the library checks that userinfo's sub is the ID token's
        userinfo = { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      }
    } catch (e) {
      const code = e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : 'invalid';
      throw new AppError('unauthenticated', 'login refused: the identity provider\'s answer did not validate', { cause: e, hint: 'start again at /api/v1/auth/login', details: { reason: `token_${code}`.slice(0, 60) } });
    }
    if (claims === undefined) throw refuse('no_id_token', 'login refused: no ID token');
    const acr = typeof claims.acr === 'string' ? claims.acr : null;
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((x): x is string => typeof x === 'string') : [];
    const needAcr = this.#s.requiredAcr ?? [];
    if (needAcr.length > 0 && (acr === null || !needAcr.includes(acr))) throw refuse('acr', `login refused: authentication level ${acr ?? 'none'} is below what Enclave requires (${needAcr.join(' or ')})`);
    const needAmr = this.#s.requiredAmr ?? [];
    if (needAmr.some((m) => !amr.includes(m))) throw refuse('amr', `login refused: a second factor (${needAmr.join(', ')}) is required`);
    // identity claims (iss, sub, acr, amr) come from the ID token only; profile from both
    const profile = profileFromClaims({ ...userinfo, ...claims });
    return {
      issuer: this.#s.personIssuer ?? claims.iss, subject: claims.sub, displayName: profile.displayName, email: profile.email,
      organisation: profile.organisation, acr, amr, returnTo: flow.return_to,
    };
  }
}
