/**
 * The portal talks only to the Enclave HTTP API (/api/v1). Errors arrive as RFC 9457
 * problem+json and are surfaced with their hint.
 */

export type Sensitivity = 'direct_identifier' | 'pseudonym' | 'potential_identifier' | 'sensitive' | 'other';
export const SENSITIVITIES: readonly Sensitivity[] = ['direct_identifier', 'pseudonym', 'potential_identifier', 'sensitive', 'other'];

export interface DatasetSummary {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly tableCount: number;
  readonly columnCount: number;
  readonly importedAt: string;
  readonly contentSha256: string;
}
export interface TableSummary {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly product: string;
  readonly columnCount: number;
}
export interface Dataset extends DatasetSummary {
  readonly tables: readonly TableSummary[];
}
export interface ForeignKey {
  readonly fields: readonly string[];
  readonly reference: { readonly resource: string; readonly fields: readonly string[] };
}
export interface Column {
  readonly position: number;
  readonly name: string;
  readonly type: string;
  readonly description: string;
  readonly nomenclature: string | null;
  readonly length: string | null;
  readonly format: string | null;
  readonly sensitivity: Sensitivity;
  readonly sensitivityReason: string;
  readonly sensitivityRule: string;
}
export interface Table {
  readonly dataset: string;
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly product: string;
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKey[];
  readonly columns: readonly Column[];
}
export type SearchHit =
  | { readonly kind: 'dataset'; readonly dataset: string; readonly title: string; readonly description: string }
  | { readonly kind: 'table'; readonly dataset: string; readonly table: string; readonly title: string; readonly description: string }
  | { readonly kind: 'column'; readonly dataset: string; readonly table: string; readonly column: string; readonly type: string; readonly description: string; readonly sensitivity: Sensitivity }
  | { readonly kind: 'nomenclature'; readonly nomenclature: string; readonly title: string; readonly codeCount: number };
export interface NomenclatureSummary {
  readonly name: string;
  readonly dataset: string | null;
  readonly title: string;
  readonly description: string;
  readonly codeCount: number;
  readonly codesAvailable: boolean;
}
export interface NomenclaturePage extends NomenclatureSummary {
  readonly limit: number;
  readonly offset: number;
  readonly codes: readonly { readonly code: string; readonly label: string | null }[];
}

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
  datasets: (s?: AbortSignal) => get<{ datasets: DatasetSummary[] }>('/api/v1/catalog/datasets', s).then((r) => r.datasets),
  dataset: (d: string, s?: AbortSignal) => get<Dataset>(`/api/v1/catalog/datasets/${enc(d)}`, s),
  table: (d: string, t: string, s?: AbortSignal) => get<Table>(`/api/v1/catalog/datasets/${enc(d)}/tables/${enc(t)}`, s),
  search: (q: string, s?: AbortSignal) => get<{ q: string; hits: SearchHit[] }>(`/api/v1/catalog/search?q=${enc(q)}&limit=200`, s).then((r) => r.hits),
  nomenclatures: (s?: AbortSignal) => get<{ nomenclatures: NomenclatureSummary[] }>('/api/v1/catalog/nomenclatures', s).then((r) => r.nomenclatures),
  nomenclature: (name: string, o: { limit: number; offset: number; q?: string }, s?: AbortSignal) =>
    get<NomenclaturePage>(`/api/v1/catalog/nomenclatures/${enc(name)}?limit=${o.limit}&offset=${o.offset}${o.q === undefined || o.q === '' ? '' : `&q=${enc(o.q)}`}`, s),
  /** Every table of a dataset with its keys (for the diagram). */
  async tablesWithKeys(d: string, s?: AbortSignal): Promise<Table[]> {
    // one call for the whole dataset (was one per table)
    return (await get<{ tables: Table[] }>(`/api/v1/catalog/datasets/${enc(d)}/tables`, s)).tables;
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

export type ProjectStatus =
  | 'draft' | 'submitted' | 'ethics_review' | 'legal_review' | 'committee_review' | 'changes_requested'
  | 'active' | 'suspended' | 'expired' | 'closed' | 'revoked' | 'rejected' | 'withdrawn';

/** An entry of the public register (EHDS art. 57): no person named. */
export interface RegisterEntry {
  readonly projectId: string;
  readonly title: string;
  readonly organisation: string;
  readonly purposeSummary: string;
  readonly datasets: readonly string[];
  readonly validFrom: string;
  readonly validUntil: string;
  readonly decision: 'approved';
  readonly decidedAt: string | null;
  readonly status: ProjectStatus;
}

export const governance = {
  /** The public register; null while the server does not publish one (no such route). */
  async register(s?: AbortSignal): Promise<RegisterEntry[] | null> {
    try {
      const r = await get<{ entries: RegisterEntry[] } | { permits: RegisterEntry[] } | RegisterEntry[]>('/api/v1/governance/register', s);
      return Array.isArray(r) ? r : 'entries' in r ? r.entries : r.permits;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  },
};

/** The application a principal investigator files (governance's Application). */
export interface Application {
  title: string;
  organisation: string;
  purpose: string;
  publicInterest: string;
  legalBasis: { kind: 'cnil_authorisation' | 'reference_methodology'; reference: string };
  ethicsOpinionReference: string | null;
  funding: string;
  team: { name: string; role: string; organisation: string }[];
  requestedScope: {
    datasets: { dataset: string; tables: { table: string; columns: string[] }[] }[];
    years: { from: number; to: number };
    population: string;
    justification: string;
  };
  /** Why more than one potential identifier is needed: the committee may grant the exception. */
  potentialIdentifierJustification?: string | null;
}

export interface Project {
  readonly id: string;
  readonly status: ProjectStatus;
  readonly title: string;
  readonly organisation: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly currentVersion: number;
}

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
      const r = await request<{ person: { id: string; displayName?: string | null; email?: string | null }; roles: string[]; csrfToken: string | null }>('GET', '/api/v1/identity/me', undefined, { ...(s === undefined ? {} : { signal: s }), quiet401: true });
      return {
        personId: r.person.id,
        displayName: r.person.displayName ?? r.person.email ?? r.person.id,
        roles: r.roles,
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
  list: (s?: AbortSignal) => get<{ projects: Project[] }>('/api/v1/governance/projects', s).then((r) => r.projects),
  create: (a: Application) => request<Project>('POST', '/api/v1/governance/projects', a),
  get: (id: string, s?: AbortSignal) => get<ProjectDetail>(`/api/v1/governance/projects/${enc(id)}`, s),
  /** Saves a new version of the application (draft or changes requested). */
  update: (id: string, a: Application) => request<unknown>('PUT', `/api/v1/governance/projects/${enc(id)}/application`, a),
  diff: (id: string, from: number, to: number, s?: AbortSignal) => get<{ changes: DiffEntry[] }>(`/api/v1/governance/projects/${enc(id)}/diff?from=${from}&to=${to}`, s).then((r) => r.changes),
  /** A workflow step or action route: submit, withdraw, completeness, ethics-opinion, legal-review, committee-decision… */
  take: (id: string, route: string, body: Record<string, unknown> = {}) => request<ProjectDetail>('POST', `/api/v1/governance/projects/${enc(id)}/${enc(route)}`, body),
};

export interface Review {
  readonly id: string;
  readonly applicationVersion: number;
  readonly step: string;
  readonly reviewerId: string;
  readonly decision: 'approve' | 'return' | 'reject';
  readonly comment: string;
  readonly reference: string | null;
  readonly createdAt: string;
}
export interface Permit {
  readonly version: number;
  readonly state: 'proposed' | 'active' | 'superseded' | 'ended';
  readonly sha256: string;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly document: { readonly validFrom: string; readonly validUntil: string; readonly tools?: readonly string[]; readonly disclosure?: { readonly minimumCellCount: number } };
}
export interface ProjectDetail {
  readonly project: Project & { readonly members: readonly { readonly personId: string; readonly role: string }[] };
  readonly application: { readonly version: number; readonly content: Application; readonly createdBy: string; readonly createdAt: string };
  readonly reviews: readonly Review[];
  readonly permits: readonly Permit[];
  readonly actions: readonly string[];
  readonly approvalsNeeded: number | null;
  /** Names of the people the detail mentions (team, authors, reviewers), by person id. */
  readonly people?: Readonly<Record<string, { readonly displayName: string; readonly organisation: string }>>;
  /** The amendment under way or the latest one (null when none was ever filed). */
  readonly amendment?: { readonly id: string; readonly status: string } | null;
}
export interface DiffEntry {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}
