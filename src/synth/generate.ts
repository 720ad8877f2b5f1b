/**
 * The synthetic SNDS generator: people (IR_BEN_R), their DCIR claims (ER_PRS_F and the
 * ER_PHA_F / ER_BIO_F / ER_CAM_F satellites joined on the nine DCIR key columns), hospital
 * stays (PMSI MCO B/C/D/A, one file per exit year) and causes of death (KI_CCI_R, KI_ECD_R).
 *
 * People are generated one after another from one seeded stream; each row is built as a
 * `;`-joined string straight into its file's buffer, with no per-row objects.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { Calendar, dayOf } from './calendar.ts';
import { CsvSink } from './csv-sink.ts';
import { DefectInjector, type DefectRecord } from './defects.ts';
import { nirControlKey } from './nir.ts';
import { deathProbability, drawPerson } from './population.ts';
import { Rng, Weighted, id17 } from './prng.ts';
import { MainBase, catalogueTableOf, codeListGaps, type RowMaker } from './main-base.ts';
import { profileSpec, synthProfile } from './profile.ts';
import { NomenclatureSet, catalogueSchema, tableSchema, type Nomenclature, type TableSchema } from './schema.ts';

export interface SynthOptions {
  /** Number of people. */
  readonly people: number;
  readonly startYear: number;
  readonly endYear: number;
  /** Any string or number; same options ⇒ byte-identical files. */
  readonly seed: string | number;
  /** Output directory (created). */
  readonly out: string;
  /** Share of rows (0–1) that receive exactly one schema defect; 0 by default. */
  readonly defects?: number;
  /** Add raw NIRs (BEN_NIR_IDT) to IR_BEN_R and KI_CCI_R, as an identified source would. */
  readonly identified?: boolean;
  /** Operator nomenclature directory, searched recursively by file name. */
  readonly nomenclatures?: string;
  /** Also write DIR/parquet/*.parquet (default true). */
  readonly parquet?: boolean;
  /**
   * Break the relation a hub meets broken in the real base: the causes-of-death lines
   * (KI_ECD_R) carry an encrypted death id (DCD_IDT_ENC) that matches no certificate (KI_CCI_R).
   * Rows stay valid, and every other key still joins.
   */
  readonly brokenRelations?: boolean;
  /**
   * Producer convention of the CSV files (`SYNTH_PROFILES`: iso, cnam, hdh, dmy, community, sas),
   * possibly combined with modifiers (`sas+decimal-comma+gzip`, see `PROFILE_MODIFIERS`); default iso.
   */
  readonly profile?: string;
  /** gzip every file (as `+gzip`). */
  readonly gzip?: boolean;
  /** Numbers with a decimal comma (as `+decimal-comma`). */
  readonly decimalComma?: boolean;
  /** DCIR files: one per table, per year or per month of FLX_DIS_DTD (as `+dcir-monthly`). */
  readonly dcirFiles?: 'single' | 'yearly' | 'monthly';
  /**
   * `sample` (default): the eleven hand-tuned tables, what `npm start` ingests. `main`: the main
   * base the catalogue describes (src/synth/main-base.ts), at the volumes of src/synth/volumes.ts.
   */
  readonly scope?: 'sample' | 'main';
}

export interface SynthProgress {
  readonly peopleDone: number;
  readonly people: number;
  readonly rowsWritten: number;
  readonly phase: 'csv' | 'parquet' | 'done';
}

export interface SynthStats {
  readonly seed: string;
  readonly people: number;
  readonly years: readonly number[];
  readonly identified: boolean;
  readonly defectRate: number;
  readonly defects: number;
  /** Rows per table (PMSI tables summed over their yearly files). */
  readonly rows: Record<string, number>;
  /** Rows per table per partition year ("none" for unpartitioned tables). */
  readonly rowsByYear: Record<string, Record<string, number>>;
  /** Rows per delivered file. */
  readonly files: Record<string, number>;
  /** Catalogue relations broken on purpose (`brokenRelations`): every row of the referencing table is an orphan. */
  readonly brokenRelations: readonly string[];
  /** The producer convention the files are written in, and the ingestion profile that reads them (`profile.json`). */
  readonly profile?: string;
  /** Present for `--scope main`; the satellites' parents in the volume model. */
  readonly scope?: 'main';
  readonly parents?: Record<string, string>;
  /**
   * `--scope main`: columns left blank because no code of their list fits them (`TABLE.COLUMN: why`);
   * absent when every list has codes that fit, as with the product's own lists.
   */
  readonly codeListGaps?: readonly string[];
  readonly nomenclatures: Record<string, string>;
}

export const MAX_PEOPLE = 50_000_000;

/** The relation `brokenRelations` breaks: the causes of death to their certificate, on its encrypted id. */
export const DEATH_ID_RELATION = 'KI_ECD_R(DCD_IDT_ENC) → KI_CCI_R(DCD_IDT_ENC)';

/** A 64-character upper-case hexadecimal id (the public schema's length of DCD_IDT_ENC), keyed like id17. */
function hex64(key: string, parts: string): string {
  return createHash('sha256').update(`${key}\u0000${parts}`).digest('hex').toUpperCase();
}

function seasonal(doy: number): number {
  // Peak mid-January, trough mid-July.
  return Math.cos((2 * Math.PI * (doy - 15)) / 365);
}

interface Drug {
  readonly cip13: string;
  readonly cip7: string;
  readonly price: number;
  readonly rate: number;
  readonly use: string;
  readonly atc: string;
}

interface Code {
  readonly code: string;
  readonly row: Readonly<Record<string, string>>;
}

/**
 * Codes the generator may draw for one nomenclature: the product's weighted list, restricted
 * to the operator's list when one is given; when none of ours is there, the operator's list
 * uniformly (then SYN_* attributes are absent and defaults apply).
 */
function pool(noms: NomenclatureSet, name: string, weightCol = 'SYN_WGT', keep: (r: Readonly<Record<string, string>>) => boolean = () => true): Weighted<Code> {
  const active = noms.get(name);
  const builtin: Nomenclature | undefined = noms.builtin(name);
  const activeCodes = active.codes();
  let rows = (builtin?.rows ?? []).filter((r) => activeCodes.has(r[builtin!.columns[0] as string] ?? '') && keep(r));
  let weights = rows.map((r) => Number(r[weightCol] ?? '1'));
  const first = (builtin ?? active).columns[0] as string;
  if (rows.length === 0 || weights.every((w) => !(w > 0))) {
    rows = active.rows.filter(keep);
    if (rows.length === 0) rows = [...active.rows];
    weights = rows.map(() => 1);
    return new Weighted(rows.map((r) => ({ code: r[active.columns[0] as string] ?? '', row: r })), weights);
  }
  return new Weighted(rows.map((r) => ({ code: r[first] ?? '', row: r })), weights);
}

function fmt2(x: number): string {
  return (Math.round(x * 100) / 100).toFixed(2);
}

/** ICD-10 codes that only make sense for some ages or sexes. */
function icdFits(code: string, age: number, sex: number): boolean {
  const c = code[0];
  if (c === 'O') return sex === 2 && age >= 15 && age <= 49;
  if (c === 'P' || code.startsWith('Z38')) return age === 0;
  if (/^(C61|N40)/.test(code)) return sex === 1;
  if (/^(C5[0-8]|N8|N9)/.test(code)) return sex === 2;
  if (/^(J21)/.test(code)) return age < 3;
  if (/^(G30|F03|R54|M81|H25|H35)/.test(code)) return age >= 55;
  if (/^(I|C|E11|N18|K70|J44|Z49|Z51|F01)/.test(code)) return age >= 25;
  return true;
}

const CMD_OF: Record<string, string> = {
  A: '18', B: '18', C: '17', D: '16', E: '10', F: '19', G: '01', H: '02', I: '05', J: '04', K: '06',
  L: '09', M: '08', N: '11', O: '14', P: '15', R: '23', S: '21', T: '21', U: '04', Z: '23',
};

export async function generate(opts: SynthOptions, onProgress?: (p: SynthProgress) => void): Promise<SynthStats> {
  const { people, startYear, endYear } = opts;
  if (!Number.isInteger(people) || people < 1 || people > MAX_PEOPLE) {
    throw new AppError('invalid', `--people must be an integer between 1 and ${MAX_PEOPLE}`, { hint: 'e.g. --people 100000' });
  }
  if (!Number.isInteger(startYear) || !Number.isInteger(endYear) || startYear < 2006 || endYear > 2099 || endYear < startYear) {
    throw new AppError('invalid', `--years must be a range like 2019-2023 between 2006 and 2099`, { hint: 'e.g. --years 2019-2023' });
  }
  const defectRate = opts.defects ?? 0;
  if (!(defectRate >= 0 && defectRate <= 0.5)) {
    throw new AppError('invalid', '--defects must be a rate between 0 and 0.5', { hint: 'e.g. --defects 0.001 for one bad row in a thousand' });
  }
  const identified = opts.identified === true;
  const seed = String(opts.seed);
  const rng = new Rng(`enclave-synth:${seed}`);
  // Defects draw from their own stream so that the good data does not depend on --defects.
  const drng = new Rng(`enclave-synth-defects:${seed}`);
  const idKey = `enclave-synth-id:${seed}`;
  const noms = new NomenclatureSet(opts.nomenclatures);
  const cal = new Calendar(startYear - 1, endYear + 1);
  const windowStart = dayOf(startYear, 1, 1);
  const windowEnd = dayOf(endYear, 12, 31);

  // ---- code pools -------------------------------------------------------------------------
  const dptPool = pool(noms, 'IR_DPT_V', 'SYN_WGT', (r) => /^(0[0-9]{2}|0[0-9][AB]|97[1-6])$/.test(r['GEO_DPT_COD'] ?? '') && r['GEO_DPT_COD'] !== '000' && r['GEO_DPT_COD'] !== '099' && r['GEO_DPT_COD'] !== '020');
  const speciality = pool(noms, 'IR_SPE_V');
  const bioPool = pool(noms, 'IR_BIO_R');
  const bioWinter = pool(noms, 'IR_BIO_R', 'SYN_ANN');
  const ccamCity = pool(noms, 'IR_CCAM_V63');
  const ccamHosp = pool(noms, 'IR_CCAM_V63', 'SYN_HOSP');
  const icdPool = pool(noms, 'IR_CIM_V');
  const deathPool = pool(noms, 'IR_CIM_V', 'SYN_DCD');
  const spe = (code: string): string => (noms.get('IR_SPE_V').codes().has(code) ? code : '0');
  const natOk = noms.get('IR_NAT_V').codes();
  const nat = (code: string): string => {
    if (!natOk.has(code)) throw new AppError('invalid', `nature of prestation ${code} is missing from IR_NAT_V`, { hint: 'the IR_NAT_V nomenclature given must hold the usual DCIR natures' });
    return code;
  };
  const phaActive = noms.get('IR_PHA_R');
  const phaBuiltin = noms.builtin('IR_PHA_R');
  const phaCodes = phaActive.codes();
  const drugs: Drug[] = (phaBuiltin?.rows.filter((r) => phaCodes.has(r['PHA_CIP_C13'] ?? '')) ?? []).map((r) => ({
    cip13: r['PHA_CIP_C13'] ?? '', cip7: r['PHA_PRS_IDE'] ?? '', price: Number(r['PHA_PRI_UNI'] ?? '3'),
    rate: Number(r['PHA_TAU_COD'] ?? '65'), use: r['SYN_USE'] ?? 'acute', atc: r['PHA_ATC_C07'] ?? '',
  }));
  if (drugs.length === 0) {
    for (const r of phaActive.rows) {
      if (/^[0-9]{13}$/.test(r['PHA_CIP_C13'] ?? '') && /^[0-9]{7}$/.test(r['PHA_PRS_IDE'] ?? '')) {
        drugs.push({ cip13: r['PHA_CIP_C13'] ?? '', cip7: r['PHA_PRS_IDE'] ?? '', price: 5, rate: 65, use: 'acute', atc: r['PHA_ATC_C07'] ?? '' });
      }
    }
  }
  if (drugs.length === 0) throw new AppError('invalid', 'IR_PHA_R lists no drug with a 13-digit CIP and a 7-digit CIP7', { hint: 'use the built-in IR_PHA_R.csv' });
  const drugWeight = (d: Drug): number => Number(phaBuiltin?.rows.find((r) => r['PHA_CIP_C13'] === d.cip13)?.['SYN_WGT'] ?? '1');
  const byUse = (u: string): Weighted<Drug> | undefined => {
    const xs = drugs.filter((d) => d.use === u);
    return xs.length === 0 ? undefined : new Weighted(xs, xs.map(drugWeight));
  };
  const acuteDrugs = byUse('acute') ?? new Weighted(drugs, drugs.map(() => 1));
  const abxDrugs = byUse('abx') ?? acuteDrugs;
  const respAcute = byUse('resp_acute') ?? acuteDrugs;
  const chronicUses = ['htn', 'lipid', 'diabetes', 'thyroid', 'cardio', 'anticoag', 'psy', 'chronic', 'resp', 'prostate', 'contra'];
  const chronicPools = new Map<string, Weighted<Drug>>();
  for (const u of chronicUses) {
    const w = byUse(u);
    if (w !== undefined) chronicPools.set(u, w);
  }

  // ---- output files -----------------------------------------------------------------------
  const csvDir = join(opts.out, 'csv');
  mkdirSync(csvDir, { recursive: true });
  const years: number[] = [];
  for (let y = startYear; y <= endYear; y++) years.push(y);
  const sinks: CsvSink[] = [];
  const injectors = new Map<CsvSink, DefectInjector>();
  const ledger: DefectRecord[] = [];
  const main = opts.scope === 'main';
  if (opts.scope !== undefined && opts.scope !== 'sample' && !main) {
    throw new AppError('invalid', `--scope must be sample or main, got ${JSON.stringify(opts.scope)}`, { hint: 'sample: the eleven hand-tuned tables; main: the whole main base' });
  }
  // DCIR files by year (`ER_PRS_F_2022.csv`): a table's sink stands for its yearly files, opened at their first row.
  const spec = profileSpec(opts.profile, opts);
  const yearlyDcir = spec !== undefined && synthProfile(spec).dcirFiles === 'yearly';
  const yearly = new Map<CsvSink, { readonly open: (year: number) => CsvSink; readonly files: Map<number, CsvSink> }>();
  const openSchema = (t: TableSchema, file: string, header: readonly string[], byYear = yearlyDcir && t.name.startsWith('ER_')): CsvSink => {
    const s = new CsvSink(join(csvDir, file), file, header);
    if (byYear) {
      yearly.set(s, { open: (year) => openSchema(t, file.replace(/\.csv$/, `_${year}.csv`), header, false), files: new Map() });
      return s;
    }
    sinks.push(s);
    if (defectRate > 0) injectors.set(s, new DefectInjector(t, header, noms));
    return s;
  };
  // Hand-tuned rows of the main scope are followed by the catalogue's other columns of their table.
  const suffixes = new Map<CsvSink, RowMaker>();
  let curDay = windowStart;
  const mb = main ? new MainBase({ open: (t, file, header) => openSchema(t, file, header), emit: (s, row, year) => emit(s, row, year) }, noms, cal, seed, years) : undefined;
  const open = (table: string, file: string, omit: ReadonlySet<string> = new Set()): CsvSink => {
    const t = main ? catalogueSchema(table) : tableSchema(table);
    const header = t.fields.map((x) => x.name).filter((n) => !omit.has(n));
    const s = openSchema(t, file, header);
    const sfx = mb?.suffixMaker(t);
    if (sfx !== undefined) suffixes.set(s, sfx);
    return s;
  };
  const noNir = identified ? new Set<string>() : new Set(['BEN_NIR_IDT']);
  const BEN = open('IR_BEN_R', 'IR_BEN_R.csv', noNir);
  const PRS = open('ER_PRS_F', 'ER_PRS_F.csv');
  const PHA = open('ER_PHA_F', 'ER_PHA_F.csv');
  const BIO = open('ER_BIO_F', 'ER_BIO_F.csv');
  const CAM = open('ER_CAM_F', 'ER_CAM_F.csv');
  const CCI = open('KI_CCI_R', 'KI_CCI_R.csv', noNir);
  const ECD = open('KI_ECD_R', 'KI_ECD_R.csv');
  const mco = new Map<number, { B: CsvSink; C: CsvSink; D: CsvSink; A: CsvSink }>();
  for (const y of years) {
    const yy = String(y % 100).padStart(2, '0');
    mco.set(y, {
      B: open('T_MCOaaB', `T_MCO${yy}B.csv`), C: open('T_MCOaaC', `T_MCO${yy}C.csv`),
      D: open('T_MCOaaD', `T_MCO${yy}D.csv`), A: open('T_MCOaaA', `T_MCO${yy}A.csv`),
    });
  }

  const emit = (s0: CsvSink, row0: string, year: number | undefined): void => {
    const sfx = suffixes.get(s0);
    const y = yearly.get(s0);
    let s = s0;
    if (y !== undefined && year !== undefined) {
      s = y.files.get(year) ?? y.open(year);
      y.files.set(year, s);
    }
    const row = sfx === undefined ? row0 : `${row0};${sfx.row(mb?.personKnown() ?? {}, curDay)}`;
    if (defectRate > 0 && drng.next() < defectRate) {
      const inj = injectors.get(s);
      const bad = inj?.corrupt(row, drng);
      if (bad !== undefined) {
        const line = s.push(bad.row, year);
        ledger.push({ file: `csv/${s.file}`, line, column: bad.column, rule: bad.rule });
        return;
      }
    }
    s.push(row, year);
  };

  // ---- DCIR décompte state ----------------------------------------------------------------
  let dctCounter = 0;
  let keyHead = ''; // DCT_ORD_NUM … ORG_CLE_NUM;
  let flxYear = 0;
  let prsOrd = 0;
  const beginDecompte = (soin: number, minDelay: number, maxDelay: number, org: string, late = 0): void => {
    dctCounter++;
    const trt = Math.min(cal.last - 40, soin + late + rng.int(minDelay, maxDelay));
    const dis = cal.nextMonthOf(trt);
    flxYear = cal.yearOf(dis);
    keyHead = `${dctCounter};${cal.isoOf(dis)};${1 + (dctCounter % 20)};${(trt - cal.first) % 10000};1;${cal.isoOf(trt)};${org};`;
    prsOrd = 0;
  };

  const rowsWritten = (): number => sinks.reduce((a, s) => a + s.rows, 0);
  const rsaCounter = new Map<number, number>();
  let deaths = 0;

  // ---- people -----------------------------------------------------------------------------
  let twinOf: { psa: string; byear: number; bmonth: number; sex: number; dpt: string; dpt2: string; com: string; bday: number } | undefined;
  for (let p = 0; p < people; p++) {
    let age0: number, byear: number, bmonth: number, sex: number, dpt: string, com: string;
    let rank = 1;
    let psas: string[];
    let bday: number;
    if (twinOf !== undefined) {
      ({ byear, bmonth, sex, dpt, com, bday } = twinOf);
      age0 = startYear - 1 - byear;
      psas = [twinOf.psa];
      rank = 2;
      twinOf = undefined;
    } else {
      // Age on 1 January of the first year and sex from France's pyramid (src/synth/population.ts).
      ({ age: age0, sex } = drawPerson(rng));
      byear = startYear - 1 - age0;
      bmonth = rng.int(1, 12);
      bday = dayOf(byear, bmonth, rng.int(1, 28));
      dpt = dptPool.draw(rng).code;
      com = String(rng.int(1, 399)).padStart(3, '0');
      const nPsa = rng.chance(0.08) ? (rng.chance(0.15) ? 3 : 2) : 1;
      psas = [];
      for (let k = 0; k < nPsa; k++) psas.push(id17(idKey, `psa:${p}:${k}`));
      // Same-sex twins share the opening-rights holder's pseudonym and differ by BEN_RNG_GEM.
      if (age0 < 18 && p + 1 < people && rng.chance(0.03)) {
        psas = [psas[0]!];
        twinOf = { psa: psas[0]!, byear, bmonth, sex, dpt, dpt2: '', com, bday };
      }
    }
    const dpt2 = dpt.startsWith('97') ? '97' : dpt.slice(1);
    const dptNum = dpt === '02A' ? '201' : dpt === '02B' ? '202' : dpt;
    const org = `01${dptNum}0000`;
    const idt = id17(idKey, `idt:${p}`);
    const nirAno = id17(idKey, `nir:${p}`);
    const switchDay = psas.length > 1 ? rng.int(windowStart + 30, windowEnd - 30) : windowEnd + 1;
    const psaAt = (day: number): string => (day < switchDay ? psas[0]! : psas[Math.min(psas.length - 1, 1 + (day > (switchDay + windowEnd) / 2 ? 1 : 0))]!);
    const cmu = rng.chance(0.08) ? '1' : '0';
    const gp = `${dpt2 === '2A' ? '20' : dpt2 === '2B' ? '20' : dpt2}1${String(rng.int(0, 299)).padStart(6, '0')}`;
    const pharmacy = `${gp.slice(0, 2)}2${String(rng.int(0, 199)).padStart(6, '0')}`;
    const lab = `${gp.slice(0, 2)}3${String(rng.int(0, 49)).padStart(6, '0')}`;
    const etaPool = [0, 1, 2, 3].map((k) => `${dpt2}${String(100001 + (Number(gp.slice(0, 2)) * 13 + k * 7919) % 899999).padStart(7, '0')}`);

    // Death: once per person, drawn year by year from the life table at the age reached on
    // 1 January (src/synth/population.ts), more often in winter.
    let death = -1;
    for (let y = startYear; y <= endYear && death < 0; y++) {
      if (rng.chance(deathProbability(y - 1 - byear, sex))) {
        const lo = Math.max(dayOf(y, 1, 1), bday + 1);
        const hi = dayOf(y, 12, 31);
        for (let t = 0; t < 20; t++) {
          const d = rng.int(lo, hi);
          if (rng.next() < (1 + 0.25 * seasonal(cal.doyOf(d))) / 1.25 || t === 19) {
            death = d;
            break;
          }
        }
      }
    }
    // The main base has a death however small (its causes-of-death tables land rows): the last
    // person dies in the last year when nobody did before (never at the sizes the calibration is tested on).
    if (main && death < 0 && deaths === 0 && p === people - 1) death = rng.int(Math.max(dayOf(endYear, 1, 1), bday + 1), windowEnd);
    if (death >= 0) deaths++;
    const lastDay = death >= 0 ? death : windowEnd;
    mb?.beginPerson({
      known: { BEN_NIR_PSA: psas[0]!, NIR_ANO_17: psas[0]!, BEN_RNG_GEM: String(rank), BEN_NIR_ANO: nirAno, BEN_IDT_ANO: idt, BEN_SEX_COD: String(sex), BEN_NAI_ANN: String(byear), BEN_RES_DPT: dpt },
      psa: psas[0]!, idt, age0, etas: etaPool,
      span: (y) => {
        const lo = Math.max(dayOf(y, 1, 1), bday + 1);
        const hi = Math.min(dayOf(y, 12, 31), lastDay);
        return hi < lo ? undefined : [lo, hi];
      },
    });

    // Chronic treatments, chosen once per person by age and sex.
    const chronic: Drug[] = [];
    const want = (u: string, prob: number): void => {
      const w = chronicPools.get(u);
      if (w !== undefined && rng.chance(Math.max(0, prob))) chronic.push(w.draw(rng));
    };
    const a = age0;
    if (a >= 40) want('htn', Math.min(0.6, 0.015 * (a - 35)));
    if (a >= 45) want('lipid', Math.min(0.35, 0.01 * (a - 40)));
    if (a >= 40) want('diabetes', Math.min(0.2, 0.003 * (a - 30)));
    if (a >= 30) want('thyroid', sex === 2 ? 0.08 : 0.015);
    if (a >= 60) want('cardio', Math.min(0.3, 0.004 * (a - 50)));
    if (a >= 65) want('anticoag', Math.min(0.12, 0.0035 * (a - 60)));
    if (a >= 18) want('psy', 0.06);
    if (a >= 50) want('chronic', 0.1);
    if (a >= 6) want('resp', 0.05);
    if (a >= 60 && sex === 1) want('prostate', 0.15);
    if (a >= 16 && a <= 45 && sex === 2) want('contra', 0.3);

    const sexS = String(sex);
    const byS = String(byear);
    const who = (day: number): string => `${psaAt(day)};${rank};${sexS};${byS};${dpt};${cmu}`;
    const gpFee = (day: number): number => (day >= dayOf(2023, 12, 1) ? 26.5 : 25);

    /** One ER_PRS_F line of the current décompte; returns its full nine-column key. */
    const prsLine = (soin: number, natCode: string, qte: number, cft: number, pru: number, rate: number, dep: number, exe: string, exeSpe: string, pre: string, preSpe: string, ppu: string, exo: string, sign: number): string => {
      prsOrd++;
      const key = `${keyHead}${prsOrd};1`;
      const base = qte * cft * pru;
      const age = cal.yearOf(soin) - byear;
      const franchise = natCode.startsWith('11') && age >= 18 ? 1 : 0;
      const paid = Math.max(0, (base * rate) / 100 - franchise);
      const s = sign;
      curDay = soin;
      emit(
        PRS,
        `${key};${who(soin)};${cal.isoOf(soin)};${cal.isoOf(soin)};${cal.yyyymmOf(soin)};${pre === '' ? '' : cal.isoOf(Math.max(cal.first, soin - rng.int(0, 5)))};${natCode};${natCode};${s * qte};${s * qte};${fmt2(cft)};${fmt2(s * (base + dep))};${fmt2(s * base)};${fmt2(pru)};${fmt2(s * paid)};${s};${fmt2(s * dep)};${rate};${exo};${exe};${exeSpe};${pre};${preSpe};${ppu}`,
        flxYear,
      );
      mb?.dcirLine(key, soin, flxYear);
      return key;
    };

    type Sat = (key: string, sign: number) => void;
    /** A line plus its satellite; now and then a later regularisation cancels it. */
    const line = (soin: number, natCode: string, qte: number, cft: number, pru: number, rate: number, dep: number, exe: string, exeSpe: string, pre: string, preSpe: string, sat: Sat | undefined): void => {
      const exo = rate === 100 ? '4' : '0';
      const key = prsLine(soin, natCode, qte, cft, pru, rate, dep, exe, exeSpe, pre, preSpe, '2', exo, 1);
      sat?.(key, 1);
      if (rng.chance(0.015)) {
        const saved = { keyHead, flxYear, prsOrd };
        beginDecompte(soin, 20, 120, org, 0);
        const rkey = prsLine(soin, natCode, qte, cft, pru, rate, dep, exe, exeSpe, pre, preSpe, '2', exo, -1);
        sat?.(rkey, -1);
        ({ keyHead, flxYear, prsOrd } = saved);
      }
    };

    const pharmaLines = (day: number, list: readonly Drug[], pre: string, preSpe: string, renew: number): void => {
      beginDecompte(day, 1, 12, org);
      let ord = 0;
      for (const d of list) {
        const q = d.use === 'acute' || d.use === 'abx' || d.use === 'resp_acute' ? 1 : rng.chance(0.1) ? 3 : 1;
        const natCode = nat(d.rate >= 100 ? '3311' : d.rate <= 15 ? '3341' : d.rate <= 30 ? '3312' : '3313');
        const rate = d.rate;
        line(day, natCode, q, 1, d.price, rate, 0, pharmacy, spe('0'), pre, preSpe, (key, sign) => {
          ord++;
          emit(PHA, `${key};${ord};${d.cip13};${d.cip7};${sign * q};${fmt2(d.price)};${renew};${org}`, flxYear);
        });
      }
    };

    const inWindow = (d: number): boolean => d >= windowStart && d <= lastDay && d > bday;
    const seasonalDay = (lo: number, hi: number, amp: number): number => {
      for (let t = 0; t < 30; t++) {
        const d = rng.int(lo, hi);
        if (rng.next() * (1 + amp) < 1 + amp * seasonal(cal.doyOf(d))) return d;
      }
      return rng.int(lo, hi);
    };

    // ---- DCIR, year by year ----
    let nextStay = windowStart;
    let hospitalDeath = false;
    for (let y = startYear; y <= endYear; y++) {
      const lo = Math.max(dayOf(y, 1, 1), bday + 1);
      const hi = Math.min(dayOf(y, 12, 31), lastDay);
      if (hi < lo) continue;
      const frac = (hi - lo + 1) / 365;
      const age = y - byear;

      // General practice consultations, with acute prescriptions (antibiotics peak in winter).
      const nGp = rng.poisson(frac * (age < 5 ? 6 : 2.5 + 0.06 * age));
      for (let i = 0; i < nGp; i++) {
        const d = seasonalDay(lo, hi, 0.35);
        beginDecompte(d, 2, 20, org);
        line(d, nat(rng.chance(0.05) && age >= 75 ? '1210' : '1110'), 1, 1, gpFee(d), 70, 0, gp, spe('1'), '', '', undefined);
        const dd = Math.min(hi, d + rng.int(0, 1));
        if (rng.chance(0.7) && inWindow(dd)) {
          const list: Drug[] = [acuteDrugs.draw(rng)];
          const w = seasonal(cal.doyOf(d));
          if (rng.chance(0.2 * (1 + 0.9 * w))) list.push(abxDrugs.draw(rng));
          if (rng.chance(0.15 * (1 + 0.8 * w))) list.push(respAcute.draw(rng));
          if (rng.chance(0.25)) list.push(acuteDrugs.draw(rng));
          pharmaLines(dd, list, gp, '1', 0);
        }
      }
      // Specialists (with extra fees for some), sometimes with a CCAM act the same day.
      const nSp = rng.poisson(frac * (0.6 + 0.02 * age));
      for (let i = 0; i < nSp; i++) {
        const d = seasonalDay(lo, hi, 0.1);
        let sc = speciality.draw(rng).code;
        if (sc === '12' && age >= 16) sc = '15';
        if (sc === '7' && sex === 1) sc = '3';
        const exe = `${gp.slice(0, 2)}1${String(300 + rng.int(0, 99)).padStart(6, '0')}`;
        beginDecompte(d, 2, 25, org);
        line(d, nat('1112'), 1, 1, 30, 70, rng.chance(0.4) ? 20 + rng.int(0, 30) : 0, exe, spe(sc), gp, '1', undefined);
      }
      // Imaging and technical acts (CCAM), one per décompte.
      const nCam = rng.poisson(frac * (0.3 + 0.015 * age));
      for (let i = 0; i < nCam; i++) {
        const d = rng.int(lo, hi);
        const act = ccamCity.draw(rng);
        const rgt = act.row['CAM_PRS_RGT'] ?? 'ATM';
        const natCode = rgt === 'ADI' ? '1351' : rgt === 'ADE' ? '1324' : rgt === 'ADC' ? '1321' : '1352';
        const price = Number(act.row['SYN_PRU'] ?? '30');
        const exe = `${gp.slice(0, 2)}1${String(500 + rng.int(0, 99)).padStart(6, '0')}`;
        beginDecompte(d, 2, 25, org);
        line(d, nat(natCode), 1, 1, price, 70, 0, exe, spe(natCode === '1351' || natCode === '1324' ? '6' : '3'), gp, '1', (key, sign) => {
          emit(CAM, `${key};1;${act.code};1;0;${fmt2(price)};${fmt2(sign * price)};${org}`, flxYear);
        });
      }
      // Lab tests: one PRS line per NABM act of the same décompte.
      const nBio = rng.poisson(frac * (0.4 + 0.03 * age));
      for (let i = 0; i < nBio; i++) {
        const d = seasonalDay(lo, hi, 0.15);
        beginDecompte(d, 2, 20, org);
        const k = rng.int(1, 5);
        const seen = new Set<string>();
        for (let j = 0; j < k; j++) {
          const act = rng.chance(0.25 * (1 + seasonal(cal.doyOf(d)))) ? bioWinter.draw(rng) : bioPool.draw(rng);
          if (seen.has(act.code)) continue;
          seen.add(act.code);
          const cft = Number(act.row['BIO_TAR_COF'] ?? '20');
          line(d, nat('3211'), 1, cft, 0.27, 60, 0, lab, spe('38'), gp, '1', (key, sign) => {
            emit(BIO, `${key};${j + 1};${act.code};${sign};${org}`, flxYear);
          });
        }
      }
      // Nursing care at home for the oldest.
      const nAmi = rng.poisson(frac * (age >= 75 ? 5 : 0.15));
      for (let i = 0; i < nAmi; i++) {
        const d = rng.int(lo, hi);
        beginDecompte(d, 2, 30, org);
        line(d, nat('3111'), 1, rng.int(1, 4), 3.15, 60, 0, `${gp.slice(0, 2)}4${String(rng.int(0, 99)).padStart(6, '0')}`, spe('0'), gp, '1', undefined);
      }
      // Monthly renewals of chronic treatments, all on the same day.
      if (chronic.length > 0) {
        let d = lo + rng.int(0, 27);
        let renew = 0;
        while (d <= hi) {
          if (!rng.chance(0.08)) pharmaLines(d, chronic, gp, '1', renew++ % 3);
          d += rng.int(27, 34);
        }
      }

      // ---- hospital stays (PMSI MCO), ordered, never overlapping, never after death ----
      let nStay = rng.poisson(frac * (0.05 + 0.005 * age));
      // The main base has an MCO stay each year however small (its many satellites land rows).
      if (main && p === people - 1 && !rsaCounter.has(y)) nStay = Math.max(1, nStay);
      const entries: number[] = [];
      for (let i = 0; i < nStay; i++) entries.push(rng.int(lo, hi));
      entries.sort((x, z) => x - z);
      for (const e0 of entries) {
        const ent = Math.max(e0, nextStay);
        const ambulatory = rng.chance(0.45);
        const los = ambulatory ? 0 : Math.min(60, 1 + Math.floor(-Math.log(1 - rng.next()) * (3 + age / 20)));
        let sor = ent + los;
        if (ent > lastDay) break;
        if (sor > lastDay) {
          if (death < 0) break; // still in hospital at the end of the window: not delivered yet
          sor = death;
        }
        nextStay = sor + 1;
        const diesHere = sor === death;
        if (diesHere) hospitalDeath = true;
        stay(ent, sor, diesHere);
      }
    }
    // Some deaths happen in hospital at the end of a last stay.
    if (death >= 0 && !hospitalDeath && rng.chance(0.55)) {
      const ent = Math.max(nextStay, death - rng.int(0, 12), bday + 1, windowStart);
      if (ent <= death) {
        hospitalDeath = true;
        stay(ent, death, true);
      }
    }

    function stay(ent: number, sor: number, dies: boolean): void {
      const y = cal.yearOf(sor);
      const files = mco.get(y);
      if (files === undefined) return;
      const age = cal.yearOf(ent) - byear - (Number(cal.mmOf(ent)) < bmonth ? 1 : 0);
      const ageAnn = Math.max(0, age);
      const eta = rng.pick(etaPool);
      const rsaN = (rsaCounter.get(y) ?? 0) + 1;
      rsaCounter.set(y, rsaN);
      const rsa = String(rsaN).padStart(10, '0');
      curDay = ent;
      const draw = (w: Weighted<Code>): string => {
        for (let t = 0; t < 12; t++) {
          const c = w.draw(rng).code;
          if (icdFits(c, ageAnn, sex)) return c;
        }
        return w.draw(rng).code;
      };
      const dp = draw(icdPool);
      const nDas = rng.int(0, Math.min(6, 1 + Math.floor(ageAnn / 25)));
      const das: string[] = [];
      for (let i = 0; i < nDas; i++) {
        const c = draw(icdPool);
        if (c !== dp && !das.includes(c)) das.push(c);
      }
      const nAct = rng.int(0, 3);
      const acts: string[] = [];
      for (let i = 0; i < nAct; i++) acts.push(ccamHosp.draw(rng).code);
      const los = sor - ent;
      const cmd = CMD_OF[dp[0] ?? 'Z'] ?? '23';
      const ghm = `${cmd}${acts.length > 0 && rng.chance(0.4) ? 'C' : los === 0 ? 'Z' : 'M'}${String(rng.int(2, 20)).padStart(2, '0')}${los === 0 ? 'J' : String(rng.int(1, 4))}`;
      const bdi = dpt.startsWith('97') ? '97' : dpt.slice(1);
      const sorMod = dies ? '9' : rng.chance(0.05) ? '7' : '8';
      const entMod = rng.chance(0.04) ? '7' : '8';
      // A related diagnosis (DGN_REL) when the principal one is a Z code (a session, a follow-up): the disease treated.
      let dr = '';
      for (let t = 0; t < 6 && dp.startsWith('Z') && (dr === '' || dr.startsWith('Z') || dr === dp); t++) dr = draw(icdPool);
      if (dr.startsWith('Z')) dr = '';
      emit(files.B, `${eta};${rsa};${ageAnn};${sexS};${bdi};${dp};${dr};${ghm};${entMod};${sorMod};${y};${cal.mmOf(sor)};${los};${das.length};${acts.length}`, y);
      // Chaining flags: mostly '0' (all checks passed), as in real deliveries.
      const flag = (): string => (rng.chance(0.01) ? '1' : '0');
      emit(files.C, `${eta};${rsa};${psaAt(ent)};${cal.dmyOf(ent)};${cal.dmyOf(sor)};${cal.isoOf(ent)};${cal.isoOf(sor)};${y};${cal.mmOf(sor)};${rng.int(1, 99999)};0;${flag()};${flag()};0;0;0;${flag()}`, y);
      das.forEach((c, i) => emit(files.D, `${eta};${rsa};${i + 1};${c}`, y));
      acts.forEach((c, i) => emit(files.A, `${eta};${rsa};${c};${c.startsWith('ZZLP') ? '4' : '1'};${Math.min(los, rng.int(0, los))};${1 + (i === 0 && rng.chance(0.1) ? 1 : 0)}`, y));
      mb?.mcoStay(y, eta, rsa, ent);
    }

    // ---- referential and causes of death ----
    const dteIns = cal.isoOf(Math.max(cal.first, Math.min(windowStart - 1, bday > cal.first ? bday + 30 : cal.first)));
    const dcdDte = death >= 0 ? cal.isoOf(death) : '';
    const dcdAme = death >= 0 ? cal.yyyymmOf(death) : '';
    const maj = cal.isoOf(death >= 0 ? Math.min(cal.last, death + rng.int(5, 60)) : windowEnd);
    let nirField = '';
    if (identified) {
      const yy = String(byear % 100).padStart(2, '0');
      const mm = String(bmonth).padStart(2, '0');
      const other = dptPool.draw(rng).code;
      const nd = rng.chance(0.8) ? dpt2 : other.startsWith('97') ? '97' : other.slice(1);
      const com3 = nd === '97' ? `${rng.int(1, 6)}${String(rng.int(1, 30)).padStart(2, '0')}` : com;
      const body = `${sexS}${yy}${mm}${nd}${com3}${String(rng.int(1, 999)).padStart(3, '0')}`;
      nirField = `${body}${nirControlKey(body)};`;
    }
    psas.forEach((psa) => {
      emit(BEN, `${psa};${rank};${nirAno};${idt};1;${nirField}${byS};${String(bmonth).padStart(2, '0')};${sexS};${dcdDte};${dcdAme};${dpt};${com};${org};${dteIns};${maj}`, undefined);
    });
    if (death >= 0) {
      const ageD = cal.yearOf(death) - byear;
      let cause = deathPool.draw(rng).code;
      for (let t = 0; t < 12 && !icdFits(cause, ageD, sex); t++) cause = deathPool.draw(rng).code;
      const lieu = hospitalDeath ? '2' : ageD >= 80 && rng.chance(0.4) ? '4' : rng.chance(0.9) ? '1' : '6';
      const dcdDpt = rng.chance(0.93) ? dpt : dptPool.draw(rng).code;
      const y = cal.yearOf(death);
      // The certificate's encrypted id, shared by its causes. Broken relations: the causes carry an
      // id of the same shape (no draw from the generator's stream) that matches no certificate,
      // as in the real base; the person's BEN_IDT_ANO still joins.
      const dcdEnc = hex64(idKey, `dcd:${p}`);
      const ecdEnc = opts.brokenRelations === true ? hex64(idKey, `dcd-ecd:${p}`) : dcdEnc;
      emit(CCI, `${idt};${nirField}${dcdDte};${dcdAme};${byS};${sexS};${dpt};${dcdDpt};${lieu};${cause};${dcdEnc}`, y);
      // The initial cause sits on the last line of part I; other lines carry its consequences.
      const nLines = rng.int(1, 3);
      for (let l = 1; l <= nLines; l++) {
        const c = l === nLines ? cause : deathPool.draw(rng).code;
        emit(ECD, `${idt};${dcdDte};${l};1;${c};${ecdEnc}`, y);
      }
      if (rng.chance(0.3)) emit(ECD, `${idt};${dcdDte};4;1;${icdPool.draw(rng).code};${ecdEnc}`, y);
    }

    mb?.endPerson();
    // Rows leave the heap young (before they are promoted), which keeps GC cheap.
    for (const s of sinks) if (s.wantsFlush()) await s.maybeFlush();
    if ((p & 1023) === 1023 || p === people - 1) onProgress?.({ peopleDone: p + 1, people, rowsWritten: rowsWritten(), phase: 'csv' });
  }
  mb?.finish();
  for (const s of sinks) await s.close();

  if (defectRate > 0) {
    writeFileSync(join(opts.out, 'defects.jsonl'), ledger.map((d) => JSON.stringify(d)).join('\n') + (ledger.length > 0 ? '\n' : ''));
  }

  const rows: Record<string, number> = {};
  const rowsByYear: Record<string, Record<string, number>> = {};
  const files: Record<string, number> = {};
  for (const s of sinks) {
    const name = catalogueTableOf(s.file) ?? s.file.replace(/\.csv$/, '');
    files[s.file] = s.rows;
    rows[name] = (rows[name] ?? 0) + s.rows;
    const by = (rowsByYear[name] ??= {});
    if (s.rowsByYear.size === 0 && (name === 'IR_BEN_R' || s.rows > 0)) by['none'] = s.rows;
    for (const [yr, n] of [...s.rowsByYear].sort((x, z) => x[0] - z[0])) by[String(yr)] = (by[String(yr)] ?? 0) + n;
  }
  const gaps = main ? codeListGaps(noms).map((g) => `${g.table}.${g.column}: ${g.reason}`) : [];
  return {
    seed, people, years, identified, defectRate, defects: ledger.length,
    rows, rowsByYear, files,
    ...(gaps.length === 0 ? {} : { codeListGaps: gaps }),
    nomenclatures: noms.sources(),
    brokenRelations: opts.brokenRelations !== true ? [] : [DEATH_ID_RELATION],
    ...(main ? { scope: 'main' as const, parents: Object.fromEntries([...mb!.parents].sort((a, b) => (a[0] < b[0] ? -1 : 1))) } : {}),
  };
}
