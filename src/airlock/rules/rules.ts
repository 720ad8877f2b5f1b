/**
 * The named thresholds of the disclosure rules, their defaults and how a permit or a rules file
 * sets them. Each default is documented with its source in docs/airlock-rules.md.
 */
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Sensitivity } from '../../catalog/index.ts';
import type { DisclosureRules } from './types.ts';

/** CNAM and CASD practice: no released cell counts fewer than 11 people (unrounded). */
export const MINIMUM_COUNT = 11;
/** ACRO/SACRO `nk-rule`: the 2 largest contributions must not exceed 90 % of a cell's total. */
export const DOMINANCE = { n: 2, k: 90 } as const;
/** ACRO/SACRO `p-ratio`: what is left after the two largest must be at least 10 % of the largest. */
export const P_RATIO = 10;
/** ACRO/SACRO: a model needs at least 10 residual degrees of freedom. */
export const MINIMUM_RESIDUAL_DF = 10;
/** Each time step of a survival table counts at least as many events as a cell counts people. */
export const MINIMUM_EVENTS_PER_STEP = MINIMUM_COUNT;

/**
 * Person and health-professional identifiers, pseudonyms included (the `pseudonym` and
 * `direct_identifier` columns of schemas/sensitivity/snds.json, and their usual spellings in
 * research code). Anchored, matched case-insensitively on the whole column name.
 */
export const IDENTIFIER_COLUMNS: readonly string[] = [
  '^(BEN_NIR_PSA|BEN_NIR_ANO|BEN_IDT_ANO|BEN_NIR_IDT|BEN_NIR|NIR|NIR_ANO_17|NIR_ANO_MAM|ASS_NIR_ANO|BEN_RAT_ANO|DCD_IDT_ENC|IPP_IRR_CRY|IPP_IDV_NUM|NUM_ENQ|ID_CARTO|TRS_ACP_NOMC?|TRS_CDR_NOMC?|DAT_HOS)$',
  // health professionals: executing and prescribing practitioner numbers, RPPS, ADELI
  '^(PFS_EXE_NUM|PFS_PRE_NUM|PRS_MTT_NUM|PSE_ACT_NUM|PSP_ACT_NUM|PFS_PFS_NUM|EXE_PS_NUM|PRE_PS_NUM)$',
  '^(rpps|num_rpps|adeli|num_adeli|finess_ps)$',
  '^(patient|person|personne|beneficiary|beneficiaire|benef|individu|subject|sujet)_?(id|ident|identifier|num|pseudo|pseudonym)$',
  '^(id|num|pseudo|pseudonym)_?(patient|person|personne|beneficiary|beneficiaire|benef|individu|subject|sujet)$',
  '^(pseudonym|pseudonyme|pseudo_id|nir_pseudo)$',
];

/** Potential-identifier classes (the `potential_identifier` columns of the sensitivity mapping, by kind). */
export const QUASI_IDENTIFIERS: DisclosureRules['quasiIdentifiers'] = [
  { id: 'birth_month', patterns: ['^(BEN_NAI_MOI|BEN_NAI_ANM)$', '^(mois|mois_de)_naissance$', '^(birth_month|month_of_birth|birth_year_month|mob|yob_mob|annee_mois_naissance)$'] },
  { id: 'birth_date', patterns: ['^(date_naissance|date_de_naissance|birth_date|date_of_birth|dob|ben_nai_dte)$'] },
  { id: 'commune', patterns: ['^(BEN_RES_COM|DCD_COM_COD|PFS_EXC_COM|PFS_LIB_COM|PFS_COD_POS)$', '^(commune|code_commune|cod_com|com|insee_com|code_insee|code_postal|postcode|post_code|zip|zip_code|iris|code_iris)$'] },
  { id: 'exact_date', patterns: ['^(EXE_SOI_DTD|EXE_SOI_DTF|ENT_DAT|SOR_DAT|BEN_DCD_DTE|BEN_DCD_DTD|NUM_DAT_AT)$', '^(date|day|jour|date_soins|date_deces|death_date|date_of_death|admission_date|discharge_date|date_entree|date_sortie)$'] },
  { id: 'death_month', patterns: ['^(BEN_DCD_AME)$', '^(mois_deces|death_month|month_of_death)$'] },
];

/** Crossings blocked whatever the counts: each is small enough to single out one person. */
export const IDENTIFIER_CROSSINGS: DisclosureRules['identifierCrossings'] = [
  ['birth_month', 'commune'],
  ['birth_date', 'commune'],
  ['exact_date', 'commune'],
  ['death_month', 'commune'],
  ['birth_date', 'exact_date'],
  ['birth_month', 'exact_date'],
];

/** The platform's defaults, and its floor: a permit or a rules file may be stricter, never looser. */
export const DEFAULT_RULES: DisclosureRules = Object.freeze({
  minimumCount: MINIMUM_COUNT,
  dominance: DOMINANCE,
  pRatio: P_RATIO,
  minimumResidualDf: MINIMUM_RESIDUAL_DF,
  minimumEventsPerStep: MINIMUM_EVENTS_PER_STEP,
  roundingBase: null,
  identifierColumns: IDENTIFIER_COLUMNS,
  quasiIdentifiers: QUASI_IDENTIFIERS,
  identifierCrossings: IDENTIFIER_CROSSINGS,
});

const regex = z.string().min(1).refine((s) => {
  try {
    new RegExp(s, 'iu');
    return true;
  } catch {
    return false;
  }
}, { message: 'not a valid regular expression' });

/** A rules file: every field optional; missing fields take the platform's defaults. */
export const DisclosureRulesSchema = z.strictObject({
  $comment: z.string().optional(),
  minimumCount: z.int().min(1).max(1000).optional(),
  dominance: z.strictObject({ n: z.int().min(1).max(2), k: z.number().gt(0).lt(100) }).optional(),
  pRatio: z.number().gt(0).lt(100).optional(),
  minimumResidualDf: z.int().min(0).max(10_000).optional(),
  minimumEventsPerStep: z.int().min(0).max(10_000).optional(),
  roundingBase: z.int().min(2).max(1000).nullable().optional(),
  identifierColumns: z.array(regex).optional(),
  quasiIdentifiers: z.array(z.strictObject({ id: z.string().min(1), patterns: z.array(regex).min(1) })).optional(),
  identifierCrossings: z.array(z.array(z.string().min(1)).min(2)).optional(),
});

/** The `disclosure` terms of a permit (schemas/permit/permit.schema.json). */
const PermitTermsSchema = z.object({
  minimumCellCount: z.int().min(1).max(1000),
  roundingBase: z.int().min(2).max(1000).optional(),
  dominance: z.object({ n: z.int().min(1).max(2), k: z.number().gt(0).lt(100) }).optional(),
  checkersRequired: z.int().optional(),
});

function invalid(source: string, path: string, why: string, hint: string): AppError {
  return new AppError('invalid', `${source}${path === '' ? '' : ` at ${path}`}: ${why}`, { hint, details: { source, path } });
}

const RULES_HINT = 'a rules file is a JSON object such as {"minimumCount": 11, "dominance": {"n": 2, "k": 90}, "pRatio": 10, "minimumResidualDf": 10}, or a permit document with its "disclosure" terms';

/** Keeps each threshold at least as strict as the floor, naming the first one that is not. */
function atLeastAsStrict(r: DisclosureRules, floor: DisclosureRules, source: string): DisclosureRules {
  const looser: [string, boolean, string][] = [
    ['minimumCount', r.minimumCount < floor.minimumCount, `${r.minimumCount} is below the platform's ${floor.minimumCount}`],
    ['dominance.k', r.dominance.k > floor.dominance.k || r.dominance.n < floor.dominance.n, `(n=${r.dominance.n}, k=${r.dominance.k}) is looser than the platform's (n=${floor.dominance.n}, k=${floor.dominance.k})`],
    ['pRatio', r.pRatio < floor.pRatio, `${r.pRatio} is below the platform's ${floor.pRatio}`],
    ['minimumResidualDf', r.minimumResidualDf < floor.minimumResidualDf, `${r.minimumResidualDf} is below the platform's ${floor.minimumResidualDf}`],
    ['minimumEventsPerStep', r.minimumEventsPerStep < floor.minimumEventsPerStep, `${r.minimumEventsPerStep} is below the platform's ${floor.minimumEventsPerStep}`],
  ];
  for (const [path, bad, why] of looser) {
    if (bad) throw invalid(source, path, why, 'a permit or a rules file may make a threshold stricter, never looser than the platform\'s');
  }
  return Object.freeze(r);
}

/**
 * Rules from a permit document (its `disclosure` terms), the terms alone, or a rules file.
 * The result is never looser than `floor` (the platform's defaults unless given).
 *
 * @example
 *   rulesFrom({ disclosure: { minimumCellCount: 20 } }).minimumCount   // → 20
 *   rulesFrom({ minimumCount: 5 })                                      // → AppError: below the platform's 11
 */
export function rulesFrom(permitTermsOrJson: unknown, source = 'rules', floor: DisclosureRules = DEFAULT_RULES): DisclosureRules {
  if (typeof permitTermsOrJson !== 'object' || permitTermsOrJson === null || Array.isArray(permitTermsOrJson)) {
    throw invalid(source, '', 'expected a JSON object', RULES_HINT);
  }
  const o = permitTermsOrJson as Record<string, unknown>;
  const terms = 'disclosure' in o ? o['disclosure'] : 'minimumCellCount' in o ? o : undefined;
  if (terms !== undefined) {
    const at = 'disclosure' in o ? 'disclosure' : '';
    const r = PermitTermsSchema.safeParse(terms);
    if (!r.success) throw fromZod(r.error, source, at);
    const t = r.data;
    return atLeastAsStrict({
      ...floor,
      minimumCount: t.minimumCellCount,
      minimumEventsPerStep: Math.max(floor.minimumEventsPerStep, t.minimumCellCount),
      ...(t.dominance === undefined ? {} : { dominance: t.dominance }),
      ...(t.roundingBase === undefined ? {} : { roundingBase: t.roundingBase }),
    }, floor, source);
  }
  const r = DisclosureRulesSchema.safeParse(o);
  if (!r.success) throw fromZod(r.error, source, '');
  const { $comment: _comment, ...given } = r.data;
  const merged: DisclosureRules = {
    ...floor,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
  };
  return atLeastAsStrict(merged, floor, source);
}

function fromZod(e: z.ZodError, source: string, prefix: string): AppError {
  const issue = e.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((p) => p !== '').join('.');
  return invalid(source, path === '' ? '$' : path, issue?.message ?? 'invalid', RULES_HINT);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');

/**
 * The rules with the catalogue's own identifier columns added (a dataset other than the SNDS,
 * or a column a reviewer classified since): every `pseudonym` or `direct_identifier` column
 * is blocked by name, like the built-in list.
 *
 * @example withCatalogIdentifiers(rules, [{ name: 'PATIENT_KEY', sensitivity: 'pseudonym' }])
 */
export function withCatalogIdentifiers(rules: DisclosureRules, columns: readonly { readonly name: string; readonly sensitivity: Sensitivity }[]): DisclosureRules {
  const names = [...new Set(columns.filter((c) => c.sensitivity === 'pseudonym' || c.sensitivity === 'direct_identifier').map((c) => c.name.toUpperCase()))].sort();
  if (names.length === 0) return rules;
  return Object.freeze({ ...rules, identifierColumns: [...rules.identifierColumns, `^(${names.map(escape).join('|')})$`] });
}
