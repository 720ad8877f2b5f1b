/**
 * One workspace's engine process: its own DuckDB over the extract (read-only views over
 * encrypted Parquet, keys registered here and never given to SQL) and the member's scratch
 * schema, behind the statement policy. Started by `sandbox.ts` with `child_process.fork`; a
 * crash or a kill here never reaches the server or another workspace.
 *
 * Two DuckDB instances live here: `parser`, in memory with nothing attached, only parses
 * statements (`json_serialize_sql`) and prints the checked tree back as SQL
 * (`json_deserialize_sql`), so what runs is what was checked; and `data`, where the checked
 * statement runs with external access disabled (defence in depth: even a function the policy
 * missed reads only the extract and scratch files), configuration locked, no extension
 * loading, and spilling disabled (no temporary directory), so decrypted data never reaches disk.
 */
import { DuckDBInstance, JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { openSandboxDb } from './configure.ts';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import { checkSerializedStatement, type PolicyContext, type Refusal } from './policy.ts';
import type { PageReply, RunReply, WorkerError, WorkerOpenSpec, WorkerReply, WorkerReplyValue, WorkerRequest } from './protocol.ts';
import type { CellValue, ResultColumn, SchemaTable } from '../workspace-port.ts';

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Results kept per workspace; older ones are dropped (their pages answer `gone`). */
const KEPT_RESULTS = 16;

class WorkerFailure extends Error {
  readonly error: WorkerError;
  constructor(error: WorkerError) {
    super(error.message);
    this.error = error;
  }
}

function fail(code: WorkerError['code'], message: string, hint?: string, details?: Record<string, string>): never {
  throw new WorkerFailure({ code, message, ...(hint === undefined ? {} : { hint }), ...(details === undefined ? {} : { details }) });
}

function q(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

interface Running {
  timer: NodeJS.Timeout;
  timedOut: boolean;
  cancelled: boolean;
  timeoutMs: number;
}

class Workspace {
  readonly #serialize: DuckDBPreparedStatement;
  readonly #deserialize: DuckDBPreparedStatement;
  readonly #query: DuckDBConnection;
  readonly #read: DuckDBConnection;
  readonly #spec: WorkerOpenSpec;
  readonly #extract: Set<string>;
  readonly #tables = new Set<string>();
  readonly #views = new Map<string, string>();
  readonly #hidden: string[];
  #running: Running | undefined;
  readonly #kept: string[] = [];

  private constructor(parts: { serialize: DuckDBPreparedStatement; deserialize: DuckDBPreparedStatement; query: DuckDBConnection; read: DuckDBConnection; spec: WorkerOpenSpec }) {
    this.#serialize = parts.serialize;
    this.#deserialize = parts.deserialize;
    this.#query = parts.query;
    this.#read = parts.read;
    this.#spec = parts.spec;
    this.#extract = new Set(parts.spec.extract.map((t) => t.name));
    // Error messages never name the files behind the extract or the scratch.
    this.#hidden = [...parts.spec.extract.flatMap((t) => t.files), parts.spec.scratchDir].sort((a, b) => b.length - a.length);
  }

  static async open(spec: WorkerOpenSpec): Promise<Workspace> {
    const parserDb = await DuckDBInstance.create(':memory:', { enable_external_access: 'false', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', threads: '1', memory_limit: '64MB' });
    const parser = await parserDb.connect();
    await parser.run('SET lock_configuration = true');
    const serialize = await parser.prepare('SELECT json_serialize_sql($1::VARCHAR) AS j');
    const deserialize = await parser.prepare('SELECT json_deserialize_sql($1::VARCHAR::JSON) AS s');

    const ws = await openSandboxDb(spec, async (query, read) => {
      const w = new Workspace({ serialize, deserialize, query, read, spec });
      await w.#loadScratch();
      return w;
    });
    return ws;
  }

  #tablePath(name: string): string {
    return join(this.#spec.scratchDir, 'tables', `${name}.parquet`);
  }

  async #loadScratch(): Promise<void> {
    for (const f of await readdir(join(this.#spec.scratchDir, 'tables'))) {
      if (!f.endsWith('.parquet')) continue;
      const name = f.slice(0, -'.parquet'.length);
      if (!NAME.test(name)) continue;
      await this.#query.run(this.#tableView(name));
      this.#tables.add(name);
    }
    for (const v of await this.#readCatalog()) {
      await this.#query.run(`CREATE OR REPLACE VIEW scratch.${ident(v.name)} AS ${v.sql}`);
      this.#views.set(v.name, v.sql);
    }
  }

  #tableView(name: string): string {
    return `CREATE OR REPLACE VIEW scratch.${ident(name)} AS SELECT * FROM read_parquet(${q(this.#tablePath(name))}, encryption_config = {footer_key: 'scratch'})`;
  }

  /** The saved views' SQL, AES-256-GCM under the scratch key (view text can hold values). */
  async #readCatalog(): Promise<Array<{ name: string; sql: string }>> {
    let blob: Buffer;
    try {
      blob = await readFile(join(this.#spec.scratchDir, 'catalog.bin'));
    } catch {
      return [];
    }
    const d = createDecipheriv('aes-256-gcm', this.#spec.scratchKey, blob.subarray(0, 12));
    d.setAuthTag(blob.subarray(blob.length - 16));
    const plain = Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]);
    return JSON.parse(plain.toString('utf8')) as Array<{ name: string; sql: string }>;
  }

  async #writeCatalog(): Promise<void> {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#spec.scratchKey, nonce);
    const body = Buffer.from(JSON.stringify([...this.#views].map(([name, sql]) => ({ name, sql }))));
    const blob = Buffer.concat([nonce, c.update(body), c.final(), c.getAuthTag()]);
    const path = join(this.#spec.scratchDir, 'catalog.bin');
    await writeFile(`${path}.tmp`, blob, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  #context(): PolicyContext {
    return { extract: this.#extract, scratch: new Set([...this.#tables, ...this.#views.keys()]) };
  }

  /** DuckDB's parse tree as JSON text (kept as text: its 64-bit locations do not survive JSON.parse). */
  async #serialized(sql: string): Promise<string> {
    this.#serialize.bindVarchar(1, sql);
    const r = await this.#serialize.runAndReadAll();
    return String(r.getRows()[0]?.[0] ?? 'null');
  }

  /** Parses, checks, prints the checked tree back as SQL and checks that text again. */
  async #checked(sql: string): Promise<string> {
    const tree = await this.#serialized(sql);
    refuseIf(checkSerializedStatement(JSON.parse(tree), this.#context()));
    let canonical: string;
    try {
      this.#deserialize.bindVarchar(1, tree);
      canonical = String((await this.#deserialize.runAndReadAll()).getRows()[0]?.[0] ?? '');
    } catch {
      fail('invalid', 'the statement could not be normalised by the engine', 'simplify the statement', { reason: 'normalise' });
    }
    const again = checkSerializedStatement(JSON.parse(await this.#serialized(canonical)), this.#context());
    if (again !== undefined) fail('forbidden', `the statement changes meaning when normalised (${again.message})`, again.hint, { reason: 'construct' });
    return canonical;
  }

  async run(req: Extract<WorkerRequest, { op: 'run' }>): Promise<RunReply> {
    if (this.#running !== undefined) fail('conflict', 'a statement is already running in this workspace', 'wait for it or cancel it');
    const canonical = await this.#checked(req.sql);
    const save = req.saveAs;
    if (save !== undefined) this.#checkNewName(save.name);
    const running: Running = { timer: setTimeout(() => {
      running.timedOut = true;
      this.#query.interrupt();
    }, req.timeoutMs), timedOut: false, cancelled: false, timeoutMs: req.timeoutMs };
    this.#running = running;
    try {
      if (save?.kind === 'view') {
        await this.#query.run(`CREATE VIEW scratch.${ident(save.name)} AS ${canonical}`);
        this.#views.set(save.name, canonical);
        await this.#writeCatalog();
        return { kind: 'saved', columns: [], rowCount: 0, truncated: false };
      }
      const target = `__results.${ident(save === undefined ? req.resultName : `__save_${req.resultName}`)}`;
      await this.#query.run(`CREATE TABLE ${target} AS SELECT * FROM (${canonical}) AS q LIMIT ${req.rowCap + 1}`);
      const n = Number((await this.#read.runAndReadAll(`SELECT count(*) FROM ${target}`)).getRows()[0]?.[0] ?? 0);
      const columns = await this.#columns(target);
      if (save === undefined) {
        await this.#keep(req.resultName);
        const sha256 = await this.#sha256(target, columns, req.rowCap);
        return { kind: 'rows', columns, rowCount: Math.min(n, req.rowCap), truncated: n > req.rowCap, sha256 };
      }
      try {
        const path = this.#tablePath(save.name);
        const written = await copyQueryToEncryptedParquet(this.#query, `SELECT * FROM ${target} LIMIT ${req.rowCap}`, path, this.#spec.scratchKey, { tmpDir: join(this.#spec.scratchDir, 'pipes') });
        const used = await this.#scratchBytes();
        if (used > this.#spec.scratchQuotaBytes) {
          await unlink(path);
          fail('payload_too_large', `saving ${save.name} would take the scratch to ${used} bytes, over its quota of ${this.#spec.scratchQuotaBytes}`, 'drop saved tables you no longer need, or save fewer rows or columns', { limit: 'scratch_quota' });
        }
        await this.#query.run(this.#tableView(save.name));
        this.#tables.add(save.name);
        return { kind: 'saved', columns, rowCount: Math.min(n, req.rowCap), truncated: n > req.rowCap, bytes: written.bytes };
      } finally {
        await this.#read.run(`DROP TABLE IF EXISTS ${target}`);
      }
    } catch (e) {
      throw this.#engineError(e, running);
    } finally {
      clearTimeout(running.timer);
      this.#running = undefined;
    }
  }

  /**
   * SHA-256 of the kept rows as pages serve them: the columns as a JSON line, then one JSON
   * array per row, each line ending in a newline. Streamed chunk by chunk inside the worker.
   */
  async #sha256(target: string, columns: readonly ResultColumn[], cap: number): Promise<string> {
    const h = createHash('sha256');
    h.update(`${JSON.stringify(columns)}\n`);
    const res = await this.#query.stream(`SELECT * FROM ${target} LIMIT ${cap}`);
    for (let chunk = await res.fetchChunk(); chunk !== null && chunk.rowCount > 0; chunk = await res.fetchChunk()) {
      for (const row of chunk.convertRows(JsonDuckDBValueConverter)) h.update(`${JSON.stringify(row)}\n`);
    }
    return h.digest('hex');
  }

  /** Kept results count against the memory limit: only the latest few are kept. */
  async #keep(resultName: string): Promise<void> {
    this.#kept.push(resultName);
    while (this.#kept.length > KEPT_RESULTS) {
      const old = this.#kept.shift();
      if (old !== undefined) await this.#read.run(`DROP TABLE IF EXISTS __results.${ident(old)}`);
    }
  }

  #checkNewName(name: string): void {
    if (!NAME.test(name) || name.startsWith('__')) fail('invalid', `scratch name ${JSON.stringify(name)} is not allowed`, 'use lower-case letters, digits and _ (at most 63, not starting with __)');
    if (this.#extract.has(name)) fail('conflict', `${name} is a table of the extract`, 'choose another name');
    if (this.#tables.has(name) || this.#views.has(name)) fail('conflict', `a scratch object named ${name} exists`, 'drop it first or choose another name');
  }

  async #scratchBytes(): Promise<number> {
    let total = 0;
    for (const f of await readdir(join(this.#spec.scratchDir, 'tables'))) total += (await stat(join(this.#spec.scratchDir, 'tables', f))).size;
    return total;
  }

  async #columns(target: string): Promise<ResultColumn[]> {
    const r = await this.#read.runAndReadAll(`SELECT * FROM ${target} LIMIT 0`);
    const types = r.columnTypes();
    return r.columnNames().map((name, i) => ({ name, type: String(types[i]) }));
  }

  #engineError(e: unknown, running: Running): unknown {
    if (e instanceof WorkerFailure) return e;
    const raw = e instanceof Error ? e.message : String(e);
    let message = raw;
    for (const h of this.#hidden) message = message.split(h).join('<workspace file>');
    if (raw.includes('INTERRUPT')) {
      if (running.timedOut) return new WorkerFailure({ code: 'invalid', message: `the statement ran longer than the workspace's timeout (${running.timeoutMs} ms) and was stopped`, hint: 'narrow the query (filters, fewer joins) or save intermediate results', details: { limit: 'timeout' } });
      return new WorkerFailure({ code: 'conflict', message: 'the statement was cancelled', details: { reason: 'cancelled' } });
    }
    if (raw.startsWith('Out of Memory Error')) {
      return new WorkerFailure({ code: 'invalid', message: `the statement needed more memory than the workspace's limit (${Math.round(this.#spec.memoryBytes / 1048576)} MiB); spilling to disk is disabled so that decrypted data never reaches disk`, hint: 'aggregate earlier, select fewer columns, or save intermediate results', details: { limit: 'memory' } });
    }
    if (raw.startsWith('Permission Error')) {
      return new WorkerFailure({ code: 'forbidden', message: 'the statement tried to reach a file outside the workspace and was stopped by the engine', hint: 'read the extract tables by name', details: { reason: 'external_access' } });
    }
    return new WorkerFailure({ code: 'invalid', message: message.split('\n')[0] ?? 'the statement failed', hint: 'check table and column names in the schema browser' });
  }

  /** Percent done of the running statement (DuckDB's estimate), or null when none runs. */
  progress(): number | null {
    if (this.#running === undefined) return null;
    const p = this.#query.progress.percentage;
    return p >= 0 ? Math.min(100, p) : 0;
  }

  cancel(): void {
    if (this.#running === undefined) return;
    this.#running.cancelled = true;
    this.#query.interrupt();
  }

  async page(resultName: string, offset: number, limit: number): Promise<PageReply> {
    const target = `__results.${ident(resultName)}`;
    const exists = await this.#read.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE schema_name = '__results' AND table_name = ${q(resultName)}`);
    if (Number(exists.getRows()[0]?.[0] ?? 0) === 0) fail('gone', 'this result is no longer kept', 'run the statement again');
    const r = await this.#read.runAndReadAll(`SELECT * FROM ${target} LIMIT ${limit} OFFSET ${offset}`);
    const types = r.columnTypes();
    const columns = r.columnNames().map((name, i) => ({ name, type: String(types[i]) }));
    const total = Number((await this.#read.runAndReadAll(`SELECT count(*) FROM ${target}`)).getRows()[0]?.[0] ?? 0);
    return { columns, rows: r.getRowsJson() as unknown as CellValue[][], rowCount: total };
  }

  async discard(resultName: string): Promise<void> {
    await this.#read.run(`DROP TABLE IF EXISTS __results.${ident(resultName)}`);
  }

  async drop(name: string): Promise<void> {
    if (this.#tables.has(name)) {
      await this.#read.run(`DROP VIEW scratch.${ident(name)}`);
      await unlink(this.#tablePath(name));
      this.#tables.delete(name);
      return;
    }
    if (this.#views.has(name)) {
      await this.#read.run(`DROP VIEW scratch.${ident(name)}`);
      this.#views.delete(name);
      await this.#writeCatalog();
      return;
    }
    fail('not_found', `no scratch table or view named ${JSON.stringify(name)}`, 'describe the workspace to list its scratch objects');
  }

  async describe(): Promise<SchemaTable[]> {
    const r = await this.#read.runAndReadAll(`SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name IN ('extract', 'scratch') ORDER BY schema_name, table_name, column_index`);
    const out = new Map<string, { schema: 'extract' | 'scratch'; name: string; kind: 'table' | 'view'; columns: ResultColumn[] }>();
    for (const [schema, table, column, type] of r.getRows() as Array<[string, string, string, string]>) {
      const key = `${schema}.${table}`;
      let t = out.get(key);
      if (t === undefined) {
        const s = schema === 'extract' ? 'extract' : 'scratch';
        t = { schema: s, name: table, kind: s === 'scratch' && this.#views.has(table) ? 'view' : 'table', columns: [] };
        out.set(key, t);
      }
      t.columns.push({ name: column, type });
    }
    return [...out.values()];
  }
}

function refuseIf(r: Refusal | undefined): void {
  if (r !== undefined) fail(r.reason === 'syntax' || r.reason === 'empty' ? 'invalid' : 'forbidden', r.message, r.hint, { reason: r.reason });
}

let workspace: Workspace | undefined;

async function handle(req: WorkerRequest): Promise<WorkerReplyValue> {
  if (req.op === 'open') {
    workspace = await Workspace.open(req.spec);
    return null;
  }
  if (req.op === 'close') {
    setImmediate(() => process.exit(0));
    return null;
  }
  const ws = workspace;
  if (ws === undefined) fail('internal', 'the workspace worker was not opened');
  switch (req.op) {
    case 'run':
      return ws.run(req);
    case 'page':
      return ws.page(req.resultName, req.offset, req.limit);
    case 'discard':
      await ws.discard(req.resultName);
      return null;
    case 'drop':
      await ws.drop(req.name);
      return null;
    case 'describe':
      return ws.describe();
    case 'cancel':
      ws.cancel();
      return null;
    case 'progress':
      return ws.progress();
  }
}

function reply(r: WorkerReply): void {
  process.send?.(r);
}

process.on('message', (m: WorkerRequest) => {
  handle(m).then(
    (value) => reply({ id: m.id, ok: true, value }),
    (e: unknown) => {
      if (e instanceof WorkerFailure) reply({ id: m.id, ok: false, error: e.error });
      // Internal failures say no more than that: messages could name files or values.
      // Other failures say no more than that to the member; opening is the operator's concern, so its cause goes to the server.
      else if (m.op === 'open') reply({ id: m.id, ok: false, error: { code: 'internal', message: `the workspace engine could not open: ${e instanceof Error ? e.message : String(e)}` } });
      else reply({ id: m.id, ok: false, error: { code: 'internal', message: 'the workspace engine failed', ...(e instanceof Error ? { details: { name: e.name } } : {}) } });
    },
  );
});
// The server went away: nothing is left to answer to.
process.on('disconnect', () => process.exit(0));
