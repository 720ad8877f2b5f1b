/**
 * The airlock: the only way out of a workspace. A project member asks for saved result tables to
 * be released, with their context; the disclosure rules (`./rules/`) report on every cell, against
 * the release ledger of this project and of every other project on the same base; two
 * independent output checkers vote on each output; once every output has its approvals it is
 * released: stored under its SHA-256 (never overwritten), signed with the platform's release key
 * into a bundle that members download (each download audited) and anyone verifies offline.
 *
 * - **Snapshots**: an output's rows are read from the workspace when it is added or changed and
 *   kept encrypted with the project's data key (AES-256-GCM) in the metadata database, with their
 *   SHA-256 and lineage: until two checkers approve them they may be disclosive (the scratch's
 *   protection; the project's crypto-shredding at closure covers them). Released files are kept
 *   in clear in the store: released means judged non-disclosive, and they must stay verifiable
 *   after the project's keys are destroyed.
 * - **Every mutation with its audit event** in one transaction; every refusal audited `denied`.
 * - **Versions**: each change of a request or an output bumps the request's version and keeps a
 *   copy (`airlock_request_versions`); changing an output bumps its version and sets its votes
 *   aside (they were on other rows).
 *
 * @example
 *   const airlock = new AirlockService({ db, audit, governance, workspace, keys, store, signer });
 *   const r = await airlock.createRequest(member, { projectId, title, description, population });
 *   await airlock.addOutput(member, r.request.id, { table: 'by_dept', description: '…' });
 *   await airlock.submit(member, r.request.id);
 *   await airlock.review(checker1, r.request.id, { votes: [{ output: 'by_dept', decision: 'approve', reasons: ['rules_clean'] }] });
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AuditDraft, AuditedTx, Outcome } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { AppError, isAppError } from '../errors.ts';
import type { Principal, Role } from '../identity/index.ts';
import { buildBundle, outputCsv, reportSha256, sha256Hex, type BundleDecision, type BundleManifest, type BundleOutput } from './bundle.ts';
import {
  assertCanAct, assertCanCreateRequest, assertCanDownload, assertCanReview, assertCanViewRequest, canAct, canDownload, canReview, canViewRequest, isProjectMember, type ProjectFacts, type RequestFacts,
} from './policy.ts';
import {
  checkLedger, checkOutputs, COLUMN_ROLES, inferRole, ledgerCellsOf, OUTPUT_KINDS, populationHash, rulesFrom, type CellValue, type ColumnRole, type DisclosureReport, type DisclosureRules,
  type LedgerCell, type OutputKind, type OutputTable, withCatalogIdentifiers,
} from './rules/index.ts';
import type { OutputColumnInfo, Release, ReleaseOutput, ReleaseRequest, RequestDetail, RequestVersion, Vote } from './types.ts';
import {
  MIN_CHECKERS, REASON_CODES, REQUEST_ACTION_NAMES, statusAfterVotes, VOTE_DECISIONS, type ReasonCode, type RequestActionName, type RequestStatus, type VoteDecision,
} from './workflow.ts';

export interface AirlockAudit {
  transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T>;
  record(draft: AuditDraft & { readonly outcome?: Outcome }): Promise<unknown>;
}

/** A project as the airlock needs it: its team, status and the permit in force. */
export interface AirlockProject extends ProjectFacts {
  readonly title: string;
  readonly permit: { readonly version: number; readonly disclosure: unknown; readonly population: string } | null;
}

/** What the airlock needs of governance and identity (main.ts adapts them). */
export interface AirlockGovernance {
  /** The project, read in `q` when given (the caller's transaction), else in the database. */
  project(projectId: string, q?: Queryable): Promise<AirlockProject | null>;
  /** Whether the person proposed or approved a change of one of `roles` effective at or after `since` (read in `q`). */
  changedRolesSince(q: Queryable, personId: string, roles: readonly Role[], since: Date): Promise<boolean>;
  /** Whether the person changed (proposed or approved) one of `roles` of one of `others`, or one of them changed theirs (read in `q`). */
  changedRolesBetween(q: Queryable, personId: string, others: readonly string[], roles: readonly Role[]): Promise<boolean>;
}

/** A saved table as the workspace reads it for the airlock (WorkspaceService.readSavedTable). */
export interface AirlockWorkspace {
  readSavedTable(p: Principal, projectId: string, name: string, o: { readonly maxRows: number }, requestId?: string): Promise<{
    readonly columns: readonly { readonly name: string; readonly type: string }[];
    readonly rows: ReadonlyArray<readonly unknown[]>;
    readonly truncated: boolean;
    readonly query: { readonly id: string; readonly sql: string } | null;
    readonly extract: { readonly generation: number; readonly permitVersion: number; readonly datasetVersions: readonly { readonly dataset: string; readonly version: number }[] };
    /** The extract's pseudonym columns (re-keyed person identifiers), blocked by name beside the rules' own list. */
    readonly pseudonymColumns: readonly string[];
  }>;
}

export interface AirlockKeys {
  withDataKey<T>(scope: 'project', scopeId: string, purpose: 'encryption', fn: (key: Buffer) => Promise<T>): Promise<T>;
}

/** The store released files go to (the store port: never overwritten, content-addressed). */
export interface AirlockStore {
  exists(key: string): Promise<boolean>;
  write(key: string, body: Readable): Promise<void>;
  read(key: string): Promise<Readable>;
}

export interface AirlockSigner {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
  readonly keyId: string;
}

export interface AirlockServiceOptions {
  readonly db: Db;
  readonly audit: AirlockAudit;
  readonly governance: AirlockGovernance;
  readonly workspace: AirlockWorkspace;
  readonly keys: AirlockKeys;
  readonly store: AirlockStore;
  readonly signer: AirlockSigner;
  /** Largest output, in rows (outputs are aggregates; more is refused). */
  readonly maxRows?: number;
  readonly now?: () => Date;
}

export const DEFAULT_MAX_OUTPUT_ROWS = 5000;
export const MAX_OUTPUTS_PER_REQUEST = 20;
const MAX_TEXT = 10_000;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const OUTPUT_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*)$/i;
/** The role whose holders review outputs: whoever changes who holds it changes the checkers. */
const CHECKER_ROLES = ['output_checker'] as const satisfies readonly Role[];

const rid = (requestId: string | undefined): { requestId?: string } => (requestId === undefined ? {} : { requestId });
const iso = (d: Date | string | null): string | null => (d === null ? null : (d instanceof Date ? d : new Date(d)).toISOString());
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
const actor = (p: Principal): { kind: 'person'; id: string } => ({ kind: 'person', id: p.personId });

interface RequestRow {
  id: string;
  project_id: string;
  version: number;
  status: RequestStatus;
  title: string;
  description: string;
  population: string;
  created_by: string;
  created_at: Date | string;
  updated_at: Date | string;
  submitted_at: Date | string | null;
  decided_at: Date | string | null;
  report: DisclosureReport | string | null;
  report_sha256: string | null;
  checkers_required: number;
}

interface OutputRow {
  id: string;
  request_id: string;
  name: string;
  version: number;
  removed: boolean;
  source_table: string;
  kind: OutputKind;
  columns: OutputColumnInfo[] | string;
  description: string;
  underlying_counts: string;
  row_count: number;
  sha256: string;
  query_id: string | null;
  query_sha256: string | null;
  extract_generation: number | null;
  permit_version: number | null;
  dataset_versions: string[] | string;
  pseudonym_columns: string[] | string;
  key_id: string;
  snapshot: Uint8Array;
  created_by: string;
  updated_at: Date | string;
}

interface VoteRow {
  id: string;
  review_id: string;
  output_id: string;
  output_version: number;
  checker_id: string;
  decision: VoteDecision;
  reasons: string[];
  comment: string;
  active: boolean;
  created_at: Date | string;
}

interface ReleaseRow {
  id: string;
  released_at: Date | string;
  bundle_sha256: string;
  bundle_key: string;
  bundle_bytes: string | number;
  signing_key_id: string;
  outputs: Release['outputs'] | string;
}

function toRequest(r: RequestRow): ReleaseRequest {
  return {
    id: r.id, projectId: r.project_id, version: r.version, status: r.status, title: r.title, description: r.description, population: r.population,
    createdBy: r.created_by, createdAt: iso(r.created_at) ?? '', updatedAt: iso(r.updated_at) ?? '', submittedAt: iso(r.submitted_at), decidedAt: iso(r.decided_at),
    checkersRequired: r.checkers_required,
  };
}

function toOutput(r: OutputRow, rows?: readonly (readonly CellValue[])[]): ReleaseOutput {
  return {
    id: r.id, name: r.name, version: r.version, kind: r.kind, columns: json(r.columns), description: r.description, underlyingCounts: r.underlying_counts,
    rowCount: r.row_count, sha256: r.sha256, createdBy: r.created_by, updatedAt: iso(r.updated_at) ?? '',
    lineage: { sourceTable: r.source_table, queryId: r.query_id, querySha256: r.query_sha256, extractGeneration: r.extract_generation, permitVersion: r.permit_version, datasetVersions: json(r.dataset_versions) },
    ...(rows === undefined ? {} : { rows }),
  };
}

function toVote(r: VoteRow): Vote {
  return {
    id: r.id, reviewId: r.review_id, outputId: r.output_id, outputVersion: r.output_version, checkerId: r.checker_id, decision: r.decision,
    reasons: r.reasons as ReasonCode[], comment: r.comment, active: r.active, createdAt: iso(r.created_at) ?? '',
  };
}

function toRelease(r: ReleaseRow): Release {
  return { id: r.id, releasedAt: iso(r.released_at) ?? '', bundleSha256: r.bundle_sha256, bundleBytes: Number(r.bundle_bytes), signingKeyId: r.signing_key_id, outputs: json(r.outputs) };
}

const obj = (body: unknown): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('invalid', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
};

function onlyFields(b: Record<string, unknown>, allowed: readonly string[], example: string): void {
  const unknown = Object.keys(b).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new AppError('invalid', `unknown field(s): ${unknown.join(', ')}`, { hint: `the fields are ${allowed.join(', ')}, e.g. ${example}`, details: { field: unknown[0] } });
}

function text(b: Record<string, unknown>, field: string, o: { readonly required: boolean; readonly max?: number; readonly hint: string }): string | undefined {
  const v = b[field];
  if (v === undefined || v === null) {
    if (o.required) throw new AppError('invalid', `${field} is required`, { hint: o.hint, details: { field } });
    return undefined;
  }
  const max = o.max ?? MAX_TEXT;
  if (typeof v !== 'string' || (o.required && v.trim() === '') || v.length > max) {
    throw new AppError('invalid', `${field} must be ${o.required ? 'a non-empty' : 'a'} string of at most ${max} characters`, { hint: o.hint, details: { field } });
  }
  return v.trim();
}

/** Role overrides `{column: role}` and descriptions `{column: text}` of an output body, checked against the table's columns. */
function columnMap<T>(b: Record<string, unknown>, field: string, columns: readonly string[], check: (v: unknown, column: string) => T): Map<string, T> {
  const v = b[field];
  const out = new Map<string, T>();
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AppError('invalid', `${field} must be an object of column name → value`, { details: { field } });
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (!columns.includes(k)) throw new AppError('invalid', `${field}.${k}: the table has no column ${k}`, { hint: `its columns are ${columns.join(', ')}`, details: { field: `${field}.${k}` } });
    out.set(k, check(x, k));
  }
  return out;
}

/** The kind of a table from its columns' roles, unless the member said. */
function kindOf(roles: readonly ColumnRole[]): OutputKind {
  if (roles.includes('identifier')) return 'rows';
  if (roles.includes('coefficient')) return 'model';
  if (roles.includes('at_risk') || roles.includes('events')) return 'survival';
  if (roles.includes('numerator') || roles.includes('denominator')) return 'rate';
  if (roles.includes('magnitude')) return 'magnitude';
  return 'frequency';
}

/** An engine cell as the rules and the CSV see it: numbers for numeric columns, text otherwise. */
function cellOf(v: unknown, type: string): CellValue {
  if (v === null || v === undefined) return null;
  if (NUMERIC_TYPE.test(type)) {
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : typeof v === 'string' ? v : JSON.stringify(v);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return v;
  return JSON.stringify(v);
}

function seal(key: Buffer, aad: string, plain: string): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

function open(key: Buffer, aad: string, sealed: Uint8Array): string {
  const b = Buffer.from(sealed);
  const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(b.subarray(12, 28));
  return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
}

/** What a snapshot's ciphertext is bound to: a snapshot copied to another output or version fails to open. */
const aadOf = (outputId: string, version: number, sha256: string): string => `enclave-airlock-output/v1:${outputId}:${version}:${sha256}`;

/** A vote as the review body gives it, checked. */
interface VoteInput {
  readonly output: OutputRow;
  readonly decision: VoteDecision;
  readonly reasons: readonly ReasonCode[];
  readonly comment: string;
}

export class AirlockService {
  readonly #o: AirlockServiceOptions;
  readonly #db: Db;
  readonly #now: () => Date;
  readonly #maxRows: number;

  constructor(o: AirlockServiceOptions) {
    this.#o = o;
    this.#db = o.db;
    this.#now = o.now ?? (() => new Date());
    this.#maxRows = o.maxRows ?? DEFAULT_MAX_OUTPUT_ROWS;
  }

  /** The release-signing public key, as bundles name it and `enclave airlock verify --public-key` takes it. */
  signingKey(): { readonly keyId: string; readonly publicKey: string; readonly algorithm: 'Ed25519' } {
    return { keyId: this.#o.signer.keyId, publicKey: this.#o.signer.publicKey, algorithm: 'Ed25519' };
  }

  /** Runs `fn`; a refusal (forbidden) is recorded as a denied event of `action`, then rethrown. */
  async #guard<T>(p: Principal, action: string, target: string, requestId: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isAppError(e) && e.code === 'forbidden') {
        await this.#o.audit.record({ actor: actor(p), action, target, outcome: 'denied', details: { error: e.code, ...(typeof e.details?.['reason'] === 'string' ? { reason: e.details['reason'] } : {}) }, ...rid(requestId) });
      }
      throw e;
    }
  }

  async #project(projectId: string, q?: Queryable): Promise<AirlockProject> {
    if (!ID.test(projectId)) throw new AppError('not_found', `no project ${JSON.stringify(projectId.slice(0, 80))}`, { hint: 'check the project id' });
    const project = await this.#o.governance.project(projectId, q);
    if (project === null) throw new AppError('not_found', `no project ${projectId}`, { hint: 'check the project id' });
    return project;
  }

  async #request(q: Queryable, id: string, forUpdate = false): Promise<RequestRow> {
    if (!ID.test(id)) throw new AppError('not_found', `no release request ${JSON.stringify(id.slice(0, 80))}`, { hint: 'list requests: GET /api/v1/airlock/requests' });
    const rows = await q.query<RequestRow>(`SELECT * FROM airlock_requests WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no release request ${id}`, { hint: 'list requests: GET /api/v1/airlock/requests' });
    return r;
  }

  async #outputs(q: Queryable, requestId: string): Promise<OutputRow[]> {
    return q.query<OutputRow>('SELECT * FROM airlock_outputs WHERE request_id = $1 AND NOT removed ORDER BY created_at, name', [requestId]);
  }

  async #votes(q: Queryable, requestId: string): Promise<VoteRow[]> {
    return q.query<VoteRow>('SELECT * FROM airlock_votes WHERE request_id = $1 ORDER BY created_at, id', [requestId]);
  }

  /** A new version of the request: bumps it, keeps a copy of its context and outputs as they now stand. */
  async #newVersion(tx: AuditedTx, requestId: string, by: string): Promise<number> {
    const [r] = await tx.query<RequestRow>('UPDATE airlock_requests SET version = version + 1, updated_at = now() WHERE id = $1 RETURNING *', [requestId]);
    if (r === undefined) throw new AppError('internal', 'request vanished');
    const outputs = await this.#outputs(tx, requestId);
    const content = {
      title: r.title, description: r.description, population: r.population,
      outputs: outputs.map((o) => ({ id: o.id, name: o.name, version: o.version, sha256: o.sha256, sourceTable: o.source_table, kind: o.kind, description: o.description, underlyingCounts: o.underlying_counts, columns: json(o.columns) })),
    };
    await tx.query('INSERT INTO airlock_request_versions (request_id, version, status, content, changed_by) VALUES ($1, $2, $3, $4::jsonb, $5)', [requestId, r.version, r.status, JSON.stringify(content), by]);
    tx.addDetails({ requestVersion: r.version });
    return r.version;
  }

  /** A project member files a release request (a draft, with its context). */
  async createRequest(p: Principal, body: unknown, requestId?: string): Promise<RequestDetail> {
    const b = obj(body);
    onlyFields(b, ['projectId', 'title', 'description', 'population'], '{"projectId", "title", "description", "population"}');
    const projectId = text(b, 'projectId', { required: true, max: 64, hint: 'the project whose workspace made the outputs' }) ?? '';
    const title = text(b, 'title', { required: true, max: 200, hint: 'e.g. "Statin users by department, 2019–2023"' }) ?? '';
    const description = text(b, 'description', { required: true, hint: 'what the outputs are and what they are for' }) ?? '';
    const population = text(b, 'population', { required: true, hint: 'who is counted: e.g. "people aged 50+ with ≥ 1 statin dispensing in 2019–2023"' }) ?? '';
    const id = randomUUID();
    return this.#guard(p, 'airlock.request.create', `project:${projectId}`, requestId, async () => {
      const project = await this.#project(projectId);
      assertCanCreateRequest(p, project);
      const checkersRequired = Math.max(MIN_CHECKERS, checkersOf(project.permit?.disclosure));
      await this.#o.audit.transaction({ actor: actor(p), action: 'airlock.request.create', target: `airlock-request:${id}`, details: { project: projectId }, ...rid(requestId) }, async (tx) => {
        await tx.query(
          "INSERT INTO airlock_requests (id, project_id, version, status, title, description, population, created_by, checkers_required) VALUES ($1, $2, 0, 'draft', $3, $4, $5, $6, $7)",
          [id, projectId, title, description, population, p.personId, checkersRequired],
        );
        await this.#newVersion(tx, id, p.personId);
      });
      return this.get(p, id, requestId);
    });
  }

  /** A member changes the request's context (draft, or returned for changes): every vote standing is set aside. */
  async updateRequest(p: Principal, id: string, body: unknown, requestId?: string): Promise<RequestDetail> {
    const b = obj(body);
    onlyFields(b, ['title', 'description', 'population'], '{"description": "…"}');
    const title = text(b, 'title', { required: false, max: 200, hint: 'a short title' });
    const description = text(b, 'description', { required: false, hint: 'what the outputs are and what they are for' });
    const population = text(b, 'population', { required: false, hint: 'who is counted' });
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    await this.#guard(p, 'airlock.request.update', `airlock-request:${id}`, requestId, () =>
      this.#o.audit.transaction({ actor: actor(p), action: 'airlock.request.update', target: `airlock-request:${id}`, details: { fields: Object.keys(b) }, ...rid(requestId) }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'edit');
        await tx.query('UPDATE airlock_requests SET title = $2, description = $3, population = $4 WHERE id = $1', [id, title ?? r.title, description ?? r.description, population ?? r.population]);
        // The checkers judged the outputs in their context (and the ledger hashes the population):
        // a new context sets their votes aside, as a changed output does.
        const reset = await tx.query('UPDATE airlock_votes SET active = false WHERE request_id = $1 AND active RETURNING id', [id]);
        tx.addDetails({ votesReset: reset.length });
        await this.#newVersion(tx, id, p.personId);
      }));
    return this.get(p, id, requestId);
  }

  /**
   * Reads a saved table through the workspace (the member must be named in the permit in force)
   * and builds the output's snapshot: rows, roles, SHA-256 of its CSV, lineage, sealed rows.
   */
  async #snapshot(p: Principal, project: AirlockProject, outputId: string, version: number, b: Record<string, unknown>, prev: OutputRow | null, requestId: string | undefined) {
    const table = text(b, 'table', { required: prev === null, max: 63, hint: 'the saved table of the workspace, e.g. {"table": "statin_by_dept"}' }) ?? prev?.source_table ?? '';
    const t = await this.#o.workspace.readSavedTable(p, project.id, table, { maxRows: this.#maxRows }, requestId);
    if (t.truncated) {
      throw new AppError('invalid', `table ${table} has more than ${this.#maxRows} rows: outputs are aggregates`, { hint: 'aggregate further (GROUP BY) and save the result as a table', details: { field: 'table' } });
    }
    const names = t.columns.map((c) => c.name);
    if (new Set(names).size !== names.length) throw new AppError('invalid', `table ${table} has two columns of the same name`, { hint: 'alias the columns (AS) so each name is unique', details: { field: 'table' } });
    const roles = columnMap(b, 'roles', names, (v, c) => {
      if (typeof v !== 'string' || !(COLUMN_ROLES as readonly string[]).includes(v)) throw new AppError('invalid', `roles.${c} must be one of ${COLUMN_ROLES.join(', ')}`, { details: { field: `roles.${c}` } });
      return v as ColumnRole;
    });
    const descriptions = columnMap(b, 'variables', names, (v, c) => {
      if (typeof v !== 'string' || v.length > 2000) throw new AppError('invalid', `variables.${c} must be the variable's definition, a string of at most 2000 characters`, { details: { field: `variables.${c}` } });
      return v;
    });
    const prevColumns = prev === null ? [] : json(prev.columns);
    const columns: OutputColumnInfo[] = t.columns.map((c) => {
      const old = prevColumns.find((x) => x.name === c.name);
      return { name: c.name, type: c.type, role: roles.get(c.name) ?? old?.role ?? inferRole(c.name), description: descriptions.get(c.name) ?? old?.description ?? '' };
    });
    const kindIn = b['kind'];
    if (kindIn !== undefined && (typeof kindIn !== 'string' || !(OUTPUT_KINDS as readonly string[]).includes(kindIn))) {
      throw new AppError('invalid', `kind must be one of ${OUTPUT_KINDS.join(', ')}`, { hint: 'frequency (counts), magnitude (sums, means), rate, model, survival', details: { field: 'kind' } });
    }
    const kind = (kindIn as OutputKind | undefined) ?? (prev !== null && roles.size === 0 ? prev.kind : kindOf(columns.map((c) => c.role)));
    const rows = t.rows.map((r) => r.map((v, j) => cellOf(v, t.columns[j]?.type ?? '')));
    const csv = outputCsv(names, rows);
    const sha256 = sha256Hex(csv);
    const sealed = await this.#o.keys.withDataKey('project', project.id, 'encryption', async (key) => seal(key, aadOf(outputId, version, sha256), JSON.stringify(rows)));
    return {
      table, columns, kind, rows, sha256, sealed,
      queryId: t.query?.id ?? null, querySha256: t.query === null ? null : sha256Hex(t.query.sql),
      extractGeneration: t.extract.generation, permitVersion: t.extract.permitVersion,
      datasetVersions: t.extract.datasetVersions.map((d) => `${d.dataset}@${d.version}`),
      pseudonymColumns: t.pseudonymColumns,
    };
  }

  /** A member adds a saved table of the workspace as an output of the request. */
  async addOutput(p: Principal, id: string, body: unknown, requestId?: string): Promise<RequestDetail> {
    const b = obj(body);
    onlyFields(b, ['table', 'name', 'description', 'kind', 'roles', 'variables', 'underlyingCounts'], '{"table": "statin_by_dept", "description": "…", "variables": {"n": "people with ≥ 1 dispensing"}}');
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    return this.#guard(p, 'airlock.output.add', `airlock-request:${id}`, requestId, async () => {
      assertCanAct(p, project, facts(before), 'edit');
      const description = text(b, 'description', { required: true, hint: 'what the table shows' }) ?? '';
      const underlying = text(b, 'underlyingCounts', { required: false, hint: 'for each magnitude or rate, the counts it is computed from' }) ?? '';
      const outputId = randomUUID();
      const snap = await this.#snapshot(p, project, outputId, 1, b, null, requestId);
      const name = text(b, 'name', { required: false, max: 63, hint: 'a lower-case name, e.g. statin_by_dept' }) ?? snap.table;
      if (!OUTPUT_NAME.test(name)) throw new AppError('invalid', `name must be a lower-case identifier (letters, digits, _), got ${JSON.stringify(name.slice(0, 80))}`, { details: { field: 'name' } });
      await this.#o.audit.transaction({
        actor: actor(p), action: 'airlock.output.add', target: `airlock-request:${id}`,
        details: { output: outputId, name, table: snap.table, rows: snap.rows.length, sha256: snap.sha256, ...(snap.querySha256 === null ? {} : { querySha256: snap.querySha256 }) }, ...rid(requestId),
      }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'edit');
        const n = await tx.query<{ n: string | number }>('SELECT count(*) AS n FROM airlock_outputs WHERE request_id = $1 AND NOT removed', [id]);
        if (Number(n[0]?.n ?? 0) >= MAX_OUTPUTS_PER_REQUEST) throw new AppError('conflict', `a request holds at most ${MAX_OUTPUTS_PER_REQUEST} outputs`, { hint: 'split the outputs into several requests' });
        const taken = await tx.query('SELECT 1 FROM airlock_outputs WHERE request_id = $1 AND name = $2 AND NOT removed', [id, name]);
        if (taken.length > 0) throw new AppError('conflict', `the request already has an output named ${name}`, { hint: 'give this one another name ("name"), or change the existing output', details: { field: 'name' } });
        await tx.query(
          `INSERT INTO airlock_outputs (id, request_id, name, version, source_table, kind, columns, description, underlying_counts, row_count, sha256, query_id, query_sha256,
             extract_generation, permit_version, dataset_versions, key_id, snapshot, created_by, pseudonym_columns)
           VALUES ($1, $2, $3, 1, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16, $17, $18, $19::jsonb)`,
          [outputId, id, name, snap.table, snap.kind, JSON.stringify(snap.columns), description, underlying, snap.rows.length, snap.sha256, snap.queryId, snap.querySha256,
            snap.extractGeneration, snap.permitVersion, JSON.stringify(snap.datasetVersions), `project:${project.id}/encryption`, snap.sealed, p.personId, JSON.stringify(snap.pseudonymColumns)],
        );
        await this.#newVersion(tx, id, p.personId);
      });
      return this.get(p, id, requestId);
    });
  }

  /**
   * A member changes an output: its context, roles, or its rows read again from the saved table
   * (`"refresh": true`, or a new `"table"`). Its version goes up and every vote on it is set aside.
   */
  async updateOutput(p: Principal, id: string, outputId: string, body: unknown, requestId?: string): Promise<RequestDetail> {
    const b = obj(body);
    onlyFields(b, ['table', 'refresh', 'description', 'kind', 'roles', 'variables', 'underlyingCounts'], '{"refresh": true} or {"description": "…"}');
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    return this.#guard(p, 'airlock.output.update', `airlock-request:${id}`, requestId, async () => {
      assertCanAct(p, project, facts(before), 'edit');
      const prev = (await this.#outputs(this.#db, id)).find((o) => o.id === outputId);
      if (prev === undefined) throw new AppError('not_found', `no output ${outputId.slice(0, 80)} in this request`, { hint: 'GET the request to see its outputs' });
      const description = text(b, 'description', { required: false, hint: 'what the table shows' }) ?? prev.description;
      const underlying = text(b, 'underlyingCounts', { required: false, hint: 'for each magnitude or rate, the counts it is computed from' }) ?? prev.underlying_counts;
      if (b['refresh'] !== undefined && typeof b['refresh'] !== 'boolean') throw new AppError('invalid', 'refresh must be true or false', { details: { field: 'refresh' } });
      const version = prev.version + 1;
      // Every change re-reads the rows (and re-seals them under the new version): the checkers
      // then see exactly what the member sees now, and the context never drifts from the rows.
      const snap = await this.#snapshot(p, project, outputId, version, b, prev, requestId);
      await this.#o.audit.transaction({
        actor: actor(p), action: 'airlock.output.update', target: `airlock-request:${id}`,
        details: { output: outputId, name: prev.name, version, rows: snap.rows.length, sha256: snap.sha256, previousSha256: prev.sha256 }, ...rid(requestId),
      }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'edit');
        const upd = await tx.query(
          `UPDATE airlock_outputs SET version = $3, source_table = $4, kind = $5, columns = $6::jsonb, description = $7, underlying_counts = $8, row_count = $9, sha256 = $10,
             query_id = $11, query_sha256 = $12, extract_generation = $13, permit_version = $14, dataset_versions = $15::jsonb, snapshot = $16, pseudonym_columns = $18::jsonb, updated_at = now()
           WHERE id = $1 AND request_id = $2 AND version = $17 AND NOT removed RETURNING id`,
          [outputId, id, version, snap.table, snap.kind, JSON.stringify(snap.columns), description, underlying, snap.rows.length, snap.sha256, snap.queryId, snap.querySha256,
            snap.extractGeneration, snap.permitVersion, JSON.stringify(snap.datasetVersions), snap.sealed, prev.version, JSON.stringify(snap.pseudonymColumns)],
        );
        if (upd.length === 0) throw new AppError('conflict', 'the output changed meanwhile', { hint: 'reload the request and try again' });
        const reset = await tx.query('UPDATE airlock_votes SET active = false WHERE output_id = $1 AND active RETURNING id', [outputId]);
        tx.addDetails({ votesReset: reset.length });
        await this.#newVersion(tx, id, p.personId);
      });
      return this.get(p, id, requestId);
    });
  }

  async removeOutput(p: Principal, id: string, outputId: string, requestId?: string): Promise<RequestDetail> {
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    await this.#guard(p, 'airlock.output.remove', `airlock-request:${id}`, requestId, () =>
      this.#o.audit.transaction({ actor: actor(p), action: 'airlock.output.remove', target: `airlock-request:${id}`, details: { output: outputId.slice(0, 80) }, ...rid(requestId) }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'edit');
        const rows = await tx.query('UPDATE airlock_outputs SET removed = true, updated_at = now() WHERE id = $1 AND request_id = $2 AND NOT removed RETURNING id', [outputId, id]);
        if (rows.length === 0) throw new AppError('not_found', `no output ${outputId.slice(0, 80)} in this request`, { hint: 'GET the request to see its outputs' });
        await tx.query('UPDATE airlock_votes SET active = false WHERE output_id = $1 AND active', [outputId]);
        await this.#newVersion(tx, id, p.personId);
      }));
    return this.get(p, id, requestId);
  }

  /** The rows of outputs, opened with the project's key (outside any transaction: the key service reads the database). */
  async #rows(projectId: string, outputs: readonly OutputRow[]): Promise<Map<string, CellValue[][]>> {
    const out = new Map<string, CellValue[][]>();
    if (outputs.length === 0) return out;
    await this.#o.keys.withDataKey('project', projectId, 'encryption', async (key) => {
      for (const o of outputs) {
        try {
          out.set(o.id, JSON.parse(open(key, aadOf(o.id, o.version, o.sha256), o.snapshot)) as CellValue[][]);
        } catch {
          throw new AppError('integrity', `the snapshot of output ${o.name} does not open with the project's key`, { hint: 'the snapshot was changed or moved: tell the platform operator' });
        }
      }
    });
    return out;
  }

  #tables(r: RequestRow, outputs: readonly OutputRow[], rows: ReadonlyMap<string, CellValue[][]>): OutputTable[] {
    return outputs.map((o) => ({
      name: o.name, kind: o.kind, columns: json(o.columns).map((c) => ({ name: c.name, role: c.role })), rows: rows.get(o.id) ?? [],
      population: r.population, datasetVersions: json(o.dataset_versions),
    }));
  }

  /** The ledger cells on the same base as these outputs (any project: differencing across projects). */
  async #ledger(q: Queryable, datasetVersions: readonly string[]): Promise<LedgerCell[]> {
    if (datasetVersions.length === 0) return [];
    const rows = await q.query<{ release_id: string; project_id: string; output_name: string; population_hash: string; dataset_versions: string[] | string; dimensions: Record<string, string> | string; measure: string; count: string | number }>(
      'SELECT * FROM airlock_ledger l WHERE EXISTS (SELECT 1 FROM jsonb_array_elements_text(l.dataset_versions) d WHERE d = ANY($1::text[])) ORDER BY released_at, release_id', [datasetVersions],
    );
    return rows.map((r) => ({
      projectId: r.project_id, releaseId: r.release_id, outputName: r.output_name, populationHash: r.population_hash, datasetVersions: json(r.dataset_versions),
      dimensions: json(r.dimensions), measure: r.measure, count: Number(r.count),
    }));
  }

  /** The permit's thresholds, with the extract's pseudonym columns blocked by name beside the built-in list. */
  #rules(project: AirlockProject, outputs: readonly OutputRow[]): DisclosureRules {
    const rules = rulesFrom(project.permit?.disclosure ?? {}, `the permit of project ${project.id}`);
    return withCatalogIdentifiers(rules, outputs.flatMap((o) => json(o.pseudonym_columns).map((name) => ({ name, sensitivity: 'pseudonym' as const }))));
  }

  /** The member submits: the disclosure report is computed (rules and ledger) and kept for the checkers. */
  async submit(p: Principal, id: string, requestId?: string): Promise<RequestDetail> {
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    return this.#guard(p, 'airlock.request.submit', `airlock-request:${id}`, requestId, async () => {
      assertCanAct(p, project, facts(before), 'submit');
      const outputs = await this.#outputs(this.#db, id);
      if (outputs.length === 0) throw new AppError('conflict', 'the request has no output to release', { hint: 'add a saved table first: POST .../outputs {"table": …}' });
      const undescribed = outputs.filter((o) => o.description.trim() === '');
      if (undescribed.length > 0) throw new AppError('invalid', `output ${undescribed[0]?.name ?? ''} has no description`, { hint: 'describe what each table shows', details: { field: 'description' } });
      const rows = await this.#rows(project.id, outputs);
      const tables = this.#tables(before, outputs, rows);
      const ledger = await this.#ledger(this.#db, [...new Set(outputs.flatMap((o) => json(o.dataset_versions)))]);
      const report = checkOutputs(tables, this.#rules(project, outputs), ledger, { projectId: project.id });
      const sha = reportSha256(report);
      await this.#o.audit.transaction({
        actor: actor(p), action: 'airlock.request.submit', target: `airlock-request:${id}`,
        details: { outputs: outputs.length, reportSha256: sha, reportStatus: report.summary.status, blocks: report.summary.blocks, reviews: report.summary.reviews, cellsChecked: report.summary.cellsChecked }, ...rid(requestId),
      }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'submit');
        if (r.version !== before.version) throw new AppError('conflict', 'the request changed while its report was computed', { hint: 'submit again' });
        // A return asked for changes: resubmitting answers it, so returns no longer stand; approvals of unchanged outputs do.
        await tx.query("UPDATE airlock_votes SET active = false WHERE request_id = $1 AND active AND decision = 'return'", [id]);
        await tx.query("UPDATE airlock_requests SET status = 'submitted', submitted_at = now(), report = $2::jsonb, report_sha256 = $3 WHERE id = $1", [id, JSON.stringify(report), sha]);
        tx.addDetails({ from: r.status, to: 'submitted' });
        await this.#newVersion(tx, id, p.personId);
      });
      return this.get(p, id, requestId);
    });
  }

  async withdraw(p: Principal, id: string, requestId?: string): Promise<RequestDetail> {
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    await this.#guard(p, 'airlock.request.withdraw', `airlock-request:${id}`, requestId, () =>
      this.#o.audit.transaction({ actor: actor(p), action: 'airlock.request.withdraw', target: `airlock-request:${id}`, ...rid(requestId) }, async (tx) => {
        const r = await this.#request(tx, id, true);
        assertCanAct(p, project, facts(r), 'withdraw');
        await tx.query("UPDATE airlock_requests SET status = 'withdrawn', decided_at = now() WHERE id = $1", [id]);
        tx.addDetails({ from: r.status, to: 'withdrawn' });
        await this.#newVersion(tx, id, p.personId);
      }));
    return this.get(p, id, requestId);
  }

  /** Checks a review body against the request's current outputs. */
  #parseVotes(body: unknown, outputs: readonly OutputRow[], report: DisclosureReport | null): VoteInput[] {
    const b = obj(body);
    onlyFields(b, ['votes'], '{"votes": [{"output": "statin_by_dept", "decision": "approve", "reasons": ["rules_clean"], "comment": ""}]}');
    const list = b['votes'];
    if (!Array.isArray(list) || list.length === 0) throw new AppError('invalid', 'votes must be a non-empty list, one per output', { hint: '{"votes": [{"output": "<name or id>", "decision": "approve" | "return" | "reject", "reasons": [...], "comment": "..."}]}', details: { field: 'votes' } });
    const seen = new Set<string>();
    return list.map((x, i): VoteInput => {
      const field = `votes[${i}]`;
      if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new AppError('invalid', `${field} must be an object`, { details: { field } });
      const v = x as Record<string, unknown>;
      onlyFields(v, ['output', 'decision', 'reasons', 'comment'], '{"output", "decision", "reasons", "comment"}');
      const output = outputs.find((o) => o.id === v['output'] || o.name === v['output']);
      if (output === undefined) throw new AppError('invalid', `${field}.output: the request has no output ${JSON.stringify(String(v['output']).slice(0, 80))}`, { hint: `its outputs are ${outputs.map((o) => o.name).join(', ')}`, details: { field: `${field}.output` } });
      if (seen.has(output.id)) throw new AppError('invalid', `${field}: output ${output.name} has two votes`, { details: { field: `${field}.output` } });
      seen.add(output.id);
      const decision = v['decision'];
      if (typeof decision !== 'string' || !(VOTE_DECISIONS as readonly string[]).includes(decision)) throw new AppError('invalid', `${field}.decision must be approve, return or reject`, { details: { field: `${field}.decision` } });
      const d = decision as VoteDecision;
      const codes: readonly string[] = REASON_CODES[d];
      const reasons = v['reasons'];
      if (!Array.isArray(reasons) || reasons.length === 0 || reasons.some((r) => typeof r !== 'string' || !codes.includes(r))) {
        throw new AppError('invalid', `${field}.reasons must list one or more reason codes of a ${d}: ${codes.join(', ')}`, { details: { field: `${field}.reasons` } });
      }
      const comment = v['comment'] ?? '';
      if (typeof comment !== 'string' || comment.length > MAX_TEXT) throw new AppError('invalid', `${field}.comment must be a string of at most ${MAX_TEXT} characters`, { details: { field: `${field}.comment` } });
      if ((d !== 'approve' || reasons.includes('other')) && comment.trim() === '') {
        throw new AppError('invalid', `${field}.comment is required ${d === 'approve' ? 'with the reason "other"' : `to ${d}`}: say what is wrong and what would fix it`, { details: { field: `${field}.comment` } });
      }
      const r = report?.outputs.find((o) => o.name === output.name);
      if (d === 'approve' && r?.status === 'blocked') {
        throw new AppError('disclosure_blocked', `output ${output.name} is blocked by the disclosure rules (${[...new Set(r.flags.filter((f) => f.severity === 'block').map((f) => f.rule))].join(', ')}): it cannot be approved as it stands`, {
          hint: 'return it for changes (reason apply_safe_version: the report proposes a safe version), or reject it', details: { field: `${field}.decision` },
        });
      }
      if (d === 'approve' && r?.status === 'review' && !reasons.includes('flags_reviewed_safe')) {
        throw new AppError('invalid', `output ${output.name} has cells flagged for review: approving it needs the reason flags_reviewed_safe (and a comment saying why)`, { details: { field: `${field}.reasons` } });
      }
      return { output, decision: d, reasons: reasons as ReasonCode[], comment: comment.trim() };
    });
  }

  /**
   * Whether this checker chose the checkers: they granted or removed the output_checker role
   * (proposing or approving) since the request was submitted, or the role of another checker
   * whose vote stands on it was changed by them, or theirs by that checker, at any time.
   */
  async #changedCheckers(q: Queryable, p: Principal, r: RequestRow, standing: readonly VoteRow[]): Promise<boolean> {
    if (!p.roles.has('output_checker')) return false;
    if (r.submitted_at !== null && await this.#o.governance.changedRolesSince(q, p.personId, CHECKER_ROLES, new Date(r.submitted_at))) return true;
    const others = [...new Set(standing.map((v) => v.checker_id).filter((c) => c !== p.personId))];
    return this.#o.governance.changedRolesBetween(q, p.personId, others, CHECKER_ROLES);
  }

  /**
   * An output checker votes on the outputs they have not voted on as they stand. Once every
   * output has its distinct approvals the request is released in the same transaction: files
   * stored under their SHA-256, cells written to the ledger, the bundle signed and stored.
   */
  async review(p: Principal, id: string, body: unknown, requestId?: string): Promise<RequestDetail> {
    const before = await this.#request(this.#db, id);
    const project = await this.#project(before.project_id);
    return this.#guard(p, 'airlock.request.review', `airlock-request:${id}`, requestId, async () => {
      const votesBefore = (await this.#votes(this.#db, id)).filter((v) => v.active);
      const changed = await this.#changedCheckers(this.#db, p, before, votesBefore);
      const outputs = await this.#outputs(this.#db, id);
      const open = outputs.filter((o) => !votesBefore.some((v) => v.output_id === o.id && v.checker_id === p.personId));
      assertCanReview(p, project, facts(before), { changedCheckers: changed, alreadyVoted: open.length === 0 });
      const report = before.report === null ? null : json(before.report);
      const votes = this.#parseVotes(body, outputs, report);
      const voted = new Set(votes.map((v) => v.output.id));
      const repeat = votes.find((v) => !open.some((o) => o.id === v.output.id));
      if (repeat !== undefined) throw new AppError('conflict', `four eyes: you have already voted on output ${repeat.output.name} as it stands`, { hint: 'the other votes need other checkers', details: { reason: 'already_voted' } });
      const missing = open.filter((o) => !voted.has(o.id));
      if (missing.length > 0) throw new AppError('invalid', `a review covers every output you have not voted on: missing ${missing.map((o) => o.name).join(', ')}`, { details: { field: 'votes' } });
      // Opened before the transaction (the key service reads the database): used only if this review releases.
      const rows = await this.#rows(project.id, outputs);
      const reviewId = randomUUID();
      await this.#o.audit.transaction({
        actor: actor(p), action: 'airlock.request.review', target: `airlock-request:${id}`,
        details: { review: reviewId, votes: votes.map((v) => ({ output: v.output.name, version: v.output.version, decision: v.decision, reasons: [...v.reasons] })) }, ...rid(requestId),
      }, async (tx) => {
        const r = await this.#request(tx, id, true);
        // Another checker's vote may have come in meanwhile (votes are counted again below, under
        // the request's lock); outputs that changed since they were read may not be voted on.
        const now = await this.#outputs(tx, id);
        const same = now.length === outputs.length && now.every((o) => outputs.some((x) => x.id === o.id && x.version === o.version));
        if (!same) throw new AppError('conflict', 'the request\'s outputs changed while you reviewed them', { hint: 'reload it and review again' });
        const standing = (await this.#votes(tx, id)).filter((v) => v.active);
        const changedNow = await this.#changedCheckers(tx, p, r, standing);
        assertCanReview(p, project, facts(r), { changedCheckers: changedNow, alreadyVoted: votes.some((v) => standing.some((s) => s.output_id === v.output.id && s.checker_id === p.personId)) });
        for (const v of votes) {
          await tx.query(
            'INSERT INTO airlock_votes (id, request_id, output_id, output_version, review_id, checker_id, decision, reasons, comment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
            [randomUUID(), id, v.output.id, v.output.version, reviewId, p.personId, v.decision, [...v.reasons], v.comment],
          );
        }
        const all = (await this.#votes(tx, id)).filter((v) => v.active);
        const to = statusAfterVotes(outputs.map((o) => ({ votes: all.filter((v) => v.output_id === o.id).map((v) => ({ checkerId: v.checker_id, decision: v.decision })) })), r.checkers_required);
        if (to === 'released') await this.#release(tx, r, project, outputs, rows, all);
        await tx.query(`UPDATE airlock_requests SET status = $2${to === 'in_review' ? '' : ', decided_at = now()'} WHERE id = $1`, [id, to]);
        tx.addDetails({ from: r.status, to });
        await this.#newVersion(tx, id, p.personId);
      });
      return this.get(p, id, requestId);
    });
  }

  /**
   * Release, inside the transaction of the last approval: the ledger is checked again (a release
   * approved since the submission may now difference with these outputs), files are written under
   * their SHA-256 (an existing object of that name holds the same bytes and is kept), the ledger
   * gets every count cell with its lineage, and the signed bundle is stored.
   */
  async #release(tx: AuditedTx, r: RequestRow, project: AirlockProject, outputs: readonly OutputRow[], rows: ReadonlyMap<string, CellValue[][]>, votes: readonly VoteRow[]): Promise<void> {
    const tables = this.#tables(r, outputs, rows);
    const rules = this.#rules(project, outputs);
    const bases = [...new Set(outputs.flatMap((o) => json(o.dataset_versions)))];
    const ledger = await this.#ledger(tx, bases);
    const known = new Set(((r.report === null ? null : json(r.report))?.outputs ?? []).flatMap((o) => o.flags.filter((f) => f.rule === 'differencing').map((f) => `${f.output}|${f.other?.releaseId ?? ''}|${f.cell?.row ?? ''}|${f.cell?.column ?? ''}`)));
    const fresh = checkLedger(tables, rules, ledger, { projectId: project.id }).filter((f) => f.severity === 'block' && !known.has(`${f.output}|${f.other?.releaseId ?? ''}|${f.cell?.row ?? ''}|${f.cell?.column ?? ''}`));
    if (fresh.length > 0) {
      throw new AppError('disclosure_blocked', `a release approved since this request was submitted differences with it (${fresh.length} cell(s), e.g. output ${fresh[0]?.output ?? ''} against release ${fresh[0]?.other?.releaseId ?? ''})`, {
        hint: 'return the request for changes: the member resubmits and the new report shows the conflict', details: { reason: 'ledger_changed' },
      });
    }
    const releaseId = randomUUID();
    const releasedAt = this.#now().toISOString();
    const files: Record<string, string> = {};
    const stored: { outputId: string; name: string; sha256: string; key: string; bytes: number }[] = [];
    const bundleOutputs: BundleOutput[] = [];
    for (const o of outputs) {
      const cols = json(o.columns);
      const csv = outputCsv(cols.map((c) => c.name), rows.get(o.id) ?? []);
      const sha = sha256Hex(csv);
      if (sha !== o.sha256) throw new AppError('integrity', `output ${o.name}: its rows no longer hash to the SHA-256 recorded when it was added`, { hint: 'tell the platform operator' });
      const key = `airlock/outputs/${sha}.csv`;
      await this.#putOnce(key, csv);
      const file = `${o.name}.csv`;
      files[file] = csv;
      stored.push({ outputId: o.id, name: o.name, sha256: sha, key, bytes: Buffer.byteLength(csv) });
      bundleOutputs.push({
        outputId: o.id, name: o.name, version: o.version, file, sha256: sha, bytes: Buffer.byteLength(csv), rows: o.row_count, kind: o.kind, columns: cols,
        description: o.description, underlyingCounts: o.underlying_counts,
        lineage: { sourceTable: o.source_table, querySha256: o.query_sha256, extractGeneration: o.extract_generation, permitVersion: o.permit_version, datasetVersions: json(o.dataset_versions), population: r.population },
      });
    }
    const report = r.report === null ? null : json(r.report);
    if (report === null || r.report_sha256 === null) throw new AppError('internal', 'a submitted request has no report');
    const decisions: BundleDecision[] = votes.map((v) => ({
      checkerId: v.checker_id, outputName: outputs.find((o) => o.id === v.output_id)?.name ?? v.output_id, outputVersion: v.output_version, decision: v.decision,
      reasons: v.reasons, comment: v.comment, at: iso(v.created_at) ?? '',
    }));
    const manifest: BundleManifest = {
      releaseId, requestId: r.id, requestVersion: r.version + 1, projectId: project.id, title: r.title, description: r.description, population: r.population,
      requestedBy: r.created_by, submittedAt: iso(r.submitted_at) ?? '', releasedAt, checkersRequired: r.checkers_required,
      outputs: bundleOutputs, report, reportSha256: r.report_sha256, decisions, signingKey: { keyId: this.#o.signer.keyId, publicKey: this.#o.signer.publicKey },
    };
    const bundle = buildBundle(manifest, files, this.#o.signer.privateKey);
    const bundleSha = sha256Hex(bundle);
    const bundleKey = `airlock/bundles/${bundleSha}.json`;
    await this.#putOnce(bundleKey, bundle);
    await tx.query(
      'INSERT INTO airlock_releases (id, request_id, project_id, released_at, bundle_sha256, bundle_key, bundle_bytes, signing_key_id, outputs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)',
      [releaseId, r.id, project.id, releasedAt, bundleSha, bundleKey, Buffer.byteLength(bundle), this.#o.signer.keyId, JSON.stringify(stored.map(({ outputId, name, sha256, bytes }) => ({ outputId, name, sha256, bytes })))],
    );
    let cells = 0;
    for (const [i, o] of outputs.entries()) {
      const t = tables[i];
      if (t === undefined) continue;
      for (const c of ledgerCellsOf(t, { projectId: project.id, releaseId })) {
        await tx.query(
          'INSERT INTO airlock_ledger (release_id, project_id, output_name, population_hash, dataset_versions, dimensions, measure, count, query_sha256, extract_generation, released_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11)',
          [releaseId, project.id, c.outputName, c.populationHash || populationHash(r.population), JSON.stringify(c.datasetVersions), JSON.stringify(c.dimensions), c.measure, c.count, o.query_sha256, o.extract_generation, releasedAt],
        );
        cells++;
      }
    }
    tx.addDetails({ releaseId, bundleSha256: bundleSha, signingKeyId: this.#o.signer.keyId, ledgerCells: cells, files: stored.map((s) => ({ output: s.name, sha256: s.sha256 })) });
  }

  /** Writes an object under a content-addressed key, never over an existing one (which then holds the same bytes). */
  async #putOnce(key: string, content: string): Promise<void> {
    if (await this.#o.store.exists(key)) return;
    await this.#o.store.write(key, Readable.from([Buffer.from(content, 'utf8')]));
  }

  /** Requests this person may see: a project's (members), or the checkers' queue (submitted and under review). */
  async list(p: Principal, o: { readonly projectId?: string; readonly status?: string } = {}, requestId?: string): Promise<ReleaseRequest[]> {
    if (o.projectId !== undefined) {
      const project = await this.#project(o.projectId);
      const member = isProjectMember(p, project) && (p.projectScope === null || p.projectScope === project.id);
      const oversight = (p.roles.has('output_checker') || p.roles.has('auditor')) && p.projectScope === null;
      if (!member && !oversight) {
        return this.#guard(p, 'airlock.request.list', `project:${project.id}`, requestId, async () => {
          throw new AppError('forbidden', 'only the project\'s members, output checkers and auditors see its release requests', { hint: 'ask the principal investigator to add you to the team', details: { reason: 'not_member' } });
        });
      }
      const rows = await this.#db.query<RequestRow>('SELECT * FROM airlock_requests WHERE project_id = $1 ORDER BY created_at DESC, id', [project.id]);
      return rows.filter((r) => canViewRequest(p, project, facts(r)) && (o.status === undefined || r.status === o.status)).map(toRequest);
    }
    if (!(p.roles.has('output_checker') || p.roles.has('auditor')) || p.projectScope !== null) {
      throw new AppError('invalid', 'say which project: ?projectId=…', { hint: 'the queue of all requests is for output checkers and auditors', details: { field: 'projectId' } });
    }
    const status = o.status ?? null;
    const rows = await this.#db.query<RequestRow>(
      "SELECT * FROM airlock_requests WHERE status <> 'draft' AND ($1::text IS NULL OR status = $1) ORDER BY submitted_at DESC NULLS LAST, id LIMIT 500", [status],
    );
    return rows.map(toRequest);
  }

  /** A request with its outputs (rows included), the report, votes, release and what this caller may do. */
  async get(p: Principal, id: string, requestId?: string): Promise<RequestDetail> {
    const r = await this.#request(this.#db, id);
    const project = await this.#project(r.project_id);
    await this.#guard(p, 'airlock.request.view', `airlock-request:${id}`, requestId, async () => assertCanViewRequest(p, project, facts(r)));
    const outputs = await this.#outputs(this.#db, id);
    // The rows are for the people who decide on them: the project's members and the checkers (not
    // auditors, who see the request, its report and its votes). Rows of a closed project's
    // snapshots are gone with its keys (crypto-shredding): shown without rows then.
    const seesRows = (isProjectMember(p, project) && (p.projectScope === null || p.projectScope === project.id)) || (p.roles.has('output_checker') && p.projectScope === null);
    const rows = seesRows ? await this.#rows(project.id, outputs).catch(() => new Map<string, CellValue[][]>()) : new Map<string, CellValue[][]>();
    const votes = (await this.#votes(this.#db, id)).map(toVote);
    const rel = await this.#db.query<ReleaseRow>('SELECT * FROM airlock_releases WHERE request_id = $1', [id]);
    const changed = await this.#changedCheckers(this.#db, p, r, (await this.#votes(this.#db, id)).filter((v) => v.active));
    const openForMe = outputs.filter((o) => !votes.some((v) => v.active && v.outputId === o.id && v.checkerId === p.personId));
    const actions = REQUEST_ACTION_NAMES.filter((a: RequestActionName) => (a === 'review' ? canReview(p, project, facts(r), { changedCheckers: changed, alreadyVoted: openForMe.length === 0 }) : canAct(p, project, facts(r), a)));
    const approvalsNeeded: Record<string, number> = {};
    for (const o of outputs) {
      const approvers = new Set(votes.filter((v) => v.active && v.outputId === o.id && v.decision === 'approve').map((v) => v.checkerId));
      approvalsNeeded[o.name] = Math.max(0, Math.max(r.checkers_required, MIN_CHECKERS) - approvers.size);
    }
    return {
      request: toRequest(r), outputs: outputs.map((o) => toOutput(o, rows.get(o.id))),
      report: r.report === null ? null : json(r.report), reportSha256: r.report_sha256, votes,
      release: rel[0] === undefined ? null : toRelease(rel[0]), actions, canDownload: canDownload(p, project, facts(r)), approvalsNeeded,
    };
  }

  /** Every version of the request, as it was changed (members, checkers, auditors). */
  async versions(p: Principal, id: string, requestId?: string): Promise<RequestVersion[]> {
    const r = await this.#request(this.#db, id);
    const project = await this.#project(r.project_id);
    await this.#guard(p, 'airlock.request.view', `airlock-request:${id}`, requestId, async () => assertCanViewRequest(p, project, facts(r)));
    const rows = await this.#db.query<{ version: number; status: RequestStatus; content: unknown; changed_by: string; changed_at: Date | string }>('SELECT * FROM airlock_request_versions WHERE request_id = $1 ORDER BY version', [id]);
    return rows.map((v) => ({ version: v.version, status: v.status, changedBy: v.changed_by, changedAt: iso(v.changed_at) ?? '', content: json(v.content as string) }));
  }

  /**
   * The signed bundle of a released request, for a project member; the download is audited with
   * the bundle's SHA-256 before a byte is sent, and the bytes are checked against it.
   */
  async download(p: Principal, id: string, what: { readonly output?: string } = {}, requestId?: string): Promise<{ readonly fileName: string; readonly contentType: string; readonly body: Buffer; readonly sha256: string }> {
    const r = await this.#request(this.#db, id);
    const project = await this.#project(r.project_id);
    return this.#guard(p, 'airlock.release.download', `airlock-request:${id}`, requestId, async () => {
      assertCanDownload(p, project, facts(r));
      const rel = (await this.#db.query<ReleaseRow>('SELECT * FROM airlock_releases WHERE request_id = $1', [id]))[0];
      if (rel === undefined) throw new AppError('internal', 'a released request has no release');
      const release = toRelease(rel);
      let key = rel.bundle_key;
      let sha = rel.bundle_sha256;
      let fileName = `release-${release.id}.airlock.json`;
      let contentType = 'application/json';
      if (what.output !== undefined) {
        const o = release.outputs.find((x) => x.name === what.output || x.outputId === what.output);
        if (o === undefined) throw new AppError('not_found', `the release has no output ${what.output.slice(0, 80)}`, { hint: `its outputs are ${release.outputs.map((x) => x.name).join(', ')}` });
        key = `airlock/outputs/${o.sha256}.csv`;
        sha = o.sha256;
        fileName = `${o.name}.csv`;
        contentType = 'text/csv; charset=utf-8';
      }
      const chunks: Buffer[] = [];
      for await (const c of await this.#o.store.read(key)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
      const body = Buffer.concat(chunks);
      if (sha256Hex(body) !== sha) throw new AppError('integrity', `the stored ${what.output === undefined ? 'bundle' : 'file'} does not hash to its recorded SHA-256`, { hint: 'tell the platform operator: the store was changed' });
      await this.#o.audit.record({ actor: actor(p), action: 'airlock.release.download', target: `airlock-request:${id}`, details: { releaseId: release.id, file: fileName, sha256: sha, bytes: body.length }, ...rid(requestId) });
      return { fileName, contentType, body, sha256: sha };
    });
  }
}

function facts(r: RequestRow): RequestFacts {
  return { id: r.id, projectId: r.project_id, status: r.status, createdBy: r.created_by };
}

/** Checkers a permit asks for (`disclosure.checkersRequired`), never fewer than two. */
function checkersOf(disclosure: unknown): number {
  const n = typeof disclosure === 'object' && disclosure !== null ? (disclosure as { checkersRequired?: unknown }).checkersRequired : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n >= MIN_CHECKERS && n <= 10 ? n : MIN_CHECKERS;
}
