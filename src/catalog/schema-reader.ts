/**
 * Reads a directory of Frictionless Table Schema files (one JSON per table, nomenclatures as
 * `;`-separated CSV with an optional JSON schema beside them) into plain definitions.
 * Every problem is an `AppError('invalid')` naming the file, the JSON path and why.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { AppError } from '../errors.ts';
import {
  COLUMN_TYPES,
  type ColumnConstraints,
  type ColumnDefinition,
  type ColumnType,
  type ForeignKey,
  type NomenclatureDefinition,
  type SchemaDirectory,
  type TableDefinition,
} from './types.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const DATAPACKAGE = 'datapackage.json';
/** Folder name under which JSON files describe code lists rather than tables. */
const NOMENCLATURE_DIR = 'nomenclatures';

/** Thrown with the file and JSON path, so the operator can open the file at the spot. */
function invalid(file: string, path: string, why: string): AppError {
  const at = path === '' ? '' : ` at ${path}`;
  return new AppError('invalid', `invalid schema file ${file}${at}: ${why}`, {
    hint: 'fix the file (Frictionless Table Schema: https://specs.frictionlessdata.io/table-schema/) and import again',
    details: { file, path },
  });
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: JsonObject, key: string, file: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(file, `${path}.${key}`, `expected a string, got ${typeName(v)}`);
  return v;
}

function reqString(o: JsonObject, key: string, file: string, path: string): string {
  const v = optString(o, key, file, path);
  if (v === null || v.trim() === '') throw invalid(file, `${path}.${key}`, 'required non-empty string is missing');
  return v;
}

function typeName(v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** `"A"` or `["A","B"]` → `["A","B"]` (Table Schema allows both for keys). */
function stringList(v: Json | undefined, file: string, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw invalid(file, path, 'expected a field name or an array of field names');
}

function parseJson(text: string, file: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw invalid(file, '', `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

const CONSTRAINT_KEYS = ['required', 'unique', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength'] as const;

function readConstraints(v: Json | undefined, file: string, path: string): ColumnConstraints {
  // Each key is validated against its ColumnConstraints type below before it is copied.
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(file, path, `expected an object, got ${typeName(v)}`);
  const out: Record<string, unknown> = {};
  for (const key of CONSTRAINT_KEYS) {
    const c = v[key];
    if (c === undefined || c === null) continue;
    const p = `${path}.${key}`;
    switch (key) {
      case 'required':
      case 'unique':
        if (typeof c !== 'boolean') throw invalid(file, p, 'expected true or false');
        break;
      case 'enum':
        if (!Array.isArray(c) || !c.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) {
          throw invalid(file, p, 'expected an array of strings, numbers or booleans');
        }
        break;
      case 'pattern':
        if (typeof c !== 'string') throw invalid(file, p, 'expected a regular expression string');
        try {
          new RegExp(c, 'u');
        } catch {
          throw invalid(file, p, 'not a valid regular expression');
        }
        break;
      case 'minimum':
      case 'maximum':
        if (typeof c !== 'number' && typeof c !== 'string') throw invalid(file, p, 'expected a number or a string');
        break;
      case 'minLength':
      case 'maxLength':
        if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) throw invalid(file, p, 'expected a non-negative integer');
        break;
    }
    out[key] = c;
  }
  return out;
}

function readColumn(f: Json, file: string, path: string): ColumnDefinition {
  if (!isObject(f)) throw invalid(file, path, `expected a field object, got ${typeName(f)}`);
  const name = reqString(f, 'name', file, path);
  const rawType = optString(f, 'type', file, path) ?? 'string';
  if (!(COLUMN_TYPES as readonly string[]).includes(rawType)) {
    throw invalid(file, `${path}.type`, `unknown type "${rawType}" (expected one of ${COLUMN_TYPES.join(', ')})`);
  }
  const nom = optString(f, 'nomenclature', file, path);
  const len = f['length'];
  let length: string | null = null;
  if (typeof len === 'number') length = String(len);
  else if (typeof len === 'string') length = len.trim() === '' ? null : len.trim();
  else if (len !== undefined && len !== null) throw invalid(file, `${path}.length`, `expected a string or number, got ${typeName(len)}`);
  const format = optString(f, 'format', file, path);
  return {
    name,
    type: rawType as ColumnType,
    description: optString(f, 'description', file, path) ?? '',
    nomenclature: nom === null || nom.trim() === '' || nom.trim() === '-' ? null : nom.trim(),
    length,
    format: format === '' ? null : format,
    constraints: readConstraints(f['constraints'], file, `${path}.constraints`),
  };
}

/** Parses one table schema file's JSON text. Exported for tests and for single-file tools. */
export function parseTableSchema(text: string, file: string): TableDefinition {
  const doc = parseJson(text, file);
  if (!isObject(doc)) throw invalid(file, '', 'expected a Table Schema object');
  const fieldsJson = doc['fields'];
  if (!Array.isArray(fieldsJson)) throw invalid(file, 'fields', 'a Table Schema needs a "fields" array');
  const columns = fieldsJson.map((f, i) => readColumn(f, file, `fields[${i}]`));
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (seen.has(c.name)) throw invalid(file, `fields[${i}].name`, `duplicate column name "${c.name}"`);
    seen.add(c.name);
  });
  const fallbackName = basename(file).replace(/\.json$/i, '');
  const name = optString(doc, 'name', file, '') ?? fallbackName;
  const primaryKey = stringList(doc['primaryKey'], file, 'primaryKey');
  primaryKey.forEach((k, i) => {
    if (!seen.has(k)) throw invalid(file, `primaryKey[${i}]`, `"${k}" is not a column of ${name}`);
  });
  const fkJson = doc['foreignKeys'] ?? [];
  if (!Array.isArray(fkJson)) throw invalid(file, 'foreignKeys', 'expected an array');
  const foreignKeys: ForeignKey[] = fkJson.map((fk, i) => {
    const p = `foreignKeys[${i}]`;
    if (!isObject(fk)) throw invalid(file, p, 'expected an object with fields and reference');
    const fields = stringList(fk['fields'], file, `${p}.fields`);
    fields.forEach((k, j) => {
      if (!seen.has(k)) throw invalid(file, `${p}.fields[${j}]`, `"${k}" is not a column of ${name}`);
    });
    const ref = fk['reference'];
    if (!isObject(ref)) throw invalid(file, `${p}.reference`, 'expected an object with resource and fields');
    const resource = optString(ref, 'resource', file, `${p}.reference`) ?? '';
    const refFields = stringList(ref['fields'], file, `${p}.reference.fields`);
    if (refFields.length !== fields.length) {
      throw invalid(file, `${p}.reference.fields`, `${refFields.length} referenced fields for ${fields.length} local fields`);
    }
    // Table Schema: an empty resource means "this same table".
    return { fields, reference: { resource: resource === '' ? name : resource, fields: refFields } };
  });
  const enclave = doc['enclave'];
  if (enclave !== undefined && enclave !== null && !isObject(enclave)) throw invalid(file, 'enclave', 'expected an object');
  const title = optString(doc, 'title', file, '') ?? '';
  return {
    name,
    title,
    description: optString(doc, 'description', file, '') ?? '',
    // The SNDS schema spells it `produit`.
    product: optString(doc, 'product', file, '') ?? optString(doc, 'produit', file, '') ?? '',
    primaryKey,
    foreignKeys,
    enclave: isObject(enclave) ? enclave : null,
    sourceFile: file,
    columns,
  };
}

function readCsvCodes(text: string, file: string, codeField: string, labelField: string | null): [string, string | null][] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv<Record<string, string>>(text, {
      delimiter: ';',
      columns: true,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      relax_quotes: true,
    });
  } catch (e) {
    throw invalid(file, '', `not a readable ;-separated CSV (${e instanceof Error ? e.message : String(e)})`);
  }
  const first = rows[0];
  if (first !== undefined && !(codeField in first)) throw invalid(file, '', `the header has no column "${codeField}"`);
  // Some lists repeat a code across versions of its label: keep the first label seen.
  const codes = new Map<string, string | null>();
  for (const row of rows) {
    const code = row[codeField];
    if (code === undefined || code === '' || codes.has(code)) continue;
    codes.set(code, labelField === null ? null : (row[labelField] ?? null));
  }
  return [...codes];
}

function csvHeader(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return line.split(';').map((h) => h.replace(/^"|"$/g, '').trim());
}

async function readNomenclature(root: string, jsonFile: string | null, csvFile: string | null): Promise<NomenclatureDefinition> {
  const rel = (f: string) => relative(root, f).split(sep).join('/');
  const mainFile = rel(jsonFile ?? csvFile ?? '');
  const csvText = csvFile === null ? null : await readFile(csvFile, 'utf8');
  const folder = basename(dirname(jsonFile ?? csvFile ?? ''));
  const source = folder === NOMENCLATURE_DIR ? '' : folder;
  const fallbackName = basename(mainFile).replace(/\.(json|csv)$/i, '');
  let name = fallbackName;
  let title = '';
  let description = '';
  let fields: { name: string; type: string }[];
  let codeField: string;
  let labelField: string | null;
  if (jsonFile !== null) {
    const doc = parseJson(await readFile(jsonFile, 'utf8'), mainFile);
    if (!isObject(doc)) throw invalid(mainFile, '', 'expected a Table Schema object');
    const fj = doc['fields'];
    if (!Array.isArray(fj) || fj.length === 0) throw invalid(mainFile, 'fields', 'a nomenclature schema needs a non-empty "fields" array');
    const roles: { name: string; type: string; role: string | null }[] = fj.map((f, i) => {
      if (!isObject(f)) throw invalid(mainFile, `fields[${i}]`, 'expected a field object');
      return {
        name: reqString(f, 'name', mainFile, `fields[${i}]`),
        type: optString(f, 'type', mainFile, `fields[${i}]`) ?? 'string',
        role: optString(f, 'role', mainFile, `fields[${i}]`),
      };
    });
    fields = roles.map(({ name: n, type }) => ({ name: n, type }));
    const pk = stringList(doc['primaryKey'], mainFile, 'primaryKey');
    codeField = roles.find((f) => f.role === 'code')?.name ?? pk[0] ?? fields[0]?.name ?? '';
    labelField = roles.find((f) => f.role === 'label')?.name ?? null;
    name = optString(doc, 'name', mainFile, '') ?? fallbackName;
    title = optString(doc, 'title', mainFile, '') ?? '';
    description = optString(doc, 'description', mainFile, '') ?? '';
  } else {
    // A bare CSV: the code is the first column, the label the first *_LIB column.
    const header = csvHeader(csvText ?? '');
    fields = header.map((h) => ({ name: h, type: 'string' }));
    codeField = header[0] ?? '';
    labelField = header.find((h) => /_LIB$/i.test(h)) ?? null;
    if (codeField === '') throw invalid(mainFile, '', 'empty CSV: no header line');
  }
  const codes = csvText === null ? null : readCsvCodes(csvText, rel(csvFile ?? ''), codeField, labelField);
  return { name, title, description, source, codeField, labelField, fields, codes, sourceFile: mainFile };
}

/** True when a JSON text is a schema whose fields give a `role` (code, label): the nomenclature convention. */
function hasCodeRole(text: string): boolean {
  try {
    const doc = JSON.parse(text) as Json;
    return isObject(doc) && Array.isArray(doc['fields']) && doc['fields'].some((f) => isObject(f) && typeof f['role'] === 'string');
  } catch {
    return false;
  }
}

/** The header of a SAS `PROC CONTENTS` listing as producers export it (`;` or `,` separated, any case). */
export const PROC_CONTENTS_HEADER = ['MEMNAME', 'NAME', 'FORMAT', 'FORMATL', 'FORMATD', 'DATATYPE'] as const;

function listingHeader(text: string): { delimiter: string; fields: string[] } {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = line.includes(';') ? ';' : ',';
  return { delimiter, fields: line.split(delimiter).map((h) => h.replace(/^"|"$/g, '').trim().toUpperCase()) };
}

export function isProcContents(text: string): boolean {
  const { fields } = listingHeader(text);
  return PROC_CONTENTS_HEADER.every((h) => fields.includes(h));
}

/**
 * SAS formats as Table Schema types and `strptime` formats. Date formats say how SAS prints the
 * value in an export (`DDMMYY10.` → 31/12/2020, `DATETIME20.` → 20NOV1985:13:13:57).
 */
function sasType(format: string, length: number, decimals: number, datatype: string): { type: ColumnType; format: string | null } {
  const f = format.toUpperCase().replace(/[0-9.]+$/, '');
  if (/^(C|CHAR|\$)/.test(datatype.toUpperCase()) || datatype === '2' || f.startsWith('$')) return { type: 'string', format: null };
  if (f.startsWith('DATETIME')) return { type: 'datetime', format: '%d%b%Y:%H:%M:%S' };
  if (f === 'DATE') return { type: 'date', format: '%d%b%Y' };
  if (f === 'DDMMYY') return { type: 'date', format: length >= 10 ? '%d/%m/%Y' : '%d%m%Y' };
  if (f === 'DDMMYYN') return { type: 'date', format: '%d%m%Y' };
  if (f === 'YYMMDD') return { type: 'date', format: length >= 10 ? '%Y-%m-%d' : '%Y%m%d' };
  if (f === 'YYMMDDN') return { type: 'date', format: '%Y%m%d' };
  if (f === 'E8601DA' || f === 'IS8601DA') return { type: 'date', format: '%Y-%m-%d' };
  if (f === 'E8601DT' || f === 'IS8601DT') return { type: 'datetime', format: '%Y-%m-%dT%H:%M:%S' };
  if (f === 'YYMMN' || f === 'YYMM') return { type: 'yearmonth', format: null };
  if (f === 'YEAR') return { type: 'year', format: null };
  // A numeric with decimals, or printed with BEST (any magnitude), is a number; one printed with a
  // whole-number format (F, Z, COMMA with no decimals) is an integer.
  if (decimals > 0 || f === '' || f === 'BEST') return { type: 'number', format: null };
  return { type: 'integer', format: null };
}

/**
 * Tables from a SAS `PROC CONTENTS` listing: one row per column (`MEMNAME;NAME;FORMAT;FORMATL;
 * FORMATD;DATATYPE`), grouped by table (MEMNAME) in listing order. Lengths come from FORMATL.
 */
export function parseProcContents(text: string, file: string): TableDefinition[] {
  const { delimiter } = listingHeader(text);
  let rows: Record<string, string>[];
  try {
    rows = parseCsv<Record<string, string>>(text, { delimiter, columns: (h: string[]) => h.map((x) => x.trim().toUpperCase()), bom: true, skip_empty_lines: true, trim: true, relax_quotes: true });
  } catch (e) {
    throw invalid(file, '', `not a readable PROC CONTENTS listing (${e instanceof Error ? e.message : String(e)})`);
  }
  const tables = new Map<string, ColumnDefinition[]>();
  for (const [i, r] of rows.entries()) {
    const line = `line ${i + 2}`;
    const table = (r['MEMNAME'] ?? '').toUpperCase();
    const name = (r['NAME'] ?? '').toUpperCase();
    if (table === '' || name === '') throw invalid(file, line, 'MEMNAME and NAME are required');
    const length = Number(r['FORMATL'] ?? '0');
    const decimals = Number(r['FORMATD'] ?? '0');
    if (!Number.isInteger(length) || length < 0) throw invalid(file, `${line} FORMATL`, `expected a whole number, got ${JSON.stringify(r['FORMATL'])}`);
    if (!Number.isInteger(decimals) || decimals < 0) throw invalid(file, `${line} FORMATD`, `expected a whole number, got ${JSON.stringify(r['FORMATD'])}`);
    const t = sasType(r['FORMAT'] ?? '', length, decimals, r['DATATYPE'] ?? '');
    const columns = tables.get(table) ?? [];
    if (columns.some((c) => c.name === name)) throw invalid(file, line, `column ${name} of ${table} is listed twice`);
    columns.push({ name, type: t.type, description: '', nomenclature: null, length: length > 0 ? String(length) : null, format: t.format, constraints: t.type === 'string' && length > 0 ? { maxLength: length } : {} });
    tables.set(table, columns);
  }
  return [...tables].map(([name, columns]) => ({ name, title: '', description: '', product: '', primaryKey: [], foreignKeys: [], enclave: null, sourceFile: file, columns }));
}

/**
 * Reads every table schema and nomenclature under `root`, recursively. A `datapackage.json`
 * gives the dataset title/description; JSON files inside a `nomenclatures` folder, or with a
 * CSV of the same name beside them, are nomenclatures; other JSON files are table schemas.
 *
 * @example
 *   const dir = await readSchemaDirectory('/srv/schema-snds/schemas');
 *   dir.tables.find((t) => t.name === 'ER_PRS_F')?.columns.length;
 */
export async function readSchemaDirectory(root: string): Promise<SchemaDirectory> {
  let entries: string[];
  // One file: a PROC CONTENTS listing or a single table schema.
  const single = await stat(root).catch(() => undefined);
  if (single?.isFile() === true) {
    const text = await readFile(root, 'utf8');
    if (isProcContents(text)) return { title: null, description: null, tables: parseProcContents(text, basename(root)), nomenclatures: [] };
    if (/\.json$/i.test(root)) return { title: null, description: null, tables: [parseTableSchema(text, basename(root))], nomenclatures: [] };
    throw new AppError('invalid', `${basename(root)} is neither a Table Schema JSON file nor a SAS PROC CONTENTS listing`, {
      hint: `a listing starts with the header ${PROC_CONTENTS_HEADER.join(';')}; or name a directory of Table Schema files`,
    });
  }
  try {
    entries = (await readdir(root, { recursive: true })).map(String);
  } catch (e) {
    throw new AppError('invalid', `cannot read schema directory ${root}`, {
      hint: 'name a directory holding Table Schema JSON files (one per table)',
      cause: e,
    });
  }
  const files = entries
    .filter((f) => !f.split(sep).some((part) => part.startsWith('.')))
    .map((f) => join(root, f))
    .sort();
  const fileSet = new Set(files);
  let title: string | null = null;
  let description: string | null = null;
  const tables: TableDefinition[] = [];
  const nomenclatures: NomenclatureDefinition[] = [];
  const underNomenclatures = (f: string) => relative(root, f).split(sep).slice(0, -1).includes(NOMENCLATURE_DIR);
  for (const file of files) {
    const rel = relative(root, file).split(sep).join('/');
    if (/\.json$/i.test(file)) {
      if (basename(file) === DATAPACKAGE) {
        const doc = parseJson(await readFile(file, 'utf8'), rel);
        if (!isObject(doc)) throw invalid(rel, '', 'expected a Data Package object');
        title = optString(doc, 'title', rel, '');
        description = optString(doc, 'description', rel, '');
        continue;
      }
      const csv = file.replace(/\.json$/i, '.csv');
      const text = await readFile(file, 'utf8');
      // A CSV beside a table schema is sample data (the public SNDS schema repository ships one per
      // table), not a code list: outside a nomenclatures folder, only a schema whose fields name a
      // code role is a nomenclature.
      if (underNomenclatures(file) || (fileSet.has(csv) && hasCodeRole(text))) {
        nomenclatures.push(await readNomenclature(root, file, fileSet.has(csv) ? csv : null));
      } else {
        tables.push(parseTableSchema(text, rel));
      }
    } else if (/\.(csv|txt)$/i.test(file) && !fileSet.has(file.replace(/\.(csv|txt)$/i, '.json'))) {
      if (underNomenclatures(file)) {
        if (/\.csv$/i.test(file)) nomenclatures.push(await readNomenclature(root, null, file));
      } else {
        const text = await readFile(file, 'utf8');
        if (isProcContents(text)) tables.push(...parseProcContents(text, rel));
      }
    }
  }
  const seenTables = new Map<string, string>();
  for (const t of tables) {
    const other = seenTables.get(t.name);
    if (other !== undefined) throw invalid(t.sourceFile, 'name', `table ${t.name} is also defined in ${other}`);
    seenTables.set(t.name, t.sourceFile);
  }
  // A field may point at another column of a code list ("IR_PHA_R:PHA_PRS_IDE"): that column's
  // values become a code list of their own, so membership is checked the same way.
  const refs = new Set(tables.flatMap((t) => t.columns.map((c) => c.nomenclature)).filter((n): n is string => n !== null && n.includes(':')));
  for (const ref of refs) {
    const [base = '', column = ''] = ref.split(':');
    const n = nomenclatures.find((x) => x.name === base);
    if (n === undefined || n.codes === null || !n.fields.some((f) => f.name === column)) continue;
    const csv = join(root, n.sourceFile.replace(/\.json$/i, '.csv'));
    const codes = readCsvCodes(await readFile(csv, 'utf8'), n.sourceFile, column, null);
    nomenclatures.push({ ...n, name: ref, title: `${n.title === '' ? base : n.title} (${column})`, codeField: column, labelField: null, codes });
  }
  const seenNoms = new Map<string, string>();
  for (const n of nomenclatures) {
    const other = seenNoms.get(n.name);
    if (other !== undefined) throw invalid(n.sourceFile, 'name', `nomenclature ${n.name} is also defined in ${other}`);
    seenNoms.set(n.name, n.sourceFile);
  }
  return { title, description, tables, nomenclatures };
}
