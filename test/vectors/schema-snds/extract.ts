/**
 * Rebuilds `tables.json` and `nomenclatures/` from a checkout of the community SNDS schema
 * (repository `indsante/schema-snds`): keeps the structure (tables, columns, types, lengths,
 * formats, constraints, nomenclature links, keys, product) and drops every description, title
 * and note, which are prose. Run from the repository root:
 *
 *   node test/vectors/schema-snds/extract.ts PATH/TO/schema-snds
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const src = process.argv[2];
if (src === undefined) throw new Error('usage: node test/vectors/schema-snds/extract.ts PATH/TO/schema-snds');
const out = new URL('./', import.meta.url).pathname;

const TABLE_KEYS = ['name', 'produit', 'missingValues', 'primaryKey', 'foreignKeys'];
const FIELD_KEYS = ['name', 'type', 'nomenclature', 'length', 'format', 'constraints', 'trueValues', 'falseValues'];
const pick = (o: Record<string, unknown>, keys: string[]): Record<string, unknown> => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));

const tables: { path: string; schema: Record<string, unknown> }[] = [];
const communeInDescription: string[] = [];
const schemas = join(src, 'schemas');
for (const f of readdirSync(schemas, { recursive: true }).map(String).filter((x) => x.endsWith('.json')).sort()) {
  const doc = JSON.parse(readFileSync(join(schemas, f), 'utf8')) as Record<string, unknown> & { name: string; fields: Record<string, unknown>[] };
  for (const c of doc.fields) if (/\bcommunes?\b/i.test(String(c['description'] ?? ''))) communeInDescription.push(`${doc.name}.${String(c['name'])}`);
  tables.push({ path: f, schema: { ...pick(doc, TABLE_KEYS), fields: doc.fields.map((c) => pick(c, FIELD_KEYS)) } });
}
writeFileSync(join(out, 'tables.json'), `${JSON.stringify({ communeInDescription, tables })}\n`);

// Code lists some tests read: departments in full, and only the ICD-10 codes Enclave's own
// synthetic list uses (plus C51, the first code) out of the 1.8 MB reference list.
const NOM = join(src, 'nomenclatures');
const ownCim = new Set(readFileSync('schemas/snds/nomenclatures/IR_CIM_V.csv', 'utf8').split('\n').slice(1).map((l) => l.split(';')[0]));
ownCim.add('C51');
ownCim.add('I10');
for (const [dir, name, csv] of [['ORAVAL', 'IR_DPT_V', 'all'], ['ORAVAL', 'IR_CIM_V', 'ours'], ['DREES', 'IR_PHA_R', 'none']] as const) {
  mkdirSync(join(out, 'nomenclatures', dir), { recursive: true });
  const doc = JSON.parse(readFileSync(join(NOM, dir, `${name}.json`), 'utf8')) as Record<string, unknown> & { fields: Record<string, unknown>[] };
  const slim = { ...pick(doc, ['name', 'title', 'missingValues', 'primaryKey']), fields: doc.fields.map((c) => pick(c, [...FIELD_KEYS, 'role'])) };
  writeFileSync(join(out, 'nomenclatures', dir, `${name}.json`), `${JSON.stringify(slim, null, 1)}\n`);
  if (csv === 'none') continue;
  const lines = readFileSync(join(NOM, dir, `${name}.csv`), 'utf8').split('\n').filter((l) => l !== '');
  const kept = csv === 'all' ? lines : [lines[0] ?? '', ...lines.slice(1).filter((l) => ownCim.has(l.split(';')[0]))];
  writeFileSync(join(out, 'nomenclatures', dir, `${name}.csv`), `${kept.join('\n')}\n`);
}
console.log(`${tables.length} tables, ${communeInDescription.length} columns with a commune in their description`);
