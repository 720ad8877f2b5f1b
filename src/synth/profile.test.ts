import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYNTH_PROFILES, ingestionProfileOf, spellDate } from './profile.ts';

test('ISO dates are spelled in each convention, and spoiled dates stay unreadable in all of them', () => {
  assert.equal(spellDate('2020-11-05', 'dd/MM/yyyy'), '05/11/2020');
  assert.equal(spellDate('2020-11-05', 'ddMMMyyyy:HH:mm:ss'), '05NOV2020:00:00:00');
  assert.equal(spellDate('2020-11-05', "yyyy-MM-dd'T'HH:mm:ss'Z'"), '2020-11-05T00:00:00Z');
  // The generator's three date defects: an impossible day, slashes in ISO order, and dd/MM/yyyy in an ISO file.
  assert.equal(spellDate('2020-11-32', 'dd/MM/yyyy'), '32/11/2020');
  assert.equal(spellDate('2020/11/05', 'dd/MM/yyyy'), '2020/11/05');
  assert.equal(spellDate('05/11/2020', 'dd/MM/yyyy'), '00/11/2020', 'readable in the new spelling, so spoiled again');
  assert.equal(spellDate('05/11/2020', 'ddMMMyyyy:HH:mm:ss'), '05/11/2020');
});

test('each convention declares the ingestion profile that reads it', () => {
  assert.deepEqual(Object.keys(SYNTH_PROFILES).sort(), ['cnam', 'community', 'dmy', 'hdh', 'iso']);
  const cnam = ingestionProfileOf(SYNTH_PROFILES['cnam']!);
  assert.deepEqual([cnam['delimiter'], cnam['encoding'], cnam['missing'], cnam['dates']], [';', 'latin-1', ['.'], { default: 'dd/MM/yyyy', columns: {} }]);
  assert.equal(ingestionProfileOf(SYNTH_PROFILES['hdh']!)['integerPointZero'], true);
  assert.equal(ingestionProfileOf(SYNTH_PROFILES['community']!)['delimiter'], ',');
});
