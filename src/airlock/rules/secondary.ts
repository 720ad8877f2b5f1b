/**
 * Secondary disclosure: which suppressed cells the published ones give back by exact
 * subtraction along rows, columns and totals, within an output and across the outputs of one
 * request, iterated until nothing new is found (a recovered cell helps recover the next).
 *
 * Cells of outputs that count the same measure over the same population and base share one
 * space: a cell is a point in the union of their dimensions, "all" where an output does not
 * break a dimension down. For each dimension, a cell "all" on it equals the sum of the cells
 * that break it down (a category absent from every output counts zero, as a GROUP BY omits
 * empty groups). An equation with one unknown gives that unknown back.
 */
import { columnsWith, isMeanColumn, isTotalLabel, keyText, num } from './cells.ts';
import type { OutputTable } from './types.ts';

export interface CellSource {
  readonly output: number;
  readonly row: number;
  readonly column: number;
}

export interface SpaceCell {
  readonly id: string;
  /** Dimension → value, "all" dimensions left out. */
  readonly key: Readonly<Record<string, string>>;
  /** The published value (first known source), or null when every source is empty. */
  readonly value: number | null;
  readonly sources: readonly CellSource[];
  /** True when one dimension at least is a margin ("all"). */
  readonly isMargin: boolean;
}

export interface Equation {
  readonly total: string;
  readonly parts: readonly string[];
  /** The dimension summed over. */
  readonly over: string;
}

export interface Space {
  /** Measure column name (lower case). */
  readonly measure: string;
  readonly additiveCount: boolean;
  readonly cells: ReadonlyMap<string, SpaceCell>;
  readonly equations: readonly Equation[];
}

/** Additive measures: counts, numerators, denominators and sums (means are not additive). */
function additiveColumns(t: OutputTable): number[] {
  if (t.kind !== 'frequency' && t.kind !== 'rate' && t.kind !== 'magnitude') return [];
  return t.columns.flatMap((c, i) =>
    c.role === 'count' || c.role === 'numerator' || c.role === 'denominator' || (c.role === 'magnitude' && !isMeanColumn(c.name)) ? [i] : []);
}

export function buildSpaces(outputs: readonly OutputTable[]): Space[] {
  const groups = new Map<string, { measure: string; count: boolean; members: { output: number; column: number }[] }>();
  outputs.forEach((t, o) => {
    for (const column of additiveColumns(t)) {
      const c = t.columns[column];
      if (c === undefined) continue;
      const measure = c.name.toLowerCase();
      const gid = [measure, (t.population ?? '').trim().toLowerCase(), [...(t.datasetVersions ?? [])].sort().join(',')].join('\u0002');
      const g = groups.get(gid) ?? { measure, count: c.role !== 'magnitude', members: [] };
      g.members.push({ output: o, column });
      groups.set(gid, g);
    }
  });
  const spaces: Space[] = [];
  for (const g of groups.values()) {
    const dims = [...new Set(g.members.flatMap(({ output }) => {
      const t = outputs[output];
      return t === undefined ? [] : columnsWith(t, 'dimension', 'time').map((i) => t.columns[i]?.name.toLowerCase() ?? '');
    }))].sort();
    // Outputs that give one cell two different values do not count the same population: they
    // get spaces of their own (first fit, in request order).
    const memberCells = g.members.map(({ output, column }) => {
      const t = outputs[output];
      const list: { id: string; key: Record<string, string>; value: number | null; source: CellSource }[] = [];
      if (t === undefined) return list;
      const dimCols = columnsWith(t, 'dimension', 'time');
      t.rows.forEach((r, row) => {
        const key: Record<string, string> = {};
        for (const i of dimCols) {
          const v = r[i] ?? null;
          if (!isTotalLabel(v)) key[t.columns[i]?.name.toLowerCase() ?? ''] = String(v);
        }
        const v = r[column];
        list.push({ id: keyText(key, dims), key, value: num(v), source: { output, row, column } });
      });
      return list;
    });
    const subgroups: { values: Map<string, number>; members: number[] }[] = [];
    memberCells.forEach((list, m) => {
      const fits = subgroups.find((sg) => list.every((c) => c.value === null || !sg.values.has(c.id) || sg.values.get(c.id) === c.value));
      const sg = fits ?? { values: new Map<string, number>(), members: [] };
      if (fits === undefined) subgroups.push(sg);
      sg.members.push(m);
      for (const c of list) if (c.value !== null) sg.values.set(c.id, c.value);
    });
    for (const sg of subgroups) spaces.push(spaceOf(g.measure, g.count, dims, sg.members.flatMap((m) => memberCells[m] ?? [])));
  }
  return spaces;
}

function spaceOf(measure: string, count: boolean, dims: readonly string[], list: readonly { id: string; key: Record<string, string>; value: number | null; source: CellSource }[]): Space {
  {
    const cells = new Map<string, { key: Record<string, string>; value: number | null; sources: CellSource[] }>();
    for (const c of list) {
      const cell = cells.get(c.id) ?? { key: c.key, value: null, sources: [] };
      cell.sources.push(c.source);
      if (cell.value === null && c.value !== null) cell.value = c.value;
      cells.set(c.id, cell);
    }
    const frozen = new Map<string, SpaceCell>([...cells].map(([id, c]) => [id, { id, ...c, isMargin: dims.some((d) => c.key[d] === undefined) }]));
    // group the cells that break dimension d down, by the cell they sum to
    const equations: Equation[] = [];
    for (const d of dims) {
      const byTotal = new Map<string, string[]>();
      for (const c of frozen.values()) {
        if (c.key[d] === undefined) continue;
        const { [d]: _, ...rest } = c.key;
        const tid = keyText(rest, dims);
        const list = byTotal.get(tid) ?? [];
        list.push(c.id);
        byTotal.set(tid, list);
      }
      for (const [tid, parts] of byTotal) if (frozen.has(tid)) equations.push({ total: tid, parts: parts.sort(), over: d });
    }
    return { measure, additiveCount: count, cells: frozen, equations };
  }
}

export interface Recovery {
  readonly id: string;
  readonly value: number;
  readonly equation: Equation;
}

export interface Inconsistency {
  readonly equation: Equation;
  /** Total minus the sum of its parts. */
  readonly difference: number;
}

/**
 * Solves the space's equations for the unknown cells, given the values of the others; returns
 * every unknown recovered (in order of recovery) and the equations whose published values do
 * not add up (a left-out row shows as the difference).
 */
export function recover(space: Space, unknown: ReadonlySet<string>, valueOf: (id: string) => number | null): { recovered: Recovery[]; inconsistencies: Inconsistency[] } {
  const known = new Map<string, number>();
  for (const c of space.cells.values()) {
    if (unknown.has(c.id)) continue;
    const v = valueOf(c.id);
    if (v !== null) known.set(c.id, v);
  }
  const open = new Set([...space.cells.keys()].filter((id) => !known.has(id)));
  const recovered: Recovery[] = [];
  let progress = true;
  while (progress && open.size > 0) {
    progress = false;
    for (const eq of space.equations) {
      const members = [eq.total, ...eq.parts];
      const missing = members.filter((m) => open.has(m));
      if (missing.length !== 1) continue;
      const m = missing[0] ?? '';
      const sumParts = eq.parts.reduce((s, p) => s + (p === m ? 0 : (known.get(p) ?? 0)), 0);
      const value = m === eq.total ? sumParts : (known.get(eq.total) ?? 0) - sumParts;
      known.set(m, value);
      open.delete(m);
      recovered.push({ id: m, value, equation: eq });
      progress = true;
    }
  }
  const inconsistencies: Inconsistency[] = [];
  const recoveredIds = new Set(recovered.map((r) => r.id));
  for (const eq of space.equations) {
    if (![eq.total, ...eq.parts].every((m) => known.has(m) && !recoveredIds.has(m))) continue;
    const difference = (known.get(eq.total) ?? 0) - eq.parts.reduce((s, p) => s + (known.get(p) ?? 0), 0);
    if (Math.abs(difference) > 1e-9 * Math.max(1, Math.abs(known.get(eq.total) ?? 0))) inconsistencies.push({ equation: eq, difference });
  }
  return { recovered, inconsistencies };
}

/**
 * Secondary suppression: grows `suppressed` (which must hold the primary cells) until no
 * suppressed cell can be recovered. Each round takes, in the equation that gave a cell back,
 * the smallest published interior cell (a margin only when none is left), so that the
 * information lost stays small. Deterministic: ties go to the first id.
 */
export function protect(space: Space, primary: ReadonlySet<string>, valueOf: (id: string) => number | null): Set<string> {
  const suppressed = new Set(primary);
  for (let guard = 0; guard <= space.cells.size; guard++) {
    const { recovered } = recover(space, suppressed, valueOf);
    const hits = recovered.filter((r) => suppressed.has(r.id));
    if (hits.length === 0) return suppressed;
    // one pick per equation that gave a suppressed cell back, in this round; equations that
    // share a cell picked this round wait for the next (the pick may already close them)
    const touched = new Set<string>();
    let added = 0;
    for (const hit of hits) {
      const members = [hit.equation.total, ...hit.equation.parts];
      if (members.some((m) => touched.has(m))) continue;
      const pick = members
        .filter((m) => !suppressed.has(m))
        .map((id) => ({ id, margin: space.cells.get(id)?.isMargin ?? true, v: valueOf(id) ?? 0 }))
        .sort((a, b) => Number(a.margin) - Number(b.margin) || a.v - b.v || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
      if (pick === undefined) continue;
      suppressed.add(pick.id);
      for (const m of members) touched.add(m);
      added++;
    }
    if (added === 0) return suppressed;
  }
  return suppressed;
}
