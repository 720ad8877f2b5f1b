/**
 * `enclave synth --scope main`: every table of the main base the catalogue describes (all DCIR
 * `ER_*` tables, `IR_BEN_R`, `IR_IBA_R`, `IR_IMB_R`, `KI_*`, PMSI MCO, SSR, HAD and psychiatry),
 * written from the catalogue itself. The hand-tuned tables (src/synth/generate.ts) keep their
 * columns and semantics and get the catalogue's other columns appended; the other tables are
 * generated here from each column's type, length, constraints and nomenclature link, joined to
 * the rows they hang from by the catalogue's foreign keys (the nine DCIR keys of an ER_PRS_F line,
 * ETA_NUM + RSA_NUM or the field's own stay keys, NIR_ANO_17 = BEN_NIR_PSA), at the volumes of
 * src/synth/volumes.ts. Draws come from their own stream: the hand-tuned rows are the same in
 * both scopes.
 */
import { Calendar, dayOf } from './calendar.ts';
import type { CsvSink } from './csv-sink.ts';
import { patternSampler } from './pattern.ts';
import { Rng } from './prng.ts';
import { NomenclatureSet, catalogueSchemas, loadBuiltinSchema, type SchemaField, type TableSchema } from './schema.ts';
import { ROOTS, SSR_STAY, SSR_WEEKS_PER_STAY, isModelledDcirSatellite, satelliteMean } from './volumes.ts';

/** The generator's hand-tuned tables (src/synth/build-schema.ts): the resources of the product's datapackage. */
export const HAND_TUNED_TABLES: ReadonlySet<string> = new Set(loadBuiltinSchema().datapackage.resources.map((r) => r.name));

/** Pseudonymised person keys (schemas/sensitivity/snds.json): drawn as ids, never as free text. */
const PSEUDONYMS: ReadonlySet<string> = new Set(['BEN_NIR_PSA', 'NIR_ANO_17', 'BEN_NIR_ANO', 'BEN_IDT_ANO', 'NIR_ANO_MAM', 'ASS_NIR_ANO', 'BEN_RAT_ANO', 'DCD_IDT_ENC', 'IPP_IRR_CRY', 'NUM_ENQ', 'TRS_ACP_NOMC', 'TRS_CDR_NOMC', 'DAT_HOS']);
/** Names, addresses, phones: direct identifiers, never generated. */
const DIRECT = /(^|_)(NOM|PRENOM|ADR|ADRESSE|TEL|MAIL|EMAIL)(_|$)/;

const MAIN_TABLE = /^(ER_[A-Z]{3}_F|IR_BEN_R|IR_IBA_R|IR_IMB_R|KI_[A-Z0-9_]+|T_(MCO|SUP|SSR|HAD|RIP)aa[A-Za-z0-9_]+)$/;

/** The tables `--scope main` writes, from the catalogue, sorted. */
export function mainBaseTables(): string[] {
  return [...catalogueSchemas().keys()].filter((n) => MAIN_TABLE.test(n)).sort();
}

/** The parent of each catalogue-generated satellite in the volume model (what `stats.parents` holds after a run). */
export function mainBaseParents(): Record<string, string> {
  const noms = new NomenclatureSet();
  const mb = new MainBase({ open: () => { throw new Error('dry run'); }, emit: () => undefined }, noms, new Calendar(2020, 2021), 'dry-run', [2020]);
  return Object.fromEntries([...mb.parents].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

/** The delivered file of a table for one year: PMSI names carry the year (`T_SSRaaB` → `T_SSR21B.csv`). */
export function fileOf(table: string, year: number): string {
  const yy = String(year % 100).padStart(2, '0');
  return `${/^T_[A-Z]{3}aa/.test(table) ? table.replace('aa', yy) : table}.csv`;
}

/** The catalogue table a generated file belongs to (`T_SSR21B.csv.gz` → `T_SSRaaB`, `ER_PRS_F_2022.csv` → `ER_PRS_F`). */
export function catalogueTableOf(file: string): string | undefined {
  const stem = file.replace(/\.(csv|parquet)(\.gz)?$/, '');
  const all = catalogueSchemas();
  if (all.has(stem)) return stem;
  const generic = stem.replace(/^(T_[A-Z]{3})[0-9]{2}/, '$1aa').replace(/^(ER_[A-Z]{3}_F)_[0-9]{4}([0-9]{2})?$/, '$1');
  return all.has(generic) ? generic : undefined;
}

export type Known = Record<string, string>;
type Gen = (k: Known, day: number) => string;

const DIGITS = '0123456789';
const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Why a code of a list cannot be written in a column, or undefined when it can: the column's type
 * (an integer column writes `1`, so a zero-padded `01` would be no code once written), its length
 * (the public schema's, or `maxLength`/`minLength`) and its pattern.
 */
function codeMisfit(f: SchemaField, code: string, width: { readonly min: number; readonly max: number }, pattern: RegExp | undefined): string | undefined {
  if (f.type === 'integer' && !/^(0|[1-9][0-9]*)$/.test(code)) return /^[0-9]+$/.test(code) ? 'zero-padded (no integer as written)' : 'not an integer';
  if (f.type === 'number' && !/^[0-9]+(\.[0-9]+)?$/.test(code)) return 'not a number';
  if (code.length > width.max) return `longer than ${width.max} characters`;
  if (code.length < width.min) return `shorter than ${width.min} characters`;
  if (pattern !== undefined && !pattern.test(code)) return `outside the pattern ${pattern.source}`;
  return undefined;
}

/**
 * The codes a column drawn from its list may take, or undefined when the column is not drawn from
 * a list (no link, a date calendar, an enum, or a list neither the operator nor the product has);
 * with, when no code fits, why (the column is then left blank rather than invalid).
 */
function listCodes(f: SchemaField, noms: NomenclatureSet): { readonly fit: readonly string[]; readonly gap?: string } | undefined {
  const c = f.constraints ?? {};
  if (f.nomenclature === undefined || (c.enum !== undefined && c.enum.length > 0)) return undefined;
  if (f.type === 'date' || f.type === 'datetime' || f.type === 'year' || f.type === 'yearmonth') return undefined;
  const codes = noms.codesIfKnown(f.nomenclature);
  if (codes === undefined) return undefined;
  const pattern = c.pattern === undefined ? undefined : new RegExp(c.pattern);
  const len = Number((f.length ?? '').split(',')[0]) || 0;
  const width = { min: c.minLength ?? 0, max: Math.min(len === 0 ? Infinity : len, c.maxLength ?? Infinity) };
  const fit: string[] = [];
  const why = new Map<string, number>();
  for (const x of codes) {
    const m = codeMisfit(f, x, width, pattern);
    if (m === undefined) fit.push(x);
    else why.set(m, (why.get(m) ?? 0) + 1);
  }
  if (fit.length > 0) return { fit };
  const reasons = [...why].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${n} ${m}`).join(', ');
  return { fit, gap: `no code of ${f.nomenclature} fits a ${f.type} column${len === 0 ? '' : ` of length ${len}`} (${codes.size} codes: ${reasons || 'the list is empty'})` };
}

/** A column the main scope leaves blank because its code list has no code that fits it. */
export interface CodeListGap {
  readonly table: string;
  readonly column: string;
  readonly nomenclature: string;
  readonly reason: string;
}

/**
 * Every column `--scope main` draws from a code list where no code of the list fits the column
 * (`listCodes`): those columns are blank in every row the generator does not know the value of.
 * With the product's lists there are none (main-base.test.ts); an operator's lists may leave some.
 */
export function codeListGaps(noms: NomenclatureSet): CodeListGap[] {
  const out: CodeListGap[] = [];
  const all = catalogueSchemas();
  for (const name of mainBaseTables()) {
    if (name.startsWith('ER_') && !HAND_TUNED_TABLES.has(name) && !isModelledDcirSatellite(name)) continue;
    const t = all.get(name)!;
    const fkColumns = new Set((t.foreignKeys ?? []).flatMap((fk) => fk.fields.map((c) => c.toUpperCase())));
    for (const f of t.fields) {
      if (HAND_TUNED_TABLES.has(name) && f.enclave?.catalogueOnly !== true) continue;
      if (!drawsItsOwnValue(f, fkColumns.has(f.name.toUpperCase()))) continue;
      const gap = listCodes(f, noms)?.gap;
      if (gap !== undefined) out.push({ table: name, column: f.name, nomenclature: f.nomenclature ?? '', reason: gap });
    }
  }
  return out;
}

/** False for the columns whose value is never drawn: pseudonyms, direct identifiers, optional keys the row does not know. */
function drawsItsOwnValue(f: SchemaField, inFk: boolean): boolean {
  const key = f.name.toUpperCase();
  return !PSEUDONYMS.has(key) && !DIRECT.test(key) && !(inFk && f.constraints?.required !== true);
}

/**
 * One row of a catalogue table: known values (keys, the person) by upper-cased column name,
 * the rest drawn from each column's description. Optional columns are blank one time in eight;
 * columns of a foreign key are blank unless known, so a relation never breaks by chance.
 */
export class RowMaker {
  readonly header: readonly string[];
  private readonly gens: readonly Gen[];

  constructor(table: TableSchema, fields: readonly SchemaField[], noms: NomenclatureSet, cal: Calendar, rng: Rng) {
    this.header = fields.map((f) => f.name);
    const fkColumns = new Set((table.foreignKeys ?? []).flatMap((fk) => fk.fields.map((c) => c.toUpperCase())));
    this.gens = fields.map((f) => fieldGen(f, fkColumns.has(f.name.toUpperCase()), noms, cal, rng));
  }

  row(known: Known, day: number): string {
    let s = '';
    for (let i = 0; i < this.gens.length; i++) s += (i === 0 ? '' : ';') + (this.gens[i] as Gen)(known, day);
    return s;
  }
}

function fieldGen(f: SchemaField, inFk: boolean, noms: NomenclatureSet, cal: Calendar, rng: Rng): Gen {
  const key = f.name.toUpperCase();
  const c = f.constraints ?? {};
  const required = c.required === true;
  const len = Number((f.length ?? '').split(',')[0]) || 0;
  const draw = drawer(f, len, noms, cal, rng);
  if (PSEUDONYMS.has(key)) {
    const n = Math.max(17, len, c.minLength ?? 0);
    return (k) => k[key] ?? (inFk ? '' : randomText(rng, ALNUM, n));
  }
  if (DIRECT.test(key) || (inFk && !required)) return (k) => k[key] ?? '';
  const known = atPrecision(f, rng);
  return (k, day) => {
    const v = k[key];
    if (v !== undefined) return known(v);
    if (!required && rng.int(0, 7) === 0) return '';
    return draw(day);
  };
}

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DAY_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** `HH:MM:SS` of a number of seconds since midnight. */
export function clockOf(seconds: number): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}`;
}

/**
 * A known value written at the column's precision. Known moments carry their time of day (a
 * stay's entry and exit, `2022-03-04 14:05:00`): a datetime column (T_RIPaaC's EXE_SOI_DTD) keeps
 * it, an ISO date column of the same name (T_SSRaaC's) keeps the day. A known day reaching a
 * datetime column gets a drawn time rather than a midnight no producer writes for every row.
 */
function atPrecision(f: SchemaField, rng: Rng): (v: string) => string {
  if (f.type === 'datetime') return (v) => (ISO_DAY.test(v) ? `${v} ${clockOf(rng.int(0, 86_399))}` : v);
  if (f.type === 'date') return (v) => (ISO_DAY_TIME.test(v) ? v.slice(0, 10) : v);
  return (v) => v;
}

/**
 * Times of day (seconds since midnight) of a stay's entry and exit: admissions mostly in the
 * daytime and some at night (through the emergency room), discharges in the daytime; a stay that
 * ends the day it began ends after it began.
 */
export function stayTimes(rng: Rng, sameDay: boolean): readonly [number, number] {
  if (sameDay) {
    const ent = rng.int(7 * 3600, 18 * 3600);
    return [ent, ent + rng.int(1800, 5 * 3600)];
  }
  const ent = rng.chance(0.8) ? rng.int(8 * 3600, 20 * 3600 - 1) : rng.int(0, 86_399);
  return [ent, rng.int(9 * 3600, 19 * 3600 - 1)];
}

function randomText(rng: Rng, alphabet: string, n: number): string {
  let s = '';
  if (alphabet === DIGITS) {
    // Up to 9 digits per draw: one draw per value for most columns (the main scope writes hundreds per row).
    while (s.length < n) {
      const k = Math.min(9, n - s.length);
      s += String(rng.int(0, 10 ** k - 1)).padStart(k, '0');
    }
    return s;
  }
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
}

function drawer(f: SchemaField, len: number, noms: NomenclatureSet, cal: Calendar, rng: Rng): (day: number) => string {
  const c = f.constraints ?? {};
  const minLength = c.minLength ?? 0;
  if (c.enum !== undefined && c.enum.length > 0) {
    const values = c.enum.map(String).filter((v) => v !== '');
    return () => rng.pick(values) ?? '';
  }
  const list = listCodes(f, noms);
  // No code of the list fits the column: blank rather than an invented, invalid one (see codeListGaps).
  if (list !== undefined) return () => rng.pick(list.fit) ?? '';
  switch (f.type) {
    case 'integer': {
      const lo = c.minimum ?? 0;
      const hi = c.maximum ?? (len > 0 ? Math.min(10 ** Math.min(len, 6) - 1, 999_999) : 99);
      return () => String(rng.int(lo, Math.max(lo, hi)));
    }
    case 'number': {
      const [whole = '', decimals = ''] = (f.length ?? '').split(',');
      const w = Math.max(1, Math.min(5, (Number(whole) || 5) - (Number(decimals) || 0)));
      const lo = c.minimum ?? 0;
      const hi = Math.min(c.maximum ?? 10 ** w - 1, 10 ** w - 1);
      return () => (lo + rng.next() * (Math.max(lo, hi) - lo)).toFixed(2);
    }
    case 'date':
      if (f.format === '%m') return (day) => cal.mmOf(day);
      if (f.format === '%d%m%Y') return (day) => cal.dmyOf(day);
      return (day) => cal.isoOf(day);
    case 'year':
      return (day) => String(cal.yearOf(day));
    case 'yearmonth':
      return (day) => cal.yyyymmOf(day);
    case 'boolean':
      return () => (rng.chance(0.05) ? '1' : '0');
    case 'datetime':
      // ISO with a time of day (what ingestion reads by default); each producer convention respells it (src/synth/profile.ts).
      return (day) => `${cal.isoOf(day)} ${String(rng.int(0, 23)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}:${String(rng.int(0, 59)).padStart(2, '0')}`;
    default: {
      if (c.pattern !== undefined) {
        const sample = patternSampler(c.pattern);
        // A pattern outside the sampler's subset: blank rather than invalid (the catalogue's all fit, see main-base.test.ts).
        return sample === undefined ? () => '' : () => sample(rng);
      }
      const n = Math.max(minLength, len === 0 ? 6 : Math.min(len, 12));
      return () => randomText(rng, len <= 3 ? ALNUM : DIGITS, n);
    }
  }
}

/** The person a hook is about (values the tables share). */
export interface MainPerson {
  readonly known: Known;
  readonly psa: string;
  readonly idt: string;
  readonly age0: number;
  /** Etablissements (FINESS-like, 9 characters) the person is treated in. */
  readonly etas: readonly string[];
  /** First and last day alive in the window, for year `y`; undefined when not alive that year. */
  readonly span: (y: number) => readonly [number, number] | undefined;
}

interface Emitter {
  open(table: TableSchema, file: string, header: readonly string[]): CsvSink;
  emit(s: CsvSink, row: string, year: number | undefined): void;
}

interface Family {
  readonly prefix: string;
  /** The stay table and its own key (the counter) column. */
  readonly stay: string;
  readonly stayKeys: readonly [string, string];
  readonly est: string;
  /** Other roots drawn per person-year: table → [eta column, counter column(s)]. */
  readonly others: Readonly<Record<string, readonly string[]>>;
}

const FAMILIES: readonly Family[] = [
  { prefix: 'T_MCO', stay: 'T_MCOaaB', stayKeys: ['ETA_NUM', 'RSA_NUM'], est: 'T_MCOaaE', others: { T_MCOaaFASTC: ['ETA_NUM', 'SEQ_NUM'] } },
  { prefix: 'T_SSR', stay: 'T_SSRaaB', stayKeys: ['ETA_NUM', 'RHA_NUM'], est: 'T_SSRaaE', others: { T_SSRaaFASTC: ['ETA_NUM', 'SEQ_NUM'] } },
  { prefix: 'T_HAD', stay: 'T_HADaaB', stayKeys: ['ETA_NUM_EPMSI', 'RHAD_NUM'], est: 'T_HADaaE', others: {} },
  { prefix: 'T_RIP', stay: 'T_RIPaaFB', stayKeys: ['ETA_NUM_EPMSI', 'RIP_NUM'], est: 'T_RIPaaE', others: { T_RIPaaR3A: ['ETA_NUM_EPMSI', 'SEJ_IDT', 'ORD_NUM'] } },
];

function familyOf(table: string): Family | undefined {
  const p = table.startsWith('T_SUP') ? 'T_MCO' : table.slice(0, 5);
  return FAMILIES.find((f) => f.prefix === p);
}

interface Satellite {
  readonly table: TableSchema;
  /** The parent name in the volume model. */
  readonly parent: string;
  readonly mean: number;
  /** Exactly one row per parent (its key is the parent's). */
  readonly one: boolean;
  /** Years that already have a row: the first parent of each year carries the satellite once at least. */
  readonly seeded: Set<number>;
}

/**
 * The catalogue-driven part of the generator. `generate()` calls the hooks (`beginPerson`,
 * `dcirLine`, `mcoStay`, `endPerson`, `finish`); rows go through its `emit`, so defects and the
 * ledger work the same on every table.
 */
export class MainBase {
  private readonly rng: Rng;
  /** Stays' times of day come from their own stream: the rest of the main base does not move with them. */
  private readonly times: Rng;
  private readonly makers = new Map<string, RowMaker>();
  private readonly sinks = new Map<string, CsvSink>();
  private readonly dcirSats: Satellite[] = [];
  /** Satellites by parent table (the stay tables and the other roots). */
  private readonly byParent = new Map<string, Satellite[]>();
  /** Etablissements seen per family and year, for the establishment tables (E, and those keyed by ETA_NUM only). */
  private readonly etasSeen = new Map<string, Set<string>>();
  private readonly counters = new Map<string, number>();
  /** Roots (by table and year) that already have a row: see `atLeastOnce`. */
  private readonly rootsSeeded = new Set<string>();
  private person: MainPerson | undefined;
  /** Parent of each generated satellite in the volume model (for --dry-run and the tests). */
  readonly parents = new Map<string, string>();

  private readonly out: Emitter;
  private readonly noms: NomenclatureSet;
  private readonly cal: Calendar;
  private readonly years: readonly number[];

  constructor(out: Emitter, noms: NomenclatureSet, cal: Calendar, seed: string, years: readonly number[]) {
    this.out = out;
    this.noms = noms;
    this.cal = cal;
    this.years = years;
    this.rng = new Rng(`enclave-synth-main:${seed}`);
    this.times = new Rng(`enclave-synth-main-times:${seed}`);
    const all = catalogueSchemas();
    for (const name of mainBaseTables()) {
      if (HAND_TUNED_TABLES.has(name)) continue;
      const t = all.get(name)!;
      if (name.startsWith('ER_')) {
        if (!isModelledDcirSatellite(name)) continue;
        this.dcirSats.push({ table: t, parent: 'ER_PRS_F', mean: satelliteMean(name).mean, one: false, seeded: new Set() });
        this.parents.set(name, 'ER_PRS_F');
        continue;
      }
      const fam = familyOf(name);
      if (fam === undefined) continue;
      if (name === fam.est) continue;
      if (name === fam.stay || fam.others[name] !== undefined) continue;
      const refs = (t.foreignKeys ?? []).map((fk) => ({ to: fk.reference.resource, fields: fk.fields }));
      const roots = [fam.stay, ...Object.keys(fam.others)];
      const hit = refs.find((r) => roots.includes(r.to));
      if (hit === undefined) {
        // Keyed by the establishment only (supplements, monthly files): rows per stay, with its ETA_NUM.
        const parent = fam.stay === 'T_SSRaaB' ? SSR_STAY : fam.stay;
        this.addSatellite(t, parent, false);
        continue;
      }
      // SSR: satellites keyed (ETA_NUM, RHA_NUM) hang from the stay, those with RHS_NUM from its week.
      const parent = hit.to === 'T_SSRaaB' && !hit.fields.map((x) => x.toUpperCase()).includes('RHS_NUM') ? SSR_STAY : hit.to;
      const pk = (t.primaryKey ?? []).map((x) => x.toUpperCase()).sort().join(',');
      const one = pk !== '' && pk === hit.fields.map((x) => x.toUpperCase()).sort().join(',');
      this.addSatellite(t, parent, one);
    }
  }

  private addSatellite(t: TableSchema, parent: string, one: boolean): void {
    const s: Satellite = { table: t, parent, mean: one ? 1 : satelliteMean(t.name).mean, one, seeded: new Set() };
    this.byParent.set(parent, [...(this.byParent.get(parent) ?? []), s]);
    this.parents.set(t.name, parent);
  }

  private maker(t: TableSchema): RowMaker {
    let m = this.makers.get(t.name);
    if (m === undefined) {
      m = new RowMaker(t, t.fields, this.noms, this.cal, this.rng);
      this.makers.set(t.name, m);
    }
    return m;
  }

  /** A generator of the catalogue-only columns of a hand-tuned table (appended to its rows). */
  suffixMaker(t: TableSchema): RowMaker | undefined {
    const extra = t.fields.filter((f) => f.enclave?.catalogueOnly === true);
    return extra.length === 0 ? undefined : new RowMaker({ ...t, fields: extra }, extra, this.noms, this.cal, this.rng);
  }

  /** Known values of the current person, for the suffix of a hand-tuned row. */
  personKnown(): Known {
    return this.person?.known ?? {};
  }

  private sink(t: TableSchema, year: number | undefined): CsvSink {
    const file = fileOf(t.name, year ?? 0);
    let s = this.sinks.get(file);
    if (s === undefined) {
      s = this.out.open(t, file, this.maker(t).header);
      this.sinks.set(file, s);
    }
    return s;
  }

  private write(t: TableSchema, known: Known, day: number, year: number | undefined): void {
    this.out.emit(this.sink(t, year), this.maker(t).row(known, day), year);
  }

  private count(s: Satellite, year: number): number {
    if (s.one) return 1;
    const n = this.rng.poisson(s.mean);
    if (s.seeded.has(year)) return n;
    s.seeded.add(year);
    return Math.max(1, n);
  }

  private next(counter: string, width: number): string {
    const n = (this.counters.get(counter) ?? 0) + 1;
    this.counters.set(counter, n);
    return String(n).padStart(width, '0');
  }

  beginPerson(p: MainPerson): void {
    this.person = p;
  }

  /** After each ER_PRS_F line: the other DCIR satellites, on its nine keys. */
  dcirLine(key: string, soin: number, flxYear: number): void {
    const v = key.split(';');
    const known: Known = { ...this.personKnown() };
    DCIR_KEYS.forEach((k, i) => (known[k] = v[i] ?? ''));
    for (const s of this.dcirSats) {
      const n = this.count(s, flxYear);
      for (let i = 0; i < n; i++) this.write(s.table, known, soin, flxYear);
    }
  }

  /** After each hand-tuned MCO stay: its catalogue satellites. */
  mcoStay(year: number, eta: string, rsa: string, ent: number): void {
    this.seeEta('T_MCO', year, eta);
    this.satellites('T_MCOaaB', { ...this.personKnown(), ETA_NUM: eta, RSA_NUM: rsa }, ent, year);
  }

  private seeEta(prefix: string, year: number, eta: string): void {
    const k = `${prefix}:${year}`;
    let s = this.etasSeen.get(k);
    if (s === undefined) this.etasSeen.set(k, (s = new Set()));
    s.add(eta);
  }

  private satellites(parent: string, known: Known, day: number, year: number): void {
    for (const s of this.byParent.get(parent) ?? []) {
      const n = this.count(s, year);
      for (let i = 0; i < n; i++) this.write(s.table, known, day, year);
    }
  }

  /** The person's referential lines and PMSI activity outside the hand-tuned MCO stays. */
  endPerson(): void {
    const p = this.person;
    if (p === undefined) return;
    const all = catalogueSchemas();
    const first = this.years[0] ?? 2020;
    const start = p.span(first)?.[0] ?? this.cal.first;
    const iba = ROOTS.find((r) => r.table === 'IR_IBA_R');
    if (iba !== undefined) this.write(all.get('IR_IBA_R')!, { ...p.known }, start, undefined);
    const imb = ROOTS.find((r) => r.table === 'IR_IMB_R')?.mean ?? 0;
    const nAld = this.atLeastOnce('IR_IMB_R', this.rng.poisson(imb * Math.min(3, Math.max(0.1, p.age0 / 40))));
    for (let i = 0; i < nAld; i++) this.write(all.get('IR_IMB_R')!, { ...p.known }, Math.max(this.cal.first, start - this.rng.int(0, 3000)), undefined);
    for (const y of this.years) {
      const span = p.span(y);
      if (span === undefined) continue;
      const [lo, hi] = span;
      const frac = (hi - lo + 1) / 365;
      // Older people stay more (weights keep the population mean near the published rate).
      const age = p.age0 + 1 + (y - first);
      const ageF = age >= 75 ? 3 : age >= 60 ? 1.5 : 0.6;
      for (const fam of FAMILIES) {
        if (fam.stay !== 'T_MCOaaB') {
          const rate = ROOTS.find((r) => r.table === fam.stay)?.mean ?? 0;
          const n = this.atLeastOnce(`${fam.stay}:${y}`, this.rng.poisson(rate * frac * ageF));
          for (let i = 0; i < n; i++) this.stay(fam, y, this.rng.int(lo, hi), hi);
        }
        for (const [table, cols] of Object.entries(fam.others)) {
          const rate = ROOTS.find((r) => r.table === table)?.mean ?? 0;
          const n = this.atLeastOnce(`${table}:${y}`, this.rng.poisson(rate * frac));
          for (let i = 0; i < n; i++) this.other(fam, all.get(table)!, cols, y, this.rng.int(lo, hi));
        }
      }
    }
    this.person = undefined;
  }

  /**
   * `n`, or 1 for the first person alive in the year when `n` is 0: every root (a field's stays,
   * its other files, the ALD list) has a row each year however small the base, so every table
   * lands rows (one extra row a year at most, within the model's sampling tolerance).
   */
  private atLeastOnce(key: string, n: number): number {
    if (this.rootsSeeded.has(key)) return n;
    this.rootsSeeded.add(key);
    return Math.max(1, n);
  }

  private stay(fam: Family, y: number, ent: number, hi: number): void {
    const t = catalogueSchemas().get(fam.stay)!;
    const eta = this.rng.pick(this.person!.etas) ?? '';
    this.seeEta(fam.prefix, y, eta);
    const [etaCol, numCol] = fam.stayKeys;
    const width = Number(t.fields.find((f) => f.name === numCol)?.length ?? '7') || 7;
    const weeks = fam.stay === 'T_SSRaaB' ? Math.max(1, this.rng.poisson(SSR_WEEKS_PER_STAY - 1) + 1) : 1;
    const sor = Math.max(ent, Math.min(hi, ent + weeks * 7 - this.rng.int(0, 6)));
    const [entAt, sorAt] = stayTimes(this.times, sor === ent);
    const known: Known = {
      ...this.person!.known, [etaCol]: eta, [numCol]: this.next(`${fam.stay}:${y}`, width),
      ENT_DAT: this.cal.dmyOf(ent), SOR_DAT: this.cal.dmyOf(sor), SOR_ANN: String(y), SOR_MOI: this.cal.mmOf(sor),
      // The moments of entry and exit: a datetime column writes them whole, a date column their day (see atPrecision).
      EXE_SOI_DTD: `${this.cal.isoOf(ent)} ${clockOf(entAt)}`, EXE_SOI_DTF: `${this.cal.isoOf(sor)} ${clockOf(sorAt)}`,
    };
    for (let w = 1; w <= weeks; w++) {
      const week = { ...known, RHS_NUM: String(w).padStart(3, '0') };
      this.write(t, week, ent + (w - 1) * 7, y);
      if (fam.stay === 'T_SSRaaB') this.satellites('T_SSRaaB', week, ent + (w - 1) * 7, y);
    }
    this.satellites(fam.stay === 'T_SSRaaB' ? SSR_STAY : fam.stay, known, ent, y);
  }

  private other(fam: Family, t: TableSchema, cols: readonly string[], y: number, day: number): void {
    const eta = this.rng.pick(this.person!.etas) ?? '';
    this.seeEta(fam.prefix, y, eta);
    const known: Known = { ...this.person!.known, [cols[0]!]: eta };
    for (const c of cols.slice(1)) {
      const width = Number(t.fields.find((f) => f.name === c)?.length ?? '8') || 8;
      known[c] = this.next(`${t.name}:${c}:${y}`, Math.min(width, 8));
    }
    this.write(t, known, day, y);
    this.satellites(t.name, known, day, y);
  }

  /** The establishment tables: one line per establishment met in a family's files of the year. */
  finish(): void {
    const all = catalogueSchemas();
    for (const fam of FAMILIES) {
      const t = all.get(fam.est);
      if (t === undefined) continue;
      for (const y of this.years) {
        const etas = [...(this.etasSeen.get(`${fam.prefix}:${y}`) ?? [])].sort();
        for (const eta of etas) this.write(t, { ETA_NUM: eta }, dayOf(y, 1, 1), y);
      }
    }
  }
}

const DCIR_KEYS = ['DCT_ORD_NUM', 'FLX_DIS_DTD', 'FLX_EMT_NUM', 'FLX_EMT_ORD', 'FLX_EMT_TYP', 'FLX_TRT_DTD', 'ORG_CLE_NUM', 'PRS_ORD_NUM', 'REM_TYP_AFF'];
