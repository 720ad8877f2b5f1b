import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { SNDS_SENSITIVITY_FILE } from '../../catalog/index.ts';
import { AppError } from '../../errors.ts';
import { isIdentifierColumn, quasiIdentifierClass } from './cell-rules.ts';
import { DEFAULT_RULES, rulesFrom, withCatalogIdentifiers } from './rules.ts';

const invalid = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'invalid' && re.test(e.message));
};

describe('rulesFrom: the thresholds from a permit or a rules file', () => {
  test('a permit raises the minimum cell count and keeps the other defaults', () => {
    const r = rulesFrom({ schemaVersion: 1, projectId: 'p', disclosure: { minimumCellCount: 20, checkersRequired: 2 } });
    assert.equal(r.minimumCount, 20);
    assert.equal(r.minimumEventsPerStep, 20);
    assert.deepEqual(r.dominance, DEFAULT_RULES.dominance);
    assert.equal(r.pRatio, DEFAULT_RULES.pRatio);
  });

  test('permit terms alone, with dominance and a rounding base', () => {
    const r = rulesFrom({ minimumCellCount: 11, dominance: { n: 2, k: 80 }, roundingBase: 5 });
    assert.deepEqual(r.dominance, { n: 2, k: 80 });
    assert.equal(r.roundingBase, 5);
  });

  test('a rules file sets named thresholds', () => {
    const r = rulesFrom({ minimumCount: 15, pRatio: 20, minimumResidualDf: 30 }, 'strict.json');
    assert.equal(r.minimumCount, 15);
    assert.equal(r.pRatio, 20);
    assert.equal(r.minimumResidualDf, 30);
  });

  test('nothing looser than the platform: a minimum of 5 is refused with the field named', () => {
    invalid(() => rulesFrom({ minimumCount: 5 }, 'loose.json'), /loose\.json at minimumCount: 5 is below the platform's 11/);
    invalid(() => rulesFrom({ disclosure: { minimumCellCount: 10 } }, 'permit.json'), /permit\.json at minimumCount: 10 is below/);
    invalid(() => rulesFrom({ dominance: { n: 2, k: 95 } }), /dominance\.k: \(n=2, k=95\) is looser/);
    invalid(() => rulesFrom({ minimumResidualDf: 9 }), /minimumResidualDf: 9 is below the platform's 10/);
  });

  test('unknown fields, wrong types and bad patterns are named', () => {
    invalid(() => rulesFrom({ minCount: 11 }, 'typo.json'), /typo\.json at \$: .*minCount/);
    invalid(() => rulesFrom({ minimumCount: '11' }), /at minimumCount:/);
    invalid(() => rulesFrom({ identifierColumns: ['(unclosed'] }), /at identifierColumns\.0: not a valid regular expression/);
    invalid(() => rulesFrom({ disclosure: { minimumCellCount: 'eleven' } }), /at disclosure\.minimumCellCount/);
    invalid(() => rulesFrom([1, 2]), /expected a JSON object/);
  });

  test('the defaults are frozen', () => {
    assert.equal(Object.isFrozen(DEFAULT_RULES), true);
  });

  test('every pseudonym and direct identifier of the SNDS sensitivity mapping is an identifier column', async () => {
    const mapping = JSON.parse(await readFile(SNDS_SENSITIVITY_FILE, 'utf8')) as { columns: Record<string, { sensitivity?: string }> };
    const ids = Object.entries(mapping.columns).filter(([k, v]) => !k.startsWith('$') && (v.sensitivity === 'pseudonym' || v.sensitivity === 'direct_identifier')).map(([k]) => k.split('.').pop() ?? k);
    assert.ok(ids.length >= 15);
    assert.deepEqual(ids.filter((c) => !isIdentifierColumn(c, DEFAULT_RULES)), []);
  });

  test('the mapping\'s birth, commune and exact-date potential identifiers each fall in a quasi-identifier class', async () => {
    const mapping = JSON.parse(await readFile(SNDS_SENSITIVITY_FILE, 'utf8')) as { columns: Record<string, { sensitivity?: string; reason?: string }> };
    const quasi = Object.entries(mapping.columns).filter(([k, v]) => !k.startsWith('$') && v.sensitivity === 'potential_identifier' && /month of birth|year and month of birth|commune|postcode|exact/iu.test(v.reason ?? '')).map(([k]) => k);
    assert.ok(quasi.length >= 8, quasi.join());
    assert.deepEqual(quasi.filter((c) => quasiIdentifierClass(c, DEFAULT_RULES) === null), []);
  });

  test('the catalogue\'s own pseudonym and direct-identifier columns are added by exact name', () => {
    const r = withCatalogIdentifiers(DEFAULT_RULES, [{ name: 'patient_key', sensitivity: 'pseudonym' }, { name: 'FULL.NAME', sensitivity: 'direct_identifier' }, { name: 'REGION', sensitivity: 'other' }]);
    assert.equal(isIdentifierColumn('PATIENT_KEY', r), true);
    assert.equal(isIdentifierColumn('full.name', r), true);
    assert.equal(isIdentifierColumn('fullxname', r), false);
    assert.equal(isIdentifierColumn('REGION', r), false);
    assert.equal(withCatalogIdentifiers(DEFAULT_RULES, []), DEFAULT_RULES);
  });
});
