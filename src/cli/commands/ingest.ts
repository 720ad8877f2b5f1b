import { readFile, writeFile } from 'node:fs/promises';
import { AppError } from '../../errors.ts';
import { parseProfile, type DeliveryProfile, type Detection, type IngestResult } from '../../ingest/index.ts';
import { formatAmount, progressBar, type Progress } from '../progress.ts';
import type { CliServices, Output } from '../services.ts';
import { formatTable } from '../table.ts';

/** `enclave ingest --dataset D DIR|FILES`: validate, pseudonymise, encrypt, publish a version. */
/** Profile options of `enclave ingest` (each overrides the same field of `--profile FILE`). */
export interface ProfileArgs {
  readonly profile?: string;
  readonly delimiter?: string;
  readonly encoding?: string;
  readonly dateFormat?: string;
  readonly missing?: readonly string[];
  readonly blankIsMissing?: boolean;
  readonly extraColumns?: string;
  /** Flag words read as 1/0 in flag columns, `TRUE/FALSE` (e.g. `True/False`). */
  readonly flags?: string;
}

/** The delivery profile from `--profile FILE` and the options beside it; undefined when none is given. */
export async function profileFromArgs(a: ProfileArgs): Promise<DeliveryProfile | undefined> {
  let base: Record<string, unknown> = {};
  if (a.profile !== undefined) {
    let text: string;
    try {
      text = await readFile(a.profile, 'utf8');
    } catch {
      throw new AppError('not_found', `profile file ${a.profile} cannot be read`, { hint: 'write one with: enclave ingest --detect --dataset D DIR --profile-out profile.json' });
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new AppError('invalid', `profile file ${a.profile} is not JSON (${e instanceof Error ? e.message : String(e)})`, { hint: 'fix the file, or write it again with enclave ingest --detect' });
    }
  }
  const o: Record<string, unknown> = { ...base };
  if (a.delimiter !== undefined) o['delimiter'] = a.delimiter === 'tab' ? '\t' : a.delimiter;
  if (a.encoding !== undefined) o['encoding'] = a.encoding;
  const dates: unknown = base['dates'];
  if (a.dateFormat !== undefined) o['dates'] = { ...(typeof dates === 'object' && dates !== null ? dates : {}), default: a.dateFormat };
  if (a.missing !== undefined) o['missing'] = a.missing;
  if (a.blankIsMissing === true) o['blankIsMissing'] = true;
  if (a.extraColumns !== undefined) o['extraColumns'] = a.extraColumns;
  if (a.flags !== undefined) {
    const [t, f, ...rest] = a.flags.split('/');
    o['flags'] = rest.length === 0 && t !== undefined && f !== undefined ? { true: t, false: f } : a.flags;
  }
  return a.profile === undefined && Object.keys(o).length === 0 ? undefined : parseProfile(o);
}

/** `enclave ingest --detect`: the inferred profile and what ingestion would do, in one report. */
export async function detectCommand(svc: CliServices, dataset: string, inputs: readonly string[], out: Output, a: ProfileArgs & { readonly profileOut?: string }): Promise<Detection> {
  const d = await svc.ingest.detect(dataset, inputs, await profileFromArgs(a));
  out.write(renderDetection(d));
  if (a.profileOut !== undefined) {
    await writeFile(a.profileOut, `${JSON.stringify(d.profile, null, 2)}\n`);
    out.write(`\nProfile written to ${a.profileOut}: enclave ingest --dataset ${dataset} --profile ${a.profileOut} ${inputs.join(' ')}\n`);
  }
  return d;
}

export function renderDetection(d: Detection): string {
  let s = `\nFiles:\n${formatTable(['file', 'table', 'year', 'encoding', 'separator', 'gzip', 'rows sampled', 'unknown columns', 'missing required'], d.files.map((f) => [
    f.file, f.table ?? '(no table)', f.year === null ? null : String(f.year), f.encoding, f.delimiter === '\t' ? 'tab' : f.delimiter, f.gzip ? 'yes' : 'no', f.sampledRows, f.unknownColumns.join(' ') || null, f.missingRequired.join(' ') || null,
  ]))}`;
  if (d.unknownFiles.length > 0) s += `\nUnknown files (the delivery would be refused): ${d.unknownFiles.join(', ')}\n`;
  const cols = d.files.flatMap((f) => f.columns.filter((c) => c.type !== 'string' || c.problem || c.type === null).map((c) => [f.file, c.name, c.type ?? '-', c.inferred, c.values, c.problem ? 'PROBLEM' : null]));
  s += `\nColumns (every column but plain text):\n${formatTable(['file', 'column', 'catalogue type', 'inferred', 'values sampled', ''], cols)}`;
  const problems = d.files.flatMap((f) => f.columns.filter((c) => c.problem).map((c) => `${f.file} ${c.name}`));
  if (problems.length > 0) s += `\n${problems.length} column${problems.length === 1 ? '' : 's'} with no spelling Enclave reads: their rows would be quarantined (${problems.slice(0, 10).join(', ')}${problems.length > 10 ? ', …' : ''})\n`;
  s += `\nProfile:\n${JSON.stringify(d.profile, null, 2)}\n`;
  return s;
}

export async function ingestCommand(svc: CliServices, dataset: string, inputs: readonly string[], out: Output, options: { readonly minLandedShare?: number; readonly acceptShortTables?: boolean; readonly maxOrphanShare?: number; readonly checkRelations?: boolean; readonly profile?: DeliveryProfile } = {}): Promise<IngestResult> {
  let bar: Progress | undefined;
  let phase = '';
  const result = await svc.ingest.ingest({
    dataset,
    inputs,
    actor: svc.actor,
    ...(options.minLandedShare === undefined ? {} : { minLandedShare: options.minLandedShare }),
    ...(options.acceptShortTables === true ? { acceptShortTables: true } : {}),
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.maxOrphanShare === undefined ? {} : { maxOrphanShare: options.maxOrphanShare }),
    ...(options.checkRelations === true ? { checkRelations: true } : {}),
    onProgress: (p) => {
      // validate and write alternate per file: one bar for both.
      const label = p.phase === 'hash' ? 'fingerprinting' : p.phase === 'commit' ? 'publishing' : 'ingesting';
      if (label !== phase) {
        bar?.finish();
        phase = label;
        bar = p.phase === 'commit' ? undefined : progressBar({ label, total: p.total, unit: 'bytes' });
      }
      bar?.update(p.done, p.file);
    },
  });
  bar?.finish();
  out.write(renderIngestResult(result));
  return result;
}

export function renderIngestResult(r: IngestResult): string {
  if (r.alreadyIngested) {
    return `This delivery was already ingested as ${r.dataset} version ${r.version} (delivery ${r.deliveryId.slice(0, 12)}…): nothing to do.\n`;
  }
  const byTable = new Map<string, Map<number, number>>();
  for (const t of r.tables) {
    const m = byTable.get(t.table) ?? new Map<number, number>();
    m.set(t.year, (m.get(t.year) ?? 0) + t.rows);
    byTable.set(t.table, m);
  }
  const years = [...new Set(r.tables.map((t) => t.year))].sort();
  const rows = [...byTable.entries()].map(([table, m]) => [table, ...years.map((y) => m.get(y) ?? null), [...m.values()].reduce((a, b) => a + b, 0)]);
  let s = `\n${r.dataset} version ${r.version} published (run ${r.runId}, Merkle root ${r.merkleRoot.slice(0, 16)}…)\n\n`;
  // Year 0 holds unpartitioned tables (reference tables such as IR_BEN_R).
  s += formatTable(['table', ...years.map((y) => (y === 0 ? 'no year' : String(y))), 'total'], rows);
  // Every delivered table, those that landed nothing first: a table mostly quarantined is the news.
  const tables = Object.values(r.quarantine.byTable).sort((a, b) => a.rowsLanded / Math.max(a.rowsDelivered, 1) - b.rowsLanded / Math.max(b.rowsDelivered, 1) || (a.table < b.table ? -1 : 1));
  if (tables.length > 0) {
    s += `\nDelivered tables:\n${formatTable(['table', 'files', 'delivered', 'landed', 'quarantined', 'main reasons'], tables.map((t) => [
      t.table, t.files.length, t.rowsDelivered, t.rowsLanded, t.rowsQuarantined,
      Object.entries(t.violations).flatMap(([c, rules]) => Object.entries(rules).map(([rule, n]) => ({ c, rule, n }))).sort((a, b) => b.n - a.n).slice(0, 3).map((x) => `${x.c} ${x.rule} ×${x.n}`).join(', '),
    ]))}`;
  }
  const relations = r.quarantine.relations ?? [];
  if (relations.length > 0) {
    s += `\nRelations between delivered tables (on pseudonymised values):\n${formatTable(['relation', 'rows checked', 'orphan rows', ''], relations.map((x) => [shortRelation(x.relation), x.rowsChecked, x.orphans, x.matchesNothing ? 'MATCHES NOTHING' : x.orphans > 0 ? 'orphans' : null]))}`;
  }
  s += `\nread ${formatAmount(r.rowsRead)} (${formatAmount(r.bytesRead, 'bytes')}) in ${r.seconds.toFixed(1)} s: ${formatAmount(r.rowsAccepted)} accepted, ${formatAmount(r.rowsQuarantined)} quarantined\n`;
  if (r.quarantine.total > 0) {
    s += `\nQuarantine by rule:\n${formatTable(['rule', 'violations'], Object.entries(r.quarantine.byRule).sort((a, b) => b[1] - a[1]))}`;
    s += `\nFirst quarantined lines (values reduced to their shape):\n${formatTable(['file', 'line', 'column', 'rule', 'shape'], r.quarantine.entries.slice(0, 10).map((e) => [e.file, e.line, e.column, e.rule, e.value]))}`;
    s += `Complete report (${r.quarantine.storedEntries} entries): enclave ingest-report ${r.runId} [--offset N --limit N --table T --rule R]\n`;
  }
  return s;
}

/** `ER_BIO_F(9 keys) → ER_PRS_F` for relations on many fields (the report keeps them whole). */
function shortRelation(relation: string): string {
  const m = /^(\w+)\(([^)]*)\) → (\w+)\(([^)]*)\)$/.exec(relation);
  if (m === null) return relation;
  const fields = (m[2] ?? '').split(',');
  return fields.length > 3 ? `${m[1] ?? ''}(${fields.length} keys) → ${m[3] ?? ''}` : relation;
}
