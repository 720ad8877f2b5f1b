/**
 * The neutral extract plan of a permit (`ExtractPlan`, `src/engine/extract-port.ts`): per
 * permitted table, the permitted columns, the years kept and on which column, the population
 * kept and how, and which columns are re-keyed. Pure data, no SQL: each engine compiles it.
 *
 * Rules (each decided from the catalogue, never from the data):
 * - a column is re-keyed when the catalogue classes it `pseudonym` (a person pseudonym, e.g.
 *   `BEN_NIR_PSA`, `NIR_ANO_17`): the same project key on every table, so joins on persons work
 *   inside the extract and two projects' extracts cannot be linked on them;
 * - a `direct_identifier` column is refused, even if a permit names one (the permit validator
 *   refuses it first; this is the second line);
 * - years: the table's `enclave.yearColumn` (the date column ingestion partitions it by), else
 *   its yearly files (`enclave.yearFromName`, PMSI), else none (a referential);
 * - population criteria apply to the table's own column when it has it, else through its person
 *   pseudonym: persons having a row matching the criteria in another table of the dataset that
 *   holds the criteria's columns (permitted tables first, then the catalogue's, by name).
 */
import type { CatalogColumn, CatalogTable } from '../../catalog/index.ts';
import type { ExtractPlan, PlanColumn, PlanPersonSource, PlanPopulation, PlanPredicate, PlanTable, PlanYears } from '../../engine/index.ts';
import { AppError } from '../../errors.ts';
import type { PermitDocument } from '../../governance/index.ts';

/** What the plan needs of the catalogue. */
export interface ExtractCatalog {
  getTable(dataset: string, table: string): Promise<CatalogTable>;
  listTables(dataset: string): Promise<readonly CatalogTable[]>;
}

/** The person pseudonym column of a table: its first column the catalogue classes `pseudonym`. */
export function personColumnOf(t: CatalogTable): CatalogColumn | undefined {
  return t.columns.find((c) => c.sensitivity === 'pseudonym');
}

function findColumn(t: CatalogTable, name: string): CatalogColumn | undefined {
  const u = name.toUpperCase();
  return t.columns.find((c) => c.name.toUpperCase() === u);
}

function yearsOf(t: CatalogTable, years: { from: number; to: number }): PlanYears {
  const yc = t.enclave?.['yearColumn'];
  if (typeof yc === 'string') {
    const c = findColumn(t, yc);
    if (c === undefined) throw new AppError('invalid', `catalogue table ${t.dataset}.${t.name}: its yearColumn ${yc} is not one of its columns`, { hint: 'fix the table schema in the catalogue' });
    return {
      kind: 'column', column: c.name, columnType: c.type === 'date' || c.type === 'datetime' ? 'date' : 'number', from: years.from, to: years.to,
      reason: `rows whose ${c.name} falls in ${years.from}-${years.to}: the catalogue's date column of ${t.name} (enclave.yearColumn, by which ingestion files it)`,
    };
  }
  if (typeof t.enclave?.['yearFromName'] === 'string') {
    return { kind: 'file', from: years.from, to: years.to, reason: `the yearly files of ${years.from}-${years.to}: ${t.name} is delivered one file per year (enclave.yearFromName)` };
  }
  return { kind: 'none', reason: `${t.name} has no year in the catalogue (no yearColumn, no yearly files): every row of the permitted population is kept` };
}

/**
 * Plans the extract of `permit` (version `permitVersion`).
 *
 * @example
 *   const plan = await planExtract(permit, 3, { getTable, listTables });
 *   plan.tables[0].columns.filter((c) => c.rekey) // [{ name: 'ben_nir_psa', source: 'BEN_NIR_PSA', rekey: true }]
 */
export async function planExtract(permit: PermitDocument, permitVersion: number, catalog: ExtractCatalog): Promise<ExtractPlan> {
  const problems: string[] = [];
  const permitted: CatalogTable[] = [];
  const requested: { table: CatalogTable; columns: readonly string[]; at: string }[] = [];
  for (const [di, d] of permit.datasets.entries()) {
    for (const [ti, t] of d.tables.entries()) {
      const at = `/datasets/${di}/tables/${ti}`;
      let table: CatalogTable;
      try {
        table = await catalog.getTable(d.dataset, t.table);
      } catch (e) {
        problems.push(`${at}: ${e instanceof AppError ? e.message : `unknown table ${d.dataset}.${t.table}`}`);
        continue;
      }
      permitted.push(table);
      requested.push({ table, columns: t.columns, at });
    }
  }
  // Each criterion names where it is read: `dataset.TABLE.COLUMN` (the permit schema); a bare
  // COLUMN (older documents) is read from the first permitted table holding it, else the
  // catalogue's first table of that dataset holding it with a person pseudonym.
  const criteria: { readonly source: CatalogTable; readonly predicate: PlanPredicate }[] = [];
  for (const [ci, cr] of permit.population.criteria.entries()) {
    const at = `/population/criteria/${ci}`;
    if (cr.op === 'between' && cr.values.length !== 2) { problems.push(`${at}: between needs exactly two values (from, to)`); continue; }
    if (cr.values.length === 0) { problems.push(`${at}: ${cr.op} needs at least one value`); continue; }
    const parts = cr.column.split('.');
    let source: CatalogTable | undefined;
    let columnName: string;
    if (parts.length === 3) {
      const [d, t, c] = parts as [string, string, string];
      columnName = c;
      source = permitted.find((x) => x.dataset === d && x.name.toUpperCase() === t.toUpperCase()) ?? (await catalog.getTable(d, t).catch(() => undefined));
      if (source === undefined) { problems.push(`${at}: no catalogued table ${d}.${t}`); continue; }
    } else {
      columnName = cr.column;
      source = permitted.find((x) => findColumn(x, columnName) !== undefined);
      if (source === undefined) {
        for (const d of [...new Set(permitted.map((x) => x.dataset))]) {
          const all = [...(await catalog.listTables(d).catch(() => []))].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
          source = all.find((x) => findColumn(x, columnName) !== undefined && personColumnOf(x) !== undefined);
          if (source !== undefined) break;
        }
      }
      if (source === undefined) { problems.push(`${at}: no table holds ${cr.column}; name it as dataset.TABLE.COLUMN`); continue; }
    }
    const col = findColumn(source, columnName);
    if (col === undefined) { problems.push(`${at}: ${source.dataset}.${source.name} has no column ${columnName}`); continue; }
    if (col.sensitivity === 'direct_identifier') { problems.push(`${at}: ${source.name}.${col.name} is a direct identifier; a population is defined on other columns`); continue; }
    criteria.push({ source, predicate: { column: col.name, op: cr.op, values: [...cr.values] } });
  }
  const names = new Set<string>();
  const tables: PlanTable[] = [];
  for (const { table, columns, at } of requested) {
    const name = table.name.toLowerCase();
    if (names.has(name)) problems.push(`${at}: two permitted tables are named ${name} in the extract`);
    names.add(name);
    const cols: PlanColumn[] = [];
    const seen = new Set<string>();
    for (const [ci, requestedName] of columns.entries()) {
      const c = findColumn(table, requestedName);
      if (c === undefined) {
        problems.push(`${at}/columns/${ci}: ${table.dataset}.${table.name} has no column ${requestedName}`);
        continue;
      }
      if (c.sensitivity === 'direct_identifier') {
        problems.push(`${at}/columns/${ci}: ${table.name}.${c.name} is a direct identifier and never reaches an extract`);
        continue;
      }
      if (seen.has(c.name)) continue;
      seen.add(c.name);
      cols.push({ name: c.name.toLowerCase(), source: c.name, rekey: c.sensitivity === 'pseudonym' });
    }
    if (cols.length === 0) problems.push(`${at}: no column of ${table.name} can be extracted`);

    // population: criteria read from this very table filter its rows; the others keep the rows
    // of persons having a matching row in the criterion's table
    const own = criteria.filter((c) => c.source.dataset === table.dataset && c.source.name === table.name).map((c) => c.predicate);
    const bySource = new Map<string, { table: CatalogTable; predicates: PlanPredicate[] }>();
    for (const c of criteria) {
      if (c.source.dataset === table.dataset && c.source.name === table.name) continue;
      const k = `${c.source.dataset}.${c.source.name}`;
      const g = bySource.get(k) ?? { table: c.source, predicates: [] };
      g.predicates.push(c.predicate);
      bySource.set(k, g);
    }
    let viaPerson: PlanPopulation['viaPerson'] = null;
    if (bySource.size > 0) {
      const person = personColumnOf(table);
      const sources: PlanPersonSource[] = [];
      for (const g of bySource.values()) {
        const sp = personColumnOf(g.table);
        if (sp === undefined) problems.push(`/population: ${g.table.name} has no person pseudonym, so its criteria cannot select persons in other tables`);
        else sources.push({ dataset: g.table.dataset, table: g.table.name, personColumn: sp.name, predicates: g.predicates });
      }
      if (person === undefined) problems.push(`${at}: ${table.name} has no person pseudonym, so the population criteria on ${[...bySource.keys()].join(', ')} cannot be applied to it`);
      else viaPerson = { personColumn: person.name, sources };
    }
    const text = (ps: readonly PlanPredicate[]): string => ps.map((x) => `${x.column} ${x.op.replace('_', ' ')} ${x.values.join(x.op === 'between' ? '..' : ',')}`).join(' and ');
    const reasons: string[] = [];
    if (own.length > 0) reasons.push(`rows where ${text(own)}`);
    for (const src of viaPerson?.sources ?? []) reasons.push(`rows of persons (${viaPerson?.personColumn ?? ''}) with a row of ${src.table} where ${text(src.predicates)}`);
    const reason = criteria.length === 0 ? 'the permit sets no population criteria: every person' : reasons.join('; and ');
    tables.push({ dataset: table.dataset, table: table.name, name, columns: cols, years: yearsOf(table, permit.years), population: { predicates: own, viaPerson, reason } });
  }
  if (permit.years.from > permit.years.to) problems.push('/years: from is after to');
  if (problems.length > 0) {
    throw new AppError('invalid', `the permit cannot be turned into an extract:\n  ${problems.join('\n  ')}`, {
      hint: 'the access committee amends the permit (catalogued tables and columns, no direct identifier, criteria on catalogued columns)',
      details: { problems },
    });
  }
  return { projectId: permit.projectId, permitVersion, years: { ...permit.years }, tables };
}

/**
 * The columns a plan reads that a dataset version does not carry, per plan table: permitted
 * columns, the year column and population criteria (the table's own, and its person sources').
 * `columnsOf(dataset, table)` gives the columns a version's files carry (its manifest's), or
 * undefined when the version does not say (files written with every catalogue column) or does
 * not hold the table. Empty when every column is there.
 */
export function columnsMissingFromVersions(plan: ExtractPlan, columnsOf: (dataset: string, table: string) => readonly string[] | undefined): string[] {
  const out: string[] = [];
  const need = (dataset: string, table: string, cols: readonly string[], why: string): void => {
    const have = columnsOf(dataset, table);
    if (have === undefined) return;
    for (const c of new Set(cols)) if (!have.includes(c)) out.push(`${dataset}.${table}.${c} (${why})`);
  };
  for (const t of plan.tables) {
    need(t.dataset, t.table, t.columns.map((c) => c.source), `permitted column of ${t.name}`);
    if (t.years.kind === 'column') need(t.dataset, t.table, [t.years.column], `year column of ${t.name}`);
    need(t.dataset, t.table, t.population.predicates.map((x) => x.column), `population criterion of ${t.name}`);
    const via = t.population.viaPerson;
    if (via !== null) {
      need(t.dataset, t.table, [via.personColumn], `person column of ${t.name}`);
      for (const src of via.sources) need(src.dataset, src.table, [src.personColumn, ...src.predicates.map((x) => x.column)], `population criterion of ${t.name}`);
    }
  }
  return [...new Set(out)];
}
