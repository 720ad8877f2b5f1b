import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../errors.ts';
import { inferRole, outputFromRows, parseCsvHints, parseCsvOutput } from './csv.ts';

const invalid = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'invalid' && re.test(e.message), re.source);
};

describe('parseCsvOutput: an output table from CSV', () => {
  test('conventional names give the roles and the kind', () => {
    const t = parseCsvOutput('dept,age_band,n\n01,0-17,120\n', 'by-dept.csv');
    assert.equal(t.kind, 'frequency');
    assert.deepEqual(t.columns.map((c) => c.role), ['dimension', 'dimension', 'count']);
    assert.deepEqual(t.rows, [['01', '0-17', 120]]); // a department code keeps its leading zero
  });

  test('French and English spellings of counts, magnitudes and contributions', () => {
    assert.equal(inferRole('effectif'), 'count');
    assert.equal(inferRole('nb_patients'), 'count');
    assert.equal(inferRole('count'), 'count');
    assert.equal(inferRole('n_contributors'), 'contributors');
    assert.equal(inferRole('sum_amount'), 'magnitude');
    assert.equal(inferRole('mean_PRS_PAI_MNT'), 'magnitude');
    assert.equal(inferRole('top1'), 'top1');
    assert.equal(inferRole('top2'), 'top2');
    assert.equal(inferRole('df_residual'), 'df_residual');
    assert.equal(inferRole('n_risk'), 'at_risk');
    assert.equal(inferRole('n_event'), 'events');
    assert.equal(inferRole('BEN_NIR_PSA'), 'identifier');
    assert.equal(inferRole('BEN_RES_DPT'), 'dimension');
  });

  test('a magnitude table, a model and a Kaplan–Meier table are recognised', () => {
    assert.equal(parseCsvOutput('dept,n_contributors,mean_amount,top1,top2\n75,40,12.5,30,20\n', 'm.csv').kind, 'magnitude');
    assert.equal(parseCsvOutput('term,estimate,std_error,df_residual\nage,0.1,0.02,480\n', 'glm.csv').kind, 'model');
    const km = parseCsvOutput('time,n_risk,n_event,n_censor,surv\n30,500,12,3,0.976\n', 'km.csv');
    assert.equal(km.kind, 'survival');
    assert.equal(km.columns[0]?.role, 'time');
  });

  test('without a count column the table reads as row-level data', () => {
    assert.equal(parseCsvOutput('person,age,dept\nA,34,75\n', 'rows.csv').kind, 'rows');
  });

  test('a sidecar names the roles the names do not tell', () => {
    const t = parseCsvOutput('dept,patients_diabetiques\n75,120\n', 'x.csv', parseCsvHints({ roles: { patients_diabetiques: 'count' }, population: 'diabetics' }, 'x.roles.json'));
    assert.equal(t.kind, 'frequency');
    assert.equal(t.population, 'diabetics');
    assert.equal(t.rows[0]?.[1], 120);
  });

  test('semicolons with decimal commas, empty and "<11" cells read as suppressed', () => {
    const t = parseCsvOutput('dept;n;mean_amount;n_contributors;top1;top2\n75;;12,5;40;3;2\n13;<11;1 234,5;50;3;2\n', 'fr.csv');
    assert.deepEqual(t.rows, [['75', null, 12.5, 40, 3, 2], ['13', null, 1234.5, 50, 3, 2]]);
  });

  test('a word in a count column is refused with file, line and column', () => {
    invalid(() => parseCsvOutput('dept,n\n75,12\n13,douze\n', 'bad.csv'), /bad\.csv line 3, column n: "douze" is not a number/);
  });

  test('a ragged line, an empty file, a duplicate or empty column name, and a role for a missing column are refused', () => {
    invalid(() => parseCsvOutput('dept,n\n75,12,3\n', 'ragged.csv'), /ragged\.csv line 2: not a well-formed CSV/);
    invalid(() => parseCsvOutput('', 'empty.csv'), /empty\.csv: empty file/);
    invalid(() => parseCsvOutput('n,n\n1,2\n', 'dup.csv'), /dup\.csv line 1, column n: named twice/);
    invalid(() => parseCsvOutput('dept,,n\n1,2,3\n', 'blank.csv'), /blank\.csv line 1, column 2: empty column name/);
    invalid(() => parseCsvOutput('dept,n\n1,2\n', 'r.csv', { roles: { count: 'count' } }), /r\.csv: the roles name a column "count" the file does not have/);
    invalid(() => parseCsvHints({ roles: { n: 'tally' } }, 'n.roles.json'), /n\.roles\.json at roles\.n/);
  });

  test('rows from a saved result read like the same CSV', () => {
    const fromRows = outputFromRows('by-dept.csv', ['dept', 'age_band', 'n'], [['01', '0-17', 120n], ['02', null, '7']]);
    const fromCsv = parseCsvOutput('dept,age_band,n\n01,0-17,120\n02,,7\n', 'by-dept.csv');
    assert.deepEqual(fromRows, { name: fromCsv.name, kind: fromCsv.kind, columns: fromCsv.columns, rows: fromCsv.rows });
    invalid(() => outputFromRows('x', ['dept', 'n'], [['01', 'many']]), /x row 1, column n: "many" is not a number/);
    invalid(() => outputFromRows('x', ['dept', 'n'], [['01']]), /x row 1: 1 values for 2 columns/);
  });
});
