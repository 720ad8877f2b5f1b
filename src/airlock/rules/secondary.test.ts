import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkOutputs } from './check.ts';
import { DEFAULT_RULES } from './rules.ts';
import { buildSpaces, recover } from './secondary.ts';
import type { CellValue, OutputTable } from './types.ts';

/** A small deterministic generator (the tests must give the same tables every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A random two-way table with both margins and the grand total, as GROUP BY CUBE gives it. */
function cube(rnd: () => number, rowsN: number, colsN: number, smallShare: number): { table: OutputTable; truth: number[] } {
  const v = Array.from({ length: rowsN }, () => Array.from({ length: colsN }, () => (rnd() < smallShare ? 1 + Math.floor(rnd() * 10) : 11 + Math.floor(rnd() * 90))));
  const rows: CellValue[][] = [];
  for (let i = 0; i < rowsN; i++) {
    for (let j = 0; j < colsN; j++) rows.push([`r${i}`, `c${j}`, v[i]?.[j] ?? 0]);
    rows.push([`r${i}`, 'Total', (v[i] ?? []).reduce((a, b) => a + b, 0)]);
  }
  for (let j = 0; j < colsN; j++) rows.push(['Total', `c${j}`, v.reduce((a, r) => a + (r[j] ?? 0), 0)]);
  rows.push(['Total', 'Total', v.flat().reduce((a, b) => a + b, 0)]);
  const table: OutputTable = { name: 'cube.csv', kind: 'frequency', columns: [{ name: 'g', role: 'dimension' }, { name: 'h', role: 'dimension' }, { name: 'n', role: 'count' }], rows };
  return { table, truth: rows.map((r) => r[2] as number) };
}

function recoverable(t: OutputTable): number {
  let n = 0;
  for (const space of buildSpaces([t])) {
    const unknown = new Set([...space.cells.values()].filter((c) => c.value === null).map((c) => c.id));
    n += recover(space, unknown, (id) => space.cells.get(id)?.value ?? null).recovered.length;
  }
  return n;
}

describe('secondary disclosure on random tables', () => {
  test('200 random tables: every value the check gives back is the true hidden value', () => {
    const rnd = prng(13);
    let recoveredTotal = 0;
    for (let k = 0; k < 200; k++) {
      const { table, truth } = cube(rnd, 2 + Math.floor(rnd() * 5), 2 + Math.floor(rnd() * 5), 0.2);
      // hide a few cells at random, margins included
      const hidden = table.rows.map((r) => (rnd() < 0.15 ? [r[0] ?? null, r[1] ?? null, null] : r));
      const report = checkOutputs([{ ...table, rows: hidden }], DEFAULT_RULES, []);
      for (const f of report.outputs[0]?.flags ?? []) {
        if (f.rule !== 'secondary_disclosure' || f.details['recovered'] === undefined || f.cell === null) continue;
        assert.equal(hidden[f.cell.row]?.[2], null, 'only hidden cells are given back');
        assert.equal(f.details['recovered'], truth[f.cell.row]);
        recoveredTotal++;
      }
    }
    assert.ok(recoveredTotal >= 100, `${recoveredTotal} cells given back`);
  });

  test('200 random tables: the safe version suppresses every small cell and leaves none recoverable', () => {
    const rnd = prng(29);
    let secondary = 0;
    for (let k = 0; k < 200; k++) {
      const { table, truth } = cube(rnd, 2 + Math.floor(rnd() * 6), 2 + Math.floor(rnd() * 6), 0.1);
      const report = checkOutputs([table], DEFAULT_RULES, []);
      const safe = report.outputs[0]?.safeVersion;
      assert.ok(safe?.table !== null && safe?.table !== undefined);
      safe.table.rows.forEach((r, i) => {
        const t = truth[i] ?? 0;
        if (t >= 1 && t < 11) assert.equal(r[2], null, `cell ${i} (${t}) suppressed`);
        else if (r[2] !== null) assert.equal(r[2], t, 'published cells keep their value');
      });
      assert.equal(recoverable(safe.table), 0, `table ${k}: nothing recoverable`);
      secondary += safe.secondary.length;
    }
    assert.ok(secondary >= 50, `${secondary} secondary suppressions`);
  });
});
