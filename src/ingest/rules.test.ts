import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CatalogColumn, ColumnConstraints } from '../catalog/index.ts';
import { sqlIdent, sqlString, type Engine, type EngineSession } from '../engine/index.ts';
import { openDuckDb } from '../engine/duckdb.ts';
import { nirControlKey } from './nir.ts';
import { dateShape, globFromPattern, integerTextSql, rowHasViolationSql, rowTypedSql, rowViolationsSql, typedSql, type ColumnSqlContext } from './rules.ts';

/**
 * Every row pays `rowHasViolationSql`, a fused condition per column; bad rows are then described
 * rule by rule with `rowViolationsSql`. Ingestion relies on both saying the same thing about
 * every row (a row the fast test passes is published), so this test feeds both the values that
 * DuckDB's casts are lenient with, and random mixtures of them, and compares the verdicts.
 */

function col(name: string, type: CatalogColumn['type'], constraints: ColumnConstraints, extra: Partial<CatalogColumn> = {}): CatalogColumn {
  return {
    name, type, description: '', nomenclature: null, length: null, format: null, constraints, position: 0,
    sensitivity: 'other', sensitivityReason: '', sensitivityRule: 'default', ...extra,
  };
}

const nir13 = '1850775123456';
const goodNir = nir13 + String(nirControlKey(nir13)).padStart(2, '0');

const columns: CatalogColumn[] = [
  col('I_RANGE', 'integer', { required: true, minimum: 1, maximum: 99 }),
  col('I_OPT_ENUM', 'integer', { enum: [1, 2, -1] }),
  col('I_NOM', 'integer', { required: true }, { nomenclature: 'NOM_INT' }),
  col('I_NOM_TXT', 'integer', {}, { nomenclature: 'NOM_TXT' }),
  col('Y', 'year', { required: true, minimum: 1900, maximum: 2100 }),
  col('N_MIN', 'number', { required: true, minimum: 0 }),
  col('N_OPT_MAX', 'number', { maximum: 100 }),
  col('D_ISO', 'date', { required: true, minimum: '2000-01-01' }),
  col('D_FR', 'date', {}, { format: '%d/%m/%Y' }),
  col('TS', 'datetime', {}),
  col('B', 'boolean', {}),
  col('S_PAT', 'string', { required: true, pattern: '^(0[0-9]{2}|2[AB])$' }),
  col('S_LEN', 'string', { minLength: 2, maxLength: 4 }),
  col('S_ENUM', 'string', { enum: ['A', 'B'] }, { nomenclature: 'NOM_TXT' }),
  col('S_FREE', 'string', {}),
  col('NIR', 'string', { required: true }, { sensitivity: 'direct_identifier' }),
  col('PSA', 'string', { pattern: '^[0-9A-Z]{17}$' }, { sensitivity: 'pseudonym' }),
  // Every spelling a profile or a catalogue gives dates (DATE_FORMATS, `%m`, a year-month), and a
  // bound the catalogue writes in ISO on a column a profile spells otherwise.
  col('D_DMY', 'date', {}, { format: '%d%m%Y' }),
  col('D_FR_MIN', 'date', { minimum: '2000-01-01' }, { format: '%d/%m/%Y' }),
  col('D_SAS', 'date', {}, { format: '%d%b%Y' }),
  col('TS_SAS', 'datetime', {}, { format: '%d%b%Y:%H:%M:%S' }),
  col('TS_Z', 'datetime', {}, { format: '%Y-%m-%dT%H:%M:%SZ' }),
  col('TS_MS', 'datetime', {}, { format: '%Y-%m-%dT%H:%M:%S.%gZ' }),
  col('D_MONTH', 'date', {}, { format: '%m' }),
  col('D_YM', 'date', {}, { format: '%Y%m' }),
  col('YM', 'yearmonth', { maxLength: 7 }),
];

/** Values DuckDB's casts accept too readily, boundaries, and plain good ones. */
const tricky = [
  null, '0', '-0', '007', '1-', '--1', '-', '1-2', '- 1', '00', '1', '2', '-1', '10', '99', '100', '101', '1.5', '1,5', '1.', '.5', '-1.25', '1e3', '0x10', '+5', ' 5', '5 ',
  '1_000', 'nan', 'inf', '99999999999999999999', '1900', '2100', '2101', '2020-01-05', '2020-1-5', '2020-02-30', '2020-02-29',
  '1999-12-31', ' 2020-01-05', '2020-01-05 ', '20-01-05', '05/01/2020', '5/1/2020', '2020-01-05 10:00:00', '2020-01-05T10:00:00',
  'true', 'false', 'oui', 'O', 'N', 'yes', 'abc', 'A', 'B', 'AB', 'ABCDE', '075', '2A', '2B', '2C', 'X', '01', goodNir,
  `${nir13}00`, `${goodNir.slice(0, 5)}00${goodNir.slice(7)}`, '0123456789ABCDEFG', '0123456789abcdefg', '',
  // Dates DuckDB's strptime reads though they are not spelled as their format says (two-digit
  // years read as the year 21, unpadded fields, spaces, short fractions), and good ones.
  '01/03/21', '01/03/021', '1/3/2021', '01/3/2021', '01/03/2021', ' 01/03/2021', '01/03/2021 ', '31/12/1999', '29/02/2021', '01032021', '010321', '0103021', '1032021',
  '20NOV1985', '20nov1985', '20Nov85', '20NOVEMBER1985', '20NOV1985:13:13:57', '20nov1985:13:13:57', '20Nov85:13:13:57', '20NOV1985:1:3:5', '20NOV1985:13:13:57 ',
  '2021-03-01T10:00:00Z', '2021-03-01T1:00:00Z', '2021-3-01T10:00:00Z', '2021-03-01T10:00:00.123Z', '2021-03-01T10:00:00.1Z', '2021-03-01T10:00:00.1234Z',
  '2020-01-05  10:00:00', '2020-01-05 1:00:00', '03', '3', '13', '202103', '20213', '2021003', '21-03',
  // Year-months: YYYYMM and YYYY-MM with a real month, nothing else.
  '2021-03', '202100', '202113', '2021-13', '2021-3', '2021/03', ' 202103', '202103 ', '2021031',
];

let engine: Engine;
let s: EngineSession;
const ctx: ColumnSqlContext = {
  nomenclatureType: (n) => (n === 'NOM_INT' ? 'rules_nom_int' : n === 'NOM_TXT' ? 'rules_nom_txt' : undefined),
  nomenclatureIsIntegers: (n) => n === 'NOM_INT',
};

before(async () => {
  engine = await openDuckDb({});
  s = await engine.session();
  await s.run(`CREATE TYPE rules_nom_int AS ENUM ('1', '2', '10', '99')`);
  await s.run(`CREATE TYPE rules_nom_txt AS ENUM ('01', '2A', 'A', 'X', '1')`);
  // Every tricky value in every column, then random rows mixing them (a fixed-seed generator).
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const lit = (v: string | null): string => (v === null || v === '' ? 'NULL' : sqlString(v));
  const rows: string[] = [];
  for (const v of tricky) rows.push(`(${columns.map(() => lit(v)).join(', ')})`);
  for (let i = 0; i < 4000; i++) {
    // Mostly good-looking rows, so that rows with exactly one broken value are common.
    rows.push(`(${columns.map((_c, k) => lit(rnd() < 0.96 ? goodValue(k) : (tricky[Math.floor(rnd() * tricky.length)] ?? null))).join(', ')})`);
  }
  await s.run(`CREATE TABLE t (${columns.map((c) => `${sqlIdent(c.name)} VARCHAR`).join(', ')})`);
  await s.run(`INSERT INTO t VALUES ${rows.join(', ')}`);
});

after(async () => {
  s.close();
  await engine.close();
});

function goodValue(k: number): string | null {
  return [
    '42', '2', '10', null, '1987', '3.25', '99.5', '2020-01-05', '05/01/2020', '2020-01-05 10:00:00', 'oui', '2A', 'abc', 'A', 'x', goodNir, '0123456789ABCDEFG',
    '05012020', '05/01/2020', '05jan2020', '20NOV1985:13:13:57', '2021-03-01T10:00:00Z', '2021-03-01T10:00:00.123Z', '03', '202103', '202103',
  ][k] ?? null;
}

test('the fused row test and the rule-by-rule list agree on every row', async () => {
  const raw = (n: string): string => sqlIdent(n);
  const fast = rowHasViolationSql(columns, raw, ctx);
  const precise = rowViolationsSql(columns, raw, ctx);
  const r = await s.all<{ n: bigint; bad: bigint; disagree: bigint }>(`SELECT count(*) AS n, count(*) FILTER (len(p) > 0) AS bad, count(*) FILTER (f <> (len(p) > 0)) AS disagree FROM (SELECT ${fast} AS f, ${precise} AS p FROM t)`);
  const row = r[0];
  assert.ok(row !== undefined);
  assert.equal(row.disagree, 0n);
  // The mixture exercises both verdicts in bulk.
  assert.ok(row.bad > 500n && row.n - row.bad > 500n, `bad ${row.bad} of ${row.n}`);
});

test('each column alone: the fused test and the list agree for every tricky value', async () => {
  for (const c of columns) {
    const raw = (n: string): string => (n === c.name ? sqlIdent(n) : 'NULL::VARCHAR');
    const r = await s.all<{ v: string | null; f: boolean; p: string[] }>(`SELECT ${sqlIdent(c.name)} AS v, ${rowHasViolationSql([c], raw, ctx)} AS f, ${rowViolationsSql([c], raw, ctx)} AS p FROM (SELECT DISTINCT ${sqlIdent(c.name)} FROM t)`);
    for (const x of r) assert.equal(x.f, x.p.length > 0, `${c.name} = ${JSON.stringify(x.v)}: fast ${String(x.f)}, rules ${JSON.stringify(x.p)}`);
  }
});

test('a value that passes every rule is typed the same by the row pass and by the strict parse', async () => {
  for (const c of columns) {
    const v = sqlIdent(c.name);
    const r = await s.all<{ n: bigint }>(`SELECT count(*) AS n FROM t WHERE NOT ${rowHasViolationSql([c], (n) => (n === c.name ? v : 'NULL::VARCHAR'), ctx)} AND (${rowTypedSql(c, v, ctx)}) IS DISTINCT FROM (${typedSql(c, v)})`);
    assert.equal(r[0]?.n, 0n, c.name);
  }
});

test('strictness: lenient casts do not make a value valid', async () => {
  const verdict = async (c: CatalogColumn, v: string): Promise<string[]> => {
    const r = await s.all<{ p: string[] }>(`SELECT ${rowViolationsSql([c], () => sqlString(v), ctx)} AS p`);
    return r[0]?.p ?? [];
  };
  const int = columns[0] as CatalogColumn;
  for (const v of ['1.5', '1e3', '0x10', '+5', ' 5', '1_000', '1-2', '--1', '-', '99999999999999999999']) assert.deepEqual(await verdict(int, v), ['I_RANGE:type'], v);
  const num = columns[5] as CatalogColumn;
  for (const v of ['nan', 'inf', '1e3', '.5', '1.', '+1']) assert.deepEqual(await verdict(num, v), ['N_MIN:type'], v);
  assert.deepEqual(await verdict(num, '1,5'), []);
  const date = columns[7] as CatalogColumn;
  for (const v of ['2020-1-5', ' 2020-01-05', '2020-01-05 ', '20-01-05', '2020-02-30']) assert.deepEqual(await verdict(date, v), ['D_ISO:type'], v);
  assert.deepEqual(await verdict(date, '1999-12-31'), ['D_ISO:range']);
  // A catalogue bound written in ISO holds on a column the delivery spells dd/MM/yyyy.
  const frMin = columns.find((c) => c.name === 'D_FR_MIN') as CatalogColumn;
  assert.deepEqual(await verdict(frMin, '31/12/1999'), ['D_FR_MIN:range']);
  assert.deepEqual(await verdict(frMin, '01/01/2000'), []);
  // Year-months (the SNDS's *_AMD, length 6): YYYYMM or YYYY-MM with a real month.
  const ym = columns.find((c) => c.name === 'YM') as CatalogColumn;
  for (const v of ['202103', '2021-03', '190001', '209912']) assert.deepEqual(await verdict(ym, v), [], v);
  for (const v of ['202100', '202113', '2021-13', '2021-3', '2021/03', '20213', ' 202103', '202103 ', '2021031', '21-03', '03']) assert.deepEqual(await verdict(ym, v), ['YM:type'], v);
});

/** Values and what each format reads from them: the parsed value as text, or null when it is no value of that spelling (rule `type`). */
const spellings: ReadonlyArray<readonly [type: 'date' | 'datetime', format: string, value: string, read: string | null]> = [
  ['date', '%d/%m/%Y', '01/03/2021', '2021-03-01'], ['date', '%d/%m/%Y', '01/03/21', null], ['date', '%d/%m/%Y', '01/03/021', null], ['date', '%d/%m/%Y', '1/3/2021', null],
  ['date', '%d/%m/%Y', '01/3/2021', null], ['date', '%d/%m/%Y', ' 01/03/2021', null], ['date', '%d/%m/%Y', '01/03/2021 ', null], ['date', '%d/%m/%Y', '01/03/0021', '0021-03-01'],
  ['date', '%d/%m/%Y', '29/02/2021', null], ['date', '%d/%m/%Y', '01-03-2021', null], ['date', '%d/%m/%Y', '01/03/２０２１', null],
  ['date', '%Y-%m-%d', '2021-03-01', '2021-03-01'], ['date', '%Y-%m-%d', '2021-3-1', null], ['date', '%Y-%m-%d', '21-03-01', null], ['date', '%Y-%m-%d', '2021-03-01 00:00:00', null],
  ['date', '%d%m%Y', '01032021', '2021-03-01'], ['date', '%d%m%Y', '010321', null], ['date', '%d%m%Y', '0103021', null], ['date', '%d%m%Y', '1032021', null],
  ['date', '%Y%m%d', '20210301', '2021-03-01'], ['date', '%Y%m%d', '2021031', null],
  ['date', '%d%b%Y', '20NOV1985', '1985-11-20'], ['date', '%d%b%Y', '20nov1985', '1985-11-20'], ['date', '%d%b%Y', '20Nov85', null], ['date', '%d%b%Y', '20NOVEMBER1985', null],
  ['date', '%d%b%Y:%H:%M:%S', '20NOV1985:13:13:57', '1985-11-20'],
  ['datetime', '%d%b%Y:%H:%M:%S', '20NOV1985:13:13:57', '1985-11-20 13:13:57'], ['datetime', '%d%b%Y:%H:%M:%S', '20nov1985:13:13:57', '1985-11-20 13:13:57'],
  ['datetime', '%d%b%Y:%H:%M:%S', '20Nov85:13:13:57', null], ['datetime', '%d%b%Y:%H:%M:%S', '20NOV1985:1:3:5', null], ['datetime', '%d%b%Y:%H:%M:%S', '20NOV1985:24:00:00', null],
  ['datetime', '%Y-%m-%dT%H:%M:%SZ', '2021-03-01T10:00:00Z', '2021-03-01 10:00:00'], ['datetime', '%Y-%m-%dT%H:%M:%SZ', '2021-03-01T10:00:00', null], ['datetime', '%Y-%m-%dT%H:%M:%SZ', '2021-3-1T10:0:0Z', null],
  ['datetime', '%Y-%m-%dT%H:%M:%S.%gZ', '2021-03-01T10:00:00.123Z', '2021-03-01 10:00:00.123'], ['datetime', '%Y-%m-%dT%H:%M:%S.%gZ', '2021-03-01T10:00:00.1Z', null],
  ['datetime', '%Y-%m-%d %H:%M:%S', '2021-03-01 10:00:00', '2021-03-01 10:00:00'], ['datetime', '%Y-%m-%d %H:%M:%S', '2021-03-01  10:00:00', null], ['datetime', '%Y-%m-%d %H:%M:%S', '2021-03-01 1:00:00', null],
  ['date', '%m', '03', '1900-03-01'], ['date', '%m', '3', null], ['date', '%m', '13', null], ['date', '%Y%m', '202103', '2021-03-01'], ['date', '%Y%m', '20213', null],
  ['date', '%Y-%m', '2021-03', '2021-03-01'], ['date', '%Y-%m', '2021-3', null],
  // A field DuckDB writes without padding (`%-d`) reads one or two digits, as its format says.
  ['date', '%-d/%-m/%Y', '1/3/2021', '2021-03-01'], ['date', '%-d/%-m/%Y', '01/03/2021', '2021-03-01'], ['date', '%-d/%-m/%Y', '1/3/21', null],
];

test('dates and datetimes are read only in the exact spelling of their format (digits per field, month names in either case)', async () => {
  for (const [type, format, value, read] of spellings) {
    const c = col('D', type, {}, { format });
    const r = await s.all<{ t: string | null; p: string[]; f: boolean }>(`SELECT CAST(${typedSql(c, sqlString(value))} AS VARCHAR) AS t, ${rowViolationsSql([c], () => sqlString(value), ctx)} AS p, ${rowHasViolationSql([c], () => sqlString(value), ctx)} AS f`);
    const what = `${JSON.stringify(value)} as ${type} ${format}`;
    assert.equal(r[0]?.t, read, what);
    assert.deepEqual(r[0]?.p, read === null ? ['D:type'] : [], what);
    assert.equal(r[0]?.f, read === null, `${what}: the fused test agrees`);
  }
});

test('the shape of a format: a GLOB when every field has a fixed width, a regular expression always, none for a specifier DuckDB lacks', () => {
  assert.deepEqual(dateShape('%d/%m/%Y'), { glob: '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]', guard: '[0-9]?/??/???[0-9]', regex: '[0-9]{2}/[0-9]{2}/[0-9]{4}' });
  assert.equal(dateShape('%d%b%Y:%H:%M:%S')?.glob, '[0-9][0-9][A-Za-z][A-Za-z][A-Za-z][0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9]');
  // Classes stay where strptime skips spaces: the ends, and beside a space of the format.
  assert.equal(dateShape('%Y-%m-%d %H:%M:%S')?.guard, '[0-9]???-??-?[0-9] [0-9]?:??:?[0-9]');
  assert.equal(dateShape('%Y-%m-%dT%H:%M:%S.%gZ')?.regex, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z');
  assert.deepEqual(dateShape('%c'), dateShape('%Y-%m-%d %H:%M:%S'));
  assert.deepEqual(dateShape('%-d/%m'), { regex: '[0-9]{1,2}/[0-9]{2}' });
  assert.deepEqual(dateShape('100%% %Y'), { glob: '100% [0-9][0-9][0-9][0-9]', guard: '100% [0-9]??[0-9]', regex: '100% [0-9]{4}' });
  assert.deepEqual(dateShape('[%Y]'), { regex: '\\[[0-9]{4}\\]' });
  for (const f of ['%Q', '%Y%', '%-Y', '%s', '%e']) assert.equal(dateShape(f), undefined, f);
});

test('mutated dates: a value is read exactly when it has its format\'s shape (an independent regular expression) and DuckDB reads it', async () => {
  // Hand-written shapes, not derived from dateShape, as the oracle.
  const oracle: ReadonlyArray<readonly [format: string, shape: RegExp, good: string]> = [
    ['%d/%m/%Y', /^\d{2}\/\d{2}\/\d{4}$/, '07/11/1985'], ['%d%m%Y', /^\d{8}$/, '07111985'], ['%Y%m%d', /^\d{8}$/, '19851107'],
    ['%d%b%Y', /^\d{2}[A-Za-z]{3}\d{4}$/, '07nov1985'], ['%d%b%Y:%H:%M:%S', /^\d{2}[A-Za-z]{3}\d{4}:\d{2}:\d{2}:\d{2}$/, '07NOV1985:03:04:05'],
    ['%Y-%m-%dT%H:%M:%SZ', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, '1985-11-07T03:04:05Z'], ['%Y-%m-%dT%H:%M:%S.%gZ', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, '1985-11-07T03:04:05.067Z'],
    ['%Y-%m-%d %H:%M:%S', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, '1985-11-07 03:04:05'], ['%m', /^\d{2}$/, '07'], ['%Y%m', /^\d{6}$/, '198511'],
    ['%Y-%m', /^\d{4}-\d{2}$/, '1985-11'], ['%d %b %Y %I:%M %p', /^\d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2} [AaPp][Mm]$/, '07 Nov 1985 03:04 PM'],
  ];
  for (const [format, shape, good] of oracle) {
    // Every one-character deletion; every insertion of a space, tab, '0', '+' or '-'; every character
    // changed to any ASCII character (and a few others); and pairs of changes to spaces, digits and signs.
    const values = new Set<string>([good]);
    const few = [' ', '\t', '0', '1', '+', '-'];
    const any = [...Array.from({ length: 95 }, (_, k) => String.fromCharCode(32 + k)), '\t', '\n', '\r', '\v', '\f', 'é', '٣'];
    for (let i = 0; i <= good.length; i++) {
      if (i < good.length) values.add(good.slice(0, i) + good.slice(i + 1));
      for (const x of few) values.add(good.slice(0, i) + x + good.slice(i));
      if (i === good.length) continue;
      for (const x of any) values.add(good.slice(0, i) + x + good.slice(i + 1));
      for (let j = i + 1; j < good.length; j++) for (const x of few) for (const y of few) values.add(good.slice(0, i) + x + good.slice(i + 1, j) + y + good.slice(j + 1));
    }
    for (const type of ['date', 'datetime'] as const) {
      const c = col('D', type, {}, { format });
      const r = await s.all<{ v: string; strict: boolean; lenient: boolean }>(`SELECT v, (${typedSql(c, 'v')}) IS NOT NULL AS strict, TRY_STRPTIME(v, ${sqlString(format)}) IS NOT NULL AS lenient FROM (VALUES ${[...values].map((v) => `(${sqlString(v)})`).join(', ')}) t(v)`);
      assert.ok(r.length > 200, `${format}: ${r.length} values`);
      for (const x of r) assert.equal(x.strict, x.lenient && shape.test(x.v), `${JSON.stringify(x.v)} as ${type} ${format}`);
      assert.ok(r.some((x) => x.lenient && !shape.test(x.v)), `${format}: DuckDB alone reads some mutation`);
    }
  }
});

test('simple patterns become GLOBs that accept exactly what the regular expression accepts', async () => {
  assert.equal(globFromPattern('^[0-9]{3}$'), '[0-9][0-9][0-9]');
  assert.equal(globFromPattern('AB[0-9A-F]{2}-x'), 'AB[0-9A-F][0-9A-F]-x');
  for (const p of ['^(19|20)[0-9]{2}$', '^[0-9]+$', '^[^a]$', '^a.b$', '^a\\.b$', '^[A-Z-]$', '^a{0}$', '^a{2,3}$', '^a?$', '']) assert.equal(globFromPattern(p), undefined, p);
  const patterns = ['^[0-9]{9}$', '^[0-9A-Z]{17}$', '^[A-F0-9]{2}-[a-z]$', 'X[0-9]_'];
  const values = [...tricky.filter((v): v is string => v !== null), '123456789', '12345678', '1234567890', '12345678a', 'A1-b', 'a1-b', 'A1-bb', 'FF-z', 'X0_', 'X0_x', 'x0_', '12345678é', 'é23456789', '*', '[0-9]', '?'];
  for (const p of patterns) {
    const glob = globFromPattern(p);
    assert.ok(glob !== undefined, p);
    const r = await s.all<{ v: string; g: boolean; x: boolean }>(`SELECT v, v GLOB ${sqlString(glob)} AS g, regexp_full_match(v, ${sqlString(p)}) AS x FROM (VALUES ${values.map((v) => `(${sqlString(v)})`).join(', ')}) t(v)`);
    for (const row of r) assert.equal(row.g, row.x, `${p} on ${JSON.stringify(row.v)}`);
    assert.ok(r.some((row) => row.x), `${p} accepts something`);
  }
});

/** Integers as SAS and other producers write them under a profile: decimals, exponents, and what is no exact integer. */
const decimalIntegers: ReadonlyArray<readonly [value: string, exponent: string, pointZero: string]> = [
  // value, verdict with `exponent`, verdict with `integerPointZero` ('' = valid; I_OPT is unconstrained)
  ['61.0', '', ''], ['61.00', '', ''], ['-61.0', '', ''], ['007.00', '', ''], ['0.0', '', ''],
  ['6.1', 'integer_fraction', 'integer_fraction'], ['0.05', 'integer_fraction', 'integer_fraction'], ['123456789012345.5', 'integer_fraction', 'integer_fraction'],
  ['1.0000000000000000000001', 'integer_fraction', 'integer_fraction'], ['1.00000000000000000000001', 'integer_fraction', 'integer_fraction'],
  // Around the 15 characters read through a double (longer ones through decimals).
  ['1.0000000000001', 'integer_fraction', 'integer_fraction'], ['1.00000000000001', 'integer_fraction', 'integer_fraction'], ['99999999999999.9', 'integer_fraction', 'integer_fraction'],
  ['1234567890123.0', '', ''], ['12345678901234.0', '', ''], ['9007199254740992.0', '', ''], ['9.99999999999e+14', '', 'type'], ['9.9999999999999e+14', '', 'type'],
  ['5.119e+3', '', 'type'], ['5119E0', '', 'type'], ['1.5e+1', '', 'type'], ['-0.0e+0', '', 'type'], ['1.2345678901234e+13', '', 'type'],
  ['1.25e+1', 'integer_fraction', 'type'], ['1.23456789012345e+13', 'integer_fraction', 'type'], ['1.0000000000000000001e+1', 'integer_fraction', 'type'],
  ['9007199254740992e+0', '', 'type'], ['9.007199254740993e+15', 'integer_precision', 'type'], ['5.119e+16', 'integer_precision', 'type'],
  ['9.223372036854775807e+18', 'integer_precision', 'type'], ['-9.223372036854775808e+18', 'integer_precision', 'type'], ['9.223372036854775808e+18', 'integer_overflow', 'type'],
  ['1e+999999999', 'integer_overflow', 'type'], ['1.5e+40', 'integer_overflow', 'type'],
  ['12345678901234567890.0', 'integer_overflow', 'integer_overflow'], ['99999999999999999999', 'integer_overflow', 'integer_overflow'],
  // Spellings no exporter writes for an integer: a negative exponent, longer than 26 characters, no digit on a side of the point.
  ['50e-1', 'type', 'type'], ['1.0000000000000000000000001', 'type', 'type'], ['1.e+2', 'type', 'type'], ['.5e+1', 'type', 'type'], ['1e3x', 'type', 'type'],
  ['+5.0', 'type', 'type'], ['0x10', 'type', 'type'], ['1_000.0', 'type', 'type'], ['1,0', 'type', 'type'],
];

test("under a profile's decimal integers (61.0, 5.119e+3), an exact integer is read exactly and anything else names its reason", async () => {
  const opt = col('I_OPT', 'integer', {});
  for (const [k, types] of [[1, { exponent: true }], [2, { integerPointZero: true }]] as const) {
    const c: ColumnSqlContext = { ...ctx, types };
    for (const row of decimalIntegers) {
      // As ingestion reads a file: the profile's reading first (plain digits for an exact integer), then the rules.
      const read = integerTextSql(sqlString(row[0]), types) ?? '';
      const r = await s.all<{ p: string[]; f: boolean; t: bigint | null }>(`SELECT ${rowViolationsSql([opt], () => read, c)} AS p, ${rowHasViolationSql([opt], () => read, c)} AS f, ${typedSql(opt, read, types)} AS t`);
      const expected = row[k] === '' ? [] : [`I_OPT:${row[k]}`];
      assert.deepEqual(r[0]?.p, expected, `${row[0]} with ${JSON.stringify(types)}`);
      assert.equal(r[0]?.f, expected.length > 0, `${row[0]}: the fused test agrees`);
      if (expected.length === 0) assert.equal(String(r[0]?.t), String(BigInt(Number.parseFloat(row[0]))), row[0]);
    }
  }
  // The text the other rules see (enum, nomenclature, length): plain digits for an exact integer, as written otherwise.
  const text = await s.all<{ v: string }>(`SELECT ${integerTextSql(`'5.119e+3'`, { exponent: true }) ?? ''} AS v UNION ALL SELECT ${integerTextSql(`'5.119e+16'`, { exponent: true }) ?? ''}`);
  assert.deepEqual(text.map((x) => x.v), ['5119', '5.119e+16']);
  assert.equal(integerTextSql('x', {}), undefined);
});

test('with decimal integers read, the fused row test and the rule-by-rule list still agree on every row and every value', async () => {
  const types = { exponent: true, integerPointZero: true };
  const c: ColumnSqlContext = { ...ctx, types };
  const values = [...tricky, ...decimalIntegers.map((d) => d[0])];
  const read = (x: CatalogColumn, v: string): string => (x.type === 'integer' || x.type === 'year' ? (integerTextSql(v, types) ?? v) : v);
  const r = await s.all<{ disagree: bigint }>(`SELECT count(*) FILTER (f <> (len(p) > 0)) AS disagree FROM (SELECT ${rowHasViolationSql(columns, (n) => read(columns.find((x) => x.name === n) as CatalogColumn, sqlIdent(n)), c)} AS f, ${rowViolationsSql(columns, (n) => read(columns.find((x) => x.name === n) as CatalogColumn, sqlIdent(n)), c)} AS p FROM t)`);
  assert.equal(r[0]?.disagree, 0n);
  for (const x of columns.filter((y) => y.type === 'integer' || y.type === 'year')) {
    const one = await s.all<{ v: string | null; f: boolean; p: string[] }>(`SELECT v, ${rowHasViolationSql([x], () => read(x, 'v'), c)} AS f, ${rowViolationsSql([x], () => read(x, 'v'), c)} AS p FROM (VALUES ${values.map((v) => `(${v === null || v === '' ? 'NULL::VARCHAR' : sqlString(v)})`).join(', ')}) t(v)`);
    for (const y of one) assert.equal(y.f, y.p.length > 0, `${x.name} = ${JSON.stringify(y.v)}: fast ${String(y.f)}, rules ${JSON.stringify(y.p)}`);
  }
});
