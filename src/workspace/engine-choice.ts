/**
 * The engine each project is on (issue 17 item 4; docs/workspace.md "Engines"). The deployment
 * has a default (ENCLAVE_ENGINE) and may run a second engine (Trino beside the embedded DuckDB);
 * the operator puts a project on either. Moving a project:
 *
 * 1. records the choice (`governance_projects.engine`), audited `project.engine.change`;
 * 2. rebuilds the extract on the new engine in the background (a new generation, recorded with
 *    its engine); members keep working on the old engine meanwhile;
 * 3. once the generation is ready the workspace opens on the new engine (the next statement), and
 *    the old engine's copy is dropped: `project.engine.rebuilt`;
 * 4. if the build fails, the choice goes back to the engine the project was on and the partial
 *    copy is dropped: `project.engine.revert` (failure), the workspace never having left the old
 *    engine.
 *
 * At closure every engine deletes what it keeps of the project (the routing builder's
 * `destroyProjectOn`), whichever it was on; a drop an unreachable engine cannot do then is owed
 * and retried until done (`engine-cleanup.ts`).
 *
 * @example
 *   const choice = new EngineChoice({ db, audit, resolver, extracts, dropExtract });
 *   await choice.set(operator, 'p1', { engine: 'trino' });   // 202: rebuilt in the background
 */
import type { AuditLog } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { AppError, isAppError } from '../errors.ts';
import { projectEngine, projectEngines, setProjectEngine, setProjectEngineFailure, type ProjectEngineRow, type ProjectStatus } from '../governance/index.ts';
import { actorOf, type Principal } from '../identity/index.ts';
import type { ExtractManifest } from './extract-contract.ts';

/** Engines a project may be put on (the migration's check constraint says the same). */
export const ENGINE_NAMES = ['duckdb', 'trino'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/** Project statuses whose workspace has ended: their engine no longer changes. */
const ENDED: ReadonlySet<ProjectStatus> = new Set<ProjectStatus>(['closed', 'revoked', 'rejected', 'withdrawn', 'expired']);

export interface ProjectEngineState {
  readonly projectId: string;
  /** The engine the project is on: its own choice, or the deployment's default. */
  readonly engine: EngineName;
  /** True when the project follows the deployment's default (no engine of its own recorded). */
  readonly isDefault: boolean;
  /** The deployment's default engine (ENCLAVE_ENGINE). */
  readonly defaultEngine: EngineName;
  /** The engines this deployment runs. */
  readonly available: readonly EngineName[];
  /** The engine the workspace opens on now (its ready extract's), or null when no extract is ready. */
  readonly serving: EngineName | null;
  /** True while the extract is being rebuilt on `engine` (the workspace still serves from `serving`). */
  readonly moving: boolean;
  /**
   * The last move that failed (the project was put back, `project.engine.revert`): the engine it
   * was moving to, when it was put back, and why; null when none failed since the last move that
   * succeeded.
   */
  readonly lastFailure: EngineFailureState | null;
}

export interface EngineFailureState {
  readonly engine: EngineName;
  readonly at: string;
  readonly reason: string;
}

/** One project of the operators' list: its engine state and where its governance stands. */
export interface ProjectEngineListing extends ProjectEngineState {
  readonly status: ProjectStatus;
}

/** The operators' list of engines is paged: at most this many projects an answer. */
export const MAX_ENGINE_PAGE = 500;

/**
 * Which engine serves a project, read from the metadata database: the composition root gives
 * these to the routing engine and builder (`src/engine/routing.ts`).
 */
export class ProjectEngines {
  readonly #db: Queryable;
  readonly defaultEngine: EngineName;
  readonly available: readonly EngineName[];

  constructor(db: Queryable, o: { readonly defaultEngine: EngineName; readonly available: readonly EngineName[] }) {
    this.#db = db;
    this.defaultEngine = o.defaultEngine;
    this.available = o.available;
  }

  /** The engine a project is on (its choice, else the default). */
  async chosen(projectId: string, q: Queryable = this.#db): Promise<EngineName> {
    const p = await projectEngine(q, projectId);
    return asEngine(p?.engine ?? null) ?? this.defaultEngine;
  }

  /** The engine a build of the project's extract runs on: the engine recorded with the generation being built, else its choice. */
  async extractEngineOf(projectId: string): Promise<EngineName> {
    return this.#generationEngine(projectId, 'building');
  }

  /** Every engine the project's extract was ever built on, and the one it is on: where closure deletes its copies. */
  async enginesUsed(projectId: string): Promise<EngineName[]> {
    const rows = await this.#db.query<{ engine: string | null }>('SELECT DISTINCT engine FROM workspace_extracts WHERE project_id = $1', [projectId]);
    return [...new Set([...rows.map((r) => asEngine(r.engine) ?? this.defaultEngine), await this.chosen(projectId)])];
  }

  /** The engine the workspace opens on: its ready generation's, else its choice. */
  async workspaceEngineOf(projectId: string): Promise<EngineName> {
    return this.#generationEngine(projectId, 'ready');
  }

  /** The engine recorded with the project's generation in `state`, else the project's choice. */
  async #generationEngine(projectId: string, state: 'building' | 'ready'): Promise<EngineName> {
    const [r] = await this.#db.query<{ engine: string | null }>('SELECT engine FROM workspace_extracts WHERE project_id = $1 AND state = $2', [projectId, state]);
    return r === undefined ? this.chosen(projectId) : asEngine(r.engine) ?? this.defaultEngine;
  }
}

function asEngine(s: string | null): EngineName | null {
  return (ENGINE_NAMES as readonly string[]).includes(s ?? '') ? (s as EngineName) : null;
}

export interface EngineChoiceDeps {
  readonly db: Db;
  readonly audit: Pick<AuditLog, 'transaction' | 'record'>;
  readonly engines: ProjectEngines;
  /** The extract service: builds the project's extract on the engine it is on. */
  readonly extracts: {
    materialise(projectId: string, o?: { readonly force?: boolean }): Promise<ExtractManifest | null>;
    current(projectId: string): Promise<ExtractManifest | null>;
    /** The build under way, if any. */
    progress?(projectId: string): Promise<unknown>;
  };
  /** Drops a project's extract kept by one engine (the routing builder's `dropExtract`). */
  readonly dropExtract: (projectId: string, engine: EngineName) => Promise<void>;
  /** Told of a background move's failure (already audited and reverted). */
  readonly onError?: (projectId: string, e: unknown) => void;
}

const SERVICE = { kind: 'service', id: 'workspace.engine' } as const;

export class EngineChoice {
  readonly #d: EngineChoiceDeps;
  /** Moves under way in this process, by project. */
  readonly #moving = new Map<string, Promise<void>>();
  /** Requests being decided in this process, by project. */
  readonly #deciding = new Set<string>();

  constructor(deps: EngineChoiceDeps) {
    this.#d = deps;
  }

  /** The project's engine, what serves it now, and the engines available (operators). */
  async get(p: Principal, projectId: string): Promise<ProjectEngineState> {
    assertCanChooseEngine(p);
    const row = await projectEngine(this.#d.db, projectId);
    if (row === null) throw noProject(projectId);
    return this.#state(projectId, row);
  }

  /**
   * Every project's engine state, by project id, a page at a time (operators): two queries
   * whatever the page's size, not one request per project.
   */
  async list(p: Principal, page: { readonly limit: number; readonly offset: number }): Promise<{ readonly projects: ProjectEngineListing[]; readonly total: number }> {
    assertCanChooseEngine(p);
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_ENGINE_PAGE) {
      throw new AppError('invalid', `limit must be from 1 to ${String(MAX_ENGINE_PAGE)}`, { hint: 'e.g. ?limit=100&offset=100 for the second hundred', details: { field: 'limit' } });
    }
    if (!Number.isInteger(page.offset) || page.offset < 0) throw new AppError('invalid', 'offset must be a whole number', { hint: 'e.g. ?offset=100', details: { field: 'offset' } });
    const { rows, total } = await projectEngines(this.#d.db, page);
    const ready = await this.#d.db.query<{ project_id: string; engine: string | null }>(
      "SELECT project_id, engine FROM workspace_extracts WHERE state = 'ready' AND project_id = ANY($1::text[])", [rows.map((r) => r.id)],
    );
    const serving = new Map(ready.map((r) => [r.project_id, asEngine(r.engine) ?? this.#d.engines.defaultEngine]));
    return { projects: rows.map((r) => ({ ...this.#stateOf(r, serving.get(r.id) ?? null), status: r.status })), total };
  }

  /**
   * Puts a project on an engine: `{ "engine": "duckdb" | "trino" }`. Answers at once; `accepted`
   * is true when a rebuild was started (follow it with `get` or the audit log), false when the
   * project's extract is already on that engine (or it has none yet: it will be built there).
   * A refused request changes nothing.
   */
  async set(p: Principal, projectId: string, body: unknown, requestId?: string): Promise<{ readonly accepted: boolean; readonly state: ProjectEngineState }> {
    assertCanChooseEngine(p);
    const requested = typeof body === 'object' && body !== null && 'engine' in body ? body.engine : undefined;
    const engine = typeof requested === 'string' ? asEngine(requested) : null;
    if (engine === null) {
      throw new AppError('invalid', `engine must be one of ${ENGINE_NAMES.join(', ')}`, { hint: 'e.g. {"engine": "trino"}', details: { field: 'engine' } });
    }
    const { available } = this.#d.engines;
    if (!available.includes(engine)) {
      throw new AppError('conflict', `this deployment does not run the ${engine} engine`, {
        hint: engine === 'trino' ? 'the operator configures Trino beside DuckDB with ENCLAVE_TRINO_URL and ENCLAVE_TRINO_RULES_FILE (docs/deploy/trino.md), then restarts the server' : `available here: ${available.join(', ')}`,
        details: { engine, available: [...available] },
      });
    }
    if (this.#moving.has(projectId) || this.#deciding.has(projectId)) {
      const row = await projectEngine(this.#d.db, projectId);
      throw new AppError('conflict', `project ${projectId} is already moving to the ${row?.engine ?? 'other'} engine`, { hint: 'wait until its extract is rebuilt (enclave projects engine shows it), then ask again' });
    }
    // claimed before the first await: two requests at once cannot both start a move
    this.#deciding.add(projectId);
    try {
      return await this.#set(p, projectId, engine, requestId);
    } finally {
      this.#deciding.delete(projectId);
    }
  }

  async #set(p: Principal, projectId: string, engine: EngineName, requestId: string | undefined): Promise<{ readonly accepted: boolean; readonly state: ProjectEngineState }> {
    const before = await projectEngine(this.#d.db, projectId);
    if (before === null) throw noProject(projectId);
    if (ENDED.has(before.status)) {
      throw new AppError('conflict', `project ${projectId} is ${before.status}: its workspace has ended, and its engine no longer changes`, { hint: 'only a project whose workspace may still run can be moved' });
    }
    // What the workspace serves from now; or, before the first extract is ready, the engine its build runs on.
    const building = (await this.#d.extracts.progress?.(projectId)) ?? null;
    const servingBefore = (await this.#serving(projectId)) ?? (building === null ? null : await this.#d.engines.extractEngineOf(projectId));
    const from = asEngine(before.engine) ?? this.#d.engines.defaultEngine;
    const rebuild = servingBefore !== null && servingBefore !== engine;
    if (before.engine === engine && !rebuild) return { accepted: false, state: await this.#state(projectId, before) };
    await this.#d.audit.transaction({
      actor: actorOf(p), action: 'project.engine.change', target: `project:${projectId}`,
      details: { from, to: engine, wasDefault: before.engine === null, serving: servingBefore, rebuild }, ...(requestId === undefined ? {} : { requestId }),
    }, async (tx) => {
      const locked = await projectEngine(tx, projectId, true);
      if (locked === null) throw noProject(projectId);
      await setProjectEngine(tx, projectId, engine);
    });
    if (rebuild) this.#moving.set(projectId, this.#move(projectId, { previous: before.engine, from: servingBefore, to: engine }));
    return { accepted: rebuild, state: await this.#state(projectId, { ...before, engine }) };
  }

  /**
   * At start: takes up the moves a stopped process left half-done (the choice recorded, the
   * workspace still served by another engine): the extract is built on the recorded engine (a
   * build left running is resumed by the extract service, not started twice), then the project
   * switches, or goes back to the engine that serves it.
   */
  async resume(): Promise<void> {
    const rows = await this.#d.db.query<{ id: string; engine: string; status: ProjectStatus }>('SELECT id, engine, status FROM governance_projects WHERE engine IS NOT NULL ORDER BY id');
    for (const r of rows) {
      const to = asEngine(r.engine);
      if (to === null || ENDED.has(r.status) || this.#moving.has(r.id) || !this.#d.engines.available.includes(to)) continue;
      const serving = await this.#serving(r.id);
      if (serving === null || serving === to) continue;
      this.#moving.set(r.id, this.#move(r.id, { previous: serving, from: serving, to, resumed: true }));
    }
  }

  /** Waits until every move under way in this process has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#moving.size > 0) await Promise.allSettled([...this.#moving.values()]);
  }

  async #move(projectId: string, m: { readonly previous: string | null; readonly from: EngineName; readonly to: EngineName; readonly resumed?: boolean }): Promise<void> {
    try {
      // Resumed: a build on the new engine may be under way already; the extract service builds
      // again only if the ready extract is not on the project's engine.
      const built = await this.#d.extracts.materialise(projectId, { force: m.resumed !== true });
      if (built === null || (built.engine ?? this.#d.engines.defaultEngine) !== m.to) {
        throw new AppError('conflict', `the extract of project ${projectId} was not rebuilt on ${m.to}${built === null ? ': no permit is in force' : ''}`);
      }
      // The workspace opens on the new engine from the next statement; the old copy goes.
      let dropped = true;
      await this.#d.dropExtract(projectId, m.from).catch((e: unknown) => {
        dropped = false;
        this.#d.onError?.(projectId, e);
      });
      // a move that succeeded ends what the page says of an earlier failure
      await this.#d.audit.transaction({ actor: SERVICE, action: 'project.engine.rebuilt', target: `project:${projectId}`, details: { from: m.from, to: m.to, generation: built.generation, oldCopyDropped: dropped, resumed: m.resumed === true } }, async (tx) => {
        await setProjectEngineFailure(tx, projectId, null);
      });
    } catch (e) {
      const error = isAppError(e) ? e.message.slice(0, 500) : 'the rebuild failed unexpectedly (see the server log)';
      await this.#d.audit.transaction({ actor: SERVICE, action: 'project.engine.revert', target: `project:${projectId}`, details: { from: m.to, to: m.from, error, resumed: m.resumed === true } }, async (tx) => {
        const now = await projectEngine(tx, projectId, true);
        // put back only our own change (a later one, or a closure, stands)
        if (now?.engine === m.to) await setProjectEngine(tx, projectId, m.previous);
        // the reason stays beside the choice for the operators' page (the same text as the event's)
        await setProjectEngineFailure(tx, projectId, { engine: m.to, reason: error });
      });
      await this.#d.dropExtract(projectId, m.to).catch(() => undefined);
      this.#d.onError?.(projectId, e);
    } finally {
      this.#moving.delete(projectId);
    }
  }

  async #serving(projectId: string): Promise<EngineName | null> {
    const current = await this.#d.extracts.current(projectId);
    return current === null ? null : asEngine(current.engine ?? null) ?? this.#d.engines.defaultEngine;
  }

  async #state(projectId: string, row: Pick<ProjectEngineRow, 'engine' | 'lastFailure'>): Promise<ProjectEngineState> {
    return this.#stateOf({ ...row, id: projectId }, await this.#serving(projectId));
  }

  #stateOf(row: Pick<ProjectEngineRow, 'id' | 'engine' | 'lastFailure'>, serving: EngineName | null): ProjectEngineState {
    const { defaultEngine, available } = this.#d.engines;
    const engine = asEngine(row.engine) ?? defaultEngine;
    const f = row.lastFailure;
    const failedTo = f === null ? null : asEngine(f.engine);
    return {
      projectId: row.id, engine, isDefault: row.engine === null, defaultEngine, available, serving,
      moving: this.#moving.has(row.id) || (serving !== null && serving !== engine),
      lastFailure: f === null || failedTo === null ? null : { engine: failedTo, at: f.at, reason: f.reason },
    };
  }
}

/** Only operators choose engines: a deployment matter, not a project member's. */
export function assertCanChooseEngine(p: Principal): void {
  if (!p.roles.has('operator') || p.projectScope !== null) {
    throw new AppError('forbidden', 'only an operator chooses the engine a project runs on', { hint: 'members see their project\'s engine on the workspace page; ask the platform\'s operator to move it' });
  }
}

function noProject(id: string): AppError {
  return new AppError('not_found', `no project ${id}`, { hint: 'list projects with: enclave projects ls' });
}
