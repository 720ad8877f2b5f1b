/**
 * Reading the product's SNDS description (`schemas/snds/`) and its nomenclatures. The JSON
 * files are the contract; the generator, the row checker and ingestion all read them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { AppError } from '../errors.ts';

export interface SchemaField {
  readonly name: string;
  /** The generator's own tables use the first five; the rest of the catalogue also has the others. */
  readonly type: 'string' | 'integer' | 'number' | 'date' | 'year' | 'boolean' | 'yearmonth' | 'datetime';
  readonly description: string;
  readonly format: string;
  /** The public schema's length: `9`, or `7,4` for a number (digits, decimals). */
  readonly length?: string;
  readonly nomenclature?: string;
  readonly constraints?: {
    readonly required?: boolean;
    readonly enum?: readonly (string | number)[];
    readonly pattern?: string;
    readonly minimum?: number;
    readonly maximum?: number;
    readonly minLength?: number;
    readonly maxLength?: number;
  };
  readonly enclave?: { readonly identifiedOnly?: boolean; readonly check?: 'nir_key'; readonly catalogueOnly?: boolean };
}

export interface PartitionRule {
  readonly yearColumn?: string;
  readonly yearFromName?: string;
  readonly unpartitioned?: boolean;
}

export interface TableSchema {
  readonly name: string;
  readonly title: string;
  readonly product: string;
  readonly fields: readonly SchemaField[];
  readonly primaryKey?: readonly string[];
  readonly foreignKeys?: readonly {
    readonly fields: readonly string[];
    readonly reference: { readonly resource: string; readonly fields: readonly string[] };
  }[];
  readonly enclave: PartitionRule;
}

export interface DataPackage {
  readonly name: string;
  readonly dialect: { readonly delimiter: string; readonly header: boolean };
  readonly resources: readonly {
    readonly name: string;
    readonly schema: string;
    readonly pathPattern: string;
    readonly enclave: PartitionRule;
  }[];
}

export interface BuiltinSchema {
  readonly datapackage: DataPackage;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

export const SNDS_SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'snds');
export const BUILTIN_NOMENCLATURE_DIR = join(SNDS_SCHEMA_DIR, 'nomenclatures');

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (cause) {
    throw new AppError('internal', `cannot read the product schema file ${path}`, { cause });
  }
}

let cached: BuiltinSchema | undefined;

/**
 * The product's SNDS datapackage and its table schemas, parsed once.
 *
 * @example
 *   const { tables } = loadBuiltinSchema();
 *   tables.get('ER_PRS_F')?.fields.map((f) => f.name);
 */
export function loadBuiltinSchema(): BuiltinSchema {
  if (cached !== undefined) return cached;
  const datapackage = readJson(join(SNDS_SCHEMA_DIR, 'datapackage.json')) as DataPackage;
  const tables = new Map<string, TableSchema>();
  for (const r of datapackage.resources) tables.set(r.name, generatedView(readJson(join(SNDS_SCHEMA_DIR, r.schema)) as TableSchema, datapackage));
  cached = Object.freeze({ datapackage, tables });
  return cached;
}

/**
 * The part of a catalogue table the generator writes: the catalogue also lists the public
 * schema's other columns (`enclave.catalogueOnly`) and keys to tables the product does not
 * generate (scripts/catalogue-from-schema-snds.ts); the generator's files stay as they were.
 */
export function generatedView(t: TableSchema, datapackage: DataPackage): TableSchema {
  const generated = new Set(datapackage.resources.map((r) => r.name));
  const fks = (t.foreignKeys ?? []).filter((fk) => generated.has(fk.reference.resource));
  const { foreignKeys: _all, ...rest } = t;
  return { ...rest, fields: t.fields.filter((f) => f.enclave?.catalogueOnly !== true), ...(fks.length === 0 ? {} : { foreignKeys: fks }) };
}

let catalogue: ReadonlyMap<string, TableSchema> | undefined;

/**
 * Every table of the built-in catalogue (the whole main base), whole: catalogue-only columns and
 * keys to any table included. What the main-base generator (`--scope main`) writes.
 */
export function catalogueSchemas(): ReadonlyMap<string, TableSchema> {
  if (catalogue !== undefined) return catalogue;
  const m = new Map<string, TableSchema>();
  for (const e of readdirSync(SNDS_SCHEMA_DIR, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory() || e.name === 'nomenclatures') continue;
    for (const f of readdirSync(join(SNDS_SCHEMA_DIR, e.name)).sort()) {
      if (!f.endsWith('.json')) continue;
      const t = readJson(join(SNDS_SCHEMA_DIR, e.name, f)) as TableSchema;
      m.set(t.name, t);
    }
  }
  catalogue = m;
  return m;
}

/** One catalogue table, whole (see `catalogueSchemas`). */
export function catalogueSchema(name: string): TableSchema {
  const t = catalogueSchemas().get(name);
  if (t === undefined) throw new AppError('internal', `table ${name} is not in the built-in catalogue`);
  return t;
}

export function tableSchema(name: string): TableSchema {
  const t = loadBuiltinSchema().tables.get(name);
  if (t === undefined) throw new AppError('internal', `table ${name} is not in the product schema`);
  return t;
}

/** A nomenclature: its header and rows, keyed by the first column. */
export interface Nomenclature {
  readonly name: string;
  readonly source: string;
  readonly columns: readonly string[];
  readonly rows: readonly Readonly<Record<string, string>>[];
  /** Codes of the first column, and of any other column asked for via `NAME:COLUMN`. */
  codes(column?: string): ReadonlySet<string>;
}

function findFile(dir: string, fileName: string): string | undefined {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    throw new AppError('invalid', `cannot read the nomenclature directory ${dir}`, {
      cause,
      hint: 'give --nomenclatures a readable directory holding <NAME>.csv files',
    });
  }
  // Sorted so that the file found does not depend on directory listing order.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) if (e.isFile() && e.name === fileName) return join(dir, e.name);
  for (const e of entries) {
    if (e.isDirectory()) {
      const hit = findFile(join(dir, e.name), fileName);
      if (hit !== undefined) return hit;
    }
  }
  return undefined;
}

export function readNomenclatureFile(name: string, path: string): Nomenclature {
  let records: string[][];
  try {
    // csv-parse's overloads cannot infer rows without `columns`: the assertion is the narrowing.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    records = parse(readFileSync(path), {
      delimiter: ';', bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true, trim: true,
    }) as string[][];
  } catch (cause) {
    throw new AppError('invalid', `nomenclature ${name} (${path}) is not a ";"-separated CSV`, { cause });
  }
  const columns = records[0];
  if (columns === undefined || columns.length === 0) throw new AppError('invalid', `nomenclature ${name} (${path}) has no header`);
  const rows = records.slice(1).map((r) => {
    const o: Record<string, string> = {};
    columns.forEach((c, i) => (o[c] = r[i] ?? ''));
    return o;
  });
  const sets = new Map<string, Set<string>>();
  const codeColumn: string = columns[0] ?? '';
  return {
    name, source: path, columns, rows,
    codes(column = codeColumn): ReadonlySet<string> {
      let s = sets.get(column);
      if (s === undefined) {
        s = new Set(rows.map((r) => r[column] ?? '').filter((c) => c !== ''));
        sets.set(column, s);
      }
      return s;
    },
  };
}

/**
 * Loads nomenclatures by name: from the operator's directory (searched recursively by file
 * name) when given and the file is there, else from the product's built-in lists.
 */
export class NomenclatureSet {
  readonly operatorDir: string | undefined;
  private readonly loaded = new Map<string, { builtin: Nomenclature | undefined; active: Nomenclature }>();

  constructor(operatorDir?: string) {
    if (operatorDir !== undefined && !existsSync(operatorDir)) {
      throw new AppError('invalid', `nomenclature directory ${operatorDir} does not exist`, {
        hint: 'pass an existing directory to --nomenclatures, or leave it out to use the built-in lists',
      });
    }
    this.operatorDir = operatorDir;
  }

  private entry(name: string): { builtin: Nomenclature | undefined; active: Nomenclature } {
    const hit = this.loaded.get(name);
    if (hit !== undefined) return hit;
    const builtinPath = join(BUILTIN_NOMENCLATURE_DIR, `${name}.csv`);
    const builtin = existsSync(builtinPath) ? readNomenclatureFile(name, builtinPath) : undefined;
    const opPath = this.operatorDir === undefined ? undefined : findFile(this.operatorDir, `${name}.csv`);
    const active = opPath !== undefined ? readNomenclatureFile(name, opPath) : builtin;
    if (active === undefined) throw new AppError('invalid', `nomenclature ${name} not found`, { hint: `add ${name}.csv to the nomenclature directory` });
    const e = { builtin, active };
    this.loaded.set(name, e);
    return e;
  }

  /** The list codes are checked against. */
  get(name: string): Nomenclature {
    return this.entry(name).active;
  }

  /** The product's own list (with its SYN_* generation weights), if it ships one. */
  builtin(name: string): Nomenclature | undefined {
    return this.entry(name).builtin;
  }

  /** `NAME` or `NAME:COLUMN` as written in a field's `nomenclature`. */
  codesFor(ref: string): ReadonlySet<string> {
    const [name, column] = ref.split(':') as [string, string | undefined];
    return this.get(name).codes(column);
  }

  /**
   * Like `codesFor`, undefined when neither the operator's directory nor the product has the list:
   * the catalogue links many lists the product does not ship (checked only where codes exist, as ingestion does).
   */
  codesIfKnown(ref: string): ReadonlySet<string> | undefined {
    const name = ref.split(':')[0] ?? '';
    const shipped = existsSync(join(BUILTIN_NOMENCLATURE_DIR, `${name}.csv`));
    if (!shipped && (this.operatorDir === undefined || findFile(this.operatorDir, `${name}.csv`) === undefined)) return undefined;
    return this.codesFor(ref);
  }

  /** Which file each loaded nomenclature came from (for stats.json). */
  sources(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of [...this.loaded].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      o[k] = v.active === v.builtin ? 'builtin' : 'operator';
    }
    return o;
  }
}
