/**
 * Producer conventions for `enclave synth --profile`: the generated ISO delivery rewritten as a
 * producer would have sent it (separator, encoding, gzip, date spelling, SAS `.` for missing
 * numbers and dates, decimal commas, integers exported as `61.0`), with the ingestion profile
 * that reads it (`profile.json`) and the defect ledger's file names kept in step. A spoiled value
 * stays spoiled in every convention, so the ledger still says exactly what ingestion must quarantine.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AppError } from '../errors.ts';
import type { TableSchema } from './schema.ts';

export interface SynthProfile {
  readonly delimiter: ';' | ',';
  readonly encoding: 'utf-8' | 'latin-1';
  readonly gzip: boolean;
  /** Spelling of dates whose schema leaves the format open (ISO in the generator's own files). */
  readonly dates: 'yyyy-MM-dd' | 'dd/MM/yyyy' | 'ddMMMyyyy:HH:mm:ss' | "yyyy-MM-dd'T'HH:mm:ss'Z'";
  /** SAS's `.` for a missing number or date. */
  readonly sasMissing: boolean;
  readonly decimalComma: boolean;
  readonly integerPointZero: boolean;
  /** Spelling of flags (boolean columns of the catalogue; the main scope writes them). */
  readonly flags: '0/1' | 'True/False';
  /** DCIR (`ER_*`) files: one per table, or one per table and year of FLX_DIS_DTD (`ER_PRS_F_2022.csv`), or per month (`ER_PRS_F_202201.csv`), as project extractions ship them. */
  readonly dcirFiles: 'single' | 'yearly' | 'monthly';
  /** SAS datetimes with the month in lower case (`20nov1985:13:13:57`). */
  readonly lowerCaseMonths: boolean;
  /** A missing value not written `.` is a single space (read with `blankIsMissing`). */
  readonly spaceMissing: boolean;
  /** Numbers of 100 or more written with an exponent (`1.255e+2`, integers too where they are no code), exactly (read with `exponent`). */
  readonly exponent: boolean;
  /** Every field quoted, the header too (`"…"`). */
  readonly quoteAll: boolean;
}

const PLAIN = { sasMissing: false, decimalComma: false, integerPointZero: false, lowerCaseMonths: false, spaceMissing: false, exponent: false, quoteAll: false } as const;

/** The conventions of the producers met so far (see docs/ingestion.md). */
export const SYNTH_PROFILES: Readonly<Record<string, SynthProfile>> = Object.freeze({
  iso: { ...PLAIN, delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'yyyy-MM-dd', flags: '0/1', dcirFiles: 'single' },
  /** CNAM project extractions: `;`, Latin-1, gzip'd, dd/MM/yyyy, SAS `.`, decimal comma, DCIR files by year. */
  cnam: { ...PLAIN, delimiter: ';', encoding: 'latin-1', gzip: true, dates: 'dd/MM/yyyy', sasMissing: true, decimalComma: true, flags: '0/1', dcirFiles: 'yearly' },
  /** The Health Data Hub's synthetic base: `;`, SAS datetimes, integers exported as decimals. */
  hdh: { ...PLAIN, delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'ddMMMyyyy:HH:mm:ss', integerPointZero: true, flags: '0/1', dcirFiles: 'single' },
  /** Dates as dd/MM/yyyy, flags True/False, everything else as the generator writes it: the non-ISO case of `npm run bench`. */
  dmy: { ...PLAIN, delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'dd/MM/yyyy', flags: 'True/False', dcirFiles: 'single' },
  /** The community synthetic SNDS: `,`, ISO datetimes with T…Z (the Table Schema default), flags True/False. */
  community: { ...PLAIN, delimiter: ',', encoding: 'utf-8', gzip: false, dates: "yyyy-MM-dd'T'HH:mm:ss'Z'", flags: 'True/False', dcirFiles: 'single' },
  /**
   * A SAS export: `;`, Latin-1, every field quoted, SAS datetimes in lower case, `.` for a missing
   * number or date and a space for other missing fields, large numbers with an exponent, DCIR files by month.
   */
  sas: { ...PLAIN, delimiter: ';', encoding: 'latin-1', gzip: false, dates: 'ddMMMyyyy:HH:mm:ss', sasMissing: true, flags: '0/1', dcirFiles: 'monthly', lowerCaseMonths: true, spaceMissing: true, exponent: true, quoteAll: true },
});

/**
 * What a convention can be combined with, after a `+` (`--profile sas+decimal-comma+gzip`): each
 * changes one way of writing, the rest of the convention stays.
 */
export const PROFILE_MODIFIERS: Readonly<Record<string, Partial<SynthProfile>>> = Object.freeze({
  gzip: { gzip: true },
  'decimal-comma': { decimalComma: true },
  'latin-1': { encoding: 'latin-1' },
  'utf-8': { encoding: 'utf-8' },
  'true-false': { flags: 'True/False' },
  'quote-all': { quoteAll: true },
  'sas-missing': { sasMissing: true },
  'dcir-single': { dcirFiles: 'single' },
  'dcir-yearly': { dcirFiles: 'yearly' },
  'dcir-monthly': { dcirFiles: 'monthly' },
});

/** CLI options that change one way of writing (`--gzip`, `--decimal-comma`, `--dcir-files`), applied after the `+` modifiers. */
export interface ProfileOverrides {
  readonly gzip?: boolean;
  readonly decimalComma?: boolean;
  readonly dcirFiles?: SynthProfile['dcirFiles'];
}

/**
 * A convention, possibly combined (`sas+decimal-comma+gzip`), with the options' overrides.
 *
 * @example
 *   synthProfile('cnam+dcir-monthly').dcirFiles; // 'monthly'
 *   synthProfile('hdh', { gzip: true }).gzip;    // true
 */
export function synthProfile(spec: string, overrides: ProfileOverrides = {}): SynthProfile {
  const [name = '', ...mods] = spec.split('+').map((x) => x.trim());
  const p = SYNTH_PROFILES[name];
  if (p === undefined) throw new AppError('invalid', `--profile ${JSON.stringify(spec)}: ${JSON.stringify(name)} is not a known producer convention`, { hint: `one of ${Object.keys(SYNTH_PROFILES).join(', ')}, optionally followed by +modifier (${Object.keys(PROFILE_MODIFIERS).join(', ')})` });
  let out: SynthProfile = p;
  for (const m of mods) {
    const mod = PROFILE_MODIFIERS[m];
    if (mod === undefined) throw new AppError('invalid', `--profile ${JSON.stringify(spec)}: ${JSON.stringify(m)} is not a modifier`, { hint: `modifiers: ${Object.keys(PROFILE_MODIFIERS).join(', ')} (e.g. --profile sas+decimal-comma+gzip)` });
    out = { ...out, ...mod };
  }
  if (overrides.dcirFiles !== undefined && !['single', 'yearly', 'monthly'].includes(overrides.dcirFiles)) {
    throw new AppError('invalid', `--dcir-files must be single, yearly or monthly, got ${JSON.stringify(overrides.dcirFiles)}`, { hint: 'e.g. --dcir-files monthly (ER_PRS_F_202201.csv)' });
  }
  return {
    ...out,
    ...(overrides.gzip === true ? { gzip: true } : {}),
    ...(overrides.decimalComma === true ? { decimalComma: true } : {}),
    ...(overrides.dcirFiles === undefined ? {} : { dcirFiles: overrides.dcirFiles }),
  };
}

/** The convention a run writes: `profile` with the overrides, iso when only overrides are given, none for the generator's own files. */
export function profileSpec(profile: string | undefined, o: ProfileOverrides): string | undefined {
  const mods = [...(o.decimalComma === true ? ['decimal-comma'] : []), ...(o.gzip === true ? ['gzip'] : []), ...(o.dcirFiles === undefined ? [] : [`dcir-${o.dcirFiles}`])];
  if (profile === undefined && mods.length === 0) return undefined;
  return [profile ?? 'iso', ...mods].join('+');
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An ISO date in the profile's spelling. An ISO-shaped impossible day stays impossible
 * (`2020-01-32` → `32/01/2020`); another spoiled value that the new spelling would read is
 * spoiled again (its day set to 00), so every ledger entry still breaks a rule.
 */
export function spellDate(v: string, dates: SynthProfile['dates'], lowerCaseMonths = false): string {
  if (dates === 'yyyy-MM-dd') return v;
  const m = ISO.exec(v);
  if (m === null) {
    const readable = dates === 'dd/MM/yyyy' ? /^\d{2}\/\d{2}\/\d{4}$/.test(v) : false;
    return readable ? `00${v.slice(2)}` : v;
  }
  const [, y = '', mo = '', d = ''] = m;
  switch (dates) {
    case 'dd/MM/yyyy':
      return `${d}/${mo}/${y}`;
    case 'ddMMMyyyy:HH:mm:ss': {
      const month = MONTHS[Number(mo) - 1] ?? `M${mo}`;
      return `${d}${lowerCaseMonths ? month.toLowerCase() : month}${y}:00:00:00`;
    }
    default:
      return `${y}-${mo}-${d}T00:00:00Z`;
  }
}

const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}:\d{2}:\d{2})$/;

/**
 * An ISO datetime (`2022-01-05 13:14:15`, what ingestion reads by default) in the profile's
 * spelling: SAS `05JAN2022:13:14:15`, `2022-01-05T13:14:15Z`, or the day alone where the profile
 * spells dates without a time (`05/01/2022`, read at midnight). Other text is kept.
 */
export function spellDatetime(v: string, dates: SynthProfile['dates'], lowerCaseMonths = false): string {
  const m = ISO_DATETIME.exec(v);
  if (m === null || dates === 'yyyy-MM-dd') return v;
  const [, y = '', mo = '', d = '', time = ''] = m;
  switch (dates) {
    case 'dd/MM/yyyy':
      return `${d}/${mo}/${y}`;
    case 'ddMMMyyyy:HH:mm:ss': {
      const month = MONTHS[Number(mo) - 1] ?? `M${mo}`;
      return `${d}${lowerCaseMonths ? month.toLowerCase() : month}${y}:${time}`;
    }
    default:
      return `${y}-${mo}-${d}T${time}Z`;
  }
}

/**
 * A plain number of 100 or more with an exponent, as SAS writes large numbers (`125.50` →
 * `1.255e+2`): the same decimal value, digit for digit. Anything else (a spoiled value) is kept.
 */
export function withExponent(v: string): string {
  const m = /^(-?)([1-9]\d{2,})(?:\.(\d+))?$/.exec(v);
  if (m === null) return v;
  const [, sign = '', int = '', frac = ''] = m;
  const rest = `${int.slice(1)}${frac}`.replace(/0+$/, '');
  return `${sign}${int[0] ?? ''}${rest === '' ? '' : `.${rest}`}e+${int.length - 1}`;
}

/** The ingestion profile (the `DeliveryProfile` JSON of src/ingest) that reads files written in `p`. */
export function ingestionProfileOf(p: SynthProfile): Record<string, unknown> {
  return {
    delimiter: p.delimiter, encoding: p.encoding, missing: p.sasMissing ? ['.'] : [], blankIsMissing: p.spaceMissing,
    dates: p.dates === 'yyyy-MM-dd' ? { columns: {} } : { default: p.dates, columns: {} },
    exponent: p.exponent, integerPointZero: p.integerPointZero, files: [], extraColumns: 'refuse',
    ...(p.flags === 'True/False' ? { flags: { true: 'True', false: 'False' } } : {}),
  };
}

/**
 * Rewrites one generated file (`;`, ISO, UTF-8) in the profile; returns its new name. Lines stay
 * lines (a field holding the new separator is quoted), so ledger line numbers hold.
 */
export function rewriteFile(dir: string, file: string, table: TableSchema, p: SynthProfile): string {
  const text = readFileSync(join(dir, file), 'utf8');
  const lines = text.split('\n');
  const header = (lines[0] ?? '').split(';');
  const fields = header.map((h) => table.fields.find((f) => f.name === h));
  const out: string[] = [p.quoteAll ? header.map((h) => `"${h}"`).join(p.delimiter) : header.join(p.delimiter)];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') {
      out.push(line);
      continue;
    }
    const values = line.split(';').map((v, k) => {
      const f = fields[k];
      if (f === undefined) return v;
      const numeric = f.type === 'integer' || f.type === 'number' || f.type === 'year' || f.type === 'date' || f.type === 'datetime' || f.type === 'yearmonth';
      if (v === '') return p.sasMissing && numeric ? '.' : p.spaceMissing ? ' ' : v;
      if (f.type === 'date' && (f.format === undefined || !f.format.includes('%'))) return spellDate(v, p.dates, p.lowerCaseMonths);
      if (f.type === 'datetime' && (f.format === undefined || !f.format.includes('%'))) return spellDatetime(v, p.dates, p.lowerCaseMonths);
      if ((f.type === 'integer' || f.type === 'year') && p.integerPointZero && /^-?\d+$/.test(v)) return `${v}.0`;
      if (f.type === 'boolean' && p.flags === 'True/False' && (v === '0' || v === '1')) return v === '1' ? 'True' : 'False';
      if (f.type === 'number' && p.decimalComma && /^-?\d+\.\d+$/.test(v)) return v.replace('.', ',');
      if (f.type === 'number' && p.exponent && f.constraints?.enum === undefined && f.constraints?.pattern === undefined) return withExponent(v);
      // Integers too (`379` → `3.79e+2`, as SAS writes large ones), where they are no code: some DCIR keys among them.
      if (f.type === 'integer' && p.exponent && f.constraints?.enum === undefined && f.nomenclature === undefined && /^-?[1-9]\d{2,}$/.test(v)) return withExponent(v);
      return v;
    });
    out.push(values.map((v) => (p.quoteAll || v.includes(p.delimiter) || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v)).join(p.delimiter));
  }
  const bytes = Buffer.from(out.join('\n'), p.encoding === 'latin-1' ? 'latin1' : 'utf8');
  if (!p.gzip) {
    writeFileSync(join(dir, `${file}.tmp`), bytes);
    renameSync(join(dir, `${file}.tmp`), join(dir, file));
    return file;
  }
  const name = `${file}.gz`;
  writeFileSync(join(dir, name), gzipSync(bytes));
  rmSync(join(dir, file));
  return name;
}

/**
 * Splits a generated DCIR file (`ER_PRS_F.csv`, `;`, ISO) into one file per month of FLX_DIS_DTD
 * (`ER_PRS_F_202201.csv`), rows in their order; a row whose FLX_DIS_DTD is spoiled goes with the
 * row before it. Returns the new files with their rows, and where each old line went (for the
 * ledger). A file without FLX_DIS_DTD is kept whole.
 */
export function splitByMonth(dir: string, file: string): { files: Map<string, number>; lines: Map<number, { file: string; line: number }> } {
  const text = readFileSync(join(dir, file), 'utf8');
  const lines = text.split('\n');
  const headerLine = lines[0] ?? '';
  const at = headerLine.split(';').indexOf('FLX_DIS_DTD');
  const files = new Map<string, number>();
  const moved = new Map<number, { file: string; line: number }>();
  if (at === -1 || lines.slice(1).every((l) => l === '')) {
    files.set(file, lines.filter((l, i) => i > 0 && l !== '').length);
    return { files, lines: moved };
  }
  const monthOf = (line: string): string | undefined => {
    const m = /^(\d{4})-(\d{2})-\d{2}$/.exec(line.split(';')[at] ?? '');
    return m === null ? undefined : `${m[1] ?? ''}${m[2] ?? ''}`;
  };
  let month = lines.slice(1).map(monthOf).find((x) => x !== undefined) ?? '000000';
  const parts = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    month = monthOf(line) ?? month;
    const name = file.replace(/\.csv$/, `_${month}.csv`);
    const part = parts.get(name) ?? [headerLine];
    parts.set(name, part);
    part.push(line);
    moved.set(i + 1, { file: name, line: part.length });
  }
  for (const [name, part] of parts) {
    writeFileSync(join(dir, name), `${part.join('\n')}\n`);
    files.set(name, part.length - 1);
  }
  rmSync(join(dir, file));
  return { files, lines: moved };
}
