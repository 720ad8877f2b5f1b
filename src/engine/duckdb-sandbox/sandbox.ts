/**
 * The DuckDB workspace engine: each open workspace gets its own worker process
 * (`worker-child.ts`, `child_process.fork`) with its own DuckDB. The server keeps only the
 * session's spec and talks to the worker over IPC: a worker that crashes, is killed, or does not
 * stop after its statement timeout plus a grace period is killed (SIGKILL) and replaced on the
 * next call, re-opened from the spec; the server and the other workspaces never notice.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { AppError } from '../../errors.ts';
import type { PageReply, RunReply, WorkerReply, WorkerReplyValue, WorkerRequest } from './protocol.ts';
import type {
  ResultPage,
  RunOptions,
  SavedObject,
  SchemaTable,
  StatementResult,
  WorkspaceEngine,
  WorkspaceSession,
  WorkspaceSpec,
} from '../workspace-port.ts';

export interface DuckDbSandboxOptions {
  /** Open workspaces at most (one process each). */
  readonly maxSessions?: number;
  /** After a statement's timeout, how long the worker has to stop before it is killed. */
  readonly killGraceMs?: number;
  /** V8 heap of a worker, MiB (DuckDB's own memory is the workspace's memory limit). */
  readonly workerHeapMb?: number;
  /** Longest statement accepted, in bytes. */
  readonly maxStatementBytes?: number;
}

const MAX_PAGE_ROWS = 10_000;
const OPEN_TIMEOUT_MS = 60_000;
const KEY_BYTES = 32;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const WORKER = new URL('./worker-child.ts', import.meta.url);

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** A worker process and its pending requests. */
class Worker {
  readonly child: ChildProcess;
  readonly generation: number;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: WorkerReplyValue) => void; reject: (e: unknown) => void }>();
  #exit: string | undefined;

  constructor(generation: number, heapMb: number) {
    this.generation = generation;
    this.child = fork(WORKER, [], {
      execArgv: [`--max-old-space-size=${heapMb}`],
      // Nothing of the server's environment (secrets, NODE_OPTIONS) reaches the worker.
      env: {},
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerReply) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new AppError(m.error.code, m.error.message, { ...(m.error.hint === undefined ? {} : { hint: m.error.hint }), ...(m.error.details === undefined ? {} : { details: m.error.details }) }));
    });
    this.child.on('error', () => this.#stopped('error'));
    this.child.on('exit', (code, signal) => this.#stopped(signal ?? `exit ${code ?? '?'}`));
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  #stopped(how: string): void {
    if (this.#exit !== undefined) return;
    this.#exit = how;
    for (const p of this.#pending.values()) {
      p.reject(new AppError('unavailable', `the workspace engine process stopped (${how}) before the statement completed`, { hint: 'run it again: a new engine process answers the next statement', details: { reason: 'worker_stopped' } }));
    }
    this.#pending.clear();
  }

  request(req: Request): Promise<WorkerReplyValue> {
    if (!this.alive) return Promise.reject(new AppError('unavailable', 'the workspace engine process has stopped', { details: { reason: 'worker_stopped' } }));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send({ ...req, id }, (err) => {
        if (err !== null && this.#pending.delete(id)) reject(new AppError('unavailable', 'the workspace engine process is not reachable', { details: { reason: 'worker_stopped' } }));
      });
    });
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  async end(graceMs: number): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    void this.request({ op: 'close' }).catch(() => undefined);
    const t = setTimeout(() => this.kill(), graceMs);
    await exited;
    clearTimeout(t);
  }
}

class SandboxSession implements WorkspaceSession {
  readonly workspaceId: string;
  readonly #spec: WorkspaceSpec;
  readonly #opts: Required<DuckDbSandboxOptions>;
  readonly #onClose: () => void;
  #worker: Worker | undefined;
  #opening: Promise<Worker> | undefined;
  #generation = 0;
  #resultSeq = 0;
  #running = false;
  /** Counts statements, so that a cancel's kill timer never hits a later statement. */
  #runSeq = 0;
  #closed = false;

  constructor(spec: WorkspaceSpec, opts: Required<DuckDbSandboxOptions>, onClose: () => void) {
    this.workspaceId = spec.workspaceId;
    this.#spec = spec;
    this.#opts = opts;
    this.#onClose = onClose;
  }

  /** The worker's process id (tests kill it; operators see it in `ps`). */
  get workerPid(): number | undefined {
    return this.#worker?.alive === true ? this.#worker.child.pid : undefined;
  }

  /** The live worker, or a new one opened from the spec (after a crash or a kill). */
  async worker(): Promise<Worker> {
    if (this.#closed) throw new AppError('gone', 'this workspace session is closed', { hint: 'open the workspace again' });
    if (this.#worker?.alive === true) return this.#worker;
    this.#opening ??= (async () => {
      const w = new Worker(++this.#generation, this.#opts.workerHeapMb);
      // A worker that cannot open its extract in time (a hung file system) is killed.
      const killer = setTimeout(() => w.kill(), OPEN_TIMEOUT_MS);
      try {
        const s = this.#spec;
        await w.request({
          op: 'open',
          spec: {
            extract: s.extract.map((t) => ({ name: t.name, files: [...t.files], key: t.key })),
            scratchDir: s.scratch.dir,
            scratchKey: s.scratch.key,
            scratchQuotaBytes: s.scratch.quotaBytes,
            memoryBytes: s.limits.memoryBytes,
            threads: s.limits.threads,
          },
        });
      } catch (e) {
        w.kill();
        throw e instanceof AppError && e.code !== 'internal' && e.code !== 'unavailable' ? e : new AppError('unavailable', 'the workspace engine could not open the extract', { hint: 'check that the extract files exist and the keys match', cause: e });
      } finally {
        clearTimeout(killer);
      }
      this.#worker = w;
      return w;
    })().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async run(sql: string, options: RunOptions = {}): Promise<StatementResult | SavedObject> {
    if (typeof sql !== 'string') throw new AppError('invalid', 'sql must be a string');
    const bytes = Buffer.byteLength(sql);
    if (bytes > this.#opts.maxStatementBytes) throw new AppError('payload_too_large', `the statement is ${bytes} bytes, over the limit of ${this.#opts.maxStatementBytes}`, { hint: 'save intermediate results as scratch tables and query them' });
    const save = options.saveAs;
    if (save !== undefined && (!NAME.test(save.name) || save.name.startsWith('__') || (save.kind !== 'table' && save.kind !== 'view'))) {
      throw new AppError('invalid', `saveAs: ${JSON.stringify(save.name)} must be a lower-case identifier (letters, digits, _; not starting with __) and kind table or view`);
    }
    const limit = this.#spec.limits.statementTimeoutMs;
    const timeoutMs = options.timeoutMs === undefined ? limit : Math.min(limit, options.timeoutMs);
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new AppError('invalid', 'timeoutMs must be a positive number of milliseconds');
    if (this.#running) throw new AppError('conflict', 'a statement is already running in this workspace', { hint: 'wait for it or cancel it' });
    this.#running = true;
    this.#runSeq++;
    const started = performance.now();
    try {
      const w = await this.worker();
      const resultName = `r${++this.#resultSeq}`;
      // The worker interrupts itself at the timeout; if it has not answered after the grace, it is killed.
      const killer = setTimeout(() => w.kill(), timeoutMs + this.#opts.killGraceMs);
      let reply: RunReply;
      try {
        reply = (await w.request({ op: 'run', sql, timeoutMs, rowCap: this.#spec.limits.rowCap, resultName, ...(save === undefined ? {} : { saveAs: save }) })) as RunReply;
      } catch (e) {
        if (e instanceof AppError && e.code === 'unavailable' && performance.now() - started >= timeoutMs) {
          throw new AppError('invalid', `the statement ran longer than the workspace's timeout (${timeoutMs} ms); its engine process did not stop and was replaced`, { hint: 'narrow the query or save intermediate results', details: { limit: 'timeout' } });
        }
        throw e;
      } finally {
        clearTimeout(killer);
      }
      const elapsedMs = performance.now() - started;
      if (save !== undefined) {
        return {
          kind: 'saved', name: save.name, objectKind: save.kind, elapsedMs,
          ...(save.kind === 'table' ? { rowCount: reply.rowCount, truncated: reply.truncated, ...(reply.bytes === undefined ? {} : { bytes: reply.bytes }) } : {}),
        };
      }
      return { kind: 'rows', resultId: `${w.generation}.${resultName}`, columns: reply.columns, rowCount: reply.rowCount, truncated: reply.truncated, sha256: reply.sha256 ?? '', elapsedMs };
    } finally {
      this.#running = false;
    }
  }

  #resultName(resultId: string, w: Worker): string {
    const [gen, name] = typeof resultId === 'string' ? resultId.split('.') : [];
    if (gen === undefined || name === undefined || !/^r[0-9]+$/.test(name)) throw new AppError('invalid', 'resultId is not a result handle of this workspace');
    if (Number(gen) !== w.generation) throw new AppError('gone', 'this result is no longer kept (the engine process was replaced)', { hint: 'run the statement again' });
    return name;
  }

  async page(resultId: string, window: { readonly offset: number; readonly limit: number }): Promise<ResultPage> {
    const { offset, limit } = window;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new AppError('invalid', 'offset must be a non-negative integer');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_ROWS) throw new AppError('invalid', `limit must be an integer from 1 to ${MAX_PAGE_ROWS}`);
    const w = await this.worker();
    const name = this.#resultName(resultId, w);
    const cap = this.#spec.limits.rowCap;
    // Rows past the row cap (kept to detect truncation) are never served.
    const effective = Math.max(0, Math.min(limit, cap - offset));
    const r = (await w.request({ op: 'page', resultName: name, offset, limit: Math.max(effective, 1) })) as PageReply;
    return { columns: r.columns, rows: effective === 0 ? [] : r.rows.slice(0, effective), offset, rowCount: Math.min(r.rowCount, cap) };
  }

  async discard(resultId: string): Promise<void> {
    // A replaced worker took its results with it: nothing to free, and no reason to start one.
    if (this.#worker?.alive !== true) return;
    const w = await this.worker();
    let name: string;
    try {
      name = this.#resultName(resultId, w);
    } catch (e) {
      if (e instanceof AppError && e.code === 'gone') return;
      throw e;
    }
    await w.request({ op: 'discard', resultName: name });
  }

  async drop(name: string): Promise<void> {
    if (typeof name !== 'string' || !NAME.test(name)) throw new AppError('invalid', `${JSON.stringify(name)} is not a scratch object name`);
    await (await this.worker()).request({ op: 'drop', name });
  }

  async describe(): Promise<SchemaTable[]> {
    return (await (await this.worker()).request({ op: 'describe' })) as SchemaTable[];
  }

  async progress(): Promise<number | undefined> {
    const w = this.#worker;
    if (!this.#running || w?.alive !== true) return undefined;
    const p = await w.request({ op: 'progress' });
    return typeof p === 'number' ? p : undefined;
  }

  async cancel(): Promise<void> {
    const w = this.#worker;
    if (!this.#running || w?.alive !== true) return;
    const seq = this.#runSeq;
    await w.request({ op: 'cancel' });
    // A worker that does not stop within the grace is killed; the statement then fails as stopped.
    // Only that statement: a later one in the same session must not be killed by this timer.
    const t = setTimeout(() => {
      if (this.#running && this.#runSeq === seq) w.kill();
    }, this.#opts.killGraceMs);
    t.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    await this.#opening?.catch(() => undefined);
    await this.#worker?.end(this.#opts.killGraceMs);
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
    if (t.files.length === 0 || t.files.some((f) => !f.startsWith('/'))) problems.push(`extract[${i}].files must be a non-empty list of absolute paths`);
    if (t.key.length !== KEY_BYTES) problems.push(`extract[${i}].key must be ${KEY_BYTES} bytes`);
  }
  if (!spec.scratch.dir.startsWith('/')) problems.push('scratch.dir must be an absolute path');
  if (spec.scratch.key.length !== KEY_BYTES) problems.push(`scratch.key must be ${KEY_BYTES} bytes`);
  if (!(spec.scratch.quotaBytes >= 0)) problems.push('scratch.quotaBytes must be ≥ 0');
  const l = spec.limits;
  if (!(l.memoryBytes >= 16 * 1024 * 1024)) problems.push('limits.memoryBytes must be at least 16 MiB');
  if (!Number.isSafeInteger(l.threads) || l.threads < 1) problems.push('limits.threads must be a positive integer');
  if (l.tempDiskBytes !== 0) problems.push('limits.tempDiskBytes must be 0: the DuckDB sandbox never spills (spilled pages would be decrypted data on disk)');
  if (!(l.statementTimeoutMs > 0)) problems.push('limits.statementTimeoutMs must be positive');
  if (!Number.isSafeInteger(l.rowCap) || l.rowCap < 1) problems.push('limits.rowCap must be a positive integer');
  if (problems.length > 0) throw new AppError('invalid', `workspace spec: ${problems.join('; ')}`, { hint: 'fix the fields named' });
}

/**
 * Opens the DuckDB workspace engine (one sandboxed process per open workspace).
 *
 * @example
 *   const engine = openDuckDbSandbox({ maxSessions: 20 });
 *   const ws = await engine.open(spec);
 */
export function openDuckDbSandbox(options: DuckDbSandboxOptions = {}): WorkspaceEngine {
  const opts: Required<DuckDbSandboxOptions> = {
    maxSessions: options.maxSessions ?? 32,
    killGraceMs: options.killGraceMs ?? 3000,
    workerHeapMb: options.workerHeapMb ?? 256,
    maxStatementBytes: options.maxStatementBytes ?? 256 * 1024,
  };
  const sessions = new Set<SandboxSession>();
  return {
    async open(spec: WorkspaceSpec): Promise<WorkspaceSession> {
      validateSpec(spec);
      if (sessions.size >= opts.maxSessions) throw new AppError('unavailable', `the engine already runs ${opts.maxSessions} workspaces`, { hint: 'close an idle workspace or try again later' });
      const s: SandboxSession = new SandboxSession(spec, opts, () => sessions.delete(s));
      sessions.add(s);
      try {
        await s.worker();
      } catch (e) {
        await s.close();
        throw e;
      }
      return s;
    },
    async close(): Promise<void> {
      await Promise.all([...sessions].map((s) => s.close()));
    },
  };
}

export type { SandboxSession };
