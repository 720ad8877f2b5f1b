/**
 * PostgreSQL types of both engines' column types: DuckDB's names and Trino's (bounded strings,
 * timestamp precisions, array(T), rows and maps), and Trino's cells in the wire formats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatType, PG, pgTypeOf, toBinary, toText } from './types.ts';

test('Trino\'s column types map to the PostgreSQL types a client expects, as DuckDB\'s do', () => {
  const cases: [string, number, string][] = [
    ['varchar', PG.text.oid, 'text'], ['VARCHAR(12)', PG.text.oid, 'text'], ['char(3)', PG.bpchar.oid, 'character(3)'],
    ['bigint', PG.int8.oid, 'bigint'], ['integer', PG.int4.oid, 'integer'], ['smallint', PG.int2.oid, 'smallint'], ['tinyint', PG.int2.oid, 'smallint'],
    ['real', PG.float4.oid, 'real'], ['double', PG.float8.oid, 'double precision'], ['decimal(10,2)', PG.numeric.oid, 'numeric(10,2)'],
    ['date', PG.date.oid, 'date'], ['timestamp(3)', PG.timestamp.oid, 'timestamp without time zone'], ['TIMESTAMP(6) WITH TIME ZONE', PG.timestamptz.oid, 'timestamp with time zone'],
    ['time(3)', PG.time.oid, 'time without time zone'], ['varbinary', PG.bytea.oid, 'bytea'], ['json', PG.json.oid, 'json'],
    ['array(bigint)', 1016, 'bigint[]'], ['array(varchar(5))', 1009, 'text[]'], ['row(a integer, b varchar)', PG.json.oid, 'json'], ['map(varchar, bigint)', PG.json.oid, 'json'],
    // DuckDB's, unchanged
    ['VARCHAR', PG.text.oid, 'text'], ['VARCHAR[]', 1009, 'text[]'], ['TIMESTAMP', PG.timestamp.oid, 'timestamp without time zone'], ['DECIMAL(18,3)', PG.numeric.oid, 'numeric(18,3)'],
  ];
  for (const [engine, oid, shown] of cases) {
    const t = pgTypeOf(engine);
    assert.equal(t.oid, oid, engine);
    assert.equal(formatType(t), shown, engine);
  }
});

test('Trino\'s cells go over the wire: a timestamp with its UTC zone name, a bounded string, an array', () => {
  const tz = toBinary('2021-03-04 05:06:07.123 UTC', PG.timestamptz);
  assert.deepEqual(tz, toBinary('2021-03-04 05:06:07.123+00', PG.timestamptz));
  assert.equal(toBinary('2000-01-01 00:00:00.000', PG.timestamp)?.readBigInt64BE(0), 0n);
  assert.equal(toText('abc', pgTypeOf('varchar(12)')), 'abc');
  assert.equal(toText('ab ', pgTypeOf('char(3)')), 'ab ');
  assert.equal(toText([1, 2, null], pgTypeOf('array(integer)')), '{1,2,NULL}');
  assert.throws(() => toBinary('2021-03-04 05:06:07.123 Europe/Paris', PG.timestamptz), /not a timestamp/);
});
