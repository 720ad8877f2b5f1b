export type { Engine, EngineSession, EngineValue } from './port.ts';
export { openDuckDb, duckSession, sqlIdent, sqlString, type DuckDbOptions } from './duckdb.ts';
