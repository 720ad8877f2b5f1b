/**
 * Reads an output table from CSV (what `enclave airlock check` is given, and what a workspace's
 * saved result exports to). Column roles come from conventional names unless a sidecar says
 * otherwise; a column the rules cannot read as a number where they need one is an error that
 * names the file, the line and the column.
 */
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { IDENTIFIER_COLUMNS } from './rules.ts';
import { COLUMN_ROLES, OUTPUT_KINDS, type CellValue, type ColumnRole, type CsvHints, type OutputColumn, type OutputKind, type OutputTable } from './types.ts';

/** Roles whose cells are numbers. */
export const NUMERIC_ROLES: ReadonlySet<ColumnRole> = new Set([
  'count', 'magnitude', 'contributors', 'top1', 'top2', 'numerator', 'denominator', 'coefficient', 'std_error', 'df_residual',
  'time', 'at_risk', 'events', 'censored',
]);

/** Values read as an empty or already suppressed cell. */
const MISSING = /^(|na|n\/a|nan|null|\.|-|–|\*|c|s|x|<\s*\d+|suppressed|masqué|masque|secret)$/iu;

const NAME_ROLES: readonly [RegExp, ColumnRole][] = [
  [/^(n_?contrib\w*|contributors?|nb_?contrib\w*|contributor_count|n_units|nb_unites)$/u, 'contributors'],
  [/^(top_?1|max_?1|largest|top1_\w+|largest_contribution|plus_grande)$/u, 'top1'],
  [/^(top_?2|max_?2|second_largest|top2_\w+|seconde_plus_grande)$/u, 'top2'],
  [/^(numerator|numerateur|num)$/u, 'numerator'],
  [/^(denominator|denominateur|denom|den|population_at_risk)$/u, 'denominator'],
  [/^(coef|coefficient|estimate|beta|b|log_or|log_hr)$/u, 'coefficient'],
  [/^(se|std_?err(or)?|standard_error|erreur_type)$/u, 'std_error'],
  [/^(df|df_?resid(ual)?|residual_df|ddl|ddl_residuel)$/u, 'df_residual'],
  [/^(n_?risk|n_?at_?risk|at_risk|nb_?risque|nb_a_risque|risk_set)$/u, 'at_risk'],
  [/^(n_?events?|events?|n_?event|nb_?evenements?|deaths|n_?deaths|nb_?deces)$/u, 'events'],
  [/^(n_?censor(ed)?|censored|nb_?censures?)$/u, 'censored'],
  [/^(n|count|cnt|freq|frequency|effectif|effectifs|nombre|nb|total|patients|persons|people|personnes|beneficiaires|n_\w+|nb_\w+|count_\w+|\w+_count|\w+_n|effectif_\w+)$/u, 'count'],
  [/^(sum|mean|avg|average|median|somme|moyenne|mediane|montant|amount)(_\w+)?$|^(sum|mean|avg|total|moy|somme|moyenne|mediane|median)_\w+$|^\w+_(sum|mean|avg|total|moy|montant|amount|eur)$/u, 'magnitude'],
];

const TIME_NAMES = /^(time|t|temps|duree|duration|day|days|jour|jours|week|weeks|month|months|mois|year|years|time_\w+|\w+_time)$/u;

/**
 * The role a column's name suggests, or `'dimension'` when it says nothing (a dimension holds
 * labels; a number column the rules cannot name is read as a dimension too, so an unlabelled
 * count makes the table look like row-level data, which blocks, rather than pass unchecked).
 *
 * @example inferRole('nb_patients') // → 'count'
 */
export function inferRole(name: string): ColumnRole {
  const n = name.trim().toLowerCase().replace(/[\s.-]+/gu, '_');
  if (IDENTIFIER_COLUMNS.some((p) => new RegExp(p, 'iu').test(n))) return 'identifier';
  for (const [re, role] of NAME_ROLES) if (re.test(n)) return role;
  if (/^(p|p_?value|pvalue|z|t_?value|z_?value|ci_\w+|lower\w*|upper\w*|conf_\w+|rate|taux|prevalence|incidence|ratio|or|hr|rr|surv|survival|survie|std|sd|ecart_type|percent|pct|share|proportion|part)$/u.test(n)) return 'other';
  return 'dimension';
}

/** The kind the roles suggest. */
export function inferKind(roles: readonly ColumnRole[]): OutputKind {
  const has = (r: ColumnRole): boolean => roles.includes(r);
  if (has('coefficient') || has('df_residual')) return 'model';
  if (has('events') || has('at_risk')) return 'survival';
  if (has('magnitude') || has('top1')) return 'magnitude';
  if (has('numerator') || has('denominator')) return 'rate';
  if (has('count')) return 'frequency';
  return 'rows';
}

const HintsSchema = z.strictObject({
  $comment: z.string().optional(),
  name: z.string().min(1).optional(),
  kind: z.enum(OUTPUT_KINDS).optional(),
  roles: z.record(z.string(), z.enum(COLUMN_ROLES)).optional(),
  population: z.string().optional(),
  datasetVersions: z.array(z.string()).optional(),
  delimiter: z.enum([',', ';', '\t', '|']).optional(),
});

/**
 * Validates a roles sidecar (JSON), e.g. `{"roles": {"patients_75": "count"}, "population": "…"}`.
 */
export function parseCsvHints(doc: unknown, file: string): CsvHints {
  const r = HintsSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new AppError('invalid', `${file} at ${(i?.path ?? []).map(String).join('.') || '$'}: ${i?.message ?? 'invalid'}`, {
      hint: `a roles file looks like {"kind": "frequency", "roles": {"dept": "dimension", "patients": "count"}, "population": "…"}; roles are ${COLUMN_ROLES.join(', ')}`,
    });
  }
  const { $comment: _c, ...h } = r.data;
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));
}

function guessDelimiter(text: string): string {
  const first = text.split(/\r?\n/u, 1)[0] ?? '';
  const counts = [',', ';', '\t', '|'].map((d) => [d, first.split(d).length - 1] as const);
  const best = counts.reduce((a, b) => (b[1] > a[1] ? b : a));
  return best[1] === 0 ? ',' : best[0];
}

function numberOf(raw: string, commaDecimal: boolean): number | null | undefined {
  const s = raw.trim();
  if (MISSING.test(s)) return null;
  const t = commaDecimal ? s.replace(/\s/gu, '').replace(',', '.') : s.replace(/[\s_]/gu, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/u.test(t)) return undefined;
  return Number(t);
}

/**
 * Parses a CSV output. The header names the columns; `hints.roles` overrides the inferred role
 * of any column it names (and must name only columns of the file).
 *
 * @example
 *   parseCsvOutput('dept,age_band,n\n75,18-64,120\n', 'by-dept.csv')
 *   // → { name: 'by-dept.csv', kind: 'frequency', columns: [dept: dimension, age_band: dimension, n: count], rows: [['75', '18-64', 120]] }
 */
export function parseCsvOutput(text: string, fileName: string, hints: CsvHints = {}): OutputTable {
  const delimiter = hints.delimiter ?? guessDelimiter(text);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, bom: true, info: true, skip_empty_lines: true, relax_column_count: false, trim: false }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    const line = typeof e === 'object' && e !== null && 'lines' in e ? Number((e).lines) : undefined;
    throw new AppError('invalid', `${fileName}${line === undefined ? '' : ` line ${line}`}: not a well-formed CSV (${m})`, {
      hint: 'every line needs as many fields as the header; quote fields that hold the separator', details: { file: fileName, ...(line === undefined ? {} : { line }) },
    });
  }
  const header = records[0];
  if (header === undefined) throw new AppError('invalid', `${fileName}: empty file, expected a header line and rows`, { hint: 'the first line names the columns, e.g. dept,age_band,n', details: { file: fileName } });
  const names = header.record.map((h) => h.trim());
  names.forEach((n, i) => {
    if (n === '') throw new AppError('invalid', `${fileName} line 1, column ${i + 1}: empty column name`, { hint: 'name every column in the header', details: { file: fileName, line: 1, column: i + 1 } });
    if (names.indexOf(n) !== i) throw new AppError('invalid', `${fileName} line 1, column ${n}: named twice`, { hint: 'give each column a distinct name', details: { file: fileName, line: 1, column: n } });
  });
  const given = hints.roles ?? {};
  for (const k of Object.keys(given)) {
    if (!names.includes(k)) {
      throw new AppError('invalid', `${fileName}: the roles name a column "${k}" the file does not have`, { hint: `columns of the file: ${names.join(', ')}`, details: { file: fileName, column: k } });
    }
  }
  let roles = names.map((n) => given[n] ?? inferRole(n));
  const kind = hints.kind ?? inferKind(roles);
  // "month" or "time" is a dimension in a frequency table, the time axis in a survival table
  if (kind === 'survival' && !roles.includes('time')) {
    const i = names.findIndex((n, j) => given[n] === undefined && roles[j] === 'dimension' && TIME_NAMES.test(n.toLowerCase()));
    if (i >= 0) roles = roles.map((r, j) => (j === i ? 'time' : r));
  }
  const columns: OutputColumn[] = names.map((name, i) => ({ name, role: roles[i] ?? 'dimension' }));
  const commaDecimal = delimiter === ';';
  const rows: CellValue[][] = [];
  const lines: number[] = [];
  for (const { record, info } of records.slice(1)) {
    // info.lines is the line the record ends on; a record spans one line in these outputs
    const line = info.lines;
    rows.push(record.map((raw, j) => {
      const c = columns[j];
      if (c === undefined) return raw;
      if (c.role === 'other') {
        // estimates, p-values, CIs: numbers when they read as numbers, kept as written otherwise
        const v = numberOf(raw, commaDecimal);
        return typeof v === 'number' ? v : raw.trim() === '' ? null : raw.trim();
      }
      if (!NUMERIC_ROLES.has(c.role)) return raw.trim() === '' ? null : raw.trim();
      const v = numberOf(raw, commaDecimal);
      if (v === undefined) {
        throw new AppError('invalid', `${fileName} line ${line}, column ${c.name}: ${JSON.stringify(raw.slice(0, 40))} is not a number, and the column is read as ${c.role}`, {
          hint: `write a number, leave the cell empty for a suppressed value, or declare the column's role in ${fileName.replace(/\.csv$/iu, '')}.roles.json`,
          details: { file: fileName, line, column: c.name },
        });
      }
      return v;
    }));
    lines.push(line);
  }
  return {
    name: hints.name ?? fileName,
    kind,
    columns,
    rows,
    ...(hints.population === undefined ? {} : { population: hints.population }),
    ...(hints.datasetVersions === undefined ? {} : { datasetVersions: hints.datasetVersions }),
    sourceLines: lines,
  };
}

/**
 * An output from rows already in memory (a saved result's pages): the same role inference and
 * number reading as a CSV file, for the airlock service. Dimension values become text (a
 * department code keeps its leading zero only if it was text already).
 *
 * @example
 *   outputFromRows('by-dept', ['dept', 'n'], [['75', 120], ['13', 7]], { population: 'diabetics' })
 */
export function outputFromRows(name: string, columnNames: readonly string[], rows: readonly (readonly (string | number | bigint | boolean | null)[])[], hints: Omit<CsvHints, 'name' | 'delimiter'> = {}): OutputTable {
  const given = hints.roles ?? {};
  for (const k of Object.keys(given)) {
    if (!columnNames.includes(k)) throw new AppError('invalid', `${name}: the roles name a column "${k}" the output does not have`, { hint: `columns: ${columnNames.join(', ')}`, details: { output: name, column: k } });
  }
  let roles = columnNames.map((n) => given[n] ?? inferRole(n));
  const kind = hints.kind ?? inferKind(roles);
  if (kind === 'survival' && !roles.includes('time')) {
    const i = columnNames.findIndex((n, j) => given[n] === undefined && roles[j] === 'dimension' && TIME_NAMES.test(n.toLowerCase()));
    if (i >= 0) roles = roles.map((r, j) => (j === i ? 'time' : r));
  }
  const columns: OutputColumn[] = columnNames.map((n, i) => ({ name: n, role: roles[i] ?? 'dimension' }));
  const out = rows.map((r, row) => {
    if (r.length !== columns.length) throw new AppError('invalid', `${name} row ${row + 1}: ${r.length} values for ${columns.length} columns`, { hint: 'every row has one value per column', details: { output: name, row: row + 1 } });
    return r.map((v, j): CellValue => {
      const c = columns[j];
      if (v === null || c === undefined) return null;
      const text = typeof v === 'string' ? v : String(v);
      if (!NUMERIC_ROLES.has(c.role) && c.role !== 'other') return text;
      if (typeof v === 'number') return Number.isFinite(v) ? v : null;
      if (typeof v === 'bigint') return Number(v);
      const n = numberOf(text, false);
      if (n === undefined && c.role !== 'other') {
        throw new AppError('invalid', `${name} row ${row + 1}, column ${c.name}: ${JSON.stringify(text.slice(0, 40))} is not a number, and the column is read as ${c.role}`, {
          hint: 'declare the column\'s role, or leave the cell empty for a suppressed value', details: { output: name, row: row + 1, column: c.name },
        });
      }
      return n === undefined ? text : n;
    });
  });
  return {
    name, kind, columns, rows: out,
    ...(hints.population === undefined ? {} : { population: hints.population }),
    ...(hints.datasetVersions === undefined ? {} : { datasetVersions: hints.datasetVersions }),
  };
}
