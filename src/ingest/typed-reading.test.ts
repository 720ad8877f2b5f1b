import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CatalogColumn } from '../catalog/index.ts';
import { sqlIdent, sqlString } from '../engine/index.ts';
import { openDuckDb } from '../engine/duckdb.ts';
import { withDuckSession } from '../../test/helpers/duckdb.ts';
import { openPartitionPipes, writeEncryptedParquet } from '../parquet-crypto/index.ts';
import { synthesize } from '../synth/index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { IngestService, ingestCatalogFrom, type IngestProgress } from './index.ts';
import { DEFAULT_PROFILE, parseProfile, type DeliveryProfile } from './profile.ts';
import { columnBreaksSql, isPseudonymised, typedSql } from './rules.ts';
import { chooseTypedReading, columnProofs, lineScanSql, MAX_PROVEN_SHAPE, MAX_PROVEN_SPELLINGS, typedReading } from './typed-reading.ts';
import { gzipSync } from 'node:zlib';

const actor = { kind: 'service', id: 'typed-reading-test' } as const;

function col(name: string, type: string, extra: Partial<CatalogColumn> = {}): CatalogColumn {
  return { name, type, format: null, description: '', sensitivity: 'none', nomenclature: null, constraints: {}, ...extra } as unknown as CatalogColumn;
}

const columns = [
  col('N', 'integer'),
  col('X', 'number'),
  col('D', 'date', { format: '%d/%m/%Y' }),
  col('CODE', 'integer', { constraints: { enum: ['1', '2'] } }),
  col('TXT', 'string'),
];
const header = ['N', 'X', 'D', 'CODE', 'TXT'];

/** A one-thread DuckDB session for the duration of `fn`. */
const withSession = withDuckSession;

test('plain columns are read typed; a column with an enum, a code list, a pattern or a length, and text, are read as text', () => {
  const r = typedReading(columns, header, DEFAULT_PROFILE);
  assert.deepEqual([...(r?.types ?? [])], [['N', 'BIGINT'], ['X', 'DOUBLE'], ['D', 'DATE']]);
  assert.equal(r?.dateFormat, '%d/%m/%Y');
  // Integers written as decimals or with exponents are the careful reading's work.
  assert.deepEqual([...(typedReading(columns, header, parseProfile({ integerPointZero: true }))?.types.keys() ?? [])], ['X', 'D']);
  assert.deepEqual([...(typedReading(columns, header, parseProfile({ exponent: true }))?.types.keys() ?? [])], ['D']);
  // One date format per file: the one most plain date columns use; the others stay text.
  const two = [col('A', 'date', { format: '%d/%m/%Y' }), col('B', 'date', { format: '%Y-%m-%d' }), col('C', 'date', { format: '%Y-%m-%d' })];
  const t2 = typedReading(two, ['A', 'B', 'C'], DEFAULT_PROFILE);
  assert.equal(t2?.dateFormat, '%Y-%m-%d');
  assert.deepEqual([...(t2?.types.keys() ?? [])], ['B', 'C']);
  // A SAS datetime spelling, month names: not plain.
  assert.equal(typedReading([col('S', 'date', { format: '%d%b%Y:%H:%M:%S' })], ['S'], DEFAULT_PROFILE), undefined);
});

/**
 * The line shape accepts only what the careful reading accepts as it is written, and for every
 * value it accepts, DuckDB's typed reader gives exactly the careful reading's value: the lenient
 * spellings the typed reader would take (`1.5` as 2, `1/3/2021`, ` 5`) never reach it.
 */
test('the line shape refuses every lenient spelling; what it accepts, the typed reader reads as the careful reading does', async () => {
  await withSession(async (s) => {
    const r = typedReading(columns, header, DEFAULT_PROFILE);
    assert.ok(r !== undefined);
    const line = (n: string, x: string, d: string): string => `${n};${x};${d};1;text`;
    const matches = async (l: string): Promise<boolean | null> => {
      const rows: Array<{ ok: boolean | null }> = await s.all<{ ok: boolean | null }>(`SELECT regexp_full_match(${sqlString(l)}, ${sqlString(r.lineRegex)}) AS ok`);
      return rows[0]?.ok ?? null;
    };
    const lenient: ReadonlyArray<readonly [string, string, string]> = [
      ['1.5', '1', '01/03/2021'], ['1e3', '1', '01/03/2021'], ['0x10', '1', '01/03/2021'], ['1_000', '1', '01/03/2021'], [' 5', '1', '01/03/2021'],
      ['5 ', '1', '01/03/2021'], ['+5', '1', '01/03/2021'], ['1234567890123456789', '1', '01/03/2021'], ['-', '1', '01/03/2021'], ['--1', '1', '01/03/2021'],
      ['1', '1e3', '01/03/2021'], ['1', '.5', '01/03/2021'], ['1', '1.', '01/03/2021'], ['1', 'inf', '01/03/2021'], ['1', 'nan', '01/03/2021'],
      ['1', ' 1.5', '01/03/2021'], ['1', '+1.5', '01/03/2021'], ['1', '1_0.5', '01/03/2021'], ['1', '1,5', '01/03/2021'], ['1', '-.5', '01/03/2021'],
      ['1', '1', '1/3/2021'], ['1', '1', '01/03/21'], ['1', '1', ' 01/03/2021'], ['1', '1', '01/03/2021 '], ['1', '1', '01/3/2021'],
      ['1', '1', '00/03/2021'], ['1', '1', '32/03/2021'], ['1', '1', '01/00/2021'], ['1', '1', '01/13/2021'], ['1', '1', '01/03/0000'], ['1', '1', '2021-03-01'],
    ];
    for (const [n, x, d] of lenient) {
      assert.equal(await matches(line(n, x, d)), false, `${JSON.stringify([n, x, d])} must not pass the line shape`);
    }
    // Lines the shape accepts (empty fields too); a quote, a wrong number of fields, refused.
    const exact: ReadonlyArray<readonly [string, string, string]> = [
      ['0', '0', '29/02/2024'], ['-0', '-0.0', '31/12/1999'], ['007', '007.50', '01/01/0001'], ['999999999999999999', '123456789012345678901234567890.5', '28/02/2023'],
      ['-999999999999999999', '-1.000000000000000000001', '15/08/1900'], ['', '', ''], ['42', '0.1', '01/03/2021'],
    ];
    for (const [n, x, d] of exact) {
      assert.equal(await matches(line(n, x, d)), true, `${JSON.stringify([n, x, d])} passes the line shape`);
    }
    for (const bad of ['1;1;01/03/2021;1;"quoted"', '1;1;01/03/2021;1', '1;1;01/03/2021;1;a;b']) {
      assert.equal(await matches(bad), false, bad);
    }
    // The typed reader's values equal the careful reading's, value for value.
    const file = join(await mkTemp(), 'exact.csv');
    await writeFile(file, `${header.join(';')}\n${exact.map(([n, x, d]) => line(n, x, d)).join('\n')}\n`);
    const typed = await s.all<Record<string, unknown>>(`SELECT row_number() OVER () AS k, N, X, D FROM read_csv(${sqlString(file)}, delim = ';', header = true, quote = '"', escape = '"', auto_detect = false, dateformat = '%d/%m/%Y',
      columns = {'N': 'BIGINT', 'X': 'DOUBLE', 'D': 'DATE', 'CODE': 'VARCHAR', 'TXT': 'VARCHAR'}, ignore_errors = true, null_padding = false)`);
    assert.equal(typed.length, exact.length);
    for (const [k, [n, x, d]] of exact.entries()) {
      const v = (t: string): string => (t === '' ? 'NULL::VARCHAR' : sqlString(t));
      const [careful] = await s.all<Record<string, unknown>>(`SELECT ${typedSql(columns[0] as CatalogColumn, v(n))} AS N, ${typedSql(columns[1] as CatalogColumn, v(x))} AS X, ${typedSql(columns[2] as CatalogColumn, v(d))} AS D`);
      const got = typed[k] as Record<string, unknown>;
      assert.deepEqual([got['N'], got['X'], String(got['D'])], [careful?.['N'], careful?.['X'], String(careful?.['D'])], `${JSON.stringify([n, x, d])}`);
    }
    // A profile's missing marker (`.`) is missing in plain fields too, and read as NULL; a decimal
    // comma is read when the whole file uses it (the reader's decimal_separator).
    const sas = typedReading(columns, header, parseProfile({ missing: ['.'] }));
    assert.ok(sas !== undefined);
    assert.deepEqual(sas.missing, ['.']);
    const matchesWith = async (re: string, l: string): Promise<boolean | null> => {
      const rows: Array<{ ok: boolean | null }> = await s.all<{ ok: boolean | null }>(`SELECT regexp_full_match(${sqlString(l)}, ${sqlString(re)}) AS ok`);
      return rows[0]?.ok ?? null;
    };
    assert.equal(await matchesWith(sas.lineRegex, line('.', '.', '.')), true);
    assert.equal(await matchesWith(sas.lineRegex, line('..', '1', '01/03/2021')), false);
    assert.equal(await matchesWith(r.lineRegex, line('.', '1', '01/03/2021')), false, 'no marker without the profile');
    const comma = typedReading(columns, header, DEFAULT_PROFILE, true);
    assert.ok(comma?.decimalComma === true);
    assert.equal(await matchesWith(comma.lineRegex, line('1', '2,5', '01/03/2021')), true);
    assert.equal(await matchesWith(comma.lineRegex, line('1', '2.5', '01/03/2021')), false, 'one separator per file');
    assert.equal(await matchesWith(comma.lineRegex, line('1', '2,', '01/03/2021')), false);
    assert.equal(await matchesWith(comma.lineRegex, line('1,5', '2', '01/03/2021')), false, 'integers have no comma');
    assert.equal(typedReading(columns, header, parseProfile({ delimiter: ',' }), true), undefined, 'a decimal comma beside a comma delimiter is the careful reading\'s');
    const commas = ['0,5', '-1234,000001', '123456789012345678901234567890,25', '7'];
    await writeFile(file, `X;M\n${commas.map((x) => `${x};.`).join('\n')}\n`);
    const read = await s.all<{ X: number; M: string | null }>(`SELECT X, M FROM read_csv(${sqlString(file)}, delim = ';', header = true, quote = '"', escape = '"', auto_detect = false, decimal_separator = ',', nullstr = ['', '.'],
      columns = {'X': 'DOUBLE', 'M': 'VARCHAR'}, ignore_errors = true, null_padding = false)`);
    for (const [k, x] of commas.entries()) {
      const [careful] = await s.all<{ X: number }>(`SELECT ${typedSql(columns[1] as CatalogColumn, sqlString(x))} AS X`);
      assert.equal(read[k]?.X, careful?.X, x);
      assert.equal(read[k]?.M, null, 'the marker is missing in text columns too');
    }
    // The line scan counts the lines and those of exact spelling (CRLF line ends as the reader reads them).
    await writeFile(file, `${header.join(';')}\r\n${line('1', '2.5', '01/03/2021')}\r\n${line('1.5', '2', '01/03/2021')}\r\n`);
    const [scan] = await s.all<{ n: bigint; ok: bigint }>(lineScanSql(file, r, 'utf-8'));
    assert.deepEqual([Number(scan?.n), Number(scan?.ok)], [2, 1]);
  });
});

/**
 * The choice between the typed and the text reading, file by file, on real files and DuckDB
 * (no platform): what each kind of file gets, and the line count the typed pass must read back.
 */
test('chooseTypedReading: a clean file is read typed with its line count; an early or a late bad line, commas, gzip and no plain column each get their reading', async () => {
  await withSession(async (s) => {
    const dir = await mkTemp();
    const line = (k: number, x = '2.5', d = '01/03/2021'): string => `${k};${x};${d};1;text ${k}`;
    const write = async (name: string, lines: readonly string[], gzip = false): Promise<string> => {
      const path = join(dir, name);
      const text = `${header.join(';')}\n${lines.map((l) => `${l}\n`).join('')}`;
      await writeFile(path, gzip ? gzipSync(text) : text);
      return path;
    };
    const many = Array.from({ length: 25 }, (_, k) => line(k));
    // Clean, shorter than the look: one scan, typed, its lines counted.
    const clean = await chooseTypedReading(s, await write('clean.csv', many), columns, header, DEFAULT_PROFILE, { look: 10 });
    assert.deepEqual([clean?.reading.decimalComma, clean?.lines], [false, 25]);
    assert.deepEqual([...(clean?.reading.types.keys() ?? [])], ['N', 'X', 'D']);
    // A bad spelling in the first look, or after it (the whole scan finds it): text.
    const early = many.map((l, k) => (k === 3 ? line(k, '1e3') : l));
    assert.equal(await chooseTypedReading(s, await write('early.csv', early), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    const late = many.map((l, k) => (k === 20 ? line(k, '2.5', '1/3/2021') : l));
    assert.equal(await chooseTypedReading(s, await write('late.csv', late), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    assert.equal((await chooseTypedReading(s, await write('late-whole.csv', late), columns, header, DEFAULT_PROFILE, { look: 100 })), undefined);
    // Decimal commas throughout: typed with the comma; a file mixing both separators: text.
    const commas = many.map((_l, k) => line(k, '2,5'));
    const comma = await chooseTypedReading(s, await write('comma.csv', commas), columns, header, DEFAULT_PROFILE, { look: 10 });
    assert.deepEqual([comma?.reading.decimalComma, comma?.lines], [true, 25]);
    const mixed = commas.map((l, k) => (k === 22 ? line(k, '2.5') : l));
    assert.equal(await chooseTypedReading(s, await write('mixed.csv', mixed), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    // A gzip'd file is never tried; a file with no plain column neither.
    assert.equal(await chooseTypedReading(s, await write('clean.csv.gz', many, true), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    const textOnly = [col('N', 'string'), col('X', 'string'), col('D', 'string'), col('CODE', 'string'), col('TXT', 'string')];
    assert.equal(await chooseTypedReading(s, await write('text-only.csv', many), textOnly, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    // A file that cannot be read (gone): text, where the careful reading names the error.
    assert.equal(await chooseTypedReading(s, join(dir, 'missing.csv'), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
    // A header with no line after it: nothing to read typed.
    assert.equal(await chooseTypedReading(s, await write('empty.csv', []), columns, header, DEFAULT_PROFILE, { look: 10 }), undefined);
  });
});

/**
 * The stronger line shape: what it proves of each kind of column, found by running each column's
 * own rule check on its candidate spellings (real DuckDB, a real code list as an ENUM type), and
 * the choice it makes on real files.
 */
test('columnProofs: enum and code-list columns prove their passing spellings, simple patterns themselves; NIRs, open patterns and rewritten integers prove nothing', async () => {
  await withSession(async (s) => {
    // A code list of departments (text codes, `2A`), and one of integer codes.
    await s.run(`CREATE TYPE dpt_test AS ENUM ('01', '02', '2A', '971')`);
    await s.run(`CREATE TYPE nat_test AS ENUM ('1110', '1111', '3313')`);
    const codes: Record<string, readonly string[]> = { DPT: ['01', '02', '2A', '971'], NAT: ['1110', '1111', '3313'] };
    const types: Record<string, string> = { DPT: 'dpt_test', NAT: 'nat_test' };
    const ctx = { nomenclatureType: (n: string) => types[n], nomenclatureIsIntegers: (n: string) => n === 'NAT' };
    const cols = [
      col('SEX', 'integer', { constraints: { required: true, enum: [1, 2] } }),
      col('DPT', 'string', { nomenclature: 'DPT', constraints: { pattern: '^(0[0-9]|2[AB])$' } }),
      col('NAT', 'integer', { nomenclature: 'NAT', constraints: { minimum: 1111 } }),
      col('TOP', 'integer', { constraints: { enum: ['0', '1'] } }),
      col('ID', 'string', { constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } }),
      col('AMD', 'string', { constraints: { pattern: '^(19|20)\\d{2}(0[1-9]|1[0-2])$' } }),
      col('FREE', 'string', { constraints: { pattern: '^.{3}$' } }),
      col('LEN', 'string', { constraints: { pattern: '^[0-9]+$', maxLength: 4 } }),
      col('NEG', 'string', { constraints: { pattern: '^[^;]+$' } }),
      col('NIR', 'string', { sensitivity: 'direct_identifier', constraints: { pattern: '^[0-9]{13}$' } } as never),
      col('OPEN', 'string', { nomenclature: 'UNKNOWN' }),
    ];
    const names = cols.map((c) => c.name);
    const proofs = await columnProofs(s, cols, names, DEFAULT_PROFILE, ctx, (n) => codes[n]);
    assert.deepEqual([...proofs.keys()].sort(), ['AMD', 'DPT', 'ID', 'NAT', 'SEX', 'TOP']);
    // The pattern and the code list together: the codes that match the pattern ('971' does not).
    assert.equal(proofs.get('DPT')?.piece, '(?:\\x{30}\\x{31}|\\x{30}\\x{32}|\\x{32}\\x{41})');
    assert.equal(proofs.get('DPT')?.integers, false);
    // The range leaves 1110 out; integer codes: the column may be read typed.
    assert.deepEqual([proofs.get('NAT')?.piece, proofs.get('NAT')?.integers], ['(?:\\x{31}\\x{31}\\x{31}\\x{31}|\\x{33}\\x{33}\\x{31}\\x{33})', true]);
    assert.deepEqual([proofs.get('ID')?.piece, proofs.get('AMD')?.piece], ['(?:[0-9A-Z]{17})', '(?:(19|20)\\d{2}(0[1-9]|1[0-2]))']);
    // Flags spelled True/False: the spellings that the profile reads as 1 and 0, not integer text.
    const flagged = await columnProofs(s, cols, names, parseProfile({ flags: { true: 'True', false: 'False' } }), ctx, (n) => codes[n]);
    assert.deepEqual([flagged.get('TOP')?.piece, flagged.get('TOP')?.integers], ['(?:\\x{30}|\\x{31}|\\x{54}\\x{72}\\x{75}\\x{65}|\\x{46}\\x{61}\\x{6c}\\x{73}\\x{65})', false]);
    // Integers written `61.0`: the text checked is not the text delivered, no integer column proven.
    assert.deepEqual([...(await columnProofs(s, cols, names, parseProfile({ integerPointZero: true }), ctx, (n) => codes[n])).keys()].sort(), ['AMD', 'DPT', 'ID']);
    // The '|' delimiter: a pattern's '|' is alternation, never a character of the field.
    assert.deepEqual([...(await columnProofs(s, cols, names, parseProfile({ delimiter: '|' }), ctx, (n) => codes[n])).keys()].sort(), ['AMD', 'DPT', 'ID', 'NAT', 'SEX', 'TOP']);
    // A code list longer than the limit is left to the row check.
    const big = Array.from({ length: MAX_PROVEN_SPELLINGS + 1 }, (_v, k) => String(k));
    await s.run(`CREATE TYPE big_test AS ENUM (${big.map(sqlString).join(', ')})`);
    const bigCol = col('BIG', 'integer', { nomenclature: 'BIG' });
    assert.equal((await columnProofs(s, [bigCol], ['BIG'], DEFAULT_PROFILE, { nomenclatureType: () => 'big_test' }, () => big)).size, 0);
    // The proven pieces of one file stay within MAX_PROVEN_SHAPE characters, the smallest first.
    const cip = Array.from({ length: 900 }, (_v, k) => String(3400900000000 + k * 7919));
    await s.run(`CREATE TYPE cip_test AS ENUM (${cip.map(sqlString).join(', ')})`);
    const three = ['C1', 'C2', 'C3'].map((n) => col(n, 'integer', { nomenclature: 'CIP' }));
    const capped = await columnProofs(s, [...three, cols[0] as CatalogColumn], ['C1', 'C2', 'C3', 'SEX'], DEFAULT_PROFILE, { nomenclatureType: () => 'cip_test' }, () => cip);
    assert.deepEqual([...capped.keys()].sort(), ['C1', 'SEX']);
    assert.ok([...capped.values()].reduce((a, p) => a + p.piece.length, 0) <= MAX_PROVEN_SHAPE);

    // The stronger shape holds the proven spellings (the markers too); the weaker keeps them free.
    const profile = parseProfile({ missing: ['.'] });
    const strong = typedReading(cols, names, profile, false, proofs);
    const weak = typedReading(cols, names, profile);
    assert.deepEqual([...(strong?.proven ?? [])].sort(), ['AMD', 'DPT', 'ID', 'NAT', 'SEX', 'TOP']);
    assert.deepEqual([...(strong?.types ?? [])], [['SEX', 'BIGINT'], ['NAT', 'BIGINT'], ['TOP', 'BIGINT']]);
    assert.equal(weak, undefined, 'no plain column: no weaker shape');
    const matches = async (re: string, l: string): Promise<boolean | null> => (await s.all<{ ok: boolean | null }>(`SELECT regexp_full_match(${sqlString(l)}, ${sqlString(re)}) AS ok`))[0]?.ok ?? null;
    const good = ['1', '2A', '3313', '1', '1GBMCFU1D9A4B1VMO', '201907', 'abc', '12', 'x', '1234567890123', 'z'];
    const lineOf = (over: Record<number, string>): string => good.map((v, k) => over[k] ?? v).join(';');
    assert.equal(await matches(strong?.lineRegex as string, lineOf({})), true);
    assert.equal(await matches(strong?.lineRegex as string, lineOf({ 0: '', 1: '.', 2: '', 5: '.' })), true, 'empty fields and markers');
    for (const [k, v] of [[0, '3'], [0, '01'], [0, ' 1'], [1, '971'], [1, '2a'], [2, '1110'], [2, '1112'], [3, 'True'], [4, '1GBMCFU1D9A4B1VM'], [5, '201913'], [5, '1907']] as const) {
      assert.equal(await matches(strong?.lineRegex as string, lineOf({ [k]: v })), false, `${names[k]} = ${JSON.stringify(v)}`);
    }
    // A proven column's row check is `required` alone; every other column keeps its own.
    assert.equal(columnBreaksSql(cols[0] as CatalogColumn, 'v', ctx, undefined, true), 'v IS NULL');
    assert.equal(columnBreaksSql(cols[1] as CatalogColumn, 'v', ctx, undefined, true), 'false');
  });
});

test('chooseTypedReading with proofs: a file whose every line passes the proven rules is read with them; a bad code anywhere keeps every rule; the typed reader reads proven integers as the careful reading does', async () => {
  await withSession(async (s) => {
    const dir = await mkTemp();
    const cols = [...columns, col('ID', 'string', { constraints: { pattern: '^[0-9]{3}$' } })];
    const hdr = [...header, 'ID'];
    const ctx = { nomenclatureType: () => undefined };
    const proofs = await columnProofs(s, cols, hdr, DEFAULT_PROFILE, ctx, () => undefined);
    assert.deepEqual([...proofs.keys()].sort(), ['CODE', 'ID']);
    const line = (k: number, code = '1', id = '007'): string => `${k};2.5;01/03/2021;${code};text ${k};${id}`;
    const write = async (name: string, lines: readonly string[]): Promise<string> => {
      const path = join(dir, name);
      await writeFile(path, `${hdr.join(';')}\n${lines.map((l) => `${l}\n`).join('')}`);
      return path;
    };
    const many = Array.from({ length: 25 }, (_, k) => line(k, k % 2 === 0 ? '1' : '2'));
    const clean = await chooseTypedReading(s, await write('proven.csv', many), cols, hdr, DEFAULT_PROFILE, { look: 10, proofs });
    assert.deepEqual([clean?.lines, [...(clean?.reading.proven ?? [])].sort(), [...(clean?.reading.types.keys() ?? [])]], [25, ['CODE', 'ID'], ['N', 'X', 'D', 'CODE']]);
    // A code outside the enum, early or late, or an identifier of the wrong shape: typed, every rule checked.
    for (const [name, bad] of [['early', many.map((l, k) => (k === 2 ? line(k, '3') : l))], ['late', many.map((l, k) => (k === 20 ? line(k, '01') : l))], ['id', many.map((l, k) => (k === 24 ? line(k, '1', '12') : l))]] as const) {
      const got = await chooseTypedReading(s, await write(`${name}.csv`, bad), cols, hdr, DEFAULT_PROFILE, { look: 10, proofs });
      assert.deepEqual([got?.lines, got?.reading.proven.size, [...(got?.reading.types.keys() ?? [])]], [25, 0, ['N', 'X', 'D']], name);
    }
    // A bad plain value still sends the file to the text reading.
    assert.equal(await chooseTypedReading(s, await write('plain-bad.csv', many.map((l, k) => (k === 22 ? l.replace('2.5', '2.5e1') : l))), cols, hdr, DEFAULT_PROFILE, { look: 10, proofs }), undefined);
    // The line scan with the stronger shape counts both.
    const path = await write('counts.csv', [line(1), line(2, '3'), line(3, '1', 'abc'), line(4).replace(';2.5;', ';x;')]);
    const weak = typedReading(cols, hdr, DEFAULT_PROFILE) as NonNullable<ReturnType<typeof typedReading>>;
    const strong = typedReading(cols, hdr, DEFAULT_PROFILE, false, proofs) as NonNullable<ReturnType<typeof typedReading>>;
    const [scan] = await s.all<{ n: bigint; ok: bigint; proven: bigint }>(lineScanSql(path, weak, 'utf-8', undefined, strong));
    assert.deepEqual([Number(scan?.n), Number(scan?.ok), Number(scan?.proven)], [4, 3, 1]);
    // What the stronger shape lets the typed reader read (CODE as BIGINT) equals the careful reading.
    const typed = await s.all<{ CODE: bigint }>(`SELECT CODE FROM read_csv(${sqlString(clean === undefined ? '' : join(dir, 'proven.csv'))}, delim = ';', header = true, quote = '"', escape = '"', auto_detect = false, dateformat = '%d/%m/%Y',
      columns = {${hdr.map((h) => `${sqlString(h)}: '${strong.types.get(h) ?? 'VARCHAR'}'`).join(', ')}}, ignore_errors = true, null_padding = false)`);
    const careful = await s.all<{ CODE: bigint }>(`SELECT ${typedSql(cols[3] as CatalogColumn, 'CODE')} AS CODE FROM read_csv(${sqlString(join(dir, 'proven.csv'))}, delim = ';', header = true, auto_detect = false, all_varchar = true, columns = {${hdr.map((h) => `${sqlString(h)}: 'VARCHAR'`).join(', ')}})`);
    assert.deepEqual(typed.map((r) => r.CODE), careful.map((r) => r.CODE));
    assert.deepEqual(typed.map((r) => r.CODE).slice(0, 2), [1n, 2n]);
  });
});

let tempDir: string | undefined;
async function mkTemp(): Promise<string> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  tempDir ??= await mkdtemp(join(tmpdir(), 'enclave-typed-'));
  return tempDir;
}

/**
 * Two platforms for the whole file, one reading clean files typed and one reading every file as
 * text: each delivery of a test is another version of the same dataset on both (opening a
 * platform and importing the catalogue costs more than a small delivery). The typed one runs every
 * line scan twice, by Enclave's line automaton and by DuckDB, and fails a file whose counts differ
 * (`lineScan: 'verify'`).
 */
type Pair = ReadonlyArray<{ readonly p: TestPlatform; readonly svc: IngestService; readonly typed: boolean }>;
let pair: Promise<Pair> | undefined;
function platforms(): Promise<Pair> {
  pair ??= (async () => {
    const out: Array<{ p: TestPlatform; svc: IngestService; typed: boolean }> = [];
    for (const typed of [true, false]) {
      const p = await openTestPlatform();
      out.push({ p, typed, svc: new IngestService({ db: p.t.db, audit: p.audit, keys: p.keys, catalog: ingestCatalogFrom(p.catalog), engine: p.engine, store: p.store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets: p.datasets, ...(typed ? { lineScan: 'verify' } : { typedReading: false }) }) });
      await p.catalog.importBuiltin(actor);
    }
    return out;
  })();
  return pair;
}

after(async () => {
  if (pair !== undefined) for (const { p } of await pair) await p.close();
  if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
});

let deliveries = 0;

/** Ingests `dir` with and without the typed reading (two platforms); returns both results, the readings and each table's rows as plain Parquet. */
async function both(dir: string, profile: DeliveryProfile, minLandedShare?: number): Promise<{ typed: Awaited<ReturnType<IngestService['ingest']>>; text: Awaited<ReturnType<IngestService['ingest']>>; readings: Map<string, string>; proven: Map<string, readonly string[]>; differences: string[] }> {
  const n = ++deliveries;
  const out: Array<{ r: Awaited<ReturnType<IngestService['ingest']>>; files: Map<string, string> }> = [];
  const readings = new Map<string, string>();
  const proven = new Map<string, readonly string[]>();
  for (const { p, svc, typed } of await platforms()) {
    const onProgress = (e: IngestProgress): void => {
      if (e.phase === 'write' && e.file !== undefined && e.reading !== undefined) {
        if (typed) readings.set(e.file, e.reading);
        if (typed && e.proven !== undefined) proven.set(e.file, e.proven);
        else assert.equal(e.reading, 'text', `${e.file} is read as text when the typed reading is off`);
      }
    };
    const r = await svc.ingest({ dataset: 'snds', inputs: [dir], actor, profile, onProgress, ...(minLandedShare === undefined ? {} : { minLandedShare }) });
    assert.equal(r.alreadyIngested, false, 'each delivery of this file is a new one');
    const v = await svc.version('snds');
    const s = await p.engine.session();
    const files = new Map<string, string>();
    try {
      await p.datasets.attachVersion(s, v);
      const tables = await ingestCatalogFrom(p.catalog).listTables('snds');
      for (const t of new Set(v.manifest.files.map((f) => f.table))) {
        const cols = (v.manifest.columns?.[t] ?? []).filter((c) => {
          const cc = tables.find((x) => x.name === t)?.columns.find((x) => x.name === c);
          // Pseudonyms differ between the two platforms (their keys do).
          return cc !== undefined && !isPseudonymised(cc);
        });
        const path = join(p.dir, `${t}-${typed ? 'typed' : 'text'}-${n}.parquet`);
        await s.run(`COPY (SELECT ${cols.map(sqlIdent).join(', ')} FROM ds.${sqlIdent(t)}) TO ${sqlString(path)} (FORMAT parquet)`);
        files.set(t, path);
      }
    } finally {
      s.close();
    }
    out.push({ r, files });
  }
  const [a, b] = out as [(typeof out)[number], (typeof out)[number]];
  const engine = await openDuckDb({ threads: 2 });
  const s = await engine.session();
  const differences: string[] = [];
  try {
    assert.deepEqual([...a.files.keys()].sort(), [...b.files.keys()].sort());
    for (const [t, pa] of a.files) {
      const pb = b.files.get(t) as string;
      const [d] = await s.all<{ n: bigint }>(`SELECT (SELECT count(*) FROM (SELECT * FROM read_parquet(${sqlString(pa)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlString(pb)})))
        + (SELECT count(*) FROM (SELECT * FROM read_parquet(${sqlString(pb)}) EXCEPT ALL SELECT * FROM read_parquet(${sqlString(pa)}))) AS n`);
      if (Number(d?.n) !== 0) differences.push(`${t}: ${Number(d?.n)} rows differ`);
    }
  } finally {
    s.close();
    await engine.close();
  }
  return { typed: a.r, text: b.r, readings, proven, differences };
}

for (const convention of ['cnam+true-false', 'hdh'] as const) {
  test(`a ${convention} delivery lands the same rows and the same report read typed or as text; bad files fall back (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'reading files does not involve the metadata database: the PGlite pass only' : false }, async () => {
    const base = await mkTemp();
    for (const defects of [0, 0.02]) {
      const out = join(base, `${convention}-${defects}`);
      await synthesize({ people: 80, startYear: 2022, endYear: 2022, seed: 5, out, defects, parquet: false, profile: convention });
      // The cnam convention gzips its files: the DCIR files are unpacked (read typed when clean),
      // the others stay gzip'd (always read as text).
      if (convention === 'cnam+true-false') {
        for (const f of await readdir(join(out, 'csv'))) {
          if (!f.startsWith('ER_') || !f.endsWith('.gz')) continue;
          await writeFile(join(out, 'csv', f.slice(0, -3)), gunzipSync(await readFile(join(out, 'csv', f))));
          await rm(join(out, 'csv', f));
        }
      }
      const profile = parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));
      const { typed, text, readings, proven, differences } = await both(join(out, 'csv'), profile);
      assert.deepEqual(differences, []);
      assert.equal(typed.rowsAccepted, text.rowsAccepted);
      assert.equal(typed.rowsQuarantined, text.rowsQuarantined);
      assert.deepEqual(typed.quarantine.byRule, text.quarantine.byRule);
      assert.deepEqual(typed.quarantine.byFile, text.quarantine.byFile);
      assert.deepEqual(typed.quarantine.entries, text.quarantine.entries);
      const typedFiles = [...readings].filter(([, how]) => how === 'typed').map(([f]) => f);
      assert.deepEqual(typedFiles.filter((f) => f.endsWith('.gz')), [], 'a gzip\'d file is read as text');
      if (defects === 0) {
        assert.equal(typed.rowsQuarantined, 0);
        // Clean files with plain columns are read typed (the conventions' other spellings, `61.0`,
        // SAS datetimes, `.` for missing, a decimal comma, leave a file or a column to the careful reading).
        assert.ok(typedFiles.length >= 3, `clean files read typed: ${JSON.stringify([...readings])}`);
        // The cnam convention: `.` for missing and decimal commas, read typed all the same.
        if (convention === 'cnam+true-false') assert.ok(typedFiles.some((f) => f.startsWith('ER_PRS_F')), JSON.stringify([...readings]));
        if (convention === 'hdh') assert.ok(typedFiles.includes('ER_PRS_F.csv') && typedFiles.includes('ER_PHA_F.csv'), JSON.stringify([...readings]));
        // Their line scans proved the rules of the columns with an enum, a code list or a simple
        // pattern, left out of the row check: identifiers and codes (and, where integers are
        // written as integers, sex, nature of care and a flag spelled True/False).
        const prs = [...proven].find(([f]) => f.startsWith('ER_PRS_F'))?.[1] ?? [];
        const want = convention === 'hdh' ? ['ORG_CLE_NUM', 'PFS_EXE_NUM', 'EXE_SOI_AMD', 'BEN_RES_DPT'] : ['ORG_CLE_NUM', 'PFS_EXE_NUM', 'BEN_RES_DPT', 'BEN_SEX_COD', 'PRS_NAT_REF', 'BEN_CMU_TOP'];
        for (const c of want) assert.ok(prs.includes(c), `${c}: ${JSON.stringify(prs)}`);
        if (convention === 'hdh') assert.ok(!prs.includes('BEN_SEX_COD'), 'integers written 1.0: no integer column proven');
      } else {
        assert.ok(typed.rowsQuarantined > 0);
        // A file with a malformed plain value is read as text (its typed reading is not tried or is undone).
        const textFiles = [...readings].filter(([, how]) => how === 'text').map(([f]) => f);
        assert.ok(textFiles.some((f) => (typed.quarantine.byFile[f] ?? 0) > 0), `some file with bad rows read as text: ${JSON.stringify([...readings])}`);
      }
    }
  });
}

test(`a date the calendar lacks (31 February) passes the line shape, the typed reader drops its row, and the file is read again as text (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'reading files does not involve the metadata database: the PGlite pass only' : false }, async () => {
  const out = join(await mkTemp(), 'iso-feb31');
  await synthesize({ people: 60, startYear: 2022, endYear: 2022, seed: 9, out, defects: 0, parquet: false });
  const file = join(out, 'csv', 'ER_PRS_F.csv');
  const lines = (await readFile(file, 'utf8')).split('\n');
  const fields = (lines[1] as string).split(';');
  const at = (lines[0] as string).split(';').indexOf('FLX_DIS_DTD');
  assert.match(fields[at] as string, /^2022-\d\d-\d\d$/);
  fields[at] = '2022-02-31';
  lines[1] = fields.join(';');
  await writeFile(file, lines.join('\n'));
  const { typed, text, readings, differences } = await both(join(out, 'csv'), DEFAULT_PROFILE);
  assert.deepEqual(differences, []);
  assert.equal(readings.get('ER_PRS_F.csv'), 'text');
  assert.equal(readings.get('ER_PHA_F.csv'), 'typed');
  assert.equal(typed.rowsQuarantined, 1);
  assert.deepEqual(typed.quarantine.entries.map((e) => [e.file, e.line, e.column, e.rule]), [['ER_PRS_F.csv', 2, 'FLX_DIS_DTD', 'type']]);
  assert.deepEqual(typed.quarantine.entries, text.quarantine.entries);
});

test(`a file of exact spellings whose code breaks its list is read typed, and the row is quarantined with the reasons the text reading gives (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'reading files does not involve the metadata database: the PGlite pass only' : false }, async () => {
  // `3` is no sex code; `01` is no code either (codes are text: `1` is one, `01` is not).
  for (const [value, reading] of [['3', 'typed'], ['01', 'typed']] as const) {
    const out = join(await mkTemp(), `iso-code-${value}`);
    await synthesize({ people: 60, startYear: 2022, endYear: 2022, seed: 9, out, defects: 0, parquet: false });
    const file = join(out, 'csv', 'ER_PRS_F.csv');
    const lines = (await readFile(file, 'utf8')).split('\n');
    const fields = (lines[3] as string).split(';');
    const at = (lines[0] as string).split(';').indexOf('BEN_SEX_COD');
    assert.match(fields[at] as string, /^[12]$/);
    fields[at] = value;
    lines[3] = fields.join(';');
    await writeFile(file, lines.join('\n'));
    const { typed, text, readings, proven, differences } = await both(join(out, 'csv'), DEFAULT_PROFILE);
    assert.deepEqual(differences, []);
    assert.equal(readings.get('ER_PRS_F.csv'), reading, value);
    // Read typed, but not with BEN_SEX_COD proven: its rules are checked on every row.
    assert.ok(!(proven.get('ER_PRS_F.csv') ?? ['BEN_SEX_COD']).includes('BEN_SEX_COD'), JSON.stringify(proven.get('ER_PRS_F.csv')));
    assert.ok((proven.get('ER_PHA_F.csv') ?? []).length > 0, 'the clean file beside it has proven columns');
    assert.equal(typed.rowsQuarantined, 1);
    // (The value breaks the enum and the code list: an entry for each rule.)
    assert.deepEqual([...new Set(typed.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}`))], ['ER_PRS_F.csv:4:BEN_SEX_COD']);
    assert.deepEqual(typed.quarantine.entries, text.quarantine.entries);
  }
});

/**
 * Spellings near the line shapes' edges, each put in every column of some lines: the typed
 * platform's line scans run by Enclave's line automaton and by DuckDB (`lineScan: 'verify'`) must
 * count the same lines of every file, and both platforms land the same rows and report.
 */
const NEAR_EDGES = [
  '', '0', '1', '2', '-0', '007', '1.5', '1,5', '1e3', '+1', ' 1', '1 ', '٣', '１', '99999999999999999999', '-999999999999999999',
  '2022-02-29', '2024-02-29', '2022-13-01', '2022-1-01', '29/02/2024', '31/02/2023', '01/03/2021', '2022-06-15T10:00:00Z', '201907', '2019',
  'True', 'False', 'true', '.', '..', '2A', '2B', '971', '01', 'abc', 'é', 'ÿ', '€', '😀', 'a b', '\t', 'a"b', '"1"', 'NaN', 'inf',
];

test(`spellings near the shapes' edges in every column: Enclave's line automaton counts every file's lines as DuckDB does, and the typed and text readings agree (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'reading files does not involve the metadata database: the PGlite pass only' : false }, async () => {
  for (const convention of [undefined, 'hdh'] as const) {
    const out = join(await mkTemp(), `near-edges-${convention ?? 'iso'}`);
    await synthesize({ people: 60, startYear: 2022, endYear: 2022, seed: 11, out, defects: 0, parquet: false, ...(convention === undefined ? {} : { profile: convention }) });
    let mutated = 0;
    for (const f of (await readdir(join(out, 'csv'))).filter((x) => x.endsWith('.csv'))) {
      const file = join(out, 'csv', f);
      const lines = (await readFile(file, 'utf8')).split('\n');
      const delimiter = (lines[0] as string).includes(';') ? ';' : ',';
      for (let k = 1; k < lines.length; k++) {
        if (k % 9 !== 4 || lines[k] === '') continue;
        const fields = (lines[k] as string).split(delimiter);
        fields[(k * 7) % fields.length] = NEAR_EDGES[(k * 13) % NEAR_EDGES.length] as string;
        lines[k] = fields.join(delimiter);
        mutated++;
      }
      await writeFile(file, lines.join('\n'));
    }
    assert.ok(mutated > 200, `${mutated} lines changed`);
    const profile = convention === undefined ? DEFAULT_PROFILE : parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));
    // (Some tables lose more than a tenth of their rows: the operator's override lets them land.)
    const { typed, text, differences } = await both(join(out, 'csv'), profile, 0.5);
    assert.deepEqual(differences, []);
    assert.ok(typed.rowsQuarantined > 0, 'some spellings break rules');
    assert.equal(typed.rowsAccepted, text.rowsAccepted);
    assert.deepEqual(typed.quarantine.entries, text.quarantine.entries);
  }
});

/**
 * A bad line after the first look (the whole scan finds it, by Enclave's line automaton and by
 * DuckDB alike): a bad plain value or invalid UTF-8 sends the file to the text reading; a bad code,
 * to the typed reading with every rule checked. Reports equal the text platform's either way.
 */
test(`a bad line after the first look: the file is read the way its whole scan allows (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'reading files does not involve the metadata database: the PGlite pass only' : false }, async () => {
  const cases: ReadonlyArray<readonly [string, string, (v: string) => string | Buffer, string]> = [
    ['plain', 'PRS_ACT_QTE', () => '1e3', 'text'],
    ['utf-8', 'PRS_NAT_REF', () => Buffer.from([0x31, 0xc3, 0x28]), 'text'],
    ['code', 'BEN_SEX_COD', () => '3', 'typed'],
  ];
  for (const [name, column, spoil, reading] of cases) {
    const out = join(await mkTemp(), `late-${name}`);
    await synthesize({ people: 200, startYear: 2022, endYear: 2022, seed: 9, out, defects: 0, parquet: false });
    const file = join(out, 'csv', 'ER_PRS_F.csv');
    const lines = (await readFile(file, 'latin1')).split('\n');
    assert.ok(lines.length > 4000, `${lines.length} lines: longer than the first look`);
    const at = (lines[0] as string).split(';').indexOf(column);
    assert.ok(at >= 0, column);
    const fields = (lines[3500] as string).split(';');
    const bad = spoil(fields[at] as string);
    fields[at] = typeof bad === 'string' ? bad : bad.toString('latin1');
    lines[3500] = fields.join(';');
    await writeFile(file, Buffer.from(lines.join('\n'), 'latin1'));
    const { typed, text, readings, proven, differences } = await both(join(out, 'csv'), DEFAULT_PROFILE);
    assert.deepEqual(differences, [], name);
    assert.equal(readings.get('ER_PRS_F.csv'), reading, name);
    if (reading === 'typed') assert.ok(!(proven.get('ER_PRS_F.csv') ?? [column]).includes(column), JSON.stringify(proven.get('ER_PRS_F.csv')));
    assert.ok(typed.rowsQuarantined >= 1, name);
    assert.deepEqual(typed.quarantine.entries, text.quarantine.entries, name);
  }
});
