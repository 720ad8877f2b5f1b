/**
 * The disclosure report: every rule applied to every output of a request, the ledger and the
 * request's own outputs compared for differencing, and a safe version proposed per output.
 * Pure and deterministic: the same outputs, rules and ledger give the same report, byte for byte.
 */
import { AppError } from '../../errors.ts';
import { dominance, identifierCrossing, isIdentifierColumn, looksLikeIdentifier, minimumCount, pRatio, residualDf, survivalStep } from './cell-rules.ts';
import { cellRef, columnsWith, describeKey, isMeanColumn, keyOf, num } from './cells.ts';
import { checkLedger } from './ledger.ts';
import { proposeSafeVersions } from './safe-version.ts';
import { buildSpaces, recover } from './secondary.ts';
import type { CheckContext, DisclosureFlag, DisclosureReport, DisclosureRules, LedgerCell, OutputReport, OutputStatus, OutputTable, RuleId, Severity } from './types.ts';

type Msg = { readonly en: string; readonly fr: string };

function flag(t: OutputTable, rule: RuleId, severity: Severity, cell: { row: number; column: number } | null, message: Msg, details: Record<string, string | number>): DisclosureFlag {
  return { rule, severity, output: t.name, cell: cell === null ? null : cellRef(t, cell.row, cell.column), message, details };
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** Identifiers, crossings and row-level data: the whole output is blocked whatever its counts. */
function wholeOutputFlags(t: OutputTable, rules: DisclosureRules): DisclosureFlag[] {
  const flags: DisclosureFlag[] = [];
  t.columns.forEach((c, i) => {
    if (c.role === 'identifier' || isIdentifierColumn(c.name, rules)) {
      flags.push(flag(t, 'identifier', 'block', null,
        { en: `column ${c.name} is a person or health-professional identifier (pseudonyms included): it never leaves the workspace`, fr: `la colonne ${c.name} est un identifiant de personne ou de professionnel de santé (pseudonymes compris) : elle ne sort jamais de l'espace de travail` },
        { column: c.name }));
      return;
    }
    if (c.role === 'dimension' || c.role === 'other') {
      // a NIR held as a number is still a NIR
      const row = t.rows.findIndex((r) => { const v = r[i]; return (typeof v === 'string' && looksLikeIdentifier(v)) || (typeof v === 'number' && Number.isInteger(v) && looksLikeIdentifier(String(v))); });
      if (row >= 0) {
        flags.push(flag(t, 'identifier', 'block', { row, column: i },
          { en: `column ${c.name} holds values shaped like person identifiers (a digest, a NIR or a pseudonym token), from row ${row + 1}`, fr: `la colonne ${c.name} contient des valeurs qui ont la forme d'identifiants de personnes (empreinte, NIR ou pseudonyme), dès la ligne ${row + 1}` },
          { column: c.name }));
      }
    }
  });
  const crossing = identifierCrossing(columnsWith(t, 'dimension', 'time', 'other').map((i) => t.columns[i]?.name ?? ''), rules);
  if (crossing !== null) {
    flags.push(flag(t, 'identifier_crossing', 'block', null,
      { en: `the columns ${crossing.columns.join(' × ')} cross potential identifiers (${crossing.classes.join(' × ')}): blocked whatever the counts`, fr: `les colonnes ${crossing.columns.join(' × ')} croisent des identifiants potentiels (${crossing.classes.join(' × ')}) : bloqué quels que soient les effectifs` },
      { columns: crossing.columns.join(','), classes: crossing.classes.join(',') }));
  }
  const hasMeasure = t.columns.some((c) => c.role !== 'dimension' && c.role !== 'other' && c.role !== 'identifier');
  if (t.kind === 'rows' || !hasMeasure) {
    flags.push(flag(t, 'row_level', 'block', null,
      { en: `no count, magnitude, model or survival column: ${t.rows.length} rows read as row-level data (one row per person or event), which never leaves the workspace; if it is an aggregate, name its count column (n, count, effectif, nb_…) or declare the roles`, fr: `aucune colonne d'effectif, de montant, de modèle ou de survie : les ${t.rows.length} lignes sont lues comme des données individuelles (une ligne par personne ou événement), qui ne sortent jamais ; si c'est un agrégat, nommez sa colonne d'effectif (n, count, effectif, nb_…) ou déclarez les rôles` },
      { rows: t.rows.length }));
  } else if (t.kind === 'magnitude' && columnsWith(t, 'count', 'contributors').length === 0) {
    // amounts with no count beside them cannot be told from one amount per person
    flags.push(flag(t, 'row_level', 'block', null,
      { en: `amounts without a count or contributors column (${t.rows.length} rows): they cannot be told from row-level data, and no minimum count can be checked; add n_contributors (and top1, top2)`, fr: `des montants sans colonne d'effectif ni de contributeurs (${t.rows.length} lignes) : impossible de les distinguer de données individuelles ni de vérifier l'effectif minimal ; ajoutez n_contributors (et top1, top2)` },
      { rows: t.rows.length }));
  } else if (t.kind === 'frequency' || t.kind === 'rate' || t.kind === 'magnitude') {
    // an aggregate has one row per combination of its dimensions; repeats mean rows of people or events
    const dims = columnsWith(t, 'dimension', 'time');
    const seen = new Map<string, number>();
    for (let row = 0; row < t.rows.length; row++) {
      const k = JSON.stringify(dims.map((i) => t.rows[row]?.[i] ?? null));
      const first = seen.get(k);
      if (first !== undefined) {
        flags.push(flag(t, 'row_level', 'block', null,
          { en: `rows ${first + 1} and ${row + 1} have the same dimensions: not an aggregate by them, read as row-level data (one row per person or event)`, fr: `les lignes ${first + 1} et ${row + 1} ont les mêmes dimensions : ce n'est pas un agrégat, lu comme des données individuelles (une ligne par personne ou événement)` },
          { rows: t.rows.length, firstRow: first, repeatRow: row }));
        break;
      }
      seen.set(k, row);
    }
  }
  return flags;
}

function countFlags(t: OutputTable, rules: DisclosureRules): DisclosureFlag[] {
  if (t.kind !== 'frequency' && t.kind !== 'rate' && t.kind !== 'magnitude') return [];
  const flags: DisclosureFlag[] = [];
  const cols = columnsWith(t, 'count', 'numerator', 'denominator', 'contributors');
  t.rows.forEach((r, row) => {
    for (const column of cols) {
      const v = num(r[column]);
      if (v === null) continue;
      const verdict = minimumCount(v, rules);
      const where = describeKey(keyOf(t, row));
      const name = t.columns[column]?.name ?? '';
      if (verdict === 'small') {
        flags.push(flag(t, 'minimum_count', 'block', { row, column },
          { en: `${where}: ${name} = ${fmt(v)}, under the minimum of ${rules.minimumCount}`, fr: `${where} : ${name} = ${fmt(v)}, sous le minimum de ${rules.minimumCount}` },
          { value: v, threshold: rules.minimumCount }));
      } else if (verdict === 'zero' && t.columns[column]?.role !== 'contributors') {
        flags.push(flag(t, 'zero', 'review', { row, column },
          { en: `${where}: ${name} = 0; a checker decides whether this zero says something about people (a structural zero is safe, an empty group inside a small population may not be)`, fr: `${where} : ${name} = 0 ; un vérificateur juge si ce zéro révèle quelque chose (un zéro structurel est sans risque, un groupe vide dans une petite population peut l'être)` },
          { value: 0 }));
      }
    }
  });
  return flags;
}

/** Every count of a group in one category: the category is disclosed for the whole group. */
function fullCellFlags(t: OutputTable): DisclosureFlag[] {
  if (t.kind !== 'frequency') return [];
  const flags: DisclosureFlag[] = [];
  const dims = columnsWith(t, 'dimension');
  if (dims.length < 2) return [];
  const counts = columnsWith(t, 'count');
  for (const column of counts) {
    for (const d of dims) {
      const groups = new Map<string, number[]>();
      t.rows.forEach((r, row) => {
        const key = keyOf(t, row);
        const dName = t.columns[d]?.name ?? '';
        if (key[dName] === undefined || Object.keys(key).length !== dims.length) return; // margins
        const { [dName]: _, ...rest } = key;
        const g = JSON.stringify(Object.entries(rest));
        const list = groups.get(g) ?? [];
        list.push(row);
        groups.set(g, list);
      });
      for (const rows of groups.values()) {
        if (rows.length < 2) continue;
        const positive = rows.filter((row) => (num(t.rows[row]?.[column]) ?? 0) > 0);
        const zeros = rows.filter((row) => num(t.rows[row]?.[column]) === 0);
        const only = positive[0];
        if (positive.length !== 1 || only === undefined || zeros.length + 1 !== rows.length) continue;
        const dName = t.columns[d]?.name ?? '';
        const key = keyOf(t, only);
        const { [dName]: cat, ...group } = key;
        flags.push(flag(t, 'full_cell', 'review', { row: only, column },
          { en: `${describeKey(group)}: every one counted is in ${dName}=${cat ?? ''}; the table tells anyone who knows a person is in the group their ${dName}`, fr: `${describeKey(group)} : tous les individus comptés sont dans ${dName}=${cat ?? ''} ; le tableau révèle le ${dName} de toute personne dont on sait qu'elle est dans le groupe` },
          { dimension: dName }));
      }
    }
  }
  return flags;
}

function magnitudeFlags(t: OutputTable, rules: DisclosureRules): DisclosureFlag[] {
  if (t.kind !== 'magnitude') return [];
  const flags: DisclosureFlag[] = [];
  const mags = columnsWith(t, 'magnitude');
  const top1 = columnsWith(t, 'top1')[0];
  const top2 = columnsWith(t, 'top2')[0];
  const units = columnsWith(t, 'contributors')[0] ?? columnsWith(t, 'count')[0];
  const sum = mags.find((i) => !isMeanColumn(t.columns[i]?.name ?? ''));
  const target = sum ?? mags[0];
  if (target === undefined) return [];
  if (top1 === undefined || (rules.dominance.n >= 2 && top2 === undefined)) {
    flags.push(flag(t, 'missing_contributors', 'review', null,
      { en: `dominance and p % cannot be checked: the output has no ${top1 === undefined ? 'top1' : 'top2'} column (the largest contributions per cell, computed in the workspace)`, fr: `dominance et règle p % non vérifiables : il manque la colonne ${top1 === undefined ? 'top1' : 'top2'} (les plus grandes contributions par cellule, calculées dans l'espace de travail)` },
      {}));
    return flags;
  }
  t.rows.forEach((r, row) => {
    const a = num(r[top1]);
    const b = top2 === undefined ? null : num(r[top2]);
    if (a === null) return;
    let total: number | null = sum === undefined ? null : num(r[sum]);
    if (total === null) {
      const m = mags[0] === undefined ? null : num(r[mags[0]]);
      const n = units === undefined ? null : num(r[units]);
      total = m !== null && n !== null ? m * n : null;
    }
    const where = describeKey(keyOf(t, row));
    if (total === null) {
      flags.push(flag(t, 'missing_contributors', 'review', { row, column: target },
        { en: `${where}: the cell's total cannot be computed (a sum, or a mean with its number of contributors, is needed) to check dominance`, fr: `${where} : le total de la cellule ne peut être calculé (il faut une somme, ou une moyenne et son nombre de contributeurs) pour vérifier la dominance` },
        {}));
      return;
    }
    const dom = dominance(total, a, b, rules);
    if (dom.flagged) {
      flags.push(flag(t, 'dominance', 'block', { row, column: target },
        { en: `${where}: the ${rules.dominance.n} largest contributions make ${dom.share.toFixed(1)} % of the total, over ${rules.dominance.k} %`, fr: `${where} : les ${rules.dominance.n} plus grandes contributions font ${dom.share.toFixed(1)} % du total, plus de ${rules.dominance.k} %` },
        { share: Number(dom.share.toFixed(6)), threshold: rules.dominance.k, n: rules.dominance.n }));
    }
    if (b !== null) {
      const p = pRatio(total, a, b, rules);
      if (p.flagged) {
        flags.push(flag(t, 'p_ratio', 'block', { row, column: target },
          { en: `${where}: what is left besides the two largest contributions is ${p.remainderShare.toFixed(1)} % of the largest, under ${rules.pRatio} %: the second largest contributor could estimate the largest`, fr: `${where} : le reste, hors les deux plus grandes contributions, vaut ${p.remainderShare.toFixed(1)} % de la plus grande, moins de ${rules.pRatio} % : le deuxième contributeur pourrait estimer le premier` },
          { remainderShare: Number(p.remainderShare.toFixed(6)), threshold: rules.pRatio }));
      }
    }
  });
  return flags;
}

function modelFlags(t: OutputTable, rules: DisclosureRules): DisclosureFlag[] {
  if (t.kind !== 'model') return [];
  const dfCol = columnsWith(t, 'df_residual')[0];
  if (dfCol === undefined) {
    return [flag(t, 'residual_df', 'review', null,
      { en: 'a model output without its residual degrees of freedom (a df_residual column): the checker cannot tell how many people each coefficient rests on', fr: 'un modèle sans ses degrés de liberté résiduels (colonne df_residual) : le vérificateur ne peut savoir sur combien de personnes reposent les coefficients' },
      { threshold: rules.minimumResidualDf })];
  }
  const flags: DisclosureFlag[] = [];
  t.rows.forEach((r, row) => {
    const df = num(r[dfCol]);
    if (df === null || !residualDf(df, rules)) return;
    flags.push(flag(t, 'residual_df', 'block', { row, column: dfCol },
      { en: `${describeKey(keyOf(t, row))}: ${fmt(df)} residual degrees of freedom, under ${rules.minimumResidualDf}: the model nearly reproduces the individual data`, fr: `${describeKey(keyOf(t, row))} : ${fmt(df)} degrés de liberté résiduels, moins de ${rules.minimumResidualDf} : le modèle reproduit presque les données individuelles` },
      { value: df, threshold: rules.minimumResidualDf }));
  });
  return flags;
}

function survivalFlags(t: OutputTable, rules: DisclosureRules): DisclosureFlag[] {
  if (t.kind !== 'survival') return [];
  const ev = columnsWith(t, 'events')[0];
  const risk = columnsWith(t, 'at_risk')[0];
  const flags: DisclosureFlag[] = [];
  t.rows.forEach((r, row) => {
    const e = ev === undefined ? null : num(r[ev]);
    const n = risk === undefined ? null : num(r[risk]);
    const verdict = survivalStep(e, n, rules);
    if (verdict === 'ok') return;
    const where = describeKey(keyOf(t, row));
    if (verdict === 'few_events') {
      flags.push(flag(t, 'survival_events', 'block', { row, column: ev ?? 0 },
        { en: `${where}: ${fmt(e ?? 0)} events at this step, under ${rules.minimumEventsPerStep}: the curve's drop counts a handful of people`, fr: `${where} : ${fmt(e ?? 0)} événements à ce pas de temps, moins de ${rules.minimumEventsPerStep} : la marche de la courbe compte une poignée de personnes` },
        { value: e ?? 0, threshold: rules.minimumEventsPerStep }));
    } else {
      flags.push(flag(t, 'survival_events', 'block', { row, column: risk ?? 0 },
        { en: `${where}: ${fmt(n ?? 0)} people still at risk, under ${rules.minimumCount}`, fr: `${where} : ${fmt(n ?? 0)} personnes encore à risque, moins de ${rules.minimumCount}` },
        { value: n ?? 0, threshold: rules.minimumCount }));
    }
  });
  if (ev === undefined) {
    flags.push(flag(t, 'survival_events', 'review', null,
      { en: 'a survival table without an events column: events per time step cannot be checked', fr: 'une table de survie sans colonne d\'événements : les événements par pas de temps ne peuvent être vérifiés' }, {}));
  }
  return flags;
}

/** Suppressed cells the published ones give back, and left-out rows a total reveals. */
function secondaryFlags(outputs: readonly OutputTable[], rules: DisclosureRules): DisclosureFlag[] {
  const flags: DisclosureFlag[] = [];
  for (const space of buildSpaces(outputs)) {
    const unknown = new Set([...space.cells.values()].filter((c) => c.value === null).map((c) => c.id));
    const { recovered, inconsistencies } = recover(space, unknown, (id) => space.cells.get(id)?.value ?? null);
    for (const r of recovered) {
      const cell = space.cells.get(r.id);
      if (cell === undefined) continue;
      const small = space.additiveCount ? r.value > 0 && r.value < rules.minimumCount : r.value !== 0;
      const via = describeKey(space.cells.get(r.equation.total)?.key ?? {});
      for (const s of cell.sources) {
        const t = outputs[s.output];
        if (t === undefined) continue;
        const others = [...new Set([r.equation.total, ...r.equation.parts].flatMap((id) => space.cells.get(id)?.sources ?? []).map((x) => outputs[x.output]?.name ?? ''))].filter((n) => n !== t.name);
        flags.push(flag(t, 'secondary_disclosure', small ? 'block' : 'review', { row: s.row, column: s.column },
          {
            en: `${describeKey(cell.key)}: the suppressed ${space.measure} is given back by subtraction (${via} minus the other ${r.equation.over} cells${others.length === 0 ? '' : `, with ${others.join(', ')}`}) = ${fmt(r.value)}${small ? `, under ${rules.minimumCount}` : ''}`,
            fr: `${describeKey(cell.key)} : la valeur masquée de ${space.measure} se retrouve par soustraction (${via} moins les autres cellules de ${r.equation.over}${others.length === 0 ? '' : `, avec ${others.join(', ')}`}) = ${fmt(r.value)}${small ? `, moins de ${rules.minimumCount}` : ''}`,
          },
          { recovered: r.value, threshold: rules.minimumCount, over: r.equation.over }));
      }
    }
    if (!space.additiveCount) continue;
    for (const inc of inconsistencies) {
      if (!(inc.difference > 0 && inc.difference < rules.minimumCount)) continue;
      const total = space.cells.get(inc.equation.total);
      const s = total?.sources[0];
      const t = s === undefined ? undefined : outputs[s.output];
      if (total === undefined || s === undefined || t === undefined) continue;
      const sameOutput = inc.equation.parts.every((p) => space.cells.get(p)?.sources.some((x) => x.output === s.output) ?? false);
      flags.push(flag(t, 'secondary_disclosure', sameOutput ? 'block' : 'review', { row: s.row, column: s.column },
        {
          en: `${describeKey(total.key)}: ${space.measure} exceeds the sum of its ${inc.equation.over} cells by ${fmt(inc.difference)}, under ${rules.minimumCount}: the rows left out count ${fmt(inc.difference)}${sameOutput ? '' : ' (if the outputs share one population)'}`,
          fr: `${describeKey(total.key)} : ${space.measure} dépasse de ${fmt(inc.difference)} la somme de ses cellules de ${inc.equation.over}, moins de ${rules.minimumCount} : les lignes omises comptent ${fmt(inc.difference)}${sameOutput ? '' : ' (si les sorties portent sur la même population)'}`,
        },
        { difference: inc.difference, threshold: rules.minimumCount, over: inc.equation.over }));
    }
  }
  return flags;
}

const RULE_ORDER: readonly RuleId[] = [
  'identifier', 'identifier_crossing', 'row_level', 'residual_df', 'survival_events', 'minimum_count', 'dominance', 'p_ratio',
  'secondary_disclosure', 'differencing', 'request_differencing', 'missing_contributors', 'zero', 'full_cell',
];

function order(a: DisclosureFlag, b: DisclosureFlag): number {
  const ra = a.cell?.row ?? -1;
  const rb = b.cell?.row ?? -1;
  return ra - rb || (a.cell?.column ?? '').localeCompare(b.cell?.column ?? '') || RULE_ORDER.indexOf(a.rule) - RULE_ORDER.indexOf(b.rule);
}

function statusOf(flags: readonly DisclosureFlag[]): OutputStatus {
  return flags.some((f) => f.severity === 'block') ? 'blocked' : flags.length > 0 ? 'review' : 'clean';
}

function cellsChecked(t: OutputTable): number {
  const cols = columnsWith(t, 'count', 'magnitude', 'numerator', 'denominator', 'contributors', 'coefficient', 'df_residual', 'events', 'at_risk');
  return t.rows.reduce((s, r) => s + cols.filter((i) => num(r[i]) !== null).length, 0);
}

/**
 * The disclosure report of a request's outputs against the rules and the release ledger.
 *
 * @example
 *   const report = checkOutputs([byDept, byAge], rulesFrom(permit), ledger, { projectId: 'p-1' });
 *   report.outputs[0].flags[0]
 *   // → { rule: 'minimum_count', severity: 'block', cell: { row: 3, column: 'n', key: { dept: '48' } }, message: { en: 'dept=48: n = 7, under the minimum of 11', fr: … } }
 */
export function checkOutputs(outputs: readonly OutputTable[], rules: DisclosureRules, ledger: readonly LedgerCell[], context: CheckContext = {}): DisclosureReport {
  const names = new Set<string>();
  for (const t of outputs) {
    if (names.has(t.name)) throw new AppError('invalid', `two outputs are named ${t.name}`, { hint: 'give each output of a request a distinct name' });
    names.add(t.name);
    t.rows.forEach((r, i) => {
      if (r.length !== t.columns.length) throw new AppError('invalid', `output ${t.name} row ${i + 1}: ${r.length} values for ${t.columns.length} columns`, { hint: 'every row has one value per column' });
    });
  }
  const perOutput = new Map<string, DisclosureFlag[]>(outputs.map((t) => [t.name, []]));
  const add = (f: DisclosureFlag): void => { perOutput.get(f.output)?.push(f); };
  for (const t of outputs) {
    for (const f of [...wholeOutputFlags(t, rules), ...countFlags(t, rules), ...fullCellFlags(t), ...magnitudeFlags(t, rules), ...modelFlags(t, rules), ...survivalFlags(t, rules)]) add(f);
  }
  for (const f of secondaryFlags(outputs, rules)) add(f);
  for (const f of checkLedger(outputs, rules, ledger, context)) add(f);
  const flagged = new Map([...perOutput].map(([k, v]) => [k, [...v].sort(order)]));
  const safe = proposeSafeVersions(outputs, flagged, rules);
  const reports: OutputReport[] = outputs.map((t, i) => {
    const flags = flagged.get(t.name) ?? [];
    const s = safe[i];
    if (s === undefined) throw new Error('a safe version per output');
    return { name: t.name, kind: t.kind, status: statusOf(flags), cellsChecked: cellsChecked(t), flags, safeVersion: s };
  });
  const all = reports.flatMap((r) => r.flags);
  return {
    reportVersion: 1,
    rules,
    outputs: reports,
    summary: {
      status: statusOf(all),
      blocks: all.filter((f) => f.severity === 'block').length,
      reviews: all.filter((f) => f.severity === 'review').length,
      cellsChecked: reports.reduce((s, r) => s + r.cellsChecked, 0),
    },
  };
}
