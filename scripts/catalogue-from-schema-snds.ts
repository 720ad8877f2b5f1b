/**
 * Writes the structure of the whole SNDS main base into the product's built-in catalogue
 * (`schemas/snds/`), from a checkout of the public SNDS schema repository (`indsante/schema-snds`,
 * MPL-2.0). Run by an operator, from the repository root:
 *
 *   node_modules/.bin/node scripts/catalogue-from-schema-snds.ts PATH/TO/schema-snds [--out DIR]
 *
 * What is copied are facts: table and column names, types, lengths, formats, constraints,
 * nomenclature links, keys, product. Never the prose (titles, descriptions, notes, management
 * rules): official descriptions come by `enclave catalog import` from the operator's own copy.
 *
 * The main base is every product of the repository except DAMIR and Open DAMIR, which are
 * aggregated open data (no person-level rows, published outside the SNDS access procedure).
 * See docs/catalogue.md.
 *
 * The tables the product itself describes (`src/synth/build-schema.ts`: the ones `enclave synth`
 * generates) keep the product's fields verbatim and first, with their descriptions and
 * constraints, and their own keys; the public schema's other columns follow, marked
 * `"enclave": {"catalogueOnly": true}` (never required, never generated), and its foreign keys
 * to tables the product does not describe are added.
 *
 * Missing nomenclatures (linked but absent from the checkout, or present without their CSV) are
 * reported as a list; they never stop the script.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDatapackage, buildTableSchema, TABLES } from '../src/synth/build-schema.ts';

export const SOURCE_REPOSITORY = 'indsante/schema-snds';
export const SOURCE_COMMIT = 'fe17ef8348aeb74f38c29016f49e65f82a6168b6';
/** Products of the public schema left out of the main base (aggregated open data). */
export const EXCLUDED_PRODUCTS = ['DAMIR'] as const;

type Obj = Record<string, unknown>;
interface PublicField extends Obj { name: string; type?: string; nomenclature?: string }
interface PublicTable extends Obj { name: string; fields: PublicField[]; produit?: string }
interface Fk { fields: string[]; reference: { resource: string; fields: string[] } }

const CONSTRAINT_KEYS = ['required', 'unique', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength'];
const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const pick = (o: Obj, keys: readonly string[]): Obj => Object.fromEntries(keys.filter((k) => o[k] !== undefined && o[k] !== '').map((k) => [k, o[k]]));

/** Folder of a product inside schemas/snds: ASCII, no spaces (`PMSI/PMSI MCO` → `PMSI_MCO`). */
export function productFolder(relDir: string): string {
  const last = relDir.split(/[\\/]/).filter((x) => x !== '').at(-1) ?? 'OTHER';
  return last.normalize('NFD').replace(/\p{M}/gu, '').toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_|_$/g, '');
}

/** One field as structure only: the prose keys (description, observation, rules) are dropped. */
function structureField(f: PublicField): Obj {
  const out: Obj = { name: f.name, type: f.type ?? 'string', description: '' };
  if (typeof f.nomenclature === 'string' && f.nomenclature.trim() !== '' && f.nomenclature.trim() !== '-') out['nomenclature'] = f.nomenclature.trim();
  Object.assign(out, pick(f, ['length', 'format', 'trueValues', 'falseValues']));
  const c = f['constraints'];
  // Upstream constraints sometimes carry a prose "description": only the Table Schema keys are facts.
  if (typeof c === 'object' && c !== null) {
    const kept = pick(c as Obj, CONSTRAINT_KEYS);
    if (Object.keys(kept).length > 0) out['constraints'] = kept;
  }
  return out;
}

function normaliseFks(v: unknown): Fk[] {
  if (!Array.isArray(v)) return [];
  return v.map((x: Obj) => {
    const ref = (x['reference'] ?? {}) as Obj;
    return { fields: list(x['fields']), reference: { resource: typeof ref['resource'] === 'string' ? ref['resource'] : '', fields: list(ref['fields']) } };
  });
}

export interface GenerationReport {
  tables: number;
  columns: number;
  byProduct: Record<string, number>;
  /** Linked nomenclatures absent from the checkout. */
  missingNomenclatures: string[];
  /** Linked nomenclatures whose schema is there but whose CSV (codes) is not. */
  nomenclaturesWithoutCodes: string[];
  /** Product columns whose type differs from the public schema's (the product's is kept). */
  typeDifferences: string[];
  /** Product columns the public schema does not have (kept). */
  productOnlyColumns: string[];
}

/** Every file to write under schemas/snds, as relative path → content, and what was found. */
export function renderCatalogue(checkout: string): { files: Map<string, string>; report: GenerationReport } {
  const schemas = join(checkout, 'schemas');
  if (!existsSync(schemas)) throw new Error(`${checkout} has no schemas/ folder: give the root of a checkout of ${SOURCE_REPOSITORY}`);
  const own = new Map(TABLES.map((t) => [t.name, t]));
  const files = new Map<string, string>();
  const report: GenerationReport = { tables: 0, columns: 0, byProduct: {}, missingNomenclatures: [], nomenclaturesWithoutCodes: [], typeDifferences: [], productOnlyColumns: [] };
  const linked = new Set<string>();
  const seen = new Set<string>();
  const paths = readdirSync(schemas, { recursive: true }).map(String).filter((f) => f.endsWith('.json')).sort();
  for (const rel of paths) {
    const relDir = dirname(rel);
    if ((EXCLUDED_PRODUCTS as readonly string[]).includes(relDir.split(sep)[0] ?? '')) continue;
    const doc = JSON.parse(readFileSync(join(schemas, rel), 'utf8')) as PublicTable;
    if (seen.has(doc.name)) throw new Error(`table ${doc.name} is defined twice in ${schemas}`);
    seen.add(doc.name);
    for (const f of doc.fields) if (typeof f.nomenclature === 'string' && f.nomenclature.trim() !== '-' && f.nomenclature.trim() !== '') linked.add(f.nomenclature.trim().split(':')[0] ?? '');
    const publicFks = normaliseFks(doc['foreignKeys']);
    const mine = own.get(doc.name);
    let schema: Obj;
    let folder: string;
    if (mine === undefined) {
      folder = productFolder(relDir);
      schema = {
        name: doc.name,
        title: '',
        product: doc.produit ?? folder,
        ...pick(doc, ['missingValues']),
        fields: doc.fields.map(structureField),
        primaryKey: list(doc['primaryKey']),
        foreignKeys: publicFks,
        // Cartography tables are named with a 4-digit year (`CT_DEP_AAAA_GN` ← `CT_DEP_2019_GN`).
        ...(doc.name.includes('AAAA') ? { enclave: { yearFromName: doc.name.replace('AAAA', '([0-9]{4})') } } : {}),
      };
    } else {
      folder = mine.product;
      const base = buildTableSchema(mine) as Obj & { fields: Obj[]; foreignKeys?: Fk[] };
      const ownNames = new Set(mine.fields.map((f) => f.name));
      const publicNames = new Set(doc.fields.map((f) => f.name));
      for (const f of mine.fields) {
        const p = doc.fields.find((x) => x.name === f.name);
        if (p === undefined) report.productOnlyColumns.push(`${doc.name}.${f.name}`);
        else if ((p.type ?? 'string') !== f.type) report.typeDifferences.push(`${doc.name}.${f.name}: product ${f.type}, public ${p.type ?? 'string'}`);
      }
      const extra = doc.fields.filter((f) => !ownNames.has(f.name)).map((f) => ({ ...structureField(f), enclave: { catalogueOnly: true } }));
      const ownTables = new Set(TABLES.map((t) => t.name));
      // Keys among the product's tables are the generator's contract; the public ones to other tables are added.
      const addedFks = publicFks.filter((fk) => !ownTables.has(fk.reference.resource) && fk.fields.every((c) => ownNames.has(c) || publicNames.has(c)));
      const { enclave, ...rest } = base;
      schema = { ...rest, fields: [...base.fields, ...extra], foreignKeys: [...(base.foreignKeys ?? []), ...addedFks], enclave };
    }
    const columns = (schema['fields'] as Obj[]).length;
    report.tables += 1;
    report.columns += columns;
    report.byProduct[folder] = (report.byProduct[folder] ?? 0) + 1;
    files.set(`${folder}/${doc.name}.json`, JSON.stringify(schema, null, 2) + '\n');
  }
  for (const t of TABLES) if (!seen.has(t.name)) throw new Error(`the product's table ${t.name} is not in ${schemas}: is this a checkout of ${SOURCE_REPOSITORY}?`);
  // The datapackage lists the tables the product generates, with their file rules (see src/synth).
  files.set('datapackage.json', JSON.stringify(buildDatapackage(), null, 2) + '\n');
  const noms = join(checkout, 'nomenclatures');
  const present = new Map<string, Set<string>>();
  if (existsSync(noms)) {
    for (const f of readdirSync(noms, { recursive: true }).map(String)) {
      const m = /^(.*)\.(json|csv)$/i.exec(basename(f));
      if (m === null) continue;
      const s = present.get(m[1] ?? '') ?? new Set<string>();
      s.add((m[2] ?? '').toLowerCase());
      present.set(m[1] ?? '', s);
    }
  }
  for (const n of [...linked].sort()) {
    const s = present.get(n);
    if (s === undefined) report.missingNomenclatures.push(n);
    else if (!s.has('csv')) report.nomenclaturesWithoutCodes.push(n);
  }
  files.set('NOTICE.md', notice(report));
  return { files, report };
}

function notice(r: GenerationReport): string {
  return `# schemas/snds: origin of the structure

The table schemas in this folder describe the structure of the SNDS main base: ${r.tables} tables,
${r.columns} columns. Their names, types, lengths, formats, constraints, nomenclature links, keys
and products are copied from the SNDS schema maintained by the French Health Data Hub and the SNDS
community:

- repository \`${SOURCE_REPOSITORY}\`, commit \`${SOURCE_COMMIT}\` (2020-12-15);
- licence: Mozilla Public License 2.0, in \`LICENSE.schema-snds\` beside this file; the source
  form of these files is the repository above.

No description, title or note of that repository is copied: descriptions here are Enclave's own
(the tables \`enclave synth\` generates) or empty. Import the official descriptions from your own
copy with \`enclave catalog import\`.

Left out: ${EXCLUDED_PRODUCTS.join(', ')} (aggregated open data, no person-level rows).

Generated by \`scripts/catalogue-from-schema-snds.ts\`; the nomenclature CSVs under
\`nomenclatures/\` are Enclave's own (see nomenclatures/README.md).
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : fileURLToPath(new URL('../schemas/snds/', import.meta.url));
  const checkout = args.find((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1));
  if (checkout === undefined || out === undefined) {
    console.error('usage: node scripts/catalogue-from-schema-snds.ts PATH/TO/schema-snds [--out DIR]');
    process.exit(2);
  }
  const { files, report } = renderCatalogue(resolve(checkout));
  // Table folders are regenerated whole; the nomenclatures folder (Enclave's own lists) is kept.
  for (const e of existsSync(out) ? readdirSync(out, { withFileTypes: true }) : []) {
    if (e.isDirectory() && e.name !== 'nomenclatures') rmSync(join(out, e.name), { recursive: true });
  }
  for (const [rel, text] of files) {
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    writeFileSync(join(out, rel), text);
  }
  copyFileSync(join(checkout, 'LICENSE'), join(out, 'LICENSE.schema-snds'));
  console.log(`${report.tables} tables, ${report.columns} columns written under ${relative(process.cwd(), out) || '.'}`);
  console.log(`by product: ${Object.entries(report.byProduct).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`missing nomenclatures (${report.missingNomenclatures.length}): ${report.missingNomenclatures.join(', ') || 'none'}`);
  console.log(`nomenclatures without codes (${report.nomenclaturesWithoutCodes.length}): ${report.nomenclaturesWithoutCodes.join(', ') || 'none'}`);
  console.log(`product columns typed differently upstream (${report.typeDifferences.length}, product type kept): ${report.typeDifferences.join('; ') || 'none'}`);
  console.log(`product-only columns (${report.productOnlyColumns.length}): ${report.productOnlyColumns.join(', ') || 'none'}`);
}
