import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type MiddlewareHandler } from 'hono';
import { AppError, toProblem } from '../errors.ts';

export interface HttpDeps {
  readonly version: string;
  readonly health: () => Promise<Readonly<Record<string, unknown>>>;
  /** Sub-apps mounted under /api/v1/<prefix>. */
  readonly routes: ReadonlyArray<{ readonly prefix: string; readonly app: Hono }>;
  /** OpenAPI path objects, relative to /api/v1, merged into one document. */
  readonly openApiPaths: ReadonlyArray<Readonly<Record<string, unknown>>>;
  /** Where request failures are reported (never with row values). */
  readonly logError?: (requestId: string, e: unknown) => void;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes?: number;
  /** The web portal: answers GET/HEAD for non-API paths no route took (src/http/static.ts). */
  readonly portal?: (method: string, path: string, ifNoneMatch: string | undefined) => Response | undefined;
  /**
   * Node request handlers served under a path prefix, whole (the embedded OpenID provider under
   * /idp): they answer on the raw node response, with their own security headers.
   */
  readonly nodeMounts?: ReadonlyArray<{ readonly prefix: string; handle(req: IncomingMessage, res: ServerResponse): void }>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Request id: taken from a well-formed X-Request-Id, otherwise minted; echoed on the response. */
const requestId: MiddlewareHandler<{ Variables: { requestId: string } }> = async (c, next) => {
  const given = c.req.header('x-request-id');
  const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
  c.set('requestId', id);
  c.header('X-Request-Id', id);
  await next();
};

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
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
  const maxBody = deps.maxBodyBytes ?? 1024 * 1024;
  app.use('*', requestId);
  app.use('*', securityHeaders);
  app.use('*', async (c, next) => {
    const len = Number(c.req.header('content-length') ?? '0');
    if (Number.isFinite(len) && len > maxBody) {
      throw new AppError('payload_too_large', `request body of ${len} bytes exceeds the ${maxBody}-byte limit`, {
        hint: 'send smaller requests; large files are ingested with the CLI',
      });
    }
    await next();
  });

  for (const m of deps.nodeMounts ?? []) {
    app.all(`${m.prefix}/*`, (c) => {
      const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
      if (env?.incoming === undefined || env.outgoing === undefined) throw new AppError('not_found', `${m.prefix} is served only by the node server`);
      m.handle(env.incoming, env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
  }

  app.get('/healthz', async (c) => c.json({ status: 'ok', version: deps.version, ...(await deps.health()) }));

  const api = new Hono<{ Variables: { requestId: string } }>();
  api.get('/openapi.json', (c) => c.json(openApiDocument(deps)));
  for (const r of deps.routes) api.route(`/${r.prefix}`, r.app);
  app.route('/api/v1', api);

  app.notFound((c) => {
    const page = deps.portal?.(c.req.method, c.req.path, c.req.header('if-none-match'));
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

/** Errors thrown by the framework itself (malformed JSON, etc.) are the client's, not ours. */
function normaliseError(err: unknown): unknown {
  if (err instanceof SyntaxError) return new AppError('invalid', 'request body is not valid JSON', { hint: 'send a JSON document with Content-Type: application/json' });
  if (typeof err === 'object' && err !== null && 'status' in err && err.status === 400) {
    return new AppError('invalid', 'malformed request');
  }
  return err;
}

export function openApiDocument(deps: Pick<HttpDeps, 'version' | 'openApiPaths'>): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/openapi.json': { get: { summary: 'This document', tags: ['meta'], security: [], responses: { '200': { description: 'OpenAPI 3.1 document' } } } },
  };
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
    paths,
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            hint: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
