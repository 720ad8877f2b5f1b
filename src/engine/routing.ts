/**
 * One deployment, several engines: the routing workspace engine and the routing extract builder
 * implement the same ports as each engine (`WorkspaceEngine`, `ExtractBuilder`) and hand every
 * call to the engine of the project it concerns, as a resolver says (issue 17 item 4: the
 * operator puts a project on DuckDB or on Trino). The workspace service, the PostgreSQL endpoint,
 * the portal and the CLI see one engine and behave the same whichever answers.
 *
 * The resolvers are given by the composition root (they read the project's choice and the engine
 * its extract was built on, `src/workspace/engine-choice.ts`); this module knows no concrete engine.
 *
 * @example
 *   const engine = routingWorkspaceEngine({ engines: { duckdb, trino }, engineOf: (p) => choice.workspaceEngineOf(p) });
 *   const builder = routingExtractBuilder({ builders: { duckdb: db, trino: tb }, engineOf: (p) => choice.extractEngineOf(p) });
 */
import { AppError } from '../errors.ts';
import type { BuildTableInput, BuiltTable, ExtractBuilder, ExtractPlan } from './extract-port.ts';
import type { WorkspaceEngine, WorkspaceSession, WorkspaceSpec } from './workspace-port.ts';

/** Which engine (by name, e.g. `duckdb`, `trino`) serves a project. */
export type EngineResolver = (projectId: string) => Promise<string>;

function pick<T>(named: Readonly<Record<string, T | undefined>>, name: string, projectId: string): T {
  const e = Object.hasOwn(named, name) ? named[name] : undefined;
  if (e === undefined) {
    throw new AppError('unavailable', `project ${projectId} is on the ${name} engine, which this deployment does not run`, {
      hint: `configure ${name} (docs/deploy/trino.md), or put the project back on an engine this deployment runs: enclave projects engine ${projectId} <${Object.keys(named).join('|')}>`,
      details: { engine: name, available: Object.keys(named) },
    });
  }
  return e;
}

/**
 * The workspace engine of a deployment with several: `open` goes to the engine `engineOf` names
 * for the workspace's project; `close` closes them all.
 */
export function routingWorkspaceEngine(o: { readonly engines: Readonly<Record<string, WorkspaceEngine>>; readonly engineOf: EngineResolver }): WorkspaceEngine {
  return {
    async open(spec: WorkspaceSpec): Promise<WorkspaceSession> {
      return pick(o.engines, await o.engineOf(spec.workspaceId), spec.workspaceId).open(spec);
    },
    async close(): Promise<void> {
      await settleAll(Object.values(o.engines).map((e) => () => e.close()));
    },
  };
}

export interface RoutingExtractBuilder extends ExtractBuilder {
  /**
   * Drops a project's extract kept by one engine (its copy there, once the project has moved to
   * another), the member's saved objects kept. File-based engines have nothing to drop: the
   * extract service deletes a superseded generation's files.
   */
  dropExtract(projectId: string, engine: string): Promise<void>;
  /**
   * Deletes what one engine keeps of a project (its copy, saved objects included), for the
   * closure's owed drops (`src/workspace/engine-cleanup.ts`) that are tried engine by engine.
   */
  destroyProjectOn(projectId: string, engine: string): Promise<void>;
  /** The engines it routes to. */
  readonly engines: readonly string[];
}

/**
 * The extract builder of a deployment with several engines: a project's tables are built by the
 * engine `engineOf` names for it; at the project's end (`destroyProject`) every engine deletes
 * what it keeps of the project, whichever it was on.
 */
export function routingExtractBuilder(o: {
  readonly builders: Readonly<Record<string, ExtractBuilder>>;
  readonly engineOf: EngineResolver;
  /**
   * The engines that may hold something of a project (every engine it was ever built on), so that
   * closing a project never waits on an engine it never used; default: every engine.
   */
  readonly enginesOf?: (projectId: string) => Promise<readonly string[]>;
}): RoutingExtractBuilder {
  const of = async (projectId: string): Promise<ExtractBuilder> => pick(o.builders, await o.engineOf(projectId), projectId);
  return {
    engines: Object.keys(o.builders),
    async buildTable(input: BuildTableInput): Promise<BuiltTable> {
      if (input.projectId === undefined) throw new AppError('internal', 'the routing extract builder needs the project (BuildTableInput.projectId)');
      return (await of(input.projectId)).buildTable(input);
    },
    async prepare(plan: ExtractPlan): Promise<void> {
      await (await of(plan.projectId)).prepare?.(plan);
    },
    async destroyProject(projectId: string): Promise<void> {
      // Every engine the project was built on (by default every engine): a copy left behind would outlive the closure.
      const used = o.enginesOf === undefined ? undefined : new Set(await o.enginesOf(projectId));
      await settleAll(Object.entries(o.builders).filter(([name]) => used === undefined || used.has(name)).map(([, b]) => async () => b.destroyProject?.(projectId)));
    },
    async destroyProjectOn(projectId: string, engine: string): Promise<void> {
      await pick(o.builders, engine, projectId).destroyProject?.(projectId);
    },
    async dropExtract(projectId: string, engine: string): Promise<void> {
      // An empty plan: every extract table of an earlier generation goes, saved objects stay.
      await pick(o.builders, engine, projectId).prepare?.({ projectId, permitVersion: 0, years: { from: 0, to: 0 }, tables: [] });
    },
    async close(): Promise<void> {
      await settleAll(Object.values(o.builders).map((b) => () => b.close()));
    },
  };
}

/** Runs every step even when one fails; then throws the first failure. */
async function settleAll(steps: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(steps.map((s) => s()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}
