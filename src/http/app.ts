import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type MiddlewareHandler } from 'hono';
import { AppError, isAppError, toProblem } from '../errors.ts';
import { API_SCHEMAS } from './api-schemas.ts';
import { CSRF_HEADER, SECURITY, sessionCookieName } from './auth.ts';
import { DEFAULT_MAX_BODY_BYTES, guardNodeRequest, limitBody, NODE_MOUNT_MAX_BODY_BYTES, validateStrings, type BodyLimitRule } from './input.ts';

export interface HttpDeps {
  readonly version: string;
  readonly health: () => Promise<Readonly<Record<string, unknown>>>;
  /** Sub-apps mounted under /api/v1/<prefix>. */
  readonly routes: ReadonlyArray<{ readonly prefix: string; readonly app: Hono }>;
  /** OpenAPI path objects, relative to /api/v1, merged into one document. */
  readonly openApiPaths: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Where request failures are reported (never with row values). */
  readonly logError?: (requestId: string, e: unknown) => void;
  /** Largest request body accepted, in bytes (default 1 MiB), enforced on the stream. */
  readonly maxBodyBytes?: number;
  /** Routes that legitimately take larger bodies, each with its own explicit limit. */
  readonly bodyLimits?: readonly BodyLimitRule[];
  /**
   * The public URL is https: browsers are told to keep to https (HSTS), and the session cookie
   * is the `__Host-` one (named so in the OpenAPI security schemes).
   */
  readonly https?: boolean;
  /** The web portal: answers GET/HEAD for non-API paths no route took (src/http/static.ts). */
  readonly portal?: (method: string, path: string, ifNoneMatch: string | undefined, acceptEncoding?: string) => Response | undefined;
  /**
   * Node request handlers served under a path prefix, whole (the embedded OpenID provider under
   * /idp): they answer on the raw node response, with their own security headers.
   */
  readonly nodeMounts?: ReadonlyArray<{ readonly prefix: string; handle(req: IncomingMessage, res: ServerResponse): void; readonly summary?: string }>;
}

/** HSTS for a year, subdomains included (sent only when the public URL is https). */
export const HSTS = 'max-age=31536000; includeSubDomains';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Request id: taken from a well-formed X-Request-Id, otherwise minted; echoed on the response. */
const requestId: MiddlewareHandler<{ Variables: { requestId: string } }> = async (c, next) => {
  const given = c.req.header('x-request-id');
  const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
  c.set('requestId', id);
  c.header('X-Request-Id', id);
  await next();
};

const securityHeaders = (https: boolean): MiddlewareHandler => async (c, next) => {
  await next();
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  if (https) c.header('Strict-Transport-Security', HSTS);
  if (c.res.headers.get('Content-Security-Policy') === null) {
    c.header('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  }
};

/**
 * The HTTP adapter: `/healthz`, and everything else under `/api/v1`. Errors become RFC 9457
 * problem+json in exactly one place (`onError`).
 */
export function createHttpApp(deps: HttpDeps): Hono<{ Variables: { requestId: string } }> {
  const app = new Hono<{ Variables: { requestId: string } }>();
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const https = deps.https === true;
  const mounts = deps.nodeMounts ?? [];
  const mounted = (path: string): boolean => mounts.some((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
  app.use('*', requestId);
  app.use('*', securityHeaders(https));
  // The node mounts read the raw node request: they get the node-level guard below instead.
  app.use('*', limitBody(maxBody, deps.bodyLimits ?? [], mounted));
  app.use('*', validateStrings(() => app.routes, mounted));

  for (const m of mounts) {
    app.all(`${m.prefix}/*`, (c) => {
      const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
      if (env?.incoming === undefined || env.outgoing === undefined) throw new AppError('not_found', `${m.prefix} is served only by the node server`);
      if (https) env.outgoing.setHeader('Strict-Transport-Security', HSTS);
      const { incoming, outgoing } = env;
      guardNodeRequest(incoming, outgoing, NODE_MOUNT_MAX_BODY_BYTES, c.get('requestId'), () => m.handle(incoming, outgoing));
      return RESPONSE_ALREADY_SENT;
    });
  }

  app.get('/healthz', async (c) => c.json({ status: 'ok', version: deps.version, ...(await deps.health()) }));

  const api = new Hono<{ Variables: { requestId: string } }>();
  api.get('/openapi.json', (c) => c.json(openApiDocument(deps)));
  for (const r of deps.routes) api.route(`/${r.prefix}`, r.app);
  app.route('/api/v1', api);

  app.notFound((c) => {
    const page = deps.portal?.(c.req.method, c.req.path, c.req.header('if-none-match'), c.req.header('accept-encoding'));
    if (page !== undefined) return page;
    const problem = toProblem(new AppError('not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`, { hint: 'the API is described at /api/v1/openapi.json' }), c.get('requestId'));
    return c.body(JSON.stringify(problem), 404, { 'Content-Type': 'application/problem+json' });
  });
  app.onError((err, c) => {
    const id = c.get('requestId');
    const problem = toProblem(normaliseError(err), id);
    if (problem.status >= 500) deps.logError?.(id, err);
    return c.body(JSON.stringify(problem), problem.status as 500, { 'Content-Type': 'application/problem+json' });
  });
  return app;
}

/**
 * An AppError keeps its code, message, hint and details. Errors the framework or a driver
 * throws for the client's input become 'invalid' with what is known; anything else stays
 * unknown (a generic 500 with the request id).
 */
export function normaliseError(err: unknown): unknown {
  if (isAppError(err)) return err;
  if (err instanceof SyntaxError) return new AppError('invalid', 'request body is not valid JSON', { hint: 'send a JSON document with Content-Type: application/json' });
  if (err instanceof URIError) return new AppError('invalid', 'the URL is not valid percent-encoded UTF-8', { hint: 'percent-encode the text as UTF-8 (encodeURIComponent)' });
  // PostgreSQL refuses NUL in text (22021) and \u0000 in jsonb (22P05): a backstop behind the
  // validation layer (src/http/input.ts), for strings that reach the database another way.
  const sqlState = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (sqlState === '22021' || sqlState === '22P05') {
    return new AppError('invalid', 'a text value contains a character the database cannot store (NUL)', { hint: 'remove NUL characters from the request' });
  }
  if (typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number') {
    if (err.status === 413) return new AppError('payload_too_large', 'request body is too large');
    if (err.status === 400) {
      const message = err instanceof Error && err.message !== '' ? err.message : 'malformed request';
      return new AppError('invalid', message);
    }
  }
  return err;
}

/**
 * The OpenAPI 3.1 document: every route of the API (each route module gives its path items),
 * plus /healthz and the node mounts, which live outside /api/v1 (path-level `servers`).
 */
export function openApiDocument(deps: Pick<HttpDeps, 'version' | 'openApiPaths' | 'nodeMounts' | 'https'>): Record<string, unknown> {
  const root = [{ url: '/' }];
  const paths: Record<string, unknown> = {
    '/openapi.json': { get: { summary: 'This document', tags: ['meta'], security: [], responses: { '200': { description: 'OpenAPI 3.1 document' } } } },
    '/healthz': { servers: root, get: { summary: 'Health: the server answers and its metadata database too', tags: ['meta'], security: [], responses: { '200': { description: 'status, version, metadata database kind, the default workspace engine (engine) and every engine the deployment runs (engines), and how many drops closed projects still owe an engine (engineCleanupsOwed: a count, listed for operators at /api/v1/operator/engine-cleanups)' } } } },
  };
  for (const m of deps.nodeMounts ?? []) {
    paths[`${m.prefix}/{path}`] = {
      servers: root,
      parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
      get: { summary: m.summary ?? `Served whole by a handler mounted under ${m.prefix}`, tags: ['meta'], security: [], responses: { default: { description: 'answered by the mounted handler' } } },
      post: { summary: m.summary ?? `Served whole by a handler mounted under ${m.prefix}`, tags: ['meta'], security: [], responses: { default: { description: 'answered by the mounted handler' } } },
    };
  }
  for (const p of deps.openApiPaths) Object.assign(paths, p);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Enclave API',
      version: deps.version,
      description: 'Sovereign health data platform: public catalogue, datasets, audit log. Errors are RFC 9457 problem+json.',
      license: { name: 'MPL-2.0', identifier: 'MPL-2.0' },
    },
    servers: [{ url: '/api/v1' }],
    // Routes without their own `security` need a login; public routes say `security: []`.
    security: [{ [SECURITY.session]: [] }, { [SECURITY.bearer]: [] }],
    paths,
    components: {
      securitySchemes: {
        [SECURITY.session]: { type: 'apiKey', in: 'cookie', name: sessionCookieName(deps.https === true), description: 'Browser session, opened by the OpenID Connect login at /api/v1/auth/login' },
        [SECURITY.csrf]: { type: 'apiKey', in: 'header', name: CSRF_HEADER, description: 'With a session cookie, every POST, PUT and DELETE echoes the csrfToken of GET /api/v1/identity/me' },
        [SECURITY.bearer]: { type: 'http', scheme: 'bearer', description: 'API token of one project (Profile → API tokens), on the routes marked x-api-token' },
      },
      schemas: API_SCHEMAS,
    },
  };
}
