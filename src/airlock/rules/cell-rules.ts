/**
 * Each disclosure rule as a small pure function of the figures it compares, with the threshold
 * it reads named in DisclosureRules. check.ts applies them to outputs; the tests pin each at
 * its boundary.
 */
import type { DisclosureRules } from './types.ts';

/** Tolerance for shares computed from floating-point sums (a share at the threshold is at it). */
const EPS = 1e-9;

/**
 * Minimum count on an unrounded count: `small` under the threshold (but not zero), `zero` for
 * a structural or sampling zero (reported for review), `ok` at or above the threshold.
 *
 * @example minimumCount(10, rules) // → 'small' with the default 11; minimumCount(11, rules) // → 'ok'
 */
export function minimumCount(value: number, rules: Pick<DisclosureRules, 'minimumCount'>): 'ok' | 'small' | 'zero' {
  if (value === 0) return 'zero';
  return Math.abs(value) < rules.minimumCount ? 'small' : 'ok';
}

/**
 * (n, k) dominance: the n largest contributions exceed k % of the cell's total. At exactly
 * k % the cell passes (ACRO's `nk-rule` flags a share greater than k).
 */
export function dominance(total: number, top1: number, top2: number | null, rules: Pick<DisclosureRules, 'dominance'>): { readonly flagged: boolean; readonly share: number } {
  if (!(total > 0)) return { flagged: false, share: 0 };
  const top = rules.dominance.n >= 2 ? top1 + (top2 ?? 0) : top1;
  const share = (100 * top) / total;
  return { flagged: share > rules.dominance.k + EPS, share };
}

/**
 * p % rule: once the two largest are known to each other, the rest of the total must be at
 * least p % of the largest, or the second contributor estimates the first within p %. Flagged
 * when the remainder is below p % of the largest (ACRO's `p-ratio`); at exactly p % it passes.
 */
export function pRatio(total: number, top1: number, top2: number, rules: Pick<DisclosureRules, 'pRatio'>): { readonly flagged: boolean; readonly remainderShare: number } {
  if (!(top1 > 0)) return { flagged: false, remainderShare: 100 };
  const remainderShare = (100 * (total - top1 - top2)) / top1;
  return { flagged: remainderShare < rules.pRatio - EPS, remainderShare };
}

/** A model's residual degrees of freedom below the minimum (ACRO: under 10). */
export function residualDf(df: number, rules: Pick<DisclosureRules, 'minimumResidualDf'>): boolean {
  return df < rules.minimumResidualDf;
}

/**
 * A survival table's time step: events (when some occur) and people still at risk must each
 * reach their minimum, or a step's drop of the curve counts a handful of people.
 */
export function survivalStep(events: number | null, atRisk: number | null, rules: Pick<DisclosureRules, 'minimumEventsPerStep' | 'minimumCount'>): 'ok' | 'few_events' | 'few_at_risk' {
  if (events !== null && events > 0 && events < rules.minimumEventsPerStep) return 'few_events';
  if (atRisk !== null && atRisk > 0 && atRisk < rules.minimumCount) return 'few_at_risk';
  return 'ok';
}

const compiled = new WeakMap<readonly string[], RegExp[]>();
function regexes(patterns: readonly string[]): RegExp[] {
  let r = compiled.get(patterns);
  if (r === undefined) {
    r = patterns.map((p) => new RegExp(p, 'iu'));
    compiled.set(patterns, r);
  }
  return r;
}

/** A column name of a person or health-professional identifier (pseudonyms included). */
export function isIdentifierColumn(name: string, rules: Pick<DisclosureRules, 'identifierColumns'>): boolean {
  const n = name.trim();
  return regexes(rules.identifierColumns).some((re) => re.test(n));
}

/**
 * A value that looks like a person identifier whatever its column is called: a 64- or 32-hex
 * digest (the SNDS pseudonyms, our re-keyed NUM_ENQ), a NIR (13 or 15 digits starting 1, 2, 7
 * or 8), or a token of 16 characters or more that switches between letters and digits as
 * keyed pseudonyms do (the SNDS BEN_NIR_PSA is 17 such characters).
 */
export function looksLikeIdentifier(value: string): boolean {
  const s = value.trim();
  if (/^[0-9a-f]{64}$/iu.test(s) || /^[0-9a-f]{32}$/iu.test(s) || /^[0-9a-f]{40}$/iu.test(s)) return true;
  if (/^[1278]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}(\d{2})?$/iu.test(s)) return true;
  // keyed pseudonyms (BEN_NIR_PSA is 17 characters) switch between letters and digits many
  // times; a product label with a dosage (PARACETAMOL1000MG) switches once or twice
  if (s.length < 16 || !/^[A-Za-z0-9+/=_-]+$/u.test(s)) return false;
  const switches = s.match(/[A-Za-z](?=\d)|\d(?=[A-Za-z])/gu)?.length ?? 0;
  return switches >= 4;
}

/** The quasi-identifier class of a column name, or null. */
export function quasiIdentifierClass(name: string, rules: Pick<DisclosureRules, 'quasiIdentifiers'>): string | null {
  const n = name.trim();
  for (const q of rules.quasiIdentifiers) if (regexes(q.patterns).some((re) => re.test(n))) return q.id;
  return null;
}

/** The first blocked crossing the columns make, with the columns that make it, or null. */
export function identifierCrossing(columns: readonly string[], rules: Pick<DisclosureRules, 'quasiIdentifiers' | 'identifierCrossings'>): { readonly classes: readonly string[]; readonly columns: readonly string[] } | null {
  const byClass = new Map<string, string>();
  for (const c of columns) {
    const q = quasiIdentifierClass(c, rules);
    if (q !== null && !byClass.has(q)) byClass.set(q, c);
  }
  for (const crossing of rules.identifierCrossings) {
    if (crossing.every((q) => byClass.has(q))) return { classes: crossing, columns: crossing.map((q) => byClass.get(q) ?? '') };
  }
  return null;
}
