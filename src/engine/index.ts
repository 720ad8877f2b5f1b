export type { Engine, EngineSession, EngineValue } from './port.ts';
export { openDuckDb, duckSession, sqlIdent, sqlString, type DuckDbOptions } from './duckdb.ts';
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
export { openDuckDbSandbox, type DuckDbSandboxOptions } from './duckdb-sandbox/sandbox.ts';
export type { BuildTableInput, BuiltTable, ExtractBuilder, ExtractPlan, PlanColumn, PlanPersonSource, PlanPopulation, PlanPredicate, PlanTable, PlanYears, SourceFiles } from './extract-port.ts';
