/**
 * Workspace routes, mounted under /api/v1/projects: a project's extract, its members' queries
 * (run, history, result pages, cancel), saved queries and scratch tables. Any logged-in caller
 * (browser session or the project's API token) passes the gate; the service decides who may act
 * (members named in the active permit; reviewers read metadata only) and says why it refuses.
 * Nothing here downloads rows as a file: outputs leave only through the airlock.
 */
import { Hono, type Context } from 'hono';
import { AppError } from '../../errors.ts';
import { MAX_PAGE_ROWS, type WorkspaceService } from '../../workspace/index.ts';
import { listOf, ref } from '../api-schemas.ts';
import { AUTHENTICATED, authenticate, jsonBody, mountRoutes, openApiOf, param, principal, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

const whole = (c: Context<AuthEnv>, name: string, fallback: number, max: number): number => {
  const v = c.req.query(name);
  if (v === undefined || v === '') return fallback;
  if (!/^\d{1,9}$/.test(v) || Number(v) > max) throw new AppError('invalid', `${name} must be a whole number from 0 to ${max}, got ${JSON.stringify(v.slice(0, 20))}`, { hint: `e.g. ?${name}=${fallback}`, details: { field: name } });
  return Number(v);
};

export function workspaceRouteSpecs(ws: WorkspaceService): RouteSpec[] {
  const rid = (c: Context<AuthEnv>): string => c.get('requestId');
  const id = (c: Context<AuthEnv>): string => param(c, 'id');
  const base = '/:id';
  return [
    { method: 'GET', path: `${base}/workspace`, response: ref('WorkspaceInfo'), permission: AUTHENTICATED, token: true, summary: 'The project\'s workspace: extract status and manifest, tables with catalogue descriptions, scratch quota (members; reviewers: extract metadata)', handler: async (c) => c.json(await ws.workspace(principal(c), id(c), rid(c))) },
    { method: 'GET', path: `${base}/extract`, response: ref('ExtractManifest'), permission: AUTHENTICATED, token: true, summary: 'The manifest of the project\'s extract: tables, rows, dataset versions, key id, SHA-256 of each file (members and reviewers)', handler: async (c) => c.json(await ws.extract(principal(c), id(c), rid(c))) },
    {
      method: 'POST', path: `${base}/queries`, response: ref('Query'), status: 201, permission: AUTHENTICATED, token: true,
      summary: 'Run one SQL statement in the workspace: {"sql", "saveAs"?: {"name", "kind": "table"|"view"}, "waitMs"?}; 201 with the Query when done within waitMs (a refusal is a Query with status refused), else 202 running',
      handler: async (c) => {
        const { query, done, waitMs } = await ws.submit(principal(c), id(c), await jsonBody(c), rid(c));
        let timer: NodeJS.Timeout | undefined;
        const finished = await Promise.race([done, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), waitMs); })]);
        clearTimeout(timer);
        if (finished !== null) return c.json(finished, 201);
        return c.json(await ws.query(principal(c), id(c), query.id, rid(c)).catch(() => query), 202);
      },
    },
    {
      method: 'GET', path: `${base}/queries`, response: listOf('queries', 'Query'), permission: AUTHENTICATED, token: true, summary: 'My queries in this project, newest first (?limit=50&before=<startedAt>)',
      handler: async (c) => {
        const before = c.req.query('before');
        return c.json({ queries: await ws.history(principal(c), id(c), { limit: whole(c, 'limit', 50, 200), ...(before === undefined || before === '' ? {} : { before }) }, rid(c)) });
      },
    },
    { method: 'GET', path: `${base}/queries/:qid`, response: ref('Query'), permission: AUTHENTICATED, token: true, summary: 'One of my queries, with its progress while it runs', handler: async (c) => c.json(await ws.query(principal(c), id(c), param(c, 'qid'), rid(c))) },
    {
      method: 'GET', path: `${base}/queries/:qid/rows`, response: ref('RowsPage'), permission: AUTHENTICATED, token: true, summary: `A page of a query's result, read from the engine (?offset=0&limit=100, limit ≤ ${MAX_PAGE_ROWS}); 410 when the result is no longer kept`,
      handler: async (c) => c.json(await ws.rows(principal(c), id(c), param(c, 'qid'), { offset: whole(c, 'offset', 0, 1_000_000_000), limit: whole(c, 'limit', 100, MAX_PAGE_ROWS) }, rid(c))),
    },
    { method: 'POST', path: `${base}/queries/:qid/cancel`, response: ref('Query'), permission: AUTHENTICATED, token: true, summary: 'Cancel one of my queries (queued or running); answers the Query as it ends up', handler: async (c) => c.json(await ws.cancel(principal(c), id(c), param(c, 'qid'), rid(c))) },
    { method: 'GET', path: `${base}/saved-queries`, response: listOf('savedQueries', 'SavedQuery'), permission: AUTHENTICATED, token: true, summary: 'Saved queries of the project (shared by its members)', handler: async (c) => c.json({ savedQueries: await ws.savedQueries(principal(c), id(c), rid(c)) }) },
    { method: 'POST', path: `${base}/saved-queries`, response: ref('SavedQuery'), status: 201, permission: AUTHENTICATED, token: true, summary: 'Save a query for the project: {"name", "sql", "description"?}', handler: async (c) => c.json(await ws.saveQuery(principal(c), id(c), await jsonBody(c), rid(c)), 201) },
    {
      method: 'DELETE', path: `${base}/saved-queries/:sid`, permission: AUTHENTICATED, token: true, summary: 'Delete a saved query (its author only)',
      handler: async (c) => {
        await ws.deleteSavedQuery(principal(c), id(c), param(c, 'sid'), rid(c));
        return c.body(null, 204);
      },
    },
    { method: 'GET', path: `${base}/tables`, response: listOf('tables', 'WorkspaceTable'), permission: AUTHENTICATED, token: true, summary: 'Saved tables and views of the workspace\'s scratch schema', handler: async (c) => c.json({ tables: await ws.tables(principal(c), id(c), rid(c)) }) },
    {
      method: 'DELETE', path: `${base}/tables/:name`, permission: AUTHENTICATED, token: true, summary: 'Drop a saved table or view of the scratch schema',
      handler: async (c) => {
        await ws.dropTable(principal(c), id(c), param(c, 'name'), rid(c));
        return c.body(null, 204);
      },
    },
  ];
}

/**
 * @example
 *   routes.push({ prefix: 'projects', app: workspaceRoutes(workspace, auth) });
 */
export function workspaceRoutes(ws: WorkspaceService, auth: AuthDeps): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(auth));
  mountRoutes(app, workspaceRouteSpecs(ws), auth);
  return new Hono().route('/', app);
}

export function workspaceOpenApiPaths(ws: WorkspaceService): Record<string, unknown> {
  return openApiOf('projects', workspaceRouteSpecs(ws), 'workspace');
}
