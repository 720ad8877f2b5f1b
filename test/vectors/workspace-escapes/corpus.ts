/**
 * The workspace's escape corpus (SECURITY-TESTS.md #11): hostile statements a member could
 * send to read or write outside the extract, reach other databases, extensions, settings,
 * secrets or the catalogue, smuggle a second statement, or defer the check. Written for Enclave;
 * shared by the engine's own test (`src/engine/duckdb-sandbox/escape.test.ts`), the query API's
 * (`src/http/routes/workspace.test.ts`) and `enclave sql`'s (`src/cli/sql.test.ts`), so all
 * three refuse exactly the same list. Each must be refused with a clear error.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** What must stay out of reach, as absolute paths the test created. */
export interface EscapeTargets {
  /** The test's temporary directory (holds the extract and the files below). */
  readonly dir: string;
  /** A plain file holding a canary. */
  readonly secret: string;
  /** A fake keyring holding the canary. */
  readonly keyring: string;
  /** Another project's encrypted extract file. */
  readonly other: string;
  /** One of this workspace's own extract files, named by path. */
  readonly extractFile: string;
}

export function hostileStatements(p: EscapeTargets): string[] {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    // Reading files, directly or through every reader DuckDB has.
    `SELECT * FROM read_csv(${q(p.secret)})`,
    `SELECT * FROM read_csv_auto(${q(p.secret)})`,
    `SELECT * FROM read_text(${q(p.secret)})`,
    `SELECT * FROM read_blob(${q(p.keyring)})`,
    `SELECT * FROM read_json(${q(p.keyring)})`,
    `SELECT * FROM read_json_auto(${q(p.keyring)})`,
    `SELECT * FROM read_ndjson_objects(${q(p.keyring)})`,
    `SELECT * FROM read_parquet(${q(p.other)})`,
    `SELECT * FROM read_parquet(${q(p.other)}, encryption_config = {footer_key: 'k0'})`,
    `SELECT * FROM parquet_scan(${q(p.extractFile)}, encryption_config = {footer_key: 'k0'})`,
    `SELECT * FROM parquet_metadata(${q(p.extractFile)})`,
    `SELECT * FROM parquet_schema(${q(p.extractFile)})`,
    `SELECT * FROM parquet_kv_metadata(${q(p.extractFile)})`,
    `SELECT * FROM sniff_csv(${q(p.secret)})`,
    `SELECT * FROM read_duckdb(${q(join(p.dir, 'x.db'))})`,
    `SELECT * FROM glob('/*')`,
    `SELECT * FROM glob(${q(`${p.dir}/*`)})`,
    `SELECT * FROM ${q(p.secret)}`,
    `SELECT * FROM "${p.secret}"`,
    `FROM ${q(p.other)}`,
    `SELECT (SELECT content FROM read_text('/etc/passwd'))`,
    `SELECT * FROM persons WHERE dept IN (SELECT name FROM read_csv(${q(p.secret)}))`,
    `WITH x AS (SELECT * FROM read_csv(${q(p.secret)})) SELECT * FROM x`,
    `SELECT dept FROM persons UNION ALL SELECT name FROM read_csv(${q(p.secret)})`,
    `SELECT * FROM range(1) r, LATERAL (SELECT * FROM read_text(${q(p.secret)}))`,
    `SELECT * FROM query(${q(`SELECT * FROM read_csv(${q(p.secret)})`)})`,
    `SELECT * FROM query_table('persons')`,
    `SELECT * FROM json_execute_serialized_sql('{}')`,
    // Writing files, DDL and DML outside "save as".
    `COPY persons TO ${q(join(p.dir, 'out.csv'))}`,
    `COPY (SELECT * FROM persons) TO ${q(join(p.dir, 'out.parquet'))} (FORMAT parquet)`,
    `EXPORT DATABASE ${q(join(p.dir, 'export'))}`,
    `CREATE TABLE t AS SELECT * FROM persons`,
    `CREATE VIEW scratch.v AS SELECT * FROM read_csv(${q(p.secret)})`,
    `INSERT INTO scratch.x VALUES (1)`,
    `UPDATE persons SET dept = 'x'`,
    `DELETE FROM persons`,
    `DROP VIEW extract.persons`,
    `ALTER VIEW extract.persons RENAME TO p`,
    `CHECKPOINT`,
    `VACUUM`,
    `BEGIN TRANSACTION`,
    // Other databases.
    `ATTACH ${q(join(p.dir, 'evil.db'))} AS evil`,
    `ATTACH ':memory:' AS m`,
    `DETACH memory`,
    `USE system`,
    // Extensions.
    `INSTALL httpfs`,
    `LOAD httpfs`,
    `FORCE INSTALL httpfs FROM community`,
    `LOAD ${q(join(p.dir, 'evil.duckdb_extension'))}`,
    // Settings, pragmas, calls.
    `SET enable_external_access = true`,
    `SET lock_configuration = false`,
    `RESET lock_configuration`,
    `SET search_path = 'system.main'`,
    `SET VARIABLE x = 1`,
    `PRAGMA enable_profiling`,
    `PRAGMA add_parquet_key('mine', '${randomBytes(32).toString('base64')}')`,
    `CALL pragma_version()`,
    `CALL duckdb_settings()`,
    `EXPLAIN SELECT * FROM persons`,
    `EXPLAIN ANALYZE SELECT * FROM persons`,
    // Secrets.
    `CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')`,
    `SELECT * FROM duckdb_secrets()`,
    `SELECT * FROM which_secret('s3://bucket/x', 's3')`,
    // Functions and tables that reveal paths, settings, keys or the catalogue.
    `SELECT current_setting('allowed_paths')`,
    `SELECT current_setting('temp_directory')`,
    `SELECT "current_setting"('allowed_directories')`,
    `SELECT current_setting/**/('allowed_paths')`,
    `SELECT error(current_setting('allowed_paths'))`,
    `SELECT list_transform([1], x -> current_setting('allowed_paths'))`,
    `SELECT * FROM persons ORDER BY current_setting('allowed_paths')`,
    `SELECT system.main.current_setting('allowed_paths')`,
    `SELECT getenv('HOME')`,
    `SELECT getvariable('x')`,
    `SELECT pg_get_viewdef('extract.persons')`,
    `SELECT * FROM duckdb_settings()`,
    `SELECT * FROM duckdb_views()`,
    `SELECT sql FROM duckdb_views`,
    `SELECT * FROM duckdb_extensions()`,
    `SELECT * FROM duckdb_databases()`,
    `SELECT * FROM duckdb_temporary_files()`,
    `SELECT * FROM duckdb_memory()`,
    `SELECT * FROM pragma_table_info('persons')`,
    `SELECT * FROM pragma_database_size()`,
    `SELECT * FROM information_schema.tables`,
    `SELECT * FROM pg_catalog.pg_settings`,
    `SELECT * FROM sqlite_master`,
    `SELECT * FROM memory.extract.persons`,
    `SELECT * FROM system.main.duckdb_settings()`,
    `SELECT * FROM __results.r1`,
    `SELECT * FROM test_all_types()`,
    `SHOW TABLES`,
    `SHOW ALL TABLES`,
    `DESCRIBE SELECT current_setting('allowed_paths')`,
    `SUMMARIZE SELECT * FROM read_csv(${q(p.secret)})`,
    `SELECT * FROM persons AT (VERSION => 1)`,
    // Multi-statement smuggling.
    `SELECT 1; COPY persons TO ${q(join(p.dir, 'o.csv'))}`,
    `SELECT 1; SELECT * FROM read_csv(${q(p.secret)})`,
    `SELECT 1;ATTACH ${q(join(p.dir, 'e.db'))}`,
    `SELECT 1; SELECT 2`,
    // Comment and quoting tricks.
    `SELECT * FROM /* persons */ read_csv(${q(p.secret)})`,
    `SELECT * FROM read_csv -- persons\n(${q(p.secret)})`,
    `SELECT * FROM "read_csv"(${q(p.secret)})`,
    `SELECT * FROM READ_CSV(${q(p.secret)})`,
    `SELECT * FROM "READ_TEXT"(${q(p.secret)})`,
    `SELECT * FROM read_csv($$${p.secret}$$)`,
    `SELECT * FROM (WITH duckdb_settings AS (SELECT 1 AS x) SELECT x FROM duckdb_settings) a, duckdb_settings`,
    `WITH a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM a`,
    // Macros and prepared statements that would defer the check.
    `CREATE MACRO m() AS TABLE SELECT * FROM read_csv(${q(p.secret)})`,
    `CREATE TEMP MACRO f(x) AS current_setting(x)`,
    `CREATE FUNCTION g() AS 1`,
    `PREPARE p AS SELECT * FROM read_csv($1)`,
    `EXECUTE p(${q(p.secret)})`,
    `SELECT * FROM persons WHERE dept = $1`,
    `SELECT ?`,
    `DEALLOCATE p`,
  ];
}
