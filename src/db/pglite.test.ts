/**
 * New PGlite databases from a seed (what `npm test` does to skip initdb in every process) and
 * without one (what production does): both give a working, empty cluster; an existing data
 * directory is opened as it is, never replaced by the seed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { migrate } from './migrate.ts';
import { openPglite, pgliteSeed, usePgliteSeed } from './pglite.ts';

let dir: string;
let seedFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enclave-pglite-'));
  seedFile = join(dir, 'seed.tar');
  await writeFile(seedFile, await pgliteSeed());
});
after(async () => {
  // the process's own seed (the suite's preload) is put back for whatever runs after
  const suite = process.env['TEST_PGLITE_SEED'];
  usePgliteSeed(suite === '' ? undefined : suite);
  await rm(dir, { recursive: true, force: true });
});

test('a new data directory and a new in-memory database start from the seed, empty, and migrate', async () => {
  usePgliteSeed(seedFile);
  const data = join(dir, 'seeded');
  const db = await openPglite(data);
  assert.ok(existsSync(join(data, 'PG_VERSION')), 'the cluster is written into the directory');
  assert.deepEqual(await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [{ n: 0 }]);
  await migrate(db);
  await db.query('CREATE TABLE kept (x int)');
  await db.query('INSERT INTO kept VALUES (42)');
  await db.close();
  // reopened: the directory's own cluster, with what was written, not the seed again
  const again = await openPglite(data);
  assert.deepEqual(await again.query('SELECT x FROM kept'), [{ x: 42 }]);
  await again.close();
  const memory = await openPglite(undefined);
  assert.deepEqual(await memory.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [{ n: 0 }]);
  await memory.close();
});

test('without a seed, initdb creates the cluster as in production', async () => {
  usePgliteSeed(undefined);
  const data = join(dir, 'initdb');
  const db = await openPglite(data);
  assert.ok(existsSync(join(data, 'PG_VERSION')));
  assert.deepEqual(await db.query('SELECT 1 + 1 AS two'), [{ two: 2 }]);
  await db.close();
});

test('a seed file that is not there is named when a new database needs it', async () => {
  usePgliteSeed(join(dir, 'missing.tar'));
  await assert.rejects(openPglite(undefined), /ENOENT.*missing\.tar/);
});
