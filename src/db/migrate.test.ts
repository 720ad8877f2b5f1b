import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTestDb, testDbKind } from '../../test/helpers/db.ts';
import { loadMigrations, migrate, splitStatements } from './index.ts';

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-mig-'));
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
  return dir;
}

test(`migrations apply in order and only once (${testDbKind})`, async () => {
  const t = await openTestDb({ migrated: false });
  try {
    const dir = await dirWith({ '0001_a.sql': 'CREATE TABLE a (x int);', '0002_b.sql': "CREATE TABLE b (y text DEFAULT 'a;b');" });
    assert.deepEqual((await migrate(t.db, dir)).applied, [1, 2]);
    assert.deepEqual((await migrate(t.db, dir)).applied, []);
    await t.db.query("INSERT INTO b DEFAULT VALUES");
    assert.deepEqual(await t.db.query('SELECT y FROM b'), [{ y: 'a;b' }]);
    await rm(dir, { recursive: true });
  } finally {
    await t.drop();
  }
});

test('a gap in the numbering is refused', async () => {
  const dir = await dirWith({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 1;' });
  await assert.rejects(loadMigrations(dir), /gap: expected number 0002/);
});

test('two migrations with one number are refused', async () => {
  const dir = await dirWith({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 1;' });
  await assert.rejects(loadMigrations(dir), /two migrations are numbered 0001/);
});

test('a badly named migration file is refused with the expected pattern', async () => {
  const dir = await dirWith({ '1_a.sql': 'SELECT 1;' });
  await assert.rejects(loadMigrations(dir), /does not match NNNN_name.sql/);
});

test(`an applied migration edited afterwards is refused (${testDbKind})`, async () => {
  const t = await openTestDb({ migrated: false });
  try {
    const dir = await dirWith({ '0001_a.sql': 'CREATE TABLE a (x int);' });
    await migrate(t.db, dir);
    await writeFile(join(dir, '0001_a.sql'), 'CREATE TABLE a (x bigint);');
    await assert.rejects(migrate(t.db, dir), /was changed after it was applied/);
  } finally {
    await t.drop();
  }
});

test(`a failing migration leaves the database at the previous version (${testDbKind})`, async () => {
  const t = await openTestDb({ migrated: false });
  try {
    const dir = await dirWith({ '0001_a.sql': 'CREATE TABLE a (x int);', '0002_bad.sql': 'CREATE TABLE b (y int); SELECT * FROM nowhere;' });
    await assert.rejects(migrate(t.db, dir));
    const rows = await t.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), [1]);
    const b = await t.db.query("SELECT to_regclass('b') AS r");
    assert.deepEqual(b, [{ r: null }]);
  } finally {
    await t.drop();
  }
});

test(`concurrent runners apply each migration exactly once (${testDbKind})`, async () => {
  const t = await openTestDb({ migrated: false });
  try {
    const dir = await dirWith({ '0001_a.sql': 'CREATE TABLE a (x int);', '0002_b.sql': 'CREATE TABLE b (x int);' });
    const results = await Promise.all([migrate(t.db, dir), migrate(t.db, dir), migrate(t.db, dir)]);
    assert.deepEqual(results.flatMap((r) => r.applied).sort(), [1, 2]);
  } finally {
    await t.drop();
  }
});

test('statements split around quotes, comments and dollar-quoted bodies', () => {
  const sql = `-- a; comment\nCREATE TABLE t (x text DEFAULT ';');\nCREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no; way'; END $$ LANGUAGE plpgsql;\n/* x; */ SELECT 1`;
  const parts = splitStatements(sql);
  assert.equal(parts.length, 3);
  assert.match(parts[1] ?? '', /RAISE EXCEPTION 'no; way'; END \$\$ LANGUAGE plpgsql$/);
});

test('the shipped migrations load without gaps', async () => {
  const ms = await loadMigrations();
  assert.ok(ms.length >= 1);
  ms.forEach((m, i) => assert.equal(m.version, i + 1));
});
