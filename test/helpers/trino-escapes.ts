/**
 * Trino's own ways out of a workspace (SECURITY-TESTS.md #11), beside the shared corpus
 * (`workspace-escapes.ts`): the `system` catalog, `information_schema`, other projects' schemas,
 * hidden tables and columns, session properties, procedures, DDL and DML, `EXPLAIN ANALYZE`,
 * prepared statements, connector table functions. Used by the Trino engine's escape test and by
 * the end-to-end test through the query API. `own` and `other` are workspace schemas.
 */
import { trinoIdent } from '../../src/engine/trino/engine.ts';
import { ADMIN_USER } from '../../src/engine/trino/rules.ts';

export function trinoHostile(own: string, other: string): string[] {
  const o = trinoIdent(other);
  return [
    // The system catalog: queries of everyone, nodes, catalogs, JDBC metadata.
    'SELECT * FROM system.runtime.queries',
    'SELECT query FROM system.runtime.queries',
    'SELECT * FROM system.runtime.nodes',
    'SELECT * FROM system.runtime.tasks',
    'SELECT * FROM system.metadata.catalogs',
    'SELECT * FROM system.metadata.table_properties',
    'SELECT * FROM system.jdbc.tables',
    'SELECT * FROM system.information_schema.tables',
    'SELECT * FROM "system"."runtime"."nodes"',
    'SELECT * FROM SYSTEM.RUNTIME.NODES',
    'SELECT * FROM U&"\\0073ystem".runtime.nodes',
    'SELECT * FROM /* persons */ system.runtime.nodes',
    // The catalogue of other projects.
    'SELECT * FROM information_schema.tables',
    'SELECT * FROM information_schema.schemata',
    'SELECT * FROM enclave.information_schema.columns',
    'SELECT * FROM information_schema.table_privileges',
    'SELECT * FROM information_schema.views',
    // Another project's schema, directly and hidden in subqueries, CTEs, unions, laterals.
    `SELECT * FROM enclave.${o}.canary`,
    `SELECT * FROM ${o}.canary`,
    `SELECT * FROM "enclave".${o}."canary"`,
    `SELECT * FROM persons WHERE dept IN (SELECT name FROM ${o}.canary)`,
    `SELECT (SELECT max(name) FROM ${o}.canary)`,
    `WITH x AS (SELECT * FROM ${o}.canary) SELECT * FROM x`,
    `SELECT dept FROM persons UNION ALL SELECT name FROM ${o}.canary`,
    `SELECT * FROM persons CROSS JOIN LATERAL (SELECT * FROM ${o}.canary)`,
    `SELECT * FROM enclave.${o}.persons`,
    // Hidden tables and columns (paths, sizes, properties).
    'SELECT * FROM "persons$properties"',
    'SELECT * FROM "persons$partitions"',
    'SELECT "$path" FROM persons',
    'SELECT "$file_size" FROM events',
    'SELECT count(DISTINCT "$path") FROM events',
    // Session, roles, paths, transactions.
    `SET SESSION query_max_memory = '10GB'`,
    `SET SESSION enclave.parquet_use_column_names = false`,
    'RESET SESSION query_max_execution_time',
    'SET ROLE ALL',
    'SET PATH system.builtin',
    `SET TIME ZONE 'UTC'`,
    `SET SESSION AUTHORIZATION ${ADMIN_USER}`,
    `USE enclave.${o}`,
    'START TRANSACTION',
    'COMMIT',
    // Procedures.
    `CALL system.runtime.kill_query(query_id => '1', message => 'x')`,
    `CALL enclave.system.flush_metadata_cache()`,
    `CALL enclave.system.register_partition(schema_name => '${own}', table_name => 'persons', partition_columns => ARRAY['x'], partition_values => ARRAY['1'], location => 'local:///')`,
    `CALL enclave.system.drop_stats(schema_name => '${own}', table_name => 'persons')`,
    // DDL and DML outside "save as".
    'INSERT INTO persons VALUES (1, 1, 1, \'x\')',
    'DELETE FROM persons',
    `UPDATE persons SET dept = 'x'`,
    'MERGE INTO persons p USING events e ON p.person_id = e.person_id WHEN MATCHED THEN DELETE',
    'TRUNCATE TABLE persons',
    'DROP TABLE persons',
    'ALTER TABLE persons RENAME TO p',
    `ALTER SCHEMA ${trinoIdent(own)} SET AUTHORIZATION USER ${ADMIN_USER}`,
    'CREATE TABLE t AS SELECT * FROM persons',
    `CREATE TABLE ${o}.t AS SELECT 1 AS x`,
    `CREATE TABLE t (a integer) WITH (external_location = 'local:///')`,
    `CREATE SCHEMA enclave.evil WITH (location = 'local:///')`,
    'CREATE CATALOG evil USING hive',
    'DROP CATALOG enclave',
    `GRANT SELECT ON persons TO USER ${trinoIdent(other)}`,
    `REVOKE SELECT ON persons FROM USER ${trinoIdent(own)}`,
    `COMMENT ON TABLE persons IS 'x'`,
    'ANALYZE persons',
    'CREATE MATERIALIZED VIEW m AS SELECT * FROM persons',
    'CREATE FUNCTION f() RETURNS integer RETURN 1',
    // Plans and statistics (EXPLAIN ANALYZE runs the statement).
    'EXPLAIN SELECT * FROM persons',
    `EXPLAIN ANALYZE SELECT * FROM ${o}.canary`,
    'EXPLAIN (TYPE IO, FORMAT JSON) SELECT * FROM persons',
    'SHOW CATALOGS',
    'SHOW SCHEMAS FROM enclave',
    `SHOW TABLES FROM enclave.${o}`,
    'SHOW CREATE TABLE persons',
    'SHOW SESSION',
    'SHOW FUNCTIONS',
    'SHOW STATS FOR persons',
    'DESCRIBE persons',
    // Prepared statements that would defer the check.
    'PREPARE p FROM SELECT * FROM system.runtime.nodes',
    'EXECUTE p',
    `EXECUTE IMMEDIATE 'SELECT * FROM system.runtime.nodes'`,
    'DEALLOCATE PREPARE p',
    'SELECT * FROM persons WHERE dept = ?',
    // Connector table functions (Hive's unload writes files anywhere; JDBC's query runs remote SQL).
    `SELECT * FROM TABLE(enclave.system.unload(input => TABLE(persons), location => 'local:///', format => 'CSV'))`,
    `SELECT * FROM TABLE(system.query(query => 'SELECT 1'))`,
    `SELECT * FROM TABLE(enclave.system.query(query => 'SELECT 1'))`,
    // Multi-statement smuggling and comment tricks.
    'SELECT 1; SELECT 2',
    'SELECT 1; DROP TABLE persons',
    `/* SELECT */ SET SESSION query_max_memory = '10GB'`,
    `-- SELECT\nCALL system.runtime.kill_query(query_id => '1', message => 'x')`,
    `(SELECT 1) UNION ALL (SELECT count(*) FROM system.runtime.queries)`,
  ];
}
