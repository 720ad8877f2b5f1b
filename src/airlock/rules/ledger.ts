/**
 * Differencing against the release ledger and within a request: two counts of the same cell
 * (same base, same dimensions) whose difference is a positive number of people below the
 * minimum count isolate that small group, however large each count is.
 */
import { createHash } from 'node:crypto';
import { cellRef, columnsWith, describeKey, keyOf, normalKey, num } from './cells.ts';
import type { CheckContext, DisclosureFlag, DisclosureRules, LedgerCell, LedgerRef, OutputTable } from './types.ts';

/**
 * SHA-256 (hex) of a population definition, normalised (case, runs of spaces) so that the same
 * words give the same hash.
 */
export function populationHash(definition: string): string {
  return createHash('sha256').update(definition.normalize('NFC').trim().replace(/\s+/gu, ' ').toLowerCase(), 'utf8').digest('hex');
}

/** The count cells of an output (what the ledger compares); margins have the margin's dimensions left out. */
function countCells(t: OutputTable): { row: number; column: number; key: Record<string, string>; count: number }[] {
  if (t.kind !== 'frequency' && t.kind !== 'rate' && t.kind !== 'magnitude') return [];
  const cols = columnsWith(t, 'count', 'numerator', 'denominator');
  return t.rows.flatMap((r, row) => cols.flatMap((column) => {
    const v = num(r[column]);
    return v === null ? [] : [{ row, column, key: keyOf(t, row), count: v }];
  }));
}

/**
 * Two cells are on the same base when their dataset versions share one (an output drawn from
 * two datasets is compared with releases of either), or when neither names any.
 */
function sameBase(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length === 0 || y.length === 0) return x.length === y.length;
  return x.some((v) => y.includes(v));
}

/**
 * The cells the ledger keeps for a released output: one per published count cell.
 *
 * @example
 *   ledgerCellsOf(approvedOutput, { projectId: 'p-1', releaseId: 'r-7' })
 */
export function ledgerCellsOf(output: OutputTable, release: { readonly projectId: string; readonly releaseId: string }): LedgerCell[] {
  return countCells(output).map((c) => ({
    projectId: release.projectId,
    releaseId: release.releaseId,
    outputName: output.name,
    populationHash: populationHash(output.population ?? ''),
    datasetVersions: [...(output.datasetVersions ?? [])].sort(),
    dimensions: c.key,
    measure: output.columns[c.column]?.name ?? '',
    count: c.count,
  }));
}

function isSmallDifference(a: number, b: number, rules: DisclosureRules): number | null {
  const d = Math.abs(a - b);
  return d > 0 && d < rules.minimumCount ? d : null;
}

/**
 * Flags each new count cell whose difference from a released cell (same base, same dimensions)
 * or from the same cell of another output of the request is positive and below the minimum
 * count. Pure; the ledger passed is what the service read for this base.
 */
export function checkLedger(outputs: readonly OutputTable[], rules: DisclosureRules, ledger: readonly LedgerCell[], context: CheckContext = {}): DisclosureFlag[] {
  const flags: DisclosureFlag[] = [];
  const byCell = new Map<string, LedgerCell[]>();
  for (const l of ledger) {
    const k = normalKey(l.dimensions);
    const list = byCell.get(k) ?? [];
    list.push(l);
    byCell.set(k, list);
  }
  const seen = new Map<string, { output: number; row: number; column: number; count: number; key: Record<string, string>; measure: string }[]>();
  outputs.forEach((t, o) => {
    for (const c of countCells(t)) {
      const k = normalKey(c.key);
      const ref = cellRef(t, c.row, c.column);
      const measure = (t.columns[c.column]?.name ?? '').toLowerCase();
      for (const l of byCell.get(k) ?? []) {
        if (!sameBase(t.datasetVersions, l.datasetVersions)) continue;
        const d = isSmallDifference(c.count, l.count, rules);
        if (d === null) continue;
        const same = context.projectId !== undefined && l.projectId === context.projectId;
        const other: LedgerRef = { projectId: l.projectId, releaseId: l.releaseId, outputName: l.outputName, count: l.count, dimensions: l.dimensions };
        const where = describeKey(c.key);
        flags.push({
          rule: 'differencing', severity: 'block', output: t.name, cell: ref, other,
          message: {
            en: `${where}: ${c.count} here and ${l.count} in release ${l.releaseId} (${l.outputName}, ${same ? 'this project' : `project ${l.projectId}`}) of the same base differ by ${d}, under ${rules.minimumCount}: together they isolate ${d} people`,
            fr: `${where} : ${c.count} ici et ${l.count} dans la diffusion ${l.releaseId} (${l.outputName}, ${same ? 'ce projet' : `projet ${l.projectId}`}) sur la même base diffèrent de ${d}, moins de ${rules.minimumCount} : ensemble elles isolent ${d} personnes`,
          },
          details: { value: c.count, released: l.count, difference: d, threshold: rules.minimumCount, scope: same ? 'same_project' : 'other_project', populationHash: l.populationHash },
        });
      }
      // within the request: another output's same cell
      const list = seen.get(k) ?? [];
      for (const p of list) {
        if (p.output === o || p.measure !== measure || !sameBase(t.datasetVersions, outputs[p.output]?.datasetVersions)) continue;
        const d = isSmallDifference(c.count, p.count, rules);
        if (d === null) continue;
        const first = outputs[p.output];
        if (first === undefined) continue;
        const firstCol = first.columns[p.column]?.name ?? '';
        flags.push({
          rule: 'request_differencing', severity: 'block', output: t.name, cell: ref,
          other: { projectId: context.projectId ?? '', releaseId: 'this request', outputName: first.name, count: p.count, dimensions: p.key },
          message: {
            en: `${describeKey(c.key)}: ${c.count} here and ${p.count} in ${first.name} (${firstCol}) of this request differ by ${d}, under ${rules.minimumCount}: together they isolate ${d} people`,
            fr: `${describeKey(c.key)} : ${c.count} ici et ${p.count} dans ${first.name} (${firstCol}) de cette demande diffèrent de ${d}, moins de ${rules.minimumCount} : ensemble elles isolent ${d} personnes`,
          },
          details: { value: c.count, other: p.count, difference: d, threshold: rules.minimumCount },
        });
      }
      list.push({ output: o, row: c.row, column: c.column, count: c.count, key: c.key, measure });
      seen.set(k, list);
    }
  });
  return flags;
}
