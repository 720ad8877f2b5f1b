/**
 * The statement policy on DuckDB's real parse trees (json_serialize_sql), rule by rule, with the
 * boundary cases of CTE scoping.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { checkSerializedStatement, type PolicyContext } from './policy.ts';

let conn: DuckDBConnection;
const ctx: PolicyContext = { extract: new Set(['persons', 'events']), scratch: new Set(['cohort']) };

before(async () => {
  conn = await (await DuckDBInstance.create(':memory:', { enable_external_access: 'false' })).connect();
});

async function verdict(sql: string): Promise<string> {
  const ps = await conn.prepare('SELECT json_serialize_sql($1::VARCHAR)');
  ps.bindVarchar(1, sql);
  const tree = JSON.parse(String((await ps.runAndReadAll()).getRows()[0]?.[0])) as unknown;
  return checkSerializedStatement(tree, ctx)?.reason ?? 'ok';
}

test('queries over the extract, the scratch and CTEs in scope pass', async () => {
  for (const sql of [
    'SELECT * FROM persons',
    'SELECT * FROM extract.persons JOIN scratch.cohort USING (person_id)',
    'SELECT * FROM PERSONS',
    'WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b',
    'WITH a AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM (SELECT * FROM a))',
    'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r',
    'SELECT * FROM range(3) UNION ALL SELECT * FROM generate_series(1, 2)',
    'SELECT [x + 1 FOR x IN [1, 2]]',
    'SELECT main.abs(-1)',
  ]) assert.equal(await verdict(sql), 'ok', sql);
});

test('a CTE is visible only where DuckDB would resolve it', async () => {
  // A later CTE is not visible to an earlier one's body: the name would resolve to the catalogue.
  assert.equal(await verdict('WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a'), 'table');
  // A CTE inside a subquery is not visible to its sibling.
  assert.equal(await verdict('SELECT * FROM (WITH a AS (SELECT 1) SELECT * FROM a), a'), 'table');
  // A non-recursive CTE cannot read itself.
  assert.equal(await verdict('WITH a AS (SELECT * FROM a) SELECT * FROM a'), 'table');
});

test('each rule refuses what it names', async () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['SELEC 1', 'syntax'],
    ['COPY persons TO \'x\'', 'not_a_query'],
    ['SELECT 1; SELECT 2', 'multiple_statements'],
    ['SELECT * FROM read_parquet(\'x\')', 'table_function'],
    ['SELECT * FROM main.read_parquet(\'x\')', 'table_function'],
    ['SELECT current_setting(\'x\')', 'function'],
    ['SELECT pg_catalog.abs(1)', 'function'],
    ['SELECT system.main.abs(1)', 'function'],
    ['SELECT duckdb_version()', 'function'],
    ['SELECT * FROM unknown_table', 'table'],
    ['SELECT * FROM extract.cohort', 'table'],
    ['SELECT * FROM main.persons', 'schema'],
    ['SELECT * FROM memory.extract.persons', 'schema'],
    ['SELECT $1', 'parameter'],
    ['SHOW TABLES', 'construct'],
    ['SELECT * FROM persons AT (VERSION => 1)', 'construct'],
  ];
  for (const [sql, reason] of cases) assert.equal(await verdict(sql), reason, sql);
});

test('a statement nested beyond the walk\'s depth is refused, not trusted', () => {
  let node: unknown = { type: 'SELECT_NODE' };
  for (let i = 0; i < 1000; i++) node = { child: node };
  assert.equal(checkSerializedStatement({ error: false, statements: [node] }, ctx)?.reason, 'too_complex');
});

test('unknown query-node and refused table-reference types are refused', () => {
  assert.equal(checkSerializedStatement({ error: false, statements: [{ node: { type: 'FUTURE_NODE' } }] }, ctx)?.reason, 'construct');
  assert.equal(checkSerializedStatement({ error: false, statements: [{ node: { type: 'SELECT_NODE', from_table: { type: 'COLUMN_DATA' } } }] }, ctx)?.reason, 'construct');
});
