/**
 * What a catalogue search looks for, from what SNDS users type: each word of the query becomes
 * a term that matches if any of its alternatives appears (accents and case ignored), and every
 * term must match. Alternatives come from a light plural stemming (médicaments → médicament,
 * hôpitaux → hôpital) and a small table of the field's words in French and English (pharmacy,
 * dispensing, délivrance → the pharmacy table and CIP codes; hospitalisation → PMSI; médecin →
 * prescriber and performer columns). Words that look like nomenclature codes (CIM-10 `E11`,
 * ATC `A10BA02`, CIP7/CIP13) are also looked up among the codes.
 */

/** Lower-case, accents removed: what search matches against, on both back ends alike. */
export function searchText(...parts: readonly (string | null | undefined)[]): string {
  return parts
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .join(' ')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase();
}

export interface SearchTerm {
  /** The word as typed, normalised (lower case, no accents). */
  readonly word: string;
  /** Substrings any of which satisfies the term (the word or its stem first). */
  readonly alternatives: readonly string[];
}

export interface ExpandedQuery {
  readonly terms: readonly SearchTerm[];
  /** Words shaped like nomenclature codes, upper case, to look up among the codes. */
  readonly codes: readonly string[];
}

/** Words that carry no meaning in a catalogue search (dropped unless nothing else is left). */
const STOPWORDS = new Set(['de', 'des', 'du', 'la', 'le', 'les', 'l', 'd', 'un', 'une', 'et', 'en', 'a', 'au', 'aux', 'par', 'pour', 'the', 'of', 'and', 'an', 'in', 'for', 'by', 'to']);

/**
 * The field's vocabulary, keyed by stem (normalised, singular): each key's alternatives are
 * substrings of the catalogue's names, titles and descriptions (mostly French, as the SNDS
 * documentation is). Kept small and explicit: each line is a word people type.
 */
const SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  // drugs and their dispensing
  medicament: ['medicament', 'pharma', 'cip', 'atc'],
  pharmacie: ['pharma', 'medicament', 'cip'],
  pharmacy: ['pharma', 'medicament', 'cip'],
  drug: ['medicament', 'pharma', 'cip', 'atc'],
  medicine: ['medicament', 'pharma', 'cip'],
  dispensation: ['dispens', 'delivr', 'pharma', 'medicament'],
  dispensing: ['dispens', 'delivr', 'pharma', 'medicament'],
  delivrance: ['delivr', 'dispens', 'pharma', 'medicament'],
  // hospital stays
  hospitalisation: ['hospital', 'pmsi', 'sejour'],
  hospitalization: ['hospital', 'pmsi', 'sejour'],
  hospital: ['hospital', 'pmsi', 'sejour'],
  hopital: ['hospital', 'pmsi', 'sejour'],
  stay: ['sejour', 'pmsi'],
  sejour: ['sejour', 'pmsi'],
  // doctors: who prescribes and who performs
  medecin: ['medecin', 'prescri', 'execut', 'professionnel de sante'],
  doctor: ['medecin', 'prescri', 'execut', 'professionnel de sante'],
  physician: ['medecin', 'prescri', 'execut', 'professionnel de sante'],
  prescriber: ['prescri'],
  prescripteur: ['prescri'],
  performer: ['execut'],
  // people, death, diagnoses, care, labs
  patient: ['beneficiaire', 'patient', 'pseudonym'],
  beneficiary: ['beneficiaire'],
  death: ['deces'],
  deces: ['deces'],
  diagnosis: ['diagnostic', 'cim'],
  diagnostic: ['diagnostic', 'cim'],
  disease: ['diagnostic', 'cim', 'maladie'],
  care: ['soin'],
  soin: ['soin'],
  laboratory: ['biolog', 'nabm'],
  lab: ['biolog', 'nabm'],
  biologie: ['biolog', 'nabm'],
  procedure: ['acte', 'ccam'],
  act: ['acte', 'ccam'],
  birth: ['naissance'],
  sex: ['sexe'],
  gender: ['sexe'],
  date: ['date', 'dtd'],
};

/** CIM-10 (E11, E119), ATC (A10, A10BA02) and CIP (7 or 13 digits) shapes. */
const CODE_SHAPE = /^(?:[a-z]\d{2}[a-z0-9]{0,5}|\d{7}|\d{13})$/;
const ATC_SHAPE = /^[a-z]\d{2}[a-z]{1,2}(?:\d{2})?$/;

/** The singular stem of a French or English word (a light, predictable rule, not a stemmer). */
export function stem(word: string): string {
  if (word.length >= 6 && word.endsWith('aux')) return `${word.slice(0, -3)}al`; // hopitaux → hopital
  if (word.length >= 5 && word.endsWith('ies')) return `${word.slice(0, -3)}y`; // pharmacies (en) → pharmacy
  if (word.length >= 4 && (word.endsWith('s') || word.endsWith('x')) && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/**
 * @example
 *   expandQuery('médicaments délivrés').terms[0].alternatives // ['medicament', 'pharma', 'cip', 'atc']
 */
export function expandQuery(query: string): ExpandedQuery {
  const words = searchText(query).split(/[\s,;]+/).filter((w) => w !== '').slice(0, 8);
  const meaningful = words.filter((w) => !STOPWORDS.has(w));
  const kept = meaningful.length > 0 ? meaningful : words;
  const terms = kept.map((word): SearchTerm => {
    const s = stem(word);
    // the stem is a prefix of the word (so it matches both) except for -aux and -ies plurals
    const alternatives = new Set<string>(word.startsWith(s) ? [s] : [s, word]);
    for (const a of SYNONYMS[s] ?? SYNONYMS[word] ?? []) alternatives.add(a);
    if (ATC_SHAPE.test(word)) for (const a of ['atc', 'pharma', 'cip']) alternatives.add(a);
    return { word, alternatives: [...alternatives] };
  });
  return { terms, codes: kept.filter((w) => CODE_SHAPE.test(w)).map((w) => w.toUpperCase()) };
}
