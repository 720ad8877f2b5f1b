/**
 * A row checker driven only by a table's Table Schema and the nomenclatures: what an ingestion
 * validator can verify on one row without looking at any other row. Used by the generator to
 * make sure every injected defect breaks exactly one rule, and by the tests as the oracle.
 */
import type { NomenclatureSet, SchemaField, TableSchema } from './schema.ts';
import { isValidNir } from './nir.ts';

/** Names of the row-local rules; a defect ledger line carries one of them. */
export const RULES = ['required', 'type', 'date', 'enum', 'pattern', 'range', 'length', 'nomenclature', 'nir_key'] as const;
export type Rule = (typeof RULES)[number];

export interface Violation {
  readonly column: string;
  readonly rule: Rule;
}

const INTEGER = /^-?[0-9]+$/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;
const YEAR = /^[0-9]{4}$/;
/** The flag spellings ingestion reads (src/ingest/rules.ts). */
const BOOLEAN = /^(0|1|true|false|o|oui|y|n|non)$/i;

function validYmd(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const dim = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= dim;
}

/** Dates in ISO (`default`) or the two strftime layouts the SNDS uses. */
export function parseDate(value: string, format: string): boolean {
  let m: RegExpExecArray | null;
  if (format === 'default' || format === '%Y-%m-%d') {
    m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
    return m !== null && validYmd(Number(m[1]), Number(m[2]), Number(m[3]));
  }
  if (format === '%m') return /^(0[1-9]|1[0-2])$/.test(value);
  if (format === '%d%m%Y') {
    m = /^([0-9]{2})([0-9]{2})([0-9]{4})$/.exec(value);
    return m !== null && validYmd(Number(m[3]), Number(m[2]), Number(m[1]));
  }
  return false;
}

type FieldCheck = (v: string) => Rule | undefined;

function compileField(f: SchemaField, noms: NomenclatureSet): FieldCheck {
  const c = f.constraints ?? {};
  const required = c.required === true;
  const pattern = c.pattern === undefined ? undefined : new RegExp(c.pattern);
  const enumSet = c.enum === undefined ? undefined : new Set(c.enum.map(String));
  // Dates linked to a calendar (IR_DTE_V) are checked as dates, as ingestion does.
  const temporal = f.type === 'date' || f.type === 'datetime' || f.type === 'year' || f.type === 'yearmonth';
  const codes = f.nomenclature === undefined || temporal ? undefined : noms.codesIfKnown(f.nomenclature);
  const numeric = f.type === 'integer' || f.type === 'number' || f.type === 'year';
  const typeRe = f.type === 'integer' ? INTEGER : f.type === 'number' ? NUMBER : f.type === 'year' ? YEAR : f.type === 'boolean' ? BOOLEAN : undefined;
  const nir = f.enclave?.check === 'nir_key';
  return (v) => {
    if (v === '') return required ? 'required' : undefined;
    if (typeRe !== undefined && !typeRe.test(v)) return 'type';
    if (f.type === 'date' && !parseDate(v, f.format)) return 'date';
    if (enumSet !== undefined && !enumSet.has(numeric ? String(Number(v)) : v)) return 'enum';
    if (pattern !== undefined && !pattern.test(v)) return 'pattern';
    if (numeric && ((c.minimum !== undefined && Number(v) < c.minimum) || (c.maximum !== undefined && Number(v) > c.maximum))) return 'range';
    if ((c.minLength !== undefined && v.length < c.minLength) || (c.maxLength !== undefined && v.length > c.maxLength)) return 'length';
    if (codes !== undefined && !codes.has(numeric ? String(Number(v)) : v)) return 'nomenclature';
    if (nir && !isValidNir(v)) return 'nir_key';
    return undefined;
  };
}

export interface RowChecker {
  readonly header: readonly string[];
  /** Every violated rule of the row, one per column at most, in column order. */
  check(values: readonly string[]): Violation[];
}

/**
 * Compiles a checker for one file's header (columns absent from the file are not checked;
 * unknown columns or a wrong column count are reported under the rule `type`).
 */
export function compileRowChecker(table: TableSchema, header: readonly string[], noms: NomenclatureSet): RowChecker {
  const byName = new Map(table.fields.map((f) => [f.name, f]));
  const checks = header.map((h) => {
    const f = byName.get(h);
    return f === undefined ? undefined : compileField(f, noms);
  });
  return {
    header,
    check(values) {
      const out: Violation[] = [];
      if (values.length !== header.length) return [{ column: '*', rule: 'type' }];
      for (let i = 0; i < header.length; i++) {
        const chk = checks[i];
        if (chk === undefined) continue;
        const r = chk(values[i] as string);
        if (r !== undefined) out.push({ column: header[i] as string, rule: r });
      }
      return out;
    },
  };
}
