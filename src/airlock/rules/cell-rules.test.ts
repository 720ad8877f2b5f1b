import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dominance, identifierCrossing, isIdentifierColumn, looksLikeIdentifier, minimumCount, pRatio, residualDf, survivalStep } from './cell-rules.ts';
import { DEFAULT_RULES } from './rules.ts';

const rules = DEFAULT_RULES;

describe('each disclosure rule at its boundary', () => {
  test('minimum count: 10 is small, 11 and 12 pass, 0 is a zero for review', () => {
    assert.equal(minimumCount(10, rules), 'small');
    assert.equal(minimumCount(11, rules), 'ok');
    assert.equal(minimumCount(12, rules), 'ok');
    assert.equal(minimumCount(1, rules), 'small');
    assert.equal(minimumCount(0, rules), 'zero');
  });

  test('minimum count follows a stricter threshold: 19 is small under 20', () => {
    assert.equal(minimumCount(19, { minimumCount: 20 }), 'small');
    assert.equal(minimumCount(20, { minimumCount: 20 }), 'ok');
  });

  test('dominance (2, 90 %): 89.9 % passes, 90 % passes, 90.1 % is flagged', () => {
    assert.equal(dominance(1000, 600, 299, rules).flagged, false); // 89.9 %
    assert.equal(dominance(1000, 600, 300, rules).flagged, false); // 90 %
    assert.equal(dominance(1000, 600, 301, rules).flagged, true); // 90.1 %
    assert.equal(dominance(1000, 600, 301, rules).share.toFixed(1), '90.1');
  });

  test('dominance holds at 90 % whatever the floating-point sum (0.1 + 0.2 style totals)', () => {
    assert.equal(dominance(0.1 + 0.2, 0.18, 0.09, rules).flagged, false);
  });

  test('dominance with n = 1 compares the largest contribution alone', () => {
    assert.equal(dominance(100, 90, 9, { dominance: { n: 1, k: 90 } }).flagged, false);
    assert.equal(dominance(100, 91, 0, { dominance: { n: 1, k: 90 } }).flagged, true);
  });

  test('p-ratio (10 %): a remainder of 9.9 % of the largest is flagged, 10 % and 10.1 % pass', () => {
    // top1 = 1000, top2 = 500; remainder = total − 1500
    assert.equal(pRatio(1599, 1000, 500, rules).flagged, true); // 9.9 %
    assert.equal(pRatio(1600, 1000, 500, rules).flagged, false); // 10 %
    assert.equal(pRatio(1601, 1000, 500, rules).flagged, false); // 10.1 %
  });

  test('residual degrees of freedom: 9 is flagged, 10 and 11 pass', () => {
    assert.equal(residualDf(9, rules), true);
    assert.equal(residualDf(10, rules), false);
    assert.equal(residualDf(11, rules), false);
  });

  test('survival step: 10 events flagged, 11 pass, 0 events pass; 10 at risk flagged', () => {
    assert.equal(survivalStep(10, 200, rules), 'few_events');
    assert.equal(survivalStep(11, 200, rules), 'ok');
    assert.equal(survivalStep(0, 200, rules), 'ok');
    assert.equal(survivalStep(0, 10, rules), 'few_at_risk');
    assert.equal(survivalStep(0, 11, rules), 'ok');
  });

  test('identifier columns: SNDS pseudonyms and professional numbers are caught, ordinary dimensions are not', () => {
    for (const c of ['BEN_NIR_PSA', 'ben_nir_ano', 'PFS_EXE_NUM', 'PFS_PRE_NUM', 'NUM_ENQ', 'NIR_ANO_17', 'patient_id', 'id_patient', 'rpps']) assert.equal(isIdentifierColumn(c, rules), true, c);
    for (const c of ['dept', 'age_band', 'BEN_RES_DPT', 'PHA_ATC_CLA', 'month', 'n', 'BEN_RNG_GEM']) assert.equal(isIdentifierColumn(c, rules), false, c);
  });

  test('identifier-shaped values: digests, NIRs and pseudonym tokens; not codes, dates or labels', () => {
    for (const v of ['a'.repeat(64), '0123456789abcdef0123456789ABCDEF', '185057800608436', '2850775123456', 'Xk9fQ2mZp81LwT4aB7cD', '1FQN0HG0EEE4L2LZC']) assert.equal(looksLikeIdentifier(v), true, v);
    for (const v of ['75', '2A', '18-64', 'A10BA02', '3400930000000', '2021-03', 'METFORMINE 500 MG', 'department_13', 'Total', 'PARACETAMOL1000MG', 'DOLIPRANE1000MGCOMPRIME']) assert.equal(looksLikeIdentifier(v), false, v);
  });

  test('crossings: month of birth × commune is blocked, year of birth × department is not', () => {
    assert.deepEqual(identifierCrossing(['BEN_NAI_MOI', 'BEN_RES_COM', 'n'], rules)?.classes, ['birth_month', 'commune']);
    assert.deepEqual(identifierCrossing(['date_soins', 'code_postal'], rules)?.classes, ['exact_date', 'commune']);
    assert.equal(identifierCrossing(['BEN_NAI_ANN', 'BEN_RES_DPT', 'n'], rules), null);
    assert.equal(identifierCrossing(['BEN_RES_COM', 'n'], rules), null);
  });
});
