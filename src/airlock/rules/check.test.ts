import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkOutputs } from './check.ts';
import { parseCsvOutput } from './csv.ts';
import { ledgerCellsOf, populationHash } from './ledger.ts';
import { DEFAULT_RULES, rulesFrom } from './rules.ts';
import { buildSpaces, recover } from './secondary.ts';
import type { DisclosureReport, OutputTable, RuleId } from './types.ts';

const csv = (name: string, text: string, population?: string): OutputTable => parseCsvOutput(text, name, population === undefined ? {} : { population, datasetVersions: ['snds@1'] });
const rulesOf = (r: DisclosureReport, output = 0): [RuleId, string, number | undefined, string | undefined][] =>
  (r.outputs[output]?.flags ?? []).map((f) => [f.rule, f.severity, f.cell?.row, f.cell?.column]);

/** Whether any suppressed cell of a safe version is given back by the published ones (the check's own equations). */
function recoverableInSafe(report: DisclosureReport): number {
  const tables = report.outputs.flatMap((o) => (o.safeVersion.table === null ? [] : [o.safeVersion.table]));
  let n = 0;
  for (const space of buildSpaces(tables)) {
    const unknown = new Set([...space.cells.values()].filter((c) => c.value === null).map((c) => c.id));
    n += recover(space, unknown, (id) => space.cells.get(id)?.value ?? null).recovered.length;
  }
  return n;
}

describe('checkOutputs: the disclosure report', () => {
  test('counts 10, 11 and 12: only 10 is blocked, with the rule, the cell and a reason in both languages', () => {
    const r = checkOutputs([csv('t.csv', 'dept,n\n01,10\n02,11\n03,12\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['minimum_count', 'block', 0, 'n']]);
    const f = r.outputs[0]?.flags[0];
    assert.deepEqual(f?.cell?.key, { dept: '01' });
    assert.match(f?.message.en ?? '', /dept=01: n = 10, under the minimum of 11/);
    assert.match(f?.message.fr ?? '', /sous le minimum de 11/);
    assert.equal(r.summary.status, 'blocked');
  });

  test('a permit with a minimum of 20 blocks 19 and passes 20', () => {
    const r = checkOutputs([csv('t.csv', 'dept,n\n01,19\n02,20\n')], rulesFrom({ disclosure: { minimumCellCount: 20 } }), []);
    assert.deepEqual(rulesOf(r), [['minimum_count', 'block', 0, 'n']]);
  });

  test('dominance at 89.9 %, 90 % and 90.1 % of a sum: only 90.1 % is blocked', () => {
    const r = checkOutputs([csv('m.csv', 'dept,n,sum_amount,top1,top2\n01,50,1000,600,299\n02,50,1000,600,300\n03,50,1000,600,301\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['dominance', 'block', 2, 'sum_amount']]);
  });

  test('dominance of a mean uses mean × contributors as the total', () => {
    const r = checkOutputs([csv('m.csv', 'dept,n_contributors,mean_amount,top1,top2\n01,20,50,500,401\n02,20,50,500,400\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['dominance', 'block', 0, 'mean_amount']]);
  });

  test('p-ratio: a remainder just under 10 % of the largest is blocked, at 10 % it passes', () => {
    // with (2, 90 %) dominance a p-ratio failure is always dominated too; both are reported
    const r = checkOutputs([csv('m.csv', 'dept,n,sum_amount,top1,top2\n01,30,1049.9,500,500\n02,30,1050,500,500\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r).filter(([rule]) => rule !== 'dominance'), [['p_ratio', 'block', 0, 'sum_amount']]);
  });

  test('p-ratio of 20 % alone: a remainder of 99 (19.8 % of 500) is blocked, 100 (20 %) passes, without dominance', () => {
    const r = checkOutputs([csv('m.csv', 'dept,n,sum_amount,top1,top2\n01,30,699,500,100\n02,30,700,500,100\n')], rulesFrom({ pRatio: 20 }), []);
    assert.deepEqual(rulesOf(r), [['p_ratio', 'block', 0, 'sum_amount']]);
  });

  test('a magnitude table without top contributions is sent for review, not passed', () => {
    const r = checkOutputs([csv('m.csv', 'dept,n,sum_amount\n01,30,1000\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['missing_contributors', 'review', undefined, undefined]]);
    assert.equal(r.summary.status, 'review');
  });

  test('zeros and a full cell go to review', () => {
    const r = checkOutputs([csv('f.csv', 'sex,outcome,n\nF,dead,0\nF,alive,40\nM,dead,15\nM,alive,30\n')], DEFAULT_RULES, []);
    // every woman counted is alive; everyone counted dead is a man
    assert.deepEqual(rulesOf(r), [['zero', 'review', 0, 'n'], ['full_cell', 'review', 1, 'n'], ['full_cell', 'review', 2, 'n']]);
    assert.match(r.outputs[0]?.flags[1]?.message.en ?? '', /sex=F: every one counted is in outcome=alive/);
    assert.match(r.outputs[0]?.flags[2]?.message.en ?? '', /outcome=dead: every one counted is in sex=M/);
  });

  test('row-level data, identifiers and identifier crossings are blocked whatever the counts', () => {
    const rows = csv('rows.csv', 'person,age,dept\nA,34,75\nB,40,13\n');
    const ids = csv('ids.csv', 'BEN_NIR_PSA,n\nabc,500\n');
    const hashes = csv('hashes.csv', `grp,n\n${'ab'.repeat(32)},500\n`);
    const pros = csv('pros.csv', 'PFS_EXE_NUM,n\n123,500\n');
    const cross = csv('cross.csv', 'BEN_NAI_MOI,BEN_RES_COM,n\n03,75056,500\n');
    const r = checkOutputs([rows, ids, hashes, pros, cross], DEFAULT_RULES, []);
    assert.deepEqual(r.outputs.map((o) => [o.status, o.flags[0]?.rule, o.safeVersion.method]), [
      ['blocked', 'row_level', 'withheld'], ['blocked', 'identifier', 'withheld'], ['blocked', 'identifier', 'withheld'], ['blocked', 'identifier', 'withheld'], ['blocked', 'identifier_crossing', 'withheld'],
    ]);
    assert.equal(r.outputs.every((o) => o.safeVersion.table === null && o.safeVersion.requiresChecker), true);
  });

  test('amounts without a count, and rows that repeat their dimensions, read as row-level data', () => {
    const r = checkOutputs([
      csv('amounts.csv', 'age,sex,dept,amount\n34,1,75,120.5\n41,2,13,80\n'),
      csv('visits.csv', 'sex,dept,n_visits\n1,75,14\n2,13,20\n1,75,31\n'),
    ], DEFAULT_RULES, []);
    assert.deepEqual(r.outputs.map((o) => [o.flags[0]?.rule, o.flags[0]?.severity, o.safeVersion.method]), [['row_level', 'block', 'withheld'], ['row_level', 'block', 'withheld']]);
    assert.match(r.outputs[1]?.flags[0]?.message.en ?? '', /rows 1 and 3 have the same dimensions/);
  });

  test('a model with 9 residual df is blocked and withheld, 10 passes; no df column goes to review', () => {
    const r = checkOutputs([
      csv('m9.csv', 'term,estimate,std_error,df_residual\nage,0.1,0.02,9\n'),
      csv('m10.csv', 'term,estimate,std_error,df_residual\nage,0.1,0.02,10\n'),
      csv('mx.csv', 'term,estimate,std_error\nage,0.1,0.02\n'),
    ], DEFAULT_RULES, []);
    assert.deepEqual(r.outputs.map((o) => [o.status, o.safeVersion.method]), [['blocked', 'withheld'], ['clean', 'unchanged'], ['review', 'unchanged']]);
  });

  test('a survival table with 10 events at a step is blocked and banded so that every band has 11', () => {
    const r = checkOutputs([csv('km.csv', 'time,n_risk,n_event,n_censor,surv\n30,200,10,2,0.95\n60,188,11,1,0.894\n90,176,5,0,0.869\n120,171,8,1,0.828\n150,162,3,0,0.813\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r).map(([rule, , row]) => [rule, row]), [['survival_events', 0], ['survival_events', 2], ['survival_events', 3], ['survival_events', 4]]);
    const safe = r.outputs[0]?.safeVersion;
    assert.equal(safe?.method, 'rounding');
    assert.deepEqual(safe?.table?.rows, [[60, 200, 21, 3, 0.894], [150, 176, 16, 1, 0.813]]);
    // the banded table passes the rules it was made for
    const again = checkOutputs(safe?.table === null || safe?.table === undefined ? [] : [safe.table], DEFAULT_RULES, []);
    assert.equal(again.summary.status, 'clean');
  });

  test('a suppressed cell is given back by the total minus the other cells, and the report says so', () => {
    const r = checkOutputs([csv('t.csv', 'dept,n\n01,\n02,40\n03,50\nTotal,97\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['secondary_disclosure', 'block', 0, 'n']]);
    assert.match(r.outputs[0]?.flags[0]?.message.en ?? '', /= 7, under 11/);
  });

  test('recovery is iterated: a cell found by a row helps find one by a column', () => {
    // 2×2 plus margins; a small cell (a1=5) and its row neighbour (a2) suppressed: the column margin gives a2 back, then the row margin gives a1
    const r = checkOutputs([csv('t.csv', 'g,h,n\na,1,\na,2,\na,Total,25\nb,1,30\nb,2,40\nb,Total,70\nTotal,1,35\nTotal,2,60\nTotal,Total,95\n')], DEFAULT_RULES, []);
    const recovered = r.outputs[0]?.flags.filter((f) => f.rule === 'secondary_disclosure').map((f) => [f.cell?.row, f.details['recovered'], f.severity]);
    assert.deepEqual(recovered, [[0, 5, 'block'], [1, 20, 'review']]);
  });

  test('a suppressed cell is given back by another output of the same request', () => {
    const byAge = csv('by-age.csv', 'dept,age_band,n\n01,0-17,\n01,18-64,60\n02,0-17,30\n02,18-64,70\n', 'adults and children');
    const byDept = csv('by-dept.csv', 'dept,n\n01,64\n02,100\n', 'adults and children');
    const r = checkOutputs([byAge, byDept], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r, 0), [['secondary_disclosure', 'block', 0, 'n']]);
    assert.match(r.outputs[0]?.flags[0]?.message.en ?? '', /with by-dept\.csv\) = 4/);
  });

  test('a row left out of a table with its total is seen from the total', () => {
    const r = checkOutputs([csv('t.csv', 'dept,n\n01,40\n02,50\nTotal,96\n')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r), [['secondary_disclosure', 'block', 2, 'n']]);
    assert.match(r.outputs[0]?.flags[0]?.message.en ?? '', /exceeds the sum of its dept cells by 6/);
  });

  test('the safe version suppresses the small cell and enough others that none comes back, across outputs', () => {
    const byAge = csv('by-age.csv', 'dept,age_band,n\n01,0-17,7\n01,18-64,60\n01,65+,33\n02,0-17,30\n02,18-64,70\n02,65+,45\nTotal,0-17,37\nTotal,18-64,130\nTotal,65+,78\n', 'p');
    const byDept = csv('by-dept.csv', 'dept,n\n01,100\n02,145\nTotal,245\n', 'p');
    const r = checkOutputs([byAge, byDept], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r, 0), [['minimum_count', 'block', 0, 'n']]);
    const safe = r.outputs[0]?.safeVersion;
    assert.equal(safe?.method, 'suppression');
    assert.deepEqual(safe?.primary.map((c) => c.key), [{ dept: '01', age_band: '0-17' }]);
    assert.ok((safe?.secondary.length ?? 0) >= 3, 'a row, a column and their crossing');
    assert.equal(recoverableInSafe(r), 0);
    assert.equal(safe?.requiresChecker, true);
  });

  test('a dominated cell is suppressed with its secondary, and top contributions never appear in the safe version', () => {
    const r = checkOutputs([csv('m.csv', 'dept,n,sum_amount,top1,top2\n01,30,1000,900,50\n02,30,2000,300,200\n03,40,3000,300,200\nTotal,100,6000,900,300\n')], DEFAULT_RULES, []);
    const safe = r.outputs[0]?.safeVersion;
    assert.deepEqual(safe?.table?.columns.map((c) => c.name), ['dept', 'n', 'sum_amount']);
    assert.equal(safe?.table?.rows[0]?.[2], null);
    assert.equal(recoverableInSafe(r), 0);
  });

  test('with a rounding base the safe version rounds counts instead', () => {
    const r = checkOutputs([csv('t.csv', 'dept,n\n01,7\n02,43\nTotal,50\n')], rulesFrom({ minimumCellCount: 11, roundingBase: 5 }), []);
    assert.deepEqual(r.outputs[0]?.safeVersion.table?.rows, [['01', null], ['02', 45], ['Total', 50]]);
  });

  test('ledger: a count 3 away from a released cell on the same base is blocked, naming the release; 11 away is not', () => {
    const before = csv('diabetics.csv', 'dept,n\n75,150\n13,200\n', 'type 2 diabetics');
    const ledger = ledgerCellsOf(before, { projectId: 'p-other', releaseId: 'r-1' });
    assert.equal(ledger[0]?.populationHash, populationHash('Type 2   diabetics'));
    const now = csv('diabetics-no-insulin.csv', 'dept,n\n75,147\n13,189\n', 'type 2 diabetics without insulin');
    const r = checkOutputs([now], DEFAULT_RULES, ledger, { projectId: 'p-mine' });
    assert.deepEqual(rulesOf(r), [['differencing', 'block', 0, 'n']]);
    const f = r.outputs[0]?.flags[0];
    assert.equal(f?.other?.releaseId, 'r-1');
    assert.equal(f?.details['scope'], 'other_project');
    assert.match(f?.message.en ?? '', /release r-1 \(diabetics\.csv, project p-other\).*differ by 3/);
  });

  test('ledger: another base (dataset version) is not compared', () => {
    const ledger = ledgerCellsOf(csv('a.csv', 'dept,n\n75,150\n', 'x'), { projectId: 'p', releaseId: 'r-1' }).map((c) => ({ ...c, datasetVersions: ['snds@0'] }));
    assert.equal(checkOutputs([csv('b.csv', 'dept,n\n75,147\n', 'y')], DEFAULT_RULES, ledger).summary.status, 'clean');
  });

  test('ledger: an output drawn from two datasets is compared with releases of either', () => {
    const ledger = ledgerCellsOf(csv('a.csv', 'dept,n\n75,150\n', 'x'), { projectId: 'p', releaseId: 'r-1' });
    const both = parseCsvOutput('dept,n\n75,147\n', 'b.csv', { population: 'y', datasetVersions: ['snds@1', 'cepidc@2'] });
    assert.deepEqual(rulesOf(checkOutputs([both], DEFAULT_RULES, ledger)), [['differencing', 'block', 0, 'n']]);
  });

  test('two outputs of one request that differ by a small group are blocked', () => {
    const r = checkOutputs([csv('all.csv', 'dept,n\n75,150\n', 'all'), csv('most.csv', 'dept,n\n75,146\n', 'all but one clinic')], DEFAULT_RULES, []);
    assert.deepEqual(rulesOf(r, 1), [['request_differencing', 'block', 0, 'n']]);
  });

  test('rows built in memory: counts held as text are still checked, a NIR held as a number is still a NIR', () => {
    const typed: OutputTable = { name: 'typed', kind: 'frequency', columns: [{ name: 'dept', role: 'dimension' }, { name: 'n', role: 'count' }], rows: [[75, '7'], [13, '<11'], [69, '40']] };
    assert.deepEqual(rulesOf(checkOutputs([typed], DEFAULT_RULES, [])), [['minimum_count', 'block', 0, 'n']]);
    const nir: OutputTable = { name: 'nir', kind: 'frequency', columns: [{ name: 'code', role: 'dimension' }, { name: 'n', role: 'count' }], rows: [[1850578006084, 40]] };
    assert.deepEqual(rulesOf(checkOutputs([nir], DEFAULT_RULES, [])), [['identifier', 'block', 0, 'code']]);
  });

  test('the report is deterministic and JSON-clean', () => {
    const outs = [csv('a.csv', 'dept,age,n\n01,1,\n01,2,40\n01,Total,45\n02,1,3\n')];
    const a = JSON.stringify(checkOutputs(outs, DEFAULT_RULES, []));
    assert.equal(JSON.stringify(checkOutputs(outs, DEFAULT_RULES, [])), a);
    assert.deepEqual(JSON.parse(a), checkOutputs(outs, DEFAULT_RULES, []));
  });

  test('two outputs with one name are refused', () => {
    assert.throws(() => checkOutputs([csv('a.csv', 'n\n12\n'), csv('a.csv', 'n\n12\n')], DEFAULT_RULES, []), /two outputs are named a\.csv/);
  });
});
