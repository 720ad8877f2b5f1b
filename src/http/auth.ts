/**
 * Authentication and route permissions. Every route is declared with its permission
 * (`RouteSpec`), mounted by `mountRoutes`, which refuses anonymous callers (401) and callers
 * without a required role (403) before the handler runs, records each refusal in the audit log,
 * and checks the CSRF token of cookie sessions on unsafe methods. Object-level rules (member of
 * the project, four eyes, workflow state) are the services' `assertCanX`.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { AppError } from '../errors.ts';
import type { JsonSchema } from './api-schemas.ts';
import { IdentityService, type Principal, type ResolvedSession, type Role } from '../identity/index.ts';

export type Permission =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'roles'; readonly roles: readonly Role[] };

export const PUBLIC: Permission = { kind: 'public' };
export const AUTHENTICATED: Permission = { kind: 'authenticated' };
export const roles = (...r: Role[]): Permission => ({ kind: 'roles', roles: r });

export type AuthEnv = {
  Variables: {
    requestId: string;
    principal: Principal | null;
    csrfToken: string | null;
  };
};

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  readonly method: Method;
  /** Hono path relative to the sub-app, e.g. `/projects/:id`. */
  readonly path: string;
  readonly permission: Permission;
  /** Whether a project-scoped API token may call it (default: browser sessions only). */
  readonly token?: boolean;
  readonly summary: string;
  /** JSON Schema of the success response's body (usually `ref('Name')` from api-schemas.ts). */
  readonly response?: JsonSchema;
  /** Status of the success response when it is not 200. */
  readonly status?: 201 | 202;
  /** Other success statuses the same body may come with (e.g. 202 when a change waits for a second admin). */
  readonly alsoStatus?: readonly (200 | 201 | 202)[];
  /** JSON Schema of the request body. */
  readonly body?: JsonSchema;
  /** Query parameters, published in the OpenAPI document (the handler still checks them). */
  readonly query?: ReadonlyArray<{ readonly name: string; readonly description: string; readonly schema: JsonSchema }>;
  readonly handler: (c: Context<AuthEnv>) => Promise<Response>;
}

export interface AuthDeps {
  resolveSession(cookieValue: string): Promise<ResolvedSession | null>;
  resolveApiToken(token: string): Promise<Principal | null>;
  /** Records a refused request (outcome 'denied'). */
  denied(who: Principal | null, route: string, code: 'unauthenticated' | 'forbidden', requestId: string): Promise<void>;
  readonly cookieName: string;
}

export const CSRF_HEADER = 'x-csrf-token';

/** Names of the OpenAPI security schemes (declared in src/http/app.ts). */
export const SECURITY = { session: 'sessionCookie', csrf: 'csrfToken', bearer: 'bearerToken' } as const;

/** OpenAPI security requirements of a route: a session (with its CSRF token on unsafe methods) or, where allowed, a bearer token. */
function securityOf(s: RouteSpec): unknown[] {
  if (s.permission.kind === 'public') return [];
  const session = s.method === 'GET' ? { [SECURITY.session]: [] } : { [SECURITY.session]: [], [SECURITY.csrf]: [] };
  return s.token === true ? [session, { [SECURITY.bearer]: [] }] : [session];
}

/** Session cookie name: `__Host-` prefixed (Secure, path /, no domain) when served over HTTPS. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-enclave_session' : 'enclave_session';
}

/** Finds who is calling: a bearer API token, or a session cookie. Sets `principal` (or null). */
export function authenticate(deps: AuthDeps): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    c.set('principal', null);
    c.set('csrfToken', null);
    const authz = c.req.header('authorization');
    if (authz !== undefined) {
      const m = /^Bearer (\S+)$/i.exec(authz);
      const p = m?.[1] === undefined ? null : await deps.resolveApiToken(m[1]);
      if (p === null) {
        await deps.denied(null, `${c.req.method} ${new URL(c.req.url).pathname}`, 'unauthenticated', c.get('requestId'));
        throw new AppError('unauthenticated', 'the API token is unknown, expired or revoked', { hint: 'create a new token in the portal (Profile → API tokens)' });
      }
      c.set('principal', p);
    } else {
      const cookie = getCookie(c, deps.cookieName);
      const s = cookie === undefined ? null : await deps.resolveSession(cookie);
      if (s !== null) {
        c.set('principal', s.principal);
        c.set('csrfToken', s.csrfToken);
      }
    }
    await next();
  };
}

function allowed(p: Principal, perm: Permission): boolean {
  switch (perm.kind) {
    case 'public':
    case 'authenticated':
      return true;
    case 'roles':
      return perm.roles.some((r) => p.roles.has(r));
  }
}

/** The principal of a request whose route required login (always set by then). */
export function principal(c: Context<AuthEnv>): Principal {
  const p = c.get('principal');
  if (p === null) throw new AppError('unauthenticated', 'login required', { hint: 'log in at /api/v1/auth/login' });
  return p;
}

const describe = (perm: Permission): string => (perm.kind === 'roles' ? `role ${perm.roles.join(' or ')}` : perm.kind);

/** Mounts route specs on `app`, each behind its declared permission. */
export function mountRoutes(app: Hono<AuthEnv>, specs: readonly RouteSpec[], deps: Pick<AuthDeps, 'denied'>): void {
  for (const spec of specs) {
    const guard: MiddlewareHandler<AuthEnv> = async (c, next) => {
      const route = `${spec.method} ${spec.path}`;
      const p = c.get('principal');
      if (spec.permission.kind !== 'public') {
        if (p === null) {
          await deps.denied(null, route, 'unauthenticated', c.get('requestId'));
          throw new AppError('unauthenticated', 'login required', { hint: 'log in at /api/v1/auth/login, or send an API token as Authorization: Bearer', details: { permission: describe(spec.permission) } });
        }
        if (p.via === 'token' && spec.token !== true) {
          await deps.denied(p, route, 'forbidden', c.get('requestId'));
          throw new AppError('forbidden', 'API tokens cannot call this route', { hint: 'log in through the browser for this action', details: { permission: 'session' } });
        }
        if (!allowed(p, spec.permission)) {
          await deps.denied(p, route, 'forbidden', c.get('requestId'));
          throw new AppError('forbidden', `this route needs the ${describe(spec.permission)}`, { hint: 'ask an admin for the role if your work needs it', details: { permission: describe(spec.permission) } });
        }
      }
      // CSRF: a cookie session must echo its token on every state-changing request.
      if (spec.method !== 'GET' && p !== null && p.via === 'session') {
        const expected = c.get('csrfToken');
        if (expected === null || !IdentityService.csrfMatches(expected, c.req.header(CSRF_HEADER))) {
          await deps.denied(p, route, 'forbidden', c.get('requestId'));
          throw new AppError('forbidden', 'missing or wrong CSRF token', { hint: `send the csrfToken of GET /api/v1/identity/me in the ${CSRF_HEADER} header`, details: { permission: 'csrf' } });
        }
      }
      await next();
    };
    const handler = async (c: Context<AuthEnv>): Promise<Response> => spec.handler(c);
    switch (spec.method) {
      case 'GET': app.get(spec.path, guard, handler); break;
      case 'POST': app.post(spec.path, guard, handler); break;
      case 'PUT': app.put(spec.path, guard, handler); break;
      case 'DELETE': app.delete(spec.path, guard, handler); break;
    }
  }
}

/** OpenAPI path objects of route specs, under a prefix. */
export function openApiOf(prefix: string, specs: readonly RouteSpec[], tag: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of specs) {
    const path = `/${prefix}${s.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    out[path] ??= {};
    const params = [
      ...[...s.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(s.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema })),
    ];
    out[path][s.method.toLowerCase()] = {
      summary: s.summary, tags: [tag],
      security: securityOf(s),
      'x-permission': describe(s.permission), 'x-api-token': s.token === true,
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(s.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } }),
      responses: { ...Object.fromEntries([s.status ?? 200, ...(s.alsoStatus ?? [])].map((code) => [String(code), s.response === undefined ? { description: code === 202 ? 'Accepted' : 'OK' } : { description: code === 202 ? 'Accepted' : 'OK', content: { 'application/json': { schema: s.response } } }])), default: { description: 'problem+json', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } },
    };
  }
  return out;
}

/** Reads a JSON object body; a clear error otherwise. */
export async function jsonBody(c: Context<AuthEnv>): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new AppError('invalid', 'request body is not valid JSON', { hint: 'send a JSON document with Content-Type: application/json' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('invalid', 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A path parameter the route declares. */
export function param(c: Context<AuthEnv>, name: string): string {
  const v = c.req.param(name);
  if (v === undefined || v === '') throw new AppError('invalid', `missing path parameter ${name}`);
  return v;
}

/** A query parameter that must be a whole number (its text: up to 15 digits), refused naming it. */
export function wholeNumber(v: string | undefined, name: string): number {
  if (v === undefined || !/^\d{1,15}$/.test(v)) {
    throw new AppError('invalid', `query parameter ${name} must be a whole number`, { hint: `e.g. ?${name}=10`, details: { field: name } });
  }
  return Number(v);
}

/** The auth dependencies from the identity service and the audit log (refusals recorded as 'denied'). */
export function authDepsFrom(identity: IdentityService, audit: { record(d: { actor: { kind: 'person' | 'service'; id: string }; action: string; target: string; outcome: 'denied'; details: Record<string, string>; requestId: string }): Promise<unknown> }, secureCookies: boolean): AuthDeps {
  return {
    cookieName: sessionCookieName(secureCookies),
    resolveSession: (v) => identity.resolveSession(v),
    resolveApiToken: (t) => identity.resolveApiToken(t),
    denied: async (who, route, code, requestId) => {
      await audit.record({ actor: who === null ? { kind: 'service', id: 'http' } : { kind: 'person', id: who.personId }, action: 'http.request', target: route, outcome: 'denied', details: { error: code }, requestId });
    },
  };
}
