/**
 * The volume model of `enclave synth --scope main`: how many rows each table of the main base
 * gets, per person-year or per row of the table it hangs from, calibrated where a figure is
 * published. One file, reviewed as a whole: each figure names its source (names only).
 *
 * France, one year: about 67 million people (INSEE), 1.2 billion DCIR care sheets (about 18 per
 * person-year), 12 to 13 million MCO hospital stays plus about 6 million day sessions, 600 to 670
 * thousand deaths. A figure marked `assumption` has no published per-table count: it is chosen to
 * give every table rows and stated so that a reviewer can change it.
 *
 * @example
 *   expectedVolumes(10_000, 2).find((v) => v.table === 'T_SSRaaB')?.rows; // ≈ 10,000 × 2 × 0.02 × 4
 */

/** Where each figure comes from (publication names only). */
export const SOURCES = {
  insee: 'INSEE, Bilan démographique (population on 1 January, deaths per year)',
  cnamSheets: 'Assurance Maladie, Rapport Charges et produits and chiffres clés (care sheets processed per year)',
  cnamAld: 'Assurance Maladie, effectifs de personnes en affection de longue durée (ALD)',
  atihMco: 'ATIH, Analyse de l’activité hospitalière: MCO (stays and sessions per year)',
  atihSsr: 'ATIH, Analyse de l’activité hospitalière: SSR (stays, days per stay)',
  atihHad: 'ATIH, Analyse de l’activité hospitalière: HAD (stays per year)',
  atihPsy: 'ATIH, Analyse de l’activité hospitalière: psychiatrie (RIM-P stays, ambulatory acts)',
  drees: 'DREES, Les établissements de santé (external consultations, transport)',
  generator: 'Enclave’s hand-tuned generator (src/synth/generate.ts), checked against the figure named with it',
  assumption: 'Enclave assumption: no published per-table count; chosen so that the table has rows',
} as const;
export type Source = keyof typeof SOURCES;

/** France, for printing what the model implies at full scale. */
export const FRANCE_PEOPLE = 67_000_000;

/**
 * `person-year`: rows per person and year of the window; `person`: rows per person (referentials);
 * `parent`: rows per row of `parent` (a satellite: the DCIR line, the PMSI stay or week).
 */
export interface Volume {
  readonly table: string;
  readonly per: 'person' | 'person-year' | 'parent';
  readonly parent?: string;
  readonly mean: number;
  readonly source: Source;
}

/** Stays of the PMSI fields that `--scope main` generates from the catalogue (the MCO stay is hand-tuned). */
export const ROOTS: readonly Volume[] = [
  // 1.3 million SSR stays a year / 67 M.
  { table: 'T_SSRaaB', per: 'person-year', mean: 0.02, source: 'atihSsr' },
  // About 200 thousand HAD stays a year / 67 M.
  { table: 'T_HADaaB', per: 'person-year', mean: 0.003, source: 'atihHad' },
  // About 550 thousand full- and part-time psychiatric stays a year / 67 M.
  { table: 'T_RIPaaFB', per: 'person-year', mean: 0.008, source: 'atihPsy' },
  // About 20 million ambulatory psychiatric acts a year / 67 M.
  { table: 'T_RIPaaR3A', per: 'person-year', mean: 0.3, source: 'atihPsy' },
  // External consultations in public hospitals (ACE), of the order of 60 million a year.
  { table: 'T_MCOaaFASTC', per: 'person-year', mean: 0.9, source: 'drees' },
  { table: 'T_SSRaaFASTC', per: 'person-year', mean: 0.05, source: 'assumption' },
  // One identity line per person; about 12 million people in ALD, 1.2 conditions each.
  { table: 'IR_IBA_R', per: 'person', mean: 1, source: 'insee' },
  { table: 'IR_IMB_R', per: 'person', mean: 0.21, source: 'cnamAld' },
];

/** The hand-tuned tables, with the published figure each is checked against. */
export const HAND_TUNED: readonly (Volume & { readonly unit: string; readonly rowsPerPersonYear: number })[] = [
  // 1.2 billion care sheets / 67 M ≈ 18 per person-year; a sheet (décompte, DCT_ORD_NUM) has 1.4 lines on average.
  { table: 'ER_PRS_F', per: 'person-year', mean: 17.9, source: 'cnamSheets', unit: 'care sheets (distinct DCT_ORD_NUM)', rowsPerPersonYear: 25 },
  // 12.6 million stays and 6 million sessions a year / 67 M.
  { table: 'T_MCOaaB', per: 'person-year', mean: 0.28, source: 'atihMco', unit: 'stays and sessions', rowsPerPersonYear: 0.28 },
  // About 640 thousand deaths a year / 67 M (INSEE, Bilan démographique). The generator draws ages and sexes from the 2020
  // pyramid and deaths from the 2017-2019 life table (src/synth/population.ts): 0.0095 in the
  // first year, rising slowly as the closed population ages (0.0101 over five years).
  { table: 'KI_CCI_R', per: 'person-year', mean: 0.0095, source: 'insee', unit: 'deaths', rowsPerPersonYear: 0.0095 },
  // What the hand-tuned generator gives (measured on 2,000 people over two years), for the printed model.
  { table: 'IR_BEN_R', per: 'person', mean: 1.1, source: 'generator', unit: 'pseudonyms (BEN_NIR_PSA, BEN_RNG_GEM)', rowsPerPersonYear: 1.1 },
  { table: 'ER_PHA_F', per: 'person-year', mean: 12.8, source: 'generator', unit: 'dispensed drug lines', rowsPerPersonYear: 12.8 },
  { table: 'ER_BIO_F', per: 'person-year', mean: 4.5, source: 'generator', unit: 'lab test lines', rowsPerPersonYear: 4.5 },
  { table: 'ER_CAM_F', per: 'person-year', mean: 0.93, source: 'generator', unit: 'CCAM acts in town', rowsPerPersonYear: 0.93 },
  { table: 'T_MCOaaC', per: 'person-year', mean: 0.28, source: 'generator', unit: 'chaining lines (one per stay)', rowsPerPersonYear: 0.28 },
  { table: 'T_MCOaaD', per: 'person-year', mean: 0.36, source: 'generator', unit: 'associated diagnoses', rowsPerPersonYear: 0.36 },
  { table: 'T_MCOaaA', per: 'person-year', mean: 0.41, source: 'generator', unit: 'CCAM acts in hospital', rowsPerPersonYear: 0.41 },
  // Two lines per certificate on average, one more in three cases (part II).
  { table: 'KI_ECD_R', per: 'person-year', mean: 0.022, source: 'generator', unit: 'causes of death lines', rowsPerPersonYear: 0.022 },
];

/** Rows per DCIR line (ER_PRS_F row) of each DCIR satellite that the catalogue describes and the hand-tuned generator does not write. */
const DCIR_SATELLITES: Readonly<Record<string, number>> = {
  ER_ARO_F: 0.05, ER_CPT_F: 0.02, ER_DCT_F: 0.05, ER_DTR_F: 0.02, ER_ETE_F: 0.04, ER_INV_F: 0.01,
  ER_LOT_F: 0.01, ER_RAT_F: 0.01, ER_TIP_F: 0.03, ER_TRS_F: 0.01, ER_UCD_F: 0.005, ER_ANO_F: 0.005,
};

/**
 * Rows per parent row of the PMSI satellites (the table each hangs from is read from the
 * catalogue's foreign keys). Tables not listed get `PMSI_DEFAULT`. One chaining line (C) and one
 * valuation line per stay; diagnoses and acts as the hand-tuned MCO tables give them.
 */
const PMSI_SATELLITES: Readonly<Record<string, number>> = {
  T_SSRaaC: 1, T_HADaaC: 1, T_RIPaaC: 1, T_MCOaaCSTC: 1, T_SSRaaCSTC: 1, T_MCOaaVALOACE: 1,
  T_MCOaaSTC: 1, T_SSRaaSTC: 1, T_HADaaSTC: 1, T_RIPaaSTC: 1, T_MCOaaVALO: 1,
  T_MCOaaUM: 1.2, T_MCOaaFA: 1, T_MCOaaFB: 1, T_MCOaaFBSTC: 1, T_SSRaaFA: 1, T_SSRaaFB: 1, T_SSRaaFBSTC: 1,
  T_HADaaFA: 1, T_HADaaFB: 1, T_RIPaaFA: 1, T_RIPaaRSA: 1.3,
  T_SSRaaD: 1.5, T_HADaaD: 1.5, T_SSRaaCSARR: 2, T_SSRaaCCAM: 0.3, T_SSRaaA: 0.5, T_HADaaA: 0.5, T_RIPaaR3AD: 1,
  T_MCOaaMED: 0.15, T_MCOaaDMIP: 0.05, T_MCOaaIVG: 0.01, T_MCOaaDIALP: 0.01,
};
export const PMSI_DEFAULT = 0.1;

/** SSR stays are coded weekly (one B row per week, RHS_NUM): 28 days per stay on average. */
export const SSR_WEEKS_PER_STAY = 4;

/** Rows per parent row of a satellite; undefined when the table is not a modelled satellite. */
export function satelliteMean(table: string): { mean: number; source: Source } {
  const d = DCIR_SATELLITES[table];
  if (d !== undefined) return { mean: d, source: 'assumption' };
  const p = PMSI_SATELLITES[table];
  return { mean: p ?? PMSI_DEFAULT, source: 'assumption' };
}

export function isModelledDcirSatellite(table: string): boolean {
  return DCIR_SATELLITES[table] !== undefined;
}

export interface ExpectedVolume {
  readonly table: string;
  readonly parent?: string;
  readonly mean: number;
  readonly per: Volume['per'];
  /** Rows per person-year the model implies (satellites: through their parent). */
  readonly perPersonYear: number;
  readonly rows: number;
  readonly source: string;
}

/** The parent name of SSR satellites keyed by the stay (ETA_NUM, RHA_NUM) rather than the week. */
export const SSR_STAY = 'T_SSRaaB (stay)';

/**
 * What the model implies for `people` people over `years` years, table by table, given each
 * satellite's parent (`parents`, read from the catalogue by the generator).
 */
export function expectedVolumes(people: number, years: number, parents: ReadonlyMap<string, string> = new Map()): ExpectedVolume[] {
  const perPY = new Map<string, number>();
  const out: ExpectedVolume[] = [];
  const add = (table: string, per: Volume['per'], mean: number, ppy: number, source: Source, parent?: string): void => {
    perPY.set(table, ppy);
    const rows = per === 'person' ? people * ppy : people * years * ppy;
    out.push({ table, ...(parent === undefined ? {} : { parent }), mean, per, perPersonYear: ppy, rows: Math.round(rows), source: SOURCES[source] });
  };
  for (const h of HAND_TUNED) add(h.table, h.per, h.mean, h.rowsPerPersonYear, h.source);
  for (const r of ROOTS) add(r.table, r.per, r.mean, r.per === 'person' ? r.mean : r.table === 'T_SSRaaB' ? r.mean * SSR_WEEKS_PER_STAY : r.mean, r.source);
  // Satellites of an SSR stay (not of one of its weeks) hang from the stay.
  perPY.set(SSR_STAY, ROOTS.find((r) => r.table === 'T_SSRaaB')?.mean ?? 0);
  const pending = [...parents].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  for (let pass = 0; pass < 4 && pending.length > 0; pass++) {
    for (let i = 0; i < pending.length; i++) {
      const [table, parent] = pending[i]!;
      const p = perPY.get(parent);
      if (p === undefined) continue;
      const { mean, source } = satelliteMean(table);
      add(table, 'parent', mean, p * mean, source, parent);
      pending.splice(i--, 1);
    }
  }
  return out;
}
