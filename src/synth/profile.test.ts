import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYNTH_PROFILES, ingestionProfileOf, profileSpec, spellDate, spellDatetime, synthProfile, withExponent } from './profile.ts';

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

test('ISO datetimes are spelled in each convention with their time, or as the day where the convention has no time', () => {
  assert.equal(spellDatetime('2020-11-05 13:04:59', 'yyyy-MM-dd'), '2020-11-05 13:04:59');
  assert.equal(spellDatetime('2020-11-05 13:04:59', 'dd/MM/yyyy'), '05/11/2020');
  assert.equal(spellDatetime('2020-11-05 13:04:59', 'ddMMMyyyy:HH:mm:ss'), '05NOV2020:13:04:59');
  assert.equal(spellDatetime('2020-11-05 13:04:59', 'ddMMMyyyy:HH:mm:ss', true), '05nov2020:13:04:59');
  assert.equal(spellDatetime('2020-11-05 13:04:59', "yyyy-MM-dd'T'HH:mm:ss'Z'"), '2020-11-05T13:04:59Z');
  assert.equal(spellDatetime('', 'dd/MM/yyyy'), '');
});

test('conventions combine with modifiers and options; an unknown part is refused with the list', () => {
  const p = synthProfile('sas+decimal-comma+gzip');
  assert.deepEqual([p.gzip, p.decimalComma, p.delimiter, p.encoding, p.dates, p.quoteAll, p.dcirFiles], [true, true, ';', 'latin-1', 'ddMMMyyyy:HH:mm:ss', true, 'monthly']);
  assert.equal(synthProfile('cnam+dcir-monthly').dcirFiles, 'monthly');
  assert.equal(synthProfile('hdh', { gzip: true, dcirFiles: 'yearly' }).gzip, true);
  assert.equal(profileSpec('community', { gzip: true, decimalComma: true, dcirFiles: 'yearly' }), 'community+decimal-comma+gzip+dcir-yearly');
  assert.equal(profileSpec(undefined, { gzip: true }), 'iso+gzip');
  assert.equal(profileSpec(undefined, {}), undefined);
  assert.throws(() => synthProfile('sas+zip'), /"zip" is not a modifier/);
  assert.throws(() => synthProfile('excel'), /not a known producer convention/);
});
