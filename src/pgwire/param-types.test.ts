import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { columnTypesOf, parameterTypes, standardCasts, typedLiteral } from './param-types.ts';

const TABLES = [
  { name: 'events', columns: [{ name: 'person_id', type: 'INTEGER' }, { name: 'drug', type: 'VARCHAR' }, { name: 'amount', type: 'DOUBLE' }, { name: 'event_date', type: 'DATE' }] },
  { name: 'persons', columns: [{ name: 'person_id', type: 'INTEGER' }, { name: 'birth_year', type: 'BIGINT' }, { name: 'dept', type: 'VARCHAR' }] },
  { name: 'other', columns: [{ name: 'person_id', type: 'VARCHAR' }] },
];

function typesOf(sql: string): Record<number, string> {
  return Object.fromEntries(parameterTypes(sql, columnTypesOf(sql, TABLES)));
}

describe('untyped parameters take the type of their place in the statement', () => {
  test('compared with a column, on either side, qualified or quoted', () => {
    assert.deepEqual(typesOf('SELECT count(*) FROM events WHERE amount >= $1 AND $2 = e.drug AND "event_date" < $3'), { 1: 'DOUBLE', 2: 'VARCHAR', 3: 'DATE' });
  });

  test('in a column\'s IN list, within BETWEEN bounds, after LIMIT and OFFSET', () => {
    assert.deepEqual(typesOf('SELECT * FROM persons WHERE birth_year NOT BETWEEN $1 AND $2 AND person_id IN (1, $3, $4) LIMIT $5 OFFSET $6'), { 1: 'BIGINT', 2: 'BIGINT', 3: 'INTEGER', 4: 'INTEGER', 5: 'BIGINT', 6: 'BIGINT' });
  });

  test('no type where the place says nothing: a function\'s result, a select item, an unknown column, a placeholder in a string', () => {
    assert.deepEqual(typesOf('SELECT $1 AS x, year(event_date) = $2, nosuch = $3, \'$4\' FROM events'), {});
  });

  test('a column the statement\'s tables disagree on has no type; tables the statement does not name do not count', () => {
    assert.deepEqual(typesOf('SELECT * FROM events JOIN other USING (person_id) WHERE person_id = $1'), {});
    assert.deepEqual(typesOf('SELECT * FROM events JOIN persons USING (person_id) WHERE person_id = $1'), { 1: 'INTEGER' });
  });
});

describe('a parameter sent as text becomes a literal of its type', () => {
  test('numbers, booleans, dates and timestamps; what does not read as its type stays a string', () => {
    assert.equal(typedLiteral(' 42 ', 'INTEGER'), '42');
    assert.equal(typedLiteral('4.5', 'INTEGER'), undefined);
    assert.equal(typedLiteral('-4.5e3', 'DOUBLE'), '-4.5e3');
    assert.equal(typedLiteral('1.25', 'DECIMAL(10,2)'), '1.25');
    assert.equal(typedLiteral('1; DROP TABLE x', 'BIGINT'), undefined);
    assert.equal(typedLiteral('t', 'BOOLEAN'), 'true');
    assert.equal(typedLiteral('no', 'BOOLEAN'), 'false');
    assert.equal(typedLiteral('2022-03-01', 'DATE'), "DATE '2022-03-01'");
    assert.equal(typedLiteral("2022-03-01' OR '1'='1", 'DATE'), undefined);
    assert.equal(typedLiteral('2022-03-01T10:11:12.5', 'TIMESTAMP(3)'), "TIMESTAMP '2022-03-01 10:11:12.5'");
    assert.equal(typedLiteral('2022-03-01', 'TIMESTAMP'), "TIMESTAMP '2022-03-01 00:00:00'");
    assert.equal(typedLiteral('D1', 'VARCHAR'), undefined);
  });
});

describe('psycopg2\'s typed literals become standard casts', () => {
  test('\'…\'::date and friends, and nothing in strings or other code', () => {
    assert.equal(standardCasts("SELECT * FROM t WHERE d >= '2022-01-01'::date AND ts < '2022-01-01 10:00'::timestamp AND s = 'a::date'"), "SELECT * FROM t WHERE d >= CAST('2022-01-01' AS DATE) AND ts < CAST('2022-01-01 10:00' AS TIMESTAMP) AND s = 'a::date'");
    assert.equal(standardCasts("SELECT 'x'::regclass, a::int, '1'::int8"), "SELECT 'x'::regclass, a::int, CAST('1' AS BIGINT)");
  });
});
