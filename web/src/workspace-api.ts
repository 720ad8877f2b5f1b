/**
 * The workspace HTTP API (issue 12): a project's extract, its members' scratch tables, and the
 * statements they run in the sandbox. Kept to the contract shared with the API (all routes under
 * /api/v1/projects/{id}); rows are read by pages, nothing downloads from here.
 */
import { get, request } from './api.ts';

export type WorkspaceStatus = 'ready' | 'building' | 'none' | 'failed' | 'closed';

export interface SchemaColumn {
  readonly name: string;
  readonly type: string;
  readonly description?: string;
  readonly sensitivity?: string;
}
export interface SchemaTable {
  readonly schema: 'extract' | 'scratch';
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly rows?: number;
  readonly columns: readonly SchemaColumn[];
}

/** The parts of `src/workspace/extract-contract.ts`'s ExtractManifest the portal shows. */
export interface ExtractManifest {
  readonly projectId: string;
  readonly permitId: string;
  readonly permitVersion: number;
  readonly generation: number;
  readonly state: 'building' | 'ready' | 'failed' | 'destroyed';
  readonly keyId: string;
  readonly rekeyKeyId: string;
  readonly datasetVersions: readonly { readonly dataset: string; readonly version: number }[];
  readonly years: { readonly from: number; readonly to: number };
  readonly tables: readonly {
    readonly name: string;
    readonly dataset: string;
    readonly table: string;
    readonly rows: number;
    readonly columns: readonly { readonly name: string; readonly type: string; readonly source: string; readonly rekeyed: boolean }[];
    readonly files: readonly { readonly path: string; readonly bytes: number; readonly rows: number; readonly sha256: string }[];
  }[];
  readonly createdAt: string;
  readonly completedAt: string | null;
  readonly error: string | null;
}

export interface Workspace {
  readonly projectId: string;
  readonly status: WorkspaceStatus;
  readonly extract: ExtractManifest | null;
  readonly tables: readonly SchemaTable[];
  readonly quota: { readonly usedBytes: number; readonly quotaBytes: number };
}

export type QueryStatus = 'running' | 'succeeded' | 'failed' | 'refused' | 'cancelled';

export interface Query {
  readonly id: string;
  readonly projectId: string;
  readonly personId: string;
  readonly sql: string;
  readonly status: QueryStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly elapsedMs: number | null;
  /** Percent done (the engine's estimate, 0 to 100) while running; null otherwise. */
  readonly progress: number | null;
  readonly columns: readonly { readonly name: string; readonly type: string }[] | null;
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  readonly sha256: string | null;
  readonly saved: { readonly name: string; readonly kind: 'table' | 'view'; readonly rowCount?: number; readonly bytes?: number } | null;
  readonly error: { readonly code: string; readonly message: string; readonly hint?: string; readonly reason?: string } | null;
}

export type CellValue = string | number | boolean | null;

export interface RowsPage {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly CellValue[])[];
  readonly offset: number;
  readonly rowCount: number;
}

export interface SavedQuery {
  readonly id: string;
  readonly name: string;
  readonly sql: string;
  readonly description: string;
  readonly personId: string;
  readonly createdAt: string;
}

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
    history: (s?: AbortSignal) => get<{ queries: Query[] }>(`${base}/queries?limit=50`, s).then((r) => r.queries),
    savedQueries: (s?: AbortSignal) => get<{ savedQueries: SavedQuery[] }>(`${base}/saved-queries`, s).then((r) => r.savedQueries),
    saveQuery: (name: string, sql: string, description?: string) => request<SavedQuery>('POST', `${base}/saved-queries`, { name, sql, ...(description === undefined || description === '' ? {} : { description }) }),
    deleteSavedQuery: (sid: string) => request<undefined>('DELETE', `${base}/saved-queries/${enc(sid)}`),
    tables: (s?: AbortSignal) => get<{ tables: SchemaTable[] }>(`${base}/tables`, s).then((r) => r.tables),
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
