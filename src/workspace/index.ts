/**
 * Workspace domain: a project's secure processing environment. Members query the project's
 * extract in a sandboxed engine session (one per project), with a scratch schema of their own
 * tables; every query recorded and audited; access ends with the permit. Other domains and the
 * adapters import only from here.
 */
export type { ExtractColumn, ExtractFile, ExtractManifest, ExtractSource, ExtractState, ExtractTableManifest } from './extract-contract.ts';
export {
  DEFAULT_WAIT_MS, END_OF_ACCESS, MAX_PAGE_ROWS, MAX_SQL_BYTES, MAX_WAIT_MS, parseQueryRequest, WorkspaceService,
  type ColumnCatalogue, type Query, type QueryError, type QueryRequest, type QueryStatus, type RowsPage, type SavedQuery, type SavedTableRows, type WorkspaceAudit, type WorkspaceColumn,
  type WorkspaceGovernance, type WorkspaceInfo, type WorkspaceKeys, type WorkspaceServiceOptions, type WorkspaceTable, type WorkspaceTool,
} from './service.ts';
export { assertCanChooseEngine, ENGINE_NAMES, EngineChoice, MAX_ENGINE_PAGE, ProjectEngines, type EngineChoiceDeps, type EngineFailureState, type EngineName, type ProjectEngineListing, type ProjectEngineState } from './engine-choice.ts';
export { CLEANUP_RETRY_MS, EngineCleanups, type CleanupPass, type CleanupReason, type EngineCleanup, type EngineCleanupDeps } from './engine-cleanup.ts';
