import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { sqlString } from '../engine/index.ts';
import { openDuckDb } from '../engine/duckdb.ts';
import { vectorPath } from '../../test/helpers/vectors.ts';
import { checkNir, nirControlKey, nirViolationSql } from './nir.ts';

interface Vector { input: string; expected: boolean | string; kind: 'validate' | 'control_key'; reference_algorithm: string; note: string }
const vectorsPath = vectorPath('nir/nir-vectors.json');
const vectors = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: Vector[] }).vectors;
/** The two cases where the spec's policy departs from plain mod-97 (see the vectors' notes). */
const POLICY = new Set(['145080012304555', '278056933908998']);

test('NIR validation agrees with mod-97 on every shared vector except the two policy cases (security test 14)', () => {
  let agree = 0;
  let policy = 0;
  for (const v of vectors) {
    if (v.kind === 'control_key') {
      assert.equal(String(nirControlKey(v.input)).padStart(2, '0'), v.expected, v.note);
      agree++;
      continue;
    }
    // Vectors with spaces or lower case exercise form input: checked with cleaning on.
    const clean = /\s|[a-z]/.test(v.input);
    const ours = checkNir(v.input, { clean }).ok;
    if (POLICY.has(v.input.replace(/\s/g, ''))) {
      assert.equal(ours, false, `policy case ${v.note}`);
      policy++;
    } else {
      assert.equal(ours, v.reference_algorithm === 'ok', `${v.input}: ${v.note}`);
      agree++;
    }
  }
  assert.equal(policy, 2);
  console.log(`${vectors.length} cases: ${agree} agree with mod-97; the ${policy} policy cases (department 00, key 98) are refused as the spec states`);
  assert.equal(vectors.length, 34);
});

test('a delivered NIR is never cleaned: spaces and lower case are refused', () => {
  assert.equal(checkNir('2 55 08 14 168 025 38').ok, false);
  assert.equal(checkNir('255082a16802597').ok, false);
  assert.equal(checkNir('255082A16802597').ok, true);
});

test('control key boundaries: remainder 0 gives 97, keys are zero-padded', () => {
  assert.equal(nirControlKey('2890478342212'), 97);
  assert.equal(nirControlKey('2890478342210'), 2);
});

test('month boundaries: 12 and 20 accepted, 00 and 13 refused', () => {
  const make = (month: string): string => {
    const n13 = `289${month}04783422`;
    return n13 + String(nirControlKey(n13)).padStart(2, '0');
  };
  assert.equal(checkNir(make('12')).ok, true);
  assert.equal(checkNir(make('20')).ok, true);
  assert.equal(checkNir(make('00')).ok, false);
  assert.equal(checkNir(make('13')).ok, false);
});

test('the SQL rule gives the same verdict as the TypeScript rule on every vector', async () => {
  const engine = await openDuckDb({ threads: 1 });
  const s = await engine.session();
  try {
    for (const v of vectors.filter((x) => x.kind === 'validate')) {
      const rows = await s.all<{ r: string | null }>(`SELECT ${nirViolationSql(sqlString(v.input))} AS r`);
      const ts = checkNir(v.input);
      assert.equal(rows[0]?.r ?? null, ts.ok ? null : ts.rule, v.input);
    }
  } finally {
    s.close();
    await engine.close();
  }
});
