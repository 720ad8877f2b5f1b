/**
 * SQL of the catalog. Writes take an `AuditedTx`, so a catalog change cannot be made outside
 * an audited transaction; reads take any `Queryable` (the catalogue is public).
 */
import type { AuditedTx } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import { expandQuery, searchText } from './search-terms.ts';
import type {
  CatalogColumn,
  CatalogDatasetSummary,
  CatalogTable,
  CatalogTableSummary,
  ForeignKey,
  NomenclatureCode,
  NomenclatureDefinition,
  NomenclatureSummary,
  SearchHit,
  Sensitivity,
  TableDefinition,
} from './types.ts';

/** Rows a search reads before ranking them (its answer is at most the caller's limit). */
const SEARCH_CANDIDATES = 2000;

export { searchText } from './search-terms.ts';

/** Escapes LIKE wildcards so user input matches literally. */
function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Rows per bulk statement: keeps each JSON parameter a few MB at most. */
const BATCH = 5_000;

async function insertBatched(tx: AuditedTx, sql: string, rows: readonly object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await tx.query(sql, [JSON.stringify(rows.slice(i, i + BATCH))]);
  }
}

export interface ClassifiedTable extends Omit<TableDefinition, 'columns'> {
  readonly columns: readonly CatalogColumn[];
}

export interface DatasetWrite {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly contentSha256: string;
  readonly tables: readonly ClassifiedTable[];
  readonly nomenclatures: readonly NomenclatureDefinition[];
}

/** Replaces everything the dataset defines. Call inside one audited transaction. */
export async function replaceDataset(tx: AuditedTx, d: DatasetWrite): Promise<void> {
  await tx.query('DELETE FROM catalog_tables WHERE dataset = $1', [d.name]);
  await tx.query(
    `INSERT INTO catalog_datasets (name, title, description, source, content_sha256, imported_at, search_text)
     VALUES ($1, $2, $3, $4, $5, now(), $6)
     ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
       source = EXCLUDED.source, content_sha256 = EXCLUDED.content_sha256, imported_at = now(),
       search_text = EXCLUDED.search_text`,
    [d.name, d.title, d.description, d.source, d.contentSha256, searchText(d.name, d.title, d.description)],
  );
  await insertBatched(
    tx,
    `INSERT INTO catalog_tables (dataset, name, title, description, product, primary_key, foreign_keys, enclave, source_file, search_text)
     SELECT r.dataset, r.name, r.title, r.description, r.product,
            ARRAY(SELECT jsonb_array_elements_text(r.primary_key)), r.foreign_keys, r.enclave, r.source_file, r.search_text
     FROM jsonb_to_recordset($1::jsonb) AS r(dataset text, name text, title text, description text, product text,
          primary_key jsonb, foreign_keys jsonb, enclave jsonb, source_file text, search_text text)`,
    d.tables.map((t) => ({
      dataset: d.name,
      name: t.name,
      title: t.title,
      description: t.description,
      product: t.product,
      primary_key: t.primaryKey,
      foreign_keys: t.foreignKeys,
      enclave: t.enclave,
      source_file: t.sourceFile,
      search_text: searchText(t.name, t.title, t.description, t.product),
    })),
  );
  await insertBatched(
    tx,
    `INSERT INTO catalog_columns (dataset, table_name, position, name, type, description, nomenclature, length, format,
            constraints, sensitivity, sensitivity_reason, sensitivity_rule, search_text)
     SELECT r.dataset, r.table_name, r.position, r.name, r.type, r.description, r.nomenclature, r.length, r.format,
            r.constraints, r.sensitivity, r.sensitivity_reason, r.sensitivity_rule, r.search_text
     FROM jsonb_to_recordset($1::jsonb) AS r(dataset text, table_name text, position integer, name text, type text,
          description text, nomenclature text, length text, format text, constraints jsonb, sensitivity text,
          sensitivity_reason text, sensitivity_rule text, search_text text)`,
    d.tables.flatMap((t) =>
      t.columns.map((c) => ({
        dataset: d.name,
        table_name: t.name,
        position: c.position,
        name: c.name,
        type: c.type,
        description: c.description,
        nomenclature: c.nomenclature,
        length: c.length,
        format: c.format,
        constraints: c.constraints,
        sensitivity: c.sensitivity,
        sensitivity_reason: c.sensitivityReason,
        sensitivity_rule: c.sensitivityRule,
        search_text: searchText(t.name, c.name, c.description, c.nomenclature),
      })),
    ),
  );
  // Nomenclatures are global by name: drop what this dataset provided before and any list it
  // now provides again (codes cascade), then insert the new lists.
  await tx.query('DELETE FROM catalog_nomenclatures WHERE dataset = $1 OR name = ANY($2::text[])', [
    d.name,
    d.nomenclatures.map((n) => n.name),
  ]);
  await insertBatched(
    tx,
    `INSERT INTO catalog_nomenclatures (name, dataset, title, description, source, code_field, label_field, fields,
            code_count, codes_available, source_file, search_text)
     SELECT r.name, r.dataset, r.title, r.description, r.source, r.code_field, r.label_field, r.fields,
            r.code_count, r.codes_available, r.source_file, r.search_text
     FROM jsonb_to_recordset($1::jsonb) AS r(name text, dataset text, title text, description text, source text,
          code_field text, label_field text, fields jsonb, code_count integer, codes_available boolean,
          source_file text, search_text text)`,
    d.nomenclatures.map((n) => ({
      name: n.name,
      dataset: d.name,
      title: n.title,
      description: n.description,
      source: n.source,
      code_field: n.codeField,
      label_field: n.labelField,
      fields: n.fields,
      code_count: n.codes?.length ?? 0,
      codes_available: n.codes !== null,
      source_file: n.sourceFile,
      search_text: searchText(n.name, n.title, n.description, n.source),
    })),
  );
  const codes = d.nomenclatures.flatMap((n) => (n.codes ?? []).map(([code, label]) => ({ n: n.name, c: code, l: label })));
  await insertBatched(
    tx,
    `INSERT INTO catalog_nomenclature_codes (nomenclature, code, label)
     SELECT r.n, r.c, r.l FROM jsonb_to_recordset($1::jsonb) AS r(n text, c text, l text)`,
    codes,
  );
}

/** Removes a dataset and everything it defined (nomenclatures it provided stay, unowned). */
export async function deleteDataset(tx: AuditedTx, name: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM catalog_datasets WHERE name = $1 RETURNING name', [name]);
  return rows.length > 0;
}

interface DatasetRow {
  name: string;
  title: string;
  description: string;
  source: string;
  content_sha256: string;
  imported_at: Date | string;
  table_count: string | number;
  column_count: string | number;
}

/**
 * What the public catalogue says a dataset came from: the last segment of the imported
 * directory, never a server path (rows imported before this rule kept the whole path).
 */
export function sourceLabel(dir: string): string {
  return dir.split(/[\\/]+/).filter((x) => x !== '' && x !== '.' && x !== '..').pop() ?? '';
}

function toDataset(r: DatasetRow): CatalogDatasetSummary {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    source: sourceLabel(r.source),
    tableCount: Number(r.table_count),
    columnCount: Number(r.column_count),
    importedAt: new Date(r.imported_at).toISOString(),
    contentSha256: r.content_sha256,
  };
}

const DATASET_SELECT = `
  SELECT d.name, d.title, d.description, d.source, d.content_sha256, d.imported_at,
         (SELECT count(*) FROM catalog_tables t WHERE t.dataset = d.name) AS table_count,
         (SELECT count(*) FROM catalog_columns c WHERE c.dataset = d.name) AS column_count
  FROM catalog_datasets d`;

export async function listDatasets(q: Queryable): Promise<CatalogDatasetSummary[]> {
  return (await q.query<DatasetRow>(`${DATASET_SELECT} ORDER BY d.name`)).map(toDataset);
}

export async function findDataset(q: Queryable, name: string): Promise<CatalogDatasetSummary | null> {
  const rows = await q.query<DatasetRow>(`${DATASET_SELECT} WHERE d.name = $1`, [name]);
  return rows[0] === undefined ? null : toDataset(rows[0]);
}

export async function datasetHash(q: Queryable, name: string): Promise<string | null> {
  const rows = await q.query<{ content_sha256: string }>('SELECT content_sha256 FROM catalog_datasets WHERE name = $1', [name]);
  return rows[0]?.content_sha256 ?? null;
}

export async function listTables(q: Queryable, dataset: string): Promise<CatalogTableSummary[]> {
  const rows = await q.query<{ name: string; title: string; product: string; column_count: string | number; primary_key: string[]; foreign_keys: ForeignKey[] }>(
    `SELECT t.name, t.title, t.product, t.primary_key, t.foreign_keys,
            (SELECT count(*) FROM catalog_columns c WHERE c.dataset = t.dataset AND c.table_name = t.name) AS column_count
     FROM catalog_tables t WHERE t.dataset = $1 ORDER BY t.product, t.name`,
    [dataset],
  );
  return rows.map((r) => ({ dataset, name: r.name, title: r.title, product: r.product, columnCount: Number(r.column_count), primaryKey: r.primary_key, foreignKeys: r.foreign_keys }));
}

/** Exact name first; a case-insensitive match otherwise (the SNDS mixes cases, e.g. T_MCOaaB). */
export async function resolveTableName(q: Queryable, dataset: string, table: string): Promise<string | null> {
  const rows = await q.query<{ name: string }>(
    `SELECT name FROM catalog_tables WHERE dataset = $1 AND (name = $2 OR upper(name) = upper($2))
     ORDER BY (name = $2) DESC, name LIMIT 1`,
    [dataset, table],
  );
  return rows[0]?.name ?? null;
}

/** Table names containing `fragment`, to suggest in a not-found error. */
export async function similarTableNames(q: Queryable, dataset: string, fragment: string): Promise<string[]> {
  const rows = await q.query<{ name: string }>(
    `SELECT name FROM catalog_tables WHERE dataset = $1 AND lower(name) LIKE $2 ESCAPE '\\' ORDER BY name LIMIT 5`,
    [dataset, `%${likeLiteral(fragment.toLowerCase().slice(0, 6))}%`],
  );
  return rows.map((r) => r.name);
}

interface ColumnRow {
  position: number;
  name: string;
  type: CatalogColumn['type'];
  description: string;
  nomenclature: string | null;
  length: string | null;
  format: string | null;
  constraints: CatalogColumn['constraints'];
  sensitivity: Sensitivity;
  sensitivity_reason: string;
  sensitivity_rule: string;
}

/** Every table of a dataset with its columns, in `listTables` order (product, name): two queries, however many tables. */
export async function getTables(q: Queryable, dataset: string): Promise<CatalogTable[]> {
  const rows = await q.query<TableRow>(
    `SELECT name, title, description, product, primary_key, foreign_keys, enclave, source_file
     FROM catalog_tables WHERE dataset = $1 ORDER BY product, name`,
    [dataset],
  );
  const cols = await q.query<ColumnRow & { table_name: string }>(
    `SELECT table_name, position, name, type, description, nomenclature, length, format, constraints, sensitivity,
            sensitivity_reason, sensitivity_rule
     FROM catalog_columns WHERE dataset = $1 ORDER BY table_name, position`,
    [dataset],
  );
  const byTable = new Map<string, ColumnRow[]>();
  for (const c of cols) {
    let list = byTable.get(c.table_name);
    if (list === undefined) byTable.set(c.table_name, (list = []));
    list.push(c);
  }
  return rows.map((t) => tableOf(dataset, t, byTable.get(t.name) ?? []));
}

interface TableRow {
  name: string;
  title: string;
  description: string;
  product: string;
  primary_key: string[];
  foreign_keys: ForeignKey[];
  enclave: Record<string, unknown> | null;
  source_file: string;
}

function tableOf(dataset: string, t: TableRow, cols: readonly ColumnRow[]): CatalogTable {
  return {
    dataset,
    name: t.name,
    title: t.title,
    description: t.description,
    product: t.product,
    primaryKey: t.primary_key,
    foreignKeys: t.foreign_keys,
    enclave: t.enclave,
    sourceFile: t.source_file,
    columns: cols.map((c) => ({
      position: c.position,
      name: c.name,
      type: c.type,
      description: c.description,
      nomenclature: c.nomenclature,
      length: c.length,
      format: c.format,
      constraints: c.constraints,
      sensitivity: c.sensitivity,
      sensitivityReason: c.sensitivity_reason,
      sensitivityRule: c.sensitivity_rule,
    })),
  };
}

export async function getTable(q: Queryable, dataset: string, table: string): Promise<CatalogTable | null> {
  const rows = await q.query<{
    name: string;
    title: string;
    description: string;
    product: string;
    primary_key: string[];
    foreign_keys: ForeignKey[];
    enclave: Record<string, unknown> | null;
    source_file: string;
  }>(
    `SELECT name, title, description, product, primary_key, foreign_keys, enclave, source_file
     FROM catalog_tables WHERE dataset = $1 AND name = $2`,
    [dataset, table],
  );
  const t = rows[0];
  if (t === undefined) return null;
  const cols = await q.query<ColumnRow>(
    `SELECT position, name, type, description, nomenclature, length, format, constraints, sensitivity,
            sensitivity_reason, sensitivity_rule
     FROM catalog_columns WHERE dataset = $1 AND table_name = $2 ORDER BY position`,
    [dataset, table],
  );
  return tableOf(dataset, t, cols);
}

/**
 * Every term of the expanded query (expandQuery: stems, the field's synonyms in French and
 * English) must match one of its alternatives, accents and case ignored; a word shaped like a
 * nomenclature code also finds the nomenclatures holding that code and the columns coded with
 * them. Ranking: an exact, then prefix, name match first; then hits whose name or title carries
 * every term before those found only in a description; within each, datasets, tables,
 * nomenclatures, then columns (a table before its columns).
 */
export async function search(q: Queryable, query: string, limit: number): Promise<SearchHit[]> {
  const { terms, codes } = expandQuery(query);
  if (terms.length === 0) return [];
  const params: (string | readonly string[])[] = [];
  const termConds: string[][] = terms.map((t) => t.alternatives.map((a) => {
    params.push(`%${likeLiteral(a)}%`);
    return `$${params.length}`;
  }));
  const cond = (alias: string) => termConds.map((ps) => `(${ps.map((p) => `${alias}.search_text LIKE ${p} ESCAPE '\\'`).join(' OR ')})`).join(' AND ');
  // nomenclatures holding a code the query names (E11 → IR_CIM_V), prefix match on the code
  const codeNomenclatures = new Set<string>();
  for (const code of codes) {
    const rows = await q.query<{ nomenclature: string }>(`SELECT DISTINCT nomenclature FROM catalog_nomenclature_codes WHERE upper(code) LIKE $1 ESCAPE '\\' LIMIT 20`, [`${likeLiteral(code)}%`]);
    for (const r of rows) codeNomenclatures.add(r.nomenclature);
  }
  params.push([...codeNomenclatures]);
  const codesParam = `$${params.length}`;
  const rows = await q.query<{
    kind: SearchHit['kind'];
    dataset: string | null;
    tbl: string | null;
    col: string | null;
    title: string;
    description: string;
    type: string | null;
    sensitivity: Sensitivity | null;
    code_count: number | null;
  }>(
    `SELECT * FROM (
       SELECT 'dataset' AS kind, d.name AS dataset, NULL::text AS tbl, NULL::text AS col, d.title, d.description,
              NULL::text AS type, NULL::text AS sensitivity, NULL::int AS code_count
       FROM catalog_datasets d WHERE ${cond('d')}
       UNION ALL
       SELECT 'table', t.dataset, t.name, NULL, t.title, t.description, NULL, NULL, NULL
       FROM catalog_tables t WHERE ${cond('t')}
       UNION ALL
       SELECT 'nomenclature', NULL, NULL, n.name, n.title, n.description, NULL, NULL, n.code_count
       FROM catalog_nomenclatures n WHERE ${cond('n')} OR n.name = ANY(${codesParam}::text[])
       UNION ALL
       SELECT 'column', c.dataset, c.table_name, c.name, '', c.description, c.type, c.sensitivity, NULL
       FROM catalog_columns c WHERE ${cond('c')} OR split_part(coalesce(c.nomenclature, ''), ':', 1) = ANY(${codesParam}::text[])
     ) hits
     LIMIT ${String(SEARCH_CANDIDATES)}`,
    params,
  );
  const whole = searchText(query).trim();
  const KIND_RANK = { dataset: 0, table: 1, nomenclature: 2, column: 3 } as const;
  const ranked = rows.map((r) => {
    const name = (r.kind === 'table' ? r.tbl : r.kind === 'dataset' ? r.dataset : r.col) ?? '';
    const lowerName = name.toLowerCase();
    const exact = lowerName === whole ? 0 : whole !== '' && lowerName.startsWith(whole) ? 1 : 2;
    const head = searchText(name, r.title);
    const inTitle = terms.every((t) => t.alternatives.some((a) => head.includes(a))) ? 0 : 1;
    return { r, key: [exact, inTitle, KIND_RANK[r.kind], r.dataset ?? '', r.tbl ?? '', r.col ?? ''] as const };
  });
  ranked.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      const x = a.key[i] ?? '';
      const y = b.key[i] ?? '';
      if (x !== y) return typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1;
    }
    return 0;
  });
  const top = ranked.slice(0, Math.trunc(limit)).map((x) => x.r);
  return top.map((r): SearchHit => {
    switch (r.kind) {
      case 'dataset':
        return { kind: 'dataset', dataset: r.dataset ?? '', title: r.title, description: r.description };
      case 'table':
        return { kind: 'table', dataset: r.dataset ?? '', table: r.tbl ?? '', title: r.title, description: r.description };
      case 'nomenclature':
        return { kind: 'nomenclature', nomenclature: r.col ?? '', title: r.title, codeCount: Number(r.code_count ?? 0) };
      case 'column':
        return {
          kind: 'column',
          dataset: r.dataset ?? '',
          table: r.tbl ?? '',
          column: r.col ?? '',
          type: r.type ?? '',
          description: r.description,
          sensitivity: r.sensitivity ?? 'other',
        };
    }
  });
}

interface NomenclatureRow {
  name: string;
  dataset: string | null;
  title: string;
  description: string;
  source: string;
  code_count: number;
  codes_available: boolean;
  code_field: string;
  label_field: string | null;
}

function toNomenclature(r: NomenclatureRow): NomenclatureSummary {
  return {
    name: r.name,
    dataset: r.dataset,
    title: r.title,
    description: r.description,
    source: r.source,
    codeCount: Number(r.code_count),
    codesAvailable: r.codes_available,
  };
}

const NOMENCLATURE_SELECT = `SELECT name, dataset, title, description, source, code_count, codes_available, code_field, label_field
  FROM catalog_nomenclatures`;

export async function listNomenclatures(q: Queryable): Promise<NomenclatureSummary[]> {
  return (await q.query<NomenclatureRow>(`${NOMENCLATURE_SELECT} ORDER BY name`)).map(toNomenclature);
}

export async function findNomenclature(
  q: Queryable,
  name: string,
): Promise<(NomenclatureSummary & { codeField: string; labelField: string | null }) | null> {
  const rows = await q.query<NomenclatureRow>(`${NOMENCLATURE_SELECT} WHERE name = $1`, [name]);
  const r = rows[0];
  return r === undefined ? null : { ...toNomenclature(r), codeField: r.code_field, labelField: r.label_field };
}

/** One page of codes in code order, optionally filtered on code or label (case-insensitive). */
export async function nomenclatureCodes(
  q: Queryable,
  name: string,
  page: { readonly limit: number; readonly offset: number; readonly filter?: string },
): Promise<NomenclatureCode[]> {
  const params: (string | number)[] = [name, page.limit, page.offset];
  let where = '';
  if (page.filter !== undefined && page.filter.trim() !== '') {
    params.push(`%${likeLiteral(page.filter.trim())}%`);
    where = `AND (code ILIKE $4 ESCAPE '\\' OR label ILIKE $4 ESCAPE '\\')`;
  }
  return q.query<NomenclatureCode>(
    `SELECT code, label FROM catalog_nomenclature_codes WHERE nomenclature = $1 ${where}
     ORDER BY code LIMIT $2 OFFSET $3`,
    params,
  );
}

/** The subset of `codes` present in the list; one round trip per 10,000 codes. */
export async function existingCodes(q: Queryable, name: string, codes: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(codes)];
  for (let i = 0; i < unique.length; i += 10_000) {
    const rows = await q.query<{ code: string }>(
      'SELECT code FROM catalog_nomenclature_codes WHERE nomenclature = $1 AND code = ANY($2::text[])',
      [name, unique.slice(i, i + 10_000)],
    );
    for (const r of rows) found.add(r.code);
  }
  return found;
}

/** Every code of the list, for callers that check millions of values locally. */
export async function allCodes(q: Queryable, name: string): Promise<Set<string>> {
  const rows = await q.query<{ code: string }>('SELECT code FROM catalog_nomenclature_codes WHERE nomenclature = $1', [name]);
  return new Set(rows.map((r) => r.code));
}
