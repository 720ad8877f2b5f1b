/**
 * What a closed project still owes the engines that keep copies of their own (Trino: the
 * project's workspace schema and, with the SSE-C store, its catalog), paid even when the engine
 * was unreachable at the closure.
 *
 * At closure the project's keys are destroyed first (crypto-shredding: a copy left anywhere is
 * unreadable); then every engine the project was built on is asked to drop its copy. An engine
 * that cannot be reached then would keep it for good, with nothing recording that the drop is
 * owed. Here the debt is written before the drop is tried (`engine_cleanups`, migration 0024,
 * audited `<engine>.cleanup.owed`), and each attempt is audited `<engine>.cleanup` (outcome
 * `success`, the row then `done`; or `failure`, with the error, the row still `owed`). What is
 * owed is tried again:
 * - at server start (`retry('start')`, like the catalog keeper's start pass), which also records
 *   the debts of projects closed before this table existed or by a process stopped between the
 *   closure and the record: a closed project with an extract built on such an engine and no row;
 * - every `intervalMs` while something is owed (`startRetrying`): the first pass once the engine
 *   answers again pays it;
 * - when an operator asks (`POST /api/v1/operator/engine-cleanups/retry`).
 * Operators see what is owed on `GET /api/v1/operator/engine-cleanups`, and `/healthz` counts it
 * (a count only: the health endpoint is public and names no project).
 *
 * Drops are idempotent on the engine's side (`DROP SCHEMA IF EXISTS`, a catalog dropped only if
 * present), so a retry after a drop that succeeded but was not recorded is harmless.
 *
 * @example
 *   const cleanups = new EngineCleanups({ db, audit, engines, keeping: ['trino'], drop: (p, e) => builder.destroyProjectOn(p, e) });
 *   await cleanups.destroyProject('p1');   // recorded, then dropped (or left owed)
 *   const jobs = cleanups.startRetrying(60_000);
 */
import type { AuditLog } from '../audit/index.ts';
import type { Db } from '../db/index.ts';
import type { EngineName, ProjectEngines } from './engine-choice.ts';

/** How often owed drops are tried again by default (one cheap query when nothing is owed). */
export const CLEANUP_RETRY_MS = 60_000;

/** A drop an engine still owes (or paid), as operators see it. */
export interface EngineCleanup {
  readonly projectId: string;
  readonly engine: EngineName;
  readonly state: 'owed' | 'done';
  readonly owedSince: string;
  readonly attempts: number;
  readonly lastAttemptAt: string | null;
  readonly lastError: string | null;
  readonly doneAt: string | null;
}

/** Why an attempt was made, as audited. */
export type CleanupReason = 'closure' | 'start' | 'retry' | 'operator';

export interface CleanupPass {
  readonly cleared: ReadonlyArray<{ readonly projectId: string; readonly engine: EngineName }>;
  readonly failed: ReadonlyArray<{ readonly projectId: string; readonly engine: EngineName; readonly error: string }>;
}

export interface EngineCleanupDeps {
  readonly db: Db;
  readonly audit: Pick<AuditLog, 'transaction' | 'record'>;
  readonly engines: Pick<ProjectEngines, 'enginesUsed' | 'defaultEngine'>;
  /** The engines of this deployment that keep copies of their own (have something to drop). */
  readonly keeping: readonly EngineName[];
  /** Drops everything `engine` keeps of the project (the routing builder's `destroyProjectOn`). */
  readonly drop: (projectId: string, engine: EngineName) => Promise<void>;
  /** Told of a failed drop (already audited and left owed), never with data. */
  readonly onError?: (projectId: string, e: unknown) => void;
}

const SERVICE = { kind: 'service', id: 'workspace.cleanup' } as const;

interface Row {
  project_id: string;
  engine: EngineName;
  state: 'owed' | 'done';
  owed_since: Date | string;
  attempts: number;
  last_attempt_at: Date | string | null;
  last_error: string | null;
  done_at: Date | string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : (d instanceof Date ? d : new Date(d)).toISOString());

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 300) ?? 'error';
}

export class EngineCleanups {
  readonly #d: EngineCleanupDeps;
  /** One pass at a time in this process: a closure and a periodic retry never drop the same copy at once. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(deps: EngineCleanupDeps) {
    this.#d = deps;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(fn, fn);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  /**
   * Closure: records what each engine the project was built on owes, then drops it. An engine
   * that fails leaves its drop owed (audited, told to `onError`), and this resolves: the closure
   * itself is done, the rest is retried.
   */
  async destroyProject(projectId: string): Promise<CleanupPass> {
    return this.#serial(async () => {
      const engines = (await this.#d.engines.enginesUsed(projectId)).filter((e) => this.#d.keeping.includes(e));
      for (const engine of engines) await this.#owe(projectId, engine, 'closure');
      return this.#pay(engines.map((engine) => ({ projectId, engine })), 'closure');
    });
  }

  /**
   * Tries every owed drop again. At start (`reason` `start`) it first records the debts nobody
   * recorded: closed projects built on an engine that keeps copies, with no row yet.
   */
  async retry(reason: Exclude<CleanupReason, 'closure'> = 'retry'): Promise<CleanupPass> {
    return this.#serial(async () => {
      if (reason === 'start') {
        for (const r of await this.#unrecorded()) await this.#owe(r.projectId, r.engine, 'start');
      }
      const owed = await this.#d.db.query<{ project_id: string; engine: EngineName }>("SELECT project_id, engine FROM engine_cleanups WHERE state = 'owed' ORDER BY owed_since, project_id, engine");
      return this.#pay(owed.filter((r) => this.#d.keeping.includes(r.engine)).map((r) => ({ projectId: r.project_id, engine: r.engine })), reason);
    });
  }

  /** Drops still owed (oldest first), or every row with `all` (paid ones too). */
  async list(o: { readonly all?: boolean } = {}): Promise<EngineCleanup[]> {
    const rows = await this.#d.db.query<Row>(`SELECT * FROM engine_cleanups ${o.all === true ? '' : "WHERE state = 'owed'"} ORDER BY owed_since, project_id, engine`);
    return rows.map((r) => ({
      projectId: r.project_id, engine: r.engine, state: r.state, owedSince: iso(r.owed_since) ?? '', attempts: Number(r.attempts),
      lastAttemptAt: iso(r.last_attempt_at), lastError: r.last_error, doneAt: iso(r.done_at),
    }));
  }

  /** How many drops are owed (for /healthz: a count, no project named). */
  async owedCount(): Promise<number> {
    const [r] = await this.#d.db.query<{ n: string | number }>("SELECT count(*) AS n FROM engine_cleanups WHERE state = 'owed'");
    return Number(r?.n ?? 0);
  }

  /**
   * Tries what is owed every `intervalMs` (one query when nothing is); `stop` waits for a pass
   * under way. Failures are audited per drop and told to `onError`.
   */
  startRetrying(intervalMs: number = CLEANUP_RETRY_MS, onError?: (e: unknown) => void): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(async () => {
        if ((await this.owedCount()) > 0) await this.retry('retry');
      }).catch((e: unknown) => onError?.(e));
    }, intervalMs);
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }

  /** Closed projects built on an engine that keeps copies, whose drop no row records. */
  async #unrecorded(): Promise<Array<{ projectId: string; engine: EngineName }>> {
    if (this.#d.keeping.length === 0) return [];
    const rows = await this.#d.db.query<{ project_id: string; engine: EngineName }>(
      `SELECT DISTINCT p.id AS project_id, u.engine FROM governance_projects p
         CROSS JOIN LATERAL (SELECT coalesce(e.engine, $1) AS engine FROM workspace_extracts e WHERE e.project_id = p.id
                             UNION SELECT coalesce(p.engine, $1)) u
        WHERE p.status = 'closed' AND u.engine = ANY($2::text[])
          AND NOT EXISTS (SELECT 1 FROM engine_cleanups c WHERE c.project_id = p.id AND c.engine = u.engine)
        ORDER BY 1, 2`,
      [this.#d.engines.defaultEngine, [...this.#d.keeping]],
    );
    return rows.map((r) => ({ projectId: r.project_id, engine: r.engine }));
  }

  /** Records the drop as owed (a paid one owed again: a later closure of the same id cannot happen, but a re-run must not hide a debt). */
  async #owe(projectId: string, engine: EngineName, reason: CleanupReason): Promise<void> {
    await this.#d.audit.transaction({ actor: SERVICE, action: `${engine}.cleanup.owed`, target: `project:${projectId}`, details: { engine, reason } }, async (tx) => {
      await tx.query(
        `INSERT INTO engine_cleanups (project_id, engine, state) VALUES ($1, $2, 'owed')
         ON CONFLICT (project_id, engine) DO UPDATE SET state = 'owed', done_at = NULL`,
        [projectId, engine],
      );
    });
  }

  async #pay(items: ReadonlyArray<{ readonly projectId: string; readonly engine: EngineName }>, reason: CleanupReason): Promise<CleanupPass> {
    const cleared: Array<{ projectId: string; engine: EngineName }> = [];
    const failed: Array<{ projectId: string; engine: EngineName; error: string }> = [];
    for (const { projectId, engine } of items) {
      const started = performance.now();
      let error: string | undefined;
      try {
        await this.#d.drop(projectId, engine);
      } catch (e) {
        error = firstLine(e);
        this.#d.onError?.(projectId, e);
      }
      const ms = Math.round(performance.now() - started);
      const target = `project:${projectId}`;
      if (error === undefined) {
        await this.#d.audit.transaction({ actor: SERVICE, action: `${engine}.cleanup`, target, details: { engine, reason, ms } }, async (tx) => {
          const [r] = await tx.query<{ attempts: number }>("UPDATE engine_cleanups SET state = 'done', done_at = now(), attempts = attempts + 1, last_attempt_at = now() WHERE project_id = $1 AND engine = $2 RETURNING attempts", [projectId, engine]);
          tx.addDetails({ attempts: Number(r?.attempts ?? 1) });
        });
        cleared.push({ projectId, engine });
      } else {
        // The failed attempt is a state change (attempts, last error) recorded with its event, outcome failure.
        const [r] = await this.#d.db.query<{ attempts: number }>('UPDATE engine_cleanups SET attempts = attempts + 1, last_attempt_at = now(), last_error = $3 WHERE project_id = $1 AND engine = $2 RETURNING attempts', [projectId, engine, error]);
        await this.#d.audit.record({ actor: SERVICE, action: `${engine}.cleanup`, target, outcome: 'failure', details: { engine, reason, ms, error, attempts: Number(r?.attempts ?? 1) } });
        failed.push({ projectId, engine, error });
      }
    }
    return { cleared, failed };
  }
}
