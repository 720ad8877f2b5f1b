/**
 * The workspace service: a project's secure processing environment as members use it, through
 * the HTTP API (`src/http/routes/workspace.ts`) and `enclave sql` (`src/cli/sql.ts`).
 *
 * - **One engine session per project**, opened lazily over the project's ready extract
 *   (`ExtractSource.openForEngine`) and a scratch directory under the data directory, encrypted
 *   under the project's key (key service scope `project`, purpose `encryption`), shared by the
 *   members. The scratch is one encrypted store of the project's saved tables and views, which
 *   only one engine process may hold: hence one session, not one per member.
 * - **Statements are serialised per project** (a FIFO queue): the engine session runs one
 *   statement at a time, so members' statements, pages, `describe` and drops take turns. A
 *   statement a member submits is recorded `running` at once; the request waits for it up to
 *   `waitMs` and answers 202 otherwise. Twenty members at once queue, none fails.
 * - **Every call checks access**: the caller is named in the permit in force and the permit is
 *   active (governance's `assertCanAccessData`, computed from the permit at each call; refusals
 *   are audited there). Reviewers (access committee) read the workspace's metadata, never rows.
 * - **Every query audited**: `workspace.query.start` (SQL) when recorded, then `workspace.query`
 *   with the outcome, duration, rows, SHA-256 of the result and, for refusals, the policy's
 *   reason; each in the transaction that writes the query record.
 * - **End of access**: on `project.suspended`, `project.revoked` or `project.expired` the queue is
 *   emptied (queued statements cancelled), the running statement is cancelled and the engine
 *   process closed; new statements are refused by the access check. On `project.closed` the
 *   scratch is deleted, the project's keys destroyed (crypto-shredding) and the extract side
 *   asked to delete the extract (`ExtractSource.destroy`). All audited.
 *
 * @example
 *   const ws = new WorkspaceService({ db, audit, governance, keys, engine, extracts, scratchRoot, limits, quotaBytes });
 *   const { done } = await ws.submit(member, projectId, { sql: 'SELECT count(*) FROM er_prs_f' });
 *   const q = await done;
 *   const page = await ws.rows(member, projectId, q.id, { offset: 0, limit: 100 });
 */
import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditDraft, AuditedTx, JsonValue, Outcome } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import type { CellValue, ResultColumn, ResultPage, WorkspaceEngine, WorkspaceLimits, WorkspaceSession } from '../engine/index.ts';
import { AppError } from '../errors.ts';
import type { Principal } from '../identity/index.ts';
import type { ExtractManifest, ExtractSource } from './extract-contract.ts';

export type QueryStatus = 'running' | 'succeeded' | 'failed' | 'refused' | 'cancelled';

export interface QueryError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  /** The policy's rule (refusals), the limit hit (`timeout`, `memory`), or why it was cancelled. */
  readonly reason?: string;
}

/** A statement a member ran, as the API answers it (the contract of the portal). */
export interface Query {
  readonly id: string;
  readonly projectId: string;
  readonly personId: string;
  readonly sql: string;
  readonly status: QueryStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly elapsedMs: number | null;
  /** Percent done (engine estimate) while running; null otherwise. */
  readonly progress: number | null;
  readonly columns: readonly ResultColumn[] | null;
  readonly rowCount: number | null;
  readonly truncated: boolean | null;
  readonly sha256: string | null;
  readonly saved: { readonly name: string; readonly kind: 'table' | 'view'; readonly rowCount?: number; readonly bytes?: number } | null;
  readonly error: QueryError | null;
}

export interface WorkspaceColumn {
  readonly name: string;
  readonly type: string;
  readonly description?: string;
  readonly sensitivity?: string;
}

export interface WorkspaceTable {
  readonly schema: 'extract' | 'scratch';
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly rows?: number;
  readonly columns: readonly WorkspaceColumn[];
}

export interface WorkspaceInfo {
  readonly projectId: string;
  readonly status: 'ready' | 'building' | 'none' | 'failed' | 'closed';
  readonly extract: ExtractManifest | null;
  readonly tables: readonly WorkspaceTable[];
  readonly quota: { readonly usedBytes: number; readonly quotaBytes: number };
}

export interface SavedQuery {
  readonly id: string;
  readonly name: string;
  readonly sql: string;
  readonly description: string;
  readonly personId: string;
  readonly createdAt: string;
}

/** A saved table's rows and lineage, as the airlock snapshots an output (`readSavedTable`). */
export interface SavedTableRows {
  readonly columns: readonly ResultColumn[];
  readonly rows: ReadonlyArray<readonly CellValue[]>;
  readonly truncated: boolean;
  /** The statement that saved the table (its latest), when the workspace recorded one. */
  readonly query: { readonly id: string; readonly sql: string } | null;
  readonly extract: { readonly generation: number; readonly permitVersion: number; readonly datasetVersions: readonly { readonly dataset: string; readonly version: number }[] };
  /** Columns of the extract that hold a (re-keyed) person pseudonym, by the names members write: never released as such. */
  readonly pseudonymColumns: readonly string[];
}

/** A page of a query's rows: the engine's page, as the API serves it. */
export type RowsPage = ResultPage;

/** The permit's tools a member reaches the workspace through: the browser (and CLI, API), or the PostgreSQL endpoint. */
export type WorkspaceTool = 'web_sql' | 'database_protocol';

/** What the workspace needs of governance (GovernanceService implements it). */
export interface WorkspaceGovernance {
  assertCanAccessData(p: Principal, projectId: string, req: { readonly tool?: WorkspaceTool }, requestId?: string): Promise<unknown>;
  getProject(p: Principal, id: string, requestId?: string): Promise<{ readonly project: { readonly status: string } }>;
  onProjectChange(listener: (change: { readonly projectId: string; readonly kind: string }) => void): void;
}

/** What the workspace needs of the key service (KeyService implements it). */
export interface WorkspaceKeys {
  withDataKey<T>(scope: 'project', scopeId: string, purpose: 'encryption', fn: (key: Buffer) => Promise<T>): Promise<T>;
  destroyDataKey(tx: AuditedTx, scope: 'project', scopeId: string, purpose: 'encryption' | 'pseudonymisation'): Promise<void>;
}

export interface WorkspaceAudit {
  transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T>;
  record(draft: AuditDraft & { readonly outcome?: Outcome }): Promise<unknown>;
}

/** Catalogue descriptions and sensitivity of a table's columns (by the catalogue's column name). */
export type ColumnCatalogue = (dataset: string, table: string) => Promise<{ readonly columns: ReadonlyArray<{ readonly name: string; readonly description?: string; readonly sensitivity?: string }> } | null>;

export interface WorkspaceServiceOptions {
  readonly db: Db;
  readonly audit: WorkspaceAudit;
  readonly governance: WorkspaceGovernance;
  readonly keys: WorkspaceKeys;
  readonly engine: WorkspaceEngine;
  readonly extracts: ExtractSource;
  /** Directory under the data directory holding one scratch directory per project. */
  readonly scratchRoot: string;
  readonly limits: WorkspaceLimits;
  /** Bytes a project's saved tables may take (encrypted, on disk). */
  readonly quotaBytes: number;
  readonly catalogue?: ColumnCatalogue;
  /**
   * A project's engine process is ended after this long without a statement (default
   * 15 minutes): an idle workspace holds no memory, no decrypted page and no process. The next
   * statement opens a new one; first pages of earlier results stay readable, later pages `gone`.
   */
  readonly idleMs?: number;
  /** Failures of background work (end of access, closure), never with data. */
  readonly onError?: (what: string, e: unknown) => void;
}

/** `POST /queries` waits at most this long by default, and never longer than the maximum. */
export const DEFAULT_WAIT_MS = 20_000;
export const MAX_WAIT_MS = 60_000;
export const MAX_SQL_BYTES = 256 * 1024;
export const MAX_PAGE_ROWS = 1000;
export const MAX_HISTORY = 200;
/** Results whose handles the service remembers per project (the engine keeps its 16 latest). */
const KEPT_HANDLES = 64;
/**
 * The first rows of each result are read from the engine as the statement ends, in its turn:
 * the engine keeps a session's 16 latest results and the session is shared, so with many members
 * at once a result could be dropped before its member reads it. The first page is what every
 * client reads first; later pages come from the engine while it keeps the result (else `gone`).
 */
export const FIRST_PAGE_ROWS = 100;
export const DEFAULT_IDLE_MS = 15 * 60_000;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Access changes that stop queries at once; `project.closed` also destroys the workspace. */
export const END_OF_ACCESS = ['project.suspended', 'project.revoked', 'project.expired', 'project.closed'] as const;
const SERVICE_ACTOR = { kind: 'service', id: 'workspace' } as const;

interface Live {
  readonly session: WorkspaceSession;
  readonly manifest: ExtractManifest;
}

interface Pending {
  done: Promise<Query>;
  started: boolean;
  /** Set once a final status is being written (exactly one writer). */
  finished: boolean;
  cancelReason: string | undefined;
}

/** A project's engine session, its queue, and the statements in it. */
class ProjectState {
  live: Promise<Live> | undefined;
  tail: Promise<unknown> = Promise.resolve();
  current: string | undefined;
  /** When the engine session was last used (ms since epoch): idle sessions are closed. */
  lastUsed = Date.now();
  readonly pending = new Map<string, Pending>();
  readonly handles = new Map<string, { readonly session: WorkspaceSession; readonly resultId: string; readonly first: ResultPage | undefined }>();

  /** Runs `fn` after everything queued before it (one statement at a time per project). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

interface QueryRow {
  id: string;
  project_id: string;
  person_id: string;
  sql: string;
  status: QueryStatus;
  started_at: Date | string;
  finished_at: Date | string | null;
  elapsed_ms: number | null;
  columns: ResultColumn[] | string | null;
  row_count: string | number | null;
  truncated: boolean | null;
  sha256: string | null;
  saved: Query['saved'] | string | null;
  error: QueryError | string | null;
}

const iso = (d: Date | string): string => (d instanceof Date ? d : new Date(d)).toISOString();
const json = <T>(v: T | string | null): T | null => (v === null ? null : typeof v === 'string' ? (JSON.parse(v) as T) : v);

function toQuery(r: QueryRow, progress: number | null = null): Query {
  return {
    id: r.id, projectId: r.project_id, personId: r.person_id, sql: r.sql, status: r.status,
    startedAt: iso(r.started_at), finishedAt: r.finished_at === null ? null : iso(r.finished_at),
    elapsedMs: r.elapsed_ms, progress: r.status === 'running' ? progress : null,
    columns: json<ResultColumn[]>(r.columns), rowCount: r.row_count === null ? null : Number(r.row_count),
    truncated: r.truncated, sha256: r.sha256, saved: json<NonNullable<Query['saved']>>(r.saved), error: json<QueryError>(r.error),
  };
}

/** The request body of `POST /queries`, checked whole: a clear error names the field. */
export interface QueryRequest {
  readonly sql: string;
  readonly saveAs?: { readonly name: string; readonly kind: 'table' | 'view' };
  readonly waitMs: number;
}

export function parseQueryRequest(body: unknown): QueryRequest {
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (b === null) throw new AppError('invalid', 'the request body must be a JSON object', { hint: '{"sql": "SELECT count(*) FROM er_prs_f"}' });
  const unknown = Object.keys(b).filter((k) => !['sql', 'saveAs', 'waitMs'].includes(k));
  if (unknown.length > 0) throw new AppError('invalid', `unknown field(s): ${unknown.join(', ')}`, { hint: 'the fields are sql, saveAs and waitMs', details: { field: unknown[0] } });
  const sql = b['sql'];
  if (typeof sql !== 'string' || sql.trim() === '') throw new AppError('invalid', 'sql must be a non-empty string: the statement to run', { hint: '{"sql": "SELECT count(*) FROM er_prs_f"}', details: { field: 'sql' } });
  if (Buffer.byteLength(sql) > MAX_SQL_BYTES) throw new AppError('payload_too_large', `sql is ${Buffer.byteLength(sql)} bytes, over the limit of ${MAX_SQL_BYTES}`, { hint: 'save intermediate results as scratch tables (saveAs) and query them', details: { field: 'sql' } });
  let saveAs: QueryRequest['saveAs'];
  const s = b['saveAs'];
  if (s !== undefined && s !== null) {
    const so = typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, unknown>) : {};
    const name = so['name'];
    const kind = so['kind'];
    if (typeof name !== 'string' || !NAME.test(name) || name.startsWith('__')) {
      throw new AppError('invalid', `saveAs.name must be a lower-case identifier (letters, digits, _; at most 63; not starting with __), got ${JSON.stringify(name)}`, { hint: '{"saveAs": {"name": "cohort_2020", "kind": "table"}}', details: { field: 'saveAs.name' } });
    }
    if (kind !== 'table' && kind !== 'view') throw new AppError('invalid', `saveAs.kind must be "table" or "view", got ${JSON.stringify(kind)}`, { hint: 'a table keeps the rows (counted against the quota); a view keeps the query', details: { field: 'saveAs.kind' } });
    saveAs = { name, kind };
  }
  const w = b['waitMs'];
  if (w !== undefined && (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > MAX_WAIT_MS)) {
    throw new AppError('invalid', `waitMs must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}`, { hint: `default ${DEFAULT_WAIT_MS}; the answer is 202 with status "running" if the statement takes longer`, details: { field: 'waitMs' } });
  }
  return { sql, ...(saveAs === undefined ? {} : { saveAs }), waitMs: typeof w === 'number' ? w : DEFAULT_WAIT_MS };
}

export class WorkspaceService {
  readonly #o: WorkspaceServiceOptions;
  readonly #states = new Map<string, ProjectState>();
  /** Principals acting through another tool than the browser's (see `throughTool`). */
  readonly #tools = new WeakMap<Principal, WorkspaceTool>();
  #background: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #idleMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(o: WorkspaceServiceOptions) {
    this.#o = o;
    this.#idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
    if (!Number.isSafeInteger(this.#idleMs) || this.#idleMs < 1) throw new AppError('invalid', `idleMs must be a positive whole number of milliseconds, got ${String(o.idleMs)}`);
    this.#sweeper = setInterval(() => {
      void this.closeIdle().catch((e: unknown) => o.onError?.('closing idle workspaces', e));
    }, Math.max(50, Math.min(60_000, Math.floor(this.#idleMs / 4))));
    this.#sweeper.unref();
    o.governance.onProjectChange((c) => {
      if (!(END_OF_ACCESS as readonly string[]).includes(c.kind)) return;
      const work = async (): Promise<unknown> => (c.kind === 'project.closed' ? this.destroyProject(c.projectId) : this.endAccess(c.projectId, c.kind));
      this.#background = this.#background.then(work).catch((e: unknown) => o.onError?.(`end of access (${c.kind})`, e));
    });
  }

  /**
   * The same principal acting through another of the permit's tools: every check made with the
   * returned principal asks the permit for that tool (the PostgreSQL endpoint passes
   * `database_protocol`, so a permit that allows only the browser refuses it).
   */
  throughTool(p: Principal, tool: WorkspaceTool): Principal {
    const q: Principal = { ...p };
    this.#tools.set(q, tool);
    return q;
  }

  /**
   * Checks, without doing anything else, that the caller may work in the project now (named in
   * the active permit, for the caller's tool); the refusal is audited by governance. For
   * adapters that hold a session open between statements (the PostgreSQL endpoint re-checks
   * at every statement and every few seconds).
   */
  async access(p: Principal, projectId: string, requestId?: string): Promise<void> {
    await this.#member(p, projectId, requestId);
  }

  /** Resolves once the end-of-access work told so far is done (tests, shutdown). */
  settled(): Promise<void> {
    return this.#background.then(() => undefined);
  }

  #state(projectId: string): ProjectState {
    checkProjectId(projectId);
    let s = this.#states.get(projectId);
    if (s === undefined) {
      s = new ProjectState();
      this.#states.set(projectId, s);
    }
    return s;
  }

  /** The caller is named in the active permit (refusal audited by governance, 403 with its reason). */
  async #member(p: Principal, projectId: string, requestId?: string): Promise<ProjectState> {
    checkProjectId(projectId);
    await this.#o.governance.assertCanAccessData(p, projectId, { tool: this.#tools.get(p) ?? 'web_sql' }, requestId);
    // Created only once access is granted: unknown ids never grow the map.
    return this.#state(projectId);
  }

  /** Members, and reviewers of the access committee (metadata only). */
  async #viewer(p: Principal, projectId: string, requestId?: string): Promise<{ readonly member: boolean; readonly status: string }> {
    checkProjectId(projectId);
    if (p.roles.has('access_committee') && p.projectScope === null) {
      const d = await this.#o.governance.getProject(p, projectId, requestId);
      return { member: false, status: d.project.status };
    }
    await this.#o.governance.assertCanAccessData(p, projectId, { tool: this.#tools.get(p) ?? 'web_sql' }, requestId);
    return { member: true, status: 'active' };
  }

  async #live(projectId: string, s: ProjectState): Promise<Live> {
    if (this.#closed) throw new AppError('unavailable', 'the workspace service is shutting down', { hint: 'try again once the server is back' });
    // A new materialisation (an amendment changed the permit) replaces the session: the next
    // statement runs on the new extract, never on files of the old one.
    const open = await s.live?.catch(() => undefined);
    if (open !== undefined) {
      const current = await this.#o.extracts.current(projectId);
      if (current === null || current.generation !== open.manifest.generation) {
        s.live = undefined;
        s.handles.clear();
        await open.session.close().catch(() => undefined);
      }
    }
    s.live ??= (async () => {
      const current = await this.#o.extracts.current(projectId);
      if (current === null) throw noExtract(projectId);
      const { manifest, tables } = await this.#o.extracts.openForEngine(projectId);
      const key = await this.#o.keys.withDataKey('project', projectId, 'encryption', async (k) => Buffer.from(k));
      const session = await this.#o.engine.open({
        workspaceId: projectId,
        extract: tables.map((t) => ({ name: t.name, files: [...t.files], key: t.key })),
        scratch: { dir: this.#scratchDir(projectId), key, quotaBytes: this.#o.quotaBytes },
        limits: this.#o.limits,
      });
      return { session, manifest };
    })();
    try {
      return await s.live;
    } catch (e) {
      s.live = undefined;
      throw e;
    } finally {
      s.lastUsed = Date.now();
    }
  }

  /**
   * Ends the engine process of every workspace idle for longer than `idleMs` (nothing queued or
   * running), audited. Runs on a timer; callable directly. Returns the projects closed.
   */
  async closeIdle(): Promise<string[]> {
    const closed: string[] = [];
    for (const [projectId, s] of this.#states) {
      if (s.live === undefined || s.pending.size > 0 || s.current !== undefined || Date.now() - s.lastUsed < this.#idleMs) continue;
      await s.serial(async () => {
        // checked again in the queue's turn: a statement may have come meanwhile
        const idleFor = Date.now() - s.lastUsed;
        if (s.live === undefined || s.pending.size > 0 || s.current !== undefined || idleFor < this.#idleMs) return;
        const l = await s.live.catch(() => undefined);
        s.live = undefined;
        if (l === undefined) return;
        await l.session.close().catch(() => undefined);
        closed.push(projectId);
        await this.#o.audit.record({ actor: SERVICE_ACTOR, action: 'workspace.session.close', target: `project:${projectId}`, details: { reason: 'idle', idleSeconds: Math.round(idleFor / 1000) } });
      });
    }
    return closed;
  }

  #scratchDir(projectId: string): string {
    return join(this.#o.scratchRoot, projectId);
  }

  /**
   * Records a member's statement and queues it. `done` settles with the final Query (never
   * rejects). Bad input is refused before anything is recorded.
   */
  async submit(p: Principal, projectId: string, body: unknown, requestId?: string): Promise<{ readonly query: Query; readonly done: Promise<Query>; readonly waitMs: number }> {
    const req = parseQueryRequest(body);
    const s = await this.#member(p, projectId, requestId);
    if ((await this.#o.extracts.current(projectId)) === null) {
      await this.#o.audit.record({ actor: { kind: 'person', id: p.personId }, action: 'workspace.query', target: `project:${projectId}`, outcome: 'failure', details: { sql: req.sql, reason: 'no_extract' }, ...rid(requestId) });
      throw noExtract(projectId);
    }
    const id = randomUUID();
    const startedAt = new Date();
    const rows = await this.#o.audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'workspace.query.start', target: `project:${projectId}`, details: { query: id, sql: req.sql, ...(req.saveAs === undefined ? {} : { saveAs: req.saveAs.name, saveKind: req.saveAs.kind }) }, ...rid(requestId) }, (tx) =>
      tx.query<QueryRow>("INSERT INTO workspace_queries (id, project_id, person_id, sql, status, started_at) VALUES ($1, $2, $3, $4, 'running', $5) RETURNING *", [id, projectId, p.personId, req.sql, startedAt]));
    const row = rows[0];
    if (row === undefined) throw new AppError('internal', 'query insert returned nothing');
    const entry: Pending = { done: Promise.resolve(toQuery(row)), started: false, finished: false, cancelReason: undefined };
    entry.done = s.serial(() => this.#execute(projectId, s, id, entry, p, req, requestId));
    s.pending.set(id, entry);
    void entry.done.finally(() => s.pending.delete(id));
    return { query: toQuery(row), done: entry.done, waitMs: req.waitMs };
  }

  async #execute(projectId: string, s: ProjectState, id: string, entry: Pending, p: Principal, req: QueryRequest, requestId: string | undefined): Promise<Query> {
    if (entry.finished) return this.#load(projectId, id);
    entry.started = true;
    const t0 = performance.now();
    const elapsed = (): number => Math.round(performance.now() - t0);
    let live: Live;
    try {
      live = await this.#live(projectId, s);
    } catch (e) {
      return this.#finish(projectId, id, entry, p, requestId, req.sql, { status: 'failed', elapsedMs: elapsed(), error: errorOf(e) });
    }
    if (entry.cancelReason !== undefined) return this.#finish(projectId, id, entry, p, requestId, req.sql, { status: 'cancelled', elapsedMs: 0, error: cancelled(entry.cancelReason) });
    s.current = id;
    try {
      const r = await live.session.run(req.sql, req.saveAs === undefined ? {} : { saveAs: req.saveAs });
      if (r.kind === 'rows') {
        const first = r.rowCount === 0 ? undefined : await live.session.page(r.resultId, { offset: 0, limit: Math.min(FIRST_PAGE_ROWS, r.rowCount) }).catch(() => undefined);
        s.handles.set(id, { session: live.session, resultId: r.resultId, first });
        for (const k of s.handles.keys()) {
          if (s.handles.size <= KEPT_HANDLES) break;
          s.handles.delete(k);
        }
        return await this.#finish(projectId, id, entry, p, requestId, req.sql, { status: 'succeeded', elapsedMs: Math.round(r.elapsedMs), columns: r.columns, rowCount: r.rowCount, truncated: r.truncated, sha256: r.sha256 });
      }
      const saved = { name: r.name, kind: r.objectKind, ...(r.rowCount === undefined ? {} : { rowCount: r.rowCount }), ...(r.bytes === undefined ? {} : { bytes: r.bytes }) };
      return await this.#finish(projectId, id, entry, p, requestId, req.sql, { status: 'succeeded', elapsedMs: Math.round(r.elapsedMs), saved, rowCount: r.rowCount ?? null, truncated: r.truncated ?? null });
    } catch (e) {
      if (entry.cancelReason !== undefined) return this.#finish(projectId, id, entry, p, requestId, req.sql, { status: 'cancelled', elapsedMs: elapsed(), error: cancelled(entry.cancelReason) });
      const error = errorOf(e);
      return this.#finish(projectId, id, entry, p, requestId, req.sql, { status: e instanceof AppError && e.code === 'forbidden' ? 'refused' : 'failed', elapsedMs: elapsed(), error });
    } finally {
      s.current = undefined;
    }
  }

  /** Writes the final status and its audit event in one transaction (once per query). */
  async #finish(
    projectId: string, id: string, entry: Pending, p: Pick<Principal, 'personId'> | null, requestId: string | undefined, sql: string,
    r: { status: Exclude<QueryStatus, 'running'>; elapsedMs: number; columns?: readonly ResultColumn[]; rowCount?: number | null; truncated?: boolean | null; sha256?: string; saved?: Query['saved']; error?: QueryError },
  ): Promise<Query> {
    if (entry.finished) return this.#load(projectId, id);
    entry.finished = true;
    const outcome: Outcome = r.status === 'succeeded' ? 'success' : r.status === 'refused' ? 'denied' : 'failure';
    const details: Record<string, JsonValue> = {
      query: id, sql, status: r.status, elapsedMs: r.elapsedMs,
      ...(r.rowCount === undefined || r.rowCount === null ? {} : { rows: r.rowCount }),
      ...(r.truncated === undefined || r.truncated === null ? {} : { truncated: r.truncated }),
      ...(r.sha256 === undefined ? {} : { sha256: r.sha256 }),
      ...(r.saved === undefined || r.saved === null ? {} : { saved: r.saved.name, savedKind: r.saved.kind }),
      ...(r.error === undefined ? {} : { error: r.error.code, ...(r.error.reason === undefined ? {} : { reason: r.error.reason }) }),
    };
    const draft = { actor: p === null ? SERVICE_ACTOR : { kind: 'person' as const, id: p.personId }, action: 'workspace.query', target: `project:${projectId}`, details, ...rid(requestId) };
    const update = (q: Queryable): Promise<QueryRow[]> => q.query<QueryRow>(
      `UPDATE workspace_queries SET status = $2, finished_at = now(), elapsed_ms = $3, columns = $4, row_count = $5, truncated = $6, sha256 = $7, saved = $8, error = $9
       WHERE id = $1 AND status = 'running' RETURNING *`,
      [id, r.status, r.elapsedMs, r.columns === undefined ? null : JSON.stringify(r.columns), r.rowCount ?? null, r.truncated ?? null, r.sha256 ?? null,
        r.saved === undefined || r.saved === null ? null : JSON.stringify(r.saved), r.error === undefined ? null : JSON.stringify(r.error)],
    );
    // A result is recorded with its event in one transaction (outcome success). A refusal or a
    // failure read nothing: its event (outcome denied or failure, which an audited transaction
    // cannot carry) is appended first, then the record says so.
    let rows: QueryRow[];
    if (outcome === 'success') {
      rows = await this.#o.audit.transaction(draft, update);
    } else {
      await this.#o.audit.record({ ...draft, outcome });
      rows = await update(this.#o.db);
    }
    const row = rows[0];
    return row === undefined ? this.#load(projectId, id) : toQuery(row);
  }

  async #load(projectId: string, id: string): Promise<Query> {
    const rows = await this.#o.db.query<QueryRow>('SELECT * FROM workspace_queries WHERE id = $1 AND project_id = $2', [id, projectId]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no query ${id} in this project`, { hint: 'list your queries: GET /queries' });
    return toQuery(r);
  }

  /** The caller's own query (a member's queries are theirs only), with progress while it runs. */
  async query(p: Principal, projectId: string, qid: string, requestId?: string): Promise<Query> {
    const s = await this.#member(p, projectId, requestId);
    return this.#own(p, projectId, s, qid);
  }

  async #own(p: Principal, projectId: string, s: ProjectState, qid: string): Promise<Query> {
    const rows = await this.#o.db.query<QueryRow>('SELECT * FROM workspace_queries WHERE id = $1 AND project_id = $2 AND person_id = $3', [qid, projectId, p.personId]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no query ${qid.slice(0, 80)} of yours in this project`, { hint: 'list your queries: GET /queries' });
    let progress: number | null = null;
    if (r.status === 'running' && s.current === qid) {
      const live = await s.live?.catch(() => undefined);
      progress = (await live?.session.progress().catch(() => undefined)) ?? null;
    } else if (r.status === 'running') progress = 0;
    return toQuery(r, progress);
  }

  /** The caller's history in the project, newest first. */
  async history(p: Principal, projectId: string, o: { readonly limit?: number; readonly before?: string } = {}, requestId?: string): Promise<Query[]> {
    await this.#member(p, projectId, requestId);
    const limit = o.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) throw new AppError('invalid', `limit must be a whole number from 1 to ${MAX_HISTORY}`, { details: { field: 'limit' } });
    let before: Date | null = null;
    if (o.before !== undefined) {
      before = new Date(o.before);
      if (Number.isNaN(before.getTime())) throw new AppError('invalid', `before must be an ISO 8601 time, got ${JSON.stringify(o.before.slice(0, 40))}`, { hint: 'pass the startedAt of the last query of the previous page', details: { field: 'before' } });
    }
    const rows = await this.#o.db.query<QueryRow>(
      'SELECT * FROM workspace_queries WHERE project_id = $1 AND person_id = $2 AND ($3::timestamptz IS NULL OR started_at < $3) ORDER BY started_at DESC, id DESC LIMIT $4',
      [projectId, p.personId, before, limit],
    );
    return rows.map((r) => toQuery(r, r.status === 'running' ? 0 : null));
  }

  /** A page of a query's result, read from the engine (never the whole result). */
  async rows(p: Principal, projectId: string, qid: string, window: { readonly offset: number; readonly limit: number }, requestId?: string): Promise<RowsPage> {
    const s = await this.#member(p, projectId, requestId);
    const { offset, limit } = window;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new AppError('invalid', 'offset must be a whole number ≥ 0', { details: { field: 'offset' } });
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) throw new AppError('invalid', `limit must be a whole number from 1 to ${MAX_PAGE_ROWS}`, { details: { field: 'limit' } });
    const q = await this.#own(p, projectId, s, qid);
    if (q.status === 'running') throw new AppError('conflict', 'the query is still running', { hint: 'wait for it to finish (GET /queries/{qid}) or cancel it' });
    if (q.status !== 'succeeded' || q.saved !== null) throw new AppError('not_found', `query ${qid} has no rows to read (${q.saved !== null ? `its result was saved as ${q.saved.name}` : q.status})`, { hint: q.saved !== null ? `query the saved ${q.saved.kind}: SELECT * FROM ${q.saved.name}` : 'run a query that returns rows' });
    const gone = (): AppError => new AppError('gone', 'the result of this query is no longer kept by the workspace engine', { hint: 'run the query again (the engine keeps the latest results of the project only)' });
    const h = s.handles.get(qid);
    if (h === undefined) throw gone();
    const end = Math.min(offset + limit, q.rowCount ?? 0);
    if (h.first !== undefined && end <= h.first.rows.length) return { columns: h.first.columns, rows: h.first.rows.slice(offset, Math.max(offset, end)), offset, rowCount: h.first.rowCount };
    if (q.rowCount === 0) return { columns: q.columns ?? [], rows: [], offset, rowCount: 0 };
    return s.serial(async () => {
      const live = await s.live?.catch(() => undefined);
      if (live === undefined || live.session !== h.session) throw gone();
      s.lastUsed = Date.now();
      const page = await h.session.page(h.resultId, { offset, limit });
      return { columns: page.columns, rows: page.rows, offset: page.offset, rowCount: page.rowCount };
    });
  }

  /** Cancels the caller's query (queued or running) and answers it as it ends up. */
  async cancel(p: Principal, projectId: string, qid: string, requestId?: string): Promise<Query> {
    const s = await this.#member(p, projectId, requestId);
    const q = await this.#own(p, projectId, s, qid);
    const entry = s.pending.get(qid);
    if (q.status !== 'running' || entry === undefined) return q;
    // A queued statement ends here; a running one ends when the engine has stopped it.
    return (await this.#cancelEntry(projectId, s, qid, entry, 'cancelled by the member', p)) ?? entry.done;
  }

  async #cancelEntry(projectId: string, s: ProjectState, qid: string, entry: Pending, reason: string, p: Pick<Principal, 'personId'> | null): Promise<Query | undefined> {
    entry.cancelReason ??= reason;
    if (!entry.started) {
      const row = await this.#o.db.query<{ sql: string }>('SELECT sql FROM workspace_queries WHERE id = $1', [qid]);
      return this.#finish(projectId, qid, entry, p, undefined, row[0]?.sql ?? '', { status: 'cancelled', elapsedMs: 0, error: cancelled(entry.cancelReason) });
    }
    if (s.current === qid) {
      const live = await s.live?.catch(() => undefined);
      await live?.session.cancel().catch(() => undefined);
    }
    return undefined;
  }

  /**
   * End of access (suspension, revocation, expiry): queued statements are cancelled, the
   * running one stopped, the engine process closed. New statements are refused by the access
   * check (the project's status changed before this is told). Audited.
   */
  async endAccess(projectId: string, kind: string): Promise<{ readonly cancelled: number }> {
    const s = this.#states.get(projectId);
    let n = 0;
    if (s !== undefined) {
      const reason = `access ended: ${kind.replace(/^project\./, 'the permit was ')}`.replace('the permit was closed', 'the project was closed');
      const entries = [...s.pending.entries()].filter(([, e]) => !e.finished);
      n = entries.length;
      // Stop first (the engine process is closed: nothing keeps running), then record.
      for (const [, e] of entries) e.cancelReason ??= reason;
      const live = s.live;
      s.live = undefined;
      s.handles.clear();
      const l = await live?.catch(() => undefined);
      // Interrupt the running statement, then end the engine process (killed if it lingers).
      await l?.session.cancel().catch(() => undefined);
      const closing = l?.session.close().catch(() => undefined);
      for (const [qid, e] of entries) await this.#cancelEntry(projectId, s, qid, e, reason, null);
      await Promise.all(entries.map(([, e]) => e.done));
      await closing;
    }
    await this.#o.audit.record({ actor: SERVICE_ACTOR, action: 'workspace.access.end', target: `project:${projectId}`, details: { change: kind, cancelled: n } });
    return { cancelled: n };
  }

  /**
   * Closure: queries stopped, the scratch deleted, the project's keys destroyed
   * (crypto-shredding: the extract and any copy of the scratch become unreadable), and the
   * extract side asked to delete the extract. One audited event says what was done.
   */
  async destroyProject(projectId: string): Promise<void> {
    await this.endAccess(projectId, 'project.closed');
    const dir = this.#scratchDir(projectId);
    await rm(dir, { recursive: true, force: true });
    const destroyed: string[] = [];
    await this.#o.audit.transaction({ actor: SERVICE_ACTOR, action: 'workspace.project.destroy', target: `project:${projectId}`, details: { scratchDeleted: true } }, async (tx) => {
      for (const purpose of ['encryption', 'pseudonymisation'] as const) {
        try {
          await this.#o.keys.destroyDataKey(tx, 'project', projectId, purpose);
          destroyed.push(purpose);
        } catch (e) {
          // already destroyed (or never created): nothing left to shred
          if (!(e instanceof AppError && e.code === 'not_found')) throw e;
        }
      }
      tx.addDetails({ keysDestroyed: destroyed });
    });
    if (this.#o.extracts.destroy !== undefined) {
      await this.#o.extracts.destroy(projectId);
      await this.#o.audit.record({ actor: SERVICE_ACTOR, action: 'workspace.extract.destroy', target: `project:${projectId}` });
    }
    this.#states.delete(projectId);
  }

  /** The workspace as members see it: extract, tables (with catalogue descriptions), quota. Reviewers: metadata of the extract only. */
  async workspace(p: Principal, projectId: string, requestId?: string): Promise<WorkspaceInfo> {
    const v = await this.#viewer(p, projectId, requestId);
    const quota = { usedBytes: await dirBytes(this.#scratchDir(projectId)), quotaBytes: this.#o.quotaBytes };
    if (v.status === 'closed') return { projectId, status: 'closed', extract: null, tables: [], quota };
    const latest = (await this.#o.extracts.latest?.(projectId)) ?? null;
    const current = await this.#o.extracts.current(projectId);
    const manifest = current ?? latest;
    const status: WorkspaceInfo['status'] = current !== null ? 'ready' : latest === null ? 'none' : latest.state === 'building' ? 'building' : latest.state === 'failed' ? 'failed' : 'none';
    const tables: WorkspaceTable[] = current === null ? [] : await this.#extractTables(current);
    if (v.member && current !== null) tables.push(...(await this.#scratchTables(projectId)));
    return { projectId, status, extract: manifest, tables, quota };
  }

  async #extractTables(m: ExtractManifest): Promise<WorkspaceTable[]> {
    const out: WorkspaceTable[] = [];
    for (const t of m.tables) {
      const cat = await this.#o.catalogue?.(t.dataset, t.table).catch(() => null);
      const byName = new Map((cat?.columns ?? []).map((c) => [c.name.toUpperCase(), c]));
      out.push({
        schema: 'extract', name: t.name, kind: 'view', rows: t.rows,
        columns: t.columns.map((c) => {
          const info = byName.get(c.source.toUpperCase());
          return { name: c.name, type: c.type, ...(info?.description === undefined ? {} : { description: info.description }), ...(info?.sensitivity === undefined ? {} : { sensitivity: info.sensitivity }) };
        }),
      });
    }
    return out;
  }

  async #scratchTables(projectId: string): Promise<WorkspaceTable[]> {
    const s = this.#state(projectId);
    const all = await s.serial(async () => (await this.#live(projectId, s)).session.describe());
    return all.filter((t) => t.schema === 'scratch').map((t) => ({ schema: 'scratch', name: t.name, kind: t.kind, columns: t.columns.map((c) => ({ name: c.name, type: c.type })) }));
  }

  /** The extract's manifest (members and reviewers). */
  async extract(p: Principal, projectId: string, requestId?: string): Promise<ExtractManifest> {
    await this.#viewer(p, projectId, requestId);
    const m = (await this.#o.extracts.current(projectId)) ?? (await this.#o.extracts.latest?.(projectId)) ?? null;
    if (m === null) throw noExtract(projectId);
    return m;
  }

  /** Saved tables and views of the project's scratch schema. */
  async tables(p: Principal, projectId: string, requestId?: string): Promise<WorkspaceTable[]> {
    await this.#member(p, projectId, requestId);
    if ((await this.#o.extracts.current(projectId)) === null) return [];
    return this.#scratchTables(projectId);
  }

  /**
   * The rows of a saved scratch table, for the airlock's snapshot of an output (members named in
   * the permit only, like every read), with its lineage: the statement that saved it and the
   * extract it read. At most `maxRows` rows are read (`truncated` says if there were more); the
   * airlock refuses truncated outputs. Not recorded as a query: the airlock audits the snapshot
   * with its SHA-256 in the event that stores it.
   */
  async readSavedTable(p: Principal, projectId: string, name: string, o: { readonly maxRows: number }, requestId?: string): Promise<SavedTableRows> {
    const s = await this.#member(p, projectId, requestId);
    if (!NAME.test(name) || name.startsWith('__')) throw new AppError('invalid', `${JSON.stringify(name.slice(0, 80))} is not a saved table name`, { hint: 'list them: GET /tables', details: { field: 'table' } });
    const tables = await this.tables(p, projectId, requestId);
    const t = tables.find((x) => x.name === name);
    if (t === undefined) throw new AppError('not_found', `no saved table ${name} in this workspace`, { hint: 'save a result as a table first (saveAs), then list them: GET /tables', details: { field: 'table' } });
    if (t.kind !== 'table') throw new AppError('invalid', `${name} is a view: outputs are saved tables, whose rows do not change under the checkers`, { hint: `save it as a table: run "SELECT * FROM ${name}" with saveAs kind "table"`, details: { field: 'table' } });
    const { rows, columns, truncated, manifest } = await s.serial(async () => {
      const live = await this.#live(projectId, s);
      const r = await live.session.run(`SELECT * FROM ${name}`);
      if (r.kind !== 'rows') throw new AppError('internal', 'reading a saved table returned no rows result');
      try {
        const out: (readonly CellValue[])[] = [];
        const n = Math.min(r.rowCount, o.maxRows);
        while (out.length < n) {
          const page = await live.session.page(r.resultId, { offset: out.length, limit: Math.min(10_000, n - out.length) });
          if (page.rows.length === 0) break;
          out.push(...page.rows);
        }
        return { rows: out, columns: r.columns, truncated: r.truncated || r.rowCount > o.maxRows, manifest: live.manifest };
      } finally {
        await live.session.discard(r.resultId).catch(() => undefined);
      }
    });
    const q = await this.#o.db.query<{ id: string; sql: string }>(
      "SELECT id, sql FROM workspace_queries WHERE project_id = $1 AND status = 'succeeded' AND saved->>'name' = $2 ORDER BY finished_at DESC NULLS LAST LIMIT 1", [projectId, name],
    );
    return {
      columns, rows, truncated, query: q[0] === undefined ? null : { id: q[0].id, sql: q[0].sql },
      extract: { generation: manifest.generation, permitVersion: manifest.permitVersion, datasetVersions: manifest.datasetVersions },
      pseudonymColumns: [...new Set(manifest.tables.flatMap((x) => x.columns.filter((c) => c.rekeyed).map((c) => c.name)))].sort(),
    };
  }

  async dropTable(p: Principal, projectId: string, name: string, requestId?: string): Promise<void> {
    const s = await this.#member(p, projectId, requestId);
    if (!NAME.test(name)) throw new AppError('invalid', `${JSON.stringify(name.slice(0, 80))} is not a scratch table name`, { hint: 'list them: GET /tables', details: { field: 'name' } });
    const tables = await this.tables(p, projectId, requestId);
    if (!tables.some((t) => t.name === name)) throw new AppError('not_found', `no saved table or view ${name} in this workspace`, { hint: 'list them: GET /tables' });
    // The engine drops it first (it holds the scratch); the event records what was done.
    await s.serial(async () => (await this.#live(projectId, s)).session.drop(name));
    await this.#o.audit.record({ actor: { kind: 'person', id: p.personId }, action: 'workspace.table.drop', target: `project:${projectId}`, details: { name }, ...rid(requestId) });
  }

  async savedQueries(p: Principal, projectId: string, requestId?: string): Promise<SavedQuery[]> {
    await this.#member(p, projectId, requestId);
    const rows = await this.#o.db.query<SavedRow>('SELECT * FROM workspace_saved_queries WHERE project_id = $1 ORDER BY created_at DESC, id', [projectId]);
    return rows.map(toSaved);
  }

  async saveQuery(p: Principal, projectId: string, body: unknown, requestId?: string): Promise<SavedQuery> {
    const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const name = b['name'];
    const sql = b['sql'];
    const description = b['description'] ?? '';
    if (typeof name !== 'string' || name.trim() === '' || name.length > 120) throw new AppError('invalid', 'name must be a non-empty string of at most 120 characters', { hint: '{"name": "stays per person", "sql": "SELECT …"}', details: { field: 'name' } });
    if (typeof sql !== 'string' || sql.trim() === '') throw new AppError('invalid', 'sql must be a non-empty string', { details: { field: 'sql' } });
    if (Buffer.byteLength(sql) > MAX_SQL_BYTES) throw new AppError('payload_too_large', `sql is over ${MAX_SQL_BYTES} bytes`, { details: { field: 'sql' } });
    if (typeof description !== 'string' || description.length > 2000) throw new AppError('invalid', 'description must be a string of at most 2000 characters', { details: { field: 'description' } });
    await this.#member(p, projectId, requestId);
    const id = randomUUID();
    const taken = await this.#o.db.query('SELECT 1 FROM workspace_saved_queries WHERE project_id = $1 AND name = $2', [projectId, name.trim()]);
    if (taken.length > 0) throw new AppError('conflict', `a saved query named ${JSON.stringify(name.trim())} already exists in this project`, { hint: 'choose another name, or delete the old one first', details: { field: 'name' } });
    const rows = await this.#o.audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'workspace.saved_query.create', target: `project:${projectId}`, details: { savedQuery: id, name: name.trim() }, ...rid(requestId) }, (tx) =>
      tx.query<SavedRow>('INSERT INTO workspace_saved_queries (id, project_id, person_id, name, sql, description) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *', [id, projectId, p.personId, name.trim(), sql, description]));
    const r = rows[0];
    if (r === undefined) throw new AppError('internal', 'saved query insert returned nothing');
    return toSaved(r);
  }

  async deleteSavedQuery(p: Principal, projectId: string, sid: string, requestId?: string): Promise<void> {
    await this.#member(p, projectId, requestId);
    const rows = await this.#o.db.query<SavedRow>('SELECT * FROM workspace_saved_queries WHERE id = $1 AND project_id = $2', [sid, projectId]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no saved query ${sid.slice(0, 80)} in this project`);
    if (r.person_id !== p.personId) throw new AppError('forbidden', 'only the author of a saved query may delete it', { hint: 'ask its author', details: { reason: 'not_author' } });
    await this.#o.audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'workspace.saved_query.delete', target: `project:${projectId}`, details: { savedQuery: sid }, ...rid(requestId) }, async (tx) => {
      await tx.query('DELETE FROM workspace_saved_queries WHERE id = $1', [sid]);
    });
  }

  /** The engine process id of a project's open session, if the engine has one (operators, tests). */
  async engineProcessId(projectId: string): Promise<number | undefined> {
    const live = await this.#states.get(projectId)?.live?.catch(() => undefined);
    const pid = (live?.session as { readonly workerPid?: number } | undefined)?.workerPid;
    return typeof pid === 'number' ? pid : undefined;
  }

  /** Stops every session (server shutdown); running statements end as the engine stops. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await this.settled();
    for (const s of this.#states.values()) {
      const l = await s.live?.catch(() => undefined);
      s.live = undefined;
      await l?.session.close().catch(() => undefined);
    }
  }
}

interface SavedRow {
  id: string;
  project_id: string;
  person_id: string;
  name: string;
  sql: string;
  description: string;
  created_at: Date | string;
}

function toSaved(r: SavedRow): SavedQuery {
  return { id: r.id, name: r.name, sql: r.sql, description: r.description, personId: r.person_id, createdAt: iso(r.created_at) };
}

const rid = (requestId: string | undefined): { requestId?: string } => (requestId === undefined ? {} : { requestId });

function checkProjectId(projectId: string): void {
  if (!PROJECT_ID.test(projectId)) throw new AppError('not_found', `no project ${JSON.stringify(projectId.slice(0, 80))}`, { hint: 'check the project id' });
}

function noExtract(projectId: string): AppError {
  return new AppError('not_found', `project ${projectId} has no extract ready yet`, { hint: 'the extract is built when the permit comes into force; see GET /workspace for its status, and try again once it is ready', details: { reason: 'no_extract' } });
}

function cancelled(reason: string): QueryError {
  return { code: 'conflict', message: `the statement was cancelled (${reason})`, hint: reason.startsWith('access ended') ? 'the project\'s permit is no longer in force: ask the access committee' : 'run it again when you need it', reason: reason.startsWith('access ended') ? 'access_ended' : 'cancelled' };
}

/** A failure as members see it: the engine's clear message and hint, never an internal detail. */
function errorOf(e: unknown): QueryError {
  if (e instanceof AppError && e.code !== 'internal') {
    const reason = e.details?.['reason'] ?? e.details?.['limit'];
    return { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(typeof reason === 'string' ? { reason } : {}) };
  }
  return { code: 'internal', message: 'the workspace engine failed', hint: 'run the statement again; if it keeps failing, tell the platform operator' };
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!e.isFile()) continue;
    try {
      total += (await stat(join(e.parentPath, e.name))).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}
