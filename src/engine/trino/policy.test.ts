import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { checkIoPlan, checkStatementText, quotedIdentifiers } from './policy.ts';
import { accessRules } from './rules.ts';

test('only queries pass the text check, whatever comments or parentheses come first', () => {
  for (const ok of ['SELECT 1', '  -- c\n/* d */ WITH x AS (SELECT 1) SELECT * FROM x', '((SELECT 1))', 'VALUES 1', 'TABLE persons', 'select 1;']) assert.equal(checkStatementText(ok, 1000).ok, true, ok);
  for (const [bad, reason] of [['SET SESSION a = 1', 'not_a_query'], ['/* SELECT */ CALL x()', 'not_a_query'], ['-- SELECT\nDROP TABLE t', 'not_a_query'], ['  ', 'empty'], ['-- only a comment', 'empty'], [`SELECT '${'x'.repeat(2000)}'`, 'too_large']] as const) {
    const r = checkStatementText(bad, 1000);
    assert.ok(!r.ok && r.refusal.reason === reason, `${bad}: ${JSON.stringify(r)}`);
  }
});

test('quoted identifiers are read past strings and comments; a $ in one, or a Unicode escape, is refused', () => {
  assert.deepEqual(quotedIdentifiers(`SELECT 'a"$b"''' AS "x""y" -- "$c"\n/* "$d" */ FROM "t"`).names, ['x"y', 't']);
  assert.equal(quotedIdentifiers('SELECT * FROM U&"\\0074"').unicode, true);
  assert.equal(checkStatementText(`SELECT '"$path"' AS s`, 1000).ok, true);
  for (const bad of ['SELECT "$path" FROM persons', 'SELECT * FROM "persons$properties"', 'SELECT * FROM u&"\\0024path"']) assert.equal(checkStatementText(bad, 1000).ok, false, bad);
});

test('the IO plan check accepts the own schema only and no output table', () => {
  const own = { catalog: 'enclave', schema: 'ws_a' };
  const plan = (catalog: string, schema: string, table: string, out?: unknown) => JSON.stringify({ inputTableColumnInfos: [{ table: { catalog, schemaTable: { schema, table } } }], ...(out === undefined ? {} : { outputTable: out }) });
  assert.equal(checkIoPlan(plan('enclave', 'ws_a', 'persons'), own), undefined);
  assert.equal(checkIoPlan(plan('system', 'runtime', 'queries'), own)?.reason, 'table');
  assert.equal(checkIoPlan(plan('enclave', 'ws_b', 'persons'), own)?.reason, 'table');
  assert.equal(checkIoPlan(plan('enclave', 'information_schema', 'tables'), own)?.reason, 'table');
  assert.equal(checkIoPlan(plan('enclave', 'ws_a', 'persons', { catalog: 'enclave', schemaTable: { schema: 'ws_a', table: 'x' } }), own)?.reason, 'not_a_query');
  assert.equal(checkIoPlan('not json', own)?.reason, 'syntax');
});

test('access rules: the admin, then each open workspace on its own schema, then nothing', () => {
  const r = accessRules([{ user: 'ws_a', catalog: 'enclave', schema: 'ws_a', extractTables: ['persons', 'events'] }]) as { catalogs: unknown[]; tables: { user?: string; table?: string; privileges: string[] }[] };
  assert.deepEqual(r.catalogs.at(-1), { allow: 'none' });
  const ro = r.tables.find((x) => x.user === 'ws_a' && x.table !== undefined);
  assert.deepEqual([ro?.table, ro?.privileges], ['(persons|events)', ['SELECT']]);
  assert.deepEqual(accessRules([]).catalogs, [{ user: 'enclave_admin', allow: 'owner' }, { allow: 'none' }]);
  assert.throws(() => accessRules([{ user: 'ws_.*', catalog: 'enclave', schema: 'ws_a', extractTables: [] }]), /not a safe Trino name/);
});

test('scripts/trino.sh starts the coordinator with exactly the rules of no open workspace (the admin may create catalogs and run procedures)', async () => {
  const script = await readFile(new URL('../../../scripts/trino.sh', import.meta.url), 'utf8');
  const m = /printf '%s\\n' '(\{"catalogs".*?)' >"\$ETC\/rules\.json"/.exec(script);
  assert.ok(m !== null, 'the initial rules.json in scripts/trino.sh');
  assert.deepEqual(JSON.parse(m[1] ?? ''), accessRules([]));
});
