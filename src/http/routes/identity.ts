/**
 * Identity routes: `/api/v1/identity` (me, people and roles, API tokens) and `/api/v1/auth`
 * (OpenID Connect login, callback, logout). Each route declares its permission.
 */
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { AppError, isAppError } from '../../errors.ts';
import type { IdentityService, VerifiedLogin } from '../../identity/index.ts';
import { listOf, ref } from '../api-schemas.ts';
import { AUTHENTICATED, authenticate, jsonBody, mountRoutes, openApiOf, param, principal, PUBLIC, roles, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

/** The OpenID Connect relying party as the routes see it (identity/oidc-client.ts implements it). */
export interface LoginFlows {
  /** Starts a login: a flow id for a short-lived cookie and the provider URL to redirect to; `uiLocales` asks the provider for the portal's language. */
  start(returnTo: string, uiLocales?: string): Promise<{ flowId: string; redirectUrl: string }>;
  /** Completes it from the callback URL: validated claims, or AppError('unauthenticated', reason). */
  finish(flowId: string, callbackUrl: URL): Promise<VerifiedLogin & { returnTo: string }>;
}

export interface IdentityRouteDeps {
  readonly identity: IdentityService;
  readonly auth: AuthDeps;
  /** Refuses (audited) a token for a project the person may not act on. */
  readonly assertCanIssueToken: (p: ReturnType<typeof principal>, projectId: string, requestId: string) => Promise<void>;
  readonly secureCookies: boolean;
  /** ENCLAVE_DEMO_MODE: the embedded provider's login page lists the demo people (when their logins are on). */
  readonly demoMode?: boolean;
}

const str = (body: Record<string, unknown>, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AppError('invalid', `${key} must be a string`);
  return v;
};

export function identityRouteSpecs(d: IdentityRouteDeps): RouteSpec[] {
  const { identity } = d;
  const rid = (c: Context<AuthEnv>): string => c.get('requestId');
  return [
    {
      method: 'GET', path: '/me', response: ref('Me'), permission: AUTHENTICATED, token: true, summary: 'Who I am: person, roles, and the CSRF token of my session',
      handler: async (c) => {
        const p = principal(c);
        const person = await identity.requirePerson(p.personId);
        return c.json({ person, roles: [...p.roles].sort(), via: p.via, projectScope: p.projectScope, csrfToken: c.get('csrfToken') });
      },
    },
    {
      method: 'GET', path: '/directory', response: listOf('people', 'DirectoryEntry'), permission: AUTHENTICATED, summary: 'Search the people directory (?q=, 2 to 100 characters): name and organisation of at most 20 people, to name colleagues in a team',
      handler: async (c) => c.json({ people: await identity.directory(c.req.query('q') ?? '') }),
    },
    { method: 'GET', path: '/people', response: listOf('people', 'Person'), permission: roles('admin', 'access_committee', 'auditor'), summary: 'People known to the platform and their roles', handler: async (c) => c.json({ people: await identity.listPeople() }) },
    {
      method: 'POST', path: '/people/:personId/roles', response: ref('RoleChangeResult'), permission: roles('admin'),
      summary: 'Grant a platform role: {"role"} (admin, never to oneself). A reviewing role (access_committee, ethics_reviewer, legal_reviewer, output_checker) is only proposed (202): a second admin approves it', alsoStatus: [202],
      handler: async (c) => {
        const change = await identity.grantRole(principal(c), param(c, 'personId'), str(await jsonBody(c), 'role') ?? '', rid(c));
        return c.json({ change, person: await identity.requirePerson(change.personId) }, change.state === 'pending' ? 202 : 200);
      },
    },
    {
      method: 'DELETE', path: '/people/:personId/roles/:role', response: ref('RoleChangeResult'), permission: roles('admin'),
      summary: 'Remove a platform role (admin, never one\'s own). A reviewing role is only proposed for removal (202): a second admin approves it', alsoStatus: [202],
      handler: async (c) => {
        const change = await identity.revokeRole(principal(c), param(c, 'personId'), param(c, 'role'), rid(c));
        return c.json({ change, person: await identity.requirePerson(change.personId) }, change.state === 'pending' ? 202 : 200);
      },
    },
    {
      method: 'GET', path: '/role-changes', response: listOf('changes', 'RoleChange'), permission: roles('admin', 'auditor'), summary: 'Role changes, newest first (?state=pending|applied|rejected)',
      handler: async (c) => {
        const state = c.req.query('state');
        if (state !== undefined && state !== 'pending' && state !== 'applied' && state !== 'rejected') {
          throw new AppError('invalid', 'state must be pending, applied or rejected', { hint: 'e.g. ?state=pending', details: { field: 'state' } });
        }
        return c.json({ changes: await identity.listRoleChanges(state ?? null) });
      },
    },
    {
      method: 'POST', path: '/role-changes/:changeId/approve', response: ref('RoleChange'), permission: roles('admin'), summary: 'Approve a pending change of a reviewing role (a second admin: not its proposer, not the person concerned)',
      handler: async (c) => c.json(await identity.decideRoleChange(principal(c), param(c, 'changeId'), 'approve', rid(c))),
    },
    {
      method: 'POST', path: '/role-changes/:changeId/reject', response: ref('RoleChange'), permission: roles('admin'), summary: 'Reject (or, its proposer, withdraw) a pending change of a reviewing role',
      handler: async (c) => c.json(await identity.decideRoleChange(principal(c), param(c, 'changeId'), 'reject', rid(c))),
    },
    {
      method: 'GET', path: '/demo-logins', response: ref('DemoLogins'), permission: roles('admin', 'auditor'),
      summary: 'The demo logins switch: whether the embedded provider\'s demo people may log in, whether the login page lists them (ENCLAVE_DEMO_MODE), and a change waiting for a second admin',
      handler: async (c) => c.json({ ...(await identity.demoLogins()), listed: d.demoMode === true }),
    },
    {
      method: 'POST', path: '/demo-logins', response: ref('DemoLoginChangeResult'), permission: roles('admin'),
      summary: 'Turn demo logins off ({"enabled": false}: at once; demo people\'s sessions end and their tokens are revoked) or on ({"enabled": true}: only proposed, 202; a second admin approves)', alsoStatus: [202],
      handler: async (c) => {
        const enabled = (await jsonBody(c))['enabled'];
        if (typeof enabled !== 'boolean') throw new AppError('invalid', 'enabled must be true or false', { hint: 'e.g. {"enabled": false}', details: { field: 'enabled' } });
        const change = await identity.setDemoLogins(principal(c), enabled, rid(c));
        return c.json({ change }, change.state === 'pending' ? 202 : 200);
      },
    },
    {
      method: 'POST', path: '/demo-logins/:changeId/approve', response: ref('DemoLoginChangeResult'), permission: roles('admin'), summary: 'Approve turning demo logins on (a second admin, not its proposer)',
      handler: async (c) => c.json({ change: await identity.decideDemoLogins(principal(c), param(c, 'changeId'), 'approve', rid(c)) }),
    },
    {
      method: 'POST', path: '/demo-logins/:changeId/reject', response: ref('DemoLoginChangeResult'), permission: roles('admin'), summary: 'Reject (or, its proposer, withdraw) turning demo logins on',
      handler: async (c) => c.json({ change: await identity.decideDemoLogins(principal(c), param(c, 'changeId'), 'reject', rid(c)) }),
    },
    { method: 'GET', path: '/me/tokens', response: listOf('tokens', 'ApiToken'), permission: AUTHENTICATED, summary: 'My API tokens (never the secret)', handler: async (c) => c.json({ tokens: await identity.listApiTokens(principal(c).personId) }) },
    {
      method: 'POST', path: '/me/tokens', response: ref('NewApiToken'), status: 201, permission: AUTHENTICATED, summary: 'Create an API token for one project: {"projectId", "days", "label"}; the secret is shown once',
      handler: async (c) => {
        const body = await jsonBody(c);
        const projectId = str(body, 'projectId');
        if (projectId === undefined) throw new AppError('invalid', 'projectId is required', { hint: 'a token acts on one project only' });
        const days = body['days'];
        if (days !== undefined && typeof days !== 'number') throw new AppError('invalid', 'days must be a number');
        await d.assertCanIssueToken(principal(c), projectId, rid(c));
        const label = str(body, 'label');
        const t = await identity.createApiToken(principal(c), projectId, { ...(days === undefined ? {} : { days }), ...(label === undefined ? {} : { label }) }, rid(c));
        c.header('Cache-Control', 'no-store');
        return c.json(t, 201);
      },
    },
    {
      method: 'DELETE', path: '/me/tokens/:tokenId', permission: AUTHENTICATED, summary: 'Revoke an API token',
      handler: async (c) => {
        await identity.revokeApiToken(principal(c), param(c, 'tokenId'), rid(c));
        return c.body(null, 204);
      },
    },
  ];
}

export function identityRoutes(d: IdentityRouteDeps): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(d.auth));
  mountRoutes(app, identityRouteSpecs(d), d.auth);
  // mounted as a plain sub-app: the outer app's env need not know AuthEnv
  return new Hono().route('/', app);
}

const FLOW_COOKIE = 'enclave_login';

export function authRouteSpecs(d: IdentityRouteDeps & { readonly flows: LoginFlows }): RouteSpec[] {
  const { identity, flows } = d;
  const cookieOpts = (maxAge: number, sameSite: 'Lax' | 'Strict') => ({ httpOnly: true, secure: d.secureCookies, sameSite, path: '/', maxAge });
  return [
    {
      method: 'GET', path: '/login', permission: PUBLIC, summary: 'Start an OpenID Connect login (code + PKCE); redirects to the identity provider (?returnTo=<local path>&lang=fr|en: the language of its pages)',
      handler: async (c) => {
        const back = c.req.query('returnTo') ?? '/';
        // only local paths: no open redirect
        const returnTo = /^\/(?![/\\])[\w\-./?=&%]*$/.test(back) ? back : '/';
        const lang = c.req.query('lang');
        const { flowId, redirectUrl } = await flows.start(returnTo, ...(lang === 'fr' || lang === 'en' ? [lang] : []));
        // Lax: the provider sends the browser back with a top-level GET from another site
        setCookie(c, FLOW_COOKIE, flowId, cookieOpts(600, 'Lax'));
        return c.redirect(redirectUrl, 302);
      },
    },
    {
      method: 'GET', path: '/callback', permission: PUBLIC, summary: 'OpenID Connect redirect URI: validates the code, tokens, nonce, state and MFA, then opens a session',
      handler: async (c) => {
        const flowId = getCookie(c, FLOW_COOKIE);
        deleteCookie(c, FLOW_COOKIE, { path: '/', secure: d.secureCookies });
        try {
          if (flowId === undefined) throw new AppError('unauthenticated', 'no login in progress in this browser', { hint: 'start again at /api/v1/auth/login', details: { reason: 'no_flow' } });
          const v = await flows.finish(flowId, new URL(c.req.url));
          const s = await identity.login(v, c.get('requestId'));
          // Lax, not Strict: the browser arrives here from the provider's site, and must carry the
          // session on the redirect that follows; unsafe methods need the CSRF token anyway.
          setCookie(c, d.auth.cookieName, s.cookieValue, cookieOpts(Math.floor(identity.sessionPolicy.absoluteMs / 1000), 'Lax'));
          return c.redirect(v.returnTo, 302);
        } catch (e) {
          const reason = isAppError(e) && typeof e.details?.['reason'] === 'string' ? e.details['reason'] : 'invalid_response';
          await identity.loginRefused(reason, c.get('requestId'));
          if (isAppError(e) && e.code === 'unauthenticated') throw e;
          throw new AppError('unauthenticated', 'login failed: the identity provider\'s answer did not validate', { hint: 'start again at /api/v1/auth/login', details: { reason } });
        }
      },
    },
    {
      method: 'POST', path: '/logout', permission: AUTHENTICATED, summary: 'End my session',
      handler: async (c) => {
        const cookie = getCookie(c, d.auth.cookieName);
        if (cookie !== undefined) await identity.logout(cookie, c.get('requestId'));
        deleteCookie(c, d.auth.cookieName, { path: '/', secure: d.secureCookies });
        return c.body(null, 204);
      },
    },
  ];
}

export function authRoutes(d: IdentityRouteDeps & { readonly flows: LoginFlows }): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(d.auth));
  mountRoutes(app, authRouteSpecs(d), d.auth);
  // mounted as a plain sub-app: the outer app's env need not know AuthEnv
  return new Hono().route('/', app);
}

export function identityOpenApiPaths(d: IdentityRouteDeps & { readonly flows: LoginFlows }): Record<string, unknown> {
  return { ...openApiOf('identity', identityRouteSpecs(d), 'identity'), ...openApiOf('auth', authRouteSpecs(d), 'auth') };
}
