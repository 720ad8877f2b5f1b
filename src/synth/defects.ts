/**
 * Defect injection: turns a good row into a row that breaks exactly one row-local rule of the
 * schema, and proves it with the row checker before the row is written. A ledger line
 * `{file, line, column, rule}` is what a validator must quarantine.
 */
import type { NomenclatureSet, TableSchema } from './schema.ts';
import { compileRowChecker, type Rule, type RowChecker } from './row-check.ts';
import type { Rng } from './prng.ts';

export interface DefectRecord {
  readonly file: string;
  readonly line: number;
  readonly column: string;
  readonly rule: Rule;
}

interface Candidate {
  readonly index: number;
  readonly column: string;
  readonly rule: Rule;
  readonly make: (value: string, rng: Rng) => string;
}

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class DefectInjector {
  private readonly checker: RowChecker;
  private readonly candidates: Candidate[] = [];

  constructor(table: TableSchema, header: readonly string[], noms: NomenclatureSet) {
    this.checker = compileRowChecker(table, header, noms);
    const byName = new Map(table.fields.map((f) => [f.name, f]));
    header.forEach((name, index) => {
      const f = byName.get(name);
      if (f === undefined) return;
      const c = f.constraints ?? {};
      const add = (rule: Rule, make: Candidate['make']): void => {
        this.candidates.push({ index, column: name, rule, make });
      };
      if (c.required === true) add('required', () => '');
      if (f.type === 'integer' || f.type === 'number' || f.type === 'year') add('type', (_v, r) => r.pick(['12,5x', 'N/A', '1 000', '3.7.1']));
      if (f.type === 'boolean') add('type', (_v, r) => r.pick(['2', 'maybe', '-1']));
      if (f.type === 'date' && f.format === '%m') add('date', (_v, r) => r.pick(['13', '00', '1/']));
      else if (f.type === 'date') {
        add('date', (v, r) =>
          f.format === '%d%m%Y' ? r.pick(['31022020', '2020-01-05', '0013' + v.slice(4)]) : r.pick([v.slice(0, 8) + '32', v.replace(/-/g, '/'), v.slice(8) + '/' + v.slice(5, 7) + '/' + v.slice(0, 4)]),
        );
      }
      if (c.enum !== undefined) {
        const allowed = new Set(c.enum.map(String));
        const pool = f.type === 'string' ? ['X', '9', 'Z', '00'] : ['9', '8', '7', '5', '0', '3'];
        add('enum', (_v, r) => r.pick(pool.filter((x) => !allowed.has(x))) ?? 'X');
      }
      if (c.pattern !== undefined) add('pattern', (v, r) => (r.chance(0.5) ? v.slice(0, -1) : v + '0'));
      if ((f.type === 'integer' || f.type === 'number') && c.maximum !== undefined) add('range', () => String(c.maximum! + 1));
      // One character too few or too many (the same alphabet, so no other rule notices).
      if (c.minLength !== undefined || c.maxLength !== undefined) add('length', (v, r) => (r.chance(0.5) ? v.slice(0, -1) : v + (v.at(-1) ?? '0')));
      if (f.nomenclature !== undefined) {
        add('nomenclature', (v, r) => {
          // Change one character so the value keeps its type and pattern but leaves the list.
          const i = v.length - 1 - r.int(0, Math.min(2, v.length - 1));
          const digits = /^[0-9]$/.test(v[i] ?? '');
          const alphabet = digits ? '0123456789' : ALNUM;
          return v.slice(0, i) + alphabet[r.int(0, alphabet.length - 1)] + v.slice(i + 1);
        });
      }
      if (f.enclave?.check === 'nir_key') {
        add('nir_key', (v) => {
          const k = Number(v.slice(13));
          return v.slice(0, 13) + String((k % 97) + 1).padStart(2, '0');
        });
      }
    });
  }

  /**
   * Corrupts `row` in place of one column; returns the new row and what was broken, or
   * undefined when no single-rule defect could be made for it (the row stays good).
   */
  corrupt(row: string, rng: Rng): { row: string; column: string; rule: Rule } | undefined {
    if (this.candidates.length === 0) return undefined;
    const values = row.split(';');
    for (let attempt = 0; attempt < 24; attempt++) {
      const c = rng.pick(this.candidates);
      const original = values[c.index] as string;
      if (original === '' && c.rule !== 'required') continue;
      const bad = c.make(original, rng);
      if (bad === original || bad.includes(';')) continue;
      values[c.index] = bad;
      const v = this.checker.check(values);
      if (v.length === 1 && v[0]?.rule === c.rule && v[0].column === c.column) {
        return { row: values.join(';'), column: c.column, rule: c.rule };
      }
      values[c.index] = original;
    }
    return undefined;
  }
}
