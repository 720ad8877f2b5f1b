/**
 * Permit as code: the JSON document validated by the published schema
 * (schemas/permit/permit.schema.json), then against the catalogue and the rules below; and the
 * pure evaluation of access from the permit alone.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { canonicalJson, type JsonValue } from '../audit/index.ts';
import type { CatalogTable } from '../catalog/index.ts';
import { AppError } from '../errors.ts';
import type { PermitDocument, ProjectMember } from './types.ts';
import type { ProjectStatus } from './workflow.ts';

export const PERMIT_SCHEMA_PATH = new URL('../../schemas/permit/permit.schema.json', import.meta.url);
/** The SNDS rule: one potential-identifier column at most, unless a justified exception names them all. */
export const MAX_POTENTIAL_IDENTIFIERS = 1;
/** Airlock default (SNDS practice): no released cell below 11. */
export const DEFAULT_MINIMUM_CELL_COUNT = 11;
/** A permit runs at most five years; a longer project renews it. */
export const MAX_PERMIT_DAYS = 5 * 366;

let compiled: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormatsModule.default(ajv, ['date']);
    compiled = ajv.compile(JSON.parse(readFileSync(PERMIT_SCHEMA_PATH, 'utf8')) as object);
  }
  return compiled;
}

/** Schema check only: throws AppError('invalid') listing every violation with its JSON path. */
export function parsePermitDocument(doc: unknown): PermitDocument {
  const validate = schemaValidator();
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).slice(0, 20).map((e) => `${e.instancePath === '' ? '/' : e.instancePath}: ${e.message ?? 'invalid'}`);
    throw new AppError('invalid', `the permit does not match the permit schema:\n  ${problems.join('\n  ')}`, {
      hint: 'see the published schema at GET /api/v1/governance/permit-schema',
      details: { problems },
    });
  }
  return doc as PermitDocument;
}

/** SHA-256 over the RFC 8785 canonical JSON: the permit's fingerprint in the register and the audit log. */
export function permitSha256(doc: PermitDocument): string {
  return createHash('sha256').update(canonicalJson(doc as unknown as JsonValue)).digest('hex');
}

/** What validation needs from the catalogue: a table with its columns' sensitivity. */
export type TableLookup = (dataset: string, table: string) => Promise<CatalogTable>;

/**
 * Full validation: schema, then every table and column exists in the catalogue, no direct
 * identifier, at most MAX_POTENTIAL_IDENTIFIERS potential identifiers unless the exception
 * names them exactly, members are project members with exactly one principal investigator,
 * dates in order. Returns the document with catalogue spellings of table names.
 */
export async function validatePermit(raw: unknown, ctx: { readonly projectId: string; readonly projectMembers: readonly ProjectMember[]; readonly lookup: TableLookup }): Promise<PermitDocument> {
  const doc = parsePermitDocument(raw);
  const problems: string[] = [];
  if (doc.projectId !== ctx.projectId) problems.push(`/projectId: is ${doc.projectId}, this project is ${ctx.projectId}`);
  if (doc.years.from > doc.years.to) problems.push('/years: from is after to');
  if (doc.validFrom >= doc.validUntil) problems.push('/validUntil: must be after validFrom');
  else if ((Date.parse(doc.validUntil) - Date.parse(doc.validFrom)) / 86_400_000 > MAX_PERMIT_DAYS) problems.push(`/validUntil: a permit runs at most ${MAX_PERMIT_DAYS} days`);

  const potential: string[] = [];
  const lookedUp: CatalogTable[] = [];
  const datasets: PermitDocument['datasets'][number][] = [];
  const seenTables = new Set<string>();
  for (const [di, d] of doc.datasets.entries()) {
    const tables: { table: string; columns: string[] }[] = [];
    for (const [ti, t] of d.tables.entries()) {
      let table: CatalogTable;
      try {
        table = await ctx.lookup(d.dataset, t.table);
      } catch (e) {
        problems.push(`/datasets/${di}/tables/${ti}: ${e instanceof AppError ? e.message : 'unknown table'}`);
        continue;
      }
      lookedUp.push(table);
      const key = `${d.dataset}.${table.name}`;
      if (seenTables.has(key)) problems.push(`/datasets/${di}/tables/${ti}: ${key} is listed twice`);
      seenTables.add(key);
      const byName = new Map(table.columns.map((c) => [c.name.toUpperCase(), c]));
      const columns: string[] = [];
      for (const [ci, name] of t.columns.entries()) {
        const col = byName.get(name.toUpperCase());
        if (col === undefined) {
          problems.push(`/datasets/${di}/tables/${ti}/columns/${ci}: ${key} has no column ${name}`);
          continue;
        }
        if (col.sensitivity === 'direct_identifier') problems.push(`/datasets/${di}/tables/${ti}/columns/${ci}: ${key}.${col.name} is a direct identifier and is never granted`);
        if (col.sensitivity === 'potential_identifier') potential.push(`${key}.${col.name}`);
        columns.push(col.name);
      }
      tables.push({ table: table.name, columns });
    }
    datasets.push({ dataset: d.dataset, tables });
  }
  problems.push(...potentialIdentifierProblems(potential, doc.potentialIdentifierException, joinKeyConcepts(lookedUp)));

  const memberIds = new Set(ctx.projectMembers.map((m) => m.personId));
  for (const [mi, m] of doc.members.entries()) {
    if (!memberIds.has(m.personId)) problems.push(`/members/${mi}: not a member of the project team`);
  }
  if (new Set(doc.members.map((m) => m.personId)).size !== doc.members.length) problems.push('/members: a person is named twice');
  if (doc.members.filter((m) => m.role === 'principal_investigator').length !== 1) problems.push('/members: name exactly one principal_investigator');

  if (problems.length > 0) {
    throw new AppError('invalid', `the permit is not valid:\n  ${problems.join('\n  ')}`, {
      hint: 'request only catalogued columns, at most one potential identifier (copies of a join key count once) unless the committee grants a justified potentialIdentifierException naming them all, and name project members',
      details: { problems },
    });
  }
  return { ...doc, datasets };
}

/**
 * Which columns are one concept: a foreign key says that its columns hold the same values as the
 * referenced table's (ER_PHA_F.FLX_TRT_DTD is ER_PRS_F.FLX_TRT_DTD, a copy of the join key), so
 * granting both discloses one potential identifier, not two. Returns, for each column taking part
 * in a foreign key of `tables` (`dataset.TABLE.COLUMN`, upper case), a representative of its
 * concept; columns absent from the map are their own concept.
 */
export function joinKeyConcepts(tables: readonly CatalogTable[]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(x, r);
    return r;
  };
  for (const t of tables) {
    for (const fk of t.foreignKeys) {
      for (const [i, field] of fk.fields.entries()) {
        const target = fk.reference.fields[i];
        if (target === undefined) continue;
        const a = find(`${t.dataset}.${t.name}.${field}`.toUpperCase());
        const b = find(`${t.dataset}.${fk.reference.resource}.${target}`.toUpperCase());
        // the smaller name represents the concept, so the result does not depend on table order
        if (a !== b) {
          if (a < b) parent.set(b, a);
          else parent.set(a, b);
        }
      }
    }
  }
  const out = new Map<string, string>();
  for (const k of parent.keys()) out.set(k, find(k));
  return out;
}

/**
 * The potential-identifier rule, alone, for boundary tests. Columns are `dataset.TABLE.COLUMN`;
 * `concepts` (from joinKeyConcepts) makes copies of one join key count once. Beyond
 * MAX_POTENTIAL_IDENTIFIERS distinct concepts, the justified exception must name every column.
 */
export function potentialIdentifierProblems(granted: readonly string[], exception: PermitDocument['potentialIdentifierException'], concepts: ReadonlyMap<string, string> = new Map()): string[] {
  const unique = [...new Set(granted)].sort();
  const groups = new Map<string, string[]>();
  for (const c of unique) {
    const concept = concepts.get(c.toUpperCase()) ?? c.toUpperCase();
    groups.set(concept, [...(groups.get(concept) ?? []), c]);
  }
  if (groups.size <= MAX_POTENTIAL_IDENTIFIERS) return [];
  if (exception === undefined) {
    const listed = [...groups.values()].map((g) => (g.length === 1 ? g[0] : `${g.join(' = ')} (one join key)`)).join(', ');
    return [`/datasets: ${groups.size} distinct potential identifiers requested (${listed}); at most ${MAX_POTENTIAL_IDENTIFIERS} without a justified potentialIdentifierException granted by the access committee`];
  }
  const named = new Set(exception.columns.map((c) => c.toUpperCase()));
  const missing = unique.filter((c) => !named.has(c.toUpperCase()));
  return missing.length === 0 ? [] : [`/potentialIdentifierException/columns: does not name ${missing.join(', ')}`];
}

/**
 * The potential-identifier columns of a requested scope (`dataset.TABLE.COLUMN`, catalogue
 * spelling) and how many distinct concepts they make; unknown tables and columns are skipped
 * (validatePermit reports them).
 */
export async function potentialIdentifiersOf(datasets: PermitDocument['datasets'], lookup: TableLookup): Promise<{ columns: string[]; concepts: number }> {
  const columns: string[] = [];
  const tables: CatalogTable[] = [];
  for (const d of datasets) {
    for (const t of d.tables) {
      const table = await lookup(d.dataset, t.table).catch(() => null);
      if (table === null) continue;
      tables.push(table);
      const byName = new Map(table.columns.map((c) => [c.name.toUpperCase(), c]));
      for (const name of t.columns) {
        const col = byName.get(name.toUpperCase());
        if (col?.sensitivity === 'potential_identifier') columns.push(`${d.dataset}.${table.name}.${col.name}`);
      }
    }
  }
  const concepts = joinKeyConcepts(tables);
  const unique = [...new Set(columns)].sort();
  return { columns: unique, concepts: new Set(unique.map((c) => concepts.get(c.toUpperCase()) ?? c.toUpperCase())).size };
}

/** What a person asks to do with a project's data. Every field given is checked against the permit. */
export interface AccessRequest {
  readonly tool?: 'web_sql' | 'database_protocol';
  readonly dataset?: string;
  /** A table of `dataset` (a table without its dataset is refused: names are per dataset). */
  readonly table?: string;
  /** Columns of `table`. */
  readonly columns?: readonly string[];
  /** Years of data asked for, inclusive; must lie within the permit's years. */
  readonly years?: { readonly from: number; readonly to: number };
}

export type AccessDenialCode = 'no_permit' | 'not_active' | 'not_yet_valid' | 'expired' | 'not_named' | 'tool' | 'out_of_scope';

/** An allowed decision carries the permit it was made on, so a caller never re-reads another one. */
export type AccessDecision =
  | { readonly allowed: true; readonly permit: PermitDocument }
  | { readonly allowed: false; readonly reason: string; readonly hint: string; readonly code: AccessDenialCode };

const deny = (code: AccessDenialCode, reason: string, hint: string): AccessDecision => ({ allowed: false, code, reason, hint });

/**
 * Access from the permit alone (security property 1): the project must be active, today within
 * [validFrom, validUntil] (UTC dates, validUntil inclusive), the person named, and every field of
 * the request granted: the tool, the dataset (even when no table is named), the table of that
 * dataset, each column of that table, the years. Pure: evaluated at every request, on the status
 * and permit of one read.
 */
export function evaluateAccess(permit: PermitDocument | null, status: ProjectStatus, personId: string, req: AccessRequest, now: Date): AccessDecision {
  if (permit === null) return deny('no_permit', 'the project has no permit in force', 'access starts when the access committee approves the permit');
  if (status !== 'active') return deny('not_active', `the permit is not in force: the project is ${status}`, 'ask the access committee');
  const today = now.toISOString().slice(0, 10);
  if (today < permit.validFrom) return deny('not_yet_valid', `the permit starts on ${permit.validFrom}`, 'wait for the start date');
  if (today > permit.validUntil) return deny('expired', `the permit expired on ${permit.validUntil}`, 'ask the access committee to renew the permit');
  if (!permit.members.some((m) => m.personId === personId)) return deny('not_named', 'you are not named in this project\'s permit', 'ask your principal investigator to request an amendment');
  if (req.tool !== undefined && !permit.tools.includes(req.tool)) return deny('tool', `the permit does not allow ${req.tool}`, `allowed tools: ${permit.tools.join(', ')}`);
  if (req.years !== undefined) {
    const { from, to } = req.years;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from > to || from < permit.years.from || to > permit.years.to) {
      return deny('out_of_scope', `years ${from}-${to} are not within the permit's years ${permit.years.from}-${permit.years.to}`, 'the permit lists the years granted');
    }
  }
  if (req.dataset === undefined) {
    if (req.table !== undefined || req.columns !== undefined) return deny('out_of_scope', 'a table or columns were asked without their dataset', 'name the dataset too: tables and columns are granted per dataset');
    return { allowed: true, permit };
  }
  const d = permit.datasets.find((x) => x.dataset === req.dataset);
  if (d === undefined) return deny('out_of_scope', `dataset ${req.dataset} is not in the permit`, `datasets granted: ${permit.datasets.map((x) => x.dataset).join(', ')}`);
  if (req.table === undefined) {
    if (req.columns !== undefined) return deny('out_of_scope', 'columns were asked without their table', 'name the table too: columns are granted per table');
    return { allowed: true, permit };
  }
  const t = d.tables.find((x) => x.table.toUpperCase() === (req.table ?? '').toUpperCase());
  if (t === undefined) return deny('out_of_scope', `${req.dataset}.${req.table} is not in the permit`, 'the permit lists the tables granted');
  const granted = new Set(t.columns.map((c) => c.toUpperCase()));
  const outside = (req.columns ?? []).filter((c) => !granted.has(c.toUpperCase()));
  if (outside.length > 0) return deny('out_of_scope', `column(s) ${outside.join(', ')} of ${t.table} are not in the permit`, 'the permit lists the columns granted');
  return { allowed: true, permit };
}
