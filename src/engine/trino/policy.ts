/**
 * The statement policy of the Trino workspace engine, in two layers that each suffice for the
 * usual escapes and together cover each other's gaps:
 *
 * 1. Here, before Trino sees the statement: it must be one query (its first keyword `SELECT`,
 *    `WITH`, `VALUES`, `TABLE` or an opening parenthesis, after comments), of bounded size. This
 *    refuses `SET SESSION`, `CALL`, `ALTER`, `INSERT`, `CREATE`, `EXPLAIN [ANALYZE]`, `SHOW`,
 *    `USE`, `PREPARE`/`EXECUTE`, `GRANT`, `START TRANSACTION` with a clear reason.
 * 2. By Trino itself: `EXPLAIN (TYPE IO, FORMAT JSON)` of the statement, as the workspace's user,
 *    gives every table it would read (after views and CTEs are resolved) and any table it would
 *    write; every input must be a table of the workspace's own schema (no `system`,
 *    `information_schema`, other catalog or schema, no hidden `$` table), and there must be no
 *    output. Analysis runs the access control generated from the permit (`rules.ts`), which also
 *    denies functions outside `system.builtin`, session properties and hidden columns.
 */

export type TrinoRefusalReason = 'empty' | 'not_a_query' | 'table' | 'construct' | 'too_large' | 'syntax' | 'access';

export interface TrinoRefusal {
  readonly reason: TrinoRefusalReason;
  readonly message: string;
  readonly hint: string;
}

export const QUERY_HINT = 'a workspace runs one query at a time (SELECT, WITH, VALUES, TABLE); save results with "save as"; catalogs, settings, procedures and other projects are not reachable';

/** Strips leading whitespace, `--` line comments and block comments. */
function skipComments(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.trimStart();
    if (t.startsWith('--')) {
      const nl = t.indexOf('\n');
      s = nl < 0 ? '' : t.slice(nl + 1);
    } else if (t.startsWith('/*')) {
      const end = t.indexOf('*/');
      s = end < 0 ? '' : t.slice(end + 2);
    } else return t;
  }
}

const QUERY_START = /^(select|with|values|table)\b/i;

/**
 * The quoted identifiers of a statement (string literals and comments skipped), and whether it
 * uses Unicode-escaped ones (`U&"..."`), which could spell any name. Trino's hidden tables and
 * columns (`persons$properties`, `"$path"`) are reachable only through a quoted identifier with a
 * `$`: their IO plan names the base table, so this is checked on the text.
 */
export function quotedIdentifiers(sql: string): { readonly names: string[]; readonly unicode: boolean } {
  const names: string[] = [];
  let unicode = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      i++;
      while (i < sql.length && !(sql[i] === "'" && sql[i + 1] !== "'")) i += sql[i] === "'" ? 2 : 1;
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === '"') {
      if (i >= 2 && /u&$/i.test(sql.slice(i - 2, i))) unicode = true;
      let name = '';
      i++;
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          name += '"';
          i += 2;
        } else if (sql[i] === '"') break;
        else name += sql[i++];
      }
      i++;
      names.push(name);
    } else i++;
  }
  return { names, unicode };
}

/** Layer 1: the statement's shape. Returns the statement to run (trailing `;` removed) or a refusal. */
export function checkStatementText(sql: string, maxBytes: number): { ok: true; sql: string } | { ok: false; refusal: TrinoRefusal } {
  if (Buffer.byteLength(sql) > maxBytes) return { ok: false, refusal: { reason: 'too_large', message: `the statement is ${Buffer.byteLength(sql)} bytes; at most ${maxBytes} are accepted`, hint: 'save intermediate results with "save as" and query them' } };
  const trimmed = sql.trim().replace(/;\s*$/, '');
  const head = skipComments(trimmed);
  if (head === '') return { ok: false, refusal: { reason: 'empty', message: 'the statement is empty', hint: QUERY_HINT } };
  let first = head;
  while (first.startsWith('(')) first = skipComments(first.slice(1));
  if (!QUERY_START.test(first)) {
    const word = /^[A-Za-z_]+/.exec(first)?.[0]?.toUpperCase() ?? first.slice(0, 12);
    return { ok: false, refusal: { reason: 'not_a_query', message: `only queries run in a workspace; "${word}" is not one`, hint: QUERY_HINT } };
  }
  const ids = quotedIdentifiers(trimmed);
  if (ids.unicode) return { ok: false, refusal: { reason: 'construct', message: 'Unicode-escaped identifiers (U&"...") are not accepted in a workspace', hint: 'write the name itself, in double quotes if needed' } };
  const hidden = ids.names.find((n) => n.includes('$'));
  if (hidden !== undefined) return { ok: false, refusal: { reason: 'table', message: `"${hidden}" names a hidden table or column of the storage, not data of the workspace`, hint: 'only the extract tables and your saved tables, and their columns, can be read' } };
  return { ok: true, sql: trimmed };
}

interface IoTable {
  readonly catalog?: string;
  readonly schemaTable?: { readonly schema?: string; readonly table?: string };
}

interface IoPlan {
  readonly inputTableColumnInfos?: readonly { readonly table?: IoTable }[];
  readonly outputTable?: IoTable | null;
}

/** Layer 2: the tables Trino says the statement reads and writes. */
export function checkIoPlan(json: string, own: { readonly catalog: string; readonly schema: string }): TrinoRefusal | undefined {
  let plan: IoPlan;
  try {
    plan = JSON.parse(json) as IoPlan;
  } catch {
    return { reason: 'syntax', message: 'the engine returned an unreadable plan for this statement', hint: QUERY_HINT };
  }
  if (plan.outputTable !== undefined && plan.outputTable !== null) return { reason: 'not_a_query', message: 'the statement would write a table', hint: QUERY_HINT };
  for (const i of plan.inputTableColumnInfos ?? []) {
    const catalog = i.table?.catalog ?? '';
    const schema = i.table?.schemaTable?.schema ?? '';
    const table = i.table?.schemaTable?.table ?? '';
    if (catalog !== own.catalog || schema !== own.schema) return { reason: 'table', message: `the statement reads ${catalog}.${schema}.${table}, outside this workspace`, hint: 'only the extract tables and your saved tables can be read' };
    if (table.includes('$')) return { reason: 'table', message: `the statement reads the hidden table "${table}"`, hint: 'only the extract tables and your saved tables can be read' };
  }
  return undefined;
}
