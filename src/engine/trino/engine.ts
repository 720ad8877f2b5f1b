/**
 * The Trino workspace engine: the workspace engine port over a Trino cluster's HTTP protocol.
 *
 * Each workspace is one schema of the `enclave` catalog (`ws_<project>_<hash>`), holding the
 * extract tables (materialised there by the Trino extract builder, `./extract.ts`) and the
 * member's saved tables and views. Each open workspace is one Trino user of the same name; the
 * engine writes Trino's file-based access control rules from the open workspaces (`rules.ts`) so
 * that this user reads its own schema only, and removes the user's rules when the session closes
 * (suspension, expiry: the workspace service closes the session; Trino reloads the rules within
 * `security.refresh-period`, and the running statement is cancelled at once).
 *
 * What differs from the DuckDB sandbox, by design:
 * - the extract's data lives in Trino's storage (object store with storage-side encryption, see
 *   docs/deploy/trino.md), not in the `files` of the spec: `ExtractTable.files` and `key` name the
 *   DuckDB copy and are checked for shape only (the extract service gives no file for a table
 *   kept by Trino); open() checks that every extract table exists in
 *   the workspace schema and fails `unavailable` otherwise;
 * - scratch objects live in the same schema (`ScratchSpec.dir`/`key` unused; quota enforced on the
 *   bytes Trino reports for the saved files);
 * - a kept result lives in this process (at most `rowCap` rows, the 16 latest per session), read
 *   once from Trino's paged protocol; SQL is Trino's dialect (no `extract.`/`scratch.` prefixes).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors.ts';
import type {
  CellValue,
  ResultColumn,
  ResultPage,
  RunOptions,
  SavedObject,
  SchemaTable,
  StatementResult,
  WorkspaceEngine,
  WorkspaceSession,
  WorkspaceSpec,
} from '../workspace-port.ts';
import { missingCatalog, TrinoClient, TrinoQueryError, TrinoUnavailableError, type TrinoColumn, type TrinoStatement } from './client.ts';
import { checkIoPlan, checkStatementText, QUERY_HINT } from './policy.ts';
import { ADMIN_USER, accessRules, type OpenWorkspaceGrant } from './rules.ts';

export interface TrinoWorkspaceEngineOptions {
  /** Coordinator URL. */
  readonly url: string;
  /** The catalog that holds the workspaces' schemas. */
  readonly catalog?: string;
  /**
   * The catalog of one workspace, when each project has its own (SSE-C key per project:
   * `projectCatalog`); by default every workspace is in `catalog`.
   */
  readonly catalogOf?: (workspaceId: string) => string;
  /** The access-control rules file the coordinator reads (`security.config-file`). */
  readonly rulesFile: string;
  /** The coordinator's `security.refresh-period`, ms: how long a rules change takes to apply. */
  readonly rulesRefreshMs?: number;
  readonly maxSessions?: number;
  readonly maxStatementBytes?: number;
  /** Extra headers (e.g. authentication) on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Cells a session keeps across its results (default `KEPT_CELLS`). */
  readonly maxKeptCells?: number;
  /** Creates again a workspace's catalog lost by a coordinator restart (`catalog-keeper.ts`). */
  readonly onCatalogNotFound?: (catalog: string) => Promise<boolean>;
}

const MAX_PAGE_ROWS = 10_000;
const KEPT_RESULTS = 16;
/**
 * Cells (rows × columns) a session keeps in this process across its results. DuckDB keeps
 * results in each workspace's own process; here they share the server's heap, so older results
 * are dropped (they answer `gone`) once the newer ones hold this many cells. The newest result
 * is always kept whole (at most the row cap).
 */
const KEPT_CELLS = 4_000_000;
const KEY_BYTES = 32;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema (and Trino user) of a workspace: readable, and injective through the hash. */
export function workspaceSchema(workspaceId: string): string {
  const readable = workspaceId.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  const h = createHash('sha256').update(workspaceId).digest('hex').slice(0, 10);
  return `ws_${readable}_${h}`;
}

/** The catalog of a project's workspace when each project has its own (its own SSE-C key). */
export function projectCatalog(workspaceId: string): string {
  return `enclave_${workspaceSchema(workspaceId)}`;
}

/** Quotes an identifier for Trino. */
export function trinoIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Quotes a string literal for Trino. */
export function trinoString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function columnOf(c: TrinoColumn): ResultColumn {
  return { name: c.name, type: c.type.toUpperCase() };
}

/** A BLOB as DuckDB prints it: printable ASCII as is, other bytes (and the backslash) as `\xNN`. */
export function blobText(b: Uint8Array): string {
  let out = '';
  for (const x of b) out += x >= 0x20 && x < 0x7f && x !== 0x5c ? String.fromCharCode(x) : `\\x${x.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Port cells: 64-bit integers and decimals as strings (as DuckDB's engine gives them), the rest as Trino's JSON. */
function cellConverter(type: string): (v: unknown) => CellValue {
  const t = type.toLowerCase();
  if (t === 'bigint' || t.startsWith('decimal')) return (v) => (v === null || v === undefined ? null : (typeof v === 'string' ? v : JSON.stringify(v)));
  // Trino sends varbinary as base64; the port's BLOB cell is DuckDB's text (printable ASCII, `\xNN` otherwise).
  if (t === 'varbinary') return (v) => (typeof v === 'string' ? blobText(Buffer.from(v, 'base64')) : v === undefined ? null : (v as CellValue));
  return (v) => (v === undefined ? null : (v as CellValue));
}

function mapTrinoError(e: unknown, what: string, ownSchema?: string): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof TrinoUnavailableError) return new AppError('unavailable', `the Trino engine is not reachable (${what})`, { hint: 'check that the Trino coordinator runs and ENCLAVE_TRINO_URL points at it', cause: e });
  if (e instanceof TrinoQueryError) {
    const n = e.error.errorName;
    if (n === 'PERMISSION_DENIED') return new AppError('forbidden', `refused by the workspace's access rules: ${e.error.message.replace(/^Access Denied: /, '')}`, { hint: QUERY_HINT, details: { reason: 'access' } });
    if (n === 'TABLE_NOT_FOUND' || n === 'SCHEMA_NOT_FOUND' || n === 'CATALOG_NOT_FOUND') {
      // Trino's message is passed on only about the workspace's own tables: "schema not found" vs
      // "table not found" elsewhere would tell which other projects have a workspace.
      const own = n === 'TABLE_NOT_FOUND' && ownSchema !== undefined && e.error.message.includes(`.${ownSchema}.`);
      return new AppError('forbidden', own ? e.error.message : 'the statement names a table that is not in this workspace', { hint: 'only the extract tables and your saved tables can be read', details: { reason: 'table' } });
    }
    if (n === 'FUNCTION_NOT_FOUND') return new AppError('forbidden', e.error.message, { hint: QUERY_HINT, details: { reason: 'function' } });
    if (n === 'EXCEEDED_TIME_LIMIT') return new AppError('invalid', `the statement ran longer than the workspace's timeout`, { hint: 'narrow the query or save intermediate results', details: { limit: 'timeout' } });
    if (n === 'EXCEEDED_LOCAL_MEMORY_LIMIT' || n === 'EXCEEDED_GLOBAL_MEMORY_LIMIT' || n === 'CLUSTER_OUT_OF_MEMORY') return new AppError('invalid', 'the statement needs more memory than the workspace may use', { hint: 'aggregate earlier, or save intermediate results', details: { limit: 'memory' } });
    if (n === 'USER_CANCELED' || n === 'ADMINISTRATIVELY_KILLED') return new AppError('conflict', 'the statement was cancelled', { details: { reason: 'cancelled' } });
    if (e.error.errorType === 'USER_ERROR') return new AppError('invalid', e.error.message, { hint: 'fix the statement (Trino SQL)', details: { reason: 'syntax', trino: n } });
    return new AppError('unavailable', `the Trino engine failed (${n}) while ${what}`, { hint: 'run it again; if it persists, an operator should read the coordinator log', cause: e });
  }
  return new AppError('internal', `unexpected failure while ${what}`, { cause: e });
}

interface Kept {
  readonly columns: readonly ResultColumn[];
  readonly rows: ReadonlyArray<readonly CellValue[]>;
}

/**
 * The open workspaces' grants, written as the coordinator's rules file. Several Enclave processes
 * may share one coordinator (two servers behind a load balancer; test files run in parallel):
 * each keeps its grants in its own fragment (`<rules>.d/<pid>-<id>.json`) and rewrites the rules
 * file from every live process's fragment under a lock, so no process drops another's grants.
 * Fragments of processes that no longer run are deleted: their grants end with them.
 */
class RulesWriter {
  readonly #file: string;
  readonly #fragment: string;
  readonly #grants = new Map<string, { grant: OpenWorkspaceGrant; count: number }>();
  #chain: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.#file = file;
    this.#fragment = join(`${file}.d`, `${process.pid}-${randomUUID()}.json`);
  }

  add(g: OpenWorkspaceGrant): Promise<void> {
    const cur = this.#grants.get(g.user);
    this.#grants.set(g.user, { grant: g, count: (cur?.count ?? 0) + 1 });
    return this.#write();
  }

  remove(user: string): Promise<void> {
    const cur = this.#grants.get(user);
    if (cur === undefined) return Promise.resolve();
    if (cur.count > 1) this.#grants.set(user, { ...cur, count: cur.count - 1 });
    else this.#grants.delete(user);
    return this.#write();
  }

  #write(): Promise<void> {
    const mine = [...this.#grants.values()].map((x) => x.grant);
    // Writes are chained (no interleaving) and atomic (rename): the coordinator never reads half a file.
    this.#chain = this.#chain.catch(() => undefined).then(async () => {
      const dir = `${this.#file}.d`;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await atomicWrite(this.#fragment, JSON.stringify(mine));
      await withLock(`${this.#file}.lock`, async () => {
        const grants = new Map<string, OpenWorkspaceGrant>();
        for (const f of await readdir(dir)) {
          if (!f.endsWith('.json')) continue;
          const pid = Number(f.split('-')[0]);
          if (!alive(pid)) {
            await rm(join(dir, f), { force: true });
            continue;
          }
          try {
            for (const g of JSON.parse(await readFile(join(dir, f), 'utf8')) as OpenWorkspaceGrant[]) grants.set(g.user, g);
          } catch {
            // a fragment being replaced is read at the next write
          }
        }
        await atomicWrite(this.#file, `${JSON.stringify(accessRules([...grants.values()]), null, 1)}\n`);
      });
      if (mine.length === 0) await rm(this.#fragment, { force: true });
    });
    return this.#chain;
  }
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function atomicWrite(file: string, body: string): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, file);
}

/** A lock directory (mkdir is atomic); one left by a crashed process is broken after 10 s. */
async function withLock(lock: string, f: () => Promise<void>): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() > until) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    await f();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

class TrinoSession implements WorkspaceSession {
  readonly workspaceId: string;
  readonly #spec: WorkspaceSpec;
  readonly #client: TrinoClient;
  readonly #catalog: string;
  readonly #schema: string;
  readonly #extract: ReadonlySet<string>;
  readonly #maxBytes: number;
  readonly #onClose: () => Promise<void>;
  readonly #kept = new Map<string, Kept>();
  #running: TrinoStatement | undefined;
  #busy = false;
  #cancelled = false;
  #closed = false;
  #seq = 0;

  readonly #maxCells: number;

  constructor(spec: WorkspaceSpec, client: TrinoClient, catalog: string, maxBytes: number, maxCells: number, onClose: () => Promise<void>) {
    this.#maxCells = maxCells;
    this.workspaceId = spec.workspaceId;
    this.#spec = spec;
    this.#client = client;
    this.#catalog = catalog;
    this.#schema = workspaceSchema(spec.workspaceId);
    this.#extract = new Set(spec.extract.map((t) => t.name));
    this.#maxBytes = maxBytes;
    this.#onClose = onClose;
  }

  get user(): string {
    return this.#schema;
  }

  #live(): void {
    if (this.#closed) throw new AppError('gone', 'this workspace session is closed', { hint: 'open the workspace again' });
  }

  #as(session?: Record<string, string>): { user: string; catalog: string; schema: string; session?: Record<string, string> } {
    return { user: this.#schema, catalog: this.#catalog, schema: this.#schema, ...(session === undefined ? {} : { session }) };
  }

  #admin(): { user: string; catalog: string; schema: string } {
    return { user: ADMIN_USER, catalog: this.#catalog, schema: this.#schema };
  }

  /** Runs one statement to the end as this workspace's user, under a deadline and the session's cancel. */
  async #exec(sql: string, deadline: number, onRows?: (rows: readonly (readonly unknown[])[], stmt: TrinoStatement) => boolean): Promise<TrinoStatement> {
    const left = Math.max(1, Math.floor(deadline - performance.now()));
    // The workspace's limits as session properties (Trino keeps the lower of these and its own config).
    const mb = `${Math.max(1, Math.floor(this.#spec.limits.memoryBytes / (1024 * 1024)))}MB`;
    const stmt = await this.#client.start(sql, this.#as({ query_max_execution_time: `${left}ms`, query_max_run_time: `${left + 1000}ms`, query_max_memory: mb, query_max_total_memory: mb }));
    this.#running = stmt;
    try {
      const timer = setTimeout(() => void stmt.cancel(), left);
      try {
        for (;;) {
          if (this.#cancelled) throw new AppError('conflict', 'the statement was cancelled', { details: { reason: 'cancelled' } });
          if (performance.now() >= deadline || (stmt.cancelled && !this.#cancelled)) throw new AppError('invalid', `the statement ran longer than the workspace's timeout`, { hint: 'narrow the query or save intermediate results', details: { limit: 'timeout' } });
          const b = await stmt.next();
          if (b === undefined) {
            if (this.#cancelled) continue;
            if (stmt.cancelled) continue;
            return stmt;
          }
          if (onRows !== undefined && b.length > 0 && !onRows(b, stmt)) {
            await stmt.cancel();
            return stmt;
          }
        }
      } finally {
        clearTimeout(timer);
      }
    } catch (e) {
      if (e instanceof TrinoQueryError && e.error.errorName === 'USER_CANCELED' && !this.#cancelled) throw new AppError('invalid', `the statement ran longer than the workspace's timeout`, { hint: 'narrow the query or save intermediate results', details: { limit: 'timeout' } });
      throw e;
    } finally {
      // Whatever ended the wait (cancel, deadline, close), the statement must not go on running.
      if (!stmt.done) await stmt.cancel();
      this.#running = undefined;
    }
  }

  async #check(sql: string, deadline: number): Promise<string> {
    const t = checkStatementText(sql, this.#maxBytes);
    if (!t.ok) throw new AppError(t.refusal.reason === 'too_large' ? 'payload_too_large' : t.refusal.reason === 'empty' ? 'invalid' : 'forbidden', t.refusal.message, { hint: t.refusal.hint, details: { reason: t.refusal.reason } });
    let plan = '';
    await this.#exec(`EXPLAIN (TYPE IO, FORMAT JSON) ${t.sql}`, deadline, (rows) => {
      plan += rows.map((r) => String(r[0])).join('');
      return true;
    });
    const r = checkIoPlan(plan, { catalog: this.#catalog, schema: this.#schema });
    if (r !== undefined) throw new AppError('forbidden', r.message, { hint: r.hint, details: { reason: r.reason } });
    return t.sql;
  }

  async run(sql: string, options: RunOptions = {}): Promise<StatementResult | SavedObject> {
    this.#live();
    if (typeof sql !== 'string') throw new AppError('invalid', 'sql must be a string');
    const save = options.saveAs;
    if (save !== undefined && (!NAME.test(save.name) || save.name.startsWith('__') || (save.kind !== 'table' && save.kind !== 'view'))) {
      throw new AppError('invalid', `saveAs: ${JSON.stringify(save.name)} must be a lower-case identifier (letters, digits, _; not starting with __) and kind table or view`);
    }
    const timeoutMs = Math.min(this.#spec.limits.statementTimeoutMs, options.timeoutMs ?? Infinity);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AppError('invalid', 'timeoutMs must be a positive number of milliseconds');
    if (this.#busy) throw new AppError('conflict', 'a statement is already running in this workspace', { hint: 'wait for it or cancel it' });
    this.#busy = true;
    this.#cancelled = false;
    const started = performance.now();
    const deadline = started + timeoutMs;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const checked = await this.#check(sql, deadline);
          if (save !== undefined) return await this.#save(checked, save, deadline, started);
          return await this.#rows(checked, deadline, started);
        } catch (e) {
          // The workspace's own catalog lost by a coordinator restart: created again, and the
          // statement (which could not start without it) run once more. Never another catalog:
          // whether another project's catalog exists is not this workspace's to learn.
          if (attempt > 0 || missingCatalog(e) !== this.#catalog || !(await this.#client.restoreCatalogOf(e))) throw e;
        }
      }
    } catch (e) {
      throw mapTrinoError(e, 'running the statement', this.#schema);
    } finally {
      this.#busy = false;
      this.#cancelled = false;
    }
  }

  async #rows(sql: string, deadline: number, started: number): Promise<StatementResult> {
    const cap = this.#spec.limits.rowCap;
    const out: (readonly CellValue[])[] = [];
    let truncated = false;
    let convert: ((v: unknown) => CellValue)[] | undefined;
    const stmt = await this.#exec(sql, deadline, (batch, s) => {
      convert ??= (s.columns ?? []).map((c) => cellConverter(c.type));
      for (const row of batch) {
        if (out.length >= cap) {
          truncated = true;
          return false;
        }
        out.push(row.map((v, i) => (convert?.[i] ?? cellConverter('unknown'))(v)));
      }
      return true;
    });
    const columns = (stmt.columns ?? []).map(columnOf);
    const h = createHash('sha256');
    h.update(`${JSON.stringify(columns)}\n`);
    for (const r of out) h.update(`${JSON.stringify(r)}\n`);
    const resultId = `t${++this.#seq}`;
    this.#kept.set(resultId, { columns, rows: out });
    const cells = () => [...this.#kept.values()].reduce((n, k) => n + k.rows.length * Math.max(1, k.columns.length), 0);
    while (this.#kept.size > KEPT_RESULTS || (this.#kept.size > 1 && cells() > this.#maxCells)) {
      const oldest = this.#kept.keys().next().value;
      if (oldest === undefined) break;
      this.#kept.delete(oldest);
    }
    return { kind: 'rows', resultId, columns, rowCount: out.length, truncated, sha256: h.digest('hex'), elapsedMs: Math.round(performance.now() - started) };
  }

  async #objects(): Promise<Map<string, 'table' | 'view'>> {
    const r = await this.#client.query(`SELECT table_name, table_type FROM ${trinoIdent(this.#catalog)}.information_schema.tables WHERE table_schema = ${trinoString(this.#schema)}`, this.#admin());
    return new Map(r.rows.map((x) => [String(x[0]), x[1] === 'VIEW' ? 'view' : 'table']));
  }

  async #bytes(table: string): Promise<number> {
    const r = await this.#client.query(`SELECT coalesce(sum(s), 0) FROM (SELECT DISTINCT "$path", "$file_size" AS s FROM ${trinoIdent(this.#schema)}.${trinoIdent(table)})`, this.#admin());
    return Number(r.rows[0]?.[0] ?? 0);
  }

  async #save(sql: string, save: { readonly name: string; readonly kind: 'table' | 'view' }, deadline: number, started: number): Promise<SavedObject> {
    const objects = await this.#objects();
    if (this.#extract.has(save.name) || objects.has(save.name)) throw new AppError('conflict', `${save.name} already exists in this workspace`, { hint: 'choose another name, or drop your saved object first' });
    const target = `${trinoIdent(this.#schema)}.${trinoIdent(save.name)}`;
    if (save.kind === 'view') {
      await this.#exec(`CREATE VIEW ${target} SECURITY INVOKER AS\n${sql}\n`, deadline);
      return { kind: 'saved', name: save.name, objectKind: 'view', elapsedMs: Math.round(performance.now() - started) };
    }
    const cap = this.#spec.limits.rowCap;
    let rows = 0;
    await this.#exec(`CREATE TABLE ${target} WITH (format = 'PARQUET') AS SELECT * FROM (\n${sql}\n) LIMIT ${cap}`, deadline, (b) => {
      rows = Number(b[0]?.[0] ?? 0);
      return true;
    });
    let used = 0;
    for (const [name, kind] of await this.#objects()) if (kind === 'table' && !this.#extract.has(name)) used += await this.#bytes(name);
    const bytes = await this.#bytes(save.name);
    if (used > this.#spec.scratch.quotaBytes) {
      await this.#client.query(`DROP TABLE ${target}`, this.#admin());
      throw new AppError('payload_too_large', `saving ${save.name} would take the scratch to ${used} bytes, over its quota of ${this.#spec.scratch.quotaBytes}`, { hint: 'drop saved tables you no longer need, or save fewer rows or columns', details: { limit: 'scratch_quota' } });
    }
    // Trino's CTAS reports the rows written; at the cap, more may have existed.
    return { kind: 'saved', name: save.name, objectKind: 'table', rowCount: rows, truncated: rows >= cap, bytes, elapsedMs: Math.round(performance.now() - started) };
  }

  async page(resultId: string, window: { readonly offset: number; readonly limit: number }): Promise<ResultPage> {
    this.#live();
    if (typeof resultId !== 'string' || !/^t[0-9]+$/.test(resultId)) throw new AppError('invalid', 'resultId is not a result handle of this workspace');
    const { offset, limit } = window;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new AppError('invalid', 'offset must be a non-negative integer');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) throw new AppError('invalid', `limit must be an integer from 1 to ${MAX_PAGE_ROWS}`);
    const k = this.#kept.get(resultId);
    if (k === undefined) throw new AppError('gone', 'this result is no longer kept', { hint: 'run the statement again' });
    return { columns: k.columns, rows: k.rows.slice(offset, offset + limit), offset, rowCount: k.rows.length };
  }

  async discard(resultId: string): Promise<void> {
    this.#live();
    this.#kept.delete(resultId);
  }

  async drop(name: string): Promise<void> {
    this.#live();
    if (typeof name !== 'string' || !NAME.test(name)) throw new AppError('invalid', `${JSON.stringify(name)} is not a scratch object name`);
    if (this.#extract.has(name)) throw new AppError('forbidden', `${name} is an extract table; only saved objects can be dropped`, { details: { reason: 'table' } });
    const kind = (await this.#objects()).get(name);
    if (kind === undefined) throw new AppError('not_found', `no saved table or view named ${name}`);
    try {
      await this.#client.query(`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} ${trinoIdent(this.#schema)}.${trinoIdent(name)}`, this.#as());
    } catch (e) {
      throw mapTrinoError(e, `dropping ${name}`);
    }
  }

  async describe(): Promise<SchemaTable[]> {
    this.#live();
    try {
      const objects = await this.#objects();
      const cols = await this.#client.query(`SELECT table_name, column_name, data_type FROM ${trinoIdent(this.#catalog)}.information_schema.columns WHERE table_schema = ${trinoString(this.#schema)} ORDER BY table_name, ordinal_position`, this.#admin());
      const byTable = new Map<string, ResultColumn[]>();
      for (const [t, c, ty] of cols.rows) {
        const list = byTable.get(String(t)) ?? [];
        list.push({ name: String(c), type: String(ty).toUpperCase() });
        byTable.set(String(t), list);
      }
      return [...objects].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, kind]) => ({ schema: this.#extract.has(name) ? 'extract' : 'scratch', name, kind, columns: byTable.get(name) ?? [] }));
    } catch (e) {
      throw mapTrinoError(e, 'describing the workspace');
    }
  }

  async progress(): Promise<number | undefined> {
    if (!this.#busy) return undefined;
    return Math.max(0, Math.min(100, this.#running?.progress ?? 0));
  }

  async cancel(): Promise<void> {
    if (!this.#busy) return;
    this.#cancelled = true;
    await this.#running?.cancel();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelled = true;
    await this.#running?.cancel();
    this.#kept.clear();
    await this.#onClose();
  }
}

function validateSpec(spec: WorkspaceSpec): void {
  const problems: string[] = [];
  if (typeof spec.workspaceId !== 'string' || spec.workspaceId === '') problems.push('workspaceId must be a non-empty string');
  const names = new Set<string>();
  for (const [i, t] of (spec.extract ?? []).entries()) {
    if (!NAME.test(t.name)) problems.push(`extract[${i}].name must be a lower-case identifier`);
    if (names.has(t.name)) problems.push(`extract[${i}].name ${t.name} is repeated`);
    names.add(t.name);
    // Trino reads the table the extract builder wrote into the schema: no file is needed (the
    // extract service names none for tables kept by the engine); any given must still be absolute.
    if (t.files.some((f) => !f.startsWith('/'))) problems.push(`extract[${i}].files must be absolute paths`);
    if (t.key.length !== KEY_BYTES) problems.push(`extract[${i}].key must be ${KEY_BYTES} bytes`);
  }
  if (!(spec.scratch.quotaBytes >= 0)) problems.push('scratch.quotaBytes must be ≥ 0');
  const l = spec.limits;
  if (!(l.memoryBytes >= 16 * 1024 * 1024)) problems.push('limits.memoryBytes must be at least 16 MiB');
  if (!Number.isSafeInteger(l.threads) || l.threads < 1) problems.push('limits.threads must be a positive integer');
  if (l.tempDiskBytes !== 0) problems.push('limits.tempDiskBytes must be 0: the reference Trino config has spilling off (spilled pages would be decrypted data on local disk)');
  if (!(l.statementTimeoutMs > 0)) problems.push('limits.statementTimeoutMs must be positive');
  if (!Number.isSafeInteger(l.rowCap) || l.rowCap < 1) problems.push('limits.rowCap must be a positive integer');
  if (problems.length > 0) throw new AppError('invalid', `workspace spec: ${problems.join('; ')}`, { hint: 'fix the fields named' });
}

/**
 * Opens the Trino workspace engine.
 *
 * @example
 *   const engine = openTrinoWorkspaceEngine({ url: config.trino.url, rulesFile: config.trino.rulesFile });
 *   const ws = await engine.open(spec); // the extract must have been built on Trino first
 */
export function openTrinoWorkspaceEngine(options: TrinoWorkspaceEngineOptions): WorkspaceEngine {
  const client = new TrinoClient({ url: options.url, ...(options.headers === undefined ? {} : { headers: options.headers }), ...(options.onCatalogNotFound === undefined ? {} : { onCatalogNotFound: options.onCatalogNotFound }) });
  const defaultCatalog = options.catalog ?? 'enclave';
  const refreshMs = options.rulesRefreshMs ?? 1000;
  const maxSessions = options.maxSessions ?? 32;
  const maxBytes = options.maxStatementBytes ?? 256 * 1024;
  const rules = new RulesWriter(options.rulesFile);
  const sessions = new Set<TrinoSession>();

  /** Waits until the coordinator applied the grant: the workspace user can see its schema. */
  async function granted(catalog: string, user: string, schema: string, table: string): Promise<void> {
    const until = performance.now() + refreshMs * 3 + 5000;
    for (;;) {
      try {
        await client.query(`SELECT 1 FROM ${trinoIdent(schema)}.${trinoIdent(table)} WHERE false`, { user, catalog, schema });
        return;
      } catch (e) {
        if (!(e instanceof TrinoQueryError && e.error.errorName === 'PERMISSION_DENIED') || performance.now() > until) throw e;
        await new Promise((r) => setTimeout(r, Math.min(250, refreshMs / 2)));
      }
    }
  }

  return {
    async open(spec) {
      validateSpec(spec);
      if (sessions.size >= maxSessions) throw new AppError('unavailable', `the engine already runs ${maxSessions} workspaces`, { hint: 'close an idle workspace or try again later' });
      const schema = workspaceSchema(spec.workspaceId);
      const catalog = options.catalogOf?.(spec.workspaceId) ?? defaultCatalog;
      let present: Set<string>;
      try {
        const r = await client.query(`SELECT table_name FROM ${trinoIdent(catalog)}.information_schema.tables WHERE table_schema = ${trinoString(schema)}`, { user: ADMIN_USER, catalog });
        present = new Set(r.rows.map((x) => String(x[0])));
      } catch (e) {
        throw mapTrinoError(e, 'opening the workspace');
      }
      const missing = spec.extract.filter((t) => !present.has(t.name)).map((t) => t.name);
      if (missing.length > 0) throw new AppError('unavailable', `the extract is not materialised on Trino: ${missing.join(', ')} missing from the workspace schema`, { hint: 'build the extract with the Trino extract builder (ENCLAVE_ENGINE=trino), then open the workspace' });
      const grant: OpenWorkspaceGrant = { user: schema, catalog, schema, extractTables: spec.extract.map((t) => t.name) };
      await rules.add(grant);
      const session = new TrinoSession(spec, client, catalog, maxBytes, options.maxKeptCells ?? KEPT_CELLS, async () => {
        sessions.delete(session);
        await rules.remove(schema);
      });
      try {
        const first = spec.extract[0];
        if (first !== undefined) await granted(catalog, schema, schema, first.name);
      } catch (e) {
        await session.close();
        throw mapTrinoError(e, 'applying the workspace access rules');
      }
      sessions.add(session);
      return session;
    },
    async close() {
      await Promise.all([...sessions].map((s) => s.close()));
    },
  };
}
