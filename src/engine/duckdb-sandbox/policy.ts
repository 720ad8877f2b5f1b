/**
 * The statement policy of the DuckDB workspace sandbox, applied to DuckDB's own parse tree
 * (`json_serialize_sql`), never to the SQL text: a statement runs only if it is exactly one
 * query whose every table reference is the extract, the member's scratch schema or a CTE in
 * scope, and whose every function is neither a file/system table function nor one that reveals
 * settings, paths or secrets.
 *
 * The walk is generic (every key of every node is visited), so a construct this file does not
 * know is still checked for the keys that matter (`function_name`, `table_name`, `type`); node
 * and table-reference types outside the known sets are refused rather than trusted.
 */

/** Why a statement was refused, for the member (message) and the audit log (reason). */
export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
  readonly hint: string;
}

export type RefusalReason =
  | 'empty'
  | 'syntax'
  | 'not_a_query'
  | 'multiple_statements'
  | 'table_function'
  | 'function'
  | 'table'
  | 'schema'
  | 'parameter'
  | 'construct'
  | 'too_complex';

export interface PolicyContext {
  /** Extract table names (lower case). */
  readonly extract: ReadonlySet<string>;
  /** The member's scratch tables and views (lower case). */
  readonly scratch: ReadonlySet<string>;
}

/** Table functions a member may call: generators only, none reads a file or the catalogue. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['range', 'generate_series', 'unnest']);

/**
 * Functions that read files, run SQL given as a string (deferring the check), or reveal
 * settings, paths, secrets, keys or the catalogue (view definitions hold file paths).
 */
export const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  'current_setting', 'getenv', 'getvariable', 'query', 'query_table', 'json_execute_serialized_sql',
  'which_secret', 'sql_auto_complete', 'check_peg_parser', 'glob', 'sniff_csv', 'checkpoint',
  'force_checkpoint', 'summary', 'seq_scan', 'repeat_row', 'truncate_duckdb_logs',
  'parse_duckdb_log_message', 'current_schemas', 'icu_calendar_names', 'has_table_privilege',
]);
/** Name prefixes of the same families (DuckDB names its system functions by family). */
export const DENIED_FUNCTION_PREFIXES: readonly string[] = [
  'duckdb_', 'pragma_', 'read_', 'parquet_', 'pg_', 'sqlite_', 'enable_', 'disable_', 'test_', 'arrow_', 'iceberg_', 'delta_',
];

const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);
/** Table-reference types DuckDB's serializer knows that a member's query must never contain. */
const REFUSED_TABLE_REFS = new Set(['COLUMN_DATA', 'DELIM_GET', 'BOUND_TABLE_REF', 'INVALID', 'CTE']);
const MAX_DEPTH = 400;

class Refused extends Error {
  readonly refusal: Refusal;
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.refusal = refusal;
  }
}

function refuse(reason: RefusalReason, message: string, hint: string): never {
  throw new Refused({ reason, message, hint });
}

const QUERY_HINT = 'a workspace runs one query at a time (SELECT, WITH, VALUES, FROM, DESCRIBE); save results with "save as"; files, settings, extensions and other databases are not reachable';

/**
 * Checks the output of `json_serialize_sql(sql)`; returns undefined when the statement may
 * run, else the refusal.
 *
 * @example
 *   const verdict = checkSerializedStatement(JSON.parse(json), { extract: new Set(['t']), scratch: new Set() });
 */
export function checkSerializedStatement(serialized: unknown, ctx: PolicyContext): Refusal | undefined {
  try {
    const root = asRecord(serialized);
    if (root === undefined) refuse('syntax', 'the statement could not be parsed', 'check the SQL syntax');
    if (root['error'] === true) {
      const message = typeof root['error_message'] === 'string' ? root['error_message'] : 'parse error';
      // DuckDB's serializer handles queries only; its message for anything else says so.
      if (root['error_type'] === 'not implemented') refuse('not_a_query', 'only a query can run in a workspace: this statement is not one', QUERY_HINT);
      refuse('syntax', `syntax error: ${message}`, 'check the SQL syntax');
    }
    const statements = root['statements'];
    if (!Array.isArray(statements) || statements.length === 0) refuse('empty', 'the statement is empty', 'write one query, e.g. SELECT count(*) FROM a table of the extract');
    if (statements.length > 1) refuse('multiple_statements', `only one statement at a time may run (${statements.length} were sent)`, 'send each query separately');
    walk(statements[0], new Set(), ctx, 0);
    return undefined;
  } catch (e) {
    if (e instanceof Refused) return e.refusal;
    throw e;
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function walk(v: unknown, scope: ReadonlySet<string>, ctx: PolicyContext, depth: number): void {
  if (depth > MAX_DEPTH) refuse('too_complex', 'the statement is nested too deeply to be checked', 'split it into saved views or simpler queries');
  if (Array.isArray(v)) {
    for (const x of v) walk(x, scope, ctx, depth + 1);
    return;
  }
  const o = asRecord(v);
  if (o === undefined) return;
  let inner = scope;
  checkNode(o, scope, ctx);
  // A recursive CTE's body sees its own name.
  if (o['type'] === 'RECURSIVE_CTE_NODE' && typeof o['cte_name'] === 'string') inner = withNames(inner, [o['cte_name']]);
  const cteMap = asRecord(o['cte_map']);
  const entries = Array.isArray(cteMap?.['map']) ? (cteMap['map'] as unknown[]) : [];
  if (entries.length > 0) {
    // Each CTE body sees the CTEs declared before it; the rest of the node sees them all.
    const names: string[] = [];
    for (const e of entries) {
      const entry = asRecord(e);
      walk(entry?.['value'], withNames(inner, names), ctx, depth + 1);
      names.push(str(entry?.['key']));
    }
    inner = withNames(inner, names);
  }
  for (const [k, child] of Object.entries(o)) {
    if (k === 'cte_map') continue;
    walk(child, inner, ctx, depth + 1);
  }
}

function withNames(scope: ReadonlySet<string>, names: readonly string[]): ReadonlySet<string> {
  if (names.length === 0) return scope;
  const s = new Set(scope);
  for (const n of names) s.add(n.toLowerCase());
  return s;
}

function checkNode(o: Record<string, unknown>, scope: ReadonlySet<string>, ctx: PolicyContext): void {
  const type = str(o['type']);
  if (type.endsWith('_NODE') && !QUERY_NODES.has(type)) refuse('construct', `query construct ${type} is not allowed in a workspace`, QUERY_HINT);
  if (REFUSED_TABLE_REFS.has(type)) refuse('construct', `table reference ${type} is not allowed in a workspace`, QUERY_HINT);
  if (o['class'] === 'PARAMETER' || type === 'VALUE_PARAMETER') refuse('parameter', 'prepared-statement parameters ($1, ?) are not supported', 'write the values into the query');
  if (o['at_clause'] !== undefined && o['at_clause'] !== null) refuse('construct', 'time travel (AT …) is not available on the extract', 'query the current extract');
  if (typeof o['function_name'] === 'string') checkFunction(o);
  if (type === 'TABLE_FUNCTION') {
    const name = str(asRecord(o['function'])?.['function_name']).toLowerCase();
    if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
      refuse('table_function', `table function ${name || '(unnamed)'} is not allowed in a workspace: it can read files or the engine's catalogue`, `only ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')} may be used in FROM; read the extract's tables by name`);
    }
  }
  if (type === 'SHOW_REF') {
    // DESCRIBE/SUMMARIZE of a query are fine (the query is walked); SHOW <name> lists the catalogue or settings.
    if (o['query'] === null || o['query'] === undefined || str(o['table_name']) !== '') {
      refuse('construct', 'SHOW is not available in a workspace', 'DESCRIBE a table of the extract, or use the schema browser');
    }
  }
  if (type === 'BASE_TABLE') checkTable(o, scope, ctx);
}

function checkFunction(o: Record<string, unknown>): void {
  const name = str(o['function_name']).toLowerCase();
  const schema = str(o['schema']).toLowerCase();
  const catalog = str(o['catalog']);
  if (catalog !== '') refuse('function', `functions of catalog ${catalog} cannot be called in a workspace`, 'call functions without a catalog prefix');
  // DuckDB writes `main.` itself for rewritten syntax (list comprehensions → main.list_apply).
  if (schema !== '' && schema !== 'main') refuse('function', `functions of schema ${schema} cannot be called in a workspace`, 'call functions without a schema prefix');
  if (DENIED_FUNCTIONS.has(name) || DENIED_FUNCTION_PREFIXES.some((p) => name.startsWith(p))) {
    refuse('function', `function ${name} is not allowed in a workspace: it reads files or reveals the engine's settings, paths or catalogue`, 'use the schema browser to see tables and columns');
  }
}

function checkTable(o: Record<string, unknown>, scope: ReadonlySet<string>, ctx: PolicyContext): void {
  const catalog = str(o['catalog_name']);
  const schema = str(o['schema_name']).toLowerCase();
  const name = str(o['table_name']);
  const lower = name.toLowerCase();
  const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  if (catalog !== '') refuse('schema', `database ${catalog} is not reachable from a workspace`, 'read the extract (schema extract) or your scratch tables (schema scratch)');
  if (schema === '') {
    if (scope.has(lower) || ctx.extract.has(lower) || ctx.scratch.has(lower)) return;
    refuse('table', `table ${shown} is not in this workspace: only the extract's tables, your scratch tables and CTEs can be read`, 'see the schema browser for the tables of the extract; files and system tables are not reachable');
  }
  if (schema === 'extract' && ctx.extract.has(lower)) return;
  if (schema === 'scratch' && ctx.scratch.has(lower)) return;
  if (schema === 'extract' || schema === 'scratch') refuse('table', `table ${schema}.${shown} does not exist`, 'see the schema browser for the tables of the workspace');
  refuse('schema', `schema ${schema} is not reachable from a workspace`, 'read the extract (schema extract) or your scratch tables (schema scratch)');
}
