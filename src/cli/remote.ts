/**
 * The CLI against a remote Enclave server. With ENCLAVE_URL and ENCLAVE_TOKEN set, the
 * governance and catalogue commands call the HTTP API with `Authorization: Bearer` instead of
 * opening the local data directory; the server applies the same rules, and its problem+json
 * refusals come back as the same `AppError`s (message and hint) the local commands print.
 */
import { AppError, errorStatus, type ErrorCode } from '../errors.ts';
import type { CatalogDataset, CatalogDatasetSummary, CatalogTable, SearchHit } from '../catalog/index.ts';
import type { AccessRequest, ActionName, AmendmentActionName, AmendmentDetail, Permit, PermitDocument, Project, ProjectDetail } from '../governance/index.ts';
import type { CatalogReader } from './commands/catalog.ts';
import type { GovernanceClient, ReviewNote } from './commands/governance.ts';
import type { ProjectEngineState } from '../workspace/index.ts';

/** Where the remote server is and the API token to call it with. */
export interface RemoteTarget {
  readonly url: URL;
  readonly token: string;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);
const TOKEN_HINT = 'create a token in the portal (Profile → API tokens), or on the server with: enclave tokens create --project PROJECT; then export ENCLAVE_TOKEN=…';

/**
 * Reads ENCLAVE_URL and ENCLAVE_TOKEN: null when ENCLAVE_URL is unset (local mode). The URL must
 * be https (http only to a loopback address: a token never crosses a network in clear).
 */
export function remoteTargetFrom(env: Readonly<Record<string, string | undefined>>): RemoteTarget | null {
  const raw = env['ENCLAVE_URL']?.trim() ?? '';
  const token = env['ENCLAVE_TOKEN']?.trim() ?? '';
  if (raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('invalid', `ENCLAVE_URL is not a URL: ${JSON.stringify(raw)}`, { hint: 'e.g. ENCLAVE_URL=https://enclave.example.org' });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new AppError('invalid', `ENCLAVE_URL must use https (http only to this machine), got ${url.protocol}//${url.host}`, { hint: 'use the server\'s https:// address' });
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new AppError('invalid', 'ENCLAVE_URL must be the server\'s address only (no credentials, query or fragment)', { hint: 'put the API token in ENCLAVE_TOKEN' });
  }
  if (token === '') throw new AppError('unauthenticated', 'ENCLAVE_URL is set but ENCLAVE_TOKEN is not', { hint: TOKEN_HINT });
  return { url, token };
}

const isErrorCode = (s: unknown): s is ErrorCode => typeof s === 'string' && Object.hasOwn(errorStatus, s);

function codeOfStatus(status: number): ErrorCode {
  const found = (Object.entries(errorStatus) as [ErrorCode, number][]).find(([, s]) => s === status);
  return found?.[0] ?? (status >= 500 ? 'unavailable' : 'invalid');
}

/** A problem+json answer as the AppError the server threw (message and hint kept; never the token). */
export function problemToError(status: number, body: unknown, server: string): AppError {
  const p = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = isErrorCode(p['code']) ? p['code'] : codeOfStatus(status);
  const detail = typeof p['detail'] === 'string' ? p['detail'] : `${server} answered HTTP ${status}`;
  let hint = typeof p['hint'] === 'string' ? p['hint'] : undefined;
  if (code === 'unauthenticated') hint = `ENCLAVE_TOKEN was refused by ${server}: ${TOKEN_HINT}`;
  const details = typeof p['details'] === 'object' && p['details'] !== null ? (p['details'] as Record<string, unknown>) : undefined;
  const requestId = typeof p['requestId'] === 'string' ? ` (request ${p['requestId']})` : '';
  return new AppError(code, code === 'internal' ? `the server failed${requestId}` : detail, { ...(hint === undefined ? {} : { hint }), ...(details === undefined ? {} : { details }) });
}

/**
 * One HTTP client for every remote command.
 * @example
 *   const api = new RemoteClient(remoteTargetFrom(process.env)!);
 *   const { projects } = await api.get<{ projects: Project[] }>('/governance/projects');
 */
export class RemoteClient {
  readonly #target: RemoteTarget;
  readonly #fetch: typeof fetch;

  constructor(target: RemoteTarget, fetchFn: typeof fetch = fetch) {
    this.#target = target;
    this.#fetch = fetchFn;
  }

  /** The server, as shown in messages (origin only). */
  get server(): string {
    return this.#target.url.origin;
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const base = this.#target.url.href.replace(/\/+$/, '');
    let res: Response;
    try {
      res = await this.#fetch(`${base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#target.token}`, accept: 'application/json, application/problem+json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'error',
      });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
      const why = cause instanceof Error ? ((cause as Error & { code?: string }).code ?? cause.message) : 'network error';
      throw new AppError('unavailable', `cannot reach the Enclave server at ${this.server} (${why})`, { hint: 'check ENCLAVE_URL and that the server is running' });
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: a proxy's error page, say
    }
    if (!res.ok) throw problemToError(res.status, json, this.server);
    if (json === null && res.status !== 204) throw new AppError('unavailable', `${this.server} did not answer with JSON (HTTP ${res.status})`, { hint: 'check that ENCLAVE_URL is the Enclave server itself' });
    return json as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
}

const seg = encodeURIComponent;

/**
 * Project actions as the HTTP routes name them: a route, and the decision a review route takes.
 * Amendment actions carry the project's names (a subset), so they map through the same table.
 */
const PROJECT_ROUTES: Readonly<Record<ActionName, { readonly route: string; readonly decision?: string }>> = {
  submit: { route: 'submit' },
  withdraw: { route: 'withdraw' },
  accept_complete: { route: 'completeness', decision: 'approve' },
  return_incomplete: { route: 'completeness', decision: 'return' },
  ethics_favourable: { route: 'ethics-opinion', decision: 'approve' },
  ethics_return: { route: 'ethics-opinion', decision: 'return' },
  ethics_unfavourable: { route: 'ethics-opinion', decision: 'reject' },
  legal_approve: { route: 'legal-review', decision: 'approve' },
  legal_return: { route: 'legal-review', decision: 'return' },
  legal_reject: { route: 'legal-review', decision: 'reject' },
  committee_approve: { route: 'committee-decision', decision: 'approve' },
  committee_return: { route: 'committee-decision', decision: 'return' },
  committee_reject: { route: 'committee-decision', decision: 'reject' },
  suspend: { route: 'suspend' },
  reinstate: { route: 'reinstate' },
  revoke: { route: 'revoke' },
  close: { route: 'close' },
  expire: { route: 'expire' },
};

/** The governance API, remotely: the same operations GovernanceService offers a principal. */
export class RemoteGovernance implements GovernanceClient {
  readonly #api: RemoteClient;

  constructor(api: RemoteClient) {
    this.#api = api;
  }

  async listProjects(): Promise<Project[]> {
    return (await this.#api.get<{ projects: Project[] }>('/governance/projects')).projects;
  }

  getProject(id: string): Promise<ProjectDetail> {
    return this.#api.get(`/governance/projects/${seg(id)}`);
  }

  createProject(body: unknown): Promise<Project> {
    return this.#api.request('POST', '/governance/projects', body);
  }

  take(id: string, action: ActionName, o: ReviewNote): Promise<ProjectDetail> {
    const r = PROJECT_ROUTES[action];
    return this.#api.request('POST', `/governance/projects/${seg(id)}/${r.route}`, { ...(r.decision === undefined ? {} : { decision: r.decision }), ...o });
  }

  async permits(id: string): Promise<readonly Permit[]> {
    return (await this.#api.get<{ permits: Permit[] }>(`/governance/projects/${seg(id)}/permits`)).permits;
  }

  permitTemplate(id: string, validity: { readonly validFrom: string; readonly validUntil: string }): Promise<PermitDocument> {
    return this.#api.get(`/governance/projects/${seg(id)}/permit-template?validFrom=${seg(validity.validFrom)}&validUntil=${seg(validity.validUntil)}`);
  }

  proposePermit(id: string, doc: unknown): Promise<Permit> {
    return this.#api.request('PUT', `/governance/projects/${seg(id)}/permit`, doc);
  }

  access(id: string, req: AccessRequest): Promise<{ allowed: true; validUntil: string }> {
    const q: Record<string, string> = {};
    if (req.tool !== undefined) q['tool'] = req.tool;
    if (req.dataset !== undefined) q['dataset'] = req.dataset;
    if (req.table !== undefined) q['table'] = req.table;
    if (req.columns !== undefined) q['columns'] = req.columns.join(',');
    const query = new URLSearchParams(q).toString();
    return this.#api.get(`/governance/projects/${seg(id)}/access${query === '' ? '' : `?${query}`}`);
  }

  getAmendment(id: string): Promise<AmendmentDetail> {
    return this.#api.get(`/governance/projects/${seg(id)}/amendment`);
  }

  fileAmendment(id: string, body: unknown): Promise<AmendmentDetail> {
    return this.#api.request('POST', `/governance/projects/${seg(id)}/amendment`, body);
  }

  reviseAmendment(id: string, body: unknown): Promise<AmendmentDetail> {
    return this.#api.request('PUT', `/governance/projects/${seg(id)}/amendment/application`, body);
  }

  takeAmendment(id: string, action: AmendmentActionName, o: ReviewNote): Promise<AmendmentDetail> {
    const r = PROJECT_ROUTES[action];
    return this.#api.request('POST', `/governance/projects/${seg(id)}/amendment/${r.route}`, { ...(r.decision === undefined ? {} : { decision: r.decision }), ...o });
  }

  amendedPermitTemplate(id: string): Promise<PermitDocument> {
    return this.#api.get(`/governance/projects/${seg(id)}/amendment/permit-template`);
  }

  proposeAmendedPermit(id: string, doc: unknown): Promise<Permit> {
    return this.#api.request('PUT', `/governance/projects/${seg(id)}/amendment/permit`, doc);
  }

  lookupTable(dataset: string, table: string): Promise<CatalogTable> {
    return this.#api.get(`/catalog/datasets/${seg(dataset)}/tables/${seg(table)}`);
  }

  projectEngine(id: string): Promise<ProjectEngineState> {
    return this.#api.get(`/operator/projects/${seg(id)}/engine`);
  }

  setProjectEngine(id: string, engine: string): Promise<{ readonly accepted: boolean; readonly state: ProjectEngineState }> {
    return this.#api.request('PUT', `/operator/projects/${seg(id)}/engine`, { engine });
  }
}

/** The public catalogue, remotely (the reads `enclave catalog` makes). */
export class RemoteCatalog implements CatalogReader {
  readonly #api: RemoteClient;

  constructor(api: RemoteClient) {
    this.#api = api;
  }

  async listDatasets(): Promise<CatalogDatasetSummary[]> {
    return (await this.#api.get<{ datasets: CatalogDatasetSummary[] }>('/catalog/datasets')).datasets;
  }

  getDataset(name: string): Promise<CatalogDataset> {
    return this.#api.get(`/catalog/datasets/${seg(name)}`);
  }

  getTable(dataset: string, table: string): Promise<CatalogTable> {
    return this.#api.get(`/catalog/datasets/${seg(dataset)}/tables/${seg(table)}`);
  }

  async search(q: string): Promise<SearchHit[]> {
    return (await this.#api.get<{ hits: SearchHit[] }>(`/catalog/search?q=${seg(q)}`)).hits;
  }
}
