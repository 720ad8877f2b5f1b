/**
 * The catalogue clients read on connect and in their schema browsers (psql `\dt` and `\d`,
 * JDBC/DBeaver's `pg_catalog` and `information_schema` queries, psycopg's and R's type and table
 * lookups, `version()`, `current_schema()`, `SELECT 1`), answered from the workspace's own
 * schema (the extract's tables and the member's scratch tables, as `WorkspaceService` lists
 * them), in memory. These statements never reach the engine: the workspace's policy refuses
 * its own catalogue (it holds file paths and settings), and what is answered here is only what
 * the member already sees in the browser's schema view.
 *
 * It is not a SQL engine. A statement is answered when its main relation is a catalogue
 * relation (or it has no FROM and calls only the functions below): its select list is
 * evaluated item by item (columns of the relation by name, the few functions clients use,
 * literals; anything else is NULL), and the simple predicates of its WHERE clause (`=`, `<>`,
 * `IN`, `~`, `LIKE` on a column of the relation) filter the rows; other predicates are ignored,
 * joins are answered from the main relation's row (which carries its namespace, table and type
 * names). Catalogue relations mixed with workspace tables are refused.
 */
import { formatType, PG, pgTypeOf, TYPES_BY_OID, type PgType } from './types.ts';
import { splitTopLevel, stringLiteral, topLevelKeyword } from './sql-text.ts';

export interface CatalogueTable {
  readonly schema: 'extract' | 'scratch';
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly rows?: number;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string; readonly description?: string }>;
}

export interface CatalogueContext {
  readonly tables: readonly CatalogueTable[];
  readonly database: string;
  readonly user: string;
  readonly serverVersion: string;
  readonly backendPid: number;
  setting(name: string): string | undefined;
  allSettings(): ReadonlyArray<readonly [string, string]>;
}

export interface CatalogueResult {
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: PgType }>;
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>;
  readonly tag: string;
}

export class CatalogueError extends Error {
  readonly sqlState: string;
  readonly hint: string | undefined;
  constructor(sqlState: string, message: string, hint?: string) {
    super(message);
    this.sqlState = sqlState;
    this.hint = hint;
  }
}

type Value = string | number | boolean | null;
type Row = Readonly<Record<string, Value>>;

interface Relation {
  readonly columns: Readonly<Record<string, PgType>>;
  /** Columns `*` expands to (the others are carried for joins: namespace and table names). */
  readonly star: readonly string[];
  rows(c: CatalogueContext): Row[];
}

const NS = { pg_catalog: 11, public: 2200, information_schema: 13_000, extract: 16_384, scratch: 16_385 } as const;
const OWNER = 10;
const FIRST_TABLE_OID = 16_400;
const t = PG;

function tableOid(c: CatalogueContext, table: CatalogueTable): number {
  return FIRST_TABLE_OID + c.tables.indexOf(table);
}

function cols(spec: Record<string, PgType>, star?: readonly string[]): Pick<Relation, 'columns' | 'star'> {
  return { columns: spec, star: star ?? Object.keys(spec) };
}

const namespaceRows = (): Row[] => Object.entries(NS).map(([nspname, oid]) => ({ oid, nspname, nspowner: OWNER, nspacl: null, description: null }));

function classRows(c: CatalogueContext): Row[] {
  return c.tables.map((tb) => ({
    oid: tableOid(c, tb), relname: tb.name, relnamespace: NS[tb.schema], reltype: 0, reloftype: 0, relowner: OWNER, relam: 0, relfilenode: 0, reltablespace: 0,
    relpages: 0, reltuples: tb.rows ?? -1, relallvisible: 0, reltoastrelid: 0, relhasindex: false, relisshared: false, relpersistence: 'p',
    relkind: tb.kind === 'view' ? 'v' : 'r', relnatts: tb.columns.length, relchecks: 0, relhasrules: false, relhastriggers: false, relhassubclass: false,
    relrowsecurity: false, relforcerowsecurity: false, relispopulated: true, relreplident: 'n', relispartition: false, relrewrite: 0, relfrozenxid: null,
    relminmxid: null, relacl: null, reloptions: null, relpartbound: null, nspname: tb.schema, description: null,
  }));
}

function attributeRows(c: CatalogueContext): Row[] {
  return c.tables.flatMap((tb) => tb.columns.map((col, i) => {
    const ty = pgTypeOf(col.type);
    return {
      attrelid: tableOid(c, tb), attname: col.name, atttypid: ty.oid, attlen: ty.len, attnum: i + 1, atttypmod: ty.typmod, attndims: ty.name.startsWith('_') ? 1 : 0,
      attnotnull: false, atthasdef: false, atthasmissing: false, attidentity: '', attgenerated: '', attisdropped: false, attislocal: true, attinhcount: 0,
      attcollation: ty.oid === t.text.oid ? 100 : 0, attacl: null, attoptions: null, relname: tb.name, nspname: tb.schema, typname: ty.name, format_type: formatType(ty),
      description: col.description ?? null, relkind: tb.kind === 'view' ? 'v' : 'r',
    };
  }));
}

function typeRows(): Row[] {
  return [...TYPES_BY_OID.values()].map((ty) => ({
    oid: ty.oid, typname: ty.name, typnamespace: NS.pg_catalog, typowner: OWNER, typlen: ty.len, typbyval: ty.len > 0 && ty.len <= 8, typtype: 'b',
    typcategory: ty.name.startsWith('_') ? 'A' : 'U', typisdefined: true, typdelim: ',', typrelid: 0, typelem: 0, typarray: 0, typinput: `${ty.name.startsWith('_') ? 'array' : ty.name}_in`,
    typoutput: `${ty.name.startsWith('_') ? 'array' : ty.name}_out`, typnotnull: false, typbasetype: 0, typtypmod: -1, typndims: 0, typcollation: 0, nspname: 'pg_catalog', format_type: formatType(ty),
  }));
}

const RELATIONS: Readonly<Record<string, Relation>> = {
  pg_namespace: { ...cols({ oid: t.oid, nspname: t.name, nspowner: t.oid, nspacl: t.text }), rows: namespaceRows },
  pg_class: {
    ...cols({
      oid: t.oid, relname: t.name, relnamespace: t.oid, reltype: t.oid, reloftype: t.oid, relowner: t.oid, relam: t.oid, relfilenode: t.oid, reltablespace: t.oid, relpages: t.int4,
      reltuples: t.float4, relallvisible: t.int4, reltoastrelid: t.oid, relhasindex: t.bool, relisshared: t.bool, relpersistence: t.char, relkind: t.char, relnatts: t.int2,
      relchecks: t.int2, relhasrules: t.bool, relhastriggers: t.bool, relhassubclass: t.bool, relrowsecurity: t.bool, relforcerowsecurity: t.bool, relispopulated: t.bool,
      relreplident: t.char, relispartition: t.bool, relrewrite: t.oid, relfrozenxid: t.text, relminmxid: t.text, relacl: t.text, reloptions: t.text, relpartbound: t.text,
      nspname: t.name,
    }, ['oid', 'relname', 'relnamespace', 'reltype', 'reloftype', 'relowner', 'relam', 'relfilenode', 'reltablespace', 'relpages', 'reltuples', 'relallvisible', 'reltoastrelid', 'relhasindex', 'relisshared', 'relpersistence', 'relkind', 'relnatts', 'relchecks', 'relhasrules', 'relhastriggers', 'relhassubclass', 'relrowsecurity', 'relforcerowsecurity', 'relispopulated', 'relreplident', 'relispartition', 'relrewrite', 'relfrozenxid', 'relminmxid', 'relacl', 'reloptions', 'relpartbound']),
    rows: classRows,
  },
  pg_attribute: {
    ...cols({
      attrelid: t.oid, attname: t.name, atttypid: t.oid, attlen: t.int2, attnum: t.int2, atttypmod: t.int4, attndims: t.int2, attnotnull: t.bool, atthasdef: t.bool,
      atthasmissing: t.bool, attidentity: t.char, attgenerated: t.char, attisdropped: t.bool, attislocal: t.bool, attinhcount: t.int2, attcollation: t.oid, attacl: t.text,
      attoptions: t.text, relname: t.name, nspname: t.name, typname: t.name, relkind: t.char,
    }, ['attrelid', 'attname', 'atttypid', 'attlen', 'attnum', 'atttypmod', 'attndims', 'attnotnull', 'atthasdef', 'atthasmissing', 'attidentity', 'attgenerated', 'attisdropped', 'attislocal', 'attinhcount', 'attcollation', 'attacl', 'attoptions']),
    rows: attributeRows,
  },
  pg_type: {
    ...cols({
      oid: t.oid, typname: t.name, typnamespace: t.oid, typowner: t.oid, typlen: t.int2, typbyval: t.bool, typtype: t.char, typcategory: t.char, typisdefined: t.bool,
      typdelim: t.char, typrelid: t.oid, typelem: t.oid, typarray: t.oid, typinput: t.regproc, typoutput: t.regproc, typnotnull: t.bool, typbasetype: t.oid, typtypmod: t.int4,
      typndims: t.int4, typcollation: t.oid, nspname: t.name,
    }, ['oid', 'typname', 'typnamespace', 'typowner', 'typlen', 'typbyval', 'typtype', 'typcategory', 'typisdefined', 'typdelim', 'typrelid', 'typelem', 'typarray', 'typinput', 'typoutput', 'typnotnull', 'typbasetype', 'typtypmod', 'typndims', 'typcollation']),
    rows: typeRows,
  },
  pg_database: {
    ...cols({ oid: t.oid, datname: t.name, datdba: t.oid, encoding: t.int4, datcollate: t.name, datctype: t.name, datistemplate: t.bool, datallowconn: t.bool, datconnlimit: t.int4, datacl: t.text }),
    rows: (c) => [{ oid: 16_383, datname: c.database, datdba: OWNER, encoding: 6, datcollate: 'C', datctype: 'C', datistemplate: false, datallowconn: true, datconnlimit: -1, datacl: null }],
  },
  pg_settings: {
    ...cols({ name: t.text, setting: t.text, unit: t.text, category: t.text, short_desc: t.text, context: t.text, vartype: t.text, source: t.text }),
    rows: (c) => c.allSettings().map(([name, setting]) => ({ name, setting, unit: null, category: 'Client Connection Defaults', short_desc: '', context: 'user', vartype: 'string', source: 'session' })),
  },
  pg_roles: { ...cols({ oid: t.oid, rolname: t.name, rolsuper: t.bool, rolinherit: t.bool, rolcreaterole: t.bool, rolcreatedb: t.bool, rolcanlogin: t.bool, rolreplication: t.bool, rolconnlimit: t.int4, rolvaliduntil: t.timestamptz, rolbypassrls: t.bool }), rows: (c) => [{ oid: OWNER, rolname: c.user, rolsuper: false, rolinherit: true, rolcreaterole: false, rolcreatedb: false, rolcanlogin: true, rolreplication: false, rolconnlimit: -1, rolvaliduntil: null, rolbypassrls: false }] },
  pg_user: { ...cols({ usename: t.name, usesysid: t.oid, usecreatedb: t.bool, usesuper: t.bool, userepl: t.bool, usebypassrls: t.bool, valuntil: t.timestamptz }), rows: (c) => [{ usename: c.user, usesysid: OWNER, usecreatedb: false, usesuper: false, userepl: false, usebypassrls: false, valuntil: null }] },
  pg_tables: {
    ...cols({ schemaname: t.name, tablename: t.name, tableowner: t.name, tablespace: t.name, hasindexes: t.bool, hasrules: t.bool, hastriggers: t.bool, rowsecurity: t.bool }),
    rows: (c) => c.tables.filter((x) => x.kind === 'table').map((x) => ({ schemaname: x.schema, tablename: x.name, tableowner: c.user, tablespace: null, hasindexes: false, hasrules: false, hastriggers: false, rowsecurity: false })),
  },
  pg_views: {
    ...cols({ schemaname: t.name, viewname: t.name, viewowner: t.name, definition: t.text }),
    // View definitions stay unknown: the engine's hold file paths.
    rows: (c) => c.tables.filter((x) => x.kind === 'view').map((x) => ({ schemaname: x.schema, viewname: x.name, viewowner: c.user, definition: null })),
  },
  'information_schema.schemata': {
    ...cols({ catalog_name: t.name, schema_name: t.name, schema_owner: t.name, default_character_set_catalog: t.name, default_character_set_schema: t.name, default_character_set_name: t.name, sql_path: t.text }),
    rows: (c) => ['extract', 'scratch', 'public', 'pg_catalog', 'information_schema'].map((s) => ({ catalog_name: c.database, schema_name: s, schema_owner: c.user, default_character_set_catalog: null, default_character_set_schema: null, default_character_set_name: null, sql_path: null })),
  },
  'information_schema.tables': {
    ...cols({ table_catalog: t.name, table_schema: t.name, table_name: t.name, table_type: t.text, self_referencing_column_name: t.name, reference_generation: t.text, user_defined_type_catalog: t.name, user_defined_type_schema: t.name, user_defined_type_name: t.name, is_insertable_into: t.text, is_typed: t.text, commit_action: t.text }),
    rows: (c) => c.tables.map((x) => ({ table_catalog: c.database, table_schema: x.schema, table_name: x.name, table_type: x.kind === 'view' ? 'VIEW' : 'BASE TABLE', self_referencing_column_name: null, reference_generation: null, user_defined_type_catalog: null, user_defined_type_schema: null, user_defined_type_name: null, is_insertable_into: 'NO', is_typed: 'NO', commit_action: null })),
  },
  'information_schema.views': {
    ...cols({ table_catalog: t.name, table_schema: t.name, table_name: t.name, view_definition: t.text, check_option: t.text, is_updatable: t.text, is_insertable_into: t.text }),
    rows: (c) => c.tables.filter((x) => x.kind === 'view').map((x) => ({ table_catalog: c.database, table_schema: x.schema, table_name: x.name, view_definition: null, check_option: 'NONE', is_updatable: 'NO', is_insertable_into: 'NO' })),
  },
  'information_schema.columns': {
    ...cols({
      table_catalog: t.name, table_schema: t.name, table_name: t.name, column_name: t.name, ordinal_position: t.int4, column_default: t.text, is_nullable: t.text, data_type: t.text,
      character_maximum_length: t.int4, character_octet_length: t.int4, numeric_precision: t.int4, numeric_precision_radix: t.int4, numeric_scale: t.int4, datetime_precision: t.int4,
      udt_catalog: t.name, udt_schema: t.name, udt_name: t.name, is_updatable: t.text, is_identity: t.text, is_generated: t.text,
    }),
    rows: (c) => c.tables.flatMap((x) => x.columns.map((col, i) => {
      const ty = pgTypeOf(col.type);
      const numeric = ty.oid === t.numeric.oid && ty.typmod > 0;
      const ints: Record<number, number> = { [t.int2.oid]: 16, [t.int4.oid]: 32, [t.int8.oid]: 64, [t.float4.oid]: 24, [t.float8.oid]: 53 };
      return {
        table_catalog: c.database, table_schema: x.schema, table_name: x.name, column_name: col.name, ordinal_position: i + 1, column_default: null, is_nullable: 'YES',
        data_type: ty.name.startsWith('_') ? 'ARRAY' : formatType({ ...ty, typmod: -1 }), character_maximum_length: (ty.oid === t.varchar.oid || ty.oid === t.bpchar.oid) && ty.typmod > 4 ? ty.typmod - 4 : null, character_octet_length: null,
        numeric_precision: numeric ? (ty.typmod - 4) >> 16 : (ints[ty.oid] ?? null), numeric_precision_radix: numeric ? 10 : ints[ty.oid] === undefined ? null : 2,
        numeric_scale: numeric ? (ty.typmod - 4) & 0xffff : ty.oid === t.int2.oid || ty.oid === t.int4.oid || ty.oid === t.int8.oid ? 0 : null,
        datetime_precision: [t.timestamp.oid, t.timestamptz.oid, t.time.oid].includes(ty.oid) ? 6 : ty.oid === t.date.oid ? 0 : null,
        udt_catalog: c.database, udt_schema: 'pg_catalog', udt_name: ty.name, is_updatable: 'NO', is_identity: 'NO', is_generated: 'NEVER',
      };
    })),
  },
};

/** Catalogue relations a client may name that hold nothing in a workspace (indexes, constraints, …). */
const CATALOGUE_NAME = /^(pg_catalog\.)?pg_[a-z_]+$|^information_schema\.[a-z_]+$/;

const FUNCTION_NAMES = ['version', 'current_schema', 'current_schemas', 'current_database', 'current_catalog', 'current_user', 'session_user', 'user', 'current_role', 'pg_backend_pid', 'current_setting', 'set_config', 'pg_is_in_recovery', 'inet_server_port', 'inet_server_addr', 'pg_postmaster_start_time', 'txid_current', 'pg_encoding_to_char', 'has_database_privilege', 'has_schema_privilege', 'has_table_privilege', 'pg_get_userbyid', 'format_type', 'pg_table_is_visible', 'pg_type_is_visible', 'obj_description', 'col_description', 'shobj_description'];

/** A statement this catalogue answers: its main relation is a catalogue relation, or it has no FROM and calls only known functions. */
export function isCatalogueStatement(sql: string): boolean {
  if (!/^select\b/i.test(sql)) return false;
  const from = topLevelKeyword(sql, 'from');
  if (from === -1) {
    // Only a bare select list (`SELECT 1`, `SELECT version(), current_schema()`): a WHERE or
    // any other clause makes it the workspace's.
    if (endOfClause(sql, 6) !== sql.length) return false;
    const list = sql.slice(6).trim();
    return list !== '' && splitTopLevel(list).every((item) => knownExpression(stripAlias(item).expr));
  }
  // psql's \\gdesc formats the described types over a VALUES list of literals.
  if (valuesList(sql, from) !== undefined) return /\bpg_catalog\.format_type\s*\(/i.test(sql);
  const rel = mainRelation(sql, from);
  return rel !== undefined && CATALOGUE_NAME.test(rel.name);
}

/** `FROM (VALUES (…), (…)) alias(col, …)`: the tuples (unparsed) and the column names. */
function valuesList(sql: string, from: number): { tuples: string[]; alias: string; names: string[] } | undefined {
  const rest = sql.slice(from + 4).trimStart();
  if (!/^\(\s*values\b/i.test(rest)) return undefined;
  const close = matchingParen(rest);
  if (close === -1) return undefined;
  const tail = /^\s*(?:as\s+)?([a-z_][a-z0-9_]*)\s*\(([^()]*)\)\s*$/i.exec(rest.slice(close + 1));
  if (tail === null) return undefined;
  const body = rest.slice(1, close).trim().replace(/^values\s*/i, '');
  return { tuples: splitTopLevel(body), alias: (tail[1] ?? '').toLowerCase(), names: splitTopLevel(tail[2] ?? '').map((n) => n.replace(/"/g, '').toLowerCase()) };
}

/** Index of the parenthesis closing the one at 0 (outside quotes), or -1. */
function matchingParen(text: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== null) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Whether a statement names catalogue relations somewhere (used to refuse mixing them with workspace tables). */
export function mentionsCatalogue(codeOnly: string): boolean {
  return /\b(pg_catalog|information_schema)\s*\./i.test(codeOnly) || /\b(from|join)\s+pg_[a-z_]+\b/i.test(codeOnly);
}

function knownExpression(e: string): boolean {
  const x = e.trim().replace(/::[\w.]+(\[\])?$/g, '');
  if (/^(-?\d+(\.\d+)?|'(?:[^']|'')*'|true|false|null)$/i.test(x)) return true;
  const m = /^(?:pg_catalog\.)?([a-z_]+)\s*(\(.*\))?$/is.exec(x);
  if (m === null) return false;
  const name = (m[1] ?? '').toLowerCase();
  if (m[2] === undefined) return ['current_user', 'session_user', 'user', 'current_catalog', 'current_role', 'current_schema'].includes(name);
  return FUNCTION_NAMES.includes(name);
}

function endOfClause(sql: string, from: number): number {
  const ends = ['from', 'where', 'group', 'order', 'limit', 'offset', 'union', 'having', 'window', 'for'].map((k) => topLevelKeyword(sql, k, from)).filter((i) => i !== -1);
  return ends.length === 0 ? sql.length : Math.min(...ends);
}

const RESERVED = new Set(['where', 'left', 'right', 'inner', 'join', 'cross', 'full', 'order', 'group', 'limit', 'on', 'natural', 'union', 'outer', 'offset', 'window', 'using', 'lateral']);

/** Catalogue relations named in the FROM clause (and its joins), with their aliases, in order. */
function fromRelations(sql: string, from: number): Array<{ name: string; alias: string }> {
  const where = ['where', 'group', 'order', 'limit', 'offset', 'union', 'having', 'window', 'for'].map((k) => topLevelKeyword(sql, k, from + 4)).filter((i) => i !== -1);
  let clause = sql.slice(from + 4, where.length === 0 ? sql.length : Math.min(...where));
  // Subqueries in the FROM clause are not relations of this statement.
  for (let prev = ''; prev !== clause;) {
    prev = clause;
    clause = clause.replace(/\([^()]*\)/g, ' ');
  }
  const out: Array<{ name: string; alias: string }> = [];
  for (const m of clause.matchAll(/(?:^|,|\bjoin\b)\s*((?:"?[a-z_]+"?\s*\.\s*)?"?[a-z_][a-z0-9_]*"?)(?:\s+(?:as\s+)?([a-z_][a-z0-9_]*))?/gi)) {
    const name = (m[1] ?? '').replace(/["\s]/g, '').toLowerCase();
    const alias = (m[2] ?? '').toLowerCase();
    out.push({ name, alias: RESERVED.has(alias) ? '' : alias });
  }
  return out;
}

/** The relation whose rows a catalogue statement lists: the most detailed one it joins. */
function mainRelation(sql: string, from: number): { name: string; alias: string } | undefined {
  const rels = fromRelations(sql, from);
  const bare = (n: string): string => n.replace(/^pg_catalog\./, '');
  for (const preferred of ['pg_attribute', 'pg_class', 'pg_type']) {
    const r = rels.find((x) => bare(x.name) === preferred);
    if (r !== undefined) return r;
  }
  return rels[0];
}

/** Rows of a relation reached from another's row (a pg_attribute's table and type, a table's namespace). */
const LINKS: Readonly<Record<string, ReadonlyArray<readonly [relation: string, local: string, remote: string]>>> = {
  pg_class: [['pg_namespace', 'relnamespace', 'oid']],
  pg_attribute: [['pg_class', 'attrelid', 'oid'], ['pg_type', 'atttypid', 'oid']],
  pg_type: [['pg_namespace', 'typnamespace', 'oid']],
};

interface Scope {
  readonly main: string;
  readonly rel: Relation;
  /** alias (or relation name) → relation name */
  readonly aliases: ReadonlyMap<string, string>;
}

/** The main relation's rows, each carrying the rows it links to as `relation.column` keys. */
function joinedRows(main: string, c: CatalogueContext): Row[] {
  const cache = new Map<string, Row[]>();
  const rowsOf = (name: string): Row[] => {
    let r = cache.get(name);
    if (r === undefined) {
      r = RELATIONS[name]?.rows(c) ?? [];
      cache.set(name, r);
    }
    return r;
  };
  const attach = (name: string, row: Row, out: Record<string, Value>): void => {
    for (const k of Object.keys(RELATIONS[name]?.columns ?? {})) out[`${name}.${k}`] = row[k] ?? null;
    for (const [rel, local, remote] of LINKS[name] ?? []) {
      if (`${rel}.${remote}` in out) continue;
      const m = rowsOf(rel).find((x) => String(x[remote]) === String(row[local]));
      if (m !== undefined) attach(rel, m, out);
    }
  };
  return rowsOf(main).map((row) => {
    const out: Record<string, Value> = { ...row };
    attach(main, row, out);
    return out;
  });
}

function resolvable(scope: Scope, alias: string | undefined, col: string): boolean {
  if (alias !== undefined && RELATIONS[scope.aliases.get(alias) ?? alias]?.columns[col] !== undefined) return true;
  return scope.rel.columns[col] !== undefined || [...scope.aliases.values()].some((r) => RELATIONS[r]?.columns[col] !== undefined);
}

/** A column reference (`c.relname`, `relname`) in a row of the scope, or undefined when it names nothing known. */
function ref(row: Row, scope: Scope | undefined, alias: string | undefined, col: string): { value: Value; type: PgType } | undefined {
  if (scope === undefined) return undefined;
  if (alias !== undefined && alias !== '') {
    const r = scope.aliases.get(alias) ?? alias.replace(/^pg_catalog\./, '');
    const ty = RELATIONS[r]?.columns[col];
    if (ty !== undefined) return { value: r === scope.main ? row[col] ?? null : row[`${r}.${col}`] ?? null, type: ty };
  }
  const own = scope.rel.columns[col];
  if (own !== undefined) return { value: row[col] ?? null, type: own };
  for (const r of new Set(scope.aliases.values())) {
    const ty = RELATIONS[r]?.columns[col];
    if (ty !== undefined && `${r}.${col}` in row) return { value: row[`${r}.${col}`] ?? null, type: ty };
  }
  return undefined;
}

function stripAlias(item: string): { expr: string; alias: string | undefined } {
  const unquote = (a: string): string => (a.startsWith('"') ? a.slice(1, -1).replace(/""/g, '"') : a.toLowerCase());
  const withAs = /^(.*\S)\s+as\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_]*)$/is.exec(item.trim());
  if (withAs !== null) return { expr: (withAs[1] ?? '').trim(), alias: unquote(withAs[2] ?? '') };
  const bare = /^(.*[\w)"'\]])\s+("(?:[^"]|"")+"|[a-z_][a-z0-9_]*)$/is.exec(item.trim());
  const keyword = /^(and|or|not|end|then|else|when|is|null|desc|asc|from|true|false|distinct)$/i;
  if (bare !== null && !keyword.test(bare[2] ?? '') && !/\b(case|when|then|else|and|or|not|is)$/i.test((bare[1] ?? '').trim())) return { expr: (bare[1] ?? '').trim(), alias: unquote(bare[2] ?? '') };
  return { expr: item.trim(), alias: undefined };
}

const RELKIND_NAMES: Record<string, string> = { r: 'table', v: 'view', m: 'materialized view', i: 'index', S: 'sequence', f: 'foreign table', p: 'partitioned table', I: 'partitioned index', t: 'TOAST table', c: 'composite type' };

function evaluate(expr: string, row: Row, scope: Scope | undefined, c: CatalogueContext): { value: Value; type: PgType } {
  let e = expr.trim();
  // A trailing cast (`x::regclass`, `'a'::text`) does not change what is answered here.
  const cast = /::\s*"?[\w.]+"?(\[\])?$/i.exec(e);
  if (cast !== null) e = e.slice(0, cast.index).trim();
  while (/^\(.*\)$/s.test(e) && !/^\(\s*select\b/i.test(e)) e = e.slice(1, -1).trim();
  if (/^-?\d+$/.test(e)) return { value: Number(e), type: t.int4 };
  if (/^-?\d+\.\d+$/.test(e)) return { value: e, type: t.numeric };
  const lit = stringLiteral(e);
  if (lit !== undefined) return { value: lit, type: t.text };
  if (/^(true|false)$/i.test(e)) return { value: /^true$/i.test(e), type: t.bool };
  if (/^null$/i.test(e)) return { value: null, type: t.text };
  const col = /^(?:"?([a-z_][a-z0-9_]*)"?\.)?"?([a-z_][a-z0-9_]*)"?$/i.exec(e);
  if (col !== null) {
    const found = ref(row, scope, col[1]?.toLowerCase(), (col[2] ?? '').toLowerCase());
    if (found !== undefined) return found;
  }
  const fn = /^(?:pg_catalog\.)?([a-z_]+)\s*(?:\((.*)\))?$/is.exec(e);
  const name = fn?.[1]?.toLowerCase();
  const args = fn?.[2] === undefined ? [] : splitTopLevel(fn[2]);
  if (/^case\s+(?:\w+\.)?relkind\s+when\b.*\bend$/is.test(e) && !/\bthen\s+'(table|view)'/i.test(e)) return { value: RELKIND_NAMES[String(row['relkind'] ?? '')] ?? null, type: t.text };
  if (/^case\b.*\bend$/is.test(e) && scope !== undefined) return { value: caseValue(e, row, scope, c), type: t.text };
  switch (name) {
    case 'version': return { value: `PostgreSQL ${c.serverVersion} (Enclave workspace endpoint)`, type: t.text };
    case 'current_schema': return { value: (c.setting('search_path') ?? 'extract').split(',')[0]?.trim() ?? 'extract', type: t.name };
    case 'current_schemas': return { value: `{${/true/i.test(args[0] ?? '') ? 'pg_catalog,' : ''}${(c.setting('search_path') ?? 'extract, scratch').split(',').map((s) => s.trim()).filter((s) => !s.includes('$user')).join(',')}}`, type: { ...t.name, oid: 1003, name: '_name', len: -1 } };
    case 'current_database': case 'current_catalog': return { value: c.database, type: t.name };
    case 'current_user': case 'session_user': case 'user': case 'current_role': return { value: c.user, type: t.name };
    case 'pg_backend_pid': return { value: c.backendPid, type: t.int4 };
    case 'current_setting': {
      const key = stringLiteral(args[0] ?? '') ?? '';
      const v = c.setting(key);
      if (v === undefined && !/true/i.test(args[1] ?? '')) throw new CatalogueError('42704', `unrecognized configuration parameter "${key.slice(0, 60)}"`, 'SHOW ALL lists the settings of this endpoint');
      return { value: v ?? null, type: t.text };
    }
    case 'pg_is_in_recovery': return { value: false, type: t.bool };
    case 'pg_encoding_to_char': return { value: 'UTF8', type: t.name };
    case 'has_database_privilege': case 'has_schema_privilege': case 'has_table_privilege': case 'pg_table_is_visible': case 'pg_type_is_visible': return { value: true, type: t.bool };
    case 'pg_get_userbyid': return { value: c.user, type: t.name };
    case 'format_type': {
      if (typeof row['format_type'] === 'string') return { value: row['format_type'], type: t.text };
      const oid = Number(args[0] === undefined ? row['atttypid'] ?? row['oid'] : evaluate(args[0], row, scope, c).value);
      const ty = TYPES_BY_OID.get(oid);
      return { value: ty === undefined ? null : formatType(ty), type: t.text };
    }
    case 'obj_description': case 'col_description': return { value: typeof row['description'] === 'string' ? row['description'] : null, type: t.text };
    default: return { value: null, type: t.text };
  }
}

/** The WHEN/THEN/ELSE parts of a CASE expression (nested CASEs, parentheses and strings kept whole). */
function caseParts(e: string): { base: string; whens: Array<[string, string]>; otherwise: string | undefined } | undefined {
  const marks: Array<{ word: string; at: number; len: number }> = [];
  let depth = 0;
  let nest = 0;
  let quote: string | null = null;
  for (let i = 0; i < e.length; i++) {
    const ch = e[i] ?? '';
    if (quote !== null) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && !/\w/.test(e[i - 1] ?? ' ')) {
      const w = /^(case|end|when|then|else)\b/i.exec(e.slice(i))?.[1]?.toLowerCase();
      if (w === 'case') nest++;
      else if (w === 'end') nest--;
      if (w !== undefined && (w === 'end' ? nest === 0 : nest === 1)) marks.push({ word: w, at: i, len: w.length });
    }
  }
  if (marks[0]?.word !== 'case' || marks[marks.length - 1]?.word !== 'end') return undefined;
  const text = (k: number): string => e.slice((marks[k]?.at ?? 0) + (marks[k]?.len ?? 0), marks[k + 1]?.at ?? e.length).trim();
  const whens: Array<[string, string]> = [];
  let otherwise: string | undefined;
  for (let k = 1; k < marks.length - 1; k++) {
    if (marks[k]?.word === 'when' && marks[k + 1]?.word === 'then') whens.push([text(k), text(k + 1)]);
    if (marks[k]?.word === 'else') otherwise = text(k);
  }
  return { base: text(0), whens, otherwise };
}

/** A CASE expression: simple (`CASE x WHEN 'r' THEN …`) or searched (`CASE WHEN cond THEN …`). */
function caseValue(e: string, row: Row, scope: Scope, c: CatalogueContext): Value {
  const parts = caseParts(e);
  if (parts === undefined) return null;
  const value = (x: string): Value => (/^case\b/i.test(x) ? caseValue(x, row, scope, c) : evaluate(x, row, scope, c).value);
  const base = parts.base === '' ? undefined : /\s(=|<>|!=|~|!~|in|like|or|and|operator)\s|^not\s/i.test(` ${parts.base} `) ? condition(parts.base, row, scope) : value(parts.base);
  for (const [when, then] of parts.whens) {
    const hit = base === undefined ? condition(when, row, scope) === true : String(value(when)) === String(base);
    if (hit) return value(then);
  }
  return parts.otherwise === undefined ? null : value(parts.otherwise);
}

/** A boolean condition over a row: OR, AND, NOT of the simple predicates `filters` knows; null when unknown. */
function condition(e: string, row: Row, scope: Scope): boolean | null {
  let x = e.trim();
  while (/^\(.*\)$/s.test(x) && matchingParen(x) === x.length - 1) x = x.slice(1, -1).trim();
  const ors = splitTopLevel(x.replace(/\s+or\s+/gi, ' \u0002 '), '\u0002');
  if (ors.length > 1) {
    const v = ors.map((o) => condition(o, row, scope));
    return v.includes(true) ? true : v.includes(null) ? null : false;
  }
  const ands = splitTopLevel(x.replace(/\s+and\s+/gi, ' \u0002 '), '\u0002');
  if (ands.length > 1) {
    const v = ands.map((a) => condition(a, row, scope));
    return v.includes(false) ? false : v.includes(null) ? null : true;
  }
  if (/^not\s/i.test(x)) {
    const v = condition(x.slice(4), row, scope);
    return v === null ? null : !v;
  }
  const f = filters(x, scope);
  return f.length === 1 && f[0] !== undefined ? f[0](row) : null;
}

function toWire(v: Value, type: PgType): string | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return type.oid === t.bool.oid ? (v ? 't' : 'f') : String(v);
  return String(v);
}

/** Simple predicates of the WHERE clause that name a column of the relation. */
function filters(where: string, scope: Scope): Array<(r: Row) => boolean> {
  const out: Array<(r: Row) => boolean> = [];
  for (const raw of splitTopLevel(where.replace(/\s+and\s+/gi, ' \u0001 '), '\u0001')) {
    const p = raw.trim().replace(/\s+collate\s+[\w."]+$/i, '');
    const m = /^(?:(\w+)\.)?(\w+)(?:::\w+)?\s*(=|<>|!=|!~|~|operator\s*\(\s*pg_catalog\.~\s*\)|not\s+in|in|like|ilike)\s*(.+)$/is.exec(p);
    if (m === null) continue;
    const alias = m[1]?.toLowerCase();
    const column = (m[2] ?? '').toLowerCase();
    // Only predicates on a column this catalogue knows filter; others are left out (see the module comment).
    if (!resolvable(scope, alias, column)) continue;
    const op = (m[3] ?? '').toLowerCase().replace(/\s+/g, ' ');
    const rhs = (m[4] ?? '').trim();
    const scalar = (s: string): string | undefined => stringLiteral(s) ?? (/^-?\d+$/.test(s.trim()) ? s.trim() : undefined);
    const get = (r: Row): string => {
      const v = ref(r, scope, alias, column)?.value ?? null;
      return v === null ? '' : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v);
    };
    if (op === '=' || op === '<>' || op === '!=') {
      const v = scalar(rhs);
      if (v !== undefined) out.push(op === '=' ? (r) => get(r) === v : (r) => get(r) !== v);
    } else if (op === 'in' || op === 'not in') {
      const list = /^\((.*)\)$/s.exec(rhs);
      if (list === null) continue;
      const values = splitTopLevel(list[1] ?? '').map(scalar);
      if (values.some((v) => v === undefined)) continue;
      out.push(op === 'in' ? (r) => values.includes(get(r)) : (r) => !values.includes(get(r)));
    } else if (op.includes('~')) {
      const pattern = stringLiteral(rhs);
      if (pattern === undefined) continue;
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch {
        continue;
      }
      out.push(op === '!~' ? (r) => !re.test(get(r)) : (r) => re.test(get(r)));
    } else {
      const pattern = stringLiteral(rhs);
      if (pattern === undefined) continue;
      const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, op === 'ilike' ? 'is' : 's');
      out.push((r) => re.test(get(r)));
    }
  }
  return out;
}

/** Answers a catalogue statement (see isCatalogueStatement). */
export function answerCatalogue(sql: string, c: CatalogueContext): CatalogueResult {
  const from = topLevelKeyword(sql, 'from');
  const list = sql.slice(6, from === -1 ? endOfClause(sql, 6) : from).trim().replace(/^distinct\s+/i, '');
  let scope: Scope | undefined;
  let rows: Row[] = [{}];
  const values = from === -1 ? undefined : valuesList(sql, from);
  if (values !== undefined) {
    const tuples = values.tuples.map((tu) => splitTopLevel(tu.replace(/^\((.*)\)$/s, '$1')).map((x) => evaluate(x, {}, undefined, c)));
    const columns = Object.fromEntries(values.names.map((n, i) => [n, tuples[0]?.[i]?.type ?? t.text]));
    const rel: Relation = { columns, star: values.names, rows: () => [] };
    scope = { main: 'values', rel, aliases: new Map([[values.alias, 'values']]) };
    rows = tuples.map((tu) => Object.fromEntries(values.names.map((n, i) => [n, tu[i]?.value ?? null])));
  } else if (from !== -1) {
    const main = mainRelation(sql, from);
    const bare = (n: string): string => n.replace(/^pg_catalog\./, '');
    const name = bare(main?.name ?? '');
    const rel = RELATIONS[name] ?? { columns: {}, star: [], rows: () => [] };
    const aliases = new Map<string, string>();
    for (const r of fromRelations(sql, from)) {
      aliases.set(bare(r.name), bare(r.name));
      if (r.alias !== '') aliases.set(r.alias, bare(r.name));
    }
    scope = { main: name, rel, aliases };
    rows = RELATIONS[name] === undefined ? [] : joinedRows(name, c);
    const where = topLevelKeyword(sql, 'where', from);
    if (where !== -1) {
      const clause = sql.slice(where + 5, endOfClause(sql, where + 5));
      for (const f of filters(clause, scope)) rows = rows.filter(f);
    }
  }
  const items = splitTopLevel(list).flatMap((item) => {
    const star = /^(?:(\w+)\.)?\*$/.exec(item.trim());
    if (star !== null) {
      const r = star[1] === undefined ? scope?.main : scope?.aliases.get(star[1].toLowerCase());
      return (RELATIONS[r ?? '']?.star ?? []).map((col) => ({ expr: star[1] === undefined ? col : `${star[1]}.${col}`, alias: col }));
    }
    return [stripAlias(item)];
  });
  const columns: Array<{ name: string; type: PgType }> = [];
  const out: Array<Array<string | null>> = [];
  const evaluated = rows.map((r) => items.map((it) => evaluate(it.expr, r, scope, c)));
  items.forEach((it, i) => {
    const probe = evaluated[0]?.[i] ?? evaluate(it.expr, {}, scope, c);
    const bare = /^(?:\w+\.)?"?(\w+)"?$/.exec(it.expr.replace(/::[\w.]+$/, ''))?.[1];
    const fn = /^(?:pg_catalog\.)?(\w+)\s*\(/.exec(it.expr)?.[1];
    columns.push({ name: it.alias ?? bare?.toLowerCase() ?? fn?.toLowerCase() ?? '?column?', type: probe.type });
  });
  // ORDER BY output positions, output names, or expressions over the relation's row.
  const order = topLevelKeyword(sql, 'order', Math.max(from, 0));
  const keyed = evaluated.map((values, i) => ({ values, row: rows[i] ?? {} }));
  if (order !== -1 && /^order\s+by\s/i.test(sql.slice(order))) {
    const start = order + (/^order\s+by\s/i.exec(sql.slice(order))?.[0].length ?? 0);
    const ends = ['limit', 'offset', 'for'].map((k) => topLevelKeyword(sql, k, start)).filter((i) => i !== -1);
    const keys = splitTopLevel(sql.slice(start, ends.length === 0 ? sql.length : Math.min(...ends))).map((k) => {
      const desc = /\sdesc(\s+nulls\s+(first|last))?$/i.test(k);
      const expr = k.replace(/\s+(asc|desc)?(\s+nulls\s+(first|last))?$/i, '').trim();
      const pos = /^\d+$/.test(expr) ? Number(expr) - 1 : columns.findIndex((c) => c.name === expr.replace(/^"(.*)"$/, '$1') || c.name === expr.toLowerCase());
      return { desc, key: (r: { values: Array<{ value: Value }>; row: Row }): Value => (pos >= 0 ? r.values[pos]?.value ?? null : evaluate(expr, r.row, scope, c).value) };
    });
    const cmp = (a: Value, b: Value): number => {
      if (a === b) return 0;
      if (a === null) return 1;
      if (b === null) return -1;
      if (typeof a === 'number' && typeof b === 'number') return a - b;
      return String(a) < String(b) ? -1 : 1;
    };
    keyed.sort((x, y) => {
      for (const k of keys) {
        const d = cmp(k.key(x), k.key(y));
        if (d !== 0) return k.desc ? -d : d;
      }
      return 0;
    });
  }
  let sorted = keyed.map((k) => k.values);
  const limit = from === -1 ? -1 : topLevelKeyword(sql, 'limit', from);
  const n = limit === -1 ? undefined : /^limit\s+(\d+)/i.exec(sql.slice(limit))?.[1];
  if (n !== undefined) sorted = sorted.slice(0, Number(n));
  for (const r of sorted) out.push(r.map((v, i) => toWire(v.value, columns[i]?.type ?? t.text)));
  return { columns, rows: out, tag: `SELECT ${out.length}` };
}
