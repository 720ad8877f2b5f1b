/**
 * Sensitivity of a column, decided by a reviewed mapping file (schemas/sensitivity/*.json).
 *
 * Precedence, first match wins: an explicit `TABLE.COLUMN` entry, an explicit `COLUMN` entry,
 * a whole-table entry (referentials of organisations, which hold no person data), the
 * patterns in file order, the default. Names compare case-insensitively (the SNDS spells some
 * columns in lower case). The rule that decided is kept, so a reviewer can see why.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { SENSITIVITIES, type ColumnDefinition, type Sensitivity } from './types.ts';

/** The mapping shipped with the product for the SNDS. */
export const SNDS_SENSITIVITY_FILE = fileURLToPath(new URL('../../schemas/sensitivity/snds.json', import.meta.url));

export interface SensitivityEntry {
  readonly sensitivity: Sensitivity;
  /** One line saying why; shown in the catalogue next to the column. */
  readonly reason: string;
}

export interface SensitivityPattern extends SensitivityEntry {
  /** Stable id, recorded as `pattern:<id>` on each column it classifies. */
  readonly id: string;
  /** Regular expression on the upper-cased column name (all given conditions must hold). */
  readonly name?: string;
  /** Column types it applies to, e.g. `["date", "datetime"]`. */
  readonly types?: readonly string[];
  /** Column formats it applies to, e.g. `["%m"]`. */
  readonly formats?: readonly string[];
  /** Nomenclatures the column must link to, e.g. `["IR_CIM_V"]`. */
  readonly nomenclatures?: readonly string[];
  /** Tables it is limited to. */
  readonly tables?: readonly string[];
}

export interface SensitivityMapping {
  readonly default: SensitivityEntry;
  /** Keys are `COLUMN` or `TABLE.COLUMN`. */
  readonly columns: Readonly<Record<string, SensitivityEntry>>;
  readonly tables: Readonly<Record<string, SensitivityEntry>>;
  readonly patterns: readonly SensitivityPattern[];
}

export interface SensitivityDecision extends SensitivityEntry {
  /** `column:X`, `column:T.X`, `table:T`, `pattern:<id>` or `default`. */
  readonly rule: string;
}

interface CompiledPattern extends SensitivityPattern {
  readonly regex: RegExp | null;
}

/** A loaded mapping, ready to classify columns. */
export class SensitivityClassifier {
  readonly mapping: SensitivityMapping;
  readonly #columns: Map<string, SensitivityEntry>;
  readonly #tables: Map<string, SensitivityEntry>;
  readonly #patterns: readonly CompiledPattern[];

  constructor(mapping: SensitivityMapping) {
    this.mapping = mapping;
    this.#columns = new Map(Object.entries(mapping.columns).map(([k, v]) => [k.toUpperCase(), v]));
    this.#tables = new Map(Object.entries(mapping.tables).map(([k, v]) => [k.toUpperCase(), v]));
    this.#patterns = mapping.patterns.map((p) => ({ ...p, regex: p.name === undefined ? null : new RegExp(p.name, 'u') }));
  }

  /**
   * @example
   *   classifier.classify('ER_PRS_F', { name: 'BEN_NIR_PSA', type: 'string', format: null, nomenclature: null })
   *   // → { sensitivity: 'pseudonym', reason: '…', rule: 'column:BEN_NIR_PSA' }
   */
  classify(table: string, column: Pick<ColumnDefinition, 'name' | 'type' | 'format' | 'nomenclature'>): SensitivityDecision {
    const t = table.toUpperCase();
    const c = column.name.toUpperCase();
    const qualified = this.#columns.get(`${t}.${c}`);
    if (qualified !== undefined) return { ...qualified, rule: `column:${t}.${c}` };
    const plain = this.#columns.get(c);
    if (plain !== undefined) return { ...plain, rule: `column:${c}` };
    const whole = this.#tables.get(t);
    if (whole !== undefined) return { ...whole, rule: `table:${t}` };
    for (const p of this.#patterns) {
      if (p.regex !== null && !p.regex.test(c)) continue;
      if (p.types !== undefined && !p.types.includes(column.type)) continue;
      if (p.formats !== undefined && (column.format === null || !p.formats.includes(column.format))) continue;
      if (p.nomenclatures !== undefined && (column.nomenclature === null || !p.nomenclatures.includes(column.nomenclature.split(':')[0] ?? ''))) continue;
      if (p.tables !== undefined && !p.tables.some((x) => x.toUpperCase() === t)) continue;
      return { sensitivity: p.sensitivity, reason: p.reason, rule: `pattern:${p.id}` };
    }
    return { ...this.mapping.default, rule: 'default' };
  }

  /** True when a reviewer named this column (or its whole table) explicitly. */
  hasExplicitEntry(table: string, column: string): boolean {
    const t = table.toUpperCase();
    const c = column.toUpperCase();
    return this.#columns.has(`${t}.${c}`) || this.#columns.has(c) || this.#tables.has(t);
  }
}

function bad(file: string, path: string, why: string): AppError {
  return new AppError('invalid', `invalid sensitivity mapping ${file} at ${path}: ${why}`, {
    hint: 'each entry needs "sensitivity" (one of ' + SENSITIVITIES.join(', ') + ') and a one-line "reason"',
    details: { file, path },
  });
}

function entry(v: unknown, file: string, path: string): SensitivityEntry {
  if (typeof v !== 'object' || v === null) throw bad(file, path, 'expected an object');
  const o = v as Record<string, unknown>;
  const s = o['sensitivity'];
  if (typeof s !== 'string' || !(SENSITIVITIES as readonly string[]).includes(s)) {
    throw bad(file, `${path}.sensitivity`, `expected one of ${SENSITIVITIES.join(', ')}`);
  }
  const reason = o['reason'];
  if (typeof reason !== 'string' || reason.trim() === '' || reason.includes('\n')) {
    throw bad(file, `${path}.reason`, 'a one-line reason is required');
  }
  return { sensitivity: s as Sensitivity, reason };
}

function optStrings(v: unknown, file: string, path: string): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(file, path, 'expected an array of strings');
  return v;
}

/** Validates a parsed mapping document (keys starting with `$` are comments). */
export function parseSensitivityMapping(doc: unknown, file: string): SensitivityMapping {
  if (typeof doc !== 'object' || doc === null) throw bad(file, '$', 'expected an object');
  const o = doc as Record<string, unknown>;
  const section = (key: string): Record<string, SensitivityEntry> => {
    const v = o[key] ?? {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(file, key, 'expected an object');
    const out: Record<string, SensitivityEntry> = {};
    for (const [k, e] of Object.entries(v)) if (!k.startsWith('$')) out[k] = entry(e, file, `${key}.${k}`);
    return out;
  };
  const patternsJson = o['patterns'] ?? [];
  if (!Array.isArray(patternsJson)) throw bad(file, 'patterns', 'expected an array');
  const ids = new Set<string>();
  const patterns = patternsJson.map((p: unknown, i): SensitivityPattern => {
    const path = `patterns[${i}]`;
    const base = entry(p, file, path);
    const r = p as Record<string, unknown>;
    const id = r['id'];
    if (typeof id !== 'string' || id === '' || ids.has(id)) throw bad(file, `${path}.id`, 'a unique id is required');
    ids.add(id);
    const name = r['name'];
    if (name !== undefined) {
      if (typeof name !== 'string') throw bad(file, `${path}.name`, 'expected a regular expression string');
      try {
        new RegExp(name, 'u');
      } catch {
        throw bad(file, `${path}.name`, 'not a valid regular expression');
      }
    }
    const types = optStrings(r['types'], file, `${path}.types`);
    const formats = optStrings(r['formats'], file, `${path}.formats`);
    const nomenclatures = optStrings(r['nomenclatures'], file, `${path}.nomenclatures`);
    const tables = optStrings(r['tables'], file, `${path}.tables`);
    if (name === undefined && types === undefined && nomenclatures === undefined && tables === undefined) {
      throw bad(file, path, 'a pattern needs at least one condition (name, types, nomenclatures or tables)');
    }
    return {
      ...base,
      id,
      ...(typeof name === 'string' ? { name } : {}),
      ...(types === undefined ? {} : { types }),
      ...(formats === undefined ? {} : { formats }),
      ...(nomenclatures === undefined ? {} : { nomenclatures }),
      ...(tables === undefined ? {} : { tables }),
    };
  });
  return { default: entry(o['default'], file, 'default'), columns: section('columns'), tables: section('tables'), patterns };
}

/** Reads and validates a mapping file; defaults to the SNDS mapping shipped in the repo. */
export async function loadSensitivityMapping(file: string = SNDS_SENSITIVITY_FILE): Promise<SensitivityClassifier> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new AppError('invalid', `cannot read sensitivity mapping ${file}`, { hint: 'the file must exist and be valid JSON', cause: e });
  }
  return new SensitivityClassifier(parseSensitivityMapping(doc, file));
}
