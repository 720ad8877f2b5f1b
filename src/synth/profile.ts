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
  /** DCIR (`ER_*`) files: one per table, or one per table and year of FLX_DIS_DTD (`ER_PRS_F_2022.csv`), as project extractions ship them. */
  readonly dcirFiles: 'single' | 'yearly';
}

/** The conventions of the producers met so far (see docs/ingestion.md). */
export const SYNTH_PROFILES: Readonly<Record<string, SynthProfile>> = Object.freeze({
  iso: { delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'yyyy-MM-dd', sasMissing: false, decimalComma: false, integerPointZero: false, flags: '0/1', dcirFiles: 'single' },
  /** CNAM project extractions: `;`, Latin-1, gzip'd, dd/MM/yyyy, SAS `.`, decimal comma, DCIR files by year. */
  cnam: { delimiter: ';', encoding: 'latin-1', gzip: true, dates: 'dd/MM/yyyy', sasMissing: true, decimalComma: true, integerPointZero: false, flags: '0/1', dcirFiles: 'yearly' },
  /** The Health Data Hub's synthetic base: `;`, SAS datetimes, integers exported as decimals. */
  hdh: { delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'ddMMMyyyy:HH:mm:ss', sasMissing: false, decimalComma: false, integerPointZero: true, flags: '0/1', dcirFiles: 'single' },
  /** Dates as dd/MM/yyyy, flags True/False, everything else as the generator writes it: the non-ISO case of `npm run bench`. */
  dmy: { delimiter: ';', encoding: 'utf-8', gzip: false, dates: 'dd/MM/yyyy', sasMissing: false, decimalComma: false, integerPointZero: false, flags: 'True/False', dcirFiles: 'single' },
  /** The community synthetic SNDS: `,`, ISO datetimes with T…Z (the Table Schema default), flags True/False. */
  community: { delimiter: ',', encoding: 'utf-8', gzip: false, dates: "yyyy-MM-dd'T'HH:mm:ss'Z'", sasMissing: false, decimalComma: false, integerPointZero: false, flags: 'True/False', dcirFiles: 'single' },
});

export function synthProfile(name: string): SynthProfile {
  const p = SYNTH_PROFILES[name];
  if (p === undefined) throw new AppError('invalid', `--profile ${JSON.stringify(name)} is not a known producer convention`, { hint: `one of ${Object.keys(SYNTH_PROFILES).join(', ')}` });
  return p;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * An ISO date in the profile's spelling. An ISO-shaped impossible day stays impossible
 * (`2020-01-32` → `32/01/2020`); another spoiled value that the new spelling would read is
 * spoiled again (its day set to 00), so every ledger entry still breaks a rule.
 */
export function spellDate(v: string, dates: SynthProfile['dates']): string {
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
    case 'ddMMMyyyy:HH:mm:ss':
      return `${d}${MONTHS[Number(mo) - 1] ?? `M${mo}`}${y}:00:00:00`;
    default:
      return `${y}-${mo}-${d}T00:00:00Z`;
  }
}

/** The ingestion profile (the `DeliveryProfile` JSON of src/ingest) that reads files written in `p`. */
export function ingestionProfileOf(p: SynthProfile): Record<string, unknown> {
  return {
    delimiter: p.delimiter, encoding: p.encoding, missing: p.sasMissing ? ['.'] : [], blankIsMissing: false,
    dates: p.dates === 'yyyy-MM-dd' ? { columns: {} } : { default: p.dates, columns: {} },
    exponent: false, integerPointZero: p.integerPointZero, files: [], extraColumns: 'refuse',
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
  const out: string[] = [header.join(p.delimiter)];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') {
      out.push(line);
      continue;
    }
    const values = line.split(';').map((v, k) => {
      const f = fields[k];
      if (f === undefined) return v;
      const numeric = f.type === 'integer' || f.type === 'number' || f.type === 'year' || f.type === 'date' || f.type === 'yearmonth';
      if (v === '') return p.sasMissing && numeric ? '.' : v;
      if (f.type === 'date' && (f.format === undefined || !f.format.includes('%'))) return spellDate(v, p.dates);
      if ((f.type === 'integer' || f.type === 'year') && p.integerPointZero && /^-?\d+$/.test(v)) return `${v}.0`;
      if (f.type === 'boolean' && p.flags === 'True/False' && (v === '0' || v === '1')) return v === '1' ? 'True' : 'False';
      if (f.type === 'number' && p.decimalComma && /^-?\d+\.\d+$/.test(v)) return v.replace('.', ',');
      return v;
    });
    out.push(values.map((v) => (v.includes(p.delimiter) || v.includes('"') ? `"${v.replace(/"/g, '""')}"` : v)).join(p.delimiter));
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
