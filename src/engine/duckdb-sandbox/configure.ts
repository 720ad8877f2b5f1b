/**
 * The DuckDB instance a workspace worker runs member statements on, configured so that even a
 * statement the policy failed to refuse cannot leave the workspace: external access disabled
 * (only the extract's files and the scratch directory are allowed), no extension install or
 * load, no temporary directory (nothing spills: decrypted pages never reach disk), memory and
 * thread limits, and the configuration locked before any member statement runs.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkerOpenSpec } from './protocol.ts';

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function q(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/**
 * Opens the sandboxed DuckDB: `query` (search path extract, scratch) runs member statements,
 * `read` the engine's own bookkeeping. `beforeLock` runs while scratch views can still be made.
 */
export async function openSandboxDb<T>(spec: WorkerOpenSpec, beforeLock: (query: DuckDBConnection, read: DuckDBConnection) => Promise<T>): Promise<T> {
  await mkdir(spec.scratchDir, { recursive: true, mode: 0o700 });
  await mkdir(join(spec.scratchDir, 'tables'), { recursive: true, mode: 0o700 });
  await mkdir(join(spec.scratchDir, 'pipes'), { recursive: true, mode: 0o700 });
  const db = await DuckDBInstance.create(':memory:');
  const query = await db.connect();
  const kib = Math.max(1, Math.floor(spec.memoryBytes / 1024));
  const files = spec.extract.flatMap((t) => t.files);
  for (const s of [
    `SET GLOBAL memory_limit = '${kib}KiB'`,
    `SET GLOBAL threads = ${Math.max(1, Math.floor(spec.threads))}`,
    // No temporary directory: an operation that would spill fails instead of writing decrypted pages to disk.
    `SET GLOBAL temp_directory = ''`,
    `SET GLOBAL max_temp_directory_size = '0KiB'`,
    'SET GLOBAL autoinstall_known_extensions = false',
    'SET GLOBAL autoload_known_extensions = false',
    'SET GLOBAL allow_community_extensions = false',
    'SET GLOBAL allow_unsigned_extensions = false',
    `SET GLOBAL allowed_paths = [${files.map(q).join(', ')}]`,
    `SET GLOBAL allowed_directories = [${q(`${spec.scratchDir}/`)}]`,
    'CREATE SCHEMA extract',
    'CREATE SCHEMA scratch',
    'CREATE SCHEMA __results',
  ]) await query.run(s);
  for (const [i, t] of spec.extract.entries()) {
    if (!NAME.test(t.name)) throw new Error(`extract table name ${JSON.stringify(t.name)} is not an identifier`);
    await query.run(`PRAGMA add_parquet_key('k${i}', ${q(Buffer.from(t.key).toString('base64'))})`);
    await query.run(`CREATE VIEW extract.${ident(t.name)} AS SELECT * FROM read_parquet([${t.files.map(q).join(', ')}], encryption_config = {footer_key: 'k${i}'})`);
  }
  await query.run(`PRAGMA add_parquet_key('scratch', ${q(Buffer.from(spec.scratchKey).toString('base64'))})`);
  const result = await beforeLock(query, await db.connect());
  await query.run('SET GLOBAL enable_external_access = false');
  await query.run(`SET search_path = 'extract,scratch'`);
  // Progress is tracked (for the member's progress indicator), never printed.
  await query.run('SET enable_progress_bar = true');
  await query.run('SET enable_progress_bar_print = false');
  await query.run('SET GLOBAL lock_configuration = true');
  return result;
}
