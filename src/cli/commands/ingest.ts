import type { IngestResult } from '../../ingest/index.ts';
import { formatAmount, progressBar, type Progress } from '../progress.ts';
import type { CliServices, Output } from '../services.ts';
import { formatTable } from '../table.ts';

/** `enclave ingest --dataset D DIR|FILES`: validate, pseudonymise, encrypt, publish a version. */
export async function ingestCommand(svc: CliServices, dataset: string, inputs: readonly string[], out: Output, options: { readonly minLandedShare?: number; readonly acceptShortTables?: boolean } = {}): Promise<IngestResult> {
  let bar: Progress | undefined;
  let phase = '';
  const result = await svc.ingest.ingest({
    dataset,
    inputs,
    actor: svc.actor,
    ...(options.minLandedShare === undefined ? {} : { minLandedShare: options.minLandedShare }),
    ...(options.acceptShortTables === true ? { acceptShortTables: true } : {}),
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
  s += `\nread ${formatAmount(r.rowsRead)} (${formatAmount(r.bytesRead, 'bytes')}) in ${r.seconds.toFixed(1)} s: ${formatAmount(r.rowsAccepted)} accepted, ${formatAmount(r.rowsQuarantined)} quarantined\n`;
  if (r.quarantine.total > 0) {
    s += `\nQuarantine by rule:\n${formatTable(['rule', 'violations'], Object.entries(r.quarantine.byRule).sort((a, b) => b[1] - a[1]))}`;
    s += `\nFirst quarantined lines (values reduced to their shape):\n${formatTable(['file', 'line', 'column', 'rule', 'shape'], r.quarantine.entries.slice(0, 10).map((e) => [e.file, e.line, e.column, e.rule, e.value]))}`;
    s += `Complete report (${r.quarantine.storedEntries} entries): enclave ingest-report ${r.runId} [--offset N --limit N --table T --rule R]\n`;
  }
  return s;
}
