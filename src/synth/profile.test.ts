import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYNTH_PROFILES, ingestionProfileOf, spellDate, withExponent } from './profile.ts';

test('ISO dates are spelled in each convention, and spoiled dates stay unreadable in all of them', () => {
  assert.equal(spellDate('2020-11-05', 'dd/MM/yyyy'), '05/11/2020');
  assert.equal(spellDate('2020-11-05', 'ddMMMyyyy:HH:mm:ss'), '05NOV2020:00:00:00');
  assert.equal(spellDate('2020-11-05', "yyyy-MM-dd'T'HH:mm:ss'Z'"), '2020-11-05T00:00:00Z');
  // The generator's three date defects: an impossible day, slashes in ISO order, and dd/MM/yyyy in an ISO file.
  assert.equal(spellDate('2020-11-32', 'dd/MM/yyyy'), '32/11/2020');
  assert.equal(spellDate('2020/11/05', 'dd/MM/yyyy'), '2020/11/05');
  assert.equal(spellDate('05/11/2020', 'dd/MM/yyyy'), '00/11/2020', 'readable in the new spelling, so spoiled again');
  assert.equal(spellDate('05/11/2020', 'ddMMMyyyy:HH:mm:ss'), '05/11/2020');
  // SAS datetimes in either case.
  assert.equal(spellDate('2020-11-05', 'ddMMMyyyy:HH:mm:ss', true), '05nov2020:00:00:00');
  assert.equal(spellDate('2020-11-32', 'ddMMMyyyy:HH:mm:ss', true), '32nov2020:00:00:00');
});

test('large numbers get an exponent that keeps their exact value; spoiled and small ones are kept', () => {
  assert.equal(withExponent('125.50'), '1.255e+2');
  assert.equal(withExponent('-51190000000000000'), '-5.119e+16');
  assert.equal(withExponent('100'), '1e+2');
  assert.equal(withExponent('1234.05'), '1.23405e+3');
  for (const v of ['99.99', '0.5', '12,50', 'abc', '1.2.3', '007', '']) assert.equal(withExponent(v), v);
  for (const v of ['125.50', '-51190000000000000', '1234.05', '987654321.125']) assert.equal(Number(withExponent(v)), Number(v));
});

test('each convention declares the ingestion profile that reads it', () => {
  assert.deepEqual(Object.keys(SYNTH_PROFILES).sort(), ['cnam', 'community', 'dmy', 'hdh', 'iso', 'sas']);
  const cnam = ingestionProfileOf(SYNTH_PROFILES['cnam']!);
  assert.deepEqual([cnam['delimiter'], cnam['encoding'], cnam['missing'], cnam['dates']], [';', 'latin-1', ['.'], { default: 'dd/MM/yyyy', columns: {} }]);
  assert.equal(ingestionProfileOf(SYNTH_PROFILES['hdh']!)['integerPointZero'], true);
  assert.equal(ingestionProfileOf(SYNTH_PROFILES['community']!)['delimiter'], ',');
  const sas = ingestionProfileOf(SYNTH_PROFILES['sas']!);
  assert.deepEqual([sas['encoding'], sas['missing'], sas['blankIsMissing'], sas['exponent'], sas['dates']], ['latin-1', ['.'], true, true, { default: 'ddMMMyyyy:HH:mm:ss', columns: {} }]);
});
