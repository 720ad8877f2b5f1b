import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandQuery, stem } from './search-terms.ts';

test('plurals are stemmed to a prefix of the word, or to the singular for -aux and -ies', () => {
  assert.equal(stem('medicaments'), 'medicament');
  assert.equal(stem('hopitaux'), 'hopital');
  assert.equal(stem('pharmacies'), 'pharmacy');
  assert.equal(stem('sexe'), 'sexe');
  assert.equal(stem('acces'), 'acce');
  assert.equal(stem('class'), 'class', 'a double s is not a plural');
  assert.equal(stem('bus'), 'bus', 'too short to tell');
});

test('accents, case and stop words are dropped; synonyms are added in both languages', () => {
  const q = expandQuery('Les Médicaments délivrés');
  assert.deepEqual(q.terms.map((t) => t.word), ['medicaments', 'delivres']);
  assert.deepEqual(q.terms[0]?.alternatives, ['medicament', 'pharma', 'cip', 'atc']);
  assert.ok(expandQuery('dispensing').terms[0]?.alternatives.includes('delivr'));
  assert.ok(expandQuery('hospitalisation').terms[0]?.alternatives.includes('pmsi'));
  assert.ok(expandQuery('médecin').terms[0]?.alternatives.includes('prescri'));
  assert.ok(expandQuery('médecin').terms[0]?.alternatives.includes('execut'));
  assert.deepEqual(expandQuery('de la').terms.map((t) => t.word), ['de', 'la'], 'only stop words: kept');
});

test('words shaped like CIM-10, ATC or CIP codes are looked up as codes', () => {
  assert.deepEqual(expandQuery('diabète E11').codes, ['E11']);
  assert.deepEqual(expandQuery('A10BA02').codes, ['A10BA02']);
  assert.ok(expandQuery('A10BA02').terms[0]?.alternatives.includes('atc'));
  assert.deepEqual(expandQuery('3400927674938 2767493').codes, ['3400927674938', '2767493']);
  assert.deepEqual(expandQuery('date soins').codes, []);
});
