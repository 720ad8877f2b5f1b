/**
 * Airlock routes, mounted under /api/v1/airlock: release requests, their outputs, the checkers'
 * reviews, downloads of released bundles and files, and the public release-signing key. The gate
 * lets in any logged-in caller (reviews: the output_checker role); the service decides who may
 * act on which request (members, independent checkers, four eyes) and says why it refuses.
 */
import { Hono, type Context } from 'hono';
import type { AirlockService } from '../../airlock/index.ts';
import { listOf, ref } from '../api-schemas.ts';
import { AUTHENTICATED, authenticate, jsonBody, mountRoutes, openApiOf, param, principal, PUBLIC, roles, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

export function airlockRouteSpecs(airlock: AirlockService): RouteSpec[] {
  const rid = (c: Context<AuthEnv>): string => c.get('requestId');
  const id = (c: Context<AuthEnv>): string => param(c, 'rid');
  const file = (c: Context<AuthEnv>, f: { fileName: string; contentType: string; body: Buffer; sha256: string }): Response =>
    c.body(new Uint8Array(f.body), 200, {
      'content-type': f.contentType,
      'content-disposition': `attachment; filename="${f.fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'x-content-sha256': f.sha256,
      'cache-control': 'no-store',
    });
  return [
    { method: 'GET', path: '/signing-key', response: ref('SigningKey'), permission: PUBLIC, summary: 'The public key that signs released bundles (enclave airlock verify --public-key)', handler: async (c) => c.json(airlock.signingKey()) },
    {
      method: 'GET', path: '/requests', response: listOf('requests', 'ReleaseRequest'), permission: AUTHENTICATED, token: true, summary: 'Release requests: a project\'s (?projectId=, members; checkers and auditors see them once submitted), or the checkers\' queue (?status=)',
      handler: async (c) => {
        const projectId = c.req.query('projectId');
        const status = c.req.query('status');
        return c.json({ requests: await airlock.list(principal(c), { ...(projectId === undefined || projectId === '' ? {} : { projectId }), ...(status === undefined || status === '' ? {} : { status }) }, rid(c)) });
      },
    },
    { method: 'POST', path: '/requests', response: ref('RequestDetail'), status: 201, permission: AUTHENTICATED, token: true, summary: 'File a release request (a project member): {"projectId", "title", "description", "population"}', handler: async (c) => c.json(await airlock.createRequest(principal(c), await jsonBody(c), rid(c)), 201) },
    { method: 'GET', path: '/requests/:rid', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'A request: outputs with their rows, the disclosure report, votes, release, and the actions open to the caller', handler: async (c) => c.json(await airlock.get(principal(c), id(c), rid(c))) },
    { method: 'PUT', path: '/requests/:rid', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'Change the request\'s context (draft or returned): {"title"?, "description"?, "population"?}', handler: async (c) => c.json(await airlock.updateRequest(principal(c), id(c), await jsonBody(c), rid(c))) },
    { method: 'GET', path: '/requests/:rid/versions', response: listOf('versions', 'RequestVersion'), permission: AUTHENTICATED, token: true, summary: 'Every version of the request, as it was changed', handler: async (c) => c.json({ versions: await airlock.versions(principal(c), id(c), rid(c)) }) },
    {
      method: 'POST', path: '/requests/:rid/outputs', response: ref('RequestDetail'), status: 201, permission: AUTHENTICATED, token: true,
      summary: 'Add a saved table of the workspace as an output: {"table", "name"?, "description", "kind"?, "roles"?: {column: role}, "variables"?: {column: definition}, "underlyingCounts"?}',
      handler: async (c) => c.json(await airlock.addOutput(principal(c), id(c), await jsonBody(c), rid(c)), 201),
    },
    { method: 'PUT', path: '/requests/:rid/outputs/:oid', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'Change an output (its rows are read again; its votes are reset): the fields of POST .../outputs, and "refresh"', handler: async (c) => c.json(await airlock.updateOutput(principal(c), id(c), param(c, 'oid'), await jsonBody(c), rid(c))) },
    { method: 'DELETE', path: '/requests/:rid/outputs/:oid', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'Remove an output from the request (draft or returned)', handler: async (c) => c.json(await airlock.removeOutput(principal(c), id(c), param(c, 'oid'), rid(c))) },
    { method: 'POST', path: '/requests/:rid/submit', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'Submit the request to the output checkers: the disclosure report is computed now', handler: async (c) => c.json(await airlock.submit(principal(c), id(c), rid(c))) },
    { method: 'POST', path: '/requests/:rid/withdraw', response: ref('RequestDetail'), permission: AUTHENTICATED, token: true, summary: 'Withdraw the request', handler: async (c) => c.json(await airlock.withdraw(principal(c), id(c), rid(c))) },
    {
      method: 'POST', path: '/requests/:rid/reviews', response: ref('RequestDetail'), permission: roles('output_checker'),
      summary: 'An output checker\'s votes: {"votes": [{"output", "decision": "approve"|"return"|"reject", "reasons": [codes], "comment"}]}; the second distinct approval of every output releases the request',
      handler: async (c) => c.json(await airlock.review(principal(c), id(c), await jsonBody(c), rid(c))),
    },
    { method: 'GET', path: '/requests/:rid/bundle', permission: AUTHENTICATED, token: true, summary: 'Download the signed release bundle (project members; audited with its SHA-256)', handler: async (c) => file(c, await airlock.download(principal(c), id(c), {}, rid(c))) },
    { method: 'GET', path: '/requests/:rid/outputs/:oid/file', permission: AUTHENTICATED, token: true, summary: 'Download one released output as CSV (project members; audited with its SHA-256)', handler: async (c) => file(c, await airlock.download(principal(c), id(c), { output: param(c, 'oid') }, rid(c))) },
  ];
}

/**
 * @example
 *   routes.push({ prefix: 'airlock', app: airlockRoutes(airlock, auth) });
 */
export function airlockRoutes(airlock: AirlockService, auth: AuthDeps): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(auth));
  mountRoutes(app, airlockRouteSpecs(airlock), auth);
  return new Hono().route('/', app);
}

export function airlockOpenApiPaths(airlock: AirlockService): Record<string, unknown> {
  return openApiOf('airlock', airlockRouteSpecs(airlock), 'airlock');
}
