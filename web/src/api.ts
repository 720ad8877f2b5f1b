/**
 * The portal talks only to the Enclave HTTP API (/api/v1). Errors arrive as RFC 9457
 * problem+json and are surfaced with their hint.
 */

import type {
  AmendmentDetail, ApiResponse, Application, ApplicationDraft, Column, Dataset, DatasetSummary, DiffEntry, ForeignKey, Me as MeResponse, NomenclaturePage, NomenclatureSummary,
  Notification, NotificationSettings, Permit, Project, ProjectDetail, ProjectStatus, ProjectTrail, RegisterEntry, Review, SearchHit, Sensitivity, Table, TableSummary,
} from './api/generated.ts';
import { SensitivityValues } from './api/generated.ts';

// The server's shapes, generated from its OpenAPI document (npm run openapi:types): never restated here.
export type {
  AmendmentDetail, Application, ApplicationDraft, Column, Dataset, DatasetSummary, DiffEntry, ForeignKey, NomenclaturePage, NomenclatureSummary, Notification, NotificationSettings, Permit,
  Project, ProjectDetail, ProjectStatus, ProjectTrail, RegisterEntry, Review, SearchHit, Sensitivity, Table, TableSummary,
};

/** The server's sensitivity levels, in its order (from the OpenAPI document). */
export const SENSITIVITIES: readonly Sensitivity[] = SensitivityValues;

/**
 * A failed call as the portal handles it: the server's problem+json (schema Problem of the
 * OpenAPI document), or one the portal makes itself (`status` 0: the server could not be reached).
 */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly hint?: string;
  readonly requestId?: string;
}

/** A failed call: `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: keep the status line
  }
  const b = isRecord(body) ? body : {};
  const str = (k: string): string | undefined => (typeof b[k] === 'string' ? b[k] : undefined);
  const hint = str('hint');
  const requestId = str('requestId') ?? res.headers.get('x-request-id') ?? undefined;
  return new ApiError({
    status: res.status,
    code: str('code') ?? 'error',
    title: str('title') ?? res.statusText,
    detail: str('detail') ?? `${res.status} ${res.statusText}`,
    ...(hint === undefined ? {} : { hint }),
    ...(requestId === undefined ? {} : { requestId }),
  });
}

/** Set by the session layer: sent as X-CSRF-Token on every state-changing request. */
let csrfToken: string | undefined;
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Listeners told when the server answers 401 (session expired or never started). */
const unauthenticatedListeners = new Set<() => void>();
export function onUnauthenticated(f: () => void): () => void {
  unauthenticatedListeners.add(f);
  return () => unauthenticatedListeners.delete(f);
}

export async function request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError({ status: 0, code: 'network', title: 'network', detail: 'network' });
  }
  if (!res.ok) {
    const err = await toApiError(res);
    if (res.status === 401 && opts.quiet401 !== true) for (const f of unauthenticatedListeners) f();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

export const get = <T,>(path: string, signal?: AbortSignal): Promise<T> => request<T>('GET', path, undefined, signal === undefined ? {} : { signal });

const enc = encodeURIComponent;

export const catalog = {
  datasets: (s?: AbortSignal) => get<ApiResponse<'GET /catalog/datasets'>>('/api/v1/catalog/datasets', s).then((r) => r.datasets),
  dataset: (d: string, s?: AbortSignal) => get<Dataset>(`/api/v1/catalog/datasets/${enc(d)}`, s),
  table: (d: string, t: string, s?: AbortSignal) => get<Table>(`/api/v1/catalog/datasets/${enc(d)}/tables/${enc(t)}`, s),
  search: (q: string, s?: AbortSignal) => get<ApiResponse<'GET /catalog/search'>>(`/api/v1/catalog/search?q=${enc(q)}&limit=200`, s).then((r) => r.hits),
  nomenclatures: (s?: AbortSignal) => get<ApiResponse<'GET /catalog/nomenclatures'>>('/api/v1/catalog/nomenclatures', s).then((r) => r.nomenclatures),
  nomenclature: (name: string, o: { limit: number; offset: number; q?: string }, s?: AbortSignal) =>
    get<NomenclaturePage>(`/api/v1/catalog/nomenclatures/${enc(name)}?limit=${o.limit}&offset=${o.offset}${o.q === undefined || o.q === '' ? '' : `&q=${enc(o.q)}`}`, s),
  /** Every table of a dataset with its keys (for the diagram). */
  async tablesWithKeys(d: string, s?: AbortSignal): Promise<readonly Table[]> {
    // one call for the whole dataset (was one per table)
    return (await get<ApiResponse<'GET /catalog/datasets/{dataset}/tables'>>(`/api/v1/catalog/datasets/${enc(d)}/tables`, s)).tables;
  },
};

export const audit = {
  /** The latest signed checkpoint; null while the server has not signed one yet (404). */
  async checkpoint(s?: AbortSignal): Promise<string | null> {
    try {
      return await get<string>('/api/v1/audit/checkpoint', s);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
};

export const governance = {
  /** The public register; null while the server does not publish one (no such route). */
  async register(s?: AbortSignal): Promise<readonly RegisterEntry[] | null> {
    try {
      return (await get<ApiResponse<'GET /governance/register'>>('/api/v1/governance/register', s)).permits;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
};

/** The person logged in, as the identity API describes them. */
export interface Me {
  readonly personId: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  readonly csrfToken?: string;
  readonly expiresAt?: string;
}

/**
 * Identity and governance endpoints (issue 4). Kept in one place so the portal follows the API
 * as it lands; a 404 from a route that does not exist yet reads as "not available".
 */
export const identityApi = {
  /** Starts the OpenID Connect flow on the server (full page load), coming back to `returnTo`. */
  loginUrl: (returnTo: string, lang?: string) => `/api/v1/auth/login?returnTo=${encodeURIComponent(returnTo)}${lang === undefined ? '' : `&lang=${lang}`}`,
  async me(s?: AbortSignal): Promise<Me | null> {
    try {
      const r = await request<MeResponse>('GET', '/api/v1/identity/me', undefined, { ...(s === undefined ? {} : { signal: s }), quiet401: true });
      return {
        personId: r.person.id,
        displayName: r.person.displayName === '' ? (r.person.email ?? r.person.id) : r.person.displayName,
        roles: [...r.roles],
        ...(r.csrfToken === null ? {} : { csrfToken: r.csrfToken }),
      };
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 404)) return null;
      throw e;
    }
  },
  logout: () => request<unknown>('POST', '/api/v1/auth/logout'),
};

export const projectsApi = {
  list: (s?: AbortSignal) => get<ApiResponse<'GET /governance/projects'>>('/api/v1/governance/projects', s).then((r) => r.projects),
  create: (a: Application) => request<Project>('POST', '/api/v1/governance/projects', a),
  get: (id: string, s?: AbortSignal) => get<ProjectDetail>(`/api/v1/governance/projects/${enc(id)}`, s),
  /** Saves a new version of the application (draft or changes requested). */
  update: (id: string, a: Application) => request<unknown>('PUT', `/api/v1/governance/projects/${enc(id)}/application`, a),
  diff: (id: string, from: number, to: number, s?: AbortSignal) => get<ApiResponse<'GET /governance/projects/{id}/diff'>>(`/api/v1/governance/projects/${enc(id)}/diff?from=${from}&to=${to}`, s).then((r) => r.changes),
  /** A workflow step or action route: submit, withdraw, completeness, ethics-opinion, legal-review, committee-decision… */
  take: (id: string, route: string, body: Record<string, unknown> = {}) => request<ProjectDetail>('POST', `/api/v1/governance/projects/${enc(id)}/${enc(route)}`, body),
};

