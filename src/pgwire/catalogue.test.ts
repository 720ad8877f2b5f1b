/**
 * The endpoint's catalogue answers the queries clients send, written as they send them (psql 15's
 * `\dt` and `\d`, the JDBC driver's table, column and type lookups, DBeaver's column query,
 * information_schema), from the workspace's schema only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerCatalogue, isCatalogueStatement, type CatalogueContext } from './catalogue.ts';
import { normalise } from './sql-text.ts';

const ctx: CatalogueContext = {
  tables: [
    { schema: 'extract', name: 'persons', kind: 'table', rows: 1000, columns: [{ name: 'person_id', type: 'INTEGER' }, { name: 'dept', type: 'VARCHAR', description: 'département' }] },
    { schema: 'extract', name: 'events', kind: 'table', rows: 6000, columns: [{ name: 'person_id', type: 'INTEGER' }, { name: 'amount', type: 'DECIMAL(10,2)' }, { name: 'event_date', type: 'DATE' }, { name: 'codes', type: 'VARCHAR[]' }] },
    { schema: 'scratch', name: 'cohort', kind: 'view', columns: [{ name: 'person_id', type: 'INTEGER' }] },
  ],
  database: 'p-1', user: 'alice', serverVersion: '16.0', backendPid: 42,
  setting: (n) => ({ search_path: 'extract, scratch', timezone: 'UTC' } as Record<string, string>)[n.toLowerCase()],
  allSettings: () => [['search_path', 'extract, scratch'], ['TimeZone', 'UTC']],
};
const ask = (sql: string) => {
  const text = normalise(sql);
  assert.ok(isCatalogueStatement(text), `not taken for a catalogue query: ${sql.slice(0, 80)}`);
  return answerCatalogue(text, ctx);
};

test('psql \\dt lists the extract\'s tables and \\dv the saved views, by schema and name', () => {
  const r = ask(`SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;`);
  assert.deepEqual(r.columns.map((c) => c.name), ['Schema', 'Name', 'Type', 'Owner']);
  assert.deepEqual(r.rows, [['extract', 'events', 'table', 'alice'], ['extract', 'persons', 'table', 'alice']]);
});

test('psql \\d name: the table is found by its regular expression, then its columns by oid', () => {
  const found = ask(`SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(events)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;`);
  assert.equal(found.rows.length, 1);
  const [oid, schema, name] = found.rows[0] ?? [];
  assert.deepEqual([schema, name], ['extract', 'events']);
  const cols = ask(`SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '${oid}' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;`);
  assert.deepEqual(cols.rows.map((r) => [r[0], r[1], r[3]]), [['person_id', 'integer', 'f'], ['amount', 'numeric(10,2)', 'f'], ['event_date', 'date', 'f'], ['codes', 'text[]', 'f']]);
  assert.equal(cols.columns.length, 7);
});

test('JDBC getTables: schema from the joined namespace, the tables of the extract and scratch', () => {
  const r = ask(`SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
 CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema' WHEN true THEN CASE WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' ELSE NULL END ELSE NULL END
 WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'i' THEN 'INDEX' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END ELSE NULL END AS TABLE_TYPE,
 d.description AS REMARKS
FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0 and d.classoid = 'pg_class'::regclass)
WHERE c.relnamespace = n.oid AND c.relname LIKE '%' ORDER BY TABLE_SCHEM, TABLE_NAME`);
  assert.deepEqual(r.rows.map((x) => [x[1], x[2], x[3]]), [['extract', 'events', 'TABLE'], ['extract', 'persons', 'TABLE'], ['scratch', 'cohort', 'VIEW']]);
});

test('DBeaver\'s column query: the columns of one table, by the joined table\'s oid', () => {
  const oid = ask("SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname = 'persons'").rows[0]?.[0];
  const r = ask(`select c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
from pg_catalog.pg_attribute a
inner join pg_catalog.pg_class c on (a.attrelid=c.oid)
left outer join pg_catalog.pg_attrdef ad on (a.attrelid=ad.adrelid and a.attnum = ad.adnum)
left outer join pg_catalog.pg_description dsc on (c.oid=dsc.objoid and a.attnum = dsc.objsubid)
left outer join pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
where NOT a.attisdropped and c.relkind not in ('i','I','c') and c.oid=${oid}
order by a.attnum`);
  const name = r.columns.findIndex((c) => c.name === 'attname');
  const type = r.columns.findIndex((c) => c.name === 'atttypid');
  assert.deepEqual(r.rows.map((x) => [x[0], x[name], x[type]]), [['persons', 'person_id', '23'], ['persons', 'dept', '25']]);
});

test('JDBC\'s type lookup by oid, and information_schema columns with precision and scale', () => {
  const t = ask(`SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type
LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r from pg_namespace as ns join ( select s.r, (current_schemas(false))[s.r] as nspname from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r using ( nspname ) ) as sp ON sp.nspoid = typnamespace
WHERE pg_type.oid = 1231 ORDER BY sp.r, pg_type.oid DESC LIMIT 1`);
  assert.deepEqual(t.rows.map((r) => r.slice(1)), [['b', '_numeric', '1231']]);
  const c = ask("SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns WHERE table_schema = 'extract' AND table_name = 'events' ORDER BY ordinal_position");
  assert.deepEqual(c.rows, [['person_id', 'integer', '32', '0'], ['amount', 'numeric', '10', '2'], ['event_date', 'date', null, null], ['codes', 'ARRAY', null, null]]);
});

test('a bare select list of known functions is answered; anything else is the workspace\'s', () => {
  assert.deepEqual(ask('SELECT version(), current_schema(), current_database(), 1').rows, [['PostgreSQL 16.0 (Enclave workspace endpoint)', 'extract', 'p-1', '1']]);
  assert.throws(() => ask("SELECT current_setting('allowed_paths')"), /unrecognized configuration parameter "allowed_paths"/);
  for (const sql of ["SELECT getenv('HOME')", 'SELECT 1 WHERE 1 = 1', 'SELECT * FROM persons', "SELECT pg_get_viewdef('extract.persons')", 'SELECT 1 + 1']) {
    assert.equal(isCatalogueStatement(normalise(sql)), false, sql);
  }
});
