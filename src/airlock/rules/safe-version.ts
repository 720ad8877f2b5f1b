/**
 * The safe version the report proposes for each output: the cells to suppress (primary, from
 * the flags; secondary, so that no suppressed cell can be given back by subtraction), or
 * rounding, or banded time steps for a survival table, or nothing at all when the whole output
 * must stay in. A proposal only: a checker decides, and `requiresChecker` is always true.
 */
import { cellRef, columnsWith, keyOf, num } from './cells.ts';
import { buildSpaces, protect } from './secondary.ts';
import type { CellRef, CellValue, DisclosureFlag, DisclosureRules, OutputTable, RuleId, SafeVersion } from './types.ts';

const WHOLE_OUTPUT: ReadonlySet<RuleId> = new Set(['identifier', 'identifier_crossing', 'row_level']);
const CELL_SUPPRESSION: ReadonlySet<RuleId> = new Set(['minimum_count', 'dominance', 'p_ratio', 'secondary_disclosure', 'differencing', 'request_differencing']);
const MEASURES = ['count', 'magnitude', 'numerator', 'denominator', 'contributors'] as const;

/** top1/top2 are one unit's own value: they serve the check and never leave. */
function withoutTopColumns(t: OutputTable, rows: readonly (readonly CellValue[])[]): OutputTable {
  const keep = t.columns.flatMap((c, i) => (c.role === 'top1' || c.role === 'top2' ? [] : [i]));
  return {
    ...t,
    columns: keep.map((i) => t.columns[i] ?? { name: '', role: 'other' }),
    rows: rows.map((r) => keep.map((i) => r[i] ?? null)),
  };
}

const hasTop = (t: OutputTable): boolean => t.columns.some((c) => c.role === 'top1' || c.role === 'top2');
const TOP_NOTE = { en: ' The top1/top2 columns (single contributions) are left out.', fr: ' Les colonnes top1/top2 (contributions individuelles) sont retirées.' };

function withheld(why: { en: string; fr: string }): SafeVersion {
  return { method: 'withheld', table: null, primary: [], secondary: [], note: why, requiresChecker: true };
}

/** Survival table banded so that every band has enough events, cut where too few remain at risk. */
function banded(t: OutputTable, rules: DisclosureRules): SafeVersion {
  const time = columnsWith(t, 'time')[0];
  const ev = columnsWith(t, 'events')[0];
  const risk = columnsWith(t, 'at_risk')[0];
  const cens = columnsWith(t, 'censored')[0];
  if (ev === undefined) return withheld({ en: 'No events column: the table cannot be banded safely.', fr: 'Pas de colonne d\'événements : la table ne peut être regroupée sans risque.' });
  const strata = new Map<string, number[]>();
  t.rows.forEach((_, row) => {
    const { ...key } = keyOf(t, row);
    if (time !== undefined) delete key[t.columns[time]?.name ?? ''];
    const k = JSON.stringify(Object.entries(key));
    strata.set(k, [...(strata.get(k) ?? []), row]);
  });
  const out: CellValue[][] = [];
  for (const rows of strata.values()) {
    const kept = rows.filter((row) => risk === undefined || (num(t.rows[row]?.[risk]) ?? 0) >= rules.minimumCount);
    const bands: number[][] = [];
    let current: number[] = [];
    let events = 0;
    for (const row of kept) {
      current.push(row);
      events += num(t.rows[row]?.[ev]) ?? 0;
      if (events >= rules.minimumEventsPerStep) {
        bands.push(current);
        current = [];
        events = 0;
      }
    }
    // a tail with too few events joins the band before it, or goes when there is none
    if (current.length > 0) {
      const last = bands.pop();
      if (last !== undefined) bands.push([...last, ...current]);
    }
    for (const band of bands) {
      const first = t.rows[band[0] ?? 0] ?? [];
      const lastRow = t.rows[band[band.length - 1] ?? 0] ?? [];
      const sum = (i: number): number => band.reduce((s, row) => s + (num(t.rows[row]?.[i]) ?? 0), 0);
      out.push(t.columns.map((c, i) => (i === ev || i === cens ? sum(i) : i === risk ? (first[i] ?? null) : c.role === 'dimension' ? (first[i] ?? null) : (lastRow[i] ?? null))));
    }
  }
  if (out.length === 0) return withheld({ en: `Too few events in the whole table to make one band of ${rules.minimumEventsPerStep}.`, fr: `Trop peu d'événements dans toute la table pour former une tranche de ${rules.minimumEventsPerStep}.` });
  return {
    method: 'rounding', table: { ...t, rows: out, sourceLines: [] }, primary: [], secondary: [],
    note: {
      en: `Time steps banded so that each band counts at least ${rules.minimumEventsPerStep} events; steps with fewer than ${rules.minimumCount} at risk are cut. Each band is dated by its last step.`,
      fr: `Pas de temps regroupés pour que chaque tranche compte au moins ${rules.minimumEventsPerStep} événements ; les pas avec moins de ${rules.minimumCount} personnes à risque sont coupés. Chaque tranche est datée par son dernier pas.`,
    },
    requiresChecker: true,
  };
}

function rounded(t: OutputTable, flagged: ReadonlySet<number>, base: number, rules: DisclosureRules): SafeVersion {
  const counts = new Set(columnsWith(t, 'count', 'numerator', 'denominator', 'contributors'));
  const measures = new Set(columnsWith(t, ...MEASURES));
  const primary: CellRef[] = [];
  const rows = t.rows.map((r, row) => r.map((v, i) => {
    if (!measures.has(i)) return v;
    const n = num(v);
    if (n === null) return null;
    if (flagged.has(row) && (!counts.has(i) || Math.abs(n) < rules.minimumCount)) {
      primary.push(cellRef(t, row, i));
      return null;
    }
    return counts.has(i) ? Math.round(n / base) * base : v;
  }));
  return {
    method: 'rounding', table: withoutTopColumns(t, rows), primary, secondary: [],
    note: {
      en: `Counts under ${rules.minimumCount} suppressed, every other count rounded to a multiple of ${base} (totals included, so that subtraction gives nothing exact).${hasTop(t) ? TOP_NOTE.en : ''}`,
      fr: `Effectifs sous ${rules.minimumCount} masqués, les autres arrondis au multiple de ${base} (totaux compris, pour qu'aucune soustraction ne redonne une valeur exacte).${hasTop(t) ? TOP_NOTE.fr : ''}`,
    },
    requiresChecker: true,
  };
}

/** One safe version per output, in order; suppression is worked out across the whole request. */
export function proposeSafeVersions(outputs: readonly OutputTable[], flags: ReadonlyMap<string, readonly DisclosureFlag[]>, rules: DisclosureRules): SafeVersion[] {
  const result: (SafeVersion | undefined)[] = outputs.map(() => undefined);
  /** output index → rows to suppress (primary). */
  const primaryRows = new Map<number, Set<number>>();
  outputs.forEach((t, o) => {
    const fs = flags.get(t.name) ?? [];
    const blocks = fs.filter((f) => f.severity === 'block');
    const whole = blocks.find((f) => WHOLE_OUTPUT.has(f.rule) || (f.rule === 'residual_df' && t.kind === 'model'));
    if (whole !== undefined) {
      result[o] = withheld({ en: `Withheld whole: ${whole.message.en}`, fr: `Retenu en entier : ${whole.message.fr}` });
      return;
    }
    if (t.kind === 'survival' && blocks.some((f) => f.rule === 'survival_events')) {
      result[o] = banded(t, rules);
      return;
    }
    const rows = new Set(blocks.filter((f) => CELL_SUPPRESSION.has(f.rule) && f.cell !== null).map((f) => f.cell?.row ?? -1));
    if (rows.size === 0) {
      result[o] = {
        method: 'unchanged', table: withoutTopColumns(t, t.rows), primary: [], secondary: [],
        note: { en: `Nothing to suppress.${hasTop(t) ? TOP_NOTE.en : ''}`, fr: `Rien à masquer.${hasTop(t) ? TOP_NOTE.fr : ''}` },
        requiresChecker: true,
      };
      return;
    }
    if (rules.roundingBase !== null && (t.kind === 'frequency' || t.kind === 'rate')) {
      result[o] = rounded(t, rows, rules.roundingBase, rules);
      return;
    }
    primaryRows.set(o, rows);
  });
  if (primaryRows.size === 0) return result.map((r) => r ?? withheld({ en: '', fr: '' }));

  // Suppression across the request: the outputs still in play share their spaces.
  const considered = outputs.map((t, o) => (result[o] === undefined || result[o]?.method === 'unchanged' ? t : null));
  const spaceOutputs = considered.map((t) => t ?? { name: '', kind: 'rows' as const, columns: [], rows: [] });
  const nulled = new Map<number, Map<number, Set<number>>>(); // output → row → columns
  const mark = (o: number, row: number, column: number): void => {
    const rows = nulled.get(o) ?? new Map<number, Set<number>>();
    const cols = rows.get(row) ?? new Set<number>();
    cols.add(column);
    rows.set(row, cols);
    nulled.set(o, rows);
  };
  const primaryCells = new Set<string>();
  for (const space of buildSpaces(spaceOutputs)) {
    const primary = new Set([...space.cells.values()].filter((c) => c.value === null || c.sources.some((s) => primaryRows.get(s.output)?.has(s.row) ?? false)).map((c) => c.id));
    const all = protect(space, primary, (id) => space.cells.get(id)?.value ?? null);
    for (const id of all) {
      for (const s of space.cells.get(id)?.sources ?? []) {
        mark(s.output, s.row, s.column);
        if (primary.has(id)) primaryCells.add(`${s.output}:${s.row}:${s.column}`);
      }
    }
  }
  for (const [o, rows] of primaryRows) for (const row of rows) for (const c of columnsWith(outputs[o] ?? spaceOutputs[0] ?? { name: '', kind: 'rows', columns: [], rows: [] }, ...MEASURES)) mark(o, row, c);

  outputs.forEach((t, o) => {
    const cells = nulled.get(o);
    if (result[o] !== undefined && (result[o]?.method !== 'unchanged' || cells === undefined)) return;
    if (cells === undefined) return;
    const measures = new Set(columnsWith(t, ...MEASURES));
    const primary: CellRef[] = [];
    const secondary: CellRef[] = [];
    const rows = t.rows.map((r, row) => {
      const cols = cells.get(row);
      if (cols === undefined) return r;
      // a row with any cell suppressed loses all its measures: a mean times a count gives back a sum
      return r.map((v, i) => {
        if (!measures.has(i) && !cols.has(i)) return v;
        if (v !== null && (cols.has(i) || measures.has(i))) (primaryCells.has(`${o}:${row}:${i}`) || (primaryRows.get(o)?.has(row) ?? false) ? primary : secondary).push(cellRef(t, row, i));
        return null;
      });
    });
    result[o] = {
      method: 'suppression', table: withoutTopColumns(t, rows), primary, secondary,
      note: {
        en: `${primary.length} cell(s) suppressed for the flags, ${secondary.length} more so that no suppressed cell can be given back from totals or the request's other outputs.${hasTop(t) ? TOP_NOTE.en : ''}`,
        fr: `${primary.length} cellule(s) masquée(s) pour les alertes, ${secondary.length} de plus pour qu'aucune cellule masquée ne se retrouve par les totaux ou les autres sorties de la demande.${hasTop(t) ? TOP_NOTE.fr : ''}`,
      },
      requiresChecker: true,
    };
  });
  return result.map((r) => r ?? withheld({ en: '', fr: '' }));
}
