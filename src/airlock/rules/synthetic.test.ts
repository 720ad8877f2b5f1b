/**
 * The disclosure rules on realistic outputs computed with DuckDB from the synthetic SNDS
 * (src/synth): counts by department and age band, drug exposure by month, amounts per
 * department with contributors and top contributions, a Kaplan–Meier table, plus outputs made
 * risky on purpose (recoverable suppressed cells, differencing pairs, rows at each boundary,
 * row-level data, identifiers and an identifier crossing).
 *
 * The truth each output is scored against is computed here from the data, by the test's own
 * SQL and arithmetic, not by the rules' code. SECURITY-TESTS #26 prints
 * "C risky cells, 0 released unflagged; P safe cells, 0 flagged; D differencing pairs, D flagged".
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { synthesize } from '../../synth/index.ts';
import { checkOutputs } from './check.ts';
import { parseCsvOutput } from './csv.ts';
import { ledgerCellsOf } from './ledger.ts';
import { DEFAULT_RULES } from './rules.ts';
import type { CsvHints, DisclosureReport, OutputTable } from './types.ts';

/** The truth's own threshold (CNAM/CASD: no cell under 11), not read from the code under test. */
const MIN = 11;
const BASE = ['snds@synthetic-airlock'];
const small = (v: number | null | undefined): boolean => v !== null && v !== undefined && v >= 1 && v < MIN;

/** One row of an output and whether the test's own truth says it must be blocked. */
interface Scored {
  readonly scenario: string;
  readonly output: string;
  readonly row: number;
  readonly risky: boolean;
}

const tally = { risky: 0, riskyUnflagged: [] as string[], safe: 0, safeFlagged: [] as string[], pairs: 0, pairsFlagged: 0 };

/** Scores a report's rows against the truth: risky rows need a blocking flag, safe rows no flag at all. */
function score(report: DisclosureReport, truth: readonly Scored[]): void {
  for (const s of truth) {
    const o = report.outputs.find((x) => x.name === s.output);
    assert.ok(o !== undefined, s.output);
    const wholeBlock = o.flags.some((f) => f.cell === null && f.severity === 'block');
    const onRow = o.flags.filter((f) => f.cell?.row === s.row);
    if (s.risky) {
      tally.risky++;
      if (!wholeBlock && !onRow.some((f) => f.severity === 'block')) tally.riskyUnflagged.push(`${s.scenario}/${s.output}#${s.row}`);
    } else {
      tally.safe++;
      if (wholeBlock || onRow.length > 0 || o.flags.some((f) => f.cell === null)) tally.safeFlagged.push(`${s.scenario}/${s.output}#${s.row}: ${onRow.map((f) => f.rule).join(',')}`);
    }
  }
}

describe('disclosure rules on outputs computed from the synthetic base', () => {
  let dir = '';
  let con: DuckDBConnection;
  type V = string | number | boolean | null;
  const q = async (sql: string): Promise<{ columns: string[]; rows: V[][] }> => {
    const r = await con.runAndReadAll(sql.replaceAll('@', `${dir}/parquet/`));
    const rows = r.getRows().map((row) => row.map((v): V => (v === null ? null : typeof v === 'bigint' ? Number(v) : typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : String(v))));
    return { columns: r.columnNames(), rows };
  };
  /** Through CSV, as a saved result reaches the airlock. */
  const output = (name: string, res: { columns: string[]; rows: V[][] }, hints: CsvHints = {}): OutputTable => {
    const text = [res.columns.join(','), ...res.rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(','))].join('\n') + '\n';
    return parseCsvOutput(text, name, { datasetVersions: BASE, ...hints });
  };
  const num = (v: V | undefined): number | null => (typeof v === 'number' ? v : v === null || v === undefined || v === '' || typeof v === 'boolean' ? null : Number(v));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-synth-'));
    await synthesize({ people: 2000, startYear: 2022, endYear: 2023, seed: 'airlock-rules', out: dir });
    con = await (await DuckDBInstance.create(':memory:')).connect();
    // one row per person (the referential may hold several), as an analyst would start
    await con.run(`CREATE TABLE ben AS SELECT DISTINCT ON (BEN_NIR_PSA, BEN_RNG_GEM) * FROM '${dir}/parquet/IR_BEN_R.parquet' ORDER BY BEN_NIR_PSA, BEN_RNG_GEM, BEN_DTE_MAJ DESC`);
    await con.run(`CREATE TABLE people AS SELECT BEN_NIR_PSA, BEN_RES_DPT AS dept, BEN_SEX_COD AS sex, BEN_NAI_MOI,
      CASE WHEN 2023 - BEN_NAI_ANN < 18 THEN '0-17' WHEN 2023 - BEN_NAI_ANN < 45 THEN '18-44' WHEN 2023 - BEN_NAI_ANN < 65 THEN '45-64' ELSE '65+' END AS age_band
      FROM ben`);
  });
  after(async () => {
    con.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  test('counts by department and age band, with margins: exactly the cells under 11 are blocked', async () => {
    const res = await q(`SELECT dept, age_band, count(*) AS n FROM people GROUP BY ROLLUP (dept, age_band) ORDER BY dept NULLS LAST, age_band NULLS LAST`);
    const t = output('by-dept-age.csv', res, { population: 'everyone in the base' });
    const r = checkOutputs([t], DEFAULT_RULES, []);
    const truth = res.rows.map((row, i) => ({ scenario: 'dept×age', output: t.name, row: i, risky: small(num(row[2])) }));
    assert.ok(truth.some((x) => x.risky) && truth.some((x) => !x.risky));
    score(r, truth);
    assert.equal(r.outputs[0]?.flags.every((f) => f.rule === 'minimum_count'), true, JSON.stringify(r.outputs[0]?.flags.filter((f) => f.rule !== 'minimum_count').slice(0, 2)));
  });

  test('drug exposure by month for the three most dispensed products', async () => {
    const res = await q(`WITH d AS (
        SELECT p.BEN_NIR_PSA, strftime(p.EXE_SOI_DTD, '%Y-%m') AS month, CAST(h.PHA_PRS_C13 AS VARCHAR) AS cip13
        FROM '@ER_PHA_F.parquet' h JOIN '@ER_PRS_F.parquet' p USING (DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF)),
      top AS (SELECT cip13 FROM d GROUP BY cip13 ORDER BY count(*) DESC, cip13 LIMIT 3)
      SELECT month, cip13, count(DISTINCT BEN_NIR_PSA) AS n_patients FROM d WHERE cip13 IN (SELECT cip13 FROM top) GROUP BY month, cip13 ORDER BY month, cip13`);
    assert.ok(res.rows.length >= 24, `${res.rows.length} month × product rows`);
    const t = output('exposure-by-month.csv', res, { population: 'dispensings of the three most dispensed products' });
    const r = checkOutputs([t], DEFAULT_RULES, []);
    score(r, res.rows.map((row, i) => ({ scenario: 'exposure', output: t.name, row: i, risky: small(num(row[2])) })));
  });

  test('amounts per department with contributors and the two largest, dominance and p-ratio truth from person totals', async () => {
    // The synthetic amounts are even; in the eight largest departments the largest spender is
    // given on purpose a costly stay (their total × 3 … × 2000), so that some cells of 11 or more
    // people are dominated and others are not.
    const res = await q(`WITH per0 AS (SELECT BEN_RES_DPT AS dept, BEN_NIR_PSA, sum(PRS_PAI_MNT) AS amt0 FROM '@ER_PRS_F.parquet' WHERE PRS_PAI_MNT > 0 GROUP BY ALL),
      big AS (SELECT dept, [3, 20, 60, 300, 500, 800, 1000, 2000][row_number() OVER (ORDER BY count(*) DESC, dept)] AS factor FROM per0 GROUP BY dept ORDER BY count(*) DESC, dept LIMIT 8),
      r0 AS (SELECT *, row_number() OVER (PARTITION BY dept ORDER BY amt0 DESC, BEN_NIR_PSA) AS k FROM per0),
      r AS (SELECT r0.dept, BEN_NIR_PSA, k, amt0 * CASE WHEN k = 1 THEN coalesce(big.factor, 1) ELSE 1 END AS amt FROM r0 LEFT JOIN big USING (dept))
      SELECT dept, count(*) AS n_contributors, sum(amt) AS sum_amount, avg(amt) AS mean_amount,
        max(amt) FILTER (WHERE k = 1) AS top1, coalesce(max(amt) FILTER (WHERE k = 2), 0) AS top2,
        (max(amt) FILTER (WHERE k = 1) + coalesce(max(amt) FILTER (WHERE k = 2), 0)) > 0.9 * sum(amt) AS dominated,
        sum(amt) FILTER (WHERE k > 2) < 0.1 * max(amt) FILTER (WHERE k = 1) OR count(*) <= 2 AS p_fail
      FROM r GROUP BY dept ORDER BY dept`);
    const truthCols = res.columns.length - 2;
    const shown = { columns: res.columns.slice(0, truthCols), rows: res.rows.map((row) => row.slice(0, truthCols)) };
    const t = output('amounts-by-dept.csv', shown, { population: 'people with a paid amount' });
    // three rows made on purpose at 89.9 %, 90 % and 90.1 % with the largest department's real top two
    const big = [...res.rows].sort((a, b) => (num(b[1]) ?? 0) - (num(a[1]) ?? 0))[0] ?? [];
    const [t1, t2, n] = [num(big[4]) ?? 0, num(big[5]) ?? 0, num(big[1]) ?? 0];
    const boundary = [89.9, 90, 90.1].map((share) => [`boundary-${share}`, n, ((t1 + t2) * 100) / share, ((t1 + t2) * 100) / share / n, t1, t2] as V[]);
    const b = output('amounts-boundary.csv', { columns: shown.columns, rows: boundary }, { population: 'made on purpose' });
    const r = checkOutputs([t, b], DEFAULT_RULES, []);
    const truth: Scored[] = res.rows.map((row, i) => ({ scenario: 'amounts', output: t.name, row: i, risky: small(num(row[1])) || row[6] === true || row[7] === true }));
    truth.push(...boundary.map((row, i) => {
      const total = num(row[2]) ?? 0;
      return { scenario: 'amounts', output: b.name, row: i, risky: (t1 + t2) / total > 0.9 + 1e-12 || total - t1 - t2 < 0.1 * t1 - 1e-9 };
    }));
    assert.deepEqual(truth.slice(-3).map((x) => x.risky), [false, false, true], 'dominance: 89.9 % and 90 % pass, 90.1 % is blocked');
    assert.ok(truth.some((x) => x.risky && x.output === t.name) && truth.some((x) => !x.risky && x.output === t.name), 'some departments dominated or small, some safe');
    const dominatedNotSmall = res.rows.filter((row) => !small(num(row[1])) && (row[6] === true || row[7] === true)).length;
    const bigSafe = res.rows.filter((row) => !small(num(row[1])) && row[6] !== true && row[7] !== true).length;
    assert.ok(dominatedNotSmall >= 3 && bigSafe >= 3, `${dominatedNotSmall} dominated cells of 11 or more, ${bigSafe} safe ones`);
    score(r, truth);
  });

  test('a Kaplan–Meier table from first care in 2022 to death: steps with 1–10 events or at risk are blocked, and the banded version passes', async () => {
    const res = await q(`WITH f AS (SELECT BEN_NIR_PSA, min(EXE_SOI_DTD) AS entry FROM '@ER_PRS_F.parquet' WHERE year(EXE_SOI_DTD) = 2022 GROUP BY ALL),
      d AS (SELECT BEN_NIR_PSA, min(BEN_DCD_DTE) AS death FROM ben GROUP BY ALL),
      t AS (SELECT CASE WHEN death BETWEEN entry AND DATE '2023-12-31' THEN 1 ELSE 0 END AS event,
              CAST(floor(date_diff('day', entry, CASE WHEN death BETWEEN entry AND DATE '2023-12-31' THEN death ELSE DATE '2023-12-31' END) / 30.4375) AS INTEGER) AS month
            FROM f LEFT JOIN d USING (BEN_NIR_PSA)),
      s AS (SELECT month, sum(event) AS n_event, count(*) - sum(event) AS n_censor FROM t GROUP BY month)
      SELECT month AS time, (SELECT count(*) FROM t WHERE t.month >= s.month) AS n_risk, n_event, n_censor FROM s ORDER BY month`);
    let surv = 1;
    const rows = res.rows.map((row) => {
      surv *= 1 - (num(row[2]) ?? 0) / (num(row[1]) ?? 1);
      return [...row, Number(surv.toFixed(6))];
    });
    const t = output('km.csv', { columns: [...res.columns, 'surv'], rows }, { population: 'people with care in 2022' });
    assert.equal(t.kind, 'survival');
    const r = checkOutputs([t], DEFAULT_RULES, []);
    const truth = res.rows.map((row, i) => ({ scenario: 'km', output: t.name, row: i, risky: small(num(row[2])) || small(num(row[1])) }));
    assert.ok(truth.some((x) => x.risky));
    score(r, truth);
    const safe = r.outputs[0]?.safeVersion.table;
    assert.ok(safe !== null && safe !== undefined);
    assert.equal(checkOutputs([safe], DEFAULT_RULES, []).summary.blocks, 0);
  });

  test('counts made at 10, 11 and 12 people per department', async () => {
    const res = await q(`WITH d AS (SELECT dept, row_number() OVER (ORDER BY count(*) DESC, dept) AS k FROM people GROUP BY dept),
      pick AS (SELECT p.dept, p.BEN_NIR_PSA, row_number() OVER (PARTITION BY p.dept ORDER BY p.BEN_NIR_PSA) AS r, 9 + d.k AS target FROM people p JOIN d USING (dept) WHERE d.k <= 3)
      SELECT dept, count(*) AS n FROM pick WHERE r <= target GROUP BY dept ORDER BY n`);
    assert.deepEqual(res.rows.map((row) => num(row[1])), [10, 11, 12]);
    const t = output('boundary-counts.csv', res, { population: 'the first people of the three largest departments' });
    const r = checkOutputs([t], DEFAULT_RULES, []);
    score(r, res.rows.map((row, i) => ({ scenario: 'boundary', output: t.name, row: i, risky: small(num(row[1])) })));
    assert.deepEqual(r.outputs[0]?.flags.map((f) => [f.rule, f.cell?.row]), [['minimum_count', 0]]);
  });

  test('suppressed cells a department total gives back are blocked; those it cannot are not flagged', async () => {
    const res = await q(`SELECT dept, age_band, count(*) AS n FROM people GROUP BY ROLLUP (dept, age_band) ORDER BY dept NULLS LAST, age_band NULLS LAST`);
    // the requester suppressed every count under 11 and nothing else (primary suppression only)
    const rows = res.rows.map((r) => [r[0] ?? null, r[1] ?? null, small(num(r[2])) ? null : r[2] ?? null]);
    const t = output('by-dept-age-suppressed.csv', { columns: res.columns, rows }, { population: 'everyone in the base' });
    const r = checkOutputs([t], DEFAULT_RULES, []);
    // the truth: a department total is given back when it is the only one missing under the grand total;
    // a cell when it is the only one missing in a department whose total is known or given back
    const isTotal = (row: V[]): boolean => row[1] === null;
    const deptTotals = rows.map((row, i) => ({ row, i })).filter(({ row }) => isTotal(row) && row[0] !== null);
    const missingTotals = deptTotals.filter(({ row }) => row[2] === null);
    const known = new Set(deptTotals.filter(({ row }) => row[2] !== null).map(({ row }) => row[0]));
    const recovered = new Set<number>();
    if (missingTotals.length === 1 && missingTotals[0] !== undefined) {
      recovered.add(missingTotals[0].i);
      known.add(missingTotals[0].row[0] ?? null);
    }
    const byDept = new Map<V, number[]>();
    rows.forEach((row, i) => { if (!isTotal(row) && row[2] === null) byDept.set(row[0] ?? null, [...(byDept.get(row[0] ?? null) ?? []), i]); });
    for (const [dept, cells] of byDept) if (cells.length === 1 && known.has(dept) && cells[0] !== undefined) recovered.add(cells[0]);
    assert.ok(recovered.size >= 3, `${recovered.size} recoverable suppressed cells`);
    assert.ok([...byDept.values()].some((c) => c.length >= 2), 'some departments with two suppressed cells (safe)');
    score(r, rows.map((row, i) => ({ scenario: 'secondary', output: t.name, row: i, risky: recovered.has(i) && small(num(res.rows[i]?.[2])) })));
    // the proposed version leaves nothing to give back
    const safe = r.outputs[0]?.safeVersion.table;
    assert.ok(safe !== null && safe !== undefined);
    assert.equal(checkOutputs([safe], DEFAULT_RULES, []).summary.blocks, 0);
  });

  test('differencing: a release of another project, then everyone but those born in January, on the same base', async () => {
    const all = await q(`SELECT dept, sex, count(*) AS n FROM people GROUP BY dept, sex ORDER BY dept, sex`);
    const released = output('everyone-by-dept-sex.csv', all, { population: 'everyone in the base' });
    const ledger = ledgerCellsOf(released, { projectId: 'p-other', releaseId: 'rel-2024-017' });
    const noJan = await q(`SELECT dept, sex, count(*) AS n FROM people WHERE BEN_NAI_MOI <> '01' GROUP BY dept, sex ORDER BY dept, sex`);
    const t = output('not-born-in-january.csv', noJan, { population: 'everyone not born in January' });
    const r = checkOutputs([t], DEFAULT_RULES, ledger, { projectId: 'p-mine' });
    const before = new Map(all.rows.map((row) => [`${row[0]}|${row[1]}`, num(row[2]) ?? 0]));
    let pairs = 0;
    let flagged = 0;
    const truth = noJan.rows.map((row, i) => {
      const d = (before.get(`${row[0]}|${row[1]}`) ?? 0) - (num(row[2]) ?? 0);
      const pair = small(d);
      if (pair) {
        pairs++;
        if (r.outputs[0]?.flags.some((f) => f.rule === 'differencing' && f.cell?.row === i && f.other?.releaseId === 'rel-2024-017')) flagged++;
      }
      return { scenario: 'ledger', output: t.name, row: i, risky: pair || small(num(row[2])) };
    });
    assert.ok(pairs >= 5, `${pairs} differencing pairs`);
    tally.pairs += pairs;
    tally.pairsFlagged += flagged;
    score(r, truth);
  });

  test('differencing inside one request: everyone with care in 2022, and the same without one product', async () => {
    const base = `WITH c AS (SELECT DISTINCT p.BEN_NIR_PSA, b.dept FROM '@ER_PRS_F.parquet' p JOIN people b USING (BEN_NIR_PSA) WHERE year(p.EXE_SOI_DTD) = 2022)`;
    const a = await q(`${base} SELECT dept, count(*) AS n FROM c GROUP BY dept ORDER BY dept`);
    const b = await q(`${base}, x AS (SELECT DISTINCT p.BEN_NIR_PSA FROM '@ER_PHA_F.parquet' h JOIN '@ER_PRS_F.parquet' p USING (DCT_ORD_NUM, FLX_DIS_DTD, FLX_EMT_NUM, FLX_EMT_ORD, FLX_EMT_TYP, FLX_TRT_DTD, ORG_CLE_NUM, PRS_ORD_NUM, REM_TYP_AFF)
        WHERE h.PHA_PRS_C13 = (SELECT PHA_PRS_C13 FROM '@ER_PHA_F.parquet' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 OFFSET 5))
      SELECT dept, count(*) AS n FROM c WHERE BEN_NIR_PSA NOT IN (SELECT BEN_NIR_PSA FROM x) GROUP BY dept ORDER BY dept`);
    const ta = output('cared-2022.csv', a, { population: 'care in 2022' });
    const tb = output('cared-2022-without-product.csv', b, { population: 'care in 2022, never dispensed the sixth product' });
    const r = checkOutputs([ta, tb], DEFAULT_RULES, []);
    const before = new Map(a.rows.map((row) => [row[0], num(row[1]) ?? 0]));
    let pairs = 0;
    let flagged = 0;
    const truth: Scored[] = a.rows.map((row, i) => ({ scenario: 'request', output: ta.name, row: i, risky: small(num(row[1])) }));
    b.rows.forEach((row, i) => {
      const pair = small((before.get(row[0] ?? null) ?? 0) - (num(row[1]) ?? 0));
      if (pair) {
        pairs++;
        if (r.outputs[1]?.flags.some((f) => f.rule === 'request_differencing' && f.cell?.row === i && f.other?.outputName === ta.name)) flagged++;
      }
      truth.push({ scenario: 'request', output: tb.name, row: i, risky: pair || small(num(row[1])) });
    });
    assert.ok(pairs >= 3, `${pairs} pairs`);
    tally.pairs += pairs;
    tally.pairsFlagged += flagged;
    score(r, truth);
  });

  test('row-level data, pseudonyms, practitioner numbers and month of birth × commune are blocked whatever the counts', async () => {
    const rowLevel = await q(`SELECT 2023 - BEN_NAI_ANN AS age, BEN_SEX_COD AS sex, BEN_RES_DPT AS dept, strftime(BEN_DTE_INS, '%Y-%m-%d') AS date_entree FROM ben ORDER BY BEN_NIR_PSA LIMIT 40`);
    const pseudo = await q(`SELECT BEN_NIR_PSA, count(*) AS n FROM '@ER_PRS_F.parquet' GROUP BY 1 HAVING count(*) >= 11 ORDER BY 1 LIMIT 20`);
    const hidden = await q(`SELECT BEN_NIR_PSA AS grp, count(*) AS n FROM '@ER_PRS_F.parquet' GROUP BY 1 HAVING count(*) >= 11 ORDER BY 1 LIMIT 20`);
    const pros = await q(`SELECT PFS_EXE_NUM, count(*) AS n_acts FROM '@ER_PRS_F.parquet' GROUP BY 1 HAVING count(*) >= 11 ORDER BY 2 DESC, 1 LIMIT 20`);
    const crossing = await q(`SELECT BEN_NAI_MOI, BEN_RES_COM, count(*) AS n FROM ben GROUP BY ALL HAVING count(*) >= 1 ORDER BY 1, 2 LIMIT 20`);
    const outs = [output('row-level.csv', rowLevel), output('by-pseudonym.csv', pseudo), output('by-hidden-pseudonym.csv', hidden), output('by-practitioner.csv', pros), output('birth-month-commune.csv', crossing)];
    const r = checkOutputs(outs, DEFAULT_RULES, []);
    assert.deepEqual(r.outputs.map((o) => o.flags.find((f) => f.cell === null || f.rule === 'identifier')?.rule), ['row_level', 'identifier', 'identifier', 'identifier', 'identifier_crossing']);
    assert.equal(r.outputs.every((o) => o.safeVersion.method === 'withheld'), true);
    for (const [i, o] of outs.entries()) {
      assert.ok(o.rows.length > 0, o.name);
      // by-hidden-pseudonym's flag points at its first digest; every row of a whole-output block is covered
      const blocked = r.outputs[i]?.flags.some((f) => f.severity === 'block' && (f.cell === null || f.rule === 'identifier'));
      for (let row = 0; row < o.rows.length; row++) {
        tally.risky++;
        if (blocked !== true) tally.riskyUnflagged.push(`${o.name}#${row}`);
      }
    }
  });

  test('SECURITY-TESTS #26: every risky cell blocked, no safe cell flagged, every differencing pair flagged', () => {
    const figure = `${tally.risky} risky cells, ${tally.riskyUnflagged.length} released unflagged; ${tally.safe} safe cells, ${tally.safeFlagged.length} flagged; ${tally.pairs} differencing pairs, ${tally.pairsFlagged} flagged`;
    console.log(`SECURITY-TESTS #26: ${figure}`);
    assert.deepEqual(tally.riskyUnflagged, []);
    assert.deepEqual(tally.safeFlagged, []);
    assert.equal(tally.pairsFlagged, tally.pairs);
    // short of data is short of proof
    assert.ok(tally.risky >= 150 && tally.safe >= 150 && tally.pairs >= 8, figure);
  });
});
