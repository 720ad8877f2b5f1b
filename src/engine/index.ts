/**
 * The engine ports (`Engine` for ingestion and migration, `WorkspaceEngine` for workspaces) and
 * DuckDB's SQL quoting. No concrete opener is exported here: main.ts (and tests, benchmarks)
 * import `./duckdb.ts` and `./duckdb-sandbox/sandbox.ts` directly (rule only-main-picks-concrete).
 */
export type { Engine, EngineSession, EngineValue } from './port.ts';
export { sqlIdent, sqlString } from './sql.ts';
export type {
  CellValue,
  ExtractTable,
  ResultColumn,
  ResultPage,
  RunOptions,
  SavedObject,
  SchemaTable,
  ScratchSpec,
  StatementResult,
  WorkspaceEngine,
  WorkspaceLimits,
  WorkspaceSession,
  WorkspaceSpec,
} from './workspace-port.ts';
export { ENGINE_PATH_PREFIX } from './extract-port.ts';
export type { BuildTableInput, BuiltTable, ExtractBuilder, ExtractPlan, PlanColumn, PlanPersonSource, PlanPopulation, PlanPredicate, PlanTable, PlanYears, SourceFiles } from './extract-port.ts';
export { routingExtractBuilder, routingWorkspaceEngine, type EngineResolver, type RoutingExtractBuilder } from './routing.ts';
