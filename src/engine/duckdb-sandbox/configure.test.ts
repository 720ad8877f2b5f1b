/**
 * Defence in depth: the worker's DuckDB, reached directly (as if the statement policy had let
 * something through), still cannot read or write outside the workspace, load an extension,
 * change its configuration or spill.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { makeExtract, PERSONS, type Fixture } from '../spec/fixture.ts';
import { openSandboxDb } from './configure.ts';

let fx: Fixture;
let conn: DuckDBConnection;
before(async () => {
  fx = await makeExtract();
  await writeFile(join(fx.dir, 'secret.csv'), 'a\n1\n');
  const spec = fx.spec();
  conn = await openSandboxDb(
    {
      extract: spec.extract,
      scratchDir: spec.scratch.dir,
      scratchKey: spec.scratch.key,
      scratchQuotaBytes: spec.scratch.quotaBytes,
      memoryBytes: 64 * 1024 * 1024,
      threads: 1,
    },
    async (query) => query,
  );
});
after(async () => {
  conn.closeSync();
  await fx.cleanup();
});

async function fails(sql: string, pattern: RegExp): Promise<void> {
  await assert.rejects(conn.run(sql), (e: unknown) => e instanceof Error && pattern.test(e.message), sql);
}

test('the extract reads through its views, with the keys registered in the engine', async () => {
  const r = await conn.runAndReadAll('SELECT count(*) FROM persons');
  assert.equal(Number(r.getRows()[0]?.[0]), PERSONS);
});

test('files outside the extract cannot be read or written even without the policy', async () => {
  await fails(`SELECT * FROM read_csv('${join(fx.dir, 'secret.csv')}')`, /Permission Error/);
  await fails(`SELECT * FROM read_text('/etc/passwd')`, /Permission Error/);
  await fails(`SELECT * FROM glob('/*')`, /Permission Error/);
  await fails(`COPY (SELECT 1) TO '${join(fx.dir, 'out.csv')}'`, /Permission Error/);
  await fails(`ATTACH '${join(fx.dir, 'evil.db')}'`, /Permission Error/);
});

test('extensions cannot be installed or loaded, and the configuration is locked', async () => {
  await fails('INSTALL httpfs', /Permission Error|disabled|locked/);
  await fails('LOAD httpfs', /Permission Error|disabled|locked|not found/i);
  await fails('SET enable_external_access = true', /locked/);
  await fails('SET lock_configuration = false', /locked/);
  await fails(`SET temp_directory = '${fx.dir}'`, /locked/);
  await fails(`SET memory_limit = '10GB'`, /locked/);
});

test('nothing spills: a query beyond the memory limit fails instead of writing to disk', async () => {
  const r = await conn.runAndReadAll(`SELECT current_setting('temp_directory') AS t`);
  assert.equal(r.getRows()[0]?.[0], '');
  await fails('SELECT list(range) FROM range(100000000)', /Out of Memory/);
});
