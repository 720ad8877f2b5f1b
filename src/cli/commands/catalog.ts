/**
 * `enclave catalog ls|show|search|import`: thin printers over CatalogService.
 */
import type { CatalogService, CatalogTable, ImportOptions, SearchHit } from '../../catalog/index.ts';
import { AppError } from '../../errors.ts';
import { formatTable } from '../table.ts';

/** The catalogue reads the commands make: CatalogService locally, RemoteCatalog against ENCLAVE_URL. */
export interface CatalogReader {
  listDatasets: CatalogService['listDatasets'];
  getDataset: CatalogService['getDataset'];
  getTable: CatalogService['getTable'];
  search(q: string): Promise<SearchHit[]>;
}

/** Where commands print (stdout in the CLI, a buffer in tests). */
export interface CliOut {
  write(s: string): void;
}

const DESCRIPTION_WIDTH = 70;

function short(s: string, width = DESCRIPTION_WIDTH): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= width ? one : `${one.slice(0, width - 1)}…`;
}

/** `enclave catalog ls`: one line per dataset. */
export async function catalogLs(svc: CatalogReader, out: CliOut): Promise<void> {
  const datasets = await svc.listDatasets();
  if (datasets.length === 0) {
    out.write('The catalogue is empty. Import definitions with `enclave catalog import --dataset NAME DIR`.\n');
    return;
  }
  out.write(
    formatTable(
      ['dataset', 'tables', 'columns', 'title', 'imported'],
      datasets.map((d) => [d.name, d.tableCount, d.columnCount, short(d.title, 50), d.importedAt.slice(0, 19).replace('T', ' ')]),
    ),
  );
}

function renderTable(t: CatalogTable): string {
  const lines = [
    `${t.dataset}.${t.name}${t.title === '' ? '' : `: ${t.title}`}`,
    ...(t.description === '' ? [] : [short(t.description, 200)]),
    `product      ${t.product === '' ? '-' : t.product}`,
    `primary key  ${t.primaryKey.length === 0 ? '-' : t.primaryKey.join(', ')}`,
    ...t.foreignKeys.map((k, i) => `${i === 0 ? 'foreign keys' : '            '} (${k.fields.join(', ')}) → ${k.reference.resource}(${k.reference.fields.join(', ')})`),
    ...(t.enclave === null ? [] : [`enclave      ${JSON.stringify(t.enclave)}`]),
    '',
  ];
  const cols = formatTable(
    ['#', 'column', 'type', 'length', 'nomenclature', 'sensitivity', 'description'],
    t.columns.map((c) => [c.position, c.name, c.type, c.length ?? '', c.nomenclature ?? '', c.sensitivity, short(c.description, 60)]),
  );
  return `${lines.join('\n')}\n${cols}`;
}

/**
 * `enclave catalog show REF` where REF is `dataset`, `dataset.TABLE` or `dataset.TABLE.COLUMN`.
 * @example catalogShow(svc, 'snds.ER_PRS_F.BEN_NIR_PSA', process.stdout)
 */
export async function catalogShow(svc: CatalogReader, ref: string, out: CliOut): Promise<void> {
  const parts = ref.split('.');
  const [dataset, table, column] = parts;
  if (dataset === undefined || dataset === '' || parts.length > 3 || parts.some((p) => p === '')) {
    throw new AppError('invalid', `cannot read "${ref}" as dataset[.TABLE[.COLUMN]]`, { hint: 'e.g. snds, snds.ER_PRS_F or snds.ER_PRS_F.BEN_NIR_PSA' });
  }
  if (table === undefined) {
    const d = await svc.getDataset(dataset);
    out.write(`${d.name}: ${d.title}\n${d.description === '' ? '' : `${short(d.description, 200)}\n`}source ${d.source}, imported ${d.importedAt}\n\n`);
    out.write(formatTable(['table', 'product', 'columns', 'title'], d.tables.map((t) => [t.name, t.product, t.columnCount, short(t.title, 60)])));
    return;
  }
  const t = await svc.getTable(dataset, table);
  if (column === undefined) {
    out.write(renderTable(t));
    return;
  }
  const c = t.columns.find((x) => x.name.toUpperCase() === column.toUpperCase());
  if (c === undefined) {
    throw new AppError('not_found', `table ${t.dataset}.${t.name} has no column ${column}`, { hint: `list its columns with \`enclave catalog show ${t.dataset}.${t.name}\`` });
  }
  const c2 = c.constraints;
  const rows: [string, string][] = [
    ['column', `${t.dataset}.${t.name}.${c.name} (#${c.position})`],
    ['description', c.description],
    ['type', c.type],
    ['length', c.length ?? '-'],
    ['format', c.format ?? '-'],
    ['nomenclature', c.nomenclature ?? '-'],
    ['constraints', Object.keys(c2).length === 0 ? '-' : JSON.stringify(c2)],
    ['sensitivity', c.sensitivity],
    ['reason', c.sensitivityReason],
    ['rule', c.sensitivityRule],
  ];
  out.write(formatTable(['field', 'value'], rows));
}

function hitRow(h: SearchHit): [string, string, string, string] {
  switch (h.kind) {
    case 'dataset':
      return ['dataset', h.dataset, '', short(h.title)];
    case 'table':
      return ['table', `${h.dataset}.${h.table}`, '', short(h.title)];
    case 'column':
      return ['column', `${h.dataset}.${h.table}.${h.column}`, `${h.type}, ${h.sensitivity}`, short(h.description)];
    case 'nomenclature':
      return ['nomenclature', h.nomenclature, `${h.codeCount} codes`, short(h.title)];
  }
}

/** `enclave catalog search WORDS`: best matches first. */
export async function catalogSearch(svc: CatalogReader, q: string, out: CliOut): Promise<void> {
  const hits = await svc.search(q);
  if (hits.length === 0) {
    out.write(`Nothing in the catalogue matches "${q}". Try fewer or shorter words.\n`);
    return;
  }
  out.write(formatTable(['kind', 'name', 'type', 'description'], hits.map(hitRow)));
}

/** `enclave catalog import --dataset NAME DIR`: imports and prints what changed. */
export async function catalogImport(svc: CatalogService, dir: string, opts: ImportOptions, out: CliOut): Promise<void> {
  const r = await svc.importDirectory(dir, opts);
  out.write(
    formatTable(
      ['dataset', 'tables', 'columns', 'nomenclatures', 'codes'],
      [[r.dataset, r.tables, r.columns, r.nomenclatures, r.codes]],
    ),
  );
  out.write(r.changed ? `Imported ${r.dataset} (sha256 ${r.contentSha256.slice(0, 16)}…).\n` : `${r.dataset} was already up to date: nothing changed.\n`);
}
