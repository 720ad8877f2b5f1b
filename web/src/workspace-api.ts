/**
 * The workspace HTTP API (issue 12): a project's extract, its members' scratch tables, and the
 * statements they run in the sandbox. Kept to the contract shared with the API (all routes under
 * /api/v1/projects/{id}); rows are read by pages, nothing downloads from here.
 */
import { get, request } from './api.ts';

import type { ApiResponse, CellValue, ExtractManifest, Query, QueryStatus, RowsPage, SavedQuery, WorkspaceInfo, WorkspaceTable } from './api/generated.ts';

// The server's shapes, generated from its OpenAPI document (npm run openapi:types).
export type { CellValue, ExtractManifest, Query, QueryStatus, RowsPage, SavedQuery };
export type Workspace = WorkspaceInfo;
export type WorkspaceStatus = WorkspaceInfo['status'];
export type SchemaTable = WorkspaceTable;
export type SchemaColumn = WorkspaceTable['columns'][number];

export const PAGE_SIZE = 100;
/** The largest page the API serves (the chart reads one page of this size). */
export const MAX_PAGE = 1000;

const enc = encodeURIComponent;

export function workspaceApi(projectId: string) {
  const base = `/api/v1/projects/${enc(projectId)}`;
  return {
    workspace: (s?: AbortSignal) => get<Workspace>(`${base}/workspace`, s),
    run: (sql: string, saveAs?: { name: string; kind: 'table' | 'view' }, waitMs?: number) =>
      request<Query>('POST', `${base}/queries`, { sql, ...(saveAs === undefined ? {} : { saveAs }), ...(waitMs === undefined ? {} : { waitMs }) }),
    query: (qid: string, s?: AbortSignal) => get<Query>(`${base}/queries/${enc(qid)}`, s),
    rows: (qid: string, offset: number, limit: number, s?: AbortSignal) => get<RowsPage>(`${base}/queries/${enc(qid)}/rows?offset=${offset}&limit=${limit}`, s),
    cancel: (qid: string) => request<Query>('POST', `${base}/queries/${enc(qid)}/cancel`),
    history: (s?: AbortSignal) => get<ApiResponse<'GET /projects/{id}/queries'>>(`${base}/queries?limit=50`, s).then((r) => r.queries),
    savedQueries: (s?: AbortSignal) => get<ApiResponse<'GET /projects/{id}/saved-queries'>>(`${base}/saved-queries`, s).then((r) => r.savedQueries),
    saveQuery: (name: string, sql: string, description?: string) => request<SavedQuery>('POST', `${base}/saved-queries`, { name, sql, ...(description === undefined || description === '' ? {} : { description }) }),
    deleteSavedQuery: (sid: string) => request<undefined>('DELETE', `${base}/saved-queries/${enc(sid)}`),
    tables: (s?: AbortSignal) => get<ApiResponse<'GET /projects/{id}/tables'>>(`${base}/tables`, s).then((r) => r.tables),
    dropTable: (name: string) => request<undefined>('DELETE', `${base}/tables/${enc(name)}`),
  };
}
export type WorkspaceApi = ReturnType<typeof workspaceApi>;

/** Types a chart can use as its value axis. */
export function isNumericType(type: string): boolean {
  return /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL|NUMERIC)\b/i.test(type.trim());
}

/**
 * The lang-sql completion namespace: every table and view by its bare name, as members write
 * them (the sandbox resolves the extract's tables and the scratch's saved ones unqualified).
 */
export function completionSchema(tables: readonly SchemaTable[]): Record<string, string[]> {
  const schema: Record<string, string[]> = {};
  for (const t of tables) schema[t.name] = t.columns.map((c) => c.name);
  return schema;
}
